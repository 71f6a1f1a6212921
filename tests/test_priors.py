"""Prior families: densities integrate to one, match numpyro's, defaults scale with the data."""

import numpy as np
import pytest
from scipy import integrate, stats

from hiermod import priors
from hiermod.spec import PRIOR_FAMILIES, ModelSpec, Prior

EXAMPLES = {
    "Normal": (1.0, 2.0), "StudentT": (3.0, 0.5, 2.0), "Cauchy": (0.0, 2.5), "HalfNormal": (2.0,),
    "HalfCauchy": (5.0,), "HalfStudentT": (3.0, 2.0), "Exponential": (0.5,), "Gamma": (2.0, 0.1),
    "InverseGamma": (3.0, 2.0), "LogNormal": (0.0, 0.5), "Uniform": (0.0, 10.0), "LKJ": (2.0,),
}


def test_every_family_has_an_example():
    assert set(EXAMPLES) == set(PRIOR_FAMILIES)


@pytest.mark.parametrize("family", sorted(EXAMPLES))
def test_density_integrates_to_one(family):
    prior = Prior(family, EXAMPLES[family])
    lo, hi = prior.interval
    total, _ = integrate.quad(lambda x: float(priors.density(prior, x)), lo, hi, limit=200)
    assert total == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("family", sorted(set(EXAMPLES) - {"LKJ"}))  # LKJ: test_prior_families
def test_density_matches_numpyro(family):
    import jax.numpy as jnp

    prior = Prior(family, EXAMPLES[family])
    lo, hi = priors.plot_range(prior, 0.9)
    x = np.linspace(max(lo, 1e-3) if prior.support == "positive" else lo, hi, 7)
    d = priors.to_numpyro(family)(*[jnp.asarray(a) for a in prior.args])
    np.testing.assert_allclose(np.asarray(d.log_prob(jnp.asarray(x))), priors.log_density(prior, x), rtol=2e-4, atol=2e-4)


def test_samples_follow_the_prior():
    rng = np.random.default_rng(0)
    draws = priors.sample("HalfCauchy(5)", rng, 20_000)
    assert (draws >= 0).all()
    assert np.median(draws) == pytest.approx(5.0, rel=0.05)  # median of HalfCauchy(s) is s


def test_defaults_scale_with_the_data(eight_schools):
    spec = ModelSpec("normal_known_se")
    p = priors.default_priors(eight_schools, spec)
    assert set(p) == {"mu", "tau"}
    assert p["mu"].family == "Normal" and p["tau"].family == "HalfNormal"
    # the scale is max(sd of estimates, median se): eight schools' se are 9..18
    assert 9 <= p["tau"].args[0] <= 18
    resolved = priors.resolve_priors(eight_schools, spec.with_priors(tau="HalfCauchy(5)"))
    assert resolved["tau"] == Prior("HalfCauchy", (5,)) and resolved["mu"] == p["mu"]


def test_binomial_defaults_on_logit_scale():
    from hiermod.datasets import load_dataset

    data = load_dataset("rat_tumors")
    p = priors.default_priors(data, ModelSpec("binomial"))
    # pooled rate 267/1739 = 0.154 -> logit -1.71
    assert p["mu"].args[0] == pytest.approx(-1.70, abs=0.02)
    assert p["tau"] == Prior("HalfNormal", (1.0,))


def test_density_table_for_previews():
    table = priors.density_table("HalfCauchy(5)", n=50)
    assert list(table.columns) == ["x", "density"] and len(table) == 50
    assert table.x.min() == 0 and (table.density >= 0).all()


# ------------------------------------------------------------------------------ bounded priors


def test_bounded_preview_shows_the_cut_off():
    table = priors.density_table("Normal(0, 5) T(0, 20)", n=50)
    lo, hi = priors.plot_range("Normal(0, 5) T(0, 20)")
    assert lo < 0 < hi < 20  # the lower cut is in view, the upper one (far in the tail) is not
    assert (table.density[table.x < 0] == 0).all() and (table.density[table.x >= 0] > 0).all()
    at_zero = table.density[table.x == 0.0].iloc[0]
    assert at_zero == pytest.approx(2 * stats.norm.pdf(0, 0, 5) / (1 - 2 * stats.norm.sf(20, 0, 5)), rel=1e-12)
    right = priors.density_table("StudentT(3, 0, 2.5) T(, 10)")
    assert right.x.max() > 10 and (right.density[right.x > 10] == 0).all()
    assert (right.density[right.x <= 10] > 0).all()


def test_bounded_draws_stay_inside():
    draws = priors.sample("HalfCauchy(5) T(1, 10)", np.random.default_rng(0), 5000)
    assert draws.min() >= 1 and draws.max() <= 10
    # P(x < 5) = (F(5) - F(1)) / (F(10) - F(1)) for the half-Cauchy F(x) = 2 atan(x / 5) / pi
    F = lambda x: 2 * np.arctan(x / 5) / np.pi  # noqa: E731
    p = (F(5) - F(1)) / (F(10) - F(1))
    assert abs((draws < 5).mean() - p) < 4 * np.sqrt(p * (1 - p) / 5000)


@pytest.mark.parametrize(
    "name, text, fragment",
    [
        ("mu", "Normal(250, 10) T(200, 300)", "'mu'.*lower bound at 200.*between about"),
        ("mu", "Normal(-250, 10) T(, -200)", "'mu'.*upper bound at -200"),
        ("tau", "HalfNormal(1e-6) T(, 1e-6)", "'tau'.*upper bound at 1e-06.*Raise the upper bound"),
    ],
)
def test_bounds_that_exclude_the_data_are_refused(eight_schools, name, text, fragment):
    from hiermod.errors import PriorError

    spec = ModelSpec("normal_known_se", priors={name: text})
    with pytest.raises(PriorError, match=fragment):
        priors.resolve_priors(eight_schools, spec)
    # bounds that overlap the data's range are kept
    fine = priors.resolve_priors(eight_schools, ModelSpec("normal_known_se", priors={"mu": "Normal(0, 5) T(0, 20)"}))
    assert fine["mu"] == Prior("Normal", (0, 5), 0, 20)


def test_bounds_of_beta_and_no_pooling_theta_are_checked(eight_schools):
    import dataclasses

    from hiermod.data import load_data
    from hiermod.datasets import dataset_info, dataset_path
    from hiermod.errors import PriorError

    info = dataset_info("radon")
    data = load_data(dataset_path("radon"), dataclasses.replace(info.columns, covariates=("floor",)))
    spec = ModelSpec("normal", covariates=("floor",), priors={"beta": "Normal(1e6, 1e5) T(5e5, )"})
    with pytest.raises(PriorError, match=r"'beta\[floor\]'.*lower bound at 500000"):
        priors.resolve_priors(data, spec)
    none = ModelSpec("normal_known_se", pooling="none", priors={"theta": "Normal(250, 10) T(200, )"})
    with pytest.raises(PriorError, match="'theta'.*lower bound at 200"):
        priors.resolve_priors(eight_schools, none)


def test_changing_a_bound_keeps_the_compiled_structure(eight_schools):
    from hiermod.models import model_inputs, structure_of

    a = ModelSpec("normal_known_se", priors={"mu": "Normal(0, 5) T(0, 20)", "tau": "HalfCauchy(5) T(, 10)"})
    b = ModelSpec("normal_known_se", priors={"mu": "Normal(0, 5) T(-1, 30)", "tau": "HalfCauchy(5) T(, 20)"})
    pa, pb = priors.resolve_priors(eight_schools, a), priors.resolve_priors(eight_schools, b)
    assert structure_of(a, pa) == structure_of(b, pb)
    assert dict(structure_of(a, pa).families) == {"mu": "Normal|T", "tau": "HalfCauchy|U"}
    np.testing.assert_array_equal(np.asarray(model_inputs(eight_schools, b, pb)["hyper"]["mu"]), [0, 5, -1, 30])


def _brute_force_means(data, log_prior_mu, log_prior_tau, mu, tau):
    """Posterior means of (mu, tau) on a 2-D grid (Simpson): y_j ~ Normal(mu, sqrt(tau^2 + se_j^2))
    with theta_j integrated out in closed form."""
    y, se = np.asarray(data.y), np.asarray(data.se)
    M, T = np.meshgrid(mu, tau, indexing="ij")
    sd = np.sqrt(T[..., None] ** 2 + se**2)
    lp = stats.norm.logpdf(y, M[..., None], sd).sum(-1) + log_prior_mu(M) + log_prior_tau(T)
    w = np.exp(lp - lp.max())
    integral = lambda f: integrate.simpson(integrate.simpson(f, x=tau, axis=1), x=mu)  # noqa: E731
    z = integral(w)
    return integral(w * M) / z, integral(w * T) / z


def test_exact_posterior_with_bounded_priors_matches_brute_force(eight_schools):
    from hiermod.exact import exact_posterior

    spec = ModelSpec("normal_known_se", priors={"mu": "Normal(0, 5) T(0, 20)", "tau": "HalfCauchy(5) T(, 10)"})
    ep = exact_posterior(eight_schools, spec)
    # the priors' normalising constants do not matter on a grid that spans exactly their bounds
    mu_mean, tau_mean = _brute_force_means(
        eight_schools, lambda m: stats.norm.logpdf(m, 0, 5), lambda t: stats.halfcauchy.logpdf(t, 0, 5),
        np.linspace(0, 20, 1001), np.linspace(0, 10, 1001))
    assert ep.means["mu"] == pytest.approx(mu_mean, rel=1e-3)
    assert ep.means["tau"] == pytest.approx(tau_mean, rel=1e-3)
    # the bounds matter: unbounded priors give other means
    free = exact_posterior(eight_schools, ModelSpec("normal_known_se", priors={"mu": "Normal(0, 5)",
                                                                               "tau": "HalfCauchy(5)"}))
    assert abs(free.means["tau"] - tau_mean) > 0.1


BOUNDED_SPEC = {"mu": "Normal(0, 5) T(0, 20)", "tau": "HalfCauchy(5) T(, 10)"}


def test_nuts_honours_bounds(eight_schools):
    """NUTS on eight schools with bounded priors agrees with the exact posterior within 4 MCSE,
    and every draw lies inside the bounds."""
    import hiermod
    from hiermod.diagnostics import summary_table
    from hiermod.exact import exact_posterior

    spec = ModelSpec("normal_known_se", priors=BOUNDED_SPEC)
    exact = exact_posterior(eight_schools, spec)
    nuts = hiermod.fit(eight_schools, spec, chains=2, warmup=500, draws=1000, seed=3)
    table = summary_table(nuts, var_names=["mu", "tau"])
    for name in ("mu", "tau"):
        assert abs(table.loc[name, "mean"] - exact.means[name]) < 4 * table.loc[name, "mcse_mean"]
    mu, tau = nuts.draws("mu"), nuts.draws("tau")
    assert mu.min() >= 0 and mu.max() <= 20 and tau.max() <= 10


def test_vi_honours_bounds(eight_schools):
    import hiermod

    for lower in (0, 10):  # the second fit reuses the compiled structure with other bounds
        spec = ModelSpec("normal_known_se", priors=dict(BOUNDED_SPEC, mu=f"Normal(0, 5) T({lower}, 20)"))
        vi = hiermod.fit(eight_schools, spec, method="vi", chains=1, draws=500)
        mu, tau = vi.draws("mu"), vi.draws("tau")
        assert mu.min() >= lower and mu.max() <= 20 and tau.max() <= 10
