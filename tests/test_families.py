"""The family registry: every entry is complete and consistent with NumPyro and scipy."""

from __future__ import annotations

import numpy as np
import pytest

from hiermod import families
from hiermod.kind_registry import KINDS
from hiermod.spec import LIKELIHOODS_FOR_KIND, Likelihood, ModelSpec, default_likelihood
from synthetic import simulate

NAMES = list(families.FAMILIES)


def test_likelihood_enum_is_the_registry():
    assert [lk.value for lk in Likelihood] == NAMES
    assert set(LIKELIHOODS_FOR_KIND) == set(KINDS)
    for kind in KINDS:
        assert families.for_kind(kind), f"no family fits {kind} data"
        assert default_likelihood(kind).value == families.for_kind(kind)[0].name


def test_unknown_likelihood_names_the_known_ones():
    with pytest.raises(Exception) as info:
        families.get("gamma")
    assert all(name in str(info.value) for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_entry_is_complete(name):
    f = families.get(name)
    assert f.label and f.kind in KINDS and f.link in families.LINKS
    assert set(f.rows) <= set(families.ROW_FIELDS) and set(f.row_defaults) <= set(f.rows)
    assert "{eta}" in f.formula and "{eta}" in f.code
    assert bool(f.response) == bool(f.response_code) == bool(f.response_title)
    data = simulate(name)
    m, s = f.data_scale(data)
    assert np.isfinite(m) and s > 0
    for p in f.params:
        assert p.default(m, s).support == "positive"
    est, se, pooled = f.group_estimates(data)
    assert est.shape == se.shape == (data.n_groups,) and np.isfinite(pooled)


@pytest.mark.parametrize("name", NAMES)
def test_draws_follow_the_log_density(name):
    """Replicated data have the family's mean (inverse link times exposure or trials) within 5
    Monte Carlo standard errors, and the log density is finite at them."""
    f = families.get(name)
    data = simulate(name)
    spec = ModelSpec(name)
    rows = {k: getattr(data, k) for k in families.ROW_FIELDS}
    eta = np.full((4000, data.n_rows), 0.3)
    params = {p.name: np.full((4000, 1), 3.0) for p in f.params}
    draws = f.draw(eta.copy(), rows, params, np.random.default_rng(1))
    assert draws.shape == eta.shape and np.all(np.isfinite(draws))
    expected = f.inverse_link(eta[0])
    for role, value in f.row_defaults.items():
        expected = expected * np.asarray(rows[role])
    se = draws.std(axis=0) / np.sqrt(draws.shape[0])
    assert np.all(np.abs(draws.mean(axis=0) - expected) < 5 * se + 1e-12), spec
    lp = f.log_likelihood(draws[:2].copy(), eta[:2].copy(), rows, {k: v[:2] for k, v in params.items()})
    assert np.all(np.isfinite(lp))


def _eta_case(family, seed: int):
    """50 rows of counts with every row field, eta and the family's parameters (all 3)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, 50).astype(float)
    rows = {"se": rng.uniform(0.5, 2, 50), "trials": y + rng.integers(0, 10, 50), "exposure": rng.uniform(0.5, 3, 50)}
    return y, rng.normal(0, 2, 50), rows, {p: np.full(50, 3.0) for p in family.param_names}


@pytest.mark.parametrize("name", [n for n, f in families.FAMILIES.items() if f.eta_derivatives is not None])
def test_eta_loglik_is_the_log_likelihood_of_eta_derivatives(name):
    """The quadrature nodes' log-likelihood alone equals eta_derivatives' first output (a subclass
    must not inherit its parent's shortcut)."""
    family = families.FAMILIES[name]
    y, eta, rows, params = _eta_case(family, seed=0)
    np.testing.assert_allclose(family.eta_loglik(y, eta, rows, params),
                               family.eta_derivatives(y, eta, rows, params)[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", [n for n, f in families.FAMILIES.items() if f.eta_derivatives is not None])
def test_eta_kernel_plus_constant_is_the_log_likelihood(name):
    """The kernel (what quadratures evaluate at every node) plus the per-row constant equals the
    family's log-likelihood, and the kernel's derivatives are
    eta_derivatives' (a subclass must not inherit its parent's kernel: the negative binomial is a
    Poisson subclass); the constant depends on neither eta nor the family's parameters."""
    family = families.FAMILIES[name]
    y, eta, rows, params = _eta_case(family, seed=1)
    constant = family.eta_constant(y, rows)
    np.testing.assert_allclose(family.eta_kernel(y, eta, rows, params) + constant,
                               family.log_likelihood(y, eta, rows, params), rtol=1e-12, atol=1e-12)
    kernel, grad, neg_hess = family.eta_kernel_derivatives(y, eta, rows, params)
    full = family.eta_derivatives(y, eta, rows, params)
    np.testing.assert_allclose(kernel + constant, full[0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, full[1], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(neg_hess, full[2], rtol=1e-12, atol=1e-12)
    other = {p: np.full(50, 7.0) for p in family.param_names}
    shift = family.eta_loglik(y, eta + 0.3, rows, other) - family.eta_kernel(y, eta + 0.3, rows, other)
    np.testing.assert_allclose(shift, constant, rtol=1e-12, atol=1e-12)


def test_softplus_matches_logaddexp_everywhere():
    """The fast softplus equals log(1 + e^x) (numpy's logaddexp) to float64 rounding, at the
    extremes, at its switch point, for inf / nan and for 0-d input."""
    from hiermod.families import SOFTPLUS_LINEAR_ABOVE, softplus_of

    rng = np.random.default_rng(3)
    x = np.concatenate([rng.normal(size=20_000) * 30, [-800.0, -40.0, 0.0, SOFTPLUS_LINEAR_ABOVE,
                                                       np.nextafter(SOFTPLUS_LINEAR_ABOVE, 100.0), 700.0]])
    ref = np.logaddexp(0, x)
    np.testing.assert_allclose(softplus_of(x), ref, rtol=4e-16, atol=4e-16)
    special = np.array([np.inf, -np.inf, np.nan])
    np.testing.assert_array_equal(softplus_of(special), np.logaddexp(0, special))
    assert softplus_of(2.0) == pytest.approx(np.logaddexp(0, 2.0), rel=1e-15)
