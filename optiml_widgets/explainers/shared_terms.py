"""Trees with terms shared by every rule (regression): each rule's prediction is its own
value plus the same few terms, linear ("+0.8 per 1000 of income") or steps ("+0.3 if
lpi > 4.2"), in every rule.

An additive effect (income adds the same whatever the rest) is what a plain tree reads
worst: it must repeat the steps of income under every other split. Here the terms carry
the additive part once and the tree only what is left, and every row is still covered by
exactly one rule. A linear term carries a smooth effect; a step one that jumps or levels
off (as a sum of small trees, FIGS, carries it, with one condition read instead of a
stump's two leaves). A person reads the leaves and, once, the terms: that is the count of
rules (as RuleFit counts its linear terms).

Fit in two passes over the samples:

1. A greedy path from one leaf and no term. Each step adds whichever cuts the squared
   error most, a split of a leaf (judged on the current residual, as a tree judges a
   split) or a term (judged exactly, given the leaves and the terms already in), then
   refits every leaf value and term weight together. It gives the order the terms enter.
2. For each number m of terms (the path's first m, with the weights the path gave them),
   a best-first tree grown on what those terms leave unexplained, read at every number
   of leaves; each size's leaf values and term weights are then refit together by least
   squares, from sums per leaf (one pass over the samples per m).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from sklearn.tree import DecisionTreeRegressor

from ..jobs import yield_to_live
from .rule_models import GrownTree, Leaf, LinearLeaves, round_between, term_inputs

MAX_SHARED_TERMS = 12  # terms shared by every rule
TERM_COUNTS = (1, 2, 3, 4, 6, 8, 12)  # numbers of shared terms tried
PATH_ROWS = 8000  # an even sample of this many judges the path's steps and places the cuts
GROW_ROWS = 2000  # the trees' splits are found on an even sample of this many
VARIES = 1e-9  # a term whose part in the leaves is below this share (of its spread, of y's): none


class TermBasis(NamedTuple):
    """The candidate terms: per term its column of T and cut (NaN: linear), and its values.

    Every numeric column is a linear term. A column of more than two values is also a step
    at each cut of a depth-2 tree fit to y on that column alone (its best split, then the
    best on either side; each cut rounded between the real rows' values on either side, as
    a tree's threshold is): where the model jumps or levels off, not at fixed quantiles,
    which put steps where nothing changes; the best split alone would miss a second jump."""

    columns: list[int]
    cuts: list[float]
    values: np.ndarray

    @classmethod
    def of(
        cls,
        T: np.ndarray,
        y: np.ndarray,
        numeric: Sequence[int],
        is_real: np.ndarray,
        sample: np.ndarray,
    ) -> TermBasis:
        """The terms of ``numeric`` columns, their cuts placed on the rows of ``sample``."""
        columns: list[int] = []
        cuts: list[float] = []
        min_leaf = max(5, len(sample) // 100)
        for j in numeric:
            columns.append(j)
            cuts.append(float("nan"))
            real = T[is_real, j]
            if len(np.unique(real)) <= 2:  # its one step is its linear term
                continue
            kept: set[float] = set()
            for cut in _step_cuts(T[sample, j], y[sample], min_leaf):
                # Rounded between the real values on either side (a person reads "> 0.5",
                # not a digit that only separates samples drawn near the rows); a step
                # that leaves every real row on one side would be read for nothing.
                below, above = real[real <= cut], real[real > cut]
                if not len(below) or not len(above):
                    continue
                cut = round_between(float(below.max()), float(above.min()), cut)
                if cut not in kept:
                    kept.add(cut)
                    columns.append(j)
                    cuts.append(cut)
        return cls(columns, cuts, term_inputs(T, columns, cuts))


def _step_cuts(x: np.ndarray, y: np.ndarray, min_leaf: int) -> list[float]:
    """The cuts of a depth-2 regression tree of y on x alone: its best split, then the best
    on either side (the path's own split search, on one column)."""
    column, order = x[:, None], np.argsort(x, kind="stable")[:, None]
    first = _best_splits(column, y, np.zeros(len(y), np.int64), 1, min_leaf, order)[0]
    if first is None:
        return []
    sides = (x > first[2]).astype(np.int64)
    below, above = _best_splits(column, y, sides, 2, min_leaf, order).values()
    return [first[2]] + [found[2] for found in (below, above) if found is not None]


def shared_term_models(
    T: np.ndarray,
    y: np.ndarray,
    numeric: list[int],
    max_rules: int,
    random_state: int,
    is_real: np.ndarray,
    scored: bool = False,
) -> list[LinearLeaves]:
    """Trees with shared terms, every (leaves, terms) with at most ``max_rules`` in all and
    at least one term (none is a plain tree, another family).

    ``scored``: y is a binary classifier's class position (0 or 1), fit as a number (a
    linear probability model), and each model predicts the class on which side of
    ``SCORE_CUT`` its score falls. Its terms then carry what a tree reads worst in a class
    boundary too: a boundary across several features at once (on 1,000 features of
    make_classification, +0.053 accuracy over a plain tree at 16 rules, 5 seeds)."""
    if not numeric or max_rules < 2 or len(y) < 4 or np.ptp(y) == 0:
        return []
    # An even sample judges the path's steps and places the steps' cuts (as many rows
    # place a threshold just as well, and the path then reads the order the cuts did).
    sample = np.arange(len(y))
    if len(y) > PATH_ROWS:
        sample = np.random.default_rng(random_state).choice(len(y), PATH_ROWS, replace=False)
    basis = TermBasis.of(T, y, numeric, is_real, sample)
    order, weights = term_path(T[sample], basis.values[sample], y[sample], max_rules)
    # The trees' splits are found on an even sample (as many rows place a threshold just
    # as well); leaf values and weights are then fit on every row.
    grow = np.arange(len(y))
    if len(y) > GROW_ROWS:
        grow = np.random.default_rng(random_state).choice(len(y), GROW_ROWS, replace=False)
    models = []
    for m in TERM_COUNTS:
        if m > len(order) or max_rules - m < 1:
            break
        yield_to_live()  # a tree and joint fits per count: a stop ends them here
        terms = order[:m]
        residual = y - basis.values[:, terms] @ weights[m]
        most = max_rules - m
        grown = None
        if most >= 2 and np.ptp(residual[grow]) > 0:
            tree = DecisionTreeRegressor(max_leaf_nodes=most, random_state=random_state)
            tree.fit(T[grow], residual[grow])
            grown = GrownTree.of(tree, tree.tree_.value[:, 0, 0])
        models.extend(_joint_fits(T, y, basis, terms, grown, most, scored))
    return models


def term_path(
    T: np.ndarray, B: np.ndarray, y: np.ndarray, max_rules: int
) -> tuple[list[int], dict[int, np.ndarray]]:
    """The order in which terms (columns of the candidate terms' values ``B``) enter the
    greedy path, and per number of terms m the weights of the first m when the next one
    entered."""
    n = len(y)
    min_leaf = max(5, n // 100)
    leaf_of = np.zeros(n, dtype=np.int64)
    n_leaves = 1
    terms: list[int] = []  # columns of B
    weights: dict[int, np.ndarray] = {}
    products = _Products(B, y)
    state = _Within(products, leaf_of, n_leaves)
    beta, residual = state.fit([])
    orders = np.argsort(T, axis=0, kind="stable")
    splits = _best_splits(T, residual, leaf_of, n_leaves, min_leaf, orders)

    def best_split() -> tuple[int | None, float]:
        found = [(s[0], leaf) for leaf, s in splits.items() if s is not None]
        gain, leaf = max(found, default=(0.0, None))
        return leaf, gain

    def add_term(term: int) -> None:
        nonlocal beta, residual
        weights[len(terms)] = beta
        terms.append(term)
        beta, residual = state.fit(terms)

    while n_leaves + len(terms) < max_rules:
        split_leaf, split_gain = best_split()
        term, term_gain = (None, 0.0)
        if len(terms) < MAX_SHARED_TERMS:
            term, term_gain = state.best_term(terms, residual)
        if split_gain <= 0 and term_gain <= 0:
            break
        if term is not None and term_gain > split_gain:
            add_term(term)
            # Every residual moved: each leaf's best split is judged again.
            splits = _best_splits(T, residual, leaf_of, n_leaves, min_leaf, orders)
            continue
        assert split_leaf is not None
        _, j, cut = splits[split_leaf]  # type: ignore[misc]
        leaf_of[(leaf_of == split_leaf) & (T[:, j] > cut)] = n_leaves
        n_leaves += 1
        state = _Within(products, leaf_of, n_leaves)
        beta, residual = state.fit(terms)
        # The new leaves are judged; the others keep their split's gain (with terms in,
        # the refit moved their residuals a little: they are judged again at the next term).
        changed = [split_leaf, n_leaves - 1]
        splits.update(_best_splits(T, residual, leaf_of, n_leaves, min_leaf, orders, changed))
    # More terms than the path took, given its leaves: larger trees of step 2 leave more
    # for terms to explain, and a size may be better read with fewer leaves, more terms.
    while len(terms) < MAX_SHARED_TERMS:
        term, term_gain = state.best_term(terms, residual)
        if term is None or term_gain <= 0:
            break
        add_term(term)
    weights[len(terms)] = beta
    return terms, weights


class _Products:
    """The terms' values and y, each column less its mean, and their cross-products: the
    part of every leaf's joint fit that the leaves do not change (computed once)."""

    def __init__(self, B: np.ndarray, y: np.ndarray) -> None:
        self.X = B - B.mean(axis=0)
        self.y = y - y.mean()
        self.gram = self.X.T @ self.X
        self.moment = self.X.T @ self.y


class _Within:
    """The terms' values and y centred within each leaf, and their cross-products: a
    joint fit of leaf values and term weights is a least-squares fit of these. The
    cross-products are the whole columns' less each leaf's sums (no pass over the rows
    per term)."""

    def __init__(self, products: _Products, leaf_of: np.ndarray, n_leaves: int) -> None:
        X, y = products.X, products.y
        count = np.bincount(leaf_of, minlength=n_leaves).astype(float)
        count[count == 0] = 1.0
        member = np.zeros((n_leaves, len(y)))
        member[leaf_of, np.arange(len(y))] = 1.0
        sums, y_means = member @ X, (member @ y) / count
        self.X, self.leaf_of = X, leaf_of
        self.means = sums / count[:, None]
        self.y = y - y_means[leaf_of]
        self.gram = products.gram - sums.T @ self.means
        self.moment = products.moment - sums.T @ y_means

    def fit(self, terms: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Weights of ``terms`` (columns of X) and the residual of the joint fit."""
        if not terms:
            return np.zeros(0), self.y
        beta = np.linalg.lstsq(self.gram[np.ix_(terms, terms)], self.moment[terms], rcond=None)[0]
        centred = self.X[:, terms] - self.means[:, terms][self.leaf_of]
        return beta, self.y - centred @ beta

    def best_term(self, terms: list[int], residual: np.ndarray) -> tuple[int | None, float]:
        """The column whose term cuts the squared error most, and by how much.

        The residual is already orthogonal to the terms in, so a column's gain is its
        product with the residual squared over what of it the terms in do not explain. (The
        residual sums to zero in every leaf, so its product with a column centred within
        the leaves is its product with the whole column.)"""
        candidates = [j for j in range(self.X.shape[1]) if j not in terms]
        if not candidates:
            return None, 0.0
        own = self.gram[candidates, candidates]
        left = own.copy()
        if terms:
            cross = self.gram[np.ix_(terms, candidates)]
            solved = np.linalg.lstsq(self.gram[np.ix_(terms, terms)], cross, rcond=None)[0]
            left = own - np.einsum("ij,ij->j", cross, solved)
        # A column (almost) explained by the leaves and the terms in adds nothing.
        usable = left > 1e-9 * np.maximum(own, 1e-300)
        product = self.X[:, candidates].T @ residual
        gain = np.where(usable, product**2 / np.where(usable, left, 1.0), 0.0)
        best = int(np.argmax(gain))
        return candidates[best], float(gain[best])


def _best_splits(
    T: np.ndarray,
    residual: np.ndarray,
    leaf_of: np.ndarray,
    n_leaves: int,
    min_leaf: int,
    orders: np.ndarray,
    leaves: Sequence[int] | None = None,
) -> dict[int, tuple[float, int, float] | None]:
    """Per leaf (of ``leaves``, else all), (squared error cut, column, threshold) of the
    best split of its residual, or None; every column at once, from each column's rows
    sorted once (``orders``, rows x columns)."""
    yield_to_live()
    wanted = np.arange(n_leaves) if leaves is None else np.asarray(leaves)
    best: dict[int, tuple[float, int, float] | None] = dict.fromkeys(wanted.tolist())
    count = np.bincount(leaf_of, minlength=n_leaves)
    count[np.setdiff1d(np.arange(n_leaves), wanted)] = 0  # rows of other leaves are left out
    total = np.bincount(leaf_of, residual, n_leaves)
    starts = np.concatenate([[0], np.cumsum(count)[:-1]])
    present = np.sort(wanted[count[wanted] > 0])
    if not len(present):
        return best
    if leaves is not None:  # as many rows of the wanted leaves in every column
        inside = np.isin(leaf_of, wanted)
        kept = orders.T[inside[orders.T]]
        orders = kept.reshape(orders.shape[1], -1).T
    # Small integers: numpy's stable sort of them is a radix sort (linear, ~5x faster).
    key = leaf_of.astype(np.int16) if n_leaves < 2**15 else leaf_of
    # The rows grouped by leaf, each group in its column's order: the same groups, one
    # run per leaf, in every column.
    rows = np.take_along_axis(orders, np.argsort(key[orders], axis=0, kind="stable"), axis=0)
    group = leaf_of[rows[:, 0]]
    x = np.take_along_axis(T, rows, axis=0)
    running = np.cumsum(residual[rows], axis=0)
    before = np.vstack([np.zeros((1, running.shape[1])), running])[starts[group]]
    left_n = (np.arange(len(rows)) - starts[group] + 1)[:, None]
    left_sum = running - before
    right_n = count[group][:, None] - left_n
    right_sum = total[group][:, None] - left_sum
    with np.errstate(divide="ignore", invalid="ignore"):
        gain = (
            left_sum**2 / left_n
            + right_sum**2 / right_n
            - (total[group] ** 2 / count[group])[:, None]
        )
    step = np.zeros(x.shape, bool)
    step[:-1] = (group[1:] == group[:-1])[:, None] & (x[1:] > x[:-1])
    gain = np.where(step & (left_n >= min_leaf) & (right_n >= min_leaf), gain, -np.inf)
    # Each leaf's best split on a column is its run's last largest gain (where a stable
    # sort by gain would rank it); of the columns, the first with the largest.
    first = starts[present]
    peak = np.maximum.reduceat(gain, first, axis=0)
    at_peak = gain == np.repeat(peak, count[present], axis=0)
    position = np.arange(len(rows))[:, None]
    last = np.maximum.reduceat(np.where(at_peak, position, -1), first, axis=0)
    columns = np.arange(x.shape[1])
    for leaf, at in zip(present.tolist(), last):
        gains = gain[at, columns]
        j = int(np.argmax(gains))
        if gains[j] > 0:
            cut = float((x[at[j], j] + x[at[j] + 1, j]) / 2)
            best[int(leaf)] = (float(gains[j]), j, cut)
    return best


def _joint_fits(
    T: np.ndarray,
    y: np.ndarray,
    basis: TermBasis,
    terms: list[int],
    grown: GrownTree | None,
    most: int,
    scored: bool,
) -> list[LinearLeaves]:
    """For 1..``most`` leaves of ``grown``, the leaf values and shared weights fit together.

    Sums per leaf of the largest tree (count, x, x x', y, x y) add up to those of any
    smaller tree it grew through, so each size costs a small solve, not a pass over rows."""
    X = basis.values[:, terms]
    # Sums of the terms less their means: a feature far from zero (epoch seconds) lost its
    # spread to rounding in sums of squares; the leaves' centres take the means back.
    shift = X.mean(axis=0)
    X = X - shift
    columns = tuple(basis.columns[k] for k in terms)
    cuts = tuple(basis.cuts[k] for k in terms)
    largest = grown.n_leaves(most) if grown is not None else 1
    reached = grown.apply(T, largest) if grown is not None else np.zeros(len(T), np.int64)
    nodes, at = np.unique(reached, return_inverse=True)
    count = np.bincount(at).astype(float)
    sum_x = np.stack([np.bincount(at, X[:, k], len(nodes)) for k in range(len(columns))], 1)
    sum_y = np.bincount(at, y, len(nodes))
    sum_xx = np.zeros((len(nodes), len(columns), len(columns)))
    sum_xy = np.zeros((len(nodes), len(columns)))
    for g in range(len(nodes)):
        hit = at == g
        sum_xx[g] = X[hit].T @ X[hit]
        sum_xy[g] = X[hit].T @ y[hit]
    total_xx = sum_xx.sum(axis=0)
    spread_y = float(np.sqrt(((y - y.mean()) ** 2).sum()))
    models = []
    for leaves in range(1, largest + 1):
        # Each leaf of the largest tree belongs to one leaf of this size.
        owner = (
            grown.ancestor_leaves(nodes, leaves)
            if grown is not None and leaves > 1
            else np.zeros(len(nodes), np.int64)
        )
        groups, into = np.unique(owner, return_inverse=True)
        n = np.bincount(into, count)
        s_x = np.stack(
            [np.bincount(into, sum_x[:, k], len(groups)) for k in range(len(columns))], 1
        )
        s_y = np.bincount(into, sum_y, len(groups))
        gram = sum_xx.sum(axis=0) - np.einsum("g,gj,gk->jk", 1 / n, s_x, s_x)
        moment = sum_xy.sum(axis=0) - (s_x * (s_y / n)[:, None]).sum(axis=0)
        # A term constant within every leaf (a step the tree splits on too), or whose
        # weight comes out 0 (the leaves fit y where it varies), adds nothing the leaf
        # values do not: it would be read in every rule for nothing.
        varies = np.flatnonzero(np.diag(gram) > VARIES * np.diag(total_xx))
        coef = np.linalg.lstsq(gram[np.ix_(varies, varies)], moment[varies], rcond=None)[0]
        matters = np.abs(coef) * np.sqrt(np.diag(gram)[varies]) > VARIES * spread_y
        if not matters.all():
            varies = varies[matters]
            coef = np.linalg.lstsq(gram[np.ix_(varies, varies)], moment[varies], rcond=None)[0]
        if len(varies) == 0:
            continue  # a plain tree: another family
        kept_columns = tuple(columns[k] for k in varies)
        kept_cuts = tuple(cuts[k] for k in varies)
        fits = {
            int(node): Leaf(
                float(s_y[g] / n[g]),
                kept_columns,
                coef,
                s_x[g, varies] / n[g] + shift[varies],
                kept_cuts,
            )
            for g, node in enumerate(groups)
        }
        tree = grown if leaves > 1 else None
        models.append(LinearLeaves(tree, leaves, fits, shared=True, scored=scored))
    return models
