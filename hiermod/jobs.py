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

:class:`Executor` is the interface the pages use; :class:`ThreadExecutor` runs jobs on local
threads with a bounded FIFO queue, and :func:`default_executor` returns the process-wide one
shared by every browser session. Another executor (for example a distributed one) can be
installed with :func:`set_default_executor` without touching the pages.
"""

from __future__ import annotations

import abc
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
    "ThreadExecutor",
    "default_executor",
    "set_default_executor",
    "user_message",
]

log = logging.getLogger(__name__)

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


class ThreadExecutor(Executor):
    """Local worker threads with a bounded FIFO queue.

    At most ``max_workers`` jobs run at once; at most ``max_queue`` wait. A cancelled queued job
    leaves the queue at once and frees its slot.
    """

    def __init__(self, max_workers: int = 1, max_queue: int = 8) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1.")
        if max_queue < 0:
            raise ValueError("max_queue must be 0 or more.")
        self.max_workers = max_workers
        self.max_queue = max_queue
        self._cond = threading.Condition()
        self._queue: deque[tuple[Job, Callable[..., Any], tuple, dict]] = deque()
        self._running: list[Job] = []
        self._closed = False
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="hiermod-job")

    def submit(self, task: Callable[..., Any], *args: Any, label: str = "", **kwargs: Any) -> Job:
        """Queue a task; raises HiermodError when ``max_queue`` jobs are already waiting."""
        job = Job(label=label, executor=self)
        with self._cond:
            if self._closed:
                raise RuntimeError("This executor has been shut down.")
            if len(self._running) >= self.max_workers and len(self._queue) >= self.max_queue:
                n = len(self._queue)
                raise HiermodError(
                    f"The server is busy: {n} fit{'s are' if n != 1 else ' is'} waiting. "
                    "Try again in a minute."
                )
            self._queue.append((job, task, args, kwargs))
            self._dispatch_locked()
        return job

    def active_jobs(self) -> list[Job]:
        with self._cond:
            return list(self._running)

    def queued_jobs(self) -> list[Job]:
        with self._cond:
            return [entry[0] for entry in self._queue]

    def queue_position(self, job: Job) -> int | None:
        with self._cond:
            if job in self._running:
                return 0
            for i, entry in enumerate(self._queue):
                if entry[0] is job:
                    return i + 1
            return None

    def shutdown(self, wait: bool = True, cancel: bool = False) -> None:
        with self._cond:
            self._closed = True
            jobs = [e[0] for e in self._queue] + list(self._running) if cancel else []
        for job in jobs:
            job.cancel()
        if wait:
            with self._cond:
                self._cond.wait_for(lambda: not self._queue and not self._running)
            self._pool.shutdown(wait=True)
        else:
            self._maybe_close_pool()

    # ------------------------------------------------------------------------------ internals
    def _dispatch_locked(self) -> None:
        while self._queue and len(self._running) < self.max_workers:
            job, task, args, kwargs = self._queue.popleft()
            self._running.append(job)
            job._mark_running()
            self._pool.submit(self._work, job, task, args, kwargs)

    def _work(self, job: Job, task: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        try:
            job.run(task, *args, **kwargs)
        finally:
            with self._cond:
                if job in self._running:
                    self._running.remove(job)
                self._dispatch_locked()
                self._cond.notify_all()
            self._maybe_close_pool()

    def _withdraw(self, job: Job) -> None:
        with self._cond:
            for entry in self._queue:
                if entry[0] is job:
                    self._queue.remove(entry)
                    break
            else:
                return
            self._cond.notify_all()
        job._finish("cancelled", error=FitCancelled("The fit was cancelled before it started."))

    def _maybe_close_pool(self) -> None:
        with self._cond:
            idle = self._closed and not self._queue and not self._running
        if idle:
            self._pool.shutdown(wait=False)


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


def default_executor() -> Executor:
    """The process-wide executor shared by all browser sessions (created on first use).

    A :class:`ThreadExecutor` with ``max_workers`` from ``HIERMOD_WORKERS`` (default 1) and
    ``max_queue`` from ``HIERMOD_MAX_QUEUE`` (default 8), unless one was installed with
    :func:`set_default_executor`.
    """
    global _default
    with _default_lock:
        if _default is None:
            _default = ThreadExecutor(
                max_workers=_env_int("HIERMOD_WORKERS", 1, 1),
                max_queue=_env_int("HIERMOD_MAX_QUEUE", 8, 0),
            )
        return _default


def set_default_executor(executor: Executor | None) -> Executor | None:
    """Install ``executor`` as the process-wide one (None: recreate lazily); return the old one."""
    global _default
    with _default_lock:
        previous, _default = _default, executor
        return previous
