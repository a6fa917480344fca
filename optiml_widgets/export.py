"""Standalone HTML: the same frontend and payloads in one file that opens offline, no kernel.

An in-page model (js/src/host.ts) stands in for the kernel. It answers the frontend's
requests from data computed here: every exported row's exact view, and along each
feature's slider grid (one feature changed at a time) the model's exact output, SHAP
values and firing rule. Two or more changed features get an estimate composed from the
one-feature curves, and the panel labels it as such.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .format import format_number
from .session import ExplanationSession

STATIC = Path(__file__).parent / "static"
DEFAULT_ROWS = 50
GRID_POINTS = 12
MAX_CATEGORIES = 40
_CHUNK = 2000


def grid_values(
    session: ExplanationSession, feature_index: int, points: int = GRID_POINTS
) -> np.ndarray:
    """Encoded values a feature's slider can take in the export.

    Numeric features: quantiles of X (so points sit where the data is); integers rounded;
    categories and booleans: every code (the most common first, at most 40).
    """
    feature = session.schema.features[feature_index]
    column = session.encoded_X[:, feature_index]
    column = column[~np.isnan(column)]
    if feature.is_discrete:
        order = np.argsort(-np.asarray(feature.counts), kind="stable")
        return np.sort(order[:MAX_CATEGORIES]).astype(float)
    values = np.quantile(column, np.linspace(0, 1, points))
    if feature.kind == "integer":
        values = np.rint(values)
    return np.unique(values)


def _pack(array: np.ndarray) -> dict[str, Any]:
    """A numeric array as base64 of gzip of its bytes, with dtype and shape."""
    raw = np.ascontiguousarray(array)
    return {
        "dtype": str(raw.dtype),
        "shape": list(raw.shape),
        "data": base64.b64encode(gzip.compress(raw.tobytes(), compresslevel=9, mtime=0)).decode(),
    }


def _progress(total: int, label: str) -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with shap
        return None
    return tqdm(total=total, desc=label, leave=False)


def precompute(
    session: ExplanationSession, rows: Sequence[int], points: int = GRID_POINTS
) -> dict[str, Any]:
    """One-feature what-if grids of the exported rows: output, SHAP and rule per grid point."""
    target = session.target_index
    grids = [grid_values(session, j, points) for j in range(len(session.schema))]
    offsets = np.cumsum([0] + [len(g) for g in grids])
    per_row = int(offsets[-1])
    encoded = np.repeat(session.encoded_X[list(rows)], per_row, axis=0)
    for r, index in enumerate(rows):
        block = encoded[r * per_row : (r + 1) * per_row]
        edits = session.edits_by_row.get(index)
        if edits:  # a row edited in the notebook is exported as edited
            block[:] = session.result(index, edits).encoded
        for j, grid in enumerate(grids):
            block[offsets[j] : offsets[j + 1], j] = grid
    n = len(encoded)
    predictions = np.empty(n, dtype=np.float32)
    shap_values = np.zeros((n, len(session.schema)), dtype=np.float32)
    rules = np.full(n, -1, dtype=np.int16)
    bar = _progress(n, "optiml_widgets export")
    for start in range(0, n, _CHUNK):
        chunk = encoded[start : start + _CHUNK]
        predictions[start : start + len(chunk)] = session.adapter.predict(
            session.schema.decode(chunk)
        )[:, target]
        if session.shap_explainer is not None:
            explained = session.shap_explainer.explain(
                chunk, fast=session.shap_explainer.approximate
            )
            shap_values[start : start + len(chunk)] = explained.values[:, :, target]
        if session.surrogate is not None:
            rules[start : start + len(chunk)] = [
                r.id for r in session.surrogate.rules_for_encoded(chunk)
            ]
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    # SHAP values as int16 with one scale per row: half the bytes of float32, error < 1e-4 of the largest.
    shap_rows = shap_values.reshape(len(rows), per_row, -1)
    scale = np.abs(shap_rows).reshape(len(rows), -1).max(axis=1) / 32767.0
    scale[scale == 0] = 1.0
    quantised = np.rint(shap_rows / scale[:, None, None]).astype(np.int16)
    return {
        # The permutation algorithm runs with its cheaper setting here; the file says so.
        "shap_exact": session.shap_explainer is None or not session.shap_explainer.approximate,
        "offsets": offsets.tolist(),
        "values": [_grid_display(session, j, g) for j, g in enumerate(grids)],
        "prediction": _pack(predictions),
        "shap": _pack(quantised),
        "shap_scale": _pack(scale.astype(np.float32)),
        "rule": _pack(rules),
    }


def _grid_display(session: ExplanationSession, j: int, grid: np.ndarray) -> list[Any]:
    """Grid values as the frontend shows and sends them (category text, bools, numbers)."""
    feature = session.schema.features[j]
    if feature.kind == "boolean":
        return [bool(feature.categories[int(c)]) for c in grid]
    if feature.kind == "categorical":
        return [str(feature.categories[int(c)]) for c in grid]
    if feature.kind == "integer":
        return [int(v) for v in grid]
    return [float(v) for v in grid]


def export_data(
    session: ExplanationSession,
    rows: Sequence[int] | None = None,
    *,
    include_data: bool = True,
    points: int = GRID_POINTS,
) -> dict[str, Any]:
    """Everything the export page needs, as JSON-able data."""
    rows = _choose_rows(session, rows)
    schema = session.schema_payload()
    schema["targets"] = [str(session.target)]
    schema["n_rows"] = len(rows)
    views = []
    for position, index in enumerate(rows):
        view = session.view(0, index=index)
        view["index"] = position
        view["label"] = f"row {index} of X"
        if not include_data:
            view["instance"] = dict.fromkeys(view["instance"])
            view["original"] = dict.fromkeys(view["original"])
            view["y"] = None
        views.append(view)
    return {
        "schema": schema,
        "surrogate": session.surrogate.to_payload() if session.surrogate else None,
        "views": views,
        "rows": list(rows),
        "start": rows.index(session.index) if session.index in rows else 0,
        "include_data": include_data,
        "grids": precompute(session, rows, points) if include_data else None,
        "global": global_payload(session, include_data=include_data),
    }


def global_payload(session: ExplanationSession, *, include_data: bool) -> dict[str, Any] | None:
    """The global views of the current target; without data, no feature values in them."""
    if session.shap_explainer is None:
        return None
    from .charts import charts_payload

    explanation = session.global_explanation()
    charts = session.global_charts(include_values=include_data)
    return {
        "state": "ready",
        "done": len(explanation.rows),
        "total": len(explanation.rows),
        "message": (
            f"SHAP values of {explanation.sample_text} ({explanation.algorithm}); "
            f"output: {session.target}. Clicking a point opens its row when it is in this file."
        ),
        "target": str(session.target),
        **charts_payload(charts),
    }


def _choose_rows(session: ExplanationSession, rows: Sequence[int] | None) -> list[int]:
    if rows is None:
        others = [i for i in range(session.n_rows) if i != session.index][: DEFAULT_ROWS - 1]
        return [session.index, *others]
    chosen = [session.check_index(int(i)) for i in rows]
    if not chosen:
        raise ValueError("rows is empty: pass at least one row number to export.")
    return list(dict.fromkeys(chosen))


def _script_json(data: Any) -> str:
    """JSON that is safe inside <script>: no '</script>', no '<!--' can close or open anything."""
    text = json.dumps(data, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' blob:; style-src 'unsafe-inline'; img-src data:; connect-src data:">
<title>{title}</title>
<style>
:root {{ color-scheme: light dark; }}
body {{ margin: 16px; background: #ffffff; }}
@media (prefers-color-scheme: dark) {{
  body {{ background: #111111; }}
  .optiml-widget {{
    --jp-ui-font-color1: rgba(255,255,255,0.87); --jp-ui-font-color2: rgba(255,255,255,0.6);
    --jp-layout-color1: #111111; --jp-layout-color2: #2a2a2a; --jp-border-color2: #3a3a3a;
  }}
}}
{css}
</style>
</head>
<body>
<div id="optiml-export"></div>
<script type="text/plain" id="optiml-esm">{esm}</script>
<script type="text/plain" id="optiml-charts">{charts}</script>
<script type="application/json" id="optiml-data">{data}</script>
<script type="module">
const text = (id) => document.getElementById(id).textContent;
const bytes = (id) => Uint8Array.from(atob(text(id)), (c) => c.charCodeAt(0));
const load = async (data) => import(URL.createObjectURL(new Blob([data], {{ type: "text/javascript" }})));
// The chart engine travels gzipped; the browser unpacks it when the charts are drawn.
const charts = async () => load(await new Response(new Blob([bytes("optiml-charts")]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
const module = await load(bytes("optiml-esm"));
await module.renderExport(document.getElementById("optiml-export"), JSON.parse(text("optiml-data")), charts);
</script>
</body>
</html>
"""


def to_html(
    session: ExplanationSession,
    path: str | Path | None = None,
    *,
    rows: Sequence[int] | None = None,
    include_data: bool = True,
    title: str = "optiml_widgets export",
) -> str:
    """The standalone HTML page; written to ``path`` when given."""
    data = export_data(session, rows, include_data=include_data)
    esm = (STATIC / "widget.js").read_bytes()
    page = PAGE.format(
        title=html.escape(title),
        css=(STATIC / "widget.css").read_text(),
        esm=base64.b64encode(esm).decode(),
        charts=_chart_engine() if data["global"] else "",
        data=_script_json(data),
    )
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def _chart_engine() -> str:
    """The chart engine module (static/vega.js) as base64 of its gzip: a third of its size."""
    engine = (STATIC / "vega.js").read_bytes()
    return base64.b64encode(gzip.compress(engine, compresslevel=9, mtime=0)).decode()


def static_picture(session: ExplanationSession) -> str:
    """A small script-free picture of the panel (force plot and rules) for places where
    widgets cannot run: GitHub's notebook view, ``jupyter nbconvert --to html``."""
    view = session.view(0)
    esc = html.escape
    names = session.schema.names
    what = "prediction" if session.adapter.task == "regression" else f"P({view['target']})"
    parts = [
        '<div class="optiml-static" style="font-family:system-ui,sans-serif;font-size:13px;max-width:900px">',
        f'<p><b style="font-size:1.3em">{esc(what)} = {esc(format_number(view["prediction"], 4))}</b>'
        f" &nbsp;row {view['index']} · SHAP: {esc(session.shap_explainer.description if session.shap_explainer else 'off')}"
        " · <i>static picture: run the notebook for the live panel</i></p>",
    ]
    if view["shap"]:
        order = sorted(range(len(names)), key=lambda i: -abs(view["shap"][i]))[:8]
        biggest = max(abs(view["shap"][i]) for i in order) or 1.0
        height = 22 * len(order) + 4
        parts.append(f'<svg width="900" height="{height}" role="img" aria-label="SHAP values">')
        for row, i in enumerate(order):
            value = view["shap"][i]
            width = abs(value) / biggest * 300
            x = 560 if value >= 0 else 560 - width
            colour = "#e5484d" if value > 0 else "#3e7bfa"
            label = f"{names[i]} = {view['instance'][names[i]]}"
            parts.append(
                f'<text x="550" y="{22 * row + 16}" text-anchor="end">{esc(label)}</text>'
                f'<rect x="{x:.1f}" y="{22 * row + 4}" width="{max(width, 1):.1f}" height="16" fill="{colour}"/>'
                f'<text x="{870}" y="{22 * row + 16}" text-anchor="end">{esc(format_number(value, 3))}</text>'
            )
        parts.append("</svg>")
    if session.surrogate is not None:
        surrogate = session.surrogate
        active = view["rule"]["id"] if view["rule"] else None
        metric = "R²" if surrogate.metric == "r2" else "accuracy"
        parts.append(
            f'<table style="border-collapse:collapse"><caption style="text-align:left">Surrogate: '
            f"{surrogate.complexity} rules, held-out fidelity ({metric}) {surrogate.fidelity:.3f}</caption>"
        )
        for rule in surrogate.rules[:12]:
            style = ' style="font-weight:bold;background:#eef"' if rule.id == active else ""
            parts.append(f"<tr{style}><td>{esc(rule.text())}</td><td>{rule.coverage:.0%}</td></tr>")
        parts.append("</table>")
    parts.append("</div>")
    return "".join(parts)
