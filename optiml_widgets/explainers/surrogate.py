"""A global surrogate: readable rules that mimic the model, with held-out fidelity.

Every row is covered by exactly one rule. The rules are fit to the model's OWN outputs
(its predicted class, or its predicted value) over X plus samples drawn near X, so they
also hold between the rows. Two families:

- a decision tree: each leaf is a rule "IF conditions THEN class/prediction = c";
- for regressors, a tree with linear leaves (1 to 4 of them): each leaf's prediction is its
  average plus a few linear terms ("+0.8 per 1000 of income"). Its splits are where one
  linear fit stops fitting (not where the mean changes, as a plain tree splits), and terms
  are added one at a time where they cut the error most, in the order of each leaf's lasso
  path. Smooth models (forests on a linear signal, for instance) read far better this way
  than as steps.

For classifiers a tree on the model's probabilities, and linear leaves on the probability
or its logit, were tried too: over breast cancer, wine, iris and the test pipelines they
chose as many rules for the same held-out accuracy (and did worse on the issue's W1), so
the tree on the model's classes is the one family there.

What a person must read is the number of rules: leaves plus linear terms (as RuleFit
counts its linear terms). The family and size are picked by cross-validation over the real
rows: the fewest rules whose fidelity is within one point of the best one tried (at most
32). Fidelity (accuracy, or R² for regression) is then measured on held-out real rows (30%
of X) that neither the fit nor the choice saw; ``curve`` holds it for every family and size
tried, with how well the rules also hold on samples drawn near those rows.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.linear_model import lars_path
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import KFold, train_test_split
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from ..data import Feature, FeatureSchema
from ..format import format_number
from ..model import ModelAdapter

MAX_RULES = 32
RULE_SIZES = (2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32)
TOLERANCE = 0.01  # "within one point" of the best validation fidelity
MAX_LINEAR_LEAVES = 4  # trees with linear leaves (regression) have 1..4 leaves
MAX_TERMS = 16  # linear terms per leaf
SPLIT_TERMS = 10  # features whose linear fit a split of a linear tree is judged by
SPLIT_ROWS = 8000  # rows that judge a split of a linear tree
TREE = "decision tree"
LINEAR_TREE = "tree with linear leaves"
MAX_REAL_ROWS = 20_000
NEAR_PER_ROW = 4  # samples drawn near each training row: rules must hold between rows
MAX_NEAR = 40_000
TEST_SHARE = 0.3


class Condition(NamedTuple):
    """One test of a rule, in original units: ``(feature, op, value)``."""

    feature: str
    op: str
    value: Any

    def holds(self, value: Any) -> bool:
        """Whether a feature value meets this condition."""
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return False
        if self.op == "<=":
            return float(value) <= self.value
        if self.op == ">":
            return float(value) > self.value
        if self.op == "==":
            return _eq(value, self.value)
        if self.op == "!=":
            return not _eq(value, self.value)
        return any(_eq(value, v) for v in self.value)

    @property
    def text(self) -> str:
        """The condition as people read it: ``income > 52000``, ``city in {Paris, Lyon}``."""
        if self.op == "in":
            return f"{self.feature} in {{{', '.join(str(v) for v in self.value)}}}"
        value = format_number(self.value) if _is_number(self.value) else str(self.value)
        return f"{self.feature} {self.op} {value}"


class LinearTerm(NamedTuple):
    """``weight`` per ``per`` units of ``feature``, counted from ``center`` (the leaf's mean).

    A missing value counts as ``fill`` (the value the surrogate fills it with).
    """

    feature: str
    weight: float
    per: float
    center: float
    fill: float = float("nan")

    @property
    def text(self) -> str:
        """``+0.8 per 1000 of income``."""
        sign = "+" if self.weight >= 0 else "\u2212"
        # Three digits: the weight's size is what is read; the payload keeps every digit.
        weight = format_number(abs(self.weight), digits=3)
        return f"{sign}{weight} per {format_number(self.per)} of {self.feature}"

    def effect(self, value: Any) -> float:
        """What this term adds for a feature value."""
        if value is None or (isinstance(value, float) and np.isnan(value)):
            value = self.fill if np.isfinite(self.fill) else self.center
        return self.weight * (float(value) - self.center) / self.per


@dataclass(frozen=True)
class Rule:
    """IF all ``conditions`` hold THEN the surrogate predicts ``prediction``.

    With linear ``terms`` (regression), ``prediction`` is the value at the leaf's average
    row, and a row gets ``prediction + sum(term.effect(row[term.feature]))``.
    """

    id: int
    conditions: list[Condition]
    prediction: Any
    coverage: float
    samples: int
    outcome: str = "prediction"  # "class" for classifiers: reads "THEN class = benign"
    terms: tuple[LinearTerm, ...] = ()

    def predict(self, row: Mapping[str, Any] | pd.Series) -> Any:
        """The rule's prediction for a row it covers (its terms applied)."""
        if not self.terms:
            return self.prediction
        return float(self.prediction) + sum(t.effect(row[t.feature]) for t in self.terms)

    def covers(self, row: Mapping[str, Any] | pd.Series) -> bool:
        """Whether a row (dict or Series of feature values) meets every condition."""
        return all(c.holds(row[c.feature]) for c in self.conditions)

    def met(self, row: Mapping[str, Any] | pd.Series) -> list[bool]:
        """Per condition, whether the row meets it."""
        return [c.holds(row[c.feature]) for c in self.conditions]

    def text(self) -> str:
        """``IF a > 1 AND b in {x, y} THEN prediction = 3.2``."""
        when = " AND ".join(c.text for c in self.conditions) or "always"
        then = (
            format_number(self.prediction) if _is_number(self.prediction) else str(self.prediction)
        )
        if self.terms:
            then += " at the rule's average row, " + " ".join(t.text for t in self.terms)
        return f"IF {when} THEN {self.outcome} = {then}"


@dataclass
class SurrogateData:
    """Training samples (rows near X, labelled by the model) and held-out real rows."""

    train_X: np.ndarray
    train_y: np.ndarray  # the model's class position, or its value
    test_X: np.ndarray  # held-out real rows, then samples drawn near them
    test_y: np.ndarray
    # Per training sample: the real row it is (or was drawn near), and whether it is real.
    train_source: np.ndarray
    train_is_real: np.ndarray
    test_is_real: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


@dataclass
class Surrogate:
    """The fitted global surrogate: rules, held-out fidelity, and the size trade-off."""

    rules: list[Rule]
    fidelity: float
    metric: str
    family: str
    curve: list[dict[str, Any]]
    schema: FeatureSchema = field(repr=False)
    model: _RuleModel = field(repr=False)
    encoder: _TreeEncoder = field(repr=False)
    leaf_rules: dict[int, Rule] = field(repr=False)
    classes: list[Any] | None = field(default=None, repr=False)

    @property
    def complexity(self) -> int:
        """The number of rules a person has to read: rules plus their linear terms."""
        return sum(1 + len(rule.terms) for rule in self.rules)

    def rule_for(self, row: Mapping[str, Any] | pd.Series) -> Rule:
        """The rule that covers a row (a dict or Series of original feature values)."""
        frame = self.schema.row_frame({name: row[name] for name in self.schema.names})
        return self.rules_for_encoded(self.schema.encode(frame))[0]

    def rules_for_encoded(self, encoded: np.ndarray) -> list[Rule]:
        """The covering rule of each encoded row."""
        leaves = self.model.apply(self.encoder.transform(np.atleast_2d(encoded)))
        return [self.leaf_rules[int(leaf)] for leaf in leaves]

    def predict_encoded(self, encoded: np.ndarray) -> np.ndarray:
        """The surrogate's output for encoded rows: class positions, or values."""
        return self.model.predict(self.encoder.transform(np.atleast_2d(encoded)))

    @property
    def chosen(self) -> dict[str, Any]:
        """The point of ``curve`` that was chosen."""
        return next(point for point in self.curve if point["chosen"])

    def text(self) -> str:
        """All rules as IF … THEN … lines, with coverage."""
        return "\n".join(f"{rule.text()}  [coverage {rule.coverage:.0%}]" for rule in self.rules)

    def thresholds(self) -> dict[str, list[float]]:
        """Numeric thresholds per feature (where a rule would change)."""
        found: dict[str, set[float]] = {}
        for rule in self.rules:
            for c in rule.conditions:
                if c.op in ("<=", ">") and _is_number(c.value):
                    found.setdefault(c.feature, set()).add(float(c.value))
        return {name: sorted(values) for name, values in found.items()}

    def to_payload(self) -> dict[str, Any]:
        """JSON for the frontend (js/src/types.ts SurrogateInfo).

        ``rules[].prediction`` is the rule's class, or its value; with ``terms``
        (``{feature, weight, per, center, fill, text}``) that value is at the rule's average
        row, and a row x the rule covers gets::

            prediction + sum(weight * (x[feature] - center) / per for each term)

        with ``fill`` for a missing ``x[feature]``.

        ``curve`` has one point per family and number of rules: ``{family, rules, fidelity
        (held-out real rows), between (samples near them), validation (cross-validated),
        chosen}``; ``chosen`` is the point of these rules.
        """
        return {
            "rules": [
                {
                    "id": rule.id,
                    "conditions": [
                        {
                            "feature": c.feature,
                            "op": c.op,
                            "value": _json_value(c.value),
                            "text": c.text,
                        }
                        for c in rule.conditions
                    ],
                    "prediction": _json_value(rule.prediction),
                    "terms": [
                        {
                            "feature": t.feature,
                            "weight": t.weight,
                            "per": t.per,
                            "center": t.center,
                            "fill": t.fill if np.isfinite(t.fill) else t.center,
                            "text": t.text,
                        }
                        for t in rule.terms
                    ],
                    "coverage": rule.coverage,
                    "samples": rule.samples,
                    "text": rule.text(),
                }
                for rule in self.rules
            ],
            "fidelity": self.fidelity,
            "metric": self.metric,
            "complexity": self.complexity,
            "thresholds": self.thresholds(),
            "family": self.family,
            "curve": self.curve,
            "chosen": self.chosen,
        }


class _RuleModel:
    """A fitted surrogate: the leaf (rule) that covers each row, and what it predicts."""

    family: str
    complexity: int

    def apply(self, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _GrownTree:
    """A best-first tree and, for any smaller number of leaves, the tree it grew through.

    Nodes are numbered as they are made, and a best-first tree makes the children of its
    k-th split before those of the next: the tree with k leaves is its first k - 1 splits.
    Every size comes from one fit, ~10x cheaper than fitting each size. scikit-learn grows
    ``max_leaf_nodes`` trees this way; ``_linear_tree`` grows its own.
    """

    def __init__(
        self,
        children: tuple[np.ndarray, np.ndarray],
        feature: np.ndarray,
        threshold: np.ndarray,
        samples: np.ndarray,
        node_output: np.ndarray | None = None,
        float32: bool = False,
    ) -> None:
        self.children_left, self.children_right = (np.asarray(c) for c in children)
        self.feature, self.threshold = np.asarray(feature), np.asarray(threshold)
        self.samples = np.asarray(samples)  # training samples reaching each node
        self.node_output = node_output
        self.float32 = float32  # scikit-learn compares float32 values with its thresholds
        internal = np.flatnonzero(self.children_left != -1)
        self.rank = np.full(len(self.feature), np.iinfo(np.int64).max)
        self.rank[internal[np.argsort(self.children_left[internal])]] = np.arange(len(internal))

    @classmethod
    def of(
        cls, tree: DecisionTreeClassifier | DecisionTreeRegressor, node_output: np.ndarray
    ) -> _GrownTree:
        t = tree.tree_
        children = (t.children_left, t.children_right)
        return cls(children, t.feature, t.threshold, t.n_node_samples, node_output, True)

    def n_leaves(self, leaves: int) -> int:
        return min(leaves, int(np.sum(self.children_left == -1)))

    def is_leaf(self, node: int, leaves: int) -> bool:
        """Whether ``node`` is a leaf of the tree with ``leaves`` leaves."""
        return self.children_left[node] == -1 or self.rank[node] >= leaves - 1

    def apply(self, T: np.ndarray, leaves: int) -> np.ndarray:
        """The leaf of the ``leaves``-leaf tree that each row reaches."""
        values = T.astype(np.float32) if self.float32 else T
        node = np.zeros(len(T), dtype=np.int64)
        rows = np.arange(len(T))
        while len(rows):
            at = node[rows]
            split = (self.children_left[at] != -1) & (self.rank[at] < leaves - 1)
            rows, at = rows[split], at[split]
            left = values[rows, self.feature[at]] <= self.threshold[at]
            node[rows] = np.where(left, self.children_left[at], self.children_right[at])
        return node


class _ConstantLeaves(_RuleModel):
    """A tree whose leaves each predict one class or value."""

    def __init__(self, grown: _GrownTree, leaves: int, family: str) -> None:
        self.grown, self.leaves, self.family = grown, leaves, family
        self.complexity = grown.n_leaves(leaves)

    def apply(self, T: np.ndarray) -> np.ndarray:
        return self.grown.apply(T, self.leaves)

    def predict(self, T: np.ndarray) -> np.ndarray:
        return self.grown.node_output[self.apply(T)]


@dataclass(frozen=True)
class _Leaf:
    """A leaf's linear model: ``mean + (T[:, columns] - center) @ coef``."""

    mean: float
    columns: tuple[int, ...] = ()
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    center: np.ndarray = field(default_factory=lambda: np.zeros(0))


class _LinearLeaves(_RuleModel):
    family = LINEAR_TREE

    def __init__(self, grown: _GrownTree | None, leaves: int, fits: dict[int, _Leaf]) -> None:
        self.grown, self.leaves, self.fits = grown, leaves, fits
        self.complexity = len(fits) + sum(len(leaf.columns) for leaf in fits.values())

    def apply(self, T: np.ndarray) -> np.ndarray:
        if self.grown is None:  # one leaf: a sparse linear model
            return np.zeros(len(T), dtype=np.int64)
        return self.grown.apply(T, self.leaves)

    def predict(self, T: np.ndarray) -> np.ndarray:
        ids = self.apply(T)
        out = np.empty(len(T))
        for node, leaf in self.fits.items():
            hit = ids == node
            out[hit] = leaf.mean + (T[hit][:, list(leaf.columns)] - leaf.center) @ leaf.coef
        return out


def _leaf_path(X: np.ndarray, y: np.ndarray) -> tuple[list[_Leaf], list[float]]:
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
    fits, errors = [], []
    for m in range(len(order) + 1):
        chosen = order[:m]
        coef = np.linalg.lstsq(Xc[:, chosen], yc, rcond=None)[0] if chosen else np.zeros(0)
        fits.append(_Leaf(mean, tuple(chosen), coef, center[chosen]))
        errors.append(float(np.sum((yc - Xc[:, chosen] @ coef) ** 2)))
    return fits, errors


def _linear_leaf_models(
    T: np.ndarray, y: np.ndarray, numeric: list[int], max_rules: int
) -> list[_LinearLeaves]:
    """Trees with 1..MAX_LINEAR_LEAVES linear leaves and every number of terms up to
    ``max_rules`` rules in all.

    Terms are added one at a time where they cut the squared error most, whichever leaf
    that is: a leaf where the model is flat keeps its constant.
    """
    paths = {0: _leaf_path(T[:, numeric], y)}  # per node, shared by the sizes
    # Splits judge linear fits on the features the root's lasso path picks first.
    regressors = [numeric[c] for c in paths[0][0][-1].columns[:SPLIT_TERMS]]
    grown = _linear_tree(T, y, regressors, MAX_LINEAR_LEAVES, min_leaf=max(20, len(T) // 20))
    models = []
    for leaves in range(1, (grown.n_leaves(MAX_LINEAR_LEAVES) if grown else 1) + 1):
        ids = grown.apply(T, leaves) if grown and leaves > 1 else np.zeros(len(T), np.int64)
        nodes = [int(node) for node in np.unique(ids)]
        for node in nodes:
            if node not in paths:
                hit = ids == node
                paths[node] = _leaf_path(T[hit][:, numeric], y[hit])
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
            fits = {node: _remap(paths[node][0][m], numeric) for node, m in terms.items()}
            models.append(_LinearLeaves(grown if leaves > 1 else None, leaves, fits))
    return models


def _linear_tree(
    T: np.ndarray, y: np.ndarray, regressors: list[int], max_leaves: int, min_leaf: int
) -> _GrownTree | None:
    """A best-first tree whose splits are where one linear model stops fitting.

    Each split is the one that most cuts the squared error of least-squares fits (on
    ``regressors``) on its two sides, over ~10 quantile thresholds per feature: a split on
    the mean, as a plain tree makes, is rarely where a curve bends.
    """
    design = np.column_stack([np.ones(len(T)), T[:, regressors]])
    rows = {0: np.arange(len(T))}
    children_left, children_right, feature, threshold = [-1], [-1], [-2], [-2.0]
    best = {0: _best_linear_split(T, design, y, rows[0], min_leaf)}
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
            best[child] = _best_linear_split(T, design, y, rows[child], min_leaf)
    if len(feature) == 1:
        return None
    samples = np.zeros(len(feature), dtype=np.int64)
    for node, idx in rows.items():  # leaves; an inner node holds its children's samples
        samples[node] = len(idx)
    for node in range(len(feature) - 1, -1, -1):
        if children_left[node] != -1:
            samples[node] = samples[children_left[node]] + samples[children_right[node]]
    return _GrownTree((children_left, children_right), feature, threshold, samples)


def _best_linear_split(
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


def _remap(leaf: _Leaf, numeric: list[int]) -> _Leaf:
    """Columns of the numeric block -> columns of the whole matrix."""
    return dataclasses.replace(leaf, columns=tuple(numeric[c] for c in leaf.columns))


def _candidates(
    T: np.ndarray,
    y: np.ndarray,
    classify: bool,
    numeric: list[int],
    random_state: int,
    max_rules: int,
) -> dict[tuple, _RuleModel]:
    """Every family and size tried, keyed by (family, leaves, terms)."""
    sizes = [k for k in RULE_SIZES if k <= max_rules]
    found: dict[tuple, _RuleModel] = {}
    if classify:
        tree = DecisionTreeClassifier(max_leaf_nodes=max(sizes), random_state=random_state)
        tree.fit(T, y)
        grown = _GrownTree.of(tree, tree.classes_[np.argmax(tree.tree_.value[:, 0, :], axis=1)])
    else:
        tree = DecisionTreeRegressor(max_leaf_nodes=max(sizes), random_state=random_state)
        tree.fit(T, y)
        grown = _GrownTree.of(tree, tree.tree_.value[:, 0, 0])
    for k in sizes:
        found[(TREE, k, 0)] = _ConstantLeaves(grown, k, TREE)
    if not classify and numeric:
        for model in _linear_leaf_models(T, y, numeric, max_rules):
            terms = model.complexity - len(model.fits)
            found[(LINEAR_TREE, len(model.fits), terms)] = model
    return found


class _TreeEncoder:
    """Recodes categories by the mean model output, so one split makes a category set."""

    def __init__(self, schema: FeatureSchema, encoded: np.ndarray, target: np.ndarray) -> None:
        self.schema = schema
        self.order: dict[int, np.ndarray] = {}  # feature position -> codes in split order
        self.fill = np.nanmedian(np.where(np.isnan(encoded), np.nan, encoded), axis=0)
        self.fill = np.where(np.isnan(self.fill), 0.0, self.fill)
        for j in schema.discrete_indices:
            n = len(schema.features[j].categories)
            means = np.full(n, np.inf)
            for code in range(n):
                hit = encoded[:, j] == code
                if hit.any():
                    means[code] = target[hit].mean()
            self.order[j] = np.argsort(means, kind="stable")

    def transform(self, encoded: np.ndarray) -> np.ndarray:
        """Encoded rows -> the tree's matrix (category codes replaced by their rank)."""
        out = np.where(np.isnan(encoded), self.fill[None, :], encoded)
        for j, order in self.order.items():
            rank = np.empty_like(order)
            rank[order] = np.arange(len(order))
            codes = np.clip(np.rint(out[:, j]).astype(int), 0, len(order) - 1)
            out[:, j] = rank[codes]
        return out

    def categories_at_or_below(self, j: int, threshold: float) -> set[int]:
        """Codes whose rank is <= threshold."""
        return {int(code) for rank, code in enumerate(self.order[j]) if rank <= threshold}


def surrogate_samples(
    adapter: ModelAdapter,
    schema: FeatureSchema,
    encoded_X: np.ndarray,
    *,
    random_state: int = 0,
) -> SurrogateData:
    """Split real rows into train/test, add samples near the training rows, label all by the model.

    Near samples take a training row and swap each feature, with probability 0.3, for the
    value of another training row (numeric values jittered a little), so they stay within
    the data's own values and ranges.
    """
    rng = np.random.default_rng(random_state)
    real = encoded_X
    if len(real) > MAX_REAL_ROWS:
        real = real[rng.choice(len(real), MAX_REAL_ROWS, replace=False)]
    if len(real) >= 10:
        train_real, test_real = train_test_split(
            real, test_size=TEST_SHARE, random_state=random_state
        )
    else:
        train_real, test_real = real, real[:0]
    near, source = _near_samples(
        train_real, schema, rng, n=int(np.clip(NEAR_PER_ROW * len(train_real), 1000, MAX_NEAR))
    )
    # Held out: the test rows and samples drawn near them, so that fidelity is judged on
    # enough rows to be stable and also between the rows, where the rules must hold too.
    test_base = test_real if len(test_real) else real
    test_near, _ = _near_samples(
        test_base, schema, rng, n=int(np.clip(2 * len(test_base), 500, 10_000))
    )
    test_X = np.vstack([test_real, test_near])
    train_X = np.vstack([train_real, near])
    outputs = adapter.predict(schema.decode(np.vstack([train_X, test_X])))
    classify = adapter.is_classifier
    labels = outputs.argmax(axis=1) if classify else outputs[:, 0]
    return SurrogateData(
        train_X,
        labels[: len(train_X)],
        test_X=test_X,
        test_y=labels[len(train_X) :],
        train_source=np.concatenate([np.arange(len(train_real)), source]),
        train_is_real=np.arange(len(train_X)) < len(train_real),
        test_is_real=np.arange(len(test_X)) < len(test_real),
    )


def fit_surrogate(
    adapter: ModelAdapter,
    schema: FeatureSchema,
    encoded_X: np.ndarray,
    *,
    random_state: int = 0,
    max_rules: int = MAX_RULES,
) -> Surrogate:
    """Fit the rule surrogate; see the module docstring for how it is chosen."""
    data = surrogate_samples(adapter, schema, encoded_X, random_state=random_state)
    classify = adapter.is_classifier
    score = accuracy_score if classify else r2_score
    encoder = _TreeEncoder(schema, data.train_X, data.train_y.astype(float))
    train_T = encoder.transform(data.train_X)
    numeric = [j for j, f in enumerate(schema.features) if not f.is_discrete]

    def candidates(keep: np.ndarray | slice) -> dict[tuple, _RuleModel]:
        return _candidates(
            train_T[keep], data.train_y[keep], classify, numeric, random_state, max_rules
        )

    # Cross-validate over real rows: a fold's rows and the samples drawn near them are left
    # out of the fit; the fold's real rows are judged, as the held-out rows are at the end.
    n_real = int(data.train_is_real.sum())
    folds = KFold(
        n_splits=max(2, min(5 if n_real < 5000 else 3, n_real)),
        shuffle=True,
        random_state=random_state,
    )

    def fold(held: np.ndarray) -> dict[tuple, float]:
        out = np.isin(data.train_source, held)
        judge = out & data.train_is_real
        judged_T = train_T[judge]
        return {
            key: _score(score, data.train_y[judge], model.predict(judged_T))
            for key, model in candidates(~out).items()
        }

    # The folds and the final fit are independent: tree building releases the GIL, so
    # threads use every core.
    splits = [held for _, held in folds.split(np.arange(n_real))] if n_real >= 2 else []
    with ThreadPoolExecutor(max_workers=max(1, min(len(splits) + 1, os.cpu_count() or 1))) as pool:
        final_job = pool.submit(candidates, slice(None))
        scores = list(pool.map(fold, splits))
        final = final_job.result()
    validation = {
        key: _mean([s[key] for s in scores if key in s])
        for key in final
        if not scores or any(key in s for s in scores)
    }
    final = {key: model for key, model in final.items() if key in validation}
    best = max(validation.values())
    chosen_key = min(
        (key for key in final if validation[key] >= best - TOLERANCE),
        key=lambda key: (final[key].complexity, -validation[key]),
    )
    curve = _curve(final, validation, chosen_key, data, encoder.transform(data.test_X), score)
    model = final[chosen_key]
    leaf_rules = _leaf_rules(model, encoder, schema, adapter, encoded_X)
    # Number rules by coverage, the most common first.
    leaves = sorted(
        leaf_rules, key=lambda leaf: (-leaf_rules[leaf].coverage, -leaf_rules[leaf].samples)
    )
    leaf_rules = {leaf: _with_id(leaf_rules[leaf], i) for i, leaf in enumerate(leaves)}
    return Surrogate(
        rules=sorted(leaf_rules.values(), key=lambda r: r.id),
        fidelity=next(p["fidelity"] for p in curve if p["chosen"]),
        metric="accuracy" if classify else "r2",
        family=model.family,
        curve=curve,
        schema=schema,
        model=model,
        encoder=encoder,
        leaf_rules=leaf_rules,
        classes=list(adapter.classes) if classify else None,
    )


def _curve(
    models: dict[tuple, _RuleModel],
    validation: dict[tuple, float],
    chosen_key: tuple,
    data: SurrogateData,
    test_T: np.ndarray,
    score: Any,
) -> list[dict[str, Any]]:
    """Held-out fidelity per family and number of rules (the size cross-validation liked
    best where several have that many rules), on real rows and between them."""
    near = ~data.test_is_real
    # Fewer than 10 rows leave no real row out: then only the samples near them judge.
    real = data.test_is_real if data.test_is_real.any() else near
    curve: dict[tuple[str, int], dict[str, Any]] = {}
    for key, model in models.items():
        predicted = model.predict(test_T)
        point = {
            "family": model.family,
            "rules": model.complexity,
            "fidelity": _score(score, data.test_y[real], predicted[real]),
            "between": _score(score, data.test_y[near], predicted[near]) if near.any() else None,
            "validation": float(validation[key]),
            "chosen": key == chosen_key,
        }
        slot = (model.family, model.complexity)
        kept = curve.get(slot)
        if kept is None or (
            not kept["chosen"] and (point["chosen"] or point["validation"] > kept["validation"])
        ):
            curve[slot] = point
    return sorted(curve.values(), key=lambda p: (p["family"], p["rules"]))


def _score(score: Any, truth: np.ndarray, predicted: np.ndarray) -> float:
    # R² needs two rows; a fold of a tiny X may have one (it is then left out of the mean).
    return float(score(truth, predicted)) if len(truth) > 1 else float("nan")


def _mean(scores: list[float]) -> float:
    known = [s for s in scores if np.isfinite(s)]
    return float(np.mean(known)) if known else 0.0


def _with_id(rule: Rule, new_id: int) -> Rule:
    return dataclasses.replace(rule, id=new_id)


def _near_samples(
    rows: np.ndarray, schema: FeatureSchema, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples near ``rows``, and for each the position of the row it was drawn near."""
    source = rng.integers(0, len(rows), n)
    base = rows[source]
    donors = rows[rng.integers(0, len(rows), n)]
    swap = rng.random(base.shape) < 0.3
    out = np.where(swap, donors, base)
    for j, feature in enumerate(schema.features):
        if feature.is_discrete or feature.min is None or feature.max is None:
            continue
        spread = np.nanstd(rows[:, j]) if len(rows) > 1 else 0.0
        jittered = out[:, j] + rng.normal(0.0, 0.05 * spread, n) if spread > 0 else out[:, j]
        jittered = np.clip(jittered, feature.min, feature.max)
        out[:, j] = np.rint(jittered) if feature.kind == "integer" else jittered
    return out, source


def _leaf_rules(
    model: _RuleModel,
    encoder: _TreeEncoder,
    schema: FeatureSchema,
    adapter: ModelAdapter,
    encoded_X: np.ndarray,
) -> dict[int, Rule]:
    """One rule per leaf, in original units, with its coverage of X."""
    covered = model.apply(encoder.transform(encoded_X))
    share = {int(leaf): float(np.mean(covered == leaf)) for leaf in np.unique(covered)}
    outcome = "class" if adapter.is_classifier else "prediction"
    if isinstance(model, _LinearLeaves) and model.grown is None:
        leaf = model.fits[0]
        return {0: _linear_rule(0, [], leaf, len(encoded_X), 1.0, encoder, outcome)}
    grown = model.grown
    rules: dict[int, Rule] = {}

    def walk(node: int, path: list[tuple[int, bool, float]]) -> None:
        if grown.is_leaf(node, model.leaves):
            conditions = _merge(path, encoder, schema)
            samples, coverage = int(grown.samples[node]), share.get(node, 0.0)
            if isinstance(model, _LinearLeaves):
                leaf = model.fits[node]
                rules[node] = _linear_rule(
                    node, conditions, leaf, samples, coverage, encoder, outcome
                )
            elif adapter.is_classifier:
                prediction = adapter.classes[int(grown.node_output[node])]
                rules[node] = Rule(node, conditions, prediction, coverage, samples, outcome)
            else:
                prediction = float(grown.node_output[node])
                rules[node] = Rule(node, conditions, prediction, coverage, samples, outcome)
            return
        j, threshold = int(grown.feature[node]), float(grown.threshold[node])
        walk(int(grown.children_left[node]), [*path, (j, True, threshold)])
        walk(int(grown.children_right[node]), [*path, (j, False, threshold)])

    walk(0, [])
    return rules


def _linear_rule(
    node: int,
    conditions: list[Condition],
    leaf: _Leaf,
    samples: int,
    coverage: float,
    encoder: _TreeEncoder,
    outcome: str,
) -> Rule:
    schema, terms = encoder.schema, []
    for j, coef, center in zip(leaf.columns, leaf.coef, leaf.center):
        feature = schema.features[j]
        per = _round_unit(feature)
        weight = float(coef) * per
        terms.append(LinearTerm(feature.name, weight, per, float(center), float(encoder.fill[j])))
    # The largest effects first: that is how the rule is read.
    terms.sort(key=lambda term: -abs(term.weight) * _spread(schema, term.feature) / term.per)
    return Rule(node, conditions, leaf.mean, coverage, samples, outcome, tuple(terms))


def _round_unit(feature: Feature) -> float:
    """A round power of ten near a feature's typical spread: "per 1000 of income"."""
    spread = _feature_spread(feature)
    return float(10.0 ** np.floor(np.log10(spread))) if spread > 0 else 1.0


def _feature_spread(feature: Feature) -> float:
    quantiles = dict(feature.quantiles)
    low, high = quantiles.get(0.25), quantiles.get(0.75)
    if low is not None and high is not None and high > low:
        return float(high - low)
    if feature.min is not None and feature.max is not None:
        return float(feature.max - feature.min)
    return 0.0


def _spread(schema: FeatureSchema, name: str) -> float:
    return _feature_spread(schema[name]) or 1.0


def _merge(
    path: Sequence[tuple[int, bool, float]], encoder: _TreeEncoder, schema: FeatureSchema
) -> list[Condition]:
    """The splits on one path, merged per feature into at most two conditions each."""
    bounds: dict[int, list[float]] = {}
    allowed: dict[int, set[int]] = {}
    order: list[int] = []
    for j, left, threshold in path:
        if j not in order:
            order.append(j)
        if schema.features[j].is_discrete:
            below = encoder.categories_at_or_below(j, threshold)
            everything = set(range(len(schema.features[j].categories)))
            allowed[j] = allowed.get(j, everything) & (below if left else everything - below)
        else:
            low, high = bounds.get(j, [-np.inf, np.inf])
            bounds[j] = [low, min(high, threshold)] if left else [max(low, threshold), high]
    conditions: list[Condition] = []
    for j in order:
        feature = schema.features[j]
        if j in allowed:
            conditions.append(_set_condition(feature, allowed[j]))
            continue
        low, high = bounds[j]
        if np.isfinite(low):
            conditions.append(Condition(feature.name, ">", _cut(feature, low)))
        if np.isfinite(high):
            conditions.append(Condition(feature.name, "<=", _cut(feature, high)))
    return conditions


def _cut(feature: Feature, threshold: float) -> float | int:
    # For whole numbers "x <= 3.5" reads better as "x <= 3" and means the same.
    return int(np.floor(threshold)) if feature.kind == "integer" else float(threshold)


def _set_condition(feature: Feature, codes: set[int]) -> Condition:
    categories = feature.categories
    if len(codes) == 1:
        return Condition(feature.name, "==", categories[next(iter(codes))])
    others = set(range(len(categories))) - codes
    if len(others) == 1 and len(categories) > 2:
        return Condition(feature.name, "!=", categories[next(iter(others))])
    return Condition(feature.name, "in", tuple(categories[i] for i in sorted(codes)))


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, np.generic):
        a = a.item()
    return a == b or str(a) == str(b)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [str(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (bool, int, float)):
        return value
    return str(value)
