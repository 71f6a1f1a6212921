"""The pooling continuum (hiermod.continuum): limits, row-level data, tau's table, one tau."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hiermod.continuum import continuum_at, pooling_continuum, tau_posterior_table
from hiermod.errors import SpecError
from hiermod.exact import ExactPosterior, exact_posterior
from hiermod.spec import parse_prior

Y = np.array([28.0, 8, -3, 7, -1, 1, 18, 12])
SE = np.array([15.0, 10, 16, 11, 9, 11, 10, 18])


@pytest.fixture(scope="module")
def exact(eight_schools, reference_spec) -> ExactPosterior:
    return exact_posterior(eight_schools, reference_spec)


def test_pooling_continuum_limits(eight_schools, exact):
    table = pooling_continuum(eight_schools)  # flat prior on mu, as in BDA3 figure 5.6
    assert list(table.columns) == ["group", "tau", "estimate", "sd"]
    pooled = np.sum(Y / SE**2) / np.sum(1 / SE**2)
    at_zero = table[table["tau"] == 0]
    np.testing.assert_allclose(at_zero["estimate"], pooled)
    np.testing.assert_allclose(at_zero["sd"], np.sum(1 / SE**2) ** -0.5)
    largest = table[table["tau"] == table["tau"].max()]
    np.testing.assert_allclose(largest["estimate"], Y, atol=0.05)
    np.testing.assert_allclose(largest["sd"], SE, rtol=1e-3)
    # with the posterior's prior on mu, averaging the continuum over p(tau | y) gives E[theta | y]
    taus = exact.tau_grid
    cont = pooling_continuum(eight_schools, exact.priors, taus=taus)
    est = cont["estimate"].to_numpy().reshape(8, -1)
    np.testing.assert_allclose(est @ exact.tau_weights, exact.means["theta"], rtol=1e-10)


def test_pooling_continuum_gaussian_rows(radon):
    table = pooling_continuum(radon, taus=[1e6])
    frame = pd.DataFrame({"g": radon.group_idx, "y": radon.y})
    means = frame.groupby("g")["y"].mean().to_numpy()
    resid = radon.y - means[radon.group_idx]
    sigma = math.sqrt(np.sum(resid**2) / (radon.n_rows - radon.n_groups))
    np.testing.assert_allclose(table["estimate"], means, atol=1e-6)
    np.testing.assert_allclose(table["sd"], sigma / np.sqrt(radon.group_sizes), rtol=1e-6)


def test_tau_posterior_table(exact):
    table = tau_posterior_table(exact)
    assert list(table.columns) == ["tau", "density"]
    assert table["tau"].is_monotonic_increasing and (table["density"] >= 0).all()
    mass = np.trapezoid(table["density"], table["tau"])
    assert 0.99 < mass < 1.001


@pytest.mark.parametrize("case", ["summary", "gaussian"])
@pytest.mark.parametrize("tau", [0.0, 0.05, 0.3, 3.0, 30.0])
def test_continuum_at_weight_and_estimate_agree(case, tau, eight_schools, radon, exact):
    """Bug 4: the weight and the estimate use the same s_j, so the estimate is the weighted average
    of the group's own estimate and E[mu | tau, y] that the weight describes."""
    data, priors = (eight_schools, exact.priors) if case == "summary" else (radon, {"mu": "Normal(1.3, 2)"})
    table = continuum_at(data, priors, tau)
    assert list(table.columns) == ["group", "no_pooling", "se", "weight_own_data", "estimate_at_tau"]
    assert list(table["group"]) == list(data.labels)
    w = table["weight_own_data"].to_numpy()
    assert np.all((w >= 0) & (w <= 1))
    # E[mu | tau, y] from the same s_j: mu's posterior given tau (normal prior: conjugate)
    ybar, s = table["no_pooling"].to_numpy(), table["se"].to_numpy()
    prec = 1 / (s**2 + tau**2)
    m0, s0 = parse_prior(priors["mu"]).args
    mu_tau = (np.sum(prec * ybar) + m0 / s0**2) / (np.sum(prec) + 1 / s0**2)
    np.testing.assert_allclose(table["estimate_at_tau"], w * ybar + (1 - w) * mu_tau, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(w, tau**2 / (s**2 + tau**2), rtol=1e-12)
    # ... and it is the continuum's curve at that tau
    curve = pooling_continuum(data, priors, taus=[tau])
    np.testing.assert_allclose(table["estimate_at_tau"], curve["estimate"], rtol=1e-9, atol=1e-12)
    if case == "gaussian":
        # the continuum's s_j: pooled within-group sd / sqrt(n_j)
        frame = pd.DataFrame({"g": radon.group_idx, "y": radon.y})
        means = frame.groupby("g")["y"].mean().to_numpy()
        sigma = math.sqrt(np.sum((radon.y - means[radon.group_idx]) ** 2) / (radon.n_rows - radon.n_groups))
        np.testing.assert_allclose(s, sigma / np.sqrt(radon.group_sizes), rtol=1e-9)


def test_continuum_at_refuses_bad_tau(eight_schools):
    with pytest.raises(SpecError, match="taus"):
        continuum_at(eight_schools, None, -1.0)


def _gaussian_fit_with_sigma(data, sigma: float, seed: int = 0):
    """A partial-pooling normal Fit on row-level data with made-up draws (sigma fixed far from the
    pooled within-group sd), enough for the shrinkage table and the dashboard's continuum helpers."""
    import arviz as az

    from hiermod.result import Fit
    from hiermod.settings import SamplerSettings
    from hiermod.priors import resolve_priors
    from hiermod.spec import ModelSpec

    rng = np.random.default_rng(seed)
    C, D, J = 2, 50, data.n_groups
    spec = ModelSpec("normal", "partial", "non_centered", priors={"mu": "Normal(1.3, 2)"})
    posterior = {"mu": 1.3 + 0.05 * rng.standard_normal((C, D)),
                 "tau": 0.3 + 0.01 * rng.random((C, D)),
                 "sigma": np.full((C, D), sigma),
                 "theta": 1.3 + 0.3 * rng.standard_normal((C, D, J))}
    idata = az.from_dict(posterior=posterior, coords={"group": list(data.labels)},
                         dims={"theta": ["group"]})
    return Fit(idata, data, spec, resolve_priors(data, spec), "nuts", SamplerSettings(C, 100, D))


def test_dashboard_continuum_at_uses_one_se(radon):
    """ui.tables.continuum_at (the Shrinkage page's table at one tau) is the library's: the weight
    and the estimate come from the same s_j even when the fit's sigma differs from the pooled sd."""
    import warnings

    from ui import tables

    fit = _gaussian_fit_with_sigma(radon, sigma=3.0)
    tau = 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = tables.continuum_at(fit, tau)
    w, ybar = table["weight_own_data"].to_numpy(float), table["no_pooling"].to_numpy(float)
    mu_tau = continuum_at(radon, fit, tau).attrs["mu_given_tau"]
    np.testing.assert_allclose(table["estimate_at_tau"].to_numpy(float), w * ybar + (1 - w) * mu_tau,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table["estimate_at_tau"].to_numpy(float),
                               pooling_continuum(radon, fit, taus=[tau])["estimate"], rtol=1e-9)
