"""Prior sensitivity: the prior set (instant posteriors under other priors) and power-scaling.

References we did not write: p(tau | y) by brute-force quadrature of the multivariate normal marginal
likelihood y ~ N(m0 1, diag(se^2 + tau^2) + s0^2 11'); the power-scaled posterior computed by refitting
with the power-scaled priors (Normal(m, s)^alpha = Normal(m, s / sqrt(alpha)), HalfNormal(s)^alpha =
HalfNormal(s / sqrt(alpha))) and its cumulative Jensen-Shannon distance taken from those refits;
and a long NUTS run. Monte Carlo errors are estimated, not assumed.
"""

from __future__ import annotations

import dataclasses

import arviz as az
import numpy as np
import pytest
import xarray as xr
from synthetic import simulate

import hiermod
from hiermod.exact import exact_posterior
from hiermod.errors import SpecError
from hiermod.instant import instant_posterior, unavailable_reason
from hiermod.plots.sensitivity import (coverage_plot, dodged_intervals_plot, power_scaling_plot,
                                       prior_set_density_plot, prior_set_intervals_plot)
from hiermod.power_scaling import (CONFLICT, DELTA, PRIOR_THRESHOLD, STRONG_PRIOR, PowerScaling,
                                   log_prior_draws, power_scaling)
from hiermod.priors import log_density, resolve_priors
from hiermod.sensitivity import prior_set, prior_set_posteriors, reference_scale
from hiermod.spec import ModelSpec


@pytest.fixture(scope="module")
def schools(eight_schools):
    return eight_schools, ModelSpec("normal_known_se", "partial")


# ----------------------------------------------------------------------------- the prior set


def test_reference_scale_is_the_half_normal_scale():
    assert reference_scale("HalfNormal(11)") == pytest.approx(11.0)
    assert reference_scale("Exponential(0.1)") == pytest.approx(11.5, rel=1e-3)  # -log(1 - 0.6827) / 0.1


def test_prior_set_of_eight_schools(schools):
    data, spec = schools  # default tau ~ HalfNormal(11): s = 11
    entries = prior_set(data, spec, ("tau",))
    labels = [e.label for e in entries]
    texts = [str(e.priors["tau"]) for e in entries]
    assert labels[0] == "your prior: HalfNormal(1 s)" and entries[0].current  # merged, not repeated
    assert texts == ["HalfNormal(11)", "HalfNormal(5.5)", "HalfNormal(22)", "HalfNormal(55)", "HalfCauchy(11)"]
    own = prior_set(data, spec.with_priors(tau="HalfCauchy(5)"), ("tau",))
    assert [str(e.priors["tau"]) for e in own] == ["HalfCauchy(5)", "HalfNormal(5.5)", "HalfNormal(11)",
                                                  "HalfNormal(22)", "HalfNormal(55)", "HalfCauchy(11)"]
    assert own[0].label == "your prior"


def _tau_reference(data, prior_tau, prior_mu):
    """p(tau | y) by quadrature of the multivariate normal marginal likelihood, and E[theta | y]."""
    y, se = np.asarray(data.y), np.asarray(data.se)
    m0, s0 = prior_mu.args
    J = y.size
    tau = np.concatenate([[0.0], np.geomspace(1e-4, 2000, 30000)])
    C_theta = tau[:, None, None] ** 2 * np.eye(J) + s0**2 * np.ones((J, J))
    C_y = C_theta + np.diag(se**2)
    r = y - m0
    sol = np.linalg.solve(C_y, np.broadcast_to(r, (tau.size, J))[..., None])[..., 0]
    loglik = -0.5 * (np.linalg.slogdet(C_y)[1] + (r * sol).sum(1))
    logp = loglik + log_density(prior_tau, tau)
    p = np.exp(logp - logp.max())
    p /= np.trapezoid(p, tau)
    e_theta = m0 + np.einsum("mij,mj->mi", C_theta, sol)  # E[theta | tau, y], Gaussian conditioning
    v_theta = np.diagonal(C_theta - C_theta @ np.linalg.solve(C_y, C_theta), axis1=1, axis2=2)
    return tau, p, e_theta, v_theta


def _mixture_quantile(q, tau, p, m, v):
    """The q quantile of the normal mixture int N(m(tau), v(tau)) p(tau) dtau, and its density there."""
    from scipy.optimize import brentq
    from scipy.stats import norm

    sd = np.sqrt(v)
    x = brentq(lambda x: np.trapezoid(norm.cdf((x - m) / sd) * p, tau) - q, m.min() - 10 * sd.max(),
               m.max() + 10 * sd.max(), xtol=1e-10)
    return x, np.trapezoid(norm.pdf((x - m) / sd) / sd * p, tau)


def test_prior_set_matches_quadrature_of_the_marginal_likelihood(schools):
    data, spec = schools
    result = prior_set_posteriors(data, spec)
    priors = resolve_priors(data, spec)
    assert len(result.choices) == 5 and set(result.density["prior"]) == {c.label for c in result.choices}
    for choice in result.choices:
        tau, p, cond_mean, cond_var = _tau_reference(data, choice.priors["tau"], priors["mu"])
        e_theta = np.trapezoid(p[:, None] * cond_mean, tau, axis=0)
        ref_mean = np.trapezoid(tau * p, tau)
        ref_sd = np.sqrt(np.trapezoid((tau - ref_mean) ** 2 * p, tau))
        row = result.hyper[result.hyper["prior"] == choice.label].iloc[0]
        assert row["mean"] == pytest.approx(ref_mean, rel=1e-3)
        curve = result.density[result.density["prior"] == choice.label]
        x, d = curve["value"].to_numpy(), curve["density"].to_numpy()
        assert np.trapezoid(d, x) == pytest.approx(1.0, abs=0.01)
        assert abs(np.trapezoid(x * d, x) - ref_mean) < 0.005 * ref_sd  # the plotted curve
        ref_curve = np.interp(x, tau, p)
        assert np.max(np.abs(d - ref_curve)) < 0.005 * ref_curve.max()
        groups = result.groups[result.groups["prior"] == choice.label]
        assert np.all(np.abs(groups["mean"].to_numpy() - e_theta) < 0.005 * groups["sd"].to_numpy()), choice.label
        for j in range(data.n_groups):  # the intervals: quantiles of 4000 independent draws
            for q, column in ((0.05, "lower"), (0.95, "upper")):
                x, f = _mixture_quantile(q, tau, p, cond_mean[:, j], cond_var[:, j])
                assert abs(groups[column].iloc[j] - x) < 4 * np.sqrt(q * (1 - q) / 4000) / f
    current = result.summary[result.summary["current"]].iloc[0]
    assert current["largest_shift"] == 0.0
    assert (result.summary["largest_shift"] >= 0).all() and "tau" in result.verdict()


def test_prior_set_needs_partial_pooling_and_the_instant_method(schools, radon):
    data, spec = schools
    with pytest.raises(SpecError, match="Partial pooling"):
        prior_set_posteriors(data, spec.replace(pooling="complete"))
    student = ModelSpec("student_t", "partial")
    reason = unavailable_reason(radon, student)
    assert reason  # no instant engine serves Student-t rows: the reason is passed on as it is
    with pytest.raises(SpecError) as err:
        prior_set_posteriors(radon, student)
    assert str(err.value) == reason


# ----------------------------------------------------------------------------- power-scaling


def _cjs(P, Q, x):
    """Cumulative Jensen-Shannon distance of two CDFs on the grid x (Kallioinen et al. 2023, eq. 8)."""
    dx, P, Q = np.diff(x), P[:-1], Q[:-1]

    def lg(a):
        return np.log2(a, out=np.zeros_like(a), where=a > 0)

    M = lg(0.5 * (P + Q))
    ip, iq = P @ dx, Q @ dx
    a = np.sum(dx * P * (lg(P) - M)) + 0.5 / np.log(2) * (iq - ip)
    b = np.sum(dx * Q * (lg(Q) - M)) + 0.5 / np.log(2) * (ip - iq)
    return np.sqrt((max(a, 0) + max(b, 0)) / (ip + iq))


def test_power_scaling_matches_refits_with_power_scaled_priors(eight_schools):
    """Power-scaling the prior Normal(0, 5) x HalfNormal(5) by alpha is the prior Normal(0, 5/sqrt(alpha))
    x HalfNormal(5/sqrt(alpha)): refit with it, and take the CJS distance of the refits' CDFs."""
    spec = ModelSpec("normal_known_se", "partial", priors={"mu": "Normal(0, 5)", "tau": "HalfNormal(5)"})
    estimates, ranges = [], []
    for seed in range(5):
        fit = hiermod.fit(eight_schools, spec, method="instant", seed=seed)
        estimates.append(power_scaling(fit, by_prior=False).table.set_index("parameter")
                         .loc[["mu", "tau"], "prior"].to_numpy())
        ranges.append({n: (fit.draws(n).min(), fit.draws(n).max()) for n in ("mu", "tau")})
    estimates = np.array(estimates)
    # the refits' exact CDFs (hiermod.exact: grid over tau, mu and theta as normal mixtures)
    cdfs = {}
    for alpha in (1.0, 1 / (1 + DELTA), 1 + DELTA):
        s = 5 / np.sqrt(alpha)
        cdfs[alpha] = exact_posterior(eight_schools, spec, priors={"mu": f"Normal(0, {s})", "tau": f"HalfNormal({s})"})
    refs = []
    for rng_range in ranges:
        ref = []
        for name in ("mu", "tau"):
            x = np.linspace(*rng_range[name], 20_000)  # the draws' range, as ArviZ integrates
            F = {a: ep.cdf(name, x) for a, ep in cdfs.items()}
            total = sum(max(_cjs(F[1.0], F[a], x), _cjs((1 - F[1.0])[::-1], (1 - F[a])[::-1], -x[::-1]))
                        for a in (1 / (1 + DELTA), 1 + DELTA))
            ref.append(total / (2 * np.log2(1 + DELTA)))
        refs.append(ref)
    refs = np.array(refs)
    se = np.sqrt(estimates.var(0, ddof=1) / len(estimates) + refs.var(0, ddof=1) / len(refs))
    assert np.all(np.abs(estimates.mean(0) - refs.mean(0)) < 4 * se + 1e-3), (estimates.mean(0), refs.mean(0), se)
    assert np.all(refs.mean(0) > 0.05)  # both well above 0: the comparison is not of two zeros


@pytest.fixture(scope="module")
def many_groups():
    """30 groups with se 0.5-1.5 around mu = 5, tau = 2: the data pin tau down."""
    return simulate("normal_known_se", n_groups=30, mu=5.0, tau=2.0, seed=3)


def test_vague_prior_is_not_flagged_narrow_prior_is(many_groups):
    vague = ModelSpec("normal_known_se", "partial", priors={"mu": "Normal(0, 100)", "tau": "HalfNormal(20)"})
    result = power_scaling(hiermod.fit(many_groups, vague, method="instant"))
    assert result.table["prior"].max() < PRIOR_THRESHOLD
    assert not result.flagged(CONFLICT) and not result.flagged(STRONG_PRIOR)
    assert result.verdicts()[0][0] == "ok"
    narrow = vague.with_priors(tau="HalfNormal(0.2)")  # the data say tau is about 2
    result = power_scaling(hiermod.fit(many_groups, narrow, method="instant"))
    tau = result.table.set_index("parameter").loc["tau"]
    assert tau["prior"] >= PRIOR_THRESHOLD and tau["diagnosis"] in (CONFLICT, STRONG_PRIOR)
    assert "tau" in result.flagged(tau["diagnosis"])
    assert result.by_prior.set_index("parameter").loc["tau", "tau"] > result.by_prior.set_index("parameter").loc["tau", "mu"]
    centre = vague.with_priors(mu="Normal(0, 0.5)")  # the data say mu is about 5
    table = power_scaling(hiermod.fit(many_groups, centre, method="instant")).table.set_index("parameter")
    assert table.loc["mu", "prior"] >= PRIOR_THRESHOLD and table.loc["mu", "diagnosis"]


def test_power_scaling_of_nuts_agrees_with_the_instant_posterior(eight_schools, eight_schools_fit):
    """The same model by NUTS (4 x 1000) and by independent draws: the sensitivities agree within
    their Monte Carlo errors (NUTS's scaled by its effective sample size)."""
    nuts = power_scaling(eight_schools_fit, by_prior=False).table.set_index("parameter")
    names = ["mu", "tau"]
    instant = np.array([power_scaling(hiermod.fit(eight_schools, eight_schools_fit.spec, method="instant",
                                                  seed=s), by_prior=False).table.set_index("parameter")
                        .loc[names, ["prior", "likelihood"]].to_numpy() for s in range(20)])
    sd_iid = instant.std(0, ddof=1)  # one fit of 4000 independent draws (20 fits: 5 left this sd ~35% uncertain)
    ess = np.array([float(az.ess(eight_schools_fit.idata, var_names=[n])[n]) for n in names])[:, None]
    se = np.sqrt(sd_iid**2 * 4000 / ess + sd_iid**2 / len(instant))
    diff = np.abs(nuts.loc[names, ["prior", "likelihood"]].to_numpy() - instant.mean(0))
    assert np.all(diff < 4 * se), (diff, se)
    assert nuts.loc["tau", "diagnosis"] == STRONG_PRIOR  # the data say little about tau


def test_log_prior_maps_priors_to_draws(schools):
    data, spec = schools
    fit = hiermod.fit(data, spec, method="instant")
    post = fit.idata.posterior
    # a covariate's coefficient beta[x], and an LKJ prior on two slope correlations (no draws of R)
    beta = xr.DataArray(np.random.default_rng(0).normal(size=(4, 1000, 2)), dims=("chain", "draw", "covariate"),
                        coords={"covariate": ["a", "b"]})
    fake_post = post.assign(beta=beta)
    fake = dataclasses.replace(fit, idata=az.InferenceData(posterior=fake_post, log_likelihood=fit.idata.log_likelihood),
                               priors=fit.priors | {"beta[b]": hiermod.priors.parse_prior("Normal(1, 2)"),
                                                    "rho": hiermod.priors.parse_prior("LKJ(2)")})
    logp, omitted = log_prior_draws(fake)
    assert omitted == ["rho"]
    np.testing.assert_allclose(logp["beta[b]"], log_density("Normal(1, 2)", beta.sel(covariate="b").values))
    np.testing.assert_allclose(logp["tau"], log_density(fit.priors["tau"], post["tau"].values))
    result = power_scaling(fake, by_prior=False)
    assert any("rho" in text for _, text in result.verdicts())


def test_verdict_names_groups_and_thresholds():
    import pandas as pd

    table = pd.DataFrame({"parameter": ["mu", "tau", "theta[A]", "theta[C]"], "prior": [0.2, 0.1, 0.06, 0.07],
                          "likelihood": [0.2, 0.01, 0.01, 0.02],
                          "diagnosis": [CONFLICT, STRONG_PRIOR, STRONG_PRIOR, STRONG_PRIOR]})
    result = PowerScaling(table, table[["parameter"]], (), {"prior": 0.1, "likelihood": 0.9})
    levels = dict((level, text) for level, text in result.verdicts())
    assert "Prior-data conflict: mu" in levels["error"]
    texts = [t for _, t in result.verdicts()]
    assert any("tau; theta (A, C)" in t and "0.05" in t for t in texts)
    assert any("Pareto k 0.90 for the likelihood" in t for t in texts)


def test_plots_draw_every_series(schools):
    import pandas as pd

    data, spec = schools
    result = prior_set_posteriors(data, spec, draws=500)
    assert len(prior_set_density_plot(result.density).data) == len(result.choices)
    assert len(prior_set_intervals_plot(result.groups).data) == len(result.choices)
    ps = power_scaling(hiermod.fit(data, spec, method="instant"))
    fig = power_scaling_plot(ps.table)
    assert sum(len(t.x) for t in fig.data) == len(ps.table)
    cov = pd.DataFrame({"method": ["full Bayes", "empirical Bayes"], "coverage": [0.9, 0.8],
                        "mc_se": [0.01, 0.02], "nominal": [0.9, 0.9]})
    assert len(coverage_plot(cov).data) == 1
    with pytest.raises(hiermod.plots.PlotInputError):
        dodged_intervals_plot(result.groups.drop(columns="lower"), "prior")


# ----------------------------------------------------------------------------- the page (AppTest)


def test_page_without_data_and_with_a_model_the_instant_method_cannot_serve(radon):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from ui.state import with_priors

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/8_Sensitivity.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Prior sensitivity" and "Load data" in at.info[0].value
    spec = ModelSpec("student_t", "partial")
    at.session_state["hm_data"], at.session_state["hm_data_name"] = radon, "radon"
    at.session_state["hm_spec"] = with_priors(spec, resolve_priors(radon, spec))
    at.run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    infos = [i.value for i in at.info]
    reason = unavailable_reason(radon, spec)
    assert any("prior set is not available" in t and reason in t for t in infos), infos
    assert any("no fit to check yet" in t for t in infos) and any("comparison is not available" in t for t in infos)
