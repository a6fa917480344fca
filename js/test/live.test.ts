// The live loop as the user meets it: drags, releases, errors, Python-side bumps, the AFM.
import type { AnyModel } from "@anywidget/types";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import widget from "../src/index";
import { type PanelModel, renderPanel } from "../src/panel";
import type { WidgetModel } from "../src/types";
import { mixedSchema, model, schema, view } from "./fixtures";

const q = (el: Element, id: string) => el.querySelector(`[data-testid="${id}"]`) as HTMLElement;
const rowOf = (el: Element, name: string) =>
  [...q(el, "ow-sliders").querySelectorAll<HTMLElement>(".ow-slider")].find((r) => r.dataset.feature === name) as HTMLElement;
const rangeOf = (el: Element, name: string) => rowOf(el, name).querySelector("input[type=range]") as HTMLInputElement;

// Animation frames run only when the test says so.
let frames: FrameRequestCallback[] = [];
const runFrame = () => frames.splice(0).forEach((cb) => cb(0));

beforeEach(() => {
  frames = [];
  vi.stubGlobal("requestAnimationFrame", (cb: FrameRequestCallback) => frames.push(cb));
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.replaceChildren();
});

function mount(m = model(schema())) {
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = renderPanel(m, el);
  return { el, m, cleanup };
}

function drag(range: HTMLInputElement, values: number[]) {
  range.dispatchEvent(new Event("pointerdown"));
  for (const v of values) {
    range.value = String(v);
    range.dispatchEvent(new Event("input"));
  }
}

describe("slider drag", () => {
  it("sends one fast request per frame with the last of 10 values, the release an exact one", () => {
    const { el, m } = mount(model(schema(), view(schema(), { seq: 4 })));
    const range = rangeOf(el, "f0");
    drag(range, [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(m.sent).toHaveLength(0); // nothing before the frame
    runFrame();
    expect(m.sent).toEqual([{ type: "request", seq: 5, index: 0, target: "yes", edits: { f0: 20 }, fast: true }]);
    runFrame();
    expect(m.sent).toHaveLength(1); // no frame, no repeat
    expect(el.querySelector(".ow-busy")?.textContent).toBe("updating…");
    range.dispatchEvent(new Event("change"));
    expect(m.sent).toHaveLength(2);
    expect(m.sent[1]).toEqual({ type: "request", seq: 6, index: 0, target: "yes", edits: { f0: 20 }, fast: false });
  });

  it("a fast view neither moves the dragged slider nor reorders the rows", () => {
    const s = schema();
    const { el, m } = mount(model(s, view(s, { seq: 0 })));
    const order = () => [...q(el, "ow-sliders").querySelectorAll<HTMLElement>(".ow-slider")].map((r) => r.dataset.feature);
    const before = order();
    const range = rangeOf(el, "f0");
    drag(range, [30]);
    runFrame();
    drag(range, [35]);
    // The answer to the first drag request arrives while the thumb is at 35.
    const fast = view(s, {
      seq: 1,
      quality: "fast",
      instance: { ...view(s).instance, f0: 30 },
      edited: ["f0"],
      shap: [0.001, 0.002, 0.003, 0.9],
      prediction: 0.61,
    });
    m.set("_view", fast);
    expect(q(el, "ow-prediction").textContent).toBe("P(yes) = 0.61");
    expect(q(el, "ow-quality").textContent).toBe("estimate (dragging)");
    expect(range.value).toBe("35");
    expect(order()).toEqual(before);
    // Release: the exact answer reorders by |SHAP| and the slider shows its value.
    range.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ fast: false, edits: { f0: 35 } });
    m.set("_view", { ...fast, seq: m.sent.at(-1)?.seq as number, quality: "exact", instance: { ...fast.instance, f0: 35 } });
    expect(q(el, "ow-quality").textContent).toBe("exact");
    expect(order()[0]).toBe("f3");
    expect(range.value).toBe("35");
    expect(el.querySelector(".ow-busy")?.textContent).toBe("");
  });

  it("a release that fires no change still asks for the exact view", async () => {
    const { el, m } = mount();
    const range = rangeOf(el, "f0");
    drag(range, [50]);
    runFrame();
    range.dispatchEvent(new Event("pointerup"));
    await new Promise((r) => setTimeout(r, 5));
    expect(m.sent.map((x) => x.fast)).toEqual([true, false]);
    expect(m.sent[1].edits).toEqual({ f0: 50 });
  });
});

describe("edits", () => {
  it("select and checkbox send exact requests with the new value", () => {
    const s = mixedSchema();
    const { el, m } = mount(model(s, view(s)));
    const select = rowOf(el, "city").querySelector("select") as HTMLSelectElement;
    select.value = "Lyon";
    select.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ fast: false, edits: { city: "Lyon" } });
    const box = rowOf(el, "owner").querySelector("input[type=checkbox]") as HTMLInputElement;
    box.checked = false;
    box.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ fast: false, edits: { city: "Lyon", owner: false } });
  });

  it("a reset moves the slider back at once and drops only that edit", () => {
    const s = schema();
    const v = view(s, { edited: ["f0", "f2"], instance: { ...view(s).instance, f0: 70, f2: 77 } });
    const { el, m } = mount(model(s, v));
    expect(rangeOf(el, "f0").value).toBe("70");
    (rowOf(el, "f0").querySelector(".ow-reset") as HTMLButtonElement).click();
    expect(m.sent.at(-1)).toMatchObject({ fast: false, edits: { f2: 77 } });
    expect(rangeOf(el, "f0").value).toBe("10");
    expect(rowOf(el, "f0").classList.contains("ow-edited")).toBe(false);
    expect(rowOf(el, "f2").classList.contains("ow-edited")).toBe(true);
    const resetAll = [...q(el, "ow-sliders").querySelectorAll("button")].find((b) => b.textContent === "Reset all") as HTMLButtonElement;
    resetAll.click();
    expect(m.sent.at(-1)).toMatchObject({ edits: {} });
    expect(rangeOf(el, "f2").value).toBe("30");
  });

  it("after an error, filtering the sliders does not revert the user's value", () => {
    const { el, m } = mount();
    const range = rangeOf(el, "f0");
    range.value = "90";
    range.dispatchEvent(new Event("input"));
    range.dispatchEvent(new Event("change"));
    m.set("error", "ValueError: f0 = 90 is out of range");
    expect(q(el, "ow-error").textContent).toContain("f0 = 90 is out of range");
    expect(q(el, "ow-error").getAttribute("role")).toBe("alert");
    const search = q(el, "ow-sliders").querySelector("input[type=search]") as HTMLInputElement;
    search.value = "f";
    search.dispatchEvent(new Event("input"));
    expect(rangeOf(el, "f0").value).toBe("90");
    expect((rowOf(el, "f0").querySelector("input[type=number]") as HTMLInputElement).value).toBe("90");
    expect(q(el, "ow-prediction").textContent).toBe("P(yes) = 0.52");
    // The next edit still carries the refused one: nothing of the user's is lost.
    const f1 = rangeOf(el, "f1");
    f1.value = "5";
    f1.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)?.edits).toEqual({ f0: 90, f1: 5 });
  });

  it("a new row starts from the edits its view reports", () => {
    const s = schema();
    const { el, m } = mount(model(s, view(s, { seq: 2 })));
    (el.querySelector('[aria-label="Next row"]') as HTMLButtonElement).click();
    expect(m.sent.at(-1)).toEqual({ type: "request", seq: 3, index: 1, target: "yes", fast: false });
    const instance = { ...view(s).instance, f3: 5 };
    m.set("_view", view(s, { seq: 3, index: 1, instance, edited: ["f3"] }));
    expect((q(el, "ow-row-input") as HTMLInputElement).value).toBe("1");
    expect(rangeOf(el, "f3").value).toBe("5");
    const f0 = rangeOf(el, "f0");
    f0.value = "60";
    f0.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toEqual({ type: "request", seq: 4, index: 1, target: "yes", edits: { f3: 5, f0: 60 }, fast: false });
  });

  it("an out-of-range or half-typed row number sends nothing", () => {
    const { el, m } = mount();
    const input = q(el, "ow-row-input") as HTMLInputElement;
    input.value = "10"; // n_rows is 10
    input.dispatchEvent(new Event("change"));
    input.value = "2.5";
    input.dispatchEvent(new Event("change"));
    expect(m.sent).toHaveLength(0);
    input.value = "9";
    input.dispatchEvent(new Event("change"));
    expect(m.sent).toEqual([{ type: "request", seq: 1, index: 9, target: "yes", fast: false }]);
  });
});

describe("optional views", () => {
  it("no LIME and no surrogate: no bars, no rule table, no threshold ticks", () => {
    const s = schema();
    const { el } = mount(model(s, view(s, { lime: null, agreement: null, rule: null }), false));
    expect(q(el, "ow-lime").querySelectorAll("li")).toHaveLength(0);
    expect(q(el, "ow-lime").textContent).toContain("LIME");
    expect(q(el, "ow-rules")).toBeNull();
    expect(el.querySelectorAll(".ow-threshold-tick")).toHaveLength(0);
    expect(q(el, "ow-forceplot").querySelectorAll("g.ow-seg")).toHaveLength(4);
  });

  it("regression: a value, no class switcher", () => {
    const s = schema();
    s.task = "regression";
    s.classes = null;
    s.targets = ["prediction"];
    const { el } = mount(model(s, view(s, { target: "prediction", prediction: 1234.5, predicted_label: null, probabilities: null, y: 1200 })));
    expect(q(el, "ow-prediction").textContent).toBe("prediction = 1235");
    expect(el.querySelector("select.ow-target")).toBeNull();
    expect(el.querySelector(".ow-detail")?.textContent).toBe("true: 1200");
  });

  it("a disagreeing LIME says so", () => {
    const s = schema();
    const { el } = mount(model(s, view(s, { agreement: { spearman: 0.2, top_k: 4, top_overlap: 0.25, sign_agreement: 0.5 } })));
    expect(q(el, "ow-lime").querySelector(".ow-verdict")?.textContent).toContain("disagree on this row");
  });
});

describe("linking with awkward names", () => {
  it('matches names with quotes, brackets and backslashes ("a\\"]b")', () => {
    const odd = 'a"] b\\[c';
    const s = schema(3, [odd, "x", "y"]);
    const { el } = mount(model(s, view(s)));
    const cond = [...q(el, "ow-rules").querySelectorAll<HTMLElement>(".ow-cond")].find((c) => c.dataset.feature === odd) as HTMLElement;
    cond.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(rowOf(el, odd).classList.contains("ow-linked")).toBe(true);
    const limeRow = [...q(el, "ow-lime").querySelectorAll<HTMLElement>("li")].find((r) => r.dataset.feature === odd) as HTMLElement;
    expect(limeRow.classList.contains("ow-linked")).toBe(true);
    expect(rowOf(el, "x").classList.contains("ow-linked")).toBe(false);
    cond.dispatchEvent(new FocusEvent("focusout", { bubbles: true }));
    expect(el.querySelectorAll(".ow-linked")).toHaveLength(0);
  });
});

describe("anywidget module (AFM)", () => {
  it("renders with a hand-written model and its cleanup removes every listener", () => {
    const s = schema();
    const state: WidgetModel = { _schema: s, _surrogate: null, _view: view(s), index: 0, target: "yes", error: null };
    const listeners = new Map<string, () => void>();
    const minimal = {
      get: <K extends keyof WidgetModel>(key: K) => state[key],
      set: () => {},
      save_changes: () => {},
      on: (event: string, cb: () => void) => listeners.set(event, cb),
      off: (event: string) => listeners.delete(event),
      send: () => {},
    };
    const el = document.createElement("div");
    const cleanup = widget.render({ model: minimal, el });
    expect(el.querySelector(".optiml-widget")).not.toBeNull();
    expect([...listeners.keys()].sort()).toEqual(["change:_global", "change:_view", "change:error", "change:feature", "msg:custom"]);
    expect(typeof cleanup).toBe("function");
    cleanup();
    expect(listeners.size).toBe(0);
  });

  it("anywidget's own model type fits the panel (checked by tsc)", () => {
    const fits = (m: AnyModel<WidgetModel>): PanelModel => m;
    expect(typeof fits).toBe("function");
  });
});
