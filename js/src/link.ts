// Linking: hovering or focusing a feature anywhere highlights it in every view.

export const LINKED = "ow-linked";
export const SELECTED = "ow-selected";

export class Linker {
  private current: string | null = null;
  private chosen: string | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly onChange: (feature: string | null) => void = () => {},
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

  get feature(): string | null {
    return this.current;
  }

  set(feature: string | null): void {
    if (feature === this.current) return;
    this.current = feature;
    this.apply();
    this.onChange(feature);
  }

  /** Marks the feature selected in the global views (until another is selected). */
  select(feature: string | null): void {
    this.chosen = feature;
    this.apply();
  }

  /** Re-applies the highlight after a view re-rendered its elements. */
  apply(): void {
    for (const el of this.root.querySelectorAll<HTMLElement | SVGElement>("[data-feature]")) {
      el.classList.toggle(LINKED, this.current !== null && el.dataset.feature === this.current);
      el.classList.toggle(SELECTED, this.chosen !== null && el.dataset.feature === this.chosen);
    }
  }
}

function featureOf(target: EventTarget | null): string | null {
  const el = target instanceof Element ? target.closest<HTMLElement | SVGElement>("[data-feature]") : null;
  return el?.dataset.feature ?? null;
}
