"""The NUTS engine: NumPyro's model and adaptation, hiermod's trajectory, run in jitted chunks with
progress and cancel.

Each iteration is :class:`hiermod.nuts_kernel.NutsIteration`: NumPyro's NUTS kernel builds the
model's potential, finds the starting point and adapts step size and metric; the trajectory is
:mod:`hiermod.nuts_tree`'s (NumPyro's algorithm with a fraction of its operations per leapfrog
step). The sampler runs it in jitted chunks of at most ``CHUNK`` iterations per chain, sized to
take about ``CHUNK_SECONDS`` each.
Between chunks it reports progress and checks the cancel signal. One kernel and one compiled chunk
function are kept per (model structure, warmup length, target acceptance, tree depth, start), and
data and priors (and the instant draws the chains start from: :mod:`hiermod.nuts_start`) enter as
arguments, so a second fit with new prior values or new data of the same shapes compiles nothing.
A fit's three programs (initialisation, chunk, postprocessing) are traced one after another on the
fit's thread and each compiled on a background thread as soon as it is traced
(:class:`hiermod.compilation.AheadJit`), so tracing the chunk overlaps compiling the
initialisation, and so on. :func:`fit_nuts` is the runner of the ``"nuts"`` method
(:data:`hiermod.methods.METHODS`); :func:`hiermod.fitting.fit` validates and dispatches to it.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .compilation import INIT_OPT_LEVEL, AheadJit, compiler_options, count_compilations
from .errors import FitCancelled, FitError
from .jobs import Progress
from .models import Structure, prepare
from .result import Fit, inference_data_from_draws
from .settings import SamplerSettings
from .spec import ModelSpec, check_compatible
from .tracing_lock import locked_jit, tracing

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData

__all__ = ["fit_nuts", "precompile", "chain_method", "chain_threads", "compile_ahead",
           "CHAIN_METHODS", "CHUNK", "FIRST_CHUNK", "CHUNK_SECONDS"]

CHUNK = 250
"""Most NUTS iterations per chain in one compiled call (the size of the per-call record buffer)."""
FIRST_CHUNK = 10
CHUNK_SECONDS = 0.2
"""Chunks are sized to take about this long, so progress moves and Cancel acts within a second,
while small models, whose iterations take tens of microseconds, make few calls."""


class _ChunkSizer:
    """Next chunk length: the iterations that took about ``CHUNK_SECONDS`` in the last call.

    Starts at ``FIRST_CHUNK`` (the first progress report comes quickly), grows at most 4x per call,
    stays within [1, ``CHUNK``]. The draws do not depend on it: every chunk runs the same compiled
    loop body on the carried-over state.
    """

    def __init__(self) -> None:
        self.n = FIRST_CHUNK

    def update(self, n_done: int, seconds: float) -> None:
        wanted = CHUNK_SECONDS * n_done / max(seconds, 1e-6)
        self.n = int(min(CHUNK, 4 * self.n, max(1.0, wanted)))


def _chunk_length(done: int, wanted: int, settings: "SamplerSettings") -> int:
    """Iterations for the next chunk of a chain at ``done``: ``wanted``, cut at the end of warmup
    (a chunk never straddles it) and at the end of the run."""
    boundary = settings.warmup if done < settings.warmup else settings.warmup + settings.draws
    return min(wanted, boundary - done)


def _is_set(cancel: Any) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


# ------------------------------------------------------------------------------------ sampler cache


class _Sampler:
    """A NUTS kernel (NumPyro's, for the model, the start and the adaptation; its iterations are
    :class:`~hiermod.nuts_kernel.NutsIteration`) with its compiled chunk and postprocessing functions.

    ``from_instant``: the chains start at instant draws with the diagonal mass matrix they give,
    held fixed (:mod:`hiermod.nuts_start`; warmup adapts the step size only): the initialisation is
    :meth:`_init_from` and takes the draws as an argument; else NumPyro's random initialisation
    (:meth:`_init_all`) and Stan's windowed mass-matrix adaptation.
    """

    def __init__(self, model: Callable, warmup: int, target_accept: float, max_tree_depth: int,
                 from_instant: bool = False):
        import jax
        from numpyro.infer import NUTS

        from .nuts_kernel import NutsIteration

        self.model = model
        self.warmup = warmup
        self.from_instant = from_instant
        self.kernel = NUTS(model, target_accept_prob=target_accept, max_tree_depth=max_tree_depth,
                           adapt_mass_matrix=not from_instant)
        self.iterate = NutsIteration(self.kernel, warmup)
        self.lock = threading.Lock()
        # AheadJit: traced under the process-wide tracing lock, compiled on a background thread;
        # locked_jit (HIERMOD_COMPILE_AHEAD=0): traced and compiled at the first call, on its thread
        self.ahead = compile_ahead()
        jit = AheadJit if self.ahead else locked_jit
        self.chunk = jit(self._chunk)
        self.chunk_all = jit(jax.vmap(self._chunk, in_axes=(0, None, None)))  # chains stacked
        self.postprocess = jit(self._postprocess, compiler_options=compiler_options(INIT_OPT_LEVEL))
        self.init_all = jit(self._init_all, static_argnums=2, compiler_options=compiler_options(INIT_OPT_LEVEL))
        self.init_from = jit(self._init_from, static_argnums=3, compiler_options=compiler_options(INIT_OPT_LEVEL))
        self.kernel_ready = False  # set once kernel.init has run (the kernel's functions are set)

    @property
    def init_program(self):
        """The compiled initialisation: :meth:`_init_from` (instant start) or :meth:`_init_all`."""
        return self.init_from if self.from_instant else self.init_all

    def init_args(self, settings: SamplerSettings, start: dict | None) -> tuple:
        """The initialisation's arguments after ``kwargs``: (``start`` draws,) number of chains."""
        return (start, settings.chains) if self.from_instant else (settings.chains,)

    def initialise(self, kwargs: dict, settings: SamplerSettings, start: dict | None):
        """The chains' initial states, stacked (compiled: :meth:`_init_all` or :meth:`_init_from`)."""
        return self.init_program(prng_key(settings.seed), kwargs, *self.init_args(settings, start))

    def prepare(self, kwargs: dict, settings: SamplerSettings, method: str, start: dict | None = None) -> list:
        """Trace the fit's programs and start compiling each as soon as it is traced; returns their
        :class:`~hiermod.compilation.Ahead` s (initialisation, chunk, postprocessing), or none when
        NumPyro's init fails while traced (the eager init then says why).

        The chunk is traced from the initialisation's output shapes, the postprocessing from the
        chunk's state shapes while the others compile; the programs are the ones a call would trace
        (same arguments' shapes), so nothing is traced twice. The un-vmapped chunk (``threads``)
        traces while the initialisation compiles; the vmapped one traces about half as fast beside
        that compilation (the two compete for the cores), so there the initialisation starts
        compiling once the chunk is traced, beside the chunk's compilation (bench/DECISIONS.md).
        """
        import jax

        if not self.ahead:
            return []
        vectorized = method == "vectorized"
        try:
            init = self.init_program.prepare(prng_key(settings.seed), kwargs, *self.init_args(settings, start),
                                             start=not vectorized)
        except RuntimeError:  # NumPyro's init raised while traced: _stacked_initial_states handles it
            return []
        finally:
            self.kernel_ready = True  # the first trace of kernel.init set the kernel's functions up
        state = init.out_info  # leaves: (chains, ...)
        if vectorized:
            chunk = self.chunk_all.prepare(state, kwargs, 1)
        else:
            one = jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), state)
            chunk = self.chunk.prepare(one, kwargs, 1)
        init.start()
        n_kept = settings.chains * settings.draws
        z = jax.tree.map(lambda a: jax.ShapeDtypeStruct((n_kept,) + a.shape[1:], a.dtype), state.z)
        return [init, chunk, self.postprocess.prepare(kwargs, z)]

    _KERNEL_ATTRS = ("_init_fn", "_sample_fn", "_potential_fn_gen", "_postprocess_fn",
                     "_inv_transforms", "_dynamic_support")

    def _init_all(self, key, kwargs, chains: int):
        """Initial states of ``chains`` chains (leading axis), from one PRNG key, in one program."""
        import jax

        keys = jax.random.split(key, chains)
        return jax.vmap(self._init_one, in_axes=(0, None))(keys, kwargs)

    def _init_from(self, key, kwargs, draws, chains: int):
        """Initial states of ``chains`` chains at the first ``chains`` instant ``draws`` (constrained,
        leading axis = draw), with the diagonal inverse mass matrix of all the draws
        (:func:`hiermod.nuts_start.inverse_mass_from_draws`), in one program."""
        import jax
        from jax.flatten_util import ravel_pytree
        from numpyro.infer.util import unconstrain_fn

        from .nuts_start import inverse_mass_from_draws

        u = jax.vmap(lambda point: unconstrain_fn(self.model, (), kwargs, point))(draws)
        flat = jax.vmap(lambda point: ravel_pytree(point)[0])(u)  # sites in sorted order, as NumPyro's
        keys = jax.random.split(key, chains)
        starts = jax.tree.map(lambda a: a[:chains], u)
        self.kernel._inverse_mass_matrix = inverse_mass_from_draws(flat)
        try:
            return jax.vmap(self._init_one, in_axes=(0, None, 0))(keys, kwargs, starts)
        finally:
            self.kernel._inverse_mass_matrix = None

    def _init_one(self, key, kwargs, params=None):
        """``kernel.init`` for one chain, traceable: NumPyro re-traces the model in init (about 35 ms
        a chain in Python), so it is compiled once per structure.

        The first trace sets up the kernel: NumPyro builds its functions with ``dynamic_args`` (they
        take data and priors as arguments and close over no traced value; hiermod's models have no
        ``param`` sites), so they serve every later call. Running that first init eagerly instead
        cost about a hundred small XLA compilations (one per operation), a third of a cold fit.
        Later traces put back the attributes they set, keeping the kernel's functions stable.
        """
        saved = {name: getattr(self.kernel, name, None) for name in self._KERNEL_ATTRS}
        try:
            return self.kernel.init(key, self.warmup, init_params=params, model_kwargs=kwargs)
        finally:
            if self.kernel_ready:
                for name, value in saved.items():
                    setattr(self.kernel, name, value)

    @staticmethod
    def _record(state):
        return (
            state.z,
            state.diverging,
            state.num_steps,
            state.energy,
            state.accept_prob,
            state.adapt_state.step_size,
            state.potential_energy,
        )

    def _chunk(self, state, kwargs, n_steps):
        """Run ``n_steps`` (<= CHUNK) NUTS iterations from ``state``; record each in a buffer."""
        import jax
        import jax.numpy as jnp

        template = self._record(state)
        buffer = jax.tree.map(lambda r: jnp.zeros((CHUNK,) + jnp.shape(r), jnp.result_type(r)), template)

        def body(i, carry):
            s, buf = carry
            s = self.iterate(s, kwargs)
            buf = jax.tree.map(lambda b, r: b.at[i].set(r), buf, self._record(s))
            return s, buf

        return jax.lax.fori_loop(0, n_steps, body, (state, buffer))

    def _postprocess(self, kwargs, z):
        import jax

        return jax.vmap(self.kernel.postprocess_fn((), kwargs))(z)


_SAMPLERS: "OrderedDict[tuple, _Sampler]" = OrderedDict()
_SAMPLERS_LOCK = threading.Lock()
MAX_SAMPLERS = 12
"""Compiled samplers kept in memory, least recently used dropped first. Each holds its XLA
executables, about 1,100 memory mappings per structure (measured: bench/DECISIONS.md); Linux
allows 65,530 per process, so an unbounded cache crashes a long-lived server (or the test suite)
after some 55 structures. A dropped structure recompiles (or loads from the on-disk cache)."""


def _sampler_for(model: Callable, structure: Structure, settings: SamplerSettings) -> _Sampler:
    """The cached sampler for ``settings`` as resolved (:meth:`SamplerSettings.resolved`)."""
    from_instant = settings.start == "instant"
    key = (structure, settings.warmup, float(settings.target_accept), settings.max_tree_depth, from_instant)
    with _SAMPLERS_LOCK:
        sampler = _SAMPLERS.get(key)
        if sampler is None:
            sampler = _SAMPLERS[key] = _Sampler(
                model, settings.warmup, float(settings.target_accept), settings.max_tree_depth, from_instant
            )
            while len(_SAMPLERS) > MAX_SAMPLERS:
                _SAMPLERS.popitem(last=False)
        _SAMPLERS.move_to_end(key)
        return sampler


# ------------------------------------------------------------------------------------------ NUTS


def _init_chains(sampler: _Sampler, kwargs: dict, keys) -> list:
    """One initial NUTS state per chain, eagerly (kernel.init per key keeps the kernel reusable)."""
    states = []
    for key in keys:
        try:
            with tracing():  # eager: runs the model under NumPyro's (global) handler stack
                states.append(sampler.kernel.init(key, sampler.warmup, model_kwargs=kwargs))
        except RuntimeError as exc:  # numpyro: "Cannot find valid initial parameters"
            raise FitError(
                "The sampler found no valid starting point: the log density is not finite for any "
                "initial value it tried. Check the data for extreme values and make the priors "
                f"less extreme. (NumPyro said: {str(exc).splitlines()[0]})"
            ) from None
    return states


def _stacked_initial_states(sampler: _Sampler, kwargs: dict, settings: SamplerSettings, start: dict | None):
    """Initial states of all chains stacked (leading axis = chain), from the compiled init; None when
    the sampler starts from instant draws and one of them is not a valid start (the caller then
    starts at random).

    When a random starting point is not valid (the compiled init cannot raise), or the compiled init
    fails, the eager init runs for every chain instead: it either finds valid points or raises a
    :class:`FitError` with advice.
    """
    import jax

    try:
        stacked = sampler.initialise(kwargs, settings, start)
        valid = bool(np.all(np.isfinite(np.asarray(stacked.potential_energy))))
    except RuntimeError:  # NumPyro's own init failing while traced: the eager one says why
        valid = False
    sampler.kernel_ready = True
    if not valid and sampler.from_instant:
        return None
    if not valid:
        keys = jax.random.split(prng_key(settings.seed), settings.chains)
        stacked = jax.tree.map(lambda *leaves: jax.numpy.stack(leaves), *_init_chains(sampler, kwargs, keys))
    return stacked


def prng_key(seed: int) -> np.ndarray:
    """``jax.random.PRNGKey(seed)`` for 0 <= seed < 2**31 (SamplerSettings' range), made in numpy:
    the eager call compiles a program of its own."""
    return np.array([0, seed], dtype=np.uint32)


def compile_ahead() -> bool:
    """Whether a new sampler compiles its programs ahead, on background threads, while the next one
    is traced (:meth:`_Sampler.prepare`): ``HIERMOD_COMPILE_AHEAD`` = ``1`` (default) or ``0``
    (each program traced and compiled at its first call, on the fit's thread, by ``jax.jit``). The
    programs are the same either way, and so are the draws."""
    return os.environ.get("HIERMOD_COMPILE_AHEAD", "1").strip() != "0"


def chain_threads() -> int:
    """How many chains run at once (threads; JAX releases the GIL): ``HIERMOD_CHAIN_THREADS`` or min(2, cores)."""
    value = os.environ.get("HIERMOD_CHAIN_THREADS", "")
    if value.isdigit() and int(value) >= 1:
        return int(value)
    return max(1, min(2, os.cpu_count() or 1))


CHAIN_METHODS = ("auto", "vectorized", "threads")


def chain_method() -> str:
    """How chains run: ``HIERMOD_CHAIN_METHOD`` = ``auto`` (default: ``threads``), ``vectorized``
    or ``threads``.

    ``threads``: each chain advances on its own, :func:`chain_threads` at a time, so a fit uses
    both cores and chains whose trajectories differ in length do not wait for each other.
    ``vectorized``: one jitted call advances every chain by a chunk (``jax.vmap`` over the stacked
    states); each iteration costs the longest trajectory among the chains, but per-operation
    overhead is paid once for all chains. With NumPyro's tree building that overhead made
    vectorized chains faster up to about 100 groups; with :mod:`hiermod.nuts_tree`'s, threads are
    faster on every benchmark model and compile sooner (bench/DECISIONS.md). The draws of one
    method depend only on the seed (not on load or ``HIERMOD_CHAIN_THREADS``).
    """
    value = os.environ.get("HIERMOD_CHAIN_METHOD", "auto").strip().lower()
    return value if value in CHAIN_METHODS and value != "auto" else "threads"


def _per_method(stacked, settings: SamplerSettings, method: str):
    """The stacked initial state as ``method`` runs it: as is (``vectorized``) or a list of
    per-chain states (``threads``)."""
    import jax

    if method == "vectorized":
        return stacked
    stacked = jax.tree.map(np.asarray, stacked)  # indexed in numpy: no program per leaf
    return [jax.tree.map(lambda a, c=c: a[c], stacked) for c in range(settings.chains)]


def _run_nuts(sampler: _Sampler, kwargs: dict, settings: SamplerSettings, progress, cancel,
              method: str, stacked) -> dict:
    """Run all chains chunk by chunk from the ``stacked`` initial states (``method`` from
    :func:`chain_method`); return raw per-iteration records of the kept draws, leaves shaped
    (chains, draws, ...)."""
    state = _per_method(stacked, settings, method)
    if method == "vectorized":
        return _run_nuts_vectorized(sampler, kwargs, settings, progress, cancel, state)
    return _run_nuts_threads(sampler, kwargs, settings, progress, cancel, state)


class _Reporter:
    """Sends :class:`Progress` (iterations done over all chains, divergences, time left)."""

    def __init__(self, progress, settings: SamplerSettings):
        self.progress, self.settings, self.t0 = progress, settings, time.perf_counter()

    def __call__(self, n_done: int, divergences: int) -> None:
        if self.progress is None:
            return
        s = self.settings
        n_total = (s.warmup + s.draws) * s.chains
        phase = "warmup" if n_done < s.warmup * s.chains else "sampling"
        elapsed = time.perf_counter() - self.t0
        eta = elapsed / n_done * (n_total - n_done) if n_done else None
        self.progress(Progress(phase=phase, done=n_done, total=n_total, divergences=divergences,
                               elapsed_s=elapsed, eta_s=eta,
                               message=f"{phase}: {n_done}/{n_total} iterations, {divergences} divergent"))


def _run_nuts_vectorized(sampler: _Sampler, kwargs: dict, settings: SamplerSettings, progress, cancel,
                         state) -> dict:
    """All chains advance together, one jitted ``vmap``-ed chunk per call."""
    import jax

    report = _Reporter(progress, settings)
    total_iter = settings.warmup + settings.draws
    done, divergences, records = 0, 0, []
    sizer = _ChunkSizer()
    report(0, 0)
    while done < total_iter:
        if _is_set(cancel):
            raise FitCancelled("The fit was cancelled.")
        n = _chunk_length(done, sizer.n, settings)
        t_call = time.perf_counter()
        state, rec = sampler.chunk_all(state, kwargs, n)
        rec = jax.tree.map(lambda a: np.asarray(a)[:, :n].copy(), rec)  # copy: not a view of the buffer
        sizer.update(n, time.perf_counter() - t_call)
        if done >= settings.warmup:
            records.append(rec)
            divergences += int(rec[1].sum())
        done += n
        report(done * settings.chains, divergences)
    return jax.tree.map(lambda *a: np.concatenate(a, axis=1), *records)  # leaves: (chains, draws, ...)


def _run_nuts_threads(sampler: _Sampler, kwargs: dict, settings: SamplerSettings, progress, cancel,
                      states: list) -> dict:
    """Each chain advances on its own, :func:`chain_threads` chains at a time."""
    import jax

    report = _Reporter(progress, settings)
    total_iter = settings.warmup + settings.draws
    done = [0] * settings.chains
    divergences = 0
    records: list[list] = [[] for _ in range(settings.chains)]

    def advance(c: int) -> int:
        """One chunk of chain ``c``; chunks never straddle the end of warmup. Returns divergences."""
        n = _chunk_length(done[c], sizer.n, settings)
        if n <= 0:
            return 0
        states[c], rec = sampler.chunk(states[c], kwargs, n)
        rec = jax.tree.map(lambda a: np.asarray(a)[:n].copy(), rec)  # copy: not a view of the buffer
        kept = done[c] >= settings.warmup
        done[c] += n
        if kept:
            records[c].append(rec)
            return int(rec[1].sum())
        return 0

    sizer = _ChunkSizer()
    report(0, 0)
    threads = min(chain_threads(), settings.chains)
    pool = ThreadPoolExecutor(threads, thread_name_prefix="hiermod-chain") if threads > 1 else None
    try:
        first_round = True
        while min(done) < total_iter:
            if _is_set(cancel):
                raise FitCancelled("The fit was cancelled.")
            before, t_round = sum(done), time.perf_counter()
            if pool is None or first_round:  # the first round compiles: keep it on this thread
                divergences += sum(advance(c) for c in range(settings.chains))
            else:
                divergences += sum(pool.map(advance, range(settings.chains)))
            if not first_round:  # per chain: the round ran chains/threads chunks one after another
                rounds = -(-settings.chains // threads)
                sizer.update((sum(done) - before) // settings.chains, (time.perf_counter() - t_round) / rounds)
            first_round = False
            report(sum(done), divergences)
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    stacked = [jax.tree.map(lambda *a: np.concatenate(a), *chain) for chain in records]
    return jax.tree.map(lambda *a: np.stack(a), *stacked)  # leaves: (chains, draws, ...)


def _stats(rec, max_tree_depth: int) -> dict[str, np.ndarray]:
    _, diverging, num_steps, energy, accept, step_size, potential = rec
    steps = np.maximum(np.asarray(num_steps), 1)
    return {
        "diverging": np.asarray(diverging, dtype=bool),
        "n_steps": np.asarray(num_steps, dtype=np.int64),
        "tree_depth": (np.floor(np.log2(steps)).astype(np.int64) + 1),
        "energy": np.asarray(energy, dtype=float),
        "acceptance_rate": np.asarray(accept, dtype=float),
        "step_size": np.asarray(step_size, dtype=float),
        "lp": -np.asarray(potential, dtype=float),
        "max_tree_depth_reached": np.asarray(num_steps) >= 2**max_tree_depth - 1,
    }


def _flat_posterior(sampler: _Sampler, kwargs: dict, rec) -> dict[str, np.ndarray]:
    """Constrained draws (and deterministic sites) from the recorded unconstrained states."""
    import jax

    flat_z = jax.tree.map(lambda a: a.reshape((-1,) + a.shape[2:]), rec[0])
    return {k: np.asarray(v, dtype=float) for k, v in sampler.postprocess(kwargs, flat_z).items()}


def _instant_start(data, spec: ModelSpec, settings: SamplerSettings, model, kwargs) -> dict | None:
    """The instant draws the chains start from (:func:`hiermod.nuts_start.instant_start`), or None."""
    if settings.start != "instant":
        return None
    from .nuts_start import instant_start, latent_sites

    return instant_start(data, spec, settings, latent_sites(model, kwargs))


def _started(model, kwargs: dict, structure: Structure, settings: SamplerSettings, method: str,
             start: dict | None):
    """(resolved settings, sampler, stacked initial states, its programs), the initialisation and
    chunk compiled (the postprocessing compiles meanwhile): from the instant ``start`` when given
    and every chain's start is valid, else from random starts."""
    resolved = settings.resolved(from_instant=start is not None)
    sampler = _sampler_for(model, structure, resolved)
    with sampler.lock:
        programs = sampler.prepare(kwargs, resolved, method, start)
        for program in programs[:2]:
            program.executable()
        stacked = _stacked_initial_states(sampler, kwargs, resolved, start)
    if stacked is None:  # an instant draw is no valid start (its log density is not finite)
        return _started(model, kwargs, structure, settings, method, None)
    return resolved, sampler, stacked, programs


def fit_nuts(data: "GroupedData", spec: ModelSpec, settings: SamplerSettings, progress=None, cancel=None) -> Fit:
    """NUTS fit of ``spec`` to ``data`` (already checked by :func:`hiermod.fitting.fit`).

    The chains start from the instant posterior when ``settings.start`` asks for it and it serves
    the model (:mod:`hiermod.nuts_start`); the Fit's settings say what was done (``start``, and the
    ``warmup`` run). ``progress`` receives a :class:`~hiermod.jobs.Progress` after every chunk;
    ``cancel`` (an object with ``is_set()``, or a callable) stops the fit with
    :class:`FitCancelled` within one chunk.
    """
    t0 = time.perf_counter()
    model, kwargs, priors, structure = prepare(data, spec)
    method = chain_method()
    with count_compilations() as compiles:
        start = _instant_start(data, spec, settings, model, kwargs)
        t_start = time.perf_counter()
        settings, sampler, stacked, programs = _started(model, kwargs, structure, settings, method, start)
        t_ready = time.perf_counter()
        with sampler.lock:
            rec = _run_nuts(sampler, kwargs, settings, progress, cancel, method, stacked)
            t_sampled = time.perf_counter()
            if progress is not None:
                n = settings.chains * (settings.warmup + settings.draws)
                progress(Progress(phase="postprocessing", done=n, total=n,
                                  divergences=int(np.sum(rec[1])), elapsed_s=t_sampled - t0, eta_s=None,
                                  message="Computing log-likelihood and predictive draws"))
            flat = _flat_posterior(sampler, kwargs, rec)
    idata = inference_data_from_draws(flat, data, spec, priors, settings, _stats(rec, settings.max_tree_depth))
    total = time.perf_counter() - t0
    timings = {
        "compile_s": compiles.seconds,  # summed over compilations, some of which ran at once
        "compilations": float(compiles.count),
        "start_s": t_start - t0,  # the model and, with an instant start, its instant draws
        "prepare_s": t_ready - t0,  # also tracing and compiling (or finding) the programs
        "sampling_s": t_sampled - t_ready,
        "total_s": total,
    }
    idata.sample_stats.attrs["chain_method"] = method
    idata.sample_stats.attrs["start"] = settings.start
    return Fit(idata, data, spec, priors, "nuts", settings, timings)


def precompile(data: "GroupedData", spec: ModelSpec, settings: SamplerSettings | None = None) -> int:
    """Compile the sampler for this structure and settings without sampling; returns compilations.

    Initialises the chains (from the instant posterior when the fit would) and runs one NUTS
    iteration, so a later :func:`hiermod.fitting.fit` of the same structure (any prior values, any
    data values of the same shapes) starts at once.
    """
    settings = settings or SamplerSettings()
    check_compatible(spec, data)
    model, kwargs, priors, structure = prepare(data, spec)
    method = chain_method()
    with count_compilations() as compiles:
        start = _instant_start(data, spec, settings, model, kwargs)
        settings, sampler, stacked, programs = _started(model, kwargs, structure, settings, method, start)
        with sampler.lock:
            state = _per_method(stacked, settings, method)
            if method == "vectorized":
                sampler.chunk_all(state, kwargs, 1)
            else:
                sampler.chunk(state[0], kwargs, 1)
            for program in programs:
                program.executable()
    return compiles.count
