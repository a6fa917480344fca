"""Global explanations over global_data, in process: every row reduced, equal to the
in-memory numbers on the same rows, checked before any long work, stoppable; the compute
seam; the base package without Dask."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.datasets import make_classification, make_regression
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor

from optiml_widgets import ExplanationSession, explain_widget
from optiml_widgets.compute import Chunks, InProcess
from optiml_widgets.global_data import explain_global_data
from optiml_widgets.global_explanation import compute_global
from optiml_widgets.jobs import Cancelled, Stop
from optiml_widgets.partition_shap import PanelShap

lightgbm = pytest.importorskip("lightgbm")


def classification_data(
    rows: int, features: int = 6, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(rows, features, n_informative=4, random_state=seed)
    return pd.DataFrame(X, columns=[f"x{i}" for i in range(features)]), y


@pytest.fixture(scope="module")
def gbc_session():
    """A GradientBoostingClassifier (interventional TreeSHAP in the panel), X of 300 rows
    and global_data of 2,500 rows."""
    X, y = classification_data(2800)
    model = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(X, y)
    session = ExplanationSession(model, X.iloc[:300])
    return session, X.iloc[300:].reset_index(drop=True)


@pytest.fixture(scope="module")
def lgbm_session():
    """A LightGBM classifier (the panel: interventional TreeSHAP; native: pred_contrib)."""
    X, y = classification_data(30_000, features=8, seed=1)
    model = lightgbm.LGBMClassifier(n_estimators=25, num_leaves=12, random_state=0, verbose=-1).fit(
        X, y
    )
    return ExplanationSession(model, X.iloc[:500]), X


def in_memory(session, frame):
    """The in-memory SHAP values of every row of ``frame`` (compute_global, the panel's own)."""
    encoded = session.schema.encode(frame)
    explainer = session.shap_explainer
    return compute_global(
        explainer.values,
        encoded,
        n_rows=len(encoded),
        feature_names=session.schema.names,
        output_names=session.adapter.output_names,
        algorithm=explainer.description,
        progress=lambda *_: None,
    ), encoded


def test_global_shap_of_expensive_rows_moves_its_progress_within_a_chunk(monkeypatch):
    # Progress came once per 50-row chunk: minutes without a tick on rows that take seconds.
    import optiml_widgets.global_explanation as module
    from optiml_widgets.explainers.shap import ShapValues

    monkeypatch.setattr(module, "PIECE_SECONDS", 0.02)
    sizes: list[int] = []

    def slow(rows: np.ndarray) -> ShapValues:
        sizes.append(len(rows))
        time.sleep(0.03)  # more than the piece's time: pieces stay at one row or two
        return ShapValues(rows[:, :, None] * 2.0, np.zeros(1))

    encoded = np.arange(120.0).reshape(60, 2)
    ticks: list[int] = []
    found = compute_global(
        slow,
        encoded,
        n_rows=60,
        feature_names=["a", "b"],
        output_names=["y"],
        algorithm="test",
        progress=lambda done, _total: ticks.append(done),
    )
    np.testing.assert_array_equal(found.values[:, :, 0], encoded * 2.0)
    assert sizes[0] == 1 and max(sizes) <= 2
    assert [t for t in ticks if 0 < t < 50], "ticks within the first chunk"
    assert ticks == sorted(ticks) and ticks[-1] == 60


def test_every_row_equals_the_in_memory_results_on_the_same_rows(gbc_session):
    session, data = gbc_session
    seen = []
    explanation = explain_global_data(
        session,
        data,
        progress=lambda done, total: seen.append((done, total)),
        sample_rows=400,
        partition_rows=700,
    )
    summary = explanation.summary
    reference, encoded = in_memory(session, data)
    values = reference.values  # [row, feature, output]
    assert summary.n_rows == len(data) and not summary.failures
    assert explanation.algorithm == session.shap_explainer.description
    assert summary.backend == "in process"
    # Mean |SHAP| over every row, for every output.
    np.testing.assert_allclose(summary.mean_abs_shap, np.abs(values).mean(axis=0), rtol=1e-9)
    importance = explanation.importance(1)
    assert (
        importance.index[0] == session.schema.names[int(np.abs(values[:, :, 1]).mean(0).argmax())]
    )
    # Binned dependence, bin by bin, against the same bins computed by hand.
    j = 2
    edges = summary.dependence.edges[j]
    bins = np.searchsorted(edges, encoded[:, j], side="left")
    frame = summary.dependence_frame(j, output=1)
    for b in range(len(edges) + 1):
        shap_in_bin = values[bins == b, j, 1]
        assert frame["rows"][b] == len(shap_in_bin)
        if len(shap_in_bin):
            assert frame["shap_mean"][b] == pytest.approx(shap_in_bin.mean(), rel=1e-9, abs=1e-15)
            assert frame["shap_std"][b] == pytest.approx(shap_in_bin.std(), rel=1e-6, abs=1e-12)
            assert frame["value"][b] == pytest.approx(encoded[bins == b, j].mean(), rel=1e-9)
    assert frame["rows"].iloc[-1] == 0 and frame["bin"].iloc[-1] == "missing"
    # The surrogate's agreement on every row, overall and per rule.
    surrogate = session.surrogate
    model_class = np.argmax(session.adapter.predict(data), axis=1)
    agrees = surrogate.predict_encoded(encoded).astype(int) == model_class
    assert summary.fidelity.value == pytest.approx(agrees.mean(), rel=1e-12)
    ids = np.array([r.id for r in surrogate.rules_for_encoded(encoded)])
    rules = summary.fidelity.rules()
    assert rules["rows"].sum() == len(data)
    for rule in rules.itertuples():
        if rule.rows:
            assert rule.agreement == pytest.approx(agrees[ids == rule.rule].mean())
    # The prediction distribution and the additivity over every row.
    histogram = summary.prediction_histogram(1)
    probabilities = session.adapter.predict(data)[:, 1]
    assert histogram["rows"].sum() == len(data)
    inside = (probabilities > 0.25) & (probabilities <= 0.3)
    assert histogram.loc[np.isclose(histogram["high"], 0.3), "rows"].item() == inside.sum()
    assert summary.additivity_error < 1e-6
    # The uniform sample: its rows' values are the in-memory values of the same rows.
    assert len(explanation.rows) == 400 and explanation.sampled
    assert np.all(np.diff(explanation.rows) > 0)
    np.testing.assert_allclose(explanation.values, values[explanation.rows], rtol=1e-9)
    np.testing.assert_allclose(explanation.encoded, encoded[explanation.rows])
    assert "uniform random sample of 400 of 2,500 rows" in explanation.sample_text
    # Progress in rows, step by step through parts of 700 rows.
    assert seen[0] == (0, 2500) and seen[-1] == (2500, 2500)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_progress_counts_rows_within_a_part(gbc_session):
    # A slow explainer takes minutes per part: the progress moves with every step of one.
    session, data = gbc_session
    seen = []
    explain_global_data(
        session,
        data,
        progress=lambda done, total: seen.append((done, total)),
        sample_rows=100,
        partition_rows=1000,
    )
    step = PanelShap.live_rows  # rows per step under the gate
    assert seen == [(done, 2500) for done in range(0, 2501, step)]


def test_feature_quantiles_and_ranges_cover_every_row(gbc_session):
    session, data = gbc_session
    summary = explain_global_data(session, data, progress=lambda *_: None).summary
    for j, feature in enumerate(summary.features):
        column = data.iloc[:, j].to_numpy()
        assert feature.min == column.min() and feature.max == column.max()
        # Each quantile lies within the grid cell (from X's quantiles) holding the exact one.
        grid = np.quantile(session.encoded_X[:, j], np.linspace(0, 1, 257))
        for level, value in feature.quantiles:
            exact = np.quantile(column, level)
            cell = np.searchsorted(grid, exact)
            low = grid[cell - 1] if cell > 0 else column.min()
            high = grid[cell] if cell < len(grid) else column.max()
            assert low - 1e-12 <= value <= high + 1e-12, (feature.name, level)


def test_a_regressor_reports_r2_over_every_row():
    X, y = make_regression(3000, 5, noise=5.0, random_state=0)
    X = pd.DataFrame(X, columns=list("abcde"))
    model = GradientBoostingRegressor(n_estimators=40, max_depth=3, random_state=0).fit(X, y)
    session = ExplanationSession(model, X.iloc[:400])
    explanation = explain_global_data(session, X, progress=lambda *_: None)
    summary = explanation.summary
    surrogate = session.surrogate
    encoded = session.schema.encode(X)
    predicted = session.adapter.predict(X)[:, 0]
    by_rule = surrogate.predict_encoded(encoded)
    r2 = 1 - ((predicted - by_rule) ** 2).sum() / ((predicted - predicted.mean()) ** 2).sum()
    assert summary.fidelity.metric == "r2"
    assert summary.fidelity.value == pytest.approx(r2, rel=1e-9)
    assert summary.predictions.mean[0] == pytest.approx(predicted.mean())
    assert summary.predictions.std[0] == pytest.approx(predicted.std())
    assert summary.prediction_histogram(0)["rows"].sum() == len(X)
    assert summary.outputs == (0,) and explanation.values.shape == (1000, 5, 1)


def test_native_contributions_are_shaps_path_dependent_values(lgbm_session):
    session, data = lgbm_session
    explanation = explain_global_data(
        session, data, algorithm="native", sample_rows=300, progress=lambda *_: None
    )
    assert explanation.algorithm == (
        "TreeSHAP (path-dependent, log-odds; LightGBM's own pred_contrib)"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = np.asarray(
            shap.TreeExplainer(
                session.adapter.model, feature_perturbation="tree_path_dependent"
            ).shap_values(data.to_numpy())
        )
    own = own if own.ndim == 2 else own[:, :, 1]  # log-odds of the positive class
    summary = explanation.summary
    np.testing.assert_allclose(summary.mean_abs_shap[:, 1], np.abs(own).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(summary.mean_abs_shap[:, 0], summary.mean_abs_shap[:, 1])
    np.testing.assert_allclose(
        explanation.output_values(1), own[explanation.rows], rtol=1e-6, atol=1e-9
    )
    assert summary.additivity_error < 1e-6
    # "auto" keeps the panel's algorithm (interventional, probabilities) for this model.
    auto = explain_global_data(session, data.iloc[:600], progress=lambda *_: None)
    assert auto.algorithm == session.shap_explainer.description


def test_global_data_is_checked_before_any_long_work(gbc_session):
    session, data = gbc_session
    calls = []

    def progress(done, total):
        calls.append(done)

    with pytest.raises(ValueError, match=r"lacks columns of X: \['x5'\].*X\.columns"):
        explain_global_data(session, data.drop(columns="x5"), progress=progress)
    with pytest.raises(ValueError, match=r"columns X does not have: \['label'\]"):
        explain_global_data(session, data.assign(label=1), progress=progress)
    with pytest.raises(ValueError, match="'x1' holds .* values in global_data but numbers in X"):
        explain_global_data(session, data.assign(x1="text"), progress=progress)
    with pytest.raises(ValueError, match="global_data is empty"):
        explain_global_data(session, data.iloc[:0], progress=progress)
    infinite = data.copy()
    infinite.loc[3, "x2"] = -np.inf
    with pytest.raises(ValueError, match=r"global_data has infinite values in 'x2' \(1 cell\)"):
        explain_global_data(session, infinite, progress=progress)
    with pytest.raises(TypeError, match="pandas DataFrame, a Dask DataFrame or the path"):
        explain_global_data(session, data.to_numpy(), progress=progress)
    with pytest.raises(ValueError, match="algorithm must be 'auto', 'panel' or 'native'"):
        explain_global_data(session, data, algorithm="fast", progress=progress)
    with pytest.raises(ValueError, match="algorithm='native' needs an XGBoost or LightGBM"):
        explain_global_data(session, data, algorithm="native", progress=progress)
    with pytest.raises(ValueError, match="sample_rows must be at least 1"):
        explain_global_data(session, data, sample_rows=0, progress=progress)
    with pytest.raises(ValueError, match="outputs must be positions"):
        explain_global_data(session, data, outputs=[5], progress=progress)
    assert calls == []  # nothing started


def test_stop_cancels_between_steps(gbc_session):
    session, data = gbc_session
    stop = Stop()
    seen = []

    def progress(done, total):
        seen.append(done)
        if done == 200:  # within the first part of 500 rows
            stop.set()

    with pytest.raises(Cancelled):
        explain_global_data(session, data, stop=stop, progress=progress, partition_rows=500)
    assert seen == [0, 100, 200]


def test_many_classes_keep_only_the_explained_class_per_bin():
    X, y = make_classification(1500, 5, n_informative=4, n_redundant=0, n_classes=4, random_state=0)
    X = pd.DataFrame(X, columns=list("abcde"))
    model = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=6, verbose=-1).fit(X, y)
    session = ExplanationSession(model, X.iloc[:300])
    session.target_index = 2
    explanation = explain_global_data(session, X, algorithm="native", progress=lambda *_: None)
    summary = explanation.summary
    assert summary.outputs == (2,) and explanation.outputs == (2,)
    assert summary.mean_abs_shap.shape == (5, 4)  # mean |SHAP| for every class
    assert explanation.values.shape == (1000, 5, 1)
    assert explanation.importance(0).shape == (5,)
    assert summary.dependence.shap_mean.shape[2] == 1
    with pytest.raises(ValueError, match=r"outputs=\[0\]"):
        explanation.output_values(0)
    with pytest.raises(ValueError, match=r"outputs=\[3\]"):
        summary.dependence_frame("a", output=3)
    assert summary.predictions.class_counts.sum() == len(X)


def test_unseen_categories_are_counted_not_hidden():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "size": rng.normal(size=1200),
            "city": pd.Categorical(rng.choice(["Lyon", "Nice", "Paris"], 1200)),
        }
    )
    X.iloc[:10, 1] = None  # X has missing cities, so global_data may too
    y = (X["size"] + (X["city"] == "Nice") > 0.5).astype(int)
    model = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=4, verbose=-1).fit(X, y)
    session = ExplanationSession(model, X.iloc[:400], explainers=("shap",))
    data = X.iloc[400:].copy()
    data["city"] = data["city"].cat.add_categories(["Rome"])
    data.iloc[:30, 1] = "Rome"
    data.iloc[30:40, 1] = None
    with pytest.warns(UserWarning, match="global_data holds categories X lacks.*'city'") as said:
        summary = explain_global_data(
            session, data, algorithm="native", progress=lambda *_: None
        ).summary
    assert {r.filename for r in said} == {__file__}  # at the line that asked (no pandas warning)
    assert summary.unseen_categories == {"city": (30, ["Rome"])}
    # Said where the pass's text is read (the panel's status line), and warned.
    assert "categories X lacks, explained as missing: 'city' in 30 rows (4%), e.g. 'Rome'" in (
        summary.text()
    )
    city = summary.features[1]
    assert city.categories == ("Lyon", "Nice", "Paris")
    assert sum(city.counts) == len(data) - 40 and city.missing == pytest.approx(10 / len(data))
    frame = summary.dependence_frame("city", output=1)
    assert frame["bin"].tolist() == ["Lyon", "Nice", "Paris", "missing or unseen"]
    assert frame["rows"].iloc[-1] == 40
    assert summary.fidelity is None  # no surrogate in this session


def test_a_category_given_as_its_codes_is_refused_before_any_long_work():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"size": rng.normal(size=600), "city": pd.Categorical(rng.choice(["Lyon", "Nice"], 600))}
    )
    y = (X["size"] + (X["city"] == "Nice") > 0.5).astype(int)
    model = lightgbm.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1).fit(X, y)
    session = ExplanationSession(model, X.iloc[:300], explainers=("shap",))
    codes = X.iloc[300:].assign(city=X["city"].iloc[300:].cat.codes)
    calls = []
    refused = r"'city' holds numbers \(int8\) in global_data but the categories \['Lyon', 'Nice'\]"
    with pytest.raises(ValueError, match=refused + r".*pd\.Categorical\.from_codes"):
        explain_global_data(session, codes, progress=lambda *a: calls.append(a))
    as_floats = codes.assign(city=codes["city"].astype(float))
    with pytest.raises(ValueError, match=r"'city' holds numbers \(float64\)"):
        explain_global_data(session, as_floats, progress=lambda *a: calls.append(a))
    dd = pytest.importorskip("dask.dataframe")
    with pytest.raises(ValueError, match=refused):
        explain_global_data(session, dd.from_pandas(codes, npartitions=2), client=False)
    assert calls == []  # nothing started
    # Its categories back, it is explained with no unseen category.
    fixed = codes.assign(city=pd.Categorical.from_codes(codes["city"], X["city"].cat.categories))
    summary = explain_global_data(session, fixed, progress=lambda *_: None).summary
    assert summary.unseen_categories == {} and summary.n_rows == 300


def test_a_dask_part_with_infinite_values_fails_naming_them(gbc_session):
    """Dask's partitions are read only when explained: the part with an infinite value
    fails with the error X gets, and the others are explained."""
    dd = pytest.importorskip("dask.dataframe")
    session, data = gbc_session
    data = data.iloc[:900].copy()
    data.loc[850, "x4"] = np.inf
    with pytest.warns(RuntimeWarning, match=r"covers 600 rows \(1 of 3 parts failed\)"):
        explanation = explain_global_data(
            session, dd.from_pandas(data, npartitions=3), client=False, progress=lambda *_: None
        )
    (failure,) = explanation.summary.failures
    assert failure.part == 2
    assert "global_data's part 2 has infinite values in 'x4' (1 cell)" in failure.text()
    assert explanation.summary.n_rows == 600


def test_the_in_process_backend_reports_a_failing_part_and_goes_on():
    def work(chunk, part):
        if part == 1:
            raise ValueError("bad rows")
        return len(chunk)

    seen = []
    reduced = InProcess().map_reduce(
        work,
        Chunks(np.zeros(25), 10),
        lambda a, b: a + b,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert reduced.value == 15 and reduced.parts == 3 and reduced.succeeded == 2
    (failure,) = reduced.failures
    assert failure.part == 1 and failure.attempts == 1
    assert failure.text() == "part 1 failed after 1 attempt: ValueError: bad rows"
    assert seen == [(0, 3), (1, 3), (2, 3), (3, 3)]
    with pytest.raises(ValueError, match="bad rows"):
        InProcess(fail_fast=True).map_reduce(work, Chunks(np.zeros(25), 10), lambda a, b: a + b)


def test_the_base_package_does_not_import_dask(gbc_session):
    code = (
        "import sys, numpy as np, pandas as pd\n"
        "import optiml_widgets, optiml_widgets.global_data, optiml_widgets.compute\n"
        "from sklearn.tree import DecisionTreeClassifier\n"
        "X = pd.DataFrame(np.random.default_rng(0).normal(size=(200, 3)), columns=list('abc'))\n"
        "model = DecisionTreeClassifier(max_depth=3).fit(X, X.a > 0)\n"
        "session = optiml_widgets.ExplanationSession(model, X, explainers=('shap',))\n"
        "optiml_widgets.global_data.explain_global_data(session, X, progress=lambda *_: None)\n"
        "assert 'dask' not in sys.modules and 'distributed' not in sys.modules, 'dask imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


@pytest.mark.parametrize("classes", [2, 3])
def test_xgboost_native_contributions_are_its_treeshap(classes):
    xgboost = pytest.importorskip("xgboost")
    X, y = make_classification(
        2000, 5, n_informative=4, n_redundant=0, n_classes=classes, random_state=0
    )
    X = pd.DataFrame(X, columns=list("abcde"))
    model = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y)
    session = ExplanationSession(model, X.iloc[:300], explainers=("shap",))
    explanation = explain_global_data(
        session, X, algorithm="native", outputs=range(classes), progress=lambda *_: None
    )
    space = "log-odds" if classes == 2 else "raw class scores"
    assert explanation.algorithm == (
        f"TreeSHAP (path-dependent, {space}; XGBoost's own pred_contribs)"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = np.asarray(
            shap.TreeExplainer(model, feature_perturbation="tree_path_dependent").shap_values(
                X.to_numpy()
            )
        )
    own = own[:, :, None] if own.ndim == 2 else own  # binary: the positive class's log-odds
    summary = explanation.summary
    # XGBoost computes in float32: its values agree with shap's to about 1e-5.
    mean_abs = summary.mean_abs_shap[:, -own.shape[2] :]
    np.testing.assert_allclose(mean_abs, np.abs(own).mean(axis=0), rtol=1e-4)
    assert summary.additivity_error < 1e-4
    assert summary.non_additive_rows == 0 and summary.additivity_text is None


@pytest.mark.parametrize("classify", [True, False])
def test_auto_takes_the_native_values_only_where_they_are_the_panels(classify):
    """A LightGBM model on its own categories gets path-dependent TreeSHAP in the panel: a
    classifier's on the log-odds shown through the link in probability, so over global_data
    too (the library's own values are log-odds); a regressor's on the raw output, the
    library's own."""
    lightgbm = pytest.importorskip("lightgbm")
    from optiml_widgets.partition_shap import NativeContributions, choose_contributions

    X, y = make_classification(600, 5, n_informative=3, random_state=1)
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(5)])
    X["c"] = pd.Categorical(np.random.default_rng(0).choice(list("abc"), len(X)))
    cls = lightgbm.LGBMClassifier if classify else lightgbm.LGBMRegressor
    model = cls(n_estimators=20, num_leaves=8, verbose=-1).fit(X, y)
    session = ExplanationSession(model, X.head(200), explainers=("shap",))
    session.local_explanation()  # the panel's algorithm settles on the first rows
    chosen = choose_contributions(session, "auto")
    assert "path-dependent" in session.shap_explainer.description
    assert isinstance(chosen, NativeContributions) != classify
    if classify:
        panel = session.local_explanation()
        found = explain_global_data(session, X.tail(300), progress=lambda *_: None)
        assert found.algorithm == session.shap_explainer.description
        assert abs(found.base_values[session.target_index] - panel.base_value) < 0.05
    session.close()


def test_auto_keeps_the_panels_values_for_a_regressor_shown_through_its_link():
    """A Poisson LightGBM regressor on its own categories: the panel's path-dependent
    TreeSHAP of the log count is shown in counts through the exp link, so the library's own
    values (of the log count) are not the panel's, and the global views run the panel's."""
    from optiml_widgets.global_data import choose_contributions

    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.normal(size=400), "c": pd.Categorical(rng.choice(list("xyz"), 400))})
    counts = rng.poisson(np.exp(0.5 * X["a"] + (X["c"] == "x"))).astype(float)
    model = lightgbm.LGBMRegressor(objective="poisson", n_estimators=20, verbose=-1).fit(X, counts)
    session = ExplanationSession(model, X.head(200), explainers=("shap",))
    panel = session.local_explanation()
    assert panel.algorithm.startswith("TreeSHAP (path-dependent on the log of the prediction")
    assert isinstance(choose_contributions(session, "auto"), PanelShap)
    found = explain_global_data(session, X.tail(100), progress=lambda *_: None)
    assert found.algorithm == session.shap_explainer.description
    assert found.summary.non_additive_rows == 0
    session.close()


def test_permutation_shap_over_global_data_gives_each_row_the_panels_own_values():
    """Permutation SHAP draws its permutations per call: rows explained in steps took values
    that depended on their step (up to 0.03 apart from the panel's force plot)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(11)
    X = pd.DataFrame(rng.normal(size=(240, 4)), columns=list("abcd"))
    y = ((X.a * X.b + X.c - X.d) > 0).astype(int)
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    session = ExplanationSession(model, X, explainers=("shap",))
    found = explain_global_data(session, X, progress=lambda *_: None)
    assert found.algorithm.startswith("Permutation SHAP")
    k = found.outputs.index(1)
    for position in (0, 37, 101):
        row = int(found.rows[position])
        panel = session.local_explanation(row, {}, 1)
        ours = [panel.shap[name] for name in X.columns]
        np.testing.assert_allclose(found.values[position, :, k], ours, rtol=1e-9, atol=1e-12)
    session.close()


def test_a_true_false_column_given_as_text_is_refused_at_the_call():
    """Cast to bool, any text is True ("False" too): every row was explained as True, with
    only a warning about unseen categories."""
    X = pd.DataFrame({"a": np.linspace(0, 1, 200), "flag": np.arange(200) % 2 == 0})
    y = X["a"] + X["flag"] * 2
    from sklearn.ensemble import RandomForestRegressor

    model = RandomForestRegressor(10, random_state=0).fit(X, y)
    session = ExplanationSession(model, X, explainers=("shap",))
    text = X.assign(flag=X["flag"].astype(str))
    with pytest.raises(ValueError, match="holds text .* in global_data but True/False in X"):
        explain_global_data(session, text, progress=lambda *_: None)
    session.close()


def test_a_global_explanation_reads_classes_by_name_too():
    from sklearn.datasets import load_wine
    from sklearn.ensemble import RandomForestClassifier

    data = load_wine(as_frame=True)
    model = RandomForestClassifier(20, random_state=0).fit(data.data, data.target)
    names = ["barolo", "grignolino", "barbera"]
    session = ExplanationSession(model, data.data, class_names=names, explainers=("shap",))
    found = session.global_explanation()
    pd.testing.assert_series_equal(found.importance("barbera"), found.importance(2))
    contrast = found.contrast("barolo", "barbera")
    np.testing.assert_allclose(
        contrast.values[:, :, 0], found.values[:, :, 0] - found.values[:, :, 2]
    )
    with pytest.raises(ValueError, match=r"There is no output 5: give a position 0..2 or one of"):
        found.to_shap(5)
    session.close()
    # Integer labels are read as labels first, as w.target reads them: 2 is the class 2.
    model = RandomForestClassifier(20, random_state=0).fit(data.data, data.target + 1)
    session = ExplanationSession(model, data.data, explainers=("shap",))
    found = session.global_explanation()
    np.testing.assert_allclose(found.output_values(2), found.values[:, :, session.check_target(2)])
    assert session.check_target(2) == 1
    pd.testing.assert_series_equal(found.importance(0), found.importance(1))  # 0: no label
    session.close()


def test_a_number_names_the_class_it_equals_not_the_position():
    # Classes 1.0, 2.0, 3.0 (y read from a float column): 2 read as the position 2 gave
    # class 3.0's values. As w.target reads them, 2.0 names the integer class 2 too.
    from sklearn.ensemble import RandomForestClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=120), "b": rng.normal(size=120)})
    y = np.digitize(X["a"], [-0.5, 0.5]) + 1
    for classes in (y.astype(float), y):
        model = RandomForestClassifier(10, max_depth=3, random_state=0).fit(X, classes)
        session = ExplanationSession(model, X, explainers=("shap",))
        found = session.global_explanation()
        for label in (2, 2.0, np.float64(2.0), np.int64(2)):
            assert found.output(label) == session.check_target(2.0) == 1
        np.testing.assert_array_equal(found.to_shap(2).values, found.values[:, :, 1])
        session.close()


@pytest.mark.parametrize("labels", [[1, 2], [1, 2, 3]])
def test_the_charts_show_the_target_when_classes_are_numbers_that_are_not_positions(labels):
    """The panel's own code holds positions: read as labels, the charts of class 2 showed
    class 3's values (and a binary model's other class, signs flipped)."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=90), "b": rng.normal(size=90)})
    cuts = np.quantile(X["a"], np.linspace(0, 1, len(labels) + 1)[1:-1])
    y = np.array(labels)[np.digitize(X["a"] + 0.3 * X["b"], cuts)]
    model = LogisticRegression().fit(X, y)
    w = explain_widget(model, X, explainers=("shap",))
    w.target = labels[-1]
    session = w.session
    explanation, position, _ = session.global_of_output()
    own = session.global_explanation().values[:, :, session.target_index]
    np.testing.assert_allclose(explanation.values_at(position), own)
    assert (
        explanation.importance_at(position).index[0] == session.schema.names[session.top_feature()]
    )
    if len(labels) == 3:
        w.versus = 1
        contrast, position, _ = session.global_of_output()
        assert contrast.output_names == ["3 \N{MINUS SIGN} 1"]
        np.testing.assert_allclose(
            contrast.values_at(position), own - session.global_explanation().values[:, :, 0]
        )
    w.close()


def test_numbers_an_integer_column_of_x_cannot_hold_are_refused():
    """X's uint8 column: 300 reached the model as 255 and 2.5 as 2, with the views showing
    the numbers given; refused before any work (pandas) or as the part's failure (Dask)."""
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"a": rng.normal(size=60), "u": rng.integers(0, 200, 60).astype(np.uint8)})

    def model(frame):
        return frame["a"].to_numpy(dtype=float) + np.asarray(frame["u"], dtype=float)

    session = ExplanationSession(model, X, explainers=("shap",))
    rows = pd.DataFrame({"a": rng.normal(size=40), "u": np.arange(40, dtype=np.int64)})
    explain_global_data(session, rows, progress=lambda *_: None)  # whole and in range
    with pytest.raises(ValueError, match=r"numbers in 'u' \(1 cell\) that X's integer dtypes"):
        explain_global_data(session, rows.assign(u=rows["u"].where(rows.index > 0, 300)))
    with pytest.raises(ValueError, match=r"fractions in 'u' \(40 cells\), whole numbers in X"):
        explain_global_data(session, rows.assign(u=rows["u"] + 0.5))
    dd = pytest.importorskip("dask.dataframe")
    parts = dd.from_pandas(rows.assign(u=rows["u"] + 0.5), npartitions=2)
    with pytest.raises(RuntimeError, match="global_data's part 0 has fractions in 'u'"):
        explain_global_data(session, parts, client=False, progress=lambda *_: None)
    session.close()


def test_parts_unlike_their_dask_frame_fail_naming_the_part_and_keep_row_numbers(gbc_session):
    """A middle part fails (text in a number column, a column missing, an infinite value):
    the sample's row numbers stay global_data's own (they shifted past the failed part)."""
    dask = pytest.importorskip("dask")
    dd = pytest.importorskip("dask.dataframe")
    session, data = gbc_session
    data = data.iloc[:600].reset_index(drop=True)
    first, last = data.iloc[:200], data.iloc[400:]
    as_text = data.iloc[200:400].astype({"x1": object})
    as_text.loc[250, "x1"] = "oops"
    broken = {
        "holds 'oops' \\(in 1 row\\) where X holds numbers": as_text,
        "lacks columns of X: \\['x3'\\]": data.iloc[200:400].drop(columns="x3"),
    }
    for message, middle in broken.items():
        parts = [dask.delayed(lambda p=p: p)() for p in (first, middle, last)]
        frame = dd.from_delayed(parts, meta=data.iloc[:0], verify_meta=False)
        with pytest.warns(RuntimeWarning, match=r"covers 400 rows \(1 of 3 parts failed\)"):
            found = explain_global_data(
                session, frame, client=False, progress=lambda *_: None, sample_rows=400
            )
        (failure,) = found.summary.failures
        assert failure.part == 1 and re.search(f"global_data's part 1.*{message}", failure.text())
        assert found.summary.rows_numbered_by_data
        assert set(found.rows) == set(range(200)) | set(range(400, 600))
        X_rows = session.schema.encode(data.iloc[found.rows])
        assert np.allclose(found.encoded, X_rows, equal_nan=True)


def test_a_dask_frame_with_integer_column_labels_is_read_like_a_pandas_one():
    dd = pytest.importorskip("dask.dataframe")
    X, y = classification_data(800)
    X.columns = range(6)
    model = GradientBoostingClassifier(n_estimators=10, random_state=0).fit(X, y)
    session = ExplanationSession(model, X.iloc[:200])
    data = X.iloc[200:].reset_index(drop=True)
    by_pandas = explain_global_data(session, data, client=False, progress=lambda *_: None)
    by_dask = explain_global_data(
        session, dd.from_pandas(data, npartitions=3), client=False, progress=lambda *_: None
    )
    assert np.allclose(by_pandas.summary.mean_abs_shap, by_dask.summary.mean_abs_shap)
    # Its results name the features by X's own labels, as X does (not '0', '1', ...).
    assert sorted(by_dask.importance().index) == list(range(6))
    assert by_pandas.to_shap().feature_names == list(range(6))


def test_a_fresh_session_runs_the_algorithm_its_panel_settles_on():
    """HistGradientBoosting on its own categories: shap's TreeSHAP cannot read them, so the
    first rows explained move the panel to permutation SHAP; a global pass started before
    any view failed every part ("the panel TreeSHAP")."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"num": rng.normal(size=400), "cat": pd.Categorical(rng.choice(list("abcd"), 400))}
    )
    y = ((X["num"] > 0) ^ X["cat"].isin(["a", "b"])).astype(int)
    model = HistGradientBoostingClassifier(max_iter=10, categorical_features="from_dtype")
    session = ExplanationSession(model.fit(X, y), X.iloc[:100])
    found = explain_global_data(session, X.iloc[100:160], client=False, progress=lambda *_: None)
    assert found.summary.n_rows == 60 and not found.summary.failures
    assert found.algorithm == session.shap_explainer.description


def test_frames_of_other_kinds_are_refused_naming_their_type_and_the_conversion(gbc_session):
    """A dask Array or Series passed for a Dask DataFrame (both have partitions) failed with
    "'Array' object has no attribute 'columns'" or "'Float64DType' object is not iterable",
    and a polars DataFrame was refused as "not DataFrame"."""
    da = pytest.importorskip("dask.array")
    dd = pytest.importorskip("dask.dataframe")
    pl = pytest.importorskip("polars")
    session, data = gbc_session
    rows = data.iloc[:200]
    refused = "global_data must be a pandas DataFrame, a Dask DataFrame or the path"
    cases = {
        r"not a dask Array \(dask\.array\..*\.Array\): .*dd\.from_dask_array\(array, "
        r"columns=list\(X\.columns\)\)": da.from_array(rows.to_numpy(), chunks=50),
        r"not a dask Series \(dask\..*\.Series\): a Series is one column.*to_frame\(\)": (
            dd.from_pandas(rows["x0"], npartitions=2)
        ),
        r"not a pandas Series \(pandas\.[\w.]*Series\): a Series is one column": rows["x0"],
        r"not a polars DataFrame \(polars\..*\.DataFrame\): convert it with frame\.to_pandas"
        r"\(\).*write_parquet\(path\)": pl.from_pandas(rows),
        r"not a polars LazyFrame \(polars\..*\.LazyFrame\): .*\.collect\(\)\.to_pandas\(\)": (
            pl.from_pandas(rows).lazy()
        ),
        r"not a numpy ndarray \(numpy\.ndarray\): .*pd\.DataFrame\(array, columns=": (
            rows.to_numpy()
        ),
    }
    for message, value in cases.items():
        with pytest.raises(TypeError, match=refused + ".*" + message):
            explain_global_data(session, value, client=False, progress=lambda *_: None)
        with pytest.raises(TypeError, match=message):  # the widget says so at the call
            explain_widget(session.adapter.model, data.iloc[:100], global_data=value)
    # A Dask DataFrame still is one.
    found = explain_global_data(
        session, dd.from_pandas(rows, npartitions=2), client=False, progress=lambda *_: None
    )
    assert found.summary.n_rows == 200


def test_every_parquet_files_types_are_checked_at_the_call(tmp_path):
    """Dask takes the types of the first file only: a later file with text in a number
    column failed as its part after the others' work, and one with a category's codes was
    explained as categories X lacks; both are refused at the call, naming the file."""
    dd = pytest.importorskip("dask.dataframe")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "size": rng.normal(size=900),
            "rooms": rng.integers(1, 6, size=900),
            "city": pd.Categorical(rng.choice(["Lyon", "Nice"], 900)),
        }
    )
    X.loc[0, "size"] = np.nan  # X has a missing size, so a file may hold a column of nulls
    y = (X["size"] + (X["city"] == "Nice") > 0.5).astype(int)
    model = lightgbm.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1).fit(X, y)
    session = ExplanationSession(model, X.iloc[:300], explainers=("shap",))
    rows = [X.iloc[300 + 150 * i : 450 + 150 * i] for i in range(4)]
    bad = {
        "text": rows[3].assign(size="n/a"),
        "codes": rows[3].assign(city=rows[3]["city"].cat.codes),
    }
    refused = {
        "text": r"Column 'size' holds string values in the Parquet file '.*part-3\.parquet' of "
        r"global_data but numbers in X: .* Write that file again so \(4 files read\), or leave "
        "it out of the paths.",
        "codes": r"Column 'city' holds numbers \(int8\) in the Parquet file '.*part-3\.parquet' "
        r"of global_data but the categories \['Lyon', 'Nice'\] in X: .*from_codes.* Write that "
        "file again so",
    }
    calls = []
    for case, last in bad.items():
        folder = tmp_path / case
        folder.mkdir()
        for i, part in enumerate([*rows[:3], last]):
            part.to_parquet(folder / f"part-{i}.parquet")
        with pytest.raises(ValueError, match=refused[case]):
            explain_global_data(
                session, str(folder), client=False, progress=lambda *a: calls.append(a)
            )
        with pytest.raises(ValueError, match=refused[case]):
            explain_widget(model, X.iloc[:300], global_data=f"{folder}/*.parquet")
    assert calls == []  # nothing started
    # What X's rules accept in a later file as in the first: floats for ints, text or other
    # categories for categories, a column of nulls only.
    folder = tmp_path / "alike"
    folder.mkdir()
    later = [
        rows[1].assign(rooms=rows[1]["rooms"].astype(float)),
        rows[2].assign(city=rows[2]["city"].astype(str)),
        rows[3].assign(size=None),
    ]
    for i, part in enumerate([rows[0], *later]):
        part.to_parquet(folder / f"part-{i}.parquet")
    found = explain_global_data(session, str(folder), client=False, progress=lambda *_: None)
    assert found.summary.n_rows == 600 and not found.summary.failures
    assert found.summary.unseen_categories == {}
    assert dd.read_parquet(str(folder)).npartitions == 4


def test_the_sample_is_the_same_rows_whatever_the_partitioning(gbc_session, tmp_path):
    """Each row's key came from (random_state, part number): a pandas frame cut into other
    parts (10,000 rows in process, 50,000 on a cluster), or a Dask frame of other
    npartitions, drew other rows with the same random_state."""
    dd = pytest.importorskip("dask.dataframe")
    session, data = gbc_session
    data = data.iloc[:1200]
    quiet = {"client": False, "progress": lambda *_: None, "sample_rows": 60}
    first = explain_global_data(session, data, partition_rows=1000, **quiet)
    data.to_parquet(tmp_path / "data.parquet")  # its index is kept
    for other in (
        explain_global_data(session, data, partition_rows=170, **quiet),
        explain_global_data(session, dd.from_pandas(data, npartitions=3), **quiet),
        explain_global_data(session, dd.from_pandas(data, npartitions=7), **quiet),
        explain_global_data(session, str(tmp_path / "data.parquet"), **quiet),
    ):
        np.testing.assert_array_equal(other.rows, first.rows)
        np.testing.assert_allclose(other.values, first.values, rtol=1e-12, atol=1e-15)
    assert len(set(first.rows)) == 60
    # Another random_state, other rows.
    session.random_state = 1
    try:
        again = explain_global_data(session, data, partition_rows=1000, **quiet)
    finally:
        session.random_state = 0
    assert len(set(again.rows) & set(first.rows)) < 20


@pytest.mark.parametrize(
    "case", ["distinct rows", "one row repeated", "repeated rows and index labels"]
)
def test_the_samples_keys_pick_every_row_alike(case):
    """Keys from the rows themselves (not the part's number): over many random_states each
    row is drawn as often as the others, repeated rows too (a repeat takes its own key)."""
    import dataclasses

    from optiml_widgets.global_data import PartitionWork, make_plan

    n, k, seeds = 200, 20, 1500
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=n), "c": pd.Categorical(rng.choice(list("xy"), n))})
    model = lambda frame: frame["a"].to_numpy() + (frame["c"] == "x").to_numpy()  # noqa: E731
    session = ExplanationSession(model, X, explainers=("shap",), task="regression")
    frame = {
        "distinct rows": X,
        "one row repeated": X.iloc[[0] * n].reset_index(drop=True),
        "repeated rows and index labels": X.iloc[[0, 1] * (n // 2)].set_axis([0] * n),
    }[case]
    plan = make_plan(session, outputs=None, sample_rows=k, random_state=0)
    drawn = np.zeros(n)
    for seed in range(seeds):
        seeded = dataclasses.replace(plan, random_state=seed)
        work = PartitionWork(seeded, session.schema, session.adapter, None, None)
        keys = work._sample_keys(frame.reset_index(drop=True), frame.index, 10_000)
        drawn[np.argsort(keys)[:k]] += 1
    p = k / n
    # Each row's draws are Binomial(seeds, p): their standardised squares sum to about n.
    statistic = (((drawn - seeds * p) ** 2) / (seeds * p * (1 - p))).sum()
    assert abs(statistic - n) < 5 * np.sqrt(2 * n), statistic
    assert drawn.min() > 0
    session.close()


def test_rows_whose_values_do_not_add_up_are_reported(lgbm_session, monkeypatch):
    """The largest additivity error over every row was computed, and nothing read it: the
    README says the global views' rows are checked as the panel's exact views are."""
    from optiml_widgets.partition_shap import NativeContributions

    session, X = lgbm_session
    data = X.iloc[:3000]
    quiet = {"algorithm": "native", "client": False, "progress": lambda *_: None}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exact values: nothing to say
        exact = explain_global_data(session, data, **quiet).summary
    assert exact.non_additive_rows == 0 and exact.additivity_text is None
    assert "add up" not in exact.text()
    own = NativeContributions.__call__

    def off_on_some_rows(self, model_input, encoded, outputs):
        values, base, expected = own(self, model_input, encoded, outputs)
        values = values.copy()
        values[encoded[:, 0] > 1.5, 2, :] += 0.01  # x2's value, where x0 > 1.5
        return values, base, expected

    monkeypatch.setattr(NativeContributions, "__call__", off_on_some_rows)
    off = int((data["x0"] > 1.5).sum())
    said = rf"SHAP values that do not add up on {off:,} of 3,000 rows: .* by up to 0\.01 "
    with pytest.warns(RuntimeWarning, match="The global explanation has " + said) as caught:
        summary = explain_global_data(session, data, **quiet).summary
    assert {w.filename for w in caught} == {__file__}  # at the line that asked
    assert 0 < summary.non_additive_rows == off
    assert summary.non_additive_gap == pytest.approx(0.01)
    assert re.search(said + r"\(TreeSHAP .*\), more than exact values may", summary.text())


def test_missing_values_where_x_has_none_are_refused_naming_the_column_and_rows():
    """One NaN in a column X has none in reached the model: its part failed with the
    model's own error after the work (every row of the part lost), and a model that takes
    NaN answered for a bool column given as 0/1 floats with NaN. Refused at the call for a
    pandas frame, as the part's failure naming it for Dask; X's own missing values pass."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.integers(0, 5, 300)})
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, X["a"] + X["b"] > 2)
    session = ExplanationSession(model, X, explainers=("shap",))
    rows = pd.DataFrame({"a": rng.normal(size=3000), "b": rng.integers(0, 5, 3000)})
    broken = rows.assign(a=rows["a"].where(rows.index != 3), b=rows["b"].astype("Int64"))
    broken.loc[[7, 8], "b"] = pd.NA
    message = (
        r"global_data has missing values \(NaN, None or NA\) in 3 rows, in columns where X "
        r"has none: 'a' \(1 row\), 'b' \(2 rows\).*dropna\(subset=\['a', 'b'\]\)"
    )
    with pytest.raises(ValueError, match=message):
        explain_global_data(session, broken, progress=lambda *_: None)
    with pytest.raises(ValueError, match="global_data has missing values"):
        explain_widget(model, X, global_data=broken, explainers=("shap",))
    dd = pytest.importorskip("dask.dataframe")
    parts = dd.from_pandas(broken, npartitions=3)
    with pytest.warns(RuntimeWarning, match=r"covers 2,000 rows \(1 of 3 parts failed\)"):
        found = explain_global_data(session, parts, client=False, progress=lambda *_: None)
    (failure,) = found.summary.failures
    assert failure.part == 0
    assert "global_data's part 0 has missing values (NaN, None or NA) in 3 rows" in failure.text()
    assert "Input X contains NaN" not in failure.text()
    session.close()

    # A bool column of X read as 0/1 floats with NaN: a model that takes NaN answered.
    flags = pd.DataFrame({"a": rng.normal(size=300), "f": rng.random(300) < 0.5})

    def score(frame):
        a = np.nan_to_num(frame["a"].to_numpy(dtype=float))
        return a + 2 * frame["f"].to_numpy(dtype=float)

    session = ExplanationSession(score, flags, explainers=("shap",))
    as_floats = pd.DataFrame({"a": rng.normal(size=2000), "f": (rng.random(2000) < 0.5) * 1.0})
    as_floats.loc[5, "f"] = np.nan
    with pytest.raises(ValueError, match=r"in 1 row, in columns where X has none: 'f' \(1 row\)"):
        explain_global_data(session, as_floats, progress=lambda *_: None)
    with pytest.raises(RuntimeError, match="global_data's part 0 has missing values"):
        explain_global_data(
            session, dd.from_pandas(as_floats, npartitions=1), client=False,
            progress=lambda *_: None,
        )  # fmt: skip
    session.close()
    # Where X has missing values, global_data may too.
    with_missing = flags.assign(a=flags["a"].where(flags.index % 10 > 0))
    session = ExplanationSession(score, with_missing, explainers=("shap",))
    found = explain_global_data(
        session, as_floats.fillna({"f": 0.0}).assign(a=np.nan), progress=lambda *_: None
    )
    assert found.total_rows == 2000
    session.close()


def test_feature_quantiles_stay_accurate_where_global_data_goes_past_x():
    """The sketch's cells were X's quantiles only: every row past X's range fell into one
    cell, read off a straight line to global_data's extreme (a median of 117.85 for 4.47).
    Past X's range the cells grow geometrically: within 1% of the distance past X's edge,
    the same for any partitioning."""
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(0, 1, 500), "b": rng.normal(0, 1, 500)})
    model = LinearRegression().fit(X, X["a"] + X["b"])
    session = ExplanationSession(model, X, explainers=("shap",))
    rows = pd.DataFrame({"a": rng.lognormal(1.5, 1.0, 4000), "b": -rng.lognormal(1.5, 1.0, 4000)})
    found = explain_global_data(session, rows, progress=lambda *_: None).summary.features
    for feature, edge in zip(found, (X["a"].max(), X["b"].min())):
        column = rows[feature.name].to_numpy()
        for level, value in feature.quantiles:
            exact = np.quantile(column, level)
            assert abs(value - exact) <= 0.01 * abs(exact - edge) + 1e-9, (feature.name, level)
    dd = pytest.importorskip("dask.dataframe")
    by_parts = explain_global_data(
        session, dd.from_pandas(rows, npartitions=3), client=False, progress=lambda *_: None
    ).summary.features
    assert [f.quantiles for f in by_parts] == [f.quantiles for f in found]
    session.close()
