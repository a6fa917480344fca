"""Notebooks for the reader without a kernel: ``jupyter nbconvert --to optiml-html nb.ipynb``.

nbconvert's own HTML loads require.js, MathJax and the widget manager from public CDNs and,
when the notebook holds widget state, draws widgets with that manager: opened offline, a
panel is an empty box. This exporter writes HTML that opens with no network at all: each
panel saved in the notebook's widget state is drawn by the same frontend as the live one,
inlined with the state it had (its row, explanations, rules and global views); a panel
with no saved state keeps its static picture. What-ifs need a kernel (or ``w.to_html()``,
which precomputes them) and the panel says so.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from nbconvert.exporters import HTMLExporter
from traitlets import Unicode

from .export import panel_html

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def saved_panel(state: dict[str, Any]) -> str | None:
    """The offline panel of one saved ExplainerWidget state, or None if it is not one."""
    if not {"_schema", "_view"} <= state.keys() or not state.get("_schema"):
        return None
    view = dict(state["_view"])
    index = int(view.get("index", 0))
    # The live view's label names the row with X's own label, when X has one.
    view.update(index=0, label=view.get("label") or f"row {index} of X", pending=[])
    schema = dict(state["_schema"])
    schema["n_rows"] = 1
    global_views = state.get("_global")
    data: dict[str, Any] = {
        "schema": schema,
        "surrogate": state.get("_surrogate"),
        "views": [view],
        "rows": [index],
        "start": 0,
        "include_data": True,
        "unedited": [None],
        "one_undone": [[]],
        "grids": None,
        "global": global_views if (global_views or {}).get("state") == "ready" else None,
        "feature": state.get("feature") if isinstance(state.get("feature"), str) else None,
    }
    esm = state.get("_esm")
    return panel_html(
        data,
        esm=esm.encode("utf-8") if isinstance(esm, str) and esm else None,
        css=state.get("_css") if isinstance(state.get("_css"), str) else None,
        uid=f"-{uuid.uuid4().hex[:12]}",
    )


def inline_panels(notebook: Any) -> Any:
    """A copy of the notebook whose optiml panels are offline HTML. Other widgets (progress
    bars, say) keep their text fallback, and the widget state goes: nothing is left for
    nbconvert's widget manager, which it would load from a CDN."""
    notebook = copy.deepcopy(notebook)
    states = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in notebook.cells:
        kept = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            view = data.get(WIDGET_VIEW)
            if view:
                state = states.get(view.get("model_id"), {}).get("state", {})
                html = saved_panel(state)
                if html is not None:
                    output["data"] = {"text/html": html}
                else:
                    del data[WIDGET_VIEW]
                    if not data:
                        continue
            kept.append(output)
        if "outputs" in cell:
            cell["outputs"] = kept
    notebook.metadata.pop("widgets", None)
    return notebook


class OfflineHTMLExporter(HTMLExporter):
    """HTML with the optiml panels inlined and no script from a CDN (module docstring)."""

    export_from_notebook = "HTML, offline panels"
    # nbconvert's page loads these from CDNs; an empty address loads nothing.
    require_js_url = Unicode("").tag(config=True)
    mathjax_url = Unicode("").tag(config=True)
    jupyter_widgets_base_url = Unicode("").tag(config=True)
    mermaid_js_url = Unicode("").tag(config=True)
    mermaid_layout_elk_js_url = Unicode("").tag(config=True)

    def from_notebook_node(  # type: ignore[override]  # HTMLExporter returns text
        self, nb: Any, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        """nbconvert's HTML of the notebook with its panels inlined."""
        return super().from_notebook_node(inline_panels(nb), resources, **kw)
