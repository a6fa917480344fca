// A text as a strip of tokens, each coloured by one method's attribution. Hover links the
// token to every other view; a click opens a small menu to mask, delete or replace it.
// Tokens are text nodes: a token "<script>" is shown, never run.
import { signKnown } from "../bars";
import { button, h, makeTabStop, rovingKey } from "../dom";
import { formatNumber, signed } from "../format";
import { largest, tokenColour } from "./colour";
import type { TokenLink } from "./link";
import type { TokensInfo } from "./types";

export type TokenAction = "mask" | "delete" | "replace";
export type EditToken = (token: number, action: TokenAction, replacement?: string) => void;

export class TokenStrip {
  readonly el = h("div", { class: "ow-tokens", role: "list" });
  private chips: HTMLElement[] = [];
  /** The tokens the chips are of. */
  private tokens: TokensInfo | null = null;
  /** The token to focus once redrawn: the one whose menu made an edit, or that had it. */
  private refocus: number | null = null;
  /** The token of the strip's tab stop. */
  private stop = 0;

  constructor(
    private readonly link: TokenLink,
    private readonly onEdit: EditToken | null,
    private readonly showSpecial = true,
  ) {
    link.listen((token) => this.highlight(token));
  }

  /** Draw ``tokens`` coloured by ``values`` (null: uncoloured); ``marked`` get an outline;
   *  a value whose sign its standard error (``errors``) cannot tell is dashed. */
  update(
    tokens: TokensInfo,
    values: readonly number[] | null,
    marked: readonly number[] = [],
    title = "",
    errors: readonly (number | null)[] | null = null,
  ): void {
    const top = values ? largest(values) : 0;
    // A chip with the focus keeps it through the redraw (the answer to an edit redraws all).
    const focused = this.chips.findIndex((c) => c === document.activeElement);
    if (focused >= 0) this.refocus = focused;
    const previous = this.chips;
    this.chips = tokens.strings.map((token, i) => {
      const special = tokens.special[i];
      // A token with no place in the text (special, or an export's stale one) is not edited.
      const editable = !special && this.onEdit !== null && tokens.spans[i] !== null;
      const value = values?.[i] ?? null;
      const error = errors?.[i] ?? null;
      const known = value === null || signKnown({ value, error });
      const spread = value !== null && error !== null ? ` ± ${formatNumber(2 * error, 2)}${known ? "" : ", either sign"}` : "";
      const chip = h(
        "span",
        {
          class: `ow-token${special ? " ow-special" : ""}${marked.includes(i) ? " ow-marked" : ""}${known ? "" : " ow-sign-unknown"}`,
          role: "listitem",
          // One tab stop per strip (roving: the arrow keys move between its words).
          tabindex: editable ? -1 : null,
          "data-token": i,
          title: value === null || !Number.isFinite(value) ? token : `${token}: ${signed(value, 3)}${spread}${title ? ` (${title})` : ""}`,
          // Read aloud with its value (the title is the mouse's only).
          "aria-label": value === null || !Number.isFinite(value) ? null : `${token}: ${signed(value, 3)}`,
        },
        token,
      );
      if (value !== null) chip.style.background = tokenColour(value, top);
      if (special && !this.showSpecial) chip.hidden = true;
      chip.addEventListener("mouseenter", () => this.link.set(i));
      chip.addEventListener("mouseleave", () => this.link.set(null));
      if (editable) {
        const open = () => this.openMenu(chip, i);
        chip.addEventListener("click", open);
        chip.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            open();
            return;
          }
          const next = rovingKey(this.editable(), chip, event.key);
          if (!next) return;
          event.preventDefault();
          this.rove(next);
          next.focus();
        });
      }
      return chip;
    });
    // An open token menu (its half-typed word, its focus) stays through a redraw of the
    // same tokens (a method streaming in): the chips are swapped around it. New tokens
    // close it.
    const same = this.tokens !== null && sameTokens(this.tokens, tokens) && previous.length === this.chips.length;
    if (same && this.el.querySelector(".ow-token-menu")) previous.forEach((chip, i) => chip.replaceWith(this.chips[i]));
    else this.el.replaceChildren(...this.chips);
    this.tokens = tokens;
    this.highlight(this.link.hovered);
    // The edited token's place (a deletion leaves the next token there), else the first word.
    const words = this.editable();
    const at = Math.min(this.refocus ?? this.stop, this.chips.length - 1);
    const chosen = words.find((c) => Number(c.dataset.token) >= at) ?? words.at(-1);
    if (chosen) this.rove(chosen);
    if (this.refocus !== null) chosen?.focus();
    this.refocus = null;
  }

  /** The chips a keyboard can edit, in order. */
  private editable(): HTMLElement[] {
    return this.chips.filter((c) => c.hasAttribute("tabindex"));
  }

  /** ``chip`` becomes the strip's one tab stop (kept through redraws, by position). */
  private rove(chip: HTMLElement): void {
    makeTabStop(this.editable(), chip);
    this.stop = Number(chip.dataset.token);
  }

  private highlight(token: number | null): void {
    this.chips.forEach((chip, i) => chip.classList.toggle("ow-linked", i === token));
  }

  private openMenu(chip: HTMLElement, i: number): void {
    const edit = this.onEdit;
    if (!edit) return;
    this.el.querySelector(".ow-token-menu")?.remove();
    const input = h("input", { type: "text", class: "ow-replace", "aria-label": "replacement", placeholder: "new word" });
    const menu = h(
      "span",
      { class: "ow-token-menu", role: "group", "aria-label": `Edit token “${chip.textContent ?? ""}”` },
      button("mask", { "data-action": "mask" }),
      button("delete", { "data-action": "delete" }),
      input,
      button("replace", { "data-action": "replace" }),
    );
    menu.addEventListener("click", (event) => {
      event.stopPropagation();
      const action = (event.target as HTMLElement).dataset.action as TokenAction | undefined;
      if (!action) return;
      menu.remove();
      this.refocus = i;
      edit(i, action, action === "replace" ? input.value : undefined);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        menu.remove();
        this.refocus = i;
        edit(i, "replace", input.value);
      }
    });
    // Escape anywhere in the menu closes it, and the token keeps the focus; so does leaving it.
    menu.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      event.stopPropagation();
      menu.remove();
      (this.chips[i] ?? chip).focus(); // the chip may have been redrawn since the menu opened
    });
    menu.addEventListener("focusout", (event) => {
      if (!menu.contains(event.relatedTarget as Node | null) && event.relatedTarget !== null) menu.remove();
    });
    chip.after(menu);
    (menu.querySelector("button") as HTMLButtonElement).focus();
  }
}

/** Whether two tokenizations are the same tokens at the same places. */
function sameTokens(a: TokensInfo, b: TokensInfo): boolean {
  if (a === b) return true;
  const n = a.strings.length;
  if (b.strings.length !== n || a.spans.length !== b.spans.length) return false;
  for (let i = 0; i < n; i++) {
    if (a.strings[i] !== b.strings[i] || a.special[i] !== b.special[i]) return false;
    const x = a.spans[i];
    const y = b.spans[i];
    if (x !== y && (x === null || y === null || x[0] !== y[0] || x[1] !== y[1])) return false;
  }
  return true;
}

// What Python's str.isspace() takes for whitespace: JavaScript's \s and trim() differ (they
// leave \x1c-\x1f and \x85 out, and take \ufeff in).
const PY_SPACE = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/.source;
const PY_SPACE_FIRST = new RegExp(`^${PY_SPACE}`);
const PY_SPACE_LAST = new RegExp(`${PY_SPACE}$`);

/** Where each code point of a text starts in UTF-16 units, then the text's length: spans
 *  count code points, as Python's strings do (an emoji is one there and two units here). */
export function codePointStarts(text: string): number[] {
  const starts: number[] = [];
  let unit = 0;
  for (const c of text) {
    starts.push(unit);
    unit += c.length;
  }
  starts.push(unit);
  return starts;
}

/** The text with token ``i`` masked, deleted or replaced, exactly as Python's edit_token
 *  (optiml_widgets/text/tokens.py) makes it. ``starts``: the text's codePointStarts, when
 *  many edits of one text are made (the export page rebuilds each precomputed one). */
export function editText(
  text: string,
  tokens: TokensInfo,
  i: number,
  action: TokenAction,
  mask: string,
  replacement = "",
  starts: number[] = codePointStarts(text),
): string | null {
  const span = tokens.spans[i];
  if (!span) return null;
  const put = action === "mask" ? mask : action === "delete" ? "" : replacement;
  const unitAt = (k: number) => starts[Math.min(k, starts.length - 1)]; // Python's slices stop at the end
  const before = text.slice(0, unitAt(span[0]));
  const after = text.slice(unitAt(span[1]));
  if (put) return before + put + after;
  // Deleting: the spaces beside the token go with it, and one stays if it stood between two
  // words; the rest of the text keeps its own spaces and line breaks.
  const keptBefore = before.replace(/ +$/, "");
  const keptAfter = after.replace(/^ +/, "");
  const spaced = keptBefore.length < before.length || keptAfter.length < after.length;
  const between = spaced && keptBefore !== "" && keptAfter !== "" && !PY_SPACE_LAST.test(keptBefore) && !PY_SPACE_FIRST.test(keptAfter);
  return keptBefore + (between ? " " : "") + keptAfter;
}
