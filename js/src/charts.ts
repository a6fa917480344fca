// The global views: Altair's Vega-Lite specs rendered by the bundled vega-embed, linked to
// the local panel through the charts' named parameters (optiml_widgets/charts.py):
// `feature`, `row`, `hover`, `current_x`, `current_y`, and the surrogate's `shown_rules`,
// `shown_family`.
import { h } from "./dom";
import { legend } from "./legend";
import type { GlobalInfo, Value } from "./types";

/** The subset of a Vega view the panel uses. */
export interface ChartView {
  signal(name: string, value?: unknown): unknown;
  runAsync(): Promise<unknown>;
  addEventListener(type: string, handler: (event: Event, item: { datum?: Record<string, unknown> } | null | undefined) => void): unknown;
  finalize(): void;
}

/** The chart engine module (js/src/vega.ts), loaded on first use. */
export interface ChartEngine {
  embed(el: HTMLElement, spec: object, options: object): Promise<{ view: ChartView; finalize(): void }>;
  expressionInterpreter: unknown;
}

export type LoadEngine = () => Promise<ChartEngine>;

export interface GlobalHooks {
  /** A bar of the importance chart was clicked: the feature's position. */
  selectFeature(j: number): void;
  /** A point (a row of X) was clicked. */
  selectRow(row: number): void;
  /** The pointer is over a feature in a chart (its position; null: left it). */
  hover(j: number | null): void;
  /** A point of the surrogate's fidelity curve was clicked (a live kernel only). */
  selectSize?(rules: number, family: string): void;
}

const ORDER = ["importance", "beeswarm", "dependence", "fidelity", "predictions"] as const;
/** Beyond this many points a chart is drawn on a canvas: the browser composites every SVG
 * point apart, and 12,000 of them (1,000 rows in a beeswarm) made every frame of the whole
 * page cost ~55 ms. Below it SVG keeps each point labelled for screen readers. */
export const CANVAS_MARKS = 2500;

/** Vega's config in the page's theme colours (what CSS gives SVG text and lines). */
function themeConfig(el: HTMLElement) {
  const css = getComputedStyle(el);
  const colour = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
  const fg = colour("--ow-fg", "#1f2328");
  const muted = colour("--ow-muted", "#59636e");
  const border = colour("--ow-border", "#d0d7de");
  return {
    background: null,
    view: { stroke: null },
    title: { anchor: "start", fontSize: 13, color: fg, subtitleColor: fg },
    axis: { labelColor: fg, titleColor: fg, domainColor: muted, tickColor: muted, gridColor: border },
    legend: { labelColor: fg, titleColor: fg },
  };
}

/** Vega's config with no title or subtitle line longer than `width` pixels (Vega cuts it
 * with an ellipsis); a box not laid out yet (0) leaves the config as it is. */
export function titleFits<C extends { title?: object }>(config: C, width: number): C {
  return width > 0 ? { ...config, title: { ...config.title, limit: width } } : config;
}

/** How a chart is drawn: SVG, or a canvas for one with more points than CANVAS_MARKS
 * (Python writes the count in the spec's `usermeta.marks`). */
export function rendererFor(spec: object): "svg" | "canvas" {
  const marks = (spec as { usermeta?: { marks?: unknown } }).usermeta?.marks;
  return typeof marks === "number" && marks > CANVAS_MARKS ? "canvas" : "svg";
}

/** The "what does the model rely on overall" section of the panel. */
export class GlobalViews {
  readonly el: HTMLElement;
  private readonly status = h("div", { class: "ow-global-status", role: "status" });
  private readonly bar = h("progress", { class: "ow-global-progress", max: 1, value: 0 });
  private readonly grid = h("div", { class: "ow-charts" });
  private views = new Map<string, ChartView>();
  private shown: GlobalInfo | null = null;
  private rendering = 0;
  // No `feature` until the panel selects one: the specs' own (Python's most important
  // feature) stands meanwhile. A default of 0 drew the first feature's plot first, empty
  // when its values do not travel (many features), and Vega warned of an infinite extent.
  private signals: Record<string, unknown> = { row: -1, hover: -1, current_x: null, current_y: null };

  constructor(
    private readonly load: LoadEngine,
    private readonly hooks: GlobalHooks,
  ) {
    this.el = h(
      "section",
      { class: "ow-global", "aria-label": "Global views" },
      h("h3", {}, "The model overall"),
      this.status,
      this.bar,
      this.grid,
      legend("charts", [
        { mark: "ow-key-current", text: "ringed point: the current row" },
        { mark: "ow-key-selected-bar", text: "highlighted: the selected feature (its dependence plot)" },
        { mark: "ow-key-threshold-line", text: "dashed lines: the surrogate's thresholds" },
        { mark: "ow-key-instance", text: "diamond: the current row in the dependence plot" },
      ]),
    );
  }

  /** Shows the state of the global computation, and the charts once they are there. */
  async update(info: GlobalInfo | null): Promise<void> {
    const state = info?.state ?? "idle";
    this.el.dataset.state = state;
    this.bar.hidden = state !== "running";
    if (state === "running" && info) {
      this.bar.max = Math.max(1, info.total);
      this.bar.value = info.done;
      this.status.textContent =
        info.message ?? `Computing SHAP values over ${info.total.toLocaleString("en-US")} rows: ${info.done.toLocaleString("en-US")} done`;
    } else if (state === "error") {
      this.status.textContent = `The global views failed: ${info?.message ?? "unknown error"}`;
    } else if (state === "idle") {
      this.status.textContent = info?.message ?? "Waiting for the kernel…";
    } else if (info) {
      this.status.textContent = info.message ?? "";
    }
    if (state !== "ready" || !info?.specs || info === this.shown) return;
    this.shown = info;
    await this.render(info);
  }

  private async render(info: GlobalInfo): Promise<void> {
    const ticket = ++this.rendering;
    const engine = await this.load();
    if (ticket !== this.rendering) return;
    // Charts drawn again (another feature's values came) keep their place meanwhile: the
    // page must not jump while the new ones are embedded.
    const height = this.grid.offsetHeight;
    if (height > 0) this.grid.style.minHeight = `${height}px`;
    this.finalize();
    this.grid.replaceChildren();
    // Colours come from the page's theme through CSS (widget.css), so a theme switch
    // recolours drawn SVG charts too; a canvas takes the theme's colours when drawn.
    const config = themeConfig(this.el);
    // Every box first: each chart then measures its final column width.
    const boxes = ORDER.filter((name) => info.specs?.[name]).map((name) => h("div", { class: "ow-chart", "data-chart": name }));
    this.grid.append(...boxes);
    for (const box of boxes) {
      const name = box.dataset.chart as string;
      const spec = info.specs?.[name] as object;
      // As wide as the panel's column (Python's fixed width suits a saved chart instead).
      const full = { ...spec, width: "container", autosize: { type: "fit-x", contains: "padding" }, datasets: info.datasets };
      // SVG: crisp, and every mark carries an aria-label (screen readers, tests); a canvas
      // for dense charts (rendererFor).
      const renderer = rendererFor(spec);
      box.dataset.renderer = renderer;
      let result: Awaited<ReturnType<ChartEngine["embed"]>>;
      try {
        result = await engine.embed(box, full, {
          renderer,
          actions: false,
          ast: true,
          expr: engine.expressionInterpreter,
          // With "fit-x" a title wider than the box squeezes the plot to make room for it.
          config: titleFits(config, box.clientWidth),
          tooltip: { theme: "custom" },
        });
      } catch (error) {
        // One chart that cannot be drawn says so; the others and the panel go on.
        box.dataset.error = "true";
        box.replaceChildren(h("p", { class: "ow-error-text" }, `The ${name} chart could not be drawn: ${error instanceof Error ? error.message : String(error)}`));
        continue;
      }
      if (ticket !== this.rendering) {
        result.finalize();
        return;
      }
      if (renderer === "canvas") {
        // Its points have no labels of their own: the chart says what it holds (after
        // vega-embed, which labels its container "Vega visualization").
        const title = (spec as { title?: { text?: unknown } }).title?.text;
        const marks = (spec as { usermeta: { marks: number } }).usermeta.marks;
        box.setAttribute("role", "img");
        box.setAttribute("aria-label", `${typeof title === "string" ? title : name}: ${marks.toLocaleString("en-US")} points`);
      }
      this.views.set(name, result.view);
      this.listen(name, result.view);
      box.dataset.ready = "true";
    }
    await this.push();
    this.grid.style.minHeight = "";
    this.el.dataset.rendered = String(this.rendering);
  }

  private listen(name: string, view: ChartView): void {
    view.addEventListener("click", (_event, item) => {
      const datum = item?.datum;
      if (!datum) return;
      if (typeof datum.row === "number") this.hooks.selectRow(datum.row);
      else if (name === "importance" && typeof datum.k === "number") this.hooks.selectFeature(datum.k);
      else if (name === "fidelity" && typeof datum.rules === "number" && typeof datum.family === "string") this.hooks.selectSize?.(datum.rules, datum.family);
    });
    view.addEventListener("mouseover", (_event, item) => {
      const k = item?.datum?.k;
      if (typeof k === "number") this.hooks.hover(k);
    });
    view.addEventListener("mouseout", (_event, item) => {
      if (typeof item?.datum?.k === "number") this.hooks.hover(null);
    });
  }

  /** Sets the linked parameters (only where a chart has them) and redraws. */
  async set(values: Record<string, unknown>): Promise<void> {
    Object.assign(this.signals, values);
    await this.push(Object.keys(values));
  }

  private async push(keys: string[] = Object.keys(this.signals)): Promise<void> {
    const runs: Promise<unknown>[] = [];
    for (const view of this.views.values()) {
      let changed = false;
      for (const key of keys) {
        try {
          if (view.signal(key) === this.signals[key]) continue;
          view.signal(key, this.signals[key]);
          changed = true;
        } catch {
          // This chart has no such parameter.
        }
      }
      if (changed) runs.push(view.runAsync());
    }
    await Promise.all(runs);
  }

  /** The selected feature's value (a category's code) and attribution in the current instance. */
  static current(categories: string[] | null, value: Value | undefined, attribution: number | undefined): { current_x: number | null; current_y: number | null } {
    let x: number | null = null;
    if (categories) {
      const code = categories.indexOf(String(value));
      x = code >= 0 ? code : null;
    } else if (typeof value === "number" && Number.isFinite(value)) x = value;
    const y = attribution;
    return { current_x: x, current_y: typeof y === "number" && Number.isFinite(y) ? y : null };
  }

  finalize(): void {
    for (const view of this.views.values()) view.finalize();
    this.views.clear();
  }
}
