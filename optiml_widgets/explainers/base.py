"""The seam every local explainer implements, and the registry the rest of the package loops over.

A local explainer attributes one model output to the units of one instance: the features
of a table row, or the tokens of a text. The session caches what it computes, the view
payload and the export carry it, and the frontend draws it, all by looping over the
registered explainers; none of them names an explainer. Adding one is a module with a
subclass of ``Explainer`` decorated with ``@register`` (and, if no existing view fits, one
frontend view).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np

Quality = Literal["exact", "fast"]
Unit = Literal["feature", "token"]
# How the frontend draws an explainer's values: "force" for additive attributions that go
# from a base value to the prediction (SHAP, Integrated Gradients), "weights" for signed
# bars of a local model (LIME).
ViewKind = Literal["force", "weights"]
# What is explained: one output of the model (a class, or a regressor's value), or a
# contrast of two classes (a, b): output a minus output b, "why a and not b".
Output = int | tuple[int, int]


@dataclass(frozen=True)
class Attribution:
    """One explainer's attribution of one output for one instance, in one common form.

    ``values`` has one entry per unit (feature or token). For additive explainers ``base``
    is where they start: ``base + values.sum()`` is the explained output. ``details`` holds
    what only this explainer knows (LIME's local R², its condition texts), JSON-able.
    """

    values: np.ndarray
    base: float | None
    quality: Quality
    details: dict[str, Any] = field(default_factory=dict)


def output_value(outputs: Any, output: Output) -> Any:
    """An output's value from the model's outputs (on their last axis): a contrast is the
    first class's minus the second's."""
    outputs = np.asarray(outputs)
    if isinstance(output, tuple):
        return outputs[..., output[0]] - outputs[..., output[1]]
    return outputs[..., output]


def contrast(first: Attribution, second: Attribution) -> Attribution:
    """The attribution of output a minus output b from those of a and of b: exact for
    additive explainers (SHAP values are linear in the explained output)."""
    return Attribution(
        values=np.asarray(first.values) - np.asarray(second.values),
        base=None if first.base is None or second.base is None else first.base - second.base,
        quality="exact" if first.quality == second.quality == "exact" else "fast",
    )


class Explainer(ABC):
    """A local explainer over the units of a domain's instances (see the module docstring).

    Subclasses set the class attributes and implement ``explain``. The constructor gets the
    domain's context (``TableContext`` for tables); it may be slow (it is run once, in the
    background when the explainer is ``streamed``).
    """

    name: ClassVar[str]  # registry key, as given in ``explainers=``: "shap"
    title: ClassVar[str]  # shown in the panel: "SHAP"
    view: ClassVar[ViewKind] = "weights"
    unit: ClassVar[Unit] = "feature"
    # Explained after the first view is on screen, not before it (slow, sampling-based).
    streamed: ClassVar[bool] = False
    # Where the panel shows it among the others (lower first; ties: registration order).
    order: ClassVar[int] = 100

    @property
    def algorithm(self) -> str:
        """What ran, for people: "TreeSHAP (interventional, probability)"."""
        return self.title

    @property
    def fallback(self) -> str | None:
        """Why the preferred algorithm did not run, or None."""
        return None

    @property
    def has_fast(self) -> bool:
        """Whether ``fast=True`` gives a cheaper estimate (else both modes are the same)."""
        return False

    @abstractmethod
    def explain(
        self, instances: Any, outputs: Sequence[int], *, fast: bool = False
    ) -> list[dict[int, Attribution]]:
        """Per instance, per requested output, its attribution. ``instances`` is what the
        domain passes (encoded rows ``(n, features)`` for tables)."""

    def explain_contrast(
        self, instance: Any, first: int, second: int, *, fast: bool = False
    ) -> Attribution | None:
        """The attribution of output ``first`` minus output ``second`` for one instance, or
        None: the session then subtracts the two outputs' own (``contrast``), exact for
        additive explainers. A local model fit per output (LIME) fits the contrast itself,
        so that its R² and sampling errors are the contrast's."""
        return None

    def info(self) -> dict[str, Any]:
        """What the frontend knows of this explainer (js/src/types.ts ExplainerInfo)."""
        return {
            "name": self.name,
            "title": self.title,
            "view": self.view,
            "unit": self.unit,
            "algorithm": self.algorithm,
            "fallback": self.fallback,
        }


REGISTRY: dict[str, type[Explainer]] = {}


def register(cls: type[Explainer]) -> type[Explainer]:
    """Class decorator: make an explainer available by its ``name`` in ``explainers=``."""
    REGISTRY[cls.name] = cls
    return cls


def registered(unit: Unit = "feature") -> list[str]:
    """Names of the registered explainers of a unit, in the order the panel shows them."""
    names = [name for name, cls in REGISTRY.items() if cls.unit == unit]
    return sorted(names, key=lambda name: REGISTRY[name].order)


def check_random_state(value: Any) -> int:
    """explain_widget's seed, or a clear error (numpy's own names neither the argument nor
    the fix)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"random_state must be an int seed (e.g. 0), not {value!r}.")
    if not 0 <= value < 2**32:  # numpy's seeds
        raise ValueError(f"random_state must be from 0 to 2**32 - 1, not {value}: e.g. 0.")
    return int(value)


def check_names(
    explainers: Any, unit: Unit = "feature", extra: Sequence[str] = ("surrogate",)
) -> tuple[str, ...]:
    """The chosen explainer names, or a clear error naming the unknown ones."""
    if isinstance(explainers, str):
        explainers = (explainers,)
    try:
        chosen = tuple(dict.fromkeys(explainers))
    except TypeError:
        raise TypeError(
            f"explainers must be a list of names, not {type(explainers).__name__}."
        ) from None
    known = [*registered(unit), *extra]
    unknown = [e for e in chosen if e not in known]
    if unknown:
        raise ValueError(f"Unknown explainers {unknown}: choose from {known}.")
    return chosen


def build(name: str, context: Any) -> Explainer:
    """An explainer of the registry, built on a domain's context."""
    factory: Callable[[Any], Explainer] = REGISTRY[name]
    return factory(context)
