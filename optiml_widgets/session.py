"""The session: model, data and explainers, the current row with its what-if edits, and views.

No widget code here: the widget is a thin shell over this class, and tests of the whole
explanation loop need no Jupyter.

Everything an instance needs is computed once (memo.py), keyed by the instance (row and
edits), the explainer, the output and the quality: a view shown before costs no model call.
Slow work streams: the explainers marked ``streamed`` (LIME), the surrogate, the
counterfactual and the global views are built in background jobs (jobs.py), and a view asked
for with ``wait=False`` lists what is still coming in ``pending`` instead of waiting for it.
Every explainer call holds the session's gate, which lets live requests go first.
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from . import payloads
from .boosters import as_estimator
from .counterfactual import FEATURES_TRIED, Counterfactual, Split, find_counterfactual
from .data import (
    ColumnQuantiles,
    Feature,
    FeatureSchema,
    build_schema,
    column_dtypes,
    is_missing,
    row_values,
)
from .explainers import REGISTRY, Attribution, Explainer, Surrogate, TableContext, fit_surrogate
from .explainers.base import (
    Output,
    build,
    check_names,
    check_random_state,
    contrast,
    output_value,
    registered,
)
from .explainers.lime import LimeExplainer
from .explainers.shap import ShapExplainer, ShapValues
from .explainers.surrogate import rule_with_labels
from .explanation import LocalExplanation
from .format import first_names, row_label
from .global_data import explain_global_data
from .global_explanation import GlobalExplanation, compute_global, global_rows
from .global_source import read_global_data
from .inputs import as_frame, check_y, column_labels, names_list
from .jobs import (
    Cancelled,
    Gate,
    Jobs,
    PanelHooks,
    Progress,
    Stop,
    check_stopped,
)
from .live import error_text
from .memo import Memo
from .model import ModelAdapter, align_columns, class_position, classes_as_given
from .progress import wait_for_job, working
from .sweeps import GRID_POINTS, Sweep, display_values, grid_values, sweep_rows
from .warn import warn_caller

SURROGATE = "surrogate"
EXPLAINERS = ("shap", "lime", SURROGATE)
BACKGROUND_ROWS = 100
LIME_TRAINING_ROWS = 10_000
PENDING = object()  # a streamed result that is not there yet
SLOW_MODEL_SECONDS = 0.5
# The first view waits at most about this long for exact permutation SHAP; a model slower
# per row gets the fast view first (a fifth of the model rows), the exact one following.
FIRST_VIEW_SECONDS = 1.0
GLOBAL_DATA_PART_ROWS = 50_000
WIDE_DATA = 64  # more features than this: payloads carry the shown ones, the rest on request
SHOWN_FEATURES = 40
# Curves that cost the model at most this long are computed with an exact answer.
CHEAP_CURVES_SECONDS = 0.05


class _AlgorithmDropped(Exception):
    """Rows of the global views did not add up: SHAP moved on to its next algorithm."""


@dataclass(frozen=True)
class Row:
    """An instance (a row of X with what-if edits), encoded, with the model's outputs."""

    index: int
    key: tuple
    encoded: np.ndarray
    outputs: np.ndarray


class ExplanationSession:
    """Explains a model on the rows of X, one instance at a time, with what-if edits."""

    def __init__(
        self,
        model: Any,
        X: Any,
        y: Any = None,
        *,
        feature_names: Sequence[str] | None = None,
        class_names: Sequence[Any] | None = None,
        categorical_features: Iterable[str] | str | None = None,
        task: str = "auto",
        explainers: Iterable[str] = EXPLAINERS,
        background: Any = None,
        random_state: int = 0,
        global_rows: int | None = None,
        global_data: Any = None,
    ) -> None:
        self.explainer_names = check_names(explainers)
        random_state = check_random_state(random_state)
        model = as_estimator(model)
        numpy_input = not isinstance(X, pd.DataFrame)
        if feature_names is not None:
            feature_names = names_list(feature_names)
        if (
            not numpy_input
            and feature_names is not None
            and [str(c) for c in X.columns] != [str(n) for n in feature_names]
        ):  # renamed, the columns would no longer be what the model reads
            raise ValueError(
                "feature_names names the columns of a numpy X, but X is a DataFrame with "
                "its own column names: leave feature_names out, or rename X's columns "
                "(X.set_axis([...], axis=1)) and fit the model on them."
            )
        frame = as_frame(X, feature_names)
        if hasattr(model, "predict") or hasattr(model, "predict_proba"):
            frame = align_columns(model, frame)
        self.frame = frame
        # The columns whose missing cells read as NaN in a row (row_values): numpy floats'.
        # Elsewhere (Int64, Float64, objects) one reads as None, and so does an edit to one.
        self._nan_columns = frozenset(
            str(name)
            for name, dtype in column_dtypes(frame)
            if isinstance(dtype, np.dtype) and dtype.kind == "f"
        )
        self.row_labels = _own_row_labels(X)
        self.y = check_y(y, X)
        background_frame = _background_frame(background, frame)
        labels = column_labels(X, feature_names)
        self.schema: FeatureSchema = build_schema(
            frame, categorical_features, extra=background_frame, labels=labels
        )
        if len(self.schema) <= WIDE_DATA:  # every feature is shown: its quantiles are sent
            ColumnQuantiles.read_ahead(self.schema.features)
        rng = np.random.default_rng(random_state)
        picked = None
        if background_frame is None:
            picked = np.sort(
                rng.choice(len(frame), min(BACKGROUND_ROWS, len(frame)), replace=False)
            )
        # The model's first call covers the first rows and the background rows: the first
        # view's prediction and SHAP's base value need no call of their own.
        first = np.arange(min(len(frame), 5))
        probe_rows = first if picked is None else np.union1d(first, picked)
        started = time.perf_counter()
        with working("Calling the model on the first rows of X"):
            self.adapter = ModelAdapter(
                model,
                frame,
                task=task,
                class_names=class_names,
                numpy_input=numpy_input,
                probe_rows=probe_rows,
                column_labels=labels or None,
            )
        if self.y is not None:
            _warn_unknown_labels(self.adapter, self.y)
        # A model this slow per call gets a cheaper first view; the exact one follows.
        self.slow_model = time.perf_counter() - started > SLOW_MODEL_SECONDS
        self.random_state = random_state
        self.global_rows = _check_global_rows(global_rows)
        if global_data is not None and global_rows is not None:
            raise ValueError(
                "global_rows samples X for the global views, and global_data replaces X "
                "there (every row of it is explained): pass one of them."
            )
        if global_data is not None:
            # Its columns and types are checked now (metadata only), before any long work.
            read_global_data(global_data, self.schema, partition_rows=GLOBAL_DATA_PART_ROWS)
        self.global_data = global_data
        # What the global pass's progress counts: "rows", or "partitions" (a cluster's
        # tasks, a Dask frame's partitions), as explain_global_data says when it starts.
        self.global_progress_unit = "rows"
        self.encoded_X = self.schema.encode(frame)
        if picked is None:
            self.background = self.schema.encode(background_frame)
        else:
            self.background = self.encoded_X[picked]
        training = self.encoded_X
        # The rows of X whose outputs x_outputs gives: all of them, or a sample spread over
        # X (X's first rows of a frame sorted by the target are no fair median).
        self.x_sample = np.arange(len(training))
        if len(training) > LIME_TRAINING_ROWS:
            picked = np.sort(rng.choice(len(training), LIME_TRAINING_ROWS, replace=False))
            training = training[picked]
            self.x_sample = picked
        self.context = TableContext(
            self.adapter, self.schema, self.background, training, random_state
        )
        rows, outputs = self.adapter.first_outputs
        self.context.remember(self.encoded_X[rows], outputs)
        if background_frame is not None:
            # The caller's rows: called now (as the sampled background is, with the first
            # rows), where a failure can say which rows the model refused.
            try:
                outputs = self.adapter.predict(background_frame)
            except Exception as exc:
                note = getattr(exc, "add_note", None)  # Python 3.11+
                if note is not None:
                    note(
                        "These were the rows passed as background=: pass rows the model "
                        "accepts, like X's, or leave background out for a sample of X."
                    )
                raise
            self.context.remember(self.background, outputs)
        self.jobs = Jobs()
        self.gate = Gate()
        self.memo = Memo()
        # Rows SHAP's fast algorithm missed (encoded bytes -> why), explained by permutation.
        self._repair_notes: dict[bytes, str] = {}
        self.index = 0
        self.edits_by_row: dict[int, dict[str, Any]] = {}
        self._originals: dict[int, dict[str, Any]] = {}
        self._surrogate_size: Surrogate | None = None  # another size the user picked
        self.hooks = PanelHooks()  # the panel's (``start``)
        # The last chart specs built, and what they were built from (the panel's, then the
        # export's: the same specs unless the row, target or feature changed in between).
        self._last_specs: tuple[Any, ...] | None = None
        self.target_index = self._default_target()
        # Another class to contrast the target with ("why target and not versus"), or None.
        self.versus_index: int | None = None

    # -- lifecycle -------------------------------------------------------------------
    def start(self, hooks: PanelHooks | None = None) -> None:
        """Start the slow work in the background, from one job (Jobs.start): the surrogate,
        the streamed explainers, what drags need, then ``hooks.then``."""
        self.hooks = hooks = hooks or PanelHooks()
        steps: list[Callable[[], Any]] = []
        if self.surrogate_enabled:
            steps.append(self._surrogate_job)
        for name in self.local_names:
            if REGISTRY[name].streamed:
                steps.append(partial(self.jobs.submit, f"explainer:{name}", self._builder(name)))
        if "shap" in self.local_names:
            steps.append(self._prepare_live_shap)
        if hooks.then is not None:
            steps.append(hooks.then)
        self.jobs.start(steps)

    def _builder(self, name: str) -> Callable[[Stop, Progress], Explainer | None]:
        """A job that builds explainer ``name`` in the background."""
        return lambda _stop, _progress: self.explainer(name)

    def _prepare_live_shap(self) -> None:
        shap_explainer = self.shap_explainer
        if shap_explainer is not None:
            self.jobs.submit("live-shap", lambda _s, _p: shap_explainer.prepare_live())

    def close(self) -> None:
        """Stop every background job at once."""
        self.jobs.close()

    # -- the current instance -------------------------------------------------
    @property
    def n_rows(self) -> int:
        """Number of rows of X."""
        return len(self.frame)

    @property
    def edits(self) -> dict[str, Any]:
        """What-if edits of the current row."""
        return dict(self.edits_by_row.get(self.index, {}))

    @property
    def target(self) -> Any:
        """The explained output: a class label, or "prediction" for regression."""
        if self.adapter.classes is None:
            return "prediction"
        return self.adapter.classes[self.target_index]

    @property
    def versus(self) -> Any:
        """The class the target is contrasted with, or None."""
        if self.versus_index is None or self.adapter.classes is None:
            return None
        return self.adapter.classes[self.versus_index]

    @property
    def output(self) -> Output:
        """What the views explain: the target's output, or target minus versus."""
        if self.versus_index is None:
            return self.target_index
        return (self.target_index, self.versus_index)

    def original(self, index: int | None = None) -> dict[str, Any]:
        """The row of X as a dict of plain Python values (a fresh copy)."""
        index = self.index if index is None else index
        row = self._originals.get(index)
        if row is None:  # read once: every view of the slider loop needs it twice
            row = self._originals[index] = row_values(self.frame, index)
        return dict(row)

    def instance(
        self, index: int | None = None, edits: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The row plus its what-if edits."""
        index = self.index if index is None else index
        values = self.original(index)
        values.update(self.edits_by_row.get(index, {}) if edits is None else edits)
        return values

    def row_name(self, index: int, *, include_data: bool = True) -> str:
        """How a reader names row ``index``: "row 3 of X", with X's own label after it
        ("row 3 of X · index id56") when X has one that says more than the position
        ("· 212" alone read as another count)."""
        name = f"row {index} of X"
        if self.row_labels is None or not include_data:  # a label can be a customer's id
            return name
        return f"{name} · index {row_label(self.row_labels[index])}"

    def check_index(self, index: Any) -> int:
        """A valid row number, or a clear error."""
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int row number, not {type(index).__name__}.")
        if not 0 <= int(index) < self.n_rows:
            raise ValueError(f"index {index} is out of range: X has rows 0..{self.n_rows - 1}.")
        return int(index)

    def snapshot(self) -> ExplanationSession:
        """This session as it is now, for long work beside the live panel (an export): its
        row, class, contrast, edits and surrogate size fixed; the data, model, explainers,
        caches and jobs shared (an export read them live and mixed classes when the panel's
        target changed meanwhile)."""
        frozen = copy.copy(self)
        frozen.edits_by_row = {index: dict(edits) for index, edits in self.edits_by_row.items()}
        return frozen

    def same_value(self, name: str, a: Any, b: Any) -> bool:
        """Whether two values of feature ``name`` are one (missing values are; categories
        by code)."""
        return _same_value(self.schema[name], a, b)

    def check_edits(self, values: Mapping[str, Any], index: int | None = None) -> dict[str, Any]:
        """Validate what-if values; returns the row's new edit set (edits back to the original dropped)."""
        index = self.index if index is None else index
        merged = dict(self.edits_by_row.get(index, {}))
        original = self.original(index)
        known = set(self.schema.names)  # a panel's request holds every feature's value
        given: dict[str, Any] = {}
        for name, value in values.items():
            name = self.schema.name_of(name)  # X's own label (0, ("a", 1)) names it too
            if name in given:
                raise ValueError(f"Two values name feature {name!r}: give it one.")
            given[name] = value
        for name, value in given.items():
            if name not in known:
                raise KeyError(self.schema.unknown_feature_message(name))
            feature = self.schema[name]
            if _same_value(feature, value, original[name]):
                merged.pop(name, None)
                continue
            coerced = feature.coerce(value)
            if is_missing(coerced) and name not in self._nan_columns:
                coerced = None
            if _same_value(feature, coerced, original[name]):
                merged.pop(name, None)
            else:
                merged[name] = coerced
        return merged

    def check_target(self, target: Any, role: str = "target") -> int:
        """The output position of a class label (or its text), or a clear error naming
        ``role`` (the target, or the class contrasted with it)."""
        classes = self.adapter.classes
        if classes is None:
            if str(target) == "prediction":
                return 0
            raise ValueError(f"Unknown {role} {target!r}: choose one of ['prediction'].")
        position = class_position(classes, target)
        if position is None:
            raise ValueError(
                f"Unknown {role} {target!r}: choose one of {classes_as_given(classes)}."
            )
        return position

    def check_versus(self, versus: Any, target_index: int | None = None) -> int | None:
        """The output position of the class to contrast the target with (None: no
        contrast), or a clear error."""
        if versus is None:
            return None
        if self.adapter.classes is None:
            raise ValueError(
                "versus needs a classifier: a regressor has one output, nothing to contrast "
                "it with. Leave versus=None."
            )
        position = self.check_target(versus, role="versus")
        target_index = self.target_index if target_index is None else target_index
        if position == target_index:
            others = [c for i, c in enumerate(self.adapter.classes) if i != target_index]
            raise ValueError(
                f"versus must be another class than the target {versus!r}: choose one of "
                f"{others}, or None."
            )
        return position

    # -- explainers --------------------------------------------------------------------
    @property
    def local_names(self) -> list[str]:
        """The chosen local explainers, in the order the panel shows them."""
        return [name for name in registered("feature") if name in self.explainer_names]

    def explainer(self, name: str, *, wait: bool = True) -> Explainer | None:
        """A chosen explainer, built once; with ``wait=False`` None until it is built (``start``
        builds the streamed ones in a job: starting one here would slow the first view)."""
        key = ("explainer", name)
        if wait:
            return self.memo.get(key, lambda: build(name, self.context))
        return self.memo.peek(key)

    def local_explainers(self) -> list[type[Explainer]]:
        """The classes of the chosen local explainers (what the panel draws)."""
        return [REGISTRY[name] for name in self.local_names]

    @property
    def shap_explainer(self) -> ShapExplainer | None:
        """The SHAP explainer (None when turned off)."""
        found = self.explainer("shap") if "shap" in self.explainer_names else None
        return found if isinstance(found, ShapExplainer) else None

    @property
    def lime_explainer(self) -> LimeExplainer | None:
        """The LIME explainer (None when turned off)."""
        found = self.explainer("lime") if "lime" in self.explainer_names else None
        return found if isinstance(found, LimeExplainer) else None

    # -- the surrogate -----------------------------------------------------------------
    @property
    def surrogate_enabled(self) -> bool:
        """Whether a surrogate is fit (``"surrogate"`` in ``explainers``)."""
        return SURROGATE in self.explainer_names

    @property
    def surrogate(self) -> Surrogate | None:
        """The global rule surrogate, waiting for its fit (with progress) if needed."""
        if not self.surrogate_enabled:
            return None
        if self._surrogate_size is not None:
            return self._surrogate_size
        return self._fitted_surrogate()

    def _fitted_surrogate(self) -> Surrogate:
        """The surrogate at the size cross-validation chose, waiting for its fit."""
        return wait_for_job(self.jobs, SURROGATE, self._surrogate_job, "Fitting the surrogate")

    def set_surrogate_size(self, rules: int | None, family: str | None = None) -> Surrogate | None:
        """Show the surrogate of another point of its curve (``rules`` rules, or the nearest
        size tried; of ``family`` when it has such a point); None goes back to the size
        cross-validation chose. Nothing is refit."""
        if not self.surrogate_enabled:
            raise ValueError(
                'There is no surrogate: create the widget with "surrogate" in explainers.'
            )
        fitted = self._fitted_surrogate()
        # Checked before anything changes: an invalid size keeps the one shown.
        self._surrogate_size = None if rules is None else fitted.with_size(rules, family)
        return self.surrogate

    def ready_surrogate(self) -> Surrogate | None:
        """The surrogate if its fit has finished (never waits); None otherwise."""
        if self._surrogate_size is not None:
            return self._surrogate_size
        found: Surrogate | None = self.jobs.result(SURROGATE)
        return found

    def _surrogate_job(self) -> Any:
        def fit(stop: Stop, progress: Progress) -> Surrogate:
            return fit_surrogate(
                self.adapter,
                self.schema,
                self.encoded_X,
                random_state=self.random_state,
                progress=progress,
                stop=stop,
                live_gate=self.gate,  # the fit pauses while the panel answers
            )

        return self.jobs.submit(
            SURROGATE,
            fit,
            on_progress=self.hooks.on_surrogate_progress,
            on_done=self.hooks.on_surrogate_done,
        )

    # -- computing ----------------------------------------------------------------
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's outputs for rows in X's columns, under the gate; stopped work ends here."""
        check_stopped()
        with self.gate.hold():
            return self.context.predict(frame)

    def row(self, index: int, edits: Mapping[str, Any]) -> Row:
        """An instance with the model's outputs for it (cached)."""
        key = (index, tuple(sorted((k, repr(v)) for k, v in edits.items())))

        def compute() -> Row:
            if edits:
                encoded = self.schema.encode_row(self.instance(index, edits))
                frame = self.schema.decode(encoded[None, :])
            else:  # the row as it is in X, in its own dtypes
                encoded, frame = self.encoded_X[index], self.frame.iloc[[index]]
            # The first rows and the background's were in the model's first call.
            known = self.context.remembered.get(np.ascontiguousarray(encoded).tobytes())
            outputs = self.predict(frame) if known is None else known[None, :]
            # The explainers' own calls (an additivity check) then reuse this output.
            self.context.remember(encoded[None, :], outputs)
            return Row(index, key, encoded, outputs[0])

        return self.memo.get(("row", key), compute)

    def attribution(
        self,
        index: int,
        edits: Mapping[str, Any],
        name: str,
        output: Output,
        *,
        fast: bool = False,
        wait: bool = True,
    ) -> Attribution | None:
        """One explainer's attribution of an instance for one output or contrast (cached). An
        exact result serves a fast request too. With ``wait=False``: only what is already
        there."""
        explainer = self.explainer(name, wait=wait)
        if explainer is None:
            return None
        if isinstance(output, tuple):
            return self._contrast(index, edits, explainer, output, fast=fast, wait=wait)
        row = self.row(index, edits)
        # SHAP explains every output in one call: cache them together.
        slot = None if explainer.view == "force" else output
        exact_key = ("attribution", row.key, name, slot, "exact")
        fast_key = ("attribution", row.key, name, slot, "fast")
        found = self.memo.peek(exact_key)
        if found is None and fast and explainer.has_fast:
            found = self.memo.peek(fast_key)
        if found is None:
            if not wait:
                return None
            quick = fast and explainer.has_fast
            found = self.memo.get(
                fast_key if quick else exact_key,
                lambda: self._explain(explainer, row, slot, fast=quick),
            )
        return found[output] if slot is None else found

    def _contrast(
        self,
        index: int,
        edits: Mapping[str, Any],
        explainer: Explainer,
        output: tuple[int, int],
        *,
        fast: bool,
        wait: bool,
    ) -> Attribution | None:
        """An explainer's attribution of one class's output minus another's: its own if it
        fits one (LIME), else the difference of the two classes' (exact for SHAP)."""
        row = self.row(index, edits)
        first, second = output
        exact_key = ("contrast", row.key, explainer.name, output, "exact")
        fast_key = ("contrast", row.key, explainer.name, output, "fast")
        found = self.memo.peek(exact_key)
        if found is None and fast and explainer.has_fast:
            found = self.memo.peek(fast_key)
        if found is not None or not wait:
            return found
        quick = fast and explainer.has_fast

        def compute() -> Attribution | None:
            with self.gate.hold():
                own = explainer.explain_contrast(row.encoded, first, second, fast=quick)
            if own is not None:
                return own
            a = self.attribution(index, edits, explainer.name, first, fast=quick)
            b = self.attribution(index, edits, explainer.name, second, fast=quick)
            return contrast(a, b) if a is not None and b is not None else None

        return self.memo.get(fast_key if quick else exact_key, compute)

    def _explain(self, explainer: Explainer, row: Row, slot: int | None, *, fast: bool) -> Any:
        outputs = list(range(len(self.adapter.output_names))) if slot is None else [slot]
        reused = self._global_attributions(explainer, row) if not fast else None
        if reused is not None:
            return self._labelled(explainer, row, reused)
        with self.gate.hold():
            found = explainer.explain(row.encoded[None, :], outputs, fast=fast)[0]
        # Additive values must add up to this row's output; where they do not (shap's tree
        # algorithms on some models), the explainer moves on or repairs the row, and says so
        # (permutation SHAP's miss is the model's: a clear error).
        if not fast and isinstance(explainer, ShapExplainer):
            values = ShapValues(
                np.stack([np.asarray(found[k].values, dtype=float) for k in outputs], -1)[None],
                np.array([found[k].base or 0.0 for k in outputs]),
            )
            expected = row.outputs[None, outputs]
            with self.gate.hold():
                checked = self.additive_shap(explainer, row.encoded[None, :], values, expected)
            if checked is None:
                self.jobs.cancel("global")  # computed with the algorithm just dropped
                with self.gate.hold():
                    found = explainer.explain(row.encoded[None, :], outputs, fast=fast)[0]
            elif checked is not values:
                found = {
                    k: Attribution(
                        values=checked.values[0, :, i],
                        base=float(checked.base_values[i]),
                        quality="exact",
                    )
                    for i, k in enumerate(outputs)
                }
                found = self._labelled(explainer, row, found)
        return found if slot is None else found[slot]

    def _labelled(self, explainer: Explainer, row: Row, found: dict) -> dict:
        """A row SHAP's fast algorithm missed says in its own attributions what explained it
        instead, whichever pass (its view, the global views) found that."""
        note = self._repair_notes.get(row.encoded.tobytes())
        if note is None or not isinstance(explainer, ShapExplainer):
            return found
        labels = {"algorithm": explainer.repair_algorithm, "fallback": note}
        return {k: replace(a, details={**a.details, **labels}) for k, a in found.items()}

    def additive_shap(
        self, explainer: Explainer, encoded: np.ndarray, found: ShapValues, expected: np.ndarray
    ) -> ShapValues | None:
        """SHAP values of rows held to what the API promises (base + sum(values) is the
        model's ``expected`` output): as they are; None when a row missed and the explainer
        moved on to its next fast algorithm (it says why; compute again); or, with no such
        algorithm left, with the rows that missed explained by permutation SHAP."""
        if not isinstance(explainer, ShapExplainer):
            return found
        gap = explainer.excess_gap(found, expected)
        if gap is None:
            return found
        if explainer.approximate:
            # Permutation SHAP adds up by construction, for a model whose output for a row
            # depends on that row alone: what is off is the model, not the estimate.
            raise ValueError(
                f"The SHAP values miss the model's own output by {gap:.3g}: the model answers "
                "a row differently from one call to the next (randomness at prediction time) "
                "or with the other rows of a call (e.g. it rescales each batch). Explanations "
                "need one output per row: fix its seed, or fit the scaling once and call the "
                "fitted model."
            )
        if explainer.reject(gap):
            self.memo.clear(lambda key: _is_attribution_of(key, explainer.name))
            return None
        repaired = explainer.repair(encoded, found, expected)
        for i, note in repaired.repaired.items():
            self._repair_notes[np.ascontiguousarray(encoded[i]).tobytes()] = note
        return repaired

    def _global_attributions(self, explainer: Explainer, row: Row) -> dict | None:
        """A row of the global views keeps the SHAP values its point shows."""
        found: GlobalExplanation | None = self.jobs.result("global")
        if explainer.name != "shap" or row.key[1] or found is None:
            return None
        if not found.rows_are_X or found.outputs is not None:
            return None  # rows of global_data, or not every output: nothing to reuse
        position = np.flatnonzero(found.rows == row.index)
        if not len(position):
            return None
        k = int(position[0])
        return {
            output: Attribution(
                values=found.values[k, :, output],
                base=float(found.base_values[output]),
                quality="exact",
            )
            for output in range(found.values.shape[2])
        }

    def counterfactual(
        self, index: int | None = None, edits: Mapping[str, Any] | None = None, *, wait: bool = True
    ) -> Any:
        """The smallest change of an instance (default: the current one) that reaches a rule
        with another outcome (with a contrast: the ``versus`` class), checked with the model
        (counterfactual.py); None without a surrogate or when no rule has that outcome. With
        ``wait=False``: ``PENDING`` while the surrogate or the search is not done."""
        surrogate = self.surrogate if wait else self.ready_surrogate()
        if surrogate is None:
            return None if wait or not self.surrogate_enabled else PENDING
        index = self.index if index is None else index
        edits = self.edits_by_row.get(index, {}) if edits is None else edits
        row = self.row(index, edits)
        output = self.output
        # By the surrogate's serial, not its id(): another size can take a dropped one's.
        key = ("counterfactual", row.key, output, surrogate._serial)
        if not wait:
            return self.memo.peek(key, PENDING)
        wanted = self.versus
        # Wide data: which values of a near row to try first (only FEATURES_TRIED are).
        wide = len(self.schema) > FEATURES_TRIED

        def search() -> Counterfactual | None:
            importance = self.feature_importance(index, edits) if wide else None
            # X's outputs before the gate: computed once, in steps a live request goes between.
            reference = self.x_outputs()
            with self.gate.hold():
                return find_counterfactual(
                    self.adapter,
                    self.schema,
                    surrogate,
                    self.instance(index, edits),
                    output=output,
                    wanted=wanted,
                    split=self.outcome_split(),
                    outputs=row.outputs,
                    reference=lambda: (self.encoded_X[self.x_sample], reference),
                    importance=importance,
                )

        return self.memo.get(key, search)

    def outcome_split(self) -> Split | None:
        """Regressors: where the predictions over X split into high and low outcomes (at
        their median, counterfactual.Split)."""
        if self.adapter.classes is not None:
            return None
        return Split.of(self.x_outputs()[:, 0])

    def x_outputs(self) -> np.ndarray:
        """The model's outputs for the rows ``x_sample`` of X (up to LIME_TRAINING_ROWS), once: the
        median a regressor's outcomes split at, and rows a counterfactual may take values of."""

        def compute() -> np.ndarray:
            # In steps (a slow model's 10,000 rows take seconds): a drag waits one step.
            rows = self.frame.iloc[self.x_sample]
            known = self.context.seconds_per_row[0]
            parts = self.gate.in_steps(self.context.predict, rows, seconds_per_row=known or None)
            return np.concatenate(parts)

        return self.memo.get(("x outputs",), compute)

    # -- what the Python API returns ------------------------------------------------------
    def local_explanation(
        self,
        index: int | None = None,
        edits: Mapping[str, Any] | None = None,
        target_index: int | None = None,
        *,
        fast: bool = False,
        versus_index: int | None = None,
    ) -> LocalExplanation:
        """The LocalExplanation of an instance (default: the current one) for one output
        (default: the panel's target and versus), or with ``versus_index`` for the target's
        output minus that class's."""
        self.adapter.check_unchanged()  # a cached one would show the old model's answers
        index = self.index if index is None else index
        edits = self.edits_by_row.get(index, {}) if edits is None else edits
        if target_index is None:
            target_index, versus_index = self.target_index, self.versus_index
        output: Output = target_index if versus_index is None else (target_index, versus_index)
        row = self.row(index, edits)
        found: dict[str, Attribution] = {}
        failed: dict[str, str] = {}
        for name in self.local_names:
            try:
                attribution = self.attribution(index, edits, name, output, fast=fast)
            except Exception as exc:
                failed[name] = self._part_failed(name, exc)
                continue
            if attribution is not None:
                found[name] = attribution
        try:
            surrogate = self.surrogate
        except Exception as exc:  # its own samples too can make the model fail
            if isinstance(exc, Cancelled):
                raise
            surrogate = None
            failed[SURROGATE] = f"The surrogate could not be fit: {error_text(exc)}"
        # Keyed by X's own column labels (ints, tuples as X has them): e.shap[0] as X[0].
        schema = self.schema
        names = schema.labels
        shap, lime = found.get("shap"), found.get("lime")
        explainer = self.shap_explainer
        return LocalExplanation(
            target=self.adapter.classes[target_index] if self.adapter.classes else "prediction",
            versus=(
                self.adapter.classes[versus_index]
                if self.adapter.classes is not None and versus_index is not None
                else None
            ),
            prediction=float(output_value(row.outputs, output)),
            base_value=shap.base if shap is not None and shap.base is not None else math.nan,
            shap=dict(zip(names, map(float, shap.values))) if shap is not None else {},
            lime=dict(zip(names, map(float, lime.values))) if lime is not None else {},
            lime_intercept=float(lime.details["intercept"]) if lime is not None else math.nan,
            lime_score=float(lime.details["score"]) if lime is not None else math.nan,
            lime_conditions=(
                # A missing value was filled before LIME explained the row: its condition
                # is the fill's, and says so.
                {
                    schema.label(n): f"{c} (missing, filled)"
                    if n in lime.details.get("filled", ())
                    else c
                    for n, c in zip(schema.names, lime.details["conditions"])
                    if c
                }
                if lime is not None
                else {}
            ),
            lime_errors=(
                {
                    n: float(e)
                    for n, e in zip(names, lime.details.get("errors", ()))
                    if np.isfinite(e)
                }
                if lime is not None
                else {}
            ),
            rule=(
                rule_with_labels(surrogate.rules_for_encoded(row.encoded[None, :])[0], schema)
                if surrogate
                else None
            ),
            instance=schema.by_label(self.instance(index, edits)),
            algorithm=payloads.algorithm_of(shap, explainer) if explainer is not None else "",
            fallback=payloads.fallback_of(shap, explainer) if explainer is not None else None,
            quality="fast" if any(a.quality == "fast" for a in found.values()) else "exact",
            attributions=found,
            failed=failed,
        )

    def _part_failed(self, name: str, exc: Exception) -> str:
        """What a streamed explainer's failure leaves of a view: the rest of it, and this
        message ("LIME failed for this row: ValueError: ..."). Its samples (LIME's, drawn
        where no real row is) can make a model fail where the row and SHAP's do not; a
        stop, or the failure of an explainer the view is built on (SHAP), fails the view."""
        if isinstance(exc, Cancelled) or not REGISTRY[name].streamed:
            raise exc
        return f"{REGISTRY[name].title} failed for this row: {error_text(exc)}"

    # -- the view the panel shows ---------------------------------------------------------
    def first_view(self) -> payloads.View:
        """The view ``explain_widget`` returns with: exact, unless that keeps the user
        waiting. A model slow per call gets the fast view; so does one whose exact
        permutation SHAP would take longer than FIRST_VIEW_SECONDS, judged by the fast
        view's own time (the model's cost per row is unknown until a large call). The
        panel's completion then brings the exact view."""
        if self.slow_model:
            return self.view(0, fast=True, complete=False, wait=False)
        explainer = self.shap_explainer
        if explainer is not None and explainer.approximate:
            exact, fast = explainer.max_evals(fast=False), explainer.max_evals(fast=True)
            if fast < exact:
                started = time.perf_counter()
                view = self.view(0, fast=True, complete=False, wait=False)
                if (time.perf_counter() - started) * exact / fast > FIRST_VIEW_SECONDS:
                    return view
        return self.view(0, complete=False, wait=False)

    def view(
        self,
        seq: int,
        *,
        fast: bool = False,
        index: int | None = None,
        edits: Mapping[str, Any] | None = None,
        complete: bool = True,
        wait: bool = True,
    ) -> payloads.View:
        """The view of an instance, by default the current one (js/src/types.ts View).

        ``fast``: a drag's view (cheap estimates; streamed explainers are not computed).
        ``complete=False``: only what the first view needs (the streamed explainers and the
        counterfactual only if they are already there). ``wait=False``: never wait for the
        surrogate's fit. What is left out is named in ``pending``.
        """
        self.adapter.check_unchanged()  # a cached view would show the old model's answers
        started = time.perf_counter()
        index = self.index if index is None else index
        edits = dict(self.edits_by_row.get(index, {}) if edits is None else edits)
        target = self.output
        row = self.row(index, edits)
        names = self.schema.names
        pending: list[str] = []
        attributions: list[payloads.AttributionInfo | None] = []
        found: list[tuple[str, Attribution]] = []
        failed: dict[str, str] = {}
        for name in self.local_names:
            compute = not REGISTRY[name].streamed or (complete and not fast)
            try:
                attribution = self.attribution(index, edits, name, target, fast=fast, wait=compute)
            except Exception as exc:
                failed[name] = self._part_failed(name, exc)
                attributions.append(None)
                continue
            if attribution is None:
                pending.append(name)
                attributions.append(None)
                continue
            explainer = self.explainer(name)
            assert explainer is not None
            attributions.append(payloads.attribution(attribution, explainer))
            found.append((name, attribution))
        surrogate = self.surrogate if wait and not fast else self.ready_surrogate()
        if surrogate is None and self.surrogate_enabled:
            pending.append(SURROGATE)
        rule = surrogate.rules_for_encoded(row.encoded[None, :])[0] if surrogate else None
        instance = self.instance(index, edits)
        view: payloads.View = {
            "seq": seq,
            "index": index,
            "target": str(self.target),
            "versus": None if self.versus is None else str(self.versus),
            "quality": "fast" if any(a.quality == "fast" for _, a in found) else "exact",
            "values": payloads.row_values(self.schema, instance),
            "original": payloads.row_values(self.schema, self.original(index)),
            "edited": sorted(names.index(name) for name in edits),
            "prediction": float(output_value(row.outputs, target)),
            "predicted_label": (
                str(self.adapter.classes[int(np.argmax(row.outputs))])
                if self.adapter.classes
                else None
            ),
            "probabilities": (
                [float(p) for p in row.outputs] if self.adapter.classes is not None else None
            ),
            "y": (
                payloads.json_value(self.adapter.display_label(self.y[index]))
                if self.y is not None
                else None
            ),
            "attributions": attributions,
            "agreement": _agreements(found, self.local_explainers()),
            "rule": {"id": rule.id, "met": rule.met(instance)} if rule is not None else None,
            "pending": pending,
        }
        if failed:
            view["failed"] = failed
        if self.row_labels is not None:  # X's own label of the row, beside its position
            view["label"] = self.row_name(index)
        if not fast and surrogate is not None:
            hint = self.counterfactual(index, edits, wait=complete)
            if hint is PENDING:
                pending.append("counterfactual")
            else:
                view["counterfactual"] = (
                    payloads.counterfactual(hint, self.schema) if hint is not None else None
                )
        view["compute_ms"] = round((time.perf_counter() - started) * 1000, 1)
        return view

    def shown_features(self, index: int, edits: Mapping[str, Any]) -> list[int]:
        """The features a person reads first for an instance: all of them, or with wide data
        the ``SHOWN_FEATURES`` with the largest |SHAP| (their summaries and sweeps are sent;
        the others on request)."""
        n = len(self.schema)
        if n <= WIDE_DATA:
            return list(range(n))
        importance = self.feature_importance(index, edits)
        if importance is None:
            return list(range(SHOWN_FEATURES))
        ranked = np.argsort(-importance, kind="stable")
        return sorted(int(j) for j in ranked[:SHOWN_FEATURES])

    def feature_importance(self, index: int, edits: Mapping[str, Any]) -> np.ndarray | None:
        """How much each feature matters to an instance's output: the |attribution| of the
        first local explainer (SHAP's by default); None without one."""
        if not self.local_names:
            return None
        found = self.attribution(index, edits, self.local_names[0], self.output)
        return None if found is None else np.abs(np.asarray(found.values, dtype=float))

    def sweep(
        self, index: int, edits: Mapping[str, Any], features: Sequence[int] | None = None
    ) -> Sweep:
        """An instance with each feature (of ``features``, by default the shown ones) moved
        along its slider's grid, and the model's outputs there (sweeps.py): one batched
        model call, cached."""
        row = self.row(index, edits)
        chosen = tuple(self.shown_features(index, edits) if features is None else features)

        def compute() -> Sweep:
            every = self._grids()
            keep = set(chosen)
            grids = [g if j in keep else g[:0] for j, g in enumerate(every)]
            rows, offsets = sweep_rows(row.encoded, grids)
            outputs = (
                self.predict(self.schema.decode(rows))
                if len(rows)
                else np.zeros((0, len(self.adapter.output_names)))
            )
            display = [display_values(self.schema, j, g) for j, g in enumerate(grids)]
            return Sweep(row.encoded, row.outputs, grids, outputs, offsets, display)

        return self.memo.get(("sweep", row.key, chosen), compute)

    def _grids(self) -> list[np.ndarray]:
        return self.memo.get(
            ("grids",),
            lambda: [grid_values(self.schema, self.encoded_X, j) for j in range(len(self.schema))],
        )

    def curves_are_cheap(self) -> bool:
        """Whether the current instance's curves cost the model little enough
        (``CHEAP_CURVES_SECONDS``, by its measured seconds per row) to go with an answer
        instead of after it: the next drag is then estimated however soon it comes."""
        per_row = self.context.seconds_per_row[0]
        rows = GRID_POINTS * min(len(self.schema), SHOWN_FEATURES)
        return 0 < per_row * rows <= CHEAP_CURVES_SECONDS

    def curves(self, seq: int) -> payloads.Curves:
        """The model's output along each numeric feature's slider, the rest of the current
        instance fixed (js/src/types.ts Curves): the frontend's instant estimate while a
        slider is dragged, replaced by Python's own view when it arrives."""
        edits = self.edits_by_row.get(self.index, {})
        sweep = self.sweep(self.index, edits)
        target = self.output
        # The instance swept at, as the edits of its row (in the views' own values): the
        # frontend still uses a curve after the instance moved along that curve's feature.
        at = payloads.row_values(self.schema, self.instance(self.index, edits))
        original = payloads.row_values(self.schema, self.original(self.index))
        features: list[int] = []
        values: list[float] = []
        predictions: list[np.ndarray] = []
        offsets = [0]
        for j, feature in enumerate(self.schema.features):
            start, end = sweep.offsets[j], sweep.offsets[j + 1]
            if feature.is_discrete or end - start < 2:
                continue
            features.append(j)
            values.extend(float(v) for v in sweep.grids[j])
            predictions.append(output_value(sweep.outputs[start:end], target))
            offsets.append(offsets[-1] + end - start)
        prediction = np.concatenate(predictions) if predictions else np.zeros(0)
        return {
            "seq": seq,
            "index": self.index,
            "target": str(self.target),
            "versus": None if self.versus is None else str(self.versus),
            "edits": [(j, v) for j, (v, o) in enumerate(zip(at, original)) if v != o],
            "features": features,
            "offsets": offsets,
            "values": values,
            # float64: an output far from zero (123456789 +- 3) moved in float32 steps of 8
            "prediction": np.ascontiguousarray(prediction, dtype=np.float64).tobytes(),
        }

    # -- the global views ---------------------------------------------------------------
    @property
    def has_global(self) -> bool:
        """Whether global SHAP values are computed (they are cached for the session)."""
        return self.jobs.result("global") is not None

    def global_job(self, on_progress: Progress | None = None) -> Any:
        """The background job of the global views (started once)."""
        return self.jobs.submit("global", self._compute_global, on_progress=on_progress)

    def global_explanation(self) -> GlobalExplanation:
        """SHAP values over X (or a seeded sample of ``global_rows`` rows, or ``global_data``),
        computed once, waited for with progress; computed again for a class it lacks."""
        found = wait_for_job(self.jobs, "global", self.global_job, "Global SHAP")
        if not found.has_output(self.target_index):
            self.jobs.cancel("global")
            found = wait_for_job(self.jobs, "global", self.global_job, "Global SHAP")
        return found

    def _compute_global(self, stop: Stop, progress: Progress) -> GlobalExplanation:
        explainer = self.shap_explainer
        if explainer is None:
            raise ValueError(
                'The global views need SHAP: create the widget with "shap" in explainers.'
            )

        # A slow forest's share of trees for drags first: built beside these steps it
        # waited for the GIL between them (shap's tree algorithms hold it through a call).
        explainer.prepare_live()

        def explain(rows: np.ndarray) -> ShapValues:
            stop.check()
            found = self.shap_in_steps(explainer, rows)
            # Every row is checked as an exact view is: the first rows chose the algorithm,
            # and a row of these that does not add up would be shown (and reused) as exact.
            if not explainer.approximate:
                checked = self.additive_shap(
                    explainer, rows, found, self.context.model_output(rows)
                )
                if checked is None:
                    raise _AlgorithmDropped
                found = checked
            return found

        if self.global_data is not None:
            found = explain_global_data(
                self,
                self.global_data,
                progress=progress,
                stop=stop,
                outputs=self._global_outputs(),
                warn=False,  # in the widget's thread: its reader is warned
            )
            return replace(found, decode=self.schema.decode)
        while True:
            n = global_rows(
                self.n_rows,
                permutation=explainer.approximate,
                limit=self.global_rows,
                outputs=len(self.adapter.output_names),
            )
            try:
                found = compute_global(
                    explain,
                    self.encoded_X,
                    n_rows=n,
                    feature_names=self.schema.names,
                    output_names=[str(name) for name in self.adapter.output_names],
                    algorithm=explainer.algorithm,
                    random_state=self.random_state,
                    progress=progress,
                    stop=stop,
                )
            except _AlgorithmDropped:
                continue  # every row again with the next algorithm (it says why)
            # Its rows read back in X's own values (to_shap: categories as labels), its
            # features named by X's own column labels.
            schema = self.schema
            labels = schema.labels if schema.own_labels else None
            return replace(found, decode=schema.decode, feature_labels=labels)

    def shap_in_steps(
        self, explainer: ShapExplainer, rows: np.ndarray, *, fast: bool = False
    ) -> ShapValues:
        """SHAP values of many rows for background work, in short steps under the gate.
        Permutation SHAP draws its permutations per call: one row per call gives each row
        the very values the local panel computes for it on its own."""
        each = self.gate.in_steps(
            lambda part: explainer.values(part, fast=fast),
            rows,
            seconds_per_row=None if explainer.approximate else explainer.seconds_per_row,
            most=1 if explainer.approximate else None,
        )
        return ShapValues(np.concatenate([e.values for e in each]), each[0].base_values)

    def _global_outputs(self) -> list[int] | None:
        """The outputs the global data keeps per bin: all for two or one, else the target."""
        return None if len(self.adapter.output_names) <= 2 else [self.target_index]

    def global_of_output(self) -> tuple[GlobalExplanation, int, Output]:
        """The global explanation the charts show, the position of its output there, and
        which output that is: the target's, or with a contrast over X, P(target) - P(versus)
        (``global_data`` keeps per-class summaries, so its charts stay on the target)."""
        explanation = self.global_explanation()
        versus = self._global_versus(explanation)
        if versus is None:
            return explanation, self.target_index, self.target_index
        return explanation.contrast_at(self.target_index, versus), 0, self.output

    def global_output_name(self) -> str:
        """The name of the output the global charts show (``global_of_output``'s), without
        computing the contrast."""
        found = self.global_explanation()
        versus = self._global_versus(found)
        if versus is None:
            return found.output_names[self.target_index]
        return found.contrast_name(self.target_index, versus)

    def _global_versus(self, explanation: GlobalExplanation) -> int | None:
        """The class the charts contrast the target with, or None: none is chosen, or the
        rows' own SHAP values are not there to subtract (global_data keeps summaries)."""
        return self.versus_index if explanation.rows_are_X else None

    def global_charts(
        self, feature: str | None = None, *, include_values: bool = True
    ) -> dict[str, Any]:
        """The Altair charts of the global views for the current target, or contrast
        (charts.py)."""
        from .charts import global_charts

        explanation, position, shown = self.global_of_output()
        j = self.schema.names.index(self.dependence_feature(feature, explanation, position))
        current: tuple[float | None, float | None] = (None, None)
        if include_values:
            row = self.row(self.index, self.edits)
            shap = self.attribution(self.index, self.edits, "shap", shown)
            current = (
                float(row.encoded[j]),
                float(shap.values[j]) if shap is not None else None,
            )
        in_sample = explanation.rows_are_X and bool(np.any(explanation.rows == self.index))
        return global_charts(
            explanation,
            self.schema,
            self.surrogate,
            position,
            feature=j,
            row=self.index if in_sample else -1,
            current=current,
            include_values=include_values,
            row_labels=self.row_labels,
        )

    def dependence_feature(
        self,
        feature: str | None = None,
        explanation: GlobalExplanation | None = None,
        position: int | None = None,
    ) -> str:
        """The feature the dependence plot shows: ``feature``, or when None the most
        important one of what the charts show (``top_feature``)."""
        if feature is not None:
            return feature
        return self.schema.names[self.top_feature(explanation, position)]

    def top_feature(
        self, explanation: GlobalExplanation | None = None, position: int | None = None
    ) -> int:
        """Position of the feature with the largest mean |SHAP| for what the charts show (the
        current target, or contrast; ``global_of_output`` unless given)."""
        if explanation is None or position is None:
            explanation, position, _ = self.global_of_output()
        return self.schema.names.index(explanation.importance_at(position).index[0])

    def global_specs(self, feature: str | None = None, *, include_values: bool = True) -> dict:
        """The global views' Vega-Lite specs (charts.charts_payload), built once for the same
        explanation, surrogate, target, feature and current row."""
        from .charts import charts_payload

        explanation, surrogate = self.global_explanation(), self.surrogate

        def key() -> tuple:
            return (self.output, feature, include_values, self.index, self.edits)

        before = key()
        last = self._last_specs
        if (
            last is not None
            and last[0] is explanation
            and last[1] is surrogate
            and last[2] == before
        ):
            return last[3]
        charts = self.global_charts(feature, include_values=include_values)
        check_stopped()  # a closed widget's job ends here, before Altair's validation
        specs = charts_payload(charts)
        if key() == before:  # not kept if an edit came meanwhile: they may show either row
            self._last_specs = (explanation, surrogate, before, specs)
        return specs

    def _default_target(self) -> int:
        if self.adapter.task == "binary":
            return 1
        if self.adapter.task == "multiclass":
            return int(np.argmax(self.row(0, {}).outputs))
        return 0


def _agreements(
    found: list[tuple[str, Attribution]], classes: list[type[Explainer]]
) -> list[payloads.Agreement]:
    """Each explainer against the first additive one (SHAP), on the same features."""
    additive = {cls.name for cls in classes if cls.view == "force"}
    reference = next((pair for pair in found if pair[0] in additive), None)
    if reference is None:
        return []
    return [payloads.agreement(reference, pair) for pair in found if pair is not reference]


def _is_attribution_of(key: Any, name: str) -> bool:
    return isinstance(key, tuple) and key[0] in ("attribution", "contrast") and key[2] == name


def _check_global_rows(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"global_rows must be an int number of rows or None, not {value!r}.")
    if value < 1:
        raise ValueError(f"global_rows must be at least 1, not {value}.")
    return int(value)


def _background_frame(background: Any, frame: pd.DataFrame) -> pd.DataFrame | None:
    if background is None:
        return None
    try:
        empty = len(background) == 0
    except TypeError:  # e.g. a sparse matrix: as_frame says what it holds
        empty = False
    if empty:
        raise ValueError(
            "background is empty (0 rows): pass rows for SHAP's and LIME's background, or "
            "leave it out for a sample of X."
        )
    names = list(frame.columns)
    if isinstance(background, pd.DataFrame):
        missing = [c for c in names if c not in background.columns]
        if missing:
            raise ValueError(
                f"background lacks columns of X: {first_names(missing)}. Pass rows with X's columns."
            )
        return as_frame(background[names], data="background")
    width = np.shape(background)[1] if np.ndim(background) == 2 else None
    if width is not None and width != len(names):
        raise ValueError(
            f"background has {width} columns but X has {len(names)}: pass rows with X's "
            "columns, in X's order."
        )
    result = as_frame(background, names, data="background")
    for name in names:
        with contextlib.suppress(TypeError, ValueError):
            result[name] = result[name].astype(frame[name].dtype)
    return result


def _own_row_labels(X: Any) -> pd.Index | None:
    """X's own row labels (a string, date or shuffled index), or None when they are the
    positions 0, 1, 2, ... the panel numbers rows by anyway."""
    if not isinstance(X, pd.DataFrame):
        return None
    index = X.index
    if isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        return None
    if pd.api.types.is_integer_dtype(index.dtype) and index.equals(pd.RangeIndex(len(index))):
        return None
    return index


def _same_value(feature: Feature, a: Any, b: Any) -> bool:
    if is_missing(a) and is_missing(b):
        return True
    if feature.is_discrete:  # by category: 1 and 1.0 may be two, though equal in Python
        code = None if is_missing(a) else feature.code_of(a)
        return code is not None and code == feature.code_of(b)
    try:
        return bool(a == b)
    except (TypeError, ValueError, ArithmeticError):  # Decimal("sNaN") compares with nothing
        return False


def _warn_unknown_labels(adapter: ModelAdapter, y: list[Any]) -> None:
    """Warn of true labels that name none of the model's classes (y encoded otherwise than
    the model's labels, or another column): each would read as a wrong prediction."""
    unknown = adapter.unknown_labels(y)
    if unknown:
        warn_caller(
            f"y holds labels that name none of the model's classes: {first_names(unknown, 5)} "
            f"(its classes: {first_names(adapter.model_classes or [], 5)}). They "
            "are shown as given beside predictions that can never match them. Pass y in "
            "the model's own labels (as it was trained on), or name its classes with "
            "class_names=[...] in the order of model.classes_."
        )
