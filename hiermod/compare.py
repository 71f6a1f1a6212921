"""Compare pooling modes, measure shrinkage, predict a new group, split the variance, check the fit.

All functions compute tables (pandas DataFrames); ``plots/`` draws them. This module gathers the
public names of the modules that do each job, so ``hiermod.compare.X`` keeps working:
:mod:`hiermod.shrinkage`, :mod:`hiermod.model_comparison`, :mod:`hiermod.new_group`,
:mod:`hiermod.variance`, :mod:`hiermod.ppc` (shared helpers: :mod:`hiermod.table_helpers`).

Scales: ``theta`` lives on the link scale (identity for normal data, logit for binomial, log
for poisson). Tables give link-scale columns and, for binomial and poisson data, ``*_response``
columns on the probability / rate scale.

Intervals: posterior quantities of parameters use highest-density intervals (HDI); predictive
quantities (new observations, replicated data) use central (equal-tailed) intervals, which suit
discrete counts better.
"""

from __future__ import annotations

from .model_comparison import (  # noqa: F401
    PARETO_K_MAX,
    POOLING_MODES,
    _pareto_warning,
    compare_structures,
    fit_pooling_modes,
    forest_table,
    loo_comparability,
    loo_table,
    structure_alternatives,
)
from .new_group import new_group_draws, new_group_levels, predict_new_group, predict_new_group_levels
from .ppc import PPC_BLOCK_VALUES, ppc_summary, ppc_table  # noqa: F401
from .shrinkage import COVARIATE_ADJUSTMENT, group_estimates, shrinkage_table  # noqa: F401
from .table_helpers import _central, _hdi  # noqa: F401  (used by tests and older callers)
from .variance import variance_decomposition, variance_draws

__all__ = [
    "PARETO_K_MAX", "group_estimates", "shrinkage_table", "fit_pooling_modes", "loo_table",
    "forest_table", "new_group_draws", "predict_new_group", "variance_decomposition", "ppc_table",
    "ppc_summary", "compare_structures", "structure_alternatives", "loo_comparability",
    "predict_new_group_levels", "new_group_levels", "variance_draws",
]
