// The features by position. With wide data Python first sends some features with their name
// and kind only (`partial`); the rest of their information (range, quantiles, categories)
// is asked for when a slider of theirs is about to show, and arrives as a FeatureReply.
import type { FeatureInfo, FeatureReply, FeatureRequest, Schema } from "./types";

export class Features {
  readonly names: string[];
  private readonly list: FeatureInfo[];
  private readonly byName = new Map<string, number>();
  private readonly asked = new Set<number>();
  private readonly listeners = new Set<(positions: number[]) => void>();

  constructor(
    schema: Schema,
    private readonly ask: (request: FeatureRequest) => void = () => {},
    /** An export made without the rows' values: every value is null because it is hidden. */
    readonly valuesHidden = false,
  ) {
    this.list = schema.features.map((f) => ({ ...f }));
    this.names = this.list.map((f) => f.name);
    this.names.forEach((name, j) => this.byName.set(name, j));
  }

  get count(): number {
    return this.list.length;
  }

  at(j: number): FeatureInfo {
    return this.list[j];
  }

  isPartial(j: number): boolean {
    return this.list[j]?.partial === true;
  }

  /** The position of a feature name (-1 when there is none). */
  position(name: string): number {
    return this.byName.get(name) ?? -1;
  }

  /** Positions whose name contains `query` (case-insensitive), in schema order. */
  search(query: string): number[] {
    const wanted = query.trim().toLowerCase();
    const out: number[] = [];
    this.names.forEach((name, j) => {
      if (name.toLowerCase().includes(wanted)) out.push(j);
    });
    return out;
  }

  /** Asks once for the full information of the partial features among `positions`. */
  need(positions: Iterable<number>): void {
    const missing = [...positions].filter((j) => this.isPartial(j) && !this.asked.has(j));
    if (!missing.length) return;
    for (const j of missing) this.asked.add(j);
    this.ask({ type: "features", features: missing });
  }

  /** Python's answer: the features it describes become whole. */
  receive(reply: FeatureReply): void {
    const arrived: number[] = [];
    for (const [j, info] of reply.features ?? []) {
      if (!Number.isInteger(j) || j < 0 || j >= this.list.length) continue;
      // The name is the schema's: a reply never renames a feature.
      this.list[j] = { ...info, name: this.names[j], partial: false };
      arrived.push(j);
    }
    if (arrived.length) for (const listener of this.listeners) listener(arrived);
  }

  /** Calls `listener` with the positions that became whole. */
  onArrive(listener: (positions: number[]) => void): void {
    this.listeners.add(listener);
  }
}
