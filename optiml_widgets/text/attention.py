"""Attention weights: per-head thumbnails, one head's token-to-token map, and rollout.

A transformers model returns, per layer, each head's attention (T x T, rows sum to 1).
What travels is small: the grid's thumbnails (each head pooled to at most ``THUMB`` x ``THUMB``
cells, one byte a cell) with each head's entropy, and one head's full map when it is asked
for (one byte a cell with the map's own scale). Rollout (Abnar & Zuidema, 2020) follows
attention through the layers: each layer's head average plus the identity (the residual
stream), rows renormalised, multiplied from the first layer to the last.

Attention says where a head looks, not why the model decides: the panel says so.
"""

from __future__ import annotations

import numpy as np

THUMB = 16  # thumbnail side, in cells


def rollout(attention: np.ndarray) -> np.ndarray:
    """Attention rollout (T, T) of weights (layers, heads, T, T): ``A_L … A_1`` with
    ``A_l = normalise(mean_heads(att_l) + I)`` (the residual connection counted once)."""
    layers, _heads, t, _ = attention.shape
    out = np.eye(t)
    for layer in range(layers):
        a = attention[layer].mean(axis=0) + np.eye(t)
        a = a / a.sum(axis=1, keepdims=True)
        out = a @ out
    return out


def pool(matrix: np.ndarray, size: int = THUMB) -> np.ndarray:
    """A square map averaged into at most ``size`` x ``size`` cells."""
    t = matrix.shape[0]
    if t <= size:
        return matrix
    edges = np.linspace(0, t, size + 1).round().astype(int)
    rows = np.add.reduceat(matrix, edges[:-1], axis=0) / np.diff(edges)[:, None]
    return np.add.reduceat(rows, edges[:-1], axis=1) / np.diff(edges)[None, :]


def quantise(matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """Values as bytes 0..255 of the map's largest value; returns ``(bytes, scale)`` with
    ``value ≈ byte * scale``."""
    top = float(np.max(matrix)) if matrix.size else 0.0
    scale = top / 255.0 if top > 0 else 1.0
    return np.clip(np.rint(matrix / scale), 0, 255).astype(np.uint8), scale


def thumbnails(attention: np.ndarray, size: int = THUMB) -> tuple[np.ndarray, int]:
    """Every head pooled and scaled to its own largest cell: (layers, heads, s, s) bytes."""
    layers, heads, t, _ = attention.shape
    side = min(t, size)
    out = np.zeros((layers, heads, side, side), dtype=np.uint8)
    for layer in range(layers):
        for head in range(heads):
            out[layer, head] = quantise(pool(attention[layer, head], size))[0]
    return out, side


def entropy(attention: np.ndarray) -> np.ndarray:
    """Each head's mean row entropy in bits (layers, heads): low = focused, high = diffuse."""
    p = np.clip(attention, 1e-12, 1.0)
    return -(p * np.log2(p)).sum(axis=-1).mean(axis=-1)
