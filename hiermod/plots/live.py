"""Figures of the live panel: a hyperparameter's posterior density over its prior, and the pooling
continuum drawn fast enough to redraw on every keystroke for many groups.

Inputs: :meth:`hiermod.instant.InstantPosterior.hyper_density` (columns ``[name, "density"]``),
:func:`hiermod.priors.density_table` (``x, density``) and :func:`hiermod.continuum.pooling_continuum`
(``group, tau, estimate``). The builders compute nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hiermod.plots.continuum import continuum_plot
from hiermod.plots.style import GREY, apply_layout, as_float, color, first_column, require_columns, safe_text

__all__ = ["hyper_density_plot", "live_continuum_plot", "LABELLED_GROUPS"]

LABELLED_GROUPS = 12
"""Up to this many groups the live continuum is :func:`hiermod.plots.continuum.continuum_plot` (one
coloured, labelled line per group); above, one trace holds every line (a figure of 85 traces takes
about half a second to build, one trace a few milliseconds)."""


def hyper_density_plot(posterior: pd.DataFrame, prior: pd.DataFrame | None, name: str, *,
                       posterior_label: str = "posterior", prior_label: str | None = None,
                       mark: float | None = None, title: str | None = None) -> go.Figure:
    """The posterior density of hyperparameter ``name`` (filled) and its prior (dashed).

    ``posterior`` has columns ``name`` and ``density``; ``prior`` ``x`` and ``density`` (None: no
    prior curve). ``mark`` draws a vertical line (the posterior mean, say). The x axis opens on
    the posterior, from 0 when it reaches toward 0 (a vague prior reaches much further; zoom out
    with a double click).
    """
    require_columns(posterior, [name, "density"], "hyper_density_plot")
    x, y = as_float(posterior[name]), as_float(posterior["density"])
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=x, y=y, mode="lines", fill="tozeroy", name=safe_text(posterior_label),
        line=dict(color=color("density"), width=2), fillcolor="rgba(86,180,233,0.3)",
        hovertemplate=f"{safe_text(name)}: %{{x:.3g}}<br>density %{{y:.3g}}<extra></extra>"))
    if prior is not None:
        require_columns(prior, ["x", "density"], "hyper_density_plot (prior)")
        fig.add_trace(go.Scatter(
            x=as_float(prior["x"]), y=as_float(prior["density"]), mode="lines",
            name=safe_text(f"prior {prior_label}" if prior_label else "prior"),
            line=dict(color=color("prior"), width=2, dash="dash"),
            hovertemplate=f"{safe_text(name)}: %{{x:.3g}}<br>prior density %{{y:.3g}}<extra></extra>"))
    if mark is not None and np.isfinite(mark):
        fig.add_vline(x=float(mark), line=dict(color=color("complete"), dash="dot", width=1.5))
    apply_layout(fig, title if title is not None else f"Posterior of {name}", x_title=name,
                 y_title="density", height=340)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.42, xanchor="left", x=0.0),
                      margin=dict(b=130))
    fin = np.isfinite(x) & np.isfinite(y)
    if fin.any():
        lo, hi = float(x[fin].min()), float(x[fin].max())
        near_zero = 0 <= lo < 0.5 * (hi - lo)  # a scale whose posterior reaches toward 0: show 0
        fig.update_xaxes(range=[0.0 if near_zero else lo - 0.05 * (hi - lo), hi])
        fig.update_yaxes(range=[0, 1.15 * float(y[fin].max())])
    return fig


def live_continuum_plot(continuum: pd.DataFrame, tau_table: pd.DataFrame | None = None, *,
                        tau_mark: float | None = None, x_max: float | None = None,
                        y_title: str | None = "estimate of theta given tau",
                        title: str | None = "From complete pooling (small tau) to no pooling (large tau)"
                        ) -> go.Figure:
    """The pooling continuum (E[theta_j | tau, y] against tau, p(tau | y) shaded below): for up to
    :data:`LABELLED_GROUPS` groups exactly :func:`~hiermod.plots.continuum.continuum_plot`; for more,
    every group's line in one grey trace (hover names the group) over the shaded density."""
    require_columns(continuum, ["group", "tau", "estimate"], "live_continuum_plot")
    groups = pd.unique(continuum["group"])
    if len(groups) <= LABELLED_GROUPS:
        return continuum_plot(continuum, tau_table, tau_mark=tau_mark, x_max=x_max, y_title=y_title,
                              title=title)
    fig = go.Figure()
    if tau_table is not None:
        dens_col = first_column(tau_table, ("density", "posterior", "pdf")) or "density"
        require_columns(tau_table, ["tau", dens_col], "live_continuum_plot (tau_table)")
        fig.add_trace(go.Scatter(
            x=as_float(tau_table["tau"]), y=as_float(tau_table[dens_col]), mode="lines", fill="tozeroy",
            name="posterior density of tau", line=dict(color=color("density"), width=1),
            fillcolor="rgba(86,180,233,0.25)", yaxis="y2",
            hovertemplate="tau: %{x:.3g}<br>p(tau | y): %{y:.3g}<extra></extra>"))
        if x_max is None:
            x_max = float(np.nanmax(as_float(tau_table["tau"])))
    # one trace: the groups' lines separated by gaps (NaN), in the table's group-major order
    t = continuum.reset_index(drop=True)
    codes, uniques = pd.factorize(t["group"])
    order = np.lexsort((as_float(t["tau"]), codes))
    codes = codes[order]
    x, y = as_float(t["tau"])[order], as_float(t["estimate"])[order]
    breaks = np.flatnonzero(np.diff(codes)) + 1
    x, y = np.insert(x, breaks, np.nan), np.insert(y, breaks, np.nan)
    labels = np.asarray([safe_text(g) for g in uniques], dtype=object)[codes]
    labels = np.insert(labels, breaks, "")
    fig.add_trace(go.Scatter(
        x=x, y=y, mode="lines", name=f"{len(uniques)} groups", connectgaps=False,
        line=dict(color=GREY, width=1), opacity=0.7, customdata=labels,
        hovertemplate="%{customdata}<br>tau: %{x:.3g}<br>estimate: %{y:.3g}<extra></extra>"))
    if tau_mark is not None:
        fig.add_vline(x=float(tau_mark), line=dict(color=color("complete"), dash="dot", width=1.5))
    apply_layout(fig, title, x_title="tau (between-group sd)", y_title=y_title, height=520)
    fig.update_layout(yaxis2=dict(overlaying="y", side="right", showgrid=False, rangemode="tozero",
                                  showticklabels=False, ticks="", showline=False))
    taus = as_float(t["tau"])
    if x_max is not None:
        fig.update_xaxes(range=[min(float(np.nanmin(taus)), 0.0), x_max])
    return fig
