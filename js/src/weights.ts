// A local model's weights (LIME): signed bars with the model's own condition text, its local
// fit, and Python's verdict on how far it agrees with the additive explainer.
import { type BarItem, barList, samplingSummary, topPositions } from "./bars";
import { h, isolated } from "./dom";
import type { Features } from "./features";
import { formatNumber, percent } from "./format";
import type { Agreement, AttributionInfo } from "./types";

/** How a verdict reads: agree (green), disagree (red), unreliable (amber). */
export function verdictClass(agreement: Agreement): string {
  return `ow-verdict ow-${agreement.verdict}`;
}

export function agreementFacts(agreement: Agreement): string {
  const facts: string[] = [];
  if (agreement.spearman !== null) facts.push(`rank correlation ${formatNumber(agreement.spearman, 2)}`);
  const unsure = agreement.signs_uncertain ? ` (${agreement.signs_uncertain} within its sampling noise, not compared)` : "";
  facts.push(`top-${agreement.top_k} overlap ${percent(agreement.top_overlap)}`, `same sign ${percent(agreement.sign_agreement)}${unsure}`);
  return facts.join(" · ");
}

export function weightsBody(
  features: Features,
  attribution: AttributionInfo,
  agreements: Agreement[],
  titleOf: (name: string) => string,
): HTMLElement[] {
  const details = attribution.details ?? {};
  const conditions = details.conditions ?? null;
  const errors = details.errors ?? null;
  const items: BarItem[] = topPositions(attribution.values).map((j) => ({
    j,
    label: conditions?.[j] ?? features.names[j],
    isolate: [features.names[j]],
    value: attribution.values[j],
    error: errors?.[j] ?? null,
  }));
  // The verdict first: whether these weights can be trusted on this row is read before them.
  const out: HTMLElement[] = agreements.map((agreement) =>
    h("p", { class: verdictClass(agreement), "data-testid": "ow-verdict", "data-verdict": agreement.verdict }, agreement.text),
  );
  out.push(barList(items));
  const facts: string[] = [];
  if (details.score !== undefined && details.score !== null) facts.push(`local fit R² ${formatNumber(details.score, 2)}`);
  if (details.intercept !== undefined && details.intercept !== null) facts.push(`intercept ${formatNumber(details.intercept)}`);
  if (facts.length) out.push(h("p", { class: "ow-muted ow-facts" }, facts.join(" · ")));
  const sampling = samplingSummary(items, "weight", { errors: "whiskers", unsure: "faded" });
  if (sampling) out.push(h("p", { class: "ow-muted ow-facts", "data-testid": "ow-sampling" }, sampling));
  if (details.filled?.length) {
    const names = details.filled.flatMap((name, i) => (i ? [", ", h("bdi", {}, name)] : [h("bdi", {}, name)]));
    out.push(h("p", { class: "ow-note", "data-testid": "ow-filled" }, "Missing values filled before explaining (a local model cannot sample around a gap): ", ...names, "."));
  }
  for (const agreement of agreements) {
    out.push(h("p", { class: "ow-muted ow-facts" }, `Against ${titleOf(agreement.reference)}: ${agreementFacts(agreement)}`));
  }
  return out;
}
