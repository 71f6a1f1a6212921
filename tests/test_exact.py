"""The exact normal-known-se posterior against references we did not write.

References: posteriordb's published Stan draws of eight schools (mu ~ Normal(0, 5),
tau ~ HalfCauchy(5)); scipy's adaptive quadrature; scipy's multivariate normal; hand formulas.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from hiermod.errors import SpecError
from hiermod.exact import (
    ExactPosterior,
    _prior_times_normal,
    exact_fit,
    exact_posterior,
    pooling_continuum,
    tau_posterior_table,
)
from hiermod.settings import SamplerSettings
from hiermod.spec import ModelSpec, parse_prior

POSTERIOR = "eight_schools-eight_schools_noncentered"
SCHOOLS = "ABCDEFGH"
# exact summary row -> reference parameter (theta[1..8] are schools A..H in order, see model.md)
REF_NAMES = {"mu": "mu", "tau": "tau", **{f"theta[{s}]": f"theta[{i + 1}]" for i, s in enumerate(SCHOOLS)}}
Y = np.array([28.0, 8, -3, 7, -1, 1, 18, 12])
SE = np.array([15.0, 10, 16, 11, 9, 11, 10, 18])


@pytest.fixture(scope="module")
def reference(shared_data):
    folder = shared_data / "posteriors" / POSTERIOR
    summary = pd.read_csv(folder / "reference_summary.csv").set_index("parameter")
    draws = pd.read_csv(folder / "reference_draws.csv.gz")
    return summary, draws


@pytest.fixture(scope="module")
def exact(eight_schools, reference_spec) -> ExactPosterior:
    return exact_posterior(eight_schools, reference_spec)


def test_data_is_the_reference_data(eight_schools):
    assert eight_schools.labels == tuple(SCHOOLS)
    np.testing.assert_array_equal(eight_schools.y, Y)
    np.testing.assert_array_equal(eight_schools.se, SE)


# ------------------------------------------------------------------------ against posteriordb


def test_means_within_4_mcse_of_reference(exact, reference):
    summary, _ = reference
    table = exact.summary()
    assert list(table.index) == list(REF_NAMES)
    for name, ref_name in REF_NAMES.items():
        row = summary.loc[ref_name]
        mcse = row["sd"] / math.sqrt(row["ess_bulk"])        # the reference's own Monte Carlo error
        z = (table.loc[name, "mean"] - row["mean"]) / mcse
        assert abs(z) < 4, f"{name}: exact {table.loc[name, 'mean']:.4f}, reference {row['mean']:.4f}, z = {z:.2f}"


def test_sds_within_mc_band_of_reference(exact, reference):
    summary, draws = reference
    table = exact.summary()
    for name, ref_name in REF_NAMES.items():
        x = draws[ref_name].to_numpy()
        sd, ess = summary.loc[ref_name, "sd"], summary.loc[ref_name, "ess_bulk"]
        # delta method: sd = sqrt(E[(x - m)^2]); MCSE of the second central moment over ESS
        mcse_sd = np.std((x - x.mean()) ** 2) / math.sqrt(ess) / (2 * sd)
        z = (table.loc[name, "sd"] - sd) / mcse_sd
        assert abs(z) < 4, f"{name}: exact sd {table.loc[name, 'sd']:.4f}, reference {sd:.4f}, z = {z:.2f}"


def test_tau_mean_is_3_60(exact):
    # posteriordb's draws give 3.602 +- 0.032; the exact value (checked below against scipy) is 3.5977
    assert round(exact.means["tau"], 2) == 3.60


def test_tau_distribution_matches_reference_draws(exact, reference):
    """Kolmogorov-Smirnov and chi-square of the exact tau posterior against posteriordb's draws.

    The 10,000 Stan draws are nearly independent (ESS_bulk(tau) = 9,989, |lag-1 autocorrelation|
    < 0.01), so under "exact posterior = sampled posterior" the KS distance sup|F_exact - F_draws|
    is below the 99% critical value of the one-sample KS statistic for n = ESS with probability
    0.99. The chi-square test bins the draws into 20 bins of equal exact probability (edges are
    exact quantiles), so each bin expects n/20 draws; 19 degrees of freedom.
    """
    summary, draws = reference
    x = draws["tau"].to_numpy()
    ess = int(summary.loc["tau", "ess_bulk"])
    ks = stats.kstest(x, lambda t: exact.cdf("tau", t))
    assert ks.statistic < stats.kstwo.ppf(0.99, ess), ks
    cdf = exact.cdf("tau", exact.tau_grid)
    edges = np.interp(np.arange(1, 20) / 20, cdf, exact.tau_grid)
    observed = np.bincount(np.searchsorted(edges, x), minlength=20)
    assert stats.chisquare(observed).pvalue > 0.01, observed


def test_mu_and_theta_distributions_match_reference_draws(exact, reference):
    # same KS test for mu and each theta (mixtures of normals over the tau grid), at 99.9% each
    # since nine are tested together
    summary, draws = reference
    for name, ref_name in REF_NAMES.items():
        if name == "tau":
            continue
        ess = int(summary.loc[ref_name, "ess_bulk"])
        x = draws[ref_name].to_numpy()
        grid = np.linspace(x.min(), x.max(), 4001)   # the smooth CDF, interpolated (error ~1e-7)
        cdf = exact.cdf(name, grid)
        ks = stats.kstest(x, lambda v: np.interp(v, grid, cdf))
        assert ks.statistic < stats.kstwo.ppf(0.999, ess), (name, ks)


# ------------------------------------------------------------------------- against scipy


def test_tau_moments_and_evidence_match_scipy_quadrature(exact):
    """p(y | tau) with mu ~ Normal(0, 5) integrated out is y ~ MVN(0, diag(se^2 + tau^2) + 25)."""

    def joint(t):
        cov = np.diag(SE**2 + t**2) + 25.0
        _, logdet = np.linalg.slogdet(cov)
        loglik = -0.5 * (8 * math.log(2 * math.pi) + logdet + Y @ np.linalg.solve(cov, Y))
        return 2 / (math.pi * 5 * (1 + (t / 5) ** 2)) * math.exp(loglik)   # HalfCauchy(5) density

    opts = dict(limit=200, epsabs=0, epsrel=1e-9)
    z = integrate.quad(joint, 0, np.inf, **opts)[0]
    mean = integrate.quad(lambda t: t * joint(t), 0, np.inf, **opts)[0] / z
    second = integrate.quad(lambda t: t * t * joint(t), 0, np.inf, **opts)[0] / z
    assert exact.means["tau"] == pytest.approx(mean, rel=1e-6)
    assert exact.sds["tau"] == pytest.approx(math.sqrt(second - mean**2), rel=1e-5)
    assert exact.log_marginal == pytest.approx(math.log(z), abs=1e-6)


def test_normal_closed_form_equals_quadrature(eight_schools, reference_spec, exact):
    """mu ~ StudentT(1e6, 0, 5) takes the quadrature path and is Normal(0, 5) to ~1e-6."""
    numeric = exact_posterior(eight_schools, reference_spec, priors={"mu": "StudentT(1e6, 0, 5)"})
    pd.testing.assert_frame_equal(numeric.summary(), exact.summary(), rtol=1e-4, atol=1e-4)
    assert numeric.log_marginal == pytest.approx(exact.log_marginal, abs=1e-4)


@pytest.mark.parametrize("m, v", [(7.7, 16.6), (8.0, 1e4), (100.0, 1.0), (3.0, 1e-4)])
def test_mu_quadrature_matches_scipy(m, v):
    """log ∫ Cauchy(x | 0, 5) N(x | m, sqrt v) dx and the product's mean, against scipy.quad."""
    prior = parse_prior("Cauchy(0, 5)")
    logz, mean, _ = _prior_times_normal(prior, np.array([m]), np.array([v]))
    sd = math.sqrt(v)

    def f(x, k):  # Cauchy(0, 5) density times Normal(m, sd) density
        return x**k / (math.pi * 5 * (1 + (x / 5) ** 2)) * math.exp(-0.5 * ((x - m) / sd) ** 2) / (
            sd * math.sqrt(2 * math.pi))

    lo, hi = m - 15 * sd, m + 15 * sd
    pts = [0.0] if lo < 0 < hi else None
    z = integrate.quad(f, lo, hi, args=(0,), points=pts, limit=500, epsabs=0, epsrel=1e-11)[0]
    mu = integrate.quad(f, lo, hi, args=(1,), points=pts, limit=500, epsabs=0, epsrel=1e-11)[0] / z
    assert logz[0] == pytest.approx(math.log(z), abs=1e-5)
    assert mean[0] == pytest.approx(mu, abs=1e-5 * sd)


def test_complete_pooling_conjugate_and_bda_pooled_estimate(eight_schools):
    spec = ModelSpec("normal_known_se", "complete", priors={"mu": "Normal(1, 20)"})
    ep = exact_posterior(eight_schools, spec)
    prec = 1 / 20**2 + np.sum(1 / SE**2)
    assert ep.means["mu"] == pytest.approx((1 / 20**2 + np.sum(Y / SE**2)) / prec, rel=1e-12)
    assert ep.sds["mu"] == pytest.approx(prec**-0.5, rel=1e-12)
    np.testing.assert_allclose(ep.means["theta"], ep.means["mu"])
    # evidence: y ~ MVN(1, diag(se^2) + 20^2)
    mvn = stats.multivariate_normal(np.ones(8), np.diag(SE**2) + 400.0)
    assert ep.log_marginal == pytest.approx(mvn.logpdf(Y), abs=1e-9)
    # BDA3 section 5.5: the pooled estimate is 7.7 with standard error 4.1 (flat prior on mu)
    flat = exact_posterior(eight_schools, spec.with_priors(mu="Normal(0, 1e6)"))
    assert (round(flat.means["mu"], 1), round(flat.sds["mu"], 1)) == (7.7, 4.1)


def test_complete_pooling_quadrature_matches_scipy(eight_schools):
    spec = ModelSpec("normal_known_se", "complete", priors={"mu": "StudentT(3, 0, 5)"})
    ep = exact_posterior(eight_schools, spec)

    t3 = stats.t(3, 0, 5)

    def f(m, k):
        loglik = -0.5 * np.sum(((Y - m) / SE) ** 2 + np.log(2 * math.pi * SE**2))
        return m**k * t3.pdf(m) * math.exp(loglik)

    z = integrate.quad(f, -60, 80, args=(0,), epsabs=0, epsrel=1e-10, limit=200)[0]
    mean = integrate.quad(f, -60, 80, args=(1,), epsabs=0, epsrel=1e-10, limit=200)[0] / z
    assert ep.means["mu"] == pytest.approx(mean, abs=1e-5)
    assert ep.log_marginal == pytest.approx(math.log(z), abs=1e-6)


def test_no_pooling_conjugate_and_quadrature(eight_schools):
    spec = ModelSpec("normal_known_se", "none", priors={"theta": "Normal(2, 10)"})
    ep = exact_posterior(eight_schools, spec)
    prec = 1 / 100 + 1 / SE**2
    np.testing.assert_allclose(ep.means["theta"], (2 / 100 + Y / SE**2) / prec, rtol=1e-12)
    np.testing.assert_allclose(ep.sds["theta"], prec**-0.5, rtol=1e-12)
    assert "mu" not in ep.means and "tau" not in ep.means
    heavy = exact_posterior(eight_schools, spec.with_priors(theta="Cauchy(0, 10)"))
    for j in (0, 2):  # school A (far from the prior's centre) and C
        def f(t, k):  # Cauchy(0, 10) density times Normal(t, se_j) density at y_j
            return t**k / (math.pi * 10 * (1 + (t / 10) ** 2)) * math.exp(
                -0.5 * ((Y[j] - t) / SE[j]) ** 2) / (SE[j] * math.sqrt(2 * math.pi))
        z = integrate.quad(f, -300, 300, args=(0,), epsabs=0, epsrel=1e-10, limit=200)[0]
        mean = integrate.quad(f, -300, 300, args=(1,), epsabs=0, epsrel=1e-10, limit=200)[0] / z
        assert heavy.means["theta"][j] == pytest.approx(mean, abs=1e-4)


def test_rows_of_one_group_combine_exactly(eight_schools, reference_spec):
    """Two rows (y, se*sqrt 2) of one group carry the same information as one row (y, se)."""
    from hiermod.data import GroupedData

    d = eight_schools
    idx = np.concatenate([np.arange(8), [0]]).astype(np.int32)
    y = np.concatenate([Y, [Y[0]]])
    se = np.concatenate([SE, [SE[0] * math.sqrt(2)]])
    se[0] = SE[0] * math.sqrt(2)
    doubled = GroupedData(d.kind, d.columns, d.labels, idx, y, se, None, None, np.zeros((9, 0)), ())
    a = exact_posterior(d, reference_spec)
    b = exact_posterior(doubled, reference_spec)
    pd.testing.assert_frame_equal(a.summary(), b.summary(), rtol=1e-9)
    fitted = exact_fit(doubled, reference_spec, SamplerSettings(chains=1, draws=100))
    assert fitted.idata.log_likelihood["y"].shape == (1, 100, 9)


def test_tiny_tau_gives_complete_pooling_without_nan(eight_schools):
    spec = ModelSpec("normal_known_se", "partial", priors={"mu": "Normal(0, 5)", "tau": "HalfNormal(1e-6)"})
    ep = exact_posterior(eight_schools, spec)
    complete = exact_posterior(eight_schools, spec.replace(pooling="complete"))
    np.testing.assert_allclose(ep.means["theta"], complete.means["mu"], atol=1e-4)
    assert ep.means["mu"] == pytest.approx(complete.means["mu"], abs=1e-4)
    fitted = exact_fit(eight_schools, spec, SamplerSettings(chains=1, draws=200))
    for var in fitted.idata.posterior.data_vars.values():
        assert np.all(np.isfinite(var.values))


# ---------------------------------------------------------------------------------- exact_fit


@pytest.fixture(scope="module")
def drawn(eight_schools, reference_spec):
    return exact_fit(eight_schools, reference_spec, SamplerSettings(chains=4, draws=1000, seed=3))


def test_exact_fit_layout(drawn):
    idata = drawn.idata
    for group in ("posterior", "log_likelihood", "posterior_predictive", "prior", "prior_predictive",
                  "observed_data", "constant_data"):
        assert group in idata.groups(), group
    assert "sample_stats" not in idata.groups()
    post = idata.posterior
    assert post["mu"].shape == (4, 1000) and post["tau"].shape == (4, 1000)
    assert post["theta"].shape == post["theta_decentered"].shape == (4, 1000, 8)
    assert list(post["theta"].coords["group"].values) == list(SCHOOLS)
    assert idata.log_likelihood["y"].shape == (4, 1000, 8)
    assert idata.posterior_predictive["y"].shape == (4, 1000, 8)
    assert idata.prior["tau"].shape == (1, 500) and idata.prior["theta"].shape == (1, 500, 8)
    assert idata.prior_predictive["y"].shape == (1, 500, 8)
    assert drawn.method == "exact" and drawn.exact is not None
    assert drawn.timings["compile_s"] == 0.0 and drawn.timings["total_s"] > 0
    # theta = mu + tau * theta_decentered, and the log-likelihood is the normal log density
    theta = post["theta"].values
    rebuilt = post["mu"].values[..., None] + post["tau"].values[..., None] * post["theta_decentered"].values
    np.testing.assert_allclose(theta, rebuilt, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(idata.log_likelihood["y"].values[0, :5],
                               stats.norm.logpdf(Y, theta[0, :5], SE), rtol=1e-5)


def test_exact_fit_draws_match_exact_moments(drawn):
    ep = drawn.exact
    n = 4000  # independent draws: MCSE = sd / sqrt(n)
    for name in ("mu", "tau"):
        z = (drawn.draws(name).mean() - ep.means[name]) / (ep.sds[name] / math.sqrt(n))
        assert abs(z) < 4, (name, z)
    z = (drawn.draws("theta").mean(axis=0) - ep.means["theta"]) / (ep.sds["theta"] / math.sqrt(n))
    assert np.all(np.abs(z) < 4), z
    sd = drawn.draws("theta").std(axis=0)
    np.testing.assert_allclose(sd, ep.sds["theta"], rtol=0.08)


def test_exact_fit_is_deterministic(eight_schools, reference_spec, drawn):
    again = exact_fit(eight_schools, reference_spec, SamplerSettings(chains=4, draws=1000, seed=3))
    for group in ("posterior", "posterior_predictive", "prior"):
        for name, var in getattr(drawn.idata, group).data_vars.items():
            np.testing.assert_array_equal(var.values, getattr(again.idata, group)[name].values)
    other = exact_fit(eight_schools, reference_spec, SamplerSettings(chains=4, draws=1000, seed=4))
    assert not np.array_equal(other.draws("mu"), drawn.draws("mu"))


def test_exact_fit_other_poolings_and_parameterizations(eight_schools, reference_spec):
    s = SamplerSettings(chains=2, draws=200, seed=1)
    centered = exact_fit(eight_schools, reference_spec.replace(parameterization="centered"), s)
    assert set(centered.idata.posterior.data_vars) == {"mu", "tau", "theta"}
    complete = exact_fit(eight_schools, reference_spec.replace(pooling="complete"), s)
    post = complete.idata.posterior
    assert set(post.data_vars) == {"mu", "theta"}
    np.testing.assert_allclose(post["theta"].values, np.repeat(post["mu"].values[..., None], 8, -1), rtol=1e-6)
    none = exact_fit(eight_schools, ModelSpec("normal_known_se", "none"), s)
    assert set(none.idata.posterior.data_vars) == {"theta"}
    assert none.idata.posterior["theta"].shape == (2, 200, 8)
    heavy = exact_fit(eight_schools, reference_spec.with_priors(mu="Cauchy(0, 5)"), s)
    z = (heavy.draws("mu").mean() - heavy.exact.means["mu"]) / (heavy.exact.sds["mu"] / math.sqrt(400))
    assert abs(z) < 4


def test_fit_entry_point_uses_exact(eight_schools, reference_spec):
    from hiermod.fitting import fit

    result = fit(eight_schools, reference_spec, chains=1, draws=100, method="exact")
    assert result.method == "exact" and result.idata.posterior["theta"].shape == (1, 100, 8)


# ----------------------------------------------------------------------------------- errors


def test_prior_overrides_for_unknown_parameters_are_refused(eight_schools, reference_spec):
    """A prior on a parameter the model does not have is an error, as in ModelSpec, not dropped."""
    with pytest.raises(SpecError, match=r"This model has no parameter 'sigma' to put a prior on; it has: mu, tau"):
        exact_posterior(eight_schools, reference_spec, priors={"sigma": "HalfNormal(1)"})
    with pytest.raises(SpecError, match=r"no parameter 'tau' to put a prior on; it has: mu\."):
        exact_posterior(eight_schools, reference_spec.replace(pooling="complete"), priors={"tau": "HalfCauchy(1)"})
    known = exact_posterior(eight_schools, reference_spec, priors={"tau": "HalfNormal(5)"})
    assert str(known.priors["tau"]) == "HalfNormal(5)"


def test_covariates_are_refused(eight_schools):
    spec = ModelSpec("normal_known_se", covariates=("x",))
    with pytest.raises(SpecError, match="without covariates; use NUTS"):
        exact_posterior(eight_schools, spec)


def test_other_likelihoods_are_refused(radon):
    with pytest.raises(SpecError, match="normal_known_se"):
        exact_posterior(radon, ModelSpec("normal"))


# ------------------------------------------------------------------------ continuum and tables


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
