"""The pooling continuum: every group's estimate as a function of tau (BDA3 fig 5.6).

Input is :func:`hiermod.continuum.pooling_continuum` (long form: ``group, tau, estimate``) and,
optionally, :func:`hiermod.continuum.tau_posterior_table` (``tau, density``) shaded under the lines on a
secondary axis. tau -> 0 is complete pooling; large tau is no pooling.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hiermod.plots.style import (
    apply_layout,
    as_float,
    group_color,
    color,
    first_column,
    require_columns,
    safe_text,
)

__all__ = ["continuum_plot"]

_LABEL_ENDS_MAX = 12  # write group names at the right end of the lines up to this many groups


def continuum_plot(
    continuum: pd.DataFrame,
    tau_table: pd.DataFrame | None = None,
    *,
    log_x: bool = False,
    title: str | None = "From complete pooling (small tau) to no pooling (large tau)",
    y_title: str | None = "estimate of theta given tau",
    tau_mark: float | None = None,
    x_max: float | None = None,
) -> go.Figure:
    """One line per group: E[theta_j | tau, y] against tau, with p(tau | y) shaded below.

    ``tau_table`` (``tau`` and ``density``, or ``posterior``) goes on a secondary y axis.
    ``log_x`` puts tau on a log axis (rows with tau <= 0 are then not drawn).
    ``tau_mark`` draws a vertical line at a chosen tau (a slider value, say).
    ``x_max`` sets the right end of the tau axis; by default (linear axis) the view opens on
    the range of ``tau_table`` (where the posterior of tau lives), the rest one zoom away.
    """
    require_columns(continuum, ["group", "tau", "estimate"], "continuum_plot")
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    data = continuum
    if log_x:
        data = data[as_float(data["tau"]) > 0]
    if tau_table is not None:
        dens_col = first_column(tau_table, ("density", "posterior", "pdf"))
        require_columns(tau_table, ["tau", dens_col or "density"], "continuum_plot (tau_table)")
        tt = tau_table
        if log_x:
            tt = tt[as_float(tt["tau"]) > 0]
        fig.add_trace(go.Scatter(
            x=as_float(tt["tau"]), y=as_float(tt[dens_col]), mode="lines", fill="tozeroy",
            name="posterior density of tau", line=dict(color=color("density"), width=1),
            fillcolor="rgba(86,180,233,0.25)",
            hovertemplate="tau: %{x:.3g}<br>p(tau | y): %{y:.3g}<extra></extra>",
        ), secondary_y=True)
    if x_max is None and tau_table is not None and not log_x:
        x_max = float(np.nanmax(as_float(tt["tau"])))   # open the view where tau lives
    groups = list(pd.unique(data["group"]))
    label_ends = len(groups) <= _LABEL_ENDS_MAX
    for i, g in enumerate(groups):
        rows = data[data["group"] == g]
        order = np.argsort(as_float(rows["tau"]), kind="stable")
        x = as_float(rows["tau"])[order]
        y = as_float(rows["estimate"])[order]
        label = safe_text(g)
        fig.add_trace(go.Scatter(
            x=x, y=y, mode="lines", name=label, legendgroup="groups",
            line=dict(color=group_color(i), width=2),
            customdata=np.full(len(x), label, dtype=object),
            hovertemplate="%{customdata}<br>tau: %{x:.3g}<br>estimate: %{y:.3g}<extra></extra>",
            showlegend=not label_ends,
        ), secondary_y=False)
        if label_ends and len(x):
            # name the line at the right end of the opening view
            k = len(x) - 1 if x_max is None else max(int(np.searchsorted(x, x_max, "right")) - 1, 0)
            fig.add_annotation(x=np.log10(x[k]) if log_x else x[k], y=y[k], text=label,
                               showarrow=False, xanchor="left", xshift=4,
                               font=dict(size=12, color=group_color(i)), yref="y")
    if tau_mark is not None:
        fig.add_vline(x=float(tau_mark), line=dict(color=color("complete"), dash="dot", width=1.5))
    apply_layout(fig, title, height=520)
    fig.update_layout(margin=dict(r=110 if label_ends else 30))
    fig.update_xaxes(title_text="tau (between-group sd)", type="log" if log_x else "linear")
    taus = as_float(data["tau"])
    lo, hi = float(np.nanmin(taus)), float(np.nanmax(taus))
    if log_x:   # the continuum's own range (a density table may reach far smaller tau)
        fig.update_xaxes(range=[np.log10(lo), np.log10(x_max or hi)])
    elif x_max is not None:
        fig.update_xaxes(range=[min(lo, 0.0), x_max])
    fig.update_yaxes(title_text=safe_text(y_title) if y_title else None, secondary_y=False)
    fig.update_yaxes(secondary_y=True, showgrid=False, rangemode="tozero", showticklabels=False,
                     ticks="", showline=False)
    return fig
