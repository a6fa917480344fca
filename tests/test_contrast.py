"""Why one class and not another: every explanation of P(a) - P(b), checked against shap's
and lime's own outputs, in the widget, the counterfactual hint and the export."""

from __future__ import annotations

import html
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import case, session_for, unpack, wine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lime.lime_tabular import LimeTabularExplainer
from sklearn.ensemble import RandomForestClassifier
from sklearn.tree import DecisionTreeClassifier
from test_explainers import shaps_own

from optiml_widgets import ExplanationSession, explain_widget
from optiml_widgets.explainers.lime import FULL_SAMPLES, LimeExplainer
from optiml_widgets.export import export_data, static_picture

WINE = "rf_wine_multiclass"


def test_shap_of_a_contrast_is_shaps_own_difference_and_adds_up():
    session = session_for(WINE)
    model = case(WINE).model
    row, a, b = 60, 1, 0
    ours = session.local_explanation(row, {}, a, versus_index=b)
    values, base = shaps_own(session, session.encoded_X[[row]])
    expected = values[0, :, a] - values[0, :, b]
    assert [ours.shap[n] for n in session.schema.names] == pytest.approx(expected, abs=1e-9)
    assert ours.base_value == pytest.approx(base[a] - base[b], abs=1e-9)
    probabilities = model.predict_proba(case(WINE).X.iloc[[row]])[0]
    assert ours.prediction == pytest.approx(probabilities[a] - probabilities[b], abs=1e-12)
    assert ours.base_value + sum(ours.shap.values()) == pytest.approx(ours.prediction, abs=1e-6)
    assert (ours.target, ours.versus) == (session.adapter.classes[a], session.adapter.classes[b])


def test_lime_of_a_contrast_is_limes_own_local_model_of_the_difference():
    """lime keeps every feature here, so its ridge of P(a) - P(b) is the difference of its
    ridges of P(a) and P(b) on the same samples; R² and sampling errors are the contrast's."""
    session = session_for(WINE)
    row, a, b = 60, 1, 0
    ours = session.local_explanation(row, {}, a, versus_index=b)
    arguments = LimeExplainer.lime_arguments(
        session.schema, session.adapter, session.lime_explainer.training, 0
    )
    own = LimeTabularExplainer(**arguments).explain_instance(
        session.encoded_X[row],
        session.lime_explainer.predict_fn,
        labels=(a, b),
        num_features=len(session.schema),
        num_samples=FULL_SAMPLES,
    )
    weights_a, weights_b = dict(own.as_map()[a]), dict(own.as_map()[b])
    for j, name in enumerate(session.schema.names):
        assert ours.lime[name] == pytest.approx(weights_a[j] - weights_b[j], abs=1e-9)
    assert ours.lime_intercept == pytest.approx(own.intercept[a] - own.intercept[b], abs=1e-9)
    assert 0 <= ours.lime_score <= 1
    single = session.local_explanation(row, {}, a)
    assert ours.lime_score != pytest.approx(single.lime_score)  # its own fit, not class a's
    assert set(ours.lime_errors) == set(session.schema.names)
    assert all(e > 0 for e in ours.lime_errors.values())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    classes=st.integers(3, 5),
    features=st.integers(2, 6),
    row=st.integers(0, 59),
)
def test_a_contrast_turned_round_is_its_negative_and_adds_up(seed, classes, features, row):
    """Property: 'why b and not a' is minus 'why a and not b' for SHAP and LIME, and SHAP's
    contrast adds up to the difference of the model's probabilities, whatever the data."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(60, features)), columns=[f"f{i}" for i in range(features)])
    y = rng.integers(0, classes, 60)
    y[:classes] = np.arange(classes)  # every class is seen
    model = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X, y)
    session = ExplanationSession(model, X, explainers=("shap", "lime"))
    a, b = rng.choice(classes, 2, replace=False).tolist()
    ab = session.local_explanation(row, {}, a, versus_index=b)
    ba = session.local_explanation(row, {}, b, versus_index=a)
    names = session.schema.names
    assert [ab.shap[n] for n in names] == pytest.approx([-ba.shap[n] for n in names], abs=1e-9)
    assert [ab.lime[n] for n in names] == pytest.approx([-ba.lime[n] for n in names], abs=1e-7)
    assert ab.prediction == pytest.approx(-ba.prediction, abs=1e-12)
    probabilities = model.predict_proba(X.iloc[[row]])[0]
    assert ab.prediction == pytest.approx(probabilities[a] - probabilities[b], abs=1e-12)
    assert ab.base_value + sum(ab.shap.values()) == pytest.approx(ab.prediction, abs=1e-6)


@pytest.fixture(scope="module")
def wine_widget():
    X, y = wine()
    model = RandomForestClassifier(50, random_state=0).fit(X, y)
    w = explain_widget(model, X, y, class_names=["barolo", "grignolino", "barbera"])
    yield w
    w.close()


def test_the_widget_explains_a_contrast_and_says_so(wine_widget):
    w = wine_widget
    w.index = 0
    w.target = "barolo"
    w.versus = "barbera"
    assert w._wait_idle()
    view = w._view
    assert (view["target"], view["versus"]) == ("barolo", "barbera")
    p = view["probabilities"]
    assert view["prediction"] == pytest.approx(p[0] - p[2])
    assert w.explanation.versus == "barbera"
    assert w.explanation.prediction == pytest.approx(p[0] - p[2])
    # Its curves (the drag estimate) are of the difference too.
    curves = w.session.curves(view["seq"])
    assert curves["versus"] == "barbera"
    sweep = w.session.sweep(w.index, {})
    j = curves["features"][0]
    start, end = sweep.offsets[j], sweep.offsets[j + 1]
    prediction = np.frombuffer(curves["prediction"], dtype=np.float64)[: end - start]
    assert prediction == pytest.approx(sweep.outputs[start:end, 0] - sweep.outputs[start:end, 2])
    w.versus = None
    assert w._wait_idle()
    assert w._view["versus"] is None
    assert w._view["prediction"] == pytest.approx(p[0])


def test_the_hint_of_a_contrast_looks_for_that_class(wine_widget):
    w = wine_widget
    w.target = "barolo"
    w.versus = "grignolino"
    found = []
    for index in range(0, 59, 4):  # barolo rows
        w.index = index
        hint = w.counterfactual()
        if hint is not None and hint.model_agrees:
            found.append(hint)
            assert hint.predicted_label == "grignolino"
            # The rules' change lands in a grignolino rule; values borrowed from grignolino
            # rows may land anywhere the model says grignolino.
            assert hint.borrowed or hint.rule.prediction == "grignolino"
            assert w._view["versus"] == "grignolino"
    assert found, "no barolo row had a hint the model follows to grignolino"
    # A row the model gives the contrasted class already has no hint to it.
    w.index = 100  # grignolino
    assert w._view["predicted_label"] == "grignolino"
    assert w.counterfactual() is None
    w.versus = None


def test_versus_is_checked_and_follows_the_target(wine_widget):
    w = wine_widget
    w.target = "barolo"
    with pytest.raises(ValueError, match="another class than the target"):
        w.versus = "barolo"
    with pytest.raises(ValueError, match="Unknown versus 'merlot'"):
        w.versus = "merlot"
    w.versus = "barbera"
    w.target = "barbera"  # the contrasted class becomes the target: the contrast ends
    assert w._wait_idle()
    assert w.versus is None and w._view["versus"] is None
    regressor = explain_widget(*_regression(), explainers=("shap",))
    try:
        with pytest.raises(ValueError, match="versus needs a classifier"):
            regressor.versus = "prediction"
    finally:
        regressor.close()


def test_the_panel_asks_for_a_contrast(wine_widget):
    w = wine_widget
    w.target = "barolo"
    w.versus = None
    assert w._wait_idle()
    seq = w._view["seq"] + 10
    request = {"type": "request", "seq": seq, "index": 3, "target": "grignolino"}
    w._on_frontend_message(w, {**request, "versus": "barbera", "fast": False}, [])
    assert w._wait_idle()
    assert (w.index, w.target, w.versus) == (3, "grignolino", "barbera")
    assert w._view["versus"] == "barbera"
    # A bad versus from the frontend is an error in the panel, never a crash.
    w._on_frontend_message(w, {**request, "seq": seq + 1, "versus": "grignolino"}, [])
    assert w._wait_idle()
    assert "another class than the target" in (w.error or "")
    assert w.versus == "barbera"  # the last good state stays
    w.versus = None


def test_an_export_of_a_contrast_holds_the_difference_and_escapes_names():
    X, y = wine()
    model = RandomForestClassifier(30, random_state=0).fit(X, y)
    evil = ["<b>barolo</b>", 'gri"gnolino', "<script>x</script>"]
    X = X.iloc[::3]
    w = explain_widget(model, X, class_names=evil, explainers=("shap", "surrogate"))
    try:
        w.target, w.versus = evil[0], evil[2]
        assert w._wait_idle()
        data = export_data(w.session, rows=[0, len(X) - 1])
        assert [v["versus"] for v in data["views"]] == [evil[2], evil[2]]
        sweeps = [w.session.sweep(i, {}) for i in (0, len(X) - 1)]
        values = unpack(data["grids"]["prediction"])
        expected = np.concatenate([s.outputs[:, 0] - s.outputs[:, 2] for s in sweeps])
        assert values == pytest.approx(expected, abs=1e-6)  # float32
        assert values.min() < 0  # the class-2 row: P(A) < P(B) there
        picture = static_picture(w.session)
        assert html.escape(f"P({evil[0]}) \N{MINUS SIGN} P({evil[2]})") in picture
        assert "<script>x</script>" not in picture
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            page = w.to_html(rows=[0])
        assert "<script>x</script>" not in page
    finally:
        w.close()


def _regression():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(X, X["a"] * 2), X


def test_the_global_views_follow_a_contrast_over_x(wine_widget):
    """The charts of "the model overall" show what separates the two classes over X: mean
    |SHAP(A) - SHAP(B)| per feature; `w.global_explanation` keeps every class's values."""
    w = wine_widget
    w.index = 0
    w.target, w.versus = "barolo", "grignolino"
    assert w._wait_idle()
    g = w.global_explanation
    expected = np.abs(g.output_values(0) - g.output_values(1)).mean(axis=0)
    chart = w.charts["importance"].to_dict()
    shown = {d["feature"]: d["importance"] for d in next(iter(chart["datasets"].values()))}
    names = w.session.schema.names
    for feature, value in shown.items():
        assert value == pytest.approx(expected[names.index(feature)], rel=1e-9)
    assert "barolo \N{MINUS SIGN} grignolino" in str(chart)
    assert max(shown, key=shown.get) == names[int(np.argmax(expected))]
    w._start_global()
    assert w._wait_idle() and w.session.jobs.wait_all(120)
    payload = w._global_payload()
    assert "output: barolo \N{MINUS SIGN} grignolino" in payload["message"]
    assert payload["target"] == w.session.global_output_name()
    w.versus = None
    assert "output: barolo;" in w._global_payload()["message"]


def test_over_global_data_the_charts_stay_on_the_target_and_say_why():
    X, y = wine()
    model = RandomForestClassifier(30, random_state=0).fit(X, y)
    w = explain_widget(model, X.iloc[::4], global_data=X, explainers=("shap",))
    try:
        w.target, w.versus = 0, 2
        assert w._wait_idle()
        w._start_global()
        assert w.session.jobs.wait_all(300)
        message = w._global_payload()["message"]
        assert "output: 0 (the contrast with 2 needs every row's SHAP values" in message
        assert w.session.global_output_name() == "0"
    finally:
        w.close()
