// Estimates the frontend can make on its own: the surrogate rule that covers an instance,
// and, while a slider is dragged, the model's output read off the precomputed curves.
import type { Condition, Curves, SurrogateInfo, Value, View } from "./types";

export function holds(condition: Condition, value: Value | undefined): boolean {
  if (value === null || value === undefined || (typeof value === "number" && Number.isNaN(value))) {
    return condition.missing;
  }
  switch (condition.op) {
    case "<=":
      return (value as number) <= (condition.value as number);
    case ">":
      return (value as number) > (condition.value as number);
    case "==":
      return String(value) === String(condition.value);
    case "!=":
      return String(value) !== String(condition.value);
    default:
      return Array.isArray(condition.value) && condition.value.some((v) => String(v) === String(value));
  }
}

/** The surrogate rule covering an instance (or the rule with a known id), conditions marked. */
export function ruleFor(surrogate: SurrogateInfo | null, values: Value[], known: number | null = null): View["rule"] {
  if (!surrogate) return null;
  const met = (rule: SurrogateInfo["rules"][number]) => rule.conditions.map((c) => holds(c, values[c.j]));
  const rule = surrogate.rules.find((r) => (known !== null && known >= 0 ? r.id === known : met(r).every(Boolean)));
  return rule ? { id: rule.id, met: met(rule) } : null;
}

type RuleInfo = SurrogateInfo["rules"][number];
type TermInfo = RuleInfo["terms"][number];

/** A number for a value, or `fill` where it is missing. */
function orFill(value: Value | undefined, fill: number): number {
  return typeof value === "boolean" ? Number(value) : typeof value === "number" && !Number.isNaN(value) ? value : fill;
}

/** What a term adds for an instance's values (Python: LinearTerm.effect_in): a step's weight
 * above its cut or where all its conditions hold, or the weight per `per` units from the
 * rule's centre; a missing value counts as its fill. */
export function termEffect(term: TermInfo, values: Value[]): number {
  if (term.when.length) {
    const on = term.when.every((c, k) => holds(c, orFill(values[c.j], term.when_fill[k])));
    return on ? term.weight : 0;
  }
  const x = orFill(values[term.j], term.fill);
  if (term.above !== null) return x > term.above ? term.weight : 0;
  return (term.weight * (x - term.center)) / term.per;
}

/** A rule's own answer for the values it covers: its value, what each term adds, their sum
 * and, for a score rule, the class it gives (Python: Rule.score and Rule.predict). */
export function ruleOutput(rule: RuleInfo, values: Value[]): { effects: number[]; total: number; label: Value | null } | null {
  if (typeof rule.prediction !== "number" || !rule.terms.length) return null;
  const effects = rule.terms.map((t) => termEffect(t, values));
  const total = effects.reduce((sum, e) => sum + e, rule.prediction);
  const label = rule.classes ? rule.classes[total > SCORE_CUT ? 1 : 0] : null;
  return { effects, total, label };
}

/** A score rule gives its second class above this (Python: rule_models.SCORE_CUT). */
export const SCORE_CUT = 0.5;

/** Linear interpolation of a curve (xs ascending) at x, clamped to its ends. */
export function interpolate(xs: ArrayLike<number>, ys: ArrayLike<number>, x: number): number {
  const n = xs.length;
  if (x <= xs[0]) return ys[0];
  if (x >= xs[n - 1]) return ys[n - 1];
  let i = 1;
  while (xs[i] < x) i++;
  const t = (x - xs[i - 1]) / (xs[i] - xs[i - 1] || 1);
  return ys[i - 1] + t * (ys[i] - ys[i - 1]);
}

/** Positions whose value differs between two instances. */
export function changedPositions(a: Value[], b: Value[]): number[] {
  const out: number[] = [];
  a.forEach((value, j) => {
    if (value !== b[j]) out.push(j);
  });
  return out;
}

/**
 * Whether curves serve a drag from `view` of the `changed` features: they were swept at the
 * view's own instance, or at one that differs from it only in changed features. A curve
 * fixes every other feature, so after a release the curve of the feature just moved still
 * holds (the next drag of it is estimated without waiting for new curves).
 */
function curvesServe(curves: Curves, view: View, changed: number[]): boolean {
  if (curves.seq === view.seq) return true;
  if (curves.index !== view.index || curves.target !== view.target || (curves.versus ?? null) !== (view.versus ?? null)) return false;
  const at = [...view.original];
  for (const [j, value] of curves.edits) at[j] = value;
  return changedPositions(at, view.values).every((j) => changed.includes(j));
}

/**
 * The view the user is dragging towards, estimated in the browser: each changed numeric
 * feature moves the prediction along its curve, and the additive explainer at `additive`
 * (the force plot's) takes up that change, so base + sum of values still equals the
 * prediction. Null when the curves do not serve the view (see curvesServe) or a change is
 * not on a curve (Python's answer is then awaited).
 */
export function dragEstimate(
  view: View,
  curves: Curves | null | undefined,
  surrogate: SurrogateInfo | null,
  wanted: Value[],
  classification: boolean,
  additive: number,
): View | null {
  if (!curves) return null;
  const changed = changedPositions(wanted, view.values);
  if (!changed.length || !curvesServe(curves, view, changed)) return null;
  // A copy: the message's buffer need not be 8-byte aligned where the curves start.
  const { buffer, byteOffset, byteLength } = curves.prediction;
  const prediction = new Float64Array(buffer.slice(byteOffset, byteOffset + byteLength));
  let estimate = view.prediction;
  const attribution = additive >= 0 ? view.attributions[additive] : null;
  const values = attribution ? [...attribution.values] : null;
  for (const j of changed) {
    const k = curves.features.indexOf(j);
    const value = wanted[j];
    const here = view.values[j];
    if (k < 0 || typeof value !== "number" || typeof here !== "number") return null;
    const [a, b] = [curves.offsets[k], curves.offsets[k + 1]];
    const xs = curves.values.slice(a, b);
    const delta = interpolate(xs, prediction.subarray(a, b), value) - interpolate(xs, prediction.subarray(a, b), here);
    estimate += delta;
    if (values) values[j] += delta;
  }
  // A probability stays in [0, 1]; a contrast of two, in [-1, 1].
  if (classification) estimate = Math.min(1, Math.max(view.versus ? -1 : 0, estimate));
  const attributions = view.attributions.map((a, i) => (i === additive && a && values ? { ...a, values, quality: "fast" as const } : a));
  return {
    ...view,
    values: [...wanted],
    edited: changedPositions(wanted, view.original),
    prediction: estimate,
    attributions,
    rule: ruleFor(surrogate, wanted),
    quality: "fast",
  };
}
