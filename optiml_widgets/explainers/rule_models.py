"""The fitted rule models of the surrogate: which leaf (rule) covers a row, and what it predicts.

Every family gives one of these: a tree of constant leaves (greedy or optimal), or a tree
whose leaves each carry a linear model (their own terms, or terms shared by every leaf;
a sum of trees' other trees are shared terms of one or more conditions).
A row reaches exactly one leaf, so every row is covered by exactly one rule.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from .optimal_trees import OptimalTreeArrays

TREE = "decision tree"
OPTIMAL_TREE = "optimal tree"
LINEAR_TREE = "tree with linear leaves"
SHARED_TREE = "tree with shared terms"
SUMMED_TREES = "sum of trees"
SCORE_CUT = 0.5  # a scored rule predicts its second class above this score


class RuleModel:
    """A fitted surrogate: the leaf (rule) that covers each row, and what it predicts."""

    family: str
    complexity: int

    def apply(self, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class GrownTree:
    """A best-first tree and, for any smaller number of leaves, the tree it grew through.

    Nodes are numbered as they are made, and a best-first tree makes the children of its
    k-th split before those of the next: the tree with k leaves is its first k - 1 splits.
    Every size comes from one fit, ~10x cheaper than fitting each size. scikit-learn grows
    ``max_leaf_nodes`` trees this way; ``linear_tree`` grows its own.
    """

    def __init__(
        self,
        children: tuple[ArrayLike, ArrayLike],
        feature: ArrayLike,
        threshold: ArrayLike,
        samples: ArrayLike | None,
        node_output: np.ndarray | None = None,
        float32: bool = False,
    ) -> None:
        self.children_left, self.children_right = (np.asarray(c) for c in children)
        self.feature, self.threshold = np.asarray(feature), np.asarray(threshold)
        # Training samples reaching each node (None until counted: see surrogate._counted).
        self.samples = None if samples is None else np.asarray(samples)
        self.node_output = node_output
        self.float32 = float32  # scikit-learn compares float32 values with its thresholds
        internal = np.flatnonzero(self.children_left != -1)
        self.rank = np.full(len(self.feature), np.iinfo(np.int64).max)
        self.rank[internal[np.argsort(self.children_left[internal])]] = np.arange(len(internal))
        self._holders: dict[int, np.ndarray] = {}
        self._walks: list[tuple[weakref.ref[np.ndarray], np.ndarray]] = []

    def __getstate__(self) -> dict[str, Any]:
        """What travels to a Dask worker: no cached walks (they hold weak references)."""
        return {**self.__dict__, "_walks": []}

    @classmethod
    def of(
        cls, tree: DecisionTreeClassifier | DecisionTreeRegressor, node_output: np.ndarray
    ) -> GrownTree:
        t = tree.tree_
        children = (t.children_left, t.children_right)
        return cls(children, t.feature, t.threshold, t.n_node_samples, node_output, True)

    @classmethod
    def from_arrays(cls, arrays: OptimalTreeArrays, classify: bool) -> GrownTree:
        output = np.nan_to_num(np.asarray(arrays.output, dtype=float))
        return cls(
            (np.asarray(arrays.children_left), np.asarray(arrays.children_right)),
            np.asarray(arrays.feature),
            np.asarray(arrays.threshold, dtype=float),
            np.asarray(arrays.samples),
            np.rint(output).astype(np.int64) if classify else output,
        )

    def remapped(self, columns: Sequence[int]) -> GrownTree:
        """The same tree reading column ``columns[j]`` where it read column ``j``."""
        internal = self.children_left != -1
        feature = self.feature.copy()
        feature[internal] = np.asarray(columns)[feature[internal]]
        children = (self.children_left, self.children_right)
        return GrownTree(
            children, feature, self.threshold, self.samples, self.node_output, self.float32
        )

    def n_leaves(self, leaves: int) -> int:
        return min(leaves, int(np.sum(self.children_left == -1)))

    def is_leaf(self, node: int, leaves: int) -> bool:
        """Whether ``node`` is a leaf of the tree with ``leaves`` leaves."""
        return self.children_left[node] == -1 or self.rank[node] >= leaves - 1

    def ancestor_leaves(self, nodes: np.ndarray, leaves: int) -> np.ndarray:
        """For nodes of a larger tree, the leaf of the ``leaves``-leaf tree holding each."""
        return self._holder(leaves)[np.asarray(nodes, dtype=np.int64)]

    def apply(self, T: np.ndarray, leaves: int) -> np.ndarray:
        """The leaf of the ``leaves``-leaf tree that each row reaches."""
        return self._holder(leaves)[self._reached(T)]

    def _holder(self, leaves: int) -> np.ndarray:
        """Per node, the leaf of the ``leaves``-leaf tree it lies in (itself if it is one)."""
        found = self._holders.get(leaves)
        if found is None:
            found = np.arange(len(self.feature))
            # Nodes are made after their parent: one pass from the root down.
            for node in range(len(self.feature)):
                if self.children_left[node] != -1:
                    top = found[node] if self.is_leaf(found[node], leaves) else None
                    for child in (self.children_left[node], self.children_right[node]):
                        found[child] = top if top is not None else child
            self._holders[leaves] = found
        return found

    def _reached(self, T: np.ndarray) -> np.ndarray:
        """The leaf of the whole tree each row reaches. Every size of the tree reads the
        same walk, so the last few matrices' walks are kept (by identity: the surrogate
        judges all sizes of a tree on the same rows one after another)."""
        for ref, walked in self._walks:
            if ref() is T:
                return walked
        values = T.astype(np.float32) if self.float32 else T
        node = np.zeros(len(T), dtype=np.int64)
        rows = np.arange(len(T))
        while len(rows):
            at = node[rows]
            split = self.children_left[at] != -1
            rows, at = rows[split], at[split]
            left = values[rows, self.feature[at]] <= self.threshold[at]
            node[rows] = np.where(left, self.children_left[at], self.children_right[at])
        self._walks = [(weakref.ref(T), node), *self._walks[:3]]
        return node


class ConstantLeaves(RuleModel):
    """A tree whose leaves each predict one class or value."""

    def __init__(self, grown: GrownTree, leaves: int, family: str) -> None:
        self.grown, self.leaves, self.family = grown, leaves, family
        self.complexity = grown.n_leaves(leaves)

    def apply(self, T: np.ndarray) -> np.ndarray:
        return self.grown.apply(T, self.leaves)

    def predict(self, T: np.ndarray) -> np.ndarray:
        assert self.grown.node_output is not None, "a tree of constant leaves has outputs"
        return self.grown.node_output[self.apply(T)]


@dataclass(frozen=True)
class Leaf:
    """A leaf's linear model: ``mean + (inputs(T) - center) @ coef``.

    A term is a column of T (a linear term) or, where ``cuts`` has a number, a step: 1
    where the column is above that cut, else 0 ("+0.3 if lpi > 4.2"). ``cuts`` is empty
    when every term is linear. Where ``joint`` has steps instead (a leaf of a sum of trees),
    a term is 1 where all its ``(column, cut, above)`` hold ("+0.3 if lpi > 4.2 and disea
    <= 10"), its column the first one's.
    """

    mean: float
    columns: tuple[int, ...] = ()
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    center: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cuts: tuple[float, ...] = ()
    joint: tuple[tuple[tuple[int, float, bool], ...], ...] = ()

    def inputs(self, T: np.ndarray) -> np.ndarray:
        """The terms' values on the rows of T, one column per term."""
        if self.joint:
            return np.column_stack([joint_step(T, steps) for steps in self.joint])
        return term_inputs(T, self.columns, self.cuts)


def term_inputs(T: np.ndarray, columns: Sequence[int], cuts: Sequence[float] = ()) -> np.ndarray:
    """Columns of T, each as a linear term (no cut, or NaN) or a step above its cut."""
    values = T[:, list(columns)].astype(float)
    for k, cut in enumerate(cuts):
        if not np.isnan(cut):
            values[:, k] = values[:, k] > cut
    return values


def joint_step(T: np.ndarray, steps: Sequence[tuple[int, float, bool]]) -> np.ndarray:
    """1 where every ``(column, cut, above)`` holds (the column above its cut, or at or
    below it), else 0."""
    hit = np.ones(len(T), bool)
    for column, cut, above in steps:
        hit &= (T[:, column] > cut) if above else (T[:, column] <= cut)
    return hit.astype(float)


class LinearLeaves(RuleModel):
    """A tree whose leaves each predict ``mean + (T[:, columns] - center) @ coef``.

    With ``shared``, every leaf has the same terms with the same weights (only its centre,
    its average row, differs): a person reads those terms once, so they count once.
    With ``scored`` (a binary classifier), that is a score, the share of the second class
    (fit to 0 and 1, as a linear probability model), and the class predicted is the second
    where the score is above ``SCORE_CUT``, else the first.
    """

    def __init__(
        self,
        grown: GrownTree | None,
        leaves: int,
        fits: dict[int, Leaf],
        shared: bool = False,
        scored: bool = False,
        family: str | None = None,
    ) -> None:
        self.grown, self.leaves, self.fits = grown, leaves, fits
        self.shared, self.scored = shared, scored
        self.family = family or (SHARED_TREE if shared else LINEAR_TREE)
        terms = [len(leaf.columns) for leaf in fits.values()]
        self.complexity = len(fits) + (max(terms, default=0) if shared else sum(terms))

    def apply(self, T: np.ndarray) -> np.ndarray:
        if self.grown is None:  # one leaf: a sparse linear model
            return np.zeros(len(T), dtype=np.int64)
        return self.grown.apply(T, self.leaves)

    def predict(self, T: np.ndarray) -> np.ndarray:
        """Values, or with ``scored`` class positions (0 or 1)."""
        values = self.score(T)
        return (values > SCORE_CUT).astype(np.int64) if self.scored else values

    def score(self, T: np.ndarray) -> np.ndarray:
        """Each row's leaf model: a value, or with ``scored`` the second class's score."""
        ids = self.apply(T)
        if self.shared:
            # The same terms and weights in every leaf: one product for all the rows, and
            # per leaf its value less its centre's share (the surrogate judges hundreds of
            # these models on every fold's rows).
            some = next(iter(self.fits.values()))
            offset = np.zeros(max(int(ids.max(initial=0)), *self.fits) + 1)
            for node, leaf in self.fits.items():
                offset[node] = leaf.mean - leaf.center @ leaf.coef
            return offset[ids] + some.inputs(T) @ some.coef
        out = np.empty(len(T))
        for node, leaf in self.fits.items():
            hit = ids == node
            out[hit] = leaf.mean + (leaf.inputs(T[hit]) - leaf.center) @ leaf.coef
        return out


def subtree_totals(
    children_left: ArrayLike, children_right: ArrayLike, counts: np.ndarray
) -> np.ndarray:
    """``counts`` per leaf -> per node, the total over the leaves below it (every node is
    numbered after its parent, as in every tree here)."""
    left, right = np.asarray(children_left), np.asarray(children_right)
    totals = np.array(counts, copy=True)
    for node in range(len(totals) - 1, -1, -1):
        if left[node] != -1:
            totals[node] = totals[left[node]] + totals[right[node]]
    return totals


def remap(leaf: Leaf, columns: Sequence[int]) -> Leaf:
    """Columns of a block of the matrix (``columns``) -> columns of the whole matrix."""
    joint = tuple(tuple((int(columns[c]), cut, above) for c, cut, above in s) for s in leaf.joint)
    return dataclasses.replace(
        leaf, columns=tuple(int(columns[c]) for c in leaf.columns), joint=joint
    )


def round_between(low: float, high: float, threshold: float) -> float:
    """The number with the fewest significant digits in ``[low, high)`` (the largest real
    value at or below ``threshold`` and the smallest above it), nearest the threshold:
    the same rows on each side, read more easily. Also as the values read: see
    ``_as_read``."""
    if not (np.isfinite(low) and np.isfinite(high)) or high <= low:
        return threshold
    low, high = _as_read(low, high)
    magnitude = int(np.floor(np.log10(max(abs(low), abs(high)) or 1.0)))
    for digits in range(1, 17):
        step = 10.0 ** (magnitude - digits + 1)
        if step == 0.0:  # below the smallest float (subnormal data): keep the threshold
            break
        first, last = int(np.ceil(low / step)), int(np.ceil(high / step)) - 1
        for k in sorted(range(first, last + 1), key=lambda k: abs(k * step - threshold))[:3]:
            value = float(f"{k * step:.{digits + 2}g}")
            if low <= value < high:
                return value
    return threshold


def _as_read(low: float, high: float) -> tuple[float, float]:
    """``[low, high)`` narrowed so that values of a float16 or float32 column stay on their
    sides also as they read: float32's 0.1 is 0.10000000149011612, and "x <= 0.1" put a row
    that X shows as 0.1 above it. A value such a column holds reads as its shortest text,
    which lies in its own rounding interval, so the range stays open. Data in float64 that
    happens to hold these numbers loses nothing but a rounder threshold."""
    read_low, read_high = low, high
    for narrow in (np.float32, np.float16):
        # Each end on its own: the other may be no value of the column (a missing value's
        # fill, between two of its values).
        with np.errstate(over="ignore"):
            a, b = narrow(low), narrow(high)
        if float(a) == low:
            read_low = max(read_low, float(str(a)))
        if float(b) == high:
            read_high = min(read_high, float(str(b)))
    # A fill within a rounding step of a column value can leave no room: as before, then.
    return (read_low, read_high) if read_low < read_high else (low, high)
