// Rules: the global surrogate's rule table (its held-out fidelity and why it has this many
// rules), the rule that fires for the current row, which of its conditions the current values
// meet and its value for that row worked out, and the counterfactual hint. Until the
// surrogate is fit, its progress.
import { button, conditionParts, focusedIn, h, isolated, makeTabStop, rovingKey } from "./dom";
import type { Features } from "./features";
import { SCORE_CUT, ruleOutput, termEffect } from "./estimate";
import { SHORT_NAME, counted, cutsAny, formatNumber, formatScore, percent, shownNumber } from "./format";
import { legend } from "./legend";
import { placeholder } from "./pending";
import type { CounterfactualInfo, JobState, LinearTermInfo, SurrogateInfo, Value, View } from "./types";

export type ApplyChanges = (changes: [number, Value][]) => void;
/** Asks for the surrogate of another number of rules (a live kernel only); with a family,
 *  that family's point of the curve. */
export type ChooseSize = (rules: number, family?: string) => void;

/** The caption's words: "decision tree, 3 rules, held-out accuracy 0.942"; with terms,
 * "8 rules (2 leaves + 6 terms)", since a size counts every leaf and term a person reads. */
export function caption(surrogate: SurrogateInfo): string {
  const metric = surrogate.metric === "r2" ? "R²" : "accuracy";
  const leaves = surrogate.rules.length;
  // A term shared by every rule counts once (complexity).
  const terms = surrogate.complexity - leaves;
  const parts = terms ? ` (${counted(leaves, "leaf", "leaves")} + ${counted(terms, "term")})` : "";
  const judged = surrogate.held_out ? `held-out ${metric}` : `${metric} on samples near X's rows (too few rows to hold any out)`;
  return `${surrogate.family}, ${counted(surrogate.complexity, "rule")}${parts}, ${judged} ${formatScore(surrogate.fidelity)}`;
}

/** The family a size alone gives (Python's Surrogate.with_size without one): the
 *  recommended point if it has that size, else the best cross-validated; null: no point. */
export function sizeFamily(surrogate: SurrogateInfo, rules: number): string | null {
  let best: SurrogateInfo["curve"][number] | null = null;
  const rank = (p: SurrogateInfo["curve"][number]) => [p.recommended ? 1 : 0, p.validation];
  for (const p of surrogate.curve) {
    if (p.rules !== rules) continue;
    const [a, b] = rank(p);
    const [c, d] = best ? rank(best) : [-1, -Infinity];
    if (a > c || (a === c && b > d)) best = p; // the first of equals, as Python's max
  }
  return best?.family ?? null;
}

/** A select of the curve's sizes: the user may read fewer or more rules than recommended. */
function sizeControl(surrogate: SurrogateInfo, chooseSize: ChooseSize): HTMLElement {
  const id = `ow-size-${Math.random().toString(36).slice(2, 9)}`;
  const select = h("select", { id, class: "ow-size", "data-testid": "ow-rules-size" });
  const shown = surrogate.complexity;
  // Another family than a size alone gives (a point of the fidelity chart clicked): an
  // option of its own, after its size's, so the select says which rules these are.
  const other = sizeFamily(surrogate, shown) !== surrogate.family ? surrogate.family : null;
  for (const k of surrogate.sizes) {
    const label = `${counted(k, "rule")}${k === surrogate.recommended ? " (recommended)" : ""}`;
    select.append(h("option", { value: String(k) }, label));
    if (k === shown && other) select.append(h("option", { value: `${k} ${other}`, "data-family": other }, `${counted(k, "rule")} · ${other}`));
  }
  select.value = other ? `${shown} ${other}` : String(shown);
  select.addEventListener("change", () => {
    select.disabled = true; // until the new rules arrive
    const option = select.selectedOptions[0];
    chooseSize(Number.parseInt(select.value, 10), option?.dataset.family);
  });
  select.title = "Held-out fidelity for each size: the fidelity chart";
  return h("p", { class: "ow-size-control" }, h("label", { for: id }, "Show "), select);
}

/** The features a term reads, in the order its text names them. */
function termFeatures(term: LinearTermInfo): string[] {
  return term.when.length ? [...new Set(term.when.map((c) => c.feature))] : [term.feature];
}

/** The user's strings in a term's text ("+0.3 if lpi > 4.2"), in their order. */
function termParts(term: LinearTermInfo): string[] {
  return term.when.length ? term.when.flatMap(conditionParts) : [term.feature];
}

/** A line of the card with the user's strings in it (`parts`): a long one cut, the line
 *  read whole in its tooltip. */
function cutLine(tag: "div" | "span", attrs: Record<string, string | number>, text: string, parts: string[], ...before: HTMLElement[]): HTMLElement {
  return h(tag, { ...attrs, title: cutsAny(parts) ? text : undefined }, ...before, ...isolated(text, parts, SHORT_NAME));
}

/** "− 0.299 (worst area)", "+ 2.01 (b & c)": what a term adds to this row's value, and the
 * features it reads. */
function addend(effect: number, term: LinearTermInfo): string {
  return ` ${effect >= 0 ? "+" : "−"} ${formatNumber(Math.abs(effect), 3)} (${termFeatures(term).join(" & ")})`;
}

/** Whether an addend reads as more than 0 beside the other numbers of its line (written to 4
 *  significant digits of the largest): floating-point noise such as 1.5e-16 does not. */
export function shows(effect: number, line: number[]): boolean {
  const scale = Math.max(...line.map(Math.abs).filter(Number.isFinite));
  return formatNumber(effect, 4, scale > 0 ? scale : null) !== "0";
}

class RuleTable {
  readonly el: HTMLElement;
  private readonly surrogate: SurrogateInfo;
  private readonly rows = new Map<number, HTMLTableRowElement>();
  /** Each rule's class as the views name it (null: a value or a score rule). */
  private readonly outcomes = new Map<number, string | null>();
  private readonly conditionCells = new Map<number, HTMLElement[]>();
  /** Every rule's conditions in reading order: one tab stop, the arrow keys between them. */
  private readonly conditions: HTMLElement[] = [];
  /** Per rule, the line that works its value out for the current row (rules with terms). */
  private readonly arithmetic = new Map<number, HTMLElement>();
  /** The terms every rule shares, stated once under the table, and their lines. */
  private readonly sharedLines: [LinearTermInfo, HTMLElement][] = [];
  private revealed: number | null = null;

  constructor(
    surrogate: SurrogateInfo,
    chooseSize: ChooseSize | null,
    /** An export without the rows' values: no row's arithmetic can be worked out. */
    private readonly valuesHidden = false,
  ) {
    this.surrogate = surrogate;
    const body = h("tbody");
    for (const rule of surrogate.rules) {
      const cells = rule.conditions.map((c) =>
        // A button: Enter or Space selects its feature. Its name is its words ("met: a > 1").
        cutLine("span", { class: "ow-cond", "data-j": c.j, tabindex: -1, role: "button" }, c.text, conditionParts(c), h("span", { class: "ow-mark", "aria-hidden": "true" }), h("span", { class: "ow-sr" })),
      );
      const when = h("td", { class: "ow-when" });
      cells.forEach((cell, i) => {
        if (i) when.append(h("span", { class: "ow-and" }, " AND "));
        when.append(cell);
      });
      if (!cells.length) when.append("always");
      const value = typeof rule.prediction === "number" ? formatNumber(rule.prediction, 4, rule.scale ?? null) : String(rule.prediction);
      const classes = rule.classes ?? null;
      // The tooltip reads the rule whole (a linear term's average row, the shared terms).
      const then = h("td", { class: "ow-then", title: rule.terms.length ? rule.text : null }, h("span", {}, ...(classes ? isolated(`score of ${String(classes[1])} = ${value}`, [String(classes[1])]) : [value])));
      // "+0.8 per 1000 of income", "+0.3 if lpi > 4.2": each own term on its own line; the
      // terms every rule shares are stated once, under the table.
      for (const term of rule.terms) if (!term.shared) then.append(cutLine("div", { class: "ow-term", "data-j": term.j }, term.text, termParts(term)));
      const row = h("tr", { "data-rule": rule.id }, h("td", {}, String(rule.id + 1)), when, then, h("td", {}, percent(rule.coverage)));
      this.rows.set(rule.id, row);
      this.outcomes.set(rule.id, surrogate.metric === "accuracy" && !classes ? String(rule.prediction) : null);
      this.conditionCells.set(rule.id, cells);
      this.conditions.push(...cells);
      body.append(row);
      if (rule.terms.length) {
        // Under the rule, across the table: its value for the current row, worked out.
        const line = h("td", { colspan: 3, "data-testid": "ow-rule-arithmetic" });
        const under = h("tr", { class: "ow-arithmetic", hidden: true }, h("td", {}), line);
        this.arithmetic.set(rule.id, under);
        body.append(under);
      }
    }
    const table = h(
      "table",
      { class: "ow-rules-table" },
      h("thead", {}, h("tr", {}, h("th", {}, "#"), h("th", {}, "IF"), h("th", {}, "THEN"), h("th", { title: "share of rows the rule covers" }, "rows"))),
      body,
    );
    // One tab stop for the table (a rule table of 11 rules was 44 stops on the way to the
    // sliders); the arrow keys, Home and End move between its conditions.
    if (this.conditions.length) makeTabStop(this.conditions, this.conditions[0]);
    table.addEventListener("keydown", (event) => {
      const cell = (event.target as Element).closest<HTMLElement>(".ow-cond");
      const next = cell ? rovingKey(this.conditions, cell, event.key) : undefined;
      if (!next) return;
      event.preventDefault();
      next.focus();
    });
    // A condition focused by a click, or by the keys, is where Tab comes back to.
    table.addEventListener("focusin", (event) => {
      const cell = (event.target as Element).closest<HTMLElement>(".ow-cond");
      if (cell) makeTabStop(this.conditions, cell);
    });
    this.el = h(
      "div",
      { class: "ow-rules-body" },
      h("p", { class: "ow-caption", "data-testid": "ow-rules-caption" }, `Global surrogate: ${caption(surrogate)}.`),
      chooseSize && surrogate.sizes.length > 1 ? sizeControl(surrogate, chooseSize) : null,
      // Folded: the rules themselves come first in the card's height.
      surrogate.reason
        ? h(
            "details",
            { class: "ow-muted ow-reason", "data-testid": "ow-rules-reason" },
            h("summary", {}, `Why ${counted(surrogate.complexity, "rule")}?`),
            h("p", {}, `${surrogate.reason.charAt(0).toUpperCase()}${surrogate.reason.slice(1)}.`),
          )
        : null,
      h("div", { class: "ow-rules-scroll" }, table),
      this.sharedBlock(),
      legend("rules", [
        { mark: "ow-key-rule", text: "the rule that fires for this row" },
        { mark: "ow-key-met", text: "condition met" },
        { mark: "ow-key-unmet", text: "not met by the values now" },
      ]),
    );
  }

  /** The terms in every rule and a score's cut, once; null when the rules have neither. */
  private sharedBlock(): HTMLElement | null {
    const first = this.surrogate.rules[0];
    const classes = this.surrogate.rules.find((r) => r.classes)?.classes ?? null;
    if (!first) return null;
    const block = h("div", { class: "ow-shared", "data-testid": "ow-rules-shared" });
    for (const term of first.terms) {
      if (!term.shared) continue;
      const line = h("div", { class: "ow-term", "data-j": term.j }, h("span", { class: "ow-mark", "aria-hidden": "true" }), h("span", { class: "ow-sr" }), cutLine("span", {}, term.text, termParts(term)));
      this.sharedLines.push([term, line]);
    }
    if (this.sharedLines.length) block.append(h("p", { class: "ow-shared-title" }, "Every rule adds:"), ...this.sharedLines.map(([, line]) => line));
    const [below, above] = (classes ?? []).map(String);
    if (classes) block.append(h("p", { class: "ow-score-cut" }, ...isolated(`Then: class ${above} above ${SCORE_CUT}, else ${below}.`, [above, below])));
    return block.childElementCount ? block : null;
  }

  update(view: View): void {
    this.showArithmetic(view);
    for (const [id, row] of this.rows) {
      const active = view.rule?.id === id;
      row.classList.toggle("ow-rule-active", active);
      // "Why A and not B": the rules of the other classes step back.
      const outcome = this.outcomes.get(id) ?? null;
      const aside = view.versus !== null && outcome !== null && outcome !== view.target && outcome !== view.versus;
      row.classList.toggle("ow-rule-aside", aside);
      if (aside) row.title = `A rule for ${outcome}: neither ${view.target} nor ${view.versus}`;
      else row.removeAttribute("title");
      if (active) row.setAttribute("aria-current", "true");
      else row.removeAttribute("aria-current");
      this.conditionCells.get(id)?.forEach((cell, i) => {
        const met = active ? view.rule?.met[i] : undefined;
        cell.classList.toggle("ow-met", met === true);
        cell.classList.toggle("ow-unmet", met === false);
        showMark(cell, met === undefined ? null : met ? ["✓", "met: "] : ["✗", "not met: "]);
      });
    }
    // Scroll the firing rule into view when it changes, within the card (never the page);
    // only then: between changes the user may be reading other rules.
    const id = view.rule?.id ?? null;
    if (id === this.revealed) return;
    // Tab into the table lands on the firing rule, unless the keyboard is in the table.
    const first = id === null ? undefined : this.conditionCells.get(id)?.[0];
    const focused = focusedIn(this.el);
    if (first && !(focused && this.el.contains(focused))) makeTabStop(this.conditions, first);
    const row = id === null ? undefined : this.rows.get(id);
    if (!row || this.reveal(row)) this.revealed = id;
    else if (typeof requestAnimationFrame === "function") {
      requestAnimationFrame(() => {
        if (this.revealed !== id && this.reveal(row)) this.revealed = id;
      });
    }
  }

  /** The firing rule's value for the current row worked out ("this row: 1.085 − 0.299
   * (worst area) = 0.786 → benign"), and which shared steps apply to it. */
  private showArithmetic(view: View): void {
    const rule = this.surrogate.rules.find((r) => r.id === view.rule?.id);
    // Hidden values read as missing, which the terms would count as their fill: say nothing.
    const found = rule && !this.valuesHidden ? ruleOutput(rule, view.values) : null;
    for (const [id, under] of this.arithmetic) {
      under.hidden = !found || id !== rule?.id;
      if (under.hidden || !rule || !found) continue;
      const start = rule.prediction as number;
      const shown = rule.terms.filter((_, i) => shows(found.effects[i], [start, found.total, ...found.effects]));
      const parts = shown.map((t) => addend(found.effects[rule.terms.indexOf(t)], t)).join("");
      const label = found.label === null ? "" : ` → ${String(found.label)}`;
      const text = `this row: ${shownNumber(start)}${parts} = ${shownNumber(found.total)}${label}`;
      const names = [...shown.flatMap(termFeatures), ...(found.label === null ? [] : [String(found.label)])];
      const line = under.lastChild as HTMLElement;
      line.replaceChildren(...isolated(text, names, SHORT_NAME));
      if (cutsAny(names)) line.title = text;
      else line.removeAttribute("title");
    }
    for (const [term, line] of this.sharedLines) {
      // A step adds its weight or nothing, the same in every rule; a linear term always adds.
      const applies = !this.valuesHidden && (term.above !== null || term.when.length) ? termEffect(term, view.values) !== 0 : null;
      line.classList.toggle("ow-met", applies === true);
      line.classList.toggle("ow-term-off", applies === false);
      showMark(line, applies ? ["✓", "applies: "] : applies === false ? ["", "does not apply: "] : null);
    }
  }

  /** Scrolls `row` (and its worked-out value under it) into the box around it that scrolls,
   *  within the panel (the card; never the page); false when not laid out yet. */
  private reveal(row: HTMLElement): boolean {
    if (!row.isConnected || row.getBoundingClientRect().height === 0) return false;
    const box = scrollingBox(row, row.closest(".optiml-widget"));
    if (!box) return true; // it all shows: nothing to scroll
    const under = this.arithmetic.get(Number(row.dataset.rule));
    const last = under && !under.hidden ? under : row;
    const top = row.getBoundingClientRect().top;
    const height = last.getBoundingClientRect().bottom - top;
    const boxTop = box.getBoundingClientRect().top + box.clientTop;
    const outside = top < boxTop || top + height > boxTop + box.clientHeight;
    // In the middle of the box: the rules on either side show too.
    if (outside) box.scrollTop += top - boxTop - Math.max(0, (box.clientHeight - height) / 2);
    return true;
  }
}

/** The nearest box around `el` that scrolls, inside `root` (the panel: the page around it is
 *  never scrolled); null when none does. */
export function scrollingBox(el: HTMLElement, root: Element | null): HTMLElement | null {
  for (let box = el.parentElement; box && box !== root && box !== document.body; box = box.parentElement) {
    const overflow = getComputedStyle(box).overflowY;
    if ((overflow === "auto" || overflow === "scroll") && box.scrollHeight > box.clientHeight) return box;
  }
  return null;
}

/** The counterfactual hint: Python's words, the outcome it reaches, a one-click what-if. */
class Hint {
  readonly el = h("div", { class: "ow-counterfactual", "data-testid": "ow-counterfactual", "aria-live": "polite", hidden: true });
  private shown: { index: number; hint: CounterfactualInfo | null; versus: string | null } | null = null;
  private tryIt: HTMLButtonElement | null = null;

  constructor(
    private readonly apply: ApplyChanges,
    private readonly valuesHidden = false,
  ) {}

  update(view: View, stale: boolean): void {
    if (this.valuesHidden) {
      // Its changes are values of the row: an export without them cannot hold it.
      this.el.hidden = false;
      this.el.replaceChildren(h("p", { class: "ow-muted" }, "The smallest change to another outcome is not in this file: it names the row's values, which were left out."));
      return;
    }
    const hint = view.counterfactual;
    if (hint !== undefined && !stale) {
      if (hint !== this.shown?.hint || view.versus !== this.shown?.versus) this.draw(hint, view);
      this.shown = { index: view.index, hint, versus: view.versus };
      this.setStale(false);
      return;
    }
    if (this.shown && this.shown.index === view.index) {
      // The same row's hint stays, marked as being for the values before this change.
      this.setStale(true);
      return;
    }
    this.shown = null;
    const coming = view.pending.includes("counterfactual");
    this.el.hidden = !coming;
    this.el.replaceChildren(...(coming ? [placeholder("Looking for the smallest change to another outcome…")] : []));
  }

  private draw(hint: CounterfactualInfo | null, view: View): void {
    this.el.hidden = false;
    this.el.classList.remove("ow-no-follow");
    // With a contrast ("why A and not B") the hint looks for a change to B.
    const wanted = view.versus;
    if (!hint) {
      this.tryIt = null;
      const none =
        wanted === null
          ? "No small change of this row reaches another outcome of the rules."
          : view.predicted_label === wanted
            ? `The model predicts ${wanted} for this row already.`
            : `No small change of this row reaches ${wanted} in the rules.`;
      this.el.replaceChildren(h("p", { class: "ow-muted" }, none));
      return;
    }
    const moved = hint.outcome_before !== hint.outcome_after;
    const outcome = moved ? ` (${String(hint.outcome_before)} → ${String(hint.outcome_after)})` : "";
    const to = wanted === null ? "another outcome" : wanted;
    const title = !hint.model_agrees
      ? `The rules point to a change (rule ${hint.rule + 1}) that the model does not follow: `
      : hint.borrowed
        ? `The model follows none of the rules' changes; from the nearest rows with ${to}${outcome}: `
        : `Smallest change to ${to}${outcome}: `;
    this.tryIt = button("Try it", { class: "ow-try", title: "Apply these changes as what-if edits" });
    this.tryIt.addEventListener("click", () => this.apply(hint.changes));
    this.el.classList.toggle("ow-no-follow", !hint.model_agrees);
    this.el.replaceChildren(
      h("span", { class: "ow-hint-title" }, title),
      hint.text,
      " ",
      this.tryIt,
      h("span", { class: "ow-stale-note" }, " For the values before this change."),
    );
  }

  private setStale(stale: boolean): void {
    this.el.classList.toggle("ow-stale", stale);
    if (this.tryIt) this.tryIt.disabled = stale;
  }
}

/** The rules card: a placeholder with the fit's progress until the surrogate arrives. */
export class RulesCard {
  readonly el: HTMLElement;
  private readonly content = h("div", { class: "ow-card-body" });
  private readonly hint: Hint;
  private table: RuleTable | null = null;
  private last: { view: View; stale: boolean } | null = null;

  private shown: SurrogateInfo | null = null;

  constructor(
    readonly features: Features,
    apply: ApplyChanges,
    private readonly chooseSize: ChooseSize | null = null,
  ) {
    this.hint = new Hint(apply, features.valuesHidden);
    this.el = h("section", { class: "ow-card ow-rules", "data-testid": "ow-rules", "aria-label": "Rules" }, h("h3", {}, "Rules"), this.content, this.hint.el);
  }

  /** The surrogate (null while it is fit) and its job's progress. */
  setSurrogate(surrogate: SurrogateInfo | null, job?: JobState | null): void {
    if (surrogate) {
      if (surrogate !== this.shown) {
        // A first fit, or another size picked: the table is drawn anew.
        this.shown = surrogate;
        this.table = new RuleTable(surrogate, this.chooseSize, this.features.valuesHidden);
        this.content.replaceChildren(this.table.el);
        if (this.last) this.update(this.last.view, this.last.stale);
      }
      return;
    }
    this.table = null;
    this.shown = null;
    if (job?.state === "error") this.content.replaceChildren(h("p", { class: "ow-error-text" }, `The surrogate could not be fit: ${job.message ?? "unknown error"}`));
    else if (job?.state === "cancelled") this.content.replaceChildren(h("p", { class: "ow-muted" }, "The surrogate's fit was stopped."));
    else this.content.replaceChildren(placeholder("Fitting the global surrogate (a small rule model that mimics this one)…", job));
  }

  update(view: View, stale: boolean): void {
    this.last = { view, stale };
    this.table?.update(view);
    this.hint.update(view, stale);
  }
}

/** A condition's or term's mark: the glyph the eye reads and the words a screen reader
 *  reads (the glyph is hidden from it); null: neither. */
function showMark(el: HTMLElement, mark: [string, string] | null): void {
  const [glyph, words] = el.children as unknown as [HTMLElement, HTMLElement];
  // A no-break space: the mark never ends a line its condition starts the next of.
  glyph.textContent = mark?.[0] ? `${mark[0]}\u00a0` : "";
  words.textContent = mark?.[1] ?? "";
}
