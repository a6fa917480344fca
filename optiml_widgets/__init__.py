"""optiml_widgets: understand a model in the notebook with linked SHAP, LIME and rules."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .counterfactual import Counterfactual
from .data import Feature, FeatureSchema
from .explainers.surrogate import Condition, LinearTerm, Rule, Surrogate
from .explanation import LocalExplanation
from .global_explanation import GlobalExplanation
from .jobs import Closed
from .model import ModelAdapter
from .session import EXPLAINERS, ExplanationSession
from .text.dispatch import text_panel_for_texts
from .widget import ExplainerWidget

if TYPE_CHECKING:
    from .text.widget import TextWidget

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The text panel (and its explainers) load on first use: a table's panel needs none of it.
    if name == "TextWidget":
        return importlib.import_module(".text.widget", __name__).TextWidget
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@text_panel_for_texts  # X a list/Series of strings: the text panel (README "Text models")
def explain_widget(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    feature_names: Sequence[str] | None = None,
    class_names: Sequence[Any] | None = None,
    categorical_features: Iterable[str] | str | None = None,
    task: str = "auto",
    explainers: Iterable[str] | None = EXPLAINERS,
    background: Any = None,
    random_state: int = 0,
    global_rows: int | None = None,
    global_data: Any = None,
) -> ExplainerWidget | TextWidget:
    """A live panel explaining ``model`` on the rows of ``X``.

    Parameters
    ----------
    model : a fitted scikit-learn estimator or Pipeline, an XGBoost/LightGBM model (its
        scikit-learn API or a native Booster), or any callable ``f(DataFrame) -> array``
        (probabilities or values); for texts, a text classifier (below).
    X : pandas DataFrame (preferred) or 2-D numpy array: the rows to explore; or a list,
        pandas Series or 1-D numpy array of strings: the text panel (README "Text models").
    y : optional true targets, shown beside the predictions.
    feature_names : names for the columns of a numpy ``X``.
    class_names : labels of the classifier's outputs, in the order of ``model.classes_``.
    categorical_features : names of categorical columns (or one name); default: category, object,
        string and bool columns.
    task : "classification", "regression" or "auto".
    explainers : any of "shap", "lime", "surrogate" (default: all three; None means the
        default); for texts any of "ig", "shap_text", "lime_text", "attention", "surrogate"
        (left out: those the model supports; "shap" and "lime" name the text methods).
    background : rows for the SHAP/LIME background; default: a sample of 100 rows of X.
    random_state : same seed, same explanations.
    global_rows : how many rows of X the global views explain; default: all up to 1,000
        (200 for model-agnostic permutation SHAP; with many classes, rows x classes within
        2,000, at least 100 rows), a seeded random sample beyond.
    global_data : rows for the global views instead of X, however many: a pandas
        DataFrame, a Dask DataFrame, or a path or glob of Parquet files (with X's
        columns). They are explained partition by partition (on the active
        ``dask.distributed`` Client's cluster, if any) and only reductions come back:
        importance, binned dependence, a uniform sample for the beeswarm, the surrogate's
        fidelity and the prediction distribution over every row. Needs
        ``pip install optiml-widgets[dask]`` for Dask frames and Parquet.
    tokenizer, torch_threads, embedding_layer : texts only: the transformers tokenizer of
        a transformers or torch model (a function of texts needs none); torch's threads
        during the panel's model calls (1 by default: on busy cores more threads is many
        times slower); the layer Integrated Gradients interpolates (default: a torch module's
        ``nn.Embedding`` given the token ids; where that cannot be told, it is asked for).
        ``feature_names``, ``categorical_features``, ``task``, ``background``,
        ``global_rows`` and ``global_data`` are for tables only.

    Returns
    -------
    ExplainerWidget for a table, TextWidget for texts
        Show it as the last expression of a cell; use ``w.set_features(...)``,
        ``w.explanation`` and ``w.surrogate`` without a browser too (for texts
        ``w.set_text(...)``, README "Text models").
    """
    session = ExplanationSession(
        model,
        X,
        y,
        feature_names=feature_names,
        class_names=class_names,
        categorical_features=categorical_features,
        task=task,
        explainers=EXPLAINERS if explainers is None else explainers,
        background=background,
        random_state=random_state,
        global_rows=global_rows,
        global_data=global_data,
    )
    return ExplainerWidget(session)


__all__ = [
    "Closed",
    "Condition",
    "Counterfactual",
    "ExplainerWidget",
    "ExplanationSession",
    "Feature",
    "FeatureSchema",
    "GlobalExplanation",
    "LinearTerm",
    "LocalExplanation",
    "ModelAdapter",
    "Rule",
    "Surrogate",
    "TextWidget",
    "__version__",
    "explain_widget",
]
