"""Background runs with progress and cancel, behind a ``concurrent.futures``-style executor.

Nothing here imports Streamlit (or JAX). A page submits a task, keeps the returned :class:`Job`
in session state and polls ``job.status`` / ``job.progress`` / ``job.partial`` from a fragment;
worker threads only ever touch the job object.

A task is any callable with the signature::

    task(*args, progress: Callable[[Progress], None], cancel: threading.Event,
         publish: Callable[[Any], None], **kwargs)

It reports :class:`Progress` through ``progress``, checks ``cancel.is_set()`` regularly (raising
:class:`~hiermod.errors.FitCancelled` or simply returning), and may ``publish`` a partial result
(for example an exact posterior shown before the sampler finishes).

:class:`Executor` is the interface the pages use. :class:`QueueingExecutor` holds the waiting jobs
in a :class:`FairQueue` (one running job per session, sessions served round-robin, at most
``max_queue`` waiting); :class:`ThreadExecutor` runs them on local threads and
:class:`hiermod.worker_pool.ProcessExecutor` in worker processes. :func:`default_executor` returns
the process-wide one shared by every browser session; another (for example the Dask one) can be
installed with :func:`set_default_executor` without touching the pages. A task sent to another
process must be picklable: a module-level function with picklable arguments.
"""

from __future__ import annotations

import abc
import importlib
import logging
import os
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

from hiermod.errors import FitCancelled, HiermodError

__all__ = [
    "PHASES",
    "STATUSES",
    "Progress",
    "Job",
    "Executor",
    "FairQueue",
    "QueueingExecutor",
    "ThreadExecutor",
    "CLASS_SIZE",
    "DEFAULT_MAX_QUEUE",
    "default_executor",
    "set_default_executor",
    "user_message",
]

log = logging.getLogger(__name__)

CLASS_SIZE = 60
"""Browser sessions the dashboard is documented to serve at once (README, "Serving a class")."""
DEFAULT_MAX_QUEUE = 2 * CLASS_SIZE
"""Jobs that may wait (``HIERMOD_MAX_QUEUE``): every session of a class with a fit and one more."""

PHASES = ("queued", "compiling", "warmup", "sampling", "postprocessing", "done")
STATUSES = ("queued", "running", "done", "failed", "cancelled")
FINISHED = frozenset({"done", "failed", "cancelled"})

_MAX_DETAIL_CHARS = 300


@dataclass(frozen=True)
class Progress:
    """A snapshot of a run: phase, iterations done of total (summed over chains), timing."""

    phase: str = "queued"
    done: int = 0
    total: int = 0
    divergences: int = 0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    message: str = ""

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"Unknown progress phase {self.phase!r}; expected one of {PHASES}.")

    @property
    def fraction(self) -> float:
        """Share of the work done, in [0, 1] (1 when the phase is "done", 0 when total is 0)."""
        if self.phase == "done":
            return 1.0
        if self.total <= 0:
            return 0.0
        return min(1.0, max(0.0, self.done / self.total))


def _one_line(text: str) -> str:
    text = " ".join(str(text).split())
    if len(text) > _MAX_DETAIL_CHARS:
        text = text[: _MAX_DETAIL_CHARS - 1] + "…"
    return text


def user_message(error: BaseException) -> str:
    """A user-facing one-liner for ``error``: a HiermodError's own message, else a generic one."""
    if isinstance(error, HiermodError):
        return str(error)
    detail = _one_line(str(error))
    kind = type(error).__name__
    inner = f"{kind}: {detail}" if detail else kind
    return (
        f"The fit failed unexpectedly ({inner}). Try again, perhaps with fewer draws, another "
        "seed or a simpler model; if it keeps failing, report it with a description of your data."
    )


class Job:
    """One background run: status, latest progress, partial result, outcome, cancel.

    Thread-safe. Created by an :class:`Executor`; pages only read it and call :meth:`cancel`.
    """

    def __init__(self, label: str = "", executor: Executor | None = None) -> None:
        self.id: str = uuid.uuid4().hex
        self.label: str = label
        self.cancel_event = threading.Event()
        self.submitted_at: float = time.time()
        self._executor = executor
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._status = "queued"
        self._progress = Progress(phase="queued", message="Waiting in the queue.")
        self._partial: Any = None
        self._result: Any = None
        self._error: BaseException | None = None
        self._started_at: float | None = None
        self._finished_at: float | None = None
        self._callbacks: list[Callable[[Job], None]] = []

    def __repr__(self) -> str:
        return f"<Job {self.id[:8]} {self.label!r} {self.status}>"

    # ----------------------------------------------------------------------------- read side
    @property
    def status(self) -> str:
        """One of "queued", "running", "done", "failed", "cancelled"."""
        with self._lock:
            return self._status

    @property
    def progress(self) -> Progress:
        """The latest :class:`Progress` reported."""
        with self._lock:
            return self._progress

    @property
    def partial(self) -> Any:
        """The latest object the task published (None until it publishes)."""
        with self._lock:
            return self._partial

    @property
    def error(self) -> BaseException | None:
        """The exception that ended the job (FitCancelled when cancelled), else None."""
        with self._lock:
            return self._error

    @property
    def error_message(self) -> str | None:
        """A user-facing one-liner for :attr:`error` (never a traceback), or None."""
        err = self.error
        return None if err is None else user_message(err)

    @property
    def started_at(self) -> float | None:
        """Epoch seconds when the task started running, or None."""
        with self._lock:
            return self._started_at

    @property
    def finished_at(self) -> float | None:
        """Epoch seconds when the job finished (any outcome), or None."""
        with self._lock:
            return self._finished_at

    def done(self) -> bool:
        """True once the job is done, failed or cancelled."""
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job finishes or ``timeout`` passes; return :meth:`done`."""
        return self._finished.wait(timeout)

    def result(self, timeout: float | None = None) -> Any:
        """The task's return value; re-raises its error (FitCancelled when cancelled).

        Raises ``TimeoutError`` if the job is not finished within ``timeout`` seconds.
        """
        if not self._finished.wait(timeout):
            raise TimeoutError(f"Job {self.label or self.id} did not finish within {timeout} s.")
        with self._lock:
            if self._error is not None:
                raise self._error
            return self._result

    def queue_position(self) -> int | None:
        """0 while running, k when k-th in line (1 = next), None once finished."""
        status = self.status
        if status in FINISHED:
            return None
        if status == "running":
            return 0
        if self._executor is None:
            return None
        return self._executor.queue_position(self)

    def add_done_callback(self, fn: Callable[[Job], None]) -> None:
        """Call ``fn(job)`` when the job finishes (at once if it already has)."""
        with self._lock:
            if self._status not in FINISHED:
                self._callbacks.append(fn)
                return
        _call_safely(fn, self)

    # ---------------------------------------------------------------------------- write side
    def cancel(self) -> bool:
        """Ask the job to stop; a queued job is cancelled at once. False if already finished."""
        if self.done():
            return False
        self.cancel_event.set()
        if self._executor is not None:
            self._executor._withdraw(self)
        return True

    def publish(self, obj: Any) -> None:
        """Make ``obj`` available as :attr:`partial` (called by the task while it runs)."""
        with self._lock:
            if self._status not in FINISHED:
                self._partial = obj

    def report(self, progress: Progress) -> None:
        """Record the latest progress (called by the task; ignored once finished)."""
        if not isinstance(progress, Progress):
            raise TypeError(f"progress must be a Progress, not {type(progress).__name__}")
        with self._lock:
            if self._status not in FINISHED:
                self._progress = progress

    def _mark_running(self) -> bool:
        """queued -> running (idempotent); False if the job has already finished."""
        with self._lock:
            if self._status in FINISHED:
                return False
            if self._status == "queued":
                self._status = "running"
                self._started_at = time.time()
                self._progress = Progress(phase="queued", message="Starting.")
            return True

    def _finish(self, status: str, result: Any = None, error: BaseException | None = None) -> bool:
        """Record the outcome once; later calls are ignored. Runs done callbacks."""
        with self._lock:
            if self._status in FINISHED:
                return False
            self._status = status
            self._result = result
            self._error = error
            self._finished_at = time.time()
            if status == "done":
                last = self._progress
                total = last.total if last.total > 0 else last.done
                self._progress = Progress(
                    phase="done",
                    done=total,
                    total=total,
                    divergences=last.divergences,
                    elapsed_s=last.elapsed_s,
                    eta_s=0.0,
                    message=last.message if last.phase == "done" else "Done.",
                )
            callbacks, self._callbacks = self._callbacks, []
        self._finished.set()
        for fn in callbacks:
            _call_safely(fn, self)
        return True

    def run(self, task: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``task`` in the calling thread and record its outcome (used by executors)."""
        if self.cancel_event.is_set() or not self._mark_running():
            self._finish("cancelled", error=FitCancelled("The fit was cancelled before it started."))
            return
        try:
            value = task(
                *args, progress=self.report, cancel=self.cancel_event, publish=self.publish, **kwargs
            )
        except FitCancelled as exc:
            self._finish("cancelled", error=exc)
        except BaseException as exc:  # noqa: BLE001 - recorded for the page, never re-raised here
            if self.cancel_event.is_set() and not isinstance(exc, HiermodError):
                log.debug("Job %s raised after cancel", self.id, exc_info=True)
            else:
                log.warning("Job %s (%s) failed", self.id, self.label, exc_info=True)
            self._finish("failed", error=exc)
        else:
            if self.cancel_event.is_set():
                self._finish("cancelled", error=FitCancelled("The fit was cancelled."))
            else:
                self._finish("done", result=value)


def _call_safely(fn: Callable[[Job], None], job: Job) -> None:
    try:
        fn(job)
    except Exception:  # noqa: BLE001
        log.exception("Done callback of job %s failed", job.id)


class Executor(abc.ABC):
    """Runs tasks in the background and hands back :class:`Job` handles."""

    @abc.abstractmethod
    def submit(self, task: Callable[..., Any], *args: Any, label: str = "", **kwargs: Any) -> Job:
        """Queue ``task(*args, progress=..., cancel=..., publish=..., **kwargs)``; return its Job.

        Raises :class:`~hiermod.errors.HiermodError` when the queue is full.
        """

    @abc.abstractmethod
    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        """Stop accepting jobs; with ``cancel`` cancel all; with ``wait`` block until idle."""

    @abc.abstractmethod
    def active_jobs(self) -> list[Job]:
        """Jobs running now."""

    @abc.abstractmethod
    def queued_jobs(self) -> list[Job]:
        """Jobs waiting to run, first in line first."""

    def queue_position(self, job: Job) -> int | None:
        """0 if ``job`` is running, k if k-th in line, None otherwise."""
        if job in self.active_jobs():
            return 0
        queued = self.queued_jobs()
        return queued.index(job) + 1 if job in queued else None

    def _withdraw(self, job: Job) -> None:  # noqa: B027 - optional hook
        """Hook called by :meth:`Job.cancel`: drop a queued job from the queue."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True)


class FairQueue:
    """Queued jobs by session, served round-robin: the next job comes from the session served
    longest ago (never served first, then by arrival), and a session with a running job waits.

    Not thread-safe on its own: the executor holding it locks around every call. A job submitted
    without a session is a session of its own (it waits only for its turn).
    """

    _FORGET_AFTER = 10_000  # sessions remembered as served; older ones are forgotten

    def __init__(self) -> None:
        self._queues: dict[Any, deque] = {}
        self._arrival: dict[Any, int] = {}  # when the session's current queue started
        self._served: dict[Any, int] = {}   # when the session last had a job started
        self._tick = 0

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def _next_tick(self) -> int:
        self._tick += 1
        return self._tick

    def _rotation(self) -> list:
        return sorted(self._queues, key=lambda s: (self._served.get(s, -1), self._arrival[s]))

    def push(self, session: Any, entry: tuple) -> None:
        """Queue ``entry`` (whose first item is the Job) behind the session's other jobs."""
        if session not in self._queues:
            self._queues[session] = deque()
            self._arrival[session] = self._next_tick()
        self._queues[session].append(entry)

    def pop_next(self, busy: set) -> tuple | None:
        """The first job of the first session in rotation not in ``busy``, or None."""
        for session in self._rotation():
            if session in busy:
                continue
            entries = self._queues[session]
            entry = entries.popleft()
            if not entries:
                del self._queues[session], self._arrival[session]
            self._served[session] = self._next_tick()
            if len(self._served) > self._FORGET_AFTER:
                for old in sorted(self._served, key=self._served.get)[: self._FORGET_AFTER // 2]:
                    self._served.pop(old)
            return entry
        return None

    def remove(self, job: Job) -> tuple | None:
        """Take ``job`` out of the queue; its entry, or None when it was not queued."""
        for session, entries in self._queues.items():
            for entry in entries:
                if entry[0] is job:
                    entries.remove(entry)
                    if not entries:
                        del self._queues[session], self._arrival[session]
                    return entry
        return None

    def order(self) -> list[Job]:
        """The queued jobs in the order they would start: each session's first job in rotation
        order, then each session's second, and so on."""
        queues = [list(self._queues[s]) for s in self._rotation()]
        longest = max((len(q) for q in queues), default=0)
        return [q[i][0] for i in range(longest) for q in queues if i < len(q)]


class QueueingExecutor(Executor):
    """At most ``max_workers`` jobs run at once; up to ``max_queue`` wait in a :class:`FairQueue`
    (one running job per session, sessions served round-robin). Subclasses start a job
    (:meth:`_start`) and call :meth:`_job_finished` when it has ended."""

    def __init__(self, max_workers: int = 1, max_queue: int | None = None) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1.")
        max_queue = DEFAULT_MAX_QUEUE if max_queue is None else max_queue
        if max_queue < 0:
            raise ValueError("max_queue must be 0 or more.")
        self.max_workers = max_workers
        self.max_queue = max_queue
        self._cond = threading.Condition()
        self._queue = FairQueue()
        self._running: list[Job] = []
        self._sessions: dict[Job, Any] = {}  # job -> session, queued or running
        self._closed = False

    def submit(self, task: Callable[..., Any], *args: Any, label: str = "", session: Any = None,
               **kwargs: Any) -> Job:
        """Queue a task for ``session`` (any hashable; None: a session of its own); raises
        HiermodError when ``max_queue`` jobs are already waiting."""
        job = Job(label=label, executor=self)
        with self._cond:
            if self._closed:
                raise RuntimeError("This executor has been shut down.")
            if len(self._running) >= self.max_workers and len(self._queue) >= self.max_queue:
                n = len(self._queue)
                raise HiermodError(
                    f"The server is busy: {n} fit{'s are' if n != 1 else ' is'} waiting. Try again in a "
                    "minute. (The queue holds HIERMOD_MAX_QUEUE jobs; the server's administrator can "
                    "raise it.)"
                )
            self._sessions[job] = ("job", job.id) if session is None else session
            self._queue.push(self._sessions[job], (job, task, args, kwargs))
            self._dispatch_locked()
        return job

    def active_jobs(self) -> list[Job]:
        with self._cond:
            return list(self._running)

    def queued_jobs(self) -> list[Job]:
        with self._cond:
            return self._queue.order()

    def queue_position(self, job: Job) -> int | None:
        with self._cond:
            if job in self._running:
                return 0
            order = self._queue.order()
            return order.index(job) + 1 if job in order else None

    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        with self._cond:
            self._closed = True
            jobs = self._queue.order() + list(self._running) if cancel else []
        for job in jobs:
            job.cancel()
        if wait:
            with self._cond:
                self._cond.wait_for(lambda: not len(self._queue) and not self._running)
        self._closed_idle(wait)

    # ------------------------------------------------------------------------------ internals
    @abc.abstractmethod
    def _start(self, job: Job, task: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        """Start ``job`` (already marked running; called with the lock held: must not block)."""

    def _closed_idle(self, wait: bool) -> None:  # noqa: B027 - optional hook
        """Called by :meth:`shutdown` (after waiting, with ``wait``): release workers."""

    def _dispatch_locked(self) -> None:
        while len(self._running) < self.max_workers:
            busy = {self._sessions[j] for j in self._running}
            entry = self._queue.pop_next(busy)
            if entry is None:
                return
            job, task, args, kwargs = entry
            self._running.append(job)
            job._mark_running()
            self._start(job, task, args, kwargs)

    def _job_finished(self, job: Job) -> None:
        with self._cond:
            if job in self._running:
                self._running.remove(job)
            self._sessions.pop(job, None)
            self._dispatch_locked()
            self._cond.notify_all()
            idle = self._closed and not len(self._queue) and not self._running
        if idle:
            self._closed_idle(False)

    def _withdraw(self, job: Job) -> None:
        with self._cond:
            if self._queue.remove(job) is None:
                return
            self._sessions.pop(job, None)
            self._dispatch_locked()  # a session's next job may now be first in line
            self._cond.notify_all()
        job._finish("cancelled", error=FitCancelled("The fit was cancelled before it started."))


class ThreadExecutor(QueueingExecutor):
    """Local worker threads in this process (tests, notebooks, ``HIERMOD_EXECUTOR=thread``).

    Fits on several threads are safe together (:mod:`hiermod.tracing_lock`). A cancelled queued
    job leaves the queue at once and frees its slot.
    """

    def __init__(self, max_workers: int = 1, max_queue: int | None = None) -> None:
        super().__init__(max_workers, max_queue)
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="hiermod-job")

    def _start(self, job: Job, task: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        self._pool.submit(self._work, job, task, args, kwargs)

    def _work(self, job: Job, task: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        try:
            job.run(task, *args, **kwargs)
        finally:
            self._job_finished(job)

    def _closed_idle(self, wait: bool) -> None:
        self._pool.shutdown(wait=wait)


_default: Executor | None = None
_default_lock = threading.Lock()


def _env_int(name: str, default: int, minimum: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        value = int(raw) if raw else default
    except ValueError:
        log.warning("Ignoring %s=%r: not an integer; using %d.", name, raw, default)
        value = default
    return max(minimum, value)


EXECUTORS = ("process", "thread")


def default_executor() -> Executor:
    """The process-wide executor shared by all browser sessions (created on first use).

    * ``HIERMOD_DASK_SCHEDULER=tcp://host:8786``: a :class:`hiermod.dask_executor.DaskExecutor`
      on that Dask cluster;
    * otherwise ``HIERMOD_EXECUTOR`` = ``process`` (default): a
      :class:`hiermod.worker_pool.ProcessExecutor`, fits in ``HIERMOD_WORKERS`` worker processes
      (default: the number of cores); ``thread``: a :class:`ThreadExecutor`, fits on
      ``HIERMOD_WORKERS`` threads of this process (default 1).

    Up to ``HIERMOD_MAX_QUEUE`` jobs wait (default :data:`DEFAULT_MAX_QUEUE`). One installed with
    :func:`set_default_executor` wins.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = _make_default_executor()
        return _default


EXECUTOR_CLASSES = {
    "process": "hiermod.worker_pool:ProcessExecutor",
    "dask": "hiermod.dask_executor:DaskExecutor",
}
"""Executors outside this module, named as text and imported when chosen (as the methods' runners
are): the modules that run fits import this one, never the reverse."""


def _executor_class(name: str) -> type:
    module, _, attr = EXECUTOR_CLASSES[name].partition(":")
    return getattr(importlib.import_module(module), attr)


def _make_default_executor() -> Executor:
    scheduler = os.environ.get("HIERMOD_DASK_SCHEDULER", "").strip()
    if scheduler:
        try:
            dask_executor = _executor_class("dask")
        except ImportError as exc:
            raise HiermodError(
                f"HIERMOD_DASK_SCHEDULER is set ({scheduler}), but hiermod's Dask executor cannot be "
                f"loaded ({exc}). Install dask and distributed (pip install -r requirements.txt), or "
                "unset HIERMOD_DASK_SCHEDULER to run fits in local worker processes."
            ) from exc
        return dask_executor(scheduler)
    choice = os.environ.get("HIERMOD_EXECUTOR", "process").strip().lower() or "process"
    max_queue = _env_int("HIERMOD_MAX_QUEUE", DEFAULT_MAX_QUEUE, 0)
    if choice not in EXECUTORS:
        raise HiermodError(f"HIERMOD_EXECUTOR={choice!r} is not known; use 'process' (the default: "
                           "fits in worker processes) or 'thread' (fits on threads of the server).")
    if choice == "thread":
        return ThreadExecutor(max_workers=_env_int("HIERMOD_WORKERS", 1, 1), max_queue=max_queue)
    workers = _env_int("HIERMOD_WORKERS", os.cpu_count() or 1, 1)
    return _executor_class("process")(workers=workers, max_queue=max_queue)


def set_default_executor(executor: Executor | None) -> Executor | None:
    """Install ``executor`` as the process-wide one (None: recreate lazily); return the old one."""
    global _default
    with _default_lock:
        previous, _default = _default, executor
        return previous
