"""Pooling comparisons: shrinkage, LOO, new-group predictions, variance split, predictive checks."""

from __future__ import annotations

import dataclasses
import warnings

import arviz as az
import numpy as np
import pytest
from scipy.stats import spearmanr

from synthetic import QUICK
from hiermod import compare as C
from hiermod.errors import SpecError
from hiermod.fitting import fit
from hiermod.spec import ModelSpec
from synthetic import simulate

EIGHT_Y = np.array([28, 8, -3, 7, -1, 1, 18, 12], float)
EIGHT_SE = np.array([15, 10, 16, 11, 9, 11, 10, 18], float)


@pytest.fixture(scope="module")
def radon_fits(radon):
    return {p: fit(radon, ModelSpec("normal", p), **QUICK) for p in ("partial", "complete")}


@pytest.fixture(scope="module")
def count_fits():
    return {lik: fit(simulate(lik), ModelSpec(lik, "partial"), **QUICK) for lik in ("binomial", "poisson")}


# ------------------------------------------------------------------------------- pooling modes


def test_fit_pooling_modes(eight_schools, reference_spec):
    fits = C.fit_pooling_modes(eight_schools, reference_spec, method="exact", draws=500, chains=2)
    assert list(fits) == ["none", "complete", "partial"]
    assert [str(f.spec.pooling) for f in fits.values()] == ["none", "complete", "partial"]
    # fit keyword arguments pass through
    assert all(f.method == "exact" and f.draws("theta").shape == (1000, 8) for f in fits.values())
    # priors that still apply are kept, the others dropped
    assert dict(fits["complete"].spec.priors) == {"mu": dict(reference_spec.priors)["mu"]}
    assert dict(fits["partial"].spec.priors) == dict(reference_spec.priors)
    assert dict(fits["none"].spec.priors) == {}
    assert list(C.fit_pooling_modes(eight_schools, reference_spec, modes=("complete",), method="exact")) == ["complete"]
    with pytest.raises(SpecError, match="pooling"):
        C.fit_pooling_modes(eight_schools, reference_spec, modes=("some",))


# ----------------------------------------------------------------------------------- shrinkage


def test_group_estimates_every_kind(eight_schools):
    est = C.group_estimates(eight_schools)
    np.testing.assert_allclose(est["no_pooling"], EIGHT_Y)
    np.testing.assert_allclose(est["se"], EIGHT_SE)
    w = 1 / EIGHT_SE**2
    assert est.attrs["complete"] == pytest.approx(np.sum(w * EIGHT_Y) / np.sum(w))  # 7.69
    binom = simulate("binomial")
    gs = binom.group_summary()
    est = C.group_estimates(binom)
    k, n = gs["successes"].to_numpy(), gs["trials"].to_numpy()
    np.testing.assert_allclose(1 / (1 + np.exp(-est["no_pooling"])), (k + 0.5) / (n + 1))
    assert est.attrs["complete"] == pytest.approx(np.log((k.sum() + 0.5) / (n.sum() - k.sum() + 0.5)))
    pois = simulate("poisson")
    gs = pois.group_summary()
    est = C.group_estimates(pois)
    np.testing.assert_allclose(est["no_pooling"], np.log((gs["events"] + 0.5) / gs["exposure"]))
    gauss = simulate("normal")
    est = C.group_estimates(gauss)
    np.testing.assert_allclose(est["no_pooling"], gauss.group_summary()["estimate"])
    assert est.attrs["complete"] == pytest.approx(gauss.y.mean())


def test_shrinkage_eight_schools(eight_schools_fit):
    table = C.shrinkage_table(eight_schools_fit)
    assert list(table["group"]) == list("ABCDEFGH")
    np.testing.assert_allclose(table["no_pooling"], EIGHT_Y)
    np.testing.assert_allclose(table["precision"], 1 / EIGHT_SE**2)
    assert table["complete_pooling"].iloc[0] == pytest.approx(eight_schools_fit.draws("mu").mean())
    assert table.attrs["complete_source"] == "fit_mu"
    assert (table["partial_low"] < table["partial_mean"]).all() and (table["partial_mean"] < table["partial_high"]).all()
    # eight schools is strongly pooled, and the less precise a school, the more it is shrunk
    assert table["shrinkage"].between(0.5, 1.0).all()
    assert spearmanr(table["shrinkage"], table["se"]).statistic > 0.5
    tau = eight_schools_fit.draws("tau").mean()
    np.testing.assert_allclose(table["weight"], table["precision"] / (table["precision"] + 1 / tau**2))
    assert spearmanr(1 - table["weight"], table["shrinkage"]).statistic > 0.5


def test_shrinkage_with_complete_fit_and_other_poolings(eight_schools_pooling_fits):
    table = C.shrinkage_table(eight_schools_pooling_fits["partial"], complete_fit=eight_schools_pooling_fits["complete"])
    assert table["complete_pooling"].iloc[0] == pytest.approx(eight_schools_pooling_fits["complete"].draws("mu").mean())
    assert table.attrs["complete_source"] == "complete_fit"
    # the shared complete fit has the default (wide) prior on mu: close to the precision-weighted mean
    assert table["complete_pooling"].iloc[0] == pytest.approx(table["pooled_data"].iloc[0], abs=1.0)
    # far from that target, every school is pulled most of the way; near it the ratio is unstable,
    # which is why the default target is the partial fit's own mu
    far = (table["no_pooling"] - table["complete_pooling"]).abs() > 5
    assert far.sum() >= 4 and table.loc[far, "shrinkage"].between(0.3, 1.3).all()
    complete = C.shrinkage_table(eight_schools_pooling_fits["complete"])
    np.testing.assert_allclose(complete["shrinkage"], 1.0, atol=1e-4)
    assert (complete["weight"] == 0).all()
    none = C.shrinkage_table(eight_schools_pooling_fits["none"])
    assert (none["weight"] == 1).all()
    assert none.attrs["complete_source"] == "data"
    assert (none["shrinkage"].abs() < table["shrinkage"].abs()).all()  # far less shrinkage


def test_shrinkage_nan_safe(eight_schools_fit):
    # a "complete-pooling fit" whose mu is exactly school B's own estimate (8): B's shrinkage is undefined
    post = eight_schools_fit.idata.posterior[["mu"]].copy()
    post["mu"] = post["mu"] * 0 + 8.0
    target = dataclasses.replace(eight_schools_fit, idata=az.InferenceData(posterior=post))
    table = C.shrinkage_table(eight_schools_fit, complete_fit=target)
    assert np.isnan(table["shrinkage"].iloc[1])
    assert np.isfinite(table["shrinkage"].drop(index=1)).all()


def test_shrinkage_counts_have_response_columns(count_fits):
    for lik, f in count_fits.items():
        table = C.shrinkage_table(f)
        for col in ("no_pooling", "partial_mean", "partial_low", "partial_high", "complete_pooling"):
            assert f"{col}_response" in table
        var = "p" if lik == "binomial" else "rate"
        np.testing.assert_allclose(table["partial_mean_response"], f.draws(var).mean(axis=0))
        assert (table["partial_low_response"] <= table["partial_mean_response"]).all()
        assert table["weight"].between(0, 1).all()


def test_shrinkage_radon_sparse_counties_move_most(radon_fits):
    table = C.shrinkage_table(radon_fits["partial"])
    assert len(table) == 85
    sigma = radon_fits["partial"].draws("sigma").mean()
    np.testing.assert_allclose(table["se"], sigma / np.sqrt(table["n"]))
    assert spearmanr(table["weight"], table["n"]).statistic > 0.99
    assert table.loc[table["n"] <= 2, "weight"].mean() < table.loc[table["n"] >= 20, "weight"].mean()


# ------------------------------------------------------------------------------------- LOO


def test_loo_table_eight_schools(eight_schools_pooling_fits):
    table = C.loo_table(eight_schools_pooling_fits)
    assert len(table) == 3
    assert set(table["model"]) == {"none", "complete", "partial"}
    assert table["rank"].tolist() == [0, 1, 2]
    assert (table["elpd_diff"] >= 0).all()
    assert table["weight"].sum() == pytest.approx(1.0)
    assert (table["n_points"] == 8).all()
    for _, row in table.iterrows():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            loo = az.loo(eight_schools_pooling_fits[row["model"]].idata, pointwise=True, var_name="y")
        assert row["n_bad_pareto_k"] == int(np.sum(np.asarray(loo.pareto_k) > 0.7))
        assert row["elpd_loo"] == pytest.approx(loo.elpd_loo)
        if row["n_bad_pareto_k"]:
            assert f"for {row['n_bad_pareto_k']} of 8 groups" in row["warning"]
            assert "K-fold" in row["warning"]
        else:
            assert row["warning"] == ""


def test_loo_table_rejects_different_data(eight_schools_fit, radon_fits):
    with pytest.raises(SpecError, match="same observations"):
        C.loo_table({"schools": eight_schools_fit, "radon": radon_fits["partial"]})


def test_loo_warning_text_for_observations():
    text = C._pareto_warning(5, 919, "observations", False)
    assert text.startswith("k > 0.7 for 5 of 919 observations") and "outliers" in text


def test_forest_table(eight_schools_pooling_fits, count_fits):
    table = C.forest_table(eight_schools_pooling_fits)
    assert len(table) == 24 and list(table.columns) == ["model", "group", "mean", "low", "high"]
    complete = table[table["model"] == "complete"]
    assert complete["mean"].nunique() == 1  # complete pooling: one value for every group
    none, partial = table[table["model"] == "none"], table[table["model"] == "partial"]
    assert (none["high"].to_numpy() - none["low"].to_numpy() > partial["high"].to_numpy() - partial["low"].to_numpy()).all()
    rates = C.forest_table(count_fits["poisson"], response=True)
    assert (rates["low"] > 0).all()


# ------------------------------------------------------------------------------- new group


def test_predict_new_group_partial(eight_schools_fit):
    table = C.predict_new_group(eight_schools_fit)
    assert list(table.index) == ["theta_new", "response_new", "y_new"]
    mu = eight_schools_fit.draws("mu")
    draws = C.new_group_draws(eight_schools_fit)
    mc_se = 4 * draws["theta_new"].std() / np.sqrt(mu.size)  # generous: draws are correlated
    assert table.loc["theta_new", "mean"] == pytest.approx(mu.mean(), abs=max(mc_se, 0.5))
    assert table.loc["response_new", "mean"] == table.loc["theta_new", "mean"]  # identity link
    theta_width = table.loc["theta_new", "high"] - table.loc["theta_new", "low"]
    y_width = table.loc["y_new", "high"] - table.loc["y_new", "low"]
    assert y_width > theta_width  # a new observation adds sampling noise (median se 11)
    assert (table["low"] < table["mean"]).all() and (table["mean"] < table["high"]).all()
    # reproducible by seed
    np.testing.assert_array_equal(C.new_group_draws(eight_schools_fit, seed=3)["y_new"],
                                  C.new_group_draws(eight_schools_fit, seed=3)["y_new"])


def test_predict_new_group_complete_and_none(eight_schools_pooling_fits):
    complete = C.predict_new_group(eight_schools_pooling_fits["complete"])
    assert complete.loc["theta_new", "mean"] == pytest.approx(eight_schools_pooling_fits["complete"].draws("mu").mean())
    with pytest.raises(SpecError, match="no-pooling model cannot predict a new group"):
        C.predict_new_group(eight_schools_pooling_fits["none"])


def test_predict_new_group_counts(count_fits):
    binom = C.predict_new_group(count_fits["binomial"])
    assert 0 < binom.loc["response_new", "low"] < binom.loc["response_new", "high"] < 1
    trials = int(round(np.median(count_fits["binomial"].data.trials)))
    y = C.new_group_draws(count_fits["binomial"])["y_new"]
    assert np.all(y == np.round(y)) and y.min() >= 0 and y.max() <= trials
    assert f"out of {trials} trials" in binom.loc["y_new", "note"]
    pois = C.predict_new_group(count_fits["poisson"])
    assert pois.loc["response_new", "low"] > 0
    assert pois.loc["response_new", "mean"] == pytest.approx(
        np.mean(np.exp(C.new_group_draws(count_fits["poisson"])["theta_new"])))


# ------------------------------------------------------------------------- variance decomposition


def test_variance_decomposition_eight_schools(eight_schools_fit, eight_schools_pooling_fits):
    table = C.variance_decomposition(eight_schools_fit)
    assert list(table.index) == ["between", "within", "share_between"]
    assert list(table.columns) == ["mean", "low", "high", "note"]
    assert table.loc["within", "mean"] == pytest.approx(np.mean(EIGHT_SE**2))  # 166
    assert table.loc["between", "mean"] == pytest.approx(np.mean(eight_schools_fit.draws("tau") ** 2))
    share = table.loc["share_between"]
    assert 0 < share["low"] < share["mean"] < share["high"] < 1
    assert table["note"].str.len().min() > 20
    assert "ICC" in share["note"]
    complete = C.variance_decomposition(eight_schools_pooling_fits["complete"])
    assert complete.loc["between", "mean"] == 0 and complete.loc["share_between", "mean"] == 0
    with pytest.raises(SpecError, match="tau"):
        C.variance_decomposition(eight_schools_pooling_fits["none"])


def test_radon_icc_is_small(radon_fits):
    # Gelman & Hill: sigma_alpha ~ 0.33, sigma_y ~ 0.80 -> ICC ~ 0.15
    table = C.variance_decomposition(radon_fits["partial"])
    assert 0.45 < table.loc["within", "mean"] < 0.8
    assert 0.03 < table.loc["share_between", "mean"] < 0.35
    assert 0 <= table.loc["share_between", "low"] < table.loc["share_between", "high"] <= 1


def test_variance_decomposition_counts(count_fits):
    binom = C.variance_decomposition(count_fits["binomial"])
    assert binom.loc["within", "mean"] == pytest.approx(np.pi**2 / 3)
    pois = count_fits["poisson"]
    table = C.variance_decomposition(pois)
    theta = pois.draws("theta")
    lam = np.mean(np.exp(theta[:, pois.data.group_idx]) * pois.data.exposure, axis=1)
    assert table.loc["within", "mean"] == pytest.approx(np.mean(np.log1p(1 / lam)))
    assert 0 < table.loc["share_between", "mean"] < 1


def test_variance_decomposition_student_t(radon_fits):
    """sigma² nu / (nu - 2) for nu > 2; draws with nu <= 2 have infinite noise variance."""
    f = radon_fits["partial"]
    post = f.idata.posterior.copy()
    nu = np.full(post["sigma"].shape, 4.0)
    nu[0, :30] = 1.5
    post["nu"] = (("chain", "draw"), nu)
    t_fit = dataclasses.replace(f, idata=az.InferenceData(posterior=post),
                                spec=ModelSpec("student_t", "partial"))
    table = C.variance_decomposition(t_fit)
    sigma2 = f.draws("sigma").ravel() ** 2
    keep = nu.ravel() > 2
    assert table.loc["within", "mean"] == pytest.approx(np.mean(2 * sigma2[keep]))
    assert "nu ≤ 2" in table.loc["within", "note"]
    y = C.new_group_draws(t_fit)["y_new"]
    assert np.isfinite(y).all()


# --------------------------------------------------------------------------- predictive checks


def test_ppc_table_radon(radon_fits, radon):
    table = C.ppc_table(radon_fits["partial"])
    assert len(table) == 85
    np.testing.assert_allclose(table["observed"], radon.group_summary()["estimate"])
    assert table["inside"].dtype == bool
    assert (table["pred_low"] <= table["pred_high"]).all()
    assert table.attrs["coverage"] == pytest.approx(table["inside"].mean())
    assert table.attrs["coverage"] >= 0.8  # the model reproduces county means
    summary = C.ppc_summary(table)
    assert summary["n_groups"] == 85 and summary["expected"] == 0.9
    assert "of 85 groups" in summary["message"] and "90%" in summary["message"]
    # complete pooling cannot reproduce the spread of county means
    complete = C.ppc_table(radon_fits["complete"])
    assert complete.attrs["coverage"] < table.attrs["coverage"]


def test_ppc_table_eight_schools_and_counts(eight_schools_fit, count_fits):
    table = C.ppc_table(eight_schools_fit)
    np.testing.assert_allclose(table["observed"], EIGHT_Y)
    assert table["p_value"].between(0, 1).all()
    binom = C.ppc_table(count_fits["binomial"])
    assert (binom["statistic"] == "successes").all()
    gs = count_fits["binomial"].data.group_summary()
    np.testing.assert_allclose(binom["observed"], gs["successes"])
    assert (binom["pred_low"] == np.round(binom["pred_low"])).all()
    assert C.ppc_table(count_fits["poisson"])["statistic"].iloc[0] == "events"
