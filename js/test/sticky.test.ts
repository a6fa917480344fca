// The panel's header follows the notebook's scroll; happy-dom has no layout, so the boxes are
// set by hand and the test moves them as a scroll or a resize would.
import { afterEach, describe, expect, it, vi } from "vitest";
import { keepInView, stickyOffset } from "../src/sticky";

describe("stickyOffset", () => {
  it("is zero while the panel's top is in view", () => {
    expect(stickyOffset(120, 1500, 150, 80)).toBe(0);
  });

  it("moves the header to the top of what is visible, never past the panel's end", () => {
    expect(stickyOffset(-400, 1500, 150, 80)).toBe(480);
    expect(stickyOffset(-1500, 1500, 150, 80)).toBe(1350);
  });

  it("stays in place when pinned it would cover most of what is visible (a zoomed page)", () => {
    expect(stickyOffset(-400, 1500, 150, 80, 900)).toBe(480);
    expect(stickyOffset(-400, 1500, 239, 0, 450)).toBe(0); // 200% zoom: half the screen
  });
});

type Box = { top: number; height: number };

/** A scroller holding a panel whose header is `header` px high; `move` sets their boxes. */
function notebook(header: number) {
  const scroller = document.createElement("div");
  scroller.style.overflowY = "auto";
  const panel = document.createElement("div");
  const top = document.createElement("div");
  panel.append(top);
  scroller.append(panel);
  document.body.append(scroller);
  const boxes = new Map<Element, Box>([
    [scroller, { top: 80, height: 900 }],
    [panel, { top: 120, height: 1500 }],
  ]);
  for (const [el] of boxes) {
    vi.spyOn(el, "getBoundingClientRect").mockImplementation(() => {
      const b = boxes.get(el) as Box;
      return { top: b.top, height: b.height, bottom: b.top + b.height, left: 0, right: 900, width: 900, x: 0, y: b.top } as DOMRect;
    });
  }
  Object.defineProperty(scroller, "scrollHeight", { get: () => 2600 });
  Object.defineProperty(scroller, "clientHeight", { get: () => (boxes.get(scroller) as Box).height });
  Object.defineProperty(top, "offsetHeight", { get: () => header });
  const move = (el: Element, box: Partial<Box>) => boxes.set(el, { ...(boxes.get(el) as Box), ...box });
  return { scroller, panel, top, move };
}

/** Lets the scheduled animation frame run. */
const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve(null)));

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
  document.body.replaceChildren();
});

describe("keepInView", () => {
  it("sticks the header when the notebook scrolls the panel's top out of view", async () => {
    const { scroller, panel, top, move } = notebook(150);
    const stop = keepInView(panel, top);
    await frame();
    expect(top.classList.contains("ow-stuck")).toBe(false);
    move(panel, { top: -400 });
    scroller.dispatchEvent(new Event("scroll"));
    await frame();
    expect(top.classList.contains("ow-stuck")).toBe(true);
    expect(top.style.transform).toBe("translateY(480px)");
    stop();
  });

  it("scrolls a control focused under the pinned header out from under it", async () => {
    const { scroller, panel, top, move } = notebook(150);
    const stop = keepInView(panel, top);
    move(panel, { top: -400 });
    scroller.dispatchEvent(new Event("scroll"));
    await frame();
    expect(top.classList.contains("ow-stuck")).toBe(true);
    // The pinned header covers 80..230 of the page; Shift+Tab lands on a control at 100.
    vi.spyOn(top, "getBoundingClientRect").mockReturnValue({ top: 80, bottom: 230 } as DOMRect);
    const control = document.createElement("button");
    panel.append(control);
    vi.spyOn(control, "getBoundingClientRect").mockReturnValue({ top: 100, bottom: 120 } as DOMRect);
    const scrollBy = vi.fn();
    (scroller as unknown as { scrollBy: typeof scrollBy }).scrollBy = scrollBy;
    control.dispatchEvent(new FocusEvent("focusin", { bubbles: true }));
    expect(scrollBy).toHaveBeenCalledWith({ top: -134 });
    // One inside the header, or below it, stays where it is.
    top.append(document.createElement("input"));
    (top.lastChild as HTMLElement).dispatchEvent(new FocusEvent("focusin", { bubbles: true }));
    expect(scrollBy).toHaveBeenCalledTimes(1);
    stop();
  });

  it("places the header again when a scroller changes size with no scroll event", async () => {
    // The window's resize event comes before JupyterLab lays the notebook out again: only the
    // scroller's new size tells the header where it now is.
    const observers: ResizeObserver[] = [];
    const watched: Element[] = [];
    let notify: () => void = () => {};
    vi.stubGlobal(
      "ResizeObserver",
      class {
        constructor(callback: ResizeObserverCallback) {
          notify = () => callback([], this as unknown as ResizeObserver);
          observers.push(this as unknown as ResizeObserver);
        }
        observe(el: Element) {
          watched.push(el);
        }
        disconnect() {
          watched.length = 0;
        }
        unobserve() {}
      },
    );
    const { scroller, panel, top, move } = notebook(150);
    const stop = keepInView(panel, top);
    await frame();
    expect(watched).toEqual(expect.arrayContaining([panel, scroller]));
    expect(top.classList.contains("ow-stuck")).toBe(false);
    // The notebook is laid out again: the scroller starts higher, and the panel's top is above it.
    move(scroller, { top: 40, height: 600 });
    move(panel, { top: -200 });
    notify();
    await frame();
    expect(top.classList.contains("ow-stuck")).toBe(true);
    expect(top.style.transform).toBe("translateY(240px)");
    stop();
    expect(watched).toEqual([]);
    expect(observers).toHaveLength(1);
  });
});
