"""What the live preview computes (no Streamlit): the instant posterior of a model as a light
:class:`~hiermod.result.Fit`, and every table the live figures draw.

:func:`live_fit` is :func:`hiermod.instant.instant_fit` without the groups the live tables never read:
the same draws (one chain, the same seeded stream), but only the ``posterior`` group, no pointwise
log-likelihood, posterior predictive or prior draws (for radon's 919 rows those cost 39 ms of the
70 ms a full instant Fit takes; the posterior itself 15 ms). The shrinkage table
(:func:`hiermod.shrinkage.shrinkage_table`) and the pooling continuum read only posterior draws and
the priors. :func:`live_view` adds the shrinkage table, each free hyperparameter's posterior density
(:meth:`hiermod.instant.InstantPosterior.hyper_density`, cut to its central 99.8%) with its prior
density, and the pooling continuum (one-level normal models, see :func:`continuum_served`) over the
taus where tau's posterior lives.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from .data import GroupedData
    from .result import Fit
    from .spec import ModelSpec

__all__ = ["live_fit", "live_view", "central", "continuum_served", "LABEL", "DRAWS", "INTERVAL", "SHOWN_MASS",
           "CONTINUUM_POINTS"]

LABEL = "instant posterior (grid + quadrature)"
"""How every live figure and caption names what it shows (a NUTS fit is never called this)."""
DRAWS = 1000
"""Draws of the live Fit (one chain): the intervals of the shrinkage plot. Means and densities shown
as numbers are the grid's own (no Monte Carlo error)."""
INTERVAL = 0.9
CONTINUUM_POINTS = 50
"""The live continuum's taus: evenly spaced from 0 to the end of tau's drawn density (where the
posterior lives; the curves are smooth there). Radon's 85 lines at the default 121 geometric taus
made a 384 KB figure per keystroke, most of its points outside the view."""
SHOWN_MASS = 0.998
"""A hyperparameter's density is drawn over its central 99.8%: the far tails carry no visible mass
and would only stretch the axis (the grid reaches where the density is e^-20 of its peak)."""


def live_fit(data: "GroupedData", spec: "ModelSpec", draws: int = DRAWS, seed: int = 0) -> "Fit":
    """The instant posterior of ``spec`` on ``data`` as a one-chain Fit holding only the posterior
    group (``draws`` independent draws, the stream :func:`hiermod.instant.instant_fit` uses for
    ``seed``); ``Fit.exact`` is the :class:`~hiermod.instant.InstantPosterior`. SpecError when the
    instant method cannot serve the model."""
    import arviz as az

    from .fitting import check_numeric_range
    from .instant import instant_posterior, with_derived
    from .priors import resolve_priors
    from .result import Fit, dims_and_coords
    from .settings import SamplerSettings
    from .spec import check_compatible

    t0 = time.perf_counter()
    check_compatible(spec, data)
    check_numeric_range(data)
    data = data.for_groups(spec.groups)
    priors = resolve_priors(data, spec)
    post = instant_posterior(data, spec)
    t_post = time.perf_counter()
    settings = SamplerSettings(chains=1, draws=int(draws), seed=int(seed))
    flat = with_derived(post.draws(settings.draws, np.random.default_rng([settings.seed, 0])), data, spec)
    posterior = {k: np.asarray(v, np.float32 if np.ndim(v) > 1 else float)[None] for k, v in flat.items()}
    dims, coords = dims_and_coords(data, spec)
    dims = {k: v for k, v in dims.items() if k in posterior}
    used = {d for v in dims.values() for d in v}
    idata = az.from_dict(posterior=posterior, coords={k: v for k, v in coords.items() if k in used}, dims=dims)
    total = time.perf_counter() - t0
    timings = {"compile_s": 0.0, "compilations": 0.0, "posterior_s": t_post - t0, "sampling_s": total,
               "total_s": total}
    return Fit(idata, data, spec, priors, "instant", settings, timings, exact=post)


def central(density: "pd.DataFrame", name: str, mass: float = SHOWN_MASS) -> "pd.DataFrame":
    """The rows of a density table (``name``, ``density``) inside its central ``mass`` (trapezoid
    rule), from the last row below its lower end to the first row above its upper end."""
    x, y = density[name].to_numpy(float), density["density"].to_numpy(float)
    if len(x) < 3:
        return density
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(x))])
    cdf /= cdf[-1] if cdf[-1] > 0 else 1.0
    tail = (1.0 - mass) / 2
    lo, hi = np.searchsorted(cdf, tail), np.searchsorted(cdf, 1.0 - tail)
    return density.iloc[max(lo - 1, 0):min(hi + 1, len(x))].reset_index(drop=True)


def continuum_served(data: "GroupedData", spec: "ModelSpec", post) -> bool:
    """The pooling continuum applies: one grouping level, a normal population without slopes, data
    with a normal form per group (summary, gaussian), and tau free on the grid."""
    from .kind_registry import kind_info

    terms = spec.terms
    return (len(terms) == 1 and not terms[0].conjugate and not terms[0].robust and not terms[0].slopes
            and kind_info(data.kind).normal_estimates is not None
            and "tau" in post.hyper_names and "tau" not in post.fixed)


def live_view(data: "GroupedData", spec: "ModelSpec", draws: int = DRAWS) -> dict[str, Any]:
    """Everything the live panel draws for ``data`` and ``spec`` (priors included):

    ``fit`` (:func:`live_fit`), ``post`` (its InstantPosterior), ``table`` (the shrinkage table at
    :data:`INTERVAL`), ``hyper``: [(name, posterior density, prior density)] for every free grid
    hyperparameter, ``continuum``: :func:`hiermod.continuum.pooling_continuum` or None."""
    from .continuum import pooling_continuum
    from .priors import density_table
    from .shrinkage import shrinkage_table

    fit = live_fit(data, spec, draws)
    post = fit.exact
    hyper = []
    if post.grid is not None:
        for name in post.hyper_names:
            if name not in post.fixed:
                prior = density_table(fit.priors[name]) if name in fit.priors else None
                hyper.append((name, central(post.hyper_density(name, points=400), name), prior))
    continuum = None
    if continuum_served(fit.data, spec, post):
        tau = next(d for n, d, _ in hyper if n == "tau")["tau"]
        taus = np.linspace(0.0, float(tau.max()), CONTINUUM_POINTS)
        continuum = pooling_continuum(fit.data, fit.priors, taus=taus)
    return {"fit": fit, "post": post, "table": shrinkage_table(fit, hdi_prob=INTERVAL), "hyper": hyper,
            "continuum": continuum}
