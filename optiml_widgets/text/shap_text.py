"""SHAP with shap's text masker: for any text model, in probability space.

shap's ``Partition`` explainer over ``shap.maskers.Text`` with the model's own tokenizer
(transformers models) or the word tokenizer (functions of texts): a masked token is
replaced by the tokenizer's mask token (``...`` for word tokens). The base value is the
model's output on the fully masked text, and ``base + sum(values)`` is the prediction
exactly. All classes are explained in one call.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from ..explainers.base import Attribution, Explainer, register
from ..jobs import check_stopped
from .context import TextContext
from .tokens import Tokens, WordTokenizer, edit_token

EVALUATIONS = 500  # shap's own default for the partition explainer
FAST_EVALUATIONS = 100


@register
class TextShapExplainer(Explainer):
    """shap's partition explainer with a text masker, one text at a time."""

    name = "shap_text"
    title = "SHAP"
    view = "force"
    unit = "token"
    streamed = True
    order = 10

    def __init__(self, context: TextContext) -> None:
        import shap

        self.context = context
        adapter = context.adapter
        # Every token masked on its own (shap collapses runs of masks into one by default:
        # its base value was then the model on a single mask, not the "absent" text IG's
        # baseline and LIME's samples use).
        self.masker = shap.maskers.Text(
            adapter.tokenizer, mask_token=adapter.mask_token, collapse_mask_token=False
        )
        self.explainer = shap.Explainer(
            context.probabilities,
            self.masker,
            output_names=adapter.output_names,
            algorithm="partition",
            seed=context.random_state,
        )
        self._lock = threading.Lock()  # the masker caches the text it last tokenized
        _warm_up(len(adapter.output_names))

    @property
    def algorithm(self) -> str:
        return (
            f"Partition SHAP (shap.maskers.Text, {EVALUATIONS} evaluations, probability; "
            f"base: every token replaced by {self.context.adapter.mask_token})"
        )

    @property
    def has_fast(self) -> bool:
        return True

    def explain(
        self, instances: Sequence[Tokens], outputs: Sequence[int], *, fast: bool = False
    ) -> list[dict[int, Attribution]]:
        """Per text: every requested class's SHAP values (one explainer call per text)."""
        found = []
        for tokens in instances:
            if len(tokens) < 2:  # shap's partition tree needs two tokens to cluster
                values, base = self._one_token(tokens)
            else:
                values, base = self.values(tokens.text, fast=fast)
            if values.shape[0] != len(tokens):
                raise ValueError(
                    f"shap's text masker split the text into {values.shape[0]} tokens but the "
                    f"model's tokenizer into {len(tokens)}: explain it with "
                    "explainers=('ig', 'lime_text')."
                )
            found.append(
                {
                    c: Attribution(
                        values=values[:, c],
                        base=float(base[c]),
                        quality="fast" if fast else "exact",
                        details={
                            "space": "probability",
                            "evaluations": FAST_EVALUATIONS if fast else EVALUATIONS,
                            "baseline": "every token replaced by "
                            + str(self.context.adapter.mask_token),
                        },
                    )
                    for c in outputs
                }
            )
        return found

    def values(self, text: str, *, fast: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """shap's values (tokens, classes) and base values (classes) of one text."""
        with self._lock:
            explanation = self.explainer(
                [text], max_evals=FAST_EVALUATIONS if fast else EVALUATIONS, silent=True
            )
        return np.asarray(explanation.values[0], float), np.asarray(
            explanation.base_values[0], float
        )

    def _one_token(self, tokens: Tokens) -> tuple[np.ndarray, np.ndarray]:
        """Exact SHAP of a text of one token (its value is the prediction minus the output on
        the masked text) or of none (the base value is the prediction)."""
        mask = self.context.adapter.mask_token
        texts = [tokens.text] + ([edit_token(tokens, 0, "mask", mask)] if len(tokens) else [])
        outputs = np.asarray(self.context.probabilities(texts), float)
        base = outputs[-1]
        return (outputs[0] - base)[None, :][: len(tokens)], base


def _warm_up(n_classes: int) -> None:
    """Run shap's partition explainer once on a constant function: shap compiles its numba
    kernels on first use (seconds, tens on a busy machine), and this happens here, while
    the explainer is built in the background, not on the first text while the session's
    gate is held and live edits wait."""
    import shap

    check_stopped()  # a panel closed meanwhile: no compile (it cannot be stopped once begun)

    def constant(texts: Sequence[str]) -> np.ndarray:
        return np.full((len(texts), n_classes), 1.0 / n_classes)

    explainer = shap.Explainer(constant, shap.maskers.Text(WordTokenizer()), algorithm="partition")
    explainer(["warm up the kernels"], max_evals=FAST_EVALUATIONS, silent=True)
