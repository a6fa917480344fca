"""LightGBM's and XGBoost's native Boosters (``lightgbm.train``, ``xgboost.train``) with
scikit-learn's face, so that they are explained like their scikit-learn wrappers.

A Booster knows its objective but not the scikit-learn API: its ``predict`` gives P(class 1)
for a binary objective, a probability per class for a multiclass one, and (XGBoost) wants a
DMatrix. The wrapper reads the objective once and answers ``predict_proba`` for the
classification objectives and ``predict`` for the others; TreeSHAP gets the Booster itself
(``tree_model``). Classes are the objective's 0 .. k-1; ``class_names`` names them.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import numpy as np

Link = Literal["log", "logit"]

# Objectives whose output is not class probabilities and cannot be made so.
_NO_PROBABILITIES = {
    "binary:hinge": "predicts 0 or 1 with no probability",
    "multiclassova": "gives one-vs-all scores that need not sum to 1",
    "multiclass_ova": "gives one-vs-all scores that need not sum to 1",
    "ova": "gives one-vs-all scores that need not sum to 1",
}


def as_estimator(model: Any) -> Any:
    """A native Booster wrapped as a scikit-learn-style estimator; any other model as it is."""
    package = type(model).__module__.split(".")[0]
    if type(model).__name__ != "Booster" or package not in ("lightgbm", "xgboost"):
        steps = getattr(model, "steps", None)
        if isinstance(steps, list) and steps and isinstance(steps[-1], tuple):
            final = steps[-1][-1]  # a Pipeline's model answers its predict_proba
            if type(final).__module__.split(".")[0] in ("lightgbm", "xgboost"):
                _check_probabilities(type(final).__name__, _fitted_objective(final))
        if package in ("lightgbm", "xgboost") and hasattr(model, "predict_proba"):
            # The scikit-learn wrapper's predict_proba answers for these too: with 0 and 1
            # (XGBoost's binary:hinge), which read as certain probabilities.
            name, fitted = type(model).__name__, _fitted_objective(model)
            _check_probabilities(name, fitted)
            if fitted == "binary:logitraw":
                # Its predict_proba answers the log-odds as they are; its Booster's are read
                # through the sigmoid (BoosterClassifier).
                raise ValueError(
                    f"The {name}'s objective 'binary:logitraw' makes its predict_proba answer "
                    "log-odds, not probabilities: pass model.get_booster(), whose log-odds are "
                    "explained as probabilities through the sigmoid, or train with "
                    "'binary:logistic'."
                )
        return model
    regressor = BoosterRegressor(model, package)
    _check_probabilities(f"{regressor.library} Booster", regressor.objective)
    if regressor.objective.split(":")[0] in ("binary", "multi", "multiclass"):
        return BoosterClassifier(model, package)
    return regressor


def _fitted_objective(model: Any) -> str | None:
    """A fitted scikit-learn wrapper's objective; None before it is fitted (said elsewhere)."""
    try:
        return objective(model)
    except Exception:
        return None


def _check_probabilities(name: str, objective: str | None) -> None:
    """Refuse a classifier whose objective gives no class probabilities, with the fix."""
    if objective in _NO_PROBABILITIES:
        raise ValueError(
            f"The {name}'s objective {objective!r} {_NO_PROBABILITIES[objective]}, and a "
            "classifier is explained in probability space: train with a probabilistic "
            "objective ('binary', 'multiclass'; 'binary:logistic', 'multi:softprob'), or pass "
            "a function f(DataFrame) -> class probabilities."
        )


# Regression objectives whose prediction is a link's inverse of the trees' sum (the margin):
# exp for a log link, the sigmoid for a logit link. Keyed by the library and the objective's
# name as the model itself stores it (``objective``).
_LINKS: dict[str, dict[str, Link]] = {
    "xgboost": {
        "count:poisson": "log",
        "reg:gamma": "log",
        "reg:tweedie": "log",
        "survival:cox": "log",
        "survival:aft": "log",  # the predicted time, whatever aft_loss_distribution
        "reg:logistic": "logit",
        "binary:logistic": "logit",  # an XGBRegressor's (its classifier is explained as one)
    },
    "lightgbm": {
        "poisson": "log",
        "gamma": "log",
        "tweedie": "log",
        "cross_entropy": "logit",
        "binary": "logit",  # an LGBMRegressor's
    },
    "sklearn": {"poisson": "log", "gamma": "log"},  # HistGradientBoostingRegressor's loss
}


def objective(model: Any) -> str | None:
    """The objective a tree model was trained with, as its library names it (XGBoost's
    "count:poisson", LightGBM's "tweedie", scikit-learn's loss); None where it has none."""
    if isinstance(model, BoosterRegressor):
        return model.objective
    package = type(model).__module__.split(".")[0]
    if package == "xgboost" and hasattr(model, "get_booster"):
        return _xgboost_objective(model.get_booster())
    if package == "lightgbm" and hasattr(model, "booster_"):
        return _lightgbm_objective(model.booster_)
    loss = getattr(model, "loss", None)
    return loss if package == "sklearn" and isinstance(loss, str) else None


def margin_link(model: Any) -> Link | None:
    """The link between a regressor's trees' sum and its prediction: "log" where the model
    predicts exp(sum), "logit" where it predicts the sigmoid of it; None where it predicts
    the sum itself or its objective is not one known here."""
    package = model.package if isinstance(model, BoosterRegressor) else None
    package = package or type(model).__module__.split(".")[0]
    return _LINKS.get(package, {}).get(objective(model) or "")


def margin(model: Any, X: Any) -> np.ndarray | None:
    """The sum of a boosted regressor's trees for rows ``X`` (its margin, before the
    objective's transform), as its own library computes it; None where it gives none."""
    if isinstance(model, BoosterRegressor):
        out = model._predict(X, output_margin=True)
    elif type(model).__module__.startswith("xgboost") and hasattr(model, "get_booster"):
        out = model.predict(X, output_margin=True)
    elif type(model).__module__.startswith("lightgbm") and hasattr(model, "booster_"):
        out = model.predict(X, raw_score=True)
    else:
        return None
    return np.asarray(out, dtype=float) / averaged_trees(model)


def averaged_trees(model: Any) -> int:
    """How many iterations the model averages its trees over where its library's raw score
    and shap's TreeSHAP add them up: LightGBM's random forest (boosting="rf") predicts from
    the mean of its iterations' trees, its ``raw_score`` and TreeSHAP give their sum. 1 for
    a model that predicts from the sum."""
    booster = tree_model(model)
    booster = getattr(booster, "booster_", booster)
    if type(booster).__module__.split(".")[0] != "lightgbm" or not hasattr(booster, "dump_model"):
        return 1
    if not lightgbm_header(booster).get("average_output"):
        return 1
    # The iterations its predict uses (and shap reads): up to the best one, if any.
    best = int(booster.best_iteration or 0)
    return max(1, best if best > 0 else int(booster.current_iteration()))


def _xgboost_objective(booster: Any) -> str:
    return str(json.loads(booster.save_config())["learner"]["objective"]["name"])


def lightgbm_header(booster: Any) -> dict[str, Any]:
    """A LightGBM Booster's own header (objective, average_output, feature_infos), read
    from a dump of its first tree only. Its ``params`` may be empty for a Booster loaded
    from a file, and hold an alias such as "xentropy" for one trained in this process."""
    return booster.dump_model(num_iteration=1)


def _lightgbm_objective(booster: Any) -> str:
    header = str(lightgbm_header(booster).get("objective", ""))
    return header.split(" ")[0] or "regression"


def tree_model(model: Any) -> Any:
    """What shap's TreeExplainer reads: a wrapped Booster's own self, else the model."""
    return model.booster if isinstance(model, BoosterRegressor) else model


def trees_past_best(model: Any) -> str | None:
    """Why no TreeSHAP adds up to an early-stopped native XGBoost Booster's output, with the
    fix; else None. Its predict adds every tree, where shap reads the trees up to its
    best_iteration only (as XGBoost's scikit-learn models predict)."""
    booster = tree_model(model)
    if type(booster).__module__.split(".")[0] != "xgboost" or not hasattr(
        booster, "num_boosted_rounds"
    ):
        return None
    best = booster.attr("best_iteration")
    rounds = int(booster.num_boosted_rounds())
    if best is None or int(best) + 1 >= rounds:
        return None
    return (
        f"the Booster was early-stopped at round {int(best)} and predicts with all {rounds} "
        "rounds, where TreeSHAP reads those up to its best one: to explain the early-stopped "
        "model, pass booster[: booster.best_iteration + 1]"
    )


def no_treeshap(model: Any) -> str | None:
    """Why no TreeSHAP explains this tree library's model, known before trying; else None:
    LightGBM's linear trees (``linear_tree=True``), where shap reads each leaf as its
    constant and LightGBM has no SHAP values for them; XGBoost's gblinear, which has no
    trees."""
    booster = tree_model(model)
    package = type(booster).__module__.split(".")[0]
    if package == "lightgbm":
        booster = getattr(booster, "booster_", booster)
        linear = (getattr(booster, "params", None) or {}).get("linear_tree", False)
        if str(linear).lower() not in ("true", "1"):
            return None
        return (
            "the LightGBM model has linear trees (linear_tree=True), a linear model in each "
            "leaf, where shap's TreeSHAP reads a constant and LightGBM computes no SHAP values"
        )
    if package == "xgboost" and hasattr(booster, "get_booster"):
        booster = booster.get_booster()
    if package != "xgboost" or not hasattr(booster, "save_config"):
        return None
    config = json.loads(booster.save_config())["learner"]
    if config.get("gradient_booster", {}).get("name") != "gblinear":
        return None
    return "the XGBoost model's booster is gblinear, a linear model with no trees for TreeSHAP"


class BoosterRegressor:
    """A native LightGBM or XGBoost Booster whose output is explained as it is."""

    _estimator_type = "regressor"

    def __init__(self, booster: Any, package: str) -> None:
        self.booster = booster
        self.package = package
        self.library = "LightGBM" if package == "lightgbm" else "XGBoost"
        self.objective = self._objective()
        names = self._feature_names()
        if names is not None:
            self.feature_names_in_ = np.array(names, dtype=object)
        self.n_features_in_ = int(
            booster.num_feature() if package == "lightgbm" else booster.num_features()
        )

    @property
    def name(self) -> str:
        """How messages name the model."""
        return f"{self.library} Booster ({self.objective})"

    def __repr__(self) -> str:
        return self.name

    def predict(self, X: Any) -> np.ndarray:
        return np.asarray(self._predict(X), dtype=float)

    def _predict(self, X: Any, *, output_margin: bool = False) -> Any:
        if self.package == "lightgbm":
            return self.booster.predict(X, raw_score=output_margin)
        import xgboost

        matrix = xgboost.DMatrix(X, enable_categorical=True)
        return self.booster.predict(matrix, output_margin=output_margin)

    def _objective(self) -> str:
        if self.package == "lightgbm":
            return _lightgbm_objective(self.booster)
        return _xgboost_objective(self.booster)

    def _feature_names(self) -> list[str] | None:
        """The Booster's column names, unless they are the ones it makes up for an array."""
        if self.package == "lightgbm":
            names = list(self.booster.feature_name())
            made_up = names == [f"Column_{i}" for i in range(len(names))]
        else:
            names = list(self.booster.feature_names or [])
            made_up = not names
        return None if made_up else [str(n) for n in names]


class BoosterClassifier(BoosterRegressor):
    """A Booster with a classification objective: class probabilities, classes 0 .. k-1."""

    _estimator_type = "classifier"

    def __init__(self, booster: Any, package: str) -> None:
        super().__init__(booster, package)
        if package == "lightgbm":
            n_classes = int(booster.num_model_per_iteration())
        else:
            config = json.loads(booster.save_config())["learner"]["learner_model_param"]
            n_classes = int(config.get("num_class", 0) or 0)
        self.classes_ = np.arange(max(2, n_classes))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class."""
        return np.asarray(self.predict_proba(X).argmax(axis=1))

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, (n, classes)."""
        if self.objective in ("binary:logitraw", "multi:softmax"):
            # These answer with margins or labels: their probabilities are the sigmoid or
            # softmax of the margins, as binary:logistic and multi:softprob give.
            margins = np.asarray(self._predict(X, output_margin=True), dtype=float)
            if margins.ndim == 1:
                positive = 1.0 / (1.0 + np.exp(-margins))
                return np.column_stack([1.0 - positive, positive])
            shifted = np.exp(margins - margins.max(axis=1, keepdims=True))
            return shifted / shifted.sum(axis=1, keepdims=True)
        out = np.asarray(self._predict(X), dtype=float)
        return np.column_stack([1.0 - out, out]) if out.ndim == 1 else out
