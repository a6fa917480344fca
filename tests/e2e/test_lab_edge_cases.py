"""Edge cases in a real JupyterLab: a model that fails while live, names that look like markup."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .jupyter_lab import kernel_print, open_notebook, run_all_cells

WIDGET = ".optiml-widget"
TIMEOUT = 120_000


def open_and_run(page, lab, notebook: str) -> None:
    open_notebook(page, f"{lab['url']}/lab/tree/{notebook}?token={lab['token']}")
    run_all_cells(page)
    page.locator(f"{WIDGET} [data-testid=ow-forcebar] svg").wait_for(timeout=TIMEOUT)


def write_notebook(lab, name: str, code: str) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = new_notebook()
    notebook.cells = [new_code_cell(code)]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, Path(lab["root"]) / name)


def test_a_live_failure_shows_a_banner_and_keeps_the_kernel(page, lab, artifacts: Path):
    write_notebook(
        lab,
        "failure.ipynb",
        "import numpy as np, pandas as pd\n"
        "from optiml_widgets import explain_widget\n"
        "X = pd.DataFrame({'a': np.linspace(-1, 1, 80), 'b': np.linspace(0, 2, 80)})\n"
        "def picky(df):\n"
        "    if (df['a'] > 1.5).any():\n"
        "        raise ValueError('a above 1.5 is out of this model\\'s domain')\n"
        "    return df['a'].to_numpy() * 2 + df['b'].to_numpy()\n"
        "w = explain_widget(picky, X, explainers=('shap', 'lime', 'surrogate'))\n"
        "w",
    )
    open_and_run(page, lab, "failure.ipynb")
    panel = page.locator(WIDGET)
    good = panel.locator("[data-testid=ow-prediction]").inner_text()
    number = panel.locator('.ow-slider[data-name="a"] input[type=number]')
    number.fill("2")
    number.press("Enter")
    assert "out of this model's domain" in kernel_print(
        page, "import time; time.sleep(1); print(w.error)"
    )
    error = panel.locator("[data-testid=ow-error]")
    error.wait_for(state="visible", timeout=TIMEOUT)
    assert "out of this model's domain" in error.inner_text()
    assert panel.locator("[data-testid=ow-prediction]").inner_text() == good
    assert number.input_value() == "2"  # the user's edit is not thrown away
    panel.screenshot(path=str(artifacts / "panel-error.png"))
    # The kernel still answers, and a valid value clears the banner.
    number.fill("0.5")
    number.press("Enter")
    error.wait_for(state="hidden", timeout=TIMEOUT)
    assert np.isclose(
        float(panel.locator("[data-testid=ow-prediction]").get_attribute("data-value")),
        0.5 * 2 + 0.0,
    )
    assert page.errors == [], json.dumps(page.errors, indent=1)


def test_hostile_names_render_as_text_in_jupyterlab(page, lab, artifacts: Path):
    write_notebook(
        lab,
        "hostile.ipynb",
        "import numpy as np, pandas as pd\n"
        "from optiml_widgets import explain_widget\n"
        "evil = '<img src=x onerror=\"window.__pwned=1\">'\n"
        "rng = np.random.default_rng(0)\n"
        "X = pd.DataFrame({evil: rng.normal(size=120), 'kind': rng.choice(['a \"quoted\" <b>', 'plain'], 120)})\n"
        "def model(df):\n"
        "    p = 1 / (1 + np.exp(-df[evil].to_numpy() - (df['kind'] == 'plain').to_numpy()))\n"
        "    return np.column_stack([1 - p, p])\n"
        "w = explain_widget(model, X, class_names=['ok', '</script><script>window.__pwned=1</script>'])\n"
        "w",
    )
    open_and_run(page, lab, "hostile.ipynb")
    panel = page.locator(WIDGET)
    text = panel.inner_text()
    assert '<img src=x onerror="window.__pwned=1">' in text
    assert "</script><script>window.__pwned=1</script>" in text
    assert panel.locator("img").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    panel.screenshot(path=str(artifacts / "panel-hostile.png"))
    assert page.errors == [], json.dumps(page.errors, indent=1)
