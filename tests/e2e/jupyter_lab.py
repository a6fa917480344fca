"""The notebook servers and Debian's headless Chromium, for the browser tests and bench/.

JupyterLab (and Notebook 7, served by the same server) runs from this Python
(``sys.executable -m jupyter lab``) on a free port with a random token, in a root holding the
notebooks to open, with its own user settings (no news toast, no update check) and
workspaces, so nothing in ~/.jupyter leaks in. Voilà and marimo run the same way, each
serving one notebook or app. Chromium is ``/usr/bin/chromium`` (``scripts/install-chromium``);
``playwright install`` is never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
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

# JupyterLab user settings written for the test server: no "Jupyter news" toast, no
# request to check for updates.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


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
    stop_server(server)


@dataclass
class AppServer:
    """A running Voilà or marimo server: the page to open, and how to stop it."""

    url: str
    process: subprocess.Popen = field(repr=False)
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        return LabServer.log_tail(self, lines)  # type: ignore[arg-type]


def _serve(command: list[str], cwd: Path, url: str, log: Path, timeout: float) -> AppServer:
    """Starts a server and returns once ``url`` answers."""
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("MPLBACKEND", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    server = AppServer(url, process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{command[2]} exited with {process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    stop_server(server)
    raise RuntimeError(f"{url} did not answer within {timeout} s:\n{server.log_tail()}")


# Voilà 0.5 fails to load Notebook 7's JupyterLab extension when both are installed (a
# module-federation error in the page, and sometimes "model not found" for the first widget);
# nothing of it is needed to show a notebook as an app.
VOILA_DENYLIST = ["@jupyter-notebook/lab-extension"]


def start_voila(notebook: Path, *, log: Path, timeout: float = SERVER_START_TIMEOUT) -> AppServer:
    """Voilà serving one notebook (it runs the notebook when the page is opened)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "voila",
        notebook.name,
        "--no-browser",
        "--Voila.ip=127.0.0.1",
        f"--port={port}",
        f"--VoilaConfiguration.extension_denylist={json.dumps(VOILA_DENYLIST)}",
    ]
    return _serve(command, notebook.parent, f"http://127.0.0.1:{port}/", log, timeout)


def start_marimo(app: Path, *, log: Path, timeout: float = SERVER_START_TIMEOUT) -> AppServer:
    """marimo running one app file, read-only, as a user would share it."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "marimo",
        "run",
        app.name,
        "--headless",
        "--host=127.0.0.1",
        f"--port={port}",
        "--no-token",
        "--no-sandbox",
        "--no-skew-protection",
    ]
    return _serve(command, app.parent, f"http://127.0.0.1:{port}/", log, timeout)


def stop_server(server: LabServer | AppServer) -> None:
    """Stops a server (and its kernels: the same process group)."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def launch_chromium(playwright: Any, executable: Path) -> Any:
    return playwright.chromium.launch(
        executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
    )


# -- fixtures ----------------------------------------------------------------------------


# -- driving a notebook in the page ----------------------------------------------------------

KERNEL_IDLE_JS = """
() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = panel && panel.sessionContext && panel.sessionContext.session
    && panel.sessionContext.session.kernel;
  return !!(panel && panel.content && kernel && kernel.status === 'idle');
}
"""


def open_notebook(page: Any, url: str, timeout: int = 240_000) -> None:
    """Opens a notebook URL (JupyterLab or Notebook 7) and waits until its kernel is idle:
    cells or keys sent earlier are lost."""
    page.goto(url, timeout=timeout)
    page.wait_for_function(KERNEL_IDLE_JS, timeout=timeout)


def run_all_cells(page: Any) -> None:
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


# Every code cell of the open notebook has run and the kernel is idle again.
CELLS_DONE = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  const code = panel.content.widgets.filter((c) => c.model.type === 'code');
  return kernel.status === 'idle' && code.every((c) => c.model.executionCount !== null);
}
"""


@contextlib.contextmanager
def lab_page(root: Path, log: Path) -> Iterator[tuple[LabServer, Any, list[str]]]:
    """JupyterLab serving ``root`` and a headless Chromium page (1400 x 1000) beside it:
    ``(server, page, errors)``, where the page's uncaught errors collect. For the benches,
    which run outside pytest's fixtures."""
    from playwright.sync_api import sync_playwright

    server = start_lab(root, log=log)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright, CHROMIUM)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            try:
                yield server, page, errors
            finally:
                browser.close()
    finally:
        stop_lab(server)


def kernel_print(page: Any, code: str) -> str:
    """What a piece of code prints to stdout (or raises) in the open notebook's kernel;
    stderr is left out (a warning from a thread of the kernel can land in it meanwhile)."""
    return page.evaluate(
        """async (code) => {
            const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            let out = '';
            const future = kernel.requestExecute({ code });
            future.onIOPub = (msg) => {
                if (msg.header.msg_type === 'stream' && msg.content.name === 'stdout') out += msg.content.text;
                if (msg.header.msg_type === 'error') out += msg.content.ename + ': ' + msg.content.evalue;
            };
            await future.done;
            return out;
        }""",
        code,
    )
