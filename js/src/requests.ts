// The live loop: the frontend asks for a whole state (row, target, edits); the newest
// request wins; an older view never replaces a newer one (a later update of the view on
// screen, with the same sequence number, fills in what was still streaming).
import { uid } from "./dom";
import type { ExportReply, RequestMessage, Value, View } from "./types";

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

/** The edits a view reports (its edited positions and their values). */
export function editsOf(view: View): Edits {
  return new Map(view.edited.map((j): [number, Value] => [j, view.values[j]]));
}

/** One request loop shared by every view of a widget (a notebook may show it twice): their
 * requests never share a sequence number (two loops each counting from the view on
 * screen gave two requests one number, and Python showed one view's state while it held
 * the other's). */
export class SharedLoop {
  readonly loop: RequestLoop;
  private readonly sent = new Set<(lost: string | null) => void>();
  private readonly settledListeners = new Set<() => void>();

  constructor(view: { seq: number }, send: (message: RequestMessage) => void, schedule?: Scheduler) {
    this.loop = new RequestLoop(
      {
        send: (message) => {
          let lost: string | null = null;
          try {
            send(message);
          } catch {
            // The kernel is gone (restarted, shut down): no view will answer.
            lost = KERNEL_GONE;
          }
          for (const listener of this.sent) listener(lost);
          if (lost) this.settle();
        },
      },
      schedule,
    );
    this.loop.accept(view as View); // it reads only the sequence number
  }

  /** Called after each request is sent (each view shows that it waits), with why it could
   * not be sent, or null; returns the undo. */
  onSent(listener: (lost: string | null) => void): () => void {
    this.sent.add(listener);
    return () => this.sent.delete(listener);
  }

  /** A request failed in Python, or could not be sent: no view answers it. Every view is
   * told (each shows the last good view again) when the loop waited for it; see
   * ``RequestLoop.settle``. */
  settle(seq?: number): boolean {
    const waited = this.loop.settle(seq);
    if (waited) for (const listener of this.settledListeners) listener();
    return waited;
  }

  /** Called in every view when the loop stops waiting without a view; returns the undo. */
  onSettled(listener: () => void): () => void {
    this.settledListeners.add(listener);
    return () => this.settledListeners.delete(listener);
  }
}

export const KERNEL_GONE = "The kernel is gone (restarted or shut down): run the cell again.";

/** What the user asked for in a table's panel, shared by every view of the widget: the
 * edits, the row and the output, and the request loop, so that an edit made in one view
 * is in the other's next request. */
export class Wanted extends SharedLoop {
  edits: Edits;
  /** Positions the user changed that no view has answered yet: a view arriving meanwhile
   * (one made from Python, or an older answer) gives every other edit. */
  readonly touched = new Set<number>();
  /** The row and output last asked for: the view on screen may still be older. */
  row: number;
  output: Output;

  constructor(view: View, send: (message: RequestMessage) => void, schedule?: Scheduler) {
    super(view, send, schedule);
    this.edits = editsOf(view);
    this.row = view.index;
    this.output = outputOf(view);
  }

  /** One feature's value as the user set it, on the row of ``view``. */
  set(view: View, j: number, value: Value): void {
    if (value === view.original[j]) this.edits.delete(j);
    else this.edits.set(j, value);
    this.touched.add(j);
  }

  /** A view arrived (from ``sameRow``: the row shown before it): its edits, but while a
   * newer request is in flight the user's own changes are the truth (on another row, set
   * from Python, they are left behind). Every view of the widget calls it: it gives the
   * same state however many times it runs. */
  arrived(view: View, sameRow: boolean): void {
    const mine = this.edits;
    this.edits = editsOf(view);
    if (this.loop.busy && sameRow) {
      for (const j of this.touched) {
        if (mine.has(j)) this.edits.set(j, mine.get(j) as Value);
        else this.edits.delete(j);
      }
    } else this.touched.clear();
    this.settled(view);
  }

  /** Nothing is asked any more (answered, or failed): the row and output are the view's. */
  settled(view: View): void {
    if (this.loop.busy) return;
    this.row = view.index;
    this.output = outputOf(view);
  }
}

const shared = new WeakMap<object, unknown>();

/** The one shared state of a widget, made by its first view; ``key`` is an object every
 * view of that widget sees as the same (its synced schema). */
export function sharedOf<T>(key: object, make: () => T): T {
  if (!shared.has(key)) shared.set(key, make());
  return shared.get(key) as T;
}

/** A view's id for its export requests. Every view of a widget (displayed twice, or open
 *  in two browser tabs) gets each reply, so the reply names the view that asked; the
 *  random part keeps two pages' counters apart. */
export function exportId(): string {
  return `${uid("export")}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Whether an export reply is for the view ``id``: a reply naming no view (from before
 *  replies named one) is for every view. */
export function exportIsMine(reply: ExportReply, id: string): boolean {
  return reply.id === undefined || reply.id === null || reply.id === id;
}
