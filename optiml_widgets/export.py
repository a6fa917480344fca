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
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import html_file, payloads
from .explainers.base import Output, output_value
from .format import counted, format_number, format_value, percent
from .jobs import NEVER, Progress, Stop, no_progress
from .progress import StepProgress, export_bar, waits_reported_to
from .session import ExplanationSession
from .sweeps import Sweep

STATIC = Path(__file__).parent / "static"
DEFAULT_ROWS = 50
MAX_ROWS = 500  # each row carries every feature's what-if grid: beyond this, export a selection
# Grid points whose SHAP values are computed per exported row (the row's most important
# features first), at most GRID_SHAP_ROWS and within about GRID_SHAP_SECONDS per row as
# measured on the rows before: a fully grown forest costs ~4 ms per explained point, a
# small boosted model well under 1 ms. Never fewer than MIN_GRID_SHAP_ROWS.
GRID_SHAP_ROWS = 48
MIN_GRID_SHAP_ROWS = 8
GRID_SHAP_SECONDS = 0.08

SHOWN_RULES = 12  # rules in the script-free picture (the live panel and the export show all)


def precompute(
    session: ExplanationSession,
    rows: Sequence[int],
    *,
    stop: Stop = NEVER,
    progress: Progress = no_progress,
    instances: Sequence[tuple[int, Mapping[str, Any]]] | None = None,
) -> dict[str, Any]:
    """One-feature what-if grids of the exported rows: output, SHAP and rule per grid point.

    One block per instance: by default each exported row with its edits; ``instances``
    (row, edits) gives them instead (a row exported with edits also has a block of its own
    values, for what-ifs after a reset). The model's outputs come from the session's sweeps
    (the same the drag curves use); the SHAP values of a block's whole grid are one batched
    call.
    """
    if instances is None:
        instances = [(index, session.edits_by_row.get(index, {})) for index in rows]
    target = session.output
    shap = session.shap_explainer
    surrogate = session.surrogate
    n_features = len(session.schema)
    predictions, shap_rows, rules = [], [], []
    exact_features: list[list[int]] = []
    # Per row, where each feature's grid starts in its block: with wide data each row
    # sweeps its own most important features, so the blocks differ (a feature a row does
    # not sweep has an empty grid there). A feature's grid values are the same in every row.
    offsets: list[list[int]] = []
    values: list[list[Any]] = [[] for _ in range(n_features)]
    splits = shap.split_points() if shap is not None else None
    budget = GRID_SHAP_ROWS
    for done, (index, edits) in enumerate(instances):
        stop.check()
        try:
            sweep = session.sweep(index, edits)
        except Exception as exc:
            note = getattr(exc, "add_note", None)  # Python 3.11+
            if note is not None:  # which of the file's work met the model's error
                note(
                    f"optiml_widgets was exporting row {index}: the model's outputs along "
                    "each feature's slider, from its lowest value in X to its highest. Export "
                    "other rows (rows=[...]), or include_data=False for no what-ifs."
                )
            raise
        offsets.append(list(sweep.offsets))
        for j, shown in enumerate(sweep.display):
            if shown:
                values[j] = shown
        # float64: an output far from zero (123456789 +- 3) moved in float32 steps of 8
        predictions.append(output_value(sweep.outputs, target).astype(np.float64))
        if shap is not None:
            own = session.attribution(index, edits, "shap", target)
            assert own is not None
            started = time.perf_counter()
            found, exact, explained = _sweep_shap(
                session, shap, sweep, own.values, splits, target, budget
            )
            if explained:
                per_point = (time.perf_counter() - started) / explained
                budget = int(
                    np.clip(GRID_SHAP_SECONDS / per_point, MIN_GRID_SHAP_ROWS, GRID_SHAP_ROWS)
                )
            shap_rows.append(found)
            exact_features.append(exact)
        else:
            shap_rows.append(np.zeros((sweep.offsets[-1], n_features), dtype=np.float32))
            exact_features.append([])
        if surrogate is not None:
            rules.append(np.array([r.id for r in surrogate.rules_for_encoded(sweep.rows())]))
        else:
            rules.append(np.full(sweep.offsets[-1], -1))
        progress(done + 1, len(instances))
    # SHAP values as int16 with one scale per row: half the bytes of float32, error < 1e-4 of the largest.
    scale = np.array([np.abs(block).max(initial=0.0) for block in shap_rows]) / 32767.0
    scale[scale == 0] = 1.0
    quantised = np.concatenate(
        [np.rint(block / s).astype(np.int16) for block, s in zip(shap_rows, scale)]
    )
    return {
        # The permutation algorithm runs with its cheaper setting here; the file says so.
        "shap_exact": shap is None or not shap.approximate,
        "shap_exact_features": exact_features,
        "offsets": offsets,
        "values": values,
        "prediction": _pack(np.concatenate(predictions)),
        "shap": _pack(quantised),
        "shap_scale": _pack(scale.astype(np.float32)),
        "rule": _pack(np.concatenate(rules).astype(np.int16)),
    }


def _sweep_shap(
    session: ExplanationSession,
    shap: Any,
    sweep: Sweep,
    own: np.ndarray,
    splits: dict[int, np.ndarray | None] | None,
    target: Output,
    budget: int = GRID_SHAP_ROWS,
) -> tuple[np.ndarray, list[int], int]:
    """SHAP values of a row's sweep, in one batched call, the features whose sweep they
    are exact for, and how many grid points were explained.

    With TreeSHAP, grid points in the same interval between the trees' thresholds as another
    (or as the row itself) have the same values, so each interval is explained once. At most
    ``budget`` points are explained, the row's most important features first; along the
    other features' sweeps the values are an estimate that credits the output's change to
    the moved feature (they still add up to the model's output), and the file says so.
    """
    n_rows = sweep.offsets[-1]
    out = np.repeat(own[None, :].astype(np.float32), n_rows, axis=0)
    todo: list[int] = []
    source = np.arange(n_rows)  # the grid row whose values each row takes (-1: the row's)
    exact: list[int] = []
    for j in np.argsort(-np.abs(own), kind="stable").tolist():
        block = range(sweep.offsets[j], sweep.offsets[j + 1])
        column = sweep.grids[j]
        cuts = None if splits is None else splits.get(j, np.zeros(0))
        if cuts is None:
            signature = column.tolist()  # every distinct value is its own point
            mine: Any = sweep.base[j]
        else:
            span = len(cuts) + 1
            signature = (
                np.searchsorted(cuts, column, "left") * span
                + np.searchsorted(cuts, column, "right")
            ).tolist()
            value = sweep.base[j]
            mine = int(
                np.searchsorted(cuts, value, "left") * span + np.searchsorted(cuts, value, "right")
            )
        first: dict[Any, int] = {}
        new: list[int] = []
        for k, sig in zip(block, signature):
            if sig == mine and not np.isnan(sweep.base[j]):
                source[k] = -1
            elif sig in first:
                source[k] = first[sig]
            else:
                first[sig] = k
                new.append(k)
        if len(todo) + len(new) > budget:
            # Beyond the budget: the row's own values, the change credited to feature j.
            change = output_value(sweep.outputs[list(block)], target) - output_value(
                sweep.base_output, target
            )
            out[list(block), j] = own[j] + change
            source[list(block)] = np.asarray(list(block))  # nothing to copy
            continue
        todo.extend(new)
        exact.append(j)
    if todo:
        # From the Export button, in short steps: live edits go in between.
        rows = sweep.rows()[todo]
        found = None
        while found is None:  # None: a row missed its output and SHAP moved on
            found = session.additive_shap(
                shap,
                rows,
                session.shap_in_steps(shap, rows, fast=shap.approximate),
                sweep.outputs[todo],
            )
        out[todo] = output_value(found.values, target)
    for k in range(n_rows):
        if source[k] >= 0 and source[k] != k:
            out[k] = out[source[k]]
    return out, sorted(exact), len(todo)


def _pack(array: np.ndarray) -> dict[str, Any]:
    """A numeric array as base64 of gzip of its bytes, with dtype and shape."""
    raw = np.ascontiguousarray(array)
    return {
        "dtype": str(raw.dtype),
        "shape": list(raw.shape),
        "data": base64.b64encode(gzip.compress(raw.tobytes(), compresslevel=9, mtime=0)).decode(),
    }


def export_data(
    session: ExplanationSession,
    rows: Sequence[int] | None = None,
    *,
    include_data: bool = True,
    feature: str | None = None,
    stop: Stop = NEVER,
    progress: Progress = no_progress,
) -> dict[str, Any]:
    """Everything the export page needs, as JSON-able data (js/src/types.ts ExportData);
    the dependence plot shows ``feature`` (None: the most important one)."""
    rows = choose_rows(session, rows)
    # Steps: the surrogate, each row's view, each row's grids (a row with edits has two
    # blocks: as edited and as it is), the global views.
    blocks = len(rows) + sum(bool(session.edits_by_row.get(index)) for index in rows)
    steps = StepProgress(1 + len(rows) + (blocks if include_data else 0) + 1, progress, stop)
    with steps.waits():  # the surrogate's fit and global SHAP, if still running
        return _export_data(session, rows, include_data, feature, steps)


def _export_data(
    session: ExplanationSession,
    rows: list[int],
    include_data: bool,
    feature: str | None,
    steps: StepProgress,
) -> dict[str, Any]:
    surrogate = session.surrogate
    steps.advance()
    schema = payloads.schema(session)
    schema["targets"] = [str(session.target)]
    schema["n_rows"] = len(rows)
    views = []
    # A row with what-if edits is exported as edited, and as it is, for a reset; with two
    # or more edits, also with each one undone, for the reset of one feature (without the
    # data there is nothing to edit or reset). Each of these views' counterfactual row is
    # exported too, for its "Try it".
    unedited: list[payloads.View | None] = []
    one_undone: list[list[tuple[int, payloads.View]]] = []
    counterfactual_views: list[list[payloads.View]] = []
    for position, index in enumerate(rows):
        view = session.view(0, index=index)
        edits = session.edits_by_row.get(index, {}) if include_data else {}
        own = session.view(0, index=index, edits={}) if edits and view["edited"] else None
        moved = [
            (j, name) for name in edits if (j := session.schema.names.index(name)) in view["edited"]
        ]
        undone_edits = [(j, _without(edits, name)) for j, name in (moved if len(moved) > 1 else ())]
        undone = [(j, session.view(0, index=index, edits=e)) for j, e in undone_edits]
        stored = [
            (edits, view),
            ({}, own),
            *((e, v) for (_, e), (_, v) in zip(undone_edits, undone)),
        ]
        reached = _counterfactual_views(session, index, stored) if include_data else []
        for shown in (view, own, *(v for _, v in undone), *reached):
            if shown is not None:
                shown["index"] = position
                shown["label"] = session.row_name(index, include_data=include_data)
        views.append(view if include_data else _without_data(view))
        unedited.append(own)
        one_undone.append(undone)
        counterfactual_views.append(reached)
        steps.advance()
    grids = None
    if include_data:
        # Each row's block, then a block of each row exported with edits as it is: a
        # one-feature what-if after its reset is the model's own output too.
        instances: list[tuple[int, Mapping[str, Any]]] = [
            (index, session.edits_by_row.get(index, {})) for index in rows
        ]
        unedited_block: list[int | None] = []
        for index, own in zip(rows, unedited):
            unedited_block.append(len(instances) if own is not None else None)
            if own is not None:
                instances.append((index, {}))
        grids = precompute(
            session,
            rows,
            instances=instances,
            stop=steps.stop,
            progress=steps.within(len(instances)),
        )
        grids["unedited_block"] = unedited_block
        steps.advance(len(instances))
    global_views = None
    if session.shap_explainer is not None:
        # Named in the file as the plot shows it (None: the most important one).
        feature = session.dependence_feature(feature)
        global_views = payloads.global_views(
            session, feature, include_data=include_data, live=False
        )
    steps.advance()
    surrogate_info = payloads.surrogate(surrogate) if surrogate is not None else None
    if not include_data:
        schema["features"] = [_feature_without_data(f) for f in schema["features"]]
        if surrogate_info is not None:
            surrogate_info = _surrogate_without_data(surrogate_info)
    return {
        "schema": schema,
        "surrogate": surrogate_info,
        "views": views,
        "rows": list(rows),
        "start": rows.index(session.index) if session.index in rows else 0,
        "include_data": include_data,
        "unedited": unedited,
        "one_undone": one_undone,
        "counterfactual_views": counterfactual_views,
        "grids": grids,
        "global": global_views,
        "feature": feature if global_views is not None else None,
    }


def _counterfactual_views(
    session: ExplanationSession,
    index: int,
    stored: Sequence[tuple[Mapping[str, Any], payloads.View | None]],
) -> list[payloads.View]:
    """The exact views of the counterfactual rows of a row's stored views (with their
    edits): "Try it" in the file shows the model's own output there, as the hint says; the
    nearest grid point could contradict it. Like a one-feature what-if they hold the
    additive explainers and the rule only: the streamed ones (LIME) and a hint from there
    are not computed (the panel says so)."""
    original = session.original(index)
    found: list[payloads.View] = []
    for edits, view in stored:
        if view is None or not view.get("counterfactual"):
            continue
        hint = session.counterfactual(index, edits)  # the view's own, kept by the session
        if hint is None:
            continue
        moved = {
            name: value
            for name, value in {**edits, **hint.changes}.items()
            if not session.same_value(name, value, original[name])
        }
        reached = session.view(0, index=index, edits=moved, complete=False)
        if any(reached["values"] == other["values"] for other in found):
            continue
        reached.pop("counterfactual", None)
        reached["pending"] = []
        found.append(reached)
    return found


def _without(edits: Mapping[str, Any], name: str) -> dict[str, Any]:
    return {other: value for other, value in edits.items() if other != name}


def _without_data(view: payloads.View) -> payloads.View:
    """A view with no raw value of its row: values, LIME's condition texts (they quote
    the row's bins), the true label and the counterfactual (its moves are values) are left
    out. The counterfactual is absent, not None: None would say there is none."""
    out = dict(view)
    out["values"] = [None] * len(view["values"])
    out["original"] = [None] * len(view["original"])
    out["y"] = None
    out.pop("counterfactual", None)
    out["attributions"] = [
        None if a is None else {**a, "details": {**a["details"], "conditions": None}}
        for a in view["attributions"]
    ]
    return out  # type: ignore[return-value]


def _feature_without_data(feature: payloads.FeatureInfo) -> payloads.FeatureInfo:
    """A feature's name and kind only: its range, quantiles and categories are raw values."""
    return {
        **feature,
        "min": None,
        "max": None,
        "quantiles": [],
        "categories": None,
        "counts": None,
    }


def _surrogate_without_data(info: payloads.SurrogateInfo) -> payloads.SurrogateInfo:
    """Rules keep what they learned: numeric thresholds (cuts between values, rounded to
    the data's resolution) and linear terms' weights and leaf means. The categories they
    test are raw values of the data, and so is the median a missing value counts as (with
    an odd number of rows, some row's own value): both are left out. Without the rows'
    values the file holds no what-ifs, so nothing evaluates a rule in the page."""

    # Each hidden category is named by a number per feature, the same in every rule, so
    # that "ward == hidden #1" and "ward != hidden #1" still read as opposites.
    numbers: dict[str, dict[str, int]] = {}

    def number(feature: str, value: Any) -> str:
        known = numbers.setdefault(feature, {})
        key = json.dumps(value, sort_keys=True, default=str)
        return f"hidden #{known.setdefault(key, len(known) + 1)}"

    def hidden(c: Any) -> Any:
        if c["op"] not in ("==", "!=", "in"):
            return c
        if c["op"] == "in":
            shown = "{" + ", ".join(number(c["feature"], v) for v in c["value"]) + "}"
        else:
            shown = number(c["feature"], c["value"])
        missing = " or missing" if c["text"].endswith(" or missing") else ""
        return {**c, "value": None, "text": f"{c['feature']} {c['op']} {shown}{missing}"}

    def term_without_data(t: Any) -> Any:
        when = [hidden(c) for c in t["when"]]
        text = t["text"].replace(
            f"(a missing one counts as {format_number(t['fill'])})",
            "(a missing one counts as the column's median, not in this file)",
        )
        for c, shown in zip(t["when"], when):
            text = text.replace(c["text"], shown["text"])
        return {
            **t,
            "fill": t["center"],
            "when_fill": [t["center"]] * len(when),
            "when": when,
            "text": text,
        }

    rules = [
        {
            **rule,
            "conditions": [hidden(c) for c in rule["conditions"]],
            "terms": [term_without_data(t) for t in rule["terms"]],
            "text": "",
        }
        for rule in info["rules"]
    ]
    return {**info, "rules": rules}  # type: ignore[typeddict-item]


def choose_rows(session: ExplanationSession, rows: Sequence[int] | None) -> list[int]:
    """The exported rows: the current one and the next ones by default, or ``rows``."""
    return html_file.choose_rows(
        rows,
        session.index,
        session.n_rows,
        session.check_index,
        default=DEFAULT_ROWS,
        maximum=MAX_ROWS,
        unit="row",
        why="each carries every feature's what-if grid",
    )


# One panel: the bundle, the chart engine and the data as inert text, and a module script
# that renders them (ids carry a suffix so that a page can hold several panels).
PANEL = """<style>{css}</style>
<div id="optiml-export{uid}"></div>
<script type="text/plain" id="optiml-esm{uid}">{esm}</script>
<script type="text/plain" id="optiml-charts{uid}">{charts}</script>
<script type="application/json" id="optiml-data{uid}">{data}</script>
<script type="module">
const text = (id) => document.getElementById(id + "{uid}").textContent;
const bytes = (id) => Uint8Array.from(atob(text(id)), (c) => c.charCodeAt(0));
const load = async (data) => import(URL.createObjectURL(new Blob([data], {{ type: "text/javascript" }})));
// The chart engine travels gzipped; the browser unpacks it when the charts are drawn.
const charts = async () => load(await new Response(new Blob([bytes("optiml-charts")]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());
const module = await load(bytes("optiml-esm"));
await module.renderExport(document.getElementById("optiml-export{uid}"), JSON.parse(text("optiml-data")), charts);
</script>"""


def panel_html(
    data: dict[str, Any], *, esm: bytes | None = None, css: str | None = None, uid: str = ""
) -> str:
    """One offline panel (what an export page and a converted notebook embed)."""
    return PANEL.format(
        uid=uid,
        css=css if css is not None else (STATIC / "widget.css").read_text(encoding="utf-8"),
        esm=base64.b64encode(
            esm if esm is not None else (STATIC / "widget.js").read_bytes()
        ).decode(),
        charts=_chart_engine() if data.get("global") else "",
        data=html_file.script_json(data),
    )


def to_html(
    session: ExplanationSession,
    path: str | Path | None = None,
    *,
    rows: Sequence[int] | None = None,
    include_data: bool = True,
    title: str = "optiml_widgets export",
    feature: str | None = None,
    stop: Stop = NEVER,
    progress: Progress | None = None,
) -> str:
    """The standalone HTML page; written to ``path`` when given; its dependence plot shows
    ``feature`` (the panel's; None: the most important one). ``progress(done, total)``
    is called as it goes; without it (a call from code) a progress bar shows."""
    if progress is not None:
        data = export_data(
            session, rows, include_data=include_data, feature=feature, stop=stop, progress=progress
        )
    else:
        bar, show, waiting = export_bar()
        try:
            with waits_reported_to(waiting):
                data = export_data(
                    session,
                    rows,
                    include_data=include_data,
                    feature=feature,
                    stop=stop,
                    progress=show,
                )
        finally:
            bar.close()
    page = html_file.page(title, panel_html(data))
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page


def _chart_engine() -> str:
    """The chart engine module (static/vega.js) as base64 of its gzip: a third of its size."""
    engine = (STATIC / "vega.js").read_bytes()
    return base64.b64encode(gzip.compress(engine, compresslevel=9, mtime=0)).decode()


def static_picture(session: ExplanationSession, view: payloads.View | None = None) -> str:
    """A small script-free picture of the panel (force plot and rules) for places where
    widgets cannot run: GitHub's notebook view, ``jupyter nbconvert --to html``.

    The names sit in a column of their own left of the bars, so no label ever lies under a
    bar (negative bars grow left from the axis, positive ones right).
    """
    view = view if view is not None else session.view(0, wait=False)
    esc = html.escape
    names = session.schema.names
    what = payloads.output_text(session.adapter.task, view["target"], view.get("versus"))
    shap = next(
        (
            a
            for cls, a in zip(session.local_explainers(), view["attributions"])
            if cls.view == "force" and a is not None
        ),
        None,
    )
    algorithm = shap["algorithm"] if shap is not None else "off"
    row_text = view.get("label") or f"row {view['index']}"  # a label is user data: escaped
    parts = [
        '<div class="optiml-static" style="font-family:system-ui,sans-serif;font-size:13px;max-width:900px">',
        f'<p><b style="font-size:1.3em">{esc(what)} = {esc(format_number(view["prediction"], 4))}</b>'
        f" &nbsp;{esc(row_text)} · SHAP: {esc(str(algorithm))}"
        " · <i>static picture: run the notebook for the live panel</i></p>",
    ]
    if shap is not None:
        values = shap["values"]
        order = sorted(range(len(names)), key=lambda i: -abs(values[i]))[:8]
        biggest = max(abs(values[i]) for i in order) or 1.0
        label_end, axis, half, value_end = 340, 570, 210, 896
        height = 22 * len(order) + 4
        parts.append(
            f'<svg width="900" height="{height}" role="img" aria-label="SHAP values" '
            'style="font-size:12px">'
            f'<line x1="{axis}" x2="{axis}" y1="0" y2="{height}" stroke="#999"/>'
        )
        for row, i in enumerate(order):
            value = values[i]
            width = max(abs(value) / biggest * half, 1.0)
            x = axis if value >= 0 else axis - width
            colour = "#e5484d" if value > 0 else "#3e7bfa"
            label = f"{names[i]} = {format_value(view['values'][i], session.schema.features[i])}"
            if len(label) > 52:
                label = label[:51] + "…"
            parts.append(
                f'<text x="{label_end}" y="{22 * row + 16}" text-anchor="end">'
                f"<title>{esc(names[i])}</title>{esc(label)}</text>"
                f'<rect x="{x:.1f}" y="{22 * row + 4}" width="{width:.1f}" height="16" fill="{colour}"/>'
                f'<text x="{value_end}" y="{22 * row + 16}" text-anchor="end">'
                f"{esc(format_number(value, 3))}</text>"
            )
        parts.append("</svg>")
    surrogate = session.ready_surrogate()
    if surrogate is not None:
        active = view["rule"]["id"] if view["rule"] else None
        parts.append(
            f'<table style="border-collapse:collapse"><caption style="text-align:left">Surrogate: '
            f"{esc(surrogate.caption)}</caption>"
        )
        for rule in surrogate.rules[:SHOWN_RULES]:
            style = ' style="font-weight:bold;background:#eef"' if rule.id == active else ""
            parts.append(
                f"<tr{style}><td>{esc(rule.text(alone=False))}</td><td>{esc(percent(rule.coverage))}</td></tr>"
            )
        if len(surrogate.rules) > SHOWN_RULES:  # a cut list says it is cut
            left = counted(len(surrogate.rules) - SHOWN_RULES, "more rule")
            parts.append(f'<tr><td colspan="2"><i>… and {left}</i></td></tr>')
        parts.extend(
            f'<tr><td colspan="2">{esc(line)}</td></tr>' for line in surrogate.common_lines()
        )
        parts.append("</table>")
    elif session.surrogate_enabled:
        parts.append(
            "<p><i>Surrogate rules: still being fit when this output was made (they show in "
            "the live panel, and in <code>jupyter nbconvert --to optiml-html</code> of a "
            "notebook saved with its widget state).</i></p>"
        )
    parts.append("</div>")
    return "".join(parts)
