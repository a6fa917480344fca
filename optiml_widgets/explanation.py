"""LocalExplanation: everything known about one instance, for one explained output."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .explainers.base import Attribution
from .explainers.surrogate import Rule
from .format import format_number, signed

REPR_FEATURES = 5  # attributions a repr lists per explainer, largest first


@dataclass(frozen=True)
class LocalExplanation:
    """SHAP, LIME and the covering surrogate rule of one instance, for ``target``; with
    ``versus`` (another class) for the contrast "why target and not versus": ``prediction``
    is then P(target) - P(versus), and every attribution is of that difference.

    ``attributions`` holds every chosen explainer's result by name (``shap`` and ``lime``
    are the same numbers keyed by feature: by X's own column labels, ints or tuples where X
    has them, as ``instance`` is); ``algorithm`` names the SHAP algorithm that ran
    and ``fallback`` why a faster one did not.

    ``base_value + sum(shap.values()) == prediction`` (within 1e-6 relative for the exact
    algorithms). ``prediction`` is a probability for classifiers and a value for regressors.
    """

    target: Any
    prediction: float
    base_value: float
    shap: dict[Any, float]
    lime: dict[Any, float]
    lime_intercept: float
    lime_score: float
    rule: Rule | None
    instance: dict[Any, Any]
    lime_conditions: dict[Any, str] = field(default_factory=dict)
    # Each LIME weight's standard error from its sampling (exact views; features in its model).
    lime_errors: dict[Any, float] = field(default_factory=dict)
    algorithm: str = ""
    quality: str = "exact"
    fallback: str | None = None  # why a faster SHAP algorithm did not run
    attributions: dict[str, Attribution] = field(default_factory=dict)  # every explainer's
    versus: Any = None  # the class contrasted with ``target``, or None
    # What failed for this instance, by explainer name ("lime", "surrogate"): why. Its
    # fields are then empty (``lime``) or None (``rule``); the others stand.
    failed: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        """What a person reads first: the prediction, each explainer's largest attributions
        and the covering rule (every number is in the fields)."""
        of = self.target if self.versus is None else f"{self.target} versus {self.versus}"
        how = "; ".join(part for part in (self.quality, self.algorithm) if part)
        lines = [
            f"LocalExplanation of {of}: prediction {format_number(self.prediction)}, "
            f"base value {format_number(self.base_value)} ({how})"
        ]
        for name, values in (("SHAP", self.shap), ("LIME", self.lime)):
            if values:
                top = sorted(values, key=lambda k: -abs(values[k]))[:REPR_FEATURES]
                rest = f", … of {len(values)} features" if len(values) > len(top) else ""
                words = ", ".join(f"{k} {signed(values[k])}" for k in top)
                lines.append(f"  {name}: {words}{rest}")
        if self.rule is not None:
            lines.append(f"  rule {self.rule.id + 1}: {self.rule.text()}")
        lines.extend(f"  {why}" for why in self.failed.values())
        return "\n".join(lines)

    def to_shap(self) -> Any:
        """This explanation as a ``shap.Explanation``, for shap's own plots."""
        import shap

        if not self.shap:
            raise ValueError(
                self.failed.get("shap")
                or 'No SHAP values to show: create the widget with "shap" in explainers.'
            )
        names = list(self.shap)
        data = np.array([self.instance[name] for name in names], dtype=object)
        with contextlib.suppress(TypeError, ValueError):  # categories stay labels
            data = data.astype(float)
        return shap.Explanation(
            values=np.array([self.shap[name] for name in names]),
            base_values=self.base_value,
            data=data,
            feature_names=names,
        )

    def top_features(self, k: int = 5) -> list[Any]:
        """The ``k`` features with the largest |SHAP|."""
        return sorted(self.shap, key=lambda name: -abs(self.shap[name]))[:k]
