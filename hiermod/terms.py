"""Group terms: how the effects of one grouping factor are structured.

A model is a family (the observation model, :mod:`hiermod.families`) plus a list of group terms,
outermost first. A :class:`GroupTerm` names its grouping factor, its pooling, parameterization,
parent (nesting), varying slopes and population. For groups j of the term (m_j is ``mu`` for the
outermost term and the parent's effect for a nested one):

    no pooling:        theta_j ~ prior_theta                      (independently)
    complete pooling:  mu ~ prior_mu,  theta_j = mu
    partial pooling:   theta_j ~ Normal(m_j, tau),  tau ~ prior_tau (mu ~ prior_mu at the top)
                       non-centered: theta_j = m_j + tau * theta_decentered_j,  theta_decentered_j ~ Normal(0, 1)
    student_t population (robust; one level, no slopes):
                       theta_j ~ StudentT(nu_groups, m_j, tau),  nu_groups ~ prior (default Gamma(2, 0.1))
                       non-centered: theta_j = m_j + tau * theta_decentered_j,  theta_decentered_j ~ StudentT(nu_groups, 0, 1)
    varying slopes:    (theta_j, slope_x_j) ~ MVN((m_j, beta[x]), diag(tau, tau_x) R diag(tau, tau_x)),
                       R ~ LKJ(eta) (slope correlation "lkj") or R = I ("none"); rho_x = R[0, x]
    beta population:   p_j ~ Beta(alpha, beta)     (binomial data; theta_j = logit p_j)
    gamma population:  rate_j ~ Gamma(alpha, beta) (poisson data, shape and rate; theta_j = log rate_j)

Names: a model with one grouping column keeps ``mu``, ``tau``, ``theta`` (dim ``group``); nested
columns c get ``tau_c``, ``theta_c`` (dim c). Slopes: ``tau_x``, ``rho_x``, ``slope_x``; the LKJ
concentration's prior is called ``rho``. Populations: ``alpha``, ``beta``, ``p`` / ``rate``; a
Student-t population's degrees of freedom ``nu_groups`` (not ``nu``: that is a Student-t likelihood's).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from . import populations
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


class Population(StrEnum):
    """The distribution of the group effects under partial pooling."""

    NORMAL = "normal"  # theta_j ~ Normal(m_j, tau) on the link scale
    BETA = "beta"  # p_j ~ Beta(alpha, beta): binomial data
    GAMMA = "gamma"  # rate_j ~ Gamma(alpha, beta): poisson data
    STUDENT_T = "student_t"  # theta_j ~ StudentT(nu_groups, m_j, tau): robust to outlying groups


class SlopeCorrelation(StrEnum):
    """Between a group's intercept and its slopes: an LKJ prior on the correlation, or none."""

    LKJ = "lkj"
    NONE = "none"


POPULATIONS = tuple(p.value for p in Population)

CORRELATION_PRIOR = "rho"
"""Prior name of the LKJ concentration of the intercept/slope correlation matrix."""

CHOLESKY_SITE = "corr_cholesky"
"""The sampled Cholesky factor of that matrix (summaries report rho_x instead)."""

GROUP_DF = "nu_groups"
"""Degrees of freedom of a Student-t population of group effects (its prior's name)."""

GROUP_DF_PRIOR = ("Gamma", (2.0, 0.1))
"""Default prior of ``nu_groups``: Gamma(2, 0.1) (Juarez & Steel 2010; brms' default for a
Student-t's degrees of freedom): mean 20, 5% below 3.6, so heavy and near-normal tails are both plausible."""


@dataclass(frozen=True)
class GroupTerm:
    """The effects of one grouping factor (see the module docstring for the math).

    ``factor``: the grouping column (``dim`` names its groups in results); ``parent``: the factor it
    is nested in (None: outermost); ``slopes``: covariates whose effect varies by this factor;
    ``population``: distribution of the effects. Parameterization matters only under partial
    pooling with a normal or Student-t population (otherwise it is centered).
    """

    factor: str = "group"
    pooling: Pooling = Pooling.PARTIAL
    parameterization: Parameterization = Parameterization.NON_CENTERED
    parent: str | None = None
    slopes: tuple[str, ...] = ()
    correlation: SlopeCorrelation = SlopeCorrelation.LKJ
    population: Population = Population.NORMAL
    location: str = "mu"  # what the effects are centred on: mu, or the parent term's effect
    scale: str = "tau"
    effect: str = "theta"
    dim: str = "group"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "pooling", Pooling(self.pooling))
        set_(self, "population", Population(self.population))
        set_(self, "correlation", SlopeCorrelation(self.correlation))
        set_(self, "slopes", tuple(self.slopes))
        parameterization = Parameterization(self.parameterization)
        if self.pooling != Pooling.PARTIAL or self.conjugate:
            parameterization = Parameterization.CENTERED
        set_(self, "parameterization", parameterization)

    # ------------------------------------------------------------------ names

    @property
    def decentered(self) -> str:
        """Name of the standardized effects z_j of a non-centered term (kept for the funnel plot)."""
        return f"{self.effect}_decentered"

    @property
    def non_centered(self) -> bool:
        return self.pooling == Pooling.PARTIAL and self.parameterization == Parameterization.NON_CENTERED

    @property
    def partial(self) -> bool:
        return self.pooling == Pooling.PARTIAL

    @property
    def conjugate(self) -> bool:
        """A Beta or Gamma population (closed-form marginal likelihood)."""
        return self.partial and self.population.value in populations.POPULATIONS

    @property
    def robust(self) -> bool:
        """A Student-t population of effects (heavy tails: an outlying group is shrunk less)."""
        return self.partial and self.population == Population.STUDENT_T

    @property
    def df(self) -> str | None:
        """Name of the population's degrees of freedom (``nu_groups``), or None for a normal one."""
        return GROUP_DF if self.robust else None

    def standard_effects(self, rng: np.random.Generator, size: tuple, df=None) -> np.ndarray:
        """Draws of the standardized effects z = (theta - m) / tau, shaped ``size`` (n, ...):
        Normal(0, 1), or StudentT(df, 0, 1) for a Student-t population (``df`` (n,): one per draw)."""
        if not self.robust:
            return rng.standard_normal(size)
        df = np.asarray(df, dtype=float).reshape((-1,) + (1,) * (len(size) - 1))
        return rng.standard_t(np.broadcast_to(df, size))

    @property
    def population_value(self) -> str | None:
        """Name of a Beta/Gamma population's group values (``p`` / ``rate``), else None."""
        return populations.get(self.population).value if self.conjugate else None

    @property
    def correlated(self) -> bool:
        return bool(self.slopes) and self.partial and self.correlation == SlopeCorrelation.LKJ

    @staticmethod
    def slope_scale(x: str) -> str:
        return f"tau_{x}"

    @staticmethod
    def slope_effect(x: str) -> str:
        return f"slope_{x}"

    @staticmethod
    def slope_correlation(x: str) -> str:
        return f"rho_{x}"

    @property
    def own_location(self) -> bool:
        """True when ``location`` is a parameter of this term (``mu``), not the parent's effect."""
        return self.parent is None

    def prior_names(self) -> tuple[str, ...]:
        """Parameters of this term that need a prior."""
        if self.pooling == Pooling.NONE:
            return (self.effect,)
        if self.pooling == Pooling.COMPLETE:
            return (self.location,)
        if self.conjugate:
            return ("alpha", "beta")
        names = [self.location] if self.own_location else []
        names.append(self.scale)
        if self.robust:
            names.append(GROUP_DF)
        if self.partial:
            names.extend(self.slope_scale(x) for x in self.slopes)
        if self.correlated:
            names.append(CORRELATION_PRIOR)
        return tuple(names)

    def scale_names(self) -> tuple[str, ...]:
        """Those of :meth:`prior_names` that live on positive numbers."""
        if not self.partial:
            return ()
        if self.conjugate:
            return ("alpha", "beta")
        return (self.scale,) + ((GROUP_DF,) if self.robust else ()) + tuple(self.slope_scale(x) for x in self.slopes)

    def correlation_names(self) -> tuple[str, ...]:
        """Those of :meth:`prior_names` that are correlation-matrix priors (LKJ)."""
        return (CORRELATION_PRIOR,) if self.correlated else ()

    def parameter_names(self) -> tuple[str, ...]:
        """Every posterior quantity this term reports (priors' names plus effects and derived ones)."""
        names = [n for n in self.prior_names() if n != CORRELATION_PRIOR]
        if self.pooling != Pooling.NONE:
            names.append(self.effect)
        if self.population_value:
            names.append(self.population_value)
        if self.partial:
            names.extend(self.slope_effect(x) for x in self.slopes)
        if self.correlated:
            names.extend(self.slope_correlation(x) for x in self.slopes)
        return tuple(names)

    def working_names(self) -> tuple[str, ...]:
        """The sampler's working variables (standardized effects, joint intercept/slope sites):
        kept in results for the funnel plot, left out of summaries."""
        names = [self.decentered]
        if self.slopes:
            names += [f"{self.effect}_coefficients", f"{self.effect}_and_slopes_decentered"]
        if self.correlated:
            names.append(CHOLESKY_SITE)
        return tuple(names)

    def default_priors(self, m: float, s: float, slope_sds: dict[str, float] | None = None) -> dict[str, Prior]:
        """Weakly informative priors on the outcome's link scale (centre m, scale s):
        mu, theta (no pooling) ~ Normal(m, 2.5 s), tau ~ HalfNormal(s), tau_x ~ HalfNormal(s / sd(x)),
        rho: LKJ(2), nu_groups ~ Gamma(2, 0.1) (:data:`GROUP_DF_PRIOR`). Beta population (p0 = expit m): alpha ~ Exponential(0.1), beta ~ Exponential(0.1 p0/(1-p0))
        (prior means 10 and 10 (1-p0)/p0: population mean p0). Gamma population (r0 = exp m):
        alpha ~ Exponential(0.5), beta ~ Exponential(0.5 r0) (population mean rate r0)."""
        slope_sds = slope_sds or {}
        out: dict[str, Prior] = {}
        for name in self.prior_names():
            if name == CORRELATION_PRIOR:
                out[name] = Prior("LKJ", (2.0,))
            elif self.conjugate:
                out[name] = _population_prior(self.population, name, m)
            elif name == self.scale:
                out[name] = Prior("HalfNormal", (s,))
            elif name == GROUP_DF:
                out[name] = Prior(*GROUP_DF_PRIOR)
            elif name.startswith("tau_") and name[4:] in self.slopes:
                out[name] = Prior("HalfNormal", (nice(s / (slope_sds.get(name[4:]) or 1.0)),))
            else:
                out[name] = Prior("Normal", (m, nice(2.5 * s)))
        return out


def _population_prior(population: Population, name: str, m: float) -> Prior:
    """Default alpha / beta priors of a Beta or Gamma population (:meth:`ConjugatePopulation.default_rates`)."""
    alpha_rate, beta_rate = populations.get(population).default_rates(m)
    return Prior("Exponential", (nice(alpha_rate if name == "alpha" else beta_rate),))


def group_terms(groups: tuple[str, ...], pooling: Pooling, parameterizations: tuple[Parameterization, ...],
                slopes: tuple[str, ...] = (), correlation: SlopeCorrelation = SlopeCorrelation.LKJ,
                population: Population = Population.NORMAL) -> tuple[GroupTerm, ...]:
    """The terms of a model over grouping columns ``groups`` (outermost first; empty: one level
    over the data's group column), one parameterization per column. Without partial pooling the
    levels collapse to the innermost one (no pooling between levels to speak of)."""
    nested = len(groups) > 1
    if pooling != Pooling.PARTIAL:
        slopes = ()
    if not nested or pooling != Pooling.PARTIAL:
        factor = groups[-1] if groups else "group"
        names = _level_names(factor) if nested else {}
        return (GroupTerm(factor, pooling, parameterizations[-1], None, slopes, correlation, population,
                          **names),)
    terms: list[GroupTerm] = []
    for k, (column, parameterization) in enumerate(zip(groups, parameterizations)):
        parent = terms[-1] if terms else None
        innermost = k == len(groups) - 1
        terms.append(GroupTerm(
            column, pooling, parameterization, parent.factor if parent else None,
            slopes if innermost else (), correlation, Population.NORMAL,
            **_level_names(column), **({"location": parent.effect} if parent else {})))
    return tuple(terms)


def _level_names(column: str) -> dict[str, str]:
    return {"scale": f"tau_{column}", "effect": f"theta_{column}", "dim": column}
