"""hiermod.worker_pool.ProcessExecutor with real spawned worker processes and real NumPyro fits:
results equal in-thread results for the same seed; progress, partial results and cancel cross the
process boundary; a killed worker's job is retried once on a new worker (a second death fails it
with a clear message) while another job finishes; the pool keeps its size; fair order between
sessions; queue positions; two sessions asking for one fit share one job and one cached result;
workers past the memory bound are replaced, and so are workers left idle well above their
start-up memory; the server computes a cheap (exact) preview itself and the worker skips it.

One pool of two workers serves the module (each worker's first fit compiles; the on-disk cache
makes the rest quick). Tasks are module-level functions: they are pickled to the workers.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pytest

from hiermod.errors import FitCancelled
from hiermod.jobs import set_default_executor
from hiermod.settings import SamplerSettings
from hiermod.spec import ModelSpec
from hiermod.worker_pool import RETRYING, WORKER_DIED, ProcessExecutor, fit_task, rss_mb

SMALL = SamplerSettings(chains=2, warmup=200, draws=200, seed=5)
MEDIUM = SamplerSettings(chains=2, warmup=200, draws=4000, seed=5)  # long enough to be killed mid-fit
LONG = SamplerSettings(chains=2, warmup=200, draws=20_000, seed=6)  # same compiled sampler; many chunks
TIMEOUT = 600


def _spec():
    from hiermod.spec import ModelSpec

    return ModelSpec("normal_known_se", "partial", "non_centered",
                     priors={"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"})


def wait_for(predicate, timeout: float = TIMEOUT, step: float = 0.05) -> bool:
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


# ----------------------------------------------------------------- tasks (run in the workers)


def stamp_task(name, seconds, *, progress, cancel, publish):
    """Sleeps ``seconds``; returns (name, pid, start, end)."""
    start = time.time()
    time.sleep(seconds)
    return name, os.getpid(), start, time.time()


def die_task(*, progress, cancel, publish):
    """Kills the worker process running it, as a segfault or the out-of-memory killer would."""
    os.kill(os.getpid(), signal.SIGKILL)


# ---------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def pool():
    t0 = time.perf_counter()
    ex = ProcessExecutor(workers=2, precompile=False, idle_s=0)  # idle replacement: its own test
    assert ex.wait_ready(TIMEOUT)
    stats = ex.stats()
    print(f"\n[worker pool] 2 workers ready after {time.perf_counter() - t0:.1f} s "
          f"(imports {stats['start_s']} s); resident {stats['rss_mb']} MB; server {rss_mb():.0f} MB")
    yield ex
    ex.shutdown(wait=True, cancel=True)


@pytest.fixture(scope="module")
def in_thread(eight_schools):
    """The same task run in this process (the reference draws)."""
    return fit_task(eight_schools, _spec(), SMALL, progress=lambda p: None, cancel=threading.Event(),
                    publish=lambda obj: None)


# ------------------------------------------------------------------------------------- tests


def test_fit_in_a_worker_equals_the_fit_in_this_process(pool, eight_schools):
    """(20,000 draws: long enough, about half a second of sampling, for the 20 ms polling here to
    see the warmup or sampling progress.)"""
    settings = SamplerSettings(chains=2, warmup=200, draws=20000, seed=5)
    in_thread = fit_task(eight_schools, _spec(), settings, progress=lambda p: None, cancel=threading.Event(),
                         publish=lambda obj: None)
    phases, pids = set(), set()
    job = pool.submit(fit_task, eight_schools, _spec(), settings, label="worker fit")
    while not job.done():
        phases.add(job.progress.phase)
        pid = pool.running_pid(job)
        if pid:
            pids.add(pid)
        time.sleep(0.02)
    fit = job.result(0)
    assert job.status == "done", job.error_message
    assert pids and os.getpid() not in pids and pids <= set(pool.worker_pids())  # it ran in a worker
    assert {"warmup", "sampling"} & phases, phases  # progress crossed the process boundary
    assert type(fit).__name__ == "Fit" and fit.method == "nuts"
    same_posterior(fit, in_thread)
    print(f"\n[worker pool] first fit in a worker: {fit.timings}; worker RSS {pool.stats()['rss_mb']} MB")


def test_partial_result_and_cancel_cross_the_boundary(pool, eight_schools):
    job = pool.submit(fit_task, eight_schools, _spec(), LONG, label="to cancel")
    assert wait_for(lambda: job.partial is not None or job.done(), 300)
    assert job.partial.method in ("exact", "instant")  # the preview, a pickled Fit from the worker
    assert wait_for(lambda: job.progress.done > 0 or job.done(), 300)
    t0 = time.monotonic()
    assert job.cancel()
    assert job.wait(30), "cancel not honoured within 30 s"
    assert job.status == "cancelled" and isinstance(job.error, FitCancelled)
    print(f"\n[worker pool] cancel across the process boundary took {time.monotonic() - t0:.2f} s")
    again = pool.submit(stamp_task, "after cancel", 0.0)
    assert again.result(60)[0] == "after cancel"  # the worker is free again


def test_killed_worker_job_is_retried_and_the_other_job_finishes(pool, eight_schools):
    before = set(pool.worker_pids())
    deaths = pool.stats()["deaths"]
    victim = pool.submit(fit_task, eight_schools, _spec(), MEDIUM, label="victim", session="A")
    other = pool.submit(fit_task, eight_schools, _spec(), SamplerSettings(chains=2, warmup=200, draws=200, seed=8),
                        label="other", session="B")
    assert wait_for(lambda: pool.running_pid(victim) is not None and victim.progress.done > 0, 300)
    killed = pool.running_pid(victim)
    os.kill(killed, signal.SIGKILL)
    messages = set()
    while not victim.done():
        messages.add(victim.progress.message)
        time.sleep(0.02)
    assert victim.status == "done", victim.error_message  # retried once, on a new worker
    assert RETRYING in messages
    reference = fit_task(eight_schools, _spec(), MEDIUM, progress=lambda p: None, cancel=threading.Event(),
                         publish=lambda obj: None)
    same_posterior(victim.result(0), reference)
    assert other.result(TIMEOUT).method == "nuts" and other.status == "done"
    assert pool.stats()["deaths"] == deaths + 1
    assert wait_for(lambda: len(pool.worker_pids()) == 2, 60)
    assert killed not in pool.worker_pids() and set(pool.worker_pids()) != before
    assert pool.wait_ready(TIMEOUT)


def test_a_job_that_kills_its_workers_fails_with_a_clear_message(pool):
    deaths = pool.stats()["deaths"]
    job = pool.submit(die_task, label="dies")
    bystander = pool.submit(stamp_task, "bystander", 1.0, session="other")
    assert job.wait(TIMEOUT)
    assert job.status == "failed" and job.error_message == WORKER_DIED
    assert "HIERMOD_WORKER_MAX_MB" in WORKER_DIED and "Press Fit" in WORKER_DIED
    assert bystander.result(TIMEOUT)[0] == "bystander"
    assert pool.stats()["deaths"] == deaths + 2  # the first death was retried once
    assert wait_for(lambda: len(pool.worker_pids()) == 2, 60) and pool.wait_ready(TIMEOUT)
    assert pool.submit(stamp_task, "after", 0.0).result(TIMEOUT)[0] == "after"


def test_fair_order_between_two_sessions_and_queue_positions(pool):
    """Session A queues three jobs, then B two: two workers run one job of each session at a time
    (A's never overlap), and the queue says where each waiting job stands."""
    a = [pool.submit(stamp_task, f"A{i}", 1.0, session="A") for i in range(3)]
    b = [pool.submit(stamp_task, f"B{i}", 1.0, session="B") for i in range(2)]
    assert wait_for(lambda: a[0].status == "running" and b[0].status == "running", 60)
    assert [j.queue_position() for j in (a[0], b[0])] == [0, 0]
    assert pool.queued_jobs() == [a[1], b[1], a[2]]
    assert [a[1].queue_position(), b[1].queue_position(), a[2].queue_position()] == [1, 2, 3]
    results = {r[0]: r for r in (j.result(TIMEOUT) for j in a + b)}
    for session, n in (("A", 3), ("B", 2)):
        spans = sorted((results[f"{session}{i}"][2], results[f"{session}{i}"][3]) for i in range(n))
        assert all(later[0] >= earlier[1] for earlier, later in zip(spans, spans[1:])), spans
    starts = sorted(results, key=lambda name: results[name][2])
    assert starts.index("B1") < starts.index("A2")  # B's second job before A's third: turns


def test_two_sessions_share_one_job_and_one_cached_result(pool, eight_schools, in_thread):
    from ui import cache

    spec, key = _spec(), ("worker-pool-test",)
    key = key + (spec, SMALL)
    previous = set_default_executor(pool)
    try:
        first = cache.submit_shared(key, cache._fit_task, eight_schools, spec, SMALL, key, label="shared",
                                    session="A")
        second = cache.submit_shared(key, cache._fit_task, eight_schools, spec, SMALL, key, label="shared",
                                     session="B")
        assert second is first
        fit = first.result(TIMEOUT)
        assert wait_for(lambda: cache.fit_cache().get(key) is not None, 10)  # kept by the server
        assert cache.fit_cache().get(key) is fit
        same_posterior(fit, in_thread)
    finally:
        set_default_executor(previous)


def test_worker_over_the_memory_bound_is_replaced(pool):
    recycled, pids = pool.stats()["recycled"], set(pool.worker_pids())
    pool.max_worker_mb = 1  # every worker is over 1 MB: replaced after its next job
    try:
        done = pool.submit(stamp_task, "last job of its worker", 0.0).result(TIMEOUT)
        assert wait_for(lambda: pool.stats()["recycled"] >= recycled + 1, 60)  # the other worker may finish a job too
    finally:
        pool.max_worker_mb = 2000
    assert done[1] not in pool.worker_pids() and len(pool.worker_pids()) == 2
    assert set(pool.worker_pids()) != pids
    assert pool.wait_ready(TIMEOUT)


def test_an_idle_worker_above_its_start_up_memory_is_replaced_by_a_lean_one(pool, radon):
    """After a fit the worker holds its compiled sampler; idle for ``idle_s`` it is replaced by a
    fresh worker (no precompile) that holds less; a job submitted afterwards runs on it. (Radon:
    an eight schools fit now leaves under IDLE_MARGIN_MB behind, about 100 MB.)"""
    from hiermod.worker_pool import IDLE_MARGIN_MB

    assert pool.wait_ready(TIMEOUT)
    job = pool.submit(fit_task, radon, ModelSpec("normal"), SMALL, label="leaves a sampler behind")
    pids = set()
    while not job.done():
        pids.add(pool.running_pid(job))
        time.sleep(0.02)
    assert job.result(0).method == "nuts"
    slot = next(s for s in pool._slots if s.pid in pids)
    grown = rss_mb(slot.pid)
    assert grown > slot.baseline_mb + IDLE_MARGIN_MB, (grown, slot.baseline_mb)  # else nothing to give back
    idle_recycled, old_pid = pool.stats()["idle_recycled"], slot.pid
    pool.idle_s = 1
    try:
        assert wait_for(lambda: pool.stats()["idle_recycled"] > idle_recycled and slot.pid != old_pid, 120)
    finally:
        pool.idle_s = 0
    assert wait_for(lambda: len(pool.worker_pids()) == 2 and all(s.ready.is_set() for s in pool._slots), TIMEOUT)
    assert rss_mb(slot.pid) < grown
    assert pool.submit(stamp_task, "after", 0.0).result(TIMEOUT)[0] == "after"


def test_the_server_computes_a_cheap_preview_and_the_worker_skips_it(pool, eight_schools, in_thread):
    """Eight schools' exact posterior is computed in the server when the job is submitted (the job
    shows it before a worker takes it); the worker, told so, publishes none and fits the same draws."""
    from hiermod.worker_pool import server_preview
    from ui import cache

    assert server_preview(eight_schools, _spec(), SMALL).method == "exact"
    assert server_preview(eight_schools, _spec(), SMALL, "instant") is None  # no preview of a one-step method
    published = []
    fit = fit_task(eight_schools, _spec(), SMALL, progress=lambda p: None, cancel=threading.Event(),
                   publish=published.append, preview=False)
    assert not published
    same_posterior(fit, in_thread)
    key = ("worker-pool-preview-test", _spec(), SMALL)
    previous = set_default_executor(pool)
    try:
        job = cache.submit_shared(key, cache._fit_task, eight_schools, _spec(), SMALL, key,
                                  label="preview in the server", session="P")
        assert job.partial is not None and job.partial.method == "exact"  # at once, before any worker
        same_posterior(job.result(TIMEOUT), in_thread)
    finally:
        set_default_executor(previous)


def test_the_apps_fit_runs_in_a_worker_with_the_sessions_place_in_line(pool):
    """The dashboard (AppTest) submits its fit to the process pool: the job runs in a worker
    process, is queued under this browser session's id, and its result is harvested by the page."""
    from test_app import _tiny_settings, load_sample, new_app

    previous = set_default_executor(pool)
    try:
        at = load_sample(new_app())
        _tiny_settings(at)
        at.number_input(key="w_seed").set_value(11)  # a fit of its own, not test_app's (the fit cache is process-wide)
        at.button(key="FormSubmitter:model_form-Apply").click().run()
        at.switch_page("pages/3_Fit.py").run()
        at.button(key="w_fit").click().run()
        assert not at.exception, at.exception
        job = at.session_state["hm_job"]
        session = at.session_state["hm_session"]
        assert session and pool._sessions.get(job, session) == session
        pids = set()
        while not job.done():
            pids.add(pool.running_pid(job))
            time.sleep(0.02)
        assert job.status == "done", job.error_message
        assert pids - {None} and os.getpid() not in pids
        at.run()
        assert not at.exception, at.exception
        assert at.session_state["hm_fits"][at.session_state["hm_fit_key"]].settings.draws == 100
    finally:
        set_default_executor(previous)


def test_an_instant_fit_comes_back_whole(pool):
    """An instant fit's posterior object holds the engine's closures (not picklable): it crosses the
    boundary as a marker and is rebuilt in the server, equal to the one made in this process."""
    from hiermod.datasets import load_dataset
    from hiermod.precompile import default_spec_for

    data, spec = load_dataset("efron_morris"), default_spec_for("efron_morris")
    job = pool.submit(fit_task, data, spec, SMALL, None, "instant")
    fit = job.result(TIMEOUT)
    here = fit_task(data, spec, SMALL, None, "instant", progress=lambda p: None, cancel=threading.Event(),
                    publish=lambda obj: None)
    assert fit.method == "instant" and fit.exact.label == here.exact.label
    same_posterior(fit, here)
    name = fit.exact.hyper_names[0]
    np.testing.assert_allclose(fit.exact.hyper_density(name).to_numpy(), here.exact.hyper_density(name).to_numpy())
