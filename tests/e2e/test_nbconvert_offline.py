"""The reader without a kernel: a notebook executed with its widget state saved (nbclient's
default), converted with `jupyter nbconvert --to optiml-html`, opened offline in Chromium."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import EXAMPLES, new_page

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import nbformat
    from nbclient import NotebookClient

    folder = tmp_path_factory.mktemp("nbconvert")
    notebook = nbformat.read(EXAMPLES / "regression.ipynb", as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3").execute()  # state saved
    assert "widgets" in notebook.metadata, "nbclient saves widget state by default"
    executed = folder / "regression.ipynb"
    nbformat.write(notebook, executed)
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "optiml-html", str(executed)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return folder / "regression.html"


def test_the_converted_notebook_shows_the_panel_offline(browser, converted: Path, artifacts):
    page_text = converted.read_text(encoding="utf-8")
    assert "unpkg.com" not in page_text and "cdnjs" not in page_text
    context, page = new_page(browser)
    requests: list[str] = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(("file:", "data:", "blob:")) else requests.append(r.url),
    )
    page.goto(converted.as_uri())
    panel = page.locator(".optiml-widget").first
    panel.wait_for(timeout=60_000)
    page.locator(".optiml-widget svg").first.wait_for(timeout=30_000)
    text = panel.inner_text()
    assert "bmi" in text  # the diabetes features, drawn by the panel itself
    assert "Rules" in text or "rule" in text.lower()
    page.screenshot(path=str(artifacts / "nbconvert-offline.png"), full_page=True)
    assert requests == [], f"requests left the page: {requests}"
    assert page.errors == [], page.errors
    context.close()
