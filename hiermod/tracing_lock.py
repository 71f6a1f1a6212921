"""One process-wide lock around every NumPyro model trace, so fits on several threads cannot mix.

NumPyro's effect-handler stack (``numpyro.primitives._PYRO_STACK``) is one global list, not one per
thread. Two threads running a model under handlers at the same time push onto the same stack and
each sees the other's sample sites (``AssertionError: all sites must have unique names but got mu
duplicated``, shape mismatches). A model runs under handlers whenever it is *traced*: NumPyro's
eager ``kernel.init``, ``Predictive``, and the first call of a jitted function for a new argument
signature (JAX traces the Python function, then compiles). A later call of the same jitted function
with the same signature runs compiled code and touches no handler.

So hiermod takes :data:`TRACING_LOCK` around every eager trace (:func:`tracing`) and wraps its jitted
functions in :class:`LockedJit`, which takes the lock only for a signature it has not run yet
(trace + compile + that first call) and runs every later call without it, or (the NUTS sampler's)
in :class:`hiermod.compilation.AheadJit`, which holds it only while tracing (compiling runs on
another thread, without it). Sampling itself
stays parallel: three cold fits (eight schools, Efron-Morris, rat tumors; 2 chains x 400) on three
threads took 31 s where a lock around whole fits (one after another) took 69 s (2 shared cores). Worker
processes (:mod:`hiermod.worker_pool`) each run one job at a time, so there the lock is never
contended; it matters for threads in one process (ThreadExecutor, the warm-start precompile, Dask
workers with several threads, notebooks).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

__all__ = ["TRACING_LOCK", "IMPORT_LOCK", "import_heavy_modules", "tracing", "signature", "LockedJit",
           "locked_jit"]

TRACING_LOCK = threading.RLock()
"""Held while a NumPyro model is traced (re-entrant: a trace may start another)."""

IMPORT_LOCK = threading.RLock()
"""Held while jax, numpyro or arviz is first imported: two threads importing arviz at once can see
a partially initialised module (``ImportError: cannot import name ... from partially initialized
module 'arviz.data'``). ui.cache.heavy_imports, the fit task and the worker pool's result reader
take it, through :func:`import_heavy_modules`."""

LAZY_IMPORTS = ("dask.array",)
"""Optional modules other libraries import lazily, on whatever thread first needs them: xarray
imports ``dask.array`` when it builds its first Variable (``array_type("dask")``) and scipy's
``logsumexp`` then looks it up in ``sys.modules``. Imported up front, under the lock, when installed,
so no thread ever meets it half imported (seen: "partially initialized module 'dask.array' has no
attribute 'Array'" while a worker's result was unpickled as a page imported)."""

_HEAVY_DONE = threading.Event()


def import_heavy_modules() -> None:
    """Import jax, numpyro, arviz, scipy.special and :data:`LAZY_IMPORTS` once per process, one
    thread at a time (under :data:`IMPORT_LOCK`); later calls return at once."""
    if _HEAVY_DONE.is_set():
        return
    import importlib
    import importlib.util

    with IMPORT_LOCK:
        if _HEAVY_DONE.is_set():
            return
        import arviz  # noqa: F401
        import jax  # noqa: F401
        import numpyro  # noqa: F401
        import numpyro.infer  # noqa: F401
        import scipy.special  # noqa: F401

        for name in LAZY_IMPORTS:
            if importlib.util.find_spec(name.split(".")[0]) is not None:
                importlib.import_module(name)
        _HEAVY_DONE.set()


@contextmanager
def tracing() -> Iterator[None]:
    """Hold :data:`TRACING_LOCK` for an eager NumPyro trace (kernel.init, Predictive, ...)."""
    with TRACING_LOCK:
        yield


def signature(args: tuple, kwargs: dict) -> tuple:
    """What decides whether ``jax.jit`` traces again: the tree structure and each leaf's abstract
    value (shape, dtype, weak type)."""
    import jax
    from jax.api_util import shaped_abstractify

    leaves, treedef = jax.tree.flatten((args, kwargs))
    return treedef, tuple(shaped_abstractify(leaf) for leaf in leaves)


class LockedJit:
    """``jax.jit(fn)`` whose calls with a new argument signature hold :data:`TRACING_LOCK`."""

    def __init__(self, fn: Callable, **jit_options: Any) -> None:
        import jax

        self._jitted = jax.jit(fn, **jit_options)
        self._seen: set = set()
        self._seen_lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        key = signature(args, kwargs)
        with self._seen_lock:
            seen = key in self._seen
        if seen:
            return self._jitted(*args, **kwargs)
        with TRACING_LOCK:
            out = self._jitted(*args, **kwargs)
            with self._seen_lock:
                self._seen.add(key)
            return out


def locked_jit(fn: Callable, **jit_options: Any) -> LockedJit:
    """:class:`LockedJit` of ``fn`` (the drop-in for ``jax.jit`` on functions that run a model)."""
    return LockedJit(fn, **jit_options)
