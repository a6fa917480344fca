"""Edge cases in a real JupyterLab: a model that fails while live, names that look like
markup, a thousand features, a contrast of two classes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from .jupyter_lab import kernel_print, open_notebook, run_all_cells
from .panel import WIDGET, slider, wait_settled

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
    # The live loop answers in the background: wait for it (up to a minute on a busy machine).
    assert "out of this model's domain" in kernel_print(
        page,
        "import time\nfor _ in range(600):\n    if w.error: break\n    time.sleep(0.1)\n"
        "print(w.error)",
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
    # The long name is cut in its middle where it labels a bar or a slider, and whole in
    # the tooltips; either way text, never markup.
    titles = panel.evaluate("(root) => [...root.querySelectorAll('[title]')].map((e) => e.title)")
    assert '<img src=x onerror="window.__pwned=1">' in titles
    assert '<img src=x onerror="window.__pwned=1">' in text or "<img src=x on" in text
    assert "</script><script>window.__pwned=1</script>" in text
    assert panel.locator("img").count() == 0
    assert page.evaluate("() => window.__pwned") is None
    panel.screenshot(path=str(artifacts / "panel-hostile.png"))
    assert page.errors == [], json.dumps(page.errors, indent=1)


def test_why_one_class_and_not_another_in_jupyterlab(page, lab, artifacts: Path):
    """The versus select turns the panel into P(A) - P(B): the header, the force plot's
    values (adding up to it), and Python's own state follow; "no other class" goes back."""
    write_notebook(
        lab,
        "contrast.ipynb",
        "from sklearn.datasets import load_wine\n"
        "from sklearn.ensemble import RandomForestClassifier\n"
        "from optiml_widgets import explain_widget\n"
        "X, y = load_wine(return_X_y=True, as_frame=True)\n"
        "model = RandomForestClassifier(50, random_state=0).fit(X, y)\n"
        "w = explain_widget(model, X, y, class_names=['barolo', 'grignolino', 'barbera'])\n"
        "w",
    )
    open_and_run(page, lab, "contrast.ipynb")
    panel = page.locator(WIDGET)
    prediction = panel.locator("[data-testid=ow-prediction]")
    assert prediction.inner_text().startswith("P(barolo) = ")
    # The status line sits beside the three selects and the export button: wrapped onto a
    # line of its own it left an empty band above the force bar (file browser open).
    boxes = panel.evaluate(
        "(el) => ['.ow-row-picker', '.ow-status', '[data-testid=ow-forcebar]'].map("
        "(s) => el.querySelector(s).getBoundingClientRect().toJSON())"
    )
    picker, status, bar = boxes
    assert status["top"] < picker["bottom"], boxes
    assert bar["top"] - picker["bottom"] < 20, boxes
    versus = panel.locator("[data-testid=ow-versus]")
    assert versus.locator("option[value=barolo]").is_disabled()  # not the target itself
    versus.select_option("barbera")
    expect(prediction).to_contain_text("P(barolo) \N{MINUS SIGN} P(barbera) = ", timeout=TIMEOUT)
    wait_settled(page)
    state = json.loads(
        kernel_print(
            page,
            "import json\nw._wait_idle()\ne = w.explanation\n"
            "p = w._view['probabilities']\n"
            "print(json.dumps([w.versus, e.prediction, p[0] - p[2],"
            " e.base_value + sum(e.shap.values())]))",
        )
    )
    assert state[0] == "barbera"
    assert state[1] == pytest.approx(state[2], abs=1e-9)
    assert state[3] == pytest.approx(state[1], abs=1e-6)
    shown = float(prediction.get_attribute("data-value"))
    assert shown == pytest.approx(state[1], abs=1e-9)
    # The model overall: what separates the two classes over every row.
    status = panel.locator(".ow-global .ow-global-status")
    expect(status).to_contain_text("output: barolo \N{MINUS SIGN} barbera", timeout=TIMEOUT)
    panel.locator(".ow-global svg, .ow-global canvas").first.wait_for(timeout=TIMEOUT)
    # The notebook's view at the panel's top (the whole panel is taller than the window).
    panel.evaluate("(el) => el.scrollIntoView({ block: 'start' })")
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / "panel-contrast.png"))
    section = panel.locator(".ow-global")
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(artifacts / "panel-contrast-global.png"))
    versus.select_option("")
    expect(prediction).to_contain_text("P(barolo) = ", timeout=TIMEOUT)
    assert kernel_print(page, "w._wait_idle()\nprint(w.versus)").strip() == "None"
    assert page.errors == [], json.dumps(page.errors, indent=1)


@pytest.mark.e2e_timeout(600)
def test_a_1000_feature_widget_edits_a_feature_found_by_search(page, lab, artifacts: Path):
    """Wide data: the panel shows the row's top features; any other is a search away, and
    its edit is answered with the model's own output. (A tree ensemble that TreeSHAP
    explains: a HistGradientBoosting model's first view takes minutes on 1,000 features.)"""
    write_notebook(
        lab,
        "wide.ipynb",
        "import pandas as pd\n"
        "from sklearn.datasets import make_classification\n"
        "from sklearn.ensemble import GradientBoostingClassifier\n"
        "from optiml_widgets import explain_widget\n"
        "X, y = make_classification(300, 1000, n_informative=20, random_state=0)\n"
        "X = pd.DataFrame(X, columns=[f'f{j}' for j in range(1000)])\n"
        "model = GradientBoostingClassifier(n_estimators=50, max_depth=2, random_state=0)\n"
        "model = model.fit(X, y)\n"
        "w = explain_widget(model, X, y)\n"
        "w",
    )
    open_and_run(page, lab, "wide.ipynb")
    panel = page.locator(WIDGET)
    state = wait_settled(page, timeout=TIMEOUT)
    expect(panel.locator("[data-testid=ow-sliders] .ow-slider")).to_have_count(16)
    expect(panel.get_by_test_id("ow-slider-count")).to_contain_text("16 of 1000 features")
    expect(panel.locator("[data-testid=ow-forcebar] g.ow-seg")).to_have_count(9)
    name = next(f"f{j}" for j in range(777, 1000) if f"f{j}" not in state["order"])
    search = panel.get_by_test_id("ow-sliders").get_by_label("Search")
    search.fill(name)
    row = slider(page, name)
    expect(row.locator("input[type=range]")).to_be_visible(timeout=TIMEOUT)
    expect(panel.locator("[data-testid=ow-sliders] .ow-slider")).to_have_count(1)
    number = row.locator("input[type=number]")
    number.fill("2.5")
    number.press("Enter")
    state = wait_settled(page, state["seq"], timeout=TIMEOUT)
    assert state["edited"] == [name]
    expected = float(
        kernel_print(
            page,
            f"row = X.iloc[[0]].copy(); row[{name!r}] = 2.5\n"
            "print(repr(float(model.predict_proba(row)[0, 1])))",
        )
    )
    assert state["value"] == pytest.approx(expected, abs=1e-12)
    # A feature whose values the charts did not carry: selected, its dependence plot is
    # drawn with every row's point (the kernel sends the charts again with its values).
    expect(panel.locator(".ow-global")).to_have_attribute("data-state", "ready", timeout=TIMEOUT)
    uncarried = kernel_print(
        page,
        "params = w._global['specs']['dependence']['params']\n"
        "carried = next(p['value'] for p in params if p['name'] == 'carried')\n"
        "name = next(X.columns[j] for j in range(999, -1, -1) if j not in carried)\n"
        "w.feature = name\n"
        "print(name, end='')",
    )
    dependence = panel.locator('.ow-chart[data-chart="dependence"]')
    title = dependence.locator("text", has_text="Dependence:")
    expect(title).to_have_text(f"Dependence: {uncarried}", timeout=TIMEOUT)
    expect(dependence.locator('[aria-label^="row "]')).to_have_count(300, timeout=TIMEOUT)
    dependence.screenshot(path=str(artifacts / "panel-wide-dependence.png"))
    panel.screenshot(path=str(artifacts / "panel-wide.png"))
    assert page.errors == [], json.dumps(page.errors, indent=1)


def test_a_dense_beeswarm_is_drawn_on_a_canvas_and_its_points_select_rows(
    page, lab, artifacts: Path
):
    """569 rows x 12 features: more points than the frontend draws in SVG (CANVAS_MARKS,
    js/src/charts.ts). The canvas is drawn, says what it holds, and a click on a point
    explains its row, as in SVG."""
    write_notebook(
        lab,
        "dense.ipynb",
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.ensemble import GradientBoostingClassifier\n"
        "from optiml_widgets import explain_widget\n"
        "X, y = load_breast_cancer(return_X_y=True, as_frame=True)\n"
        "model = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, y)\n"
        "w = explain_widget(model, X, y, explainers=('shap',))\n"
        "w",
    )
    open_and_run(page, lab, "dense.ipynb")
    panel = page.locator(WIDGET)
    box = panel.locator('.ow-chart[data-chart="beeswarm"]')
    canvas = box.locator("canvas")
    canvas.wait_for(timeout=TIMEOUT)
    assert box.get_attribute("data-renderer") == "canvas"
    assert box.get_attribute("aria-label") == "Impact per row: 6,828 points"
    assert panel.locator('.ow-chart[data-chart="importance"] svg').count() == 1  # few marks
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box.screenshot(path=str(artifacts / "beeswarm-canvas.png"))
    # Something is drawn: the canvas holds more than one colour.
    colours = canvas.evaluate(
        "(c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " const seen = new Set(); for (let i = 0; i < d.length; i += 4 * 97)"
        " seen.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2] + ',' + d[i + 3]); return seen.size; }"
    )
    assert colours > 10
    # Points are dense along the first feature's band: click across it until one is hit.
    index = panel.locator("[data-testid=ow-row-input]")
    before = index.input_value()
    area = canvas.bounding_box()
    hit = False
    for y in np.linspace(area["y"] + 40, area["y"] + 90, 6):
        for x in np.linspace(area["x"] + area["width"] * 0.3, area["x"] + area["width"] * 0.8, 12):
            page.mouse.click(float(x), float(y))
            page.wait_for_timeout(50)
            if index.input_value() != before:
                hit = True
                break
        if hit:
            break
    assert hit, "no click on the canvas selected a row"
    wait_settled(page)
    assert page.errors == [], json.dumps(page.errors, indent=1)


def test_a_cell_run_again_stops_the_old_panels_work(page, lab):
    """Running the cell again leaves the old panel alive in the kernel (ipywidgets' registry
    holds it): its view, removed from the page, says goodbye, and the old panel's unfinished
    jobs stop (on_screen.py) while the new panel's view is on screen."""
    write_notebook(
        lab,
        "rerun.ipynb",
        "from sklearn.datasets import load_breast_cancer\n"
        "from sklearn.ensemble import GradientBoostingClassifier\n"
        "from optiml_widgets import explain_widget\n"
        "X, y = load_breast_cancer(return_X_y=True, as_frame=True)\n"
        "model = GradientBoostingClassifier(n_estimators=30, random_state=0).fit(X, y)\n"
        "w = explain_widget(model, X, y)\n"
        "w",
    )
    open_and_run(page, lab, "rerun.ipynb")
    wait = "import time\nfor _ in range(300):\n    if {done}: break\n    time.sleep(0.1)\n"
    shown = "len(w._on_screen._views) == 1"
    assert kernel_print(page, wait.format(done=shown) + f"old = w\nprint({shown})") == "True\n"
    run_all_cells(page)
    stopped = "w is not old and old._on_screen._stopped is not None"
    assert kernel_print(page, wait.format(done=stopped) + f"print({stopped})") == "True\n"
    assert kernel_print(page, f"print({shown})") == "True\n"  # the new panel's view
    # Closed from code, the panel's view goes with its comm: its goodbye has nowhere to go,
    # and that is no error.
    kernel_print(page, "w.close()")
    page.locator(f"{WIDGET} [data-testid=ow-forcebar]").wait_for(state="detached", timeout=TIMEOUT)
    assert page.errors == [], json.dumps(page.errors, indent=1)
