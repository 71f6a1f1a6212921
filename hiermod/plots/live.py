"""Figures of the live panel: a hyperparameter's posterior density over its prior.

Inputs: :meth:`hiermod.instant.InstantPosterior.hyper_density` (columns ``[name, "density"]``) and
:func:`hiermod.priors.density_table` (``x, density``). The builder computes nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hiermod.plots.style import apply_layout, as_float, color, require_columns, safe_text

__all__ = ["hyper_density_plot"]


def hyper_density_plot(posterior: pd.DataFrame, prior: pd.DataFrame | None, name: str, *,
                       posterior_label: str = "posterior", prior_label: str | None = None,
                       mark: float | None = None, title: str | None = None) -> go.Figure:
    """The posterior density of hyperparameter ``name`` (filled) and its prior (dashed).

    ``posterior`` has columns ``name`` and ``density``; ``prior`` ``x`` and ``density`` (None: no
    prior curve). ``mark`` draws a vertical line (the posterior mean, say). The x axis opens on
    the posterior (a vague prior reaches much further; zoom out with a double click).
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
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.32, xanchor="left", x=0.0),
                      margin=dict(b=120))
    fin = np.isfinite(x) & np.isfinite(y)
    if fin.any():
        lo, hi = float(x[fin].min()), float(x[fin].max())
        fig.update_xaxes(range=[min(lo, 0.0) if lo >= 0 else lo, hi])
        fig.update_yaxes(range=[0, 1.15 * float(y[fin].max())])
    return fig
