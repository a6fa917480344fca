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
w.close()
print("RESULT " + json.dumps(out))
"""


FIRST_VIEW_RUNS = 5  # W3's first view: a tenth of a second, so the median of fresh processes
SURROGATE_SEEDS = 5  # one seed's held-out rows (1,500) differ by 0.002 per 3 rows

SURROGATE_CHILD = r"""
import json, sys
import numpy as np, pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.tree import DecisionTreeClassifier
from optiml_widgets.data import build_schema
from optiml_widgets.explainers.surrogate import fit_surrogate, surrogate_samples
from optiml_widgets.model import ModelAdapter

X, y = make_classification(5000, 1000, n_informative=30, random_state=0)
X = pd.DataFrame(X, columns=[f"f{i}" for i in range(1000)])
model = HistGradientBoostingClassifier(random_state=0).fit(X, y)
schema = build_schema(X)
adapter, encoded = ModelAdapter(model, X), schema.encode(X)
for seed in range(int(sys.argv[1])):
    # As the widget fits it (its seed is 0), and a plain tree with as many leaves on the same
    # real training rows, both scored on the same held-out real rows.
    surrogate = fit_surrogate(adapter, schema, encoded, random_state=seed)
    data = surrogate_samples(adapter, schema, encoded, random_state=seed)
    train, test = data.train_is_real, data.test_is_real
    out = {"seed": seed}
    for cap in (8, 16):
        ours = max((p for p in surrogate.curve if p["rules"] <= cap), key=lambda p: p["validation"])
        tree = DecisionTreeClassifier(max_leaf_nodes=ours["rules"], random_state=0)
        tree.fit(np.nan_to_num(data.train_X[train]), data.train_y[train])
        plain = float((tree.predict(np.nan_to_num(data.test_X[test])) == data.test_y[test]).mean())
        out[cap] = {"rules": ours["rules"], "family": ours["family"], "ours": ours["fidelity"], "plain": plain}
    print("RESULT " + json.dumps(out), flush=True)
"""


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


def surrogate_seeds() -> list[dict]:
    """W3's surrogate against a plain tree at <= 8 and <= 16 rules, one line per seed."""
    done = subprocess.run(
        [sys.executable, "-c", SURROGATE_CHILD, str(SURROGATE_SEEDS)],
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=HERE,
    )
    found = [
        json.loads(ln.removeprefix("RESULT "))
        for ln in done.stdout.splitlines()
        if ln.startswith("RESULT ")
    ]
    if len(found) != SURROGATE_SEEDS:
        raise RuntimeError(f"the surrogate seeds failed:\n{done.stderr[-2000:]}")
    return found


def paired(seeds: list[dict], cap: int) -> str:
    """Ours minus the plain tree per seed, and their mean ± standard error."""
    diffs = [s[str(cap)]["ours"] - s[str(cap)]["plain"] for s in seeds]
    mean = statistics.mean(diffs)
    error = statistics.stdev(diffs) / len(diffs) ** 0.5
    per_seed = ", ".join(
        f"{s[str(cap)]['ours']:.3f} vs {s[str(cap)]['plain']:.3f} ({s[str(cap)]['rules']})"
        for s in seeds
    )
    return f"{mean:+.3f} ± {error:.3f} (per seed, ours vs plain (rules): {per_seed})"


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
    seeds = surrogate_seeds()
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
        f"| surrogate ≤ 16 rules minus a plain tree of as many leaves, same held-out rows, mean ± s.e. over {SURROGATE_SEEDS} seeds | {paired(seeds, 16)} | ≥ 0 |",
        f"| the same at ≤ 8 rules | {paired(seeds, 8)} | |",
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
