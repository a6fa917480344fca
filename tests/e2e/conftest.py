"""End-to-end fixtures: a real JupyterLab server and Debian's headless Chromium.

The server and browser plumbing is in jupyter_lab.py (bench/ uses it too). Without
Chromium the tests skip, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .jupyter_lab import CHROMIUM, LabServer, launch_chromium, start_lab, stop_lab

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
ARTIFACTS = REPO / "artifacts" / "e2e"
TEST_TIMEOUT = int(os.environ.get("OPTIML_E2E_TEST_TIMEOUT", "180"))  # hard limit per test


def chromium_or_skip() -> Path:
    """The Chromium binary; skips the test without it (fails in CI)."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"{CHROMIUM} is missing: run scripts/install-chromium (never `playwright install`)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
    raise AssertionError  # unreachable; pytest.skip raises


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    return chromium_or_skip()


@pytest.fixture(scope="session")
def lab_server(
    chromium_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LabServer]:
    """A JupyterLab server whose root holds copies of the example notebooks."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    root.mkdir()
    quickstart = EXAMPLES / "quickstart.ipynb"
    if not quickstart.exists():
        pytest.fail(f"{quickstart} is missing (run examples/make_notebooks.py)", pytrace=False)
    for notebook in EXAMPLES.glob("*.ipynb"):
        shutil.copy(notebook, root / notebook.name)
    server = start_lab(root, log=base / "jupyter-lab.log")
    try:
        yield server
    finally:
        stop_lab(server)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(server.log, ARTIFACTS / "jupyter-lab.log")


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, chromium_path)
        try:
            yield browser
        finally:
            browser.close()


class _TestTimeout(Exception):
    pass


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e_timeout(seconds): a longer hard limit for one end-to-end test"
    )


@pytest.fixture(autouse=True)
def hard_timeout(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails a test that runs longer than TEST_TIMEOUT seconds (SIGALRM, main thread), or
    than its own ``e2e_timeout`` mark."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return
    mark = request.node.get_closest_marker("e2e_timeout")
    limit = max(TEST_TIMEOUT, int(mark.args[0])) if mark else TEST_TIMEOUT

    def expire(_signum: int, _frame: Any) -> None:
        raise _TestTimeout(f"{request.node.nodeid} exceeded {limit} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(limit)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# -- per-test page -------------------------------------------------------------------------

# Console errors that are not ours and not a failure of the page under test. Each entry:
# (substring of the message, why it is harmless). Keep this list short and explained.
IGNORED_CONSOLE_ERRORS: list[tuple[str, str]] = []


def _ignored(text: str) -> bool:
    return any(pattern in text for pattern, _why in IGNORED_CONSOLE_ERRORS)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """artifacts/e2e/ (gitignored): screenshots and the server log."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def lab(lab_server: LabServer) -> dict[str, Any]:
    """The server as a plain dict: url, token, root."""
    return {"url": lab_server.url, "token": lab_server.token, "root": str(lab_server.root)}


def _blank_workspace(route: Any) -> None:
    if route.request.method == "GET":
        name = route.request.url.split("/lab/api/workspaces/", 1)[1].split("?")[0] or "default"
        body = json.dumps({"data": {}, "metadata": {"id": name}})
        route.fulfill(status=200, content_type="application/json", body=body)
    else:  # saving the layout: accepted and dropped
        route.fulfill(status=204, body="")


def new_page(browser: Any) -> tuple[Any, Any]:
    """A fresh context and page; ``page.errors`` collects console errors and page errors."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    # Every page starts from a blank JupyterLab layout: the server keeps one workspace for
    # the whole session, and a restored layout would bring back notebooks (and widgets) that
    # earlier tests opened.
    context.route("**/lab/api/workspaces/**", _blank_workspace)
    page = context.new_page()
    page.errors = []
    # No network beyond the local Jupyter server: the panel, its charts and exports must
    # work offline. Anything else is refused and counted.
    page.blocked = []

    def offline(route: Any) -> None:
        page.blocked.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^https?://(?!(127\.0\.0\.1|localhost)[:/])"), offline)

    def on_console(message: Any) -> None:
        if message.type == "error" and not _ignored(message.text):
            where = message.location.get("url", "")
            page.errors.append(f"console.error: {message.text} ({where})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: page.errors.append(f"pageerror: {error}"))
    return context, page


@pytest.fixture(scope="session")
def page_factory(browser: Any) -> Iterator[Any]:
    """Opens pages (see new_page) for module-scoped fixtures; closes them at the end."""
    contexts: list[Any] = []

    def make() -> Any:
        context, page = new_page(browser)
        contexts.append(context)
        return page

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(browser: Any, lab_server: LabServer) -> Iterator[Any]:
    """A fresh browser page for one test; ``page.errors`` as in new_page."""
    context, page = new_page(browser)
    try:
        yield page
    finally:
        context.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/e2e is an end-to-end test (``-m e2e`` / ``-m "not e2e"``)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
