"""Instant engine: a Beta or Gamma population (exact up to grid error).

(alpha, beta) on the grid in (log alpha, log beta) with the closed-form marginal likelihood; the
group values given (alpha, beta) are Beta(alpha + Y_j, beta + N_j - Y_j) or Gamma(alpha + Y_j,
beta + E_j) (:mod:`hiermod.populations`, :mod:`hiermod.hyper_grid`); theta_j is their link.
"""

from __future__ import annotations

import numpy as np

from .. import populations
from .engine import EngineParts

__all__ = ["build"]


def build(data, spec, priors) -> EngineParts:
    term = spec.row_term
    population = populations.get(term.population)
    y = np.asarray(data.y, float)
    total = spec.family.row_values(data)[population.total]
    idx, J = np.asarray(data.group_idx), data.n_groups
    problem = population.grid_problem(y, total, idx, J, priors["alpha"], priors["beta"])
    y_sum = np.bincount(idx, weights=y, minlength=J)
    total_sum = np.bincount(idx, weights=total, minlength=J)

    def sample_given(u, n, rng):
        alpha, beta = np.exp(u[:, 0]), np.exp(u[:, 1])
        value = population.conditional_draw(alpha, beta, y_sum, total_sum, rng)
        return {population.value: value, term.effect: population.link(value)}

    return EngineParts(f"exact: grid over (alpha, beta), {population.label} population in closed form",
                       True, problem, {"alpha": "log", "beta": "log"}, sample_given, step=0.4)
