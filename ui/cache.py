"""Data caches, the process-wide fit cache, shared job submission, and the warm start.

Tables computed from fits are cached in :mod:`ui.tables`; jobs are started, harvested and
cancelled by :class:`ui.job_slot.JobSlot`. Heavy modules (jax, numpyro, arviz) are imported only inside functions that need them, so the
Data page never pays for them.

Process-wide objects (shared by every browser session of this server):

* :func:`fit_cache` -- a bounded LRU ``(data fingerprint, spec, settings) -> Fit``; asking for the
  same fit twice returns at once.
* :func:`hiermod.jobs.default_executor` -- one executor (by default worker processes), so sessions
  queue fairly (one running job per session, round-robin) instead of oversubscribing the cores.
* in-flight jobs by key: two sessions asking for the same fit share one job; a session's Cancel
  only stops the job when no other session is still waiting for it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import streamlit as st

from hiermod.tracing_lock import import_heavy_modules
from hiermod.worker_pool import fit_task, server_preview

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from hiermod.data import ColumnMap, GroupedData
    from hiermod.result import Fit
    from hiermod.jobs import Job

log = logging.getLogger("hiermod.ui")

FIT_CACHE_SIZE = 32


# ------------------------------------------------------------------------------ data caches


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


@st.cache_data(max_entries=32, show_spinner=False)
def read_table_cached(raw: bytes) -> "pd.DataFrame":
    """hiermod.data.read_table on uploaded bytes (raises DataError; errors are not cached)."""
    from hiermod.data import read_table

    return read_table(raw)


@st.cache_data(max_entries=16, show_spinner=False)
def sample_frame(name: str) -> "pd.DataFrame":
    """The raw table of a sample data set."""
    from hiermod.data import read_table
    from hiermod.datasets import dataset_path

    return read_table(dataset_path(name))


@st.cache_resource(max_entries=16, show_spinner=False)
def sample_data(name: str) -> "GroupedData":
    """A sample data set with its registered column roles (immutable, shared)."""
    from hiermod.datasets import load_dataset

    return load_dataset(name)


def _columns_tuple(columns: "ColumnMap") -> tuple:
    return (columns.group, columns.y, columns.kind.value, columns.se, columns.trials,
            columns.exposure, tuple(columns.covariates), tuple(columns.outer_groups))


@st.cache_resource(max_entries=32, show_spinner=False)
def _load_mapped(sig: str, columns: tuple, _frame: "pd.DataFrame") -> "GroupedData":
    from hiermod.data import ColumnMap, load_data

    group, y, kind, se, trials, exposure, covariates, outer_groups = columns
    return load_data(_frame, ColumnMap(group, y, kind, se, trials, exposure, covariates, outer_groups))


def load_mapped(sig: str, frame: "pd.DataFrame", columns: "ColumnMap") -> "GroupedData":
    """load_data(frame, columns), cached by (table identity ``sig``, column roles)."""
    return _load_mapped(sig, _columns_tuple(columns), frame)


# ------------------------------------------------------------------------------- fit cache


class FitCache:
    """A thread-safe bounded LRU of finished fits, keyed by (data fingerprint, spec, settings)."""

    def __init__(self, maxsize: int = FIT_CACHE_SIZE) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> "Fit | None":
        with self._lock:
            fit = self._items.get(key)
            if fit is not None:
                self._items.move_to_end(key)
            return fit

    def put(self, key: tuple, fit: "Fit") -> None:
        with self._lock:
            self._items[key] = fit
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


@st.cache_resource(show_spinner=False)
def fit_cache() -> FitCache:
    """The process-wide fit cache (one per server)."""
    return FitCache()


class _InFlight:
    """Jobs running or queued, by fit key, with how many sessions are waiting for each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[tuple, list] = {}  # key -> [job, watchers]

    def attach(self, key: tuple) -> "Job | None":
        with self._lock:
            entry = self._jobs.get(key)
            if entry is None or entry[0].done():
                return None
            entry[1] += 1
            return entry[0]

    def add(self, key: tuple, job: "Job") -> None:
        with self._lock:
            self._jobs[key] = [job, 1]
        job.add_done_callback(lambda j, k=key: self._drop(k, j))

    def _drop(self, key: tuple, job: "Job") -> None:
        with self._lock:
            entry = self._jobs.get(key)
            if entry is not None and entry[0] is job:
                del self._jobs[key]

    def release(self, key: tuple, job: "Job") -> bool:
        """One session stops waiting; cancel the job when nobody waits any more. True if cancelled."""
        with self._lock:
            entry = self._jobs.get(key)
            if entry is None or entry[0] is not job:
                last = True
            else:
                entry[1] -= 1
                last = entry[1] <= 0
        return job.cancel() if last else False


@st.cache_resource(show_spinner=False)
def in_flight() -> _InFlight:
    return _InFlight()


def submit_shared(key: tuple, task, *args, label: str, session=None) -> "Job":
    """Submit ``task(*args)`` to the process-wide executor for ``session`` (its place in the fair
    queue: :func:`ui.state.session_id`), or join the job another session already runs for ``key``.
    A task with a keeper (:data:`KEEPERS`) has its result kept in the process-wide cache here, in
    the server, when it finishes (the task itself may run in a worker process). Raises
    HiermodError when the queue is full."""
    from hiermod.jobs import default_executor

    flights = in_flight()
    job = flights.attach(key)
    if job is None:
        executor = default_executor()
        extra = {"session": session} if _takes_session(executor) else {}
        preview = PREVIEWS[task](*args) if task in PREVIEWS else None
        if preview is not None:
            extra["preview"] = False  # computed here: the worker goes straight to the fit
        job = executor.submit(task, *args, label=label, **extra)
        if preview is not None:
            job.publish(preview)  # shown at once, while the fit waits for a worker
        flights.add(key, job)
        keeper = KEEPERS.get(task)
        if keeper is not None:
            job.add_done_callback(lambda j, k=key, a=args: keeper(k, a, j.result(0)) if j.status == "done" else None)
    return job


def _takes_session(executor) -> bool:
    """Whether ``executor.submit`` takes ``session=`` (the fair-queueing ones do; an executor
    without it would pass it on to the task)."""
    import inspect

    return "session" in inspect.signature(executor.submit).parameters


_fit_task = fit_task
"""The main fit's task: :func:`hiermod.worker_pool.fit_task` (no Streamlit, so a worker process can
run it); its result goes into :func:`fit_cache` through its keeper."""

KEEPERS = {fit_task: lambda key, args, result: fit_cache().put(key, result)}
"""task -> keeper(key, args, result): run in the server when a job of that task finishes (tasks
may run in worker processes, whose caches the server never sees). Modules with tasks add theirs."""

def _fit_preview(data, spec, settings, key=None, method="nuts"):
    return server_preview(data, spec, settings, method)


PREVIEWS = {fit_task: _fit_preview}
"""task -> preview(*args): a preview computed in the server when a job of that task is submitted
(None: the task computes its own, if any); the job then runs with ``preview=False``."""


# ------------------------------------------------------------------- heavy work in the server


HEAVY_AT_ONCE = 1
"""Script runs that may compute a results table (a summary, the verdicts, the agreement check) at
the same time. The server's scripts share one interpreter lock: when a class's results come in
together, forty summaries computed at once leave a tab that is just opening a 1/40 share of it
(bench/CLASS_LOAD.md). (The previews a class computes when it presses Fit together are not taken
in turn: measured with 40 sessions, that delayed the previews, median 8 -> 12 s, and did not make a
fresh tab load faster.)"""
_heavy = threading.BoundedSemaphore(HEAVY_AT_ONCE)


@contextmanager
def heavy_turn():
    """Hold one of :data:`HEAVY_AT_ONCE` turns while computing a results table for a page."""
    with _heavy:
        yield


# --------------------------------------------------------------------- warm heavy imports


_warm_guard = threading.Lock()
_imports_done = threading.Event()
_warm_started = False


def heavy_imports() -> None:
    """Import jax, numpyro, arviz (and what they import lazily) once, one thread at a time:
    :func:`hiermod.tracing_lock.import_heavy_modules`, which every path of ours that needs them
    (the warm-up thread, the fit task, the summaries, the worker pool's result reader) calls."""
    if _imports_done.is_set():
        return
    import_heavy_modules()
    _imports_done.set()


WARM_START_DELAY_S = 1.0
"""The warm start waits this long, so the browser draws the first page before jax's imports and the
compiler compete with it for the 2 cores and the GIL."""


def _yield_cpu_to_the_page() -> None:
    """Lower this thread's CPU priority (Linux: nice 10 for this thread and the threads it starts),
    so a background precompile never slows a page or a user's own fit; elsewhere, nothing."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):
        pass


def warm_imports_in_background() -> None:
    """Start the fit executor and warm it, once per process, on a daemon thread (called after the
    first page has been drawn: end of app.py), so pressing Fit does not wait for imports and
    compilation. With the process pool (the default) its workers import JAX and precompile the
    sample datasets' default samplers themselves (unless ``HIERMOD_PRECOMPILE=0``); this process
    imports arviz for the tables. With ``HIERMOD_EXECUTOR=thread`` this process imports jax,
    numpyro and arviz and precompiles, as the fits run here."""
    global _warm_started
    with _warm_guard:
        if _warm_started or _imports_done.is_set():
            return
        _warm_started = True

    def work() -> None:
        time.sleep(WARM_START_DELAY_S)
        _yield_cpu_to_the_page()
        from hiermod.jobs import ThreadExecutor, default_executor

        try:
            in_process = isinstance(default_executor(), ThreadExecutor)  # starts the worker processes
        except Exception:  # noqa: BLE001 - the Fit button reports a bad executor setting
            log.warning("The fit executor could not be started", exc_info=True)
            return
        try:
            heavy_imports()
        except Exception:  # noqa: BLE001
            log.warning("Background import of jax/numpyro/arviz failed", exc_info=True)
            return
        if not in_process:
            return
        from hiermod.compilation import enable_persistent_cache_if_possible

        enable_persistent_cache_if_possible()  # a restarted app loads what it compiled before from disk
        if os.environ.get("HIERMOD_PRECOMPILE", "1") != "0":
            # compile the sample datasets' default samplers
            from hiermod.precompile import precompile_samples

            status = precompile_samples()
            log.info("Precompiled sample samplers: %s", {k: round(v, 1) for k, v in status.items()})

    threading.Thread(target=work, name="hiermod-warm-imports", daemon=True).start()
