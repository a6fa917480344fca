"""Numbers as people read them, the same in rules, labels, exports and the panel.

js/src/format.ts ``formatNumber`` is the same function: tests/test_format.py and
js/test/format.test.ts hold both to the same table (js/test/format-cases.json).

The rule: ``digits`` significant digits of the number's scale, no exponent for everyday
magnitudes (a whole number below 1e15 keeps every digit: 123456789012 is read, not
1.235e+11), trailing zeros dropped. The scale is the number itself unless one is given: a
feature's values are written with the decimals its largest magnitude needs
(``feature_scale``), so 0.0291 and 0.156 of one feature read alike, and 844 and 862 of
another do not carry decimals that mean nothing. Ties round away from zero on the exact
binary value, as JavaScript's ``toFixed`` does.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

MISSING = "\u2013"  # en dash: no value
SMALLEST_FIXED = 1e-4  # below this scale numbers get an exponent
# From here up too: a float's digits stop being whole numbers' (2**53 is about 9e15).
LARGEST_VALUE_FIXED = 1e15
MAX_DECIMALS = 20


def format_number(value: float | int | None, digits: int = 4, scale: float | None = None) -> str:
    """``digits`` significant digits of ``scale`` (default: of the value itself).

    >>> format_number(862.63), format_number(0.156012), format_number(0.0817243)
    ('862.6', '0.156', '0.08172')
    >>> format_number(862.63, scale=4254.0), format_number(0.0291, scale=0.291)
    ('863', '0.0291')
    >>> format_number(52013.5), format_number(3), format_number(12345678901.0)
    ('52014', '3', '12345678901')
    """
    if value is None:
        return MISSING
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "inf" if number > 0 else "-inf"
    if number == 0:
        return "0"
    digits = max(1, int(digits))
    size = abs(float(scale)) if scale is not None and _usable(scale) else abs(number)
    if size < SMALLEST_FIXED or abs(number) >= LARGEST_VALUE_FIXED:
        return _scientific(number, digits)
    decimals = min(MAX_DECIMALS, max(0, digits - 1 - _exponent(size)))
    text = _trim(_fixed(number, decimals))
    return "0" if text == "-0" else text


def finite(value: Any) -> float | None:
    """A number as strict JSON and the rules read it: a float, or None for no number (None,
    NaN, an infinity, pandas' NA, anything that is not a number)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def apart_scale(values: Iterable[Any], digits: int = 4) -> float | None:
    """The scale (``format_number``'s) at which numbers read side by side, a rule table's
    values, all read apart: None when each at its own ``digits`` already does; else the
    largest power of ten that tells them apart, down to SMALLEST_FIXED (1000.1 and 1000.4
    both read "1000" at their own size; at 100's four digits, "1000.1" and "1000.4"). A
    value smaller than that scale keeps its own digits: write each at ``min(|value|,
    scale)``.

    >>> apart_scale([1000.1, 1000.4]), apart_scale([1000.2, 1000.6]), apart_scale([2.0])
    (100.0, None, None)
    """
    numbers = sorted({float(v) for v in values if math.isfinite(float(v))})
    if len(numbers) < 2:
        return None

    def apart(scale: float | None) -> bool:
        texts = {
            format_number(v, digits, None if scale is None else min(abs(v), scale)) for v in numbers
        }
        return len(texts) == len(numbers)

    if apart(None):
        return None
    top = _exponent(max(abs(v) for v in numbers))
    for exponent in range(top, _exponent(SMALLEST_FIXED) - 1, -1):
        if apart(10.0**exponent):
            return 10.0**exponent
    return None


def exact_number(value: float | int) -> str:
    """Every digit a number holds (its shortest exact form), for a rule's threshold: the
    surrogate rounded it to the fewest digits that keep every row of X on its side, and
    rounding it again would move rows across ("price > 1000" for 1000.4).

    >>> exact_number(1000.4), exact_number(52000.0), exact_number(1655000000.5)
    ('1000.4', '52000', '1655000000.5')
    >>> exact_number(1e-07), exact_number(-0.0), exact_number(3)
    ('1e-07', '0', '3')
    """
    number = float(value)
    if not math.isfinite(number):
        return format_number(number)
    text = repr(number).removesuffix(".0")
    return "0" if text == "-0" else text


def signed(value: float, digits: int = 3) -> str:
    """A signed contribution: "+0.123" / "\u22120.045" (as js/src/format.ts signed)."""
    return ("+" if value >= 0 else "\u2212") + format_number(abs(value), digits)


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 80


def short_repr(value: Any) -> str:
    """``repr(value)`` cut in the middle beyond ~80 characters: a message quoting what was
    given (a 10 MB string typed into a box) stays a message."""
    return _SHORT.repr(value)


ROW_LABEL_CHARS = 40  # a header line, not the record


def row_label(label: Any) -> str:
    """One of X's own row labels as short text: a date at midnight without its time, a
    MultiIndex's parts joined by commas, cut with "…" beyond ROW_LABEL_CHARS characters."""
    if isinstance(label, tuple):
        text = ", ".join(row_label(part) for part in label)
    elif hasattr(label, "normalize") and hasattr(label, "date") and label == label.normalize():
        text = label.date().isoformat()  # a pandas Timestamp at midnight
    else:
        text = str(label)
    return text if len(text) <= ROW_LABEL_CHARS else text[: ROW_LABEL_CHARS - 1] + "…"


def percent(share: float) -> str:
    """A share as the panel prints it: one decimal below 10% ("0.5%"), and a share too
    small to show as "<0.1%", never "0%" (a rule that covers a few rows covers some); as
    much short of all as "99.5%" or ">99.9%", never "100%" (nor does it cover all)."""
    if 0 < share < 0.0005:
        return "<0.1%"
    if 0.9995 <= share < 1:
        return ">99.9%"
    return f"{share * 100:.{1 if share < 0.1 or 0.995 <= share < 1 else 0}f}%"


def counted(n: int, word: str, plural: str | None = None) -> str:
    """A count and its noun: "1 rule", "8 rules", "2 leaves" (as js/src/format.ts counted)."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def first_names(names: Any, limit: int = 10) -> str:
    """A list in a message: "['a', 'b']", or past ``limit`` "['a', ..., 'j'] and 20 more"
    (a cut list must say it is cut)."""
    names = list(names)
    if len(names) <= limit:
        return repr(names)
    return f"{names[:limit]!r} and {len(names) - limit} more"


def format_value(value: Any, feature: Any) -> str:
    """A feature's value as the panel writes it (as js/src/format.ts formatValue): numbers
    at the feature's scale, an integer feature's whole numbers as they are."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "missing"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if feature.kind == "integer" and float(value).is_integer():
            return str(int(value))
        return format_number(value, 4, feature_scale(feature.min, feature.max))
    return str(value)


def feature_scale(low: float | None, high: float | None) -> float | None:
    """The scale a feature's values are written at: its largest magnitude (None if unknown)."""
    ends = [abs(float(v)) for v in (low, high) if v is not None and math.isfinite(float(v))]
    biggest = max(ends, default=0.0)
    return biggest if biggest > 0 else None


def _usable(scale: float | None) -> bool:
    return scale is not None and math.isfinite(float(scale)) and float(scale) != 0


def _exponent(size: float) -> int:
    """floor(log10(size)) of the shortest decimal that reads back as ``size`` (JavaScript's
    ``toExponential()`` gives the same digits, so both sides agree at powers of ten)."""
    return Decimal(repr(abs(size))).adjusted()


def _fixed(number: float, decimals: int) -> str:
    with localcontext() as context:
        context.prec = 60
        rounded = Decimal(number).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
        return f"{rounded:f}"


def _scientific(number: float, digits: int) -> str:
    """``1.235e+10``: JavaScript's ``toExponential(digits - 1)``, trailing zeros dropped."""
    exact = abs(Decimal(number))
    exponent = exact.adjusted()
    with localcontext() as context:
        context.prec = 60
        mantissa = int(exact.scaleb(digits - 1 - exponent).quantize(1, rounding=ROUND_HALF_UP))
    if mantissa >= 10**digits:  # 9.9996e5 rounds up to 1.000e6
        mantissa //= 10
        exponent += 1
    text = str(mantissa)
    text = _trim(text[0] + "." + text[1:]) if len(text) > 1 else text
    sign = "-" if number < 0 else ""
    return f"{sign}{text}e{'+' if exponent >= 0 else '-'}{abs(exponent)}"


def _trim(text: str) -> str:
    """Trailing zeros after the decimal point dropped (and the point, if nothing follows)."""
    if "." not in text:
        return text
    return text.rstrip("0").rstrip(".")
