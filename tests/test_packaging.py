"""The wheel carries the built frontend, so installing never needs node."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_ships_the_built_frontend(tmp_path: Path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("optiml_widgets-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for built in (
        "optiml_widgets/static/widget.js",
        "optiml_widgets/static/widget.css",
        "optiml_widgets/static/vega.js",
    ):
        assert built in names
        shipped = zipfile.ZipFile(wheel).read(built)
        assert shipped == (ROOT / built).read_bytes()
    assert not any(name.startswith("js/") for name in names)
    # The panel's own module stays small: the chart engine travels only when charts are drawn.
    assert len(zipfile.ZipFile(wheel).read("optiml_widgets/static/widget.js")) < 150_000
    assert b"vega-embed" not in zipfile.ZipFile(wheel).read("optiml_widgets/static/widget.js")
    # The server extension, and the config that enables it wherever the wheel is installed.
    assert "optiml_widgets_server/__init__.py" in names
    assert any(
        name.endswith(".data/data/etc/jupyter/jupyter_server_config.d/optiml_widgets_server.json")
        for name in names
    ), [name for name in names if ".data/" in name]
    # BSD-3-Clause asks for its text with every copy.
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names), names[-8:]
