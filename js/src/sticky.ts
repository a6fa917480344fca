// Keeps the panel's header (prediction and compact force plot) in view while the panel is
// scrolled, so a slider far down is never dragged blind. CSS `position: sticky` cannot do it
// in a notebook: the output areas around the panel clip (overflow: hidden), and a fixed
// element would be clipped by their containment too. The header is moved with a transform
// instead, within the panel's own box, from the scroll position of whatever scrolls it.

/** Elements that scroll the panel (innermost first), across shadow roots. */
function scrollers(el: Element): Element[] {
  const out: Element[] = [];
  let node: Node | null = el.parentNode;
  while (node) {
    if (node instanceof Element) {
      const style = getComputedStyle(node);
      if (/(auto|scroll|overlay)/.test(style.overflowY) && node.scrollHeight > node.clientHeight + 1) out.push(node);
    }
    node = node instanceof ShadowRoot ? node.host : node.parentNode;
  }
  return out;
}

/** The most of the visible height a pinned header may take: taller (a zoomed page, a short
 *  window) it stays in place, or it would hide the controls it is pinned for. */
export const MAX_PINNED_SHARE = 0.3;

/** How far the header must move down to stay at the top of what is visible of the panel. */
export function stickyOffset(
  panelTop: number,
  panelHeight: number,
  headerHeight: number,
  visibleTop: number,
  visibleHeight = Infinity,
): number {
  if (headerHeight > MAX_PINNED_SHARE * visibleHeight) return 0;
  return Math.max(0, Math.min(visibleTop - panelTop, panelHeight - headerHeight));
}

export function keepInView(panel: HTMLElement, header: HTMLElement): () => void {
  let frame = 0;
  // A window's resize event comes before the notebook lays itself out again (JupyterLab does
  // it a frame later), and a scroller can change size with no event at all: watching the sizes
  // of the panel and of what scrolls it places the header once the layout is final.
  const resized = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => schedule());
  const watched = new Set<Element>();
  const watch = (els: Element[]) => {
    for (const el of els) {
      if (resized && !watched.has(el)) {
        watched.add(el);
        resized.observe(el);
      }
    }
  };
  const place = () => {
    frame = 0;
    if (!panel.isConnected) return;
    const around = scrollers(panel);
    watch([panel, ...around]);
    const visibleTop = Math.max(0, ...around.map((s) => s.getBoundingClientRect().top));
    const visibleBottom = Math.min(window.innerHeight, ...around.map((s) => s.getBoundingClientRect().bottom));
    const box = panel.getBoundingClientRect();
    const offset = stickyOffset(box.top, box.height, header.offsetHeight, visibleTop, visibleBottom - visibleTop);
    header.style.transform = offset > 0 ? `translateY(${offset}px)` : "";
    header.classList.toggle("ow-stuck", offset > 0);
  };
  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(place);
  };
  // A control focused from the keyboard is scrolled by the browser to the top of what is
  // visible, under the pinned header: the scroller moves it out from under.
  const uncover = (event: FocusEvent) => {
    const target = event.target as Element;
    if (!header.classList.contains("ow-stuck") || header.contains(target)) return;
    const hidden = header.getBoundingClientRect().bottom - target.getBoundingClientRect().top;
    // The innermost scroller, or the page itself (an export scrolls its document).
    if (hidden > 0) (scrollers(panel)[0] ?? window).scrollBy({ top: -(hidden + 4) });
  };
  panel.addEventListener("focusin", uncover);
  // Scroll events do not bubble, but a capturing listener on the document sees every one.
  document.addEventListener("scroll", schedule, { capture: true, passive: true });
  window.addEventListener("resize", schedule, { passive: true });
  schedule();
  return () => {
    panel.removeEventListener("focusin", uncover);
    document.removeEventListener("scroll", schedule, { capture: true });
    window.removeEventListener("resize", schedule);
    resized?.disconnect();
    if (frame) cancelAnimationFrame(frame);
  };
}
