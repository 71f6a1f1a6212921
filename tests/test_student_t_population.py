"""A Student-t population of group effects (population="student_t"):
theta_j ~ StudentT(nu_groups, mu, tau), nu_groups ~ Gamma(2, 0.1) by default.

References not sampled: on eight schools (known se) a brute-force posterior on a 3-D grid over
(mu, log tau, log nu_groups), each group's likelihood integrated over theta_j for every grid point
(checked against scipy's quad); with nu_groups pinned near 1,000, the normal population's exact
posterior (hiermod.exact). NUTS agrees with both within 4 Monte Carlo standard errors."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

import hiermod
from hiermod.data import load_data
from hiermod.errors import PriorError, SpecError
from hiermod.spec import ModelSpec

ROOT = Path(__file__).resolve().parent.parent
EIGHT_SCHOOLS = ROOT / "sample_data" / "eight_schools.csv"
Z_MAX = 4.0
SPEC = ModelSpec("normal_known_se", population="student_t")


@pytest.fixture(scope="module")
def schools():
    return load_data(EIGHT_SCHOOLS)


@pytest.fixture(scope="module")
def nuts_fit(schools):
    return hiermod.fit(schools, SPEC, chains=4, warmup=500, draws=500, seed=1)


# ------------------------------------------------------------------- the grid reference


def _mixture_nodes(nu: float, n: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """StudentT(nu, m, tau) = Normal(m, tau / sqrt(w)) mixed over w ~ Gamma(nu/2, nu/2). Nodes w_k and
    weights c_k with E[g(w)] ~ sum_k c_k g(w_k): the trapezoid rule in t = log w (the density of
    log w is smooth and decays at both ends, so the rule converges geometrically) over the range
    where w has mass (its 1e-14 and 1 - 1e-14 quantiles, at most down to e^-70: g(w) below ~sqrt(w))."""
    a = nu / 2
    lo = max(math.log(max(stats.gamma.ppf(1e-14, a, scale=1 / a), 1e-300)), -70.0)
    t = np.linspace(lo, math.log(stats.gamma.isf(1e-14, a, scale=1 / a)), n)
    c = np.exp(a * math.log(a) - special.gammaln(a) + a * t - a * np.exp(t)) * (t[1] - t[0])
    c[[0, -1]] *= 0.5
    return np.exp(t), c


def _group_integrals(y, se, mu, tau, nu, n: int = 121) -> tuple[np.ndarray, np.ndarray]:
    """For each group j and each (mu, tau) (broadcast arrays; nu a number):
    L_j = int Normal(y_j | theta, se_j) StudentT(theta | nu, mu, tau) dtheta and E[theta_j L_j].
    Given w the theta integral is conjugate: L_j = E_w[Normal(y_j | mu, sqrt(se_j^2 + tau^2 / w))]
    and E[theta | w, y_j] = (y_j tau^2 + mu se_j^2 w) / (se_j^2 w + tau^2)."""
    w, c = _mixture_nodes(nu, n)
    shape = (-1,) + (1,) * np.ndim(mu * tau) + (1,)
    w, c = w.reshape(shape), c.reshape(shape)
    mu, tau = np.asarray(mu)[None, ..., None], np.asarray(tau)[None, ..., None]
    v = se**2 * w + tau**2
    g = np.sqrt(w / (2 * np.pi * v)) * np.exp(-0.5 * (y - mu) ** 2 * w / v)
    theta = (y * tau**2 + mu * se**2 * w) / v
    return (c * g).sum(0), (c * g * theta).sum(0)


def grid_posterior(data, priors, shape=(41, 41, 31)) -> dict:
    """Posterior means of mu, tau, nu_groups and every theta_j of the Student-t population model
    with known se, by brute force: the unnormalised posterior of (mu, log tau, log nu) on a grid
    (mu over the estimates +- 3 max se, tau from 1e-4 to its prior's 1 - 1e-10 quantile)
    (prior densities times the Jacobians tau and nu times prod_j L_j), and E[theta_j | mu, tau, nu, y]
    = E[theta_j L_j] / L_j averaged with those weights. ``edge``: the largest posterior mass on
    any face of the grid (it must be negligible)."""
    from hiermod.priors import quantile

    y, se = np.asarray(data.y, float), np.asarray(data.se, float)
    mu = np.linspace(y.min() - 3 * se.max(), y.max() + 3 * se.max(), shape[0])
    log_tau = np.linspace(math.log(1e-4), math.log(float(quantile(priors["tau"], 1 - 1e-10))), shape[1])
    log_nu = np.linspace(math.log(0.02), math.log(250.0), shape[2])  # Gamma(2, 0.1): P(nu > 250) < 1e-9
    tau, nu = np.exp(log_tau), np.exp(log_nu)
    log_post = np.empty(shape)
    theta_given = np.empty(shape + (y.size,))
    for k, v in enumerate(nu):
        like, first = _group_integrals(y, se, mu[:, None], tau[None, :], v)
        log_post[..., k] = np.log(like).sum(-1)
        theta_given[..., k, :] = first / like
    from hiermod.priors import log_density as prior
    log_post += (prior(priors["mu"], mu)[:, None, None] + (prior(priors["tau"], tau) + log_tau)[None, :, None]
                 + (prior(priors["nu_groups"], nu) + log_nu)[None, None, :])
    p = np.exp(log_post - log_post.max())
    p /= p.sum()
    M, T, N = np.meshgrid(mu, tau, nu, indexing="ij")
    faces = [p[0], p[-1], p[:, 0], p[:, -1], p[..., 0], p[..., -1]]
    return {"mu": float((p * M).sum()), "tau": float((p * T).sum()), "nu_groups": float((p * N).sum()),
            "theta": (p[..., None] * theta_given).sum((0, 1, 2)), "edge": max(float(f.sum()) for f in faces)}


def test_the_reference_integral_is_scipy_quad_over_theta(schools):
    """The reference's per-group integrals (through the scale mixture) against scipy's adaptive
    quad over theta itself, across the grid's range (tiny tau, tiny and large nu)."""
    y, se = np.asarray(schools.y, float), np.asarray(schools.se, float)
    rng = np.random.default_rng(7)
    for _ in range(12):
        mu = rng.uniform(-10, 25)
        tau, nu = np.exp(rng.uniform(np.log([0.01, 0.03]), np.log([60, 250])))
        like, first = _group_integrals(y, se, np.array(mu), np.array(tau), nu)
        for j in (0, 2, 4):
            density = lambda t: stats.norm.pdf(y[j], t, se[j]) * stats.t.pdf(t, nu, mu, tau)  # noqa: E731
            lo, hi = y[j] - 12 * se[j], y[j] + 12 * se[j]
            q = integrate.quad(density, lo, hi, points=[mu], limit=500, epsabs=0, epsrel=1e-11)[0]
            q1 = integrate.quad(lambda t: (t - mu) * density(t), lo, hi, points=[mu], limit=500, epsabs=1e-14,
                                epsrel=1e-11)[0]
            assert like[j] == pytest.approx(q, rel=1e-6), (mu, tau, nu, j)
            assert first[j] / like[j] - mu == pytest.approx(q1 / q, rel=1e-5, abs=1e-6), (mu, tau, nu, j)


def test_nuts_agrees_with_the_grid_posterior(schools, nuts_fit):
    """(a) z = (NUTS mean - grid mean) / MCSE below 4 for mu, tau, nu_groups and every theta_j."""
    ref = grid_posterior(schools, nuts_fit.priors)
    assert ref["edge"] < 1e-4
    assert str(nuts_fit.priors["nu_groups"]) == "Gamma(2, 0.1)"
    summary = hiermod.summary_table(nuts_fit)
    expected = {"mu": ref["mu"], "tau": ref["tau"], "nu_groups": ref["nu_groups"]}
    expected |= {f"theta[{label}]": m for label, m in zip(schools.labels, ref["theta"])}
    z = {name: (summary.at[name, "mean"] - value) / summary.at[name, "mcse_mean"] for name, value in expected.items()}
    assert max(abs(v) for v in z.values()) < Z_MAX, z
    assert int(nuts_fit.idata.sample_stats["diverging"].sum()) <= 0.01 * 2000


def _with_outlier(effect: float = 80.0):
    frame = pd.read_csv(EIGHT_SCHOOLS)
    frame.loc[0, "effect"] = effect  # school A: 28 -> 80 (se 15)
    return load_data(frame)


def test_nuts_agrees_with_the_grid_and_not_with_a_normal_population_when_a_group_stands_out():
    """(a) where the population's tails matter: school A at 80. NUTS agrees with the Student-t grid
    (|z| < 4) and not with the normal population's exact posterior (some |z| > 4), so the
    comparison above could tell the two apart."""
    from hiermod.exact import exact_posterior

    data = _with_outlier()
    fit = hiermod.fit(data, SPEC, chains=4, warmup=500, draws=500, seed=4)
    ref = grid_posterior(data, fit.priors, (51, 51, 31))
    assert ref["edge"] < 1e-4
    summary = hiermod.summary_table(fit)
    expected = {"mu": ref["mu"], "tau": ref["tau"], "nu_groups": ref["nu_groups"]}
    expected |= {f"theta[{label}]": m for label, m in zip(data.labels, ref["theta"])}
    z = {name: (summary.at[name, "mean"] - value) / summary.at[name, "mcse_mean"] for name, value in expected.items()}
    assert max(abs(v) for v in z.values()) < Z_MAX, z
    normal = exact_posterior(data, ModelSpec("normal_known_se")).summary()["mean"]
    z_normal = {name: (summary.at[name, "mean"] - normal[name]) / summary.at[name, "mcse_mean"] for name in normal.index}
    assert max(abs(v) for v in z_normal.values()) > Z_MAX, z_normal


def test_a_finer_grid_gives_the_same_reference(schools, nuts_fit):
    """The reference's own error is far below the MCSE it is compared with."""
    coarse = grid_posterior(schools, nuts_fit.priors)
    fine = grid_posterior(schools, nuts_fit.priors, (61, 61, 51))
    mcse = hiermod.summary_table(nuts_fit)["mcse_mean"]
    for name in ("mu", "tau", "nu_groups"):
        assert abs(coarse[name] - fine[name]) < 0.2 * mcse[name], name
    assert np.all(np.abs(coarse["theta"] - fine["theta"]) < 0.2 * mcse[[f"theta[{g}]" for g in schools.labels]].to_numpy())


def test_nearly_infinite_nu_is_the_normal_population(schools):
    """(b) nu_groups pinned near 1,000 (Gamma(10000, 10): mean 1000, sd 10): the posterior is the
    normal population's exact posterior (BDA3 5.4) within 4 MCSE."""
    from hiermod.exact import exact_posterior

    spec = SPEC.with_priors(nu_groups="Gamma(10000, 10)")
    fit = hiermod.fit(schools, spec, chains=4, warmup=400, draws=400, seed=2)
    exact = exact_posterior(schools, ModelSpec("normal_known_se")).summary()
    summary = hiermod.summary_table(fit)
    assert summary.at["nu_groups", "mean"] == pytest.approx(1000, rel=0.02)
    z = {name: (summary.at[name, "mean"] - exact.at[name, "mean"]) / summary.at[name, "mcse_mean"]
         for name in exact.index}
    assert len(z) == 10 and max(abs(v) for v in z.values()) < Z_MAX, z


# ------------------------------------------------------------------------- the model spec


@pytest.mark.parametrize("changes, words", [
    (dict(pooling="none"), "pooling='partial'"),
    (dict(pooling="complete"), "pooling='partial'"),
    (dict(groups=("school", "class")), "one grouping column"),
    (dict(slopes=("hours",)), "common slope"),
])
def test_where_it_does_not_apply_it_is_refused(changes, words):
    """(c) no / complete pooling, nested levels, varying slopes: a SpecError naming the setting."""
    with pytest.raises(SpecError) as err:
        ModelSpec("normal", population="student_t", **changes)
    assert "population='student_t'" in str(err.value) and words in str(err.value)


def test_its_prior_names_and_supports():
    spec = ModelSpec("student_t", population="student_t", covariates=("x",))
    assert spec.prior_names() == ("mu", "tau", "nu_groups", "sigma", "nu", "beta[x]")
    assert set(spec.scale_names()) == {"tau", "nu_groups", "sigma", "nu"}
    assert spec.row_term.robust and not spec.row_term.conjugate
    with pytest.raises(PriorError, match="nu_groups"):
        SPEC.with_priors(nu_groups="Normal(0, 1)")
    with pytest.raises(SpecError, match="no parameter 'nu_groups'"):
        ModelSpec("normal_known_se", priors={"nu_groups": "Gamma(2, 0.1)"})
    assert ModelSpec.from_dict(SPEC.to_dict()) == SPEC
    assert "Student-t population" in SPEC.describe()


def test_the_default_prior_is_gamma_2_01(schools):
    from hiermod.priors import resolve_priors

    assert str(resolve_priors(schools, SPEC)["nu_groups"]) == "Gamma(2, 0.1)"


def test_changing_the_pooling_drops_the_population():
    """The three pooling modes are compared by spec.replace(pooling=...): without partial pooling
    there is no population, so it becomes normal (asking for both is refused)."""
    assert SPEC.replace(pooling="complete").population.value == "normal"
    assert SPEC.replace(pooling="partial").population.value == "student_t"
    with pytest.raises(SpecError):
        SPEC.replace(pooling="none", population="student_t")


def test_exact_refuses_it_and_instant_serves_only_summary_data(schools):
    from hiermod.datasets import load_dataset
    from hiermod.methods import METHODS

    reason = METHODS["exact"].unavailable_reason(schools, SPEC)
    assert reason and "population='student_t'" in reason and "nuts" in reason
    with pytest.raises(SpecError, match="Student-t population"):
        hiermod.fit(schools, SPEC, method="exact", chains=1, draws=50)
    assert METHODS["instant"].unavailable_reason(schools, SPEC) is None
    assert METHODS["nuts"].unavailable_reason(schools, SPEC) is None
    rats = load_dataset("rat_tumors")
    reason = METHODS["instant"].unavailable_reason(rats, ModelSpec("binomial", population="student_t"))
    assert reason and "population='student_t'" in reason and "nuts" in reason


def test_instant_serves_a_student_t_population_up_to_its_group_limit():
    from hiermod.data import ColumnMap, load_data
    from hiermod.instant.student_t_known_se import MAX_GROUPS
    from hiermod.methods import METHODS

    def summary(n):
        frame = pd.DataFrame({"g": [f"g{i}" for i in range(n)], "y": np.linspace(-5, 5, n), "se": 3.0})
        return load_data(frame, ColumnMap("g", "y", "summary", se="se"))

    assert METHODS["instant"].unavailable_reason(summary(MAX_GROUPS), SPEC) is None
    reason = METHODS["instant"].unavailable_reason(summary(MAX_GROUPS + 1), SPEC)
    assert reason and f"at most {MAX_GROUPS} groups" in reason and "nuts" in reason


# -------------------------------------------------------------------- the instant engine


@pytest.mark.parametrize("name, prior", [("mu", "Normal(0, 20) T(-50, 50)"), ("nu_groups", "Gamma(2, 0.1) T(1, )")])
def test_instant_refuses_bounded_grid_priors(schools, name, prior):
    """mu and nu_groups are on the engine's grid, which needs their whole support."""
    from hiermod.methods import METHODS

    reason = METHODS["instant"].unavailable_reason(schools, SPEC.with_priors(**{name: prior}))
    assert reason and f"{name} ~ {prior}" in reason and "'nuts'" in reason and "exact" not in reason


@pytest.fixture(scope="module")
def instant(schools):
    from hiermod.instant import instant_posterior

    return instant_posterior(schools, SPEC)


def test_instant_log_density_is_scipy_quad_over_theta(schools):
    """The engine's log p(mu, log tau, log nu, y) at points across its range (tiny tau, tiny and
    large nu) against the priors plus scipy's quad of every group's integral over theta."""
    from hiermod.instant import engine_parts
    from hiermod.priors import log_density

    _, priors, parts = engine_parts(schools, SPEC)
    assert parts.problem.grid_names == ("mu", "tau", "nu_groups") and parts.exact
    y, se = np.asarray(schools.y, float), np.asarray(schools.se, float)
    rng = np.random.default_rng(11)
    u = np.column_stack([rng.uniform(-10, 25, 10), rng.uniform(np.log(0.005), np.log(60), 10),
                         rng.uniform(np.log(0.03), np.log(250), 10)])
    ours = parts.problem.log_density(u)
    for k, (mu, log_tau, log_nu) in enumerate(u):
        tau, nu = math.exp(log_tau), math.exp(log_nu)
        total = float(log_density(priors["mu"], mu) + log_density(priors["tau"], tau) + log_tau
                      + log_density(priors["nu_groups"], nu) + log_nu)
        for j in range(y.size):
            density = lambda t: stats.norm.pdf(y[j], t, se[j]) * stats.t.pdf(t, nu, mu, tau)  # noqa: E731
            breaks = [mu - 30 * tau, mu - tau, mu, mu + tau, mu + 30 * tau]
            total += math.log(integrate.quad(density, y[j] - 12 * se[j], y[j] + 12 * se[j], points=breaks,
                                             limit=500, epsabs=0, epsrel=1e-11)[0])
        assert ours[k] == pytest.approx(total, abs=1e-6), (mu, tau, nu)


def test_instant_means_are_the_brute_force_grid(schools, instant):
    """The engine (adaptive grid, its own nodes) against the uniform brute-force grid above:
    every mean within 1e-3 posterior sds."""
    from hiermod.priors import resolve_priors

    ref = grid_posterior(schools, resolve_priors(schools, SPEC), (61, 61, 51))
    summary = instant.summary()
    for name in ("mu", "tau", "nu_groups"):
        assert abs(summary.at[name, "mean"] - ref[name]) < 1e-3 * summary.at[name, "sd"], name
    theta = summary.loc[[f"theta[{j}]" for j in range(8)]]
    assert np.all(np.abs(theta["mean"].to_numpy() - ref["theta"]) < 1e-3 * theta["sd"].to_numpy())


def test_instant_grid_step_is_converged(schools, instant):
    """The engine's step and tail against a finer step (0.3) and a longer tail (20): below 1e-3 sds."""
    import dataclasses

    from hiermod.instant import engine_parts
    from hiermod.instant.posterior import integrate_engine

    finer = integrate_engine(dataclasses.replace(engine_parts(schools, SPEC)[2], step=0.3, tail=20.0)).summary()
    coarse = instant.summary()
    assert (np.abs(finer["mean"] - coarse["mean"]) < 1e-3 * finer["sd"]).all()
    assert (np.abs(finer["sd"] / coarse["sd"] - 1) < 1e-3).all()


def test_instant_draws_follow_the_moments(schools, instant):
    """Independent draws (hyperparameters from the grid, w_j then theta_j given them): their
    means within 4 Monte Carlo errors of the exact moments, sds within 4% for n = 20,000."""
    n = 20_000
    draws = instant.draws(n, np.random.default_rng(5))
    summary = instant.summary()
    for name, values in [("mu", draws["mu"]), ("tau", draws["tau"]), ("nu_groups", draws["nu_groups"])] + \
            [(f"theta[{j}]", draws["theta"][:, j]) for j in range(8)]:
        mean, sd = summary.at[name, "mean"], summary.at[name, "sd"]
        assert abs(values.mean() - mean) < Z_MAX * sd / math.sqrt(n), name
        assert abs(values.std() / sd - 1) < 0.04, name


def test_instant_fit_and_nuts_agree(schools, nuts_fit):
    fit = hiermod.fit(schools, SPEC, method="instant", chains=4, draws=1000)
    assert {"mu", "tau", "nu_groups", "theta", "theta_decentered"} <= set(fit.idata.posterior.data_vars)
    exact_means = fit.exact.summary()["mean"]
    summary = hiermod.summary_table(nuts_fit)
    z = {name: (summary.at[name, "mean"] - exact_means[f"theta[{schools.labels.index(name[6:-1])}]"
                                                      if name.startswith("theta[") else name])
         / summary.at[name, "mcse_mean"] for name in summary.index}
    assert max(abs(v) for v in z.values()) < Z_MAX, z


def test_the_cli_offers_it():
    from hiermod.cli import build_parser

    args = build_parser().parse_args(["fit", str(EIGHT_SCHOOLS), "--population", "student_t"])
    assert args.population == "student_t"


# ------------------------------------------------------------------------------- readers


def test_the_model_written_out_says_student_t(schools):
    """(e) both parameterizations, text and LaTeX."""
    from hiermod.model_math import model_latex, model_text
    from hiermod.priors import resolve_priors

    priors = resolve_priors(schools, SPEC)
    text = model_text(SPEC, priors, schools)
    assert "z[j] ~ StudentT(nu_groups, 0, 1)" in text and "nu_groups ~ Gamma(2, 0.1)" in text
    centered = SPEC.replace(parameterization="centered")
    assert "theta[j] ~ StudentT(nu_groups, mu, tau)" in model_text(centered, priors, schools)
    assert r"\mathrm{StudentT}(\nu_{\mathrm{groups}}, \mu, \tau)" in model_latex(centered, priors, schools)


def _draws_fit(data, spec, priors, n=4000, seed=0):
    """A Fit whose 'posterior' is a set of prior draws (any consistent draws will do for readers
    that only transform draws: new groups, variance)."""
    from hiermod.predictive import prior_draws
    from hiermod.result import Fit, inference_data_from_draws
    from hiermod.settings import SamplerSettings

    settings = SamplerSettings(chains=1, warmup=50, draws=n, seed=seed)
    flat = prior_draws(data, spec, priors, n, np.random.default_rng(seed))
    flat.pop("y")
    return Fit(inference_data_from_draws(flat, data, spec, priors, settings), data, spec, priors, "nuts", settings)


def _pinned(schools, nu_prior):
    from hiermod.priors import resolve_priors

    spec = SPEC.with_priors(nu_groups=nu_prior)
    return spec, resolve_priors(schools, spec)


def test_prior_and_new_group_draws_have_student_t_tails(schools):
    """nu_groups pinned at 3: standardized effects beyond 3 occur with the t's probability
    2 P(T_3 > 3) = 5.8% (a normal population: 0.27%), in the prior draws and for a new group."""
    from hiermod.new_group import new_group_draws

    spec, priors = _pinned(schools, "Gamma(90000, 30000)")
    fit = _draws_fit(schools, spec, priors)
    z_prior = (fit.draws("theta") - fit.draws("mu")[:, None]) / fit.draws("tau")[:, None]
    new = new_group_draws(fit, seed=3)
    z_new = (new["theta_new"] - fit.draws("mu")) / fit.draws("tau")
    expected = 2 * stats.t.sf(3, 3)
    for z in (z_prior.ravel(), z_new):
        share = float(np.mean(np.abs(z) > 3))
        assert abs(share - expected) < 4 * math.sqrt(expected * (1 - expected) / z.size), share
    assert np.allclose(fit.draws("theta_decentered"), z_prior)


def test_variance_is_the_t_variance_or_undefined(schools):
    """Between = tau^2 nu / (nu - 2) per draw; for nu <= 2 it is infinite, the share is 1 and
    the note says in how many draws."""
    from hiermod.variance import variance_decomposition, variance_draws

    spec, priors = _pinned(schools, "Gamma(400, 100)")  # nu around 4, sd 0.2
    fit = _draws_fit(schools, spec, priors, n=1000)
    parts, notes = variance_draws(fit)
    tau, nu = fit.draws("tau"), fit.draws("nu_groups")
    assert np.allclose(parts["between"], tau**2 * nu / (nu - 2))
    assert "nu_groups/(nu_groups-2)" in notes["between"]

    spec, priors = _pinned(schools, "Gamma(40, 20)")  # nu around 2: some draws at or below 2
    fit = _draws_fit(schools, spec, priors, n=1000)
    parts, notes = variance_draws(fit)
    low = fit.draws("nu_groups") <= 2
    assert 0.2 < low.mean() < 0.8 and np.all(np.isinf(parts["between"][low]))
    assert f"{100 * low.mean():.0f}% of draws" in notes["between"]
    table = variance_decomposition(fit)
    with np.errstate(invalid="ignore"):
        shares = parts["between"] / (parts["between"] + parts["within"])
    assert table.at["share_between", "mean"] == pytest.approx(np.mean(np.where(low, 1.0, shares)))


def test_the_prior_set_varies_tau_not_nu_groups(schools, instant):
    from hiermod.sensitivity import prior_set, varied_hyperparameters

    names = varied_hyperparameters(SPEC, instant.hyper_names)
    assert names == ("tau",)
    assert all(set(choice.priors) == {"tau"} for choice in prior_set(schools, SPEC, names))


def test_structure_alternatives_offer_the_normal_population():
    from hiermod.model_comparison import structure_alternatives

    alt = structure_alternatives(SPEC)
    assert {k: s.population.value for k, s in alt.items()} == {"normal population": "normal",
                                                               "Student-t population": "student_t"}


# ------------------------------------------------------------------------ exported scripts


def _run(script: str, tmp_path: Path, name: str) -> pd.DataFrame:
    path = tmp_path / name
    path.write_text(script, encoding="utf-8")
    out = tmp_path / (name + ".csv")
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.setdefault("JAX_PLATFORMS", "cpu")
    proc = subprocess.run([sys.executable, str(path), "--quick", "--summary-csv", str(out)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return pd.read_csv(out, index_col=0)


@pytest.mark.parametrize("flavour", ["numpyro", "hiermod"])
def test_exported_scripts_run_and_agree(nuts_fit, flavour, tmp_path):
    """(d) both scripts refit the Student-t population and agree with the fit within 4 combined MCSE."""
    from hiermod.export import reproduction_script

    script = reproduction_script(nuts_fit, str(EIGHT_SCHOOLS), flavour=flavour)
    if flavour == "numpyro":
        assert "dist.StudentT(nu_groups, 0.0, 1.0)" in script and "dist.Gamma(2.0, 0.1)" in script
    else:
        assert "population='student_t'" in script
    table = _run(script, tmp_path, f"refit_{flavour}.py")
    ours = hiermod.summary_table(nuts_fit)
    for name in ["mu", "tau", "nu_groups"] + [f"theta[{g}]" for g in nuts_fit.labels]:
        bound = Z_MAX * math.hypot(table.at[name, "mcse_mean"], ours.at[name, "mcse_mean"])
        assert abs(table.at[name, "mean"] - ours.at[name, "mean"]) < bound, name


def test_the_centered_script_has_the_centered_site(schools):
    from hiermod.export import reproduction_script
    from hiermod.priors import resolve_priors
    from hiermod.result import Fit
    from hiermod.settings import SamplerSettings

    spec = SPEC.replace(parameterization="centered")
    stand_in = Fit(None, schools, spec, resolve_priors(schools, spec), "nuts", SamplerSettings(2, 100, 100))
    script = reproduction_script(stand_in, "data.csv", flavour="numpyro")
    assert "numpyro.sample('theta', dist.StudentT(nu_groups, m, tau))" in script
    assert "theta_decentered" not in script
