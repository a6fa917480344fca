"""Provably optimal small trees for the surrogate, fit by STreeD (``pystreed``).

STreeD finds, by dynamic programming over binary features, the tree of a given depth and
number of splits that fits its training rows best (most rows agreeing for classes, least
squared error for values). A greedy tree picks each split for itself and can miss the
pair of splits that together fit best; at 2 to 8 leaves the optimal tree often agrees with
the model on a few more rows per hundred.

Numeric features become binary ones "x <= t" at a few quantiles of the training rows (a
category code, ranked by the model's mean output, is numeric here too), so a split of the
optimal tree is one of those thresholds. The search grows fast with depth and binary
features: the surrogate gives it the few features its greedy tree found most useful and
caps the rows, which keeps a fit well under a second.
"""

from __future__ import annotations

import atexit
import threading
import warnings
from typing import Any

import numpy as np

MAX_DEPTH = 3  # 2**3 = 8 leaves: deeper searches take seconds to minutes
TIME_LIMIT = 10.0  # seconds per tree; past it STreeD returns the best tree found so far
# pystreed 1.4 is not documented as thread-safe, and a process was seen to crash when two
# solvers fit at once (the surrogate's folds run in threads): one fit at a time.
_ONE_FIT_AT_A_TIME = threading.Lock()
# What STreeD says of a size it cannot fit, which the surrogate handles (it skips that size).
# One filter set once: catch_warnings around each fit, in the fit's thread, swapped the whole
# process's filters meanwhile and swallowed warnings of the user's cells.
warnings.filterwarnings(
    "ignore",
    message="No feasible tree found|Maximum number of branching nodes is reduced",
    category=UserWarning,
    module=r"optiml_widgets\.",
)


@atexit.register
def _no_fit_at_exit() -> None:
    """Let a fit under way end, and start no other, before the interpreter finalises: a
    thread still inside the solver then aborts the process ("terminate called without an
    active exception")."""
    _ONE_FIT_AT_A_TIME.acquire(timeout=TIME_LIMIT + 1)


def quantile_cuts(T: np.ndarray, columns: list[int], n_cuts: int) -> list[tuple[int, float]]:
    """``(column, threshold)`` for ``T[:, column] <= threshold`` at ``n_cuts`` inner quantiles,
    leaving out thresholds that do not split the rows."""
    cuts: list[tuple[int, float]] = []
    for j in columns:
        values = T[:, j]
        top = float(np.max(values)) if len(values) else 0.0
        levels = np.unique(np.quantile(values, np.linspace(0, 1, n_cuts + 2)[1:-1]))
        cuts.extend((j, float(t)) for t in levels if t < top)
    return cuts


def binarise(T: np.ndarray, cuts: list[tuple[int, float]]) -> np.ndarray:
    """One 0/1 column per cut: whether the row's value is at or below the threshold."""
    if not cuts:
        return np.zeros((len(T), 0), dtype=np.intc)
    return np.column_stack([T[:, j] <= t for j, t in cuts]).astype(np.intc)


def depth_for(leaves: int) -> int:
    """The smallest depth that holds ``leaves`` leaves."""
    return max(1, int(np.ceil(np.log2(max(leaves, 2)))))


class OptimalTreeArrays:
    """An optimal tree as parallel arrays (node 0 is the root; -1 marks a leaf's children).

    ``left`` holds the rows that meet ``T[:, feature] <= threshold``.
    """

    def __init__(self) -> None:
        self.children_left: list[int] = []
        self.children_right: list[int] = []
        self.feature: list[int] = []
        self.threshold: list[float] = []
        self.samples: list[int] = []
        self.output: list[float] = []

    @property
    def n_leaves(self) -> int:
        return sum(1 for c in self.children_left if c == -1)

    def add(self, node: Any, cuts: list[tuple[int, float]]) -> int:
        """Append STreeD's ``node`` and its subtree breadth first; returns its position."""
        queue = [node]
        first = len(self.feature)
        position = first
        while queue:
            current = queue.pop(0)
            self.samples.append(int(current.num_instances))
            if current.is_leaf_node():
                self.children_left.append(-1)
                self.children_right.append(-1)
                self.feature.append(-2)
                self.threshold.append(-2.0)
                self.output.append(float(current.label))
            else:
                j, t = cuts[int(current.feature)]
                # STreeD's right child holds the rows whose binary feature is 1 (x <= t).
                queued = position + len(queue) + 1
                self.children_left.append(queued)
                self.children_right.append(queued + 1)
                self.feature.append(j)
                self.threshold.append(t)
                self.output.append(np.nan)
                queue.extend([current.right_child, current.left_child])
            position += 1
        return first


def fit_optimal_trees(
    T: np.ndarray,
    y: np.ndarray,
    *,
    classify: bool,
    cuts: list[tuple[int, float]],
    sizes: list[int],
    min_leaf: int = 1,
    random_state: int = 0,
) -> dict[int, OptimalTreeArrays]:
    """The optimal tree with at most ``size`` leaves, per size (at most 2**MAX_DEPTH).

    One solver fits every size, smallest first: STreeD keeps its cache between fits that
    change only the depth and number of splits, so the larger sizes reuse the smaller ones'
    work. A size whose optimal tree has fewer leaves (more splits do not help) keeps that
    tree: cross-validation then judges "at most ``size`` leaves" on every fold (left out
    instead, a size was judged on the folds where it helped alone, whose lucky mean won
    the curve).
    """
    from pystreed import STreeDClassifier, STreeDRegressor

    B = binarise(T, cuts)
    if B.shape[1] == 0 or len(np.unique(y)) < 2:
        return {}
    solver: Any
    if classify:
        solver = STreeDClassifier(
            max_depth=1, max_num_nodes=1, min_leaf_node_size=min_leaf, time_limit=TIME_LIMIT
        )
        target = y.astype(np.intc)
    else:
        solver = STreeDRegressor(
            optimization_task="regression",
            max_depth=1,
            max_num_nodes=1,
            min_leaf_node_size=min_leaf,
            time_limit=TIME_LIMIT,
        )
        target = y.astype(float)
    solver.set_params(random_seed=int(random_state) % (2**31))
    found: dict[int, OptimalTreeArrays] = {}
    for size in sorted(s for s in set(sizes) if 2 <= s <= 2**MAX_DEPTH):
        solver.set_params(max_depth=depth_for(size), max_num_nodes=size - 1)
        with _ONE_FIT_AT_A_TIME:
            solver.fit(B, target)
        if not solver.is_fitted():
            continue
        arrays = OptimalTreeArrays()
        arrays.add(solver.get_tree(), cuts)
        found[size] = arrays
    return found
