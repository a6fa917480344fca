"""What a token explainer is built on: the text model's adapter and the seed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..jobs import check_stopped
from .model import TextModelAdapter


@dataclass(frozen=True)
class TextContext:
    """The domain context of explainers over the tokens of a text (``unit = "token"``):
    the explainers get ``Tokens`` instances and call the model through here."""

    adapter: TextModelAdapter
    random_state: int = 0

    def probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """The model's class probabilities (n, classes); stopped work ends here."""
        check_stopped()
        return self.adapter.probabilities(list(texts))
