"""LIME tabular over the original columns: categories encoded for LIME, decoded for the model."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from lime.discretize import BaseDiscretizer
from lime.lime_tabular import LimeTabularExplainer
from scipy import special

from ..data import FeatureSchema
from ..format import exact_number, format_number
from ..jobs import let_live_through, locked_outside_gate
from ..model import ModelAdapter
from .base import Attribution, Explainer, register
from .table import TableContext

# lime's own default; a drag uses a tenth of it for a quick estimate.
FULL_SAMPLES = 5000
FAST_SAMPLES = 500
# With more features than this LIME's local model keeps its own choice of the strongest
# ones (lime's "highest weights" selection): a ridge on 1,000 columns says little per weight.
ALL_FEATURES_UP_TO = 100
SELECTED_FEATURES = 30
# Features whose samples are drawn in one vectorised step (bounds the temporaries).
FEATURES_AT_ONCE = 32
# LIME's sampling error per weight: the spread of its ridge refit on this many disjoint
# batches of its own samples (batch means; no model call).
SAMPLING_BATCHES = 5
LIME_RIDGE_ALPHA = 1.0  # lime's own local model: Ridge(alpha=1)


@dataclass(frozen=True)
class LimeResult:
    """LIME's local linear model for one row and one output, keyed by feature position."""

    weights: np.ndarray
    conditions: list[str | None]
    intercept: float
    score: float
    errors: np.ndarray | None = None  # standard error per weight (NaN: not in the model)


@register
class LimeExplainer(Explainer):
    """Runs ``lime.lime_tabular`` with the same seed for every row, so results repeat.

    ``details`` of its attributions: ``intercept`` and ``score`` (R²) of LIME's local
    linear model, LIME's own condition text per feature (``conditions``), ``filled``:
    the features whose missing value LIME replaced with the column's typical value (it
    cannot sample around a gap), so the panel can say it explains a filled row, and, for an
    exact view, ``errors``: each weight's standard error from LIME's sampling (another seed
    moves a weight by about that much; see ``sampling_errors``).
    """

    name = "lime"
    title = "LIME"
    view = "weights"
    streamed = True
    order = 10

    def __init__(self, context: TableContext) -> None:
        adapter, schema, training = context.adapter, context.schema, context.training
        self.adapter = adapter
        self.schema = schema
        self.random_state = context.random_state
        self.context = context
        self.training = training
        self.fills = _fill_values(training, schema.discrete_indices)
        self.explainer = LimeTabularExplainer(
            **self.lime_arguments(schema, adapter, training, context.random_state)
        )
        if self.explainer.discretizer is not None:
            self.explainer.discretizer.undiscretize = _BinSampler(self.explainer.discretizer)
        # lime weighs its samples, then picks features with a ridge on all of them (0.1 s on
        # 1,000 features): a live request under way goes first.
        self._kernel = self.explainer.base.kernel_fn
        self.explainer.base.kernel_fn = _after_live_requests(self._kernel)
        self._lock = threading.Lock()  # lime keeps its random state on the explainer
        self._fit_local_model = self.explainer.base.explain_instance_with_data  # lime's own
        # What lime's local model was last fit on, by label, for its sampling errors and a
        # contrast's own fit (under _lock; every call asks for one label).
        self._fitted = remember_local_fits(self.explainer.base)

    @property
    def num_features(self) -> int:
        """How many features LIME's local model keeps (all of them, but with wide data)."""
        n = len(self.schema)
        return n if n <= ALL_FEATURES_UP_TO else SELECTED_FEATURES

    @property
    def algorithm(self) -> str:
        """What runs: LIME's sampling and its local model."""
        kept = (
            ""
            if self.num_features == len(self.schema)
            else f", its {self.num_features} strongest of {len(self.schema):,} features"
        )
        return f"LIME (tabular, {FULL_SAMPLES:,} samples, quartile bins{kept})"

    @property
    def has_fast(self) -> bool:
        """A drag may use a tenth of the samples."""
        return True

    def explain(
        self, instances: np.ndarray, outputs: Sequence[int], *, fast: bool = False
    ) -> list[dict[int, Attribution]]:
        """LIME's weights per encoded row and requested output."""
        return [
            {k: self._attribution(row, self.explain_row(row, k, fast=fast), fast) for k in outputs}
            for row in np.atleast_2d(instances)
        ]

    def explain_contrast(
        self, instance: np.ndarray, first: int, second: int, *, fast: bool = False
    ) -> Attribution:
        """LIME's local model of class ``first``'s probability minus ``second``'s, on the
        same samples (its R² and sampling errors are the contrast's own)."""
        result = self.explain_row(instance, first, fast=fast, versus=second)
        return self._attribution(instance, result, fast)

    def _attribution(self, row: np.ndarray, result: LimeResult, fast: bool) -> Attribution:
        filled = [self.schema.names[j] for j in np.flatnonzero(np.isnan(np.asarray(row, float)))]
        return Attribution(
            values=result.weights,
            base=None,
            quality="fast" if fast else "exact",
            details={
                "intercept": result.intercept,
                "score": result.score,
                "conditions": result.conditions,
                "filled": filled,
                **({} if result.errors is None else {"errors": result.errors}),
            },
        )

    @staticmethod
    def lime_arguments(
        schema: FeatureSchema, adapter: ModelAdapter, training: np.ndarray, random_state: int
    ) -> dict:
        """The arguments we give ``LimeTabularExplainer`` (tests build lime's own with them)."""
        discrete = schema.discrete_indices
        return {
            "training_data": _fill_missing(training, _fill_values(training, discrete)),
            "mode": "classification" if adapter.is_classifier else "regression",
            "feature_names": schema.names,
            "categorical_features": discrete,
            "categorical_names": {
                i: [str(c) for c in schema.features[i].categories] for i in discrete
            },
            "class_names": adapter.output_names if adapter.is_classifier else None,
            "discretize_continuous": True,
            "random_state": random_state,
        }

    def _bin_text(self, j: int, value: float, text: str) -> str:
        """The bin of a numeric feature's ``value``, its edges written to four digits of
        the bin's width: lime's own text has two decimals, so on standardised data it reads
        "-0.00 < s5 <= 0.03" for a bin that starts at -0.0019, and two bins can read alike
        (the bin is found from the value, not from that text)."""
        discretizer = self.explainer.discretizer
        names = None if discretizer is None else discretizer.names.get(j)
        if names is None:
            return text  # a category: "city=Paris"
        b = int(discretizer.lambdas[j](value))
        if names[b] != text:
            return text
        feature = self.schema.features[j]
        mins, maxs = discretizer.mins[j], discretizer.maxs[j]
        low, high = float(mins[b]), float(maxs[b])
        # A first or last bin of one value (a two-valued column's) has no width: the
        # feature's range sets its digits.
        scale = high - low or float(maxs[-1]) - float(mins[0])
        first, last = b == 0, b == len(names) - 1
        low_text, high_text = _edges(value, None if first else low, None if last else high, scale)
        if first:
            return f"{feature.name} <= {high_text}"
        if last:
            return f"{feature.name} > {low_text}"
        return f"{low_text} < {feature.name} <= {high_text}"

    def predict_fn(self, encoded: np.ndarray) -> np.ndarray:
        """What LIME calls: encoded samples -> probabilities (n, k) or values (n,)."""
        out = self.context.model_output(encoded, live_between=True)
        return out if self.adapter.is_classifier else out[:, 0]

    def explain_row(
        self,
        encoded_row: np.ndarray,
        output: int,
        *,
        fast: bool = False,
        versus: int | None = None,
    ) -> LimeResult:
        """LIME weights of one encoded row for output ``output`` (class index, 0 for
        regression), or with ``versus`` for that class's probability minus ``versus``'s:
        lime's own local model fit on the same samples."""
        row = _fill_missing(np.asarray(encoded_row, dtype=float)[None, :], self.fills)[0]
        label = output if self.adapter.is_classifier else 1
        with locked_outside_gate(self._lock):
            # lime shares one RandomState between explainer, discretizer and base; a fresh
            # one per call makes every explanation equal to that of a newly built explainer.
            rng = _DrawsBetweenRequests(self.random_state)
            self.explainer.random_state = rng
            self.explainer.base.random_state = rng
            if self.explainer.discretizer is not None:
                self.explainer.discretizer.random_state = rng
            self._fitted.clear()
            explanation = self.explainer.explain_instance(
                row,
                self.predict_fn,
                labels=(label,),
                num_features=self.num_features,
                num_samples=FAST_SAMPLES if fast else FULL_SAMPLES,
            )
            # The one label asked for (lime fits a regressor's as label 0).
            fitted_label, (data, outputs, distances, used) = self._fitted.popitem()
            if versus is None:
                y = outputs[:, fitted_label]
                pairs = explanation.as_map()[label]
                intercept = float(explanation.intercept[label])
                score = float(explanation.score)
            else:  # the contrast's own local model, as lime fits one
                y = outputs[:, label] - outputs[:, versus]
                intercept, pairs, score, _ = self._fit_local_model(
                    data,
                    y[:, None],
                    distances,
                    0,
                    self.num_features,
                    feature_selection=self.explainer.feature_selection,
                )
                used = [j for j, _ in pairs]
            errors = None
            if not fast:  # a drag's quick estimate is labelled as such already
                errors = np.full(len(self.schema), np.nan)
                errors[used] = sampling_errors(data[:, used], y, self._kernel(distances))
        weights = np.zeros(len(self.schema))
        conditions: list[str | None] = [None] * len(self.schema)
        texts = explanation.domain_mapper.map_exp_ids(pairs)
        for (index, weight), (text, _) in zip(pairs, texts):
            weights[index] = weight
            conditions[index] = self._bin_text(index, float(row[index]), text)
        return LimeResult(
            weights=weights,
            conditions=conditions,
            intercept=float(intercept),
            score=float(score),
            errors=errors,
        )


def _edges(
    value: float, low: float | None, high: float | None, scale: float
) -> tuple[str | None, str | None]:
    """The written edges of the bin ``low < value <= high`` (None: an edge a first or last
    bin does not write), each to four digits of ``scale`` (epoch seconds read 1700165606,
    not 1.7e+9), or more until its text holds for ``value``: a rounded edge can cross it
    (a row on its bin's upper edge, as quartiles of X often are). The two then differ."""
    return (
        None if low is None else _edge(low, scale, lambda text: float(text) < value),
        None if high is None else _edge(high, scale, lambda text: value <= float(text)),
    )


def _edge(edge: float, scale: float, holds: Callable[[str], bool]) -> str:
    """``edge`` with the fewest digits, from four of ``scale``, whose text ``holds``; every
    digit when none does (the exact edge always holds: the bin was found from the value)."""
    for digits in range(4, 17):
        text = format_number(edge, digits, scale)
        if holds(text):
            return text
    return exact_number(edge)


def remember_local_fits(
    base: Any,
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]]:
    """Make lime's ``LimeBase`` note, per label, what its local model was last fit on: the
    samples, the model's outputs (every label's), the samples' distances and the features it
    kept."""
    fitted: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]] = {}
    fit_local_model = base.explain_instance_with_data

    def remembered(
        data: np.ndarray,
        labels: np.ndarray,
        distances: np.ndarray,
        label: int,
        num_features: int,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        found = fit_local_model(data, labels, distances, label, num_features, *args, **kwargs)
        fitted[label] = (data, labels, distances, [j for j, _ in found[1]])
        return found

    base.explain_instance_with_data = remembered
    return fitted


def sampling_errors(
    data: np.ndarray, y: np.ndarray, weights: np.ndarray, batches: int = SAMPLING_BATCHES
) -> np.ndarray:
    """The standard error of each weight of LIME's ridge (``data`` -> ``y``, each sample
    weighted), from the spread of the same ridge fit on ``batches`` disjoint batches of the
    samples: each batch's weights vary ``batches`` times as much as the whole fit's (batch
    means). The ridge penalty is shared out likewise, so each batch is shrunk as the whole
    is. Checked against lime itself run with other seeds: on breast_cancer and diabetes
    rows this estimate was 0.86-0.97 times the spread of its weights over 16 seeds
    (tests/test_explainers.py checks it over 12)."""
    if len(y) < 2 * batches or not data.shape[1]:
        return np.full(data.shape[1], np.nan)
    coefs = np.array(
        [
            _weighted_ridge(data[part], y[part], weights[part], LIME_RIDGE_ALPHA / batches)
            for part in np.array_split(np.arange(len(y)), batches)
        ]
    )
    return coefs.std(axis=0, ddof=1) / np.sqrt(batches)


def _weighted_ridge(X: np.ndarray, y: np.ndarray, w: np.ndarray, alpha: float) -> np.ndarray:
    """The weights of scikit-learn's ``Ridge(alpha).fit(X, y, sample_weight=w)`` (with its
    intercept), solved directly: ~7x faster than the estimator on LIME's few columns (five
    refits of 5,000 samples x 30 features: ~1 ms, not ~6.5 ms)."""
    w = np.asarray(w, dtype=float)
    total = w.sum()
    if total <= 0:
        return np.full(X.shape[1], np.nan)
    Xc = X - (w @ X) / total
    yc = y - (w @ y) / total
    gram = Xc.T @ (Xc * w[:, None]) + alpha * np.eye(X.shape[1])
    return np.linalg.solve(gram, Xc.T @ (w * yc))


class _DrawsBetweenRequests(np.random.RandomState):
    """lime's random state, numpy's own draws: lime draws each feature's bins in turn while
    the explanation holds the session's gate (0.2 s for 1,000 features), and a live request
    under way goes between two features (its first answer uses nothing of LIME's)."""

    def choice(self, *args: Any, **kwargs: Any) -> Any:
        let_live_through()
        return super().choice(*args, **kwargs)


def _after_live_requests(kernel_fn: Callable[[np.ndarray], np.ndarray]) -> Callable:
    """``kernel_fn`` once a live request under way has had its first answer."""

    def kernel(distances: np.ndarray) -> np.ndarray:
        let_live_through()
        return kernel_fn(distances)

    return kernel


def _fill_values(data: np.ndarray, discrete: list[int]) -> np.ndarray:
    """Per column: the median (numeric) or most common code (discrete), ignoring NaN."""
    fills = np.zeros(data.shape[1])
    for j in range(data.shape[1]):
        column = data[~np.isnan(data[:, j]), j]
        if column.size and j in discrete:
            values, counts = np.unique(column, return_counts=True)
            fills[j] = values[np.argmax(counts)]
        elif column.size:
            fills[j] = float(np.median(column))
    return fills


def _fill_missing(data: np.ndarray, fills: np.ndarray) -> np.ndarray:
    """LIME cannot sample around NaN: fill gaps with the column's typical value."""
    gaps = np.isnan(data)
    return np.where(gaps, fills[None, :], data) if gaps.any() else data


class _BinSampler:
    """lime's ``BaseDiscretizer.undiscretize`` for its 2-D samples, with the same draws.

    lime samples each bin's truncated normal through ``scipy.stats.truncnorm.rvs``, feature
    by feature, which redoes the bin's normalising mass in complex log space for every
    sample: two thirds of a 5,000-sample explanation. Here each bin's constants are computed
    once, and every sample takes the same uniform draw (in lime's order) and the same
    inverse CDF (scipy's log-space formula), so the values agree with lime's to rounding and
    the random stream stays in step; but a bin of one value gives that value, not lime's
    z-score of it.
    """

    def __init__(self, discretizer: BaseDiscretizer) -> None:
        self.discretizer = discretizer
        self.features = list(discretizer.means)
        width = max((len(discretizer.means[f]) for f in self.features), default=1)

        def table(stats: dict) -> np.ndarray:  # (features, bins), unused bins NaN
            out = np.full((len(self.features), width), np.nan)
            for i, feature in enumerate(self.features):
                out[i, : len(stats[feature])] = stats[feature]
            return out

        self.means, self.stds = table(discretizer.means), table(discretizer.stds)
        self.mins = table(discretizer.mins)
        self.low = (table(discretizer.mins) - self.means) / self.stds
        self.high = (table(discretizer.maxs) - self.means) / self.stds
        with np.errstate(all="ignore"):
            self.mass = np.vectorize(_log_gauss_mass, otypes=[float])(self.low, self.high)
            # scipy works in the left tail: from a for bins starting below the mean, else mirrored.
            self.left = self.low < 0
            self.tail = np.where(
                self.left, special.log_ndtr(self.low), special.log_ndtr(-self.high)
            )

    def __call__(self, data: np.ndarray) -> np.ndarray:
        if data.ndim != 2 or not self.features:
            return type(self.discretizer).undiscretize(self.discretizer, data)
        out = data.copy()
        width = self.low.shape[1]
        # Feature-major, as lime draws: all samples of one feature, then the next; a few
        # features at a time, so that wide data needs no (samples x features) temporaries.
        for start in range(0, len(self.features), FEATURES_AT_ONCE):
            let_live_through()  # ~10 ms per block on 5,000 samples: a request goes between
            features = self.features[start : start + FEATURES_AT_ONCE]
            rows = np.arange(start, start + len(features))[:, None]
            cell = out[:, features].T.astype(np.intp) + rows * width
            # A bin of one value (a column's lowest quartile when it is also its minimum,
            # as in a count column, or a constant column's only bin) is that value: lime
            # returns its z-score, 0, so a column of 2s, 3s and 4s was sampled at 0 too.
            z = self.mins.ravel().take(cell)
            drawn = self.low.ravel().take(cell) != self.high.ravel().take(cell)
            cell = cell[drawn]
            q = self.discretizer.random_state.uniform(size=cell.size)
            left = self.left.ravel().take(cell)
            with np.errstate(divide="ignore"):
                x = np.where(left, np.log(q), np.log1p(-q)) + self.mass.ravel().take(cell)
            value = special.ndtri_exp(np.logaddexp(self.tail.ravel().take(cell), x))
            value = np.where(left, value, -value)
            z[drawn] = value * self.stds.ravel().take(cell) + self.means.ravel().take(cell)
            out[:, features] = z.T
        return out


def _log_gauss_mass(a: float, b: float) -> float:
    """log(Φ(b) - Φ(a)), kept accurate in both tails (as scipy computes it)."""
    if not a < b:
        return np.nan
    if b <= 0:
        log_b, log_a = special.log_ndtr(b), special.log_ndtr(a)
        return float(log_b + np.log1p(-np.exp(log_a - log_b)))
    if a > 0:
        return _log_gauss_mass(-b, -a)
    return float(np.log1p(-special.ndtr(a) - special.ndtr(-b)))
