"""The global views as Altair charts: importance, beeswarm, dependence and surrogate fidelity
(and, over ``global_data``, the model's prediction distribution).

Each chart is an ordinary ``alt.Chart`` the user can save or restyle with Altair's own API.
The panel renders the same specs with a bundled vega-embed and links them through a few
named parameters, which it sets and the charts read:

- ``feature``: position of the selected feature (the dependence plot shows it, the
  importance bar and beeswarm row are marked);
- ``row``: the selected row of X (marked in the beeswarm), ``-1`` for none;
- ``hover``: position of the feature under the pointer anywhere in the panel, ``-1`` for none;
- ``current_x``, ``current_y``: the current instance's value and SHAP value of the selected
  feature (what-if edits included), marked in the dependence plot.

Every point of X carries ``row`` and every bar ``k`` (the feature position), which is how a
click in a chart becomes a selection in the panel; points of ``global_data`` carry ``n``
(their row number in that data) instead, so a click on them selects nothing. Feature names
travel as data, never as field names, so any name (dots, brackets, markup) is safe.

Wide data: beyond ``ALL_FEATURES_UP_TO`` features the specs carry the ``CHART_FEATURES``
with the largest mean |SHAP| (and the selected one) and say so; every feature stays in
``w.global_explanation``.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from .data import FeatureSchema
from .explainers.surrogate import Surrogate
from .format import counted, exact_number, finite, row_label
from .global_explanation import GlobalExplanation

BEESWARM_FEATURES = 12  # shap's beeswarm shows 10 by default; a few more fit the panel
IMPORTANCE_FEATURES = 20
# Features whose values travel in the specs: all of them up to ALL_FEATURES_UP_TO, else the
# CHART_FEATURES largest by mean |SHAP| (the rest stay available from Python).
ALL_FEATURES_UP_TO = 30
CHART_FEATURES = 20
NEGATIVE, POSITIVE = "#008bfb", "#ff0051"  # shap's colours: low / high feature value
BAR, SELECTED = "#7f8c9a", "#ff0051"
SELECTED_ROW = "#ffb300"  # the panel's linking colour: visible on light and dark themes
WIDTH = 360
# A chart's title is part of its width: a longer name is cut in the dependence plot's title
# (the whole name is its tooltip), so that the plot keeps its width beside it.
TITLE_NAME_CHARS = 36
AXIS_NAME_CHARS = 28  # a feature's name on the importance and beeswarm axes
# Vega cuts a title line wider than its chart and never wraps one: subtitles go in lines
# of at most this many characters (~280 px), which fit the panel's narrowest column.
SUBTITLE_CHARS = 52


def _subtitle(*texts: str) -> list[str]:
    """Each text in lines that fit a narrow chart, as even as they come (no word left on a
    line of its own): the narrowest width that needs no more lines than the widest."""
    lines = []
    for text in texts:
        widest = textwrap.wrap(text, SUBTITLE_CHARS)
        narrow = math.ceil(len(text) / max(1, len(widest)))
        lines += next(
            (
                wrapped
                for width in range(narrow, SUBTITLE_CHARS)
                if len(wrapped := textwrap.wrap(text, width)) <= len(widest)
            ),
            widest,
        )
    return lines


def middle_cut(text: str, n: int) -> str:
    """A Vega expression: ``text`` (an expression) cut in the middle to ``n`` characters,
    where names that share a long start ("..._number_017", "..._number_018") differ."""
    head, tail = (n - 1) // 2, n - 1 - (n - 1) // 2
    return (
        f"(length({text}) > {n} ? substring({text}, 0, {head}) + '…' + "
        f"substring({text}, length({text}) - {tail}) : {text})"
    )


AnyChart = alt.TopLevelMixin  # a chart, or charts layered together


def _params(
    feature: int, row: int, current: tuple[float | None, float | None]
) -> dict[str, alt.Parameter]:
    return {
        "feature": alt.param(name="feature", value=int(feature)),
        "row": alt.param(name="row", value=int(row)),
        "hover": alt.param(name="hover", value=-1),
        "current_x": alt.param(name="current_x", value=finite(current[0])),
        "current_y": alt.param(name="current_y", value=finite(current[1])),
    }


def _round(values: np.ndarray, digits: int = 4) -> list[float | None]:
    """Values rounded to ``digits`` significant digits (JSON shrinks by half), NaN -> None."""
    out: list[float | None] = []
    for v in np.asarray(values, dtype=float).ravel().tolist():
        if not math.isfinite(v):
            out.append(None)
        elif v == 0:
            out.append(0.0)
        else:
            out.append(round(v, digits - 1 - math.floor(math.log10(abs(v)))))
    return out


def _round_columns(values: np.ndarray, digits: int = 4) -> list[list[float | None]]:
    """Each column rounded to ``digits`` significant digits of its own spread, NaN -> None:
    a value's own digits drew a month of epoch seconds (1.7e9) at 4 positions."""
    rounded = np.array(values, dtype=float)
    for k in range(rounded.shape[1]):
        finite = rounded[np.isfinite(rounded[:, k]), k]
        if len(finite):
            spread = float(np.ptp(finite)) or abs(float(finite[0]))
            if spread > 0:
                decimals = digits - 1 - math.floor(math.log10(spread))
                rounded[:, k] = np.round(rounded[:, k], decimals)
    return [[v if math.isfinite(v) else None for v in row] for row in rounded.tolist()]


def chart_features(
    explanation: GlobalExplanation, output: int, feature: int | None = None
) -> list[int]:
    """Positions of the features the specs carry, largest mean |SHAP| for ``output`` first:
    all of them, or beyond ``ALL_FEATURES_UP_TO`` the ``CHART_FEATURES`` largest plus the
    selected ``feature``."""
    names = explanation.feature_names
    top = len(names) if len(names) <= ALL_FEATURES_UP_TO else CHART_FEATURES
    order = [names.index(n) for n in explanation.importance_at(output).index[:top]]
    if feature is not None and feature not in order:
        order.append(int(feature))
    return order


def rows_frame(
    explanation: GlobalExplanation,
    schema: FeatureSchema,
    output: int,
    *,
    include_values: bool,
    features: Sequence[int] | None = None,
    row_labels: pd.Index | None = None,
) -> pd.DataFrame:
    """One record per explained row: the SHAP values ``s`` and encoded values ``v`` of the
    carried ``features`` (all by default; the charts get their positions as the ``carried``
    parameter), and the row's number: ``row`` for a row of X, ``n`` for a row of
    ``global_data``; with values, X's own ``label`` of a row of X (``row_labels``)."""
    carried = list(range(len(schema))) if features is None else list(features)
    values = explanation.values_at(output)[:, carried]
    key = "row" if explanation.rows_are_X else "n"
    records: dict[str, list[Any]] = {
        key: explanation.rows.tolist(),
        "s": [_round(r) for r in values],
    }
    if include_values:
        records["v"] = _round_columns(explanation.encoded[:, carried])
        if row_labels is not None and explanation.rows_are_X:  # a label can be an id
            records["label"] = [row_label(row_labels[r]) for r in explanation.rows]
    return pd.DataFrame(records)


def _row_tooltips(rows: pd.DataFrame, key: str, of: str) -> list[alt.Tooltip]:
    """A point's row: its position, and X's own label beside it as the panel names it (a
    shuffled index's 7 alone read as X.loc[7], another row)."""
    tooltips = [alt.Tooltip(f"{key}:Q", title=f"row {of}")]
    if "label" in rows.columns:
        tooltips.append(alt.Tooltip("label:N", title="index"))
    return tooltips


def _colour_ranges(
    explanation: GlobalExplanation, schema: FeatureSchema
) -> tuple[list[float | None], list[float | None]]:
    """Per feature, the values that colour blue and red (its 5th and 95th percentile in the
    explained rows, as shap colours); None for discrete features (drawn in the middle)."""
    low: list[float | None] = []
    high: list[float | None] = []
    for j, feature in enumerate(schema.features):
        column = explanation.encoded[:, j]
        finite = column[np.isfinite(column)]
        if feature.is_discrete or not len(finite):
            low.append(None)
            high.append(None)
            continue
        a, b = np.percentile(finite, [5, 95])
        if b <= a:
            a, b = finite.min(), finite.max()
        rounded = _round_columns(np.array([[a], [b]])) if b > a else [[None], [None]]
        low.append(rounded[0][0])
        high.append(rounded[1][0])
    return low, high


def _value_axis() -> alt.Axis:
    # Labels closer than this count as overlapping, and Vega drops every other one: in a
    # narrow panel "0.00" and "0.01" stood 1 px apart and read "0.000.01".
    return alt.Axis(labelSeparation=6)


def _shap_axis() -> alt.Axis:
    # Rounded to the significant digits the tick step needs, never in exponent form ("~g"
    # took one digit from a step of 20 and read "6e+1"), thousands grouped: 60, 0.005,
    # 15,000. Trailing zeros dropped: a feature the model never uses read "0.000000"
    # (Vega's precision for an empty extent).
    return alt.Axis(format=",~r")


def importance_chart(
    explanation: GlobalExplanation,
    output: int,
    *,
    feature: int = 0,
    top: int = IMPORTANCE_FEATURES,
) -> alt.Chart:
    """Mean |SHAP| per feature (the largest ``top``), the selected feature marked."""
    importance = explanation.importance_at(output)
    names = explanation.feature_names
    shown = importance.iloc[:top]
    frame = pd.DataFrame(
        {
            "k": [names.index(name) for name in shown.index],
            "feature": list(shown.index),
            "importance": shown.to_numpy(),
            # Sorted by this number, never by a list of names: a name such as "__proto__"
            # is data, and Vega would read it as a property of its sort map.
            "rank": range(len(shown)),
        }
    )
    params = _params(feature, -1, (None, None))
    subtitle = _subtitle(f"mean |SHAP value| over {explanation.importance_text}")
    if len(importance) > top:
        subtitle += _subtitle(f"the {top} largest of {len(importance):,} features")
    return (
        alt.Chart(frame, title=alt.Title("What the model relies on", subtitle=subtitle))
        .transform_calculate(
            about="datum.feature + ': mean |SHAP| ' + format(datum.importance, '.3g')"
        )
        .mark_bar(cursor="pointer")
        .encode(
            x=alt.X(
                "importance:Q",
                title=f"mean |SHAP| ({explanation.output_names[output]})",
                axis=_value_axis(),
            ),
            y=alt.Y(
                "feature:N",
                sort=alt.EncodingSortField(field="rank", op="min"),
                title=None,
                axis=alt.Axis(labelExpr=middle_cut("datum.label", AXIS_NAME_CHARS)),
            ),
            color=alt.condition("datum.k == feature", alt.value(SELECTED), alt.value(BAR)),
            fillOpacity=alt.condition(
                "hover < 0 || datum.k == hover", alt.value(1.0), alt.value(0.35)
            ),
            description=alt.Description("about:N"),
            tooltip=[
                alt.Tooltip("feature:N"),
                alt.Tooltip("importance:Q", title="mean |SHAP|", format=".4g"),
            ],
        )
        .add_params(params["feature"], params["hover"])
        # A height, not alt.Step: with the panel's width="container" Vega-Lite warned on
        # every draw that it dropped "fit-y" for a discrete height.
        .properties(width=WIDTH, height=16 * len(frame))
    )


def beeswarm_chart(
    explanation: GlobalExplanation,
    rows: pd.DataFrame,
    output: int,
    *,
    carried: Sequence[int],
    feature: int = 0,
    row: int = -1,
    top: int = BEESWARM_FEATURES,
    colours: tuple[list[float | None], list[float | None]] | None = None,
) -> alt.Chart:
    """SHAP value per row for the ``top`` features, coloured by the feature's value; ``rows``
    hold the values of the ``carried`` features, in that order."""
    order = list(explanation.importance_at(output).index[:top])
    names = explanation.feature_names
    features = pd.DataFrame(
        {"k": [names.index(n) for n in order], "feature": order, "rank": range(len(order))}
    )
    params = _params(feature, row, (None, None))
    coloured = "v" in rows.columns and colours is not None
    key = "row" if "row" in rows.columns else "n"
    of = "of X" if key == "row" else "of the data"
    subtitle = _subtitle(
        explanation.sample_text + ("; click a point to explain it" if key == "row" else "")
    )
    # Points of global_data are not rows of X: none of them is the panel's current row.
    ring = "datum.row == row" if key == "row" else "false"
    if len(names) > top:
        subtitle += _subtitle(f"the {top} features with the largest mean |SHAP| of {len(names):,}")
    # Each row's arrays become one record per carried feature, with its position k.
    chart = (
        alt.Chart(rows, title=alt.Title("Impact per row", subtitle=subtitle))
        .transform_calculate(k="carried")
        .transform_flatten(["s", "k", "v"] if coloured else ["s", "k"])
    )
    color: Any = alt.value(BAR)
    extra_params = []
    if coloured:
        assert colours is not None
        low = alt.param(name="colour_low", value=colours[0])
        high = alt.param(name="colour_high", value=colours[1])
        extra_params = [low, high]
        # The value's place between the feature's 5th and 95th percentile (shap's colours);
        # discrete features and missing values sit in the middle.
        chart = chart.transform_calculate(
            c="isValid(colour_low[datum.k]) && isValid(datum.v) ? "
            "clamp((datum.v - colour_low[datum.k]) / "
            "(colour_high[datum.k] - colour_low[datum.k]), 0, 1) : 0.5"
        )
        color = alt.Color(
            "c:Q",
            scale=alt.Scale(domain=[0, 1], range=[NEGATIVE, POSITIVE]),
            legend=alt.Legend(
                title="feature value",
                labelExpr="datum.value == 0 ? 'low' : datum.value == 1 ? 'high' : ''",
                values=[0, 1],
                gradientLength=80,
            ),
        )
    return (
        chart.transform_filter(alt.FieldOneOfPredicate(field="k", oneOf=features["k"].tolist()))
        .transform_lookup(lookup="k", from_=alt.LookupData(features, "k", ["feature", "rank"]))
        # A fixed pseudo-random spread (same picture every time) instead of random().
        .transform_calculate(
            jitter=f"((datum.{key} * 7919) % 997) / 997 - 0.5",
            # What a screen reader (and a test) reads for each point.
            about=f"'row ' + datum.{key} + ' {of}: ' + datum.feature + ', SHAP ' + format(datum.s, '.3g')",
        )
        .mark_circle(opacity=1, cursor="pointer" if key == "row" else "default")
        .encode(
            x=alt.X(
                "s:Q",
                title=f"SHAP value for {explanation.output_names[output]}",
                axis=_value_axis(),
            ),
            y=alt.Y(
                "feature:N",
                sort=alt.EncodingSortField(field="rank", op="min"),
                title=None,
                axis=alt.Axis(labelExpr=middle_cut("datum.label", AXIS_NAME_CHARS)),
            ),
            yOffset=alt.YOffset("jitter:Q", scale=alt.Scale(domain=[-0.6, 0.6])),
            color=color,
            size=alt.condition(ring, alt.value(90), alt.value(12)),
            description=alt.Description("about:N"),
            stroke=alt.condition(ring, alt.value(SELECTED_ROW), alt.value(None)),
            strokeWidth=alt.condition(ring, alt.value(2), alt.value(0)),
            # fillOpacity, and opacity 1 (Vega-Lite's circles default to 0.7): an SVG element
            # with opacity is a compositing group of its own, and thousands of them made
            # every frame of the whole page cost ~55 ms.
            fillOpacity=alt.condition(
                "hover < 0 || datum.k == hover", alt.value(0.8), alt.value(0.15)
            ),
            tooltip=[
                *_row_tooltips(rows, key, of),
                alt.Tooltip("feature:N"),
                alt.Tooltip("s:Q", title="SHAP value", format=".4g"),
            ],
        )
        .add_params(
            params["feature"],
            params["row"],
            params["hover"],
            alt.param(name="carried", value=list(carried)),
            *extra_params,
        )
        .properties(  # a height, not alt.Step: as in importance_chart
            width=WIDTH, height=26 * len(features), usermeta={"marks": len(rows) * len(features)}
        )
    )


def _categories_param(schema: FeatureSchema) -> alt.Parameter:
    categories = [list(f.labels) if f.is_discrete else None for f in schema.features]
    return alt.param(name="categories", value=categories)


def _x_axis() -> alt.Axis:
    # A category's ticks are its codes alone, each name cut to its share of the width: with
    # blank labels between them, Vega's overlap removal hid every other name, real ones too.
    return alt.Axis(
        labelExpr="categories[feature] ? (categories[feature][datum.value] || '') : datum.label",
        values={"expr": "categories[feature] ? sequence(length(categories[feature])) : null"},
        labelLimit={
            "expr": "categories[feature] ? max(40, width / length(categories[feature]) - 8) : 180"
        },
    )


def _cuts_and_marker(
    names: list[str], thresholds: Mapping[str, Sequence[float]] | None
) -> tuple[alt.Chart, alt.Chart]:
    # Each threshold's text as the rules write it, every digit: a format rounding it could
    # name another cut (0.300003 read as 0.3, on the other side of rows near it).
    cut_frame = pd.DataFrame(
        [
            {"k": names.index(name), "t": float(t), "text": exact_number(t)}
            for name, cuts in (thresholds or {}).items()
            for t in cuts
        ],
        columns=["k", "t", "text"],
    )
    # Both are placed through the plot's scales and take no part in their domains: a domain
    # over a layer with nothing to draw (a feature without thresholds, no current instance)
    # made Vega warn "Infinite extent" on every draw. A threshold outside the points' range
    # is clipped; the current instance beyond it (an edit past X's values, a SHAP value past
    # a bin's band) stays in view at the plot's edge.
    cuts = (
        alt.Chart(cut_frame)
        .transform_filter("datum.k == feature")
        .mark_rule(strokeDash=[4, 3], color="#888888", clip=True)
        .encode(
            x=alt.XValue(alt.ExprRef(expr="scale('x', datum.t)")),
            y=alt.YValue(0),
            y2=alt.Y2Value(alt.ExprRef(expr="height")),
            tooltip=[alt.Tooltip("text:N", title="surrogate threshold")],
        )
    )
    marker = (
        alt.Chart(pd.DataFrame({"current": [1]}))
        .transform_filter("isValid(current_x) && isValid(current_y)")
        .mark_point(shape="diamond", size=160, filled=True, color="black", stroke="white")
        .encode(
            x=alt.XValue(alt.ExprRef(expr="clamp(scale('x', current_x), 0, width)")),
            y=alt.YValue(alt.ExprRef(expr="clamp(scale('y', current_y), 0, height)")),
        )
    )
    return cuts, marker


# The dependence plot's legend, a subtitle line of its own: after the rows' description
# on one line it was cut off in a narrow column.
DEPENDENCE_LEGEND = "◆ the current instance, dashed: surrogate thresholds"


def _dependence_title(carried: Sequence[int], total: int, subtitle: Sequence[str]) -> alt.Title:
    missing = (
        f" + (indexof(carried, feature) < 0 ? ' (not among the {len(carried)} features drawn: "
        "see w.global_explanation)' : '')"
        if len(carried) < total
        else ""
    )
    name = middle_cut("names[feature]", TITLE_NAME_CHARS)
    return alt.Title(
        alt.ExprRef(expr="'Dependence: ' + " + name + missing),
        subtitle=[*_subtitle(*subtitle), DEPENDENCE_LEGEND],
    )


# The whole name of the dependence plot's feature, the tooltip of its (perhaps cut) title.
# Altair's Title has no field for a title's own encoding: it is added to the panel's spec.
TITLE_NAME_TOOLTIP = {
    "interactive": True,
    "encoding": {
        "tooltip": {"signal": "names[feature]"},
        "description": {"signal": "'Dependence: ' + names[feature]"},
    },
}


def dependence_chart(
    explanation: GlobalExplanation,
    rows: pd.DataFrame,
    schema: FeatureSchema,
    output: int,
    *,
    carried: Sequence[int],
    feature: int = 0,
    current: tuple[float | None, float | None] = (None, None),
    thresholds: Mapping[str, Sequence[float]] | None = None,
) -> AnyChart:
    """SHAP value of the selected feature against its value, the current instance and the
    surrogate's thresholds (where a rule changes) marked. ``rows`` hold the values of the
    ``carried`` features; the others show an empty plot that says where to find them."""
    names = explanation.feature_names
    carried = list(carried)
    params = _params(feature, -1, current)
    key = "row" if "row" in rows.columns else "n"
    of = "of X" if key == "row" else "of the data"
    # Categories sit at their codes, spread a little so the points of one code show.
    x_value = f"datum.v[datum.slot] + (categories[feature] ? ((datum.{key} * 7919) % 997) / 2491 - 0.2 : 0)"
    points = (
        alt.Chart(rows)
        .transform_calculate(slot="indexof(carried, feature)")
        .transform_filter("datum.slot >= 0")
        # A missing value has no place on the axis (null + 0 drew it at 0).
        .transform_filter("isValid(datum.v[datum.slot]) && isFinite(datum.v[datum.slot])")
        .transform_calculate(
            x=x_value,
            y="datum.s[datum.slot]",
            about=f"'row ' + datum.{key} + ' {of}: SHAP ' + format(datum.s[datum.slot], '.3g')",
        )
        .mark_circle(
            size=14,
            opacity=1,
            fillOpacity=0.5,
            color=BAR,
            cursor="pointer" if key == "row" else "default",
        )
        .encode(
            x=alt.X("x:Q", title="feature value", scale=alt.Scale(zero=False), axis=_x_axis()),
            y=alt.Y(
                "y:Q",
                title=f"SHAP value for {explanation.output_names[output]}",
                axis=_shap_axis(),
            ),
            description=alt.Description("about:N"),
            tooltip=[
                *_row_tooltips(rows, key, of),
                alt.Tooltip("y:Q", title="SHAP value", format=".4g"),
            ],
        )
    )
    cuts, marker = _cuts_and_marker(names, thresholds)
    return (
        alt.layer(points, cuts, marker)
        .add_params(
            params["feature"],
            params["current_x"],
            params["current_y"],
            alt.param(name="names", value=list(names)),
            alt.param(name="carried", value=carried),
            _categories_param(schema),
        )
        .properties(
            width=WIDTH,
            height=220,
            usermeta={"marks": len(rows)},
            title=_dependence_title(
                carried,
                len(names),
                [explanation.sample_text],
            ),
        )
    )


def binned_dependence_frame(
    explanation: GlobalExplanation, output: int, features: Sequence[int]
) -> pd.DataFrame:
    """One record per value bin of the given features, over every row of ``global_data``:
    ``k``, ``x`` (the bin's mean value, or the category code), ``m`` and ``sd`` (mean and
    standard deviation of the SHAP value), ``n`` (rows) and ``bin`` (its label)."""
    summary = explanation.summary
    assert summary is not None
    d = summary.dependence
    o = summary.position(output)
    records = []
    for j in features:
        labels = d.labels[j]
        discrete = d.edges[j] is None
        for b, label in enumerate(labels[:-1]):  # the last bin: missing values, no position
            if not d.count[j, b]:
                continue
            x = float(b) if discrete else float(d.value_mean[j, b])
            mean, spread = float(d.shap_mean[j, b, o]), float(d.shap_std[j, b, o])
            records.append(
                {
                    "k": j,
                    "x": _round(np.array([x]), 6)[0],
                    "m": _round(np.array([mean]))[0],
                    "sd": _round(np.array([spread]))[0],
                    "n": int(d.count[j, b]),
                    "bin": label,
                }
            )
    return pd.DataFrame(records, columns=["k", "x", "m", "sd", "n", "bin"])


def binned_dependence_chart(
    explanation: GlobalExplanation,
    schema: FeatureSchema,
    output: int,
    *,
    feature: int = 0,
    current: tuple[float | None, float | None] = (None, None),
    thresholds: Mapping[str, Sequence[float]] | None = None,
) -> AnyChart:
    """Over every row of ``global_data``: the mean SHAP value of the selected feature per value
    bin, a band of one standard deviation around it, points sized by the bin's rows."""
    summary = explanation.summary
    assert summary is not None
    names = explanation.feature_names
    carried = chart_features(explanation, output, feature)
    frame = binned_dependence_frame(explanation, output, carried)
    params = _params(feature, -1, current)
    base = (
        alt.Chart(frame)
        .transform_filter("datum.k == feature")
        .transform_calculate(low="datum.m - datum.sd", high="datum.m + datum.sd")
    )
    x = alt.X("x:Q", title="feature value (bin mean)", scale=alt.Scale(zero=False), axis=_x_axis())
    band = base.mark_area(opacity=0.25, color=BAR).encode(
        x=x,
        y=alt.Y(
            "low:Q", title=f"SHAP value for {explanation.output_names[output]}", axis=_shap_axis()
        ),
        y2="high:Q",
    )
    line = base.mark_line(color=BAR).encode(x=x, y="m:Q")
    points = (
        base.transform_calculate(
            about="datum.bin + ': mean SHAP ' + format(datum.m, '.3g') + ' over ' "
            "+ format(datum.n, ',') + ' rows'"
        )
        .mark_circle(color=BAR, opacity=0.9)
        .encode(
            x=x,
            y="m:Q",
            size=alt.Size("n:Q", legend=None, scale=alt.Scale(range=[15, 150])),
            description=alt.Description("about:N"),
            tooltip=[
                alt.Tooltip("bin:N", title="value bin"),
                alt.Tooltip("n:Q", title="rows", format=","),
                alt.Tooltip("m:Q", title="mean SHAP", format=".4g"),
                alt.Tooltip("sd:Q", title="standard deviation", format=".3g"),
            ],
        )
    )
    cuts, marker = _cuts_and_marker(names, thresholds)
    return (
        alt.layer(band, line, points, cuts, marker)
        .add_params(
            params["feature"],
            params["current_x"],
            params["current_y"],
            alt.param(name="names", value=list(names)),
            alt.param(name="carried", value=carried),
            _categories_param(schema),
        )
        .properties(
            width=WIDTH,
            height=220,
            title=_dependence_title(
                carried,
                len(names),
                # Two lines: as one (~75 characters) it was cut in a 360-px chart.
                [
                    f"mean SHAP per value bin over {summary.coverage_text}",
                    "band: ± 1 standard deviation",
                ],
            ),
        )
    )


def fidelity_chart(surrogate: Surrogate, explanation: GlobalExplanation | None = None) -> AnyChart:
    """Held-out fidelity of the surrogate against its number of rules, the chosen size marked;
    over ``global_data`` also its fidelity on every row of it."""
    # Drawn in this order: where points coincide, the frontier's lie on top.
    curve = pd.DataFrame(surrogate.curve)[["family", "rules", "fidelity", "frontier"]]
    curve = curve.sort_values("frontier", kind="stable")
    metric = "R²" if surrogate.metric == "r2" else "accuracy"
    # The point whose rules the table shows: parameters the panel moves when another size
    # is picked (a point of the curve is clicked, or the table's size control).
    shown_rules = alt.param(name="shown_rules", value=int(surrogate.complexity))
    shown_family = alt.param(name="shown_family", value=surrogate.family)
    x = alt.X("rules:Q", title="number of rules")
    y = alt.Y("fidelity:Q", title=f"held-out fidelity ({metric})", scale=alt.Scale(zero=False))
    tooltip = [
        alt.Tooltip("family:N"),
        alt.Tooltip("rules:Q"),
        alt.Tooltip("fidelity:Q", format=".3f"),
    ]
    # The line a size is chosen along: per size the family cross-validation rates best.
    # Only its points are clicked (the line's data has no family to pick).
    frontier = (
        alt.Chart(curve.loc[curve["frontier"], ["rules", "fidelity"]].sort_values("rules"))
        .mark_line(color="#888", strokeWidth=1.5)
        .encode(x=x, y=y)
    )
    # Every family's points, those on the frontier filled.
    points = (
        alt.Chart(curve)
        .mark_point(size=36, strokeWidth=1.5)
        .encode(
            x=x,
            y=y,
            color=alt.Color("family:N", title="surrogate"),
            fill=alt.condition("datum.frontier", alt.Color("family:N"), alt.value("transparent")),
            opacity=alt.condition("datum.frontier", alt.value(1.0), alt.value(0.45)),
            tooltip=tooltip,
        )
    )
    shown = "datum.rules == shown_rules && datum.family == shown_family"
    # A white halo under the black ring: the ring shows on a dark theme too.
    halo = (
        alt.Chart(curve)
        .mark_point(
            shape="circle", size=160, filled=False, color="white", strokeWidth=5, aria=False
        )
        .encode(x="rules:Q", y="fidelity:Q")
        .transform_filter(shown)
    )
    mark = (
        alt.Chart(curve)
        .mark_point(shape="circle", size=160, filled=False, color="black", strokeWidth=2)
        .encode(
            x="rules:Q",
            y="fidelity:Q",
            tooltip=[
                alt.Tooltip("family:N", title="rules shown"),
                alt.Tooltip("rules:Q"),
                alt.Tooltip("fidelity:Q", format=".3f"),
            ],
        )
        .add_params(shown_rules, shown_family)
        .transform_filter(shown)
    )
    layers: list[alt.Chart] = [frontier, points, halo, mark]
    recommended = next((p for p in surrogate.curve if p.get("recommended")), surrogate.chosen)
    subtitle = _subtitle(
        f"recommended: {counted(int(recommended['rules']), 'rule')}, {metric} "
        f"{recommended['fidelity']:.3f}; ○ the rules shown",
        "the line and filled points: the best of each size",
    )
    if surrogate.reason:
        subtitle += _subtitle(f"why: {surrogate.reason}")
    summary = explanation.summary if explanation is not None else None
    if summary is not None and summary.fidelity is not None:
        # At the size it was measured for: another size picked since has not been.
        value, measured = summary.fidelity.value, summary.fidelity.size
        everywhere = pd.DataFrame(
            {"rules": [measured], "fidelity": [value], "rows": [summary.n_rows]}
        )
        layers.append(
            alt.Chart(everywhere)
            .mark_point(shape="diamond", size=140, filled=True, color="black")
            .encode(
                x="rules:Q",
                y="fidelity:Q",
                tooltip=[
                    alt.Tooltip("fidelity:Q", title=f"{metric} over the global data", format=".3f"),
                    alt.Tooltip("rows:Q", title="rows", format=","),
                ],
            )
        )
        subtitle += _subtitle(
            f"◆ {metric} {value:.3f} of the surrogate of {counted(measured, 'rule')} over "
            f"{summary.coverage_text} of the global data"
        )
    return alt.layer(*layers).properties(
        width=WIDTH,
        height=180,
        title=alt.Title("Surrogate: fidelity against size", subtitle=subtitle),
    )


def prediction_chart(explanation: GlobalExplanation, output: int) -> alt.Chart:
    """How the model's output for ``output`` is distributed over every row of ``global_data``."""
    summary = explanation.summary
    assert summary is not None
    frame = summary.prediction_histogram(output)
    frame = frame.assign(low=_round(frame["low"].to_numpy()), high=_round(frame["high"].to_numpy()))
    name = explanation.output_names[output]
    return (
        alt.Chart(
            frame,
            title=alt.Title(
                "What the model predicts",
                subtitle=_subtitle(f"{name}: over {summary.coverage_text} of the global data"),
            ),
        )
        .mark_bar(color=BAR)
        .encode(
            x=alt.X("low:Q", bin="binned", title=f"model output ({name})"),
            x2="high:Q",
            y=alt.Y("rows:Q", title="rows"),
            tooltip=[
                alt.Tooltip("low:Q", format=".4g"),
                alt.Tooltip("high:Q", format=".4g"),
                alt.Tooltip("rows:Q", format=","),
            ],
        )
        .properties(width=WIDTH, height=160)
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
    row_labels: pd.Index | None = None,
) -> dict[str, AnyChart]:
    """All global charts for one output. Without values (an export with
    ``include_data=False``) the beeswarm is not coloured and there is no dependence plot.

    Over ``global_data`` the importance covers every row, the dependence plot is binned over
    every row, the beeswarm shows the uniform sample, and a "predictions" chart is added.
    """
    explanation.values_at(output)  # a clear error when this output was not explained
    carried = chart_features(explanation, output, feature)
    rows = rows_frame(
        explanation,
        schema,
        output,
        include_values=include_values,
        features=carried,
        row_labels=row_labels,
    )
    if not explanation.rows_are_X:
        row = -1  # the sample's rows are not rows of X
    charts: dict[str, AnyChart] = {
        "importance": importance_chart(explanation, output, feature=feature),
        "beeswarm": beeswarm_chart(
            explanation,
            rows,
            output,
            carried=carried,
            feature=feature,
            row=row,
            colours=_colour_ranges(explanation, schema) if include_values else None,
        ),
    }
    thresholds = surrogate.thresholds() if surrogate else None
    if include_values:
        if explanation.summary is not None:
            charts["dependence"] = binned_dependence_chart(
                explanation,
                schema,
                output,
                feature=feature,
                current=current,
                thresholds=thresholds,
            )
        else:
            charts["dependence"] = dependence_chart(
                explanation,
                rows,
                schema,
                output,
                carried=carried,
                feature=feature,
                current=current,
                thresholds=thresholds,
            )
    if surrogate is not None:
        charts["fidelity"] = fidelity_chart(surrogate, explanation)
    if explanation.summary is not None and output in explanation.summary.outputs:
        charts["predictions"] = prediction_chart(explanation, output)
    return charts


def charts_payload(charts: Mapping[str, AnyChart]) -> dict[str, Any]:
    """Vega-Lite specs for the frontend, each dataset sent once however many charts use it."""
    specs, datasets = {}, {}
    for name, chart in charts.items():
        spec = chart.to_dict(validate=False)
        datasets.update(spec.pop("datasets", {}))
        if name == "dependence":
            spec["title"] = {**spec["title"], **TITLE_NAME_TOOLTIP}
        specs[name] = spec
    return {"specs": specs, "datasets": datasets}
