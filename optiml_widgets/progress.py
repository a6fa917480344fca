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
from dataclasses import dataclass
from typing import Any

from .jobs import Cancelled

QUIET_SECONDS = 0.5
IDLE_SECONDS = 0.5  # the watcher thread ends after this long with nothing to watch


def wait_for(
    future: Future,
    progress: Callable[[], tuple[int, int]],
    label: str,
    *,
    quiet: float = QUIET_SECONDS,
) -> Any:
    """The job's result, showing ``progress() -> (done, total)`` while it takes longer than
    ``quiet`` seconds. Raises the job's own error, or ``Cancelled`` if it was stopped.

    Only the user's own call shows a bar: a background job waiting for another one (the
    charts for the surrogate) would print it into whichever cell runs at the time."""
    if threading.current_thread() is not threading.main_thread():
        return _result(future, None)
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


@dataclass
class _Work:
    label: str
    count: Callable[[], int] | None
    started: float
    bar: Any = None


class _Watcher:
    """One thread for the whole process that shows bars for work that runs long (a thread
    per call would cost more than most of the work it watches). It ends once nothing has
    been watched for ``IDLE_SECONDS``: a closed widget leaves no thread behind."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work: dict[int, _Work] = {}
        self._thread: threading.Thread | None = None

    def add(self, work: _Work) -> int:
        with self._lock:
            key = id(work)
            self._work[key] = work
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="optiml-progress", daemon=True
                )
                self._thread.start()
            return key

    def remove(self, key: int) -> None:
        # Under the lock: the watcher never draws a bar for work that has ended.
        with self._lock:
            work = self._work.pop(key, None)
            if work is not None and work.bar is not None:
                work.bar.close()

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            with self._lock:
                if self._work:
                    idle_since = now
                elif now - idle_since > IDLE_SECONDS:
                    self._thread = None  # the next work starts another
                    return
                for work in self._work.values():
                    if now - work.started >= QUIET_SECONDS:
                        self._show(work, now)

    @staticmethod
    def _show(work: _Work, now: float) -> None:
        if work.bar is None:
            work.bar = progress_bar(work.label)
            work.bar.unit = " model calls" if work.count is not None else "s"
        done = work.count() if work.count is not None else int(now - work.started)
        if done > work.bar.n:
            work.bar.update(done - work.bar.n)


_WATCHER = _Watcher()


@contextlib.contextmanager
def working(label: str, count: Callable[[], int] | None = None) -> Iterator[None]:
    """Work of unknown length in the calling thread (a slow model's first calls): after
    ``QUIET_SECONDS`` a bar says what is being done, with ``count()`` (model calls so far)
    or the seconds it has taken, until the block ends."""
    key = _WATCHER.add(_Work(label, count, time.monotonic()))
    try:
        yield
    finally:
        _WATCHER.remove(key)


def progress_bar(label: str, total: int | None = None) -> Any:
    """A tqdm bar: the notebook kind inside Jupyter, text elsewhere; it disappears when done."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, leave=False)


def _result(future: Future, timeout: float | None) -> Any:
    try:
        return future.result(timeout)
    except CancelledError:
        raise Cancelled("stopped") from None
