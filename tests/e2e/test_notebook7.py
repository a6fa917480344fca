"""The same panel in Notebook 7 (served by the same Jupyter server)."""

from __future__ import annotations

import json
from typing import Any

WIDGET = ".optiml-widget"
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
    page.goto(f"{lab['url']}/notebooks/quickstart.ipynb?token={lab['token']}")
    page.wait_for_function(
        """() => {
            const app = window.jupyterapp;
            const w = app && app.shell.currentWidget;
            const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
            return kernel && kernel.status === 'idle';
        }""",
        timeout=TIMEOUT,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    panel = page.locator(WIDGET)
    panel.locator("[data-testid=ow-forceplot] svg").wait_for(timeout=TIMEOUT)
    for part in ("ow-prediction", "ow-forceplot", "ow-lime", "ow-rules", "ow-sliders"):
        assert panel.locator(f"[data-testid={part}]").is_visible(), part
    assert panel.locator(".ow-slider").count() == 30
    console_errors = [e for e in page.errors if e.startswith("console")]
    assert ours == [] and console_errors == [], json.dumps([*ours, *console_errors], indent=1)
