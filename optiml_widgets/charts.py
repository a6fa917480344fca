"""The global views as Altair charts: importance, beeswarm, dependence and surrogate fidelity.

Each chart is an ordinary ``alt.Chart`` the user can save or restyle with Altair's own API.
The panel renders the same specs with a bundled vega-embed and links them through a few
named parameters, which it sets and the charts read:

- ``feature``: position of the selected feature (the dependence plot shows it, the
  importance bar and beeswarm row are marked);
- ``row``: the selected row of X (marked in the beeswarm), ``-1`` for none;
- ``hover``: position of the feature under the pointer anywhere in the panel, ``-1`` for none;
- ``current_x``, ``current_y``: the current instance's value and SHAP value of the selected
  feature (what-if edits included), marked in the dependence plot.

Every point carries ``row`` and every bar ``k`` (the feature position), which is how a
click in a chart becomes a selection in the panel. Feature names travel as data, never
as field names, so any name (dots, brackets, markup) is safe.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from .data import FeatureSchema
from .explainers.surrogate import Surrogate
from .global_explanation import GlobalExplanation

BEESWARM_FEATURES = 12  # shap's beeswarm shows 10 by default; a few more fit the panel
IMPORTANCE_FEATURES = 20
NEGATIVE, POSITIVE = "#008bfb", "#ff0051"  # shap's colours: low / high feature value
BAR, SELECTED = "#7f8c9a", "#ff0051"
SELECTED_ROW = "#ffb300"  # the panel's linking colour: visible on light and dark themes
WIDTH = 360


def _params(
    feature: int, row: int, current: tuple[float | None, float | None]
) -> dict[str, alt.Parameter]:
    return {
        "feature": alt.param(name="feature", value=int(feature)),
        "row": alt.param(name="row", value=int(row)),
        "hover": alt.param(name="hover", value=-1),
        "current_x": alt.param(name="current_x", value=_finite(current[0])),
        "current_y": alt.param(name="current_y", value=_finite(current[1])),
    }


def _finite(value: float | None) -> float | None:
    return float(value) if value is not None and math.isfinite(float(value)) else None


def _round(values: np.ndarray, digits: int = 4) -> list[float | None]:
    """Values rounded to ``digits`` significant digits (JSON shrinks by half), NaN -> None."""
    out = []
    for v in np.asarray(values, dtype=float).ravel().tolist():
        if not math.isfinite(v):
            out.append(None)
        elif v == 0:
            out.append(0.0)
        else:
            out.append(round(v, digits - 1 - math.floor(math.log10(abs(v)))))
    return out


def rows_frame(
    explanation: GlobalExplanation, schema: FeatureSchema, output: int, *, include_values: bool
) -> pd.DataFrame:
    """One record per explained row: SHAP values ``s``, encoded values ``v`` and colour ``c``
    (the value's position between the feature's 5th and 95th percentile, as shap colours)."""
    encoded = explanation.encoded
    colour = np.full(encoded.shape, 0.5)
    for j, feature in enumerate(schema.features):
        column = encoded[:, j]
        if feature.is_discrete or np.isnan(column).all():
            continue
        low, high = np.nanpercentile(column, [5, 95])
        if high <= low:
            low, high = np.nanmin(column), np.nanmax(column)
        if high > low:
            colour[:, j] = np.clip((column - low) / (high - low), 0, 1)
        colour[np.isnan(column), j] = 0.5
    positions = list(range(len(schema)))
    records: dict[str, list[Any]] = {
        "row": explanation.rows.tolist(),
        "k": [positions] * len(explanation.rows),
        "s": [_round(r) for r in explanation.values[:, :, output]],
    }
    if include_values:
        records["v"] = [_round(r, 6) for r in encoded]
        records["c"] = [_round(r, 2) for r in colour]
    return pd.DataFrame(records)


def importance_chart(
    explanation: GlobalExplanation,
    output: int,
    *,
    feature: int = 0,
    top: int = IMPORTANCE_FEATURES,
) -> alt.Chart:
    """Mean |SHAP| per feature (the largest ``top``), the selected feature marked."""
    importance = explanation.importance(output)
    names = explanation.feature_names
    shown = importance.iloc[:top]
    frame = pd.DataFrame(
        {
            "k": [names.index(name) for name in shown.index],
            "feature": list(shown.index),
            "importance": shown.to_numpy(),
        }
    )
    params = _params(feature, -1, (None, None))
    subtitle = [f"mean |SHAP value| over {explanation.sample_text}"]
    if len(importance) > top:
        subtitle.append(f"the {top} largest of {len(importance)} features")
    return (
        alt.Chart(frame, title=alt.Title("What the model relies on", subtitle=subtitle))
        .transform_calculate(
            about="datum.feature + ': mean |SHAP| ' + format(datum.importance, '.3g')"
        )
        .mark_bar(cursor="pointer")
        .encode(
            x=alt.X("importance:Q", title=f"mean |SHAP| ({explanation.output_names[output]})"),
            y=alt.Y("feature:N", sort=list(shown.index), title=None),
            color=alt.condition("datum.k == feature", alt.value(SELECTED), alt.value(BAR)),
            opacity=alt.condition("hover < 0 || datum.k == hover", alt.value(1.0), alt.value(0.35)),
            description=alt.Description("about:N"),
            tooltip=[
                alt.Tooltip("feature:N"),
                alt.Tooltip("importance:Q", title="mean |SHAP|", format=".4g"),
            ],
        )
        .add_params(params["feature"], params["hover"])
        .properties(width=WIDTH, height=alt.Step(16))
    )


def beeswarm_chart(
    explanation: GlobalExplanation,
    rows: pd.DataFrame,
    output: int,
    *,
    feature: int = 0,
    row: int = -1,
    top: int = BEESWARM_FEATURES,
) -> alt.Chart:
    """SHAP value per row for the ``top`` features, coloured by the feature's value."""
    order = list(explanation.importance(output).index[:top])
    names = explanation.feature_names
    features = pd.DataFrame({"k": [names.index(n) for n in order], "feature": order})
    params = _params(feature, row, (None, None))
    coloured = "c" in rows.columns
    flatten = ["s", "k", "c"] if coloured else ["s", "k"]
    color: Any = (
        alt.Color(
            "c:Q",
            scale=alt.Scale(domain=[0, 1], range=[NEGATIVE, POSITIVE]),
            legend=alt.Legend(
                title="feature value",
                labelExpr="datum.value == 0 ? 'low' : datum.value == 1 ? 'high' : ''",
                values=[0, 1],
                gradientLength=80,
            ),
        )
        if coloured
        else alt.value(BAR)
    )
    return (
        alt.Chart(
            rows,
            title=alt.Title(
                "Impact per row",
                subtitle=[f"{explanation.sample_text}; click a point to explain it"],
            ),
        )
        .transform_flatten(flatten)
        .transform_filter(alt.FieldOneOfPredicate(field="k", oneOf=features["k"].tolist()))
        .transform_lookup(lookup="k", from_=alt.LookupData(features, "k", ["feature"]))
        # A fixed pseudo-random spread (same picture every time) instead of random().
        .transform_calculate(
            jitter="((datum.row * 7919) % 997) / 997 - 0.5",
            # What a screen reader (and a test) reads for each point.
            about="'row ' + datum.row + ' of X: ' + datum.feature + ', SHAP ' + format(datum.s, '.3g')",
        )
        .mark_circle(cursor="pointer")
        .encode(
            x=alt.X("s:Q", title="SHAP value (impact on the output)"),
            y=alt.Y("feature:N", sort=order, title=None),
            yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[-0.6, 0.6])),
            color=color,
            size=alt.condition("datum.row == row", alt.value(90), alt.value(12)),
            description=alt.Description("about:N"),
            stroke=alt.condition("datum.row == row", alt.value(SELECTED_ROW), alt.value(None)),
            strokeWidth=alt.condition("datum.row == row", alt.value(2), alt.value(0)),
            opacity=alt.condition("hover < 0 || datum.k == hover", alt.value(0.8), alt.value(0.15)),
            tooltip=[
                alt.Tooltip("row:Q", title="row of X"),
                alt.Tooltip("feature:N"),
                alt.Tooltip("s:Q", title="SHAP value", format=".4g"),
            ],
        )
        .add_params(params["feature"], params["row"], params["hover"])
        .properties(width=WIDTH, height=alt.Step(26))
    )


def dependence_chart(
    explanation: GlobalExplanation,
    rows: pd.DataFrame,
    schema: FeatureSchema,
    output: int,
    *,
    feature: int = 0,
    current: tuple[float | None, float | None] = (None, None),
    thresholds: Mapping[str, Sequence[float]] | None = None,
) -> alt.Chart:
    """SHAP value of the selected feature against its value, the current instance and the
    surrogate's thresholds (where a rule changes) marked."""
    names = explanation.feature_names
    params = _params(feature, -1, current)
    categories = [
        [str(c) for c in f.categories] if f.is_discrete else None for f in schema.features
    ]
    names_param = alt.param(name="names", value=list(names))
    categories_param = alt.param(name="categories", value=categories)
    cut_frame = pd.DataFrame(
        [
            {"k": names.index(name), "t": float(t)}
            for name, cuts in (thresholds or {}).items()
            for t in cuts
        ],
        columns=["k", "t"],
    )
    # Categories sit at their codes, spread a little so the points of one code show.
    x_value = (
        "datum.v[feature] + (categories[feature] ? ((datum.row * 7919) % 997) / 2491 - 0.2 : 0)"
    )
    points = (
        alt.Chart(rows)
        .transform_calculate(
            x=x_value,
            y="datum.s[feature]",
            about="'row ' + datum.row + ' of X: SHAP ' + format(datum.s[feature], '.3g')",
        )
        .mark_circle(size=14, opacity=0.5, color=BAR, cursor="pointer")
        .encode(
            x=alt.X(
                "x:Q",
                title="feature value",
                scale=alt.Scale(zero=False),
                axis=alt.Axis(
                    labelExpr=(
                        "categories[feature] ? (categories[feature][datum.value] || '') "
                        ": datum.label"
                    )
                ),
            ),
            y=alt.Y("y:Q", title="SHAP value"),
            description=alt.Description("about:N"),
            tooltip=[
                alt.Tooltip("row:Q", title="row of X"),
                alt.Tooltip("y:Q", title="SHAP value", format=".4g"),
            ],
        )
    )
    cuts = (
        alt.Chart(cut_frame)
        .transform_filter("datum.k == feature")
        .mark_rule(strokeDash=[4, 3], color="#888888")
        .encode(x="t:Q", tooltip=[alt.Tooltip("t:Q", title="surrogate threshold", format=".4g")])
    )
    marker = (
        alt.Chart(pd.DataFrame({"current": [1]}))
        .transform_filter("isValid(current_x) && isValid(current_y)")
        .mark_point(shape="diamond", size=160, filled=True, color="black", stroke="white")
        .encode(
            x=alt.XDatum(alt.ExprRef(expr="current_x"), type="quantitative"),
            y=alt.YDatum(alt.ExprRef(expr="current_y"), type="quantitative"),
        )
    )
    return (
        alt.layer(points, cuts, marker)
        .add_params(
            params["feature"],
            params["current_x"],
            params["current_y"],
            names_param,
            categories_param,
        )
        .properties(
            width=WIDTH,
            height=220,
            title=alt.Title(
                alt.ExprRef(expr="'Dependence: ' + names[feature]"),
                subtitle=[
                    f"{explanation.sample_text}; ◆ the current instance, dashed: surrogate thresholds"
                ],
            ),
        )
    )


def fidelity_chart(surrogate: Surrogate) -> alt.Chart:
    """Held-out fidelity of the surrogate against its number of rules, the chosen size marked."""
    curve = pd.DataFrame(surrogate.curve)[["family", "rules", "fidelity"]]
    metric = "R²" if surrogate.metric == "r2" else "accuracy"
    chosen = pd.DataFrame(
        {"rules": [surrogate.complexity], "fidelity": [surrogate.fidelity], "family": ["chosen"]}
    )
    lines = (
        alt.Chart(curve)
        .mark_line(point=True)
        .encode(
            x=alt.X("rules:Q", title="number of rules"),
            y=alt.Y(
                "fidelity:Q", title=f"held-out fidelity ({metric})", scale=alt.Scale(zero=False)
            ),
            color=alt.Color("family:N", title="surrogate"),
            tooltip=[
                alt.Tooltip("family:N"),
                alt.Tooltip("rules:Q"),
                alt.Tooltip("fidelity:Q", format=".3f"),
            ],
        )
    )
    mark = (
        alt.Chart(chosen)
        .mark_point(shape="circle", size=160, filled=False, color="black", strokeWidth=2)
        .encode(
            x="rules:Q",
            y="fidelity:Q",
            tooltip=[
                alt.Tooltip("rules:Q", title="chosen rules"),
                alt.Tooltip("fidelity:Q", format=".3f"),
            ],
        )
    )
    return alt.layer(lines, mark).properties(
        width=WIDTH,
        height=180,
        title=alt.Title(
            "Surrogate: fidelity against size",
            subtitle=[f"chosen: {surrogate.complexity} rules, {metric} {surrogate.fidelity:.3f}"],
        ),
    )


def global_charts(
    explanation: GlobalExplanation,
    schema: FeatureSchema,
    surrogate: Surrogate | None,
    output: int,
    *,
    feature: int,
    row: int = -1,
    current: tuple[float | None, float | None] = (None, None),
    include_values: bool = True,
) -> dict[str, alt.Chart]:
    """All global charts for one output. Without values (an export with
    ``include_data=False``) the beeswarm is not coloured and there is no dependence plot."""
    rows = rows_frame(explanation, schema, output, include_values=include_values)
    charts = {
        "importance": importance_chart(explanation, output, feature=feature),
        "beeswarm": beeswarm_chart(explanation, rows, output, feature=feature, row=row),
    }
    if include_values:
        charts["dependence"] = dependence_chart(
            explanation,
            rows,
            schema,
            output,
            feature=feature,
            current=current,
            thresholds=surrogate.thresholds() if surrogate else None,
        )
    if surrogate is not None:
        charts["fidelity"] = fidelity_chart(surrogate)
    return charts


def charts_payload(charts: Mapping[str, alt.Chart]) -> dict[str, Any]:
    """Vega-Lite specs for the frontend, each dataset sent once however many charts use it."""
    specs, datasets = {}, {}
    for name, chart in charts.items():
        spec = chart.to_dict(validate=False)
        datasets.update(spec.pop("datasets", {}))
        specs[name] = spec
    return {"specs": specs, "datasets": datasets}
