"""A fit's draws and sampler statistics as numpy arrays: the accessors that diagnostics
(:mod:`hiermod.diagnostics`) and the plot tables (:mod:`hiermod.plot_tables`) share."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit


def has_sample_stats(fit: "Fit") -> bool:
    """True when the fit came from a sampler that records statistics (NUTS), and they are there."""
    return "sample_stats" in fit.idata.groups() and fit.method_info.has_sampler_stats


def n_chains_draws(fit: "Fit") -> tuple[int, int]:
    """(chains, draws per chain) of the posterior."""
    post = fit.idata.posterior
    return int(post.sizes["chain"]), int(post.sizes["draw"])


def sample_stat(fit: "Fit", name: str) -> np.ndarray | None:
    """A sample_stats variable as (chains, draws), or None when the fit has none."""
    if not has_sample_stats(fit) or name not in fit.idata.sample_stats:
        return None
    return np.asarray(fit.idata.sample_stats[name].values)


def bfmi(energy: np.ndarray) -> float:
    """E-BFMI of one chain: mean squared energy change over the energy variance (as ``az.bfmi``)."""
    energy = np.asarray(energy, dtype=float)
    var = np.var(energy, ddof=1) if energy.size > 1 else 0.0
    if energy.size < 2 or var == 0:
        return np.nan
    return float(np.mean(np.diff(energy) ** 2) / var)
