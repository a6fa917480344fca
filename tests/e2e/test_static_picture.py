"""The static picture (what GitHub and nbconvert show where widgets cannot run), drawn by
Chromium: no label lies under a bar, for long names and for negative and positive values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optiml_widgets import explain_widget

from .conftest import new_page

pytestmark = pytest.mark.e2e


def test_labels_never_overlap_the_bars(browser, tmp_path, artifacts):
    rng = np.random.default_rng(0)
    names = [
        "worst concave points of the tumour, measured",
        "a",
        "mean radius",
        "<b>markup stays text</b>",
        "x" * 80,
        "negative effect",
    ]
    X = pd.DataFrame(rng.normal(size=(200, len(names))), columns=names)

    def model(df):
        z = df.to_numpy() @ np.array([2.0, -1.5, 1.0, -0.7, 0.4, -2.2])
        return 100 * z

    w = explain_widget(model, X, explainers=("shap",))
    picture = w._repr_mimebundle_()[0]["text/html"]
    w.close()
    path = tmp_path / "picture.html"
    path.write_text(f"<!doctype html><meta charset=utf-8><body>{picture}</body>", encoding="utf-8")
    context, page = new_page(browser)
    page.goto(path.as_uri())
    boxes = page.evaluate(
        """() => {
        const box = (el) => { const r = el.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
        const svg = document.querySelector('svg[aria-label="SHAP values"]');
        return { texts: [...svg.querySelectorAll('text')].map(box), bars: [...svg.querySelectorAll('rect')].map(box) };
      }"""
    )
    page.screenshot(path=str(artifacts / "static-picture.png"), full_page=True)
    context.close()
    assert len(boxes["bars"]) == len(names)

    def overlap(a, b):
        return a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5

    for text in boxes["texts"]:
        for bar in boxes["bars"]:
            assert not overlap(text, bar), (text, bar)
    assert "<b>markup" not in picture and "&lt;b&gt;markup" in picture
