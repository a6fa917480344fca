// Linking: hovering or focusing a feature anywhere highlights it in every view.

export const LINKED = "ow-linked";

export class Linker {
  private current: string | null = null;

  constructor(private readonly root: HTMLElement) {
    const enter = (event: Event) => this.set(featureOf(event.target));
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
    this.current = feature;
    this.apply();
  }

  /** Re-applies the highlight after a view re-rendered its elements. */
  apply(): void {
    for (const el of this.root.querySelectorAll<HTMLElement | SVGElement>("[data-feature]")) {
      el.classList.toggle(LINKED, this.current !== null && el.dataset.feature === this.current);
    }
  }
}

function featureOf(target: EventTarget | null): string | null {
  const el = target instanceof Element ? target.closest<HTMLElement | SVGElement>("[data-feature]") : null;
  return el?.dataset.feature ?? null;
}
