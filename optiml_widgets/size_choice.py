"""The size a surrogate is shown at, from its cross-validated fidelity per candidate.

The fewest rules whose mean over the folds is within one standard error of the best
(Breiman's one-standard-error rule). The error is that of the difference to the best, paired
over the same folds: two sizes share most of a fold's luck, so this is the noise that matters
when telling them apart. The tabular surrogate and the text one choose alike.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

NEGLIGIBLE = 0.002  # a smaller loss of fidelity is not worth a rule, however sure

K = TypeVar("K", bound=Hashable)


def standard_error(values: np.ndarray) -> float:
    """The standard error of the mean of ``values`` (0 for fewer than two)."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values))) if len(values) > 1 else 0.0


@dataclass(frozen=True)
class SizeChoice(Generic[K]):
    """Per candidate its mean and error over the folds, and which ones are chosen and best."""

    mean: dict[K, float]
    error: dict[K, float]  # of its own mean
    near_best: dict[K, bool]  # within one paired standard error of the best
    best: K
    chosen: K


def one_standard_error(by_fold: Mapping[K, np.ndarray], rules: Callable[[K], int]) -> SizeChoice[K]:
    """Choose among candidates (their scores per fold, NaN where a fold has none; higher is
    better) the fewest ``rules`` within one standard error of the best; ties go to the
    better mean, then to the first candidate."""
    mean, error = {}, {}
    for key, folds in by_fold.items():
        known = folds[np.isfinite(folds)]
        mean[key], error[key] = float(known.mean()), standard_error(known)
    best = max(by_fold, key=lambda k: (mean[k], -rules(k)))
    near_best = {}
    for key, folds in by_fold.items():
        both = np.isfinite(folds) & np.isfinite(by_fold[best])
        paired = standard_error(folds[both] - by_fold[best][both])
        near_best[key] = bool(mean[key] >= mean[best] - max(paired, NEGLIGIBLE))
    chosen = min((k for k in by_fold if near_best[k]), key=lambda k: (rules(k), -mean[k]))
    return SizeChoice(mean, error, near_best, best, chosen)
