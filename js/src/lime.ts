// LIME view: the local linear model's weights with LIME's own condition text, its local
// R², and how far SHAP and LIME agree on this row.
import { h } from "./dom";
import { fmt, percent, signed } from "./format";
import type { Agreement, Schema, View } from "./types";

const TOP = 8;

/** A plain-words verdict on SHAP/LIME agreement. */
export function verdict(agreement: Agreement): { agree: boolean; text: string } {
  const lowRank = agreement.spearman !== null && agreement.spearman < 0.5;
  const agree = !lowRank && agreement.top_overlap >= 0.5 && agreement.sign_agreement >= 0.8;
  return {
    agree,
    text: agree ? "SHAP and LIME agree on this row" : "SHAP and LIME disagree on this row: read both with care",
  };
}

export class LimeView {
  readonly el: HTMLElement;

  constructor(private readonly schema: Schema) {
    this.el = h("div", { class: "ow-card ow-lime", "data-testid": "ow-lime" });
  }

  update(view: View): void {
    this.el.replaceChildren(h("h3", {}, "LIME"));
    const lime = view.lime;
    if (!lime) {
      const on = this.schema.explainers.includes("lime");
      this.el.append(h("p", { class: "ow-muted" }, on ? "LIME is not available for this what-if in an exported file." : "LIME is turned off."));
      return;
    }
    const order = lime.weights
      .map((w, i) => ({ w, i }))
      .sort((a, b) => Math.abs(b.w) - Math.abs(a.w))
      .slice(0, TOP);
    const max = Math.max(...order.map((o) => Math.abs(o.w)), 1e-12);
    const list = h("ul", { class: "ow-bars" });
    for (const { w, i } of order) {
      const name = this.schema.features[i].name;
      const text = lime.conditions[i] ?? name;
      const bar = h("span", { class: `ow-bar ${w > 0 ? "ow-pos" : "ow-neg"}` });
      bar.style.width = `${(Math.abs(w) / max) * 100}%`;
      list.append(
        h(
          "li",
          { "data-feature": name, tabindex: 0, title: `${text}: weight ${w}` },
          h("span", { class: "ow-bar-label" }, text),
          h("span", { class: "ow-bar-track" }, bar),
          h("span", { class: "ow-bar-value" }, signed(w)),
        ),
      );
    }
    this.el.append(list);
    const facts = [`local R² ${fmt(lime.score, 3)}`];
    if (view.agreement) {
      const a = view.agreement;
      if (a.spearman !== null) facts.push(`rank correlation with SHAP ${fmt(a.spearman, 2)}`);
      facts.push(`top-${a.top_k} overlap ${percent(a.top_overlap)}`, `same sign ${percent(a.sign_agreement)}`);
    }
    this.el.append(h("p", { class: "ow-muted ow-facts" }, facts.join(" · ")));
    if (view.agreement) {
      const v = verdict(view.agreement);
      this.el.append(h("p", { class: `ow-verdict ${v.agree ? "ow-agree" : "ow-disagree"}` }, v.text));
    }
  }
}
