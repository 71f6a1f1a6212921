"""The group-quadrature instant engine (binomial / Poisson / negative binomial, one level).

References we did not write: long NUTS runs (agreement within their Monte Carlo standard errors),
scipy.integrate.quad on 1-D posteriors written with scipy.stats' own distributions, and the
engine's own quadrature with 60 Gauss-Hermite nodes (convergence).
"""

from __future__ import annotations

import math

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

import hiermod
from hiermod.data import ColumnMap, load_data
from hiermod.datasets import load_dataset
from hiermod.grid_quadrature import max_difference
from hiermod.instant import _priors, engine_for, instant_posterior
from hiermod.instant import group_quadrature as gq
from hiermod.instant.posterior import integrate_engine
from hiermod.priors import resolve_priors
from hiermod.spec import ModelSpec
from synthetic import simulate

Z = 4.0            # agreement: |difference| below 4 standard errors
QUAD = 1e-5        # 1-D quadrature against scipy's quad, in posterior sds (measured: below 2e-6)
CONVERGED = 1e-4   # moments with NODES vs 60 nodes, and grid_error(), in posterior sds (measured: <2e-6)


# ------------------------------------------------------------------------------------ references


def _rows(data, j):
    sel = np.asarray(data.group_idx) == j
    trials = None if data.trials is None else np.asarray(data.trials)[sel]
    exposure = np.ones(sel.sum()) if data.exposure is None else np.asarray(data.exposure)[sel]
    return np.asarray(data.y)[sel], trials, exposure


def _loglik(likelihood, y, trials, exposure, theta, phi=None):
    """sum_i log p(y_i | theta) from scipy.stats (not the family registry); theta a number or an array."""
    t = np.atleast_1d(np.asarray(theta, float))[None, :]
    y, n, e = y[:, None], (None if trials is None else np.asarray(trials)[:, None]), np.asarray(exposure)[:, None]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if likelihood == "binomial":
            out = stats.binom.logpmf(y, n, special.expit(t)).sum(0)
        else:
            mean = e * np.exp(np.minimum(t, 500.0))
            out = (stats.poisson.logpmf(y, mean) if likelihood == "poisson"
                   else stats.nbinom.logpmf(y, phi, phi / (phi + mean))).sum(0)
            out = np.where(t[0] > 500, -np.inf, out)       # exposure e^theta overflows; the likelihood is 0
    return out if np.ndim(theta) else float(out[0])


def _quad_moments(logf, lo=-math.inf, hi=math.inf):
    """(log ∫ e^logf, mean, sd) by scipy.integrate.quad, split around the mode (``logf`` takes
    numbers and arrays)."""
    grid = np.linspace(max(lo, -60.0), min(hi, 30.0), 6001)
    values = logf(grid)
    mode, top = grid[np.argmax(values)], values.max()
    cuts = sorted({min(max(c, lo), hi) for c in (lo, mode - 50, mode - 10, mode - 2, mode, mode + 2, mode + 10, hi)})
    sums = []
    for k in range(3):
        f = lambda t, k=k: t**k * math.exp(min(logf(t) - top, 50.0))  # noqa: E731
        sums.append(sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-12, limit=500)[0]
                        for a, b in zip(cuts[:-1], cuts[1:])))
    mean = sums[1] / sums[0]
    return top + math.log(sums[0]), mean, math.sqrt(sums[2] / sums[0] - mean**2)


def _support(prior):
    return (-math.inf if prior.lower is None else prior.lower), (math.inf if prior.upper is None else prior.upper)


def _negative_binomial_data(n_groups=8, rows=6, phi=3.0, mu=0.5, tau=0.5, seed=4):
    """Overdispersed counts drawn from the model itself (NB2 as a gamma mixture of Poissons)."""
    rng = np.random.default_rng(seed)
    theta = mu + tau * rng.standard_normal(n_groups)
    g = np.repeat(np.arange(n_groups), rows)
    t = rng.uniform(0.5, 2.0, g.size)
    y = rng.poisson(rng.gamma(phi, t * np.exp(theta[g]) / phi))
    frame = pd.DataFrame({"group": [f"g{j + 1}" for j in g], "y": y, "t": t})
    return load_data(frame, ColumnMap("group", "y", "poisson", exposure="t"))


# ------------------------------------------------------------------------- long NUTS references


def _nuts(data, spec, seed):
    return hiermod.fit(data, spec, method="nuts", chains=4, warmup=1000, draws=4000, seed=seed)


@pytest.fixture(scope="module")
def surgical_nuts():
    data, spec = load_dataset("surgical"), ModelSpec(likelihood="binomial")
    return data, spec, _nuts(data, spec, 11)


@pytest.fixture(scope="module")
def rates_nuts():
    data, spec = load_dataset("simulated_rates"), ModelSpec(likelihood="poisson")
    return data, spec, _nuts(data, spec, 12)


@pytest.fixture(scope="module")
def negative_binomial_nuts():
    data, spec = _negative_binomial_data(), ModelSpec(likelihood="negative_binomial")
    return data, spec, _nuts(data, spec, 13)


def _agreement(fit, post, names):
    """Largest |NUTS - instant| / sqrt(MCSE^2 + instant error^2) over means and sds of ``names``."""
    posterior = fit.idata.posterior
    instant_error = post.grid_error()
    worst = {}
    for name in names:
        draws = posterior[name]
        for stat, value, mine in (("mean", draws.mean(("chain", "draw")), post.mean(name)),
                                  ("sd", draws.std(("chain", "draw")), post.sd(name))):
            mcse = az.mcse(posterior[[name]], method=stat)[name].values
            err = np.sqrt(mcse**2 + (instant_error * np.asarray(post.sd(name))) ** 2)
            worst[f"{name} {stat}"] = float(np.max(np.abs(value.values - mine) / err))
    return worst


@pytest.mark.parametrize("reference", ["surgical_nuts", "rates_nuts", "negative_binomial_nuts"])
def test_partial_pooling_agrees_with_long_nuts(reference, request):
    """The issue's acceptance test: mu, tau (phi) and every theta_j, means and sds, within 4 MCSE."""
    data, spec, fit = request.getfixturevalue(reference)
    post = instant_posterior(data, spec)
    assert post.label.startswith("exact: grid over (mu, tau") and post.exact
    worst = _agreement(fit, post, ("mu", "tau", "theta") + spec.family.param_names)
    assert max(worst.values()) < Z, worst


# --------------------------------------------------------------------------- quadrature accuracy


CONVERGENCE_SETS = {
    "surgical": lambda: (load_dataset("surgical"), "binomial"),
    "simulated_rates": lambda: (load_dataset("simulated_rates"), "poisson"),
    "binary": lambda: (simulate("binomial", n_groups=60, rows_per_group=1, seed=2), "binomial"),
    "small_counts": lambda: (simulate("poisson", n_groups=200, rows_per_group=2, seed=1), "poisson"),
}


@pytest.mark.parametrize("name", sorted(CONVERGENCE_SETS))
def test_gauss_hermite_and_grid_converge(name):
    """NODES-point adaptive Gauss-Hermite against 60 points: the posterior moments (and the log
    density at the grid's nodes) agree; refining the grid changes nothing either."""
    data, likelihood = CONVERGENCE_SETS[name]()
    spec = ModelSpec(likelihood=likelihood)
    priors = _priors(data, spec, None)
    parts, reference = gq._partial(data, spec, priors), gq._partial(data, spec, priors, nodes=60)
    post, ref = integrate_engine(parts), integrate_engine(reference)
    assert max_difference(ref.grid, post.grid) < CONVERGED
    u, w = ref.grid.points, ref.grid.weights
    diff = parts.problem.log_density(u) - reference.problem.log_density(u)
    assert math.sqrt(w @ (diff - w @ diff) ** 2) < CONVERGED       # log density, up to a constant
    assert post.grid_error() < CONVERGED


def test_partial_pooling_given_the_hyperparameters_matches_quad():
    """Everything fixed: each theta_j's mean and sd, and log p(y, mu, tau) with every constant
    (the binomial coefficients of the rows, not of the group sums), against scipy's quad."""
    data = simulate("binomial", n_groups=6, rows_per_group=3, seed=5)
    spec = ModelSpec(likelihood="binomial")
    mu, tau = 0.3, 0.8
    post = instant_posterior(data, spec, fixed={"mu": mu, "tau": tau})
    priors = resolve_priors(data, spec)
    log_joint = float(priors["mu"].scipy().logpdf(mu) + priors["tau"].scipy().logpdf(tau) + math.log(tau))
    for j in range(data.n_groups):
        y, n, e = _rows(data, j)
        lz, m, sd = _quad_moments(lambda t: _loglik("binomial", y, n, e, t) + stats.norm.logpdf(t, mu, tau))
        log_joint += lz
        assert abs(post.mean("theta")[j] - m) < QUAD * sd and abs(post.sd("theta")[j] - sd) < QUAD * sd
    # 11-node AGHQ: ~5e-9 per group here; a log density off by 1e-6 moves no moment by more than 1e-6 sds
    assert post.log_marginal == pytest.approx(log_joint, abs=1e-6)


NONE_CASES = [
    ("surgical", "binomial", None, None),
    ("surgical", "binomial", "StudentT(3, -2, 1)", None),
    ("surgical", "binomial", "Normal(-2, 2) T(-4, -2.6)", None),
    ("simulated_rates", "poisson", "Cauchy(-4, 1)", None),
    ("simulated_rates", "negative_binomial", None, 5.0),
    ("simulated_rates", "negative_binomial", "StudentT(3, -4, 1)", 5.0),
]


@pytest.mark.parametrize("dataset,likelihood,prior,phi", NONE_CASES)
def test_no_pooling_matches_quad(dataset, likelihood, prior, phi):
    """No pooling: each group's posterior mean and sd against scipy's quad, for Normal, heavy-tailed
    and bounded priors (negative binomial: phi held fixed)."""
    data = load_dataset(dataset)
    spec = ModelSpec(likelihood=likelihood, pooling="none", priors={"theta": prior} if prior else {})
    post = instant_posterior(data, spec, fixed={"phi": phi} if phi else None)
    theta_prior = resolve_priors(data, spec)["theta"]
    frozen = theta_prior.scipy()
    for j in range(data.n_groups):
        y, n, e = _rows(data, j)
        _, m, sd = _quad_moments(lambda t: _loglik(likelihood, y, n, e, t, phi) + frozen.logpdf(t),
                                 *_support(theta_prior))
        assert abs(post.mean("theta")[j] - m) < QUAD * sd, j
        assert abs(post.sd("theta")[j] - sd) < QUAD * sd, j


@pytest.mark.parametrize("likelihood,phi", [("binomial", None), ("poisson", None), ("negative_binomial", 5.0)])
def test_complete_pooling_matches_quad(likelihood, phi):
    """Complete pooling: mu's posterior mean and sd, and log p(y) (all constants), against quad."""
    data = load_dataset("surgical" if likelihood == "binomial" else "simulated_rates")
    spec = ModelSpec(likelihood=likelihood, pooling="complete")
    post = instant_posterior(data, spec, fixed={"phi": phi} if phi else None)
    prior = resolve_priors(data, spec)["mu"].scipy()
    y, n, e = np.asarray(data.y), data.trials, (np.ones(data.n_rows) if data.exposure is None else data.exposure)
    lz, m, sd = _quad_moments(lambda t: _loglik(likelihood, y, n, e, t, phi) + prior.logpdf(t))
    assert abs(post.mean("mu") - m) < QUAD * sd and abs(post.sd("mu") - sd) < QUAD * sd
    np.testing.assert_allclose(post.mean("theta"), post.mean("mu"))
    if phi is None:                # with phi held, log_marginal is log p(y, phi), not log p(y)
        assert post.log_marginal == pytest.approx(lz, abs=1e-6)


# -------------------------------------------------------------------------------------- draws


def _z_scores(draws, mean, sd):
    """|z| of the draws' mean and sd against exact values (the sd's standard error from the
    draws' fourth moment, so skewed and heavy-tailed conditionals are judged fairly)."""
    n = draws.shape[0]
    centred = draws - draws.mean(0)
    z_mean = (draws.mean(0) - mean) / (sd / math.sqrt(n))
    se_sd = np.sqrt(np.var(centred**2, axis=0) / n) / (2 * draws.std(0))
    z_sd = (draws.std(0) - sd) / se_sd
    return float(np.max(np.abs(z_mean))), float(np.max(np.abs(z_sd)))


@pytest.mark.parametrize("likelihood", ["binomial", "negative_binomial"])
def test_draws_given_the_hyperparameters_are_exact(likelihood):
    """theta | h, y by rejection: 20,000 draws at the grid's heaviest node and at a node far in its
    tail match the conditional mean and sd from the quadrature."""
    data = load_dataset("surgical" if likelihood == "binomial" else "simulated_rates")
    spec = ModelSpec(likelihood=likelihood)
    post = instant_posterior(data, spec)
    problem, w = post._parts.problem, post.grid.weights
    order = np.argsort(w)
    tail = order[np.searchsorted(np.cumsum(w[order]), 1e-4)]
    rng = np.random.default_rng(7)
    for node in (order[-1], tail):
        u = post.grid.points[node][None, :]
        _, moments = problem.moments(u)
        mean, var = moments["theta"]
        draws = post._parts.sample_given(np.repeat(u, 20_000, axis=0), 20_000, rng)["theta"]
        assert max(_z_scores(draws, mean[0], np.sqrt(var[0]))) < Z


@pytest.mark.parametrize("likelihood,prior", [("binomial", "StudentT(3, -2, 1)"), ("poisson", None)])
def test_no_pooling_draws_match_the_moments(likelihood, prior):
    data = load_dataset("surgical" if likelihood == "binomial" else "simulated_rates")
    spec = ModelSpec(likelihood=likelihood, pooling="none", priors={"theta": prior} if prior else {})
    post = instant_posterior(data, spec)
    draws = post.draws(20_000, np.random.default_rng(8))["theta"]
    assert max(_z_scores(draws, post.mean("theta"), post.sd("theta"))) < Z


@pytest.mark.parametrize("likelihood", ["binomial", "negative_binomial"])
def test_posterior_draws_match_the_moments(likelihood):
    """Full draws (the grid's hyperparameters, then theta | h): every quantity's mean and sd match
    the exact moments."""
    data = load_dataset("surgical" if likelihood == "binomial" else "simulated_rates")
    post = instant_posterior(data, ModelSpec(likelihood=likelihood))
    draws = post.draws(20_000, np.random.default_rng(9))
    assert set(draws) == set(post.names) and draws["theta"].shape == (20_000, data.n_groups)
    for name in post.names:
        x = np.asarray(draws[name], float).reshape(20_000, -1)
        assert max(_z_scores(x, np.atleast_1d(post.mean(name)), np.atleast_1d(post.sd(name)))) < Z, name


# ------------------------------------------------------------------------------- wiring

def test_the_engine_serves_counts_with_a_normal_population_only():
    surgical, rates = load_dataset("surgical"), load_dataset("simulated_rates")
    for data, likelihood in ((surgical, "binomial"), (rates, "poisson"), (rates, "negative_binomial")):
        for pooling in ("partial", "complete", "none"):
            engine, _ = engine_for(data, ModelSpec(likelihood=likelihood, pooling=pooling))
            assert engine.name == "group_quadrature"
    engine, _ = engine_for(surgical, ModelSpec(likelihood="binomial", population="beta"))
    assert engine.name == "conjugate"


def test_mu_is_on_the_grid_with_any_prior():
    """mu is a grid hyperparameter on its own scale ('identity'): with tau held fixed and a
    Student-t prior on mu, mu's posterior mean and sd match brute-force nested quadrature; mu itself
    can be held fixed too."""
    data = simulate("binomial", n_groups=5, rows_per_group=2, seed=6)
    spec = ModelSpec(likelihood="binomial", priors={"mu": "StudentT(3, 1.5, 0.5)"})
    tau = 0.6
    post = instant_posterior(data, spec, fixed={"tau": tau})
    assert post.grid.grid_names == ("mu",)
    rows = [_rows(data, j) for j in range(data.n_groups)]

    # brute force: Gauss-Legendre in mu (600 nodes on [-8, 12]) and in theta_j given mu (300 on mu ± 12 tau)
    x, wx = np.polynomial.legendre.leggauss(600)
    z, wz = np.polynomial.legendre.leggauss(300)
    mu, w_mu = 2.0 + 10.0 * x, 10.0 * wx
    t = mu[:, None] + 12 * tau * z[None, :]
    log_lik = np.zeros_like(mu)
    for y, n, e in rows:
        g = _loglik("binomial", y, n, e, t.ravel()).reshape(t.shape) + stats.norm.logpdf(t, mu[:, None], tau)
        top = g.max(1)
        log_lik += top + np.log(np.exp(g - top[:, None]) @ (12 * tau * wz))
    log_post = log_lik + stats.t(3, 1.5, 0.5).logpdf(mu)
    p = w_mu * np.exp(log_post - log_post.max())
    mean = p @ mu / p.sum()
    sd = math.sqrt(p @ (mu - mean) ** 2 / p.sum())
    assert abs(post.mean("mu") - mean) < QUAD * sd and abs(post.sd("mu") - sd) < QUAD * sd
    held = instant_posterior(data, spec, fixed={"mu": 1.0})
    assert held.mean("mu") == pytest.approx(1.0, abs=1e-12) and held.hyper_names == ("mu", "tau") and held.grid.grid_names == ("tau",)


def test_instant_fit_reports_every_quantity_nuts_reports():
    data = load_dataset("simulated_rates")
    fit = hiermod.fit(data, ModelSpec(likelihood="negative_binomial"), method="instant", chains=2, draws=200)
    assert {"mu", "tau", "phi", "theta", "theta_decentered", "rate"} <= set(fit.idata.posterior.data_vars)
    assert fit.idata.posterior["theta"].shape == (2, 200, data.n_groups)


# ------------------------------------------------------- draws against the distributions they sample


KS_ALPHA = 1e-3    # a KS test's false-alarm probability (seeded draws: the test is deterministic)


def _cdf_on(grid, log_density):
    """CDF on ``grid`` of the density exp(log_density) (trapezoid, normalised)."""
    dens = np.exp(log_density - np.max(log_density))
    cdf = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(grid))])
    return lambda q: np.interp(q, grid, cdf / cdf[-1])


@pytest.mark.parametrize("likelihood", ["binomial", "negative_binomial"])
def test_group_draws_at_a_node_follow_the_conditional_cdf(likelihood):
    """theta_j | h, y at the grid's heaviest node: 20,000 draws of one group (the sampler draws all
    groups at once) pass a KS test against the CDF of L_j(theta) N(theta | mu, tau) from scipy.stats'
    likelihood on 40,001 points."""
    data = load_dataset("surgical" if likelihood == "binomial" else "simulated_rates")
    spec = ModelSpec(likelihood=likelihood)
    post = instant_posterior(data, spec)
    node = int(np.argmax(post.grid.weights))
    values = {k: float(v[node]) for k, v in post.grid.nodes.items()}
    counts = gq._counts(data, spec.family)
    params = {k: np.array([values[k]]) for k in spec.family.param_names}
    theta = gq._draw_at_nodes(counts, np.array([values["mu"]]), np.array([values["tau"] ** -2.0]), params,
                              np.zeros(20_000, int), np.random.default_rng(11))
    for j in (0, data.n_groups // 2):
        y, trials, exposure = _rows(data, j)
        grid = np.linspace(values["mu"] - 12 * values["tau"] - 5, values["mu"] + 12 * values["tau"] + 5, 40_001)
        log_f = (_loglik(likelihood, y, trials, exposure, grid, values.get("phi"))
                 + stats.norm.logpdf(grid, values["mu"], values["tau"]))
        assert stats.kstest(theta[:, j], _cdf_on(grid, log_f)).pvalue > KS_ALPHA, j


def test_hyperparameter_draws_follow_their_marginal(monkeypatch):
    """mu and log tau from post.draws (grid nodes by weight, theta drawn there, then Metropolis moves
    of (mu, tau) given theta): 20,000 draws pass a KS test against the marginal computed by brute
    force (log p(y, value) with that hyperparameter held fixed, on 200 values); the nodes alone
    (no moves) fail it, so the test can tell."""
    data, spec = load_dataset("surgical"), ModelSpec(likelihood="binomial")
    post = instant_posterior(data, spec)
    for name, to_u in (("tau", np.log), ("mu", np.asarray)):
        u = post.grid.points[:, post.grid.grid_names.index(name)]
        m = post.grid.weights @ u
        sd = math.sqrt(post.grid.weights @ (u - m) ** 2)
        grid = np.linspace(m - 7 * sd, m + 7 * sd, 200)
        value = np.exp(grid) if name == "tau" else grid
        log_p = np.array([instant_posterior(data, spec, fixed={name: v}).log_marginal for v in value])
        cdf = _cdf_on(grid, log_p)
        draws = to_u(post.draws(20_000, np.random.default_rng(12))[name])
        assert stats.kstest(draws, cdf).pvalue > KS_ALPHA, name
        monkeypatch.setattr(gq, "MOVES", 0)
        nodes_only = to_u(post.draws(20_000, np.random.default_rng(12))[name])
        monkeypatch.undo()
        assert stats.kstest(nodes_only, cdf).pvalue < KS_ALPHA, name
