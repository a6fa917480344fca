"""`make demo HEADLESS=1` in a fresh clone, as a new user runs it: it sets up only what the
demo needs, prints what the notebook found and where the export and its screenshot are,
and leaves the clone as it found it (`git status --porcelain` empty)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_TIMEOUT = 1800  # s: a fresh virtual environment (pip, from its cache when warm) and a run

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.e2e_timeout(DEMO_TIMEOUT + 60)]


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def test_make_demo_headless_in_a_fresh_clone(chromium_path: Path, tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    clone = tmp_path / "clone"
    git("clone", "--quiet", "--no-hardlinks", str(REPO), str(clone), cwd=tmp_path)
    # The interpreter the clone's virtual environment is made from: this one's base Python.
    python = Path(getattr(sys, "_base_executable", sys.executable))
    result = subprocess.run(
        ["make", "demo", "HEADLESS=1", f"PYTHON={python}"],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT,
        check=False,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    # What a person reads: the numbers, then where to look.
    assert re.search(r"P\(benign\) = \d\.\d+", result.stdout), result.stdout[-2000:]
    export = re.search(r"Offline export \(HTML\): +(\S+)", result.stdout)
    shot = re.search(r"Screenshot of the export: (\S+)", result.stdout)
    assert export and shot, result.stdout[-2000:]
    assert (clone / export.group(1)).stat().st_size > 100_000
    assert (clone / shot.group(1)).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Only what the demo needs: no test tooling in its environment.
    installed = subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.lower()
    for tool in ("pytest", "playwright", "ruff", "xgboost"):
        assert f"\n{tool}==" not in f"\n{installed}", f"{tool} is installed by `make demo`"
    # The clone is as it was: nothing written outside ignored places, no lockfile rewritten.
    assert git("status", "--porcelain", cwd=clone) == ""
