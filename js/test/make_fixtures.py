"""Writes js/test/payloads.fixture.ts: real payloads from optiml_widgets, typed, for vitest.

    .venv/bin/python js/test/make_fixtures.py

The file declares every payload with its type from js/src/types.ts, so `npm run typecheck`
fails as soon as the contract and these fixtures part ways: rerun this script then. Numbers
that change from run to run (timings) are left out, so a rerun on the same code rewrites
the same file.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.ensemble import (
    GradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from optiml_widgets import explain_widget  # noqa: E402
from optiml_widgets import export  # noqa: E402
from optiml_widgets.export import export_data  # noqa: E402

# The export's grid SHAP has a budget by measured time; a fixed one keeps the file the same.
export.GRID_SHAP_SECONDS = float("inf")

OUT = HERE / "payloads.fixture.ts"
ROWS = 120


def breast_cancer() -> tuple[Any, pd.DataFrame, pd.Series]:
    data = load_breast_cancer(as_frame=True)
    X, y = data.data.iloc[:ROWS], data.target.iloc[:ROWS]
    model = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(data.data, data.target)
    return model, X, y.map(dict(enumerate(data.target_names)))


def diabetes() -> tuple[Any, pd.DataFrame, pd.Series]:
    data = load_diabetes(as_frame=True)
    model = RandomForestRegressor(30, random_state=0).fit(data.data, data.target)
    return model, data.data.iloc[:ROWS], data.target.iloc[:ROWS]


def cities() -> tuple[Any, pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(ROWS, 3)), columns=["income", "age", "debt"])
    X["city"] = rng.choice(["Paris", "Lyon", "Nice"], ROWS)
    y = ((X["income"] + (X["city"] == "Paris")) > 0.5).astype(int).to_numpy()
    pre = ColumnTransformer([("city", OneHotEncoder(), ["city"])], remainder="passthrough")
    model = Pipeline([("pre", pre), ("clf", GradientBoostingClassifier(n_estimators=30))])
    return model.fit(X, y), X, y


def interaction() -> tuple[Any, pd.DataFrame, np.ndarray]:
    """A jump in a, and one where b and c are both high: a sum of trees reads the second
    as one term of two conditions."""
    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.uniform(size=(600, 3)), columns=["a", "b", "c"])
    y = 3.0 * (X["a"] > 0.4) + 2.0 * ((X["b"] > 0.5) & (X["c"] > 0.5))
    model = HistGradientBoostingRegressor(random_state=0).fit(X, y)
    return model, X.iloc[:ROWS], y.iloc[:ROWS].to_numpy()


def wine() -> tuple[Any, pd.DataFrame, pd.Series]:
    data = load_wine(as_frame=True)
    X, y = data.data.iloc[::2], data.target.iloc[::2]  # every class
    model = RandomForestClassifier(30, random_state=0).fit(data.data, data.target)
    return model, X, y.map(dict(enumerate(data.target_names)))


def without_timings(payload: Any) -> Any:
    if isinstance(payload, dict):
        return {k: without_timings(v) for k, v in payload.items() if k != "compute_ms"}
    if isinstance(payload, list):
        return [without_timings(v) for v in payload]
    return payload


def payloads(name: str, model: Any, X: pd.DataFrame, y: Any, **options: Any) -> dict[str, Any]:
    """The first (streaming) view, the complete one, a fast one after an edit, the rules."""
    versus = options.pop("versus", None)
    family = options.pop("family", None)
    w = explain_widget(model, X, y, **options)
    if versus is not None:  # "why target and not versus": every view is of the difference
        w.versus = versus
    if family is not None:  # that family's largest size of at most 8 rules, as if clicked
        sizes = [p["rules"] for p in w.surrogate.curve if p["family"] == family]
        w._show_size(max(k for k in sizes if k <= 8), family)
        assert w.surrogate.family == family
    session = w.session
    first = session.view(1, complete=False, wait=False)
    complete = session.view(2)
    # The surrogate's own value for that row, in Python: what the rule table works out.
    rule, row = w.explanation.rule, w.instance
    rule_value = rule.score(row) if rule is not None and rule.terms else None
    numeric = next(j for j, f in enumerate(session.schema.features) if not f.is_discrete)
    feature = session.schema.features[numeric]
    w.set_features({feature.name: feature.max})
    fast = session.view(3, fast=True)
    edited = session.view(4)
    w._wait_idle()
    found = {
        "schema": ("Schema", w._schema),
        "first": ("View", first),
        "complete": ("View", complete),
        "fast": ("View", fast),
        "edited": ("View", edited),
        "surrogate": ("SurrogateInfo", w._surrogate),
        "progress": ("Progress", w._progress),
        "rule_value": ("number | null", rule_value),
    }
    if name in ("cities", "wine"):
        rows = [0, 1] if name == "cities" else [0, len(X) - 1]  # wine: a class-0 and a class-2 row
        if name == "wine":  # the last row exported with two edits: each can be reset alone
            shown = w.index
            w.index = rows[1]
            names = [f.name for f in session.schema.features if not f.is_discrete][:2]
            w.set_features({n: session.schema.features[session.schema.names.index(n)].max for n in names})
            w.index = shown
        found["export"] = ("ExportData", {**export_data(session, rows=rows), "global": None})
    w.close()
    return {f"{name}_{key}": value for key, value in found.items()}


def main() -> None:
    warnings.simplefilter("ignore")
    found: dict[str, tuple[str, Any]] = {}
    for name, (model, X, y) in {
        "cancer": breast_cancer(),
        "diabetes": diabetes(),
        "cities": cities(),
    }.items():
        found.update(payloads(name, model, X, y))
    found.update(payloads("wine", *wine(), versus=2))
    found.update(payloads("summed", *interaction(), family="sum of trees"))
    types = sorted({t for t, _ in found.values() if t[0].isupper()})  # types.ts's own
    lines = [
        "// Written by js/test/make_fixtures.py from real payloads; rerun it when typecheck fails here.",
        f'import type {{ {", ".join(types)} }} from "../src/types";',
        "",
    ]
    for key, (ts_type, value) in found.items():
        text = json.dumps(without_timings(value), allow_nan=False, separators=(",", ":"))
        lines.append(f"export const {key}: {ts_type} = {text};")
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT.relative_to(HERE.parent.parent)} ({OUT.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
