"""LIME text: a local linear model over which of the text's words are kept.

lime's ``LimeTextExplainer`` splits the text exactly into the model's tokens (the pieces of
the text they stand for), removes them at random (each removed one replaced by the mask
token) and fits a weighted linear model to the probabilities: one weight per token, in
probability space, with the local fit's R². Tokens that stand for the same characters (a
byte-level BPE tokenizer's pieces of one emoji) are one word to LIME (``lime_words``).
Special tokens get no weight. An exact view's weights carry their standard error from
LIME's sampling, as a table's do (explainers/lime.py, ``sampling_errors``).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

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

        groups, spans = lime_words(tokens)
        pieces = [tokens.text[start:end] for start, end in spans]
        out: dict[int, Attribution] = {}
        if not groups:
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
                num_features=len(groups),
                num_samples=FAST_SAMPLES if fast else SAMPLES,
            )
        _check_words(explanation, spans)
        for c in outputs:
            # A word of several tokens: its weight shared equally among them, so that a
            # character's tokens add up to its weight, as SHAP's and IG's values of its
            # tokens add up to its effect (and each token's error is shared likewise).
            values = np.zeros(len(tokens))
            for k, weight in explanation.as_map()[c]:
                values[groups[k]] = weight / len(groups[k])
            sampling = {}
            if not fast:  # each weight's standard error from LIME's sampling, as for tables
                data, outputs_of_samples, distances, used = fitted[c]
                errors = np.full(len(tokens), np.nan)
                found = sampling_errors(
                    data[:, used], outputs_of_samples[:, c], explainer.base.kernel_fn(distances)
                )
                for k, error in zip(used, found):
                    errors[groups[k]] = error / len(groups[k])
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


def lime_words(tokens: Tokens) -> tuple[list[list[int]], list[tuple[int, int]]]:
    """LIME's words: groups of token positions, in text order, and the span of the text each
    group stands for (masking a word replaces that span: none of its characters' tokens is left).

    A byte-level BPE tokenizer (RoBERTa, GPT-2) splits one character (an emoji, a CJK
    character, "é") into several tokens that all stand for it: LIME can only remove the
    character, so they are one word. A token that stands for no text but spaces (RoBERTa's
    "Ġ" before an emoji, with an empty span) has nothing LIME could remove on its own: it
    goes with the next word (or the last one, at the end of the text).
    """
    groups: list[list[int]] = []
    spans: list[tuple[int, int]] = []
    waiting: list[int] = []  # tokens of no text of their own, for the next word
    for i in tokens.words:
        span = tokens.spans[i]
        assert span is not None  # words are the tokens with a span
        start, end = span
        piece = tokens.text[start:end]
        if not piece.strip():
            waiting.append(i)
            continue
        # Without surrounding spaces: masking " great" would glue the mask to "was".
        start += len(piece) - len(piece.lstrip())
        end -= len(piece) - len(piece.rstrip())
        if spans and start < spans[-1][1]:  # the same characters as the word before
            groups[-1].extend([*waiting, i])
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            groups.append([*waiting, i])
            spans.append((start, end))
        waiting = []
    if waiting and groups:
        groups[-1].extend(waiting)
    return groups, spans


def _check_words(explanation: Any, spans: list[tuple[int, int]]) -> None:
    """LIME finds its words in the text by their strings: a stretch between two words that
    read as one of them would shift every weight onto the wrong token. It cannot happen
    with a tokenizer that reads the same characters the same way; if it did, say so."""
    indexed = explanation.domain_mapper.indexed_string
    starts = [int(indexed.string_position(k)[0]) for k in range(indexed.num_words())]
    if starts != [start for start, _ in spans]:
        raise ValueError(
            "LIME could not split the text into the model's tokens (a stretch of text between "
            "two tokens reads as a token): explain it with explainers=('ig', 'shap_text')."
        )
