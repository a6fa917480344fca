// Feature sliders: one control per feature, ordered by |SHAP|, with a search box. Numeric
// sliders carry quantile ticks and the surrogate's thresholds (where the firing rule would
// change); an edited feature shows its original value and its own reset.
import { h, onCommit, uid } from "./dom";
import { fmtValue } from "./format";
import type { FeatureInfo, Schema, SurrogateInfo, Value, View } from "./types";

export const VISIBLE_ROWS = 30;

export interface SliderActions {
  /** "drag" while a slider moves, "done" when an edit is complete. */
  edit(feature: string, value: Value, phase: "drag" | "done"): void;
  reset(feature: string | null): void;
  /** The user's wanted edits of the row (ahead of the view while a request is in flight). */
  pending(): Record<string, Value>;
}

/** Where a value sits on a feature's track, in percent. */
export function trackPercent(feature: FeatureInfo, value: number): number {
  if (feature.min === null || feature.max === null || feature.max === feature.min) return 0;
  return Math.min(100, Math.max(0, ((value - feature.min) / (feature.max - feature.min)) * 100));
}

export function sliderStep(feature: FeatureInfo): number {
  if (feature.kind === "integer") return 1;
  const span = (feature.max ?? 1) - (feature.min ?? 0);
  return span > 0 ? span / 200 : 1;
}

/** A boolean feature's value as a checkbox state (tolerates "True"/1 from other producers). */
function isOn(value: Value): boolean {
  return value === true || value === 1 || value === "True" || value === "true";
}

class SliderRow {
  readonly el: HTMLElement;
  private readonly range: HTMLInputElement | null = null;
  private readonly number: HTMLInputElement | null = null;
  private readonly select: HTMLSelectElement | null = null;
  private readonly checkbox: HTMLInputElement | null = null;
  private readonly original = h("span", { class: "ow-original" });
  private readonly resetButton: HTMLButtonElement;
  /** True while the user holds a range thumb: views must not move it under the pointer. */
  dragging = false;
  /** A drag sent fast requests that no exact one has followed yet. */
  private unsettled = false;

  constructor(
    readonly feature: FeatureInfo,
    thresholds: number[],
    actions: SliderActions,
  ) {
    const id = uid("ow-f");
    const name = feature.name;
    const label = h("label", { for: id, class: "ow-slider-name", title: name }, name);
    this.resetButton = h("button", { type: "button", class: "ow-button ow-reset", "aria-label": `Reset ${name}`, title: "Back to the original value", hidden: true }, "↺");
    this.resetButton.addEventListener("click", () => actions.reset(name));
    let control: HTMLElement;
    if (feature.kind === "categorical") {
      const select = h("select", { id });
      for (const c of feature.categories ?? []) select.append(h("option", { value: c }, c));
      select.addEventListener("change", () => actions.edit(name, select.value, "done"));
      this.select = select;
      control = select;
    } else if (feature.kind === "boolean") {
      const box = h("input", { id, type: "checkbox", class: "ow-toggle" });
      box.addEventListener("change", () => actions.edit(name, box.checked, "done"));
      this.checkbox = box;
      control = box;
    } else {
      const step = sliderStep(feature);
      const range = h("input", { id, type: "range", min: feature.min ?? 0, max: feature.max ?? 1, step: step });
      const number = h("input", { type: "number", step: feature.kind === "integer" ? 1 : "any", class: "ow-number", "aria-label": `${name} value` });
      const done = () => {
        this.dragging = false;
        this.unsettled = false;
        actions.edit(name, Number(range.value), "done");
      };
      // A release that leaves the value where the drag started fires no `change`: end the
      // drag anyway, and ask for the exact view if fast ones were sent.
      const release = () => {
        if (!this.dragging) return;
        this.dragging = false;
        setTimeout(() => {
          if (this.unsettled && !this.dragging) done();
        }, 0);
      };
      range.addEventListener("pointerdown", () => (this.dragging = true));
      range.addEventListener("input", () => {
        this.dragging = true;
        this.unsettled = true;
        number.value = range.value;
        actions.edit(name, Number(range.value), "drag");
      });
      range.addEventListener("change", done);
      for (const type of ["pointerup", "pointercancel", "blur"]) range.addEventListener(type, release);
      onCommit(number, () => {
        if (number.value !== "" && Number.isFinite(Number(number.value))) actions.edit(name, Number(number.value), "done");
      });
      const ticks = h("div", { class: "ow-ticks", "aria-hidden": "true" });
      for (const [q, v] of feature.quantiles) {
        if (q === 0 || q === 1) continue;
        const tick = h("span", { class: "ow-quantile-tick", title: `${Math.round(q * 100)}th percentile: ${fmtValue(v, feature)}` });
        tick.style.left = `${trackPercent(feature, v)}%`;
        ticks.append(tick);
      }
      for (const t of thresholds) {
        const tick = h("span", { class: "ow-threshold-tick", title: `rule threshold: ${fmtValue(t, feature)}`, "data-value": t });
        tick.style.left = `${trackPercent(feature, t)}%`;
        ticks.append(tick);
      }
      this.range = range;
      this.number = number;
      control = h("span", { class: "ow-track" }, range, ticks);
      control = h("span", { class: "ow-numeric" }, control, number);
    }
    this.el = h("div", { class: "ow-slider", "data-feature": name }, label, control, this.original, this.resetButton);
  }

  show(value: Value, original: Value, edited: boolean): void {
    if (this.range && this.number) {
      const number = typeof value === "number" ? value : null;
      if (!this.dragging && number !== null) this.range.value = String(number);
      if (document.activeElement !== this.number) this.number.value = number === null ? "" : String(number);
    } else if (this.select) {
      this.select.value = value === null ? "" : String(value);
    } else if (this.checkbox) {
      this.checkbox.checked = isOn(value);
    }
    this.el.classList.toggle("ow-edited", edited);
    this.original.textContent = edited ? `was ${fmtValue(original, this.feature)}` : "";
    this.resetButton.hidden = !edited;
  }

  /** The value the control shows, for tests and the export host. */
  get value(): Value {
    if (this.range) return Number(this.range.value);
    if (this.select) return this.select.value;
    return this.checkbox?.checked ?? null;
  }
}

export class Sliders {
  readonly el: HTMLElement;
  private readonly rows = new Map<string, SliderRow>();
  private readonly list = h("div", { class: "ow-slider-list" });
  private readonly more: HTMLButtonElement;
  private readonly search: HTMLInputElement;
  private order: string[];
  private showAll = false;
  private last: View | null = null;

  constructor(
    private readonly schema: Schema,
    private readonly surrogate: SurrogateInfo | null,
    private readonly actions: SliderActions,
  ) {
    this.order = schema.features.map((f) => f.name);
    const searchId = uid("ow-search");
    this.search = h("input", { id: searchId, type: "search", placeholder: "feature name", class: "ow-search" });
    this.search.addEventListener("input", () => this.layout());
    const resetAll = h("button", { type: "button", class: "ow-button" }, "Reset all");
    resetAll.addEventListener("click", () => {
      actions.reset(null);
      this.layout();
    });
    this.more = h("button", { type: "button", class: "ow-button ow-more" });
    this.more.addEventListener("click", () => {
      this.showAll = !this.showAll;
      this.layout();
    });
    this.el = h(
      "div",
      { class: "ow-card ow-sliders", "data-testid": "ow-sliders" },
      h("div", { class: "ow-sliders-head" }, h("h3", {}, "What if?"), h("label", { for: searchId }, "Search"), this.search, resetAll),
      this.list,
      this.more,
    );
  }

  get dragging(): boolean {
    for (const row of this.rows.values()) if (row.dragging) return true;
    return false;
  }

  /** Shows a view; the order by |SHAP| changes only when asked (not during a drag). */
  update(view: View, reorder: boolean): void {
    this.last = view;
    if (reorder && view.shap.length) {
      const names = this.schema.features.map((f) => f.name);
      this.order = names
        .map((name, i) => ({ name, size: Math.abs(view.shap[i]) }))
        .sort((a, b) => b.size - a.size)
        .map((x) => x.name);
    }
    this.layout();
  }

  rowFor(name: string): SliderRow {
    let row = this.rows.get(name);
    if (!row) {
      const feature = this.schema.features.find((f) => f.name === name) as FeatureInfo;
      row = new SliderRow(feature, this.surrogate?.thresholds[name] ?? [], {
        ...this.actions,
        reset: (feature) => {
          this.actions.reset(feature);
          this.layout();
        },
      });
      this.rows.set(name, row);
    }
    return row;
  }

  private layout(): void {
    const query = this.search.value.trim().toLowerCase();
    const matching = this.order.filter((name) => name.toLowerCase().includes(query));
    const shown = this.showAll ? matching : matching.slice(0, VISIBLE_ROWS);
    const view = this.last;
    // Controls show what the user asked for: the view's values, overlaid with edits not
    // answered yet (or refused by an error), so no edit of the user's is ever reverted.
    const pending = this.actions.pending();
    const rows = shown.map((name) => {
      const row = this.rowFor(name);
      if (view) {
        const edited = Object.prototype.hasOwnProperty.call(pending, name);
        const value = edited ? pending[name] : view.edited.includes(name) ? view.original[name] : view.instance[name];
        row.show(value ?? null, view.original[name] ?? null, edited);
      }
      return row.el;
    });
    // Re-insert rows only when the list changes: taking a row out of the page ends a drag
    // on its slider and takes the focus off its number box.
    const current = this.list.children;
    if (current.length !== rows.length || rows.some((el, i) => current[i] !== el)) this.list.replaceChildren(...rows);
    this.more.hidden = matching.length <= VISIBLE_ROWS;
    this.more.textContent = this.showAll ? "Show fewer" : `Show all ${matching.length} features`;
  }
}
