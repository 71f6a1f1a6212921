"""Everything after sampling, in numpy: linear predictor, pointwise log-likelihood, predictive draws,
and prior draws. No JAX, so nothing here compiles and the Model page's previews stay instant.

With draws s of the parameters and rows i (group g[i], covariates x_i):

    eta_si = theta_s[g[i]] + x_i . beta_s
    normal_known_se: y ~ Normal(eta, se_i)       normal: y ~ Normal(eta, sigma_s)
    student_t: y ~ StudentT(nu_s, eta, sigma_s)  binomial: y ~ Binomial(trials_i, logistic(eta))
    poisson: y ~ Poisson(exposure_i * exp(eta))
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import special, stats

from . import priors as prior_lib
from .spec import Likelihood, ModelSpec, Parameterization, Pooling, Prior

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData


def linear_predictor(draws: dict[str, np.ndarray], data: "GroupedData", spec: ModelSpec) -> np.ndarray:
    """eta (S, n_rows) from draws with leading dimension S (``theta`` (S, J), ``beta`` (S, k))."""
    eta = np.asarray(draws["theta"], dtype=float)[:, np.asarray(data.group_idx)]
    if spec.covariates:
        cols = [list(data.covariate_names).index(c) for c in spec.covariates]
        eta = eta + np.asarray(draws["beta"], dtype=float) @ np.asarray(data.X, dtype=float)[:, cols].T
    return eta


def _scale(draws, name):
    return np.asarray(draws[name], dtype=float)[:, None]


def _normal_logpdf_inplace(y: np.ndarray, eta: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """log N(y | eta, scale) = -((y - eta) / scale)^2 / 2 - log(scale) - log(2 pi) / 2, written
    into ``eta`` (no temporaries of its size: scipy's logpdf made several, 2.4 GB at 20M values)."""
    np.subtract(y, eta, out=eta)
    eta /= scale
    np.square(eta, out=eta)
    eta *= -0.5
    eta -= np.log(scale) + 0.5 * np.log(2 * np.pi)
    return eta


def pointwise_log_likelihood(draws: dict[str, np.ndarray], data: "GroupedData", spec: ModelSpec) -> np.ndarray:
    """log p(y_i | draw s), shape (S, n_rows), for LOO."""
    eta = linear_predictor(draws, data, spec)
    y = np.asarray(data.y, dtype=float)
    lik = Likelihood(spec.likelihood)
    if lik == Likelihood.NORMAL_KNOWN_SE:
        return _normal_logpdf_inplace(y, eta, np.asarray(data.se, dtype=float))
    if lik == Likelihood.NORMAL:
        return _normal_logpdf_inplace(y, eta, _scale(draws, "sigma"))
    if lik == Likelihood.STUDENT_T:
        return stats.t.logpdf(y, _scale(draws, "nu"), eta, _scale(draws, "sigma"))
    if lik == Likelihood.BINOMIAL:
        n = np.asarray(data.trials, dtype=float)
        # log C(n, y) + y log p + (n - y) log(1 - p), with log p = -log1p(exp(-eta))
        return (special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
                - y * np.logaddexp(0, -eta) - (n - y) * np.logaddexp(0, eta))
    rate = np.asarray(data.exposure, dtype=float) * np.exp(eta)
    return stats.poisson.logpmf(y, rate)


def draw_outcomes(draws: dict[str, np.ndarray], data: "GroupedData", spec: ModelSpec,
                  rng: np.random.Generator) -> np.ndarray:
    """One replicated data set per draw: y_rep (S, n_rows)."""
    eta = linear_predictor(draws, data, spec)
    lik = Likelihood(spec.likelihood)
    if lik == Likelihood.NORMAL_KNOWN_SE:
        return eta + np.asarray(data.se, dtype=float) * rng.standard_normal(eta.shape)
    if lik == Likelihood.NORMAL:
        return eta + _scale(draws, "sigma") * rng.standard_normal(eta.shape)
    if lik == Likelihood.STUDENT_T:
        return eta + _scale(draws, "sigma") * rng.standard_t(_scale(draws, "nu"), eta.shape)
    if lik == Likelihood.BINOMIAL:
        n = np.broadcast_to(np.asarray(data.trials, dtype=np.int64), eta.shape)
        return rng.binomial(n, special.expit(eta)).astype(float)
    rate = np.asarray(data.exposure, dtype=float) * np.exp(np.clip(eta, -50, 50))
    return rng.poisson(np.minimum(rate, 1e12)).astype(float)


def response_scale(spec: ModelSpec) -> str | None:
    """Name of the response-scale group value: ``p`` (binomial), ``rate`` (poisson) or None."""
    return {Likelihood.BINOMIAL: "p", Likelihood.POISSON: "rate"}.get(Likelihood(spec.likelihood))


def to_response(spec: ModelSpec, theta: np.ndarray) -> np.ndarray:
    """theta on the link scale -> response scale (logistic for binomial, exp for poisson)."""
    lik = Likelihood(spec.likelihood)
    if lik == Likelihood.BINOMIAL:
        return special.expit(theta)
    if lik == Likelihood.POISSON:
        return np.exp(theta)
    return theta


MAX_ROW_VALUES = 20_000_000
"""At most this many values in one (draws x rows) array of replicated outcomes (160 MB in float64)."""


def prior_draws(data: "GroupedData", spec: ModelSpec, priors: dict[str, Prior], n: int,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draws from the prior: every parameter of ``spec``, shaped (n, ...), plus ``y``.

    ``y`` is (m, n_rows), replicated data for the first m = min(n, MAX_ROW_VALUES // n_rows) (at
    least 1) parameter draws, so memory stays bounded for large data (1,000,000 rows: 20 data sets).
    """
    J = data.n_groups
    out: dict[str, np.ndarray] = {}
    if spec.pooling == Pooling.NONE:
        out["theta"] = prior_lib.sample(priors["theta"], rng, (n, J))
    else:
        out["mu"] = prior_lib.sample(priors["mu"], rng, n)
        if spec.pooling == Pooling.PARTIAL:
            out["tau"] = prior_lib.sample(priors["tau"], rng, n)
            z = rng.standard_normal((n, J))
            out["theta"] = out["mu"][:, None] + out["tau"][:, None] * z
            if spec.parameterization == Parameterization.NON_CENTERED:
                out["theta_decentered"] = z
        else:
            out["theta"] = np.repeat(out["mu"][:, None], J, axis=1)
    for name in ("sigma", "nu"):
        if name in priors:
            out[name] = prior_lib.sample(priors[name], rng, n)
    if spec.covariates:
        out["beta"] = np.column_stack([prior_lib.sample(priors[f"beta[{c}]"], rng, n) for c in spec.covariates])
    response = response_scale(spec)
    if response:
        out[response] = to_response(spec, out["theta"])
    m = max(1, min(n, MAX_ROW_VALUES // max(1, data.n_rows)))
    first = {k: v[:m] for k, v in out.items()} if m < n else out
    out["y"] = draw_outcomes(first, data, spec, rng)
    return out
