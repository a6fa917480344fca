// Numbers as people read them. optiml_widgets/format.py `format_number` is the same function:
// js/test/format.test.ts and tests/test_format.py hold both to one table
// (js/test/format-cases.json), so a number reads the same in the rules Python wrote and in
// the labels drawn here.
import type { FeatureInfo, Value } from "./types";

export const MISSING = "–";
/** A value left out of an export (include_data=False): not missing, just not in the file. */
export const HIDDEN = "—";
export const HIDDEN_TITLE = "value not in this file";
const SMALLEST_FIXED = 1e-4;
/** From here up a float's digits stop being whole numbers' (2**53 is about 9e15): an exponent. */
const LARGEST_VALUE_FIXED = 1e15;
const MAX_DECIMALS = 20;

/** floor(log10(size)) of the shortest decimal that reads back as `size` (as Python's repr). */
function exponentOf(size: number): number {
  const text = Math.abs(size).toExponential();
  return Number(text.slice(text.indexOf("e") + 1));
}

function trim(text: string): string {
  return text.includes(".") ? text.replace(/\.?0+$/, "") : text;
}

/**
 * `digits` significant digits of `scale` (default: of the value itself), no exponent for
 * everyday magnitudes (a whole number below 1e15 keeps every digit: 123456789012, not
 * 1.235e+11), trailing zeros dropped: 862.63 → "862.6", 0.0817243 → "0.08172"; with a
 * feature's scale 4254, 862.63 → "863".
 */
export function formatNumber(value: number | null | undefined, digits = 4, scale: number | null = null): string {
  if (value === null || value === undefined) return MISSING;
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return "0";
  const precision = Math.max(1, Math.floor(digits));
  const size = scale !== null && Number.isFinite(scale) && scale !== 0 ? Math.abs(scale) : Math.abs(value);
  if (size < SMALLEST_FIXED || Math.abs(value) >= LARGEST_VALUE_FIXED) {
    const [mantissa, exponent] = value.toExponential(precision - 1).split("e");
    return `${trim(mantissa)}e${exponent}`;
  }
  const decimals = Math.min(MAX_DECIMALS, Math.max(0, precision - 1 - exponentOf(size)));
  const text = trim(value.toFixed(decimals));
  return text === "-0" ? "0" : text;
}

/** Characters of a feature name a label of the panel shows (a slider's, a bar's): two lines
 *  of a slider's name column. A longer one is cut by cutName, and read whole in a tooltip. */
export const SHORT_NAME = 28;

/** Whether a label with these user strings (names, categories) shows one of them cut. */
export function cutsAny(parts: readonly (string | null | undefined)[]): boolean {
  return parts.some((part) => !!part && [...part].length > SHORT_NAME);
}

/** A name cut to ``fits`` characters: in the middle where both ends can show (names that
 * share a long start, "…_number_017", differ at their end), at the end where it is short. */
export function cutName(name: string, fits: number): string {
  const chars = [...name]; // code points: an emoji is never split
  if (chars.length <= fits) return name;
  const keep = Math.max(1, fits - 1);
  if (keep < 12) return `${chars.slice(0, keep).join("")}…`;
  const tail = Math.floor(keep * 0.4);
  return `${chars.slice(0, keep - tail).join("")}…${chars.slice(chars.length - tail).join("")}`;
}

/** "1 rule", "8 rules", "2 leaves": a count and its noun. */
export function counted(n: number, word: string, plural = `${word}s`): string {
  return `${n} ${n === 1 ? word : plural}`;
}

/** A fidelity (accuracy or R²) to three decimals, as Python writes it: "1.000", "0.930". */
export function formatScore(value: number | null | undefined): string {
  return typeof value === "number" && Number.isFinite(value) ? value.toFixed(3) : formatNumber(value);
}

/** The scale a feature's values are written at: its largest magnitude (null if unknown). */
export function featureScale(feature: Pick<FeatureInfo, "min" | "max"> | undefined): number | null {
  if (!feature) return null;
  const ends = [feature.min, feature.max].filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  const biggest = Math.max(0, ...ends.map(Math.abs));
  return biggest > 0 ? biggest : null;
}

/** Every digit a number holds, as optiml_widgets/format.py `exact_number` writes a rule's
 *  threshold (Python's repr: the shortest decimal that reads back as the number, an exponent
 *  below 1e-4 and from 1e16 on). A threshold rounded for reading could fall on the other
 *  side of the rows it cuts ("0.3" for 0.300003). js/test/exact-cases.json holds both to
 *  one table. */
export function exactNumber(value: number): string {
  if (!Number.isFinite(value)) return formatNumber(value);
  if (value === 0) return "0"; // -0 too
  // toExponential() with no digits asked gives the shortest round-trip digits, as repr does.
  const [mantissa, power] = Math.abs(value).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const e = Number(power);
  let text: string;
  if (e < -4 || e >= 16) {
    const lead = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    text = `${lead}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  } else if (e < 0) text = `0.${"0".repeat(-e - 1)}${digits}`;
  else if (digits.length <= e + 1) text = digits + "0".repeat(e + 1 - digits.length);
  else text = `${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
  return value < 0 ? `-${text}` : text;
}

/** A number as the panel shows it to be read: formatNumber's text with a true minus sign,
 *  as signed() writes it. Not for what is typed or compared with Python's text (number
 *  boxes, rule conditions): those keep formatNumber's "-". */
export function shownNumber(value: number | null | undefined, digits = 4): string {
  const text = formatNumber(value, digits);
  return text.startsWith("-") ? `\u2212${text.slice(1)}` : text;
}

/** A signed contribution: "+0.123" / "−0.045" (a true minus sign, aligned with the plus). */
export function signed(value: number, digits = 3): string {
  return (value >= 0 ? "+" : "−") + formatNumber(Math.abs(value), digits);
}

/** A feature's value as its slider and labels write it. */
export function formatValue(value: Value | undefined, feature?: FeatureInfo): string {
  if (value === null || value === undefined) return "missing";
  if (typeof value === "number") {
    if (feature?.kind === "integer" && Number.isInteger(value)) return String(value);
    return formatNumber(value, 4, featureScale(feature));
  }
  return String(value);
}

export function percent(share: number): string {
  if (share > 0 && share < 0.0005) return "<0.1%"; // a few rows of many: some, not "0.0%"
  if (share >= 0.9995 && share < 1) return ">99.9%"; // all but a few: not all, not "100%"
  return `${(share * 100).toFixed(share < 0.1 || (share >= 0.995 && share < 1) ? 1 : 0)}%`;
}

/** A file size: "1.2 MB", "830 kB". */
export function fileSize(bytes: number): string {
  if (bytes >= 1e6) return `${formatNumber(bytes / 1e6, 2)} MB`;
  if (bytes >= 1e3) return `${formatNumber(bytes / 1e3, 2)} kB`;
  return `${bytes} bytes`;
}

/** What a view's prediction is (optiml_widgets/payloads.py `output_text`): "P(setosa)", "P(setosa) − P(virginica)". */
export function outputText(task: string, view: { target: string; versus?: string | null }): string {
  if (task === "regression") return "prediction";
  return view.versus ? `P(${view.target}) − P(${view.versus})` : `P(${view.target})`;
}
