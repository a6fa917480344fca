// Signed horizontal bars, one per feature: the force plot's contributions and a local
// model's weights read the same way. Labels wrap: a long name is read in full.
import { h } from "./dom";
import { signed } from "./format";

export interface BarItem {
  /** Feature position (null: the folded rest). */
  j: number | null;
  label: string;
  value: number;
}

export const TOP_BARS = 8;

/** Positions of the `top` largest |values|, largest first. */
export function topPositions(values: number[], top = TOP_BARS): number[] {
  return values
    .map((value, j) => ({ size: Math.abs(value), j }))
    .sort((a, b) => b.size - a.size || a.j - b.j)
    .slice(0, top)
    .map((x) => x.j);
}

export function barList(items: BarItem[]): HTMLElement {
  const max = Math.max(...items.map((item) => Math.abs(item.value)), 1e-12);
  const list = h("ul", { class: "ow-bars" });
  for (const item of items) {
    const bar = h("span", { class: `ow-bar ${item.value > 0 ? "ow-pos" : "ow-neg"}` });
    bar.style.width = `${(Math.abs(item.value) / max) * 100}%`;
    list.append(
      h(
        "li",
        { "data-j": item.j ?? undefined, tabindex: item.j === null ? undefined : 0, class: item.j === null ? "ow-folded" : undefined },
        h("span", { class: "ow-bar-label" }, item.label),
        h("span", { class: "ow-bar-track" }, bar),
        h("span", { class: "ow-bar-value" }, signed(item.value)),
      ),
    );
  }
  return list;
}
