// The panel and the export's in-page model on real payloads from Python
// (payloads.fixture.ts, written by make_fixtures.py and checked against types.ts by tsc).
import { afterEach, describe, expect, it } from "vitest";
import { holds, ruleFor, ruleOutput, termEffect } from "../src/estimate";
import { formatNumber, formatValue } from "../src/format";
import { ExportAnswers, composeChanges, decodeGrids, nearestPoint, renderExport } from "../src/host";
import { renderPanel } from "../src/panel";
import { editPairs, editsOf } from "../src/requests";
import type { Condition, ExportData, LinearTermInfo, Value, View, WidgetModel } from "../src/types";
import { FakeModel, panel } from "./fixtures";
import * as real from "./payloads.fixture";

const { q, card } = panel;

afterEach(() => document.body.replaceChildren());

function mount(state: Partial<WidgetModel> & Pick<WidgetModel, "_schema" | "_view">) {
  const m = new FakeModel({ _surrogate: null, _progress: {}, index: state._view.index, target: state._view.target, error: null, ...state });
  const el = document.createElement("div");
  document.body.append(el);
  renderPanel(m, el);
  return { el, m };
}

describe("a classifier's first view, then what streams in", () => {
  it("shows what is coming as such, and fills it in without moving a slider", () => {
    const { el, m } = mount({ _schema: real.cancer_schema, _view: real.cancer_first });
    expect(card(el, "lime").querySelector("[data-testid=ow-pending]")?.textContent).toContain("Computing LIME for this row");
    expect(q(el, "ow-rules").textContent).toContain("Fitting the global surrogate");
    const order = panel.order(el);
    expect(order).toHaveLength(16);
    m.set("_surrogate", real.cancer_surrogate);
    m.set("_view", { ...real.cancer_complete, seq: real.cancer_first.seq });
    expect(panel.order(el)).toEqual(order);
    const verdict = card(el, "lime").querySelector("[data-testid=ow-verdict]") as HTMLElement;
    expect(verdict.textContent).toBe(real.cancer_complete.agreement[0].text);
    expect(verdict.dataset.verdict).toBe(real.cancer_complete.agreement[0].verdict);
    expect(q(el, "ow-rules-reason").textContent).toContain(real.cancer_surrogate.reason.slice(1));
    expect(q(el, "ow-counterfactual").textContent).toContain(real.cancer_complete.counterfactual?.text ?? "?");
    expect(q(el, "ow-rules").querySelector("tr.ow-rule-active")).not.toBeNull();
    // The surrogate's thresholds are on the sliders of the features its rules use.
    const used = new Set(real.cancer_surrogate.rules.flatMap((r) => r.conditions.map((c) => c.j)));
    const shown = [...used].filter((j) => panel.slider(el, j));
    expect(shown.length).toBeGreaterThan(0);
    for (const j of shown) expect(panel.slider(el, j).querySelectorAll(".ow-threshold-tick").length).toBeGreaterThan(0);
  });

  it("a regressor's fallback is named, and its numbers read like Python's", () => {
    const { el } = mount({ _schema: real.diabetes_schema, _view: real.diabetes_complete, _surrogate: real.diabetes_surrogate });
    const fallback = real.diabetes_complete.attributions[0]?.fallback ?? "";
    expect(fallback).not.toBe("");
    expect(card(el, "shap").querySelector(".ow-fallback")?.textContent).toContain(fallback);
    expect(q(el, "ow-prediction").textContent).toMatch(/^prediction = \d+(\.\d)?$/);
  });

  it("counts a term shared by every rule once in the rules' caption, in the size select's unit", () => {
    const s = real.diabetes_surrogate;
    const { el } = mount({ _schema: real.diabetes_schema, _view: real.diabetes_complete, _surrogate: s });
    const shared = new Set(s.rules.flatMap((r) => r.terms.map((t) => t.text)));
    expect(shared.size).toBeGreaterThan(0);
    expect(s.rules.every((r) => r.terms.length === shared.size)).toBe(true); // in every rule
    expect(s.complexity).toBe(s.rules.length + shared.size);
    expect(q(el, "ow-rules-caption").textContent).toContain(`${s.complexity} rules (${s.rules.length} leaves + ${shared.size} term`);
    expect(q(el, "ow-rules-reason").querySelector("summary")?.textContent).toBe(`Why ${s.complexity} rules?`);
  });
});

describe("a binary classifier's score rules", () => {
  it("read the score of the second class and its own terms; the shared terms and where the class turns, once", () => {
    const s = real.cancer_surrogate;
    const scored = s.rules.filter((r) => r.classes);
    expect(scored.length).toBeGreaterThan(0); // breast_cancer's surrogate is a score with shared terms
    // Class names are data: markup in them stays text.
    const hostile: [string, string] = ["<b>no</b>", "<img src=x onerror=alert(1)>"];
    const rules = s.rules.map((r) => (r.classes ? { ...r, classes: hostile } : r));
    const { el } = mount({ _schema: real.cancer_schema, _view: real.cancer_complete, _surrogate: { ...s, rules } });
    for (const rule of scored) {
      const then = q(el, "ow-rules").querySelector(`tr[data-rule="${rule.id}"] .ow-then`) as HTMLElement;
      expect(then.firstChild?.textContent).toMatch(new RegExp(`^score of ${hostile[1].replace(/[()]/g, "\\$&")} = -?\\d`));
      expect(then.querySelectorAll(".ow-term[data-j]").length).toBe(rule.terms.filter((t) => !t.shared).length);
      expect(then.title).toBe(rule.text); // the rule whole, as Python writes it
      expect(then.querySelector("img, b")).toBeNull();
    }
    const shared = q(el, "ow-rules-shared");
    const sharedTerms = s.rules[0].terms.filter((t) => t.shared);
    expect(sharedTerms.length).toBeGreaterThan(0);
    const terms = [...shared.querySelectorAll(".ow-term")];
    expect(terms.map((e) => e.lastChild?.textContent)).toEqual(sharedTerms.map((t) => t.text));
    // Whether each applies to the row, in words for a screen reader (the ✓ is hidden from it).
    for (const term of terms) {
      const words = term.querySelector(".ow-sr")?.textContent;
      expect(words).toBe(term.classList.contains("ow-met") ? "applies: " : term.classList.contains("ow-term-off") ? "does not apply: " : "");
    }
    expect(shared.querySelector(".ow-score-cut")?.textContent).toBe(`Then: class ${hostile[1]} above 0.5, else ${hostile[0]}.`);
    expect(shared.querySelector("img, b")).toBeNull();
  });
});

describe("the firing rule worked out for the row", () => {
  const cases = [
    ["a classifier's score", real.cancer_schema, real.cancer_complete, real.cancer_surrogate, real.cancer_rule_value],
    ["a regressor's value", real.diabetes_schema, real.diabetes_complete, real.diabetes_surrogate, real.diabetes_rule_value],
    ["a sum of trees' value (terms of several conditions)", real.summed_schema, real.summed_complete, real.summed_surrogate, real.summed_rule_value],
  ] as const;
  it.each(cases)("%s adds up as Python's rule does", (_, schema, view, surrogate, expected) => {
    expect(expected).not.toBeNull();
    const rule = surrogate.rules.find((r) => r.id === view.rule?.id);
    expect(rule?.terms.length).toBeGreaterThan(0);
    const found = ruleOutput(rule!, view.values);
    expect(found?.total).toBeCloseTo(expected as number, 9);
    const { el } = mount({ _schema: schema, _view: view, _surrogate: surrogate });
    const lines = [...q(el, "ow-rules").querySelectorAll<HTMLElement>("[data-testid=ow-rule-arithmetic]")].filter((e) => !e.closest("tr")?.hidden);
    expect(lines).toHaveLength(1);
    expect(lines[0].closest("tr")?.previousElementSibling?.classList.contains("ow-rule-active")).toBe(true);
    const label = rule!.classes ? ` → ${String(rule!.classes[(expected as number) > 0.5 ? 1 : 0])}` : "";
    expect(lines[0].textContent).toMatch(new RegExp(`^this row: .* = ${formatNumber(expected).replace(/[.+]/g, "\\$&")}${label}$`));
    // Each addend is a term of the rule that adds something for this row.
    const named = [...lines[0].textContent!.matchAll(/ [+−] [\d.e-]+ \(([^)]+)\)/g)].map((m) => m[1]);
    const reads = (t: LinearTermInfo) => (t.when.length ? [...new Set(t.when.map((c) => c.feature))].join(" & ") : t.feature);
    expect(named).toEqual(rule!.terms.filter((_, i) => found!.effects[i] !== 0).map(reads));
  });

  it("counts a missing value as the term's fill and a boolean as 0 or 1, as Python does", () => {
    const term = { feature: "x", j: 0, weight: 2, per: 10, center: 5, fill: 7, above: null, when: [], when_fill: [], shared: false, text: "+2 per 10 of x" };
    expect(termEffect(term, [null])).toBeCloseTo(0.4, 12);
    expect(termEffect(term, [Number.NaN])).toBeCloseTo(0.4, 12);
    expect(termEffect(term, [true])).toBeCloseTo(-0.8, 12);
    const step = { ...term, above: 6 };
    expect([termEffect(step, [null]), termEffect(step, [6]), termEffect(step, [6.5])]).toEqual([2, 0, 2]);
  });

  it("adds a step of several conditions where all of them hold, a missing value as its fill", () => {
    const when = [
      { feature: "x", j: 0, op: ">" as const, value: 4, missing: false, text: "x > 4" },
      { feature: "z", j: 2, op: "<=" as const, value: 1, missing: false, text: "z <= 1" },
    ];
    const term = { feature: "x", j: 0, weight: -3, per: 1, center: 0, fill: 7, above: null, when, when_fill: [7, 2], shared: true, text: "−3 if x > 4 and z <= 1" };
    expect(termEffect(term, [5, "a", 1])).toBe(-3);
    expect(termEffect(term, [4, "a", 1])).toBe(0);
    expect(termEffect(term, [5, "a", 1.5])).toBe(0);
    expect(termEffect(term, [null, "a", 0])).toBe(-3); // x missing: its fill 7 > 4
    expect(termEffect(term, [5, "a", null])).toBe(0); // z missing: its fill 2 > 1
  });

  it("puts a row with a missing value in the rule whose conditions say 'or missing'", () => {
    const below = { feature: "x", j: 0, op: "<=" as const, value: 4, missing: true, text: "x <= 4 or missing" };
    const above = { feature: "x", j: 0, op: ">" as const, value: 4, missing: false, text: "x > 4" };
    expect([holds(below, null), holds(below, Number.NaN), holds(above, null), holds(below, 5)]).toEqual([true, true, false, false]);
    const rule = (id: number, c: Condition) => ({ id, conditions: [c], prediction: id, terms: [], classes: null, coverage: 0.5, samples: 5, text: c.text });
    const surrogate = { ...real.cancer_surrogate, rules: [rule(0, above), rule(1, below)] };
    expect(ruleFor(surrogate, [null])).toEqual({ id: 1, met: [true] });
    expect(ruleFor(surrogate, [7])).toEqual({ id: 0, met: [true] });
  });

  it("marks the shared steps this row's values take, and follows a new view", () => {
    const s = real.cancer_surrogate;
    const { el, m } = mount({ _schema: real.cancer_schema, _view: real.cancer_complete, _surrogate: s });
    const steps = s.rules[0].terms.filter((t) => t.shared && t.above !== null);
    expect(steps.length).toBeGreaterThan(0);
    const marks = () => steps.map((t) => q(el, "ow-rules-shared").querySelector(`.ow-term[data-j="${t.j}"]`)?.classList.contains("ow-met"));
    const expected = (values: typeof real.cancer_complete.values) => steps.map((t) => (values[t.j] as number) > (t.above as number));
    expect(marks()).toEqual(expected(real.cancer_complete.values));
    const t = steps[0];
    const values = [...real.cancer_complete.values];
    values[t.j] = (values[t.j] as number) > (t.above as number) ? (t.above as number) - 1 : (t.above as number) + 1;
    m.set("_view", { ...real.cancer_complete, seq: real.cancer_complete.seq + 1, values });
    expect(marks()).toEqual(expected(values));
  });
});

describe("the export's in-page model", () => {
  const data = real.cities_export;
  const numeric = data.schema.features.findIndex((f) => f.kind === "numeric");

  it("answers a one-feature change from the precomputed grid, two changes with a labelled estimate", async () => {
    const grids = await decodeGrids(data.grids!);
    const answers = new ExportAnswers(data, grids);
    const base = data.views[0];
    const same = answers.answer({ type: "request", seq: 7, index: 0, target: base.target, fast: false });
    expect(same.seq).toBe(7);
    expect(same.prediction).toBe(base.prediction);
    // One feature moved to a grid point: the model's own output there, SHAP alone computed.
    const k = 3;
    const value = grids.values[numeric][k] as number;
    const one = answers.answer({ type: "request", seq: 8, index: 0, target: base.target, edits: [[numeric, value]], fast: false });
    expect(one.quality).toBe("exact");
    expect(one.prediction).toBe(grids.prediction[grids.starts[0] + grids.offsets[0][numeric] + k]);
    expect(one.values[numeric]).toBe(value);
    expect(one.edited).toEqual([numeric]);
    expect(one.attributions.map((a) => a !== null)).toEqual([true, false]);
    expect(one.pending).toEqual([]);
    expect(one.notice).toContain("LIME is shown for the rows as they are");
    expect(one.notice).toContain(data.grids!.shap_exact ? "its SHAP values" : "its SHAP values are a cheaper permutation estimate");
    // Along a feature whose grid carries no computed SHAP values, the file says they are estimated.
    const estimated = new ExportAnswers({ ...data, grids: { ...data.grids!, shap_exact: true, shap_exact_features: [[], []] } }, grids);
    const guess = estimated.answer({ type: "request", seq: 10, index: 0, target: base.target, edits: [[numeric, value]], fast: false });
    expect(guess.notice).toContain("its SHAP values are estimated, the output's change credited to the moved feature");
    const computed = new ExportAnswers({ ...data, grids: { ...data.grids!, shap_exact: true, shap_exact_features: [[numeric], []] } }, grids);
    const sure = computed.answer({ type: "request", seq: 11, index: 0, target: base.target, edits: [[numeric, value]], fast: false });
    expect(sure.notice).toContain("the model's own output for this one-feature change; its SHAP values too.");
    // Two features: an estimate, and the view says so.
    const other = data.schema.features.findIndex((f, j) => j !== numeric && f.kind === "numeric");
    const two = answers.answer({
      type: "request",
      seq: 9,
      index: 0,
      target: base.target,
      edits: [[numeric, value], [other, grids.values[other][1]]],
      fast: false,
    });
    expect(two.quality).toBe("estimate");
    expect(two.notice).toContain("Estimate, not the model's output");
    // A file with no grids (a notebook converted offline, an export without data) says why
    // an edit changes nothing instead of pretending.
    const none = new ExportAnswers({ ...data, grids: null }, null);
    const kept = none.answer({ type: "request", seq: 12, index: 0, target: base.target, edits: [[numeric, value]], fast: false });
    expect(kept.prediction).toBe(base.prediction);
    expect(kept.notice).toContain("What-ifs need a kernel");
    // A notebook saved by an older version has no lists of unedited views: no crash.
    const older = new ExportAnswers({ ...data, grids: null, unedited: undefined, one_undone: undefined } as unknown as ExportData, null);
    expect(older.answer({ type: "request", seq: 14, index: 0, target: base.target, edits: [[numeric, value]], fast: false }).notice).toContain("What-ifs need a kernel");
    const hidden = new ExportAnswers({ ...data, grids: null, include_data: false }, null);
    expect(hidden.answer({ type: "request", seq: 13, index: 0, target: base.target, edits: [[numeric, value]], fast: false }).notice).toContain("without the rows' values");
    // The second row reads its own block.
    const second = answers.answer({ type: "request", seq: 14, index: 1, target: base.target, edits: [[numeric, value]], fast: false });
    expect(second.prediction).toBe(grids.prediction[grids.starts[1] + grids.offsets[1][numeric] + k]);
    expect(nearestPoint([0, 1, 2, 3], 2.2)).toBe(2);
    expect(nearestPoint(["Paris", "Lyon"], "Lyon")).toBe(1);
  });

  it("a file without SHAP says nothing of SHAP values", async () => {
    const explainers = data.schema.explainers.filter((e) => e.name !== "shap");
    const views = data.views.map((v) => ({ ...v, attributions: v.attributions.filter((_, i) => data.schema.explainers[i].name !== "shap") }));
    const lime = { ...data, schema: { ...data.schema, explainers }, views };
    const grids = await decodeGrids(lime.grids!);
    const one = new ExportAnswers(lime, grids).answer({ type: "request", seq: 3, index: 0, target: views[0].target, edits: [[numeric, grids.values[numeric][2]]], fast: false });
    expect(one.quality).toBe("exact");
    expect(one.notice).toContain("the model's own output for this one-feature change.");
    expect(one.notice).not.toContain("SHAP");
  });

  it("with many features, reads each row's own grids and says which features have none", async () => {
    // Wide data: each row sweeps its own most important features, so the rows' blocks
    // differ. Here the second row sweeps every feature but the first numeric one.
    const offsets = data.grids!.offsets.map((o, r) => (r === 1 ? o.map((at, j) => (j <= numeric ? 0 : at - o[numeric + 1])) : o));
    const wide = { ...data, grids: { ...data.grids!, offsets } };
    const grids = await decodeGrids(wide.grids);
    const answers = new ExportAnswers(wide, grids);
    const base = wide.views[1];
    const value = grids.values[numeric][2] as number;
    const none = answers.answer({ type: "request", seq: 1, index: 1, target: base.target, edits: [[numeric, value]], fast: false });
    expect(none.prediction).toBe(base.prediction);
    expect(none.values[numeric]).toBe(base.values[numeric]);
    expect(none.notice).toContain(`no what-ifs for ${wide.schema.features[numeric].name} in this row`);
    const other = wide.schema.features.findIndex((f, j) => j !== numeric && f.kind === "numeric");
    const both = answers.answer({ type: "request", seq: 2, index: 1, target: base.target, edits: [[numeric, value], [other, grids.values[other][4]]], fast: false });
    expect(both.quality).toBe("exact");
    expect(both.prediction).toBe(grids.prediction[grids.starts[1] + offsets[1][other] + 4]);
    expect(both.values[numeric]).toBe(base.values[numeric]);
    expect(both.notice).toContain("no what-ifs for");
  });

  it("renders the file's panel: a slider edit is answered, LIME says it is not in the file for what-ifs", async () => {
    const el = document.createElement("div");
    document.body.append(el);
    await renderExport(el, data);
    expect(el.querySelector(".ow-export")).toBeNull(); // no kernel: no export button
    // One class in the file: its select says so instead of offering a choice.
    const target = el.querySelector<HTMLSelectElement>(".ow-target")!;
    expect(target.options.length).toBe(1);
    expect(target.disabled).toBe(true);
    expect(target.title).toContain("explains this class only");
    const before = q(el, "ow-prediction").dataset.value;
    // A grid point where the model's output differs from the row's.
    const grids = await decodeGrids(data.grids!);
    const at = grids.starts[0] + grids.offsets[0][numeric];
    const points = grids.values[numeric] as number[];
    const k = points.findIndex((_, i) => grids.prediction[at + i] !== data.views[0].prediction);
    expect(k).toBeGreaterThanOrEqual(0);
    const range = panel.range(el, numeric);
    range.value = String(points[k]);
    range.dispatchEvent(new Event("change"));
    await new Promise((r) => setTimeout(r, 0));
    expect(q(el, "ow-prediction").dataset.value).not.toBe(before);
    expect(card(el, "lime").textContent).toContain("LIME is not available for this view.");
    expect(q(el, "ow-notice").textContent).toContain("Precomputed when this file was exported");
  });
});

describe("an export's what-ifs at the file's grid points", () => {
  const data = real.cities_export;
  const numeric = data.schema.features.findIndex((f) => f.kind === "numeric");
  const feature = data.schema.features[numeric];

  it("answers a value between grid points at the nearest one, says so, and the number box shows it", async () => {
    const grids = await decodeGrids(data.grids!);
    const points = grids.values[numeric] as number[];
    const asked = points[3] - 0.2 * (points[3] - points[2]); // nearer to points[3]
    const el = document.createElement("div");
    document.body.append(el);
    await renderExport(el, data);
    const box = panel.slider(el, numeric).querySelector("input.ow-number") as HTMLInputElement;
    box.focus();
    box.value = String(asked);
    box.dispatchEvent(new Event("input"));
    box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await new Promise((r) => setTimeout(r, 0));
    expect(panel.slider(el, numeric).dataset.value).toBe(String(points[3]));
    expect(box.value).toBe(formatValue(points[3], feature));
    expect(q(el, "ow-notice").textContent).toContain(
      `Shown at the nearest value precomputed in this file: ${feature.name} = ${formatValue(points[3], feature)} (not ${formatValue(asked, feature)}).`,
    );
    box.blur();
    expect(box.value).toBe(formatValue(points[3], feature));
    // Typed again, the same value is asked again (the box's text was the program's).
    box.focus();
    box.value = String(asked);
    box.dispatchEvent(new Event("input"));
    box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await new Promise((r) => setTimeout(r, 0));
    expect(box.value).toBe(formatValue(points[3], feature));
  });

  it("a value typed far outside X is answered at the grid's end, with no word of extrapolating left behind", async () => {
    const grids = await decodeGrids(data.grids!);
    const top = Math.max(...(grids.values[numeric] as number[]));
    const el = document.createElement("div");
    document.body.append(el);
    await renderExport(el, data);
    const box = panel.slider(el, numeric).querySelector("input.ow-number") as HTMLInputElement;
    const note = panel.slider(el, numeric).querySelector("[data-testid=ow-slider-note]") as HTMLElement;
    box.focus();
    box.value = "1e9";
    box.dispatchEvent(new Event("input"));
    box.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await new Promise((r) => setTimeout(r, 0));
    expect(box.value).toBe(formatValue(top, feature));
    expect(note.hidden).toBe(true);
    expect(q(el, "ow-notice").textContent).toContain(`${feature.name} = ${formatValue(top, feature)} (not ${formatValue(1e9, feature)})`);
  });

  it("arrow and page keys step from grid point to grid point (the slider's own step never left the nearest)", async () => {
    const grids = await decodeGrids(data.grids!);
    const points = [...(grids.values[numeric] as number[])].sort((a, b) => a - b);
    const el = document.createElement("div");
    document.body.append(el);
    await renderExport(el, data);
    const settle = () => new Promise((r) => setTimeout(r, 0));
    const range = panel.range(el, numeric);
    const shown = () => Number(panel.slider(el, numeric).dataset.value);
    const press = async (key: string) => {
      range.dispatchEvent(new KeyboardEvent("keydown", { key, cancelable: true }));
      await settle();
    };
    const start = shown();
    const below = (v: number) => [...points].reverse().find((p) => p < v - 1e-9) as number;
    await press("ArrowLeft");
    expect(shown()).toBe(below(start));
    await press("PageDown");
    expect(shown()).toBe(below(below(start)));
    await press("ArrowRight");
    expect(shown()).toBe(below(start));
    expect(range.getAttribute("aria-valuetext")).toBe(formatValue(shown(), feature));
  });

  it("the row's own value is a point of every grid: a step away and back shows the row again", async () => {
    // The grid is X's quantiles: stepping back, or typing the value the box showed, was
    // answered at the nearest quantile, another prediction, marked edited.
    const other = data.schema.features.findIndex((f, j) => j !== numeric && f.kind === "numeric");
    const base = data.views[0];
    const own = base.values[other] as number;
    const grids = await decodeGrids(data.grids!);
    expect(grids.values[other]).not.toContain(own);
    const el = document.createElement("div");
    document.body.append(el);
    await renderExport(el, data);
    const settle = () => new Promise((r) => setTimeout(r, 0));
    const range = panel.range(el, other);
    for (const [there, back] of [
      ["ArrowRight", "ArrowLeft"],
      ["ArrowLeft", "ArrowRight"],
    ]) {
      range.dispatchEvent(new KeyboardEvent("keydown", { key: there, cancelable: true }));
      await settle();
      expect(Number(panel.slider(el, other).dataset.value)).toBeOneOf(grids.values[other] as number[]);
      range.dispatchEvent(new KeyboardEvent("keydown", { key: back, cancelable: true }));
      await settle();
      expect(panel.slider(el, other).dataset.value).toBe(String(own));
      expect(panel.slider(el, other).classList.contains("ow-edited")).toBe(false);
      expect(q(el, "ow-prediction").dataset.value).toBe(String(base.prediction));
    }
    // Typed as the box writes it (fewer digits): the row itself, and no word of a nearest value.
    const answers = new ExportAnswers(data, grids);
    const request = (seq: number, j: number, value: number) => answers.answer({ type: "request", seq, index: 0, target: base.target, edits: [...editPairs(editsOf(base)), [j, value]], fast: false });
    const typed = request(1, other, Number(formatValue(own, data.schema.features[other])));
    expect(typed).toEqual({ ...base, seq: 1 });
    // Nearer to it than to any grid point, but not what the box writes: the row, and the view says so.
    const points = grids.values[other] as number[];
    const gap = Math.min(...points.map((p) => Math.abs(p - own)));
    const near = request(2, other, own + gap / 3);
    expect(near.prediction).toBe(base.prediction);
    expect(near.values).toEqual(base.values);
    expect(near.notice).toContain(`${data.schema.features[other].name} = ${formatValue(own, data.schema.features[other])} (not `);
    // A row exported with an edit: its value before the edit is a point too (its own view).
    const before = base.original[numeric] as number;
    const reset = request(3, numeric, Number(formatValue(before, feature)));
    expect(reset).toEqual({ ...data.unedited[0], seq: 3 });
  });

  it("a value beyond the grid is answered at its end, and a grid value needs no word", async () => {
    const grids = await decodeGrids(data.grids!);
    const answers = new ExportAnswers(data, grids);
    const base = data.views[0];
    const top = grids.values[numeric][grids.values[numeric].length - 1];
    const far = answers.answer({ type: "request", seq: 1, index: 0, target: base.target, edits: [[numeric, 1e6]], fast: false });
    expect(far.values[numeric]).toBe(top);
    expect(far.notice).toContain(`${feature.name} = ${formatValue(top, feature)} (not ${formatValue(1e6, feature)})`);
    const on = answers.answer({ type: "request", seq: 2, index: 0, target: base.target, edits: [[numeric, grids.values[numeric][1]]], fast: false });
    expect(on.notice).not.toContain("nearest");
  });

  it("a row exported with what-if edits resets to its own view, which the file holds", async () => {
    // make_fixtures.py exports the first row with an edit of the first feature.
    const edited = data.views[0];
    const own = data.unedited[0];
    expect(edited.edited).toEqual([0]);
    expect(own?.edited).toEqual([]);
    expect(own?.values).toEqual(edited.original);
    expect(data.unedited.slice(1)).toEqual(data.views.slice(1).map(() => null));
    const answers = new ExportAnswers(data, await decodeGrids(data.grids!));
    expect(answers.answer({ type: "request", seq: 3, index: 0, target: edited.target, fast: false }).prediction).toBe(edited.prediction);
    const reset = answers.answer({ type: "request", seq: 4, index: 0, target: edited.target, edits: [], fast: false });
    expect(reset).toEqual({ ...own, seq: 4 });
    // In the panel: "Reset all" shows the row's own values and prediction, exact.
    const el = document.createElement("div");
    document.body.append(el);
    await renderExport(el, data);
    expect(q(el, "ow-prediction").dataset.value).toBe(String(edited.prediction));
    [...q(el, "ow-sliders").querySelectorAll("button")].find((b) => b.textContent === "Reset all")?.click();
    await new Promise((r) => setTimeout(r, 0));
    expect(q(el, "ow-prediction").dataset.value).toBe(String(own?.prediction));
    expect(panel.slider(el, 0).dataset.value).toBe(String(own?.values[0]));
    expect(q(el, "ow-quality").textContent).toBe("exact");
    expect(q(el, "ow-notice").textContent).toBe("");
  });
});

describe("an export's answers where the file holds less than the panel offers", () => {
  const data = real.cities_export;
  const features = data.schema.features;
  const city = features.findIndex((f) => f.kind === "categorical");
  const request = (seq: number, index: number, edits: [number, Value][]) => ({ type: "request" as const, seq, index, target: data.views[index].target, edits, fast: false });

  it("a category the file has no what-if for is never answered by another category's output", async () => {
    // Beyond its most common categories a grid holds none: here one of the three is taken
    // out of it (its place kept), as a column of 60 categories leaves out 20.
    const grids = await decodeGrids(data.grids!);
    const base = data.views[1];
    const left = grids.values[city].find((c) => c !== base.values[city]) as string;
    const values = grids.values.map((v, j) => (j === city ? v.map((c) => (c === left ? "not in the grid" : c)) : v));
    const answers = new ExportAnswers(data, { ...grids, values });
    const view = answers.answer(request(1, 1, [[city, left]]));
    expect(view.prediction).toBe(base.prediction);
    expect(view.values[city]).toBe(base.values[city]);
    expect(view.edited).toEqual([]);
    expect(view.notice).toContain(`This file has no what-if for ${features[city].name} = ${left} (it holds the 3 most common of its 3 categories)`);
    expect(view.notice).not.toContain("nearest");
    expect(nearestPoint(["Paris", "Lyon"], "Nice")).toBe(-1);
    // With another feature moved too: that one is answered, the category stays the row's.
    const numeric = features.findIndex((f) => f.kind === "numeric");
    const both = answers.answer(request(2, 1, [[city, left], [numeric, grids.values[numeric][2]]]));
    expect(both.quality).toBe("exact");
    expect(both.values[city]).toBe(base.values[city]);
    expect(both.prediction).toBe(grids.prediction[grids.starts[1] + grids.offsets[1][numeric] + 2]);
  });

  it("“Try it” shows the model's own output at the hint's change, which the file holds", async () => {
    const grids = await decodeGrids(data.grids!);
    const answers = new ExportAnswers(data, grids);
    for (const [index, base] of data.views.entries()) {
      const hint = base.counterfactual;
      expect(hint).toBeTruthy();
      const edits = new Map(editPairs(editsOf(base)));
      for (const [j, value] of hint!.changes) edits.set(j, value);
      const view = answers.answer(request(3, index, [...edits]));
      const exact = data.counterfactual_views![index].find((v) => v.values.every((x, j) => x === view.values[j]));
      expect(exact).toBeDefined();
      expect(view.prediction).toBe(exact!.prediction);
      expect(view.prediction).toBeCloseTo(hint!.prediction, 9);
      expect(view.quality).toBe("exact");
      expect(view.notice).toContain("the model's own output for the suggested change");
    }
    // In the panel: the button applies the change and the header shows that output.
    const el = document.createElement("div");
    document.body.append(el);
    await renderExport(el, data);
    (q(el, "ow-counterfactual").querySelector("button.ow-try") as HTMLButtonElement).click();
    await new Promise((r) => setTimeout(r, 0));
    expect(Number(q(el, "ow-prediction").dataset.value)).toBeCloseTo(data.views[0].counterfactual!.prediction, 9);
    expect(q(el, "ow-quality").textContent).toBe("exact");
  });

  it("a row exported with edits, reset, then one slider moved: the model's own output, from the row's own grids", async () => {
    const grids = await decodeGrids(data.grids!);
    const answers = new ExportAnswers(data, grids);
    const edited = data.views[0];
    const own = data.unedited[0]!;
    expect(edited.edited).toEqual([0]);
    const block = data.grids!.unedited_block![0]!;
    expect(block).toBe(data.views.length); // after the rows' own blocks
    const other = features.findIndex((f, j) => j !== 0 && f.kind === "numeric");
    const k = 4;
    const value = grids.values[other][k];
    const view = answers.answer(request(5, 0, [[other, value]]));
    expect(view.quality).toBe("exact");
    expect(view.edited).toEqual([other]);
    expect(view.values).toEqual(own.values.map((v, j) => (j === other ? value : v)));
    expect(view.prediction).toBe(grids.prediction[grids.starts[block] + grids.offsets[block][other] + k]);
    expect(view.notice).toContain("the model's own output for this one-feature change");
    // Still edited, and another slider moved: from the edited row's grids.
    const kept = answers.answer(request(6, 0, [[0, edited.values[0]], [other, value]]));
    expect(kept.quality).toBe("exact");
    expect(kept.prediction).toBe(grids.prediction[grids.starts[0] + grids.offsets[0][other] + k]);
  });

  it("an estimate of several changes adds up to the output shown, credits no unmoved feature, and stays a probability", async () => {
    const grids = await decodeGrids(data.grids!);
    const answers = new ExportAnswers(data, grids);
    const base = data.views[1];
    const numeric = features.map((f, j) => (f.kind === "numeric" ? j : -1)).filter((j) => j >= 0);
    expect(numeric.length).toBeGreaterThanOrEqual(2);
    const [a, b] = numeric;
    const ka = grids.values[a].length - 1;
    const view = answers.answer(request(7, 1, [[a, grids.values[a][ka]], [b, grids.values[b][0]]]));
    expect(view.quality).toBe("estimate");
    const shap = view.attributions[0]!;
    const own = base.attributions[0]!;
    const sum = (shap.base ?? 0) + shap.values.reduce((x, y) => x + y, 0);
    expect(sum).toBeCloseTo(view.prediction, 9);
    for (const j of features.keys()) if (j !== a && j !== b) expect(shap.values[j]).toBe(own.values[j]);
    // Where the sum of the changes passes a probability's bound, the credits shrink with it.
    const from = { ...base, prediction: 0.9, attributions: [{ ...own, base: 0.5, values: [0.1, 0.2, 0.1, 0] }, null] } as View;
    const composed = composeChanges(from, 0, [{ j: 0, prediction: 0.99 }, { j: 1, prediction: 0.98 }], true);
    expect(composed.prediction).toBe(1);
    expect(0.5 + composed.additive.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
    expect(composed.additive[2]).toBe(0.1);
    expect(composed.additive[0] - 0.1).toBeCloseTo((0.09 * 0.1) / 0.17, 12);
    // A regressor's is not bounded.
    expect(composeChanges(from, 0, [{ j: 0, prediction: 0.99 }, { j: 1, prediction: 0.98 }], false).prediction).toBeCloseTo(1.07, 12);
  });

  it("the row picker names the rows as X does, not by their place in the file", async () => {
    const el = document.createElement("div");
    document.body.append(el);
    const rows = [70, 3];
    await renderExport(el, { ...data, rows });
    const input = q(el, "ow-row-input") as HTMLInputElement;
    const settle = () => new Promise((r) => setTimeout(r, 0));
    expect(input.value).toBe("70");
    expect(el.querySelector(".ow-row-picker")?.textContent).toContain("of X (2 in this file)");
    input.value = "3";
    input.dispatchEvent(new Event("change"));
    await settle();
    expect(input.value).toBe("3");
    expect(q(el, "ow-prediction").dataset.value).toBe(String(data.views[1].prediction));
    (el.querySelector('[aria-label="Previous row"]') as HTMLButtonElement).click();
    await settle();
    expect(input.value).toBe("70");
    expect(q(el, "ow-prediction").dataset.value).toBe(String(data.views[0].prediction));
    input.value = "1";
    input.dispatchEvent(new Event("change"));
    await settle();
    expect(q(el, "ow-notice").textContent).toBe("Row 1 of X is not in this file: it holds rows 70, 3.");
  });
});

describe("an export without the rows' values", () => {
  /** What export.py's _without_data leaves of a view. */
  const hidden = (v: View): View => {
    const { counterfactual: _, ...rest } = v;
    return { ...rest, values: v.values.map(() => null), original: v.original.map(() => null), y: null };
  };
  const s = real.diabetes_schema;
  const data: ExportData = {
    schema: { ...s, features: s.features.map((f) => ({ ...f, min: null, max: null, quantiles: [], categories: null, counts: null })) },
    surrogate: real.diabetes_surrogate,
    views: [hidden(real.diabetes_complete)],
    rows: [0],
    start: 0,
    include_data: false,
    unedited: [null],
    one_undone: [[]],
    feature: null,
    grids: null,
    global: null,
  };

  it("says each value is not in the file (not missing) and works nothing out from the values it lacks", async () => {
    const el = document.createElement("div");
    document.body.append(el);
    await renderExport(el, data);
    // The firing rule has terms: its arithmetic would read hidden values as their fills.
    expect(real.diabetes_surrogate.rules.find((r) => r.id === data.views[0].rule?.id)?.terms.length).toBeGreaterThan(0);
    const shown = [...q(el, "ow-rules").querySelectorAll<HTMLElement>("[data-testid=ow-rule-arithmetic]")].filter((e) => !e.closest("tr")?.hidden);
    expect(shown).toHaveLength(0);
    expect(q(el, "ow-rules-shared").querySelectorAll(".ow-met, .ow-term-off")).toHaveLength(0);
    expect(q(el, "ow-counterfactual").textContent).toContain("not in this file");
    expect(q(el, "ow-counterfactual").textContent).not.toContain("No small change");
    const labels = [...card(el, "shap").querySelectorAll<HTMLElement>(".ow-bar-label")].filter((l) => l.closest("li")?.dataset.j !== undefined);
    expect(labels.length).toBeGreaterThan(0);
    for (const label of labels) {
      expect(label.textContent).toMatch(/ = —$/);
      expect(label.closest("li")?.title).toBe("value not in this file");
    }
    expect(el.textContent).not.toContain("missing");
    // No sliders over a made-up range, no empty category list: a note instead.
    expect(q(el, "ow-sliders").querySelectorAll("input, select")).toHaveLength(0);
    expect(q(el, "ow-sliders-hidden").textContent).toContain("exported without the rows' values");
  });
});

describe("why one class and not another (a contrast of two classes)", () => {
  const s = real.wine_schema;
  const v = real.wine_complete;

  it("reads P(A) − P(B) in the header; SHAP adds up to it; the hint looks for B", () => {
    expect(v.versus).not.toBeNull();
    const { el } = mount({ _schema: s, _view: v, _surrogate: real.wine_surrogate });
    expect(q(el, "ow-prediction").textContent).toContain(`P(${v.target}) − P(${v.versus}) = `);
    const shap = v.attributions[0];
    expect(shap?.base).not.toBeNull();
    const sum = (shap?.base ?? 0) + (shap?.values ?? []).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(v.prediction, 6);
    // The target's probability is not what is explained: the difference is.
    const p = v.probabilities ?? [];
    const diff = p[s.targets.indexOf(v.target)] - p[s.targets.indexOf(v.versus ?? "")];
    expect(v.prediction).toBeCloseTo(diff, 6);
    // The rules of the third class step back; those of A and B do not.
    for (const rule of real.wine_surrogate.rules) {
      const row = q(el, "ow-rules").querySelector(`tr[data-rule="${rule.id}"]`) as HTMLElement;
      const other = String(rule.prediction) !== v.target && String(rule.prediction) !== v.versus;
      expect(row.classList.contains("ow-rule-aside")).toBe(other);
    }
    expect(q(el, "ow-rules").querySelectorAll("tr.ow-rule-aside").length).toBeGreaterThan(0);
    const hint = q(el, "ow-counterfactual").textContent ?? "";
    if (v.counterfactual?.borrowed) expect(hint).toContain(`from the nearest rows with ${v.versus}`);
    else if (v.counterfactual?.model_agrees) expect(hint).toContain(`Smallest change to ${v.versus}`);
    else if (v.counterfactual) expect(hint).toContain("that the model does not follow");
    else expect(hint).toMatch(new RegExp(`(reaches|predicts) ${v.versus}`));
  });

  it("the versus select lists the other classes, and a choice asks Python for that contrast", () => {
    const { el, m } = mount({ _schema: s, _view: v, _surrogate: real.wine_surrogate });
    const select = q(el, "ow-versus") as HTMLSelectElement;
    expect(select.value).toBe(v.versus);
    const disabled = [...select.options].filter((o) => o.disabled).map((o) => o.value);
    expect(disabled).toEqual([v.target]); // not the target itself
    const other = s.targets.find((t) => t !== v.target && t !== v.versus) ?? "";
    select.value = other;
    select.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ type: "request", target: v.target, versus: other, fast: false });
    select.value = "";
    select.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ target: v.target, versus: null });
    // Choosing the contrasted class as the target ends the contrast.
    const target = el.querySelector("select.ow-target") as HTMLSelectElement;
    target.value = v.versus ?? "";
    target.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ target: v.versus, versus: null });
  });

  it("a row exported with two edits resets one feature to its own view in the file, not the nearest grid point", async () => {
    const data = real.wine_export;
    const grids = await decodeGrids(data.grids!);
    const answers = new ExportAnswers(data, grids);
    const base = data.views[1];
    expect(base.edited.length).toBe(2);
    const [a, b] = base.edited;
    const undone = new Map(data.one_undone[1]);
    expect([...undone.keys()].sort()).toEqual([a, b]);
    // Feature a back to the row's own value (its "↺"), b still edited: the file's exact view.
    const one = answers.answer({ type: "request", seq: 30, index: 1, target: base.target, versus: base.versus, edits: [[b, base.values[b]]], fast: false });
    expect(one.quality).toBe("exact");
    expect(one.values[a]).toBe(base.original[a]);
    expect(one.edited).toEqual([b]);
    expect(one.prediction).toBe(undone.get(a)!.prediction);
    // Then b too: the row as it is.
    const none = answers.answer({ type: "request", seq: 31, index: 1, target: base.target, versus: base.versus, edits: [], fast: false });
    expect(none.edited).toEqual([]);
    expect(none.prediction).toBe(data.unedited[1]!.prediction);
    // a reset and a third feature moved: composed from a's undone view and the grid, a kept at its own value.
    const c = data.schema.features.findIndex((f, j) => j !== a && j !== b && f.kind === "numeric");
    const third = grids.values[c][3];
    const both = answers.answer({ type: "request", seq: 32, index: 1, target: base.target, versus: base.versus, edits: [[b, base.values[b]], [c, third]], fast: false });
    expect(both.quality).toBe("estimate");
    expect(both.values[a]).toBe(base.original[a]);
    expect(both.values[c]).toBe(third);
    const at = grids.starts[1] + grids.offsets[1][c] + 3;
    expect(both.prediction).toBeCloseTo(Math.min(1, Math.max(-1, base.prediction + (undone.get(a)!.prediction - base.prediction) + (grids.prediction[at] - base.prediction))), 6);
    expect(both.notice).not.toContain("nearest value");
  });

  it("an export of the contrast answers a what-if with the difference, in [-1, 1]", async () => {
    const data = real.wine_export;
    const grids = await decodeGrids(data.grids!);
    const answers = new ExportAnswers(data, grids);
    const base = data.views[0];
    expect(base.versus).toBe(v.versus);
    const numeric = data.schema.features.findIndex((f) => f.kind === "numeric");
    const block = grids.offsets[0][grids.offsets[0].length - 1];
    for (let k = 0; k < grids.values[numeric].length; k++) {
      const one = answers.answer({ type: "request", seq: 20 + k, index: 0, target: base.target, versus: base.versus, edits: [[numeric, grids.values[numeric][k]]], fast: false });
      expect(one.prediction).toBe(grids.prediction[grids.offsets[0][numeric] + k]);
      expect(Math.abs(one.prediction)).toBeLessThanOrEqual(1);
      expect(one.versus).toBe(base.versus);
    }
    expect(block).toBeGreaterThan(0);
    // Some grid point has P(A) < P(B): a probability's [0, 1] would have clipped it.
    expect([...grids.prediction].some((p) => p < 0)).toBe(true);
  });
});
