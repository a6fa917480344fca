import { afterEach, describe, expect, it } from "vitest";
import { segments } from "../src/forceplot";
import { verdict } from "../src/lime";
import { renderPanel } from "../src/panel";
import { sliderStep, trackPercent } from "../src/sliders";
import { mixedSchema, model, schema, view } from "./fixtures";

function mount(m = model(schema())) {
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = renderPanel(m, el);
  return { el, m, cleanup };
}

const q = (el: Element, id: string) => el.querySelector(`[data-testid="${id}"]`) as HTMLElement;

afterEach(() => document.body.replaceChildren());

describe("header", () => {
  it("shows the prediction, the classes, the algorithm and the row", () => {
    const { el } = mount();
    expect(q(el, "ow-prediction").textContent).toBe("P(yes) = 0.52");
    expect(el.querySelector(".ow-detail")?.textContent).toBe("predicted: yes · true: yes");
    expect(q(el, "ow-algorithm").textContent).toContain("TreeSHAP");
    expect((q(el, "ow-row-input") as HTMLInputElement).value).toBe("0");
    expect(q(el, "ow-quality").textContent).toBe("exact");
    const select = el.querySelector("select.ow-target") as HTMLSelectElement;
    expect([...select.options].map((o) => o.value)).toEqual(["no", "yes"]);
    expect(select.value).toBe("yes");
  });

  it("asks for another row and another class", () => {
    const { el, m } = mount();
    (el.querySelector('[aria-label="Next row"]') as HTMLButtonElement).click();
    expect(m.sent.at(-1)).toMatchObject({ type: "request", index: 1, target: "yes", fast: false });
    expect(m.sent.at(-1)).not.toHaveProperty("edits");
    const select = el.querySelector("select.ow-target") as HTMLSelectElement;
    select.value = "no";
    select.dispatchEvent(new Event("change"));
    expect(m.sent.at(-1)).toMatchObject({ index: 0, target: "no", edits: {} });
  });
});

describe("force plot", () => {
  it("draws the top 8 features and folds the rest into one segment", () => {
    const s = schema(20);
    const v = view(s);
    const segs = segments(s, v);
    expect(segs).toHaveLength(9);
    expect(segs.filter((x) => x.feature === null)[0].label).toBe("12 other features");
    // the segments tile the axis from base value to prediction
    const lo = Math.min(...segs.map((x) => x.start));
    const hi = Math.max(...segs.map((x) => x.end));
    const pos = segs.filter((x) => x.value > 0).reduce((a, x) => a + x.value, 0);
    expect(lo).toBeCloseTo(v.prediction - pos);
    expect(hi - lo).toBeCloseTo(segs.reduce((a, x) => a + Math.abs(x.value), 0));
    const { el } = mount(model(s, v));
    const drawn = q(el, "ow-forceplot").querySelectorAll("g.ow-seg");
    expect(drawn).toHaveLength(9);
    expect(q(el, "ow-forceplot").querySelectorAll("g.ow-seg.ow-pos").length).toBeGreaterThan(0);
    expect(q(el, "ow-forceplot").querySelectorAll("g.ow-seg.ow-neg").length).toBeGreaterThan(0);
    expect(drawn[0].getAttribute("data-feature")).toBe("f0");
    expect(drawn[0].querySelector("title")?.textContent).toContain("f0 = 10");
    expect(q(el, "ow-forceplot").textContent).toContain("base value 0.5");
  });
});

describe("LIME view", () => {
  it("shows LIME's conditions, its R² and the agreement verdict", () => {
    const { el } = mount();
    const rows = q(el, "ow-lime").querySelectorAll("li");
    expect(rows).toHaveLength(4);
    expect(rows[0].textContent).toContain("f3 <= 50.00");
    expect(q(el, "ow-lime").textContent).toContain("local R² 0.61");
    expect(q(el, "ow-lime").textContent).toContain("SHAP and LIME agree");
    expect(verdict({ spearman: 0.1, top_k: 5, top_overlap: 0.8, sign_agreement: 1 }).agree).toBe(false);
    expect(verdict({ spearman: 0.9, top_k: 5, top_overlap: 0.2, sign_agreement: 1 }).agree).toBe(false);
  });
});

describe("rule table", () => {
  it("highlights the firing rule and marks its conditions", () => {
    const { el } = mount();
    const active = q(el, "ow-rules").querySelector("tr.ow-rule-active") as HTMLElement;
    expect(active.dataset.rule).toBe("1");
    expect(active.getAttribute("aria-current")).toBe("true");
    const conditions = active.querySelectorAll(".ow-cond");
    expect(conditions[0].classList.contains("ow-unmet")).toBe(true);
    expect(conditions[0].textContent).toBe("✗ f0 > 40");
    expect(conditions[1].classList.contains("ow-met")).toBe(true);
    expect(q(el, "ow-rules").textContent).toContain("held-out fidelity (accuracy) 0.93");
  });
});

describe("sliders", () => {
  it("gives every kind its labelled control", () => {
    const s = mixedSchema();
    const { el } = mount(model(s, view(s)));
    const sliders = q(el, "ow-sliders");
    for (const f of s.features) {
      const row = [...sliders.querySelectorAll<HTMLElement>(".ow-slider")].find((r) => r.dataset.feature === f.name) as HTMLElement;
      const label = row.querySelector("label") as HTMLLabelElement;
      expect(label.textContent).toBe(f.name);
      expect(sliders.querySelector(`#${label.htmlFor}`)).not.toBeNull();
    }
    const integer = sliders.querySelector('[data-feature="f1"] input[type=range]') as HTMLInputElement;
    expect(integer.step).toBe("1");
    expect((sliders.querySelector('[data-feature="city"] select') as HTMLSelectElement).value).toBe("Paris");
    expect((sliders.querySelector('[data-feature="owner"] input[type=checkbox]') as HTMLInputElement).checked).toBe(true);
    expect(sliderStep(s.features[0])).toBe(0.5);
  });

  it("draws the surrogate's thresholds on the track", () => {
    const { el } = mount();
    const tick = q(el, "ow-sliders").querySelector('[data-feature="f0"] .ow-threshold-tick') as HTMLElement;
    expect(tick.style.left).toBe("40%");
    expect(trackPercent(schema().features[0], 25)).toBe(25);
    expect(q(el, "ow-sliders").querySelectorAll('[data-feature="f0"] .ow-quantile-tick')).toHaveLength(5);
  });

  it("orders by |SHAP| and filters by search", () => {
    const s = schema(5, ["alpha", "beta", "gamma", "delta", "epsilon"]);
    const v = view(s, { shap: [0.01, -0.5, 0.2, 0, 0.03] });
    const { el } = mount(model(s, v));
    const names = () => [...q(el, "ow-sliders").querySelectorAll<HTMLElement>(".ow-slider")].map((r) => r.dataset.feature);
    expect(names()).toEqual(["beta", "gamma", "epsilon", "alpha", "delta"]);
    const search = q(el, "ow-sliders").querySelector("input[type=search]") as HTMLInputElement;
    search.value = "ta";
    search.dispatchEvent(new Event("input"));
    expect(names()).toEqual(["beta", "delta"]);
  });

  it("renders only the first 30 of many features until asked", () => {
    const s = schema(200);
    const { el } = mount(model(s, view(s)));
    expect(q(el, "ow-sliders").querySelectorAll(".ow-slider")).toHaveLength(30);
    (q(el, "ow-sliders").querySelector(".ow-more") as HTMLButtonElement).click();
    expect(q(el, "ow-sliders").querySelectorAll(".ow-slider")).toHaveLength(200);
  });

  it("shows an edited feature's original value and its reset", () => {
    const s = schema();
    const v = view(s, { edited: ["f2"], instance: { ...view(s).instance, f2: 77 } });
    const { el, m } = mount(model(s, v));
    const row = q(el, "ow-sliders").querySelector('[data-feature="f2"]') as HTMLElement;
    expect(row.classList.contains("ow-edited")).toBe(true);
    expect(row.querySelector(".ow-original")?.textContent).toBe("was 30");
    (row.querySelector(".ow-reset") as HTMLButtonElement).click();
    expect(m.sent.at(-1)).toMatchObject({ edits: {}, fast: false });
  });
});

describe("linking", () => {
  it("hovering a force segment lights the feature up in every view", () => {
    const { el } = mount();
    const segment = q(el, "ow-forceplot").querySelector('g[data-feature="f0"]') as SVGElement;
    segment.dispatchEvent(new MouseEvent("mouseover", { bubbles: true }));
    const lit = [...el.querySelectorAll<HTMLElement>(".ow-linked")];
    const where = new Set(lit.map((x) => x.closest("[data-testid]")?.getAttribute("data-testid")));
    expect(where).toEqual(new Set(["ow-forceplot", "ow-lime", "ow-rules", "ow-sliders"]));
    expect(lit.every((x) => x.dataset.feature === "f0")).toBe(true);
    segment.dispatchEvent(new MouseEvent("mouseout", { bubbles: true }));
    expect(el.querySelectorAll(".ow-linked")).toHaveLength(0);
  });

  it("focusing a slider lights the feature up too", () => {
    const { el } = mount();
    const range = q(el, "ow-sliders").querySelector('[data-feature="f1"] input[type=range]') as HTMLInputElement;
    range.dispatchEvent(new FocusEvent("focusin", { bubbles: true }));
    expect(q(el, "ow-lime").querySelector('[data-feature="f1"]')?.classList.contains("ow-linked")).toBe(true);
  });
});

describe("security", () => {
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
    expect(q(el, "ow-sliders").textContent).toContain(evil);
    expect(q(el, "ow-forceplot").querySelector(`g[data-feature]`)?.getAttribute("data-feature")).toBe(evil);
    expect(q(el, "ow-forceplot").textContent).toContain(`${evil} = 10`);
    expect(q(el, "ow-lime").textContent).toContain(`${evil} <= 50.00`);
    expect(q(el, "ow-rules").textContent).toContain(`${evil} <= 40`);
    const options = [...(el.querySelector("select.ow-target") as HTMLSelectElement).options].map((o) => o.textContent);
    expect(options).toEqual(["safe", evilClass]);
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("renders category values as text too", () => {
    const evil = '<img src=x onerror="window.__pwned=1">';
    const s = mixedSchema();
    s.features[2].categories = ["Lyon", evil];
    const v = view(s, { instance: { ...view(s).instance, city: evil } });
    const { el } = mount(model(s, v));
    expect(el.querySelector("img")).toBeNull();
    const select = q(el, "ow-sliders").querySelector('[data-feature="city"] select') as HTMLSelectElement;
    expect(select.options[1].textContent).toBe(evil);
    expect(select.value).toBe(evil);
  });
});

it("cleanup stops listening to the model", () => {
  const { el, m, cleanup } = mount();
  cleanup();
  m.set("_view", view(schema(), { seq: 5, prediction: 0.99 }));
  expect(q(el, "ow-prediction").textContent).toBe("P(yes) = 0.52");
});

it("Enter in a number box applies the value once", () => {
  const { el, m } = mount();
  const number = q(el, "ow-sliders").querySelector('[data-feature="f0"] input[type=number]') as HTMLInputElement;
  number.dispatchEvent(new FocusEvent("focus"));
  number.value = "42";
  number.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
  number.dispatchEvent(new Event("change"));
  expect(m.sent).toHaveLength(1);
  expect(m.sent[0]).toMatchObject({ edits: { f0: 42 }, fast: false });
});

it("the Export HTML button asks Python and saves the file it sends back", () => {
  const m = model(schema());
  const el = document.createElement("div");
  document.body.append(el);
  const listeners: ((...args: unknown[]) => void)[] = [];
  const on = m.on.bind(m);
  m.on = (event: string, cb: (...args: any[]) => void) => (event === "msg:custom" ? listeners.push(cb) : on(event, cb));
  renderPanel(m, el, { canExport: true });
  const button = el.querySelector(".ow-export") as HTMLButtonElement;
  button.click();
  expect(m.sent.at(-1)).toEqual({ type: "export" });
  expect(button.disabled).toBe(true);
  const clicked: string[] = [];
  const original = HTMLAnchorElement.prototype.click;
  HTMLAnchorElement.prototype.click = function () {
    clicked.push(this.download);
  };
  listeners[0]({ type: "export", filename: "report.html" }, [new DataView(new TextEncoder().encode("<html></html>").buffer)]);
  HTMLAnchorElement.prototype.click = original;
  expect(clicked).toEqual(["report.html"]);
  expect(button.disabled).toBe(false);
  expect(renderPanel(model(schema()), document.createElement("div")) && true).toBe(true);
});

it("an export page has no Export button", () => {
  const { el } = mount();
  expect(el.querySelector(".ow-export")).toBeNull();
});

describe("surrogate rules: linear terms and the counterfactual hint", () => {
  it("shows each linear term and applies the hint's changes in one click", () => {
    const s = schema();
    const m = model(s);
    const sur = m.get("_surrogate");
    if (!sur) throw new Error("no surrogate");
    const f0 = s.features[0].name;
    sur.rules[1].terms = [{ feature: f0, weight: 0.8, per: 1000, center: 50, text: `+0.8 per 1000 of ${f0}` }];
    const v = view(s, {
      counterfactual: {
        changes: { [f0]: 12 },
        rule: 0,
        outcome_before: "yes",
        outcome_after: "no",
        prediction: 0.2,
        predicted_label: "no",
        model_agrees: true,
        text: `${f0} → 12: the model says no.`,
      },
    });
    m.set("_view", v);
    const { el } = mount(m);
    const term = el.querySelector('[data-testid="ow-rules"] .ow-term') as HTMLElement;
    expect(term.textContent).toBe(`+0.8 per 1000 of ${f0}`);
    expect(term.dataset.feature).toBe(f0);
    expect(el.querySelector(".ow-rules caption")?.textContent).toContain("2 rules with 1 linear term,");
    const hint = q(el, "ow-counterfactual");
    expect(hint.hidden).toBe(false);
    expect(hint.textContent).toContain("yes → no");
    expect(hint.textContent).toContain(`${f0} → 12: the model says no.`);
    (hint.querySelector("button") as HTMLButtonElement).click();
    expect(m.sent.at(-1)).toMatchObject({ type: "request", index: v.index, fast: false, edits: { [f0]: 12 } });
  });

  it("hides the hint when there is none, and escapes names", () => {
    const s = schema(4, ['<img src=x onerror="alert(1)">', "b", "c", "d"]);
    const m = model(s, view(s, { counterfactual: null }));
    const { el } = mount(m);
    expect(q(el, "ow-counterfactual").hidden).toBe(true);
    expect(el.querySelector("img")).toBeNull();
  });
});
