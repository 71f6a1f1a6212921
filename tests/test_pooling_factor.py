"""Pooling factors against references computed here: the exact normal-normal posterior's tau grid
(quadrature), Cochran's Q by hand, and the Beta-binomial closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hiermod
from hiermod.data import ColumnMap, load_data
from hiermod.pooling_factor import (
    dersimonian_laird,
    gelman_pardoe_lambda,
    pooling_factor_table,
    pooling_summary,
    typical_within_variance,
)
from hiermod.spec import ModelSpec

Z = 4.0  # |error| / MCSE

Y = np.array([28.0, 8, -3, 7, -1, 1, 18, 12])     # eight schools (Rubin 1981), typed in here
SE = np.array([15.0, 10, 16, 11, 9, 11, 10, 18])


@pytest.fixture(scope="module")
def exact_fit(eight_schools):
    return hiermod.fit(eight_schools, ModelSpec("normal_known_se"), method="exact", chains=4, draws=4000, seed=11)


def test_data_typed_in_are_the_sample_data(eight_schools):
    gs = eight_schools.group_summary()
    assert np.array_equal(gs["estimate"], Y) and np.array_equal(gs["se"], SE)


def test_group_weight_on_the_population_matches_quadrature_over_tau(exact_fit):
    """lambda_j = E[se_j^2 / (se_j^2 + tau^2) | y] = sum_tau w(tau) se_j^2 / (se_j^2 + tau^2)."""
    ep = exact_fit.exact
    want = np.sum(ep.tau_weights[:, None] * SE**2 / (SE**2 + ep.tau_grid[:, None] ** 2), axis=0)
    table = pooling_factor_table(exact_fit)
    assert set(table["basis"]) == {"normal"}
    err = np.abs(table["pooling"].to_numpy() - want)
    assert np.all(err < Z * table["pooling_mcse"].to_numpy()), (table["pooling"].to_numpy(), want)
    # less precise schools borrow more
    order = np.argsort(SE)
    assert np.all(np.diff(table["pooling"].to_numpy()[order]) >= 0)
    assert np.allclose(table["pooling"] + table["own_weight"], 1)
    assert np.all((table["pooling_low"] <= table["pooling"]) & (table["pooling"] <= table["pooling_high"]))


def test_gelman_pardoe_lambda_matches_the_exact_moments(exact_fit):
    """eps_j = theta_j - mu. Given tau: eps_j = a_j - c_j delta + z_j with c_j = 1 - B_j,
    a_j = c_j (y_j - m(tau)), delta = mu - m(tau) ~ N(0, s(tau)^2), z_j ~ N(0, V_j) independent, so
    E[eps_j] = sum_tau w a_j and E[sum_j (eps_j - epsbar)^2 | tau] = sum (a - abar)^2
    + s^2 sum (c - cbar)^2 + (1 - 1/J) sum V."""
    ep = exact_fit.exact
    tau, w = ep.tau_grid[:, None], ep.tau_weights
    B = SE**2 / (SE**2 + tau**2)
    c = 1 - B
    a = c * (Y - ep.mu_mean_given_tau[:, None])
    V = 1 / (1 / SE**2 + 1 / tau**2)
    J = len(Y)
    mean_eps = np.sum(w[:, None] * a, axis=0)
    ss = (np.sum((a - a.mean(axis=1, keepdims=True)) ** 2, axis=1)
          + ep.mu_sd_given_tau**2 * np.sum((c - c.mean(axis=1, keepdims=True)) ** 2, axis=1)
          + (1 - 1 / J) * np.sum(V, axis=1))
    want = 1 - np.var(mean_eps, ddof=1) / (np.sum(w * ss) / (J - 1))
    got = pooling_summary(exact_fit).loc["pooling_factor", "estimate"]
    # Monte Carlo error of lambda: by the bootstrap over draws (independent draws)
    eps = exact_fit.draws("theta") - exact_fit.draws("mu")[:, None]
    rng = np.random.default_rng(0)
    boot = [gelman_pardoe_lambda(eps[rng.integers(0, len(eps), len(eps))]) for _ in range(200)]
    assert abs(got - want) < Z * np.std(boot), (got, want, np.std(boot))


def test_cochran_q_and_dersimonian_laird_by_hand():
    """Cochran's Q on eight schools; the published DL tau^2 is 0 (Q < df), so I^2 = 0."""
    w = 1 / SE**2
    ybar = np.sum(w * Y) / np.sum(w)
    q = np.sum(w * (Y - ybar) ** 2)
    dl = dersimonian_laird(Y, SE)
    assert dl["q"] == pytest.approx(q) and dl["df"] == 7
    assert q < 7 and dl["tau2"] == 0 and dl["i2"] == 0
    assert dl["pooled"] == pytest.approx(7.6856, abs=1e-3)   # the pooled estimate of eight schools
    # a heterogeneous set: I^2_DL equals tau^2_DL / (tau^2_DL + s^2)
    y2 = np.array([0.0, 30, -20, 40, 5])
    se2 = np.array([5.0, 6, 7, 8, 5])
    dl2 = dersimonian_laird(y2, se2)
    s2 = typical_within_variance(se2)
    assert dl2["i2"] > 0.5
    assert dl2["i2"] == pytest.approx(dl2["tau2"] / (dl2["tau2"] + s2))


def test_i2_posterior_matches_quadrature_over_tau(exact_fit):
    ep = exact_fit.exact
    w = 1 / SE**2
    s2 = (len(SE) - 1) * w.sum() / (w.sum() ** 2 - np.sum(w**2))
    i2 = ep.tau_grid**2 / (ep.tau_grid**2 + s2)
    want = np.sum(ep.tau_weights * i2)
    sd = np.sqrt(np.sum(ep.tau_weights * (i2 - want) ** 2))
    summary = pooling_summary(exact_fit)
    n = len(exact_fit.draws("tau"))
    assert summary.loc["s2", "estimate"] == pytest.approx(s2)
    assert abs(summary.loc["i2", "estimate"] - want) < Z * sd / np.sqrt(n)
    assert summary.loc["i2_dl", "estimate"] == 0 and summary.loc["tau2_dl", "estimate"] == 0
    assert summary.loc["i2", "low"] < summary.loc["i2", "estimate"] < summary.loc["i2", "high"]


def test_beta_population_weight_is_the_closed_form():
    """Beta-binomial: lambda_j = E[(alpha + beta) / (n_j + alpha + beta) | y] over the draws."""
    frame = pd.DataFrame({"g": list("ABCDEF"), "y": [2, 9, 15, 4, 30, 1], "n": [20, 30, 40, 25, 60, 5]})
    data = load_data(frame, ColumnMap(group="g", y="y", kind="binomial", trials="n"))
    fit = hiermod.fit(data, ModelSpec("binomial", population="beta"), method="instant", chains=2, draws=1000)
    a, b = fit.draws("alpha")[:, None], fit.draws("beta")[:, None]
    lam = (a + b) / (frame["n"].to_numpy()[None, :] + a + b)
    table = pooling_factor_table(fit)
    assert np.allclose(table["pooling"], lam.mean(axis=0))
    assert table["pooling"].idxmax() == 5 and table["pooling"].idxmin() == 4   # fewest trials borrow most
    assert 0 < pooling_summary(fit).loc["pooling_factor", "estimate"] < 1


def test_no_and_complete_pooling_are_the_ends(eight_schools):
    none = hiermod.fit(eight_schools, ModelSpec("normal_known_se", pooling="none"), method="exact", chains=1, draws=500)
    complete = hiermod.fit(eight_schools, ModelSpec("normal_known_se", pooling="complete"), method="exact",
                           chains=1, draws=500)
    assert np.all(pooling_factor_table(none)["pooling"] == 0)
    assert np.all(pooling_factor_table(complete)["pooling"] == 1)
    assert np.isnan(pooling_summary(none).loc["pooling_factor", "estimate"])
    assert pooling_summary(complete).loc["pooling_factor", "estimate"] == 1


def test_models_without_a_closed_form_use_the_shrinkage_fraction():
    """Binomial with a normal population: the realised shrinkage fraction of shrinkage_table."""
    from hiermod.shrinkage import shrinkage_table

    frame = pd.DataFrame({"g": list("ABCDEF"), "y": [2, 9, 15, 4, 30, 1], "n": [20, 30, 40, 25, 60, 5]})
    data = load_data(frame, ColumnMap(group="g", y="y", kind="binomial", trials="n"))
    fit = hiermod.fit(data, ModelSpec("binomial"), method="instant", chains=2, draws=500)
    table = pooling_factor_table(fit)
    assert set(table["basis"]) == {"shrinkage"}
    assert np.allclose(table["pooling"], shrinkage_table(fit)["shrinkage"], equal_nan=True)
    assert table["pooling_low"].isna().all()
    assert "i2" not in pooling_summary(fit).index    # I^2 is for summary data


def test_nested_levels():
    from hiermod.datasets import load_dataset

    data = load_dataset("simulated_nested")
    fit = hiermod.fit(data, ModelSpec("normal", groups=tuple(data.group_columns)), method="instant",
                      chains=2, draws=500)
    inner = pooling_factor_table(fit)
    n = data.group_sizes.astype(float)
    sigma, tau = fit.draws("sigma")[:, None], fit.draws(fit.spec.terms[-1].scale)[:, None]
    want = (sigma**2 / n / (sigma**2 / n + tau**2)).mean(axis=0)
    assert np.allclose(inner["pooling"], want)
    outer = pooling_summary(fit, level=0)
    assert outer.attrs["level"] == data.group_columns[0]
    assert 0 <= outer.loc["pooling_factor", "estimate"] <= 1


def test_pooling_factor_plot(exact_fit):
    from hiermod.plots.groups import pooling_factor_plot

    table = pooling_factor_table(exact_fit)
    fig = pooling_factor_plot(table)
    bar = fig.data[0]
    assert np.allclose(bar.x, table["pooling"])
    assert np.allclose(np.asarray(bar.error_x.arrayminus), table["pooling"] - table["pooling_low"])
    assert any("tau^2" in a.text for a in fig.layout.annotations)
