import type { FeatureInfo, Value } from "./types";

/** A number with about 4 significant digits, no exponent for everyday magnitudes. */
export function fmt(value: number | null | undefined, digits = 4): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (value === 0) return "0";
  const abs = Math.abs(value);
  if (abs >= 1e-3 && abs < 1e7) {
    const decimals = Math.max(0, digits - 1 - Math.floor(Math.log10(abs)));
    return Number(value.toFixed(Math.min(decimals, 8))).toString();
  }
  return value.toExponential(digits - 1);
}

/** A signed contribution: "+0.123" / "−0.045". */
export function signed(value: number): string {
  return (value >= 0 ? "+" : "−") + fmt(Math.abs(value), 3);
}

export function fmtValue(value: Value, feature?: FeatureInfo): string {
  if (value === null || value === undefined) return "missing";
  if (typeof value === "number") return feature?.kind === "integer" ? String(Math.round(value)) : fmt(value);
  return String(value);
}

export function percent(share: number): string {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}
