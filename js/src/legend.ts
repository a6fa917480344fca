// Legends: every mark the panel draws says what it means, in a small line next to it.
import { h } from "./dom";

export interface LegendItem {
  /** The swatch's look: a class of widget.css (ow-key-*). */
  mark: string;
  text: string;
}

export function legend(label: string, items: LegendItem[]): HTMLElement {
  const list = h("ul", { class: "ow-legend", "aria-label": `Legend: ${label}`, "data-testid": "ow-legend" });
  for (const item of items) list.append(h("li", {}, h("span", { class: `ow-key ${item.mark}`, "aria-hidden": "true" }), item.text));
  return list;
}
