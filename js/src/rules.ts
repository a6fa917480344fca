// Rule table: the global surrogate's rules, its held-out fidelity, the rule that fires for
// the current row, and which of that rule's conditions the current values meet.
import { h } from "./dom";
import { fmt, percent } from "./format";
import type { SurrogateInfo, View } from "./types";

export class RuleTable {
  readonly el: HTMLElement;
  private readonly rows = new Map<number, HTMLTableRowElement>();
  private readonly conditionCells = new Map<number, HTMLElement[]>();
  private readonly scroller: HTMLElement;
  /** The rule last scrolled into view. */
  private revealed: number | null = null;
  private active: number | null = null;

  constructor(private readonly surrogate: SurrogateInfo) {
    const metric = surrogate.metric === "r2" ? "R²" : "accuracy";
    const caption = `${surrogate.family}, ${surrogate.complexity} rules, held-out fidelity (${metric}) ${fmt(surrogate.fidelity, 3)}`;
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
      const then = typeof rule.prediction === "number" ? fmt(rule.prediction) : rule.prediction;
      const row = h("tr", { "data-rule": rule.id }, h("td", {}, String(rule.id + 1)), when, h("td", {}, String(then)), h("td", {}, percent(rule.coverage)));
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
    this.el = h("div", { class: "ow-card ow-rules", "data-testid": "ow-rules" }, h("h3", {}, "Rules"), this.scroller);
  }

  update(view: View): void {
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
