"""Warnings at the line of the code that asked (a notebook cell, a script), not at ours.

A fixed ``stacklevel`` points somewhere inside the package as soon as a second path leads
to the same warning (an edit from ``set_features`` or from a trait, a job's thread), and
the notebook then prints one of our lines under the message.
"""

from __future__ import annotations

import sys
import warnings
from types import FrameType

# Modules between the caller and us that are not the caller: ours, traitlets' observers,
# ipywidgets' and the kernel's message handling, context managers, threads' machinery.
_PASSING = (
    "optiml_widgets",
    "traitlets",
    "ipywidgets",
    "comm",
    "ipykernel",
    "IPython",
    "tornado",
    "asyncio",
    "contextlib",
    "threading",
    "concurrent",
)
_SHOWN: dict = {}  # warnings' "once per place" for those with no caller's line


def _passing(frame: FrameType) -> bool:
    module = str(frame.f_globals.get("__name__", ""))
    return module.split(".", 1)[0] in _PASSING


def warn_caller(message: str, category: type[Warning] = RuntimeWarning) -> None:
    """Warn at the first frame outside this package; from a thread that no user code
    started (a job, the panel's loop) or a message of the panel, at the package itself,
    with no line of ours."""
    frame: FrameType | None = sys._getframe(1)
    level = 2  # warnings.warn counts from warn_caller itself
    while frame is not None and _passing(frame):
        frame = frame.f_back
        level += 1
    if frame is None:
        warnings.warn_explicit(
            message, category, "optiml_widgets", 0, module="optiml_widgets", registry=_SHOWN
        )
    else:
        warnings.warn(message, category, stacklevel=level)
