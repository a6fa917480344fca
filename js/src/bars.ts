// Signed horizontal bars, one per feature: the force plot's contributions and a local
// model's weights read the same way. Labels wrap; a name too long for two lines of the
// label is cut in its middle, the label read whole in its tooltip.
import { h, isolated } from "./dom";
import { SHORT_NAME, counted, cutsAny, formatNumber, signed } from "./format";

export interface BarItem {
  /** Feature position (null: the folded rest). */
  j: number | null;
  label: string;
  /** The user's strings in the label (its name, a category), in their order: isolated. */
  isolate?: string[];
  value: number;
  /** Standard error of the value (a local model's sampling), drawn as ± 2 of it. */
  error?: number | null;
  /** What the label leaves out (its tooltip). */
  title?: string;
}

/** Whether a value's sign is beyond its error (more than 2 standard errors from 0). */
export function signKnown(item: { value: number; error?: number | null }): boolean {
  return typeof item.error !== "number" || Math.abs(item.value) > 2 * item.error;
}

/** A local model's sampling error in a sentence: its typical size and how many of the
 *  values shown could take either sign; null when none of them has an error. */
export function samplingSummary(
  items: { value: number; error?: number | null }[],
  noun: string,
  shown: { errors: string; unsure: string },
): string | null {
  const sampled = items.filter((item) => typeof item.error === "number");
  if (!sampled.length) return null;
  const unknown = sampled.filter((item) => !signKnown(item)).length;
  const sizes = sampled.map((item) => item.error as number).sort((a, b) => a - b);
  const typical = sizes[Math.floor((sizes.length - 1) / 2)];
  return (
    `Sampling error: ± ${formatNumber(2 * typical, 2)} typical (2 standard errors; ${shown.errors})` +
    (unknown ? ` · ${counted(unknown, noun)} shown could take either sign with another seed (${shown.unsure})` : " · every sign shown holds")
  );
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
    const known = signKnown(item);
    const bar = h("span", { class: `ow-bar ${item.value > 0 ? "ow-pos" : "ow-neg"}${known ? "" : " ow-sign-unknown"}` });
    bar.style.width = `${(Math.abs(item.value) / max) * 100}%`;
    const track = h("span", { class: "ow-bar-track" }, bar);
    let title = item.title;
    // A focused bar is read by this name (an author's title alone would become its name).
    let name = `${item.label}: ${signed(item.value)}`;
    if (typeof item.error === "number") {
      // The whisker spans ± 2 standard errors around the bar's end, within the track.
      const at = (v: number) => `${Math.min(100, Math.max(0, (v / max) * 100))}%`;
      const whisker = h("span", { class: "ow-whisker", "data-testid": "ow-whisker" });
      whisker.style.left = at(Math.abs(item.value) - 2 * item.error);
      whisker.style.right = `calc(100% - ${at(Math.abs(item.value) + 2 * item.error)})`;
      track.append(whisker);
      const spread = ` ± ${formatNumber(2 * item.error, 2)}`;
      title = `${signed(item.value)}${spread} (2 standard errors of its sampling)${known ? "" : ": another seed could flip its sign"}`;
      name += `${spread}${known ? "" : ", either sign"}`;
    }
    list.append(
      h(
        "li",
        {
          "data-j": item.j ?? undefined,
          tabindex: item.j === null ? undefined : 0,
          class: item.j === null ? "ow-folded" : undefined,
          title,
          "aria-label": item.j === null ? undefined : name,
        },
        h(
          "span",
          { class: "ow-bar-label", title: cutsAny(item.isolate ?? []) ? item.label : undefined },
          ...isolated(item.label, item.isolate ?? [], SHORT_NAME),
        ),
        track,
        h("span", { class: "ow-bar-value" }, signed(item.value)),
      ),
    );
  }
  return list;
}
