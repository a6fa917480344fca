// The panel: wires the views to the model (a live kernel, or the export's in-page model).
import { h } from "./dom";
import { dragEstimate } from "./estimate";
import { ForcePlot } from "./forceplot";
import { Header } from "./header";
import { LimeView } from "./lime";
import { Linker } from "./link";
import { RequestLoop } from "./requests";
import { RuleTable } from "./rules";
import { Sliders } from "./sliders";
import type { ExportReply, ExportRequest, RequestMessage, Value, View, WidgetModel } from "./types";

/** The part of anywidget's model the panel uses (the export page provides the same). */
export interface PanelModel {
  get<K extends keyof WidgetModel>(key: K): WidgetModel[K];
  // anywidget's callbacks take event-specific arguments (msg:custom: content, buffers).
  on(event: string, callback: (...args: any[]) => void): void;
  off(event: string, callback: (...args: any[]) => void): void;
  send(message: RequestMessage | ExportRequest): void;
}

export interface PanelOptions {
  /** Offer the "Export HTML" button (a live kernel can make the file; an export cannot). */
  canExport?: boolean;
}

/** Saves bytes as a file through the browser's download. */
function download(filename: string, data: DataView): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const url = URL.createObjectURL(new Blob([bytes], { type: "text/html" }));
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function editsOf(view: View): Record<string, Value> {
  return Object.fromEntries(view.edited.map((name) => [name, view.instance[name]]));
}

export function renderPanel(model: PanelModel, el: HTMLElement, options: PanelOptions = {}): () => void {
  const schema = model.get("_schema");
  const surrogate = model.get("_surrogate");
  let view = model.get("_view");
  let edits = editsOf(view);
  const header: Header = new Header(schema, {
    selectRow: (index) => loop.requestExact(index, view.target),
    selectTarget: (target) => loop.requestExact(view.index, target, edits),
    exportHtml: options.canExport ? () => model.send({ type: "export" }) : undefined,
  });
  const loop = new RequestLoop({
    send(message) {
      model.send(message);
      header.setBusy(true);
    },
  });
  loop.accept(view);
  const force = new ForcePlot(schema);
  const lime = new LimeView(schema);
  const rules = surrogate ? new RuleTable(surrogate) : null;
  const sliders = new Sliders(schema, surrogate, {
    edit(feature, value, phase) {
      if (value === view.original[feature]) delete edits[feature];
      else edits[feature] = value;
      if (phase === "drag") {
        loop.requestFast(view.index, view.target, edits);
        // Instant feedback from the model's precomputed curves; Python's view replaces it.
        const classification = schema.task !== "regression";
        const estimate = dragEstimate(view, model.get("_curves"), surrogate, { ...view.original, ...edits }, classification);
        if (estimate) showEstimate(estimate);
      } else loop.requestExact(view.index, view.target, edits);
    },
    reset(feature) {
      if (feature === null) edits = {};
      else delete edits[feature];
      loop.requestExact(view.index, view.target, edits);
    },
    pending: () => edits,
  });

  // data-lm-suppress-shortcuts: JupyterLab's command-mode keys must not steal our controls' keys.
  const root = h(
    "div",
    { class: "optiml-widget", "data-lm-suppress-shortcuts": "true" },
    header.el,
    force.el,
    h("div", { class: "ow-row" }, lime.el, rules?.el ?? null),
    sliders.el,
  );
  const linker = new Linker(root);
  // Keys typed into the panel's controls are theirs: the notebook around it must not move
  // between cells on an arrow key.
  root.addEventListener("keydown", (event) => {
    if ((event.target as Element).matches("input, select, textarea, button")) event.stopPropagation();
  });

  const show = () => {
    header.update(view, loop.busy);
    force.update(view);
    lime.update(view);
    rules?.update(view);
    sliders.update(view, view.quality === "exact" && !sliders.dragging);
    root.dataset.seq = String(view.seq);
    root.dataset.quality = view.quality;
    linker.apply();
  };
  let estimates = 0;
  const showEstimate = (estimate: View) => {
    header.update(estimate, true);
    force.update(estimate);
    rules?.update(estimate);
    root.dataset.quality = "fast";
    root.dataset.estimate = String(++estimates);
    linker.apply();
  };
  const onView = () => {
    const next = model.get("_view");
    if (!loop.accept(next)) return;
    view = next;
    // While a newer request is in flight the user's own edits are the truth.
    if (!loop.busy) edits = editsOf(view);
    show();
  };
  const onError = () => {
    const error = model.get("error");
    if (error) loop.settle();
    header.setError(error);
    header.setBusy(loop.busy);
  };
  const onMessage = (message: ExportReply, buffers?: DataView[]) => {
    if (message?.type !== "export") return;
    header.setExporting(false);
    if (message.error) header.setError(message.error);
    else if (buffers?.length) download(message.filename, buffers[0]);
  };
  model.on("change:_view", onView);
  model.on("change:error", onError);
  model.on("msg:custom", onMessage);
  show();
  onError();
  el.replaceChildren(root);
  return () => {
    model.off("change:_view", onView);
    model.off("change:error", onError);
    model.off("msg:custom", onMessage);
  };
}
