// What is still coming shows as a labelled placeholder with its progress, never as a blank.
import { h } from "./dom";
import type { JobState } from "./types";

/** "Fitting the surrogate…" with a bar: the job's own progress when known, else indeterminate. */
export function placeholder(text: string, job?: JobState | null): HTMLElement {
  const bar = h("progress", { class: "ow-pending-bar", "aria-label": text });
  if (job && job.total > 0) {
    bar.max = job.total;
    bar.value = Math.min(job.done, job.total);
  }
  const words = job?.message ? `${text} ${job.message}` : text;
  return h("div", { class: "ow-pending", role: "status", "data-testid": "ow-pending" }, h("span", {}, words), bar);
}
