"""hiermod.nuts_start: NUTS chains start at instant draws, with the diagonal mass matrix those draws
give (held fixed; warmup adapts the step size only); random starts when asked, when no instant
engine serves the model, or when an instant draw is no valid start."""

import numpy as np
import pytest

import hiermod.nuts_start as nuts_start
from hiermod.fitting import fit
from hiermod.models import prepare
from hiermod.nuts import _instant_start, _started, chain_method
from hiermod.settings import DEFAULT_WARMUP, INSTANT_START_WARMUP, SamplerSettings
from hiermod.spec import ModelSpec
from synthetic import QUICK, simulate


def test_chains_start_at_instant_draws_with_their_regularised_variance_as_inverse_mass():
    """The initial state: chain c at the c-th instant draw (unconstrained: tau on the log scale),
    inverse mass matrix n/(n+5) Var(u) + 1e-3 * 5/(n+5) over the START_DRAWS draws, in NumPyro's
    order of the flattened sites (sorted by name)."""
    data, spec = simulate("normal_known_se", seed=21), ModelSpec("normal_known_se")
    settings = SamplerSettings(chains=3, draws=100, seed=7)
    model, kwargs, _, structure = prepare(data, spec)
    start = _instant_start(data, spec, settings, model, kwargs)
    assert set(start) == {"mu", "tau", "theta_decentered"}
    assert start["theta_decentered"].shape == (nuts_start.START_DRAWS, data.n_groups)
    resolved, sampler, stacked, _ = _started(model, kwargs, structure, settings, "vectorized", start)
    assert (resolved.start, resolved.warmup) == ("instant", INSTANT_START_WARMUP)

    u = {"mu": start["mu"], "tau": np.log(start["tau"]), "theta_decentered": start["theta_decentered"]}
    flat = np.column_stack([u["mu"], u["tau"], u["theta_decentered"]])  # sorted site names
    n = flat.shape[0]
    expected = n / (n + 5) * flat.var(axis=0) + 1e-3 * 5 / (n + 5)
    (inverse_mass,) = stacked.adapt_state.inverse_mass_matrix.values()
    np.testing.assert_allclose(np.asarray(inverse_mass)[0], expected, rtol=2e-4)
    for name, value in u.items():
        np.testing.assert_allclose(np.asarray(stacked.z[name]), value[:3], rtol=1e-5, atol=1e-6)


def test_the_fit_says_how_it_started_and_what_warmup_it_ran():
    data, spec = simulate("normal_known_se", seed=22), ModelSpec("normal_known_se")
    instant = fit(data, spec, chains=2, draws=100)
    assert (instant.settings.start, instant.settings.warmup) == ("instant", INSTANT_START_WARMUP)
    assert instant.idata.sample_stats.attrs["start"] == "instant"
    assert instant.idata.sample_stats["diverging"].shape == (2, 100)
    chosen = fit(data, spec, chains=2, warmup=150, draws=100)
    assert (chosen.settings.start, chosen.settings.warmup) == ("instant", 150)
    random = fit(data, spec, chains=2, warmup=150, draws=100, start="random")
    assert (random.settings.start, random.settings.warmup) == ("random", 150)


def test_models_the_instant_method_cannot_serve_start_at_random_with_the_usual_warmup():
    data, spec = simulate("student_t", seed=23), ModelSpec("student_t")
    result = fit(data, spec, chains=2, draws=100)
    assert (result.settings.start, result.settings.warmup) == ("random", DEFAULT_WARMUP)


def test_an_invalid_instant_start_falls_back_to_random_starts(monkeypatch):
    """An instant draw outside the support (tau < 0: log density not finite) is no valid start:
    the fit starts at random instead, with the random start's warmup, and still samples."""
    real = nuts_start.instant_start

    def broken(data, spec, settings, latent):
        draws = real(data, spec, settings, latent)
        draws["tau"] = -np.abs(draws["tau"])
        return draws

    monkeypatch.setattr(nuts_start, "instant_start", broken)
    data, spec = simulate("normal_known_se", seed=24), ModelSpec("normal_known_se")
    result = fit(data, spec, **QUICK)
    assert result.settings.start == "random"
    assert result.settings.warmup == QUICK["warmup"]
    assert np.all(np.isfinite(result.idata.posterior["tau"].values))


@pytest.mark.parametrize("likelihood", ["normal", "binomial"])
def test_an_instant_start_needs_no_new_program_for_new_priors_or_data(likelihood, monkeypatch):
    """The draws enter the compiled initialisation as an argument of fixed shape (START_DRAWS), so
    new prior values or new data of the same shapes compile nothing; same seed, same draws."""
    monkeypatch.setenv("HIERMOD_CHAIN_METHOD", "vectorized")
    spec = ModelSpec(likelihood)
    settings = dict(chains=2, warmup=97, draws=100, seed=3)  # a sampler no other test made
    first = fit(simulate(likelihood, seed=25), spec, **settings)
    assert first.settings.start == "instant"
    again = fit(simulate(likelihood, seed=26), spec.with_priors(tau="HalfNormal(2)"), **settings)
    assert again.timings["compilations"] == 0
    same = fit(simulate(likelihood, seed=25), spec, **settings)
    np.testing.assert_array_equal(same.idata.posterior["mu"].values, first.idata.posterior["mu"].values)


def test_chain_method_threads_starts_each_chain_at_its_own_draw(monkeypatch):
    monkeypatch.setenv("HIERMOD_CHAIN_METHOD", "threads")
    data, spec = simulate("poisson", seed=27), ModelSpec("poisson")
    assert chain_method() == "threads"
    result = fit(data, spec, chains=2, warmup=99, draws=100, seed=1)
    assert result.settings.start == "instant"
    first = result.idata.posterior["mu"].values[:, 0]
    assert first[0] != first[1]
