// Force plot: additive values from a base to the prediction, pushes up in one colour, down in
// the other. A compact bar (kept in view in the panel's header while sliders move) and the
// contributions as a list (barList: a very long name cut, whole in its tooltip).
import { type BarItem, TOP_BARS, barList, topPositions } from "./bars";
import { h, s } from "./dom";
import type { Features } from "./features";
import { HIDDEN, HIDDEN_TITLE, counted, cutName, formatValue, shownNumber, signed } from "./format";
import { legend } from "./legend";
import type { AttributionInfo, View } from "./types";

/** The plot's width in its own units: the bar's width in pixels, up to this (wider, it
 * scales up; narrower, it is drawn at its own width so that its labels stay 11 px). */
export const WIDTH = 720;
const MIN_WIDTH = 280;
const BAR_Y = 15;
const BAR_H = 20;
const HEIGHT = 50;
const CHAR_WIDTH = 6.2; // of the 11 px segment labels, to cut a name that does not fit

export interface Segment {
  /** Feature position; null for the folded "N other features". */
  j: number | null;
  label: string;
  /** The user's strings in the label (its name, a category), in their order: isolated. */
  isolate?: string[];
  value: number;
  /** In output units. */
  start: number;
  end: number;
  /** What the label leaves out (its tooltip). */
  title?: string;
}

/** The top features of the row by |value| as their own segments, the rest folded into one. */
export function segments(features: Features, attribution: AttributionInfo, view: View, top = TOP_BARS): Segment[] {
  const shown = topPositions(attribution.values, top);
  const rest = attribution.values.length - shown.length;
  const hidden = features.valuesHidden;
  const items: Omit<Segment, "start" | "end">[] = shown.map((j) => ({
    j,
    label: `${features.names[j]} = ${hidden ? HIDDEN : formatValue(view.values[j], features.at(j))}`,
    isolate: [features.names[j], ...(!hidden && typeof view.values[j] === "string" ? [view.values[j] as string] : [])],
    value: attribution.values[j],
    title: hidden ? HIDDEN_TITLE : undefined,
  }));
  if (rest > 0) {
    const chosen = new Set(shown);
    const value = attribution.values.reduce((sum, v, j) => (chosen.has(j) ? sum : sum + v), 0);
    items.push({ j: null, label: counted(rest, "other feature"), value });
  }
  // Pushes up end at the prediction from the left; pushes down start there, to the right.
  const out: Segment[] = [];
  let cursor = view.prediction;
  for (const item of items.filter((x) => x.value > 0)) {
    out.push({ ...item, start: cursor - item.value, end: cursor });
    cursor -= item.value;
  }
  cursor = view.prediction;
  for (const item of items.filter((x) => x.value <= 0)) {
    out.push({ ...item, start: cursor, end: cursor - item.value });
    cursor -= item.value;
  }
  return out;
}

/** Keeps a marker's text inside the plot near either edge. */
function anchor(px: number, width: number): string {
  if (px < 90) return "start";
  return px > width - 90 ? "end" : "middle";
}

/** The compact bar: one row of segments between the base value and the prediction, drawn
 * ``width`` units wide (the pixels it gets; at most WIDTH). */
export function forceBar(features: Features, attribution: AttributionInfo, view: View, title: string, width = WIDTH): SVGSVGElement {
  const plotWidth = Math.round(Math.max(MIN_WIDTH, Math.min(WIDTH, width)));
  const base = attribution.base ?? 0;
  const segs = segments(features, attribution, view);
  const lo = Math.min(base, view.prediction, ...segs.map((x) => x.start));
  const hi = Math.max(base, view.prediction, ...segs.map((x) => x.end));
  const span = hi - lo || 1;
  const x = (v: number) => 10 + ((v - lo) / span) * (plotWidth - 20);
  const svg = s("svg", {
    viewBox: `0 0 ${plotWidth} ${HEIGHT}`,
    class: "ow-force-svg",
    role: "img",
    "aria-label": `${title}: from the base value ${shownNumber(base)} to the prediction ${shownNumber(view.prediction)}`,
  });
  // Drawn after the markers: a marker's line crossing a segment passes under its name.
  const labels: SVGElement[] = [];
  for (const seg of segs) {
    const x0 = x(seg.start);
    const w = Math.max(x(seg.end) - x0, 1);
    const tip = `${seg.label}: ${signed(seg.value)}${seg.title ? ` (${seg.title})` : ""}`;
    const g = s("g", { class: `ow-seg ${seg.value > 0 ? "ow-pos" : "ow-neg"}`, "data-j": seg.j ?? undefined, "aria-label": tip });
    g.append(s("title", {}, tip), s("rect", { x: x0, y: BAR_Y, width: w, height: BAR_H, rx: 2 }));
    if (w > 46) {
      const fits = Math.floor((w - 8) / CHAR_WIDTH);
      const name = seg.j === null ? seg.label : features.names[seg.j];
      const text = cutName(name, fits);
      const on = seg.value > 0 ? "ow-on-pos" : "ow-on-neg";
      labels.push(s("text", { x: x0 + w / 2, y: BAR_Y + 14, "text-anchor": "middle", class: `ow-seg-label ${on}` }, text));
    }
    svg.append(g);
  }
  const marker = (value: number, text: string, y: number, cls: string) => {
    svg.append(
      s("line", { x1: x(value), x2: x(value), y1: BAR_Y - 4, y2: BAR_Y + BAR_H + 4, class: cls }),
      s("text", { x: x(value), y, "text-anchor": anchor(x(value), plotWidth), class: `${cls}-text` }, text),
    );
  };
  marker(base, `base value ${shownNumber(base)}`, HEIGHT - 2, "ow-base");
  marker(view.prediction, `f(x) = ${shownNumber(view.prediction)}`, 10, "ow-fx");
  svg.append(s("g", { "aria-hidden": "true" }, ...labels));
  return svg;
}

export function forceLegend(): HTMLElement {
  return legend("force plot", [
    { mark: "ow-key-pos", text: "raises the output" },
    { mark: "ow-key-neg", text: "lowers it" },
    { mark: "ow-key-base", text: "base value: the output before any feature counts (the badge says how)" },
    { mark: "ow-key-fx", text: "f(x): this row's output" },
    { mark: "ow-key-linked", text: "feature under the pointer" },
    { mark: "ow-key-selected", text: "feature selected in the charts" },
  ]);
}

/** The card's body: the contributions as a list, and how they add up. */
export function forceBody(features: Features, attribution: AttributionInfo, view: View): HTMLElement[] {
  const segs = segments(features, attribution, view);
  const items: BarItem[] = [...segs].sort((a, b) => {
    if (a.j === null) return 1;
    if (b.j === null) return -1;
    return Math.abs(b.value) - Math.abs(a.value);
  });
  const base = attribution.base ?? 0;
  const sum = attribution.values.reduce((a, b) => a + b, 0);
  const facts = `base value ${shownNumber(base)} ${signed(sum, 4)} (all contributions) = ${shownNumber(base + sum)}`;
  return [barList(items), h("p", { class: "ow-muted ow-facts" }, facts)];
}
