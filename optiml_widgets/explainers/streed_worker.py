"""STreeD's fits, in the solver's own process (``optimal_trees.Solver``).

Run as a file (``python streed_worker.py``) it reads fit requests from stdin and writes
each answer to stdout, both as pickles, until stdin closes. It imports only numpy and
pystreed, not the package, so that it starts fast; ``fit`` is also what the package calls
in its own process where no other process can be started.
"""

from __future__ import annotations

import os
import pickle
import sys
import warnings
from typing import Any

# What STreeD says of a size it cannot fit, which the surrogate handles (it skips that size).
QUIET = "No feasible tree found|Maximum number of branching nodes is reduced"

# A node as plain data: (rows, label, binary feature or -1 for a leaf, left, right), where
# "right" holds the rows whose binary feature is 1.
Node = tuple[int, float, int, Any, Any]


def _node(tree: Any) -> Node:
    if tree.is_leaf_node():
        return (int(tree.num_instances), float(tree.label), -1, None, None)
    return (
        int(tree.num_instances),
        float("nan"),
        int(tree.feature),
        _node(tree.left_child),
        _node(tree.right_child),
    )


def fit(
    B: Any,
    target: Any,
    *,
    classify: bool,
    depth: int,
    splits: int,
    min_leaf: int,
    seed: int,
    time_limit: float,
) -> Node | None:
    """The optimal tree of at most ``depth`` levels and ``splits`` splits, as plain nodes
    (None: STreeD found none). A new solver per tree: one solver fitting several sizes in
    turn (reusing its cache, no faster here) crashed on some runs and not on others."""
    from pystreed import STreeDClassifier, STreeDRegressor

    solver: Any
    if classify:
        solver = STreeDClassifier(
            max_depth=depth,
            max_num_nodes=splits,
            min_leaf_node_size=min_leaf,
            time_limit=time_limit,
            random_seed=seed,
        )
    else:
        solver = STreeDRegressor(
            optimization_task="regression",
            max_depth=depth,
            max_num_nodes=splits,
            min_leaf_node_size=min_leaf,
            time_limit=time_limit,
            random_seed=seed,
        )
    solver.fit(B, target)
    return _node(solver.get_tree()) if solver.is_fitted() else None


def serve() -> None:
    """Answer requests until stdin closes. The answers go to a copy of stdout: anything
    the solver prints goes to stderr instead of into a pickle."""
    warnings.filterwarnings("ignore", message=QUIET, category=UserWarning)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    requests = sys.stdin.buffer
    while True:
        try:
            request = pickle.load(requests)
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("ok", fit(**request))
        except Exception as exc:  # the caller raises it
            answer = ("error", f"{type(exc).__name__}: {exc}")
        pickle.dump(answer, answers, protocol=pickle.HIGHEST_PROTOCOL)
        answers.flush()


if __name__ == "__main__":
    serve()
