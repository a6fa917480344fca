"""Waiting for background work from code, with a progress bar that suits where it is shown.

In a notebook the bar is tqdm's notebook bar (a widget, not a red stderr block); in a
console a text bar. Nothing is shown for waits shorter than half a second. Work that shows
its own progress (an export) takes in the waits inside it (``waits_reported_to``): a call
shows one bar, not one per job it waits for.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future
from concurrent.futures import wait as futures_wait
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from .jobs import Cancelled, Jobs, current_stop, no_progress

QUIET_SECONDS = 0.5
IDLE_SECONDS = 0.5  # the watcher thread ends after this long with nothing to watch

# ``report(label, done, total)`` of the work whose progress is already on show in this
# thread, if any: a wait inside it reports there instead of opening a bar of its own.
WaitReport = Callable[[str, int, int], None]
_SHOWN: ContextVar[WaitReport | None] = ContextVar("optiml_shown_progress", default=None)


@contextlib.contextmanager
def waits_reported_to(report: WaitReport) -> Iterator[None]:
    """Within the block, ``wait_for`` in this thread reports to ``report`` (in any thread,
    the panel's Export job included) rather than showing a bar."""
    token = _SHOWN.set(report)
    try:
        yield
    finally:
        _SHOWN.reset(token)


def shown_report() -> WaitReport | None:
    """The report waits in this thread go to (``waits_reported_to``), if any."""
    return _SHOWN.get()


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
    report = _SHOWN.get()
    if report is not None:
        while True:
            try:
                return _result(future, 0.2)
            except _StillRunning:
                report(label, *progress())
    if threading.current_thread() is not threading.main_thread():
        return _result(future, None)
    try:
        return _result(future, quiet)
    except _StillRunning:
        pass
    bar = progress_bar(label)
    try:
        while True:
            try:
                return _result(future, 0.2)
            except _StillRunning:
                done, total = progress()
                if total and bar.total != total:
                    bar.total = total
                    bar.refresh()
                if done > bar.n:
                    bar.update(done - bar.n)
    finally:
        bar.close()


def wait_for_job(
    jobs: Jobs,
    name: str,
    submit: Callable[[], Future],
    label: str,
    *,
    quiet: float = QUIET_SECONDS,
) -> Any:
    """Job ``name``'s result (``submit()`` starts it, or gives it if it runs or ran), waited
    for with progress as ``wait_for`` does. For a notebook call, a job stopped while it
    waits for other reasons than close() (the panel left the screen; a result computed
    again) is submitted again: the caller asked for it. A job of the panel's own waiting
    here stops with it instead (restarting would undo the stop). A job that failed before
    a notebook call runs again for it (a model that failed once)."""
    if threading.current_thread() is threading.main_thread():
        jobs.forget_failed(name)
    while True:
        try:
            return wait_for(submit(), lambda: jobs.progress(name), label, quiet=quiet)
        except Cancelled:
            if jobs.stop.is_set or current_stop() not in (None, jobs.stop):
                raise


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


def progress_bar(label: str, total: int | None = None, bar_format: str | None = None) -> Any:
    """A tqdm bar: the notebook kind inside Jupyter, text elsewhere; it disappears when done."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, leave=False, bar_format=bar_format)


class StepProgress:
    """Work of ``steps`` steps reported as ``progress(done, total)`` in hundredths of a step,
    so that a job waited for inside a step (``wait_for`` within ``waits()``: the surrogate's
    fit, global SHAP) moves it on too; ``stop.check()`` runs at every report, so the work
    stops while it waits as well. A wait is also passed on to the report already on show
    around it (the caller's bar), if any."""

    UNITS = 100

    def __init__(self, steps: int, progress: Callable[[int, int], None], stop: Any) -> None:
        self.total = steps * self.UNITS
        self.done = 0
        self._shown = 0  # what was last reported
        self._progress = progress
        self.stop = stop
        self._outer = shown_report()

    def advance(self, count: int = 1) -> None:
        """``count`` more steps are done."""
        self.stop.check()
        self.done += count * self.UNITS
        self._shown = self.done
        self._progress(self.done, self.total)

    def within(self, steps: int) -> Callable[[int, int], None]:
        """A ``progress(done, total)`` for the next ``steps`` steps, done in ``total`` parts
        (the steps themselves still count with ``advance``)."""
        start = self.done

        def report(done: int, total: int) -> None:
            self.stop.check()
            share = min(done / total, 1.0) if total else 0.0
            # Never back: a job's total may grow as it goes (a fit's sizes found).
            self._shown = max(self._shown, start + int(share * steps * self.UNITS))
            self._progress(self._shown, self.total)

        return report

    @contextlib.contextmanager
    def waits(self) -> Iterator[None]:
        """Within the block, a job waited for reports as a part of the current step (with
        nothing to report to, a wait keeps its own bar)."""
        if self._progress is no_progress and self._outer is None:
            yield
            return

        def waiting(label: str, done: int, total: int) -> None:
            self.within(1)(min(done, total - 1) if total else 0, total)
            if self._outer is not None:
                self._outer(label, done, total)

        with waits_reported_to(waiting):
            yield


def export_bar() -> tuple[Any, Callable[[int, int], None], WaitReport]:
    """The one bar of an export called from code: its ``progress(done, total)``, and the
    report of a job it waits for (named beside the bar until the next step)."""
    # Hundredths of steps mean nothing to a reader: the share and the times only.
    bar = progress_bar("Export", bar_format="{l_bar}{bar}| [{elapsed}<{remaining}{postfix}]")
    waited_at = [-1]  # where the bar stood when it last named a wait

    def show(done: int, total: int) -> None:
        bar.total = total
        if done > waited_at[0] and done % StepProgress.UNITS == 0:  # the next step: no wait
            bar.set_postfix_str("", refresh=False)
        bar.update(done - bar.n)

    def waiting(label: str, done: int, total: int) -> None:
        waited_at[0] = bar.n
        bar.set_postfix_str(f"{label} {done}/{total}" if total else label)

    return bar, show, waiting


class _StillRunning(Exception):
    """The job has not ended within the wait. (Not ``TimeoutError``: since Python 3.11 that
    is also the job's own error when its model times out, which was then taken for "not
    yet" and raised again, a busy loop whose tracebacks filled the memory.)"""


def _result(future: Future, timeout: float | None) -> Any:
    if timeout is not None and not futures_wait([future], timeout).done:
        raise _StillRunning
    try:
        return future.result()
    except CancelledError:
        raise Cancelled("stopped") from None
