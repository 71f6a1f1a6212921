"""Empirical Bayes against full Bayes.

References we did not write: the multivariate normal marginal likelihood y ~ N(m0 1, diag(se^2 + tau^2)
+ s0^2 11') maximised by brute force; the closed-form type-II ML with equal standard errors,
tau^2 = S / (J - 1) - sigma^2 (S the sum of squares about the mean; flat prior on mu); the normal-normal
conditional posterior given tau (BDA3 section 5.4); the beta-binomial likelihood (scipy) maximised by
scipy; and calibration: with truth drawn from the prior, full-Bayes intervals cover at their nominal
rate, judged by the Monte Carlo standard error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats
from synthetic import simulate

from hiermod.data import ColumnMap, load_data
from hiermod.empirical_bayes import CHOICES, compare, coverage_study, plug_in
from hiermod.errors import SpecError
from hiermod.priors import log_density
from hiermod.spec import ModelSpec

Z90 = stats.norm.ppf(0.95)


def _summary(y, se):
    frame = pd.DataFrame({"g": [f"g{j}" for j in range(len(y))], "y": y, "se": se})
    return load_data(frame, ColumnMap("g", "y", "summary", se="se"))


def _mvn_loglik(data, tau, m0, s0):
    y, se = np.asarray(data.y), np.asarray(data.se)
    C = tau[:, None, None] ** 2 * np.eye(y.size) + s0**2 * np.ones((y.size, y.size)) + np.diag(se**2)
    r = y - m0
    sol = np.linalg.solve(C, np.broadcast_to(r, (tau.size, y.size))[..., None])[..., 0]
    return -0.5 * (np.linalg.slogdet(C)[1] + (r * sol).sum(1))


@pytest.fixture(scope="module")
def spread():
    """20 groups with se 0.5-1.5 and tau = 2: the maxima of p(tau | y) and p(y | tau) are inside."""
    return simulate("normal_known_se", n_groups=20, mu=1.0, tau=2.0, seed=5)


def test_plug_in_values_maximise_the_multivariate_normal_reference(spread):
    spec = ModelSpec("normal_known_se", "partial", priors={"mu": "Normal(0, 10)", "tau": "HalfNormal(1.5)"})
    def objective(t, prior):
        return _mvn_loglik(spread, np.atleast_1d(t), 0.0, 10.0) + (log_density(prior, t) if prior else 0.0)

    tau = np.linspace(1e-3, 10, 2001)
    ref = {}
    for choice, prior in (("marginal_likelihood", None), ("posterior_mode", "HalfNormal(1.5)")):
        k = int(np.argmax(objective(tau, prior)))
        best = optimize.minimize_scalar(lambda t: -objective(t, prior)[0], bounds=(tau[k - 1], tau[k + 1]),
                                        method="bounded", options={"xatol": 1e-9})
        ref[choice] = best.x
    assert ref["posterior_mode"] < ref["marginal_likelihood"] - 0.1  # the prior pulls the mode down
    for choice in CHOICES:
        plug = plug_in(spread, spec, choice)
        assert not plug.boundary
        assert plug.values["tau"] == pytest.approx(ref[choice], abs=1e-4), choice
        assert plug.used == plug.values


def test_type2_ml_is_the_closed_form_with_equal_standard_errors():
    rng = np.random.default_rng(11)
    sigma, J = 1.0, 12
    spec = ModelSpec("normal_known_se", "partial", priors={"mu": "Normal(0, 10000)"})  # flat mu
    y = 3 + 2.0 * rng.standard_normal(J) + sigma * rng.standard_normal(J)
    S = np.sum((y - y.mean()) ** 2)
    plug = plug_in(_summary(y, np.full(J, sigma)), spec, "marginal_likelihood")
    assert plug.values["tau"] == pytest.approx(np.sqrt(S / (J - 1) - sigma**2), rel=1e-4)
    # groups closer together than their se: the maximum is at tau = 0 (the boundary)
    y = 3 + 0.3 * sigma * rng.standard_normal(J)
    assert np.sum((y - y.mean()) ** 2) / (J - 1) < sigma**2
    plug = plug_in(_summary(y, np.full(J, sigma)), spec, "marginal_likelihood")
    assert plug.at_boundary == {"tau": True} and plug.values == {"tau": 0.0}
    assert 0 < plug.used["tau"] < 1e-5


def _conditional_given_tau(data, tau, m0, s0):
    """BDA3 5.4 with a Normal(m0, s0) prior on mu: mu | tau, y and theta_j | tau, y (normal)."""
    y, se = np.asarray(data.y), np.asarray(data.se)
    w = 1 / (se**2 + tau**2)
    V = 1 / (w.sum() + 1 / s0**2)
    mu_hat = V * (w @ y + m0 / s0**2)
    B = se**2 / (se**2 + tau**2)
    return B * mu_hat + (1 - B) * y, np.sqrt((1 - B) * se**2 + B**2 * V)


def _assert_normal_intervals(table, mean, sd, n=4000):
    # the 5% and 95% quantiles of n independent draws: se = sqrt(p (1 - p) / n) / phi(z) * sd
    q_se = np.sqrt(0.05 * 0.95 / n) / stats.norm.pdf(Z90) * sd
    np.testing.assert_allclose(table["eb_mean"], mean, rtol=1e-9)
    assert np.all(np.abs(table["eb_lower"] - (mean - Z90 * sd)) < 4 * q_se)
    assert np.all(np.abs(table["eb_upper"] - (mean + Z90 * sd)) < 4 * q_se)


def test_eb_is_the_closed_form_conditional_posterior_given_tau(spread):
    spec = ModelSpec("normal_known_se", "partial", priors={"mu": "Normal(0, 10)", "tau": "HalfNormal(5)"})
    result = compare(spread, spec, "marginal_likelihood")
    mean, sd = _conditional_given_tau(spread, result.plug.used["tau"], 0.0, 10.0)
    _assert_normal_intervals(result.table, mean, sd)


def test_eight_schools_eb_is_complete_pooling(eight_schools):
    spec = ModelSpec("normal_known_se", "partial", priors={"mu": "Normal(0, 5)", "tau": "HalfNormal(5)"})
    for choice in CHOICES:
        result = compare(eight_schools, spec, choice)
        assert result.plug.at_boundary == {"tau": True} and result.plug.values == {"tau": 0.0}
        mean, sd = _conditional_given_tau(eight_schools, 0.0, 0.0, 5.0)  # complete pooling: mu | y
        assert np.ptp(mean) < 1e-9
        _assert_normal_intervals(result.table, mean, sd)
        assert (result.table["width_ratio"] < 1).all()
        assert "complete pooling" in result.summary()


def test_joint_type2_ml_of_a_beta_population_is_the_beta_binomial_maximum():
    rng = np.random.default_rng(2)
    n = rng.integers(10, 60, 25)
    y = rng.binomial(n, rng.beta(4.0, 12.0, 25))
    data = load_data(pd.DataFrame({"g": [f"g{j}" for j in range(25)], "y": y, "n": n}),
                     ColumnMap("g", "y", "binomial", trials="n"))
    spec = ModelSpec("binomial", "partial", population="beta")

    def neg(v):
        return -stats.betabinom.logpmf(y, n, np.exp(v[0]), np.exp(v[1])).sum()

    best = optimize.minimize(neg, np.log([2.0, 6.0]), method="Nelder-Mead",
                             options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
    plug = plug_in(data, spec, "marginal_likelihood")
    assert not plug.boundary
    assert plug.values["alpha"] == pytest.approx(np.exp(best.x[0]), rel=1e-3)
    assert plug.values["beta"] == pytest.approx(np.exp(best.x[1]), rel=1e-3)
    result = compare(data, spec, "marginal_likelihood")
    assert result.quantity == "p" and result.table["eb_lower"].between(0, 1).all()


def test_full_bayes_covers_at_the_nominal_rate_and_eb_under_covers(eight_schools):
    """Truth drawn from the prior with the eight schools' standard errors: FB's 90% intervals are
    calibrated by construction; EB (tau at its posterior mode, often 0) is too sure."""
    spec = ModelSpec("normal_known_se", "partial")
    result = coverage_study(eight_schools, spec, replicates=200, seed=1)
    table = result.table.set_index("method")
    fb, eb = table.loc["full Bayes"], table.loc["empirical Bayes"]
    assert abs(fb["coverage"] - 0.9) < 3 * fb["mc_se"]
    diff = result.covered["full Bayes"].mean(1) - result.covered["empirical Bayes"].mean(1)
    assert diff.mean() > 3 * diff.std(ddof=1) / np.sqrt(diff.size)  # paired over the same data sets
    assert eb["mean_width"] < fb["mean_width"] and 0 < result.boundary_share < 1
    assert result.replicates == 200 and "200 data sets" in result.summary()


def test_bad_requests_say_what_to_do(eight_schools):
    spec = ModelSpec("normal_known_se", "partial")
    with pytest.raises(SpecError, match="posterior_mode"):
        compare(eight_schools, spec, "median")
    with pytest.raises(SpecError, match="Partial pooling"):
        compare(eight_schools, spec.replace(pooling="complete"))
    with pytest.raises(SpecError, match="replicates"):
        coverage_study(eight_schools, spec, replicates=0)
