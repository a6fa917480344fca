// The in-page model of an HTML export: it serves the panel the same interface as a live
// kernel, answering requests from data precomputed at export time (no network, no kernel).
import type { LoadEngine } from "./charts";
import { changedPositions, ruleFor } from "./estimate";
import { formatValue } from "./format";
import { type PanelMessage, renderPanel } from "./panel";
import type { AttributionInfo, ExportData, ExportGrids, PackedArray, RequestMessage, Value, View, WidgetModel } from "./types";

interface Grids {
  offsets: number[][];
  /** Where each row's block starts in the arrays (the blocks one after another). */
  starts: number[];
  values: Value[][];
  prediction: Float64Array;
  shap: Int16Array;
  scale: Float32Array;
  rule: Int16Array;
}

async function unpack(packed: PackedArray): Promise<ArrayBuffer> {
  const bytes = Uint8Array.from(atob(packed.data), (c) => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

export async function decodeGrids(grids: ExportGrids): Promise<Grids> {
  const [prediction, shap, scale, rule] = await Promise.all([unpack(grids.prediction), unpack(grids.shap), unpack(grids.shap_scale), unpack(grids.rule)]);
  const starts = [0];
  for (const offsets of grids.offsets) starts.push(starts[starts.length - 1] + offsets[offsets.length - 1]);
  return {
    offsets: grids.offsets,
    starts,
    values: grids.values,
    prediction: new Float64Array(prediction),
    shap: new Int16Array(shap),
    scale: new Float32Array(scale),
    rule: new Int16Array(rule),
  };
}

/** The grid point of a feature nearest to a value (categories: the same one, by its label,
 *  which names one category: by its text, 1 and "1" were one; -1 where the grid lacks it,
 *  for categories have no nearest one). */
export function nearestPoint(values: Value[], value: Value): number {
  if (typeof value !== "number") return values.indexOf(value);
  let best = 0;
  values.forEach((v, k) => {
    if (Math.abs((v as number) - value) < Math.abs((values[best] as number) - value)) best = k;
  });
  return best;
}

/** Answers what-if requests the way the kernel would, from the export's data. */
export class ExportAnswers {
  /** Each row's edits, by the row's place in the file. */
  private readonly edits = new Map<number, [number, Value][]>();
  /** Where the grids' additive values go: the first "force" explainer. */
  private readonly additive: number;

  constructor(
    private readonly data: ExportData,
    private readonly grids: Grids | null,
  ) {
    this.additive = data.schema.explainers.findIndex((e) => e.view === "force");
  }

  /** What the SHAP values along feature `j`'s grid of exported row `index` are. */
  private shapWords(index: number, j: number): string {
    if (this.additive < 0) return ""; // no SHAP in the file: nothing to say of it
    const grids = this.data.grids;
    if (grids && !grids.shap_exact) return "its SHAP values are a cheaper permutation estimate";
    const computed = grids?.shap_exact_features?.[index];
    if (computed && !computed.includes(j)) {
      return "its SHAP values are estimated, the output's change credited to the moved feature (the file computed them for this row's most important features)";
    }
    return "its SHAP values too";
  }

  /** The row's own values of numeric features (as exported, and before its edits) are
   *  points of their grids too, their views in the file: a wanted value nearer to one of
   *  them than to any grid point is set to it (going back to where a slider started shows
   *  the row, not the nearest quantile). The features moved so, with what was asked. */
  private snapToOwn(index: number, base: View, wanted: Value[]): { j: number; value: Value; asked: Value }[] {
    const g = this.grids;
    if (!g) return [];
    const offsets = g.offsets[index];
    const moved: { j: number; value: Value; asked: Value }[] = [];
    wanted.forEach((asked, j) => {
      if (typeof asked !== "number" || !(offsets[j + 1] > offsets[j])) return;
      const own = [base.values[j], base.original[j]].filter((v): v is number => typeof v === "number" && Number.isFinite(v));
      if (!own.length || own.includes(asked)) return;
      const mine = own.reduce((a, b) => (Math.abs(b - asked) < Math.abs(a - asked) ? b : a));
      const point = g.values[j][nearestPoint(g.values[j], asked)];
      if (typeof point === "number" && Math.abs(point - asked) < Math.abs(mine - asked)) return;
      wanted[j] = mine;
      moved.push({ j, value: mine, asked });
    });
    return moved;
  }

  /** "Shown at the nearest value precomputed…" for the values moved to a point of the file
   *  (none that reads as what was asked). */
  private snappedText(moved: { j: number; value: Value; asked: Value }[]): string {
    const features = this.data.schema.features;
    const shown = moved.filter((p) => formatValue(p.value, features[p.j]) !== formatValue(p.asked, features[p.j]));
    return shown.length
      ? `Shown at the nearest value precomputed in this file: ${shown.map((p) => `${features[p.j].name} = ${formatValue(p.value, features[p.j])} (not ${formatValue(p.asked, features[p.j])})`).join(", ")}. `
      : "";
  }

  /** The titles of the explainers a view of the file holds no values of, where the row's own view has them. */
  private othersText(view: View, base: View): string {
    const titles = this.data.schema.explainers.filter((_, i) => view.attributions[i] === null && base.attributions[i] !== null).map((e) => e.title);
    return titles.length ? ` ${titles.join(" and ")} ${titles.length === 1 ? "is" : "are"} shown for the rows as they are.` : "";
  }

  answer(request: RequestMessage): View {
    const base = this.data.views[request.index];
    if (request.edits) this.edits.set(request.index, request.edits);
    const wanted = [...base.original];
    const rowEdits = this.edits.get(request.index) ?? base.edited.map((j): [number, Value] => [j, base.values[j]]);
    for (const [j, value] of rowEdits) if (j >= 0 && j < wanted.length) wanted[j] = value;
    // The counterfactual row of a view of the file ("Try it"): its exact view, in the file
    // too (the nearest grid point could contradict the hint). Read with care: a file made
    // by an older version has no such list.
    const reached = (this.data.counterfactual_views?.[request.index] ?? []).find((v) => !changedPositions(wanted, v.values).length);
    if (reached) {
      const notice = `Precomputed when this file was exported: the model's own output for the suggested change.${this.othersText(reached, base)}`;
      return { ...reached, seq: request.seq, notice: notice.trim() };
    }
    const ownMoves = this.snapToOwn(request.index, base, wanted);
    // A view of the file as it is, but for a note on values moved to the row's own.
    const asIs = (view: View): View => {
      const note = this.snappedText(ownMoves);
      return { ...view, seq: request.seq, ...(note ? { notice: note.trim() } : {}) };
    };
    if (!changedPositions(wanted, base.values).length) return asIs(base);
    // A row exported with what-if edits, reset: its own view, also in the file.
    // Read with care: a notebook saved by an older version has neither list.
    const unedited = this.data.unedited?.[request.index];
    if (unedited && !changedPositions(wanted, unedited.values).length) return asIs(unedited);
    // ... with one of its edits undone (a feature's own reset): that view, in the file too.
    const undone = new Map(this.data.one_undone?.[request.index] ?? []);
    const exactly = [...undone.values()].find((v) => !changedPositions(wanted, v.values).length);
    if (exactly) return asIs(exactly);
    if (!this.grids) {
      // No what-ifs in this file: the row stays as it is, and the panel says why.
      const why = this.data.include_data
        ? "What-ifs need a kernel: run the notebook, or export with w.to_html(), which precomputes them."
        : "This file was exported without the rows' values, so it holds no what-ifs.";
      return { ...base, seq: request.seq, notice: why };
    }
    const g = this.grids;
    const n = this.data.schema.features.length;
    const features = this.data.schema.features;
    // The file sweeps the row as exported and, for a row exported with edits, the row as it
    // is too: the changes count from the nearer of the two (after a reset, one slider moved
    // is one change of the row as it is, the model's own output; from the edited row it
    // was an estimate of several). Read with care: an older file has the first only.
    const uneditedBlock = this.data.grids?.unedited_block?.[request.index];
    const fromOwn =
      unedited && typeof uneditedBlock === "number" && changedPositions(wanted, unedited.values).length < changedPositions(wanted, base.values).length;
    const from = fromOwn ? unedited : base;
    const block = fromOwn ? uneditedBlock : request.index;
    const resets = fromOwn ? new Map<number, View>() : undone;
    const changed = changedPositions(wanted, from.values);
    const offsets = g.offsets[block];
    // With many features the file holds what-ifs for each row's most important ones only:
    // a change to another stays undone, and the view says so.
    const withGrid = (j: number) => offsets[j + 1] > offsets[j];
    // A category outside the grid's (the most common ones) has no what-if in the file:
    // categories have no nearest one, and another's output would be shown as this one's.
    const pointOf = (j: number) => nearestPoint(g.values[j], wanted[j]);
    // A feature set back to the row's own value, of a row exported with edits: its effect
    // is that of the view with its edit undone (in the file), not of the nearest grid point.
    const resetOf = (j: number) => (changedPositions([wanted[j]], [from.original[j]]).length ? undefined : resets.get(j));
    const missing = changed.filter((j) => !resetOf(j) && !withGrid(j));
    const lacking = changed.filter((j) => !resetOf(j) && withGrid(j) && pointOf(j) < 0);
    const absent =
      (missing.length
        ? `This file has no what-ifs for ${missing.map((j) => features[j].name).join(", ")} in this row (it holds them for ${offsets.filter((_, j) => j < n && withGrid(j)).length} of its features): run the notebook to change ${missing.length === 1 ? "it" : "them"}. `
        : "") +
      lacking
        .map((j) => {
          const f = features[j];
          const held = f.categories ? ` (it holds the ${g.values[j].length} most common of its ${f.categories.length} categories)` : "";
          return `This file has no what-if for ${f.name} = ${formatValue(wanted[j], f)}${held}: run the notebook to see it. `;
        })
        .join("");
    const scale = g.scale[block];
    const shapAt = (at: number) => Array.from({ length: n }, (_, i) => g.shap[at * n + i] * scale);
    const points = changed
      .filter((j) => resetOf(j) || (withGrid(j) && pointOf(j) >= 0))
      .map((j) => {
        const reset = resetOf(j);
        if (reset) return { j, value: from.original[j], reset, prediction: reset.prediction, shap: () => reset.attributions[this.additive]?.values ?? [] };
        const k = pointOf(j);
        const at = g.starts[block] + offsets[j] + k;
        return { j, value: g.values[j][k], at, prediction: g.prediction[at], shap: () => shapAt(at) };
      });
    // The file holds each feature's what-ifs at its grid points only: a value between them
    // is answered at the nearest one, and the view says so (the slider shows that value).
    const snapped = this.snappedText([...ownMoves, ...points.map((p) => ({ j: p.j, value: p.value, asked: wanted[p.j] }))]);
    if (!points.length) return { ...from, seq: request.seq, notice: `${absent}${snapped}` };
    if (points.length === 1 && points[0].reset) return { ...points[0].reset, seq: request.seq, notice: `${absent}${snapped}` };
    const values = [...from.values];
    for (const p of points) values[p.j] = p.value;
    const titles = this.data.schema.explainers.filter((_, i) => i !== this.additive).map((e) => e.title);
    const others = titles.length ? ` ${titles.join(" and ")} ${titles.length === 1 ? "is" : "are"} shown for the rows as they are.` : "";
    // Only the additive explainer has precomputed what-ifs; the others stay out of them.
    const attributions = (additive: number[]) =>
      from.attributions.map((a, i): AttributionInfo | null => (i === this.additive && a ? { ...a, values: additive } : null));
    const common = {
      ...from,
      seq: request.seq,
      values,
      edited: changedPositions(values, from.original),
      agreement: [],
      counterfactual: undefined,
      pending: [],
      probabilities: null,
      predicted_label: null,
    };
    const [first] = points;
    if (points.length === 1 && first.at !== undefined) {
      const shap = this.shapWords(block, first.j);
      return {
        ...common,
        prediction: first.prediction,
        attributions: attributions(first.shap()),
        rule: ruleFor(this.data.surrogate, values, g.rule[first.at]),
        quality: "exact",
        notice: `${absent}${snapped}Precomputed when this file was exported: the model's own output for this one-feature change${shap ? `; ${shap}` : ""}.${others}`,
      };
    }
    const estimate = composeChanges(from, this.additive, points, this.data.schema.task !== "regression");
    return {
      ...common,
      prediction: estimate.prediction,
      attributions: attributions(estimate.additive),
      rule: ruleFor(this.data.surrogate, values),
      quality: "estimate",
      notice: `${absent}${snapped}Estimate, not the model's output: ${points.length} features changed, composed from one-feature what-ifs precomputed at export time${this.additive >= 0 ? "; SHAP credits each change's effect to the feature changed" : ""}.`,
    };
  }
}

/**
 * Two or more changes from a view, each with the model's output for it alone: the
 * estimate adds up each change's effect. Its additive explanation is the view's own, each
 * change's effect credited to the feature changed (a one-feature sweep's values of the other
 * features answer for that change alone: adding them up credited unmoved features). A
 * probability stays in [0, 1] (a contrast of two, in [-1, 1]); where that bound cuts the
 * sum, the credits shrink with it, so that the explanation adds up to the output shown.
 */
export function composeChanges(
  from: View,
  additive: number,
  points: { j: number; prediction: number }[],
  probability: boolean,
): { prediction: number; additive: number[] } {
  const own = additive >= 0 ? from.attributions[additive] : null;
  const effects = points.map((p) => p.prediction - from.prediction);
  const total = effects.reduce((a, b) => a + b, 0);
  let prediction = from.prediction + total;
  if (probability) prediction = Math.min(1, Math.max(from.versus ? -1 : 0, prediction));
  const share = total !== 0 ? (prediction - from.prediction) / total : 1;
  const values = own ? [...own.values] : new Array<number>(from.values.length).fill(0);
  points.forEach((p, i) => (values[p.j] += effects[i] * share));
  return { prediction, additive: values };
}

/** Renders an export page: the same panel, with an in-page model instead of a kernel. */
export async function renderExport(el: HTMLElement, data: ExportData, loadEngine?: LoadEngine): Promise<() => void> {
  const grids = data.grids ? await decodeGrids(data.grids) : null;
  const answers = new ExportAnswers(data, grids);
  const start = data.views[data.start];
  const state: WidgetModel = {
    _schema: { ...data.schema }, // each call its own widget (views share state by schema)
    _surrogate: data.surrogate,
    _view: start,
    _global: data.global ?? { state: "idle", done: 0, total: 0, message: "The global views were not computed when this file was made." },
    _progress: {},
    feature: data.feature ?? null,
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
    send: (message: PanelMessage) => {
      if (message.type !== "request") return; // nothing else to ask: it is all in the file
      // Answer asynchronously, as a kernel would.
      queueMicrotask(() => {
        state._view = answers.answer(message);
        emit("_view");
      });
    },
  };
  if (!data.include_data) el.dataset.noData = "true";
  // A key steps between the grid's points and the shown row's own values (as exported and
  // before its edits), which the file answers too: a step back lands where it started.
  const stops = (j: number) => {
    if (!grids?.values[j]?.length) return null;
    const row = data.views[state._view.index];
    const points = [...grids.values[j], row?.values[j], row?.original[j]];
    const values = points.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    return values.length ? [...new Set(values)].sort((a, b) => a - b) : null;
  };
  return renderPanel(model, el, { loadEngine, rowNumbers: data.rows, valuesHidden: !data.include_data, sliderStops: stops });
}
