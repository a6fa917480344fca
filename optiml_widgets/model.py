"""One adapter for every model: task, classes, and predictions in the original feature space."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

Task = Literal["binary", "multiclass", "regression"]

_TREE_CLASSES = {
    "DecisionTreeClassifier",
    "DecisionTreeRegressor",
    "RandomForestClassifier",
    "RandomForestRegressor",
    "ExtraTreesClassifier",
    "ExtraTreesRegressor",
    "GradientBoostingClassifier",
    "GradientBoostingRegressor",
    "IsolationForest",
}
_TREE_MODULES = ("xgboost", "lightgbm", "catboost")


class ModelAdapter:
    """Wraps a fitted model so that ``predict(frame)`` gives one column per explained output.

    Classifiers give class probabilities (n, n_classes); regressors and plain functions give
    values (n, 1). ``frame`` is a DataFrame with X's original columns and types.
    """

    def __init__(
        self,
        model: Any,
        frame: pd.DataFrame,
        *,
        task: str = "auto",
        class_names: Sequence[Any] | None = None,
        numpy_input: bool = False,
    ) -> None:
        if task not in ("auto", "classification", "regression"):
            raise ValueError(
                f"task must be 'auto', 'classification' or 'regression', not {task!r}."
            )
        self.model = model
        self.is_estimator = hasattr(model, "predict") or hasattr(model, "predict_proba")
        if not self.is_estimator and not callable(model):
            raise TypeError(
                f"model ({type(model).__name__}) has no usable predict: pass a fitted estimator "
                "with predict/predict_proba, or a function f(DataFrame) -> array."
            )
        self._use_proba = False
        self.model_classes: list[Any] | None = None  # labels as the model knows them
        self.name = (
            type(model).__name__ if self.is_estimator else getattr(model, "__name__", "function")
        )
        if self.is_estimator:
            _check_fitted(model, self.name)
            self.feature_names_in = _feature_names_in(model)
            # Models fit without column names want arrays: avoid sklearn's feature-name warning.
            self.wants_frame = self.feature_names_in is not None or not numpy_input
        else:
            self.feature_names_in = None
            self.wants_frame = True
        self.task, self.classes = self._detect_task(frame, task, class_names)

    # -- public -------------------------------------------------------------
    @property
    def is_classifier(self) -> bool:
        """True for binary and multiclass tasks."""
        return self.task != "regression"

    @property
    def output_names(self) -> list[str]:
        """Display names of the explained outputs: the classes, or ["prediction"]."""
        return [str(c) for c in self.classes] if self.classes is not None else ["prediction"]

    @property
    def final_estimator(self) -> Any:
        """The model itself, or the last step of a Pipeline."""
        return self.model.steps[-1][1] if isinstance(self.model, Pipeline) else self.model

    @property
    def family(self) -> Literal["tree", "linear", "other"]:
        """Which SHAP algorithm fits the model as given (a Pipeline is always "other")."""
        if isinstance(self.model, Pipeline) or not self.is_estimator:
            return "other"
        cls = type(self.model)
        if cls.__name__ in _TREE_CLASSES or cls.__module__.split(".")[0] in _TREE_MODULES:
            return "tree"
        if cls.__module__.startswith("sklearn.linear_model") and not self.is_classifier:
            return "linear"
        return "other"

    def model_input(self, frame: pd.DataFrame) -> Any:
        """What the wrapped model's predict expects: the DataFrame or its values."""
        return frame if self.wants_frame else frame.to_numpy()

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Model outputs, shape (n_rows, n_outputs): probabilities or values."""
        return self._normalise(self._raw_predict(frame), len(frame))

    def display_label(self, label: Any) -> Any:
        """A true label (as in y) shown with the class name the user gave, if any."""
        if self.classes is None or self.model_classes is None:
            return label
        for model_label, shown in zip(self.model_classes, self.classes):
            if model_label == label or str(model_label) == str(label):
                return shown
        return label

    # -- internals ----------------------------------------------------------
    def _raw_predict(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.is_estimator:
            return np.asarray(self.model(frame))
        data = self.model_input(frame)
        if self._use_proba:
            return np.asarray(self.model.predict_proba(data))
        return np.asarray(self.model.predict(data))

    def _normalise(self, out: np.ndarray, n: int) -> np.ndarray:
        out = np.asarray(out, dtype=float)
        if out.ndim == 1:
            out = out.reshape(-1, 1)
        if out.ndim != 2 or out.shape[0] != n:
            raise ValueError(
                f"The model returned an array of shape {out.shape} for {n} rows: it must "
                "return one value (or one probability per class) per row."
            )
        if self.is_classifier and out.shape[1] == 1:
            # A function returning P(positive class) for a binary task.
            out = np.hstack([1.0 - out, out])
        return out

    def _detect_task(
        self, frame: pd.DataFrame, task: str, class_names: Sequence[Any] | None
    ) -> tuple[Task, list[Any] | None]:
        final = self.final_estimator
        probe = frame.head(min(len(frame), 5))
        if self.is_estimator:
            has_proba = hasattr(self.model, "predict_proba")
            is_classifier = getattr(final, "_estimator_type", None) == "classifier" or (
                has_proba and hasattr(self.model, "classes_")
            )
            with contextlib.suppress(Exception):
                is_classifier = is_classifier or _sklearn_is_classifier(final)
            if task == "regression" and is_classifier:
                raise ValueError(
                    f"task='regression' but {self.name} is a classifier: use "
                    "task='classification' (or 'auto')."
                )
            if task == "classification" and not has_proba:
                raise ValueError(
                    f"task='classification' needs class probabilities but {self.name} has no "
                    "predict_proba: use a probabilistic classifier (e.g. SVC(probability=True)) "
                    "or pass a function that returns probabilities."
                )
            classify = is_classifier if task == "auto" else task == "classification"
            if classify and not has_proba:
                raise ValueError(
                    f"{self.name} is a classifier without predict_proba: explanations are in "
                    "probability space, so use a probabilistic classifier (e.g. "
                    "SVC(probability=True), or CalibratedClassifierCV around it)."
                )
            self._use_proba = classify
            out = self._call_for_probe(probe)
            if classify:
                n_classes = out.shape[1] if out.ndim == 2 else 2
                labels = list(getattr(self.model, "classes_", range(n_classes)))
                return self._classes(n_classes, labels, class_names)
            if out.ndim == 2 and out.shape[1] > 1:
                raise ValueError(
                    f"{self.name}.predict returns {out.shape[1]} outputs per row; only "
                    "single-output regressors are supported: explain one output at a time "
                    "with a function f(X) -> model.predict(X)[:, k]."
                )
            return "regression", None
        out = self._call_for_probe(probe)
        if task == "regression" or (task == "auto" and (out.ndim == 1 or out.shape[1] == 1)):
            if out.ndim == 2 and out.shape[1] > 1:
                raise ValueError(
                    f"task='regression' but the function returns {out.shape[1]} values per "
                    "row: return one value per row."
                )
            return "regression", None
        if task == "auto":
            looks_like_proba = (
                np.all(out >= -1e-9)
                and np.all(out <= 1 + 1e-9)
                and np.allclose(out.sum(axis=1), 1, atol=1e-6)
            )
            if not looks_like_proba:
                raise ValueError(
                    f"The function returns {out.shape[1]} values per row that are not class "
                    "probabilities: pass task='regression' with one output, or return "
                    "probabilities that sum to 1."
                )
        n_classes = out.shape[1] if out.ndim == 2 and out.shape[1] > 1 else 2
        return self._classes(n_classes, list(range(n_classes)), class_names)

    def _call_for_probe(self, probe: pd.DataFrame) -> np.ndarray:
        try:
            return np.asarray(self._raw_predict(probe))
        except NotFittedError as exc:
            raise _not_fitted(self.name) from exc
        except Exception as exc:
            raise ValueError(
                f"Calling the model on the first rows of X failed ({type(exc).__name__}: {exc}). "
                "Check that X has the columns and types the model was trained on."
            ) from exc

    def _classes(
        self, n_classes: int, labels: list[Any], class_names: Sequence[Any] | None
    ) -> tuple[Task, list[Any]]:
        self.model_classes = [c.item() if isinstance(c, np.generic) else c for c in labels]
        if class_names is not None:
            if len(class_names) != n_classes:
                raise ValueError(
                    f"class_names has {len(class_names)} names but the model has {n_classes} "
                    "classes: pass one name per class, in the order of model.classes_."
                )
            labels = list(class_names)
        labels = [c.item() if isinstance(c, np.generic) else c for c in labels]
        return ("binary" if n_classes == 2 else "multiclass"), labels


def _sklearn_is_classifier(estimator: Any) -> bool:
    from sklearn.base import is_classifier

    return bool(is_classifier(estimator))


def _feature_names_in(model: Any) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    return [str(n) for n in names] if names is not None else None


def _not_fitted(name: str) -> NotFittedError:
    return NotFittedError(
        f"This {name} is not fitted yet: call model.fit(X, y) before explain_widget(model, X)."
    )


def _check_fitted(model: Any, name: str) -> None:
    if not hasattr(model, "fit"):
        return
    try:
        check_is_fitted(model)
    except NotFittedError as exc:
        raise _not_fitted(name) from exc
    except TypeError:
        pass  # not an sklearn-style estimator: the probe call will tell


def align_columns(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """Check X's columns against what the model saw in fit and put them in the model's order."""
    fitted_names = _feature_names_in(model) if hasattr(model, "predict") else None
    if fitted_names is not None:
        extra = [c for c in frame.columns if c not in fitted_names]
        missing = [c for c in fitted_names if c not in frame.columns]
        if extra or missing:
            parts = []
            if extra:
                parts.append(f"X has columns the model did not see in fit: {extra[:10]}")
            if missing:
                parts.append(f"X lacks columns the model was fit on: {missing[:10]}")
            raise ValueError(
                "; ".join(parts)
                + ". Pass X with exactly the model's columns, e.g. X[model.feature_names_in_]."
            )
        return frame[fitted_names]
    n_in = getattr(model, "n_features_in_", None) if hasattr(model, "predict") else None
    if n_in is not None and n_in != frame.shape[1]:
        raise ValueError(
            f"X has {frame.shape[1]} columns but the model was fit on {n_in}: pass X with the "
            "columns the model was trained on."
        )
    return frame
