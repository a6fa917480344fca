"""Models that are not what explanations need, and outputs that are not numbers: each named
at the first call with the fix, before any long work."""

from __future__ import annotations

import re
import sys
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import breast_cancer, diabetes
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    IsolationForest,
    RandomForestRegressor,
)
from sklearn.linear_model import LinearRegression
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM
from sklearn.tree import DecisionTreeClassifier

from optiml_widgets import explain_widget
from optiml_widgets.model import ModelAdapter


class PlainRegressor:
    """fit/predict like scikit-learn, but no scikit-learn base class (no __sklearn_tags__)."""

    def fit(self, X, y):
        self.coef_ = np.linalg.lstsq(np.asarray(X, dtype=float), np.asarray(y), rcond=None)[0]
        return self

    def predict(self, X):
        return np.asarray(X, dtype=float) @ self.coef_


class FixedProbabilities:
    """A classifier-like object whose predict_proba returns the rows it was given."""

    _estimator_type = "classifier"

    def __init__(self, row, classes=(0, 1)):
        self.row = np.asarray(row, dtype=float)
        self.classes_ = np.asarray(classes)

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def predict_proba(self, X):
        return np.tile(self.row, (len(X), 1))


def small_regression() -> tuple[pd.DataFrame, pd.Series]:
    X, y = diabetes()
    return X.head(60), y.head(60)


def test_a_plain_fit_predict_object_is_explained():
    X, y = small_regression()
    model = PlainRegressor().fit(X, y)
    w = explain_widget(model, X, explainers=("shap",))
    assert w.explanation.prediction == pytest.approx(model.predict(X.head(1))[0])


@pytest.mark.parametrize(
    "model",
    [KMeans(3, n_init=1, random_state=0), DBSCAN(), AgglomerativeClustering(2)],
    ids=["kmeans", "dbscan", "agglomerative"],
)
def test_a_clusterer_is_rejected_with_what_to_pass_instead(model):
    X, _ = small_regression()
    model.fit(X)
    with pytest.raises(TypeError, match="is a clustering model") as error:
        explain_widget(model, X)
    assert "RandomForestClassifier().fit(X, model.labels_)" in str(error.value)
    with pytest.raises(TypeError, match="is a clustering model"):
        explain_widget(make_pipeline(StandardScaler(), model).fit(X), X)


@pytest.mark.parametrize(
    "model", [IsolationForest(random_state=0), LocalOutlierFactor(), OneClassSVM()], ids=repr
)
def test_an_outlier_detector_is_rejected_with_its_score_as_the_fix(model):
    # Its predict labels rows -1 or 1: explained as a regressor's output, it said little.
    X, _ = small_regression()
    model.fit(X)
    for given in (model, make_pipeline(StandardScaler(), model).fit(X)):
        with pytest.raises(TypeError, match="is an outlier detector") as error:
            explain_widget(given, X)
        assert "explain_widget(model.decision_function, X)" in str(error.value)
    forest = IsolationForest(random_state=0).fit(X)
    w = explain_widget(forest.decision_function, X, explainers=("shap",))
    assert w.explanation.prediction == pytest.approx(forest.decision_function(X.iloc[[0]])[0])
    w.close()


def test_a_transformer_and_a_class_are_rejected_with_the_fix():
    X, _ = small_regression()
    with pytest.raises(TypeError, match="has no usable predict.*put it in a Pipeline"):
        explain_widget(StandardScaler().fit(X), X)
    with pytest.raises(TypeError, match=re.escape("pass an instance fitted on your data")):
        explain_widget(RandomForestRegressor, X)


def test_a_single_class_classifier_gets_a_clear_error():
    X, _ = breast_cancer()
    model = DecisionTreeClassifier().fit(X.head(40), np.zeros(40, dtype=int))
    with pytest.raises(ValueError, match=re.escape("was fit on a single class ([0])")):
        explain_widget(model, X.head(40))


def test_probabilities_that_do_not_sum_to_one_are_named():
    X, _ = breast_cancer()
    with pytest.raises(ValueError, match=re.escape("row 0 sums to 1.23")) as error:
        explain_widget(FixedProbabilities([0.615, 0.615]), X.head(20))
    assert "CalibratedClassifierCV" in str(error.value)
    with pytest.raises(ValueError, match=re.escape("values outside [0, 1]")):
        explain_widget(FixedProbabilities([-0.5, 1.5]), X.head(20))
    with pytest.raises(ValueError, match=re.escape("values outside [0, 1]")):
        explain_widget(lambda df: np.full(len(df), 2.0), X.head(20), task="classification")


def test_probabilities_out_of_range_after_a_what_if_are_shown_as_the_error():
    X, _ = small_regression()

    def model(df: pd.DataFrame) -> np.ndarray:
        p = 1 / (1 + np.exp(-df["bmi"].to_numpy()))
        p = np.where(df["age"].to_numpy() > 1, 1.7, p)  # no row of X: only an edit's
        return np.c_[1 - p, p]

    w = explain_widget(model, X, explainers=("shap",))
    before = w.explanation.prediction
    with pytest.warns(RuntimeWarning, match=re.escape("values outside [0, 1]")):
        w.set_features(age=2.0)
    assert w.error is not None and "values outside [0, 1]" in w.error
    assert w.explanation.prediction == before
    assert w.instance["age"] == X["age"].iloc[0]
    w.close()


def test_a_model_that_returns_nan_fails_at_the_start():
    X, _ = small_regression()
    with pytest.raises(ValueError, match=r"returned NaN for (\d+) of the first \1 rows of X"):
        explain_widget(lambda df: np.full(len(df), np.nan), X)
    with pytest.raises(ValueError, match="returned None for .* check that the function returns"):
        explain_widget(lambda df: None, X)  # a forgotten return
    with pytest.raises(ValueError, match="returned infinite values") as error:
        explain_widget(lambda df: np.full(len(df), np.inf), X)
    assert "missing values" not in str(error.value)  # X has none: not what to fix
    # Beyond float32, the export's SHAP scale reads them as infinite: refused alike.
    with pytest.raises(ValueError, match=r"returned values beyond ±3.4e38 .* scale the target"):
        explain_widget(lambda df: df["bmi"].to_numpy() * 1e300, X)


def test_nan_later_is_a_value_error_naming_nan():
    X, _ = small_regression()

    def model(df: pd.DataFrame) -> np.ndarray:
        return np.where(df["bmi"] > 0.1, np.nan, df["bmi"].to_numpy())

    adapter = ModelAdapter(model, X.head(5))
    assert adapter.predict(X.head(5)).shape == (5, 1)
    with pytest.raises(ValueError, match=re.escape("returned NaN for 1 of 2 rows (rows [1])")):
        adapter.predict(pd.DataFrame({**X.head(2).to_dict("list"), "bmi": [0.0, 0.2]}))


def test_a_model_whose_number_of_outputs_changes_later_is_named():
    X, _ = small_regression()
    calls = []

    def classifier(df: pd.DataFrame) -> np.ndarray:
        # Two classes on the first call, three afterwards: column 1 no longer means class 1.
        calls.append(len(df))
        p = 1 / (1 + np.exp(-df["bmi"].to_numpy()))
        return np.c_[1 - p, p] if len(calls) == 1 else np.c_[1 - p, p / 2, p / 2]

    adapter = ModelAdapter(classifier, X.head(5))
    with pytest.raises(ValueError, match=re.escape("3 outputs per row, but 2 on its first call")):
        adapter.predict(X.head(4))

    def regressor(df: pd.DataFrame) -> np.ndarray:
        out = df["bmi"].to_numpy()
        return out if len(df) == 5 else np.c_[out, out]

    adapter = ModelAdapter(regressor, X.head(5))
    with pytest.raises(ValueError, match=re.escape("2 outputs per row, but 1 on its first call")):
        adapter.predict(X.head(4))


def test_nan_during_a_what_if_is_shown_in_the_widget():
    X, _ = small_regression()
    X = X[X["bmi"] < 0.1].head(30)

    def model(df: pd.DataFrame) -> np.ndarray:
        return np.where(df["bmi"] > 0.1, np.nan, df["bmi"].to_numpy())

    w = explain_widget(model, X, explainers=("shap",))
    assert w._wait_idle()

    def the_views(records) -> list:  # the drag curves' thread may warn of NaN too
        return [r for r in records if "no drag estimates" not in str(r.message)]

    with pytest.warns(RuntimeWarning, match="returned NaN") as said:
        w.set_features(bmi=0.2)
    assert [r.filename for r in the_views(said)] == [__file__]  # the cell's, not ours
    assert w.error is not None and "returned NaN" in w.error
    # From a thread with no caller's line (as the panel's own): the package, no line of ours.
    with pytest.warns(RuntimeWarning, match="returned NaN") as said:
        edit = threading.Thread(target=w.set_features, kwargs={"bmi": 0.3})
        edit.start()
        edit.join(30)
    assert [(r.filename, r.lineno) for r in the_views(said)] == [("optiml_widgets", 0)]
    w.set_features(bmi=0.05)
    assert w.error is None
    w.close()


def test_a_model_that_writes_into_its_input_is_told_to_copy_it():
    # X's values reach the model read-only (shared with the explainers): writing into them
    # failed with "output array is read-only" and a fix about X's columns and types.
    X, y = small_regression()

    class Standardising(PlainRegressor):
        def predict(self, X):
            X -= X.mean(axis=0)  # in place, into the caller's array
            return X @ self.coef_

    model = Standardising().fit(X.to_numpy(), y)
    with pytest.raises(ValueError, match="read-only") as error:
        explain_widget(model, X.to_numpy())
    assert "copy" in str(error.value) and "columns and types" not in str(error.value)


def test_a_model_that_returns_labels_is_told_to_return_numbers():
    X, _ = small_regression()
    with pytest.raises(ValueError, match=re.escape("not numbers (e.g. ['yes'])")):
        explain_widget(lambda df: np.array(["yes"] * len(df)), X)
    # Complex numbers lost their imaginary part with no more than numpy's warning.
    with pytest.raises(ValueError, match=re.escape("complex numbers (e.g. [")):
        explain_widget(lambda df: df.to_numpy()[:, 0] + 1j, X)


def test_a_model_fit_on_an_array_is_given_arrays_and_warns_nothing():
    X, y = small_regression()
    model = RandomForestRegressor(10, random_state=0).fit(X.to_numpy(), y)
    adapter = ModelAdapter(model, X)
    assert not adapter.wants_frame
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sklearn's "X has feature names" warning fails here
        np.testing.assert_allclose(adapter.predict(X)[:, 0], model.predict(X.to_numpy()))
        w = explain_widget(model, X, explainers=("shap", "lime"))
        w.set_features(bmi=0.05)
        w.set_features(bp=0.02)
        w.set_features(age=-0.01)
    assert w.explanation.prediction == pytest.approx(
        model.predict(X.head(1).assign(bmi=0.05, bp=0.02, age=-0.01).to_numpy())[0]
    )


def test_an_array_of_a_nullable_frame_has_nan_for_missing():
    X = pd.DataFrame({"a": pd.array([1, None, 3], dtype="Int64"), "b": [0.5, 1.0, 1.5]})
    model = HistGradientBoostingRegressor(max_iter=5).fit(
        X.to_numpy(dtype=float, na_value=np.nan), [1.0, 2.0, 3.0]
    )
    adapter = ModelAdapter(model, X)
    np.testing.assert_array_equal(adapter.model_input(X)[1], [np.nan, 1.0])
    assert adapter.predict(X).shape == (3, 1)


def test_a_model_fit_on_names_is_given_the_frame():
    X, y = small_regression()
    assert ModelAdapter(LinearRegression().fit(X, y), X).wants_frame


def test_hist_gradient_boosting_is_a_tree_model():
    X, y = breast_cancer()
    classifier = HistGradientBoostingClassifier(max_iter=10).fit(X, y)
    assert ModelAdapter(classifier, X.head(10)).family == "tree"
    Xr, yr = small_regression()
    regressor = HistGradientBoostingRegressor(max_iter=10).fit(Xr, yr)
    assert ModelAdapter(regressor, Xr.head(10)).family == "tree"


class SlowModel:
    """A regressor that takes 0.3 s per call, counting its calls."""

    def __init__(self, output: float) -> None:
        self.output = output
        self.calls = 0

    def predict(self, X):
        self.calls += 1
        time.sleep(0.3)
        return np.full(len(X), self.output)


def test_bad_input_fails_before_a_slow_model_does_any_long_work():
    X, _ = small_regression()
    model = SlowModel(np.nan)
    with pytest.raises(ValueError, match="NaN"):
        explain_widget(model, X)
    assert model.calls == 1  # the check's one call, before any explainer's
    dated = X.assign(when=pd.date_range("2020", periods=len(X)))
    with pytest.raises(ValueError, match="dates"):
        explain_widget(model, dated)
    assert model.calls == 1  # refused before the model is called


def test_a_model_failing_on_a_larger_call_says_how_large():
    """Its own error, kept as it is, with a note: the first rows of X had worked."""
    X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0)})

    def fails_on_big_calls(frame):
        if len(frame) >= 500:
            raise MemoryError("too big")
        return frame["a"].to_numpy()

    with pytest.raises(MemoryError, match="too big") as raised:
        explain_widget(fails_on_big_calls, X, explainers=("shap",))
    if sys.version_info >= (3, 11):
        (note,) = raised.value.__notes__
        assert re.search(
            r"called the model on [\d,]+ rows here .* its first call, on \d+ rows of X, had worked",
            note,
        )


def test_a_function_returning_a_frame_of_probabilities_names_its_classes_by_its_columns():
    X = pd.DataFrame({"a": np.linspace(-2, 2, 60), "b": np.linspace(0, 1, 60)})

    def probabilities(frame):
        p = 1 / (1 + np.exp(-frame["a"].to_numpy()))
        return pd.DataFrame({"no": 1 - p, "yes": p}, index=frame.index)

    y = (X["a"] > 0).astype(int)  # positions, as for any function's classes
    w = explain_widget(probabilities, X, y, explainers=("shap",))
    assert w.session.adapter.output_names == ["no", "yes"] and w.target == "yes"
    w.target = "no"
    assert w.explanation.prediction == pytest.approx(1 - 1 / (1 + np.exp(2.0)))
    assert w._view["y"] == "no"  # y's 0 is the class named by the first column
    w.close()
    named = explain_widget(probabilities, X, y, class_names=["neg", "pos"], explainers=("shap",))
    assert named.session.adapter.output_names == ["neg", "pos"] and named._view["y"] == "neg"
    named.close()


def test_a_frame_of_probabilities_is_read_by_its_columns_on_every_call():
    # Its columns in another order (here: the likelier class first) were read by position:
    # an edit's P(yes) of 0.88 showed as 0.12.
    X = pd.DataFrame({"a": np.linspace(-2, 1, 60), "b": np.linspace(0, 1, 60)})

    def probabilities(frame):
        p = 1 / (1 + np.exp(-frame["a"].to_numpy()))
        out = pd.DataFrame({"no": 1 - p, "yes": p}, index=frame.index)
        return out if p.mean() < 0.6 else out[["yes", "no"]]

    w = explain_widget(probabilities, X, explainers=("shap",))
    w.set_features(a=2.0)
    assert w.error is None
    assert w.explanation.prediction == pytest.approx(1 / (1 + np.exp(-2.0)))
    w.close()

    def renamed(frame):
        p = 1 / (1 + np.exp(-frame["a"].to_numpy()))
        columns = ["no", "yes"] if p.mean() < 0.6 else ["low", "high"]
        return pd.DataFrame(np.c_[1 - p, p], columns=columns)

    adapter = ModelAdapter(renamed, X.head(5))
    with pytest.raises(ValueError, match=re.escape("columns ['low', 'high'], but ['no', 'yes']")):
        adapter.predict(X.tail(1).assign(a=2.0))


def test_a_function_returning_its_rows_in_another_order_is_read_by_their_labels():
    # Predicted per segment and put together, the rows come back grouped: read by position
    # each got another row's output, and the first view failed as if the model were random.
    X, _ = small_regression()
    X = X.set_axis(np.arange(100, 100 + len(X)))

    def per_segment(df):
        male = (df["sex"] > 0).to_numpy()
        parts = [
            pd.Series(df["bmi"].to_numpy()[male] * 2, index=df.index[male]),
            pd.Series(df["bmi"].to_numpy()[~male] * 3, index=df.index[~male]),
        ]
        return pd.concat(parts)

    w = explain_widget(per_segment, X, explainers=("shap",))
    for i in (0, 1, 2):
        w.index = i
        factor = 2 if X["sex"].iloc[i] > 0 else 3
        assert w.explanation.prediction == pytest.approx(factor * X["bmi"].iloc[i])
    w.close()


def test_probabilities_for_another_number_of_classes_than_classes_are_named():
    # An IndexError (or KeyError 2) from deep inside the first view, not what was wrong.
    X, _ = breast_cancer()
    three_named = FixedProbabilities([0.4, 0.6], classes=(0, 1, 2))
    with pytest.raises(ValueError, match=r"returns 2 probabilities per row but .*classes_ has 3"):
        explain_widget(three_named, X.head(20))
    two_named = FixedProbabilities([0.2, 0.3, 0.5], classes=("no", "yes"))
    with pytest.raises(ValueError, match=r"returns 3 probabilities per row but .*classes_ has 2"):
        explain_widget(two_named, X.head(20))


def test_classes_that_read_alike_are_named_with_the_class_names_fix():
    # Two classes 1 (or 1 and '1'): w.target = 1 always chose the first, silently.
    X, _ = breast_cancer()
    for classes in ([1, 1], np.array([1, "1"], dtype=object)):
        with pytest.raises(ValueError, match=r"classes_ names \['1'\] more than once.*class_names"):
            explain_widget(FixedProbabilities([0.4, 0.6], classes=classes), X.head(20))
    named = explain_widget(
        FixedProbabilities([0.4, 0.6], classes=[1, 1]), X.head(20), class_names=["a", "b"]
    )
    named.target = "a"
    assert named.explanation.prediction == pytest.approx(0.4)
    named.close()


def test_an_estimators_frame_of_probabilities_is_read_by_its_class_columns():
    # Columns named by classes_ but in another order were read by position: P(no) as P(yes).
    X, _ = small_regression()

    class FrameProbabilities:
        _estimator_type = "classifier"
        classes_ = np.array(["no", "yes"])

        def fit(self, X, y):
            return self

        def predict(self, X):
            return np.where(X["bmi"] > 0, "yes", "no")

        def predict_proba(self, X):
            p = 1 / (1 + np.exp(-10 * X["bmi"].to_numpy()))
            return pd.DataFrame({"yes": p, "no": 1 - p}, index=X.index)

    w = explain_widget(FrameProbabilities(), X, explainers=("shap",))
    assert w.target == "yes"
    assert w.explanation.prediction == pytest.approx(1 / (1 + np.exp(-10 * X["bmi"].iloc[0])))
    w.close()
