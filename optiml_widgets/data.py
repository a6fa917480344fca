"""The feature schema: what each column of X is, and a numeric codec for the explainers.

SHAP maskers and LIME work on float matrices; models want the original DataFrame. The
schema converts between the two (categories become integer codes and back), so every
explainer works over the ORIGINAL columns whatever the model does inside.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

FeatureKind = Literal["numeric", "integer", "categorical", "boolean"]

QUANTILE_LEVELS = (0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0)


@dataclass(frozen=True)
class Feature:
    """One column of X: its kind and a summary of its values."""

    name: str
    kind: FeatureKind
    dtype: str
    min: float | None = None
    max: float | None = None
    quantiles: tuple[tuple[float, float], ...] = ()
    categories: tuple[Any, ...] = ()
    counts: tuple[int, ...] = ()
    missing: float = 0.0

    @property
    def is_discrete(self) -> bool:
        """True for categorical and boolean features (encoded as category codes)."""
        return self.kind in ("categorical", "boolean")

    def category_code(self, value: Any) -> int:
        """The integer code of a category value (matched as is, then by its text)."""
        for i, category in enumerate(self.categories):
            if _same(category, value):
                return i
        text = str(value)
        for i, category in enumerate(self.categories):
            if str(category) == text:
                return i
        raise ValueError(
            f"{value!r} is not a category of feature {self.name!r}; "
            f"known categories: {[str(c) for c in self.categories]}."
        )

    def coerce(self, value: Any) -> Any:
        """Check a what-if value for this feature and return it in the column's type."""
        if self.is_discrete:
            if self.kind == "boolean" and isinstance(value, str):
                lowered = value.strip().lower()
                if lowered in ("true", "false"):
                    value = lowered == "true"
            return self.categories[self.category_code(value)]
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            try:
                number = float(value) if isinstance(value, str) else math.nan
            except ValueError:
                number = math.nan
            if isinstance(value, (bool, np.bool_)) or math.isnan(number):
                raise ValueError(
                    f"Invalid value {value!r} for {self.kind} feature {self.name!r}: "
                    "pass a finite number."
                )
            value = number
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(
                f"Invalid value {value!r} for {self.kind} feature {self.name!r}: "
                "pass a finite number."
            )
        if self.kind == "integer":
            if number != round(number):
                raise ValueError(
                    f"Invalid value {value!r} for integer feature {self.name!r}: "
                    "pass a whole number."
                )
            return round(number)
        return number

    def to_payload(self) -> dict[str, Any]:
        """The JSON summary the frontend reads (see js/src/types.ts FeatureInfo)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "min": self.min,
            "max": self.max,
            "quantiles": [[q, v] for q, v in self.quantiles],
            "categories": [str(c) for c in self.categories] if self.is_discrete else None,
            "counts": list(self.counts) if self.is_discrete else None,
            "missing": self.missing,
        }


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(_key(a) == _key(b))
    except (TypeError, ValueError):
        return False


@dataclass
class FeatureSchema:
    """The features of X, in column order, with an encode/decode pair for explainers."""

    features: list[Feature]
    dtypes: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        """Feature names in column order."""
        return [f.name for f in self.features]

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
        return f"Unknown feature {name!r}.{hint} Known features: {shown}."

    @property
    def discrete_indices(self) -> list[int]:
        """Column positions of categorical and boolean features."""
        return [i for i, f in enumerate(self.features) if f.is_discrete]

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """DataFrame in original types -> float matrix (categories as integer codes)."""
        out = np.empty((len(frame), len(self.features)), dtype=float)
        for j, feature in enumerate(self.features):
            column = frame[feature.name]
            if feature.is_discrete:
                lookup = {_key(c): i for i, c in enumerate(feature.categories)}
                out[:, j] = [
                    math.nan if _is_missing(v) else lookup.get(_key(v), math.nan)
                    for v in column.tolist()
                ]
            else:
                out[:, j] = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
        return out

    def decode(self, matrix: np.ndarray) -> pd.DataFrame:
        """Float matrix -> DataFrame with the original column types, for the model."""
        matrix = np.atleast_2d(np.asarray(matrix, dtype=float))
        columns: dict[str, Any] = {}
        for j, feature in enumerate(self.features):
            values = matrix[:, j]
            dtype = self.dtypes.get(feature.name)
            if feature.is_discrete:
                codes = np.where(np.isnan(values), -1, np.rint(values)).astype(int)
                codes = np.clip(codes, -1, len(feature.categories) - 1)
                if isinstance(dtype, pd.CategoricalDtype):
                    columns[feature.name] = pd.Categorical.from_codes(codes, dtype=dtype)
                else:
                    cats = np.array([*feature.categories, None], dtype=object)
                    decoded = cats[codes]
                    if feature.kind == "boolean" and not (codes < 0).any():
                        decoded = decoded.astype(bool)
                    columns[feature.name] = pd.Series(decoded, dtype=_series_dtype(dtype, decoded))
            elif (
                feature.kind == "integer"
                and dtype is not None
                and np.issubdtype(np.dtype(dtype), np.integer)
                and not np.isnan(values).any()
            ):
                columns[feature.name] = np.rint(values).astype(dtype)
            else:
                columns[feature.name] = values
        return pd.DataFrame(columns)

    def row_frame(self, instance: Mapping[str, Any]) -> pd.DataFrame:
        """A one-row DataFrame of an instance dict, in original column types."""
        frame = pd.DataFrame({name: [instance[name]] for name in self.names})
        for name, dtype in self.dtypes.items():
            if isinstance(dtype, pd.CategoricalDtype):
                frame[name] = pd.Categorical(frame[name], dtype=dtype)
            else:
                with contextlib.suppress(TypeError, ValueError):
                    frame[name] = frame[name].astype(dtype)
        return frame

    def to_payload(self) -> list[dict[str, Any]]:
        """The features as JSON for the frontend."""
        return [f.to_payload() for f in self.features]


def _series_dtype(dtype: Any, decoded: np.ndarray) -> Any:
    if dtype is None or decoded.dtype == bool:
        return None
    if pd.api.types.is_bool_dtype(dtype):
        return object
    return dtype if pd.api.types.is_string_dtype(dtype) else object


def _key(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    return value


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def as_frame(X: Any, feature_names: Sequence[str] | None = None) -> pd.DataFrame:
    """X as a DataFrame with unique string column names, or a clear error."""
    if isinstance(X, pd.Series):
        raise ValueError(
            "X must be 2-D (rows x features) but got a pandas Series. For one row pass "
            "X.to_frame().T; for one feature pass X.to_frame()."
        )
    if isinstance(X, pd.DataFrame):
        frame = X
        if feature_names is not None:
            _check_names_length(feature_names, frame.shape[1])
            frame = frame.set_axis([str(n) for n in feature_names], axis=1)
    else:
        if not hasattr(X, "shape") and not isinstance(X, (list, tuple)):
            raise TypeError(
                f"X must be a pandas DataFrame or a 2-D numpy array, not {type(X).__name__}."
            )
        array = np.asarray(X)
        if array.ndim != 2:
            raise ValueError(
                f"X must be 2-D (rows x features) but got an array of shape {array.shape}. "
                "For a single row use X.reshape(1, -1); for a single feature X.reshape(-1, 1)."
            )
        if feature_names is None:
            names = [f"x{i}" for i in range(array.shape[1])]
        else:
            _check_names_length(feature_names, array.shape[1])
            names = [str(n) for n in feature_names]
        frame = pd.DataFrame(array, columns=names)
        if array.dtype == object:
            frame = frame.infer_objects()
    if frame.shape[0] == 0:
        raise ValueError("X is empty (0 rows): pass at least one row to explain.")
    if frame.shape[1] == 0:
        raise ValueError("X has no columns: pass at least one feature.")
    names = [str(c) for c in frame.columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(
            f"X has duplicate column names: {duplicates}. Rename them so every feature "
            "has its own name (e.g. X.columns = [...])."
        )
    if list(frame.columns) != names:
        frame = frame.set_axis(names, axis=1)
    return frame.reset_index(drop=True)


def _check_names_length(feature_names: Sequence[str], n_columns: int) -> None:
    if len(feature_names) != n_columns:
        raise ValueError(
            f"feature_names has {len(feature_names)} names but X has {n_columns} columns: "
            "pass exactly one name per column."
        )


def build_schema(
    frame: pd.DataFrame,
    categorical_features: Iterable[str] | None = None,
    extra: pd.DataFrame | None = None,
) -> FeatureSchema:
    """Infer each feature's kind and summary from X (and background rows, for categories).

    pandas category/object/string columns are categorical, bool columns boolean, integer
    columns (or float columns holding only whole numbers) integer, the rest numeric. Names
    in ``categorical_features`` are categorical whatever their dtype.
    """
    told = set(categorical_features or ())
    unknown = told - set(frame.columns)
    if unknown:
        raise ValueError(
            f"categorical_features names columns that X does not have: {sorted(unknown)}. "
            f"X's columns are: {list(frame.columns)[:12]}."
        )
    features = []
    dtypes: dict[str, Any] = {}
    for name in frame.columns:
        column = frame[name]
        dtypes[name] = column.dtype
        values = column if extra is None or name not in extra else pd.concat([column, extra[name]])
        missing = float(column.isna().mean())
        if pd.api.types.is_bool_dtype(column.dtype) and name not in told:
            features.append(_discrete(name, "boolean", column, [False, True], missing))
        elif (
            name in told
            or isinstance(column.dtype, pd.CategoricalDtype)
            or not pd.api.types.is_numeric_dtype(column.dtype)
        ):
            features.append(_discrete(name, "categorical", column, _categories(values), missing))
        else:
            numbers = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float)
            finite = numbers[np.isfinite(numbers)]
            if finite.size == 0:
                raise ValueError(
                    f"Feature {name!r} has no finite values: drop it or fill its missing values."
                )
            whole = pd.api.types.is_integer_dtype(column.dtype) or bool(
                np.all(finite == np.round(finite))
            )
            quantiles = tuple(
                (q, float(v)) for q, v in zip(QUANTILE_LEVELS, np.quantile(finite, QUANTILE_LEVELS))
            )
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
    return FeatureSchema(features, dtypes)


def _categories(values: pd.Series) -> list[Any]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return list(values.cat.categories)
    seen = pd.unique(values.dropna())
    try:
        return sorted(_key(v) for v in seen)
    except TypeError:
        return [_key(v) for v in seen]


def _discrete(
    name: str, kind: FeatureKind, column: pd.Series, categories: list[Any], missing: float
) -> Feature:
    counts = column.value_counts(dropna=True)
    by_key = {_key(k): int(v) for k, v in counts.items()}
    return Feature(
        name=name,
        kind=kind,
        dtype=str(column.dtype),
        categories=tuple(_key(c) for c in categories),
        counts=tuple(by_key.get(_key(c), 0) for c in categories),
        missing=missing,
    )
