"""What a table explainer is built on: the model, the schema, and rows in the encoded space."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..data import FeatureSchema
from ..jobs import check_stopped
from ..model import ModelAdapter


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

    def model_output(self, encoded: np.ndarray) -> np.ndarray:
        """The model's outputs (n, outputs) for encoded rows: what every explainer calls.
        Stopped work (a closed widget) ends here, between two model calls."""
        check_stopped()
        self.calls[0] += 1
        return self.adapter.predict(self.schema.decode(encoded))
