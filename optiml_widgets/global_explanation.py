"""Global SHAP: the SHAP values of many rows of X at once, computed once and cached.

A large X is explained on a random sample (``GLOBAL_ROWS``; fewer for the model-agnostic
permutation algorithm, which calls the model thousands of times per row). The charts say
how many rows they show. The values are the same the local panel shows for those rows: the
same explainer, the same background; the session reuses them when such a row is selected.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

GLOBAL_ROWS = 1000  # rows explained for the global views (tree and linear SHAP)
GLOBAL_ROWS_PERMUTATION = 200  # the model-agnostic algorithm: ~10 permutations per row
CHUNK_ROWS = 50  # rows per step: the progress bar moves and live requests slip in between

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class GlobalExplanation:
    """SHAP values of ``rows`` of X: ``values[row, feature, output]``, ``base_values[output]``."""

    rows: np.ndarray
    values: np.ndarray
    base_values: np.ndarray
    encoded: np.ndarray
    feature_names: list[str]
    output_names: list[str]
    total_rows: int
    algorithm: str
    seconds: float

    @property
    def sampled(self) -> bool:
        """Whether the rows are a sample of X rather than all of it."""
        return len(self.rows) < self.total_rows

    @property
    def sample_text(self) -> str:
        """ "all 569 rows" or "a random sample of 1,000 of 100,000 rows"."""
        if not self.sampled:
            return f"all {self.total_rows:,} rows"
        return f"a random sample of {len(self.rows):,} of {self.total_rows:,} rows"

    def importance(self, output: int = 0) -> pd.Series:
        """Mean |SHAP| per feature for one output, largest first."""
        mean_abs = np.abs(self.values[:, :, output]).mean(axis=0)
        series = pd.Series(mean_abs, index=self.feature_names, name="mean |SHAP|")
        return series.sort_values(ascending=False, kind="stable")

    def to_shap(self, output: int = 0, data: pd.DataFrame | None = None) -> Any:
        """One output's values as a ``shap.Explanation`` (for shap's own plots)."""
        import shap

        return shap.Explanation(
            values=self.values[:, :, output],
            base_values=np.full(len(self.rows), self.base_values[output]),
            data=data.to_numpy() if data is not None else self.encoded,
            feature_names=self.feature_names,
        )


def global_rows(n_rows: int, *, permutation: bool, limit: int | None = None) -> int:
    """How many rows the global views explain."""
    if limit is None:
        limit = GLOBAL_ROWS_PERMUTATION if permutation else GLOBAL_ROWS
    return min(n_rows, limit)


def compute_global(
    explain: Callable[[np.ndarray], Any],
    encoded_X: np.ndarray,
    *,
    n_rows: int,
    feature_names: list[str],
    output_names: list[str],
    algorithm: str,
    random_state: int = 0,
    progress: Progress | None = None,
) -> GlobalExplanation:
    """SHAP values of ``n_rows`` rows of ``encoded_X`` (all of them, or a seeded sample).

    ``explain(encoded_rows) -> ShapValues`` is called chunk by chunk; ``progress(done, total)``
    after each chunk.
    """
    started = time.perf_counter()
    total = len(encoded_X)
    if n_rows < total:
        rng = np.random.default_rng(random_state)
        rows = np.sort(rng.choice(total, n_rows, replace=False))
    else:
        rows = np.arange(total)
    parts, base = [], None
    bar = None
    if progress is None:  # a console or a notebook cell: a text bar (no extra widget)
        from tqdm import tqdm

        bar = tqdm(total=len(rows), desc="Global SHAP", unit="row", leave=False)
        progress = lambda done, _total: bar.update(done - bar.n)  # noqa: E731
    progress(0, len(rows))
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        result = explain(encoded_X[chunk])
        parts.append(np.asarray(result.values, dtype=float))
        base = np.asarray(result.base_values, dtype=float)
        progress(min(start + CHUNK_ROWS, len(rows)), len(rows))
    if bar is not None:
        bar.close()
    values = np.concatenate(parts) if parts else np.zeros((0, len(feature_names), 1))
    return GlobalExplanation(
        rows=rows,
        values=values,
        base_values=base if base is not None else np.zeros(len(output_names)),
        encoded=encoded_X[rows],
        feature_names=feature_names,
        output_names=output_names,
        total_rows=total,
        algorithm=algorithm,
        seconds=time.perf_counter() - started,
    )
