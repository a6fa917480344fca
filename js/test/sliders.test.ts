// What a view costs the sliders: with every slider of many features listed, a view writes to
// the rows whose value changed and nothing else, and "Show more" adds its rows without
// putting back those already listed.
import { afterEach, describe, expect, it, vi } from "vitest";
import { Features } from "../src/features";
import { MORE_SLIDERS, Sliders, TOP_SLIDERS } from "../src/sliders";
import type { Edits } from "../src/requests";
import type { Value, View } from "../src/types";
import { mixedSchema, schema, view } from "./fixtures";

const N = 300;

/** Every write to the sliders' rows, by feature position: attributes, children, texts (a
 *  MutationObserver), and the value or state properties of their controls. */
function writesIn(root: HTMLElement) {
  const rows: number[] = [];
  const rowOf = (node: Node | null) => {
    const el = node instanceof Element ? node : node?.parentElement;
    const row = el?.closest<HTMLElement>(".ow-slider");
    return row ? Number(row.dataset.j) : -1;
  };
  const properties = [
    [HTMLInputElement.prototype, "value"],
    [HTMLInputElement.prototype, "checked"],
    [HTMLSelectElement.prototype, "value"],
    [HTMLButtonElement.prototype, "disabled"],
  ] as const;
  const spies = properties.map(([proto, name]) =>
    vi.spyOn(proto, name as "value", "set").mockName(name),
  );
  const observer = new MutationObserver(() => {});
  observer.observe(root, { attributes: true, childList: true, characterData: true, subtree: true });
  return {
    /** The rows written to since the last call (a row once per write), and the rows added. */
    take(): { written: number[]; added: number[]; removed: number } {
      const records = observer.takeRecords();
      const written = [...rows];
      rows.length = 0;
      for (const spy of spies) {
        for (const context of spy.mock.contexts) written.push(rowOf(context as Node));
        spy.mockClear();
      }
      const added: number[] = [];
      let removed = 0;
      for (const r of records) {
        if (r.type === "childList" && (r.target as Element).classList?.contains("ow-slider-list")) {
          for (const node of r.addedNodes) added.push(rowOf(node));
          removed += r.removedNodes.length;
        } else written.push(rowOf(r.target));
      }
      return { written, added, removed };
    },
    stop() {
      observer.disconnect();
      for (const spy of spies) spy.mockRestore();
    },
  };
}

function setup() {
  const s = schema(N);
  const pending: Edits = new Map<number, Value>();
  const features = new Features(s);
  const sliders = new Sliders(features, { edit: () => {}, reset: () => {}, pending: () => pending, impactOrder: () => null });
  document.body.append(sliders.el);
  const first = view(s);
  sliders.update(first);
  const more = sliders.el.querySelector<HTMLButtonElement>(".ow-more") as HTMLButtonElement;
  return { s, sliders, first, more, pending };
}

const listed = (sliders: Sliders) => sliders.el.querySelectorAll(".ow-slider").length;

afterEach(() => {
  vi.restoreAllMocks();
  document.body.replaceChildren();
});

describe("the sliders' cost per view", () => {
  it("a view that changes one feature's value writes to that row only, with every slider listed", () => {
    const { s, sliders, first, more, pending } = setup();
    while (!more.hidden) more.click();
    expect(listed(sliders)).toBe(N);
    const writes = writesIn(sliders.el);
    // The same view again (a late part of it, another explainer's values): nothing to write.
    sliders.update({ ...first, seq: 1 });
    expect(writes.take()).toEqual({ written: [], added: [], removed: 0 });
    // An edit of feature 7 answered: its row shows the new value and that it is edited, no
    // other row is written to.
    pending.set(7, 42);
    const values = [...first.values];
    values[7] = 42;
    sliders.update(view(s, { seq: 2, values, original: first.original, edited: [7] }));
    const { written, added, removed } = writes.take();
    expect(new Set(written)).toEqual(new Set([7]));
    expect(written.length).toBeLessThan(30); // a row's own few writes
    expect([added, removed]).toEqual([[], 0]);
    writes.stop();
  });

  it("new thresholds redraw only the tracks whose thresholds changed", () => {
    const { sliders, more } = setup();
    while (!more.hidden) more.click();
    const thresholds = Array.from({ length: N }, (_, j) => (j % 3 ? [] : [50]));
    sliders.setThresholds(thresholds);
    const writes = writesIn(sliders.el);
    const next = thresholds.map((t) => [...t]);
    next[3] = [60];
    sliders.setThresholds(next);
    expect(new Set(writes.take().written)).toEqual(new Set([3]));
    writes.stop();
  });

  it("“Show more” adds its rows and leaves those listed where they are, however many", () => {
    const { sliders, more } = setup();
    let shown = TOP_SLIDERS;
    const writes = writesIn(sliders.el);
    while (!more.hidden) {
      more.click();
      const { written, added, removed } = writes.take();
      const next = Math.min(N, shown + MORE_SLIDERS);
      // Only the new rows are put in the list and written to; nothing is taken out.
      expect(added).toHaveLength(next - shown);
      expect(removed).toBe(0);
      const fresh = new Set(added);
      expect(written.filter((j) => j >= 0 && !fresh.has(j))).toEqual([]);
      shown = next;
    }
    expect(listed(sliders)).toBe(N);
    writes.stop();
  });

  it("keeps the rows in the order asked for when the list changes (a search, an order)", () => {
    const { sliders, more } = setup();
    more.click();
    const order = Array.from({ length: N }, (_, j) => N - 1 - j);
    sliders.setOrder(order, "impact");
    const rows = () => [...sliders.el.querySelectorAll<HTMLElement>(".ow-slider")].map((r) => Number(r.dataset.j));
    expect(rows()).toEqual(order.slice(0, TOP_SLIDERS + MORE_SLIDERS));
    const search = sliders.el.querySelector("input[type=search]") as HTMLInputElement;
    search.value = "f29";
    search.dispatchEvent(new Event("input"));
    expect(rows()).toEqual([299, 298, 297, 296, 295, 294, 293, 292, 291, 290, 29]);
    search.value = "";
    search.dispatchEvent(new Event("input"));
    expect(rows()).toEqual(order.slice(0, TOP_SLIDERS));
  });
});

describe("a row the user moved", () => {
  it("is written again by the next view even when that view says what the last one did", () => {
    const { sliders, first } = setup();
    const row = sliders.el.querySelector<HTMLElement>('.ow-slider[data-j="2"]') as HTMLElement;
    const number = row.querySelector("input.ow-number") as HTMLInputElement;
    const range = row.querySelector("input[type=range]") as HTMLInputElement;
    expect(number.value).toBe("30");
    // Typed and committed, then the edit was not kept (an error, a reset): the row's own
    // value comes back in a view equal to the last.
    number.value = "70";
    number.dispatchEvent(new Event("input"));
    number.dispatchEvent(new Event("change"));
    sliders.update({ ...first, seq: 1 });
    expect(number.value).toBe("30");
    range.value = "80";
    range.dispatchEvent(new Event("input"));
    range.dispatchEvent(new Event("change"));
    range.dispatchEvent(new Event("pointerup"));
    sliders.update({ ...first, seq: 2 });
    expect([range.value, number.value]).toEqual(["30", "30"]);
  });

  it("a category or a box chosen and not kept shows the row's value again", () => {
    const s = mixedSchema();
    const sliders = new Sliders(new Features(s), { edit: () => {}, reset: () => {}, pending: () => new Map(), impactOrder: () => null });
    document.body.append(sliders.el);
    const first = view(s);
    sliders.update(first);
    const select = sliders.el.querySelector("select") as HTMLSelectElement;
    const box = sliders.el.querySelector("input[type=checkbox]") as HTMLInputElement;
    expect([select.selectedOptions[0]?.textContent, box.checked]).toEqual(["Paris", true]);
    select.value = "0";
    select.dispatchEvent(new Event("change"));
    box.checked = false;
    box.dispatchEvent(new Event("change"));
    sliders.update({ ...first, seq: 1 });
    expect([select.selectedOptions[0]?.textContent, box.checked]).toEqual(["Paris", true]);
  });
});
