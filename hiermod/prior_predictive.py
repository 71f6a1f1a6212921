"""Prior predictive draws with numpy only (no JAX), so the Model page can preview priors instantly.

For ``n`` draws s = 1..n, with groups j = 1..J, rows i in group g[i] and covariates x_i (the same
structure as :mod:`hiermod.models`):

    no pooling:        theta_j ~ prior_theta                      (independently per group)
    complete pooling:  mu ~ prior_mu,  theta_j = mu
    partial pooling:   mu ~ prior_mu,  tau ~ prior_tau,  theta_j ~ Normal(mu, tau)
    eta_i = theta_{g[i]} + x_i . beta,   beta_k ~ prior_beta[k]

    normal_known_se:  y_i ~ Normal(eta_i, se_i)
    normal:           y_i ~ Normal(eta_i, sigma)
    student_t:        y_i ~ StudentT(nu, eta_i, sigma)      (= eta_i + sigma * t_nu)
    binomial:         y_i ~ Binomial(trials_i, logit^-1(eta_i))
    poisson:          y_i ~ Poisson(exposure_i * exp(eta_i))

Centered and non-centered parameterizations define the same distribution, so they share the
same draws here. Draws are returned on the *data scale* (:func:`to_data_scale`): the outcome
itself for normal likelihoods, the proportion y / trials for binomial and the rate
y / exposure for poisson, so they can be drawn beside the observed values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .priors import resolve_priors, sample
from .spec import Likelihood, ModelSpec, Pooling, Prior

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData

__all__ = ["prior_predictive_draws", "to_data_scale", "observed_on_data_scale"]

# exp() of a log rate above this overflows float64 Poisson sampling; prior draws that far out are
# meaningless anyway, so the linear predictor is clipped (documented so plots can say so).
_MAX_LOG_RATE = 20.0


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def prior_predictive_draws(
    data: "GroupedData",
    spec: ModelSpec,
    priors: dict[str, Prior] | None = None,
    n: int = 200,
    seed: int = 0,
) -> np.ndarray:
    """``n`` prior predictive data sets, shape ``(n, data.n_rows)``, on the data scale.

    ``priors`` defaults to :func:`hiermod.priors.resolve_priors` (data-scaled defaults updated
    with the spec's own). The same ``seed`` gives the same draws.
    """
    if priors is None:
        priors = resolve_priors(data, spec)
    rng = np.random.default_rng(seed)
    n_groups = data.n_groups
    idx = np.asarray(data.group_idx)

    if spec.pooling == Pooling.NONE:
        theta = sample(priors["theta"], rng, (n, n_groups))
    else:
        mu = sample(priors["mu"], rng, (n, 1))
        if spec.pooling == Pooling.PARTIAL:
            tau = sample(priors["tau"], rng, (n, 1))
            theta = mu + tau * rng.standard_normal((n, n_groups))
        else:
            theta = np.broadcast_to(mu, (n, n_groups))
    eta = theta[:, idx]
    if spec.covariates:
        cols = [list(data.covariate_names).index(c) for c in spec.covariates]
        X = np.asarray(data.X)[:, cols]
        beta = np.column_stack([sample(priors[f"beta[{c}]"], rng, n) for c in spec.covariates])
        eta = eta + beta @ X.T

    lik = spec.likelihood
    if lik == Likelihood.NORMAL_KNOWN_SE:
        y = eta + np.asarray(data.se) * rng.standard_normal(eta.shape)
    elif lik == Likelihood.NORMAL:
        sigma = sample(priors["sigma"], rng, (n, 1))
        y = eta + sigma * rng.standard_normal(eta.shape)
    elif lik == Likelihood.STUDENT_T:
        sigma = sample(priors["sigma"], rng, (n, 1))
        nu = sample(priors["nu"], rng, (n, 1))
        y = eta + sigma * rng.standard_t(np.broadcast_to(nu, eta.shape))
    elif lik == Likelihood.BINOMIAL:
        trials = np.ones(data.n_rows) if data.trials is None else np.asarray(data.trials)
        counts = rng.binomial(np.broadcast_to(trials.astype(np.int64), eta.shape), _sigmoid(eta))
        y = counts.astype(float)
    elif lik == Likelihood.POISSON:
        exposure = np.ones(data.n_rows) if data.exposure is None else np.asarray(data.exposure)
        lam = exposure * np.exp(np.clip(eta, -_MAX_LOG_RATE, _MAX_LOG_RATE))
        y = rng.poisson(lam).astype(float)
    else:  # pragma: no cover - Likelihood is closed
        raise ValueError(f"Unknown likelihood {lik}")
    return to_data_scale(data, spec, y)


def to_data_scale(data: "GroupedData", spec: ModelSpec, y: np.ndarray) -> np.ndarray:
    """Outcomes ``y`` (..., n_rows) as shown to a user: y, y / trials (binomial) or y / exposure (poisson)."""
    y = np.asarray(y, dtype=float)
    if spec.likelihood == Likelihood.BINOMIAL and data.trials is not None:
        return y / np.asarray(data.trials)
    if spec.likelihood == Likelihood.POISSON and data.exposure is not None:
        return y / np.asarray(data.exposure)
    return y


def observed_on_data_scale(data: "GroupedData", spec: ModelSpec) -> np.ndarray:
    """The observed outcomes on the same scale as :func:`prior_predictive_draws`."""
    return to_data_scale(data, spec, data.y)
