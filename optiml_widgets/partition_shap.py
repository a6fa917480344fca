"""SHAP values of a part of ``global_data``: which algorithm explains it, and how it
travels to a Dask worker.

SHAP values are the panel's own algorithm (``algorithm="panel"``), or, for XGBoost and
LightGBM models, the model's own ``pred_contribs`` (path-dependent TreeSHAP of the raw
output; ``algorithm="native"``); ``"auto"`` takes the native ones only where they are the
panel's algorithm too (path-dependent TreeSHAP of the raw output).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .boosters import BoosterRegressor, averaged_trees
from .explainers.shap import ShapValues

Algorithm = Literal["auto", "panel", "native"]

ADDITIVITY = 1e-6  # how far exact values may miss the output, relative to it (the API's)
FLOAT32_ADDITIVITY = 1e-4  # the same for values added up in float32 (XGBoost's own)


class Contributions:
    """SHAP values of a partition: ``(values[row, feature, output], base[output],
    expected[row, output])`` where ``base + values.sum(features)`` should equal ``expected``
    (the model's output in the space the values explain)."""

    description: str
    live_rows: int  # rows per step in process, so the live panel gets its turn in between

    def __call__(
        self, model_input: Any, encoded: np.ndarray, outputs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        raise NotImplementedError

    def prepare_to_ship(self) -> None:
        """Make sure this pickles to a Dask worker (or say exactly why it cannot)."""

    def allowed_gap(self, values: np.ndarray, base: np.ndarray, expected: np.ndarray) -> np.ndarray:
        """How far ``base + values.sum(features)`` may miss ``expected`` (rows, outputs) for
        exact values: more, and the summary says the rows do not add up."""
        raise NotImplementedError


class PanelShap(Contributions):
    """The panel's own SHAP explainer (session.shap_explainer), batch by batch.

    Sent to a worker as it is when it pickles; otherwise rebuilt there from its context
    (its class and the model, schema and background it was built on), and the worker
    checks it chose the panel's algorithm.
    """

    live_rows = 100

    def __init__(self, explainer: Any) -> None:
        self.explainer: Any = explainer
        self.description = str(explainer.description)
        self._recipe: tuple[type, Any] | None = None

    def prepare_to_ship(self) -> None:
        import cloudpickle

        try:
            cloudpickle.dumps(self.explainer)
        except Exception as exc:
            context = getattr(self.explainer, "context", None)
            if context is None:
                raise TypeError(
                    "The SHAP explainer cannot be sent to the Dask workers "
                    f"({type(exc).__name__}: {exc}) and has no context to rebuild it from: "
                    "run without a cluster, or with algorithm='native' for XGBoost/LightGBM."
                ) from exc
            self._recipe = (type(self.explainer), context)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if self._recipe is not None:
            state["explainer"] = None  # rebuilt on the worker, once
        return state

    def allowed_gap(self, values: np.ndarray, base: np.ndarray, expected: np.ndarray) -> np.ndarray:
        # What the panel holds its own exact views and global rows to.
        return np.asarray(self.explainer.allowed_gap(expected), dtype=float)

    def __call__(
        self, model_input: Any, encoded: np.ndarray, outputs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self.explainer is None:
            assert self._recipe is not None
            cls, context = self._recipe
            self.explainer = cls(context)
        explainer = self.explainer
        if explainer.approximate:
            # Permutation SHAP draws its permutations per call: one row per call gives each
            # row the panel's own values, whatever the batching (steps, workers) was.
            rows = [explainer.values(encoded[i : i + 1]) for i in range(len(encoded))]
            result = (
                ShapValues(np.concatenate([r.values for r in rows]), rows[0].base_values)
                if rows
                else explainer.values(encoded)
            )
        else:
            result = explainer.values(encoded)
        if self.explainer.description != self.description:
            raise RuntimeError(
                f"The SHAP explainer rebuilt on this worker runs {self.explainer.description}, "
                f"the panel {self.description}: the values would not be comparable."
            )
        return (
            np.asarray(result.values, dtype=float),
            np.asarray(result.base_values, dtype=float),
            outputs,
        )


class NativeContributions(Contributions):
    """XGBoost's ``pred_contribs`` / LightGBM's ``pred_contrib``: path-dependent TreeSHAP of
    the raw output (log-odds for binary classifiers), computed by the model's own library
    (XGBoost in float32: its values agree with shap's to about 1e-5, LightGBM's exactly)."""

    live_rows = 2000

    def __init__(self, model: Any, library: str, n_outputs: int, binary: bool) -> None:
        self.model = model
        self.library = library
        self.n_outputs = n_outputs
        self.binary = binary
        if binary:
            space = "log-odds"
        elif n_outputs > 1:
            space = "raw class scores"
        else:
            space = "margin (the trees' sum)"
        argument = "pred_contribs" if library == "XGBoost" else "pred_contrib"
        self.description = f"TreeSHAP (path-dependent, {space}; {library}'s own {argument})"
        # The API's 1e-6, relative to the terms added up; XGBoost adds them in float32, whose
        # rounding reaches about 2e-5 of them (a regressor's outputs near 1e8).
        self.tolerance = FLOAT32_ADDITIVITY if library == "XGBoost" else ADDITIVITY

    def allowed_gap(self, values: np.ndarray, base: np.ndarray, expected: np.ndarray) -> np.ndarray:
        terms = np.abs(values).sum(axis=1) + np.abs(base)[None, :]
        return np.asarray(self.tolerance * np.maximum(terms, np.abs(expected)), dtype=float)

    @staticmethod
    def library_of(model: Any) -> str | None:
        """ "XGBoost", "LightGBM", or None for a model without native contributions."""
        if isinstance(model, BoosterRegressor):  # a native Booster, wrapped
            return model.library
        package = type(model).__module__.split(".")[0]
        if package == "xgboost" and hasattr(model, "get_booster"):
            return "XGBoost"
        if package == "lightgbm" and hasattr(model, "booster_"):
            return "LightGBM"
        return None

    def __call__(
        self, model_input: Any, encoded: np.ndarray, outputs: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = len(encoded)
        native = isinstance(self.model, BoosterRegressor)
        if self.library == "LightGBM":
            booster = self.model.booster if native else self.model.booster_
            # A random forest's (boosting="rf") are of its trees' sum; it predicts from their mean.
            averaged = averaged_trees(self.model)
            contributions = np.asarray(booster.predict(model_input, pred_contrib=True)) / averaged
            raw = np.asarray(booster.predict(model_input, raw_score=True), dtype=float) / averaged
        else:
            import xgboost

            booster = self.model.booster if native else self.model.get_booster()
            matrix = xgboost.DMatrix(model_input, enable_categorical=True)
            options = {"iteration_range": _xgboost_iterations(self.model)}
            contributions = np.asarray(booster.predict(matrix, pred_contribs=True, **options))
            raw = np.asarray(booster.predict(matrix, output_margin=True, **options), dtype=float)
        n_raw = 1 if self.binary else self.n_outputs
        per_output = contributions.reshape(n, n_raw, -1).astype(float)  # [row, output, F + 1]
        values = per_output[:, :, :-1].transpose(0, 2, 1)
        base = per_output[0, :, -1]
        raw = raw.reshape(n, n_raw)
        if self.binary:  # the negative class's log-odds mirror the positive class's
            values = np.concatenate([-values, values], axis=2)
            base = np.array([-base[0], base[0]])
            raw = np.hstack([-raw, raw])
        return values, base, raw


def _xgboost_iterations(model: Any) -> tuple[int, int]:
    """The trees the sklearn wrapper predicts with (up to the best iteration, if any)."""
    try:
        best = model.best_iteration
    except AttributeError:
        return (0, 0)
    return (0, int(best) + 1) if best is not None else (0, 0)


def choose_contributions(session: Any, algorithm: Algorithm) -> Contributions:
    """The SHAP algorithm for ``global_data``; see the module docstring."""
    if algorithm not in ("auto", "panel", "native"):
        raise ValueError(f"algorithm must be 'auto', 'panel' or 'native', not {algorithm!r}.")
    adapter, explainer = session.adapter, session.shap_explainer
    library = NativeContributions.library_of(adapter.model)

    def native() -> NativeContributions:
        return NativeContributions(
            adapter.model, str(library), len(adapter.output_names), adapter.task == "binary"
        )

    if algorithm == "native":
        if library is None:
            raise ValueError(
                f"algorithm='native' needs an XGBoost or LightGBM model with its own SHAP "
                f"values (pred_contribs); {adapter.name} has none: use algorithm='panel'."
            )
        return native()
    if explainer is None:
        if algorithm == "auto" and library is not None:
            return native()
        raise ValueError('The global views need SHAP: create the widget with "shap" in explainers.')
    # The panel's algorithm as its first view settles it (a fast one may fall back on the
    # first rows): every part runs that one.
    explainer.settle(session.encoded_X[:1])
    # The library's own values are path-dependent TreeSHAP of the raw output (a classifier's
    # log-odds): the panel's only for a regressor explained that way (a classifier's panel is
    # in probability).
    same_mode = (
        not adapter.is_classifier
        and getattr(explainer, "algorithm_kind", None) == "tree"
        and getattr(explainer, "perturbation", None) != "interventional"
        and not getattr(explainer, "linked", False)  # a Poisson regressor's is in counts
    )
    if algorithm == "auto" and library is not None and same_mode:
        return native()
    return PanelShap(explainer)
