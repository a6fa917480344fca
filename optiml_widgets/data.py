"""The feature schema: what each column of X is, and a numeric codec for the explainers.

SHAP maskers and LIME work on float matrices; models want the original DataFrame. The
schema converts between the two (categories become integer codes and back), so every
explainer works over the ORIGINAL columns whatever the model does inside. X reaches the
schema read and checked (inputs.py).
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

from .format import first_names, format_number, short_repr
from .jobs import in_flight

FeatureKind = Literal["numeric", "integer", "categorical", "boolean"]

QUANTILE_LEVELS = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)
# Columns copied at once where X is read in blocks: fast on wide data, a bounded copy on long.
COLUMN_CHUNK = 128

# The largest finite float32: scikit-learn's trees and shap's tree explainer read X in it.
FLOAT32_MAX = float(np.finfo(np.float32).max)
# Whole numbers up to 2**53 survive float64, the explainers' matrices; larger ones do not.
LARGEST_EXACT_WHOLE = 2**53


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
            code = exact.get(category_identity(value))
            if code is None:
                code = by_value.get(_key(value))
        except TypeError:  # unhashable
            return None
        return None if code is None or code < 0 else code

    @functools.cached_property
    def _codes(self) -> tuple[dict[Any, int], dict[Any, int]]:
        exact = {category_identity(c): i for i, c in enumerate(self.categories)}
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
        # Beyond 2**53 a float column's own values are whole too: only a number float64
        # would change (or an int column, whose X is refused there) is refused.
        if (
            self.kind == "integer"
            and abs(number) > LARGEST_EXACT_WHOLE
            and (
                _integer_dtype(self.dtype)
                # numpy compares an int64 with a float as a float: the Python int does not
                or number != (value.item() if isinstance(value, np.generic) else value)
            )
        ):
            raise ValueError(
                f"Invalid value {short_repr(value)} for integer feature {self.name!r}: beyond ±2**53, "
                "which the explainers' float64 cannot hold exactly. Pass a smaller number."
            )
        bounded = bounded_dtype(self.dtype)
        if bounded is not None:
            low, high = dtype_limits(bounded)
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
        # A float column whose values happen to be whole takes fractions, and keeps its
        # floats: an edit reads as X's own values do (50.0, not 50).
        if self.kind == "integer" and _integer_dtype(self.dtype):
            if number != round(number):
                raise ValueError(
                    f"Invalid value {short_repr(value)} for integer feature {self.name!r} "
                    f"(dtype {self.dtype}): pass a whole number."
                )
            return round(number)
        return number


@functools.lru_cache(maxsize=64)
def bounded_dtype(dtype: str) -> np.dtype | None:
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


def dtype_limits(dtype: np.dtype) -> tuple[float, float]:
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
            if not f.is_discrete and plainly_numeric(dtypes.get(f.name))
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
                out[:, j] = as_floats(column)
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


def as_floats(column: pd.Series) -> np.ndarray:
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


def category_identity(value: Any) -> tuple[type, Any]:
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


def plainly_numeric(dtype: Any) -> bool:
    """A numpy bool, integer or float dtype (nothing in such a column needs checking)."""
    return isinstance(dtype, np.dtype) and dtype.kind in "biuf"


def build_schema(
    frame: pd.DataFrame,
    categorical_features: Iterable[str] | str | None = None,
    extra: pd.DataFrame | None = None,
    labels: Mapping[str, Any] | None = None,
) -> FeatureSchema:
    """Infer each feature's kind and summary from X (and background rows, for categories:
    a pandas category column's dtype is X's with the background's other categories after
    its own).

    pandas category/object/string columns are categorical, bool columns boolean, integer
    columns (or float columns holding only whole numbers) integer, the rest numeric. Names
    in ``categorical_features`` (a list of names or X's own labels, or one) are categorical
    whatever their dtype. ``labels``: X's own column labels (``column_labels``).
    """
    if isinstance(categorical_features, str) or not isinstance(
        categorical_features, (Iterable, type(None))
    ):  # one name (not its letters), or one of X's own labels (an int)
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
            if isinstance(column.dtype, pd.CategoricalDtype) and extra is not None:
                # X's own categories, in X's order, then the background's others: decoded
                # by code in X's dtype, any other order or set gives the model other values.
                own = list(column.cat.categories)
                known = set(own)
                categories = own + [c for c in categories if c not in known]
                if len(categories) > len(own):
                    dtypes[name] = pd.CategoricalDtype(categories, ordered=column.dtype.ordered)
            if not categories:
                raise ValueError(
                    f"Feature {name!r} has no values (every cell is missing): drop it or fill "
                    "its missing values."
                )
            features.append(_discrete(name, "categorical", column, categories, missing))
        else:
            numbers = as_floats(column)
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
        found = _row_quantiles(values, QUANTILE_LEVELS)
        for k, item in enumerate(items):
            item._found = tuple((q, float(v)) for q, v in zip(QUANTILE_LEVELS, found[:, k]))


def _row_quantiles(rows: np.ndarray, levels: Sequence[float]) -> np.ndarray:
    """``np.quantile(rows, levels, axis=1)`` (its default, linear method) of rows with no
    NaN, equal to the last bit: one sort reads them ~5x faster than numpy's partitions at
    several levels (6 ms against 1.3 ms for 30 x 10,000)."""
    ordered = np.sort(rows, axis=1)
    count = ordered.shape[1]
    q = np.asarray(levels, dtype=float)
    virtual = (count - 1) * q  # where numpy's linear method reads, and how it computes it
    previous = np.floor(virtual)
    gamma = (virtual - previous)[:, None]
    above = virtual >= count - 1  # past the last value: the last value
    low = np.where(above, -1, previous).astype(np.intp)
    high = np.where(above, -1, previous + 1).astype(np.intp)
    a, b = ordered[:, low].T, ordered[:, high].T
    difference = b - a
    # numpy's lerp: from the nearer end, so that the ends are exact
    return np.where(gamma >= 0.5, b - difference * (1 - gamma), a + difference * gamma)


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
    """How often each category (by category_identity) occurs, missing values left out."""
    return Counter(category_identity(v) for v in values.dropna().tolist())


def _discrete(
    name: str, kind: FeatureKind, column: pd.Series, categories: list[Any], missing: float
) -> Feature:
    categories = [_key(c) for c in categories]
    if _numbers_among_objects(column, categories):
        counted = _identity_counts(column)
    else:
        counted = Counter({category_identity(k): int(v) for k, v in column.value_counts().items()})
    return Feature(
        name=name,
        kind=kind,
        dtype=str(column.dtype),
        categories=tuple(categories),
        counts=tuple(counted[category_identity(c)] for c in categories),
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
