"""Exact densities of the instant method's hyperparameters, for the prior set and empirical Bayes.

An instant engine (:mod:`hiermod.instant`) gives log p(y, u) on the grid's unconstrained scale u
(u = log h for a positive h, atanh for a correlation). On the natural scale

    log p(h | y) = log p(y, u) - sum_i log |dh_i / du_i| + const,     log p(y | h) = log p(h | y) - log p(h) + const,

evaluated directly (:func:`hyper_log_density`). The marginal density of one hyperparameter
(:func:`marginal_density`) is this, exactly, when the grid has one hyperparameter (tau); with several
(a Beta population's alpha and beta), integrating the others out point by point costs a grid
integration per point, so a kernel density of the posterior draws (reflected at 0) is used instead.
(:meth:`hiermod.instant.InstantPosterior.hyper_density` smooths the grid's weights with a kernel,
which oscillates where the grid's nodes are stretched far apart: eight schools' tau near 0.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np
import pandas as pd

from .priors import log_density, resolve_priors
from .prior_families import parse_prior

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .instant import InstantPosterior
    from .instant.engine import EngineParts
    from .spec import ModelSpec

__all__ = ["DENSITY_CHOICES", "engine_parts", "integrate", "log_jacobian", "hyper_log_density",
           "marginal_density"]

DENSITY_CHOICES = ("posterior", "likelihood")
"""What :func:`hyper_log_density` evaluates: log p(h | y) or the marginal likelihood log p(y | h)."""
DENSITY_POINTS = 200


def engine_parts(data: "GroupedData", spec: "ModelSpec", priors: Mapping | None = None
                 ) -> tuple["GroupedData", dict, "EngineParts"]:
    """:func:`hiermod.instant.engine_parts` (data for the spec's groups, resolved priors, parts)."""
    from .instant import engine_parts as parts

    return parts(data, spec, priors)


def integrate(parts: "EngineParts", fixed: Mapping[str, float] | None = None) -> "InstantPosterior":
    """The instant posterior of ``parts`` (``fixed`` hyperparameters held at their values):
    :func:`hiermod.instant.integrate_parts`."""
    from .instant import integrate_parts

    return integrate_parts(parts, fixed)


def log_jacobian(transform: str, u: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """log |dh/du| of the grid's transform at ``u`` (central difference)."""
    from .instant.engine import to_natural

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.abs(to_natural(transform, u + eps) - to_natural(transform, u - eps)) / (2 * eps))


def hyper_log_density(parts: "EngineParts", u: np.ndarray, priors: Mapping, of: str = "posterior") -> np.ndarray:
    """log p(h | y) (``of="posterior"``) or log p(y | h) (``of="likelihood"``) of all the grid's
    hyperparameters at h = natural(u), u (M, d), up to a constant (module docstring); -inf where 0."""
    from .instant.engine import to_natural

    if of not in DENSITY_CHOICES:
        raise ValueError(f"'of' must be one of {DENSITY_CHOICES}, got {of!r}")
    u = np.atleast_2d(np.asarray(u, float))
    out = np.asarray(parts.problem.log_density(u), float).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, name in enumerate(parts.problem.grid_names):
            out -= log_jacobian(parts.transforms[name], u[:, i])
            if of == "likelihood":
                out -= log_density(priors[name], to_natural(parts.transforms[name], u[:, i]))
    return np.where(np.isfinite(out), out, -np.inf)


def _weighted_quantiles(values: np.ndarray, weights: np.ndarray, q) -> np.ndarray:
    order = np.argsort(values)
    cdf = np.cumsum(weights[order])
    return np.interp(np.asarray(q) * cdf[-1], cdf, values[order])


def _reflected_kde(draws: np.ndarray, h: np.ndarray, positive: bool) -> np.ndarray:
    """A Gaussian kernel density of ``draws`` at ``h`` (Silverman's bandwidth), reflected at 0 for a
    positive hyperparameter so a density that is positive at 0 stays so."""
    x = np.asarray(draws, float)
    bw = 1.06 * x.std() * x.size ** (-0.2) or 1e-12
    k = np.exp(-0.5 * ((h[:, None] - x[None, :]) / bw) ** 2).sum(1)
    if positive:
        k += np.exp(-0.5 * ((h[:, None] + x[None, :]) / bw) ** 2).sum(1)
    return k


def marginal_density(parts: "EngineParts", post: "InstantPosterior", name: str, draws: np.ndarray | None = None,
                     points: int = DENSITY_POINTS) -> pd.DataFrame:
    """p(name | y) on ``points`` equally spaced values spanning the posterior's 0.01% .. 99.99%
    quantiles (from 0 for a positive hyperparameter whose density is still high at the lower end),
    columns ``[name, "density"]``, integrating to 1 over them. With one hyperparameter the engine's
    density itself (exact); with several, a kernel density of ``draws`` (the hyperparameter's
    posterior draws) reflected at 0."""
    from .instant.engine import to_unconstrained

    nodes, weights = post.hyper_nodes()
    transform = parts.transforms[name]
    lo, hi = _weighted_quantiles(np.asarray(nodes[name], float), weights, [1e-4, 1 - 1e-4])
    positive = transform == "log"
    if len(parts.problem.grid_names) == 1:
        h = np.linspace(lo, hi, points)
        logp = hyper_log_density(parts, to_unconstrained(transform, h)[:, None], {})
        if positive and logp[0] >= logp.max() - np.log(20):  # still high at the lower end: start at 0
            h = np.linspace(lo * 1e-3, hi, points)
            logp = hyper_log_density(parts, to_unconstrained(transform, h)[:, None], {})
        density = np.exp(logp - logp.max())
    else:
        if draws is None:
            raise ValueError("marginal_density needs the hyperparameter's draws when the grid has several.")
        h = np.linspace(0.0 if positive else lo, hi, points)
        density = _reflected_kde(draws, h, positive)
    return pd.DataFrame({name: h, "density": density / np.trapezoid(density, h)})
