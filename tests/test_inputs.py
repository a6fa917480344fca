"""The feature schema, the model adapter, and a clear error for every bad input."""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import breast_cancer, city_data, diabetes, formula
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.compose import make_column_transformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor, VotingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

from optiml_widgets import explain_widget
from optiml_widgets.data import build_schema, row_values
from optiml_widgets.inputs import as_frame, check_y
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


def test_categorical_features_takes_one_name_as_a_string():
    # "zip" was read letter by letter: "names columns that X does not have: ['i', 'p', 'z']".
    X = pd.DataFrame({"zip": [10001, 94105] * 20, "x": np.linspace(0, 1, 40)})
    w = explain_widget(
        lambda D: D["x"].to_numpy(), X, categorical_features="zip", explainers=("shap",)
    )
    assert w.session.schema["zip"].kind == "categorical"
    assert w.session.schema["x"].kind == "numeric"
    w.close()


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
    xgboost = pytest.importorskip("xgboost")
    booster = xgboost.train({}, xgboost.DMatrix(X, label=y), 2)
    # A Booster has no feature_names_in_: the fix reads the names where it keeps them.
    with pytest.raises(ValueError, match=_literal("e.g. X[booster.feature_names]")):
        explain_widget(booster, X.drop(columns="bmi"))


def test_columns_in_another_order_are_put_in_the_models_order():
    X, y = diabetes()
    model = RandomForestRegressor(10, random_state=0).fit(X, y)
    w = explain_widget(model, X[X.columns[::-1]].head(50), explainers=("shap",))
    assert list(w.instance) == list(X.columns)


def test_lightgbm_knows_names_with_spaces_as_underscores():
    # LightGBM stores "mean radius" as "mean_radius" and predicts by position: X's own
    # names are the model's columns, in the model's order.
    lightgbm = pytest.importorskip("lightgbm")
    X, y = breast_cancer()
    model = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, y)
    assert "mean_radius" in model.feature_names_in_
    shuffled = X[X.columns[::-1]].head(80)
    w = explain_widget(model, shuffled, explainers=("shap",))
    assert list(w.instance) == list(X.columns)
    expected = model.predict_proba(X.head(1))[0, list(model.classes_).index(w.target)]
    assert w.explanation.prediction == pytest.approx(expected, rel=1e-6)
    with pytest.raises(
        ValueError, match=_literal("X lacks columns the model was fit on: ['mean_radius']")
    ) as refused:
        explain_widget(model, X.drop(columns="mean radius"))
    # The fix names the underscores (X[model.feature_names_in_] is a KeyError on X).
    assert "X's 'mean radius' is its 'mean_radius'" in str(refused.value)
    assert "X[model.feature_names_in_]" not in str(refused.value)
    booster = lightgbm.train({"objective": "binary", "verbose": -1}, lightgbm.Dataset(X, y), 20)
    with pytest.raises(ValueError, match=_literal("booster.feature_name() lists them")):
        explain_widget(booster, X.drop(columns="mean radius"))
    w = explain_widget(booster, X.head(80), explainers=("shap",))
    assert list(w.instance) == list(X.columns)
    assert w.explanation.prediction == pytest.approx(booster.predict(X.head(1))[0], rel=1e-6)


def test_an_empty_background_and_a_bad_seed_are_named():
    X, y = diabetes()
    model = RandomForestRegressor(5, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="background is empty"):
        explain_widget(model, X, background=X.iloc[:0])
    with pytest.raises(ValueError, match=r"^background has infinite values in 'bmi'"):
        explain_widget(model, X, background=X.iloc[:50].assign(bmi=np.inf))
    # Named as background, not X (which was fine), with the fix for it.
    with pytest.raises(ValueError, match=_literal("background must be 2-D (rows x features)")):
        explain_widget(model, X, background=X.iloc[0])
    with pytest.raises(ValueError, match=_literal("use background.reshape(1, -1)")):
        explain_widget(model, X, background=X.iloc[0].to_numpy())
    with pytest.raises(TypeError, match=_literal("background must be a pandas DataFrame")):
        explain_widget(model, X, background={"bmi": [0.1]})
    for seed, error in (("x", TypeError), (1.5, TypeError), (None, TypeError), (-1, ValueError)):
        with pytest.raises(error, match="random_state must be"):
            explain_widget(model, X, random_state=seed)


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


def test_a_hard_voting_classifier_is_told_to_vote_soft():
    # The fix named was CalibratedClassifierCV around it, which refuses a model with neither
    # predict_proba nor decision_function.
    X, y = breast_cancer()
    model = VotingClassifier(
        [("lr", LogisticRegression(max_iter=3000)), ("tree", DecisionTreeClassifier())]
    ).fit(X.head(100), y.head(100))
    with pytest.raises(ValueError, match=_literal("voting='soft'")) as error:
        explain_widget(model, X.head(100))
    assert "CalibratedClassifierCV" not in str(error.value)


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


def test_class_names_that_cannot_name_every_class_are_refused():
    X, y = breast_cancer()
    model = LogisticRegression(max_iter=2000).fit(X, y)
    with pytest.raises(ValueError, match=r"class_names names \['1'\] more than once"):
        explain_widget(model, X, class_names=[1, "1"])  # w.target = "1" would pick one
    Xd, yd = diabetes()
    with pytest.raises(ValueError, match="class_names names classes, but RandomForestRegressor"):
        explain_widget(RandomForestRegressor(5).fit(Xd, yd), Xd, class_names=["low"])


def test_class_names_that_reorder_the_models_own_labels_are_refused():
    # Named by position, ["yes", "no"] for classes_ ["no", "yes"] would show P("no") as "yes".
    X, y = breast_cancer()
    labels = pd.Series(np.where(y == 1, "yes", "no"))
    model = LogisticRegression(max_iter=2000).fit(X, labels)
    with pytest.raises(ValueError, match=r"class_names \['yes', 'no'\] are the model's classes"):
        explain_widget(model, X, class_names=["yes", "no"])
    w = explain_widget(model, X, class_names=["no", "yes"], explainers=("shap",))
    assert w.target == "yes"  # in the order of model.classes_, they are taken
    proba = model.predict_proba(X.iloc[[0]])[0, 1]
    assert w.explanation.prediction == pytest.approx(proba)
    w.close()

    def named(df):  # a function whose DataFrame's columns name its classes
        return pd.DataFrame(model.predict_proba(df), columns=model.classes_)

    with pytest.raises(ValueError, match="in another order"):
        explain_widget(named, X, class_names=["yes", "no"])


def test_a_rule_for_a_partial_row_names_what_it_lacks():
    X, y = breast_cancer()
    model = LogisticRegression(max_iter=2000).fit(X, y)
    w = explain_widget(model, X, explainers=("surrogate",))
    with pytest.raises(KeyError, match="The row has no value for 'mean texture'"):
        w.surrogate.rule_for({"mean radius": 14.0})
    assert w.surrogate.rule_for(X.iloc[0]) is w.surrogate.rule_for(w.instance)
    # One row of X as a frame is that row; several are named, not read as one odd value.
    assert w.surrogate.rule_for(X.iloc[[0]]) is w.surrogate.rule_for(X.iloc[0])
    with pytest.raises(TypeError, match=r"one row, not a DataFrame of 2 rows.*X\.iloc\[5\]"):
        w.surrogate.rule_for(X.head(2))
    # A value the feature cannot take is an error, not a missing value the rules cover.
    with pytest.raises(ValueError, match="Invalid value 'big' for numeric feature 'mean area'"):
        w.surrogate.rule_for({**w.instance, "mean area": "big"})
    # A row as an array has no feature names to read: said so (before: an AttributeError).
    with pytest.raises(TypeError, match=r"rule_for takes a row as a dict or a pandas Series"):
        w.surrogate.rule_for(X.to_numpy()[0])
    w.close()
    # A category X never had is read as missing, as over global_data, and said so, where X
    # has missing values: the rule covers it as it covers a missing one.
    X = pd.DataFrame({"a": np.linspace(0, 1, 60), "c": list("uvw") * 19 + [None] * 3})
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["c"]), remainder="passthrough"
        ),
        LogisticRegression(),
    ).fit(X, (X["a"] > 0.5) | (X["c"] == "u"))
    w = explain_widget(model, X, explainers=("surrogate",))
    with pytest.warns(
        UserWarning, match="'z' is not a category of 'c' in X: the rules read it"
    ) as said:
        unseen = w.surrogate.rule_for({"a": 0.2, "c": "z"})
    assert [r.filename for r in said] == [__file__]  # at the line that asked
    assert unseen is w.surrogate.rule_for({"a": 0.2, "c": None})
    assert unseen.covers({"a": 0.2, "c": "z"}) and unseen.covers({"a": 0.2, "c": None})
    w.close()


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


# -- nullable and Arrow dtypes -----------------------------------------------------------


def nullable_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "count": pd.array([3, None, 7, 1, 3], dtype="Int64"),
            "share": pd.array([0.5, 0.25, None, 1.5, 0.75], dtype="Float64"),
            "member": pd.array([True, None, False, True, False], dtype="boolean"),
            "code": pd.array(["a", "b", None, "a", "c"], dtype="string"),
            "city": pd.Series(["Paris", "Lyon", None, "Nice", "Paris"], dtype="str"),
            "small": pd.Series([1, 2, 3, 4, 5], dtype="uint8"),
            "single": pd.Series([0.5, 1.5, 2.25, 3.0, 4.0], dtype="float32"),
        }
    )


def test_nullable_dtypes_round_trip_in_their_own_dtype():
    frame = nullable_frame()
    schema = build_schema(frame)
    kinds = {f.name: f.kind for f in schema.features}
    assert kinds == {
        "count": "integer",
        "share": "numeric",
        "member": "boolean",
        "code": "categorical",
        "city": "categorical",
        "small": "integer",
        "single": "numeric",
    }
    assert schema["count"].missing == pytest.approx(0.2)
    decoded = schema.decode(schema.encode(frame))
    pd.testing.assert_frame_equal(decoded, frame)


def test_a_value_made_missing_reads_as_a_missing_cell_of_its_column():
    # An edit to None in an Int64 column read NaN, where the column's own missing cells
    # read None; in a numpy float column both read NaN.
    frame = nullable_frame().assign(plain=[1.0, np.nan, 2.0, 3.0, 4.0])
    w = explain_widget(lambda df: df["single"].to_numpy(dtype=float), frame, explainers=("shap",))
    missing = {"count": w.session.instance(1)["count"], "share": w.session.instance(2)["share"]}
    missing["plain"] = w.session.instance(1)["plain"]
    w.set_features(count=None, share=np.nan, plain=None)
    edited = w.instance
    for name in ("count", "share"):
        assert missing[name] is None and edited[name] is None, name
    assert np.isnan(missing["plain"]) and np.isnan(edited["plain"])
    w.close()


def test_arrow_dtypes_round_trip_in_their_own_dtype():
    pytest.importorskip("pyarrow")
    frame = nullable_frame().convert_dtypes(dtype_backend="pyarrow")
    schema = build_schema(frame)
    pd.testing.assert_frame_equal(schema.decode(schema.encode(frame)), frame)


def test_a_missing_code_decodes_to_the_dtypes_own_missing_value():
    frame = nullable_frame()
    schema = build_schema(frame)
    decoded = schema.decode(np.full((1, len(schema)), np.nan))
    for name in ("count", "share", "member", "code"):
        assert decoded[name].dtype == frame[name].dtype
        assert decoded[name].iloc[0] is pd.NA
    assert decoded["city"].isna().iloc[0] and decoded["city"].dtype == frame["city"].dtype


def test_a_categorical_integer_column_goes_back_to_the_model_as_integers():
    frame = mixed_frame()
    schema = build_schema(frame, categorical_features=["children"])
    assert schema.decode(schema.encode(frame))["children"].dtype == np.int64


def test_nullable_columns_end_to_end_reach_the_model_in_their_dtypes():
    frame = nullable_frame().drop(columns="small")
    expected = frame.dtypes.to_dict()
    seen: list[dict] = []

    def model(df: pd.DataFrame) -> np.ndarray:
        seen.append(df.dtypes.to_dict())
        count = df["count"].astype("Float64").fillna(0).to_numpy(dtype=float)
        member = df["member"].fillna(False).to_numpy(dtype=float)
        return count + 2.0 * member + (df["code"] == "a").fillna(False).to_numpy(dtype=float)

    w = explain_widget(model, frame, explainers=("shap",))
    w.set_features(count=5, member=True)
    assert seen and all(dtypes == expected for dtypes in seen)
    assert w.explanation.prediction == pytest.approx(5 + 2 + 1)


# -- other frame libraries and sparse matrices ------------------------------------------


def test_a_polars_frame_is_converted_by_pandas_own_converter():
    pl = pytest.importorskip("polars")
    frame = nullable_frame()[["share", "city", "small"]].dropna().reset_index(drop=True)
    converted = as_frame(pl.from_pandas(frame))
    assert list(converted.columns) == list(frame.columns)
    np.testing.assert_allclose(converted["share"].to_numpy(dtype=float), [0.5, 0.25, 1.5, 0.75])
    assert converted["city"].tolist() == ["Paris", "Lyon", "Nice", "Paris"]
    assert converted["small"].tolist() == [1, 2, 4, 5]


def test_a_polars_model_input_explains_like_pandas():
    pl = pytest.importorskip("polars")
    X, y = diabetes()
    model = RandomForestRegressor(10, random_state=0).fit(X, y)
    w = explain_widget(model, pl.from_pandas(X.head(40)), explainers=("shap",))
    assert w.explanation.prediction == pytest.approx(model.predict(X.head(1))[0])


def test_a_polars_series_and_a_lazy_frame_get_a_clear_error():
    pl = pytest.importorskip("polars")
    frame = pl.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]})
    with pytest.raises(ValueError, match=_literal("got a polars Series. For one feature pass")):
        as_frame(frame["a"])
    with pytest.raises(TypeError, match=_literal("lazy polars LazyFrame") + ".*X.collect()"):
        as_frame(frame.lazy())


def test_arrow_tables_are_read_and_other_arrow_objects_get_a_clear_error():
    pa = pytest.importorskip("pyarrow")
    frame = as_frame(pa.table({"a": [1, 2], "b": ["x", None]}))
    assert frame["a"].tolist() == [1, 2] and frame["b"].isna().tolist() == [False, True]
    with pytest.raises(ValueError, match="could not be read as a table"):
        as_frame(pa.chunked_array([[1, 2]]))
    with pytest.raises(TypeError, match=_literal("Pass pd.DataFrame(X) for a dict")):
        as_frame({"a": [1, 2]})


def test_a_small_sparse_matrix_is_densified():
    from scipy import sparse

    dense = np.array([[0.0, 1.5, 0.0], [2.0, 0.0, 0.0]])
    frame = as_frame(sparse.csr_matrix(dense))
    assert list(frame.columns) == ["x0", "x1", "x2"]
    np.testing.assert_array_equal(frame.to_numpy(), dense)
    assert as_frame(sparse.csr_array(dense), feature_names=["a", "b", "c"]).shape == (2, 3)


def test_a_large_sparse_matrix_gets_a_clear_error():
    from scipy import sparse

    from optiml_widgets.inputs import SPARSE_MAX_CELLS

    big = sparse.random(SPARSE_MAX_CELLS // 100 + 1, 100, density=1e-5, format="csr")
    with pytest.raises(ValueError, match="scipy sparse matrix of .* Pass fewer rows, e.g. X"):
        as_frame(big)


def test_pandas_sparse_columns_are_densified():
    frame = pd.DataFrame({"a": pd.arrays.SparseArray([0.0, 0.0, 1.0]), "b": [1.0, 2.0, 3.0]})
    assert as_frame(frame).dtypes.tolist() == [np.dtype("float64")] * 2


# -- values the explainers cannot vary ----------------------------------------------------


@pytest.mark.parametrize(
    ("column", "message"),
    [
        (pd.date_range("2020-01-01", periods=3), "dates or times: ['when']"),
        (pd.date_range("2020-01-01", periods=3, tz="UTC"), "dates or times: ['when']"),
        (pd.period_range("2020-01", periods=3, freq="M"), "dates or times: ['when']"),
        (
            pd.Series([pd.Timestamp("2020-01-01"), None, pd.Timestamp("2021-01-01")], dtype=object),
            "dates or times: ['when']",
        ),
        (pd.to_timedelta([1, 2, 3], unit="D"), "durations: ['when']"),
        (np.array([1 + 1j, 2, 3j]), "complex numbers: ['when']"),
        (pd.Series([[1], [2], [3]], dtype=object), "unhashable values: ['when']"),
        (pd.interval_range(0, 3), "intervals: ['when']"),
    ],
)
def test_columns_without_a_scale_are_named_with_the_fix(column, message):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "when": column})
    with pytest.raises(ValueError, match=_literal(message)) as error:
        as_frame(frame)
    assert "give the model the same numbers" in str(error.value)


def test_a_numpy_bytes_column_is_named_with_the_decode_fix():
    # pandas raised a bare "NotImplementedError: |S2" while summarising the column.
    X = pd.DataFrame({"a": np.linspace(0, 1, 40)})
    X["code"] = np.array([b"x", b"yy"] * 20)  # as read from HDF5 or a structured array
    assert X["code"].dtype.kind == "S"
    model = lambda D: D["a"].to_numpy()  # noqa: E731
    with pytest.raises(ValueError, match=r"numpy bytes \(dtype S\): \['code'\]") as error:
        explain_widget(model, X)
    assert "X[c] = X[c].str.decode('utf-8')" in str(error.value)
    X["code"] = X["code"].str.decode("utf-8")  # the fix it gives works
    w = explain_widget(model, X, explainers=("shap",))
    assert w.session.schema["code"].categories == ("x", "yy")
    w.close()


def test_arrow_timestamps_are_dates():
    pa = pytest.importorskip("pyarrow")
    when = pd.Series([1, 2, 3], dtype=pd.ArrowDtype(pa.timestamp("s")))
    with pytest.raises(ValueError, match=_literal("dates or times: ['when']")):
        as_frame(pd.DataFrame({"x": [1.0, 2.0, 3.0], "when": when}))


def test_infinite_values_are_named_by_column():
    frame = pd.DataFrame(
        {
            "a": [1.0, np.inf, -np.inf],
            "b": [1.0, 2.0, 3.0],
            "c": pd.array([np.inf, 1.0, None], dtype="Float64"),
        }
    )
    with pytest.raises(
        ValueError, match=_literal("infinite values in 'a' (2 cells), 'c' (1 cell)")
    ):
        as_frame(frame)
    with pytest.raises(ValueError, match=_literal("X has infinite values in 'x0' (2 cells)")):
        as_frame(frame.to_numpy())


def test_ragged_rows_and_structured_arrays():
    with pytest.raises(ValueError, match="could not be read as a 2-D array"):
        as_frame([[1.0, 2.0], [3.0]])
    structured = np.array([(1, 2.5), (2, 3.5)], dtype=[("n", "i8"), ("v", "f8")])
    assert list(as_frame(structured).columns) == ["n", "v"]


def test_masked_entries_are_missing_values_not_the_hidden_ones():
    # np.asarray drops the mask: the hidden value would be shown and explained
    X = np.ma.masked_array([[1.0, 2.0], [3.0, 4.0]], mask=[[True, False], [False, False]])
    frame = as_frame(X)
    assert np.isnan(frame.iloc[0, 0]) and frame.iloc[1].tolist() == [3.0, 4.0]
    integers = np.ma.masked_array([[1, 2], [3, 4]], mask=[[False, True], [False, False]])
    assert as_frame(integers).iloc[0].isna().tolist() == [False, True]
    y = np.ma.masked_array([5, 6], mask=[False, True])
    assert check_y(y, X) == [5, None]


def test_a_numpy_x_for_a_model_fit_on_names_says_to_pass_feature_names():
    X, y = diabetes()
    model = RandomForestRegressor(5, random_state=0).fit(X, y)
    with pytest.raises(
        ValueError, match=_literal("pass feature_names=list(model.feature_names_in_)")
    ):
        explain_widget(model, X.to_numpy()[:20])


# -- y, matched to X's rows ----------------------------------------------------------------


def test_y_with_x_index_in_another_order_is_matched_by_label():
    X = pd.DataFrame({"a": np.arange(6.0)}, index=[10, 11, 12, 13, 14, 15])
    y = pd.Series([100, 110, 120, 130, 140, 150], index=X.index)
    shuffled = y.sample(frac=1, random_state=0)
    assert check_y(shuffled, X) == [100, 110, 120, 130, 140, 150]
    assert check_y(y, X.iloc[[3, 1]]) == [130, 110]  # a y that covers X's rows
    assert check_y(shuffled.to_frame(), X) == [100, 110, 120, 130, 140, 150]


def test_y_whose_index_does_not_match_x_gets_a_clear_error():
    X = pd.DataFrame({"a": np.arange(3.0)}, index=[5, 6, 7])
    with pytest.raises(ValueError, match=_literal("3 of X's 3 row labels are not in y")) as error:
        check_y(pd.Series([1, 2, 3]), X)
    assert "y.to_numpy()" in str(error.value)
    repeated = pd.DataFrame({"a": np.arange(3.0)}, index=[1, 1, 2])
    with pytest.raises(ValueError, match="the labels repeat"):
        check_y(pd.Series([1, 2, 3], index=[2, 1, 1]), repeated)


def test_y_whose_labels_name_none_of_the_classes_is_warned_of():
    # A y of class names beside a model trained on codes read as a wrong prediction on
    # every row, with no word of why.
    X = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
    codes = (X["a"] > 9).astype(int)
    model = LogisticRegression().fit(X, codes)
    names = codes.map({0: "low", 1: "high"})
    with pytest.warns(RuntimeWarning, match=_literal("['low', 'high'] (its classes: [0, 1])")):
        explain_widget(model, X, names, explainers=("shap",)).close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for y in (codes, codes.astype(float), codes.astype(str), codes.where(X["a"] > 2)):
            explain_widget(model, X, y, explainers=("shap",)).close()
        named = explain_widget(model, X, names, class_names=["low", "high"], explainers=())
        named.close()


def test_y_arrays_and_lists_go_by_position_as_plain_values():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=[7, 8, 9])
    values = check_y(np.array([1, 0, 1]), X)
    assert values == [1, 0, 1] and all(type(v) is int for v in values)
    assert check_y(["yes", 2, None], X) == ["yes", 2, None]
    assert check_y(pd.Series([1.5, np.nan, 2.0]), X.to_numpy()) == [1.5, None, 2.0]
    assert check_y(pd.array([1, None, 3], dtype="Int64"), X) == [1, None, 3]
    assert check_y(np.array([[1.0], [2.0], [3.0]]), X) == [1.0, 2.0, 3.0]


@settings(max_examples=50, deadline=None)
@given(
    y=arrays(
        st.sampled_from([np.bool_, np.int8, np.uint64, np.int64, np.float16, np.float32, float]),
        st.integers(1, 20),
    ),
    as_series=st.booleans(),
)
def test_a_numeric_y_reads_as_the_general_path_reads_it(y, as_series):
    # Numeric arrays take a fast path: the same plain values, NaN as None, as their
    # values one by one (the general path) give.
    X = pd.DataFrame({"a": np.zeros(len(y))})
    given_y = pd.Series(y) if as_series else y
    fast = check_y(given_y, X)
    general = check_y(list(y.astype(object)), X)
    assert fast == general and [type(v) for v in fast] == [type(v) for v in general]


@pytest.mark.parametrize(
    ("y", "error", "message"),
    [
        ([1, 2], ValueError, "y has 2 values but X has 3 rows"),
        (np.zeros((3, 2)), ValueError, "y must be 1-D"),
        (pd.DataFrame({"a": [1, 2, 3], "b": [1, 2, 3]}), ValueError, "y has 2 columns"),
        ("label", TypeError, "y must hold one target per row"),
        (3, TypeError, "y must hold one target per row"),
        (
            {0: 1, 1: 0, 2: 1},
            TypeError,
            "y must hold one target per row of X (a Series, array or list), not dict",
        ),
    ],
)
def test_bad_y_gets_a_clear_error(y, error, message):
    with pytest.raises(error, match=_literal(message)):
        check_y(y, pd.DataFrame({"a": [1.0, 2.0, 3.0]}))


def test_a_column_with_no_values_at_all_is_named():
    for empty in (pd.Series([None, None], dtype=object), pd.array([None, None], dtype="string")):
        with pytest.raises(ValueError, match=_literal("Feature 'b' has no values")):
            build_schema(pd.DataFrame({"a": [1.0, 2.0], "b": empty}))
    with pytest.raises(ValueError, match=_literal("Feature 'b' has no finite values")):
        build_schema(pd.DataFrame({"a": [1.0, 2.0], "b": [np.nan, np.nan]}))


def test_a_row_keeps_each_columns_own_values_and_goes_back_to_the_model_unchanged():
    frame = nullable_frame()
    schema = build_schema(frame)
    row = row_values(frame, 2)
    assert row == {
        "count": 7,
        "share": None,
        "member": False,
        "code": None,
        "city": row["city"],
        "small": 3,
        "single": 2.25,
    }
    assert pd.isna(row["city"]) and type(row["count"]) is int and type(row["small"]) is int
    pd.testing.assert_frame_equal(schema.row_frame(row), frame.iloc[[2]].reset_index(drop=True))
    mixed = pd.DataFrame({"f": [np.nan, 1.0], "i": pd.array([None, 2], dtype="Int64")})
    # pandas' NA (what frame.iloc gives for a float NaN here) still makes a float column.
    back = build_schema(mixed).row_frame({"f": pd.NA, "i": pd.NA})
    assert back.dtypes.tolist() == [np.dtype("float64"), pd.Int64Dtype()]


def test_y_in_another_order_is_shown_beside_its_own_row():
    X, y = diabetes()
    X, y = X.head(40), y.head(40)
    model = RandomForestRegressor(5, random_state=0).fit(X, y)
    w = explain_widget(model, X, y.sample(frac=1, random_state=0), explainers=("shap",))
    assert w.session.y == y.tolist()


def test_what_if_on_a_row_with_missing_nullable_values():
    frame = nullable_frame()

    def model(df: pd.DataFrame) -> np.ndarray:
        count = df["count"].astype("Float64").fillna(0).to_numpy(dtype=float)
        return count + df["member"].fillna(False).to_numpy(dtype=float)

    w = explain_widget(model, frame)
    w.index = 1  # count and member are missing here
    assert w.instance["count"] is None and w.instance["member"] is None
    w.set_features(share=1.0)
    assert w.error is None
    assert w.explanation.prediction == pytest.approx(0.0)
    w.set_features(member=True)
    assert w.error is None and w.explanation.prediction == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("column", "message"),
    [
        ([1e39, 0.5, 2.0], "numbers beyond ±3.4e38 in 'a' (1 cell)"),
        (pd.array([-1e300, 0.5, None], dtype="Float64"), "numbers beyond ±3.4e38 in 'a'"),
        ([2**63 - 1, 0, 5], "whole numbers beyond ±2**53 in 'a' (1 cell)"),
        (np.array([2**64 - 1, 0, 5], dtype=np.uint64), "whole numbers beyond ±2**53 in 'a'"),
        (pd.array([-(2**60), 0, None], dtype="Int64"), "whole numbers beyond ±2**53 in 'a'"),
    ],
)
def test_numbers_the_explainers_cannot_hold_are_named_before_the_model_is_called(column, message):
    # float32 overflowed in the surrogate's fit after the panel showed; a whole number
    # past 2**53 reached the model as another one (2**63 - 1 as -2**63).
    calls = []

    def model(frame):
        calls.append(len(frame))
        return frame["b"].to_numpy(dtype=float)

    X = pd.DataFrame({"a": column, "b": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=_literal(message)):
        explain_widget(model, X)
    assert calls == []


def test_whole_numbers_up_to_2_to_the_53_reach_the_model_unchanged():
    X = pd.DataFrame({"a": np.array([2**53, -(2**53), 7], dtype=np.int64), "b": [1.0, 2, 3]})
    seen = []

    def model(frame):
        seen.append(frame["a"].to_numpy())
        return frame["b"].to_numpy(dtype=float)

    w = explain_widget(model, X, explainers=("shap",))
    assert w.instance["a"] == 2**53
    assert any(np.array_equal(a, X["a"].to_numpy()) for a in seen)
    w.set_features(a=-(2**53))
    with pytest.raises(ValueError, match=r"integer feature 'a': beyond ±2\*\*53"):
        w.set_features(a=2**53 + 2)  # the edit X would refuse
    assert w.instance["a"] == -(2**53)
    w.close()


def test_a_float_column_of_large_whole_numbers_takes_its_own_values_as_edits():
    # Every float beyond 2**53 is whole, so such a column reads as integer: an edit to one
    # of its own values was refused as beyond what float64 holds exactly.
    X = pd.DataFrame({"t": 1.6e18 + np.arange(30) * 1e9, "b": np.arange(30.0)})

    def model(frame):
        return (frame["t"].to_numpy() - 1.6e18) / 1e9 + frame["b"].to_numpy()

    w = explain_widget(model, X, explainers=("shap",))
    w.set_features(t=X["t"].iloc[5])
    assert w.instance["t"] == X["t"].iloc[5]
    assert w.explanation.prediction == pytest.approx(5.0)
    w.set_features(t=1.6e18 + 7.5e9)
    assert w.explanation.prediction == pytest.approx(7.5)
    with pytest.raises(ValueError, match=r"integer feature 't': beyond ±2\*\*53"):
        w.set_features(t=2**60 + 1)  # an int the column's floats cannot hold
    with pytest.raises(ValueError, match=r"integer feature 't': beyond ±2\*\*53"):
        w.set_features(t=np.int64(2**60 + 1))
    assert w.instance["t"] == 1.6e18 + 7.5e9
    w.close()


def test_an_edit_a_narrow_column_cannot_hold_is_refused():
    """uint8 300 reached the model as 255 (clipped), float16 70000 as inf; 10**400 raised a
    bare OverflowError."""
    X = pd.DataFrame(
        {
            "u8": np.arange(30, dtype=np.uint8),
            "u64": np.arange(30, dtype=np.uint64),
            "i16": pd.array(np.arange(30), dtype="Int16"),
            "h": np.linspace(0, 5, 30).astype(np.float16),
        }
    )

    def model(frame):
        return frame.astype(float).sum(axis=1).to_numpy()

    w = explain_widget(model, X, explainers=("shap",))
    for edit, message in [
        ({"u8": 300}, r"'u8': its column \(uint8\) holds 0 to 255\. "),
        ({"u64": -5}, r"'u64': its column \(uint64\) holds 0 to 9,007,199,254,740,992"),
        ({"u8": -5}, r"'u8': its column \(uint8\) holds 0 to 255"),
        ({"i16": 40_000}, r"'i16': its column \(Int16\) holds -32,768 to 32,767"),
        ({"h": 70_000.0}, r"'h': its column \(float16\) holds -65504 to 65504"),
        ({"u8": 10**400}, "'u8': pass a finite number"),
    ]:
        with pytest.raises(ValueError, match=message):
            w.set_features(edit)
    w.set_features(h=0.1)
    assert w.instance["h"] == float(np.float16(0.1))  # shown as the model gets it
    edited = pd.DataFrame([w.instance]).astype(X.dtypes.to_dict())
    assert w.explanation.prediction == pytest.approx(model(edited)[0])
    w.close()


def test_what_if_a_value_were_unknown_in_a_column_with_missing_values():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"a": rng.normal(size=120), "b": rng.normal(size=120), "c": rng.choice(["u", "v"], 120)}
    ).astype({"c": object})
    X.loc[::7, "a"] = np.nan
    X.loc[[3, 4], "c"] = None
    y = (X["b"] + X["a"].fillna(0) > 0).astype(int)
    encode = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="?"), OneHotEncoder(handle_unknown="ignore")
    )
    columns = make_column_transformer((SimpleImputer(), ["a", "b"]), (encode, ["c"]))
    model = make_pipeline(columns, LogisticRegression()).fit(X, y)
    w = explain_widget(model, X)  # every explainer: each reads the missing values
    w.index = 1  # a row with every value
    w.set_features(a=None, c=None)
    assert np.isnan(w.instance["a"]) and w.instance["c"] is None
    e = w.explanation
    expected = model.predict_proba(pd.DataFrame([w.instance]).astype(X.dtypes.to_dict()))[0, 1]
    assert e.prediction == pytest.approx(expected)
    assert e.base_value + sum(e.shap.values()) == pytest.approx(expected, abs=1e-6)
    assert set(e.lime) == {"a", "b", "c"} and e.rule is w.surrogate.rule_for(w.instance)
    assert e.lime_conditions["a"].endswith("(missing, filled)")  # LIME read a filled row
    found = w.counterfactual()  # searched from a row with missing values
    assert found is None or found.prediction == pytest.approx(
        model.predict_proba(
            pd.DataFrame([{**w.instance, **found.changes}]).astype(X.dtypes.to_dict())
        )[0, 1]
    )
    assert "optiml-data" in w.to_html(rows=[1])
    with pytest.raises(ValueError, match="'b': X has no missing value there"):
        w.set_features(b=None)
    w.close()


def test_a_text_columns_missing_values_reach_the_model_as_x_holds_them():
    # X's text column held NaN; the model got None for it in rows the explainers made, and
    # a SimpleImputer reads NaN as missing but None as a value: SHAP missed the output.
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=150), "c": rng.choice(["u", "v", "w"], 150)})
    X = X.astype({"c": object})
    X.loc[::5, "c"] = np.nan
    y = (X["a"] + (X["c"] == "u") - X["c"].isna() > 0).astype(int)
    encode = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="?"), OneHotEncoder(handle_unknown="ignore")
    )
    columns = make_column_transformer(("passthrough", ["a"]), (encode, ["c"]))
    model = make_pipeline(columns, LogisticRegression()).fit(X, y)
    schema = build_schema(X)
    decoded = schema.decode(schema.encode(X.iloc[:10]))["c"]
    assert all(isinstance(v, float) and np.isnan(v) for v in decoded[::5])
    w = explain_widget(model, X, explainers=("shap",))
    for row in (0, 5, 10):  # rows whose text value is missing
        w.index = row
        e = w.explanation
        assert e.prediction == pytest.approx(model.predict_proba(X.iloc[[row]])[0, 1])
        assert e.base_value + sum(e.shap.values()) == pytest.approx(e.prediction, abs=1e-9)
    w.close()


def test_true_one_and_one_point_zero_are_three_categories():
    # Python holds True == 1 == 1.0: keyed by value they were one category, and a row's 1
    # reached the model as True.
    X = pd.DataFrame(
        {
            "flag": pd.Series([True, 1, "x", 1.0, True, 1, "x", 1.0], dtype=object),
            "b": np.arange(8.0),
        }
    )

    def model(frame):
        return np.where(frame["flag"].astype(str) == "True", 10.0, 0.0) + frame["b"].to_numpy()

    w = explain_widget(model, X, explainers=("shap",))
    feature = w.session.schema["flag"]
    assert [(type(c), c) for c in feature.categories] == [
        (bool, True),
        (int, 1),
        (str, "x"),
        (float, 1.0),
    ]
    assert feature.counts == (2, 2, 2, 2)
    for i in range(4):
        w.index = i
        assert type(w.instance["flag"]) is type(X["flag"][i])
        explanation = w.explanation
        assert explanation.prediction == model(X.iloc[[i]])[0]
        assert explanation.base_value + sum(explanation.shap.values()) == pytest.approx(
            explanation.prediction
        )
    w.set_features(flag=1)  # the category of its own type
    assert type(w.instance["flag"]) is int
    w.close()
    only_true = build_schema(pd.DataFrame({"f": pd.Series([True, "x"], dtype=object)}))
    assert only_true["f"].category_code(1) == 0  # equal to one category only: that one


def test_each_category_has_its_own_label_that_names_it_back():
    # The panel shows and sends categories by label: 1 and "1" wrote the same, and a label
    # made to tell them apart must not be another category's own text.
    column = pd.Series([1, "1", "1 (int)", True, "True", 2.5, "x"], dtype=object)
    feature = build_schema(pd.DataFrame({"k": column}))["k"]
    labels = dict(zip(feature.categories, feature.labels))
    assert len(set(feature.labels)) == len(feature.categories) == 7
    assert labels["1 (int)"] == "1 (int)" and labels["x"] == "x" and labels[2.5] == "2.5"
    assert {feature.label_of(1), feature.label_of("1")} == {"1 (int 2)", "1 (str)"}
    assert {feature.label_of(True), feature.label_of("True")} == {"True (bool)", "True (str)"}
    for code, label in enumerate(feature.labels):
        assert feature.category_code(label) == code
        assert feature.coerce(label) is feature.categories[code]


def test_a_float_column_of_whole_numbers_takes_fractions_but_an_int_column_does_not():
    X = pd.DataFrame({"price": [10.0, 20.0, 30.0, 40.0], "n": [1, 2, 3, 4]})

    def model(frame):
        return frame["price"].to_numpy() * 2 + frame["n"].to_numpy()

    w = explain_widget(model, X, explainers=("shap",))
    w.set_features(price=15.5)
    assert w.instance["price"] == 15.5 and w.explanation.prediction == 32.0
    with pytest.raises(ValueError, match="integer feature 'n' \\(dtype int64\\): pass a whole"):
        w.set_features(n=2.5)
    # An edit reads as X's own values do: a float column's whole number stays a float.
    w.set_features(price=50, n=3.0)
    assert w.instance == {"price": 50.0, "n": 3}
    assert type(w.instance["price"]) is float and type(w.instance["n"]) is int
    w.close()


@pytest.mark.parametrize(
    "columns",
    [[0, 1], [("a", "x"), ("a", "y")]],
    ids=["ints", "tuples"],
)
def test_a_function_reads_x_under_its_own_column_labels(columns):
    # The panel names features by text; the function was written for X's labels, and got
    # '0' and '1' (KeyError: 0, blamed on X).
    X = pd.DataFrame(np.arange(12.0).reshape(6, 2), columns=pd.Index(columns, tupleize_cols=True))
    first, second = X.columns

    def model(frame):
        return frame[first].to_numpy() * 2 - frame[second].to_numpy()

    w = explain_widget(model, X, explainers=("shap", "lime"))
    assert list(w.instance) == [first, second]
    assert w.explanation.prediction == model(X.iloc[[0]])[0]
    w.set_features({str(first): 4.5})
    assert w.explanation.prediction == 4.5 * 2 - X.iloc[0, 1]
    w.set_features({second: 1.0})  # X's own label works too
    assert w.explanation.prediction == 4.5 * 2 - 1.0
    with pytest.raises(ValueError, match="Two values name feature"):
        w.set_features({second: 2.0, str(second): 3.0})
    w.close()


@pytest.mark.parametrize(
    "columns",
    [[3, 1, 2], [("x", "a"), ("x", "b"), ("y", "c")]],
    ids=["ints", "tuples"],
)
def test_what_the_python_api_returns_is_keyed_by_xs_own_column_labels(columns):
    # The features were named by their text ('3', "('x', 'a')") in every result, so
    # e.shap[3] raised KeyError and importance() no longer lined up with X.columns.
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(150, 3)), columns=pd.Index(columns, tupleize_cols=True))
    X[X.columns[2]] = rng.integers(0, 3, size=150)
    a, b, c = X.columns
    labels = list(X.columns)

    def model(frame):
        return ((frame[a] > 0) * 2.0 + (frame[c] == 1)).to_numpy()

    w = explain_widget(model, X, task="regression", categorical_features=[c])
    assert w.session.schema[str(c)].kind == "categorical"  # an input, by X's own label
    assert list(w.instance) == labels
    e = w.explanation
    assert list(e.shap) == list(e.lime) == list(e.instance) == labels
    assert set(e.lime_conditions) <= set(labels)
    assert e.shap[a] == e.attributions["shap"].values[0]
    assert e.to_shap().feature_names == labels  # as shap names a DataFrame's columns
    importance = w.global_explanation.importance()
    assert set(importance.index) == set(labels)
    assert importance[a] == importance.max()
    assert w.global_explanation.to_shap().feature_names == labels

    surrogate = w.surrogate
    assert w.surrogate is surrogate
    features = {cond.feature for rule in surrogate.rules for cond in rule.conditions}
    features |= {term.feature for rule in surrogate.rules for term in rule.terms}
    assert features and features <= set(labels)
    assert set(surrogate.thresholds()) <= set(labels)
    for rule in surrogate.rules:  # a condition's feature reads X's column
        covered = np.ones(len(X), dtype=bool)
        for cond in rule.conditions:
            column = X[cond.feature]
            if cond.op in ("<=", ">"):
                held = column <= cond.value if cond.op == "<=" else column > cond.value
            else:
                held = column.map(cond.holds)
            covered &= held.to_numpy()
        assert covered.mean() == pytest.approx(rule.coverage)
    text_keyed = w.session.instance()  # keyed by the labels' text: read all the same
    assert list(text_keyed) == [str(label) for label in labels]
    for row in (w.instance, X.iloc[0], text_keyed):
        assert e.rule.covers(row)
        assert surrogate.rule_for(row) == e.rule
    assert str(a) in e.rule.text() or str(c) in e.rule.text()
    w.surrogate_size = 2
    assert {cond.feature for rule in w.surrogate.rules for cond in rule.conditions} <= set(labels)
    w.surrogate_size = None

    found = w.counterfactual()
    assert found is not None and set(found.changes) <= set(labels)
    assert all(cond.feature in labels for cond in found.rule.conditions)
    w.set_features(found.changes)
    assert all(w.instance[label] == value for label, value in found.changes.items())
    w.set_features({str(b): 0.25})  # its text still names it
    assert w.instance[b] == 0.25
    w.close()


def test_an_estimator_fit_on_a_frame_with_int_labels_gets_that_frame():
    # scikit-learn keeps no names for such a frame, so the model looked fit on an array and
    # got X's values as floats: True/False reached it as 1.0/0.0, which a pipeline reading
    # them as text never saw in fit (a silently wrong prediction), and a step using pandas
    # failed.
    from sklearn.linear_model import LinearRegression
    from sklearn.preprocessing import FunctionTransformer

    X = pd.DataFrame({0: [False, False, True, False, True, True], 1: [1.0, 2, 3, 4, 5, 6]})
    y = np.where(X[0], 10.0, 0.0)
    as_text = FunctionTransformer(lambda values: np.asarray(values).astype(str))
    model = make_pipeline(as_text, OneHotEncoder(handle_unknown="ignore"), LinearRegression())
    model.fit(X, y)
    assert not hasattr(model, "feature_names_in_")
    w = explain_widget(model, X, explainers=("shap",))
    for index in range(len(X)):
        w.index = index
        assert w.explanation.prediction == pytest.approx(model.predict(X.iloc[[index]])[0])
    w.close()
    doubled = FunctionTransformer(lambda frame: frame.apply(lambda column: column * 2))
    uses_pandas = make_pipeline(doubled, LinearRegression()).fit(X[[1]].rename(columns={1: 7}), y)
    w = explain_widget(uses_pandas, X[[1]].rename(columns={1: 7}), explainers=("shap",))
    assert w.explanation.prediction == pytest.approx(
        uses_pandas.predict(X[[1]].rename(columns={1: 7}).iloc[[0]])[0]
    )
    w.close()


def test_set_features_takes_a_row_of_x():
    # A row is the natural "what if this row's values": it raised pandas' "truth value of
    # a Series is ambiguous", naming neither the argument nor the fix.
    X, y = breast_cancer()
    model = LogisticRegression(max_iter=3000).fit(X, y)
    w = explain_widget(model, X.head(50), explainers=("shap",))
    w.set_features(X.iloc[5])
    assert w.instance == X.iloc[5].to_dict()
    assert w.explanation.prediction == pytest.approx(model.predict_proba(X.iloc[[5]])[0, 1])
    w.set_features(pd.Series({"mean radius": 30.0}))
    assert w.instance["mean radius"] == 30.0
    from decimal import Decimal

    w.set_features({"mean radius": Decimal("12.5")})
    assert w.instance["mean radius"] == 12.5
    with pytest.raises(ValueError, match="pass a finite number"):
        w.set_features({"mean radius": Decimal("sNaN")})
    for bad in ([("mean radius", 1.0)], X.iloc[[5]], "mean radius"):
        with pytest.raises(TypeError, match="set_features takes a mapping of feature -> value"):
            w.set_features(bad)
    w.close()


def test_feature_names_are_for_a_numpy_x():
    # With a DataFrame they renamed its columns: a model then failed on names it never saw,
    # blamed on X. A generator gave a bare "has no len()".
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [0.5, 0.1, 0.2, 0.9]})

    def model(frame):
        return frame["a"].to_numpy() + frame["b"].to_numpy()

    with pytest.raises(ValueError, match="feature_names names the columns of a numpy X"):
        explain_widget(model, X, feature_names=["x", "y"])
    w = explain_widget(model, X, feature_names=["a", "b"], explainers=("shap",))  # the same
    assert list(w.instance) == ["a", "b"]
    w.close()
    with pytest.raises(TypeError, match="feature_names must be a list with one name per column"):
        explain_widget(model, X.to_numpy(), feature_names=(n for n in "ab"))
    for names in (np.array(["a", "b"]), pd.Index(["a", "b"])):  # load_*().feature_names
        w = explain_widget(model, X.to_numpy(), feature_names=names, explainers=("shap",))
        assert list(w.instance) == ["a", "b"]
        w.close()
    with pytest.raises(ValueError, match="feature_names names the columns of a numpy X"):
        explain_widget(model, X, feature_names=np.array(["x", "y"]))


def test_category_and_text_columns_encode_as_value_by_value():
    """pandas category columns and text-only ones are coded once per distinct value (a
    million rows took seconds value by value); the codes are the same."""
    rng = np.random.default_rng(0)
    n = 300
    X = pd.DataFrame(
        {
            "text": pd.Series(rng.choice(["a", "b", None], n), dtype=object),
            "string": pd.Series(rng.choice(["a", "b", "c"], n)).astype("string"),
            "category": pd.Categorical(rng.choice(["x", "y", None], n), categories=["y", "x", "z"]),
            "int_category": pd.Categorical(rng.choice([3, 1, 2], n)),
            "mixed": pd.Series([1, 1.0, True, "1", None, "a"] * (n // 6), dtype=object),
        }
    )
    schema = build_schema(X)
    encoded = schema.encode(X)
    for j, feature in enumerate(schema.features):
        expected = [
            np.nan if value is None or value is pd.NA or value != value else feature.code_of(value)
            for value in X[feature.name].tolist()
        ]
        np.testing.assert_array_equal(encoded[:, j], np.array(expected, dtype=float))
    assert len(set(encoded[:, 4][~np.isnan(encoded[:, 4])])) == 5  # 1, 1.0, True, "1", "a"


def test_more_bad_arguments_get_errors_that_name_them():
    X, y = breast_cancer()
    model = LogisticRegression(max_iter=3000).fit(X, y)
    with pytest.raises(ValueError, match=r"random_state must be from 0 to 2\*\*32 - 1"):
        explain_widget(model, X, random_state=2**40)
    with pytest.raises(ValueError, match="background has 3 columns but X has 30"):
        explain_widget(model, X, background=np.zeros((10, 3)))
    with pytest.raises(TypeError, match="class_names must be a list with one name per class"):
        explain_widget(model, X, class_names="ab")  # before: read as ['a', 'b']
    # A dict's keys were taken as the names (the names it held were dropped); a set has no
    # order to name the outputs by; a generator was a TypeError about len().
    for names in ({0: "benign", 1: "malignant"}, {"benign", "malignant"}, iter("ab")):
        with pytest.raises(TypeError, match="class_names must be a list with one name per"):
            explain_widget(model, X, class_names=names)
    # One column named by X's own label that is not a string, as one name is.
    with pytest.raises(ValueError, match=r"categorical_features names columns that X does not"):
        explain_widget(model, X, categorical_features=3)  # before: 'int' is not iterable
    small = pd.DataFrame({0: np.linspace(0.0, 1.0, 40), 1: np.arange(40) % 3})
    w = explain_widget(lambda d: d[0] + d[1], small, categorical_features=1, explainers=())
    assert w._session.schema[w._session.schema.name_of(1)].is_discrete
    w.close()
    with pytest.raises(ValueError, match="global_rows samples X .* pass one of them"):
        explain_widget(model, X, global_rows=10, global_data=X)  # before: ignored


def test_a_background_the_model_refuses_is_named():
    from sklearn.linear_model import LinearRegression

    X, y = diabetes()
    model = LinearRegression().fit(X, y)
    background = X.iloc[:40].copy()
    background.iloc[0, 2] = np.nan
    with pytest.raises(ValueError, match="NaN") as caught:
        explain_widget(model, X, background=background)
    notes = getattr(caught.value, "__notes__", [])  # Python 3.11+ adds them
    assert sys.version_info < (3, 11) or any("rows passed as background=" in n for n in notes)


def test_a_background_with_a_category_x_lacks_reaches_the_model_as_itself():
    """X's categories are the training data's less one (remove_unused_categories), in the
    order the user gave them, and background rows come from the training data: the schema
    knew the extra category, but rows were decoded by their codes in X's dtype, which has
    fewer and other categories, so the model got other cities or pandas refused the codes
    ("codes need to be between -1 and len(categories)-1") at explain_widget."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(0)
    order = ["Rome", "Lima", "Kyiv", "Oslo", "Zurich"]
    train = pd.DataFrame(
        {
            "city": pd.Categorical(rng.choice(order, 300), categories=order),
            "age": rng.normal(size=300),
        }
    )
    value = train["city"].map(dict(zip(order, [0.0, 1, 3, 5, 8]))).astype(float) + train["age"]
    model = HistGradientBoostingRegressor(
        max_iter=10, categorical_features="from_dtype", random_state=0
    ).fit(train, value)
    X = train[train["city"] != "Zurich"].reset_index(drop=True)
    X["city"] = X["city"].cat.remove_unused_categories()
    background = train.iloc[:40]
    assert (background["city"] == "Zurich").any()
    w = explain_widget(model, X, background=background, explainers=("shap",))
    try:
        for row in range(6):
            w.index = row
            explanation = w.explanation
            assert explanation.instance["city"] == X["city"][row]
            assert explanation.prediction == pytest.approx(model.predict(X.iloc[[row]])[0])
            # Permutation SHAP's base value: the model's mean output over the background.
            assert explanation.base_value == pytest.approx(model.predict(background).mean())
        w.set_features(city="Zurich")
        row = X.iloc[[5]].astype({"city": train["city"].dtype}).assign(city="Zurich")
        assert w.explanation.prediction == pytest.approx(model.predict(row)[0])
    finally:
        w.close()
