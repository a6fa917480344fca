"""Property-based checks over generated frames: mixed and nullable dtypes, odd column names,
missing values, constant columns, one or two rows.

Whatever the frame, ``explain_widget`` returns a working widget or raises a ValueError or
TypeError of our own that names the problem; exact SHAP adds up to the model's output; no
name or category ever becomes markup; nothing hangs. The codec gives every column back in
its own dtype.

The default profile keeps the suite to about a minute; ``OPTIML_FUZZ_PROFILE=nightly``
runs many more examples with random seeds.
"""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import re
import signal
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import pandas as hpd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from optiml_widgets import ExplanationSession, explain_widget
from optiml_widgets.counterfactual import MOST_MOVED, _borrow, _outcome, _toward
from optiml_widgets.data import (
    QUANTILE_LEVELS,
    ColumnQuantiles,
    FeatureSchema,
    _row_quantiles,
    build_schema,
    plain_value,
    row_values,
)
from optiml_widgets.inputs import as_frame, check_y

# -- profiles ------------------------------------------------------------------------------

_COMMON = {
    "database": None,
    "suppress_health_check": [
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
    "print_blob": True,
}
# "quick" runs in `make test`: a fixed set of examples, so a failure reproduces exactly, and
# no shrinking (minutes with a model in the loop; the nightly profile shrinks).
settings.register_profile(
    "quick",
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    **_COMMON,
)
settings.register_profile("nightly", derandomize=False, **_COMMON)
PROFILE = os.environ.get("OPTIML_FUZZ_PROFILE", "quick")
if PROFILE not in ("quick", "nightly"):
    raise ValueError(f"OPTIML_FUZZ_PROFILE must be 'quick' or 'nightly', not {PROFILE!r}.")
NIGHTLY = PROFILE == "nightly"


def examples(quick: int, nightly: int, deadline_seconds: float) -> settings:
    """Settings of one property: its example count in this profile and its deadline."""
    return settings(
        settings.get_profile(PROFILE),
        max_examples=nightly if NIGHTLY else quick,
        deadline=deadline_seconds * 1000,
    )


class Hung(BaseException):
    """Raised by the alarm; a BaseException so no `except Exception` in the code swallows it."""


@contextlib.contextmanager
def hard_timeout(seconds: float) -> Iterator[None]:
    """Fail, rather than hang, when the body runs longer than ``seconds``.

    hypothesis' deadline only judges an example after it returns; this alarm interrupts one
    that never does (main thread only, where pytest runs tests)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def alarm(_signum: int, _frame: Any) -> None:
        raise Hung

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except Hung:
        raise AssertionError(f"hung: still running after {seconds} s") from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- generated frames ----------------------------------------------------------------------

HOSTILE = "<script>alert(1)</script>"
ODD_NAMES = [
    "constructor",
    "__proto__",
    "toString",
    "hasOwnProperty",
    HOSTILE,
    "<img src=x onerror=alert(2)>",
    "a.b",
    "[x]",
    "it's",
    'say "hi"',
    "with space",
    " leading",
    "ünïcødé ✓",
    "名前",
    "back\\slash",
    "line\nbreak",
    "0",
    "n" * 300,
]
name_strategy = st.one_of(st.sampled_from(ODD_NAMES), st.text(min_size=1, max_size=10))
VALUE_TEXT = st.one_of(
    st.sampled_from(["Paris", "Lyon", HOSTILE, "</style>", "a&b", "", "ü"]),
    st.text(max_size=4),
)
FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
KINDS = (
    "float",
    "int",
    "uint8",
    "float32",
    "bool",
    "Int64",
    "Float64",
    "boolean",
    "string",
    "str",
    "category",
    "object",
    "constant",
)
NUMERIC_KINDS = ("float", "int", "uint8", "float32", "Int64", "Float64", "constant")


def _maybe_missing(values: st.SearchStrategy, missing: Any) -> st.SearchStrategy:
    return st.one_of(values, values, values, st.just(missing))


@st.composite
def columns(draw: st.DrawFn, kind: str, n: int) -> pd.Series:
    """One column of ``n`` rows of a kind, with missing values where the dtype has them."""
    index = hpd.range_indexes(min_size=n, max_size=n)
    if kind == "float":
        return draw(hpd.series(elements=_maybe_missing(FINITE, math.nan), dtype=float, index=index))
    if kind == "float32":
        elements = st.floats(-1e4, 1e4, width=32, allow_nan=False, allow_infinity=False)
        return draw(hpd.series(elements=elements, dtype=np.float32, index=index))
    if kind == "int":
        return draw(hpd.series(elements=st.integers(-1000, 1000), dtype=np.int64, index=index))
    if kind == "uint8":
        return draw(hpd.series(dtype=np.uint8, index=index))
    if kind == "bool":
        return draw(hpd.series(dtype=bool, index=index))
    if kind == "constant":
        return pd.Series([draw(FINITE)] * n, dtype=float)
    element, missing, dtype = {
        "Int64": (st.integers(-(10**6), 10**6), None, "Int64"),
        "Float64": (FINITE, None, "Float64"),
        "boolean": (st.booleans(), None, "boolean"),
        "string": (VALUE_TEXT, None, "string"),
        "str": (VALUE_TEXT, math.nan, "str"),
        "category": (st.sampled_from(["low", "mid", "high", HOSTILE]), math.nan, None),
        "object": (VALUE_TEXT, None, object),
    }[kind]
    values = draw(st.lists(_maybe_missing(element, missing), min_size=n, max_size=n))
    if kind == "category":
        return pd.Series(pd.Categorical(values, categories=["low", "mid", "high", HOSTILE]))
    return pd.Series(values, dtype=dtype)


@st.composite
def frames(draw: st.DrawFn, kinds: tuple[str, ...] = KINDS, max_columns: int = 5) -> pd.DataFrame:
    """A DataFrame of 1, 2 or a few rows and up to ``max_columns`` columns of the given kinds."""
    n = draw(st.one_of(st.sampled_from([1, 2]), st.integers(3, 24)))
    names = draw(st.lists(name_strategy, min_size=1, max_size=max_columns, unique=True))
    data = {name: draw(columns(draw(st.sampled_from(kinds)), n)) for name in names}
    return pd.DataFrame(data)


# -- models over any generated frame ------------------------------------------------------


def _is_number(column: pd.Series) -> bool:
    dtype = column.dtype
    return pd.api.types.is_numeric_dtype(dtype) and not (
        pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype)
    )


def _signal(column: pd.Series) -> np.ndarray:
    """A number per value of any column: numbers as they are, anything else hashed."""
    if _is_number(column):
        return np.nan_to_num(column.to_numpy(dtype=float, na_value=np.nan), nan=-1.0)
    return np.array(
        [-1.0 if pd.isna(v) else zlib.crc32(repr(v).encode()) % 97 / 97 for v in column.tolist()]
    )


def formula(frame: pd.DataFrame) -> np.ndarray:
    """A plain function model: a weighted sum of every column's signal."""
    total = np.zeros(len(frame))
    for j, name in enumerate(frame.columns):
        total += (j + 1) * _signal(frame[name])
    return total


def _floats(X: pd.DataFrame) -> np.ndarray:
    return X.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _texts(X: pd.DataFrame) -> np.ndarray:
    return X.astype(object).where(X.notna(), "missing").astype(str).to_numpy()


def pipeline(frame: pd.DataFrame, final: Any) -> Pipeline:
    """Impute and one-hot encode inside the model, as users' Pipelines do."""
    numbers = [c for c in frame.columns if _is_number(frame[c])]
    others = [c for c in frame.columns if c not in numbers]
    steps = []
    if numbers:
        numeric = make_pipeline(
            FunctionTransformer(_floats), SimpleImputer(keep_empty_features=True)
        )
        steps.append(("numbers", numeric, numbers))
    if others:
        encode = make_pipeline(FunctionTransformer(_texts), OneHotEncoder(handle_unknown="ignore"))
        steps.append(("others", encode, others))
    return Pipeline([("prepare", ColumnTransformer(steps)), ("model", final)])


MODELS: dict[str, Callable[[pd.DataFrame], Any]] = {
    "function": lambda frame: formula,
    "pipeline regressor": lambda frame: pipeline(
        frame, DecisionTreeRegressor(max_depth=3, random_state=0)
    ).fit(frame, formula(frame)),
    "pipeline classifier": lambda frame: pipeline(
        frame, DecisionTreeClassifier(max_depth=3, random_state=0)
    ).fit(frame, formula(frame) > np.median(formula(frame))),
}

# Errors generated frames may rightly meet: each names the problem and the fix.
OUR_ERRORS = re.compile(
    "|".join(
        [
            r"has no finite values: drop it or fill its missing values",
            r"has no values \(every cell is missing\): drop it or fill its missing values",
            r"was fit on a single class .* Fit it on data with at least two classes",
        ]
    )
)


# -- properties ----------------------------------------------------------------------------
def checked_schema(frame: pd.DataFrame) -> tuple[pd.DataFrame, FeatureSchema] | None:
    """X as the panel reads it and its schema; None when the schema names its problem."""
    checked = as_frame(frame)
    try:
        return checked, build_schema(checked)
    except ValueError as error:
        assert OUR_ERRORS.search(str(error)), error
        return None


@examples(quick=60, nightly=2000, deadline_seconds=5)
@given(frame=frames())
def test_the_codec_gives_every_column_back_in_its_own_dtype(frame):
    with hard_timeout(30):
        found = checked_schema(frame)
        if found is None:
            return
        checked, schema = found
        encoded = schema.encode(checked)
        assert encoded.shape == checked.shape and not np.isinf(encoded).any()
        assert list(schema.names) == [str(c) for c in frame.columns]
        pd.testing.assert_frame_equal(schema.decode(encoded), checked)
        # NaN codes (what a masker draws for a missing cell) decode to the dtype's own NA.
        missing = schema.decode(np.full((1, len(schema)), np.nan))
        for name, dtype in checked.dtypes.items():
            assert missing[name].isna().all()
            if not (isinstance(dtype, np.dtype) and dtype.kind in "biu"):  # these hold no NA
                assert missing[name].dtype == dtype


@examples(quick=200, nightly=5000, deadline_seconds=5)
@given(
    rows=st.integers(1, 4).flatmap(
        lambda n: st.lists(
            st.lists(st.floats(allow_nan=False), min_size=n, max_size=n), min_size=1, max_size=4
        )
    ),
    levels=st.lists(st.floats(0, 1), min_size=1, max_size=8),
)
def test_row_quantiles_are_numpys_to_the_last_bit(rows, levels):
    """The sort-based quantiles the sliders read equal numpy's own (linear method), with
    infinities, subnormals and signed zeros."""
    values = np.array(rows, dtype=float)  # rows x values
    with np.errstate(invalid="ignore", over="ignore"):
        expected = np.quantile(values, levels, axis=1)
        found = _row_quantiles(values, levels)
    np.testing.assert_array_equal(found, expected)


@examples(quick=60, nightly=2000, deadline_seconds=5)
@given(frame=frames(kinds=NUMERIC_KINDS), read=st.sampled_from(["alone", "together", "ahead"]))
def test_each_numeric_summary_is_its_column_s_own(frame, read):
    """Ranges, kinds and quantiles (computed when first read: alone, with the shown
    features, or ahead in a thread) are those of each column's finite values; a summary
    compares and pickles as the plain tuple it stands for."""
    found = checked_schema(frame)
    if found is None:
        return
    checked, schema = found
    if read == "ahead":
        ColumnQuantiles.read_ahead(schema.features)
    if read != "alone":
        ColumnQuantiles.read_together(schema.features)  # after the read ahead, if any
    for feature, (_, column) in zip(schema.features, checked.items()):
        if feature.is_discrete:
            continue
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        finite = values[np.isfinite(values)]
        assert (feature.min, feature.max) == (finite.min(), finite.max())
        expected = tuple(zip(QUANTILE_LEVELS, np.quantile(finite, QUANTILE_LEVELS).tolist()))
        assert tuple(feature.quantiles) == expected
        assert feature.quantiles == expected and hash(feature.quantiles) == hash(expected)
        assert pickle.loads(pickle.dumps(feature)) == feature
        whole = bool(np.all(finite == np.round(finite)))
        assert (feature.kind == "integer") == (whole or column.dtype.kind in "iu"), feature


@examples(quick=60, nightly=2000, deadline_seconds=5)
@given(frame=frames(), data=st.data())
def test_a_row_reads_as_each_column_gives_it(frame, data):
    """``row_values`` reads the plain numpy columns of one dtype at once: every cell comes
    back as its own column gives it, as a plain Python value of the same type."""
    checked = as_frame(frame)
    index = data.draw(st.integers(0, len(checked) - 1))
    row = row_values(checked, index)
    assert list(row) == [str(c) for c in checked.columns]
    for name, column in checked.items():
        expected = plain_value(column.iat[index])
        got = row[str(name)]
        assert type(got) is type(expected), (name, got, expected)
        assert got == expected or (expected != expected and got != got), (name, got, expected)


@examples(quick=8, nightly=300, deadline_seconds=120)
@given(
    frame=frames(),
    model_name=st.sampled_from(sorted(MODELS)),
    export=st.sampled_from([False, False, True]),  # an export costs seconds: every third
)
def test_explain_widget_works_or_names_the_problem(frame, model_name, export):
    try:
        model = MODELS[model_name](frame)
    except ValueError:
        assume(False)  # the model itself cannot be fit on this frame: nothing to explain
    with hard_timeout(240):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                w = explain_widget(model, frame, explainers=("shap", "lime", "surrogate"))
        except (ValueError, TypeError) as error:
            assert OUR_ERRORS.search(str(error)), f"{type(error).__name__}: {error}"
            event(f"refused: {str(error)[:40]}")
            return
        # The widget reports a failed first view as a warning: there must be none.
        failed = [str(c.message) for c in caught if str(c.message).startswith("optiml_widgets")]
        assert not failed, failed
        try:
            event(w.explanation.algorithm.split(" ")[0])
            check_widget(w, model, frame, export=export)
        finally:
            w.close()


@examples(quick=8, nightly=200, deadline_seconds=120)
@given(
    frame=frames(max_columns=4),
    model_name=st.sampled_from(sorted(MODELS)),
    data=st.data(),
)
def test_borrowed_values_are_one_real_rows_and_the_model_follows_them(frame, model_name, data):
    try:
        model = MODELS[model_name](frame)
    except ValueError:
        assume(False)
    with hard_timeout(240):
        try:
            session = ExplanationSession(model, frame, explainers=("shap",))
        except (ValueError, TypeError) as error:
            assert OUR_ERRORS.search(str(error)), f"{type(error).__name__}: {error}"
            return
        try:
            index = data.draw(st.integers(0, session.n_rows - 1), label="row")
            encoded = session.encoded_X[index]
            rows, outputs = session.encoded_X[session.x_sample], session.x_outputs()
            adapter, split = session.adapter, session.outcome_split()
            before = _outcome(adapter, outputs[index], split)
            found = _borrow(
                encoded,
                session.schema,
                rows,
                outputs,
                lambda outcome: outcome != before,
                _toward(adapter, before, None),
                adapter,
                split,
            )
            event("borrowed" if found else "nothing to borrow")
            if found is None:
                return
            changes, outputs_there, outcome = found
            assert outcome != before and 1 <= len(changes) <= MOST_MOVED
            changed = {**session.instance(index, {}), **changes}
            real = adapter.predict(session.schema.row_frame(changed))[0]
            assert (
                real == pytest.approx(outputs_there) and _outcome(adapter, real, split) == outcome
            )
            # Every value comes from one real row the model gives that outcome.
            taken = session.schema.encode_row(changed)
            same = [
                k
                for k in range(len(rows))
                if _outcome(adapter, outputs[k], split) == outcome
                and all(
                    taken[j] == rows[k, j]
                    for j, name in enumerate(session.schema.names)
                    if name in changes
                )
            ]
            assert same, changes
        finally:
            session.close()


def test_hostile_names_and_values_stay_text_everywhere():
    rng = np.random.default_rng(0)
    n = 12
    names = [HOSTILE, "<img src=x onerror=alert(2)>", "constructor", "__proto__", 'say "hi"']
    frame = pd.DataFrame(
        {
            name: rng.normal(size=n) if j % 2 else rng.choice(["a", HOSTILE, "</style>"], n)
            for j, name in enumerate(names)
        }
    )
    model = MODELS["pipeline regressor"](frame)
    with hard_timeout(240):
        w = explain_widget(model, frame)
        try:
            check_widget(w, model, frame, export=True)
        finally:
            w.close()


def check_widget(w: Any, model: Any, frame: pd.DataFrame, *, export: bool) -> None:
    names = [str(c) for c in frame.columns]
    explanation = w.explanation
    assert list(explanation.shap) == names
    expected = _model_output(model, frame.head(1), w.target)
    assert explanation.prediction == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert math.isfinite(explanation.base_value)
    if _exact(explanation.algorithm):
        total = explanation.base_value + sum(explanation.shap.values())
        assert total == pytest.approx(explanation.prediction, rel=1e-6, abs=1e-9)
    # A what-if edit to another row's value of the first column.
    if len(frame) > 1:
        value = frame.iloc[1, 0]
        if not pd.isna(value):
            w.set_features({names[0]: _plain(value)})
            assert w.error is None, w.error
            edited = frame.head(1).copy()
            edited.iloc[0, 0] = value
            assert w.explanation.prediction == pytest.approx(
                _model_output(model, edited, w.target), rel=1e-9, abs=1e-12
            )
    check_counterfactual(w)
    assert_no_markup_from_names(w._repr_mimebundle_()[0]["text/html"])
    if export:
        assert_no_markup_from_names(w.to_html(rows=[0]))


def check_counterfactual(w: Any) -> None:
    """The hint's changed row is one the model takes, in the rule the hint names, and what
    the model says there is what the hint says (borrowed values of real rows included)."""
    hint = w.counterfactual()
    if hint is None:
        return
    session = w.session
    changed = {**w.instance, **hint.changes}
    assert set(hint.changes) <= set(session.schema.names)
    assert hint.rule.covers(changed)
    outputs = session.adapter.predict(session.schema.row_frame(changed))[0]
    if session.adapter.classes is not None:
        label = session.adapter.classes[int(np.argmax(outputs))]
        assert label == hint.predicted_label
        assert hint.model_agrees == (label != hint.outcome_before)
    else:
        split = session.outcome_split()
        assert hint.median == split.median
        side = split.outcome(float(outputs[0]))
        assert side == hint.outcome_after
        assert hint.model_agrees == (side != hint.outcome_before)
    for name, value in hint.changes.items():
        feature = session.schema[name]
        if feature.is_discrete:
            assert any(str(c) == str(value) for c in feature.categories)
        else:
            assert feature.min <= float(value) <= feature.max


def _model_output(model: Any, rows: pd.DataFrame, target: Any) -> float:
    if callable(model) and not hasattr(model, "predict"):
        return float(np.asarray(model(rows), dtype=float).ravel()[0])
    if hasattr(model, "predict_proba"):
        classes = [str(c) for c in model.classes_]
        return float(model.predict_proba(rows)[0, classes.index(str(target))])
    return float(model.predict(rows)[0])


def _exact(algorithm: str) -> bool:
    return algorithm.startswith(("TreeSHAP", "Linear SHAP"))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def assert_no_markup_from_names(page: str) -> None:
    lowered = page.lower()
    assert "<script>alert(1)" not in lowered, "a name or value became a script element"
    assert "<img src=x" not in lowered, "a name became an img element"


@examples(quick=20, nightly=500, deadline_seconds=60)
@given(frame=frames(kinds=NUMERIC_KINDS), kind=st.sampled_from(["tree", "linear"]))
def test_exact_shap_adds_up_to_the_prediction(frame, kind):
    target = formula(frame) + 0.5 * np.arange(len(frame))
    if kind == "linear":
        frame = frame.dropna(axis=1)
        assume(frame.shape[1] > 0)
    model: Any = (
        LinearRegression()
        if kind == "linear"
        else DecisionTreeRegressor(max_depth=4, random_state=0)
    )
    try:
        model.fit(frame, target)
    except ValueError:
        assume(False)  # scikit-learn cannot fit this frame (e.g. an all-missing Int64 column)
    with shap_widget(model, frame) as w:
        if w is None:
            return  # refused, with one of our errors
        # A model computing in float32 answers a row alone and in a batch a few units in the
        # last place apart (BLAS kernels): the panel shows its answer for the batch.
        single = any(dtype == np.float32 for dtype in frame.dtypes)
        for index in range(min(len(frame), 3)):
            w.index = index
            explanation = w.explanation
            assert explanation.prediction == pytest.approx(
                model.predict(frame.iloc[[index]])[0], rel=1e-6 if single else 1e-9, abs=1e-9
            )
            event(explanation.algorithm.split(" ")[0])
            if _exact(explanation.algorithm):
                total = explanation.base_value + sum(explanation.shap.values())
                assert total == pytest.approx(explanation.prediction, rel=1e-6, abs=1e-9)


@contextlib.contextmanager
def shap_widget(model: Any, frame: pd.DataFrame) -> Iterator[Any]:
    """A widget with SHAP alone, closed afterwards; None when it refused the frame with one
    of our errors. Under a hard timeout."""
    with hard_timeout(120):
        try:
            w = explain_widget(model, frame, explainers=("shap",))
        except (ValueError, TypeError) as error:
            assert OUR_ERRORS.search(str(error)), f"{type(error).__name__}: {error}"
            yield None
            return
        try:
            yield w
        finally:
            w.close()


@examples(quick=12, nightly=300, deadline_seconds=60)
@given(frame=frames(kinds=("category", "category", "float", "int", "Int64"), max_columns=4))
def test_a_model_on_its_own_categories_gets_shaps_own_exact_values(frame):
    """LightGBM splits on pandas categories itself (missing values and a category that is
    markup included): TreeSHAP on the model's own DataFrame, shap's own values, adding up."""
    lightgbm = pytest.importorskip("lightgbm")
    shap = pytest.importorskip("shap")
    assume(any(isinstance(dtype, pd.CategoricalDtype) for dtype in frame.dtypes))
    frame.columns = [f"c{j}" for j in range(frame.shape[1])]  # LightGBM refuses odd names
    target = formula(frame) + 0.5 * np.arange(len(frame))
    model = lightgbm.LGBMRegressor(
        n_estimators=8, min_child_samples=1, min_data_in_bin=1, random_state=0, verbose=-1
    )
    try:
        model.fit(frame, target)
    except ValueError:
        assume(False)  # LightGBM cannot fit this frame (e.g. an all-missing Int64 column)
    with shap_widget(model, frame) as w:
        if w is None:
            return  # refused, with one of our errors
        own = shap.TreeExplainer(model)
        for index in range(min(len(frame), 3)):
            w.index = index
            explanation = w.explanation
            assert explanation.algorithm == "TreeSHAP (path-dependent, the model's prediction)"
            row = frame.iloc[[index]]
            assert explanation.prediction == pytest.approx(model.predict(row)[0], rel=1e-9)
            expected = np.asarray(own.shap_values(row, check_additivity=False))[0]
            ours = [explanation.shap[name] for name in frame.columns]
            np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-9)
            total = explanation.base_value + sum(ours)
            assert total == pytest.approx(explanation.prediction, rel=1e-6, abs=1e-9)


BAD_COLUMNS: dict[str, Callable[[int], Any]] = {
    "dates or times": lambda n: pd.date_range("2020-01-01", periods=n),
    "durations": lambda n: pd.to_timedelta(np.arange(n), unit="D"),
    "complex numbers": lambda n: np.arange(n) * (1 + 1j),
    "lists, dicts or other unhashable values": lambda n: pd.Series(
        [[i] for i in range(n)], dtype=object
    ),
}


@examples(quick=30, nightly=500, deadline_seconds=5)
@given(frame=frames(), bad=st.sampled_from([*BAD_COLUMNS, "infinite"]), data=st.data())
def test_a_bad_column_is_named_before_the_model_is_called(frame, bad, data):
    name = data.draw(name_strategy.filter(lambda n: n not in frame.columns), label="bad name")
    if bad == "infinite":
        values = np.zeros(len(frame))
        values[data.draw(st.integers(0, len(frame) - 1), label="row")] = data.draw(
            st.sampled_from([np.inf, -np.inf]), label="sign"
        )
        expected = f"infinite values in {name!r}"
    else:
        values = BAD_COLUMNS[bad](len(frame))
        expected = f"{bad}: [{name!r}]"
    calls = []

    def model(df: pd.DataFrame) -> np.ndarray:
        calls.append(len(df))
        return np.zeros(len(df))

    with hard_timeout(30), pytest.raises(ValueError) as error:
        explain_widget(model, frame.assign(**{name: values}))
    assert expected in str(error.value)
    assert not calls


@examples(quick=40, nightly=1000, deadline_seconds=5)
@given(
    labels=st.lists(st.one_of(st.integers(-50, 50), st.text(max_size=3)), min_size=1, unique=True),
    data=st.data(),
)
def test_y_is_matched_to_x_by_index_in_any_order(labels, data):
    frame = pd.DataFrame({"a": np.arange(len(labels), dtype=float)}, index=pd.Index(labels))
    y = pd.Series([f"y{i}" for i in range(len(labels))], index=frame.index)
    order = data.draw(st.permutations(range(len(labels))), label="order")
    assert check_y(y.iloc[list(order)], frame) == list(y)
    unknown = data.draw(st.integers(100, 200), label="unknown label")
    with pytest.raises(ValueError, match="y's index does not match X's"):
        check_y(y.set_axis([unknown, *labels[1:]]), frame)
