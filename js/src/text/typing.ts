// A typing edit's instant answer, before the kernel's: the tokens outside the edited words
// keep their values, the tokens inside them drop out (the prediction moves by their SHAP
// values, as a token click's estimate does), and the new words show, unexplained, where
// they were typed. Labelled an estimate; the kernel's fast view replaces it.
import type { TextAttributionInfo, TextView, TokensInfo } from "./types";

// A word's letters with their combining marks (Hindi's vowel signs, an accent typed after
// its letter), as Python's words (optiml_widgets/text/words.py).
const WORD = /[\p{L}\p{M}\p{N}_'’-]/u;
const isWord = (c: string | undefined) => c !== undefined && WORD.test(c);

export interface TypingEstimate {
  /** The edited text with the view's tokens carried over; a new word's values are NaN. */
  view: TextView;
  /** Positions (in ``view``) of the words typed, not explained yet. */
  added: number[];
  /** Positions (in the original view) of the tokens the edit removed or changed. */
  removed: number[];
  /** The explained class's probability without the removed tokens (SHAP), or null. */
  prediction: number | null;
}

/** The characters that differ between two texts, widened to whole words: [start, end) in
 *  each (a word typed into is a new word). Positions count code points, as the tokens'
 *  spans from Python do. */
export function editedWords(beforeText: string, afterText: string): { start: number; end: number; newEnd: number } {
  const before = [...beforeText];
  const after = [...afterText];
  const shortest = Math.min(before.length, after.length);
  let start = 0;
  while (start < shortest && before[start] === after[start]) start++;
  let tail = 0;
  while (tail < shortest - start && before[before.length - 1 - tail] === after[after.length - 1 - tail]) tail++;
  // A word that the edit touches on either side is part of the edit.
  while (start > 0 && isWord(before[start - 1]) && (isWord(before[start]) || isWord(after[start]))) start--;
  while (tail > 0 && isWord(before[before.length - tail]) && (isWord(before[before.length - tail - 1]) || isWord(after[after.length - tail - 1]))) tail--;
  return { start, end: before.length - tail, newEnd: after.length - tail };
}

/** The instant answer to ``text`` typed over ``view`` (null: nothing to estimate, e.g. the
 *  same text, or a text cut off at the model's length, whose tokens move unpredictably). */
export function typingEstimate(view: TextView, text: string, forceIndex: number): TypingEstimate | null {
  if (text === view.text || view.tokens.truncated > 0) return null;
  const { start, end, newEnd } = editedWords(view.text, text);
  const shift = newEnd - end;
  const old = view.tokens;
  const kept: number[] = []; // old positions, in order; -1 marks where the new words go
  const removed: number[] = [];
  let lastSpan = -1;
  old.spans.forEach((span, i) => {
    if (span) lastSpan = i;
  });
  let placed = false;
  old.spans.forEach((span, i) => {
    const after = span ? span[0] >= end : i > lastSpan;
    if (after && !placed) {
      kept.push(-1);
      placed = true;
    }
    if (span && span[1] > start && span[0] < end) removed.push(i);
    else kept.push(i);
  });
  if (!placed) kept.push(-1);
  const typed = [...text].slice(start, newEnd).join("");
  const words = [...typed.matchAll(/\S+/g)].map((m) => ({ word: m[0], at: start + [...typed.slice(0, m.index)].length }));
  const tokens: TokensInfo = { strings: [], spans: [], special: [], truncated: 0 };
  const from: number[] = []; // per new token: its old position, or -1 for a new word
  const added: number[] = [];
  for (const i of kept) {
    if (i === -1) {
      for (const { word, at } of words) {
        added.push(tokens.strings.length);
        tokens.strings.push(word);
        tokens.spans.push([at, at + [...word].length]);
        tokens.special.push(false);
        from.push(-1);
      }
      continue;
    }
    const span = old.spans[i];
    tokens.strings.push(old.strings[i]);
    tokens.spans.push(span ? (span[0] >= end ? [span[0] + shift, span[1] + shift] : [span[0], span[1]]) : null);
    tokens.special.push(old.special[i]);
    from.push(i);
  }
  const carried = (found: TextAttributionInfo | null): TextAttributionInfo | null =>
    found && { ...found, values: from.map((i) => (i < 0 ? Number.NaN : found.values[i])) };
  const force = forceIndex >= 0 ? view.attributions[forceIndex] : null;
  const lost = force ? removed.reduce((sum, i) => sum + force.values[i], 0) : 0;
  const prediction = force ? Math.min(1, Math.max(0, view.prediction - lost)) : null;
  return {
    view: {
      ...view,
      text,
      edited: text !== view.original,
      tokens,
      quality: "estimate",
      prediction: prediction ?? view.prediction,
      attributions: view.attributions.map(carried),
    },
    added,
    removed,
    prediction,
  };
}
