"""The instant method against posteriors we did not write.

- eight schools and radon: the posteriordb / Stan references in ``shared/data/posteriors``, every
  posterior mean within 4 reference MCSE (the instant means are exact grid integrals, their own error
  is below 1e-4 sd: see ``grid_error``);
- nested levels and varying slopes (Gaussian rows): the grid references of :mod:`hiermod.hyper_grid`,
  written separately (closed-form tree and slope passes) and checked against long NUTS runs in
  tests/test_hierarchies.py: exact agreement up to grid error;
- empirical Bayes (tau held fixed): the closed-form normal-normal conditional posterior (BDA3 5.4);
- draws: their means and sds agree with the exact grid moments within Monte Carlo error;
- a Laplace fit (binomial rows with a covariate) against a long NUTS run, with its accuracy stated.
"""

from __future__ import annotations

import math

import arviz as az
import numpy as np
import pandas as pd
import pytest

import hiermod
from hiermod import hyper_grid
from hiermod.datasets import dataset_path, load_dataset
from hiermod.errors import SpecError
from hiermod.instant import instant_draws, instant_posterior, unavailable_reason
from hiermod.priors import resolve_priors
from hiermod.spec import ModelSpec

Z_MAX = 4.0
GRID_AGREEMENT = 1e-3  # posterior sds: the grids differ only in their nodes (both converge far below this)


def _reference(shared_data, name):
    return pd.read_csv(shared_data / "posteriors" / name / "reference_summary.csv").set_index("parameter")


def _z_against(post, ref, mapping: dict[str, str]) -> pd.Series:
    """z = (instant mean - reference mean) / reference MCSE per parameter (``name[k]`` for groups)."""
    out = {}
    for ours, theirs in mapping.items():
        name, _, k = ours.partition("[")
        value = post.mean(name)
        mine = float(value if not k else np.asarray(value)[int(k[:-1])])
        r = ref.loc[theirs]
        out[ours] = (mine - r["mean"]) / (r["sd"] / math.sqrt(r["ess_bulk"]))
    return pd.Series(out)


def test_eight_schools_matches_posteriordb(shared_data, eight_schools, reference_spec):
    post = instant_posterior(eight_schools, reference_spec)
    ref = _reference(shared_data, "eight_schools-eight_schools_noncentered")
    mapping = {"mu": "mu", "tau": "tau"} | {f"theta[{i}]": f"theta[{i + 1}]" for i in range(8)}
    z = _z_against(post, ref, mapping)
    print("\neight schools, instant vs posteriordb (z in reference MCSE):\n", z.round(2).to_string())
    assert (z.abs() < Z_MAX).all(), z
    assert post.exact and post.grid_error() < 1e-4


def test_radon_matches_stan_reference(shared_data):
    radon = load_dataset("radon")
    spec = ModelSpec("normal", priors={"mu": "Normal(0, 10)", "tau": "HalfNormal(1)", "sigma": "HalfNormal(1)"})
    post = instant_posterior(radon, spec)
    ref = _reference(shared_data, "radon_mn-radon_partially_pooled_noncentered")
    raw = pd.read_csv(dataset_path("radon"))
    index_of = dict(zip(raw["county"].astype(str), raw["county_idx"]))
    mapping = {"mu": "mu_alpha", "tau": "sigma_alpha", "sigma": "sigma_y"}
    mapping |= {f"theta[{j}]": f"alpha[{index_of[c]}]" for j, c in enumerate(radon.labels)}
    z = _z_against(post, ref, mapping)
    print("\nradon, instant vs Stan: max |z| over", len(z), "parameters:", round(float(z.abs().max()), 2))
    assert len(z) == 88
    assert (z.abs() < Z_MAX).all(), z[z.abs() >= Z_MAX]
    assert post.exact and post.grid_error() < 1e-3


def _agree_with_grid(post, grid, names: dict[str, str]) -> None:
    for ours, theirs in names.items():
        sd = np.atleast_1d(grid.sd(theirs))
        for f in ("mean", "sd"):
            diff = np.abs(np.atleast_1d(getattr(post, f)(ours)) - np.atleast_1d(getattr(grid, f)(theirs))) / sd
            assert diff.max() < GRID_AGREEMENT, (ours, f, diff.max())


def test_nested_levels_match_the_grid_reference():
    nested = load_dataset("simulated_nested")
    spec = ModelSpec("normal", groups=nested.group_columns)
    post = instant_posterior(nested, spec)
    priors = resolve_priors(nested.for_groups(spec.groups), spec)
    parents = [None] + [level.parent for level in nested.levels[1:]]
    grid = hyper_grid.nested_normal(nested.y, nested.group_idx, parents,
                                    {k: v for k, v in priors.items() if k == "mu" or k == "sigma" or k.startswith("tau_")},
                                    level_names=nested.group_columns)
    names = {"mu": "mu", "sigma": "sigma"}
    for c in nested.group_columns:
        names |= {f"tau_{c}": f"tau_{c}", f"theta_{c}": f"theta_{c}"}
    _agree_with_grid(post, grid, names)
    assert post.label.startswith("exact")


@pytest.mark.parametrize("correlation", ["lkj", "none"])
def test_varying_slopes_match_the_grid_reference(correlation):
    slopes = load_dataset("simulated_slopes")
    spec = ModelSpec("normal", slopes=("hours",), slope_correlation=correlation)
    post = instant_posterior(slopes, spec)
    p = resolve_priors(slopes, spec)
    grid_priors = {"mu": p["mu"], "tau": p["tau"], "tau_x": p["tau_hours"], "sigma": p["sigma"], "beta": p["beta[hours]"]}
    names = {"mu": "mu", "tau": "tau", "tau_hours": "tau_x", "sigma": "sigma", "theta": "theta",
             "slope_hours": "slope", "beta": "beta"}
    if correlation == "lkj":
        grid_priors["rho"] = p["rho"]
        names["rho_hours"] = "rho"
    x = slopes.X[:, list(slopes.covariate_names).index("hours")]
    grid = hyper_grid.varying_slopes(slopes.y, x, slopes.group_idx, slopes.n_groups, grid_priors,
                                     correlated=correlation == "lkj")
    _agree_with_grid(post, grid, names)


def test_fixed_tau_is_the_closed_form_conditional(eight_schools):
    """Empirical Bayes: with tau held at t, mu | t, y ~ N(m, v) (Normal(m0, s0) prior, precision
    1/s0^2 + sum w_j, w_j = 1/(s_j^2 + t^2)) and theta_j | t, y has mean B_j E mu + (1 - B_j) y_j and
    variance (1 - B_j) s_j^2 + B_j^2 v with B_j = s_j^2 / (s_j^2 + t^2)."""
    spec = ModelSpec("normal_known_se")
    t = 4.0
    post = instant_posterior(eight_schools, spec, fixed={"tau": t})
    m0, s0 = resolve_priors(eight_schools, spec)["mu"].args
    y, s = np.asarray(eight_schools.y, float), np.asarray(eight_schools.se, float)
    w = 1 / (s**2 + t**2)
    v = 1 / (1 / s0**2 + w.sum())
    m = v * (m0 / s0**2 + (w * y).sum())
    B = s**2 / (s**2 + t**2)
    assert post.mean("mu") == pytest.approx(m, rel=1e-9)
    assert post.sd("mu") == pytest.approx(math.sqrt(v), rel=1e-9)
    np.testing.assert_allclose(post.mean("theta"), B * m + (1 - B) * y, rtol=1e-9)
    np.testing.assert_allclose(post.sd("theta"), np.sqrt((1 - B) * s**2 + B**2 * v), rtol=1e-9)
    draws = post.draws(10, np.random.default_rng(0))
    assert np.all(draws["tau"] == t)


@pytest.mark.parametrize("dataset, spec", [
    ("simulated_slopes", ModelSpec("normal", slopes=("hours",))),
    ("simulated_nested", ModelSpec("normal", groups=("school", "class"), level_parameterizations=("centered", "non_centered"))),
    ("rat_tumors", ModelSpec("binomial", population="beta")),
    ("eight_schools", ModelSpec("normal_known_se")),
])
def test_draws_agree_with_the_grid_moments(dataset, spec):
    """Independent draws: each mean within 4.5 Monte Carlo sds of the exact grid mean, each sd within
    4.5 of its standard error (n = 20,000; sd's se = sd / sqrt(2 n) for near-normal draws, inflated 1.5x
    for the skewed scale parameters)."""
    data = load_dataset(dataset)
    post = instant_posterior(data, spec)
    n = 20_000
    draws = post.draws(n, np.random.default_rng(1))
    for name in post.names:
        d = np.asarray(draws[name], float)
        mean, sd = np.atleast_1d(post.mean(name)), np.atleast_1d(post.sd(name))
        z_mean = (d.mean(0).ravel() - mean) / (sd / math.sqrt(n))
        z_sd = (d.std(0).ravel() - sd) / (1.5 * sd / math.sqrt(2 * n))
        assert np.abs(z_mean).max() < 4.5, (name, z_mean)
        assert np.abs(z_sd).max() < 4.5, (name, z_sd)


def test_instant_fit_works_with_every_reader(eight_schools):
    fit = hiermod.fit(eight_schools, ModelSpec("normal_known_se"), method="instant", chains=2, draws=500)
    assert fit.method == "instant" and "sample_stats" not in fit.idata.groups()
    assert list(fit.idata.posterior["theta"].coords["group"].values) == list(eight_schools.labels)
    assert fit.idata.log_likelihood["y"].shape == (2, 500, 8)
    loo = az.loo(fit.idata)
    assert np.isfinite(loo.elpd_loo)
    from hiermod.shrinkage import shrinkage_table

    table = shrinkage_table(fit)
    assert len(table) == 8
    assert fit.exact.mean("tau") == pytest.approx(float(fit.draws("tau").mean()), rel=0.1)


def test_instant_fit_names_match_nuts_for_slopes_and_levels():
    slopes = load_dataset("simulated_slopes")
    fit = hiermod.fit(slopes, ModelSpec("normal", slopes=("hours",)), method="instant", chains=1, draws=200)
    for name in ("mu", "tau", "tau_hours", "rho_hours", "sigma", "beta", "theta", "slope_hours",
                 "theta_decentered", "theta_coefficients"):
        assert name in fit.idata.posterior, name
    nested = load_dataset("simulated_nested")
    fit = hiermod.fit(nested, ModelSpec("normal", groups=("school", "class")), method="instant", chains=1, draws=200)
    assert fit.idata.posterior["theta_class"].dims == ("chain", "draw", "class")


def test_models_it_cannot_serve_say_why():
    rows = load_dataset("radon")
    reason = unavailable_reason(rows, ModelSpec("student_t"))
    assert "student_t" in reason and "nuts" in reason
    with pytest.raises(SpecError, match="student_t"):
        hiermod.fit(rows, ModelSpec("student_t"), method="instant")
    odd = ModelSpec("normal", priors={"mu": "StudentT(3, 0, 10)"})
    assert "Normal" in unavailable_reason(rows, odd)


def test_bounded_hyperparameter_priors_are_refused_with_the_way_out():
    schools = load_dataset("eight_schools")
    reason = unavailable_reason(schools, ModelSpec("normal_known_se", priors={"tau": "Uniform(0, 2)"}))
    assert "tau ~ Uniform(0, 2)" in reason and "'exact'" in reason
    assert unavailable_reason(schools, ModelSpec("normal_known_se", priors={"tau": "HalfNormal(5) T(, 3)"}))
    surgical = load_dataset("surgical")
    assert "mu ~" in unavailable_reason(surgical, ModelSpec("binomial", priors={"mu": "Normal(-2.5, 1) T(-2.4, )"}))
    # a bounded prior on a group's own effect (no pooling) is integrated by quadrature: served
    assert unavailable_reason(surgical, ModelSpec("binomial", pooling="none", priors={"theta": "Normal(-2.5, 1) T(-2.4, )"})) is None


def test_laplace_is_close_to_long_nuts_for_binomial_rows_with_a_covariate():
    """Nested Laplace (binomial rows, one covariate, moderate counts): every posterior mean within
    0.2 posterior sds of a long NUTS run (plus 4 NUTS MCSE) — the accuracy the README states for
    count rows with at least ~10 successes and failures per group."""
    rng = np.random.default_rng(7)
    J, n_per = 12, 8
    g = np.repeat(np.arange(J), n_per)
    x = rng.normal(size=J * n_per)
    theta = rng.normal(-0.5, 0.6, J)
    trials = np.full(J * n_per, 20)
    y = rng.binomial(trials, 1 / (1 + np.exp(-(theta[g] + 0.7 * x))))
    df = pd.DataFrame({"group": [f"g{j}" for j in g], "y": y, "n": trials, "x": x})
    data = hiermod.load_data(df, hiermod.ColumnMap(group="group", y="y", kind="binomial", trials="n", covariates=("x",)))
    spec = ModelSpec("binomial", covariates=("x",))
    post = instant_posterior(data, spec)
    assert not post.exact and "Laplace" in post.label
    nuts = hiermod.fit(data, spec, chains=4, draws=2000, seed=3)
    summary = az.summary(nuts.idata, var_names=["mu", "tau", "beta", "theta"], round_to="none")
    for name in ("mu", "tau", "beta", "theta"):
        rows = summary.loc[[i for i in summary.index if i == name or i.startswith(name + "[")]]
        ours = np.atleast_1d(post.mean(name))
        gap = np.abs(rows["mean"].to_numpy() - ours) - Z_MAX * rows["mcse_mean"].to_numpy()
        assert np.all(gap < 0.2 * rows["sd"].to_numpy()), (name, gap / rows["sd"].to_numpy())


def test_one_row_per_group_gaussian_matches_a_brute_force_grid():
    """One row per group: y_j ~ N(mu, sqrt(tau^2 + sigma^2)) marginally, so the posterior of (mu, tau,
    sigma) is a 3-D integral we can do by brute force; tau and sigma trade off along a ridge with a
    flat tail towards sigma -> 0 (where Gaussian-row sums once cancelled into +1e45)."""
    import pandas as pd

    from hiermod.data import ColumnMap, load_data
    from hiermod.priors import log_density, resolve_priors

    y = np.array([28.0, 8, -3, 7, -1, 1, 18, 12])
    data = load_data(pd.DataFrame({"g": list("ABCDEFGH"), "y": y}), ColumnMap("g", "y", "gaussian"))
    spec = ModelSpec("normal")
    priors = resolve_priors(data, spec)
    post = instant_posterior(data, spec)
    mu = np.linspace(-60, 75, 271)[:, None, None]
    tau = np.linspace(1e-3, 60, 400)[None, :, None]
    sigma = np.linspace(1e-3, 80, 400)[None, None, :]
    sd = np.sqrt(tau**2 + sigma**2)
    log_p = (log_density(priors["mu"], mu) + log_density(priors["tau"], tau) + log_density(priors["sigma"], sigma)
             - len(y) * np.log(sd) - ((y[:, None, None, None] - mu) ** 2).sum(0) / (2 * sd**2))
    w = np.exp(log_p - log_p.max())
    w /= w.sum()
    for name, grid in (("mu", mu), ("tau", tau), ("sigma", sigma)):
        mean = float((w * grid).sum())
        sd_ref = math.sqrt(float((w * grid**2).sum()) - mean**2)
        assert abs(post.mean(name) - mean) < 0.01 * sd_ref, (name, post.mean(name), mean)
        assert abs(post.sd(name) - sd_ref) < 0.01 * sd_ref, (name, post.sd(name), sd_ref)
    fit = hiermod.fit(data, spec, method="instant", draws=500)
    assert fit.draws("sigma").shape == (2000,)
