// The text surrogate: an ordered rule list over words and word pairs, with its held-out
// fidelity and curve; the rule that fires for the current text is highlighted, with the
// phrases of it the text contains.
import { h, s } from "../dom";
import { counted, formatScore, percent } from "../format";
import type { JobState } from "../types";
import type { TextRuleMatch, TextSurrogateInfo } from "./types";

export class TextRulesCard {
  readonly el: HTMLElement;
  private readonly list = h("ol", { class: "ow-text-rules" });
  private readonly summary = h("p", { class: "ow-note", "data-testid": "ow-text-fidelity" }, "Fitting the rules…");
  private readonly curve = h("div", { class: "ow-curve" });
  private info: TextSurrogateInfo | null = null;

  constructor() {
    this.el = h("section", { class: "ow-card ow-text-surrogate", "aria-label": "Rules" }, h("h3", {}, "Rules that mimic the model"), this.summary, this.list, this.curve);
  }

  set(info: TextSurrogateInfo | null, progress?: JobState): void {
    this.info = info;
    if (!info) {
      this.summary.textContent = progress?.state === "error" ? `No rules: ${progress.message}` : progress?.state === "running" && progress.total ? `Fitting the rules… ${progress.done}/${progress.total}` : "Fitting the rules…";
      this.list.replaceChildren();
      this.curve.replaceChildren();
      return;
    }
    this.summary.textContent = `${counted(info.complexity, "rule")} (${counted(info.phrases, "phrase")}) fit to the model's own labels on ${info.n_texts} texts and ${info.n_samples - info.n_texts} perturbations; held-out fidelity ${formatScore(info.fidelity)} on ${counted(info.n_held_out, "text")}${info.between !== null ? `, on perturbed held-out texts ${formatScore(info.between)}` : ""}. Size: ${info.reason}.`;
    this.curve.replaceChildren(curvePlot(info));
  }

  update(match: TextRuleMatch | null): void {
    const info = this.info;
    if (!info) return;
    this.list.replaceChildren(
      ...info.rules.map((rule) => {
        const fired = match?.id === rule.id;
        const said = (p: string) => h("q", { class: fired && match?.phrases.includes(p) ? "ow-said" : "" }, p);
        const body: (Node | string)[] = [];
        if (rule.phrases.length) {
          body.push("IF the text contains ");
          rule.phrases.forEach((p, k) => body.push(...(k ? [" or ", said(p)] : [said(p)])));
          if (rule.exceptions.length) {
            body.push(" but none of ");
            rule.exceptions.forEach((p, k) => body.push(...(k ? [", ", h("q", {}, p)] : [h("q", {}, p)])));
          }
          body.push(" THEN ", h("b", {}, rule.prediction));
        } else body.push("OTHERWISE ", h("b", {}, rule.prediction));
        return h(
          "li",
          { class: fired ? "ow-fired" : "", "data-rule": rule.id, title: `decides ${percent(rule.coverage)} of the samples; the model agrees on ${percent(rule.precision)}` },
          ...body,
          h("span", { class: "ow-note" }, ` · ${percent(rule.coverage)}`),
        );
      }),
    );
  }
}

function curvePlot(info: TextSurrogateInfo): SVGSVGElement {
  const points = info.curve.filter((p) => p.fidelity !== null);
  const width = 260;
  const height = 96;
  const left = 30;
  const top = 16;
  const bottom = height - 28;
  const most = Math.max(2, ...points.map((p) => p.rules));
  // The lowest tenth below the curve, so that its differences show.
  const low = Math.min(0.9, Math.floor(Math.min(...points.map((p) => p.fidelity ?? 0)) * 10) / 10);
  const x = (k: number) => left + ((k - 1) / (most - 1)) * (width - left - 10);
  const y = (f: number) => top + ((1 - f) / (1 - low)) * (bottom - top);
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "held-out fidelity by number of rules" });
  svg.append(
    s("text", { x: 0, y: 9, class: "ow-seg-label" }, "held-out fidelity"),
    s("path", { d: `M${left},${top}V${bottom}H${width - 10}`, class: "ow-curve-axis" }),
  );
  for (const f of [1, low]) svg.append(s("text", { x: left - 4, y: y(f) + 3, "text-anchor": "end", class: "ow-seg-label" }, f.toFixed(1)));
  const every = Math.ceil(points.length / 8); // at most 8 labels under the axis
  points.forEach((p, k) => {
    if (k % every === 0 || p.chosen) svg.append(s("text", { x: x(p.rules), y: bottom + 11, "text-anchor": "middle", class: "ow-seg-label" }, String(p.rules)));
  });
  svg.append(s("text", { x: left + (width - left - 10) / 2, y: height - 2, "text-anchor": "middle", class: "ow-seg-label" }, "rules (● the list shown)"));
  svg.append(s("path", { d: points.map((p, k) => `${k ? "L" : "M"}${x(p.rules)},${y(p.fidelity ?? 0)}`).join(""), class: "ow-curve-line" }));
  for (const p of points) {
    const dot = s("circle", { cx: x(p.rules), cy: y(p.fidelity ?? 0), r: p.chosen ? 4 : 2.5, class: p.chosen ? "ow-curve-chosen" : "ow-curve-dot" });
    const validated = p.validation === null ? "" : `, cross-validated ${formatScore(p.validation)} ± ${formatScore(p.validation_se)}`;
    dot.append(s("title", {}, `${counted(p.rules, "rule")}: held-out fidelity ${formatScore(p.fidelity)}${validated}`));
    svg.append(dot);
  }
  return svg;
}
