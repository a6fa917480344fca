// Feature sliders: one control per feature, in columns, with a search box. The order is the
// row's |impact| when the row is first shown, and changes only on a new row or when the user
// asks ("Order by impact"); the control in use never moves. Rows have a fixed shape, so a
// value, an edit or a rule arriving never moves a control under the pointer either.
// Numeric sliders carry percentile ticks and the surrogate's thresholds.
import { button, focusedIn, h, onCommit, uid } from "./dom";
import type { Features } from "./features";
import { SHORT_NAME, cutName, exactNumber, formatValue } from "./format";
import { legend } from "./legend";
import type { Edits } from "./requests";
import type { FeatureInfo, Value, View } from "./types";

/** Sliders shown before "Show more": the row's most important features. */
export const TOP_SLIDERS = 16;
/** How many more each "Show more" adds. */
export const MORE_SLIDERS = 32;

export interface SliderActions {
  /** "drag" while a slider moves, "done" when an edit is complete. */
  edit(j: number, value: Value, phase: "drag" | "done"): void;
  reset(j: number | null): void;
  /** The user's wanted edits of the row (ahead of the view while a request is in flight). */
  pending(): Edits;
  /** The order by the current view's impact, for "Order by impact" (null: none known). */
  impactOrder(): number[] | null;
  /** Where feature `j`'s keys step (an export's precomputed values, ascending); none: the
   *  slider's own steps. */
  stops?: (j: number) => number[] | null;
}

/** What a categorical select shows for a missing value (the SHAP card writes "missing"):
 *  in parentheses, as no category's own text is likely to be. */
export const MISSING_CATEGORY = "(missing)";

const STEP_KEYS: Record<string, 1 | -1> = { ArrowRight: 1, ArrowUp: 1, PageUp: 1, ArrowLeft: -1, ArrowDown: -1, PageDown: -1 };

/** The stop after `value` in direction `way` (stops ascending); null at the end. */
export function nextStop(stops: number[], value: number, way: 1 | -1): number | null {
  const near = 1e-9 * Math.max(1, Math.abs(value));
  if (way > 0) return stops.find((s) => s > value + near) ?? null;
  for (let k = stops.length - 1; k >= 0; k--) if (stops[k] < value - near) return stops[k];
  return null;
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

/** Positions ordered by |values|, largest first (ties in schema order). */
export function impactOrder(values: number[]): number[] {
  return values
    .map((value, j) => ({ size: Math.abs(value), j }))
    .sort((a, b) => b.size - a.size || a.j - b.j)
    .map((x) => x.j);
}

/** `order` with `j` moved back to `index`: a re-sort never moves the control in use. */
export function keepAt(order: number[], j: number, index: number): number[] {
  const rest = order.filter((k) => k !== j);
  rest.splice(Math.min(index, rest.length), 0, j);
  return rest;
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
  /** The select's option for a missing value, in it while the value is missing: not a
   *  category (a "" category read the same as a blank select), and not one to choose. */
  private readonly missingOption = h("option", { value: "", disabled: true, class: "ow-missing-option" }, MISSING_CATEGORY);
  private readonly checkbox: HTMLInputElement | null = null;
  private readonly ticks: HTMLElement | null = null;
  private readonly resetButton: HTMLButtonElement;
  /** A line under a number's controls: a value outside X's range, or a typed text refused. */
  private readonly note: HTMLElement | null = null;
  /** Why a typed text was not taken, shown for a few seconds over the range note. */
  private refused: string | null = null;
  private refusedTimer: ReturnType<typeof setTimeout> | undefined;
  /** True while the user holds a range thumb: views must not move it under the pointer. */
  dragging = false;
  /** A drag sent fast requests that no exact one has followed yet. */
  private unsettled = false;
  /** The user has typed into the number box since the last commit: views leave it alone. */
  private typing = false;
  /** The number the row has now (null: missing), what the number box shows otherwise. */
  private current: number | null = null;
  private forgetTyped: () => void = () => {};
  /** What the controls show, as last set by show(); null when the user or a drag has moved
   *  them since. A view that leaves the row as it was writes nothing to it: with a thousand
   *  sliders listed, every edit rewrote every row. */
  private shown: { value: Value; original: Value; edited: boolean } | null = null;
  /** The thresholds drawn, to redraw them only when they change. */
  private drawnThresholds: number[] | null = null;

  constructor(
    readonly j: number,
    readonly feature: FeatureInfo,
    thresholds: number[],
    actions: SliderActions,
  ) {
    const id = uid("ow-f");
    const name = feature.name;
    // A long name is cut in its middle (its end often tells it from its neighbours), read
    // whole in its tooltip and by a screen reader.
    const shown = cutName(name, SHORT_NAME);
    const label = h("label", { for: id, class: "ow-slider-name", title: shown === name ? undefined : name }, shown);
    const named = shown === name ? {} : { "aria-label": name };
    this.resetButton = button("", { class: "ow-reset", title: "Back to this row's own value" });
    this.resetButton.addEventListener("click", () => actions.reset(j));
    let control: HTMLElement;
    if (feature.kind === "categorical") {
      const select = h("select", { id, ...named });
      // Options by position: a category is its place in the schema's list, whose labels
      // tell apart categories that write the same ("1 (int)", "1 (str)").
      (feature.categories ?? []).forEach((c, k) => select.append(h("option", { value: String(k) }, c)));
      select.addEventListener("change", () => {
        this.shown = null;
        const category = select.value === "" ? undefined : feature.categories?.[Number(select.value)];
        if (category !== undefined) actions.edit(j, category, "done");
      });
      this.select = select;
      control = select;
    } else if (feature.kind === "boolean") {
      const box = h("input", { id, type: "checkbox", class: "ow-toggle", ...named });
      box.addEventListener("change", () => {
        this.shown = null;
        actions.edit(j, box.checked, "done");
      });
      this.checkbox = box;
      control = h("span", { class: "ow-toggle-box" }, box);
    } else {
      const range = h("input", { id, type: "range", min: feature.min ?? 0, max: feature.max ?? 1, step: sliderStep(feature), ...named });
      const noteId = uid("ow-note");
      const number = h("input", { type: "number", step: feature.kind === "integer" ? 1 : "any", class: "ow-number", "aria-label": `${name} value`, "aria-describedby": noteId });
      this.note = h("span", { id: noteId, class: "ow-slider-note", role: "status", "data-testid": "ow-slider-note", hidden: true });
      const done = () => {
        this.dragging = false;
        this.unsettled = false;
        actions.edit(j, Number(range.value), "done");
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
        this.shown = null;
        this.dragging = true;
        this.unsettled = true;
        this.el.classList.remove("ow-no-value");
        number.value = formatValue(Number(range.value), feature);
        range.setAttribute("aria-valuetext", number.value);
        actions.edit(j, Number(range.value), "drag");
      });
      range.addEventListener("change", done);
      // Where only some values are answered (an export), a key moves to the next of them:
      // the slider's own steps were answered at the nearest one, which a step never left.
      range.addEventListener("keydown", (event) => {
        this.shown = null;
        const stops = actions.stops?.(j);
        const way = STEP_KEYS[event.key];
        if (this.current === null && (way !== undefined || event.key === "Home")) {
          // A missing value's thumb rests at the start, where Home or a step down moved
          // nothing: any step key sets the first value (the minimum, or the first stop).
          event.preventDefault();
          const first = stops?.length ? stops[0] : Number(range.min);
          range.value = String(first);
          number.value = formatValue(first, feature);
          this.current = first;
          this.el.classList.remove("ow-no-value");
          actions.edit(j, first, "done");
          return;
        }
        if (!stops?.length || way === undefined) return;
        event.preventDefault();
        const now = this.current ?? Number(range.value);
        const next = nextStop(stops, now, way);
        if (next === null) return;
        range.value = String(next);
        number.value = formatValue(next, feature);
        this.current = next;
        actions.edit(j, next, "done");
      });
      for (const type of ["pointerup", "pointercancel", "blur"]) range.addEventListener(type, release);
      number.addEventListener("input", () => {
        this.shown = null;
        this.typing = true;
      });
      this.forgetTyped = onCommit(number, () => {
        this.shown = null;
        this.typing = false;
        if (number.value === "" || !Number.isFinite(Number(number.value))) {
          // Nothing is sent: the box shows the value in use again, and says why.
          this.refuse(`not a number: kept ${this.current === null ? "missing" : formatValue(this.current, feature)}`);
          this.showNumber();
          return;
        }
        // Wanted until the answer says which value is in use.
        this.current = Number(number.value);
        this.refused = null;
        this.showNote();
        actions.edit(j, this.current, "done");
      });
      // Leaving the box: it shows the value in use again (a text that was not a number, a
      // value an export moved to its nearest precomputed point).
      number.addEventListener("blur", () => {
        this.typing = false;
        this.showNumber();
      });
      const ticks = h("span", { class: "ow-ticks", "aria-hidden": "true" });
      for (const [q, v] of feature.quantiles ?? []) {
        if (q === 0 || q === 1) continue;
        const tick = h("span", { class: "ow-quantile-tick", title: `${Math.round(q * 100)}th percentile: ${formatValue(v, feature)}` });
        tick.style.left = `${trackPercent(feature, v)}%`;
        ticks.append(tick);
      }
      this.ticks = ticks;
      this.range = range;
      this.number = number;
      this.setThresholds(thresholds);
      control = h("span", { class: "ow-track" }, range, ticks);
    }
    this.el = h(
      "div",
      { class: "ow-slider", "data-j": j, "data-name": name },
      label,
      control,
      this.number ?? h("span", { class: "ow-number-slot" }),
      this.resetButton,
      this.note,
    );
  }

  /** Says for a few seconds why a typed text was not taken. */
  private refuse(why: string): void {
    this.refused = why;
    clearTimeout(this.refusedTimer);
    this.refusedTimer = setTimeout(() => {
      this.refused = null;
      this.showNote();
    }, 4000);
    this.showNote();
  }

  /** The note under the controls: a refused text, else whether the value in use lies
   *  outside X's range (the model's answer there is an extrapolation, a calm warning). */
  private showNote(): void {
    if (!this.note || !this.number) return;
    const { min, max } = this.feature;
    const value = this.current;
    const outside = value !== null && min !== null && max !== null && (value < min || value > max);
    const text = this.refused ?? (outside ? `outside X (${formatValue(min, this.feature)} to ${formatValue(max, this.feature)}): the model extrapolates` : "");
    if (this.note.textContent === text) return; // a live region: the same words are not news
    this.note.textContent = text;
    this.note.hidden = !text;
    this.number.title = text;
  }

  /** The surrogate's thresholds on this track: where the firing rule would change. Each
   *  reads as the rules write it, every digit: rounded, it could name another cut. */
  setThresholds(thresholds: number[]): void {
    if (!this.ticks) return;
    const drawn = this.drawnThresholds;
    if (drawn && drawn.length === thresholds.length && drawn.every((t, k) => t === thresholds[k])) return;
    this.drawnThresholds = [...thresholds];
    for (const old of this.ticks.querySelectorAll(".ow-threshold-tick")) old.remove();
    for (const t of thresholds) {
      const tick = h("span", { class: "ow-threshold-tick", title: `rule threshold: ${exactNumber(t)}`, "data-value": t });
      tick.style.left = `${trackPercent(this.feature, t)}%`;
      this.ticks.append(tick);
    }
  }

  /** Shows a value (and the row's own); writes to the page only where it changed. */
  show(value: Value, original: Value, edited: boolean): void {
    const last = this.shown;
    if (last && Object.is(last.value, value) && Object.is(last.original, original) && last.edited === edited) return;
    if (this.range && this.number) {
      const number = typeof value === "number" && Number.isFinite(value) ? value : null;
      // A missing value has no place on the track: the thumb is hidden and the track empty.
      if (!this.dragging) this.range.value = number === null ? this.range.min : String(number);
      this.current = number;
      if (!this.typing) this.showNumber();
      this.el.classList.toggle("ow-no-value", number === null);
      this.range.title = number === null ? "missing: move the slider to set a value" : "";
      // Read aloud as the box writes it: the thumb sits on its step, not on the value.
      this.range.setAttribute("aria-valuetext", number === null ? "missing" : formatValue(number, this.feature));
      this.number.placeholder = number === null ? "missing" : "";
      this.showNote();
    } else if (this.select) {
      if (value === null) {
        if (!this.missingOption.isConnected) this.select.prepend(this.missingOption);
      } else this.missingOption.remove();
      const k = value === null ? -1 : (this.feature.categories ?? []).indexOf(String(value));
      this.select.value = k < 0 ? "" : String(k);
      this.el.classList.toggle("ow-no-value", value === null);
    } else if (this.checkbox) {
      this.checkbox.checked = isOn(value);
    }
    this.el.classList.toggle("ow-edited", edited);
    // The exact value (the thumb snaps to its steps, the number box rounds for reading).
    this.el.dataset.value = value === null ? "" : String(value);
    if (!last || !Object.is(last.original, original)) {
      const was = formatValue(original, this.feature);
      // The reset button keeps its place when hidden: nothing beside it moves.
      this.resetButton.replaceChildren("↺ ", h("bdi", {}, was));
      this.resetButton.setAttribute("aria-label", `Reset ${this.feature.name} to ${was}`);
    }
    this.resetButton.classList.toggle("ow-invisible", !edited);
    this.resetButton.disabled = !edited;
    // A thumb held or a box typed into was left as the user has it: the next view writes
    // the row again.
    this.shown = this.dragging || this.typing ? null : { value, original, edited };
  }

  /** The number box shows the value in use; a typed text that says the same (perhaps with
   *  more digits than the box writes) stays while the box has the focus. */
  private showNumber(): void {
    const box = this.number;
    if (!box) return;
    const value = this.current;
    if (focusedIn(box) === box && value !== null && box.value !== "" && Number(box.value) === value) return;
    box.value = value === null ? "" : formatValue(value, this.feature);
    this.forgetTyped();
  }

  /** Whether the pointer holds this slider or the keyboard is on one of its controls. */
  get inUse(): boolean {
    const focused = focusedIn(this.el);
    return this.dragging || (focused !== null && this.el.contains(focused));
  }
}

/** Puts `els` in `list` in this order, moving only the rows that must move: taking a row out
 *  of the page ends a drag on its slider and takes the focus off its number box, and putting
 *  back the thousand rows listed to add 32 more made each "Show more" slower than the last. */
function placeRows(list: HTMLElement, els: HTMLElement[]): void {
  const wanted = new Set<Element>(els);
  for (const child of [...list.children]) if (!wanted.has(child)) child.remove();
  let at = list.firstElementChild;
  for (const el of els) {
    if (el === at) at = at.nextElementSibling;
    else list.insertBefore(el, at);
  }
}

/** Sets a text that changed (the same text set again is a write the page redoes). */
function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

function setHidden(el: HTMLElement, hidden: boolean): void {
  if (el.hidden !== hidden) el.hidden = hidden;
}

/** A feature whose range has not arrived yet (wide data): its name, and that it is coming. */
function loadingRow(j: number, name: string): HTMLElement {
  return h(
    "div",
    { class: "ow-slider ow-slider-loading", "data-j": j, "data-name": name },
    h("span", { class: "ow-slider-name", title: cutName(name, SHORT_NAME) === name ? undefined : name }, cutName(name, SHORT_NAME)),
    h("span", { class: "ow-muted" }, "loading its range…"),
  );
}

/** In place of the sliders in an export without the rows' values: with no value to start
 *  from and no range to move in, controls would only pretend. */
function valuesHiddenCard(): HTMLElement {
  return h(
    "section",
    { class: "ow-card ow-sliders", "data-testid": "ow-sliders", "aria-label": "What if?" },
    h("h3", {}, "What if?"),
    h(
      "p",
      { class: "ow-note", "data-testid": "ow-sliders-hidden" },
      "Not in this file: it was exported without the rows' values (include_data=False), so it has no values to change and no what-ifs. Run the notebook, or export with the data, to try changes.",
    ),
  );
}

export class Sliders {
  readonly el: HTMLElement;
  private readonly rows = new Map<number, SliderRow>();
  private readonly loading = new Map<number, HTMLElement>();
  private readonly list = h("div", { class: "ow-slider-list" });
  private readonly more: HTMLButtonElement;
  private readonly fewer: HTMLButtonElement;
  private readonly count = h("span", { class: "ow-muted ow-slider-count", "data-testid": "ow-slider-count" });
  private readonly search: HTMLInputElement;
  private thresholds: number[][] | null = null;
  private order: number[];
  private orderedBy = "feature order";
  private limit = TOP_SLIDERS;
  private last: View | null = null;
  /** Features asked for from elsewhere (a chart): shown after the top ones. */
  private readonly revealed = new Set<number>();

  constructor(
    private readonly features: Features,
    private readonly actions: SliderActions,
  ) {
    this.order = features.names.map((_, j) => j);
    const searchId = uid("ow-search");
    this.search = h("input", { id: searchId, type: "search", placeholder: `any of ${features.count} features`, class: "ow-search" });
    this.search.addEventListener("input", () => {
      this.limit = TOP_SLIDERS;
      this.layout();
    });
    const sort = button("Order by impact", { class: "ow-sort", title: "Put the features that move this row's output most first" });
    sort.addEventListener("click", () => {
      const order = actions.impactOrder();
      if (order) this.setOrder(order, "impact");
    });
    const resetAll = button("Reset all");
    resetAll.addEventListener("click", () => {
      actions.reset(null);
      this.layout();
    });
    this.more = button("", { class: "ow-more" });
    this.more.addEventListener("click", () => {
      this.limit += MORE_SLIDERS;
      this.layout();
    });
    this.fewer = button("Show fewer", { class: "ow-more" });
    this.fewer.addEventListener("click", () => {
      this.limit = TOP_SLIDERS;
      this.layout();
    });
    features.onArrive((positions) => {
      for (const j of positions) this.loading.delete(j);
      this.layout();
    });
    const controls = h(
      "section",
      { class: "ow-card ow-sliders", "data-testid": "ow-sliders", "aria-label": "What if?" },
      h(
        "div",
        { class: "ow-sliders-head" },
        h("h3", {}, "What if?"),
        this.count,
        // One box: the label never stays at the end of a line its field wrapped off.
        h("span", { class: "ow-search-box" }, h("label", { for: searchId }, "Search"), this.search),
        sort,
        resetAll,
      ),
      legend("sliders", [
        { mark: "ow-key-quantile", text: "5th, 25th, 50th, 75th, 95th percentiles of X" },
        { mark: "ow-key-threshold", text: "rule thresholds: the firing rule changes there" },
        { mark: "ow-key-edited", text: "edited (↺ goes back to the row's value)" },
      ]),
      this.list,
      h("div", { class: "ow-more-row" }, this.more, this.fewer),
    );
    this.el = features.valuesHidden ? valuesHiddenCard() : controls;
  }

  get dragging(): boolean {
    for (const row of this.rows.values()) if (row.dragging) return true;
    return false;
  }

  /** The surrogate's thresholds per feature position (they arrive with the surrogate). */
  setThresholds(thresholds: number[][] | null): void {
    this.thresholds = thresholds;
    for (const [j, row] of this.rows) row.setThresholds(thresholds?.[j] ?? []);
  }

  /** A new order (a new row, or "Order by impact"); the control in use keeps its place. */
  setOrder(order: number[], by: "impact" | "feature order"): void {
    let next = order.length === this.features.count ? order : this.order;
    for (const [j, row] of this.rows) {
      const index = this.order.indexOf(j);
      if (row.inUse && index >= 0) next = keepAt(next, j, index);
    }
    this.order = next;
    this.orderedBy = by;
    this.layout();
  }

  update(view: View): void {
    this.last = view;
    this.layout();
  }

  /** The positions shown now. */
  visible(): number[] {
    const query = this.search.value.trim();
    let listed = this.order;
    if (query) {
      const rank = new Map(this.order.map((j, i) => [j, i]));
      listed = this.features.search(query).sort((a, b) => (rank.get(a) ?? 0) - (rank.get(b) ?? 0));
    }
    const shown = listed.slice(0, this.limit);
    // Edited features (and revealed ones) stay in sight even when they are not among the top
    // ones (of a search, when they match it).
    const kept = new Set([...(this.last?.edited ?? []), ...this.actions.pending().keys(), ...this.revealed]);
    const extra = listed.slice(this.limit).filter((j) => kept.has(j));
    return [...shown, ...extra];
  }

  private rowEl(j: number): HTMLElement {
    if (this.features.isPartial(j)) {
      let el = this.loading.get(j);
      if (!el) {
        el = loadingRow(j, this.features.names[j]);
        this.loading.set(j, el);
      }
      return el;
    }
    let row = this.rows.get(j);
    if (!row) {
      row = new SliderRow(j, this.features.at(j), this.thresholds?.[j] ?? [], {
        ...this.actions,
        reset: (feature) => {
          this.actions.reset(feature);
          this.layout();
        },
      });
      this.rows.set(j, row);
    }
    return row.el;
  }

  private layout(): void {
    const shown = this.visible();
    this.features.need(shown);
    const view = this.last;
    // Controls show what the user asked for: the view's values, overlaid with edits not
    // answered yet (or refused by an error), so no edit of the user's is ever reverted.
    const pending = this.actions.pending();
    const editedInView = new Set(view?.edited ?? []);
    const els = shown.map((j) => {
      const el = this.rowEl(j);
      const row = this.rows.get(j);
      if (view && row && el === row.el) {
        const edited = pending.has(j);
        const value = edited ? (pending.get(j) ?? null) : editedInView.has(j) ? view.original[j] : view.values[j];
        row.show(value ?? null, view.original[j] ?? null, edited);
      }
      return el;
    });
    placeRows(this.list, els);
    const query = this.search.value.trim();
    const total = query ? this.features.search(query).length : this.features.count;
    // Every listed row counts, those kept in sight beyond the top ones too.
    const hidden = Math.max(0, total - shown.length);
    setHidden(this.more, hidden === 0);
    setText(this.more, hidden <= MORE_SLIDERS ? `Show the other ${hidden}` : `Show ${MORE_SLIDERS} more (${hidden} not shown)`);
    setHidden(this.fewer, this.limit <= TOP_SLIDERS);
    const what = query ? `${total} match${total === 1 ? "" : "es"} for “${query}”` : `${total} features`;
    const order = `ordered by ${this.orderedBy === "impact" ? "impact on this row" : "position in X"}`;
    // "0 of 0 matches" said nothing plainly.
    setText(this.count, query && total === 0 ? `no feature matches “${query}”` : `${shown.length} of ${what}, ${order}`);
  }

  /** Brings a feature's slider into the list (a bar clicked in the charts); its element. */
  reveal(j: number): HTMLElement | null {
    if (this.features.valuesHidden) return null;
    const query = this.search.value.trim();
    if (query && !this.features.search(query).includes(j)) {
      // The user asked for this feature: a search it does not match gives way, and its
      // field shows that it did (a slider shown against the search would contradict it).
      this.search.value = "";
      this.limit = TOP_SLIDERS;
    }
    if (!this.visible().includes(j)) this.revealed.add(j);
    this.layout();
    return this.list.querySelector<HTMLElement>(`.ow-slider[data-j="${j}"]`);
  }
}
