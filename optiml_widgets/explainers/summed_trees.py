"""Sums of small trees (regression): FIGS (Tan et al., "Fast Interpretable Greedy-Tree
Sums", 2022), read as rules and shared terms.

A plain tree must repeat an effect under every other split; a sum of trees carries each
effect in a small tree of its own, and a row's value is the sum of its leaf in every tree.
Shown here, the first tree's leaves are the rules (every row is covered by exactly one);
each other tree is a few terms shared by every rule, one per leaf but its most common
one (whose value the rules take in): "+0.3 if lpi > 4.2 and disea <= 10". A person reads
each leaf and term once, so a sum with k splits reads k + 1 rules, as a tree of k splits
does.

The fit is FIGS's: from no tree, each step makes whichever split cuts the squared error
most, of a leaf of any tree (on what the other trees leave unexplained) or the root of a
new tree; then the leaf values are backfitted on the new residuals until they settle.
Splits are searched on binned columns: each column's cuts lie between the real rows'
values at its quantiles, rounded as a tree's threshold is, and every side of every split
keeps real rows (no rule or term is read for samples drawn between the rows). The sizes
are the prefixes of one path, each with the values it had.

imodels ships FIGS; it is not used here because it refits one scikit-learn stump per leaf
of every tree at every step, and the surrogate fits each family once per cross-validation
fold: this path gives every size from one path of splits (bench/surrogate.py compares the
two). A binary classifier's score does not get this family: a tree with shared terms
already reads such effects, and this one adds no fidelity there.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..jobs import yield_to_live
from .rule_models import SUMMED_TREES, GrownTree, Leaf, LinearLeaves, joint_step, round_between

GROW_ROWS = 6000  # an even sample of this many places the splits
MAX_CUTS = 255  # cuts per column, between the real rows' values at as many quantiles
MIN_LEAF_SHARE = 200  # a leaf holds 1/200 of the samples at least
BACKFIT_SWEEPS = 20  # at most, per step
MAX_TREES = 8  # trees in a sum (a person reads each extra tree as terms)

Step = tuple[int, float, bool]  # (column, cut, above): T[:, column] > cut if above else <= cut


class _Node(NamedTuple):
    tree: int
    rows: np.ndarray  # positions in the growing sample


class _Split(NamedTuple):
    gain: float
    column: int
    cut_at: int  # the rows with bin <= cut_at go left


def summed_tree_models(
    T: np.ndarray,
    y: np.ndarray,
    numeric: list[int],
    max_rules: int,
    random_state: int,
    is_real: np.ndarray,
) -> list[LinearLeaves]:
    """The sums of trees of 3..``max_rules`` rules that have at least two trees (one tree
    is a plain tree, another family). The first tree may split any column; the others,
    read as terms, split ``numeric`` ones."""
    if not numeric or max_rules < 3 or len(y) < 8 or np.ptp(y) == 0 or not is_real.any():
        return []
    grow = np.arange(len(y))
    if len(y) > GROW_ROWS:
        rng = np.random.default_rng(random_state)
        grow = np.sort(rng.choice(len(y), GROW_ROWS, replace=False))
    cuts = [_column_cuts(T[is_real, j]) for j in range(T.shape[1])]
    bins = np.column_stack(
        [np.searchsorted(c, T[grow, j], side="left") for j, c in enumerate(cuts)]
    ).astype(np.int64)
    path, values = _grow(
        bins, y[grow].astype(float), is_real[grow], cuts, set(numeric), max_rules - 1
    )
    return _fits(T, path, values, max_rules)


def _column_cuts(real: np.ndarray) -> np.ndarray:
    """Thresholds of one column: between consecutive real values at MAX_CUTS quantiles,
    each the roundest number between them (every real row on its side)."""
    values = np.unique(real[np.isfinite(real)])
    if len(values) < 2:
        return np.zeros(0)
    levels = np.unique(np.quantile(values, np.linspace(0, 1, MAX_CUTS + 1)[:-1], method="lower"))
    above = values[np.minimum(np.searchsorted(values, levels, side="right"), len(values) - 1)]
    keep = above > levels
    return np.unique(
        [round_between(float(a), float(b), (a + b) / 2) for a, b in zip(levels[keep], above[keep])]
    )


def _grow(
    bins: np.ndarray,
    y: np.ndarray,
    real: np.ndarray,
    cuts: list[np.ndarray],
    numeric: set[int],
    splits: int,
) -> tuple[list[tuple[int, int, Step]], list[np.ndarray]]:
    """FIGS's greedy path: per step (tree, leaf id, split), and after it every leaf's
    value (by leaf id: ids count the leaves made, 0 the first tree's root's left child)."""
    n, p = bins.shape
    width = max(len(c) for c in cuts) + 1
    offsets = np.arange(p) * width
    flat = bins + offsets
    min_leaf = max(3, n // MIN_LEAF_SHARE)
    settled = 1e-6 * (float(np.std(y)) or 1.0)
    leaves: dict[int, _Node] = {}  # leaf id -> node
    value = np.zeros(0)  # per leaf id, its value
    trees: list[list[int]] = []  # per tree, its leaves' ids
    made: list[tuple[int, int, Step]] = []
    snapshots: list[np.ndarray] = []
    prediction = np.zeros((0, n))  # per tree
    new_root = _Node(-1, np.arange(n))

    size = p * width
    # Per node (by leaf id; -1, -2: a new tree's root), what its splits allow whatever the
    # residual: the bins its rows fall in, and where each side keeps enough samples and a
    # real row.
    shapes: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    def best(key: int, node: _Node, residual: np.ndarray) -> _Split | None:
        rows = node.rows
        if len(rows) < 2 * min_leaf:
            return None
        if key not in shapes:
            at = flat[rows].ravel()
            count = np.bincount(at, None, size).reshape(p, width).cumsum(1)
            reals = np.bincount(at, np.repeat(real[rows], p).astype(float), size)
            reals = reals.reshape(p, width).cumsum(1)
            c, k = count[:, -1:], reals[:, -1:]
            ok = (count >= min_leaf) & (c - count >= min_leaf) & (reals >= 1) & (k - reals >= 1)
            # The first tree's splits are rules, of any column; the others' are terms.
            if not (node.tree == 0 or not trees):
                ok[[j for j in range(p) if j not in numeric]] = False
            shapes[key] = (at, count, ok)
        at, count, ok = shapes[key]
        total = np.bincount(at, np.repeat(residual[rows], p), size).reshape(p, width).cumsum(1)
        s, c = total[:, -1:], count[:, -1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = total**2 / count + (s - total) ** 2 / (c - count) - s**2 / c
        gain = np.where(ok, gain, -np.inf)
        j, at_cut = np.unravel_index(int(np.argmax(gain)), gain.shape)
        if not np.isfinite(gain[j, at_cut]) or gain[j, at_cut] <= 1e-12 * max(1.0, float(c[0, 0])):
            return None
        return _Split(float(gain[j, at_cut]), int(j), int(at_cut))

    for _ in range(splits):
        yield_to_live()
        fitted = prediction.sum(0) if len(trees) else np.zeros(n)
        candidates: list[tuple[_Split, int]] = []
        for leaf_id, node in leaves.items():
            found = best(leaf_id, node, y - fitted + prediction[node.tree])
            if found is not None:
                candidates.append((found, leaf_id))
        if len(trees) < MAX_TREES:
            # Keyed apart before the first tree: that root may split any column.
            found = best(-1 if trees else -2, new_root, y - fitted)
            if found is not None:
                candidates.append((found, -1))
        if not candidates:
            break
        split, leaf_id = max(candidates, key=lambda c: c[0].gain)
        if leaf_id == -1:
            tree = len(trees)
            node = _Node(tree, new_root.rows)
            trees.append([])
            prediction = np.vstack([prediction, np.zeros(n)])
        else:
            node = leaves.pop(leaf_id)
            tree = node.tree
            trees[tree].remove(leaf_id)
        cut = float(cuts[split.column][split.cut_at])
        left = bins[node.rows, split.column] <= split.cut_at
        for rows in (node.rows[left], node.rows[~left]):  # ids as _fits numbers them
            child = len(value)
            value = np.append(value, 0.0)
            leaves[child] = _Node(tree, rows)
            trees[tree].append(child)
        made.append((tree, leaf_id, (split.column, cut, False)))
        # Backfitting: each tree's leaves take the mean of what the others leave, until
        # the values settle (FIGS keeps each value as made: on randhie 0.005 R² less at 16
        # and 24 rules than one sweep per step).
        for _sweep in range(BACKFIT_SWEEPS):
            moved = 0.0
            for t, ids in enumerate(trees):
                others = prediction.sum(0) - prediction[t]
                for leaf in ids:
                    rows = leaves[leaf].rows
                    new = float(np.mean(y[rows] - others[rows]))
                    moved = max(moved, abs(new - value[leaf]))
                    value[leaf] = new
                    prediction[t, rows] = new
            if len(trees) == 1 or moved <= settled:
                break
        snapshots.append(value.copy())
    return made, snapshots


def _fits(
    T: np.ndarray,
    made: list[tuple[int, int, Step]],
    values: list[np.ndarray],
    max_rules: int,
) -> list[LinearLeaves]:
    """Per prefix of the path with two trees or more, the model it had: the first tree as
    one GrownTree (its nodes numbered as made, so each prefix is one of its sizes), each
    other tree's leaves but its most common as terms weighing their value less that one's,
    which the rules take in. (Refitting all values together by least squares instead made
    near-duplicate terms of two trees weigh +-large amounts: cross-validated R² jumped by
    0.06 between neighbouring sizes.)"""
    children_left: list[int] = [-1]
    children_right: list[int] = [-1]
    feature: list[int] = [-2]
    threshold: list[float] = [-2.0]
    first_node: dict[int, int] = {}  # a first-tree leaf id of the path -> its node
    path_of: dict[int, tuple[Step, ...]] = {}  # leaf id -> its conditions
    trees_leaves: list[list[int]] = []
    # Per prefix: the first tree's leaves' values (by node), its terms and their weights.
    prefixes: list[tuple[dict[int, float], list[tuple[Step, ...]], list[float]]] = []
    counts: dict[int, int] = {}  # samples per leaf id
    made_leaves = 0
    for step, (tree, leaf_id, (column, cut, _)) in enumerate(made):
        if tree == len(trees_leaves):  # a new tree's root
            trees_leaves.append([])
            parent: tuple[Step, ...] = ()
            node = 0
        else:
            parent = path_of.pop(leaf_id)
            trees_leaves[tree].remove(leaf_id)
            node = first_node.pop(leaf_id, -1)
        for above in (False, True):
            path_of[made_leaves] = (*parent, (column, cut, above))
            trees_leaves[tree].append(made_leaves)
            if tree == 0:
                first_node[made_leaves] = len(feature)
                children_left.append(-1)
                children_right.append(-1)
                feature.append(-2)
                threshold.append(-2.0)
            made_leaves += 1
        if tree == 0:
            children_left[node], children_right[node] = len(feature) - 2, len(feature) - 1
            feature[node], threshold[node] = column, cut
        if len(trees_leaves) >= 2 and step + 2 <= max_rules:
            value = values[step]
            taken_in = 0.0  # the other trees' most common leaves' values
            terms: list[tuple[Step, ...]] = []
            weights: list[float] = []
            for leaves in trees_leaves[1:]:
                common = _most_common(T, leaves, path_of, counts)
                taken_in += value[common]
                for leaf in leaves:
                    if leaf != common:
                        terms.append(path_of[leaf])
                        weights.append(float(value[leaf] - value[common]))
            rules = {first_node[leaf]: float(value[leaf]) + taken_in for leaf in trees_leaves[0]}
            prefixes.append((rules, terms, weights))
    grown = GrownTree(
        (np.array(children_left), np.array(children_right)),
        np.array(feature),
        np.array(threshold, dtype=float),
        None,
    )
    inputs: dict[tuple[Step, ...], np.ndarray] = {}  # each term's 0/1 column, made once

    def term_input(steps: tuple[Step, ...]) -> np.ndarray:
        if steps not in inputs:
            inputs[steps] = joint_step(T, steps)
        return inputs[steps]

    return [
        _model(T, grown, rules, terms, weights, [term_input(t) for t in terms])
        for rules, terms, weights in prefixes
    ]


def _most_common(
    T: np.ndarray,
    leaves: list[int],
    path_of: dict[int, tuple[Step, ...]],
    counts: dict[int, int],
) -> int:
    """The leaf of a tree most samples reach (``counts`` keeps each leaf's count)."""
    for leaf in leaves:
        if leaf not in counts:
            counts[leaf] = int(joint_step(T, path_of[leaf]).sum())
    return max(leaves, key=lambda leaf: counts[leaf])


def _model(
    T: np.ndarray,
    grown: GrownTree,
    rules: dict[int, float],
    terms: list[tuple[Step, ...]],
    weights: list[float],
    term_columns: list[np.ndarray],
) -> LinearLeaves:
    """The sum as rules (``rules``: value per node of ``grown``, a row below every term's
    conditions) and shared terms; each rule's mean and centre over the samples it covers."""
    leaves = len(rules)
    reached = grown.apply(T, leaves)
    X = np.column_stack(term_columns)
    coef = np.array(weights)
    columns = tuple(steps[0][0] for steps in terms)
    joint = tuple(terms)
    fits = {}
    for node, offset in rules.items():
        hit = reached == node
        center = X[hit].mean(axis=0) if hit.any() else np.zeros(len(terms))
        fits[node] = Leaf(offset + float(center @ coef), columns, coef, center, (), joint)
    return LinearLeaves(grown, leaves, fits, shared=True, family=SUMMED_TREES)
