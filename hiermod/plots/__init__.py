"""Plotly figure builders for hiermod.

Each builder takes a tidy table from :mod:`hiermod.diagnostics`, :mod:`hiermod.compare`,
:mod:`hiermod.exact` or :mod:`hiermod.priors` (or a few arrays) and returns a
``plotly.graph_objects.Figure``. Builders compute no statistics and import no Streamlit.
Every piece of user text (group labels, column names) goes through
:func:`hiermod.plots.style.safe_text`, so it is shown literally, never as markup.
"""

from hiermod.plots.checks import forest_plot, holdout_plot, new_group_plot, ppc_plot, variance_plot
from hiermod.plots.continuum import continuum_plot
from hiermod.plots.diagnostics import energy_plot, posterior_vs_prior_plot, rank_plot, trace_plot
from hiermod.plots.funnel import funnel_pair, funnel_plot
from hiermod.plots.priors import prior_density_plot, prior_predictive_plot
from hiermod.plots.shrinkage import shrinkage_plot, shrinkage_vs_precision
from hiermod.plots.slopes import slope_lines_plot, slope_shrinkage_plot
from hiermod.plots.style import OKABE_ITO, ROLE_COLORS, PlotInputError, apply_layout, safe_text

__all__ = [
    "shrinkage_plot",
    "shrinkage_vs_precision",
    "slope_shrinkage_plot",
    "slope_lines_plot",
    "continuum_plot",
    "funnel_plot",
    "funnel_pair",
    "trace_plot",
    "rank_plot",
    "energy_plot",
    "posterior_vs_prior_plot",
    "prior_density_plot",
    "prior_predictive_plot",
    "ppc_plot",
    "forest_plot",
    "variance_plot",
    "new_group_plot",
    "holdout_plot",
    "safe_text",
    "apply_layout",
    "OKABE_ITO",
    "ROLE_COLORS",
    "PlotInputError",
]
