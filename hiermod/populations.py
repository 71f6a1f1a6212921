"""Conjugate populations of group values: Beta for binomial data, Gamma for poisson data.

One entry per population says, in one place, the likelihood it belongs to, the name of its group
values, the per-row total they are scaled by, and (with Y_j, T_j the group's sums of outcomes and
totals: trials or exposure) the closed forms that make it conjugate:

    beta:   p_j ~ Beta(alpha, beta);       Y_j | alpha, beta ~ BetaBinomial(T_j, alpha, beta)
            p_j | alpha, beta, y ~ Beta(alpha + Y_j, beta + T_j - Y_j)
    gamma:  rate_j ~ Gamma(alpha, beta);   Y_j | alpha, beta ~ GammaPoisson(alpha, beta / T_j)
            (negative binomial), rate_j | alpha, beta, y ~ Gamma(alpha + Y_j, beta + T_j)

The sampled model puts the marginal likelihood on (alpha, beta) and draws the group values from
their exact conditional, so the sampler never meets the group values' funnel. ``theta`` (logit p /
log rate) is kept for the readers shared with normal populations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ConjugatePopulation:
    """A conjugate population (see the module docstring for the math)."""

    name: str
    likelihood: str
    value: str  # name of the group values: p / rate
    total: str  # the per-row field the values are scaled by: trials / exposure
    label: str
    value_label: str

    def marginal(self, alpha, beta, total):
        """NumPyro distribution of a group's summed outcome Y_j given (alpha, beta)."""
        raise NotImplementedError

    def conditional(self, alpha, beta, y, total):
        """NumPyro distribution of the group values given (alpha, beta) and the data."""
        raise NotImplementedError

    def link(self, value):
        """theta on the family's link scale (numpy or JAX arrays)."""
        raise NotImplementedError

    def draw(self, alpha: np.ndarray, beta: np.ndarray, size: tuple, rng: np.random.Generator) -> np.ndarray:
        """Prior draws of the group values: (n, J) for alpha, beta of shape (n,)."""
        raise NotImplementedError

    def grid_problem(self, y, total, group_idx, n_groups, prior_alpha, prior_beta):
        """The :class:`~hiermod.grid_quadrature.GridProblem` over (log alpha, log beta) with the
        closed-form marginal (:mod:`hiermod.hyper_grid`)."""
        raise NotImplementedError

    def conditional_draw(self, alpha, beta, y_sum, total_sum, rng: np.random.Generator) -> np.ndarray:
        """Draws of the group values (n, J) from their exact conditional given alpha, beta (n,) and
        the group sums (numpy)."""
        raise NotImplementedError

    def code(self) -> tuple[str, str]:
        """NumPyro source of the marginal and the conditional (names alpha, beta, y, total)."""
        raise NotImplementedError

    # the population's mean, each group's weight on its own data, and its concentration: the
    # conditional posterior mean of a group value is weight * raw + (1 - weight) * mean exactly
    link_code: str = ""  # source of link(value), ``{v}`` the values' name (exported scripts)
    mean_text: str = ""
    weight_text: str = ""
    concentration_text: str = ""

    def mean(self, alpha, beta):
        raise NotImplementedError

    def weight(self, alpha, beta, total):
        raise NotImplementedError

    def concentration(self, alpha, beta):
        """How tightly the groups gather (large: close together)."""
        raise NotImplementedError

    def default_rates(self, m: float) -> tuple[float, float]:
        """Rates of the default Exponential priors on (alpha, beta), given the pooled value on the
        link scale m: their prior means put the population's mean at the pooled value."""
        raise NotImplementedError


def _xp(value):
    """numpy for numpy input, jax.numpy otherwise."""
    if isinstance(value, (np.ndarray, np.generic, float, int)):
        return np
    import jax.numpy as jnp

    return jnp


class BetaPopulation(ConjugatePopulation):
    def marginal(self, alpha, beta, total):
        import numpyro.distributions as dist

        return dist.BetaBinomial(alpha, beta, total_count=total)

    def conditional(self, alpha, beta, y, total):
        import numpyro.distributions as dist

        return dist.Beta(alpha + y, beta + total - y)

    def link(self, value):
        xp = _xp(value)
        return xp.log(value) - xp.log1p(-value)

    def draw(self, alpha, beta, size, rng):  # kept inside (0, 1) so logit p stays finite
        p = rng.beta(np.asarray(alpha)[:, None], np.asarray(beta)[:, None], size=size)
        return np.clip(p, 1e-300, 1 - 1e-16)

    def grid_problem(self, y, total, group_idx, n_groups, prior_alpha, prior_beta):
        from .hyper_grid import beta_binomial_problem

        return beta_binomial_problem(y, total, group_idx, n_groups, prior_alpha, prior_beta)

    def conditional_draw(self, alpha, beta, y_sum, total_sum, rng):  # p_j | a, b, y, numpy (n, J)
        return np.clip(rng.beta(alpha[:, None] + y_sum, beta[:, None] + total_sum - y_sum), 1e-300, 1 - 1e-16)

    def default_rates(self, m):  # alpha ~ Exp(0.1), beta ~ Exp(0.1 p0/(1-p0)): means 10, 10 (1-p0)/p0
        p0 = 1 / (1 + math.exp(-m))
        return 0.1, 0.1 * p0 / (1 - p0)

    def code(self):
        return ("dist.BetaBinomial(alpha, beta, total_count=total)", "dist.Beta(alpha + y, beta + total - y)")

    def mean(self, alpha, beta):
        return alpha / (alpha + beta)

    def weight(self, alpha, beta, total):  # p_j | y ~ Beta(alpha + Y, beta + N - Y)
        return total / (total + alpha + beta)

    def concentration(self, alpha, beta):
        return alpha + beta


class GammaPopulation(ConjugatePopulation):
    def marginal(self, alpha, beta, total):
        import numpyro.distributions as dist

        return dist.GammaPoisson(alpha, beta / total)

    def conditional(self, alpha, beta, y, total):
        import numpyro.distributions as dist

        return dist.Gamma(alpha + y, beta + total)

    def link(self, value):
        return _xp(value).log(value)

    def draw(self, alpha, beta, size, rng):  # kept > 0 so log rate stays finite
        return np.clip(rng.gamma(np.asarray(alpha)[:, None], 1 / np.asarray(beta)[:, None], size=size), 1e-300, None)

    def grid_problem(self, y, total, group_idx, n_groups, prior_alpha, prior_beta):
        from .hyper_grid import gamma_poisson_problem

        return gamma_poisson_problem(y, total, group_idx, n_groups, prior_alpha, prior_beta)

    def conditional_draw(self, alpha, beta, y_sum, total_sum, rng):  # rate_j | a, b, y, numpy (n, J)
        return np.clip(rng.gamma(alpha[:, None] + y_sum) / (beta[:, None] + total_sum), 1e-300, None)

    def default_rates(self, m):  # alpha ~ Exp(0.5), beta ~ Exp(0.5 r0): means 2, 2 / r0
        return 0.5, 0.5 * math.exp(m)

    def code(self):
        return ("dist.GammaPoisson(alpha, beta / total)", "dist.Gamma(alpha + y, beta + total)")

    def mean(self, alpha, beta):
        return alpha / beta

    def weight(self, alpha, beta, total):  # rate_j | y ~ Gamma(alpha + Y, beta + E)
        return total / (total + beta)

    def concentration(self, alpha, beta):
        return alpha


POPULATIONS: dict[str, ConjugatePopulation] = {
    p.name: p for p in (
        BetaPopulation("beta", "binomial", "p", "trials", "Beta", "probability", "jnp.log({v}) - jnp.log1p(-{v})",
                       "alpha / (alpha + beta)",
                       "trials / (trials + alpha + beta)", "alpha + beta"),
        GammaPopulation("gamma", "poisson", "rate", "exposure", "Gamma", "rate", "jnp.log({v})", "alpha / beta",
                        "exposure / (exposure + beta)", "alpha"),
    )
}


def get(name: str) -> ConjugatePopulation:
    """The conjugate population called ``name`` (``beta`` or ``gamma``)."""
    return POPULATIONS[str(name)]
