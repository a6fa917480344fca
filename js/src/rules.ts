// Rule table: the global surrogate's rules, its held-out fidelity, the rule that fires for
// the current row, and which of that rule's conditions the current values meet.
import { h } from "./dom";
import { fmt, percent } from "./format";
import type { CounterfactualInfo, SurrogateInfo, Value, View } from "./types";

export class RuleTable {
  readonly el: HTMLElement;
  private readonly rows = new Map<number, HTMLTableRowElement>();
  private readonly conditionCells = new Map<number, HTMLElement[]>();
  private readonly scroller: HTMLElement;
  /** The rule last scrolled into view. */
  private revealed: number | null = null;
  private active: number | null = null;

  private readonly hint = h("div", { class: "ow-counterfactual", "data-testid": "ow-counterfactual", "aria-live": "polite" });
  private shownHint: CounterfactualInfo | null = null;

  /** `apply` takes a counterfactual's changes as what-if edits (the "Try it" button). */
  constructor(
    private readonly surrogate: SurrogateInfo,
    private readonly apply: (changes: Record<string, Value>) => void = () => {},
  ) {
    const metric = surrogate.metric === "r2" ? "R²" : "accuracy";
    const terms = surrogate.rules.reduce((n, r) => n + (r.terms?.length ?? 0), 0);
    const size = terms ? `${surrogate.rules.length} rules with ${terms} linear term${terms === 1 ? "" : "s"}` : `${surrogate.rules.length} rules`;
    const caption = `${surrogate.family}, ${size}, held-out fidelity (${metric}) ${fmt(surrogate.fidelity, 3)}`;
    const body = h("tbody");
    for (const rule of surrogate.rules) {
      const cells = rule.conditions.map((c) =>
        h("span", { class: "ow-cond", "data-feature": c.feature, tabindex: 0 }, h("span", { class: "ow-mark", "aria-hidden": "true" }), c.text),
      );
      const when = h("td", { class: "ow-when" });
      cells.forEach((cell, i) => {
        if (i) when.append(h("span", { class: "ow-and" }, " AND "));
        when.append(cell);
      });
      if (!cells.length) when.append("always");
      const value = typeof rule.prediction === "number" ? fmt(rule.prediction) : rule.prediction;
      const then = h("td", {}, String(value));
      for (const term of rule.terms ?? []) {
        // "+0.8 per 1000 of income": each linear term reads on its own line.
        then.append(h("div", { class: "ow-term", "data-feature": term.feature }, term.text));
      }
      const row = h("tr", { "data-rule": rule.id }, h("td", {}, String(rule.id + 1)), when, then, h("td", {}, percent(rule.coverage)));
      this.rows.set(rule.id, row);
      this.conditionCells.set(rule.id, cells);
      body.append(row);
    }
    const table = h(
      "table",
      { class: "ow-rules-table" },
      h("caption", {}, `Global surrogate: ${caption}`),
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "IF"), h("th", {}, "THEN"), h("th", {}, "coverage"))),
      body,
    );
    this.scroller = h("div", { class: "ow-rules-scroll" }, table);
    this.hint.hidden = true;
    this.el = h("div", { class: "ow-card ow-rules", "data-testid": "ow-rules" }, h("h3", {}, "Rules"), this.scroller, this.hint);
  }

  /** The counterfactual hint of an exact view (kept while a drag shows estimates). */
  private showHint(view: View): void {
    if (view.counterfactual === undefined || view.quality !== "exact") return;
    const hint = view.counterfactual;
    if (hint === this.shownHint) return;
    this.shownHint = hint;
    this.hint.hidden = !hint;
    if (!hint) return this.hint.replaceChildren();
    const button = h("button", { type: "button", class: "ow-try" }, "Try it");
    button.addEventListener("click", () => this.apply(hint.changes));
    const outcome = `${String(hint.outcome_before)} → ${String(hint.outcome_after)}`;
    this.hint.replaceChildren(
      h("span", { class: "ow-hint-title" }, `Smallest change to another outcome (${outcome}, rule ${hint.rule + 1}): `),
      hint.text,
      hint.model_agrees ? "" : h("span", { class: "ow-muted" }, " The rule's outcome is not the model's here."),
      " ",
      button,
    );
    this.hint.classList.toggle("ow-disagree", !hint.model_agrees);
  }

  update(view: View): void {
    this.showHint(view);
    for (const [id, row] of this.rows) {
      const active = view.rule?.id === id;
      row.classList.toggle("ow-rule-active", active);
      if (active) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
      this.conditionCells.get(id)?.forEach((cell, i) => {
        const met = active ? view.rule?.met[i] : undefined;
        cell.classList.toggle("ow-met", met === true);
        cell.classList.toggle("ow-unmet", met === false);
        const mark = cell.firstChild as HTMLElement;
        mark.textContent = met === undefined ? "" : met ? "✓ " : "✗ ";
      });
    }
    // Scroll the firing rule into view when it changes (not on every view: the user may
    // be reading other rules), within the table's own box, never the page.
    const id = view.rule?.id ?? null;
    if (id !== this.revealed) {
      const row = id === null ? undefined : this.rows.get(id);
      if (!row || this.reveal(row)) this.revealed = id;
      else if (typeof requestAnimationFrame === "function") {
        // Not on the page yet (first render): try again once it has been laid out.
        requestAnimationFrame(() => {
          if (this.active === id && this.revealed !== id && this.reveal(row)) this.revealed = id;
        });
      }
    }
    this.active = id;
  }

  /** Scrolls `row` into the table's box; false when not laid out yet (retried next view). */
  private reveal(row: HTMLElement): boolean {
    const box = this.scroller.getBoundingClientRect();
    if (!this.scroller.isConnected || box.height === 0) return false;
    const r = row.getBoundingClientRect();
    if (r.top < box.top || r.bottom > box.bottom) {
      this.scroller.scrollTop += r.top - box.top - Math.max(0, (box.height - r.height) / 2);
    }
    return true;
  }
}
