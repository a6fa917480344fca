"""The compute seam: map a function over the parts of some data and reduce what it returns.

Global work (SHAP over X, reductions over ``global_data``) is written once, as a function
of one part (a chunk of rows, a Dask partition) that returns a small reduction, and a
``combine`` of two reductions. A backend runs it:

- ``InProcess`` (the default): the parts one after another in this process, ``stop``
  polled between them;
- ``DaskCluster``: one task per part on a ``dask.distributed`` cluster, retried by Dask
  when it fails; only each part's reduction travels back to this process, where it is
  combined as it arrives. ``stop`` cancels the tasks still queued, and tells the running
  ones to stop through a ``distributed.Event`` named for the pass (a running task cannot
  be interrupted from outside).

Work that runs long on one part looks at ``part_stop()`` between its steps: the backend's
``stop`` in process, the pass's Event on a worker.

Both report ``progress(parts done, parts in all)`` and return a ``Reduced``: the combined
value of every part that succeeded, and the parts that failed with their errors (a failure
is reported, never dropped silently). Dask is imported only by ``DaskCluster`` and
``DaskPartitions``: the package itself never imports it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import pandas as pd

from .jobs import NEVER, Cancelled, Stop, no_progress

R = TypeVar("R")
Progress = Callable[[int, int], None]
Work = Callable[[Any, int], R]  # work(part, part_number) -> a small reduction
Combine = Callable[[R, R], R]

RETRIES = 2  # a failing Dask task runs up to 3 times before it is reported
POLL_SECONDS = 0.1  # how often a waiting backend looks at ``stop``


# -- what a part's work looks at between its steps -------------------------------------------
class StopFlag(Protocol):
    @property
    def is_set(self) -> bool: ...

    def check(self) -> None: ...


class WorkerStop:
    """The stop of one pass as its Dask workers see it: a named ``distributed.Event``,
    set by the client when the pass stops. Pickles as its name."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def is_set(self) -> bool:
        from distributed import Event

        return bool(Event(self.name).is_set())

    def check(self) -> None:
        """Raise ``Cancelled`` once the pass was stopped."""
        if self.is_set:
            raise Cancelled("stopped")

    def set(self, client: Any) -> None:
        """Tell the workers still running a part of this pass to stop."""
        from distributed import Event

        Event(self.name, client=client).set()


_running = threading.local()


def part_stop() -> StopFlag:
    """The stop of the part running in this thread (``NEVER`` outside a backend)."""
    stop: StopFlag = getattr(_running, "stop", NEVER)
    return stop


@contextlib.contextmanager
def _stopped_by(stop: StopFlag) -> Iterator[None]:
    before = getattr(_running, "stop", NEVER)
    _running.stop = stop
    try:
        yield
    finally:
        _running.stop = before


@dataclass(frozen=True)
class PartFailure:
    """A part whose work failed (on a cluster: after Dask's retries)."""

    part: int
    error: str  # "ValueError: …"
    attempts: int
    exception: BaseException | None = field(default=None, repr=False, compare=False)

    def text(self) -> str:
        """``part 3 failed after 3 attempts: ValueError: …``."""
        tries = "1 attempt" if self.attempts == 1 else f"{self.attempts} attempts"
        return f"part {self.part} failed after {tries}: {self.error}"


@dataclass
class Reduced(Generic[R]):
    """The combined result of the parts that succeeded, and the parts that failed."""

    value: R | None
    parts: int
    failures: list[PartFailure]
    seconds: float

    @property
    def succeeded(self) -> int:
        """How many parts are in ``value``."""
        return self.parts - len(self.failures)

    def raise_first_failure(self) -> None:
        """Re-raise the first failure's own exception (for work that must not lose a part)."""
        if self.failures:
            first = self.failures[0]
            if first.exception is not None:
                raise first.exception
            raise RuntimeError(first.text())


# -- the data, in parts ---------------------------------------------------------------------
class Parts(ABC):
    """Data cut into parts: loaded one at a time in process, or handed to Dask as tasks."""

    description: str = "parts"

    @abstractmethod
    def __len__(self) -> int: ...

    @abstractmethod
    def load(self, part: int) -> Any:
        """Part number ``part``, in this process."""

    @abstractmethod
    def to_delayed(self, client: Any) -> list[Any]:
        """One ``dask.delayed`` object (or future) per part, in order, for ``client``'s
        cluster."""


class Chunks(Parts):
    """An in-memory array or DataFrame cut into consecutive chunks of ``rows`` rows."""

    def __init__(self, data: np.ndarray | pd.DataFrame, rows: int) -> None:
        if rows < 1:
            raise ValueError(f"rows per chunk must be at least 1, not {rows}.")
        self.data = data
        self.rows = rows
        kind = "DataFrame" if isinstance(data, pd.DataFrame) else "array"
        self.description = f"an in-memory {kind} of {len(data):,} rows"

    def __len__(self) -> int:
        return max(1, -(-len(self.data) // self.rows)) if len(self.data) else 0

    def load(self, part: int) -> Any:
        start = part * self.rows
        if isinstance(self.data, pd.DataFrame):
            return self.data.iloc[start : start + self.rows]
        return self.data[start : start + self.rows]

    def to_delayed(self, client: Any) -> list[Any]:
        return _scattered(self, client)


class Selected(Parts):
    """Given rows of an in-memory array, in consecutive groups of ``rows``."""

    def __init__(self, data: np.ndarray, rows_wanted: np.ndarray, rows: int) -> None:
        self.data = data
        self.wanted = np.asarray(rows_wanted)
        self.rows = rows
        self.description = f"{len(self.wanted):,} rows of an in-memory array"

    def __len__(self) -> int:
        return -(-len(self.wanted) // self.rows)

    def load(self, part: int) -> np.ndarray:
        return self.data[self.wanted[part * self.rows : (part + 1) * self.rows]]

    def to_delayed(self, client: Any) -> list[Any]:
        return _scattered(self, client)


class DaskPartitions(Parts):
    """The partitions of a Dask DataFrame (read lazily: a partition is loaded when used)."""

    def __init__(self, frame: Any, description: str | None = None) -> None:
        self.frame = frame
        self.description = description or f"a Dask DataFrame of {frame.npartitions:,} partitions"

    def __len__(self) -> int:
        return int(self.frame.npartitions)

    def load(self, part: int) -> pd.DataFrame:
        # The synchronous scheduler: one partition, in this thread, nothing else started.
        return self.frame.partitions[part].compute(scheduler="sync")

    def to_delayed(self, client: Any) -> list[Any]:
        return list(self.frame.to_delayed())


def _scattered(parts: Parts, client: Any) -> list[Any]:
    """In-memory parts sent to the workers as data, each once: put in the task graph, a
    0.8 GB frame made a 763 MiB graph (dask warns) that the scheduler holds and copies."""
    return list(client.scatter([parts.load(i) for i in range(len(parts))], hash=False))


# -- the backends -----------------------------------------------------------------------------
class Backend(ABC):
    """Runs ``work`` on every part and combines the results; see the module docstring."""

    description: str

    @abstractmethod
    def map_reduce(
        self,
        work: Work[R],
        parts: Parts,
        combine: Combine[R],
        *,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Reduced[R]: ...


class InProcess(Backend):
    """The parts one after another in this process (the default)."""

    description = "in process"

    def __init__(self, *, fail_fast: bool = False) -> None:
        self.fail_fast = fail_fast  # raise a part's error at once instead of reporting it

    def map_reduce(
        self,
        work: Work[R],
        parts: Parts,
        combine: Combine[R],
        *,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Reduced[R]:
        started = time.perf_counter()
        progress = progress or no_progress
        stop = stop or NEVER
        total = len(parts)
        value: Any = None
        failures: list[PartFailure] = []
        progress(0, total)
        for part in range(total):
            stop.check()
            try:
                with _stopped_by(stop):
                    result = work(parts.load(part), part)
            except Cancelled:
                raise
            except Exception as exc:
                if self.fail_fast:
                    raise
                failures.append(PartFailure(part, _error_text(exc), 1, exc))
            else:
                value = result if value is None else combine(value, result)
            progress(part + 1, total)
        return Reduced(value, total, failures, time.perf_counter() - started)


class DaskCluster(Backend):
    """One task per part on the cluster of a ``dask.distributed`` Client.

    ``work`` is sent to every worker once (scattered), not once per task. Dask retries a
    failing task ``retries`` times; a part that still fails is reported in the result.
    """

    def __init__(self, client: Any, *, retries: int = RETRIES) -> None:
        self.client = client
        self.retries = retries
        workers = len(client.scheduler_info().get("workers", {}))
        address = getattr(client.scheduler, "address", None) or "an in-process scheduler"
        self.description = f"on the Dask cluster at {address} ({workers} workers)"

    def map_reduce(
        self,
        work: Work[R],
        parts: Parts,
        combine: Combine[R],
        *,
        progress: Progress | None = None,
        stop: Stop | None = None,
    ) -> Reduced[R]:
        import dask

        started = time.perf_counter()
        progress = progress or no_progress
        stop = stop or NEVER
        stop.check()
        delayed_parts = parts.to_delayed(self.client)
        total = len(delayed_parts)
        progress(0, total)
        if total == 0:
            return Reduced(None, 0, [], time.perf_counter() - started)
        shared_work = self.client.scatter(work, broadcast=True, hash=False)
        worker_stop = WorkerStop(f"optiml-stop-{uuid.uuid4().hex}")
        tasks = [
            dask.delayed(_run_part, pure=False)(shared_work, part, number, worker_stop)
            for number, part in enumerate(delayed_parts)
        ]
        futures = self.client.compute(tasks, retries=self.retries)
        # Finished tasks are taken in the order they finish; the callbacks run in Dask's
        # thread, this loop in ours (so it can look at ``stop`` while it waits).
        finished: queue.Queue[int] = queue.Queue()
        for number, future in enumerate(futures):
            future.add_done_callback(lambda _f, number=number: finished.put(number))
        value: Any = None
        failures: list[PartFailure] = []
        done = 0
        try:
            while done < total:
                try:
                    number = finished.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    stop.check()
                    continue
                future = futures[number]
                if future.status == "finished":
                    result = future.result()
                    value = result if value is None else combine(value, result)
                elif future.status == "cancelled":  # not by us: we stop through ``stop``
                    raise RuntimeError(
                        f"The Dask cluster dropped part {number} (was the client or the "
                        "cluster closed?): start the computation again."
                    )
                else:
                    exc = future.exception()
                    failures.append(PartFailure(number, _error_text(exc), self.retries + 1, exc))
                futures[number] = None  # the part's result is combined: let Dask forget it
                done += 1
                progress(done, total)
                stop.check()
        except BaseException:
            # Cancelling drops the queued tasks; the running ones stop at their next step.
            # A closed client has no tasks left, and its refusal to cancel them must not
            # replace the error that ended the pass (ClosedClientError hid "dropped part").
            with contextlib.suppress(Exception):
                worker_stop.set(self.client)
            with contextlib.suppress(Exception):
                self.client.cancel([f for f in futures if f is not None])
            raise
        finally:
            with contextlib.suppress(Exception):
                self.client.cancel([shared_work])
        failures.sort(key=lambda f: f.part)
        return Reduced(value, total, failures, time.perf_counter() - started)


def _run_part(work: Work[Any], part: Any, number: int, stop: WorkerStop) -> Any:
    with _stopped_by(stop):
        return work(part, number)


def active_client(client: Any = None) -> Any:
    """The client to use: the one given, else the active ``dask.distributed`` Client, else
    None (also for ``client=False``: in process even when a Client is active). Looks for an
    active one only when distributed is already imported (a Client can only exist then), so
    the package never imports Dask by itself."""
    if client is False:
        return None
    if client is not None:
        return client
    import sys

    if "distributed" not in sys.modules:
        return None
    from distributed import default_client

    try:
        return default_client()
    except ValueError:
        return None


def choose_backend(client: Any = None, *, retries: int = RETRIES) -> Backend:
    """A Dask cluster when a Client is given or active, in process otherwise (or when
    ``client=False``)."""
    found = active_client(client)
    return DaskCluster(found, retries=retries) if found is not None else InProcess()


def _error_text(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    return f"{type(exc).__name__}: {exc}"
