"""Group terms: how the effects of one grouping factor are structured.

A model is a family (the observation model, :mod:`hiermod.families`) plus a list of group terms.
A :class:`GroupTerm` names its grouping factor, how strongly its groups are pooled, the
parameterization, and (designed for, filled in by later work) a parent factor for nesting, a
varying-slope covariate and the population distribution. For groups j of the term:

    no pooling:        theta_j ~ prior_theta                      (independently)
    complete pooling:  mu ~ prior_mu,  theta_j = mu
    partial pooling:   mu ~ prior_mu,  tau ~ prior_tau,  theta_j ~ Normal(mu, tau)
                       non-centered: theta_j = mu + tau * theta_decentered_j,  theta_decentered_j ~ Normal(0, 1)

The term's parameter names (``location``, ``scale``, ``effect``) are what every table, plot and
export calls them; a one-term model keeps today's names ``mu``, ``tau``, ``theta``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .prior_families import Prior, nice


class Pooling(StrEnum):
    """How group effects share information: not at all, completely, or partially."""

    NONE = "none"
    COMPLETE = "complete"
    PARTIAL = "partial"


class Parameterization(StrEnum):
    """Centered: theta ~ Normal(mu, tau). Non-centered: theta = mu + tau * z with z ~ Normal(0, 1)."""

    CENTERED = "centered"
    NON_CENTERED = "non_centered"


POPULATIONS = ("normal",)
"""Population distributions of the group effects (Beta and Gamma populations come next)."""


@dataclass(frozen=True)
class GroupTerm:
    """The effects of one grouping factor (see the module docstring for the math).

    ``factor``: the grouping column; ``parent``: the factor it is nested in (None: top level);
    ``slope``: a covariate whose effect varies by this factor (None: intercepts only);
    ``population``: distribution of the effects around ``mu`` (one of :data:`POPULATIONS`).
    Parameterization matters only under partial pooling (otherwise it is centered).
    """

    factor: str = "group"
    pooling: Pooling = Pooling.PARTIAL
    parameterization: Parameterization = Parameterization.NON_CENTERED
    parent: str | None = None
    slope: str | None = None
    population: str = "normal"

    def __post_init__(self) -> None:
        object.__setattr__(self, "pooling", Pooling(self.pooling))
        parameterization = Parameterization(self.parameterization)
        if self.pooling != Pooling.PARTIAL:
            parameterization = Parameterization.CENTERED
        object.__setattr__(self, "parameterization", parameterization)

    # names: a one-term model keeps mu / tau / theta
    location: str = "mu"
    scale: str = "tau"
    effect: str = "theta"

    @property
    def decentered(self) -> str:
        """Name of the standardized effects z_j of a non-centered term (kept for the funnel plot)."""
        return f"{self.effect}_decentered"

    @property
    def non_centered(self) -> bool:
        return self.pooling == Pooling.PARTIAL and self.parameterization == Parameterization.NON_CENTERED

    def prior_names(self) -> tuple[str, ...]:
        """Parameters of this term that need a prior."""
        if self.pooling == Pooling.NONE:
            return (self.effect,)
        if self.pooling == Pooling.COMPLETE:
            return (self.location,)
        return (self.location, self.scale)

    def scale_names(self) -> tuple[str, ...]:
        """Those of :meth:`prior_names` that live on positive numbers."""
        return (self.scale,) if self.pooling == Pooling.PARTIAL else ()

    def default_priors(self, m: float, s: float) -> dict[str, Prior]:
        """Weakly informative priors on the outcome's link scale (centre m, scale s):
        mu, theta (no pooling) ~ Normal(m, 2.5 s), tau ~ HalfNormal(s)."""
        out = {}
        for name in self.prior_names():
            out[name] = Prior("HalfNormal", (s,)) if name == self.scale else Prior("Normal", (m, nice(2.5 * s)))
        return out
