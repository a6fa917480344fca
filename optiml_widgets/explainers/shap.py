"""SHAP values in the original feature space, with the algorithm chosen for the model.

Tree ensembles get TreeSHAP, linear regressors the linear explainer, everything else
(Pipelines, callables, other models) shap's permutation explainer over the encoded
original columns with a sampled background. Classifiers are explained in probability
space. Every algorithm here is additive: base_value + sum(values) == model output, and the
first rows explained are checked for it; when a fast algorithm fails that check (or cannot
be built), the next one runs and ``fallback`` says why.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import shap

from .base import Attribution, Explainer, Quality, register
from .table import TableContext

# Relative tolerance of the additivity self-check that decides whether a fast
# algorithm may be used for this model.
_ADDITIVITY_TOLERANCE = 1e-6
# Forests average leaf class shares, so their raw output already is a probability.
_AVERAGED_PROBABILITIES = {
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "DecisionTreeClassifier",
}


@dataclass(frozen=True)
class ShapValues:
    """SHAP values of some rows: ``values[row, feature, output]`` and ``base_values[output]``."""

    values: np.ndarray
    base_values: np.ndarray


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
        self.algorithm_kind = "permutation"
        self._reasons: list[str] = []
        self._verified = False
        self._verify_lock = threading.Lock()
        # Fast algorithms in order of preference; each is checked for additivity on the
        # first rows it explains, and the next one takes over when it fails.
        self._plan: list[tuple[str, Callable[[], None]]] = []
        family = self.adapter.family
        categories = [f.name for f in self.schema.features if f.kind == "categorical"]
        if family == "tree" and categories:
            self._reasons.append(
                "TreeSHAP needs the model's own numeric inputs, but X has text categories "
                f"({', '.join(categories[:3])}{'…' if len(categories) > 3 else ''})"
            )
        elif family == "tree":
            # Interventional first (it uses the background); shap's path-dependent variant
            # where interventional is not additive (seen for random-forest regressors).
            self._plan = [
                ("interventional TreeSHAP", lambda: self._init_tree("interventional")),
                ("path-dependent TreeSHAP", lambda: self._init_tree("tree_path_dependent")),
            ]
        elif family == "linear":
            self._plan = [("linear SHAP", self._init_linear)]
        self._next_algorithm()

    # -- the seam ------------------------------------------------------------------
    @property
    def algorithm(self) -> str:
        """Human-readable name of the algorithm, shown in the widget."""
        space = "probability" if self.adapter.is_classifier else "raw output"
        if self.algorithm_kind == "tree":
            kind = "interventional" if self.perturbation == "interventional" else "path-dependent"
            return f"TreeSHAP ({kind}, {space})"
        if self.algorithm_kind == "linear":
            return "Linear SHAP (interventional)"
        return f"Permutation SHAP (model-agnostic, {len(self.background)}-row background, {space})"

    description = algorithm

    @property
    def fallback(self) -> str | None:
        """Why a faster algorithm did not run, or None."""
        return "; ".join(self._reasons) or None

    @property
    def has_fast(self) -> bool:
        """Only the permutation algorithm has a cheaper estimate; the others are exact anyway."""
        return self.algorithm_kind == "permutation"

    @property
    def approximate(self) -> bool:
        """Whether fewer model calls give a cheaper estimate (only the permutation algorithm)."""
        return self.has_fast

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
    def values(self, encoded: np.ndarray, *, fast: bool = False) -> ShapValues:
        """SHAP values of a batch of encoded rows (n, features); all outputs at once."""
        encoded = np.atleast_2d(encoded)
        if not self._verified:
            # The first rows asked for, and two background rows, decide the algorithm.
            probe = np.vstack([encoded, self.background[:2]])
            with self._verify_lock:
                while not self._verified:
                    result = self._values(probe, fast=fast)
                    if self._additive(probe, result):
                        self._verified = True
                        return ShapValues(result.values[: len(encoded)], result.base_values)
        return self._values(encoded, fast=fast)

    def split_points(self) -> dict[int, np.ndarray] | None:
        """For TreeSHAP, every threshold the trees test per feature (sorted); None for the
        other algorithms. Two rows that differ only in feature j, with no threshold of j
        between their values, get identical SHAP values: sweeps need each interval once."""
        if self.algorithm_kind != "tree" or self._tree is None:
            return None
        trees = self._tree.model
        found: dict[int, set[float]] = {}
        for features, thresholds in zip(trees.features, trees.thresholds):
            for j, t in zip(features, thresholds):
                if j >= 0:
                    found.setdefault(int(j), set()).add(float(t))
        return {j: np.array(sorted(ts)) for j, ts in found.items()}

    def max_evals(self, *, fast: bool) -> int:
        """Model-call budget of the permutation explainer: about 10 permutations, 2 when fast."""
        one_pass = 2 * len(self.schema) + 1
        return one_pass * (2 if fast else 10)

    def model_output(self, encoded: np.ndarray) -> np.ndarray:
        """The model's outputs for encoded rows (the function every masker-based explainer calls)."""
        return self.context.model_output(encoded)

    # -- algorithms ---------------------------------------------------------
    def _next_algorithm(self) -> None:
        """Build the next fast algorithm of the plan, or settle on permutation SHAP."""
        self._tree = self._linear = None
        self.algorithm_kind = "permutation"
        while self._plan:
            label, init = self._plan.pop(0)
            try:
                init()
                return
            except Exception as exc:
                self._tree = self._linear = None
                self.algorithm_kind = "permutation"
                self._reasons.append(f"{label} could not be built ({type(exc).__name__}: {exc})")

    def _additive(self, encoded: np.ndarray, result: ShapValues) -> bool:
        """Whether base + sum(values) is the model's output on these rows (the permutation
        algorithm is additive by construction); if not, move on to the next algorithm."""
        if self.algorithm_kind == "permutation":
            return True
        expected = self.model_output(encoded)
        total = result.base_values[None, :] + result.values.sum(axis=1)
        if np.allclose(total, expected, rtol=_ADDITIVITY_TOLERANCE, atol=1e-8):
            return True
        error = float(np.max(np.abs(total - expected)))
        kind = "interventional" if self.perturbation == "interventional" else "path-dependent"
        label = "linear SHAP" if self.algorithm_kind == "linear" else f"{kind} TreeSHAP"
        self._reasons.append(
            f"{label} is not additive for this model (base value + sum of values misses the "
            f"model's output by up to {error:.3g})"
        )
        self._next_algorithm()
        return False

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
        model = self.adapter.model
        averaged = self.adapter.is_classifier and type(model).__name__ in _AVERAGED_PROBABILITIES
        output = "probability" if self.adapter.is_classifier and not averaged else "raw"
        if perturbation == "tree_path_dependent" and output != "raw":
            raise ValueError("path-dependent TreeSHAP cannot explain probabilities")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self._tree = shap.TreeExplainer(
                model,
                data=self.background if perturbation == "interventional" else None,
                model_output=output,
                feature_perturbation=perturbation,
            )
        self.perturbation = perturbation
        self.algorithm_kind = "tree"

    def _init_linear(self) -> None:
        self._linear = shap.LinearExplainer(self.adapter.model, self.masker)
        self.algorithm_kind = "linear"

    def _explain_tree(self, encoded: np.ndarray) -> ShapValues:
        assert self._tree is not None
        values = np.asarray(self._tree.shap_values(encoded, check_additivity=False), dtype=float)
        base = np.atleast_1d(np.asarray(self._tree.expected_value, dtype=float))
        if values.ndim == 2:
            values = values[..., None]
        n_outputs = len(self.adapter.output_names)
        if values.shape[2] == 1 and n_outputs == 2:
            # Binary classifiers explain P(positive); P(negative) is its mirror image.
            values = np.concatenate([-values, values], axis=2)
            base = np.array([1.0 - base[0], base[0]])
        return ShapValues(values, base)

    def _explain_permutation(self, encoded: np.ndarray, *, fast: bool) -> ShapValues:
        with _keep_global_random_state():
            explainer = shap.PermutationExplainer(
                self.model_output, self.masker, seed=self.random_state
            )
            result = explainer(encoded, max_evals=self.max_evals(fast=fast), silent=True)
        values = np.asarray(result.values, dtype=float)
        base = np.asarray(result.base_values, dtype=float)
        if values.ndim == 2:
            values = values[..., None]
        base = np.atleast_1d(base[0] if base.ndim >= 1 and base.shape[0] == len(encoded) else base)
        return ShapValues(values, base)


@contextlib.contextmanager
def _keep_global_random_state() -> Iterator[None]:
    """shap seeds numpy's global generator; give the user theirs back afterwards."""
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)
