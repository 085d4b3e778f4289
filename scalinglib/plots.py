"""Altair charts every chapter needs, in one theme.

Power laws are drawn on log-log axes; every mark has tooltips. Charts render in the built book
with no network: the vega libraries are bundled into ``_static`` (see ``scalinglib.vega_bundle``).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import pandas as pd

__all__ = ["theme", "loglog_fit", "residuals", "log_scale", "POW10_LABELS"]

WIDTH, HEIGHT = 520, 320


@alt.theme.register("scalingbook", enable=True)
def theme() -> alt.theme.ThemeConfig:
    """The book's theme: one width, quiet grid, readable fonts."""
    return {
        "config": {
            "view": {"continuousWidth": WIDTH, "continuousHeight": HEIGHT, "stroke": None},
            "axis": {"labelFontSize": 12, "titleFontSize": 13, "gridColor": "#e8e8e8"},
            "legend": {"labelFontSize": 12, "titleFontSize": 12},
            "title": {"fontSize": 15, "anchor": "start"},
            "range": {"category": {"scheme": "tableau10"}},
        }
    }


POW10_LABELS = (
    "abs(log(datum.value) / LN10 - round(log(datum.value) / LN10)) < 1e-6 ? (datum.value >= 1e4 ? "
    "replace(format(datum.value, '.0e'), 'e+', 'e') : format(datum.value, '~g')) : ''"
)
"""A Vega label expression for log axes: label only the powers of ten, as 1e20 (large) or 0.1, 1, 10
(small); use as ``alt.Axis(labelExpr=POW10_LABELS)``."""


def log_scale(domain: Sequence[float] | None = None) -> alt.Scale:
    """A base-10 log scale (optionally with a fixed domain)."""
    return alt.Scale(type="log", domain=list(domain)) if domain is not None else alt.Scale(type="log")


def _tooltip(df: pd.DataFrame, cols: Sequence[str]) -> list[alt.Tooltip]:
    out = []
    for c in cols:
        if c in df.columns:
            fmt = ".4~g" if pd.api.types.is_numeric_dtype(df[c]) else None
            out.append(alt.Tooltip(c, format=fmt) if fmt else alt.Tooltip(c))
    return out


def loglog_fit(
    points: pd.DataFrame,
    x: str,
    y: str,
    curve: pd.DataFrame | None = None,
    *,
    color: str | None = None,
    x_title: str | None = None,
    y_title: str | None = None,
    title: str = "",
    tooltip: Sequence[str] = (),
    y_log: bool = True,
) -> alt.LayerChart | alt.Chart:
    """Scatter of ``points[x], points[y]`` on log-log axes, with an optional fitted ``curve``
    (same column names; drawn as lines, split by ``color`` if given)."""
    enc_color = alt.Color(f"{color}:N") if color else alt.value("#1f77b4")
    xs = alt.X(f"{x}:Q", scale=log_scale(), title=x_title or x)
    ys = alt.Y(f"{y}:Q", scale=log_scale() if y_log else alt.Scale(zero=False), title=y_title or y)
    tips = _tooltip(points, [x, y, *([color] if color else []), *tooltip])
    chart = alt.Chart(points).mark_circle(size=45, opacity=0.8).encode(xs, ys, color=enc_color, tooltip=tips)
    if curve is not None:
        line_tips = _tooltip(curve, [x, y, *([color] if color else [])])
        line = alt.Chart(curve).mark_line(strokeWidth=2).encode(xs, ys, color=enc_color, tooltip=line_tips)
        chart = alt.layer(chart, line)
    return chart.properties(title=title) if title else chart


def residuals(
    df: pd.DataFrame,
    x: str,
    residual: str,
    *,
    color: str | None = None,
    x_title: str | None = None,
    y_title: str = "log residual (pred - obs)",
    title: str = "",
    tooltip: Sequence[str] = (),
) -> alt.LayerChart:
    """Residuals against ``x`` (log axis) with a zero line."""
    enc_color = alt.Color(f"{color}:N") if color else alt.value("#1f77b4")
    pts = (
        alt.Chart(df)
        .mark_circle(size=40, opacity=0.8)
        .encode(
            alt.X(f"{x}:Q", scale=log_scale(), title=x_title or x),
            alt.Y(f"{residual}:Q", title=y_title),
            color=enc_color,
            tooltip=_tooltip(df, [x, residual, *([color] if color else []), *tooltip]),
        )
    )
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#888", strokeDash=[4, 4]).encode(y="zero:Q")
    chart = alt.layer(pts, zero)
    return chart.properties(title=title) if title else chart
