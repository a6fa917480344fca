// The panel: wires the views to the model (a live kernel, or the export's in-page model).
// Layout, top to bottom: the header (prediction, compact force plot; kept in view while the
// panel scrolls), one card per local explainer beside the rules, the sliders, the global
// views. Nothing above the sliders changes height as results stream in.
import { ExplainerCard } from "./attributions";
import { type ChartEngine, GlobalViews, type LoadEngine } from "./charts";
import { download, h, keepKeys } from "./dom";
import { dragEstimate } from "./estimate";
import { Features } from "./features";
import { forceLegend } from "./forceplot";
import { Header } from "./header";
import { Linker } from "./link";
import { Wanted, exportId, exportIsMine, sharedOf } from "./requests";
import { RulesCard } from "./rules";
import { Sliders, impactOrder } from "./sliders";
import { keepInView } from "./sticky";
import type {
  ExportReply,
  FailedReply,
  ExportRequest,
  FeatureReply,
  FeatureRequest,
  GlobalRequest,
  SurrogateSizeRequest,
  RequestMessage,
  Value,
  View,
  ViewMessage,
  WidgetModel,
} from "./types";

/** Every message the panel sends. */
export type PanelMessage = RequestMessage | ExportRequest | GlobalRequest | FeatureRequest | SurrogateSizeRequest | ViewMessage;

/** The part of anywidget's model the panel uses (the export page provides the same). */
export interface PanelModel {
  get<K extends keyof WidgetModel>(key: K): WidgetModel[K];
  // anywidget's callbacks take event-specific arguments (msg:custom: content, buffers).
  on(event: string, callback: (...args: any[]) => void): void;
  off(event: string, callback: (...args: any[]) => void): void;
  send(message: PanelMessage): void;
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
  /** An export made without the rows' values (include_data=False): the views' values are
   * null because they are hidden, not missing. */
  valuesHidden?: boolean;
  /** The only values feature `j`'s slider can be answered at (an export's precomputed
   * points): its arrow and page keys step between them. */
  sliderStops?: (j: number) => number[] | null;
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

export function renderPanel(model: PanelModel, el: HTMLElement, options: PanelOptions = {}): () => void {
  const schema = model.get("_schema");
  const features = new Features(schema, (request) => model.send(request), options.valuesHidden);
  let surrogate = model.get("_surrogate") ?? null;
  let view = model.get("_view");
  // Shared by every view of this widget: the edits, row and output asked for, the loop.
  // Keyed by the schema: anywidget gives each view a model proxy of its own, while the
  // synced schema (set once) is one object for them all.
  const wanted = sharedOf(schema, () => new Wanted(view, (message) => model.send(message)));
  const loop = wanted.loop;
  // A view made later (the notebook opened again, the other views gone) starts from the
  // newest view: its requests then number past it, and its edits are that view's.
  if (loop.accept(view) && !loop.busy) wanted.arrived(view, true);
  const setEdit = (j: number, value: Value) => wanted.set(view, j, value);
  const classification = schema.task !== "regression";
  const titleOf = (name: string) => schema.explainers.find((e) => e.name === name)?.title ?? name;
  // The first additive explainer draws the header's force bar and orders the sliders.
  const primary = schema.explainers.findIndex((e) => e.view === "force");
  const cards = schema.explainers.map((info, i) => new ExplainerCard(info, i, features, titleOf, { barOutside: i === primary }));
  const primaryValues = (v: View) => (primary >= 0 ? (v.attributions[primary]?.values ?? null) : null);

  const exportAs = exportId(); // this view's: only it saves the file it asked for
  const header: Header = new Header(
    schema,
    {
      selectRow: (index) => {
        wanted.row = index;
        loop.requestExact(index, wanted.output);
      },
      // A target that was the contrasted class ends the contrast. Of the row and output
      // asked for (quick clicks may not be on screen yet), with its own edits there.
      selectTarget: (target) => {
        wanted.output = { target, versus: wanted.output.versus === target ? null : wanted.output.versus };
        loop.requestExact(wanted.row, wanted.output, wanted.row === view.index ? wanted.edits : undefined);
      },
      selectVersus: (versus) => {
        wanted.output = { target: wanted.output.target, versus };
        loop.requestExact(wanted.row, wanted.output, wanted.row === view.index ? wanted.edits : undefined);
      },
      exportHtml: options.canExport ? () => model.send({ type: "export", id: exportAs }) : undefined,
    },
    primary >= 0 ? cards[primary].bar : null,
    primary >= 0 ? forceLegend() : null,
    options.rowNumbers ?? null,
  );
  const unlistenSent = wanted.onSent((lost) => {
    if (lost) header.setError(lost);
    header.setBusy(loop.busy);
  });
  // No view answers (a failure, a lost kernel): every view shows the last good one again,
  // not a drag's estimate.
  const unlistenSettled = wanted.onSettled(() => {
    wanted.settled(view);
    show();
    header.setBusy(loop.busy);
  });
  const rules = schema.surrogate
    ? new RulesCard(features, (changes) => {
        // One click: the hint's changes become what-if edits, the sliders follow.
        for (const [j, value] of changes) setEdit(j, value);
        loop.requestExact(view.index, wanted.output, wanted.edits);
      }, options.canExport ? (rules, family) => model.send({ type: "surrogate-size", rules, ...(family ? { family } : {}) }) : null)
    : null;
  const sliders = new Sliders(features, {
    stops: options.sliderStops,
    edit(j, value, phase) {
      setEdit(j, value);
      const { edits } = wanted;
      if (phase === "done") return loop.requestExact(view.index, wanted.output, edits);
      loop.requestFast(view.index, wanted.output, edits);
      // Instant feedback from the model's precomputed curves; Python's view replaces it.
      const values = view.original.map((v, k) => (edits.has(k) ? (edits.get(k) ?? null) : v));
      const estimate = dragEstimate(view, model.get("_curves"), surrogate, values, classification, primary);
      showEstimate(estimate ?? view, estimate !== null);
    },
    reset(j) {
      for (const k of j === null ? [...wanted.edits.keys()] : [j]) wanted.touched.add(k);
      if (j === null) wanted.edits = new Map();
      else wanted.edits.delete(j);
      loop.requestExact(view.index, wanted.output, wanted.edits);
    },
    pending: () => wanted.edits,
    impactOrder: () => {
      const values = primaryValues(view);
      return values ? impactOrder(values) : null;
    },
  });
  /** The row and output whose |impact| ordered the sliders: a new row, class or contrast
   * orders them afresh (the user asked for it; never under the pointer). */
  let orderedFor: string | null = null;

  const rowNumbers = options.rowNumbers;
  const rowOf = (index: number) => (rowNumbers ? (rowNumbers[index] ?? -1) : index);
  let selected: number | null = null;
  const global =
    primary >= 0
      ? new GlobalViews(options.loadEngine ?? engineFromKernel(model), {
          selectFeature: (j) => selectFeature(j, true),
          selectRow(row) {
            const index = rowNumbers ? rowNumbers.indexOf(row) : row;
            if (index < 0) header.setError(`Row ${row} of X is not in this file: export it with rows=[…, ${row}].`);
            else if (index !== view.index) {
              wanted.row = index;
              loop.requestExact(index, wanted.output);
            }
          },
          hover: (j) => linker.set(j),
          // A point of the fidelity curve: those rules in the table (as its size control).
          selectSize: options.canExport ? (rules, family) => model.send({ type: "surrogate-size", rules, family }) : undefined,
        })
      : null;

  const top = h("div", { class: "ow-top" }, header.el);
  // data-lm-suppress-shortcuts: JupyterLab's command-mode keys must not steal our controls' keys.
  const root = h(
    "div",
    { class: "optiml-widget", "data-lm-suppress-shortcuts": "true" },
    top,
    h("div", { class: "ow-explain" }, ...cards.map((card) => card.el), rules?.el ?? null),
    sliders.el,
    global?.el ?? null,
  );
  const linker = new Linker(root, (j) => void global?.set({ hover: j === null ? -1 : j }));
  const current = (j: number, v: View) => GlobalViews.current(features.at(j).categories, v.values[j], primaryValues(v)?.[j]);
  /** The feature of the dependence plot; from a bar click it also takes the slider's focus. */
  const selectFeature = (j: number | null, fromChart: boolean) => {
    selected = j;
    linker.select(j);
    if (j === null || !global) return;
    void global.set({ feature: j, ...current(j, view) });
    if (fromChart) {
      model.set?.("feature", features.names[j]);
      model.save_changes?.();
      const row = sliders.reveal(j);
      row?.scrollIntoView({ block: "nearest" });
      row?.querySelector<HTMLElement>("input, select")?.focus({ preventScroll: true });
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
        if (typeof k === "number" && k >= 0 && k < features.count) selectFeature(k, false);
      }
    });
  };
  keepKeys(root);
  // Enter or Space on a feature's bar or condition does what a click on its bar in the
  // global views does: its dependence plot, and its slider.
  root.addEventListener("keydown", (event) => {
    const target = event.target as HTMLElement;
    const plain = !event.ctrlKey && !event.metaKey && !event.altKey && !event.shiftKey;
    if ((event.key === "Enter" || event.key === " ") && plain && target.matches("li[data-j], .ow-cond[data-j]")) {
      event.preventDefault();
      selectFeature(Number(target.dataset.j), true);
    }
  });

  const show = () => {
    header.update(view, loop.busy);
    for (const card of cards) card.update(view, false);
    rules?.update(view, view.quality !== "exact");
    sliders.update(view);
    const values = primaryValues(view);
    const explained = JSON.stringify([view.index, view.target, view.versus ?? null]);
    if (values && orderedFor !== explained) {
      orderedFor = explained;
      sliders.setOrder(impactOrder(values), "impact");
    }
    root.dataset.seq = String(view.seq);
    root.dataset.quality = view.quality;
    root.dataset.pending = view.pending.join(" ");
    linker.apply();
    if (global) void global.set({ row: rowOf(view.index), ...(selected !== null ? current(selected, view) : {}) });
  };
  let estimates = 0;
  /** While a slider moves: the browser's estimate, or the last view marked as behind. */
  const showEstimate = (shown: View, estimated: boolean) => {
    header.update(shown, true);
    cards.forEach((card, i) => card.update(shown, !(estimated && i === primary)));
    rules?.update(shown, true);
    root.dataset.quality = "fast";
    if (estimated) root.dataset.estimate = String(++estimates);
    linker.apply();
  };
  const onView = () => {
    const next = model.get("_view");
    if (!loop.accept(next)) return;
    const fillIn = next.seq === view.seq;
    const sameRow = next.index === view.index;
    view = next;
    // A late part of a view the user has already moved on from: the newer answer shows it.
    if (fillIn && loop.busy) return;
    wanted.arrived(view, sameRow);
    show();
    showError(); // the error may be this view's explainer's, set before the view came
  };
  const onSurrogate = () => {
    surrogate = model.get("_surrogate") ?? null;
    rules?.setSurrogate(surrogate, model.get("_progress")?.surrogate);
    sliders.setThresholds(surrogate?.thresholds ?? null);
    rules?.update(view, view.quality !== "exact");
    linker.apply();
    // The fidelity chart rings the point whose rules the table shows.
    if (surrogate) void global?.set({ shown_rules: surrogate.complexity, shown_family: surrogate.family });
  };
  const onProgress = () => {
    const progress = model.get("_progress") ?? {};
    if (!surrogate) rules?.setSurrogate(null, progress.surrogate);
    if (header.isExporting) header.setExport(progress.export);
  };
  /** The error banner, and whether ``error`` is a failed request's. An explainer's failure
   * that the view named is shown on its card instead: that view arrived, no request failed. */
  const showError = (): boolean => {
    const error = model.get("error");
    const failedPart = error !== null && Object.values(model.get("_view")?.failed ?? {}).includes(error);
    header.setError(failedPart ? null : error);
    return Boolean(error) && !failedPart;
  };
  const onError = () => {
    if (showError() && loop.busy) wanted.settle();
    header.setBusy(loop.busy);
  };
  const onMessage = (message: ExportReply | FeatureReply | FailedReply, buffers?: DataView[]) => {
    if (message?.type === "features") return features.receive(message);
    if (message?.type === "failed") {
      // No view answers a failed request: the last good one shows, with the error.
      wanted.settle(message.seq);
      header.setBusy(loop.busy);
      return;
    }
    if (message?.type !== "export" || !exportIsMine(message, exportAs)) return;
    if (message.error) {
      header.setExport({ state: "error", done: 0, total: 0, message: message.error });
    } else if (buffers?.length) {
      download(message.filename, buffers[0]);
      header.exportDone(message.filename, message.bytes ?? buffers[0].byteLength);
    }
  };
  const onFeature = () => {
    const name = model.get("feature") ?? null;
    const j = name === null ? -1 : features.position(name);
    selectFeature(j >= 0 ? j : null, false);
  };
  model.on("change:_view", onView);
  model.on("change:_surrogate", onSurrogate);
  model.on("change:_progress", onProgress);
  model.on("change:error", onError);
  model.on("msg:custom", onMessage);
  model.on("change:_global", showGlobal);
  model.on("change:feature", onFeature);
  rules?.setSurrogate(surrogate, model.get("_progress")?.surrogate);
  sliders.setThresholds(surrogate?.thresholds ?? null);
  show();
  onError();
  el.replaceChildren(root);
  const unstick = keepInView(root, top);
  showGlobal();
  return () => {
    model.off("change:_view", onView);
    model.off("change:_surrogate", onSurrogate);
    model.off("change:_progress", onProgress);
    model.off("change:error", onError);
    model.off("msg:custom", onMessage);
    model.off("change:_global", showGlobal);
    model.off("change:feature", onFeature);
    unlistenSent();
    unlistenSettled();
    unstick();
    global?.finalize();
  };
}
