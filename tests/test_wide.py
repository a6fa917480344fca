"""Wide data and heavy models: the right SHAP for wide trees, payloads that scale with what a
person reads, a stated budget for model-agnostic SHAP and LIME, and drags that stay live on
a forest too slow to explain exactly."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from optiml_widgets import explain_widget
from optiml_widgets.data import QUANTILE_LEVELS
from optiml_widgets.explainers.lime import SELECTED_FEATURES
from optiml_widgets.explainers.shap import MIN_PERMUTATION_BACKGROUND, MODEL_CELLS_PER_EXPLANATION
from optiml_widgets.session import SHOWN_FEATURES

FEATURES = 1000


@pytest.fixture(scope="module")
def wide():
    X, y = make_classification(400, FEATURES, n_informative=20, random_state=0)
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(FEATURES)])
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, y)
    return model, X, y


def synced_kb(w) -> float:
    state = {k: getattr(w, k) for k in ("_schema", "_view", "_surrogate", "_curves", "_progress")}
    return len(json.dumps(state, default=lambda b: "x" * len(b))) / 1024


def test_a_wide_tree_model_gets_treeshap_that_adds_up(wide):
    model, X, _ = wide
    w = explain_widget(model, X, explainers=("shap",))
    shap = w._view["attributions"][0]
    assert shap["algorithm"].startswith("TreeSHAP"), shap["algorithm"]
    assert shap["fallback"] is None or "not additive" in shap["fallback"]  # named, not silent
    expected = model.predict_proba(X.iloc[[0]])[0, 1]
    assert shap["base"] + sum(shap["values"]) == pytest.approx(expected, abs=1e-9)
    values = w.session.shap_explainer.values(w.session.encoded_X[:20])
    outputs = model.predict_proba(X.iloc[:20])
    total = values.base_values[None, :] + values.values.sum(axis=1)
    np.testing.assert_allclose(total, outputs, atol=1e-9)
    w.close()


def test_payloads_scale_with_what_a_person_reads(wide):
    model, X, _ = wide
    w = explain_widget(model, X)
    assert synced_kb(w) < 300
    features = w._schema["features"]
    detailed = [j for j, f in enumerate(features) if not f.get("partial")]
    assert len(detailed) == SHOWN_FEATURES
    # The detailed ones are the row's largest |SHAP|.
    values = np.abs(w._view["attributions"][0]["values"])
    assert set(detailed) == set(np.argsort(-values, kind="stable")[:SHOWN_FEATURES].tolist())
    assert w._wait_idle(300)
    assert synced_kb(w) < 300
    assert set(w._curves["features"]) <= set(detailed)
    # A folded feature is reachable: the panel asks for it, Python sends its summary.
    folded = next(j for j in range(FEATURES) if j not in detailed)
    sent = []
    w.send = lambda content, buffers=None: sent.append(content)
    w._handle_custom_msg({"type": "features", "features": [folded, -1, "x", 10**6]}, [])
    ((position, info),) = sent[-1]["features"]
    assert position == folded and not info.get("partial") and info["min"] is not None
    # ...and an edit of it works like any other.
    name = features[folded]["name"]
    w._handle_custom_msg(
        {
            "type": "request",
            "seq": 90,
            "index": 0,
            "target": str(w.target),
            "edits": [[folded, float(X[name].max())]],
            "fast": False,
        },
        [],
    )
    assert w._wait_idle(300)
    row = X.iloc[[0]].assign(**{name: float(X[name].max())})
    assert w._view["prediction"] == pytest.approx(model.predict_proba(row)[0, 1])
    w.close()


def test_a_wide_float_x_is_read_in_place_and_summed_up_when_shown(wide):
    """No copy of X's 1,000 float columns (the encoded rows are pandas' own block, read
    only), and only the shown features' quantiles are computed for the first view; any
    other is computed exactly when it is read."""
    model, X, _ = wide
    w = explain_widget(model, X, explainers=("shap",))
    encoded = w.session.encoded_X
    assert np.shares_memory(encoded, X.to_numpy()) and not encoded.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        encoded[0, 0] = 1.0
    features = w.session.schema.features
    computed = [j for j, f in enumerate(features) if f.quantiles._found is not None]
    assert len(computed) == SHOWN_FEATURES
    folded = next(j for j in range(FEATURES) if j not in computed)
    expected = np.quantile(X.iloc[:, folded], QUANTILE_LEVELS)
    assert [v for _, v in features[folded].quantiles] == expected.tolist()
    w.close()


def test_model_agnostic_shap_and_lime_state_their_budget_on_wide_data(wide):
    _, X, y = wide
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)).fit(X, y)
    w = explain_widget(model, X.head(120), explainers=("shap", "lime"))
    explainer = w.session.shap_explainer
    assert explainer.algorithm_kind == "permutation"
    rows = len(explainer.permutation_background) * explainer.max_evals(fast=False)
    # shap builds every masked row at once: bounded by rows and, on wide data, by cells.
    assert rows <= max(explainer.model_rows, MIN_PERMUTATION_BACKGROUND * (2 * FEATURES + 1))
    assert rows * FEATURES <= 1.01 * MODEL_CELLS_PER_EXPLANATION
    assert explainer.max_evals(fast=False) >= 2 * FEATURES + 1  # shap's minimum
    shap = w._view["attributions"][0]
    assert f"within {explainer.model_rows:,} model rows" in shap["algorithm"]
    assert shap["base"] + sum(shap["values"]) == pytest.approx(
        model.predict_proba(X.head(120).iloc[[0]])[0, 1], abs=1e-6
    )
    assert w._wait_idle(600)
    lime = w._view["attributions"][1]
    assert f"its {SELECTED_FEATURES} strongest of 1,000 features" in lime["algorithm"]
    assert np.count_nonzero(lime["values"]) <= SELECTED_FEATURES
    w.close()


def test_a_forest_too_slow_to_explain_live_is_explained_on_a_share_of_its_trees_while_dragging():
    X, y = make_regression(3000, 20, n_informative=8, random_state=0)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(20)])
    model = RandomForestRegressor(60, random_state=0, n_jobs=1).fit(X, y)
    w = explain_widget(model, X, explainers=("shap",))
    explainer = w.session.shap_explainer
    explainer.seconds_per_row = max(explainer.seconds_per_row or 0, 1.0)  # as on a big forest
    assert explainer.has_fast
    names = w.session.schema.names
    request = {"type": "request", "seq": 5, "index": 0, "target": "prediction", "fast": True}
    w._handle_custom_msg({**request, "edits": [[3, 1.5]]}, [])
    assert w._wait_idle()
    view = w._view
    assert view["quality"] == "fast" and view["attributions"][0]["quality"] == "fast"
    assert 1 <= explainer._fast_trees < len(model.estimators_)
    row = X.iloc[[0]].assign(**{names[3]: 1.5})
    shap = view["attributions"][0]
    assert shap["base"] + sum(shap["values"]) == pytest.approx(model.predict(row)[0], rel=1e-9)
    exact = w.session.attribution(0, {names[3]: 1.5}, "shap", 0)
    assert np.corrcoef(shap["values"], exact.values)[0, 1] > 0.8
    # The release gets the exact values.
    w._handle_custom_msg({**request, "seq": 6, "fast": False, "edits": [[3, 1.5]]}, [])
    assert w._wait_idle()
    assert w._view["quality"] == "exact"
    np.testing.assert_allclose(w._view["attributions"][0]["values"], exact.values)
    w.close()


def test_the_forest_share_is_cut_to_the_live_budget_by_its_own_timing(monkeypatch):
    """Path-dependent TreeSHAP costs per tree more than the interventional one the share
    was first sized by: the share is timed once and cut to fit ``LIVE_SECONDS``."""
    from types import SimpleNamespace

    from optiml_widgets.explainers import shap as shap_module

    X, y = make_regression(300, 5, random_state=0)
    model = RandomForestRegressor(60, max_depth=4, random_state=0, n_jobs=1).fit(X, y)
    w = explain_widget(model, X, explainers=("shap",))
    assert w._wait_idle()
    explainer = w.session.shap_explainer
    budget = shap_module.LIVE_SECONDS
    for took, kept in ((4 * budget, 7), (0.5 * budget, 30)):
        clock = SimpleNamespace(perf_counter=iter([0.0, took]).__next__)
        monkeypatch.setattr(shap_module, "time", clock)
        explainer._build_subforest(model, cost=2 * budget)  # sized at first: 30 of 60 trees
        assert explainer._fast_trees == kept
        assert len(explainer._fast_tree.model.trees) == kept
    w.close()


def test_a_model_slow_per_row_gets_a_cheap_first_view_then_the_exact_one():
    """Quick on the first rows, slow on the 9,000 of exact permutation SHAP (2.7 s here):
    the fast view's own time says so, and the exact view follows."""
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(150, 4)), columns=list("abcd"))

    def slow_per_row(df):
        time.sleep(3e-4 * len(df))
        return 2 * df["a"].to_numpy() - df["b"].to_numpy() * df["c"].to_numpy()

    w = explain_widget(slow_per_row, X, explainers=("shap",))
    assert not w.session.slow_model  # its first call (101 rows) took 30 ms
    assert w._view["quality"] == "fast"
    assert w._wait_idle(600)
    assert w._view["quality"] == "exact"
    w.close()
    quick = explain_widget(lambda df: 2 * df["a"].to_numpy(), X, explainers=("shap",))
    assert quick._view["quality"] == "exact"  # permutation SHAP, but cheap: exact at once
    quick.close()


def test_a_slow_model_gets_a_cheap_first_view_then_the_exact_one():
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(150, 4)), columns=list("abcd"))

    def slow(df):
        time.sleep(0.6)
        return 2 * df["a"].to_numpy() - df["b"].to_numpy()

    w = explain_widget(slow, X, explainers=("shap",))
    assert w.session.slow_model
    assert w._view["quality"] == "fast"  # fewer permutations: the first view is not late
    assert w._wait_idle(600)
    assert w._view["quality"] == "exact"
    shap = w._view["attributions"][0]
    assert shap["base"] + sum(shap["values"]) == pytest.approx(slow(X.iloc[[0]])[0])
    w.close()


def test_cached_sweeps_keep_their_outputs_not_their_rows():
    # Each edit caches a sweep; with every swept row kept, 1,000 features grew the kernel by
    # ~4 MB per edit. The rows are made again from the instance and the grids when needed.
    X = pd.DataFrame(np.random.default_rng(0).normal(size=(300, 400)))
    X.columns = [f"f{j}" for j in range(400)]

    def model(frame: pd.DataFrame) -> np.ndarray:
        return frame.to_numpy().sum(axis=1)

    w = explain_widget(model, X, explainers=("shap",))
    session = w.session
    sweeps = [session.sweep(0, {"f0": value}) for value in (0.1, 0.2, 0.3)]
    for sweep in sweeps:
        rows = sweep.rows()
        assert rows.shape == (sweep.offsets[-1], 400)
        assert np.allclose(model(pd.DataFrame(rows, columns=X.columns)), sweep.outputs[:, 0])
        kept = [sweep.base, sweep.base_output, sweep.outputs, *sweep.grids]
        assert sum(a.nbytes for a in kept) < rows.nbytes / 20
        assert all(not np.shares_memory(rows, a) for a in kept)
    w.close()
