"""The quickstart notebook in a real JupyterLab, driven by headless Chromium.

One page runs examples/quickstart.ipynb once (module fixture); the tests then use the live
panel in order: the views render, a real mouse drag of a slider shows the model's own
prediction, hovering a feature links it in every view, notebook cells move the panel,
screenshots in the light and dark themes, and no console errors. Expected numbers come from
the same model refitted in this process (same data, same seeds): independent of the widget.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from playwright.sync_api import expect
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split

from .jupyter_lab import open_notebook, run_all_cells

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
WIDGET = ".optiml-widget"
LINKED = re.compile(r"\bow-linked\b")
WAIT = 60_000  # ms: one view, one cell
RUN_ALL_WAIT = 180_000  # ms: the whole notebook (fits a model, builds the explainers)


# -- helpers -----------------------------------------------------------------------------


def fmt(value: float, digits: int = 4) -> str:
    """js/src/format.ts fmt(): about 4 significant digits, no trailing zeros."""
    if math.isnan(value):
        return "\u2013"  # en dash, as format.ts
    if value == 0:
        return "0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        decimals = max(0, digits - 1 - math.floor(math.log10(magnitude)))
        text = f"{value:.{min(decimals, 8)}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exponent):+d}"


class Quickstart:
    """The quickstart's model refitted here: same data split, same seed."""

    def __init__(self) -> None:
        data = load_breast_cancer(as_frame=True)
        X_train, self.X_test, y_train, _ = train_test_split(
            data.data, data.target, test_size=0.3, random_state=0
        )
        self.classes = [str(c) for c in data.target_names]
        self.model = GradientBoostingClassifier(random_state=0).fit(X_train, y_train)

    def row(self, index: int, **edits: float) -> pd.DataFrame:
        row = self.X_test.iloc[[index]].copy()
        for name, value in edits.items():
            row[name] = value
        return row

    def probability(self, target: str, index: int, **edits: float) -> float:
        return float(
            self.model.predict_proba(self.row(index, **edits))[0, self.classes.index(target)]
        )


CELLS_DONE = """
() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  const code = panel.content.widgets.filter((c) => c.model.type === 'code');
  return kernel.status === 'idle' && code.every((c) => c.model.executionCount !== null);
}
"""

CELL_ERRORS = """
() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter((c) => c.model.type === 'code')
  .flatMap((c) => c.model.outputs.toJSON())
  .filter((o) => o.output_type === 'error')
  .map((o) => `${o.ename}: ${o.evalue}\\n${o.traceback.join('\\n')}`)
"""


def run_all(page: Any) -> None:
    run_all_cells(page)
    page.wait_for_function(CELLS_DONE, timeout=RUN_ALL_WAIT)
    errors = page.evaluate(CELL_ERRORS)
    assert not errors, "the notebook raised:\n" + "\n".join(errors)


def run_cell(page: Any, code: str) -> dict[str, Any]:
    """Appends a code cell, runs it, returns the JSON it prints after 'OW-RESULT '."""
    index = page.evaluate(
        """async (code) => {
          const app = window.jupyterapp;
          const notebook = app.shell.currentWidget.content;
          notebook.activeCellIndex = notebook.widgets.length - 1;
          notebook.mode = 'command';
          await app.commands.execute('notebook:insert-cell-below');
          const cell = notebook.activeCell;
          cell.model.sharedModel.setSource(code);
          app.commands.execute('notebook:run-cell');
          return notebook.widgets.indexOf(cell);
        }""",
        code,
    )
    page.wait_for_function(
        """(index) => {
          const cell = window.jupyterapp.shell.currentWidget.content.widgets[index];
          return cell.model.executionCount !== null;
        }""",
        arg=index,
        timeout=WAIT,
    )
    outputs = page.evaluate(
        """(index) => window.jupyterapp.shell.currentWidget.content.widgets[index]
             .model.outputs.toJSON()""",
        index,
    )
    errors = [o for o in outputs if o["output_type"] == "error"]
    assert not errors, f"cell raised {errors[0]['ename']}: {errors[0]['evalue']}"
    text = "".join(
        "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
        for o in outputs
        if o["output_type"] == "stream" and o.get("name") == "stdout"
    )
    for line in text.splitlines():
        if line.startswith("OW-RESULT "):
            return json.loads(line.removeprefix("OW-RESULT "))
    raise AssertionError(f"no OW-RESULT line in the cell's output: {text!r}")


def panel_state(page: Any) -> dict[str, Any]:
    """What the panel shows now: seq, quality, busy, prediction, target, row, values."""
    return page.evaluate(
        """() => {
          const root = document.querySelector('.optiml-widget');
          const prediction = root.querySelector('[data-testid=ow-prediction]');
          const values = {};
          const edited = [];
          for (const row of root.querySelectorAll('[data-testid=ow-sliders] .ow-slider')) {
            const number = row.querySelector('input[type=number]');
            if (number) values[row.dataset.feature] = number.value;
            if (row.classList.contains('ow-edited')) edited.push(row.dataset.feature);
          }
          return {
            seq: Number(root.dataset.seq),
            quality: root.dataset.quality,
            busy: root.querySelector('.ow-busy').textContent,
            text: prediction.textContent,
            value: Number(prediction.dataset.value),
            row: root.querySelector('[data-testid=ow-row-input]').value,
            values,
            edited,
          };
        }"""
    )


def wait_settled(page: Any, after_seq: int | None = None) -> dict[str, Any]:
    """Waits for an exact view (newer than ``after_seq``) with no request in flight."""
    page.wait_for_function(
        """(after) => {
          const root = document.querySelector('.optiml-widget');
          return root && root.dataset.quality === 'exact'
            && !root.querySelector('.ow-busy').textContent
            && (after === null || Number(root.dataset.seq) > after);
        }""",
        arg=after_seq,
        timeout=WAIT,
    )
    return panel_state(page)


def target_of(text: str) -> str:
    match = re.match(r"P\((.+)\) = ", text)
    assert match, f"unexpected prediction text {text!r}"
    return match.group(1)


def slider(page: Any, feature: str) -> Any:
    return page.locator(f'{WIDGET} [data-testid=ow-sliders] .ow-slider[data-feature="{feature}"]')


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model() -> Quickstart:
    return Quickstart()


@pytest.fixture(scope="module")
def quickstart(page_factory: Any, lab_server: Any) -> Any:
    """A page with examples/quickstart.ipynb opened and all its cells run."""
    page = page_factory()
    open_notebook(page, lab_server.lab_url("quickstart.ipynb"))
    run_all(page)
    expect(page.locator(f"{WIDGET} [data-testid=ow-forceplot] svg")).to_be_visible(timeout=WAIT)
    wait_settled(page)
    return page


# -- the tests, in order on one page ------------------------------------------------------


def test_every_view_renders(quickstart: Any, model: Quickstart) -> None:
    page = quickstart
    panel = page.locator(WIDGET)
    expect(panel).to_have_count(1)
    for part in ("ow-prediction", "ow-forceplot", "ow-lime", "ow-rules", "ow-sliders"):
        expect(panel.get_by_test_id(part)).to_be_visible()
    expect(panel.get_by_test_id("ow-algorithm")).to_contain_text("TreeSHAP")
    expect(panel.get_by_test_id("ow-quality")).to_have_text("exact")
    expect(panel.get_by_test_id("ow-error")).to_be_hidden()
    # Force plot: SVG segments per feature; LIME rows; one active rule; one slider per feature.
    assert panel.locator("[data-testid=ow-forceplot] svg g.ow-seg[data-feature]").count() >= 3
    assert panel.locator("[data-testid=ow-lime] li[data-feature]").count() >= 3
    expect(panel.locator("[data-testid=ow-rules] .ow-rule-active")).to_have_count(1)
    assert panel.locator("[data-testid=ow-rules] .ow-cond[data-feature]").count() >= 1
    names = list(model.X_test.columns)
    expect(panel.locator("[data-testid=ow-sliders] .ow-slider")).to_have_count(len(names))
    for name in names[:5]:  # each range input is labelled with its feature's name
        expect(panel.get_by_test_id("ow-sliders").get_by_label(name, exact=True)).to_have_attribute(
            "type", "range"
        )
    # The row shown is row 0 of X_test, with the notebook's own what-if edits on top.
    state = panel_state(page)
    assert state["row"] == "0"
    edits = {name: float(state["values"][name]) for name in state["edited"]}
    for name in names:
        if name not in edits:
            assert float(state["values"][name]) == pytest.approx(model.X_test.iloc[0][name])
    target = target_of(state["text"])
    expected = model.probability(target, 0, **edits)
    assert state["text"] == f"P({target}) = {fmt(expected)}"


def pick_slider(page: Any, model: Quickstart, state: dict[str, Any]) -> tuple[str, float]:
    """The first slider (largest |SHAP|) whose far end moves the prediction by > 0.05.

    Returns the feature and the end of its track (0.1 or 0.9) to move towards.
    """
    index, target = int(state["row"]), target_of(state["text"])
    current = model.probability(target, index)
    for name in state["values"]:
        rng = slider(page, name).locator("input[type=range]")
        lo, hi = float(rng.get_attribute("min")), float(rng.get_attribute("max"))
        for end in (0.1, 0.9):
            if (
                abs(model.probability(target, index, **{name: lo + end * (hi - lo)}) - current)
                > 0.05
            ):
                return name, end
    raise AssertionError("no slider moves the prediction by more than 0.05")


def reset_all(page: Any) -> dict[str, Any]:
    before = panel_state(page)
    page.locator(WIDGET).get_by_test_id("ow-sliders").get_by_role(
        "button", name="Reset all"
    ).click()
    state = wait_settled(page, before["seq"])
    assert state["edited"] == []
    return state


DRAG_JS = """
async ([feature, values, pause]) => {
  // What a pointer drag fires: pointerdown, input per move, change on release.
  const root = document.querySelector('.optiml-widget');
  const range = root.querySelector(`.ow-slider[data-feature="${feature}"] input[type=range]`);
  const seen = new Set();
  const observer = new MutationObserver(() => seen.add(root.dataset.quality));
  observer.observe(root, { attributes: true, attributeFilter: ['data-seq'] });
  range.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true }));
  for (const value of values) {
    range.value = String(value);
    range.dispatchEvent(new Event('input', { bubbles: true }));
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
  range.dispatchEvent(new Event('change', { bubbles: true }));
  observer.disconnect();
  return { value: range.value, qualities: [...seen] };
}
"""


def test_dragging_a_slider_shows_the_models_prediction(quickstart: Any, model: Quickstart) -> None:
    """A drag (input events, then change on release): estimates while dragging, then the
    exact view, whose prediction is the model's own for the edited row."""
    page = quickstart
    panel = page.locator(WIDGET)
    state = reset_all(page)  # the row as it is in X_test: no edit bookkeeping needed
    index, target = int(state["row"]), target_of(state["text"])
    current = model.probability(target, index)
    assert state["value"] == pytest.approx(current, abs=1e-12)
    feature, end = pick_slider(page, model, state)
    rng = slider(page, feature).locator("input[type=range]")
    lo, hi = float(rng.get_attribute("min")), float(rng.get_attribute("max"))
    start = float(rng.input_value())
    goal = lo + end * (hi - lo)
    values = [start + (goal - start) * k / 10 for k in range(1, 11)]
    drag = page.evaluate(DRAG_JS, [feature, values, 60])
    assert "fast" in drag["qualities"], f"no estimate was shown while dragging: {drag}"
    state = wait_settled(page, state["seq"])
    value = float(drag["value"])
    assert value == pytest.approx(goal, abs=float(rng.get_attribute("step")))
    assert state["edited"] == [feature]
    assert float(state["values"][feature]) == value  # the number box shows the same value
    expected = model.probability(target, index, **{feature: value})
    assert abs(expected - current) > 0.01
    assert state["value"] == pytest.approx(expected, abs=1e-12)
    expect(panel.get_by_test_id("ow-prediction")).to_have_text(f"P({target}) = {fmt(expected)}")


def test_hovering_a_feature_links_every_view(quickstart: Any) -> None:
    page = quickstart
    panel = page.locator(WIDGET)
    candidates = page.evaluate(
        """() => {
          const root = document.querySelector('.optiml-widget');
          const names = (sel) => new Set([...root.querySelectorAll(sel)].map((e) => e.dataset.feature));
          const lime = names('[data-testid=ow-lime] [data-feature]');
          const rules = names('[data-testid=ow-rules] [data-feature]');
          const sliders = names('[data-testid=ow-sliders] [data-feature]');
          return [...root.querySelectorAll('[data-testid=ow-forceplot] g.ow-seg[data-feature]')]
            .map((g) => ({ feature: g.dataset.feature, width: g.getBoundingClientRect().width }))
            .filter((s) => lime.has(s.feature) && rules.has(s.feature) && sliders.has(s.feature))
            .sort((a, b) => b.width - a.width)
            .map((s) => s.feature);
        }"""
    )
    assert candidates, "no feature is in the force plot, LIME, the rules and the sliders at once"
    feature = candidates[0]
    segment = panel.locator(f'[data-testid=ow-forceplot] g.ow-seg[data-feature="{feature}"]')
    segment.locator("rect").hover()
    for part, selector in (
        ("ow-forceplot", "g.ow-seg"),
        ("ow-lime", "li"),
        ("ow-rules", ".ow-cond"),
        ("ow-sliders", ".ow-slider"),
    ):
        linked = panel.locator(f'[data-testid={part}] {selector}[data-feature="{feature}"]')
        assert linked.count() >= 1, f"{feature} is not in {part}"
        for i in range(linked.count()):
            expect(linked.nth(i)).to_have_class(LINKED)
    others = panel.locator(f'.ow-linked:not([data-feature="{feature}"])')
    expect(others).to_have_count(0)
    # Leaving the feature clears the highlight everywhere.
    page.mouse.move(2, 2)
    expect(panel.locator(".ow-linked")).to_have_count(0)


def test_set_features_in_a_cell_moves_the_slider(quickstart: Any, model: Quickstart) -> None:
    page = quickstart
    state = panel_state(page)
    feature = next(
        n for n in ("mean texture", "worst smoothness", "mean radius") if n not in state["edited"]
    )
    rng = slider(page, feature).locator("input[type=range]")
    old = float(rng.input_value())
    new = round(
        float(model.X_test[feature].quantile(0.9 if old < model.X_test[feature].median() else 0.1)),
        3,
    )
    result = run_cell(
        page,
        "import json\n"
        f"w.set_features({{{feature!r}: {new!r}}})\n"
        'print("OW-RESULT " + json.dumps({"prediction": w.explanation.prediction, '
        f'"value": w.instance[{feature!r}], "index": w.index, "target": str(w.target)}}))',
    )
    assert result["value"] == new
    state = wait_settled(page, state["seq"])
    assert float(state["values"][feature]) == new
    step = float(rng.get_attribute("step"))
    moved = float(rng.input_value())
    assert moved == pytest.approx(new, abs=step), "the range input did not follow set_features"
    assert abs(moved - old) > step / 2
    assert state["value"] == result["prediction"]  # the same float, not just close
    edits = {n: float(state["values"][n]) for n in state["edited"]}
    expected = model.probability(result["target"], result["index"], **edits)
    assert state["value"] == pytest.approx(expected, abs=1e-12)


def test_changing_the_row_in_a_cell_updates_the_panel(quickstart: Any, model: Quickstart) -> None:
    page = quickstart
    before = panel_state(page)
    result = run_cell(
        page,
        "import json\nw.index = 5\n"
        'print("OW-RESULT " + json.dumps({"prediction": w.explanation.prediction, '
        '"target": str(w.target)}))',
    )
    state = wait_settled(page, before["seq"])
    assert state["row"] == "5"
    assert state["edited"] == []
    for name, value in state["values"].items():
        assert float(value) == pytest.approx(model.X_test.iloc[5][name]), name
    assert state["value"] == result["prediction"]
    expected = model.probability(result["target"], 5)
    expect(page.locator(WIDGET).get_by_test_id("ow-prediction")).to_have_text(
        f"P({result['target']}) = {fmt(expected)}"
    )
    # Back to row 0: its edits are kept per row.
    run_cell(page, 'w.index = 0\nprint("OW-RESULT {}")')
    state = wait_settled(page, state["seq"])
    assert state["row"] == "0" and state["edited"]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots(quickstart: Any, artifacts: Path, theme: str) -> None:
    page = quickstart
    name = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}[theme]
    page.evaluate(
        "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", name
    )
    page.wait_for_function(
        "(light) => document.body.dataset.jpThemeLight === String(light)",
        arg=theme == "light",
        timeout=WAIT,
    )
    page.mouse.move(2, 2)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    panel = page.locator(WIDGET)
    panel.evaluate("(el) => el.scrollIntoView({ block: 'start' })")
    page.wait_for_timeout(500)  # the theme's CSS transitions
    page.screenshot(path=str(artifacts / f"quickstart-page-{theme}.png"))
    # The panel is taller than the notebook's viewport: grow the window to fit it whole.
    viewport = page.viewport_size
    height = panel.bounding_box()["height"]
    page.set_viewport_size({"width": viewport["width"], "height": int(height) + 400})
    try:
        panel.evaluate("(el) => el.scrollIntoView({ block: 'start' })")
        page.wait_for_timeout(300)
        shot = artifacts / f"quickstart-panel-{theme}.png"
        panel.screenshot(path=str(shot))
    finally:
        page.set_viewport_size(viewport)
    if theme == "light" and os.environ.get("OPTIML_UPDATE_SCREENSHOT") == "1":
        (REPO / "docs").mkdir(exist_ok=True)
        shutil.copy(shot, REPO / "docs" / "panel.png")
    if theme == "dark":  # leave the page as the other tests expect it
        page.evaluate(
            "() => window.jupyterapp.commands.execute('apputils:change-theme', "
            "{theme: 'JupyterLab Light'})"
        )


def test_a_real_mouse_drag_follows_the_pointer(quickstart: Any, model: Quickstart) -> None:
    page = quickstart
    state = reset_all(page)
    feature, end = pick_slider(page, model, state)
    rng = slider(page, feature).locator("input[type=range]")
    rng.scroll_into_view_if_needed()
    box = rng.bounding_box()
    assert box is not None
    lo, hi = float(rng.get_attribute("min")), float(rng.get_attribute("max"))
    y = box["y"] + box["height"] / 2
    begin = 1 - end
    page.mouse.move(box["x"] + begin * box["width"], y)
    page.mouse.down()
    for k in range(1, 13):  # slow enough for estimates to arrive mid-drag
        page.mouse.move(box["x"] + (begin + (end - begin) * k / 12) * box["width"], y)
        page.wait_for_timeout(80)
    page.mouse.up()
    wait_settled(page, state["seq"])
    share = (float(rng.input_value()) - lo) / (hi - lo)
    assert share == pytest.approx(end, abs=0.08), f"the thumb stopped at {share:.2f} of the track"


def test_arrow_keys_move_a_focused_slider(quickstart: Any) -> None:
    page = quickstart
    state = panel_state(page)
    feature = next(iter(state["values"]))
    rng = slider(page, feature).locator("input[type=range]")
    before = float(rng.input_value())
    rng.focus()
    rng.press("ArrowRight")
    page.wait_for_timeout(300)
    assert float(rng.input_value()) > before or before == float(rng.get_attribute("max"))
    assert rng.evaluate("(el) => el === document.activeElement")


def chart(page: Any, name: str) -> Any:
    return page.locator(f'{WIDGET} .ow-chart[data-chart="{name}"]')


def test_global_views_render_with_the_network_blocked(quickstart: Any, model: Quickstart) -> None:
    page = quickstart
    section = page.locator(f"{WIDGET} .ow-global")
    expect(section).to_have_attribute("data-state", "ready", timeout=WAIT)
    for name in ("importance", "beeswarm", "dependence", "fidelity"):
        expect(chart(page, name)).to_have_attribute("data-ready", "true", timeout=WAIT)
        expect(chart(page, name).locator("svg")).to_be_visible()
    n = len(model.X_test)
    expect(section.locator(".ow-global-status")).to_contain_text(f"all {n} rows")
    # One bar per feature (up to 20), one point per row and shown feature in the beeswarm.
    bars = chart(page, "importance").locator('[aria-roledescription="bar"]')
    expect(bars).to_have_count(min(20, model.X_test.shape[1]))
    points = chart(page, "beeswarm").locator('[aria-label^="row "]')
    expect(points).to_have_count(n * 12)
    assert page.blocked == [], page.blocked  # nothing was fetched from the network


def topmost_point(page: Any, name: str, exclude: int) -> tuple[int, float, float]:
    """A point of a chart that no other point covers (points overlap): row and centre."""
    found = page.evaluate(
        """([name, exclude]) => {
          const box = document.querySelector(`.optiml-widget .ow-chart[data-chart="${name}"]`);
          for (const el of box.querySelectorAll('[aria-label^="row "]')) {
            const row = Number(el.getAttribute('aria-label').match(/^row (\\d+) /)[1]);
            const r = el.getBoundingClientRect();
            const [x, y] = [r.x + r.width / 2, r.y + r.height / 2];
            if (row !== exclude && r.width > 0 && document.elementFromPoint(x, y) === el) return [row, x, y];
          }
          return null;
        }""",
        [name, exclude],
    )
    assert found, f"no uncovered point in the {name} chart"
    return int(found[0]), float(found[1]), float(found[2])


def force_text(page: Any) -> str:
    return page.locator(f"{WIDGET} [data-testid=ow-forceplot]").inner_text()


def test_clicking_a_beeswarm_point_selects_its_row(quickstart: Any, model: Quickstart) -> None:
    page = quickstart
    before = wait_settled(page)
    force_before = force_text(page)
    feature = model.X_test.columns[0]
    chart(page, "beeswarm").scroll_into_view_if_needed()
    row, x, y = topmost_point(page, "beeswarm", exclude=int(before["row"]))
    page.mouse.click(x, y)
    state = wait_settled(page, before["seq"])
    assert state["row"] == str(row)
    target = target_of(state["text"])
    assert state["text"] == f"P({target}) = {fmt(model.probability(target, row))}"
    assert force_text(page) != force_before
    assert (
        state["values"][feature]
        == page.locator(
            f'{WIDGET} .ow-slider[data-feature="{feature}"] input[type=number]'
        ).input_value()
    )
    # The selected row is marked (bigger, outlined) in the beeswarm.
    marked = chart(page, "beeswarm").locator(f'[aria-label^="row {row} of X: "]').first
    expect(marked).to_have_attribute("stroke", "#ffb300")


def test_clicking_an_importance_bar_changes_the_dependence_plot(quickstart: Any) -> None:
    page = quickstart
    bars = chart(page, "importance").locator('[aria-roledescription="bar"]')
    label = bars.nth(2).get_attribute("aria-label")
    feature = label.split(": mean |SHAP| ")[0]
    title = chart(page, "dependence").locator("text", has_text="Dependence:")
    assert feature not in title.text_content()
    bars.nth(2).click()
    expect(title).to_have_text(f"Dependence: {feature}")
    # The slider of that feature takes the focus; the force plot marks the feature.
    focused = page.evaluate(
        "() => document.activeElement.closest('.ow-slider')?.dataset.feature ?? null"
    )
    assert focused == feature
    expect(page.locator(f'{WIDGET} .ow-slider[data-feature="{feature}"]')).to_have_class(
        re.compile(r"\bow-selected\b")
    )
    # Python knows the selection: w.charts shows the same feature.
    result = run_cell(
        page,
        "import json\nprint('OW-RESULT ' + json.dumps(w.feature))",
    )
    assert result == feature


def test_hovering_a_chart_links_the_panel(quickstart: Any) -> None:
    page = quickstart
    bar = chart(page, "importance").locator('[aria-roledescription="bar"]').nth(1)
    feature = bar.get_attribute("aria-label").split(": mean |SHAP| ")[0]
    bar.hover()
    expect(page.locator(f'{WIDGET} .ow-slider[data-feature="{feature}"]')).to_have_class(LINKED)
    # And the other way: hovering a slider fades the other bars.
    page.mouse.move(2, 2)
    other = page.locator(f"{WIDGET} .ow-slider").nth(5)
    name = other.get_attribute("data-feature")
    other.hover()
    faded = chart(page, "importance").locator('[aria-roledescription="bar"][opacity="0.35"]')
    expect(faded).not_to_have_count(0)
    lit = chart(page, "importance").locator(f'[aria-label^="{name}: "]')
    if lit.count():
        expect(lit).to_have_attribute("opacity", "1")
    page.mouse.move(2, 2)


def test_the_counterfactual_hint_is_a_one_click_what_if(quickstart: Any, model: Quickstart) -> None:
    page = quickstart
    before = wait_settled(page)
    hint = page.locator(f"{WIDGET} [data-testid=ow-counterfactual]")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("Smallest change to another outcome")
    hint.locator("button", has_text="Try it").click()
    state = wait_settled(page, before["seq"])
    assert state["edited"], "the hint's changes became what-if edits"
    edits = {name: float(state["values"][name]) for name in state["edited"]}
    target = target_of(state["text"])
    expected = model.probability(target, int(state["row"]), **edits)
    assert state["text"] == f"P({target}) = {fmt(expected)}"


def test_no_console_errors(quickstart: Any) -> None:
    assert quickstart.errors == [], "\n".join(quickstart.errors)


def test_export_button_downloads_a_standalone_file(quickstart: Any, tmp_path: Path) -> None:
    page = quickstart
    button = page.locator(f"{WIDGET} .ow-export")
    with page.expect_download(timeout=180_000) as download:
        button.click()
    path = tmp_path / "export.html"
    download.value.save_as(path)
    assert download.value.suggested_filename == "optiml_widgets_export.html"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and 'id="optiml-data"' in text
    assert button.inner_text() == "Export HTML" and button.is_enabled()
