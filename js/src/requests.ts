// The live loop: the frontend asks for a whole state (row, target, edits); the newest
// request wins; an older view never replaces a newer one (a later update of the view on
// screen, with the same sequence number, fills in what was still streaming).
import type { RequestMessage, Value, View } from "./types";

/** A row's what-if edits by feature position. */
export type Edits = Map<number, Value>;

/** What a view explains: a target, or its contrast with another class ("why target and not versus"). */
export interface Output {
  target: string;
  versus: string | null;
}

/** The output a view explains. */
export function outputOf(view: View): Output {
  return { target: view.target, versus: view.versus ?? null };
}

export interface Sender {
  send(message: RequestMessage): void;
}

export interface Scheduler {
  (callback: () => void): void;
}

const nextFrame: Scheduler = (cb) =>
  typeof requestAnimationFrame === "function" ? requestAnimationFrame(() => cb()) : setTimeout(cb, 16);

/** Edits as the message carries them: [position, value] pairs in position order. */
export function editPairs(edits: Edits): [number, Value][] {
  return [...edits.entries()].sort((a, b) => a[0] - b[0]);
}

export class RequestLoop {
  /** Sequence number of the view on screen. */
  shownSeq = -1;
  /** Sequence number of the newest request sent. */
  lastSentSeq = -1;
  private nextSeq = 0;
  private queued: Omit<RequestMessage, "type" | "seq"> | null = null;
  private frameScheduled = false;

  constructor(
    private readonly sender: Sender,
    private readonly schedule: Scheduler = nextFrame,
  ) {}

  /** Whether a request is not answered yet, one waiting for its frame included: a view
   * arriving then is older than the user's input, and must not overwrite it. */
  get busy(): boolean {
    return this.queued !== null || this.lastSentSeq > this.shownSeq;
  }

  /** Whether a view from Python should be shown: never one older than the one shown. */
  accept(view: View): boolean {
    this.nextSeq = Math.max(this.nextSeq, view.seq + 1);
    if (view.seq < this.shownSeq) return false;
    this.shownSeq = view.seq;
    return true;
  }

  /** During a drag: at most one request per animation frame, carrying the newest state. */
  requestFast(index: number, output: Output, edits: Edits): void {
    this.queued = { index, ...output, edits: editPairs(edits), fast: true };
    if (this.frameScheduled) return;
    this.frameScheduled = true;
    this.schedule(() => {
      this.frameScheduled = false;
      if (this.queued) this.flush(this.queued);
    });
  }

  /** A finished edit (release, typed value, select): sent at once, exact. Without edits,
   * a change of row (Python keeps each row's own edits). */
  requestExact(index: number, output: Output, edits?: Edits): void {
    this.queued = null;
    this.flush(edits ? { index, ...output, edits: editPairs(edits), fast: false } : { index, ...output, fast: false });
  }

  /** A request failed in Python (no view will answer it): stop waiting for it, and for
   * the older ones; with ``seq``, only when it is the newest request sent (a newer one
   * still gets its view). Whether the loop waited for it. */
  settle(seq?: number): boolean {
    if (seq !== undefined && seq < this.lastSentSeq) return false;
    const waited = this.lastSentSeq > this.shownSeq;
    this.shownSeq = Math.max(this.shownSeq, this.lastSentSeq);
    return waited;
  }

  private flush(state: Omit<RequestMessage, "type" | "seq">): void {
    this.queued = null;
    const seq = this.nextSeq++;
    this.lastSentSeq = seq;
    this.sender.send({ type: "request", seq, basis: this.shownSeq, ...state });
  }
}
