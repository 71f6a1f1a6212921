"""Faults under load, at the library / jobs level: repeated cancels, sampler failures, dying
workers, and reproducibility (same data, spec and seed give the same draws in the app's task and
on the command line).

Fits are tiny (eight schools, 2 chains x 150 warmup) except the ones started only to be cancelled.
Every NUTS fit here shares one compiled sampler (same structure, warmup and target acceptance), so
only the first one compiles.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from hiermod.errors import FitCancelled, FitError
from hiermod.jobs import ThreadExecutor, user_message

REPO = Path(__file__).resolve().parent.parent
SMALL = dict(chains=2, warmup=150, draws=150)
LONG = dict(chains=8, warmup=150, draws=20_000)  # the same chunk program as SMALL; ~2 s of sampling
PRIORS = {"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"}
CANCEL_CYCLES = 10


def _spec():
    from hiermod.spec import ModelSpec

    return ModelSpec("normal_known_se", "partial", "non_centered", priors=PRIORS)


def fit_task(data, spec, *, progress, cancel, publish, **settings):
    """A real hiermod.fit run as an executor task (what the app's task does, minus the cache)."""
    from hiermod.fitting import fit

    return fit(data, spec, progress=progress, cancel=cancel, **settings)


def hiermod_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("hiermod-") and t.is_alive()}


def wait_for(predicate, timeout: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def same_posterior(a, b) -> None:
    pa, pb = a.idata.posterior, b.idata.posterior
    assert set(pa.data_vars) == set(pb.data_vars)
    for name in pa.data_vars:
        np.testing.assert_array_equal(pa[name].values, pb[name].values, err_msg=name)


@pytest.fixture(scope="module")
def reference_fit(eight_schools):
    """An undisturbed fit (also compiles the sampler every other fit here reuses)."""
    from hiermod.fitting import fit

    return fit(eight_schools, _spec(), seed=7, **SMALL)


# --------------------------------------------------------------------------------- cancels


def test_repeated_cancel_leaves_nothing_behind(eight_schools, reference_fit):
    spec = _spec()
    before = hiermod_threads()
    ex = ThreadExecutor(max_workers=1, max_queue=4)
    latencies, queued_cancels = [], 0
    try:
        for cycle in range(CANCEL_CYCLES):
            running = ex.submit(fit_task, eight_schools, spec, seed=100 + cycle, label=f"c{cycle}", **LONG)
            waiting = None
            if cycle % 3 == 2:  # now and then a second job waits behind it and is cancelled too
                waiting = ex.submit(fit_task, eight_schools, spec, seed=200 + cycle, **LONG)
                assert waiting.status == "queued" and waiting.queue_position() == 1
            if cycle % 3 != 1:  # else cancel at once, before or while the fit initialises
                assert wait_for(lambda: running.progress.done > 0, 60), f"cycle {cycle}: never started"
            if waiting is not None:
                assert waiting.cancel()
                assert waiting.status == "cancelled"  # a queued job leaves at once
                queued_cancels += 1
            t0 = time.monotonic()
            assert running.cancel()
            assert running.wait(30), f"cycle {cycle}: cancel not honoured within 30 s"
            latencies.append(time.monotonic() - t0)
            assert running.status == "cancelled"
            assert isinstance(running.error, FitCancelled)
            with pytest.raises(FitCancelled):
                running.result(0)
            assert not ex.active_jobs() and not ex.queued_jobs()
        # no sampler work is left: no chain threads, only the executor's own idle workers
        assert wait_for(lambda: not any(t.name.startswith("hiermod-chain") for t in hiermod_threads()), 5)
        extra = hiermod_threads() - before
        assert all(t.name.startswith("hiermod-job") for t in extra), sorted(t.name for t in extra)
        assert len(extra) <= ex.max_workers

        # the next fit runs normally and matches an undisturbed fit with the same seed
        job = ex.submit(fit_task, eight_schools, spec, seed=7, **SMALL)
        result = job.result(120)
        assert job.status == "done"
        same_posterior(result, reference_fit)
    finally:
        ex.shutdown(wait=True, cancel=True)
    assert wait_for(lambda: not (hiermod_threads() - before), 5), sorted(t.name for t in hiermod_threads() - before)
    print(f"\n[faults] {CANCEL_CYCLES} running fits cancelled (+{queued_cancels} queued); "
          f"cancel took {min(latencies):.2f}-{max(latencies):.2f} s")


# --------------------------------------------------------------------------------- failures


def test_sampler_init_failure_is_a_fit_error(eight_schools, reference_fit, monkeypatch):
    """NumPyro's 'Cannot find valid initial parameters' becomes a FitError saying what to try."""
    from numpyro.infer import NUTS

    def broken_init(self, *args, **kwargs):
        raise RuntimeError("Cannot find valid initial parameters. Please check your model again.")

    monkeypatch.setattr(NUTS, "init", broken_init)
    ex = ThreadExecutor(max_workers=1, max_queue=2)
    try:
        # a warmup length no other test uses: a new sampler; its compiled init fails (NumPyro's init
        # raising while traced) or finds invalid points, and the eager init then says why
        job = ex.submit(fit_task, eight_schools, _spec(), seed=3, **dict(SMALL, warmup=151))
        assert job.wait(60)
        assert job.status == "failed"
        assert isinstance(job.error, FitError)
        message = job.error_message
        assert "no valid starting point" in message and "priors" in message
        assert "Traceback" not in message and "File \"" not in message and "\n" not in message
    finally:
        ex.shutdown(wait=True, cancel=True)


def _hopeless_data():
    """Summary data whose log likelihood is -inf for every parameter value (float32 overflow of
    ((y - theta) / se)^2); the values are inside the range the fit accepts (|y| <= 1e15, se >= 1e-15)."""
    import pandas as pd

    from hiermod.data import ColumnMap, DataKind, load_data

    frame = pd.DataFrame({"g": list("ABCD"), "y": [1e14, -1e14, 1e14, -1e14], "se": [1e-14] * 4})
    return load_data(frame, ColumnMap("g", "y", DataKind.SUMMARY, se="se"))


def test_density_not_finite_anywhere_fails_for_that_user_only(eight_schools, reference_fit):
    """A fit whose log density is -inf everywhere fails with advice; a healthy job beside it finishes."""
    bad = _hopeless_data()
    ex = ThreadExecutor(max_workers=2, max_queue=4)
    try:
        healthy = ex.submit(fit_task, eight_schools, _spec(), seed=7, label="healthy", **SMALL)
        failing = ex.submit(fit_task, bad, _spec(), seed=7, label="hopeless", **SMALL)
        assert failing.wait(180) and healthy.wait(180)
        assert failing.status == "failed", failing.status
        assert isinstance(failing.error, FitError), repr(failing.error)
        assert "Traceback" not in failing.error_message
        assert "no valid starting point" in failing.error_message  # the sampler's own failure
        assert "extreme" in failing.error_message
        assert healthy.status == "done"
        same_posterior(healthy.result(0), reference_fit)
        # the executor keeps working
        again = ex.submit(fit_task, eight_schools, _spec(), seed=7, **SMALL)
        same_posterior(again.result(120), reference_fit)
    finally:
        ex.shutdown(wait=True, cancel=True)


@pytest.mark.parametrize("error", [MemoryError("cannot allocate 8 GB"), SystemError("XLA worker died"),
                                   SystemExit(3), KeyboardInterrupt()],
                         ids=["MemoryError", "SystemError", "SystemExit", "KeyboardInterrupt"])
def test_dying_worker_is_reported_and_others_finish(eight_schools, reference_fit, error):
    """A task that dies with a non-hiermod exception mid-run is reported to its user in one
    friendly line; the job running beside it and the next job are unaffected."""
    started = threading.Event()

    def dying_task(*, progress, cancel, publish):
        started.set()
        time.sleep(0.2)
        raise error

    ex = ThreadExecutor(max_workers=2, max_queue=4)
    try:
        healthy = ex.submit(fit_task, eight_schools, _spec(), seed=7, label="healthy", **SMALL)
        dying = ex.submit(dying_task, label="dying")
        assert dying.wait(30)
        assert dying.status == "failed"
        message = dying.error_message
        assert message == user_message(error)
        assert type(error).__name__ in message and "Try again" in message
        assert "Traceback" not in message and "\n" not in message
        assert healthy.result(120) is not None and healthy.status == "done"
        same_posterior(healthy.result(0), reference_fit)
        assert not ex.active_jobs()
        after = ex.submit(fit_task, eight_schools, _spec(), seed=7, **SMALL)
        assert after.result(120) is not None and after.status == "done"
    finally:
        ex.shutdown(wait=True, cancel=True)


# ------------------------------------------------------------------------- reproducibility


def test_same_seed_same_draws_in_app_task_and_cli(eight_schools, reference_fit, tmp_path):
    """`python -m hiermod fit ... --seed 7` and the app's background task give identical draws."""
    import arviz as az

    from hiermod.settings import SamplerSettings
    from ui import cache

    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "hiermod", "fit", str(REPO / "sample_data" / "eight_schools.csv"),
           "--group", "school", "--y", "effect", "--se", "se",
           "--prior", "mu=Normal(0,5)", "--prior", "tau=HalfCauchy(5)",
           "--chains", "2", "--warmup", "150", "--draws", "150", "--seed", "7", "--out", str(out)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    cli = az.from_netcdf(out / "posterior.nc")

    settings = SamplerSettings(chains=2, warmup=150, draws=150, seed=7)
    spec = _spec()
    published = []
    app_fit = cache._fit_task(eight_schools, spec, settings, ("faults-test", spec, settings),
                              progress=lambda p: None, cancel=threading.Event(),
                              publish=published.append)
    assert published and published[0].method == "exact"  # the app shows the exact posterior first
    assert app_fit.method == "nuts"
    for name in app_fit.idata.posterior.data_vars:
        ours = app_fit.idata.posterior[name].values
        theirs = cli.posterior[name].values
        assert ours.shape == theirs.shape, name
        np.testing.assert_array_equal(ours, theirs, err_msg=name)
    # and both equal the plain library fit
    same_posterior(app_fit, reference_fit)


def test_streamlit_does_not_collect_garbage_after_every_rerun():
    """Regression: Streamlit's default gc.collect(2) after each script/fragment run, with JAX
    loaded, took ~95% of the server's GIL time while four sessions polled their fits (page loads
    over 2 minutes, fits stalled). tests/e2e/test_browser_concurrency.py measures the effect."""
    import tomllib

    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["runner"]["postScriptGC"] is False


def test_same_seed_same_draws_twice(eight_schools, reference_fit):
    """The default chains (threads): the same seed gives bitwise the same draws again."""
    from hiermod.fitting import fit
    from hiermod.nuts import chain_method

    assert chain_method() == "threads"
    same_posterior(fit(eight_schools, _spec(), seed=7, **SMALL), reference_fit)


def test_draws_do_not_depend_on_chain_threads(eight_schools, monkeypatch):
    """With HIERMOD_CHAIN_METHOD=threads each chain's stream depends only on the seed: one thread
    per chain, or all chains on one thread, give the same draws."""
    from hiermod.fitting import fit

    monkeypatch.setenv("HIERMOD_CHAIN_METHOD", "threads")
    fits = {}
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("HIERMOD_CHAIN_THREADS", threads)
        fits[threads] = fit(eight_schools, _spec(), seed=7, chains=3, warmup=150, draws=150)
    same_posterior(fits["1"], fits["2"])
    same_posterior(fits["1"], fits["3"])
