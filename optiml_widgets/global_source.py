"""Reading ``global_data``: the rows the global views explain beyond X.

A pandas DataFrame, a Dask DataFrame or the path (or glob) of Parquet files (read with
Dask) is checked against X's columns and dtypes before any long work (every Parquet file by
its footer, not its rows), and cut into parts for the compute seam (compute.py). A Dask
part is checked again as it is read (``check_numbers``): a part may not hold what its frame
declares; so is its missing values check (``check_missing``), which a pandas frame gets
at the call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .compute import Chunks, DaskPartitions, Parts
from .data import Feature, FeatureSchema
from .format import counted, first_names
from .inputs import check_columns, check_whole_columns

DASK_MISSING = (
    "Reading {what} needs Dask: pip install 'optiml-widgets[dask]' "
    "(it installs dask[dataframe,distributed] and pyarrow)."
)


@dataclass(frozen=True)
class Source:
    """``global_data`` in parts, with what it is in words."""

    parts: Parts
    description: str


def read_global_data(
    global_data: Any,
    schema: FeatureSchema,
    *,
    partition_rows: int,
) -> Source:
    """Check ``global_data`` against X's columns (a clear error before any long work) and
    cut it into parts: pandas into chunks, Dask DataFrames by partition, Parquet with Dask."""
    names = schema.names
    if isinstance(global_data, pd.DataFrame):
        _check_columns(list(map(str, global_data.columns)), dict(global_data.dtypes), schema)
        if len(global_data) == 0:
            raise ValueError("global_data is empty (0 rows): pass the rows to explain.")
        frame = global_data.set_axis(list(map(str, global_data.columns)), axis=1)[names]
        check_columns(frame, "global_data")
        check_whole_columns(frame, schema.dtypes, "global_data")
        check_missing(frame, schema, "global_data")
        return Source(Chunks(frame, partition_rows), f"a pandas DataFrame of {len(frame):,} rows")
    if _is_dask_frame(global_data):
        columns = list(map(str, global_data.columns))
        _check_columns(columns, dict(global_data.dtypes), schema)
        frame = global_data
        if any(not isinstance(label, str) for label in frame.columns):  # ints, tuples
            frame = frame.rename(columns={label: str(label) for label in frame.columns})
        # Each part is checked against X's columns as it is read (PartitionWork), where a
        # part unlike the frame's declared columns gets an error naming it.
        return Source(
            DaskPartitions(frame),
            f"a Dask DataFrame of {frame.npartitions:,} partitions",
        )
    if isinstance(global_data, (str, os.PathLike)) or (
        isinstance(global_data, (list, tuple))
        and global_data
        and all(isinstance(p, (str, os.PathLike)) for p in global_data)
    ):
        try:
            import dask.dataframe as dd
        except ImportError as exc:
            raise ImportError(DASK_MISSING.format(what="Parquet files")) from exc
        paths = (
            os.fspath(global_data)
            if isinstance(global_data, (str, os.PathLike))
            else [os.fspath(p) for p in global_data]
        )
        try:
            frame = dd.read_parquet(paths)
        except (FileNotFoundError, OSError, ValueError) as exc:
            raise ValueError(
                f"global_data {paths!r} could not be read as Parquet ({type(exc).__name__}: "
                f"{exc}). Pass the path or glob of Parquet files, e.g. 'data/*.parquet'."
            ) from exc
        if len(frame.columns) == 0:  # dask reads a glob that matches nothing as no columns
            raise ValueError(
                f"global_data {paths!r} matches no Parquet file with columns: check the path "
                "or glob, e.g. 'data/*.parquet'."
            )
        _check_columns(list(map(str, frame.columns)), dict(frame.dtypes), schema)
        _check_parquet_files(paths, schema)
        frame = frame[names]
        shown = paths if isinstance(paths, str) else f"{len(paths)} paths"
        return Source(
            DaskPartitions(frame),
            f"the Parquet data {shown} ({frame.npartitions:,} partitions)",
        )
    raise TypeError(
        "global_data must be a pandas DataFrame, a Dask DataFrame or the path (or glob) of "
        f"Parquet files, not a {_type_name(global_data)}{_conversion(global_data)}."
    )


def _check_parquet_files(paths: str | list[str], schema: FeatureSchema) -> None:
    """Every Parquet file has X's columns, with types X's rules accept (dask takes the
    columns and types of the first file only: a file without a column, or with text in a
    number column, failed as its part after the others' work; one with a category's codes
    was explained as unseen categories). Footers only, no data."""
    try:
        import fsspec
        import pyarrow.parquet as pq

        fs, _, files = fsspec.core.get_fs_token_paths(paths)
        if len(files) == 1 and fs.isdir(files[0]):
            files = [f for f in fs.find(files[0]) if f.endswith((".parquet", ".parq"))]
        found = {f: pq.read_schema(f, filesystem=fs) for f in files}
    except Exception:  # a store fsspec cannot list: its parts report their own errors
        return
    accepted: set[tuple[Any, ...]] = set()  # X's columns' types in files already checked
    for file, arrow in found.items():
        types = dict(zip(arrow.names, arrow.types))
        lacking = [n for n in schema.names if n not in types]
        if lacking:
            raise ValueError(
                f"The Parquet file {file!r} of global_data lacks columns of X: "
                f"{first_names(lacking)} ({len(found)} files read). Every file needs X's columns: "
                "write them into it, or leave the file out of the paths."
            )
        these = tuple(types[name] for name in schema.names)
        if these in accepted:  # files written alike: checked once
            continue
        dtypes = {name: _arrow_dtype(t) for name, t in zip(schema.names, these)}
        _check_dtypes(
            {name: dtype for name, dtype in dtypes.items() if dtype is not None},
            schema,
            where=f"the Parquet file {file!r} of global_data",
            then=(
                f" Write that file again so ({len(found)} files read), or leave it out of "
                "the paths."
            ),
        )
        accepted.add(these)


def _arrow_dtype(arrow_type: Any) -> Any:
    """The pandas dtype a Parquet column of this Arrow type is read as, for X's rules (None
    for a column of nulls only: every value missing, which any column of X may hold)."""
    import pyarrow as pa

    if pa.types.is_null(arrow_type):
        return None
    if pa.types.is_dictionary(arrow_type):  # a pandas categorical, written by its values
        values = _arrow_dtype(arrow_type.value_type)
        return pd.CategoricalDtype(pd.Index([], dtype=object if values is None else values))
    is_view = getattr(pa.types, "is_string_view", lambda _: False)
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or is_view(arrow_type)
    ):
        return pd.StringDtype()
    try:
        return np.dtype(arrow_type.to_pandas_dtype())
    except (NotImplementedError, TypeError):
        return np.dtype(object)


def _is_dask_frame(value: Any) -> bool:
    """A Dask DataFrame (a dask Array, Series or Bag has partitions too, but no columns).
    Dask is imported only for a value that comes from it."""
    if type(value).__module__.split(".")[0] not in ("dask", "dask_expr"):
        return False
    try:
        import dask.dataframe as dd
    except ImportError:  # dask without its dataframe part: not a Dask DataFrame
        return False
    return isinstance(value, dd.DataFrame)


def _type_name(value: Any) -> str:
    """The type with its package and module: a polars DataFrame is not "DataFrame"."""
    kind = type(value)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    package = kind.__module__.split(".")[0]
    return f"{package} {kind.__qualname__} ({kind.__module__}.{kind.__qualname__})"


def _conversion(value: Any) -> str:
    """How to turn ``value`` into what global_data takes, after a colon; or nothing."""
    package = type(value).__module__.split(".")[0]
    name = type(value).__name__
    if package == "dask" and name == "Array":
        return (
            ": give it X's columns as a Dask DataFrame, "
            "dd.from_dask_array(array, columns=list(X.columns))"
        )
    if name == "Series" and package in ("dask", "pandas", "polars"):
        return (
            ": a Series is one column; pass the frame with every column of X (or "
            "series.to_frame() when X has that one column)"
        )
    if package == "polars" and name == "LazyFrame":
        return (
            ": collect it into pandas, frame.collect().to_pandas(), or for rows that do not "
            "fit in memory write it with frame.sink_parquet(path) and pass the path"
        )
    if package == "polars":
        return (
            ": convert it with frame.to_pandas(), or for rows that do not fit in memory "
            "write it with frame.write_parquet(path) and pass the path"
        )
    if isinstance(value, np.ndarray):
        return ": give it X's columns, pd.DataFrame(array, columns=list(X.columns))"
    if callable(getattr(value, "to_pandas", None)):  # a pyarrow Table, a cuDF frame...
        return ": convert it with .to_pandas()"
    return ""


def check_numbers(frame: pd.DataFrame, schema: FeatureSchema, where: str) -> None:
    """A column of numbers in X holds numbers in this part too (a Dask part may hold text
    where its frame declares numbers)."""
    for feature in schema.features:
        column = frame[feature.name]
        if feature.is_discrete or pd.api.types.is_numeric_dtype(column.dtype):
            continue
        if pd.api.types.is_bool_dtype(column.dtype):
            continue
        numbers = pd.to_numeric(column, errors="coerce")
        bad = numbers.isna() & column.notna()
        if bad.any():
            raise ValueError(
                f"{where}: column {feature.name!r} holds {column[bad].iloc[0]!r} (in "
                f"{counted(int(bad.sum()), 'row')}) where X holds numbers. Clean the column or "
                "drop those rows."
            )


def check_missing(frame: pd.DataFrame, schema: FeatureSchema, where: str) -> None:
    """No missing value (NaN, None, pandas' NA) in a column X has none in: the model was
    never fit on one there, and the what-if path refuses one for the same reason. Let
    through, it failed as the model's own error after the part's work (the part's every
    row lost), or a model that takes NaN answered for rows the views then did not add up on."""
    found: dict[str, int] = {}
    empty: np.ndarray | None = None  # rows with a missing value in one of those columns
    for feature in schema.features:
        column = frame[feature.name]
        plain = isinstance(column.dtype, np.dtype) and column.dtype.kind in "iub"
        if feature.missing or plain:  # numpy ints and bools hold no missing value
            continue
        # A column at a time: a mask of the whole frame would double a large one's memory.
        missing = column.isna().to_numpy(dtype=bool)
        if n := int(missing.sum()):
            found[feature.name] = n
            empty = missing if empty is None else empty | missing
    if empty is None:
        return
    rows = int(empty.sum())
    cells = ", ".join(f"{name!r} ({counted(n, 'row')})" for name, n in list(found.items())[:10])
    if len(found) > 10:
        cells += f" and {len(found) - 10} more columns"
    raise ValueError(
        f"{where} has missing values (NaN, None or NA) in {counted(rows, 'row')}, in columns "
        f"where X has none: {cells}. The model was never fit on a missing value there. Fill "
        "or drop those rows, e.g. global_data.dropna(subset="
        f"{first_names(found)}), or fit the model (and X) on data with missing values there."
    )


def _check_columns(columns: list[str], dtypes: dict[Any, Any], schema: FeatureSchema) -> None:
    names = schema.names
    missing = [n for n in names if n not in columns]
    extra = [c for c in columns if c not in names]
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"it lacks columns of X: {first_names(missing)}")
    if extra:
        problems.append(f"it has columns X does not have: {first_names(extra)}")
    if duplicates:
        problems.append(f"it has duplicate columns: {first_names(duplicates)}")
    if problems:
        raise ValueError(
            "global_data must have exactly X's columns, but "
            + "; ".join(problems)
            + ". Select them, e.g. big[list(X.columns)], or for Parquet "
            "dd.read_parquet(path, columns=list(X.columns))."
        )
    _check_dtypes({str(k): v for k, v in dtypes.items()}, schema)


def _check_dtypes(
    dtypes: dict[str, Any], schema: FeatureSchema, *, where: str = "global_data", then: str = ""
) -> None:
    """X's rules for the dtypes of global_data's columns (those given), before any work: a
    column of numbers in X holds numbers (any width, ints or floats), a categorical one
    holds values its categories can be (text for text: strings or categories)."""
    for feature in schema.features:
        if feature.name not in dtypes:
            continue
        dtype = dtypes[feature.name]
        if feature.is_discrete:
            _check_categories(feature, dtype, where=where, then=then)
        elif not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise ValueError(
                f"Column {feature.name!r} holds {dtype} values in {where} but numbers in X: "
                f"give it the dtype it has in X (e.g. with astype).{then}"
            )


def _check_categories(
    feature: Feature, dtype: Any, *, where: str = "global_data", then: str = ""
) -> None:
    """Refuse a column whose dtype cannot hold X's text categories (numbers, such as the
    categories' codes): every row would be explained as an unseen category."""
    values = dtype.categories.dtype if isinstance(dtype, pd.CategoricalDtype) else dtype
    name = feature.name
    if feature.kind == "boolean" and (
        pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values)
    ):
        raise ValueError(
            f"Column {name!r} holds text ({dtype}) in {where} but True/False in X: cast to "
            'bool, any text is True ("False" too), so every row would be explained as True. '
            f"Convert it first, e.g. data[{name!r}] = data[{name!r}].map({{'True': True, "
            f"'False': False}}).{then}"
        )
    if not any(isinstance(c, str) for c in feature.categories):
        return
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
        return
    shown = list(feature.categories[:5]) + (["..."] if len(feature.categories) > 5 else [])
    raise ValueError(
        f"Column {name!r} holds numbers ({dtype}) in {where} but the categories {shown} "
        "in X: every row would count as an unseen category. Give it X's categories: from "
        f"codes with pd.Categorical.from_codes(codes, X[{name!r}].cat.categories), from "
        f"values with .astype(pd.CategoricalDtype(X[{name!r}].cat.categories)).{then}"
    )
