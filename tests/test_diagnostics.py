"""Diagnostics: summaries agree with ArviZ, verdicts say the right thing for the right fits."""

from __future__ import annotations

import dataclasses
import json

import arviz as az
import numpy as np
import pytest

from hiermod import diagnostics as D
from hiermod.errors import SpecError

LABELS = list("ABCDEFGH")


def with_idata(fit, method=None, **groups):
    """A copy of ``fit`` whose InferenceData has only the given groups (posterior by default)."""
    groups.setdefault("posterior", fit.idata.posterior)
    return dataclasses.replace(fit, idata=az.InferenceData(**groups), method=method or fit.method)


def with_stats(fit, **changes):
    """A copy of ``fit`` with some sample_stats variables replaced or removed (value None)."""
    stats = fit.idata.sample_stats.copy()
    for name, value in changes.items():
        if value is None:
            stats = stats.drop_vars(name)
        else:
            stats[name] = (("chain", "draw"), np.asarray(value))
    return with_idata(fit, sample_stats=stats)


# ------------------------------------------------------------------------------------ summaries


def test_summary_table_layout_and_values(eight_schools_fit):
    table = D.summary_table(eight_schools_fit)
    assert list(table.index) == ["mu", "tau"] + [f"theta[{g}]" for g in LABELS]
    assert list(table.columns) == D.SUMMARY_COLUMNS
    assert not any("decentered" in name for name in table.index)
    tau = eight_schools_fit.draws("tau")
    assert table.loc["tau", "mean"] == pytest.approx(tau.mean())
    assert table.loc["tau", "sd"] == pytest.approx(tau.std(ddof=1), rel=1e-6)
    assert (table["hdi_low"] < table["mean"]).all() and (table["mean"] < table["hdi_high"]).all()
    # agrees with ArviZ's own diagnostics
    assert table.loc["tau", "ess_bulk"] == pytest.approx(float(az.ess(eight_schools_fit.idata, var_names=["tau"])["tau"]))
    assert table.loc["mu", "r_hat"] == pytest.approx(float(az.rhat(eight_schools_fit.idata, var_names=["mu"])["mu"]))


def test_summary_table_var_names_hdi_and_errors(eight_schools_fit):
    narrow = D.summary_table(eight_schools_fit, var_names=["tau"], hdi_prob=0.5)
    wide = D.summary_table(eight_schools_fit, var_names=["tau"], hdi_prob=0.94)
    assert list(narrow.index) == ["tau"]
    assert narrow.loc["tau", "hdi_high"] - narrow.loc["tau", "hdi_low"] < wide.loc["tau", "hdi_high"] - wide.loc["tau", "hdi_low"]
    with pytest.raises(SpecError, match="sigma"):
        D.summary_table(eight_schools_fit, var_names=["sigma"])
    with pytest.raises(SpecError):
        D.summary_table(eight_schools_fit, hdi_prob=1.5)


def test_chain_table_matches_sample_stats(eight_schools_centered_fit):
    fit = eight_schools_centered_fit
    chains = D.chain_table(fit)
    assert list(chains.columns) == D.CHAIN_COLUMNS
    assert len(chains) == 4
    assert chains["divergences"].sum() == int(fit.idata.sample_stats["diverging"].sum())
    np.testing.assert_allclose(chains["bfmi"], az.bfmi(fit.idata), rtol=1e-9)
    assert ((chains["accept"] > 0) & (chains["accept"] <= 1)).all()


# ------------------------------------------------------------------------------------- verdicts


def test_non_centered_fit_converges(eight_schools_fit):
    d = D.diagnose(eight_schools_fit)
    assert d.max_r_hat <= D.RHAT_MAX
    assert d.min_ess_bulk >= D.ess_threshold(4)
    assert d.n_chains == 4 and d.n_draws == 1000 and len(d.bfmi) == 4
    topics = {v.topic for v in d.verdicts}
    assert "r_hat" not in topics and "ess" not in topics
    if d.divergences == 0:
        assert [v.level for v in d.verdicts] == ["ok"] or topics <= {"bfmi", "treedepth"}
    else:  # a non-centered fit is told to raise target acceptance, not to switch parameterization
        verdict = next(v for v in d.verdicts if v.topic == "divergences")
        assert "target acceptance" in verdict.advice
        assert "Switch to the non-centered" not in verdict.advice


def test_centered_fit_diverges_and_advice_names_non_centered(eight_schools_centered_fit):
    d = D.diagnose(eight_schools_centered_fit)
    assert d.divergences > 0
    assert d.divergence_share == pytest.approx(d.divergences / 4000)
    assert d.level == "problem" and not d.ok
    verdict = next(v for v in d.verdicts if v.topic == "divergences")
    assert verdict.level == "problem"
    assert "non-centered" in verdict.advice and "0.95" in verdict.advice
    assert f"{d.divergences} of 4000" in verdict.message
    assert "funnel" in verdict.message


def test_to_dict_is_json(eight_schools_centered_fit):
    payload = D.diagnose(eight_schools_centered_fit).to_dict()
    text = json.dumps(payload, allow_nan=False)
    assert '"level": "problem"' in text
    assert payload["summary"]["tau"]["mean"] > 0
    assert len(payload["chains"]) == 4


def test_all_fine_gives_one_ok_verdict(eight_schools_fit):
    fit = with_stats(eight_schools_fit, diverging=np.zeros((4, 1000), bool),
                     max_tree_depth_reached=np.zeros((4, 1000), bool))
    d = D.diagnose(fit)
    assert d.divergences == 0
    if min(d.bfmi) >= D.BFMI_MIN:
        assert len(d.verdicts) == 1
        v = d.verdicts[0]
        assert v.level == "ok" and v.message.startswith("No problems found")
        assert "0 divergences" in v.message and "R-hat <=" in v.message and "ESS >=" in v.message


def test_rhat_and_ess_verdicts_on_stuck_chains(eight_schools_fit):
    # shift chain 0 of tau: the chains now disagree, and split chains look poorly mixed
    post = eight_schools_fit.idata.posterior.copy()
    tau = post["tau"].values.copy()
    tau[0] += 5 * tau.std()
    post["tau"] = (("chain", "draw"), tau)
    fit = with_idata(eight_schools_fit, posterior=post, sample_stats=eight_schools_fit.idata.sample_stats)
    d = D.diagnose(fit)
    rhat = next(v for v in d.verdicts if v.topic == "r_hat")
    assert rhat.level == "problem"
    assert rhat.message.startswith("The chains disagree about tau (R-hat")
    assert "Run longer" in rhat.advice
    ess = next(v for v in d.verdicts if v.topic == "ess")
    assert ess.level == "warning" and "tau" in ess.message and "400" in ess.message


def test_bfmi_and_treedepth_verdicts(eight_schools_fit):
    rng = np.random.default_rng(0)
    random_walk = np.cumsum(rng.normal(size=(4, 1000)), axis=1)  # tiny steps, huge spread: low BFMI
    saturated = np.zeros((4, 1000), bool)
    saturated[:, :50] = True  # 5% of draws
    fit = with_stats(eight_schools_fit, energy=random_walk, max_tree_depth_reached=saturated)
    d = D.diagnose(fit)
    assert min(d.bfmi) < D.BFMI_MIN
    bfmi = next(v for v in d.verdicts if v.topic == "bfmi")
    assert bfmi.level == "warning" and "explores the energy poorly" in bfmi.message
    assert d.treedepth_share == pytest.approx(0.05)
    depth = next(v for v in d.verdicts if v.topic == "treedepth")
    assert depth.level == "warning" and "5.0%" in depth.message


def test_treedepth_falls_back_to_tree_depth(eight_schools_fit):
    depth = np.full((4, 1000), 3)
    depth[1, :100] = 10
    fit = with_stats(eight_schools_fit, max_tree_depth_reached=None, tree_depth=depth)
    assert D.chain_table(fit)["treedepth_share"].tolist() == [0.0, 0.1, 0.0, 0.0]
    assert D.diagnose(fit).treedepth_share == pytest.approx(0.025)


def test_exact_fit_verdict(eight_schools_fit):
    fit = with_idata(eight_schools_fit, method="exact")
    d = D.diagnose(fit)
    assert [v.level for v in d.verdicts] == ["ok"]
    assert "exact and independent" in d.verdicts[0].message
    assert "4000" in d.verdicts[0].message
    assert d.divergences == 0 and d.bfmi == ()
    assert D.chain_table(fit).empty and D.energy_table(fit).empty
    assert json.dumps(d.to_dict())


def test_vi_fit_verdict_says_approximation_not_exact(eight_schools_fit):
    """A VI fit has no sampler statistics either, but its draws are not exact: the verdict must warn."""
    fit = with_idata(eight_schools_fit, method="vi")
    d = D.diagnose(fit)
    assert [v.level for v in d.verdicts] == ["warning"]
    verdict = d.verdicts[0]
    assert "approximation" in verdict.message and "tau" in verdict.message
    assert "closed-form" not in verdict.message and "exact" not in verdict.message
    assert "NUTS" in verdict.advice
    assert d.divergences == 0 and d.bfmi == () and D.chain_table(fit).empty
    assert json.dumps(d.to_dict())


def test_real_exact_fit_verdict(eight_schools, reference_spec):
    from hiermod.fitting import fit

    d = D.diagnose(fit(eight_schools, reference_spec, method="exact"))
    assert [v.topic for v in d.verdicts] == ["exact"]
    assert d.min_ess_bulk > 0.5 * d.n_chains * d.n_draws


# -------------------------------------------------------------------------------- plot tables


def test_funnel_table(eight_schools_fit, eight_schools_centered_fit):
    table = D.funnel_table(eight_schools_fit)
    assert len(table) == 4 * 1000 * 8
    assert set(table["group"]) == set(LABELS)
    np.testing.assert_allclose(table["theta"], table["mu"] + table["tau"] * table["theta_decentered"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(table["log_tau"], np.log(table["tau"]))
    centered = D.funnel_table(eight_schools_centered_fit)
    assert centered["theta_decentered"].isna().all()
    assert centered["theta_standardized"].notna().all()
    assert centered["diverging"].sum() == 8 * D.diagnose(eight_schools_centered_fit).divergences


def test_funnel_needs_partial_pooling(eight_schools_fit, reference_spec):
    no_tau = with_idata(eight_schools_fit, posterior=eight_schools_fit.idata.posterior.drop_vars("tau"))
    no_tau = dataclasses.replace(no_tau, spec=reference_spec.replace(pooling="complete"))
    with pytest.raises(SpecError, match="partial"):
        D.funnel_table(no_tau)


def test_trace_and_rank_tables(eight_schools_fit):
    trace = D.trace_table(eight_schools_fit, "theta")
    assert list(trace.columns) == ["chain", "draw", "parameter", "value"]
    assert len(trace) == 8 * 4000
    one = D.trace_table(eight_schools_fit, "theta[C]")
    assert set(one["parameter"]) == {"theta[C]"}
    np.testing.assert_allclose(one["value"], eight_schools_fit.draws("theta")[:, 2])
    ranks = D.rank_table(eight_schools_fit, "mu", bins=10)
    assert len(ranks) == 4 * 10
    assert ranks.groupby("chain")["count"].sum().tolist() == [1000] * 4
    assert (ranks["expected"] == 100).all()
    # well mixed: no bin is far from flat
    assert ranks["count"].between(40, 160).all()
    with pytest.raises(SpecError):
        D.trace_table(eight_schools_fit, "theta[Z]")
    with pytest.raises(SpecError):
        D.rank_table(eight_schools_fit, "sigma")


def test_energy_table(eight_schools_centered_fit):
    table = D.energy_table(eight_schools_centered_fit)
    assert len(table) == 4000
    assert table.groupby("chain")["energy_centered"].mean().abs().max() < 1e-8
    assert table.groupby("chain")["energy_transition"].apply(lambda s: s.isna().sum()).tolist() == [1] * 4
    np.testing.assert_allclose(table.groupby("chain")["bfmi"].first(), D.chain_table(eight_schools_centered_fit)["bfmi"])


def test_verdict_level_is_checked():
    with pytest.raises(ValueError):
        D.Verdict("fine", "x", "y")
