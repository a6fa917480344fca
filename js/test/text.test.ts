// The text panel in happy-dom with hand-made payloads: tokens stay text, typing sends one fast
// request per frame and the exact one after a pause, a token click edits the text with an
// estimate, typing is answered at once with the values outside the edit carried over, a
// head click asks for its map, an older answer never replaces a newer one, and
// the export's in-page model answers precomputed edits and labels the others.
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Agreement, RequestMessage } from "../src/types";
import { heat, textOn } from "../src/text/colour";
import { TextExportAnswers } from "../src/text/host";
import { PAUSE_MS, agreementText, renderTextPanel } from "../src/text/panel";
import { type TokenAction, editText } from "../src/text/tokens";
import { editedWords, typingEstimate } from "../src/text/typing";
import type { TextExportData, TextMessage, TextModel, TextSchema, TextView, TextWidgetModel, TokensInfo } from "../src/text/types";
import tokenEditCases from "./token-edit-cases.json";

/** Written by tests/test_text_export.py: tricky texts, their tokens and edit_token's texts. */
interface TokenEditCase {
  name: string;
  text: string;
  tokens: TokensInfo;
  mask: string;
  replacement: string;
  edits: { token: number; action: TokenAction; text: string }[];
}
const CASES = tokenEditCases as TokenEditCase[];

afterEach(() => {
  document.body.replaceChildren();
  vi.useRealTimers();
});

const TEXT = "the <script>alert(1)</script> constructor was great";

export function textSchema(): TextSchema {
  return {
    kind: "text",
    task: "binary",
    classes: ["negative", "positive"],
    targets: ["negative", "positive"],
    n_texts: 2,
    labels: [TEXT, "__proto__ was bad"],
    has_y: false,
    explainers: [
      { name: "ig", title: "Integrated Gradients", view: "force", unit: "token" },
      { name: "shap_text", title: "SHAP", view: "force", unit: "token" },
      { name: "lime_text", title: "LIME", view: "weights", unit: "token" },
    ],
    surrogate: true,
    attention: true,
    mask_token: "[MASK]",
    model: "Toy (transformers model)",
  };
}

const STRINGS = ["[CLS]", "the", "<script>alert(1)</script>", "constructor", "was", "great", "[SEP]"];
const SPANS: (number[] | null)[] = [null, [0, 3], [4, 29], [30, 41], [42, 45], [46, 51], null];

export function textView(seq = 0, text = TEXT): TextView {
  const n = STRINGS.length;
  const thumbs = btoa(String.fromCharCode(...Array.from({ length: 2 * 2 * n * n }, (_, k) => k % 256)));
  return {
    seq,
    index: 0,
    target: "positive",
    quality: "exact",
    text,
    original: TEXT,
    edited: text !== TEXT,
    tokens: { strings: STRINGS, spans: SPANS, special: STRINGS.map((s) => s.startsWith("[")), truncated: 0 },
    prediction: 0.9,
    predicted_label: "positive",
    probabilities: [0.1, 0.9],
    y: null,
    attributions: [
      { values: [0, 0.1, -0.2, 0.05, 0, 2.5, 0], base: -0.1, quality: "exact", algorithm: "IG", fallback: null, details: { space: "logit", output: 2.36, baseline_output: -0.1, steps: 50, gap: 0.01, gap_share: 0.004, tolerance: 0.01, converged: true } },
      { values: [0, 0.01, -0.02, 0.01, 0, 0.4, 0], base: 0.5, quality: "exact", algorithm: "SHAP", fallback: null, details: { space: "probability" } },
      null,
    ],
    agreement: [],
    rule: { id: 0, phrases: ["great"], tokens: [5] },
    attention: { layers: 2, heads: 2, side: n, thumbnails: thumbs, entropy: [1, 2, 3, 4], rollout: [0.5, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05], rollout_map: { shape: [n, n], scale: 0.01, data: thumbs.slice(0, 4 * Math.ceil((n * n) / 3)) } },
    pending: ["lime_text"],
  };
}

function fakeModel(view: TextView) {
  const state: TextWidgetModel = {
    _schema: textSchema(),
    _view: view,
    _surrogate: {
      rules: [
        { id: 0, phrases: ["great", "constructor"], exceptions: ["not great"], prediction: "positive", coverage: 0.5, precision: 0.95, text: "" },
        { id: 1, phrases: [], exceptions: [], prediction: "negative", coverage: 0.5, precision: 0.9, text: "" },
      ],
      fidelity: 0.95,
      between: 0.9,
      metric: "accuracy",
      complexity: 2,
      phrases: 3,
      family: "rule list",
      curve: [
        { rules: 1, fidelity: 0.5, between: 0.5, validation: 0.5, validation_se: 0.02, chosen: false },
        { rules: 2, fidelity: 0.95, between: 0.9, validation: 0.93, validation_se: 0.011, chosen: true },
      ],
      reason: "the fewest rules",
      n_texts: 10,
      n_samples: 90,
      n_held_out: 3,
    },
    _progress: {},
    index: 0,
    target: "positive",
    error: null,
  };
  const listeners = new Map<string, Set<(...args: any[]) => void>>();
  const sent: TextMessage[] = [];
  const model: TextModel & { emit(event: string, ...args: unknown[]): void; set(key: keyof TextWidgetModel, value: unknown): void } = {
    get: (key) => state[key],
    on: (event, cb) => {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)?.add(cb);
    },
    off: (event, cb) => listeners.get(event)?.delete(cb),
    send: (message) => sent.push(message),
    emit: (event, ...args) => listeners.get(event)?.forEach((cb) => cb(...args)),
    set: (key, value) => {
      (state as unknown as Record<string, unknown>)[key] = value;
      model.emit(`change:${key}`);
    },
  };
  return { model, sent };
}

describe("text panel", () => {
  it("shows tokens as text, never as markup", () => {
    const { model } = fakeModel(textView());
    const el = document.createElement("div");
    document.body.append(el);
    renderTextPanel(model, el);
    expect(el.querySelector("script")).toBeNull();
    const tokens = [...el.querySelectorAll('[data-method="ig"] .ow-token')].map((t) => t.textContent);
    expect(tokens).toContain("<script>alert(1)</script>");
    expect(tokens).toContain("constructor");
    expect(el.querySelector("[data-testid=ow-prediction]")?.textContent).toBe("P(positive) = 0.9");
    expect(el.querySelector("[data-testid=ow-completeness]")?.textContent).toContain("within 1.0%");
    expect(el.querySelector('[data-method="lime_text"]')?.getAttribute("data-state")).toBe("pending");
    expect(el.querySelector(".ow-fired")?.textContent).toContain("great");
    expect(el.querySelector(".ow-fired .ow-said")?.textContent).toBe("great");
    expect(el.querySelectorAll(".ow-head[data-layer='1']")).toHaveLength(2);
    expect(el.querySelector("[data-testid=ow-text-fidelity]")?.textContent).toMatch(
      /^2 rules \(3 phrases\) fit .* held-out fidelity 0\.950 on 3 texts, on perturbed held-out texts 0\.900\./,
    );
    const tips = [...el.querySelectorAll(".ow-text-surrogate svg title")].map((t) => t.textContent);
    expect(tips).toEqual([
      "1 rule: held-out fidelity 0.500, cross-validated 0.500 ± 0.020",
      "2 rules: held-out fidelity 0.950, cross-validated 0.930 ± 0.011",
    ]);
    // The curve's scale: from the tenth below its lowest point to 1, each size labelled.
    const labels = [...el.querySelectorAll(".ow-text-surrogate svg text")].map((t) => t.textContent);
    expect(labels).toEqual(["held-out fidelity", "1.0", "0.5", "1", "2", "rules (● the list shown)"]);
    const dots = [...el.querySelectorAll(".ow-text-surrogate svg circle")];
    expect(Number(dots[0].getAttribute("cy"))).toBeGreaterThan(Number(dots[1].getAttribute("cy")));
    expect(dots[1].getAttribute("class")).toBe("ow-curve-chosen");
  });

  it("shows LIME's sampling error per token and dashes a token whose sign another seed could flip", () => {
    const view = textView();
    view.pending = [];
    view.attributions[2] = {
      values: [0, 0.02, -0.01, 0.003, 0, 0.3, 0],
      base: null,
      quality: "exact",
      algorithm: "LIME text",
      fallback: null,
      details: { space: "probability", samples: 2000, score: 0.9, errors: [null, 0.004, 0.002, 0.004, 0.001, 0.01, null] },
    };
    const { model } = fakeModel(view);
    const el = document.createElement("div");
    renderTextPanel(model, el);
    const chips = [...el.querySelectorAll('[data-method="lime_text"] .ow-token')] as HTMLElement[];
    expect(chips.map((c) => c.classList.contains("ow-sign-unknown"))).toEqual([false, false, false, true, true, false, false]);
    expect(chips[3].title).toBe("constructor: +0.003 ± 0.008, either sign (probability)");
    expect(chips[5].title).toBe("great: +0.3 ± 0.02 (probability)");
    expect(el.querySelector('[data-method="lime_text"] [data-testid=ow-sampling]')?.textContent).toBe(
      "Sampling error: ± 0.008 typical (2 standard errors; in each token's tooltip) · 2 tokens shown could take either sign with another seed (dashed).",
    );
  });

  it("counts one rule as one rule", () => {
    const { model } = fakeModel(textView());
    const info = model.get("_surrogate");
    model.set("_surrogate", info && { ...info, rules: info.rules.slice(1), complexity: 1, phrases: 0 });
    const el = document.createElement("div");
    renderTextPanel(model, el);
    expect(el.querySelector("[data-testid=ow-text-fidelity]")?.textContent).toMatch(/^1 rule \(0 phrases\) fit /);
  });

  /** The panel on a page with fake timers, its editor, and a function typing into it. */
  function typingPanel() {
    vi.useFakeTimers();
    const { model, sent } = fakeModel(textView());
    const el = document.createElement("div");
    document.body.append(el);
    renderTextPanel(model, el);
    const editor = el.querySelector("textarea") as HTMLTextAreaElement;
    const type = (text: string) => {
      editor.value = text;
      editor.dispatchEvent(new Event("input"));
    };
    const requests = () => sent.filter((m): m is RequestMessage => m.type === "request");
    return { model, editor, type, requests };
  }

  it("sends one fast request per frame while typing and the exact one after a pause", async () => {
    const { type, requests } = typingPanel();
    for (const text of ["the", "the plot", "the plot was bad"]) type(text);
    await vi.advanceTimersByTimeAsync(20);
    expect(requests()).toHaveLength(1);
    expect(requests()[0]).toMatchObject({ fast: true, edits: [[0, "the plot was bad"]] });
    await vi.advanceTimersByTimeAsync(PAUSE_MS + 10);
    expect(requests()).toHaveLength(2);
    expect(requests()[1]).toMatchObject({ fast: false, edits: [[0, "the plot was bad"]] });
  });

  it("typing right after picking a class asks for that class", async () => {
    const { model, editor, type, requests } = typingPanel();
    const classes = editor.closest(".optiml-widget, div")?.parentElement?.querySelector('select[aria-label="explained class"]') as HTMLSelectElement;
    classes.value = "negative";
    classes.dispatchEvent(new Event("change"));
    type("the plot");
    await vi.advanceTimersByTimeAsync(20);
    expect(requests().at(-1)).toMatchObject({ target: "negative", fast: true });
    expect(model.get("target")).toBe("positive"); // no answer yet: the view still explains "positive"
  });

  it("never overwrites a keystroke with the answer to the text before it", async () => {
    const { model, editor, type, requests } = typingPanel();
    editor.focus();
    type("t");
    await vi.advanceTimersByTimeAsync(20); // the frame: "t" is asked for
    expect(requests()).toHaveLength(1);
    // "h" is typed; its request waits for the next frame when the answer to "t" arrives.
    type("th");
    model.set("_view", textView(requests()[0].seq, "t"));
    expect(editor.value).toBe("th");
    await vi.advanceTimersByTimeAsync(20);
    expect(requests().at(-1)).toMatchObject({ fast: true, edits: [[0, "th"]] });
  });

  it("keeps the typed text when the kernel is gone, and stops saying methods are computing", async () => {
    const { model, editor, type } = typingPanel();
    model.set("_view", { ...textView(), pending: ["lime", "ig"] });
    model.send = () => {
      throw new Error("Cannot send");
    };
    editor.focus();
    type("my long edit");
    await vi.advanceTimersByTimeAsync(PAUSE_MS + 50);
    editor.blur();
    const root = editor.closest(".optiml-widget") as HTMLElement;
    expect(root.querySelector(".ow-error")?.textContent).toContain("kernel is gone");
    expect(editor.value).toBe("my long edit");
    expect(root.querySelector("[data-testid=ow-status]")?.textContent).not.toContain("computing");
  });

  it("edits a clicked token at once, with an estimate until the answer", () => {
    const { model, sent } = fakeModel(textView());
    const el = document.createElement("div");
    document.body.append(el);
    renderTextPanel(model, el);
    (el.querySelector('[data-method="ig"] .ow-token[data-token="5"]') as HTMLElement).click();
    (el.querySelector('.ow-token-menu [data-action="mask"]') as HTMLButtonElement).click();
    const request = sent.at(-1) as RequestMessage;
    expect(request).toMatchObject({ type: "request", fast: false });
    expect(request.edits?.[0][1]).toBe("the <script>alert(1)</script> constructor was [MASK]");
    expect(el.querySelector("[data-testid=ow-prediction]")?.textContent).toBe("P(positive) ≈ 0.5");
    expect((el.querySelector(".optiml-widget") as HTMLElement).dataset.quality).toBe("estimate");
  });

  it("from the keyboard: Escape closes the token menu back to its token; an edit gives the focus back", () => {
    const { model } = fakeModel(textView());
    const el = document.createElement("div");
    document.body.append(el);
    renderTextPanel(model, el);
    const chip = () => el.querySelector('[data-method="ig"] .ow-token[data-token="5"]') as HTMLElement;
    expect(chip().getAttribute("aria-label")).toMatch(/^great: [+−]/); // its value, read aloud
    // One tab stop per strip; the arrow keys move between its words.
    const strip = el.querySelector('[data-method="ig"] .ow-tokens') as HTMLElement;
    const stops = () => [...strip.querySelectorAll<HTMLElement>('.ow-token[tabindex="0"]')].map((c) => c.dataset.token);
    expect(stops()).toEqual(["1"]);
    const first = strip.querySelector('.ow-token[data-token="1"]') as HTMLElement;
    first.focus();
    first.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect((document.activeElement as HTMLElement).dataset.token).toBe("2");
    expect(stops()).toEqual(["2"]);
    (document.activeElement as HTMLElement).dispatchEvent(new KeyboardEvent("keydown", { key: "End", bubbles: true }));
    expect((document.activeElement as HTMLElement).dataset.token).toBe("5");
    // Keys on a chip stay in the panel, also past the strip's end ("b" inserted a cell).
    const notebook: string[] = [];
    const listen = (event: KeyboardEvent) => notebook.push(event.key);
    document.addEventListener("keydown", listen);
    for (const key of ["ArrowRight", "b"]) (document.activeElement as HTMLElement).dispatchEvent(new KeyboardEvent("keydown", { key, bubbles: true }));
    document.removeEventListener("keydown", listen);
    expect(notebook).toEqual([]);
    chip().focus();
    chip().dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    const mask = el.querySelector('.ow-token-menu [data-action="mask"]') as HTMLButtonElement;
    expect(el.querySelector(".ow-token-menu")?.getAttribute("aria-label")).toBe("Edit token “great”");
    mask.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(el.querySelector(".ow-token-menu")).toBeNull();
    expect(document.activeElement).toBe(chip());
    chip().click();
    (el.querySelector('.ow-token-menu [data-action="mask"]') as HTMLButtonElement).click();
    // The answer redraws every chip: the edited token's place has the focus again.
    model.set("_view", textView(5, "the <script>alert(1)</script> constructor was [MASK]"));
    expect((document.activeElement as HTMLElement).dataset.token).toBe("5");
  });

  it("keeps an open token menu, its half-typed word and its focus while the same text's methods stream in", () => {
    const { model, sent } = fakeModel(textView(3));
    const el = document.createElement("div");
    document.body.append(el);
    renderTextPanel(model, el);
    (el.querySelector('[data-method="ig"] .ow-token[data-token="5"]') as HTMLElement).click();
    const input = el.querySelector(".ow-token-menu .ow-replace") as HTMLInputElement;
    input.focus();
    input.value = "goo";
    // LIME streams in: a new view of the same text and tokens.
    const filled = textView(3);
    filled.pending = [];
    filled.attributions[2] = { values: [0, 0.02, -0.01, 0.003, 0, 0.3, 0], base: null, quality: "exact", algorithm: "LIME text", fallback: null, details: { space: "probability", samples: 2000, score: 0.9 } };
    model.set("_view", filled);
    expect(el.querySelector('[data-method="lime_text"]')?.getAttribute("data-state")).toBe("exact");
    const menus = el.querySelectorAll(".ow-token-menu");
    expect(menus).toHaveLength(1);
    expect(menus[0].querySelector(".ow-replace")).toBe(input);
    expect(input.value).toBe("goo");
    expect(document.activeElement).toBe(input);
    // Still beside its token, and still working: Escape gives the focus to the redrawn chip.
    const chip = el.querySelector('[data-method="ig"] .ow-token[data-token="5"]') as HTMLElement;
    expect(chip.nextElementSibling).toBe(menus[0]);
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(el.querySelector(".ow-token-menu")).toBeNull();
    expect(document.activeElement).toBe(chip);
    // Typing in the menu and finishing the word edits the text.
    chip.click();
    const again = el.querySelector(".ow-token-menu .ow-replace") as HTMLInputElement;
    model.set("_view", filled);
    again.value = "good";
    again.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect((sent.at(-1) as RequestMessage).edits?.[0][1]).toBe("the <script>alert(1)</script> constructor was good");
    // A view with other tokens closes an open menu.
    (el.querySelector('[data-method="ig"] .ow-token[data-token="1"]') as HTMLElement).click();
    expect(el.querySelectorAll(".ow-token-menu")).toHaveLength(1);
    const other = textView(9, "a plot");
    other.tokens = { strings: ["[CLS]", "a", "plot", "[SEP]"], spans: [null, [0, 1], [2, 6], null], special: [true, false, false, true], truncated: 0 };
    other.attributions = [null, null, null];
    model.set("_view", other);
    expect(el.querySelector(".ow-token-menu")).toBeNull();
  });

  it("with the panel shown twice, one Export click saves one file, from the view clicked", () => {
    const { model, sent } = fakeModel(textView());
    const [one, two] = [0, 1].map(() => {
      const el = document.createElement("div");
      document.body.append(el);
      renderTextPanel(model, el, { canExport: true });
      return el;
    });
    const exportButton = (el: HTMLElement) => [...el.querySelectorAll("button")].find((b) => b.textContent === "Export HTML") as HTMLButtonElement;
    const state = (el: HTMLElement) => exportButton(el).nextElementSibling?.textContent;
    const clicks: string[] = [];
    const click = HTMLAnchorElement.prototype.click;
    HTMLAnchorElement.prototype.click = function () {
      clicks.push(this.download);
    };
    try {
      exportButton(one).click();
      const asked = sent.at(-1) as { type: string; id?: string };
      expect(asked.type).toBe("export");
      expect(asked.id).toBeTruthy();
      expect(state(one)).toBe("exporting…");
      expect(state(two)).toBe("");
      model.emit("msg:custom", { type: "export", id: asked.id, filename: "t.html", bytes: 8 }, [new DataView(new ArrayBuffer(8))]);
      expect(clicks).toEqual(["t.html"]);
      expect(state(one)).toBe("saved t.html (8 bytes)");
      expect(state(two)).toBe("");
      // A reply naming no view (saved before replies named one) is taken by every view.
      model.emit("msg:custom", { type: "export", filename: "u.html", bytes: 8 }, [new DataView(new ArrayBuffer(8))]);
      expect(clicks).toEqual(["t.html", "u.html", "u.html"]);
    } finally {
      HTMLAnchorElement.prototype.click = click;
    }
  });

  it("attention chips' text reads on their colour, light or dark", () => {
    expect(textOn(heat(0))).toBe("#111111"); // white chip
    expect(textOn(heat(1))).toBe("#ffffff"); // the strongest, dark blue
  });

  it("answers typing at once: tokens outside the edit keep their values, new words outlined", () => {
    const { model, sent } = fakeModel(textView());
    const el = document.createElement("div");
    document.body.append(el);
    renderTextPanel(model, el);
    const editor = el.querySelector("textarea") as HTMLTextAreaElement;
    editor.value = TEXT.replace("was great", "was not good");
    editor.dispatchEvent(new Event("input"));
    const root = el.querySelector(".optiml-widget") as HTMLElement;
    expect(root.dataset.quality).toBe("estimate");
    const chips = [...el.querySelectorAll('[data-method="shap_text"] .ow-token')];
    expect(chips.map((t) => t.textContent)).toEqual(["[CLS]", "the", "<script>alert(1)</script>", "constructor", "was", "not", "good", "[SEP]"]);
    expect(chips.filter((t) => t.classList.contains("ow-marked")).map((t) => t.textContent)).toEqual(["not", "good"]);
    expect(el.querySelector("script")).toBeNull();
    // SHAP's value of "great" (0.4) leaves the prediction: 0.9 - 0.4.
    expect(el.querySelector("[data-testid=ow-prediction]")?.textContent).toBe("P(positive) ≈ 0.5");
    expect(el.querySelector("[data-testid=ow-status]")?.textContent).toContain("without “great”");
    expect(sent.filter((m) => m.type === "request")).toHaveLength(0); // the fast request waits a frame
    // A click on a new word edits the typed text, not the last answer's.
    (el.querySelector('[data-method="ig"] .ow-token[data-token="6"]') as HTMLElement).click();
    (el.querySelector('.ow-token-menu [data-action="delete"]') as HTMLButtonElement).click();
    expect((sent.at(-1) as RequestMessage).edits?.[0][1]).toBe(TEXT.replace("was great", "was not"));
    // The kernel's answer replaces the estimate.
    model.set("_view", { ...textView(5, TEXT.replace("was great", "was not")), quality: "fast" });
    expect(root.dataset.quality).toBe("fast");
  });

  it("never lets an older answer replace a newer one", () => {
    const { model } = fakeModel(textView(5));
    const el = document.createElement("div");
    document.body.append(el);
    renderTextPanel(model, el);
    model.set("_view", textView(7, "the plot was great"));
    model.set("_view", textView(6, "an older text"));
    expect((el.querySelector("textarea") as HTMLTextAreaElement).value).toBe("the plot was great");
    expect((el.querySelector(".optiml-widget") as HTMLElement).dataset.seq).toBe("7");
  });

  it("asks for a clicked head's map and draws it", async () => {
    const { model, sent } = fakeModel(textView(3));
    const el = document.createElement("div");
    document.body.append(el);
    renderTextPanel(model, el);
    (el.querySelector(".ow-head[data-layer='1'][data-head='0']") as HTMLButtonElement).click();
    expect(sent.at(-1)).toEqual({ type: "head", seq: 3, index: 0, text: TEXT, layer: 1, head: 0 });
    const n = STRINGS.length;
    const bytes = new Uint8Array(n * n).fill(128);
    model.emit("msg:custom", { type: "head", seq: 3, layer: 1, head: 0, size: n, scale: 0.004, error: null }, [new DataView(bytes.buffer)]);
    await Promise.resolve();
    await Promise.resolve();
    expect(el.querySelector("[data-testid=ow-head-title]")?.textContent).toContain("Layer 2, head 1");
    expect([...el.querySelectorAll(".ow-map-label")].map((l) => l.textContent)).toEqual(STRINGS);
    // For a screen reader: which head is pressed, and the map in words.
    const pressed = [...el.querySelectorAll(".ow-head[aria-pressed='true']")].map((b) => `${b.getAttribute("data-layer")}/${b.getAttribute("data-head")}`);
    expect(pressed).toEqual(["1/0"]);
    expect(el.querySelector("[data-testid=ow-head-map]")?.getAttribute("aria-label")).toContain(`each token attends most to: ${STRINGS[0]} → `);
  });

  it("asks for the selected head's map again when a new text's attention arrives after a first answer without it", async () => {
    const { model, sent } = fakeModel(textView(3));
    const el = document.createElement("div");
    document.body.append(el);
    renderTextPanel(model, el);
    (el.querySelector(".ow-head[data-layer='1'][data-head='0']") as HTMLButtonElement).click();
    const n = STRINGS.length;
    model.emit("msg:custom", { type: "head", seq: 3, layer: 1, head: 0, size: n, scale: 0.004, error: null }, [new DataView(new Uint8Array(n * n).fill(128).buffer)]);
    await Promise.resolve();
    await Promise.resolve();
    const frame = el.querySelector(".ow-map-frame") as HTMLElement;
    expect(frame.classList.contains("ow-stale")).toBe(false);
    const heads = () => sent.filter((m) => m.type === "head");
    expect(heads()).toHaveLength(1);
    // An edit's first answer: the new text, its attention still computing.
    const edited = "the plot was great";
    model.set("_view", { ...textView(4, edited), attention: null, pending: ["attention"] });
    expect(heads()).toHaveLength(1);
    expect(frame.classList.contains("ow-stale")).toBe(true); // the old text's map, faded
    // Its fill-in, same text with attention: the selected head is asked for that text.
    model.set("_view", textView(4, edited));
    expect(heads()).toHaveLength(2);
    expect(heads()[1]).toEqual({ type: "head", seq: 4, index: 0, text: edited, layer: 1, head: 0 });
    model.emit("msg:custom", { type: "head", seq: 4, layer: 1, head: 0, size: n, scale: 0.004, error: null }, [new DataView(new Uint8Array(n * n).fill(9).buffer)]);
    await Promise.resolve();
    await Promise.resolve();
    expect(frame.classList.contains("ow-stale")).toBe(false);
    // A later fill-in of the same text (rules, a method) does not ask again.
    model.set("_view", textView(4, edited));
    expect(heads()).toHaveLength(2);
    // Back to a text picked before: asked again, as its own text.
    model.set("_view", textView(5));
    expect(heads().at(-1)).toMatchObject({ seq: 5, text: TEXT });
  });

  it("in a narrow notebook the head map, the heads and the cards scroll sideways instead of being cut off", async () => {
    const { model } = fakeModel(textView(3));
    const el = document.createElement("div");
    document.body.append(el);
    renderTextPanel(model, el);
    (el.querySelector(".ow-head[data-layer='0'][data-head='0']") as HTMLButtonElement).click();
    const n = STRINGS.length;
    model.emit("msg:custom", { type: "head", seq: 3, layer: 0, head: 0, size: n, scale: 0.004, error: null }, [new DataView(new Uint8Array(n * n).buffer)]);
    await Promise.resolve();
    await Promise.resolve();
    const style = (selector: string) => getComputedStyle(el.querySelector(selector) as HTMLElement);
    // The map (a fixed 360 px canvas and its labels) sits in a box as wide as the card
    // at most, which scrolls.
    const scroll = el.querySelector("[data-testid=ow-map-scroll]") as HTMLElement;
    expect(scroll.contains(el.querySelector("[data-testid=ow-head-map]"))).toBe(true);
    expect(scroll.contains(el.querySelector(".ow-map-cols"))).toBe(true);
    expect(style("[data-testid=ow-map-scroll]").overflowX).toBe("auto");
    expect(style("[data-testid=ow-map-scroll]").maxWidth).toBe("100%");
    expect(style(".ow-heads").overflowX).toBe("auto"); // 12 × 12 heads of a base model
    for (const card of ["ow-method", "ow-attention", "ow-text-surrogate"]) expect(style(`.${card}`).overflowX).toBe("auto");
    expect(style("[data-testid=ow-text-picker]").minWidth).toMatch(/^0(px)?$/); // a long text's label shrinks
    // No column asks for more than the panel's width: the cards stack instead.
    for (const grid of [".ow-methods", ".ow-lower"]) {
      const columns = style(grid).gridTemplateColumns;
      expect(columns).toMatch(/^repeat\(auto-fit, minmax\(min\(100%, \d+px\), 1fr\)\)$/);
    }
  });

  it("keeps a long text's head map to one canvas (no node per cell or label)", async () => {
    const n = 400;
    const strings = Array.from({ length: n }, (_, i) => (i === 0 ? "[CLS]" : i === n - 1 ? "[SEP]" : `w${i}`));
    const long: TextView = {
      ...textView(9),
      tokens: { strings, spans: strings.map((_, i) => (i === 0 || i === n - 1 ? null : [i, i + 1])), special: strings.map((s) => s.startsWith("[")), truncated: 0 },
      attributions: [null, null, null],
      rule: null,
      attention: { ...(textView().attention as NonNullable<TextView["attention"]>), side: 16, thumbnails: btoa("\u0000".repeat(2 * 2 * 256)), rollout: new Array(n).fill(1 / n) },
    };
    const { model } = fakeModel(long);
    const el = document.createElement("div");
    document.body.append(el);
    const started = performance.now();
    renderTextPanel(model, el);
    (el.querySelector(".ow-head[data-layer='0'][data-head='0']") as HTMLButtonElement).click();
    model.emit("msg:custom", { type: "head", seq: 9, layer: 0, head: 0, size: n, scale: 0.004, error: null }, [new DataView(new Uint8Array(n * n).buffer)]);
    await Promise.resolve();
    await Promise.resolve();
    expect(el.querySelector("[data-testid=ow-head-title]")?.textContent).toContain("Layer 1, head 1");
    expect(el.querySelectorAll(".ow-map-label, .ow-map-col")).toHaveLength(0);
    expect(el.querySelectorAll("canvas.ow-map")).toHaveLength(1);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it("widens a typed edit to whole words and carries the other tokens' spans", () => {
    expect(editedWords("great movie", "great movies")).toEqual({ start: 6, end: 11, newEnd: 12 });
    expect(editedWords("great movie", "great  movie")).toEqual({ start: 6, end: 6, newEnd: 7 });
    expect(editedWords("great movie", "great xmovie")).toEqual({ start: 6, end: 11, newEnd: 12 });
    expect(editedWords("great movie", "grand movie")).toEqual({ start: 0, end: 5, newEnd: 5 });
    // A vowel sign typed into a Hindi word edits the whole word, not the letters after it.
    expect(editedWords("यह अच्छी", "यह अच्छा")).toEqual({ start: 3, end: 8, newEnd: 8 });
    const view = textView();
    const found = typingEstimate(view, `so ${TEXT}`, 1);
    expect(found?.view.tokens.strings).toEqual(["[CLS]", "so", ...STRINGS.slice(1)]);
    expect(found?.view.tokens.spans[6]).toEqual([49, 54]); // "great" moved by 3
    expect(found?.removed).toEqual([]);
    expect(found?.prediction).toBe(0.9);
    expect(found?.view.attributions[0]?.values.slice(2)).toEqual(view.attributions[0]?.values.slice(1));
    expect(typingEstimate(view, TEXT, 1)).toBeNull();
    expect(typingEstimate({ ...view, tokens: { ...view.tokens, truncated: 4 } }, `${TEXT}!`, 1)).toBeNull();
    const cut = typingEstimate(view, "the", 1);
    expect(cut?.view.tokens.strings).toEqual(["[CLS]", "the", "[SEP]"]);
    expect(cut?.prediction).toBeCloseTo(0.9 - (-0.02 + 0.01 + 0.4));
  });

  it("names every method that agrees with the reference in one sentence", () => {
    // As Python words them (text/payloads.py agreement): IG against SHAP, then LIME.
    const pair = (other: string, title: string, verdict: Agreement["verdict"] = "agree"): Agreement => ({
      reference: "ig",
      other,
      spearman: null,
      top_k: 2,
      top_overlap: 1,
      sign_agreement: 1,
      signs_uncertain: 0,
      local_fit: null,
      verdict,
      text: verdict === "agree" ? `Integrated Gradients and ${title} agree on this text` : `Integrated Gradients and ${title} disagree on this text: read both with care`,
    });
    const title = (name: string) => textSchema().explainers.find((e) => e.name === name)?.title ?? name;
    const [shap, lime] = [pair("shap_text", "SHAP"), pair("lime_text", "LIME")];
    expect(agreementText([shap, lime], title)).toBe("Integrated Gradients agrees with SHAP and LIME on this text.");
    expect(agreementText([shap], title)).toBe("Integrated Gradients and SHAP agree on this text.");
    const split = pair("lime_text", "LIME", "disagree");
    expect(agreementText([shap, split], title)).toBe(`${shap.text}. ${split.text}.`);
    expect(agreementText([], title)).toBe("");
  });

  it("edits text through token spans like Python does", () => {
    const tokens = textView().tokens;
    expect(editText(TEXT, tokens, 3, "delete", "[MASK]")).toBe("the <script>alert(1)</script> was great");
    // A deletion tidies the spaces beside the token only: the text's other runs of spaces
    // and its line breaks stay.
    const spaced = "Title:  GREAT\n\nthe plot    was fine here\n";
    const words: TokensInfo = { strings: ["plot", "here"], spans: [[19, 23], [36, 40]], special: [false, false], truncated: 0 };
    expect(editText(spaced, words, 1, "delete", "[MASK]")).toBe("Title:  GREAT\n\nthe plot    was fine\n");
    expect(editText(spaced, words, 0, "delete", "[MASK]")).toBe("Title:  GREAT\n\nthe was fine here\n");
    expect(editText(TEXT, tokens, 0, "mask", "[MASK]")).toBeNull();
  });

  it("makes every edit of the shared cases exactly as Python's edit_token does", () => {
    expect(CASES.map((c) => c.name)).toEqual(expect.arrayContaining(["zwj, flags and keycaps", "hebrew", "spaces around tokens", "truncated long text", "specials"]));
    const wrong = CASES.flatMap((c) =>
      c.edits
        .map((e) => ({ case: c.name, ...e, got: editText(c.text, c.tokens, e.token, e.action, c.mask, c.replacement) }))
        .filter((e) => e.got !== e.text),
    );
    expect(wrong).toEqual([]);
  });

  it("counts spans in code points, as Python does: an emoji is one character there", () => {
    // Spans and expected texts from Python: word_tokens(text) and edit_token(tokens, i, action, "[MASK]", "nice 👍").
    const emoji = "I 😀😀 love this great movie";
    const spans = [[0, 1], [2, 3], [3, 4], [5, 9], [10, 14], [15, 20], [21, 26]];
    const tokens: TokensInfo = { strings: ["I", "😀", "😀", "love", "this", "great", "movie"], spans, special: spans.map(() => false), truncated: 0 };
    expect(editText(emoji, tokens, 5, "mask", "[MASK]")).toBe("I 😀😀 love this [MASK] movie");
    expect(editText(emoji, tokens, 5, "delete", "[MASK]")).toBe("I 😀😀 love this movie");
    expect(editText(emoji, tokens, 2, "mask", "[MASK]")).toBe("I 😀[MASK] love this great movie");
    expect(editText(emoji, tokens, 2, "delete", "[MASK]")).toBe("I 😀 love this great movie");
    expect(editText(emoji, tokens, 2, "replace", "[MASK]", "nice 👍")).toBe("I 😀nice 👍 love this great movie");
    const script = "𝒜 great 😀 film 😀";
    const scriptTokens: TokensInfo = { strings: ["𝒜", "great", "😀", "film", "😀"], spans: [[0, 1], [2, 7], [8, 9], [10, 14], [15, 16]], special: [false, false, false, false, false], truncated: 0 };
    expect(editText(script, scriptTokens, 3, "mask", "[MASK]")).toBe("𝒜 great 😀 [MASK] 😀");
    expect(editText(script, scriptTokens, 3, "delete", "[MASK]")).toBe("𝒜 great 😀 😀");
    // Whitespace is what Python's str.isspace() says, not JavaScript's \s: no space stays
    // after \x1c, and a \ufeff is no whitespace.
    const two: TokensInfo = { strings: ["great", "movie"], spans: [[1, 6], [7, 12]], special: [false, false], truncated: 0 };
    expect(editText("\x1cgreat movie\x85", two, 0, "delete", "[MASK]")).toBe("\x1cmovie\x85");
    expect(editText("\ufeffa great movie", { ...two, spans: [[3, 8], [9, 14]] }, 0, "delete", "[MASK]")).toBe("\ufeffa movie");
    const bom: TokensInfo = { strings: ["\ufeff", "great", "movie"], spans: [[0, 1], [1, 6], [7, 12]], special: [false, false, false], truncated: 0 };
    expect(editText("\ufeffgreat movie", bom, 2, "delete", "[MASK]")).toBe("\ufeffgreat");
  });

  it("estimates a typed edit after an emoji with the tokens' code-point spans", () => {
    expect(editedWords("😀 great movie", "😀 great movies")).toEqual({ start: 8, end: 13, newEnd: 14 });
    const text = "😀 great movie";
    const view = { ...textView(), text, original: text, tokens: { strings: ["😀", "great", "movie"], spans: [[0, 1], [2, 7], [8, 13]], special: [false, false, false], truncated: 0 } };
    view.attributions = view.attributions.map((a) => a && { ...a, values: [0.1, 0.5, 0.2] });
    const found = typingEstimate(view, "😀 great film", 1);
    expect(found?.view.tokens.strings).toEqual(["😀", "great", "film"]);
    expect(found?.view.tokens.spans).toEqual([[0, 1], [2, 7], [8, 12]]);
    expect(found?.removed).toEqual([2]);
    expect(editText("😀 great film", found!.view.tokens, 1, "mask", "[MASK]")).toBe("😀 [MASK] film");
  });
});

describe("text export", () => {
  const data = (): TextExportData => ({
    schema: textSchema(),
    surrogate: null,
    views: [textView()],
    texts: [0],
    start: 0,
    heads: [null],
    head_scales: [[]],
    edits: [[{ token: 5, action: "delete", prediction: 0.2, probabilities: [0.8, 0.2] }]],
  });

  it("answers a precomputed one-token edit with the model's own output", () => {
    const answers = new TextExportAnswers(data());
    const view = answers.answer({ type: "request", seq: 4, index: 0, target: "positive", edits: [[0, "the <script>alert(1)</script> constructor was"]], fast: false });
    expect(view.prediction).toBe(0.2);
    expect(view.predicted_label).toBe("negative");
    expect(view.tokens.strings).not.toContain("great");
    expect(view.notice).toContain("Precomputed");
    expect(view.attributions.every((a) => a === null)).toBe(true);
  });

  it("rebuilds each precomputed edit's text as Python made it and answers it with that edit's output", () => {
    for (const c of CASES) {
      const made = c.edits.filter((e) => e.action !== "replace");
      const edits = made.map((e, k) => ({ token: e.token, action: e.action as "mask" | "delete", prediction: k, probabilities: [0, k] }));
      const view = { ...textView(0, c.text), original: c.text, edited: false, tokens: c.tokens };
      const answers = new TextExportAnswers({ ...data(), schema: { ...textSchema(), mask_token: c.mask }, views: [view], edits: [edits] });
      made.forEach((e, k) => {
        const first = made.findIndex((other) => other.text === e.text); // deleting either "a" of "a a" makes one text
        const answer = answers.answer({ type: "request", seq: k + 1, index: 0, target: "positive", edits: [[0, e.text]], fast: false });
        expect(answer.notice, `${c.name}: ${e.action} token ${e.token}`).toContain("Precomputed");
        expect(answer.prediction).toBe(first);
      });
    }
  });

  it("labels any other edit as not in the file", () => {
    const answers = new TextExportAnswers(data());
    const view = answers.answer({ type: "request", seq: 5, index: 0, target: "positive", edits: [[0, "something else"]], fast: false });
    expect(view.quality).toBe("unavailable");
    expect(view.notice).toContain("not in the file");
    // The exported text's numbers are not this text's: unknown, not shown as current.
    expect(Number.isNaN(view.prediction)).toBe(true);
    expect(view.attributions.every((a) => a === null)).toBe(true);
    expect(view.agreement).toEqual([]);
    expect(view.rule).toBeNull();
    expect(view.attention).toBeNull();
    expect(view.tokens.spans.every((span) => span === null)).toBe(true); // no chip edits by them
  });
});
