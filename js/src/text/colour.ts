// Attribution colours: red pushes towards the explained class, blue away (the tabular force
// plot's colours), the strength by the share of the largest |value|.

export function largest(values: readonly number[]): number {
  let top = 0;
  for (const v of values) if (Math.abs(v) > top) top = Math.abs(v);
  return top;
}

export function tokenColour(value: number, top: number): string {
  if (!top || !Number.isFinite(value)) return "transparent";
  const share = Math.min(1, Math.abs(value) / top);
  const alpha = (0.08 + 0.72 * share).toFixed(2);
  return value >= 0 ? `rgba(229, 72, 77, ${alpha})` : `rgba(62, 123, 250, ${alpha})`;
}

/** A light-to-dark ramp for attention weights in [0, 1]. */
export function heat(share: number): [number, number, number] {
  const t = Math.max(0, Math.min(1, share));
  return [Math.round(255 - 230 * t), Math.round(255 - 160 * t), Math.round(255 - 40 * t)];
}
