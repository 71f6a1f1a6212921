"""Warm start: after precompiling a structure, the first real fit compiles (almost) nothing."""

from hiermod.fit import fit, precompile
from hiermod.precompile import default_spec_for


def test_fit_after_precompile_compiles_nothing_big(eight_schools):
    spec = default_spec_for("eight_schools").with_priors(tau="HalfStudentT(3, 2)")  # a structure no other test uses
    settings = dict(chains=2, warmup=200, draws=200, seed=4)
    from hiermod.fit import SamplerSettings

    assert precompile(eight_schools, spec, SamplerSettings(**settings)) > 0
    result = fit(eight_schools, spec, **settings)
    assert result.timings["compile_s"] < 0.5, result.timings  # at most a few tiny helper kernels
