"""The optional deep-learning dependencies of the text panel: torch, transformers, captum.

They are imported lazily, only by the text panel and only when a model needs them (a
scikit-learn text pipeline needs none of them); the tabular panel never imports them.
"""

from __future__ import annotations

import importlib.util

INSTALL = 'pip install "optiml-widgets[text]"'
PACKAGES = ("torch", "transformers", "captum")


def missing(*modules: str) -> list[str]:
    """The modules among ``modules`` that are not installed."""
    return [m for m in modules if importlib.util.find_spec(m) is None]


def require_text(what: str, modules: tuple[str, ...] = PACKAGES) -> None:
    """Raise an ImportError naming what to install when ``modules`` are missing."""
    absent = missing(*modules)
    if absent:
        raise ImportError(
            f"{what} needs {', '.join(absent)}, which {'is' if len(absent) == 1 else 'are'} "
            f"not installed: run `{INSTALL}` (CPU torch, transformers and captum)."
        )
