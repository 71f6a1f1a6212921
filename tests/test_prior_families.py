"""The prior family table and grammar: bounds T(a, b), the truncated scipy / NumPyro / source forms, LKJ."""

import math
import warnings

import numpy as np
import pytest
from scipy import integrate, stats

from hiermod.errors import PriorError
from hiermod.prior_families import (CORRELATION_FAMILIES, LOCATION_FAMILIES, PRIOR_FAMILIES, SCALE_FAMILIES,
                                    Prior, parse_prior, to_numpyro)

# one bounded prior per family that takes bounds, with every kind of side
BOUNDED = [
    "Normal(0, 5) T(0, 20)", "StudentT(3, 0, 2.5) T(, 10)", "Cauchy(0, 2) T(-1, )",
    "HalfNormal(1) T(, 2)", "HalfCauchy(5) T(2, 10)", "HalfStudentT(3, 2) T(1, )",
    "Exponential(0.5) T(1, 3)", "Gamma(2, 0.1) T(, 30)", "InverseGamma(3, 2) T(0.5, 2)",
    "LogNormal(0, 0.5) T(, 2)",
]


def test_every_family_but_uniform_and_lkj_has_a_bounded_example():
    assert {parse_prior(t).family for t in BOUNDED} == set(PRIOR_FAMILIES) - {"Uniform", "LKJ"}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Normal(0, 5) T(0, 20)", Prior("Normal", (0, 5), 0, 20)),
        ("StudentT(3, 0, 2.5) T(, 10)", Prior("StudentT", (3, 0, 2.5), None, 10)),
        ("HalfNormal(1) T(, 10)", Prior("HalfNormal", (1,), None, 10)),
        ("halfnormal(1)t(0,10)", Prior("HalfNormal", (1,), None, 10)),  # lower 0 is the support's edge
        ("normal(0, 1) t( -1.5 , )", Prior("Normal", (0, 1), -1.5, None)),
        ("t(3, 0, 1) T(, 1e1)", Prior("StudentT", (3, 0, 1), None, 10)),
        ("LKJ(2)", Prior("LKJ", (2,))),
        ("lkj( 0.5 )", Prior("LKJ", (0.5,))),
    ],
)
def test_parse_bounds_and_round_trip(text, expected):
    prior = parse_prior(text)
    assert prior == expected and hash(prior) == hash(expected)
    assert parse_prior(str(prior)) == prior


def test_text_of_priors():
    assert str(parse_prior("Normal(0, 5) T(0, 20)")) == "Normal(0, 5) T(0, 20)"
    assert str(parse_prior("StudentT(3, 0, 2.5) T(, 10)")) == "StudentT(3, 0, 2.5) T(, 10)"
    assert str(parse_prior("HalfNormal(1) T(, 10)")) == "HalfNormal(1) T(, 10)"
    assert str(parse_prior("Normal(0, 5)")) == "Normal(0, 5)"  # unbounded: as before
    assert str(Prior("Normal", (0, 1), -math.inf, math.inf)) == "Normal(0, 1)"  # infinite sides are no bounds


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("Normal(0, 1) T(5)", "T\\(lower, upper\\)"),
        ("Normal(0, 1) T[0, 1]", "Cannot read the bounds"),
        ("Normal(0, 1) T(0, 1", "Cannot read the bounds"),
        ("Normal(0, 1) X(0, 1)", "Cannot read the bounds"),
        ("Normal(0, 1) T(a, 1)", "'a' is not a number"),
        ("Normal(0, 1) T(0, inf)", "not a number"),
        ("Normal(0, 1) T(3, 1)", "lower bound must be below the upper bound"),
        ("Normal(0, 1) T(2, 2)", "lower bound must be below the upper bound"),
        ("HalfNormal(1) T(-1, 2)", "must be >= 0.*HalfNormal\\(1\\) T\\(, 2\\)"),
        ("Normal(0, 1) T(50, 60)", "Normal\\(0, 1\\) T\\(50, 60\\) keeps only"),
        ("LKJ(2) T(0, 1)", "takes no bounds"),
        ("Uniform(0, 5) T(1, 2)", "bounded already"),
    ],
)
def test_bad_bounds(text, fragment):
    with pytest.raises(PriorError, match=fragment):
        parse_prior(text)


def test_bounded_prior_keeps_enough_mass():
    # Normal(0, 1) above 4.5 holds 3.4e-6 of the mass (kept), above 5 only 2.9e-7 (refused)
    assert parse_prior("Normal(0, 1) T(4.5, )").mass == pytest.approx(stats.norm.sf(4.5), rel=1e-12)
    with pytest.raises(PriorError, match="Normal\\(0, 1\\) T\\(5, \\) keeps only 2.9e-07"):
        parse_prior("Normal(0, 1) T(5, )")


def test_support_lists():
    assert "LKJ" not in LOCATION_FAMILIES and "LKJ" not in SCALE_FAMILIES
    assert CORRELATION_FAMILIES == ("LKJ",)
    assert "Normal" in LOCATION_FAMILIES and "HalfCauchy" in SCALE_FAMILIES


def test_structure_key_and_hyper_args():
    a, b = parse_prior("Normal(0, 5) T(0, 20)"), parse_prior("Normal(1, 2) T(-3, 4)")
    assert a.structure_key == b.structure_key == "Normal|T"  # bound values are not in the key
    assert a.hyper_args == (0.0, 5.0, 0.0, 20.0)
    t = parse_prior("StudentT(3, 0, 2.5) T(, 10)")
    assert t.structure_key == "StudentT|U" and t.hyper_args == (3.0, 0.0, 2.5, -math.inf, 10.0)
    h = parse_prior("HalfCauchy(5) T(2, )")
    assert h.structure_key == "HalfCauchy|L" and h.hyper_args == (5.0, 2.0, math.inf)
    assert parse_prior("HalfNormal(1) T(, 3)").hyper_args == (1.0, 0.0, 3.0)  # lower: the support's edge
    plain = parse_prior("Normal(0, 5)")
    assert plain.structure_key == "Normal" and plain.hyper_args == plain.args


def test_unbounded_scipy_is_the_family_itself():
    assert type(parse_prior("Normal(0, 5)").scipy()) is type(stats.norm(0, 5))
    rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(parse_prior("HalfCauchy(5)").scipy().rvs(size=100, random_state=rng1),
                                  stats.halfcauchy(0, 5).rvs(size=100, random_state=rng2))


def test_truncated_normal_matches_scipy_truncnorm():
    prior = parse_prior("Normal(1, 5) T(0, 20)")
    ref = stats.truncnorm((0 - 1) / 5, (20 - 1) / 5, loc=1, scale=5)
    x = np.array([-1.0, 0.0, 0.5, 7.0, 19.9, 20.0, 25.0])
    dist = prior.scipy()
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(dist.logpdf(x), ref.logpdf(x), rtol=1e-12)
    np.testing.assert_allclose(dist.cdf(x), ref.cdf(x), rtol=1e-12, atol=1e-15)
    q = np.array([0.0, 1e-9, 0.3, 0.999, 1.0])
    np.testing.assert_allclose(dist.ppf(q), ref.ppf(q), rtol=1e-10, atol=1e-14 * 5)  # scale 5


def test_upper_tail_interval_keeps_its_digits():
    # Normal(0, 1) on [4, 5]: F(4) = 1 - 3.2e-5, so F(x) - F(4) would lose 4-5 of its 16 digits
    dist = parse_prior("Normal(0, 1) T(4, 5)").scipy()
    ref = stats.truncnorm(4, 5)
    np.testing.assert_allclose(dist.cdf([4.1, 4.5]), ref.cdf([4.1, 4.5]), rtol=1e-13)
    np.testing.assert_allclose(dist.ppf([0.2, 0.9]), ref.ppf([0.2, 0.9]), rtol=1e-13)


@pytest.mark.parametrize("text", BOUNDED)
def test_truncated_density_integrates_to_one_and_inverts(text):
    prior = parse_prior(text)
    dist = prior.scipy()
    lo, hi = prior.interval
    total, _ = integrate.quad(lambda x: float(dist.pdf(x)), lo, hi, limit=200)
    assert total == pytest.approx(1.0, abs=1e-6)
    q = np.array([0.01, 0.5, 0.99])
    np.testing.assert_allclose(dist.cdf(dist.ppf(q)), q, rtol=1e-8)
    draws = dist.rvs(size=2000, random_state=np.random.default_rng(0))
    assert draws.min() >= lo and draws.max() <= hi
    assert dist.pdf(lo - 1e-3) == 0 and dist.pdf(hi + 1e-3) == 0


@pytest.mark.parametrize("text", BOUNDED)
def test_numpyro_truncation_matches_scipy(text):
    import jax.numpy as jnp

    prior = parse_prior(text)
    d = to_numpyro(prior.structure_key)(*[jnp.asarray(a, jnp.float32) for a in prior.hyper_args])
    x = prior.scipy().ppf([0.05, 0.3, 0.7, 0.95])
    np.testing.assert_allclose(np.asarray(d.log_prob(jnp.asarray(x, jnp.float32))), prior.scipy().logpdf(x),
                               rtol=1e-5, atol=1e-5)
    lo, hi = prior.interval
    outside = [v for v in (lo - 0.5, hi + 0.5) if math.isfinite(v) and not (prior.support == "positive" and v < 0)]
    with warnings.catch_warnings():  # numpyro warns about out-of-support values: that is the point here
        warnings.simplefilter("ignore", UserWarning)
        assert np.all(np.asarray(d.log_prob(jnp.asarray(outside, jnp.float32))) == -np.inf)
    assert np.all(np.asarray(d.support(jnp.asarray(x, jnp.float32))))


@pytest.mark.parametrize("text", BOUNDED + ["LKJ(2)"])
def test_code_is_numpyro_source_of_the_same_prior(text):
    import jax.numpy as jnp
    import numpyro.distributions as dist

    prior = parse_prior(text)
    namespace = {"dist": dist, "jnp": jnp, "jax": __import__("jax")}
    from hiermod.truncated import source

    exec(source(), namespace)  # the exported script's copy of the class
    from_code = eval(prior.code(), namespace)
    built = to_numpyro(prior.structure_key)(*prior.hyper_args)
    assert type(from_code).__name__ == type(built).__name__
    if prior.family != "LKJ":
        x = jnp.asarray(prior.scipy().ppf([0.2, 0.6]), jnp.float32)
        np.testing.assert_allclose(np.asarray(from_code.log_prob(x)), np.asarray(built.log_prob(x)), rtol=1e-6)


def test_lkj_marginal_is_beta_and_matches_numpyro():
    import jax.numpy as jnp

    prior = parse_prior("LKJ(2.5)")
    r = np.array([-0.9, -0.3, 0.0, 0.4, 0.95])
    # p(r) ∝ (1 - r^2)^(eta - 1), normalised: 1 / (2^(2 eta - 1) B(eta, eta))
    eta = 2.5
    closed = (eta - 1) * np.log1p(-r**2) - (2 * eta - 1) * math.log(2) - (2 * math.lgamma(eta) - math.lgamma(2 * eta))
    np.testing.assert_allclose(prior.scipy().logpdf(r), closed, rtol=1e-12)
    # numpyro's LKJCholesky(2, eta) density of L = [[1, 0], [r, sqrt(1 - r^2)]] is the density of r
    chol = jnp.stack([jnp.array([[1.0, 0.0], [v, math.sqrt(1 - v * v)]]) for v in r])
    lp = np.asarray(to_numpyro("LKJ")(jnp.asarray(eta)).log_prob(chol))
    np.testing.assert_allclose(lp, closed, rtol=1e-5, atol=1e-5)
    assert prior.code() == "dist.LKJCholesky(2, 2.5)"
    assert to_numpyro("LKJ")(2.0, dim=3).event_shape == (3, 3)


def test_nuts_recovers_truncated_prior_moments_without_data():
    """Sampling each bounded prior alone: the draws' mean and mean square match the truncated
    distribution's (by quadrature) within 4 Monte Carlo standard errors."""
    import jax
    import jax.numpy as jnp
    import numpyro
    from numpyro.diagnostics import effective_sample_size
    from numpyro.infer import MCMC, NUTS

    texts = {"a": "Normal(0, 5) T(0, 20)", "b": "StudentT(3, 0, 2.5) T(, 10)", "c": "HalfCauchy(5) T(, 10)",
             "d": "Gamma(2, 0.5) T(3, )"}
    priors = {k: parse_prior(t) for k, t in texts.items()}

    def model(hyper):
        for k, p in priors.items():
            numpyro.sample(k, to_numpyro(p.structure_key)(*hyper[k]))

    hyper = {k: jnp.asarray(p.hyper_args, jnp.float32) for k, p in priors.items()}
    mcmc = MCMC(NUTS(model), num_warmup=1000, num_samples=4000, num_chains=1, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(1), hyper)
    draws = mcmc.get_samples()
    for k, p in priors.items():
        x = np.asarray(draws[k], float)
        lo, hi = p.interval
        assert x.min() >= lo and x.max() <= hi
        for power in (1, 2):
            exact, _ = integrate.quad(lambda v: v**power * float(p.scipy().pdf(v)), lo, hi, limit=200)
            f = x**power
            ess = float(effective_sample_size(f[None, :]))
            assert abs(f.mean() - exact) < 4 * f.std() / math.sqrt(ess), (texts[k], power, f.mean(), exact)
