"""Prior predictive draws with numpy only (no JAX), so the Model page can preview priors instantly.

For ``n`` draws s = 1..n, with groups j = 1..J, rows i in group g[i] and covariates x_i (the same
structure as :mod:`hiermod.models`):

    no pooling:        theta_j ~ prior_theta                      (independently per group)
    complete pooling:  mu ~ prior_mu,  theta_j = mu
    partial pooling:   mu ~ prior_mu,  tau ~ prior_tau,  theta_j ~ Normal(mu, tau)
    eta_i = theta_{g[i]} + x_i . beta,   beta_k ~ prior_beta[k]

    y_i ~ the family's observation model (hiermod.families)

Centered and non-centered parameterizations define the same distribution, so they share the
same draws here. Draws are returned on the *data scale* (:func:`to_data_scale`): the outcome
itself for normal likelihoods, the proportion y / trials for binomial and the rate
y / exposure for poisson, so they can be drawn beside the observed values.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .predictive import prior_draws, row_data
from .priors import resolve_priors
from .spec import ModelSpec, Prior

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData

__all__ = ["prior_predictive_draws", "to_data_scale", "observed_on_data_scale"]

def prior_predictive_draws(
    data: "GroupedData",
    spec: ModelSpec,
    priors: dict[str, Prior] | None = None,
    n: int = 200,
    seed: int = 0,
) -> np.ndarray:
    """``n`` prior predictive data sets, shape ``(n, data.n_rows)``, on the data scale.

    ``priors`` defaults to :func:`hiermod.priors.resolve_priors` (data-scaled defaults updated
    with the spec's own). The same ``seed`` gives the same draws. The draws themselves come from
    :func:`hiermod.predictive.prior_draws` (the same code that fills a fit's prior groups).
    """
    if priors is None:
        priors = resolve_priors(data, spec)
    draws = prior_draws(data, spec, priors, n, np.random.default_rng(seed))
    return to_data_scale(data, spec, draws["y"])


def to_data_scale(data: "GroupedData", spec: ModelSpec, y: np.ndarray) -> np.ndarray:
    """Outcomes ``y`` (..., n_rows) as shown to a user (the family's
    :meth:`~hiermod.families.Family.to_data_scale`: y, y / trials, y / exposure)."""
    return spec.family.to_data_scale(y, row_data(data))


def observed_on_data_scale(data: "GroupedData", spec: ModelSpec) -> np.ndarray:
    """The observed outcomes on the same scale as :func:`prior_predictive_draws`."""
    return to_data_scale(data, spec, data.y)
