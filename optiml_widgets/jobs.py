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
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError, Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
Progress = Callable[[int, int], None]

# How long a background step lets live requests go first before it runs anyway (a live
# request may be waiting for what that step computes).
LIVE_PRIORITY_SECONDS = 2.0
# Jobs wait this long after a live request: the next drag, release or edit usually comes
# within it, and a shorter wait puts a job's step in front of it.
IDLE_SECONDS = 1.5
# The length of one background step of computation: a live request waits at most about
# this long behind one (see ``Gate.in_steps``).
STEP_SECONDS = 0.05


class Cancelled(Exception):
    """The work was stopped: its widget was closed, or newer work replaced it."""


class Closed(Cancelled, RuntimeError):
    """A closed widget was asked for work, or was closed while doing it."""

    def __init__(self) -> None:
        super().__init__(
            "This widget is closed: w.close() stopped all its work. Make a new one with "
            "explain_widget(...) to go on."
        )


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


class InFlight:
    """How many pieces of the panels' background work are under way, in any thread, for
    the interpreter's exit to wait for."""

    def __init__(self) -> None:
        self._count = 0
        self._changed = threading.Condition()

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._changed:
            self._count += 1
        try:
            yield
        finally:
            with self._changed:
                self._count -= 1
                self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) until no work is under way."""
        with self._changed:
            return self._changed.wait_for(lambda: self._count == 0, timeout)


in_flight = InFlight()
EXIT_WAIT_SECONDS = 5.0  # at most this long: a model may take minutes per call


def _stop_at_exit() -> None:
    """Every widget's work stops when the interpreter exits, and the exit waits for the
    step under way in each thread (a model call, a numpy sort): a thread still inside a
    library's C++ code when the interpreter finalises aborts the process ("terminate
    called without an active exception")."""
    EXITING.set()
    in_flight.wait_idle(EXIT_WAIT_SECONDS)


# Before Python joins the worker threads of thread pools (the surrogate's folds), so that
# they stop at their next step instead of finishing their work; concurrent.futures waits
# the same way. Plain atexit runs only after those joins.
getattr(threading, "_register_atexit", atexit.register)(_stop_at_exit)


class _Launcher:
    """One long-lived thread that runs hand-offs, one at a time.

    ``threading.Thread.start`` waits until the new thread runs, and then for the GIL that
    thread holds, which a panel's first view would wait behind; a hand-off to a thread
    already waiting is a queue put."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        # Also in a forked child, where the thread did not come along: a new one starts
        # on demand.
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def run(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` in the launcher's thread, after the earlier hand-offs."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._serve, name="optiml-launcher", daemon=True
                )
                self._thread.start()
        self._queue.put(fn)

    def _serve(self) -> None:
        while True:
            fn = self._queue.get()
            try:
                with in_flight():
                    fn()
            except Exception:  # one hand-off's bug; the next still runs
                traceback.print_exc()
            del fn  # its closure (a session) must not outlive it while the queue waits


_LAUNCHER = _Launcher()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_LAUNCHER._reset)


def hand_off(fn: Callable[[], None]) -> None:
    """Run ``fn`` (something short: it delays the hand-offs after it) in a thread beside
    the caller's, without the wait of starting one: the launcher's."""
    _LAUNCHER.run(fn)


def no_progress(done: int, total: int) -> None:
    """A progress callback that shows nothing."""


_thread = threading.local()

# Who goes first at the gate: a live request (an edit, a drag), then what completes its
# answer (the streamed explainers, the drag curves), then the jobs (surrogate, global
# views, export).
LIVE, FOLLOW_UP, JOB = 0, 1, 2


def priority() -> int:
    """The calling thread's priority at the gate (``LIVE`` unless marked otherwise)."""
    return getattr(_thread, "priority", LIVE)


def set_priority(level: int) -> None:
    """Give the calling thread a priority at the gate."""
    _thread.priority = level


def in_background() -> bool:
    """Whether the calling thread runs background work (it yields to the live panel)."""
    return priority() != LIVE


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


def check_open(stop: Stop) -> None:
    """Raise ``Closed`` once the widget whose jobs' stop this is was closed."""
    if stop.is_set:
        raise Closed()


@contextlib.contextmanager
def while_open(stop: Stop) -> Iterator[None]:
    """A public member's work in the caller's thread: refused once the widget is closed
    (``stop`` is its jobs' stop), and stopped at the next model call when it closes meanwhile."""
    check_open(stop)
    try:
        with stopping_with(stop):
            yield
    except Cancelled as exc:
        if stop.is_set and not isinstance(exc, Closed):
            raise Closed() from exc
        raise


def current_stop() -> Stop | None:
    """The stop of the work running in this thread (a job's own, or a widget's for a
    member's call), or None outside both."""
    stop: Stop | None = getattr(_thread, "stop", None)
    return stop


def check_stopped() -> None:
    """Raise ``Cancelled`` if the work running in this thread was told to stop."""
    stop = getattr(_thread, "stop", None)
    if stop is not None:
        stop.check()


class _LiveAnywhere:
    """Live requests under way in any panel of this process, and when the last one ended:
    a panel's jobs yield to another panel's edits too (with one gate each, a panel's edits
    took ~7x longer while another computed its global views). A request under way for longer
    than ``LIVE_PRIORITY_SECONDS`` (a model that hangs) no longer holds the others back."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.forget()

    def forget(self) -> None:
        """No request under way, none before: a forked child has none of its parent's
        (whose threads may have held the lock at the fork)."""
        self.lock = threading.Lock()
        self.started: dict[int, float] = {}  # each request under way: when it began
        self.last = -float("inf")

    @contextlib.contextmanager
    def live(self) -> Iterator[None]:
        key = object()  # alive until the request ends: its id is not reused meanwhile
        with self.lock:
            self.started[id(key)] = self.clock()
        try:
            yield
        finally:
            with self.lock:
                del self.started[id(key)]
                self.last = self.clock()

    def under_way(self) -> bool:
        now = self.clock()
        with self.lock:
            return any(now - began < LIVE_PRIORITY_SECONDS for began in self.started.values())

    def busy(self) -> bool:
        return self.under_way() or self.clock() - self.last < IDLE_SECONDS


LIVE_ANYWHERE = _LiveAnywhere()
os.register_at_fork(after_in_child=LIVE_ANYWHERE.forget)


class Gate:
    """The one lock around the explainers' and the model's calls, with priorities: a live
    request goes first, then what completes its answer, then the jobs. A step waits while
    work of a higher priority waits or is under way, and jobs also while the user is
    interacting (``IDLE_SECONDS`` after a live request), so that no job takes the GIL
    between the hops of a drag (shap's tree algorithms hold it through a whole call).
    A step waits at most ``LIVE_PRIORITY_SECONDS``: the work it yields to may be waiting
    for what it computes.

    Hold it only around a computation, never while waiting for a job: the job may need it.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._waiting = 0  # live requests waiting for the lock, or under way (``live``)
        self._answering = 0  # live requests under way (``live``; see ``let_live_through``)
        self._depth = 0  # how many times the owner holds the lock (it is re-entrant)
        self._following = 0  # follow-ups under way (``following``)
        self._changed = threading.Condition()
        self._owner: int | None = None

    @contextlib.contextmanager
    def live(self) -> Iterator[None]:
        """A live request under way, from start to its first answer: background steps wait
        for its end, not only for its computations."""
        with self._changed:
            self._waiting += 1
            self._answering += 1
        try:
            with LIVE_ANYWHERE.live():
                yield
        finally:
            with self._changed:
                self._waiting -= 1
                self._answering -= 1
                self._changed.notify_all()

    def wait_while_live(self) -> None:
        """Wait (at most ``LIVE_PRIORITY_SECONDS``) while a live request is under way, of
        this panel or another."""
        deadline = time.monotonic() + LIVE_PRIORITY_SECONDS
        with self._changed:
            while (self._waiting or LIVE_ANYWHERE.under_way()) and time.monotonic() < deadline:
                self._changed.wait(0.05)

    def let_live_through(self) -> None:
        """Between two steps of background work that holds the gate: a live request under
        way (a drag's fast view, a release's exact view, an edit from Python) goes now, and
        the work goes on after its first answer.

        Only where the caller holds nothing a first answer uses: inside LIME (its lock, its
        sampler and its cached entries), which streams in after the answer and is never
        part of it (that is the prediction, SHAP, the firing rule and the drag curves). So
        the request cannot change state this thread is in the middle of; code that then
        asks for LIME (``w.explanation``) waits for its lock outside the gate
        (``locked_outside_gate``), so that this thread can finish.
        """
        if self._owner != threading.get_ident() or priority() == LIVE or not self._answering:
            return
        with self.let_go():
            deadline = time.monotonic() + LIVE_PRIORITY_SECONDS
            with self._changed:
                while self._answering and time.monotonic() < deadline:
                    self._changed.wait(0.05)

    @contextlib.contextmanager
    def let_go(self) -> Iterator[None]:
        """Inside, the calling thread does not hold the gate (however deep it held it); it
        holds it again after. Nothing for a thread that does not hold it."""
        me = threading.get_ident()
        if self._owner != me:
            yield
            return
        depth = self._depth
        for _ in range(depth):
            self._lock.release()
        self._owner, self._depth = None, 0
        try:
            yield
        finally:
            for _ in range(depth):
                self._lock.acquire()
            self._owner, self._depth = me, depth

    @contextlib.contextmanager
    def following(self) -> Iterator[None]:
        """What completes a live answer, under way: jobs wait for its end."""
        with self._changed:
            self._following += 1
        try:
            yield
        finally:
            with self._changed:
                self._following -= 1
                self._changed.notify_all()

    def _yields(self, level: int) -> bool:
        """Whether a step of this priority lets other work go first now."""
        if self._waiting:
            return True
        if level != JOB:
            return False
        # Its own panel's last live request included: every panel's go through LIVE_ANYWHERE.
        return self._following > 0 or LIVE_ANYWHERE.busy()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the gate, with the calling thread's priority."""
        if self._owner == threading.get_ident():  # already held here: re-enter at once
            with self._lock:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
            return
        level = priority()
        if level != LIVE:
            deadline = time.monotonic() + LIVE_PRIORITY_SECONDS
            while True:  # work that came while this step waited goes first
                with self._changed:
                    while self._yields(level) and time.monotonic() < deadline:
                        check_stopped()  # closed while it waits: it ends now
                        self._changed.wait(0.05)
                self._lock.acquire()
                if not self._yields(level) or time.monotonic() >= deadline:
                    break
                self._lock.release()
            try:
                check_stopped()  # closed while it waited: no model call after close()
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
            check_stopped()
            with self._owning():
                yield
        finally:
            self._lock.release()

    def in_steps(
        self,
        fn: Callable[[Any], T],
        rows: Any,
        *,
        seconds_per_row: float | None = None,
        most: int | None = None,
    ) -> list[T]:
        """``fn`` over ``rows`` (anything sliced by rows), in steps of about ``STEP_SECONDS``
        each under the gate, for background work: a live request waits at most one step.
        Each step is sized by the previous one's time per row (``most`` rows at most).
        Called outside a job (a notebook cell), one call."""
        if not in_background():  # a notebook cell's call: one batch, nothing to yield to
            with self.hold():
                return [fn(rows)]
        most = most or len(rows) or 1
        size = 1 if not seconds_per_row else max(1, int(STEP_SECONDS / seconds_per_row))
        size = min(size, most)
        results: list[T] = []
        start = 0
        while start < len(rows):
            check_stopped()
            part = rows[start : start + size]
            with self.hold():
                began = time.perf_counter()
                results.append(fn(part))
                took = time.perf_counter() - began
            start += len(part)
            size = max(1, min(most, 4 * size, int(len(part) * STEP_SECONDS / max(took, 1e-6))))
        return results

    @contextlib.contextmanager
    def _owning(self) -> Iterator[None]:
        previous, self._owner = self._owner, threading.get_ident()
        held = getattr(_thread, "gate", None)
        self._depth = 1
        _thread.gate = self  # for let_live_through() deep inside an explainer
        try:
            yield
        finally:
            self._owner, self._depth = previous, 0
            _thread.gate = held


def yielding_to(gate: Gate | None) -> None:
    """Make the calling thread's ``yield_to_live()`` wait for ``gate``'s live requests."""
    _thread.yields_to = gate


def yield_to_live() -> None:
    """Between two steps of long work outside the gate that holds nothing the panel needs
    (the surrogate's fit, in threads of its own): raise ``Cancelled`` once its stop is set
    (``stopping_with``), and pause while a live request is under way, so that the request
    has the GIL and the cores. The pause does nothing in a thread not set with
    ``yielding_to``."""
    check_stopped()
    gate = getattr(_thread, "yields_to", None)
    if gate is not None:
        gate.wait_while_live()


@contextlib.contextmanager
def locked_outside_gate(lock: threading.Lock) -> Iterator[None]:
    """Hold ``lock``. If another thread has it, wait without the gate this thread may hold:
    that thread may be a background step paused at ``let_live_through`` with it, which
    needs the gate back to finish and let ``lock`` go."""
    if not lock.acquire(blocking=False):
        gate = getattr(_thread, "gate", None)
        with gate.let_go() if gate is not None else contextlib.nullcontext():
            lock.acquire()
    try:
        yield
    finally:
        lock.release()


def let_live_through() -> None:
    """Background work between two steps that a live request's first answer shares nothing
    with (LIME's): a live request under way goes first (``Gate.let_live_through`` of the
    gate this thread holds, if any)."""
    gate = getattr(_thread, "gate", None)
    if gate is not None:
        gate.let_live_through()


STARTER = "start"  # the job that starts a session's others (Jobs.start)


@dataclass(frozen=True)
class PanelHooks:
    """What a panel hands its session's ``start``: the surrogate fit's progress and done
    callbacks (whoever submits the fit, the panel's code or the user's), and the work to
    queue once the rest is started (the first view's completion)."""

    on_surrogate_progress: Progress | None = None
    on_surrogate_done: Callable[[Future], Any] | None = None
    then: Callable[[], None] | None = None


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
        own_thread: bool = True,
    ) -> Future:
        """Start job ``name`` in a thread unless it already runs or ran; returns its future.
        ``own_thread=False``: in the launcher's thread instead, after its earlier hand-offs
        (for a short job that must not delay its caller)."""
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
            set_priority(JOB)
            try:
                stop.check()
                with in_flight(), stopping_with(stop):
                    result = fn(stop, progress)
            except BaseException as exc:  # the waiter gets the error, the thread ends quietly
                future.set_exception(exc)
            else:
                future.set_result(result)

        if on_done is not None:
            future.add_done_callback(on_done)
        if own_thread:
            threading.Thread(target=run, name=f"optiml-{name}", daemon=True).start()
        else:
            hand_off(run)
        return future

    def start(self, steps: Sequence[Callable[[], Any]]) -> Future:
        """Run ``steps`` (each starting jobs) in one job of their own, ``STARTER``, in the
        launcher's thread: starting a thread waits until it runs, which takes up to the
        interpreter's switch interval (5 ms) once another thread is busy, so a panel starts
        no thread while its first view is computed, and hands this job off once it is sent."""

        def run(stop: Stop, _progress: Progress) -> None:
            for step in steps:
                stop.check()
                step()

        return self.submit(STARTER, run, own_thread=False)

    def wait_started(self, timeout: float | None = None) -> None:
        """Block until the ``start`` job (if any) has started the others."""
        started = self._futures.get(STARTER)
        if started is not None:
            futures_wait([started], timeout)

    def get(self, name: str) -> Future | None:
        """The future of a job, if it was started."""
        return self._futures.get(name)

    def done(self, name: str) -> bool:
        """Whether job ``name`` finished (with a result or an error)."""
        future = self._futures.get(name)
        return future is not None and future.done()

    def result(self, name: str) -> Any:
        """Job ``name``'s result if it finished with one (never waits); None while it runs,
        and when it was not started, was stopped or failed."""
        future = self._futures.get(name)
        if future is None or not future.done() or future.cancelled():
            return None
        return None if future.exception() is not None else future.result()

    def error(self, name: str) -> BaseException | None:
        """The error job ``name`` ended with (a stop is no error); None otherwise."""
        future = self._futures.get(name)
        if future is None or not future.done() or future.cancelled():
            return None
        error = future.exception()
        return None if isinstance(error, Cancelled) else error

    def progress(self, name: str) -> tuple[int, int]:
        """``(done, total)`` of a job as last reported."""
        return self._progress.get(name, (0, 0))

    def wait_all(self, timeout: float | None = None) -> bool:
        """Block until every job (and any job they start) has finished; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                pending = [f for f in self._futures.values() if not f.done()]
            if not pending:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            futures_wait(pending, timeout=left)

    def forget_failed(self, name: str) -> bool:
        """Forget job ``name`` if it ended with an error (not a stop), so that the next
        ``submit`` runs it again: a model that failed once (a timeout) is asked again."""
        with self._lock:
            future = self._futures.get(name)
            if future is None or not future.done() or future.cancelled():
                return False
            error = future.exception()
            if error is None or isinstance(error, Cancelled):
                return False
            self._futures.pop(name)
            self._stops.pop(name, None)
        return True

    def cancel(self, name: str) -> None:
        """Stop one job; it may be submitted again."""
        with self._lock:
            stop = self._stops.pop(name, None)
            future = self._futures.pop(name, None)
        if stop is not None:
            stop.set()
        if future is not None and not future.done():
            future.cancel()  # a job not started yet never runs; a running one sees its stop

    def stop_unfinished(self) -> list[str]:
        """Stop every job not finished yet and forget it, so that the next ``submit`` of
        its name starts it afresh, and forget the start job, so that ``start`` runs its
        steps again (the finished jobs are kept): nobody sees the panel any more. Returns
        the names stopped."""
        with self._lock:
            names = [name for name, job in self._futures.items() if not job.done()]
        for name in names:
            self.cancel(name)
        with self._lock:
            self._futures.pop(STARTER, None)
            self._stops.pop(STARTER, None)
        return names

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
