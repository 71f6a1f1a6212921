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
    nbins: int = 60,
    x_range: tuple[float, float] | str | None = "observed",
) -> go.Figure:
    """Histogram (as a density) of simulated prior-predictive values, observed values as a rug.

    ``simulated``: array of any shape (every value is one simulated outcome), e.g.
    ``(n_sims, n_rows)``. ``observed``: the ``n_rows`` observed outcomes on the same scale.
    ``labels``: optional group label per observed row, shown on hover.
    ``x_range``: ``"observed"`` (default) opens the view on the observed span widened twice its
    width each side and bins only there (vague priors simulate values far out; the legend says
    how many fall outside the view); ``None`` shows everything; or an explicit ``(lo, hi)``.
    """
    sim = np.asarray(simulated, dtype=float).ravel()
    sim = sim[np.isfinite(sim)]
    obs = as_float(np.ravel(np.asarray(observed, dtype=float)))
    if sim.size == 0:
        raise PlotInputError("prior_predictive_plot: no finite simulated values to draw.")
    view = None
    if isinstance(x_range, str):
        if x_range != "observed":
            raise ValueError(f"x_range must be 'observed', None or (lo, hi); got {x_range!r}")
        fin = obs[np.isfinite(obs)]
        if fin.size:
            lo, hi = float(fin.min()), float(fin.max())
            w = (hi - lo) or max(abs(hi), 1.0)
            view = (lo - 2 * w, hi + 2 * w)
    elif x_range is not None:
        view = (float(x_range[0]), float(x_range[1]))
    name = f"prior predictive ({sim.size})"
    hist = dict(nbinsx=nbins)
    if view is not None:
        n_out = int(np.count_nonzero((sim < view[0]) | (sim > view[1])))
        if n_out:
            name = f"prior predictive ({sim.size}; {n_out} outside the view)"
        hist = dict(xbins=dict(start=view[0], end=view[1], size=(view[1] - view[0]) / nbins))
    fig = go.Figure()
    fig.add_trace(go.Histogram(
        x=sim, histnorm="probability density", name=name, **hist,
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
    if view is not None:
        fig.update_xaxes(range=list(view))
    return fig
