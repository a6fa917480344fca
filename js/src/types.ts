// The payloads Python syncs to the frontend: optiml_widgets/payloads.py builds every one of
// them. tests/test_contract.py writes real payloads into a TypeScript file that tsc checks
// against these types, so a field added, removed or renamed on one side fails the tests.
//
// Names of features, classes and categories are data: features are addressed by their
// position in `Schema.features` (lists aligned with it), never as keys of a plain object.

export type FeatureKind = "numeric" | "integer" | "categorical" | "boolean";
export type Value = number | string | boolean | null;

export interface FeatureInfo {
  name: string;
  kind: FeatureKind;
  /** Data range of numeric/integer features; null for categorical/boolean (and in an export without data). */
  min: number | null;
  max: number | null;
  /** [probability, value] pairs, e.g. [[0, 1.2], [0.05, 2.0], …, [1, 9.9]]. */
  quantiles: number[][];
  /** Categories as display strings (categorical and boolean: ["False", "True"]). */
  categories: string[] | null;
  counts: number[] | null;
  /** Share of missing values in X, 0..1. */
  missing: number;
  /**
   * True when only the name and kind were sent (wide data: the range, quantiles and
   * categories of features not shown yet); ask for the rest with a FeatureRequest.
   */
  partial?: boolean;
}

/** Asks Python for the full FeatureInfo of some features (wide data: a slider about to show). */
export interface FeatureRequest {
  type: "features";
  features: number[];
}

/** Python's answer: [position, FeatureInfo] pairs. */
export interface FeatureReply {
  type: "features";
  features: [number, FeatureInfo][];
}

/** How the panel draws one local explainer (optiml_widgets/explainers/base.py). */
export interface ExplainerInfo {
  /** Registry name, as in `explainers=`: "shap", "lime", … */
  name: string;
  /** Shown in the panel: "SHAP". */
  title: string;
  /** "force": additive values from a base to the prediction; "weights": signed bars of a local model. */
  view: "force" | "weights";
  unit: "feature" | "token";
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
  /** The chosen local explainers, in the order the panel shows them. */
  explainers: ExplainerInfo[];
  /** Whether a global surrogate is (being) fit. */
  surrogate: boolean;
}

export interface Condition {
  feature: string;
  /** Position of the feature in Schema.features. */
  j: number;
  op: "<=" | ">" | "==" | "!=" | "in";
  value: number | string | boolean | (number | string | boolean | null)[] | null;
  /** Whether a missing value meets it (it counts as the surrogate's fill value). */
  missing: boolean;
  /** Ready-to-show text in original units, e.g. "income > 52000", "city in {Paris, Lyon}" or
   * "bmi <= 0.017 or missing". */
  text: string;
}

/** A term of a rule (regression), `fill` for a missing x[j]: linear, it adds
 * `weight * (x[j] - center) / per`; a step (`above` set), `weight` where x[j] > above; a
 * step of several conditions (`when` not empty), `weight` where all of them hold. */
export interface LinearTermInfo {
  feature: string;
  j: number;
  weight: number;
  per: number;
  center: number;
  fill: number;
  above: number | null;
  /** A leaf of a sum of trees: all must hold, a missing value counting as its `when_fill`. */
  when: Condition[];
  when_fill: number[];
  /** In every rule with this weight (a linear term counts from each rule's own `center`). */
  shared: boolean;
  /** "+0.8 per 1000 of income", "+0.3 if lpi > 4.2", "+0.3 if lpi > 4.2 and disea <= 10". */
  text: string;
}

export interface RuleInfo {
  id: number;
  conditions: Condition[];
  /** A class, or a value (with terms: the value at the rule's average row). */
  prediction: number | string | boolean | null;
  terms: LinearTermInfo[];
  /** A binary classifier's score rule: [first, second] class. `prediction` is then the
   * score of the second class at the rule's average row; a row's class is the second where
   * its score (with the terms) is above 0.5. Null otherwise. */
  classes?: [Value, Value] | null;
  coverage: number;
  samples: number;
  /** The scale `prediction` is written at (formatNumber's), where its own digits would not
   * tell it from another rule's value; null (or absent): its own. */
  scale?: number | null;
  /** "IF … THEN …" line. */
  text: string;
}

export interface CurvePoint {
  family: string;
  rules: number;
  /** Held-out fidelity on real rows. */
  fidelity: number;
  /** Held-out fidelity on samples drawn near those rows. */
  between: number | null;
  validation: number;
  /** The best cross-validated of its size, better than every smaller size: the chart's line. */
  frontier: boolean;
  chosen: boolean;
  /** The point cross-validation chose (absent in payloads of older versions). */
  recommended?: boolean;
}

export interface SurrogateInfo {
  rules: RuleInfo[];
  /** Held-out agreement with the model: accuracy (classification) or R² (regression). */
  fidelity: number;
  /** False: X had too few rows (under 10) to hold any out; `fidelity` is then measured on
   * samples drawn near its rows. */
  held_out: boolean;
  metric: "accuracy" | "r2";
  complexity: number;
  /** Numeric thresholds the rules use, per feature position (slider ticks). */
  thresholds: number[][];
  family: string;
  /** Held-out fidelity for every family and number of rules tried; `chosen` marks the rule set. */
  curve: CurvePoint[];
  /** Why this number of rules, in words ("the fewest rules whose cross-validated accuracy …"). */
  reason: string;
  /** The numbers of rules the user can pick instead (points of the curve). */
  sizes: number[];
  /** The number of rules cross-validation recommends. */
  recommended: number;
}

/** Asks Python for the surrogate of another size (points of its curve); `_surrogate` follows. */
export interface SurrogateSizeRequest {
  type: "surrogate-size";
  rules: number;
  /** The family of a clicked point of the fidelity curve (several have that many rules). */
  family?: string;
}

/** The smallest change to another outcome, checked with the model (optiml_widgets/counterfactual.py). */
export interface CounterfactualInfo {
  /** [feature position, new value] pairs. */
  changes: [number, Value][];
  rule: number;
  outcome_before: Value;
  outcome_after: Value;
  prediction: number;
  predicted_label: string | null;
  /** Whether the real model gives the other outcome too. */
  model_agrees: boolean;
  /** Regressors: the median prediction over X that splits "high" from "low". */
  median: number | null;
  /** Classifiers: the model's probability of its class after the change. */
  probability: number | null;
  /** The values are those of the nearest real rows the model gives that outcome: it
   * followed none of the rules' changes (`rule` is where the change lands). */
  borrowed: boolean;
  text: string;
}

/** What an explainer knows beyond its values (LIME: its local linear model). */
export interface AttributionDetails {
  /** LIME: the local model's intercept and R². */
  intercept?: number | null;
  score?: number | null;
  /** LIME's condition text per feature ("age <= 35.00"), aligned with Schema.features; null in an export without data. */
  conditions?: (string | null)[] | null;
  /** Features whose missing value was filled before explaining (LIME cannot sample around a gap). */
  filled?: string[];
  /** LIME (exact views): each weight's standard error from its sampling; null where the feature is not in its model. */
  errors?: (number | null)[];
}

/** One explainer's attribution of the explained output, aligned with Schema.features. */
export interface AttributionInfo {
  values: number[];
  /** Where additive values start (SHAP's base value); null for a local model's weights. */
  base: number | null;
  quality: "exact" | "fast";
  /** What ran: "TreeSHAP (interventional, probability)". */
  algorithm: string;
  /** Why a faster algorithm did not run, or null. */
  fallback: string | null;
  details: AttributionDetails;
}

export interface Agreement {
  /** The additive explainer compared against (SHAP). */
  reference: string;
  other: string;
  /** Spearman rank correlation over the union of both top-k (null if undefined). */
  spearman: number | null;
  top_k: number;
  /** Share of the reference's top_k features also in the other's top_k. */
  top_overlap: number;
  /** Share of the reference's top_k features whose signs agree, among those whose sign the other can tell. */
  sign_agreement: number;
  /** Of the reference's top_k, how many the other's sampling error leaves without a sign (not compared). */
  signs_uncertain: number;
  /** The other explainer's own local fit (LIME's R²), when it has one. */
  local_fit: number | null;
  verdict: "agree" | "disagree" | "unreliable";
  /** The verdict in words, local fit included. */
  text: string;
}

export interface RuleMatch {
  id: number;
  /** Per condition of the rule, whether the current values meet it. */
  met: boolean[];
}

export interface View {
  /** Sequence number of the request this view answers (or a Python-side bump). */
  seq: number;
  index: number;
  target: string;
  /** The class the target is contrasted with (the attributions and prediction are of P(target) − P(versus)), or null. */
  versus: string | null;
  /**
   * "exact" = full explanation; "fast" = quick estimate shown during a drag; "estimate" = an
   * export's composition of one-feature what-ifs, not the model's output.
   */
  quality: "exact" | "fast" | "estimate";
  /** The instance (the row plus edits), aligned with Schema.features. */
  values: Value[];
  /** The row of X as it is, aligned with Schema.features. */
  original: Value[];
  /** Positions of the edited features. */
  edited: number[];
  /** The explained output: P(target), or with `versus` P(target) − P(versus), or a regressor's value. */
  prediction: number;
  predicted_label: string | null;
  /** Class probabilities aligned with Schema.targets; null for regression. */
  probabilities: number[] | null;
  y: Value;
  /** Aligned with Schema.explainers; null while that explainer's result is still coming. */
  attributions: (AttributionInfo | null)[];
  /** Each other explainer against the additive one. */
  agreement: Agreement[];
  /** The surrogate rule that fires, null while the surrogate is being fit. */
  rule: RuleMatch | null;
  /** Exact views: the smallest change to another outcome (null: none); absent while it is coming. */
  counterfactual?: CounterfactualInfo | null;
  /** What is still streaming in for this view: explainer names, "surrogate", "counterfactual". */
  pending: string[];
  /** Explainer name -> why it failed for this view ("LIME failed for this row: …"); the
   * rest of the view stands. Absent when none failed. */
  failed?: Record<string, string>;
  compute_ms?: number;
  /** Shown above the panel when set (e.g. what an exported view is made of). */
  notice?: string;
  /** How to name the row when `index` is not a row of X (an export renumbers its rows). */
  label?: string;
}

/**
 * The model's output along each numeric feature's slider (its sweep), the rest of the
 * instance of view `seq` fixed: the frontend's instant estimate while a slider is dragged.
 */
export interface Curves {
  seq: number;
  /** The instance swept at: row `index` of X with `edits` ([feature position, value] in the views' own values), for output `target`. */
  index: number;
  target: string;
  versus: string | null;
  edits: [number, Value][];
  /** Feature positions. */
  features: number[];
  /** Start of each feature's points in `values`/`prediction`; last entry = total. */
  offsets: number[];
  values: number[];
  /** float64 little-endian, the explained target's output at each point. */
  prediction: DataView;
}

/** A long job's state, as the panel shows it (the surrogate's fit, an export). */
export interface JobState {
  state: "running" | "ready" | "error" | "cancelled";
  done: number;
  total: number;
  message: string | null;
}

/** Progress of the long jobs, by job name ("surrogate", "export"). */
export interface Progress {
  surrogate?: JobState;
  export?: JobState;
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

/** A view of the panel is on screen, or was removed (optiml_widgets/on_screen.py). */
export interface ViewMessage {
  type: "view";
  id: string;
  shown: boolean;
}

/** Synced traits of ExplainerWidget. */
export interface WidgetModel {
  _schema: Schema;
  /** Null until the surrogate's fit is done (its progress is in `_progress`). */
  _surrogate: SurrogateInfo | null;
  _view: View;
  _curves?: Curves | null;
  _global?: GlobalInfo | null;
  _progress?: Progress;
  /** The feature selected in the global views (its dependence plot is shown). */
  feature?: string | null;
  index: number;
  target: string;
  error: string | null;
}

/** Asks Python for the standalone HTML export; the answer is a custom message with the file as a buffer. */
export interface ExportRequest {
  type: "export";
  /** The asking view's id, echoed in the reply: only that view saves the file. */
  id?: string;
}

/** Python's answer to an ExportRequest (the HTML travels in the message's first buffer). */
export interface ExportReply {
  type: "export";
  /** The id of the view that asked; absent in a reply from before ids (every view took it). */
  id?: string | null;
  filename: string;
  /** Size of the file in bytes. */
  bytes?: number;
  error?: string;
}

/** The message the frontend sends most: the whole wanted state, newest wins. */
export interface RequestMessage {
  type: "request";
  seq: number;
  index: number;
  target: string;
  /** Another class: explain P(target) − P(versus) ("why target and not versus"); null for none, absent to keep Python's. */
  versus?: string | null;
  /** The row's what-if edits as [feature position, value] pairs; absent when changing rows (Python keeps each row's edits). */
  edits?: [number, Value][];
  fast: boolean;
  /** The sequence number of the view on screen when the request was made: Python keeps a
   * change made from Python after it (the request was built without it). */
  basis?: number;
}

/** Python's word that a request failed: no view answers it (the error is in `error`). */
export interface FailedReply {
  type: "failed";
  seq: number;
}

/** What an HTML export carries (optiml_widgets/export.py). */
export interface PackedArray {
  dtype: "float64" | "float32" | "int16";
  shape: number[];
  /** base64 of gzip of the raw little-endian bytes. */
  data: string;
}

export interface ExportGrids {
  /** False when the grid's SHAP values come from the permutation explainer's cheaper setting. */
  shap_exact: boolean;
  /**
   * Per block (see `offsets`), the feature positions whose grid carries computed SHAP values; along
   * the other features' grids the SHAP values are an estimate that credits the output's
   * change to the moved feature (the prediction stays the model's own).
   */
  shap_exact_features: number[][];
  /**
   * Per block (each exported row's, then those of `unedited_block`), the start of each
   * feature's grid points within the block (the blocks follow one another); last entry =
   * the block's size. A feature the row does
   * not sweep (with many features, one outside its most important ones) has an empty grid.
   */
  offsets: number[][];
  /** Grid values per feature, as the sliders show them (the same in every row). */
  values: Value[][];
  prediction: PackedArray;
  shap: PackedArray;
  shap_scale: PackedArray;
  rule: PackedArray;
  /**
   * Per exported row, the block of its grids swept around the row as it is, for a row
   * exported with what-if edits (its own block is swept around the edited row); null for
   * the others. These blocks follow the rows' blocks, and `offsets`, `shap_exact_features`
   * and `shap_scale` have an entry for each (absent in a file of an older version).
   */
  unedited_block?: (number | null)[];
}

export interface ExportData {
  schema: Schema;
  surrogate: SurrogateInfo | null;
  views: View[];
  rows: number[];
  start: number;
  include_data: boolean;
  /** Per view, the row's own view when that view holds what-if edits made before the export
   * (null: it has none): what a reset of the edits shows. */
  unedited: (View | null)[];
  /** Per view, for a row exported with two or more what-if edits, [feature, the row's view
   * with that feature's edit undone] (else empty): what resetting one feature shows. */
  one_undone: [number, View][][];
  /** Per view, the exact views of the counterfactual rows of its stored views (as exported,
   * unedited, one edit undone): what "Try it" shows. Without the streamed explainers
   * (LIME) and a hint of their own. Absent in a file of an older version. */
  counterfactual_views?: View[][];
  grids: ExportGrids | null;
  /** The global views for the exported target; rows are rows of X (see `rows`). */
  global: GlobalInfo | null;
  /** The feature the dependence plot shows (the panel's when exported; null: the first). */
  feature: string | null;
}
