"""The quickstart in a real JupyterLab: the panel renders, sliders drive the model, views link."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split

WIDGET = ".optiml-widget"
TIMEOUT = 120_000


def quickstart_model():
    """The quickstart's model, rebuilt here with the same data and seeds."""
    data = load_breast_cancer(as_frame=True)
    X_train, X_test, y_train, _ = train_test_split(
        data.data, data.target, test_size=0.3, random_state=0
    )
    return GradientBoostingClassifier(random_state=0).fit(X_train, y_train), X_test


def open_and_run(page, lab, notebook: str) -> None:
    page.goto(f"{lab['url']}/lab/tree/{notebook}?token={lab['token']}")
    page.wait_for_function(
        "() => window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=TIMEOUT
    )
    # Cells sent before the kernel is idle are lost (see shared pitfalls): wait for it.
    page.wait_for_function(
        """() => {
            const w = window.jupyterapp.shell.currentWidget;
            const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
            return kernel && kernel.status === 'idle';
        }""",
        timeout=TIMEOUT,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.locator(f"{WIDGET} [data-testid=ow-forceplot] svg").wait_for(timeout=TIMEOUT)


def run_in_kernel(page, code: str) -> None:
    page.evaluate(
        """async (code) => {
            const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            await kernel.requestExecute({ code }).done;
        }""",
        code,
    )


def kernel_print(page, code: str) -> str:
    """What a piece of code prints in the notebook's kernel."""
    return page.evaluate(
        """async (code) => {
            const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
            let out = '';
            const future = kernel.requestExecute({ code });
            future.onIOPub = (msg) => {
                if (msg.header.msg_type === 'stream') out += msg.content.text;
                if (msg.header.msg_type === 'error') out += msg.content.ename + ': ' + msg.content.evalue;
            };
            await future.done;
            return out;
        }""",
        code,
    )


def shown_instance(page) -> dict[str, float]:
    """The feature values the panel shows (every slider's number box)."""
    values = page.eval_on_selector_all(
        f"{WIDGET} [data-testid=ow-sliders] .ow-slider",
        "rows => rows.map(r => [r.dataset.feature, r.querySelector('input[type=number]').value])",
    )
    return {name: float(value) for name, value in values}


def wait_for_exact_view_after(page, seq: int) -> None:
    page.wait_for_function(
        """(seq) => {
            const root = document.querySelector('.optiml-widget');
            return Number(root.dataset.seq) > seq && root.dataset.quality === 'exact'
                && !document.querySelector('.optiml-widget .ow-busy').textContent;
        }""",
        arg=seq,
        timeout=TIMEOUT,
    )


def seq_of(page) -> int:
    return int(page.get_attribute(WIDGET, "data-seq"))


def test_a_live_failure_shows_a_banner_and_keeps_the_kernel(page, lab, artifacts: Path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    notebook = new_notebook()
    notebook.cells = [
        new_code_cell(
            "import numpy as np, pandas as pd\n"
            "from optiml_widgets import explain_widget\n"
            "X = pd.DataFrame({'a': np.linspace(-1, 1, 80), 'b': np.linspace(0, 2, 80)})\n"
            "def picky(df):\n"
            "    if (df['a'] > 1.5).any():\n"
            "        raise ValueError('a above 1.5 is out of this model\\'s domain')\n"
            "    return df['a'].to_numpy() * 2 + df['b'].to_numpy()\n"
            "w = explain_widget(picky, X, explainers=('shap', 'lime', 'surrogate'))\n"
            "w"
        )
    ]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(notebook, Path(lab["root"]) / "failure.ipynb")
    open_and_run(page, lab, "failure.ipynb")
    panel = page.locator(WIDGET)
    good = panel.locator("[data-testid=ow-prediction]").inner_text()
    number = panel.locator('.ow-slider[data-feature="a"] input[type=number]')
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
