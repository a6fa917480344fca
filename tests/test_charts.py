"""The global views: global SHAP (numbers, sample, cache, progress) and the Altair charts."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
import warnings
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd
import pytest
import shap
from conftest import breast_cancer, case, city_data
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier

from optiml_widgets import ExplanationSession, GlobalExplanation, explain_widget
from optiml_widgets.charts import (
    CHART_FEATURES,
    TITLE_NAME_CHARS,
    _round_columns,
    charts_payload,
    fidelity_chart,
    global_charts,
    middle_cut,
)
from optiml_widgets.data import build_schema
from optiml_widgets.format import exact_number
from optiml_widgets.global_data import explain_global_data
from optiml_widgets.global_explanation import global_rows


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
            assert text in " ".join(chart.to_dict()["title"]["subtitle"]), name
    # Same seed, same sample; computed once and cached.
    assert session.global_explanation() is explanation
    again = fresh("gbc_breast_cancer", global_rows=100).global_explanation()
    np.testing.assert_array_equal(again.rows, explanation.rows)


def test_the_scatter_charts_say_how_many_points_they_draw():
    # The frontend draws a chart of more than CANVAS_MARKS points (js/src/charts.ts) on a
    # canvas; the count is each chart's usermeta.
    session = fresh("gbc_breast_cancer", global_rows=100)
    charts = session.global_charts()
    shown = 12  # the beeswarm's features (breast_cancer has 30)
    assert charts["beeswarm"].to_dict()["usermeta"] == {"marks": 100 * shown}
    assert charts["dependence"].to_dict()["usermeta"] == {"marks": 100}
    assert "usermeta" not in charts["importance"].to_dict()


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


def test_the_dependence_plot_leaves_out_rows_missing_the_feature():
    """A missing value has no place on the x axis: drawn, it sat at 0 (null + 0 in Vega)."""
    X, y = breast_cancer()
    X = X.iloc[:, :4].copy()
    X.iloc[::7, 0] = np.nan
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(X, y)
    w = explain_widget(model, X, explainers=("shap",))
    spec = json.dumps(w.charts["dependence"].to_dict())
    assert "isValid(datum.v[datum.slot]) && isFinite(datum.v[datum.slot])" in spec
    w.close()


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
    cuts = next(v for v in spec["datasets"].values() if v and set(v[0]) == {"k", "t", "text"})
    thresholds = w.surrogate.thresholds()
    expected = {(w.session.schema.names.index(n), t) for n, ts in thresholds.items() for t in ts}
    assert {(c["k"], c["t"]) for c in cuts} == expected
    with pytest.raises(KeyError, match="Unknown feature"):
        w.feature = "no such feature"


def test_a_threshold_tooltip_says_the_cut_as_the_rule_writes_it():
    # A cut at 0.300003 among values 1e-7 apart: 4 significant digits ("0.3") named a
    # value on the other side of it.
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"tiny": 0.3 + rng.integers(0, 60, 400) * 1e-7, "x": rng.normal(size=400)})
    y = (X.tiny > 0.300003).astype(int)
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y)
    w = explain_widget(model, X, explainers=("shap", "surrogate"), global_rows=80)
    w.feature = "tiny"
    spec = w.charts["dependence"].to_dict()
    cuts = next(v for v in spec["datasets"].values() if v and set(v[0]) == {"k", "t", "text"})
    tiny = [c for c in cuts if c["k"] == 0]
    assert tiny, "the surrogate cuts on tiny"
    rule_text = w.surrogate.text()
    for cut in tiny:
        assert cut["text"] == exact_number(cut["t"]) and f"tiny > {cut['text']}" in rule_text
    tooltips = [
        layer["encoding"]["tooltip"]
        for layer in spec["layer"]
        if "surrogate threshold" in json.dumps(layer.get("encoding", {}).get("tooltip"))
    ]
    # The text itself, not the number through a rounding format.
    assert tooltips == [[{"field": "text", "type": "nominal", "title": "surrogate threshold"}]]
    w.close()


def test_the_fidelity_chart_is_the_surrogates_curve():
    session = fresh("rf_diabetes", global_rows=50)
    spec = session.global_charts()["fidelity"].to_dict()
    values = list(spec["datasets"].values())
    curve = next(v for v in values if len(v) == len(session.surrogate.curve))
    by_point = {(p["family"], p["rules"]): p["fidelity"] for p in session.surrogate.curve}
    assert {(p["family"], p["rules"]): p["fidelity"] for p in curve} == by_point
    # The frontier's points come last: drawn on top where points coincide.
    assert [p["frontier"] for p in curve] == sorted(p["frontier"] for p in curve)
    # The ring: the curve's point whose rules are shown, picked by two parameters the
    # panel moves when another size is shown.
    params = {p["name"]: p["value"] for p in spec["params"]}
    surrogate = session.surrogate
    assert params == {"shown_rules": surrogate.complexity, "shown_family": surrogate.family}
    ring = next(layer for layer in spec["layer"] if "transform" in layer)
    assert ring["transform"] == [
        {"filter": "datum.rules == shown_rules && datum.family == shown_family"}
    ]
    (shown,) = [
        p for p in curve if (p["rules"], p["family"]) == (surrogate.complexity, surrogate.family)
    ]
    assert shown["fidelity"] == surrogate.fidelity
    # The line: per size the point cross-validation rates best, where it beats every
    # smaller size; it has no family, so a click picks the family of a point, not of it.
    (line,) = [v for v in values if set(v[0]) == {"rules", "fidelity"}]
    frontier = sorted((p for p in surrogate.curve if p["frontier"]), key=lambda p: p["rules"])
    assert line == [{"rules": p["rules"], "fidelity": p["fidelity"]} for p in frontier]
    assert len(frontier) >= 2


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
    w.session.jobs.get("global").result(timeout=60)
    # The charts follow the job in the widget's own thread. Its observers hear of a state
    # after the trait holds it: wait for what they heard.
    deadline = time.monotonic() + 60
    while (not states or states[-1] != "ready") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert states[0] == "running" and states[-1] == "ready" and w._global["state"] == "ready"
    payload = w._global
    assert set(payload["specs"]) == {"importance", "beeswarm", "dependence", "fidelity"}
    # The rows' dataset travels once, shared by the beeswarm and the dependence plot.
    beeswarm, dependence = payload["specs"]["beeswarm"], payload["specs"]["dependence"]
    assert beeswarm["data"]["name"] == dependence["layer"][0]["data"]["name"]
    assert "datasets" not in beeswarm and beeswarm["data"]["name"] in payload["datasets"]
    assert "150 of 569 rows" in payload["message"]
    # Another target: the charts follow it (after the view, in the background).
    w.target = 0
    deadline = time.monotonic() + 60
    while w._global["target"] != "0" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert w._global["target"] == "0" and w._global["state"] == "ready"


def _plotted(payload: dict) -> str:
    """The name of the feature a global views' payload draws the dependence plot of."""
    params = {p["name"]: p["value"] for p in payload["specs"]["dependence"]["params"]}
    return params["names"][params["feature"]]


def test_w_feature_names_the_feature_the_dependence_plot_shows():
    """The plot's default (the most important feature) was chosen in the charts and never
    written back: w.feature read None while the panel showed "Dependence: worst area"."""
    w = explain_widget(*_gbc(), global_rows=150)
    try:
        assert w.feature is None  # no global SHAP yet: no plot, no feature
        w._on_frontend_message(w, {"type": "global"}, [])
        deadline = time.monotonic() + 60
        while (w._global or {}).get("state") != "ready" and time.monotonic() < deadline:
            time.sleep(0.05)
        top = w.global_explanation.importance().index[0]
        assert w.feature == top == _plotted(w._global)
        # Set, it is shown; set back to None, the default again (and written again).
        w.feature = "mean texture"
        assert w.feature == "mean texture"
        spec = w.charts["dependence"].to_dict()
        assert _plotted({"specs": {"dependence": spec}}) == "mean texture"
        w.feature = None
        while w.feature is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert w.feature == top
    finally:
        w.close()
    # From code alone (no panel): the charts, the export and the explanation say it too.
    for read in ("charts", "to_html", "global_explanation"):
        w = explain_widget(*_gbc(), global_rows=150)
        try:
            assert w.feature is None
            if read == "charts":
                spec = w.charts["dependence"].to_dict()
                assert _plotted({"specs": {"dependence": spec}}) == top
            elif read == "to_html":
                page = w.to_html(rows=[0])
                found = re.search(r'id="optiml-data">(.*?)</script>', page, re.S)
                data = json.loads(found.group(1) if found else "{}")
                assert data["feature"] == top == _plotted(data["global"])
            else:
                w.global_explanation  # noqa: B018
            assert w.feature == top
        finally:
            w.close()


def _carried(payload: dict) -> list[int]:
    params = payload["specs"]["dependence"]["params"]
    return next(p["value"] for p in params if p["name"] == "carried")


def test_a_feature_the_charts_do_not_carry_comes_when_selected():
    """Many features: the charts carry the most important ones' values; selecting another
    (a click in the panel syncs ``feature``) sends the charts again with its values."""
    X, y = make_classification(300, 45, n_informative=4, random_state=0)
    X = pd.DataFrame(X, columns=[f"f{i}" for i in range(45)])
    w = explain_widget(RandomForestClassifier(20, random_state=0).fit(X, y), X, y)
    try:
        w._on_frontend_message(w, {"type": "global"}, [])
        deadline = time.monotonic() + 60
        while (w._global or {}).get("state") != "ready" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert w._global["state"] == "ready" and len(_carried(w._global)) == CHART_FEATURES
        first = w._global
        other = next(j for j in range(45) if j not in _carried(first))
        w.feature = f"f{other}"
        while other not in _carried(w._global) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert other in _carried(w._global)
        rows = w._global["datasets"][w._global["specs"]["beeswarm"]["data"]["name"]]
        assert all(len(r["s"]) == CHART_FEATURES + 1 for r in rows)
        # A carried feature changes no payload: the panel moves its charts' signal itself.
        shown = w._global
        w.feature = f"f{_carried(first)[0]}"
        time.sleep(0.3)
        assert w._global is shown
    finally:
        w.close()


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


def test_global_to_shap_data_is_read_as_the_explained_rows_and_columns():
    # X itself (all its rows, the sample explained 40 of them) and a frame with X's columns
    # in another order: each value sits beside its own row's and column's SHAP value.
    session = fresh("rf_diabetes", global_rows=40)
    explanation = session.global_explanation()
    X = session.frame
    own = X.iloc[explanation.rows].to_numpy()
    for data in (X, X.iloc[explanation.rows][X.columns[::-1]], X.to_numpy()):
        exp = explanation.to_shap(0, data)
        assert exp.data.shape == exp.values.shape
        np.testing.assert_array_equal(exp.data, own)
    with pytest.raises(ValueError, match="40 rows"):
        explanation.to_shap(0, X.iloc[:100])
    with pytest.raises(ValueError, match="columns"):
        explanation.to_shap(0, X.iloc[explanation.rows].drop(columns=X.columns[0]))


def test_a_points_tooltip_gives_xs_own_row_label_beside_its_position():
    # A shuffled index (after a train/test split): "row of X: 0" alone read as X.loc[0],
    # another row; the panel names it "row 0 of X · index 1002".
    X, y = breast_cancer()
    X = X.iloc[:60].set_axis(np.random.default_rng(0).permutation(60) + 1000)
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y.iloc[:60])
    session = ExplanationSession(model, X, explainers=("shap",))
    charts = session.global_charts()
    rows = next(v for v in charts["beeswarm"].to_dict()["datasets"].values() if "row" in v[0])
    assert [r["label"] for r in rows] == [str(X.index[r["row"]]) for r in rows]
    beeswarm = charts["beeswarm"].to_dict()["encoding"]["tooltip"]
    dependence = charts["dependence"].to_dict()["layer"][0]["encoding"]["tooltip"]
    for tooltip in (beeswarm, dependence):
        assert {"field": "label", "type": "nominal", "title": "index"} in tooltip
    # Without data (an export with include_data=False) no label travels: it can be an id.
    hidden = charts_payload(session.global_charts(include_values=False))
    assert "label" not in json.dumps(hidden["datasets"])
    session.close()


def _gbc():
    c = case("gbc_breast_cancer")
    return c.model, c.X, c.y


FRONTEND_FIXTURE = Path(__file__).resolve().parents[1] / "js" / "test" / "global.json"


def frontend_fixture() -> dict:
    """The payload js/test/vega.test.ts draws with the real chart engine."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 4)), columns=["f0", "f1", "f2", "f3"])
    X["f3"] = rng.integers(0, 4, 40)  # a category, by its codes
    y = (X.f0 + X.f1 > 0).astype(int)
    model = RandomForestClassifier(10, max_depth=3, random_state=0).fit(X, y)
    session = ExplanationSession(
        model, X, y, class_names=["no", "yes"], categorical_features=["f3"]
    )
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


def wide_explanation(features: int, rows: int = 1000):
    """Global SHAP values of ``features`` features whose importance falls with their position."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(rows, features)), columns=[f"f{i}" for i in range(features)])
    scale = np.linspace(1.0, 0.001, features)[None, :, None]
    explanation = GlobalExplanation(
        rows=np.arange(rows),
        values=rng.normal(size=(rows, features, 2)) * scale,
        base_values=np.zeros(2),
        encoded=X.to_numpy(),
        feature_names=list(X.columns),
        output_names=["no", "yes"],
        total_rows=rows,
        algorithm="TreeSHAP",
        seconds=0.0,
    )
    return explanation, build_schema(X)


def test_wide_data_specs_carry_the_top_features_and_say_so():
    explanation, schema = wide_explanation(1000)
    selected = 700  # not among the largest: it travels too
    charts = global_charts(explanation, schema, None, 1, feature=selected)
    payload = charts_payload(charts)
    assert len(json.dumps(payload)) < 500_000  # was 29.6 MB before the specs carried a subset
    top = list(explanation.importance(1).index[:CHART_FEATURES])
    carried = [explanation.feature_names.index(n) for n in top] + [selected]
    rows = next(v for v in payload["datasets"].values() if v and "row" in v[0])
    assert len(rows) == 1000 and all(len(r["s"]) == len(carried) for r in rows)
    assert rows[5]["s"][-1] == pytest.approx(explanation.values[5, selected, 1], rel=1e-3)
    for name in ("beeswarm", "dependence"):
        params = {p["name"]: p["value"] for p in payload["specs"][name]["params"]}
        assert params["carried"] == carried, name
    importance = json.dumps(payload["specs"]["importance"]["title"])
    assert "the 20 largest of 1,000 features" in importance
    assert "the 12 features with the largest mean |SHAP| of 1,000" in " ".join(
        payload["specs"]["beeswarm"]["title"]["subtitle"]
    )
    assert "not among the 21 features drawn" in json.dumps(payload["specs"]["dependence"]["title"])
    assert len(explanation.importance(1)) == 1000  # every feature stays available from Python


def test_up_to_30_features_every_feature_travels():
    explanation, schema = wide_explanation(30, rows=200)
    payload = charts_payload(global_charts(explanation, schema, None, 0, feature=3))
    rows = next(v for v in payload["datasets"].values() if v and "row" in v[0])
    assert all(len(r["s"]) == 30 for r in rows)
    assert "indexof(carried" not in json.dumps(payload["specs"]["dependence"]["title"])


def test_a_long_feature_name_is_cut_in_the_dependence_title_and_whole_in_its_tooltip():
    """A chart's title counts in its width: a long name in it would squeeze the plot."""
    explanation, schema = wide_explanation(3, rows=50)
    payload = charts_payload(global_charts(explanation, schema, None, 0, feature=1))
    title = payload["specs"]["dependence"]["title"]
    n, expr = TITLE_NAME_CHARS, title["text"]["expr"]
    assert middle_cut("names[feature]", n) in expr  # its start and end: vega.test.ts draws it
    assert title["interactive"] is True
    assert title["encoding"]["tooltip"] == {"signal": "names[feature]"}
    # The Altair chart itself stays valid Vega-Lite (its title has no encoding of its own).
    global_charts(explanation, schema, None, 0, feature=1)["dependence"].to_dict()


def test_many_outputs_shrink_the_default_sample():
    assert global_rows(50_000, permutation=False) == 1000
    assert global_rows(50_000, permutation=False, outputs=2) == 1000
    assert global_rows(50_000, permutation=False, outputs=3) == 666
    assert global_rows(50_000, permutation=False, outputs=60) == 100
    assert global_rows(80, permutation=False, outputs=60) == 80
    assert global_rows(50_000, permutation=True, outputs=60) == 200
    assert global_rows(50_000, permutation=False, outputs=60, limit=500) == 500


def test_charts_are_built_for_the_explained_output_only():
    explanation, schema = wide_explanation(8, rows=50)
    only_yes = dataclasses.replace(explanation, values=explanation.values[:, :, 1:], outputs=(1,))
    charts = global_charts(only_yes, schema, None, 1, feature=0)
    assert set(charts) == {"importance", "beeswarm", "dependence"}
    with pytest.raises(ValueError, match=r"computed for outputs \['yes'\].*outputs=\[0\]"):
        global_charts(only_yes, schema, None, 0, feature=0)


@pytest.fixture(scope="module")
def global_data_charts():
    lightgbm = pytest.importorskip("lightgbm")
    X, y = make_classification(6000, 6, n_informative=4, random_state=0)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    model = lightgbm.LGBMClassifier(n_estimators=20, num_leaves=8, verbose=-1).fit(X, y)
    session = ExplanationSession(model, X.iloc[:400])
    explanation = explain_global_data(session, X, algorithm="native", progress=lambda *_: None)
    charts = global_charts(
        explanation, session.schema, session.surrogate, 1, feature=2, row=7, current=(0.1, 0.2)
    )
    return session, explanation, charts


def test_global_data_charts_cover_every_row(global_data_charts):
    session, explanation, charts = global_data_charts
    summary = explanation.summary
    assert set(charts) == {"importance", "beeswarm", "dependence", "fidelity", "predictions"}
    for chart in charts.values():
        chart.to_dict()  # valid Vega-Lite
    bars = dataset_of(charts["importance"])
    for bar in bars:
        assert bar["importance"] == pytest.approx(summary.mean_abs_shap[bar["k"], 1])
    assert "over all 6,000 rows of the global data" in " ".join(
        charts["importance"].to_dict()["title"]["subtitle"]
    )
    # The dependence plot is binned over every row: each feature's bins hold every row.
    spec = charts["dependence"].to_dict()
    bins = next(v for v in spec["datasets"].values() if v and "sd" in v[0])
    for k in range(6):
        assert sum(b["n"] for b in bins if b["k"] == k) == 6000
    frame = summary.dependence_frame(2, output=1)
    first = next(b for b in bins if b["k"] == 2)
    assert first["m"] == pytest.approx(frame["shap_mean"][0], rel=1e-3)
    assert first["bin"] == frame["bin"][0]
    # The fidelity chart adds the surrogate's fidelity over every row.
    fidelity = " ".join(charts["fidelity"].to_dict()["title"]["subtitle"])
    size = summary.fidelity.size
    assert size == session.surrogate.complexity
    expected = f"accuracy {summary.fidelity.value:.3f} of the surrogate of {size} rules over all"
    assert expected in fidelity
    # Another size picked: the point measured over every row stays at the size it was for.
    other = session.set_surrogate_size(2 if size != 2 else 3)
    spec = fidelity_chart(other, explanation).to_dict()
    diamond = next(v for v in spec["datasets"].values() if v and "rows" in v[0])
    assert diamond[0]["rules"] == size != other.complexity
    session.set_surrogate_size(None)
    predictions = dataset_of(charts["predictions"])
    assert sum(p["rows"] for p in predictions) == 6000


def test_global_data_points_are_not_rows_of_x(global_data_charts):
    _, explanation, charts = global_data_charts
    assert not explanation.rows_are_X and explanation.rows.max() < 6000
    spec = charts["beeswarm"].to_dict()
    rows = next(v for v in spec["datasets"].values() if v and "s" in v[0])
    assert "row" not in rows[0] and "n" in rows[0]  # a click selects no row of X
    assert {p["name"]: p["value"] for p in spec["params"]}["row"] == -1
    # The panel sets "row" to its current row of X: no point of the data may take it as theirs.
    assert "datum.n == row" not in json.dumps(spec)
    assert "of the data" in json.dumps(spec)
    assert "uniform random sample of 1,000 of 6,000 rows" in json.dumps(spec["title"])


def test_feature_values_are_rounded_to_their_columns_spread_not_their_own_digits():
    # A month of epoch seconds drew at 4 positions, one city's latitudes at 5.
    rng = np.random.default_rng(0)
    seconds = 1.7e9 + rng.uniform(0, 30 * 86400, 400)
    latitudes = 37.76 + rng.uniform(-0.02, 0.02, 400)
    constant = np.full(400, 5.123456)
    values = np.column_stack([seconds, latitudes, constant])
    values[0, 0] = np.nan
    rounded = np.array(_round_columns(values), dtype=float)
    assert len(np.unique(rounded[1:, 0])) > 350 and len(np.unique(rounded[:, 1])) > 350
    assert np.isnan(rounded[0, 0]) and _round_columns(values)[0][0] is None
    assert np.allclose(
        rounded[1:, :2], values[1:, :2], rtol=0, atol=np.ptp(values[1:, :2], 0) * 1e-3
    )
    assert rounded[0, 2] == 5.123  # a constant: its own four digits


def test_the_dependence_legend_has_a_subtitle_line_of_its_own():
    # After the rows' description on one line it was cut off in a narrow column.
    from optiml_widgets.charts import DEPENDENCE_LEGEND

    subtitle = frontend_fixture()["specs"]["dependence"]["title"]["subtitle"]
    assert subtitle == ["all 40 rows", DEPENDENCE_LEGEND]


def test_the_shap_value_axes_keep_their_labels_apart():
    # Vega only drops labels whose boxes overlap: 1 px apart, "0.00" and "0.01" read "0.000.01".
    specs = frontend_fixture()["specs"]
    for name in ("importance", "beeswarm"):
        assert specs[name]["encoding"]["x"]["axis"]["labelSeparation"] >= 4, name


def test_every_subtitle_line_fits_a_narrow_column(global_data_charts):
    # Vega cuts a title line wider than the chart and never wraps one: the binned plot's
    # one line of ~75 characters lost its band's meaning in a 360-px chart, the importance
    # chart's "over a random sample of ..." its end at 700 px.
    from optiml_widgets.charts import DEPENDENCE_LEGEND, SUBTITLE_CHARS

    _, _, charts = global_data_charts
    specs = {**{k: c.to_dict() for k, c in charts.items()}, **frontend_fixture()["specs"]}
    subtitle = charts["dependence"].to_dict()["title"]["subtitle"]
    assert subtitle[-1] == DEPENDENCE_LEGEND
    assert "band: ± 1 standard deviation" in subtitle
    for name, spec in specs.items():
        lines = spec.get("title", {}).get("subtitle", [])
        assert lines and max(map(len, lines)) <= SUBTITLE_CHARS, (name, lines)
