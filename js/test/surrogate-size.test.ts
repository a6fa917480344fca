// The rule table's size control: another point of the surrogate's curve, asked for live.
import { afterEach, describe, expect, it } from "vitest";
import { renderPanel } from "../src/panel";
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

  it("is not offered where no kernel can answer (an export)", () => {
    const s = schema();
    const el = document.createElement("div");
    renderPanel(model(s), el, {});
    expect(panel.q(el, "ow-rules-size")).toBeNull();
  });
});
