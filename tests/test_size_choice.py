"""The size choice shared by the tabular and the text surrogates: the fewest rules within
TOLERANCE of the best with 95% confidence, and the frontier the fidelity chart draws."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from optiml_widgets.size_choice import (
    CONFIDENCE,
    TOLERANCE,
    SizeChoice,
    fewest_rules_near_best,
    frontier,
    reason,
    standard_error,
)


def test_a_size_surely_within_the_tolerance_of_the_best_is_chosen_for_its_fewer_rules():
    by_fold = {
        1: np.array([0.70, 0.72, 0.69, 0.71]),  # far below the best
        2: np.array([0.929, 0.949, 0.919, 0.939]),  # 0.002 below size 4 in every fold
        4: np.array([0.931, 0.951, 0.921, 0.941]),  # the best mean
    }
    choice = fewest_rules_near_best(by_fold, int)
    assert choice.best == 4 and choice.chosen == 2
    assert choice.near_best == {1: False, 2: True, 4: True}
    assert choice.mean[2] == np.mean(by_fold[2])
    assert choice.error[2] == standard_error(by_fold[2])


def test_a_small_loss_the_folds_cannot_vouch_for_keeps_the_best():
    # Size 2 is 0.002 below size 4 on average, but by 0.03 either way from fold to fold:
    # its loss might be far larger than the tolerance, so the best is kept.
    best = np.array([0.90, 0.90, 0.90, 0.90, 0.90])
    noisy = best + np.array([0.03, -0.03, 0.03, -0.03, -0.01])
    choice = fewest_rules_near_best({2: noisy, 4: best}, int)
    assert choice.chosen == 4 and not choice.near_best[2]


def test_a_steady_small_loss_is_told_apart_where_an_unpaired_error_would_not():
    # Size 2 trails size 4 by 0.004 in every fold: the folds' spread (0.1) hides nothing
    # from the paired error, which is 0, so the sure small loss buys the fewer rules.
    base = np.array([0.70, 0.80, 0.90, 0.75, 0.85])
    assert fewest_rules_near_best({2: base - 0.004, 4: base}, int).chosen == 2
    assert fewest_rules_near_best({2: base - 0.006, 4: base}, int).chosen == 4  # beyond it


def test_fewer_rules_with_a_better_mean_than_a_vouched_size_are_chosen_over_it():
    # Size 11 beats size 12 on average, but its folds vary: the paired error cannot vouch
    # for it against the best (size 20), while size 12 is steady. A user would read more
    # rules for less, so size 11 counts as near the best too.
    best = np.full(4, 1.0)
    steady = np.full(4, 0.996)
    varied = np.array([1.0, 0.988, 1.0, 1.0])
    choice = fewest_rules_near_best({11: varied, 12: steady, 20: best}, int)
    assert choice.best == 20 and choice.mean[11] > choice.mean[12]
    assert choice.chosen == 11 and choice.dominated == 12  # the reason names size 12
    assert fewest_rules_near_best({12: steady, 20: best}, int).dominated is None


def test_folds_without_a_score_are_left_out():
    by_fold = {1: np.array([0.5, np.nan, 0.6]), 3: np.array([0.9, 0.8, np.nan])}
    choice = fewest_rules_near_best(by_fold, int)
    assert choice.mean[1] == pytest.approx(0.55) and choice.mean[3] == pytest.approx(0.85)
    assert choice.best == 3


def test_the_frontier_is_the_best_of_each_size_that_beats_every_smaller_size():
    by_fold = {
        ("tree", 2): np.array([0.80, 0.80]),
        ("linear", 2): np.array([0.85, 0.85]),  # the best of 2 rules
        ("tree", 3): np.array([0.84, 0.84]),  # below 2 rules: reading more gains nothing
        ("tree", 5): np.array([0.90, 0.90]),
        ("linear", 5): np.array([0.88, 0.88]),
    }
    means = {key: float(np.mean(v)) for key, v in by_fold.items()}
    on = frontier(means, lambda key: key[1])
    assert [k for k, is_on in on.items() if is_on] == [("linear", 2), ("tree", 5)]


scores = arrays(np.float64, 5, elements=st.floats(0, 1, allow_nan=False, width=32))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(1, 32), scores, min_size=1, max_size=8))
def test_the_choice_is_the_fewest_rules_near_the_best(by_fold):
    choice = fewest_rules_near_best(by_fold, int)
    means = {k: float(np.mean(v)) for k, v in by_fold.items()}
    assert means[choice.best] == max(means.values())
    assert choice.near_best[choice.best] and choice.near_best[choice.chosen]
    assert choice.chosen <= choice.best
    assert not any(choice.near_best[k] for k in by_fold if k < choice.chosen)
    vouched = set()
    for k, v in by_fold.items():  # near the best: its loss, plus its error, within tolerance
        paired = standard_error(by_fold[choice.best] - v)
        loss = means[choice.best] - means[k]
        if k == choice.best or loss + CONFIDENCE * paired <= TOLERANCE:
            vouched.add(k)
    for k in by_fold:  # or no more rules and no lower mean than one of those
        dominates = any(k <= o and means[k] >= means[o] for o in vouched)
        assert choice.near_best[k] == (k in vouched or dominates)
    # One size per frontier point, each better than every smaller size; the chosen is one.
    on = frontier(choice.mean, int)
    line = sorted(k for k, is_on in on.items() if is_on)
    assert line[0] == min(by_fold) and on[choice.best] and on[choice.chosen]
    assert all(means[a] < means[b] for a, b in itertools.pairwise(line))
    assert all(means[k] <= max(means[f] for f in line if f <= k) for k in by_fold)


def test_the_reason_tells_two_variants_of_one_size_and_family_apart():
    # Two decision trees of 20 rules (two variants of the family): "no less than the 0.956
    # of 20 rules (decision tree)" read as the chosen point itself.
    from types import SimpleNamespace

    from sklearn.metrics import accuracy_score

    from optiml_widgets.explainers.surrogate import _curve_and_choice

    tree = SimpleNamespace(family="decision tree", complexity=20)
    models = {"a": tree, "b": tree, "best": SimpleNamespace(family="decision tree", complexity=21)}
    by_fold = {
        "a": np.full(4, 0.956),  # steady: confidently near the best
        "b": np.array([0.962, 0.950, 0.962, 0.962]),  # a higher mean, varied folds
        "best": np.array([0.960, 0.960, 0.960, 0.960]),
    }
    data = SimpleNamespace(test_is_real=np.ones(4, bool), test_y=np.array([0, 1, 0, 1]))
    predicted = dict.fromkeys(models, np.array([0, 1, 0, 1]))
    _, chosen, reason = _curve_and_choice(
        models, by_fold, data, predicted, accuracy_score, "accuracy", "4 folds"
    )
    assert chosen == "b"
    assert "no less than the 0.956 of another of 20 rules (decision tree)" in reason


def test_the_reason_states_each_way_a_size_is_chosen_for_either_surrogate():
    mean = {2: 0.951, 3: 0.950, 5: 0.953}
    error = dict.fromkeys(mean, 0.002)
    near = dict.fromkeys(mean, True)

    def said(best: int, chosen: int, dominated: int | None = None, **kw) -> str:
        choice = SizeChoice(mean, error, near, best, chosen, dominated)
        return reason(choice, int, "cross-validated agreement", "4 folds", **kw)

    assert said(5, 5, smaller="shorter list") == (
        "the best cross-validated agreement (0.953 ± 0.002 at 5 rules); no shorter list is "
        f"within {TOLERANCE} of it with 95% confidence (4 folds)"
    )
    assert said(5, 2) == (
        f"the fewest rules within {TOLERANCE} of the best cross-validated agreement with 95% "
        "confidence (the best: 0.953 ± 0.002 at 5 rules): 2 rules reach 0.951 ± 0.002 (4 folds)"
    )
    assert said(5, 2, 3) == (
        f"the fewest rules within {TOLERANCE} of the best cross-validated agreement with 95% "
        "confidence, or no more rules and no less faithful: 2 rules reach 0.951 ± 0.002, no "
        f"less than the 0.950 of 3 rules within {TOLERANCE} of the best (0.953 at 5 rules) "
        "(4 folds)"
    )
    family = said(5, 2, 3, family=lambda k: "decision tree")
    assert (
        "2 rules (decision tree) reach" in family and "(0.953 at 5 rules, decision tree)" in family
    )
    assert "the 0.950 of 3 rules (decision tree)" in family
