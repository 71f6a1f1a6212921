"""Neal's funnel: one group's effect against log tau, divergent draws on top.

Input is :func:`hiermod.diagnostics.funnel_table` (per draw x group)::

    chain, draw, group, log_tau, theta, theta_decentered (NaN if centered), diverging
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hiermod.plots.style import (
    PlotInputError,
    apply_layout,
    as_float,
    color,
    require_columns,
    safe_text,
)

__all__ = ["funnel_plot", "funnel_pair"]

_COLUMNS = ["chain", "draw", "group", "log_tau", "theta", "diverging"]


def _select(table: pd.DataFrame, group, decentered: bool, builder: str, x: str | None = None):
    xcol = x or ("theta_decentered" if decentered else "theta")
    require_columns(table, _COLUMNS + [xcol], builder)
    if group is None:
        group = table["group"].iloc[0]
    rows = table[table["group"] == group]
    if rows.empty:
        shown = [str(g) for g in pd.unique(table["group"])[:10]]
        raise PlotInputError(f"{builder}: no draws for group {str(group)!r}; groups are {shown}.")
    x = as_float(rows[xcol])
    if xcol == "theta_decentered" and not np.isfinite(x).any():
        raise PlotInputError(
            f"{builder}: theta_decentered is empty (NaN) — this fit is centered. "
            f"Use decentered=False, or fit the non-centered parameterization."
        )
    div = rows["diverging"].fillna(False).astype(bool).to_numpy()
    return group, rows, x, as_float(rows["log_tau"]), div, xcol


def _traces(rows, x, y, div, label: str, suffix: str = "", show_legend: bool = True):
    custom = np.column_stack([rows["chain"].to_numpy(), rows["draw"].to_numpy(),
                              np.full(len(rows), label, dtype=object)])
    hover = ("%{customdata[2]}<br>%{x:.3g}, log tau %{y:.3g}<br>"
             "chain %{customdata[0]}, draw %{customdata[1]}<extra>%{fullData.name}</extra>")
    ok = ~div
    n_div = int(div.sum())
    yield go.Scattergl(
        x=x[ok], y=y[ok], mode="markers", name=f"draws{suffix} ({int(ok.sum())})",
        marker=dict(size=4, color=color("draws"), opacity=0.45), customdata=custom[ok],
        hovertemplate=hover, showlegend=show_legend, legendgroup=f"ok{suffix}",
    )
    yield go.Scattergl(
        x=x[div], y=y[div], mode="markers", name=f"divergent{suffix} ({n_div})",
        marker=dict(size=8, color=color("divergent"), symbol="x",
                    line=dict(width=1, color=color("divergent"))),
        customdata=custom[div], hovertemplate=hover, showlegend=show_legend,
        legendgroup=f"div{suffix}",
    )


def funnel_plot(
    funnel_table: pd.DataFrame,
    group=None,
    *,
    decentered: bool = False,
    x: str | None = None,
    title: str | None = None,
    effect: str = "theta",
    scale: str = "tau",
) -> go.Figure:
    """Scatter of one group's theta (or theta_decentered) against log tau, divergences on top.

    ``group`` defaults to the first group in the table. ``x`` picks another column for the
    horizontal axis (``theta_standardized``, say); it overrides ``decentered``. The legend counts draws and
    divergent draws. Uses WebGL markers, so thousands of draws stay responsive.
    ``effect`` and ``scale`` name what the table's ``theta`` and ``tau`` columns hold (another
    level's effects, a slope, a population's concentration: :func:`hiermod.diagnostics.funnel_table`
    with ``scale``) in the axis titles and the title.
    """
    group, rows, xs, ys, div, xcol = _select(funnel_table, group, decentered, "funnel_plot", x)
    label = safe_text(group)
    fig = go.Figure(list(_traces(rows, xs, ys, div, label)))
    shown = str(effect) + xcol[len("theta"):] if xcol.startswith("theta") else xcol
    name = f"{shown}[{group}]"
    y_title = f"log {scale}" if " " not in str(scale) else f"log({scale})"
    if title is None:
        title = f"Funnel: {name} against {y_title}"
    apply_layout(fig, title, x_title=name, y_title=y_title, height=480)
    return fig


def funnel_pair(
    centered_table: pd.DataFrame,
    noncentered_table: pd.DataFrame,
    group=None,
    *,
    title: str | None = "Centered vs non-centered: the same model, two geometries",
) -> go.Figure:
    """Side by side: centered theta vs log tau, and non-centered theta_decentered vs log tau."""
    g, rows_c, xc, yc, dc, _ = _select(centered_table, group, False, "funnel_pair (centered)")
    _, rows_n, xn, yn, dn, _ = _select(noncentered_table, g, True, "funnel_pair (non-centered)")
    label = safe_text(g)
    fig = make_subplots(
        rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
        subplot_titles=(f"centered: theta[{label}]", f"non-centered: theta_decentered[{label}]"),
    )
    for tr in _traces(rows_c, xc, yc, dc, label, suffix=", centered"):
        fig.add_trace(tr, row=1, col=1)
    for tr in _traces(rows_n, xn, yn, dn, label, suffix=", non-centered"):
        fig.add_trace(tr, row=1, col=2)
    apply_layout(fig, title, height=480)
    fig.update_yaxes(title_text="log tau", row=1, col=1)
    fig.update_xaxes(title_text=f"theta[{label}]", row=1, col=1)
    fig.update_xaxes(title_text=f"theta_decentered[{label}]", row=1, col=2)
    fig.update_layout(margin=dict(t=110))
    return fig
