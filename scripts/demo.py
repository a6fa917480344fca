"""The main job: the quickstart notebook, live in JupyterLab or executed headless.

python scripts/demo.py             # opens JupyterLab on examples/quickstart.ipynb
python scripts/demo.py --headless  # runs it with no screen; writes the executed notebook
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "examples" / "quickstart.ipynb"
OUT = ROOT / "artifacts"


def headless() -> None:
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(QUICKSTART, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3").execute()
    OUT.mkdir(exist_ok=True)
    target = OUT / "quickstart.executed.ipynb"
    nbformat.write(notebook, target)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                print(output["text"], end="")
    print(f"\nExecuted notebook (with the widget's state): {target.relative_to(ROOT)}")


def lab() -> None:
    command = [sys.executable, "-m", "jupyter", "lab", str(QUICKSTART.relative_to(ROOT))]
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
