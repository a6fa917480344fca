"""Permutation SHAP in numpy (explainers/permutation.py) against shap's own explainer."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import shap
from hypothesis import given, settings
from hypothesis import strategies as st

from optiml_widgets.explainers.permutation import permutation_shap


@st.composite
def problems(draw: st.DrawFn) -> dict:
    """Small tables on a coarse grid, so that background rows often equal the row in a
    feature (shap skips those) or in every feature; sometimes missing values."""
    features = draw(st.integers(1, 5))
    background_rows = draw(st.integers(1, 12))
    explained = draw(st.integers(1, 3))
    grid = st.sampled_from([-1.0, 0.0, 0.5, 2.0, np.nan] if draw(st.booleans()) else [0.0, 1.0])
    cells = st.lists(grid, min_size=features, max_size=features)
    background = np.array(draw(st.lists(cells, min_size=background_rows, max_size=background_rows)))
    rows = np.array(draw(st.lists(cells, min_size=explained, max_size=explained)))
    outputs = draw(st.integers(1, 3))
    weights = np.array(
        draw(
            st.lists(
                st.floats(-3, 3, allow_nan=False),
                min_size=features * outputs + 1,
                max_size=features * outputs + 1,
            )
        )
    )
    return {
        "background": background,
        "rows": rows,
        "outputs": outputs,
        "weights": weights,
        "passes": draw(st.integers(1, 4)),
        "seed": draw(st.integers(0, 3)),
    }


def model_of(problem: dict):
    """A model with interactions (permutation orders matter) and 1-D output when single."""
    weights, outputs = problem["weights"], problem["outputs"]
    features = problem["background"].shape[1]
    linear = weights[:-1].reshape(features, outputs)

    def f(X: np.ndarray) -> np.ndarray:
        X = np.nan_to_num(np.asarray(X, dtype=float), nan=-0.3)
        out = np.tanh(X @ linear + weights[-1] * X[:, :1] * X[:, -1:])
        return out[:, 0] if outputs == 1 else out

    return f


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(problems())
def test_equals_shaps_permutation_explainer_at_the_same_seed(problem):
    background, rows = problem["background"], problem["rows"]
    f = model_of(problem)
    max_evals = (2 * background.shape[1] + 1) * problem["passes"]
    masker = shap.maskers.Independent(background, max_samples=len(background))
    own = shap.PermutationExplainer(f, masker, seed=problem["seed"])(
        rows, max_evals=max_evals, silent=True
    )
    values, base = permutation_shap(f, rows, background, max_evals, problem["seed"])
    expected = np.asarray(own.values).reshape(values.shape)
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(base, np.atleast_1d(np.asarray(own.base_values)[0]), atol=1e-12)
    # Additive by construction: base + sum(values) is the model's output on each row.
    total = base[None, :] + values.sum(axis=1)
    np.testing.assert_allclose(total, f(rows).reshape(total.shape), atol=1e-9)


def test_rows_share_model_calls_up_to_the_batch_size(monkeypatch):
    """All permutations of a row go in one model call, and rows share calls up to
    CELLS_PER_BATCH cells; the values do not depend on how the rows were batched."""
    from optiml_widgets.explainers import permutation

    rng = np.random.default_rng(0)
    background, rows = rng.normal(size=(20, 4)), rng.normal(size=(5, 4))
    calls: list[int] = []

    def f(X: np.ndarray) -> np.ndarray:
        calls.append(len(X))
        return np.sin(X).sum(axis=1) * X[:, 0]

    together = permutation_shap(f, rows, background, 27, 0)
    assert calls == [5 * 3 * 9 * 20]  # rows x permutations x steps x background rows
    calls.clear()
    monkeypatch.setattr(permutation, "CELLS_PER_BATCH", 400)  # less than one row's inputs
    alone = permutation_shap(f, rows, background, 27, 0)
    assert calls == [3 * 9 * 20] * 5
    np.testing.assert_allclose(alone[0], together[0], rtol=1e-12)


def test_the_first_view_compiles_none_of_shaps_numba_kernels():
    """shap's masked-model kernels take seconds to compile in every new kernel and cannot
    be cached: a Pipeline's first view must not reach them."""
    script = textwrap.dedent(
        """
        from sklearn.datasets import load_breast_cancer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        from optiml_widgets import explain_widget
        X, y = load_breast_cancer(return_X_y=True, as_frame=True)
        model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
        w = explain_widget(model, X)
        assert w.explanation.algorithm.startswith("Permutation SHAP"), w.explanation.algorithm
        w.close()
        from shap.utils import _masked_model
        compiled = [
            name
            for name in ("_build_fixed_single_output", "_build_fixed_multi_output")
            if getattr(_masked_model, name).signatures
        ]
        print("compiled:", compiled)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "compiled: []" in done.stdout


def test_a_feature_that_varies_far_down_its_digits_is_switched():
    """Epoch seconds (1.7e9 spread over hours): shap's masker compares with np.isclose,
    which called them all equal, so the feature got 0 and the sum missed the output."""
    rng = np.random.default_rng(0)
    background = np.column_stack([1.7e9 + rng.uniform(0, 4 * 3600, 50), rng.normal(size=50)])
    row = np.array([[1.7e9 + 3 * 3600, 0.5]])

    def hours(rows):
        return ((rows[:, 0] - 1.7e9) / 3600 + rows[:, 1])[:, None]

    values, base = permutation_shap(hours, row, background, 100, seed=0)
    assert values[0, :, 0].sum() + base[0] == pytest.approx(hours(row)[0, 0], abs=1e-9)
    assert values[0, 0, 0] == pytest.approx(3 - (background[:, 0].mean() - 1.7e9) / 3600)


def test_a_model_that_answers_a_row_by_its_batch_is_refused_clearly():
    import pandas as pd

    from optiml_widgets import explain_widget

    rng = np.random.default_rng(5)
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)})

    def centred(frame):  # rescales each call's rows: a row's output depends on the others
        return frame["a"].to_numpy() - frame["a"].mean() + frame["b"].to_numpy()

    with pytest.raises(ValueError, match="miss the model's own output.*with the other rows"):
        explain_widget(centred, X, explainers=("shap",))
