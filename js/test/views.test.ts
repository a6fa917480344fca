// What each part of the panel shows, from hand-made payloads of the contract (types.ts).
import { afterEach, describe, expect, it, vi } from "vitest";
import { Features } from "../src/features";
import { SHORT_NAME } from "../src/format";
import { segments } from "../src/forceplot";
import { renderPanel } from "../src/panel";
import { sliderStep, trackPercent } from "../src/sliders";
import { RulesCard, caption, shows } from "../src/rules";
import type { ExplainerInfo, LinearTermInfo, SurrogateInfo } from "../src/types";
import { FakeModel, LIME, SHAP, limeOf, mixedSchema, model, panel, schema, shapOf, surrogate, view } from "./fixtures";

const { q, card } = panel;

function mount(m = model(schema())) {
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = renderPanel(m, el);
  return { el, m, cleanup };
}

afterEach(() => document.body.replaceChildren());

describe("a missing value's slider", () => {
  it("takes its minimum from the keyboard (its thumb rests there, so Home moved nothing)", () => {
    const s = schema();
    s.features[0] = { ...s.features[0], missing: 0.1 };
    const values = [...view(s).values];
    values[0] = null;
    const { el, m } = mount(model(s, view(s, { values, original: values })));
    const range = panel.range(el, 0);
    expect(panel.slider(el, 0).classList.contains("ow-no-value")).toBe(true);
    range.dispatchEvent(new KeyboardEvent("keydown", { key: "Home", cancelable: true }));
    expect(m.sent.at(-1)).toMatchObject({ type: "request", edits: [[0, s.features[0].min]] });
    expect(panel.slider(el, 0).classList.contains("ow-no-value")).toBe(false);
  });
});

describe("header", () => {
  it("shows the prediction, the classes, the quality and the row", () => {
    const { el } = mount();
    expect(q(el, "ow-prediction").textContent).toBe("P(yes) = 0.52");
    expect(el.querySelector(".ow-detail")?.textContent).toBe("predicted: yes · true: yes");
    expect((q(el, "ow-row-input") as HTMLInputElement).value).toBe("0");
    expect(q(el, "ow-quality").textContent).toBe("exact");
    const select = el.querySelector("select.ow-target") as HTMLSelectElement;
    expect([...select.options].map((o) => o.value)).toEqual(["no", "yes"]);
    expect(select.value).toBe("yes");
  });

  it("writes a negative output with a true minus sign, as the SHAP and LIME values beside it", () => {
    const s = schema();
    const shap = { ...shapOf(s), base: -0.25 };
    const { el } = mount(model(s, view(s, { versus: "no", prediction: -0.42, attributions: [shap, limeOf(s)] })));
    expect(q(el, "ow-prediction").textContent).toBe("P(yes) − P(no) = \u22120.42");
    expect(q(el, "ow-prediction").dataset.value).toBe("-0.42"); // the number itself, for scripts
    const markers = [...q(el, "ow-forcebar").querySelectorAll("text.ow-fx-text, text.ow-base-text")].map((t) => t.textContent);
    expect(markers.sort()).toEqual(["base value \u22120.25", "f(x) = \u22120.42"]);
    expect(card(el, "shap").querySelector(".ow-facts")?.textContent).toMatch(/^base value \u22120\.25 /);
  });

  it("asks for another row and another class", () => {
    const { el, m } = mount();
    (el.querySelector('[aria-label="Next row"]') as HTMLButtonElement).click();
    expect(m.sent.at(-1)).toMatchObject({ type: "request", index: 1, target: "yes", fast: false });
    expect(m.sent.at(-1)).not.toHaveProperty("edits");
    const select = el.querySelector("select.ow-target") as HTMLSelectElement;
    select.value = "no";
    select.dispatchEvent(new Event("change"));
    // Before the row's view is back: the class of the row asked for, with that row's edits.
    expect(m.sent.at(-1)).toMatchObject({ index: 1, target: "no" });
    expect(m.sent.at(-1)).not.toHaveProperty("edits");
  });

  it("keeps the compact force plot and its legend in the header", () => {
    const { el } = mount();
    const header = el.querySelector(".ow-top") as HTMLElement;
    expect(header.querySelector("[data-testid=ow-forcebar] svg")).not.toBeNull();
    expect(header.querySelector("[data-testid=ow-prediction]")).not.toBeNull();
    const legend = header.querySelector("[data-testid=ow-legend]") as HTMLElement;
    expect(legend.textContent).toContain("raises the output");
    expect(legend.textContent).toContain("base value");
    expect(legend.textContent).toContain("feature selected in the charts");
  });
});

describe("one card per explainer, drawn by its kind", () => {
  it("draws the schema's explainers in order: SHAP as a force plot, LIME as weights", () => {
    const { el } = mount();
    const cards = [...el.querySelectorAll<HTMLElement>("[data-testid=ow-explainer]")];
    expect(cards.map((c) => c.dataset.explainer)).toEqual(["shap", "lime"]);
    expect(card(el, "shap").querySelector("h3")?.textContent).toBe("SHAP");
    expect(card(el, "shap").querySelector("[data-testid=ow-algorithm]")?.textContent).toContain("TreeSHAP");
    expect(card(el, "lime").querySelector("[data-testid=ow-algorithm]")?.textContent).toContain("LIME (tabular");
  });

  it("a third explainer appears with no frontend change, with the view of its kind", () => {
    const ig: ExplainerInfo = { name: "ig", title: "Integrated gradients", view: "force", unit: "feature" };
    const s = schema();
    s.explainers = [SHAP, LIME, ig];
    const third = { ...shapOf(s, [0.2, -0.1, 0.05, 0.01]), algorithm: "IG (32 steps)" };
    const { el } = mount(model(s, view(s, { attributions: [shapOf(s), limeOf(s), third] })));
    const igCard = card(el, "ig");
    expect(igCard.querySelector("h3")?.textContent).toBe("Integrated gradients");
    expect(igCard.querySelector("[data-testid=ow-algorithm]")?.textContent).toBe("IG (32 steps)");
    // A second additive explainer draws its force bar in its own card; the header keeps SHAP's.
    expect(igCard.querySelectorAll("svg g.ow-seg")).toHaveLength(4);
    expect(igCard.querySelector(".ow-bars li")?.textContent).toContain("f0 = 10");
    expect(el.querySelectorAll(".ow-top [data-testid=ow-forcebar]")).toHaveLength(1);
    expect(card(el, "shap").querySelector("[data-testid=ow-forcebar]")).toBeNull();
  });

  it("a weights explainer listed first still gets its card, and no force bar is made up", () => {
    const s = schema();
    s.explainers = [LIME];
    const { el } = mount(model(s, view(s, { attributions: [limeOf(s)], agreement: [] })));
    expect(card(el, "lime").querySelectorAll(".ow-bars li")).toHaveLength(4);
    expect(el.querySelector("[data-testid=ow-forcebar]")).toBeNull();
    expect(el.querySelector(".ow-global")).toBeNull(); // the global views need additive values
  });
});

describe("force plot", () => {
  it("names each focusable SHAP bar by its feature, value and contribution", () => {
    const { el } = mount();
    const bars = [...card(el, "shap").querySelectorAll<HTMLElement>(".ow-bars li[tabindex]")];
    expect(bars.length).toBe(4);
    expect(bars[0].getAttribute("aria-label")).toBe("f0 = 10: +0.04");
    expect(bars[1].getAttribute("aria-label")).toBe("f1 = 20: −0.03");
  });

  it("draws the row's top 8 features and folds the rest into one segment", () => {
    const s = schema(20);
    const v = view(s, { attributions: [shapOf(s), limeOf(s)] });
    const features = new Features(s);
    const segs = segments(features, v.attributions[0]!, v);
    expect(segs).toHaveLength(9);
    expect(segs.filter((x) => x.j === null)[0].label).toBe("12 other features");
    // the segments tile the axis from base value to prediction
    const lo = Math.min(...segs.map((x) => x.start));
    const hi = Math.max(...segs.map((x) => x.end));
    const pos = segs.filter((x) => x.value > 0).reduce((a, x) => a + x.value, 0);
    expect(lo).toBeCloseTo(v.prediction - pos);
    expect(hi - lo).toBeCloseTo(segs.reduce((a, x) => a + Math.abs(x.value), 0));
    const { el } = mount(model(s, v));
    const drawn = q(el, "ow-forcebar").querySelectorAll("g.ow-seg");
    expect(drawn).toHaveLength(9);
    expect(q(el, "ow-forcebar").querySelectorAll("g.ow-seg.ow-pos").length).toBeGreaterThan(0);
    expect(q(el, "ow-forcebar").querySelectorAll("g.ow-seg.ow-neg").length).toBeGreaterThan(0);
    expect(drawn[0].getAttribute("data-j")).toBe("0");
    expect(drawn[0].querySelector("title")?.textContent).toContain("f0 = 10");
    expect(q(el, "ow-forcebar").textContent).toContain("base value 0.5");
    // Segment names come after the markers' lines (a line crossing a segment passes under
    // its name), each with a halo of its segment's colour.
    const svg = q(el, "ow-forcebar").querySelector("svg")!;
    const baseLine = svg.querySelector("line.ow-base")!;
    const names = [...svg.querySelectorAll("text.ow-seg-label")];
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) {
      expect(baseLine.compareDocumentPosition(name) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
      expect(name.classList.contains("ow-on-pos") || name.classList.contains("ow-on-neg")).toBe(true);
    }
    // The card lists the same contributions, every name in full, the folded rest last.
    const items = [...card(el, "shap").querySelectorAll(".ow-bars li")].map((li) => li.textContent);
    expect(items).toHaveLength(9);
    expect(items[0]).toContain("f0 = 10");
    expect(items[8]).toContain("12 other features");
  });

  it("names a fallback in words", () => {
    const s = schema();
    const shap = { ...shapOf(s), algorithm: "TreeSHAP (path-dependent, the model's prediction)", fallback: "interventional TreeSHAP is not additive for this model" };
    const { el } = mount(model(s, view(s, { attributions: [shap, limeOf(s)] })));
    expect(card(el, "shap").querySelector(".ow-fallback")?.textContent).toBe("Why not a faster algorithm: interventional TreeSHAP is not additive for this model.");
  });
});

describe("weights view (LIME)", () => {
  it("shows LIME's conditions, its local fit, and Python's verdict in Python's words", () => {
    const { el } = mount();
    const rows = card(el, "lime").querySelectorAll(".ow-bars li");
    expect(rows).toHaveLength(4);
    expect(rows[0].textContent).toContain("f3 <= 50.00");
    expect(card(el, "lime").textContent).toContain("local fit R² 0.61");
    const verdict = card(el, "lime").querySelector("[data-testid=ow-verdict]") as HTMLElement;
    expect(verdict.textContent).toBe("SHAP and LIME agree on this row");
    expect(verdict.classList.contains("ow-agree")).toBe(true);
  });

  it("a poor local fit reads as unreliable, never as a green agreement", () => {
    const s = schema();
    const agreement = {
      ...view(s).agreement[0],
      local_fit: 0.18,
      verdict: "unreliable" as const,
      text: "LIME's local model fits poorly here (R² 0.18): read its weights as rough, and trust SHAP for this row",
    };
    const lime = { ...limeOf(s), details: { ...limeOf(s).details, score: 0.18 } };
    const { el } = mount(model(s, view(s, { attributions: [shapOf(s), lime], agreement: [agreement] })));
    const verdict = card(el, "lime").querySelector("[data-testid=ow-verdict]") as HTMLElement;
    expect(verdict.textContent).toContain("fits poorly here (R² 0.18)");
    expect(verdict.classList.contains("ow-unreliable")).toBe(true);
    expect(card(el, "lime").querySelector(".ow-agree")).toBeNull();
    expect(card(el, "lime").textContent).toContain("local fit R² 0.18");
  });

  it("draws each LIME weight's sampling error, fades a sign another seed could flip, and sums it up", () => {
    const s = schema();
    const lime = { ...limeOf(s), details: { ...limeOf(s).details, errors: [0.001, 0.03, 0.002, null] } };
    const { el } = mount(model(s, view(s, { attributions: [shapOf(s), lime] })));
    const rows = [...card(el, "lime").querySelectorAll(".ow-bars li")] as HTMLElement[];
    // Largest first: f3 (no error known), f2, f1 (-0.04 ± 0.06: either sign), f0.
    expect(rows.map((r) => r.dataset.j)).toEqual(["3", "2", "1", "0"]);
    expect(rows.map((r) => r.querySelector("[data-testid=ow-whisker]") !== null)).toEqual([false, true, true, true]);
    expect(rows.map((r) => r.querySelector(".ow-sign-unknown") !== null)).toEqual([false, false, true, false]);
    expect(rows[2].title).toBe("−0.04 ± 0.06 (2 standard errors of its sampling): another seed could flip its sign");
    // A focused bar is read by its condition and weight, not by its whisker's tooltip alone.
    expect(rows[1].getAttribute("aria-label")).toBe("f2 <= 50.00: +0.06 ± 0.004");
    expect(rows[2].getAttribute("aria-label")).toBe("f1 <= 50.00: −0.04 ± 0.06, either sign");
    expect(rows[0].getAttribute("aria-label")).toBe("f3 <= 50.00: −0.08");
    const whisker = rows[1].querySelector("[data-testid=ow-whisker]") as HTMLElement;
    expect(whisker.style.left).toBe(`${((0.06 - 0.004) / 0.08) * 100}%`);
    expect(card(el, "lime").querySelector("[data-testid=ow-sampling]")?.textContent).toBe(
      "Sampling error: ± 0.004 typical (2 standard errors; whiskers) · 1 weight shown could take either sign with another seed (faded)",
    );
  });

  it("says how many of the top signs were within LIME's sampling noise and left uncompared", () => {
    const s = schema();
    const agreement = { ...view(s).agreement[0], sign_agreement: 1, signs_uncertain: 2 };
    const { el } = mount(model(s, view(s, { agreement: [agreement] })));
    expect(card(el, "lime").textContent).toContain("same sign 100% (2 within its sampling noise, not compared)");
  });

  it("a view without sampling errors (a drag's quick LIME) draws no whiskers", () => {
    const { el } = mount();
    expect(card(el, "lime").querySelector("[data-testid=ow-whisker]")).toBeNull();
    expect(card(el, "lime").querySelector("[data-testid=ow-sampling]")).toBeNull();
  });

  it("says which missing values LIME filled", () => {
    const s = schema();
    const lime = { ...limeOf(s), details: { ...limeOf(s).details, filled: ["f2"] } };
    const { el } = mount(model(s, view(s, { attributions: [shapOf(s), lime] })));
    expect(card(el, "lime").querySelector("[data-testid=ow-filled]")?.textContent).toContain("Missing values filled before explaining");
    expect(card(el, "lime").querySelector("[data-testid=ow-filled]")?.textContent).toContain("f2");
  });
});

describe("streaming", () => {
  it("a pending explainer is a labelled placeholder with progress, then its result fills in", () => {
    const s = schema();
    const m = model(s, view(s, { seq: 3, attributions: [shapOf(s), null], agreement: [], pending: ["lime", "counterfactual"], counterfactual: undefined }));
    const { el } = mount(m);
    const pending = card(el, "lime").querySelector("[data-testid=ow-pending]") as HTMLElement;
    expect(pending.textContent).toContain("Computing LIME for this row…");
    expect(pending.querySelector("progress")).not.toBeNull();
    expect(q(el, "ow-counterfactual").textContent).toContain("Looking for the smallest change");
    // The same seq again, filled in: accepted and shown.
    m.set("_view", view(s, { seq: 3 }));
    expect(card(el, "lime").querySelector("[data-testid=ow-pending]")).toBeNull();
    expect(card(el, "lime").querySelectorAll(".ow-bars li")).toHaveLength(4);
    expect(q(el, "ow-counterfactual").textContent).toContain("No small change");
  });

  it("the rules, their thresholds and the rule highlight appear when the surrogate arrives", () => {
    const s = schema();
    const m = model(s, view(s, { rule: null, pending: ["surrogate"] }), false);
    m.set("_progress", { surrogate: { state: "running", done: 3, total: 10, message: "(cross-validating 12 sizes)" } });
    const { el } = mount(m);
    const rules = q(el, "ow-rules");
    const bar = rules.querySelector("[data-testid=ow-pending] progress") as HTMLProgressElement;
    expect(rules.textContent).toContain("Fitting the global surrogate");
    expect(rules.textContent).toContain("(cross-validating 12 sizes)");
    expect([bar.value, bar.max]).toEqual([3, 10]);
    expect(el.querySelectorAll(".ow-threshold-tick")).toHaveLength(0);
    m.set("_progress", { surrogate: { state: "running", done: 7, total: 10, message: null } });
    expect((rules.querySelector("progress") as HTMLProgressElement).value).toBe(7);
    m.set("_surrogate", model(s).get("_surrogate"));
    expect(rules.querySelector("table")).not.toBeNull();
    expect(panel.slider(el, 0).querySelector(".ow-threshold-tick")?.getAttribute("style")).toContain("left: 40%");
    m.set("_view", view(s, { seq: 1 }));
    expect(rules.querySelector("tr.ow-rule-active")?.getAttribute("data-rule")).toBe("1");
  });

  it("a failed fit says so instead of spinning", () => {
    const s = schema();
    const m = model(s, view(s, { rule: null }), false);
    m.set("_progress", { surrogate: { state: "error", done: 0, total: 0, message: "MemoryError: too big" } });
    const { el } = mount(m);
    expect(q(el, "ow-rules").textContent).toContain("The surrogate could not be fit: MemoryError: too big");
  });
});

describe("rule table", () => {
  it("highlights the firing rule, marks its conditions and says why it has this many rules", () => {
    const { el } = mount();
    const active = q(el, "ow-rules").querySelector("tr.ow-rule-active") as HTMLElement;
    expect(active.dataset.rule).toBe("1");
    expect(active.getAttribute("aria-current")).toBe("true");
    const conditions = active.querySelectorAll(".ow-cond");
    expect(conditions[0].classList.contains("ow-unmet")).toBe(true);
    expect(conditions[0].textContent).toBe("✗\u00a0not met: f0 > 40"); // the mark never wraps apart
    expect(conditions[0].querySelector("[aria-hidden]")?.textContent).toBe("✗\u00a0"); // read as words
    expect(conditions[1].querySelector(".ow-sr")?.textContent).toBe("met: ");
    expect(conditions[1].classList.contains("ow-met")).toBe(true);
    // Enter or Space selects its feature: a button, named by its words (the glyph hidden).
    for (const condition of q(el, "ow-rules").querySelectorAll(".ow-cond")) expect(condition.getAttribute("role")).toBe("button");
    const spoken = (e: Element) => [...e.childNodes].filter((n) => !(n instanceof Element && n.getAttribute("aria-hidden") === "true")).map((n) => n.textContent).join("");
    expect(spoken(conditions[0])).toBe("not met: f0 > 40");
    expect(q(el, "ow-rules-caption").textContent).toBe("Global surrogate: decision tree, 2 rules, held-out accuracy 0.930.");
    const reason = q(el, "ow-rules-reason") as HTMLDetailsElement;
    expect(reason.open).toBe(false); // folded: the rules come first
    expect(reason.querySelector("summary")?.textContent).toBe("Why 2 rules?");
    expect(reason.querySelector("p")?.textContent).toBe("The fewest rules within 0.005 of the best cross-validated accuracy with 95% confidence.");
    expect(q(el, "ow-rules").querySelector("[data-testid=ow-legend]")?.textContent).toContain("the rule that fires for this row");
  });

  it("is one tab stop, on the firing rule, with the arrow keys, Home and End between its conditions", () => {
    const { el } = mount();
    const conditions = [...q(el, "ow-rules").querySelectorAll<HTMLElement>(".ow-cond")];
    expect(conditions.map((c) => c.textContent?.replace(/^\W*(not met|met): /, ""))).toEqual(["f0 <= 40", "f0 > 40", "f1 <= 20"]);
    const stops = () => conditions.filter((c) => c.tabIndex === 0);
    expect(stops()).toEqual([conditions[1]]); // rule 2 fires
    const press = (key: string) => {
      const target = document.activeElement as HTMLElement;
      const event = new KeyboardEvent("keydown", { key, bubbles: true, cancelable: true });
      target.dispatchEvent(event);
      return event.defaultPrevented;
    };
    conditions[1].focus();
    expect(press("ArrowRight")).toBe(true);
    expect(document.activeElement).toBe(conditions[2]);
    expect(stops()).toEqual([conditions[2]]); // Tab comes back where the keys left it
    expect(press("ArrowRight")).toBe(false); // the last one: the key is not taken
    expect(document.activeElement).toBe(conditions[2]);
    press("Home");
    expect(document.activeElement).toBe(conditions[0]);
    press("End");
    expect(document.activeElement).toBe(conditions[2]);
    press("ArrowUp");
    expect(document.activeElement).toBe(conditions[1]);
    expect(stops()).toEqual([conditions[1]]);
  });

  it("says when no row could be held out to judge the rules", () => {
    const few = { ...surrogate(schema()), held_out: false };
    expect(caption(few)).toBe("decision tree, 2 rules, accuracy on samples near X's rows (too few rows to hold any out) 0.930");
  });

  it("leaves out of a row's arithmetic what adds 0 at the precision shown (floating-point noise)", () => {
    const s = schema(3);
    s.task = "regression";
    s.classes = null;
    s.targets = ["prediction"];
    const term = (j: number, center: number): LinearTermInfo => ({ feature: `f${j}`, j, weight: 1, per: 1, center, fill: center, above: null, when: [], when_fill: [], shared: false, text: `+1 per 1 of f${j}` });
    const rules: SurrogateInfo["rules"] = [{ id: 0, conditions: [], prediction: 68.27, terms: [term(0, 0.3), term(1, 18.6)], classes: null, coverage: 1, samples: 10, text: "" }];
    const values = [0.1 + 0.2, 20, 30]; // f0 adds 0.1 + 0.2 - 0.3 = 5.6e-17
    const v = view(s, { target: "prediction", predicted_label: null, probabilities: null, y: null, values, original: [...values], rule: { id: 0, met: [] } });
    const m = new FakeModel({ _schema: s, _surrogate: { ...surrogate(s), metric: "r2", rules }, _view: v, _progress: {}, index: 0, target: "prediction", error: null });
    const { el } = mount(m);
    expect(q(el, "ow-rules").querySelector("[data-testid=ow-rule-arithmetic]")?.textContent).toBe("this row: 68.27 + 1.4 (f1) = 69.67");
    expect(shows(1.51e-16, [68.27, 69.67])).toBe(false);
    expect(shows(-0.004, [68.27, 69.67])).toBe(false);
    expect(shows(0.006, [68.27, 69.67])).toBe(true);
    expect(shows(1e-7, [2e-6, 3e-6])).toBe(true);
  });

  it("writes a regressor's values on a large offset with the digits that tell them apart", () => {
    const s = schema(3);
    s.task = "regression";
    s.classes = null;
    s.targets = ["prediction"];
    const rule = (id: number, prediction: number, scale: number | null) => ({ id, conditions: [], prediction, terms: [], classes: null, coverage: 0.3, samples: 10, scale, text: "" });
    // Whole digits below 1e15, never 1e+12; a rule's scale where whole digits are not enough.
    const rules: SurrogateInfo["rules"] = [rule(0, 999999999995, null), rule(1, 999999999999.7, 100), rule(2, 1000000000000.3, 100)];
    const v = view(s, { target: "prediction", prediction: 123456789012, predicted_label: null, probabilities: null, y: null, rule: { id: 0, met: [] } });
    const m = new FakeModel({ _schema: s, _surrogate: { ...surrogate(s), metric: "r2", rules }, _view: v, _progress: {}, index: 0, target: "prediction", error: null });
    const { el } = mount(m);
    const values = [...q(el, "ow-rules").querySelectorAll("td.ow-then")].map((cell) => cell.textContent);
    expect(values).toEqual(["999999999995", "999999999999.7", "1000000000000.3"]);
    expect(q(el, "ow-prediction").textContent).toBe("prediction = 123456789012");
  });
});

describe("the firing rule in the rules card", () => {
  // The card (overflow: auto) is the box that scrolls: 100 px tall, its rules 30 px each
  // from 60 px down. Layout is stood in for: the test DOM has none.
  const RULE_HEIGHT = 30;
  function laidOut(rules: number) {
    const s = schema();
    const many = surrogate(s);
    const [first] = many.rules;
    many.rules = Array.from({ length: rules }, (_, id) => ({ ...first, id }));
    const card = new RulesCard(new Features(s), () => {});
    card.setSurrogate(many);
    const root = document.createElement("div");
    root.className = "optiml-widget";
    root.style.overflowY = "auto"; // the panel itself is never scrolled
    root.append(card.el);
    document.body.append(root);
    card.el.style.overflowY = "auto";
    Object.defineProperty(card.el, "clientHeight", { value: 100 });
    Object.defineProperty(card.el, "scrollHeight", { value: 60 + rules * RULE_HEIGHT });
    Object.defineProperty(root, "clientHeight", { value: 100 });
    Object.defineProperty(root, "scrollHeight", { value: 5000 });
    const rect = (top: number, height: number) => ({ top, bottom: top + height, height, left: 0, right: 100, width: 100, x: 0, y: top, toJSON: () => ({}) });
    vi.spyOn(Element.prototype, "getBoundingClientRect").mockImplementation(function (this: Element) {
      if (this === card.el) return rect(0, 100);
      const rule = (this as HTMLElement).dataset?.rule;
      if (rule !== undefined) return rect(60 + Number(rule) * RULE_HEIGHT - card.el.scrollTop, RULE_HEIGHT);
      return rect(0, 10);
    });
    const show = (id: number) => card.update(view(s, { rule: { id, met: [true] } }), false);
    const visible = (id: number) => {
      const top = 60 + id * RULE_HEIGHT - card.el.scrollTop;
      return top >= 0 && top + RULE_HEIGHT <= 100;
    };
    return { card, root, show, visible };
  }
  afterEach(() => vi.restoreAllMocks());

  it("is scrolled into the card at the first view and when another rule fires, never the panel or page", () => {
    const { card, root, show, visible } = laidOut(12);
    const page = vi.spyOn(window, "scrollTo");
    show(9);
    expect(visible(9)).toBe(true);
    show(2);
    expect(visible(2)).toBe(true);
    show(11);
    expect(visible(11)).toBe(true);
    expect(card.el.querySelector("tr.ow-rule-active")?.getAttribute("data-rule")).toBe("11");
    expect(root.scrollTop).toBe(0);
    expect(page).not.toHaveBeenCalled();
  });

  it("stays where the user scrolled the card while the same rule fires", () => {
    const { card, show, visible } = laidOut(12);
    show(9);
    card.el.scrollTop = 0; // the user reads the first rules
    show(9); // an edit that leaves the same rule firing
    expect(card.el.scrollTop).toBe(0);
    expect(visible(9)).toBe(false);
  });

  it("leaves the card alone when the firing rule shows already", () => {
    const { card, show } = laidOut(12);
    show(0);
    expect(card.el.scrollTop).toBe(0);
  });
});

describe("counterfactual hint", () => {
  const hint = {
    changes: [[0, 70]] as [number, number][],
    rule: 1,
    outcome_before: "no",
    outcome_after: "yes",
    prediction: 0.8,
    predicted_label: "yes",
    model_agrees: true,
    median: null,
    probability: 0.8,
    borrowed: false,
    text: "f0 → 70: the model says yes (P = 0.80).",
  };

  it("offers the change as a one-click what-if", () => {
    const s = schema();
    const { el, m } = mount(model(s, view(s, { counterfactual: hint })));
    const box = q(el, "ow-counterfactual");
    expect(box.textContent).toContain("Smallest change to another outcome (no → yes): f0 → 70: the model says yes (P = 0.80).");
    (box.querySelector("button.ow-try") as HTMLButtonElement).click();
    expect(m.sent.at(-1)).toMatchObject({ fast: false, edits: [[0, 70]] });
  });

  it("when the model does not follow the rules it says so plainly, with no arrow between equal outcomes", () => {
    const s = schema();
    const odd = { ...hint, outcome_before: 0, outcome_after: 0, model_agrees: false, text: "f0 → 70: the model says 0 (P = 0.9) (the model does not agree with the rule)." };
    const { el } = mount(model(s, view(s, { counterfactual: odd })));
    const box = q(el, "ow-counterfactual");
    expect(box.textContent).toContain("The rules point to a change (rule 2) that the model does not follow");
    expect(box.textContent).not.toContain("0 → 0");
    expect(box.classList.contains("ow-no-follow")).toBe(true);
    expect(box.classList.contains("ow-disagree")).toBe(false);
  });

  it("says when the values come from the nearest rows the model gives the outcome", () => {
    const s = schema();
    const borrowed = { ...hint, borrowed: true, changes: [[0, 70], [1, 2]] as [number, number][], text: "f0 → 70, f1 → 2: the model says yes (P = 0.80)." };
    const { el, m } = mount(model(s, view(s, { counterfactual: borrowed })));
    const box = q(el, "ow-counterfactual");
    expect(box.textContent).toContain("The model follows none of the rules' changes; from the nearest rows with another outcome (no → yes): f0 → 70, f1 → 2");
    expect(box.classList.contains("ow-no-follow")).toBe(false);
    (box.querySelector("button.ow-try") as HTMLButtonElement).click();
    expect(m.sent.at(-1)).toMatchObject({ fast: false, edits: [[0, 70], [1, 2]] });
  });
});

describe("sliders", () => {
  it("gives every kind its labelled control, and a legend for the ticks", () => {
    const s = mixedSchema();
    const { el } = mount(model(s, view(s)));
    const sliders = q(el, "ow-sliders");
    s.features.forEach((f, j) => {
      const label = panel.slider(el, j).querySelector("label") as HTMLLabelElement;
      expect(label.textContent).toBe(f.name);
      expect(sliders.querySelector(`#${label.htmlFor}`)).not.toBeNull();
    });
    expect(panel.range(el, 1).step).toBe("1");
    const select = panel.slider(el, 2).querySelector("select") as HTMLSelectElement;
    expect(select.selectedOptions[0]?.textContent).toBe("Paris");
    expect((panel.slider(el, 3).querySelector("input[type=checkbox]") as HTMLInputElement).checked).toBe(true);
    expect(sliderStep(s.features[0])).toBe(0.5);
    const legend = sliders.querySelector("[data-testid=ow-legend]")?.textContent ?? "";
    expect(legend).toContain("percentiles");
    expect(legend).toContain("rule thresholds");
  });

  it("draws the surrogate's thresholds and the percentiles on the track", () => {
    const { el } = mount();
    const tick = panel.slider(el, 0).querySelector(".ow-threshold-tick") as HTMLElement;
    expect(tick.style.left).toBe("40%");
    expect(tick.title).toBe("rule threshold: 40");
    expect(trackPercent(schema().features[0], 25)).toBe(25);
    expect(panel.slider(el, 0).querySelectorAll(".ow-quantile-tick")).toHaveLength(5);
  });

  it("says a threshold in full, as the rule's text does: 0.300003 never reads as 0.3", () => {
    const s = schema();
    s.features[0] = { ...s.features[0], min: 0.3, max: 0.300006 };
    const m = model(s);
    const found = surrogate(s);
    found.thresholds[0] = [0.300003, 1e-7];
    found.rules[0].conditions[0] = { ...found.rules[0].conditions[0], value: 0.300003, text: `${s.features[0].name} <= 0.300003` };
    m.set("_surrogate", found);
    const { el } = mount(m);
    const titles = [...panel.slider(el, 0).querySelectorAll<HTMLElement>(".ow-threshold-tick")].map((t) => t.title);
    // As Python's exact_number writes them in the rules (repr: "1e-07").
    expect(titles).toEqual(["rule threshold: 0.300003", "rule threshold: 1e-07"]);
    expect(found.rules[0].conditions[0].text).toContain(titles[0].replace("rule threshold: ", ""));
  });

  it("writes values at the feature's scale", () => {
    const s = schema();
    s.features[0] = { ...s.features[0], min: 185.2, max: 4254 };
    const values = [862.63, 20, 30, 40];
    const { el } = mount(model(s, view(s, { values, original: values })));
    expect((panel.slider(el, 0).querySelector("input[type=number]") as HTMLInputElement).value).toBe("863");
    expect(panel.range(el, 0).value).toBe("862.63");
  });

  it("shows an edited feature's reset in a place that never moves", () => {
    const s = schema();
    const values = [10, 20, 77, 40];
    const { el, m } = mount(model(s, view(s, { edited: [2], values })));
    const row = panel.slider(el, 2);
    const reset = row.querySelector(".ow-reset") as HTMLButtonElement;
    expect(row.classList.contains("ow-edited")).toBe(true);
    expect(reset.textContent).toBe("↺ 30");
    expect(reset.getAttribute("aria-label")).toBe("Reset f2 to 30");
    // An unedited row keeps the button's place, invisible.
    const other = panel.slider(el, 0).querySelector(".ow-reset") as HTMLButtonElement;
    expect(other.hidden).toBe(false);
    expect(other.classList.contains("ow-invisible")).toBe(true);
    reset.click();
    expect(m.sent.at(-1)).toMatchObject({ edits: [], fast: false });
  });

  it("folds all but the row's top features, keeps edited ones in sight, and search reaches every one", () => {
    const s = schema(40);
    const values = s.features.map((_, j) => (j === 39 ? 0.5 : 0.01 / (j + 1)));
    const { el, m } = mount(model(s, view(s, { attributions: [shapOf(s, values), limeOf(s)] })));
    expect(panel.order(el)).toEqual([39, ...Array.from({ length: 15 }, (_, j) => j)]);
    expect(q(el, "ow-slider-count").textContent).toBe("16 of 40 features, ordered by impact on this row");
    const more = q(el, "ow-sliders").querySelector(".ow-more") as HTMLButtonElement;
    expect(more.textContent).toBe("Show the other 24");
    const search = q(el, "ow-sliders").querySelector("input[type=search]") as HTMLInputElement;
    search.value = "f33";
    search.dispatchEvent(new Event("input"));
    expect(panel.order(el)).toEqual([33]);
    const range = panel.range(el, 33);
    range.value = "60";
    range.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ edits: [[33, 60]] });
    search.value = "";
    search.dispatchEvent(new Event("input"));
    expect(panel.order(el)).toContain(33);
    more.click();
    expect(panel.order(el)).toHaveLength(40);
  });
});

describe("what-if values the panel has words for", () => {
  const note = (el: Element, j: number) => panel.slider(el, j).querySelector("[data-testid=ow-slider-note]") as HTMLElement | null;

  it("a value outside X's range says the model extrapolates there, until it is back in range or reset", () => {
    const s = mixedSchema();
    s.features[0] = { ...s.features[0], min: 5, max: 49.5 };
    const { el, m } = mount(model(s, view(s)));
    expect(note(el, 0)?.hidden).toBe(true);
    const box = panel.slider(el, 0).querySelector("input.ow-number") as HTMLInputElement;
    box.focus();
    box.value = "-5";
    box.dispatchEvent(new Event("input"));
    box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    expect(m.sent.at(-1)).toMatchObject({ edits: [[0, -5]] });
    // At once, in words (a screen reader reads it too): not only a colour.
    const words = "outside X (5 to 49.5): the model extrapolates";
    expect(note(el, 0)?.hidden).toBe(false);
    expect(note(el, 0)?.textContent).toBe(words);
    expect(note(el, 0)?.getAttribute("role")).toBe("status");
    expect(box.getAttribute("aria-describedby")).toBe(note(el, 0)?.id);
    const values = [...view(s).values];
    m.set("_view", view(s, { seq: m.sent.at(-1)?.seq, values: [-5, ...values.slice(1)], edited: [0] }));
    expect(note(el, 0)?.textContent).toBe(words);
    // Set from Python too (another row's values, say): the same words.
    m.set("_view", view(s, { seq: (m.sent.at(-1)?.seq ?? 0) + 1, values: [1e9, ...values.slice(1)], edited: [0] }));
    expect(note(el, 0)?.textContent).toBe("outside X (5 to 49.5): the model extrapolates");
    m.set("_view", view(s, { seq: (m.sent.at(-1)?.seq ?? 0) + 2, values: [30, ...values.slice(1)], edited: [0] }));
    expect(note(el, 0)?.hidden).toBe(true);
    expect(note(el, 0)?.textContent).toBe("");
    m.set("_view", view(s, { seq: (m.sent.at(-1)?.seq ?? 0) + 3, values: [60, ...values.slice(1)], edited: [0] }));
    expect(note(el, 0)?.hidden).toBe(false);
    (panel.slider(el, 0).querySelector(".ow-reset") as HTMLButtonElement).click();
    expect(note(el, 0)?.hidden).toBe(true);
    // Categories and booleans have no range to leave.
    expect(note(el, 2)).toBeNull();
    expect(note(el, 3)).toBeNull();
  });

  it("a text that is not a number, on Enter: the box shows the value in use again and says why; nothing is sent", () => {
    vi.useFakeTimers();
    try {
      const { el, m } = mount();
      const box = panel.slider(el, 0).querySelector("input.ow-number") as HTMLInputElement;
      box.focus();
      box.value = "abc"; // a number input's value is then "" (as for a cleared box)
      box.dispatchEvent(new Event("input"));
      box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
      expect(m.sent).toHaveLength(0);
      expect(box.value).toBe("10");
      expect(note(el, 0)?.hidden).toBe(false);
      expect(note(el, 0)?.textContent).toBe("not a number: kept 10");
      expect(box.title).toBe("not a number: kept 10");
      vi.advanceTimersByTime(5000);
      expect(note(el, 0)?.hidden).toBe(true);
      expect(box.title).toBe("");
      // A number typed afterwards is taken as before.
      box.value = "42";
      box.dispatchEvent(new Event("input"));
      box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
      expect(m.sent.at(-1)).toMatchObject({ edits: [[0, 42]] });
    } finally {
      vi.useRealTimers();
    }
  });

  it("a search that finds nothing says so in words", () => {
    const { el } = mount();
    const search = q(el, "ow-sliders").querySelector("input[type=search]") as HTMLInputElement;
    search.value = "zzz";
    search.dispatchEvent(new Event("input"));
    expect(q(el, "ow-slider-count").textContent).toBe("no feature matches “zzz”");
    search.value = "f1";
    search.dispatchEvent(new Event("input"));
    expect(q(el, "ow-slider-count").textContent).toBe("1 of 1 match for “f1”, ordered by impact on this row");
  });
});

describe("linking", () => {
  it("hovering a force segment lights the feature up in every view", () => {
    const { el } = mount();
    const segment = q(el, "ow-forcebar").querySelector('g[data-j="0"]') as SVGElement;
    segment.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    const lit = [...el.querySelectorAll<HTMLElement>(".ow-linked")];
    const where = new Set(lit.map((x) => x.closest("[data-testid=ow-explainer], [data-testid=ow-rules], [data-testid=ow-sliders], .ow-top")?.getAttribute("data-explainer") ?? x.closest("[data-testid]")?.getAttribute("data-testid")));
    expect(where).toEqual(new Set(["ow-forcebar", "shap", "lime", "ow-rules", "ow-sliders"]));
    expect(lit.every((x) => x.dataset.j === "0")).toBe(true);
    segment.dispatchEvent(new MouseEvent("mouseout", { bubbles: true }));
    expect(el.querySelectorAll(".ow-linked")).toHaveLength(0);
  });

  it("focusing a slider lights the feature up too", () => {
    const { el } = mount();
    panel.range(el, 1).dispatchEvent(new FocusEvent("focusin", { bubbles: true }));
    expect(card(el, "lime").querySelector('[data-j="1"]')?.classList.contains("ow-linked")).toBe(true);
  });
});

describe("names are data", () => {
  it("renders names and classes as text, never as markup", () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const evilClass = "</script><script>window.__pwned=1</script>";
    const s = schema(2, [evil, "ok"]);
    s.classes = ["safe", evilClass];
    s.targets = ["safe", evilClass];
    const v = view(s, { target: evilClass, predicted_label: evilClass });
    const { el } = mount(model(s, v));
    expect(el.querySelector("img")).toBeNull();
    expect(el.querySelector("script")).toBeNull();
    expect(q(el, "ow-prediction").textContent).toContain(evilClass);
    // Its labels show it cut (it is long), their tooltips whole.
    expect((panel.slider(el, 0).querySelector("label") as HTMLElement).title).toBe(evil);
    expect(q(el, "ow-forcebar").querySelector("g[data-j] title")?.textContent).toContain(`${evil} = 10`);
    expect((card(el, "lime").querySelector('[data-j="0"] .ow-bar-label') as HTMLElement).title).toBe(`${evil} <= 50.00`);
    expect((q(el, "ow-rules").querySelector(".ow-cond[data-j='0']") as HTMLElement).title).toBe(`${evil} <= 40`);
    const options = [...(el.querySelector("select.ow-target") as HTMLSelectElement).options].map((o) => o.textContent);
    expect(options).toEqual(["safe", evilClass]);
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("isolates a right-to-left name or category from the numbers and operators beside it", () => {
    const hebrew = "שם תכונה";
    const category = "רגיל";
    const s = mixedSchema();
    s.features[0].name = hebrew;
    s.features[2].categories = ["Lyon", category];
    s.classes = ["no", "כן"];
    s.targets = ["no", "כן"];
    const values = [10, 20, category, true];
    const edited = [10, 20, "Lyon", true];
    const { el } = mount(model(s, view(s, { target: "כן", predicted_label: "כן", values: edited, original: values, edited: [2] })));
    /** The isolating element around `text` in `box`, with what is beside it. */
    const around = (box: Element, text: string) => {
      const isolating = [...box.querySelectorAll("bdi")].find((b) => b.textContent === text);
      return isolating ? isolating.parentElement?.textContent : undefined;
    };
    expect(around(card(el, "shap"), hebrew)).toBe(`${hebrew} = 10`);
    expect(around(card(el, "lime"), hebrew)).toBe(`${hebrew} <= 50.00`);
    const condition = q(el, "ow-rules").querySelector(".ow-cond[data-j='0']") as HTMLElement;
    expect(around(condition, hebrew)).toBe(condition.textContent);
    expect(around(q(el, "ow-prediction"), "כן")).toBe(q(el, "ow-prediction").textContent);
    expect(around(panel.slider(el, 2), category)).toBe(`↺ ${category}`);
  });

  it("a long name is cut in its labels (a slider's, a bar's, a rule's), whole in their tooltips", () => {
    // A 120-character name wrapped into a column of letters: its slider row grew to
    // 124 px, its LIME row to 160 px, and the rules card's lines ran past its edge.
    const long = `customer_lifetime_value_${"rolling_mean_".repeat(7)}v2_final`;
    const s = schema(4, [long, "f1", "f2", "f3"]);
    const { el } = mount(model(s, view(s)));
    const label = panel.slider(el, 0).querySelector("label") as HTMLLabelElement;
    expect([...(label.textContent ?? "")].length).toBeLessThanOrEqual(SHORT_NAME);
    expect(label.textContent).toMatch(/^customer_lifetime.*….*v2_final$/); // both ends tell it apart
    expect(label.title).toBe(long);
    expect(panel.range(el, 0).getAttribute("aria-label")).toBe(long); // read whole
    expect((panel.slider(el, 1).querySelector("label") as HTMLLabelElement).title).toBe(""); // a short one, as it is
    for (const [name, text] of [
      ["shap", `${long} = 10`],
      ["lime", `${long} <= 50.00`],
    ]) {
      const bar = card(el, name).querySelector('[data-j="0"] .ow-bar-label') as HTMLElement;
      expect(bar.textContent).toBe(text.replace(long, label.textContent ?? ""));
      expect(bar.title).toBe(text);
    }
    const condition = q(el, "ow-rules").querySelector(".ow-cond[data-j='0']") as HTMLElement;
    expect(condition.textContent).toContain(label.textContent);
    expect(condition.title).toBe(`${long} <= 40`);
  });

  it("features called constructor, __proto__ and toString are ordinary features", () => {
    const names = ["constructor", "__proto__", "toString", "hasOwnProperty"];
    const s = schema(4, names);
    const { el, m } = mount(model(s, view(s)));
    expect([...q(el, "ow-sliders").querySelectorAll(".ow-slider label")].map((l) => l.textContent).sort()).toEqual([...names].sort());
    const range = panel.range(el, 1);
    range.value = "64";
    range.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ edits: [[1, 64]] });
    panel.slider(el, 1).dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    expect(card(el, "lime").querySelector('[data-j="1"]')?.classList.contains("ow-linked")).toBe(true);
    expect(card(el, "shap").textContent).toContain("__proto__ = 20");
    expect(new Features(s).position("__proto__")).toBe(1);
    expect(new Features(s).position("valueOf")).toBe(-1);
  });

  it("renders category values as text too", () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const s = mixedSchema();
    s.features[2].categories = ["Lyon", evil];
    const values = [10, 20, evil, true];
    const { el } = mount(model(s, view(s, { values, original: values })));
    expect(el.querySelector("img")).toBeNull();
    const select = panel.slider(el, 2).querySelector("select") as HTMLSelectElement;
    expect(select.selectedOptions[0]?.textContent).toBe(evil);
    expect([...select.options].map((o) => o.textContent)).toEqual(["Lyon", evil]);
  });

  it("shows a missing category as missing, apart from a category written as nothing", () => {
    // The select was blank for a missing value, or on the "" category where X has one.
    const s = mixedSchema();
    s.features[2].categories = ["", "Lyon"];
    s.features[2].missing = 0.1;
    const values = [10, 20, null, true];
    const m = model(s, view(s, { values, original: values }));
    const { el } = mount(m);
    const row = panel.slider(el, 2);
    const select = row.querySelector("select") as HTMLSelectElement;
    expect(select.selectedOptions[0]?.textContent).toBe("(missing)");
    expect(select.selectedOptions[0]?.disabled).toBe(true); // shown, not a category to pick
    expect(row.classList.contains("ow-no-value")).toBe(true);
    panel.pick(select, "");
    expect(m.sent.at(-1)).toMatchObject({ edits: [[2, ""]] });
    const empty = [10, 20, "", true];
    m.set("_view", view(s, { seq: m.sent.at(-1)?.seq, values: empty, original: values, edited: [2] }));
    expect(select.selectedOptions[0]?.textContent).toBe("");
    expect([...select.options].map((o) => o.textContent)).toEqual(["", "Lyon"]); // no "missing" left
    expect(row.classList.contains("ow-no-value")).toBe(false);
  });
});

describe("the export button", () => {
  it("shows the export's progress, then where the file went", () => {
    const s = schema();
    const m = model(s);
    const el = document.createElement("div");
    document.body.append(el);
    renderPanel(m, el, { canExport: true });
    const button = el.querySelector(".ow-export") as HTMLButtonElement;
    button.click();
    expect(m.sent.at(-1)).toEqual({ type: "export", id: expect.any(String) });
    expect(button.textContent).toBe("Exporting… 0%");
    expect(button.disabled).toBe(true);
    m.set("_progress", { export: { state: "running", done: 21, total: 50, message: null } });
    expect(button.textContent).toBe("Exporting… 42%");
    const clicks: string[] = [];
    const click = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function () {
      clicks.push(this.download);
    };
    try {
      m.set("_progress", { export: { state: "ready", done: 1, total: 1, message: null } });
      m.message({ type: "export", filename: "optiml_widgets_export.html", bytes: 1_234_567 }, [new DataView(new ArrayBuffer(8))]);
    } finally {
      HTMLAnchorElement.prototype.click = click;
    }
    expect(clicks).toEqual(["optiml_widgets_export.html"]);
    expect(button.textContent).toBe("Export HTML");
    expect(button.disabled).toBe(false);
    expect(q(el, "ow-export-status").textContent).toBe("Saved optiml_widgets_export.html (1.2 MB) to your downloads.");
  });

  it("with the widget shown twice, only the view clicked saves the file; a reply naming no view is for every view", () => {
    const s = schema();
    const m = model(s);
    const [one, two] = [0, 1].map(() => {
      const el = document.createElement("div");
      document.body.append(el);
      renderPanel(m, el, { canExport: true });
      return el;
    });
    const clicks: string[] = [];
    const click = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function () {
      clicks.push(this.download);
    };
    try {
      (two.querySelector(".ow-export") as HTMLButtonElement).click();
      const asked = m.messages.at(-1) as { type: string; id?: string };
      expect(asked.type).toBe("export");
      expect(asked.id).toBeTruthy();
      (one.querySelector(".ow-export") as HTMLButtonElement).click();
      const other = (m.messages.at(-1) as { id?: string }).id;
      expect(other).toBeTruthy();
      expect(other).not.toBe(asked.id); // each view has its own id
      // The reply to the second view's click: one download, and only that view says so.
      m.message({ type: "export", id: asked.id, filename: "a.html", bytes: 8 }, [new DataView(new ArrayBuffer(8))]);
      expect(clicks).toEqual(["a.html"]);
      expect(q(two, "ow-export-status").textContent).toBe("Saved a.html (8 bytes) to your downloads.");
      expect(q(one, "ow-export-status").textContent).toBe("");
      // A failure reply for one view is shown in that view only.
      m.message({ type: "export", id: other, filename: "a.html", error: "MemoryError: no room" });
      expect(q(one, "ow-export-status").textContent).toBe("The export failed: MemoryError: no room");
      expect(q(two, "ow-export-status").textContent).toBe("Saved a.html (8 bytes) to your downloads.");
      // A reply without an id (a notebook saved before replies named their view).
      m.message({ type: "export", filename: "b.html", bytes: 8 }, [new DataView(new ArrayBuffer(8))]);
      expect(clicks).toEqual(["a.html", "b.html", "b.html"]);
    } finally {
      HTMLAnchorElement.prototype.click = click;
    }
  });

  it("the saved note goes once the row or the edits change (it names a file of the state before)", () => {
    const s = schema();
    const m = model(s);
    const el = document.createElement("div");
    document.body.append(el);
    renderPanel(m, el, { canExport: true });
    const click = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = () => {};
    const save = () => {
      (el.querySelector(".ow-export") as HTMLButtonElement).click();
      m.message({ type: "export", id: (m.messages.at(-1) as { id?: string }).id, filename: "a.html", bytes: 8 }, [new DataView(new ArrayBuffer(8))]);
    };
    try {
      save();
      const status = q(el, "ow-export-status");
      expect(status.textContent).toBe("Saved a.html (8 bytes) to your downloads.");
      // The same view filled in (a late part of it): the note stays.
      m.set("_view", view(s, { pending: [] }));
      expect(status.textContent).toBe("Saved a.html (8 bytes) to your downloads.");
      // Another row.
      m.set("_view", view(s, { seq: 1, index: 1 }));
      expect(status.textContent).toBe("");
      save();
      expect(status.textContent).toBe("Saved a.html (8 bytes) to your downloads.");
      // An edit: the note goes as soon as the slider moves.
      const range = panel.range(el, 0);
      range.value = "60";
      range.dispatchEvent(new Event("change"));
      m.set("_view", view(s, { seq: m.sent.at(-1)?.seq, index: 1, values: [60, 20, 30, 40], edited: [0] }));
      expect(status.textContent).toBe("");
    } finally {
      HTMLAnchorElement.prototype.click = click;
    }
  });

  it("a failed export says why", () => {
    const s = schema();
    const m = model(s);
    const el = document.createElement("div");
    renderPanel(m, el, { canExport: true });
    (el.querySelector(".ow-export") as HTMLButtonElement).click();
    m.message({ type: "export", filename: "x.html", error: "MemoryError: no room" });
    expect(q(el, "ow-export-status").textContent).toBe("The export failed: MemoryError: no room");
    expect((el.querySelector(".ow-export") as HTMLButtonElement).textContent).toBe("Export HTML");
  });
});

describe("download", () => {
  it("saves only the bytes the message's view covers, as HTML under the name given, and leaves no link behind", async () => {
    const { download } = await import("../src/dom");
    let blob: Blob | undefined;
    const create = vi.spyOn(URL, "createObjectURL").mockImplementation((b) => {
      blob = b as Blob;
      return "blob:export";
    });
    const clicks: string[] = [];
    const click = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function () {
      clicks.push(`${this.download} ${this.getAttribute("href")}`);
    };
    const buffer = new Uint8Array([1, 2, 3, 4, 5, 6]).buffer;
    try {
      download("a.html", new DataView(buffer, 2, 3));
    } finally {
      HTMLAnchorElement.prototype.click = click;
      create.mockRestore();
    }
    expect(clicks).toEqual(["a.html blob:export"]);
    expect(blob?.type).toBe("text/html");
    expect([...new Uint8Array(await (blob as Blob).arrayBuffer())]).toEqual([3, 4, 5]);
    expect(document.querySelector("a[download]")).toBeNull();
  });
});
