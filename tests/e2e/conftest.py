"""End-to-end fixtures: a real JupyterLab server and Debian's headless Chromium.

The server runs from this Python (``sys.executable -m jupyter lab``) on a free port with a
random token, in a temporary root holding the notebooks under test, with its own user
settings (no news toast, no update check) and workspaces, so nothing in ~/.jupyter leaks in.
Chromium is ``/usr/bin/chromium`` (``scripts/install-chromium``); ``playwright install`` is
never used. Without Chromium the tests skip, except in CI (``CI`` set), where they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
ARTIFACTS = REPO / "artifacts" / "e2e"
CHROMIUM = Path(os.environ.get("OPTIML_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_TIMEOUT = 60  # seconds until /api answers
TEST_TIMEOUT = int(os.environ.get("OPTIML_E2E_TEST_TIMEOUT", "180"))  # hard limit per test

# JupyterLab user settings written for the test server: no "Jupyter news" toast, no
# request to check for updates.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def chromium_or_skip() -> Path:
    """The Chromium binary; skips the test without it (fails in CI)."""
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"{CHROMIUM} is missing: run scripts/install-chromium (never `playwright install`)"
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
    raise AssertionError  # unreachable; pytest.skip raises


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab: its base URL, token and root directory."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen = field(repr=False)
    log: Path

    def lab_url(self, notebook: str) -> str:
        return f"{self.url}/lab/tree/{notebook}?token={self.token}"

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_lab(root: Path, *, log: Path) -> LabServer:
    """Starts JupyterLab serving ``root``; returns once ``/api`` answers."""
    settings = root.parent / "lab-user-settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    workspaces = root.parent / "lab-workspaces"
    workspaces.mkdir(exist_ok=True)
    port = free_port()
    token = secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--allow-root",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",
        "--JupyterNotebookApp.expose_app_in_browser=True",
        f"--LabApp.user_settings_dir={settings}",
        f"--LabApp.workspaces_dir={workspaces}",
    ]
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1", "PYTHONUNBUFFERED": "1"}
    # Kernels must not write into the repository or pick up a stale matplotlib backend.
    env.pop("MPLBACKEND", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: stopped with its kernels
        )
    server = LabServer(f"http://127.0.0.1:{port}", token, root, process, log)
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"jupyter lab exited with code {process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{server.url}/api?token={token}", timeout=2) as r:
                if r.status == 200 and "version" in json.loads(r.read()):
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
            pass
        time.sleep(0.25)
    stop_lab(server)
    raise RuntimeError(
        f"jupyter lab did not answer on {server.url}/api within {SERVER_START_TIMEOUT} s:\n"
        f"{server.log_tail()}"
    )


def stop_lab(server: LabServer) -> None:
    """Stops the server (it shuts its kernels down), then anything left in its group."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    # kernels the server failed to shut down (same process group, id = server pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def launch_chromium(playwright: Any, executable: Path) -> Any:
    return playwright.chromium.launch(
        executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
    )


# -- fixtures ----------------------------------------------------------------------------


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


@pytest.fixture(autouse=True)
def hard_timeout(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails a test that runs longer than TEST_TIMEOUT seconds (SIGALRM, main thread)."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(_signum: int, _frame: Any) -> None:
        raise _TestTimeout(f"{request.node.nodeid} exceeded {TEST_TIMEOUT} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(TEST_TIMEOUT)
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
