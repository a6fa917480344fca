"""Time to the first global view on make_classification(100000, 30) with a tree model,
beside shap.TreeExplainer on the same rows (and shap's own beeswarm plot) in the same run;
then the chart specs of wide data and the global SHAP of a model with many classes.

python bench/global.py      # writes the "global" section of bench/RESULTS.md

What is timed (medians of REPEATS runs, the model already fitted):
- ours, first global view: explain_widget(model, X) (schema, SHAP/LIME set-up, surrogate
  fit) plus global SHAP over the documented sample and the four charts' specs, i.e. all a
  user waits for before the global view can be drawn;
- ours, global only: global SHAP over the sample (compute_global, as the session runs it)
  plus the specs, on a widget that exists;
- shap: TreeExplainer with the same background and algorithm on the same sampled rows,
  then again with shap.plots.beeswarm drawn to a PNG;
- shap on all 100,000 rows, what plotting every row would cost (once: it is slow);
- wide data: the specs of 1,000 features x 1,000 rows, carrying the top 20 features (as the
  panel does) against carrying every feature (as it did before);
- many classes: global SHAP of a 60-class random forest with the default sample, and the
  cost per row (what the earlier default of 1,000 rows would take).
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shap
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results import REPEATS, median_time, versions, write_section

from optiml_widgets import ExplanationSession, GlobalExplanation, charts, explain_widget
from optiml_widgets.charts import charts_payload, global_charts
from optiml_widgets.data import build_schema
from optiml_widgets.global_explanation import compute_global, global_rows

ROWS, FEATURES = 100_000, 30


def main() -> None:
    load = os.getloadavg()[0]
    X, y = make_classification(ROWS, FEATURES, random_state=0)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(FEATURES)])
    fit_start = time.perf_counter()
    model = GradientBoostingClassifier(n_estimators=100, max_depth=3, random_state=0).fit(X, y)
    fit_seconds = time.perf_counter() - fit_start

    def first_view():
        w = explain_widget(model, X)
        session = w.session
        session.global_explanation()
        return w, charts_payload(session.global_charts())

    ours_first, (w, payload) = median_time(first_view)
    session = w.session

    explanation = session.global_explanation()

    def global_only():
        explainer = session.shap_explainer
        fresh = compute_global(
            explainer.values,
            session.encoded_X,
            n_rows=len(explanation.rows),
            feature_names=session.schema.names,
            output_names=session.adapter.output_names,
            algorithm=explainer.description,
            random_state=session.random_state,
            progress=lambda *_: None,
        )
        return charts_payload(global_charts(fresh, session.schema, session.surrogate, 1, feature=0))

    ours_global, _ = median_time(global_only)
    rows = X.iloc[explanation.rows]
    background = session.background

    def shap_values(data):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            explainer = shap.TreeExplainer(
                model,
                data=background,
                model_output="probability",
                feature_perturbation="interventional",
            )
            return explainer(data)

    shap_sample, values = median_time(lambda: shap_values(rows))
    np.testing.assert_allclose(values.values, explanation.values[:, :, 1], rtol=1e-6, atol=1e-9)

    def shap_beeswarm():
        result = shap_values(rows)
        shap.plots.beeswarm(result, show=False)
        buffer = io.BytesIO()
        plt.savefig(buffer, format="png")
        plt.close("all")
        return buffer

    shap_plot, _ = median_time(shap_beeswarm)
    start = time.perf_counter()
    shap_values(X)
    shap_all = time.perf_counter() - start

    size_kb = len(json.dumps(payload)) / 1000
    n = len(explanation.rows)
    wide = wide_specs()
    many = many_classes()
    body = f"""## Time to the first global view

{date.today()}, {versions("optiml_widgets", "shap", "scikit-learn", "altair", "numpy")}; 2 cores
shared with other work, 1-minute load average {load:.1f} when the run started.
make_classification({ROWS:,}, {FEATURES}, random_state=0), GradientBoostingClassifier(100 trees,
depth 3; fitting took {fit_seconds:.0f} s, not counted). Medians of {REPEATS} runs; the
global views explain a seeded random sample of {n:,} rows (TreeSHAP, interventional,
100-row background, probability), the same rows shap is given here.

| what | seconds | ratio to shap TreeExplainer on the same rows |
| --- | ---: | ---: |
| ours: explain_widget + global SHAP + the four chart specs (first global view) | {ours_first:.2f} | {ours_first / shap_sample:.2f} |
| ours: global SHAP + chart specs, widget already built | {ours_global:.2f} | {ours_global / shap_sample:.2f} |
| shap.TreeExplainer on the same {n:,} rows | {shap_sample:.2f} | 1.00 |
| shap.TreeExplainer + shap.plots.beeswarm to PNG, same rows | {shap_plot:.2f} | {shap_plot / shap_sample:.2f} |
| shap.TreeExplainer on all {ROWS:,} rows (once) | {shap_all:.2f} | {shap_all / shap_sample:.2f} |

Our SHAP values equal shap's on these rows (checked in the run, rtol 1e-6). The specs and
their data take {size_kb:.0f} kB as JSON; the chart engine (vega-embed, 0.9 MB) reaches the
browser once, when the charts are first drawn. The rest of "ours, first view" is the panel's
set-up (surrogate fit on up to 20,000 rows, LIME and SHAP explainers).

### Wide data: chart specs of 1,000 features

Global SHAP values of 1,000 rows x 1,000 features (generated), the specs of the four
charts as the panel receives them (JSON), medians of {REPEATS}:

| specs carry | size (MB) | seconds to build |
| --- | ---: | ---: |
| every feature (as before) | {wide["all_mb"]:.1f} | {wide["all_s"]:.1f} |
| the 20 with the largest mean \\|SHAP\\| and the selected one (now; the charts say so) | {wide["top_mb"]:.2f} | {wide["top_s"]:.1f} |

Every feature stays available from Python (`w.global_explanation.importance()`).

### Many classes: a 60-class random forest

RandomForestClassifier(50 trees, depth 8) on make_classification(3000, 20, 60 classes);
TreeSHAP (interventional) costs {many["per_row"]:.2f} s per row here, {many["ratio"]:.0f}x a
binary forest of the same size ({many["binary_per_row"] * 1000:.0f} ms), because shap explains
every class at once. The default sample now keeps rows x classes within 2,000 (at least 100
rows): {many["rows"]} rows in {many["seconds"]:.0f} s, where the earlier default of 1,000 rows
would take about {many["per_row"] * 1000 / 60:.0f} minutes. The charts are built for the
explained class only.
"""
    write_section("global", body)
    print(body)


def wide_specs(features: int = 1000, rows: int = 1000) -> dict[str, float]:
    """Size and build time of the chart specs of wide data, top features against all."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(rows, features)), columns=[f"f{i}" for i in range(features)])
    explanation = GlobalExplanation(
        rows=np.arange(rows),
        values=rng.normal(size=(rows, features, 2))
        * np.linspace(1, 0.001, features)[None, :, None],
        base_values=np.zeros(2),
        encoded=X.to_numpy(),
        feature_names=list(X.columns),
        output_names=["no", "yes"],
        total_rows=rows,
        algorithm="TreeSHAP",
        seconds=0.0,
    )
    schema = build_schema(X)

    def specs():
        return json.dumps(charts_payload(global_charts(explanation, schema, None, 1, feature=0)))

    top_s, top = median_time(specs)
    carried = charts.ALL_FEATURES_UP_TO
    charts.ALL_FEATURES_UP_TO = features  # every feature travels, as before
    try:
        all_s, every = median_time(specs)
    finally:
        charts.ALL_FEATURES_UP_TO = carried
    return {"top_mb": len(top) / 1e6, "top_s": top_s, "all_mb": len(every) / 1e6, "all_s": all_s}


def many_classes() -> dict[str, float]:
    """Global SHAP of a 60-class forest with the default sample, and its cost per row."""
    X, y = make_classification(
        3000, 20, n_informative=15, n_classes=60, n_clusters_per_class=1, random_state=0
    )
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(20)])
    forest = RandomForestClassifier(50, max_depth=8, random_state=0, n_jobs=1).fit(X, y)
    session = ExplanationSession(forest, X, explainers=("shap",))
    explainer = session.shap_explainer
    rows = global_rows(len(X), permutation=False, outputs=60)
    started = time.perf_counter()
    compute_global(
        explainer.values,
        session.encoded_X,
        n_rows=rows,
        feature_names=session.schema.names,
        output_names=session.adapter.output_names,
        algorithm=explainer.description,
        progress=lambda *_: None,
    )
    seconds = time.perf_counter() - started
    binary = RandomForestClassifier(50, max_depth=8, random_state=0, n_jobs=1).fit(X, y % 2)
    binary_session = ExplanationSession(binary, X, explainers=("shap",))
    started = time.perf_counter()
    binary_session.shap_explainer.values(binary_session.encoded_X[:rows])
    binary_per_row = (time.perf_counter() - started) / rows
    per_row = seconds / rows
    return {
        "rows": rows,
        "seconds": seconds,
        "per_row": per_row,
        "binary_per_row": binary_per_row,
        "ratio": per_row / binary_per_row,
    }


if __name__ == "__main__":
    main()
