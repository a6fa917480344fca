"""Waiting for background work from code, with a progress bar that suits where it is shown.

In a notebook the bar is tqdm's notebook bar (a widget, not a red stderr block); in a
console a text bar. Nothing is shown for waits shorter than half a second.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
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


@contextlib.contextmanager
def working(label: str, count: Callable[[], int] | None = None) -> Iterator[None]:
    """Work of unknown length in the calling thread (a slow model's first calls): after
    ``quiet`` seconds a bar says what is being done, with ``count()`` (model calls so far)
    and the time it has taken, updated twice a second until the block ends."""
    done = threading.Event()

    def watch() -> None:
        if done.wait(QUIET_SECONDS):
            return
        bar = progress_bar(label)
        bar.unit = " model calls" if count is not None else "s"
        started = time.monotonic()
        try:
            while not done.wait(0.5):
                if count is not None:
                    bar.update(max(0, count() - bar.n))
                else:
                    bar.update(int(time.monotonic() - started) - bar.n)
        finally:
            bar.close()

    watcher = threading.Thread(target=watch, name="optiml-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join(timeout=2)


def progress_bar(label: str, total: int | None = None) -> Any:
    """A tqdm bar: the notebook kind inside Jupyter, text elsewhere; it disappears when done."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, leave=False)


def _result(future: Future, timeout: float) -> Any:
    try:
        return future.result(timeout)
    except CancelledError:
        raise Cancelled("stopped") from None
