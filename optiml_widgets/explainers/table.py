"""What a table explainer is built on: the model, the schema, and rows in the encoded space."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..data import FeatureSchema
from ..jobs import check_stopped, in_background, let_live_through
from ..model import ModelAdapter

# Cells of one model call: larger batches go in chunks, so a model that copies its input
# (a Pipeline's every step) holds a few of these at a time, not several copies of the batch.
CELLS_PER_MODEL_CALL = 4_000_000
# Calls of fewer rows leave the model's cost per row unmeasured (their fixed cost dominates).
MIN_TIMED_ROWS = 256
# Background work calls the model in pieces of about this long (see model_output).
MODEL_STEP_SECONDS = 0.05
# Outputs of rows from small calls are remembered (a view asks for the same row, the
# background and an additivity probe several times): calls of at most this many rows...
REMEMBERED_CALL_ROWS = 128
# ...and at most this many cells of remembered rows (2 MB of keys as float64).
REMEMBERED_CELLS = 262_144


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
    # The model's seconds per row, as last measured (cheap curves go with an answer).
    seconds_per_row: list[float] = field(default_factory=lambda: [0.0])
    # A small call's time beyond its rows, as last measured: the model's fixed cost per call.
    seconds_per_call: list[float] = field(default_factory=lambda: [0.0])
    # Encoded row's bytes -> the model's outputs for it (see REMEMBERED_CALL_ROWS).
    remembered: dict[bytes, np.ndarray] = field(default_factory=dict)

    def __getstate__(self) -> dict[str, object]:
        """What travels to a Dask worker: not the remembered outputs (up to 2 MB)."""
        return {**self.__dict__, "remembered": {}}

    def remember(self, encoded: np.ndarray, outputs: np.ndarray) -> None:
        """Keep the model's outputs of encoded rows (n, features) for the next small call."""
        limit = max(16, REMEMBERED_CELLS // max(1, encoded.shape[1]))
        for row, out in zip(encoded, outputs):
            if len(self.remembered) >= limit:  # the oldest half goes (dicts keep order)
                for key in list(self.remembered)[: limit // 2]:
                    self.remembered.pop(key, None)
            self.remembered[row.tobytes()] = out

    def model_output(self, encoded: np.ndarray, *, live_between: bool = False) -> np.ndarray:
        """The model's outputs (n, outputs) for encoded rows: what every explainer calls.
        Stopped work (a closed widget) ends here, between two model calls.

        ``live_between``: the caller holds nothing a live request's first answer uses (LIME:
        its own lock and sampler), so in the background a live request under way may run
        between two calls. Not for SHAP, whose values are part of that first answer.
        """
        if 0 < len(encoded) <= REMEMBERED_CALL_ROWS:
            return self._small_output(encoded)
        background = in_background()
        live_between = live_between and background
        outputs: list[np.ndarray] = []
        done = 0
        while done < len(encoded) or not outputs:
            check_stopped()
            if live_between:
                let_live_through()
            step = self._step(len(encoded) - done, encoded.shape[1], background)
            piece = encoded[done : done + step]
            outputs.append(self.predict(self.schema.decode(piece)))
            done += len(piece)
        return outputs[0] if len(outputs) == 1 else np.concatenate(outputs)

    def _step(self, rows: int, features: int, background: bool) -> int:
        """Rows of the next model call, of ``rows`` still to go.

        Calls of about MODEL_STEP_SECONDS: in the background so that close() stops a slow
        model's work soon (and a live request may go between them); in a view too, because
        a model slow per row is often slower still per row in large calls (a Gaussian
        process: 36 us a row in calls of 2,000 rows, 126 us in one of 61,000). Unless the
        model's cost per call would make so many calls dear: then longer calls, so that it
        costs a quarter more at most in the background, 5% in a view someone waits for
        (sending the rest in one call, as before, made a slow model's 59,000 rows one 12 s
        call that neither close() nor a live edit could get between). While the cost per
        row is unknown, a first call of a few hundred rows measures it.
        """
        step = max(1, CELLS_PER_MODEL_CALL // max(1, features))
        if self.seconds_per_row[0] == 0.0:
            return min(step, rows if rows <= 4 * MIN_TIMED_ROWS else MIN_TIMED_ROWS)
        total = rows * self.seconds_per_row[0]
        overhead = 0.25 if background else 0.05
        seconds = max(MODEL_STEP_SECONDS, self.seconds_per_call[0] / overhead)
        pieces = max(1, int(total // seconds))
        return min(step, -(-rows // pieces))

    def _small_output(self, encoded: np.ndarray) -> np.ndarray:
        """A small call: remembered rows are not sent to the model again."""
        encoded = np.ascontiguousarray(encoded)
        known = [self.remembered.get(row.tobytes()) for row in encoded]
        missing = [i for i, out in enumerate(known) if out is None]
        if missing:
            check_stopped()
            fresh = self.predict(self.schema.decode(encoded[missing]))
            self.remember(encoded[missing], fresh)
            for i, out in zip(missing, fresh):
                known[i] = out
        return np.stack(known)  # type: ignore[arg-type]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """One model call on rows in X's columns, counted and timed."""
        self.calls[0] += 1
        began = time.perf_counter()
        outputs = self.adapter.predict(frame)
        took = time.perf_counter() - began
        if len(frame) >= MIN_TIMED_ROWS:  # a call's own overhead is spread thin
            self.seconds_per_row[0] = took / len(frame)
        else:  # what the call cost beyond its rows (a small last piece of a batch, too)
            measured = max(0.0, took - len(frame) * self.seconds_per_row[0])
            # A busy machine only adds time: a lower reading is taken at once, a higher
            # one halfway (one slow call read 28 ms of jitter as the model's cost per call).
            before = self.seconds_per_call[0]
            self.seconds_per_call[0] = measured if measured <= before else (before + measured) / 2
        return outputs
