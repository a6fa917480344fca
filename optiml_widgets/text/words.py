"""What a word is, for a function of texts' tokens (tokens.py) and the surrogate's phrases.

A word is letters and digits (``\\w``) with the combining marks inside and after them:
``\\w`` alone matches no mark (Unicode categories Mn, Mc, Me), so Hindi "अच्छी", Thai,
Arabic with its vowel signs and a decomposed "cafe\\u0301" fell apart at every vowel sign,
virama or accent, and each piece was masked and explained on its own. A word may hold an
apostrophe ("don't") and zero-width (non-)joiners between its letters: Persian writes
"می‌خواهم" with a non-joiner, Sinhala "ශ්‍රී" and Devanagari half forms with a joiner.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from itertools import chain


@functools.cache
def combining_marks() -> str:
    """Every combining mark in Python's Unicode database, as ranges for a regex class
    (``[{combining_marks()}]``).

    Planes 0, 1 and 14 hold them all (planes 2 and 3 are CJK ideographs, 15 and 16 private
    use). Built on first use, not at import: a table's panel never needs it (~20 ms).
    """
    codes = chain(range(0x20000), range(0xE0000, 0xF0000))
    marks = [c for c in codes if unicodedata.category(chr(c)).startswith("M")]
    ranges: list[list[int]] = []
    for c in marks:
        if ranges and ranges[-1][1] == c - 1:
            ranges[-1][1] = c
        else:
            ranges.append([c, c])
    return "".join(f"\\U{a:08x}" if a == b else f"\\U{a:08x}-\\U{b:08x}" for a, b in ranges)


@functools.cache
def word_regex() -> re.Pattern[str]:
    """One word: its ``pattern`` is a plain ``re`` pattern (scikit-learn's token_pattern)."""
    letters = rf"\w[\w{combining_marks()}]*"  # a mark never starts a word: alone, it is a sign
    with_apostrophe = rf"{letters}(?:'{letters})?"
    return re.compile(rf"{with_apostrophe}(?:[\u200c\u200d]{with_apostrophe})*")
