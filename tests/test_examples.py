"""Every example notebook runs from top to bottom, so none can rot."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.ipynb"))


def test_there_are_examples():
    assert {p.stem for p in EXAMPLES} >= {
        "quickstart",
        "regression",
        "pipeline_categorical",
        "multiclass",
        "text",
    }


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs(path: Path):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    panels = [
        o
        for o in outputs
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
        and "optiml-static" in o.get("data", {}).get("text/html", "")
    ]
    assert len(panels) == 1  # the panel (progress bars are widgets of their own)


def test_the_notebooks_are_what_make_notebooks_writes(tmp_path: Path):
    """examples/make_notebooks.py is their source: written again, they do not change."""
    import subprocess
    import sys

    script = EXAMPLES[0].parent / "make_notebooks.py"
    subprocess.run([sys.executable, str(script), "--out", str(tmp_path)], check=True)
    for path in EXAMPLES:
        assert (tmp_path / path.name).read_text() == path.read_text(), path.name
