"""Provably optimal small trees for the surrogate, fit by STreeD (``pystreed``).

STreeD finds, by dynamic programming over binary features, the tree of a given depth and
number of splits that fits its training rows best (most rows agreeing for classes, least
squared error for values). A greedy tree picks each split for itself and can miss the
pair of splits that together fit best; at 2 to 8 leaves the optimal tree often agrees with
the model on a few more rows per hundred.

Numeric features become binary ones "x <= t" at a few quantiles of the training rows (a
category code, ranked by the model's mean output, is numeric here too), so a split of the
optimal tree is one of those thresholds. The search grows fast with depth and binary
features: the surrogate gives it the few features its greedy tree found most useful and
caps the rows, which keeps a fit well under a second. The solver runs in a process of its
own (``Solver``), where its crash cannot take the kernel down.
"""

from __future__ import annotations

import atexit
import os
import pickle
import select
import subprocess
import sys
import threading
import warnings
from typing import Any

import numpy as np

from ..jobs import Cancelled, Stop, check_stopped, current_stop
from . import streed_worker

MAX_DEPTH = 3  # 2**3 = 8 leaves: deeper searches take seconds to minutes
TIME_LIMIT = 10.0  # seconds per tree; past it STreeD returns the best tree found so far
# The solver's process ends when no fit has come for this long: a surrogate's fit asks for
# its trees within seconds, and an idle process would hold its memory for the session.
IDLE_SECONDS = 30.0
STOP_POLL_SECONDS = 0.1  # how soon a stopped fit leaves the solver's tree under way
# Where the solver runs in this process (no other process can be started), STreeD's notes
# of sizes it cannot fit are ignored by one filter set once: catch_warnings around each
# fit, in the fit's thread, swapped the whole process's filters meanwhile and swallowed
# warnings of the user's cells.
warnings.filterwarnings(
    "ignore", message=streed_worker.QUIET, category=UserWarning, module=r"optiml_widgets\."
)


class Solver:
    """STreeD in a process of its own, one fit at a time. pystreed 1.4 crashed the process
    it ran in: a segfault on some regressions whose target has two values, an abort when
    two solvers fit at once, or when the interpreter finalised during a fit. A crash now
    ends the solver's process alone; the surrogate goes on without those optimal trees,
    and the next fit starts another process."""

    def __init__(self, idle_seconds: float = IDLE_SECONDS) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self.crashes = 0  # processes that ended during a fit
        self._idle_seconds = idle_seconds
        self._idle_timer: threading.Timer | None = None

    def start(self) -> None:
        """Start the process now (its imports take a second), without waiting for it."""
        with self._lock:
            self._running()
            self._end_when_idle()

    def _end_when_idle(self) -> None:
        """(Re)start the count after which an unused process ends (with the lock held)."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        timer = threading.Timer(self._idle_seconds, self._end_if_idle)
        timer.daemon = True
        self._idle_timer = timer
        timer.start()

    def _end_if_idle(self) -> None:
        with self._lock:
            if self._idle_timer is not threading.current_thread():
                return  # a fit came meanwhile, and its own count runs
            self._idle_timer = None
            if self._process is not None:
                self._stop(self._process)

    def _running(self) -> subprocess.Popen | None:
        if self._process is not None and self._process.poll() is None:
            return self._process
        if not sys.executable:  # embedded Python: no interpreter to start
            return None
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _SERVE, streed_worker.__file__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        except OSError:
            self._process = None
        return self._process

    def fit(self, request: dict[str, Any]) -> streed_worker.Node | None:
        """``streed_worker.fit(**request)``: one tree, in the solver's process (in this one
        where none can start); None also when its fit ended the process (the next fit
        starts another). ``Cancelled`` once the calling thread's work is stopped
        (``current_stop``), also during the fit."""
        stop = current_stop()
        with self._lock:
            if stop is not None:  # stopped while another widget's fit held the solver
                stop.check()
            process = self._running()
            if process is None:
                return streed_worker.fit(**request)
            assert process.stdin is not None and process.stdout is not None
            try:
                pickle.dump(request, process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                process.stdin.flush()
                if not _answered(process.stdout, stop):
                    # Its tree is for nobody now (a closed widget's fit); the next fit
                    # starts another process.
                    self._stop(process)
                    raise Cancelled("stopped")
                status, answer = pickle.load(process.stdout)
            except (EOFError, OSError, pickle.UnpicklingError):
                self.crashes += 1
                self._stop(process)
                return None
            finally:
                self._end_when_idle()
        if status != "ok":
            raise RuntimeError(f"STreeD failed: {answer}")
        return answer

    def stop(self) -> None:
        """End the process (at exit: one still fitting would outlive the interpreter)."""
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if self._process is not None:
            self._stop(self._process)

    def _stop(self, process: subprocess.Popen) -> None:
        process.kill()
        process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()
        if self._process is process:
            self._process = None

    def forget(self) -> None:
        """In a forked child: the parent's process and pipes are the parent's."""
        self._lock = threading.Lock()
        self._process = None
        self._idle_timer = None


def _answered(pipe: Any, stop: Stop | None) -> bool:
    """Wait for the solver's answer on ``pipe``; False once ``stop`` is set first. Polled
    where a pipe can be waited on with a timeout (POSIX); elsewhere the wait is the fit's."""
    if stop is None or os.name != "posix":
        return True
    while not select.select([pipe], [], [], STOP_POLL_SECONDS)[0]:
        if stop.is_set:
            return False
    return True


# The worker file runs as a script, not as a module of the package: importing the package
# takes seconds, and the file's own folder must not come first on sys.path (it holds
# modules named shap.py and lime.py).
_SERVE = "import runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__')"
SOLVER = Solver()
atexit.register(SOLVER.stop)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=SOLVER.forget)


def quantile_cuts(T: np.ndarray, columns: list[int], n_cuts: int) -> list[tuple[int, float]]:
    """``(column, threshold)`` for ``T[:, column] <= threshold`` at ``n_cuts`` inner quantiles,
    leaving out thresholds that do not split the rows."""
    cuts: list[tuple[int, float]] = []
    for j in columns:
        values = T[:, j]
        top = float(np.max(values)) if len(values) else 0.0
        levels = np.unique(np.quantile(values, np.linspace(0, 1, n_cuts + 2)[1:-1]))
        cuts.extend((j, float(t)) for t in levels if t < top)
    return cuts


def binarise(T: np.ndarray, cuts: list[tuple[int, float]]) -> np.ndarray:
    """One 0/1 column per cut: whether the row's value is at or below the threshold."""
    if not cuts:
        return np.zeros((len(T), 0), dtype=np.intc)
    return np.column_stack([T[:, j] <= t for j, t in cuts]).astype(np.intc)


def depth_for(leaves: int) -> int:
    """The smallest depth that holds ``leaves`` leaves."""
    return max(1, int(np.ceil(np.log2(max(leaves, 2)))))


class OptimalTreeArrays:
    """An optimal tree as parallel arrays (node 0 is the root; -1 marks a leaf's children).

    ``left`` holds the rows that meet ``T[:, feature] <= threshold``.
    """

    def __init__(self) -> None:
        self.children_left: list[int] = []
        self.children_right: list[int] = []
        self.feature: list[int] = []
        self.threshold: list[float] = []
        self.samples: list[int] = []
        self.output: list[float] = []

    @property
    def n_leaves(self) -> int:
        return sum(1 for c in self.children_left if c == -1)

    def add(self, node: streed_worker.Node, cuts: list[tuple[int, float]]) -> int:
        """Append a solver's ``node`` and its subtree breadth first; returns its position."""
        queue = [node]
        first = len(self.feature)
        position = first
        while queue:
            rows, label, feature, left, right = queue.pop(0)
            self.samples.append(rows)
            if feature < 0:
                self.children_left.append(-1)
                self.children_right.append(-1)
                self.feature.append(-2)
                self.threshold.append(-2.0)
                self.output.append(label)
            else:
                j, t = cuts[feature]
                # The solver's right child holds the rows whose binary feature is 1 (x <= t).
                queued = position + len(queue) + 1
                self.children_left.append(queued)
                self.children_right.append(queued + 1)
                self.feature.append(j)
                self.threshold.append(t)
                self.output.append(np.nan)
                queue.extend([right, left])
            position += 1
        return first


def fit_optimal_trees(
    T: np.ndarray,
    y: np.ndarray,
    *,
    classify: bool,
    cuts: list[tuple[int, float]],
    sizes: list[int],
    min_leaf: int = 1,
    random_state: int = 0,
) -> dict[int, OptimalTreeArrays]:
    """The optimal tree with at most ``size`` leaves, per size (at most 2**MAX_DEPTH).

    A size whose optimal tree has fewer leaves (more splits do not help) keeps that tree:
    cross-validation then judges "at most ``size`` leaves" on every fold (left out instead,
    a size was judged on the folds where it helped alone, whose lucky mean won the curve).
    A size whose fit crashed the solver is left out.
    """
    B = binarise(T, cuts)
    if B.shape[1] == 0 or len(np.unique(y)) < 2:
        return {}
    target = y.astype(np.intc) if classify else y.astype(float)
    found: dict[int, OptimalTreeArrays] = {}
    for size in sorted(s for s in set(sizes) if 2 <= s <= 2**MAX_DEPTH):
        check_stopped()  # a closed widget's fit sends the solver no more trees
        node = SOLVER.fit(
            {
                "B": B,
                "target": target,
                "classify": classify,
                "depth": depth_for(size),
                "splits": size - 1,
                "min_leaf": min_leaf,
                "seed": int(random_state) % (2**31),
                "time_limit": TIME_LIMIT,
            }
        )
        if node is not None:
            arrays = OptimalTreeArrays()
            arrays.add(node, cuts)
            found[size] = arrays
    return found
