// One card per token explainer: which space it explains, where it starts, the tokens
// coloured by its values, its force plot (additive methods) or local fit (LIME), and for
// Integrated Gradients whether its attributions add up (the completeness gap and steps).
import { samplingSummary } from "../bars";
import { h } from "../dom";
import { formatNumber, percent, signed } from "../format";
import type { ExplainerInfo } from "../types";
import { forcePlot } from "./force";
import type { TokenLink } from "./link";
import { type EditToken, TokenStrip } from "./tokens";
import type { TextAttributionInfo, TextView } from "./types";

export class MethodCard {
  readonly el: HTMLElement;
  private readonly strip: TokenStrip;
  private readonly facts = h("p", { class: "ow-note" });
  private readonly plot = h("div", { class: "ow-plot" });
  private readonly status = h("span", { class: "ow-status" });

  constructor(
    readonly info: ExplainerInfo,
    readonly position: number,
    link: TokenLink,
    edit: EditToken | null,
  ) {
    this.strip = new TokenStrip(link, edit, false);
    this.el = h(
      "section",
      { class: "ow-card ow-method", "data-method": info.name, "aria-label": info.title },
      h("h3", {}, info.title, " ", this.status),
      this.strip.el,
      this.plot,
      this.facts,
    );
  }

  update(view: TextView, stale: boolean): void {
    const found = view.attributions[this.position] ?? null;
    this.el.classList.toggle("ow-stale", stale);
    if (!found) {
      const pending = view.pending.includes(this.info.name);
      this.status.textContent = pending ? "computing…" : "not available";
      this.el.dataset.state = pending ? "pending" : "unavailable";
      this.strip.update(view.tokens, null);
      this.plot.replaceChildren();
      this.facts.textContent = pending ? "Streams in when ready; the other views are usable meanwhile." : "Not computed for this text.";
      return;
    }
    const space = found.details.space ?? "output";
    if (view.quality === "estimate") {
      // Typed, not yet answered: the values carried over, the new words outlined.
      this.el.dataset.state = "estimate";
      this.status.textContent = "estimate while typing";
      this.strip.update(view.tokens, found.values, added(found.values), space);
      this.plot.replaceChildren();
      this.facts.textContent = "The tokens outside the edit keep their values; the outlined words are new and not explained yet.";
      return;
    }
    this.el.dataset.state = found.quality;
    this.status.textContent = found.quality === "fast" ? "fast estimate" : "";
    this.strip.update(view.tokens, found.values, [], space, found.details.errors ?? null);
    this.plot.replaceChildren(this.info.view === "force" ? forcePlot(found, view.tokens, `${space} of ${view.target}`) : h("span"));
    this.facts.replaceChildren(...facts(this.info, found, view));
    this.el.title = found.algorithm;
  }
}

/** Positions of the words typed since the last answer (their values are not known yet). */
function added(values: readonly number[]): number[] {
  return values.flatMap((v, i) => (Number.isNaN(v) ? [i] : []));
}

function facts(info: ExplainerInfo, found: TextAttributionInfo, view: TextView): (Node | string)[] {
  const d = found.details;
  const out: (Node | string)[] = [];
  if (info.name === "ig") {
    const ok = d.converged === true;
    out.push(
      `Explains the logit of ${view.target}: ${formatNumber(d.output ?? null, 4)} for this text, ${formatNumber(d.baseline_output ?? null, 4)} for the baseline (${d.baseline ?? "masked text"}). `,
      h(
        "span",
        { class: ok ? "ow-ok" : "ow-bad", "data-testid": "ow-completeness" },
        `Completeness gap ${signed(d.gap ?? 0, 3)} (${percent(d.gap_share ?? 0)} of the difference) with ${d.steps} steps: ${ok ? `within ${percent(d.tolerance ?? 0.01)}` : found.quality === "fast" ? "few steps while typing" : `not within ${percent(d.tolerance ?? 0.01)} even at ${d.steps} steps`}.`,
      ),
    );
  } else if (info.view === "force") {
    const total = found.values.reduce((a, b) => a + b, 0);
    out.push(`Explains the probability of ${view.target}: ${formatNumber((found.base ?? 0) + total, 4)} for this text from ${formatNumber(found.base ?? null, 4)} with every token masked (the base value); the values add up exactly.`);
  } else {
    const fit = d.score ?? null;
    out.push(`Weights of a local linear model of the probability of ${view.target} over which tokens are kept (${d.samples ?? "?"} samples); local fit R² ${formatNumber(fit, 3)}${fit !== null && fit < 0.5 ? ": rough here" : ""}.`);
    const errors = d.errors ?? [];
    const sampling = samplingSummary(
      found.values.flatMap((value, i) => (typeof errors[i] === "number" ? [{ value, error: errors[i] }] : [])),
      "token",
      { errors: "in each token's tooltip", unsure: "dashed" },
    );
    if (sampling) out.push(" ", h("span", { "data-testid": "ow-sampling" }, `${sampling}.`));
  }
  return out;
}
