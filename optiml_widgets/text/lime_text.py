"""LIME text: a local linear model over which of the text's words are kept.

lime's ``LimeTextExplainer`` splits the text exactly into the model's tokens (the pieces of
the text they stand for), removes them at random (each removed one replaced by the mask
token) and fits a weighted linear model to the probabilities: one weight per token, in
probability space, with the local fit's R². Special tokens get no weight. An exact view's
weights carry their standard error from LIME's sampling, as a table's do
(explainers/lime.py, ``sampling_errors``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from ..explainers.base import Attribution, Explainer, register
from ..explainers.lime import remember_local_fits, sampling_errors
from .context import TextContext
from .tokens import Tokens

SAMPLES = 2000
FAST_SAMPLES = 300


@register
class TextLimeExplainer(Explainer):
    """``lime.lime_text`` with the model's tokens as its words, seeded afresh per text."""

    name = "lime_text"
    title = "LIME"
    view = "weights"
    unit = "token"
    streamed = True
    order = 20

    def __init__(self, context: TextContext) -> None:
        self.context = context
        self.random_state = context.random_state
        self._lock = threading.Lock()

    @property
    def algorithm(self) -> str:
        return f"LIME text ({SAMPLES:,} samples, tokens masked with {self.context.adapter.mask_token}, probability)"

    @property
    def has_fast(self) -> bool:
        return True

    def explain(
        self, instances: Sequence[Tokens], outputs: Sequence[int], *, fast: bool = False
    ) -> list[dict[int, Attribution]]:
        """LIME's weights per text and class."""
        return [self.explain_text(tokens, outputs, fast=fast) for tokens in instances]

    def explain_text(
        self, tokens: Tokens, outputs: Sequence[int], *, fast: bool = False
    ) -> dict[int, Attribution]:
        from lime.lime_text import LimeTextExplainer

        words = tokens.words
        pieces = [tokens.surface(i) for i in words]
        out: dict[int, Attribution] = {}
        if not words:
            for c in outputs:
                out[c] = Attribution(np.zeros(len(tokens)), None, "exact", {"score": None})
            return out
        with self._lock:
            explainer = LimeTextExplainer(
                class_names=self.context.adapter.output_names,
                split_expression=lambda _text: pieces,
                bow=False,
                mask_string=self.context.adapter.mask_token,
                random_state=self.random_state,
            )
            fitted = remember_local_fits(explainer.base)
            explanation = explainer.explain_instance(
                tokens.text,
                self.context.probabilities,
                labels=tuple(outputs),
                num_features=len(words),
                num_samples=FAST_SAMPLES if fast else SAMPLES,
            )
        for c in outputs:
            values = np.zeros(len(tokens))
            for k, weight in explanation.as_map()[c]:
                values[words[k]] = weight
            sampling = {}
            if not fast:  # each weight's standard error from LIME's sampling, as for tables
                data, outputs_of_samples, distances, used = fitted[c]
                errors = np.full(len(tokens), np.nan)
                errors[[words[k] for k in used]] = sampling_errors(
                    data[:, used], outputs_of_samples[:, c], explainer.base.kernel_fn(distances)
                )
                sampling = {"errors": errors}
            out[c] = Attribution(
                values=values,
                base=None,
                quality="fast" if fast else "exact",
                details={
                    "space": "probability",
                    "intercept": float(explanation.intercept[c]),
                    "score": float(explanation.score[c])
                    if isinstance(explanation.score, dict)
                    else float(explanation.score),
                    "samples": FAST_SAMPLES if fast else SAMPLES,
                    **sampling,
                },
            )
        return out
