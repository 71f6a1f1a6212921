"""Instant engine: a Student-t population of effects with known standard errors (one level, no
covariates). Exact up to grid and quadrature error.

theta_j ~ StudentT(nu, mu, tau) is a scale mixture of normals: theta_j | w_j ~ Normal(mu, tau / sqrt(w_j))
with w_j ~ Gamma(nu/2, nu/2). Given (mu, tau, nu) and w_j everything is conjugate, so with ybar_j, s_j
each group's precision-weighted estimate and its se (:func:`hiermod.exact._group_estimates`, which
also keeps the constant of several rows per group):

    p(ybar_j | mu, tau, nu) = E_w[ Normal(ybar_j | mu, sqrt(s_j^2 + tau^2 / w)) ]
    theta_j | w, mu, tau, y ~ Normal((ybar_j tau^2 + mu s_j^2 w) / v,  s_j^2 tau^2 / v),  v = s_j^2 w + tau^2

The expectation over w is a 1-D integral, done by the trapezoid rule in t = log w over where w has
mass (its 1e-14 and 1 - 1e-14 quantiles, the lower end no lower than w = e^-70, where the
normal's density, which falls like sqrt(w), is under e^-35 of its scale): the density of log w times the normal is smooth and decays at both
ends, so the rule converges geometrically (``MIXTURE_NODES`` nodes: relative error at most 2e-7
against scipy's quad over theta, tau down to 0.005 and nu from 0.02 to 300; 81 nodes: 4e-5).
h = (mu, log tau, log nu_groups) goes on the shared adaptive grid (:mod:`hiermod.grid_quadrature`);
the nodes give E and Var of theta_j given h. Draws of theta_j given h: t_j = log w_j from the
piecewise-linear density through the nodes, then theta_j from the normal above.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

from .. import exact
from ..grid_quadrature import GridProblem
from ..hyper_grid import _frozen, _log_prior_log_scale
from .engine import EngineParts, to_natural
from .group_quadrature import GRID_TAIL, _inside

__all__ = ["build", "MIXTURE_NODES", "MAX_GROUPS", "log_w_nodes"]

MAX_GROUPS = 30
"""Groups served: the 3-D grid x ``MIXTURE_NODES`` x groups costs about 0.05 s per group (8 groups
0.8 s, 20 groups 1.4 s on a loaded 2-core machine); beyond this NUTS is the quicker answer."""
MIXTURE_NODES = 121
"""Trapezoid nodes in log w per group and grid point."""
TAIL_PROBABILITY = 1e-14   # the log-w range spans w's quantiles at this probability and 1 minus it
LOWEST_LOG_W = -70.0
STEP = 0.5
"""Grid step (posterior sds): against step 0.3 and tail 20, no mean moved by 1e-4 sds and no sd by
6e-4 on eight schools (step 0.75: 1% of an sd, log tau's long tail towards 0); the grid reaches
GRID_TAIL (12) below the maximum, as the count engine's (tail 20 changed nothing)."""
CHUNK = 2_000_000          # grid points x nodes x groups evaluated at once
_LOG_2PI = math.log(2 * math.pi)


def log_w_nodes(nu: np.ndarray, n: int = MIXTURE_NODES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each nu (M,): equally spaced nodes t (M, n) in t = log w, w ~ Gamma(nu/2, nu/2), the log
    density of t there (M, n) and the spacing (M, 1)."""
    a = np.asarray(nu, float)[:, None] / 2
    lo = np.log(np.maximum(stats.gamma.ppf(TAIL_PROBABILITY, a, scale=1 / a), 1e-300))
    lo = np.maximum(lo, LOWEST_LOG_W)
    hi = np.log(stats.gamma.isf(TAIL_PROBABILITY, a, scale=1 / a))
    t = lo + (hi - lo) * np.linspace(0.0, 1.0, n)
    return t, a * np.log(a) - special.gammaln(a) + a * t - a * np.exp(t), (hi - lo) / (n - 1)


def _trapezoid_log_weights(nu: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(t, log c) with E[g(w)] ~ sum_k exp(log c_k) g(e^t_k): the trapezoid rule in t."""
    t, log_density, step = log_w_nodes(nu)
    ends = np.zeros(t.shape[1])
    ends[[0, -1]] = math.log(0.5)
    return t, log_density + np.log(step) + ends


def _given_w(t, mu, tau, ybar, s2):
    """(log Normal(ybar | mu, sqrt(s^2 + tau^2 / w)), conditional mean and variance of theta) at
    w = e^t: t (M, K, 1), mu and tau (M, 1, 1), ybar and s2 (J,) -> (M, K, J)."""
    w = np.exp(t)
    v = s2 * w + tau**2
    log_g = 0.5 * (t - np.log(2 * np.pi * v)) - 0.5 * (ybar - mu) ** 2 * w / v
    return log_g, (ybar * tau**2 + mu * s2 * w) / v, s2 * tau**2 / v


def _log_given_w(neg_log_w, mu, tau, ybar, s2):
    """log Normal(ybar | mu, sqrt(s^2 + tau^2 / w)) alone (no moments): with r = s^2 + tau^2 e^{-t}
    (v = w r), -log(2 pi) / 2 - log(r) / 2 - (ybar - mu)^2 / (2 r), in place on one (M, K, J) array.
    ``neg_log_w``: e^{-t} (M, K, 1); mu and tau (M, 1, 1)."""
    r = (tau * tau) * neg_log_w + s2
    d2 = (ybar - mu) ** 2                                                    # (M, 1, J)
    out = np.log(r)
    np.divide(d2, r, out=r)
    out += r
    out *= -0.5
    out -= 0.5 * _LOG_2PI
    return out


def build(data, spec, priors) -> EngineParts:
    ybar, s, const = exact._group_estimates(data)
    s2, J = s**2, ybar.shape[0]
    prior_mu, prior_tau, prior_nu = priors["mu"], priors["tau"], priors[spec.row_term.df]
    names = ("mu", "tau", spec.row_term.df)
    transforms = {"mu": "identity", "tau": "log", spec.row_term.df: "log"}

    def evaluate(u: np.ndarray, with_moments: bool):
        rows = max(1, CHUNK // (MIXTURE_NODES * J))
        lps, means, variances = [], [], []
        for start in range(0, u.shape[0], rows):
            block = u[start:start + rows]
            t, logc = _trapezoid_log_weights(np.exp(block[:, 2]))
            mu, tau = block[:, 0, None, None], np.exp(block[:, 1, None, None])
            if with_moments:
                log_g, m, var = _given_w(t[..., None], mu, tau, ybar, s2)
            else:
                log_g = _log_given_w(np.exp(-t)[..., None], mu, tau, ybar, s2)
            log_terms = log_g
            log_terms += logc[..., None]                            # (M, K, J)
            top = log_terms.max(1)
            log_like = top + np.log(np.exp(log_terms - top[:, None, :]).sum(1))  # (M, J)
            lps.append(log_like.sum(1) + const + _frozen(prior_mu).logpdf(block[:, 0])
                       + _log_prior_log_scale(prior_tau, block[:, 1]) + _log_prior_log_scale(prior_nu, block[:, 2]))
            if with_moments:
                p = np.exp(log_terms - log_like[:, None, :])
                mean = (p * m).sum(1)
                means.append(mean)
                variances.append(np.maximum((p * (var + m**2)).sum(1) - mean**2, 0.0))
        lp = np.concatenate(lps)
        if not with_moments:
            return lp
        return lp, {"theta": (np.concatenate(means), np.concatenate(variances))}

    def natural(u):
        return {n: to_natural(transforms[n], u[:, i]) for i, n in enumerate(names)}

    def sample_given(u, n, rng):
        rows = max(1, CHUNK // (MIXTURE_NODES * J))
        return {"theta": np.concatenate([_draw_theta(u[i:i + rows], ybar, s2, rng)
                                         for i in range(0, u.shape[0], rows)])}

    start = np.array([_inside(prior_mu, float(np.median(ybar))),
                      math.log(_inside(prior_tau, max(float(np.std(ybar)), 0.3 * float(np.median(s)), 1e-6))),
                      math.log(_inside(prior_nu, 10.0))])
    problem = GridProblem(names, lambda u: evaluate(u, False), lambda u: evaluate(u, True), natural, start,
                          width=J * MIXTURE_NODES)
    return EngineParts(f"exact: grid over ({', '.join(names)}), the Student-t population as a scale mixture "
                       f"of normals ({MIXTURE_NODES}-node trapezoid rule in log w per group)",
                       True, problem, transforms, sample_given, step=STEP, tail=GRID_TAIL)


def _draw_theta(u: np.ndarray, ybar, s2, rng: np.random.Generator) -> np.ndarray:
    """One theta (n, J) per row of u: t = log w_j from the piecewise-linear density through the
    nodes' values of p(t | h, ybar_j), then theta_j | w_j from its normal."""
    t, log_density, step = log_w_nodes(np.exp(u[:, 2]))
    mu, tau = u[:, 0, None, None], np.exp(u[:, 1, None, None])
    log_g, _, _ = _given_w(t[..., None], mu, tau, ybar, s2)
    log_f = log_density[..., None] + log_g                                 # (n, K, J): p(t | h, ybar_j), unnormalised
    f = np.exp(log_f - log_f.max(1, keepdims=True))
    left, right = f[:, :-1], f[:, 1:]
    area = 0.5 * (left + right)                                            # (n, K - 1, J), common cell width
    cdf = np.cumsum(area, axis=1)
    pick = rng.uniform(size=(u.shape[0], 1, ybar.shape[0])) * cdf[:, -1:, :]
    cell = np.minimum((cdf < pick).sum(1), area.shape[1] - 1)              # (n, J)
    take = lambda x: np.take_along_axis(x, cell[:, None, :], axis=1)[:, 0]  # noqa: E731
    fa, fb = take(left), take(right)
    # inverse CDF of the density fa + (fb - fa) x on [0, 1]
    v = rng.uniform(size=cell.shape)
    slope = fb - fa
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(np.abs(slope) > 1e-12 * np.maximum(fa, fb),
                     (np.sqrt(np.maximum(fa**2 + slope * (fa + fb) * v, 0.0)) - fa) / slope, v)
    t_draw = t[np.arange(t.shape[0])[:, None], cell] + np.clip(x, 0.0, 1.0) * step
    _, m, var = _given_w(t_draw[:, None, :], mu, tau, ybar, s2)
    return m[:, 0] + np.sqrt(var[:, 0]) * rng.standard_normal(cell.shape)
