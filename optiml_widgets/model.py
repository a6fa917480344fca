"""One adapter for every model: task, classes, and predictions in the original feature space."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from .boosters import BoosterRegressor, lightgbm_header, tree_model
from .data import FLOAT32_MAX
from .format import counted, first_names

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
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
    "IsolationForest",
}
_TREE_MODULES = ("xgboost", "lightgbm", "catboost")

# How far class probabilities may stray from [0, 1] and from summing to 1 (float32 models).
_PROBABILITY_TOLERANCE = 1e-4


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
        probe_rows: Sequence[int] | np.ndarray | None = None,
        column_labels: Mapping[str, Any] | None = None,
    ) -> None:
        check_class_names_form(class_names)
        if task not in ("auto", "classification", "regression"):
            raise ValueError(
                f"task must be 'auto', 'classification' or 'regression', not {task!r}."
            )
        self.model = model
        # Feature name -> X's own column label where it is not that text (ints, tuples):
        # the model gets frames under the labels it was written for.
        self.column_labels = column_labels
        self.numpy_input = numpy_input  # X was an array (an error names its columns so)
        _check_predictor(model)
        self.is_estimator = hasattr(model, "predict") or hasattr(model, "predict_proba")
        self._first_raw = np.empty(0)  # the first call's output (set by _call_for_probe)
        self._use_proba = False
        self.model_classes: list[Any] | None = None  # labels as the model knows them
        # A function that returns a DataFrame of probabilities names its classes by its
        # columns (read on its first call).
        self._output_columns: list[Any] | None = None
        if isinstance(model, BoosterRegressor):
            self.name = model.name
        elif self.is_estimator:
            self.name = type(model).__name__
        else:
            self.name = getattr(model, "__name__", "function")
        if self.is_estimator:
            _check_fitted(model, self.name)
            self.feature_names_in = _feature_names_in(model)
            # A model fit on an array gets an array (sklearn warns on every call when a model
            # fit without column names is given a DataFrame); one fit on names gets a frame.
            # A frame with no text label gives a model no names (sklearn keeps none), so
            # such a model may have been fit on that very frame, its bools and strings as
            # they are: it gets the frame (a model fit on an array reads it alike).
            unnamed_frame = column_labels is not None and not any(
                isinstance(label, str) for label in column_labels.values()
            )
            fit_on_array = (
                self.feature_names_in is None
                and getattr(model, "n_features_in_", None) is not None
                and not unnamed_frame
            )
            self.wants_frame = self.feature_names_in is not None or not (
                numpy_input or fit_on_array
            )
        else:
            self.feature_names_in = None
            self.wants_frame = True
        # The first call: X's first rows by default, or the positions given (the session's
        # background rows too, whose outputs SHAP needs next: one call instead of three).
        rows = np.arange(min(len(frame), 5)) if probe_rows is None else np.asarray(probe_rows)
        self.task, self.classes = self._detect_task(frame, rows, task, class_names)
        if self.classes is None and class_names is not None:
            raise ValueError(
                f"class_names names classes, but {self.name} is explained as a regressor (one "
                "output): leave class_names out, or pass task='classification' for a function "
                "that returns class probabilities."
            )
        #: The rows of the first call (positions in X) and the model's outputs for them.
        self.first_outputs = (rows, self._normalise(self._first_raw, len(rows)))
        # What a refit in place replaces: the cached outputs, base values and explainers
        # would mix the old model's answers with the new one's.
        self._fitted = fitted_state(model)

    def __getstate__(self) -> dict[str, Any]:
        """A copy (a Dask worker's) takes its own model's state as the fitted one: pickling
        makes new objects of its ints and floats, which would read as a refit."""
        return {k: v for k, v in self.__dict__.items() if k != "_fitted"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._fitted = fitted_state(self.model)

    def check_unchanged(self) -> None:
        """Refuse to go on when the model was fit again since the widget was made."""
        now = fitted_state(self.model)
        if len(now) != len(self._fitted) or any(a is not b for a, b in zip(now, self._fitted)):
            raise ValueError(
                f"The model ({self.name}) was fit again after the widget was made: the "
                "explanations would mix the old model's answers (kept for the background, "
                "the base value and the rows already explained) with the new one's. Make a "
                "new widget for the refit model: explain_widget(model, X)."
            )

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
        cls = type(tree_model(self.model))
        if cls.__name__ in _TREE_CLASSES or cls.__module__.split(".")[0] in _TREE_MODULES:
            return "tree"
        if cls.__module__.startswith("sklearn.linear_model") and not self.is_classifier:
            return "linear"
        return "other"

    def model_input(self, frame: pd.DataFrame) -> Any:
        """What the wrapped model's predict expects: the DataFrame or its values.

        Values of an all-numeric frame are floats with NaN for missing (pandas' NA has no
        float form a model fit on an array could read); other frames give an object array.
        """
        if self.wants_frame:
            return self._labelled(frame)
        if all(_is_number_column(dtype) for dtype in frame.dtypes):
            return frame.to_numpy(dtype=float, na_value=np.nan)
        return frame.to_numpy()

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Model outputs, shape (n_rows, n_outputs): probabilities or values.

        Raises a ValueError naming the rows when the model returns NaN or infinity.
        """
        self.check_unchanged()
        try:
            raw = self._raw_predict(frame)
        except Exception as exc:
            # The model's own error, with where it came from: its first call had worked.
            note = getattr(exc, "add_note", None)  # Python 3.11+
            if note is not None:
                note(
                    f"optiml_widgets called the model on {counted(len(frame), 'row')} here "
                    "(the explainers' batches are of any size; an edit's row holds its values; "
                    f"global_data's rows are its own); its first call, on "
                    f"{counted(len(self._first_raw), 'row')} of X, had worked."
                )
            raise
        out = self._normalise(raw, len(frame))
        expected = self.first_outputs[1].shape[1]
        if out.shape[1] != expected:
            # Column k is read as output k (class k) on every call: another width would
            # explain some other output under that one's name.
            raise ValueError(
                f"The model returned {out.shape[1]} outputs per row, but {expected} on its "
                f"first call (on {counted(len(self._first_raw), 'row')} of X): it must "
                "return the same outputs (one value, or one probability per class in the "
                "same order) on every call."
            )
        _check_finite(out, f"{len(out)} rows")
        if self.is_classifier:
            # Checked on the first call too: a row made later (an edit's) can break it alone.
            _check_probabilities(
                out, f"The model on {counted(len(out), 'row')}", np.arange(len(out))
            )
        return out

    def display_label(self, label: Any) -> Any:
        """A true label (as in y) shown with the class name the user gave, if any."""
        if self.classes is None or self.model_classes is None:
            return label
        for model_label, shown in zip(self.model_classes, self.classes):
            if model_label == label or str(model_label) == str(label):
                return shown
        return label

    def unknown_labels(self, labels: Sequence[Any]) -> list[Any]:
        """The true labels (as in y) that name none of the classes, by the model's labels or
        the names shown for them, each once in order; none for a regressor."""
        if self.classes is None or self.model_classes is None:
            return []
        # As display_label matches them: equal (1.0 is 1) or written alike (1 is "1").
        values = {*self.model_classes, *self.classes}
        texts = {str(c) for c in values}
        unknown: dict[str, Any] = {}
        for label in labels:
            if label is not None and label not in values and str(label) not in texts:
                unknown.setdefault(str(label), label)
        return list(unknown.values())

    # -- internals ----------------------------------------------------------
    def _raw_predict(self, frame: pd.DataFrame) -> np.ndarray:
        if not self.is_estimator:
            out = self.model(self._labelled(frame))
            if (
                isinstance(out, (pd.Series, pd.DataFrame))
                and not out.index.equals(frame.index)
                and len(out) == len(frame)
                and frame.index.is_unique
                and out.index.is_unique
                and set(out.index) == set(frame.index)
            ):
                # The rows' own labels in another order (predicted per group and put
                # together): read by position, each would get another row's output.
                out = out.reindex(frame.index)
            if isinstance(out, pd.DataFrame):
                out = self._in_first_columns(out)
            return np.asarray(out)
        data = self.model_input(frame)
        if self._use_proba:
            out = self.model.predict_proba(data)
            if not isinstance(out, pd.DataFrame):  # the usual array: nothing to read by name
                return np.asarray(out)
            classes = [_plain(c) for c in getattr(self.model, "classes_", [])]
            if len(out.columns) == len(classes) > 1:
                columns = [_plain(c) for c in out.columns]
                distinct = len(set(columns)) == len(columns)
                if columns != classes and distinct and set(columns) == set(classes):
                    # Named by class in another order than classes_: read by those names.
                    out = out.iloc[:, [columns.index(c) for c in classes]]
            return np.asarray(out)
        return np.asarray(self.model.predict(data))

    def _in_first_columns(self, out: pd.DataFrame) -> pd.DataFrame:
        """A function's frame of outputs in the columns of its first one, which named the
        classes: a frame built per call (the likelier class first, a pivot) can come in
        another order, and read by position it would swap the classes."""
        columns = [_plain(c) for c in out.columns]
        first = self._output_columns
        if first is None:
            self._output_columns = columns
            return out
        if columns == first or len(first) < 2:
            return out
        if len(set(columns)) == len(columns) == len(first) and set(columns) == set(first):
            return out.iloc[:, [columns.index(c) for c in first]]
        raise ValueError(
            f"The model returned a frame with columns {columns[:10]}, but {first[:10]} on its "
            "first call: return the same columns (one per class) on every call."
        )

    def _labelled(self, frame: pd.DataFrame) -> pd.DataFrame:
        if not self.column_labels:
            return frame
        return frame.set_axis([self.column_labels.get(n, n) for n in frame.columns], axis=1)

    def _normalise(self, out: np.ndarray, n: int) -> np.ndarray:
        out = _as_numbers(out)
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
        self, frame: pd.DataFrame, rows: np.ndarray, task: str, class_names: Sequence[Any] | None
    ) -> tuple[Task, list[Any] | None]:
        final = self.final_estimator
        probe = frame.iloc[rows]
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
                # A hard-voting ensemble has neither predict_proba nor the decision_function
                # CalibratedClassifierCV would need: soft voting is its probabilistic form.
                fix = (
                    "voting='soft', which averages its estimators' probabilities"
                    if getattr(final, "voting", None) == "hard"
                    else "e.g. SVC(probability=True), or CalibratedClassifierCV around it"
                )
                raise ValueError(
                    f"{self.name} is a classifier without predict_proba: explanations are in "
                    f"probability space, so use a probabilistic classifier ({fix})."
                )
            self._use_proba = classify
            out = self._call_for_probe(probe, rows)
            if classify:
                n_classes = out.shape[1] if out.ndim == 2 else 2
                own = getattr(self.model, "classes_", None)
                labels = list(range(n_classes) if own is None else own)
                if n_classes < 2 or len(labels) < 2:
                    raise ValueError(
                        f"{self.name} was fit on a single class "
                        f"({[_plain(c) for c in labels[:1]]}): its "
                        "probability is 1 for every row, so there is nothing to explain. Fit "
                        "it on data with at least two classes."
                    )
                if hasattr(self.model, "classes_") and len(labels) != n_classes:
                    raise ValueError(
                        f"{self.name}.predict_proba returns {n_classes} probabilities per "
                        f"row but {self.name}.classes_ has {len(labels)} classes "
                        f"({[_plain(c) for c in labels[:10]]}): each column must be the "
                        "probability of the class at its position in classes_. Fix the "
                        "model's classes_ (or predict_proba) so they agree."
                    )
                _check_probabilities(out, f"{self.name}.predict_proba", rows)
                return self._classes(n_classes, labels, class_names, own is not None)
            if out.ndim == 2 and out.shape[1] > 1:
                raise ValueError(
                    f"{self.name}.predict returns {out.shape[1]} outputs per row; only "
                    "single-output regressors are supported: explain one output at a time "
                    "with a function f(X) -> model.predict(X)[:, k]."
                )
            return "regression", None
        out = self._call_for_probe(probe, rows)
        if task == "regression" or (task == "auto" and (out.ndim == 1 or out.shape[1] == 1)):
            if out.ndim == 2 and out.shape[1] > 1:
                raise ValueError(
                    f"task='regression' but the function returns {out.shape[1]} values per "
                    "row: return one value per row."
                )
            return "regression", None
        if task == "auto" and _probability_problem(out, rows) is not None:
            raise ValueError(
                f"The function returns {out.shape[1]} values per row that are not class "
                "probabilities: pass task='regression' with one output, or return "
                "probabilities that sum to 1."
            )
        _check_probabilities(out, "The function", rows)
        n_classes = out.shape[1] if out.ndim == 2 and out.shape[1] > 1 else 2
        # Its columns name the classes (as class_names would: y still reads by position).
        named = self._output_columns
        if named is not None and len({str(c) for c in named}) == n_classes:
            if class_names is None:
                class_names = named
            else:
                check_class_order(class_names, list(named))
        return self._classes(n_classes, list(range(n_classes)), class_names)

    def _call_for_probe(self, probe: pd.DataFrame, rows: np.ndarray) -> np.ndarray:
        """The model's output on the first rows of X (``rows``, positions in X): fails fast,
        before any long work."""
        try:
            raw = self._raw_predict(probe)
        except NotFittedError as exc:
            raise _not_fitted(self.name) from exc
        except Exception as exc:
            fix = (
                _read_only_fix(exc)
                or _categories_fix(self.model, probe)
                or self._texts_fix(probe)
                or "Check that X has the columns and types the model was trained on."
            )
            raise ValueError(
                f"Calling the model on the first rows of X failed ({type(exc).__name__}: "
                f"{exc}). {fix}"
            ) from exc
        if np.ndim(raw) == 0 and np.asarray(raw, dtype=object).item() is None:
            raise ValueError(  # a function that forgot its return statement
                f"The model returned None for {len(probe)} rows: it must return one value "
                "(or one probability per class) per row; check that the function returns them."
            )
        out = _as_numbers(raw)
        if out.ndim == 0 or out.shape[0] != len(probe):
            texts = self._texts_fix(probe)
            raise ValueError(
                f"The model returned an array of shape {out.shape} for {len(probe)} rows: it "
                "must return one value (or one probability per class) per row."
                + (f" {texts}" if texts else "")
            )
        first = np.array_equal(rows, np.arange(len(rows)))
        called = (
            f"the first {len(rows)} rows of X"
            if first
            else f"the {len(rows)} rows of X it was first called on"
        )
        _check_finite(out, called, rows)
        self._first_raw = out
        return out

    def _texts_fix(self, probe: pd.DataFrame) -> str | None:
        """When X is one column of strings that the model failed on: most likely texts given
        as a table (df[["review"]], an (n, 1) array), which a text model reads as one
        document per column. The fix, or None. (A one-column table of strings stays a table:
        a ColumnTransformer reads it so.)"""
        if probe.shape[1] != 1 or not all(isinstance(v, str) for v in probe.iloc[:, 0]):
            return None
        label = (self.column_labels or {}).get(probe.columns[0], probe.columns[0])
        column = "X[:, 0]" if self.numpy_input else f"X[{label!r}]"
        return (
            "X is one column of strings: if they are texts, pass that column as a list or "
            f"Series of texts ({column}) for the text panel; a one-column table is for a "
            "model that picks its column (e.g. a ColumnTransformer)."
        )

    def _classes(
        self,
        n_classes: int,
        labels: list[Any],
        class_names: Sequence[Any] | None,
        labelled: bool = False,
    ) -> tuple[Task, list[Any]]:
        """``labelled``: ``labels`` are the model's own (its classes_), not positions."""
        self.model_classes = [_plain(c) for c in labels]
        if class_names is not None:
            if len(class_names) != n_classes:
                raise ValueError(
                    f"class_names has {len(class_names)} names but the model has {n_classes} "
                    "classes: pass one name per class, in the order of model.classes_."
                )
            check_distinct_names(class_names)
            if labelled:
                check_class_order(class_names, self.model_classes)
            labels = list(class_names)
        else:
            counts = Counter(str(label) for label in labels)
            twice = [label for label, count in counts.items() if count > 1]
            if twice:  # w.target would only ever find the first of them
                raise ValueError(
                    f"{self.name}.classes_ names {twice} more than once (as text): a class "
                    "is chosen by its name (w.target, w.versus), so pass class_names with a "
                    "name of its own for each class, in the order of classes_."
                )
        labels = [_plain(c) for c in labels]
        return ("binary" if n_classes == 2 else "multiclass"), labels


def check_class_names_form(class_names: Any) -> None:
    """Refuse class_names that are not a list of names by position."""
    if isinstance(class_names, (str, bytes)):  # a string is a sequence of letters
        raise TypeError(
            f"class_names must be a list with one name per class (e.g. ['no', 'yes']), "
            f"not the string {class_names!r}."
        )
    if class_names is not None and (
        isinstance(class_names, Mapping)
        or not (hasattr(class_names, "__len__") and hasattr(class_names, "__getitem__"))
    ):
        # A dict's keys would be the names; a set has no order to name outputs by.
        fix = (
            "[names[c] for c in model.classes_]"
            if isinstance(class_names, Mapping)
            else "['no', 'yes']"
        )
        raise TypeError(
            "class_names must be a list with one name per class, in the order of "
            f"model.classes_ (e.g. {fix}), not {type(class_names).__name__}."
        )


def check_class_order(class_names: Sequence[Any], labels: list[Any]) -> None:
    """Refuse the model's own labels in another order: names go by position, so each
    would name another class's probability."""
    names, labels = [_plain(c) for c in class_names], [_plain(c) for c in labels]
    same = sorted(map(str, names)) == sorted(map(str, labels))
    if same and [str(c) for c in names] != [str(c) for c in labels]:
        raise ValueError(
            f"class_names {names} are the model's classes {labels} in another order: "
            "names go by position (the first names the first output), so pass them in the "
            "order of model.classes_, or leave class_names out to use the model's own."
        )


def check_distinct_names(class_names: Sequence[Any]) -> None:
    """Refuse class names given twice: a class is chosen by its name (as text too)."""
    counts = Counter(str(name) for name in class_names)
    twice = [name for name, count in counts.items() if count > 1]
    if twice:
        raise ValueError(
            f"class_names names {twice} more than once: a class is chosen by its name "
            "(w.target, w.versus), so each class needs a name of its own."
        )


def class_position(classes: Sequence[Any], target: Any) -> int | None:
    """The position of class ``target`` among ``classes``: the label itself, its text, a
    whole float for an integer class (3.0 for 3, a value read from a float column), or an
    integer for a whole float class (3 for 3.0, classes fitted on a float column); None
    when no class is it."""
    for i, label in enumerate(classes):
        if (label == target and type(label) is type(target)) or str(label) == str(target):
            return i
    if _whole_float(target):
        for i, label in enumerate(classes):
            if _integer(label) and label == target:
                return i
    if _integer(target):
        for i, label in enumerate(classes):
            if _whole_float(label) and label == target:
                return i
    return None


def classes_as_given(classes: Sequence[Any]) -> list[Any]:
    """The classes to list in a message: integers as they are (3, not '3'), others as text."""
    if all(_integer(label) for label in classes):
        return [int(label) for label in classes]
    return [str(label) for label in classes]


def _integer(value: Any) -> bool:
    """A Python or numpy integer, not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _whole_float(value: Any) -> bool:
    """A Python or numpy float holding a whole number (3.0)."""
    return (
        isinstance(value, (float, np.floating)) and bool(np.isfinite(value)) and value == int(value)
    )


def _check_predictor(model: Any) -> None:
    """Reject what cannot be explained (a class, a clusterer, an outlier detector, a
    transformer) with the fix."""
    if isinstance(model, type):
        raise TypeError(
            f"model is the class {model.__name__}, not a fitted model: pass an instance "
            f"fitted on your data, e.g. {model.__name__}().fit(X, y)."
        )
    name = type(model).__name__
    if _estimator_type(model) == "outlier_detector":
        # Its predict is a label of -1 or 1 per row: explained, it reads as a regressor's
        # two-valued output, which says little of why a row is an outlier.
        raise TypeError(
            f"{name} is an outlier detector: its predict labels rows -1 (outlier) or 1, with "
            "no target to explain. Explain its anomaly score instead, a function of the "
            "rows: explain_widget(model.decision_function, X) (lower is more anomalous; "
            "a LocalOutlierFactor needs novelty=True for it)."
        )
    fit_predict_only = hasattr(model, "fit_predict") and not (
        hasattr(model, "predict") or hasattr(model, "predict_proba")
    )
    if fit_predict_only or _estimator_type(model) == "clusterer":
        raise TypeError(
            f"{name} is a clustering model: it groups rows instead of predicting a target, "
            "so there is no prediction to explain. Pass a classifier or regressor; to explain "
            "its clusters, fit a classifier on its labels and pass that, e.g. "
            "RandomForestClassifier().fit(X, model.labels_)."
        )
    if not (hasattr(model, "predict") or hasattr(model, "predict_proba") or callable(model)):
        hint = (
            f" {name} transforms data (it has transform): put it in a Pipeline that ends in a "
            "model, e.g. make_pipeline(transformer, LogisticRegression()).fit(X, y)."
            if hasattr(model, "transform")
            else ""
        )
        raise TypeError(
            f"model ({name}) has no usable predict: pass a fitted estimator with "
            f"predict/predict_proba, or a function f(DataFrame) -> array.{hint}"
        )


def _estimator_type(model: Any) -> str | None:
    """sklearn's estimator type ("classifier", "clusterer", ...) of a model, if it says."""
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    declared = getattr(final, "_estimator_type", None)  # older sklearn, other libraries
    if hasattr(final, "__sklearn_tags__"):
        with contextlib.suppress(Exception):
            from sklearn.utils import get_tags

            return get_tags(final).estimator_type or declared
    return declared


def _as_numbers(out: Any) -> np.ndarray:
    """The model's output as floats, or an error saying what it returned instead."""
    array = np.asarray(out)
    if array.dtype.kind in "biuf":
        return array.astype(float, copy=False)
    if array.dtype.kind == "c":  # numpy would drop the imaginary part with a warning
        example = array.ravel()[:1].tolist()
        raise ValueError(
            f"The model returned complex numbers (e.g. {example}): return real numbers, "
            "class probabilities or values (e.g. np.abs(z) or z.real, as the model means)."
        )
    try:
        return array.astype(float)
    except (TypeError, ValueError):
        example = array.ravel()[:1].tolist() if array.size else []
        raise ValueError(
            f"The model returned values that are not numbers (e.g. {example}): return class "
            "probabilities or numbers; for a classifier pass one with predict_proba."
        ) from None


def _check_finite(out: np.ndarray, rows_called: str, numbers: np.ndarray | None = None) -> None:
    """A ValueError naming NaN, infinite or float32-overflowing model outputs (and the rows:
    positions in ``out``, or the row ``numbers`` they stand for) when there are any."""
    finite = np.isfinite(out)
    # The export packs SHAP values with a float32 scale: beyond its range they would read
    # as infinite, so such outputs are refused like infinite ones.
    bad = ~finite | (np.abs(np.where(finite, out, 0.0)) > FLOAT32_MAX)
    if not bad.any():
        return
    rows = np.flatnonzero(bad.reshape(len(out), -1).any(axis=1))
    if numbers is not None:
        rows = numbers[rows]
    if np.isnan(out).any():
        what, fix = (
            "NaN",
            (
                "Fill or drop the missing values the model cannot handle (.isna().sum() shows "
                "where they are in X, background= or global_data), or fix the model so it "
                "returns a number for every row: these may be rows the explainers made, X's "
                "rows with some values taken from others (SHAP) or drawn near them (LIME)."
            ),
        )
    elif not finite.all():
        what, fix = (
            "infinite values",
            (
                "Fix the model so it returns a finite number for every row (a division by zero "
                "or an overflowing exp gives infinity)."
            ),
        )
    else:
        what, fix = (
            "values beyond ±3.4e38",
            (
                "The export packs SHAP values with a float32 scale: scale the target (e.g. "
                "predict in thousands) so outputs stay within that range."
            ),
        )
    raise ValueError(
        f"The model returned {what} for {len(rows)} of {rows_called} (rows "
        f"{rows[:5].tolist()}): explanations need a finite output for every row. {fix}"
    )


def _probability_problem(out: np.ndarray, numbers: np.ndarray) -> str | None:
    """What makes an output not class probabilities, or None (rows named by ``numbers``)."""
    if out.ndim == 1:
        out = out[:, None]  # P(positive class) of a binary task
    if out.ndim != 2 or out.size == 0:
        return None
    if out.min() < -_PROBABILITY_TOLERANCE or out.max() > 1 + _PROBABILITY_TOLERANCE:
        return f"values outside [0, 1] (e.g. {float(out.flat[np.argmax(np.abs(out - 0.5))]):g})"
    if out.shape[1] > 1:
        sums = out.sum(axis=1)
        worst = int(np.argmax(np.abs(sums - 1)))
        if abs(sums[worst] - 1) > _PROBABILITY_TOLERANCE:
            return f"rows that do not sum to 1 (row {numbers[worst]} sums to {sums[worst]:.6g})"
    return None


def _check_probabilities(out: np.ndarray, source: str, numbers: np.ndarray) -> None:
    problem = _probability_problem(out, numbers)
    if problem is not None:
        raise ValueError(
            f"{source} returns {problem}: explanations of a classifier are in probability "
            "space, so each row must hold class probabilities in [0, 1] that sum to 1. "
            "Calibrate or normalise the model (e.g. CalibratedClassifierCV), or explain a "
            "score instead with task='regression' and f(X) -> one value per row."
        )


def _read_only_fix(exc: Exception) -> str | None:
    """When the model wrote into the values it was given (numpy's words for it): the fix."""
    if not isinstance(exc, ValueError) or "read-only" not in str(exc):
        return None
    return (
        "The model writes into the values it is given, which reach it read-only (X's own, "
        "shared with the explainers): copy them in the model first (e.g. X = np.array(X, "
        "dtype=float)) or use an operation that returns a new array (X = X - mean)."
    )


def _categories_fix(model: Any, frame: pd.DataFrame) -> str | None:
    """When the model splits on pandas categories that X holds otherwise (LightGBM, XGBoost):
    which columns, and the fix; None when that is not the problem."""
    kinds: list[bool] = []
    with contextlib.suppress(Exception):  # an error path: any model may be here
        native = tree_model(model)
        package = type(native).__module__.split(".")[0]
        if package == "lightgbm":
            booster = getattr(native, "booster_", native)
            infos = lightgbm_header(booster)["feature_infos"]
            kinds = [bool(info.get("values")) for info in infos.values()]
        elif package == "xgboost":
            booster = native.get_booster() if hasattr(native, "get_booster") else native
            kinds = [kind == "c" for kind in booster.feature_types or []]
    if len(kinds) != frame.shape[1]:
        return None
    # By position: LightGBM renames columns with spaces; X is in the model's order already.
    wrong = [
        str(name)
        for name, categorical in zip(frame.columns, kinds)
        if categorical and not isinstance(frame[name].dtype, pd.CategoricalDtype)
    ]
    if not wrong:
        return None
    first = wrong[0]
    return (
        f"The model splits on {wrong[:5]}{' …' if len(wrong) > 5 else ''} as pandas "
        f"categories, but X holds them as {frame[first].dtype}: give X the training "
        f"data's category dtype, e.g. X[{first!r}] = X[{first!r}].astype("
        f"X_train[{first!r}].dtype)."
    )


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _is_number_column(dtype: Any) -> bool:
    return pd.api.types.is_numeric_dtype(dtype) and not isinstance(dtype, pd.CategoricalDtype)


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
    # Only sklearn-style estimators can be asked; for any other model the probe call tells.
    if not hasattr(model, "fit") or not hasattr(model, "__sklearn_tags__"):
        return
    try:
        check_is_fitted(model)
    except NotFittedError as exc:
        raise _not_fitted(name) from exc
    except (TypeError, AttributeError):
        pass


def _is_lightgbm(model: Any) -> bool:
    if getattr(model, "package", None) == "lightgbm":  # a native Booster, wrapped
        return True
    return type(model).__module__.split(".")[0] == "lightgbm"


def _spaces_renamed(extra: list[str], missing: list[str]) -> dict[str, str]:
    """The model's name -> X's column, for columns the model knows with their spaces as
    underscores (LightGBM stores "mean radius" as "mean_radius" and predicts by position)."""
    if not extra or not missing:
        return {}
    by_rewrite: dict[str, list[str]] = {}
    for column in extra:
        if " " in column:
            by_rewrite.setdefault(column.replace(" ", "_"), []).append(column)
    # Only a one-to-one match: two columns that both read "a_b" would be a guess.
    return {name: by_rewrite[name][0] for name in missing if len(by_rewrite.get(name, ())) == 1}


def _fitted_names_read(model: Any) -> str:
    """How the user reads the names ``model`` was fit on: a native Booster has no
    ``feature_names_in_`` (that is our wrapper's)."""
    if isinstance(model, BoosterRegressor):
        return "booster.feature_name()" if model.package == "lightgbm" else "booster.feature_names"
    return "model.feature_names_in_"


def align_columns(model: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """Check X's columns against what the model saw in fit and put them in the model's order."""
    fitted_names = _feature_names_in(model) if hasattr(model, "predict") else None
    if fitted_names is not None:
        fitted, given = list(fitted_names), frame.columns.tolist()
        if given == fitted:  # the usual case: no copy (a wide X is tens of MB)
            return frame
        fitted_set, given_set = set(fitted), set(given)  # wide data: no n x n scans
        extra = [c for c in given if c not in fitted_set]
        missing = [c for c in fitted if c not in given_set]
        renamed = _spaces_renamed(extra, missing) if _is_lightgbm(model) else {}
        if renamed:
            # The model's calls and every view keep the user's names; only the order is the model's.
            fitted = [renamed.get(c, c) for c in fitted]
            taken = set(renamed.values())
            extra = [c for c in extra if c not in taken]
            missing = [c for c in missing if c not in renamed]
        if extra or missing:
            parts = []
            if extra:
                parts.append(f"X has columns the model did not see in fit: {first_names(extra)}")
            if missing:
                parts.append(f"X lacks columns the model was fit on: {first_names(missing)}")
            unnamed = given == [f"x{i}" for i in range(frame.shape[1])]
            names = _fitted_names_read(model)
            underscored = next((c for c in missing if "_" in c), None)
            if unnamed and len(fitted_names) == frame.shape[1]:
                fix = (
                    f"X has no column names (an array): pass feature_names=list({names}), "
                    "or a DataFrame with the model's columns."
                )
            elif _is_lightgbm(model) and underscored is not None:
                # X[names] would be a KeyError: LightGBM's names are not X's.
                fix = (
                    f"Pass X with the columns the model was fit on ({names} lists them; "
                    "LightGBM writes a space in a name as '_': X's "
                    f"{underscored.replace('_', ' ')!r} is its {underscored!r})."
                )
            else:
                fix = f"Pass X with exactly the model's columns, e.g. X[{names}]."
            raise ValueError("; ".join(parts) + ". " + fix)
        return frame[fitted]
    n_in = getattr(model, "n_features_in_", None) if hasattr(model, "predict") else None
    if n_in is not None and n_in != frame.shape[1]:
        raise ValueError(
            f"X has {frame.shape[1]} columns but the model was fit on {n_in}: pass X with the "
            "columns the model was trained on."
        )
    return frame


def fitted_state(model: Any, depth: int = 0) -> tuple[Any, ...]:
    """The objects a refit replaces: an estimator's fitted attributes (scikit-learn's
    trailing underscore, XGBoost's and LightGBM's booster) and its steps' (a Pipeline fits
    its steps in place). A function has none."""
    attributes = getattr(model, "__dict__", None)
    if not isinstance(attributes, dict) or depth > 3:
        return ()
    found = [
        value
        for name, value in list(attributes.items())  # one step: a refit may run beside
        if (name.endswith("_") and not name.endswith("__")) or name == "_Booster"
    ]
    if isinstance(model, Pipeline):
        for _, step in model.steps:
            found.extend(fitted_state(step, depth + 1))
    return tuple(found)
