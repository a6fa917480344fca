"""Every payload the frontend reads, built here and typed here.

``js/src/types.ts`` declares the same shapes; tests/test_contract.py writes real payloads
from these functions into a TypeScript file that ``tsc`` checks against those types, so the
two sides cannot drift apart unnoticed.

Names of features, classes and categories are data: the frontend receives them in lists
and addresses features by position, never as keys of an object (a feature called
``constructor`` or ``__proto__`` is just a name).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypedDict

import numpy as np

from .data import ColumnQuantiles, is_missing
from .explainers.base import Attribution, Explainer
from .format import finite

if TYPE_CHECKING:
    from .counterfactual import Counterfactual
    from .data import Feature, FeatureSchema
    from .explainers.surrogate import Condition, Rule, Surrogate
    from .session import ExplanationSession

Value = float | int | str | bool | None


class FeatureInfo(TypedDict, total=False):
    name: str
    kind: str
    min: float | None
    max: float | None
    quantiles: list[list[float]]
    categories: list[str] | None
    counts: list[int] | None
    missing: float
    partial: bool


class ExplainerInfo(TypedDict):
    name: str
    title: str
    view: str
    unit: str


class Schema(TypedDict):
    features: list[FeatureInfo]
    task: str
    classes: list[str] | None
    targets: list[str]
    n_rows: int
    has_y: bool
    explainers: list[ExplainerInfo]
    surrogate: bool


class ConditionInfo(TypedDict):
    feature: str
    j: int
    op: str
    value: Any
    missing: bool  # whether a missing value meets it (it counts as the surrogate's fill)
    text: str


class TermInfo(TypedDict):
    feature: str
    j: int
    weight: float
    per: float
    center: float
    fill: float
    above: float | None  # a step term's cut (it adds weight above it); None: linear
    # A step of several conditions (a leaf of a sum of trees): weight where all hold, a
    # missing value counting as its fill. Empty otherwise.
    when: list[ConditionInfo]
    when_fill: list[float]
    shared: bool  # in every rule with this weight (a linear one from each rule's centre)
    text: str  # "+0.8 per 1000 of income", "+0.3 if lpi > 4.2"


class RuleInfo(TypedDict):
    id: int
    conditions: list[ConditionInfo]
    prediction: Value
    terms: list[TermInfo]
    # A binary classifier's score rule: [first, second] class; the row's class is the
    # second where the score (prediction and terms) is above 0.5. None otherwise.
    classes: list[Value] | None
    coverage: float
    samples: int
    # The scale its value is written at, where its own digits would not tell it from
    # another rule's (format.apart_scale); None: its own.
    scale: float | None
    text: str


class CurvePoint(TypedDict):
    family: str
    rules: int
    fidelity: float
    between: float | None
    validation: float
    frontier: bool  # the best cross-validated of its size, better than every smaller size
    chosen: bool
    recommended: bool  # the point cross-validation chose (a size alone gives it back)


class SurrogateInfo(TypedDict):
    rules: list[RuleInfo]
    fidelity: float
    held_out: bool  # False: too few rows to hold any out (fidelity on samples near them)
    metric: str
    complexity: int
    thresholds: list[list[float]]
    family: str
    curve: list[CurvePoint]
    reason: str
    sizes: list[int]
    recommended: int


class CounterfactualInfo(TypedDict):
    changes: list[list[Any]]
    rule: int
    outcome_before: Value
    outcome_after: Value
    prediction: float
    predicted_label: str | None
    model_agrees: bool
    median: float | None
    probability: float | None
    borrowed: bool  # values of real rows the model gives that outcome (not the rules')
    text: str


class AttributionInfo(TypedDict):
    values: list[float]
    base: float | None
    quality: str
    algorithm: str
    fallback: str | None
    details: dict[str, Any]


class Agreement(TypedDict):
    reference: str
    other: str
    spearman: float | None
    top_k: int
    top_overlap: float
    sign_agreement: float
    signs_uncertain: int  # of the reference's top_k, the other's signs within its noise
    local_fit: float | None
    verdict: Literal["agree", "disagree", "unreliable"]
    text: str


class RuleMatch(TypedDict):
    id: int
    met: list[bool]


class View(TypedDict, total=False):
    seq: int
    index: int
    target: str
    versus: str | None
    quality: str
    values: list[Value]
    original: list[Value]
    edited: list[int]
    prediction: float
    predicted_label: str | None
    probabilities: list[float] | None
    y: Value
    attributions: list[AttributionInfo | None]
    agreement: list[Agreement]
    rule: RuleMatch | None
    counterfactual: CounterfactualInfo | None
    pending: list[str]
    failed: dict[str, str]  # explainer name -> why it failed for this view (absent: none)
    compute_ms: float
    notice: str
    label: str


class Curves(TypedDict):
    seq: int
    index: int
    target: str
    versus: str | None
    edits: list[tuple[int, Value]]
    features: list[int]
    offsets: list[int]
    values: list[float]
    prediction: bytes


class JobState(TypedDict):
    state: Literal["running", "ready", "error", "cancelled"]
    done: int
    total: int
    message: str | None


def output_text(task: str, target: str, versus: str | None = None) -> str:
    """What a view's prediction is, for people: "P(setosa)", or with ``versus``
    "P(setosa) - P(virginica)" with a minus sign (as js/src/format.ts `outputText` writes it)."""
    if task == "regression":
        return "prediction"
    return f"P({target})" if versus is None else f"P({target}) \N{MINUS SIGN} P({versus})"


AGREEMENT_TOP_K = 5
LOCAL_FIT_FLOOR = 0.5  # LIME's local R² below this: its weights describe a poor local model


# -- builders ---------------------------------------------------------------------------
def feature_info(feature: Feature) -> FeatureInfo:
    """One feature's summary (slider range, ticks, categories)."""
    return {
        "name": feature.name,
        "kind": feature.kind,
        "min": feature.min,
        "max": feature.max,
        "quantiles": [[q, v] for q, v in feature.quantiles],
        # Labels, one per category (1 and "1" of an object column are two): the panel
        # shows them, and names a category by its label in views and edits.
        "categories": list(feature.labels) if feature.is_discrete else None,
        "counts": list(feature.counts) if feature.is_discrete else None,
        "missing": feature.missing,
    }


def explainer_info(explainer: type[Explainer]) -> ExplainerInfo:
    """How the panel draws an explainer (what ran, and any fallback, travel with each
    attribution: an explainer built later, or one that falls back, says so there)."""
    return {
        "name": explainer.name,
        "title": explainer.title,
        "view": explainer.view,
        "unit": explainer.unit,
    }


def partial_feature_info(feature: Feature) -> FeatureInfo:
    """A feature's name and kind only (wide data: the rest is sent when it is shown)."""
    return {
        "name": feature.name,
        "kind": feature.kind,
        "min": None,
        "max": None,
        "quantiles": [],
        "categories": None,
        "counts": None,
        "missing": feature.missing,
        "partial": True,
    }


def schema(session: ExplanationSession, detailed: Sequence[int] | None = None) -> Schema:
    """Set once: features, task, classes and the explainers. With ``detailed``, only those
    features carry their summaries (wide data); the others are partial."""
    adapter = session.adapter
    keep = set(range(len(session.schema)) if detailed is None else detailed)
    ColumnQuantiles.read_together(session.schema.features[j] for j in sorted(keep))
    return {
        "features": [
            feature_info(f) if j in keep else partial_feature_info(f)
            for j, f in enumerate(session.schema.features)
        ],
        "task": adapter.task,
        "classes": adapter.output_names if adapter.classes is not None else None,
        "targets": adapter.output_names,
        "n_rows": session.n_rows,
        "has_y": session.y is not None,
        "explainers": [explainer_info(e) for e in session.local_explainers()],
        "surrogate": session.surrogate_enabled,
    }


# Details an attribution may carry about what computed it, where that is not what its
# explainer says of every row (a row SHAP's fast algorithm missed).
_LABELS = ("algorithm", "fallback")


def algorithm_of(found: Attribution | None, explainer: Explainer) -> str:
    """What computed an attribution: its own label, else its explainer's."""
    own = found.details.get("algorithm") if found is not None else None
    return str(own) if own else explainer.algorithm


def fallback_of(found: Attribution | None, explainer: Explainer) -> str | None:
    """Why not a faster algorithm for an attribution: its own note, else its explainer's."""
    own = found.details.get("fallback") if found is not None else None
    return str(own) if own else explainer.fallback


def attribution(found: Attribution, explainer: Explainer) -> AttributionInfo:
    """An attribution in the common form, strict JSON (no NaN), with what computed it."""
    details = {k: v for k, v in found.details.items() if k not in _LABELS}
    return {
        "values": [finite(v) or 0.0 for v in np.asarray(found.values, dtype=float).tolist()],
        "base": finite(found.base),
        "quality": found.quality,
        "algorithm": algorithm_of(found, explainer),
        "fallback": fallback_of(found, explainer),
        "details": _json_details(details),
    }


def surrogate(found: Surrogate) -> SurrogateInfo:
    """The rule set (js/src/types.ts SurrogateInfo).

    ``rules[].prediction`` is the rule's class, or its value; with ``terms`` that value is
    at the rule's average row, and a row x the rule covers gets
    ``prediction + sum(weight * (x[j] - center) / per)`` (``fill`` for a missing x[j]),
    plus each step term's weight where x[j] > ``above``. With ``classes`` (a binary
    classifier's score rule) that is the score of ``classes[1]``, the row's class where
    it is above 0.5 (else ``classes[0]``).
    ``curve`` has one point per family and number of rules, ``chosen`` marking this one and
    ``frontier`` the best of each size where it beats every smaller size.
    """
    names = found.schema.names
    position = {name: j for j, name in enumerate(names)}
    by_feature = found.thresholds()
    return {
        "rules": [_rule(rule, position, found.schema) for rule in found.rules],
        "fidelity": float(found.fidelity),
        "held_out": found.held_out,
        "metric": found.metric,
        "complexity": found.complexity,
        "thresholds": [by_feature.get(name, []) for name in names],
        "family": found.family,
        "curve": [
            {
                "family": str(p["family"]),
                "rules": int(p["rules"]),
                "fidelity": float(p["fidelity"]),
                "between": finite(p.get("between")),
                "validation": float(p["validation"]),
                "frontier": bool(p["frontier"]),
                "chosen": bool(p["chosen"]),
                "recommended": bool(p.get("recommended")),
            }
            for p in found.curve
        ],
        "reason": found.reason,
        "sizes": [int(k) for k in found.sizes],
        "recommended": int(found.recommended["rules"]),
    }


def _rule(rule: Rule, position: Mapping[str, int], schema: FeatureSchema) -> RuleInfo:
    def condition(c: Condition, missing: bool, text: str) -> ConditionInfo:
        return {
            "feature": c.feature,
            "j": position[c.feature],
            "op": c.op,
            "value": condition_value(schema.features[position[c.feature]], c.op, c.value),
            "missing": missing,
            "text": text,
        }

    return {
        "id": rule.id,
        "conditions": [
            condition(c, rule.holds(c, None), rule.condition_text(c)) for c in rule.conditions
        ],
        "prediction": json_value(rule.prediction),
        "terms": [
            {
                "feature": t.feature,
                "j": position[t.feature],
                "weight": t.weight,
                "per": t.per,
                "center": t.center,
                "fill": t.fill if math.isfinite(t.fill) else t.center,
                "above": t.above,
                "when": [
                    condition(c, c.holds(f), t.condition_text(c, f))
                    for c, f in zip(t.when, t.when_fill)
                ],
                "when_fill": list(t.when_fill),
                "shared": t.shared,
                "text": t.phrase,
            }
            for t in rule.terms
        ],
        "classes": None if rule.classes is None else [json_value(c) for c in rule.classes],
        "coverage": rule.coverage,
        "samples": rule.samples,
        "scale": rule.scale,
        "text": rule.text(),
    }


def counterfactual(found: Counterfactual, schema: FeatureSchema) -> CounterfactualInfo:
    """A counterfactual hint; its changes as ``[feature position, value]`` pairs (a
    category by its label, as the views write it)."""
    names = schema.names
    return {
        "changes": [
            [(j := names.index(k)), category_or_value(schema.features[j], v)]
            for k, v in found.changes.items()
        ],
        "rule": found.rule.id,
        "outcome_before": json_value(found.outcome_before),
        "outcome_after": json_value(found.outcome_after),
        "prediction": found.prediction,
        "predicted_label": None if found.predicted_label is None else str(found.predicted_label),
        "model_agrees": found.model_agrees,
        "median": found.median,
        "probability": found.probability,
        "borrowed": found.borrowed,
        "text": found.text(),
    }


def agreement(
    reference: tuple[str, Attribution], other: tuple[str, Attribution], k: int = AGREEMENT_TOP_K
) -> Agreement:
    """How far two explainers agree on an instance's most important features, read with the
    other's own local fit (a LIME model with a low R² agrees with nothing reliably). Signs
    are compared where the other's sampling error (``errors`` in its details) can tell its
    sign: a weight within 2 standard errors of 0 could take either sign with another seed,
    so it neither agrees nor disagrees."""
    from scipy.stats import spearmanr

    (ref_name, ref), (other_name, oth) = reference, other
    a, b = np.asarray(ref.values, float), np.asarray(oth.values, float)
    k = min(k, len(a))
    top_a = list(np.argsort(-np.abs(a), kind="stable")[:k])
    top_b = list(np.argsort(-np.abs(b), kind="stable")[:k])
    union = list(dict.fromkeys(top_a + top_b))
    rho = None
    if len(union) > 2 and np.ptp(a[union]) > 0 and np.ptp(b[union]) > 0:
        rho = finite(float(spearmanr(a[union], b[union]).statistic))
    errors = np.asarray(oth.details.get("errors", np.full(len(b), np.nan)), dtype=float)
    uncertain = [j for j in top_a if abs(b[j]) <= 2 * errors[j]]  # False where NaN
    signs = [np.sign(a[j]) == np.sign(b[j]) for j in top_a if j not in uncertain]
    overlap = len(set(top_a) & set(top_b)) / k if k else 1.0
    same_sign = float(np.mean(signs)) if signs else 1.0
    fit = finite(oth.details.get("score"))
    titles = f"{ref_name.upper()} and {other_name.upper()}"
    verdict: Literal["agree", "disagree", "unreliable"]
    if fit is not None and fit < LOCAL_FIT_FLOOR:
        verdict = "unreliable"
        text = (
            f"{other_name.upper()}'s local model fits poorly here (R² {fit:.2f}): "
            f"read its weights as rough, and trust {ref_name.upper()} for this row"
        )
    elif (rho is None or rho >= 0.5) and overlap >= 0.5 and same_sign >= 0.8:
        verdict, text = "agree", f"{titles} agree on this row"
    else:
        verdict, text = "disagree", f"{titles} disagree on this row: read both with care"
    return {
        "reference": ref_name,
        "other": other_name,
        "spearman": rho,
        "top_k": k,
        "top_overlap": overlap,
        "sign_agreement": same_sign,
        "signs_uncertain": len(uncertain),
        "local_fit": fit,
        "verdict": verdict,
        "text": text,
    }


def row_values(schema: FeatureSchema, row: Mapping[str, Any]) -> list[Value]:
    """An instance's values in feature order (categories as their labels)."""
    return [category_or_value(feature, row[feature.name]) for feature in schema.features]


def category_or_value(feature: Feature, value: Any) -> Value:
    """A value of a feature as the views write it: a category by its label (1 and "1" of an
    object column are two categories, whose texts alone would be one), else as JSON."""
    if feature.kind == "categorical" and not is_missing(value):
        return feature.label_of(value)
    return json_value(value)


def condition_value(feature: Feature, op: str, value: Any) -> Any:
    """A rule condition's value as the views write their values (the page tests a row's
    values against it): categories by their labels."""
    if op == "in" and isinstance(value, (list, tuple, set, frozenset)):
        return [category_or_value(feature, v) for v in value]
    if op in ("==", "!="):
        return category_or_value(feature, value)
    return json_value(value)


def json_value(value: Any) -> Value:
    """A scalar as strict JSON: numpy to Python, NaN/inf/missing to None, others as text."""
    if isinstance(value, np.generic):
        value = value.item()
    if is_missing(value):
        return None
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(v) for v in value]  # type: ignore[return-value]
    return str(value)


def _json_details(details: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in details.items():
        if isinstance(value, (list, tuple, np.ndarray)):
            out[key] = [json_value(v) for v in value]
        else:
            out[key] = json_value(value)
    return out


def carries(views: Mapping[str, Any], position: int) -> bool:
    """Whether the global views' payload can draw the dependence plot of the feature at
    ``position`` (``charts.chart_features``: every feature's values, or the most important
    and the selected one's)."""
    params = views.get("specs", {}).get("dependence", {}).get("params", [])
    carried = next((p["value"] for p in params if p.get("name") == "carried"), None)
    return carried is None or position in carried  # no dependence plot: nothing to draw


def global_views(
    session: ExplanationSession, feature: str | None, *, include_data: bool, live: bool
) -> dict[str, Any]:
    """The global views of the current target (js/src/types.ts GlobalInfo): the chart specs
    and what they show. ``include_data=False`` leaves the rows' feature values out;
    ``live=False`` words it for an export, where only the exported rows can be opened."""
    explanation, position, _ = session.global_of_output()
    specs = session.global_specs(feature, include_values=include_data)
    how = (
        f"computed in {explanation.seconds:.1f} s"
        if live
        else "clicking a point opens its row when it is in this file"
    )
    what = (
        explanation.summary.text()
        if explanation.summary is not None
        else f"SHAP values of {explanation.sample_text} ({explanation.algorithm})"
    )
    output = explanation.output_names[position]
    if session.versus is not None and explanation.summary is not None:
        output += (
            f" (the contrast with {session.versus} needs every row's SHAP values; "
            "global_data keeps per-class sums)"
        )
    return {
        "state": "ready",
        "done": len(explanation.rows),
        "total": len(explanation.rows),
        "message": f"{what}; output: {output}; {how}.",
        "target": explanation.output_names[position],
        **specs,
    }
