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

/** Text that reads on an opaque ``rgb`` background: near-black or white, whichever
 *  contrasts more (WCAG relative luminance). */
export function textOn([r, g, b]: [number, number, number]): string {
  const linear = (c: number) => {
    const v = c / 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const light = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
  // Contrast with black (L + 0.05) / 0.05 against white 1.05 / (L + 0.05).
  return (light + 0.05) / 0.05 >= 1.05 / (light + 0.05) ? "#111111" : "#ffffff";
}
