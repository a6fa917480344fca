"""A global surrogate: readable rules that mimic the model, with held-out fidelity.

Every row is covered by exactly one rule. The rules are fit to the model's OWN outputs
(its predicted class, or its predicted value) over X plus samples drawn near X, so they
also hold between the rows. Families, each tried at every size up to ``max_rules``:

- a decision tree grown best first (scikit-learn), once on all samples and once with the
  real rows weighted as much as all the samples drawn near them (near samples fill the
  space between rows; real rows say where the data lives: small trees do better on them);
- an optimal tree (STreeD, explainers/optimal_trees.py) with 3 to 8 leaves: of the trees
  of that size over 6 quantile thresholds of the 8 features the greedy trees use most, the
  one that agrees with the model on the most samples (the real rows and as many near
  ones), found as a whole rather than one split at a time;
- for regressors, a tree with linear leaves (1 to 4 of them): each leaf's prediction is its
  average plus a few linear terms ("+0.8 per 1000 of income"). Its splits are where one
  linear fit stops fitting (not where the mean changes, as a plain tree splits), and terms
  are added one at a time where they cut the error most, in the order of each leaf's lasso
  path. Smooth models read far better this way than as steps.
- for regressors, a tree with terms shared by every rule (explainers/shared_terms.py):
  linear ones, or steps ("+0.3 if lpi > 4.2") where a depth-2 tree on that feature splits. An
  additive effect is read once instead of repeated under every split.
- for binary classifiers, the same on a score: the second class's share, fit to 0 and 1
  (a linear probability model), the class being the second where the score is above 0.5.
  A class boundary across several features at once, which a tree draws as a staircase,
  reads as a few terms.

What a person must read is the number of rules: leaves plus terms (as RuleFit counts its
linear terms; a term shared by every rule counts once). A leaf no real row reaches is
merged away (its split only served samples drawn near the rows), and thresholds are
rounded to the fewest digits that keep every real row on its side ("bill_length_mm <=
43.3", not 43.2946).

The size is chosen by repeated cross-validation over the real rows (for a classifier, judged
with the samples drawn near them too): the fewest rules whose mean fidelity is within 0.005
of the best one tried with 95% confidence (size_choice.py: the error is that of each point's
difference to the best, paired over the same folds). Fidelity
(accuracy, or R² for regression) is then measured on held-out real rows (30% of X) that
neither the fit nor the choice saw; ``curve`` holds it for every family and size, with its
cross-validated mean and standard error and how well the rules also hold on samples drawn
near the held-out rows; its frontier is, per size, the point cross-validation rates best
where it beats every smaller size (the line the fidelity chart draws). ``with_size(k)``
gives the surrogate of another point of the curve without fitting again.

bench/surrogate.py measures the fidelity and fit time behind the choices below, beside
other rule learners.

With many features (more than 40) the families see the 30 the model relies on most: by
the importance the caller passes (e.g. mean |SHAP|), else by a quick randomised forest's,
together with the features a plain tree of the largest size grown on the real rows splits
on (the forest's sample misses some of them, and then no family can match that tree).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor
from sklearn.model_selection import KFold, RepeatedKFold, train_test_split
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor
from threadpoolctl import threadpool_limits

from ..data import Feature, FeatureSchema, category_identity, is_missing
from ..format import apart_scale, counted, exact_number, format_number, percent
from ..jobs import NEVER, Gate, Stop, no_progress, stopping_with, yielding_to
from ..model import ModelAdapter
from ..size_choice import fewest_rules_near_best, frontier
from ..size_choice import reason as size_choice_reason
from ..warn import warn_caller
from .linear_leaves import linear_leaf_models
from .optimal_trees import SOLVER, OptimalTreeArrays, fit_optimal_trees, quantile_cuts
from .rule_models import (
    OPTIMAL_TREE,
    SCORE_CUT,
    TREE,
    ConstantLeaves,
    GrownTree,
    Leaf,
    LinearLeaves,
    RuleModel,
    remap,
    round_between,
    subtree_totals,
)
from .shared_terms import shared_term_models
from .summed_trees import summed_tree_models

MAX_RULES = 32
RULE_SIZES = (2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 32)
# Greedy trees also grow past max_rules: merging the leaves no real row reaches often
# brings them back under it (a 48-leaf tree may show 30 rules).
GROWN_PAST = (40, 48, 64)
OPTIMAL_SIZES = (3, 4, 5, 6, 7, 8)  # optimal trees: depth 2 and 3 (a 2-leaf tree is greedy's)
OPTIMAL_FEATURES = 8  # the greedy tree's most used features, for the optimal search
OPTIMAL_CUTS = 6  # thresholds per feature, at quantiles (depth 3)
# Thresholds per feature at depth 2, where every feature is searched: for a classifier about
# OPTIMAL_WIDE_SPLITS in all, so that few features get fine thresholds (within these bounds);
# for a regressor the fewest (trees with linear leaves win its small sizes).
OPTIMAL_WIDE_SPLITS = 240
OPTIMAL_WIDE_CUTS = (8, 64)
OPTIMAL_ROWS = 3000  # real rows and as many near samples (an even sample above this)
MAX_REAL_ROWS = 20_000
NEAR_PER_ROW = 4  # samples drawn near each training row: rules must hold between rows
# With thousands of real rows, the space between them is already covered: more samples
# there add fit time, not fidelity.
MAX_NEAR = 10_000
TEST_SHARE = 0.3
MIN_CV_ROWS = 10  # fewer real rows: cross-validate over the samples drawn near them
MIN_REAL_FIT = 30  # fewer real rows: no family is fit on the real rows alone
SCREEN_ABOVE = 40  # more features than this: the families see the most important ones
SCREEN_KEEP = 30
SCREEN_ROWS = 2000  # samples the quick screening trees learn from
SCREEN_TREE_ROWS = 4000  # real rows the screening plain tree learns from (~2 s on 1,000 features)
CELLS_AT_ONCE = 2_000_000  # rows x features a temporary holds at most (16 MB as float64)

Key = tuple[str, int, int]  # (how it was fit, leaves, linear terms)


class Condition(NamedTuple):
    """One test of a rule, in original units: ``(feature, op, value)``. ``feature`` is the
    feature's name; in rules the Python API returns, X's own column label (an int, a tuple).
    ``column``: for a test on categories, the feature's summary, by which a value is read as
    one of its categories (as ``rule_for`` reads it) and written by its label."""

    feature: Any
    op: str
    value: Any
    column: Feature | None = None

    def __repr__(self) -> str:
        return f"Condition({self.feature!r}, {self.op!r}, {self.value!r})"

    def holds(self, value: Any) -> bool:
        """Whether a feature value meets this condition. A category is the value with its
        type, as in the schema: in an object column 1, "1" and True are three."""
        if is_missing(value):
            return False
        if self.op == "<=":
            return float(value) <= self.value
        if self.op == ">":
            return float(value) > self.value
        category = self.category(value)
        if category is None:  # no category of X: read as missing, as rule_for reads it
            return False
        if self.op == "==":
            return category == category_identity(self.value)
        if self.op == "!=":
            return category != category_identity(self.value)
        return category in {category_identity(v) for v in self.value}

    def category(self, value: Any) -> tuple[type, Any] | None:
        """The identity of the category a value is (``category_identity``), read as the
        schema reads a row's value (``Feature.coerce``); None when it is none of X's."""
        if self.column is None:  # a condition made by hand: the value as it is
            return category_identity(value)
        try:
            return category_identity(self.column.coerce(value))
        except ValueError:
            return None

    def reads_missing(self, value: Any) -> bool:
        """Whether the rules read a value as missing: a missing one, or, in a test on
        categories, one that is none of X's categories."""
        if is_missing(value):
            return True
        return self.op in ("==", "!=", "in") and self.category(value) is None

    @property
    def text(self) -> str:
        """The condition as people read it: ``income > 52000``, ``city in {Paris, Lyon}``;
        categories by their labels, which tell apart two that write the same (``1 (int)``)."""
        if self.op == "in":
            return f"{self.feature} in {{{', '.join(map(self._category_text, self.value))}}}"
        if _is_number(self.value) and self.op in ("<=", ">"):
            return f"{self.feature} {self.op} {exact_number(self.value)}"
        return f"{self.feature} {self.op} {self._category_text(self.value)}"

    def _category_text(self, value: Any) -> str:
        label = str(value) if self.column is None else self.column.label_of(value)
        return _category_text(label)


def _category_text(text: str) -> str:
    """A category's text, quoted where it would blur the list it stands in ("Paris,
    France", "", " x"), or the line (a line break or tab, written as ``\\n``)."""
    if not text or text != text.strip() or any(c in text for c in ',{}"\n\r\t'):
        return json.dumps(text, ensure_ascii=False)
    return text


class LinearTerm(NamedTuple):
    """``weight`` per ``per`` units of ``feature``, counted from ``center`` (the leaf's mean);
    or, with ``above`` set, a step: ``weight`` where ``feature > above``, else nothing; or,
    with ``when`` set (a leaf of a sum of trees), ``weight`` where every condition holds.

    A missing value counts as ``fill`` (the value the surrogate fills it with; per
    condition of ``when``, ``when_fill``); ``missing`` names the term's features with
    missing values in X, whose text says what a missing one does. A ``shared`` term is in
    every rule with the same weight (only its centre differs).
    """

    feature: Any  # as a Condition's
    weight: float
    per: float
    center: float
    fill: float = float("nan")
    shared: bool = False
    above: float | None = None
    when: tuple[Condition, ...] = ()
    when_fill: tuple[float, ...] = ()
    missing: frozenset[str] = frozenset()

    @property
    def is_step(self) -> bool:
        """Whether it adds its weight or nothing (not per unit of a feature)."""
        return self.above is not None or bool(self.when)

    @property
    def phrase(self) -> str:
        """``+0.8 per 1000 of income``, ``+0.3 if lpi > 4.2`` or ``+0.3 if lpi > 4.2 and
        disea <= 10``."""
        sign = "+" if self.weight >= 0 else "\u2212"
        # Three digits: the weight's size is what is read; the payload keeps every digit.
        weight = format_number(abs(self.weight), digits=3)
        if self.when:
            when = zip(self.when, self.when_fill)
            return f"{sign}{weight} if {' and '.join(self.condition_text(c, f) for c, f in when)}"
        if self.above is not None:
            step = Condition(self.feature, ">", self.above)
            return f"{sign}{weight} if {self.condition_text(step, self.fill)}"
        per = f"{sign}{weight} per {format_number(self.per)} of {self.feature}"
        if self.feature in self.missing:
            return f"{per} (a missing one counts as {format_number(self.fill)})"
        return per

    def condition_text(self, condition: Condition, fill: float) -> str:
        """A condition of a step, and ``or missing`` where a missing value (counted as
        ``fill``) meets it and the step's other conditions on its feature: "x > 1.7 and
        x <= 2.3 or missing" read as if a missing x took the weight it never takes."""
        same = [(c, f) for c, f in zip(self.when, self.when_fill) if c.feature == condition.feature]
        meets = condition.feature in self.missing and all(
            c.holds(f) for c, f in [(condition, fill), *same]
        )
        return condition.text + (" or missing" if meets else "")

    @property
    def text(self) -> str:
        """The phrase, and ``(in every rule)`` for a shared term: a rule read on its own."""
        return self.phrase + (" (in every rule)" if self.shared else "")

    def effect(self, value: Any) -> float:
        """What this term adds for a value of ``feature`` (a term with ``when``: see
        ``effect_in``)."""
        if is_missing(value):
            value = self.fill if np.isfinite(self.fill) else self.center
        if self.above is not None:
            return self.weight if float(value) > self.above else 0.0
        return self.weight * (float(value) - self.center) / self.per

    def effect_in(self, row: Mapping[str, Any] | pd.Series) -> float:
        """What this term adds for a row."""
        if not self.when:
            return self.effect(row_value(row, self.feature))
        for condition, fill in zip(self.when, self.when_fill):
            value = row_value(row, condition.feature)
            if not condition.holds(fill if condition.reads_missing(value) else value):
                return 0.0
        return self.weight


def row_value(row: Mapping[str, Any] | pd.Series, feature: Any) -> Any:
    """A row's value of ``feature``: the row (a dict or Series) keyed by feature names or by
    X's own column labels, which name a feature by their text ("0" for 0), whichever the
    rule's conditions use."""
    if feature in row:
        return row[feature]
    text = str(feature)
    for key in row.keys():  # noqa: SIM118 -- a Series iterates its values
        if str(key) == text:
            return row[key]
    raise _no_value([feature])


def _no_value(features: Sequence[Any]) -> KeyError:
    """The error for a row without a value for some features: what is missing, and what to
    pass instead."""
    shown = ", ".join(repr(feature) for feature in features[:5])
    return KeyError(
        f"The row has no value for {shown}{' …' if len(features) > 5 else ''}: pass a whole "
        "row of X (e.g. X.iloc[i] or w.instance), with every feature."
    )


@dataclass(frozen=True)
class Rule:
    """IF all ``conditions`` hold THEN the surrogate predicts ``prediction``.

    With ``terms``, ``prediction`` is the value at the leaf's average row (on its linear
    terms; below every step), and a row gets ``prediction +
    sum(term.effect_in(row))``. With ``classes`` (a binary classifier's score
    rule) that is the score of ``classes[1]``, and the row's class is ``classes[1]`` where
    the score is above ``SCORE_CUT``, else ``classes[0]``.
    """

    id: int
    conditions: list[Condition]
    prediction: Any
    coverage: float
    samples: int
    outcome: str = "prediction"  # "class" for classifiers: reads "THEN class = benign"
    terms: tuple[LinearTerm, ...] = ()
    classes: tuple[Any, Any] | None = None
    # Per feature of the conditions with missing values in X: the value a missing one counts
    # as (the surrogate fills them before it splits). A condition it meets reads "or missing".
    missing_as: Mapping[str, Any] = field(default_factory=dict)
    # The scale its value is written at (format_number's), where its own digits would not
    # tell it from another rule's; None: its own.
    scale: float | None = None

    def __repr__(self) -> str:
        return f"Rule {self.id + 1}: {self.text()}  [coverage {percent(self.coverage)}]"

    def predict(self, row: Mapping[str, Any] | pd.Series) -> Any:
        """The rule's prediction for a row it covers (its terms applied): a class, or a
        value."""
        if not self.terms:
            return self.prediction
        if self.classes is not None:
            return self.classes[1] if self.score(row) > SCORE_CUT else self.classes[0]
        return self.score(row)

    def score(self, row: Mapping[str, Any] | pd.Series) -> float:
        """The rule's value for a row it covers, its terms applied (a score rule's score)."""
        return float(self.prediction) + sum(t.effect_in(row) for t in self.terms)

    def covers(self, row: Mapping[str, Any] | pd.Series) -> bool:
        """Whether a row (dict or Series of feature values) meets every condition."""
        return all(self.met(row))

    def met(self, row: Mapping[str, Any] | pd.Series) -> list[bool]:
        """Per condition, whether the row meets it."""
        return [self.holds(c, row_value(row, c.feature)) for c in self.conditions]

    def holds(self, condition: Condition, value: Any) -> bool:
        """Whether a value meets one of the conditions (a missing one as it counts here)."""
        if condition.feature in self.missing_as and condition.reads_missing(value):
            value = self.missing_as[condition.feature]
        return condition.holds(value)

    def condition_text(self, condition: Condition) -> str:
        """``bmi <= 0.017``, or ``bmi <= 0.017 or missing`` where a missing value meets it
        and the rule's other conditions on its feature ("x > 1 or missing AND x <= 2" read
        as if the rule covered a missing x, which fails ``x <= 2``)."""
        same = [c for c in self.conditions if c.feature == condition.feature]
        meets = all(self.holds(c, None) for c in [condition, *same])
        return condition.text + (" or missing" if meets else "")

    def text(self, *, alone: bool = True) -> str:
        """``IF a > 1 AND b in {x, y} THEN prediction = 3.2``. ``alone=False``: without the
        terms shared by every rule and a score's cut, for a list that states them once."""
        when = " AND ".join(self.condition_text(c) for c in self.conditions) or "always"
        then = (
            format_number(self.prediction, scale=self.scale)
            if _is_number(self.prediction)
            else str(self.prediction)
        )
        if self.terms:
            # The average row is printed so that the rule can be applied by hand (a step
            # term needs none: it adds its weight or nothing).
            linear = [t for t in self.terms if not t.is_step]
            centre = ", ".join(f"{t.feature} = {format_number(t.center)}" for t in linear)
            if linear:
                then += f" at the rule's average row ({centre})"
            own = [t.text for t in self.terms if alone or not t.shared]
            then += ", " + ", ".join(own) if own else ""
        if self.classes is not None and alone:
            then += f"; {self.cut_text()}"
        return f"IF {when} THEN {self.outcome} = {then}"

    def cut_text(self) -> str:
        """Where a score rule's class turns: ``class yes above 0.5, else no``."""
        assert self.classes is not None
        return f"class {self.classes[1]} above {SCORE_CUT}, else {self.classes[0]}"


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


_SERIALS = itertools.count()  # Surrogate._serial (next() on a count is atomic in CPython)


@dataclass
class Surrogate:
    """The fitted global surrogate: rules, held-out fidelity, and the size trade-off.

    ``curve`` has one point per family and number of rules: ``{family, rules, fidelity
    (held-out real rows), between (samples drawn near them), validation (mean over the
    cross-validation folds), validation_se (its standard error), near_best (within 0.005 of
    the best with 95% confidence), frontier (the best cross-validated of its size, better than
    every smaller size), recommended (the point cross-validation chose), chosen (the point
    these rules are)}``. ``reason`` says in words why this size was chosen.
    """

    rules: list[Rule]
    fidelity: float
    metric: str
    family: str
    curve: list[dict[str, Any]]
    schema: FeatureSchema = field(repr=False)
    model: RuleModel = field(repr=False)
    encoder: _TreeEncoder = field(repr=False)
    leaf_rules: dict[int, Rule] = field(repr=False)
    classes: list[Any] | None = field(default=None, repr=False)
    reason: str = ""
    # Every point of the curve's model, by (family, rules): what with_size() reads.
    alternatives: dict[tuple[str, int], RuleModel] = field(default_factory=dict, repr=False)
    # The rows coverage is measured on (X, encoded).
    encoded_X: np.ndarray | None = field(default=None, repr=False)
    screened: list[str] | None = field(default=None, repr=False)  # features the fit saw
    # Per point of the curve (family, rules), its score on each cross-validation fold.
    fold_scores: dict[tuple[str, int], np.ndarray] = field(default_factory=dict, repr=False)
    # False: X had too few rows (under 10) to hold any out; fidelity is then measured on
    # samples drawn near its rows.
    held_out: bool = True
    # Whether its rules name features by X's own column labels (with_labels), not by name.
    labelled: bool = field(default=False, repr=False)
    # This object's own number, new for every copy (with_size, with_labels): what a cache
    # keys results of these rules by. Its id() is no such key: a size dropped frees its
    # address for the next one.
    _serial: int = field(
        init=False, default_factory=lambda: next(_SERIALS), repr=False, compare=False
    )

    @property
    def complexity(self) -> int:
        """The number of rules a person has to read: rules plus their linear terms (a term
        shared by every rule is read once)."""
        own = sum(1 + sum(not term.shared for term in rule.terms) for rule in self.rules)
        shared = {
            (term.feature, term.above, term.when)
            for rule in self.rules
            for term in rule.terms
            if term.shared
        }
        return own + len(shared)

    @property
    def size(self) -> int:
        """The number of rules read (``complexity``): what ``with_size`` takes."""
        return self.complexity

    def rule_for(self, row: Mapping[str, Any] | pd.Series) -> Rule:
        """The rule that covers a row (a dict or Series of original feature values). A
        missing value, or a category X never had (read as missing, with a warning), only
        where X has missing values: elsewhere the model never saw one, and it is refused
        (ValueError), as by ``set_features``."""
        if isinstance(row, pd.DataFrame):  # X.iloc[[5]]: its one row
            if len(row) != 1:
                raise TypeError(
                    f"rule_for takes one row, not a DataFrame of {counted(len(row), 'row')}: "
                    "pass a dict or a Series (e.g. X.iloc[5]), or call it once per row."
                )
            row = row.iloc[0]
        if not isinstance(row, (Mapping, pd.Series)):
            raise TypeError(
                "rule_for takes a row as a dict or a pandas Series of feature -> value (e.g. "
                f"X.iloc[i] or w.instance), not {type(row).__name__}: its values need their "
                "features' names."
            )
        if any(name not in row for name in self.schema.names):
            # X's own column labels (ints, tuples) name the features as their text does.
            row = {str(label): value for label, value in row.items()}
        missing = [name for name in self.schema.names if name not in row]
        if missing:
            raise _no_value(missing)
        values = {}
        for name in self.schema.names:  # a loop: a warning then points at the caller's line
            values[name] = _rule_value(self.schema[name], row[name])
        # Encoded as given: through the column's dtype 4.9 would read 4 in an int column.
        return self.rules_for_encoded(self.schema.encode_row(values)[None, :])[0]

    def rules_for_encoded(self, encoded: np.ndarray) -> list[Rule]:
        """The covering rule of each encoded row."""
        leaves = self.model.apply(self.encoder.transform(np.atleast_2d(encoded)))
        return [self.leaf_rules[int(leaf)] for leaf in leaves]

    def predict_encoded(self, encoded: np.ndarray) -> np.ndarray:
        """The surrogate's output for encoded rows: class positions, or values."""
        return self.model.predict(self.encoder.transform(np.atleast_2d(encoded)))

    @property
    def chosen(self) -> dict[str, Any]:
        """The point of ``curve`` these rules are."""
        return next(point for point in self.curve if point["chosen"])

    @property
    def recommended(self) -> dict[str, Any]:
        """The point of ``curve`` that cross-validation chose."""
        return next(point for point in self.curve if point.get("recommended"))

    @property
    def sizes(self) -> list[int]:
        """Every number of rules on the curve, ascending (what ``with_size`` can give)."""
        return sorted({int(point["rules"]) for point in self.curve})

    def with_size(self, rules: int, family: str | None = None) -> Surrogate:
        """The surrogate of another point of the curve, read off what the fit kept.

        The point with ``rules`` rules (leaves plus linear terms) or, when the curve has
        no such point, the nearest size tried (the smaller one on a tie); of several
        families of that size, ``family`` if given (a clicked point of the fidelity chart),
        else the recommended one (so going back to the recommended size gives it back),
        else the one cross-validation rated best: the most faithful rules of that size,
        whichever family the current ones are.
        Nothing is fitted again: the rules, their coverage and thresholds follow.
        """
        if isinstance(rules, (float, np.floating)) and float(rules).is_integer():
            rules = int(rules)  # 3.0 is the whole number its message asks for
        if isinstance(rules, bool) or not isinstance(rules, (int, np.integer)) or rules < 1:
            sizes = sorted({int(p["rules"]) for p in self.curve})
            raise ValueError(
                f"A surrogate size is a whole number of rules >= 1, not {rules!r}: e.g. "
                f"w.surrogate_size = {sizes[len(sizes) // 2]} (sizes tried: {sizes[0]} to "
                f"{sizes[-1]}), or None for the size cross-validation chose."
            )
        nearest = min(abs(int(p["rules"]) - int(rules)) for p in self.curve)
        at = [p for p in self.curve if abs(int(p["rules"]) - int(rules)) == nearest]
        smallest = min(int(p["rules"]) for p in at)
        at = [p for p in at if int(p["rules"]) == smallest]
        at = [p for p in at if p["family"] == family] or at
        point = max(
            at,
            key=lambda p: (bool(p.get("recommended")), p["validation"]),
        )
        if point["chosen"]:
            return self
        model = self.alternatives[(point["family"], int(point["rules"]))]
        leaf_rules = _numbered_rules(model, self.encoder, self.schema, self.classes, self.encoded_X)
        recommended = self.recommended
        reason = (
            f"{counted(int(point['rules']), 'rule')} picked by hand ({point['family']}, cross-validated "
            f"{point['validation']:.3f} ± {point['validation_se']:.3f}); cross-validation "
            f"recommends {recommended['rules']} ({recommended['family']}, "
            f"{recommended['validation']:.3f} ± {recommended['validation_se']:.3f})"
        )
        other = dataclasses.replace(
            self,
            rules=sorted(leaf_rules.values(), key=lambda r: r.id),
            fidelity=float(point["fidelity"]),
            family=point["family"],
            curve=[{**p, "chosen": p is point} for p in self.curve],
            model=model,
            leaf_rules=leaf_rules,
            reason=reason,
            labelled=False,
        )
        return other.with_labels() if self.labelled else other

    def with_labels(self) -> Surrogate:
        """This surrogate with its rules naming features by X's own column labels (ints,
        tuples), as the Python API returns it; itself when X's labels are text. The panel
        and the counterfactual search read the rules by name."""
        if self.labelled or not self.schema.own_labels:
            return self
        return self._labelled_copy

    @functools.cached_property
    def _labelled_copy(self) -> Surrogate:  # made once: w.surrogate is w.surrogate
        schema = self.schema
        return dataclasses.replace(
            self,
            rules=[rule_with_labels(rule, schema) for rule in self.rules],
            leaf_rules={
                leaf: rule_with_labels(rule, schema) for leaf, rule in self.leaf_rules.items()
            },
            screened=None if self.screened is None else list(map(schema.label, self.screened)),
            labelled=True,
        )

    def __repr__(self) -> str:
        return f"Surrogate: {self.caption}\n{self.text()}"

    @property
    def caption(self) -> str:
        """What the surrogate is, as the panel's rule table heads it: ``tree with shared
        terms, 8 rules (2 leaves + 6 terms), held-out accuracy 0.974``."""
        terms = self.complexity - len(self.rules)
        leaves = counted(len(self.rules), "leaf", "leaves")
        parts = f" ({leaves} + {counted(terms, 'term')})" if terms else ""
        metric = "R²" if self.metric == "r2" else "accuracy"
        judged = (
            f"held-out {metric}"
            if self.held_out
            else f"{metric} on samples near X's rows (too few rows to hold any out)"
        )
        return f"{self.family}, {counted(self.complexity, 'rule')}{parts}, {judged} {self.fidelity:.3f}"

    def text(self) -> str:
        """All rules as IF … THEN … lines, with coverage; the terms every rule shares and a
        score's cut once, after them."""
        lines = [
            f"{rule.text(alone=False)}  [coverage {percent(rule.coverage)}]" for rule in self.rules
        ]
        return "\n".join(lines + self.common_lines())

    def common_lines(self) -> list[str]:
        """What every rule has, said once after them: the terms they share (the same weight;
        a linear one counts from each rule's own average row) and a score's cut."""
        lines = []
        shared = [t.phrase for t in self.rules[0].terms if t.shared] if self.rules else []
        if shared:
            lines.append("and in every rule: " + ", ".join(shared))
        scored = next((rule for rule in self.rules if rule.classes is not None), None)
        if scored is not None:
            lines.append(f"then {scored.cut_text()}")
        return lines

    def thresholds(self) -> dict[str, list[float]]:
        """Numeric thresholds per feature (where a rule would change)."""
        found: dict[str, set[float]] = {}
        for rule in self.rules:
            for c in rule.conditions:
                if c.op in ("<=", ">") and _is_number(c.value):
                    found.setdefault(c.feature, set()).add(float(c.value))
            for t in rule.terms:
                if t.above is not None:
                    found.setdefault(t.feature, set()).add(t.above)
                for c in t.when:
                    found.setdefault(c.feature, set()).add(float(c.value))
        return {name: sorted(values) for name, values in found.items()}


def _candidate_parts(classify: bool, numeric: list[int], n_classes: int) -> list[str]:
    """The families, in parts fit apart (each part's folds and final fit are tasks of
    their own): plain and optimal trees; a regressor's trees with linear leaves, with
    shared terms, and sums of trees; a binary classifier's trees with shared terms on a
    score."""
    if not numeric:
        return ["trees"]
    if classify:
        return ["trees", "shared"] if n_classes == 2 else ["trees"]
    return ["trees", "linear", "shared", "summed"]


# Submitted costliest first, so that the pool's last tasks are short ones: a long task
# last leaves the other cores idle while it runs.
PARTS_COSTLIEST_FIRST = ("shared", "trees", "summed", "linear")


def _candidates(
    T: np.ndarray,
    y: np.ndarray,
    is_real: np.ndarray,
    classify: bool,
    numeric: list[int],
    random_state: int,
    max_rules: int,
    part: str,
    stop: Stop = NEVER,
) -> dict[Key, RuleModel]:
    """The families and sizes of one of ``_candidate_parts``, keyed by (how it was fit,
    leaves, terms)."""
    found: dict[Key, RuleModel] = {}
    if part == "linear":
        for model in linear_leaf_models(T, y, numeric, max_rules):
            terms = model.complexity - len(model.fits)
            found[("linear", len(model.fits), terms)] = model
        return found
    if part == "summed":
        # Keyed by size alone: each fold's path splits its rules between leaves and terms
        # its own way, and a size is judged on every fold (keyed by both, most keys were
        # on one or two folds, whose lucky means won the curve).
        for model in summed_tree_models(
            T, y.astype(float), numeric, max_rules, random_state, is_real
        ):
            found[("summed", model.complexity, 0)] = model
        return found
    if part == "shared":
        target = y.astype(float)  # a binary classifier's class position: 0 or 1
        for model in shared_term_models(
            T, target, numeric, max_rules, random_state, is_real, scored=classify
        ):
            terms = model.complexity - len(model.fits)
            found[("shared", len(model.fits), terms)] = model
        return found
    sizes = [k for k in RULE_SIZES if k <= max_rules] or [1]
    sizes += [k for k in GROWN_PAST if max_rules < k <= 2 * max_rules]
    n_real = int(is_real.sum())
    n_near = len(y) - n_real
    # Three views of the samples: all of them; the real rows weighted as much as all the
    # near samples (where the data lives counts); the real rows alone (small trees often
    # fit the data best where it lives, and the held-out rows are real).
    views: dict[str, tuple[np.ndarray | slice, np.ndarray | None]] = {"tree": (slice(None), None)}
    if n_real and n_near:
        views["tree-real"] = (slice(None), np.where(is_real, n_near / n_real, 1.0))
    if n_real >= MIN_REAL_FIT and n_near:
        views["tree-only-real"] = (is_real, None)
    importance = np.zeros(T.shape[1])
    for name, (rows, weight) in views.items():
        stop.check()
        if len(np.unique(y[rows])) < 2:
            continue
        tree = _greedy_tree(T[rows], y[rows], weight, classify, max(2, max(sizes)), random_state)
        importance = importance + tree.feature_importances_
        if classify:
            output = tree.classes_[np.argmax(tree.tree_.value[:, 0, :], axis=1)]
        else:
            output = tree.tree_.value[:, 0, 0]
        grown = GrownTree.of(tree, output)
        for k in sizes:
            found[(name, k, 0)] = ConstantLeaves(grown, k, TREE)
    stop.check()
    for (variant, size), arrays in _optimal_trees(
        T, y, is_real, classify, importance, max_rules, random_state
    ).items():
        found[(variant, size, 0)] = ConstantLeaves(
            GrownTree.from_arrays(arrays, classify), size, OPTIMAL_TREE
        )
    return found


def _greedy_tree(
    T: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray | None,
    classify: bool,
    leaves: int,
    random_state: int,
) -> DecisionTreeClassifier | DecisionTreeRegressor:
    cls = DecisionTreeClassifier if classify else DecisionTreeRegressor
    return cls(max_leaf_nodes=leaves, random_state=random_state).fit(T, y, sample_weight=weight)


def _optimal_trees(
    T: np.ndarray,
    y: np.ndarray,
    is_real: np.ndarray,
    classify: bool,
    importance: np.ndarray,
    max_rules: int,
    random_state: int,
) -> dict[tuple[str, int], OptimalTreeArrays]:
    """Optimal trees of OPTIMAL_SIZES leaves, keyed by (rows, leaves): on the real rows and
    as many near samples ("optimal"), and on the real rows alone ("optimal-real").

    Depth 2 (3 or 4 leaves) searches every column the greedy trees used, a classifier's at
    about OPTIMAL_WIDE_SPLITS thresholds in all (a search as long for 2 columns as for 30,
    and the 2 cut finely); depth 3 only the OPTIMAL_FEATURES columns they used most (its
    search grows with the cube of the thresholds)."""
    # STreeD's regression crashed its process, on some runs only, at depth 3 on outputs of
    # two values (a step of one feature): those get depth 2 alone.
    two_values = not classify and len(np.unique(y)) == 2
    sizes = [k for k in OPTIMAL_SIZES if k <= (min(max_rules, 4) if two_values else max_rules)]
    if not sizes or len(y) < 20 or len(np.unique(y)) < 2:
        return {}
    rng = np.random.default_rng(random_state)
    real, near = np.flatnonzero(is_real), np.flatnonzero(~is_real)
    variants: dict[str, np.ndarray] = {}
    half = OPTIMAL_ROWS // 2
    some_real = rng.choice(real, half, replace=False) if len(real) > half else real
    some_near = rng.choice(
        near, min(len(near), max(len(some_real), OPTIMAL_ROWS - len(some_real))), replace=False
    )
    variants["optimal"] = np.sort(np.concatenate([some_real, some_near]))
    if len(real) >= MIN_REAL_FIT and len(near) and len(np.unique(y[real])) > 1:
        variants["optimal-real"] = np.sort(
            rng.choice(real, OPTIMAL_ROWS, replace=False) if len(real) > OPTIMAL_ROWS else real
        )
    ranked = [int(j) for j in np.argsort(-importance, kind="stable")]
    used = [j for j in ranked if importance[j] > 0] or ranked[:1]
    # A regressor's constant-leaf optimal trees are rarely its best of their size (trees
    # with linear leaves are): fine thresholds for them would cost seconds for nothing.
    wide_cuts = (
        int(np.clip(OPTIMAL_WIDE_SPLITS // len(used), *OPTIMAL_WIDE_CUTS))
        if classify
        else OPTIMAL_WIDE_CUTS[0]
    )
    found: dict[tuple[str, int], OptimalTreeArrays] = {}
    for variant, rows in variants.items():
        for depth_sizes, columns, n_cuts in (
            ([k for k in sizes if k <= 4], used, wide_cuts),
            ([k for k in sizes if k > 4], used[:OPTIMAL_FEATURES], OPTIMAL_CUTS),
        ):
            if not depth_sizes:
                continue
            trees = fit_optimal_trees(
                T[rows],
                y[rows],
                classify=classify,
                cuts=quantile_cuts(T[rows], columns, n_cuts),
                sizes=depth_sizes,
                min_leaf=max(1, len(rows) // 100),  # a leaf of 1% of the rows at least
                random_state=random_state,
            )
            found.update(((variant, size), arrays) for size, arrays in trees.items())
    return found


def _in_columns(model: RuleModel, columns: list[int], remapped: dict[int, GrownTree]) -> RuleModel:
    """A model fit on ``T[:, columns]`` -> the same model on the whole matrix ``T``. The
    sizes of one grown tree share one remapped tree (``remapped``, by the grown tree's id),
    and so its walks and its real rows per node."""

    def remap_tree(grown: GrownTree) -> GrownTree:
        if id(grown) not in remapped:
            remapped[id(grown)] = grown.remapped(columns)
        return remapped[id(grown)]

    if isinstance(model, ConstantLeaves):
        return ConstantLeaves(remap_tree(model.grown), model.leaves, model.family)
    if isinstance(model, LinearLeaves):
        grown = remap_tree(model.grown) if model.grown is not None else None
        fits = {node: remap(leaf, columns) for node, leaf in model.fits.items()}
        return LinearLeaves(grown, model.leaves, fits, model.shared, model.scored, model.family)
    raise TypeError(f"unknown surrogate model {type(model).__name__}")


def _in_units(
    model: RuleModel, center: float, spread: float, rescaled: dict[int, GrownTree]
) -> RuleModel:
    """A regressor's model fit to ``(y - center) / spread`` -> the same model predicting y.
    The sizes of one grown tree share one rescaled tree (``rescaled``, by its id)."""
    if isinstance(model, ConstantLeaves):
        grown = model.grown
        if id(grown) not in rescaled:
            assert grown.node_output is not None, "a tree of constant leaves has outputs"
            rescaled[id(grown)] = GrownTree(
                (grown.children_left, grown.children_right),
                grown.feature,
                grown.threshold,
                grown.samples,
                _in_model_units(grown.node_output, center, spread),
                grown.float32,
            )
        return ConstantLeaves(rescaled[id(grown)], model.leaves, model.family)
    if isinstance(model, LinearLeaves):
        fits = {
            node: dataclasses.replace(
                leaf,
                mean=float(_in_model_units(np.float64(leaf.mean), center, spread)),
                coef=np.asarray(leaf.coef) * spread,
            )
            for node, leaf in model.fits.items()
        }
        return LinearLeaves(
            model.grown, model.leaves, fits, model.shared, model.scored, model.family
        )
    raise TypeError(f"unknown surrogate model {type(model).__name__}")


def _in_model_units(values: np.ndarray, center: float, spread: float) -> np.ndarray:
    """``values * spread + center``, where what is zero but for rounding is zero: a rule
    read "prediction = -2.831e-15" where the model said 0."""
    found = np.asarray(values, dtype=float) * spread + center
    return np.where(np.abs(found) <= 1e-12 * (abs(center) + spread), 0.0, found)


class _RealRows(NamedTuple):
    """Per node of a whole grown tree: the real rows reaching it, and per split whose both
    sides they reach, its threshold rounded between the real values on either side. The
    same for every size of the tree that has the node."""

    reaching: np.ndarray
    cuts: dict[int, float]

    @classmethod
    def of(cls, grown: GrownTree, real_T: np.ndarray) -> _RealRows:
        reaching = np.zeros(len(grown.feature), dtype=np.int64)
        cuts: dict[int, float] = {}
        stack = [(0, np.arange(len(real_T)))]
        while stack:
            node, rows = stack.pop()
            reaching[node] = len(rows)
            if grown.children_left[node] == -1 or not len(rows):
                continue
            j, t = int(grown.feature[node]), float(grown.threshold[node])
            column = real_T[rows, j]
            left = (column.astype(np.float32) if grown.float32 else column) <= t
            if left.any() and not left.all():
                cuts[node] = round_between(float(column[left].max()), float(column[~left].min()), t)
            stack.append((int(grown.children_left[node]), rows[left]))
            stack.append((int(grown.children_right[node]), rows[~left]))
        return cls(reaching, cuts)


def _finalised(model: RuleModel, real_T: np.ndarray, real_rows: dict[int, _RealRows]) -> RuleModel:
    """The model as its rules are shown: leaves no real row reaches merged away (their
    parent's other side takes their samples) and thresholds rounded to the fewest digits
    that keep every real row on its side. ``real_rows`` keeps each grown tree's (by id) for
    its other sizes. Its leaves' training samples are counted again by ``_counted`` for the
    models that reach the curve (a walk of every sample each)."""
    if isinstance(model, LinearLeaves) and model.grown is None:
        return model
    grown: GrownTree = model.grown  # type: ignore[attr-defined]
    leaves: int = model.leaves  # type: ignore[attr-defined]
    if id(grown) not in real_rows:
        real_rows[id(grown)] = _RealRows.of(grown, real_T)
    root = _real_splits(grown, leaves, real_rows[id(grown)], 0)
    if root is None:  # no real row at all: nothing to merge
        return model
    children_left: list[int] = []
    children_right: list[int] = []
    feature: list[int] = []
    threshold: list[float] = []
    old: list[int] = []
    queue = [root]
    while queue:  # breadth first: node 0 is the root, every split before its children
        item = queue.pop(0)
        position = len(old)
        old.append(item[1])
        if item[0] == "leaf":
            children_left.append(-1)
            children_right.append(-1)
            feature.append(-2)
            threshold.append(-2.0)
            continue
        child = position + len(queue) + 1
        children_left.append(child)
        children_right.append(child + 1)
        feature.append(item[2])
        threshold.append(item[3])
        queue.extend([item[4], item[5]])
    output = grown.node_output[old] if grown.node_output is not None else None
    shaped = GrownTree(
        (np.array(children_left), np.array(children_right)), feature, threshold, None, output
    )
    n_leaves = shaped.n_leaves(len(old))
    if isinstance(model, LinearLeaves):
        fits = {
            node: model.fits[old[node]] for node in range(len(old)) if children_left[node] == -1
        }
        return LinearLeaves(shaped, n_leaves, fits, model.shared, model.scored, model.family)
    return ConstantLeaves(shaped, n_leaves, model.family)


def _counted(model: RuleModel, train_T: np.ndarray) -> RuleModel:
    """``model`` with the training samples reaching each node of its finalised tree counted."""
    grown: GrownTree | None = getattr(model, "grown", None)
    if grown is None or grown.samples is not None:
        return model
    n_nodes = len(grown.feature)
    reached = np.bincount(grown.apply(train_T, n_nodes), minlength=n_nodes)
    grown.samples = subtree_totals(grown.children_left, grown.children_right, reached)
    return model


def _real_splits(grown: GrownTree, leaves: int, real_rows: _RealRows, node: int) -> tuple | None:
    """The subtree at ``node`` of the ``leaves``-leaf tree with the leaves no real row
    reaches merged away: ``("leaf", node)`` or ``("split", node, column, threshold, low,
    high)``; None if no real row reaches it."""
    if not real_rows.reaching[node]:
        return None
    if grown.is_leaf(node, leaves):
        return ("leaf", node)
    low = _real_splits(grown, leaves, real_rows, int(grown.children_left[node]))
    high = _real_splits(grown, leaves, real_rows, int(grown.children_right[node]))
    if low is None or high is None:
        return low if high is None else high
    return ("split", node, int(grown.feature[node]), real_rows.cuts[node], low, high)


def _screened_columns(
    T: np.ndarray,
    y: np.ndarray,
    is_real: np.ndarray,
    classify: bool,
    importance: np.ndarray | None,
    max_rules: int,
    random_state: int,
) -> list[int]:
    """The columns the families see: all of them, or with many features the SCREEN_KEEP
    the model relies on most (by ``importance``, else by a quick randomised forest's plus
    the ones a plain tree of ``max_rules`` leaves on the real rows splits on)."""
    n = T.shape[1]
    if n <= SCREEN_ABOVE:
        return list(range(n))
    if importance is not None:
        importance = np.asarray(importance, dtype=float).ravel()
        if importance.shape != (n,):
            raise ValueError(
                f"importance has {importance.size} values but X has {n} features: pass one "
                "value per feature (e.g. the mean |SHAP| of each column), or None"
            )
        score = np.nan_to_num(np.abs(importance))
        return sorted(int(j) for j in np.argsort(-score, kind="stable")[:SCREEN_KEEP])
    # Extremely randomised trees that each look at a few features per split: every feature
    # gets its chance at a fraction of one full tree's cost.
    rng = np.random.default_rng(random_state)
    rows = rng.choice(len(T), min(len(T), SCREEN_ROWS), replace=False)
    forest_cls = ExtraTreesClassifier if classify else ExtraTreesRegressor
    forest = forest_cls(
        n_estimators=60, max_features="sqrt", max_leaf_nodes=32, random_state=random_state
    ).fit(T[rows], y[rows])
    ranked = np.argsort(-forest.feature_importances_, kind="stable")[:SCREEN_KEEP]
    # A plain tree searches every feature at every split, which the forest's few per split
    # do not: on 1,000 features its sample missed two of the 11 features a 16-leaf tree used.
    real = np.flatnonzero(is_real) if is_real.sum() >= MIN_REAL_FIT else np.arange(len(T))
    if len(real) > SCREEN_TREE_ROWS:
        real = np.sort(rng.choice(real, SCREEN_TREE_ROWS, replace=False))
    if len(np.unique(y[real])) < 2:
        return sorted(int(j) for j in ranked)
    tree = _greedy_tree(T[real], y[real], None, classify, max(2, max_rules), random_state)
    split_on = tree.tree_.feature[tree.tree_.feature >= 0]
    return sorted({int(j) for j in ranked} | {int(j) for j in split_on})


class _TreeEncoder:
    """Recodes categories by the mean model output, so one split makes a category set."""

    def __init__(self, schema: FeatureSchema, encoded: np.ndarray, target: np.ndarray) -> None:
        self.schema = schema
        self.order: dict[int, np.ndarray] = {}  # feature position -> codes in split order
        # A column with no value here fills with 0 (nanmedian would warn of its all-NaN slice).
        known = ~np.isnan(encoded).all(axis=0)
        self.fill = np.zeros(encoded.shape[1])
        self.fill[known] = np.nanmedian(encoded[:, known], axis=0)
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

    def missing_as(self, j: int) -> Any:
        """The value (in X's units) a missing value of feature ``j`` counts as here."""
        if j in self.order:
            categories = self.schema.features[j].categories
            return categories[int(np.clip(np.rint(self.fill[j]), 0, len(categories) - 1))]
        return float(self.fill[j])

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
    classify = adapter.is_classifier

    def labels(rows: np.ndarray) -> np.ndarray:
        # In blocks of rows: on wide data a decoded copy of every sample is hundreds of MB.
        step = max(256, CELLS_AT_ONCE // max(1, rows.shape[1]))
        outputs = np.vstack(
            [adapter.predict(schema.decode(rows[i : i + step])) for i in range(0, len(rows), step)]
        )
        return outputs.argmax(axis=1) if classify else outputs[:, 0]

    return SurrogateData(
        train_X,
        labels(train_X),
        test_X=test_X,
        test_y=labels(test_X),
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
    progress: Callable[[int, int], None] | None = None,
    stop: Stop | None = None,
    importance: np.ndarray | None = None,
    live_gate: Gate | None = None,
) -> Surrogate:
    """Fit the rule surrogate; see the module docstring for how it is chosen.

    ``progress(done, total)`` is called as the folds and the final fit finish; ``stop``
    is checked between steps (``stop.check()`` raises ``Cancelled``); ``importance`` (one
    value per feature, e.g. mean |SHAP|) picks the features a wide X is screened to; the
    fit pauses between its split searches while ``live_gate`` has a live request under way.
    """
    stop = stop if stop is not None else NEVER
    report = progress if progress is not None else no_progress
    if max_rules < 1:
        raise ValueError(f"max_rules must be at least 1 (one rule for every row), got {max_rules}")
    if max_rules >= min(OPTIMAL_SIZES):
        SOLVER.start()  # its process imports while the model labels the samples
    data = surrogate_samples(adapter, schema, encoded_X, random_state=random_state)
    stop.check()
    classify = adapter.is_classifier
    classes = list(adapter.classes or []) if classify else None
    score = _accuracy if classify else _r2
    encoder = _TreeEncoder(schema, data.train_X, data.train_y.astype(float))
    train_T = encoder.transform(data.train_X)
    test_T = encoder.transform(data.test_X)
    real_T = np.vstack([train_T[data.train_is_real], test_T[data.test_is_real]])
    y, is_real = data.train_y, data.train_is_real
    if len(np.unique(y)) == 1:  # nothing to split: no family can learn more than one rule
        report(1, 1)
        return _one_rule(data, schema, encoder, classes, encoded_X, test_T, score)
    # A regressor's outputs are fit in standard units and the models read back in the
    # model's: STreeD crashed the process on outputs near 1e10, and far from unit scale
    # splits were lost to rounding (scikit-learn stops at an impurity of 1e-16).
    center, spread = (0.0, 1.0) if classify else (float(y.mean()), float(y.std()))
    fit_y = y if classify else (y - center) / spread
    columns = _screened_columns(
        train_T, fit_y, is_real, classify, importance, max_rules, random_state
    )
    T = train_T[:, columns]
    numeric = [i for i, j in enumerate(columns) if not schema.features[j].is_discrete]
    folds = _folds(data, random_state, classify)
    parts = _candidate_parts(classify, numeric, len(classes or []))
    total = len(parts) * (len(folds) + 1) + 1
    halt = Stop(stop)  # also set when one step fails, so that the others stop early

    def candidates(part: str, rows: np.ndarray | slice) -> dict[Key, RuleModel]:
        halt.check()
        # The parts' steps (yield_to_live) and the optimal trees' solver fits end here too.
        with stopping_with(halt):
            found = _candidates(
                T[rows],
                fit_y[rows],
                is_real[rows],
                classify,
                numeric,
                random_state,
                max_rules,
                part,
                halt,
            )
        if classify:
            return found
        rescaled: dict[int, GrownTree] = {}
        return {key: _in_units(m, center, spread, rescaled) for key, m in found.items()}

    def fold(part: str, fit: np.ndarray, judge: np.ndarray) -> dict[Key, float]:
        judged_T, truth, real = T[judge], y[judge], is_real[judge]
        if classify and real.any() and not real.all():
            # The real rows weigh as much as all the near samples: they say where the data
            # lives (the held-out report is on them); the samples add judges around them.
            weight = np.where(real, (~real).sum() / real.sum(), 1.0)
            return {
                key: float(np.average(truth == model.predict(judged_T), weights=weight))
                for key, model in candidates(part, fit).items()
            }
        return {
            key: _score(score, truth, model.predict(judged_T))
            for key, model in candidates(part, fit).items()
        }

    def final_models(part: str) -> dict[Key, tuple[RuleModel, np.ndarray]]:
        # Shaped as shown and judged on the held-out rows right here, beside the folds
        # still running.
        remapped: dict[int, GrownTree] = {}
        real_rows: dict[int, _RealRows] = {}
        found = {}
        for key, model in candidates(part, slice(None)).items():
            shown = _finalised(_in_columns(model, columns, remapped), real_T, real_rows)
            found[key] = (shown, shown.predict(test_T))
        return found

    # Every part's folds and final fit are independent: tree building releases the GIL, so
    # threads use every core. Each thread's BLAS uses one core meanwhile (the library's
    # limit is per process, so for the fit's few seconds): a BLAS thread per core in every
    # worker would oversubscribe the cores the threads already use.
    workers = max(1, min(total - 1, os.cpu_count() or 1))
    finals: dict[str, dict[Key, tuple[RuleModel, np.ndarray]]] = {}
    scored: dict[tuple[str, int], dict[Key, float]] = {}
    one_blas_thread = threadpool_limits(1, user_api="blas") if workers > 1 else nullcontext()
    with (
        one_blas_thread,
        ThreadPoolExecutor(
            max_workers=workers, initializer=yielding_to, initargs=(live_gate,)
        ) as pool,
    ):
        tasks: dict[Future, tuple[str, int | None]] = {}
        for part in sorted(parts, key=PARTS_COSTLIEST_FIRST.index):
            tasks[pool.submit(final_models, part)] = (part, None)
            for i, (fit, judge) in enumerate(folds):
                tasks[pool.submit(fold, part, fit, judge)] = (part, i)
        try:
            for done, job in enumerate(as_completed(tasks), 1):
                part, fold_at = tasks[job]
                if fold_at is None:
                    finals[part] = job.result()
                else:
                    scored[part, fold_at] = job.result()
                report(done, total)
                stop.check()
        except BaseException:
            halt.set()
            for job in tasks:
                job.cancel()
            raise
    stop.check()
    # In the parts' and folds' order, whichever finished first: the same means to the last
    # digit every run, and the same order of ties.
    final = {key: found[0] for part in parts for key, found in finals[part].items()}
    predicted = {key: found[1] for part in parts for key, found in finals[part].items()}
    scores = [
        {k: v for part in parts for k, v in scored[part, i].items()} for i in range(len(folds))
    ]
    by_fold = {key: np.array([s.get(key, np.nan) for s in scores], dtype=float) for key in final}
    models = {
        key: m
        for key, m in final.items()
        if np.isfinite(by_fold[key]).any() and m.complexity <= max_rules
    }
    # Whether the folds' near samples judged too (a classifier's, with real rows to leave out).
    judged_near = any((judge & ~is_real).any() for _, judge in folds)
    folds_text = f"{len(folds)} cross-validation folds over the training rows" + (
        " and the samples drawn near them" if judged_near else ""
    )
    curve, chosen_key, reason = _curve_and_choice(
        models, by_fold, data, predicted, score, "accuracy" if classify else "R²", folds_text
    )
    alternatives = {
        (p["family"], int(p["rules"])): _counted(models[p["key"]], train_T) for p in curve
    }
    fold_scores = {(p["family"], int(p["rules"])): by_fold[p["key"]] for p in curve}
    for p in curve:
        del p["key"]
    model = models[chosen_key]
    leaf_rules = _numbered_rules(model, encoder, schema, classes, encoded_X)
    report(total, total)
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
        classes=classes,
        reason=reason,
        alternatives=alternatives,
        encoded_X=encoded_X,
        screened=[schema.features[j].name for j in columns] if len(columns) < len(schema) else None,
        fold_scores=fold_scores,
        held_out=bool(data.test_is_real.any()),
    )


def _folds(
    data: SurrogateData, random_state: int, classify: bool
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(fit, judge)`` masks over the training samples, one pair per fold.

    Repeated k-fold over the real rows: a fold's rows and the samples drawn near them are
    left out of the fit. A classifier's surrogate is judged on both, the real rows weighing
    as much as all the near samples: more judges for a few hundred rows, so that fewer sizes
    are chosen against what the held-out rows say. A regressor's is judged on the real rows:
    R² over the near samples, whose values spread wider, chose more linear terms for no
    held-out gain.
    With fewer than MIN_CV_ROWS real rows no row can be left out: the folds are then of
    the samples, and the samples judge.
    """
    n_real = int(data.train_is_real.sum())
    n = len(data.train_y)
    if n_real < MIN_CV_ROWS:
        splits = KFold(n_splits=min(5, n), shuffle=True, random_state=random_state)
        out = []
        for _, held in splits.split(np.arange(n)):
            judge = np.zeros(n, bool)
            judge[held] = True
            out.append((~judge, judge))
        return out
    # Many rows: halves are large enough to fit on, and half the work of more folds.
    n_splits, repeats = (5, 2) if n_real < 4000 else (2, 2)
    splits = RepeatedKFold(n_splits=n_splits, n_repeats=repeats, random_state=random_state)
    out = []
    for _, held in splits.split(np.arange(n_real)):
        left_out = np.isin(data.train_source, held)
        out.append((~left_out, left_out if classify else left_out & data.train_is_real))
    return out


def _curve_and_choice(
    models: dict[Key, RuleModel],
    by_fold: dict[Key, np.ndarray],
    data: SurrogateData,
    predicted: dict[Key, np.ndarray],
    score: Any,
    metric: str,
    folds_text: str,
) -> tuple[list[dict[str, Any]], Key, str]:
    """Per family and number of rules, held-out fidelity and cross-validated mean ± error;
    the chosen point (size_choice.py: the fewest rules confidently near the best) and why."""
    near = ~data.test_is_real
    # Fewer than 10 rows leave no real row out: then only the samples near them judge.
    real = data.test_is_real if data.test_is_real.any() else near
    choice = fewest_rules_near_best(
        {key: by_fold[key] for key in models}, lambda k: models[k].complexity
    )
    points: dict[Key, dict[str, Any]] = {}
    for key, model in models.items():
        points[key] = {
            "key": key,
            "family": model.family,
            "rules": int(model.complexity),
            "fidelity": _score(score, data.test_y[real], predicted[key][real]),
            "between": (
                _score(score, data.test_y[near], predicted[key][near]) if near.any() else None
            ),
            "validation": choice.mean[key],
            "validation_se": choice.error[key],
            "near_best": choice.near_best[key],
        }
    chosen_key = choice.chosen
    # One point per family and number of rules: the chosen one, else the best validated.
    curve: dict[tuple[str, int], dict[str, Any]] = {}
    for key, point in points.items():
        slot = (point["family"], point["rules"])
        kept = curve.get(slot)
        if kept is None or (
            kept["key"] != chosen_key
            and (key == chosen_key or point["validation"] > kept["validation"])
        ):
            curve[slot] = point
    # The frontier of the points shown (the chosen one may have displaced a better one of
    # its family and size).
    on = frontier({slot: p["validation"] for slot, p in curve.items()}, lambda slot: slot[1])
    for slot, point in curve.items():
        point["chosen"] = point["recommended"] = point["key"] == chosen_key
        point["frontier"] = on[slot]
    reason = size_choice_reason(
        choice,
        lambda k: points[k]["rules"],
        f"cross-validated {metric}",
        folds_text,
        family=lambda k: points[k]["family"],
    )
    return sorted(curve.values(), key=lambda p: (p["family"], p["rules"])), chosen_key, reason


def _one_rule(
    data: SurrogateData,
    schema: FeatureSchema,
    encoder: _TreeEncoder,
    classes: list[Any] | None,
    encoded_X: np.ndarray,
    test_T: np.ndarray,
    score: Any,
) -> Surrogate:
    """The model gives one output on every row and sample: one rule says it all."""
    value = data.train_y[0]
    grown = GrownTree(
        (np.array([-1]), np.array([-1])), [-2], [-2.0], [len(data.train_y)], np.array([value])
    )
    model = ConstantLeaves(grown, 1, TREE)
    near = ~data.test_is_real
    real = data.test_is_real if data.test_is_real.any() else near
    predicted = model.predict(test_T)
    fidelity = _score(score, data.test_y[real], predicted[real]) if real.any() else 1.0
    fidelity = fidelity if np.isfinite(fidelity) else 1.0
    said = f"class {classes[int(value)]}" if classes is not None else f"{format_number(value)}"
    point = {
        "family": TREE,
        "rules": 1,
        "fidelity": fidelity,
        "between": None,
        "validation": 1.0,
        "validation_se": 0.0,
        "near_best": True,
        "frontier": True,
        "chosen": True,
        "recommended": True,
    }
    leaf_rules = _numbered_rules(model, encoder, schema, classes, encoded_X)
    return Surrogate(
        rules=list(leaf_rules.values()),
        fidelity=fidelity,
        metric="accuracy" if classes is not None else "r2",
        family=TREE,
        curve=[point],
        schema=schema,
        model=model,
        encoder=encoder,
        leaf_rules=leaf_rules,
        classes=classes,
        reason=(
            f"the model gives {said} on every row and every sample drawn near them: one rule "
            "says it"
            if len(np.unique(data.test_y)) <= 1
            else f"the model gives {said} on every training row and every sample drawn near "
            "them, so no rule can say more; held out, it gives other outputs too (fidelity "
            f"{format_number(fidelity)})"
        ),
        alternatives={(TREE, 1): model},
        encoded_X=encoded_X,
        held_out=bool(data.test_is_real.any()),
    )


def _score(score: Any, truth: np.ndarray, predicted: np.ndarray) -> float:
    # R² needs two rows; a fold of a tiny X may have one (it is then left out of the mean).
    return float(score(truth, predicted)) if len(truth) > 1 else float("nan")


def _accuracy(truth: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(truth == predicted))


def _r2(truth: np.ndarray, predicted: np.ndarray) -> float:
    """R² as scikit-learn gives it (1 for a constant truth met exactly, else 0), without
    its checks: it is computed for every candidate on every fold."""
    total = float(np.sum((truth - truth.mean()) ** 2))
    error = float(np.sum((truth - predicted) ** 2))
    if total == 0:
        return 1.0 if error == 0 else 0.0
    return 1.0 - error / total


def _numbered_rules(
    model: RuleModel,
    encoder: _TreeEncoder,
    schema: FeatureSchema,
    classes: list[Any] | None,
    encoded_X: np.ndarray | None,
) -> dict[int, Rule]:
    """Per leaf its rule, numbered by coverage (the most common first)."""
    rows = encoded_X if encoded_X is not None else np.zeros((0, len(schema)))
    leaf_rules = _leaf_rules(model, encoder, schema, classes, rows)
    # A regressor's values (a score rule's scores), side by side in the rule table: with
    # the digits that tell them apart (1e12 - 0.3 and 1e12 + 0.3 both read 1000000000000).
    valued = {leaf: r for leaf, r in leaf_rules.items() if classes is None or r.classes}
    apart = apart_scale(float(r.prediction) for r in valued.values())
    for leaf, rule in valued.items():
        if apart is not None and abs(float(rule.prediction)) > apart:  # smaller: its own
            leaf_rules[leaf] = dataclasses.replace(rule, scale=apart)
    leaves = sorted(
        leaf_rules, key=lambda leaf: (-leaf_rules[leaf].coverage, -leaf_rules[leaf].samples)
    )
    return {leaf: _with_id(leaf_rules[leaf], i) for i, leaf in enumerate(leaves)}


def rule_with_labels(rule: Rule, schema: FeatureSchema) -> Rule:
    """``rule`` with its features named by X's own column labels (Surrogate.with_labels)."""
    if not schema.own_labels:
        return rule
    label = schema.label

    def relabelled(c: Condition) -> Condition:
        return c._replace(feature=label(c.feature))

    terms = tuple(
        t._replace(
            feature=label(t.feature),
            when=tuple(map(relabelled, t.when)),
            missing=frozenset(map(label, t.missing)),
        )
        for t in rule.terms
    )
    return dataclasses.replace(
        rule,
        conditions=list(map(relabelled, rule.conditions)),
        terms=terms,
        missing_as={label(name): value for name, value in rule.missing_as.items()},
    )


def _with_id(rule: Rule, new_id: int) -> Rule:
    return dataclasses.replace(rule, id=new_id)


def _near_samples(
    rows: np.ndarray, schema: FeatureSchema, rng: np.random.Generator, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` samples near ``rows``, and for each the position of the row it was drawn near."""
    source = rng.integers(0, len(rows), n)
    donors = rng.integers(0, len(rows), n)
    out = rows[source]
    step = max(1, CELLS_AT_ONCE // max(1, rows.shape[1]))
    for start in range(0, n, step):  # the same draws as one call, without n x features temporaries
        block = out[start : start + step]
        swap = rng.random(block.shape) < 0.3
        np.copyto(block, rows[donors[start : start + step]], where=swap)
    for j, feature in enumerate(schema.features):
        if feature.is_discrete or feature.min is None or feature.max is None:
            continue
        column = rows[:, j]
        # No value at all (a mostly missing column): nanstd would warn.
        spread = np.nanstd(column) if len(rows) > 1 and not np.isnan(column).all() else 0.0
        jittered = out[:, j] + rng.normal(0.0, 0.05 * spread, n) if spread > 0 else out[:, j]
        jittered = np.clip(jittered, feature.min, feature.max)
        out[:, j] = np.rint(jittered) if feature.kind == "integer" else jittered
    return out, source


def _leaf_rules(
    model: RuleModel,
    encoder: _TreeEncoder,
    schema: FeatureSchema,
    classes: list[Any] | None,
    encoded_X: np.ndarray,
) -> dict[int, Rule]:
    """One rule per leaf, in original units, with its coverage of X."""
    covered = model.apply(encoder.transform(encoded_X)) if len(encoded_X) else np.zeros(0, int)
    share = {int(leaf): float(np.mean(covered == leaf)) for leaf in np.unique(covered)}
    outcome = "class" if classes is not None else "prediction"
    scored = None
    if isinstance(model, LinearLeaves) and model.scored:
        assert classes is not None and len(classes) == 2, "a score is of a binary classifier"
        outcome, scored = f"score of {classes[1]}", (classes[0], classes[1])
    if isinstance(model, LinearLeaves) and model.grown is None:
        leaf = model.fits[0]
        return {0: _linear_rule(0, [], leaf, len(encoded_X), 1.0, encoder, outcome, classes=scored)}
    assert isinstance(model, (ConstantLeaves, LinearLeaves)) and model.grown is not None
    grown = model.grown
    rules: dict[int, Rule] = {}

    def walk(node: int, path: list[tuple[int, bool, float]]) -> None:
        if grown.is_leaf(node, model.leaves):
            conditions = _merge(path, encoder, schema)
            assert grown.samples is not None, "counted for every model of the curve"
            samples, coverage = int(grown.samples[node]), share.get(node, 0.0)
            if isinstance(model, LinearLeaves):
                leaf = model.fits[node]
                rules[node] = _linear_rule(
                    node,
                    conditions,
                    leaf,
                    samples,
                    coverage,
                    encoder,
                    outcome,
                    model.shared,
                    scored,
                )
            else:
                assert grown.node_output is not None
                value = grown.node_output[node]
                prediction = classes[int(value)] if classes is not None else float(value)
                rules[node] = Rule(node, conditions, prediction, coverage, samples, outcome)
            return
        j, threshold = int(grown.feature[node]), float(grown.threshold[node])
        walk(int(grown.children_left[node]), [*path, (j, True, threshold)])
        walk(int(grown.children_right[node]), [*path, (j, False, threshold)])

    walk(0, [])
    # Per feature with missing values in X, the value a missing one counts as (the fill).
    fills = {f.name: encoder.missing_as(j) for j, f in enumerate(schema.features) if f.missing > 0}
    return {node: _with_missing(rule, fills) for node, rule in rules.items()}


def _with_missing(rule: Rule, fills: Mapping[str, Any]) -> Rule:
    """The rule with the value a missing one counts as, per feature of its conditions."""
    found = {c.feature: fills[c.feature] for c in rule.conditions if c.feature in fills}
    return dataclasses.replace(rule, missing_as=found) if found else rule


def _linear_rule(
    node: int,
    conditions: list[Condition],
    leaf: Leaf,
    samples: int,
    coverage: float,
    encoder: _TreeEncoder,
    outcome: str,
    shared: bool = False,
    classes: tuple[Any, Any] | None = None,
) -> Rule:
    schema, terms = encoder.schema, []
    prediction = leaf.mean
    # The size of what was summed, for the noise below: a score's is its unit, 1.
    taken = 1.0 if classes is not None else abs(float(leaf.mean))
    cuts = leaf.cuts or (float("nan"),) * len(leaf.columns)
    joint = leaf.joint or ((),) * len(leaf.columns)
    missing = frozenset(f.name for f in schema.features if f.missing > 0)
    for j, coef, center, cut, steps in zip(leaf.columns, leaf.coef, leaf.center, cuts, joint):
        feature, fill = schema.features[j], float(encoder.fill[j])
        if steps:
            # A leaf of another tree of a sum: its weight where all its conditions hold.
            prediction -= float(coef) * float(center)
            taken += abs(float(coef) * float(center))
            path = [(column, not above, cut) for column, cut, above in steps]
            when = tuple(_merge(path, encoder, schema))
            fill_of = {schema.features[c].name: float(encoder.fill[c]) for c, _, _ in steps}
            fills = tuple(fill_of[c.feature] for c in when)
            terms.append(
                LinearTerm(
                    feature.name, float(coef), 1.0, 0.0, fill, shared, None, when, fills, missing
                )
            )
        elif np.isnan(cut):
            per = _round_unit(feature)
            terms.append(
                LinearTerm(
                    feature.name,
                    float(coef) * per,
                    per,
                    float(center),
                    fill,
                    shared,
                    missing=missing,
                )
            )
        else:
            # A step adds its weight or nothing: its share of the leaf moves to the value.
            prediction -= float(coef) * float(center)
            taken += abs(float(coef) * float(center))
            terms.append(
                LinearTerm(feature.name, float(coef), 1.0, 0.0, fill, shared, cut, missing=missing)
            )
    # The largest effects first: that is how the rule is read.
    terms.sort(key=lambda term: -abs(term.weight) * _term_scale(schema, term))
    # What is zero but for rounding is zero: "score of 1 = -3.109e-15" read as a negative
    # score where the steps took all of the leaf's mean (or its fit gave -4.7e-19).
    if abs(prediction) <= 1e-12 * taken:
        prediction = 0.0
    return Rule(node, conditions, prediction, coverage, samples, outcome, tuple(terms), classes)


def _term_scale(schema: FeatureSchema, term: LinearTerm) -> float:
    """What a term can move the prediction by, per unit of its weight."""
    return 1.0 if term.is_step else _spread(schema, term.feature) / term.per


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
        return Condition(feature.name, "==", categories[next(iter(codes))], feature)
    others = set(range(len(categories))) - codes
    if len(others) == 1 and len(categories) > 2:
        return Condition(feature.name, "!=", categories[next(iter(others))], feature)
    return Condition(feature.name, "in", tuple(categories[i] for i in sorted(codes)), feature)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def _rule_value(feature: Feature, value: Any) -> Any:
    """A row's value as the rules read it: a number as it is (the rules compare numbers,
    whatever the column's dtype holds), a category X never had as missing (as over
    global_data), with a warning; text for a number is an error, not a missing value.
    Where X has no missing value, a missing one (or a category X never had) is an error,
    as for a what-if edit: the rules only fill it, and no rule's conditions would cover it."""
    if is_missing(value):
        return feature.coerce(value)  # set_features' own error where X has no missing value
    if feature.is_discrete:
        try:
            return feature.coerce(value)
        except ValueError as error:
            if not feature.missing > 0:
                raise ValueError(
                    f"{error} X has no missing value there either, so the rules cannot read "
                    "it as one."
                ) from None
            warn_caller(
                f"{value!r} is not a category of {feature.name!r} in X: the rules read it as "
                "missing.",
                UserWarning,
            )
            return None
    try:
        if isinstance(value, (bool, np.bool_, str, bytes)):
            raise TypeError
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"Invalid value {value!r} for {feature.kind} feature {feature.name!r}: pass a number."
        ) from None
