"""Fits on a real Dask cluster: a `dask scheduler` and two `dask worker` processes (one thread each,
with a nanny) started on localhost by the fixture, real NumPyro fits on them.

Checked: a fit through the cluster gives the same draws as a local fit with the same seed;
progress, the published preview and cancel reach across processes; a queued job has a place in
line and is withdrawn at once; batch work (pooling modes, SBC chunks) fans out as separate tasks
and comes back complete; the command line with --scheduler writes the same summary; a worker
killed (SIGKILL) mid-fit has its job finished by the other worker with the same draws; an
unreachable scheduler is one clear line naming HIERMOD_DASK_SCHEDULER and --scheduler.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hiermod.batch import (fit_task, pooling_fits, prior_grid_fits, sbc_chunks, sbc_replicates,
                           variant_fits)
from hiermod.dask_executor import DaskExecutor
from hiermod.errors import FitCancelled, HiermodError
from hiermod.jobs import Executor, ThreadExecutor
from hiermod.orchestrate import fit_with_preview
from hiermod.settings import SamplerSettings
from hiermod.spec import ModelSpec

REPO = Path(__file__).resolve().parent.parent
SMALL = SamplerSettings(chains=2, warmup=200, draws=200, seed=3)
LONG = SamplerSettings(chains=8, warmup=20_000, draws=20_000, seed=4)  # ~3.5 s alone on a warm worker: cancelled
KILLED = SamplerSettings(chains=8, warmup=20_000, draws=20_000, seed=5)  # ~3.5 s: killed mid-way
SPEC = ModelSpec("normal_known_se", "partial", "non_centered")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(**extra: str) -> dict:
    env = os.environ.copy()
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env


def _wait(predicate, timeout: float, what: str, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Cluster:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[subprocess.Popen] = []
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.executor: DaskExecutor | None = None

    def start(self, *args: str, log: str) -> None:
        out = open(self.logs / log, "wb")
        self.procs.append(subprocess.Popen([sys.executable, "-m", "dask", *args], env=_env(), stdout=out,
                                           stderr=subprocess.STDOUT, cwd=REPO, start_new_session=True))

    def tail(self) -> str:
        return "\n".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:] for p in self.logs.iterdir())

    def stop(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel=True)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for proc in self.procs:
                if proc.poll() is None:
                    try:
                        os.killpg(proc.pid, sig)  # the nanny and the worker process it started
                    except ProcessLookupError:
                        pass
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(p.poll() is None for p in self.procs):
                time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster(request, tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("dask-logs"))
    request.addfinalizer(c.stop)
    port = c.address.rsplit(":", 1)[1]
    c.start("scheduler", "--host", "127.0.0.1", "--port", port, "--no-dashboard", log="scheduler.log")
    for i in (1, 2):
        c.start("worker", c.address, "--nthreads", "1", "--nworkers", "1", "--host", "127.0.0.1",
                "--no-dashboard", "--name", f"w{i}", log=f"worker{i}.log")
    try:
        c.executor = DaskExecutor(c.address, timeout=60)
        c.executor.client.wait_for_workers(2, timeout=90)
    except Exception:
        print(c.tail())
        raise
    return c


@pytest.fixture(scope="module")
def data():
    from hiermod.datasets import load_dataset

    return load_dataset("eight_schools")


@pytest.fixture(scope="module")
def local_fit(data):
    return fit_task(data, SPEC, SMALL)


def _same_draws(a, b) -> None:
    pa, pb = a.idata.posterior, b.idata.posterior
    assert sorted(pa.data_vars) == sorted(pb.data_vars)
    for v in pa.data_vars:
        np.testing.assert_array_equal(pa[v].values, pb[v].values, err_msg=v)
    np.testing.assert_array_equal(a.idata.sample_stats["diverging"].values, b.idata.sample_stats["diverging"].values)


class Spy(Executor):
    """The real executor, with every submitted job kept (to count the tasks a batch made)."""

    def __init__(self, inner: Executor) -> None:
        self.inner, self.jobs = inner, []

    def submit(self, task, *args, label="", **kwargs):
        job = self.inner.submit(task, *args, label=label, **kwargs)
        self.jobs.append(job)
        return job

    def shutdown(self, wait=True, cancel=False):
        pass

    def active_jobs(self):
        return self.inner.active_jobs()

    def queued_jobs(self):
        return self.inner.queued_jobs()


# ---------------------------------------------------------------------------------- the tests


def test_unreachable_scheduler_is_one_clear_error(tmp_path):
    address = f"tcp://127.0.0.1:{_free_port()}"  # nothing listens there
    t0 = time.monotonic()
    with pytest.raises(HiermodError) as err:
        DaskExecutor(address, timeout=1)
    assert time.monotonic() - t0 < 15
    text = str(err.value)
    assert address in text and "HIERMOD_DASK_SCHEDULER" in text and "--scheduler" in text
    with pytest.raises(HiermodError, match="not a Dask scheduler address"):
        DaskExecutor("localhost-without-port", timeout=1)
    proc = subprocess.run([sys.executable, "-m", "hiermod", "fit", "eight_schools", "--out", str(tmp_path / "o"),
                           "--scheduler", address], env=_env(HIERMOD_DASK_TIMEOUT="1"), cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hiermod: error: Cannot reach the Dask scheduler"), proc.stderr
    assert "--scheduler" in lines[0] and "HIERMOD_DASK_SCHEDULER" in lines[0]
    assert "Traceback" not in proc.stderr and not (tmp_path / "o").exists()


def test_fit_through_the_cluster_gives_the_same_draws_as_a_local_fit(cluster, data, local_fit):
    ex = cluster.executor
    t0 = time.monotonic()
    jobs = [ex.submit(fit_task, data, SPEC, SMALL, label=f"same draws {i}") for i in range(2)]  # both workers
    fits = [job.result(timeout=240) for job in jobs]
    print(f"\ncluster fits (cold workers, in parallel): {time.monotonic() - t0:.1f} s")
    for job, fit in zip(jobs, fits):
        assert job.status == "done" and job.progress.phase == "done" and job.progress.done == 800
        assert type(fit).__name__ == "Fit" and fit.method == "nuts" and fit.settings == SMALL
        _same_draws(fit, local_fit)
    t0 = time.monotonic()
    again = ex.submit(fit_task, data, SPEC, SMALL, label="warm").result(timeout=120)
    print(f"cluster fit on a warm worker: {time.monotonic() - t0:.2f} s")
    _same_draws(again, local_fit)


def test_progress_preview_place_in_line_and_cancel(cluster, data):
    ex = cluster.executor
    first = ex.submit(fit_with_preview, data, SPEC, LONG, label="long 1")
    second = ex.submit(fit_with_preview, data, SPEC, LONG, label="long 2")
    _wait(lambda: first.status == "running" and second.status == "running", 60, "both long fits to start")
    third = ex.submit(fit_with_preview, data, SPEC, LONG, label="long 3")  # no free worker: waits
    assert third.status == "queued" and third.queue_position() == 1
    assert set(ex.queued_jobs()) == {third} and set(ex.active_jobs()) == {first, second}
    assert third.cancel()
    _wait(lambda: third.done(), 10, "the queued job to be withdrawn")
    assert third.status == "cancelled" and third.started_at is None
    with pytest.raises(FitCancelled):
        third.result()

    seen = set()

    def sampling():
        p = first.progress
        if p.phase in ("warmup", "sampling"):
            seen.add(p.done)
        return len(seen) >= 3

    _wait(sampling, 90, "progress updates from the worker")
    assert first.progress.total == LONG.chains * (LONG.warmup + LONG.draws)
    assert first.partial is not None and first.partial.method in ("exact", "instant")  # the preview
    t0 = time.monotonic()
    for job in (first, second):
        assert job.cancel()
    _wait(lambda: first.done() and second.done(), 30, "the running fits to stop")
    print(f"\ncancel of two running fits took effect in {time.monotonic() - t0:.2f} s")
    for job in (first, second):
        assert job.status == "cancelled", job.error
        with pytest.raises(FitCancelled):
            job.result()
        assert job.progress.done < job.progress.total
    assert not ex.active_jobs() and not ex.queued_jobs()


def test_batch_work_fans_out_as_separate_tasks(cluster, data, local_fit):
    spy = Spy(cluster.executor)
    seen = []
    t0 = time.monotonic()
    fits = pooling_fits(spy, data, SPEC, SMALL, progress=seen.append)
    print(f"\nthree pooling modes on the cluster: {time.monotonic() - t0:.1f} s")
    assert list(fits) == ["none", "complete", "partial"] and len(spy.jobs) == 3
    assert all(job.status == "done" for job in spy.jobs)
    assert [f.spec.pooling.value for f in fits.values()] == ["none", "complete", "partial"]
    _same_draws(fits["partial"], local_fit)
    assert seen and seen[-1].message == "3 of 3 done, 0 running" and seen[-1].done == seen[-1].total == 3 * 800

    spy.jobs.clear()
    grid = prior_grid_fits(spy, data, SPEC, SMALL)  # the prior set on tau: one task per prior
    assert len(grid) == len(spy.jobs) >= 5 and "HalfCauchy(s)" in grid
    taus = {label: str(fit.priors["tau"]) for label, fit in grid.items()}
    assert len(set(taus.values())) == len(grid) and taus["HalfCauchy(s)"].startswith("HalfCauchy(")

    from hiermod.variants import starting_set

    spy.jobs.clear()
    variants = starting_set(data)
    fits = variant_fits(spy, data, variants, SMALL)
    assert list(fits) == [v.name for v in variants] and len(spy.jobs) == len(variants)
    assert all(fits[v.name].spec == v.spec for v in variants)

    spy.jobs.clear()
    sbc = sbc_replicates(spy, data, SPEC, reps=40, draws=19, method="instant", seed=7, tasks=4)
    assert len(spy.jobs) == 4 and all(job.status == "done" for job in spy.jobs)
    assert sbc.R == 40 and sbc.requested == 40 and sbc.failed == 0 and not sbc.ranks.isna().any().any()
    assert sbc.ranks.min().min() >= 0 and sbc.ranks.max().max() <= 19
    local = ThreadExecutor(max_workers=2, max_queue=1)  # the same chunks here: identical ranks
    try:
        here = sbc_replicates(local, data, SPEC, reps=40, draws=19, method="instant", seed=7, tasks=4)
    finally:
        local.shutdown()
    assert here.ranks.equals(sbc.ranks) and [n for n, _ in sbc_chunks(40, 7, 4)] == [10, 10, 10, 10]


def test_cli_with_scheduler_writes_the_same_summary(cluster, local_fit, tmp_path):
    from hiermod.export import summary_dict

    out = tmp_path / "fit"
    proc = subprocess.run([sys.executable, "-m", "hiermod", "fit", "eight_schools", "--chains", "2", "--warmup",
                           "200", "--draws", "200", "--seed", "3", "--out", str(out), "--scheduler",
                           cluster.address], env=_env(), cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert f"cluster: {cluster.address} (2 workers)" in proc.stdout
    written = json.loads((out / "summary.json").read_text())
    expected = json.loads(json.dumps(summary_dict(local_fit), allow_nan=False))
    for summary in (written, expected):
        summary.pop("timings")
    assert written == expected

    sbc_out = tmp_path / "sbc"
    proc = subprocess.run([sys.executable, "-m", "hiermod", "sbc", "eight_schools", "--reps", "20", "--draws", "19",
                           "--tasks", "2", "--out", str(sbc_out), "--scheduler", cluster.address], env=_env(),
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((sbc_out / "summary.json").read_text())
    assert summary["reps"] == 20 and summary["failed"] == 0


def test_a_worker_killed_mid_fit_has_its_job_finished_by_the_other(cluster, data):
    ex = cluster.executor
    pids = ex.worker_pids()
    assert len(pids) == 2
    job = ex.submit(fit_task, data, SPEC, KILLED, label="to be killed")
    _wait(lambda: job.progress.phase in ("warmup", "sampling") and job.progress.done > 0, 90,
          "the fit to be sampling")
    victim = ex.attempts(job)[0]
    assert pids[victim["worker"]] == victim["pid"]
    os.kill(victim["pid"], signal.SIGKILL)
    t0 = time.monotonic()
    reference = fit_task(data, SPEC, KILLED)  # here, while the cluster runs it again
    fit = job.result(timeout=240)
    print(f"\nkilled mid-fit; the job was finished {time.monotonic() - t0:.1f} s after the kill")
    attempts = ex.attempts(job)
    assert len(attempts) == 2 and attempts[1]["pid"] != victim["pid"]
    assert attempts[1]["pid"] in pids.values() and attempts[1]["worker"] != victim["worker"]  # the other one
    assert job.status == "done"
    _same_draws(fit, reference)
    assert fit.idata.posterior.sizes["draw"] == KILLED.draws  # nothing lost
    ex.client.wait_for_workers(2, timeout=90)  # the nanny started a new worker in its place
    assert victim["pid"] not in ex.worker_pids().values()
