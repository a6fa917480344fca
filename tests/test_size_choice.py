"""The one-standard-error size choice shared by the tabular and the text surrogates."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from optiml_widgets.size_choice import NEGLIGIBLE, one_standard_error, standard_error


def test_a_size_within_one_paired_error_of_the_best_is_chosen_for_its_fewer_rules():
    by_fold = {
        1: np.array([0.70, 0.72, 0.69, 0.71]),  # far below the best
        2: np.array([0.93, 0.93, 0.93, 0.92]),  # within the paired error of size 4
        4: np.array([0.91, 0.95, 0.92, 0.95]),  # the best mean
    }
    choice = one_standard_error(by_fold, int)
    assert choice.best == 4 and choice.chosen == 2
    assert choice.near_best == {1: False, 2: True, 4: True}
    assert choice.mean[2] == np.mean(by_fold[2])
    assert choice.error[2] == standard_error(by_fold[2])


def test_a_steady_small_loss_is_told_apart_where_an_unpaired_error_would_not():
    # Size 2 trails size 4 by 0.01 in every fold: the folds' spread (0.1) hides that from an
    # unpaired error, the paired one sees a sure loss.
    base = np.array([0.70, 0.80, 0.90, 0.75, 0.85])
    choice = one_standard_error({2: base - 0.01, 4: base}, int)
    assert choice.chosen == 4 and not choice.near_best[2]


def test_folds_without_a_score_are_left_out():
    by_fold = {1: np.array([0.5, np.nan, 0.6]), 3: np.array([0.9, 0.8, np.nan])}
    choice = one_standard_error(by_fold, int)
    assert choice.mean[1] == pytest.approx(0.55) and choice.mean[3] == pytest.approx(0.85)
    assert choice.best == 3


scores = arrays(np.float64, 5, elements=st.floats(0, 1, allow_nan=False, width=32))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(1, 32), scores, min_size=1, max_size=8))
def test_the_choice_is_the_fewest_rules_near_the_best(by_fold):
    choice = one_standard_error(by_fold, int)
    means = {k: float(np.mean(v)) for k, v in by_fold.items()}
    assert means[choice.best] == max(means.values())
    assert choice.near_best[choice.best] and choice.near_best[choice.chosen]
    assert choice.chosen <= choice.best
    assert not any(choice.near_best[k] for k in by_fold if k < choice.chosen)
    for k, v in by_fold.items():  # near the best: within its paired error, or negligibly
        paired = standard_error(v - by_fold[choice.best])
        assert choice.near_best[k] == (means[k] >= means[choice.best] - max(paired, NEGLIGIBLE))
