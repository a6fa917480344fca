// Header: prediction, predicted/true class, quality, row picker, target and contrast switchers, the export
// button with its progress, and one status line (notice, error, where the export went). Its
// height never changes with what it says, so nothing below it moves.
import { button, focusedIn, h, isolated, onCommit, uid } from "./dom";
import { fileSize, outputText, shownNumber } from "./format";
import type { JobState, Schema, View } from "./types";

export interface HeaderActions {
  selectRow(index: number): void;
  selectTarget(target: string): void;
  /** Another class to contrast the target with ("why target and not versus"), or null. */
  selectVersus(versus: string | null): void;
  /** Present where an export can be made (a live kernel), absent inside an export. */
  exportHtml?: () => void;
}

export class Header {
  readonly el: HTMLElement;
  private readonly prediction = h("span", { class: "ow-prediction", "data-testid": "ow-prediction" });
  private readonly detail = h("span", { class: "ow-detail" });
  private readonly rowInput: HTMLInputElement;
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;
  private readonly targetSelect: HTMLSelectElement | null = null;
  private readonly versusSelect: HTMLSelectElement | null = null;
  private readonly quality = h("span", { class: "ow-badge", "data-testid": "ow-quality" });
  private readonly busy = h("span", { class: "ow-busy", "aria-live": "polite" });
  private readonly exportButton: HTMLButtonElement | null = null;
  private readonly notice = h("span", { class: "ow-notice", "data-testid": "ow-notice" });
  private readonly exported = h("span", { class: "ow-exported", "data-testid": "ow-export-status" });
  private readonly error = h("span", { class: "ow-error", role: "alert", "data-testid": "ow-error", hidden: true });
  private exporting = false;
  /** The place of the row asked for last (quick clicks of ‹ › step from it). */
  private asked = 0;
  /** The row, output and values the shown view had when the file was saved: the "Saved"
   *  note describes that state and goes once the panel shows another. */
  private savedFor: string | null = null;
  private shownState = "";

  constructor(
    private readonly schema: Schema,
    actions: HeaderActions,
    /** The compact force bar, shown under the headline (kept in view with the header). */
    bar: HTMLElement | null,
    barLegend: HTMLElement | null,
    /** The row of X of each row the panel knows (an export's, in the file's order); default: the same. */
    private readonly rowNumbers: number[] | null = null,
  ) {
    const rowId = uid("ow-row");
    // An export holds some rows of X: the box names them as X does (as the header's "row 70
    // of X", the charts and rows=[…] do), not by their place in the file.
    const range = rowNumbers ? {} : { min: 0, max: schema.n_rows - 1 };
    this.rowInput = h("input", { id: rowId, type: "number", ...range, step: 1, class: "ow-row-input", "data-testid": "ow-row-input" });
    /** The place of a row of X among the panel's rows (-1: not there). */
    const placeOf = (row: number) => (rowNumbers ? rowNumbers.indexOf(row) : Number.isInteger(row) && row >= 0 && row < schema.n_rows ? row : -1);
    const go = (row: number) => {
      const index = placeOf(row);
      if (index >= 0) {
        this.asked = index;
        actions.selectRow(index);
      } else if (!rowNumbers) this.notice.textContent = `There is no row ${row}: the rows are 0 to ${schema.n_rows - 1}.`;
      else {
        const listed = rowNumbers.length <= 8 ? rowNumbers.join(", ") : `${rowNumbers.slice(0, 8).join(", ")}, … (${rowNumbers.length} in all)`;
        this.notice.textContent = `Row ${row} of X is not in this file: it holds row${rowNumbers.length === 1 ? "" : "s"} ${listed}.`;
      }
    };
    onCommit(this.rowInput, () => {
      if (this.rowInput.value !== "") go(Number(this.rowInput.value));
    });
    const prev = (this.prev = button("‹", { "aria-label": "Previous row" }));
    const next = (this.next = button("›", { "aria-label": "Next row" }));
    // The box shows the row asked for at once: quick clicks step from it, not from the
    // row of the view still on screen (ten clicks moved eight rows).
    const step = (by: number) => {
      const index = this.asked + by;
      if (index >= 0 && index < schema.n_rows) {
        this.rowInput.value = String(this.rowOf(index));
        go(this.rowOf(index));
      } else if (!rowNumbers) go(index);
    };
    prev.addEventListener("click", () => step(-1));
    next.addEventListener("click", () => step(1));
    const count = rowNumbers ? `of X (${schema.n_rows} in this file)` : `of ${schema.n_rows}`;
    const controls = h(
      "div",
      { class: "ow-header-controls" },
      h("span", { class: "ow-row-picker" }, h("label", { for: rowId }, "Row"), prev, this.rowInput, next, h("span", { class: "ow-muted" }, count)),
    );
    if (schema.task !== "regression") {
      const targetId = uid("ow-target");
      const select = h("select", { id: targetId, class: "ow-target" });
      for (const target of schema.targets) select.append(h("option", { value: target }, target));
      select.addEventListener("change", () => actions.selectTarget(select.value));
      if (schema.targets.length < 2) {
        // An export holds one class's explanations: nothing to choose, and it says why.
        select.disabled = true;
        select.title = "This file explains this class only: run the notebook to explain another.";
      }
      this.targetSelect = select;
      controls.append(h("span", {}, h("label", { for: targetId }, "Explain class"), select));
    }
    if (schema.task === "multiclass" && schema.targets.length > 2) {
      // "Why A and not B": every view then explains P(A) − P(B).
      const versusId = uid("ow-versus");
      const select = h("select", { id: versusId, class: "ow-versus", "data-testid": "ow-versus" });
      select.append(h("option", { value: "" }, "no other class"));
      for (const target of schema.targets) select.append(h("option", { value: target }, target));
      select.addEventListener("change", () => actions.selectVersus(select.value === "" ? null : select.value));
      this.versusSelect = select;
      controls.append(h("span", {}, h("label", { for: versusId }, "versus"), select));
    }
    if (actions.exportHtml) {
      const run = actions.exportHtml;
      this.exportButton = button("Export HTML", { class: "ow-export", title: "One HTML file that opens offline, without Python" });
      this.exportButton.addEventListener("click", () => {
        this.setExport({ state: "running", done: 0, total: 0, message: null });
        run();
      });
      controls.append(this.exportButton);
    }
    // Fixed in height (a notice never moves the panel); focusable so that a longer one can
    // be scrolled with the keyboard.
    controls.append(h("div", { class: "ow-status", role: "region", tabindex: 0, "aria-label": "Status" }, this.error, this.exported, this.notice));
    this.el = h("div", { class: "ow-header" }, h("div", { class: "ow-headline" }, this.prediction, this.quality, this.busy, this.detail), controls, bar, barLegend);
  }

  /** The row of X at a place among the panel's rows. */
  private rowOf(index: number): number {
    return this.rowNumbers?.[index] ?? index;
  }

  update(view: View, busy: boolean): void {
    // The classes are the user's strings: isolated from the brackets and number around them.
    const classes = this.schema.task === "regression" ? [] : [view.target, view.versus];
    this.prediction.replaceChildren(...isolated(`${outputText(this.schema.task, view)} = ${shownNumber(view.prediction)}`, classes));
    this.prediction.dataset.value = String(view.prediction);
    const parts: (string | Node)[][] = [];
    if (view.predicted_label !== null) parts.push(["predicted: ", h("bdi", {}, String(view.predicted_label))]);
    if (this.schema.has_y && view.y !== null) parts.push(["true: ", typeof view.y === "number" ? shownNumber(view.y) : h("bdi", {}, String(view.y))]);
    if (view.edited.length) parts.push([`${view.edited.length} edited`]);
    if (view.label) parts.push([view.label]);
    this.detail.replaceChildren(...parts.flatMap((part, i) => (i ? [" · ", ...part] : part)));
    this.notice.textContent = view.notice ?? "";
    this.shownState = JSON.stringify([view.index, view.target, view.versus, view.values]);
    if (this.savedFor !== null && this.savedFor !== this.shownState) {
      this.savedFor = null;
      this.exported.textContent = "";
    }
    // While a request is in flight the box keeps the row asked for.
    if (!busy) this.asked = view.index;
    if (!busy && focusedIn(this.rowInput) !== this.rowInput) this.rowInput.value = String(this.rowOf(view.index));
    this.prev.disabled = view.index <= 0;
    this.next.disabled = view.index >= this.schema.n_rows - 1;
    if (this.targetSelect) this.targetSelect.value = view.target;
    if (this.versusSelect) {
      this.versusSelect.value = view.versus ?? "";
      // The target cannot be contrasted with itself.
      for (const option of this.versusSelect.options) option.disabled = option.value === view.target;
    }
    this.quality.textContent = view.quality === "exact" ? "exact" : view.quality === "fast" ? "estimate (dragging)" : "estimate";
    this.quality.classList.toggle("ow-estimate", view.quality !== "exact");
    this.setBusy(busy);
  }

  /** The export's progress on the button; its error on the status line. */
  setExport(job: JobState | null | undefined): void {
    if (!this.exportButton) return;
    const running = job?.state === "running";
    if (running) {
      this.exporting = true;
      const share = job.total > 0 ? Math.floor((100 * job.done) / job.total) : 0;
      this.exportButton.textContent = `Exporting… ${share}%`;
      this.exportButton.disabled = true;
      this.exported.textContent = "";
      this.savedFor = null;
      return;
    }
    this.exporting = false;
    this.exportButton.textContent = "Export HTML";
    this.exportButton.disabled = false;
    if (job?.state === "error") this.exported.textContent = `The export failed: ${job.message ?? "unknown error"}`;
  }

  /** The file is made: where it went. */
  exportDone(filename: string, bytes: number): void {
    this.setExport(null);
    this.exported.textContent = `Saved ${filename} (${fileSize(bytes)}) to your downloads.`;
    this.savedFor = this.shownState;
  }

  get isExporting(): boolean {
    return this.exporting;
  }

  setBusy(busy: boolean): void {
    this.busy.textContent = busy ? "updating…" : "";
  }

  setError(message: string | null): void {
    this.error.hidden = !message;
    this.error.textContent = message ? `The last change failed; showing the last good result. ${message}` : "";
  }
}

