// Tiny DOM helpers. Data (feature names, classes, values) only ever goes in as text or
// attributes, never as markup.
import { cutName } from "./format";

type Attrs = Record<string, string | number | boolean | null | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  for (const child of children) if (child != null) el.append(child);
  return el;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function s<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  for (const child of children) if (child != null) el.append(child);
  return el;
}

function setAttrs(el: Element, attrs: Attrs): void {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.setAttribute("class", String(value));
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

/** `text` with the user's strings in it (feature names, categories: `parts`, in the order
 *  they come) each in a <bdi>: a right-to-left name does not pull the numbers and operators
 *  beside it into its direction ("name = −1.2" drawn as "1.2− = name"). A part not found
 *  after the previous one is left as it is. With `fits`, a part longer than that is shown
 *  cut (cutName): the caller gives the whole text a tooltip. */
export function isolated(text: string, parts: readonly (string | null | undefined)[], fits?: number): (string | Node)[] {
  const out: (string | Node)[] = [];
  let at = 0;
  for (const part of parts) {
    const found = part ? text.indexOf(part, at) : -1;
    if (!part || found < 0) continue;
    if (found > at) out.push(text.slice(at, found));
    out.push(h("bdi", {}, fits === undefined ? part : cutName(part, fits)));
    at = found + part.length;
  }
  if (at < text.length || !out.length) out.push(text.slice(at));
  return out;
}

/** The strings a condition's text holds: its feature's name, then its categories. */
export function conditionParts(condition: { feature: string; value: unknown }): string[] {
  const values = Array.isArray(condition.value) ? condition.value : [condition.value];
  return [condition.feature, ...values.filter((v): v is string => typeof v === "string")];
}

/** One tab stop for a group of items (a strip of tokens, a table's conditions): `item`
 *  becomes it, the others are reached with the arrow keys (rovingKey). */
export function makeTabStop(items: readonly HTMLElement[], item: HTMLElement): void {
  for (const other of items) other.tabIndex = other === item ? 0 : -1;
}

/** The item of `items` (in reading order) a key moves to from `item`: the arrow keys step,
 *  Home and End go to the ends; undefined for another key or past an end. */
export function rovingKey(items: readonly HTMLElement[], item: HTMLElement, key: string): HTMLElement | undefined {
  const step = ({ ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 } as Record<string, number>)[key];
  if (step) return items[items.indexOf(item) + step];
  return key === "Home" ? items[0] : key === "End" ? items.at(-1) : undefined;
}

let counter = 0;
/** A unique id for label/input pairs (several widgets may share a page). */
export function uid(prefix: string): string {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** Calls `commit` when a typed value is done: on Enter and on change, once per value.
 * Returns what to call after the program writes the input's value (it is not the user's). */
export function onCommit(input: HTMLInputElement, commit: () => void): () => void {
  let committed: string | null = null;
  const run = () => {
    if (input.value === committed) return;
    committed = input.value;
    commit();
  };
  input.addEventListener("change", run);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") run();
  });
  // A value shown by the program is not the user's: forget what was committed.
  const forget = () => {
    committed = input.value;
  };
  input.addEventListener("focus", forget);
  return forget;
}

/** The focused element of the document or shadow root `node` lives in (marimo renders
 * widgets in a shadow root, where `document.activeElement` is the host). */
export function focusedIn(node: Node): Element | null {
  const root = node.getRootNode() as Document | ShadowRoot;
  return "activeElement" in root ? root.activeElement : document.activeElement;
}

/** A button of the panel: always type=button and styled by the panel (hosts such as marimo
 * reset the page's button styles). */
export function button(text: string, attrs: Attrs = {}): HTMLButtonElement {
  const cls = attrs.class ? `ow-button ${attrs.class}` : "ow-button";
  return h("button", { ...attrs, type: "button", class: cls }, text);
}

/** Keys pressed on a panel's controls and focusable items stay in the panel: a notebook
 *  around it would move between cells on an arrow key, insert one on "b" or merge on
 *  Shift+M. (Its other shortcuts, Ctrl+S or Shift+Enter, do not act inside the panel
 *  anyway: JupyterLab honours the root's data-lm-suppress-shortcuts for them.) */
export function keepKeys(root: HTMLElement): void {
  root.addEventListener("keydown", (event) => {
    if ((event.target as Element).matches("input, select, textarea, button, summary, [tabindex]")) event.stopPropagation();
  });
}

/** Saves an export (HTML bytes, as a message buffer) as a file through the browser's
 *  download. The bytes are copied: the buffer may be reused once the message is handled. */
export function download(filename: string, data: DataView): void {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  const url = URL.createObjectURL(new Blob([bytes], { type: "text/html" }));
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
