"""Variants side by side on eight schools (the starting set, instant posteriors): each table
against a reference computed independently (az.compare, closed forms, the prior's CDF)."""

from __future__ import annotations

import dataclasses
import json
import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

import hiermod
from hiermod.data import ColumnMap, load_data
from hiermod.diagnostics import summary_table
from hiermod.model_comparison import PARETO_K_MAX
from hiermod.plots.variants import forest_across_plot, loo_across_plot, tau_overlay_plot, variant_colors
from hiermod.settings import SamplerSettings
from hiermod.spec import ModelSpec
from hiermod.variant_comparison import (FOREST_HDI, PPC_PROB, comparison_report, forest_across, loo_across,
                                        parameter_tables, ppc_coverage, scale_parameters, tau_overlay)
from hiermod.variants import Variant, fit_variants, starting_set

SETTINGS = SamplerSettings(chains=2, warmup=300, draws=1000, seed=4)


def _instant(variants):
    return [dataclasses.replace(v, method="instant") for v in variants]


@pytest.fixture(scope="module")
def schools():
    return hiermod.load_dataset("eight_schools")


@pytest.fixture(scope="module")
def variants(schools):
    return _instant(starting_set(schools))


@pytest.fixture(scope="module")
def fits(schools, variants):
    return fit_variants(schools, variants, SETTINGS)


def test_parameter_tables_are_each_fits_summary(fits):
    tables = parameter_tables(fits)
    assert list(tables) == list(fits)
    for name, table in tables.items():
        pd.testing.assert_frame_equal(table, summary_table(fits[name]))
    assert "tau" in tables["skeptical"].index and "tau" not in tables["complete pooling"].index


def test_loo_ranks_and_standard_errors_are_those_of_az_compare(fits):
    table = loo_across(fits)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = az.compare({n: f.idata for n, f in fits.items()}, ic="loo", var_name="y")
    assert list(table["variant"]) == list(reference.index)
    for column in ("rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight"):
        np.testing.assert_allclose(table[column].astype(float), reference[column].astype(float), rtol=1e-12)
    assert table["compared"].all() and table.attrs["reason"] == ""
    assert table["elpd_diff"].iloc[0] == 0 and (table["elpd_diff"] >= 0).all()
    for name, row in table.set_index("variant").iterrows():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            k = az.loo(fits[name].idata, pointwise=True, var_name="y").pareto_k.values
        assert row["n_bad_pareto_k"] == int(np.sum(k > PARETO_K_MAX))
        assert row["max_pareto_k"] == pytest.approx(float(k.max()))


def test_variants_of_other_observations_are_listed_as_not_compared(schools, fits):
    frame = schools.group_summary()[["group", "estimate", "se"]].copy()
    frame.loc[0, "estimate"] += 10
    other = load_data(frame, ColumnMap("group", "estimate", "summary", se="se"))
    (shifted,) = fit_variants(other, _instant([Variant("shifted", ModelSpec("normal_known_se"))]), SETTINGS).values()
    table = loo_across(dict(fits) | {"shifted": shifted})
    left = table[~table["compared"]]
    assert list(left["variant"]) == ["shifted"] and left["elpd_loo"].isna().all()
    assert "different outcome values" in left["note"].iloc[0]
    assert "shifted" in table.attrs["reason"]
    np.testing.assert_allclose(table.loc[table["compared"], "elpd_loo"].to_numpy(float),
                               loo_across(fits)["elpd_loo"].to_numpy(float))


def test_tau_overlay_prior_and_posterior_densities_on_one_grid(fits):
    table = tau_overlay(fits)
    assert table.attrs["without_tau"] == ["complete pooling"] and table.attrs["variants"] == list(fits)
    # robust's Student-t population has a tau (its nu_groups is not a scale: not drawn)
    assert set(table["variant"]) == {"non-centered", "skeptical", "robust"} and set(table["parameter"]) == {"tau"}
    grids = {k: g["x"].to_numpy() for k, g in table.groupby(["variant", "source"])}
    first = next(iter(grids.values()))
    assert all(np.array_equal(g, first) for g in grids.values()) and first[0] == 0
    for name in ("non-centered", "skeptical", "robust"):
        rows = table[table["variant"] == name]
        prior = rows[rows["source"] == "prior"]
        posterior = rows[rows["source"] == "posterior"]
        x = prior["x"].to_numpy()
        # the drawn prior integrates to the prior's own probability of the grid's range
        cdf = fits[name].priors["tau"].scipy().cdf
        mass = cdf(x[-1]) - cdf(x[0])
        assert table.attrs["prior_mass"][(name, "tau")] == pytest.approx(mass)
        assert integrate.trapezoid(prior["density"], x) == pytest.approx(mass, abs=1e-4)
        # the reflected KDE keeps all its mass on [0, inf): the grid holds about all of it
        draws = fits[name].draws("tau").ravel()
        share = np.mean(draws <= x[-1])
        assert integrate.trapezoid(posterior["density"], x) == pytest.approx(share, abs=2e-3)
    # HalfNormal(5) is the skeptical prior: its density at 0 is 2 / (5 sqrt(2 pi))
    at0 = table[(table["variant"] == "skeptical") & (table["source"] == "prior")]["density"].iloc[0]
    assert at0 == pytest.approx(2 * stats.norm.pdf(0, 0, 5))


def test_tau_overlay_posterior_follows_the_exact_tau_density(schools, fits):
    """The KDE of the instant draws against the exact grid density of tau (hiermod.exact), in
    the bulk of the posterior; the KDE's smoothing bias there is a few % of the peak."""
    from hiermod.exact import exact_posterior

    rows = tau_overlay({"skeptical": fits["skeptical"]})
    post = rows[rows["source"] == "posterior"]
    exact = exact_posterior(schools, fits["skeptical"].spec, fits["skeptical"].priors)
    reference = np.interp(post["x"], exact.tau_grid, exact.tau_density)
    bulk = (post["x"] > 1.0) & (post["x"] < 12.0)
    error = np.abs(post["density"].to_numpy() - reference)[bulk.to_numpy()]
    assert error.max() < 0.15 * reference.max()


def test_forest_across_every_group_in_every_variant(fits, schools):
    table = forest_across(fits)
    assert len(table) == schools.n_groups * len(fits) and table.attrs["hdi_prob"] == FOREST_HDI
    for name, fit in fits.items():
        rows = table[table["variant"] == name]
        assert list(rows["group"]) == list(schools.labels)
        theta = fit.draws("theta")
        np.testing.assert_allclose(rows["mean"], theta.mean(axis=0))
        low, high = az.hdi(theta[:, 0], hdi_prob=FOREST_HDI)
        assert (rows["low"].iloc[0], rows["high"].iloc[0]) == pytest.approx((low, high))
    complete = table[table["variant"] == "complete pooling"]
    assert np.ptp(complete["mean"]) < 1e-9


def test_ppc_coverage_matches_the_closed_form_predictive_of_complete_pooling():
    """Complete pooling with mu ~ Normal(0, 20): mu | y is normal, and y_j's predictive is
    Normal(m, v + se_j^2). One estimate (40) lies far outside; the rest inside."""
    y = np.array([0.0, 1, -1, 2, 0, -2, 1, 40])
    se = np.full(8, 5.0)
    frame = pd.DataFrame({"g": list("ABCDEFGH"), "y": y, "se": se})
    data = load_data(frame, ColumnMap("g", "y", "summary", se="se"))
    spec = ModelSpec("normal_known_se", "complete", priors={"mu": "Normal(0, 20)"})
    fits = fit_variants(data, [Variant("complete", spec, "instant")], SAMPLER_MANY)
    table = ppc_coverage(fits).set_index("variant")
    precision = 1 / 20**2 + np.sum(1 / se**2)
    m, v = np.sum(y / se**2) / precision, 1 / precision
    z = (y - m) / np.sqrt(v + se**2)
    inside = np.abs(z) <= stats.norm.ppf(0.5 + PPC_PROB / 2)
    assert np.all(np.abs(np.abs(z) - 1.96) > 0.3)  # no value near the interval's ends
    row = table.loc["complete"]
    assert row["n_inside"] == inside.sum() == 7 and row["coverage"] == pytest.approx(7 / 8)
    assert row["groups_outside"] == "H" and row["group_coverage"] == pytest.approx(7 / 8)


SAMPLER_MANY = SamplerSettings(chains=2, warmup=300, draws=2000, seed=1)


def test_comparison_report_is_json_and_holds_every_table(schools, variants, fits):
    report = comparison_report(schools, variants, fits)
    text = json.dumps(report, allow_nan=False)
    back = json.loads(text)
    assert [v["name"] for v in back["variants"]] == [v.name for v in variants]
    first = back["variants"][0]
    assert first["spec"]["priors"] == {"mu": "Normal(0, 20)", "tau": "HalfCauchy(10)"}
    assert first["thresholds"]["max_rhat"] == variants[0].thresholds["max_rhat"] and first["method"] == "instant"
    assert set(back["parameters"]) == set(fits)
    rows = back["parameters"]["skeptical"]
    reference = summary_table(fits["skeptical"])
    assert [r["parameter"] for r in rows] == list(reference.index)
    assert [r["mean"] for r in rows] == pytest.approx(list(reference["mean"]))
    assert [r["variant"] for r in back["loo"]["rows"]] == list(loo_across(fits)["variant"])
    assert len(back["forest"]["rows"]) == 8 * 4 and back["ppc_coverage"]["prob"] == PPC_PROB
    assert back["tau"]["without_tau"] == ["complete pooling"]
    skeptical = back["tau"]["per_variant"]["skeptical"]["tau"]
    assert skeptical["median"] == pytest.approx(float(np.median(fits["skeptical"].draws("tau"))))
    assert back["data"]["n_groups"] == 8 and back["data"]["columns"]["se"] == "se"


def test_scale_parameters_name_every_level():
    data = hiermod.load_dataset("simulated_nested")
    spec = starting_set(data)[0].spec
    fit = hiermod.fit(data, spec, method="instant", chains=1, draws=200)
    assert scale_parameters(fit) == tuple(f"tau_{c}" for c in data.group_columns)


def test_figures_draw_the_tables(fits):
    overlay = tau_overlay(fits)
    fig = tau_overlay_plot(overlay)
    colors = variant_colors(list(fits))  # every variant's colour, complete pooling's included
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {f"{n} ({s})" for n in ("non-centered", "skeptical", "robust")
                            for s in ("posterior", "prior")}
    for name in ("non-centered", "skeptical", "robust"):
        post, prior = by_name[f"{name} (posterior)"], by_name[f"{name} (prior)"]
        assert post.line.color == prior.line.color == colors[name]
        assert post.line.dash == "solid" and prior.line.dash == "dash"
    assert "complete pooling" in fig.layout.annotations[0].text
    forest = forest_across_plot(forest_across(fits))
    assert [t.name for t in forest.data] == list(fits)
    assert [t.marker.color for t in forest.data] == list(colors.values())
    # robust comes after complete pooling (no tau): it keeps its own colour in the tau figure, the
    # forest's, not complete pooling's
    assert by_name["robust (posterior)"].line.color == forest.data[list(fits).index("robust")].marker.color
    assert by_name["robust (posterior)"].line.color != colors["complete pooling"]
    loo = loo_across(fits)
    fig = loo_across_plot(loo)
    np.testing.assert_allclose(fig.data[0].x, loo["elpd_loo"].astype(float))
    np.testing.assert_allclose(fig.data[0].error_x.array, loo["se"].astype(float))
    np.testing.assert_allclose(fig.data[1].error_x.array, loo["dse"].astype(float))
