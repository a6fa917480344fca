"""SHAP values in the original feature space, with the algorithm chosen for the model.

Tree ensembles get TreeSHAP, linear regressors the linear explainer, everything else
(Pipelines, callables, other models) permutation SHAP (shap's algorithm; permutation.py)
over the encoded original columns with a sampled background. Classifiers are explained in
probability space. Every algorithm here is additive: base_value + sum(values) == model
output, and the first rows explained are checked for it; when a fast algorithm fails that
check (or cannot be built), the next one runs and ``fallback`` says why. TreeSHAP explains
the trees' sum (the margin); where the model's output is a link's inverse of it (a boosted
classifier's sigmoid where shap has no probability output, a Poisson regressor's exp), the
values are shown through that link (``_through_link``).
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shap

from ..boosters import (
    BoosterRegressor,
    Link,
    averaged_trees,
    margin,
    margin_link,
    no_treeshap,
    objective,
    tree_model,
    trees_past_best,
)
from ..jobs import Cancelled
from .base import Attribution, Explainer, Quality, register
from .permutation import permutation_shap
from .table import TableContext

# Tolerance of the additivity check that decides whether a fast algorithm may be used for
# this model (``excess_gap``): what the API promises for the exact algorithms.
_ADDITIVITY_TOLERANCE = 1e-6
# Model rows one permutation SHAP explanation may cost (each evaluation runs the model on
# every background row): wide data gets fewer permutations and a smaller background, and
# the cells bound them too (the model's time grows with both).
MODEL_ROWS_PER_EXPLANATION = 100_000
MODEL_CELLS_PER_EXPLANATION = 40_000_000
MIN_PERMUTATION_BACKGROUND = 20
# A drag's view should not wait longer than this for SHAP; slower forests are explained on
# a share of their trees while dragging (the exact values follow on release).
LIVE_SECONDS = 0.08
_FORESTS = {
    "RandomForestRegressor",
    "RandomForestClassifier",
    "ExtraTreesRegressor",
    "ExtraTreesClassifier",
}
# Forests average leaf class shares, so their raw output already is a probability.
_AVERAGED_PROBABILITIES = {
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "DecisionTreeClassifier",
}
# How far the trees' sum as the model computes it may stray from TreeSHAP's, relative to
# the terms added up, and still be read as the same sum: XGBoost adds its trees in float32
# (global_data's FLOAT32_ADDITIVITY), which through the exp link missed a count near 8,000
# by 6e-6 of it, more than the 1e-6 the API allows.
_MARGIN_ROUNDING = 1e-4
# Models whose interventional TreeSHAP (shap 0.51) misses their output: building it and
# finding so cost the first view two explainers. tests/test_explainers.py checks that it
# still misses, so that a shap that fixes it is noticed.
_INTERVENTIONAL_NOT_ADDITIVE = {
    "HistGradientBoostingClassifier",
    "HistGradientBoostingRegressor",
}

# shap's interventional TreeSHAP (0.51, tree_shap_indep) holds node numbers in C shorts: a
# tree with more nodes (a fully grown forest on ~20,000 rows or more) ended the process.
_INTERVENTIONAL_MOST_NODES = 32_767


@dataclass(frozen=True)
class ShapValues:
    """SHAP values of some rows: ``values[row, feature, output]`` and ``base_values[output]``."""

    values: np.ndarray
    base_values: np.ndarray
    # Rows the fast algorithm missed, explained by permutation SHAP: position -> the note.
    repaired: dict[int, str] = field(default_factory=dict)

    def row(self, i: int) -> ShapValues:
        """Row ``i`` alone."""
        return ShapValues(self.values[i : i + 1], self.base_values)


@register
class ShapExplainer(Explainer):
    """Chooses and runs the SHAP algorithm for a model; see the module docstring."""

    name = "shap"
    title = "SHAP"
    view = "force"
    order = 0

    def __init__(self, context: TableContext) -> None:
        self.context = context
        self.adapter, self.schema = context.adapter, context.schema
        self.background = context.background
        self.random_state = context.random_state
        self.masker = shap.maskers.Independent(self.background, max_samples=len(self.background))
        self._tree: shap.TreeExplainer | None = None
        self._linear: shap.LinearExplainer | None = None
        self.perturbation = "interventional"
        self.linked = False  # TreeSHAP of the margin shown through ``link``
        self.tree_output = "raw"  # shap's model_output of the TreeSHAP that runs
        self.seconds_per_row: float | None = None  # measured on the first rows explained
        self._spread: np.ndarray | None = None  # of the model's outputs over the background
        self._background_outputs: np.ndarray | None = None
        self._fast_tree: shap.TreeExplainer | None = None
        self._fast_trees = 0
        self._fast_lock = threading.Lock()  # the forest share is built once, by one thread
        self.algorithm_kind = "permutation"
        self._reasons: list[str] = []
        self._verified = False
        self._verify_lock = threading.Lock()
        # Fast algorithms in order of preference; each is checked for additivity on the
        # first rows it explains, and the next one takes over when it fails.
        self._plan: list[tuple[str, Callable[[], None]]] = []
        family = self.adapter.family
        categories = [f.name for f in self.schema.features if f.kind == "categorical"]
        # Whether shap reads rows as the model's own DataFrame (categories and all) rather
        # than as encoded numbers.
        self.frames = False
        kind = type(tree_model(self.adapter.model)).__name__ if family == "tree" else ""
        # TreeSHAP explains the sum of a LightGBM random forest's trees, which it predicts
        # from the mean of: the values and base are divided by this.
        self.averaged = averaged_trees(self.adapter.model) if family == "tree" else 1
        # Path-dependent TreeSHAP explains a boosted classifier's margin (log-odds). A binary
        # one's is shown in probability through the logistic link (``_through_link``); no
        # such map is faithful for a softmax (one class's probability can fall while its
        # margin rises), so a multiclass one gets the permutation explainer where
        # interventional TreeSHAP cannot run.
        on_margin = self.adapter.is_classifier and kind not in _AVERAGED_PROBABILITIES
        path_dependent = not on_margin or len(self.adapter.output_names) == 2
        # A regressor whose prediction is exp (or the sigmoid) of its trees' sum, read from
        # its own objective: TreeSHAP of that sum, shown through the link.
        regressor_link = (
            margin_link(self.adapter.model)
            if family == "tree" and not self.adapter.is_classifier
            else None
        )
        self.link: Link | None = "logit" if on_margin else regressor_link
        # A later row that misses moves the others on to the next algorithm, except where
        # that one has another base value (the link's): there only that row is repaired.
        self._later_rows_move_on = self.link is None
        # Said when the plan runs out (so in the order things were tried).
        self._not_in_plan = (
            "path-dependent TreeSHAP explains a multiclass model's margins, and no map of "
            "those to one class's probability keeps their signs"
            if family == "tree" and not path_dependent
            else None
        )
        if family == "tree" and (refused := no_treeshap(self.adapter.model)):
            self._reasons.append(refused)  # the only reason: no TreeSHAP is tried
            self._not_in_plan = None
        elif family == "tree" and categories:
            # A model that splits on categories itself (LightGBM's pandas categories,
            # XGBoost's enable_categorical) is explained by its own contributions, which
            # shap computes only path-dependently; the additivity check keeps out the rest.
            self._reasons.append(
                "interventional TreeSHAP cannot read categories "
                f"({', '.join(categories[:3])}{'…' if len(categories) > 3 else ''})"
            )
            if path_dependent:
                self._plan = [("path-dependent TreeSHAP", self._init_category_tree)]
        elif family == "tree":
            # Interventional first (it uses the background); shap's path-dependent variant
            # where interventional is not additive (seen for random-forest regressors).
            self._plan = [("interventional TreeSHAP", lambda: self._init_tree("interventional"))]
            if path_dependent:
                self._plan.append(
                    ("path-dependent TreeSHAP", lambda: self._init_tree("tree_path_dependent"))
                )
            if kind in _INTERVENTIONAL_NOT_ADDITIVE:
                del self._plan[0]
                self._reasons.append(
                    f"interventional TreeSHAP is not additive for {kind} in shap "
                    f"{shap.__version__} (base value + sum of values misses the model's output)"
                )
        elif family == "linear":
            self._plan = [("linear SHAP", self._init_linear)]
        self._next_algorithm()

    def __getstate__(self) -> dict[str, Any]:
        """What travels to a Dask worker: no lock, no unbuilt plan (closures over self)."""
        state = self.__dict__.copy()
        state["_verify_lock"] = None
        state["_fast_lock"] = None
        state["_plan"] = []
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._verify_lock = threading.Lock()
        self._fast_lock = threading.Lock()

    # -- the seam ------------------------------------------------------------------
    @property
    def space(self) -> str:
        """The output the values add up to, as the labels name it: never "raw output", which
        XGBoost, LightGBM and shap use for the margin (the trees' sum)."""
        return "probability" if self.adapter.is_classifier else "the model's prediction"

    @property
    def algorithm(self) -> str:
        """Human-readable name of the algorithm, shown in the widget."""
        space = self.space
        kind = "interventional" if self.perturbation == "interventional" else "path-dependent"
        if self.algorithm_kind == "tree" and self.linked and self.adapter.is_classifier:
            return f"TreeSHAP ({kind} on the log-odds, in probability through the link)"
        if self.algorithm_kind == "tree" and self.linked:
            margin_space, link = ("log", "exp") if self.link == "log" else ("log-odds", "logistic")
            return (
                f"TreeSHAP ({kind} on the {margin_space} of the prediction, in the model's "
                f"units through the {link} link)"
            )
        if self.algorithm_kind == "tree" and self.tree_output == "probability":
            # shap's probability output rescales each background row's log-odds values to
            # that row's change in probability: additive to P, but not the Shapley values of
            # P that the permutation explainer estimates (shap issue #963).
            return f"TreeSHAP ({kind}, probability: shap's rescaling of the log-odds values)"
        if self.algorithm_kind == "tree":
            return f"TreeSHAP ({kind}, {space})"
        if self.algorithm_kind == "linear":
            return "Linear SHAP (interventional)"
        rows = len(self.permutation_background)
        passes = self.max_evals(fast=False) // (2 * len(self.schema) + 1)
        budget = (
            ""
            if passes == 10
            else f", {passes} permutation{'s' if passes > 1 else ''} of {len(self.schema):,} "
            f"features within {self.model_rows:,} model rows"
        )
        return f"Permutation SHAP (model-agnostic, {rows}-row background{budget}, {space})"

    description = algorithm

    @property
    def fallback(self) -> str | None:
        """Why a faster algorithm did not run, or None (a row explained by permutation SHAP
        alone says so in its own attribution)."""
        return "; ".join(self._reasons) or None

    @property
    def repair_algorithm(self) -> str:
        """The name of what explains a row the fast algorithm missed."""
        return (
            f"Permutation SHAP for this row (model-agnostic, {len(self.background)}-row "
            f"background, {self.space})"
        )

    @property
    def has_fast(self) -> bool:
        """A cheaper estimate for drags: fewer permutations, or a forest too slow to explain
        live explained on a share of its trees; the other algorithms are fast and exact."""
        if self.algorithm_kind == "permutation":
            return True
        return self.algorithm_kind == "tree" and self._subforest() is not None

    @property
    def approximate(self) -> bool:
        """Whether exact values need many model calls (the permutation algorithm)."""
        return self.algorithm_kind == "permutation"

    def explain(
        self, instances: np.ndarray, outputs: Sequence[int], *, fast: bool = False
    ) -> list[dict[int, Attribution]]:
        """Per encoded row, the attribution of each requested output (one call for all)."""
        result = self.values(instances, fast=fast)
        quality: Quality = "fast" if fast and self.has_fast else "exact"
        return [
            {
                k: Attribution(
                    values=result.values[i, :, k],
                    base=float(result.base_values[k]),
                    quality=quality,
                )
                for k in outputs
            }
            for i in range(len(result.values))
        ]

    # -- batches --------------------------------------------------------------------
    def settle(self, encoded: np.ndarray) -> None:
        """Decide the algorithm on these rows unless rows explained before decided it: work
        that must run the algorithm the panel shows (global_data's parts) asks first."""
        if not self._verified:
            self.values(encoded)

    def values(self, encoded: np.ndarray, *, fast: bool = False) -> ShapValues:
        """SHAP values of a batch of encoded rows (n, features); all outputs at once."""
        encoded = np.atleast_2d(encoded)
        if not self._verified and self.algorithm_kind == "permutation":
            self._verified = True  # additive by construction: nothing to check
        if not self._verified:
            # The first rows asked for decide the algorithm (every exact view is checked
            # again by the session, so a row that only happens to add up is caught later).
            probe = encoded
            with self._verify_lock:
                while not self._verified:
                    started = time.perf_counter()
                    try:
                        result = self._values(probe, fast=False)
                    except Cancelled:
                        raise
                    except Exception as exc:
                        if self.algorithm_kind == "permutation":
                            raise  # the model's own error: no algorithm is left to try
                        # Built but unable to read the rows (shap builds scikit-learn's
                        # HistGradientBoosting with categories, then cannot cast them).
                        self._reasons.append(
                            f"{self._label()} failed on the first rows "
                            f"({type(exc).__name__}: {exc})"
                        )
                        self._next_algorithm()
                        continue
                    self.seconds_per_row = (time.perf_counter() - started) / len(probe)
                    if self._additive(probe, result):
                        self._verified = True
                        return ShapValues(result.values[: len(encoded)], result.base_values)
        if fast and self.algorithm_kind == "tree" and self._subforest() is not None:
            return self._explain_subforest(encoded)
        return self._values(encoded, fast=fast)

    def reject(self, error: float) -> bool:
        """A row explained later did not add up (base + sum missed the model's output by
        ``error``): the next fast algorithm takes over, and says why. False when there is
        none left, or when it would explain the rows from another base value (a boosted
        classifier's link): then ``repair`` replaces the rows that miss (permutation SHAP
        adds up by construction, but one such row should not make every row cost that much)."""
        with self._verify_lock:
            if self.algorithm_kind == "permutation" or not self._plan:
                return False
            if not self._later_rows_move_on:
                return False
            self._not_additive(error, " on a row")
            self._verified = False
            self._fast_tree = None
            return True

    def split_points(self) -> dict[int, np.ndarray | None] | None:
        """For TreeSHAP, every threshold the trees test per feature (sorted), None for a
        feature whose values are each their own interval; None for the other algorithms.
        Two rows that differ only in feature j, with no threshold of j between their
        values, get identical SHAP values: sweeps need each interval once."""
        if self.algorithm_kind != "tree" or self._tree is None:
            return None
        trees = self._tree.model
        # A model's own category splits are not thresholds on our codes: there, a cut
        # between every two codes (and before a missing value) keeps each category apart.
        categories = (
            {j: len(f.categories) for j, f in enumerate(self.schema.features) if f.is_discrete}
            if self.frames
            else {}
        )
        # A column of numbers the model splits as categories (LightGBM's categorical_feature,
        # XGBoost's feature_types "c"): shap stores a category set where the threshold is,
        # so its "thresholds" say nothing of which values share their SHAP values.
        indices = getattr(trees, "cat_feature_indices", None)
        as_categories = {int(j) for j in (() if indices is None else indices)}
        found: dict[int, set[float]] = {}
        for features, thresholds, types in zip(
            trees.features, trees.thresholds, trees.threshold_types
        ):
            for j, t, kind in zip(features, thresholds, types):
                if j >= 0 and int(j) not in categories:
                    found.setdefault(int(j), set()).add(float(t))
                    if kind == 1:
                        as_categories.add(int(j))
        cuts: dict[int, np.ndarray | None] = {j: np.array(sorted(ts)) for j, ts in found.items()}
        cuts.update({j: np.arange(k) + 0.5 for j, k in categories.items()})
        for j in as_categories - set(categories):
            cuts[j] = None  # every value its own interval
        return cuts

    def max_evals(self, *, fast: bool) -> int:
        """Evaluations of the permutation explainer: 10 permutations (2 when fast), fewer
        when each costs more than the budget of model rows (wide data); at least one, which
        shap needs (2 * features + 1 evaluations)."""
        one_pass = 2 * len(self.schema) + 1
        affordable = self.model_rows // (one_pass * len(self.permutation_background))
        return one_pass * max(1, min(2 if fast else 10, affordable))

    @property
    def model_rows(self) -> int:
        """Model rows one permutation explanation may cost, by rows and, on wide data, cells."""
        return min(MODEL_ROWS_PER_EXPLANATION, MODEL_CELLS_PER_EXPLANATION // len(self.schema))

    @property
    def permutation_background(self) -> np.ndarray:
        """The background of the permutation algorithm: the session's, or with wide data
        fewer rows, so that one permutation stays within the budget of model rows."""
        one_pass = 2 * len(self.schema) + 1
        rows = max(MIN_PERMUTATION_BACKGROUND, self.model_rows // one_pass)
        return self.background[: min(len(self.background), rows)]

    def model_output(self, encoded: np.ndarray) -> np.ndarray:
        """The model's outputs for encoded rows (the function every masker-based explainer calls)."""
        return self.context.model_output(encoded)

    # -- algorithms ---------------------------------------------------------
    def _next_algorithm(self) -> None:
        """Build the next fast algorithm of the plan, or settle on permutation SHAP."""
        self._tree = self._linear = None
        self.algorithm_kind = "permutation"
        self.frames = False
        while self._plan:
            label, init = self._plan.pop(0)
            try:
                init()
                return
            except Exception as exc:
                self._tree = self._linear = None
                self.algorithm_kind = "permutation"
                self._reasons.append(f"{label} could not be built ({type(exc).__name__}: {exc})")
        if self._not_in_plan:
            self._reasons.append(self._not_in_plan)
            self._not_in_plan = None

    def _additive(self, encoded: np.ndarray, result: ShapValues) -> bool:
        """Whether base + sum(values) is the model's output on these rows (the permutation
        algorithm is additive by construction); if not, move on to the next algorithm."""
        if self.algorithm_kind == "permutation":
            return True
        gap = self.excess_gap(result, self.model_output(encoded))
        if gap is None:
            base_gap = self._base_gap(result)
            if base_gap is None:
                return True
            mean = "output at the mean of its trees' sum" if self.linked else "mean output"
            self._reasons.append(
                f"{self._label()} misreads the background (its base value misses the model's "
                f"{mean} there by {base_gap:.3g})"
            )
            self._next_algorithm()
            return False
        transform = self._transformed(encoded, result)
        if transform is not None:
            # Every TreeSHAP misses the same way: none of the rest of the plan is tried.
            self._reasons.append(transform)
            self._plan.clear()
            self._next_algorithm()
            return False
        self._not_additive(gap)
        return False

    def _base_gap(self, result: ShapValues) -> float | None:
        """How far interventional TreeSHAP's base value misses the model's mean output over
        the background (through a regressor's link, its output at the trees' mean sum), when
        more than exact values may miss by; else None (and for the other algorithms, whose
        base is not that mean). Rows that add up can still be
        explained from a background shap reads otherwise than the model does (XGBoost's
        missing=0, a category split read as a threshold): the row's own trees are read
        right, and the base value and every value are shifted by the same error."""
        if self.algorithm_kind != "tree" or self.perturbation != "interventional":
            return None
        if self.linked:  # a regressor's: the link of the trees' mean sum over the background
            assert self._tree is not None and self.link is not None
            rows = self.adapter.model_input(self.schema.decode(self.background))
            try:
                trees = margin(self.adapter.model, rows)
            except Exception:  # a margin the library cannot give: no claim either way
                return None
            if trees is None:
                return None
            base_margin = float(self._tree_base()[0])
            mean_margin = float(trees.mean())
            # The model's library may add its trees in float32 (XGBoost): that much is rounding.
            rounding = _MARGIN_ROUNDING * (float(np.abs(trees).mean()) + 1e-12)
            if abs(base_margin - mean_margin) <= rounding:
                return None
            p0, p = _inverse_link(np.array([base_margin, mean_margin]), self.link)
            return abs(float(p0 - p))
        mean = self._background_output().mean(axis=0)
        base = ShapValues(np.zeros((1, 1, len(mean))), result.base_values)
        return self.excess_gap(base, mean[None, :])

    def _transformed(self, encoded: np.ndarray, result: ShapValues) -> str | None:
        """Why TreeSHAP missed the model's output when the cause is no fault of TreeSHAP:
        an early-stopped Booster predicts with trees shap leaves out; or a regressor's
        base + sum(values) is the trees' sum (the margin, as the model's library computes
        it), and the prediction a transform of it with no link known here; else None."""
        if self.algorithm_kind != "tree":
            return None
        past_best = trees_past_best(self.adapter.model)
        if past_best is not None:
            return past_best
        if self.linked or self.adapter.is_classifier:
            return None
        try:
            trees = margin(
                self.adapter.model, self.adapter.model_input(self.schema.decode(encoded))
            )
        except Exception:  # a margin the library cannot give: no claim either way
            return None
        if trees is None or trees.size != len(encoded):
            return None
        values, base = result.values[:, :, 0], result.base_values[0]
        terms = abs(base) + np.abs(values).sum(axis=1)
        if np.any(np.abs(base + values.sum(axis=1) - trees.reshape(-1)) > _MARGIN_ROUNDING * terms):
            return None
        name = objective(self.adapter.model)
        return (
            f"TreeSHAP adds up to the sum of the model's trees, and the model's prediction is "
            f"a transform of that sum (objective {name!r}) with no link known here"
        )

    def excess_gap(self, result: ShapValues, expected: np.ndarray) -> float | None:
        """How far base + sum(values) misses the model's ``expected`` outputs (rows,
        outputs), when that is more than the API allows (``allowed_gap``); None within it."""
        total = result.base_values[None, :] + result.values.sum(axis=1)
        gap = np.abs(total - expected)
        if np.all(gap <= self.allowed_gap(expected)):
            return None
        return float(np.max(gap))

    def allowed_gap(self, expected: np.ndarray) -> np.ndarray:
        """How far base + sum(values) may miss the model's ``expected`` outputs (rows,
        outputs) for exact values. The API's promise: within 1e-6 of a probability (a
        probability's range is 1; tighter, float32 models such as XGBoost failed on
        rounding), of a regressor's output relative to it, and where that output is near
        zero relative to the spread of its outputs over the background, or to 1 if that is
        smaller (a regressor on a 1e-4 scale had non-additive values pass as exact under
        1e-6 absolute)."""
        if self.adapter.is_classifier:
            scale = np.ones_like(expected)
        else:
            floor = np.minimum(1.0, self._output_spread())  # never looser than 1e-6 absolute
            scale = np.maximum(np.abs(expected), floor[None, :])
        return _ADDITIVITY_TOLERANCE * scale

    def repair(self, encoded: np.ndarray, result: ShapValues, expected: np.ndarray) -> ShapValues:
        """``result`` with the rows that miss the model's ``expected`` outputs explained by
        permutation SHAP over the same background (its base value is the same mean output),
        each with a note saying so (``repaired``)."""
        total = result.base_values[None, :] + result.values.sum(axis=1)
        gap = np.abs(total - expected).max(axis=1)
        bad = np.flatnonzero(
            [
                self.excess_gap(result.row(i), expected[i : i + 1]) is not None
                for i in range(len(gap))
            ]
        )
        if not len(bad):
            return result
        fixed, _ = permutation_shap(
            self.model_output,
            encoded[bad],
            self.background,
            self.max_evals(fast=False),
            self.random_state,
        )
        values = result.values.copy()
        values[bad] = fixed
        notes = {
            int(i): f"{self._label()} misses this row's output by {gap[i]:.3g}"
            + (f"; {self.fallback}" if self.fallback else "")
            for i in bad
        }
        return ShapValues(values, result.base_values, {**result.repaired, **notes})

    def _output_spread(self) -> np.ndarray:
        """The standard deviation of each model output over the background (cached)."""
        if self._spread is None:
            spread = self._background_output().std(axis=0)
            self._spread = np.maximum(spread, np.finfo(float).tiny)
        return self._spread

    def _background_output(self) -> np.ndarray:
        """The model's outputs over the background (one call, for the spread and the base)."""
        if self._background_outputs is None:
            self._background_outputs = self.model_output(self.background)
        return self._background_outputs

    def _label(self) -> str:
        """The current fast algorithm's name, in the reasons it was dropped."""
        kind = "interventional" if self.perturbation == "interventional" else "path-dependent"
        return "linear SHAP" if self.algorithm_kind == "linear" else f"{kind} TreeSHAP"

    def _not_additive(self, error: float, where: str = "") -> None:
        """Say why the current algorithm is dropped, and move on to the next one."""
        self._reasons.append(
            f"{self._label()} is not additive for this model (base value + sum of values "
            f"misses the model's output by up to {error:.3g}{where})"
        )
        self._next_algorithm()

    def _values(self, encoded: np.ndarray, *, fast: bool) -> ShapValues:
        if self.algorithm_kind == "tree":
            return self._explain_tree(encoded)
        if self.algorithm_kind == "linear":
            assert self._linear is not None
            values = np.asarray(self._linear.shap_values(encoded))[..., None]
            return ShapValues(
                values, np.atleast_1d(np.asarray(self._linear.expected_value, dtype=float))
            )
        return self._explain_permutation(encoded, fast=fast)

    def _init_tree(self, perturbation: str) -> None:
        model = tree_model(self.adapter.model)
        averaged = self.adapter.is_classifier and type(model).__name__ in _AVERAGED_PROBABILITIES
        output = "probability" if self.adapter.is_classifier and not averaged else "raw"
        # Path-dependent TreeSHAP has no probability output: the log-odds, then the link. A
        # regressor with a link is explained on its trees' sum (where TreeSHAP is exact),
        # then the link, either way; so is a binary random forest of LightGBM's, whose
        # probability shap would take of its trees' sum, not of their mean.
        averaged_binary = self.averaged > 1 and len(self.adapter.output_names) == 2
        self.linked = (
            (perturbation == "tree_path_dependent" or averaged_binary) and output == "probability"
        ) or (not self.adapter.is_classifier and self.link is not None)
        if self.linked:
            output = "raw"
        self.tree_output = output
        tree = shap.TreeExplainer(
            model,
            data=self.background if perturbation == "interventional" else None,
            model_output=output,
            feature_perturbation=perturbation,
        )
        nodes = tree.model.children_left.shape[1]  # of the largest tree
        if perturbation == "interventional" and nodes > _INTERVENTIONAL_MOST_NODES:
            raise ValueError(
                f"a tree of {nodes:,} nodes: shap's interventional algorithm numbers them "
                f"with 16-bit integers and crashes past {_INTERVENTIONAL_MOST_NODES:,}"
            )
        self._tree = tree
        self.perturbation = perturbation
        self.algorithm_kind = "tree"

    def _init_category_tree(self) -> None:
        self._init_tree("tree_path_dependent")
        self.frames = True

    def _init_linear(self) -> None:
        self._linear = shap.LinearExplainer(self.adapter.model, self.masker)
        self.algorithm_kind = "linear"

    def _explain_tree(self, encoded: np.ndarray) -> ShapValues:
        assert self._tree is not None
        rows = self.adapter.model_input(self.schema.decode(encoded)) if self.frames else encoded
        model = self.adapter.model
        if self.frames and isinstance(model, BoosterRegressor) and model.package == "xgboost":
            # shap makes a native Booster's DMatrix without enable_categorical, which
            # xgboost refuses for category columns (the wrapper's it makes with it).
            import xgboost

            rows = xgboost.DMatrix(rows, enable_categorical=True)
        # from_call: only silences shap's notice, on every LightGBM binary call, that its
        # output format changed in an old release.
        values = (
            np.asarray(
                self._tree.shap_values(rows, check_additivity=False, from_call=True), dtype=float
            )
            / self.averaged
        )
        base = self._tree_base()
        if values.ndim == 2:
            values = values[..., None]
        if self.linked:
            assert self.link is not None
            # A regressor's own prediction: XGBoost sums its trees in float32, a miss the
            # link magnifies. A classifier's log-odds need no second model call per view.
            own = None if self.adapter.is_classifier else self.model_output(encoded)[:, -1]
            values, base = _through_link(values[:, :, 0], base[0], self.link, own)
        n_outputs = len(self.adapter.output_names)
        if values.shape[2] == 1 and n_outputs == 2:
            # Binary classifiers explain P(positive); P(negative) is its mirror image.
            values = np.concatenate([-values, values], axis=2)
            base = np.array([1.0 - base[0], base[0]])
        return ShapValues(values, base)

    def _tree_base(self) -> np.ndarray:
        """TreeSHAP's base value per output, of the mean of the trees where the model
        averages them (``averaged``)."""
        assert self._tree is not None
        return np.atleast_1d(np.asarray(self._tree.expected_value, dtype=float)) / self.averaged

    def _subforest(self) -> shap.TreeExplainer | None:
        """For a random forest whose exact explanation of a row costs more than a drag can
        wait (``LIVE_SECONDS``): path-dependent TreeSHAP of a share of its trees, which is
        sized to fit (a forest averages its trees, so a share is an unbiased estimate)."""
        model = self.adapter.model
        cost = self.seconds_per_row
        if cost is None or cost <= LIVE_SECONDS or not hasattr(model, "estimators_"):
            return None
        if type(model).__name__ not in _FORESTS:
            return None
        with self._fast_lock:
            if self._fast_tree is None:
                self._build_subforest(model, cost)
        return self._fast_tree

    def prepare_live(self) -> None:
        """Build now what a drag will need (a slow forest's share of trees): built on the
        first drag instead, it took seconds while the panel's other work ran beside it."""
        self._subforest()

    def _build_subforest(self, model: Any, cost: float) -> None:
        trees = list(model.estimators_)
        keep = max(1, min(len(trees) - 1, int(len(trees) * LIVE_SECONDS / cost)))
        self._fast_tree = _path_dependent(model, trees[:keep])
        # Path-dependent TreeSHAP costs per tree what the interventional one did not (on
        # fully grown trees, about twice as much): the share is timed once and cut to fit.
        started = time.perf_counter()
        self._fast_tree.shap_values(self.background[:1], check_additivity=False)
        took = time.perf_counter() - started
        if took > LIVE_SECONDS and keep > 1:
            keep = max(1, int(keep * LIVE_SECONDS / took))
            self._fast_tree = _path_dependent(model, trees[:keep])
        self._fast_trees = keep

    def _explain_subforest(self, encoded: np.ndarray) -> ShapValues:
        """The share's SHAP values, their sum made the model's own change from the base value
        (the gap spread over the features in proportion to |value|)."""
        tree = self._fast_tree
        assert tree is not None
        values = np.asarray(tree.shap_values(encoded, check_additivity=False), dtype=float)
        if values.ndim == 2:
            values = values[..., None]
        assert self._tree is not None
        base = np.atleast_1d(np.asarray(self._tree.expected_value, dtype=float))
        outputs = self.model_output(encoded)
        if len(base) == 1 and outputs.shape[1] == 2:
            base = np.array([1.0 - base[0], base[0]])
        if values.shape[2] == 1 and outputs.shape[1] == 2:
            values = np.concatenate([-values, values], axis=2)
        gap = outputs - base[None, :] - values.sum(axis=1)
        weight = np.abs(values)
        total = weight.sum(axis=1, keepdims=True)
        share = np.where(total > 0, weight / np.where(total > 0, total, 1.0), 1 / values.shape[1])
        return ShapValues(values + share * gap[:, None, :], base)

    def _explain_permutation(self, encoded: np.ndarray, *, fast: bool) -> ShapValues:
        values, base = permutation_shap(
            self.model_output,
            encoded,
            self.permutation_background,
            self.max_evals(fast=fast),
            self.random_state,
        )
        return ShapValues(values, base)


def _through_link(
    values: np.ndarray, base: float, link: Link, own: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """SHAP values (rows, features) of a margin whose link's inverse is the model's output
    (the log-odds of P(positive), the log of a Poisson regressor's prediction), shown in the
    output's units as shap's ``force_plot(link="logit")`` draws log-odds: from the output at
    the mean margin (the base value) to the row's, each feature keeping its share of the
    margin's change. The factor (p - p0) / (margin change) is the inverse link's mean slope
    over that change: positive, so every sign is kept (at most 1/4 for the logistic link);
    base + sum(values) is the row's output. ``own``, the model's output for the rows if given: p
    where the model's margin is TreeSHAP's but for its rounding (``_MARGIN_ROUNDING``), so
    the values add up to what the model says; elsewhere the link of TreeSHAP's margin, and
    the additivity check sees the miss."""
    change = values.sum(axis=1)
    margin = base + change
    p0, p = float(_inverse_link(base, link)), _inverse_link(margin, link)
    if own is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            own_margin = np.log(own) if link == "log" else np.log(own) - np.log1p(-own)
        terms = abs(base) + np.abs(values).sum(axis=1)
        rounding = np.abs(own_margin - margin) <= _MARGIN_ROUNDING * terms
        p = np.where(rounding, own, p)
    small = np.abs(change) < 1e-9  # the limit: the inverse link's slope at the base
    slope = p0 if link == "log" else p0 * (1 - p0)
    factor = np.where(small, slope, (p - p0) / np.where(small, 1.0, change))
    return (values * factor[:, None])[:, :, None], np.array([p0])


def _inverse_link(margin: Any, link: Link) -> Any:
    """The model's output for a margin: exp of it, or its sigmoid."""
    return np.exp(margin) if link == "log" else 1.0 / (1.0 + np.exp(-margin))


def _path_dependent(forest: Any, trees: list[Any]) -> shap.TreeExplainer:
    """Path-dependent TreeSHAP (raw output) of a forest made of ``trees`` alone."""
    share = copy.copy(forest)
    share.estimators_ = trees
    share.n_estimators = len(trees)
    return shap.TreeExplainer(share, feature_perturbation="tree_path_dependent", model_output="raw")
