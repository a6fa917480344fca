"""The exported HTML file in headless Chromium with the network blocked: it must not ask for
anything, and its sliders must still show the model's own numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect
from sklearn.datasets import load_wine
from sklearn.ensemble import RandomForestClassifier

from optiml_widgets import explain_widget

from .conftest import new_page
from .panel import WIDGET, Quickstart, css_string, panel_state, slider, wait_settled


@pytest.fixture(scope="module")
def quickstart_export(tmp_path_factory: pytest.TempPathFactory):
    model = Quickstart()
    w = explain_widget(model.model, model.X_test, None, class_names=model.classes)
    path = tmp_path_factory.mktemp("export") / "report.html"
    w.to_html(path)
    w.close()
    return model, path


def open_offline(browser, path: Path):
    """The file in a page where every request other than file:, data: and blob: is blocked
    and counted."""
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
    page.locator(f"{WIDGET} [data-testid=ow-forcebar] svg").wait_for(timeout=30_000)
    return context, page


def instance(model: Quickstart, state: dict) -> pd.DataFrame:
    """The row the panel shows: its row of X_test with the sliders' edits."""
    row = model.row(int(state["row"]))
    for name in state["edited"]:
        row[name] = float(state["values"][name])
    return row


def move(page, feature: str, value: str) -> dict:
    before = panel_state(page)
    slider(page, feature).locator("input[type=range]").fill(value)
    return wait_settled(page, before["seq"], exact=False)


def test_the_export_works_offline_and_sliders_show_the_models_output(
    browser, quickstart_export, artifacts: Path
):
    model, path = quickstart_export
    context, page = open_offline(browser, path)
    try:
        for part in ("ow-forcebar", "ow-explainer", "ow-rules", "ow-sliders"):
            expect(page.locator(f"{WIDGET} [data-testid={part}]").first).to_be_visible()
        page.set_viewport_size({"width": 1000, "height": 1000})
        page.screenshot(path=str(artifacts / "export.png"), full_page=True)

        # One feature: the precomputed, exact output of the model for the value shown.
        state = move(page, "worst area", "1500")
        assert state["edited"] == ["worst area"]
        expected = model.model.predict_proba(instance(model, state))[0, 1]
        assert state["value"] == pytest.approx(expected, rel=1e-5, abs=1e-6)
        assert page.inner_text(f"{WIDGET} [data-testid=ow-quality]") == "exact"
        notice = page.inner_text(f"{WIDGET} [data-testid=ow-notice]")
        assert (
            "estimate" not in notice.lower() and "LIME is shown for the rows as they are" in notice
        )
        expect(page.locator(f"{WIDGET} [data-explainer=lime]")).to_contain_text(
            "LIME is not available for this view."
        )

        # Two features: an estimate, and the panel says so.
        move(page, "worst concave points", "0.05")
        assert page.inner_text(f"{WIDGET} [data-testid=ow-quality]") == "estimate"
        assert "Estimate, not the model's output" in page.inner_text(
            f"{WIDGET} [data-testid=ow-notice]"
        )
        page.screenshot(path=str(artifacts / "export-estimate.png"), full_page=True)

        # Another row, and hover linking, as in the notebook.
        page.click(f'{WIDGET} [aria-label="Next row"]')
        expect(page.locator(f"{WIDGET} [data-testid=ow-row-input]")).to_have_value("1")
        state = panel_state(page)
        expected = model.model.predict_proba(model.X_test.iloc[[1]])[0, 1]
        assert state["value"] == pytest.approx(expected, rel=1e-9)
        first = page.locator(f"{WIDGET} [data-testid=ow-forcebar] g.ow-seg[data-j]").first
        j = first.get_attribute("data-j")
        first.hover()
        expect(
            page.locator(f'{WIDGET} [data-testid=ow-sliders] .ow-linked[data-j="{j}"]')
        ).to_have_count(1)

        assert page.blocked == []
        assert page.errors == [], json.dumps(page.errors, indent=1)
    finally:
        context.close()


FIRING_RULE_JS = """() => {
  const card = document.querySelector('.optiml-widget [data-testid=ow-rules]');
  const row = card.querySelector('tr.ow-rule-active');
  if (!row) return null;
  const box = card.getBoundingClientRect();
  const rule = row.getBoundingClientRect();
  const top = box.top + card.clientTop;
  return {
    // Below the card's first screenful: it shows only if the card was scrolled to it.
    farDown: rule.bottom - top + card.scrollTop > card.clientHeight,
    shown: rule.top >= top && rule.bottom <= top + card.clientHeight,
    pageScrolled: window.scrollY,
  };
}"""


@pytest.fixture(scope="module")
def wine_export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three classes: a surrogate of about ten rules, more than the rules card shows at once."""
    data = load_wine(as_frame=True)
    model = RandomForestClassifier(n_estimators=50, random_state=0).fit(data.data, data.target)
    w = explain_widget(model, data.data, data.target, class_names=list(data.target_names))
    path = tmp_path_factory.mktemp("wine") / "wine.html"
    w.to_html(path, rows=list(range(WINE_ROWS)))
    w.close()
    return path


WINE_ROWS = 20


def test_the_rule_that_fires_is_scrolled_into_the_rules_card(browser, wine_export):
    context, page = open_offline(browser, wine_export)
    try:
        page.set_viewport_size({"width": 1200, "height": 800})
        firing = page.evaluate(FIRING_RULE_JS)
        for _ in range(1, WINE_ROWS):
            if firing and firing["farDown"]:
                break
            before = panel_state(page)
            page.click(f'{WIDGET} [aria-label="Next row"]')
            wait_settled(page, before["seq"], exact=False)
            firing = page.evaluate(FIRING_RULE_JS)
        assert firing and firing["farDown"], "no exported row fires a rule far down"
        assert firing["shown"], firing
        assert firing["pageScrolled"] == 0  # the card scrolled, not the page
        assert page.errors == [], json.dumps(page.errors, indent=1)
    finally:
        context.close()


def test_the_exports_global_views_work_offline_and_link(browser, quickstart_export):
    model, path = quickstart_export
    context, page = open_offline(browser, path)
    try:
        for name in ("importance", "beeswarm", "dependence", "fidelity"):
            box = page.locator(f'{WIDGET} .ow-chart[data-chart="{name}"]')
            expect(box).to_have_attribute("data-ready", "true", timeout=30_000)
        status = page.locator(f"{WIDGET} .ow-global-status")
        expect(status).to_contain_text(f"all {len(model.X_test)} rows")
        # Exported rows are the first 50 of X (the current row first): click one of them.
        page.locator(f'{WIDGET} .ow-chart[data-chart="beeswarm"]').scroll_into_view_if_needed()
        found = page.evaluate(
            """() => {
              const box = document.querySelector('.optiml-widget .ow-chart[data-chart="beeswarm"]');
              for (const el of box.querySelectorAll('[aria-label^="row "]')) {
                const row = Number(el.getAttribute('aria-label').match(/^row (\\d+) /)[1]);
                const r = el.getBoundingClientRect();
                const [x, y] = [r.x + r.width / 2, r.y + r.height / 2];
                if (row > 0 && row < 50 && r.top > 200 && document.elementFromPoint(x, y) === el) return [row, x, y];
              }
              return null;
            }"""
        )
        assert found, "no uncovered point of an exported row"
        row, x, y = found
        force_before = page.inner_text(f"{WIDGET} [data-explainer=shap]")
        page.mouse.click(x, y)
        expect(page.locator(f"{WIDGET} [data-testid=ow-row-input]")).to_have_value(str(row))
        expected = model.model.predict_proba(model.X_test.iloc[[row]])[0, 1]
        assert panel_state(page)["value"] == pytest.approx(expected, abs=1e-6)
        assert page.inner_text(f"{WIDGET} [data-explainer=shap]") != force_before
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
        # A name this long shows cut in the slider's label, whole in its tooltip: text both.
        names = page.locator(f"{WIDGET} .ow-slider label").evaluate_all(
            "(labels) => labels.map((l) => [l.title, l.textContent])"
        )
        assert [evil_feature, '<img src=x onerro…_pwned=1">'] in names
        assert 'a "quoted" <b>' in text or "plain" in text
        assert page.locator(f"{WIDGET} img").count() == 0
        # The charts draw the names as text too (SVG <text>, aria-labels), never as markup.
        charts = page.locator(f"{WIDGET} .ow-chart[data-ready=true]")
        expect(charts).to_have_count(4, timeout=30_000)
        labels = page.locator(f'{WIDGET} .ow-chart[data-chart="importance"] svg text')
        # (a long name is cut in the middle: its start and its end show)
        assert any(
            t.startswith("<img src=x on") and t.endswith('__pwned=1">')
            for t in labels.all_text_contents()
        )
        assert page.locator(f"{WIDGET} .ow-global img").count() == 0
        assert page.evaluate("() => window.__pwned") is None
        assert page.blocked == []
        assert page.errors == [], json.dumps(page.errors, indent=1)
    finally:
        context.close()


NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty"]
CATEGORIES = ["valueOf", "__proto__", "prototype"]


def proto_model(df: pd.DataFrame) -> np.ndarray:
    z = 2 * df["constructor"].to_numpy() - df["__proto__"].to_numpy()
    z = z + (df["hasOwnProperty"] == "__proto__").to_numpy() * 1.5
    p = 1 / (1 + np.exp(-z))
    return np.column_stack([1 - p, p])


@pytest.fixture(scope="module")
def proto_export(tmp_path_factory: pytest.TempPathFactory):
    """Names that are also properties of every JavaScript object, and categories like them."""
    rng = np.random.default_rng(1)
    X = pd.DataFrame({name: rng.normal(size=150) for name in NAMES[:3]})
    X["hasOwnProperty"] = rng.choice(CATEGORIES, 150)
    w = explain_widget(proto_model, X, class_names=["no", "yes"])
    path = tmp_path_factory.mktemp("proto") / "proto.html"
    w.to_html(path, rows=[0, 1])
    w.close()
    return X, path


def test_names_like_constructor_and_proto_work_in_the_export(browser, proto_export, artifacts):
    """The panel renders, shows the names as text, and edits go to the right feature."""
    X, path = proto_export
    context, page = open_offline(browser, path)
    try:
        panel = page.locator(WIDGET)
        for name in NAMES:
            expect(panel.locator(f".ow-slider[data-name={css_string(name)}] label")).to_have_text(
                name
            )
        select = panel.locator('.ow-slider[data-name="hasOwnProperty"] select')
        assert sorted(select.locator("option").all_text_contents()) == sorted(CATEGORIES)
        # A numeric edit: the model's own output for the changed row.
        before = panel_state(page)
        target = slider(page, "__proto__").locator("input[type=range]")
        target.fill(target.get_attribute("max"))
        state = wait_settled(page, before["seq"])
        assert state["edited"] == ["__proto__"]
        row = X.iloc[[0]].copy()
        row["__proto__"] = float(state["values"]["__proto__"])
        assert state["value"] == pytest.approx(proto_model(row)[0, 1], rel=1e-5, abs=1e-6)
        # A category edit goes to that feature, with that category.
        panel.get_by_role("button", name="Reset all").click()
        state = wait_settled(page, state["seq"])
        # The options' values are the categories' places; their texts, the categories.
        shown = select.evaluate("(s) => s.selectedOptions[0].text")
        choice = next(c for c in CATEGORIES if c != shown)
        select.select_option(choice)
        state = wait_settled(page, state["seq"])
        assert state["edited"] == ["hasOwnProperty"]
        row = X.iloc[[0]].copy()
        row["hasOwnProperty"] = choice
        assert state["value"] == pytest.approx(proto_model(row)[0, 1], rel=1e-5, abs=1e-6)
        page.screenshot(path=str(artifacts / "export-proto-names.png"), full_page=True)
        assert page.blocked == []
        assert page.errors == [], json.dumps(page.errors, indent=1)
    finally:
        context.close()


def test_the_exports_charts_draw_features_named_like_object_properties(browser, proto_export):
    _, path = proto_export
    context, page = open_offline(browser, path)
    try:
        charts = page.locator(f"{WIDGET} .ow-chart")
        expect(charts).to_have_count(4, timeout=30_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.optiml-widget .ow-chart')]"
            ".every((c) => c.dataset.ready || c.dataset.error)",
            timeout=30_000,
        )
        failed = [
            charts.nth(i).inner_text()
            for i in range(charts.count())
            if charts.nth(i).get_attribute("data-error")
        ]
        assert failed == []
        assert page.errors == [], json.dumps(page.errors, indent=1)
    finally:
        context.close()
