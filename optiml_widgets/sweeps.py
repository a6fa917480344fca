"""One-feature sweeps: an instance with one feature moved along its slider's grid.

The panel reads its instant drag estimates off a sweep's model outputs, and the export
stores the same sweep (with SHAP values and rules) for the what-ifs of every exported row.
A numeric grid sits at quantiles of X (points where the data is, the ends at its min and
max); a categorical one holds every category, at most the 40 most common (an export has
no what-if for the others, and says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import FeatureSchema

GRID_POINTS = 12
MAX_CATEGORIES = 40


@dataclass(frozen=True)
class Sweep:
    """The instance with each feature j moved along ``grids[j]`` (encoded): ``rows()`` block
    j, ``rows()[offsets[j]:offsets[j + 1]]``; ``outputs`` the model's outputs for them,
    ``display`` the grid values as the sliders show them. The rows themselves are not
    kept: sweeps are cached per edit, and on wide data each one's rows take megabytes."""

    base: np.ndarray  # the instance itself, encoded
    base_output: np.ndarray  # the model's outputs for it
    grids: list[np.ndarray]
    outputs: np.ndarray
    offsets: list[int]
    display: list[list[Any]]

    def rows(self) -> np.ndarray:
        """The swept rows (encoded), made again on each call."""
        return sweep_rows(self.base, self.grids)[0]


def grid_values(
    schema: FeatureSchema, encoded_X: np.ndarray, j: int, points: int = GRID_POINTS
) -> np.ndarray:
    """Encoded values feature j's slider takes in a sweep."""
    feature = schema.features[j]
    column = encoded_X[:, j]
    column = column[~np.isnan(column)]
    if feature.is_discrete:
        order = np.argsort(-np.asarray(feature.counts), kind="stable")
        return np.sort(order[:MAX_CATEGORIES]).astype(float)
    if not len(column):
        return np.zeros(0)
    values = np.quantile(column, np.linspace(0, 1, points))
    if feature.kind == "integer":
        values = np.rint(values)
    return np.unique(values)


def sweep_rows(encoded: np.ndarray, grids: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """The instance repeated once per grid point, feature j set to its grid in block j."""
    offsets = np.cumsum([0] + [len(g) for g in grids]).tolist()
    rows = np.repeat(np.asarray(encoded, dtype=float)[None, :], offsets[-1], axis=0)
    for j, grid in enumerate(grids):
        rows[offsets[j] : offsets[j + 1], j] = grid
    return rows, offsets


def display_values(schema: FeatureSchema, j: int, grid: np.ndarray) -> list[Any]:
    """Grid values as the frontend shows and sends them (category text, bools, numbers)."""
    feature = schema.features[j]
    if feature.kind == "boolean":
        return [bool(feature.categories[int(c)]) for c in grid]
    if feature.kind == "categorical":
        return [feature.labels[int(c)] for c in grid]
    if feature.kind == "integer":
        return [int(v) for v in grid]
    return [float(v) for v in grid]
