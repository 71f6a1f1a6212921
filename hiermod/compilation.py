"""Count XLA compilations (not seconds) and set up JAX's persistent compilation cache.

JAX reports every backend compilation as a ``/jax/core/compile/backend_compile_duration``
event; :func:`count_compilations` adds those up for the current thread while it is open.
"""

from __future__ import annotations

import logging
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_local = threading.local()
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
    for counter in getattr(_local, "counters", ()):
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
