"""Permutation SHAP: the algorithm of shap's ``PermutationExplainer``, in numpy.

shap's explainer compiles numba kernels the first time it runs in a Python process (about
6 s on 2 cores: the first view of every non-tree model, in every new kernel), and numba
cannot cache them on disk (they take a jitted link function as an argument). It also calls
the model once per permutation. This is the same estimator, with the same random orders for
the same seed: antithetic permutations (each feature switched from the background to the
row's value in a random order, then back in the same order), the model re-run only on the
background rows a switch changes, and all permutations of a row (of several rows, up to
CELLS_PER_BATCH) in one model call. tests/test_permutation.py holds it to shap's values.

One difference, on purpose: a feature counts as differing from a background row when its
value differs at all. shap's masker compares with np.isclose, which calls values equal
within 1e-5 of their size (epoch seconds hours apart); such a feature got 0 and the values
no longer added up to the model's output."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# Cells (rows x features) of the inputs built before the model is called: the rows' inputs
# are batched up to this (beyond one row's); the model's caller cuts its calls smaller.
CELLS_PER_BATCH = 4_000_000


def permutation_shap(
    model: Callable[[np.ndarray], np.ndarray],
    rows: np.ndarray,
    background: np.ndarray,
    max_evals: int,
    seed: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values ``(rows, features, outputs)`` and base values ``(outputs,)`` of ``rows``
    against ``background``, as ``shap.PermutationExplainer(model, Independent(background),
    seed=seed)(rows, max_evals=max_evals)`` computes them (the identity link), but for
    values within np.isclose of the background (see the module docstring)."""
    rows = np.atleast_2d(np.asarray(rows, dtype=float))
    background = np.asarray(background, dtype=float)
    random = np.random.RandomState(seed)  # shap seeds numpy's global generator alike
    plans = [_permutations(row, background, max_evals, random) for row in rows]
    values: np.ndarray | None = None
    base = np.zeros(0)
    waiting: list[tuple[int, np.ndarray]] = []  # rows whose inputs wait for a model call

    def run_waiting() -> None:
        nonlocal values, base
        outputs = _call(model, [inputs for _, inputs in waiting])
        for (i, _), found in zip(waiting, outputs):
            if values is None:
                values = np.zeros((*rows.shape, found.shape[1]))
            values[i], base = _reduce(plans[i], found, len(background), rows.shape[1])
        waiting.clear()

    for i, (row, plan) in enumerate(zip(rows, plans)):
        waiting.append((i, _inputs(row, background, plan)))
        if sum(inputs.size for _, inputs in waiting) >= CELLS_PER_BATCH:
            run_waiting()
    if waiting:
        run_waiting()
    assert values is not None
    return values, base


class _Plan:
    """One row's permutations and which (step, background row) pairs the model must see."""

    def __init__(self, orders: np.ndarray, varies: np.ndarray, n_background: int) -> None:
        self.orders = orders  # (permutations, switched features)
        steps = 2 * orders.shape[1] + 1
        # Step s switches feature order[(s - 1) % q]; only rows where it differs change.
        switched = np.concatenate([orders, orders], axis=1)  # (permutations, 2q)
        changed = np.ones((len(orders), steps, n_background), dtype=bool)
        changed[:, 1:, :] = varies[:, switched].transpose(1, 2, 0)
        self.changed = changed


def _permutations(
    row: np.ndarray, background: np.ndarray, max_evals: int, random: np.random.RandomState
) -> _Plan:
    """One row's random orders of the features it differs in, drawn as shap draws them."""
    # (background rows, features): compared exactly, NaN equal to NaN (module docstring).
    varies = (row != background) & ~(np.isnan(row) & np.isnan(background))
    switched = np.where(varies.any(axis=0))[0]
    if len(switched) == 0:
        return _Plan(np.zeros((1, 0), dtype=int), varies, len(background))
    permutations = max_evals // (2 * len(switched) + 1)
    if permutations == 0:
        raise ValueError(
            f"max_evals={max_evals} is too low for permutation SHAP: it must be at least "
            f"2 * features + 1 = {2 * len(switched) + 1}."
        )
    orders = np.empty((permutations, len(switched)), dtype=int)
    for p in range(permutations):
        random.shuffle(switched)  # in place, one order after another, as shap does
        orders[p] = switched
    return _Plan(orders, varies, len(background))


def _inputs(row: np.ndarray, background: np.ndarray, plan: _Plan) -> np.ndarray:
    """The model's input for every changed (permutation, step, background row)."""
    permutations, q = plan.orders.shape
    steps = 2 * q + 1
    # Position of each feature in each order (q: never switched, keeps the background).
    position = np.full((permutations, background.shape[1]), q)
    position[np.arange(permutations)[:, None], plan.orders] = np.arange(q)[None, :]
    # Forward step s (s <= q): the first s features of the order hold the row's value;
    # backward step q + k: all but the first k.
    step = np.arange(steps)[:, None]
    on = np.where(
        step <= q,
        position[:, None, :] < step[None, :, :],
        (position[:, None, :] >= step[None, :, :] - q) & (position[:, None, :] < q),
    )  # (permutations, steps, features)
    p_index, s_index, r_index = np.nonzero(plan.changed)
    # Built column by column (Fortran order): pandas makes a frame of it without a copy.
    columns = np.take(background.T, r_index, axis=1)
    np.copyto(columns, row[:, None], where=on[p_index, s_index].T)
    return columns.T


def _call(model: Callable[[np.ndarray], np.ndarray], inputs: list[np.ndarray]) -> list[np.ndarray]:
    """The model's outputs on some rows' inputs (one call), split back per row."""
    found = np.asarray(
        model(inputs[0] if len(inputs) == 1 else np.concatenate(inputs)), dtype=float
    )
    if found.ndim == 1:
        found = found[:, None]
    ends = np.cumsum([len(part) for part in inputs])
    return np.split(found, ends[:-1])


def _reduce(
    plan: _Plan, evaluated: np.ndarray, n_background: int, features: int
) -> tuple[np.ndarray, np.ndarray]:
    """One row's SHAP values and base values from the model's outputs on its changed inputs."""
    permutations, q = plan.orders.shape
    steps = 2 * q + 1
    outputs = evaluated.shape[1]
    # Every (step, background row) reads the output of the last step that changed it.
    flat = plan.changed.reshape(permutations * steps, n_background)
    slot = np.full(flat.shape, -1)
    slot[flat] = np.arange(int(flat.sum()))  # the outputs are in (step, row) order
    last = np.maximum.accumulate(slot.reshape(permutations, steps, n_background), axis=1)
    averaged = evaluated[last].mean(axis=2)  # (permutations, steps, outputs)
    values = np.zeros((features, outputs))
    if q:
        forward = np.diff(averaged[:, : q + 1], axis=1)
        backward = -np.diff(averaged[:, q:], axis=1)
        for order, gain in zip(plan.orders, forward + backward):
            values[order] += gain
        values /= 2 * permutations
    return values, averaged[-1, 0]
