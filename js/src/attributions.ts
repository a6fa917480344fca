// One card per local explainer of Schema.explainers, drawn with the view of its kind
// ("force": additive values from a base, "weights": a local model's signed weights). The
// panel loops over the explainers: a new explainer needs no change here.
import { h } from "./dom";
import type { Features } from "./features";
import { WIDTH, forceBar, forceBody } from "./forceplot";
import { placeholder } from "./pending";
import type { AttributionInfo, ExplainerInfo, View } from "./types";
import { weightsBody } from "./weights";

export class ExplainerCard {
  readonly el: HTMLElement;
  /** The compact force bar of a "force" explainer (the panel may show it in its header). */
  readonly bar: HTMLElement | null;
  private readonly badge = h("span", { class: "ow-badge ow-algorithm", "data-testid": "ow-algorithm" });
  private readonly fallback = h("p", { class: "ow-note ow-fallback", hidden: true });
  private readonly status = h("div", { class: "ow-card-status" });
  private readonly body = h("div", { class: "ow-card-body" });
  /** What the card shows, and for which row: a stale result is only ever the same row's. */
  private shown: { index: number; attribution: AttributionInfo } | null = null;
  private barWidth = 0;
  private resized: ResizeObserver | null = null;
  private redrawBar: (() => void) | null = null;

  constructor(
    readonly info: ExplainerInfo,
    /** Where this explainer's result is in View.attributions. */
    readonly position: number,
    private readonly features: Features,
    private readonly titleOf: (name: string) => string,
    options: { barOutside?: boolean } = {},
  ) {
    this.bar = info.view === "force" ? h("div", { class: "ow-forcebar", "data-testid": "ow-forcebar" }) : null;
    this.el = h(
      "section",
      { class: `ow-card ow-explainer ow-kind-${info.view}`, "data-testid": "ow-explainer", "data-explainer": info.name, "aria-label": info.title },
      h("div", { class: "ow-card-head" }, h("h3", {}, info.title), this.badge),
      this.fallback,
      options.barOutside || !this.bar ? null : this.bar,
      this.status,
      this.body,
    );
  }

  /** Shows this explainer's part of `view`; `stale`: the view moved on without it (a drag). */
  update(view: View, stale: boolean): void {
    const found = view.attributions[this.position] ?? null;
    const title = this.info.title;
    if (found) {
      if (found !== this.shown?.attribution) this.draw(found, view);
      this.shown = { index: view.index, attribution: found };
      this.setStale(stale ? "For the values before this change: it follows when the change is done." : null);
      return;
    }
    const coming = view.pending.includes(this.info.name);
    if (this.shown && this.shown.index === view.index && (coming || stale)) {
      // The same row's last result stays readable, dimmed, until the new one arrives.
      this.setStale(coming ? `Computing ${title} for these values…` : "For the values before this change.", coming);
      return;
    }
    this.shown = null;
    this.setStale(null);
    this.badge.textContent = "";
    this.fallback.hidden = true;
    this.bar?.replaceChildren();
    const failed = view.failed?.[this.info.name];
    this.body.replaceChildren(
      coming
        ? placeholder(`Computing ${title} for this row…`)
        : failed
          ? h("p", { class: "ow-error-text", role: "alert" }, failed)
          : h("p", { class: "ow-muted" }, `${title} is not available for this view.`),
    );
  }

  private draw(found: AttributionInfo, view: View): void {
    this.badge.textContent = found.quality === "fast" ? `${found.algorithm} · fast estimate` : found.algorithm;
    this.fallback.hidden = !found.fallback;
    this.fallback.textContent = found.fallback ? `Why not a faster algorithm: ${found.fallback}.` : "";
    if (this.info.view === "force") {
      this.drawBar(found, view);
      this.body.replaceChildren(...forceBody(this.features, found, view));
    } else {
      const agreements = view.agreement.filter((a) => a.other === this.info.name);
      this.body.replaceChildren(...weightsBody(this.features, found, agreements, this.titleOf));
    }
  }

  /** The force bar at the width it has (its labels keep their size in a narrow panel),
   * drawn again when that width changes. */
  private drawBar(found: AttributionInfo, view: View): void {
    const bar = this.bar;
    if (!bar) return;
    const draw = () => bar.replaceChildren(forceBar(this.features, found, view, this.info.title, bar.clientWidth || WIDTH));
    draw();
    this.barWidth = bar.clientWidth;
    if (!this.resized && typeof ResizeObserver === "function") {
      this.resized = new ResizeObserver(() => {
        if (bar.clientWidth !== this.barWidth && bar.clientWidth > 0) {
          this.barWidth = bar.clientWidth;
          this.redrawBar?.();
        }
      });
      this.resized.observe(bar);
    }
    this.redrawBar = draw;
  }

  private setStale(text: string | null, working = false): void {
    this.el.classList.toggle("ow-stale", text !== null);
    this.bar?.classList.toggle("ow-stale", text !== null);
    this.status.replaceChildren(...(text === null ? [] : working ? [placeholder(text)] : [h("p", { class: "ow-note" }, text)]));
  }
}
