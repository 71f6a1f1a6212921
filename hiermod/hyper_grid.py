"""Reference posteriors on a grid over the hyperparameters (numpy/scipy, no JAX).

Everything but a few hyperparameters is integrated in closed form; the hyperparameters (on the
log scale for scales, atanh for a correlation, log-Jacobians included) are integrated on an adaptive
grid (:mod:`hiermod.grid_quadrature`). Posterior means and sds mix the closed-form conditional
moments over the grid (law of total variance). Models, with the names of :file:`notes/issue10_contract.md`:

``beta_binomial``   p_j ~ Beta(alpha, beta), y_i ~ Binomial(n_i, p_j). Group sums Y_j, N_j:
    p(y | a, b) = prod_i C(n_i, y_i) prod_j B(a + Y_j, b + N_j - Y_j) / B(a, b);
    p_j | a, b, y ~ Beta(a + Y_j, b + N_j - Y_j). Grid: (log alpha, log beta).
``gamma_poisson``   rate_j ~ Gamma(alpha, beta) (shape, rate), y_i ~ Poisson(rate_j e_i). With E_j the
    exposure sums: p(y | a, b) = prod_i e_i^y_i / y_i! prod_j Γ(a+Y_j)/Γ(a) b^a / (b+E_j)^(a+Y_j);
    rate_j | a, b, y ~ Gamma(a + Y_j, b + E_j). Grid: (log alpha, log beta).
``nested_normal``   K = 1..3 nested levels (:func:`hiermod.hyper_grid_gaussian.tree_pass`), rows
    y_i ~ N(theta_K[g_i], sigma) or N(theta_K[g_i], se_i). Rows enter through ybar_j ~ N(theta_j, sigma/sqrt(n_j))
    and the within-group sum of squares SS: prod_i N(y_i | theta_j, sigma) = prod_j N(ybar_j | theta_j,
    sigma/sqrt(n_j)) * (2 pi sigma^2)^(-(N-J)/2) prod_j n_j^(-1/2) exp(-SS / 2 sigma^2) (known se: the
    precision-weighted means, as in :mod:`hiermod.exact`). Grid: (log tau_1, .., log tau_K[, log sigma]).
``varying_slopes``  (a_j, b_j) ~ MVN((mu, beta), diag(tau, tau_x) R diag(tau, tau_x)), R = [[1, rho], [rho, 1]],
    (rho + 1) / 2 ~ Beta(eta, eta) (LKJ(eta) in 2-D), y_i ~ N(a_j + b_j x_i, sigma)
    (:func:`hiermod.hyper_grid_gaussian.slopes_pass`). Grid: (log tau, log tau_x[, atanh rho], log sigma).

Location priors (mu, beta) must be Normal (they are integrated exactly); scales take any positive
prior. Accuracy: ``step`` (grid spacing in posterior sds) and ``tail`` (log-density drop at the grid's
edge) of every function; :func:`hiermod.grid_quadrature.max_difference` between a result and one
with ``step=0.3, tail=28`` is the check (well below 1e-3 sd for the defaults, see the tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping, Sequence

import numpy as np
from scipy import special

from .grid_quadrature import STEP, TAIL, GridPosterior, GridProblem, integrate
from .hyper_grid_gaussian import SlopeStats, Tree, slopes_pass, tree_pass
from .prior_families import Prior, frozen, parse_prior

__all__ = [
    "GridPosterior", "Conditional", "beta_binomial", "gamma_poisson", "beta_binomial_problem",
    "gamma_poisson_problem", "nested_normal", "varying_slopes",
    "beta_binomial_log_marginal", "gamma_poisson_log_marginal", "nested_normal_conditional",
    "varying_slopes_conditional", "DEFAULT_ETA",
]

DEFAULT_ETA = 2.0   # LKJ concentration of rho when priors has no "rho" (the contract's LKJ(2))
_LOG_2PI = math.log(2 * math.pi)


@dataclass(frozen=True)
class Conditional:
    """At fixed hyperparameters: ``log_lik`` = log p(y | hyperparameters) (locations and group
    values integrated, all constants kept) and the conditional ``means`` / ``variances`` by name."""

    log_lik: float
    means: dict
    variances: dict


# ------------------------------------------------------------------------------ inputs and priors


def _normal_args(prior, name: str) -> tuple[float, float]:
    prior = parse_prior(prior)
    if prior.family != "Normal":
        raise ValueError(f"The prior of {name} must be Normal (it is integrated in closed form); got {prior}.")
    return prior.args


def _required(priors: Mapping, name: str):
    if name not in priors:
        raise ValueError(f"No prior for {name}; priors has {', '.join(priors) or 'nothing'}.")
    return priors[name]


def _scale_prior(priors: Mapping, name: str) -> Prior:
    return _positive(_required(priors, name), name)


def _positive(prior, name: str) -> Prior:
    prior = parse_prior(prior)
    if prior.support != "positive":
        raise ValueError(f"The prior of {name} must be on positive values; got {prior}.")
    return prior


def _frozen(prior: Prior):
    """The prior's scipy distribution, built once (:func:`hiermod.prior_families.frozen`)."""
    return frozen(prior)


def _log_prior_log_scale(prior: Prior, u: np.ndarray) -> np.ndarray:
    """log density of log(x) at u when x has ``prior`` (positive support): log p(e^u) + u
    (what :func:`hiermod.priors.log_density` computes, with the scipy distribution cached)."""
    return np.asarray(_frozen(prior).logpdf(np.exp(u)), float) + u


def _lkj_eta(value) -> float:
    """eta of rho's prior: a number, or a prior-like object of family LKJ (args (eta,))."""
    if value is None:
        return DEFAULT_ETA
    if getattr(value, "family", None) == "LKJ":
        value = value.args[0]
    if isinstance(value, (str, Prior)):
        raise ValueError(f"The prior of rho must be LKJ(eta) or a number eta > 0; got {value}.")
    eta = float(value)
    if not eta > 0:
        raise ValueError(f"The LKJ concentration eta must be > 0; got {eta}.")
    return eta


def _log_prior_atanh_rho(eta: float, u: np.ndarray) -> np.ndarray:
    """log density of atanh(rho) when (rho + 1) / 2 ~ Beta(eta, eta): Beta(q) / 2 * (1 - rho^2)."""
    rho = np.tanh(u)
    q = (rho + 1) / 2
    log_beta = (eta - 1) * (np.log(q) + np.log1p(-q)) - special.betaln(eta, eta)
    return log_beta - math.log(2) + np.log1p(-rho * rho)


def _index(group_idx, n_groups: int, n_rows: int) -> np.ndarray:
    idx = np.asarray(group_idx)
    if idx.shape != (n_rows,) or n_rows == 0:
        raise ValueError(f"group_idx must have one entry per row ({n_rows}); got shape {idx.shape}.")
    if idx.min() < 0 or idx.max() >= n_groups:
        raise ValueError(f"group_idx must lie in 0..{n_groups - 1}.")
    if np.bincount(idx, minlength=n_groups).min() == 0:
        raise ValueError("Every group needs at least one row.")
    return idx.astype(np.intp)


def _group_sum(values, idx, n_groups) -> np.ndarray:
    return np.bincount(idx, weights=values, minlength=n_groups)


def _log_scales(priors: Sequence[Prior], u: np.ndarray) -> np.ndarray:
    return sum(_log_prior_log_scale(p, u[:, i]) for i, p in enumerate(priors))


def _start(values) -> np.ndarray:
    return np.log(np.maximum(np.asarray(values, float), 1e-8))


# ------------------------------------------------------------------------- counts: beta, gamma


def _bb_loglik(Y, N, const, a, b) -> np.ndarray:
    """log p(y | a, b) of the beta-binomial model, a, b (M,)."""
    a, b = a[:, None], b[:, None]
    return const + (special.betaln(a + Y, b + N - Y) - special.betaln(a, b)).sum(1)


def _gp_loglik(Y, E, const, a, b) -> np.ndarray:
    """log p(y | a, b) of the gamma-Poisson model, a, b (M,)."""
    a, b = a[:, None], b[:, None]
    return const + (special.gammaln(a + Y) - special.gammaln(a) + a * np.log(b) - (a + Y) * np.log(b + E)).sum(1)


def _binomial_sums(y, n, group_idx, n_groups):
    y, n = np.asarray(y, float), np.asarray(n, float)
    if y.shape != n.shape or np.any(y < 0) or np.any(y > n) or np.any(y != np.round(y)):
        raise ValueError("y must be whole numbers of successes with 0 <= y <= n, one per row of n.")
    idx = _index(group_idx, n_groups, y.shape[0])
    const = float(np.sum(special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)))
    return _group_sum(y, idx, n_groups), _group_sum(n, idx, n_groups), const


def _poisson_sums(y, exposure, group_idx, n_groups):
    y, e = np.asarray(y, float), np.asarray(exposure, float)
    if y.shape != e.shape or np.any(y < 0) or np.any(y != np.round(y)) or np.any(e <= 0):
        raise ValueError("y must be whole counts >= 0 and exposure > 0, one per row.")
    idx = _index(group_idx, n_groups, y.shape[0])
    const = float(np.sum(y * np.log(e) - special.gammaln(y + 1)))
    return _group_sum(y, idx, n_groups), _group_sum(e, idx, n_groups), const


def beta_binomial_log_marginal(y, n, group_idx, n_groups: int, alpha: float, beta: float) -> float:
    """log p(y | alpha, beta) of the beta-binomial model (p_j integrated, binomial coefficients kept)."""
    Y, N, const = _binomial_sums(y, n, group_idx, n_groups)
    return float(_bb_loglik(Y, N, const, np.array([alpha], float), np.array([beta], float))[0])


def gamma_poisson_log_marginal(y, exposure, group_idx, n_groups: int, alpha: float, beta: float) -> float:
    """log p(y | alpha, beta) of the gamma-Poisson model (rate_j integrated, all constants kept)."""
    Y, E, const = _poisson_sums(y, exposure, group_idx, n_groups)
    return float(_gp_loglik(Y, E, const, np.array([alpha], float), np.array([beta], float))[0])


def _count_problem(loglik, moments, prior_alpha, prior_beta, start, n_groups: int) -> GridProblem:
    """Grid over (log alpha, log beta) with the closed-form marginal ``loglik(a, b)``."""
    pa, pb = _positive(prior_alpha, "alpha"), _positive(prior_beta, "beta")

    def log_post(u):
        return loglik(np.exp(u[:, 0]), np.exp(u[:, 1])) + _log_scales((pa, pb), u)

    def with_moments(u):
        return log_post(u), moments(np.exp(u[:, 0]), np.exp(u[:, 1]))

    return GridProblem(("alpha", "beta"), log_post, with_moments,
                       lambda u: {"alpha": np.exp(u[:, 0]), "beta": np.exp(u[:, 1])}, _start(start),
                       width=n_groups)


def beta_binomial(y, n, group_idx, n_groups: int, prior_alpha, prior_beta, *,
                  step: float = STEP, tail: float = TAIL) -> GridPosterior:
    """Grid posterior of the beta-binomial model: names ``alpha``, ``beta``, ``p`` (one per group)."""
    return integrate(beta_binomial_problem(y, n, group_idx, n_groups, prior_alpha, prior_beta), step, tail)


def beta_binomial_problem(y, n, group_idx, n_groups: int, prior_alpha, prior_beta) -> GridProblem:
    """The beta-binomial model's :class:`GridProblem` over (log alpha, log beta)."""
    Y, N, const = _binomial_sums(y, n, group_idx, n_groups)

    def moments(a, b):
        a1, t = a[:, None] + Y, (a + b)[:, None] + N
        mean = a1 / t
        return {"p": (mean, mean * (1 - mean) / (t + 1))}

    pooled = (Y.sum() + 0.5) / (N.sum() + 1.0)
    start = [10 * pooled, 10 * (1 - pooled)]
    return _count_problem(lambda a, b: _bb_loglik(Y, N, const, a, b), moments, prior_alpha,
                          prior_beta, start, n_groups)


def gamma_poisson(y, exposure, group_idx, n_groups: int, prior_alpha, prior_beta, *,
                  step: float = STEP, tail: float = TAIL) -> GridPosterior:
    """Grid posterior of the gamma-Poisson model: names ``alpha``, ``beta``, ``rate`` (one per group)."""
    return integrate(gamma_poisson_problem(y, exposure, group_idx, n_groups, prior_alpha, prior_beta), step, tail)


def gamma_poisson_problem(y, exposure, group_idx, n_groups: int, prior_alpha, prior_beta) -> GridProblem:
    """The gamma-Poisson model's :class:`GridProblem` over (log alpha, log beta)."""
    Y, E, const = _poisson_sums(y, exposure, group_idx, n_groups)

    def moments(a, b):
        shape, rate = a[:, None] + Y, b[:, None] + E
        return {"rate": (shape / rate, shape / rate**2)}

    pooled = (Y.sum() + 0.5) / E.sum()
    start = [2.0, 2.0 / pooled]
    return _count_problem(lambda a, b: _gp_loglik(Y, E, const, a, b), moments, prior_alpha,
                          prior_beta, start, n_groups)


# ------------------------------------------------------------------------------- nested normal


def _level_names(K: int, level_names) -> tuple[str, ...]:
    if level_names is None:
        return ("",) if K == 1 else tuple(str(k) for k in range(1, K + 1))
    if len(level_names) != K:
        raise ValueError(f"level_names needs one name per level ({K}); got {len(level_names)}.")
    return tuple(str(n) for n in level_names)


def _suffixed(base: str, level: str) -> str:
    return f"{base}_{level}" if level else base


def _level_sizes(parents, group_idx) -> list[int]:
    """Groups per level (outermost first); parents[k] (k >= 1) indexes level k-1, parents[0] is None."""
    K = len(parents)
    if K not in (1, 2, 3) or parents[0] is not None:
        raise ValueError("parents must list 1 to 3 levels, outermost first, with parents[0] = None.")
    inner = len(parents[-1]) if K > 1 else int(np.max(group_idx)) + 1
    sizes = [int(np.max(p)) + 1 for p in parents[1:]] + [inner]
    for k in range(1, K):
        p = np.asarray(parents[k])
        if p.shape != (sizes[k],) or p.min() < 0 or np.bincount(p, minlength=sizes[k - 1]).min() == 0:
            raise ValueError(f"parents[{k}] must map each group of level {k + 1} into level {k}, "
                             "and every group of level {k} needs at least one inner group.")
    return sizes


@dataclass(frozen=True, eq=False)
class _Nested:
    """Innermost sufficient statistics (y centred by ``shift``) and the tree of levels."""

    tree: Tree
    ybar: np.ndarray
    n: np.ndarray
    s2_known: np.ndarray | None
    ss: float
    const: float
    shift: float
    taus: tuple[str, ...]
    thetas: tuple[str, ...]

    @classmethod
    def build(cls, y, group_idx, parents, priors, se, level_names) -> "_Nested":
        y = np.asarray(y, float)
        sizes = _level_sizes(parents, group_idx)
        idx = _index(group_idx, sizes[-1], y.shape[0])
        shift = float(np.mean(y))
        m0, s0 = _normal_args(_required(priors, "mu"), "mu")
        tree = Tree.build(list(parents), sizes, m0 - shift, s0)
        names = _level_names(len(sizes), level_names)
        taus = tuple(_suffixed("tau", n) for n in names)
        thetas = tuple(_suffixed("theta", n) for n in names)
        if se is None:
            return cls(tree, *_within(y - shift, idx, sizes[-1]), shift=shift, taus=taus, thetas=thetas)
        return cls(tree, *_precision_weighted(y - shift, np.asarray(se, float), idx, sizes[-1]),
                   shift=shift, taus=taus, thetas=thetas)

    def inner(self, sigma: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """(innermost measurement variances (M, J), log-likelihood constant (M,))."""
        if self.s2_known is not None:
            return self.s2_known[None, :], np.full(1, self.const)
        s2 = sigma**2
        n_rows, J = self.n.sum(), self.n.shape[0]
        const = -0.5 * (n_rows - J) * (_LOG_2PI + np.log(s2)) - 0.5 * self.ss / s2 + self.const
        return s2[:, None] / self.n, const

    def log_lik(self, tau: np.ndarray, sigma: np.ndarray | None, moments: bool):
        s2, const = self.inner(sigma)
        s2 = np.broadcast_to(s2, (tau.shape[0], self.ybar.shape[0]))
        logc, mom = tree_pass(self.tree, self.ybar, s2, tau, moments)
        if not moments:
            return logc + const, {}
        out = {"mu": (mom["mu"][0] + self.shift, mom["mu"][1])}
        out |= {name: (mom[k][0] + self.shift, mom[k][1]) for k, name in enumerate(self.thetas)}
        return logc + const, out


def _within(y, idx, J):
    """Unknown sigma: (ybar_j, n_j, None, SS, -1/2 sum log n_j)."""
    n = np.bincount(idx, minlength=J).astype(float)
    ybar = _group_sum(y, idx, J) / n
    ss = float(np.sum((y - ybar[idx]) ** 2))
    return ybar, n, None, ss, float(-0.5 * np.sum(np.log(n)))


def _precision_weighted(y, se, idx, J):
    """Known se: (precision-weighted ybar_j, n_j, s_j^2, 0, c) with sum_i log N(y_i | theta_j, se_i) =
    c + sum_j log N(ybar_j | theta_j, s_j)."""
    if se.shape != y.shape or not np.all(se > 0):
        raise ValueError("se must be > 0, one per row of y.")
    prec = 1.0 / se**2
    P = _group_sum(prec, idx, J)
    ybar = _group_sum(prec * y, idx, J) / P
    const = (-0.5 * np.sum(_LOG_2PI + np.log(se**2)) - 0.5 * np.sum(prec * (y - ybar[idx]) ** 2)
             + 0.5 * np.sum(_LOG_2PI - np.log(P)))
    n = np.bincount(idx, minlength=J).astype(float)
    return ybar, n, 1.0 / P, 0.0, float(const)


def _nested_scale_priors(model: _Nested, priors: Mapping, se) -> tuple[tuple[str, ...], tuple[Prior, ...]]:
    names = model.taus + (("sigma",) if se is None else ())
    known = {"mu", *names}
    unknown = [k for k in priors if k not in known]
    if unknown:
        raise ValueError(f"No parameter {unknown[0]!r} in this model; it has {', '.join(sorted(known))}.")
    return names, tuple(_scale_prior(priors, n) for n in names)


def _nested_start(model: _Nested, se) -> list[float]:
    K = len(model.taus)
    spread = float(np.std(model.ybar)) + 1e-3 * (1.0 + abs(model.shift))
    within = math.sqrt(model.ss / max(model.n.sum() - model.n.shape[0], 1)) if se is None else 0.0
    return [spread / math.sqrt(K)] * K + ([within or spread] if se is None else [])


def nested_normal(y, group_idx, parents, priors: Mapping, se=None, *, level_names=None,
                  step: float = STEP, tail: float = TAIL) -> GridPosterior:
    """Grid posterior of the nested normal model with 1 to 3 levels.

    ``parents``: K entries, outermost first; ``parents[0]`` is None and ``parents[k][j]`` is the
    level-k group (0-based) holding group j of level k+1; ``group_idx`` maps rows to the innermost
    level. ``se``: known per-row standard errors (no sigma) or None (sigma unknown).
    Names (``level_names`` default: none for K = 1, "1".."K" otherwise): ``mu``, ``tau_<level>``,
    ``theta_<level>`` (one value per group of that level), ``sigma``; for K = 1 with default names
    ``tau`` and ``theta``. ``priors`` uses the same keys: ``mu`` (Normal), each ``tau_<level>`` and
    ``sigma`` (positive families).
    """
    model = _Nested.build(y, group_idx, parents, priors, se, level_names)
    names, scale_priors = _nested_scale_priors(model, priors, se)
    K = len(model.taus)

    def split(u):
        return np.exp(u[:, :K]), (np.exp(u[:, K]) if se is None else None)

    def log_post(u):
        return model.log_lik(*split(u), moments=False)[0] + _log_scales(scale_priors, u)

    def with_moments(u):
        ll, mom = model.log_lik(*split(u), moments=True)
        return ll + _log_scales(scale_priors, u), mom

    problem = GridProblem(names, log_post, with_moments,
                          lambda u: {n: np.exp(u[:, i]) for i, n in enumerate(names)},
                          _start(_nested_start(model, se)), width=model.ybar.shape[0])
    return integrate(problem, step, tail)


def nested_normal_conditional(y, group_idx, parents, priors: Mapping, tau: Sequence[float],
                              sigma: float | None = None, se=None, *, level_names=None) -> Conditional:
    """log p(y | tau_1..tau_K, sigma) (mu and every theta integrated) and the conditional moments
    of ``mu`` and each ``theta_<level>`` (the quantities the grid mixes)."""
    model = _Nested.build(y, group_idx, parents, priors, se, level_names)
    tau = np.asarray(tau, float)[None, :]
    sig = None if se is not None else np.array([float(sigma)])
    ll, mom = model.log_lik(tau, sig, moments=True)
    return Conditional(float(ll[0]), {k: _first(v[0]) for k, v in mom.items()},
                       {k: _first(v[1]) for k, v in mom.items()})


def _first(a):
    a = np.asarray(a)[0]
    return float(a) if a.ndim == 0 else a


# ------------------------------------------------------------------------------ varying slopes


@dataclass(frozen=True, eq=False)
class _Slopes:
    """Per-group sums of the centred outcome (``shift`` added back to mu and theta) and the priors."""

    stats: SlopeStats
    shift: float
    m0: np.ndarray
    s0: np.ndarray

    @classmethod
    def build(cls, y, x, group_idx, n_groups, priors) -> "_Slopes":
        y, x = np.asarray(y, float), np.asarray(x, float)
        if x.shape != y.shape:
            raise ValueError("x must have one value per row of y.")
        idx = _index(group_idx, n_groups, y.shape[0])
        shift = float(np.mean(y))
        (m_mu, s_mu), (m_beta, s_beta) = (_normal_args(_required(priors, k), k) for k in ("mu", "beta"))
        return cls(SlopeStats.build(y - shift, x, idx, n_groups), shift,
                   np.array([m_mu - shift, m_beta]), np.array([s_mu, s_beta]))

    def log_lik(self, tau, tau_x, rho, sigma, moments: bool):
        ll, mom = slopes_pass(self.stats, self.m0, self.s0, tau, tau_x, rho, sigma, moments)
        for name in ("mu", "theta"):
            if name in mom:
                mom[name] = (mom[name][0] + self.shift, mom[name][1])
        return ll, mom


def _slopes_grid(model: _Slopes, priors: Mapping, correlated: bool):
    """(grid names, u -> (tau, tau_x, rho, sigma), u -> log prior density with Jacobians)."""
    unknown = [k for k in priors if k not in {"mu", "beta", "tau", "tau_x", "rho", "sigma"}]
    if unknown:
        raise ValueError(f"No parameter {unknown[0]!r} in the varying-slopes model.")
    scales = tuple(_scale_prior(priors, k) for k in ("tau", "tau_x", "sigma"))
    eta = _lkj_eta(priors.get("rho"))
    names = ("tau", "tau_x", "rho", "sigma") if correlated else ("tau", "tau_x", "sigma")
    cols = (0, 1, 3) if correlated else (0, 1, 2)

    def params(u):
        rho = np.tanh(u[:, 2]) if correlated else np.zeros(u.shape[0])
        return np.exp(u[:, 0]), np.exp(u[:, 1]), rho, np.exp(u[:, cols[2]])

    def log_prior(u):
        lp = _log_scales(scales, u[:, cols])
        return lp + _log_prior_atanh_rho(eta, u[:, 2]) if correlated else lp

    return names, params, log_prior


def _slopes_start(model: _Slopes, x, correlated: bool) -> np.ndarray:
    """Grid coordinates to start the mode search: half the outcome's sd for each scale, rho = 0."""
    st = model.stats
    sd_y = math.sqrt(st.syy / st.n_rows) + 1e-6
    sd_x = float(np.std(x)) + 1e-6
    u = _start([sd_y / 2, sd_y / (2 * sd_x), sd_y / 2])
    return np.insert(u, 2, 0.0) if correlated else u


def varying_slopes(y, x, group_idx, n_groups: int, priors: Mapping, correlated: bool = True, *,
                   step: float = STEP, tail: float = TAIL) -> GridPosterior:
    """Grid posterior of the varying-intercept, varying-slope normal model.

    ``priors``: ``mu``, ``beta`` (Normal), ``tau``, ``tau_x``, ``sigma`` (positive families) and
    ``rho`` (LKJ concentration eta as a number or an LKJ(eta) prior; default 2). Names: ``mu``,
    ``beta``, ``tau``, ``tau_x``, ``rho`` (only if ``correlated``), ``sigma``, ``theta`` (a_j) and
    ``slope`` (b_j), one per group. ``correlated=False`` fixes rho = 0.
    """
    model = _Slopes.build(y, x, group_idx, n_groups, priors)
    names, params, log_prior = _slopes_grid(model, priors, correlated)

    def log_post(u):
        return model.log_lik(*params(u), moments=False)[0] + log_prior(u)

    def with_moments(u):
        ll, mom = model.log_lik(*params(u), moments=True)
        return ll + log_prior(u), mom

    def natural(u):
        values = dict(zip(("tau", "tau_x", "rho", "sigma"), params(u)))
        return {k: values[k] for k in names}

    problem = GridProblem(names, log_post, with_moments, natural,
                          _slopes_start(model, np.asarray(x, float), correlated), width=n_groups)
    return integrate(problem, step, tail)


def varying_slopes_conditional(y, x, group_idx, n_groups: int, priors: Mapping, tau: float,
                               tau_x: float, sigma: float, rho: float = 0.0) -> Conditional:
    """log p(y | tau, tau_x, rho, sigma) ((mu, beta) and every (a_j, b_j) integrated) and the
    conditional moments of ``mu``, ``beta``, ``theta`` (a_j) and ``slope`` (b_j)."""
    model = _Slopes.build(y, x, group_idx, n_groups, priors)
    ll, mom = model.log_lik(*(np.array([float(v)]) for v in (tau, tau_x, rho, sigma)), moments=True)
    return Conditional(float(ll[0]), {k: _first(v[0]) for k, v in mom.items()},
                       {k: _first(v[1]) for k, v in mom.items()})
