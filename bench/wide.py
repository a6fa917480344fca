"""Wide data and heavy models: the first view, its payload and memory, beside the raw
libraries in the same run.

python bench/wide.py            # writes the "wide" section of bench/RESULTS.md
python bench/wide.py --quick    # smaller scaling grid

Each measurement runs in a fresh process (a peak of memory belongs to one configuration):
``explain_widget`` returning (prediction and SHAP of the first row), the widget's synced
state at that moment, and the process's peak memory above what the data and the model took,
until everything that streams in (LIME, the surrogate, the drag curves) is done.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

from results import versions, write_section

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

rows, features, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
first_only = len(sys.argv) > 4  # the first view's time alone (repeated for a median)
X, y = make_classification(rows, features, n_informative=min(30, features // 3), random_state=0)
X = pd.DataFrame(X, columns=[f"f{i}" for i in range(features)])
if kind == "hgb":
    model = HistGradientBoostingClassifier(random_state=0).fit(X, y)
else:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
import shap
from optiml_widgets import explain_widget

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

out = {}
rng = np.random.default_rng(0)
background = X.to_numpy()[np.sort(rng.choice(len(X), 100, replace=False))]
if kind == "hgb":
    started = time.perf_counter()
    explainer = shap.TreeExplainer(model, data=background, feature_perturbation="interventional", model_output="probability")
    explainer.shap_values(X.to_numpy()[:1], check_additivity=False)
    out["raw_seconds"] = time.perf_counter() - started
before = peak_mb()
started = time.perf_counter()
w = explain_widget(model, X)
out["first_view_seconds"] = time.perf_counter() - started
out["algorithm"] = w._view["attributions"][0]["algorithm"]
state = {k: getattr(w, k) for k in ("_schema", "_view", "_surrogate", "_curves", "_global", "_progress", "index", "target", "error", "feature")}
out["state_kb"] = len(json.dumps(state, default=lambda b: "x" * len(b))) / 1024
out["esm_kb"] = (len(w._esm) + len(w._css)) / 1024
if first_only:
    w.close()
    print("RESULT " + json.dumps(out))
    sys.exit(0)
started = time.perf_counter()
surrogate = w.surrogate
w._wait_idle(600)
out["streamed_seconds"] = time.perf_counter() - started
out["peak_above_data_mb"] = peak_mb() - before
out["lime"] = (w._view["attributions"][1] or {}).get("algorithm")
if kind == "hgb" and features >= 300:
    # The surrogate at <= 16 rules against a plain tree with as many leaves, same held-out rows.
    from optiml_widgets.explainers.surrogate import surrogate_samples
    session = w.session
    data = surrogate_samples(session.adapter, session.schema, session.encoded_X, random_state=0)
    real = data.test_is_real
    best = [p for p in surrogate.curve if p["rules"] <= 16]
    ours = max(best, key=lambda p: p["validation"]) if best else None
    leaves = ours["rules"] if ours else 16
    tree = DecisionTreeClassifier(max_leaf_nodes=leaves, random_state=0)
    train_real = data.train_is_real
    tree.fit(np.nan_to_num(data.train_X[train_real]), data.train_y[train_real])
    plain = float((tree.predict(np.nan_to_num(data.test_X[real])) == data.test_y[real]).mean())
    out["surrogate"] = {"rules": ours["rules"], "ours": ours["fidelity"], "plain_tree": plain, "fit_seconds": None}
w.close()
print("RESULT " + json.dumps(out))
"""


FIRST_VIEW_RUNS = 5  # W3's first view: a tenth of a second, so the median of fresh processes


def run(rows: int, features: int, kind: str, first_only: bool = False) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(rows), str(features), kind]
        + (["first"] if first_only else []),
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=HERE,
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        raise RuntimeError(f"{rows}x{features} {kind} failed:\n{done.stderr[-2000:]}")
    return json.loads(line.removeprefix("RESULT "))


def main() -> None:
    quick = "--quick" in sys.argv
    load = os.getloadavg()[0]
    lines = [
        f"## Wide data and heavy models ({date.today()}, {os.cpu_count()} cores, "
        f"load average {load:.1f} at the start)",
        "",
        "Each row: a fresh process (W3's first view and raw time: medians of "
        f"{FIRST_VIEW_RUNS}). First view = `explain_widget` returns (prediction and SHAP "
        "of row 0 on screen); state = the widget's synced traits at that moment (the frontend "
        "bundle aside, listed apart); peak = the process's peak memory above what the data and "
        "the model took, until LIME, the surrogate and the drag curves have streamed in.",
        "",
    ]
    w3 = run(5000, 1000, "hgb")
    lr = run(5000, 1000, "lr")
    firsts = [w3] + [run(5000, 1000, "hgb", first_only=True) for _ in range(FIRST_VIEW_RUNS - 1)]
    for key in ("raw_seconds", "first_view_seconds"):
        w3[key] = statistics.median(r[key] for r in firsts)
    ratio = w3["first_view_seconds"] / w3["raw_seconds"]
    s = w3.get("surrogate", {})
    lines += [
        "### W3: make_classification(5000, 1000, n_informative=30) + HistGradientBoostingClassifier",
        "",
        "| | value | target |",
        "| --- | ---: | --- |",
        f"| raw: shap.TreeExplainer built + one row | {w3['raw_seconds']:.2f} s | |",
        f"| ours: first view | {w3['first_view_seconds']:.2f} s ({ratio:.1f}x) | ≤ 3x |",
        f"| SHAP algorithm | {w3['algorithm']} | TreeSHAP |",
        f"| first synced state | {w3['state_kb']:.0f} KB (+ {w3['esm_kb']:.0f} KB bundle) | ≤ 300 KB |",
        f"| peak memory above the data | {w3['peak_above_data_mb']:.0f} MB | ≤ 1 GB |",
        f"| LIME | {w3['lime']} | |",
        f"| surrogate ≤ 16 rules vs a plain tree, same held-out rows | {s.get('ours', float('nan')):.3f} at {s.get('rules')} rules vs {s.get('plain_tree', float('nan')):.3f} | ≥ |",
        "",
        "### The same X with Pipeline(StandardScaler, LogisticRegression): model-agnostic",
        "",
        "| | value | target |",
        "| --- | ---: | --- |",
        f"| first view | {lr['first_view_seconds']:.1f} s | ≤ 30 s |",
        f"| SHAP algorithm | {lr['algorithm']} | |",
        f"| first synced state | {lr['state_kb']:.0f} KB | |",
        f"| peak memory above the data | {lr['peak_above_data_mb']:.0f} MB | |",
        "",
        "### Scaling: HistGradientBoostingClassifier",
        "",
        "| rows x features | first view (s) | raw (s) | state (KB) | peak above data (MB) | streamed in (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    print("\n".join(lines), flush=True)
    grid = [(1000, f) for f in (30, 100, 300, 1000)] + [(r, 30) for r in (10_000, 100_000)]
    if quick:
        grid = [(1000, 30), (1000, 300), (10_000, 30)]
    for rows, features in grid:
        r = run(rows, features, "hgb")
        lines.append(
            f"| {rows:,} x {features:,} | {r['first_view_seconds']:.2f} | {r['raw_seconds']:.2f} | "
            f"{r['state_kb']:.0f} | {r['peak_above_data_mb']:.0f} | {r['streamed_seconds']:.1f} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        f"Load average at the end: {os.getloadavg()[0]:.1f}. "
        + versions("numpy", "scikit-learn", "shap", "lime", "optiml-widgets"),
    ]
    write_section("wide", "\n".join(lines))


if __name__ == "__main__":
    main()
