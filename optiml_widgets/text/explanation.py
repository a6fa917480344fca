"""TextExplanation: every token explainer's attribution of one text, for one class."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..explainers.base import Attribution
from ..format import format_number, signed

# to_shap() hands out shap's own values when they were computed, else the first additive.
PREFERRED = ("shap_text", "ig")
REPR_TOKENS = 5  # tokens a repr lists per method, strongest first


@dataclass(frozen=True)
class TextExplanation:
    """One text's explanations for ``target``.

    ``tokens`` are the units every method attributes to (special tokens such as ``[CLS]``
    included, marked in ``special``; they get 0). ``attributions`` holds each method's
    result by name ("ig", "shap_text", "lime_text"): ``values`` per token, ``base``, and
    ``details`` (IG: ``space`` "logit", ``output``, ``baseline_output``, ``steps``, ``gap``,
    ``converged``; SHAP: ``space`` "probability"). ``prediction`` is the probability of
    ``target``. ``pieces``: each token's piece of the text with the whitespace after it
    (joined, they are ``text``).
    """

    text: str
    target: Any
    prediction: float
    probabilities: list[float]
    tokens: list[str]
    special: list[bool]
    attributions: dict[str, Attribution]
    titles: dict[str, str] = field(default_factory=dict)
    rule: Any = None  # the surrogate's TextRule that fires for this text
    pieces: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        """The prediction, each method's strongest tokens and the rule, in a few lines."""
        lines = [f"TextExplanation of {self.target}: P = {format_number(self.prediction)}"]
        for name in self.attributions:
            values = self.values(name)
            top = [i for i in np.argsort(-np.abs(values), kind="stable") if not self.special[i]][
                :REPR_TOKENS
            ]
            words = ", ".join(f"{self.tokens[i]!r} {signed(values[i])}" for i in top)
            lines.append(f"  {self.titles.get(name, name)}: {words}")
        if self.rule is not None:
            lines.append(f"  rule {self.rule.id + 1}: {self.rule.text()}")
        return "\n".join(lines)

    def values(self, method: str | None = None) -> np.ndarray:
        """One method's attributions per token (default: as ``to_shap``)."""
        return np.asarray(self.attributions[self._method(method)].values, dtype=float)

    @property
    def completeness_gap(self) -> float | None:
        """IG's sum of attributions minus ``F(x) - F(baseline)`` (logits), or None."""
        ig = self.attributions.get("ig")
        return None if ig is None else float(ig.details["gap"])

    def top_tokens(self, k: int = 5, method: str | None = None) -> list[str]:
        """The ``k`` tokens with the largest |attribution| (towards or away from ``target``)."""
        values = self.values(method)
        order = [i for i in np.argsort(-np.abs(values), kind="stable") if not self.special[i]]
        return [self.tokens[i] for i in order[:k]]

    def to_shap(self, method: str | None = None) -> Any:
        """A ``shap.Explanation`` of this text: ``values`` the tokens' attributions for
        ``target`` (SHAP text's by default, or ``method``'s), ``data`` each token's piece of
        the text with its whitespace (as shap's own: ``shap.plots.text`` joins them into
        the text), ``feature_names`` the tokens, for shap's own plots (``shap.plots.text``,
        ``shap.plots.bar``). LIME's base value is its local model's intercept, so that base
        + sum is LIME's own prediction for the text."""
        import shap

        name = self._method(method)
        found = self.attributions[name]
        if found.base is not None:
            base = float(found.base)
        elif "intercept" in found.details:
            base = float(found.details["intercept"])
        else:  # no token to weigh (LIME of a text of no words): all is the prediction
            base = self.prediction
        return shap.Explanation(
            values=np.asarray(found.values, dtype=float),
            base_values=base,
            data=np.array(self.pieces or self.tokens, dtype=object),
            feature_names=list(self.tokens),
        )

    def _method(self, method: str | None) -> str:
        if method is not None:
            from .session import ALIASES  # not at the top: the session imports this module

            name = ALIASES.get(method, method)
            if name not in self.attributions:
                raise KeyError(
                    f"No {method!r} attributions: this explanation has {sorted(self.attributions)}."
                )
            return name
        for name in (*PREFERRED, *self.attributions):
            if name in self.attributions:
                return name
        raise KeyError("This explanation has no attributions: every explainer is turned off.")
