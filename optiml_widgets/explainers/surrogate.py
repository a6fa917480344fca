"""A global surrogate: readable rules that mimic the model, with held-out fidelity.

Every row is covered by exactly one rule. Two families are fit to the model's OWN outputs
(its predicted class, or its predicted value) over X plus samples drawn near X, so the
rules also hold between the rows:

- a decision tree: each leaf is a rule "IF conditions THEN class/prediction = c";
- for regressors, a tree with linear leaves: each leaf's prediction is its average plus a
  few linear terms ("+0.8 per 1000 of income"), picked by the lasso path. Smooth models
  (forests on a linear signal, for instance) read far better this way than as steps.

What a person must read is the number of rules: leaves plus linear terms (as RuleFit
counts its linear terms). The family and size are picked by cross-validation over the real
rows: the fewest rules whose fidelity is within one point of the best one tried (at most
32). Fidelity (accuracy, or R² for regression) is then measured on held-out real rows (30%
of X) that neither the fit nor the choice saw; ``curve`` holds it for every family and size
tried, with how well the rules also hold on samples drawn near those rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression, lars_path
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import KFold, train_test_split
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from ..data import Feature, FeatureSchema
from ..format import format_number
from ..model import ModelAdapter

MAX_RULES = 32
RULE_SIZES = (2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32)
TOLERANCE = 0.01  # "within one point" of the best validation fidelity
LEAF_SIZES = (1, 2, 3, 4)  # leaves of trees with linear leaves (regression)
MAX_TERMS = 8  # linear terms per leaf
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
    """``weight`` per ``per`` units of ``feature``, counted from ``center`` (the leaf's mean)."""

    feature: str
    weight: float
    per: float
    center: float

    @property
    def text(self) -> str:
        """``+0.8 per 1000 of income``."""
        sign = "+" if self.weight >= 0 else "\u2212"
        return f"{sign}{format_number(abs(self.weight))} per {format_number(self.per)} of {self.feature}"

    def effect(self, value: Any) -> float:
        """What this term adds for a feature value."""
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return 0.0
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
    train_y: np.ndarray
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
        """JSON for the frontend (js/src/types.ts SurrogateInfo)."""
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
        }


class _RuleModel:
    """A fitted surrogate: the leaf (rule) that covers each row, and what it predicts."""

    family: str
    complexity: int

    def apply(self, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def predict(self, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class _TreeRules(_RuleModel):
    family = TREE

    def __init__(self, tree: DecisionTreeClassifier | DecisionTreeRegressor) -> None:
        self.tree = tree
        self.complexity = int(tree.get_n_leaves())

    def apply(self, T: np.ndarray) -> np.ndarray:
        return self.tree.apply(T)

    def predict(self, T: np.ndarray) -> np.ndarray:
        return self.tree.predict(T)


class _GrownTree:
    """A best-first tree and, for any smaller number of leaves, the tree it grew through.

    scikit-learn grows ``max_leaf_nodes`` trees best-first, numbering nodes as they are
    made: the tree with k leaves is the first k - 1 splits of a bigger one. Predicting with
    every size from one fit is ~10x cheaper than fitting each size.
    """

    def __init__(
        self, tree: DecisionTreeClassifier | DecisionTreeRegressor, classify: bool
    ) -> None:
        self.tree = tree
        t = tree.tree_
        internal = np.flatnonzero(t.children_left != -1)
        self.rank = np.full(t.node_count, np.iinfo(np.int64).max)
        self.rank[internal[np.argsort(t.children_left[internal])]] = np.arange(len(internal))
        values = t.value[:, 0, :]
        self.node_output = tree.classes_[np.argmax(values, axis=1)] if classify else values[:, 0]

    def paths(self, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each row's nodes from the root down (node ids grow with depth), CSR-style."""
        paths = self.tree.decision_path(T).tocsr()
        paths.sort_indices()
        return paths.indices, paths.indptr

    def predict(self, T: np.ndarray, leaves: int, paths: tuple | None = None) -> np.ndarray:
        nodes, starts = paths if paths is not None else self.paths(T)
        grown = (self.rank[nodes] < leaves - 1).astype(np.int64)
        depth = np.add.reduceat(grown, starts[:-1]) if len(T) else np.zeros(0, int)
        return self.node_output[nodes[starts[:-1] + depth]]


class _TreePrefix(_RuleModel):
    """The ``leaves``-leaf tree inside a grown one (for choosing a size, not for rules)."""

    family = TREE

    def __init__(self, grown: _GrownTree, leaves: int) -> None:
        self.grown = grown
        self.leaves = leaves
        self.complexity = min(leaves, int(grown.tree.get_n_leaves()))

    def predict(self, T: np.ndarray) -> np.ndarray:
        # Sizes share one walk down the tree per matrix.
        cache = self.grown.__dict__.setdefault("_paths", {})
        if id(T) not in cache:
            cache.clear()
            cache[id(T)] = self.grown.paths(T)
        return self.grown.predict(T, self.leaves, cache[id(T)])


@dataclass(frozen=True)
class _Leaf:
    """A leaf's linear model: ``mean + (T[:, columns] - center) @ coef``."""

    mean: float
    columns: tuple[int, ...] = ()
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    center: np.ndarray = field(default_factory=lambda: np.zeros(0))


class _LinearLeaves(_RuleModel):
    family = LINEAR_TREE

    def __init__(self, tree: DecisionTreeRegressor | None, leaves: dict[int, _Leaf]) -> None:
        self.tree = tree
        self.leaves = leaves
        self.complexity = len(leaves) + sum(len(leaf.columns) for leaf in leaves.values())

    def apply(self, T: np.ndarray) -> np.ndarray:
        return self.tree.apply(T) if self.tree is not None else np.zeros(len(T), dtype=int)

    def predict(self, T: np.ndarray) -> np.ndarray:
        ids = self.apply(T)
        out = np.empty(len(T))
        for node, leaf in self.leaves.items():
            hit = ids == node
            out[hit] = leaf.mean + (T[hit][:, list(leaf.columns)] - leaf.center) @ leaf.coef
        return out


def _linear_leaf_models(
    T: np.ndarray, y: np.ndarray, n_leaves: int, numeric: list[int], random_state: int
) -> list[_LinearLeaves]:
    """Trees with ``n_leaves`` linear leaves, with 0..MAX_TERMS terms per leaf (in that order).

    The terms of a leaf enter in the order of its lasso path; each size is refit by least
    squares on its terms.
    """
    tree = None
    ids = np.zeros(len(T), dtype=int)
    if n_leaves > 1:
        tree = DecisionTreeRegressor(
            max_leaf_nodes=n_leaves,
            min_samples_leaf=max(20, len(T) // 20),  # leaves big enough for a linear fit
            random_state=random_state,
        ).fit(T, y)
        ids = tree.apply(T)
    by_size: list[dict[int, _Leaf]] = [{} for _ in range(MAX_TERMS + 1)]
    for node in np.unique(ids):
        X, target = T[ids == node][:, numeric], y[ids == node]
        center, mean = X.mean(axis=0), float(target.mean())
        order: list[int] = []
        if len(target) > 2 and np.ptp(target) > 0 and len(numeric):
            _, active, _ = lars_path(
                X - center, target - mean, method="lasso", max_iter=2 * MAX_TERMS
            )
            order = list(dict.fromkeys(int(a) for a in active))[:MAX_TERMS]
        for m in range(MAX_TERMS + 1):
            chosen = order[:m]
            coef = np.zeros(0)
            if chosen:
                fit = LinearRegression().fit(X[:, chosen] - center[chosen], target - mean)
                coef = fit.coef_
            by_size[m][int(node)] = _Leaf(
                mean, tuple(numeric[c] for c in chosen), coef, center[chosen]
            )
    return [_LinearLeaves(tree, leaves) for leaves in by_size]


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
    label = _labeller(adapter, schema)
    return SurrogateData(
        train_X,
        label(train_X),
        test_X=test_X,
        test_y=label(test_X),
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

    def tree(leaves: int) -> DecisionTreeClassifier | DecisionTreeRegressor:
        cls = DecisionTreeClassifier if classify else DecisionTreeRegressor
        return cls(max_leaf_nodes=leaves, random_state=random_state)

    def candidates(T: np.ndarray, y: np.ndarray) -> dict[tuple, _RuleModel]:
        """Every family and size tried, keyed by (family, leaves, terms per leaf)."""
        found: dict[tuple, _RuleModel] = {}
        sizes = [k for k in RULE_SIZES if k <= max_rules]
        grown = _GrownTree(tree(max(sizes)).fit(T, y), classify)
        for k in sizes:
            found[(TREE, k, 0)] = _TreePrefix(grown, k)
        if not classify and numeric:
            for n_leaves in LEAF_SIZES:
                for m, model in enumerate(
                    _linear_leaf_models(T, y, n_leaves, numeric, random_state)
                ):
                    if m and model.complexity <= max_rules:
                        found[(LINEAR_TREE, n_leaves, m)] = model
        return found

    # Cross-validate over real rows: a fold's rows and the samples drawn near them are left
    # out of the fit; the fold's real rows are judged, as the held-out rows are at the end.
    n_real = int(data.train_is_real.sum())
    folds = KFold(
        n_splits=min(5 if n_real < 5000 else 3, n_real), shuffle=True, random_state=random_state
    )
    validation: dict[tuple, float] = {}
    for _, held in folds.split(np.arange(n_real)):
        out = np.isin(data.train_source, held)
        judge = out & data.train_is_real
        for key, model in candidates(train_T[~out], data.train_y[~out]).items():
            fold_score = score(data.train_y[judge], model.predict(train_T[judge]))
            validation[key] = validation.get(key, 0.0) + fold_score / folds.n_splits
    final = {
        key: model for key, model in candidates(train_T, data.train_y).items() if key in validation
    }
    best = max(validation.values())
    chosen_key = min(
        (key for key in final if validation[key] >= best - TOLERANCE),
        key=lambda key: (final[key].complexity, -validation[key]),
    )
    test_T = encoder.transform(data.test_X)
    real, near = data.test_is_real, ~data.test_is_real
    curve: dict[tuple[str, int], dict[str, Any]] = {}
    for key, model in final.items():
        predicted = model.predict(test_T)
        point = {
            "family": key[0],
            "rules": model.complexity,
            "fidelity": float(score(data.test_y[real], predicted[real])),
            "between": float(score(data.test_y[near], predicted[near])) if near.any() else None,
            "validation": float(validation[key]),
            "chosen": key == chosen_key,
        }
        # One point per family and number of rules: the one cross-validation liked best.
        slot = (key[0], model.complexity)
        kept = curve.get(slot)
        if kept is None or (
            not kept["chosen"] and (point["chosen"] or point["validation"] > kept["validation"])
        ):
            curve[slot] = point
    model = final[chosen_key]
    if isinstance(model, _TreePrefix):  # the rules come from a tree of exactly that size
        model = _TreeRules(tree(model.leaves).fit(train_T, data.train_y))
    leaf_rules = _leaf_rules(model, encoder, schema, adapter, encoded_X)
    # Number rules by coverage, the most common first.
    leaves = sorted(
        leaf_rules, key=lambda leaf: (-leaf_rules[leaf].coverage, -leaf_rules[leaf].samples)
    )
    leaf_rules = {leaf: _with_id(leaf_rules[leaf], i) for i, leaf in enumerate(leaves)}
    rules = sorted(leaf_rules.values(), key=lambda r: r.id)
    points = sorted(curve.values(), key=lambda p: (p["family"], p["rules"]))
    return Surrogate(
        rules=rules,
        fidelity=next(p["fidelity"] for p in points if p["chosen"]),
        metric="accuracy" if classify else "r2",
        family=model.family,
        curve=points,
        schema=schema,
        model=model,
        encoder=encoder,
        leaf_rules=leaf_rules,
        classes=list(adapter.classes) if classify else None,
    )


def _with_id(rule: Rule, new_id: int) -> Rule:
    return dataclasses.replace(rule, id=new_id)


def _labeller(adapter: ModelAdapter, schema: FeatureSchema) -> Any:
    def label(encoded: np.ndarray) -> np.ndarray:
        if len(encoded) == 0:
            return np.zeros(0)
        out = adapter.predict(schema.decode(encoded))
        return out.argmax(axis=1) if adapter.is_classifier else out[:, 0]

    return label


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
    if isinstance(model, _LinearLeaves) and model.tree is None:
        leaf = model.leaves[0]
        return {0: _linear_rule(0, [], leaf, len(encoded_X), 1.0, schema, outcome)}
    tree = model.tree
    t = tree.tree_
    rules: dict[int, Rule] = {}

    def walk(node: int, path: list[tuple[int, bool, float]]) -> None:
        if t.children_left[node] == -1:
            conditions = _merge(path, encoder, schema)
            samples, coverage = int(t.n_node_samples[node]), share.get(node, 0.0)
            if isinstance(model, _LinearLeaves):
                rules[node] = _linear_rule(
                    node, conditions, model.leaves[node], samples, coverage, schema, outcome
                )
                return
            value = t.value[node][0]
            if adapter.is_classifier:
                prediction = adapter.classes[int(tree.classes_[int(np.argmax(value))])]
            else:
                prediction = float(value[0])
            rules[node] = Rule(node, conditions, prediction, coverage, samples, outcome)
            return
        j, threshold = int(t.feature[node]), float(t.threshold[node])
        walk(int(t.children_left[node]), [*path, (j, True, threshold)])
        walk(int(t.children_right[node]), [*path, (j, False, threshold)])

    walk(0, [])
    return rules


def _linear_rule(
    node: int,
    conditions: list[Condition],
    leaf: _Leaf,
    samples: int,
    coverage: float,
    schema: FeatureSchema,
    outcome: str,
) -> Rule:
    terms = []
    for j, coef, center in zip(leaf.columns, leaf.coef, leaf.center):
        feature = schema.features[j]
        per = _round_unit(feature)
        terms.append(LinearTerm(feature.name, float(coef) * per, per, float(center)))
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
