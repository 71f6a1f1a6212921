"""Ranks of groups against references computed here: 1-D quadrature for independent normals, and
the exact normal-normal posterior's tau grid for P(theta_j > mu)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import hiermod
from hiermod.data import load_data
from hiermod.errors import SpecError
from hiermod.group_ranks import rank_draws, rank_table
from hiermod.spec import ModelSpec, parse_prior

Z = 4.0  # |error| / MCSE: fails about 1 time in 16,000 per comparison for a correct table


@pytest.fixture(scope="module")
def none_fit(eight_schools):
    """No pooling with a Normal(0, 20) prior: theta_j | y independent normals, known in closed form."""
    spec = ModelSpec("normal_known_se", pooling="none", priors=(("theta", parse_prior("Normal(0, 20)")),))
    return hiermod.fit(eight_schools, spec, method="exact", chains=4, draws=4000, seed=3)


def _normal_posteriors(data):
    gs = data.group_summary()
    y, se = gs["estimate"].to_numpy(float), gs["se"].to_numpy(float)
    precision = 1 / se**2 + 1 / 20.0**2
    return y / se**2 / precision, 1 / np.sqrt(precision)


def _p_best_quadrature(m, s):
    """P(theta_j is the largest) = int f_j(x) prod_{k != j} F_k(x) dx."""
    out = []
    for j in range(len(m)):
        def integrand(x, j=j):
            others = np.prod([stats.norm.cdf(x, m[k], s[k]) for k in range(len(m)) if k != j])
            return stats.norm.pdf(x, m[j], s[j]) * others
        out.append(integrate.quad(integrand, m[j] - 12 * s[j], m[j] + 12 * s[j], limit=200)[0])
    return np.array(out)


def test_p_best_and_worst_match_quadrature(none_fit, eight_schools):
    m, s = _normal_posteriors(eight_schools)
    table = rank_table(none_fit)
    n = len(none_fit.draws("theta"))
    best = _p_best_quadrature(m, s)
    worst = _p_best_quadrature(-m, s)
    assert best.sum() == pytest.approx(1.0, abs=1e-6)
    for got, want in ((table["p_best"], best), (table["p_worst"], worst)):
        mcse = np.sqrt(want * (1 - want) / n)
        assert np.all(np.abs(got.to_numpy() - want) < Z * mcse), (got.to_numpy(), want)
    # the reported MCSE is the binomial one for independent draws (ESS close to n)
    assert np.allclose(table["p_best_mcse"], np.sqrt(best * (1 - best) / n), rtol=0.2)


def test_no_pooling_above_the_average_of_the_groups(none_fit, eight_schools):
    """theta_j - mean_k theta_k is normal: mean m_j - mbar, variance (1-1/J)^2 s_j^2 + sum_{k!=j} s_k^2/J^2."""
    m, s = _normal_posteriors(eight_schools)
    J = len(m)
    var = (1 - 1 / J) ** 2 * s**2 + (np.sum(s**2) - s**2) / J**2
    want = stats.norm.cdf((m - m.mean()) / np.sqrt(var))
    table = rank_table(none_fit)
    n = len(none_fit.draws("theta"))
    assert np.all(np.abs(table["p_above_mean"] - want) < Z * np.sqrt(want * (1 - want) / n))
    assert "average of the group effects" in table.attrs["compared_with"]


def test_expected_rank_matches_pairwise_probabilities(none_fit, eight_schools):
    """E[rank_j] = 1 + sum_{k != j} P(theta_k > theta_j), each a normal CDF."""
    m, s = _normal_posteriors(eight_schools)
    J = len(m)
    want = np.array([1 + sum(stats.norm.cdf((m[k] - m[j]) / np.hypot(s[j], s[k])) for k in range(J) if k != j)
                     for j in range(J)])
    ranks = rank_draws(none_fit).to_numpy()
    mcse = ranks.std(axis=0) / np.sqrt(len(ranks))
    table = rank_table(none_fit)
    assert np.all(np.abs(table["rank_mean"] - want) < Z * mcse)
    assert np.all(table["rank_low"] <= table["rank_median"]) and np.all(table["rank_median"] <= table["rank_high"])


def test_partial_pooling_above_mu_matches_the_exact_posterior(eight_schools):
    """P(theta_j > mu | y) = sum_tau w(tau) Phi(a_j / b_j): given tau, theta_j - mu = (1 - B_j)(y_j - mu)
    + N(0, V_j) with B_j = se_j^2/(se_j^2 + tau^2), V_j = 1/(1/se_j^2 + 1/tau^2) and mu | tau, y normal."""
    spec = ModelSpec("normal_known_se")
    fit = hiermod.fit(eight_schools, spec, method="exact", chains=4, draws=4000, seed=5)
    ep = fit.exact
    tau = ep.tau_grid[:, None]
    y, se = ep.y[None, :], ep.se[None, :]
    B = se**2 / (se**2 + tau**2)
    a = (1 - B) * (y - ep.mu_mean_given_tau[:, None])
    b = np.sqrt((1 - B) ** 2 * ep.mu_sd_given_tau[:, None] ** 2 + 1 / (1 / se**2 + 1 / tau**2))
    want = np.sum(ep.tau_weights[:, None] * stats.norm.cdf(a / b), axis=0)
    table = rank_table(fit)
    assert np.all(np.abs(table["p_above_mean"] - want) < Z * np.maximum(table["p_above_mean_mcse"], 1e-3))
    assert table.attrs["compared_with"] == "the population mean mu"


def test_lower_is_better_swaps_best_and_worst(none_fit):
    up, down = rank_table(none_fit), rank_table(none_fit, higher_is_better=False)
    assert np.allclose(up["p_best"], down["p_worst"]) and np.allclose(up["p_worst"], down["p_best"])
    assert np.allclose(up["rank_mean"] + down["rank_mean"], len(up) + 1)
    assert np.allclose(up["p_above_mean"], down["p_above_mean"])


def test_every_draw_is_a_permutation(none_fit):
    ranks = rank_draws(none_fit)
    assert list(ranks.columns) == list(none_fit.labels)
    assert np.all(np.sort(ranks.to_numpy(), axis=1) == np.arange(1, 9)[None, :])


def test_binomial_ranks_on_the_response_scale_agree():
    """logit is increasing: ranking p_j gives the same ranks as ranking theta_j."""
    frame = pd.DataFrame({"g": list("ABCDE"), "y": [2, 9, 15, 4, 30], "n": [20, 30, 40, 25, 60]})
    data = load_data(frame, hiermod.data.ColumnMap(group="g", y="y", kind="binomial", trials="n"))
    fit = hiermod.fit(data, ModelSpec("binomial"), method="instant", chains=2, draws=1000)
    from_p = np.argsort(np.argsort(-fit.draws("p"), axis=1), axis=1) + 1
    assert np.array_equal(rank_draws(fit).to_numpy(), from_p)
    table = rank_table(fit)
    assert table.loc[table["group"] == "E", "p_best"].item() > table.loc[table["group"] == "A", "p_best"].item()


def test_nested_levels_are_ranked_separately():
    from hiermod.datasets import load_dataset

    data = load_dataset("simulated_nested")
    spec = ModelSpec("normal", groups=tuple(data.group_columns))
    fit = hiermod.fit(data, spec, method="instant", chains=2, draws=500)
    outer = rank_table(fit, level=0)
    inner = rank_table(fit)
    assert list(outer["group"]) == list(data.levels[0].labels)
    assert list(inner["group"]) == list(data.levels[-1].labels)
    assert outer.attrs["level"] == data.group_columns[0]
    assert outer["p_best"].sum() == pytest.approx(1.0) and inner["p_best"].sum() == pytest.approx(1.0)


def test_complete_pooling_and_bad_settings_are_refused(eight_schools):
    fit = hiermod.fit(eight_schools, ModelSpec("normal_known_se", pooling="complete"), method="exact",
                      chains=1, draws=200)
    with pytest.raises(SpecError, match="Complete pooling"):
        rank_table(fit)
    partial = hiermod.fit(eight_schools, ModelSpec("normal_known_se"), method="exact", chains=1, draws=200)
    with pytest.raises(SpecError, match="between 0 and 1"):
        rank_table(partial, prob=1.5)
    with pytest.raises(SpecError, match="no grouping level"):
        rank_table(partial, level="district")


def test_caterpillar_plot_sorts_by_median_rank_and_escapes_labels(none_fit):
    from hiermod.plots.groups import group_rank_plot
    from hiermod.plots.style import PlotInputError

    table = rank_table(none_fit)
    table.loc[0, "group"] = "<b>A</b>"
    fig = group_rank_plot(table)
    ticks = list(fig.layout.yaxis.ticktext)
    medians = table.set_index("group").loc[[t.replace("&lt;", "<").replace("&gt;", ">") for t in ticks], "rank_median"]
    assert list(medians) == sorted(medians, reverse=True)        # best (rank 1) on top
    assert "&lt;b&gt;A&lt;/b&gt;" in ticks and "<b>A</b>" not in ticks
    assert "P(best)" in fig.data[1].hovertemplate
    assert ticks[-1] == "&lt;b&gt;A&lt;/b&gt;"                    # school A is the likeliest best
    with pytest.raises(PlotInputError, match="p_best"):
        group_rank_plot(table.drop(columns="p_best"))
