"""Sums of small trees (FIGS-like): an additive effect read once, terms of several
conditions, their formula in Python and in the JSON, counterfactuals that flip them, and
(fuzzed) real rows behind every rule and term."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.ensemble import HistGradientBoostingRegressor
from test_surrogate import by_formula, sampled_rules

from optiml_widgets import ExplanationSession, payloads
from optiml_widgets.counterfactual import Split, _flip_steps
from optiml_widgets.explainers.rule_models import SUMMED_TREES, joint_step
from optiml_widgets.explainers.summed_trees import summed_tree_models
from optiml_widgets.explainers.surrogate import Condition, LinearTerm, Rule


def test_two_additive_effects_are_two_trees_of_one_split():
    # y = a jump in a plus a jump in b: a tree needs 4 leaves (it repeats b's jump under
    # each side of a's); two one-split trees read 3 rules (one leaf of the second tree is
    # taken in by the rules) and are exact (fewer distinct values than cuts: every gap
    # between two real values is a cut).
    rng = np.random.default_rng(0)
    T = rng.uniform(size=(200, 3))
    y = 2.0 * (T[:, 0] > 0.3) + 1.0 * (T[:, 1] > 0.6)
    models = summed_tree_models(T, y, [0, 1, 2], 8, 0, np.ones(len(y), bool))
    three = next(m for m in models if m.complexity == 3)
    assert three.family == SUMMED_TREES
    assert np.allclose(three.predict(T), y)
    # Each cut lies between the real values on either side of the jump.
    leaf = next(iter(three.fits.values()))
    ((column, cut, _),) = leaf.joint[0]
    below, above = T[T[:, 1] <= 0.6, 1].max(), T[T[:, 1] > 0.6, 1].min()
    assert column == 1 and below <= cut < above


def test_every_split_keeps_real_rows_on_both_sides():
    # Samples drawn beyond the real rows must not make a term no real row meets.
    rng = np.random.default_rng(1)
    real = rng.uniform(0, 1, size=(300, 2))
    near = rng.uniform(1, 2, size=(300, 2))  # only samples reach x > 1
    T = np.vstack([real, near])
    y = np.where(T[:, 0] > 1.2, 5.0, 0.0) + T[:, 1]
    is_real = np.arange(len(T)) < len(real)
    for model in summed_tree_models(T, y, [0, 1], 12, 0, is_real):
        for leaf in model.fits.values():
            for steps in leaf.joint:
                hit = np.ones(len(real), bool)
                for column, cut, above in steps:
                    hit &= (real[:, column] > cut) if above else (real[:, column] <= cut)
                assert hit.any(), steps


@pytest.fixture(scope="module")
def interaction():
    # A jump in a, and a jump where b and c are both high: FIGS's second tree reads the
    # second as one term of two conditions, in every rule.
    rng = np.random.default_rng(4)
    X = pd.DataFrame(rng.uniform(size=(1500, 4)), columns=["a", "b", "c", "d"])
    y = 3.0 * (X["a"] > 0.4) + 2.0 * ((X["b"] > 0.5) & (X["c"] > 0.5)) + 0.5 * (X["d"] > 0.7)
    model = HistGradientBoostingRegressor(random_state=0).fit(X, y)
    session = ExplanationSession(model, X, explainers=("surrogate",))
    return session, X


def test_a_sum_of_trees_reads_an_interaction_once_and_adds_up_in_json(interaction):
    session, X = interaction
    surrogate = session.surrogate
    best = {
        family: max(
            (p["fidelity"] for p in surrogate.curve if p["family"] == family and p["rules"] <= 5),
            default=0.0,
        )
        for family in ("decision tree", SUMMED_TREES)
    }
    assert best[SUMMED_TREES] >= best["decision tree"] + 0.05, best
    sizes = [
        int(p["rules"]) for p in surrogate.curve if p["family"] == SUMMED_TREES and p["rules"] <= 8
    ]
    assert sizes
    joint_seen = False
    for size in sizes:
        smaller = surrogate.with_size(size, SUMMED_TREES)
        assert smaller.family == SUMMED_TREES and smaller.complexity == size
        for row, rule, sent, predicted in sampled_rules(session, smaller, 53):
            assert rule.predict(row) == pytest.approx(predicted)
            assert by_formula(sent, row) == pytest.approx(predicted)
        for t in smaller.rules[0].terms:
            if not t.when:
                continue
            joint_seen = joint_seen or len(t.when) > 1
            assert t.shared and t.phrase.startswith(("+", "\u2212"))
            assert " if " in t.phrase and t.phrase.count(" and ") == len(t.when) - 1
            # Real rows meet every term (no term read for nothing); its cuts are thresholds.
            met = np.ones(len(X), bool)
            for c in t.when:
                met &= np.array([c.holds(v) for v in X[c.feature]])
                assert c.value in smaller.thresholds()[c.feature]
            assert met.any()
        payload = payloads.surrogate(smaller)
        for sent in payload["rules"]:
            for term in sent["terms"]:
                assert len(term["when"]) == len(term["when_fill"])
    assert joint_seen, "no term of two conditions at any size"


def test_a_counterfactual_meets_or_breaks_a_term_of_several_conditions():
    both = (Condition("b", ">", 0.5), Condition("c", ">", 0.5))
    term = LinearTerm("b", 2.0, 1.0, 0.0, 0.5, True, None, both, (0.5, 0.5))
    rule = Rule(0, [], 1.0, 1.0, 10, terms=(term,))
    from optiml_widgets.data import build_schema

    X = pd.DataFrame({"b": np.linspace(0, 1, 50), "c": np.linspace(0, 1, 50)})
    schema = build_schema(X)
    # Off (c too low): meet both conditions to go above 2.
    off = {"b": 0.8, "c": 0.2}
    moved = _flip_steps(rule, off, Split(2.0), schema, 0.0)
    assert moved is not None and set(moved) == {"c"} and moved["c"] > 0.5
    assert rule.score({**off, **moved}) == pytest.approx(3.0)
    # On: break one condition to go below 2.
    on = {"b": 0.8, "c": 0.9}
    moved = _flip_steps(rule, on, Split(2.0), schema, 0.0)
    assert moved is not None and len(moved) == 1
    assert rule.score({**on, **moved}) == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(12, 80),
    p=st.integers(1, 4),
    seed=st.integers(0, 2**16),
    ties=st.booleans(),
    max_rules=st.integers(3, 12),
)
def test_any_data_gives_finite_sums_whose_every_term_and_rule_meets_real_rows(
    n, p, seed, ties, max_rules
):
    rng = np.random.default_rng(seed)
    T = rng.normal(size=(n, p))
    if ties:  # few distinct values, as counts or codes are
        T = np.round(T)
    y = rng.normal(size=n) + 2.0 * (T[:, 0] > 0)
    is_real = rng.random(n) < 0.5
    is_real[:2] = True
    real = T[is_real]
    for model in summed_tree_models(T, y, list(range(p)), max_rules, seed, is_real):
        assert 3 <= model.complexity <= max_rules
        assert np.isfinite(model.predict(T)).all()
        # Every rule (a leaf of the first tree) and every term holds for a real row.
        assert set(np.unique(model.apply(real))) == set(model.fits)
        leaf = next(iter(model.fits.values()))
        for steps in leaf.joint:
            assert joint_step(real, steps).any(), steps
