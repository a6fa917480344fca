// The rule table's size control: another point of the surrogate's curve, asked for live.
import { afterEach, describe, expect, it } from "vitest";
import { renderPanel } from "../src/panel";
import { sizeFamily } from "../src/rules";
import { model, panel, schema, surrogate } from "./fixtures";

afterEach(() => document.body.replaceChildren());

describe("the surrogate's size", () => {
  it("lists the curve's sizes, marks the recommended one and asks Python for another", () => {
    const s = schema();
    const m = model(s);
    const el = document.createElement("div");
    document.body.append(el);
    renderPanel(m, el, { canExport: true });
    const select = panel.q(el, "ow-rules-size") as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(["2 rules (recommended)", "3 rules"]);
    expect(select.value).toBe("2");
    select.value = "3";
    select.dispatchEvent(new Event("change"));
    expect(m.messages.at(-1)).toEqual({ type: "surrogate-size", rules: 3 });
    expect(select.disabled).toBe(true);
    // Python answers with the surrogate of that size: the table is drawn anew.
    const bigger = { ...surrogate(s), complexity: 3, rules: [...surrogate(s).rules, { ...surrogate(s).rules[1], id: 2 }] };
    m.set("_surrogate", bigger);
    const fresh = panel.q(el, "ow-rules-size") as HTMLSelectElement;
    expect(fresh.value).toBe("3");
    expect(fresh.disabled).toBe(false);
    expect(el.querySelectorAll("[data-testid=ow-rules] tbody tr")).toHaveLength(3);
  });

  it("names the family when a chart click showed another than the size's own, and stays right as the size changes", () => {
    const s = schema();
    const m = model(s);
    const el = document.createElement("div");
    document.body.append(el);
    renderPanel(m, el, { canExport: true });
    const base = surrogate(s);
    const point = (family: string, rules: number, validation: number, chosen: boolean) => ({ family, rules, fidelity: 0.9, between: null, validation, frontier: false, chosen, recommended: false });
    const curve = [
      { ...point("decision tree", 2, 0.92, false), frontier: true, recommended: true },
      { ...point("decision tree", 3, 0.93, false), frontier: true },
      point("optimal tree", 3, 0.9, false),
    ];
    const rules3 = [...base.rules, { ...base.rules[1], id: 2 }];
    const shown = (family: string, chosen: number) => ({ ...base, complexity: 3, rules: rules3, family, curve: curve.map((p, i) => ({ ...p, chosen: i === chosen })) });
    // The hollow "optimal tree, 3 rules" point was clicked.
    m.set("_surrogate", shown("optimal tree", 2));
    let select = panel.q(el, "ow-rules-size") as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(["2 rules (recommended)", "3 rules", "3 rules · optimal tree"]);
    expect(select.selectedOptions[0].textContent).toBe("3 rules · optimal tree");
    // "3 rules" asks for the size's own model (no family): the decision tree.
    select.value = "3";
    select.dispatchEvent(new Event("change"));
    expect(m.messages.at(-1)).toEqual({ type: "surrogate-size", rules: 3 });
    m.set("_surrogate", shown("decision tree", 1));
    select = panel.q(el, "ow-rules-size") as HTMLSelectElement;
    expect([...select.options].map((o) => o.textContent)).toEqual(["2 rules (recommended)", "3 rules"]);
    expect(select.selectedOptions[0].textContent).toBe("3 rules");
    // The recommended point is its size's own, whatever else has that size.
    expect(sizeFamily({ ...base, curve: [{ ...curve[0], validation: 0.5 }, point("optimal tree", 2, 0.99, false)] }, 2)).toBe("decision tree");
    expect(sizeFamily({ ...base, curve }, 3)).toBe("decision tree");
  });

  it("is not offered where no kernel can answer (an export)", () => {
    const s = schema();
    const el = document.createElement("div");
    renderPanel(model(s), el, {});
    expect(panel.q(el, "ow-rules-size")).toBeNull();
  });
});
