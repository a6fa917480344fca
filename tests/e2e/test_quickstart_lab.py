"""The quickstart notebook in a real JupyterLab, driven by headless Chromium.

One page runs examples/quickstart.ipynb once (module fixture); the tests then use the live
panel in order, as a person would: the views render, a real mouse drag shows the model's own
prediction and leaves the dragged slider under the pointer, the prediction stays in view
while the lowest slider moves, every mark has a legend, hovering links every view, notebook
cells move the panel, screenshots in the light and dark themes, no console errors. Expected
numbers come from the same model refitted in this process: independent of the widget.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from .jupyter_lab import CELLS_DONE, open_notebook, run_all_cells
from .panel import (
    WAIT,
    WIDGET,
    Quickstart,
    panel_state,
    prediction_text,
    slider,
    target_of,
    wait_settled,
    whole_panel_screenshot,
)

pytestmark = pytest.mark.e2e

LINKED = re.compile(r"\bow-linked\b")
RUN_ALL_WAIT = 180_000  # ms: the whole notebook (fits a model, builds the explainers)
PANEL_WIDTH = 968  # px: the notebook width the layout is measured at
SCREEN = 1000  # px: one screen of the test's browser


CELL_ERRORS = """
() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter((c) => c.model.type === 'code')
  .flatMap((c) => c.model.outputs.toJSON())
  .filter((o) => o.output_type === 'error')
  .map((o) => `${o.ename}: ${o.evalue}\\n${o.traceback.join('\\n')}`)
"""

CELL_STDERR = """
() => window.jupyterapp.shell.currentWidget.content.widgets
  .filter((c) => c.model.type === 'code')
  .flatMap((c) => c.model.outputs.toJSON())
  .filter((o) => o.output_type === 'stream' && o.name === 'stderr')
  .map((o) => Array.isArray(o.text) ? o.text.join('') : o.text)
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


def edits_of(state: dict[str, Any]) -> dict[str, float]:
    return {name: float(state["values"][name]) for name in state["edited"]}


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
    expect(page.locator(f"{WIDGET} [data-testid=ow-forcebar] svg")).to_be_visible(timeout=WAIT)
    wait_settled(page, complete=True)
    return page


def reset_all(page: Any) -> dict[str, Any]:
    before = panel_state(page)
    if not before["edited"]:
        return before
    page.locator(WIDGET).get_by_test_id("ow-sliders").get_by_role(
        "button", name="Reset all"
    ).click()
    state = wait_settled(page, before["seq"])
    assert state["edited"] == []
    return state


def pick_slider(page: Any, model: Quickstart, state: dict[str, Any]) -> tuple[str, float]:
    """The first slider (largest |SHAP|) whose far end moves the prediction by > 0.05.

    Returns the feature and the end of its track (0.1 or 0.9) to move towards.
    """
    index, target = int(state["row"]), target_of(state["text"])
    current = model.probability(target, index)
    for name in state["order"]:
        rng = slider(page, name).locator("input[type=range]")
        lo, hi = float(rng.get_attribute("min")), float(rng.get_attribute("max"))
        for end in (0.1, 0.9):
            moved = model.probability(target, index, **{name: lo + end * (hi - lo)})
            if abs(moved - current) > 0.05:
                return name, end
    raise AssertionError("no slider moves the prediction by more than 0.05")


def mouse_drag(page: Any, name: str, begin: float, end: float, steps: int = 12) -> None:
    """A real pointer drag of a slider's thumb from ``begin`` to ``end`` (shares of the
    track), slow enough for estimates to arrive on the way."""
    rng = slider(page, name).locator("input[type=range]")
    rng.scroll_into_view_if_needed()
    box = rng.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + begin * box["width"], y)
    page.mouse.down()
    for k in range(1, steps + 1):
        page.mouse.move(box["x"] + (begin + (end - begin) * k / steps) * box["width"], y)
        page.wait_for_timeout(80)
    page.mouse.up()


# -- the tests, in order on one page ------------------------------------------------------


def test_every_view_renders(quickstart: Any, model: Quickstart) -> None:
    page = quickstart
    panel = page.locator(WIDGET)
    expect(panel).to_have_count(1)
    for part in ("ow-prediction", "ow-forcebar", "ow-rules", "ow-sliders"):
        expect(panel.get_by_test_id(part)).to_be_visible()
    cards = panel.get_by_test_id("ow-explainer")
    expect(cards).to_have_count(2)
    assert [cards.nth(i).get_attribute("data-explainer") for i in range(2)] == ["shap", "lime"]
    shap, lime = cards.nth(0), cards.nth(1)
    expect(shap.get_by_test_id("ow-algorithm")).to_contain_text("TreeSHAP")
    expect(lime.get_by_test_id("ow-verdict")).to_be_visible()  # Python's verdict, in its words
    expect(panel.get_by_test_id("ow-quality")).to_have_text("exact")
    expect(panel.get_by_test_id("ow-error")).to_be_hidden()
    assert panel.locator("[data-testid=ow-forcebar] svg g.ow-seg[data-j]").count() >= 3
    assert lime.locator("li[data-j]").count() >= 3
    expect(panel.locator("[data-testid=ow-rules] .ow-rule-active")).to_have_count(1)
    expect(panel.get_by_test_id("ow-rules-reason")).to_contain_text("Why ")
    # The row's 16 most important features have sliders; the rest are a click or a search away.
    expect(panel.locator("[data-testid=ow-sliders] .ow-slider")).to_have_count(16)
    expect(panel.get_by_test_id("ow-slider-count")).to_have_text(
        f"16 of {len(model.columns)} features, ordered by impact on this row"
    )
    state = panel_state(page)
    for name in state["order"][:5]:  # each range input is labelled with its feature's name
        expect(panel.get_by_test_id("ow-sliders").get_by_label(name, exact=True)).to_have_attribute(
            "type", "range"
        )
    # The row shown is row 0 of X_test, with the notebook's own what-if edits on top; the
    # number boxes write values as the panel writes every number.
    assert state["row"] == "0"
    edits = edits_of(state)
    for name in state["order"]:
        if name not in edits:
            assert float(state["values"][name]) == pytest.approx(model.X_test.iloc[0][name])
            assert state["shown"][name] == model.shown(name, model.X_test.iloc[0][name])
    target = target_of(state["text"])
    assert state["text"] == prediction_text(target, model.probability(target, 0, **edits))


def test_every_mark_has_a_legend(quickstart: Any) -> None:
    panel = quickstart.locator(WIDGET)
    legends = {
        "force plot": panel.locator(".ow-top [data-testid=ow-legend]"),
        "rules": panel.locator("[data-testid=ow-rules] [data-testid=ow-legend]"),
        "sliders": panel.locator("[data-testid=ow-sliders] [data-testid=ow-legend]"),
        "charts": panel.locator(".ow-global [data-testid=ow-legend]"),
    }
    for where, legend in legends.items():
        expect(legend, where).to_have_count(1)
    expect(legends["force plot"]).to_contain_text("raises the output")
    expect(legends["force plot"]).to_contain_text("feature selected in the charts")
    expect(legends["sliders"]).to_contain_text("percentiles")
    expect(legends["sliders"]).to_contain_text("rule thresholds")
    expect(legends["charts"]).to_contain_text("ringed point: the current row")
    expect(legends["rules"]).to_contain_text("the rule that fires for this row")


def test_a_real_mouse_drag_shows_the_models_prediction(quickstart: Any, model: Quickstart) -> None:
    """A drag: estimates while dragging, then the exact view, whose prediction is the
    model's own for the edited row, and the thumb where the pointer left it."""
    page = quickstart
    state = reset_all(page)
    index, target = int(state["row"]), target_of(state["text"])
    assert state["value"] == pytest.approx(model.probability(target, index), abs=1e-12)
    feature, end = pick_slider(page, model, state)
    seen = page.locator(WIDGET).evaluate(
        """(root) => { window.__owQualities = new Set();
          new MutationObserver(() => window.__owQualities.add(root.dataset.quality))
            .observe(root, { attributes: true, attributeFilter: ['data-quality'] }); }"""
    )
    assert seen is None
    mouse_drag(page, feature, 1 - end, end)
    state = wait_settled(page, state["seq"])
    qualities = page.evaluate("() => [...window.__owQualities]")
    assert "fast" in qualities, f"no estimate was shown while dragging: {qualities}"
    rng = slider(page, feature).locator("input[type=range]")
    lo, hi = float(rng.get_attribute("min")), float(rng.get_attribute("max"))
    value = float(rng.input_value())
    assert (value - lo) / (hi - lo) == pytest.approx(end, abs=0.08), "the thumb left the pointer"
    assert state["edited"] == [feature]
    assert float(state["values"][feature]) == value
    expected = model.probability(target, index, **{feature: value})
    assert state["value"] == pytest.approx(expected, abs=1e-12)
    expect(page.locator(WIDGET).get_by_test_id("ow-prediction")).to_have_text(
        prediction_text(target, expected)
    )


def test_after_a_release_the_slider_under_the_pointer_is_the_one_dragged(
    quickstart: Any, model: Quickstart
) -> None:
    """The order does not change when the exact view and what streams after it arrive: the
    next drag starts on the same slider."""
    page = quickstart
    state = wait_settled(page, complete=True)
    order = state["order"]
    name = order[5]  # a slider in the middle of the list, with sliders below and above
    rng = slider(page, name).locator("input[type=range]")
    rng.scroll_into_view_if_needed()
    box = rng.bounding_box()
    x, y = box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2
    mouse_drag(page, name, 0.5, 0.8, steps=6)
    state = wait_settled(page, state["seq"], complete=True)
    page.wait_for_timeout(500)  # anything late (charts, curves) has landed
    assert panel_state(page)["order"] == order
    under = page.locator(WIDGET).evaluate(
        """(root, [x, y]) => {
          const hit = root.getRootNode().elementFromPoint(x, y);
          return hit && hit.closest('.ow-slider') ? hit.closest('.ow-slider').dataset.name : null;
        }""",
        [x, y],
    )
    assert under == name
    # The next drag, from the same place, moves the same feature.
    before = float(rng.input_value())
    page.mouse.move(x + box["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(x, y, steps=4)
    page.mouse.up()
    wait_settled(page, state["seq"])
    assert float(rng.input_value()) != before
    assert panel_state(page)["order"] == order


def test_the_panel_fits_the_notebook_at_968_px(quickstart: Any, artifacts: Path) -> None:
    """At a 968 px notebook width: the header, the explanations and the sliders fit one
    screen (the global views follow below); the height is measured and written down."""
    page = quickstart
    panel = page.locator(WIDGET)
    viewport = page.viewport_size
    width = panel.bounding_box()["width"]
    page.set_viewport_size(
        {"width": int(viewport["width"] + PANEL_WIDTH - width), "height": viewport["height"]}
    )
    try:
        page.wait_for_timeout(500)
        box = panel.bounding_box()
        assert box["width"] == pytest.approx(PANEL_WIDTH, abs=4)
        sizes = panel.evaluate(
            """(root) => {
              const top = root.getBoundingClientRect().top;
              const bottom = (sel) => root.querySelector(sel).getBoundingClientRect().bottom - top;
              return { panel: root.getBoundingClientRect().height,
                       header: root.querySelector('.ow-top').getBoundingClientRect().height,
                       local: bottom('[data-testid=ow-sliders]') };
            }"""
        )
        (artifacts / "panel-height.json").write_text(json.dumps(sizes, indent=1))
        assert sizes["header"] <= 0.2 * SCREEN, sizes
        assert sizes["local"] <= SCREEN, sizes
        assert sizes["panel"] <= 1.9 * SCREEN, sizes
    finally:
        page.set_viewport_size(viewport)


def test_the_prediction_stays_in_view_while_the_lowest_slider_is_dragged(
    quickstart: Any, artifacts: Path
) -> None:
    page = quickstart
    panel = page.locator(WIDGET)
    state = wait_settled(page)
    # A laptop's screen: the notebook at 968 px, 760 px high.
    viewport = page.viewport_size
    width = panel.bounding_box()["width"]
    page.set_viewport_size({"width": int(viewport["width"] + PANEL_WIDTH - width), "height": 760})
    try:
        # JupyterLab lays the notebook out again a frame or more after the window's resize.
        page.wait_for_timeout(500)
        visible = drag_the_lowest_slider(page, state, artifacts)
    finally:
        page.set_viewport_size(viewport)
    assert all(v["prediction"] and v["force"] for v in visible), visible


def drag_the_lowest_slider(page: Any, state: dict[str, Any], artifacts: Path) -> list[dict]:
    """Drags the lowest slider; whether the prediction and the force plot were in view at
    each step of the drag."""
    panel = page.locator(WIDGET)
    lowest = slider(page, state["order"][-1])
    # The lowest slider at the bottom of the notebook's view: the panel's top is far above.
    lowest.evaluate("(el) => el.scrollIntoView({ block: 'end' })")
    page.wait_for_timeout(300)
    rng = lowest.locator("input[type=range]")
    box = rng.bounding_box()
    y = box["y"] + box["height"] / 2
    expect(panel.locator(".ow-top")).to_have_class(re.compile(r"\bow-stuck\b"))
    page.mouse.move(box["x"] + box["width"] * 0.2, y)
    page.mouse.down()
    visible = []
    for k in range(1, 7):
        page.mouse.move(box["x"] + box["width"] * (0.2 + 0.1 * k), y)
        page.wait_for_timeout(120)
        visible.append(
            panel.evaluate(
                """(root) => {
                  const doc = root.getRootNode();
                  const seen = (el) => {
                    const r = el.getBoundingClientRect();
                    const hit = doc.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                    return r.top >= 0 && r.bottom <= innerHeight && !!hit && el.contains(hit);
                  };
                  return { prediction: seen(root.querySelector('[data-testid=ow-prediction]')),
                           force: seen(root.querySelector('[data-testid=ow-forcebar] svg')) };
                }"""
            )
        )
        if k == 3:
            page.screenshot(path=str(artifacts / "quickstart-dragging-lowest.png"))
    page.mouse.up()
    wait_settled(page, state["seq"])
    return visible


def test_hovering_a_feature_links_every_view(quickstart: Any) -> None:
    page = quickstart
    panel = page.locator(WIDGET)
    panel.evaluate("(el) => el.scrollIntoView({ block: 'start' })")
    candidates = panel.evaluate(
        """(root) => {
          const js = (sel) => new Set([...root.querySelectorAll(sel)].map((e) => e.dataset.j));
          const lime = js('[data-explainer=lime] [data-j]');
          const rules = js('[data-testid=ow-rules] [data-j]');
          const sliders = js('[data-testid=ow-sliders] [data-j]');
          return [...root.querySelectorAll('[data-testid=ow-forcebar] g.ow-seg[data-j]')]
            .map((g) => ({ j: g.dataset.j, width: g.getBoundingClientRect().width }))
            .filter((s) => lime.has(s.j) && rules.has(s.j) && sliders.has(s.j))
            .sort((a, b) => b.width - a.width)
            .map((s) => s.j);
        }"""
    )
    assert candidates, "no feature is in the force plot, LIME, the rules and the sliders at once"
    j = candidates[0]
    panel.locator(f'[data-testid=ow-forcebar] g.ow-seg[data-j="{j}"] rect').hover()
    for part, selector in (
        ("[data-testid=ow-forcebar]", "g.ow-seg"),
        ("[data-explainer=shap]", "li"),
        ("[data-explainer=lime]", "li"),
        ("[data-testid=ow-rules]", "[data-j]"),  # a rule's condition or term
        ("[data-testid=ow-sliders]", ".ow-slider"),
    ):
        linked = panel.locator(f'{part} {selector}[data-j="{j}"]')
        assert linked.count() >= 1, f"feature {j} is not in {part}"
        for i in range(linked.count()):
            expect(linked.nth(i)).to_have_class(LINKED)
    expect(panel.locator(f'.ow-linked:not([data-j="{j}"])')).to_have_count(0)
    page.mouse.move(2, 2)
    expect(panel.locator(".ow-linked")).to_have_count(0)


def test_set_features_in_a_cell_moves_the_slider(quickstart: Any, model: Quickstart) -> None:
    page = quickstart
    state = panel_state(page)
    feature = next(n for n in state["order"] if n not in state["edited"])
    rng = slider(page, feature).locator("input[type=range]")
    old = float(rng.input_value())
    column = model.X_test[feature]
    new = round(float(column.quantile(0.9 if old < column.median() else 0.1)), 3)
    result = run_cell(
        page,
        "import json\n"
        f"w.set_features({{{feature!r}: {new!r}}})\n"
        'print("OW-RESULT " + json.dumps({"prediction": w.explanation.prediction, '
        f'"value": w.instance[{feature!r}], "index": w.index, "target": str(w.target)}}))',
    )
    assert result["value"] == new
    state = wait_settled(page, state["seq"])
    assert float(state["values"][feature]) == pytest.approx(
        new, abs=float(rng.get_attribute("step"))
    )
    assert state["shown"][feature] == model.shown(feature, new)
    assert state["value"] == result["prediction"]  # the same float, not just close
    others = {n: v for n, v in edits_of(state).items() if n != feature}
    expected = model.probability(result["target"], result["index"], **others, **{feature: new})
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
    expect(page.locator(WIDGET).get_by_test_id("ow-prediction")).to_have_text(
        prediction_text(result["target"], model.probability(result["target"], 5))
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
    viewport = page.viewport_size
    width = panel.bounding_box()["width"]
    # The notebook at 968 px, the width the layout is measured at.
    page.set_viewport_size(
        {"width": int(viewport["width"] + PANEL_WIDTH - width), "height": viewport["height"]}
    )
    panel.evaluate("(el) => el.scrollIntoView({ block: 'start' })")
    page.wait_for_timeout(500)  # the theme's CSS transitions
    page.screenshot(path=str(artifacts / f"quickstart-page-{theme}.png"))
    shot = artifacts / f"quickstart-panel-{theme}.png"
    whole_panel_screenshot(page, panel, shot, "panel.png" if theme == "light" else "")
    page.set_viewport_size(viewport)
    if theme == "dark":  # leave the page as the other tests expect it
        page.evaluate(
            "() => window.jupyterapp.commands.execute('apputils:change-theme', "
            "{theme: 'JupyterLab Light'})"
        )


def test_the_lab_server_sends_kernel_messages_without_delay(lab_server: Any) -> None:
    # optiml_widgets_server, installed enabled: TCP_NODELAY on the kernel websocket.
    assert "kernel websocket messages are sent without delay" in lab_server.log.read_text()


def test_arrow_keys_move_a_focused_slider(quickstart: Any) -> None:
    page = quickstart
    state = panel_state(page)
    rng = slider(page, state["order"][0]).locator("input[type=range]")
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
    bars = chart(page, "importance").locator('[aria-roledescription="bar"]')
    expect(bars).to_have_count(min(20, model.X_test.shape[1]))
    assert chart(page, "beeswarm").locator('[aria-label^="row "]').count() >= n
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
            if (row !== exclude && r.width > 0 && r.top > 200 && document.elementFromPoint(x, y) === el) return [row, x, y];
          }
          return null;
        }""",
        [name, exclude],
    )
    assert found, f"no uncovered point in the {name} chart"
    return int(found[0]), float(found[1]), float(found[2])


def force_text(page: Any) -> str:
    return page.locator(f"{WIDGET} [data-explainer=shap]").inner_text()


def test_clicking_a_beeswarm_point_selects_its_row(quickstart: Any, model: Quickstart) -> None:
    page = quickstart
    before = wait_settled(page)
    force_before = force_text(page)
    chart(page, "beeswarm").scroll_into_view_if_needed()
    row, x, y = topmost_point(page, "beeswarm", exclude=int(before["row"]))
    page.mouse.click(x, y)
    state = wait_settled(page, before["seq"])
    assert state["row"] == str(row)
    target = target_of(state["text"])
    assert state["text"] == prediction_text(target, model.probability(target, row))
    assert force_text(page) != force_before
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
    # The slider of that feature takes the focus and is marked as selected.
    focused = page.evaluate(
        "() => document.activeElement.closest('.ow-slider')?.dataset.name ?? null"
    )
    assert focused == feature
    expect(slider(page, feature)).to_have_class(re.compile(r"\bow-selected\b"))
    result = run_cell(page, "import json\nprint('OW-RESULT ' + json.dumps(w.feature))")
    assert result == feature


def test_clicking_a_point_of_the_fidelity_curve_shows_its_rules(quickstart: Any) -> None:
    page = quickstart
    caption = page.locator(f"{WIDGET} [data-testid=ow-rules-caption]")
    before = caption.inner_text()
    chart(page, "fidelity").scroll_into_view_if_needed()
    found = page.evaluate(
        """(shown) => {
          const box = document.querySelector('.optiml-widget .ow-chart[data-chart="fidelity"]');
          for (const el of box.querySelectorAll('[aria-roledescription="point"][aria-label*="; family: "]')) {
            const m = el.getAttribute('aria-label').match(/; family: (.+?); rules: (\\d+);/);
            const r = el.getBoundingClientRect();
            const [x, y] = [r.x + r.width / 2, r.y + r.height / 2];
            const label = `${m[1]}, ${m[2]} rules`;
            if (m && !shown.includes(label) && r.width > 0 && document.elementFromPoint(x, y) === el)
              return [m[1], Number(m[2]), x, y];
          }
          return null;
        }""",
        before,
    )
    assert found, "no uncovered point of another size on the fidelity curve"
    family, rules, x, y = found
    page.mouse.click(x, y)
    # The table shows those rules, the chart rings that point, Python agrees.
    expect(caption).to_contain_text(f"{family}, {rules} rules")
    ring = chart(page, "fidelity").locator('[aria-label*="rules shown: "]')
    expect(ring).to_have_attribute(
        "aria-label", re.compile(rf"^rules: {rules}; .*rules shown: {re.escape(family)}$")
    )
    shown = run_cell(
        page,
        "import json\nprint('OW-RESULT ' + json.dumps([w.surrogate_size, w.surrogate.family]))",
    )
    assert shown == [rules, family]
    run_cell(page, "w.surrogate_size = None\nprint('OW-RESULT null')")  # back to the recommended
    expect(caption).to_have_text(before)


def test_hovering_a_chart_links_the_panel(quickstart: Any, model: Quickstart) -> None:
    page = quickstart
    bar = chart(page, "importance").locator('[aria-roledescription="bar"]').nth(1)
    feature = bar.get_attribute("aria-label").split(": mean |SHAP| ")[0]
    j = model.columns.index(feature)
    bar.hover()
    linked = page.locator(f"{WIDGET} .ow-linked")
    expect(linked.first).to_be_attached()
    assert {linked.nth(i).get_attribute("data-j") for i in range(linked.count())} == {str(j)}
    page.mouse.move(2, 2)
    other = page.locator(f"{WIDGET} .ow-slider").nth(5)
    name = other.get_attribute("data-name")
    other.hover()
    faded = chart(page, "importance").locator('[aria-roledescription="bar"][fill-opacity="0.35"]')
    expect(faded).not_to_have_count(0)
    lit = chart(page, "importance").locator(f'[aria-label^="{name}: "]')
    if lit.count():
        expect(lit).to_have_attribute("fill-opacity", "1")
    page.mouse.move(2, 2)


def test_the_counterfactual_hint_is_a_one_click_what_if(quickstart: Any, model: Quickstart) -> None:
    page = quickstart
    before = wait_settled(page, complete=True)
    hint = page.locator(f"{WIDGET} [data-testid=ow-counterfactual]")
    hint.scroll_into_view_if_needed()
    expect(hint).to_be_visible()
    expect(hint).to_contain_text(
        re.compile("Smallest change to another outcome|The rules point to a change")
    )
    hint.locator("button", has_text="Try it").click()
    state = wait_settled(page, before["seq"])
    assert state["edited"], "the hint's changes became what-if edits"
    target = target_of(state["text"])
    expected = model.probability(target, int(state["row"]), **edits_of(state))
    assert state["text"] == prediction_text(target, expected)


def test_no_console_errors_and_no_stderr_blocks(quickstart: Any) -> None:
    assert quickstart.errors == [], "\n".join(quickstart.errors)
    stderr = quickstart.evaluate(CELL_STDERR)
    assert stderr == [], "the notebook wrote to stderr (a red block):\n" + "\n".join(stderr)


def test_export_button_shows_progress_then_where_the_file_went(
    quickstart: Any, tmp_path: Path
) -> None:
    page = quickstart
    button = page.locator(f"{WIDGET} .ow-export")
    button.scroll_into_view_if_needed()
    texts = []
    with page.expect_download(timeout=180_000) as download:
        button.click()
        for _ in range(200):
            texts.append(button.inner_text())
            if texts[-1] == "Export HTML":
                break
            page.wait_for_timeout(100)
    path = tmp_path / "export.html"
    download.value.save_as(path)
    assert download.value.suggested_filename == "optiml_widgets_export.html"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!doctype html>") and 'id="optiml-data"' in text
    assert any(re.fullmatch(r"Exporting… \d+%", t) for t in texts), texts
    expect(button).to_have_text("Export HTML")
    assert button.is_enabled()
    status = page.locator(WIDGET).get_by_test_id("ow-export-status")
    expect(status).to_have_text(
        re.compile(r"Saved optiml_widgets_export\.html \([\d.]+ (MB|kB)\) to your downloads\.")
    )
