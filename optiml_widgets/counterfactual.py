"""Counterfactual hints: the smallest change that lands an instance in a rule with another
outcome, checked by calling the real model on the changed instance; when the model follows
none of the rules' changes, the fewest values taken from the nearest real rows it gives
that outcome.

"Another outcome" is another class for classifiers (the model's own predicted class before
and after), or one chosen class (``wanted``: "why A and not B" asks what would make it B). For regressors it is the other side of the median of the model's outputs over
X: a high prediction becomes a low one and the other way round. Predictions equal to the
median all count as one side, the one with fewer rows besides them (``Split``), so that
neither side is empty unless the model gives every row of X the same output (a capped or
0/1 output often has most rows at the median). Within a rule with terms the outcome moves
too: a linear term's feature slides, or step terms' features move across their cuts, until
the rule's value (a score rule's score) crosses the median (0.5).

Smallest means the fewest features changed first, then the smallest moves, each measured
in the feature's spread (its interquartile range). A move goes just past the rule's
threshold and never outside the data's range. Candidates are tried cheapest first and the
first one the model agrees with is returned. If the model agrees with none, the instance
takes values of the nearest real rows the model gives the outcome (``borrowed``); only if
that fails too is the cheapest rules' change returned, with ``model_agrees=False``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .data import FeatureSchema, bounded_dtype, category_identity
from .explainers.base import Output, output_value
from .explainers.rule_models import SCORE_CUT
from .explainers.surrogate import Condition, Rule, Surrogate, _category_text, _feature_spread
from .format import apart_scale, exact_number, finite, format_number
from .jobs import check_stopped
from .model import ModelAdapter

CHECKED = 48  # candidates checked with the real model, cheapest first
# When the model follows none of the rules' changes: the real rows nearest to the instance
# that the model gives the sought outcome, and of each the fewest values to take from it.
NEIGHBOURS = 10
MOST_MOVED = 8  # a change of more features than this is no hint
FEATURES_TRIED = 30  # per neighbour and step: its values furthest from the instance's
STEP = 1e-3  # past a threshold by this share of the feature's spread
# How deep into a rule's range a move goes: just past the threshold first, then further
# towards the inside of the data (the model's boundary need not sit on the rule's).
DEPTHS = (0.0, 0.25, 0.5, 1.0)


@dataclass(frozen=True)
class Split:
    """Where a regressor's outcomes split: "high" above ``median``, "low" below it, and a
    prediction equal to it on the side ``ties_high`` says (also a score rule's cut: its
    second class above SCORE_CUT, not at it)."""

    median: float
    ties_high: bool = False

    @classmethod
    def of(cls, outputs: np.ndarray) -> Split:
        """The split of a regressor's outputs over X: at their median, the predictions
        equal to it joining the side with fewer rows. Many rows can sit at the median (an
        output capped at a maximum, a 0/1 output with most rows at 1); on the side of the
        others (the old "above the median is high") no row could be high."""
        values = np.asarray(outputs, dtype=float)
        median = float(np.median(values))
        return cls(median, ties_high=int(np.sum(values > median)) < int(np.sum(values < median)))

    def high(self, value: float) -> bool:
        return value > self.median or (self.ties_high and value == self.median)

    def outcome(self, value: float) -> str:
        return "high" if self.high(value) else "low"


@dataclass(frozen=True)
class Counterfactual:
    """What to change, where it lands, and what the real model says about it."""

    changes: dict[str, Any]
    rule: Rule
    outcome_before: Any
    outcome_after: Any
    prediction: float  # the model's explained output (a contrast's too) after the change
    predicted_label: Any  # the model's class after the change (None for regressors)
    model_agrees: bool
    median: float | None = None  # regressors: the median prediction that splits high/low
    probability: float | None = None  # classifiers: the model's probability of its class
    # The values are those of real rows the model gives that outcome (it followed none of
    # the rules' changes); ``rule`` is then the one the changed instance lands in.
    borrowed: bool = False
    # Regressors: the outcome a prediction equal to the median counts as (Split.ties_high).
    at_median: str | None = None
    # The text of each changed category as the panel writes it (FeatureSchema labels:
    # "1 (int)" beside "1 (str)"), by feature name.
    labels: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Counterfactual: {self.text()}"

    def text(self) -> str:
        """``worst area → 700, worst texture → 21: the model says benign (P = 0.93).``"""
        moves = ", ".join(
            f"{name} → {self._value_text(name, v)}" for name, v in self.changes.items()
        )
        sure = f" (P = {self.probability:.2f})" if self.probability is not None else ""
        said = (
            f"the model says {self.predicted_label}{sure}"
            if self.predicted_label is not None
            else f"the model predicts {self._side()}"
        )
        verdict = "" if self.model_agrees else " (the model does not agree with the rule)"
        return f"{moves}: {said}{verdict}."

    def _value_text(self, name: str, value: Any) -> str:
        """A category as the rules write it, quoted where it would blur the list of moves
        ("Paris, France", ""); a number with every digit it has: rounded, it can fall on
        the other side of the threshold it was moved past ("year → 2005" for 2005.44). The
        moves are made short (_short)."""
        if name in self.labels:
            return _category_text(self.labels[name])
        return exact_number(value) if isinstance(value, float) else str(value)

    def _side(self) -> str:
        """A regressor's prediction and where it lies against the median, and at it, which
        side that counts as: "-1.2, below the median 0", "1, at the median 1, which counts
        as high"; both with the digits that tell them apart."""
        median, prediction = self.median or 0.0, float(self.prediction)
        scale = apart_scale([prediction, median])
        predicted, shown = (
            format_number(v, scale=None if scale is None else min(abs(v), scale))
            for v in (prediction, median)
        )
        if prediction == median:
            return (
                f"{predicted}, at the median {shown}, which counts as "
                f"{self.at_median or self.outcome_after}"
            )
        return f"{predicted}, {'above' if prediction > median else 'below'} the median {shown}"


def find_counterfactual(
    adapter: ModelAdapter,
    schema: FeatureSchema,
    surrogate: Surrogate,
    instance: Mapping[str, Any],
    *,
    output: Output,
    wanted: Any = None,
    split: Split | None = None,
    outputs: np.ndarray | None = None,
    reference: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None,
    importance: np.ndarray | None = None,
) -> Counterfactual | None:
    """The smallest change to ``instance`` with another outcome (module docstring), or with
    the class ``wanted``; None when no rule has such an outcome. ``output``: what the
    prediction reports (a class's probability, a contrast, a regressor's value).
    ``split``: a regressor's high and low outcomes (Split.of the model's outputs over X).
    ``outputs``: the model's outputs for the instance, when already known (saves a call).
    ``reference``: gives real rows (encoded) and the model's outputs for them. When the
    model follows none of the rules' changes (or no rule has the outcome), the instance
    takes values of the nearest of those rows that the model gives the sought outcome:
    the fewest that do it, found greedily with one model call per value taken (_borrow).
    ``importance``: how much each feature matters to the instance's output (e.g. its
    |SHAP|); the values taken are tried in that order, weighed by how far they are.

    The rules' candidates are built on the encoded instance and checked in one model call.
    """
    encoded = schema.encode_row(instance)
    if outputs is None:
        outputs = adapter.predict(schema.decode(encoded[None, :]))[0]
    before = _outcome(adapter, outputs, split)
    if wanted is not None and wanted == before:
        return None  # the model says so already

    def sought(outcome: Any) -> bool:
        return outcome != before and (wanted is None or outcome == wanted)

    def reaches(rule: Rule, row: Mapping[str, Any]) -> bool:
        """A move along a rule's terms flips its outcome; with ``wanted``, to that class?"""
        return wanted is None or _rule_outcome(adapter, rule, row, split) == wanted

    allowed = _AllowedCategories(schema)
    candidates = []
    for rule in surrogate.rules:
        for depth in DEPTHS:
            moved = _move_into(rule, instance, schema, depth, allowed)
            if moved is None:
                break
            changes, cost = moved
            landed = {**instance, **changes}
            cut = Split(SCORE_CUT) if rule.classes is not None else split
            if rule.terms and cut is not None:  # a regressor's rule, or a score rule
                # A rule with terms also moves along them: its value (a score rule's score)
                # crosses the median (the score's cut) on one of them.
                for term in rule.terms:
                    slid = _slide(term, landed, rule.score(landed), cut, schema)
                    if (
                        slid is not None
                        and term.feature not in changes
                        and rule.covers({**landed, term.feature: slid})  # still inside
                        and reaches(rule, {**landed, term.feature: slid})
                    ):
                        extra = abs(slid - float(landed[term.feature])) / _spread(schema, term)
                        more = {**changes, term.feature: slid}
                        candidates.append((len(more), cost + extra, rule.id, rule, more))
                flipped = _flip_steps(rule, landed, cut, schema, depth)
                if (
                    flipped is not None
                    and not set(flipped) & set(changes)
                    and rule.covers({**landed, **flipped})
                    and reaches(rule, {**landed, **flipped})
                ):
                    extra = sum(
                        abs(v - float(landed[name])) / (_feature_spread(schema[name]) or 1.0)
                        for name, v in flipped.items()
                    )
                    more = {**changes, **flipped}
                    candidates.append((len(more), cost + extra, rule.id, rule, more))
            if not changes or not sought(_rule_outcome(adapter, rule, landed, split)):
                continue
            candidates.append((len(changes), cost, rule.id, rule, changes))
    candidates.sort(key=lambda c: c[:3])
    tried = [(rule, changes) for *_, rule, changes in candidates[:CHECKED]]
    predicted, outcomes = _checked(adapter, schema, encoded, [c for _, c in tried], split)
    agreed = [i for i, outcome in enumerate(outcomes) if sought(outcome)]
    borrowed = False
    if not agreed and reference is not None:
        toward = _toward(adapter, before, wanted)
        found = _borrow(encoded, schema, *reference(), sought, toward, adapter, split, importance)
        if found is not None:
            changes, row_outputs, after = found
            tried = [(surrogate.rule_for({**instance, **changes}), changes)]
            predicted, outcomes, agreed, borrowed = row_outputs[None, :], [after], [0], True
    if not tried:
        return None
    pick = agreed[0] if agreed else 0
    rule, changes = tried[pick]
    classes = adapter.classes
    return Counterfactual(
        changes=changes,
        rule=rule,
        outcome_before=before,
        outcome_after=outcomes[pick],
        prediction=float(output_value(predicted[pick], output)),
        predicted_label=(classes[int(np.argmax(predicted[pick]))] if classes is not None else None),
        model_agrees=bool(agreed),
        median=split.median if classes is None and split is not None else None,
        probability=float(np.max(predicted[pick])) if classes is not None else None,
        borrowed=borrowed,
        at_median=(
            ("high" if split.ties_high else "low")
            if classes is None and split is not None
            else None
        ),
        labels={
            name: schema[name].label_of(value)
            for name, value in changes.items()
            if schema[name].is_discrete
        },
    )


def _checked(
    adapter: ModelAdapter,
    schema: FeatureSchema,
    encoded: np.ndarray,
    changes: list[dict[str, Any]],
    split: Split | None,
) -> tuple[np.ndarray, list[Any]]:
    """The model's outputs and outcomes for the instance under each set of changes, in
    one call (none for no changes)."""
    if not changes:
        return np.empty((0, 0)), []
    rows = np.repeat(encoded[None, :], len(changes), axis=0)
    position = {name: j for j, name in enumerate(schema.names)}
    for k, moved in enumerate(changes):
        for name, value in moved.items():
            feature = schema.features[position[name]]
            rows[k, position[name]] = (
                feature.category_code(value) if feature.is_discrete else float(value)
            )
    predicted = adapter.predict(schema.decode(rows))
    return predicted, [_outcome(adapter, out, split) for out in predicted]


def _toward(adapter: ModelAdapter, before: Any, wanted: Any) -> Callable[[np.ndarray], float]:
    """How far a row's model outputs have gone from the outcome ``before`` toward another
    (``wanted``, when given): the other side of the median for a regressor."""
    if adapter.classes is None:
        sign = 1.0 if before == "low" else -1.0
        return lambda out: sign * float(out[0])
    classes = list(adapter.classes)
    if wanted is not None:
        return lambda out: float(out[classes.index(wanted)])
    return lambda out: 1.0 - float(out[classes.index(before)])


def _borrow(
    encoded: np.ndarray,
    schema: FeatureSchema,
    rows: np.ndarray,
    outputs: np.ndarray,
    sought: Callable[[Any], bool],
    toward: Callable[[np.ndarray], float],
    adapter: ModelAdapter,
    split: Split | None,
    importance: np.ndarray | None = None,
) -> tuple[dict[str, Any], np.ndarray, Any] | None:
    """The fewest values of a real row the model gives the sought outcome that, taken by
    the instance, make the model give it too (then the smallest moves), with the model's
    outputs and outcome there; None within MOST_MOVED values.

    Of the NEIGHBOURS such rows nearest to the instance (in spreads; a category or a
    missing value apart counts one), each step takes, per row, the one more value that
    moves the model's output furthest toward the outcome: greedy, one model call a step
    for every row's candidates. Each row's values tried are its FEATURES_TRIED furthest
    from the instance's, weighed by ``importance`` when given (a feature the model barely
    uses is tried last, however far)."""
    unlike = [i for i, out in enumerate(outputs) if sought(_outcome(adapter, out, split))]
    if not unlike:
        return None
    features = schema.features
    discrete = np.array([f.is_discrete for f in features])
    spreads = np.array([_feature_spread(f) or 1.0 for f in features])
    others = rows[unlike]
    with np.errstate(invalid="ignore"):
        gaps = np.where(
            discrete, (others != encoded).astype(float), np.abs(others - encoded) / spreads
        )
    both_missing = np.isnan(others) & np.isnan(encoded)
    gaps = np.where(both_missing, 0.0, np.where(np.isnan(gaps), 1.0, gaps))
    nearest = np.argsort(gaps.sum(axis=1), kind="stable")[:NEIGHBOURS]
    weighed = gaps if importance is None else gaps * _weights(importance)
    # A missing value is never taken: "set it to missing" is no advice.
    movable = {
        n: [
            j
            for j in np.argsort(-weighed[n], kind="stable")[:FEATURES_TRIED]
            if gaps[n, j] > 0 and not np.isnan(others[n, j])
        ]
        for n in nearest
    }
    taken: dict[int, list[int]] = {n: [] for n in nearest}
    for _ in range(MOST_MOVED):
        check_stopped()  # close() ends the search between its calls
        candidates = [(n, [*taken[n], j]) for n in nearest for j in movable[n] if j not in taken[n]]
        if not candidates:
            return None
        matrix = np.repeat(encoded[None, :], len(candidates), axis=0)
        for k, (n, picked) in enumerate(candidates):
            matrix[k, picked] = others[n, picked]
        predicted = adapter.predict(schema.decode(matrix))
        outcomes = [_outcome(adapter, out, split) for out in predicted]
        hits = [k for k, outcome in enumerate(outcomes) if sought(outcome)]
        if hits:
            k = min(hits, key=lambda k: float(gaps[candidates[k][0], candidates[k][1]].sum()))
            n, picked = candidates[k]
            changes = {features[j].name: _value(features[j], others[n, j]) for j in sorted(picked)}
            return changes, predicted[k], outcomes[k]
        progress = [toward(out) for out in predicted]
        for n in nearest:  # each row keeps its value that went furthest
            mine = [k for k, (m, _) in enumerate(candidates) if m == n]
            if mine:
                taken[n] = candidates[max(mine, key=lambda k: progress[k])][1]
    return None


def _weights(importance: np.ndarray) -> np.ndarray:
    """Importances as weights in (0, 1]: a feature of no importance keeps a small weight, so
    that among such features the furthest values still come first."""
    magnitude = np.nan_to_num(np.abs(np.asarray(importance, dtype=float)))
    top = float(magnitude.max(initial=0.0))
    if top == 0.0:
        return np.ones_like(magnitude)
    return np.maximum(magnitude / top, 1e-6)


def _value(feature: Any, code: float) -> Any:
    """An encoded value in the feature's own terms: a category, an integer or a float."""
    if feature.is_discrete:
        return feature.categories[int(code)]
    if feature.kind == "integer":
        return int(code)
    narrow = _narrow_float(feature)
    # A float32 0.1 is 0.10000000149011612 in float64: its own shortest text, the same
    # number in its column, is what the hint writes.
    return float(code) if narrow is None else float(str(narrow(code)))


class _AllowedCategories:
    """The categories meeting a rule's conditions on a feature, by set lookups (a rule on a
    5,000-category column must not test every category against every listed value). A
    category is its value with its type, as in the schema: 1 and "1" are two."""

    def __init__(self, schema: FeatureSchema) -> None:
        self.schema = schema
        self._identities: dict[str, list[tuple[type, Any]]] = {}

    def __call__(self, name: str, conditions: list[Condition]) -> list[Any]:
        feature = self.schema[name]
        identities = self._identities.get(name)
        if identities is None:
            identities = self._identities[name] = list(map(category_identity, feature.categories))
        keep = np.ones(len(identities), dtype=bool)
        for c in conditions:
            if c.op in ("==", "!=", "in"):
                listed = {category_identity(v) for v in (c.value if c.op == "in" else [c.value])}
                hit = np.fromiter((i in listed for i in identities), bool, len(identities))
                keep &= ~hit if c.op == "!=" else hit
            else:  # a numeric test on a boolean's 0/1
                keep &= np.array([c.holds(v) for v in feature.categories], dtype=bool)
        return [feature.categories[i] for i in np.flatnonzero(keep)]


def _slide(
    term: Any, row: Mapping[str, Any], predicted: float, split: Split, schema: FeatureSchema
) -> float | None:
    """The value of a term's feature that takes a rule's value 10% past the split's median
    (a regressor's median, or a score rule's cut), within the data's range; None when that
    is out of range, when the value is at the median (no distance to go 10% past), or for a
    step term (it moves the value by its weight or not at all)."""
    feature = schema[term.feature]
    current = finite(row[term.feature])
    if current is None or term.weight == 0 or term.is_step or predicted == split.median:
        return None
    new = current + 1.1 * (split.median - predicted) * term.per / term.weight
    if feature.min is None or feature.max is None or not feature.min <= new <= feature.max:
        return None
    if feature.kind == "integer":
        new = float(np.round(new))
        if _narrow_float(feature) is None:
            return new
    lo, hi = feature.min, feature.max
    return _short(new, feature, lambda v: lo <= v <= hi)


def _flip_steps(
    rule: Rule, row: Mapping[str, Any], cut: Split, schema: FeatureSchema, depth: float
) -> dict[str, float] | None:
    """The fewest step terms to flip (the largest weights first) that take the rule's value
    to the other side of ``cut``, as feature -> new value; None when all of them together do not. A step
    moves the value by its weight or not at all, so where a linear term slides, steps flip:
    a step's feature across its cut; a step of several conditions on by meeting them all,
    off by breaking one."""
    below = not cut.high(rule.score(row))

    def toward(term: Any) -> float:
        """What flipping this step adds in the direction the value has to go."""
        if not term.is_step or (term.above is not None and finite(row[term.feature]) is None):
            return 0.0
        change = -term.weight if term.effect_in(row) else term.weight
        return change if below else -change

    changes: dict[str, float] = {}
    for term in sorted(rule.terms, key=toward, reverse=True):
        if toward(term) <= 0:
            break
        moves = _step_moves(term, {**row, **changes}, schema, depth)
        if moves is None or any(name in changes for name in moves):
            continue
        changes.update(moves)
        if cut.high(rule.score({**row, **changes})) == below:
            return changes
    return None


def _step_moves(
    term: Any, row: Mapping[str, Any], schema: FeatureSchema, depth: float
) -> dict[str, float] | None:
    """The feature values that flip a step term (on to off, or off to on), each across its
    cut as a rule's condition is met: just past it, or ``depth`` further in."""
    if term.above is not None:
        op = "<=" if float(row[term.feature]) > term.above else ">"
        new = _numeric_move(
            [Condition(term.feature, op, term.above)],
            schema[term.feature],
            row[term.feature],
            depth,
        )
        return None if new is None else {term.feature: new}
    numeric = [c for c in term.when if c.op in ("<=", ">")]
    if term.effect_in(row):  # on: break one of its conditions
        for c in numeric:
            broken = Condition(c.feature, "<=" if c.op == ">" else ">", c.value)
            new = _numeric_move([broken], schema[c.feature], row[c.feature], depth)
            if new is not None:
                return {c.feature: new}
        return None
    if len(numeric) < len(term.when):
        return None  # a condition on categories: no value is moved along a scale
    moves: dict[str, float] = {}
    for c in numeric:  # off: meet every condition (those on one feature together)
        if c.feature in moves or c.holds(row[c.feature]):
            continue
        same = [d for d in numeric if d.feature == c.feature]
        new = _numeric_move(same, schema[c.feature], row[c.feature], depth)
        if new is None:
            return None
        moves[c.feature] = new
    return moves or None


def _spread(schema: FeatureSchema, term: Any) -> float:
    return _feature_spread(schema[term.feature]) or 1.0


def _outcome(adapter: ModelAdapter, outputs: np.ndarray, split: Split | None) -> Any:
    if adapter.classes is not None:
        return adapter.classes[int(np.argmax(outputs))]
    return (split or Split(0.0)).outcome(float(outputs[0]))


def _rule_outcome(
    adapter: ModelAdapter, rule: Rule, row: Mapping[str, Any], split: Split | None
) -> Any:
    if adapter.classes is not None:
        return rule.predict(row)  # a score rule's class depends on the row
    return (split or Split(0.0)).outcome(float(rule.predict(row)))


def _move_into(
    rule: Rule,
    instance: Mapping[str, Any],
    schema: FeatureSchema,
    depth: float,
    allowed_categories: _AllowedCategories,
) -> tuple[dict[str, Any], float] | None:
    """The smallest moves that make ``instance`` meet every condition of ``rule`` (and
    their total size in spreads), or None when the data's range does not allow it."""
    changes: dict[str, Any] = {}
    cost = 0.0
    for name in dict.fromkeys(c.feature for c in rule.conditions):
        conditions = [c for c in rule.conditions if c.feature == name]
        value = instance[name]
        if all(c.holds(value) for c in conditions):
            continue
        feature = schema[name]
        if feature.is_discrete:
            allowed = allowed_categories(name, conditions)
            if not allowed:
                return None
            # The commonest (by identity: as dict keys True, 1 and 1.0 would be one).
            counts = dict(zip(map(category_identity, feature.categories), feature.counts))
            changes[name] = max(allowed, key=lambda v: counts.get(category_identity(v), 0))
            cost += 1.0
            continue
        new = _numeric_move(conditions, feature, value, depth)
        if new is None:
            return None
        spread = _feature_spread(feature) or 1.0
        current = finite(value)
        cost += abs(new - current) / spread if current is not None else 1.0
        changes[name] = int(new) if feature.kind == "integer" else new
    return changes, cost


def _numeric_move(
    conditions: list[Condition], feature: Any, value: Any, depth: float
) -> float | None:
    low, high = -np.inf, np.inf
    for c in conditions:
        if c.op == "<=":
            high = min(high, float(c.value))
        elif c.op == ">":
            low = max(low, float(c.value))
    step = STEP * (_feature_spread(feature) or 1.0)
    if feature.kind == "integer":
        low_ok, high_ok = (np.floor(low) + 1 if np.isfinite(low) else -np.inf), np.floor(high)
    else:
        low_ok, high_ok = low + step, high
    current = finite(value)
    if current is not None and low < current <= high:
        return current
    if current is None:
        new = low_ok if np.isfinite(low_ok) else high_ok
    else:
        new = low_ok if current <= low else high_ok
    quantiles = dict(feature.quantiles)
    inside = (
        min(high, quantiles.get(0.95, high))
        if new == low_ok
        else max(low, quantiles.get(0.05, low))
    )
    if depth and np.isfinite(inside) and np.isfinite(new):
        new = new + depth * (inside - new)
        if feature.kind == "integer":
            new = float(np.floor(new) if new > low_ok else np.ceil(new))
    lo = feature.min if feature.min is not None else -np.inf
    hi = feature.max if feature.max is not None else np.inf
    if not np.isfinite(new) or new < lo or new > hi or new <= low or new > high:
        return None
    if feature.kind == "integer" and _narrow_float(feature) is None:
        return float(new)
    # A whole number stays whole (float16's numbers past 2048 are too, 2 or more apart).
    return _short(new, feature, lambda v: lo <= v <= hi and low < v <= high)


def _narrow_float(feature: Any) -> type[np.floating] | None:
    """The float16 or float32 type of a feature's column, which the model gets its values
    in; None for any other column."""
    bounded = bounded_dtype(feature.dtype)
    return bounded.type if bounded is not None and bounded.kind == "f" else None


def _short(value: float, feature: Any, holds: Callable[[float], bool]) -> float | None:
    """``value`` with the fewest digits, from four of the feature's spread, that still
    ``holds`` (inside the rule's range and the data's): the hint writes every digit of
    its values, and 2005.435115 reads worse than 2005.435. In a float16 or float32 column
    it is the number the column holds (the model gets) that has to hold: 1050.05 is 1050
    in float16, whose next number, 1051, is taken then. None when none holds."""
    narrow = _narrow_float(feature)
    scale = _feature_spread(feature) or abs(value) or 1.0
    for digits in range(4, 18):
        short = float(format_number(value, digits, scale))
        if holds(short if narrow is None else float(narrow(short))):
            return short
    if narrow is None:
        return float(value) if holds(float(value)) else None
    for toward in (np.inf, -np.inf):
        near = np.nextafter(narrow(value), narrow(toward))
        if holds(float(near)):
            return float(str(near))  # its shortest text, read back as the same number
    return None
