// The panel: wires the views to the model (a live kernel, or the export's in-page model).
import { type ChartEngine, GlobalViews, type LoadEngine } from "./charts";
import { h } from "./dom";
import { dragEstimate } from "./estimate";
import { ForcePlot } from "./forceplot";
import { Header } from "./header";
import { LimeView } from "./lime";
import { Linker } from "./link";
import { RequestLoop } from "./requests";
import { RuleTable } from "./rules";
import { Sliders } from "./sliders";
import type { ExportReply, ExportRequest, GlobalRequest, RequestMessage, Value, View, WidgetModel } from "./types";

/** The part of anywidget's model the panel uses (the export page provides the same). */
export interface PanelModel {
  get<K extends keyof WidgetModel>(key: K): WidgetModel[K];
  // anywidget's callbacks take event-specific arguments (msg:custom: content, buffers).
  on(event: string, callback: (...args: any[]) => void): void;
  off(event: string, callback: (...args: any[]) => void): void;
  send(message: RequestMessage | ExportRequest | GlobalRequest): void;
  set?<K extends keyof WidgetModel>(key: K, value: WidgetModel[K]): void;
  save_changes?(): void;
}

export interface PanelOptions {
  /** Offer the "Export HTML" button (a live kernel can make the file; an export cannot). */
  canExport?: boolean;
  /** Loads the chart engine; by default it is asked from the kernel on first use. */
  loadEngine?: LoadEngine;
  /** The row of X of each row the panel knows (an export renumbers them); default: the same. */
  rowNumbers?: number[];
}

/** The chart engine, sent by the kernel as a message buffer the first time it is asked for. */
function engineFromKernel(model: PanelModel): LoadEngine {
  let loading: Promise<ChartEngine> | null = null;
  return () => {
    loading ??= new Promise<ChartEngine>((resolve, reject) => {
      const onMessage = (message: { type?: string; error?: string }, buffers?: DataView[]) => {
        if (message?.type !== "charts-engine") return;
        model.off("msg:custom", onMessage);
        if (!buffers?.length) return reject(new Error(message.error ?? "no chart engine"));
        const code = buffers[0];
        const bytes = new Uint8Array(code.buffer, code.byteOffset, code.byteLength).slice();
        const url = URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
        import(/* webpackIgnore: true */ url).then(resolve, reject).finally(() => URL.revokeObjectURL(url));
      };
      model.on("msg:custom", onMessage);
      model.send({ type: "charts-engine" });
    });
    return loading;
  };
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
  const rules = surrogate
    ? new RuleTable(surrogate, (changes) => {
        // One click: the hint's changes become what-if edits, the sliders follow.
        edits = { ...edits, ...changes };
        for (const [name, value] of Object.entries(changes)) if (value === view.original[name]) delete edits[name];
        loop.requestExact(view.index, view.target, edits);
      })
    : null;
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

  const names = schema.features.map((f) => f.name);
  const rowNumbers = options.rowNumbers;
  const rowOf = (index: number) => (rowNumbers ? (rowNumbers[index] ?? -1) : index);
  let selected: string | null = model.get("feature") ?? null;
  const global = schema.explainers.includes("shap")
    ? new GlobalViews(schema, options.loadEngine ?? engineFromKernel(model), {
        selectFeature: (name) => selectFeature(name, true),
        selectRow(row) {
          const index = rowNumbers ? rowNumbers.indexOf(row) : row;
          if (index < 0) header.setError(`Row ${row} of X is not in this file: export it with rows=[…, ${row}].`);
          else if (index !== view.index) loop.requestExact(index, view.target);
        },
        hover: (name) => linker.set(name),
      })
    : null;

  // data-lm-suppress-shortcuts: JupyterLab's command-mode keys must not steal our controls' keys.
  const root = h(
    "div",
    { class: "optiml-widget", "data-lm-suppress-shortcuts": "true" },
    header.el,
    global?.el ?? null,
    force.el,
    h("div", { class: "ow-row" }, lime.el, rules?.el ?? null),
    sliders.el,
  );
  const linker = new Linker(root, (name) => void global?.set({ hover: name === null ? -1 : names.indexOf(name) }));
  /** The feature of the dependence plot; from a bar click it also takes the slider's focus. */
  const selectFeature = (name: string | null, fromChart: boolean) => {
    selected = name;
    linker.select(name);
    if (name === null || !global) return;
    const k = names.indexOf(name);
    void global.set({ feature: k, ...GlobalViews.current(schema, k, view.instance, view.shap) });
    if (fromChart) {
      model.set?.("feature", name);
      model.save_changes?.();
      const slider = [...root.querySelectorAll<HTMLElement>(".ow-slider[data-feature]")].find((el) => el.dataset.feature === name);
      slider?.scrollIntoView({ block: "nearest" });
      slider?.querySelector<HTMLElement>("input, select")?.focus({ preventScroll: true });
    }
  };
  const showGlobal = () => {
    const info = model.get("_global") ?? null;
    if (!global) return;
    if (!info || info.state === "idle") model.send({ type: "global" });
    void global.update(info).then(() => {
      if (selected === null && info?.state === "ready") {
        // Python picks the most important feature first; the charts say which.
        const spec = info.specs?.dependence as { params?: { name: string; value: unknown }[] } | undefined;
        const k = spec?.params?.find((p) => p.name === "feature")?.value;
        if (typeof k === "number") selectFeature(names[k], false);
      }
    });
  };
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
    if (global) {
      const k = selected === null ? -1 : names.indexOf(selected);
      void global.set({ row: rowOf(view.index), ...(k >= 0 ? GlobalViews.current(schema, k, view.instance, view.shap) : {}) });
    }
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
  const onFeature = () => selectFeature(model.get("feature") ?? null, false);
  model.on("change:_view", onView);
  model.on("change:error", onError);
  model.on("msg:custom", onMessage);
  model.on("change:_global", showGlobal);
  model.on("change:feature", onFeature);
  show();
  onError();
  el.replaceChildren(root);
  showGlobal();
  return () => {
    model.off("change:_view", onView);
    model.off("change:error", onError);
    model.off("msg:custom", onMessage);
    model.off("change:_global", showGlobal);
    model.off("change:feature", onFeature);
    global?.finalize();
  };
}
