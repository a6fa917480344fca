"""The text panel's notebook and in-page timing, shared by its browser test and bench/text.py.

The notebook trains the toy BERT (optiml_widgets/text/toy.py, seconds, nothing downloaded)
and shows ``explain_widget(model, texts, tokenizer=...)``. ``LATENCY_JS`` makes one edit as a
keystroke does and times, in the page, each answer painted (after the next animation frame
and a task after it): the panel's own estimate, the kernel's first view, its fast view with
Integrated Gradients, and the exact view after the pause.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

PANEL = ".optiml-widget.ow-text"

CELLS = [
    "from optiml_widgets import explain_widget\n"
    "from optiml_widgets.text import toy\n"
    "trained = toy.trained()\n"
    "texts = [s.text for s in toy.sentences(30, random_state=7)]\n"
    'texts.append("the plot was great <script>alert(1)</script> constructor")',
    "w = explain_widget(trained.model, texts, tokenizer=trained.tokenizer)\nw",
]


def write_notebook(path: Path) -> None:
    notebook = new_notebook()
    notebook.cells = [new_code_cell(src) for src in CELLS]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, path)


# An exact view with nothing streaming and no request under way.
SETTLED_JS = """(sel) => { const r = document.querySelector(sel);
  return r && r.dataset.quality === 'exact' && r.dataset.pending === ''
    && r.dataset.busy !== 'true'; }"""

LATENCY_JS = """
async ([sel, text]) => {
  const root = document.querySelector(sel);
  const editor = root.querySelector('textarea');
  const seq0 = Number(root.dataset.seq);
  const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve(performance.now() - start);
    channel.port2.postMessage(null);
  }));
  const waits = {};
  let start = 0;
  await new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      const igDone = root.querySelector('[data-method=ig]').dataset.state !== 'pending';
      const newer = Number(root.dataset.seq) > seq0;
      if (root.dataset.quality === 'estimate' && !waits.estimate) waits.estimate = afterPaint();
      if (newer && !waits.first) waits.first = afterPaint();
      if (newer && root.dataset.quality === 'fast' && igDone && !waits.fast) waits.fast = afterPaint();
      if (newer && root.dataset.quality === 'exact' && igDone && root.dataset.busy !== 'true') {
        waits.exact = afterPaint();
        observer.disconnect();
        resolve();
      }
    });
    observer.observe(root, { attributes: true, subtree: true });
    start = performance.now();
    editor.value = text;
    editor.dispatchEvent(new Event('input'));
  });
  const marks = {};
  for (const [name, wait] of Object.entries(waits)) marks[name] = await wait;
  return marks;
}
"""
