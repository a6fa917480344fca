"""Reading and driving the panel in a page, the same in every client.

Everything goes through Playwright locators, which reach into shadow roots (marimo renders
widgets in one), and expected numbers come from the quickstart's model refitted in this
process (same data, same seeds), written with the panel's own number format.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split

from optiml_widgets.format import feature_scale, format_number

WIDGET = ".optiml-widget"
WAIT = 60_000  # ms: one view
DOCS = Path(__file__).resolve().parents[2] / "docs"


def whole_panel_screenshot(page: Any, panel: Any, path: Path, docs_name: str = "") -> None:
    """A picture of the whole panel (the window grown to fit it: Lab scrolls inside the
    page, so a taller panel would be cut off); with OPTIML_UPDATE_SCREENSHOT=1 also the
    README's picture ``docs/<docs_name>``."""
    viewport = page.viewport_size
    height = panel.bounding_box()["height"]
    page.set_viewport_size({"width": viewport["width"], "height": int(height) + 400})
    try:
        panel.evaluate("(el) => el.scrollIntoView({ block: 'start' })")
        page.wait_for_timeout(300)
        panel.screenshot(path=str(path))
    finally:
        page.set_viewport_size(viewport)
    if docs_name and os.environ.get("OPTIML_UPDATE_SCREENSHOT") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copy(path, DOCS / docs_name)


# The quickstart's model, as the notebooks of the client tests build it.
QUICKSTART_CODE = """\
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split

from optiml_widgets import explain_widget

data = load_breast_cancer(as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(
    data.data, data.target, test_size=0.3, random_state=0
)
model = GradientBoostingClassifier(random_state=0).fit(X_train, y_train)
w = explain_widget(model, X_test, y_test, class_names=list(data.target_names))
"""


class Quickstart:
    """The quickstart's model refitted here: same data split, same seed."""

    def __init__(self) -> None:
        data = load_breast_cancer(as_frame=True)
        X_train, self.X_test, y_train, _ = train_test_split(
            data.data, data.target, test_size=0.3, random_state=0
        )
        self.classes = [str(c) for c in data.target_names]
        self.model = GradientBoostingClassifier(random_state=0).fit(X_train, y_train)
        self.columns = list(self.X_test.columns)

    def row(self, index: int, **edits: float) -> pd.DataFrame:
        row = self.X_test.iloc[[index]].copy()
        for name, value in edits.items():
            row[name] = value
        return row

    def probability(self, target: str, index: int, **edits: float) -> float:
        column = self.classes.index(target)
        return float(self.model.predict_proba(self.row(index, **edits))[0, column])

    def shown(self, name: str, value: float) -> str:
        """A feature value as the panel writes it (at the feature's scale)."""
        column = self.X_test[name]
        return format_number(value, scale=feature_scale(column.min(), column.max()))


def prediction_text(target: str, value: float) -> str:
    """The headline as the panel writes it: a negative number with a true minus sign."""
    number = format_number(value)
    if number.startswith("-"):
        number = "\u2212" + number[1:]
    return f"P({target}) = {number}"


STATE_JS = """(root) => {
  const prediction = root.querySelector('[data-testid=ow-prediction]');
  // [name, exact value, number box, edited] per slider: a list, not an object keyed by
  // names (a feature may be called __proto__).
  const sliders = [...root.querySelectorAll('[data-testid=ow-sliders] .ow-slider')].map((row) => {
    const number = row.querySelector('input[type=number]');
    return [row.dataset.name, row.dataset.value, number ? number.value : null,
            row.classList.contains('ow-edited')];
  });
  return {
    seq: Number(root.dataset.seq),
    quality: root.dataset.quality,
    pending: root.dataset.pending || '',
    busy: root.querySelector('.ow-busy').textContent,
    text: prediction.textContent,
    value: Number(prediction.dataset.value),
    row: root.querySelector('[data-testid=ow-row-input]').value,
    sliders,
  };
}"""


def panel_state(page: Any) -> dict[str, Any]:
    """What the panel shows now: seq, quality, busy, prediction, row; the sliders' order,
    exact values (``values``), number boxes (``shown``) and which are edited."""
    state = page.locator(WIDGET).first.evaluate(STATE_JS)
    sliders = state.pop("sliders")
    state["order"] = [name for name, *_ in sliders]
    state["values"] = {name: value for name, value, *_ in sliders}
    state["shown"] = {name: shown for name, _, shown, _ in sliders if shown is not None}
    state["edited"] = [name for name, *_, edited in sliders if edited]
    return state


SETTLED_JS = """([root, after, complete, exact]) => (!exact || root.dataset.quality === 'exact')
  && !root.querySelector('.ow-busy').textContent
  && (after === null || Number(root.dataset.seq) > after)
  && (!complete || !root.dataset.pending)"""


def wait_settled(
    page: Any,
    after_seq: int | None = None,
    *,
    complete: bool = False,
    exact: bool = True,
    timeout: int = WAIT,
) -> dict[str, Any]:
    """Waits for an exact view (newer than ``after_seq``) with no request in flight; with
    ``complete``, also for everything that streams in after it (LIME, the hint...); with
    ``exact=False``, for any answer (an export's estimate)."""
    root = page.locator(WIDGET).first
    handle = root.element_handle(timeout=timeout)
    page.wait_for_function(SETTLED_JS, arg=[handle, after_seq, complete, exact], timeout=timeout)
    return panel_state(page)


def target_of(text: str) -> str:
    assert text.startswith("P(") and ") = " in text, f"unexpected prediction text {text!r}"
    return text[2 : text.index(") = ")]


def css_string(text: str) -> str:
    """A CSS string literal of any text (quotes and backslashes escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def slider(page: Any, name: str) -> Any:
    """A feature's slider row, by the feature's name."""
    return page.locator(
        f"{WIDGET} [data-testid=ow-sliders] .ow-slider[data-name={css_string(name)}]"
    )


def edit_slider(page: Any, name: str, value: float) -> dict[str, Any]:
    """Sets a slider as a keyboard or a click would (input, then change); returns the
    exact view that answers it."""
    before = panel_state(page)
    slider(page, name).locator("input[type=range]").fill(str(value))
    return wait_settled(page, before["seq"])
