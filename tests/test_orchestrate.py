"""hiermod.orchestrate: exact or instant preview then NUTS, and the three pooling modes with merged progress
(real NUTS, small settings)."""

from __future__ import annotations

import threading

import pytest

import hiermod
from hiermod import orchestrate
from hiermod.settings import SamplerSettings

SMALL = SamplerSettings(chains=2, warmup=200, draws=200, seed=3)


@pytest.fixture(scope="module")
def schools():
    data = hiermod.load_dataset("eight_schools")
    return data, hiermod.ModelSpec("normal_known_se")


def test_preview_is_exact_and_published_before_nuts(schools):
    data, spec = schools
    events = []
    result = orchestrate.fit_with_preview(
        data, spec, SMALL, progress=lambda p: events.append(("progress", p)),
        cancel=threading.Event(), publish=lambda f: events.append(("publish", f)))
    events.append(("return", result))
    kinds = [k for k, _ in events]
    assert kinds.count("publish") == 1
    assert kinds[0] == "publish" and kinds.index("publish") < kinds.index("progress")
    preview = events[0][1]
    assert preview.method_info.exact
    assert result.method == "nuts" and result.method_info.has_sampler_stats
    assert preview.spec == result.spec and preview.settings == result.settings


def test_without_the_exact_method_the_instant_posterior_is_the_preview():
    data = hiermod.load_dataset("rat_tumors")
    spec = hiermod.ModelSpec("binomial", population="beta")
    assert not orchestrate.exact_available(data, spec)
    assert orchestrate.preview_method(data, spec) == "instant"
    published = []
    result = orchestrate.fit_with_preview(data, spec, SMALL, publish=published.append)
    assert [f.method for f in published] == ["instant"]
    assert result.method == "nuts"


def test_a_model_no_preview_serves_publishes_nothing():
    data = hiermod.load_dataset("radon")
    spec = hiermod.ModelSpec("student_t")
    assert orchestrate.preview_method(data, spec) is None
    published = []
    result = orchestrate.fit_with_preview(data, spec, SMALL, publish=published.append)
    assert published == [] and result.method == "nuts"


def test_failing_preview_is_logged_and_nuts_still_runs(schools, monkeypatch, caplog):
    data, spec = schools
    real = orchestrate.run_method

    def broken(data, spec, settings, method, **kwargs):
        if method == "exact":
            raise RuntimeError("exact broke")
        return real(data, spec, settings, method, **kwargs)

    monkeypatch.setattr(orchestrate, "run_method", broken)
    published = []
    with caplog.at_level("WARNING", logger="hiermod.orchestrate"):
        result = orchestrate.fit_with_preview(data, spec, SMALL, publish=published.append)
    assert published == [] and result.method == "nuts"
    assert "Preview (exact) failed" in caplog.text


def test_pooling_modes_merged_progress_and_previews(schools):
    data, spec = schools
    reports, published, finished = [], [], []
    fits = orchestrate.fit_pooling_modes(data, spec, SMALL, progress=reports.append,
                                         publish=published.append,
                                         done=lambda mode, fit: finished.append(mode))
    assert list(fits) == ["none", "complete", "partial"]
    assert all(f.method == "nuts" for f in fits.values())
    assert [f.spec.pooling.value for f in fits.values()] == ["none", "complete", "partial"]
    assert finished == ["none", "complete", "partial"]
    # the exact fits of all three were published first
    assert len(published) == 1 and set(published[0]) == {"none", "complete", "partial"}
    assert all(f.method_info.exact for f in published[0].values())
    # one merged progress: a constant total over the three fits, never going back
    per = SMALL.chains * (SMALL.warmup + SMALL.draws)
    assert {p.total for p in reports} == {3 * per}
    done = [p.done for p in reports]
    assert done == sorted(done) and done[-1] == 3 * per
    assert any(p.message.startswith("Fit 3 of 3") for p in reports)


def test_pooling_modes_skip_cached(schools):
    data, spec = schools
    partial = orchestrate.fit_with_preview(data, spec.replace(pooling="partial"), SMALL)
    reports = []
    fits = orchestrate.fit_pooling_modes(data, spec, SMALL, progress=reports.append,
                                         cached={"partial": partial})
    assert fits["partial"] is partial
    assert fits["none"].method == "nuts" and fits["complete"].method == "nuts"
    per = SMALL.chains * (SMALL.warmup + SMALL.draws)
    assert {p.total for p in reports} == {2 * per}  # only the two modes still to fit
    assert not any("partial pooling" in p.message for p in reports)


def test_unknown_mode_is_refused(schools):
    data, spec = schools
    with pytest.raises(hiermod.SpecError, match="Unknown pooling mode"):
        orchestrate.fit_pooling_modes(data, spec, SMALL, modes=("none", "sometimes"))
