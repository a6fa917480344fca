"""The live loop between a panel and Python: the newest request wins, and what streams in
later never delays an answer.

The frontend sends the whole wanted state with a sequence number. A finished edit with
nothing else under way is answered at once in the calling (kernel) thread; drag requests go
to a worker that always takes the newest one and drops those it overtook. An answer may
leave work behind (the streamed explainers, the counterfactual, the drag curves): that
follow-up runs in a second thread at background priority, and a newer follow-up replaces
it. The threads hold the owner only weakly, so a widget nobody references is collected.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from .jobs import FOLLOW_UP, LIVE, Gate, Stop, in_flight, set_priority, stopping_with


class Publishing:
    """Marks the trait writes that publish the session's own state, so the traits' observer
    does not take them for the user's changes. Per thread: a user's change made in another
    thread while a view is being published still reaches the session."""

    def __init__(self) -> None:
        self._thread: int | None = None

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        previous, self._thread = self._thread, threading.get_ident()
        try:
            yield
        finally:
            self._thread = previous

    @property
    def here(self) -> bool:
        """Whether this thread is publishing."""
        return self._thread == threading.get_ident()


class _Slot:
    """One thread with a single-slot queue: putting work replaces what waits there."""

    def __init__(self, name: str, *, priority: int, stop: Stop) -> None:
        self.name = name
        self.priority = priority
        self.stop = stop
        self._work: Callable[[], None] | None = None
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.idle = threading.Event()
        self.idle.set()

    def put(self, work: Callable[[], None], when: Callable[[], bool] | None = None) -> None:
        """Queue ``work`` (replacing what waits); with ``when``, only if it holds, checked
        under the lock every put takes."""
        with self._wake:
            if self._closed or (when is not None and not when()):
                return
            self._work = work
            self.idle.clear()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._wake.notify()

    def drop(self) -> None:
        """Forget the waiting work (a newer request made it pointless)."""
        with self._wake:
            self._work = None

    def close(self) -> None:
        self._closed = True  # seen by the thread even if the lock below is not to be had
        self._work = None
        # Never block here: at interpreter exit the thread may be frozen holding the lock.
        if self._wake.acquire(timeout=1):
            try:
                self._wake.notify()
            finally:
                self._wake.release()

    def _run(self) -> None:
        set_priority(self.priority)  # the gate lets live requests go first
        while True:
            with self._wake:
                if self._work is None and not self._closed:
                    self.idle.set()
                    self._wake.wait(timeout=30)
                if self._work is None or self._closed:
                    self._thread = None
                    self.idle.set()
                    return
                work, self._work = self._work, None
            try:
                with in_flight(), stopping_with(self.stop):
                    work()
            except BaseException:  # the owner reports its own errors; the loop must live on
                pass  # (a model's KeyboardInterrupt here ended the thread for good)


class LiveLoop:
    """Requests in, views out: see the module docstring. ``answer(request)`` publishes the
    answer and returns the follow-up work, if any."""

    def __init__(self, owner: Any, answer: str, stop: Stop, gate: Gate) -> None:
        self._owner = weakref.ref(owner)
        self._answer_name = answer
        self._gate = gate
        self._worker = _Slot("optiml-live", priority=LIVE, stop=stop)
        self._streamer = _Slot("optiml-stream", priority=FOLLOW_UP, stop=stop)

    def submit(self, request: dict) -> None:
        """A request from the frontend (called in the kernel's thread)."""
        if not request.get("fast") and self._worker.idle.is_set():
            self._run(request)  # a release or a typed value: no hop to the worker
            return
        self._worker.put(lambda: self._run(request))

    def answer_now(self, request: dict) -> None:
        """A request from Python code: answered in the caller's thread."""
        self._run(request)

    def follow_up(self, work: Callable[[], None], when: Callable[[], bool] | None = None) -> None:
        """Work that completes the panel's answer, to run when nothing newer is asked for
        (before the jobs). ``when``: put it only if this still holds once no other put can
        come between (an answer publishes its view before it puts what follows it)."""
        self._streamer.put(self._following(work), when)

    def wait_idle(self, timeout: float = 60) -> bool:
        """Block until both threads have nothing left to do (for tests and scripts)."""
        return self._worker.idle.wait(timeout) and self._streamer.idle.wait(timeout)

    def close(self) -> None:
        """Stop taking work; what runs finishes its step and the threads end."""
        self._worker.close()
        self._streamer.close()

    def _run(self, request: dict) -> None:
        owner = self._owner()
        if owner is None:
            return
        self._streamer.drop()  # whatever followed an older answer is stale now
        # Background steps wait until the answer is out (it goes between LIME's steps).
        with self._gate.live():
            follow = getattr(owner, self._answer_name)(request)
        del owner
        if follow is not None:
            self._streamer.put(self._following(follow))

    def _following(self, work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            with self._gate.following():  # jobs wait until the answer is complete
                work()

        return run


class _Closes(Protocol):
    def close(self) -> None: ...


def shut_down(loop: LiveLoop | None, session: _Closes) -> None:
    """A panel's end: its live loop (None when the first view failed in ``__init__``), then
    its session's work."""
    if loop is not None:
        loop.close()
    session.close()


def error_text(exc: BaseException) -> str:
    """An error as a panel shows it: 'ValueError: ...' (a KeyError's message unquoted)."""
    text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
    return f"{type(exc).__name__}: {text}"
