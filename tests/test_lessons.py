"""The Learn page's lesson computations (hiermod.lessons) against closed forms, brute-force
quadrature and the modules they reuse, with Monte Carlo standard errors where draws are involved."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import halfnorm, norm

from hiermod.lessons import batting, nested, plug_in, prior_knowledge, pseudoreplication, ranks, schools, variance_share
from hiermod.lessons.common import DRAWS, INTERVAL
from hiermod.lessons.handout import handout_html

Z = norm.ppf((1 + INTERVAL) / 2)


def quantile_mcse(sd: float, n: int = DRAWS, p: float = (1 - INTERVAL) / 2) -> float:
    """Monte Carlo standard error of a normal p-quantile estimated from n independent draws."""
    return sd * np.sqrt(p * (1 - p) / n) / norm.pdf(norm.ppf(p))


def brute_force(y, se, mu_prior=(0.0, 1000.0), tau_scale=11.0, points=20001):
    """p(tau | y) on a fine grid with mu integrated in closed form (Normal prior), HalfNormal tau prior;
    returns (tau grid, weights, E[mu | tau, y], V[mu | tau, y]) (BDA3 5.4, written out here)."""
    tau = np.linspace(1e-6, 120.0, points)
    v = se[None, :] ** 2 + tau[:, None] ** 2
    m0, s0 = mu_prior
    prec = (1 / v).sum(1) + 1 / s0**2
    mean = ((y[None, :] / v).sum(1) + m0 / s0**2) / prec
    logp = (halfnorm.logpdf(tau, scale=tau_scale) - 0.5 * np.log(v).sum(1) - 0.5 * np.log(prec)
            - 0.5 * ((y[None, :] ** 2 / v).sum(1) + m0**2 / s0**2 - mean**2 * prec))
    w = np.exp(logp - logp.max())
    return tau, w / w.sum(), mean, 1 / prec


def theta_means(y, se, **kw):
    tau, w, emu, _ = brute_force(y, se, **kw)
    B = se[None, :] ** 2 / (se[None, :] ** 2 + tau[:, None] ** 2)
    return w @ (B * emu[:, None] + (1 - B) * y[None, :]), float(w @ emu), float(w @ tau), (tau, w)


EIGHT_Y = np.array([28.0, 8, -3, 7, -1, 1, 18, 12])
EIGHT_SE = np.array([15.0, 10, 16, 11, 9, 11, 10, 18])


# ------------------------------------------------------------------------------ lesson 1


@pytest.mark.parametrize("scale", [0.3, 1.0, 2.5])
def test_lesson1_three_poolings_match_closed_forms(scale):
    sides = schools.pooling_sides(scale)
    se = EIGHT_SE * scale
    f = sides.forest.set_index(["model", "group"])
    labels = list("ABCDEFGH")
    none = f.loc["none"].loc[labels]
    # no pooling, theta_j ~ Normal(0, 1000): the normal-normal posterior of each school alone
    post_var = 1 / (1 / se**2 + 1 / 1000**2)
    np.testing.assert_allclose(none["mean"], post_var * EIGHT_Y / se**2, rtol=1e-6)
    for end, sign in (("low", -1), ("high", 1)):
        z = (none[end].to_numpy() - (post_var * EIGHT_Y / se**2 + sign * Z * np.sqrt(post_var))) / quantile_mcse(np.sqrt(post_var))
        assert np.all(np.abs(z) < 4.5), z
    # complete pooling: the precision-weighted mean (with the Normal(0, 1000) prior)
    mu = (EIGHT_Y / se**2).sum() / ((1 / se**2).sum() + 1 / 1000**2)
    assert sides.mu == pytest.approx(mu, rel=1e-6)
    # partial pooling: brute-force quadrature over tau
    ref, _, tau_mean, _ = theta_means(EIGHT_Y, se)
    np.testing.assert_allclose(f.loc["partial"].loc[labels, "mean"], ref, atol=0.01)  # < 2e-3 posterior sds (5-15 points)
    assert sides.tau == pytest.approx(tau_mean, abs=0.01)
    assert sides.focus == "A" and sides.moved == pytest.approx((28 - ref[0]) / (28 - mu), abs=1e-3)
    assert f"{sides.partial:.1f}" in " ".join(sides.sentences())


def test_lesson1_precise_schools_pool_less():
    assert schools.pooling_sides(0.3).moved < schools.pooling_sides(1.0).moved < schools.pooling_sides(2.5).moved


# ------------------------------------------------------------------------------ lesson 2


@pytest.mark.parametrize("n", [3, 45, 3000])
def test_lesson2_weight_is_n_over_n_plus_k(n):
    lg = batting.league()
    r = batting.rookie(n)
    row = r.players.set_index("player").loc["rookie"]
    assert lg.k == pytest.approx(lg.post.mean("alpha") + lg.post.mean("beta"))
    assert row["weight"] == pytest.approx(n / (n + lg.k), rel=1e-12)
    assert row["estimate"] == pytest.approx(row["weight"] / 3 + (1 - row["weight"]) * lg.m, rel=1e-12)
    # the same number from the conjugate engine: the rookie as a 19th player, alpha and beta held at (a, b)
    import pandas as pd

    from hiermod.data import ColumnMap, DataKind, load_data
    from hiermod.instant import instant_posterior
    from hiermod.spec import ModelSpec

    frame = pd.DataFrame({"player": list(lg.data.labels) + ["rookie"],
                          "hits": list(np.asarray(lg.data.y, float)) + [1.0],
                          "at_bats": list(np.asarray(lg.data.trials, float)) + [3.0]})
    data = load_data(frame, ColumnMap(group="player", y="hits", trials="at_bats", kind=DataKind.BINOMIAL))
    post = instant_posterior(data, ModelSpec("binomial", population="beta"), fixed={"alpha": lg.a, "beta": lg.b})
    if n == 3:
        assert float(np.asarray(post.mean("p"))[-1]) == pytest.approx(row["estimate"], rel=1e-9)


def test_lesson2_league_and_bad_input():
    from hiermod.errors import DataError

    lg = batting.league()
    assert 0.2 < lg.m < 0.3 and lg.k > 10
    with pytest.raises(DataError, match="at-bats"):
        batting.rookie(0)


# ------------------------------------------------------------------------------ lesson 3


def test_lesson3_every_school_moves_as_quadrature_says():
    b = schools.borrowing("A", 60.0)
    y = EIGHT_Y.copy()
    y[0] = 60.0
    ref, mu, tau, _ = theta_means(y, EIGHT_SE)
    np.testing.assert_allclose(b.table["after"], ref, atol=0.01)  # < 2e-3 posterior sds (5-15 points)
    assert b.mu_after == pytest.approx(mu, abs=0.01) and b.tau_after == pytest.approx(tau, abs=0.01)
    ref0, mu0, _, _ = theta_means(EIGHT_Y, EIGHT_SE)
    np.testing.assert_allclose(b.table["before"], ref0, atol=0.01)  # < 2e-3 posterior sds (5-15 points)
    assert (b.others()["moved"].abs() > 0.1).all()  # every other school moved
    assert b.mu_after > mu0


def test_lesson3_unknown_group_is_named():
    from hiermod.errors import DataError

    with pytest.raises(DataError, match="No group called 'Z'"):
        schools.borrowing("Z", 1.0)


# ------------------------------------------------------------------------------ lesson 4


def test_lesson4_shrinkage_factor_matches_quadrature():
    p = schools.shrinkage_precision("A", 3.0)
    se = EIGHT_SE.copy()
    se[0] = 3.0
    _, _, _, (tau, w) = theta_means(EIGHT_Y, se)
    B = w @ (se[None, :] ** 2 / (se[None, :] ** 2 + tau[:, None] ** 2))
    np.testing.assert_allclose(p.table["shrinkage"], B, atol=1e-4)
    assert p.table.set_index("group").loc["A", "shrinkage"] == p.table["shrinkage"].min()
    # shrinkage increases with se (the curve) and the groups lie on it
    curve = p.curve["shrinkage"].to_numpy()
    assert np.all(np.diff(curve) > 0)
    np.testing.assert_allclose(np.interp(p.table["se"], p.curve["se"], curve), p.table["shrinkage"], atol=5e-3)


# ------------------------------------------------------------------------------ lesson 5


def test_lesson5_law_of_total_variance_and_icc_recovered():
    icc = 0.4
    estimates = []
    for seed in range(24):
        r = variance_share.variance_share(icc, seed=seed)
        assert r.split["total"] == pytest.approx(r.split["within"] + r.split["between"], rel=1e-10)
        assert r.icc_low <= r.icc <= r.icc_high
        estimates.append(r.icc)
    est = np.array(estimates)
    mcse = est.std(ddof=1) / np.sqrt(est.size)
    assert abs(est.mean() - icc) < 4 * mcse + 0.01, (est.mean(), mcse)


def test_lesson5_icc_agrees_with_the_variance_module():
    from hiermod.live import live_fit
    from hiermod.lessons.simulate import students
    from hiermod.spec import ModelSpec
    from hiermod.variance import variance_decomposition

    r = variance_share.variance_share(0.3, seed=3)
    fit = live_fit(students(0.3, seed=3), ModelSpec("normal"), draws=4000)
    share = variance_decomposition(fit).loc["share_between"]
    draws = fit.draws("tau") ** 2 / (fit.draws("tau") ** 2 + fit.draws("sigma") ** 2)
    assert abs(share["mean"] - r.icc) < 4 * draws.std() / np.sqrt(draws.size)


# ------------------------------------------------------------------------------ lesson 6


def test_lesson6_naive_interval_is_least_squares():
    from hiermod.lessons.simulate import students

    data = students(0.2, 10, 20, pseudoreplication.EFFECT, 5, treatment=True)
    y, x = np.asarray(data.y), np.asarray(data.X)[:, 0]
    X = np.column_stack([np.ones_like(x), x])
    coef, res, *_ = np.linalg.lstsq(X, y, rcond=None)
    s2 = res[0] / (y.size - 2)
    se = np.sqrt(s2 * np.linalg.inv(X.T @ X)[1, 1])
    b, lo, hi = pseudoreplication.naive_interval(data)
    assert b == pytest.approx(coef[1]) and hi - b == pytest.approx(Z * se)


def test_lesson6_naive_coverage_falls_short_hierarchical_near_nominal():
    cov = pseudoreplication.coverage(0.2, replicates=200, seed=11)
    t = cov.table.set_index("method")
    naive, hier = t.loc[pseudoreplication.METHODS[0]], t.loc[pseudoreplication.METHODS[1]]
    assert naive["coverage"] + 4 * naive["mc_se"] < INTERVAL, naive
    assert abs(hier["coverage"] - INTERVAL) < 4 * np.sqrt(INTERVAL * (1 - INTERVAL) / cov.replicates), hier
    assert naive["mean_width"] < hier["mean_width"]
    # the naive interval is too narrow by about sqrt(design effect)
    ratio = hier["mean_width"] / naive["mean_width"]
    assert ratio > np.sqrt(pseudoreplication.design_effect(0.2, 20)) * 0.8


# ------------------------------------------------------------------------------ lesson 7


def test_lesson7_eb_given_tau_is_the_normal_conditional():
    v = plug_in.plug_in_view(4.0)
    t = 4.0
    vv = EIGHT_SE**2 + t**2
    prec = (1 / vv).sum() + 1 / 27.5**2
    emu = ((EIGHT_Y / vv).sum() + 7.5 / 27.5**2) / prec
    B = EIGHT_SE**2 / vv
    eb = v.forest[v.forest["model"] == "empirical Bayes"]
    np.testing.assert_allclose(eb["mean"], B * emu + (1 - B) * EIGHT_Y, rtol=1e-6)
    assert v.mode == 0.0 and v.ratio < 1.2


def test_lesson7_coverage_is_the_empirical_bayes_module():
    from hiermod.empirical_bayes import coverage_study

    mine = plug_in.coverage(8, replicates=60, seed=4)
    ref = coverage_study(plug_in.design(8), plug_in.spec(), replicates=60, seed=4)
    np.testing.assert_allclose(mine.table["coverage"], ref.table["coverage"])
    fb = mine.table.set_index("method").loc["full Bayes"]
    assert abs(fb["coverage"] - INTERVAL) < 4 * fb["mc_se"]
    assert plug_in.design(32).n_groups == 32


# ------------------------------------------------------------------------------ lesson 8


def test_lesson8_priors_against_two_dimensional_quadrature():
    r = prior_knowledge.prior_knowledge(3)
    y, se = EIGHT_Y[:3], EIGHT_SE[:3]
    mu = np.linspace(-60, 80, 1401)
    tau = np.linspace(1e-4, 80, 1600)
    M, T = np.meshgrid(mu, tau, indexing="ij")
    loglik = sum(norm.logpdf(yj, M, np.sqrt(sj**2 + T**2)) for yj, sj in zip(y, se))
    priors = {"weakly informative": (norm.logpdf(M, 0, 30), halfnorm.logpdf(T, scale=15)),
              "skeptical": (norm.logpdf(M, 0, 5), halfnorm.logpdf(T, scale=2)),
              "bounded": (np.where((M >= 0) & (M <= 30), norm.logpdf(M, 0, 30), -np.inf), halfnorm.logpdf(T, scale=15))}
    s = r.summary.set_index("prior")
    for label, (lm, lt) in priors.items():
        lp = loglik + lm + lt
        w = np.exp(lp - lp.max())
        w /= w.sum()
        assert s.loc[label, "mu_mean"] == pytest.approx((w * M).sum(), abs=0.05), label
        assert s.loc[label, "tau_mean"] == pytest.approx((w * T).sum(), abs=0.05), label
    # mu < 0 has prior (so posterior) probability 0, and no draw may land there
    assert s.loc["bounded", "p_mu_negative"] == 0
    bounded = r.forest[(r.forest["model"] == "bounded") & (r.forest["group"] == "mu")].iloc[0]
    assert 0 <= bounded["low"] and bounded["high"] <= 30


# ------------------------------------------------------------------------------ lesson 9


def test_lesson9_rank_identities_and_more_patients_sharpen():
    r1, r16 = ranks.ranks(1), ranks.ranks(16)
    J = len(r1.table)
    for r in (r1, r16):
        assert r.table["p_best"].sum() == pytest.approx(1.0)
        assert r.table["rank_mean"].sum() == pytest.approx(J * (J + 1) / 2)
    width = lambda t: (t["rank_high"] - t["rank_low"]).mean()  # noqa: E731
    assert width(r16.table) < width(r1.table)
    assert r1.table.set_index("group").loc["A", "deaths"] == 0


# ------------------------------------------------------------------------------ lesson 11


def test_lesson11_shrinkage_factors_follow_the_formula():
    lv = nested.levels(10)
    assert ((lv.classes["share"] > 0) & (lv.classes["share"] < 1)).all()
    assert ((lv.schools["share"] > 0) & (lv.schools["share"] < 1)).all()
    assert lv.classes["n"].max() <= 10
    # within one fit, a class of fewer students is shrunk more (B_c decreases with n)
    by_n = lv.classes.groupby("n")["share"].mean()
    assert np.all(np.diff(by_n.to_numpy()) < 0)
    # the class estimates lie between their own mean and their school's estimate
    c = lv.classes
    lo, hi = np.minimum(c["own"], c["parent"]), np.maximum(c["own"], c["parent"])
    assert ((c["partial"] >= lo - 0.5) & (c["partial"] <= hi + 0.5)).mean() > 0.9


# ------------------------------------------------------------------------------ lesson 12


def test_lesson12_season_errors():
    s0, s_big, s = batting.season(0), batting.season(1e9), batting.season(66)
    assert s0.totals["at_k"] == pytest.approx(s0.totals["no_pooling"])
    assert s_big.totals["at_k"] == pytest.approx(s_big.totals["complete"], rel=1e-5)
    assert s.totals["no_pooling"] == pytest.approx(0.0857, abs=5e-4)  # Efron & Morris's own averages
    assert s.totals["bayes"] < 0.5 * s.totals["no_pooling"]
    assert s.errors.index[0] != "no_pooling"


# ------------------------------------------------------------------------------ handout


def test_handout_escapes_text_and_inlines_plotly():
    import plotly.graph_objects as go

    html = handout_html("Lesson <1>", "Why?", [go.Figure(go.Scatter(x=[1], y=[2]))],
                        [("What to notice", ["a < b & c"])], ("Q?", ["x", "y"], "x. because"))
    assert "Lesson &lt;1&gt;" in html and "a &lt; b &amp; c" in html
    assert "plotly.js" in html.lower() or "Plotly.newPlot" in html
    assert len(html) > 1_000_000  # plotly.js itself is inside: the file opens offline


def test_season_plot_keeps_its_log_axis_on_the_data():
    """A vline on a log axis is placed at 10**x: the posterior-mean marker must be a trace on the data's scale."""
    import pandas as pd

    from hiermod.plots.lessons import season_plot

    curve = pd.DataFrame({"k": [0.0, 10.0, 100.0, 1000.0], "total_squared_error": [0.08, 0.04, 0.03, 0.03]})
    fig = season_plot(curve, 242.0, {"no_pooling": 0.0857, "complete": 0.0284, "bayes": 0.0329, "at_k": 0.0265}, 66.0)
    assert not fig.layout.shapes
    xs = [float(x) for trace in fig.data for x in (() if trace.x is None else trace.x)]
    assert max(xs) <= 1000.0
