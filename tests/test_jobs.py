"""Tests of hiermod.jobs with plain Python tasks (no JAX). Waits use timeouts; asserts are on states."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from hiermod import jobs
from hiermod.errors import DataError, FitCancelled, HiermodError
from hiermod.jobs import Job, Progress, ThreadExecutor, default_executor, set_default_executor

TIMEOUT = 5.0


def counting_task(n, step=0.001, *, progress, cancel, publish, value="ok"):
    """Reports progress for n steps, checks cancel each step."""
    start = time.monotonic()
    for i in range(n):
        if cancel.is_set():
            raise FitCancelled("Cancelled by the user.")
        time.sleep(step)
        progress(Progress(phase="sampling", done=i + 1, total=n,
                          elapsed_s=time.monotonic() - start, message=f"{i + 1}/{n}"))
    return value


def blocking_task(gate, *, progress, cancel, publish, started=None):
    """Runs until ``gate`` is set (returns "released") or cancel is set (returns quietly)."""
    if started is not None:
        started.set()
    progress(Progress(phase="warmup", done=0, total=10))
    while not gate.is_set():
        if cancel.is_set():
            return None
        time.sleep(0.005)
    return "released"


def wait_until(predicate, timeout=TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.002)
    return predicate()


@pytest.fixture
def ex():
    executor = ThreadExecutor(max_workers=1, max_queue=3)
    yield executor
    executor.shutdown(wait=True, cancel=True)


def test_progress_fraction():
    assert Progress().fraction == 0.0
    assert Progress(phase="sampling", done=5, total=20).fraction == 0.25
    assert Progress(phase="sampling", done=30, total=20).fraction == 1.0
    assert Progress(phase="done").fraction == 1.0
    with pytest.raises(ValueError):
        Progress(phase="nonsense")


def test_result_and_progress_flow(ex):
    job = ex.submit(counting_task, 20, label="count", value=42)
    assert len(job.id) == 32 and job.label == "count"
    assert job.result(timeout=TIMEOUT) == 42
    assert job.done() and job.status == "done"
    assert job.error is None and job.error_message is None
    assert job.queue_position() is None
    p = job.progress
    assert p.phase == "done" and p.done == p.total == 20 and p.fraction == 1.0
    assert job.started_at is not None and job.finished_at >= job.started_at


def test_progress_visible_while_running(ex):
    gate = threading.Event()

    def task(*, progress, cancel, publish):
        progress(Progress(phase="sampling", done=3, total=10, divergences=1, eta_s=2.0))
        gate.wait(TIMEOUT)
        return "x"

    job = ex.submit(task)
    assert wait_until(lambda: job.progress.done == 3)
    assert job.status == "running" and job.queue_position() == 0
    assert job.progress.divergences == 1 and job.progress.fraction == pytest.approx(0.3)
    gate.set()
    assert job.result(timeout=TIMEOUT) == "x"


def test_cancel_running_job_ends_fast(ex):
    job = ex.submit(counting_task, 100_000, 0.002)
    assert wait_until(lambda: job.progress.done > 0)
    assert job.cancel() is True
    assert job.wait(0.5), "a running job must stop within 0.5 s of cancel"
    assert job.status == "cancelled" and job.cancel_event.is_set()
    assert isinstance(job.error, FitCancelled)
    with pytest.raises(FitCancelled):
        job.result(timeout=TIMEOUT)
    assert job.cancel() is False  # already finished


def test_task_returning_after_cancel_is_cancelled(ex):
    gate, started = threading.Event(), threading.Event()
    job = ex.submit(blocking_task, gate, started=started)
    assert started.wait(TIMEOUT)
    job.cancel()
    assert job.wait(TIMEOUT)
    assert job.status == "cancelled"
    with pytest.raises(FitCancelled):
        job.result()


def test_cancel_queued_job_frees_slot_and_never_runs(ex):
    gate, started = threading.Event(), threading.Event()
    ran = threading.Event()

    def marker(*, progress, cancel, publish):
        ran.set()

    first = ex.submit(blocking_task, gate, started=started)
    assert started.wait(TIMEOUT)
    queued = ex.submit(marker)
    after = ex.submit(counting_task, 2)
    assert queued.status == "queued" and queued.queue_position() == 1
    assert queued.cancel() is True
    assert queued.done() and queued.status == "cancelled"
    assert queued.queue_position() is None
    assert after.queue_position() == 1
    assert ex.queued_jobs() == [after]
    gate.set()
    assert after.result(timeout=TIMEOUT) == "ok"
    assert first.result(timeout=TIMEOUT) == "released"
    assert not ran.is_set()
    with pytest.raises(FitCancelled):
        queued.result(timeout=0)


def test_fifo_queue_positions():
    ex = ThreadExecutor(max_workers=1, max_queue=5)
    try:
        gate, started = threading.Event(), threading.Event()
        order = []
        lock = threading.Lock()

        def record(name, *, progress, cancel, publish):
            with lock:
                order.append(name)
            return name

        first = ex.submit(blocking_task, gate, started=started)
        assert started.wait(TIMEOUT)
        waiting = [ex.submit(record, f"j{i}", label=f"j{i}") for i in range(4)]
        assert first.queue_position() == 0
        assert [j.queue_position() for j in waiting] == [1, 2, 3, 4]
        assert all(j.status == "queued" for j in waiting)
        assert ex.active_jobs() == [first] and ex.queued_jobs() == waiting
        waiting[1].cancel()
        assert [j.queue_position() for j in waiting] == [1, None, 2, 3]
        gate.set()
        for j in waiting[::2] + waiting[3:]:
            j.result(timeout=TIMEOUT)
        assert order == ["j0", "j2", "j3"]
        assert ex.active_jobs() == [] and ex.queued_jobs() == []
    finally:
        ex.shutdown(wait=True, cancel=True)


def test_bounded_queue_raises_busy_error():
    ex = ThreadExecutor(max_workers=1, max_queue=2)
    try:
        gate, started = threading.Event(), threading.Event()
        ex.submit(blocking_task, gate, started=started)
        assert started.wait(TIMEOUT)
        a = ex.submit(counting_task, 1)
        ex.submit(counting_task, 1)
        with pytest.raises(HiermodError, match=r"The server is busy: 2 fits are waiting\. Try again"):
            ex.submit(counting_task, 1)
        a.cancel()  # cancelling a queued job frees its slot
        c = ex.submit(counting_task, 1)
        assert c.queue_position() == 2
        gate.set()
        assert c.result(timeout=TIMEOUT) == "ok"
    finally:
        ex.shutdown(wait=True, cancel=True)


def test_zero_queue_still_runs_when_a_worker_is_free():
    ex = ThreadExecutor(max_workers=1, max_queue=0)
    try:
        gate = threading.Event()
        job = ex.submit(blocking_task, gate)
        with pytest.raises(HiermodError, match="busy"):
            ex.submit(counting_task, 1)
        gate.set()
        assert job.result(timeout=TIMEOUT) == "released"
    finally:
        ex.shutdown(wait=True, cancel=True)


def test_unexpected_failure_gives_user_message_without_traceback(ex):
    def broken(*, progress, cancel, publish):
        progress(Progress(phase="compiling"))
        raise ZeroDivisionError("division by zero\nsecond line")

    job = ex.submit(broken, label="bad")
    assert job.wait(TIMEOUT)
    assert job.status == "failed"
    assert isinstance(job.error, ZeroDivisionError)
    msg = job.error_message
    assert msg.startswith("The fit failed unexpectedly (ZeroDivisionError: division by zero second line). Try")
    assert "Traceback" not in msg and "\n" not in msg and "File " not in msg
    with pytest.raises(ZeroDivisionError):
        job.result(timeout=TIMEOUT)
    assert job.progress.phase == "compiling"  # last progress kept
    assert job.queue_position() is None


def test_hiermod_error_message_passed_through(ex):
    text = "Column 'se' has 2 negative values (rows 3, 7); standard errors must be positive."

    def bad_data(*, progress, cancel, publish):
        raise DataError(text)

    job = ex.submit(bad_data)
    assert job.wait(TIMEOUT)
    assert job.status == "failed" and job.error_message == text
    with pytest.raises(DataError):
        job.result()


def test_executor_survives_failures(ex):
    def boom(*, progress, cancel, publish):
        raise RuntimeError("boom")

    bad = ex.submit(boom)
    good = ex.submit(counting_task, 3)
    assert good.result(timeout=TIMEOUT) == "ok"
    assert bad.status == "failed"


def test_publish_partial(ex):
    gate, published = threading.Event(), threading.Event()

    def task(*, progress, cancel, publish):
        publish({"exact": 1})
        published.set()
        gate.wait(TIMEOUT)
        publish({"exact": 2})
        return "final"

    job = ex.submit(task)
    assert published.wait(TIMEOUT)
    assert job.partial == {"exact": 1} and job.status == "running"
    gate.set()
    assert job.result(timeout=TIMEOUT) == "final"
    assert job.partial == {"exact": 2}


def test_many_jobs_complete_with_two_workers():
    ex = ThreadExecutor(max_workers=2, max_queue=30)
    try:
        submitted = [ex.submit(counting_task, 3, value=i, label=str(i)) for i in range(25)]
        assert [j.result(timeout=TIMEOUT) for j in submitted] == list(range(25))
        assert all(j.status == "done" for j in submitted)
        assert len({j.id for j in submitted}) == 25
    finally:
        ex.shutdown(wait=True)


def test_done_callback_and_job_run_in_calling_thread():
    calls = []
    job = Job(label="inline")
    job.add_done_callback(lambda j: calls.append(j.status))
    job.run(counting_task, 2)
    assert job.status == "done" and job.result() == "ok" and calls == ["done"]
    job.add_done_callback(lambda j: calls.append("late"))
    assert calls == ["done", "late"]


def test_shutdown_rejects_new_jobs():
    ex = ThreadExecutor()
    job = ex.submit(counting_task, 2)
    ex.shutdown(wait=True)
    assert job.status == "done"
    with pytest.raises(RuntimeError):
        ex.submit(counting_task, 1)


def test_default_executor_is_shared_and_reads_env(monkeypatch):
    previous = set_default_executor(None)
    try:
        monkeypatch.setenv("HIERMOD_EXECUTOR", "thread")
        monkeypatch.setenv("HIERMOD_WORKERS", "2")
        monkeypatch.setenv("HIERMOD_MAX_QUEUE", "4")
        got = []
        threads = [threading.Thread(target=lambda: got.append(default_executor())) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        assert len(got) == 8 and all(e is got[0] for e in got)
        ex = got[0]
        assert isinstance(ex, ThreadExecutor) and ex.max_workers == 2 and ex.max_queue == 4
        assert ex.submit(counting_task, 1).result(timeout=TIMEOUT) == "ok"
        ex.shutdown(wait=True)
    finally:
        set_default_executor(previous)


def test_default_executor_defaults(monkeypatch):
    previous = set_default_executor(None)
    try:
        monkeypatch.setenv("HIERMOD_EXECUTOR", "thread")
        monkeypatch.delenv("HIERMOD_WORKERS", raising=False)
        monkeypatch.setenv("HIERMOD_MAX_QUEUE", "not a number")
        ex = default_executor()
        assert ex.max_workers == 1 and ex.max_queue == jobs.DEFAULT_MAX_QUEUE >= jobs.CLASS_SIZE
        ex.shutdown(wait=True)
    finally:
        set_default_executor(previous)


def test_executor_settings_errors_name_the_setting(monkeypatch):
    """A wrong HIERMOD_EXECUTOR, or a Dask scheduler without hiermod's Dask executor, is refused
    with a message naming the setting and the fix (the process pool itself: test_worker_pool.py)."""
    previous = set_default_executor(None)
    try:
        monkeypatch.setenv("HIERMOD_EXECUTOR", "fork")
        with pytest.raises(HiermodError, match="HIERMOD_EXECUTOR='fork'.*'process'.*'thread'"):
            default_executor()
        monkeypatch.setitem(sys.modules, "hiermod.dask_executor", None)  # import fails
        monkeypatch.setenv("HIERMOD_DASK_SCHEDULER", "tcp://127.0.0.1:1")
        with pytest.raises(HiermodError, match="HIERMOD_DASK_SCHEDULER.*pip install.*unset"):
            default_executor()
    finally:
        set_default_executor(previous)


def test_fair_queue_round_robin_one_running_job_per_session():
    """Session A queues three jobs, then B and C one each: with one worker the order is A1 (runs),
    B, C, A2, A3 -- A waits behind its own running job and the sessions take turns; the positions
    say so while they wait."""
    ex = ThreadExecutor(max_workers=1, max_queue=10)
    gate = threading.Event()
    started = []

    def record(name, *, progress, cancel, publish):
        started.append(name)
        gate.wait(TIMEOUT)
        return name

    try:
        a1 = ex.submit(record, "A1", session="A")
        assert wait_until(lambda: started == ["A1"])
        a2 = ex.submit(record, "A2", session="A")
        a3 = ex.submit(record, "A3", session="A")
        b = ex.submit(record, "B", session="B")
        c = ex.submit(record, "C", session="C")
        assert a1.queue_position() == 0 and ex.queued_jobs() == [b, c, a2, a3]
        assert [b.queue_position(), c.queue_position(), a2.queue_position(), a3.queue_position()] == [1, 2, 3, 4]
        gate.set()
        for job in (a1, a2, a3, b, c):
            job.result(timeout=TIMEOUT)
        assert started == ["A1", "B", "C", "A2", "A3"]
    finally:
        gate.set()
        ex.shutdown(wait=True)


def test_one_session_waits_for_its_own_job_even_with_free_workers():
    """Two workers, one session: its second job waits until the first ends (the other worker stays
    free for another session's job, which starts at once)."""
    ex = ThreadExecutor(max_workers=2, max_queue=10)
    gate = threading.Event()

    def hold(*, progress, cancel, publish):
        gate.wait(TIMEOUT)
        return "held"

    try:
        a1 = ex.submit(hold, session="A")
        a2 = ex.submit(hold, session="A")
        assert wait_until(lambda: a1.status == "running")
        time.sleep(0.1)
        assert a2.status == "queued" and a2.queue_position() == 1
        b = ex.submit(counting_task, 1, session="B")
        assert b.result(timeout=TIMEOUT) == "ok" and a2.status == "queued"
        gate.set()
        assert a2.result(timeout=TIMEOUT) == "held"
    finally:
        gate.set()
        ex.shutdown(wait=True)


def test_queue_holds_a_class():
    """The documented class size fits in the default queue: CLASS_SIZE sessions each queue a fit
    behind one running job without a "busy" refusal."""
    ex = ThreadExecutor(max_workers=1)
    gate = threading.Event()

    def hold(*, progress, cancel, publish):
        gate.wait(TIMEOUT)

    try:
        jobs_ = [ex.submit(hold, session=f"s{i}") for i in range(jobs.CLASS_SIZE + 1)]
        assert len(ex.queued_jobs()) == jobs.CLASS_SIZE
        assert jobs_[-1].queue_position() == jobs.CLASS_SIZE
    finally:
        gate.set()
        ex.shutdown(wait=True)


def test_imports_neither_streamlit_nor_jax():
    import ast

    tree = ast.parse(open(jobs.__file__, encoding="utf-8").read())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert not {m for m in names if m.split(".")[0] in {"streamlit", "jax", "numpyro"}}
