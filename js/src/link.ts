// Linking: hovering or focusing a feature anywhere highlights it in every view. Elements
// name their feature by position (`data-j`), never by its name.

export const LINKED = "ow-linked";
export const SELECTED = "ow-selected";

export class Linker {
  private current: number | null = null;
  private chosen: number | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly onChange: (feature: number | null) => void = () => {},
  ) {
    // Only elements that name a feature take the highlight; the charts set it themselves.
    const enter = (event: Event) => {
      const feature = featureOf(event.target);
      if (feature !== null) this.set(feature);
    };
    const leave = (event: Event) => {
      if (featureOf(event.target) === this.current) this.set(null);
    };
    root.addEventListener("mouseover", enter);
    root.addEventListener("focusin", enter);
    root.addEventListener("mouseout", leave);
    root.addEventListener("focusout", leave);
  }

  get feature(): number | null {
    return this.current;
  }

  set(feature: number | null): void {
    if (feature === this.current) return;
    this.current = feature;
    this.apply();
    this.onChange(feature);
  }

  /** Marks the feature selected in the global views (until another is selected). */
  select(feature: number | null): void {
    this.chosen = feature;
    this.apply();
  }

  /** Re-applies the highlight after a view re-rendered its elements. */
  apply(): void {
    for (const el of this.root.querySelectorAll<HTMLElement | SVGElement>("[data-j]")) {
      const j = Number(el.dataset.j);
      el.classList.toggle(LINKED, j === this.current);
      el.classList.toggle(SELECTED, j === this.chosen);
    }
  }
}

function featureOf(target: EventTarget | null): number | null {
  const el = target instanceof Element ? target.closest<HTMLElement | SVGElement>("[data-j]") : null;
  const j = el?.dataset.j;
  return j === undefined || j === "" ? null : Number(j);
}
