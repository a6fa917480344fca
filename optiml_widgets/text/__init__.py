"""The text panel: explain a text classifier on a list of texts (see README "Text models").

Importing this package loads nothing of the panel: ``explain_widget`` only looks here to
see whether X is a list of strings (dispatch.py). torch, transformers and captum are
imported when a torch model is explained (``pip install "optiml-widgets[text]"``); a
scikit-learn text pipeline needs none of them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .explanation import TextExplanation
    from .session import TextSession
    from .surrogate import TextRule, TextSurrogate
    from .widget import TextWidget

_LAZY = {
    "TextExplanation": ".explanation",
    "TextRule": ".surrogate",
    "TextSession": ".session",
    "TextSurrogate": ".surrogate",
    "TextWidget": ".widget",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def explain_text_widget(
    model: Any,
    texts: Any,
    y: Any = None,
    *,
    tokenizer: Any = None,
    class_names: Sequence[Any] | None = None,
    explainers: Iterable[str] | None = None,
    random_state: int = 0,
    torch_threads: int | None = 1,
    embedding_layer: Any = None,
) -> TextWidget:
    """The live text panel (``explain_widget`` calls this when X is a list of strings).

    ``tokenizer``: the transformers tokenizer of a transformers or torch model (a function
    of texts takes none: it is explained by words). ``explainers``: any of "ig",
    "shap_text", "lime_text", "attention", "surrogate" (default: all the model supports).
    ``torch_threads``: torch's threads during the panel's model calls (1 by default: on
    busy cores more threads is many times slower). ``embedding_layer``: the layer Integrated
    Gradients interpolates (default: a torch module's ``nn.Embedding`` given the token ids;
    where one call cannot tell which, the panel asks for it).
    """
    from .session import TextSession
    from .widget import TextWidget

    session = TextSession(
        model,
        texts,
        y,
        tokenizer=tokenizer,
        class_names=class_names,
        explainers=explainers,
        random_state=random_state,
        torch_threads=torch_threads,
        embedding_layer=embedding_layer,
    )
    return TextWidget(session)


__all__ = [
    "TextExplanation",
    "TextRule",
    "TextSession",
    "TextSurrogate",
    "TextWidget",
    "explain_text_widget",
]
