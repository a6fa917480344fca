"""Every payload the text panel reads, built here and typed here.

``js/src/text/types.ts`` declares the same shapes; tests/test_text_contract.py writes real
payloads from these functions into a TypeScript file that ``tsc`` checks against them.

Tokens, phrases and class names are data: they travel in lists and are addressed by
position, never used as keys (a token ``constructor`` or ``<script>`` is just a string).
Attention travels as bytes (one per cell, with a scale), base64 in JSON.
"""

from __future__ import annotations

import base64
import gzip
from typing import TYPE_CHECKING, Literal, TypedDict

import numpy as np

from .. import payloads as table_payloads
from ..explainers.base import Attribution, Explainer
from ..format import finite
from ..payloads import Agreement, AttributionInfo, ExplainerInfo
from .attention import entropy, quantise, rollout, thumbnails
from .tokens import Tokens

if TYPE_CHECKING:
    from .surrogate import TextRule, TextSurrogate

LABEL_CHARS = 60  # a text's label in the picker
SIGNIFICANT = 0.1  # share of the largest |attribution| a token needs to be compared


class TextSchema(TypedDict):
    kind: Literal["text"]
    task: str
    classes: list[str]
    targets: list[str]
    n_texts: int
    labels: list[str]
    has_y: bool
    explainers: list[ExplainerInfo]
    surrogate: bool
    attention: bool
    mask_token: str
    model: str


class TokensInfo(TypedDict):
    strings: list[str]
    spans: list[list[int] | None]
    special: list[bool]
    truncated: int


class PackedBytes(TypedDict):
    shape: list[int]
    scale: float
    data: str  # base64 of uint8 cells, row-major


class AttentionInfo(TypedDict):
    layers: int
    heads: int
    side: int
    thumbnails: str  # base64 uint8 (layers, heads, side, side), each head to its own max
    entropy: list[float]  # bits, layer-major
    rollout: list[float]  # rollout row of the first token: what reaches it from each token
    rollout_map: PackedBytes


class TextRuleMatch(TypedDict):
    id: int
    phrases: list[str]
    tokens: list[int]


class TextView(TypedDict, total=False):
    seq: int
    index: int
    target: str
    quality: str
    text: str
    original: str
    edited: bool
    tokens: TokensInfo
    prediction: float
    predicted_label: str
    probabilities: list[float]
    y: str | None
    attributions: list[AttributionInfo | None]
    agreement: list[Agreement]
    rule: TextRuleMatch | None
    attention: AttentionInfo | None
    pending: list[str]
    compute_ms: float
    notice: str
    label: str


class TextRuleInfo(TypedDict):
    id: int
    phrases: list[str]
    exceptions: list[str]
    prediction: str
    coverage: float
    precision: float
    text: str


class TextCurvePoint(TypedDict):
    rules: int
    fidelity: float | None
    between: float | None
    validation: float | None  # cross-validated mean
    validation_se: float | None  # its standard error
    chosen: bool


class TextSurrogateInfo(TypedDict):
    rules: list[TextRuleInfo]
    fidelity: float | None
    between: float | None
    metric: str
    complexity: int
    phrases: int
    family: str
    curve: list[TextCurvePoint]
    reason: str
    n_texts: int
    n_samples: int
    n_held_out: int


class HeadReply(TypedDict):
    type: Literal["head"]
    seq: int
    layer: int
    head: int
    size: int
    scale: float
    error: str | None


class PackedArray(TypedDict):
    dtype: str
    shape: list[int]
    data: str  # base64 of gzip of the raw bytes


class TokenEditInfo(TypedDict):
    """The model's output for one token masked or deleted; no edited text (the page rebuilds
    it from the view's text and the token's span, as edit_token does)."""

    token: int
    action: Literal["mask", "delete"]
    prediction: float
    probabilities: list[float]


class TextExportData(TypedDict):
    schema: TextSchema
    surrogate: TextSurrogateInfo | None
    views: list[TextView]
    texts: list[int]
    start: int
    heads: list[PackedArray | None]
    head_scales: list[list[float]]
    edits: list[list[TokenEditInfo]]


# -- builders ---------------------------------------------------------------------------
def tokens_info(tokens: Tokens) -> TokensInfo:
    """A text's tokens: strings, character spans (None for special tokens)."""
    return {
        "strings": list(tokens.strings),
        "spans": [None if s is None else [int(s[0]), int(s[1])] for s in tokens.spans],
        "special": list(tokens.special),
        "truncated": int(tokens.truncated),
    }


def attribution(found: Attribution, explainer: Explainer) -> AttributionInfo:
    """An attribution in the common form (the tabular panel's), strict JSON."""
    return table_payloads.attribution(found, explainer)


def agreement(
    reference: tuple[str, Attribution], other: tuple[str, Attribution], titles: dict[str, str]
) -> Agreement:
    """How far two token explainers agree on a text's most important tokens (the tabular
    measure), worded with the explainers' titles. Only the reference's tokens that matter
    (|value| at least ``SIGNIFICANT`` of its largest) are compared: in a short text the
    near-zero rest is noise whose order means nothing."""
    values = np.abs(np.asarray(reference[1].values, dtype=float))
    top = float(values.max()) if values.size else 0.0
    k = int(np.sum(values >= SIGNIFICANT * top)) if top > 0 else 1
    found = table_payloads.agreement(
        reference, other, k=max(1, min(k, table_payloads.AGREEMENT_TOP_K))
    )
    a, b = titles[reference[0]], titles[other[0]]
    if found["verdict"] == "unreliable":
        fit = found["local_fit"]
        text = (
            f"{b}'s local model fits poorly here (R² {fit:.2f}): read its weights as rough, "
            f"and trust {a} for this text"
        )
    elif found["verdict"] == "agree":
        text = f"{a} and {b} agree on this text"
    else:
        text = f"{a} and {b} disagree on this text: read both with care"
    return {**found, "text": text}


def pack_bytes(matrix: np.ndarray) -> PackedBytes:
    """A non-negative map as bytes of its largest value."""
    cells, scale = quantise(matrix)
    return {
        "shape": list(cells.shape),
        "scale": scale,
        "data": base64.b64encode(cells.tobytes()).decode(),
    }


def attention_info(weights: np.ndarray) -> AttentionInfo:
    """The grid's thumbnails, each head's entropy and the rollout of one text."""
    layers, heads = weights.shape[:2]
    thumbs, side = thumbnails(weights)
    rolled = rollout(weights)
    return {
        "layers": int(layers),
        "heads": int(heads),
        "side": int(side),
        "thumbnails": base64.b64encode(thumbs.tobytes()).decode(),
        "entropy": [_round(v) for v in entropy(weights).ravel()],
        "rollout": [_round(v) for v in rolled[0]],
        "rollout_map": pack_bytes(rolled),
    }


def head_reply(
    seq: int, layer: int, head: int, weights: np.ndarray | None
) -> tuple[HeadReply, bytes]:
    """One head's map as a message and its bytes (sent as a binary buffer)."""
    if weights is None:
        reply: HeadReply = {
            "type": "head", "seq": seq, "layer": layer, "head": head, "size": 0, "scale": 1.0,
            "error": "no attention for this text",
        }  # fmt: skip
        return reply, b""
    cells, scale = quantise(weights)
    return {
        "type": "head",
        "seq": seq,
        "layer": layer,
        "head": head,
        "size": int(cells.shape[0]),
        "scale": scale,
        "error": None,
    }, cells.tobytes()


def rule_match(rule: TextRule, tokens: Tokens) -> TextRuleMatch:
    """The firing rule, the phrases of it the text contains, and the tokens that say them."""
    from .surrogate import phrase_spans, phrases_of

    present = phrases_of(tokens.text)
    said = [p for p in rule.phrases if p in present]
    spans = [span for p in said for span in phrase_spans(tokens.text, p)]
    positions = [
        i
        for i, span in enumerate(tokens.spans)
        if span is not None and any(span[0] < end and start < span[1] for start, end in spans)
    ]
    return {"id": rule.id, "phrases": said, "tokens": positions}


def surrogate_info(found: TextSurrogate) -> TextSurrogateInfo:
    """The rule list with its fidelity and curve."""
    return {
        "rules": [
            {
                "id": r.id,
                "phrases": list(r.phrases),
                "exceptions": list(r.exceptions),
                "prediction": str(r.prediction),
                "coverage": r.coverage,
                "precision": r.precision,
                "text": r.text(),
            }
            for r in found.rules
        ],
        "fidelity": finite(found.fidelity),
        "between": finite(found.between),
        "metric": found.metric,
        "complexity": found.complexity,
        "phrases": found.phrases,
        "family": found.family,
        "curve": [
            {
                "rules": int(p["rules"]),
                "fidelity": finite(p["fidelity"]),
                "between": finite(p["between"]),
                "validation": finite(p["validation"]),
                "validation_se": finite(p["validation_se"]),
                "chosen": bool(p["chosen"]),
            }
            for p in found.curve
        ],
        "reason": found.reason,
        "n_texts": found.n_texts,
        "n_samples": found.n_samples,
        "n_held_out": len(found.held_out),
    }


def pack(array: np.ndarray) -> PackedArray:
    """A numeric array as base64 of gzip of its bytes, with dtype and shape (exports)."""
    raw = np.ascontiguousarray(array)
    return {
        "dtype": str(raw.dtype),
        "shape": list(raw.shape),
        "data": base64.b64encode(gzip.compress(raw.tobytes(), compresslevel=9, mtime=0)).decode(),
    }


def label_of(text: str) -> str:
    """A short one-line label of a text for the picker."""
    line = " ".join(text.split())
    if not line:
        return "(empty text)" if not text else "(blank text)"
    return line if len(line) <= LABEL_CHARS else line[: LABEL_CHARS - 1] + "…"


def _round(value: float) -> float:
    return round(float(value), 5)
