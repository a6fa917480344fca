"""The panel in the other notebook clients people use: Voilà (a notebook as an app) and
marimo (an anywidget host of its own, which renders widgets in a shadow root). Each renders
the quickstart's panel, answers one slider edit with the model's own prediction, writes no
console error and asks nothing from the network. (JupyterLab and Notebook 7 have their own
test files.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .conftest import new_page
from .jupyter_lab import AppServer, start_marimo, start_voila, stop_server
from .panel import (
    QUICKSTART_CODE,
    WIDGET,
    Quickstart,
    edit_slider,
    panel_state,
    prediction_text,
    target_of,
    wait_settled,
)

pytestmark = pytest.mark.e2e

RENDER_WAIT = 240_000  # ms: the server runs the notebook (fits the model) when the page opens

# Voilà's own "lab" template links two Font Awesome stylesheets from jsDelivr
# (voila/templates/lab/index.html.j2). They are Voilà's, not the panel's: offline they fail
# to load (one console line each) and nothing else changes. Anything else is a failure.
VOILA_TEMPLATE_REQUESTS = (
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@%5E5/css/all.min.css",
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@%5E5/css/v4-shims.min.css",
)

MARIMO_APP = """import marimo

app = marimo.App(width="full")


@app.cell
def _():
{code}
    w
    return


if __name__ == "__main__":
    app.run()
"""


@pytest.fixture(scope="module")
def model() -> Quickstart:
    return Quickstart()


@pytest.fixture(scope="module")
def voila(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    root = tmp_path_factory.mktemp("voila")
    notebook = new_notebook()
    notebook.cells = [new_code_cell(QUICKSTART_CODE + "w")]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, root / "panel.ipynb")
    server = start_voila(root / "panel.ipynb", log=root / "voila.log")
    try:
        yield server
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def marimo(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    root = tmp_path_factory.mktemp("marimo")
    code = "\n".join(f"    {line}" if line else "" for line in QUICKSTART_CODE.splitlines())
    (root / "panel_app.py").write_text(MARIMO_APP.format(code=code))
    server = start_marimo(root / "panel_app.py", log=root / "marimo.log")
    try:
        yield server
    finally:
        stop_server(server)


def open_panel(browser: Any, url: str) -> tuple[Any, Any]:
    context, page = new_page(browser)
    page.goto(url, timeout=RENDER_WAIT)
    expect(page.locator(f"{WIDGET} [data-testid=ow-forcebar] svg")).to_be_visible(
        timeout=RENDER_WAIT
    )
    wait_settled(page, complete=True, timeout=RENDER_WAIT)
    return context, page


def check_the_panel(page: Any, model: Quickstart, artifacts: Path, name: str) -> None:
    """The views are there, one slider edit is answered with the model's own prediction,
    and the panel's buttons are styled by the panel whatever the host does to buttons."""
    panel = page.locator(WIDGET)
    expect(panel).to_have_count(1)
    for part in ("ow-prediction", "ow-forcebar", "ow-rules", "ow-sliders"):
        expect(panel.get_by_test_id(part)).to_be_visible()
    expect(panel.get_by_test_id("ow-explainer")).to_have_count(2)
    state = panel_state(page)
    feature = state["order"][0]
    low = float(model.X_test[feature].quantile(0.1))
    state = edit_slider(page, feature, low)
    assert state["edited"] == [feature]
    target = target_of(state["text"])
    value = float(state["values"][feature])
    expected = model.probability(target, int(state["row"]), **{feature: value})
    assert state["text"] == prediction_text(target, expected)
    assert state["value"] == pytest.approx(expected, abs=1e-12)
    style = panel.get_by_role("button", name="Reset all").evaluate(
        """(b) => { const s = getComputedStyle(b);
          return { border: s.borderTopWidth, cursor: s.cursor, background: s.backgroundColor }; }"""
    )
    assert style["border"] != "0px" and style["cursor"] == "pointer", style
    assert style["background"] not in ("rgba(0, 0, 0, 0)", "transparent"), style
    page.screenshot(path=str(artifacts / f"{name}.png"))


def test_voila_renders_the_panel_and_answers_a_slider(
    browser: Any, voila: AppServer, model: Quickstart, artifacts: Path
) -> None:
    context, page = open_panel(browser, voila.url)
    try:
        check_the_panel(page, model, artifacts, "voila")
        others = [url for url in page.blocked if url not in VOILA_TEMPLATE_REQUESTS]
        assert others == [], others
        errors = [
            e for e in page.errors if not any(f"({url})" in e for url in VOILA_TEMPLATE_REQUESTS)
        ]
        assert errors == [], json.dumps(errors, indent=1)
    finally:
        context.close()


def test_marimo_renders_the_panel_and_answers_a_slider(
    browser: Any, marimo: AppServer, model: Quickstart, artifacts: Path
) -> None:
    context, page = open_panel(browser, marimo.url)
    try:
        check_the_panel(page, model, artifacts, "marimo")
        assert page.blocked == [], page.blocked
        assert page.errors == [], json.dumps(page.errors, indent=1)
    finally:
        context.close()
