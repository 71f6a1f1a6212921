"""Leave one group out against the exact normal-normal posterior of the data without the group:
y_j | tau, y_-j ~ Normal(m(tau), sqrt(s(tau)^2 + tau^2 + se_j^2)), mixed over the exact tau grid."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hiermod
from hiermod.data import ColumnMap, load_data
from hiermod.errors import SpecError
from hiermod.exact import exact_posterior
from hiermod.leave_group_out import leave_group_out, logo_verdict, without_groups
from hiermod.spec import ModelSpec

Z = 4.0  # |error| / MCSE
SPEC = ModelSpec("normal_known_se")


@pytest.fixture(scope="module")
def exact_fit(eight_schools):
    return hiermod.fit(eight_schools, SPEC, method="exact", chains=4, draws=2000, seed=2)


def _exact_predictive(fit, j):
    """(P(y_new < y_j), E[y_new]) for group j from the exact posterior fitted without it, with the
    fit's priors."""
    data = fit.data
    ep = exact_posterior(without_groups(data, [j]), SPEC, priors=fit.priors)
    y, se = float(data.y[j]), float(data.se[j])
    sd = np.sqrt(ep.mu_sd_given_tau**2 + ep.tau_grid**2 + se**2)
    p_below = float(np.sum(ep.tau_weights * stats.norm.cdf((y - ep.mu_mean_given_tau) / sd)))
    mean = float(np.sum(ep.tau_weights * ep.mu_mean_given_tau))
    return p_below, mean


def test_without_groups_keeps_the_rest(eight_schools):
    reduced = without_groups(eight_schools, [0, 3])
    assert reduced.labels == ("B", "C", "E", "F", "G", "H")
    assert np.array_equal(reduced.y, [8, -3, -1, 1, 18, 12])
    assert np.array_equal(reduced.group_idx, np.arange(6))
    assert reduced.fingerprint != eight_schools.fingerprint


def test_without_groups_nested_drops_empty_parents():
    from hiermod.datasets import load_dataset

    data = load_dataset("simulated_nested")
    school_a = [i for i, label in enumerate(data.labels) if label.startswith("A/")]
    reduced = without_groups(data, school_a)
    assert "A" not in reduced.levels[0].labels
    assert reduced.n_rows == data.n_rows - int(np.isin(data.group_idx, school_a).sum())
    # every class still sits in its own school
    for label, parent in zip(reduced.levels[-1].labels, reduced.levels[-1].parent):
        assert label.split("/")[0] == reduced.levels[0].labels[parent]
    again = reduced.level_summary(0)
    assert list(again["group"]) == list(reduced.levels[0].labels)


def test_instant_refit_equals_the_exact_refit(exact_fit):
    table = leave_group_out(exact_fit, method="refit", draws=4000)
    assert set(table["method"]) == {"refit"} and table["pareto_k"].isna().all()
    for j in range(8):
        p_below, mean = _exact_predictive(exact_fit, j)
        row = table.iloc[j]
        assert abs(row["p_below"] - p_below) < Z * np.sqrt(p_below * (1 - p_below) / 4000), (j, row["p_below"], p_below)
        # predictive sd is about 20; the mean's MCSE is sd / sqrt(draws)
        assert abs(row["pred_mean"] - mean) < Z * 25 / np.sqrt(4000), (j, row["pred_mean"], mean)


def test_psis_agrees_with_the_exact_refit(exact_fit):
    table = leave_group_out(exact_fit, method="psis")
    assert set(table["method"]) == {"psis"}
    # eight schools: se large, so k stays moderate (about 0.5-0.7); compare where PSIS is reliable
    assert table["reliable"].sum() >= 6 and np.all(table["pareto_k"] < 1)
    for j in np.flatnonzero(table["reliable"].to_numpy()):
        p_below, _ = _exact_predictive(exact_fit, j)
        row = table.iloc[j]
        assert abs(row["p_below"] - p_below) < Z * row["p_below_mcse"], (j, row["p_below"], p_below)


def test_eight_schools_has_no_surprising_school(exact_fit):
    table = leave_group_out(exact_fit)
    assert table.attrs["method"] == "refit"
    assert not table["outside"].any()
    assert table.attrs["verdict"].startswith("Every group falls inside the 95% interval")


def _planted(eight_schools, value=130.0):
    frame = eight_schools.group_summary()[["group", "estimate", "se"]].copy()
    frame.loc[frame["group"] == "D", "estimate"] = value
    return load_data(frame, ColumnMap(group="group", y="estimate", se="se", kind="summary"))


def test_a_planted_outlier_is_flagged_by_both_methods(eight_schools):
    data = _planted(eight_schools)
    fit = hiermod.fit(data, SPEC, method="instant", chains=2, draws=2000)
    for method in ("refit", "psis"):
        table = leave_group_out(fit, method=method)
        assert list(table.loc[table["outside"], "group"]) == ["D"], (method, table)
        assert table.attrs["verdict"].startswith("D falls outside the 95% interval")
        assert table.set_index("group").loc["D", "tail_prob"] < 0.05


def test_raw_rows_outlier_group_in_gaussian_and_binomial_data():
    rng = np.random.default_rng(4)
    groups = [f"g{i}" for i in range(8)]
    means = rng.normal(50, 3, 8)
    means[5] = 80.0
    rows = [(g, m + rng.normal(0, 8)) for g, m in zip(groups, means) for _ in range(12)]
    gauss = load_data(pd.DataFrame(rows, columns=["g", "y"]), ColumnMap(group="g", y="y", kind="gaussian"))
    fit = hiermod.fit(gauss, ModelSpec("normal"), method="instant", chains=2, draws=1000)
    table = leave_group_out(fit, draws=2000)
    assert list(table.loc[table["outside"], "group"]) == ["g5"]
    assert table.attrs["statistic"] == "mean y"
    assert table.set_index("group").loc["g5", "observed"] == pytest.approx(
        np.mean([y for g, y in rows if g == "g5"]))

    counts = pd.DataFrame({"g": groups, "k": [10, 12, 9, 11, 13, 45, 10, 12], "n": [50] * 8})
    binom = load_data(counts, ColumnMap(group="g", y="k", kind="binomial", trials="n"))
    fit = hiermod.fit(binom, ModelSpec("binomial"), method="instant", chains=2, draws=1000)
    table = leave_group_out(fit, draws=2000)
    assert list(table.loc[table["outside"], "group"]) == ["g5"]
    assert table.set_index("group").loc["g5", "observed"] == pytest.approx(45 / 50)
    assert table["pred_high"].max() <= 1 and table["pred_low"].min() >= 0


def test_nested_refit_and_psis_run_per_class():
    from hiermod.datasets import load_dataset

    data = load_dataset("simulated_nested")
    fit = hiermod.fit(data, ModelSpec("normal", groups=tuple(data.group_columns)), method="instant",
                      chains=2, draws=500)
    psis = leave_group_out(fit, method="psis")
    assert list(psis["group"]) == list(data.labels)
    assert psis["pareto_k"].notna().all()
    unreliable = list(psis.loc[~psis["reliable"], "group"])
    if unreliable:
        assert "unreliable" in psis.attrs["verdict"] and unreliable[0] in psis.attrs["verdict"]


def test_verdict_names_groups_and_unreliable_weights():
    table = pd.DataFrame({"group": ["A", "B", "C"], "outside": [True, False, True],
                          "reliable": [True, False, True]})
    table.attrs["prob"] = 0.95
    text = logo_verdict(table)
    assert text.startswith("A and C fall outside the 95% interval")
    assert "weights of B are unreliable" in text
    assert text.endswith(".") and ". " not in text      # one sentence


def test_bad_requests_are_refused(eight_schools, exact_fit):
    none = hiermod.fit(eight_schools, ModelSpec("normal_known_se", pooling="none"), method="exact",
                       chains=1, draws=200)
    with pytest.raises(SpecError, match="no-pooling"):
        leave_group_out(none)
    with pytest.raises(SpecError, match="Unknown leave-group-out method"):
        leave_group_out(exact_fit, method="jackknife")
    with pytest.raises(SpecError, match="between 0 and 1"):
        leave_group_out(exact_fit, prob=95)
    two = without_groups(exact_fit.data, range(2, 8))
    two_fit = hiermod.fit(two, ModelSpec("normal_known_se", pooling="complete"), method="exact", chains=1, draws=200)
    with pytest.raises(SpecError, match="at least 3 groups"):
        leave_group_out(two_fit)


def test_complete_pooling_predicts_from_the_pooled_mean(eight_schools):
    """Complete pooling: y_j | y_-j ~ Normal(mu_hat_-j, sqrt(sd_-j(mu)^2 + se_j^2)) exactly."""
    spec = ModelSpec("normal_known_se", pooling="complete")
    fit = hiermod.fit(eight_schools, spec, method="exact", chains=2, draws=1000)
    table = leave_group_out(fit, draws=4000)
    for j in (0, 4):
        ep = exact_posterior(without_groups(eight_schools, [j]), spec, priors=fit.priors)
        want = stats.norm.cdf((eight_schools.y[j] - ep.means["mu"]) / np.hypot(ep.sds["mu"], eight_schools.se[j]))
        assert abs(table.iloc[j]["p_below"] - want) < Z * np.sqrt(want * (1 - want) / 4000)


def test_leave_group_out_plot_colours_the_flagged_group(eight_schools):
    from hiermod.plots.groups import leave_group_out_plot
    from hiermod.plots.style import color

    fit = hiermod.fit(_planted(eight_schools), SPEC, method="instant", chains=2, draws=1000)
    table = leave_group_out(fit)
    fig = leave_group_out_plot(table)
    observed = fig.data[-1]
    colours = dict(zip(table["group"], observed.marker.color))
    assert colours["D"] == color("outside") and colours["A"] == color("inside")
    assert fig.layout.title.text.startswith("D falls outside")
    assert fig.layout.xaxis.title.text == table.attrs["statistic"]


def test_a_model_the_instant_method_cannot_serve_uses_psis_on_nuts_draws():
    """Student-t rows: no instant engine, so "auto" importance-weights a small NUTS fit's draws."""
    from hiermod.instant import unavailable_reason

    rng = np.random.default_rng(4)
    groups = [f"g{i}" for i in range(6)]
    means = rng.normal(50, 3, 6)
    means[5] = 80.0
    rows = [(g, m + rng.normal(0, 8)) for g, m in zip(groups, means) for _ in range(10)]
    data = load_data(pd.DataFrame(rows, columns=["g", "y"]), ColumnMap(group="g", y="y", kind="gaussian"))
    spec = ModelSpec("student_t")
    assert unavailable_reason(data, spec) is not None
    fit = hiermod.fit(data, spec, chains=2, warmup=300, draws=300, seed=1)
    table = leave_group_out(fit)
    assert table.attrs["method"] == "psis" and set(table["method"]) == {"psis"}
    assert table["pareto_k"].notna().all() and np.all(table["n_eff"] <= 600)
    assert table["reliable"].to_numpy().tolist() == (table["pareto_k"] <= 0.7).tolist()
    for group in table.loc[~table["reliable"], "group"]:
        assert group in table.attrs["verdict"]
    with pytest.raises(SpecError, match="instant method"):
        leave_group_out(fit, method="refit")
