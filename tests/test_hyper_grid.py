"""Grid reference posteriors (hiermod.hyper_grid) against references computed another way:
the exact normal-normal posterior, dense multivariate normal algebra, numerical quadrature, and
Monte Carlo (importance sampling, random-walk Metropolis) judged by its Monte Carlo standard error."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from hiermod import hyper_grid as hg
from hiermod.datasets import load_dataset
from hiermod.exact import exact_posterior
from hiermod.grid_quadrature import max_difference
from hiermod.prior_families import parse_prior
from hiermod.spec import ModelSpec

REFINED = {"step": 0.3, "tail": 28.0}


def _close(a, b, scale, tol):
    assert np.all(np.abs(np.asarray(a) - np.asarray(b)) <= tol * np.asarray(scale)), (a, b)


# ----------------------------------------------------------------------- eight schools (K = 1)


def test_one_level_known_se_equals_exact_posterior():
    data = load_dataset("eight_schools")
    priors = {"mu": parse_prior("Normal(0, 20)"), "tau": parse_prior("HalfCauchy(5)")}
    grid = hg.nested_normal(data.y, data.group_idx, [None], priors, se=data.se)
    exact = exact_posterior(data, ModelSpec("normal_known_se"), priors=priors)
    for name in ("mu", "tau", "theta"):
        _close(grid.mean(name), exact.means[name], exact.sds[name], 1e-4)
        _close(grid.sd(name), exact.sds[name], exact.sds[name], 1e-4)
    assert grid.log_marginal == pytest.approx(exact.log_marginal, abs=1e-4)
    assert grid.weights.sum() == pytest.approx(1.0)
    assert grid.weights @ grid.nodes["tau"] == pytest.approx(grid.mean("tau"))


# ------------------------------------------------------------------ dense Gaussian references

RNG = np.random.default_rng(7)
# three outer groups, two inner groups each, two rows per inner group (12 rows)
PARENT_2 = np.array([0, 0, 1, 1, 2, 2])
IDX_2 = np.repeat(np.arange(6), 2)
Y_2 = RNG.normal(3.0, 2.0, size=12)
# three levels: 2 outer, 3 middle, 5 inner groups
PARENT_3 = [None, np.array([0, 0, 1]), np.array([0, 1, 1, 2, 2])]
IDX_3 = np.array([0, 0, 1, 2, 2, 3, 4, 4, 4, 1, 3, 0])
Y_3 = RNG.normal(-1.0, 1.5, size=12)


def _onehot(idx, n):
    return np.eye(n)[idx]


def _gaussian_condition(mean_w, cov_w, H, noise_cov, y):
    """log N(y | H mean_w, H C H' + R) and E / Var of w given y (the dense formulas)."""
    S = H @ cov_w @ H.T + noise_cov
    log_lik = stats.multivariate_normal(H @ mean_w, S).logpdf(y)
    gain = cov_w @ H.T @ np.linalg.inv(S)
    return log_lik, mean_w + gain @ (y - H @ mean_w), np.diag(cov_w - gain @ H @ cov_w)


def _nested_dense(y, idx, parents, m0, s0, taus, noise_sd):
    """Latent w = (mu, theta_1, .., theta_K) = mean + T eps (eps independent standard normals),
    rows y_i = theta_K[g_i] + noise; the dense Gaussian formulas. Returns them and the level sizes."""
    outer = int(np.max(parents[1])) + 1 if len(parents) > 1 else int(np.max(idx)) + 1
    sizes = [outer] + [len(p) for p in parents[1:]]
    n_eps = 1 + sum(sizes)
    rows = [np.eye(1, n_eps) * s0]                       # mu = m0 + s0 eps_0
    col = 1
    for k, n in enumerate(sizes):
        link = np.ones((n, 1)) if k == 0 else _onehot(parents[k], sizes[k - 1])
        block = link @ rows[-1]                          # the parent's value
        block[:, col:col + n] += taus[k] * np.eye(n)     # + tau_k eps
        rows.append(block)
        col += n
    T = np.vstack(rows)
    H = np.zeros((y.shape[0], n_eps))
    H[np.arange(y.shape[0]), n_eps - sizes[-1] + idx] = 1.0
    noise = np.diag(np.broadcast_to(np.asarray(noise_sd, float) ** 2, y.shape))
    return _gaussian_condition(np.full(n_eps, m0), T @ T.T, H, noise, y), sizes


@pytest.mark.parametrize("y, idx, parents", [(Y_2, IDX_2, [None, PARENT_2]), (Y_3, IDX_3, PARENT_3)])
def test_nested_conditional_equals_dense_gaussian(y, idx, parents):
    K = len(parents)
    taus = [0.7, 1.9, 0.4][:K]
    names = [str(k) for k in range(1, K + 1)]
    priors = {"mu": "Normal(1, 3)"}
    cond = hg.nested_normal_conditional(y, idx, parents, priors, taus, sigma=1.3)
    (log_lik, mean, var), sizes = _nested_dense(y, idx, parents, 1.0, 3.0, taus, 1.3)
    assert cond.log_lik == pytest.approx(log_lik, rel=1e-10)
    assert cond.means["mu"] == pytest.approx(mean[0], rel=1e-9)
    assert cond.variances["mu"] == pytest.approx(var[0], rel=1e-9)
    start = 1
    for name, n in zip(names, sizes):
        np.testing.assert_allclose(cond.means[f"theta_{name}"], mean[start:start + n], rtol=1e-9)
        np.testing.assert_allclose(cond.variances[f"theta_{name}"], var[start:start + n], rtol=1e-9)
        start += n


def test_known_se_conditional_equals_dense_gaussian():
    se = RNG.uniform(0.5, 2.0, size=12)
    parents = [None, PARENT_2]
    cond = hg.nested_normal_conditional(Y_2, IDX_2, parents, {"mu": "Normal(0, 5)"}, [1.1, 0.6], se=se)
    (log_lik, mean, var), _ = _nested_dense(Y_2, IDX_2, parents, 0.0, 5.0, [1.1, 0.6], se)
    assert cond.log_lik == pytest.approx(log_lik, rel=1e-10)
    np.testing.assert_allclose(cond.means["theta_2"], mean[4:], rtol=1e-9)
    np.testing.assert_allclose(cond.variances["theta_1"], var[1:4], rtol=1e-9)


X_S = RNG.normal(size=12)
Y_S = 1.0 + 0.5 * X_S + RNG.normal(size=12)
IDX_S = np.array([0, 0, 0, 1, 1, 1, 1, 2, 2, 3, 3, 3])
SLOPE_PRIORS = {"mu": "Normal(0.5, 2)", "beta": "Normal(-0.3, 1.5)", "tau": "HalfNormal(1)",
                "tau_x": "HalfNormal(1)", "sigma": "HalfNormal(2)", "rho": 2.0}


def test_varying_slopes_conditional_equals_dense_gaussian():
    J, tau, tau_x, rho, sigma = 4, 0.8, 0.5, -0.4, 0.9
    cond = hg.varying_slopes_conditional(Y_S, X_S, IDX_S, J, SLOPE_PRIORS, tau, tau_x, sigma, rho)
    L = np.linalg.cholesky(np.array([[tau**2, rho * tau * tau_x], [rho * tau * tau_x, tau_x**2]]))
    # w = (mu, beta, a_1..a_J, b_1..b_J) from eps = (2 location, 2 J group) standard normals
    T = np.zeros((2 + 2 * J, 2 + 2 * J))
    T[0, 0], T[1, 1] = 2.0, 1.5          # prior sds of mu and beta
    T[2:2 + J, 0] = 2.0                  # a_j = mu + ...
    T[2 + J:, 1] = 1.5                   # b_j = beta + ...
    for j in range(J):
        cols = [2 + 2 * j, 3 + 2 * j]
        T[2 + j, cols] = L[0]
        T[2 + J + j, cols] = L[1]
    mean_w = np.concatenate([[0.5, -0.3], np.full(J, 0.5), np.full(J, -0.3)])
    H = np.zeros((12, 2 + 2 * J))
    H[np.arange(12), 2 + IDX_S] = 1.0
    H[np.arange(12), 2 + J + IDX_S] = X_S
    log_lik, mean, var = _gaussian_condition(mean_w, T @ T.T, H, sigma**2 * np.eye(12), Y_S)
    assert cond.log_lik == pytest.approx(log_lik, rel=1e-10)
    assert (cond.means["mu"], cond.means["beta"]) == pytest.approx(tuple(mean[:2]), rel=1e-9)
    assert (cond.variances["mu"], cond.variances["beta"]) == pytest.approx(tuple(var[:2]), rel=1e-9)
    np.testing.assert_allclose(cond.means["theta"], mean[2:2 + J], rtol=1e-9)
    np.testing.assert_allclose(cond.means["slope"], mean[2 + J:], rtol=1e-9)
    np.testing.assert_allclose(cond.variances["theta"], var[2:2 + J], rtol=1e-9)
    np.testing.assert_allclose(cond.variances["slope"], var[2 + J:], rtol=1e-9)


# ---------------------------------------------------------------- beta-binomial, gamma-Poisson

BB_Y, BB_N, BB_IDX = np.array([3, 5, 1, 9, 2, 7]), np.array([10, 12, 8, 15, 9, 11]), np.array([0, 0, 1, 1, 2, 2])
GP_Y, GP_E, GP_IDX = np.array([4, 7, 1, 0, 12, 9]), np.array([1.5, 2.0, 0.7, 1.1, 3.0, 2.2]), BB_IDX


def test_beta_binomial_marginal_equals_quadrature():
    a, b = 1.7, 3.2
    total = 0.0
    for j in range(3):
        rows = BB_IDX == j

        def f(p, rows=rows):
            return np.exp(stats.binom.logpmf(BB_Y[rows], BB_N[rows], p).sum()) * stats.beta.pdf(p, a, b)

        total += np.log(integrate.quad(f, 0, 1, epsabs=0, epsrel=1e-12)[0])
    assert hg.beta_binomial_log_marginal(BB_Y, BB_N, BB_IDX, 3, a, b) == pytest.approx(total, rel=1e-9)


def test_gamma_poisson_marginal_equals_quadrature():
    a, b = 2.3, 0.8
    total = 0.0
    for j in range(3):
        rows = GP_IDX == j

        def f(r, rows=rows):
            return (np.exp(stats.poisson.logpmf(GP_Y[rows], r * GP_E[rows]).sum())
                    * stats.gamma.pdf(r, a, scale=1 / b))

        total += np.log(integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-12)[0])
    assert hg.gamma_poisson_log_marginal(GP_Y, GP_E, GP_IDX, 3, a, b) == pytest.approx(total, rel=1e-9)


@pytest.mark.parametrize("model, data", [(hg.beta_binomial, (BB_Y, BB_N, BB_IDX)),
                                         (hg.gamma_poisson, (GP_Y, GP_E, GP_IDX))])
def test_count_grids_are_stable_under_refinement(model, data):
    args = (*data, 3, parse_prior("HalfNormal(5)"), parse_prior("HalfNormal(5)"))
    assert max_difference(model(*args), model(*args, **REFINED)) < 1e-3


# ------------------------------------------------------------------ whole-posterior Monte Carlo


def test_beta_binomial_agrees_with_random_walk_metropolis():
    """400 independent random-walk Metropolis chains on (log alpha, log beta) with the closed-form
    marginal; MCSE from the spread of the chain means; grid means within 4 MCSE."""
    Y = np.bincount(BB_IDX, weights=BB_Y)
    N = np.bincount(BB_IDX, weights=BB_N)
    prior = stats.halfnorm(0, 5)

    def log_post(u):
        a, b = np.exp(u[:, :1]), np.exp(u[:, 1:])
        ll = (special.betaln(a + Y, b + N - Y) - special.betaln(a, b)).sum(1)
        return ll + prior.logpdf(a[:, 0]) + prior.logpdf(b[:, 0]) + u.sum(1)

    rng = np.random.default_rng(3)
    chains, steps, burn = 400, 3000, 500
    u = np.log(prior.rvs(size=(chains, 2), random_state=rng))
    lp = log_post(u)
    draws = np.empty((steps - burn, chains, 2))
    for t in range(steps):
        prop = u + 0.8 * rng.standard_normal(u.shape)
        lp_prop = log_post(prop)
        accept = np.log(rng.random(chains)) < lp_prop - lp
        u[accept], lp[accept] = prop[accept], lp_prop[accept]
        if t >= burn:
            draws[t - burn] = u
    values = np.exp(draws)
    p_mean = (values[..., :1] + Y) / (values.sum(-1, keepdims=True) + N)   # E[p_j | a, b, y] per draw
    grid = hg.beta_binomial(BB_Y, BB_N, BB_IDX, 3, "HalfNormal(5)", "HalfNormal(5)")
    for est, ref in ((values[..., 0], grid.mean("alpha")), (values[..., 1], grid.mean("beta")),
                     (p_mean[..., 0], grid.mean("p")[0]), (p_mean[..., 2], grid.mean("p")[2])):
        chain_means = est.mean(axis=0)
        mcse = chain_means.std(ddof=1) / np.sqrt(chains)
        assert abs(chain_means.mean() - ref) < 4 * mcse


def test_nested_two_levels_agrees_with_prior_importance_sampling():
    """Importance sampling from the prior of (tau_1, tau_2, sigma) weighted by the closed-form
    p(y | scales); self-normalised estimates with their delta-method MCSE; grid within 4 MCSE."""
    priors = {"mu": "Normal(3, 5)", "tau_1": "HalfNormal(2)", "tau_2": "HalfNormal(2)", "sigma": "HalfNormal(3)"}
    grid = hg.nested_normal(Y_2, IDX_2, [None, PARENT_2], priors)
    rng = np.random.default_rng(11)
    n = 40_000
    scales = np.abs(rng.normal(size=(n, 3))) * [2.0, 2.0, 3.0]
    model = hg._Nested.build(Y_2, IDX_2, [None, PARENT_2], priors, None, None)
    log_w, mom = model.log_lik(scales[:, :2], scales[:, 2], moments=True)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    checks = {"tau_1": scales[:, 0], "tau_2": scales[:, 1], "sigma": scales[:, 2],
              "mu": mom["mu"][0], "theta_2": mom["theta_2"][0][:, 0]}
    for name, f in checks.items():
        est = w @ f
        mcse = np.sqrt(np.sum(w**2 * (f - est) ** 2))
        ref = grid.mean(name) if name != "theta_2" else grid.mean(name)[0]
        assert abs(est - ref) < 4 * mcse, name
    assert 1 / np.sum(w**2) > 2000   # enough effective draws for the MCSE to mean something


# ------------------------------------------------------------------ grids: refinement and errors


def test_nested_and_slopes_grids_are_stable_under_refinement():
    priors = {"mu": "Normal(0, 5)", "tau_1": "HalfNormal(2)", "tau_2": "HalfNormal(2)", "sigma": "HalfNormal(3)"}
    a = hg.nested_normal(Y_2, IDX_2, [None, PARENT_2], priors)
    assert max_difference(a, hg.nested_normal(Y_2, IDX_2, [None, PARENT_2], priors, **REFINED)) < 1e-3
    b = hg.varying_slopes(Y_S, X_S, IDX_S, 4, SLOPE_PRIORS, correlated=False)
    assert max_difference(b, hg.varying_slopes(Y_S, X_S, IDX_S, 4, SLOPE_PRIORS, correlated=False,
                                               **REFINED)) < 1e-3
    assert set(b.names) == {"tau", "tau_x", "sigma", "mu", "beta", "theta", "slope"}


def test_correlated_slopes_report_rho_within_its_range():
    post = hg.varying_slopes(Y_S, X_S, IDX_S, 4, SLOPE_PRIORS)
    assert -1 < post.mean("rho") < 1 and post.sd("rho") > 0
    assert post.mean("theta").shape == (4,) and post.mean("slope").shape == (4,)


def test_location_priors_must_be_normal():
    with pytest.raises(ValueError, match="Normal"):
        hg.nested_normal(Y_2, IDX_2, [None, PARENT_2], {"mu": "StudentT(3, 0, 5)", "tau_1": "HalfNormal(1)",
                                                        "tau_2": "HalfNormal(1)", "sigma": "HalfNormal(1)"})
    with pytest.raises(ValueError, match="Normal"):
        hg.varying_slopes(Y_S, X_S, IDX_S, 4, SLOPE_PRIORS | {"beta": "Cauchy(0, 1)"})
    with pytest.raises(ValueError, match="positive"):
        hg.beta_binomial(BB_Y, BB_N, BB_IDX, 3, "Normal(0, 1)", "HalfNormal(5)")
