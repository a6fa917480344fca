"""The text panel as one standalone HTML file: opens offline, no kernel, no request.

The same frontend bundle and CSS as the notebook, inlined, with an in-page model standing in
for the kernel (js/src/text/host.ts). It holds, for each exported text: its exact view (every
method's attributions, the attention grid, the firing rule), every head's full attention map
(one byte a cell, gzip), and the model's own output for each one-token mask and deletion
(by token and action: the page rebuilds the edited text). Any other edit says it is not in
the file.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import html_file
from ..jobs import NEVER, Cancelled, Progress, Stop, no_progress
from ..progress import StepProgress, export_bar, waits_reported_to
from . import payloads
from .attention import quantise
from .session import TextSession
from .tokens import TokenEdit, edit_token

STATIC = Path(__file__).resolve().parent.parent / "static"
DEFAULT_TEXTS = 20
MAX_TEXTS = 200
QUIET_TEXTS = 20  # exports of up to this many texts show no progress bar
HEAD_CELLS_BUDGET = 4_000_000  # bytes of head maps per text; beyond it only the grid travels


def choose_rows(session: TextSession, rows: Sequence[int] | None) -> list[int]:
    """The exported texts: the current one and the next ones by default, or ``rows``."""
    return html_file.choose_rows(
        rows,
        session.index,
        session.n_texts,
        session.check_index,
        default=DEFAULT_TEXTS,
        maximum=MAX_TEXTS,
        unit="text",
        why="each carries its attention maps and the model's output for its one-token edits",
    )


def one_token_edits(session: TextSession, index: int) -> list[payloads.TokenEditInfo]:
    """The model's output for each word token of a text masked, and deleted (one call).

    Each entry names its token and action only: with the edited text, a long text was
    stored once per token and edit (100 MB for one text of 99,000 characters). The page
    rebuilds the text from the view's text and the token's span (js/src/text/tokens.ts
    editText, checked against edit_token by tests/test_text_export.py)."""
    text = session.text(index)
    tokens = session.instance(index, text).tokens
    actions: tuple[TokenEdit, ...] = ("mask", "delete")
    edits = [(i, action) for i in tokens.words for action in actions]
    if not edits:
        return []
    mask = session.adapter.mask_token
    edited = [session.adapter.given(edit_token(tokens, i, a, mask, text=text)) for i, a in edits]
    with session.gate.hold():
        outputs = session.context.probabilities(edited)
    target = session.target_index
    return [
        {
            "token": i,
            "action": action,  # type: ignore[typeddict-item]
            "prediction": float(out[target]),
            "probabilities": [float(p) for p in out],
        }
        for (i, action), out in zip(edits, outputs)
    ]


def head_maps(session: TextSession, index: int) -> tuple[payloads.PackedArray | None, list[float]]:
    """Every head's map of a text as bytes (layers, heads, T, T) with one scale per head."""
    weights = session.attention(index, session.text(index))
    if weights is None or weights.size > HEAD_CELLS_BUDGET:
        return None, []
    layers, heads = weights.shape[:2]
    cells = np.zeros(weights.shape, dtype=np.uint8)
    scales = []
    for layer in range(layers):
        for head in range(heads):
            cells[layer, head], scale = quantise(weights[layer, head])
            scales.append(scale)
    return payloads.pack(cells), scales


def export_data(
    session: TextSession,
    rows: Sequence[int] | None = None,
    *,
    stop: Stop = NEVER,
    progress: Progress = no_progress,
) -> payloads.TextExportData:
    """Everything the export page needs (js/src/text/types.ts TextExportData)."""
    from .widget import schema as schema_of

    rows = choose_rows(session, rows)
    steps = StepProgress(1 + len(rows), progress, stop)
    with steps.waits():  # the surrogate's fit, if still running
        surrogate = session.surrogate_unless_failed()  # the file goes on without rules
    steps.advance()
    schema = schema_of(session)
    schema["labels"] = [schema["labels"][i] for i in rows]
    schema["n_texts"] = len(rows)
    schema["targets"] = [str(session.target)]
    views, heads, scales, edits = [], [], [], []
    for position, index in enumerate(rows):
        stop.check()
        try:
            view = session.view(0, index=index)
        except Cancelled:
            raise
        except Exception as exc:
            others = [r for r in rows if r != index]
            raise ValueError(
                f"The export stopped at text {index}: {exc} The file needs every text's view; "
                f"leave that text out, e.g. w.to_html(path, rows={_shortened(others)})."
            ) from exc
        view["index"] = position
        view["label"] = f"text {index}"
        views.append(view)
        packed, head_scales = head_maps(session, index)
        heads.append(packed)
        scales.append(head_scales)
        edits.append(one_token_edits(session, index))
        steps.advance()
    return {
        "schema": schema,
        "surrogate": payloads.surrogate_info(surrogate) if surrogate is not None else None,
        "views": views,
        "texts": rows,
        "start": rows.index(session.index) if session.index in rows else 0,
        "heads": heads,
        "head_scales": scales,
        "edits": edits,
    }


def _shortened(rows: list[int]) -> str:
    """A list of text numbers as code, shortened when long: '[0, 1, 3]' (with '...' past DEFAULT_TEXTS)."""
    shown = ", ".join(map(str, rows[:DEFAULT_TEXTS]))
    return f"[{shown}, ...]" if len(rows) > DEFAULT_TEXTS else f"[{shown}]"


# The panel: the bundle and the data as inert text, and a module script that renders them.
PANEL = """<div id="optiml-export"></div>
<script type="text/plain" id="optiml-esm">{esm}</script>
<script type="application/json" id="optiml-data">{data}</script>
<script type="module">
const text = (id) => document.getElementById(id).textContent;
const bytes = Uint8Array.from(atob(text("optiml-esm")), (c) => c.charCodeAt(0));
const module = await import(URL.createObjectURL(new Blob([bytes], {{ type: "text/javascript" }})));
await module.renderTextExport(document.getElementById("optiml-export"), JSON.parse(text("optiml-data")));
</script>"""


def to_html(
    session: TextSession,
    path: str | Path | None = None,
    *,
    rows: Sequence[int] | None = None,
    title: str = "optiml_widgets text export",
    stop: Stop = NEVER,
    progress: Progress | None = None,
) -> str:
    """The standalone page; written to ``path`` when given."""
    rows = choose_rows(session, rows)
    # A call from code shows a bar when the export is long (many texts).
    if progress is not None or len(rows) <= QUIET_TEXTS:
        data = export_data(session, rows, stop=stop, progress=progress or no_progress)
    else:
        bar, show, waiting = export_bar()
        try:
            with waits_reported_to(waiting):
                data = export_data(session, rows, stop=stop, progress=show)
        finally:
            bar.close()
    panel = PANEL.format(
        esm=base64.b64encode((STATIC / "widget.js").read_bytes()).decode(),
        data=html_file.script_json(data),
    )
    page = html_file.page(
        title,
        panel,
        css=(STATIC / "widget.css").read_text(encoding="utf-8"),
        img_src="data: blob:",
    )
    if path is not None:
        Path(path).write_text(page, encoding="utf-8")
    return page
