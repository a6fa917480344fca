// Estimates the frontend can make on its own: the surrogate rule that covers an instance,
// and, while a slider is dragged, the model's output read off the precomputed curves.
import type { Curves, SurrogateInfo, Value, View } from "./types";

type Condition = SurrogateInfo["rules"][number]["conditions"][number];

export function holds(condition: Condition, value: Value): boolean {
  if (value === null || value === undefined) return false;
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
      return (condition.value as string[]).includes(String(value));
  }
}

/** The surrogate rule covering an instance (or the rule with a known id), conditions marked. */
export function ruleFor(surrogate: SurrogateInfo | null, instance: Record<string, Value>, known: number | null = null): View["rule"] {
  if (!surrogate) return null;
  const met = (rule: SurrogateInfo["rules"][number]) => rule.conditions.map((c) => holds(c, instance[c.feature]));
  const rule = surrogate.rules.find((r) => (known !== null && known >= 0 ? r.id === known : met(r).every(Boolean)));
  return rule ? { id: rule.id, met: met(rule) } : null;
}

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

/**
 * The view the user is dragging towards, estimated in the browser: each changed numeric
 * feature moves the prediction along its curve and its SHAP value takes up that change (so
 * base value + sum of SHAP still equals the prediction). Null when the curves do not belong
 * to the view or a change is not on a curve (Python's answer is then awaited).
 */
export function dragEstimate(
  view: View,
  curves: Curves | null | undefined,
  surrogate: SurrogateInfo | null,
  wanted: Record<string, Value>,
  classification: boolean,
): View | null {
  if (!curves || curves.seq !== view.seq) return null;
  const names = Object.keys(view.instance);
  const changed = names.filter((n) => n in wanted && wanted[n] !== view.instance[n]);
  if (!changed.length) return null;
  const prediction = new Float32Array(curves.prediction.buffer, curves.prediction.byteOffset, curves.prediction.byteLength / 4);
  let estimate = view.prediction;
  const shap = [...view.shap];
  for (const name of changed) {
    const k = curves.features.indexOf(name);
    const value = wanted[name];
    if (k < 0 || typeof value !== "number") return null;
    const [a, b] = [curves.offsets[k], curves.offsets[k + 1]];
    const at = interpolate(curves.values.slice(a, b), prediction.subarray(a, b), value);
    const here = interpolate(curves.values.slice(a, b), prediction.subarray(a, b), view.instance[name] as number);
    const delta = at - here;
    estimate += delta;
    const j = names.indexOf(name);
    if (shap.length) shap[j] += delta;
  }
  if (classification) estimate = Math.min(1, Math.max(0, estimate));
  const instance = { ...view.instance, ...Object.fromEntries(changed.map((n) => [n, wanted[n]])) };
  return {
    ...view,
    instance,
    edited: names.filter((n) => instance[n] !== view.original[n]),
    prediction: estimate,
    shap,
    rule: ruleFor(surrogate, instance),
    quality: "fast",
  };
}
