"""`explain_widget(model, X_sample, global_data=big)`: the live panel on the sample, the
global views over every row of `big`, checked at the call and shown with their progress."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import GradientBoostingClassifier

from optiml_widgets import explain_widget


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(12_000, 6, n_informative=4, random_state=1)
    X = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    model = GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0).fit(X, y)
    return model, X


def test_the_global_views_cover_every_row_of_global_data(data):
    model, X = data
    sample, big = X.head(300), X.iloc[300:]
    w = explain_widget(model, sample, global_data=big, explainers=("shap", "surrogate"))
    assert w.session.n_rows == 300  # the panel's rows
    explanation = w.global_explanation
    assert explanation.summary is not None and not explanation.rows_are_X
    assert explanation.summary.n_rows == len(big)
    importance = explanation.importance(1)
    # Mean |SHAP| over every row of big, as the panel's explainer gives it row by row.
    direct = w.session.shap_explainer.values(w.session.schema.encode(big)).values[:, :, 1]
    expected = pd.Series(np.abs(direct).mean(axis=0), index=sample.columns)
    np.testing.assert_allclose(
        importance[expected.index].to_numpy(), expected.to_numpy(), rtol=1e-9
    )
    # The surrogate's fidelity over every row is reported beside its held-out one.
    assert explanation.summary.fidelity is not None
    # The panel: progress while it runs, then the charts and what they cover.
    w._handle_custom_msg({"type": "global"}, [])
    deadline = time.monotonic() + 120
    while (w._global or {}).get("state") != "ready" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert w._global["state"] == "ready"
    assert f"{len(big):,}" in w._global["message"]
    # A row of the panel is not a row of global_data: its SHAP values are its own.
    own = w.session.attribution(0, {}, "shap", 1)
    assert own.values == pytest.approx(
        w.session.shap_explainer.values(w.session.encoded_X[:1]).values[0, :, 1]
    )
    w.close()


def test_bad_global_data_fails_at_the_call(data, tmp_path):
    model, X = data
    with pytest.raises(ValueError, match="global_data"):
        explain_widget(model, X.head(50), global_data=X.drop(columns=["x2"]))
    with pytest.raises((TypeError, ValueError), match="global_data"):
        explain_widget(model, X.head(50), global_data=42)
    with pytest.raises(ValueError, match="matches no Parquet file"):
        explain_widget(model, X.head(50), global_data=str(tmp_path / "none" / "*.parquet"))


def test_a_parquet_file_without_a_column_of_x_is_named_at_the_call(data, tmp_path):
    # Dask reads the first file's columns: a later file without one failed as its part,
    # after the other parts' work, with "KeyError: ['x2'] not in index".
    model, X = data
    X.iloc[:100].to_parquet(tmp_path / "part-0.parquet")
    X.iloc[100:200].drop(columns=["x2"]).to_parquet(tmp_path / "part-1.parquet")
    with pytest.raises(
        ValueError, match=r"part-1\.parquet' of global_data lacks columns of X: \['x2'\]"
    ):
        explain_widget(model, X.head(50), global_data=str(tmp_path / "*.parquet"))
    with pytest.raises(ValueError, match=r"part-1\.parquet' of global_data lacks"):
        explain_widget(model, X.head(50), global_data=str(tmp_path))
    X.iloc[100:200].to_parquet(tmp_path / "part-1.parquet")
    w = explain_widget(model, X.head(50), global_data=str(tmp_path / "*.parquet"))
    assert w.global_explanation.summary.n_rows == 200
    w.close()


def test_reading_a_global_explanation_some_parts_failed_for_warns():
    """The warning goes to the reader of w.global_explanation, not to whatever cell runs
    when the widget's own thread finishes."""
    dd = pytest.importorskip("dask.dataframe")
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})

    def refuses_a_marked_row(frame):
        if (frame["a"] == 12345.0).any():
            raise ValueError("a marked row")
        return frame["a"].to_numpy() + frame["b"].to_numpy()

    rows = X.copy()
    rows.loc[250, "a"] = 12345.0
    with warnings.catch_warnings(record=True) as early:
        warnings.simplefilter("always")
        w = explain_widget(
            refuses_a_marked_row,
            X,
            explainers=("shap",),
            global_data=dd.from_pandas(rows, npartitions=3),
        )
        w.session.jobs.wait_all(120)
    assert not [m for m in early if "parts failed" in str(m.message)]  # not from its thread
    with pytest.warns(RuntimeWarning, match=r"covers 200 rows \(1 of 3 parts failed\)"):
        explanation = w.global_explanation
    assert explanation.summary.n_rows == 200
    w.close()
