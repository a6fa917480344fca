"""What-if round trip, measured in the browser, against the floor of the raw libraries.

Two workloads, each explained by ``explain_widget(model, X)`` in a real JupyterLab driven by
headless Chromium (/usr/bin/chromium, see scripts/install-chromium):

* W1: GradientBoostingClassifier(200 trees, depth 3) on make_classification(10000, 30);
* W2: RandomForestRegressor(100 fully grown trees) on make_regression(10000, 30), whose exact
  SHAP values cost far more than a drag can wait;
* W3: HistGradientBoostingClassifier on make_classification(5000, 1000): wide data.

In the page, for each of N moves of the slider of the row's most important feature:

* drag: set a range slider to a new value and dispatch ``input`` (the fast path); time from
  the dispatch until the first answer is painted (the panel's own estimate from the model's
  curves, root ``data-estimate``) and until the kernel's fast view is painted (root
  ``data-seq`` changes), each after the next animation frame and a task after it;
* exact: set a new value and dispatch ``change`` (a release: the exact path); time until the
  panel shows an ``exact`` view, painted;
* a page frame: with the panel and its global charts drawn, the browser's main-thread time
  for one frame of the page after a small change elsewhere (what the panel costs the rest
  of the notebook).

Every value is new (the session caches by instance), so each move computes from scratch.
The Lab runs the package as installed, its server extension (optiml_widgets_server:
TCP_NODELAY on the kernel websocket) enabled.
The floor is the same work done directly with the libraries for one row, in the kernel on
the same model: the prediction + TreeSHAP with the algorithm the panel chose (on its 100
background rows) + LIME with 5000 samples. Targets: the first answer to a drag p50 <= 50 ms;
W2's fast kernel view p50 <= 300 ms; exact p50 <= 1.3 x floor; the panel painted <= 2 s after
the widget's output appears in the notebook (W3: 1,000 features); a page frame <= 16.7 ms
(60 Hz).

Run: .venv/bin/python bench/whatif.py [--workload w1|w2|w3] [--n 40] [--no-write]
Writes (replaces) the "whatif-w1"/"whatif-w2" section of bench/RESULTS.md (bench/results.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from results import write_section  # bench/results.py: one section per benchmark

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
from jupyter_lab import (
    CHROMIUM,
    kernel_print,
    lab_page,
    open_notebook,
    run_all_cells,
)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "RESULTS.md"  # written through results.write_section
DRAG_TARGET_MS = 50.0
FAST_VIEW_TARGET_MS = 300.0
EXACT_FACTOR = 1.3
FLOOR_REPEATS = 20

WORKLOADS = {
    "w1": (
        "W1: GradientBoostingClassifier(n_estimators=200, max_depth=3) on make_classification(10000, 30)",
        """\
import time
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier
from optiml_widgets import explain_widget

X, y = make_classification(10000, 30, random_state=0)
model = GradientBoostingClassifier(n_estimators=200, max_depth=3, random_state=0).fit(X, y)
started = time.perf_counter()
w = explain_widget(model, X)
print(f"explain_widget: {time.perf_counter() - started:.2f} s")
""",
    ),
    "w2": (
        "W2: RandomForestRegressor(100 fully grown trees) on make_regression(10000, 30)",
        """\
import time
from sklearn.datasets import make_regression
from sklearn.ensemble import RandomForestRegressor
from optiml_widgets import explain_widget

X, y = make_regression(10000, 30, n_informative=10, random_state=0)
model = RandomForestRegressor(n_estimators=100, random_state=0, n_jobs=1).fit(X, y)
started = time.perf_counter()
w = explain_widget(model, X)
print(f"explain_widget: {time.perf_counter() - started:.2f} s")
""",
    ),
    "w3": (
        "W3: HistGradientBoostingClassifier on make_classification(5000, 1000, n_informative=30)",
        """\
import time
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from optiml_widgets import explain_widget

X, y = make_classification(5000, 1000, n_informative=30, random_state=0)
model = HistGradientBoostingClassifier(random_state=0).fit(X, y)
started = time.perf_counter()
w = explain_widget(model, X)
print(f"explain_widget: {time.perf_counter() - started:.2f} s")
""",
    ),
}

# Installed before the cells run: when the widget's output appears in the notebook and when
# the panel has painted its force plot (the next animation frame after it is in the DOM).
PAINT_JS = """
() => {
  const mark = {};
  window.__owPaint = mark;
  const observer = new MutationObserver(() => {
    const output = '[data-mime-type="application/vnd.jupyter.widget-view+json"]';
    if (!mark.output && document.querySelector(output)) mark.output = performance.now();
    if (document.querySelector('.optiml-widget [data-testid=ow-forcebar] svg')) {
      observer.disconnect();
      if (!mark.output) mark.output = performance.now();
      requestAnimationFrame(() => { mark.painted = performance.now(); });
    }
  });
  observer.observe(document.body, { childList: true, subtree: true });
}
"""
PAINT_TARGET_MS = 2000.0

# One measured move, in the page: returns milliseconds from the event to the painted answer.
MEASURE_JS = """
async ([feature, value, event, timeoutMs]) => {
  const root = document.querySelector('.optiml-widget');
  const row = root.querySelector(`.ow-slider[data-j="${feature}"]`);
  const range = row.querySelector('input[type=range]');
  const before = root.dataset.seq;
  const estimateBefore = root.dataset.estimate;
  const wantExact = event === 'change';
  const afterPaint = () => new Promise((resolve) => requestAnimationFrame(() => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => resolve(performance.now());
    channel.port2.postMessage(null);
  }));
  let t0 = 0;
  let firstPaint = null;  // the first answer painted: the panel's own estimate or a view
  return await new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      observer.disconnect();
      reject(new Error(`no ${event} answer within ${timeoutMs} ms (seq ${root.dataset.seq})`));
    }, timeoutMs);
    const observer = new MutationObserver(() => {
      if (done) return;
      const estimated = root.dataset.estimate !== estimateBefore;
      if (!firstPaint && !wantExact && (estimated || root.dataset.seq !== before)) firstPaint = afterPaint();
      if (root.dataset.seq === before) return;
      if (wantExact && root.dataset.quality !== 'exact') return;
      done = true;
      observer.disconnect();
      clearTimeout(timer);
      Promise.all([afterPaint(), firstPaint]).then(([t1, tFirst]) => resolve({
        ms: t1 - t0,
        first_ms: (tFirst ?? t1) - t0,
        estimated,
        quality: root.dataset.quality,
        seq: Number(root.dataset.seq),
        prediction: root.querySelector('[data-testid=ow-prediction]').textContent,
      }));
    });
    observer.observe(root, { attributes: true, attributeFilter: ['data-seq', 'data-quality', 'data-estimate'] });
    range.value = String(value);
    t0 = performance.now();
    range.dispatchEvent(new Event(event, { bubbles: true }));
  });
}
"""

# In the kernel: the floor (the raw libraries on the same model and row values, the SHAP
# algorithm the panel chose) and the widget's own view computation, without the browser.
KERNEL_TIMING = """
import json, statistics, time
import numpy as np
import shap
from lime.lime_tabular import LimeTabularExplainer
from optiml_widgets.explainers.lime import LimeExplainer
_s = w.session
_e = _s.shap_explainer
_tree = shap.TreeExplainer(
    model,
    data=_s.background if _e.perturbation == "interventional" else None,
    feature_perturbation=_e.perturbation,
    model_output="probability" if _s.adapter.is_classifier and not _e.linked else "raw",
)
_lime = LimeTabularExplainer(**LimeExplainer.lime_arguments(_s.schema, _s.adapter, _s.context.training, 0))
_label = 1 if _s.adapter.is_classifier else 1
_predict = model.predict_proba if _s.adapter.is_classifier else model.predict
_floor = []
for _i in range(REPEATS):
    _row = X[100 + _i : 101 + _i]
    _t = time.perf_counter()
    _predict(_row)
    _tree.shap_values(_row, check_additivity=False)
    _lime.explain_instance(_row[0], _s.lime_explainer.predict_fn, labels=(_label,), num_features=X.shape[1], num_samples=5000)
    _floor.append((time.perf_counter() - _t) * 1000)
_fast, _exact = [], []
_saved = dict(_s.edits_by_row.get(_s.index, {}))
_name = _s.schema.names[FEATURE]
_lo, _hi = float(X[:, FEATURE].min()), float(X[:, FEATURE].max())
for _i, _v in enumerate(np.linspace(_lo, _hi, 2 * REPEATS + 2)[1:-1]):
    _s.edits_by_row[_s.index] = _s.check_edits({_name: float(_v) + 1.234567e-7})
    _t = time.perf_counter()
    _s.view(0, fast=_i % 2 == 0, wait=False)
    (_fast if _i % 2 == 0 else _exact).append((time.perf_counter() - _t) * 1000)
_s.edits_by_row[_s.index] = _saved
print("OW-BENCH " + json.dumps({
    "floor": statistics.median(_floor), "fast": statistics.median(_fast),
    "exact": statistics.median(_exact), "algorithm": _e.algorithm,
}))
"""

QUIET_JS = """
() => {
  const root = document.querySelector('.optiml-widget');
  return root && !root.querySelector('.ow-busy').textContent;
}
"""


# -- JupyterLab and Chromium -----------------------------------------------------------------


def write_notebook(path: Path, setup: str) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = new_notebook()
    notebook.cells = [new_code_cell(setup), new_code_cell("w")]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, path)


def open_and_run(page: Any, url: str, token: str) -> float:
    """Runs the notebook; returns the milliseconds from the widget's output appearing in the
    notebook to the panel painted."""
    open_notebook(page, f"{url}/lab/tree/whatif.ipynb?token={token}")
    page.evaluate(PAINT_JS)
    run_all_cells(page)
    page.locator(".optiml-widget [data-testid=ow-forcebar] svg").wait_for(timeout=600_000)
    page.wait_for_function("() => window.__owPaint.painted !== undefined", timeout=60_000)
    mark = page.evaluate("() => window.__owPaint")
    page.wait_for_function(QUIET_JS, timeout=600_000)
    return float(mark["painted"] - mark["output"])


def first_slider(page: Any) -> int:
    """The position of the first slider: the row's most important feature."""
    return int(page.evaluate("() => document.querySelector('.optiml-widget .ow-slider').dataset.j"))


def measure(page: Any, n: int, feature: int) -> tuple[list[float], list[float], dict[str, Any]]:
    info = page.evaluate(
        """(feature) => {
          const root = document.querySelector('.optiml-widget');
          const range = root.querySelector(`.ow-slider[data-j="${feature}"] input[type=range]`);
          return {min: Number(range.min), max: Number(range.max), step: Number(range.step),
                  value: Number(range.value), n: root.querySelectorAll('.ow-slider').length};
        }""",
        feature,
    )
    # Grid values of the slider, never the row's own value, each used once.
    grid = [info["min"] + k * info["step"] for k in range(1, 200)]
    grid = [v for v in grid if abs(v - info["value"]) > info["step"] / 2]
    order = np.random.default_rng(1).permutation(len(grid))
    values = [grid[i] for i in order[: 2 * n + 4]]
    drag: list[float] = []
    drag_view: list[float] = []
    estimated = 0
    exact: list[float] = []
    cached: list[float] = []
    qualities: set[str] = set()
    for i in range(n + 2):  # the first two moves warm up (JIT, first LIME call)
        # The first drag comes while the surrogate and the rest still stream in: timed apart.
        a = page.evaluate(
            MEASURE_JS, [feature, values[2 * i], "input", 300_000 if i == 0 else 30_000]
        )
        if i == 0:
            info["first_drag"] = a["first_ms"]
        page.wait_for_function(QUIET_JS, timeout=30_000)
        b = page.evaluate(MEASURE_JS, [feature, values[2 * i + 1], "change", 60_000])
        page.wait_for_function(QUIET_JS, timeout=30_000)
        # The same value again: the session answers from its cache, so this is the price of
        # the round trip itself (messages, JSON, repaint) with next to nothing to compute.
        c = page.evaluate(MEASURE_JS, [feature, values[2 * i + 1], "change", 60_000])
        page.wait_for_function(QUIET_JS, timeout=30_000)
        qualities.add(a["quality"])
        if b["quality"] != "exact":
            raise RuntimeError(f"the change event ended on a {b['quality']} view")
        if i >= 2:
            drag.append(a["first_ms"])
            drag_view.append(a["ms"])
            estimated += bool(a["estimated"])
            exact.append(b["ms"])
            cached.append(c["ms"])
    info["drag_qualities"] = sorted(qualities)
    info["drag_view"] = drag_view
    info["estimated"] = estimated
    info["cached"] = cached
    return drag, exact, info


FRAME_TARGET_MS = 1000 / 60  # the panel on a page never makes it miss a frame at 60 Hz
STATUS_JS = "(k) => document.querySelector('#jp-main-statusbar').append(String(k))"


def frame_cost(page: Any, folder: Path, changes: int = 8) -> float:
    """The median time the browser's main thread takes to draw one frame of the notebook page
    after a small change outside the panel (a status-bar text), with the panel and its
    global charts drawn: what the panel costs every other frame of the page. From a Chrome
    trace: each task that composites a frame (holds a "Layerize" step)."""
    page.wait_for_function(
        "() => document.querySelectorAll('.optiml-widget .ow-chart').length >= 3",
        timeout=300_000,
    )
    page.wait_for_timeout(1000)
    trace = folder / "frames.json"
    browser = page.context.browser
    browser.start_tracing(
        page=page,
        path=str(trace),
        categories=["devtools.timeline", "disabled-by-default-devtools.timeline"],
    )
    for k in range(changes):
        page.evaluate(STATUS_JS, k)
        page.wait_for_timeout(150)
    browser.stop_tracing()
    events = json.loads(trace.read_text())
    events = events["traceEvents"] if isinstance(events, dict) else events
    names = {
        (e["pid"], e["tid"]): e["args"]["name"] for e in events if e.get("name") == "thread_name"
    }
    main = {thread for thread, name in names.items() if name == "CrRendererMain"}
    mine = [e for e in events if (e.get("pid"), e.get("tid")) in main and e.get("ph") == "X"]
    tasks = [e for e in mine if e["name"] == "RunTask"]
    layerize = [e["ts"] for e in mine if e["name"] == "Layerize"]
    drawn = [
        t["dur"] / 1000 for t in tasks if any(t["ts"] <= x <= t["ts"] + t["dur"] for x in layerize)
    ]
    if not drawn:
        raise RuntimeError("no frame was drawn while tracing")
    return float(np.median(drawn))


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def versions() -> dict[str, str]:
    out = {}
    for name in ("numpy", "shap", "lime", "scikit-learn", "jupyterlab", "anywidget", "playwright"):
        try:
            out[name] = version(name)
        except Exception:
            out[name] = "?"
    try:
        text = subprocess.run(
            [str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=30
        ).stdout
        match = re.search(r"[\d.]+\d", text)
        out["chromium"] = match.group(0) if match else text.strip()
    except (OSError, subprocess.SubprocessError):
        out["chromium"] = "?"
    return out


def report(
    workload: str,
    drag: list[float],
    exact: list[float],
    kernel: dict[str, Any],
    n: int,
    info: dict,
) -> str:
    title, _ = WORKLOADS[workload]
    exact_target = EXACT_FACTOR * kernel["floor"]
    fast_view = percentile(info["drag_view"], 50)
    rows = [
        (
            "the widget's output appears → the panel painted",
            info["paint"],
            f"≤ {PAINT_TARGET_MS:.0f}",
        ),
        (
            "drag (input → first answer painted), p50",
            percentile(drag, 50),
            f"≤ {DRAG_TARGET_MS:.0f}",
        ),
        ("drag (input → first answer painted), p95", percentile(drag, 95), ""),
        (
            "the first drag, as soon as the panel is painted (its work still streaming in)",
            info["first_drag"],
            "",
        ),
        (
            "drag (input → kernel's fast view painted), p50",
            fast_view,
            f"≤ {FAST_VIEW_TARGET_MS:.0f}",
        ),
        ("drag (input → kernel's fast view painted), p95", percentile(info["drag_view"], 95), ""),
        ("exact (change → painted), p50", percentile(exact, 50), f"≤ {exact_target:.0f}"),
        ("exact (change → painted), p95", percentile(exact, 95), ""),
        ("floor: predict + TreeSHAP + LIME(5000), median", kernel["floor"], ""),
        ("round trip, cached instance (change → painted), p50", percentile(info["cached"], 50), ""),
        ("kernel only: a fast view, median", kernel["fast"], ""),
        ("kernel only: an exact view (prediction and SHAP first), median", kernel["exact"], ""),
        (
            "a frame of the page with the panel and its charts on it (a change outside it), median",
            info["frame"],
            f"≤ {FRAME_TARGET_MS:.1f}",
        ),
    ]
    met = {
        "paint": info["paint"] <= PAINT_TARGET_MS,
        "drag": percentile(drag, 50) <= DRAG_TARGET_MS,
        "fast view": fast_view <= FAST_VIEW_TARGET_MS,
        "exact": percentile(exact, 50) <= exact_target,
        "page frame": info["frame"] <= FRAME_TARGET_MS,
    }
    v = versions()
    lines = [
        f"## What-if round trip, {title} (bench/whatif.py)",
        "",
        f"Run {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
        f"nproc {os.cpu_count()}, 1-min load average {info['load']:.2f} when it started, "
        f"Python {platform.python_version()}; "
        + ", ".join(f"{k} {val}" for k, val in v.items())
        + ".",
        "",
        f"`explain_widget(model, X)` in JupyterLab, headless Chromium; {n} moves per path of the "
        "slider of the row's most important feature (after 2 warm-up moves), each to a value "
        "not computed before. Times from the DOM event to the painted answer, measured in the "
        "page with `performance.now()` (MutationObserver on the panel's `data-seq`, then the "
        "next animation frame). The floor is the same per-row work with the raw libraries on "
        f"the same model in the kernel ({kernel['algorithm']}), median of {FLOOR_REPEATS} rows. "
        '"Cached instance" repeats the last exact value, which the session answers from its '
        "cache: the cost of the round trip itself. An exact view is painted in two steps: the "
        "prediction and SHAP, then LIME and the counterfactual hint streamed in; the time is "
        "to the first exact paint. A page frame: the browser's main-thread time to draw the "
        "notebook page after a small change outside the panel (a status-bar text), the panel "
        "and its global charts drawn, from a Chrome trace (median of 8).",
        "",
        "| measure | ms | target |",
        "|---|---:|---|",
        *[f"| {name} | {value:.1f} | {target} |" for name, value, target in rows],
        "",
        ", ".join(f"{k}: **{'met' if ok else 'NOT met'}**" for k, ok in met.items())
        + f". Drag views were of quality {', '.join(info['drag_qualities'])}; the first answer "
        f"to a drag was the panel's own estimate read off the model's sweeps in "
        f"{info['estimated']} of {len(drag)} moves.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=sorted(WORKLOADS), default="w1")
    parser.add_argument("--n", type=int, default=40, help="measured moves per path")
    parser.add_argument("--no-write", action="store_true", help="do not touch bench/RESULTS.md")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: run scripts/install-chromium")

    load_at_start = os.getloadavg()[0]
    _, setup = WORKLOADS[args.workload]
    with tempfile.TemporaryDirectory(prefix="optiml-bench-") as tmp:
        root = Path(tmp) / "root"
        root.mkdir()
        write_notebook(root / "whatif.ipynb", setup)
        with lab_page(root, Path(tmp) / "jupyter-lab.log") as (server, page, errors):
            print("JupyterLab: running the notebook ...", flush=True)
            paint_ms = open_and_run(page, server.url, server.token)
            feature = first_slider(page)
            page.locator(f'.ow-slider[data-j="{feature}"]').scroll_into_view_if_needed()
            print(f"measuring {args.n} drags and {args.n} releases ...", flush=True)
            drag, exact, info = measure(page, args.n, feature)
            info["frame"] = frame_cost(page, Path(tmp))
            info["load"] = load_at_start
            info["paint"] = paint_ms
            code = KERNEL_TIMING.replace("REPEATS", str(FLOOR_REPEATS)).replace(
                "FEATURE", str(feature)
            )
            out = kernel_print(page, code)
            line = next((x for x in out.splitlines() if x.startswith("OW-BENCH ")), None)
            if line is None:
                raise RuntimeError(f"kernel timing failed: {out}")
            kernel = json.loads(line.removeprefix("OW-BENCH "))
            if errors:
                print("page errors:", *errors, sep="\n  ")
    section = report(args.workload, drag, exact, kernel, args.n, info)
    print()
    print(section)
    if not args.no_write:
        write_section(f"whatif-{args.workload}", section)
        print(f"wrote {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    main()
