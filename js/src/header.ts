// Header: prediction, predicted/true class, target switcher, row picker, algorithm, status.
import { h, onCommit, uid } from "./dom";
import { fmt } from "./format";
import type { Schema, View } from "./types";

export interface HeaderActions {
  selectRow(index: number): void;
  selectTarget(target: string): void;
  /** Present where an export can be made (a live kernel), absent inside an export. */
  exportHtml?: () => void;
}

export class Header {
  readonly el: HTMLElement;
  private readonly prediction = h("span", { class: "ow-prediction", "data-testid": "ow-prediction" });
  private readonly detail = h("span", { class: "ow-detail" });
  private readonly rowInput: HTMLInputElement;
  private readonly targetSelect: HTMLSelectElement | null = null;
  private readonly quality = h("span", { class: "ow-badge", "data-testid": "ow-quality" });
  private readonly busy = h("span", { class: "ow-busy", "aria-live": "polite" });
  private exportButton: HTMLButtonElement | null = null;
  private readonly notice = h("div", { class: "ow-notice", "data-testid": "ow-notice", hidden: true });
  private readonly error = h("div", { class: "ow-error", role: "alert", "data-testid": "ow-error", hidden: true });

  constructor(
    private readonly schema: Schema,
    actions: HeaderActions,
  ) {
    const rowId = uid("ow-row");
    this.rowInput = h("input", {
      id: rowId,
      type: "number",
      min: 0,
      max: schema.n_rows - 1,
      step: 1,
      class: "ow-row-input",
      "data-testid": "ow-row-input",
    });
    const go = (index: number) => {
      if (Number.isInteger(index) && index >= 0 && index < schema.n_rows) actions.selectRow(index);
    };
    onCommit(this.rowInput, () => go(Number(this.rowInput.value)));
    const prev = h("button", { type: "button", class: "ow-button", "aria-label": "Previous row" }, "‹");
    const next = h("button", { type: "button", class: "ow-button", "aria-label": "Next row" }, "›");
    prev.addEventListener("click", () => go(Number(this.rowInput.value) - 1));
    next.addEventListener("click", () => go(Number(this.rowInput.value) + 1));
    const picker = h(
      "span",
      { class: "ow-row-picker" },
      h("label", { for: rowId }, "Row"),
      prev,
      this.rowInput,
      next,
      h("span", { class: "ow-muted" }, `of ${schema.n_rows}`),
    );
    const controls = h("div", { class: "ow-header-controls" }, picker);
    if (schema.task !== "regression") {
      const targetId = uid("ow-target");
      const select = h("select", { id: targetId, class: "ow-target" });
      for (const target of schema.targets) select.append(h("option", { value: target }, target));
      select.addEventListener("change", () => actions.selectTarget(select.value));
      this.targetSelect = select;
      controls.append(h("span", {}, h("label", { for: targetId }, "Explain class"), select));
    }
    const algorithm = h(
      "span",
      { class: "ow-badge ow-algorithm", "data-testid": "ow-algorithm", title: "SHAP algorithm" },
      schema.shap_algorithm || "SHAP off",
    );
    controls.append(algorithm, this.quality, this.busy);
    if (actions.exportHtml) {
      const run = actions.exportHtml;
      this.exportButton = h("button", { type: "button", class: "ow-button ow-export", title: "One HTML file that opens offline, without Python" }, "Export HTML");
      this.exportButton.addEventListener("click", () => {
        this.setExporting(true);
        run();
      });
      controls.append(this.exportButton);
    }
    this.el = h(
      "div",
      { class: "ow-header" },
      h("div", { class: "ow-headline" }, this.prediction, this.detail),
      controls,
      this.notice,
      this.error,
    );
  }

  update(view: View, busy: boolean): void {
    const what = this.schema.task === "regression" ? "prediction" : `P(${view.target})`;
    this.prediction.textContent = `${what} = ${fmt(view.prediction)}`;
    this.prediction.dataset.value = String(view.prediction);
    const parts: string[] = [];
    if (view.predicted_label !== null) parts.push(`predicted: ${view.predicted_label}`);
    if (this.schema.has_y && view.y !== null) parts.push(`true: ${view.y}`);
    if (view.edited.length) parts.push(`${view.edited.length} edited`);
    if (view.label) parts.push(view.label);
    this.notice.hidden = !view.notice;
    this.notice.textContent = view.notice ?? "";
    this.detail.textContent = parts.join(" · ");
    if (document.activeElement !== this.rowInput) this.rowInput.value = String(view.index);
    if (this.targetSelect) this.targetSelect.value = view.target;
    this.quality.textContent =
      view.quality === "exact" ? "exact" : view.quality === "fast" ? "estimate (dragging)" : "estimate";
    this.quality.classList.toggle("ow-estimate", view.quality !== "exact");
    this.setBusy(busy);
  }

  setExporting(exporting: boolean): void {
    if (!this.exportButton) return;
    this.exportButton.disabled = exporting;
    this.exportButton.textContent = exporting ? "Exporting…" : "Export HTML";
  }

  setBusy(busy: boolean): void {
    this.busy.textContent = busy ? "updating…" : "";
  }

  setError(message: string | null): void {
    this.error.hidden = !message;
    this.error.textContent = message ? `The last change failed; showing the last good result. ${message}` : "";
  }
}
