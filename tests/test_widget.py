"""The widget's Python API (README: What you can do with the widget) and its live loop,
with no browser."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import breast_cancer, case, wine
from sklearn.ensemble import GradientBoostingClassifier

import optiml_widgets.widget as widget_module
from optiml_widgets import ExplainerWidget, LocalExplanation, Surrogate, explain_widget
from optiml_widgets.jobs import Closed


@pytest.fixture(scope="module")
def gbc():
    X, y = breast_cancer()
    model = GradientBoostingClassifier(n_estimators=50, random_state=0).fit(X, y)
    return model, X.head(120), y.head(120)


@pytest.fixture
def widget(gbc):
    model, X, y = gbc
    return explain_widget(model, X, y, class_names=["malignant", "benign"])


def test_the_headless_api(widget, gbc):
    model, X, _ = gbc
    assert isinstance(widget, ExplainerWidget)
    assert widget.index == 0
    assert widget.instance == {k: float(v) for k, v in X.iloc[0].items()}
    assert widget.target == "benign"
    assert isinstance(widget.explanation, LocalExplanation)
    assert isinstance(widget.surrogate, Surrogate)
    assert widget.error is None
    assert widget.explanation.prediction == pytest.approx(model.predict_proba(X.iloc[[0]])[0, 1])


def test_index_selects_a_row_and_syncs_the_view(widget, gbc):
    model, X, _ = gbc
    widget.index = 5
    assert widget.instance["mean radius"] == X.iloc[5]["mean radius"]
    assert widget._view["index"] == 5
    assert widget._view["prediction"] == pytest.approx(model.predict_proba(X.iloc[[5]])[0, 1])
    with pytest.raises(Exception, match="out of range"):
        widget.index = 1000
    assert widget.index == 5


def test_a_what_if_edit_gives_the_models_own_prediction(widget, gbc):
    model, X, _ = gbc
    widget.set_features({"worst area": 2500.0}, **{"mean texture": 30})
    edited = X.iloc[[0]].copy()
    edited["worst area"] = 2500.0
    edited["mean texture"] = 30.0
    assert widget.explanation.prediction == pytest.approx(model.predict_proba(edited)[0, 1])
    assert widget.instance["worst area"] == 2500.0
    names = widget.session.schema.names
    assert widget._view["edited"] == [names.index("mean texture"), names.index("worst area")]
    assert widget._view["original"][names.index("worst area")] == X.iloc[0]["worst area"]
    widget.reset()
    assert widget.instance == {k: float(v) for k, v in X.iloc[0].items()}
    assert widget._view["edited"] == []


def test_python_edits_bump_the_sequence_so_the_panel_follows(widget):
    before = widget._view["seq"]
    widget.set_features(**{"worst area": 1000.0})
    assert widget._view["seq"] > before
    assert shown(widget, "worst area") == 1000.0


def test_bad_edits_raise_and_change_nothing(widget):
    widget.set_features(**{"mean radius": 15.0})
    view = widget._view
    with pytest.raises(
        KeyError, match="Unknown feature 'mean radiuss'.*Did you mean 'mean radius'"
    ):
        widget.set_features(**{"mean radiuss": 1.0, "worst area": 900.0})
    with pytest.raises(ValueError, match="Invalid value 'big' for numeric feature 'worst area'"):
        widget.set_features(**{"worst area": "big"})
    with pytest.raises(ValueError, match=r"\['worst area'\] given twice"):  # which one was meant?
        widget.set_features({"worst area": 900.0}, **{"worst area": 901.0})
    with pytest.raises(ValueError, match="finite"):
        widget.set_features(**{"worst area": float("inf")})
    with pytest.raises(ValueError, match=r"'worst area': beyond ±3.4e38"):  # X refuses it too
        widget.set_features(**{"worst area": 1e40})
    assert widget.instance["mean radius"] == 15.0
    assert widget.instance["worst area"] != 900.0
    assert widget._view == view


def test_edits_are_kept_per_row(widget):
    widget.set_features(**{"mean radius": 20.0})
    widget.index = 3
    assert widget._view["edited"] == []
    widget.index = 0
    assert widget.instance["mean radius"] == 20.0


def test_target_switches_the_explained_class():
    X, y = wine()
    model = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    w = explain_widget(
        model, X, y, class_names=["c0", "c1", "c2"], explainers=("shap", "surrogate")
    )
    probabilities = model.predict_proba(X.iloc[[0]])[0]
    assert w.target == "c0"  # the predicted class of the first row
    w.target = "c2"
    assert w.explanation.prediction == pytest.approx(probabilities[2])
    assert w._view["target"] == "c2"
    assert sum(w.explanation.shap.values()) + w.explanation.base_value == pytest.approx(
        probabilities[2]
    )
    with pytest.raises(Exception, match="Unknown target 'c9'"):
        w.target = "c9"


def test_a_whole_float_names_an_integer_class():
    X, y = wine()
    model = GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, y + 1)
    w = explain_widget(model, X, explainers=("shap",))
    probabilities = model.predict_proba(X.iloc[[0]])[0]
    for label in (3, "3", 3.0, np.float64(3.0)):
        w.target = label
        assert w.target == 3
        assert w.explanation.prediction == pytest.approx(probabilities[2])
    w.target = 2.0
    assert w.target == 2
    # The classes listed as they are written, and a fraction or a bool names no class.
    for wrong in (2.5, True):
        with pytest.raises(Exception, match=r"choose one of \[1, 2, 3\]"):
            w.target = wrong
    w.close()


def test_an_integer_names_a_whole_float_class():
    # Classes 1.0, 2.0, 3.0 (y read from a float column): 2 was an unknown target, where
    # w.global_explanation.importance(2) reads class 2.0.
    X, y = wine()
    model = GradientBoostingClassifier(n_estimators=5, random_state=0).fit(X, y + 1.0)
    w = explain_widget(model, X, explainers=("shap",))
    probabilities = model.predict_proba(X.iloc[[0]])[0]
    for label in (2, np.int64(2), "2.0", 2.0):
        w.target = label
        assert w.target == 2.0
        assert w.explanation.prediction == pytest.approx(probabilities[1])
    for wrong in (2.5, True, "2"):
        with pytest.raises(Exception, match="Unknown target"):
            w.target = wrong
    w.close()


def test_a_class_set_while_a_view_is_published_in_another_thread_is_kept():
    """A streamed view published by a worker thread writes index/target/versus from the
    session; a user's ``w.versus`` set meanwhile must still reach the session (it was
    dropped, and the worker wrote the old value back)."""
    import contextlib
    import threading

    X, y = wine()
    model = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    w = explain_widget(model, X, y, class_names=["c0", "c1", "c2"], explainers=("shap",))
    w.target = "c2"
    publishing, release = threading.Event(), threading.Event()
    hold = w.hold_sync

    @contextlib.contextmanager
    def slow_hold():  # stands in for the comm sends of a large view
        with hold():
            yield
            publishing.set()
            release.wait(10)

    w.hold_sync = slow_hold
    worker = threading.Thread(target=lambda: w._show(10**6, dict(w._view)))
    worker.start()
    assert publishing.wait(10)
    setter = threading.Thread(target=lambda: setattr(w, "versus", "c1"))
    setter.start()  # waits for the worker's lock on the session's state
    time.sleep(0.1)
    release.set()
    worker.join(10)
    setter.join(10)
    w.hold_sync = hold
    assert w.versus == "c1" and w.session.versus == "c1"
    assert w.explanation.versus == "c1"
    w.close()


def request(w, seq, **state):
    """A request as the frontend sends it (edits as [feature position, value] pairs)."""
    names = w.session.schema.names
    message = {
        "type": "request",
        "seq": seq,
        "index": w.index,
        "target": str(w.target),
        "edits": [],
        "fast": False,
    }
    if "edits" in state:
        state["edits"] = [[names.index(k), v] for k, v in state["edits"].items()]
    message.update(state)
    w._handle_custom_msg(message, [])


def shown(w, name):
    """A feature's value in the view on screen."""
    return w._view["values"][w.session.schema.names.index(name)]


def test_frontend_requests_are_answered_with_their_sequence_number(widget, gbc):
    model, X, _ = gbc
    request(widget, 10, edits={"worst area": 1800.0}, fast=True)
    assert widget._wait_idle()
    assert widget._view["seq"] == 10
    assert widget.instance["worst area"] == 1800.0
    edited = X.iloc[[0]].assign(**{"worst area": 1800.0})
    assert widget._view["prediction"] == pytest.approx(model.predict_proba(edited)[0, 1])
    request(widget, 11, index=4)
    assert widget._wait_idle()
    assert widget.index == 4 and widget._view["seq"] == 11 and widget._view["quality"] == "exact"


def test_a_burst_of_edits_ends_in_the_last_edits_view_with_few_recomputations(widget, gbc):
    model, X, _ = gbc
    start = widget.recomputations
    values = np.linspace(500.0, 2500.0, 100)
    for seq, value in enumerate(values, start=100):
        request(widget, seq, edits={"worst area": float(value)}, fast=True)
    assert widget._wait_idle()
    assert widget._view["seq"] == 199
    assert shown(widget, "worst area") == values[-1]
    edited = X.iloc[[0]].assign(**{"worst area": values[-1]})
    assert widget._view["prediction"] == pytest.approx(model.predict_proba(edited)[0, 1])
    assert widget.recomputations - start < 30


def test_a_model_failure_while_live_keeps_the_last_good_view():
    X = pd.DataFrame({"a": np.linspace(-1, 1, 60), "b": np.linspace(0, 2, 60)})

    def picky(df):
        if (df["a"] > 5).any():
            raise ValueError("a is too large for this model")
        return df["a"].to_numpy() * 2 + df["b"].to_numpy()

    w = explain_widget(picky, X, explainers=("shap", "lime"))
    assert w._wait_idle()  # LIME streams in after the first view
    good = w._view
    request(w, 50, edits={"a": 9.0})
    assert w._wait_idle()
    assert "a is too large" in w.error
    assert w._view == good
    assert w.instance["a"] == X["a"][0]  # the panel's rejected edit does not stay either
    with pytest.warns(RuntimeWarning, match="a is too large"):
        w.set_features(a=7.0)
    assert w._view == good
    w.set_features(a=0.5)
    assert w.error is None
    assert w.explanation.prediction == pytest.approx(0.5 * 2 + X["b"][0])


def test_a_row_the_model_fails_on_leaves_the_last_good_row_selected():
    # The index stayed on the failing row: w.instance and w.index named it while the view
    # showed the row before, and w.explanation and the export raised the model's error.
    X = pd.DataFrame({"a": np.linspace(-1, 1, 60), "b": np.linspace(0, 2, 60)})
    refuse = {"row": None}

    def picky(df):
        if refuse["row"] is not None and (df["a"] == X["a"][refuse["row"]]).any():
            raise ValueError("this row is out of the model's range")
        return df["a"].to_numpy() * 2 + df["b"].to_numpy()

    w = explain_widget(picky, X, explainers=("shap",), background=X.drop(index=[7, 9]))
    w.index = 3
    good = w.explanation.prediction
    refuse["row"] = 7
    with pytest.warns(RuntimeWarning, match="out of the model's range"):
        w.index = 7
    assert "out of the model's range" in w.error
    assert w.index == 3 and w.instance["a"] == X["a"][3]
    assert w.explanation.prediction == good
    refuse["row"] = 9
    message = {"type": "request", "seq": 50, "index": 9, "target": str(w.target), "fast": False}
    w._handle_custom_msg(message, [])  # the panel's row change alike
    assert w._wait_idle()
    assert "out of the model's range" in w.error
    assert w.index == 3 and w.instance["a"] == X["a"][3]
    assert w.explanation.prediction == good
    w.index = 4
    assert w.error is None and w.index == 4
    w.close()


def _undefined_where_no_row_is(undefined: dict[str, bool]):
    """X and a model with no output (NaN) where a > 0.8 and b > 0.8, which no row of X has
    together (while ``undefined["there"]``): LIME's samples, drawn per feature, go there."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=100)
    b = np.where(a > 0.8, -np.abs(rng.normal(size=100)), rng.normal(size=100))
    X = pd.DataFrame({"a": a, "b": b})

    def model(df):
        out = df["a"].to_numpy() + df["b"].to_numpy()
        if undefined["there"]:
            out[((df["a"] > 0.8) & (df["b"] > 0.8)).to_numpy()] = np.nan
        return out

    return X, model


@contextlib.contextmanager
def warned(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The warnings w.explanation gives, as it gives them (warn_caller). pytest.warns
    reads the process's warning filters, which a library's catch_warnings in a job's
    thread can swap back while it waits: the warning then went past it."""
    said: list[str] = []
    original = widget_module.warn_caller

    def record(message: str, *args: Any) -> None:
        said.append(message)
        original(message, *args)

    monkeypatch.setattr(widget_module, "warn_caller", record)
    try:
        yield said
    finally:
        monkeypatch.setattr(widget_module, "warn_caller", original)


def test_limes_samples_failing_leave_shap_and_the_rule_and_name_the_failure(monkeypatch):
    undefined = {"there": False}
    X, model = _undefined_where_no_row_is(undefined)
    alone = explain_widget(model, X, explainers=("shap",))
    alone.index = 1
    shap = alone.explanation.shap
    alone.close()
    w = explain_widget(model, X)
    assert w.surrogate is not None and w._wait_idle()
    undefined["there"] = True  # from now on (a model served anew): LIME's samples fail
    w.index = 1
    with warned(monkeypatch) as said:
        e = w.explanation
    assert any("LIME failed for this row: ValueError: The model" in m for m in said)
    assert e.shap == shap and e.rule is not None and e.rule.covers(w.instance)
    assert e.lime == {} and list(e.failed) == ["lime"]
    assert w.error == e.failed["lime"]  # at once, not when the panel's thread gets there
    assert "LIME failed for this row" in repr(e)
    # The panel: the view stands, LIME's card names the failure, and so does w.error.
    assert w._wait_idle()
    view = w._view
    assert view["failed"] == e.failed and "lime" not in view["pending"]
    assert view["attributions"][0] is not None and view["attributions"][1] is None
    assert view["rule"] is not None and w.error == e.failed["lime"]
    undefined["there"] = False
    w.index = 2  # a row LIME explains clears it
    assert w._wait_idle() and w.error is None and "failed" not in w._view
    assert w.explanation.lime and not w.explanation.failed
    w.close()


def test_a_surrogate_whose_samples_fail_leaves_the_explanation_without_its_rule(monkeypatch):
    X, model = _undefined_where_no_row_is({"there": True})
    w = explain_widget(model, X)
    w.index = 1
    with warned(monkeypatch) as said:
        e = w.explanation
    assert any("LIME failed" in m for m in said)
    assert e.shap and e.rule is None
    assert e.failed["surrogate"].startswith("The surrogate could not be fit: ValueError")
    assert w.error == e.failed["lime"]  # the surrogate's is the rule table's, as in the panel
    with pytest.raises(ValueError, match="returned NaN"):
        w.surrogate  # noqa: B018 -- asked for itself, its failure is raised
    w.close()


PICKY_X = pd.DataFrame({"a": np.linspace(0, 1, 60), "b": np.linspace(0, 2, 60)})


def picky(df):
    """A model that refuses ``a`` past its training range (PICKY_X's)."""
    if (df["a"] > 1).any():
        raise ValueError("a is outside the training range")
    return df["a"].to_numpy() * 3 + df["b"].to_numpy()


def test_a_what_if_the_model_rejects_does_not_stay_and_the_export_works():
    w = explain_widget(picky, PICKY_X, explainers=("shap",))
    w.set_features(b=1.5)
    with pytest.warns(RuntimeWarning, match="outside the training range"):
        w.set_features(a=2.0)
    # Nothing changed: the last good edits stay, as the last good view shows them.
    assert "outside the training range" in w.error
    assert w.instance == {"a": 0.0, "b": 1.5}
    assert w.session.edits == {"b": 1.5}
    assert w.explanation.prediction == pytest.approx(1.5)
    w.index = 5
    page = w.to_html(rows=[0, 5])  # row 0 is exported with its last good edits
    assert "outside the training range" not in page
    w.index = 0
    assert w.instance == {"a": 0.0, "b": 1.5}
    w.close()


def test_a_model_failing_on_the_first_view_raises_its_own_error_alone():
    """The error, and nothing after it: ipywidgets closes the half-made widget when it is
    collected, which found no live loop ("Exception ignored ... has no attribute '_loop'")."""
    import gc
    import sys

    X = pd.DataFrame({"a": np.linspace(-1, 1, 40), "b": np.linspace(0, 2, 40)})
    calls = []

    def fails_after_its_first_call(df):
        calls.append(len(df))
        if len(calls) > 1:
            raise RuntimeError("model server went away")
        return df["a"].to_numpy()

    ignored = []
    before, sys.unraisablehook = sys.unraisablehook, ignored.append
    try:
        with pytest.raises(RuntimeError, match="model server went away"):
            explain_widget(fails_after_its_first_call, X)
        gc.collect()
    finally:
        sys.unraisablehook = before
    assert [u.exc_value for u in ignored] == []


def test_an_invalid_value_from_the_frontend_shows_an_error(widget, monkeypatch):
    sent: list[dict] = []
    monkeypatch.setattr(widget, "send", lambda content, buffers=None: sent.append(content))
    for seq in (300, 301):  # the same message twice: the trait does not change the second time
        request(widget, seq, edits={"worst area": "oops"})
        assert widget._wait_idle()
        assert "Invalid value 'oops'" in widget.error
        assert {"type": "failed", "seq": seq} in sent  # so the panel stops waiting


def test_a_panel_request_built_before_a_python_edit_keeps_that_edit(widget):
    """A drag under way when ``w.set_features`` runs sends requests built without the
    Python edit (``basis``: the view the panel showed, older than the edit's view): the
    Python edit is newer and stays, the dragged value is applied beside it."""
    basis = widget._view["seq"]
    widget.set_features({"worst area": 700.0})
    assert widget._view["seq"] > basis
    request(widget, basis + 1, basis=basis, edits={"mean radius": 15.0})
    assert widget._wait_idle()
    assert widget.instance["worst area"] == 700.0 and widget.instance["mean radius"] == 15.0
    # Once the panel has seen it, its requests carry the whole edit set again.
    seen = widget._view["seq"]
    request(widget, seen + 1, basis=seen, edits={"mean radius": 16.0})
    assert widget._wait_idle()
    assert widget.instance["worst area"] == widget.session.original(0)["worst area"]
    assert widget.instance["mean radius"] == 16.0


def test_a_drag_built_on_a_python_edit_it_showed_keeps_the_dragged_value(widget):
    """The panel shows a Python edit of a feature, the user drags that feature, and a cell
    edits another one before the drag's release arrives: the release is built on a view
    older than the second edit, but newer than the first. Only the second edit is newer
    than the user's drag."""
    widget.set_features({"mean radius": 12.0})
    basis = widget._view["seq"]  # the panel shows it; the drag starts from it
    widget.set_features({"worst area": 700.0})
    request(widget, basis + 1, basis=basis, edits={"mean radius": 15.0})
    assert widget._wait_idle()
    assert widget.instance["mean radius"] == 15.0 and widget.instance["worst area"] == 700.0
    assert shown(widget, "mean radius") == 15.0 and shown(widget, "worst area") == 700.0


def test_a_python_edit_taken_back_leaves_the_one_before_it_for_an_older_request():
    """A cell's edit the model rejects is taken back; the cell's edit before it (shown)
    still counts as newer than a release built on a view before both."""
    w = explain_widget(picky, PICKY_X, explainers=("shap",))
    basis = w._view["seq"]
    w.set_features(a=0.5)
    with pytest.warns(RuntimeWarning, match="outside the training range"):
        w.set_features(a=2.0)
    request(w, basis + 1, basis=basis, edits={"b": 1.5})
    assert w._wait_idle()
    assert w.instance == {"a": 0.5, "b": 1.5}
    assert shown(w, "a") == 0.5 and shown(w, "b") == 1.5
    w.close()


def test_a_panel_edit_overtaken_by_python_views_is_shown_not_only_applied(widget):
    """Two cells edit while the user releases a slider: the release, numbered from the view
    the panel had (older than both Python views), reaches the kernel after them. Its edit
    stays beside Python's, and a view shows it: the panel and w.instance agree."""
    basis = widget._view["seq"]
    widget.set_features({"worst area": 700.0})
    widget.set_features({"mean texture": 20.0})
    python_view = widget._view["seq"]
    request(widget, basis + 1, basis=basis, edits={"mean radius": 15.0})
    assert widget._wait_idle()
    assert widget._view["seq"] > python_view
    wanted = {"mean radius": 15.0, "worst area": 700.0, "mean texture": 20.0}
    for name, value in wanted.items():
        assert widget.instance[name] == value == shown(widget, name), name
    assert widget.explanation.prediction == pytest.approx(widget._view["prediction"])
    # Another release built on the same old view, then the panel's first request built on
    # a Python view (numbered from it, below the views just published): each is shown.
    request(widget, basis + 2, basis=basis, edits={"mean radius": 16.0})
    assert widget._wait_idle()
    assert shown(widget, "mean radius") == widget.instance["mean radius"] == 16.0
    request(widget, python_view + 1, basis=python_view, edits={**wanted, "mean radius": 17.0})
    assert widget._wait_idle()
    for name, value in {**wanted, "mean radius": 17.0}.items():
        assert widget.instance[name] == value == shown(widget, name), name


def test_categorical_edit_through_the_frontend_uses_the_category_text():
    c = case("onehot_pipeline")
    w = explain_widget(c.model, c.X, explainers=("shap", "surrogate"))
    other = "Nice" if w.instance["city"] != "Nice" else "Lille"
    request(w, 5, edits={"city": other})
    assert w._wait_idle()
    assert w.instance["city"] == other
    expected = c.model.predict_proba(c.X.iloc[[0]].assign(city=other))[0, 1]
    assert w.explanation.prediction == pytest.approx(expected)
    with pytest.raises(ValueError, match="'Rome' is not a category of feature 'city'"):
        w.set_features(city="Rome")


def test_the_view_is_json_and_matches_the_schema(widget):
    import json

    widget.surrogate  # noqa: B018 -- the fit streams in; wait for it
    assert widget._wait_idle()
    view = json.loads(json.dumps(widget._view, allow_nan=False))
    names = [f["name"] for f in widget._schema["features"]]
    shap, lime = view["attributions"]
    assert [e["name"] for e in widget._schema["explainers"]] == ["shap", "lime"]
    assert len(shap["values"]) == len(names) == len(lime["values"]) == len(view["values"])
    assert view["rule"]["id"] in {r["id"] for r in widget._surrogate["rules"]}
    assert len(view["probabilities"]) == 2 and widget._schema["targets"] == ["malignant", "benign"]
    assert view["y"] in ("malignant", "benign")
    assert shap["algorithm"].startswith("TreeSHAP") and shap["fallback"] is None
    assert view["pending"] == []


def test_curves_give_the_models_output_along_each_slider(widget, gbc):
    model, X, _ = gbc
    assert widget._wait_idle()
    curves = widget._curves
    assert curves["seq"] == widget._view["seq"]
    j = curves["features"].index(widget.session.schema.names.index("worst area"))
    start, end = curves["offsets"][j], curves["offsets"][j + 1]
    predictions = np.frombuffer(curves["prediction"], dtype=np.float64)
    for value, prediction in zip(curves["values"][start:end], predictions[start:end]):
        row = X.iloc[[0]].assign(**{"worst area": value})
        assert prediction == pytest.approx(model.predict_proba(row)[0, 1], rel=1e-5, abs=1e-6)
    widget.set_features(**{"mean radius": 25.0})
    assert widget._wait_idle()
    assert widget._curves["seq"] == widget._view["seq"]


def test_an_exact_request_is_answered_at_once_and_an_older_one_is_dropped(widget):
    request(widget, 400, edits={"worst area": 900.0})
    assert widget._view["seq"] == 400  # no worker needed: answered before the call returns
    request(widget, 399, edits={"worst area": 100.0})
    assert widget._wait_idle()
    assert widget._view["seq"] == 400
    assert widget.instance["worst area"] == 900.0


def test_the_export_button_sends_the_file_back(widget, monkeypatch):
    sent = []
    monkeypatch.setattr(
        widget, "send", lambda content, buffers=None: sent.append((content, buffers))
    )
    widget._handle_custom_msg({"type": "export", "id": "export-1-abc"}, [])
    import time

    deadline = time.monotonic() + 120
    while not sent and time.monotonic() < deadline:
        time.sleep(0.1)
    content, buffers = sent[0]
    assert content["type"] == "export" and content["filename"] == "optiml_widgets_export.html"
    assert content["id"] == "export-1-abc"  # only the view that asked saves the file
    assert content["bytes"] == len(buffers[0])
    assert widget._progress["export"]["state"] == "ready"
    page = buffers[0].decode()
    assert page.startswith("<!doctype html>") and 'id="optiml-data"' in page


def test_an_export_asked_without_a_view_id_is_answered_without_one(widget, monkeypatch):
    """A panel saved before replies named their view still gets its file."""
    import time

    sent = []
    monkeypatch.setattr(
        widget, "send", lambda content, buffers=None: sent.append((content, buffers))
    )
    monkeypatch.setattr(widget, "_page_maker", lambda: lambda _stop, _progress: b"<html>")
    for asked in ({"type": "export"}, {"type": "export", "id": 7}):
        sent.clear()
        widget._handle_custom_msg(asked, [])
        deadline = time.monotonic() + 60
        while not sent and time.monotonic() < deadline:
            time.sleep(0.05)
        content, buffers = sent[0]
        assert content["type"] == "export" and content["bytes"] == len(buffers[0]) == 6
        assert "id" not in content


def test_an_export_restarted_from_another_view_answers_both(widget, monkeypatch):
    # The second click cancelled the first view's export, which then never got an answer
    # (its button said "exporting" for good).
    import threading
    import time

    sent = []
    monkeypatch.setattr(
        widget, "send", lambda content, buffers=None: sent.append((content, buffers))
    )
    release = threading.Event()

    def slow_page(stop, _progress):
        while not release.wait(0.02):
            stop.check()
        return b"<html>"

    monkeypatch.setattr(widget, "_page_maker", lambda: slow_page)
    widget._handle_custom_msg({"type": "export", "id": "view-a"}, [])
    time.sleep(0.2)
    widget._handle_custom_msg({"type": "export", "id": "view-b"}, [])
    release.set()
    deadline = time.monotonic() + 60
    while len(sent) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # nothing more comes
    assert sorted(content["id"] for content, _ in sent) == ["view-a", "view-b"]
    assert all(content["bytes"] == 6 for content, _ in sent)


@pytest.mark.parametrize(
    "columns", [[0, 1, 2], [("x", "a"), ("x", "b"), ("y", "c")]], ids=["ints", "tuples"]
)
def test_the_dependence_feature_is_xs_own_column_label_and_the_panels_text(columns):
    # w.feature took text alone: importance()'s own index (X's label 0) raised a
    # TraitError, and w.feature read "0" where every other result reads 0.
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(150, 3)), columns=pd.Index(columns, tupleize_cols=True))
    a, b, _ = X.columns

    def model(frame):
        return (frame[a] + 0.1 * frame[b]).to_numpy()

    w = explain_widget(model, X, task="regression", explainers=("shap",), global_rows=80)
    top = w.global_explanation.importance().index[0]
    assert top == a and w.feature == a
    w.feature = w.global_explanation.importance().index[1]
    assert w.feature == b
    assert w.get_state("feature") == {"feature": str(b)}  # the panel names it by its text
    params = {p["name"]: p["value"] for p in w.charts["dependence"].to_dict()["params"]}
    assert params["feature"] == 1
    w.set_state({"feature": str(a)})  # a click in the panel
    assert w.feature == a
    w.feature = str(b)  # its text, as inputs take
    assert w.feature == b
    for unknown in (7, "7", [0]):
        with pytest.raises(KeyError, match="Unknown feature"):
            w.feature = unknown
    assert w.feature == b
    w.close()


def test_a_cells_last_line_reads_as_a_summary(widget):
    explanation = widget.explanation
    lines = repr(explanation).splitlines()
    assert lines[0].startswith(f"LocalExplanation of {widget.target}: prediction ")
    top = explanation.top_features(5)
    assert lines[1].startswith(f"  SHAP: {top[0]} ") and all(name in lines[1] for name in top)
    assert lines[2].startswith("  LIME: ") and lines[3].startswith(
        f"  rule {explanation.rule.id + 1}: IF "
    )
    surrogate = widget.surrogate
    assert repr(surrogate).splitlines() == [
        f"Surrogate: {surrogate.caption}",
        *surrogate.text().splitlines(),
    ]
    assert f"{surrogate.family}, {surrogate.complexity} rules" in surrogate.caption
    assert repr(surrogate.rules[0]).startswith("Rule 1: IF ")
    shown = repr(widget.global_explanation)
    assert "\n" not in shown and f"x {len(widget.session.schema.names)} features" in shown
    hint = widget.counterfactual()
    assert hint is None or repr(hint) == f"Counterfactual: {hint.text()}"


def test_the_global_explanation_reads_as_the_target_unless_told(widget):
    """w.global_explanation.to_shap()/importance() are the target's values (they read
    class 0 before: for a binary model every sign of the panel's P(class 1) flipped)."""
    w = widget
    for target in ["benign", "malignant"]:
        w.target = target
        g = w.global_explanation
        k = w.session.target_index
        explained = g.to_shap()
        assert np.array_equal(explained.values, g.output_values(k))
        assert explained.base_values[0] == g.base_values[k]
        pd.testing.assert_series_equal(g.importance(), g.importance(k))
        shap_row = w.explanation.shap
        assert [shap_row[name] for name in g.feature_names] == pytest.approx(
            explained.values[w.index], abs=1e-9
        )
    assert np.array_equal(g.to_shap(1).values, g.values[:, :, 1])


def test_a_size_set_while_the_fit_runs_stays_when_the_fit_lands(gbc, monkeypatch):
    # w.surrogate_size waits for the fit; the fit's own callback may come after it (here,
    # late on purpose) and must not put the recommended size back in the panel.
    original = ExplainerWidget._surrogate_done

    def late(self, job):
        time.sleep(0.5)
        original(self, job)

    monkeypatch.setattr(ExplainerWidget, "_surrogate_done", late)
    model, X, y = gbc
    w = explain_widget(model, X, y)
    w.surrogate_size = 3
    picked = w.surrogate.complexity
    assert picked != w.surrogate.recommended["rules"]
    assert w._wait_idle()
    time.sleep(0.6)
    assert w._surrogate["complexity"] == picked == w.surrogate_size
    w.close()


def test_a_fit_shown_slowly_does_not_replace_a_size_set_meanwhile(gbc, monkeypatch):
    # The fit's callback builds the recommended size's table while w.surrogate_size sets
    # another one: the size set last stays in the panel.
    from optiml_widgets import widget as widget_module

    build = widget_module.payloads.surrogate

    def slow_for_the_fit(surrogate):
        if "picked by hand" not in surrogate.reason:
            time.sleep(0.5)
        return build(surrogate)

    monkeypatch.setattr(widget_module.payloads, "surrogate", slow_for_the_fit)
    model, X, y = gbc
    w = explain_widget(model, X, y)
    w.surrogate_size = 3
    picked = w.surrogate.complexity
    assert w._wait_idle()
    time.sleep(0.6)
    assert w._surrogate["complexity"] == picked == w.surrogate_size
    # An invalid size changes nothing, on either side.
    for bad in (0, -1, 1.5, "5", True, float("nan")):
        with pytest.raises(ValueError, match="A surrogate size is a whole number"):
            w.surrogate_size = bad
        assert w.surrogate_size == picked == w._surrogate["complexity"]
    w.close()


def test_the_size_picked_last_in_the_panel_stays_shown(gbc, monkeypatch):
    # Each pick runs in a thread of its own: a slow first pick (a large size) finished
    # after a quick second one, and the panel went back to the first.
    from optiml_widgets.explainers.surrogate import Surrogate

    model, X, y = gbc
    w = explain_widget(model, X, y)
    sizes = w.surrogate.sizes
    first, last = sizes[-1], sizes[0]
    original = Surrogate.with_size

    def slow_for_the_first(self, rules, family=None):
        if rules == first:
            time.sleep(0.5)
        return original(self, rules, family)

    monkeypatch.setattr(Surrogate, "with_size", slow_for_the_first)
    w._handle_custom_msg({"type": "surrogate-size", "rules": first}, [])
    time.sleep(0.05)
    w._handle_custom_msg({"type": "surrogate-size", "rules": last}, [])
    time.sleep(1.5)
    assert w._surrogate["complexity"] == last == w.surrogate_size
    w.close()


def test_the_surrogate_size_changes_live(widget):
    surrogate = widget.surrogate
    assert widget._wait_idle()
    chosen = widget.surrogate_size
    assert chosen == surrogate.complexity
    assert widget._surrogate["sizes"] == surrogate.sizes and chosen in surrogate.sizes
    other = max(k for k in surrogate.sizes if k != chosen)
    widget.surrogate_size = other
    assert widget.surrogate_size == widget.surrogate.complexity != chosen
    assert widget._surrogate["complexity"] == widget.surrogate.complexity
    assert widget._surrogate["recommended"] == chosen
    assert "picked by hand" in widget._surrogate["reason"]
    # The view's firing rule is a rule of the new size, and the thresholds follow.
    assert widget._view["rule"]["id"] in {r["id"] for r in widget._surrogate["rules"]}
    names = widget.session.schema.names
    expected = widget.surrogate.thresholds()
    assert widget._surrogate["thresholds"] == [expected.get(n, []) for n in names]
    # From the panel: the same, off the kernel's path.
    widget._handle_custom_msg({"type": "surrogate-size", "rules": chosen}, [])
    deadline = time.monotonic() + 30
    while widget._surrogate["complexity"] != chosen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert widget._surrogate["complexity"] == chosen
    # A clicked point of the fidelity chart names its family too: of the families with
    # that many rules, that one (the table's control would give the recommended family).
    curve = surrogate.curve
    shared = [
        k for k in surrogate.sizes if len({p["family"] for p in curve if p["rules"] == k}) > 1
    ]
    size = shared[0]
    family = min(
        (p for p in curve if p["rules"] == size), key=lambda p: (p["recommended"], p["validation"])
    )["family"]
    assert widget.surrogate.with_size(size).family != family  # not what the size alone gives
    widget._handle_custom_msg({"type": "surrogate-size", "rules": size, "family": family}, [])
    deadline = time.monotonic() + 30
    shown = lambda: (widget._surrogate["complexity"], widget._surrogate["family"])  # noqa: E731
    while shown() != (size, family) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shown() == (size, family)
    assert widget.surrogate.family == family
    widget.surrogate_size = None
    assert widget.surrogate_size == chosen
    for bad in (0, "3", 2.5, True):  # the message named an internal method
        with pytest.raises(
            ValueError, match=r"A surrogate size is a whole number .*w\.surrogate_size = "
        ):
            widget.surrogate_size = bad
    assert widget.surrogate_size == chosen


def test_to_html_checks_its_arguments_before_the_export(widget, tmp_path, monkeypatch):
    # "no" is a true string: taken as is it put every raw value in a file meant to leave
    # them out. A folder or a missing folder failed after the export's seconds of work.
    import optiml_widgets.export as export

    monkeypatch.setattr(export, "to_html", lambda *a, **k: pytest.fail("export started"))
    for flag in ("no", "False", None, 0):
        with pytest.raises(TypeError, match="include_data must be True or False"):
            widget.to_html(include_data=flag)
    with pytest.raises(ValueError, match="is a folder: name the file to write"):
        widget.to_html(tmp_path)
    with pytest.raises(ValueError, match="does not exist: create it first"):
        widget.to_html(tmp_path / "nowhere" / "panel.html")
    with pytest.raises(TypeError, match="path must be a file name"):
        widget.to_html(open(tmp_path / "f.html", "w"))  # noqa: SIM115
    # A path that cannot be written: before, an OSError after the export's work.
    for unwritable in ("/proc/panel.html", tmp_path / ("x" * 300 + ".html")):
        with pytest.raises(ValueError, match="Cannot write path"):
            widget.to_html(unwritable)
    assert list(tmp_path.iterdir()) == [tmp_path / "f.html"]  # the check leaves no file
    # A link to a file not written yet stays a link (the check looks where it points).
    (tmp_path / "out").mkdir()
    (tmp_path / "link.html").symlink_to(tmp_path / "out" / "panel.html")
    with pytest.raises(pytest.fail.Exception, match="export started"):
        widget.to_html(tmp_path / "link.html")
    assert (tmp_path / "link.html").is_symlink() and not (tmp_path / "out" / "panel.html").exists()
    monkeypatch.undo()
    monkeypatch.setenv("HOME", str(tmp_path))
    widget.to_html("~/panel.html", rows=[0])
    assert (tmp_path / "panel.html").read_text(encoding="utf-8").startswith("<!")


def test_no_model_call_starts_after_close_in_work_that_waited_for_its_turn():
    # The view's curves, waiting for the gate behind the edit's own calls, called the model
    # 1.3 s after close(), and the edit waited for that call before it raised Closed.
    X = pd.DataFrame({"a": np.linspace(-1, 1, 100), "b": np.linspace(0, 2, 100)})
    slow, closed = threading.Event(), threading.Event()
    after: list[tuple[int, str]] = []

    def model(df):
        if closed.is_set():
            after.append((len(df), threading.current_thread().name))
        if slow.is_set():
            time.sleep(0.3)
        return df["a"].to_numpy() * 2 + df["b"].to_numpy()

    w = explain_widget(model, X)
    slow.set()

    def close_soon() -> None:
        time.sleep(0.9)
        w.close()
        closed.set()

    closer = threading.Thread(target=close_soon)
    closer.start()
    with pytest.raises(Closed):
        w.set_features(a=0.5)
    closer.join()
    time.sleep(1.0)
    assert after == []


def test_closing_stops_the_global_charts_being_built(gbc, monkeypatch):
    # The charts' job went on with Altair's validation after close(), one per closed panel.
    import threading

    import optiml_widgets.charts as charts
    from optiml_widgets import ExplanationSession

    model, X, _ = gbc
    started, release, converted = threading.Event(), threading.Event(), []
    build = ExplanationSession.global_charts

    def slow_charts(self, *args, **kwargs):
        started.set()
        release.wait(30)
        return build(self, *args, **kwargs)

    convert = charts.charts_payload
    monkeypatch.setattr(ExplanationSession, "global_charts", slow_charts)
    monkeypatch.setattr(charts, "charts_payload", lambda c: converted.append(1) or convert(c))
    w = explain_widget(model, X, explainers=("shap",))
    w._start_global()
    assert started.wait(60)
    w.close()
    release.set()
    assert w.session.jobs.wait_all(30)
    assert converted == []


def test_a_slow_edit_from_code_shows_a_bar(monkeypatch):
    # set_features waited seconds on a slow model with nothing on screen.
    from sklearn.linear_model import LogisticRegression
    from tqdm import tqdm

    from optiml_widgets import progress

    X, y = breast_cancer()
    X = X.head(60)
    fitted = LogisticRegression(max_iter=3000).fit(X, y.head(60))

    def slow(frame):
        time.sleep(0.4)
        return fitted.predict_proba(frame)

    w = explain_widget(slow, X, explainers=("shap",), task="classification")
    shown: list[str] = []
    monkeypatch.setattr(
        progress, "progress_bar", lambda label, **_: shown.append(label) or tqdm(disable=True)
    )
    w.set_features({"mean radius": 20.0})  # three model calls: over a second
    assert "Explaining the view" in shown
    w.close()


def test_charts_that_take_long_show_a_bar(widget, monkeypatch):
    from tqdm import tqdm

    from optiml_widgets import progress

    widget.global_explanation  # noqa: B018
    real = widget.session.global_charts

    def slow(*args, **kwargs):
        time.sleep(1.0)
        return real(*args, **kwargs)

    monkeypatch.setattr(widget.session, "global_charts", slow)
    shown: list[str] = []
    monkeypatch.setattr(
        progress, "progress_bar", lambda label, **_: shown.append(label) or tqdm(disable=True)
    )
    assert "importance" in widget.charts
    assert shown[-1:] == ["Drawing the charts"]  # after the surrogate's, not over it


def test_only_the_users_own_call_shows_a_progress_bar(monkeypatch):
    # A job waiting for another (the charts for the surrogate) printed its bar into
    # whichever cell ran at the time.
    import threading
    from concurrent.futures import Future

    from tqdm import tqdm

    from optiml_widgets import progress

    shown: list[str] = []
    monkeypatch.setattr(
        progress,
        "progress_bar",
        lambda label, total=None: shown.append(label) or tqdm(disable=True),
    )

    def later(value: str) -> Future:
        future: Future = Future()
        threading.Timer(0.3, future.set_result, [value]).start()
        return future

    found = []
    job = threading.Thread(
        target=lambda: found.append(progress.wait_for(later("a"), lambda: (0, 0), "job", quiet=0))
    )
    job.start()
    job.join(10)
    assert found == ["a"] and shown == []
    assert progress.wait_for(later("b"), lambda: (0, 0), "user", quiet=0) == "b"
    assert shown == ["user"]


@pytest.mark.parametrize("reported", [False, True])
def test_a_jobs_own_timeout_error_is_raised_not_waited_on(reported):
    # A model behind a server times out (socket.timeout, a TimeoutError): read as "not yet",
    # the wait spun for ever, its tracebacks filling the memory.
    from concurrent.futures import Future

    from optiml_widgets import progress

    failed: Future = Future()
    threading.Timer(0.3, failed.set_exception, [TimeoutError("read timed out")]).start()
    started = time.perf_counter()
    waiting = progress.waits_reported_to(lambda *_: None) if reported else contextlib.nullcontext()
    with waiting, pytest.raises(TimeoutError, match="read timed out"):
        progress.wait_for(failed, lambda: (0, 0), "job", quiet=0)
    assert time.perf_counter() - started < 5


@pytest.mark.parametrize(
    "bad",
    [
        {"seq": 1e300},
        {"seq": 10**300},
        {"seq": "abc"},
        {"seq": True},
        {"basis": "x"},
        {"index": 2.7},
    ],
)
def test_a_malformed_request_is_dropped_and_later_ones_are_answered(widget, bad):
    # seq 1e300 overtook every later request for good; "abc" raised out of the handler.
    assert widget._wait_idle()
    request = {"type": "request", "seq": 5, "index": 3, "target": widget.target, "fast": False}
    widget._on_frontend_message(widget, {**request, **bad}, [])
    assert widget._wait_idle() and widget.index == 0
    widget._on_frontend_message(widget, {**request, "seq": 6, "index": 4}, [])
    assert widget._wait_idle()
    assert (widget.index, widget._view["seq"], widget._view["index"]) == (4, 6, 4)
    widget.close()


def test_a_huge_value_is_quoted_short_in_the_error(widget):
    # A 10 MB string typed into a box was copied whole into w.error, synced and warned.
    name = widget.session.schema.names[0]
    with pytest.raises(ValueError) as refused:
        widget.set_features({name: "x" * 10**6})
    assert len(str(refused.value)) < 1000 and "..." in str(refused.value)
    widget.close()


def test_global_views_that_failed_once_run_again_when_asked(gbc):
    # One passing failure (a model server's hiccup) kept the global views off for good.
    model, X, y = gbc
    failing = {"once": False}

    def served(df):
        if failing["once"] and threading.current_thread().name == "optiml-global":
            failing["once"] = False
            raise RuntimeError("model server hiccup")
        return model.predict_proba(df)

    w = explain_widget(served, X, y, explainers=("shap",))
    assert w._wait_idle()
    w.session.jobs.wait_all(60)
    failing["once"] = True
    with pytest.raises(RuntimeError, match="hiccup"):
        _ = w.global_explanation
    assert w.global_explanation.importance().shape == (X.shape[1],)
    deadline = time.monotonic() + 30
    while w._global.get("state") != "ready" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert w._global["state"] == "ready"  # the panel's global views follow
    w.close()


@pytest.mark.parametrize("pipeline", [False, True])
def test_a_model_fit_again_in_place_is_refused_not_mixed(pipeline):
    # The cached outputs, base value and background were the old model's: SHAP values no
    # longer added up to the prediction, with no word of why.
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = breast_cancer()
    X, y = X.head(150), y.head(150)
    model = GradientBoostingClassifier(n_estimators=10, random_state=0)
    model = make_pipeline(StandardScaler(), model) if pipeline else model
    model.fit(X, y)
    w = explain_widget(model, X, y, explainers=("shap",))
    assert w._wait_idle()
    model.fit(X, 1 - y)
    with pytest.warns(match="fit again after the widget was made"):
        w.set_features({X.columns[0]: float(X.iloc[1, 0])})  # the edit refused, the error shown
    assert "Make a new widget for the refit model" in (w.error or "")
    with pytest.raises(ValueError, match="explain_widget\\(model, X\\)"):
        _ = w.explanation
    w.close()


def test_a_passing_failure_while_a_view_streams_in_does_not_leave_it_pending(gbc):
    # The streamed parts' one failure kept their placeholders on screen for good.
    _, X, y = gbc
    X = X.iloc[:, :5]
    fitted = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X, y)
    failing = {"once": False}

    def served(df):
        if failing["once"] and threading.current_thread() is not threading.main_thread():
            failing["once"] = False
            raise TimeoutError("model server timed out")
        return fitted.predict_proba(df)

    w = explain_widget(served, X, y)
    assert w._wait_idle()
    w.session.jobs.wait_all(60)
    failing["once"] = True
    request = {"type": "request", "seq": 5, "basis": w._view["seq"], "index": 0}
    w._on_frontend_message(w, {**request, "target": w.target, "edits": [[1, 25.0]]}, [])
    assert w._wait_idle(60)
    assert not failing["once"]  # it did fail once
    assert (w._view["seq"], w._view["pending"], w.error) == (5, [], None)
    w.close()


def test_a_copy_of_the_model_on_a_worker_is_not_taken_for_a_refit():
    # Pickling makes new objects of a model's ints and floats (SGD's t_, 300 features'
    # n_features_in_): compared by identity, a Dask worker's copy read as refit.
    import pickle

    import cloudpickle
    from sklearn.linear_model import SGDRegressor

    from optiml_widgets.model import ModelAdapter

    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 300)), columns=[f"f{i}" for i in range(300)])
    model = SGDRegressor(max_iter=5, random_state=0).fit(X, X["f0"])
    copy = pickle.loads(cloudpickle.dumps(ModelAdapter(model, X)))
    assert copy.predict(X.head(3)).shape == (3, 1)


def test_a_model_with_a_steps_setting_of_its_own_is_no_pipeline():
    from optiml_widgets.model import fitted_state

    class Forecaster:
        steps = 3

        def predict(self, X):
            return np.zeros(len(X))

    assert fitted_state(Forecaster()) == ()


def test_a_widget_cannot_be_pickled_and_says_what_can(gbc):
    import pickle

    model, X, y = gbc
    w = explain_widget(model, X, y)
    try:
        for protocol in (0, pickle.DEFAULT_PROTOCOL, pickle.HIGHEST_PROTOCOL):
            with pytest.raises(TypeError, match=r"ExplainerWidget cannot be pickled.*to_html"):
                pickle.dumps(w, protocol)
        assert pickle.loads(pickle.dumps(w.explanation)).prediction == w.explanation.prediction
    finally:
        w.close()
