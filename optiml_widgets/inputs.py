"""Reading and checking the inputs: X, y and feature_names as the user passes them.

X of any supported kind (pandas, polars and other Arrow tables, arrays, lists of rows,
scipy sparse matrices) becomes a pandas DataFrame with unique text column names; y is
matched to X's rows; columns the explainers cannot use (dates, infinite values, ...) are
refused with the fix, before the model is called. The rows of ``global_data`` go through
the same checks, part by part. What each column then is belongs to the schema (data.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from .data import (
    FLOAT32_MAX,
    LARGEST_EXACT_WHOLE,
    as_floats,
    bounded_dtype,
    column_blocks,
    column_dtypes,
    dtype_limits,
    plain_value,
    plainly_numeric,
)
from .format import first_names

# A sparse X is densified up to this many cells (40 MB as float64): the explainers need
# dense rows and copy X a few times (encoded, background, LIME's training rows).
SPARSE_MAX_CELLS = 5_000_000


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
    frame = _to_pandas(X, data)
    if feature_names is not None:
        feature_names = names_list(feature_names)
        _check_names_length(feature_names, frame.shape[1])
        frame = frame.set_axis([str(n) for n in feature_names], axis=1)
    if frame.shape[0] == 0:
        raise ValueError(f"{data} is empty (0 rows): pass at least one row to explain.")
    if frame.shape[1] == 0:
        raise ValueError(f"{data} has no columns: pass at least one feature.")
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


def _to_pandas(X: Any, data: str = "X") -> pd.DataFrame:
    """Any supported 2-D input as a pandas DataFrame (column names not yet checked); its
    errors name it ``data``."""
    if isinstance(X, pd.DataFrame):
        return X
    library = type(X).__module__.split(".")[0]
    if isinstance(X, pd.Series) or (library == "polars" and type(X).__name__ == "Series"):
        raise ValueError(
            f"{data} must be 2-D (rows x features) but got a {library} Series. For one "
            f"feature pass {data}.to_frame(); for one row of a pandas Series pass "
            f"{data}.to_frame().T."
        )
    fix = _LAZY_FRAMES.get((library, type(X).__name__))
    if fix is not None:
        raise TypeError(
            f"{data} is a lazy {library} {type(X).__name__}: the explainers need its rows in "
            f"memory. Pass {fix.replace('X.', f'{data}.')}."
        )
    if hasattr(X, "__arrow_c_stream__") or hasattr(X, "__dataframe__"):
        # polars, pyarrow and others: pandas' own converter (through Arrow when installed).
        try:
            return pd.api.interchange.from_dataframe(X)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise ValueError(
                f"{data} ({type(X).__name__}) could not be read as a table ({exc}): pass a "
                "DataFrame (rows x features) or a 2-D array."
            ) from exc
    if sparse.issparse(X):
        X = _densified(X, data)
    if isinstance(X, np.ndarray) and X.dtype.names:
        return pd.DataFrame(X)  # a structured array: its fields are the columns
    if isinstance(X, np.ma.MaskedArray) and X.ndim == 2:
        # pandas reads masked entries as missing (np.asarray would show the hidden values)
        return pd.DataFrame(X, columns=[f"x{i}" for i in range(X.shape[1])]).infer_objects()
    if not hasattr(X, "shape") and not isinstance(X, (list, tuple)):
        hint = f" Pass pd.DataFrame({data}) for a dict of columns." if isinstance(X, dict) else ""
        raise TypeError(
            f"{data} must be a pandas DataFrame or a 2-D numpy array, not {type(X).__name__}.{hint}"
        )
    try:
        array = np.asarray(X)
    except ValueError as exc:
        raise ValueError(
            f"{data} could not be read as a 2-D array ({exc}): pass a DataFrame, or rows "
            "that all have the same number of values."
        ) from exc
    if array.ndim != 2:
        raise ValueError(
            f"{data} must be 2-D (rows x features) but got an array of shape {array.shape}. "
            f"For a single row use {data}.reshape(1, -1); for a single feature "
            f"{data}.reshape(-1, 1)."
        )
    frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
    return frame.infer_objects() if array.dtype == object else frame


def _densified(matrix: Any, data: str = "X") -> np.ndarray:
    """A scipy sparse matrix as a dense array, when it is small enough to be safe."""
    if len(matrix.shape) != 2:
        raise ValueError(
            f"{data} must be 2-D (rows x features) but got a sparse array of shape {matrix.shape}."
        )
    rows, columns = matrix.shape
    if rows * columns > SPARSE_MAX_CELLS:
        fits = max(1, SPARSE_MAX_CELLS // max(columns, 1))
        raise ValueError(
            f"{data} is a scipy sparse matrix of {rows:,} x {columns:,} = {rows * columns:,} cells; "
            f"the explainers need dense rows and densify at most {SPARSE_MAX_CELLS:,} cells. "
            f"Pass fewer rows, e.g. {data}[:{fits:,}], or fewer columns (select the features the "
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
    for name in [n for n, d in dtypes if not plainly_numeric(d)]:
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
    floats = [j for j, (_, d) in enumerate(dtypes) if plainly_numeric(d) and d.kind == "f"]
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
        count(name, as_floats(frame[name]))
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
        values = as_floats(column)
        values = values[~np.isnan(values)]
        if n := int((values != np.round(values)).sum()):
            fractions[str(name)] = n
        bounded = bounded_dtype(str(dtype))
        low, high = (
            dtype_limits(bounded)
            if bounded is not None
            else (-LARGEST_EXACT_WHOLE, LARGEST_EXACT_WHOLE)
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
        dtype = y.dtype
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
        dtype = array.dtype
        values = array.tolist()
    if len(values) != n_rows:
        raise ValueError(
            f"y has {len(values)} values but X has {n_rows} rows: pass one target per row."
        )
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        # numpy's tolist() gives plain bools, ints and floats already, NaN the only missing
        # one: a tenth of the time of the general path below, part of every first view.
        return [None if v != v else v for v in values] if dtype.kind == "f" else values
    # Missing values found at once (per value, pandas' isna took seconds on a million rows).
    missing = pd.Series(values, dtype=object).isna().to_numpy()
    return [None if gone else plain_value(v) for v, gone in zip(values, missing)]


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
