"""Global SHAP: the SHAP values of many rows at once, computed once and cached.

Over X (``compute_global``): a large X is explained on a random sample (``GLOBAL_ROWS``;
fewer for the model-agnostic permutation algorithm, which calls the model thousands of
times per row, and for models with many outputs, where TreeSHAP's cost grows with each
output). The charts say how many rows they show. The values are the same the local panel
shows for those rows: the same explainer, the same background.

Over ``global_data`` (global_data.py): every row is explained partition by partition and
only reductions come back, kept in a ``GlobalDataSummary`` (mean |SHAP| over every row,
binned dependence, the prediction distribution, the surrogate's fidelity over every row,
the features' quantiles and categories, the parts that failed); the explanation's rows
and values are then a stated uniform sample of the data for the beeswarm.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .compute import InProcess, PartFailure, Selected
from .data import Feature
from .jobs import Stop
from .warn import warn_caller

GLOBAL_ROWS = 1000  # rows explained for the global views (tree and linear SHAP)
GLOBAL_ROWS_PERMUTATION = 200  # the model-agnostic algorithm: ~10 permutations per row
# TreeSHAP's cost grows with the model's outputs (60 classes: ~50x a binary model's), so the
# default sample keeps rows x outputs within this budget, and at least MIN_GLOBAL_ROWS rows.
ROW_OUTPUT_BUDGET = 2 * GLOBAL_ROWS
MIN_GLOBAL_ROWS = 100
UNSEEN_SHARE_NOTED = 0.01  # a share of unseen categories the summary's text points out
CHUNK_ROWS = 50  # rows per step: the progress bar moves and live requests slip in between
PIECE_SECONDS = 1.0  # about how long a chunk's piece takes (global SHAP's progress moves)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Dependence:
    """Binned dependence of every feature: SHAP per value bin, over every row.

    Bin ``b`` of a numeric feature holds the values in ``(edges[b-1], edges[b]]`` (the first
    bin everything up to ``edges[0]``, the last everything above the last edge); a discrete
    feature has one bin per category code. The last bin of every feature holds its missing
    (and, for a category, unseen) values. Arrays are ``[feature, bin]`` and
    ``[feature, bin, output]``; bins a feature does not have hold zero rows.
    """

    edges: list[np.ndarray | None]  # inner edges per numeric feature, None for discrete
    labels: list[list[str]]  # per feature, one label per bin it has
    count: np.ndarray  # [feature, bin] rows
    value_mean: np.ndarray  # [feature, bin] mean encoded value
    shap_mean: np.ndarray  # [feature, bin, output position]
    shap_std: np.ndarray  # [feature, bin, output position]


@dataclass(frozen=True)
class PredictionDistribution:
    """Histogram of the model's output over every row, per explained output.

    ``counts[o]`` has one count below ``edges[0]``, one per bin, one above ``edges[-1]``.
    """

    edges: np.ndarray
    counts: np.ndarray  # [output position, bin + 2]
    mean: np.ndarray  # [output position]
    std: np.ndarray
    minimum: np.ndarray
    maximum: np.ndarray
    class_counts: np.ndarray | None  # rows per predicted class (classifiers)


@dataclass(frozen=True)
class SurrogateFidelity:
    """The surrogate against the model on every row: overall, and per rule."""

    metric: str  # "accuracy" (the model's class) or "r2" (the model's value)
    value: float
    size: int  # rules read by the surrogate measured
    rule_ids: np.ndarray
    rule_rows: np.ndarray  # rows each rule covers
    # Per rule: the share of its rows where the model predicts the rule's class, or for
    # regression the mean |model - rule| over its rows.
    rule_agreement: np.ndarray

    def rules(self) -> pd.DataFrame:
        """One row per rule: its id, the rows it covers, their share and its agreement."""
        total = max(1, int(self.rule_rows.sum()))
        name = "agreement" if self.metric == "accuracy" else "mean |model - rule|"
        return pd.DataFrame(
            {
                "rule": self.rule_ids,
                "rows": self.rule_rows,
                "coverage": self.rule_rows / total,
                name: self.rule_agreement,
            }
        )


@dataclass(frozen=True)
class GlobalDataSummary:
    """What every row of ``global_data`` says, reduced partition by partition.

    ``mean_abs_shap`` is ``[feature, output]`` for every output; the dependence, the
    prediction histogram and the sample's SHAP values are for ``outputs``.
    """

    n_rows: int
    parts: int
    failures: list[PartFailure]
    source: str
    backend: str
    algorithm: str
    feature_names: list[str]
    output_names: list[str]
    outputs: tuple[int, ...]
    base_values: np.ndarray
    mean_abs_shap: np.ndarray
    dependence: Dependence
    predictions: PredictionDistribution
    fidelity: SurrogateFidelity | None
    features: list[Feature]  # quantiles, ranges and category counts over every row
    unseen_categories: dict[str, tuple[int, list[Any]]]  # name -> (rows, a few examples)
    additivity_error: float  # max |base + sum(SHAP) - output| over every row
    # Rows where that is more than exact values may miss by (the panel's tolerance), and
    # the most one of them misses by.
    non_additive_rows: int
    non_additive_gap: float
    seconds: float
    sample_rows: int
    random_state: int
    # Whether the sample's row numbers are global_data's own: they are not when a part
    # failed whose number of rows is unknown (a Dask part's); they then count the rows of
    # the parts explained, in order.
    rows_numbered_by_data: bool = True

    @property
    def coverage_text(self) -> str:
        """``all 2,000,000 rows`` or ``1,950,000 rows (1 of 40 parts failed)``."""
        if not self.failures:
            return f"all {self.n_rows:,} rows"
        return f"{self.n_rows:,} rows ({len(self.failures)} of {self.parts} parts failed)"

    def warn_reader(self) -> None:
        """What the charts' text says, told to code reading the numbers: categories X lacks
        (UserWarning), values that do not add up and failed parts (RuntimeWarning)."""
        if self.unseen_text:
            warn_caller(f"global_data holds {self.unseen_text}.", UserWarning)
        if self.additivity_text:
            warn_caller(f"The global explanation has {self.additivity_text}.")
        if self.failures:
            numbering = (
                ""
                if self.rows_numbered_by_data
                else " The sample's row numbers count the rows of the parts explained, in "
                "order (the failed parts' rows are unknown), not global_data's own."
            )
            warn_caller(
                f"The global explanation covers {self.coverage_text}; the first failure: "
                f"{self.failures[0].text()}{numbering}"
            )

    def importance(self, output: int = 0) -> pd.Series:
        """Mean |SHAP| per feature over every row, largest first."""
        series = pd.Series(
            self.mean_abs_shap[:, output], index=self.feature_names, name="mean |SHAP|"
        )
        return series.sort_values(ascending=False, kind="stable")

    def position(self, output: int) -> int:
        """Where ``output`` sits among the explained outputs, or a clear error."""
        if output not in self.outputs:
            shown = [self.output_names[k] for k in self.outputs]
            raise ValueError(
                f"The binned views were computed for outputs {shown}, not "
                f"{self.output_names[output]!r}: {_explain_again(self.output_names, output)}"
            )
        return self.outputs.index(output)

    def dependence_frame(self, feature: str | int, output: int = 0) -> pd.DataFrame:
        """The binned dependence of one feature: per bin its label, rows, mean value, and
        the mean and standard deviation of the feature's SHAP value."""
        j = feature if isinstance(feature, int) else self.feature_names.index(feature)
        o = self.position(output)
        d = self.dependence
        n_bins = len(d.labels[j])
        return pd.DataFrame(
            {
                "bin": d.labels[j],
                "rows": d.count[j, :n_bins].astype(np.int64),
                "value": d.value_mean[j, :n_bins],
                "shap_mean": d.shap_mean[j, :n_bins, o],
                "shap_std": d.shap_std[j, :n_bins, o],
            }
        )

    def prediction_histogram(self, output: int = 0) -> pd.DataFrame:
        """Rows per bin of the model's output (with the rows below and above the bins)."""
        p = self.predictions
        o = self.position(output)
        low = np.concatenate([[p.minimum[o]], p.edges])
        high = np.concatenate([p.edges, [p.maximum[o]]])
        frame = pd.DataFrame({"low": low, "high": high, "rows": p.counts[o]})
        # The cells below and above the bins only when rows fall there.
        outside = frame.index.isin([0, len(frame) - 1]) & (frame["rows"] == 0)
        return frame[~outside].reset_index(drop=True)

    def text(self) -> str:
        """A sentence for the panel's status line."""
        parts = [
            f"SHAP values of {self.coverage_text} of {self.source}, computed {self.backend} "
            f"in {self.seconds:.1f} s ({self.algorithm})"
        ]
        if self.fidelity is not None:
            metric = "accuracy" if self.fidelity.metric == "accuracy" else "R²"
            parts.append(f"surrogate {metric} over these rows {self.fidelity.value:.3f}")
        if self.unseen_text:
            parts.append(self.unseen_text)
        if self.additivity_text:
            parts.append(self.additivity_text)
        parts.extend(f.text() for f in self.failures[:3])
        return "; ".join(parts)

    @property
    def additivity_text(self) -> str | None:
        """Words on the rows whose SHAP values do not add up to the model's output within
        what exact values may miss by, or None."""
        if not self.non_additive_rows:
            return None
        return (
            f"SHAP values that do not add up on {self.non_additive_rows:,} of "
            f"{self.n_rows:,} rows: base value + sum of values misses the model's output by "
            f"up to {self.non_additive_gap:.3g} ({self.algorithm}), more than exact values may"
        )

    @property
    def unseen_text(self) -> str | None:
        """Words on the columns where a noticeable share of the rows hold categories X
        lacks (the model got them as missing), or None."""
        noted = [
            f"{name!r} in {rows:,} rows ({rows / self.n_rows:.0%}), e.g. "
            + ", ".join(map(repr, examples))
            for name, (rows, examples) in self.unseen_categories.items()
            if self.n_rows and rows / self.n_rows >= UNSEEN_SHARE_NOTED
        ]
        if not noted:
            return None
        return (
            f"categories X lacks, explained as missing: {'; '.join(noted)}; give these "
            "columns X's categories"
        )


@dataclass(frozen=True)
class GlobalExplanation:
    """SHAP values of ``rows``: ``values[row, feature, output]``, ``base_values[output]``.

    Over X, ``rows`` are rows of X and ``values`` has every output. Over ``global_data``
    (``summary`` is set), ``rows`` are row numbers of that data (a uniform sample, in the
    order of its partitions), ``values[:, :, i]`` is output ``outputs[i]``, and
    ``importance()`` covers every row.
    """

    rows: np.ndarray
    values: np.ndarray
    base_values: np.ndarray
    encoded: np.ndarray
    feature_names: list[str]
    output_names: list[str]
    total_rows: int
    algorithm: str
    seconds: float
    outputs: tuple[int, ...] | None = None  # None: every output, in order
    summary: GlobalDataSummary | None = field(default=None, repr=False)
    # The output read when none is named: the widget's target (class 0 would flip every
    # sign of a binary classifier's P(class 1) view); else the first one computed.
    default_output: int | None = None
    # The encoded rows -> X's own values (None: the codes are the values).
    decode: Callable[[np.ndarray], pd.DataFrame] | None = field(
        default=None, repr=False, compare=False
    )
    # X's own column label of each feature where they are not all text (ints, tuples):
    # importance() and to_shap() name features by them (None: by feature_names).
    feature_labels: list[Any] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        outputs = ", ".join(
            self.output_names[i] for i in self.outputs or range(len(self.output_names))
        )
        return (
            f"GlobalExplanation: SHAP values ({self.algorithm}) of {self.sample_text} x "
            f"{len(self.feature_names)} features, for {outputs}; computed in "
            f"{self.seconds:.1f} s. Read them with .importance() or .to_shap()."
        )

    @property
    def rows_are_X(self) -> bool:
        """Whether ``rows`` are rows of X (False: rows of ``global_data``)."""
        return self.summary is None

    @property
    def sampled(self) -> bool:
        """Whether the rows are a sample rather than all of them."""
        return len(self.rows) < self.total_rows

    @property
    def sample_text(self) -> str:
        """ "all 569 rows" or "a random sample of 1,000 of 100,000 rows"."""
        if not self.sampled:
            return f"all {self.total_rows:,} rows"
        kind = "uniform random sample" if self.summary is not None else "random sample"
        return f"a {kind} of {len(self.rows):,} of {self.total_rows:,} rows"

    @property
    def importance_text(self) -> str:
        """Which rows ``importance()`` covers, for a chart's subtitle."""
        if self.summary is not None:
            return f"{self.summary.coverage_text} of the global data"
        return self.sample_text

    def has_output(self, output: int) -> bool:
        """Whether ``values`` holds this output."""
        return self.outputs is None or output in self.outputs

    def output(self, output: int | str | None = None) -> int:
        """The output a reader means: ``output`` itself (a class name as ``w.target`` has
        it, else a position), or when None the default one (the widget's target, else the
        first output computed); a clear error for one there is not."""
        if output is not None:
            names = [str(name) for name in self.output_names]
            # A label first, as w.target reads it: with classes [1, 2, 3], 2 is the class 2
            # (read as a position first, it was class 3's values under class 2's name).
            if str(output) in names:
                return names.index(str(output))
            # A number names the class it equals: 2 is the class 2.0 (read as the position
            # 2, it was class 3.0's values), 2.0 the class 2, as w.target reads them.
            equal = [i for i, name in enumerate(names) if _same_number(name, output)]
            if equal:
                return equal[0]
            position = isinstance(output, (int, np.integer)) and not isinstance(output, bool)
            if position and 0 <= int(output) < len(names):
                return int(output)
            raise ValueError(
                f"There is no output {output!r}: give a position 0..{len(names) - 1} or one "
                f"of {names}."
            )
        if self.default_output is not None:
            return self.default_output
        return self.outputs[0] if self.outputs else 0

    # The public members read an output as a reader names it (``output``: a class label
    # first); the panel's own code holds positions and calls the ``_at`` forms, so that a
    # position 2 is never read as the class labelled 2.
    def output_values(self, output: int | str | None = None) -> np.ndarray:
        """``values`` of one output, ``[row, feature]``; a clear error when not computed."""
        return self.values_at(self.output(output))

    def values_at(self, output: int) -> np.ndarray:
        """``values`` of the output at position ``output``, ``[row, feature]``."""
        if self.outputs is None:
            return self.values[:, :, output]
        if output not in self.outputs:
            shown = [self.output_names[k] for k in self.outputs]
            raise ValueError(
                f"SHAP values were computed for outputs {shown}, not "
                f"{self.output_names[output]!r}: {_explain_again(self.output_names, output)}"
            )
        return self.values[:, :, self.outputs.index(output)]

    def importance(self, output: int | str | None = None) -> pd.Series:
        """Mean |SHAP| per feature for one output (by default the widget's target), largest
        first (over every row of ``global_data`` when there is one); indexed by X's own
        column labels."""
        found = self.importance_at(self.output(output))
        if self.feature_labels is None:
            return found
        label = dict(zip(self.feature_names, self.feature_labels))
        # An Index as X.columns is (tuples make a MultiIndex): found[label] reads as X[label].
        return found.set_axis(pd.Index([label[name] for name in found.index]))

    def importance_at(self, output: int) -> pd.Series:
        """``importance`` of the output at position ``output``."""
        if self.summary is not None:
            return self.summary.importance(output)
        mean_abs = np.abs(self.values_at(output)).mean(axis=0)
        series = pd.Series(mean_abs, index=self.feature_names, name="mean |SHAP|")
        return series.sort_values(ascending=False, kind="stable")

    def contrast_name(self, first: int, second: int) -> str:
        """The name of output ``first`` minus output ``second``: "barolo - barbera"."""
        return f"{self.output_names[first]} \N{MINUS SIGN} {self.output_names[second]}"

    def contrast(self, first: int | str, second: int | str) -> GlobalExplanation:
        """The explanation of output ``first`` minus output ``second`` ("why A and not B"),
        as one output: the difference of the rows' SHAP values (exact, SHAP being linear
        in the output). Over X only: ``global_data`` keeps per-class summaries."""
        return self.contrast_at(self.output(first), self.output(second))

    def contrast_at(self, first: int, second: int) -> GlobalExplanation:
        """``contrast`` of the outputs at positions ``first`` and ``second``."""
        if not self.rows_are_X:
            raise ValueError(
                "A contrast of two classes needs every row's SHAP values: global_data keeps "
                "per-class summaries. Explain the contrast over X (global_data=None)."
            )
        a, b = self.values_at(first), self.values_at(second)
        return replace(
            self,
            values=(a - b)[:, :, None],
            base_values=np.array([self.base_values[first] - self.base_values[second]]),
            output_names=[self.contrast_name(first, second)],
            outputs=None,
            default_output=None,
        )

    def to_shap(self, output: int | str | None = None, data: Any = None) -> Any:
        """One output's values of ``rows`` (by default the widget's target) as a
        ``shap.Explanation``, for shap's own plots. ``data`` (by default X's own values of
        ``rows``): the explained rows, or all of X, a frame read by X's column labels."""
        import shap

        output = self.output(output)
        base = self.base_values[output]
        if data is None:  # X's own values, as a local explanation's to_shap
            data = self.decode(self.encoded) if self.decode is not None else None
        else:
            data = self._explained_data(data)
        if data is None:
            values = self.encoded
        else:
            values = data.to_numpy() if isinstance(data, pd.DataFrame) else np.asarray(data)
        with contextlib.suppress(TypeError, ValueError):  # categories stay labels
            values = values.astype(float)
        return shap.Explanation(
            values=self.values_at(output),
            base_values=np.full(len(self.rows), base),
            data=values,
            # as shap names the columns of a DataFrame: list(X.columns)
            feature_names=self.feature_labels or self.feature_names,
        )

    def _explained_data(self, data: Any) -> Any:
        """``data`` as the values' rows and columns: all of X reduced to the sample's rows
        (its row count unchecked, each value sat beside another row's SHAP values), a
        frame's columns in X's order."""
        labels = self.feature_labels or self.feature_names
        if isinstance(data, pd.DataFrame):
            missing = [label for label in labels if label not in data.columns]
            if missing:
                raise ValueError(f"data has no columns {missing}: give it X's columns.")
            data = data[labels]
        else:
            data = np.asarray(data)
            if data.ndim != 2 or data.shape[1] != len(labels):
                raise ValueError(f"data has shape {data.shape}: give it X's {len(labels)} columns.")
        if len(data) == len(self.rows):
            return data
        if self.rows_are_X and len(data) == self.total_rows:
            return data.iloc[self.rows] if isinstance(data, pd.DataFrame) else data[self.rows]
        raise ValueError(
            f"data has {len(data):,} rows; the SHAP values are of {len(self.rows):,} rows "
            f"({self.sample_text}): give X itself or X.iloc[rows] of this explanation."
        )


def global_rows(
    n_rows: int, *, permutation: bool, limit: int | None = None, outputs: int = 1
) -> int:
    """How many rows the global views explain (``limit`` when given)."""
    if limit is None:
        if permutation:
            limit = GLOBAL_ROWS_PERMUTATION
        else:
            limit = max(MIN_GLOBAL_ROWS, min(GLOBAL_ROWS, ROW_OUTPUT_BUDGET // max(1, outputs)))
    return min(n_rows, limit)


def compute_global(
    explain: Callable[[np.ndarray], Any],
    encoded_X: np.ndarray,
    *,
    n_rows: int,
    feature_names: list[str],
    output_names: list[str],
    algorithm: str,
    random_state: int = 0,
    progress: Progress | None = None,
    stop: Stop | None = None,
) -> GlobalExplanation:
    """SHAP values of ``n_rows`` rows of ``encoded_X`` (all of them, or a seeded sample).

    ``explain(encoded_rows) -> ShapValues`` is called chunk by chunk, in process (the compute
    seam's in-process backend); ``progress(done rows, total rows)`` after each chunk.
    """
    started = time.perf_counter()
    total = len(encoded_X)
    if n_rows < total:
        rng = np.random.default_rng(random_state)
        rows = np.sort(rng.choice(total, n_rows, replace=False))
    else:
        rows = np.arange(total)
    bar = None
    if progress is None:  # a console or a notebook cell: a text bar (no extra widget)
        from tqdm import tqdm

        bar = tqdm(total=len(rows), desc="Global SHAP", unit="row", leave=False)
        progress = lambda done, _total: bar.update(done - bar.n)  # noqa: E731
    parts = Selected(encoded_X, rows, CHUNK_ROWS)
    # A chunk goes in pieces that start at one row and double while they take little: an
    # expensive row (a grown forest of many classes, thousands of features) still moves
    # the progress every few seconds, and cheap ones soon go 50 at a time.
    piece = [1]

    def chunk_values(chunk: np.ndarray, part: int) -> list[Any]:
        found = []
        at = 0
        while at < len(chunk):
            if stop is not None:
                stop.check()
            began = time.perf_counter()
            found.append(explain(chunk[at : at + piece[0]]))
            at += piece[0]
            seconds = time.perf_counter() - began
            if seconds < PIECE_SECONDS / 2:
                piece[0] = min(2 * piece[0], CHUNK_ROWS)
            elif seconds > 2 * PIECE_SECONDS:
                piece[0] = max(1, piece[0] // 2)
            if at < len(chunk):
                progress(part * CHUNK_ROWS + at, len(rows))
        return found

    def append(done: list[Any], more: list[Any]) -> list[Any]:
        done.extend(more)
        return done

    def rows_done(parts_done: int, _parts: int) -> None:
        progress(min(parts_done * CHUNK_ROWS, len(rows)), len(rows))

    try:
        reduced = InProcess(fail_fast=True).map_reduce(
            chunk_values, parts, append, progress=rows_done, stop=stop
        )
    finally:
        if bar is not None:
            bar.close()
    reduced.raise_first_failure()
    results = reduced.value or []
    if results:
        values = np.concatenate([np.asarray(r.values, dtype=float) for r in results])
        base = np.asarray(results[-1].base_values, dtype=float)
    else:
        values = np.zeros((0, len(feature_names), len(output_names)))
        base = np.zeros(len(output_names))
    return GlobalExplanation(
        rows=rows,
        values=values,
        base_values=base,
        encoded=encoded_X[rows],
        feature_names=feature_names,
        output_names=output_names,
        total_rows=total,
        algorithm=algorithm,
        seconds=time.perf_counter() - started,
    )


def _same_number(name: str, output: Any) -> bool:
    """Whether the output name ``name`` is the text of a number equal to ``output``."""
    if isinstance(output, (bool, np.bool_)) or not isinstance(output, (int, float, np.number)):
        return False
    try:
        number = float(name)
    except ValueError:
        return False
    # The name as a number writes it ("2", "2.0"), not any text float() reads ("2_0").
    texts = {str(number), str(int(number))} if number.is_integer() else {str(number)}
    return number == output and name in texts


def _explain_again(output_names: list[str], output: int) -> str:
    """How to get an output the rows were not explained for."""
    return (
        f"in the widget, set w.target = {output_names[output]!r} (global_data is explained "
        f"for the target); from explain_global_data, call it again with outputs=[{output}]."
    )
