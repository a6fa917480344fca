import { afterEach, describe, expect, it } from "vitest";
import { CANVAS_MARKS, type ChartEngine, type ChartView, GlobalViews, titleFits } from "../src/charts";
import { renderPanel } from "../src/panel";
import type { GlobalInfo } from "../src/types";
import { model, panel, schema, shapOf, surrogate, view } from "./fixtures";

type Handler = (event: Event, item: { datum?: Record<string, unknown> } | null) => void;

/** A stand-in for a Vega view: named signals, event handlers, and what was run. */
class FakeView implements ChartView {
  handlers = new Map<string, Handler[]>();
  runs = 0;
  finalized = false;
  constructor(public signals: Record<string, unknown>) {}
  signal(name: string, value?: unknown): unknown {
    if (!(name in this.signals)) throw new Error(`Unrecognized signal name: ${name}`);
    if (arguments.length === 1) return this.signals[name];
    this.signals[name] = value;
    return this;
  }
  async runAsync() {
    this.runs++;
    return this;
  }
  addEventListener(type: string, handler: Handler) {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), handler]);
    return this;
  }
  fire(type: string, datum: Record<string, unknown>) {
    for (const handler of this.handlers.get(type) ?? []) handler(new Event(type), { datum });
  }
  finalize() {
    this.finalized = true;
  }
}

function fakeEngine() {
  const views = new Map<string, FakeView>();
  const specs: Record<string, object> = {};
  const options: Record<string, { renderer?: string; config?: object }> = {};
  let loads = 0;
  const engine: ChartEngine = {
    expressionInterpreter: {},
    async embed(el, spec, embedOptions) {
      const name = el.dataset.chart as string;
      specs[name] = spec;
      options[name] = embedOptions;
      const params = ((spec as { params?: { name: string; value: unknown }[] }).params ?? []).map((p) => [p.name, p.value]);
      const v = new FakeView(Object.fromEntries(params));
      views.set(name, v);
      return { view: v, finalize: () => v.finalize() };
    },
  };
  return { views, specs, options, load: async () => (loads++, engine), loads: () => loads };
}

const param = (name: string, value: unknown) => ({ name, value });

function ready(): GlobalInfo {
  return {
    state: "ready",
    done: 10,
    total: 10,
    message: "SHAP values of all 10 rows",
    target: "yes",
    specs: {
      importance: { data: { name: "bars" }, params: [param("feature", 1), param("hover", -1)] },
      beeswarm: { data: { name: "rows" }, params: [param("feature", 1), param("row", -1), param("hover", -1)] },
      dependence: { layer: [], params: [param("feature", 1), param("current_x", null), param("current_y", null)] },
    },
    datasets: { rows: [{ row: 0 }], bars: [{ k: 1 }] },
  };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => document.body.replaceChildren());

/** A panel on the page with its global views drawn. */
async function drawn() {
  const s = schema();
  const m = model(s);
  const engine = fakeEngine();
  const el = document.createElement("div");
  document.body.append(el);
  renderPanel(m, el, { loadEngine: engine.load });
  m.set("_global", ready());
  await settle();
  return { s, m, engine, el };
}

describe("global views", () => {
  it("asks the kernel once, shows progress, then draws every chart with the shared datasets", async () => {
    const s = schema();
    const m = model(s);
    const engine = fakeEngine();
    const el = document.createElement("div");
    renderPanel(m, el, { loadEngine: engine.load });
    expect(m.asked).toEqual(["global"]);
    m.set("_global", { state: "running", done: 3, total: 10, message: null });
    const section = el.querySelector(".ow-global") as HTMLElement;
    expect(section.dataset.state).toBe("running");
    expect((section.querySelector("progress") as HTMLProgressElement).value).toBe(3);
    expect(section.textContent).toContain("3 done");
    expect(engine.loads()).toBe(0); // the engine travels only when there is something to draw
    m.set("_global", ready());
    await settle();
    expect(engine.loads()).toBe(1);
    expect([...engine.views.keys()]).toEqual(["importance", "beeswarm", "dependence"]);
    expect((engine.specs.beeswarm as { datasets: object }).datasets).toEqual(ready().datasets);
    expect(section.querySelector("progress")?.hidden).toBe(true);
  });

  it("draws a chart with more points than CANVAS_MARKS on a canvas that says what it holds", async () => {
    const m = model(schema());
    const engine = fakeEngine();
    const el = document.createElement("div");
    renderPanel(m, el, { loadEngine: engine.load });
    const info = ready();
    const specs = info.specs as Record<string, object>;
    specs.beeswarm = { ...specs.beeswarm, title: { text: "Impact per row" }, usermeta: { marks: CANVAS_MARKS + 1 } };
    specs.dependence = { ...specs.dependence, usermeta: { marks: CANVAS_MARKS } };
    m.set("_global", info);
    await settle();
    expect(engine.options.beeswarm.renderer).toBe("canvas");
    expect(engine.options.dependence.renderer).toBe("svg");
    expect(engine.options.importance.renderer).toBe("svg");
    const box = el.querySelector('[data-chart="beeswarm"]') as HTMLElement;
    expect(box.dataset.renderer).toBe("canvas");
    expect(box.getAttribute("aria-label")).toBe(`Impact per row: ${(CANVAS_MARKS + 1).toLocaleString("en-US")} points`);
    expect(el.querySelector('[data-chart="dependence"]')?.getAttribute("aria-label")).toBeNull();
    // A canvas is not styled by CSS: the theme's colours travel in Vega's config.
    expect(engine.options.beeswarm.config).toMatchObject({ axis: { labelColor: expect.any(String) } });
  });

  it("keeps every title within its chart's box, so that a long one never squeezes the plot", async () => {
    const m = model(schema());
    const engine = fakeEngine();
    const el = document.createElement("div");
    renderPanel(m, el, { loadEngine: engine.load });
    const width = Object.getOwnPropertyDescriptor(HTMLElement.prototype, "clientWidth");
    Object.defineProperty(HTMLElement.prototype, "clientWidth", { configurable: true, get: () => 381 });
    try {
      m.set("_global", ready());
      await settle();
    } finally {
      if (width) Object.defineProperty(HTMLElement.prototype, "clientWidth", width);
    }
    for (const name of ["importance", "beeswarm", "dependence"]) {
      expect(engine.options[name].config).toMatchObject({ title: { limit: 381, anchor: "start" }, axis: { labelColor: expect.any(String) } });
    }
    // A box not laid out yet (width 0): the config as it is.
    expect(titleFits({ title: { anchor: "start" } }, 0)).toEqual({ title: { anchor: "start" } });
  });

  it("links: a bar selects the feature, a point selects the row, hover goes both ways", async () => {
    const { s, m, engine, el } = await drawn();
    const names = s.features.map((f) => f.name);
    const v = view(s);
    // Python's first feature (the most important) is selected and marked in the panel.
    expect(engine.views.get("dependence")?.signals.feature).toBe(1);
    // A click on a bar: the dependence plot follows, the slider takes the focus.
    engine.views.get("importance")?.fire("click", { k: 2, feature: names[2] });
    await settle();
    expect(engine.views.get("dependence")?.signals.feature).toBe(2);
    expect(engine.views.get("beeswarm")?.signals.feature).toBe(2);
    expect(engine.views.get("dependence")?.signals.current_x).toBe(v.values[2]);
    expect(engine.views.get("dependence")?.signals.current_y).toBe(shapOf(s).values[2]);
    expect(m.get("feature")).toBe(names[2]);
    expect((document.activeElement?.closest(".ow-slider") as HTMLElement)?.dataset.j).toBe("2");
    expect(el.querySelector(`.ow-slider.ow-selected`)?.getAttribute("data-j")).toBe("2");
    // A click on a point: that row is asked for.
    engine.views.get("beeswarm")?.fire("click", { row: 7, k: 0, s: 0.1 });
    expect(m.sent.at(-1)).toMatchObject({ type: "request", index: 7, fast: false });
    // The new view marks its row in the beeswarm.
    m.set("_view", view(s, { seq: 99, index: 7 }));
    await settle();
    expect(engine.views.get("beeswarm")?.signals.row).toBe(7);
    // Hovering a point lights its feature up in the panel; hovering the panel, in the charts.
    engine.views.get("beeswarm")?.fire("mouseover", { row: 7, k: 3 });
    expect(el.querySelector(".ow-slider.ow-linked")?.getAttribute("data-j")).toBe("3");
    await settle();
    expect(engine.views.get("importance")?.signals.hover).toBe(3);
    engine.views.get("beeswarm")?.fire("mouseout", { row: 7, k: 3 });
    await settle();
    expect(engine.views.get("importance")?.signals.hover).toBe(-1);
    const sliderRow = panel.slider(el, 0);
    sliderRow.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    await settle();
    expect(engine.views.get("beeswarm")?.signals.hover).toBe(0);
  });

  it("from the keyboard: Enter on a feature's bar selects it as a click on its chart bar does; no key reaches the notebook", async () => {
    const { s, m, engine, el } = await drawn();
    const notebook: string[] = [];
    const listen = (event: KeyboardEvent) => notebook.push(event.key);
    document.addEventListener("keydown", listen);
    try {
      const bar = el.querySelector('[data-explainer="shap"] li[data-j="2"]') as HTMLElement;
      bar.focus();
      for (const key of ["ArrowDown", "b"]) bar.dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
      for (const key of ["M", "ArrowDown", "Enter"]) bar.dispatchEvent(new KeyboardEvent("keydown", { key, shiftKey: true, bubbles: true }));
      panel.range(el, 0).dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowUp", bubbles: true }));
      expect(notebook).toEqual([]); // JupyterLab moved between cells, "b" inserted one, Shift+M merged
      expect(engine.views.get("dependence")?.signals.feature).toBe(1); // Shift+Enter chose nothing
      bar.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
      await settle();
      expect(engine.views.get("dependence")?.signals.feature).toBe(2);
      expect(m.get("feature")).toBe(s.features[2].name);
      expect((document.activeElement?.closest(".ow-slider") as HTMLElement)?.dataset.j).toBe("2");
    } finally {
      document.removeEventListener("keydown", listen);
    }
  });

  describe("a bar click brings its slider into the list", () => {
    /** 40 features, the row's order f39, f0, f1, …: 16 sliders shown, the rest folded. */
    async function wide() {
      const s = schema(40);
      const values = s.features.map((_, j) => (j === 39 ? 0.5 : 0.01 / (j + 1)));
      const m = model(s, view(s, { attributions: [shapOf(s, values)] }));
      const engine = fakeEngine();
      const el = document.createElement("div");
      document.body.append(el);
      renderPanel(m, el, { loadEngine: engine.load });
      m.set("_global", ready());
      await settle();
      const search = el.querySelector("[data-testid=ow-sliders] input[type=search]") as HTMLInputElement;
      const type = (text: string) => {
        search.value = text;
        search.dispatchEvent(new Event("input"));
      };
      const click = async (k: number) => {
        engine.views.get("importance")?.fire("click", { k, feature: s.features[k].name });
        await settle();
      };
      const focused = () => (document.activeElement?.closest(".ow-slider") as HTMLElement | null)?.dataset.j;
      const count = () => panel.q(el, "ow-slider-count").textContent;
      return { s, m, engine, el, search, type, click, focused, count };
    }

    it("and counts it: the count is the number of sliders listed", async () => {
      const { el, click, focused, count } = await wide();
      expect(panel.order(el)).toHaveLength(16);
      await click(20);
      expect(panel.order(el)).toHaveLength(17);
      expect(panel.order(el)).toContain(20);
      expect(focused()).toBe("20");
      expect(count()).toBe("17 of 40 features, ordered by impact on this row");
      expect(panel.q(el, "ow-sliders").querySelector(".ow-more")?.textContent).toBe("Show the other 23");
    });

    it("under a search it does not match: the search gives way, its field cleared, and the slider takes the focus", async () => {
      const { m, engine, el, search, type, click, focused, count } = await wide();
      type("f3");
      expect(panel.order(el)).toEqual([39, 3, 30, 31, 32, 33, 34, 35, 36, 37, 38]);
      await click(20);
      expect(engine.views.get("dependence")?.signals.feature).toBe(20);
      expect(m.get("feature")).toBe("f20");
      expect(search.value).toBe("");
      expect(panel.order(el)).toContain(20);
      expect(focused()).toBe("20");
      expect(count()).toBe(`${panel.order(el).length} of 40 features, ordered by impact on this row`);
    });

    it("under a search it matches, beyond the search's top ones: the search stays, the slider is listed in addition", async () => {
      const { el, search, type, click, focused, count } = await wide();
      type("f");
      expect(panel.order(el)).toHaveLength(16);
      await click(25);
      expect(search.value).toBe("f");
      expect(panel.order(el)).toHaveLength(17);
      expect(panel.order(el).at(-1)).toBe(25);
      expect(focused()).toBe("25");
      expect(count()).toBe("17 of 40 matches for “f”, ordered by impact on this row");
    });
  });

  it("a click on a point of the fidelity curve shows its rules, and the ring follows the table", async () => {
    const s = schema();
    const fidelity = { layer: [], params: [param("shown_rules", 2), param("shown_family", "decision tree")] };
    const withFidelity = () => ({ ...ready(), specs: { ...ready().specs, fidelity } });
    for (const live of [true, false]) {
      const m = model(s);
      const engine = fakeEngine();
      const el = document.createElement("div");
      renderPanel(m, el, { loadEngine: engine.load, canExport: live });
      m.set("_surrogate", surrogate(s));
      m.set("_global", withFidelity());
      await settle();
      const chart = engine.views.get("fidelity");
      expect(chart?.signals).toEqual({ shown_rules: 2, shown_family: "decision tree" });
      chart?.fire("click", { family: "optimal tree", rules: 3, fidelity: 0.91 });
      if (!live) {
        expect(m.messages.filter((msg) => msg.type === "surrogate-size")).toEqual([]); // no kernel to ask
        continue;
      }
      expect(m.messages.at(-1)).toEqual({ type: "surrogate-size", rules: 3, family: "optimal tree" });
      // Python answers with those rules: the table and the ring follow.
      m.set("_surrogate", { ...surrogate(s), complexity: 3, family: "optimal tree" });
      await settle();
      expect(chart?.signals).toEqual({ shown_rules: 3, shown_family: "optimal tree" });
      expect(panel.q(el, "ow-rules-caption").textContent).toContain("optimal tree, 3 rules");
    }
  });

  it("in an export, a point of a row that is not in the file says so", async () => {
    const s = schema();
    const m = model(s);
    const engine = fakeEngine();
    const el = document.createElement("div");
    renderPanel(m, el, { loadEngine: engine.load, rowNumbers: [40, 41, 42] });
    m.set("_global", ready());
    await settle();
    engine.views.get("beeswarm")?.fire("click", { row: 42 });
    expect(m.sent.at(-1)).toMatchObject({ type: "request", index: 2 });
    const before = m.sent.length;
    engine.views.get("beeswarm")?.fire("click", { row: 5 });
    expect(m.sent.length).toBe(before);
    expect(el.querySelector("[data-testid=ow-error]")?.textContent).toContain("Row 5 of X is not in this file");
  });

  it("a chart the engine cannot draw says so, and the other charts are drawn", async () => {
    const s = schema();
    const m = model(s);
    const engine = fakeEngine();
    const broken = {
      ...engine,
      load: async () => {
        const real = await engine.load();
        return {
          ...real,
          embed: (el: HTMLElement, spec: object, options: object) =>
            el.dataset.chart === "importance" ? Promise.reject(new Error("Operator not defined: undefined")) : real.embed(el, spec, options),
        };
      },
    };
    const el = document.createElement("div");
    renderPanel(m, el, { loadEngine: broken.load });
    m.set("_global", ready());
    await settle();
    await settle();
    const box = el.querySelector('.ow-chart[data-chart="importance"]') as HTMLElement;
    expect(box.dataset.error).toBe("true");
    expect(box.textContent).toBe("The importance chart could not be drawn: Operator not defined: undefined");
    expect([...engine.views.keys()]).toEqual(["beeswarm", "dependence"]);
  });

  it("a failure is shown and the local panel goes on", async () => {
    const s = schema();
    const m = model(s);
    const el = document.createElement("div");
    renderPanel(m, el, { loadEngine: fakeEngine().load });
    m.set("_global", { state: "error", done: 0, total: 0, message: "ValueError: boom" });
    expect(el.querySelector(".ow-global-status")?.textContent).toBe("The global views failed: ValueError: boom");
    expect(el.querySelector("[data-testid=ow-forcebar]")).not.toBeNull();
  });

  it("reads a category's code and skips missing values for the instance marker", () => {
    expect(GlobalViews.current(["a", "b"], "b", 0.25)).toEqual({ current_x: 1, current_y: 0.25 });
    expect(GlobalViews.current(null, null, Number.NaN)).toEqual({ current_x: null, current_y: null });
    expect(GlobalViews.current(null, 3.5, undefined)).toEqual({ current_x: 3.5, current_y: null });
  });

  it("has a legend for the marks the charts draw", () => {
    const views = new GlobalViews(fakeEngine().load, { selectFeature() {}, selectRow() {}, hover() {} });
    const text = views.el.querySelector("[data-testid=ow-legend]")?.textContent ?? "";
    expect(text).toContain("ringed point: the current row");
    expect(text).toContain("the selected feature");
    expect(text).toContain("surrogate's thresholds");
  });
});

describe("the charts before the panel selects a feature", () => {
  it("keep the specs' own feature (a default of 0 drew an empty plot when its values do not travel)", async () => {
    const engine = fakeEngine();
    const views = new GlobalViews(engine.load, { selectFeature() {}, selectRow() {}, hover() {} });
    document.body.append(views.el);
    const info = ready();
    info.specs = { ...info.specs, dependence: { layer: [], params: [param("feature", 3), param("current_x", null)] } };
    await views.update(info);
    expect(engine.views.get("dependence")?.signals.feature).toBe(3);
    expect(engine.views.get("dependence")?.runs).toBe(0); // nothing set: nothing run again
    await views.set({ feature: 5 });
    expect(engine.views.get("dependence")?.signals.feature).toBe(5);
  });
});
