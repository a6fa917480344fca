"""Background work of one widget: each job runs once, reports progress, stops when told, and
lets the live panel go first.

A job is a function ``fn(stop, progress)``: it calls ``stop.check()`` between steps (which
raises ``Cancelled`` once the widget is closed or the job cancelled) and ``progress(done,
total)`` as it goes. Whoever needs a job's result waits for it (``Jobs.result``); nobody
computes it twice. ``Jobs.close()`` cancels everything at once, and the threads hold only a
weak reference to their widget, so a forgotten widget is collected and stops too.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future
from typing import Any, TypeVar

T = TypeVar("T")
Progress = Callable[[int, int], None]


class Cancelled(Exception):
    """The work was stopped: its widget was closed, or newer work replaced it."""


class Stop:
    """A cancellation flag that long work polls between its steps."""

    def __init__(self, parent: Stop | None = None) -> None:
        self._event = threading.Event()
        self._parent = parent

    def set(self) -> None:
        """Ask the work to stop."""
        self._event.set()

    @property
    def is_set(self) -> bool:
        """Whether the work (or the widget it belongs to) was told to stop."""
        return self._event.is_set() or (self._parent is not None and self._parent.is_set)

    def check(self) -> None:
        """Raise ``Cancelled`` once told to stop: call it between steps."""
        if self.is_set:
            raise Cancelled("stopped")

    def __call__(self) -> bool:
        return self.is_set


NEVER = Stop()  # for work with nobody to stop it (scripts, tests)
EXITING = Stop()  # set when the interpreter exits: every widget's work stops


def _stop_at_exit() -> None:
    """Every widget's work stops when the interpreter exits (a step under way ends first)."""
    EXITING.set()


# Before Python joins the worker threads of thread pools (the surrogate's folds), so that
# they stop at their next step instead of finishing their work; concurrent.futures waits
# the same way. Plain atexit runs only after those joins.
getattr(threading, "_register_atexit", atexit.register)(_stop_at_exit)


def no_progress(done: int, total: int) -> None:
    """A progress callback that shows nothing."""


_thread = threading.local()


def in_background() -> bool:
    """Whether the calling thread runs a background job (it yields to the live panel)."""
    return getattr(_thread, "background", False)


def mark_background(background: bool = True) -> None:
    """Give the calling thread background priority at the gate (or take it back)."""
    _thread.background = background


@contextlib.contextmanager
def stopping_with(stop: Stop) -> Iterator[None]:
    """Model calls made in this block raise ``Cancelled`` once ``stop`` is set (see
    ``check_stopped``): a job stops between two model calls even deep inside a library."""
    previous = getattr(_thread, "stop", None)
    _thread.stop = stop
    try:
        yield
    finally:
        _thread.stop = previous


def check_stopped() -> None:
    """Raise ``Cancelled`` if the work running in this thread was told to stop."""
    stop = getattr(_thread, "stop", None)
    if stop is not None:
        stop.check()


class Gate:
    """The one lock around the explainers' and the model's calls, with priority for the live
    panel: a background step waits while a live request waits, and takes the lock only
    between such requests, so an edit never queues behind an export or the global views.

    Hold it only around a computation, never while waiting for a job: the job may need it.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._waiting = 0
        self._changed = threading.Condition()
        self._owner: int | None = None

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the gate, with the calling thread's priority (live unless in a job)."""
        if self._owner == threading.get_ident():  # already held here: re-enter at once
            with self._lock:
                yield
            return
        if in_background():
            while True:  # a live request that came while this step waited goes first
                with self._changed:
                    while self._waiting:
                        self._changed.wait(0.05)
                self._lock.acquire()
                if not self._waiting:
                    break
                self._lock.release()
            try:
                with self._owning():
                    yield
            finally:
                self._lock.release()
            return
        with self._changed:
            self._waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._changed:
                self._waiting -= 1
                self._changed.notify_all()
        try:
            with self._owning():
                yield
        finally:
            self._lock.release()

    @contextlib.contextmanager
    def _owning(self) -> Iterator[None]:
        previous, self._owner = self._owner, threading.get_ident()
        try:
            yield
        finally:
            self._owner = previous


class Jobs:
    """Named background jobs of one owner (a widget), each computed once."""

    def __init__(self) -> None:
        self.stop = Stop(EXITING)
        self._lock = threading.Lock()
        self._futures: dict[str, Future] = {}
        self._stops: dict[str, Stop] = {}
        self._progress: dict[str, tuple[int, int]] = {}

    def submit(
        self,
        name: str,
        fn: Callable[[Stop, Progress], T],
        *,
        on_progress: Progress | None = None,
        on_done: Callable[[Future], Any] | None = None,
    ) -> Future:
        """Start job ``name`` in a thread unless it already runs or ran; returns its future."""
        with self._lock:
            future = self._futures.get(name)
            if future is not None and not future.cancelled():
                return future
            future = Future()
            stop = Stop(self.stop)
            self._futures[name], self._stops[name] = future, stop
            self._progress[name] = (0, 0)

        def progress(done: int, total: int) -> None:
            stop.check()
            self._progress[name] = (done, total)
            if on_progress is not None:
                on_progress(done, total)

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            _thread.background = True
            try:
                stop.check()
                with stopping_with(stop):
                    result = fn(stop, progress)
            except BaseException as exc:  # the waiter gets the error, the thread ends quietly
                future.set_exception(exc)
            else:
                future.set_result(result)

        if on_done is not None:
            future.add_done_callback(on_done)
        threading.Thread(target=run, name=f"optiml-{name}", daemon=True).start()
        return future

    def get(self, name: str) -> Future | None:
        """The future of a job, if it was started."""
        return self._futures.get(name)

    def done(self, name: str) -> bool:
        """Whether job ``name`` finished (with a result or an error)."""
        future = self._futures.get(name)
        return future is not None and future.done()

    def progress(self, name: str) -> tuple[int, int]:
        """``(done, total)`` of a job as last reported."""
        return self._progress.get(name, (0, 0))

    def cancel(self, name: str) -> None:
        """Stop one job; it may be submitted again."""
        with self._lock:
            stop = self._stops.pop(name, None)
            future = self._futures.pop(name, None)
        if stop is not None:
            stop.set()
        if future is not None and not future.done():
            future.cancel()  # a job not started yet never runs; a running one sees its stop

    def close(self) -> None:
        """Stop every job at once."""
        self.stop.set()
        with self._lock:
            stops = list(self._stops.values())
        for stop in stops:
            stop.set()


def wait(future: Future, timeout: float | None = None) -> Any:
    """A job's result; ``Cancelled`` when the job was stopped."""
    try:
        return future.result(timeout)
    except CancelledError:
        raise Cancelled("stopped") from None
