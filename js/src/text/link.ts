// The hovered token, shared by every view of one panel: hovering a token in any strip or a
// cell of the attention map lights that token up everywhere.

export type TokenListener = (token: number | null) => void;

export class TokenLink {
  private listeners: TokenListener[] = [];
  hovered: number | null = null;

  listen(listener: TokenListener): void {
    this.listeners.push(listener);
  }

  set(token: number | null): void {
    if (token === this.hovered) return;
    this.hovered = token;
    for (const listener of this.listeners) listener(token);
  }
}
