"""Our explanations against shap's and lime's own outputs, for every kind of model."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
import shap
from conftest import case, grid_point, grid_shap, session_for
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from lime.discretize import QuartileDiscretizer
from lime.lime_tabular import LimeTabularExplainer
from sklearn.metrics import accuracy_score, r2_score
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from optiml_widgets import ExplanationSession, explain_widget
from optiml_widgets.explainers.lime import (
    FULL_SAMPLES,
    LimeExplainer,
    _BinSampler,
    _edges,
    _weighted_ridge,
    sampling_errors,
)
from optiml_widgets.explainers.surrogate import surrogate_samples
from optiml_widgets.explainers.table import REMEMBERED_CALL_ROWS
from optiml_widgets.export import export_data

ROWS = (0, 7)

EXPECTED_ALGORITHM = {
    "gbc_breast_cancer": "tree",
    "rf_diabetes": "tree",
    "logistic_pipeline": "permutation",
    "rf_wine_multiclass": "tree",
    "onehot_pipeline": "permutation",
    "callable": "permutation",
    "xgboost": "tree",
    "lightgbm": "tree",
}


def shaps_own(session: ExplanationSession, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """shap's own values, (rows, features, outputs), for the algorithm the session chose."""
    explainer = session.shap_explainer
    adapter = session.adapter
    explainer.values(rows[:1])  # the first rows explained settle the algorithm (additivity)
    if explainer.algorithm_kind == "tree":
        interventional = explainer.perturbation == "interventional"
        raw_is_probability = type(adapter.model).__name__ in (
            "RandomForestClassifier",
            "ExtraTreesClassifier",
            "DecisionTreeClassifier",
        )
        own = shap.TreeExplainer(
            adapter.model,
            data=session.background if interventional else None,
            feature_perturbation="interventional" if interventional else "tree_path_dependent",
            model_output="probability"
            if adapter.is_classifier and not raw_is_probability
            else "raw",
        )
        values = np.asarray(own.shap_values(rows, check_additivity=False))
        base = np.atleast_1d(own.expected_value)
        if values.ndim == 2:
            values = values[..., None]
        return values, base
    assert explainer.algorithm_kind == "permutation"

    def f(encoded: np.ndarray) -> np.ndarray:
        return adapter.predict(session.schema.decode(encoded))

    masker = shap.maskers.Independent(session.background, max_samples=len(session.background))
    values, base = [], None
    for row in rows:  # each row on its own, seeded like a fresh explainer
        own = shap.PermutationExplainer(f, masker, seed=0)
        result = own(row[None, :], max_evals=explainer.max_evals(fast=False), silent=True)
        values.append(np.asarray(result.values)[0])
        base = np.atleast_1d(np.asarray(result.base_values)[0])
    values = np.asarray(values)
    if values.ndim == 2:
        values = values[..., None]
    return values, base


def test_the_algorithm_fits_the_model(case_name):
    session = session_for(case_name)
    session.shap_explainer.values(session.encoded_X[:1])
    assert session.shap_explainer.algorithm_kind == EXPECTED_ALGORITHM[case_name]


def test_a_fallback_says_which_algorithm_and_why():
    """shap's interventional TreeSHAP is not additive for random-forest regressors: the
    session falls back to path-dependent TreeSHAP and every view and explanation says so."""
    session = session_for("rf_diabetes")
    explanation = session.local_explanation(0, {})
    assert explanation.algorithm == "TreeSHAP (path-dependent, the model's prediction)"
    assert "interventional TreeSHAP is not additive" in explanation.fallback
    shap = session.view(1)["attributions"][0]
    assert shap["algorithm"] == explanation.algorithm and shap["fallback"] == explanation.fallback
    assert explanation.base_value + sum(explanation.shap.values()) == pytest.approx(
        explanation.prediction, rel=1e-6
    )


def test_shaps_probability_transform_is_named_apart_from_exact_probability_values():
    """A boosted classifier's interventional TreeSHAP in probability is shap's rescaling of
    each background row's log-odds values (additive to P, not its Shapley values; the same
    model in a Pipeline gets the permutation explainer's): its label says so. A forest's
    raw output is a probability already, so its values are Shapley values of P."""
    boosted = session_for("gbc_breast_cancer")
    assert boosted.local_explanation(0, {}).algorithm == (
        "TreeSHAP (interventional, probability: shap's rescaling of the log-odds values)"
    )
    forest = session_for("rf_wine_multiclass")
    algorithm = forest.local_explanation(0, {}).algorithm
    assert algorithm.startswith("TreeSHAP (") and algorithm.endswith(", probability)")


def test_categories_the_model_encodes_itself_are_named_as_the_reason_for_permutation():
    session = session_for("onehot_pipeline")
    explanation = session.local_explanation(0, {})
    assert explanation.algorithm.startswith("Permutation SHAP")
    # A Pipeline is not a tree model as given: no faster algorithm was tried, none is named.
    assert explanation.fallback is None


def test_shap_equals_shaps_own_output_and_is_additive(case_name):
    session = session_for(case_name)
    rows = session.encoded_X[list(ROWS)]
    own_values, own_base = shaps_own(session, rows)
    for i, row in enumerate(ROWS):
        for target in range(len(session.adapter.output_names)):
            ours = session.local_explanation(row, {}, target)
            values = np.array([ours.shap[name] for name in session.schema.names])
            if own_values.shape[2] == 1 and len(session.adapter.output_names) == 2:
                # shap explains P(positive) of a binary classifier; class 0 is its mirror.
                sign = 1 if target == 1 else -1
                expected, expected_base = (
                    sign * own_values[i, :, 0],
                    (own_base[0] if sign > 0 else 1 - own_base[0]),
                )
            else:
                expected, expected_base = own_values[i, :, target], own_base[target]
            np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-9)
            assert ours.base_value == pytest.approx(expected_base, rel=1e-6, abs=1e-9)
            assert ours.base_value + values.sum() == pytest.approx(
                ours.prediction, rel=1e-6, abs=1e-8
            )


def test_prediction_is_the_models_own(case_name):
    c = case(case_name)
    session = session_for(case_name)
    ours = session.local_explanation(3, {}, session.target_index)
    row = c.X.iloc[[3]]
    if session.adapter.is_classifier:
        expected = c.model.predict_proba(row)[0, session.target_index]
    else:
        expected = np.ravel(
            c.model(row)
            if callable(c.model) and not hasattr(c.model, "predict")
            else c.model.predict(row)
        )[0]
    assert ours.prediction == pytest.approx(float(expected), rel=1e-9)


def limes_own(session: ExplanationSession, row: int, label: int, random_state: int):
    """lime's own explanation of a row, with the arguments we give it."""
    arguments = LimeExplainer.lime_arguments(
        session.schema, session.adapter, session.lime_explainer.training, random_state
    )
    return LimeTabularExplainer(**arguments).explain_instance(
        session.encoded_X[row],
        session.lime_explainer.predict_fn,
        labels=(label,),
        num_features=len(session.schema),
        num_samples=FULL_SAMPLES,
    )


def test_lime_equals_limes_own_output(case_name):
    session = session_for(case_name)
    row = 5
    target = session.target_index
    label = target if session.adapter.is_classifier else 1
    explanation = limes_own(session, row, label, random_state=0)
    expected = dict(explanation.as_map()[label])
    ours = session.local_explanation(row, {}, target)
    for position, name in enumerate(session.schema.names):
        assert ours.lime[name] == pytest.approx(expected.get(position, 0.0), rel=1e-9, abs=1e-12)
    assert ours.lime_intercept == pytest.approx(explanation.intercept[label], rel=1e-9)
    assert ours.lime_score == pytest.approx(explanation.score, rel=1e-9)
    # The same bins, written at the feature's scale where lime writes two decimals.
    theirs = {
        session.schema.names[j]: text
        for (j, _), (text, _) in zip(explanation.as_map()[label], explanation.as_list(label))
    }
    assert set(ours.lime_conditions) == set(theirs)
    number = r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?"
    for name, text in theirs.items():
        mine = ours.lime_conditions[name]
        assert re.sub(number, "#", mine) == re.sub(number, "#", text)
        found = [float(v) for v in re.findall(number, mine)]
        expected = [float(v) for v in re.findall(number, text)]
        assert found == pytest.approx(expected, rel=1e-3, abs=0.0051)


def test_limes_bins_are_written_at_the_features_scale():
    # lime's own text reads "-0.00 < s5 <= 0.03" for the bin (-0.0019, 0.0324].
    session = session_for("rf_diabetes")
    ours = session.local_explanation(0, {}, session.target_index)
    s5 = session.frame["s5"]
    low, high = s5.quantile(0.5), s5.quantile(0.75)
    assert low < s5[0] <= high
    assert ours.lime_conditions["s5"] == "-0.00195 < s5 <= 0.03243"  # 4 digits of its width
    assert (low, high) == pytest.approx((-0.00195, 0.03243), abs=1e-5)


@pytest.mark.parametrize("offset, scale", [(0.0, 1e-3), (1.7e9, 86400.0)])
def test_each_row_reads_its_own_bin_whatever_the_units(offset, scale):
    # At 1e-3 lime's texts of two bins read alike ("0.00 < x <= 0.00"), and a row got the
    # first one's edges; epoch seconds read "1.7e+9 < t <= 1.7e+9".
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x": offset + scale * rng.uniform(0.1, 0.9, 200), "z": rng.normal(size=200)})
    session = ExplanationSession(
        lambda df: df["x"].to_numpy() / scale + df["z"].to_numpy(),
        X,
        task="regression",
        explainers=("shap", "lime"),
    )
    number = r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?"
    for row in range(0, 200, 9):
        text = session.local_explanation(row, {}, 0).lime_conditions["x"]
        edges = [float(v) for v in re.findall(number, text)]
        value = X["x"][row]
        # As written, the text holds for the row (a rounded edge does not cross it).
        if text.startswith("x <="):
            assert value <= edges[0]
        elif text.startswith("x >"):
            assert value > edges[0]
        else:
            assert edges[0] < value <= edges[1]
        assert "e+" not in text


def test_a_bin_of_one_value_is_written_short_and_true():
    """diabetes' sex takes two values: its first quartile bin holds one, so it has no width,
    and its edge was written with every digit ("sex <= -0.044641636506989144")."""
    session = session_for("rf_diabetes")
    sex = session.frame["sex"]
    assert sex.nunique() == 2
    row = int(np.flatnonzero(sex == sex.min())[0])
    text = session.local_explanation(row, {}, session.target_index).lime_conditions["sex"]
    assert text == "sex <= -0.04464"  # four digits of the column's range, as its neighbours
    assert sex[row] <= -0.04464
    # The other value's row sits on its bin's upper edge: that edge takes the digits that
    # keep the text true for it (0.05068 < 0.0506801187), the lower one stays short.
    row = int(np.flatnonzero(sex == sex.max())[0])
    text = session.local_explanation(row, {}, session.target_index).lime_conditions["sex"]
    assert text == "-0.04464 < sex <= 0.05068012"


def test_a_bin_edge_is_written_with_the_digits_that_keep_it_true():
    # A row on its bin's upper edge (quartiles are values of X): four digits of the width
    # rounded 1.23444 down to 1.234, and "x <= 1.234" was false for the row.
    assert _edges(1.23444, None, 1.23444, 1.23444) == (None, "1.23444")
    # Inside its bin, four digits of the width hold.
    assert _edges(0.5, 0.123449, 1.23444, 1.111) == ("0.123", "1.234")
    # Just above its lower edge, which rounds up past it: more digits.
    assert _edges(0.12361, 0.1236, 1.23444, 1.111) == ("0.1236", "1.234")


@pytest.mark.parametrize("case_name", ["gbc_breast_cancer", "rf_diabetes"])
def test_limes_sampling_error_is_the_spread_lime_shows_over_seeds(case_name):
    session = session_for(case_name)
    row, target = 3, session.target_index
    ours = session.local_explanation(row, {}, target)
    assert set(ours.lime_errors) == set(session.schema.names)
    label = target if session.adapter.is_classifier else 1
    seen = []
    for seed in range(1, 13):  # lime itself, as we run it, with other seeds
        weights = dict(limes_own(session, row, label, random_state=seed).as_map()[label])
        seen.append([weights.get(j, 0.0) for j in range(len(session.schema))])
    spread = np.std(seen, axis=0, ddof=1)
    estimate = np.array([ours.lime_errors[name] for name in session.schema.names])
    ratio = np.median(estimate / spread)
    assert 0.6 < ratio < 1.5, ratio  # 12 seeds pin the spread to about ±20%
    # A drag's quick LIME (a tenth of the samples) carries no error: it is labelled fast.
    fast = session.lime_explainer.explain_row(session.encoded_X[row], target, fast=True)
    assert fast.errors is None


@settings(max_examples=50, deadline=None)
@given(
    shape=st.tuples(st.integers(3, 60), st.integers(1, 8)),
    alpha=st.floats(0.01, 10),
    seed=st.integers(0, 2**16),
)
def test_the_batches_ridge_is_scikit_learns(shape, alpha, seed):
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(seed)
    X = rng.integers(0, 3, shape).astype(float)
    y = X @ rng.normal(size=shape[1]) + rng.normal(size=shape[0])
    w = rng.random(shape[0]) + 0.01
    expected = Ridge(alpha=alpha).fit(X, y, sample_weight=w).coef_
    np.testing.assert_allclose(_weighted_ridge(X, y, w, alpha), expected, rtol=1e-7, atol=1e-9)


def test_sampling_errors_need_enough_samples_for_every_batch():
    rng = np.random.default_rng(0)
    data, y = rng.normal(size=(8, 2)), rng.normal(size=8)
    assert np.isnan(sampling_errors(data, y, np.ones(8))).all()
    data, y = rng.normal(size=(500, 2)), rng.normal(size=500)
    y = y + data @ np.array([1.0, -2.0])
    errors = sampling_errors(data, y, np.ones(500))
    assert np.all((errors > 0) & (errors < 0.2))


def test_a_lime_sign_within_its_sampling_noise_neither_agrees_nor_disagrees():
    from optiml_widgets.explainers.base import Attribution
    from optiml_widgets.payloads import agreement

    shap_values = Attribution(np.array([0.5, -0.3, 0.0, 0.0]), 0.2, "exact")
    lime = np.array([0.4, -0.2, -0.01, 0.005])  # the last two: noise around a feature unused
    noisy = Attribution(lime, None, "exact", {"score": 0.9, "errors": [0.01, 0.01, 0.02, 0.02]})
    found = agreement(("shap", shap_values), ("lime", noisy))
    assert found["signs_uncertain"] == 2 and found["sign_agreement"] == 1.0
    assert found["verdict"] == "agree"
    # Without its errors, LIME's noise reads as two signs against SHAP's.
    bare = Attribution(lime, None, "exact", {"score": 0.9})
    found = agreement(("shap", shap_values), ("lime", bare))
    assert found["signs_uncertain"] == 0 and found["sign_agreement"] == 0.5
    assert found["verdict"] == "disagree"


@settings(max_examples=60, deadline=None)
@given(
    columns=hnp.arrays(
        np.float64,
        st.tuples(st.integers(8, 60), st.integers(1, 6)),
        elements=st.one_of(
            st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False),
            st.sampled_from([0.0, 1.0, 2.5]),  # ties and constant columns
        ),
    ),
    seed=st.integers(0, 2**16),
)
def test_bin_sampler_draws_what_lime_draws(columns, seed):
    """The fast sampler gives lime's own samples (to rounding) and leaves lime's random
    stream where lime leaves it, whatever the data's tails, ties and constant columns; but
    a bin of one value, which lime leaves at its z-score, is that value."""
    discretizer = QuartileDiscretizer(columns, [], [str(j) for j in range(columns.shape[1])])
    bins = np.random.default_rng(seed).integers(0, 4, size=(200, columns.shape[1]))
    bins = np.minimum(bins, [len(discretizer.means[j]) - 1 for j in range(columns.shape[1])])
    discretizer.random_state = np.random.RandomState(seed)
    expected = discretizer.undiscretize(bins.astype(float))
    for j in range(columns.shape[1]):
        low = np.asarray(discretizer.mins[j])[bins[:, j]]
        high = np.asarray(discretizer.maxs[j])[bins[:, j]]
        expected[:, j] = np.where(low == high, low, expected[:, j])
    after_lime = discretizer.random_state.uniform()
    discretizer.random_state = np.random.RandomState(seed)
    ours = _BinSampler(discretizer)(bins.astype(float))
    # lime adds 1e-11 to each bin's spread: in a bin narrower than that both work at
    # rounding level (scipy's log-space formula), so the absolute tolerance has a floor.
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-9 * np.abs(columns).max() + 1e-15)
    assert discretizer.random_state.uniform() == after_lime


def test_lime_samples_a_bin_of_one_value_at_that_value():
    # lime's own sampler gives such a bin its z-score, 0: a count column of 2s, 3s and 4s
    # (its lowest quartile is its minimum) and a constant column reached the model as 0,
    # and LIME weighed a feature the model does not tell apart.
    rng = np.random.default_rng(0)
    rooms = rng.choice([2, 3, 4], p=[0.5, 0.3, 0.2], size=200)
    X = pd.DataFrame({"a": rng.normal(size=200), "rooms": rooms, "constant": 7.0})
    seen = []

    def model(df):
        seen.append(df[["rooms", "constant"]].to_numpy(dtype=float, copy=True))
        return df["a"].to_numpy() + 10.0 * (df["rooms"].to_numpy() >= 2) + df["constant"]

    w = explain_widget(model, X, explainers=("lime",))
    lime = w.explanation.lime
    values = np.concatenate(seen)
    assert set(np.unique(values[:, 0])) <= {2.0, 3.0, 4.0}
    assert set(np.unique(values[:, 1])) == {7.0}
    assert abs(lime["rooms"]) < 0.05 < abs(lime["a"])
    w.close()


def test_lime_keeps_its_condition_text_and_decodes_categories():
    session = session_for("onehot_pipeline")
    ours = session.local_explanation(0, {}, 1)
    city = session.original(0)["city"]
    assert ours.lime_conditions["city"] == f"city={city}"
    assert any("<=" in text or "<" in text for text in ours.lime_conditions.values())


def test_one_contribution_per_original_column_for_a_one_hot_pipeline():
    session = session_for("onehot_pipeline")
    ours = session.local_explanation(2, {}, 1)
    assert list(ours.shap) == ["income", "age", "debt", "score", "city"]
    assert list(ours.lime) == list(ours.shap)


def test_same_seed_same_numbers(case_name):
    c = case(case_name)
    first = ExplanationSession(c.model, c.X, random_state=0).local_explanation(4, {}, None)
    again = ExplanationSession(c.model, c.X, random_state=0).local_explanation(4, {}, None)
    # The same numbers but for the last digit: model calls are sized by the model's measured
    # time, and a model's arithmetic (BLAS) can round a row otherwise in a call of another size.
    assert first.shap == pytest.approx(again.shap, rel=1e-12, abs=1e-15)
    assert first.lime == pytest.approx(again.lime, rel=1e-12, abs=1e-15)
    assert first.rule.text() == again.rule.text()


def test_surrogate_beats_a_depth_3_tree_on_held_out_rows(case_name):
    session = session_for(case_name)
    surrogate = session.surrogate
    data = surrogate_samples(session.adapter, session.schema, session.encoded_X, random_state=0)
    encoder = surrogate.encoder
    classify = session.adapter.is_classifier
    tree = (DecisionTreeClassifier if classify else DecisionTreeRegressor)(
        max_depth=3, random_state=0
    )
    tree.fit(encoder.transform(data.train_X), data.train_y)
    score = accuracy_score if classify else r2_score
    real = data.test_is_real  # fidelity is judged on held-out real rows
    test_X, test_y = data.test_X[real], data.test_y[real]
    baseline = score(test_y, tree.predict(encoder.transform(test_X)))
    ours = score(test_y, surrogate.predict_encoded(test_X))
    assert surrogate.fidelity == pytest.approx(ours)
    assert surrogate.fidelity >= baseline
    assert 1 <= surrogate.complexity <= 32


def test_the_rule_for_a_row_is_the_one_whose_conditions_it_meets(case_name):
    session = session_for(case_name)
    surrogate = session.surrogate
    for index in range(0, session.n_rows, max(1, session.n_rows // 40)):
        row = session.original(index)
        rule = surrogate.rule_for(row)
        assert rule.covers(row), (rule.text(), row)
        assert [r.id for r in surrogate.rules if r.covers(row)] == [rule.id]


def test_rules_read_in_original_units():
    surrogate = session_for("onehot_pipeline").surrogate
    texts = surrogate.text()
    assert texts.startswith("IF ")
    city_conditions = [c for r in surrogate.rules for c in r.conditions if c.feature == "city"]
    for condition in city_conditions:
        assert condition.op in ("==", "!=", "in")
        values = condition.value if condition.op == "in" else (condition.value,)
        assert set(values) <= {"Paris", "Lyon", "Nice", "Lille"}
    assert sum(rule.coverage for rule in surrogate.rules) == pytest.approx(1.0)
    assert all(rule.samples > 0 for rule in surrogate.rules)


def test_to_shap_works_with_shaps_own_plots():
    explanation = session_for("gbc_breast_cancer").local_explanation(0, {}, 1)
    exp = explanation.to_shap()
    assert isinstance(exp, shap.Explanation)
    assert exp.values.shape == (30,)
    assert exp.base_values + exp.values.sum() == pytest.approx(explanation.prediction, abs=1e-8)
    import matplotlib

    matplotlib.use("Agg")
    shap.plots.waterfall(exp, show=False)


def test_to_shap_without_shap_says_how_to_get_it():
    c = case("rf_diabetes")
    session = ExplanationSession(c.model, c.X.iloc[:60], explainers=("lime",))
    try:  # before: an IndexError from inside shap.Explanation
        with pytest.raises(ValueError, match='create the widget with "shap" in explainers'):
            session.local_explanation(0, {}, 0).to_shap()
    finally:
        session.close()


def test_the_global_to_shap_holds_xs_own_values_as_the_local_one_does():
    session = session_for("onehot_pipeline")
    found = session.global_explanation().to_shap(session.target_index)
    rows = session.frame.iloc[session.global_explanation().rows]
    city = session.schema.names.index("city")
    assert list(found.data[:, city]) == list(rows["city"])  # labels, not category codes
    local = session.local_explanation(int(rows.index[0]), {}, session.target_index).to_shap()
    assert list(found.data[0]) == list(local.data)


def test_a_later_row_that_does_not_add_up_is_explained_by_permutation_shap():
    """The first rows decide the algorithm; a later row whose values miss its output (seen
    with shap's interventional TreeSHAP on some models) is explained by permutation SHAP
    when the next fast algorithm would start from another base value (a boosted
    classifier's link), and that row's view says so; the other rows keep TreeSHAP."""
    c = case("gbc_breast_cancer")
    session = ExplanationSession(c.model, c.X.head(150), explainers=("shap",))
    explainer = session.shap_explainer
    first = session.local_explanation(0, {})
    assert explainer.algorithm_kind == "tree" and first.fallback is None
    honest = explainer._values

    def off_by_a_little(encoded, *, fast):
        found = honest(encoded, fast=fast)
        if explainer.algorithm_kind == "tree":  # interventional: the next is permutation
            return type(found)(found.values + 1e-3, found.base_values)
        return found

    explainer._values = off_by_a_little
    later = session.local_explanation(7, {})
    assert later.algorithm.startswith("Permutation SHAP for this row")
    assert "interventional TreeSHAP misses this row's output by" in later.fallback
    view = session.view(1, index=7)["attributions"][0]
    assert (view["algorithm"], view["fallback"]) == (later.algorithm, later.fallback)
    assert "algorithm" not in view["details"]
    first = session.local_explanation(0, {})  # the other rows keep TreeSHAP, and say nothing
    assert first.algorithm.startswith("TreeSHAP") and first.fallback is None
    assert later.base_value + sum(later.shap.values()) == pytest.approx(later.prediction, rel=1e-6)
    masker = shap.maskers.Independent(session.background, max_samples=len(session.background))
    own = shap.PermutationExplainer(
        lambda rows: session.adapter.predict(session.schema.decode(rows)), masker, seed=0
    )(session.encoded_X[[7]], max_evals=explainer.max_evals(fast=False), silent=True)
    ours = [later.shap[n] for n in c.X.columns]
    np.testing.assert_allclose(ours, np.asarray(own.values)[0, :, 1], rtol=1e-6, atol=1e-12)
    assert explainer.algorithm_kind == "tree"  # the other rows keep TreeSHAP


def _close_thresholds_table() -> tuple[pd.DataFrame, np.ndarray]:
    """Features within 1e-3 of 1.0: split thresholds this close make shap's interventional
    TreeSHAP miss some rows' outputs (float32 thresholds)."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 4)) * 1e-3 + 1.0, columns=list("abcd"))
    y = (X["a"].to_numpy() - 1) * 1000 + np.sin(X["b"].to_numpy() * 3000)
    return X, y + rng.normal(size=300) * 0.1


def test_a_row_of_the_global_views_that_does_not_add_up_moves_shap_on():
    """The global views' rows are checked as exact views are: a row that misses its output
    moves SHAP to its next algorithm and the pass starts again, so a row viewed after the
    global views (which reuses their values) adds up too."""
    xgboost = pytest.importorskip("xgboost")
    X, y = _close_thresholds_table()
    model = xgboost.XGBRegressor(n_estimators=50).fit(X, y)
    session = ExplanationSession(model, X, explainers=("shap",))
    session.local_explanation(0, {})
    assert session.shap_explainer.perturbation == "interventional"  # row 0 adds up
    found = session.global_explanation()
    assert "not additive" in session.shap_explainer.fallback
    assert found.algorithm == session.shap_explainer.algorithm
    totals = found.base_values[0] + found.values[:, :, 0].sum(axis=1)
    np.testing.assert_allclose(totals, model.predict(X.iloc[found.rows]), rtol=1e-5, atol=1e-4)
    explanation = session.local_explanation(194, {})
    total = explanation.base_value + sum(explanation.shap.values())
    assert total == pytest.approx(explanation.prediction, rel=1e-6, abs=1e-6)


@pytest.mark.parametrize("objective", ["reg:squarederror", "count:poisson"])
def test_a_first_row_that_adds_up_on_a_misread_background_is_not_explained_from_it(objective):
    """XGBoost's missing=0 makes every 0 a missing value, which shap's interventional
    TreeSHAP reads as a number: a first row without a 0 added up to its output, so the
    panel kept that algorithm, and its base value was the trees read wrongly over the
    background (0.32 off the model's mean output there) with every value shifted to match;
    a Poisson model's, 0.40 off its output at the trees' mean sum. The base value is checked
    too: the model's mean output over the background (through the link, at its mean sum)."""
    xgboost = pytest.importorskip("xgboost")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.integers(0, 4, size=(300, 3)).astype(float), columns=list("abc"))
    y = rng.poisson(np.exp(0.5 * X["a"] + 0.2 * X["b"])).astype(float)
    model = xgboost.XGBRegressor(objective=objective, n_estimators=20, max_depth=3, missing=0.0)
    model.fit(X, y)
    assert (X.iloc[0] != 0).all()
    session = ExplanationSession(model, X, explainers=("shap",))
    explanation = session.local_explanation(0, {})
    assert explanation.algorithm.startswith("TreeSHAP (path-dependent")
    assert "interventional TreeSHAP" in explanation.fallback
    assert "base value" in explanation.fallback
    own = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    expected = own.shap_values(X.iloc[[0]], check_additivity=False)[0]
    ours = np.array([explanation.shap[n] for n in X.columns])
    if objective == "count:poisson":  # the margin's values, each times exp's mean slope
        ours = ours / (ours.sum() / expected.sum())
    np.testing.assert_allclose(ours, expected, rtol=1e-5)
    assert explanation.base_value + sum(explanation.shap.values()) == pytest.approx(
        model.predict(X.iloc[[0]])[0], rel=1e-6
    )


def test_a_regressor_on_a_small_scale_is_held_to_the_relative_promise():
    """base + sum(values) within 1e-6 of the output, relative (to the output, or near zero
    to the outputs' spread): non-additive values of a regressor whose outputs are ~1e-4
    passed an absolute 1e-6 as exact."""
    from sklearn.ensemble import ExtraTreesRegressor

    X, y = _close_thresholds_table()
    model = ExtraTreesRegressor(30, random_state=1).fit(X, y * 1e-3)
    session = ExplanationSession(model, X, explainers=("shap",))
    for row in range(0, 40, 4):
        explanation = session.local_explanation(row, {})
        total = explanation.base_value + sum(explanation.shap.values())
        assert total == pytest.approx(explanation.prediction, rel=1e-6)
    assert "not additive" in explanation.fallback


def test_hist_gradient_boosting_starts_with_path_dependent_treeshap_and_says_why():
    """shap's interventional TreeSHAP misses HistGradientBoosting's output, so the session
    does not build it first. If a shap release fixes it, the first assert fails: then
    interventional (the background's SHAP) should come back for these models."""
    from sklearn.datasets import make_regression
    from sklearn.ensemble import HistGradientBoostingRegressor

    X, y = make_regression(600, 8, random_state=0)
    model = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(X, y)
    own = shap.TreeExplainer(model, data=X[:100], feature_perturbation="interventional")
    values = own.shap_values(X[:20], check_additivity=False)
    assert np.max(np.abs(own.expected_value + values.sum(axis=1) - model.predict(X[:20]))) > 1e-3
    session = ExplanationSession(model, X, explainers=("shap",))
    explanation = session.local_explanation(0, {})
    assert explanation.algorithm == "TreeSHAP (path-dependent, the model's prediction)"
    assert "interventional TreeSHAP is not additive for HistGradientBoostingRegressor" in (
        explanation.fallback
    )
    assert explanation.base_value + sum(explanation.shap.values()) == pytest.approx(
        explanation.prediction, rel=1e-6
    )


def test_trees_too_big_for_interventional_treeshap_get_path_dependent_and_say_why():
    """shap 0.51's interventional TreeSHAP numbers a tree's nodes with 16-bit integers: on
    a tree of more than 32,767 nodes (a fully grown forest on ~20,000 rows or more) it
    crashed the process, and the kernel with it. Such trees get path-dependent TreeSHAP,
    and the panel says why."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(20_000, 3)), columns=list("abc"))
    model = DecisionTreeRegressor(random_state=0).fit(X, X["a"] + rng.normal(size=len(X)))
    assert model.tree_.node_count > 32_767
    session = ExplanationSession(model, X, explainers=("shap",))
    # Checked before any row is explained: there the process ended.
    assert session.shap_explainer.perturbation == "tree_path_dependent"
    explanation = session.local_explanation(0, {})
    assert "32,767" in explanation.fallback
    assert explanation.base_value + sum(explanation.shap.values()) == pytest.approx(
        explanation.prediction, rel=1e-6
    )


def test_small_model_calls_reuse_the_outputs_of_rows_already_asked_for():
    """A first view asks the model about its row and the background, and the additivity
    probe asks about the row again: each row goes to the model once; large batches are
    never remembered."""
    c = case("gbc_breast_cancer")
    session = ExplanationSession(c.model, c.X, explainers=("shap",))
    context = session.context
    rows = session.encoded_X[:40]
    before = context.calls[0]
    first = context.model_output(rows[:30])
    again = context.model_output(rows[10:40])  # 20 known rows, 10 new: one call for the 10
    assert context.calls[0] == before + 2
    np.testing.assert_array_equal(again[:20], first[10:30])
    np.testing.assert_array_equal(again, c.model.predict_proba(session.schema.decode(rows[10:40])))
    context.model_output(rows[:40])
    assert context.calls[0] == before + 2  # every row known: no call
    many = session.encoded_X[: REMEMBERED_CALL_ROWS + 1]
    context.model_output(many)
    context.model_output(many)
    assert context.calls[0] == before + 4


def categorical_table(rows: int = 1500):
    """A city (pandas categories) and two numbers; the label needs the city."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "city": pd.Categorical(rng.choice(["Rome", "Oslo", "Lima", "Kyiv"], rows)),
            "age": rng.integers(18, 80, rows).astype(float),
            "income": rng.normal(50, 15, rows),
        }
    )
    label = (X["city"].isin(["Rome", "Lima"]) ^ (X["age"] > 50)).astype(int)
    return X, label, label * 3 + X["income"] / 10


def test_a_regressor_on_its_own_categories_gets_shaps_own_path_dependent_values():
    """LightGBM splits on pandas categories itself: TreeSHAP explains the model's own
    DataFrame (not permutation SHAP on codes), exactly as shap does."""
    lightgbm = pytest.importorskip("lightgbm")
    X, _, target = categorical_table()
    model = lightgbm.LGBMRegressor(n_estimators=40, random_state=0, verbose=-1).fit(X, target)
    session = ExplanationSession(model, X, explainers=("shap",))
    explanation = session.local_explanation(3, {})
    assert explanation.algorithm == "TreeSHAP (path-dependent, the model's prediction)"
    assert "interventional TreeSHAP cannot read categories (city)" in explanation.fallback
    own = shap.TreeExplainer(model)
    expected = own.shap_values(X.iloc[[3]], check_additivity=False)[0]
    np.testing.assert_allclose([explanation.shap[n] for n in X.columns], expected, rtol=1e-9)
    assert explanation.base_value == pytest.approx(float(own.expected_value), rel=1e-9)
    assert explanation.base_value + sum(explanation.shap.values()) == pytest.approx(
        model.predict(X.iloc[[3]])[0], rel=1e-6
    )
    # The export explains a grid point once per interval between the trees' thresholds; the
    # model's own category splits are not thresholds on our codes, so every category is its
    # own interval. Each exact grid point holds shap's own values for the row with that value.
    data = export_data(session, rows=[3])
    grids = data["grids"]
    found = grid_shap(grids)
    exact = grids["shap_exact_features"][0]
    assert list(X.columns).index("city") in exact
    for j in exact:
        name = X.columns[j]
        for k, value in enumerate(grids["values"][j]):
            row = X.iloc[[3]].copy()
            row[name] = pd.Series([value], index=row.index, dtype=X[name].dtype)
            expected = own.shap_values(row, check_additivity=False)[0]
            at = grid_point(grids, 0, j, k)
            np.testing.assert_allclose(found[at], expected, atol=2e-4 * np.abs(found).max())


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_export_grids_of_a_number_the_model_splits_as_categories_are_shaps_own(library):
    """LightGBM's categorical_feature and XGBoost's feature_types "c" make the model split
    on a column of numbers as categories: shap stores those splits as category sets, not
    thresholds, and the export read them as thresholds, so every grid value of the column
    past the row's own took the row's SHAP values (cities 4 to 11 all explained as city 3)."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"city": rng.integers(0, 12, 600).astype(float), "age": rng.normal(size=600)})
    y = rng.permutation(12).astype(float)[X["city"].astype(int)] + X["age"]
    if library == "lightgbm":
        model = pytest.importorskip("lightgbm").LGBMRegressor(
            n_estimators=10, min_data_per_group=5, max_cat_to_onehot=1, verbose=-1
        )
        model.fit(X, y, categorical_feature=["city"])
    else:
        model = pytest.importorskip("xgboost").XGBRegressor(
            n_estimators=10, max_depth=3, enable_categorical=True, feature_types=["c", "q"]
        )
        model.fit(X, y)
    session = ExplanationSession(model, X, explainers=("shap",))
    assert session.local_explanation(3, {}).algorithm.startswith("TreeSHAP (path-dependent")
    own = shap.TreeExplainer(model)
    grids = export_data(session, rows=[3])["grids"]
    found = grid_shap(grids)
    assert 0 in grids["shap_exact_features"][0]
    assert len(grids["values"][0]) > 6
    for k, value in enumerate(grids["values"][0]):
        row = X.iloc[[3]].assign(city=float(value))
        expected = own.shap_values(row, check_additivity=False)[0]
        at = grid_point(grids, 0, 0, k)
        np.testing.assert_allclose(found[at], expected, atol=2e-4 * np.abs(found).max())


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_a_classifier_on_its_own_categories_is_explained_in_probability(library):
    """shap's only TreeSHAP for category splits is path-dependent on the log-odds: shown in
    probability through the logistic link (the base value is the probability at the mean
    log-odds), every feature keeps its share of the log-odds change and its sign."""
    X, label, _ = categorical_table()
    if library == "lightgbm":
        model = pytest.importorskip("lightgbm").LGBMClassifier(
            n_estimators=40, random_state=0, verbose=-1
        )
    else:
        model = pytest.importorskip("xgboost").XGBClassifier(
            n_estimators=40, max_depth=3, enable_categorical=True, tree_method="hist"
        )
    model.fit(X, label)
    session = ExplanationSession(model, X, explainers=("shap",))
    own = shap.TreeExplainer(model)
    for row in (0, 5):
        explanation = session.local_explanation(row, {}, 1)
        assert explanation.algorithm == (
            "TreeSHAP (path-dependent on the log-odds, in probability through the link)"
        )
        assert "cannot read categories (city)" in explanation.fallback
        margins = np.asarray(own.shap_values(X.iloc[[row]], check_additivity=False)).reshape(-1)
        ours = np.array([explanation.shap[n] for n in X.columns])
        share = ours / margins  # one positive factor: each feature's share and sign kept
        np.testing.assert_allclose(share, share[0], rtol=1e-5)
        assert 0 < share[0] <= 0.25
        assert explanation.prediction == pytest.approx(model.predict_proba(X.iloc[[row]])[0, 1])
        assert explanation.base_value + ours.sum() == pytest.approx(explanation.prediction)
        assert abs(explanation.shap["city"]) > 0.01  # the label needs the city


def test_a_boosted_classifier_without_interventional_treeshap_keeps_every_sign():
    """HistGradientBoostingClassifier (interventional TreeSHAP not additive in shap): on an
    imbalanced problem many rows move their log-odds and their mean probability in opposite
    directions, where values rescaled to the mean probability flipped every sign and blew up
    near a zero log-odds change. Through the link, every sign is the log-odds' and no value
    exceeds a quarter of its log-odds value."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, y = make_classification(400, 5, n_informative=3, weights=[0.85], flip_y=0.05, random_state=4)
    X = pd.DataFrame(X, columns=list("abcde"))
    model = HistGradientBoostingClassifier(max_iter=50, random_state=0).fit(X, y)
    session = ExplanationSession(model, X, explainers=("shap",))
    own = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    margins = np.asarray(own.shap_values(X, check_additivity=False))
    change = (
        model.predict_proba(X)[:, 1]
        - model.predict_proba(session.schema.decode(session.background))[:, 1].mean()
    )
    opposite = np.flatnonzero(np.sign(margins.sum(axis=1)) != np.sign(change))
    smallest = np.argsort(np.abs(margins.sum(axis=1)))[:2]
    assert len(opposite) >= 2  # the case that flipped every sign
    for row in [*opposite[:2], *smallest]:
        explanation = session.local_explanation(int(row), {}, 1)
        assert explanation.algorithm.startswith("TreeSHAP (path-dependent on the log-odds")
        assert "interventional TreeSHAP is not additive" in explanation.fallback
        ours = np.array([explanation.shap[n] for n in X.columns])
        assert np.all(np.sign(ours) == np.sign(margins[row]))
        assert np.all(np.abs(ours) <= 0.25 * np.abs(margins[row]) + 1e-12)
        assert explanation.base_value + ours.sum() == pytest.approx(explanation.prediction)


def count_table(rows: int = 400) -> tuple[pd.DataFrame, np.ndarray]:
    """Two numbers and a Poisson count whose log is linear in them."""
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    return X, rng.poisson(np.exp(0.5 * X["a"] + 0.3 * X["b"])).astype(float)


def log_link_model(library: str, X: pd.DataFrame, counts: np.ndarray) -> object:
    if library == "xgboost":
        xgboost = pytest.importorskip("xgboost")
        return xgboost.XGBRegressor(objective="count:poisson", n_estimators=30, max_depth=3).fit(
            X, counts
        )
    if library == "lightgbm":
        lightgbm = pytest.importorskip("lightgbm")
        return lightgbm.LGBMRegressor(objective="tweedie", n_estimators=30, verbose=-1).fit(
            X, counts
        )
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(loss="poisson", max_iter=30, random_state=0).fit(X, counts)


@pytest.mark.parametrize("library", ["xgboost", "lightgbm", "sklearn"])
def test_a_log_link_regressor_gets_treeshap_of_its_margin_in_its_own_units(library):
    """XGBoost count:poisson, LightGBM tweedie, HistGradientBoosting's poisson loss predict
    exp of their trees' sum: TreeSHAP of that sum (shap's own values, exactly), shown in
    counts through the exp link as a boosted classifier's log-odds are shown in probability
    (they fell back to permutation SHAP, named "raw output", with a reason blaming TreeSHAP)."""
    X, counts = count_table()
    model = log_link_model(library, X, counts)
    session = ExplanationSession(model, X, explainers=("shap",))
    # HistGradientBoosting starts path-dependent (its interventional TreeSHAP misses in shap).
    kind = "path-dependent" if library == "sklearn" else "interventional"
    own = shap.TreeExplainer(
        model,
        data=session.background if kind == "interventional" else None,
        feature_perturbation="interventional"
        if kind == "interventional"
        else "tree_path_dependent",
        model_output="raw",
    )
    for row in (0, 3, 11):
        explanation = session.local_explanation(row, {})
        assert explanation.algorithm == (
            f"TreeSHAP ({kind} on the log of the prediction, in the model's units through "
            "the exp link)"
        )
        if library != "sklearn":
            assert explanation.fallback is None
        assert explanation.prediction == pytest.approx(model.predict(X.iloc[[row]])[0], rel=1e-6)
        ours = np.array([explanation.shap[n] for n in X.columns])
        assert explanation.base_value + ours.sum() == pytest.approx(
            explanation.prediction, rel=1e-6
        )
        # Before the link: shap's own values of the margin, exactly.
        margins = np.asarray(
            own.shap_values(session.encoded_X[row : row + 1], check_additivity=False), dtype=float
        ).reshape(-1)
        base = float(np.asarray(own.expected_value).reshape(-1)[0])
        assert explanation.base_value == pytest.approx(np.exp(base), rel=1e-12)
        # One factor for every feature (each keeps its share of the margin's change): exp's
        # mean slope from the base to the prediction.
        change = margins.sum()
        slope = (explanation.prediction - explanation.base_value) / change
        np.testing.assert_allclose(ours / slope, margins, rtol=1e-9)
        assert slope == pytest.approx((np.exp(base + change) - np.exp(base)) / change, rel=1e-5)


def test_a_large_count_adds_up_to_xgboosts_own_float32_prediction():
    """XGBoost adds its trees in float32: through the exp link a count near 8,000 missed
    TreeSHAP's exp(margin) by 6e-6 of it, over the API's 1e-6, and the model fell back to
    permutation SHAP. The values explain the model's own prediction, each feature keeping
    its share of the margin's change."""
    xgboost = pytest.importorskip("xgboost")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(500, 3)), columns=list("abc"))
    counts = rng.poisson(np.exp(9 + 0.8 * X["a"] + 0.3 * X["b"])).astype(float)
    model = xgboost.XGBRegressor(objective="count:poisson", n_estimators=200, max_depth=4)
    model.fit(X, counts)
    session = ExplanationSession(model, X, explainers=("shap",))
    for row in range(0, 500, 25):
        explanation = session.local_explanation(row, {})
        assert explanation.algorithm.startswith("TreeSHAP (interventional on the log")
        total = explanation.base_value + sum(explanation.shap.values())
        assert total == pytest.approx(explanation.prediction, rel=1e-6)
    assert session.shap_explainer.fallback is None


def test_a_transform_with_no_known_link_is_named_as_the_reason_not_treeshap():
    """LightGBM's reg_sqrt predicts the square of its trees' sum: TreeSHAP adds up to that
    sum, so the reason for the permutation explainer is the transform, not TreeSHAP."""
    lightgbm = pytest.importorskip("lightgbm")
    X, counts = count_table()
    model = lightgbm.LGBMRegressor(reg_sqrt=True, n_estimators=30, verbose=-1).fit(X, counts)
    session = ExplanationSession(model, X, explainers=("shap",))
    explanation = session.local_explanation(3, {})
    assert explanation.algorithm.startswith("Permutation SHAP")
    assert explanation.algorithm.endswith(", the model's prediction)")
    assert explanation.fallback == (
        "TreeSHAP adds up to the sum of the model's trees, and the model's prediction is a "
        "transform of that sum (objective 'regression') with no link known here"
    )
    assert explanation.base_value + sum(explanation.shap.values()) == pytest.approx(
        explanation.prediction, rel=1e-6
    )


@pytest.mark.parametrize("library", ["lightgbm", "xgboost"])
def test_text_where_the_model_split_on_categories_is_named_with_the_fix(library):
    X, label, _ = categorical_table(400)
    if library == "lightgbm":
        model = pytest.importorskip("lightgbm").LGBMClassifier(n_estimators=5, verbose=-1)
    else:
        model = pytest.importorskip("xgboost").XGBClassifier(
            n_estimators=5, enable_categorical=True
        )
    model.fit(X, label)
    texts = X.assign(city=X["city"].astype(str))
    with pytest.raises(ValueError) as error:
        ExplanationSession(model, texts, explainers=("shap",))
    assert "The model splits on ['city'] as pandas categories, but X holds them as" in str(
        error.value
    )
    assert "X['city'] = X['city'].astype(X_train['city'].dtype)" in str(error.value)


def test_a_multiclass_model_on_its_own_categories_adds_up_for_every_class():
    lightgbm = pytest.importorskip("lightgbm")
    X, _, _ = categorical_table(900)
    label = (X["city"].cat.codes.to_numpy() + (X["age"] > 50).to_numpy()) % 3
    model = lightgbm.LGBMClassifier(n_estimators=20, random_state=0, verbose=-1).fit(X, label)
    session = ExplanationSession(model, X, explainers=("shap",))
    probabilities = model.predict_proba(X.iloc[[4]])[0]
    values, _ = shaps_own(session, session.encoded_X[[4]])
    for k in range(3):
        explanation = session.local_explanation(4, {}, k)
        assert explanation.algorithm.startswith("Permutation SHAP")
        assert explanation.prediction == pytest.approx(probabilities[k])
        ours = np.array([explanation.shap[n] for n in X.columns])
        assert explanation.base_value + ours.sum() == pytest.approx(probabilities[k], rel=1e-6)
        np.testing.assert_allclose(ours, values[0, :, k], rtol=1e-9, atol=1e-12)


def test_a_tree_model_shap_cannot_read_with_categories_falls_back_to_permutation():
    """scikit-learn's HistGradientBoosting splits on categories too, but shap cannot build
    its trees then: permutation SHAP takes over, and the reason is named."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    X, label, _ = categorical_table(600)
    model = HistGradientBoostingClassifier(
        max_iter=20, categorical_features="from_dtype", random_state=0
    ).fit(X, label)
    session = ExplanationSession(model, X, explainers=("shap",))
    explanation = session.local_explanation(0, {}, 1)
    assert explanation.algorithm.startswith("Permutation SHAP")
    assert "path-dependent TreeSHAP" in explanation.fallback
    assert explanation.base_value + sum(explanation.shap.values()) == pytest.approx(
        explanation.prediction, rel=1e-6
    )


def test_a_row_the_global_views_repaired_says_so_in_its_own_view():
    """The quickstart's row 169 is the one interventional TreeSHAP misses (by 0.005): found
    first by the global views, whose values its view then reuses, it still says that
    permutation SHAP explained it, and the other rows stay TreeSHAP."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer(as_frame=True)
    X_train, X_test, y_train, _ = train_test_split(
        data.data, data.target, test_size=0.3, random_state=0
    )
    model = GradientBoostingClassifier(random_state=0).fit(X_train, y_train)
    session = ExplanationSession(model, X_test, explainers=("shap",))
    session.local_explanation(0, {})
    found = session.global_explanation()
    totals = found.base_values[1] + found.values[:, :, 1].sum(axis=1)
    np.testing.assert_allclose(totals, model.predict_proba(X_test)[:, 1], atol=1e-6)
    repaired = session.local_explanation(169, {})
    assert repaired.algorithm.startswith("Permutation SHAP for this row")
    assert "misses this row's output" in repaired.fallback
    assert session.local_explanation(3, {}).algorithm.startswith("TreeSHAP (interventional")
    session.close()
