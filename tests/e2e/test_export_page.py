"""The exported HTML file in headless Chromium with the network blocked: it must not ask for
anything, and its sliders must still show the model's own numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split

from optiml_widgets import explain_widget

from .conftest import new_page

WIDGET = ".optiml-widget"


@pytest.fixture(scope="module")
def quickstart_export(tmp_path_factory: pytest.TempPathFactory):
    data = load_breast_cancer(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.3, random_state=0
    )
    model = GradientBoostingClassifier(random_state=0).fit(X_train, y_train)
    w = explain_widget(model, X_test, y_test, class_names=list(data.target_names))
    path = tmp_path_factory.mktemp("export") / "report.html"
    w.to_html(path)
    return model, X_test, path


def open_offline(browser, path: Path):
    """The file in a page where every request other than file:, data: and blob: is blocked and counted."""
    context, page = new_page(browser)
    page.blocked = []

    def route(route):
        url = route.request.url
        if url.startswith(("file:", "data:", "blob:")):
            return route.continue_()
        page.blocked.append(url)
        return route.abort()

    context.route("**/*", route)
    page.on(
        "request",
        lambda r: (
            None if r.url.startswith(("file:", "data:", "blob:")) else page.blocked.append(r.url)
        ),
    )
    page.goto(path.as_uri())
    page.locator(f"{WIDGET} [data-testid=ow-forceplot] svg").wait_for(timeout=30_000)
    return context, page


def shown(page) -> tuple[float, dict[str, float]]:
    values = page.eval_on_selector_all(
        f"{WIDGET} .ow-slider",
        "rows => rows.map(r => [r.dataset.feature, r.querySelector('input[type=number]').value])",
    )
    prediction = float(page.get_attribute(f"{WIDGET} [data-testid=ow-prediction]", "data-value"))
    return prediction, {name: float(v) for name, v in values}


def move(page, feature: str, value: str) -> None:
    before = page.get_attribute(WIDGET, "data-seq")
    page.locator(f'{WIDGET} .ow-slider[data-feature="{feature}"] input[type=range]').fill(value)
    page.wait_for_function(
        "(before) => document.querySelector('.optiml-widget').dataset.seq !== before && !document.querySelector('.optiml-widget .ow-busy').textContent",
        arg=before,
    )


def test_the_export_works_offline_and_sliders_show_the_models_output(
    browser, quickstart_export, artifacts: Path
):
    model, X_test, path = quickstart_export
    context, page = open_offline(browser, path)
    try:
        for part in ("ow-forceplot", "ow-lime", "ow-rules", "ow-sliders"):
            assert page.locator(f"{WIDGET} [data-testid={part}]").is_visible()
        page.screenshot(path=str(artifacts / "export.png"), full_page=True)

        # One feature: the precomputed, exact output of the model for the value shown.
        move(page, "worst area", "1500")
        prediction, instance = shown(page)
        row = pd.DataFrame([instance])[X_test.columns]
        assert prediction == pytest.approx(model.predict_proba(row)[0, 1], rel=1e-5, abs=1e-6)
        assert page.inner_text(f"{WIDGET} [data-testid=ow-quality]") == "exact"
        assert "estimate" not in page.inner_text(f"{WIDGET} [data-testid=ow-notice]").lower()

        # Two features: an estimate, and the panel says so.
        move(page, "worst concave points", "0.05")
        assert page.inner_text(f"{WIDGET} [data-testid=ow-quality]") == "estimate"
        assert "Estimate, not the model's output" in page.inner_text(
            f"{WIDGET} [data-testid=ow-notice]"
        )
        page.screenshot(path=str(artifacts / "export-estimate.png"), full_page=True)

        # Another row, and hover linking, as in the notebook.
        page.click(f'{WIDGET} [aria-label="Next row"]')
        page.wait_for_function(
            "() => document.querySelector('.optiml-widget [data-testid=ow-row-input]').value === '1'"
        )
        prediction, instance = shown(page)
        assert prediction == pytest.approx(model.predict_proba(X_test.iloc[[1]])[0, 1], rel=1e-9)
        first = page.locator(f"{WIDGET} [data-testid=ow-forceplot] g.ow-seg[data-feature]").first
        feature = first.get_attribute("data-feature")
        first.hover()
        assert (
            page.locator(
                f'{WIDGET} [data-testid=ow-sliders] .ow-linked[data-feature="{feature}"]'
            ).count()
            == 1
        )

        assert page.blocked == []
        assert page.errors == [], json.dumps(page.errors, indent=1)
    finally:
        context.close()


def test_the_exports_global_views_work_offline_and_link(browser, quickstart_export):
    model, X_test, path = quickstart_export
    context, page = open_offline(browser, path)
    try:
        for name in ("importance", "beeswarm", "dependence", "fidelity"):
            box = page.locator(f'{WIDGET} .ow-chart[data-chart="{name}"]')
            expect(box).to_have_attribute("data-ready", "true", timeout=30_000)
        status = page.locator(f"{WIDGET} .ow-global-status")
        expect(status).to_contain_text(f"all {len(X_test)} rows")
        # Exported rows are the first 50 of X (the current row first): click one of them.
        page.locator(f'{WIDGET} .ow-chart[data-chart="beeswarm"]').scroll_into_view_if_needed()
        found = page.evaluate(
            """() => {
              const box = document.querySelector('.optiml-widget .ow-chart[data-chart="beeswarm"]');
              for (const el of box.querySelectorAll('[aria-label^="row "]')) {
                const row = Number(el.getAttribute('aria-label').match(/^row (\\d+) /)[1]);
                const r = el.getBoundingClientRect();
                const [x, y] = [r.x + r.width / 2, r.y + r.height / 2];
                if (row > 0 && row < 50 && document.elementFromPoint(x, y) === el) return [row, x, y];
              }
              return null;
            }"""
        )
        assert found, "no uncovered point of an exported row"
        row, x, y = found
        force_before = page.inner_text(f"{WIDGET} [data-testid=ow-forceplot]")
        page.mouse.click(x, y)
        expect(page.locator(f"{WIDGET} [data-testid=ow-row-input]")).to_have_value(str(row))
        prediction, _ = shown(page)
        assert prediction == pytest.approx(model.predict_proba(X_test.iloc[[row]])[0, 1], abs=1e-6)
        assert page.inner_text(f"{WIDGET} [data-testid=ow-forceplot]") != force_before
        # A bar: the dependence plot shows that feature.
        bar = page.locator(
            f'{WIDGET} .ow-chart[data-chart="importance"] [aria-roledescription="bar"]'
        ).nth(3)
        feature = bar.get_attribute("aria-label").split(": mean |SHAP| ")[0]
        bar.click()
        title = page.locator(
            f'{WIDGET} .ow-chart[data-chart="dependence"] text', has_text="Dependence:"
        )
        expect(title).to_have_text(f"Dependence: {feature}")
        assert page.blocked == []
        assert page.errors == [], json.dumps(page.errors, indent=1)
    finally:
        context.close()


def test_hostile_names_stay_text_in_the_export(browser, tmp_path: Path):
    evil_feature = '<img src=x onerror="window.__pwned=1">'
    evil_class = "</script><script>window.__pwned=1</script>"
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {evil_feature: rng.normal(size=120), "kind": rng.choice(['a "quoted" <b>', "plain"], 120)}
    )

    def model(df):
        p = 1 / (1 + np.exp(-df[evil_feature].to_numpy() - (df["kind"] == "plain").to_numpy()))
        return np.column_stack([1 - p, p])

    path = tmp_path / "hostile.html"
    explain_widget(model, X, class_names=["ok", evil_class]).to_html(path, rows=[0, 1, 2])
    context, page = open_offline(browser, path)
    try:
        assert page.evaluate("() => window.__pwned") is None
        text = page.inner_text(WIDGET)
        assert evil_feature in text
        assert 'a "quoted" <b>' in text or "plain" in text
        assert page.locator(f"{WIDGET} img").count() == 0
        # The charts draw the names as text too (SVG <text>, aria-labels), never as markup.
        charts = page.locator(f"{WIDGET} .ow-chart[data-ready=true]")
        expect(charts).to_have_count(4, timeout=30_000)
        labels = page.locator(f'{WIDGET} .ow-chart[data-chart="importance"] svg text')
        # (a long axis label is cut with an ellipsis)
        assert any(t.startswith("<img src=x onerror=") for t in labels.all_text_contents())
        assert page.locator(f"{WIDGET} .ow-global img").count() == 0
        assert page.evaluate("() => window.__pwned") is None
        assert page.blocked == []
        assert page.errors == [], json.dumps(page.errors, indent=1)
    finally:
        context.close()
