"""The global views: global SHAP (numbers, sample, cache, progress) and the Altair charts."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import pytest
import shap
from conftest import breast_cancer, case, city_data
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier

from optiml_widgets import ExplanationSession, explain_widget
from optiml_widgets.charts import charts_payload


def fresh(name: str, **kwargs) -> ExplanationSession:
    c = case(name)
    return ExplanationSession(c.model, c.X, c.y, **kwargs)


def dataset_of(chart: alt.TopLevelMixin) -> list[dict]:
    spec = chart.to_dict()
    (values,) = spec["datasets"].values()
    return values


@pytest.mark.parametrize(
    "name", ["gbc_breast_cancer", "rf_diabetes", "rf_wine_multiclass", "onehot_pipeline"]
)
def test_every_chart_is_valid_vega_lite(name):
    session = fresh(name, global_rows=120)
    charts = session.global_charts()
    assert set(charts) == {"importance", "beeswarm", "dependence", "fidelity"}
    for chart in charts.values():
        spec = chart.to_dict()  # Altair validates against the Vega-Lite schema
        assert spec["$schema"].endswith(f"v{alt.SCHEMA_VERSION.lstrip('v')}.json")
    assert json.dumps(charts_payload(charts), allow_nan=False)  # strict JSON: no NaN


def test_mean_abs_shap_matches_shaps_own_tree_explainer():
    session = fresh("gbc_breast_cancer")
    explanation = session.global_explanation()
    X, _ = breast_cancer()
    assert not explanation.sampled and len(explanation.rows) == len(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = shap.TreeExplainer(
            case("gbc_breast_cancer").model,
            data=session.background,
            model_output="probability",
            feature_perturbation="interventional",
        ).shap_values(X.to_numpy())
    own_importance = np.abs(np.asarray(own)).mean(axis=0)  # P(class 1)
    target = session.target_index
    bars = dataset_of(session.global_charts()["importance"])
    for bar in bars:
        assert bar["importance"] == pytest.approx(own_importance[bar["k"]], rel=1e-9, abs=1e-12)
        assert bar["feature"] == X.columns[bar["k"]]
    assert [b["importance"] for b in bars] == sorted((b["importance"] for b in bars), reverse=True)
    assert explanation.importance(target).iloc[0] == pytest.approx(own_importance.max())


def test_a_large_x_is_sampled_and_the_charts_say_so():
    session = fresh("gbc_breast_cancer", global_rows=100)
    seen = []
    explanation = session.global_job(on_progress=lambda done, total: seen.append((done, total)))
    explanation = explanation.result(timeout=120)
    assert explanation.sampled and len(explanation.rows) == 100
    assert len(set(explanation.rows)) == 100 and explanation.rows.max() < session.n_rows
    assert seen[0] == (0, 100) and seen[-1] == (100, 100)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    text = "a random sample of 100 of 569 rows"
    assert explanation.sample_text == text
    for name, chart in session.global_charts().items():
        if name != "fidelity":
            assert text in json.dumps(chart.to_dict()["title"]), name
    # Same seed, same sample; computed once and cached.
    assert session.global_explanation() is explanation
    again = fresh("gbc_breast_cancer", global_rows=100).global_explanation()
    np.testing.assert_array_equal(again.rows, explanation.rows)


def test_a_selected_point_shows_the_same_shap_values_as_the_chart():
    # Permutation SHAP (a Pipeline): global values are computed per row as the panel does.
    session = fresh("logistic_pipeline", global_rows=6)
    explanation = session.global_explanation()
    row, k = int(explanation.rows[3]), 3
    seeded = session.local_explanation(row, {})
    expected = fresh("logistic_pipeline").local_explanation(row, {})
    target = session.target_index
    np.testing.assert_allclose(list(seeded.shap.values()), explanation.values[k, :, target])
    np.testing.assert_allclose(list(seeded.shap.values()), list(expected.shap.values()))


def test_the_dependence_plot_marks_the_instance_and_the_surrogate_thresholds():
    w = explain_widget(*_gbc(), global_rows=80)
    w.feature = "worst radius"
    w.set_features({"worst radius": 20.0})
    spec = w.charts["dependence"].to_dict()
    params = {p["name"]: p["value"] for p in spec["params"]}
    j = w.session.schema.names.index("worst radius")
    assert params["feature"] == j
    assert params["current_x"] == 20.0
    assert params["current_y"] == pytest.approx(w.explanation.shap["worst radius"])
    cuts = next(v for v in spec["datasets"].values() if v and set(v[0]) == {"k", "t"})
    thresholds = w.surrogate.thresholds()
    expected = {(w.session.schema.names.index(n), t) for n, ts in thresholds.items() for t in ts}
    assert {(c["k"], c["t"]) for c in cuts} == expected
    with pytest.raises(KeyError, match="Unknown feature"):
        w.feature = "no such feature"


def test_the_fidelity_chart_is_the_surrogates_curve():
    session = fresh("rf_diabetes", global_rows=50)
    spec = session.global_charts()["fidelity"].to_dict()
    values = list(spec["datasets"].values())
    curve = next(v for v in values if len(v) == len(session.surrogate.curve))
    assert [p["fidelity"] for p in curve] == [p["fidelity"] for p in session.surrogate.curve]
    chosen = next(v for v in values if len(v) == 1)[0]
    assert chosen["rules"] == session.surrogate.complexity
    assert chosen["fidelity"] == session.surrogate.fidelity


def test_without_data_no_feature_values_travel():
    session = fresh("gbc_breast_cancer", global_rows=30)
    charts = session.global_charts(include_values=False)
    assert "dependence" not in charts
    payload = charts_payload(charts)
    rows = next(v for v in payload["datasets"].values() if v and "row" in v[0])
    assert set(rows[0]) == {"row", "s"}


def test_hostile_feature_names_are_data_not_fields():
    X, y = city_data(200)
    X.columns = ["<img src=x onerror=alert(1)>", "a.b[0]", 'say "hi"', "debt\\n", "city"]
    model = clone(case("onehot_pipeline").model).fit(X, y)
    session = ExplanationSession(model, X, y, global_rows=20)
    charts = session.global_charts(feature="a.b[0]")
    for chart in charts.values():
        text = json.dumps(chart.to_dict())
        assert '"field": "a.b[0]"' not in text  # names never become field names
    bars = dataset_of(charts["importance"])
    assert {b["feature"] for b in bars} <= set(X.columns)


def test_the_widget_computes_the_global_views_in_the_background():
    w = explain_widget(*_gbc(), global_rows=150)
    states = []
    w.observe(lambda change: states.append(change["new"]["state"]), names="_global")
    w._on_frontend_message(w, {"type": "global"}, [])
    w._global_thread.join(60)
    assert states[0] == "running" and states[-1] == "ready"
    payload = w._global
    assert set(payload["specs"]) == {"importance", "beeswarm", "dependence", "fidelity"}
    # The rows' dataset travels once, shared by the beeswarm and the dependence plot.
    beeswarm, dependence = payload["specs"]["beeswarm"], payload["specs"]["dependence"]
    assert beeswarm["data"]["name"] == dependence["layer"][0]["data"]["name"]
    assert "datasets" not in beeswarm and beeswarm["data"]["name"] in payload["datasets"]
    assert "150 of 569 rows" in payload["message"]
    # Another target: the charts follow it.
    w.target = 0
    assert w._global["target"] == "0" and w._global["state"] == "ready"


def test_the_chart_engine_is_sent_when_asked_for():
    w = explain_widget(*_gbc(), explainers=("shap",), global_rows=10)
    sent = []
    w.send = lambda content, buffers=None: sent.append((content, buffers))
    w._on_frontend_message(w, {"type": "charts-engine"}, [])
    ((content, buffers),) = sent
    assert content == {"type": "charts-engine"}
    assert b"vega" in buffers[0][:200_000] and len(buffers[0]) > 300_000
    assert set(w.charts) == {"importance", "beeswarm", "dependence"}  # no surrogate: no curve


def test_global_views_need_shap_and_a_valid_sample_size():
    X, _ = breast_cancer()
    model = case("gbc_breast_cancer").model
    with pytest.raises(ValueError, match="global_rows must be at least 1"):
        explain_widget(model, X, global_rows=0)
    with pytest.raises(TypeError, match="global_rows must be an int"):
        explain_widget(model, X, global_rows=10.5)
    w = explain_widget(model, X, explainers=("lime",))
    with pytest.raises(ValueError, match='"shap" in explainers'):
        w.charts  # noqa: B018


def test_shap_explanation_of_the_global_values():
    session = fresh("rf_diabetes", global_rows=40)
    explanation = session.global_explanation()
    exp = explanation.to_shap(0, session.frame.iloc[explanation.rows])
    assert exp.values.shape == (40, session.frame.shape[1])
    assert isinstance(explanation.importance(0), pd.Series)
    totals = exp.base_values + exp.values.sum(axis=1)
    outputs = session.adapter.predict(session.frame.iloc[explanation.rows])[:, 0]
    np.testing.assert_allclose(totals, outputs, rtol=1e-6)


def _gbc():
    c = case("gbc_breast_cancer")
    return c.model, c.X, c.y


FRONTEND_FIXTURE = Path(__file__).resolve().parents[1] / "js" / "test" / "global.json"


def frontend_fixture() -> dict:
    """The payload js/test/vega.test.ts draws with the real chart engine."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 4)), columns=["f0", "f1", "f2", "f3"])
    y = (X.f0 + X.f1 > 0).astype(int)
    model = RandomForestClassifier(10, max_depth=3, random_state=0).fit(X, y)
    session = ExplanationSession(model, X, y, class_names=["no", "yes"])
    session.global_explanation()
    payload = charts_payload(session.global_charts())
    return {
        **payload,
        "state": "ready",
        "done": 40,
        "total": 40,
        "message": "SHAP values of all 40 rows",
        "target": "yes",
    }


def _shape(spec):
    """A spec without its numbers and texts: what must match between Python and the fixture."""
    if isinstance(spec, dict):
        skip = {"datasets", "title", "sort", "value", "subtitle", "name"}
        return {k: _shape(v) for k, v in spec.items() if k not in skip}
    if isinstance(spec, list):
        return [_shape(v) for v in spec]
    return spec


def test_the_frontend_fixture_has_the_specs_python_builds():
    fresh_payload = frontend_fixture()
    if os.environ.get("OPTIML_UPDATE_FIXTURE"):
        FRONTEND_FIXTURE.write_text(json.dumps(fresh_payload, separators=(",", ":")))
    stored = json.loads(FRONTEND_FIXTURE.read_text())
    assert _shape(stored["specs"]) == _shape(fresh_payload["specs"]), (
        "js/test/global.json is stale: rerun this test with OPTIML_UPDATE_FIXTURE=1"
    )
