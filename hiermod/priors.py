"""Prior densities, quantiles and draws in numpy, and data-scaled default priors.

The families themselves (arguments, support, scipy and NumPyro forms) are declared once in
:mod:`hiermod.prior_families`. Densities use scipy so prior previews and the exact posterior never
import JAX.

Defaults (weakly informative, scaled to the data; ``s`` is the outcome's scale: the sd of the
outcome for gaussian data, max(sd of estimates, median se) for summary data, 1 on the logit/log
scale of binomial/poisson data; ``m`` is the outcome's centre: median outcome, or logit/log of
the pooled proportion/rate):

    mu, theta (no pooling) ~ Normal(m, 2.5 s)     tau ~ HalfNormal(s)      (hiermod.terms)
    the family's own parameters: hiermod.families (sigma ~ HalfNormal(2.5 s), nu ~ Gamma(2, 0.1) ...)
    beta[x] ~ Normal(0, 2.5 s / sd(x))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import families
from .errors import PriorError
from .prior_families import Prior, frozen, nice, parse_prior, to_numpyro  # noqa: F401  (re-exported)
from .spec import ModelSpec

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData


def log_density(prior: Prior | str, x) -> np.ndarray:
    """log p(x) under ``prior`` (-inf outside its support)."""
    prior = parse_prior(prior)
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore"):
        out = np.asarray(frozen(prior).logpdf(x), dtype=float)
    if prior.support == "positive":
        out = np.where(x >= 0, out, -np.inf)
    return out


def density(prior: Prior | str, x) -> np.ndarray:
    """p(x) under ``prior``."""
    return np.exp(log_density(prior, x))


def quantile(prior: Prior | str, q) -> np.ndarray:
    """Inverse CDF of ``prior`` at probabilities ``q``."""
    return np.asarray(frozen(parse_prior(prior)).ppf(q), dtype=float)


def sample(prior: Prior | str, rng: np.random.Generator, size) -> np.ndarray:
    """Draws from ``prior`` with numpy's generator ``rng``."""
    return np.asarray(parse_prior(prior).scipy().rvs(size=size, random_state=rng), dtype=float)


def plot_range(prior: Prior | str, mass: float = 0.98) -> tuple[float, float]:
    """An x-range holding ``mass`` of the prior, for density previews (positive support: from 0).

    A bounded prior's range is widened to each bound lying within a quarter of the range's width
    of it, plus 5% of the width beyond the bound, so the preview shows where the density is cut off.
    """
    prior = parse_prior(prior)
    lo, hi = quantile(prior, [(1 - mass) / 2, (1 + mass) / 2])
    if prior.support == "positive":
        lo = 0.0
        hi = float(quantile(prior, mass))
    width = hi - lo
    if prior.lower is not None and prior.lower >= lo - width / 4:
        lo = prior.lower - width / 20
    if prior.upper is not None and prior.upper <= hi + width / 4:
        hi = prior.upper + width / 20
    if prior.support == "positive":
        lo = max(lo, 0.0)
    return float(lo), float(hi)


def data_scale(data: "GroupedData", likelihood) -> tuple[float, float]:
    """(centre m, scale s) of the outcome on the model's link scale (see the module docstring)."""
    return families.get(likelihood).data_scale(data)


def default_priors(data: "GroupedData", spec: ModelSpec) -> dict[str, Prior]:
    """Weakly informative priors scaled to ``data`` for every parameter ``spec`` needs."""
    family = spec.family
    m, s = family.data_scale(data)
    out: dict[str, Prior] = {}
    slope_sds = {x: _sd(data, x) for x in spec.slopes}
    for term in spec.terms:
        out.update(term.default_priors(m, s, slope_sds))
    out.update(family.default_priors(data))
    for cov in spec.covariates:
        out[f"beta[{cov}]"] = Prior("Normal", (0.0, nice(2.5 * s / _sd(data, cov))))
    return out


def _sd(data: "GroupedData", covariate: str) -> float:
    """Sample sd of a covariate (1 when it is constant or has one value)."""
    col = data.X[:, list(data.covariate_names).index(covariate)]
    sd_x = float(np.std(col, ddof=1)) if col.size > 1 else 1.0
    return sd_x if sd_x > 0 else 1.0


def resolve_priors(data: "GroupedData", spec: ModelSpec) -> dict[str, Prior]:
    """Defaults for ``data`` overridden by the spec's own priors (``beta`` applies to every
    covariate), checked by :func:`check_bounds`."""
    priors = default_priors(data, spec)
    own = dict(spec.priors)
    shorthand = "beta" in own and "beta" not in priors  # "beta" names a population's parameter otherwise
    if shorthand:
        for c in spec.covariates:
            priors[f"beta[{c}]"] = own["beta"]
    priors.update({k: v for k, v in own.items() if not (shorthand and k == "beta")})
    check_bounds(data, spec, priors)
    return priors


PLAUSIBLE_SCALES = 10.0
"""A location parameter is plausibly within m +- PLAUSIBLE_SCALES * s of the data (link scale)."""
MIN_SCALE_SHARE = 1e-6
"""A group sd's upper bound below MIN_SCALE_SHARE * s excludes every plausible value."""


def _plausible_ranges(data: "GroupedData", spec: ModelSpec) -> dict[str, tuple[float, float]]:
    """Per location parameter, the values the data make plausible (link scale): the terms'
    locations (mu; theta under no pooling) m +- 10 s, each beta[x] 0 +- 10 s / sd(x)."""
    m, s = spec.family.data_scale(data)
    out = {}
    for term in spec.terms:
        for name in set(term.prior_names()) - set(term.scale_names()):
            out[name] = (m - PLAUSIBLE_SCALES * s, m + PLAUSIBLE_SCALES * s)
    for cov in spec.covariates:
        col = data.X[:, list(data.covariate_names).index(cov)]
        sd_x = float(np.std(col, ddof=1)) if col.size > 1 else 1.0
        reach = PLAUSIBLE_SCALES * s / (sd_x if sd_x > 0 else 1.0)
        out[f"beta[{cov}]"] = (-reach, reach)
    return out


def check_bounds(data: "GroupedData", spec: ModelSpec, priors: dict[str, Prior]) -> None:
    """Raise :class:`PriorError` when a bounded prior excludes every value the data make plausible:
    a location parameter whose interval [lower, upper] misses its plausible range (above), or a
    group sd (tau) whose upper bound is below 1e-6 s (``data_scale`` gives m and s)."""
    _, s = spec.family.data_scale(data)
    scale_words = f" ({families.LINKS[spec.family.link].scale_name})"
    for name, (lo, hi) in _plausible_ranges(data, spec).items():
        prior = priors.get(name)
        if prior is None or not prior.bounded:
            continue
        lower, upper = prior.interval
        if upper < lo or lower > hi:
            which, value = ("upper", upper) if upper < lo else ("lower", lower)
            raise PriorError(
                f"The prior on '{name}', {prior}, has its {which} bound at {value:g}, but the data "
                f"suggest '{name}' lies between about {lo:.3g} and {hi:.3g}{scale_words}, so the bounds "
                f"exclude every plausible value. Move the bounds to overlap {lo:.3g} .. {hi:.3g}, or "
                "remove the T(...) part."
            )
    for term in spec.terms:
        for name in (n for n in term.scale_names() if n != term.df):  # group sds, not nu_groups
            prior = priors.get(name)
            if prior is not None and prior.upper is not None and prior.upper < MIN_SCALE_SHARE * s:
                raise PriorError(
                    f"The prior on '{name}', {prior}, has its upper bound at {prior.upper:g}, but the "
                    f"data's scale is about {s:.3g}{scale_words}: a group sd below "
                    f"{MIN_SCALE_SHARE * s:.3g} cannot be told from 0. Raise the upper bound (e.g. to "
                    f"{nice(10 * s):g}) or remove the T(...) part."
                )


def density_table(prior: Prior | str, n: int = 200, mass: float = 0.98):
    """A DataFrame (x, density) of ``prior`` over the range holding ``mass`` of it, for plots.

    A bounded prior gets two more points at each bound inside the range (the bound and the next
    float outside it), so the cut-off is drawn as a vertical step.
    """
    import pandas as pd

    prior = parse_prior(prior)
    lo, hi = plot_range(prior, mass)
    x = np.linspace(lo, hi, n)
    edges = [(prior.lower, -np.inf), (prior.upper, np.inf)]
    steps = [v for b, away in edges if b is not None and lo < b < hi for v in (b, np.nextafter(b, away))]
    if steps:
        x = np.union1d(x, steps)
    return pd.DataFrame({"x": x, "density": density(prior, x)})
