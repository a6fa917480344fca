// Small hand-made payloads for unit tests (payloads.fixture.ts holds real ones from Python).
import type { PanelMessage, PanelModel } from "../src/panel";
import type { AttributionInfo, ExplainerInfo, RequestMessage, Schema, SurrogateInfo, Value, View, WidgetModel } from "../src/types";

export const SHAP: ExplainerInfo = { name: "shap", title: "SHAP", view: "force", unit: "feature" };
export const LIME: ExplainerInfo = { name: "lime", title: "LIME", view: "weights", unit: "feature" };

export function schema(nFeatures = 4, names?: string[]): Schema {
  const featureNames = names ?? Array.from({ length: nFeatures }, (_, i) => `f${i}`);
  return {
    features: featureNames.map((name, i) => ({
      name,
      kind: i === 1 ? "integer" : "numeric",
      min: 0,
      max: 100,
      quantiles: [[0, 0], [0.05, 5], [0.25, 25], [0.5, 50], [0.75, 75], [0.95, 95], [1, 100]],
      categories: null,
      counts: null,
      missing: 0,
    })),
    task: "binary",
    classes: ["no", "yes"],
    targets: ["no", "yes"],
    n_rows: 10,
    has_y: true,
    explainers: [SHAP, LIME],
    surrogate: true,
  };
}

export function mixedSchema(): Schema {
  const base = schema(2);
  base.features.push(
    { name: "city", kind: "categorical", min: null, max: null, quantiles: [], categories: ["Lyon", "Paris"], counts: [3, 7], missing: 0 },
    { name: "owner", kind: "boolean", min: null, max: null, quantiles: [], categories: ["False", "True"], counts: [4, 6], missing: 0 },
  );
  return base;
}

export function surrogate(s: Schema): SurrogateInfo {
  const [f0, f1] = [s.features[0].name, s.features[1].name];
  const thresholds = s.features.map(() => [] as number[]);
  thresholds[0] = [40];
  thresholds[1] = [20];
  return {
    rules: [
      { id: 0, conditions: [{ feature: f0, j: 0, op: "<=", value: 40, missing: false, text: `${f0} <= 40` }], prediction: "no", terms: [], coverage: 0.6, samples: 60, text: "" },
      {
        id: 1,
        conditions: [
          { feature: f0, j: 0, op: ">", value: 40, missing: false, text: `${f0} > 40` },
          { feature: f1, j: 1, op: "<=", value: 20, missing: false, text: `${f1} <= 20` },
        ],
        prediction: "yes",
        terms: [],
        coverage: 0.4,
        samples: 40,
        text: "",
      },
    ],
    fidelity: 0.93,
    held_out: true,
    metric: "accuracy",
    complexity: 2,
    thresholds,
    family: "decision tree",
    curve: [
      { family: "decision tree", rules: 2, fidelity: 0.93, between: 0.9, validation: 0.92, frontier: true, chosen: true },
      { family: "decision tree", rules: 3, fidelity: 0.94, between: 0.9, validation: 0.92, frontier: false, chosen: false },
    ],
    reason: "the fewest rules within 0.005 of the best cross-validated accuracy with 95% confidence",
    sizes: [2, 3],
    recommended: 2,
  };
}

/** SHAP values alternating in sign and shrinking: f0 largest. */
export function shapOf(s: Schema, values?: number[]): AttributionInfo {
  const n = s.features.length;
  return {
    values: values ?? s.features.map((_, i) => (i % 2 ? -1 : 1) * (n - i) * 0.01),
    base: 0.5,
    quality: "exact",
    algorithm: "TreeSHAP (interventional, probability)",
    fallback: null,
    details: {},
  };
}

export function limeOf(s: Schema): AttributionInfo {
  return {
    values: s.features.map((_, i) => (i % 2 ? -1 : 1) * 0.02 * (i + 1)),
    base: null,
    quality: "exact",
    algorithm: "LIME (tabular, 5,000 samples, quartile bins)",
    fallback: null,
    details: { intercept: 0.4, score: 0.61, conditions: s.features.map((f) => `${f.name} <= 50.00`), filled: [] },
  };
}

export function valuesOf(s: Schema): Value[] {
  return s.features.map((f, i) => (f.kind === "categorical" ? "Paris" : f.kind === "boolean" ? true : 10 * (i + 1)));
}

export function view(s: Schema, patch: Partial<View> = {}): View {
  const values = valuesOf(s);
  const shap = shapOf(s, undefined);
  const sum = shap.values.reduce((a, b) => a + b, 0);
  return {
    seq: 0,
    index: 0,
    target: "yes",
    versus: null,
    quality: "exact",
    values,
    original: [...values],
    edited: [],
    prediction: 0.5 + sum,
    predicted_label: "yes",
    probabilities: [0.5 - sum, 0.5 + sum],
    y: "yes",
    attributions: [shap, limeOf(s)],
    agreement: [
      {
        reference: "shap",
        other: "lime",
        spearman: 0.9,
        top_k: 4,
        top_overlap: 1,
        sign_agreement: 1,
        signs_uncertain: 0,
        local_fit: 0.61,
        verdict: "agree",
        text: "SHAP and LIME agree on this row",
      },
    ],
    rule: { id: 1, met: [false, true] },
    counterfactual: null,
    pending: [],
    compute_ms: 3,
    ...patch,
  };
}

/** A stand-in for anywidget's model: get/on/off/send, with `set` to play Python's part. */
export class FakeModel implements PanelModel {
  /** Requests and export requests, in order. */
  sent: RequestMessage[] = [];
  /** Every message, in order. */
  messages: PanelMessage[] = [];
  /** What the panel asked for besides views: "global", "charts-engine", "features". */
  asked: string[] = [];
  private listeners = new Map<string, Set<(...args: any[]) => void>>();

  private state: WidgetModel;

  /** Its own copy of the schema: views of one widget share state keyed by its schema
   * object, and tests build several widgets from one schema. */
  constructor(state: WidgetModel) {
    this.state = { ...state, _schema: { ...state._schema } };
  }

  get<K extends keyof WidgetModel>(key: K): WidgetModel[K] {
    return this.state[key];
  }

  set<K extends keyof WidgetModel>(key: K, value: WidgetModel[K]): void {
    this.state[key] = value;
    for (const cb of this.listeners.get(`change:${key}`) ?? []) cb();
  }

  /** A custom message from Python. */
  message(content: unknown, buffers?: DataView[]): void {
    for (const cb of this.listeners.get("msg:custom") ?? []) cb(content, buffers);
  }

  on(event: string, cb: (...args: any[]) => void): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)?.add(cb);
  }

  off(event: string, cb: (...args: any[]) => void): void {
    this.listeners.get(event)?.delete(cb);
  }

  send(message: PanelMessage): void {
    this.messages.push(message);
    if (message.type === "request" || message.type === "export") this.sent.push(message as RequestMessage);
    else this.asked.push(message.type);
  }
}

export function model(s: Schema, v: View = view(s), withSurrogate = true): FakeModel {
  return new FakeModel({ _schema: s, _surrogate: withSurrogate ? surrogate(s) : null, _view: v, _progress: {}, index: v.index, target: v.target, error: null });
}

const q = (el: Element, id: string) => el.querySelector(`[data-testid="${id}"]`) as HTMLElement;

/** Test helpers over a rendered panel. */
export const panel = {
  q,
  card: (el: Element, name: string) => el.querySelector(`[data-testid="ow-explainer"][data-explainer="${name}"]`) as HTMLElement,
  slider: (el: Element, j: number) => q(el, "ow-sliders").querySelector(`.ow-slider[data-j="${j}"]`) as HTMLElement,
  range: (el: Element, j: number) => q(el, "ow-sliders").querySelector(`.ow-slider[data-j="${j}"] input[type=range]`) as HTMLInputElement,
  order: (el: Element) => [...q(el, "ow-sliders").querySelectorAll<HTMLElement>(".ow-slider")].map((r) => Number(r.dataset.j)),
  /** Chooses the option a select shows as `text`, as a user does. */
  pick: (select: HTMLSelectElement, text: string) => {
    select.selectedIndex = [...select.options].findIndex((o) => o.textContent === text);
    select.dispatchEvent(new Event("change"));
  },
};
