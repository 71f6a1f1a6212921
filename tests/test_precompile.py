"""Warm start: after precompiling a structure, the first real fit compiles (almost) nothing."""

from hiermod.fitting import fit
from hiermod.nuts import precompile
from hiermod.precompile import default_spec_for


def test_fit_after_precompile_compiles_nothing_big(eight_schools):
    spec = default_spec_for("eight_schools").with_priors(tau="HalfStudentT(3, 2)")  # a structure no other test uses
    settings = dict(chains=2, warmup=200, draws=200, seed=4)
    from hiermod.settings import SamplerSettings

    assert precompile(eight_schools, spec, SamplerSettings(**settings)) > 0
    result = fit(eight_schools, spec, **settings)
    assert result.timings["compile_s"] < 0.5, result.timings  # at most a few tiny helper kernels


def test_app_default_settings_are_the_precompiled_ones():
    """The warm start compiles samplers for SamplerSettings(); a sampler is keyed on warmup, target
    acceptance and tree depth, so the app's default settings must equal those or the class's first
    Fit compiles again (it did when the app kept target_accept 0.8 and the library moved to 0.9)."""
    from hiermod.settings import SamplerSettings
    from ui import state

    app = state._default_settings()
    library = SamplerSettings()
    assert (app.warmup, app.target_accept, app.max_tree_depth) == (
        library.warmup, library.target_accept, library.max_tree_depth)


def test_precompile_goes_on_without_a_writable_disk_cache(monkeypatch):
    """A read-only cache folder must not stop the warm start (it compiles in memory instead)."""
    import hiermod.compilation
    from hiermod import precompile as warm

    def refuse(path=None):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(hiermod.compilation, "enable_persistent_cache", refuse)
    calls = []
    monkeypatch.setattr("hiermod.nuts.precompile", lambda data, spec, settings=None: calls.append(spec) or 1)
    monkeypatch.setattr(warm, "status", {})
    done = warm.precompile_samples(names=("eight_schools",))
    assert list(done) == ["eight_schools"] and len(calls) == 1
