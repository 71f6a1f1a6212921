"""numpy log-likelihood and predictive draws agree with NumPyro's own densities and samplers."""

import numpy as np
import pytest

from hiermod import predictive
from hiermod.models import prepare
from hiermod.priors import resolve_priors
from hiermod.spec import ModelSpec
from synthetic import simulate

LIKELIHOODS = ["normal_known_se", "normal", "student_t", "binomial", "poisson", "negative_binomial"]


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
def test_log_likelihood_matches_numpyro(likelihood):
    import jax
    from numpyro.infer import Predictive, log_likelihood

    data = simulate(likelihood, covariate=likelihood != "normal_known_se")
    spec = ModelSpec(likelihood, covariates=("x",) if likelihood != "normal_known_se" else ())
    model, kwargs, priors, _ = prepare(data, spec, aggregate=False)
    draws = Predictive(model, num_samples=7)(jax.random.PRNGKey(0), **dict(kwargs, y=None))
    draws = {k: np.asarray(v, dtype=float) for k, v in draws.items() if k != "y"}
    expected = np.asarray(log_likelihood(model, draws, **kwargs)["y"])
    np.testing.assert_allclose(predictive.pointwise_log_likelihood(draws, data, spec), expected, rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
def test_prior_draws_have_every_site_and_sensible_outcomes(likelihood):
    data = simulate(likelihood)
    spec = ModelSpec(likelihood)
    out = predictive.prior_draws(data, spec, resolve_priors(data, spec), 200, np.random.default_rng(0))
    assert out["y"].shape == (200, data.n_rows) and out["theta"].shape == (200, data.n_groups)
    assert np.isfinite(out["y"]).all()
    if likelihood == "binomial":
        assert (out["y"] <= data.trials).all() and (out["y"] >= 0).all()


def test_posterior_predictive_mean_follows_eta():
    data = simulate("normal_known_se", n_groups=4)
    spec = ModelSpec("normal_known_se")
    draws = {"theta": np.tile([0.0, 1.0, 2.0, 3.0], (20_000, 1))}
    y = predictive.draw_outcomes(draws, data, spec, np.random.default_rng(1))
    np.testing.assert_allclose(y.mean(axis=0), [0, 1, 2, 3], atol=5 * data.se.max() / np.sqrt(20_000))
    np.testing.assert_allclose(y.std(axis=0), data.se, rtol=0.03)


def test_prior_outcomes_are_bounded_for_large_data(monkeypatch):
    """Replicated prior data sets are made for the first MAX_ROW_VALUES // n_rows draws only (a
    1,000,000-row file would otherwise take 500 x 1e6 float64 values, 4 GB, for the prior group)."""
    data = simulate("normal")
    monkeypatch.setattr(predictive, "MAX_ROW_VALUES", 10 * data.n_rows + 3)
    spec = ModelSpec("normal")
    out = predictive.prior_draws(data, spec, resolve_priors(data, spec), 200, np.random.default_rng(0))
    assert out["theta"].shape == (200, data.n_groups)
    assert out["y"].shape == (10, data.n_rows)
    # the replicated data belong to the first draws: their group means follow those draws' theta
    eta = predictive.linear_predictor({k: v[:10] for k, v in out.items()}, data, spec)
    resid = ((out["y"] - eta) / out["sigma"][:10, None]).ravel()  # ~ Normal(0, 1) if paired right
    se_mean, se_sd = 1 / np.sqrt(resid.size), 1 / np.sqrt(2 * resid.size)
    assert abs(resid.mean()) < 4 * se_mean and abs(resid.std() - 1) < 4 * se_sd
