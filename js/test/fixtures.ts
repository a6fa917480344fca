import type { PanelModel } from "../src/panel";
import type { RequestMessage, Schema, SurrogateInfo, View, WidgetModel } from "../src/types";

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
    shap_algorithm: "TreeSHAP (interventional, probability)",
    explainers: ["shap", "lime", "surrogate"],
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
  const f0 = s.features[0].name;
  return {
    rules: [
      { id: 0, conditions: [{ feature: f0, op: "<=", value: 40, text: `${f0} <= 40` }], prediction: "no", terms: [], coverage: 0.6, samples: 60, text: "" },
      {
        id: 1,
        conditions: [
          { feature: f0, op: ">", value: 40, text: `${f0} > 40` },
          { feature: s.features[1].name, op: "<=", value: 20, text: `${s.features[1].name} <= 20` },
        ],
        prediction: "yes",
        terms: [],
        coverage: 0.4,
        samples: 40,
        text: "",
      },
    ],
    fidelity: 0.93,
    metric: "accuracy",
    complexity: 2,
    thresholds: { [f0]: [40], [s.features[1].name]: [20] },
    family: "decision tree",
    curve: [
      { family: "decision tree", rules: 2, fidelity: 0.93, between: 0.9, validation: 0.92, chosen: true },
      { family: "decision tree", rules: 3, fidelity: 0.94, between: 0.9, validation: 0.92, chosen: false },
    ],
  };
}

export function view(s: Schema, patch: Partial<View> = {}): View {
  const n = s.features.length;
  const instance = Object.fromEntries(s.features.map((f, i) => [f.name, f.kind === "categorical" ? "Paris" : f.kind === "boolean" ? true : 10 * (i + 1)]));
  const shap = s.features.map((_, i) => (i % 2 ? -1 : 1) * (n - i) * 0.01);
  const sum = shap.reduce((a, b) => a + b, 0);
  return {
    seq: 0,
    index: 0,
    target: "yes",
    quality: "exact",
    instance,
    original: { ...instance },
    edited: [],
    prediction: 0.5 + sum,
    predicted_label: "yes",
    probabilities: { no: 0.5 - sum, yes: 0.5 + sum },
    y: "yes",
    base_value: 0.5,
    shap,
    lime: {
      weights: s.features.map((_, i) => (i % 2 ? -1 : 1) * 0.02 * (i + 1)),
      conditions: s.features.map((f) => `${f.name} <= 50.00`),
      intercept: 0.4,
      score: 0.61,
    },
    agreement: { spearman: 0.9, top_k: 4, top_overlap: 1, sign_agreement: 1 },
    rule: { id: 1, met: [false, true] },
    compute_ms: 3,
    ...patch,
  };
}

/** A stand-in for anywidget's model: get/on/off/send, with `set` to play Python's part. */
export class FakeModel implements PanelModel {
  sent: RequestMessage[] = [];
  /** What the panel asked for besides views: "global", "charts-engine". */
  asked: string[] = [];
  private listeners = new Map<string, Set<() => void>>();

  constructor(private state: WidgetModel) {}

  get<K extends keyof WidgetModel>(key: K): WidgetModel[K] {
    return this.state[key];
  }

  set<K extends keyof WidgetModel>(key: K, value: WidgetModel[K]): void {
    this.state[key] = value;
    for (const cb of this.listeners.get(`change:${key}`) ?? []) cb();
  }

  on(event: string, cb: () => void): void {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event)?.add(cb);
  }

  off(event: string, cb: () => void): void {
    this.listeners.get(event)?.delete(cb);
  }

  send(message: RequestMessage | { type: string }): void {
    if (message.type === "request" || message.type === "export") this.sent.push(message as RequestMessage);
    else this.asked.push(message.type);
  }
}

export function model(s: Schema, v: View = view(s), withSurrogate = true): FakeModel {
  return new FakeModel({ _schema: s, _surrogate: withSurrogate ? surrogate(s) : null, _view: v, index: v.index, target: v.target, error: null });
}
