"""NUTS fits for every pooling x likelihood x parameterization; progress, cancel, reuse, determinism."""

import threading

import numpy as np
import pytest

from synthetic import QUICK
from hiermod.errors import FitCancelled, SpecError
from hiermod.fitting import fit
from hiermod.spec import ModelSpec
from synthetic import simulate

LIKELIHOODS = ["normal_known_se", "normal", "student_t", "binomial", "poisson"]
STRUCTURES = [("partial", "non_centered"), ("partial", "centered"), ("none", "centered"), ("complete", "centered")]


@pytest.mark.parametrize("likelihood", LIKELIHOODS)
@pytest.mark.parametrize("pooling, parameterization", STRUCTURES)
def test_every_structure_fits(likelihood, pooling, parameterization):
    data = simulate(likelihood, n_groups=6, seed=2)
    result = fit(data, ModelSpec(likelihood, pooling, parameterization), **QUICK)
    post = result.idata.posterior
    assert post["theta"].shape == (QUICK["chains"], QUICK["draws"], 6)
    assert list(post["theta"].coords["group"].values) == list(data.labels)
    for group in ("log_likelihood", "posterior_predictive", "prior", "prior_predictive", "sample_stats"):
        assert group in result.idata.groups(), group
    assert result.idata.log_likelihood["y"].shape == (QUICK["chains"], QUICK["draws"], data.n_rows)
    assert np.isfinite(post["theta"].values).all()
    # the group effects move with the data: their posterior means correlate with the raw estimates
    raw = data.group_summary()["estimate"].to_numpy()
    if likelihood == "binomial":
        raw = np.log((raw + 0.01) / (1.01 - raw))
    if likelihood == "poisson":
        raw = np.log(raw + 0.01)
    if pooling != "complete":
        assert np.corrcoef(raw, post["theta"].mean(("chain", "draw")).values)[0, 1] > 0.5


def test_covariate_slope_is_recovered():
    data = simulate("normal", n_groups=8, rows_per_group=40, covariate=True, seed=3)
    result = fit(data, ModelSpec("normal", covariates=("x",)), **QUICK)
    beta = result.draws("beta")[:, 0]
    assert abs(beta.mean() - 0.4) < 4 * beta.std()  # simulated slope 0.4
    assert list(result.idata.posterior["beta"].coords["covariate"].values) == ["x"]


def test_progress_is_reported_and_cancel_stops_the_fit():
    data = simulate("normal", n_groups=6, seed=4)
    seen = []
    cancel = threading.Event()

    def progress(p):
        seen.append(p)
        if p.done >= 600:
            cancel.set()

    with pytest.raises(FitCancelled):
        fit(data, ModelSpec("normal"), chains=2, warmup=300, draws=2000, seed=1, progress=progress, cancel=cancel)
    assert seen[0].phase == "warmup" and seen[-1].done < 2 * 2300
    assert all(b.done >= a.done for a, b in zip(seen, seen[1:]))


def test_chain_method_auto_runs_chains_on_threads(monkeypatch):
    from hiermod.nuts import chain_method

    monkeypatch.delenv("HIERMOD_CHAIN_METHOD", raising=False)
    assert chain_method() == "threads"
    monkeypatch.setenv("HIERMOD_CHAIN_METHOD", "vectorized")
    assert chain_method() == "vectorized"
    monkeypatch.setenv("HIERMOD_CHAIN_METHOD", "no such method")
    assert chain_method() == "threads"


@pytest.mark.parametrize("method", ["vectorized", "threads"])
def test_second_fit_with_new_priors_or_new_data_compiles_nothing(method, monkeypatch):
    monkeypatch.setenv("HIERMOD_CHAIN_METHOD", method)
    spec = ModelSpec("normal_known_se", priors={"tau": "HalfCauchy(5)"})
    first = fit(simulate("normal_known_se", seed=5), spec, **QUICK)
    new_priors = fit(simulate("normal_known_se", seed=5), spec.with_priors(tau="HalfCauchy(1)", mu="Normal(2, 3)"), **QUICK)
    new_data = fit(simulate("normal_known_se", seed=6), spec, **dict(QUICK, seed=9))
    assert first.idata.posterior["theta"].shape[:2] == (QUICK["chains"], QUICK["draws"])
    assert first.idata.sample_stats.attrs["chain_method"] == method
    assert new_priors.timings["compilations"] == 0
    assert new_data.timings["compilations"] == 0


@pytest.mark.parametrize("method", ["vectorized", "threads"])
def test_a_new_structure_compiles_a_few_programs_not_one_per_operation(method, monkeypatch):
    """A cold fit compiles its initialisation, NUTS chunk and postprocessing (and at most a few
    more), never one small program per eager operation (it was about 130 before the model's first
    trace moved inside the compiled initialisation)."""
    monkeypatch.setenv("HIERMOD_CHAIN_METHOD", method)
    warmup = QUICK["warmup"] + (11 if method == "vectorized" else 13)  # a sampler no other test made
    cold = fit(simulate("normal_known_se", seed=5), ModelSpec("normal_known_se"), **dict(QUICK, warmup=warmup))
    assert 3 <= cold.timings["compilations"] <= 6


@pytest.mark.parametrize("method", ["vectorized", "threads"])
def test_programs_compiled_ahead_give_plain_jits_draws(method, monkeypatch):
    """A cold fit traces its programs one after another and compiles each on a background thread
    while the next is traced (hiermod.compilation.AheadJit). The programs are jax.jit's own, so the
    draws are bitwise those of plain jax.jit (HIERMOD_COMPILE_AHEAD=0); the compilations on the
    background threads count for the fit; a second fit of the same shapes compiles nothing."""
    from collections import OrderedDict

    import hiermod.nuts as nuts_module

    monkeypatch.setenv("HIERMOD_CHAIN_METHOD", method)
    data, spec = simulate("normal", seed=12), ModelSpec("normal")
    settings = dict(QUICK, warmup=QUICK["warmup"] + (17 if method == "vectorized" else 19))  # new samplers
    ahead = fit(data, spec, **settings)
    assert 3 <= ahead.timings["compilations"] <= 6
    again = fit(simulate("normal", seed=13), spec.with_priors(sigma="HalfNormal(3)"), **dict(settings, seed=5))
    assert again.timings["compilations"] == 0
    monkeypatch.setenv("HIERMOD_COMPILE_AHEAD", "0")
    monkeypatch.setattr(nuts_module, "_SAMPLERS", OrderedDict())  # a new sampler, on plain jax.jit
    plain = fit(data, spec, **settings)
    assert plain.timings["compilations"] >= 3  # traced and compiled again: really the other path
    for group in ("posterior", "sample_stats", "log_likelihood", "posterior_predictive"):
        for name in getattr(ahead.idata, group).data_vars:
            np.testing.assert_array_equal(getattr(plain.idata, group)[name].values,
                                          getattr(ahead.idata, group)[name].values)


def test_collector_paused_nests_and_restores():
    """Tracing pauses Python's garbage collector (hiermod.compilation.collector_paused); pauses may
    nest or overlap on several threads, and the collector is back on after the last one only if it
    was on before the first."""
    import gc

    from hiermod.compilation import collector_paused

    assert gc.isenabled()
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # the application's own choice is kept
    finally:
        gc.enable()


def test_same_seed_same_draws_and_new_seed_new_draws():
    data = simulate("binomial", seed=7)
    spec = ModelSpec("binomial")
    a, b = fit(data, spec, **QUICK), fit(data, spec, **QUICK)
    np.testing.assert_array_equal(a.idata.posterior["theta"].values, b.idata.posterior["theta"].values)
    np.testing.assert_array_equal(a.idata.posterior_predictive["y"].values, b.idata.posterior_predictive["y"].values)
    c = fit(data, spec, **dict(QUICK, seed=2))
    assert not np.array_equal(a.idata.posterior["theta"].values, c.idata.posterior["theta"].values)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(chains=0), "chains"),
        (dict(draws=10), "draws"),
        (dict(target_accept=1.2), "target_accept"),
        (dict(method="laplace"), "Unknown method"),
    ],
)
def test_bad_settings(kwargs, fragment):
    with pytest.raises(SpecError, match=fragment):
        fit(simulate("normal"), ModelSpec("normal"), **kwargs)


def test_likelihood_must_fit_the_data_kind():
    with pytest.raises(SpecError, match="does not fit summary data"):
        fit(simulate("normal_known_se"), ModelSpec("poisson"))


def test_partial_pooling_needs_two_groups():
    with pytest.raises(SpecError, match="at least 2 groups"):
        fit(simulate("normal", n_groups=1), ModelSpec("normal"))


def test_per_row_groups_are_thinned_for_large_data(monkeypatch):
    """Memory stays bounded: past MAX_POINTWISE values the per-row draws are thinned evenly."""
    import hiermod.result as result_module

    monkeypatch.setattr(result_module, "MAX_POINTWISE", 2 * 100 * 36)  # chains * kept draws * rows
    data = simulate("normal", n_groups=6, rows_per_group=6, seed=8)
    result = fit(data, ModelSpec("normal"), **QUICK)
    assert result.idata.posterior["theta"].shape[:2] == (2, 300)
    assert result.idata.log_likelihood["y"].shape == (2, 100, 36)
    assert result.idata.posterior_predictive["y"].shape == (2, 100, 36)
    import arviz as az

    assert np.isfinite(az.loo(result.idata).elpd_loo)


def test_hiermod_fit_is_callable_even_after_importing_the_submodules():
    import hiermod
    import hiermod.exact
    import hiermod.fitting
    import hiermod.nuts
    import hiermod.result  # noqa: F401  (no submodule is called fit, so none shadows the function)

    assert callable(hiermod.fit) and hiermod.fit is fit
    result = hiermod.fit(simulate("normal_known_se"), ModelSpec("normal_known_se"), method="exact")
    assert result.method == "exact"


def test_later_fits_start_from_the_compiled_init(monkeypatch):
    """NumPyro's kernel.init re-traces the model in Python (~35 ms a chain); after a structure's
    first fit the initial states come from a compiled init and kernel.init is not called again."""
    from numpyro.infer import NUTS

    data, spec = simulate("normal", seed=11), ModelSpec("normal")
    settings = dict(QUICK, warmup=301)  # a sampler no other test made
    fit(data, spec, **settings)
    calls = []
    original = NUTS.init
    monkeypatch.setattr(NUTS, "init", lambda self, *a, **k: calls.append(1) or original(self, *a, **k))
    again = fit(data, spec, **dict(settings, seed=2))
    assert calls == [] and again.timings["compilations"] == 0


def test_chunk_sizer_aims_at_chunk_seconds():
    from hiermod.nuts import CHUNK, CHUNK_SECONDS, FIRST_CHUNK, _ChunkSizer

    sizer = _ChunkSizer()
    assert sizer.n == FIRST_CHUNK
    sizer.update(FIRST_CHUNK, FIRST_CHUNK * CHUNK_SECONDS / 20)  # 20 iterations fit in the target
    assert sizer.n == 20
    sizer.update(20, 1e-9)                                        # fast: grows, at most 4x, capped
    assert sizer.n == 80
    for _ in range(5):
        sizer.update(sizer.n, 1e-9)
    assert sizer.n == CHUNK
    sizer.update(CHUNK, 10 * CHUNK_SECONDS)                       # slow (e.g. compiling): shrinks
    assert 1 <= sizer.n <= CHUNK // 10


@pytest.mark.parametrize("method", ["vectorized", "threads"])
def test_draws_do_not_depend_on_chunk_lengths(method, monkeypatch):
    """Chunks run the same compiled loop on the carried state: 1-iteration chunks or full ones
    give bitwise the same draws."""
    import hiermod.nuts as nuts_module

    monkeypatch.setenv("HIERMOD_CHAIN_METHOD", method)
    data, spec = simulate("normal_known_se", seed=3), ModelSpec("normal_known_se")
    settings = dict(chains=2, warmup=60, draws=60, seed=4)
    reference = fit(data, spec, **settings)
    monkeypatch.setattr(nuts_module, "CHUNK_SECONDS", 0.0)   # every chunk: one iteration
    monkeypatch.setattr(nuts_module, "FIRST_CHUNK", 1)
    tiny = fit(data, spec, **settings)
    for name in reference.idata.posterior.data_vars:
        np.testing.assert_array_equal(tiny.idata.posterior[name].values, reference.idata.posterior[name].values)
