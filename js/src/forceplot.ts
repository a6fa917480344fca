// Force plot: from the base value to the prediction, pushes up in one colour, down in the other.
import { s, h } from "./dom";
import { fmt, fmtValue, signed } from "./format";
import type { Schema, View } from "./types";

export const TOP_FEATURES = 8;
const WIDTH = 720;
const BAR_Y = 34;
const BAR_H = 26;

export interface Segment {
  feature: string | null; // null for the folded "N other features"
  label: string;
  value: number;
  start: number; // in output units
  end: number;
}

/** Top features by |SHAP| as their own segments, the rest folded into one. */
export function segments(schema: Schema, view: View, top = TOP_FEATURES): Segment[] {
  const order = view.shap
    .map((value, i) => ({ value, i }))
    .sort((a, b) => Math.abs(b.value) - Math.abs(a.value));
  const shown = order.slice(0, top);
  const rest = order.slice(top);
  const items: { feature: string | null; label: string; value: number }[] = shown.map(({ value, i }) => {
    const f = schema.features[i];
    return { feature: f.name, label: `${f.name} = ${fmtValue(view.instance[f.name], f)}`, value };
  });
  if (rest.length) {
    const value = rest.reduce((sum, r) => sum + r.value, 0);
    items.push({ feature: null, label: `${rest.length} other features`, value });
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
function anchor(px: number): string {
  if (px < 90) return "start";
  return px > WIDTH - 90 ? "end" : "middle";
}

export class ForcePlot {
  readonly el: HTMLElement;

  constructor(private readonly schema: Schema) {
    this.el = h("div", { class: "ow-card ow-force", "data-testid": "ow-forceplot" });
  }

  update(view: View): void {
    this.el.replaceChildren(h("h3", {}, "SHAP force plot"));
    if (!view.shap.length || view.base_value === null) {
      this.el.append(h("p", { class: "ow-muted" }, "SHAP is turned off."));
      return;
    }
    const segs = segments(this.schema, view);
    const lo = Math.min(view.base_value, view.prediction, ...segs.map((x) => x.start));
    const hi = Math.max(view.base_value, view.prediction, ...segs.map((x) => x.end));
    const span = hi - lo || 1;
    const x = (v: number) => 10 + ((v - lo) / span) * (WIDTH - 20);
    const svg = s("svg", {
      viewBox: `0 0 ${WIDTH} 96`,
      class: "ow-force-svg",
      role: "img",
      "aria-label": `Prediction ${fmt(view.prediction)} from base value ${fmt(view.base_value)}`,
    });
    for (const seg of segs) {
      const x0 = x(seg.start);
      const w = Math.max(x(seg.end) - x0, 1);
      const positive = seg.value > 0;
      const tip = `${seg.label}: ${signed(seg.value)} (SHAP ${seg.value})`;
      const g = s("g", {
        class: `ow-seg ${positive ? "ow-pos" : "ow-neg"}`,
        "data-feature": seg.feature ?? undefined,
        tabindex: 0,
        "aria-label": tip,
      });
      g.append(s("title", {}, tip), s("rect", { x: x0, y: BAR_Y, width: w, height: BAR_H, rx: 2 }));
      if (w > 70) {
        const name = seg.label.length * 6.2 > w - 8 ? `${seg.label.slice(0, Math.floor((w - 8) / 6.2) - 1)}…` : seg.label;
        g.append(s("text", { x: x0 + w / 2, y: BAR_Y + 17, "text-anchor": "middle", class: "ow-seg-label" }, name));
      }
      svg.append(g);
    }
    const marker = (value: number, text: string, y: number, cls: string) => {
      svg.append(
        s("line", { x1: x(value), x2: x(value), y1: BAR_Y - 6, y2: BAR_Y + BAR_H + 6, class: cls }),
        s("text", { x: x(value), y, "text-anchor": anchor(x(value)), class: `${cls}-text` }, text),
      );
    };
    marker(view.base_value, `base value ${fmt(view.base_value)}`, BAR_Y + BAR_H + 22, "ow-base");
    marker(view.prediction, `f(x) = ${fmt(view.prediction)}`, 20, "ow-fx");
    this.el.append(svg);
    // A readable list under the bar: narrow segments cannot hold their labels.
    const legend = h("ul", { class: "ow-force-legend" });
    for (const seg of segs) {
      legend.append(
        h(
          "li",
          { class: seg.value > 0 ? "ow-pos" : "ow-neg", "data-feature": seg.feature ?? undefined, tabindex: seg.feature ? 0 : undefined },
          h("span", { class: "ow-swatch" }),
          `${seg.label} `,
          h("b", {}, signed(seg.value)),
        ),
      );
    }
    this.el.append(legend);
  }
}
