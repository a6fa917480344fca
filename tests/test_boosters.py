"""Native Boosters (lightgbm.train, xgboost.train) are explained like their scikit-learn
wrappers: the task from the objective, the Booster's own outputs, TreeSHAP as shap computes
it for the Booster."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shap
from sklearn.datasets import make_classification, make_regression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from optiml_widgets import ExplanationSession, explain_widget
from optiml_widgets.global_data import explain_global_data

lightgbm = pytest.importorskip("lightgbm")
xgboost = pytest.importorskip("xgboost")

ROWS = (0, 5)


def tables() -> dict[str, tuple[pd.DataFrame, np.ndarray]]:
    X, binary = make_classification(600, 5, n_informative=3, random_state=0)
    X = pd.DataFrame(X, columns=list("abcde"))
    three = (X["a"] > 0).astype(int).to_numpy() + (X["b"] > 0.5).to_numpy()
    Xr, value = make_regression(600, 5, random_state=0)
    return {
        "binary": (X, binary),
        "three": (X, three),
        "regression": (pd.DataFrame(Xr, columns=list("abcde")), value),
    }


def train(library: str, params: dict[str, Any], X: pd.DataFrame, y: np.ndarray) -> Any:
    if library == "lightgbm":
        return lightgbm.train({**params, "verbose": -1}, lightgbm.Dataset(X, y), 20)
    return xgboost.train(params, xgboost.DMatrix(X, y), 20)


def booster_output(booster: Any, X: pd.DataFrame, *, margin: bool = False) -> np.ndarray:
    if isinstance(booster, lightgbm.Booster):
        return np.asarray(booster.predict(X, raw_score=margin), dtype=float)
    # XGBoost answers in float32; the panel reads it as float64 before any arithmetic.
    return np.asarray(booster.predict(xgboost.DMatrix(X), output_margin=margin), dtype=float)


# library, objective, its other params, table, the outputs the panel explains (None: the
# Booster's output as it is)
THREE = {"num_class": 3}
CASES = [
    ("lightgbm", "binary", {}, "binary", "p"),
    ("lightgbm", "multiclass", THREE, "three", "probabilities"),
    ("lightgbm", "regression", {}, "regression", None),
    ("xgboost", "binary:logistic", {}, "binary", "p"),
    ("xgboost", "binary:logitraw", {}, "binary", "sigmoid"),
    ("xgboost", "multi:softprob", THREE, "three", "probabilities"),
    ("xgboost", "multi:softmax", THREE, "three", "softmax"),
    ("xgboost", "reg:squarederror", {}, "regression", None),
]


def expected_outputs(booster: Any, X: pd.DataFrame, kind: str | None) -> np.ndarray:
    """What the panel should explain, from the Booster's own predict."""
    if kind is None:
        return booster_output(booster, X)[:, None]
    if kind == "p":
        p = booster_output(booster, X)
        return np.column_stack([1 - p, p])
    if kind == "probabilities":
        return booster_output(booster, X)
    margins = booster_output(booster, X, margin=True)
    if kind == "sigmoid":
        p = 1 / (1 + np.exp(-margins))
        return np.column_stack([1 - p, p])
    e = np.exp(margins - margins.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize(
    ("library", "objective", "params", "table", "kind"),
    CASES,
    ids=[f"{case[0]} {case[1]}" for case in CASES],
)
def test_a_booster_is_explained_in_its_objectives_space(library, objective, params, table, kind):
    """TreeSHAP where shap has it (``binary:logitraw``'s sigmoid through the link); a
    multiclass Booster's probabilities (shap's interventional TreeSHAP has none, and
    path-dependent explains the margins) get the permutation explainer, and say why."""
    X, y = tables()[table]
    booster = train(library, {"objective": objective, **params}, X, y)
    session = ExplanationSession(booster, X, explainers=("shap",))
    adapter = session.adapter
    assert adapter.name.startswith(f"{'LightGBM' if library == 'lightgbm' else 'XGBoost'} Booster")
    expected = expected_outputs(booster, X.iloc[list(ROWS)], kind)
    assert adapter.task == {"binary": "binary", "three": "multiclass"}.get(table, "regression")
    assert adapter.output_names == (
        ["prediction"] if kind is None else [str(k) for k in range(expected.shape[1])]
    )
    for i, row in enumerate(ROWS):
        for output in range(expected.shape[1]):
            explanation = session.local_explanation(row, {}, output)
            if table == "three":
                assert explanation.algorithm.startswith("Permutation SHAP")
                assert "multiclass model's margins" in explanation.fallback
            else:
                assert explanation.algorithm.startswith("TreeSHAP"), explanation.algorithm
            # XGBoost's float32 sums differ by a few units in the last place with the batch.
            assert explanation.prediction == pytest.approx(expected[i, output], rel=1e-5)
            total = explanation.base_value + sum(explanation.shap.values())
            # What the API promises: within 1e-6 (XGBoost's output is float32).
            assert total == pytest.approx(explanation.prediction, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_a_booster_s_values_are_shaps_own_for_the_booster(library):
    X, y = tables()["binary"]
    objective = "binary" if library == "lightgbm" else "binary:logistic"
    booster = train(library, {"objective": objective}, X, y)
    session = ExplanationSession(booster, X, explainers=("shap",))
    explanation = session.local_explanation(3, {}, 1)
    assert explanation.algorithm == (
        "TreeSHAP (interventional, probability: shap's rescaling of the log-odds values)"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = shap.TreeExplainer(
            booster,
            data=session.background,
            model_output="probability",
            feature_perturbation="interventional",
        )
        expected = np.asarray(own.shap_values(session.encoded_X[[3]], check_additivity=False))
    np.testing.assert_allclose(
        [explanation.shap[n] for n in X.columns], expected.reshape(-1), rtol=1e-6, atol=1e-9
    )
    assert explanation.base_value == pytest.approx(float(np.ravel(own.expected_value)[-1]))


def test_an_xgboost_booster_on_its_own_categories_gets_treeshap_as_its_wrapper_does():
    """shap made the Booster's DMatrix without enable_categorical: xgboost refused it and
    the panel fell back to permutation SHAP."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"a": rng.normal(size=400), "c": pd.Categorical(rng.choice(list("pqrs"), 400))}
    )
    y = ((X["a"] > 0) ^ (X["c"] == "p")).astype(int)
    params = {"objective": "binary:logistic", "max_depth": 3, "nthread": 1}
    booster = xgboost.train(params, xgboost.DMatrix(X, y, enable_categorical=True), 20)
    session = ExplanationSession(booster, X, explainers=("shap",))
    explanation = session.local_explanation(3, {}, 1)
    assert explanation.algorithm.startswith("TreeSHAP (path-dependent on the log-odds")
    p = booster.predict(xgboost.DMatrix(X.iloc[[3]], enable_categorical=True))[0]
    assert explanation.base_value + sum(explanation.shap.values()) == pytest.approx(p, abs=1e-6)
    session.close()


def test_a_booster_fit_on_an_array_reads_x_by_position_and_classes_get_names():
    X, y = tables()["binary"]
    booster = lightgbm.train(
        {"objective": "binary", "verbose": -1}, lightgbm.Dataset(X.to_numpy(), y), 20
    )
    w = explain_widget(booster, X, class_names=["no", "yes"], explainers=("shap",))
    try:
        assert w.explanation.prediction == pytest.approx(booster.predict(X.to_numpy()[:1])[0])
        assert w.session.adapter.output_names == ["no", "yes"]
        assert w.explanation.algorithm.startswith("TreeSHAP")
    finally:
        w.close()


@pytest.mark.parametrize(
    ("library", "params", "words"),
    [
        ("xgboost", {"objective": "binary:hinge"}, "'binary:hinge' predicts 0 or 1"),
        (
            "lightgbm",
            {"objective": "multiclassova", "num_class": 3},
            "'multiclassova' gives one-vs-all scores",
        ),
    ],
)
def test_an_objective_without_probabilities_is_named_with_the_fix(library, params, words):
    X, _ = tables()["binary"]
    y = tables()["three"][1] if "num_class" in params else tables()["binary"][1]
    booster = train(library, params, X, y)
    with pytest.raises(ValueError, match=words) as error:
        ExplanationSession(booster, X, explainers=("shap",))
    assert "train with a probabilistic objective" in str(error.value)


def test_a_scikit_learn_wrapper_without_probabilities_is_refused_as_its_booster_is():
    # XGBClassifier(objective="binary:hinge").predict_proba answers 0 or 1: its labels were
    # explained as certain probabilities, where its Booster is refused.
    X, y = tables()["binary"]
    model = xgboost.XGBClassifier(n_estimators=5, objective="binary:hinge").fit(X, y)
    with pytest.raises(ValueError, match="'binary:hinge' predicts 0 or 1") as error:
        ExplanationSession(model, X, explainers=("shap",))
    assert "XGBClassifier's objective" in str(error.value)
    pipeline = make_pipeline(StandardScaler(), xgboost.XGBClassifier(objective="binary:hinge"))
    with pytest.raises(ValueError, match="'binary:hinge' predicts 0 or 1"):
        ExplanationSession(pipeline.fit(X, y), X, explainers=("shap",))
    # binary:logitraw's predict_proba answers log-odds: refused for values outside [0, 1],
    # with a fix (calibrate) that did not name its Booster, which is explained.
    model = xgboost.XGBClassifier(n_estimators=5, objective="binary:logitraw").fit(X, y)
    with pytest.raises(ValueError, match="'binary:logitraw' makes its predict_proba answer"):
        ExplanationSession(model, X, explainers=("shap",))
    session = ExplanationSession(model.get_booster(), X, explainers=("shap",))
    log_odds = float(model.predict(X.iloc[[0]], output_margin=True)[0])
    expected = 1 / (1 + np.exp(-log_odds))
    assert session.local_explanation(0, {}, 1).prediction == pytest.approx(expected, rel=1e-6)
    session.close()
    three = tables()["three"][1]
    model = lightgbm.LGBMClassifier(n_estimators=5, objective="multiclassova", verbose=-1)
    with pytest.raises(ValueError, match="'multiclassova' gives one-vs-all scores"):
        ExplanationSession(model.fit(X, three), X, explainers=("shap",))


def test_global_data_uses_the_booster_s_own_contributions():
    X, y = tables()["binary"]
    booster = train("lightgbm", {"objective": "binary"}, X, y)
    session = ExplanationSession(booster, X.iloc[:300], explainers=("shap",))
    explanation = explain_global_data(
        session, X, algorithm="native", sample_rows=200, progress=lambda *_: None
    )
    assert explanation.algorithm == (
        "TreeSHAP (path-dependent, log-odds; LightGBM's own pred_contrib)"
    )
    own = np.asarray(booster.predict(X, pred_contrib=True))[:, :-1]
    np.testing.assert_allclose(
        explanation.summary.mean_abs_shap[:, 1], np.abs(own).mean(axis=0), rtol=1e-6
    )


def test_an_early_stopped_booster_names_the_trees_shap_leaves_out_and_the_fix():
    # Its predict adds every round; shap's TreeExplainer stops at best_iteration. Both
    # TreeSHAPs missed, and the fallback's reason only said they were not additive.
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(400, 3)), columns=list("abc"))
    y = X["a"] + rng.normal(size=400) * 2
    booster = xgboost.train(
        {"max_depth": 3, "eta": 0.3},
        xgboost.DMatrix(X.iloc[:300], y[:300]),
        200,
        evals=[(xgboost.DMatrix(X.iloc[300:], y[300:]), "valid")],
        early_stopping_rounds=5,
        verbose_eval=False,
    )
    assert booster.best_iteration + 1 < booster.num_boosted_rounds()
    session = ExplanationSession(booster, X, explainers=("shap",))
    explanation = session.local_explanation(0, {})
    assert explanation.algorithm.startswith("Permutation SHAP")
    assert "booster[: booster.best_iteration + 1]" in explanation.fallback
    assert explanation.base_value + sum(explanation.shap.values()) == pytest.approx(
        float(booster.predict(xgboost.DMatrix(X.iloc[[0]]))[0]), rel=1e-5
    )
    session.close()
    stopped = booster[: booster.best_iteration + 1]
    session = ExplanationSession(stopped, X, explainers=("shap",))
    explanation = session.local_explanation(0, {})
    assert explanation.algorithm.startswith("TreeSHAP") and not explanation.fallback
    session.close()


@pytest.mark.parametrize("objective", ["regression", "binary", "poisson"])
def test_a_lightgbm_random_forest_gets_treeshap_of_its_trees_mean(objective):
    # boosting="rf" predicts from the mean of its iterations' trees, where shap's TreeSHAP
    # (and LightGBM's raw_score) reads their sum: the regressor fell back to permutation
    # SHAP saying its prediction was a transform of that sum with no link known.
    X, y = tables()["binary" if objective == "binary" else "regression"]
    if objective == "poisson":
        y = np.random.default_rng(0).poisson(np.exp(X["a"].to_numpy() / 2))
    params = {"boosting_type": "rf", "bagging_freq": 1, "bagging_fraction": 0.7, "verbose": -1}
    params.update(n_estimators=8, num_leaves=7, objective=objective)
    estimator = lightgbm.LGBMClassifier if objective == "binary" else lightgbm.LGBMRegressor
    model = estimator(**params).fit(X, y)
    session = ExplanationSession(model, X, explainers=("shap",))
    output = 1 if objective == "binary" else 0
    explanation = session.local_explanation(3, {}, output)
    assert explanation.algorithm.startswith("TreeSHAP"), explanation.fallback
    assert explanation.fallback is None
    own = (
        model.predict_proba(X.iloc[[3]])[0, 1]
        if objective == "binary"
        else model.predict(X.iloc[[3]])[0]
    )
    assert explanation.prediction == pytest.approx(own, rel=1e-9)
    total = explanation.base_value + sum(explanation.shap.values())
    assert total == pytest.approx(own, rel=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trees = shap.TreeExplainer(model, data=session.background, model_output="raw")
        summed = np.asarray(trees.shap_values(session.encoded_X[[3]])).reshape(-1)
    values = np.array([explanation.shap[name] for name in X.columns])
    if objective == "regression":
        np.testing.assert_allclose(values, summed / 8, rtol=1e-6, atol=1e-12)
    else:  # through the link: each value keeps its share of the mean margin's change
        np.testing.assert_allclose(values / values.sum(), summed / summed.sum(), rtol=1e-6)
    session.close()


def test_global_data_divides_a_lightgbm_random_forest_s_own_contributions():
    X, y = tables()["regression"]
    params = {"boosting": "rf", "bagging_freq": 1, "bagging_fraction": 0.7}
    booster = train("lightgbm", params, X, y)
    session = ExplanationSession(booster, X.iloc[:300], explainers=("shap",))
    explanation = explain_global_data(
        session, X, algorithm="native", sample_rows=200, progress=lambda *_: None
    )
    own = np.asarray(booster.predict(X, pred_contrib=True))[:, :-1] / 20
    np.testing.assert_allclose(
        explanation.summary.mean_abs_shap[:, 0], np.abs(own).mean(axis=0), rtol=1e-6
    )
    session.close()


@pytest.mark.parametrize("objective", ["regression", "binary"])
def test_a_lightgbm_model_with_linear_trees_names_why_no_treeshap_runs(objective, capfd):
    # shap reads a linear leaf as its constant and LightGBM refuses pred_contrib for it: both
    # TreeSHAPs were tried first, LightGBM printed "[Fatal]", and the reason was that one
    # was not additive.
    table = "binary" if objective == "binary" else "regression"
    X, y = tables()[table]
    model = (lightgbm.LGBMClassifier if objective == "binary" else lightgbm.LGBMRegressor)(
        n_estimators=5, num_leaves=7, linear_tree=True, verbose=-1
    ).fit(X, y)
    session = ExplanationSession(model, X, explainers=("shap",))
    explanation = session.local_explanation(0, {}, 1 if objective == "binary" else 0)
    assert explanation.algorithm.startswith("Permutation SHAP")
    assert explanation.fallback.startswith("the LightGBM model has linear trees")
    assert "not additive" not in explanation.fallback
    own = model.predict_proba(X.iloc[[0]])[0, 1] if objective == "binary" else model.predict(X)[0]
    assert explanation.base_value + sum(explanation.shap.values()) == pytest.approx(own)
    assert "Fatal" not in capfd.readouterr().err
    session.close()


@pytest.mark.parametrize("native", [False, True])
def test_an_xgboost_gblinear_model_names_why_no_treeshap_runs(native):
    # Both TreeSHAPs were tried, and the reason read "could not be built (KeyError:
    # 'gbtree_model_param')" twice.
    X, y = tables()["regression"]
    if native:
        model = xgboost.train({"booster": "gblinear"}, xgboost.DMatrix(X, y), 5)
    else:
        model = xgboost.XGBRegressor(booster="gblinear", n_estimators=5).fit(X, y)
    session = ExplanationSession(model, X, explainers=("shap",))
    explanation = session.local_explanation(0, {})
    assert explanation.algorithm.startswith("Permutation SHAP")
    assert explanation.fallback == (
        "the XGBoost model's booster is gblinear, a linear model with no trees for TreeSHAP"
    )
    session.close()


def test_an_xgboost_aft_survival_booster_gets_treeshap_through_the_exp_link():
    # survival:aft predicts exp of its trees' sum, as count:poisson does: it fell back to
    # permutation SHAP, "a transform of that sum with no link known here".
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=list("abc"))
    time = np.exp(1 + 0.5 * X["a"].to_numpy() + rng.normal(size=300) * 0.2)
    matrix = xgboost.DMatrix(X)
    matrix.set_float_info("label_lower_bound", time)
    matrix.set_float_info("label_upper_bound", time)
    booster = xgboost.train({"objective": "survival:aft", "max_depth": 3}, matrix, 8)
    session = ExplanationSession(booster, X, explainers=("shap",))
    explanation = session.local_explanation(2, {})
    assert explanation.algorithm == (
        "TreeSHAP (interventional on the log of the prediction, in the model's units through "
        "the exp link)"
    )
    assert explanation.fallback is None
    own = float(booster.predict(xgboost.DMatrix(X.iloc[[2]]))[0])
    assert explanation.prediction == pytest.approx(own, rel=1e-6)
    total = explanation.base_value + sum(explanation.shap.values())
    assert total == pytest.approx(explanation.prediction, rel=1e-6)
    session.close()


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_a_regressor_with_a_logistic_objective_gets_treeshap_through_the_link(library):
    # XGBRegressor(objective="binary:logistic") and LGBMRegressor(objective="binary") predict
    # the sigmoid of their trees' sum, as reg:logistic does: they fell back to permutation
    # SHAP, "a transform of that sum with no link known here".
    X, y = tables()["binary"]
    if library == "xgboost":
        model = xgboost.XGBRegressor(objective="binary:logistic", n_estimators=8, max_depth=3)
    else:
        model = lightgbm.LGBMRegressor(objective="binary", n_estimators=8, verbose=-1)
    model.fit(X, y)
    session = ExplanationSession(model, X, explainers=("shap",))
    explanation = session.local_explanation(4, {})
    assert explanation.algorithm == (
        "TreeSHAP (interventional on the log-odds of the prediction, in the model's units "
        "through the logistic link)"
    )
    assert explanation.fallback is None
    assert explanation.prediction == pytest.approx(float(model.predict(X.iloc[[4]])[0]), rel=1e-6)
    total = explanation.base_value + sum(explanation.shap.values())
    assert total == pytest.approx(explanation.prediction, rel=1e-6)
    session.close()
