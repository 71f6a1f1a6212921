"""Instant engine: counts with a link (binomial, Poisson, negative binomial), one level, no covariates.

Exact up to grid and quadrature error. With L_j(theta) = prod_{i in j} p(y_i | eta_i = theta[, phi])
the likelihood of group j at effect theta:

Partial pooling (normal population). h = (mu, log tau[, log phi]) goes on the shared grid
(:mod:`hiermod.grid_quadrature`; mu on its own scale, so any prior on mu works). Given h the groups
are independent and

    log p(y | h) = sum_j log ∫ L_j(theta) N(theta | mu, tau) dtheta

is a sum of 1-D integrals, each done by adaptive Gauss-Hermite quadrature (Liu & Pierce 1994): with
g(theta) = log L_j(theta) + log N(theta | mu, tau), theta_hat its mode (Newton's method, halving a
step that lowers g; stopped once a step is below ``INTEGRAL_NEWTON_TOL`` sds, that last step taken
unevaluated) and s = (-g''(theta_hat))^(-1/2),

    ∫ e^g dtheta = s ∫ e^{g(theta_hat + s z)} dz ≈ s sum_k w_k e^{z_k^2 / 2} e^{g(theta_hat + s z_k)},

(z_k, w_k) the ``NODES``-point Gauss-Hermite rule for the weight e^{-z^2/2}. The same nodes give
E[theta_j | h, y] and Var[theta_j | h, y], which the grid mixes into exact posterior moments.
Draws of theta_j | h, y are exact, by rejection: g is concave (every family with ``eta_derivatives``
is log-concave in eta, and so is the normal population), so its tangents at a = theta_hat - sqrt(2) s
and b = theta_hat + sqrt(2) s and the level sup g <= g(theta_hat) + g'(theta_hat)^2 / (2 / tau^2)
bound it from above; the envelope exp(min(...)) is three exponential pieces one can draw from, and
accepts about 89% of proposals for a Gaussian g. (It needs the mode between a and b, not exactly at
theta_hat, so Newton stops early there.)

Complete pooling: theta_j = mu for every group; the grid is over mu [and log phi]; nothing latent.

No pooling: theta_j ~ prior_theta independently (any prior family, bounds included). Each group's
posterior is a 1-D integral done by product quadrature: breakpoints at the union of
c_j + s_j linspace(-10, 10, ``UNION_NODES``) (c_j, s_j the mode and scale of L_j(theta) times a wide
normal centred at the group's own estimate) and the prior's quantiles at normal scores -12..12,
3-point Gauss-Legendre in every interval (as :mod:`hiermod.exact` does for non-normal priors). Draws:
the inverse CDF of the piecewise-linear density through those nodes. Without a parameter of the
family there are no hyperparameters. The negative binomial's phi goes on a grid (log phi); given
phi, a Normal prior without bounds is a normal population with known (mu, tau): the groups then use
the partial-pooling machinery (``NONE_NODES`` Gauss-Hermite nodes, rejection draws), other priors
the union grid (draws: a table per draw and group).

Rows enter through group sums when the family aggregates and has no parameter of its own (binomial:
successes and trials; Poisson: events and exposure): sum_i log p(y_i | theta) equals the summed
row's log p(Y_j | theta) plus a constant, which is added back so that log p(y) keeps every constant.
Groups with identical sums are integrated once. The negative binomial is summed row by row. Every
evaluation of L leaves out the terms that depend on neither theta nor the family's parameters
(log C(n, y), -log y!: the family's ``eta_constant``), which are added once, with that constant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
from scipy import special

from .. import exact
from ..grid_quadrature import GridProblem
from ..hyper_grid import _frozen, _log_prior_log_scale
from ..spec import Pooling
from .engine import EngineParts, to_natural

__all__ = ["build", "NODES", "UNION_NODES", "log_group_integrals"]

NODES = 11
"""Gauss-Hermite nodes per group, chosen by the error against 60 nodes: at most 2.5e-5 posterior sds
in any mean or sd on surgical and simulated binomial / Poisson sets of 100 and 1,000 groups (15 nodes:
1.7e-7; 9: 1.2e-4; 7: 2.8e-4), far below a 100,000-draw MCMC run's Monte Carlo error (about 3e-3)."""
NONE_NODES = 25           # the same, no pooling (a prior usually wider than a population)
UNION_NODES = 61          # no pooling: breakpoints per half of the union grid (as exact.MU_NODES)
STEPS = {1: 0.3, 2: 0.75}
"""Grid step (posterior sds) by the number of hyperparameters: the largest that changes no mean or sd
by more than 5e-6 posterior sds against step 0.25 and tail 30 (measured on surgical, simulated_rates
and simulated sets)."""
PHI_STEP = 0.4
"""The step of grids over the family's own parameter (the negative binomial's phi): its posterior on
the log scale has a long flat side (towards the Poisson limit), and step 0.6 was off by 1e-3 sds."""
GRID_TAIL = 12.0          # the grid reaches where the log density is this far below its maximum
MAX_NEWTON = 60
LIKELIHOOD_MODE_REACH = 5.0  # a likelihood's own mode farther than this (in ses) from its estimate is not used
DENSE_FRACTION = 0.5      # Newton evaluates every entry while more than this fraction still moves
NEWTON_TOL = 1e-5         # Newton stops when its steps are below this many conditional sds (or ulps)
ETA_LIMIT = 700.0         # eta is clipped here before the family evaluates it (exp overflows beyond)
WIDE = 10.0               # no pooling: the normal that centres the union grid is 10 group ses wide
DRAW_NEWTON_TOL = 0.05    # Newton's tolerance (conditional sds) before drawing by rejection
INTEGRAL_NEWTON_TOL = 1e-2
"""Newton's tolerance (conditional sds) before the Gauss-Hermite nodes are placed: the last step is
then taken without evaluating the likelihood there, so the nodes' centre is off the mode by about
the square of that step (quadratic convergence), and the rule stays exact for any centre and scale
up to its own error (the reference value g_ref only scales the sum)."""
MAX_ROUNDS = 200          # rejection rounds before giving up (each accepts about 89% of the rest)
MOVES = 30
"""Metropolis steps of (mu, log tau) given the drawn group effects, after each draw at a grid node
(:func:`_move`): they make the hyperparameter draws continuous. Measured by a KS test of 20,000 draws
against the brute-force marginal (binomial, 1,000 groups): log tau D = 0.10 with none (the grid's
nodes), 0.009 with 10 (p 0.08), 0.006 with 30 (p 0.5)."""
MOVE_SCALE = 1.5          # random-walk step, in conditional sds of mu and log tau given theta
CHUNK = 1 << 20           # elements of a (draws x groups x points) array handled at once
_SQRT2 = math.sqrt(2.0)
_LOG_2PI = math.log(2 * math.pi)


# ----------------------------------------------------------------------------- the likelihood


@dataclass(frozen=True)
class _Counts:
    """The data of ``T`` targets, each a set of rows sharing one eta = theta.

    ``y`` / ``rows``: the rows the family evaluates (one per target when ``starts`` is None: a
    group's sums); ``starts``: each target's first row (rows sorted by target) otherwise.
    ``weight``: how many groups each target stands for; ``of_group``: each group's target.
    ``est`` / ``se``: a target's own estimate and its se on the link scale (Newton's start).
    Every log L below is the family's kernel (:meth:`hiermod.families.Family.eta_kernel`: without
    the terms that depend on neither eta nor the family's parameters); ``const`` holds what that
    leaves out: sum_i log p(y_i | theta) = sum_t weight_t kernel_t(theta_t) + const.
    """

    family: object
    y: np.ndarray
    rows: dict
    starts: np.ndarray | None
    weight: np.ndarray
    of_group: np.ndarray
    est: np.ndarray
    se: np.ndarray
    const: float

    @property
    def n_targets(self) -> int:
        return self.weight.shape[0]

    @property
    def n_rows(self) -> int:
        return self.y.shape[0]

    def _eval(self, y, eta, rows, params):
        with np.errstate(all="ignore"):
            return self.family.eta_kernel_derivatives(y, np.clip(eta, -ETA_LIMIT, ETA_LIMIT), rows, params)

    def loglik(self, theta: np.ndarray, params: dict) -> np.ndarray:
        """log L at ``theta`` (..., T) alone (the quadrature nodes need no derivatives)."""
        with np.errstate(all="ignore"):
            if self.starts is None:
                return self.family.eta_kernel(self.y, np.clip(theta, -ETA_LIMIT, ETA_LIMIT), self.rows, params)
            eta = np.clip(np.take(theta, self._target_of_row, axis=-1), -ETA_LIMIT, ETA_LIMIT)
            return np.add.reduceat(self.family.eta_kernel(self.y, eta, self.rows, params), self.starts, axis=-1)

    def loglik_groups(self, theta: np.ndarray, params: dict) -> np.ndarray:
        """log L at ``theta`` (..., J): one column per group (groups that share a target included);
        the rows' data broadcast, so nothing per row is computed per draw."""
        if self.starts is not None:            # row by row: a target per group
            return self.loglik(theta, params)
        g = self.of_group
        with np.errstate(all="ignore"):
            return self.family.eta_kernel(self.y[g], np.clip(theta, -ETA_LIMIT, ETA_LIMIT),
                                          {k: v[g] for k, v in self.rows.items()}, params)

    def full(self, theta: np.ndarray, params: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(log L, d/dtheta, -d2/dtheta2) at ``theta`` (..., T); ``params`` broadcast with theta."""
        if self.starts is None:
            return self._eval(self.y, theta, self.rows, params)
        eta = np.take(theta, self._target_of_row, axis=-1)
        return tuple(np.add.reduceat(a, self.starts, axis=-1) for a in self._eval(self.y, eta, self.rows, params))

    def flat(self, theta: np.ndarray, target: np.ndarray, params: dict):
        """The same for pairs: ``theta`` (P,) at targets ``target`` (P,), ``params`` {name: (P,)}."""
        if self.starts is None:
            return self._eval(self.y[target], theta, {k: v[target] for k, v in self.rows.items()}, params)
        n = self._counts[target]
        seg = np.concatenate([[0], np.cumsum(n)[:-1]])
        rows = np.repeat(self.starts[target] - seg, n) + np.arange(int(n.sum()))
        out = self._eval(self.y[rows], np.repeat(theta, n), {k: v[rows] for k, v in self.rows.items()},
                         {k: np.repeat(v, n) for k, v in params.items()})
        return tuple(np.add.reduceat(a, seg) for a in out)

    @cached_property
    def likelihood_normal(self) -> tuple[np.ndarray, np.ndarray]:
        """(centre, variance) per target of a normal close to L_t, where Newton's search starts
        (combined with the population's normal): L_t's mode and -1 / (log L_t)'' there when the
        family has no parameters of its own and that mode lies within ``LIKELIHOOD_MODE_REACH`` ses
        of the target's estimate (0 or all successes have none), else the estimate and its se^2."""
        est, var = self.est.copy(), self.se**2
        if self.family.params:
            return est, var
        weak = np.full(self.n_targets, 1e-8)
        mode, _, _, curv = _newton(lambda t, idx: self.flat(t, np.arange(self.n_targets)[idx], {}), est, weak, est)
        good = np.isfinite(mode) & (curv > 1e-6) & (np.abs(mode - est) < LIKELIHOOD_MODE_REACH * self.se)
        est[good], var[good] = mode[good], 1 / curv[good]
        return est, var

    @cached_property
    def _target_of_row(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_targets), self._counts)

    @cached_property
    def _counts(self) -> np.ndarray:
        return np.diff(np.append(self.starts, self.n_rows))


def _counts(data, family, pooled: bool = False) -> _Counts:
    """The targets of ``data``: its groups (identical group sums merged), or one target holding
    every row when ``pooled`` (complete pooling)."""
    J = data.n_groups
    y = np.asarray(data.y, float)
    rows = family.row_values(data)
    group = np.zeros(y.shape[0], int) if pooled else np.asarray(data.group_idx)
    n_t = 1 if pooled else J
    est, se, pooled_est = family.group_estimates(data)
    if pooled:
        est, se = np.array([pooled_est]), np.array([float(np.min(se))])
    if family.aggregates and not family.params:
        sums = np.column_stack([np.bincount(group, weights=y, minlength=n_t)]
                               + [np.bincount(group, weights=v, minlength=n_t) for v in rows.values()])
        uniq, first, of_group, weight = np.unique(sums, axis=0, return_index=True, return_inverse=True,
                                                  return_counts=True)
        y_t, rows_t = uniq[:, 0], {k: uniq[:, i + 1] for i, k in enumerate(rows)}
        zero = {}
        const = float(np.sum(family.eta_loglik(y, np.zeros_like(y), rows, zero))
                      - weight @ family.eta_kernel(y_t, np.zeros_like(y_t), rows_t, zero))
        return _Counts(family, y_t, rows_t, None, weight.astype(float), of_group.ravel(), est[first], se[first],
                       const)
    order = np.argsort(group, kind="stable")
    starts = np.searchsorted(group[order], np.arange(n_t))
    size = np.bincount(group, minlength=n_t)
    if np.any(size == 0):
        raise ValueError("Every group needs at least one row.")
    return _Counts(family, y[order], {k: v[order] for k, v in rows.items()},
                   None if np.all(size == 1) else starts, np.ones(n_t),
                   np.zeros(J, int) if pooled else np.arange(J), est, se, float(np.sum(family.eta_constant(y, rows))))


# --------------------------------------------------------------------------------------- Newton


def _newton(evaluate, centre, prec, theta, tol: float = NEWTON_TOL):
    """Modes of g(theta) = log L(theta) - prec (theta - centre)^2 / 2 (concave), all arrays (P,).

    ``evaluate(theta, idx) -> (log L, d, -d2)`` at the entries ``idx`` (a slice or an index array).
    Newton's method from ``theta``; a step that lowers g is halved at the next iteration. An entry
    stops when its step is below ``tol`` conditional sds (or at the resolution of floating point,
    when the sd is below it). While more than ``DENSE_FRACTION`` of the entries move, every entry is
    evaluated (the stopped ones where they are: no gathers); then only the moving ones. Returns
    (theta, log L, g'(theta), -g''(theta)) at the last point evaluated.
    """
    theta = np.array(theta, float)
    ll, d, H = (np.array(a, float) for a in evaluate(theta, slice(None)))
    g = ll - 0.5 * prec * (theta - centre) ** 2
    damp = np.ones_like(theta)
    i = slice(None)                                    # the entries still iterating
    for _ in range(MAX_NEWTON):
        curv = H[i] + prec[i]
        step = (d[i] - prec[i] * (theta[i] - centre[i])) / curv
        moving = (np.abs(step) * np.sqrt(curv) > tol) & (np.abs(step) > 1e-14 * (1 + np.abs(theta[i])))
        if isinstance(i, slice) and moving.mean() > DENSE_FRACTION:
            step = np.where(moving, step, 0.0)
        else:
            i = np.flatnonzero(moving) if isinstance(i, slice) else i[moving]
            step = step[moving]
            if not i.size:
                break
        new = theta[i] + damp[i] * step
        ll2, d2, H2 = evaluate(new, i)
        g2 = ll2 - 0.5 * prec[i] * (new - centre[i]) ** 2
        ok = ~(g2 < g[i] - 1e-12 * np.abs(g[i]))       # nan (far outside the posterior) counts as ok
        if isinstance(i, slice):
            theta, ll, d, H, g = (np.where(ok, b, a) for a, b in ((theta, new), (ll, ll2), (d, d2), (H, H2), (g, g2)))
            damp = np.where(ok, 1.0, 0.5 * damp)
            continue
        j = i[ok]
        theta[j], ll[j], d[j], H[j], g[j] = new[ok], ll2[ok], d2[ok], H2[ok], g2[ok]
        damp[j] = 1.0
        damp[i[~ok]] *= 0.5
    return theta, ll, d - prec * (theta - centre), H + prec


# ------------------------------------------------------------------------ adaptive Gauss-Hermite


@dataclass(frozen=True)
class _Rule:
    """K-point Gauss-Hermite rule for the weight e^{-z^2/2}: nodes z and log(w e^{z^2/2})."""

    z: np.ndarray
    logw: np.ndarray

    @classmethod
    @lru_cache(maxsize=8)
    def of(cls, k: int) -> "_Rule":
        z, w = np.polynomial.hermite_e.hermegauss(k)
        return cls(z, np.log(w) + 0.5 * z * z)


def _modes(counts: _Counts, mu, prec, params: dict, target=None, tol: float = NEWTON_TOL):
    """Mode, log L, g' and -g'' there of g = log L_t(theta) + log N(theta | mu, prec^-1/2): for every
    (row of mu, target) (mu, prec (M, 1); params {name: (M,)}; results (M, T)), or, given ``target``,
    for pairs (every argument (P,); results (P,))."""
    shape = None
    if target is None:
        M, T = np.shape(mu)[0], counts.n_targets
        shape = (M, T)
        mu, prec = np.broadcast_to(mu, shape).ravel(), np.broadcast_to(prec, shape).ravel()
        target = np.tile(np.arange(T), M)
        params = {k: np.repeat(v, T) for k, v in params.items()}
    est, se2 = counts.likelihood_normal
    est, se2 = est[target], se2[target]
    start = (est / se2 + mu * prec) / (1 / se2 + prec)

    def evaluate(t, idx):
        return counts.flat(t, target[idx], {k: v[idx] for k, v in params.items()})

    out = _newton(evaluate, mu, prec, start, tol)
    return out if shape is None else tuple(a.reshape(shape) for a in out)


def log_group_integrals(counts: _Counts, mu, prec, params: dict, nodes: int = NODES, moments: bool = False):
    """log ∫ L_t(theta) N(theta | mu, prec^-1/2) dtheta for every target t, by adaptive Gauss-Hermite,
    L_t the family's kernel (the constant left out is in ``counts.const``).

    ``mu``, ``prec`` (M, 1) and ``params`` {name: (M,)}: one row per hyperparameter point. Returns
    (M, T), and with ``moments`` also E and Var of theta_t (M, T) under the normalised integrand.
    """
    rule = _Rule.of(nodes)
    x, ll, grad, curv = _modes(counts, mu, prec, params, tol=INTEGRAL_NEWTON_TOL)
    step = grad / curv
    theta = x + step                       # the last Newton step, taken without evaluating there
    g_ref = ll - 0.5 * prec * (x - mu) ** 2 + 0.5 * step * grad            # its quadratic model's value
    s = 1 / np.sqrt(curv)
    # g(theta + s z) - g_ref = log L(theta + s z) - A z - B z^2 - R, g(x) = log L(x) - prec (x - mu)^2 / 2;
    # node by node on (M, T) arrays (they stay in cache; a (K, M, T) array would not)
    A = prec * (theta - mu) * s
    B = 0.5 * prec * s * s
    R = g_ref + 0.5 * prec * (theta - mu) ** 2
    row_params = {k: v[:, None] for k, v in params.items()}
    s0, s1, s2 = np.zeros_like(theta), np.zeros_like(theta), np.zeros_like(theta)
    x, q = np.empty_like(theta), np.empty_like(theta)
    for z, logw in zip(rule.z, rule.logw):              # logw = log w_k + z_k^2 / 2
        np.multiply(s, z, out=x)
        x += theta
        np.multiply(B, z * z, out=q)
        q += A * z
        q += R - logw
        e = counts.loglik(x, row_params)
        e -= q
        np.exp(e, out=e)
        s0 += e
        if moments:
            e *= z
            s1 += e
            e *= z
            s2 += e
    log_int = g_ref + 0.5 * np.log(prec) - 0.5 * _LOG_2PI + np.log(s) + np.log(s0)
    if not moments:
        return log_int
    m1, m2 = s1 / s0, s2 / s0
    return log_int, theta + s * m1, s * s * np.maximum(m2 - m1 * m1, 0.0)


# ----------------------------------------------------------------------- exact draws given h


def _envelope(counts: _Counts, mu, prec, target, params: dict, tol: float):
    """The rejection envelope of g = log L_t(theta) - prec (theta - mu)^2 / 2 per pair: its left
    tangent (through (z1, top), slope da > 0), its top, and its right tangent (through (z2, top),
    slope db < 0), tangent at theta_hat ∓ sqrt(2) s with theta_hat Newton's mode to ``tol`` sds."""
    theta, ll, grad, curv = _modes(counts, mu, prec, params, target, tol=tol)
    s = 1 / np.sqrt(curv)
    both = np.concatenate([target, target])
    x = np.concatenate([theta - _SQRT2 * s, theta + _SQRT2 * s])
    m2, p2 = np.concatenate([mu, mu]), np.concatenate([prec, prec])
    lx, dx, _ = counts.flat(x, both, {k: np.concatenate([v, v]) for k, v in params.items()})
    (a, b), (ga, gb) = np.split(x, 2), np.split(lx - 0.5 * p2 * (x - m2) ** 2, 2)
    da, db = np.split(dx - p2 * (x - m2), 2)
    # sup g is at most g(theta_hat) + g'(theta_hat)^2 / (2 prec) (as g'' <= -prec) and at most where
    # the tangents cross; it is at least g(a) and g(b)
    cross = ga + da * (gb - ga + db * (a - b)) / (da - db)
    top = np.minimum(ll - 0.5 * prec * (theta - mu) ** 2 + grad**2 / (2 * prec) + 1e-12, cross)
    top = np.maximum(np.maximum(top, ga), gb)
    return a + (top - ga) / da, top, b + (top - gb) / db, da, db


def _envelopes(counts: _Counts, mu, prec, target, params: dict) -> list[np.ndarray]:
    """:func:`_envelope` per pair (all arrays (P,)) with Newton stopped at ``DRAW_NEWTON_TOL`` sds (the
    envelope needs the mode between its tangent points only); pairs where that was not enough are
    redone to the full tolerance."""
    env = list(_envelope(counts, mu, prec, target, params, DRAW_NEWTON_TOL))
    redo = np.flatnonzero(~((env[3] > 0) & (env[4] < 0)))
    if redo.size:
        for arr, new in zip(env, _envelope(counts, mu[redo], prec[redo], target[redo],
                                           {k: v[redo] for k, v in params.items()}, NEWTON_TOL)):
            arr[redo] = new
    return env


def _propose(env, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A draw from each envelope exp(min(left tangent, top, right tangent)) and the envelope's log
    there (arrays of any shape)."""
    z1, top, z2, da, db = env
    c0 = 1 / da
    c1 = c0 + (z2 - z1)
    u = rng.random(z1.shape) * (c1 - 1 / db)
    e = rng.exponential(size=z1.shape)
    left, right = u < c0, u >= c1
    t = np.where(left, z1 - e / da, np.where(right, z2 - e / db, z1 + (u - c0)))
    return t, top - np.where(left | right, e, 0.0)


def _reject(counts: _Counts, env, mu, prec, target, params: dict, rng: np.random.Generator) -> np.ndarray:
    """One exact draw of theta per pair from L_t(theta) N(theta | mu, prec^-1/2) (all arrays (P,)),
    by rejection from the envelopes ``env`` (:func:`_envelopes`): g is concave, so its tangents lie
    above it."""
    out = np.empty(target.shape[0])
    pending, rounds = np.arange(target.shape[0]), 0
    while pending.size:
        i = pending
        t, top = _propose([a[i] for a in env], rng)
        g = counts.flat(t, target[i], {k: v[i] for k, v in params.items()})[0] - 0.5 * prec[i] * (t - mu[i]) ** 2
        ok = np.log(rng.random(i.size)) <= g - top
        out[i[ok]] = t[ok]
        pending = i[~ok]
        rounds += 1
        if rounds > MAX_ROUNDS and pending.size:
            raise ValueError(f"Drawing the group effects failed at {pending.size} hyperparameter draws "
                             "(the conditional density is not finite there).")
    return out


def _draw_at_nodes(counts: _Counts, m, prec, params: dict, idx, rng: np.random.Generator) -> np.ndarray:
    """theta (n, J), row i an exact draw from prod_j L_j(theta_j) N(theta_j | m_k, prec_k^-1/2) at
    node k = ``idx[i]`` (``m``, ``prec`` (K,), ``params`` {name: (K,)}: the nodes).

    Draws at a node repeat its hyperparameters, so the rejection envelope (:func:`_envelopes`: Newton
    for the mode, tangents either side) is computed once per node drawn and target; the first
    proposal of every (draw, group) is then judged on (draws x groups) arrays that broadcast the
    rows' data, the few rejected ones again pair by pair."""
    nodes, inv = np.unique(np.asarray(idx), return_inverse=True)
    inv = inv.ravel()
    K, T, J, n = nodes.shape[0], counts.n_targets, counts.of_group.shape[0], inv.shape[0]
    mk, pk = np.asarray(m, float)[nodes], np.asarray(prec, float)[nodes]
    park = {k: np.asarray(v, float)[nodes] for k, v in params.items()}
    env = _envelopes(counts, np.repeat(mk, T), np.repeat(pk, T), np.tile(np.arange(T), K),
                     {k: np.repeat(v, T) for k, v in park.items()})
    env = [a.reshape(K, T)[:, counts.of_group] for a in env]                  # (K, J)
    theta = np.empty((n, J))
    per = max(1, CHUNK // (J * max(1, counts.n_rows // T)))
    for lo in range(0, n, per):
        i = inv[lo:lo + per]
        e = [a[i] for a in env]
        t, top = _propose(e, rng)
        mu_i, prec_i = mk[i][:, None], pk[i][:, None]
        g = counts.loglik_groups(t, {k: v[i][:, None] for k, v in park.items()}) - 0.5 * prec_i * (t - mu_i) ** 2
        ok = np.log(rng.random(t.shape)) <= g - top
        theta[lo:lo + i.shape[0]] = t
        r, c = np.nonzero(~ok)
        if r.size:
            k = i[r]
            theta[lo + r, c] = _reject(counts, [a[r, c] for a in e], mk[k], pk[k], counts.of_group[c],
                                       {name: v[k] for name, v in park.items()}, rng)
    return theta


def _move(u: np.ndarray, theta: np.ndarray, split, axes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``MOVES`` random-walk Metropolis steps of u's coordinates ``axes`` (mu: 0, log tau: 1) per
    draw, each leaving p(u | theta) ∝ p(u) prod_j N(theta_j | mu, tau) invariant (the data enter
    through theta only). The steps' scales depend on theta alone (tau's estimate from theta), so each
    draw's chain is a fixed symmetric random walk."""
    if not axes.any():
        return u
    J = theta.shape[1]
    mean = theta.mean(1)
    ss = ((theta - mean[:, None]) ** 2).sum(1)
    scale = np.zeros(u.shape)
    scale[:, 0] = MOVE_SCALE * np.sqrt(np.maximum(ss / max(J - 1, 1), 1e-12) / J) * axes[0]
    scale[:, 1] = MOVE_SCALE / math.sqrt(2 * max(J - 1, 1)) * axes[1]

    def target(v):
        lp, m, prec, _ = split(v)
        with np.errstate(all="ignore"):
            out = lp + 0.5 * J * np.log(prec) - 0.5 * prec * (ss + J * (mean - m) ** 2)
        return np.where(np.isfinite(out), out, -np.inf)

    u = u.copy()
    current = target(u)
    for _ in range(MOVES):
        proposal = u + scale * rng.standard_normal(u.shape)
        new = target(proposal)
        ok = np.log(rng.random(u.shape[0])) < new - current
        u[ok], current[ok] = proposal[ok], new[ok]
    return u


# ----------------------------------------------------------------- a normal prior on the groups


def _hyper(priors, names, u) -> tuple[np.ndarray, dict]:
    """log prior of the family parameters on the log scale (Jacobian included) and their values."""
    lp = np.zeros(u.shape[0])
    values = {}
    for i, name in enumerate(names):
        lp = lp + _log_prior_log_scale(priors[name], u[:, i])
        values[name] = np.exp(u[:, i])
    return lp, values


def _param_start(priors, names) -> list[float]:
    return [math.log(float(np.clip(_frozen(priors[n]).ppf(0.5), 1e-3, 1e3))) for n in names]


def _chunked(evaluate, width: int):
    """``evaluate(u, want)`` over chunks of rows of u, each with at most ``CHUNK`` elements in its
    (points x width) arrays (the grid chunks its calls, but a sampler may pass thousands of points)."""
    def chunked(u, want):
        per = max(1, CHUNK // max(width, 1))
        if u.shape[0] <= per:
            return evaluate(u, want)
        parts = [evaluate(u[lo:lo + per], want) for lo in range(0, u.shape[0], per)]
        if not want:
            return np.concatenate(parts)
        moments = {k: tuple(np.concatenate([p[1][k][i] for p in parts]) for i in range(2)) for k in parts[0][1]}
        return np.concatenate([p[0] for p in parts]), moments
    return chunked


def _step(names) -> float:
    return STEPS[len(names)] if all(n in ("mu", "tau") for n in names) else PHI_STEP


def _inside(prior, value: float) -> float:
    """``value`` if ``prior`` has density there, else the prior's median (a start for the grid)."""
    dist = _frozen(prior)
    return value if np.isfinite(dist.logpdf(value)) else float(dist.ppf(0.5))


def _normal_prior_parts(data, counts: _Counts, names, transforms, split, start, nodes: int, label: str,
                        moves: tuple[int, ...] = ()) -> EngineParts:
    """Parts for theta_j ~ N(m, prec^-1/2) given the grid's u: ``split(u) -> (log prior of u (M,),
    m (M,), prec (M,), the family's parameters {name: (M,)})``, then adaptive Gauss-Hermite per group
    and exact draws by rejection. ``moves``: the axes of u that are (mu, log tau) (partial pooling:
    (0, 1)), moved by :func:`_move` after drawing at grid nodes."""
    J = data.n_groups

    def evaluate_chunk(u, want):
        total, m, prec, params = split(u)
        total = np.array(total, float)
        live = np.flatnonzero(np.isfinite(total))         # zero prior density: nothing to integrate
        out = log_group_integrals(counts, m[live, None], prec[live, None],
                                  {k: v[live] for k, v in params.items()}, nodes, want)
        total[live] += (out[0] if want else out) @ counts.weight + counts.const
        if not want:
            return total
        mean, var = np.zeros((u.shape[0], J)), np.zeros((u.shape[0], J))
        mean[live], var[live] = out[1][:, counts.of_group], out[2][:, counts.of_group]
        return total, {"theta": (mean, var)}

    evaluate = _chunked(evaluate_chunk, nodes * counts.n_rows)

    def natural(u):
        return {n: to_natural(transforms[n], u[:, i]) for i, n in enumerate(names)}

    def sample_given(u, n, rng):
        nodes, idx = np.unique(u, axis=0, return_inverse=True)
        _, m, prec, params = split(nodes)
        return {"theta": _draw_at_nodes(counts, m, prec, params, idx.ravel(), rng)}

    move_axes = np.array([i in moves for i in range(len(names))])

    def sample_nodes(nodes, idx, free, rng):
        _, m, prec, params = split(nodes)
        theta = _draw_at_nodes(counts, m, prec, params, idx, rng)
        return _move(nodes[idx], theta, split, move_axes & np.asarray(free, bool), rng), {"theta": theta}

    problem = GridProblem(tuple(names), lambda u: evaluate(u, False), lambda u: evaluate(u, True), natural,
                          np.asarray(start, float), width=nodes * counts.n_rows)
    return EngineParts(label, True, problem, dict(transforms), sample_given, step=_step(names),
                       tail=GRID_TAIL, sample_nodes=sample_nodes)


def _partial(data, spec, priors, nodes: int = NODES) -> EngineParts:
    counts = _counts(data, spec.family)
    own = spec.family.param_names
    prior_mu, prior_tau = priors["mu"], priors["tau"]

    def split(u):
        lp, params = _hyper(priors, own, u[:, 2:])
        lp = lp + _frozen(prior_mu).logpdf(u[:, 0]) + _log_prior_log_scale(prior_tau, u[:, 1])
        return lp, u[:, 0], np.exp(-2 * u[:, 1]), params

    est = counts.est[counts.of_group]
    start = ([_inside(prior_mu, float(np.median(est))), math.log(_inside(prior_tau, max(float(np.std(est)), 0.1)))]
             + _param_start(priors, own))
    names = ("mu", "tau") + own
    return _normal_prior_parts(data, counts, names, {"mu": "identity", "tau": "log"} | {n: "log" for n in own},
                               split, start, nodes,
                               f"exact: grid over ({', '.join(names)}), adaptive Gauss-Hermite ({nodes} nodes) "
                               "per group", moves=(0, 1))


# ----------------------------------------------------------------------------- complete pooling


def _complete(data, spec, priors) -> EngineParts:
    family = spec.family
    counts = _counts(data, family, pooled=True)
    own = family.param_names
    J = data.n_groups

    def log_density(u):
        lp_own, params = _hyper(priors, own, u[:, 1:])
        ll = counts.full(u[:, :1], {k: v[:, None] for k, v in params.items()})[0][:, 0]
        return _frozen(priors["mu"]).logpdf(u[:, 0]) + lp_own + ll * counts.weight[0] + counts.const

    def moments(u):
        theta = np.broadcast_to(u[:, :1], (u.shape[0], J))
        return log_density(u), {"theta": (theta, np.zeros_like(theta))}

    def natural(u):
        return {"mu": u[:, 0]} | {n: to_natural("log", u[:, 1 + i]) for i, n in enumerate(own)}

    def sample_given(u, n, rng):
        return {"theta": np.repeat(u[:, :1], J, axis=1)}

    start = np.array([_inside(priors["mu"], float(counts.est[0]))] + _param_start(priors, own))
    problem = GridProblem(("mu",) + own, log_density, moments, natural, start, width=counts.n_rows)
    return EngineParts(f"exact: grid over ({', '.join(('mu',) + own)}), likelihood summed", True, problem,
                       {"mu": "identity"} | {n: "log" for n in own}, sample_given, step=_step(("mu",) + own),
                       tail=GRID_TAIL)


# ---------------------------------------------------------------------------------- no pooling


_GL_X, _GL_W = np.polynomial.legendre.leggauss(3)


@lru_cache(maxsize=64)
def _prior_nodes(prior, n: int) -> np.ndarray:
    """The prior's quantiles at normal scores -12..12 (n a side; the upper ones by the survival
    function, so they keep their digits): dense where the prior has its mass, and reaching
    probability 2e-33 into the tails, so a heavy tail (Cauchy, Student-t) is integrated too."""
    dist = _frozen(prior)
    q = special.ndtr(-np.linspace(12.0, 0.0, n))
    isf = getattr(dist, "isf", None) or (lambda p: dist.ppf(1 - p))
    with np.errstate(all="ignore"):
        x = np.concatenate([dist.ppf(q), isf(q[::-1][1:])])
    x = np.unique(x[np.isfinite(x)])
    x.setflags(write=False)
    return x


def _union_nodes(prior, centre: np.ndarray, scale: np.ndarray, n: int = UNION_NODES):
    """Quadrature for a density with mass near ``centre`` ± 10 ``scale`` or where ``prior`` has it:
    breakpoints at the union of those two grids (:func:`_prior_nodes`), 3-point Gauss-Legendre in
    every interval. Returns points and weights (..., G), ascending along the last axis."""
    lin = centre[..., None] + scale[..., None] * np.linspace(-WIDE, WIDE, n)
    nodes = _prior_nodes(prior, n)
    br = np.sort(np.concatenate([lin, np.broadcast_to(nodes, lin.shape[:-1] + nodes.shape)], -1), -1)
    half, mid = (br[..., 1:] - br[..., :-1]) / 2, (br[..., 1:] + br[..., :-1]) / 2
    x = (mid[..., None] + half[..., None] * _GL_X).reshape(mid.shape[:-1] + (-1,))
    w = (half[..., None] * _GL_W).reshape(x.shape)
    return x, w


def _none_tables(counts: _Counts, prior, params: dict, shape: tuple):
    """Per target (and per row of ``params``): union-grid points x (..., T, G), log of the
    unnormalised posterior density there, and the quadrature's log weights. ``params`` {name:
    (M,)} or {} (then ``shape`` is ())."""
    M = shape[0] if shape else 1
    c, _, _, curv = _modes(counts, np.broadcast_to(counts.est, (M, counts.n_targets)),
                        np.broadcast_to(1 / (WIDE * counts.se) ** 2, (M, counts.n_targets)),
                        params if params else {})
    c, curv = c.reshape(shape + c.shape[1:]), curv.reshape(shape + c.shape[1:])
    x, w = _union_nodes(prior, c, 1 / np.sqrt(curv))                     # (..., T, G)
    xt = np.moveaxis(x, -1, -2)                                           # (..., G, T)
    ll = counts.full(xt, {k: v.reshape(v.shape + (1, 1)) for k, v in params.items()})[0]
    with np.errstate(divide="ignore"):
        logf = np.moveaxis(ll, -2, -1) + _frozen(prior).logpdf(x)
        logw = np.log(w)
    logf = np.where(np.isfinite(logf), logf, -np.inf)
    return x, logf, logw


def _none_moments(x, logf, logw):
    """log ∫ f, and the mean and variance of f / ∫ f, along the last axis."""
    a = logf + logw
    top = np.max(a, -1, keepdims=True)
    p = np.exp(a - top)
    z = p.sum(-1)
    mean = (p * x).sum(-1) / z
    var = (p * (x - mean[..., None]) ** 2).sum(-1) / z
    return top[..., 0] + np.log(z), mean, var


def _sample_tables(x, logf, rows, rng) -> np.ndarray:
    g = np.exp(logf - np.max(logf, -1, keepdims=True))
    return exact._sample_grid(x, g, rows, rng)


def _none(data, spec, priors) -> EngineParts:
    family = spec.family
    counts = _counts(data, family)
    own = family.param_names
    prior = priors["theta"]
    J, T = data.n_groups, counts.n_targets
    if not own:
        x, logf, logw = _none_tables(counts, prior, {}, ())
        _, mean, var = _none_moments(x, logf, logw)
        g = counts.of_group

        def sample_none(u, n, rng):
            return {"theta": _sample_tables(x, logf, np.tile(g, n), rng).reshape(n, J)}

        return EngineParts("exact: quadrature per group", True, None, {}, sample_none,
                           {"theta": (mean[g], np.sqrt(var[g]))})
    if exact._conjugate(prior):          # Normal(m0, s0) without bounds: as partial pooling at (m0, s0)
        m0, s0 = prior.args

        def split(u):
            lp, params = _hyper(priors, own, u)
            return lp, np.full(u.shape[0], m0), np.full(u.shape[0], s0**-2.0), params

        return _normal_prior_parts(data, counts, own, {n: "log" for n in own}, split, _param_start(priors, own),
                                   NONE_NODES, f"exact: grid over ({', '.join(own)}), adaptive Gauss-Hermite "
                                   f"({NONE_NODES} nodes) per group")

    def evaluate_chunk(u, want):
        lp, params = _hyper(priors, own, u)
        x, logf, logw = _none_tables(counts, prior, params, (u.shape[0],))
        log_int, mean, var = _none_moments(x, logf, logw)
        total = lp + log_int @ counts.weight + counts.const
        return (total, {"theta": (mean[:, counts.of_group], var[:, counts.of_group])}) if want else total

    G = 3 * (UNION_NODES + _prior_nodes(prior, UNION_NODES).shape[0] - 1)     # points per table
    evaluate = _chunked(evaluate_chunk, G * counts.n_rows)

    def natural(u):
        return {n: to_natural("log", u[:, i]) for i, n in enumerate(own)}

    def sample_given(u, n, rng):
        theta = np.empty((n, J))
        per = max(1, CHUNK // (J * G * max(1, counts.n_rows // T)))
        for lo in range(0, n, per):
            uc = u[lo:lo + per]
            m = uc.shape[0]
            _, params = _hyper(priors, own, uc)
            x, logf, _ = _none_tables(counts, prior, params, (m,))
            rows = (np.arange(m)[:, None] * T + counts.of_group[None, :]).ravel()
            theta[lo:lo + m] = _sample_tables(x.reshape(m * T, -1), logf.reshape(m * T, -1), rows,
                                              rng).reshape(m, J)
        return {"theta": theta}

    start = np.array(_param_start(priors, own))
    problem = GridProblem(own, lambda u: evaluate(u, False), lambda u: evaluate(u, True), natural, start,
                          width=G * counts.n_rows)
    return EngineParts(f"exact: grid over ({', '.join(own)}), quadrature per group", True, problem,
                       {n: "log" for n in own}, sample_given, step=_step(own), tail=GRID_TAIL)


# ------------------------------------------------------------------------------------------ build


def build(data, spec, priors) -> EngineParts:
    """The engine's parts for ``spec`` on ``data`` (one level, no covariates; see the module docstring)."""
    return {Pooling.PARTIAL: _partial, Pooling.COMPLETE: _complete, Pooling.NONE: _none}[spec.pooling](
        data, spec, priors)
