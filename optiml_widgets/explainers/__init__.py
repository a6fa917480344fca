"""The explainers: pure Python, no widget code."""

from .lime import LimeExplainer, LimeResult
from .shap import ShapExplainer, ShapValues
from .surrogate import Condition, Rule, Surrogate, fit_surrogate, surrogate_samples

__all__ = [
    "Condition",
    "LimeExplainer",
    "LimeResult",
    "Rule",
    "ShapExplainer",
    "ShapValues",
    "Surrogate",
    "fit_surrogate",
    "surrogate_samples",
]
