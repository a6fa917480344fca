"""SHAP values in the original feature space, with the algorithm chosen for the model.

Tree ensembles get TreeSHAP, linear regressors the linear explainer, everything else
(Pipelines, callables, other models) shap's permutation explainer over the encoded
original columns with a sampled background. Classifiers are explained in probability
space. Every algorithm here is additive: base_value + sum(values) == model output.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import shap

from ..data import FeatureSchema
from ..model import ModelAdapter

# Relative tolerance of the additivity self-check that decides whether a fast
# algorithm may be used for this model.
_ADDITIVITY_TOLERANCE = 1e-6


@dataclass(frozen=True)
class ShapValues:
    """SHAP values of some rows: ``values[row, feature, output]`` and ``base_values[output]``."""

    values: np.ndarray
    base_values: np.ndarray


class ShapExplainer:
    """Chooses and runs the SHAP algorithm for a model; see the module docstring."""

    def __init__(
        self,
        adapter: ModelAdapter,
        schema: FeatureSchema,
        background: np.ndarray,
        *,
        random_state: int = 0,
    ) -> None:
        self.adapter = adapter
        self.schema = schema
        self.background = background
        self.random_state = random_state
        self.masker = shap.maskers.Independent(background, max_samples=len(background))
        self._tree: shap.TreeExplainer | None = None
        self._linear: shap.LinearExplainer | None = None
        self.perturbation = "interventional"
        self.algorithm = "permutation"
        self.fallback_reason: str | None = None
        family = adapter.family
        has_categories = bool(schema.discrete_indices) and any(
            f.kind == "categorical" for f in schema.features
        )
        if family == "tree" and not has_categories:
            # Interventional first (it uses the background); shap's path-dependent variant
            # where interventional is not additive (seen for random-forest regressors).
            self._try(lambda: self._init_tree("interventional")) or self._try(
                lambda: self._init_tree("tree_path_dependent")
            )
        elif family == "linear":
            self._try(self._init_linear)

    @property
    def description(self) -> str:
        """Human-readable name of the algorithm, shown in the widget."""
        space = "probability" if self.adapter.is_classifier else "raw output"
        if self.algorithm == "tree":
            kind = "interventional" if self.perturbation == "interventional" else "path-dependent"
            return f"TreeSHAP ({kind}, {space})"
        if self.algorithm == "linear":
            return "Linear SHAP (interventional)"
        return f"Permutation SHAP (model-agnostic, {len(self.background)}-row background, {space})"

    @property
    def approximate(self) -> bool:
        """Whether fewer model calls give a cheaper estimate (only the permutation algorithm)."""
        return self.algorithm == "permutation"

    def model_output(self, encoded: np.ndarray) -> np.ndarray:
        """The model's outputs for encoded rows (the function every masker-based explainer calls)."""
        return self.adapter.predict(self.schema.decode(encoded))

    def explain(self, encoded: np.ndarray, *, fast: bool = False) -> ShapValues:
        """SHAP values for encoded rows (n, n_features); all outputs at once."""
        encoded = np.atleast_2d(encoded)
        if self.algorithm == "tree":
            return self._explain_tree(encoded)
        if self.algorithm == "linear":
            assert self._linear is not None
            values = np.asarray(self._linear.shap_values(encoded))[..., None]
            return ShapValues(
                values, np.atleast_1d(np.asarray(self._linear.expected_value, dtype=float))
            )
        return self._explain_permutation(encoded, fast=fast)

    def values(self, encoded: np.ndarray, *, fast: bool = False) -> ShapValues:
        """SHAP values of a batch of encoded rows (all outputs)."""
        return self.explain(encoded, fast=fast)

    def max_evals(self, *, fast: bool) -> int:
        """Model-call budget of the permutation explainer: about 10 permutations, 2 when fast."""
        one_pass = 2 * len(self.schema) + 1
        return one_pass * (2 if fast else 10)

    # -- algorithms ---------------------------------------------------------
    def _try(self, init: Callable[[], None]) -> bool:
        try:
            init()
            self._check_additivity()
        except Exception as exc:
            self.algorithm = "permutation"
            self._tree = self._linear = None
            self.fallback_reason = f"{type(exc).__name__}: {exc}"
            return False
        self.fallback_reason = None
        return True

    def _init_tree(self, perturbation: str) -> None:
        model = self.adapter.model
        kind = type(model).__name__
        averaged_probabilities = self.adapter.is_classifier and kind in {
            "RandomForestClassifier",
            "ExtraTreesClassifier",
            "DecisionTreeClassifier",
        }
        # Forests average leaf class shares, so their raw output already is a probability.
        output = (
            "probability" if self.adapter.is_classifier and not averaged_probabilities else "raw"
        )
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
        self.algorithm = "tree"

    def _init_linear(self) -> None:
        self._linear = shap.LinearExplainer(self.adapter.model, self.masker)
        self.algorithm = "linear"

    def _check_additivity(self) -> None:
        rows = self.background[: min(3, len(self.background))]
        result = self.explain(rows)
        expected = self.model_output(rows)
        total = result.base_values[None, :] + result.values.sum(axis=1)
        if not np.allclose(total, expected, rtol=_ADDITIVITY_TOLERANCE, atol=1e-8):
            raise ValueError(f"{self.algorithm} SHAP is not additive for this model")

    def _explain_tree(self, encoded: np.ndarray) -> ShapValues:
        assert self._tree is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            values = np.asarray(
                self._tree.shap_values(encoded, check_additivity=False), dtype=float
            )
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
