"""The main job: the quickstart notebook, live in JupyterLab or executed headless.

python scripts/demo.py             # opens JupyterLab on a copy of examples/quickstart.ipynb
python scripts/demo.py --headless  # runs it with no screen: prints what it found, writes the
                                   # offline export and a screenshot of it, says where

Everything the demo writes goes to artifacts/demo/ (ignored by git): the clone stays clean,
also when the notebook is saved in JupyterLab.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "examples" / "quickstart.ipynb"
OUT = ROOT / "artifacts" / "demo"
CHROMIUM = Path(os.environ.get("OPTIML_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOT_SIZE = (1000, 1900)  # px: the panel at a notebook's width, whole


def headless() -> None:
    import nbformat
    from nbclient import NotebookClient

    OUT.mkdir(parents=True, exist_ok=True)
    export = OUT / "quickstart.html"
    notebook = nbformat.read(QUICKSTART, as_version=4)
    # One more cell, in this run only: the offline export of the panel the notebook built.
    notebook.cells.append(nbformat.v4.new_code_cell(f"w.to_html({str(export)!r})"))
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(OUT)}}
    )
    client.execute()
    executed = OUT / "quickstart.executed.ipynb"
    nbformat.write(notebook, executed)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stdout":
                print(output["text"], end="")
    print()
    print(f"Executed notebook:        {relative(executed)}")
    print(f"Offline export (HTML):    {relative(export)} ({export.stat().st_size / 1e6:.1f} MB)")
    shot = screenshot(export, OUT / "quickstart.png")
    if shot is not None:
        print(f"Screenshot of the export: {relative(shot)}")
    print(
        "Open the export in any browser (no Python, no network needed); "
        "`make demo` opens the live panel in JupyterLab."
    )


def screenshot(page: Path, target: Path) -> Path | None:
    """A picture of the export, taken by headless Chromium (None, and why, without it)."""
    if not CHROMIUM.exists():
        print(f"No screenshot: {CHROMIUM} is missing (scripts/install-chromium installs it).")
        return None
    width, height = SCREENSHOT_SIZE
    with tempfile.TemporaryDirectory() as profile:
        command = [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--hide-scrollbars",
            f"--window-size={width},{height}",
            # The page renders from a module script: give it time before the picture.
            "--virtual-time-budget=15000",
            f"--screenshot={target}",
            page.as_uri(),
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    if result.returncode != 0 or not target.exists():
        print(f"No screenshot: Chromium failed ({result.stderr.strip()[-300:]}).")
        return None
    return target


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def lab() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    copy = OUT / QUICKSTART.name
    if not copy.exists():
        shutil.copy(QUICKSTART, copy)
    print(f"Opening {relative(copy)} (a copy: saving it leaves examples/ as it is).")
    command = [sys.executable, "-m", "jupyter", "lab", str(copy.relative_to(ROOT))]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    subprocess.run(command, cwd=ROOT, check=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--headless", action="store_true", help="run the notebook with no screen")
    args = parser.parse_args()
    headless() if args.headless else lab()


if __name__ == "__main__":
    main()
