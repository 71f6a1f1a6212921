"""Session and cache helpers of the Checks-and-comparison page.

* Pooling comparison: :func:`start_comparison` runs :func:`hiermod.orchestrate.fit_pooling_modes`
  for one (data, spec, settings) as ONE background job in the :data:`CMP` job slot: each finished
  fit goes into the process-wide :func:`ui.cache.fit_cache` under its own fit key (so a mode
  fitted before -- on the Fit page or by another session -- is not fitted again, and the Fit page
  finds these), and running comparisons are shared between sessions.

Their tables are cached in :mod:`ui.tables`.

Session keys (plain, non-widget; worker threads never touch them):

Key                 Type                          Meaning
------------------  ----------------------------  ---------------------------------------------
``hm_cmp_job``      hiermod.jobs.Job | None       the running pooling comparison of this session
``hm_cmp_key``      tuple | None                  its comparison key (see :func:`compare_key`)
``hm_cmp_t0``       float | None                  time.time() when it was started
``hm_cmp_results``  OrderedDict[tuple, dict]      finished comparisons {"none", "complete", "partial"}
``hm_cmp_status``   dict | None                   {"status", "message", "seconds", "key"}
``hm_struct_job``   hiermod.jobs.Job | None       the running structure comparison of this session
``hm_struct_key``   tuple | None                  its key (see :func:`structure_key`)
``hm_struct_t0``    float | None                  time.time() when it was started
``hm_struct_results`` OrderedDict[tuple, dict]    finished structure comparisons {name: Fit}
``hm_struct_status`` dict | None                  {"status", "message", "seconds", "key"}

* Structure comparison: :func:`start_structures` fits the simpler structure(s) of
  :func:`hiermod.model_comparison.structure_alternatives` (one level against all levels, a common
  slope against varying slopes, a normal population against Beta/Gamma) with
  :func:`hiermod.orchestrate.fit_structures` in the :data:`STRUCT` job slot, the same way.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import streamlit as st

from hiermod.orchestrate import MODE_NAMES, MODES  # noqa: F401  (MODE_NAMES: pages read it here)
from ui import cache, state
from ui.job_slot import JobSlot, Wording, queue_text

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.data import GroupedData
    from hiermod.result import Fit
    from hiermod.settings import SamplerSettings
    from hiermod.spec import ModelSpec

log = logging.getLogger("hiermod.ui")

CMP_JOB = "hm_cmp_job"
CMP_KEY = "hm_cmp_key"
CMP_T0 = "hm_cmp_t0"
CMP_RESULTS = "hm_cmp_results"
CMP_STATUS = "hm_cmp_status"
STRUCT_JOB = "hm_struct_job"
STRUCT_KEY = "hm_struct_key"
STRUCT_T0 = "hm_struct_t0"
STRUCT_RESULTS = "hm_struct_results"
STRUCT_STATUS = "hm_struct_status"

MAX_SESSION_COMPARISONS = 3


# ------------------------------------------------------------------------- pooling comparison


def compare_key(data: "GroupedData", spec: "ModelSpec", settings: "SamplerSettings") -> tuple:
    """Key of the three-mode comparison of (data, spec, settings)."""
    return ("pooling_modes",) + state.fit_key(data, spec, settings)


def mode_specs(spec: "ModelSpec") -> dict[str, "ModelSpec"]:
    """The spec under each pooling mode (priors that no longer apply are dropped, as in
    hiermod.orchestrate.fit_pooling_modes)."""
    return {m: spec.replace(pooling=m) for m in MODES}


def _cached_modes(data, spec, settings) -> dict:
    """The modes whose fits the process-wide fit cache already holds."""
    store = cache.fit_cache()
    found = {}
    for mode, mspec in mode_specs(spec).items():
        got = store.get(state.fit_key(data, mspec, settings))
        if got is not None:
            found[mode] = got
    return found


def _modes_task(data, spec, settings, key, cached, *, progress, cancel, publish):
    """Worker (no Streamlit; may be another process): the modes not in ``cached`` yet (found by the
    server); :func:`_keep_modes` puts them into the server's fit cache."""
    from hiermod.orchestrate import fit_pooling_modes

    cache.heavy_imports()
    return fit_pooling_modes(data, spec, settings, modes=MODES, progress=progress, cancel=cancel,
                             publish=publish, cached=cached)


def _keep_modes(key, args, fits) -> None:
    """Server side: every mode's fit into the process-wide fit cache."""
    data, spec, settings = args[:3]
    specs = mode_specs(spec)
    for mode, fit in fits.items():
        cache.fit_cache().put(state.fit_key(data, specs[mode], settings), fit)


def _all_cached(data, spec, settings) -> dict | None:
    ready = _cached_modes(data, spec, settings)
    return {m: ready[m] for m in MODES} if len(ready) == len(MODES) else None


def _remember(key: tuple, fits: dict, slot: str = CMP_RESULTS) -> None:
    state.remember_recent(slot, key, fits, MAX_SESSION_COMPARISONS)


CMP = JobSlot((CMP_JOB, CMP_KEY, CMP_T0, CMP_STATUS),
              Wording(what="the pooling comparison",
                      from_cache="Loaded from the cache (these fits were made before).",
                      done="The three fits are done.",
                      cancelled="The pooling comparison was cancelled.",
                      failed="The comparison failed."),
              store=_remember)
"""This session's pooling comparison (Checks page)."""


def start_comparison(fit: "Fit") -> None:
    """Button handler: compare pooling modes for the data, spec and settings of ``fit``."""
    data, spec, settings = fit.data, fit.spec, fit.settings
    CMP.start(compare_key(data, spec, settings), lambda: _all_cached(data, spec, settings),
              _modes_task, data, spec, settings, compare_key(data, spec, settings),
              _cached_modes(data, spec, settings),
              label=f"pooling comparison {spec.likelihood.value} on {data.n_groups} groups")


def _finished(results_key: str, key: tuple, specs_of) -> dict | None:
    """The finished fits for ``key``: this session's (under ``results_key``), else every one of
    ``specs_of(spec)`` from the process-wide fit cache, else None."""
    got = (st.session_state.get(results_key) or {}).get(key)
    if got is not None:
        return got
    _, data_fp, spec, settings = key
    store = cache.fit_cache()
    fits = {name: store.get((data_fp, s, settings)) for name, s in specs_of(spec).items()}
    return fits if fits and all(f is not None for f in fits.values()) else None


def comparison_fits(key: tuple) -> dict | None:
    """The finished pooling comparison for ``key``."""
    return _finished(CMP_RESULTS, key, mode_specs)


def _progress_text(job) -> tuple[float, str]:
    p = job.progress
    if job.status == "queued":
        return 0.0, queue_text(job)
    if p.total <= 0 or p.phase in ("queued", "compiling") or (p.phase == "warmup" and p.done == 0):
        return p.fraction, (p.message or "Preparing") + ": compiling the sampler (the first fit of a model takes longest)..."
    return p.fraction, (f"{p.message}: {p.done:,} of {p.total:,} iterations of the whole comparison; "
                        f"{p.divergences} divergence{'s' if p.divergences != 1 else ''} so far.")


def comparison_monitor(interval: float = 0.5) -> None:
    """Live progress + Cancel of this session's comparison."""
    CMP.monitor(_progress_text, interval=interval, cancel_label="Cancel comparison",
                cancel_key="w_cancel_compare")


# --------------------------------------------------------------------- structure comparison


def structure_specs(spec: "ModelSpec") -> dict[str, "ModelSpec"]:
    """{name: spec} of the structures compared with ``spec`` (itself included); empty: none."""
    from hiermod.model_comparison import structure_alternatives

    return structure_alternatives(spec)


def structure_key(data: "GroupedData", spec: "ModelSpec", settings: "SamplerSettings") -> tuple:
    """Key of the structure comparison of (data, spec, settings)."""
    return ("structures",) + state.fit_key(data, spec, settings)


def _cached_structures(data, specs: dict, settings, own: "Fit | None" = None) -> dict:
    """The structures already fitted: ``own`` (the page's fit) for its own spec, others from the
    process-wide fit cache."""
    store = cache.fit_cache()
    found = {name: own for name, spec in specs.items() if own is not None and spec == own.spec}
    for name, spec in specs.items():
        got = found.get(name) or store.get(state.fit_key(data, spec, settings))
        if got is not None:
            found[name] = got
    return found


def _structures_task(data, specs, settings, cached, *, progress, cancel, publish):
    """Worker (no Streamlit; may be another process): the structures not in ``cached`` yet (found
    by the server); :func:`_keep_structures` puts them into the server's fit cache."""
    from hiermod.orchestrate import fit_structures

    cache.heavy_imports()
    return fit_structures(data, specs, settings, progress=progress, cancel=cancel, cached=cached)


def _keep_structures(key, args, fits) -> None:
    """Server side: every structure's fit into the process-wide fit cache."""
    data, specs, settings = args[:3]
    for name, fit in fits.items():
        cache.fit_cache().put(state.fit_key(data, specs[name], settings), fit)


cache.KEEPERS.update({_modes_task: _keep_modes, _structures_task: _keep_structures})


def _all_structures_cached(data, specs, settings, own) -> dict | None:
    ready = _cached_structures(data, specs, settings, own)
    return {n: ready[n] for n in specs} if len(ready) == len(specs) else None


STRUCT = JobSlot((STRUCT_JOB, STRUCT_KEY, STRUCT_T0, STRUCT_STATUS),
                 Wording(what="the structure comparison",
                         from_cache="Loaded from the cache (these fits were made before).",
                         done="The structure fits are done.",
                         cancelled="The structure comparison was cancelled.",
                         failed="The structure comparison failed."),
                 store=lambda key, fits: _remember(key, fits, STRUCT_RESULTS))
"""This session's structure comparison (Checks page)."""


def start_structures(fit: "Fit") -> None:
    """Button handler: fit the structures compared with ``fit``'s (the fit itself is reused; the
    others are fitted to ``fit.data``, whose levels hold every grouping column of the spec)."""
    data, spec, settings = fit.data, fit.spec, fit.settings
    specs = structure_specs(spec)
    key = structure_key(data, spec, settings)
    STRUCT.start(key, lambda: _all_structures_cached(data, specs, settings, fit),
                 _structures_task, data, specs, settings, _cached_structures(data, specs, settings, fit),
                 label=f"structure comparison ({len(specs)} fits) on {data.n_rows} rows")


def structure_fits(key: tuple) -> dict | None:
    """The finished structure comparison for ``key``."""
    return _finished(STRUCT_RESULTS, key, structure_specs)


def structures_monitor(interval: float = 0.5) -> None:
    """Live progress + Cancel of this session's structure comparison."""
    STRUCT.monitor(_progress_text, interval=interval, cancel_label="Cancel structure comparison",
                   cancel_key="w_cancel_structures")
