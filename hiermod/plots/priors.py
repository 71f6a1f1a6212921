"""Prior previews: a prior's density, and prior-predictive data against the observed data.

Inputs come from :func:`hiermod.priors.density_table` (``x, density``) and
:func:`hiermod.prior_predictive.prior_predictive_draws` (array ``(n_sims, n_rows)`` on the data
scale) with :func:`hiermod.prior_predictive.observed_on_data_scale`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hiermod.plots.style import (
    PlotInputError,
    apply_layout,
    as_float,
    color,
    require_columns,
    safe_labels,
)

__all__ = ["prior_density_plot", "prior_predictive_plot"]


def prior_density_plot(
    curve: pd.DataFrame,
    name: str,
    *,
    prior_label: str | None = None,
    title: str | None = None,
) -> go.Figure:
    """The prior density of parameter ``name`` (a filled line); ``prior_label`` e.g. "HalfCauchy(5)"."""
    require_columns(curve, ["x", "density"], "prior_density_plot")
    fig = go.Figure(go.Scatter(
        x=as_float(curve["x"]), y=as_float(curve["density"]), mode="lines", fill="tozeroy",
        name="prior", line=dict(color=color("prior"), width=2.5),
        fillcolor="rgba(204,121,167,0.2)",
        hovertemplate="%{x:.3g}: density %{y:.3g}<extra></extra>",
    ))
    if title is None:
        title = f"Prior for {name}" + (f": {prior_label}" if prior_label else "")
    apply_layout(fig, title, x_title=name, y_title="density", height=320, show_legend=False)
    fig.update_yaxes(rangemode="tozero")
    return fig


def prior_predictive_plot(
    observed,
    simulated,
    *,
    labels=None,
    title: str | None = "Prior predictive: data the priors consider plausible",
    x_title: str | None = "outcome (data scale)",
    nbins: int = 80,
    x_range: tuple[float, float] | None = None,
) -> go.Figure:
    """Histogram (as a density) of simulated prior-predictive values, observed values as a rug.

    ``simulated``: array of any shape (every value is one simulated outcome), e.g.
    ``(n_sims, n_rows)``. ``observed``: the ``n_rows`` observed outcomes on the same scale.
    ``labels``: optional group label per observed row, shown on hover.
    """
    sim = np.asarray(simulated, dtype=float).ravel()
    sim = sim[np.isfinite(sim)]
    obs = as_float(np.ravel(np.asarray(observed, dtype=float)))
    if sim.size == 0:
        raise PlotInputError("prior_predictive_plot: no finite simulated values to draw.")
    fig = go.Figure()
    fig.add_trace(go.Histogram(
        x=sim, histnorm="probability density", nbinsx=nbins, name=f"prior predictive ({sim.size})",
        marker=dict(color=color("predictive")), opacity=0.6,
        hovertemplate="%{x}: %{y:.3g}<extra>prior predictive</extra>",
    ))
    lab = safe_labels(labels) if labels is not None else [""] * obs.size
    if len(lab) != obs.size:
        raise PlotInputError(f"prior_predictive_plot: {len(lab)} labels for {obs.size} observed values.")
    fig.add_trace(go.Scatter(
        x=obs, y=np.zeros(obs.size), mode="markers", name=f"observed ({obs.size})",
        marker=dict(symbol="line-ns", size=18, line=dict(width=2.5, color=color("observed")),
                    color=color("observed")),
        customdata=np.array(lab, dtype=object),
        hovertemplate="%{customdata}<br>observed: %{x:.3g}<extra></extra>",
        cliponaxis=False,
    ))
    apply_layout(fig, title, x_title=x_title, y_title="density", height=400)
    fig.update_layout(barmode="overlay")
    if x_range is not None:
        fig.update_xaxes(range=list(x_range))
    return fig
