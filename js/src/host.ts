// The in-page model of an HTML export: it serves the panel the same interface as a live
// kernel, answering requests from data precomputed at export time (no network, no kernel).
import type { LoadEngine } from "./charts";
import { ruleFor } from "./estimate";
import { renderPanel } from "./panel";
import type { ExportData, ExportGrids, PackedArray, RequestMessage, Value, View, WidgetModel } from "./types";

interface Grids {
  offsets: number[];
  values: Value[][];
  prediction: Float32Array;
  shap: Int16Array;
  scale: Float32Array;
  rule: Int16Array;
}

async function unpack(packed: PackedArray): Promise<ArrayBuffer> {
  const bytes = Uint8Array.from(atob(packed.data), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

async function decodeGrids(grids: ExportGrids): Promise<Grids> {
  const [prediction, shap, scale, rule] = await Promise.all([
    unpack(grids.prediction),
    unpack(grids.shap),
    unpack(grids.shap_scale),
    unpack(grids.rule),
  ]);
  return {
    offsets: grids.offsets,
    values: grids.values,
    prediction: new Float32Array(prediction),
    shap: new Int16Array(shap),
    scale: new Float32Array(scale),
    rule: new Int16Array(rule),
  };
}

/** The grid point of a feature nearest to a value (categories: the same one). */
export function nearestPoint(values: Value[], value: Value): number {
  if (typeof value !== "number") return Math.max(0, values.findIndex((v) => String(v) === String(value)));
  let best = 0;
  values.forEach((v, k) => {
    if (Math.abs((v as number) - value) < Math.abs((values[best] as number) - value)) best = k;
  });
  return best;
}

/** Answers what-if requests the way the kernel would, from the export's data. */
export class ExportAnswers {
  private readonly edits = new Map<number, Record<string, Value>>();

  constructor(
    private readonly data: ExportData,
    private readonly grids: Grids | null,
  ) {}

  answer(request: RequestMessage): View {
    const base = this.data.views[request.index];
    if (request.edits) this.edits.set(request.index, request.edits);
    const rowEdits = this.edits.get(request.index) ?? Object.fromEntries(base.edited.map((n) => [n, base.instance[n]]));
    const wanted = { ...base.original, ...rowEdits };
    const names = this.data.schema.features.map((f) => f.name);
    const changed = names.filter((n) => wanted[n] !== base.instance[n]);
    if (!changed.length || !this.grids) return { ...base, seq: request.seq };
    const g = this.grids;
    const block = g.offsets[g.offsets.length - 1];
    const points = changed.map((name) => {
      const j = names.indexOf(name);
      const k = nearestPoint(g.values[j], wanted[name]);
      return { name, j, at: request.index * block + g.offsets[j] + k, value: g.values[j][k] };
    });
    const scale = g.scale[request.index];
    const shapAt = (at: number) => names.map((_, i) => g.shap[at * names.length + i] * scale);
    const instance = { ...base.instance };
    for (const p of points) instance[p.name] = p.value;
    const edited = names.filter((n) => instance[n] !== base.original[n]);
    const common = { ...base, seq: request.seq, instance, edited, lime: null, agreement: null };
    if (points.length === 1) {
      const at = points[0].at;
      const rule = ruleFor(this.data.surrogate, instance, g.rule[at]);
      return {
        ...common,
        prediction: g.prediction[at],
        shap: shapAt(at),
        rule,
        probabilities: null,
        predicted_label: null,
        quality: "exact",
        notice: this.data.grids?.shap_exact
          ? "Precomputed when this file was exported: the model's own output and SHAP values for this one-feature change. LIME is shown for the rows as they are."
          : "Precomputed when this file was exported: the model's own output for this one-feature change; its SHAP values are a cheaper permutation estimate. LIME is shown for the rows as they are.",
      };
    }
    // Two or more changes: add up each change's effect on its own.
    let prediction = base.prediction;
    const shap = [...base.shap];
    for (const p of points) {
      prediction += g.prediction[p.at] - base.prediction;
      shapAt(p.at).forEach((v, i) => (shap[i] += v - base.shap[i]));
    }
    if (this.data.schema.task !== "regression") prediction = Math.min(1, Math.max(0, prediction));
    return {
      ...common,
      prediction,
      shap,
      rule: ruleFor(this.data.surrogate, instance),
      probabilities: null,
      predicted_label: null,
      quality: "estimate",
      notice: `Estimate, not the model's output: ${points.length} features changed, composed from one-feature what-ifs precomputed at export time.`,
    };
  }
}

/** Renders an export page: the same panel, with an in-page model instead of a kernel. */
export async function renderExport(el: HTMLElement, data: ExportData, loadEngine?: LoadEngine): Promise<() => void> {
  const grids = data.grids ? await decodeGrids(data.grids) : null;
  const answers = new ExportAnswers(data, grids);
  const start = data.views[data.start];
  const state: WidgetModel = {
    _schema: data.schema,
    _surrogate: data.surrogate,
    _view: start,
    _global: data.global,
    feature: null,
    index: start.index,
    target: start.target,
    error: null,
  };
  const listeners = new Map<string, Set<() => void>>();
  const emit = (key: string) => listeners.get(`change:${key}`)?.forEach((cb) => cb());
  const model = {
    get: <K extends keyof WidgetModel>(key: K) => state[key],
    on: (event: string, cb: () => void) => {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)?.add(cb);
    },
    off: (event: string, cb: () => void) => listeners.get(event)?.delete(cb),
    set: <K extends keyof WidgetModel>(key: K, value: WidgetModel[K]) => {
      state[key] = value;
    },
    send: (message: RequestMessage | { type: string }) => {
      if (message.type !== "request") return; // nothing else to ask: it is all in the file
      // Answer asynchronously, as a kernel would.
      queueMicrotask(() => {
        state._view = answers.answer(message as RequestMessage);
        emit("_view");
      });
    },
  };
  if (!data.include_data) el.dataset.noData = "true";
  return renderPanel(model, el, { loadEngine, rowNumbers: data.rows });
}
