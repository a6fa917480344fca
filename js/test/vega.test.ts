import info from "./global.json";
import { describe, expect, it, vi } from "vitest";
import { GlobalViews } from "../src/charts";
import * as engine from "../src/vega";
import type { GlobalInfo } from "../src/types";


describe("the real chart engine", () => {
  it("draws the specs Python builds, and the parameters move the marks", async () => {
    const hooks = { selected: [] as number[], selectFeature() {}, selectRow(row: number) { this.selected.push(row); }, hover() {} };
    const views = new GlobalViews(async () => engine, hooks);
    document.body.append(views.el);
    await views.update(info as GlobalInfo);
    const charts = views.el.querySelectorAll(".ow-chart[data-ready=true]");
    expect([...charts].map((c) => (c as HTMLElement).dataset.chart)).toEqual(["importance", "beeswarm", "dependence", "fidelity"]);
    const bars = views.el.querySelectorAll('[data-chart="importance"] [aria-roledescription="bar"]');
    expect(bars).toHaveLength(4);
    expect(views.el.querySelectorAll('[data-chart="beeswarm"] [aria-label^="row "]')).toHaveLength(40 * 4);
    const title = () => [...views.el.querySelectorAll('[data-chart="dependence"] text')].map((t) => t.textContent).find((t) => t?.startsWith("Dependence:"));
    await views.set({ feature: 2 });
    expect(title()).toBe("Dependence: f2");
    // A long name is cut in the title (which counts in the chart's width), whole in its tooltip.
    const long = "a feature name long enough to take the plot's width".repeat(2);
    const names = (info.specs.dependence as { params: { name: string; value: unknown }[] }).params.find((p) => p.name === "names")?.value as string[];
    await views.set({ names: names.map((n, j) => (j === 2 ? long : n)) });
    expect(title()).toBe(`Dependence: ${long.slice(0, 17)}…${long.slice(-18)}`); // its end differs too
    const heading = [...views.el.querySelectorAll('[data-chart="dependence"] .role-title-text text, [data-chart="dependence"] .role-title-text path')];
    expect(heading.map((t) => t.getAttribute("aria-label"))).toContain(`Dependence: ${long}`);
    await views.set({ names });
    await views.set({ row: 5 });
    const marked = views.el.querySelector('[data-chart="beeswarm"] [aria-label^="row 5 of X"]');
    expect(marked?.getAttribute("stroke")).toBe("#ffb300");
    // The fidelity chart rings the point whose rules the table shows, wherever that moves.
    const ring = () => [...views.el.querySelectorAll('[data-chart="fidelity"] [aria-label*="rules shown: "]')].map((e) => e.getAttribute("aria-label"));
    const fidelity = info.specs.fidelity as { params: { name: string; value: unknown }[] };
    const shown = Object.fromEntries(fidelity.params.map((p) => [p.name, p.value]));
    expect(ring()).toEqual([expect.stringMatching(new RegExp(`^rules: ${shown.shown_rules}; .*rules shown: ${shown.shown_family}$`))]);
    await views.set({ shown_rules: 3, shown_family: "decision tree" });
    expect(ring()).toEqual([expect.stringMatching(/^rules: 3; .*rules shown: decision tree$/)]);
  });

  it("draws every chart without a warning from Vega, whatever the parameters", async () => {
    // Each draw warned: a chart of discrete height dropped "fit-y", and the dependence plot's
    // layers with nothing to draw (no threshold, no current instance) had infinite extents.
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      const hooks = { selectFeature() {}, selectRow() {}, hover() {} };
      const views = new GlobalViews(async () => engine, hooks);
      document.body.append(views.el);
      await views.update(info as GlobalInfo);
      for (const feature of [0, 1, 2, 3]) {
        await views.set({ feature, current_x: null, current_y: null });
        await views.set({ current_x: 0.5, current_y: 0.1 });
      }
      expect(views.el.querySelectorAll(".ow-chart[data-ready=true]")).toHaveLength(4);
      expect(warn.mock.calls.map((call) => call.join(" "))).toEqual([]);
      views.finalize();
    } finally {
      warn.mockRestore();
    }
  });

  it("places the current instance and the thresholds on the dependence plot's scales", async () => {
    type Spec = { params: { name: string; value?: unknown }[] };
    const spec = info.specs.dependence as Spec;
    const params = spec.params.map((p) => (p.name === "current_x" ? { ...p, value: 0.5 } : p.name === "current_y" ? { ...p, value: 0.1 } : p));
    const box = document.createElement("div");
    document.body.append(box);
    const full = { ...spec, params, datasets: info.datasets } as unknown as Parameters<typeof engine.embed>[1];
    const drawn = await engine.embed(box, full, { renderer: "svg", actions: false, ast: true, expr: engine.expressionInterpreter });
    const view = drawn.view as unknown as { scale(name: string): (v: number) => number; signal(name: string): unknown };
    const x = view.scale("x");
    const y = view.scale("y");
    const at = (e: Element) => (e.getAttribute("transform") ?? "").match(/translate\(([-\d.]+),([-\d.]+)\)/)?.slice(1).map(Number);
    const diamond = [...box.querySelectorAll(".mark-symbol path")].find((p) => p.getAttribute("fill") === "black");
    const [dx, dy] = at(diamond as Element) ?? [NaN, NaN];
    expect(dx).toBeCloseTo(x(0.5), 1);
    expect(dy).toBeCloseTo(y(0.1), 1);
    // The selected feature's thresholds (the fixture's cut data), each a dashed line at its value.
    const feature = view.signal("feature");
    const data = info.datasets as Record<string, { k?: number; t?: number }[]>;
    const thresholds = Object.values(data).flat().filter((d) => d.k === feature && typeof d.t === "number").map((d) => d.t as number);
    expect(thresholds.length).toBeGreaterThan(0);
    const lines = [...box.querySelectorAll(".mark-rule line")].filter((l) => l.getAttribute("stroke-dasharray"));
    expect(lines.length).toBe(thresholds.length);
    const xs = lines.map((l) => Number(at(l)?.[0] ?? l.getAttribute("x1")));
    expect(xs.sort((a, b) => a - b).map((v) => v.toFixed(1))).toEqual(thresholds.map(x).sort((a, b) => a - b).map((v) => v.toFixed(1)));
    drawn.finalize();
  });

  it("keeps the current instance in view at the plot's edge when it lies beyond the points", async () => {
    // An edit past X's values, or a SHAP value past a bin's band: clipped, the diamond vanished.
    type Spec = { params: { name: string; value?: unknown }[] };
    const spec = info.specs.dependence as Spec;
    for (const [cx, cy] of [
      [100, 0.1],
      [0.5, 50],
      [-100, -50],
    ]) {
      const params = spec.params.map((p) => (p.name === "current_x" ? { ...p, value: cx } : p.name === "current_y" ? { ...p, value: cy } : p));
      const box = document.createElement("div");
      document.body.append(box);
      const full = { ...spec, params, datasets: info.datasets } as unknown as Parameters<typeof engine.embed>[1];
      const drawn = await engine.embed(box, full, { renderer: "svg", actions: false, ast: true, expr: engine.expressionInterpreter });
      const view = drawn.view as unknown as { signal(name: string): number };
      const diamond = [...box.querySelectorAll(".mark-symbol path")].find((p) => p.getAttribute("fill") === "black");
      const [dx, dy] = (diamond?.getAttribute("transform") ?? "").match(/translate\(([-\d.]+),([-\d.]+)\)/)?.slice(1).map(Number) ?? [NaN, NaN];
      expect(dx).toBeGreaterThanOrEqual(0);
      expect(dx).toBeLessThanOrEqual(view.signal("width"));
      expect(dy).toBeGreaterThanOrEqual(0);
      expect(dy).toBeLessThanOrEqual(view.signal("height"));
      drawn.finalize();
    }
  });

  it("labels the dependence plot's SHAP axis in plain numbers at every scale", async () => {
    // "~g" took one significant digit from a tick step of 20: SHAP values in the tens read
    // "6e+1, 4e+1, 2e+1".
    type Spec = { params: { name: string; value?: unknown }[]; layer: unknown[] };
    const spec = info.specs.dependence as Spec;
    const data = info.datasets as Record<string, { s?: number[] }[]>;
    const params = spec.params.map((p) => (p.name === "current_y" || p.name === "current_x" ? { ...p, value: null } : p));
    const read = (text: string) => Number(text.replace("\u2212", "-").replaceAll(",", ""));
    for (const scale of [1e-4, 0.01, 1, 300, 1e5]) {
      const datasets = Object.fromEntries(
        Object.entries(data).map(([name, rows]) => [name, rows.map((row) => (row.s ? { ...row, s: row.s.map((v) => v * scale) } : row))]),
      );
      const box = document.createElement("div");
      document.body.append(box);
      const full = { ...spec, params, datasets } as unknown as Parameters<typeof engine.embed>[1];
      const drawn = await engine.embed(box, full, { renderer: "svg", actions: false, ast: true, expr: engine.expressionInterpreter });
      const labels = [...box.querySelectorAll('.role-axis[aria-label^="Y-axis"] .role-axis-label text')].map((t) => t.textContent ?? "");
      const ticks = (drawn.view as unknown as { scale(name: string): { ticks(n: number): number[] } }).scale("y").ticks(labels.length);
      expect(labels.length).toBeGreaterThan(2);
      for (const label of labels) expect(label).toMatch(/^\u2212?[\d,]+(\.\d+)?$/); // no exponent
      expect(new Set(labels).size).toBe(labels.length); // each tick its own number
      // Each label reads as its tick's value.
      labels.forEach((label, k) => expect(read(label)).toBeCloseTo(ticks[k], 12));
      drawn.finalize();
    }
  });

  it("names every category under the dependence plot, long names cut, none hidden", async () => {
    // Blank labels between the categories' codes made Vega's overlap removal drop real names.
    type Spec = { params: { name: string; value?: unknown }[] };
    const spec = info.specs.dependence as Spec;
    const cities = ["Paris", "New York", "São Paulo", "a very long city name that goes on and on"];
    const categories = spec.params.find((p) => p.name === "categories")?.value as (string[] | null)[];
    expect(categories[3]).toEqual(["0", "1", "2", "3"]); // f3 is a category, by its codes
    const params = spec.params.map((p) =>
      p.name === "categories" ? { ...p, value: categories.map((c, j) => (j === 3 ? cities : c)) } : p.name === "feature" ? { ...p, value: 3 } : p,
    );
    const box = document.createElement("div");
    document.body.append(box);
    const full = { ...spec, params, datasets: info.datasets } as unknown as Parameters<typeof engine.embed>[1];
    const drawn = await engine.embed(box, full, { renderer: "svg", actions: false, ast: true, expr: engine.expressionInterpreter });
    const labels = [...box.querySelectorAll('.role-axis[aria-label^="X-axis"] .role-axis-label text')];
    const visible = labels.filter((t) => t.getAttribute("opacity") !== "0").map((t) => t.textContent);
    expect(visible.slice(0, 3)).toEqual(["Paris", "New York", "São Paulo"]);
    expect(visible[3]).toMatch(/^a very .*…$/); // cut to its share of the width
    expect(labels).toHaveLength(4); // a tick per category, none between them
    drawn.finalize();
  });
});
