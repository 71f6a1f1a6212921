"""Shrinkage and funnel readers for nested levels, varying slopes and Beta/Gamma populations:
tables against hand computations, and both results pages render for every structure.

Small real fits (2 chains x 150 + 150), made once per session."""

from __future__ import annotations

import numpy as np
import pytest

from hiermod.datasets import load_dataset
from hiermod.fitting import fit as run_fit
from hiermod.plot_tables import funnel_scales, funnel_table
from hiermod.shrinkage import shrinkage_levels, shrinkage_table
from hiermod.slope_shrinkage import slope_ellipse_table, slope_lines_table, slope_table
from hiermod.spec import ModelSpec, default_likelihood

from test_results_pages import FUNNEL, SHRINK, charts, new_app, with_fits


def _fit(name, **hierarchy):
    data = load_dataset(name)
    spec = ModelSpec(default_likelihood(data.kind), "partial", **hierarchy)
    return run_fit(data, spec, chains=2, warmup=150, draws=150, seed=2)


@pytest.fixture(scope="session")
def nested_fit():
    return _fit("simulated_nested", groups=("school", "class"))


@pytest.fixture(scope="session")
def slopes_fit():
    return _fit("simulated_slopes", slopes=("hours",))


@pytest.fixture(scope="session")
def beta_fit():
    return _fit("rat_tumors", population="beta")


@pytest.fixture(scope="session")
def gamma_fit():
    return _fit("simulated_rates", population="gamma")


# ----------------------------------------------------------------------------------- nested


def test_nested_levels_and_titles(nested_fit):
    levels = shrinkage_levels(nested_fit)
    assert [lv.column for lv in levels] == ["school", "class"]
    assert levels[0].title == "each school toward the grand mean"
    assert levels[1].title == "each class toward its school"
    assert levels[1].toward == "theta_school" and levels[1].parent_column == "school"


def test_nested_outer_level_toward_mu(nested_fit):
    data = nested_fit.data
    t = shrinkage_table(nested_fit, level="school")
    assert list(t["group"]) == list(data.levels[0].labels)
    # own estimate: the mean of each school's rows
    means = np.bincount(data.level_idx(0), data.y) / np.bincount(data.level_idx(0))
    np.testing.assert_allclose(t["no_pooling"], means)
    np.testing.assert_allclose(t["complete_pooling"], nested_fit.draws("mu").mean())
    np.testing.assert_allclose(t["partial_mean"], nested_fit.draws("theta_school").mean(axis=0))
    # the school mean's se adds the classes' spread: larger than sigma / sqrt(n)
    sigma = nested_fit.draws("sigma").mean()
    assert (t["se"] > sigma / np.sqrt(t["n"]) + 1e-9).all()
    assert t.attrs["complete_source"] == "fit_mu" and t.attrs["level_column"] == "school"


def test_nested_inner_level_toward_parent(nested_fit):
    data = nested_fit.data
    t = shrinkage_table(nested_fit, level=1)
    assert t.equals(shrinkage_table(nested_fit))  # default: the innermost level
    parent = data.levels[1].parent
    school_means = nested_fit.draws("theta_school").mean(axis=0)
    np.testing.assert_allclose(t["complete_pooling"], school_means[parent])
    assert list(t["parent"]) == [data.levels[0].labels[j] for j in parent]
    assert t.attrs["complete_source"] == "parent"
    means = np.bincount(data.group_idx, data.y) / np.bincount(data.group_idx)
    np.testing.assert_allclose(t["no_pooling"], means)
    tau = nested_fit.draws("tau_class").mean()
    np.testing.assert_allclose(t["weight"], t["precision"] / (t["precision"] + 1 / tau**2))


def test_nested_funnels(nested_fit):
    scales = funnel_scales(nested_fit)
    assert [s.scale for s in scales] == ["tau_school", "tau_class"]
    inner = funnel_table(nested_fit, "tau_class")
    assert inner.attrs["effect"] == "theta_class"
    post = nested_fit.idata.posterior
    n_class = post.sizes["class"]
    theta_school = post["theta_school"].values[..., nested_fit.data.levels[1].parent]
    np.testing.assert_allclose(inner["mu"].to_numpy().reshape(theta_school.shape), theta_school)
    np.testing.assert_allclose(inner["log_tau"].to_numpy().reshape(-1, n_class)[:, 0],
                               np.log(post["tau_class"].values.ravel()))
    std = inner["theta_standardized"].to_numpy()
    np.testing.assert_allclose(std, inner["theta_decentered"].to_numpy(), atol=1e-4)
    assert funnel_table(nested_fit).attrs["scale"] == "tau_school"


# ----------------------------------------------------------------------------------- slopes


def test_slope_table_matches_polyfit(slopes_fit):
    data = slopes_fit.data
    t = slope_table(slopes_fit)
    x = data.X[:, list(data.covariate_names).index("hours")]
    for j in range(data.n_groups):
        rows = data.group_idx == j
        if np.unique(x[rows]).size >= 2:
            b, a = np.polyfit(x[rows], data.y[rows], 1)
            assert t.loc[j, "own_line"]
            np.testing.assert_allclose([t.loc[j, "own_intercept"], t.loc[j, "own_slope"]], [a, b])
    np.testing.assert_allclose(t["intercept"], slopes_fit.draws("theta").mean(axis=0))
    np.testing.assert_allclose(t["slope"], slopes_fit.draws("slope_hours").mean(axis=0))
    np.testing.assert_allclose(t["toward_slope"], slopes_fit.draws("beta").mean())
    assert t.attrs["x"] == "hours" and t.attrs["note"] == ""


def test_slope_table_group_without_line(slopes_fit):
    """A group whose rows share one x value gets no own line, and the note says so."""
    import dataclasses

    data = slopes_fit.data
    X = data.X.copy()
    X[data.group_idx == 0, 0] = 3.0
    fit = dataclasses.replace(slopes_fit, data=dataclasses.replace(data, X=X))
    t = slope_table(fit)
    assert not t.loc[0, "own_line"] and np.isnan(t.loc[0, "own_slope"])
    assert "fewer than 2 distinct values of hours" in t.attrs["note"] and data.labels[0] in t.attrs["note"]


def test_slope_ellipse(slopes_fit):
    e = slope_ellipse_table(slopes_fit)
    mu, beta = slopes_fit.draws("mu").mean(), slopes_fit.draws("beta").mean()
    tau, tau_x = slopes_fit.draws("tau").mean(), slopes_fit.draws("tau_hours").mean()
    rho = slopes_fit.draws("rho_hours").mean()
    assert e.attrs["centre"] == pytest.approx((mu, beta))
    cov = np.array([[tau**2, rho * tau * tau_x], [rho * tau * tau_x, tau_x**2]])
    for p in (0.5, 0.9):
        pts = e[e["prob"] == p][["intercept", "slope"]].to_numpy() - [mu, beta]
        d2 = np.einsum("ij,jk,ik->i", pts, np.linalg.inv(cov), pts)  # Mahalanobis distance²
        np.testing.assert_allclose(d2, -2 * np.log(1 - p), rtol=1e-6)


def test_slope_lines(slopes_fit):
    points, lines = slope_lines_table(slopes_fit)
    assert len(points) == slopes_fit.data.n_rows
    t = slope_table(slopes_fit)
    first = lines[(lines["group"] == t.loc[0, "group"]) & (lines["line"] == "own")]
    np.testing.assert_allclose(first["y"], t.loc[0, "own_intercept"] + t.loc[0, "own_slope"] * first["x"])


def test_slope_funnel(slopes_fit):
    assert [s.scale for s in funnel_scales(slopes_fit)] == ["tau", "tau_hours"]
    f = funnel_table(slopes_fit, "tau_hours")
    np.testing.assert_allclose(f["theta"].to_numpy(), slopes_fit.idata.posterior["slope_hours"].values.ravel())
    np.testing.assert_allclose(f["mu"].to_numpy().reshape(-1, slopes_fit.data.n_groups)[:, 0],
                               slopes_fit.idata.posterior["beta"].values.ravel())


# ---------------------------------------------------------------------------- populations


def test_beta_population_on_probability_scale(beta_fit):
    data = beta_fit.data
    t = shrinkage_table(beta_fit)
    np.testing.assert_allclose(t["no_pooling_response"], data.y / data.trials)
    a, b = beta_fit.draws("alpha"), beta_fit.draws("beta")
    np.testing.assert_allclose(t["complete_pooling_response"], np.mean(a / (a + b)))
    np.testing.assert_allclose(t["partial_mean_response"], beta_fit.draws("p").mean(axis=0))
    w = (data.trials[None, :] / (data.trials[None, :] + (a + b)[:, None])).mean(axis=0)
    np.testing.assert_allclose(t["weight"], w)
    assert np.isfinite(t["no_pooling"]).all()  # 0 tumours: the corrected logit, not -inf
    assert t.attrs["population_mean"] == "alpha / (alpha + beta)"
    levels = shrinkage_levels(beta_fit)
    assert levels[0].title == "each experiment toward the population mean"


def test_gamma_population_on_rate_scale(gamma_fit):
    data = gamma_fit.data
    t = shrinkage_table(gamma_fit)
    np.testing.assert_allclose(t["no_pooling_response"], data.y / data.exposure)
    a, b = gamma_fit.draws("alpha"), gamma_fit.draws("beta")
    np.testing.assert_allclose(t["complete_pooling_response"], np.mean(a / b))
    np.testing.assert_allclose(t["partial_mean_response"], gamma_fit.draws("rate").mean(axis=0))


@pytest.mark.parametrize("name, scale", [("beta_fit", "alpha + beta"), ("gamma_fit", "alpha")])
def test_population_funnel_analogue(request, name, scale):
    fit = request.getfixturevalue(name)
    scales = funnel_scales(fit)
    assert [s.scale for s in scales] == [scale] and scales[0].population
    f = funnel_table(fit)
    assert np.isnan(f["theta_standardized"]).all() and np.isnan(f["theta_decentered"]).all()
    a = fit.idata.posterior["alpha"].values.ravel()
    b = fit.idata.posterior["beta"].values.ravel()
    conc = a + b if scale == "alpha + beta" else a
    np.testing.assert_allclose(f["tau"].to_numpy().reshape(len(conc), -1)[:, 0], conc)


# ---------------------------------------------------------------------------------- pages


@pytest.mark.parametrize("name", ["nested_fit", "slopes_fit", "beta_fit", "gamma_fit"])
@pytest.mark.parametrize("page", [SHRINK, FUNNEL])
def test_pages_render_every_structure(request, name, page):
    fit = request.getfixturevalue(name)
    at = with_fits(new_app(), fit)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    specs = [c.proto.spec for c in charts(at)]
    assert specs
    if page == FUNNEL:  # the funnel and the scale's posterior against its prior
        assert "Funnel:" in specs[0]
        summary = at.dataframe[0].value
        for var in fit.spec.terms[-1].parameter_names():
            assert any(str(i).split("[")[0] == var for i in summary.index), var


def test_nested_pages_switch_level_and_scale(nested_fit):
    at = with_fits(new_app(), nested_fit)
    at.switch_page(SHRINK).run()
    assert "each school toward the grand mean" in charts(at)[0].proto.spec
    at.radio(key="w_shrink_level").set_value(1).run()
    assert not at.exception, at.exception
    assert "each class toward its school" in charts(at)[0].proto.spec
    table = at.dataframe[-1].value
    assert "parent" in table.columns and len(table) == nested_fit.data.levels[1].n_groups
    at.switch_page(FUNNEL).run()
    at.radio(key="w_funnel_scale").set_value(1).run()
    assert not at.exception, at.exception
    assert "against log tau_class" in charts(at)[0].proto.spec
    at.radio(key="w_tau_param").set_value("tau_class").run()
    assert not at.exception, at.exception
    assert "tau_class: posterior against prior" in [d.proto.label for d in at.get("download_button")]


def test_slopes_page_draws_two_dimensional_shrinkage(slopes_fit):
    at = with_fits(new_app(), slopes_fit)
    at.switch_page(SHRINK).run()
    assert not at.exception, at.exception
    specs = [c.proto.spec for c in charts(at)]
    assert "own line pulled toward the population" in specs[0] and "population: 90% of groups" in specs[0]
    assert "fitted line beside its own least-squares line" in specs[1]
    slope_frame = at.dataframe[0].value
    assert {"own_intercept", "own_slope", "intercept", "slope"} <= set(slope_frame.columns)
    at.switch_page(FUNNEL).run()
    at.radio(key="w_funnel_scale").set_value(1).run()
    assert not at.exception, at.exception
    assert "slope_hours" in charts(at)[0].proto.spec and "log tau_hours" in charts(at)[0].proto.spec
