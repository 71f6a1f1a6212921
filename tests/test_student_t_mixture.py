"""The Student-t population engine's 1-D integrals (hiermod.instant.student_t_known_se) against
scipy's adaptive quad over theta itself, across nu from 0.02 to 300, tau down to 0.005 se and
|ybar - mu| up to 40 se; and its draws of theta_j given the hyperparameters against the exact
conditional distribution (KS)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import integrate, stats

from hiermod.instant import student_t_known_se as st

NUS = (0.02, 0.1, 0.7, 3.0, 15.0, 60.0, 300.0)
TAUS = (0.005, 0.1, 1.0, 4.0, 30.0)          # in units of se
DISTANCES = (0.0, 1.0, 3.0, 8.0, 20.0, 40.0)  # |ybar - mu| in units of se


def _quad_moments(d: float, s: float, tau: float, nu: float) -> tuple[float, float, float]:
    """(log L, E[theta], Var[theta]) of p(theta | y) ∝ Normal(d | theta, s) StudentT(theta | nu, 0, tau)
    by scipy's quad over theta (the integrand scaled by its largest value on a fine grid, breakpoints
    at the t's centre, its scale and at the data)."""
    def log_f(theta):
        return stats.norm.logpdf(d, theta, s) + stats.t.logpdf(theta, nu, 0.0, tau)

    lo, hi = min(d, 0.0) - 14 * s, max(d, 0.0) + 14 * s
    top = float(np.max(log_f(np.linspace(lo, hi, 4001))))
    points = sorted({float(p) for p in np.clip([-30 * tau, -tau, 0.0, tau, 30 * tau, d - s, d, d + s, d / 2], lo, hi)})

    def moment(k, epsabs=0.0):
        return integrate.quad(lambda x: x**k * math.exp(log_f(x) - top), lo, hi, points=points, limit=1000,
                              epsabs=epsabs, epsrel=1e-11)[0]

    m0 = moment(0)
    m1, m2 = moment(1, 1e-14 * m0), moment(2)   # the first moment may be 0: an absolute tolerance
    mean = m1 / m0
    return top + math.log(m0), mean, m2 / m0 - mean**2


@pytest.fixture(scope="module")
def cases():
    """(nu, tau, d) rows with s = 1, the quad references and the engine's values (mu = -d, ybar = 0)."""
    rows = np.array(list(itertools.product(NUS, TAUS, DISTANCES)))
    ref = np.array([_quad_moments(d, 1.0, tau, nu) for nu, tau, d in rows])
    ours = st.log_likelihood(-rows[:, 2], rows[:, 1], rows[:, 0], np.zeros(1), np.ones(1), with_moments=True)
    return rows, ref, np.column_stack([x[:, 0] for x in ours])


def test_log_likelihood_is_quad_over_theta(cases):
    """log L_j within 2e-8 (the bounds: NODE_ERROR = 1e-8 relative plus about e^-CUT at each end),
    outliers included: their mass lies at small w, far outside w's own quantiles."""
    rows, ref, ours = cases
    err = np.abs(ours[:, 0] - ref[:, 0])
    worst = int(np.argmax(err))
    assert err[worst] < 2e-8, (rows[worst], ours[worst, 0], ref[worst, 0])


def test_conditional_moments_are_quad_over_theta(cases):
    """E[theta_j | h, y] within 1e-7 sd and sd within 1e-7 relative (from E[q], E[q^2] over w)."""
    rows, ref, ours = cases
    sd = np.sqrt(ref[:, 2])
    mean_err = np.abs(ours[:, 1] + rows[:, 2] - ref[:, 1]) / sd       # ours: theta with ybar = 0, mu = -d
    sd_err = np.abs(np.sqrt(ours[:, 2]) / sd - 1)
    assert mean_err.max() < 1e-7, rows[int(np.argmax(mean_err))]
    assert sd_err.max() < 1e-7, rows[int(np.argmax(sd_err))]


def test_scale_invariance_and_several_groups():
    """The nodes are shared by a grid point's groups: several groups of different se at once give
    each group's value alone (s scales out: L(d s, s, tau s) = L(d, 1, tau) / s)."""
    rng = np.random.default_rng(3)
    s = np.array([0.5, 3.0, 15.0, 40.0])
    ybar = rng.normal(0, 20, s.size)
    mu, tau, nu = rng.normal(0, 10, 40), np.exp(rng.uniform(np.log(0.01), np.log(60), 40)), \
        np.exp(rng.uniform(np.log(0.02), np.log(300), 40))
    together, mean, var = st.log_likelihood(mu, tau, nu, ybar, s**2, with_moments=True)
    for j in range(s.size):
        alone, m1, v1 = st.log_likelihood(mu, tau, nu, ybar[j:j + 1], s[j:j + 1] ** 2, with_moments=True)
        scaled, _, _ = st.log_likelihood((mu - ybar[j]) / s[j], tau / s[j], nu, np.zeros(1), np.ones(1))
        np.testing.assert_allclose(together[:, j], alone[:, 0], rtol=0, atol=2e-8)
        np.testing.assert_allclose(together[:, j], scaled[:, 0] - math.log(s[j]), rtol=0, atol=2e-8)
        np.testing.assert_allclose(mean[:, j], m1[:, 0], rtol=0, atol=1e-7 * s[j])
        np.testing.assert_allclose(var[:, j], v1[:, 0], rtol=1e-6, atol=0)


def test_the_step_meets_its_error_bound():
    """step_for(alpha) keeps E(h) = min_y 2 (cos y)^-alpha / (e^{2 pi y / h} - 1) below NODE_ERROR,
    checked on a finer y grid than the table's, off the table's alphas, and beyond the table."""
    y = np.linspace(1e-7, np.pi / 2 - 1e-12, 200_001)
    for alpha in (0.5, 0.51, 0.77, 1.3, 4.2, 17.0, 150.5, 3000.0, 1e6, 1e8):
        h = float(st.step_for(np.array([alpha]))[0])
        x = 2 * np.pi * y / h
        log_e = np.min(math.log(2) - alpha * np.log(np.cos(y)) - x - np.log(-np.expm1(-x)))
        assert log_e <= math.log(st.NODE_ERROR) + 1e-9, alpha
        x = 2 * np.pi * y / (1.1 * h)   # and the table is not far too cautious
        log_e = np.min(math.log(2) - alpha * np.log(np.cos(y)) - x - np.log(-np.expm1(-x)))
        assert log_e > math.log(st.NODE_ERROR), alpha


def test_halving_the_step_changes_nothing():
    """The trapezoid sums at the engine's step and at half of it agree to NODE_ERROR (geometric
    convergence: the engine's step is already converged)."""
    rng = np.random.default_rng(8)
    M = 400
    mu, tau, nu = rng.normal(0, 30, M), np.exp(rng.uniform(np.log(0.005), np.log(60), M)), \
        np.exp(rng.uniform(np.log(0.02), np.log(300), M))
    ybar, s2 = np.array([0.0, 5.0, -12.0]), np.array([1.0, 4.0, 100.0])
    a, tau2 = nu / 2, tau**2
    lo, hi = st.t_range(a, tau2, (ybar - mu[:, None]) ** 2, s2)
    K, step = st._node_counts(a, lo, hi)
    work = (np.empty(0),) * 3
    for k in np.unique(K):
        rows = np.flatnonzero(K == k)
        args = (a[rows], lo[rows])
        coarse = st._bucket_sums(*args, step[rows], int(k), mu[rows], tau2[rows], ybar, s2, False, work)[0]
        fine = st._bucket_sums(*args, step[rows] / 2, 2 * int(k) - 1, mu[rows], tau2[rows], ybar, s2, False, work)[0]
        np.testing.assert_allclose(coarse, fine, rtol=0, atol=2 * st.NODE_ERROR)


@pytest.mark.parametrize("nu, tau, mu", [(0.05, 2.0, 1.0), (3.0, 0.3, -4.0), (300.0, 5.0, 20.0), (1.5, 1.0, 40.0)])
def test_draws_follow_the_exact_conditional(nu, tau, mu):
    """Draws of theta_j given (mu, tau, nu) (w_j from the piecewise-linear density of log w, then
    theta_j | w_j) against the CDF of p(theta | mu, tau, nu, y_j) (quad over theta): KS p > 1e-3 for
    40,000 draws per group, groups near mu, far from it and an outlier at 40 se."""
    ybar, s = np.array([2.0, -6.0, 0.5]), np.array([1.0, 3.0, 1.0])
    n = 40_000
    u = np.tile([mu, math.log(tau), math.log(nu)], (n, 1))
    theta = st._draw_theta(u, ybar, s**2, np.random.default_rng(17))
    for j in range(ybar.size):
        d, sj = ybar[j] - mu, s[j]
        log_l = _quad_moments(d, sj, tau, nu)[0]
        grid = np.linspace(min(d, 0.0) - 14 * sj, max(d, 0.0) + 14 * sj, 400_001)  # theta - mu, as quad's range
        dens = np.exp(stats.norm.logpdf(d, grid, sj) + stats.t.logpdf(grid, nu, 0.0, tau) - log_l)
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(grid))])
        assert abs(cdf[-1] - 1) < 1e-6
        p = stats.kstest(theta[:, j] - mu, lambda x: np.interp(x, grid, cdf)).pvalue
        assert p > 1e-3, (j, p)
