"""An :class:`~hiermod.jobs.Executor` on a Dask distributed cluster: fits run on its workers.

``DaskExecutor("tcp://host:8786")`` connects a ``distributed.Client`` to the scheduler and runs
each submitted task there. The :class:`~hiermod.jobs.Job` it returns behaves as a local one:

* **progress and partial results**: the task runs on a worker with ``progress`` and ``publish``
  callables that put ``(job id, topic, pickled payload)`` on ONE ``distributed.Queue`` per executor
  (held by the scheduler, so nothing is lost between the worker and this process); a thread here
  drains it every ``poll_s`` seconds into the jobs. Progress is sent at most every ``every_s``
  seconds (a new phase at once). A ``started`` message (worker address, pid) marks the job running
  and is recorded in :attr:`DaskExecutor.attempts`.
* **cancel**: :meth:`Job.cancel` sets a ``distributed.Event`` named after the job; the task's
  ``cancel.is_set()`` asks the scheduler (at most every ``every_s`` seconds), so a NUTS fit stops
  within one chunk. A job not yet started is also withdrawn with ``Future.cancel``.
* **results**: the task's return value (a :class:`~hiermod.result.Fit`) comes back pickled, the
  same object a local fit returns. A :class:`~hiermod.errors.HiermodError` raised by the task
  (a bad model, a cancel) is returned as a value so Dask does not retry it; any other exception
  is retried ``retries`` times (default 1) by Dask, then fails the job.
* **lost workers**: when a worker dies mid-task (killed, out of memory) the scheduler runs the
  task again on another worker (up to ``distributed.scheduler.allowed-failures`` deaths, 3 by
  default, then :class:`~hiermod.errors.FitError`). Tasks are deterministic given their
  arguments (the seed is one of them), so the rerun gives the same draws; the job's progress
  restarts from zero.

Each worker needs this repository's requirements and ``hiermod`` importable (installed, or the
checkout on ``PYTHONPATH``). Tasks must be module-level functions with picklable arguments.
The scheduler address comes from ``HIERMOD_DASK_SCHEDULER`` (the app, through
:func:`hiermod.jobs.default_executor`) or ``--scheduler`` (the command line); a scheduler that
does not answer within ``timeout`` seconds (``HIERMOD_DASK_TIMEOUT``, default 10) raises a
:class:`~hiermod.errors.HiermodError` naming both.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import time
from contextlib import contextmanager
from typing import Any, Callable

from .errors import FitCancelled, FitError, HiermodError
from .jobs import Executor, Job, Progress

__all__ = ["DaskExecutor", "SCHEDULER_ENV", "TIMEOUT_ENV", "DEFAULT_TIMEOUT_S", "scheduler_from_env",
           "run_on_worker"]

log = logging.getLogger(__name__)

SCHEDULER_ENV = "HIERMOD_DASK_SCHEDULER"
"""The environment variable naming the scheduler (``tcp://host:8786``) the app sends fits to."""
TIMEOUT_ENV = "HIERMOD_DASK_TIMEOUT"
"""Seconds to wait for the scheduler to answer before giving up (default :data:`DEFAULT_TIMEOUT_S`)."""
DEFAULT_TIMEOUT_S = 10.0
HOW_TO_SET = (f"Check the address in {SCHEDULER_ENV} (the app) or --scheduler (the command line): "
              "it is the one `dask scheduler` prints (tcp://host:8786); start the scheduler, or unset "
              f"{SCHEDULER_ENV} / leave out --scheduler to fit on this machine.")


def scheduler_from_env() -> str | None:
    """``HIERMOD_DASK_SCHEDULER`` stripped, or None when it is unset or empty."""
    value = os.environ.get(SCHEDULER_ENV, "").strip()
    return value or None


def _timeout_from_env() -> float:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        raise HiermodError(f"{TIMEOUT_ENV}={raw!r} is not a number of seconds; set it to e.g. 10.") from None
    if not value > 0:
        raise HiermodError(f"{TIMEOUT_ENV}={raw!r} must be a positive number of seconds, e.g. 10.")
    return value


# --------------------------------------------------------------------------- on the worker

_worker_ready = False


def _prepare_worker() -> None:
    """Once per worker process: JAX's on-disk compilation cache (shared with other processes)."""
    global _worker_ready
    if not _worker_ready:
        from .compilation import enable_persistent_cache_if_possible

        enable_persistent_cache_if_possible()
        _worker_ready = True


class _Channel:
    """The task's side of the job's messages: ``(job id, topic, pickled payload)`` on the queue."""

    def __init__(self, queue_name: str, job_id: str, every_s: float) -> None:
        from distributed import Queue

        self._queue = Queue(queue_name)
        self._job_id = job_id
        self._every = every_s
        self._last = 0.0
        self._phase = ""

    def send(self, topic: str, payload: Any) -> None:
        try:
            self._queue.put((self._job_id, topic, pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)))
        except Exception:  # noqa: BLE001 - messages are best effort: the fit itself goes on
            log.warning("Could not send %s of job %s to the scheduler", topic, self._job_id, exc_info=True)

    def progress(self, p: Progress) -> None:
        now = time.monotonic()
        if p.phase != self._phase or now - self._last >= self._every:
            self._phase, self._last = p.phase, now
            self.send("progress", p)

    def publish(self, obj: Any) -> None:
        self.send("partial", obj)


class _RemoteCancel:
    """``is_set()`` of the job's ``distributed.Event``, asked at most every ``every_s`` seconds."""

    def __init__(self, name: str, every_s: float) -> None:
        from distributed import Event

        self._event = Event(name)
        self._every = every_s
        self._last = -float("inf")
        self._set = False

    def is_set(self) -> bool:
        now = time.monotonic()
        if not self._set and now - self._last >= self._every:
            self._last = now
            try:
                self._set = bool(self._event.is_set())
            except Exception:  # noqa: BLE001 - the scheduler is unreachable: keep going
                log.warning("Could not ask the scheduler for a cancel", exc_info=True)
        return self._set


def run_on_worker(task: Callable[..., Any], args: tuple, kwargs: dict, *, job_id: str, queue_name: str,
                  cancel_name: str, every_s: float) -> tuple[str, Any]:
    """What Dask runs: ``task(*args, progress=, cancel=, publish=, **kwargs)`` wired to the job's
    queue and cancel event; returns ``("ok", value)`` or ``("error", HiermodError)`` (not retried)."""
    from distributed import get_worker

    _prepare_worker()
    channel = _Channel(queue_name, job_id, every_s)
    channel.send("started", {"worker": get_worker().address, "pid": os.getpid(), "time": time.time()})
    cancel = _RemoteCancel(cancel_name, every_s)
    if cancel.is_set():
        return "error", FitCancelled("The fit was cancelled before it started.")
    try:
        value = task(*args, progress=channel.progress, cancel=cancel, publish=channel.publish, **kwargs)
    except HiermodError as exc:  # FitCancelled too: the same outcome on any worker
        return "error", exc
    return "ok", value


# ------------------------------------------------------------------------ in this process


@contextmanager
def _quiet_distributed():
    """distributed logs every failed connection attempt; the error we raise says it once."""
    loggers = [logging.getLogger(n) for n in ("distributed", "distributed.client", "distributed.comm.core",
                                               "distributed.core")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


class DaskExecutor(Executor):
    """Runs jobs on the Dask cluster whose scheduler is at ``address`` (module docstring).

    Options: ``timeout`` seconds to reach the scheduler (default ``HIERMOD_DASK_TIMEOUT`` or 10);
    ``retries`` Dask reruns of a task that raised an unexpected error (default 1; a lost worker's
    task is rerun by the scheduler regardless); ``max_queue`` jobs waiting before submit refuses
    (default None: the cluster holds them all); ``poll_s`` how often messages are read (0.2);
    ``every_s`` how often a task sends progress and asks for a cancel (0.25).
    """

    def __init__(self, address: str, *, timeout: float | None = None, retries: int = 1,
                 max_queue: int | None = None, poll_s: float = 0.2, every_s: float = 0.25) -> None:
        address = str(address or "").strip()
        if not address:
            raise HiermodError(f"No Dask scheduler address given. {HOW_TO_SET}")
        self.address = address
        self.timeout = float(timeout) if timeout is not None else _timeout_from_env()
        self.retries = int(retries)
        self.max_queue = max_queue
        self.poll_s = float(poll_s)
        self.every_s = float(every_s)
        self._client = self._connect(address, self.timeout)
        import uuid

        from distributed import Queue

        self._queue_name = f"hiermod-messages-{uuid.uuid4().hex}"
        self._queue = Queue(self._queue_name, client=self._client)
        self._lock = threading.RLock()
        self._drain_lock = threading.Lock()
        self._jobs: dict[str, tuple[Job, Any]] = {}  # id -> (job, future), unfinished, submit order
        self._attempts: dict[str, list[dict]] = {}
        self._closed = False
        self._stop = threading.Event()
        self._pump = threading.Thread(target=self._pump_loop, name="hiermod-dask-messages", daemon=True)
        self._pump.start()

    def __repr__(self) -> str:
        return f"<DaskExecutor {self.address} {len(self._jobs)} unfinished>"

    @staticmethod
    def _connect(address: str, timeout: float):
        """A Client on ``address``; HiermodError (one line, naming the setting) when it cannot be had."""
        import asyncio

        from distributed import Client
        from distributed.comm import connect, parse_address
        from distributed.comm.addressing import parse_host_port

        try:
            scheme, location = parse_address(address)
            if scheme in ("tcp", "tls", "ws", "wss"):
                parse_host_port(location)
        except Exception as exc:  # noqa: BLE001 - ValueError / TypeError from the parsers
            raise HiermodError(f"{address!r} is not a Dask scheduler address ({_one_line(exc)}). "
                               f"{HOW_TO_SET}") from None

        async def probe() -> None:  # fails fast and leaves no half-made Client behind
            comm = await connect(address, timeout=timeout)
            await comm.close()

        def probe_in_thread() -> None:  # its own event loop, whether or not the caller has one (Jupyter)
            failure: list[BaseException] = []

            def run() -> None:
                try:
                    asyncio.run(probe())
                except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                    failure.append(exc)

            thread = threading.Thread(target=run, name="hiermod-dask-probe", daemon=True)
            thread.start()
            thread.join()
            if failure:
                raise failure[0]

        try:
            with _quiet_distributed():
                probe_in_thread()
                return Client(address, timeout=timeout, set_as_default=False)
        except Exception as exc:  # noqa: BLE001 - OSError / TimeoutError
            raise HiermodError(f"Cannot reach the Dask scheduler at {address!r} within {timeout:g} s "
                               f"({_one_line(exc)}). {HOW_TO_SET}") from None

    # ------------------------------------------------------------------------- Executor API
    @property
    def client(self):
        """The ``distributed.Client`` (e.g. ``executor.client.scheduler_info()``)."""
        return self._client

    def submit(self, task: Callable[..., Any], *args: Any, label: str = "", session: Any = None,
               **kwargs: Any) -> Job:
        """Send ``task`` to the cluster; its Job is queued until a worker starts it. ``session``
        (the local executors' fair-queueing key) is accepted and not used: the Dask scheduler
        orders tasks by submission."""
        job = Job(label=label, executor=self)
        with self._lock:
            if self._closed:
                raise RuntimeError("This executor has been shut down.")
            if self.max_queue is not None:
                waiting = sum(1 for j, _ in self._jobs.values() if j.status == "queued")
                if waiting >= self.max_queue:
                    raise HiermodError(f"The cluster is busy: {waiting} fits are waiting. Try again in a minute.")
            future = self._client.submit(
                run_on_worker, task, args, kwargs, job_id=job.id, queue_name=self._queue_name,
                cancel_name=self._cancel_name(job), every_s=self.every_s,
                key=f"hiermod-{_slug(label)}-{job.id}", pure=False, retries=self.retries)
            self._jobs[job.id] = (job, future)
            self._attempts[job.id] = []
        future.add_done_callback(lambda f, job=job: self._on_done(job, f))
        return job

    def active_jobs(self) -> list[Job]:
        with self._lock:
            return [j for j, _ in self._jobs.values() if j.status == "running"]

    def queued_jobs(self) -> list[Job]:
        with self._lock:
            return [j for j, _ in self._jobs.values() if j.status == "queued"]

    def attempts(self, job: Job) -> list[dict]:
        """Where the job's task started, in order: ``{"worker", "pid", "time"}`` per attempt (a
        second entry means its first worker died and the scheduler ran it again)."""
        with self._lock:
            return list(self._attempts.get(job.id, ()))

    def worker_pids(self) -> dict[str, int]:
        """{worker address: process id} of the cluster's workers now."""
        return self._client.run(os.getpid)

    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        with self._lock:
            self._closed = True
            jobs = [j for j, _ in self._jobs.values()]
        if cancel:
            for job in jobs:
                job.cancel()
        if wait:
            for job in jobs:
                job.wait()
        if wait or cancel or not self._jobs:
            self._close()

    def _close(self) -> None:
        self._stop.set()
        if self._pump is not threading.current_thread():
            self._pump.join(timeout=5)
        with _quiet_distributed():
            try:
                self._queue.close()
                self._client.close(timeout=5)
            except Exception:  # noqa: BLE001 - closing a client whose scheduler is gone
                log.debug("Closing the Dask client failed", exc_info=True)

    # ----------------------------------------------------------------------------- internals
    @staticmethod
    def _cancel_name(job: Job) -> str:
        return f"hiermod-cancel-{job.id}"

    def _withdraw(self, job: Job) -> None:
        """Job.cancel: set the task's event; a job no worker has started is dropped at once."""
        from distributed import Event

        with self._lock:
            entry = self._jobs.get(job.id)
        if entry is None:
            return
        try:
            Event(self._cancel_name(job), client=self._client).set()
        except Exception:  # noqa: BLE001
            log.warning("Could not send the cancel of job %s to the scheduler", job.id, exc_info=True)
        if job.status == "queued":
            entry[1].cancel()

    def _pump_loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            with self._lock:
                busy = bool(self._jobs)
            if busy:
                self._drain()

    def _drain(self) -> None:
        """Read every waiting message and hand each to its job (in the order they were sent)."""
        with self._drain_lock:
            try:
                messages = self._queue.get(batch=True)
            except Exception:  # noqa: BLE001 - scheduler gone: the futures will say so
                if not self._stop.is_set():
                    log.debug("Reading job messages failed", exc_info=True)
                return
            for job_id, topic, blob in messages:
                with self._lock:
                    entry = self._jobs.get(job_id)
                if entry is None:
                    continue
                job = entry[0]
                try:
                    payload = pickle.loads(blob)
                except Exception:  # noqa: BLE001
                    log.warning("Unreadable %s message of job %s", topic, job_id, exc_info=True)
                    continue
                if topic == "started":
                    with self._lock:
                        self._attempts[job_id].append(payload)
                    if len(self._attempts[job_id]) > 1:
                        job.report(Progress(phase="queued", message="Its worker was lost: running it again "
                                                                    f"on {payload.get('worker')}."))
                    job._mark_running()
                elif topic == "progress":
                    job.report(payload)
                elif topic == "partial":
                    job.publish(payload)

    def _on_done(self, job: Job, future) -> None:
        """The future finished (Dask's callback thread): read its last messages, record the outcome."""
        self._drain()
        status, outcome = self._outcome(job, future)
        if status == "done" and job.cancel_event.is_set():
            status, outcome = "cancelled", FitCancelled("The fit was cancelled.")
        if status == "done":
            job._finish("done", result=outcome)
        else:
            job._finish(status, error=outcome)
        with self._lock:
            self._jobs.pop(job.id, None)
        if job.cancel_event.is_set():
            from distributed import Event

            try:
                Event(self._cancel_name(job), client=self._client).clear()  # the scheduler forgets it
            except Exception:  # noqa: BLE001
                log.debug("Clearing the cancel event of job %s failed", job.id, exc_info=True)
        future.release()

    def _outcome(self, job: Job, future) -> tuple[str, Any]:
        from distributed.scheduler import KilledWorker

        if future.status == "finished":
            try:
                outcome, value = future.result()
            except Exception as exc:  # noqa: BLE001 - a result that cannot be unpickled here
                return "failed", exc
            if outcome == "ok":
                return "done", value
            return ("cancelled" if isinstance(value, FitCancelled) else "failed"), value
        if future.status == "cancelled":
            if job.cancel_event.is_set():
                return "cancelled", FitCancelled("The fit was cancelled before it started.")
            return "failed", FitError(f"The Dask scheduler at {self.address} dropped this fit (the connection "
                                      "was lost or the cluster restarted). Try again.")
        exc = future.exception()
        if isinstance(exc, KilledWorker):
            deaths = len(self.attempts(job))
            return "failed", FitError(
                f"The Dask workers running this fit died {deaths} times (killed, or out of memory), so "
                "the scheduler gave it up. Try fewer draws or a smaller model, or give the workers more memory.")
        if isinstance(exc, FitCancelled):
            return "cancelled", exc
        return "failed", exc


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _slug(label: str) -> str:
    text = "".join(c if c.isalnum() else "-" for c in str(label).lower()).strip("-")
    return "-".join(part for part in text.split("-") if part)[:40] or "job"
