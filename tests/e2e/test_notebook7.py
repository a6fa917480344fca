"""The same panel in Notebook 7 (served by the same Jupyter server)."""

from __future__ import annotations

import json
from typing import Any

from .jupyter_lab import open_notebook, run_all_cells
from .panel import WIDGET, Quickstart, edit_slider, panel_state, prediction_text, target_of

TIMEOUT = 120_000


def _in_notebook_core(stack: str | None) -> bool:
    frames = (stack or "").split("\n")[1:2]
    return bool(frames) and "/static/notebook/notebook_core" in frames[0]


def test_quickstart_in_notebook_7(page: Any, lab: dict[str, Any]) -> None:
    ours = []
    # Notebook 7's own settings loader throws once on the test server's user settings (a
    # TypeError inside static/notebook/notebook_core*.js, before any widget exists); errors
    # whose stack does not start in that file are kept.
    page.on(
        "pageerror",
        lambda e: (
            "/static/notebook/notebook_core" not in (e.stack or "").split("\n")[1]
            and ours.append(e.stack)
        ),
    )
    open_notebook(page, f"{lab['url']}/notebooks/quickstart.ipynb?token={lab['token']}")
    run_all_cells(page)
    panel = page.locator(WIDGET)
    panel.locator("[data-testid=ow-forcebar] svg").wait_for(timeout=TIMEOUT)
    for part in ("ow-prediction", "ow-forcebar", "ow-explainer", "ow-rules", "ow-sliders"):
        assert panel.locator(f"[data-testid={part}]").first.is_visible(), part
    assert panel.locator(".ow-slider").count() == 16
    # One slider edit, answered with the model's own prediction.
    model = Quickstart()
    name = panel_state(page)["order"][0]
    low = float(model.X_test[name].quantile(0.1))
    state = edit_slider(page, name, low)
    target = target_of(state["text"])
    edits = {n: float(state["values"][n]) for n in state["edited"]}
    assert state["text"] == prediction_text(target, model.probability(target, 0, **edits))
    console_errors = [e for e in page.errors if e.startswith("console")]
    assert ours == [] and console_errors == [], json.dumps([*ours, *console_errors], indent=1)
