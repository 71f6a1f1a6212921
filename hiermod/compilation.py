"""Count XLA compilations, compile programs ahead on background threads, set up JAX's on-disk cache.

JAX reports every backend compilation as a ``/jax/core/compile/backend_compile_duration``
event; :func:`count_compilations` adds those up for the current thread while it is open, and for
the compilations :class:`AheadJit` runs on other threads on that thread's behalf.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .tracing_lock import TRACING_LOCK, signature

_BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_local = threading.local()
_count_lock = threading.Lock()  # compilations on two threads may add to one counter
_listener_lock = threading.Lock()
_listener_installed = False


@dataclass
class CompileCount:
    """Compilations seen inside a :func:`count_compilations` block and their total seconds."""

    count: int = 0
    seconds: float = 0.0


def _on_duration(event: str, duration: float, **_kwargs) -> None:
    if event != _BACKEND_COMPILE_EVENT:
        return
    counters = getattr(_local, "counters", ())
    if not counters:
        return
    with _count_lock:
        for counter in counters:
            counter.count += 1
            counter.seconds += duration


def _install_listener() -> None:
    global _listener_installed
    with _listener_lock:
        if _listener_installed:
            return
        import jax.monitoring

        jax.monitoring.register_event_duration_secs_listener(_on_duration)
        _listener_installed = True


@contextmanager
def count_compilations():
    """Context manager yielding a :class:`CompileCount` of compilations made by this thread."""
    _install_listener()
    counter = CompileCount()
    stack = getattr(_local, "counters", None)
    if stack is None:
        stack = _local.counters = []
    stack.append(counter)
    try:
        yield counter
    finally:
        stack.remove(counter)


def active_counters() -> tuple[CompileCount, ...]:
    """The counters open on this thread (for compilations done on its behalf on another thread)."""
    return tuple(getattr(_local, "counters", ()))


@contextmanager
def counting_for(counters: tuple[CompileCount, ...]):
    """On this thread, count compilations into ``counters`` (another thread's, from
    :func:`active_counters`) as well as into this thread's own."""
    _install_listener()
    saved = getattr(_local, "counters", None)
    _local.counters = list(saved or ()) + [c for c in counters if c not in (saved or ())]
    try:
        yield
    finally:
        _local.counters = saved if saved is not None else []


# ------------------------------------------------------------------------------ ahead-of-time jit


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = False


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector off inside (re-entrant, across threads: back on when the
    last pause ends, if it was on before the first).

    Tracing a NUTS chunk allocates some 100,000 short-lived objects; each full collection they
    trigger walks every object the imports of jax, numpyro, scipy and arviz left behind. Paused,
    the vmapped chunk of a cold fit traces in about a third less CPU time (bench/DECISIONS.md); the
    cycles made meanwhile are collected when the collector runs again.
    """
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


def _compile(lowered, counters: tuple[CompileCount, ...]):
    with counting_for(counters):
        return lowered.compile()


class Ahead:
    """One program of an :class:`AheadJit` for one argument signature: its output shapes (known as
    soon as it is traced) and its executable (a future: compiled on a thread of its own).

    The thread is started by :meth:`start` (or by the first :meth:`executable`), from the thread
    that traced the program or waits for it, and runs at that thread's CPU priority (Linux threads
    inherit their creator's nice value): the warm start's lowered priority (ui.cache) stays its own,
    and a user's fit never compiles on a thread the warm start left behind.
    """

    def __init__(self, lowered, counters: tuple[CompileCount, ...]) -> None:
        self.out_info = lowered.out_info
        self.future: Future = Future()
        self._lowered, self._counters = lowered, counters
        self._lock = threading.Lock()

    def start(self) -> "Ahead":
        """Start compiling (XLA's compiler releases the GIL), unless started already."""
        with self._lock:
            lowered, self._lowered = self._lowered, None
        if lowered is not None:
            threading.Thread(target=self._run, args=(lowered,), name="hiermod-compile").start()
        return self

    def _run(self, lowered) -> None:
        if not self.future.set_running_or_notify_cancel():
            return
        try:
            self.future.set_result(_compile(lowered, self._counters))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the program
            self.future.set_exception(exc)

    def executable(self):
        """The compiled program (starts its compilation if not started, and waits for it)."""
        return self.start().future.result()


class AheadJit:
    """``jax.jit(fn, **jit_options)`` traced on the calling thread and compiled on a background one.

    :meth:`prepare` traces (``jit(fn).lower``, under :data:`~hiermod.tracing_lock.TRACING_LOCK`:
    tracing runs a NumPyro model) and starts the compilation, returning at once: the caller can
    trace the next program meanwhile, from this one's output shapes (``Ahead.out_info``: abstract
    arguments, ``jax.ShapeDtypeStruct``, trace as well as arrays). Calling compiles (or waits for the
    compilation started) and runs. The compiled programs are kept per argument signature (tree
    structure, shapes, dtypes, weak types, static arguments), so a call with new values of the same
    shapes traces and compiles nothing. The program is exactly ``jax.jit(fn)``'s (same lowering,
    same compiler options): the same inputs give bitwise the same outputs. Compilations count for
    the :func:`count_compilations` blocks open on the thread that called :meth:`prepare`.
    """

    def __init__(self, fn: Callable, static_argnums: int | tuple[int, ...] = (), **jit_options: Any) -> None:
        import jax

        self.static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        self.jitted = jax.jit(fn, static_argnums=self.static_argnums, **jit_options)
        self._programs: dict = {}
        self._lock = threading.Lock()

    def _key(self, args: tuple) -> tuple:
        static = tuple(args[i] for i in self.static_argnums)
        dynamic = tuple(a for i, a in enumerate(args) if i not in self.static_argnums)
        return static, signature(dynamic, {})

    def prepare(self, *args: Any, start: bool = True) -> Ahead:
        """Trace for these arguments (arrays or ``jax.ShapeDtypeStruct``) unless already done, and
        start compiling (``start=False``: later, by ``Ahead.start``); returns the :class:`Ahead`
        without waiting for the compilation."""
        key = self._key(args)
        with self._lock:
            ahead = self._programs.get(key)
        if ahead is None:
            with TRACING_LOCK:
                with self._lock:  # prepared by another thread while this one waited for the lock?
                    ahead = self._programs.get(key)
                if ahead is None:
                    with collector_paused():
                        lowered = self.jitted.lower(*args)
                    ahead = Ahead(lowered, active_counters())
                    with self._lock:
                        self._programs[key] = ahead
        return ahead.start() if start else ahead

    def __call__(self, *args: Any) -> Any:
        ahead = self.prepare(*args)
        try:
            executable = ahead.executable()
        except Exception:
            with self._lock:  # a failed compilation is not kept: the next call tries again
                if self._programs.get(self._key(args)) is ahead:
                    del self._programs[self._key(args)]
            raise
        return executable(*(a for i, a in enumerate(args) if i not in self.static_argnums))


INIT_OPT_LEVEL = 1
"""LLVM optimisation level of the programs that run once per fit (the chains' initialisation, the
draws' postprocessing); XLA's default is 3. Their speed does not matter, their compile time is part
of every cold first fit. (The NUTS chunk keeps XLA's default: -O1 there changed neither its compile
time nor its sampling time measurably; bench/DECISIONS.md.)"""


def compiler_options(level: int) -> dict:
    """``jax.jit(..., compiler_options=...)`` for an LLVM optimisation level."""
    return {"xla_backend_optimization_level": int(level)}


def enable_persistent_cache(path: str | os.PathLike | None = None) -> Path:
    """Keep compiled samplers on disk (``HIERMOD_JAX_CACHE`` or ``~/.cache/hiermod/jax``)."""
    import jax

    target = Path(path or os.environ.get("HIERMOD_JAX_CACHE") or Path.home() / ".cache/hiermod/jax")
    target.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(target))
    # every compilation, however short (why: bench/DECISIONS.md)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return target


def enable_persistent_cache_if_possible() -> Path | None:
    """:func:`enable_persistent_cache`, or None (logged) when the folder cannot be made, e.g. a
    read-only home: fits then compile in memory, as they would without a cache."""
    try:
        return enable_persistent_cache()
    except OSError:
        logging.getLogger(__name__).warning("JAX's on-disk compilation cache could not be set up", exc_info=True)
        return None
