"""The server extension that sends kernel websocket messages at once (optiml_widgets_server)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

import optiml_widgets_server

REPO = Path(__file__).resolve().parents[1]


def test_the_extension_is_declared_and_installed_enabled():
    assert optiml_widgets_server._jupyter_server_extension_points() == [
        {"module": "optiml_widgets_server"}
    ]
    config = REPO / "jupyter-config" / "jupyter_server_config.d" / "optiml_widgets_server.json"
    enabled = json.loads(config.read_text())["ServerApp"]["jpserver_extensions"]
    assert enabled == {"optiml_widgets_server": True}
    # The wheel installs it where every Jupyter server looks (pyproject.toml's shared-data).
    mapping = '"jupyter-config/jupyter_server_config.d" = "etc/jupyter/jupyter_server_config.d"'
    assert mapping in (REPO / "pyproject.toml").read_text()


def test_a_kernel_websocket_sets_nodelay_before_it_opens(monkeypatch):
    calls = []

    async def opened(self, kernel_id):
        calls.append(("open", kernel_id))
        return "opened"

    monkeypatch.setattr(KernelWebsocketHandler, "open", opened)
    log = SimpleNamespace(info=lambda message: calls.append(("log", message)))
    optiml_widgets_server._load_jupyter_server_extension(SimpleNamespace(log=log))
    optiml_widgets_server._load_jupyter_server_extension(SimpleNamespace(log=log))  # once
    handler = SimpleNamespace(set_nodelay=lambda value: calls.append(("nodelay", value)))
    # Driven by hand: in the same process, Playwright's sync API keeps an event loop running.
    opening = KernelWebsocketHandler.open(handler, "k1")
    with pytest.raises(StopIteration) as done:
        opening.send(None)  # the stand-in awaits nothing: one step opens
    assert done.value.value == "opened"
    assert [c for c in calls if c[0] != "log"] == [("nodelay", True), ("open", "k1")]


def test_the_server_does_not_import_the_explainers():
    code = "import sys, optiml_widgets_server; print('optiml_widgets' in sys.modules, 'shap' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
