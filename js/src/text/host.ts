// The in-page model of a text export: answers the panel from data computed at export time
// (no network, no kernel). An exported text shows its exact views; a one-token mask or
// deletion shows the model's own output for it (precomputed; the file keeps the token and
// the action, and the edited text is rebuilt here as Python made it); any other edit is
// labelled as not in the file.
import type { RequestMessage } from "../types";
import type { HeadMap } from "./attention";
import { base64Bytes, gunzip } from "./packed";
import { renderTextPanel } from "./panel";
import { codePointStarts, editText } from "./tokens";
import type { TextExportData, TextMessage, TextView, TextWidgetModel, TokenEditInfo, TokensInfo } from "./types";

export class TextExportAnswers {
  private readonly heads = new Map<number, Promise<Uint8Array>>();
  /** Per exported text: the length of each precomputed edit's text, measured once. Only the
   *  edits of a request's length are rebuilt to compare: rebuilding all of a long text's
   *  (a thousand deletions of 100,000 characters) at each keystroke made typing crawl. */
  private readonly lengths = new Map<number, number[]>();

  constructor(private readonly data: TextExportData) {}

  /** The precomputed one-token edit that makes ``text`` of exported text ``index``, if any. */
  private precomputed(index: number, text: string): TokenEditInfo | undefined {
    const { text: exported, tokens } = this.data.views[index];
    const entries = this.data.edits[index];
    const mask = this.data.schema.mask_token;
    let starts: number[] | undefined; // counted once, when some edit is rebuilt
    const rebuilt = (e: TokenEditInfo) => editText(exported, tokens, e.token, e.action, mask, "", (starts ??= codePointStarts(exported)));
    let lengths = this.lengths.get(index);
    if (!lengths) this.lengths.set(index, (lengths = entries.map((e) => rebuilt(e)?.length ?? -1)));
    return entries.find((e, k) => (lengths as number[])[k] === text.length && rebuilt(e) === text);
  }

  answer(request: RequestMessage): TextView {
    const base = this.data.views[request.index];
    const text = request.edits?.length ? String(request.edits[0][1]) : base.text;
    const view = { ...base, seq: request.seq, target: base.target };
    if (text === base.text) return view;
    const edit = this.precomputed(request.index, text);
    if (edit) {
      return {
        ...view,
        text,
        edited: true,
        tokens: editedTokens(base.tokens, edit.token, edit.action, this.data.schema.mask_token),
        prediction: edit.prediction,
        probabilities: edit.probabilities,
        predicted_label: this.data.schema.classes[edit.probabilities.indexOf(Math.max(...edit.probabilities))],
        attributions: base.attributions.map(() => null),
        agreement: [],
        attention: null,
        rule: null,
        pending: [],
        quality: "exact",
        notice: `Precomputed when this file was exported: the model's own output with “${base.tokens.strings[edit.token]}” ${edit.action === "mask" ? "masked" : "deleted"}. Attributions of edited texts are not in the file.`,
      };
    }
    // Nothing of the exported text's answer is this text's: shown as unknown, never as its own.
    return {
      ...view,
      text,
      edited: true,
      quality: "unavailable",
      // Its tokens are the exported text's: shown, but no chip edits this text by them.
      tokens: { ...view.tokens, spans: view.tokens.spans.map(() => null) },
      y: null,
      prediction: Number.NaN,
      probabilities: view.probabilities.map(() => Number.NaN),
      predicted_label: "",
      attributions: base.attributions.map(() => null),
      agreement: [],
      attention: null,
      rule: null,
      notice: "This edit is not in the file: only each word masked or deleted on its own was precomputed. Run the notebook to explain any text.",
    };
  }

  async head(index: number, layer: number, head: number): Promise<HeadMap> {
    const view = this.data.views[index];
    if (layer < 0 && view.attention) {
      const map = view.attention.rollout_map;
      return { size: map.shape[0], scale: map.scale, cells: base64Bytes(map.data) };
    }
    const packed = this.data.heads[index];
    if (!packed || !view.attention) throw new Error("The head maps of this text are not in the file.");
    if (!this.heads.has(index)) this.heads.set(index, gunzip(base64Bytes(packed.data)));
    const all = await (this.heads.get(index) as Promise<Uint8Array>);
    const size = packed.shape[2];
    const at = (layer * packed.shape[1] + head) * size * size;
    return { size, scale: this.data.head_scales[index][layer * packed.shape[1] + head], cells: all.subarray(at, at + size * size) };
  }
}

function editedTokens(tokens: TokensInfo, i: number, action: "mask" | "delete", mask: string): TokensInfo {
  const keep = (_: unknown, k: number) => action === "mask" || k !== i;
  return {
    strings: tokens.strings.map((s, k) => (k === i && action === "mask" ? mask : s)).filter(keep),
    spans: tokens.spans.map(() => null).filter(keep),
    special: tokens.special.filter(keep),
    truncated: tokens.truncated,
  };
}

export async function renderTextExport(el: HTMLElement, data: TextExportData): Promise<() => void> {
  const answers = new TextExportAnswers(data);
  const start = data.views[data.start];
  const state: TextWidgetModel = {
    _schema: data.schema,
    _view: start,
    _surrogate: data.surrogate,
    _progress: {},
    index: start.index,
    target: start.target,
    error: null,
  };
  const listeners = new Map<string, Set<() => void>>();
  const model = {
    get: <K extends keyof TextWidgetModel>(key: K) => state[key],
    on: (event: string, cb: () => void) => {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)?.add(cb);
    },
    off: (event: string, cb: () => void) => listeners.get(event)?.delete(cb),
    send: (message: TextMessage) => {
      if (message.type !== "request") return;
      queueMicrotask(() => {
        state._view = answers.answer(message);
        listeners.get("change:_view")?.forEach((cb) => cb());
      });
    },
  };
  return renderTextPanel(model, el, { loadHead: (view, layer, head) => answers.head(view.index, layer, head) });
}
