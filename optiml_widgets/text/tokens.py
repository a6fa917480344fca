"""Tokens: the units a text is explained by, with where each one sits in the text.

A transformers model is explained by its own tokens (special ones like ``[CLS]`` included,
so attributions and attention line up position by position); a model that takes strings
(``f(list[str])``) by words. Either way a token is a string, a character span of the text
(None for special tokens) and whether it is special. Edits of one token (mask, delete,
replace) are made on the text through those spans.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from typing import Any, Literal

from .words import combining_marks, word_regex

# Words (words.py: with their combining marks and joiners), and any other sign on its own;
# an emoji keeps its skin tone, variation selector, keycap and tag characters, its
# zero-width-joined parts and any combining mark after it (👍🏽, 1️⃣, 🇫🇷 and 👨‍👩‍👧 are one
# token each), and the other invisible format characters (zero-width space, direction marks
# and controls, soft hyphen, BOM) are no token of their own: they read as nothing.
_INVISIBLE = "\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"
_SIGN = rf"[^\w\s{_INVISIBLE}]"
# What a masked word of a function of texts becomes (shap's own mask for strings): one
# token, not three dots, so a masked text has as many tokens as the text (as the page shows).
WORD_MASK = "..."


@functools.cache
def word_or_sign() -> re.Pattern[str]:
    """One token of a function of texts (built on first use: words.combining_marks)."""
    sign_part = rf"[\U0001F3FB-\U0001F3FF\U000E0020-\U000E007F{combining_marks()}]"
    return re.compile(
        r"[0-9#*]\uFE0F?\u20E3"  # a keycap
        r"|[\U0001F1E6-\U0001F1FF]{2}"  # a flag: two regional indicators
        rf"|{word_regex().pattern}"
        rf"|{re.escape(WORD_MASK)}"
        rf"|{_SIGN}(?:{sign_part}|\u200D{_SIGN})*"
    )


TokenEdit = Literal["mask", "delete", "replace"]


@dataclass(frozen=True)
class Tokens:
    """A text split into the model's units.

    ``text`` is what the model sees: a text longer than the model's limit is cut after the
    last token that fits (``truncated`` then says how many characters were left out).
    ``ids`` are what the tokenizer returned (token ids, or the words themselves).
    """

    text: str
    strings: tuple[str, ...]
    spans: tuple[tuple[int, int] | None, ...]
    special: tuple[bool, ...]
    ids: tuple[Any, ...]
    truncated: int = 0

    def __len__(self) -> int:
        return len(self.strings)

    @property
    def words(self) -> list[int]:
        """Positions of the tokens that stand for a piece of the text (not special)."""
        return [i for i, s in enumerate(self.special) if not s]

    def surface(self, i: int) -> str:
        """The piece of the text a token stands for ("" for special tokens)."""
        span = self.spans[i]
        return "" if span is None else self.text[span[0] : span[1]]

    @property
    def pieces(self) -> list[str]:
        """Per token, its piece of the text with the whitespace after it, as shap's text
        masker cuts a text: joined, they are the text. The text before the first token
        goes to the special token before it (``[CLS]``, as in shap) or to that token; other
        special tokens, tokens of no text and the later tokens of one character (a
        byte-level BPE's bytes of an emoji) get ""."""
        firsts: list[tuple[int, int]] = []  # (token, start) of each token with text of its own
        covered = 0
        for i, span in enumerate(self.spans):
            if span is None or span[0] >= span[1]:
                continue
            if not firsts or span[0] >= covered:  # not inside the token before
                firsts.append((i, span[0]))
            covered = max(covered, span[1])
        out = [""] * len(self)
        for k, (i, start) in enumerate(firsts):
            end = firsts[k + 1][1] if k + 1 < len(firsts) else len(self.text)
            out[i] = self.text[start:end]
        if firsts:
            first = firsts[0][0]
            lead = self.text[: firsts[0][1]]
            if first > 0 and self.special[first - 1]:
                out[first - 1] = lead
            else:
                out[first] = lead + out[first]
        return out


class WordTokenizer:
    """Words and punctuation marks, with their character offsets.

    Called like a transformers tokenizer (``tok(text, return_offsets_mapping=True)`` gives
    ``input_ids`` and ``offset_mapping``), so shap's text masker uses it as it is; the ids
    are the words themselves.
    """

    mask_token = WORD_MASK

    def __call__(self, s: str, return_offsets_mapping: bool = True) -> dict[str, list[Any]]:
        matches = list(word_or_sign().finditer(s))
        out: dict[str, list[Any]] = {"input_ids": [m.group(0) for m in matches]}
        if return_offsets_mapping:
            # Each word with the spaces BEFORE it: shap's masker replaces a word's segment
            # (up to the next word) by " ..."; with the spaces after it, "was great" masked
            # read "...great", another word to a model of words.
            ends = [0] + [m.end() for m in matches]
            out["offset_mapping"] = [(ends[i], m.end()) for i, m in enumerate(matches)]
        return out

    def __repr__(self) -> str:
        return "WordTokenizer()"


def word_tokens(text: str, max_length: int | None = None) -> Tokens:
    """A text split into words and punctuation marks; with more than ``max_length`` of
    them, cut after the last one that fits (``truncated`` says how much was left out)."""
    matches = list(itertools.islice(word_or_sign().finditer(text), max_length))
    truncated = 0
    if max_length is not None and len(matches) == max_length and max_length > 0:
        cut = matches[-1].end()
        if word_or_sign().search(text, cut) is not None:
            truncated = len(text) - cut
            text = text[:cut]
    return Tokens(
        text=text,
        strings=tuple(m.group(0) for m in matches),
        spans=tuple(m.span() for m in matches),
        special=tuple(False for _ in matches),
        ids=tuple(m.group(0) for m in matches),
        truncated=truncated,
    )


def model_tokens(tokenizer: Any, text: str, max_length: int | None) -> Tokens:
    """A text split by a transformers tokenizer, with special tokens and offsets; a text
    longer than ``max_length`` tokens is cut to what fits."""
    encoded = tokenizer(text, return_offsets_mapping=True, add_special_tokens=True)
    ids = list(encoded["input_ids"])
    offsets = list(encoded["offset_mapping"])
    # Special: added by the tokenizer ([CLS], [SEP]), standing for no text. The unknown
    # token is in the tokenizer's special ids too, but it stands for a word ("café").
    special_ids = tokenizer.get_special_tokens_mask(ids, already_has_special_tokens=True)
    special = [bool(s) and start == end for s, (start, end) in zip(special_ids, offsets)]
    truncated = 0
    if max_length is not None and len(ids) > max_length:
        # Keep what fits and cut the text after the last kept token, so every explainer
        # sees the same (shorter) text; special tokens are added again by the tokenizer.
        n_specials = len(ids) - len(tokenizer(text, add_special_tokens=False)["input_ids"])
        kept = [i for i, s in enumerate(special) if not s][: max(1, max_length - n_specials)]
        cut = int(offsets[kept[-1]][1])
        truncated = len(text) - cut
        return _replace_truncated(model_tokens(tokenizer, text[:cut], None), truncated)
    strings = tokenizer.convert_ids_to_tokens(ids)
    spans: list[tuple[int, int] | None] = []
    for (start, end), is_special in zip(offsets, special):
        spans.append(None if is_special else (int(start), int(end)))
    return Tokens(
        text=text,
        strings=tuple(str(s) for s in strings),
        spans=tuple(spans),
        special=tuple(bool(s) for s in special),
        ids=tuple(int(i) for i in ids),
        truncated=truncated,
    )


def _replace_truncated(tokens: Tokens, truncated: int) -> Tokens:
    return Tokens(tokens.text, tokens.strings, tokens.spans, tokens.special, tokens.ids, truncated)


def edit_token(
    tokens: Tokens,
    i: int,
    action: TokenEdit,
    mask_token: str,
    replacement: str = "",
    text: str | None = None,
) -> str:
    """The text with token ``i`` masked, deleted or replaced (a deletion takes the spaces
    beside the token along, leaving one between two words). ``text``: the
    whole text the tokens were read from, when the model's limit cut them short (their
    spans index it as they do the part kept); the part beyond the cut stays."""
    if not 0 <= i < len(tokens):
        raise IndexError(f"No token {i}: the text has tokens 0..{len(tokens) - 1}.")
    span = tokens.spans[i]
    if span is None:
        raise ValueError(f"Token {i} ({tokens.strings[i]!r}) is a special token: edit a word.")
    if action == "mask":
        new = mask_token
    elif action == "delete":
        new = ""
    elif action == "replace":
        if not isinstance(replacement, str):
            raise TypeError(f"replacement must be a string, not {type(replacement).__name__}.")
        if not replacement.strip():  # silently a deletion before
            raise ValueError(
                f"Replacing token {i} needs the new word, e.g. w.edit_token({i}, 'replace', "
                f"'good'); to drop the token, w.edit_token({i}, 'delete')."
            )
        new = replacement
    else:
        raise ValueError(f"Unknown token edit {action!r}: use 'mask', 'delete' or 'replace'.")
    start, end = span
    whole = tokens.text if text is None else text
    if not whole.startswith(tokens.text):
        raise ValueError("text must be the text the tokens were read from.")
    before, after = whole[:start], whole[end:]
    if new:
        return before + new + after
    # Deleting: the spaces beside the token go with it, and one stays if it stood between
    # two words. Only there: the rest of the text keeps its own spaces and line breaks.
    kept_before, kept_after = before.rstrip(" "), after.lstrip(" ")
    spaced = len(kept_before) < len(before) or len(kept_after) < len(after)
    between = (
        spaced
        and kept_before
        and kept_after
        and not kept_before[-1].isspace()
        and not kept_after[0].isspace()
    )
    return kept_before + (" " if between else "") + kept_after
