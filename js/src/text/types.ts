// The text panel's payloads: the same shapes as optiml_widgets/text/payloads.py (checked by
// tests/test_text_contract.py with tsc). Tokens, phrases and class names are data: they
// arrive in arrays and are addressed by position, never used as object keys.
import type { Agreement, ExplainerInfo, ExportReply, ExportRequest, JobState, RequestMessage } from "../types";

export interface TextSchema {
  kind: "text";
  task: string;
  classes: string[];
  targets: string[];
  n_texts: number;
  /** A short one-line label per text, for the picker. */
  labels: string[];
  has_y: boolean;
  explainers: ExplainerInfo[];
  surrogate: boolean;
  attention: boolean;
  /** What "mask" puts in place of a token: "[MASK]", or "..." for word tokens. */
  mask_token: string;
  model: string;
}

export interface TokensInfo {
  strings: string[];
  /** Character span of each token in the text; null for special tokens ([CLS]). */
  spans: (number[] | null)[];
  special: boolean[];
  /** Characters cut off the end because the model takes no more tokens. */
  truncated: number;
}

/** What a token explainer knows beyond its values. */
export interface TextAttributionDetails {
  /** "logit" (Integrated Gradients) or "probability" (SHAP, LIME). */
  space?: string | null;
  /** IG: F(x) and F(baseline) of the explained class, the steps taken and the completeness gap. */
  output?: number | null;
  baseline_output?: number | null;
  baseline?: string | null;
  steps?: number | null;
  gap?: number | null;
  gap_share?: number | null;
  tolerance?: number | null;
  converged?: boolean | null;
  /** SHAP: model evaluations. LIME: samples, local model. */
  evaluations?: number | null;
  samples?: number | null;
  intercept?: number | null;
  score?: number | null;
  /** LIME (exact views): each token's weight's standard error from its sampling; null where none. */
  errors?: (number | null)[];
}

export interface TextAttributionInfo {
  values: number[];
  base: number | null;
  quality: "exact" | "fast";
  algorithm: string;
  fallback: string | null;
  details: TextAttributionDetails;
}

export interface PackedBytes {
  shape: number[];
  /** value ≈ byte * scale */
  scale: number;
  /** base64 of one byte per cell, row-major. */
  data: string;
}

export interface AttentionInfo {
  layers: number;
  heads: number;
  /** Side of each thumbnail in cells. */
  side: number;
  /** base64 of bytes (layers, heads, side, side), each head scaled to its own largest cell. */
  thumbnails: string;
  /** Mean row entropy of each head in bits, layer-major. */
  entropy: number[];
  /** Rollout row of the first token: how much of each token reaches it through the layers. */
  rollout: number[];
  rollout_map: PackedBytes;
}

export interface TextRuleMatch {
  id: number;
  /** The firing rule's phrases that the text contains. */
  phrases: string[];
  /** Token positions that say them. */
  tokens: number[];
}

export interface TextView {
  seq: number;
  index: number;
  target: string;
  /** "exact", "fast" (while typing), "estimate" or "unavailable" (export: an edit not in the file). */
  quality: string;
  /** The whole text; `tokens` cover what reaches the model (`tokens.truncated`: characters past it). */
  text: string;
  original: string;
  edited: boolean;
  tokens: TokensInfo;
  prediction: number;
  predicted_label: string;
  probabilities: number[];
  y: string | null;
  /** One per schema.explainers entry; null while it streams in. */
  attributions: (TextAttributionInfo | null)[];
  agreement: Agreement[];
  rule: TextRuleMatch | null;
  attention: AttentionInfo | null;
  pending: string[];
  compute_ms?: number;
  notice?: string;
  label?: string;
}

export interface TextRuleInfo {
  id: number;
  phrases: string[];
  exceptions: string[];
  prediction: string;
  coverage: number;
  precision: number;
  text: string;
}

export interface TextCurvePoint {
  rules: number;
  fidelity: number | null;
  between: number | null;
  validation: number | null;
  validation_se: number | null;
  chosen: boolean;
}

export interface TextSurrogateInfo {
  rules: TextRuleInfo[];
  fidelity: number | null;
  between: number | null;
  metric: string;
  complexity: number;
  phrases: number;
  family: string;
  curve: TextCurvePoint[];
  reason: string;
  n_texts: number;
  n_samples: number;
  /** The texts the fit never saw, whose agreement is the held-out fidelity. */
  n_held_out: number;
}

export interface HeadRequest {
  type: "head";
  seq: number;
  index: number;
  text: string;
  /** -1: the rollout. */
  layer: number;
  head: number;
}

export interface HeadReply {
  type: "head";
  seq: number;
  layer: number;
  head: number;
  size: number;
  scale: number;
  error: string | null;
}

export interface PackedArray {
  dtype: string;
  shape: number[];
  /** base64 of gzip of the raw bytes. */
  data: string;
}

/** The model's output for one token of an exported text masked or deleted; the edited
 *  text is not stored (it would repeat the whole text per token): editText rebuilds it. */
export interface TokenEditInfo {
  token: number;
  action: "mask" | "delete";
  prediction: number;
  probabilities: number[];
}

export interface TextExportData {
  schema: TextSchema;
  surrogate: TextSurrogateInfo | null;
  views: TextView[];
  texts: number[];
  start: number;
  /** Per text: every head's map as bytes (layers, heads, T, T), or null (no attention, or too large). */
  heads: (PackedArray | null)[];
  head_scales: number[][];
  edits: TokenEditInfo[][];
}

export interface TextWidgetModel {
  _schema: TextSchema;
  _view: TextView;
  _surrogate: TextSurrogateInfo | null;
  _progress: Record<string, JobState>;
  index: number;
  target: string;
  error: string | null;
}

export type TextMessage = RequestMessage | HeadRequest | ExportRequest;

/** The part of anywidget's model the text panel uses (the export page provides the same). */
export interface TextModel {
  get<K extends keyof TextWidgetModel>(key: K): TextWidgetModel[K];
  on(event: string, callback: (...args: any[]) => void): void;
  off(event: string, callback: (...args: any[]) => void): void;
  send(message: TextMessage): void;
}

export type TextReply = HeadReply | ExportReply;
