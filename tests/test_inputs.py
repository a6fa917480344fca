"""The feature schema, the model adapter, and a clear error for every bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import breast_cancer, city_data, diabetes, formula
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.svm import SVC

from optiml_widgets import explain_widget
from optiml_widgets.data import as_frame, build_schema
from optiml_widgets.model import ModelAdapter


def mixed_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "income": [52000.5, 61000.0, np.nan, 38000.25],
            "children": pd.Series([0, 2, 1, 3], dtype="int64"),
            "city": pd.Series(["Paris", "Lyon", "Paris", None], dtype=object),
            "owner": [True, False, True, True],
            "grade": pd.Categorical(["b", "a", "b", "c"], categories=["a", "b", "c"]),
        }
    )


def test_schema_infers_kinds_ranges_quantiles_categories_and_missing():
    schema = build_schema(mixed_frame())
    kinds = {f.name: f.kind for f in schema.features}
    assert kinds == {
        "income": "numeric",
        "children": "integer",
        "city": "categorical",
        "owner": "boolean",
        "grade": "categorical",
    }
    income = schema["income"]
    assert (income.min, income.max) == (38000.25, 61000.0)
    assert income.missing == pytest.approx(0.25)
    assert dict(income.quantiles)[0.5] == pytest.approx(52000.5)
    city = schema["city"]
    assert city.categories == ("Lyon", "Paris") and city.counts == (1, 2)
    assert city.missing == pytest.approx(0.25)
    assert schema["grade"].categories == ("a", "b", "c")
    assert schema["owner"].counts == (1, 3)


def test_categorical_features_argument_overrides_the_dtype():
    schema = build_schema(mixed_frame(), categorical_features=["children"])
    assert schema["children"].kind == "categorical"
    assert schema["children"].categories == (0, 1, 2, 3)


def test_encode_decode_round_trip_keeps_original_types():
    frame = mixed_frame()
    schema = build_schema(frame)
    decoded = schema.decode(schema.encode(frame))
    assert decoded["city"].tolist()[:3] == ["Paris", "Lyon", "Paris"]
    assert decoded["city"].isna().tolist()[3]
    assert decoded["grade"].dtype == frame["grade"].dtype
    assert decoded["owner"].dtype == bool
    assert decoded["children"].dtype == np.int64
    np.testing.assert_array_equal(decoded["income"].to_numpy(), frame["income"].to_numpy())


def test_numpy_x_with_feature_names():
    X, y = breast_cancer()
    model = GradientBoostingClassifier(n_estimators=20, random_state=0).fit(X.to_numpy(), y)
    w = explain_widget(
        model, X.to_numpy()[:60], feature_names=list(X.columns), explainers=("shap",)
    )
    assert list(w.instance) == list(X.columns)
    assert w.explanation.prediction == pytest.approx(model.predict_proba(X.to_numpy()[:1])[0, 1])


@pytest.mark.parametrize(
    ("X", "kwargs", "error", "message"),
    [
        (pd.DataFrame(columns=["a", "b"]), {}, ValueError, "X is empty"),
        (np.zeros(5), {}, ValueError, "must be 2-D"),
        (pd.Series([1.0, 2.0]), {}, ValueError, "must be 2-D"),
        (
            np.zeros((3, 2)),
            {"feature_names": ["a"]},
            ValueError,
            "feature_names has 1 names but X has 2 columns",
        ),
        (
            pd.DataFrame(np.zeros((3, 2)), columns=["a", "a"]),
            {},
            ValueError,
            "duplicate column names: ['a']",
        ),
        ("not data", {}, TypeError, "must be a pandas DataFrame or a 2-D numpy array"),
    ],
)
def test_bad_x_gets_a_clear_error(X, kwargs, error, message):
    with pytest.raises(error, match=_literal(message)):
        as_frame(X, **kwargs)


def test_a_column_the_model_did_not_see_in_fit():
    X, y = diabetes()
    model = RandomForestRegressor(10, random_state=0).fit(X, y)
    with pytest.raises(
        ValueError, match=_literal("X has columns the model did not see in fit: ['extra']")
    ):
        explain_widget(model, X.assign(extra=1.0))
    with pytest.raises(ValueError, match=_literal("X lacks columns the model was fit on: ['bmi']")):
        explain_widget(model, X.drop(columns="bmi"))


def test_columns_in_another_order_are_put_in_the_models_order():
    X, y = diabetes()
    model = RandomForestRegressor(10, random_state=0).fit(X, y)
    w = explain_widget(model, X[X.columns[::-1]].head(50), explainers=("shap",))
    assert list(w.instance) == list(X.columns)


def test_an_unfitted_model():
    X, _ = breast_cancer()
    with pytest.raises(
        ValueError, match="This GradientBoostingClassifier is not fitted yet: call model.fit"
    ):
        explain_widget(GradientBoostingClassifier(), X)


def test_a_model_with_no_usable_predict():
    X, _ = breast_cancer()
    with pytest.raises(TypeError, match="has no usable predict"):
        explain_widget(object(), X)


def test_a_classifier_without_probabilities():
    X, y = breast_cancer()
    model = SVC().fit(X.head(100), y.head(100))
    with pytest.raises(ValueError, match=_literal("SVC(probability=True)")):
        explain_widget(model, X.head(100))


def test_a_function_that_fails_on_x():
    def broken(df):
        raise RuntimeError("boom")

    with pytest.raises(ValueError, match="Calling the model on the first rows of X failed"):
        explain_widget(broken, pd.DataFrame({"a": [1.0, 2.0]}))


def test_wrong_number_of_class_names():
    X, y = breast_cancer()
    model = LogisticRegression(max_iter=3000).fit(X, y)
    with pytest.raises(ValueError, match="class_names has 3 names but the model has 2 classes"):
        explain_widget(model, X, class_names=["a", "b", "c"])


def test_unknown_explainer_and_task():
    X, y = breast_cancer()
    model = LogisticRegression(max_iter=3000).fit(X, y)
    with pytest.raises(ValueError, match="Unknown explainers"):
        explain_widget(model, X, explainers=("shap", "anchors"))
    with pytest.raises(ValueError, match="task must be"):
        explain_widget(model, X, task="ranking")
    with pytest.raises(
        ValueError, match="task='regression' but LogisticRegression is a classifier"
    ):
        explain_widget(model, X, task="regression")


def test_task_detection():
    X, y = breast_cancer()
    frame = X.head(50)
    assert ModelAdapter(LogisticRegression(max_iter=3000).fit(X, y), frame).task == "binary"
    Xd, yd = diabetes()
    assert ModelAdapter(RandomForestRegressor(5).fit(Xd, yd), Xd).task == "regression"
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(20, 3)), columns=["a", "b", "c"])
    assert ModelAdapter(formula, frame).task == "regression"

    def proba(df):
        p = 1 / (1 + np.exp(-df["a"].to_numpy()))
        return np.column_stack([1 - p, p])

    adapter = ModelAdapter(proba, frame, class_names=["no", "yes"])
    assert adapter.task == "binary" and adapter.classes == ["no", "yes"]
    assert adapter.predict(frame).shape == (20, 2)


def test_string_column_pipeline_gets_categorical_kind():
    X, _ = city_data(50)
    schema = build_schema(X)
    assert schema["city"].kind == "categorical"
    assert set(schema["city"].categories) == {"Paris", "Lyon", "Nice", "Lille"}


def _literal(text: str) -> str:
    import re

    return re.escape(text)
