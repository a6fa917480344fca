"""Warnings at the line of the code that asked (a notebook cell, a script), not at ours.

A fixed ``stacklevel`` points somewhere inside the package as soon as a second path leads
to the same warning (an edit from ``set_features`` or from a trait, a job's thread), and
the notebook then prints one of our lines under the message.
"""

from __future__ import annotations

import os
import sys
import warnings
from types import FrameType

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Frames between the caller and us that are not the caller: traitlets' observers,
# ipywidgets' message handlers, context managers and threads' own machinery.
_PASSING = ("traitlets", "ipywidgets", "comm", "contextlib.py", "threading.py", "concurrent")


def _ours(filename: str) -> bool:
    if filename.startswith(_PACKAGE):
        return True
    parts = filename.replace("\\", "/").split("/")
    return any(part in _PASSING for part in parts)


def warn_caller(message: str, category: type[Warning] = RuntimeWarning) -> None:
    """Warn at the first frame outside this package; from a thread that no user code
    started (a job, the panel's loop), at the package itself, with no line of ours."""
    frame: FrameType | None = sys._getframe(1)
    level = 2  # warnings.warn counts from warn_caller itself
    while frame is not None and _ours(frame.f_code.co_filename):
        frame = frame.f_back
        level += 1
    if frame is None:
        warnings.warn_explicit(message, category, "optiml_widgets", 0, module="optiml_widgets")
    else:
        warnings.warn(message, category, stacklevel=level)
