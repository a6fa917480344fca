"""Waiting for background work from code, with a progress bar that suits where it is shown.

In a notebook the bar is tqdm's notebook bar (a widget, not a red stderr block); in a
console a text bar. Nothing is shown for waits shorter than half a second.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from .jobs import Cancelled

QUIET_SECONDS = 0.5


def wait_for(
    future: Future,
    progress: Callable[[], tuple[int, int]],
    label: str,
    *,
    quiet: float = QUIET_SECONDS,
) -> Any:
    """The job's result, showing ``progress() -> (done, total)`` while it takes longer than
    ``quiet`` seconds. Raises the job's own error, or ``Cancelled`` if it was stopped."""
    try:
        return _result(future, quiet)
    except FutureTimeout:
        pass
    bar = progress_bar(label)
    try:
        while True:
            try:
                return _result(future, 0.2)
            except FutureTimeout:
                done, total = progress()
                if total and bar.total != total:
                    bar.total = total
                    bar.refresh()
                if done > bar.n:
                    bar.update(done - bar.n)
    finally:
        bar.close()


def progress_bar(label: str, total: int | None = None) -> Any:
    """A tqdm bar: the notebook kind inside Jupyter, text elsewhere; it disappears when done."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, leave=False)


def _result(future: Future, timeout: float) -> Any:
    try:
        return future.result(timeout)
    except CancelledError:
        raise Cancelled("stopped") from None
