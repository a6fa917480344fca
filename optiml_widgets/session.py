"""The session: model, data and explainers, the current row with its what-if edits, and views.

No widget code here: the widget is a thin shell over this class, and tests of the whole
explanation loop need no Jupyter.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .counterfactual import Counterfactual, find_counterfactual
from .data import FeatureSchema, as_frame, build_schema
from .explainers.lime import LimeExplainer, LimeResult
from .explainers.shap import ShapExplainer, ShapValues
from .explainers.surrogate import Rule, Surrogate, fit_surrogate
from .explanation import LocalExplanation
from .global_explanation import GlobalExplanation, Progress, compute_global, global_rows
from .model import ModelAdapter, align_columns

EXPLAINERS = ("shap", "lime", "surrogate")
BACKGROUND_ROWS = 100
LIME_TRAINING_ROWS = 10_000
AGREEMENT_TOP_K = 5
CURVE_POINTS = 24
_CACHE_SIZE = 256


@dataclass
class RowResult:
    """Everything computed for one instance; filled lazily per quality and output."""

    encoded: np.ndarray
    outputs: np.ndarray
    rule: Rule | None
    shap: dict[str, ShapValues] = field(default_factory=dict)  # quality -> values
    lime: dict[tuple[int, str], LimeResult] = field(default_factory=dict)  # (output, quality)


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
        categorical_features: Iterable[str] | None = None,
        task: str = "auto",
        explainers: Iterable[str] = EXPLAINERS,
        background: Any = None,
        random_state: int = 0,
        global_rows: int | None = None,
    ) -> None:
        self.explainers = _check_explainers(explainers)
        numpy_input = not isinstance(X, pd.DataFrame)
        frame = as_frame(X, feature_names)
        if hasattr(model, "predict") or hasattr(model, "predict_proba"):
            frame = align_columns(model, frame)
        self.frame = frame
        self.y = _check_y(y, len(frame))
        background_frame = _background_frame(background, frame)
        self.schema: FeatureSchema = build_schema(
            frame, categorical_features, extra=background_frame
        )
        self.adapter = ModelAdapter(
            model, frame, task=task, class_names=class_names, numpy_input=numpy_input
        )
        self.random_state = random_state
        self.encoded_X = self.schema.encode(frame)
        rng = np.random.default_rng(random_state)
        if background_frame is not None:
            self.background = self.schema.encode(background_frame)
        else:
            picked = np.sort(
                rng.choice(len(frame), min(BACKGROUND_ROWS, len(frame)), replace=False)
            )
            self.background = self.encoded_X[picked]
        self.shap_explainer = (
            ShapExplainer(self.adapter, self.schema, self.background, random_state=random_state)
            if "shap" in self.explainers
            else None
        )
        training = self.encoded_X
        if len(training) > LIME_TRAINING_ROWS:
            training = training[
                np.sort(rng.choice(len(training), LIME_TRAINING_ROWS, replace=False))
            ]
        self.lime_explainer = (
            LimeExplainer(self.adapter, self.schema, training, random_state=random_state)
            if "lime" in self.explainers
            else None
        )
        self.surrogate: Surrogate | None = (
            fit_surrogate(self.adapter, self.schema, self.encoded_X, random_state=random_state)
            if "surrogate" in self.explainers
            else None
        )
        self.global_rows = _check_global_rows(global_rows)
        self._global: GlobalExplanation | None = None
        self._global_lock = threading.Lock()  # computed once, whoever asks first
        self._median_output: float | None = None
        self._global_position: dict[int, int] = {}
        self.index = 0
        self.edits_by_row: dict[int, dict[str, Any]] = {}
        self._cache: OrderedDict[tuple, RowResult] = OrderedDict()
        self._originals: dict[int, dict[str, Any]] = {}
        self.target_index = self._default_target()

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

    def original(self, index: int | None = None) -> dict[str, Any]:
        """The row of X as a dict of plain Python values (a fresh copy)."""
        index = self.index if index is None else index
        row = self._originals.get(index)
        if row is None:  # read once: every view of the slider loop needs it twice
            values = self.frame.iloc[index]
            row = self._originals[index] = {n: _plain(values[n]) for n in self.schema.names}
        return dict(row)

    def instance(
        self, index: int | None = None, edits: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The row plus its what-if edits."""
        index = self.index if index is None else index
        values = self.original(index)
        values.update(self.edits_by_row.get(index, {}) if edits is None else edits)
        return values

    def check_index(self, index: Any) -> int:
        """A valid row number, or a clear error."""
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int row number, not {type(index).__name__}.")
        if not 0 <= int(index) < self.n_rows:
            raise ValueError(f"index {index} is out of range: X has rows 0..{self.n_rows - 1}.")
        return int(index)

    def check_edits(self, values: Mapping[str, Any], index: int | None = None) -> dict[str, Any]:
        """Validate what-if values; returns the row's new edit set (edits back to the original dropped)."""
        index = self.index if index is None else index
        merged = dict(self.edits_by_row.get(index, {}))
        original = self.original(index)
        for name, value in values.items():
            if name not in self.schema.names:
                raise KeyError(self.schema.unknown_feature_message(name))
            if _same_value(value, original[name]):
                merged.pop(name, None)
                continue
            coerced = self.schema[name].coerce(value)
            if _same_value(coerced, original[name]):
                merged.pop(name, None)
            else:
                merged[name] = coerced
        return merged

    def check_target(self, target: Any) -> int:
        """The output position of a class label (or its text), or a clear error."""
        names = self.adapter.output_names
        if self.adapter.classes is not None:
            for i, label in enumerate(self.adapter.classes):
                if (label == target and type(label) is type(target)) or str(label) == str(target):
                    return i
        elif str(target) == "prediction":
            return 0
        raise ValueError(f"Unknown target {target!r}: choose one of {names}.")

    # -- computing ----------------------------------------------------------------
    def result(self, index: int, edits: Mapping[str, Any]) -> RowResult:
        """Prediction and covering rule of an instance (cached); explanations are added lazily."""
        key = (index, tuple(sorted((k, repr(v)) for k, v in edits.items())))
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        frame = self.schema.row_frame(self.instance(index, edits))
        encoded = self.schema.encode(frame)[0]
        outputs = self.adapter.predict(frame)[0]
        rule = self.surrogate.rules_for_encoded(encoded[None, :])[0] if self.surrogate else None
        result = RowResult(encoded=encoded, outputs=outputs, rule=rule)
        self._cache[key] = result
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def explain(
        self, index: int, edits: Mapping[str, Any], target_index: int, *, fast: bool = False
    ) -> tuple[RowResult, str]:
        """Fill SHAP and LIME of an instance for one output; returns the result and its quality."""
        result = self.result(index, edits)
        want = "fast" if fast else "exact"
        shap, lime = self.shap_explainer, self.lime_explainer
        if shap is not None and not result.shap and not edits and self._global is not None:
            # A row of the global views: the very values its point shows, no recomputation.
            k = self._global_position.get(index)
            if k is not None:
                g = self._global
                result.shap["exact"] = ShapValues(g.values[k : k + 1], g.base_values)
        if shap is not None and "exact" not in result.shap:
            # Only the permutation algorithm has a cheaper estimate; the others are exact anyway.
            key = want if shap.approximate else "exact"
            if key not in result.shap:
                result.shap[key] = shap.explain(result.encoded[None, :], fast=key == "fast")
        if lime is not None and _best_lime(result.lime, target_index, want) is None:
            result.lime[(target_index, want)] = lime.explain(
                result.encoded, target_index, fast=fast
            )
        exact = (shap is None or "exact" in result.shap) and (
            lime is None or (target_index, "exact") in result.lime
        )
        return result, "exact" if exact else "fast"

    def local_explanation(
        self,
        index: int | None = None,
        edits: Mapping[str, Any] | None = None,
        target_index: int | None = None,
        *,
        fast: bool = False,
    ) -> LocalExplanation:
        """The LocalExplanation of an instance (default: the current one) for one output."""
        index = self.index if index is None else index
        edits = self.edits_by_row.get(index, {}) if edits is None else edits
        target_index = self.target_index if target_index is None else target_index
        result, quality = self.explain(index, edits, target_index, fast=fast)
        names = self.schema.names
        shap_values = _best(result.shap, quality)
        lime = _best_lime(result.lime, target_index, quality)
        shap_map = (
            {n: float(v) for n, v in zip(names, shap_values.values[0, :, target_index])}
            if shap_values is not None
            else {}
        )
        return LocalExplanation(
            target=self.adapter.classes[target_index] if self.adapter.classes else "prediction",
            prediction=float(result.outputs[target_index]),
            base_value=float(shap_values.base_values[target_index]) if shap_values else math.nan,
            shap=shap_map,
            lime={n: float(w) for n, w in zip(names, lime.weights)} if lime else {},
            lime_intercept=lime.intercept if lime else math.nan,
            lime_score=lime.score if lime else math.nan,
            lime_conditions={n: c for n, c in zip(names, lime.conditions) if c} if lime else {},
            rule=result.rule,
            instance=self.instance(index, edits),
            algorithm=self.shap_explainer.description if self.shap_explainer else "",
            quality=quality,
        )

    # -- counterfactual hints -----------------------------------------------------------
    def counterfactual(
        self, index: int | None = None, edits: Mapping[str, Any] | None = None
    ) -> Counterfactual | None:
        """The smallest change of an instance (default: the current one) that reaches a rule
        with another outcome, checked with the model (counterfactual.py); None without a
        surrogate or when no rule has another outcome."""
        if self.surrogate is None:
            return None
        index = self.index if index is None else index
        edits = self.edits_by_row.get(index, {}) if edits is None else edits
        if self.adapter.classes is None and self._median_output is None:
            rows = self.frame.iloc[: min(self.n_rows, LIME_TRAINING_ROWS)]
            self._median_output = float(np.median(self.adapter.predict(rows)[:, 0]))
        return find_counterfactual(
            self.adapter,
            self.schema,
            self.surrogate,
            self.instance(index, edits),
            target_index=self.target_index,
            median_output=self._median_output,
        )

    # -- the global views ---------------------------------------------------------------
    @property
    def has_global(self) -> bool:
        """Whether global SHAP values are computed (they are cached for the session)."""
        return self._global is not None

    def global_explanation(
        self,
        progress: Progress | None = None,
        lock: contextlib.AbstractContextManager | None = None,
    ) -> GlobalExplanation:
        """SHAP values over X (or a seeded sample of ``global_rows`` rows), computed once.

        ``progress(done, total)`` is called after each chunk of rows; ``lock`` is held while
        a chunk is computed, so live requests of the panel get their turn in between.
        """
        with self._global_lock:
            if self._global is None:
                self._global = self._compute_global(progress, lock)
                self._global_position = {int(r): k for k, r in enumerate(self._global.rows)}
            return self._global

    def _compute_global(
        self, progress: Progress | None, lock: contextlib.AbstractContextManager | None
    ) -> GlobalExplanation:
        explainer = self.shap_explainer
        if explainer is None:
            raise ValueError(
                'The global views need SHAP: create the widget with "shap" in explainers.'
            )
        guard = lock if lock is not None else contextlib.nullcontext()

        def explain(rows: np.ndarray) -> ShapValues:
            with guard:
                if not explainer.approximate:
                    return explainer.explain(rows)
                # Permutation SHAP draws its permutations per call: one row per call gives
                # each row the very values the local panel computes for it on its own.
                each = [explainer.explain(row[None, :]) for row in rows]
                return ShapValues(np.concatenate([e.values for e in each]), each[0].base_values)

        n = global_rows(self.n_rows, permutation=explainer.approximate, limit=self.global_rows)
        return compute_global(
            explain,
            self.encoded_X,
            n_rows=n,
            feature_names=self.schema.names,
            output_names=[str(name) for name in self.adapter.output_names],
            algorithm=explainer.description,
            random_state=self.random_state,
            progress=progress,
        )

    def global_charts(
        self, feature: str | None = None, *, include_values: bool = True
    ) -> dict[str, Any]:
        """The Altair charts of the global views for the current target (charts.py)."""
        from .charts import global_charts

        explanation = self.global_explanation()
        names = self.schema.names
        j = names.index(feature) if feature is not None else self.top_feature()
        current: tuple[float | None, float | None] = (None, None)
        if include_values:
            local = self.local_explanation()
            value = self.result(self.index, self.edits).encoded[j]
            current = (float(value), local.shap.get(names[j]))
        return global_charts(
            explanation,
            self.schema,
            self.surrogate,
            self.target_index,
            feature=j,
            row=self.index if self.index in self._global_position else -1,
            current=current,
            include_values=include_values,
        )

    def top_feature(self) -> int:
        """Position of the feature with the largest mean |SHAP| for the current target."""
        importance = self.global_explanation().importance(self.target_index)
        return self.schema.names.index(importance.index[0])

    # -- payloads for the frontend --------------------------------------------------
    def schema_payload(self) -> dict[str, Any]:
        """Set once: features, task, classes (js/src/types.ts Schema)."""
        return {
            "features": self.schema.to_payload(),
            "task": self.adapter.task,
            "classes": self.adapter.output_names if self.adapter.classes is not None else None,
            "targets": self.adapter.output_names,
            "n_rows": self.n_rows,
            "has_y": self.y is not None,
            "shap_algorithm": self.shap_explainer.description if self.shap_explainer else "",
            "explainers": list(self.explainers),
        }

    def view(
        self,
        seq: int,
        *,
        fast: bool = False,
        index: int | None = None,
        edits: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The view of an instance, by default the current one (js/src/types.ts View)."""
        started = time.perf_counter()
        index = self.index if index is None else index
        edits = self.edits_by_row.get(index, {}) if edits is None else edits
        explanation = self.local_explanation(index, edits, fast=fast)
        names = self.schema.names
        result = self.result(index, edits)
        lime = _best_lime(result.lime, self.target_index, explanation.quality)
        classes = self.adapter.classes
        return {
            "seq": seq,
            "index": index,
            "target": str(explanation.target),
            "quality": explanation.quality,
            "instance": self._json_row(explanation.instance),
            "original": self._json_row(self.original(index)),
            "edited": sorted(edits, key=names.index),
            "prediction": explanation.prediction,
            "predicted_label": str(classes[int(np.argmax(result.outputs))]) if classes else None,
            "probabilities": {str(c): float(p) for c, p in zip(classes, result.outputs)}
            if classes
            else None,
            "y": (
                _json_scalar(self.adapter.display_label(self.y[index]))
                if self.y is not None
                else None
            ),
            "base_value": _finite_or_none(explanation.base_value),
            "shap": [explanation.shap[n] for n in names] if explanation.shap else [],
            "lime": (
                {
                    "weights": [float(w) for w in lime.weights],
                    "conditions": list(lime.conditions),
                    "intercept": lime.intercept,
                    "score": lime.score,
                }
                if lime
                else None
            ),
            "agreement": agreement(explanation) if explanation.shap and explanation.lime else None,
            "rule": (
                {"id": explanation.rule.id, "met": explanation.rule.met(explanation.instance)}
                if explanation.rule
                else None
            ),
            "counterfactual": self._counterfactual_payload(index, edits, fast),
            "compute_ms": round((time.perf_counter() - started) * 1000, 1),
        }

    def _counterfactual_payload(
        self, index: int, edits: Mapping[str, Any], fast: bool
    ) -> dict[str, Any] | None:
        if fast or self.surrogate is None:
            return None  # a drag does not wait for it; the exact view after it has it
        try:
            found = self.counterfactual(index, edits)
        except Exception:  # a hint: never fail the view for it
            return None
        return found.to_payload() if found is not None else None

    def curves(self, seq: int, points: int = CURVE_POINTS) -> dict[str, Any]:
        """The model's output along each numeric feature's slider, the rest of the current
        instance fixed (js/src/types.ts Curves): the frontend's instant estimate while a
        slider is dragged, replaced by Python's own view when it arrives."""
        index, edits = self.index, self.edits_by_row.get(self.index, {})
        encoded = self.result(index, edits).encoded
        features, grids = [], []
        for j, feature in enumerate(self.schema.features):
            if feature.is_discrete or feature.min is None or feature.max is None:
                continue
            grid = np.linspace(feature.min, feature.max, points)
            grids.append(np.unique(np.rint(grid)) if feature.kind == "integer" else grid)
            features.append(j)
        rows = np.repeat(encoded[None, :], sum(len(g) for g in grids), axis=0)
        offsets = np.cumsum([0] + [len(g) for g in grids])
        for j, grid, start in zip(features, grids, offsets):
            rows[start : start + len(grid), j] = grid
        outputs = (
            self.adapter.predict(self.schema.decode(rows))[:, self.target_index]
            if len(rows)
            else np.zeros(0)
        )
        return {
            "seq": seq,
            "features": [self.schema.names[j] for j in features],
            "offsets": offsets.tolist(),
            "values": np.concatenate(grids).tolist() if grids else [],
            "prediction": np.ascontiguousarray(outputs, dtype=np.float32).tobytes(),
        }

    def _json_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        out = {}
        for feature in self.schema.features:
            value = row[feature.name]
            if feature.kind == "categorical" and not _missing(value):
                out[feature.name] = str(value)
            else:
                out[feature.name] = _json_scalar(value)
        return out

    def _default_target(self) -> int:
        if self.adapter.task == "binary":
            return 1
        if self.adapter.task == "multiclass":
            return int(np.argmax(self.result(0, {}).outputs))
        return 0


def agreement(explanation: LocalExplanation, k: int = AGREEMENT_TOP_K) -> dict[str, Any]:
    """How far SHAP and LIME agree on this instance's most important features."""
    k = min(k, len(explanation.shap))
    top_shap = explanation.top_features(k)
    top_lime = sorted(explanation.lime, key=lambda n: -abs(explanation.lime[n]))[:k]
    union = list(dict.fromkeys(top_shap + top_lime))
    shap_values = [explanation.shap[n] for n in union]
    lime_values = [explanation.lime[n] for n in union]
    rho = None
    if len(union) > 2 and np.ptp(shap_values) > 0 and np.ptp(lime_values) > 0:
        rho = float(spearmanr(shap_values, lime_values).statistic)
    signs = [np.sign(explanation.shap[n]) == np.sign(explanation.lime[n]) for n in top_shap]
    return {
        "spearman": rho if rho is None or math.isfinite(rho) else None,
        "top_k": k,
        "top_overlap": len(set(top_shap) & set(top_lime)) / k if k else 1.0,
        "sign_agreement": float(np.mean(signs)) if signs else 1.0,
    }


def _best(by_quality: Mapping[str, ShapValues], quality: str) -> ShapValues | None:
    return by_quality.get("exact") or by_quality.get(quality)


def _best_lime(
    by_key: Mapping[tuple[int, str], LimeResult], output: int, quality: str
) -> LimeResult | None:
    return by_key.get((output, "exact")) or by_key.get((output, quality))


def _check_explainers(explainers: Iterable[str]) -> tuple[str, ...]:
    if isinstance(explainers, str):
        explainers = (explainers,)
    chosen = tuple(dict.fromkeys(explainers))
    unknown = [e for e in chosen if e not in EXPLAINERS]
    if unknown:
        raise ValueError(f"Unknown explainers {unknown}: choose from {list(EXPLAINERS)}.")
    return chosen


def _check_global_rows(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"global_rows must be an int number of rows or None, not {value!r}.")
    if value < 1:
        raise ValueError(f"global_rows must be at least 1, not {value}.")
    return int(value)


def _check_y(y: Any, n_rows: int) -> list[Any] | None:
    if y is None:
        return None
    values = list(np.asarray(y).ravel()) if not isinstance(y, pd.Series) else y.tolist()
    if len(values) != n_rows:
        raise ValueError(
            f"y has {len(values)} values but X has {n_rows} rows: pass one target per row."
        )
    return [_plain(v) for v in values]


def _background_frame(background: Any, frame: pd.DataFrame) -> pd.DataFrame | None:
    if background is None:
        return None
    names = list(frame.columns)
    if isinstance(background, pd.DataFrame):
        missing = [c for c in names if c not in background.columns]
        if missing:
            raise ValueError(
                f"background lacks columns of X: {missing[:10]}. Pass rows with X's columns."
            )
        return as_frame(background[names])
    result = as_frame(background, names)
    for name in names:
        with contextlib.suppress(TypeError, ValueError):
            result[name] = result[name].astype(frame[name].dtype)
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _json_scalar(value: Any) -> Any:
    value = _plain(value)
    if _missing(value):
        return None
    if isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _same_value(a: Any, b: Any) -> bool:
    if _missing(a) and _missing(b):
        return True
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False
