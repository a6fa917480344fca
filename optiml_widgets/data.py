"""The feature schema: what each column of X is, and a numeric codec for the explainers.

SHAP maskers and LIME work on float matrices; models want the original DataFrame. The
schema converts between the two (categories become integer codes and back), so every
explainer works over the ORIGINAL columns whatever the model does inside.
"""

from __future__ import annotations

import contextlib
import decimal
import functools
import math
import numbers
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import sparse

from .format import first_names, format_number, short_repr
from .jobs import in_flight

FeatureKind = Literal["numeric", "integer", "categorical", "boolean"]

QUANTILE_LEVELS = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
# Columns copied at once where X is read in blocks: fast on wide data, a bounded copy on long.
COLUMN_CHUNK = 128

# A sparse X is densified up to this many cells (40 MB as float64): the explainers need
# dense rows and copy X a few times (encoded, background, LIME's training rows).
SPARSE_MAX_CELLS = 5_000_000


@dataclass(frozen=True)
class Feature:
    """One column of X: its kind and a summary of its values."""

    name: str
    kind: FeatureKind
    dtype: str
    min: float | None = None
    max: float | None = None
    quantiles: Sequence[tuple[float, float]] = ()
    categories: tuple[Any, ...] = ()
    counts: tuple[int, ...] = ()
    missing: float = 0.0
    # The missing value X's object column holds (None or NaN), given back to the model as
    # it is: a pipeline's SimpleImputer counts NaN as missing and None as a value.
    missing_value: Any = field(default=None, compare=False)

    @property
    def is_discrete(self) -> bool:
        """True for categorical and boolean features (encoded as category codes)."""
        return self.kind in ("categorical", "boolean")

    def category_code(self, value: Any) -> int:
        """The integer code of a category value (matched as is, then by its label, then by
        its text)."""
        code = self.code_of(value)
        if code is not None:
            return code
        text = str(value)
        by_label = self._label_codes.get(text)
        if by_label is not None:
            return by_label
        for i, category in enumerate(self.categories):
            if str(category) == text:
                return i
        raise ValueError(
            f"{short_repr(value)} is not a category of feature {self.name!r}; "
            f"known categories: {list(self.labels)}."
        )

    @functools.cached_property
    def labels(self) -> tuple[str, ...]:
        """Each category's text as the panel shows and sends it, one per category: its
        ``str``, with its type where two categories write the same ("1 (int)", "1 (str)";
        in an object column 1 and "1" are two categories). A label never reads as another
        category's own text, so a label the panel sends names one category."""
        texts = [str(c) for c in self.categories]
        counts = Counter(texts)
        taken = set(texts)
        out = []
        for category, text in zip(self.categories, texts):
            if counts[text] == 1:
                out.append(text)
                continue
            kind = type(_key(category)).__name__
            label, k = f"{text} ({kind})", 2
            while label in taken:  # two of one type that write the same, or a text like it
                label, k = f"{text} ({kind} {k})", k + 1
            taken.add(label)
            out.append(label)
        return tuple(out)

    def label_of(self, value: Any) -> str:
        """The label of a category value (``labels``); a value that is no category, its text."""
        code = self.code_of(value)
        return str(value) if code is None else self.labels[code]

    @functools.cached_property
    def _label_codes(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.labels)}

    def code_of(self, value: Any) -> int | None:
        """The code of the category ``value`` is: the one of its own type first (True, 1
        and 1.0 are equal in Python but may be three categories to a model), else the one
        equal to it if only one is (1 for a category True); None when none is."""
        exact, by_value = self._codes
        try:
            code = exact.get(_identity(value))
            if code is None:
                code = by_value.get(_key(value))
        except TypeError:  # unhashable
            return None
        return None if code is None or code < 0 else code

    @functools.cached_property
    def _codes(self) -> tuple[dict[Any, int], dict[Any, int]]:
        exact = {_identity(c): i for i, c in enumerate(self.categories)}
        by_value: dict[Any, int] = {}
        for i, category in enumerate(self.categories):
            key = _key(category)
            by_value[key] = -1 if key in by_value else i  # -1: equal to two categories
        return exact, by_value

    def coerce(self, value: Any) -> Any:
        """Check a what-if value for this feature and return it in the column's type;
        None (or NaN) asks "what if it were unknown" of a column X has missing values in
        (the model was called with them)."""
        if is_missing(value):
            if self.missing > 0:
                return None if self.is_discrete else math.nan
            raise ValueError(
                f"Invalid value {short_repr(value)} for {self.kind} feature {self.name!r}: X has no "
                "missing value there, so the model was never asked about one. Pass a value."
            )
        if self.is_discrete:
            if self.kind == "boolean" and isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("true", "false"):
                    value = lowered == "true"
            return self.categories[self.category_code(value)]
        if isinstance(value, np.ndarray) and value.ndim == 0:  # np.array(2.0)
            value = value.item()
        if isinstance(value, str):
            try:
                parsed = float(value)
            except ValueError:
                parsed = math.nan
            if math.isnan(parsed):
                raise ValueError(
                    f"Invalid value {short_repr(value)} for {self.kind} feature {self.name!r}: "
                    "pass a finite number."
                )
            value = parsed
        # Any real number (Decimal, Fraction, numpy's) but a bool, which is not a quantity.
        if isinstance(value, (bool, np.bool_)) or not isinstance(
            value, (numbers.Real, decimal.Decimal)
        ):
            raise ValueError(
                f"Invalid value {short_repr(value)} for {self.kind} feature {self.name!r}: pass a number "
                f"(an int or a float), not {type(value).__name__}."
            )
        try:
            number = float(value)
        except OverflowError:  # an int past float64 (10**400)
            number = math.inf
        except (ValueError, ArithmeticError):  # Decimal("sNaN")
            number = math.nan
        if not math.isfinite(number):
            raise ValueError(
                f"Invalid value {short_repr(value)} for {self.kind} feature {self.name!r}: "
                "pass a finite number."
            )
        if self.kind == "integer" and abs(number) > LARGEST_EXACT_WHOLE:
            raise ValueError(
                f"Invalid value {short_repr(value)} for integer feature {self.name!r}: beyond ±2**53, "
                "which the explainers' float64 cannot hold exactly. Pass a smaller number."
            )
        bounded = _bounded_dtype(self.dtype)
        if bounded is not None:
            low, high = _limits(bounded)
            if not low <= number <= high:
                # The model would get the column's nearest number (or inf), not this one.
                raise ValueError(
                    f"Invalid value {short_repr(value)} for {self.kind} feature {self.name!r}: its column "
                    f"({self.dtype}) holds {_limit_text(low, bounded)} to "
                    f"{_limit_text(high, bounded)}. Pass a number in that range."
                )
            if bounded.kind == "f":  # shown as the model gets it: 0.1 is 0.0999755859375
                number = float(bounded.type(number))
        if abs(number) > FLOAT32_MAX:  # X with such a number is refused too (check_columns)
            raise ValueError(
                f"Invalid value {short_repr(value)} for {self.kind} feature {self.name!r}: beyond ±3.4e38, "
                "where the trees (the surrogate's, shap's) read it as infinite. Pass a smaller "
                "number."
            )
        if self.kind == "integer":
            if number == round(number):
                return round(number)
            # A float column whose values happen to be whole takes fractions too.
            if _integer_dtype(self.dtype):
                raise ValueError(
                    f"Invalid value {short_repr(value)} for integer feature {self.name!r} "
                    f"(dtype {self.dtype}): pass a whole number."
                )
        return number


@functools.lru_cache(maxsize=64)
def _bounded_dtype(dtype: str) -> np.dtype | None:
    """A column's dtype (its name) as numpy's when it bounds the numbers a float64 edit may
    take: every integer dtype (also unsigned, nullable and Arrow forms), float16, float32."""
    try:
        resolved = pd.api.types.pandas_dtype(dtype)
    except (TypeError, ValueError, ImportError):
        return None
    numpy = getattr(resolved, "numpy_dtype", resolved)
    if isinstance(numpy, np.dtype) and (
        numpy.kind in "iu" or (numpy.kind == "f" and numpy.itemsize < 8)
    ):
        return numpy
    return None


def _limits(dtype: np.dtype) -> tuple[float, float]:
    """The smallest and largest number ``dtype`` holds; for integers, within ±2**53 (past
    it float64 holds no whole number exactly)."""
    if dtype.kind in "iu":
        whole = np.iinfo(dtype)
        return float(max(whole.min, -LARGEST_EXACT_WHOLE)), float(
            min(whole.max, LARGEST_EXACT_WHOLE)
        )
    return -float(np.finfo(dtype).max), float(np.finfo(dtype).max)


def _limit_text(limit: float, dtype: np.dtype) -> str:
    """A limit as a message writes it: exact for integers (4,294,967,295)."""
    return f"{int(limit):,}" if dtype.kind in "iu" else format_number(limit)


def _integer_dtype(dtype: str) -> bool:
    """Whether a column's dtype (its name) holds only whole numbers: int64, Int64, uint8,
    int64[pyarrow]... (float64 and Float64 take fractions)."""
    try:
        return bool(pd.api.types.is_integer_dtype(pd.api.types.pandas_dtype(dtype)))
    except (TypeError, ValueError, ImportError):
        return "int" in dtype.lower()


@dataclass
class FeatureSchema:
    """The features of X, in column order, with an encode/decode pair for explainers."""

    features: list[Feature]
    dtypes: dict[str, Any] = field(default_factory=dict)
    # Feature name -> X's own column label, when X's labels are not all text (ints from
    # pd.DataFrame(array), tuples of a MultiIndex): features are named by their text inside
    # and in the panel, and the Python API keys what it returns by these labels (by_label).
    own_labels: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Feature names in column order."""
        return [f.name for f in self.features]

    @property
    def labels(self) -> list[Any]:
        """X's own column label of each feature, in column order (its name for text)."""
        return [self.label(f.name) for f in self.features]

    def label(self, name: str) -> Any:
        """X's own column label of the feature named ``name``."""
        return self.own_labels.get(name, name)

    def by_label(self, values: Mapping[str, Any]) -> dict[Any, Any]:
        """A dict keyed by feature names, keyed by X's own column labels instead."""
        if not self.own_labels:
            return dict(values)
        return {self.own_labels.get(name, name): value for name, value in values.items()}

    def name_of(self, key: Any) -> Any:
        """The feature name of ``key``: a name as it is, X's own label (0, ("a", 1)) as its
        name; anything else as it is (an unknown feature)."""
        return _name_among(key, self._name_set)

    @functools.cached_property
    def _name_set(self) -> frozenset[str]:
        return frozenset(self.names)

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, name: str) -> Feature:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(self.unknown_feature_message(name))

    def unknown_feature_message(self, name: object) -> str:
        """Message naming an unknown feature, with the closest known names."""
        import difflib

        close = difflib.get_close_matches(str(name), self.names, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        shown = self.names if len(self.names) <= 12 else [*self.names[:12], "…"]
        return f"Unknown feature {short_repr(name)}.{hint} Known features: {shown}."

    @property
    def discrete_indices(self) -> list[int]:
        """Column positions of categorical and boolean features."""
        return [i for i, f in enumerate(self.features) if f.is_discrete]

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """DataFrame in original types -> float matrix (categories as integer codes)."""
        dtypes = dict(column_dtypes(frame))
        plain = [
            j
            for j, f in enumerate(self.features)
            if not f.is_discrete and _plainly_numeric(dtypes.get(f.name))
        ]
        if len(plain) == len(self.features) and list(dtypes) == self.names:
            # Every column a plain number, in order: pandas' own float block as it is (a
            # column-major view, no copy) or, for other dtypes, one copy. Read-only: it may
            # be X's own memory (pandas before copy-on-write hands out a writable view).
            values = frame.to_numpy(dtype=float)
            values.flags.writeable = False
            return values
        out = np.empty((len(frame), len(self.features)), dtype=float)
        if plain:  # one block: a column at a time costs ~20 µs each (wide data)
            out[:, plain] = frame[[self.features[j].name for j in plain]].to_numpy(dtype=float)
        done = set(plain)
        for j, feature in enumerate(self.features):
            if j in done:
                continue
            column = frame[feature.name]
            if feature.is_discrete:
                out[:, j] = _category_codes(feature, column)
            else:
                out[:, j] = _as_floats(column)
        return out

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        """Float matrix -> DataFrame with the original column types, for the model.

        Every column comes back in the dtype it had in X (nullable pandas dtypes included,
        with NaN codes as their missing value), so the model sees what it was fit on.
        """
        matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
        if self._all_float:
            # Every column float64: one block, no per-column work (wide data, hot loops).
            # One copy, in the column order pandas keeps (a Fortran-ordered matrix, as
            # permutation SHAP builds, is copied straight; pandas would copy it twice).
            block = np.array(matrix, order="F")
            return pd.DataFrame(block, columns=self._column_index, copy=False)
        columns: dict[str, Any] = {}
        for j, feature in enumerate(self.features):
            values = matrix[:, j]
            dtype = self.dtypes.get(feature.name)
            if feature.is_discrete:
                columns[feature.name] = _decode_codes(feature, dtype, values)
            else:
                columns[feature.name] = _decode_numbers(feature, dtype, values)
        return pd.DataFrame(columns, columns=self._column_index)

    @functools.cached_property
    def _column_index(self) -> pd.Index:
        # Made once: pandas would otherwise build (and infer) a string index on every call.
        return pd.Index(self.names)

    @functools.cached_property
    def _all_float(self) -> bool:
        return all(
            not f.is_discrete and self.dtypes.get(f.name) == np.dtype("float64")
            for f in self.features
        )

    def encode_row(self, instance: Mapping[str, Any]) -> np.ndarray:
        """An instance dict -> its encoded row (categories as codes, missing as NaN)."""
        out = np.empty(len(self.features), dtype=float)
        for j, feature in enumerate(self.features):
            value = instance[feature.name]
            if is_missing(value):
                out[j] = math.nan
            elif feature.is_discrete:
                out[j] = feature.category_code(value)
            else:
                out[j] = float(value)
        return out

    def row_frame(self, instance: Mapping[str, Any]) -> pd.DataFrame:
        """A one-row DataFrame of an instance dict, in original column types.

        A missing value may be None, NaN or pandas' NA: each becomes the column's own."""
        frame = pd.DataFrame({name: [plain_value(instance[name])] for name in self.names})
        for name, dtype in self.dtypes.items():
            if isinstance(dtype, pd.CategoricalDtype):
                frame[name] = pd.Categorical(frame[name], dtype=dtype)
            else:
                with contextlib.suppress(TypeError, ValueError):
                    frame[name] = frame[name].astype(dtype)
        return frame


def _decode_codes(feature: Feature, dtype: Any, values: np.ndarray) -> Any:
    """Category codes (NaN for missing) -> the column's values in its own dtype."""
    codes = np.where(np.isnan(values), -1, np.rint(values)).astype(int)
    codes = np.clip(codes, -1, len(feature.categories) - 1)
    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Categorical.from_codes(codes, dtype=dtype)
    decoded = np.array([*feature.categories, feature.missing_value], dtype=object)[codes]
    typed: Any = None
    if isinstance(dtype, np.dtype) and dtype.kind != "O":
        # A numpy bool or int column has no missing value: those stay objects with None.
        if dtype.kind == "f" or not (codes < 0).any():
            with contextlib.suppress(TypeError, ValueError):
                typed = decoded.astype(dtype)
    elif dtype is not None and not pd.api.types.is_object_dtype(dtype):
        # pandas extension dtypes (boolean, string, str, Int64, ...) take None as their NA.
        with contextlib.suppress(TypeError, ValueError):
            typed = pd.array(decoded, dtype=dtype)
    # An object Series stays object (from an array, a DataFrame infers a string dtype).
    return typed if typed is not None else pd.Series(decoded, dtype=object)


def _decode_numbers(feature: Feature, dtype: Any, values: np.ndarray) -> Any:
    """Floats (NaN for missing) -> the column's numbers in its own dtype."""
    if dtype is None:
        return values
    if isinstance(dtype, np.dtype):
        if dtype.kind == "f":
            return values.astype(dtype, copy=False)
        if dtype.kind in "iu" and not np.isnan(values).any():
            limits = np.iinfo(dtype)
            # float(2**63 - 1) rounds up to 2**63, which wraps to -2**63: clip below it.
            high = float(limits.max)
            if high > limits.max:
                high = np.nextafter(high, 0.0)
            return np.clip(np.rint(values), limits.min, high).astype(dtype)
        return values  # an int column with a missing value: floats keep NaN
    # pandas extension dtypes (Int64, Float64, int64[pyarrow], ...): NaN becomes their NA.
    if feature.kind == "integer" and pd.api.types.is_integer_dtype(dtype):
        values = np.rint(values)
    with contextlib.suppress(TypeError, ValueError):
        return pd.array(values, dtype=dtype)
    return values


def _as_floats(column: pd.Series) -> np.ndarray:
    """A numeric column as float64 with NaN for missing (pd.NA included)."""
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "biuf":
        return column.to_numpy(dtype=float)  # the common case, without pandas' NA handling
    return pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def row_values(frame: pd.DataFrame, index: int) -> dict[str, Any]:
    """Row ``index`` of ``frame`` as a dict of plain Python values (see plain_value).

    Read dtype by dtype: ``frame.iloc[index]`` would cast the row to one common dtype
    (with nullable columns, Float64: ints become floats and NaN becomes pandas' NA). The
    plain numpy columns of one dtype are read at once (a column at a time costs ~20 µs:
    noticeable on wide data)."""
    by_dtype: dict[np.dtype, list[int]] = {}
    found: dict[int, Any] = {}
    for j, (_, dtype) in enumerate(column_dtypes(frame)):
        if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
            by_dtype.setdefault(dtype, []).append(j)
        else:
            found[j] = plain_value(frame.iat[index, j])
    for positions in by_dtype.values():
        found.update(zip(positions, frame.iloc[[index], positions].to_numpy()[0].tolist()))
    return {str(name): found[j] for j, name in enumerate(frame.columns.tolist())}


def plain_value(value: Any) -> Any:
    """A cell as a plain Python value: numpy scalars as Python ones, pandas' NA and NaT
    (of nullable and datetime dtypes) as None; float NaN stays NaN."""
    if value is pd.NA or value is pd.NaT:
        return None
    return value.item() if isinstance(value, np.generic) else value


def _key(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return value


def _identity(value: Any) -> tuple[type, Any]:
    """A category's identity: its value with its type (Python's True == 1 == 1.0 would make
    them one dict key, one category, and send the model another value than X's)."""
    value = _key(value)
    return type(value), value


def _category_codes(feature: Feature, column: pd.Series) -> np.ndarray:
    """A discrete column's codes (NaN for missing). A pandas category column, or one of
    text only, is looked up once per distinct value (a million rows in milliseconds); any
    other value by value, where 1, 1.0 and True may be three categories."""
    distinct: np.ndarray | None = None
    if isinstance(column.dtype, pd.CategoricalDtype):
        positions = column.cat.codes.to_numpy()
        distinct = column.cat.categories.to_numpy(dtype=object)
    elif pd.api.types.infer_dtype(column, skipna=True) in ("string", "empty"):
        positions, distinct = pd.factorize(column)  # missing values: -1
        distinct = np.asarray(distinct, dtype=object)
    if distinct is None:
        codes = [None if is_missing(v) else feature.code_of(v) for v in column.tolist()]
        return np.array([math.nan if c is None else c for c in codes], dtype=float)
    lookup = np.full(len(distinct) + 1, math.nan)  # the last: missing (position -1)
    for k in np.unique(positions[positions >= 0]):
        code = feature.code_of(distinct[k])
        lookup[k] = math.nan if code is None else code
    return lookup[positions]


def is_missing(value: Any) -> bool:
    """Whether a value is missing: None, NaN, pandas' NA and NaT (a list-like is not)."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError, ArithmeticError):  # list-likes; Decimal("sNaN")
        return False


def _name_among(key: Any, names: Set[str]) -> Any:
    if key in names or str(key) not in names:
        return key
    return str(key)  # X's own label: a column 0 or ("a", 1), named by its text


def column_labels(X: Any, feature_names: Sequence[str] | None = None) -> dict[str, Any]:
    """Feature name -> X's own column label, for a DataFrame whose labels are not all text
    (ints, tuples); empty otherwise (text labels are the names; an array has none)."""
    if not isinstance(X, pd.DataFrame) or feature_names is not None:
        return {}
    labels = X.columns.tolist()
    if all(type(label) is str for label in labels):
        return {}
    return {str(label): label for label in labels}


def as_frame(X: Any, feature_names: Sequence[str] | None = None, data: str = "X") -> pd.DataFrame:
    """X as a DataFrame with unique string column names, or a clear error (its values'
    errors name it ``data``: X, or the background).

    Takes a pandas DataFrame, any DataFrame that speaks the Arrow PyCapsule or dataframe
    interchange protocol (polars, pyarrow, ...), a 2-D array or list of rows, or a scipy
    sparse matrix of at most ``SPARSE_MAX_CELLS`` cells. Columns the explainers cannot vary
    (dates, durations, complex numbers, unhashable objects) and infinite values are
    rejected here, before the model is called.
    """
    frame = _to_pandas(X)
    if feature_names is not None:
        feature_names = names_list(feature_names)
        _check_names_length(feature_names, frame.shape[1])
        frame = frame.set_axis([str(n) for n in feature_names], axis=1)
    if frame.shape[0] == 0:
        raise ValueError("X is empty (0 rows): pass at least one row to explain.")
    if frame.shape[1] == 0:
        raise ValueError("X has no columns: pass at least one feature.")
    given = frame.columns.tolist()  # one conversion (not an Arrow scalar per name)
    names = [c if type(c) is str else str(c) for c in given]
    duplicates = sorted(n for n, count in Counter(names).items() if count > 1)
    if duplicates:
        raise ValueError(
            f"X has duplicate column names: {duplicates}. Rename them so every feature "
            "has its own name (e.g. X.columns = [...])."
        )
    if given != names:
        frame = frame.set_axis(names, axis=1)
    frame = _dense_columns(frame)
    check_columns(frame, data)
    return frame.reset_index(drop=True)


# Lazy frames of other libraries: how to bring their rows into memory.
_LAZY_FRAMES = {
    ("polars", "LazyFrame"): "X.collect() (or X.head(n).collect() for the first n rows)",
    ("dask", "DataFrame"): "X.compute() (or X.head(n) for the first n rows)",
    ("pyspark", "DataFrame"): "X.toPandas() (or X.limit(n).toPandas() for n rows)",
}


def _to_pandas(X: Any) -> pd.DataFrame:
    """Any supported 2-D input as a pandas DataFrame (column names not yet checked)."""
    if isinstance(X, pd.DataFrame):
        return X
    library = type(X).__module__.split(".")[0]
    if isinstance(X, pd.Series) or (library == "polars" and type(X).__name__ == "Series"):
        raise ValueError(
            f"X must be 2-D (rows x features) but got a {library} Series. For one feature "
            "pass X.to_frame(); for one row of a pandas Series pass X.to_frame().T."
        )
    fix = _LAZY_FRAMES.get((library, type(X).__name__))
    if fix is not None:
        raise TypeError(
            f"X is a lazy {library} {type(X).__name__}: the explainers need its rows in "
            f"memory. Pass {fix}."
        )
    if hasattr(X, "__arrow_c_stream__") or hasattr(X, "__dataframe__"):
        # polars, pyarrow and others: pandas' own converter (through Arrow when installed).
        try:
            return pd.api.interchange.from_dataframe(X)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"X ({type(X).__name__}) could not be read as a table ({exc}): pass a "
                "DataFrame (rows x features) or a 2-D array."
            ) from exc
    if sparse.issparse(X):
        X = _densified(X)
    if isinstance(X, np.ndarray) and X.dtype.names:
        return pd.DataFrame(X)  # a structured array: its fields are the columns
    if isinstance(X, np.ma.MaskedArray) and X.ndim == 2:
        # pandas reads masked entries as missing (np.asarray would show the hidden values)
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).infer_objects()
    if not hasattr(X, "shape") and not isinstance(X, (list, tuple)):
        hint = " Pass pd.DataFrame(X) for a dict of columns." if isinstance(X, dict) else ""
        raise TypeError(
            f"X must be a pandas DataFrame or a 2-D numpy array, not {type(X).__name__}.{hint}"
        )
    try:
        array = np.asarray(X)
    except ValueError as exc:
        raise ValueError(
            f"X could not be read as a 2-D array ({exc}): pass a DataFrame, or rows that "
            "all have the same number of values."
        ) from exc
    if array.ndim != 2:
        raise ValueError(
            f"X must be 2-D (rows x features) but got an array of shape {array.shape}. "
            "For a single row use X.reshape(1, -1); for a single feature X.reshape(-1, 1)."
        )
    frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
    return frame.infer_objects() if array.dtype == object else frame


def _densified(matrix: Any) -> np.ndarray:
    """A scipy sparse matrix as a dense array, when it is small enough to be safe."""
    if len(matrix.shape) != 2:
        raise ValueError(
            f"X must be 2-D (rows x features) but got a sparse array of shape {matrix.shape}."
        )
    rows, columns = matrix.shape
    if rows * columns > SPARSE_MAX_CELLS:
        fits = max(1, SPARSE_MAX_CELLS // max(columns, 1))
        raise ValueError(
            f"X is a scipy sparse matrix of {rows:,} x {columns:,} = {rows * columns:,} cells; "
            f"the explainers need dense rows and densify at most {SPARSE_MAX_CELLS:,} cells. "
            f"Pass fewer rows, e.g. X[:{fits:,}], or fewer columns (select the features the "
            "model uses)."
        )
    return np.asarray(matrix.toarray())


def _dense_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """pandas sparse columns as dense ones, under the same size limit as a scipy matrix."""
    sparse_names = [n for n, d in column_dtypes(frame) if isinstance(d, pd.SparseDtype)]
    if not sparse_names:
        return frame
    if frame.shape[0] * len(sparse_names) > SPARSE_MAX_CELLS:
        raise ValueError(
            f"X has {len(sparse_names)} sparse columns of {frame.shape[0]:,} rows; the "
            f"explainers need dense rows and densify at most {SPARSE_MAX_CELLS:,} cells. "
            "Pass fewer rows, e.g. X.head(1000)."
        )
    return frame.assign(**{n: frame[n].to_numpy() for n in sparse_names})


# Column contents the explainers cannot vary, with the fix for each (by pandas'
# inferred type of an object column, or by dtype).
_SAME_NUMBERS = ", and give the model the same numbers (or drop them)"
_UNSUPPORTED = {
    "date": (
        "dates or times",
        "convert each to a number, e.g. X[c] = (X[c] - X[c].min()).dt.days (days since "
        "the first date)" + _SAME_NUMBERS,
    ),
    "duration": (
        "durations",
        "convert each to a number, e.g. X[c] = X[c].dt.total_seconds() / 86400 (days)"
        + _SAME_NUMBERS,
    ),
    "complex": (
        "complex numbers",
        "split each into two real columns (X[c].real, X[c].imag)" + _SAME_NUMBERS,
    ),
    "interval": (
        "intervals",
        "replace each by a number, e.g. its midpoint X[c].array.mid" + _SAME_NUMBERS,
    ),
    "unhashable": (
        "lists, dicts or other unhashable values",
        "make one column per item, or convert them to strings" + _SAME_NUMBERS,
    ),
    # Categories to a reader, but pandas cannot count numpy's fixed-width bytes.
    "bytes": (
        "numpy bytes (dtype S)",
        "decode each to text, e.g. X[c] = X[c].str.decode('utf-8'), and give the model the "
        "same text (or drop them)",
    ),
}
_INFERRED = {
    "datetime": "date",
    "datetime64": "date",
    "date": "date",
    "time": "date",
    "period": "date",
    "timedelta": "duration",
    "timedelta64": "duration",
    "complex": "complex",
    "interval": "interval",
}


def check_columns(frame: pd.DataFrame, data: str = "X") -> None:
    """Raise a ValueError naming every column the explainers cannot use, and the fix
    (``data`` names the frame in the message: X, or a part of global_data).

    Dates, durations, complex numbers, intervals and unhashable objects have no scale the
    explainers can vary, and pandas cannot count numpy bytes as categories; infinite
    numbers have no place on a slider and break every explainer's arithmetic. Checked once, before the model is called.
    """
    found: dict[str, list[str]] = {}
    dtypes = column_dtypes(frame)
    # A plain numeric dtype needs no look at the values (a column at a time costs ~20 µs:
    # noticeable on wide data).
    for name in [n for n, d in dtypes if not _plainly_numeric(d)]:
        problem = _unsupported(frame[name])
        if problem is not None:
            found.setdefault(problem, []).append(str(name))
    if found:
        lines = [
            f"{data} has columns of {_UNSUPPORTED[p][0]}: {first_names(names)}; "
            f"{_UNSUPPORTED[p][1]}."
            for p, names in found.items()
        ]
        if set(found) - {"bytes"}:
            lines.append(
                "The explainers vary each feature along a numeric scale or over its "
                "categories, which these values do not have."
            )
        raise ValueError(" ".join(lines))
    floats = [j for j, (_, d) in enumerate(dtypes) if _plainly_numeric(d) and d.kind == "f"]
    plain = {dtypes[j][0] for j in floats}
    others = [n for n, d in dtypes if pd.api.types.is_float_dtype(d) and n not in plain]
    infinite: dict[str, int] = {}
    huge: dict[str, int] = {}

    def count(name: Any, values: np.ndarray) -> None:
        if n := int(np.isinf(values).sum()):
            infinite[str(name)] = n
        if n := int((np.abs(values) > FLOAT32_MAX).sum()) - infinite.get(str(name), 0):
            huge[str(name)] = n

    for chunk, matrix in column_blocks(frame, floats):
        outside = (np.abs(matrix) > FLOAT32_MAX).any(axis=0)  # rare: look closer then
        for k in np.flatnonzero(outside):
            count(dtypes[chunk[k]][0], matrix[:, k])
    for name in others:
        count(name, _as_floats(frame[name]))
    if infinite:
        raise ValueError(
            f"{data} has infinite values in {_cells(infinite)}: explanations need finite "
            "numbers. Replace them, e.g. with .replace([np.inf, -np.inf], np.nan) if the model "
            "accepts missing values, or clip them to a finite value."
        )
    if huge:
        raise ValueError(
            f"{data} has numbers beyond ±3.4e38 in {_cells(huge)}: the surrogate's trees (and "
            "shap's) read features as float32, where they become infinite. If they stand "
            "for missing values, replace them with np.nan; otherwise rescale the column "
            "(e.g. divide it by 1e30, or take np.log10) and give the model the same numbers."
        )
    _check_whole_numbers(frame, dtypes, data)


def check_whole_columns(frame: pd.DataFrame, dtypes: Mapping[str, Any], data: str) -> None:
    """Raise a ValueError naming columns X holds as integers where ``frame`` (rows of
    global_data) has fractions or numbers beyond X's dtype: the model would get them
    rounded or clipped to what X's column holds, and the views would show other numbers."""
    fractions: dict[str, int] = {}
    outside: dict[str, int] = {}
    for name, dtype in dtypes.items():
        if not pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            continue
        column = frame[name]
        if pd.api.types.is_integer_dtype(column.dtype) and column.dtype == dtype:
            continue  # the same dtype holds the same numbers
        values = _as_floats(column)
        values = values[~np.isnan(values)]
        if n := int((values != np.round(values)).sum()):
            fractions[str(name)] = n
        bounded = _bounded_dtype(str(dtype))
        low, high = (
            _limits(bounded) if bounded is not None else (-LARGEST_EXACT_WHOLE, LARGEST_EXACT_WHOLE)
        )
        if n := int(((values < low) | (values > high)).sum()):
            outside[str(name)] = n
    if fractions:
        raise ValueError(
            f"{data} has fractions in {_cells(fractions)}, whole numbers in X: the model "
            "would get them rounded. Give global_data the same numbers as X's columns."
        )
    if outside:
        raise ValueError(
            f"{data} has numbers in {_cells(outside)} that X's integer dtypes cannot hold: "
            "the model would get them clipped. Give X (and the model) a wider dtype, or "
            "leave those rows out."
        )


# The largest finite float32: scikit-learn's trees and shap's tree explainer read X in it.
FLOAT32_MAX = float(np.finfo(np.float32).max)
# Whole numbers up to 2**53 survive float64, the explainers' matrices; larger ones do not.
LARGEST_EXACT_WHOLE = 2**53


def _check_whole_numbers(frame: pd.DataFrame, dtypes: list[tuple[Any, Any]], data: str) -> None:
    """Raise a ValueError naming integer columns with numbers beyond ±2**53: the explainers
    vary features in float64, so those would reach the model as other numbers."""
    found: dict[str, int] = {}
    for name, dtype in dtypes:
        if not pd.api.types.is_integer_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
            continue
        if isinstance(dtype, np.dtype) and np.iinfo(dtype).max <= LARGEST_EXACT_WHOLE:
            continue  # int8 ... int32, uint32: every value fits
        values = frame[name].dropna().to_numpy()
        if values.dtype.kind not in "iu":
            values = values.astype(object)  # pandas' Int64/UInt64 and Arrow ints
        if n := int(((values > LARGEST_EXACT_WHOLE) | (values < -LARGEST_EXACT_WHOLE)).sum()):
            found[str(name)] = n
    if found:
        raise ValueError(
            f"{data} has whole numbers beyond ±2**53 in {_cells(found)}: the explainers vary "
            "features as float64, which cannot hold them exactly, so the model would be "
            "called with other numbers. Drop the column if it is an identifier, or give it "
            "(and the model) floats: X[name] = X[name].astype(float)."
        )


def _cells(counts: dict[str, int]) -> str:
    """'a' (2 cells), 'c' (1 cell): the first ten columns with their counts (and how many
    more)."""
    shown = ", ".join(
        f"{n!r} ({c} cell{'s' if c > 1 else ''})" for n, c in list(counts.items())[:10]
    )
    return f"{shown} and {len(counts) - 10} more columns" if len(counts) > 10 else shown


def column_blocks(
    frame: pd.DataFrame, positions: list[int]
) -> Iterator[tuple[list[int], np.ndarray]]:
    """The columns at ``positions`` as float matrices of up to COLUMN_CHUNK columns each,
    with their positions. When they are every column, in order, a block is a slice of
    pandas' own column-major block (no copy); otherwise a copy of a few columns at a time."""
    in_order = positions == list(range(frame.shape[1]))
    for start in range(0, len(positions), COLUMN_CHUNK):
        chunk = positions[start : start + COLUMN_CHUNK]
        part = frame.iloc[:, start : start + len(chunk)] if in_order else frame.iloc[:, chunk]
        yield chunk, part.to_numpy(dtype=float)


def column_dtypes(frame: pd.DataFrame) -> list[tuple[str, Any]]:
    """(name, dtype) of each column: ``frame.dtypes.items()`` converts one Arrow string per
    name (milliseconds on wide data)."""
    return list(zip(frame.columns.tolist(), frame.dtypes.tolist()))


def _plainly_numeric(dtype: Any) -> bool:
    """A numpy bool, integer or float dtype (nothing in such a column needs checking)."""
    return isinstance(dtype, np.dtype) and dtype.kind in "biuf"


def _unsupported(column: pd.Series) -> str | None:
    """The key in _UNSUPPORTED of a column's contents, or None when they are fine."""
    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return None
    if isinstance(dtype, pd.PeriodDtype):
        return "date"
    if isinstance(dtype, pd.IntervalDtype):
        return "interval"
    kind = getattr(dtype, "kind", "O")
    if kind == "M":
        return "date"
    if kind == "m":
        return "duration"
    if kind == "c":
        return "complex"
    if kind == "S":
        return "bytes"
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return "date" if pa.types.is_temporal(dtype.pyarrow_dtype) else None
    if not pd.api.types.is_object_dtype(dtype):
        return None
    inferred = pd.api.types.infer_dtype(column, skipna=True)
    if inferred in _INFERRED:
        return _INFERRED[inferred]
    if inferred.startswith("mixed"):
        try:
            pd.unique(column)
        except TypeError:
            return "unhashable"
    return None


def check_y(y: Any, X: Any) -> list[Any] | None:
    """y as one plain Python value per row of X (missing values as None), or a clear error.

    ``X`` is the X the user passed. When both are pandas, y is matched to X's rows by index
    (the same labels in any order, or a y that covers X's rows); otherwise by position.
    """
    if y is None:
        return None
    n_rows = int(X.shape[0]) if hasattr(X, "shape") else len(X)
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(
                f"y has {y.shape[1]} columns: pass one target per row (a Series or 1-D array)."
            )
        y = y.iloc[:, 0]
    if isinstance(y, np.ma.MaskedArray):
        # masked targets are missing ones (filled(None) would fill with "?")
        targets = np.array(y.data, dtype=object)  # a copy: the caller's array stays
        targets[np.ma.getmaskarray(y)] = None
        y = targets
    if isinstance(y, pd.Series):
        if isinstance(X, pd.DataFrame):
            y = align_by_index(y, X.index)
        values = y.tolist()
    else:
        if isinstance(y, (str, bytes, Mapping, set)) or not (
            hasattr(y, "__len__") or hasattr(y, "__array__")
        ):
            raise TypeError(
                f"y must hold one target per row of X (a Series, array or list), "
                f"not {type(y).__name__}."
            )
        array = np.asarray(y, dtype=object) if isinstance(y, (list, tuple)) else np.asarray(y)
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if array.ndim != 1:
            raise ValueError(
                f"y must be 1-D (one target per row) but has shape {array.shape}: pass "
                "one column, e.g. y[:, 0]."
            )
        values = array.tolist()
    if len(values) != n_rows:
        raise ValueError(
            f"y has {len(values)} values but X has {n_rows} rows: pass one target per row."
        )
    # Missing values found at once (per value, pandas' isna took seconds on a million rows).
    missing = pd.Series(values, dtype=object).isna().to_numpy()
    return [None if gone else _key(v) for v, gone in zip(values, missing)]


def align_by_index(y: pd.Series, index: pd.Index) -> pd.Series:
    """y in the order of X's index, or a ValueError saying how the two differ."""
    if y.index.equals(index):
        return y
    if y.index.is_unique and index.is_unique:
        absent = index[~index.isin(y.index)]
        if len(absent) == 0:
            return y.loc[index]
        raise ValueError(
            f"y's index does not match X's: {len(absent)} of X's {len(index)} row labels are "
            f"not in y (e.g. {list(absent[:3])}). Pass y with X's index (y.loc[X.index] when "
            "y covers X's rows), or y.to_numpy() when y is already in X's row order."
        )
    if len(y) == len(index) and y.index.sort_values().equals(index.sort_values()):
        raise ValueError(
            "y has X's row labels in another order, but the labels repeat, so rows cannot "
            "be matched by label. Put y in X's row order and pass y.to_numpy(), or give X "
            "and y a unique index (X.reset_index(drop=True) and the same for y)."
        )
    raise ValueError(
        "y's index does not match X's, and one of them repeats labels, so rows cannot be "
        "matched by label. Pass y in X's row order as y.to_numpy(), or give X and y the "
        "same unique index."
    )


def names_list(feature_names: Any) -> list[Any]:
    """``feature_names`` as a list (a list, tuple, array or pandas Index), or a TypeError
    naming what was given instead."""
    if isinstance(feature_names, (str, bytes, Mapping)) or not (
        hasattr(feature_names, "__len__") and hasattr(feature_names, "__iter__")
    ):
        raise TypeError(
            "feature_names must be a list with one name per column, not "
            f"{type(feature_names).__name__} (e.g. feature_names=['age', 'income'])."
        )
    return list(feature_names)


def _check_names_length(feature_names: Sequence[str], n_columns: int) -> None:
    if len(feature_names) != n_columns:
        raise ValueError(
            f"feature_names has {len(feature_names)} names but X has {n_columns} columns: "
            "pass exactly one name per column."
        )


def build_schema(
    frame: pd.DataFrame,
    categorical_features: Iterable[str] | str | None = None,
    extra: pd.DataFrame | None = None,
    labels: Mapping[str, Any] | None = None,
) -> FeatureSchema:
    """Infer each feature's kind and summary from X (and background rows, for categories).

    pandas category/object/string columns are categorical, bool columns boolean, integer
    columns (or float columns holding only whole numbers) integer, the rest numeric. Names
    in ``categorical_features`` (a list of names or X's own labels, or one) are categorical
    whatever their dtype. ``labels``: X's own column labels (``column_labels``).
    """
    if isinstance(categorical_features, str):  # one name, not its letters
        categorical_features = [categorical_features]
    columns = set(map(str, frame.columns))
    told = {_name_among(name, columns) for name in categorical_features or ()}
    unknown = told - set(frame.columns)
    if unknown:
        raise ValueError(
            f"categorical_features names columns that X does not have: {sorted(unknown, key=str)}. "
            f"X's columns are: {first_names(frame.columns, 12)}."
        )
    features = []
    dtypes: dict[str, Any] = {}
    plain = _plain_numeric_features(frame, told)
    for name, dtype in column_dtypes(frame):
        dtypes[name] = dtype
        if name in plain:
            features.append(plain[name])
            continue
        column = frame[name]
        values = column if extra is None or name not in extra else pd.concat([column, extra[name]])
        missing = float(column.isna().mean())
        if pd.api.types.is_bool_dtype(column.dtype) and name not in told:
            features.append(_discrete(name, "boolean", column, [False, True], missing))
        elif (
            name in told
            or isinstance(column.dtype, pd.CategoricalDtype)
            or not pd.api.types.is_numeric_dtype(column.dtype)
        ):
            categories = _categories(values)
            if not categories:
                raise ValueError(
                    f"Feature {name!r} has no values (every cell is missing): drop it or fill "
                    "its missing values."
                )
            features.append(_discrete(name, "categorical", column, categories, missing))
        else:
            numbers = _as_floats(column)
            finite = numbers[np.isfinite(numbers)]
            if finite.size == 0:
                raise ValueError(
                    f"Feature {name!r} has no finite values: drop it or fill its missing values."
                )
            whole = pd.api.types.is_integer_dtype(column.dtype) or bool(
                np.all(finite == np.round(finite))
            )
            found = np.quantile(finite, QUANTILE_LEVELS)
            quantiles = tuple((q, float(v)) for q, v in zip(QUANTILE_LEVELS, found))
            features.append(
                Feature(
                    name=name,
                    kind="integer" if whole else "numeric",
                    dtype=str(column.dtype),
                    min=float(finite.min()),
                    max=float(finite.max()),
                    quantiles=quantiles,
                    missing=missing,
                )
            )
    return FeatureSchema(features, dtypes, dict(labels or {}))


def _plain_numeric_features(frame: pd.DataFrame, told: set[str]) -> dict[str, Feature]:
    """The features of the plain float/int columns with no missing or infinite value, summed
    up a block of columns at a time (a column at a time costs ~1 ms each: seconds on wide
    data). Their quantiles are computed when first read (see ColumnQuantiles)."""
    dtypes = column_dtypes(frame)
    positions = [
        j
        for j, (name, dtype) in enumerate(dtypes)
        if name not in told and isinstance(dtype, np.dtype) and dtype.kind in "fiu"
    ]
    if not positions or not len(frame):
        return {}
    found = {}
    dtype_names: dict[np.dtype, str] = {}  # str(dtype) costs ~0.1 ms: once per dtype
    for chunk, matrix in column_blocks(frame, positions):
        summed = _summed_up(matrix)
        if summed is None:
            continue
        complete, whole, low, high = summed
        for k in np.flatnonzero(complete):
            name, dtype = dtypes[chunk[k]]
            if dtype not in dtype_names:
                dtype_names[dtype] = str(dtype)
            found[name] = Feature(
                name=name,
                kind="integer" if dtype.kind in "iu" or bool(whole[k]) else "numeric",
                dtype=dtype_names[dtype],
                min=float(low[k]),
                max=float(high[k]),
                quantiles=ColumnQuantiles(frame, chunk[k]),
                missing=0.0,
            )
    return found


def _summed_up(matrix: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """Of a block of columns (rows x columns): which have only finite values, and for all
    columns whether every value is whole, the minimum and the maximum (None: no column is
    complete)."""
    complete = np.isfinite(matrix).all(axis=0)
    if not complete.any():
        return None
    # A column with a fraction in its first rows is not whole: only the others are read
    # through (most float columns stop at their first value).
    head = matrix[:64]
    whole = (head == np.round(head)).all(axis=0) & complete
    if whole.any():
        rest = matrix[:, whole]
        whole[whole] = (rest == np.round(rest)).all(axis=0)
    return complete, whole, matrix.min(axis=0), matrix.max(axis=0)


class ColumnQuantiles(Sequence[tuple[float, float]]):
    """A complete numeric column's ``(level, value)`` pairs at QUANTILE_LEVELS, computed
    when first read: on wide data the panel reads those of the features it shows, and
    sorting every column up front took most of the first view. Compares, hashes and
    pickles as the tuple it stands for."""

    def __init__(self, frame: pd.DataFrame, position: int) -> None:
        self._frame = frame
        self._position = position
        self._found: tuple[tuple[float, float], ...] | None = None

    def _pairs(self) -> tuple[tuple[float, float], ...]:
        if self._found is None:  # two threads may both compute it: the same values
            column = self._frame.iloc[:, self._position].to_numpy(dtype=float)
            _compute_quantiles([([self], column[None, :])])
        assert self._found is not None
        return self._found

    @staticmethod
    def read_together(features: Iterable[Feature]) -> None:
        """Compute the pending quantiles of these features in one pass over their columns
        (the panel's shown features: 40 columns read one by one took ~10 ms); after a read
        ahead of them has ended."""
        with _READING:
            _compute_quantiles(_pending_quantiles(features))

    @staticmethod
    def read_ahead(features: Iterable[Feature]) -> None:
        """Start computing these features' quantiles in a thread of their own, beside the
        first view's other work (numpy's partitions let go of the GIL): their columns are
        copied here, and ``read_together`` waits for the end."""
        batches = _pending_quantiles(features)
        if not batches:
            return
        _READING.acquire()

        def compute() -> None:
            try:
                with in_flight():
                    _compute_quantiles(batches)
            finally:
                _READING.release()

        threading.Thread(target=compute, name="optiml-quantiles", daemon=True).start()

    def __getitem__(self, index: Any) -> Any:
        return self._pairs()[index]

    def __len__(self) -> int:
        return len(QUANTILE_LEVELS)

    def __iter__(self) -> Iterator[tuple[float, float]]:
        return iter(self._pairs())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (ColumnQuantiles, tuple)):
            return self._pairs() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._pairs())

    def __repr__(self) -> str:
        return repr(self._pairs())

    def __reduce__(self) -> tuple[Any, ...]:
        return (tuple, (self._pairs(),))


# Held while quantiles are computed: a read waits for a read ahead of the same features.
_READING = threading.Lock()


def _pending_quantiles(
    features: Iterable[Feature],
) -> list[tuple[list[ColumnQuantiles], np.ndarray]]:
    """The features' quantiles not computed yet, with their columns as feature-major rows
    (partitions along contiguous memory are the fastest), one block per frame."""
    by_frame: dict[int, list[ColumnQuantiles]] = {}
    for feature in features:
        item = feature.quantiles
        if isinstance(item, ColumnQuantiles) and item._found is None:
            by_frame.setdefault(id(item._frame), []).append(item)
    return [
        (
            items,
            np.ascontiguousarray(
                items[0]._frame.iloc[:, [item._position for item in items]].to_numpy(dtype=float).T
            ),
        )
        for items in by_frame.values()
    ]


def _compute_quantiles(batches: list[tuple[list[ColumnQuantiles], np.ndarray]]) -> None:
    for items, values in batches:
        found = np.quantile(values, QUANTILE_LEVELS, axis=1)
        for k, item in enumerate(items):
            item._found = tuple((q, float(v)) for q, v in zip(QUANTILE_LEVELS, found[:, k]))


def _categories(values: pd.Series) -> list[Any]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.categories)
    seen = [_key(v) for v in pd.unique(values.dropna())]
    if _numbers_among_objects(values, seen):  # pandas' unique takes True, 1, 1.0 for one
        seen = [v for _, v in _identity_counts(values)]
    try:
        return sorted(seen)
    except TypeError:
        return seen


def _numbers_among_objects(column: pd.Series, seen: Iterable[Any]) -> bool:
    """Whether an object column holds numbers or bools, whose distinct values pandas finds
    by Python's equality, where True == 1 == 1.0."""
    return column.dtype == object and any(isinstance(v, (bool, int, float)) for v in seen)


def _identity_counts(values: pd.Series) -> Counter[tuple[type, Any]]:
    """How often each category (by _identity) occurs, missing values left out."""
    return Counter(_identity(v) for v in values.dropna().tolist())


def _discrete(
    name: str, kind: FeatureKind, column: pd.Series, categories: list[Any], missing: float
) -> Feature:
    categories = [_key(c) for c in categories]
    if _numbers_among_objects(column, categories):
        counted = _identity_counts(column)
    else:
        counted = Counter({_identity(k): int(v) for k, v in column.value_counts().items()})
    return Feature(
        name=name,
        kind=kind,
        dtype=str(column.dtype),
        categories=tuple(categories),
        counts=tuple(counted[_identity(c)] for c in categories),
        missing=missing,
        missing_value=_missing_value(column) if missing else None,
    )


def _missing_value(column: pd.Series) -> Any:
    """The missing value an object column holds most (None, NaN, pandas' NA or NaT)."""
    if not pd.api.types.is_object_dtype(column.dtype):
        return None  # a typed column's own missing value comes back with its dtype
    gone = column[column.isna()].tolist()
    kind = Counter(type(v) for v in gone).most_common(1)[0][0]  # NaN != NaN: by type
    return next(v for v in gone if type(v) is kind)
