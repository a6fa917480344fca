"""Work done once: results by key, computed by whoever asks first while the others wait.

The session keys what it computes by (instance, explainer, output, quality): a view shown
before is answered from here without calling the model, and two threads that want the same
explanation (the panel's worker and a notebook cell) share one computation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Any, TypeVar

from .jobs import Cancelled

T = TypeVar("T")
_MISSING = object()


class _Stopped(Exception):
    """What waiters see when the thread computing their result was stopped."""


class Memo:
    """A bounded map of futures: ``get(key, compute)`` computes once per key."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._futures: OrderedDict[Hashable, Future] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The result for ``key``: computed here if nobody has, else waited for. A waiter
        whose computing thread was stopped (its caller's work cancelled, or Ctrl-C in a
        cell) asks again rather than taking that stop for its own."""
        while True:
            with self._lock:
                future = self._futures.get(key)
                mine = future is None
                if mine:
                    future = self._futures[key] = Future()
                    future.set_running_or_notify_cancel()
                    if len(self._futures) > self.size:
                        self._futures.popitem(last=False)
                else:
                    self._futures.move_to_end(key)
            assert future is not None
            if mine:
                break
            try:
                return future.result()
            except _Stopped:
                continue
        try:
            value = compute()
        except BaseException as exc:
            # A failure is not remembered: the next ask tries again (the model may recover,
            # the job may have been cancelled only for this caller).
            with self._lock:
                if self._futures.get(key) is future:
                    del self._futures[key]
            stopped = isinstance(exc, Cancelled) or not isinstance(exc, Exception)
            future.set_exception(_Stopped() if stopped else exc)
            raise
        future.set_result(value)
        return value

    def peek(self, key: Hashable, default: Any = None) -> Any:
        """The finished result for ``key``, or ``default`` (never waits)."""
        with self._lock:
            future = self._futures.get(key)
        if future is None or not future.done() or future.exception() is not None:
            return default
        return future.result()

    def __contains__(self, key: Hashable) -> bool:
        return self.peek(key, _MISSING) is not _MISSING

    def clear(self, predicate: Callable[[Hashable], bool] | None = None) -> None:
        """Forget finished results (those whose key matches ``predicate``, or all)."""
        with self._lock:
            for key in [k for k in self._futures if predicate is None or predicate(k)]:
                if self._futures[key].done():
                    del self._futures[key]
