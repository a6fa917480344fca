"""How ``explain_widget`` picks the text panel: X a list, pandas Series or 1-D array of
strings.

Kept apart from the text panel itself so that the tabular path imports nothing of it (nor
torch, transformers or captum).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

# explain_widget's tabular-only arguments, with the defaults that mean "not given".
TABULAR_ONLY = {
    "feature_names": None,
    "categorical_features": None,
    "task": "auto",
    "background": None,
    "global_rows": None,
    "global_data": None,
}
# Text-only keyword arguments and their defaults.
TEXT_ONLY = {"tokenizer": None, "torch_threads": 1, "embedding_layer": None}


def _default(value: Any, name: str) -> bool:
    """Whether a tabular-only argument was left at its default (values may be frames)."""
    default = TABULAR_ONLY[name]
    return value is default or (isinstance(value, str) and value == default)


def looks_like_texts(X: Any) -> bool:
    """Whether ``X`` is a list/tuple, pandas Series or 1-D numpy array of strings: one
    string among its items is enough (a stray number or NaN then gets the text panel's own
    error naming it, not a table's "X must be 2-D"). Bytes count as strings here, so that
    undecoded texts are told to be decoded."""
    if type(X).__name__ == "Series" and type(X).__module__.startswith("pandas"):
        return any(isinstance(v, (str, bytes)) for v in X.head(100))
    if type(X).__name__ == "ndarray" and type(X).__module__ == "numpy":
        if X.ndim != 1:
            return False  # a 2-D array of strings is a table (of categories)
        return X.dtype.kind in "US" or (
            X.dtype.kind == "O" and any(isinstance(v, (str, bytes)) for v in X[:100])
        )
    if not isinstance(X, (list, tuple)):
        return False
    rows = any(isinstance(v, (list, tuple)) or hasattr(v, "__array__") for v in X[:100])
    return not rows and any(isinstance(v, (str, bytes)) for v in X)


def text_panel_for_texts(explain_widget: Callable[..., Any]) -> Callable[..., Any]:
    """Decorates ``explain_widget``: the same call with a list of strings gives the text
    panel (with the text-only keywords ``tokenizer=``, ``torch_threads=``,
    ``embedding_layer=``); anything else goes to the tabular panel unchanged."""

    @functools.wraps(explain_widget)
    def dispatch(model: Any, X: Any, y: Any = None, **kwargs: Any) -> Any:
        text_options = {k: kwargs.pop(k) for k in TEXT_ONLY if k in kwargs}
        if isinstance(X, (list, tuple)) and not X:
            raise ValueError("X is empty: pass at least one row (or text) to explain.")
        if isinstance(X, (str, bytes)):
            raise TypeError(
                f"X is one text ({type(X).__name__}): pass a list of texts, e.g. "
                "explain_widget(model, [text])."
            )
        if not looks_like_texts(X):
            given = [k for k, v in text_options.items() if v is not TEXT_ONLY[k]]
            if given:
                raise TypeError(
                    f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for text models: "
                    "pass X as a list (or Series, or 1-D array) of strings, or leave it out "
                    "for tables."
                )
            return explain_widget(model, X, y, **kwargs)
        tabular = [k for k, v in kwargs.items() if k in TABULAR_ONLY and not _default(v, k)]
        if tabular:
            raise TypeError(
                f"{', '.join(tabular)} {'is' if len(tabular) == 1 else 'are'} for tables, "
                "not for a list of texts."
            )
        from . import explain_text_widget

        return explain_text_widget(
            model,
            X,
            y,
            class_names=kwargs.get("class_names"),
            # None (not given): the methods the text model supports; a list given is kept,
            # whatever it holds.
            explainers=kwargs.get("explainers"),
            random_state=kwargs.get("random_state", 0),
            **text_options,
        )

    signature = inspect.signature(explain_widget)
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default)
        for name, default in TEXT_ONLY.items()
        if name not in signature.parameters
    ]
    dispatch.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *extra]
    )
    return dispatch
