"""Global explanations over data that does not fit: read ``global_data``, reduce every row.

``explain_global_data(session, global_data)`` explains every row of ``global_data`` (a
pandas DataFrame, a Dask DataFrame, or the path/glob of Parquet files, read with Dask)
partition by partition through the compute seam (compute.py): on the cluster of an active
(or given) ``dask.distributed`` Client, in process otherwise. Each partition is reduced
where it is read, and only the reductions travel back:

- the features' quantiles (a sketch: rows per cell between X's 256 quantiles, and past
  X's range per cell of a geometric ladder, within 1% of the distance past X's edge),
  ranges and category counts (for the sliders' ticks);
- mean |SHAP| per feature and output, and each feature's binned dependence (mean and
  standard deviation of its SHAP value per value bin, for the explained outputs);
- the model's prediction distribution, and the surrogate's fidelity on every row (with each
  rule's coverage and agreement);
- a uniform random sample of ``sample_rows`` rows with their SHAP values (the beeswarm):
  every row gets a random key from ``random_state`` and the row itself (its index label and
  values; a row repeated within its part, by its repeat), each partition keeps its smallest
  keys, and the merge keeps the smallest overall (equal keys by the rows' order), so the
  sample is uniform over all rows, and the same rows whatever the backend or partitioning;
- the largest additivity error (base value + sum of SHAP values against the output) over
  every row, and the rows where it is more than exact values may have (the panel's own
  tolerance), which the summary's text and a warning name.

Bins and grids come from X (the session's rows), so no pass over the data is needed before
the one that explains it, and the reductions are sums (exact merges) whatever the order
the partitions finish in. The payload size does not grow with the rows.

Reading and checking ``global_data`` is global_source.py's; which SHAP algorithm explains
a part, and how it travels to a worker, is partition_shap.py's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .compute import (
    Backend,
    Chunks,
    DaskCluster,
    InProcess,
    Parts,
    Progress,
    Reduced,
    choose_backend,
    part_stop,
)
from .data import QUANTILE_LEVELS, Feature, FeatureSchema
from .format import first_names, format_number
from .global_explanation import (
    Dependence,
    GlobalDataSummary,
    GlobalExplanation,
    PredictionDistribution,
    SurrogateFidelity,
)
from .global_source import Source, check_missing, check_numbers, read_global_data
from .inputs import check_columns, check_whole_columns
from .jobs import NEVER, Stop
from .partition_shap import Algorithm, Contributions, choose_contributions
from .warn import warn_caller

SAMPLE_ROWS = 1000  # rows of the beeswarm's uniform sample
DEPENDENCE_BINS = 20  # value bins per numeric feature (at X's quantiles)
SKETCH_CELLS = 256  # cells of the quantile sketch per numeric feature (at X's quantiles)
# Past X's range the sketch's cells grow geometrically with the distance d from X's edge
# (in X's range as unit): cell k holds d in (RATIO**(k-1), RATIO**k], so a quantile there is
# within 1% of its distance from X's edge, however far global_data drifts; closer than
# NEAREST units, one cell. Kept sparse: only cells holding rows travel.
OVERFLOW_RATIO = 1.01
OVERFLOW_NEAREST = 1e-6
PREDICTION_BINS = 20
IN_PROCESS_ROWS = 10_000  # rows per part when a pandas global_data is reduced in process
CLUSTER_ROWS = 50_000  # rows per partition when a pandas global_data goes to a cluster
FLOATS_PER_STEP = 4_000_000  # SHAP values held at once (rows x features x outputs): 32 MB
WORKER_STEP_SECONDS = 1.0  # a step off the gate (on a worker) lasts about this long
UNSEEN_EXAMPLES = 5


# -- what every partition reduces to -----------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """Everything fixed before the pass: bins and grids from X, outputs, the sample."""

    names: list[str]
    n_outputs: int
    outputs: tuple[int, ...]
    classify: bool
    discrete: list[bool]
    n_categories: list[int]
    dependence_edges: list[np.ndarray | None]
    sketch_grids: list[np.ndarray | None]
    sketch_scales: list[float]  # per numeric feature: the unit of the cells past X's range
    prediction_edges: np.ndarray
    n_rules: int
    surrogate_rules: int  # the surrogate's size (rules read) whose fidelity the pass measures
    sample_rows: int
    random_state: int

    @property
    def n_bins(self) -> int:
        """Bins per feature in the dependence arrays (the widest feature's, missing included)."""
        widths = [
            count + 1 if edges is None else len(edges) + 2
            for count, edges in zip(self.n_categories, self.dependence_edges)
        ]
        return max(widths) if widths else 1


def make_plan(
    session: Any,
    *,
    outputs: Sequence[int] | None,
    sample_rows: int,
    random_state: int,
) -> Plan:
    """Bins, grids and outputs from the session's X and model."""
    schema: FeatureSchema = session.schema
    adapter = session.adapter
    n_outputs = len(adapter.output_names)
    if outputs is None:
        chosen = tuple(range(n_outputs)) if n_outputs <= 2 else (int(session.target_index),)
    else:
        chosen = tuple(dict.fromkeys(int(k) for k in outputs))
        bad = [k for k in chosen if not 0 <= k < n_outputs]
        if bad or not chosen:
            raise ValueError(
                f"outputs must be positions of the model's outputs 0..{n_outputs - 1}, "
                f"not {list(outputs)}."
            )
    encoded = session.encoded_X
    dependence_edges: list[np.ndarray | None] = []
    sketch_grids: list[np.ndarray | None] = []
    for j, feature in enumerate(schema.features):
        column = encoded[:, j]
        finite = column[np.isfinite(column)]
        if feature.is_discrete:
            dependence_edges.append(None)
            sketch_grids.append(None)
            continue
        if not len(finite):  # one bin for every value
            dependence_edges.append(np.zeros(0))
            sketch_grids.append(np.zeros(0))
            continue
        inner = np.linspace(0, 1, DEPENDENCE_BINS + 1)[1:-1]
        dependence_edges.append(np.unique(np.quantile(finite, inner)))
        sketch_grids.append(np.unique(np.quantile(finite, np.linspace(0, 1, SKETCH_CELLS + 1))))
    if adapter.is_classifier:
        prediction_edges = np.linspace(0.0, 1.0, PREDICTION_BINS + 1)
    else:
        rows = session.frame.iloc[: min(len(session.frame), 10_000)]
        predicted = adapter.predict(rows)[:, 0]
        low, high = float(np.nanmin(predicted)), float(np.nanmax(predicted))
        if not high > low:
            low, high = low - 0.5, high + 0.5
        prediction_edges = np.linspace(low, high, PREDICTION_BINS + 1)
    surrogate = session.surrogate
    return Plan(
        names=list(schema.names),
        n_outputs=n_outputs,
        outputs=chosen,
        classify=adapter.is_classifier,
        discrete=[f.is_discrete for f in schema.features],
        n_categories=[len(f.categories) for f in schema.features],
        dependence_edges=dependence_edges,
        sketch_grids=sketch_grids,
        sketch_scales=[_overflow_unit(grid) for grid in sketch_grids],
        prediction_edges=prediction_edges,
        n_rules=len(surrogate.rules) if surrogate is not None else 0,
        surrogate_rules=surrogate.complexity if surrogate is not None else 0,
        sample_rows=sample_rows,
        random_state=random_state,
    )


@dataclass
class Partial:
    """The reduction of some rows; ``merge`` two of them in any order.

    Means and spreads are kept as (count, mean, sum of squared deviations) and merged with
    Chan's formula, so they stay accurate over billions of rows.
    """

    rows: int
    part_rows: dict[int, int]
    abs_sum: np.ndarray  # [feature, output]
    bin_count: np.ndarray  # [feature, bin]
    bin_value_sum: np.ndarray  # [feature, bin]
    bin_mean: np.ndarray  # [feature, bin, output position]
    bin_m2: np.ndarray
    prediction_counts: np.ndarray  # [output position, bin + 2]
    prediction_mean: np.ndarray  # [output position]
    prediction_m2: np.ndarray
    prediction_min: np.ndarray
    prediction_max: np.ndarray
    class_counts: np.ndarray  # [output] rows per predicted class (zeros for regression)
    agree: float  # classification: rows where the surrogate's class is the model's
    squared_error: float  # regression: sum of (model - surrogate)^2
    rule_rows: np.ndarray  # [rule]
    rule_agree: np.ndarray  # [rule]: agreeing rows, or the sum of |model - rule|
    sketch: list[np.ndarray | None]  # per numeric feature: rows per grid cell (+ below/above)
    # per numeric feature: rows per cell past X's range, below and above ({cell: rows})
    overflow: list[tuple[dict[int, float], dict[int, float]] | None]
    minimum: np.ndarray  # [feature] over finite values
    maximum: np.ndarray
    missing: np.ndarray  # [feature]
    category_counts: list[np.ndarray | None]  # per discrete feature, rows per category
    unseen: np.ndarray  # [feature] rows with a category X does not have
    unseen_examples: dict[int, list[Any]]
    sample_key: np.ndarray  # [sample row]
    sample_part: np.ndarray
    sample_position: np.ndarray
    sample_encoded: np.ndarray  # [sample row, feature]
    sample_values: np.ndarray  # [sample row, feature, output position]
    base_values: np.ndarray
    additivity_error: float
    non_additive_rows: int  # rows whose values miss the output by more than exact ones may
    non_additive_gap: float  # the most one of those misses by
    sample_limit: int
    algorithms: set[str] = field(default_factory=set)


def merge(a: Partial, b: Partial) -> Partial:
    """The reduction of the rows of ``a`` and ``b`` together (reuses ``a``'s arrays)."""
    na, nb = a.bin_count, b.bin_count
    bin_mean, bin_m2 = _chan(
        na[..., None], a.bin_mean, a.bin_m2, nb[..., None], b.bin_mean, b.bin_m2
    )
    pa, pb = np.full(len(a.prediction_mean), a.rows), np.full(len(b.prediction_mean), b.rows)
    prediction_mean, prediction_m2 = _chan(
        pa, a.prediction_mean, a.prediction_m2, pb, b.prediction_mean, b.prediction_m2
    )
    keys = np.concatenate([a.sample_key, b.sample_key])
    parts = np.concatenate([a.sample_part, b.sample_part])
    positions = np.concatenate([a.sample_position, b.sample_position])
    # The smallest keys; equal ones (the same row in two parts) by the rows' order, which
    # is data order whatever the partitioning, and not the order the parts finished in.
    keep = np.lexsort((positions, parts, keys))[: a.sample_limit]
    examples = dict(a.unseen_examples)
    for j, values in b.unseen_examples.items():
        merged = examples.setdefault(j, [])
        merged.extend(v for v in values if v not in merged)
        del merged[UNSEEN_EXAMPLES:]
    return Partial(
        rows=a.rows + b.rows,
        part_rows={**a.part_rows, **_added(a.part_rows, b.part_rows)},
        abs_sum=a.abs_sum + b.abs_sum,
        bin_count=na + nb,
        bin_value_sum=a.bin_value_sum + b.bin_value_sum,
        bin_mean=bin_mean,
        bin_m2=bin_m2,
        prediction_counts=a.prediction_counts + b.prediction_counts,
        prediction_mean=prediction_mean,
        prediction_m2=prediction_m2,
        prediction_min=np.fmin(a.prediction_min, b.prediction_min),
        prediction_max=np.fmax(a.prediction_max, b.prediction_max),
        class_counts=a.class_counts + b.class_counts,
        agree=a.agree + b.agree,
        squared_error=a.squared_error + b.squared_error,
        rule_rows=a.rule_rows + b.rule_rows,
        rule_agree=a.rule_agree + b.rule_agree,
        sketch=[x if x is None or y is None else x + y for x, y in zip(a.sketch, b.sketch)],
        overflow=[
            x if x is None or y is None else (_add(x[0], y[0]), _add(x[1], y[1]))
            for x, y in zip(a.overflow, b.overflow)
        ],
        minimum=np.fmin(a.minimum, b.minimum),
        maximum=np.fmax(a.maximum, b.maximum),
        missing=a.missing + b.missing,
        category_counts=[
            x if x is None or y is None else x + y
            for x, y in zip(a.category_counts, b.category_counts)
        ],
        unseen=a.unseen + b.unseen,
        unseen_examples=examples,
        sample_key=keys[keep],
        sample_part=parts[keep],
        sample_position=positions[keep],
        sample_encoded=np.concatenate([a.sample_encoded, b.sample_encoded])[keep],
        sample_values=np.concatenate([a.sample_values, b.sample_values])[keep],
        base_values=a.base_values if a.rows else b.base_values,
        additivity_error=max(a.additivity_error, b.additivity_error),
        non_additive_rows=a.non_additive_rows + b.non_additive_rows,
        non_additive_gap=max(a.non_additive_gap, b.non_additive_gap),
        sample_limit=a.sample_limit,
        algorithms=a.algorithms | b.algorithms,
    )


def _add(a: dict[int, float], b: dict[int, float]) -> dict[int, float]:
    if not b:
        return a
    summed = dict(a)
    for key, rows in b.items():
        summed[key] = summed.get(key, 0.0) + rows
    return summed


def _added(a: dict[int, int], b: dict[int, int]) -> dict[int, int]:
    return {part: a.get(part, 0) + rows for part, rows in b.items()}


def _chan(
    n_a: np.ndarray, mean_a: np.ndarray, m2_a: np.ndarray,
    n_b: np.ndarray, mean_b: np.ndarray, m2_b: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Merge (count, mean, M2) of two groups (Chan et al.); empty groups are harmless."""
    n = n_a + n_b
    with np.errstate(invalid="ignore", divide="ignore"):
        share_b = np.where(n > 0, n_b / np.where(n > 0, n, 1), 0.0)
    delta = mean_b - mean_a
    mean = mean_a + delta * share_b
    m2 = m2_a + m2_b + delta**2 * n_a * share_b
    return mean, m2


class PartitionWork:
    """What a worker does with one partition: explain every row and reduce (a ``Partial``).

    Picklable: the session's model adapter, schema and surrogate travel to each worker once.
    ``hold`` and ``on_rows`` are for the in-process backend only (the live panel's gate, the
    progress within a part) and stay behind. Between its steps it looks at the backend's
    stop (``compute.part_stop()``), so a stopped pass ends within a step, also on a worker.
    """

    def __init__(
        self,
        plan: Plan,
        schema: FeatureSchema,
        adapter: Any,
        contributions: Contributions,
        surrogate: Any,
        *,
        hold: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
        on_rows: Callable[[int, int], None] | None = None,
    ) -> None:
        self.plan = plan
        self.schema = schema
        self.adapter = adapter
        self.contributions = contributions
        self.surrogate = surrogate
        self.hold = hold
        self.on_rows = on_rows  # on_rows(part, rows of it done), after every step

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "hold": None, "on_rows": None}

    def __call__(self, frame: pd.DataFrame, part: int) -> Partial:
        try:
            return self._explain_part(frame, part)
        except Exception as exc:
            # Its rows are known once it is read: the sample's rows after it keep
            # global_data's own numbers.
            exc.part_rows = len(frame)  # type: ignore[attr-defined]
            raise

    def _explain_part(self, frame: pd.DataFrame, part: int) -> Partial:
        plan = self.plan
        where = f"global_data's part {part}"
        missing = [name for name in plan.names if name not in frame.columns]
        if missing:  # a Dask part unlike its frame's declared columns
            raise ValueError(
                f"{where} lacks columns of X: {first_names(missing)}. Every part needs X's "
                "columns (a Parquet file written without them, or a part built by hand)."
            )
        index = frame.index
        frame = frame[plan.names].reset_index(drop=True)
        check_numbers(frame, self.schema, where)
        # Dask's parts are first seen here; an infinite value would reach shap and the
        # model as a failure of their own (or a number) rather than this clear error.
        check_columns(frame, where)
        check_whole_columns(frame, self.schema.dtypes, where)
        check_missing(frame, self.schema, where)
        n = len(frame)
        stop = part_stop()
        most = self._most_rows()
        keys = self._sample_keys(frame, index, most)
        # The rows of this part that can be in the sample: its sample_rows smallest keys.
        cut = np.uint64(
            np.partition(keys, plan.sample_rows - 1)[plan.sample_rows - 1]
            if n > plan.sample_rows
            else np.iinfo(np.uint64).max
        )
        # Under the gate, steps short enough for the live panel; elsewhere (a worker) steps
        # that grow from one row towards WORKER_STEP_SECONDS, so a stop is seen that soon.
        step = min(most, self.contributions.live_rows) if self.hold is not None else 1
        total = self.empty()
        start = 0
        while start < n:
            stop.check()
            began = time.perf_counter()
            rows = frame.iloc[start : start + step]
            hold = self.hold() if self.hold is not None else contextlib.nullcontext()
            with hold:
                piece = self._reduce(rows, part, keys[start : start + step], start, cut)
            total = merge(total, piece)
            start += len(rows)
            if self.on_rows is not None:
                self.on_rows(part, start)
            if self.hold is None:
                took = max(time.perf_counter() - began, 1e-6)
                fits = int(len(rows) * WORKER_STEP_SECONDS / took)
                step = max(1, min(most, 4 * step, fits))
        total.part_rows = {part: n}
        return total

    def _sample_keys(self, frame: pd.DataFrame, index: pd.Index, most: int) -> np.ndarray:
        """Each row's key for the sample: random from ``random_state`` and the row itself
        (its index label and its values as X encodes them), so a row draws the same key in
        any part of any partitioning, in process or on a worker (keys from the part's
        number drew other rows when a Client was active, or for other npartitions). A row
        repeated in this part takes its repeat's key (their keys are independent draws, not
        one); the same row (index label and values) in two parts has one key there."""
        try:
            labels = pd.util.hash_pandas_object(index, index=False)
        except TypeError:  # labels pandas cannot hash (lists): by their text
            labels = pd.util.hash_pandas_object(index.map(repr), index=False)
        hashes = _mix(labels.to_numpy(np.uint64))
        for start in range(0, len(frame), most):  # X's encoding, a step's rows at a time
            block = slice(start, start + most)
            hashes[block] = _hash_rows(self.schema.encode(frame.iloc[block]), hashes[block])
        order = np.argsort(hashes, kind="stable")
        ordered = hashes[order]
        first = np.r_[True, ordered[1:] != ordered[:-1]]
        at = np.arange(len(ordered))
        repeat = np.empty(len(ordered), dtype=np.uint64)
        repeat[order] = at - np.maximum.accumulate(np.where(first, at, 0))
        seed = _mix(np.array([self.plan.random_state & _BITS], dtype=np.uint64))
        return _mix(_mix(hashes ^ seed) ^ _mix(repeat))

    def _most_rows(self) -> int:
        """The most rows in one step (FLOATS_PER_STEP SHAP values at once)."""
        plan = self.plan
        per_row = max(1, len(plan.names) * plan.n_outputs)
        return max(1, FLOATS_PER_STEP // per_row)

    def _for_model(self, frame: pd.DataFrame, where: str) -> pd.DataFrame:
        """The rows with X's dtypes where theirs differ (Parquet may widen integers or turn
        text into categories): the model gets what it was fit on. A column that cannot take
        X's dtype is an error naming it (passed on as it was, a NaN in an int or bool column
        reached the model, which failed with its own error or answered for a value it was
        never fit on)."""
        changed = {}
        for name, dtype in self.schema.dtypes.items():
            if frame[name].dtype == dtype:
                continue
            column = frame[name]
            if isinstance(dtype, pd.CategoricalDtype):
                # A category X lacks is missing to the model (counted apart). By codes:
                # pandas deprecates astype making it so, and ``where`` would turn integer
                # categories into floats first (2**53 + 1 read as 2**53).
                codes = dtype.categories.get_indexer(column)
                changed[name] = pd.Series(
                    pd.Categorical.from_codes(codes, dtype=dtype), index=column.index
                )
                continue
            try:
                changed[name] = column.astype(dtype)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"{where}: column {name!r} ({column.dtype}) cannot be read as X's {dtype} "
                    f"({type(exc).__name__}: {exc}). Give it X's dtype and values."
                ) from exc
        return frame.assign(**changed) if changed else frame

    def empty(self) -> Partial:
        """The reduction of no rows."""
        plan = self.plan
        F, K, B = len(plan.names), plan.n_outputs, plan.n_bins
        n_explained, cells = len(plan.outputs), len(plan.prediction_edges) + 1
        return Partial(
            rows=0,
            part_rows={},
            abs_sum=np.zeros((F, K)),
            bin_count=np.zeros((F, B)),
            bin_value_sum=np.zeros((F, B)),
            bin_mean=np.zeros((F, B, n_explained)),
            bin_m2=np.zeros((F, B, n_explained)),
            prediction_counts=np.zeros((n_explained, cells)),
            prediction_mean=np.zeros(n_explained),
            prediction_m2=np.zeros(n_explained),
            prediction_min=np.full(n_explained, np.nan),
            prediction_max=np.full(n_explained, np.nan),
            class_counts=np.zeros(K),
            agree=0.0,
            squared_error=0.0,
            rule_rows=np.zeros(plan.n_rules),
            rule_agree=np.zeros(plan.n_rules),
            sketch=[None if g is None else np.zeros(len(g) + 1) for g in plan.sketch_grids],
            overflow=[None if g is None else ({}, {}) for g in plan.sketch_grids],
            minimum=np.full(F, np.nan),
            maximum=np.full(F, np.nan),
            missing=np.zeros(F),
            category_counts=[
                np.zeros(c) if d else None for c, d in zip(plan.n_categories, plan.discrete)
            ],
            unseen=np.zeros(F),
            unseen_examples={},
            sample_key=np.zeros(0, dtype=np.uint64),
            sample_part=np.zeros(0, dtype=np.int64),
            sample_position=np.zeros(0, dtype=np.int64),
            sample_encoded=np.zeros((0, F)),
            sample_values=np.zeros((0, F, n_explained)),
            base_values=np.zeros(K),
            additivity_error=0.0,
            non_additive_rows=0,
            non_additive_gap=0.0,
            sample_limit=plan.sample_rows,
        )

    def _reduce(
        self, frame: pd.DataFrame, part: int, keys: np.ndarray, start: int, cut: np.uint64
    ) -> Partial:
        plan = self.plan
        outputs_at = list(plan.outputs)
        # Codes from the rows as they are (a category X lacks is counted as unseen), the
        # model's calls with X's dtypes.
        encoded = self.schema.encode(frame)
        model_frame = self._for_model(frame, f"global_data's part {part}")
        predicted = self.adapter.predict(model_frame)
        values, base, expected = self.contributions(
            self.adapter.model_input(model_frame), encoded, predicted
        )
        explained = values[:, :, outputs_at]  # [row, feature, output position]
        result = self.empty()
        n = len(frame)
        result.rows = n
        result.abs_sum = np.abs(values).sum(axis=0)
        result.base_values = base
        result.algorithms = {self.contributions.description}
        error = np.abs(base[None, :] + values.sum(axis=1) - expected)
        result.additivity_error = float(np.nanmax(error)) if error.size else 0.0
        beyond = error > self.contributions.allowed_gap(values, base, expected)
        missed = error[beyond]
        result.non_additive_rows = int(beyond.any(axis=1).sum())
        result.non_additive_gap = float(missed.max()) if missed.size else 0.0
        self._dependence(result, encoded, explained)
        self._predictions(result, predicted)
        self._fidelity(result, encoded, predicted)
        self._features(result, frame, encoded)
        chosen = np.flatnonzero(keys <= cut)
        result.sample_key = keys[chosen]
        result.sample_part = np.full(len(chosen), part, dtype=np.int64)
        result.sample_position = (start + chosen).astype(np.int64)
        result.sample_encoded = encoded[chosen]
        result.sample_values = explained[chosen]
        return result

    def _bins(self, encoded: np.ndarray) -> np.ndarray:
        """Dependence bin of every value, [row, feature]; the last bin is 'missing'."""
        plan = self.plan
        bins = np.empty(encoded.shape, dtype=np.int64)
        for j, edges in enumerate(plan.dependence_edges):
            column = encoded[:, j]
            missing = ~np.isfinite(column)
            if edges is None:  # discrete: the category code; unseen or missing last
                last = plan.n_categories[j]
                codes = np.where(missing, last, column).astype(np.int64)
            else:
                last = len(edges) + 1
                codes = np.searchsorted(edges, np.where(missing, 0.0, column), side="left")
                codes = np.where(missing, last, codes)
            bins[:, j] = codes
        return bins

    def _dependence(self, result: Partial, encoded: np.ndarray, explained: np.ndarray) -> None:
        F, B = result.bin_count.shape
        flat = (self._bins(encoded) + np.arange(F)[None, :] * B).ravel()
        count = np.bincount(flat, minlength=F * B).astype(float)
        safe = np.where(count > 0, count, 1.0)
        values = np.nan_to_num(encoded, nan=0.0).ravel()
        result.bin_count = count.reshape(F, B)
        result.bin_value_sum = np.bincount(flat, weights=values, minlength=F * B).reshape(F, B)
        for o in range(explained.shape[2]):
            s = explained[:, :, o].ravel()
            mean = np.bincount(flat, weights=s, minlength=F * B) / safe
            m2 = np.bincount(flat, weights=(s - mean[flat]) ** 2, minlength=F * B)
            result.bin_mean[:, :, o] = mean.reshape(F, B)
            result.bin_m2[:, :, o] = m2.reshape(F, B)

    def _predictions(self, result: Partial, predicted: np.ndarray) -> None:
        plan = self.plan
        edges = plan.prediction_edges
        for o, k in enumerate(plan.outputs):
            column = predicted[:, k]
            finite = column[np.isfinite(column)]
            # Cell 0 below edges[0], cell i in (edges[i-1], edges[i]], the last above.
            cells = np.searchsorted(edges, finite, side="left")
            cells = np.where(finite == edges[0], 1, cells)  # the lowest edge opens bin 1
            result.prediction_counts[o] = np.bincount(cells, minlength=len(edges) + 1)
            if len(finite):
                result.prediction_mean[o] = finite.mean()
                result.prediction_m2[o] = ((finite - finite.mean()) ** 2).sum()
                result.prediction_min[o], result.prediction_max[o] = finite.min(), finite.max()
        if plan.classify:
            result.class_counts = np.bincount(
                np.argmax(predicted, axis=1), minlength=plan.n_outputs
            ).astype(float)

    def _fidelity(self, result: Partial, encoded: np.ndarray, predicted: np.ndarray) -> None:
        if self.surrogate is None:
            return
        plan = self.plan
        rule_ids = np.fromiter(
            (rule.id for rule in self.surrogate.rules_for_encoded(encoded)),
            dtype=np.int64,
            count=len(encoded),
        )
        surrogate = np.asarray(self.surrogate.predict_encoded(encoded))
        if plan.classify:
            agree = (np.argmax(predicted, axis=1) == surrogate.astype(np.int64)).astype(float)
            result.agree = float(agree.sum())
            result.rule_agree = np.bincount(rule_ids, weights=agree, minlength=plan.n_rules)
        else:
            gap = predicted[:, 0] - surrogate.astype(float)
            result.squared_error = float((gap**2).sum())
            result.rule_agree = np.bincount(rule_ids, weights=np.abs(gap), minlength=plan.n_rules)
        result.rule_rows = np.bincount(rule_ids, minlength=plan.n_rules).astype(float)

    def _features(self, result: Partial, frame: pd.DataFrame, encoded: np.ndarray) -> None:
        plan = self.plan
        for j, grid in enumerate(plan.sketch_grids):
            column = encoded[:, j]
            finite = np.isfinite(column)
            if plan.discrete[j]:
                raw_missing = frame.iloc[:, j].isna().to_numpy()
                unseen = ~finite & ~raw_missing
                result.missing[j] = raw_missing.sum()
                result.unseen[j] = unseen.sum()
                codes = column[finite].astype(np.int64)
                result.category_counts[j] = np.bincount(
                    codes, minlength=plan.n_categories[j]
                ).astype(float)
                if unseen.any():
                    examples = pd.unique(frame.iloc[:, j][unseen])[:UNSEEN_EXAMPLES]
                    result.unseen_examples[j] = [_plain(v) for v in examples]
                continue
            values = column[finite]
            result.missing[j] = (~finite).sum()
            if len(values):
                result.minimum[j], result.maximum[j] = values.min(), values.max()
            assert grid is not None
            if len(grid):  # past X's range: the geometric cells
                unit = plan.sketch_scales[j]
                below, above = values < grid[0], values > grid[-1]
                result.overflow[j] = (
                    _overflow_cells(grid[0] - values[below], unit),
                    _overflow_cells(values[above] - grid[-1], unit),
                )
                values = values[~(below | above)]
            cells = np.searchsorted(grid, values, side="right")
            result.sketch[j] = np.bincount(cells, minlength=len(grid) + 1).astype(float)


_BITS = (1 << 64) - 1


def _mix(values: np.ndarray) -> np.ndarray:
    """SplitMix64 on every element (uint64, wrapping): a bijection whose outputs look
    independent and uniform, the same on every machine (numpy's generators are not
    promised to stay the same across versions)."""
    with np.errstate(over="ignore"):
        z = values + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def _hash_rows(encoded: np.ndarray, start: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each encoded row, from ``start``: equal for equal values (one NaN,
    0.0 and -0.0 alike), whatever the column's dtype was (ints, floats, text or categories)."""
    values = np.where(np.isnan(encoded), np.nan, encoded) + 0.0
    bits = np.asfortranarray(values, dtype=np.float64).view(np.uint64)  # by column
    hashes = start.copy()
    for j in range(bits.shape[1]):
        hashes = _mix(hashes ^ bits[:, j])
    return hashes


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


# -- from the merged reduction to the summary -----------------------------------------------------
def summarise(
    reduced: Reduced[Partial],
    plan: Plan,
    schema: FeatureSchema,
    *,
    session: Any,
    source: Source,
    backend: Backend,
    algorithm: str,
) -> GlobalDataSummary:
    """The GlobalDataSummary of the merged reduction of every part that succeeded."""
    total = reduced.value
    assert isinstance(total, Partial)
    n = total.rows
    F = len(plan.names)
    count = total.bin_count
    safe = np.where(count > 0, count, 1.0)
    labels = [_bin_labels(schema.features[j], plan, j) for j in range(F)]
    value_mean = np.where(count > 0, total.bin_value_sum / safe, np.nan)
    for j, texts in enumerate(labels):
        value_mean[j, len(texts) - 1] = np.nan  # the missing values' bin has no value
    dependence = Dependence(
        edges=list(plan.dependence_edges),
        labels=labels,
        count=count,
        value_mean=value_mean,
        shap_mean=np.where(count[..., None] > 0, total.bin_mean, np.nan),
        shap_std=np.where(count[..., None] > 0, np.sqrt(total.bin_m2 / safe[..., None]), np.nan),
    )
    predictions = PredictionDistribution(
        edges=plan.prediction_edges,
        counts=total.prediction_counts.astype(np.int64),
        mean=total.prediction_mean,
        std=np.sqrt(total.prediction_m2 / max(n, 1)),
        minimum=total.prediction_min,
        maximum=total.prediction_max,
        class_counts=total.class_counts.astype(np.int64) if plan.classify else None,
    )
    fidelity = None
    if plan.n_rules and n:
        if plan.classify:
            value = total.agree / n
        else:  # R² of the surrogate against the model's value (output 0 of a regressor)
            spread = total.prediction_m2[plan.outputs.index(0)]
            value = 1.0 - total.squared_error / spread if spread > 0 else float("nan")
        per_rule = total.rule_agree / np.where(total.rule_rows > 0, total.rule_rows, 1)
        fidelity = SurrogateFidelity(
            metric="accuracy" if plan.classify else "r2",
            value=float(value),
            size=plan.surrogate_rules,
            rule_ids=np.arange(plan.n_rules),
            rule_rows=total.rule_rows.astype(np.int64),
            rule_agreement=np.where(total.rule_rows > 0, per_rule, np.nan),
        )
    features, unseen = _feature_summaries(total, plan, schema)
    return GlobalDataSummary(
        n_rows=n,
        parts=reduced.parts,
        failures=list(reduced.failures),
        source=source.description,
        backend=backend.description,
        algorithm=algorithm,
        feature_names=list(plan.names),
        output_names=[str(name) for name in session.adapter.output_names],
        outputs=plan.outputs,
        base_values=total.base_values,
        mean_abs_shap=total.abs_sum / max(n, 1),
        dependence=dependence,
        predictions=predictions,
        fidelity=fidelity,
        features=features,
        unseen_categories=unseen,
        additivity_error=total.additivity_error,
        non_additive_rows=total.non_additive_rows,
        non_additive_gap=total.non_additive_gap,
        seconds=reduced.seconds,
        sample_rows=plan.sample_rows,
        random_state=plan.random_state,
    )


def _bin_labels(feature: Feature, plan: Plan, j: int) -> list[str]:
    edges = plan.dependence_edges[j]
    if edges is None:
        return [*feature.labels, "missing or unseen"]
    texts = [format_number(float(e), 4) for e in edges]
    if not texts:
        return ["all values", "missing"]
    middle = [f"({a}, {b}]" for a, b in itertools.pairwise(texts)]
    return [f"≤ {texts[0]}", *middle, f"> {texts[-1]}", "missing"]


def _feature_summaries(
    total: Partial, plan: Plan, schema: FeatureSchema
) -> tuple[list[Feature], dict[str, tuple[int, list[Any]]]]:
    """Each feature over every row: quantiles from the sketch, exact ranges and counts."""
    n = max(total.rows, 1)
    features, unseen = [], {}
    for j, feature in enumerate(schema.features):
        if plan.discrete[j]:
            counts = total.category_counts[j]
            assert counts is not None
            features.append(
                Feature(
                    name=feature.name,
                    kind=feature.kind,
                    dtype=feature.dtype,
                    categories=feature.categories,
                    counts=tuple(int(c) for c in counts),
                    missing=float(total.missing[j] / n),
                )
            )
            if total.unseen[j]:
                unseen[feature.name] = (int(total.unseen[j]), total.unseen_examples.get(j, []))
            continue
        grid, cells, overflow = plan.sketch_grids[j], total.sketch[j], total.overflow[j]
        assert grid is not None and cells is not None and overflow is not None
        low, high = float(total.minimum[j]), float(total.maximum[j])
        quantiles: tuple[tuple[float, float], ...] = ()
        if np.isfinite(low):
            bounds = _sketch_cells(grid, overflow, plan.sketch_scales[j])
            counts = np.concatenate(
                [
                    [overflow[0][k] for k in sorted(overflow[0], reverse=True)],
                    cells,
                    [overflow[1][k] for k in sorted(overflow[1])],
                ]
            )
            levels = [(q, _sketch_quantile(q, bounds, counts, low, high)) for q in QUANTILE_LEVELS]
            if feature.kind == "integer":
                levels = [(q, float(np.rint(v))) for q, v in levels]
            quantiles = tuple(levels)
        features.append(
            Feature(
                name=feature.name,
                kind=feature.kind,
                dtype=feature.dtype,
                min=low if np.isfinite(low) else None,
                max=high if np.isfinite(high) else None,
                quantiles=quantiles,
                missing=float(total.missing[j] / n),
            )
        )
    return features, unseen


def _overflow_unit(grid: np.ndarray | None) -> float:
    """The unit of the sketch's cells past X's range: X's range (1, or its one value's
    size, when X holds one value)."""
    if grid is None or not len(grid):
        return 1.0
    span = float(grid[-1] - grid[0])
    return span if span > 0 else max(abs(float(grid[-1])), 1.0)


def _overflow_cells(distance: np.ndarray, unit: float) -> dict[int, float]:
    """Rows per geometric cell of their (positive) distances past X's edge."""
    if not len(distance):
        return {}
    scaled = np.maximum(distance / unit, OVERFLOW_NEAREST)
    cells = np.ceil(np.log(scaled) / np.log(OVERFLOW_RATIO)).astype(np.int64)
    keys, rows = np.unique(cells, return_counts=True)
    return dict(zip(keys.tolist(), rows.astype(float).tolist()))


def _sketch_cells(
    grid: np.ndarray, overflow: tuple[dict[int, float], dict[int, float]], unit: float
) -> np.ndarray:
    """The ``[low, high]`` bounds (one row per cell, in value order) of the sketch's cells:
    those below X's range (farthest first), X's below/between/above cells, those above."""
    inner = np.concatenate([[-np.inf], grid, [np.inf]])
    dense = np.column_stack([inner[:-1], inner[1:]])
    if not len(grid):
        return dense
    dense[-1] = grid[-1]  # past X's max: the overflow's; what stays is X's max itself
    nearest = int(np.ceil(np.log(OVERFLOW_NEAREST) / np.log(OVERFLOW_RATIO)))

    def distances(keys: list[int]) -> np.ndarray:
        k = np.asarray(keys, dtype=float).reshape(-1)
        far = unit * OVERFLOW_RATIO**k
        near = np.where(k <= nearest, 0.0, unit * OVERFLOW_RATIO ** (k - 1))
        return np.column_stack([near, far])

    below = distances(sorted(overflow[0], reverse=True))
    above = distances(sorted(overflow[1]))
    return np.concatenate([grid[0] - below[:, ::-1], dense, grid[-1] + above])


def _sketch_quantile(
    q: float, bounds: np.ndarray, cells: np.ndarray, low: float, high: float
) -> float:
    """Quantile ``q`` from rows per cell (``bounds``: each cell's low and high), interpolated
    linearly within its cell: exact at 0 and 1, otherwise within one cell (one of X's 256
    quantile cells in X's range, 1% of the distance from X's edge past it)."""
    if q <= 0:
        return low
    if q >= 1:
        return high
    lows = np.clip(bounds[:, 0], low, high)
    highs = np.clip(bounds[:, 1], low, high)
    total = cells.sum()
    target = q * total
    cumulative = np.cumsum(cells)
    c = int(np.searchsorted(cumulative, target, side="left"))
    c = min(c, len(cells) - 1)
    before = cumulative[c] - cells[c]
    share = (target - before) / cells[c] if cells[c] else 0.0
    value = lows[c] + (highs[c] - lows[c]) * min(max(share, 0.0), 1.0)
    return float(min(max(value, low), high))


# -- the entry point ---------------------------------------------------------------------------------
def explain_global_data(
    session: Any,
    global_data: Any,
    *,
    client: Any = None,
    progress: Progress | None = None,
    stop: Stop | None = None,
    sample_rows: int = SAMPLE_ROWS,
    algorithm: Algorithm = "auto",
    outputs: Sequence[int] | None = None,
    partition_rows: int | None = None,
    retries: int = 2,
    warn: bool = True,
) -> GlobalExplanation:
    """SHAP values over every row of ``global_data``, reduced (see the module docstring).

    ``global_data`` has exactly the columns of the session's X; it is checked before any
    long work. The work runs on ``client``'s cluster, or the active ``dask.distributed``
    Client's, otherwise (or with ``client=False``) in this process, holding the session's
    gate one step at a time so the live panel goes first. When the model cannot be pickled
    for the workers, an active Client is passed over with a warning (in process), a given
    ``client`` is an error. ``progress(done, total)`` counts rows in process for a pandas
    ``global_data`` (step by step), parts otherwise (a cluster's finished tasks). ``stop``
    (set by ``w.close()`` or a newer computation) cancels the queued tasks and stops the
    running ones at their next step. A part that fails
    (after Dask's ``retries``) is reported in ``summary.failures``, the results say how
    many rows they cover and a RuntimeWarning says so, as a UserWarning names categories
    X lacks (``warn=False``: a session's global views, in the widget's own thread, whose
    reader is warned, and told what it can do when the model cannot be pickled); when
    every part fails, the first error is raised.

    ``outputs``: the outputs whose binned dependence, prediction histogram and sample SHAP
    values are kept (default: every output of a binary classifier or regressor, the
    session's target class otherwise); mean |SHAP| is kept for every output.
    """
    started = time.perf_counter()
    if isinstance(sample_rows, bool) or not isinstance(sample_rows, (int, np.integer)):
        raise TypeError(f"sample_rows must be an int number of rows, not {sample_rows!r}.")
    if sample_rows < 1:
        raise ValueError(f"sample_rows must be at least 1, not {sample_rows}.")
    stop = stop or NEVER
    backend = choose_backend(client, retries=retries)
    on_cluster = isinstance(backend, DaskCluster)
    rows = partition_rows or (CLUSTER_ROWS if on_cluster else IN_PROCESS_ROWS)
    source = read_global_data(global_data, session.schema, partition_rows=rows)
    contributions = choose_contributions(session, algorithm)
    plan = make_plan(
        session, outputs=outputs, sample_rows=int(sample_rows), random_state=session.random_state
    )
    work = PartitionWork(plan, session.schema, session.adapter, contributions, session.surrogate)
    if on_cluster:
        why = _why_not_shippable(work)
        if why is not None:
            backend = _in_process_instead(
                session, why, client_given=client is not None, for_views=not warn
            )
            on_cluster = False
            if isinstance(source.parts, Chunks):  # a pandas frame: the in-process part size
                chunks = Chunks(source.parts.data, partition_rows or IN_PROCESS_ROWS)
                source = Source(chunks, source.description)
    gate = getattr(session, "gate", None)
    if gate is not None and not on_cluster:
        work.hold = gate.hold
    bar = None
    if progress is None:
        from tqdm import tqdm

        bar = tqdm(desc="Global SHAP over global_data", leave=False)

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

    report = progress
    sizes = None if on_cluster else _part_sizes(source.parts)
    session.global_progress_unit = "rows" if sizes is not None else "partitions"
    if sizes is not None:  # in process, with every part's rows known: progress in rows
        if bar is not None:
            bar.unit = "row"
        report, work.on_rows = _rows_progress(progress, sizes)
    elif bar is not None:
        bar.unit = "part"
    try:
        reduced = backend.map_reduce(work, source.parts, merge, progress=report, stop=stop)
    finally:
        if bar is not None:
            bar.close()
    if reduced.value is None or reduced.value.rows == 0:
        if reduced.failures:
            first = reduced.failures[0]
            raise RuntimeError(
                f"Every part of global_data failed; the first: {first.text()}"
            ) from first.exception
        raise ValueError("global_data has no rows: pass the rows to explain.")
    total: Partial = reduced.value
    chosen = sorted(total.algorithms)
    if len(chosen) > 1:
        raise RuntimeError(f"The parts were explained with different algorithms: {chosen}.")
    summary = summarise(
        reduced,
        plan,
        session.schema,
        session=session,
        source=source,
        backend=backend,
        algorithm=chosen[0],
    )
    # The sample in data order, each row numbered by its place in global_data: where every
    # part's rows are known (a pandas frame's chunks, failed ones too), else among the rows
    # of the parts explained (the summary says so when a part failed).
    part_sizes = dict(enumerate(_part_sizes(source.parts) or [])) or dict(total.part_rows)
    for failure in reduced.failures:  # a failed part's rows, where it was read
        rows_read = getattr(failure.exception, "part_rows", None)
        if rows_read is not None:
            part_sizes.setdefault(failure.part, int(rows_read))
    failed = {failure.part for failure in reduced.failures}
    if not failed <= set(part_sizes):
        summary = dataclasses.replace(summary, rows_numbered_by_data=False)
    offsets, at = {}, 0
    for part in sorted(part_sizes):
        offsets[part] = at
        at += part_sizes[part]
    if warn:
        summary.warn_reader()
    numbers = np.array(
        [offsets[p] + i for p, i in zip(total.sample_part, total.sample_position)], dtype=np.int64
    )
    order = np.argsort(numbers, kind="stable")
    return GlobalExplanation(
        rows=numbers[order],
        values=total.sample_values[order],
        base_values=total.base_values,
        encoded=total.sample_encoded[order],
        feature_names=list(plan.names),
        output_names=summary.output_names,
        total_rows=summary.n_rows,
        algorithm=chosen[0],
        seconds=time.perf_counter() - started,
        outputs=plan.outputs,
        summary=summary,
        # importance() and to_shap() name features by X's own column labels (ints, tuples)
        feature_labels=session.schema.labels if session.schema.own_labels else None,
    )


def _why_not_shippable(work: PartitionWork) -> str | None:
    """Why the work cannot be pickled for the Dask workers (as distributed pickles it, with
    cloudpickle), or None when it can."""
    import cloudpickle

    try:
        work.contributions.prepare_to_ship()
        cloudpickle.dumps(work)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _in_process_instead(
    session: Any, why: str, *, client_given: bool, for_views: bool
) -> InProcess:
    """In process in place of the active Client's cluster, with a warning; a given client
    is an error (it was asked for). The warning's advice is what its reader can do: a
    caller of explain_global_data passes client=False; a session's global views (a
    widget's) take no client, and use whichever one is active when they are computed."""
    model = type(session.adapter.model).__name__
    if client_given:
        raise TypeError(
            f"The model ({model}) cannot be sent to the Dask workers ({why}). Make it "
            "picklable (no locks, open files or connections in its attributes), or explain "
            "in this process with explain_global_data(..., client=False)."
        )
    if for_views:
        skip = (
            "The global views use the Client active when they are computed: with none active "
            "(a Client made with set_as_default=False never is) they run in this process "
            "without this warning."
        )
    else:
        skip = (
            "Or pass explain_global_data(..., client=False) to skip the cluster without this "
            "warning."
        )
    warn_caller(
        f"global_data is explained in this process, not on the active Dask cluster: the "
        f"model ({model}) cannot be sent to its workers ({why}). Make the model picklable "
        f"to use the cluster (no locks, open files or connections in its attributes). {skip}",
        UserWarning,
    )
    backend = InProcess()
    backend.description = "in process (the model cannot be pickled for the Dask workers)"
    return backend


def _part_sizes(parts: Parts) -> list[int] | None:
    """The rows of every part, when known before reading them (a pandas frame's chunks)."""
    if not isinstance(parts, Chunks):
        return None
    n = len(parts.data)
    return [min(parts.rows, n - start) for start in range(0, n, parts.rows)]


def _rows_progress(
    progress: Progress, sizes: list[int]
) -> tuple[Progress, Callable[[int, int], None]]:
    """Progress in rows from the backend's parts done and the work's rows done within the
    part under way: ``(report for the backend, on_rows for the work)``."""
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
    total = starts[-1]
    shown = [-1]

    def show(done: int) -> None:
        if done != shown[0]:  # a part's last step and its end are the same rows
            shown[0] = done
            progress(done, total)

    def parts_done(done: int, _parts: int) -> None:
        show(starts[done])

    def rows_done(part: int, rows: int) -> None:
        show(starts[part] + rows)

    return parts_done, rows_done
