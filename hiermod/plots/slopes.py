"""Varying slopes: two-dimensional shrinkage of (intercept, slope), and each group's lines.

Inputs are :func:`hiermod.slope_shrinkage.slope_table` (one row per group),
:func:`hiermod.slope_shrinkage.slope_ellipse_table` (prob, intercept, slope) and
:func:`hiermod.slope_shrinkage.slope_lines_table` (points, lines).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hiermod.plots.style import (
    apply_layout,
    as_float,
    color,
    require_columns,
    safe_labels,
    safe_text,
)

__all__ = ["slope_shrinkage_plot", "slope_lines_plot"]

_TABLE = ["group", "own_intercept", "own_slope", "intercept", "slope"]


def slope_shrinkage_plot(
    table: pd.DataFrame,
    ellipse: pd.DataFrame | None = None,
    *,
    x: str = "x",
    title: str | None = "Each group's own line pulled toward the population",
) -> go.Figure:
    """Intercept (horizontal) against slope (vertical): each group's own least-squares line
    (orange circle) with an arrow to its partial-pooling estimate (blue diamond); groups without
    an own line get the diamond alone. Black cross: the population mean; dashed curves: the
    population's ellipses (labelled by the share of groups they hold)."""
    require_columns(table, _TABLE, "slope_shrinkage_plot")
    t = table.reset_index(drop=True)
    labels = safe_labels(t["group"])
    own_a, own_b = as_float(t["own_intercept"]), as_float(t["own_slope"])
    a, b = as_float(t["intercept"]), as_float(t["slope"])
    fig = go.Figure()
    if ellipse is not None and len(ellipse):
        require_columns(ellipse, ["prob", "intercept", "slope"], "slope_shrinkage_plot")
        for k, (p, rows) in enumerate(ellipse.groupby("prob", sort=True)):
            fig.add_trace(go.Scatter(
                x=as_float(rows["intercept"]), y=as_float(rows["slope"]), mode="lines",
                name=f"population: {float(p):.0%} of groups",
                line=dict(color=color("complete"), width=1.5, dash="dash" if k else "dot"),
                hoverinfo="skip"))
        centre = ellipse.attrs.get("centre")
        if centre is not None:
            fig.add_trace(go.Scatter(
                x=[centre[0]], y=[centre[1]], mode="markers", name="population mean",
                marker=dict(symbol="x-thin", size=14, line=dict(width=3, color=color("complete"))),
                hovertemplate="population mean<br>intercept %{x:.3g}<br>slope %{y:.3g}<extra></extra>"))
    ax, ay, sym, size = [], [], [], []
    for x0, y0, x1, y1 in zip(own_a, own_b, a, b):
        if np.isfinite(x0) and np.isfinite(y0):
            ax += [x0, x1, None]
            ay += [y0, y1, None]
            sym += ["circle", "arrow", "circle"]
            size += [0, 10, 0]
    if ax:
        fig.add_trace(go.Scatter(
            x=ax, y=ay, mode="lines+markers", name="shrinkage",
            line=dict(color=color("shrinkage"), width=1.2),
            marker=dict(symbol=sym, size=size, angleref="previous", standoff=5, color=color("shrinkage")),
            hoverinfo="skip"))
    own = np.isfinite(own_a) & np.isfinite(own_b)
    custom = np.column_stack([np.asarray(labels, dtype=object), own_a, own_b, a, b])
    hover = ("%{customdata[0]}<br>own line: %{customdata[1]:.3g} + %{customdata[2]:.3g} x<br>"
             "partial pooling: %{customdata[3]:.3g} + %{customdata[4]:.3g} x<extra></extra>")
    fig.add_trace(go.Scatter(
        x=own_a[own], y=own_b[own], mode="markers", name="own least-squares line",
        marker=dict(size=9, color=color("no_pooling"), opacity=0.85, line=dict(width=1, color="white")),
        customdata=custom[own], hovertemplate=hover))
    fig.add_trace(go.Scatter(
        x=a, y=b, mode="markers", name="partial pooling (posterior mean)",
        marker=dict(symbol="diamond", size=9, color=color("partial")),
        customdata=custom, hovertemplate=hover))
    apply_layout(fig, title, x_title=f"intercept (at {x} = 0)", y_title=f"slope of {x}", height=600)
    fig.update_layout(margin=dict(t=120))  # two legend rows under the title
    return fig


def slope_lines_plot(
    points: pd.DataFrame,
    lines: pd.DataFrame,
    groups: list | None = None,
    *,
    x: str = "x",
    y: str = "y",
    columns: int = 4,
    title: str | None = "Each group's fitted line beside its own least-squares line",
) -> go.Figure:
    """Small multiples, one panel per group (``groups``, default all, in table order): its data
    points, its own least-squares line (orange, dashed) and its partial-pooling line (blue)."""
    require_columns(points, ["group", "x", "y"], "slope_lines_plot")
    require_columns(lines, ["group", "line", "x", "y"], "slope_lines_plot")
    order = list(pd.unique(points["group"])) if groups is None else list(groups)
    n = max(1, len(order))
    cols = max(1, min(columns, n))
    rows = math.ceil(n / cols)
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=[safe_text(g) for g in order],
                        horizontal_spacing=0.03, vertical_spacing=min(0.08, 0.3 / rows))
    styles = {"own": dict(color=color("no_pooling"), width=2, dash="dash"),
              "partial pooling": dict(color=color("partial"), width=2.5)}
    names = {"own": "own least-squares line", "partial pooling": "partial pooling"}
    shown: set = set()
    for k, g in enumerate(order):
        r, c = k // cols + 1, k % cols + 1
        pts = points[points["group"] == g]
        fig.add_trace(go.Scattergl(
            x=as_float(pts["x"]), y=as_float(pts["y"]), mode="markers", name="data",
            marker=dict(size=4, color=color("draws"), opacity=0.6), legendgroup="data",
            showlegend="data" not in shown, hovertemplate=f"{safe_text(g)}<br>%{{x:.3g}}, %{{y:.3g}}<extra></extra>"),
            row=r, col=c)
        shown.add("data")
        for line, seg in lines[lines["group"] == g].groupby("line", sort=False):
            fig.add_trace(go.Scatter(
                x=as_float(seg["x"]), y=as_float(seg["y"]), mode="lines", name=names.get(line, safe_text(line)),
                line=styles.get(line, dict(color=color("neutral"))), legendgroup=str(line),
                showlegend=line not in shown, hoverinfo="skip"), row=r, col=c)
            shown.add(line)
    height = max(320, 190 * rows + 140)
    apply_layout(fig, title, height=height)
    # the legend above the panel titles (plot area = height - top - bottom margins)
    fig.update_layout(legend=dict(y=1.0 + 30 / (height - 110 - 60)))
    for c in range(1, cols + 1):
        fig.update_xaxes(title_text=safe_text(x), row=rows, col=c)
    for r in range(1, rows + 1):
        fig.update_yaxes(title_text=safe_text(y), row=r, col=1)
    fig.update_annotations(font_size=12)
    fig.update_layout(margin=dict(t=110))  # the legend sits between the title and the panel titles
    return fig
