"""The explainers: pure Python, no widget code. Importing this package registers them
(explainers/base.py)."""

from .base import REGISTRY, Attribution, Explainer, register
from .lime import LimeExplainer, LimeResult
from .shap import ShapExplainer, ShapValues
from .surrogate import Condition, Rule, Surrogate, fit_surrogate, surrogate_samples
from .table import TableContext

__all__ = [
    "REGISTRY",
    "Attribution",
    "Condition",
    "Explainer",
    "LimeExplainer",
    "LimeResult",
    "Rule",
    "ShapExplainer",
    "ShapValues",
    "Surrogate",
    "TableContext",
    "fit_surrogate",
    "register",
    "surrogate_samples",
]
