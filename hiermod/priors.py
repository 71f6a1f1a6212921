"""Prior families -> numpyro distributions, numpy log densities, and data-scaled defaults.

Densities are computed with scipy so prior previews and the exact posterior never import JAX;
numpyro is imported only when a model is built.

Defaults (weakly informative, scaled to the data; ``s`` is the outcome's scale: the sd of the
outcome for gaussian data, max(sd of estimates, median se) for summary data, 1 on the logit/log
scale of binomial/poisson data; ``m`` is the outcome's centre: median outcome, or logit/log of
the pooled proportion/rate):

    mu, theta (no pooling) ~ Normal(m, 2.5 s)     tau ~ HalfNormal(s)
    sigma ~ HalfNormal(2.5 s)                       nu ~ Gamma(2, 0.1)
    beta[x] ~ Normal(0, 2.5 s / sd(x))
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Callable

import numpy as np
from scipy import stats

from .errors import PriorError
from .spec import Likelihood, ModelSpec, Prior, parse_prior

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData


def _scipy(prior: Prior):
    """The scipy.stats frozen distribution equal to ``prior``."""
    a = prior.kwargs
    f = prior.family
    if f == "Normal":
        return stats.norm(a["loc"], a["scale"])
    if f == "StudentT":
        return stats.t(a["df"], a["loc"], a["scale"])
    if f == "Cauchy":
        return stats.cauchy(a["loc"], a["scale"])
    if f == "HalfNormal":
        return stats.halfnorm(0, a["scale"])
    if f == "HalfCauchy":
        return stats.halfcauchy(0, a["scale"])
    if f == "HalfStudentT":
        return _HalfT(a["df"], a["scale"])
    if f == "Exponential":
        return stats.expon(0, 1 / a["rate"])
    if f == "Gamma":
        return stats.gamma(a["concentration"], 0, 1 / a["rate"])
    if f == "InverseGamma":
        return stats.invgamma(a["concentration"], 0, a["rate"])
    if f == "LogNormal":
        return stats.lognorm(a["scale"], 0, math.exp(a["loc"]))
    if f == "Uniform":
        return stats.uniform(a["low"], a["high"] - a["low"])
    raise PriorError(f"No density for prior family {f}.")  # pragma: no cover


class _HalfT:
    """|T| with T ~ StudentT(df, 0, scale): density 2 t(x) on x >= 0."""

    def __init__(self, df: float, scale: float):
        self._t = stats.t(df, 0, scale)

    def logpdf(self, x):
        x = np.asarray(x, dtype=float)
        return np.where(x >= 0, math.log(2) + self._t.logpdf(x), -np.inf)

    def pdf(self, x):
        return np.exp(self.logpdf(x))

    def ppf(self, q):
        return self._t.ppf(0.5 + 0.5 * np.asarray(q))

    def rvs(self, size=None, random_state=None):
        return np.abs(self._t.rvs(size=size, random_state=random_state))


def log_density(prior: Prior | str, x) -> np.ndarray:
    """log p(x) under ``prior`` (-inf outside its support)."""
    prior = parse_prior(prior)
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        out = np.asarray(_scipy(prior).logpdf(x), dtype=float)
    if prior.support == "positive":
        out = np.where(x >= 0, out, -np.inf)
    return out


def density(prior: Prior | str, x) -> np.ndarray:
    """p(x) under ``prior``."""
    return np.exp(log_density(prior, x))


def quantile(prior: Prior | str, q) -> np.ndarray:
    """Inverse CDF of ``prior`` at probabilities ``q``."""
    return np.asarray(_scipy(parse_prior(prior)).ppf(q), dtype=float)


def sample(prior: Prior | str, rng: np.random.Generator, size) -> np.ndarray:
    """Draws from ``prior`` with numpy's generator ``rng``."""
    return np.asarray(_scipy(parse_prior(prior)).rvs(size=size, random_state=rng), dtype=float)


def plot_range(prior: Prior | str, mass: float = 0.98) -> tuple[float, float]:
    """An x-range holding ``mass`` of the prior, for density previews."""
    prior = parse_prior(prior)
    lo, hi = quantile(prior, [(1 - mass) / 2, (1 + mass) / 2])
    if prior.support == "positive":
        lo = 0.0
        hi = float(quantile(prior, mass))
    return float(lo), float(hi)


def to_numpyro(family: str) -> Callable:
    """A constructor ``f(*args) -> numpyro Distribution`` for ``family``; args may be JAX arrays."""
    import numpyro.distributions as dist

    table: dict[str, Callable] = {
        "Normal": lambda loc, scale: dist.Normal(loc, scale),
        "StudentT": lambda df, loc, scale: dist.StudentT(df, loc, scale),
        "Cauchy": lambda loc, scale: dist.Cauchy(loc, scale),
        "HalfNormal": lambda scale: dist.HalfNormal(scale),
        "HalfCauchy": lambda scale: dist.HalfCauchy(scale),
        "HalfStudentT": _half_student_t,
        "Exponential": lambda rate: dist.Exponential(rate),
        "Gamma": lambda c, r: dist.Gamma(c, r),
        "InverseGamma": lambda c, r: dist.InverseGamma(c, r),
        "LogNormal": lambda loc, scale: dist.LogNormal(loc, scale),
        "Uniform": lambda low, high: dist.Uniform(low, high),
    }
    return table[family]


def _half_student_t(df, scale):
    """numpyro has no HalfStudentT: fold a StudentT(df, 0, scale) onto x >= 0."""
    import numpyro.distributions as dist

    return dist.FoldedDistribution(dist.StudentT(df, 0.0, scale))


# ---------------------------------------------------------------- defaults scaled to the data


def _nice(x: float) -> float:
    """Round to 3 significant digits so defaults read well."""
    if x == 0 or not math.isfinite(x):
        return 0.0
    return float(f"{x:.3g}")


def data_scale(data: "GroupedData", likelihood: Likelihood) -> tuple[float, float]:
    """(centre m, scale s) of the outcome on the model's link scale (see module docstring)."""
    y = np.asarray(data.y, dtype=float)
    if likelihood == Likelihood.BINOMIAL:
        p = (y.sum() + 0.5) / (np.asarray(data.trials, dtype=float).sum() + 1.0)
        return _nice(math.log(p / (1 - p))), 1.0
    if likelihood == Likelihood.POISSON:
        exposure = np.ones_like(y) if data.exposure is None else np.asarray(data.exposure, float)
        rate = (y.sum() + 0.5) / exposure.sum()
        return _nice(math.log(rate)), 1.0
    centre = float(np.median(y))
    sd = float(np.std(y, ddof=1)) if y.size > 1 else 0.0
    if likelihood == Likelihood.NORMAL_KNOWN_SE and data.se is not None:
        sd = max(sd, float(np.median(data.se)))
    if not sd > 0:
        sd = max(abs(centre), 1.0)
    return _nice(centre), _nice(sd)


def default_priors(data: "GroupedData", spec: ModelSpec) -> dict[str, Prior]:
    """Weakly informative priors scaled to ``data`` for every parameter ``spec`` needs."""
    m, s = data_scale(data, spec.likelihood)
    out: dict[str, Prior] = {}
    for name in spec.prior_names():
        if name in ("mu", "theta"):
            out[name] = Prior("Normal", (m, _nice(2.5 * s)))
        elif name == "tau":
            out[name] = Prior("HalfNormal", (s,))
        elif name == "sigma":
            out[name] = Prior("HalfNormal", (_nice(2.5 * s),))
        elif name == "nu":
            out[name] = Prior("Gamma", (2.0, 0.1))
        elif name.startswith("beta["):
            cov = name[5:-1]
            col = data.X[:, list(data.covariate_names).index(cov)]
            sd_x = float(np.std(col, ddof=1)) if col.size > 1 else 1.0
            out[name] = Prior("Normal", (0.0, _nice(2.5 * s / (sd_x if sd_x > 0 else 1.0))))
    return out


def resolve_priors(data: "GroupedData", spec: ModelSpec) -> dict[str, Prior]:
    """Defaults for ``data`` overridden by the spec's own priors (``beta`` applies to every covariate)."""
    priors = default_priors(data, spec)
    own = dict(spec.priors)
    if "beta" in own:
        for c in spec.covariates:
            priors[f"beta[{c}]"] = own["beta"]
    priors.update({k: v for k, v in own.items() if k != "beta"})
    return priors


def density_table(prior: Prior | str, n: int = 200, mass: float = 0.98):
    """A DataFrame (x, density) of ``prior`` over the range holding ``mass`` of it, for plots."""
    import pandas as pd

    lo, hi = plot_range(prior, mass)
    x = np.linspace(lo, hi, n)
    return pd.DataFrame({"x": x, "density": density(prior, x)})
