"""Numbers as people read them, the same in rules, labels and exports."""

from __future__ import annotations

import numpy as np


def format_number(value: float | int, digits: int = 6) -> str:
    """Up to ``digits`` significant digits, no exponent for everyday magnitudes.

    >>> format_number(52013.5), format_number(0.0123456), format_number(3)
    ('52013.5', '0.0123456', '3')
    """
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    number = float(value)
    if number == 0 or not np.isfinite(number):
        return str(number if number else 0)
    if 1e-4 <= abs(number) < 1e9:
        return np.format_float_positional(number, precision=digits, fractional=False, trim="-")
    return np.format_float_scientific(number, precision=digits - 1, trim="-")
