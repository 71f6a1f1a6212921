"""Fits in worker processes: :class:`ProcessExecutor`, the dashboard's default executor.

What runs where:

* The server process (Streamlit) only submits, polls and draws. It holds the :class:`~hiermod.jobs.Job`
  objects, the fair queue (:class:`~hiermod.jobs.QueueingExecutor`) and one *slot* per worker: a
  thread that owns one worker process and talks to it over its own pipe.
* Each worker process is started with ``spawn`` (JAX must not be forked), imports JAX / NumPyro /
  ArviZ once, turns on JAX's on-disk compilation cache (shared by every worker and by restarts:
  :func:`hiermod.compilation.enable_persistent_cache`) and runs one job at a time, keeping its
  compiled samplers between jobs. With ``HIERMOD_PRECOMPILE`` not ``0`` it compiles the sample data
  sets' default samplers on a low-priority thread beside its jobs (safe: :mod:`hiermod.tracing_lock`).

Across the process boundary (per worker: one duplex pipe, one ``multiprocessing.Event``):

* the job goes to the worker pickled: ``(task, args, kwargs)``; the task must be a module-level
  function (e.g. :func:`fit_task`) with picklable arguments (GroupedData, ModelSpec,
  SamplerSettings are);
* the worker sends ``("progress", Progress)`` after every sampler chunk, ``("publish", obj)`` for a
  partial result (the instant preview, a pickled Fit) and one terminal message: the result (the
  same :class:`~hiermod.result.Fit`, pickled), the error, or the cancellation;
* Cancel: the slot thread watches the Job's ``cancel_event`` while it waits and sets the worker's
  Event; the sampler stops within one chunk.

A worker that dies (killed, out of memory, a crash) costs only its own job: the slot sees the pipe
close, starts a new worker in its place and **retries the job once** on it (a kill by the
out-of-memory killer or an administrator is often about the machine, not the fit). If the job's
second worker dies as well, the job fails with :data:`WORKER_DIED` (a clear message; the user can
press Fit again). Every other job, and the server, carry on.

Memory is bounded per worker: after a job, a worker whose resident memory exceeds
``HIERMOD_WORKER_MAX_MB`` (default :data:`DEFAULT_WORKER_MAX_MB`) or that has run
``HIERMOD_WORKER_MAX_JOBS`` jobs (default 0: no limit) is replaced by a fresh one (it reloads its
samplers from the on-disk cache). Measured (2 shared cores): a worker is ready 4-9 s after it is
started (imports), resident 345 MB idle, about 690 MB after eight-schools fits, 1.6-1.8 GB once it
holds the samplers of the six sample data sets in three pooling modes (``nuts.MAX_SAMPLERS`` bounds
them), so the 2,000 MB default replaces a worker only after many structures. The server process
stays near 230 MB (arviz and the tables; no compiled samplers): 40 sessions' default fits of eight
schools took it to 302 MB while their results were held and back to 232 MB after they were dropped
(the pool gives freed memory back: :func:`trim_memory`). A worker that ran a job and then sat idle
``HIERMOD_WORKER_IDLE_S`` (default :data:`DEFAULT_WORKER_IDLE_S`) more than :data:`IDLE_MARGIN_MB`
above its start-up memory is replaced by a fresh one that does not precompile, so a class's
samplers do not stay resident after the class.

Where a preview is computed: :func:`server_preview` decides (one place): a cheap one
(:data:`SERVER_PREVIEWS`, the exact posterior) in the server when the job is submitted, so a queued
fit shows it at once; any other in the worker, published when the job starts.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
import queue
import sys
import threading
import time
import types
from typing import Any, Callable

from hiermod.errors import FitCancelled, FitError, HiermodError
from hiermod.jobs import Job, Progress, QueueingExecutor, _env_int
from hiermod.tracing_lock import IMPORT_LOCK, import_heavy_modules

__all__ = ["ProcessExecutor", "fit_task", "server_preview", "SERVER_PREVIEWS", "WORKER_DIED",
           "DEFAULT_WORKER_MAX_MB", "rss_mb", "trim_memory"]

log = logging.getLogger(__name__)

DEFAULT_WORKER_MAX_MB = 2000
"""A worker above this resident memory after a job is replaced (``HIERMOD_WORKER_MAX_MB``)."""
DEFAULT_WORKER_IDLE_S = 60
"""A worker that has run a job and then sat idle this long (seconds) while holding more than
:data:`IDLE_MARGIN_MB` above its memory when it started is replaced by a fresh one that does not
precompile (``HIERMOD_WORKER_IDLE_S``; 0: never): when a class closes its tabs, the compiled
samplers its fits left in the workers (0.7-1.3 GB each) go back to the system. The next fit of a
model loads its sampler from the on-disk compilation cache."""
IDLE_MARGIN_MB = 150
"""How far above its start-up memory an idle worker may sit without being replaced."""
START_TIMEOUT_S = 300.0
"""A new worker that has not finished its imports after this long is treated as dead."""
POLL_S = 0.1
WORKER_NICE = 10
"""Workers run at least this nice (lower CPU priority than the server's 0), so the pages of a class
stay responsive while both cores sample; a worker started from a thread that is already nicer
(the warm start's) keeps that."""

WORKER_DIED = (
    "The worker process running this fit stopped unexpectedly (it was killed, ran out of memory or "
    "crashed), and so did the one that tried it again. Other fits are not affected. Press Fit to try "
    "again; if it keeps failing, try fewer draws or a simpler model, or ask the server's "
    "administrator to raise HIERMOD_WORKER_MAX_MB or the machine's memory."
)
"""The message of a job whose worker died twice (the first death is retried on a new worker)."""
_RESULT_MODULES = threading.Event()
RETRYING = "The worker running this fit stopped unexpectedly; starting again on a new worker."


class WorkerDied(FitError):
    """A worker process ended in the middle of a job (twice)."""


SERVER_PREVIEWS = ("exact",)
"""Preview methods the server computes itself when Fit is pressed, so the preview shows at once
while the fit waits in the queue: closed-form quadrature, about 0.1 s for eight schools (measured
0.07-0.1 s at load 7 on 2 cores; it needs scipy, not JAX). Every other preview (the instant
method's grid and Laplace engines can take seconds) is computed by the worker when the job starts."""


def server_preview(data, spec, settings, method: str = "nuts"):
    """The preview of a fit (the first of :data:`hiermod.orchestrate.PREVIEW_METHODS` that serves
    the model) when it is one of :data:`SERVER_PREVIEWS`, computed here and now; else None (also
    when it fails: logged, the worker then computes it). The one place that decides where a
    preview is computed: a caller that gets a Fit submits :func:`fit_task` with ``preview=False``."""
    from hiermod.methods import method_info
    from hiermod.orchestrate import preview_method

    if method_info(method).deterministic:
        return None
    try:
        name = preview_method(data, spec)
        if name not in SERVER_PREVIEWS:
            return None
        with IMPORT_LOCK:  # the page's own imports may run on another thread
            from hiermod.orchestrate import run_method
        return run_method(data, spec, settings, name)
    except Exception:  # noqa: BLE001 - the preview is a bonus: the worker computes it instead
        log.warning("Preview in the server failed; the worker computes it", exc_info=True)
        return None


def fit_task(data, spec, settings, key=None, method: str = "nuts", *, progress, cancel, publish,
             preview: bool = True):
    """The dashboard's fit, as a task any executor can run in any process (no Streamlit): the
    instant / exact preview is published first when one serves the model
    (:func:`hiermod.orchestrate.fit_with_preview`), unless ``preview`` is False (the caller
    computed it: :func:`server_preview`). ``key`` is the caller's cache key (unused here)."""
    import_heavy_modules()  # two threads importing jax at once can see a partially initialised module
    with IMPORT_LOCK:
        from hiermod.orchestrate import fit_with_preview, run_method

    if not preview:
        return run_method(data, spec, settings, method, progress=progress, cancel=cancel)
    return fit_with_preview(data, spec, settings, method=method, progress=progress, cancel=cancel,
                            publish=publish)


def rss_mb(pid: int | None = None) -> float | None:
    """Resident memory of a process (this one by default) in MB, or None when it cannot be read."""
    path = f"/proc/{pid or 'self'}/statm"
    try:
        with open(path) as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError, AttributeError):
        try:
            import psutil

            return psutil.Process(pid).memory_info().rss / 2**20
        except Exception:  # noqa: BLE001 - no psutil, no such process, no permission
            return None


# ---------------------------------------------------------------- results across processes

# ------------------------------------------------------------------------- the worker process


def _picklable_error(exc: BaseException) -> BaseException:
    """``exc`` itself when it pickles, else a RuntimeError carrying its type and message."""
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:  # noqa: BLE001
        return RuntimeError(f"{type(exc).__name__}: {exc}")


def _precompile_in_background() -> None:
    def work() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        except (AttributeError, OSError):
            pass
        from hiermod.precompile import precompile_samples

        precompile_samples()

    threading.Thread(target=work, name="hiermod-precompile", daemon=True).start()


def _worker_main(conn, cancel, precompile: bool) -> None:
    """A worker process: imports, then runs jobs from ``conn`` one at a time until told to stop."""
    try:
        os.nice(max(0, WORKER_NICE - os.nice(0)))
    except (AttributeError, OSError):
        pass
    t0 = time.perf_counter()
    from hiermod.compilation import enable_persistent_cache_if_possible

    import arviz  # noqa: F401
    import jax  # noqa: F401
    import numpyro.infer  # noqa: F401

    import hiermod.nuts  # noqa: F401
    import hiermod.orchestrate  # noqa: F401

    enable_persistent_cache_if_possible()
    send_lock = threading.Lock()

    def send(message: tuple) -> None:
        with send_lock:
            conn.send(message)

    send(("ready", os.getpid(), time.perf_counter() - t0))
    if precompile:
        _precompile_in_background()
    while True:
        try:
            raw = conn.recv_bytes()
        except (EOFError, OSError):
            return  # the server went away
        try:
            message = pickle.loads(raw)
        except Exception as exc:  # noqa: BLE001 - e.g. the task's module cannot be imported here
            send(("error", RuntimeError(f"The worker could not read the job ({type(exc).__name__}: {exc}).")))
            continue
        if message[0] == "stop":
            return
        _, task, args, kwargs = message
        cancel.clear()

        def progress(p: Progress) -> None:
            send(("progress", p))

        def publish(obj: Any) -> None:
            try:
                send(("publish", obj))
            except Exception:  # noqa: BLE001 - a preview that cannot be sent is only a preview
                log.warning("A partial result could not be sent to the server", exc_info=True)

        try:
            value = task(*args, progress=progress, cancel=cancel, publish=publish, **kwargs)
        except FitCancelled as exc:
            send(("cancelled", exc))
        except BaseException as exc:  # noqa: BLE001 - reported to the server, never raised here
            send(("error", _picklable_error(exc)))
        else:
            try:
                send(("done", value))
            except Exception as exc:  # noqa: BLE001 - e.g. a result that does not pickle
                send(("error", RuntimeError(f"The result could not be sent back from the worker "
                                            f"({type(exc).__name__}: {exc}).")))


# --------------------------------------------------------------------------- the server side


def _import_result_modules() -> None:
    """Import what unpickling a Fit or an instant posterior needs (arviz, scipy, what xarray
    imports lazily; an InstantPosterior is recomputed as it is unpickled) once, under IMPORT_LOCK,
    before the first message is read: the page's own imports may be running on another thread."""
    if _RESULT_MODULES.is_set():
        return
    import_heavy_modules()
    with IMPORT_LOCK:
        import hiermod.instant.posterior  # noqa: F401
        import hiermod.result  # noqa: F401
    _RESULT_MODULES.set()


class _Died(Exception):
    """The worker process ended (its pipe closed) or never became ready."""


_NEUTRAL_MAIN = types.ModuleType("__main__")  # no __file__, no __spec__: spawn imports no main module
_MAIN_SWAP = threading.Lock()


def _start_without_main(process) -> None:
    """Start a spawned ``process`` without re-running this process's ``__main__`` in it.

    ``spawn`` re-imports the parent's main module in the child; under Streamlit (and AppTest) that
    module is the app script itself (Streamlit installs each script run as ``__main__``), so every
    worker would run the whole app. The main module is swapped for an empty one while
    ``start()`` writes the child's preparation data (synchronously), then put back."""
    with _MAIN_SWAP:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = _NEUTRAL_MAIN
        try:
            process.start()
        finally:
            if main is not None:
                sys.modules["__main__"] = main


class _Slot:
    """One worker place: a thread in the server that owns one worker process at a time, sends it
    jobs and replaces it when it dies or has grown too large."""

    def __init__(self, executor: "ProcessExecutor", index: int) -> None:
        self.executor = executor
        self.index = index
        self.inbox: "queue.Queue[tuple | None]" = queue.Queue()
        self.process: Any = None
        self.conn: Any = None
        self.cancel: Any = None
        self.ready = threading.Event()
        self.job: Job | None = None  # the job this slot runs (set and cleared under the executor's lock)
        self.jobs_done = 0
        self.started = 0  # processes started in this slot (1 + replacements)
        self.start_seconds: float | None = None  # the last worker's imports, as it reported them
        self.baseline_mb: float | None = None  # the worker's resident memory when it became ready
        self.idle_since = time.monotonic()  # when its last job ended (or it started)
        self.thread = threading.Thread(target=self._loop, name=f"hiermod-worker-slot-{index}", daemon=True)

    # -------------------------------------------------------------- process life
    def spawn(self, precompile: bool | None = None) -> None:
        """Start a worker in this slot (``precompile``: default the executor's setting)."""
        ctx = self.executor._ctx
        parent, child = ctx.Pipe(duplex=True)
        self.cancel = ctx.Event()
        self.ready.clear()
        precompile = self.executor.precompile if precompile is None else precompile
        self.process = ctx.Process(target=_worker_main, args=(child, self.cancel, precompile),
                                   name=f"hiermod-worker-{self.index}", daemon=True)
        _start_without_main(self.process)
        child.close()  # only the worker holds its end: the pipe closes when it dies
        self.conn = parent
        self.jobs_done = 0
        self.started += 1
        self.idle_since = time.monotonic()

    def _wait_ready(self) -> None:
        if self.ready.is_set():
            return
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            message = self._recv(POLL_S)
            if message is not None and message[0] == "ready":
                self.start_seconds = float(message[2])
                self.baseline_mb = rss_mb(self.pid)
                self.ready.set()
                return
        raise _Died("the worker did not start in time")

    def _recv(self, timeout: float) -> tuple | None:
        """The next message, None after ``timeout`` s without one; _Died when the worker is gone."""
        try:
            if self.conn.poll(timeout):
                raw = self.conn.recv_bytes()
                _import_result_modules()
                return pickle.loads(raw)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            raise _Died(str(exc)) from None
        if not self.process.is_alive():
            raise _Died(f"exit code {self.process.exitcode}")
        return None

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the worker to exit; kill it when it does not."""
        proc, conn = self.process, self.conn
        if proc is None:
            return
        try:
            conn.send_bytes(pickle.dumps(("stop",)))
        except (OSError, ValueError):
            pass
        proc.join(timeout)
        if proc.is_alive():
            proc.kill()
            proc.join(timeout)
        conn.close()
        self.process = self.conn = None

    def _replace(self) -> None:
        old = self.process
        if old is not None:
            if old.is_alive():
                old.kill()
            old.join(5)
            try:
                self.conn.close()
            except OSError:
                pass
        self.process = self.conn = None
        if not self.executor._stopping:
            self.spawn()

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    # -------------------------------------------------------------- the slot's thread
    def _loop(self) -> None:
        while True:
            self._become_ready()
            try:
                item = self.inbox.get(timeout=IDLE_CHECK_S)
            except queue.Empty:
                self._maybe_recycle_idle()
                continue
            if item is None:
                self.stop()
                return
            job, task, args, kwargs = item
            try:
                self._run(job, task, args, kwargs)
            except BaseException as exc:  # noqa: BLE001 - never let a slot thread die
                log.exception("Worker slot %d failed on job %s", self.index, job.id)
                job._finish("failed", error=exc)
            finally:
                self.idle_since = time.monotonic()
                self.executor._job_finished(job)
            self._maybe_recycle()

    def _become_ready(self) -> None:
        """Wait for the worker's imports (replacing a worker that dies or hangs on the way), so
        :meth:`ProcessExecutor.wait_ready` and the cold-start figure mean something when idle."""
        for _ in range(3):
            if self.executor._stopping or self.process is None:
                return
            try:
                self._wait_ready()
                return
            except _Died as exc:
                log.warning("Worker %s (slot %d) died while starting (%s)", self.pid, self.index, exc)
                self.executor._deaths += 1
                self._replace()

    def _run(self, job: Job, task: Callable, args: tuple, kwargs: dict) -> None:
        try:
            payload = pickle.dumps(("run", task, args, kwargs))
        except Exception as exc:  # noqa: BLE001 - a programming error: say what must change
            job._finish("failed", error=TypeError(
                f"This task cannot be sent to a worker process ({type(exc).__name__}: {exc}); tasks "
                "must be module-level functions with picklable arguments (or use HIERMOD_EXECUTOR=thread)."))
            return
        for attempt in (1, 2):
            if job.cancel_event.is_set():
                job._finish("cancelled", error=FitCancelled("The fit was cancelled before it started."))
                return
            try:
                self._wait_ready()
                self.cancel.clear()
                self.conn.send_bytes(payload)
                self._follow(job)
                self.jobs_done += 1
                return
            except _Died as exc:
                log.warning("Worker %s (slot %d) died during job %s (%s); attempt %d",
                            self.pid, self.index, job.id, exc, attempt)
                self.executor._deaths += 1
                self._replace()
                if attempt == 1 and not job.cancel_event.is_set():
                    job.report(Progress(phase="queued", message=RETRYING))
        if job.cancel_event.is_set():
            job._finish("cancelled", error=FitCancelled("The fit was cancelled."))
        else:
            job._finish("failed", error=WorkerDied(WORKER_DIED))

    def _follow(self, job: Job) -> None:
        """Relay the worker's messages about ``job`` until its terminal one."""
        forwarded = False
        while True:
            if job.cancel_event.is_set() and not forwarded:
                self.cancel.set()
                forwarded = True
            message = self._recv(POLL_S)
            if message is None:
                continue
            tag = message[0]
            if tag == "progress":
                job.report(message[1])
            elif tag == "publish":
                try:
                    job.publish(message[1])
                except Exception:  # noqa: BLE001 - a preview that cannot be rebuilt is only a preview
                    log.warning("A partial result of job %s could not be rebuilt", job.id, exc_info=True)
            elif tag == "cancelled":
                job._finish("cancelled", error=message[1])
                return
            elif tag == "error":
                error = message[1]
                if job.cancel_event.is_set() and not isinstance(error, HiermodError):
                    job._finish("cancelled", error=FitCancelled("The fit was cancelled."))
                else:
                    log.warning("Job %s (%s) failed in worker %s: %r", job.id, job.label, self.pid, error)
                    job._finish("failed", error=error)
                return
            elif tag == "done":
                if job.cancel_event.is_set():
                    job._finish("cancelled", error=FitCancelled("The fit was cancelled."))
                else:
                    try:
                        job._finish("done", result=message[1])
                    except Exception as exc:  # noqa: BLE001 - the result arrived but cannot be rebuilt
                        job._finish("failed", error=exc)
                return

    def _maybe_recycle_idle(self) -> None:
        """Replace a worker that ran a job, has been idle ``idle_s`` and holds more than
        :data:`IDLE_MARGIN_MB` above its start-up memory by a fresh one that does not precompile.
        A job submitted meanwhile waits in this slot's inbox for the new worker."""
        ex = self.executor
        if (ex.idle_s <= 0 or self.process is None or ex._stopping or not self.jobs_done
                or time.monotonic() - self.idle_since < ex.idle_s or self.baseline_mb is None):
            return
        rss = rss_mb(self.pid)
        if rss is None or rss <= self.baseline_mb + IDLE_MARGIN_MB:
            return
        log.info("Replacing idle worker %s (slot %d): %.0f MB resident, %.0f MB when it started",
                 self.pid, self.index, rss, self.baseline_mb)
        self.stop()
        self.spawn(precompile=False)
        ex._idle_recycled += 1

    def _maybe_recycle(self) -> None:
        """Replace the worker when it has grown past the memory bound or run its share of jobs."""
        if self.process is None or self.executor._stopping:
            return
        ex = self.executor
        rss = rss_mb(self.pid)
        too_big = ex.max_worker_mb > 0 and rss is not None and rss > ex.max_worker_mb
        too_old = ex.max_jobs_per_worker > 0 and self.jobs_done >= ex.max_jobs_per_worker
        if too_big or too_old:
            log.info("Replacing worker %s (slot %d): %.0f MB resident, %d jobs", self.pid, self.index,
                     rss or 0.0, self.jobs_done)
            self.stop()
            self.spawn()
            ex._recycled += 1


IDLE_CHECK_S = 5.0
"""An idle slot checks this often whether its worker should be replaced (:data:`DEFAULT_WORKER_IDLE_S`)."""

TRIM_EVERY_S = 30.0
"""The server hands freed memory back to the system this often (glibc keeps freed heap otherwise)."""


def trim_memory() -> bool:
    """Give freed heap memory back to the system (glibc's ``malloc_trim``); False where there is none.

    Without it a server that held a class's fits stays at its peak resident size after the tabs
    close, although the memory is free (measured: 305 MB stays 305 MB; trimmed, 233 MB)."""
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


class ProcessExecutor(QueueingExecutor):
    """Jobs run in ``workers`` worker processes (spawned now, so they warm up before the first Fit),
    at most one per worker; the rest wait in the fair queue (one running job per session,
    round-robin). See the module docstring for what crosses the process boundary.

    ``max_worker_mb`` / ``max_jobs_per_worker``: a worker over either after a job is replaced
    (0: no bound; defaults from ``HIERMOD_WORKER_MAX_MB`` / ``HIERMOD_WORKER_MAX_JOBS``).
    ``idle_s``: a worker idle this long after a job, well above its start-up memory, is replaced
    by one that does not precompile (0: never; default ``HIERMOD_WORKER_IDLE_S`` or
    :data:`DEFAULT_WORKER_IDLE_S`).
    ``precompile``: workers compile the sample data sets' samplers at start (default: unless
    ``HIERMOD_PRECOMPILE=0``).
    """

    def __init__(self, workers: int | None = None, max_queue: int | None = None, *,
                 max_worker_mb: float | None = None, max_jobs_per_worker: int | None = None,
                 idle_s: float | None = None, precompile: bool | None = None) -> None:
        workers = workers or _env_int("HIERMOD_WORKERS", os.cpu_count() or 1, 1)
        super().__init__(max_workers=workers, max_queue=max_queue)
        self.max_worker_mb = (_env_int("HIERMOD_WORKER_MAX_MB", DEFAULT_WORKER_MAX_MB, 0)
                              if max_worker_mb is None else max_worker_mb)
        self.max_jobs_per_worker = (_env_int("HIERMOD_WORKER_MAX_JOBS", 0, 0)
                                    if max_jobs_per_worker is None else max_jobs_per_worker)
        self.idle_s = _env_int("HIERMOD_WORKER_IDLE_S", DEFAULT_WORKER_IDLE_S, 0) if idle_s is None else idle_s
        self.precompile = (os.environ.get("HIERMOD_PRECOMPILE", "1") != "0") if precompile is None else precompile
        self._ctx = mp.get_context("spawn")
        self._stopping = False
        self._deaths = 0
        self._recycled = 0
        self._idle_recycled = 0
        self._slots = [_Slot(self, i) for i in range(workers)]
        self._idle: list[_Slot] = list(self._slots)
        for slot in self._slots:
            slot.spawn()
            slot.thread.start()
        threading.Thread(target=self._trim_loop, name="hiermod-memory-trim", daemon=True).start()

    def _trim_loop(self) -> None:
        while not self._stopping:
            time.sleep(TRIM_EVERY_S)
            trim_memory()

    # ------------------------------------------------------------------ introspection
    def worker_pids(self) -> list[int]:
        """Process ids of the current workers (one per slot; replacements included)."""
        return [pid for pid in (slot.pid for slot in self._slots) if pid is not None]

    def running_pid(self, job: Job) -> int | None:
        """The worker process running ``job`` now, or None."""
        with self._cond:
            for slot in self._slots:
                if slot.job is job:
                    return slot.pid
        return None

    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> bool:
        """Block until every worker has finished its imports (True) or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        return all(slot.ready.wait(max(0.0, deadline - time.monotonic())) for slot in self._slots)

    def stats(self) -> dict:
        """Workers, their memory (MB), start times (s), deaths and replacements so far."""
        return {
            "workers": len(self._slots),
            "pids": self.worker_pids(),
            "rss_mb": [rss_mb(pid) for pid in self.worker_pids()],
            "start_s": [slot.start_seconds for slot in self._slots],
            "deaths": self._deaths,
            "recycled": self._recycled,
            "idle_recycled": self._idle_recycled,
            "running": len(self.active_jobs()),
            "queued": len(self.queued_jobs()),
        }

    # ------------------------------------------------------------------ executor hooks
    def _start(self, job: Job, task: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        slot = self._idle.pop(0)
        slot.job = job
        slot.inbox.put((job, task, args, kwargs))

    def _job_finished(self, job: Job) -> None:
        with self._cond:
            for slot in self._slots:
                if slot.job is job:
                    slot.job = None
                    self._idle.append(slot)
                    break
        super()._job_finished(job)

    def _closed_idle(self, wait: bool) -> None:
        if self._stopping:
            return
        self._stopping = True
        for slot in self._slots:
            slot.inbox.put(None)
        if wait:
            for slot in self._slots:
                slot.thread.join(30)
