// A token force plot: from the baseline's output to the text's output, one segment per
// token (largest first; the rest grouped), and IG's completeness gap as a segment of its
// own, so what the attributions leave unexplained is seen, not hidden.
import { s } from "../dom";
import { formatNumber, signed } from "../format";
import type { TextAttributionInfo, TokensInfo } from "./types";

const WIDTH = 560;
const HEIGHT = 46;
const SHOWN = 8;

/** Labels near an edge grow inwards, so none is cut off. */
const anchor = (at: number) => (at < 80 ? "start" : at > WIDTH - 80 ? "end" : "middle");

export function forcePlot(found: TextAttributionInfo, tokens: TokensInfo, unit: string): SVGSVGElement {
  const base = found.base ?? 0;
  const gap = found.details.gap ?? 0;
  const output = found.details.output ?? base + found.values.reduce((a, b) => a + b, 0);
  const order = found.values.map((v, i) => [v, i] as const).filter(([v, i]) => v !== 0 && !tokens.special[i]);
  order.sort((a, b) => Math.abs(b[0]) - Math.abs(a[0]));
  const segments: { label: string; value: number; kind: string }[] = order.slice(0, SHOWN).map(([v, i]) => ({ label: tokens.strings[i], value: v, kind: v >= 0 ? "pos" : "neg" }));
  const rest = order.slice(SHOWN).reduce((a, [v]) => a + v, 0);
  if (rest) segments.push({ label: `${order.length - SHOWN} more`, value: rest, kind: rest >= 0 ? "pos" : "neg" });
  if (Math.abs(gap) > 0) segments.push({ label: "completeness gap", value: -gap, kind: "gap" });
  // Walk from the base: every segment starts where the previous ended.
  let at = base;
  const walks = segments.map((seg) => {
    const from = at;
    at += seg.value;
    return { ...seg, from, to: at };
  });
  const ends = [base, output, ...walks.map((w) => w.to)];
  const lo = Math.min(...ends);
  const hi = Math.max(...ends);
  const span = hi - lo || 1;
  const x = (v: number) => 10 + ((v - lo) / span) * (WIDTH - 20);
  const svg = s("svg", { class: "ow-token-force", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, width: "100%", role: "img", "aria-label": `${unit}: from ${formatNumber(base)} to ${formatNumber(output)}` });
  walks.forEach((w, k) => {
    const x0 = x(Math.min(w.from, w.to));
    const width = Math.max(1, Math.abs(x(w.to) - x(w.from)));
    const y = 6 + (k % 2) * 2;
    const rect = s("rect", { x: x0, y, width, height: 16, class: `ow-seg ow-seg-${w.kind}` });
    rect.append(s("title", {}, `${w.label}: ${signed(w.value, 3)}`));
    svg.append(rect);
    if (width > 38) svg.append(s("text", { x: x0 + width / 2, y: 18, "text-anchor": "middle", class: "ow-seg-label" }, w.label.length > 10 ? `${w.label.slice(0, 9)}…` : w.label));
  });
  svg.append(
    s("line", { x1: x(base), x2: x(base), y1: 2, y2: 28, class: "ow-axis" }),
    s("line", { x1: x(output), x2: x(output), y1: 2, y2: 28, class: "ow-axis ow-axis-out" }),
    s("text", { x: x(base), y: 40, "text-anchor": anchor(x(base)), class: "ow-seg-label" }, `baseline ${formatNumber(base, 3)}`),
    s("text", { x: x(output), y: 40, "text-anchor": anchor(x(output)), class: "ow-seg-label" }, `text ${formatNumber(output, 3)}`),
  );
  return svg;
}
