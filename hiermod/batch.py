"""Batch work fanned out as many tasks on any :class:`~hiermod.jobs.Executor` (local or Dask).

Each item is one task, so a cluster runs them side by side; the call blocks until all are back
and merges their progress into one :class:`~hiermod.jobs.Progress`::

    ex = DaskExecutor("tcp://host:8786")            # or ThreadExecutor(), default_executor()
    fits = pooling_fits(ex, data, spec, settings)   # {"none": Fit, "complete": Fit, "partial": Fit}
    fits = map_fits(ex, data, {"a": spec_a, "b": spec_b}, settings, method="nuts")
    fits = prior_grid_fits(ex, data, spec, settings)   # {prior label: Fit}, the prior set's priors
    fits = variant_fits(ex, data, variants, settings)  # {variant name: Fit}, each its own method
    res = sbc_replicates(ex, data, spec, reps=200, method="nuts", tasks=8)   # one SBCResult

Every task is a module-level function of picklable arguments (:func:`fit_task`,
:func:`sbc_task`) that reuses the per-item code (:func:`hiermod.fitting.fit`,
:func:`hiermod.sbc.run_sbc`). ``progress`` receives the merged Progress ("2 of 3 done, 1
running"); ``cancel`` (an Event, or anything with ``is_set()``) cancels every job and raises
:class:`~hiermod.errors.FitCancelled`; ``done(name, value)`` is called as each item finishes. The
first item that fails cancels the rest and its error is raised. An executor whose queue is full
(the local one holds 8) is fed as its jobs finish.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np

from .errors import FitCancelled, HiermodError, SpecError
from .jobs import FINISHED, Progress

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .jobs import Executor, Job
    from .result import Fit
    from .sbc import SBCResult
    from .settings import SamplerSettings
    from .spec import ModelSpec
    from .variants import Variant

__all__ = ["fit_task", "sbc_task", "gather", "map_fits", "pooling_fits", "prior_grid_fits",
           "variant_fits", "sbc_replicates", "sbc_chunks", "POLL_S"]

POLL_S = 0.2
"""How often the jobs are looked at while waiting."""
MAX_SBC_TASKS = 8
"""Default number of SBC tasks: replications split into at most this many (each >= MIN_REPS)."""


# ------------------------------------------------------------------------------------ tasks


def fit_task(data: "GroupedData", spec: "ModelSpec", settings: "SamplerSettings", method: str = "nuts", *,
             progress: Callable[[Progress], None] | None = None, cancel: Any = None,
             publish: Callable[[Any], None] | None = None) -> "Fit":
    """One fit as an executor task: :func:`hiermod.fitting.fit` with ``settings``."""
    from .fitting import fit_with

    return fit_with(data, spec, settings, method, progress=progress, cancel=cancel)


def sbc_task(data: "GroupedData", spec: "ModelSpec", reps: int, draws: int, method: str, seed: int,
             options: Mapping[str, Any], *, progress: Callable[[Progress], None] | None = None,
             cancel: Any = None, publish: Callable[[Any], None] | None = None) -> "SBCResult":
    """``reps`` SBC replications as an executor task: :func:`hiermod.sbc.run_sbc`."""
    from .sbc import run_sbc

    if method == "nuts":
        from .compilation import enable_persistent_cache_if_possible

        enable_persistent_cache_if_possible()
    return run_sbc(data, spec, reps=reps, draws=draws, method=method, seed=seed, progress=progress,
                   cancel=cancel, **dict(options))


# ---------------------------------------------------------------------------- fan out, wait


def _is_set(cancel: Any) -> bool:
    return cancel is not None and bool(cancel.is_set() if hasattr(cancel, "is_set") else cancel())


def _merged(jobs: Mapping[str, "Job"], expected: Mapping[str, int], pending: int, t0: float) -> Progress:
    done = total = divergences = 0
    finished = running = 0
    for name, job in jobs.items():
        p = job.progress
        size = p.total if p.total > 0 else expected.get(name, 0)
        total += size
        if job.status in FINISHED:
            finished += 1
            done += size
        else:
            running += job.status == "running"
            done += min(p.done, size)
        divergences += p.divergences
    total += sum(expected.get(n, 0) for n in list(expected)[len(jobs):len(jobs) + pending])
    n = len(jobs) + pending
    phase = "sampling" if finished or running else "queued"
    return Progress(phase=phase, done=done, total=max(total, 1), divergences=divergences,
                    elapsed_s=time.time() - t0, eta_s=None,
                    message=f"{finished} of {n} done, {running} running")


def gather(executor: "Executor", work: Mapping[str, tuple[Callable[..., Any], tuple]], *,
           expected: Mapping[str, int] | None = None, progress: Callable[[Progress], None] | None = None,
           cancel: Any = None, done: Callable[[str, Any], None] | None = None, label: str = "",
           poll_s: float = POLL_S) -> dict[str, Any]:
    """Run ``work`` ({name: (task, args)}) as one job each on ``executor``; {name: value} in order.

    ``expected`` ({name: iterations}) sizes the merged progress before a job reports its own total.
    Jobs are submitted in order; when the executor refuses one (its queue is full) it is submitted
    again as this batch's own jobs finish.
    """
    todo = list(work.items())
    expected = dict(expected or {})
    jobs: dict[str, "Job"] = {}
    results: dict[str, Any] = {}
    t0 = time.time()
    try:
        while len(results) < len(work):
            if _is_set(cancel):
                raise FitCancelled("The batch was cancelled.")
            while todo:
                name, (task, args) = todo[0]
                try:
                    jobs[name] = executor.submit(task, *args, label=f"{label}{name}")
                except HiermodError:
                    if not any(j.status not in FINISHED for j in jobs.values()):
                        raise  # busy with other people's work: say so rather than wait forever
                    break
                todo.pop(0)
            for name, job in jobs.items():
                if name in results or not job.done():
                    continue
                results[name] = job.result()  # re-raises the job's error (FitCancelled when cancelled)
                if done is not None:
                    done(name, results[name])
            if progress is not None:
                progress(_merged(jobs, expected, len(todo), t0))
            if len(results) < len(work):
                waiting = [j for j in jobs.values() if not j.done()]
                if waiting:
                    waiting[0].wait(poll_s)
                else:
                    time.sleep(poll_s)
    except BaseException:
        for job in jobs.values():
            job.cancel()
        raise
    return {name: results[name] for name in work}


def map_fits(executor: "Executor", data: "GroupedData", specs: Mapping[str, "ModelSpec"],
             settings: "SamplerSettings", method: "str | Mapping[str, str]" = "nuts", *,
             progress: Callable[[Progress], None] | None = None, cancel: Any = None,
             done: Callable[[str, "Fit"], None] | None = None, label: str = "") -> dict[str, "Fit"]:
    """One fit per spec, each its own task: {name: Fit} in ``specs`` order. ``method``: one for
    all, or {name: method}."""
    specs = dict(specs)
    if not specs:
        raise SpecError("Give at least one model to fit.")
    per = settings.chains * (settings.most_warmup + settings.draws)
    work = {name: (fit_task, (data, s, settings, method if isinstance(method, str) else method[name]))
            for name, s in specs.items()}
    return gather(executor, work, expected={n: per for n in specs}, progress=progress, cancel=cancel,
                  done=done, label=label)


def pooling_fits(executor: "Executor", data: "GroupedData", spec: "ModelSpec", settings: "SamplerSettings", *,
                 modes: Iterable[str] = ("none", "complete", "partial"), method: str = "nuts",
                 **kwargs: Any) -> dict[str, "Fit"]:
    """The pooling modes of ``spec`` as separate tasks: {mode: Fit} (priors that do not apply to a
    mode are dropped, as in :func:`hiermod.orchestrate.fit_pooling_modes`)."""
    from .orchestrate import MODES

    modes = tuple(str(m) for m in modes)
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        raise SpecError(f"Unknown pooling mode(s) {', '.join(unknown)}; use none, complete, partial.")
    return map_fits(executor, data, {m: spec.replace(pooling=m) for m in modes}, settings, method,
                    label="pooling-", **kwargs)


def prior_grid_fits(executor: "Executor", data: "GroupedData", spec: "ModelSpec", settings: "SamplerSettings",
                    choices: "Sequence[Any] | None" = None, *, method: str = "nuts",
                    **kwargs: Any) -> dict[str, "Fit"]:
    """The model under each prior of a sensitivity grid, one task each: {label: Fit}.

    ``choices``: :class:`hiermod.sensitivity.PriorChoice` entries (default: the prior set of
    :func:`hiermod.sensitivity.prior_set` over the model's group-level scales)."""
    from .sensitivity import prior_set, varied_hyperparameters

    if choices is None:
        choices = prior_set(data, spec, varied_hyperparameters(spec, tuple(spec.prior_names())))
    specs = {c.label: spec.with_priors(**c.priors) for c in choices}
    return map_fits(executor, data, specs, settings, method, label="prior-", **kwargs)


def variant_fits(executor: "Executor", data: "GroupedData", variants: "Sequence[Variant]",
                 settings: "SamplerSettings", **kwargs: Any) -> dict[str, "Fit"]:
    """Model variants, one task each with its own method: {name: Fit} (checked first, as in
    :func:`hiermod.variants.fit_variants`)."""
    from .variants import check_variant

    variants = list(variants)
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise SpecError(f"variant '{twice}' is listed twice; give each variant its own name.")
    for position, v in enumerate(variants, start=1):
        check_variant(v, data, position)
    return map_fits(executor, data, {v.name: v.spec for v in variants}, settings,
                    {v.name: v.method for v in variants}, label="variant-", **kwargs)


# ------------------------------------------------------------------------------------- SBC


def sbc_chunks(reps: int, seed: int, tasks: int | None = None) -> list[tuple[int, int]]:
    """(replications, seed) per SBC task: ``reps`` split as evenly as possible into ``tasks``
    chunks of at least :data:`hiermod.sbc.MIN_REPS` (default: at most :data:`MAX_SBC_TASKS`).
    One chunk keeps ``seed`` (the same ranks as one :func:`~hiermod.sbc.run_sbc` call); several
    get seeds derived from (seed, chunk), so the same ``seed`` and ``tasks`` give the same ranks."""
    from .sbc import MAX_REPS, MIN_REPS

    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or not MIN_REPS <= reps <= MAX_REPS:
        raise SpecError(f"reps (replications) must be a whole number from {MIN_REPS} to {MAX_REPS}; got {reps!r}.")
    most = max(1, int(reps) // MIN_REPS)
    n = min(most, MAX_SBC_TASKS) if tasks is None else int(tasks)
    if not 1 <= n <= most:
        raise SpecError(f"tasks must be from 1 to {most} for {reps} replications (each task runs at least "
                        f"{MIN_REPS}); got {tasks!r}.")
    sizes = [int(reps) // n + (k < int(reps) % n) for k in range(n)]
    if n == 1:
        return [(sizes[0], int(seed))]
    states = [int(np.random.SeedSequence([int(seed), 13, k]).generate_state(1)[0]) >> 1 for k in range(n)]
    return list(zip(sizes, states))


def sbc_replicates(executor: "Executor", data: "GroupedData", spec: "ModelSpec", reps: int = 500,
                   draws: int = 199, method: str = "instant", seed: int = 0, *, tasks: int | None = None,
                   progress: Callable[[Progress], None] | None = None, cancel: Any = None,
                   **options: Any) -> "SBCResult":
    """Simulation-based calibration with its replications fanned out (:func:`sbc_chunks`): one
    :func:`hiermod.sbc.run_sbc` task per chunk, merged into ONE :class:`~hiermod.sbc.SBCResult`
    (ranks stacked, failures and NUTS diagnostics summed, the verdict's notes recomputed).
    ``options``: run_sbc's other keywords (``alpha``, ``warmup``, ``thin``, ``chains``,
    ``target_accept``)."""
    import pandas as pd

    from .sbc import SBCResult, _notes

    if "max_seconds" in options or "sampler" in options:
        raise SpecError("sbc_replicates takes neither max_seconds nor a custom sampler: run run_sbc for those.")
    chunks = sbc_chunks(reps, seed, tasks)
    t0 = time.perf_counter()
    work = {f"sbc-{k}": (sbc_task, (data, spec, n, draws, method, s, dict(options)))
            for k, (n, s) in enumerate(chunks)}
    parts = list(gather(executor, work, expected={name: 0 for name in work}, progress=progress,
                        cancel=cancel).values())
    first = parts[0]
    columns = [c for c in first.ranks.columns if all(c in p.ranks.columns for p in parts)]
    ranks = pd.concat([p.ranks[columns] for p in parts], ignore_index=True)
    ranks.index.name = "replication"
    failed = sum(p.failed for p in parts)
    diagnostics: dict = {}
    for p in parts:
        for key, value in p.diagnostics.items():
            diagnostics[key] = diagnostics.get(key, 0) + value
    notes = _notes(False, len(ranks), int(reps), failed, diagnostics, first.L)
    return SBCResult(ranks, first.L, first.method, first.spec, first.design, time.perf_counter() - t0,
                     int(seed), first.alpha, failed, int(reps), diagnostics, notes,
                     tuple(c for c in first.scalars if c in columns))
