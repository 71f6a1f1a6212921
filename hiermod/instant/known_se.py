"""Instant engine: the normal model with known standard errors, one level, no covariates.

The math is :mod:`hiermod.exact`'s (BDA3 section 5.4): given tau, mu is integrated in closed form
(Normal prior) or by quadrature (any other), and theta_j | mu, tau, y is normal with shrinkage
B_j = s_j^2 / (s_j^2 + tau^2). Here tau's posterior goes on the shared adaptive grid in u = log tau,
so the result can be held at a fixed tau (empirical Bayes) and drawn like every other engine.
Complete and no pooling have no hyperparameters: their exact posteriors are used as they are.
"""

from __future__ import annotations

import numpy as np

from .. import exact
from ..grid_quadrature import GridProblem
from ..spec import Pooling
from .engine import EngineParts

__all__ = ["build"]

LABEL = "exact: grid over tau, closed form (or quadrature) for mu and the groups"


def build(data, spec, priors) -> EngineParts:
    ybar, s, const = exact._group_estimates(data)
    if spec.pooling != Pooling.PARTIAL:
        return _without_hyperparameters(data, spec, priors)
    prior_tau, prior_mu = priors["tau"], priors["mu"]
    s2 = s**2

    def log_density(u):
        return exact._tau_log_posterior(u[:, 0], ybar, s, const, prior_tau, prior_mu)[0]

    def moments(u):
        lp, emu, vmu = exact._tau_log_posterior(u[:, 0], ybar, s, const, prior_tau, prior_mu)
        t2 = np.exp(2 * u[:, 0])[:, None]
        B = s2 / (s2 + t2)
        et = B * emu[:, None] + (1 - B) * ybar
        vt = (1 - B) * s2 + B**2 * vmu[:, None]
        return lp, {"mu": (emu, vmu), "theta": (et, vt)}

    def sample_given(u, n, rng):
        tau = np.exp(u[:, 0])
        w = 1.0 / (s2 + tau[:, None] ** 2)
        W = w.sum(1)
        mu = exact._sample_prior_times_normal(prior_mu, (w @ ybar) / W, 1.0 / W, rng)
        # theta = mu + tau * dec, dec = tau (ybar - mu) w + s sqrt(w) z (no division by tau)
        dec = tau[:, None] * (ybar - mu[:, None]) * w + s * np.sqrt(w) * rng.standard_normal(w.shape)
        return {"mu": mu, "theta": mu[:, None] + tau[:, None] * dec}

    start = np.log([max(float(np.std(ybar)), float(np.median(s)) * 0.3, 1e-6)])
    problem = GridProblem(("tau",), log_density, moments, lambda u: {"tau": np.exp(u[:, 0])}, start,
                          width=ybar.shape[0])
    return EngineParts(LABEL, True, problem, {"tau": "log"}, sample_given, step=0.3)


def _without_hyperparameters(data, spec, priors) -> EngineParts:
    ep = exact.exact_posterior(data, spec, priors)
    draw = {Pooling.COMPLETE: exact._sample_complete, Pooling.NONE: exact._sample_none}[spec.pooling]
    moments = {k: (ep.means[k], ep.sds[k]) for k in ep.means}

    def sample_given(u, n, rng):
        return {k: np.asarray(v, float) for k, v in draw(ep, n, rng).items()}

    return EngineParts("exact: closed form (or quadrature)", True, None, {}, sample_given, moments)
