// The live loop as the user meets it: drags, releases, a stable slider order, errors,
// Python-side bumps, wide data fetched on demand, the AFM.
import type { AnyModel } from "@anywidget/types";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import widget from "../src/index";
import { type PanelMessage, type PanelModel, renderPanel } from "../src/panel";
import { keepAt } from "../src/sliders";
import type { FeatureInfo, WidgetModel } from "../src/types";
import { type FakeModel, limeOf, mixedSchema, model, panel, schema, shapOf, view } from "./fixtures";

const { q, card } = panel;

// Animation frames run only when the test says so.
let frames: FrameRequestCallback[] = [];
const runFrame = () => frames.splice(0).forEach((cb) => cb(0));

beforeEach(() => {
  frames = [];
  vi.stubGlobal("requestAnimationFrame", (cb: FrameRequestCallback) => frames.push(cb));
  vi.stubGlobal("cancelAnimationFrame", () => {});
});
afterEach(() => {
  vi.unstubAllGlobals();
  document.body.replaceChildren();
});

/** A view's own model proxy over a widget's model, as anywidget makes one per view. */
function proxyOf(m: FakeModel): PanelModel {
  return {
    get: (key) => m.get(key),
    on: (event, cb) => m.on(event, cb),
    off: (event, cb) => m.off(event, cb),
    send: (message) => m.send(message),
    set: (key, value) => m.set(key, value),
  };
}

function mount<M extends PanelModel = FakeModel>(m: M = model(schema()) as unknown as M) {
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
    const range = panel.range(el, 0);
    drag(range, [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(m.sent).toHaveLength(0); // nothing before the frame
    runFrame();
    expect(m.sent).toEqual([{ type: "request", seq: 5, basis: 4, index: 0, target: "yes", versus: null, edits: [[0, 20]], fast: true }]);
    runFrame();
    expect(m.sent).toHaveLength(1); // no frame, no repeat
    expect(el.querySelector(".ow-busy")?.textContent).toBe("updating…");
    range.dispatchEvent(new Event("change"));
    expect(m.sent).toHaveLength(2);
    expect(m.sent[1]).toEqual({ type: "request", seq: 6, basis: 4, index: 0, target: "yes", versus: null, edits: [[0, 20]], fast: false });
  });

  it("after a release the slider order stays as it was: the slider under the pointer is the one dragged", () => {
    const s = schema();
    const { el, m } = mount(model(s, view(s, { seq: 0 })));
    const before = panel.order(el);
    expect(before).toEqual([0, 1, 2, 3]); // by |SHAP| of the row
    const range = panel.range(el, 2);
    drag(range, [30]);
    runFrame();
    drag(range, [35]);
    // The answer to the first drag request arrives while the thumb is at 35, with SHAP
    // values that would sort f3 first.
    const moved = shapOf(s, [0.001, 0.002, 0.003, 0.9]);
    const fast = view(s, { seq: 1, quality: "fast", values: [10, 20, 30, 40], edited: [2], attributions: [moved, null], pending: ["lime"], prediction: 0.61 });
    m.set("_view", fast);
    expect(q(el, "ow-prediction").textContent).toBe("P(yes) = 0.61");
    expect(q(el, "ow-quality").textContent).toBe("estimate (dragging)");
    expect(range.value).toBe("35");
    expect(panel.order(el)).toEqual(before);
    range.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ fast: false, edits: [[2, 35]] });
    const exact = { ...fast, seq: m.sent.at(-1)?.seq as number, quality: "exact" as const, values: [10, 20, 35, 40] };
    m.set("_view", exact);
    m.set("_view", { ...exact, attributions: [moved, limeOf(s)], pending: [] }); // LIME streams in
    expect(q(el, "ow-quality").textContent).toBe("exact");
    expect(panel.order(el)).toEqual(before);
    expect(range.value).toBe("35");
    expect(el.querySelector(".ow-busy")?.textContent).toBe("");
    // "Order by impact" re-sorts on request; a new row does too.
    (q(el, "ow-sliders").querySelector(".ow-sort") as HTMLButtonElement).click();
    expect(panel.order(el)).toEqual([3, 2, 1, 0]);
    m.set("_view", view(s, { seq: 20, index: 1 }));
    expect(panel.order(el)).toEqual([0, 1, 2, 3]);
  });

  it("another class orders the sliders by its own impact", () => {
    const s = schema();
    const { el, m } = mount(model(s, view(s, { seq: 1, attributions: [shapOf(s, [0.4, 0.3, 0.2, 0.1]), null] })));
    expect(panel.order(el)).toEqual([0, 1, 2, 3]);
    m.set("_view", view(s, { seq: 2, target: "no", attributions: [shapOf(s, [-0.1, -0.2, -0.3, -0.4]), null] }));
    expect(panel.order(el)).toEqual([3, 2, 1, 0]);
  });

  it("a re-sort never moves the control in use", () => {
    const s = schema();
    const { el, m } = mount(model(s, view(s, { seq: 0 })));
    panel.range(el, 1).focus();
    m.set("_view", view(s, { seq: 5, index: 2, attributions: [shapOf(s, [0.001, 0.002, 0.003, 0.9]), limeOf(s)] }));
    expect(panel.order(el)[1]).toBe(1);
    expect(panel.order(el)[0]).toBe(3);
    expect(keepAt([3, 2, 1, 0], 1, 0)).toEqual([1, 3, 2, 0]);
  });

  it("while a drag is estimated, the other explanations and the hint are marked as behind", () => {
    const s = schema();
    const hint = { changes: [[0, 70]] as [number, number][], rule: 1, outcome_before: "no", outcome_after: "yes", prediction: 0.8, predicted_label: "yes", model_agrees: true, median: null, probability: 0.8, borrowed: false, text: "f0 → 70: the model says yes." };
    const { el } = mount(model(s, view(s, { counterfactual: hint })));
    const box = q(el, "ow-counterfactual");
    expect(box.classList.contains("ow-stale")).toBe(false);
    drag(panel.range(el, 0), [55]);
    expect(box.classList.contains("ow-stale")).toBe(true);
    expect((box.querySelector("button.ow-try") as HTMLButtonElement).disabled).toBe(true);
    expect(card(el, "lime").classList.contains("ow-stale")).toBe(true);
    expect(card(el, "lime").textContent).toContain("For the values before this change");
  });

  it("a release that fires no change still asks for the exact view", async () => {
    const { el, m } = mount();
    const range = panel.range(el, 0);
    drag(range, [50]);
    runFrame();
    range.dispatchEvent(new Event("pointerup"));
    await new Promise((r) => setTimeout(r, 5));
    expect(m.sent.map((x) => x.fast)).toEqual([true, false]);
    expect(m.sent[1].edits).toEqual([[0, 50]]);
  });
});

describe("edits", () => {
  it("select and checkbox send exact requests with the new value", () => {
    const s = mixedSchema();
    const { el, m } = mount(model(s, view(s)));
    const select = panel.slider(el, 2).querySelector("select") as HTMLSelectElement;
    panel.pick(select, "Lyon");
    expect(m.sent.at(-1)).toMatchObject({ fast: false, edits: [[2, "Lyon"]] });
    const box = panel.slider(el, 3).querySelector("input[type=checkbox]") as HTMLInputElement;
    box.checked = false;
    box.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ fast: false, edits: [[2, "Lyon"], [3, false]] });
  });

  it("a select names each category by its place: labels alike up to their type stay two", () => {
    const s = mixedSchema();
    s.features[2].categories = ["1 (int)", "1 (str)", "x"];
    const values = [10, 20, "1 (str)", true];
    const { el, m } = mount(model(s, view(s, { values, original: values })));
    const select = panel.slider(el, 2).querySelector("select") as HTMLSelectElement;
    expect([...select.options].map((o) => o.value)).toEqual(["0", "1", "2"]);
    expect(select.selectedIndex).toBe(1);
    panel.pick(select, "1 (int)");
    expect(m.sent.at(-1)).toMatchObject({ fast: false, edits: [[2, "1 (int)"]] });
  });

  it("a reset moves the slider back at once and drops only that edit", () => {
    const s = schema();
    const v = view(s, { edited: [0, 2], values: [70, 20, 77, 40] });
    const { el, m } = mount(model(s, v));
    expect(panel.range(el, 0).value).toBe("70");
    (panel.slider(el, 0).querySelector(".ow-reset") as HTMLButtonElement).click();
    expect(m.sent.at(-1)).toMatchObject({ fast: false, edits: [[2, 77]] });
    expect(panel.range(el, 0).value).toBe("10");
    expect(panel.slider(el, 0).classList.contains("ow-edited")).toBe(false);
    expect(panel.slider(el, 2).classList.contains("ow-edited")).toBe(true);
    const resetAll = [...q(el, "ow-sliders").querySelectorAll("button")].find((b) => b.textContent === "Reset all") as HTMLButtonElement;
    resetAll.click();
    expect(m.sent.at(-1)).toMatchObject({ edits: [] });
    expect(panel.range(el, 2).value).toBe("30");
  });

  it("a second failure with the same message still ends the wait", () => {
    const { el, m } = mount();
    const range = panel.range(el, 0);
    for (const value of ["90", "95"]) {
      range.value = value;
      range.dispatchEvent(new Event("change"));
      expect(el.querySelector(".ow-busy")?.textContent).toBe("updating…");
      m.set("error", "ValueError: out of range"); // the same text twice: no change the second time
      m.message({ type: "failed", seq: m.sent.at(-1)?.seq });
      expect(el.querySelector(".ow-busy")?.textContent).toBe("");
    }
  });

  it("a failure of an older request leaves a newer one waiting", () => {
    const { el, m } = mount();
    const range = panel.range(el, 0);
    range.value = "90";
    range.dispatchEvent(new Event("change"));
    range.value = "80";
    range.dispatchEvent(new Event("change"));
    m.message({ type: "failed", seq: m.sent[0].seq });
    expect(el.querySelector(".ow-busy")?.textContent).toBe("updating…");
  });

  it("a view made from Python during a drag brings its edits; the dragged value stays", () => {
    const s = schema();
    const { el, m } = mount(model(s, view(s, { seq: 4 })));
    drag(panel.range(el, 0), [11, 12]);
    runFrame(); // a fast request is in flight
    const values = view(s).values;
    values[2] = 33; // w.set_features from Python: feature 2
    m.set("_view", view(s, { seq: 6, values, edited: [2] }));
    drag(panel.range(el, 0), [13]);
    runFrame();
    expect(m.sent.at(-1)).toMatchObject({ basis: 6, edits: [[0, 13], [2, 33]] });
  });

  it("a view of another row made from Python during a drag leaves the old row's edits behind", () => {
    const s = schema();
    const { el, m } = mount(model(s, view(s, { seq: 4 })));
    drag(panel.range(el, 0), [11, 12]);
    runFrame();
    m.set("_view", view(s, { seq: 6, index: 3 })); // w.index = 3 from Python
    const range = panel.range(el, 1);
    range.value = "5";
    range.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ index: 3, edits: [[1, 5]] });
  });

  it("after an error, filtering the sliders does not revert the user's value", () => {
    const { el, m } = mount();
    const range = panel.range(el, 0);
    range.value = "90";
    range.dispatchEvent(new Event("input"));
    range.dispatchEvent(new Event("change"));
    m.set("error", "ValueError: f0 = 90 is out of range");
    expect(q(el, "ow-error").textContent).toContain("f0 = 90 is out of range");
    expect(q(el, "ow-error").getAttribute("role")).toBe("alert");
    const search = q(el, "ow-sliders").querySelector("input[type=search]") as HTMLInputElement;
    search.value = "f";
    search.dispatchEvent(new Event("input"));
    expect(panel.range(el, 0).value).toBe("90");
    expect((panel.slider(el, 0).querySelector("input[type=number]") as HTMLInputElement).value).toBe("90");
    expect(q(el, "ow-prediction").textContent).toBe("P(yes) = 0.52");
    expect(el.querySelector(".ow-busy")?.textContent).toBe("");
    // The next edit still carries the refused one: nothing of the user's is lost.
    const f1 = panel.range(el, 1);
    f1.value = "5";
    f1.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)?.edits).toEqual([[0, 90], [1, 5]]);
    m.set("error", null);
    expect(q(el, "ow-error").hidden).toBe(true);
  });

  it("a new row starts from the edits its view reports", () => {
    const s = schema();
    const { el, m } = mount(model(s, view(s, { seq: 2 })));
    (el.querySelector('[aria-label="Next row"]') as HTMLButtonElement).click();
    expect(m.sent.at(-1)).toEqual({ type: "request", seq: 3, basis: 2, index: 1, target: "yes", versus: null, fast: false });
    m.set("_view", view(s, { seq: 3, index: 1, values: [10, 20, 30, 5], edited: [3] }));
    expect((q(el, "ow-row-input") as HTMLInputElement).value).toBe("1");
    expect(panel.range(el, 3).value).toBe("5");
    const f0 = panel.range(el, 0);
    f0.value = "60";
    f0.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toEqual({ type: "request", seq: 4, basis: 3, index: 1, target: "yes", versus: null, edits: [[0, 60], [3, 5]], fast: false });
  });

  it("quick clicks on the next-row button step from the row asked for", () => {
    const s = schema();
    const { el, m } = mount(model(s, view(s, { seq: 2 })));
    const next = el.querySelector('[aria-label="Next row"]') as HTMLButtonElement;
    for (let i = 0; i < 3; i++) next.click();
    m.set("_view", view(s, { seq: 3, index: 1 })); // the first click's answer, two still in flight
    for (let i = 0; i < 2; i++) next.click();
    expect(m.sent.map((r) => r.index)).toEqual([1, 2, 3, 4, 5]);
  });

  it("a class picked right after quick row clicks is for the row asked for", () => {
    const s = schema();
    const { el, m } = mount(model(s, view(s, { seq: 2 })));
    const next = el.querySelector('[aria-label="Next row"]') as HTMLButtonElement;
    next.click();
    next.click();
    const select = el.querySelector("select") as HTMLSelectElement;
    select.value = "no";
    select.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ index: 2, target: "no" });
    expect(m.sent.at(-1)?.edits).toBeUndefined(); // that row keeps its own edits
  });

  it("a class picked, then a slider moved before the answer: the request keeps the class", () => {
    const s = schema();
    const { el, m } = mount(model(s, view(s, { seq: 2 })));
    const select = el.querySelector("select") as HTMLSelectElement;
    select.value = "no";
    select.dispatchEvent(new Event("change"));
    const range = panel.range(el, 0);
    drag(range, [25]);
    range.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ target: "no", edits: [[0, 25]], fast: false });
  });

  it("two views of one widget share its edits, and their requests never share a number", () => {
    const s = schema();
    const m = model(s, view(s, { seq: 3 }));
    // anywidget gives each view a model proxy of its own, over one widget model.
    const one = mount(proxyOf(m)).el;
    const two = mount(proxyOf(m)).el;
    const first = panel.range(one, 0);
    drag(first, [25]);
    first.dispatchEvent(new Event("change"));
    const second = panel.range(two, 1);
    drag(second, [35]);
    second.dispatchEvent(new Event("change"));
    const exact = m.sent.filter((r) => r.type === "request" && !r.fast);
    expect(exact.at(-1)).toMatchObject({ edits: [[0, 25], [1, 35]] });
    const seqs = m.sent.map((r) => (r.type === "request" ? r.seq : -1));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(two.querySelector(".ow-busy")?.textContent).toBe("updating…"); // both views wait
    expect(one.querySelector(".ow-busy")?.textContent).toBe("updating…");
  });

  it("a view made after the others are gone numbers its requests past the newest view", () => {
    const s = schema();
    const m = model(s, view(s, { seq: 3 }));
    const first = mount(proxyOf(m));
    first.cleanup(); // the notebook closed; Python moved on meanwhile
    m.set("_view", view(s, { seq: 10, values: [50, 20, 30, 40], edited: [0] }));
    const { el } = mount(proxyOf(m));
    const range = panel.range(el, 1);
    drag(range, [35]);
    range.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ seq: 11, basis: 10, edits: [[0, 50], [1, 35]] });
  });

  it("a failed request shows the last good view in every view of the widget", () => {
    const s = schema();
    const m = model(s, view(s, { seq: 3 }));
    const one = mount(proxyOf(m)).el;
    const two = mount(proxyOf(m)).el;
    drag(panel.range(two, 0), [25]);
    runFrame();
    expect(two.querySelector(".optiml-widget")?.getAttribute("data-quality")).toBe("fast"); // an estimate
    m.message({ type: "failed", seq: m.sent.at(-1)?.seq });
    for (const el of [one, two]) {
      expect(el.querySelector(".optiml-widget")?.getAttribute("data-quality")).toBe("exact");
      expect(el.querySelector(".ow-busy")?.textContent ?? "").not.toBe("updating…");
    }
  });

  it("a request the kernel can no longer take says the kernel is gone, and stops waiting", () => {
    const s = schema();
    const m = model(s, view(s, { seq: 3 }));
    const { el } = mount(m);
    m.send = () => {
      throw new Error("Cannot send"); // what a widget's closed comm throws
    };
    const range = panel.range(el, 0);
    drag(range, [25]);
    range.dispatchEvent(new Event("change"));
    expect(q(el, "ow-error").textContent).toContain("The kernel is gone (restarted or shut down)");
    expect(el.querySelector(".optiml-widget")?.getAttribute("data-quality")).toBe("exact"); // no estimate left
    expect(el.querySelector(".ow-busy")?.textContent ?? "").not.toBe("updating…");
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
    expect(m.sent).toEqual([{ type: "request", seq: 1, basis: 0, index: 9, target: "yes", versus: null, fast: false }]);
  });

  it("a row number out of range says which rows there are; the ends of the rows disable their arrows", () => {
    const { el, m } = mount();
    const input = q(el, "ow-row-input") as HTMLInputElement;
    input.value = "12";
    input.dispatchEvent(new Event("change"));
    expect(m.sent).toHaveLength(0);
    expect(q(el, "ow-notice").textContent).toBe("There is no row 12: the rows are 0 to 9.");
    expect((el.querySelector('[aria-label="Previous row"]') as HTMLButtonElement).disabled).toBe(true);
    expect((el.querySelector('[aria-label="Next row"]') as HTMLButtonElement).disabled).toBe(false);
  });

  it("a missing number has no thumb on its track, and its box says missing", () => {
    const s = schema();
    const values = [null, 20, 30, 40];
    const { el, m } = mount(model(s, view(s, { values, original: [...values] })));
    const row = panel.slider(el, 0);
    expect(row.classList.contains("ow-no-value")).toBe(true);
    expect(panel.range(el, 0).value).toBe("0"); // an empty track: no fill up to a made-up value
    expect((row.querySelector("input.ow-number") as HTMLInputElement).placeholder).toBe("missing");
    expect(panel.slider(el, 1).classList.contains("ow-no-value")).toBe(false);
    // A value set: the thumb is back.
    m.set("_view", view(s, { seq: 1, values: [55, 20, 30, 40], original: [...values], edited: [0] }));
    expect(row.classList.contains("ow-no-value")).toBe(false);
    expect((row.querySelector("input.ow-number") as HTMLInputElement).value).toBe("55");
  });

  it("the number box shows the value in use once a typed one is answered, and keeps a text that says the same", () => {
    const { el, m } = mount();
    const box = panel.slider(el, 0).querySelector("input.ow-number") as HTMLInputElement;
    box.focus();
    box.value = "42.123456";
    box.dispatchEvent(new Event("input"));
    box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(m.sent.at(-1)).toMatchObject({ edits: [[0, 42.123456]] });
    const s = schema();
    m.set("_view", view(s, { seq: m.sent.at(-1)?.seq, values: [42.123456, 20, 30, 40], edited: [0] }));
    expect(box.value).toBe("42.123456"); // the user's digits, the same value
    m.set("_view", view(s, { seq: (m.sent.at(-1)?.seq ?? 0) + 1, values: [41, 20, 30, 40], edited: [0] }));
    expect(box.value).toBe("41"); // another value is in use: the box says which
    box.value = "4";
    box.dispatchEvent(new Event("input"));
    m.set("_view", view(s, { seq: (m.sent.at(-1)?.seq ?? 0) + 2, values: [41, 20, 30, 40], edited: [0] }));
    expect(box.value).toBe("4"); // being typed: left alone
    box.value = "abc";
    box.blur();
    expect(box.value).toBe("41");
    // Typed and left with Tab: the typed value stays until the answer.
    box.focus();
    box.value = "33";
    box.dispatchEvent(new Event("input"));
    box.dispatchEvent(new Event("change"));
    box.blur();
    expect(m.sent.at(-1)).toMatchObject({ edits: [[0, 33]] });
    expect(box.value).toBe("33");
  });
});

describe("optional views", () => {
  it("no LIME and no surrogate: no bars, no rule table, no threshold ticks", () => {
    const s = schema();
    s.explainers = [s.explainers[0]];
    s.surrogate = false;
    const { el } = mount(model(s, view(s, { attributions: [shapOf(s)], agreement: [], rule: null }), false));
    expect(card(el, "lime")).toBeNull();
    expect(q(el, "ow-rules")).toBeNull();
    expect(el.querySelectorAll(".ow-threshold-tick")).toHaveLength(0);
    expect(q(el, "ow-forcebar").querySelectorAll("g.ow-seg")).toHaveLength(4);
  });

  it("a narrow panel draws the force bar at its own width, so its labels keep their size", () => {
    const s = schema();
    const width = vi.spyOn(HTMLElement.prototype, "clientWidth", "get").mockReturnValue(384);
    try {
      const { el } = mount(model(s, view(s)));
      const svg = q(el, "ow-forcebar").querySelector("svg") as SVGSVGElement;
      expect(svg.getAttribute("viewBox")).toBe("0 0 384 50"); // drawn 1:1, not 720 scaled down
    } finally {
      width.mockRestore();
    }
  });

  it("an explainer with no result for this view and none coming says so", () => {
    const s = schema();
    const { el } = mount(model(s, view(s, { attributions: [shapOf(s), null], agreement: [] })));
    expect(card(el, "lime").textContent).toContain("LIME is not available for this view.");
  });

  it("an explainer that failed for this view says why on its card; the rest of the view stands, with no failed-change banner", () => {
    const s = schema();
    const why = "LIME failed for this row: ValueError: The model returned NaN for 224 of 5000 rows";
    for (const errorFirst of [true, false]) {
      const { el, m, cleanup } = mount(model(s, view(s, { seq: 2 })));
      const range = panel.range(el, 0);
      range.value = "60";
      range.dispatchEvent(new Event("change")); // waiting for the view of seq 3
      const failed = view(s, { seq: 3, attributions: [shapOf(s), null], agreement: [], failed: { lime: why } });
      // Python sets both in one message; their change events come in either order.
      if (errorFirst) {
        m.set("error", why);
        m.set("_view", failed);
      } else {
        m.set("_view", failed);
        m.set("error", why);
      }
      expect(card(el, "lime").textContent).toContain(why);
      expect(card(el, "lime").querySelector("[role=alert]")).not.toBeNull();
      expect(card(el, "shap").querySelector("[role=alert]")).toBeNull();
      expect(q(el, "ow-error").hidden).toBe(true);
      expect(el.querySelector(".ow-busy")?.textContent).toBe("");
      // A request that fails after it is a failed change again.
      m.set("error", "ValueError: f0 = 90 is out of range");
      expect(q(el, "ow-error").textContent).toContain("The last change failed");
      cleanup();
    }
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

  it("regression: the true value reads like the prediction", () => {
    const s = schema();
    s.task = "regression";
    s.classes = null;
    s.targets = ["prediction"];
    const { el } = mount(model(s, view(s, { target: "prediction", prediction: 5.1, predicted_label: null, probabilities: null, y: 5.5804496173966776 })));
    expect(el.querySelector(".ow-detail")?.textContent).toBe("true: 5.58");
  });
});

describe("wide data", () => {
  function wide(n: number) {
    const s = schema(n);
    // Only the row's top features arrive whole; the others are named, their range asked for.
    s.features = s.features.map((f, j): FeatureInfo => (j < 20 ? f : { name: f.name, kind: f.kind, min: null, max: null, quantiles: [], categories: null, counts: null, missing: 0, partial: true }));
    const values = s.features.map((_, j) => (j < 20 ? 0.05 / (j + 1) : 0));
    return { s, v: view(s, { attributions: [shapOf(s, values), limeOf(s)] }) };
  }

  it("shows the row's top features, and fetches a feature found by search before its slider shows", () => {
    const { s, v } = wide(1000);
    const { el, m } = mount(model(s, v));
    expect(q(el, "ow-sliders").querySelectorAll(".ow-slider")).toHaveLength(16);
    expect(m.asked.filter((t) => t === "features")).toHaveLength(0);
    expect(q(el, "ow-forcebar").querySelectorAll("g.ow-seg")).toHaveLength(9);
    const search = q(el, "ow-sliders").querySelector("input[type=search]") as HTMLInputElement;
    search.value = "f777";
    search.dispatchEvent(new Event("input"));
    expect(m.messages.at(-1)).toEqual({ type: "features", features: [777] });
    expect(panel.slider(el, 777).textContent).toContain("loading its range");
    search.dispatchEvent(new Event("input")); // asked once only
    expect(m.messages.filter((x) => x.type === "features")).toHaveLength(1);
    m.message({ type: "features", features: [[777, { ...s.features[0], name: "ignored", min: -5, max: 5 }]] });
    const range = panel.range(el, 777);
    expect(range.min).toBe("-5");
    expect(panel.slider(el, 777).querySelector("label")?.textContent).toBe("f777");
    range.value = "2.5";
    range.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ fast: false, edits: [[777, 2.5]] });
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
      send: (message: PanelMessage) => sent.push(message),
    };
    const sent: PanelMessage[] = [];
    const el = document.createElement("div");
    const cleanup = widget.render({ model: minimal, el });
    expect(el.querySelector(".optiml-widget")).not.toBeNull();
    expect([...listeners.keys()].sort()).toEqual([
      "change:_global",
      "change:_progress",
      "change:_surrogate",
      "change:_view",
      "change:error",
      "change:feature",
      "msg:custom",
    ]);
    // The view tells the kernel it is on screen, and when it is gone (on_screen.py).
    const shown = sent.find((message) => message.type === "view");
    expect(shown).toMatchObject({ type: "view", shown: true });
    expect(typeof cleanup).toBe("function");
    cleanup();
    expect(listeners.size).toBe(0);
    expect(sent.at(-1)).toEqual({ ...shown, shown: false });
  });

  it("anywidget's own model type fits the panel (checked by tsc)", () => {
    const fits = (m: AnyModel<WidgetModel>): PanelModel => m;
    expect(typeof fits).toBe("function");
  });
});
