"""What a table explainer is built on: the model, the schema, and rows in the encoded space."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..data import FeatureSchema
from ..jobs import STEP_SECONDS, check_stopped, in_background, pause_for_live
from ..model import ModelAdapter

# Cells of one model call: larger batches go in chunks, so a model that copies its input
# (a Pipeline's every step) holds a few of these at a time, not several copies of the batch.
CELLS_PER_MODEL_CALL = 4_000_000
# The fewest rows of a background step: below it a model call's fixed cost dominates.
MIN_STEP_ROWS = 256


@dataclass(frozen=True)
class TableContext:
    """The domain context of explainers over the features of a table row.

    ``background`` rows are where SHAP's attributions start from; ``training`` rows give
    LIME its feature statistics. Both are encoded (``schema.encode``).
    """

    adapter: ModelAdapter
    schema: FeatureSchema
    background: np.ndarray
    training: np.ndarray
    random_state: int = 0
    calls: list[int] = field(default_factory=lambda: [0])  # model calls made, for progress
    # The model's seconds per row, as last measured: background work calls it in steps.
    seconds_per_row: list[float] = field(default_factory=lambda: [0.0])

    def model_output(self, encoded: np.ndarray) -> np.ndarray:
        """The model's outputs (n, outputs) for encoded rows: what every explainer calls.
        Stopped work (a closed widget) ends here, between two model calls; background work
        calls in steps of about ``STEP_SECONDS`` and lets live requests go in between."""
        step = max(1, CELLS_PER_MODEL_CALL // max(1, encoded.shape[1]))
        background = in_background()
        outputs = []
        start = 0
        while start < max(len(encoded), 1):
            check_stopped()
            size = step
            if background:
                pause_for_live()
                per_row = self.seconds_per_row[0]
                size = min(step, max(MIN_STEP_ROWS, int(STEP_SECONDS / per_row) if per_row else 0))
            part = encoded[start : start + size]
            self.calls[0] += 1
            began = time.perf_counter()
            outputs.append(self.adapter.predict(self.schema.decode(part)))
            if len(part) >= MIN_STEP_ROWS:  # a call's own overhead is spread thin
                self.seconds_per_row[0] = (time.perf_counter() - began) / len(part)
            start += size
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs)
