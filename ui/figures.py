"""Drawing a figure on a page: build it guarded, show the error or the chart, keep it for export.

    show_figure(shrinkage_plot, table, scale=scale, context="drawing the shrinkage plot",
                key="shrinkage_plot", figures=figures, export_as="Shrinkage plot")

replaces the guard -> error message -> st.plotly_chart -> figures[title] = fig block the pages
repeated. Also the Model page's prior figures (hiermod.plots.priors with the page's sizes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, MutableMapping

import streamlit as st

from ui.components import guarded, show_error

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import plotly.graph_objects as go


def show_figure(build: Callable[..., "go.Figure"], *args: Any, context: str, key: str,
                figures: MutableMapping[str, "go.Figure"] | None = None, export_as: str | None = None,
                stretch: bool = False, layout: dict | None = None, **kwargs: Any) -> "go.Figure | None":
    """``build(*args, **kwargs)``; on failure an error box (never a traceback), else the chart
    (``layout`` applied first), kept in ``figures[export_as]`` for the export panel. Returns the
    figure or None."""
    fig, err = guarded(build, *args, context=context, **kwargs)
    if err is not None:
        show_error(err, context)
        return None
    if layout:
        fig.update_layout(**layout)
    if stretch:
        st.plotly_chart(fig, width="stretch", key=key)
    else:
        st.plotly_chart(fig, key=key)
    if figures is not None and export_as is not None:
        figures[export_as] = fig
    return fig


def density_figure(curve: "pd.DataFrame", name: str, prior_label: str | None = None) -> "go.Figure":
    """A prior's density curve, sized for the Model page's grid."""
    from hiermod.plots.priors import prior_density_plot

    fig = prior_density_plot(curve, name, prior_label=prior_label)
    fig.update_layout(height=240, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def prior_predictive_figure(observed, simulated, label: str = "outcome", labels=None) -> "go.Figure":
    """Observed values against prior predictive draws.

    The x-axis shows the middle 98% of simulated values (widened to every observed value), so
    heavy-tailed priors do not squash the picture.
    """
    import numpy as np

    from hiermod.plots.priors import prior_predictive_plot

    sim = np.asarray(simulated, dtype=float).ravel()
    sim = sim[np.isfinite(sim)]
    lo, hi = (np.quantile(sim, [0.01, 0.99]) if sim.size else (0.0, 1.0))
    obs = np.asarray(observed, dtype=float)
    lo, hi = float(min(lo, obs.min())), float(max(hi, obs.max()))
    pad = 0.03 * (hi - lo) if hi > lo else 1.0
    shown = sim[(sim >= lo - pad) & (sim <= hi + pad)]
    return prior_predictive_plot(observed, shown if shown.size else sim, labels=labels,
                                 x_title=f"{label} (data scale)", x_range=(lo - pad, hi + pad))
