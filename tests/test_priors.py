"""Prior families: densities integrate to one, match numpyro's, defaults scale with the data."""

import numpy as np
import pytest
from scipy import integrate

from hiermod import priors
from hiermod.spec import PRIOR_FAMILIES, ModelSpec, Prior

EXAMPLES = {
    "Normal": (1.0, 2.0), "StudentT": (3.0, 0.5, 2.0), "Cauchy": (0.0, 2.5), "HalfNormal": (2.0,),
    "HalfCauchy": (5.0,), "HalfStudentT": (3.0, 2.0), "Exponential": (0.5,), "Gamma": (2.0, 0.1),
    "InverseGamma": (3.0, 2.0), "LogNormal": (0.0, 0.5), "Uniform": (0.0, 10.0),
}


def test_every_family_has_an_example():
    assert set(EXAMPLES) == set(PRIOR_FAMILIES)


@pytest.mark.parametrize("family", sorted(EXAMPLES))
def test_density_integrates_to_one(family):
    prior = Prior(family, EXAMPLES[family])
    lo = 0.0 if prior.support == "positive" else -np.inf
    total, _ = integrate.quad(lambda x: float(priors.density(prior, x)), lo, np.inf, limit=200)
    assert total == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("family", sorted(EXAMPLES))
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
