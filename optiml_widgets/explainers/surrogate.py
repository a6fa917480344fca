"""A global surrogate: readable rules that mimic the model, with held-out fidelity.

A decision tree is fit to the model's OWN outputs (its predicted class, or its predicted
value) over X plus samples drawn near X, so the rules also hold between the rows. Its size
is picked by cross-validation over the real rows: the fewest rules whose fidelity is within
one point of the best size tried (at most 32 rules). Fidelity is then measured on held-out
rows (30% of X and samples drawn near them) that neither the fit nor the choice of size
saw. Each leaf becomes a rule in original units.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import KFold, train_test_split
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from ..data import Feature, FeatureSchema
from ..format import format_number
from ..model import ModelAdapter

MAX_RULES = 32
RULE_SIZES = (2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32)
TOLERANCE = 0.01  # "within one point" of the best validation fidelity
MAX_REAL_ROWS = 20_000
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


@dataclass(frozen=True)
class Rule:
    """IF all ``conditions`` hold THEN the surrogate predicts ``prediction``."""

    id: int
    conditions: list[Condition]
    prediction: Any
    coverage: float
    samples: int
    outcome: str = "prediction"  # "class" for classifiers: reads "THEN class = benign"

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
        return f"IF {when} THEN {self.outcome} = {then}"


@dataclass
class SurrogateData:
    """Training samples (rows near X, labelled by the model) and held-out real rows."""

    train_X: np.ndarray
    train_y: np.ndarray
    test_X: np.ndarray
    test_y: np.ndarray
    # Per training sample: the real row it is (or was drawn near), and whether it is real.
    train_source: np.ndarray
    train_is_real: np.ndarray


@dataclass
class Surrogate:
    """The fitted global surrogate: rules, held-out fidelity, and the size trade-off."""

    rules: list[Rule]
    fidelity: float
    metric: str
    family: str
    curve: list[dict[str, float]]
    schema: FeatureSchema = field(repr=False)
    tree: Any = field(repr=False)
    encoder: _TreeEncoder = field(repr=False)
    leaf_rules: dict[int, Rule] = field(repr=False)

    @property
    def complexity(self) -> int:
        """The number of rules a person has to read."""
        return len(self.rules)

    def rule_for(self, row: Mapping[str, Any] | pd.Series) -> Rule:
        """The rule that covers a row (a dict or Series of original feature values)."""
        frame = self.schema.row_frame({name: row[name] for name in self.schema.names})
        return self.rules_for_encoded(self.schema.encode(frame))[0]

    def rules_for_encoded(self, encoded: np.ndarray) -> list[Rule]:
        """The covering rule of each encoded row."""
        leaves = self.tree.apply(self.encoder.transform(np.atleast_2d(encoded)))
        return [self.leaf_rules[int(leaf)] for leaf in leaves]

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
        }


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
        train_real, schema, rng, n=int(np.clip(2 * len(train_real), 1000, 20_000))
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
    )


def fit_surrogate(
    adapter: ModelAdapter,
    schema: FeatureSchema,
    encoded_X: np.ndarray,
    *,
    random_state: int = 0,
    max_rules: int = MAX_RULES,
) -> Surrogate:
    """Fit the rule surrogate; see the module docstring for how its size is chosen."""
    data = surrogate_samples(adapter, schema, encoded_X, random_state=random_state)
    classify = adapter.is_classifier
    score = accuracy_score if classify else r2_score
    target_for_order = data.train_y.astype(float)
    encoder = _TreeEncoder(schema, data.train_X, target_for_order)
    train_T = encoder.transform(data.train_X)
    sizes = [k for k in RULE_SIZES if k <= max_rules]

    def tree(k: int) -> DecisionTreeClassifier | DecisionTreeRegressor:
        cls = DecisionTreeClassifier if classify else DecisionTreeRegressor
        return cls(max_leaf_nodes=k, random_state=random_state)

    # Cross-validate over real rows: a fold's rows and the samples drawn near them are left
    # out of the fit and judged, as the held-out rows are at the end.
    n_real = int(data.train_is_real.sum())
    folds = KFold(
        n_splits=min(5 if n_real < 5000 else 3, n_real), shuffle=True, random_state=random_state
    )
    validation = dict.fromkeys(sizes, 0.0)
    for _, held in folds.split(np.arange(n_real)):
        out = np.isin(data.train_source, held)
        judge = out
        for k in sizes:
            model = tree(k).fit(train_T[~out], data.train_y[~out])
            validation[k] += (
                score(data.train_y[judge], model.predict(train_T[judge])) / folds.n_splits
            )
    best = max(validation.values())
    chosen = min(k for k in sizes if validation[k] >= best - TOLERANCE)
    test_T = encoder.transform(data.test_X)
    curve = []
    final = None
    for k in sizes:
        model = tree(k).fit(train_T, data.train_y)
        fidelity = float(score(data.test_y, model.predict(test_T)))
        curve.append(
            {
                "rules": model.get_n_leaves(),
                "fidelity": fidelity,
                "validation": float(validation[k]),
            }
        )
        if k == chosen:
            final, final_fidelity = model, fidelity
    assert final is not None
    leaf_rules = _rules_from_tree(final, encoder, schema, adapter, encoded_X)
    # Number rules by coverage, the most common first.
    leaves = sorted(
        leaf_rules, key=lambda leaf: (-leaf_rules[leaf].coverage, -leaf_rules[leaf].samples)
    )
    leaf_rules = {leaf: _with_id(leaf_rules[leaf], i) for i, leaf in enumerate(leaves)}
    rules = sorted(leaf_rules.values(), key=lambda r: r.id)
    return Surrogate(
        rules=rules,
        fidelity=final_fidelity,
        metric="accuracy" if classify else "r2",
        family="decision tree",
        curve=curve,
        schema=schema,
        tree=final,
        encoder=encoder,
        leaf_rules=leaf_rules,
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


def _rules_from_tree(
    tree: DecisionTreeClassifier | DecisionTreeRegressor,
    encoder: _TreeEncoder,
    schema: FeatureSchema,
    adapter: ModelAdapter,
    encoded_X: np.ndarray,
) -> dict[int, Rule]:
    t = tree.tree_
    coverage_leaves = tree.apply(encoder.transform(encoded_X))
    leaf_share = {
        int(leaf): float(np.mean(coverage_leaves == leaf)) for leaf in np.unique(coverage_leaves)
    }
    rules: dict[int, Rule] = {}

    def walk(node: int, path: list[tuple[int, bool, float]]) -> None:
        if t.children_left[node] == -1:
            value = t.value[node][0]
            if adapter.is_classifier:
                prediction = adapter.classes[int(tree.classes_[int(np.argmax(value))])]
            else:
                prediction = float(value[0])
            rules[node] = Rule(
                id=node,
                conditions=_merge(path, encoder, schema),
                prediction=prediction,
                coverage=leaf_share.get(node, 0.0),
                samples=int(t.n_node_samples[node]),
                outcome="class" if adapter.is_classifier else "prediction",
            )
            return
        j, threshold = int(t.feature[node]), float(t.threshold[node])
        walk(int(t.children_left[node]), [*path, (j, True, threshold)])
        walk(int(t.children_right[node]), [*path, (j, False, threshold)])

    walk(0, [])
    return rules


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
