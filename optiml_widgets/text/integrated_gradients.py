"""Integrated Gradients on the token embeddings (captum), with its completeness checked.

IG attributes ``F(x) - F(baseline)`` to the tokens, where F is the explained class's
logit (not its probability, which saturates) and the baseline is the text with every word
replaced by the mask token (special tokens kept), the same "absent" that SHAP's and LIME's
masks use. The attributions add up to that difference only in the limit of many steps: the
completeness gap ``sum(attributions) - (F(x) - F(baseline))`` is measured for every text,
and the step count doubles until the gap is within ``TOLERANCE`` of the difference, or the
attribution says it is not.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from ..explainers.base import Attribution, Explainer, register
from ..jobs import check_stopped
from .context import TextContext
from .optional import require_text
from .tokens import Tokens

TOLERANCE = 0.01  # |gap| allowed, as a share of |F(x) - F(baseline)|
ABSOLUTE_TOLERANCE = 1e-3  # logits: a gap this small is within tolerance whatever the difference
STEPS = (50, 100, 200, 400, 800)  # tried in turn until the gap is within tolerance
FAST_STEPS = 16  # while typing: one batch, the gap shown as it is
BATCH = 100  # interpolation points per forward pass


@register
class IntegratedGradientsExplainer(Explainer):
    """captum's ``LayerIntegratedGradients`` over the embedding layer of a torch model."""

    name = "ig"
    title = "Integrated Gradients"
    view = "force"
    unit = "token"
    streamed = False
    order = 0

    def __init__(self, context: TextContext) -> None:
        adapter = context.adapter
        if not adapter.is_torch:
            raise ValueError(
                "Integrated Gradients needs a torch model (gradients through its embeddings); "
                f"{adapter.description} has none: use explainers=('shap_text', 'lime_text')."
            )
        require_text(
            "Integrated Gradients (leave it out with explainers=('shap_text', 'lime_text'))",
            ("captum",),
        )
        from captum.attr import LayerIntegratedGradients

        self.adapter = adapter
        self.layer = adapter.embeddings()
        self.ig = LayerIntegratedGradients(self._forward, self.layer)
        self._lock = threading.Lock()  # one gradient computation at a time per model

    def _forward(self, ids: Any, mask: Any) -> Any:
        check_stopped()
        return self.adapter.forward(ids, mask)

    @property
    def algorithm(self) -> str:
        return (
            "Integrated Gradients (captum LayerIntegratedGradients on the token embeddings, "
            "logit, baseline: every word masked)"
        )

    @property
    def has_fast(self) -> bool:
        """While typing: few steps, the completeness gap shown as it is."""
        return True

    def explain(
        self, instances: Sequence[Tokens], outputs: Sequence[int], *, fast: bool = False
    ) -> list[dict[int, Attribution]]:
        """Per text, per class: attributions of the class's logit."""
        return [{c: self.attribute(tokens, c, fast=fast) for c in outputs} for tokens in instances]

    def attribute(self, tokens: Tokens, output: int, *, fast: bool = False) -> Attribution:
        """IG of one text for one class, steps raised until complete (or ``fast``)."""
        import torch

        ids, mask = self.adapter.ids(tokens)
        baseline = self.adapter.baseline_ids(tokens)
        with self._lock, self.adapter.threads():
            with torch.no_grad():
                both = self.adapter.forward(torch.cat([ids, baseline]), torch.cat([mask, mask]))
            output_x, output_base = (float(v) for v in both[:, output])
            difference = output_x - output_base
            allowed = max(TOLERANCE * abs(difference), ABSOLUTE_TOLERANCE)
            plan = (FAST_STEPS,) if fast else STEPS
            for steps in plan:
                check_stopped()
                attributions = self.ig.attribute(
                    ids,
                    baselines=baseline,
                    additional_forward_args=(mask,),
                    target=output,
                    n_steps=steps,
                    method="gausslegendre",
                    internal_batch_size=min(steps, BATCH),
                )
                values = attributions.sum(-1)[0].detach().double().numpy()
                gap = float(values.sum() - difference)
                if abs(gap) <= allowed:
                    break
        converged = abs(gap) <= allowed
        return Attribution(
            values=values,
            base=output_base,
            quality="fast" if fast else "exact",
            details={
                "space": "logit",
                "output": output_x,
                "baseline_output": output_base,
                "baseline": "every word replaced by " + self.adapter.absent,
                "steps": steps,
                "gap": gap,
                "gap_share": abs(gap) / abs(difference) if difference else 0.0,
                "tolerance": TOLERANCE,
                "converged": converged,
            },
        )
