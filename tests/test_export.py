"""The standalone HTML export and the static picture, checked without a browser."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import grid_point, grid_shap, shown_surrogate, unpack
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.model_selection import train_test_split

from optiml_widgets import explain_widget
from optiml_widgets.export import export_data
from optiml_widgets.format import counted, format_number, percent


@pytest.fixture(scope="module")
def quickstart():
    data = load_breast_cancer(as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.3, random_state=0
    )
    model = GradientBoostingClassifier(random_state=0).fit(X_train, y_train)
    return model, X_test, explain_widget(model, X_test, y_test, class_names=list(data.target_names))


def page_data(page: str) -> dict:
    text = re.search(
        r'<script type="application/json" id="optiml-data">(.*?)</script>', page, re.S
    ).group(1)
    return json.loads(text)


def test_default_export_of_the_quickstart_fits_the_budget(quickstart, tmp_path: Path):
    _, _, w = quickstart
    page = w.to_html(tmp_path / "report.html")
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == page
    assert len(page.encode()) <= 3 * 1024 * 1024
    data = page_data(page)
    assert data["rows"][0] == w.index and len(data["rows"]) == 50
    assert len(data["views"]) == 50
    # No address of any kind for a browser to fetch.
    assert not re.search(r"(src|href)=\"https?:", page)
    assert "https://" not in page.split('id="optiml-esm"')[0]


def test_grids_hold_the_models_own_outputs(quickstart):
    """Every grid point has the model's own output; along the sweeps of each row's most
    important features the exact SHAP values, along the others an estimate that credits the
    change to the moved feature (and still adds up to the model's output)."""
    model, X_test, w = quickstart
    data = export_data(w.session, rows=[3, 8])
    grids = data["grids"]
    names = [f["name"] for f in data["schema"]["features"]]
    predictions = unpack(grids["prediction"])
    shap_values = grid_shap(grids)
    for r, index in enumerate([3, 8]):
        exact = grids["shap_exact_features"][r]
        own = w.session.local_explanation(index, {}, 1)
        assert 0 < len(exact) < len(names)
        # The most important features of the row are the exact ones.
        ranked = sorted(names, key=lambda n: -abs(own.shap[n]))
        assert names.index(ranked[0]) in exact
        for j in (exact[0], next(j for j in range(len(names)) if j not in exact)):
            for k, value in enumerate(grids["values"][j]):
                at = grid_point(grids, r, j, k)
                row = X_test.iloc[[index]].assign(**{names[j]: value})
                assert predictions[at] == pytest.approx(
                    model.predict_proba(row)[0, 1], rel=1e-5, abs=1e-6
                )
                tolerance = 2e-4 * max(1, np.abs(shap_values[at]).max())
                if j in exact:
                    explained = w.session.local_explanation(index, {names[j]: value}, 1)
                    expected = [explained.shap[n] for n in names]
                else:
                    expected = [own.shap[n] for n in names]
                    expected[j] += predictions[at] - own.prediction
                np.testing.assert_allclose(shap_values[at], expected, atol=tolerance)
                assert own.base_value + shap_values[at].sum() == pytest.approx(
                    predictions[at], abs=50 * tolerance
                )


def test_grids_and_drag_curves_keep_an_output_far_from_zero_to_the_digit():
    # In float32 an output near 123456789 moved in steps of 8, past the model's whole range.
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})

    def model(df):
        return 123456789 + 3 * np.tanh(df["a"].to_numpy()) + 0.1 * df["b"].to_numpy()

    w = explain_widget(model, X, task="regression", explainers=("shap",))
    grids = export_data(w.session, rows=[0])["grids"]
    predictions = unpack(grids["prediction"])
    for k, value in enumerate(grids["values"][0]):
        row = X.iloc[[0]].assign(a=value)
        assert predictions[grid_point(grids, 0, 0, k)] == model(row)[0]
    curves = w.session.curves(w._view["seq"])
    sweep = w.session.sweep(w.index, {})
    j = curves["features"][0]
    start, end = sweep.offsets[j], sweep.offsets[j + 1]
    along = np.frombuffer(curves["prediction"], dtype=np.float64)[: end - start]
    assert (along == sweep.outputs[start:end, 0]).all() and np.ptp(along) > 1
    w.close()


def test_wide_data_exports_each_rows_own_grids():
    """With more than 64 features each row sweeps its own most important ones: the file
    kept the last row's layout for every row, so the others' what-ifs read other features'
    outputs (and a row whose grids had another length failed the export)."""
    from sklearn.datasets import make_classification
    from sklearn.ensemble import HistGradientBoostingClassifier

    from optiml_widgets.session import SHOWN_FEATURES

    values, label = make_classification(300, 80, n_informative=30, random_state=0)
    X = pd.DataFrame(values, columns=[f"f{j}" for j in range(80)])
    X["flag"] = (X["f0"] > 0).astype(float)  # a two-point grid: blocks of other lengths
    model = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(X, label)
    w = explain_widget(model, X, explainers=["shap"])
    rows = [0, 1, 2, 3]
    grids = export_data(w.session, rows=rows)["grids"]
    swept = [
        {j for j in range(X.shape[1]) if offsets[j + 1] > offsets[j]}
        for offsets in grids["offsets"]
    ]
    assert all(len(features) == SHOWN_FEATURES for features in swept)
    assert len(set(map(frozenset, swept))) > 1, "the rows sweep different features"
    predictions, shap_values = unpack(grids["prediction"]), grid_shap(grids)
    assert len(predictions) == sum(offsets[-1] for offsets in grids["offsets"])
    for r, index in enumerate(rows):
        own = w.session.local_explanation(index, {}, 1)
        for j in sorted(swept[r])[::7]:
            for k, value in enumerate(grids["values"][j]):
                at = grid_point(grids, r, j, k)
                edited = X.iloc[[index]].assign(**{X.columns[j]: value})
                assert predictions[at] == pytest.approx(
                    model.predict_proba(edited)[0, 1], rel=1e-5, abs=1e-6
                )
                assert own.base_value + shap_values[at].sum() == pytest.approx(
                    predictions[at], abs=1e-3
                )
    w.close()


def test_the_export_shows_the_panels_dependence_feature(quickstart):
    # The file's dependence plot showed the most important feature, whatever the panel's.
    _, X_test, w = quickstart
    shown = w.feature
    w.feature = "mean texture"
    try:
        data = page_data(w.to_html(rows=[0, 1]))
    finally:
        w.feature = shown
    assert data["feature"] == "mean texture"
    j = list(X_test.columns).index("mean texture")
    assert f'"name": "feature", "value": {j}' in json.dumps(data["global"])


def test_rows_are_checked_before_any_work(quickstart):
    _, _, w = quickstart
    assert export_data(w.session, rows=[5, 2])["rows"] == [5, 2]
    with pytest.raises(ValueError, match="out of range"):
        w.to_html(rows=[10_000])
    for bad in ([1.7], [True], ["2"], "12"):
        with pytest.raises(TypeError, match="row numbers"):
            w.to_html(rows=bad)
    with pytest.raises(ValueError, match="at most 500"):
        w.to_html(rows=range(600))


def test_without_data_no_raw_value_of_the_rows_is_in_the_file():
    """Every value of the exported rows (numbers and categories) is absent from the data the
    page carries: no instance, no schema range or categories, no LIME bins, no rule category."""
    rng = np.random.default_rng(3)
    n = 300
    X = pd.DataFrame(
        {
            "dose": np.round(rng.uniform(10, 90, n), 4) + 0.00137,
            "weight": rng.normal(70, 12, n).round(3) + 0.000271,
            "patient": pd.Series([f"patient_{i:03d}" for i in rng.integers(0, 40, n)]),
            "ward": rng.choice(["Ward Lilac", "Ward Cedar", "Ward Birch"], n),
        }
    )

    def model(df):
        z = 0.04 * (df["dose"] - 50) + (df["ward"] == "Ward Cedar") * 1.2
        p = 1 / (1 + np.exp(-z.to_numpy(dtype=float)))
        return np.column_stack([1 - p, p])

    w = explain_widget(model, X, y=(X["dose"] > 50).astype(int))
    rows = [0, 1, 2]
    page = w.to_html(rows=rows, include_data=False)
    data_text = re.search(
        r'<script type="application/json" id="optiml-data">(.*?)</script>', page, re.S
    ).group(1)
    for index in rows:
        for name, value in X.iloc[index].items():
            forms = {str(value), repr(value)}
            if isinstance(value, float):
                forms |= {format_number(value), f"{value:.2f}", f"{value:.4f}"}
            for form in forms:
                assert form not in data_text, f"{name}={form} of row {index} is in the file"
    data = json.loads(data_text)
    assert data["grids"] is None and all(v is None for v in data["views"][0]["values"])
    for feature in data["schema"]["features"]:
        assert feature["categories"] is None and feature["min"] is None
    # The counterfactual is left out, not None: None would say no change reaches another outcome.
    assert all("counterfactual" not in view for view in data["views"])
    assert data["include_data"] is False and data["unedited"] == [None] * len(rows)
    w.close()


def test_without_data_a_linear_terms_fill_is_left_out():
    # The value a missing one counts as is the column's median: with an odd number of
    # rows, some row's own value. It was in the file, and in the term's text.
    rng = np.random.default_rng(5)
    n = 301
    X = pd.DataFrame(
        {"dose": np.round(rng.uniform(10, 90, n), 3), "weight": np.round(rng.normal(70, 12, n), 3)}
    )
    X.loc[rng.choice(n, 30, replace=False), "dose"] = np.nan

    def model(df):
        dose = df["dose"].fillna(50).to_numpy(dtype=float)
        return 0.5 * dose + 0.1 * df["weight"].to_numpy(dtype=float)

    w = explain_widget(model, X, explainers=("shap", "surrogate"))
    surrogate = w.session.set_surrogate_size(4, "tree with linear leaves")
    terms = [t for rule in surrogate.rules for t in rule.terms if t.feature == "dose"]
    assert terms and all(np.isfinite(t.fill) for t in terms)
    fills = {format_number(t.fill) for t in terms} | {repr(t.fill) for t in terms}
    assert any(f"counts as {format_number(t.fill)}" in t.text for t in terms)
    hidden = export_data(w.session, rows=[0, 1], include_data=False)["surrogate"]
    text = json.dumps(hidden)
    assert not any(fill in text for fill in fills)
    shown = [t for rule in hidden["rules"] for t in rule["terms"] if t["feature"] == "dose"]
    assert all("the column's median, not in this file" in t["text"] for t in shown)
    w.close()


def test_without_data_a_hidden_category_keeps_its_test_and_or_missing():
    # "ward == Ward Cedar or missing" and "ward != Ward Cedar" both read "ward: 1 hidden
    # category": opposite rules read alike, and a missing ward's rule was lost.
    rng = np.random.default_rng(4)
    n = 300
    ward = pd.Series(rng.choice(["Ward Lilac", "Ward Cedar", "Ward Birch"], n), dtype=object)
    ward[rng.random(n) < 0.2] = None
    X = pd.DataFrame({"dose": rng.uniform(10, 90, n), "ward": ward})

    def model(df):
        z = 0.04 * (df["dose"] - 50) + (df["ward"].isna() | (df["ward"] == "Ward Cedar")) * 2.5
        p = 1 / (1 + np.exp(-z.to_numpy(dtype=float)))
        return np.column_stack([1 - p, p])

    w = explain_widget(model, X, explainers=("surrogate",))
    shown = export_data(w.session, rows=[0], include_data=True)["surrogate"]["rules"]
    hidden = export_data(w.session, rows=[0], include_data=False)["surrogate"]["rules"]
    names: dict[str, str] = {}  # each category's text -> its hidden name, one per category
    for rule, kept in zip(shown, hidden):
        for c, h in zip(rule["conditions"], kept["conditions"]):
            if c["feature"] != "ward":
                assert h == c
                continue
            assert h["value"] is None and "Ward" not in h["text"]
            assert h["text"].endswith(" or missing") == c["text"].endswith(" or missing")
            category = c["text"].removesuffix(" or missing").split(f" {c['op']} ", 1)[1]
            name = h["text"].removesuffix(" or missing").split(f" {c['op']} ", 1)[1]
            assert names.setdefault(category, name) == name
    assert len(set(names.values())) == len(names)
    assert any(c["text"].endswith(" or missing") for r in hidden for c in r["conditions"])
    w.close()


def _export_with_row_4_edited(w):
    """The export data of rows 4 (its mean area set to 1500) and 5; the widget is left as
    it was."""
    shown = w.index
    w.index = 4
    w.set_features({"mean area": 1500.0})
    try:
        return export_data(w.session, rows=[4, 5])
    finally:
        w.reset()
        w.index = shown


def test_a_row_edited_before_the_export_carries_its_own_view_for_a_reset(quickstart):
    """The export shows an edited row as edited; "Reset" in the file then shows the row as
    it is (its own values, the model's output for them), not the nearest grid point."""
    model, X_test, w = quickstart
    data = _export_with_row_4_edited(w)
    edited, own = data["views"][0], data["unedited"][0]
    assert edited["values"][edited["edited"][0]] == 1500.0
    assert own["edited"] == [] and own["values"] == edited["original"]
    assert (own["index"], own["label"]) == (0, f"row 4 of X · index {X_test.index[4]}")
    assert own["prediction"] == pytest.approx(model.predict_proba(X_test.iloc[[4]])[0, 1])
    assert data["unedited"][1] is None  # a row with no edits: its view is its own
    assert data["one_undone"] == [[], []]  # one edit: undoing it is the row's own view


def test_a_row_exported_with_two_edits_carries_each_one_undone(quickstart):
    """Resetting one feature of two edited showed the nearest grid point of the edited
    row, not the row's own value, and stayed marked edited."""
    model, X_test, w = quickstart
    shown = w.index
    w.index = 4
    w.set_features({"mean area": 1500.0, "mean texture": 30.0})
    try:
        data = export_data(w.session, rows=[4, 5])
    finally:
        w.reset()
        w.index = shown
    names = list(X_test.columns)
    undone = dict(data["one_undone"][0])
    assert sorted(undone) == sorted([names.index("mean area"), names.index("mean texture")])
    view = undone[names.index("mean area")]
    assert view["edited"] == [names.index("mean texture")] and view["index"] == 0
    row = X_test.iloc[[4]].assign(**{"mean texture": 30.0})
    assert view["prediction"] == pytest.approx(model.predict_proba(row)[0, 1])
    assert data["one_undone"][1] == []


def test_categories_that_write_the_same_stay_apart_in_the_panel_and_the_export():
    """An object column's 1 and "1" are two categories: both went to the page as "1", so
    the panel's select and the export's what-ifs took one for the other (the int 1 gave the
    str "1"'s output, labelled exact) and a row's int 1 became "1" at its next request."""
    rng = np.random.default_rng(0)
    k = np.array([1, "1", "x"], dtype=object)[rng.integers(0, 3, 90)]
    X = pd.DataFrame({"k": k, "v": rng.normal(size=90)})

    def model(df):
        own = {int: 10.0, str: 20.0}
        return np.array([0.0 if a == "x" else own[type(a)] for a in df["k"]]) + df["v"].to_numpy()

    w = explain_widget(model, X, task="regression", explainers=("shap",))
    labels = w._schema["features"][0]["categories"]
    feature = w.session.schema["k"]
    assert sorted(labels) == ["1 (int)", "1 (str)", "x"]
    for i in range(6):  # a row's value is its own category's label
        w.index = i
        assert w._view["values"][0] == labels[feature.code_of(X["k"][i])]
    row = next(i for i in range(len(X)) if X["k"][i] == "x")
    w.index = row
    seq = 100
    for label, category in (("1 (int)", 1), ("1 (str)", "1")):
        # As the panel asks: the category by its label, then another feature moved too
        # (the first edit comes back as the view wrote it, and must stay that category).
        for edits in ([[0, label]], [[0, label], [1, 0.5]]):
            seq += 1
            message = {"type": "request", "seq": seq, "index": row, "target": str(w.target)}
            w._handle_custom_msg({**message, "edits": edits, "fast": False}, [])
            assert w._wait_idle() and w.error is None
            assert type(w.instance["k"]) is type(category) and w.instance["k"] == category
            wanted = X.iloc[[row]].assign(k=[category], v=w.instance["v"])
            assert w._view["prediction"] == pytest.approx(model(wanted)[0])
            assert w._view["values"][0] == label
            if w.session.surrogate is not None:  # its conditions name categories by label
                for rule in shown_surrogate(w)["rules"]:
                    for c in rule["conditions"]:
                        if c["j"] == 0:
                            assert set(np.atleast_1d(c["value"])) <= set(labels)
    w.reset()
    grids = export_data(w.session, rows=[row])["grids"]
    predictions = unpack(grids["prediction"])
    assert sorted(grids["values"][0]) == sorted(labels)
    for at, label in enumerate(grids["values"][0]):
        category = feature.categories[labels.index(label)]
        expected = model(X.iloc[[row]].assign(k=[category]))[0]
        assert predictions[grid_point(grids, 0, 0, at)] == pytest.approx(expected)
    w.close()


def test_names_and_values_are_data_not_markup():
    evil_feature = '<img src=x onerror="window.__pwned=1">'
    evil_class = "</script><script>window.__pwned=1</script>"
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {evil_feature: rng.normal(size=120), "kind": rng.choice(['a "quoted" <b>', "plain"], 120)}
    )

    def model(df):
        p = 1 / (1 + np.exp(-df[evil_feature].to_numpy()))
        return np.column_stack([1 - p, p])

    w = explain_widget(model, X, class_names=["ok", evil_class])
    page = w.to_html(rows=[0, 1])
    assert evil_class not in page and evil_feature not in page
    assert page.count("</script>") == 4  # only the page's own four scripts close
    data = page_data(page)
    assert data["schema"]["classes"][1] == evil_class
    assert data["schema"]["features"][0]["name"] == evil_feature
    picture = w._repr_mimebundle_()[0]["text/html"]
    assert "<img" not in picture and "<script" not in picture
    assert "&lt;img src=x" in picture


def test_rows_are_named_by_xs_own_labels_as_data_not_markup():
    # A reader of the file could not tell which record "row 3 of X" was.
    rng = np.random.default_rng(0)
    evil = "<b>id3</b></script><script>window.__pwned=1</script>"
    labels = [f"id{i}" for i in range(40)]
    labels[3] = evil
    X = pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40)}, index=labels)
    model = lambda df: df["a"].to_numpy() * 2 + df["b"].to_numpy()  # noqa: E731
    w = explain_widget(model, X, explainers=("shap",))
    w.index = 5
    assert w._view["label"] == "row 5 of X · index id5"  # the live panel's header line
    w.index = 3
    page = w.to_html(rows=[3, 5])
    assert evil not in page and "<b>id3" not in page
    assert page.count("</script>") == 4  # only the page's own four scripts close
    views = page_data(page)["views"]
    assert [v["label"] for v in views] == [
        f"row 3 of X · index {evil[:39]}…",
        "row 5 of X · index id5",
    ]
    picture = w._repr_mimebundle_()[0]["text/html"]
    assert "<b>id3" not in picture and "&lt;b&gt;id3" in picture
    # Without the data, a label (a customer's id) is left out as the values are.
    hidden = w.to_html(rows=[3, 5], include_data=False)
    data = page_data(hidden)
    assert not any(label in json.dumps(data) for label in labels)
    assert [v["label"] for v in data["views"]] == ["row 3 of X", "row 5 of X"]
    w.close()


@pytest.mark.parametrize(
    ("index", "label"),
    [
        (pd.date_range("2024-01-01", periods=30, freq="D"), "row 2 of X · index 2024-01-03"),
        (pd.Index(range(100, 130)), "row 2 of X · index 102"),
        (
            pd.MultiIndex.from_product([["north", "south"], range(15)]),
            "row 2 of X · index north, 2",
        ),
        (pd.RangeIndex(30), None),  # the labels are the positions: nothing to add
        (pd.Index(list(range(30))), None),
    ],
)
def test_a_rows_own_label_is_short(index, label):
    X = pd.DataFrame({"a": np.linspace(0, 1, 30), "b": np.linspace(1, 0, 30)}, index=index)
    w = explain_widget(lambda df: df["a"].to_numpy(), X, explainers=("shap",))
    w.index = 2
    assert w._view.get("label") == label
    w.close()


def test_static_picture_is_small_and_script_free(quickstart):
    _, _, w = quickstart
    w.surrogate  # noqa: B018 -- the picture shows the rules once they are fit
    data, _ = w._repr_mimebundle_()
    picture = data["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert len(picture.encode()) <= 100 * 1024
    assert "<script" not in picture and "<svg" in picture
    text = html.unescape(picture)  # a rule's "rule's average row" is escaped too
    # Values read as the panel writes them (breast_cancer's are floats of many digits).
    shown = re.findall(r"= (-?[\d.e+-]+)</text>", text)
    assert shown and all(len(v.replace("-", "").replace(".", "")) <= 5 for v in shown), shown
    assert w.surrogate.rules[0].text(alone=False) in text
    assert all(line in text for line in w.surrogate.common_lines())
    # Coverage as the panel writes it (a share of a few rows is not "0%").
    for rule in w.surrogate.rules[:12]:
        assert f"<td>{percent(rule.coverage)}</td>" in text


def test_static_picture_says_when_it_leaves_rules_out(quickstart):
    # It shows the first 12 rules: a larger surrogate's table ended there without a word,
    # as if it had no more rules (and the current row's rule could be one left out).
    from optiml_widgets.export import static_picture

    _, _, w = quickstart
    w.surrogate_size = max(w.surrogate.sizes)
    try:
        rules = w.surrogate.rules
        assert len(rules) > 12
        text = html.unescape(static_picture(w.session))
        assert f"and {counted(len(rules) - 12, 'more rule')}" in text
        assert all(rule.text(alone=False) in text for rule in rules[:12])
    finally:
        w.surrogate_size = None


def test_nbconvert_shows_the_static_picture(tmp_path: Path):
    import nbformat
    from nbclient import NotebookClient

    # Executed and saved as JupyterLab does by default: outputs, no widget state.
    notebook = nbformat.read(
        Path(__file__).parent.parent / "examples" / "regression.ipynb", as_version=4
    )
    NotebookClient(notebook, timeout=600, kernel_name="python3", store_widget_state=False).execute()
    executed = tmp_path / "regression.ipynb"
    nbformat.write(notebook, executed)
    subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", str(executed)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    page = (tmp_path / "regression.html").read_text(encoding="utf-8")
    assert "optiml-static" in page and 'aria-label="SHAP values"' in page
    # The rules stream in after the panel is shown: the picture has them or says so.
    assert "held-out fidelity" in page or "still being fit" in page


def test_an_export_keeps_the_panel_as_it_was_when_it_started():
    """The export runs beside the live panel: a class picked meanwhile must not mix into it
    (the page's header, rows and global views explained different classes)."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier

    from optiml_widgets.export import export_data

    data = load_iris(as_frame=True)
    model = RandomForestClassifier(20, random_state=0).fit(data.data, data.target)
    w = explain_widget(model, data.data, class_names=list(data.target_names))
    w.set_features({"petal length (cm)": 5.0})
    frozen = w.session.snapshot()
    w.target = "virginica"  # the live panel moves on
    w.reset()
    found = export_data(frozen, rows=[0, 1], include_data=False)
    assert found["schema"]["targets"] == ["setosa"]
    assert {view["target"] for view in found["views"]} == {"setosa"}
    assert found["views"][0]["edited"]  # the edit as it was
    assert w.session.target == "virginica" and not w.session.edits_by_row.get(0)
    w.close()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes are Python 3.11+")
def test_a_model_error_during_the_export_says_which_row_it_was_exporting(quickstart, monkeypatch):
    # A model that refused a value along a slider failed the whole file with its own words.
    _, _, w = quickstart

    def refused(index, edits):
        raise ValueError("picky: too large")

    monkeypatch.setattr(w.session, "sweep", refused)
    with pytest.raises(ValueError, match="picky") as error:
        export_data(w.session, rows=[3])
    assert any("exporting row 3" in note for note in error.value.__notes__)


def test_each_counterfactual_the_file_shows_has_its_exact_view_for_try_it(quickstart):
    """'Try it' in the file landed on the nearest grid point of the hint's change, where
    the model could contradict the hint: the file holds the changed row's own view."""
    model, X_test, w = quickstart
    data = _export_with_row_4_edited(w)
    names = list(X_test.columns)
    for position, index in enumerate([4, 5]):
        stored = [data["views"][position], data["unedited"][position]]
        stored = [v for v in stored if v is not None and v.get("counterfactual")]
        assert stored
        reached = data["counterfactual_views"][position]
        for view in stored:
            hint = view["counterfactual"]
            values = list(view["values"])
            for j, value in hint["changes"]:
                values[j] = value
            exact = next(v for v in reached if v["values"] == values)
            row = X_test.iloc[[index]].assign(**dict(zip(names, values)))
            assert exact["prediction"] == pytest.approx(model.predict_proba(row)[0, 1])
            assert exact["prediction"] == pytest.approx(hint["prediction"])
            assert (exact["index"], exact["pending"]) == (position, [])
            assert "counterfactual" not in exact  # no hint from there: the panel says so


def test_a_row_exported_with_edits_has_grids_of_the_row_as_it_is_too(quickstart):
    """After "Reset all" in the file, one slider moved was an estimate of several changes
    composed from the edited row's grids (42 % off): the row as it is has grids too."""
    model, X_test, w = quickstart
    data = _export_with_row_4_edited(w)
    grids = data["grids"]
    assert grids["unedited_block"] == [2, None]
    assert len(grids["offsets"]) == len(grids["shap_exact_features"]) == 3
    names = [f["name"] for f in data["schema"]["features"]]
    predictions = unpack(grids["prediction"])
    assert len(predictions) == sum(offsets[-1] for offsets in grids["offsets"])
    j = names.index("mean texture")
    for block, edits in ((0, {"mean area": 1500.0}), (2, {})):
        for k, value in enumerate(grids["values"][j]):
            row = X_test.iloc[[4]].assign(**edits, **{"mean texture": value})
            assert predictions[grid_point(grids, block, j, k)] == pytest.approx(
                model.predict_proba(row)[0, 1], rel=1e-5, abs=1e-6
            )
