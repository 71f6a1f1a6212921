"""Instant engine: a Student-t population of effects with known standard errors (one level, no
covariates). Exact up to grid and quadrature error.

theta_j ~ StudentT(nu, mu, tau) is a scale mixture of normals: theta_j | w_j ~ Normal(mu, tau / sqrt(w_j))
with w_j ~ Gamma(a, a), a = nu / 2. Given (mu, tau, nu) and w_j everything is conjugate, so with ybar_j,
s_j each group's precision-weighted estimate and its se (:func:`hiermod.exact._group_estimates`, which
also keeps the constant of several rows per group) and d_j = ybar_j - mu:

    L_j = p(ybar_j | mu, tau, nu) = E_w[ Normal(d_j | 0, sqrt(s_j^2 + tau^2 / w)) ] = int F_j(t) dt,
    F_j(t) = a^a / Gamma(a) exp(a t - a e^t) Normal(d_j | 0, sqrt(r_j)),   r_j = s_j^2 + tau^2 e^-t,
    theta_j | w, mu, tau, y ~ Normal(mu + d_j tau^2 q_j,  s_j^2 tau^2 q_j),   q_j = 1 / (s_j^2 w + tau^2),

so E[theta_j | h, y] = mu + d_j tau^2 E[q_j] and Var = s_j^2 tau^2 E[q_j] + d_j^2 tau^4 Var[q_j], the
expectations over w given y_j: the integrals of F_j q_j^i (i = 0, 1, 2) over t = log w, each by the
trapezoid rule on nodes lo + k h (k = 0..K-1) shared by a grid point's groups. Its errors, relative:

* **Step.** F_j is analytic in the strip |Im t| < pi / 2 (r_j vanishes only at Im t = pi), where
  |F_j(x + iy)| is at most (cos y)^-alpha times its shape on the real line, alpha = a + 1/2 (the gamma
  factor's exp(-a e^t cos y) integrates to (cos y)^-a times its real value; 1 / sqrt(r_j) and
  exp(-d_j^2 / 2 r_j) act at most like a shape of 1/2 more: on the left F_j ~ e^{alpha t - beta e^t}).
  So the rule with step h errs by at most E(h) = min_{0 < y < pi/2} 2 (cos y)^-alpha / (e^{2 pi y / h} - 1)
  (about exp(-pi^2 / h) for small alpha, exp(-2 pi^2 / (alpha h^2)) for large); h is the largest step
  with E(h) <= ``NODE_ERROR`` (:func:`step_for`).
* **Left end.** The slope of log(F_j q^i) never exceeds alpha, and is at least alpha - kappa_j e^t,
  kappa_j = a + (d_j^2 + (2 i + 1) s_j^2) / (2 tau^2). The nodes left of lo (k < 0) are taken on the
  asymptote e^{alpha (t - lo)} (node lo's weight h / (1 - e^{-alpha h})): that underestimates them,
  by at most kappa_j e^lo of the sum (lo >= -CUT - log kappa_j makes it e^-``CUT``), and never by
  more than their own mass, which is under e^-CUT / 0.89 for lo = t_r - CUT / (0.89 alpha),
  t_r = min(log(tau^2 / s_j^2), log(alpha / (a + d_j^2 / 2 tau^2))) - 4 (left of t_r the slope is
  at least 0.89 alpha), and under e^-CUT where w's own left tail is cut (below).
* **Tilted gamma tails.** log Normal(d_j | 0, sqrt r_j) q_j^i changes by at most G = max(rise, i + 1/2)
  per unit of t and rises towards small w by at most rise = (D_j - 1)_+^2 / 8 D_j + i (D_j = d_j^2 / s_j^2),
  so, relative to its value at t = 0, the integrand is below the gamma density tilted by e^{-rise t}
  (t < 0) or e^{t / 2} (t > 0), and the integral is above E[e^{-G |t|}] >= e^{-G E|t|}, E t^2 <=
  1 / a + 2 / a^2. Chernoff's bound on the tilted gammas' tails then gives hi (and, when
  a - rise > 1/2, a lo) cutting at most e^-CUT.

lo is the smallest of the groups' left ends, hi the largest right end: the nodes follow where each
group's integrand lives (an outlier's mass at small w, far outside w's own quantiles, included).
The node count (hi - lo) / h + 1 is rounded up to one of ``NODE_COUNTS`` and grid points with the same
count are evaluated together. The sums need no max pass: the node weights are scaled by the
largest, and where some d_j^2 / 2 s_j^2 exceeds 600 each group's terms by exp(d_j^2 / 2 r_j(lo)) (r is
largest at lo), so none exceeds 1; where that underflows (an outlier with a large nu) the largest
term is the scale. The log density alone
uses the ends for i = 0. h = (mu, log tau, log nu_groups) goes on the shared adaptive grid
(:mod:`hiermod.grid_quadrature`). Draws of theta_j given h: t_j = log w_j from the piecewise-linear
density through ``DRAW_REFINE`` times as many nodes from lo to hi (cut, not extrapolated, at the
left), then theta_j from its normal given w_j.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
from scipy import special

from .. import exact
from ..grid_quadrature import GridProblem
from ..hyper_grid import _frozen, _log_prior_log_scale
from .engine import EngineParts, to_natural
from .group_quadrature import GRID_TAIL, _inside

__all__ = ["build", "MAX_GROUPS", "NODE_ERROR", "CUT", "step_for", "log_w_nodes", "log_likelihood"]

MAX_GROUPS = 30
"""Groups served: the work grows with grid points x nodes x groups; beyond this NUTS is the
quicker answer."""
NODE_ERROR = 1e-8
"""Discretisation error bound E(h) of each group's integral (relative), see the module docstring."""
CUT = 20.0
"""Each end of the t range cuts at most about e^-CUT of a group's integral."""
NODE_COUNTS = (12, 16, 20, 24, 32, 40, 48, 64, 80, 96, 128, 160, 192, 256)
"""Node counts grid points are bucketed by (rounded up; beyond the last, multiples of 64)."""
DRAW_REFINE = 4
"""Draws interpolate the density of t through this many times the quadrature's nodes."""
STEP = 0.5
"""Grid step (posterior sds): against step 0.3 and tail 20, no mean moved by 1e-4 sds and no sd by
6e-4 on eight schools (step 0.75: 1% of an sd, log tau's long tail towards 0); the grid reaches
GRID_TAIL (12) below the maximum, as the count engine's (tail 20 changed nothing)."""
CHUNK = 49_152             # grid points x nodes x groups evaluated at once (arrays that stay in cache)
LOWEST_T = -600.0          # e^-t stays finite (reached only for tau far below every se: zero weight)
_SLOPE = 0.89              # the left tail's slope of log F_j q^i is at least this times alpha
_LOG_2PI = math.log(2 * math.pi)
_TINY = 1e-280             # scaled sums below this are recomputed with the largest term as scale
_EXP_SAFE = 600.0          # exp of arguments above -_EXP_SAFE needs no scaling


@cache
def _step_table() -> tuple[np.ndarray, np.ndarray]:
    """(alpha, h): for alpha = 0.5 * 2^(k/4), the largest step h with E(h) <= NODE_ERROR (bisection
    in log h; E minimised over y on a grid dense near pi / 2)."""
    alpha = 0.5 * 2.0 ** (np.arange(0, 97) / 4)
    y = np.concatenate([np.geomspace(1e-6, 1.0, 400), np.pi / 2 - np.geomspace(1e-10, np.pi / 2 - 1.0, 400)])
    log_cos = np.log(np.cos(y))
    lo, hi = np.full(alpha.shape, math.log(1e-4)), np.full(alpha.shape, math.log(20.0))
    for _ in range(60):
        h = np.exp(0.5 * (lo + hi))[:, None]
        x = 2 * np.pi * y / h                                       # log(e^x - 1) = x + log(1 - e^-x)
        log_e = (math.log(2) - alpha[:, None] * log_cos - x - np.log(-np.expm1(-x))).min(1)
        ok = log_e <= math.log(NODE_ERROR)
        lo, hi = np.where(ok, 0.5 * (lo + hi), lo), np.where(ok, hi, 0.5 * (lo + hi))
    return alpha, np.exp(lo)


def step_for(alpha: np.ndarray) -> np.ndarray:
    """The trapezoid step in t for shape alpha = nu / 2 + 1/2: the table's value at the next larger
    alpha (E(h) grows with alpha), beyond the table h ~ 1 / sqrt(alpha) (the Gaussian limit)."""
    table_a, table_h = _step_table()
    alpha = np.asarray(alpha, float)
    k = np.minimum(np.searchsorted(table_a, alpha), table_a.size - 1)
    return np.where(alpha <= table_a[-1], table_h[k], table_h[-1] * np.sqrt(table_a[-1] / alpha))


def _chernoff(c: np.ndarray, side: int) -> np.ndarray:
    """z with e^z - 1 - z = c (c > 0), z < 0 (side -1) or z > 0 (side 1), or a little beyond it:
    Newton from beyond the root (e^z - 1 - z is convex), so every iterate lies beyond it."""
    z = np.where(side < 0, -(1 + c) - np.sqrt(2 * c), np.log1p(c) + np.log1p(np.log1p(c)))
    for _ in range(5):
        z = z - (np.expm1(z) - z - c) / np.expm1(z)
    return z


def t_range(a, tau2, d2, s2, extrapolated: bool = True, moments: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi) (M,) of the nodes in t = log w: a, tau2 (M,); d2 (M, J); s2 (J,). ``extrapolated``:
    the nodes left of lo are taken on their asymptote (the quadrature), else cut off (the draws).
    ``moments``: the ends hold for F_j q^i, i = 0, 1, 2 (else for F_j alone)."""
    i = 2.0 if moments else 0.0
    a_, alpha, tau2_ = a[:, None], a[:, None] + 0.5, tau2[:, None]
    # left of t_r the slope of log F_j q^i lies within [_SLOPE alpha, alpha]
    t_r = np.minimum(np.log(tau2_ / s2), np.log(alpha / (a_ + d2 / (2 * tau2_)))) - 4.0
    lo = t_r - CUT / (_SLOPE * alpha)
    if extrapolated:   # below lo, alpha - kappa e^t <= d log(F_j q^i) / dt <= alpha
        lo = np.maximum(lo, -CUT - np.log(a_ + (d2 + (2 * i + 1) * s2) / (2 * tau2_)))
    lo = lo.min(1)
    # tilted gamma bounds: log Normal(d | 0, sqrt r) q^i rises towards small w at most at the rate
    # rise = (D - 1)_+^2 / 8D + i per unit of t (D = d^2 / s^2) and changes at most at G = max(rise, 1/2 + i)
    D = np.maximum(d2 / s2, 1e-300)
    rise = (np.maximum(D - 1, 0) ** 2 / (8 * D)).max(1) + i
    G = np.maximum(rise, 0.5 + i)
    base = G * np.sqrt(1 / a + 2 / (a * a))              # log 1 / E[e^{-G |t|}] <= G E|t| (Jensen)
    log_gamma_a = special.gammaln(a)
    a_left = a - rise
    tilted = a_left > 0.5
    a_left = np.where(tilted, a_left, 1.0)
    slack = special.gammaln(a_left) - log_gamma_a + rise * np.log(a) + base
    lo_gamma = np.log(a_left / a) + _chernoff((CUT + slack) / a_left, -1)
    lo = np.maximum(np.where(tilted, np.maximum(lo, lo_gamma), lo), LOWEST_T)
    alpha = a + 0.5
    slack = special.gammaln(alpha) - log_gamma_a - 0.5 * np.log(a) + base
    return lo, np.log(alpha / a) + _chernoff((CUT + slack) / alpha, 1)


def _node_counts(a, lo, hi, refine: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(K (M,) node counts, step (M,)) for each grid point."""
    need = np.ceil((hi - lo) / step_for(a + 0.5)).astype(int) + 1
    counts = np.asarray(NODE_COUNTS)
    k = np.searchsorted(counts, need)
    K = np.where(k < counts.size, counts[np.minimum(k, counts.size - 1)], -(-need // 64) * 64)
    K = refine * (K - 1) + 1
    return K, (hi - lo) / (K - 1)


def log_w_nodes(a, lo, step, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes t (M, K) = lo + step k and the log density of t = log w, w ~ Gamma(a, a), there."""
    t = lo[:, None] + step[:, None] * np.arange(K)
    return t, a[:, None] * (np.log(a)[:, None] + t) - special.gammaln(a)[:, None] - a[:, None] * np.exp(t)


def _weighted_sums(c, e, terms, inv, with_moments):
    """sum_k c_k terms (M, J); with moments also sum_k c_k terms q and sum_k c_k terms q^2, q = e inv
    (e = e^-t (M, K), inv = 1 / r (M, J, K); ``terms`` is overwritten)."""
    S = np.matmul(terms, c[:, :, None])[..., 0]
    if not with_moments:
        return S, None, None
    terms *= inv
    ce = c * e
    A1 = np.matmul(terms, ce[:, :, None])[..., 0]
    terms *= inv
    ce *= e
    return S, A1, np.matmul(terms, ce[:, :, None])[..., 0]


def _bucket_sums(a, lo, step, K, mu, tau2, ybar, s2, with_moments, work):
    """(log L_j (M, J), E[q | y_j], E[q^2 | y_j]) over w, for grid points sharing the node count K.
    ``work``: three scratch arrays of at least M J K values (reused: fresh ones cost more than the
    sums). Arrays are (M, J, K): the nodes innermost."""
    t, log_c = log_w_nodes(a, lo, step, K)
    log_c += np.log(step)[:, None]
    log_c[:, 0] -= np.log(-np.expm1(-(a + 0.5) * step))               # the nodes left of lo, on e^{alpha t}
    log_c[:, -1] += math.log(0.5)
    top = log_c.max(1)
    c = np.exp(log_c - top[:, None])                                   # trapezoid weights / e^top, <= 1
    e = np.exp(-t)
    half_d2 = -0.5 * (ybar - mu[:, None]) ** 2                         # (M, J)
    shape = (a.shape[0], ybar.shape[0], K)
    inv, terms, root = (w[:math.prod(shape)].reshape(shape) if w.size >= math.prod(shape) else np.empty(shape)
                        for w in work)
    np.add((tau2[:, None] * e)[:, None, :], s2[:, None], out=inv)     # r
    np.reciprocal(inv, out=inv)
    np.multiply(inv, half_d2[..., None], out=terms)
    if np.min(half_d2 / s2) > -_EXP_SAFE:                             # -d^2 / 2r >= -d^2 / 2s^2: no underflow
        scale = np.zeros_like(half_d2)
    else:
        scale = half_d2 / (s2 + tau2[:, None] * np.exp(-lo)[:, None])  # the largest -d^2 / 2r: r at lo
        terms -= scale[..., None]
    np.exp(terms, out=terms)
    terms *= np.sqrt(inv, out=root)                                    # Normal(d | 0, sqrt r) sqrt(2 pi) / e^scale
    S, A1, A2 = _weighted_sums(c, e, terms, inv, with_moments)
    low = np.flatnonzero(~(S > _TINY).all(1))
    if low.size:                                                       # the largest term as the scale
        x = inv[low] * half_d2[low][..., None] + log_c[low][:, None, :]
        scale[low] = x.max(2) - top[low][:, None]
        x -= (scale[low] + top[low][:, None])[..., None]
        np.exp(x, out=x)
        x *= np.sqrt(inv[low])
        S[low], A1_low, A2_low = _weighted_sums(np.ones_like(c[low]), e[low], x, inv[low], with_moments)
        if with_moments:
            A1[low], A2[low] = A1_low, A2_low
    with np.errstate(divide="ignore"):
        log_like = np.log(S) + scale + top[:, None] - 0.5 * _LOG_2PI
    if not with_moments:
        return log_like, None, None
    return log_like, A1 / S, A2 / S


def _by_node_count(a, lo, hi, refine: int, J: int):
    """(K, step, rows): grid points bucketed by their node count K, in chunks of at most CHUNK values."""
    K, step = _node_counts(a, lo, hi, refine)
    for k in np.unique(K):
        idx = np.flatnonzero(K == k)
        rows = max(1, CHUNK // (int(k) * J))
        for i in range(0, idx.size, rows):
            yield int(k), step, idx[i:i + rows]


def log_likelihood(mu, tau, nu, ybar, s2, with_moments: bool = False):
    """log L_j (M, J) at grid points mu, tau, nu (M,); with moments also E and Var of theta_j given
    them (M, J) (E[theta] = mu + d tau^2 E[q], Var = s^2 tau^2 E[q] + d^2 tau^4 Var[q], q over w | y_j)."""
    a, tau2 = nu / 2, tau * tau
    lo, hi = t_range(a, tau2, (ybar - mu[:, None]) ** 2, s2, moments=with_moments)
    J = ybar.shape[0]
    log_like = np.empty((mu.shape[0], J))
    mean, var = (np.empty_like(log_like), np.empty_like(log_like)) if with_moments else (None, None)
    work = (np.empty(CHUNK), np.empty(CHUNK), np.empty(CHUNK))
    for K, step, rows in _by_node_count(a, lo, hi, 1, J):
        ll, q1, q2 = _bucket_sums(a[rows], lo[rows], step[rows], K, mu[rows], tau2[rows], ybar, s2, with_moments,
                                  work)
        log_like[rows] = ll
        if with_moments:
            d, t2 = ybar - mu[rows, None], tau2[rows, None]
            mean[rows] = mu[rows, None] + d * t2 * q1
            var[rows] = np.maximum(s2 * t2 * q1 + (d * t2) ** 2 * (q2 - q1 * q1), 0.0)
    return log_like, mean, var


def build(data, spec, priors) -> EngineParts:
    ybar, s, const = exact._group_estimates(data)
    s2 = s**2
    prior_mu, prior_tau, prior_nu = priors["mu"], priors["tau"], priors[spec.row_term.df]
    names = ("mu", "tau", spec.row_term.df)
    transforms = {"mu": "identity", "tau": "log", spec.row_term.df: "log"}

    def evaluate(u: np.ndarray, with_moments: bool):
        log_like, mean, var = log_likelihood(u[:, 0], np.exp(u[:, 1]), np.exp(u[:, 2]), ybar, s2, with_moments)
        lp = (log_like.sum(1) + const + _frozen(prior_mu).logpdf(u[:, 0])
              + _log_prior_log_scale(prior_tau, u[:, 1]) + _log_prior_log_scale(prior_nu, u[:, 2]))
        return (lp, {"theta": (mean, var)}) if with_moments else lp

    def natural(u):
        return {n: to_natural(transforms[n], u[:, i]) for i, n in enumerate(names)}

    def sample_given(u, n, rng):
        return {"theta": _draw_theta(u, ybar, s2, rng)}

    start = np.array([_inside(prior_mu, float(np.median(ybar))),
                      math.log(_inside(prior_tau, max(float(np.std(ybar)), 0.3 * float(np.median(s)), 1e-6))),
                      math.log(_inside(prior_nu, 10.0))])
    problem = GridProblem(names, lambda u: evaluate(u, False), lambda u: evaluate(u, True), natural, start,
                          width=ybar.shape[0])   # the node sums are chunked here (CHUNK)
    return EngineParts(f"exact: grid over ({', '.join(names)}), the Student-t population as a scale mixture "
                       f"of normals (trapezoid rule in log w per group, step and ends set for relative error "
                       f"{NODE_ERROR:g})",
                       True, problem, transforms, sample_given, step=STEP, tail=GRID_TAIL)


def _given_w(t, mu, tau, ybar, s2):
    """(log Normal(ybar | mu, sqrt(s^2 + tau^2 / w)), conditional mean and variance of theta) at
    w = e^t: t (M, K, 1), mu and tau (M, 1, 1), ybar and s2 (J,) -> (M, K, J)."""
    w = np.exp(t)
    v = s2 * w + tau**2
    log_g = 0.5 * (t - np.log(2 * np.pi * v)) - 0.5 * (ybar - mu) ** 2 * w / v
    return log_g, (ybar * tau**2 + mu * s2 * w) / v, s2 * tau**2 / v


def _draw_theta(u: np.ndarray, ybar, s2, rng: np.random.Generator) -> np.ndarray:
    """One theta (n, J) per row of u (:func:`_draw_rows`, grid points bucketed by node count)."""
    mu_all, tau_all, nu_all = u[:, 0], np.exp(u[:, 1]), np.exp(u[:, 2])
    a_all = nu_all / 2
    lo_all, hi_all = t_range(a_all, tau_all**2, (ybar - mu_all[:, None]) ** 2, s2, extrapolated=False,
                             moments=False)
    out = np.empty((u.shape[0], ybar.shape[0]))
    for K, step, rows in _by_node_count(a_all, lo_all, hi_all, DRAW_REFINE, ybar.shape[0]):
        out[rows] = _draw_rows(a_all[rows], lo_all[rows], step[rows], K, mu_all[rows], tau_all[rows], ybar, s2, rng)
    return out


def _draw_rows(a, lo, step, K, mu, tau, ybar, s2, rng: np.random.Generator) -> np.ndarray:
    """One theta (n, J) per grid point (all with K nodes): t = log w_j from the piecewise-linear
    density through the nodes' values of p(t | h, ybar_j), then theta_j | w_j from its normal."""
    t, log_density = log_w_nodes(a, lo, step, K)
    mu, tau = mu[:, None, None], tau[:, None, None]
    log_g, _, _ = _given_w(t[..., None], mu, tau, ybar, s2)
    log_f = log_density[..., None] + log_g                                 # (n, K, J): p(t | h, ybar_j), unnormalised
    f = np.exp(log_f - log_f.max(1, keepdims=True))
    left, right = f[:, :-1], f[:, 1:]
    area = 0.5 * (left + right)                                            # (n, K - 1, J), common cell width
    cdf = np.cumsum(area, axis=1)
    pick = rng.uniform(size=(t.shape[0], 1, ybar.shape[0])) * cdf[:, -1:, :]
    cell = np.minimum((cdf < pick).sum(1), area.shape[1] - 1)              # (n, J)
    take = lambda x: np.take_along_axis(x, cell[:, None, :], axis=1)[:, 0]  # noqa: E731
    fa, fb = take(left), take(right)
    # inverse CDF of the density fa + (fb - fa) x on [0, 1]
    v = rng.uniform(size=cell.shape)
    slope = fb - fa
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(np.abs(slope) > 1e-12 * np.maximum(fa, fb),
                     (np.sqrt(np.maximum(fa**2 + slope * (fa + fb) * v, 0.0)) - fa) / slope, v)
    t_draw = t[np.arange(t.shape[0])[:, None], cell] + np.clip(x, 0.0, 1.0) * step[:, None]
    _, m, var = _given_w(t_draw[:, None, :], mu, tau, ybar, s2)
    return m[:, 0] + np.sqrt(var[:, 0]) * rng.standard_normal(cell.shape)
