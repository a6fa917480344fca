import { afterEach, describe, expect, it } from "vitest";
import { renderPanel } from "../src/panel";
import { RequestLoop } from "../src/requests";
import type { RequestMessage, Value } from "../src/types";
import { model, panel, schema, shapOf, view } from "./fixtures";

const { q } = panel;
const range = (el: Element, j: number) => panel.range(el, j);

afterEach(() => document.body.replaceChildren());

function manualFrames() {
  const pending: (() => void)[] = [];
  return { schedule: (cb: () => void) => pending.push(cb), run: () => pending.splice(0).forEach((cb) => cb()) };
}

const YES = { target: "yes", versus: null };

describe("request loop", () => {
  it("sends one fast request per frame with the newest value, then an exact one", () => {
    const sent: RequestMessage[] = [];
    const frames = manualFrames();
    const loop = new RequestLoop({ send: (m) => sent.push(m) }, frames.schedule);
    for (let v = 1; v <= 10; v++) loop.requestFast(0, YES, new Map([[0, v]]));
    expect(sent).toHaveLength(0);
    frames.run();
    expect(sent).toEqual([{ type: "request", seq: 0, basis: -1, index: 0, target: "yes", versus: null, edits: [[0, 10]], fast: true }]);
    loop.requestExact(0, YES, new Map<number, Value>([[3, "x"], [0, 11]]));
    expect(sent[1]).toMatchObject({ seq: 1, edits: [[0, 11], [3, "x"]], fast: false });
    expect(loop.busy).toBe(true);
  });

  it("an exact request cancels a fast one waiting for its frame", () => {
    const sent: RequestMessage[] = [];
    const frames = manualFrames();
    const loop = new RequestLoop({ send: (m) => sent.push(m) }, frames.schedule);
    loop.requestFast(0, YES, new Map([[0, 1]]));
    loop.requestExact(0, YES, new Map([[0, 2]]));
    frames.run();
    expect(sent).toHaveLength(1);
    expect(sent[0].fast).toBe(false);
  });

  it("never lets an older view replace a newer one", () => {
    const loop = new RequestLoop({ send: () => {} });
    const s = schema();
    expect(loop.accept(view(s, { seq: 5 }))).toBe(true);
    expect(loop.accept(view(s, { seq: 3 }))).toBe(false);
    expect(loop.accept(view(s, { seq: 5 }))).toBe(true); // a later part of the same view
  });
});

describe("the panel's live loop", () => {
  it("keeps showing the newest view when a stale one arrives", () => {
    const s = schema();
    const m = model(s);
    const el = document.createElement("div");
    renderPanel(m, el);
    m.set("_view", view(s, { seq: 5, prediction: 0.8 }));
    m.set("_view", view(s, { seq: 3, prediction: 0.1 }));
    expect(q(el, "ow-prediction").textContent).toBe("P(yes) = 0.8");
  });

  it("a slider drag sends fast requests, the release an exact one", async () => {
    const s = schema();
    const m = model(s);
    const el = document.createElement("div");
    renderPanel(m, el);
    const f0 = range(el, 0);
    for (const v of ["20", "30", "40"]) {
      f0.value = v;
      f0.dispatchEvent(new Event("input"));
    }
    await new Promise((r) => setTimeout(r, 40));
    expect(m.sent).toHaveLength(1);
    expect(m.sent[0]).toMatchObject({ fast: true, edits: [[0, 40]] });
    expect(el.querySelector(".ow-busy")?.textContent).toBe("updating…");
    f0.dispatchEvent(new Event("change"));
    expect(m.sent[1]).toMatchObject({ fast: false, edits: [[0, 40]], seq: m.sent[0].seq + 1 });
    expect(m.sent[0].seq).toBeGreaterThan(0); // newer than the view on screen
  });

  it("a view bumped by Python moves the slider and later requests are newer", () => {
    const s = schema();
    const m = model(s);
    const el = document.createElement("div");
    renderPanel(m, el);
    m.set("_view", view(s, { seq: 7, values: [64, 20, 30, 40], edited: [0] }));
    expect(range(el, 0).value).toBe("64");
    const number = panel.slider(el, 0).querySelector("input[type=number]") as HTMLInputElement;
    number.value = "12";
    number.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ seq: 8, edits: [[0, 12]] });
  });

  it("an error shows a banner and keeps the user's slider and the last good view", () => {
    const s = schema();
    const m = model(s);
    const el = document.createElement("div");
    renderPanel(m, el);
    const f0 = range(el, 0);
    f0.value = "90";
    f0.dispatchEvent(new Event("change"));
    m.set("error", "ValueError: the model rejects f0 = 90");
    expect(q(el, "ow-error").hidden).toBe(false);
    expect(q(el, "ow-error").textContent).toContain("the model rejects f0 = 90");
    expect(f0.value).toBe("90");
    expect(q(el, "ow-prediction").textContent).toBe("P(yes) = 0.52");
    expect(el.querySelector(".ow-busy")?.textContent).toBe("");
    m.set("error", null);
    expect(q(el, "ow-error").hidden).toBe(true);
  });
});

describe("drag estimates from the model's curves", () => {
  function curves(seq: number, edits: [number, number][] = []) {
    // f0 and f1 move the prediction by +0.01 per unit on [0, 100]; points every 10.
    const values = Array.from({ length: 11 }, (_, i) => i * 10);
    const prediction = new Float64Array([...values, ...values].map((v) => 0.2 + 0.01 * v));
    return {
      seq,
      index: 0,
      target: "yes",
      versus: null,
      edits,
      features: [0, 1],
      offsets: [0, 11, 22],
      values: [...values, ...values],
      prediction: new DataView(prediction.buffer),
    };
  }

  it("shows the curve's value at once while Python is asked, keeping SHAP additive", () => {
    const s = schema();
    const v = view(s, { seq: 4 });
    const m = model(s, v);
    m.set("_curves", curves(4));
    const el = document.createElement("div");
    renderPanel(m, el);
    const f0 = range(el, 0);
    f0.value = "35";
    f0.dispatchEvent(new Event("input"));
    // f0 goes 10 -> 35: +0.25 on the curve, and SHAP's f0 takes it up (still additive)
    const expected = v.prediction + 0.25;
    expect(Number(q(el, "ow-prediction").dataset.value)).toBeCloseTo(expected, 5);
    expect(q(el, "ow-quality").textContent).toBe("estimate (dragging)");
    const title = q(el, "ow-forcebar").querySelector('g[data-j="0"] title')?.textContent ?? "";
    expect(title).toContain("f0 = 35");
    expect(title).toContain(`+${(shapOf(s).values[0] + 0.25).toFixed(2)}`);
    expect(q(el, "ow-forcebar").classList.contains("ow-stale")).toBe(false);
    expect(el.querySelector(".optiml-widget")?.getAttribute("data-estimate")).toBe("1");
    // Python's own view (newer) replaces the estimate.
    m.set("_view", view(s, { seq: 6, prediction: 0.77 }));
    expect(q(el, "ow-prediction").textContent).toBe("P(yes) = 0.77");
  });

  it("after a release, the curves swept before it still estimate the next drag of the feature moved", () => {
    const s = schema();
    // The exact view after f0 went 10 -> 50; the curves were swept at the row itself.
    const released = view(s, { seq: 7, values: [50, 20, 30, 40], edited: [0], prediction: 0.6 });
    const m = model(s, released);
    m.set("_curves", curves(4));
    const el = document.createElement("div");
    renderPanel(m, el);
    const f0 = range(el, 0);
    f0.value = "70";
    f0.dispatchEvent(new Event("input"));
    // Along f0 every other feature is as it was swept: 50 -> 70 is +0.2 on its curve.
    expect(Number(q(el, "ow-prediction").dataset.value)).toBeCloseTo(0.8, 5);
    expect(el.querySelector(".optiml-widget")?.getAttribute("data-estimate")).toBe("1");
    // f1's curve fixed f0 at 10, not at 50: no estimate from it (another widget: views
    // of one widget share their edits, f0's drag included).
    const fresh = model(s, released);
    fresh.set("_curves", curves(4));
    const other = document.createElement("div");
    renderPanel(fresh, other);
    const f1 = range(other, 1);
    f1.value = "60";
    f1.dispatchEvent(new Event("input"));
    expect(other.querySelector(".optiml-widget")?.getAttribute("data-estimate")).toBeNull();
    expect(q(other, "ow-forcebar").classList.contains("ow-stale")).toBe(true);
  });

  it("makes no estimate from curves of another instance", () => {
    const s = schema();
    const m = model(s, view(s, { seq: 4 }));
    m.set("_curves", curves(3, [[1, 80]])); // swept with f1 at 80, where the view has 20
    const el = document.createElement("div");
    renderPanel(m, el);
    const f0 = range(el, 0);
    f0.value = "35";
    f0.dispatchEvent(new Event("input"));
    expect(q(el, "ow-prediction").textContent).toBe("P(yes) = 0.52");
    // No estimate: the force plot says it is behind the slider.
    expect(q(el, "ow-forcebar").classList.contains("ow-stale")).toBe(true);
  });
});
