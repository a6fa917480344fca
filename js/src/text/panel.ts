// The text panel: wires the views to the model (a live kernel, or the export's in-page
// model). Top to bottom: the header (text, class, prediction, status), the editable text,
// one card per token method side by side with their agreement, then attention and the
// rules. Typing is answered at once in the page (the tokens outside the edit keep their
// values: typing.ts), asks for a fast view at most once per frame and for the exact one
// after a pause; a click on a token edits it at once, with an estimate until Python answers.
import { button, download, h, keepKeys } from "../dom";
import { fileSize, formatNumber } from "../format";
import { type Edits, KERNEL_GONE, SharedLoop, exportId, exportIsMine, sharedOf } from "../requests";
import type { Agreement, ExportReply, FailedReply, View } from "../types";
import { AttentionCard, type HeadMap, type LoadHead } from "./attention";
import type { TokenLink as Link } from "./link";
import { TokenLink } from "./link";
import { MethodCard } from "./methods";
import { viewBytes } from "./packed";
import { TextRulesCard } from "./rules";
import { TEXT_CSS } from "./style";
import { type TokenAction, editText } from "./tokens";
import { typingEstimate } from "./typing";
import type { HeadReply, TextModel, TextView } from "./types";

/** How long typing must pause before the exact view is asked for. */
export const PAUSE_MS = 400;

export interface TextPanelOptions {
  canExport?: boolean;
  /** Loads one head's map; by default it is asked from the kernel. */
  loadHead?: LoadHead;
}

/** The text as a request carries it: edit 0 is the whole text. */
const asEdits = (text: string): Edits => new Map([[0, text]]);

/** The methods' agreement as sentences: those agreeing with the reference named in one. */
export function agreementText(found: Agreement[], titleOf: (name: string) => string): string {
  const agreeing = found.filter((a) => a.verdict === "agree");
  const sentences = found.filter((a) => agreeing.length < 2 || a.verdict !== "agree").map((a) => `${a.text}.`);
  if (agreeing.length < 2) return sentences.join(" ");
  const others = agreeing.map((a) => titleOf(a.other));
  const listed = `${others.slice(0, -1).join(", ")} and ${others[others.length - 1]}`;
  return [`${titleOf(agreeing[0].reference)} agrees with ${listed} on this text.`, ...sentences].join(" ");
}

function headsFromKernel(model: TextModel): LoadHead {
  return (view, layer, head) =>
    new Promise<HeadMap>((resolve, reject) => {
      const onMessage = (message: HeadReply, buffers?: DataView[]) => {
        if (message?.type !== "head" || message.layer !== layer || message.head !== head || message.seq !== view.seq) return;
        model.off("msg:custom", onMessage);
        if (message.error || !buffers?.length) return reject(new Error(message.error ?? "no map"));
        resolve({ size: message.size, scale: message.scale, cells: viewBytes(buffers[0]) });
      };
      model.on("msg:custom", onMessage);
      model.send({ type: "head", seq: view.seq, index: view.index, text: view.text, layer, head });
    });
}

export function renderTextPanel(model: TextModel, el: HTMLElement, options: TextPanelOptions = {}): () => void {
  const schema = model.get("_schema");
  let view = model.get("_view");
  let shown = view; // the view on screen: the last answer, or an estimate while typing
  /** The class last asked for: the view on screen may still explain another one. */
  let askedTarget = view.target;
  const link: Link = new TokenLink();
  // Shared by every view of this widget (keyed by its schema: see panel.ts): their
  // requests never share a number.
  const requests = sharedOf(schema, () => new SharedLoop(view, (message) => model.send(message)));
  const { loop } = requests;
  /** Whether the kernel is gone: no answer will come, so the editor keeps what the user
   * typed (it is theirs to copy) and nothing says "computing" any more. */
  let gone = false;
  const unlistenSent = requests.onSent((lost) => {
    if (lost) {
      errorLine.textContent = lost;
      gone = lost === KERNEL_GONE;
    }
    setBusy();
  });
  // No view answers (a failure, a lost kernel): every view shows the last good one again.
  const unlistenSettled = requests.onSettled(() => {
    askedTarget = view.target;
    show();
    setBusy();
  });
  // RequestLoop reads only a view's sequence number.
  const accept = (next: TextView) => loop.accept(next as unknown as View);
  accept(view);

  // -- header ------------------------------------------------------------------------
  const picker = h("select", { "aria-label": "text", "data-testid": "ow-text-picker" });
  schema.labels.forEach((label, i) => picker.append(h("option", { value: i }, `${i}: ${label}`)));
  picker.addEventListener("change", () => loop.requestExact(Number(picker.value), { target: askedTarget, versus: null }));
  const classes = h("select", { "aria-label": "explained class" });
  schema.targets.forEach((c) => classes.append(h("option", { value: c }, c)));
  classes.addEventListener("change", () => {
    askedTarget = classes.value;
    loop.requestExact(view.index, { target: askedTarget, versus: null }, asEdits(editor.value));
  });
  const prediction = h("span", { class: "ow-prediction", "data-testid": "ow-prediction" });
  const status = h("span", { class: "ow-status", "data-testid": "ow-status" });
  const errorLine = h("p", { class: "ow-error", role: "alert" });
  const notice = h("p", { class: "ow-note" });
  const exportButton = options.canExport ? button("Export HTML") : null;
  const exportState = h("span", { class: "ow-note" });
  const exportAs = exportId(); // this view's: only it saves the file it asked for
  exportButton?.addEventListener("click", () => {
    exportState.textContent = "exporting…";
    model.send({ type: "export", id: exportAs });
  });
  const header = h(
    "div",
    { class: "ow-text-header" },
    h("label", {}, "Text ", picker),
    h("label", {}, "Explain ", classes),
    prediction,
    status,
    exportButton,
    exportState,
  );

  // -- the text ----------------------------------------------------------------------
  const editor = h("textarea", { class: "ow-editor", "aria-label": "text to explain", spellcheck: false, "data-testid": "ow-editor" });
  const reset = button("original text");
  let pause: ReturnType<typeof setTimeout> | null = null;
  const exactNow = () => {
    if (pause) clearTimeout(pause);
    pause = null;
    loop.requestExact(view.index, { target: askedTarget, versus: null }, asEdits(editor.value));
  };
  editor.addEventListener("input", () => {
    loop.requestFast(view.index, { target: askedTarget, versus: null }, asEdits(editor.value));
    if (pause) clearTimeout(pause);
    pause = setTimeout(exactNow, PAUSE_MS);
    showTyping();
  });
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      exactNow();
    }
  });
  reset.addEventListener("click", () => {
    editor.value = view.original;
    exactNow();
  });

  const editToken = (i: number, action: TokenAction, replacement?: string) => {
    const text = editText(shown.text, shown.tokens, i, action, schema.mask_token, replacement ?? "");
    if (text === null) return;
    editor.value = text;
    showEstimate(i, action);
    exactNow();
  };

  // -- methods, attention, rules -----------------------------------------------------
  const cards = schema.explainers.map((info, i) => new MethodCard(info, i, link, editToken));
  const agreement = h("p", { class: "ow-note ow-agreement", "data-testid": "ow-agreement" });
  const attention = schema.attention ? new AttentionCard(link, options.loadHead ?? headsFromKernel(model)) : null;
  const rules = schema.surrogate ? new TextRulesCard() : null;
  const root = h(
    "div",
    { class: "optiml-widget ow-text", "data-lm-suppress-shortcuts": "true" },
    h("style", {}, TEXT_CSS),
    header,
    errorLine,
    notice,
    h("div", { class: "ow-editor-row" }, editor, h("p", { class: "ow-note" }, `Type to edit (fast view while typing, exact after a pause or Enter); click a token to mask (${schema.mask_token}), delete or replace it. `, reset)),
    h("div", { class: "ow-methods" }, ...cards.map((c) => c.el)),
    agreement,
    h("div", { class: "ow-lower" }, attention?.el ?? null, rules?.el ?? null),
    h("p", { class: "ow-note" }, `Model: ${schema.model}.`),
  );
  keepKeys(root);

  function setBusy(): void {
    root.dataset.busy = String(loop.busy);
    if (loop.busy && !status.textContent?.startsWith("typing…")) status.textContent = "computing…";
  }

  function show(): void {
    shown = view;
    picker.value = String(view.index);
    classes.value = view.target;
    if (!gone && editor.value !== view.text && !(loop.busy && document.activeElement === editor)) editor.value = view.text;
    const known = Number.isFinite(view.prediction); // an export's edit it does not hold: unknown
    prediction.textContent = `P(${view.target}) = ${known ? formatNumber(view.prediction, 4) : "?"}`;
    prediction.dataset.value = String(view.prediction);
    prediction.title = `predicted: ${known ? view.predicted_label : "not in this file"}${view.y !== null ? `; true label: ${view.y}` : ""}`;
    const streaming = gone ? 0 : view.pending.filter((p) => p !== "attention" && p !== "surrogate").length;
    status.textContent = [
      view.quality === "fast" ? "fast view (while typing)" : view.quality === "unavailable" ? "not in this file" : view.quality === "estimate" ? "estimate" : "exact",
      known ? `predicted ${view.predicted_label}` : "",
      view.y !== null ? `true ${view.y}` : "",
      streaming ? `${streaming} method${streaming > 1 ? "s" : ""} computing…` : "",
      loop.busy ? "updating…" : "",
    ]
      .filter(Boolean)
      .join(" · ");
    notice.textContent = view.notice ?? "";
    for (const card of cards) card.update(view, false);
    agreement.textContent = agreementText(view.agreement, (name) => schema.explainers.find((e) => e.name === name)?.title ?? name);
    attention?.update(view);
    rules?.update(view.rule);
    root.dataset.seq = String(view.seq);
    root.dataset.quality = view.quality;
    root.dataset.pending = view.pending.join(" ");
    root.dataset.busy = String(loop.busy);
  }

  /** The explainer whose values add up to the probability (SHAP), or -1. */
  const probabilityMethod = (on: TextView) =>
    schema.explainers.findIndex((e, j) => e.view === "force" && on.attributions[j]?.details.space === "probability");

  /** A token edit's instant answer: the prediction without the token's SHAP value. */
  function showEstimate(i: number, action: TokenAction): void {
    const k = probabilityMethod(shown);
    const found = k >= 0 ? shown.attributions[k] : null;
    for (const card of cards) card.update(shown, true);
    if (!found || action === "replace" || !Number.isFinite(found.values[i])) {
      status.textContent = "computing…";
      return;
    }
    const estimate = Math.min(1, Math.max(0, shown.prediction - found.values[i]));
    prediction.textContent = `P(${view.target}) ≈ ${formatNumber(estimate, 4)}`;
    status.textContent = `estimate from ${schema.explainers[k].title} without “${shown.tokens.strings[i]}” · computing…`;
    root.dataset.quality = "estimate";
  }

  /** Typing's instant answer, from the last view the kernel sent (typing.ts). */
  function showTyping(): void {
    const k = probabilityMethod(view);
    const found = typingEstimate(view, editor.value, k);
    if (!found) {
      status.textContent = "typing…";
      return;
    }
    shown = found.view;
    for (const card of cards) card.update(shown, true);
    const gone = found.removed.map((i) => `“${view.tokens.strings[i]}”`).join(", ");
    if (found.prediction !== null) {
      prediction.textContent = `P(${view.target}) ≈ ${formatNumber(found.prediction, 4)}`;
      status.textContent = `typing… estimate from ${schema.explainers[k].title}${gone ? ` without ${gone}` : ""}${found.added.length ? ", new words not yet counted" : ""}`;
    } else status.textContent = "typing…";
    root.dataset.quality = "estimate";
  }

  const onView = () => {
    const next = model.get("_view");
    if (!accept(next)) return;
    view = next;
    if (!loop.busy) askedTarget = view.target;
    show();
  };
  const onSurrogate = () => {
    rules?.set(model.get("_surrogate") ?? null, model.get("_progress")?.surrogate);
    rules?.update(view.rule);
  };
  const onProgress = () => {
    if (!model.get("_surrogate")) rules?.set(null, model.get("_progress")?.surrogate);
  };
  const onError = () => {
    const error = model.get("error");
    errorLine.textContent = error ?? "";
    if (error && loop.busy) requests.settle();
  };
  const onMessage = (message: ExportReply | FailedReply, buffers?: DataView[]) => {
    if (message?.type === "failed") {
      // No view answers a failed request (the same error twice leaves `error` unchanged).
      requests.settle(message.seq);
      return;
    }
    if (message?.type !== "export" || !exportIsMine(message, exportAs)) return;
    if (message.error) exportState.textContent = `export failed: ${message.error}`;
    else if (buffers?.length) {
      download(message.filename, buffers[0]);
      exportState.textContent = `saved ${message.filename} (${fileSize(message.bytes ?? buffers[0].byteLength)})`;
    }
  };
  model.on("change:_view", onView);
  model.on("change:_surrogate", onSurrogate);
  model.on("change:_progress", onProgress);
  model.on("change:error", onError);
  model.on("msg:custom", onMessage);
  onSurrogate();
  show();
  onError();
  el.replaceChildren(root);
  return () => {
    if (pause) clearTimeout(pause);
    model.off("change:_view", onView);
    model.off("change:_surrogate", onSurrogate);
    model.off("change:_progress", onProgress);
    model.off("change:error", onError);
    model.off("msg:custom", onMessage);
    unlistenSent();
    unlistenSettled();
  };
}
