"""Trees with linear leaves (regression): each leaf's prediction is its average plus a few
linear terms of its own ("+0.8 per 1000 of income").

A split is where one linear fit stops fitting (not where the mean changes, as a plain tree
splits), and terms are added one at a time where they cut the error most, in the order of
each leaf's lasso path. Smooth models read far better this way than as steps.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import lars_path

from ..jobs import yield_to_live
from .rule_models import GrownTree, Leaf, LinearLeaves, remap, subtree_totals

MAX_LINEAR_LEAVES = 4  # trees with linear leaves (regression) have 1..4 leaves
MAX_TERMS = 16  # linear terms per leaf
SPLIT_TERMS = 10  # features whose linear fit a split of a linear tree is judged by
SPLIT_ROWS = 8000  # rows that judge a split of a linear tree


def leaf_path(X: np.ndarray, y: np.ndarray) -> tuple[list[Leaf], list[float]]:
    """A leaf's linear models with 0..MAX_TERMS terms (columns of X), and their squared error.

    Terms enter in the order of the lasso path on standardised columns (so a feature's
    unit does not decide), and each size is refit by least squares on its terms.
    """
    center, mean = X.mean(axis=0), float(y.mean())
    Xc, yc = X - center, y - mean
    order: list[int] = []
    scale = Xc.std(axis=0)
    usable = np.flatnonzero(scale > 0)
    if len(y) > 2 and np.ptp(y) > 0 and len(usable):
        _, active, _ = lars_path(
            Xc[:, usable] / scale[usable], yc, method="lasso", max_iter=2 * MAX_TERMS
        )
        order = [int(usable[a]) for a in dict.fromkeys(active)][:MAX_TERMS]
    # Every size solves the normal equations of its terms: one Gram matrix serves them all.
    gram = Xc[:, order].T @ Xc[:, order]
    moment = Xc[:, order].T @ yc
    total = float(yc @ yc)
    fits, errors = [], []
    for m in range(len(order) + 1):
        chosen = order[:m]
        coef = np.linalg.lstsq(gram[:m, :m], moment[:m], rcond=None)[0] if m else np.zeros(0)
        fits.append(Leaf(mean, tuple(chosen), coef, center[chosen]))
        errors.append(max(0.0, total - float(coef @ moment[:m])))
    return fits, errors


def linear_leaf_models(
    T: np.ndarray, y: np.ndarray, numeric: list[int], max_rules: int
) -> list[LinearLeaves]:
    """Trees with 1..MAX_LINEAR_LEAVES linear leaves and every number of terms up to
    ``max_rules`` rules in all.

    Terms are added one at a time where they cut the squared error most, whichever leaf
    that is: a leaf where the model is flat keeps its constant.
    """
    paths = {0: leaf_path(T[:, numeric], y)}  # per node, shared by the sizes
    # Splits judge linear fits on the features the root's lasso path picks first.
    regressors = [numeric[c] for c in paths[0][0][-1].columns[:SPLIT_TERMS]]
    grown = linear_tree(T, y, regressors, MAX_LINEAR_LEAVES, min_leaf=max(20, len(T) // 20))
    models = []
    for leaves in range(1, (grown.n_leaves(MAX_LINEAR_LEAVES) if grown else 1) + 1):
        ids = grown.apply(T, leaves) if grown and leaves > 1 else np.zeros(len(T), np.int64)
        nodes = [int(node) for node in np.unique(ids)]
        for node in nodes:
            if node not in paths:
                hit = ids == node
                paths[node] = leaf_path(T[hit][:, numeric], y[hit])
        terms = dict.fromkeys(nodes, 0)
        while leaves + sum(terms.values()) < max_rules:
            gains = {
                node: paths[node][1][m] - paths[node][1][m + 1]
                for node, m in terms.items()
                if m + 1 < len(paths[node][1])
            }
            if not gains:
                break
            terms[max(gains, key=lambda node: gains[node])] += 1
            fits = {node: remap(paths[node][0][m], numeric) for node, m in terms.items()}
            models.append(LinearLeaves(grown if leaves > 1 else None, leaves, fits))
    return models


def linear_tree(
    T: np.ndarray, y: np.ndarray, regressors: list[int], max_leaves: int, min_leaf: int
) -> GrownTree | None:
    """A best-first tree whose splits are where one linear model stops fitting.

    Each split is the one that most cuts the squared error of least-squares fits (on
    ``regressors``) on its two sides, over ~10 quantile thresholds per feature: a split on
    the mean, as a plain tree makes, is rarely where a curve bends.
    """
    design = np.column_stack([np.ones(len(T)), T[:, regressors]])
    rows = {0: np.arange(len(T))}
    children_left, children_right, feature, threshold = [-1], [-1], [-2], [-2.0]
    best = {0: best_linear_split(T, design, y, rows[0], min_leaf)}
    while len(rows) < max_leaves:
        found = {node: split for node, split in best.items() if split is not None}
        if not found:
            break
        node = max(found, key=lambda n: found[n][0])
        _, j, cut = found.pop(node)
        del best[node]
        feature[node], threshold[node] = j, cut
        idx = rows.pop(node)
        for side, hit in ((children_left, T[idx, j] <= cut), (children_right, T[idx, j] > cut)):
            child = len(feature)
            side[node] = child
            children_left.append(-1)
            children_right.append(-1)
            feature.append(-2)
            threshold.append(-2.0)
            rows[child] = idx[hit]
            best[child] = best_linear_split(T, design, y, rows[child], min_leaf)
    if len(feature) == 1:
        return None
    samples = np.zeros(len(feature), dtype=np.int64)
    for node, idx in rows.items():  # leaves; an inner node holds its children's samples
        samples[node] = len(idx)
    samples = subtree_totals(children_left, children_right, samples)
    return GrownTree((children_left, children_right), feature, threshold, samples)


def best_linear_split(
    T: np.ndarray, design: np.ndarray, y: np.ndarray, idx: np.ndarray, min_leaf: int
) -> tuple[float, int, float] | None:
    """(error cut, feature, threshold) of the best split of rows ``idx``, or None."""
    if len(idx) < 2 * min_leaf:
        return None
    if len(idx) > SPLIT_ROWS:  # an even subsample judges the thresholds just as well
        min_leaf = int(min_leaf * SPLIT_ROWS / len(idx))
        idx = idx[np.linspace(0, len(idx) - 1, SPLIT_ROWS).astype(int)]
    A, target = design[idx], y[idx]
    whole = _sse(A.T @ A, A.T @ target, target @ target)
    best = None
    for j in range(T.shape[1]):
        yield_to_live()
        order = np.argsort(T[idx, j], kind="stable")
        x, A_j, t_j = T[idx[order], j], A[order], target[order]
        cuts = np.unique(np.quantile(x, np.linspace(0.1, 0.9, 9)))
        ends = np.searchsorted(x, cuts, side="right")  # rows up to ends[k] have x <= cuts[k]
        # Running sums over the sorted rows: each threshold's two sides cost one solve.
        starts = np.concatenate([[0], ends[:-1]])
        gram = np.cumsum([A_j[a:b].T @ A_j[a:b] for a, b in zip(starts, ends)], axis=0)
        moment = np.cumsum([A_j[a:b].T @ t_j[a:b] for a, b in zip(starts, ends)], axis=0)
        square = np.cumsum([t_j[a:b] @ t_j[a:b] for a, b in zip(starts, ends)])
        total = (A.T @ A, A.T @ target, target @ target)
        for k, cut in enumerate(cuts):
            if ends[k] < min_leaf or len(idx) - ends[k] < min_leaf:
                continue
            left = _sse(gram[k], moment[k], square[k])
            right = _sse(total[0] - gram[k], total[1] - moment[k], total[2] - square[k])
            gain = whole - left - right
            if gain > 0 and (best is None or gain > best[0]):
                best = (float(gain), j, float(cut))
    return best


def _sse(gram: np.ndarray, moment: np.ndarray, square: float) -> float:
    """Squared error of the least-squares fit with these sums (a tiny ridge keeps it solvable)."""
    coef = np.linalg.solve(gram + 1e-9 * np.trace(gram) * np.eye(len(gram)), moment)
    return float(square - coef @ moment)
