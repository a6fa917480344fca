// Attention: a grid of layers × heads thumbnails (canvas), the rollout across layers, and
// one head's token-to-token map when clicked. The map is drawn on a canvas whatever the
// text's length; token labels are drawn only when they fit (otherwise the hovered row and
// column are named), so a long text never builds thousands of DOM nodes. Hovering a token
// anywhere lights its row and column up; hovering a cell names both tokens.
import { button, h } from "../dom";
import { formatNumber } from "../format";
import { heat, textOn } from "./colour";
import type { TokenLink } from "./link";
import { base64Bytes } from "./packed";
import type { AttentionInfo, TextView } from "./types";

const MAP_PIXELS = 360;
const LABELS_UP_TO = 48; // tokens; beyond, only the hovered row and column are named

export interface HeadMap {
  size: number;
  cells: Uint8Array;
  scale: number;
}

export type LoadHead = (view: TextView, layer: number, head: number) => Promise<HeadMap>;

export class AttentionCard {
  readonly el: HTMLElement;
  private readonly grid = h("div", { class: "ow-heads", role: "grid" });
  private readonly rolloutRow = h("div", { class: "ow-rollout" });
  private readonly mapTitle = h("p", { class: "ow-note", "data-testid": "ow-head-title" }, "Click a head to see its map.");
  private readonly canvas = h("canvas", { class: "ow-map", width: 1, height: 1, "data-testid": "ow-head-map" });
  private readonly rows = h("div", { class: "ow-map-rows" });
  private readonly cols = h("div", { class: "ow-map-cols" });
  private readonly hover = h("p", { class: "ow-note ow-map-hover" });
  private readonly frame = h("div", { class: "ow-map-frame", hidden: true });
  private view: TextView | null = null;
  private selected: [number, number] | null = null;
  private map: HeadMap | null = null;
  /** The view whose text the map on screen is of (its labels and hover name its tokens). */
  private mapView: TextView | null = null;
  /** The text (and its index) the selected head's map was last asked for. */
  private mapOf: { text: string; index: number } | null = null;
  private request = 0;

  constructor(
    private readonly link: TokenLink,
    private readonly load: LoadHead,
  ) {
    this.el = h(
      "section",
      { class: "ow-card ow-attention", "aria-label": "Attention" },
      h("h3", {}, "Attention"),
      h("p", { class: "ow-note" }, "Where each head looks (layers × heads; darker = more focused); attention is not an explanation of the decision."),
      this.grid,
      this.rolloutRow,
      this.mapTitle,
      // A map wider than the card (a narrow notebook) scrolls, every column in reach.
      h("div", { class: "ow-map-scroll", "data-testid": "ow-map-scroll" }, this.frame),
      this.hover,
    );
    this.frame.append(this.cols, h("div", { class: "ow-map-body" }, this.rows, this.canvas));
    link.listen(() => this.drawMap());
    this.canvas.addEventListener("mousemove", (event) => this.onHover(event));
    this.canvas.addEventListener("mouseleave", () => {
      this.hover.textContent = "";
      this.link.set(null);
    });
  }

  update(view: TextView): void {
    this.view = view;
    const info = view.attention;
    this.el.hidden = false;
    // The map is of the text it was asked for: compared with that text, not with the last
    // view's (a first answer without attention, then its fill-in, are both of the new text).
    const mapped = this.mapOf !== null && this.mapOf.text === view.text && this.mapOf.index === view.index;
    this.frame.classList.toggle("ow-stale", !mapped);
    if (!info) {
      this.grid.replaceChildren(h("span", { class: "ow-note" }, view.pending.includes("attention") ? "computing…" : "no attention for this text"));
      this.rolloutRow.replaceChildren();
      return;
    }
    this.drawGrid(info);
    this.drawRollout(info, view);
    if (this.selected && !mapped) void this.select(this.selected[0], this.selected[1]);
    else this.drawMap();
  }

  /** Show one head's map (layer -1: the rollout). */
  async select(layer: number, head: number): Promise<void> {
    const view = this.view;
    if (!view) return;
    this.selected = [layer, head];
    this.mapOf = { text: view.text, index: view.index };
    const mine = ++this.request;
    this.markSelected();
    this.mapTitle.textContent = layer < 0 ? "Rollout across layers: loading…" : `Layer ${layer + 1}, head ${head + 1}: loading…`;
    try {
      const map = await this.load(view, layer, head);
      if (mine !== this.request) return; // a newer click won
      this.map = map;
      this.mapView = view;
      this.mapTitle.textContent = layer < 0 ? "Rollout across layers (row: token attending; column: token attended to)" : `Layer ${layer + 1}, head ${head + 1} (row: token attending; column: token attended to)`;
      this.el.dataset.head = `${layer}:${head}`;
      this.frame.hidden = false;
      this.frame.classList.toggle("ow-stale", this.view?.text !== view.text || this.view?.index !== view.index);
      this.drawLabels();
      this.describeMap(map);
      this.drawMap();
    } catch (error) {
      if (mine === this.request) this.mapTitle.textContent = String(error instanceof Error ? error.message : error);
    }
  }

  private drawGrid(info: AttentionInfo): void {
    const thumbs = base64Bytes(info.thumbnails);
    const cell = info.side * info.side;
    const rows: HTMLElement[] = [h("div", { class: "ow-heads-row ow-heads-head" }, h("span", { class: "ow-note" }, ""), ...Array.from({ length: info.heads }, (_, k) => h("span", { class: "ow-note" }, `head ${k + 1}`)))];
    for (let layer = 0; layer < info.layers; layer++) {
      const row = h("div", { class: "ow-heads-row", role: "row" }, h("span", { class: "ow-note" }, `layer ${layer + 1}`));
      for (let head = 0; head < info.heads; head++) {
        const at = (layer * info.heads + head) * cell;
        const canvas = drawCells(thumbs.subarray(at, at + cell), info.side, 1);
        const entropy = info.entropy[layer * info.heads + head];
        const b = button("", {
          class: "ow-head",
          "data-layer": layer,
          "data-head": head,
          title: `layer ${layer + 1}, head ${head + 1}: entropy ${formatNumber(entropy, 3)} bits`,
          "aria-label": `layer ${layer + 1} head ${head + 1}`,
        });
        b.append(canvas);
        b.addEventListener("click", () => void this.select(layer, head));
        row.append(b);
      }
      rows.push(row);
    }
    this.grid.replaceChildren(...rows);
    this.markSelected();
  }

  /** The selected head's button looks and reads pressed (aria-pressed), the others not. */
  private markSelected(): void {
    const [layer, head] = this.selected ?? [null, null];
    this.el.querySelectorAll(".ow-head").forEach((b) => {
      const on = b.getAttribute("data-layer") === String(layer) && b.getAttribute("data-head") === String(head);
      b.classList.toggle("ow-selected", on);
      b.setAttribute("aria-pressed", String(on));
    });
  }

  private drawRollout(info: AttentionInfo, view: TextView): void {
    const top = Math.max(...info.rollout.filter((_, i) => !view.tokens.special[i]), 1e-12);
    const chips = view.tokens.strings.map((token, i) => {
      const chip = h("span", { class: `ow-token${view.tokens.special[i] ? " ow-special" : ""}`, title: `${token}: ${formatNumber(info.rollout[i], 3)}` }, token);
      const [r, g, b] = heat(view.tokens.special[i] ? 0 : info.rollout[i] / top);
      chip.style.background = `rgb(${r}, ${g}, ${b})`;
      chip.style.color = textOn([r, g, b]); // the page's own colour vanished on light chips in dark mode
      chip.addEventListener("mouseenter", () => this.link.set(i));
      chip.addEventListener("mouseleave", () => this.link.set(null));
      return chip;
    });
    const show = button("rollout map", { class: "ow-head", "data-layer": -1, "data-head": 0 });
    show.addEventListener("click", () => void this.select(-1, 0));
    this.rolloutRow.replaceChildren(h("span", { class: "ow-note" }, "Rollout to the first token: "), ...chips, " ", show);
  }

  private drawLabels(): void {
    const view = this.mapView;
    const map = this.map;
    if (!view || !map) return;
    const fits = map.size <= LABELS_UP_TO;
    const px = MAP_PIXELS / Math.max(1, map.size);
    const label = (i: number) => h("span", { class: "ow-map-label", style: `height:${px}px;line-height:${px}px` }, view.tokens.strings[i] ?? "");
    this.rows.replaceChildren(...(fits ? Array.from({ length: map.size }, (_, i) => label(i)) : []));
    this.cols.replaceChildren(...(fits ? Array.from({ length: map.size }, (_, i) => h("span", { class: "ow-map-col", style: `width:${px}px` }, view.tokens.strings[i] ?? "")) : []));
  }

  /** The map's text alternative, where each token looks most: made once per map (the
   *  map is drawn again on every hover). */
  private describeMap(map: HeadMap): void {
    const tokens = this.mapView?.tokens.strings ?? [];
    const most = Array.from({ length: map.size }, (_, i) => {
      const row = map.cells.subarray(i * map.size, (i + 1) * map.size);
      return `${tokens[i] ?? i} → ${tokens[row.indexOf(Math.max(...row))] ?? ""}`;
    });
    this.canvas.setAttribute("role", "img");
    this.canvas.setAttribute("aria-label", `${this.mapTitle.textContent ?? "attention map"}; each token attends most to: ${most.join(", ")}`);
  }

  private drawMap(): void {
    const map = this.map;
    if (!map) return;
    const canvas = drawCells(map.cells, map.size, Math.max(1, Math.floor(MAP_PIXELS / Math.max(1, map.size))), this.link.hovered);
    this.canvas.width = canvas.width;
    this.canvas.height = canvas.height;
    this.canvas.style.width = `${MAP_PIXELS}px`;
    this.canvas.style.height = `${MAP_PIXELS}px`;
    this.canvas.getContext("2d")?.drawImage(canvas, 0, 0);
    this.rows.querySelectorAll(".ow-map-label").forEach((el, i) => el.classList.toggle("ow-linked", i === this.link.hovered));
    this.cols.querySelectorAll(".ow-map-col").forEach((el, i) => el.classList.toggle("ow-linked", i === this.link.hovered));
  }

  private onHover(event: MouseEvent): void {
    const map = this.map;
    const view = this.mapView;
    if (!map || !view) return;
    const box = this.canvas.getBoundingClientRect();
    const row = Math.floor(((event.clientY - box.top) / box.height) * map.size);
    const col = Math.floor(((event.clientX - box.left) / box.width) * map.size);
    if (row < 0 || col < 0 || row >= map.size || col >= map.size) return;
    const weight = map.cells[row * map.size + col] * map.scale;
    this.hover.textContent = `${view.tokens.strings[row]} → ${view.tokens.strings[col]}: ${formatNumber(weight, 3)}`;
    this.link.set(row);
  }
}

/** Cells (one byte each, 255 = the map's largest) as a canvas of ``zoom`` pixels a cell,
 * with token ``lit``'s row and column outlined. */
function drawCells(cells: Uint8Array, size: number, zoom: number, lit: number | null = null): HTMLCanvasElement {
  const canvas = h("canvas", { width: size * zoom, height: size * zoom });
  const context = canvas.getContext("2d");
  if (!context || size === 0) return canvas;
  const image = context.createImageData(size, size);
  for (let k = 0; k < size * size; k++) {
    const [r, g, b] = heat(cells[k] / 255);
    image.data.set([r, g, b, 255], k * 4);
  }
  if (zoom === 1) {
    context.putImageData(image, 0, 0);
  } else {
    const small = h("canvas", { width: size, height: size });
    small.getContext("2d")?.putImageData(image, 0, 0);
    context.imageSmoothingEnabled = false;
    context.drawImage(small, 0, 0, size * zoom, size * zoom);
  }
  if (lit !== null && lit < size) {
    context.strokeStyle = "#ffb300";
    context.lineWidth = Math.max(1, zoom / 6);
    context.strokeRect(0, lit * zoom, size * zoom, zoom);
    context.strokeRect(lit * zoom, 0, zoom, size * zoom);
  }
  return canvas;
}
