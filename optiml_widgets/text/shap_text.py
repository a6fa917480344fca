"""SHAP with shap's text masker: for any text model, in probability space.

shap's ``Partition`` explainer over ``shap.maskers.Text`` with the model's own tokenizer
(transformers models) or the word tokenizer (functions of texts): a masked token is
replaced by the tokenizer's mask token (``...`` for word tokens; a character's tokens by one). The base value is the
model's output on the fully masked text, and ``base + sum(values)`` is the prediction
exactly. All classes are explained in one call.

A byte-level BPE tokenizer (RoBERTa, GPT-2) splits one character (an emoji, a CJK
character, "é") into several tokens that all have that character's span. shap's masker
cuts the text into one segment per token (from its start to the next token's), so each of
them got the whole character: "great 👍" read "great 👍👍👍👍" with nothing masked, and
base + sum was the model on that text, not on the real one. Here the tokens that share
characters are one feature to shap (``character_groups``): one segment, masked by one mask
token, as LIME's words are; the character's SHAP value is shared equally among its tokens.

shap's masker also turned every whitespace run of every text it built into one space and
stripped its ends, the unmasked text too: for a text with a line break, a tab or two spaces,
base + sum was the model on another text than the prediction (``masked_text`` keeps them).

shap's masker groups the tokens into a tree (which words go together) by merging, again and
again, the two neighbouring groups its ``merge_score`` likes best. Its own loop scores every
pair again after each merge: seconds for a thousand tokens, many minutes for fifteen
thousand, in one call nothing can stop. ``fast_text_masker`` makes the same merges with the
same scores from a heap of the neighbouring pairs (a merge changes only the two pairs beside
it): tens of milliseconds for a thousand tokens.
"""

from __future__ import annotations

import heapq
import itertools
import re
import threading
from collections.abc import Sequence
from typing import Any

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
        self.masker = fast_text_masker(adapter.tokenizer, adapter.mask_token)
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
            groups, spans = character_groups(tokens.spans)
            if len(groups) < 2:  # shap's partition tree needs two features to cluster
                values, base = self._one_feature(tokens, spans)
            else:
                values, base = self.values(tokens.text, fast=fast)
            if values.shape[0] != len(groups):
                raise ValueError(
                    f"shap's text masker split the text into {values.shape[0]} pieces but the "
                    f"model's tokens make {len(groups)}: explain it with "
                    "explainers=('ig', 'lime_text')."
                )
            values = shared_among_tokens(values, groups)
            found.append(
                {
                    c: Attribution(
                        values=values[:, c],
                        base=float(base[c]),
                        quality="fast" if fast else "exact",
                        details={
                            "space": "probability",
                            "evaluations": FAST_EVALUATIONS if fast else EVALUATIONS,
                            "baseline": "every token replaced by " + self.context.adapter.absent,
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

    def _one_feature(
        self, tokens: Tokens, spans: Sequence[tuple[int, int]]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact SHAP of a text of one token or one character's tokens (its value is the
        prediction minus the output on the masked text) or of none (the base value is the
        prediction)."""
        mask = self.context.adapter.mask_token
        texts = [tokens.text]
        if len(tokens) == 1:
            texts.append(edit_token(tokens, 0, "mask", mask))  # says so if it is special
        elif spans:
            start, end = spans[0]
            texts.append(tokens.text[:start] + mask + tokens.text[end:])
        outputs = np.asarray(self.context.probabilities(texts), float)
        base = outputs[-1]
        return (outputs[0] - base)[None, :][: len(spans)], base


def character_groups(
    spans: Sequence[tuple[int, int] | None],
) -> tuple[list[list[int]], list[tuple[int, int]]]:
    """The features shap masks: groups of token positions, in order, and the span of the
    text each group stands for, from the tokens' spans (None or empty: a special token).

    Tokens whose spans overlap (a byte-level BPE tokenizer's pieces of one emoji, CJK
    character or "é" each have that character's span) are one group: shap can only remove
    the character, all its tokens at once. Every other token is a group of its own, so for
    tokenizers that never split a character the features are the tokens, as in shap.
    """
    groups: list[list[int]] = []
    found: list[tuple[int, int]] = []
    for i, span in enumerate(spans):
        start, end = (0, 0) if span is None else (int(span[0]), int(span[1]))
        if groups and start < end and start < found[-1][1] and groups[-1][-1] == i - 1:
            groups[-1].append(i)
            found[-1] = (found[-1][0], max(found[-1][1], end))
        else:
            groups.append([i])
            found.append((start, end))
    return groups, found


def shared_among_tokens(values: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """Per token, from per group (groups, classes): a group's value shared equally among its
    tokens (as LIME shares a word's weight), so a character's tokens add up to its value and
    base + sum stays the prediction."""
    out = np.zeros((sum(len(group) for group in groups), *values.shape[1:]))
    for group, value in zip(groups, values):
        out[group] = value / len(group)
    return out


def fast_text_masker(tokenizer: Any, mask_token: Any) -> Any:
    """shap's ``Text`` masker with every token masked on its own and its token tree built in
    about ``n log n`` steps (the tree shap's own ``clustering`` builds)."""
    import shap

    class FastTextMasker(shap.maskers.Text):
        def __call__(self, mask: Any, s: str) -> tuple[np.ndarray]:
            found = masked_text(self, mask, s)
            return super().__call__(mask, s) if found is None else (np.array([found]),)

        def clustering(self, s: str) -> np.ndarray:
            return text_clustering(self, s)

        def token_segments(self, s: str) -> tuple[list[str], list[Any]]:
            found = character_segments(self.tokenizer, s)
            return super().token_segments(s) if found is None else found

    return FastTextMasker(tokenizer, mask_token=mask_token, collapse_mask_token=False)


def character_segments(tokenizer: Any, s: str) -> tuple[list[str], list[Any]] | None:
    """shap's ``Text.token_segments`` of ``s`` (the piece of the text each feature masks,
    and its token id) with a character's tokens as one feature (``character_groups``); None
    when no character has several tokens (or the tokenizer gives no offsets): shap's own.

    shap's segment of a token runs from its start to the next token's start (or to its own
    end, whichever is later). Each token of a character has the whole character's span, so
    each segment was the character: it appeared as many times as it has tokens. A group's
    segment is made the same way from the group's span, so the segments, joined, are the
    text again, and masking the group puts one mask token where the character was. A
    group's id is its first token's.
    """
    try:
        encoded = tokenizer(s, return_offsets_mapping=True)
    except (NotImplementedError, TypeError):  # as shap: it reads the tokens instead
        return None
    ids = list(encoded["input_ids"])
    groups, spans = character_groups(encoded["offset_mapping"])
    if len(groups) == len(ids):
        return None
    segments = [
        s[start : max(end, after)] for (start, end), (after, _) in itertools.pairwise(spans)
    ]
    segments.append(s[spans[-1][0] : spans[-1][1]])
    return segments, [ids[group[0]] for group in groups]


def masked_text(masker: Any, mask: Any, s: str) -> str | None:
    """shap's ``Text.__call__`` of ``s`` keeping the text's own whitespace; None when the
    masker's segments are not the text (shap's own then).

    shap joins the kept segments and a " " + mask token for each masked one, then turns
    every whitespace run into one space and strips the ends: the unmasked text was not
    ``s`` when it had a line break, a tab, two spaces or spaces at an end, and base + sum
    was the model on another text than the prediction. Here only the space shap adds before
    a mask is left out where shap's collapse or strip would have removed it (at the start,
    after whitespace), and the whitespace around the segments (before the first token,
    after the last) is kept as it is. A text whose whitespace shap would not change gets
    shap's own string.
    """
    from shap.utils.transformers import getattr_silent

    mask = masker._standardize_mask(mask, s)
    masker._update_s_cache(s)
    segments = [str(v) for v in masker._segments_s]
    joined = "".join(segments)
    lead = len(s) - len(s.lstrip())
    at = next(
        (
            a
            for a in range(lead + 1)
            if s.startswith(joined, a) and not s[a + len(joined) :].strip()
        ),
        None,
    )
    if at is None or masker.output_type != "string":
        return None
    mask = np.array(mask, dtype=bool)  # as shap: tokens it always keeps ([CLS], [SEP])
    if masker.keep_prefix > 0:
        mask[: masker.keep_prefix] = True
    if masker.keep_suffix > 0:
        mask[-masker.keep_suffix :] = True
    sep_token = getattr_silent(masker.tokenizer, "sep_token")
    out = s[:at]
    after_mask = False
    for keep, segment in zip(mask, segments):
        if keep or segment == sep_token:
            out += segment
            after_mask = False
        elif not (masker.collapse_mask_token and after_mask):
            out += masker.mask_token if not out or out[-1].isspace() else " " + masker.mask_token
            after_mask = True
    return out + s[at + len(joined) :]


_SPACE_END = re.compile(r"^.*\W$")
_LETTER_START = re.compile(r"^[A-Za-z]")


def text_clustering(masker: Any, s: str) -> np.ndarray:
    """shap's ``Text.clustering`` of ``s``: the same tokens, tree and heights, with the tree
    built by this module's ``partition_tree``."""
    from shap.utils.transformers import getattr_silent

    masker._update_s_cache(s)
    sep_token = getattr_silent(masker.tokenizer, "sep_token")
    special_tokens = [] if sep_token is None else [sep_token]
    segments = masker._segments_s
    tokens: list[str] = []
    for i, v in enumerate(segments):  # as shap marks the pieces of a word
        if (
            i > 0
            and _SPACE_END.match(segments[i - 1]) is None
            and _LETTER_START.match(v) is not None
            and tokens[i - 1] != ""
        ):
            tokens.append("##" + v.strip())
        else:
            tokens.append(v.strip())
    tree = partition_tree(tokens, special_tokens)
    # shap's own: the heights are the clusters' sizes, rescaled
    tree[:, 2] = tree[:, 3]
    tree[:, 2] /= tree[:, 2].max()
    return tree


class _Group:
    """A run of neighbouring tokens as ``merge_score`` reads it: its first, second and last
    token and its length."""

    __slots__ = ("first", "last", "left", "node", "right", "second", "size", "stamp", "start")

    def __init__(self, token: Any, node: int) -> None:
        self.first = self.second = self.last = token
        self.size = 1
        self.node = node  # its row in the tree (a token's own position while it is alone)
        self.start = node  # the position of its first token: ties go to the leftmost pair
        self.left: _Group | None = None
        self.right: _Group | None = None
        self.stamp = 0  # bumped when its pair with ``right`` is scored again

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i: int) -> Any:
        if i == 0:
            return self.first
        if i == -1 or i == self.size - 1:
            return self.last
        if i == 1:
            return self.second
        raise IndexError(i)


def partition_tree(tokens: Sequence[str], special_tokens: Sequence[str]) -> np.ndarray:
    """``shap.maskers._text.partition_tree`` in about ``n log n`` steps: the same merges in
    the same order (the best ``merge_score`` of two neighbouring groups first, the leftmost
    of equal ones), found with a heap instead of scoring every pair after each merge."""
    from shap.maskers._text import Token, merge_score, openers

    m = len(tokens)
    tree = np.zeros((max(m - 1, 0), 4))
    groups = [_Group(Token(t), i) for i, t in enumerate(tokens)]
    for a, b in itertools.pairwise(groups):
        a.right, b.left = b, a
    heap: list[tuple[float, int, int, _Group]] = []

    def score(group: _Group) -> None:  # its pair with the group on its right
        group.stamp += 1
        if group.right is not None:
            found = merge_score(group, group.right, special_tokens)
            heapq.heappush(heap, (-found, group.start, group.stamp, group))

    for group in groups[:-1]:
        score(group)
    for row in range(m - 1):
        while True:
            negative, _, stamp, left = heapq.heappop(heap)
            if stamp == left.stamp and left.right is not None:
                break
        right = left.right
        tree[row] = (left.node, right.node, negative, left.size + right.size)
        # left becomes the merged group, where shap's list keeps it
        if left.size == 1:
            left.second = right.first
        left.last, left.size, left.node = right.last, left.size + right.size, m + row
        if left.first.s in openers and right.last.s == openers[left.first.s]:
            left.first.balanced = True
            right.last.balanced = True
        left.right = right.right
        if right.right is not None:
            right.right.left = left
        right.stamp = -1  # its pair is gone
        score(left)
        if left.left is not None:
            score(left.left)
    tree[:, 2] += 10  # shap's: merges it scored below -10 stay together longest
    return tree


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
