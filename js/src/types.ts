// The payloads Python syncs to the frontend. Mirrors optiml_widgets/session.py and
// optiml_widgets/widget.py: change both sides together.

export type FeatureKind = "numeric" | "integer" | "categorical" | "boolean";
export type Value = number | string | boolean | null;

export interface FeatureInfo {
  name: string;
  kind: FeatureKind;
  /** Data range of numeric/integer features; null for categorical/boolean. */
  min: number | null;
  max: number | null;
  /** [probability, value] pairs, e.g. [[0, 1.2], [0.05, 2.0], …, [1, 9.9]]. */
  quantiles: [number, number][];
  /** Categories as display strings (categorical and boolean: ["False", "True"]). */
  categories: string[] | null;
  counts: number[] | null;
  /** Share of missing values in X, 0..1. */
  missing: number;
}

export interface Schema {
  features: FeatureInfo[];
  task: "binary" | "multiclass" | "regression";
  /** Class labels as display strings; null for regression. */
  classes: string[] | null;
  /** Names of the explainable outputs: the classes, or ["prediction"]. */
  targets: string[];
  n_rows: number;
  has_y: boolean;
  /** Human-readable name of the SHAP algorithm that ran, e.g. "TreeSHAP (interventional, probability)". */
  shap_algorithm: string;
  /** Subset of ["shap", "lime", "surrogate"] that is enabled. */
  explainers: string[];
}

export interface Condition {
  feature: string;
  op: "<=" | ">" | "==" | "!=" | "in";
  value: number | string | boolean | string[];
  /** Ready-to-show text in original units, e.g. "income > 52000" or "city in {Paris, Lyon}". */
  text: string;
}

/** A linear term of a rule (regression): adds `weight * (x[feature] - center) / per`. */
export interface LinearTermInfo {
  feature: string;
  weight: number;
  per: number;
  center: number;
  /** "+0.8 per 1000 of income". */
  text: string;
}

export interface RuleInfo {
  id: number;
  conditions: Condition[];
  /** A class, or a value (with terms: the value at the rule's average row). */
  prediction: number | string;
  terms: LinearTermInfo[];
  coverage: number;
  samples: number;
  /** "IF … THEN …" line. */
  text: string;
}

export interface SurrogateInfo {
  rules: RuleInfo[];
  /** Held-out agreement with the model: accuracy (classification) or R² (regression). */
  fidelity: number;
  metric: "accuracy" | "r2";
  complexity: number;
  /** Numeric thresholds the rules use, per feature (slider ticks). */
  thresholds: Record<string, number[]>;
  family: string;
  /** Held-out fidelity for every family and number of rules tried; `chosen` marks the rule set. */
  curve: { family: string; rules: number; fidelity: number; between: number | null; validation: number; chosen: boolean }[];
}

/** The smallest change to another outcome, checked with the model (optiml_widgets/counterfactual.py). */
export interface CounterfactualInfo {
  changes: Record<string, Value>;
  rule: number;
  outcome_before: Value;
  outcome_after: Value;
  prediction: number;
  predicted_label: string | null;
  /** Whether the real model gives the other outcome too. */
  model_agrees: boolean;
  /** Regressors: the median prediction over X that splits "high" from "low". */
  median?: number | null;
  text: string;
}

export interface LimeInfo {
  /** Aligned with schema.features. */
  weights: number[];
  /** LIME's condition text per feature ("age <= 35.00"), aligned with schema.features. */
  conditions: (string | null)[];
  intercept: number;
  /** R² of LIME's local model. */
  score: number;
}

export interface Agreement {
  /** Spearman rank correlation of |SHAP| and |LIME| over the top features (null if undefined). */
  spearman: number | null;
  top_k: number;
  /** Share of the top_k SHAP features that are also in LIME's top_k. */
  top_overlap: number;
  /** Share of the top_k SHAP features whose SHAP and LIME signs agree. */
  sign_agreement: number;
}

export interface View {
  /** Sequence number of the request this view answers (or a Python-side bump). */
  seq: number;
  index: number;
  target: string;
  /**
   * "exact" = full explanation; "fast" = quick estimate shown during a drag (fewer LIME
   * samples); "estimate" = an export's composition of one-feature what-ifs, not the model's output.
   */
  quality: "exact" | "fast" | "estimate";
  instance: Record<string, Value>;
  original: Record<string, Value>;
  edited: string[];
  prediction: number;
  predicted_label: string | null;
  probabilities: Record<string, number> | null;
  y: Value;
  base_value: number | null;
  /** Aligned with schema.features; empty when SHAP is disabled. */
  shap: number[];
  lime: LimeInfo | null;
  agreement: Agreement | null;
  /** The surrogate rule that fires and, per condition, whether the current values meet it. */
  rule: { id: number; met: boolean[] } | null;
  /** Exact views only: the smallest change to another outcome, or null. */
  counterfactual?: CounterfactualInfo | null;
  compute_ms: number;
  /** Shown above the panel when set (e.g. what an exported view is made of). */
  notice?: string;
  /** How to name the row when `index` is not a row of X (an export renumbers its rows). */
  label?: string;
}

/**
 * The model's output along each numeric feature's slider, the rest of the instance of view
 * `seq` fixed: the frontend's instant estimate while a slider is dragged.
 */
export interface Curves {
  seq: number;
  features: string[];
  /** Start of each feature's points in `values`/`prediction`; last entry = total. */
  offsets: number[];
  values: number[];
  /** float32 little-endian, the explained target's output at each point. */
  prediction: DataView;
}

/** The global views (optiml_widgets/charts.py): computed once, in the background. */
export interface GlobalInfo {
  state: "idle" | "running" | "ready" | "error";
  /** Rows explained so far, of `total`. */
  done: number;
  total: number;
  /** What the charts show ("SHAP over a random sample of 1,000 of 100,000 rows"), or the error. */
  message: string | null;
  target?: string;
  /** Vega-Lite specs by chart name: importance, beeswarm, dependence, fidelity. */
  specs?: Record<string, object>;
  /** The specs' datasets, sent once however many charts use them. */
  datasets?: Record<string, unknown[]>;
}

/** Asks Python to compute the global views, or for the chart engine (js/src/vega.ts). */
export interface GlobalRequest {
  type: "global" | "charts-engine";
}

/** Synced traits of ExplainerWidget. */
export interface WidgetModel {
  _schema: Schema;
  _surrogate: SurrogateInfo | null;
  _view: View;
  _curves?: Curves | null;
  _global?: GlobalInfo | null;
  /** The feature selected in the global views (its dependence plot is shown). */
  feature?: string | null;
  index: number;
  target: string;
  error: string | null;
}

/** Asks Python for the standalone HTML export; the answer is a custom message with the file as a buffer. */
export interface ExportRequest {
  type: "export";
}

/** Python's answer to an ExportRequest (the HTML travels in the message's first buffer). */
export interface ExportReply {
  type: "export";
  filename: string;
  error?: string;
}

/** The message the frontend sends most: the whole wanted state, newest wins. */
export interface RequestMessage {
  type: "request";
  seq: number;
  index: number;
  target: string;
  /** The row's what-if edits; absent when changing rows (Python keeps each row's edits). */
  edits?: Record<string, Value>;
  fast: boolean;
}

/** What an HTML export carries (optiml_widgets/export.py). */
export interface PackedArray {
  dtype: "float32" | "int16";
  shape: number[];
  /** base64 of gzip of the raw little-endian bytes. */
  data: string;
}

export interface ExportGrids {
  /** False when the grid's SHAP values come from the permutation explainer's cheaper setting. */
  shap_exact: boolean;
  /** Start of each feature's grid points within a row's block; last entry = block size. */
  offsets: number[];
  /** Grid values per feature, as the sliders show them. */
  values: Value[][];
  prediction: PackedArray;
  shap: PackedArray;
  shap_scale: PackedArray;
  rule: PackedArray;
}

export interface ExportData {
  schema: Schema;
  surrogate: SurrogateInfo | null;
  views: View[];
  rows: number[];
  start: number;
  include_data: boolean;
  grids: ExportGrids | null;
  /** The global views for the exported target; rows are rows of X (see `rows`). */
  global: GlobalInfo | null;
}
