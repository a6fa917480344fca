"""Shared models and data: every dataset ships with scikit-learn or is generated."""

from __future__ import annotations

import base64
import functools
import gzip
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine, make_classification
from sklearn.ensemble import (
    GradientBoostingClassifier,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


@dataclass
class Case:
    """A fitted model and the rows to explain."""

    name: str
    model: Any
    X: pd.DataFrame
    y: Any


@functools.cache
def breast_cancer() -> tuple[pd.DataFrame, pd.Series]:
    data = load_breast_cancer(as_frame=True)
    return data.data, data.target


@functools.cache
def diabetes() -> tuple[pd.DataFrame, pd.Series]:
    data = load_diabetes(as_frame=True)
    return data.data, data.target


@functools.cache
def wine() -> tuple[pd.DataFrame, pd.Series]:
    data = load_wine(as_frame=True)
    return data.data, data.target


def city_data(n: int = 600, random_state: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Generated data with a string column that matters to the label."""
    X, y = make_classification(n, 4, n_informative=3, n_redundant=0, random_state=random_state)
    rng = np.random.default_rng(random_state)
    cities = np.array(["Paris", "Lyon", "Nice", "Lille"])
    city = cities[rng.integers(0, 4, n)]
    y = np.where(np.isin(city, ["Paris", "Lyon"]) & (rng.random(n) < 0.35), 1 - y, y)
    frame = pd.DataFrame(X, columns=["income", "age", "debt", "score"])
    frame["city"] = pd.Series(city, dtype=object)
    return frame, y


def held(fit: Callable[..., Any]) -> tuple[Callable[..., Any], threading.Event, list]:
    """``fit`` (a surrogate's, with a ``stop``) held until the returned event is set,
    polling its stop meanwhile; and the stops of its calls, one per call."""
    release, stops = threading.Event(), []

    def held_fit(*args: Any, stop: Any, **kwargs: Any) -> Any:
        stops.append(stop)
        while not release.wait(0.02):
            stop.check()
        return fit(*args, stop=stop, **kwargs)

    return held_fit, release, stops


def shown_surrogate(w: Any, timeout: float = 30.0) -> dict:
    """The rules the panel shows (``w._surrogate``): the fit's callback publishes them
    just after ``w.surrogate`` returns, on the job's thread."""
    deadline = time.monotonic() + timeout
    while w._surrogate is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert w._surrogate is not None, "the panel showed no rules"
    return w._surrogate


def unpack(packed: dict) -> np.ndarray:
    """An array of the export as numpy (export.py's _pack: gzip, base64, dtype, shape)."""
    raw = gzip.decompress(base64.b64decode(packed["data"]))
    return np.frombuffer(raw, dtype=packed["dtype"]).reshape(packed["shape"])


def grid_point(grids: dict, row: int, j: int, k: int) -> int:
    """Where grid point ``k`` of feature ``j`` of exported row ``row`` (its place in the
    file) is in the grids' arrays: the rows' blocks one after another."""
    start = sum(offsets[-1] for offsets in grids["offsets"][:row])
    return start + grids["offsets"][row][j] + k


def grid_shap(grids: dict) -> np.ndarray:
    """The grids' SHAP values as float, one line per grid point (each row's own scale)."""
    blocks = [offsets[-1] for offsets in grids["offsets"]]
    scale = np.repeat(unpack(grids["shap_scale"]).astype(float), blocks)
    return unpack(grids["shap"]).astype(float) * scale[:, None]


def formula(df: pd.DataFrame) -> np.ndarray:
    """A plain function model: f(DataFrame) -> values."""
    return (
        3.0 * df["a"].to_numpy()
        - 2.0 * df["b"].to_numpy() ** 2
        + df["a"].to_numpy() * df["c"].to_numpy()
    )


@functools.cache
def case(name: str) -> Case:
    if name == "gbc_breast_cancer":
        X, y = breast_cancer()
        return Case(name, GradientBoostingClassifier(random_state=0).fit(X, y), X, y)
    if name == "rf_diabetes":
        X, y = diabetes()
        return Case(name, RandomForestRegressor(50, random_state=0).fit(X, y), X, y)
    if name == "logistic_pipeline":
        X, y = breast_cancer()
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X, y)
        return Case(name, model, X, y)
    if name == "rf_wine_multiclass":
        X, y = wine()
        return Case(name, RandomForestClassifier(50, random_state=0).fit(X, y), X, y)
    if name == "onehot_pipeline":
        X, y = city_data()
        pre = ColumnTransformer(
            [("city", OneHotEncoder(handle_unknown="ignore"), ["city"])], remainder="passthrough"
        )
        model = Pipeline(
            [("pre", pre), ("clf", GradientBoostingClassifier(n_estimators=50, random_state=0))]
        )
        return Case(name, model.fit(X, y), X, y)
    if name == "callable":
        rng = np.random.default_rng(0)
        X = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
        return Case(name, formula, X, formula(X))
    if name == "xgboost":
        xgboost = pytest.importorskip("xgboost")
        X, y = breast_cancer()
        model = xgboost.XGBClassifier(n_estimators=50, max_depth=3, random_state=0).fit(X, y)
        return Case(name, model, X, y)
    if name == "lightgbm":
        lightgbm = pytest.importorskip("lightgbm")
        X, y = diabetes()
        model = lightgbm.LGBMRegressor(n_estimators=50, random_state=0, verbose=-1).fit(X, y)
        return Case(name, model, X, y)
    raise KeyError(name)


CASES = [
    "gbc_breast_cancer",
    "rf_diabetes",
    "logistic_pipeline",
    "rf_wine_multiclass",
    "onehot_pipeline",
    "callable",
    "xgboost",
    "lightgbm",
]


@functools.cache
def session_for(name: str) -> Any:
    from optiml_widgets import ExplanationSession

    c = case(name)
    return ExplanationSession(c.model, c.X, c.y)


@pytest.fixture(params=CASES)
def case_name(request: pytest.FixtureRequest) -> str:
    return request.param
