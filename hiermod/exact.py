"""Exact posterior of the normal model with known standard errors (BDA3 section 5.4), numpy/scipy only.

Model (rows i of group j = g[i], standard errors se_i known)::

    y_i ~ Normal(theta_j, se_i)
    partial:  theta_j ~ Normal(mu, tau),  mu ~ p(mu),  tau ~ p(tau)
    complete: theta_j = mu,               mu ~ p(mu)
    none:     theta_j ~ p(theta) independently

Rows of one group enter only through their precision-weighted mean and its standard error,
``ybar_j = sum(y_i / se_i^2) / sum(1 / se_i^2)``, ``s_j = sum(1 / se_i^2)^(-1/2)`` (exact; the
dropped factor is a constant that :attr:`ExactPosterior.log_marginal` keeps).

Partial pooling. With ``v_j = s_j^2 + tau^2`` and ``w_j = 1 / v_j`` the data given (mu, tau) are
``ybar_j ~ Normal(mu, sqrt(v_j))``, a Gaussian in mu with centre ``mu_hat = sum(w_j ybar_j) / W`` and
variance ``V = 1 / W`` (``W = sum w_j``). Hence

    p(tau | y) ∝ p(tau) * K(tau) * ∫ p(mu) Normal(mu | mu_hat, sqrt(V)) dmu,
    K(tau) = (2 pi)^(-(J-1)/2) prod(v_j)^(-1/2) V^(1/2) exp(-sum w_j (ybar_j - mu_hat)^2 / 2).

The mu integral is closed form for ``mu ~ Normal(m0, s0)`` without bounds (the prior is one more observation:
``Normal(mu_hat | m0, sqrt(s0^2 + V))``; ``mu | tau, y`` is normal with precision ``1/s0^2 + W``)
and otherwise done by quadrature on a grid in mu (the union of a grid around ``mu_hat`` and one at
the prior's quantiles, Gauss-Legendre in every interval), for every tau node (a 2-D tau x mu grid). Given (mu, tau),
with the shrinkage factor ``B_j = s_j^2 / (s_j^2 + tau^2)``,

    theta_j | mu, tau, y ~ Normal(B_j mu + (1 - B_j) ybar_j, sqrt((1 - B_j) s_j^2)),

written so that tau -> 0 gives theta_j = mu without dividing by tau.

tau is integrated on a uniform grid in ``log tau`` spanning the prior's quantiles 1e-10 .. 1 - 1e-10
(for HalfCauchy(5) that is 1.6e-9 .. 3.2e10, far into the tail; a bounded prior's quantiles lie in
its bounds, so the grid ends at them and never straddles a cut-off), with density ``p(tau | y) * tau`` and
the trapezoid rule, which converges fast for smooth, decaying integrands on uniform grids. A coarse
pass finds where the posterior mass lies; a fine pass of ``TAU_NODES`` nodes covers it. Posterior
moments are exact grid integrals of the conditional moments, not averages of draws.

Complete pooling is partial pooling at tau = 0 (a 1-D problem in mu). No pooling is one 1-D problem
per group with prior ``theta``. Both are conjugate for a Normal prior without bounds and use the mu
grid otherwise (a bounded prior's quantile nodes put breakpoints at its bounds).
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np
import pandas as pd
from scipy import special

from .errors import SpecError
from . import families
from .kind_registry import precision_weighted
from .predictive import prior_draws
from .priors import log_density, quantile, resolve_priors
from .result import PRIOR_DRAWS, Fit, pointwise_draws, thin_for_pointwise, to_inference_data
from .settings import SamplerSettings
from .spec import ModelSpec, Parameterization, Pooling, Prior, parse_prior

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData

__all__ = [
    "ExactPosterior",
    "exact_posterior",
    "exact_fit",
    "unavailable_reason",
    "TAU_NODES",
]

TAU_NODES = 401          # fine tau grid (uniform in log tau)
TAU_COARSE_NODES = 201   # coarse pass over the prior's whole range
TAU_PRIOR_TAIL = 1e-10   # the tau grid spans the prior's quantiles TAU_PRIOR_TAIL .. 1 - TAU_PRIOR_TAIL
MU_NODES = 61           # quadrature nodes per half of the union mu grid (non-normal priors)
MU_SAMPLE_NODES = 41    # the same, for per-draw grids when sampling mu | tau
_LOG_2PI = math.log(2 * math.pi)
_EXACT_ONLY = "The exact method handles models without covariates; use NUTS."


# ---------------------------------------------------------------------------------------- result


@dataclass(frozen=True, eq=False)
class ExactPosterior:
    """The exact posterior of a normal model with known standard errors.

    ``y`` / ``se``: each group's precision-weighted estimate and its standard error (what the
    posterior depends on). ``tau_grid`` (ascending) and ``tau_density`` (p(tau | y) per unit tau,
    integrating to 1 by the log-tau trapezoid rule) are empty unless ``pooling`` is partial;
    ``tau_weights`` are the quadrature weights (sum 1) so that ``E[g(tau) | y] = sum(w * g(tau_grid))``;
    ``mu_mean_given_tau`` / ``mu_sd_given_tau`` are the moments of mu | tau, y at each node.
    ``means`` / ``sds``: keys ``mu`` and ``tau`` (floats, where the model has them) and ``theta``
    (array in label order). ``log_marginal`` is log p(y), all normalising constants included.
    """

    pooling: Pooling
    labels: tuple[str, ...]
    y: np.ndarray
    se: np.ndarray
    priors: dict[str, Prior]
    means: dict[str, Any]
    sds: dict[str, Any]
    log_marginal: float
    tau_grid: np.ndarray = field(default_factory=lambda: np.empty(0))
    tau_density: np.ndarray = field(default_factory=lambda: np.empty(0))
    tau_weights: np.ndarray = field(default_factory=lambda: np.empty(0))
    mu_mean_given_tau: np.ndarray = field(default_factory=lambda: np.empty(0))
    mu_sd_given_tau: np.ndarray = field(default_factory=lambda: np.empty(0))
    # per-node moments of theta | tau, y (n_tau, J); partial pooling only
    _theta_mean_given_tau: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)
    _theta_sd_given_tau: np.ndarray = field(default_factory=lambda: np.empty((0, 0)), repr=False)

    def summary(self) -> pd.DataFrame:
        """Exact posterior mean and sd, index ``mu``, ``tau``, ``theta[<label>]`` (as the model has them)."""
        rows: dict[str, tuple[float, float]] = {}
        for name in ("mu", "tau"):
            if name in self.means:
                rows[name] = (float(self.means[name]), float(self.sds[name]))
        for label, m, s in zip(self.labels, self.means["theta"], self.sds["theta"]):
            rows[f"theta[{label}]"] = (float(m), float(s))
        return pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "sd"])

    def cdf(self, name: str, x) -> np.ndarray:
        """Posterior CDF of ``tau``, ``mu`` or ``theta[<label>]`` at ``x``.

        tau: the integrated grid density. mu and theta: mixtures over the tau nodes of normal CDFs,
        available when mu | tau, y is normal (Normal prior on mu, or on theta for no pooling).
        """
        x = np.asarray(x, dtype=float)
        if name == "tau":
            if self.pooling != Pooling.PARTIAL:
                raise KeyError("tau is only in the partial-pooling model.")
            s = np.log(self.tau_grid)
            g = self.tau_density * self.tau_grid
            cum = np.concatenate([[0.0], np.cumsum(np.diff(s) * (g[1:] + g[:-1]) / 2)])
            cum /= cum[-1]
            return np.interp(np.log(np.maximum(x, 1e-300)), s, cum, left=0.0, right=1.0)
        prior = self.priors.get("theta" if self.pooling == Pooling.NONE else "mu")
        if prior is None or not _conjugate(prior):
            raise NotImplementedError("The exact CDF of mu/theta needs a Normal prior on mu (theta).")
        if name == "mu" and self.pooling != Pooling.NONE:
            if self.pooling == Pooling.COMPLETE:
                return special.ndtr((x - self.means["mu"]) / self.sds["mu"])
            m, sd, w = self.mu_mean_given_tau, self.mu_sd_given_tau, self.tau_weights
        elif name.startswith("theta[") and name.endswith("]"):
            j = self.labels.index(name[6:-1])
            if self.pooling != Pooling.PARTIAL:
                return special.ndtr((x - self.means["theta"][j]) / self.sds["theta"][j])
            m, sd, w = self._theta_mean_given_tau[:, j], self._theta_sd_given_tau[:, j], self.tau_weights
        else:
            raise KeyError(f"No parameter {name!r} in this model.")
        return special.ndtr((x[..., None] - m) / sd) @ w


# ------------------------------------------------------------------------------- input handling


def unavailable_reason(data: "GroupedData", spec: ModelSpec) -> str | None:
    """Why the exact method cannot serve ``spec`` on ``data`` (covariates, another likelihood, an
    se that is not > 0), or None when it can. The ``"exact"`` entry of :data:`hiermod.methods.METHODS`
    asks this before it runs."""
    if spec.covariates:
        return _EXACT_ONLY
    if spec.nested:
        return ("The exact method handles one grouping level; nested levels need NUTS (method='nuts').")
    if spec.row_term.robust:
        return ("The exact method handles a normal population of group effects; a Student-t population "
                "(population='student_t') needs NUTS (method='nuts').")
    if not spec.family.normal_known_se or data.se is None:
        names = " or ".join(f"'{f.name}'" for f in families.FAMILIES.values() if f.normal_known_se)
        return (
            f"The exact method handles only the likelihood {names} "
            "(summary data: an estimate and its standard error per row); "
            f"'{spec.likelihood.value}' needs NUTS (method='nuts')."
        )
    if not np.all(np.asarray(data.se) > 0):
        return "The exact method needs every standard error to be > 0."
    return None


def _check(data: "GroupedData", spec: ModelSpec) -> None:
    reason = unavailable_reason(data, spec)
    if reason is not None:
        raise SpecError(reason)


def _group_estimates(data: "GroupedData") -> tuple[np.ndarray, np.ndarray, float]:
    """(ybar_j, s_j, c): precision-weighted group means, their se, and the log-likelihood constant
    ``c`` with ``sum_i log N(y_i | theta_j, se_i) = c + sum_j log N(ybar_j | theta_j, s_j)``."""
    idx = np.asarray(data.group_idx)
    y, se = np.asarray(data.y, float), np.asarray(data.se, float)
    prec = 1.0 / se**2
    ybar, s, P = precision_weighted(data)
    const = (-0.5 * np.sum(_LOG_2PI + np.log(se**2)) - 0.5 * np.sum(prec * (y - ybar[idx]) ** 2)
             + 0.5 * np.sum(_LOG_2PI - np.log(P)))
    return ybar, s, float(const)


def _priors_for(data: "GroupedData", spec: ModelSpec, priors: Mapping | None) -> dict[str, Prior]:
    out = resolve_priors(data, spec)
    if priors:
        unknown = [k for k in priors if k not in out]
        if unknown:
            raise SpecError(
                f"This model has no parameter '{unknown[0]}' to put a prior on; it has: "
                f"{', '.join(sorted(out))}."
            )
        out.update({k: parse_prior(v) for k, v in priors.items()})
    return out


# ------------------------------------------------------------------- prior x normal, in one dim


@lru_cache(maxsize=64)
def _prior_nodes(prior: Prior, n: int) -> np.ndarray:
    """Prior quantiles at normal scores -7.5..7.5: nodes dense where the prior has its mass."""
    x = quantile(prior, special.ndtr(np.linspace(-7.5, 7.5, n)))
    x = x[np.isfinite(x)]
    x.setflags(write=False)
    return x


_GL_X, _GL_W = np.polynomial.legendre.leggauss(3)


def _conjugate(prior: Prior) -> bool:
    """A Normal prior without bounds: the normal-normal closed forms apply (a bounded Normal is
    a truncated normal, done by quadrature like every other family)."""
    return prior.family == "Normal" and not prior.bounded


def _product_grid(prior: Prior, m: np.ndarray, v: np.ndarray, n: int):
    """Quadrature for p(x) N(x | m_k, sqrt(v_k)), one row per k.

    Breakpoints: the union of ``m_k + sqrt(v_k) * linspace(-10, 10, n)`` and the prior's quantiles at
    normal scores -7.5..7.5 (dense where either factor has its mass, so narrow priors and narrow
    likelihoods are both resolved); 3-point Gauss-Legendre in every interval. Returns points (K, M)
    (ascending per row), weights (K, M) and log p(x) + log N(x | m_k, sqrt(v_k)) there.
    """
    z = np.linspace(-10.0, 10.0, n)
    sd = np.sqrt(v)
    xl = m[:, None] + sd[:, None] * z
    nodes = _prior_nodes(prior, n)
    xp = np.broadcast_to(nodes, (m.shape[0], nodes.shape[0]))
    br = np.sort(np.concatenate([xl, xp], axis=1), axis=1)
    half = (br[:, 1:] - br[:, :-1]) / 2
    centre = (br[:, 1:] + br[:, :-1]) / 2
    x = (centre[..., None] + half[..., None] * _GL_X).reshape(m.shape[0], -1)
    qw = (half[..., None] * _GL_W).reshape(m.shape[0], -1)
    logf = log_density(prior, x) - 0.5 * ((x - m[:, None]) / sd[:, None]) ** 2 \
        - np.log(sd)[:, None] - 0.5 * _LOG_2PI
    return x, qw, logf


def _trapezoid_weights(x: np.ndarray) -> np.ndarray:
    dx = np.diff(x, axis=-1)
    w = np.zeros_like(x)
    w[..., :-1] += dx / 2
    w[..., 1:] += dx / 2
    return w


def _prior_times_normal(prior: Prior | None, m, v, n: int = MU_NODES):
    """For x ~ prior and a Gaussian factor N(x | m, sqrt(v)) (arrays m, v of one shape):
    ``log Z = log ∫ p(x) N(x | m, sqrt(v)) dx`` and the mean and variance of p(x) N(x | m, sqrt v) / Z.

    Normal(m0, s0) prior: ``Z = N(m | m0, sqrt(s0^2 + v))``, precision ``1/s0^2 + 1/v`` (conjugate).
    ``None`` (flat): ``Z = 1``, mean m, variance v. Other families: quadrature (:func:`_product_grid`).
    """
    m = np.asarray(m, float)
    v = np.asarray(v, float)
    if prior is None:
        return np.zeros_like(m), m.copy(), v.copy()
    if _conjugate(prior):
        m0, s0 = prior.args
        tot = s0**2 + v
        logz = -0.5 * (_LOG_2PI + np.log(tot)) - 0.5 * (m - m0) ** 2 / tot
        var = 1.0 / (1.0 / s0**2 + 1.0 / v)
        return logz, var * (m0 / s0**2 + m / v), var
    shape = m.shape
    m1, v1 = np.broadcast_arrays(m, v)
    x, qw, logf = _product_grid(prior, m1.ravel(), v1.ravel(), n)
    lmax = np.max(logf, axis=1, keepdims=True)
    f = np.exp(logf - lmax) * qw
    Z = f.sum(axis=1)
    mean = (f * x).sum(axis=1) / Z
    var = (f * (x - mean[:, None]) ** 2).sum(axis=1) / Z
    return (lmax[:, 0] + np.log(Z)).reshape(shape), mean.reshape(shape), var.reshape(shape)


# ----------------------------------------------------------------------------- the three models


def _tau_log_posterior(s_grid, ybar, s, const, prior_tau, prior_mu):
    """log of p(tau) p(y | tau) tau at tau = exp(s_grid) (density in log tau, unnormalised),
    with the moments of mu | tau, y."""
    tau = np.exp(s_grid)
    J = ybar.shape[0]
    v = s[None, :] ** 2 + tau[:, None] ** 2
    w = 1.0 / v
    W = w.sum(axis=1)
    mu_hat = (w @ ybar) / W
    V = 1.0 / W
    K = (-0.5 * (J - 1) * _LOG_2PI - 0.5 * np.log(v).sum(axis=1) + 0.5 * np.log(V)
         - 0.5 * (w * (ybar[None, :] - mu_hat[:, None]) ** 2).sum(axis=1))
    logz, emu, vmu = _prior_times_normal(prior_mu, mu_hat, V)
    with np.errstate(divide="ignore"):
        lp = log_density(prior_tau, tau)
    out = lp + const + K + logz + s_grid
    return np.where(np.isfinite(out), out, -np.inf), emu, vmu


def _tau_range(prior_tau: Prior) -> tuple[float, float]:
    lo, hi = quantile(prior_tau, [TAU_PRIOR_TAIL, 1 - TAU_PRIOR_TAIL])
    hi = float(hi) if np.isfinite(hi) and hi > 0 else 1e300
    lo = float(lo) if np.isfinite(lo) and lo > 0 else hi * 1e-30
    return math.log(max(lo, 1e-300)), math.log(min(hi, 1e300))


def _partial(labels, ybar, s, const, priors) -> ExactPosterior:
    prior_tau, prior_mu = priors["tau"], priors["mu"]
    a, b = _tau_range(prior_tau)
    # coarse pass over the prior's range, then a fine grid where the posterior has its mass
    s1 = np.linspace(a, b, TAU_COARSE_NODES)
    l1, _, _ = _tau_log_posterior(s1, ybar, s, const, prior_tau, prior_mu)
    if not np.any(np.isfinite(l1)):
        raise SpecError("The exact posterior of tau is zero everywhere on its grid; check the priors.")
    keep = np.flatnonzero(l1 > l1.max() - 40.0)
    lo, hi = s1[max(keep[0] - 1, 0)], s1[min(keep[-1] + 1, len(s1) - 1)]
    s_grid = np.linspace(lo, hi, TAU_NODES)
    logg, emu, vmu = _tau_log_posterior(s_grid, ybar, s, const, prior_tau, prior_mu)
    lmax = logg.max()
    g = np.exp(logg - lmax)
    qw = _trapezoid_weights(s_grid)
    Z = float(np.sum(qw * g))
    weights = qw * g / Z
    tau = np.exp(s_grid)
    density = g / Z / tau

    mean_mu = float(weights @ emu)
    sd_mu = math.sqrt(float(weights @ (vmu + (emu - mean_mu) ** 2)))
    mean_tau = float(weights @ tau)
    sd_tau = math.sqrt(float(weights @ (tau - mean_tau) ** 2))
    t2 = tau[:, None] ** 2
    B = s[None, :] ** 2 / (s[None, :] ** 2 + t2)            # shrinkage toward mu
    one_minus_B = t2 / (s[None, :] ** 2 + t2)
    et = B * emu[:, None] + one_minus_B * ybar[None, :]       # E[theta_j | tau, y]
    vt = one_minus_B * s[None, :] ** 2 + B**2 * vmu[:, None]  # Var[theta_j | tau, y]
    mean_theta = weights @ et
    sd_theta = np.sqrt(weights @ (vt + (et - mean_theta[None, :]) ** 2))
    return ExactPosterior(
        pooling=Pooling.PARTIAL, labels=tuple(labels), y=ybar, se=s, priors=dict(priors),
        means={"mu": mean_mu, "tau": mean_tau, "theta": mean_theta},
        sds={"mu": sd_mu, "tau": sd_tau, "theta": sd_theta},
        log_marginal=float(lmax + math.log(Z)),
        tau_grid=tau, tau_density=density, tau_weights=weights,
        mu_mean_given_tau=emu, mu_sd_given_tau=np.sqrt(vmu),
        _theta_mean_given_tau=et, _theta_sd_given_tau=np.sqrt(vt),
    )


def _complete(labels, ybar, s, const, priors) -> ExactPosterior:
    J = ybar.shape[0]
    w = 1.0 / s**2
    W = w.sum()
    mu_hat = float(w @ ybar / W)
    K = (-0.5 * (J - 1) * _LOG_2PI - 0.5 * np.sum(np.log(s**2)) - 0.5 * math.log(W)
         - 0.5 * float(w @ (ybar - mu_hat) ** 2))
    logz, emu, vmu = _prior_times_normal(priors["mu"], np.array([mu_hat]), np.array([1.0 / W]))
    m, sd = float(emu[0]), math.sqrt(float(vmu[0]))
    return ExactPosterior(
        pooling=Pooling.COMPLETE, labels=tuple(labels), y=ybar, se=s, priors=dict(priors),
        means={"mu": m, "theta": np.full(J, m)}, sds={"mu": sd, "theta": np.full(J, sd)},
        log_marginal=float(const + K + logz[0]),
    )


def _none(labels, ybar, s, const, priors) -> ExactPosterior:
    logz, m, v = _prior_times_normal(priors["theta"], ybar, s**2)
    return ExactPosterior(
        pooling=Pooling.NONE, labels=tuple(labels), y=ybar, se=s, priors=dict(priors),
        means={"theta": m}, sds={"theta": np.sqrt(v)}, log_marginal=float(const + logz.sum()),
    )


def exact_posterior(data: "GroupedData", spec: ModelSpec, priors: Mapping | None = None) -> ExactPosterior:
    """The exact posterior of ``spec`` (likelihood ``normal_known_se``, any pooling, no covariates).

    ``priors`` (names -> :class:`Prior` or text) override the spec's resolved priors; any family
    is honoured. Raises :class:`SpecError` for covariates or another likelihood.
    """
    _check(data, spec)
    pri = _priors_for(data, spec, priors)
    ybar, s, const = _group_estimates(data)
    build = {Pooling.PARTIAL: _partial, Pooling.COMPLETE: _complete, Pooling.NONE: _none}[spec.pooling]
    return build(data.labels, ybar, s, const, pri)


# -------------------------------------------------------------------------------------- sampling


def _sample_grid(x: np.ndarray, g: np.ndarray, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw from piecewise-linear densities: row r has nodes x[r] (ascending) and values g[r] >= 0.

    ``rows[k]`` says which row draw k uses. A cell is chosen by its trapezoid mass, then the
    position inside it by inverting the cell's linear density (exact for the interpolant).
    """
    x = np.atleast_2d(x)
    g = np.atleast_2d(g)
    K, G = x.shape
    mass = np.diff(x, axis=1) * (g[:, 1:] + g[:, :-1]) / 2
    cum = np.cumsum(mass, axis=1)
    cum /= cum[:, -1:]
    cum[:, -1] = 1.0
    flat = (cum + np.arange(K)[:, None]).ravel()
    u = rng.random(rows.shape[0])
    cell = np.searchsorted(flat, rows + u, side="right") - rows * (G - 1)
    cell = np.clip(cell, 0, G - 2)
    g0, g1 = g[rows, cell], g[rows, cell + 1]
    x0, x1 = x[rows, cell], x[rows, cell + 1]
    u2 = rng.random(rows.shape[0])
    mid = (g0 + g1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        t = 2 * u2 * mid / (g0 + np.sqrt(np.maximum(g0**2 + 2 * (g1 - g0) * u2 * mid, 0.0)))
    t = np.where(np.isfinite(t), np.clip(t, 0.0, 1.0), u2)
    return x0 + t * (x1 - x0)


def _sample_prior_times_normal(prior: Prior, m: np.ndarray, v: np.ndarray, rng, chunk: int = 20_000):
    """One draw from p(x) N(x | m_k, sqrt(v_k)) / Z for each k (Normal prior: conjugate normal)."""
    if _conjugate(prior):
        _, mean, var = _prior_times_normal(prior, m, v)
        return mean + np.sqrt(var) * rng.standard_normal(m.shape[0])
    out = np.empty(m.shape[0])
    for start in range(0, m.shape[0], chunk):
        sl = slice(start, start + chunk)
        x, _, logf = _product_grid(prior, m[sl], v[sl], MU_SAMPLE_NODES)
        g = np.exp(logf - logf.max(axis=1, keepdims=True))
        out[sl] = _sample_grid(x, g, np.arange(x.shape[0]), rng)
    # the interpolant's cell across a bound of the prior's support (a bound, 0 for a scale family)
    # reaches a little past it: about 1 draw in 1,000 under Normal(0, 30) T(0, 30); keep draws inside
    low, high = quantile(prior, np.array([0.0, 1.0]))
    return np.clip(out, low, high)


def _sample_partial(ep: ExactPosterior, n: int, rng) -> dict[str, np.ndarray]:
    """tau from the grid, mu | tau, y, then theta | mu, tau, y; (n, J) arrays in float32 like NUTS."""
    s_grid = np.log(ep.tau_grid)
    g = ep.tau_density * ep.tau_grid
    tau = np.exp(_sample_grid(s_grid, g, np.zeros(n, dtype=np.int64), rng))
    ybar, s = ep.y.astype(np.float32), ep.se.astype(np.float32)
    tau32 = tau.astype(np.float32)[:, None]
    a = np.add(s**2, tau32**2)                                # v_j = s_j^2 + tau^2, (n, J)
    np.reciprocal(a, out=a)                                   # w_j
    W = a.sum(axis=1, dtype=np.float64)
    mu = _sample_prior_times_normal(ep.priors["mu"], (a @ ybar).astype(np.float64) / W, 1.0 / W, rng)
    mu32 = mu.astype(np.float32)[:, None]
    # theta = mu + tau * dec with dec = tau (ybar - mu) / v + s / sqrt(v) z: no division by tau, so
    # tau -> 0 gives theta = mu and dec ~ Normal(0, 1)
    dec = np.subtract(ybar, mu32)
    dec *= a
    dec *= tau32
    np.sqrt(a, out=a)
    a *= s
    z = rng.standard_normal(a.shape, dtype=np.float32)
    a *= z
    dec += a
    theta = np.multiply(dec, tau32, out=z)
    theta += mu32
    return {"mu": mu, "tau": tau, "theta": theta, "theta_decentered": dec}


def _sample_complete(ep: ExactPosterior, n: int, rng) -> dict[str, np.ndarray]:
    J = ep.y.shape[0]
    w = 1.0 / ep.se**2
    W = w.sum()
    mu = _sample_prior_times_normal(ep.priors["mu"], np.full(n, w @ ep.y / W), np.full(n, 1.0 / W), rng)
    return {"mu": mu, "theta": np.broadcast_to(mu.astype(np.float32)[:, None], (n, J)).copy()}


def _sample_none(ep: ExactPosterior, n: int, rng) -> dict[str, np.ndarray]:
    prior = ep.priors["theta"]
    J = ep.y.shape[0]
    if _conjugate(prior):
        z = rng.standard_normal((n, J), dtype=np.float32)
        z *= ep.sds["theta"].astype(np.float32)
        z += ep.means["theta"].astype(np.float32)
        return {"theta": z}
    x, _, logf = _product_grid(prior, ep.y, ep.se**2, MU_NODES)
    g = np.exp(logf - logf.max(axis=1, keepdims=True))
    rows = np.tile(np.arange(J), n)
    return {"theta": _sample_grid(x, g, rows, rng).reshape(n, J).astype(np.float32)}


def _predictive(data, theta: np.ndarray, noise: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise log N(y_i | theta_g[i], se_i) and posterior predictive draws theta_g[i] + se_i z,
    (n, n_rows) float32; ``noise`` holds the standard normal z (same shape), and is overwritten."""
    idx = np.asarray(data.group_idx)
    y = np.asarray(data.y, np.float32)
    se = np.asarray(data.se, np.float32)
    identity = idx.shape[0] == theta.shape[1] and np.array_equal(idx, np.arange(idx.shape[0]))
    rows = theta if identity else theta[:, idx]
    ppc = noise
    ppc *= se
    ppc += rows
    loglik = np.subtract(y, rows, dtype=np.float32)
    loglik /= se
    loglik *= loglik
    loglik *= np.float32(-0.5)
    loglik -= (np.log(se) + np.float32(0.5 * _LOG_2PI))
    return loglik, ppc


def exact_fit(data: "GroupedData", spec: ModelSpec, settings: SamplerSettings, progress=None,
              cancel=None) -> Fit:
    """Independent exact draws laid out like a NUTS fit (``sample_stats`` is absent).

    ``settings.chains x settings.draws`` draws from a numpy Generator seeded with ``settings.seed``:
    tau from the grid (linear within cells), mu | tau, then theta | mu, tau. Adds the pointwise
    normal log-likelihood, posterior predictive y ~ Normal(theta_j, se_i), prior draws and the prior
    predictive. ``Fit.exact`` holds the :class:`ExactPosterior` (exact moments).
    ``progress`` and ``cancel`` are accepted like every method's runner and not used: the whole
    fit takes milliseconds to a fraction of a second.
    """
    t0 = time.perf_counter()
    ep = exact_posterior(data, spec)
    # three independent streams: the predictive noise and the prior draws are made on a second
    # thread while this one draws the posterior (numpy releases the GIL; about 10 ns a normal here)
    posterior_rng, noise_rng, prior_rng = np.random.default_rng(settings.seed).spawn(3)
    C, D = settings.chains, settings.draws
    n = C * D
    keep = pointwise_draws(C, D, data.n_rows)  # bounded memory for the per-row groups
    draw = {Pooling.PARTIAL: _sample_partial, Pooling.COMPLETE: _sample_complete,
            Pooling.NONE: _sample_none}[spec.pooling]
    with ThreadPoolExecutor(1, thread_name_prefix="hiermod-exact") as pool:
        noise = pool.submit(noise_rng.standard_normal, (C * keep, data.n_rows), dtype=np.float32)
        prior_future = pool.submit(prior_draws, data, spec, ep.priors, PRIOR_DRAWS, prior_rng)
        flat = draw(ep, n, posterior_rng)
        if not (spec.pooling == Pooling.PARTIAL and spec.parameterization == Parameterization.NON_CENTERED):
            flat.pop("theta_decentered", None)
        theta_kept = thin_for_pointwise({"theta": flat["theta"]}, C, D, data.n_rows)["theta"]
        loglik, ppc = _predictive(data, theta_kept, noise.result())
        prior = {k: v[None] for k, v in prior_future.result().items()}
    prior["y"] = prior["y"].astype(np.float32)
    posterior = {k: v.reshape((C, D) + v.shape[1:]) for k, v in flat.items()}
    t_sampled = time.perf_counter()
    idata = to_inference_data(data, spec, posterior, None, loglik.reshape(C, keep, -1),
                              ppc.reshape(C, keep, -1), prior)
    total = time.perf_counter() - t0
    timings = {"compile_s": 0.0, "compilations": 0.0, "sampling_s": t_sampled - t0, "total_s": total}
    return Fit(idata, data, spec, ep.priors, method="exact", settings=settings, timings=timings, exact=ep)
