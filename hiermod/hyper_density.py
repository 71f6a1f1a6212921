"""Exact densities of the instant method's hyperparameters, for the prior set and empirical Bayes.

An instant engine (:mod:`hiermod.instant`) gives log p(y, u) on the grid's unconstrained scale u
(u = log h for a positive h, atanh for a correlation). On the natural scale

    log p(h | y) = log p(y, u) - sum_i log |dh_i / du_i| + const,     log p(y | h) = log p(h | y) - log p(h) + const,

evaluated directly (:func:`hyper_log_density`). The marginal density of one hyperparameter is
:meth:`hiermod.instant.InstantPosterior.hyper_density`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np

from .priors import log_density

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .instant import InstantPosterior
    from .instant.engine import EngineParts
    from .spec import ModelSpec

__all__ = ["DENSITY_CHOICES", "engine_parts", "integrate", "hyper_log_density"]

DENSITY_CHOICES = ("posterior", "likelihood")
"""What :func:`hyper_log_density` evaluates: log p(h | y) or the marginal likelihood log p(y | h)."""


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


def hyper_log_density(parts: "EngineParts", u: np.ndarray, priors: Mapping, of: str = "posterior") -> np.ndarray:
    """log p(h | y) (``of="posterior"``) or log p(y | h) (``of="likelihood"``) of all the grid's
    hyperparameters at h = natural(u), u (M, d), up to a constant (module docstring); -inf where 0."""
    from .instant.engine import log_jacobian, to_natural

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

