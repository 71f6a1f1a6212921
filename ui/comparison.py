"""Session and cache helpers of the Checks-and-comparison and Learn pages.

* Pooling comparison: :func:`submit_comparison` runs the no / complete / partial pooling fits of
  one (data, spec, settings) as ONE background job on :func:`hiermod.jobs.default_executor`,
  sharing ``ui.cache``'s pieces: each finished fit goes into the process-wide
  :func:`ui.cache.fit_cache` under its own fit key (so a mode fitted before -- on the Fit page or
  by another session -- is not fitted again, and the Fit page finds these), and running
  comparisons are shared between sessions through :func:`ui.cache.in_flight`.
* Learn stories: :func:`start_story` loads a sample data set, sets the story's model and quick
  sampler settings and submits the fit through :func:`ui.cache.submit_fit` exactly as the Fit
  page does (so progress, cancel and harvesting are the shared ones of ``ui.components``).
* Cached tables for both pages (``st.cache_resource`` keyed by a fit token), so reruns do not
  recompute LOO or predictive checks.

Session keys (plain, non-widget; worker threads never touch them):

Key                 Type                          Meaning
------------------  ----------------------------  ---------------------------------------------
``hm_cmp_job``      hiermod.jobs.Job | None       the running pooling comparison of this session
``hm_cmp_key``      tuple | None                  its comparison key (see :func:`compare_key`)
``hm_cmp_t0``       float | None                  time.time() when it was started
``hm_cmp_results``  OrderedDict[tuple, dict]      finished comparisons {"none", "complete", "partial"}
``hm_cmp_status``   dict | None                   {"status", "message", "seconds", "key"}
``hm_learn_story``  str                           the story chosen on the Learn page
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import streamlit as st

from ui import cache, components, state

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from hiermod.data import GroupedData
    from hiermod.result import Fit
    from hiermod.settings import SamplerSettings
    from hiermod.jobs import Job
    from hiermod.spec import ModelSpec

log = logging.getLogger("hiermod.ui")

CMP_JOB = "hm_cmp_job"
CMP_KEY = "hm_cmp_key"
CMP_T0 = "hm_cmp_t0"
CMP_RESULTS = "hm_cmp_results"
CMP_STATUS = "hm_cmp_status"
LEARN_STORY = "hm_learn_story"

MODES = ("none", "complete", "partial")
MODE_NAMES = {"none": "no pooling", "complete": "complete pooling", "partial": "partial pooling"}
MAX_SESSION_COMPARISONS = 3
LEARN_SETTINGS = dict(chains=4, warmup=500, draws=500, seed=0)
INTERVAL = 0.9


# -------------------------------------------------------------------------------- fit tokens


def fit_token(fit: "Fit") -> str:
    """A short stable text naming a fit (method included: an exact and a NUTS fit differ)."""
    return f"{fit.method}:{cache.key_text(state.fit_key(fit.data, fit.spec, fit.settings))}"


def fits_token(fits: dict) -> str:
    return "|".join(f"{m}={fit_token(f)}" for m, f in sorted(fits.items()))


# ------------------------------------------------------------------------- pooling comparison


def compare_key(data: "GroupedData", spec: "ModelSpec", settings: "SamplerSettings") -> tuple:
    """Key of the three-mode comparison of (data, spec, settings)."""
    return ("pooling_modes",) + state.fit_key(data, spec, settings)


def mode_specs(spec: "ModelSpec") -> dict[str, "ModelSpec"]:
    """The spec under each pooling mode (priors that no longer apply are dropped, as in
    hiermod.compare.fit_pooling_modes)."""
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


def _modes_task(data, spec, settings, key, *, progress, cancel, publish):
    """Worker thread (no Streamlit): fit the modes not cached yet, reporting one overall progress."""
    from hiermod.fitting import fit
    from hiermod.jobs import Progress
    from hiermod.spec import Likelihood

    kwargs = dict(chains=settings.chains, warmup=settings.warmup, draws=settings.draws,
                  seed=settings.seed, target_accept=settings.target_accept,
                  max_tree_depth=settings.max_tree_depth)
    specs = mode_specs(spec)
    fits = _cached_modes(data, spec, settings)
    if spec.likelihood == Likelihood.NORMAL_KNOWN_SE:
        try:  # exact posteriors first: shown while NUTS checks them
            publish({m: fits.get(m) or fit(data, s, method="exact", **kwargs) for m, s in specs.items()})
        except Exception:  # noqa: BLE001 - NUTS still runs
            log.warning("Exact pooling comparison failed; continuing with NUTS", exc_info=True)
    todo = [m for m in MODES if m not in fits]
    per = settings.chains * (settings.warmup + settings.draws)
    total = max(per * len(todo), 1)
    t0 = time.time()
    divergences = 0
    for i, mode in enumerate(todo):
        offset = per * i

        def report(p, i=i, mode=mode, offset=offset):
            phase = "sampling" if p.phase in ("done", "queued") else p.phase
            if phase == "postprocessing" and i < len(todo) - 1:
                phase = "sampling"
            progress(Progress(phase=phase, done=min(offset + p.done, total), total=total,
                              divergences=divergences + p.divergences, elapsed_s=time.time() - t0,
                              eta_s=None,
                              message=f"Fit {i + 1} of {len(todo)}: {MODE_NAMES[mode]} ({p.phase})"))

        result = fit(data, specs[mode], progress=report, cancel=cancel, **kwargs)
        if "sample_stats" in result.idata.groups():
            divergences += int(result.idata.sample_stats["diverging"].values.sum())
        cache.fit_cache().put(state.fit_key(data, specs[mode], settings), result)
        fits[mode] = result
        log.info("Pooling comparison: %s done (%s)", mode, {k: round(v, 3) for k, v in result.timings.items()})
    return {m: fits[m] for m in MODES}


def submit_comparison(data, spec, settings) -> "dict | Job":
    """The three fits at once when all are cached, else a Job (shared with other sessions).

    Raises HiermodError when the queue is full.
    """
    key = compare_key(data, spec, settings)
    ready = _cached_modes(data, spec, settings)
    if len(ready) == len(MODES):
        return {m: ready[m] for m in MODES}
    flights = cache.in_flight()
    job = flights.attach(key)
    if job is not None:
        return job
    from hiermod.jobs import default_executor

    label = f"pooling comparison {spec.likelihood.value} on {data.n_groups} groups"
    job = default_executor().submit(_modes_task, data, spec, settings, key, label=label)
    flights.add(key, job)
    return job


def _set_status(status: str, message: str = "", seconds: float | None = None, key=None) -> None:
    st.session_state[CMP_STATUS] = {"status": status, "message": message, "seconds": seconds, "key": key}


def _remember(key: tuple, fits: dict) -> None:
    ss = st.session_state
    results = ss.get(CMP_RESULTS)
    if results is None:
        results = ss[CMP_RESULTS] = OrderedDict()
    results[key] = fits
    results.move_to_end(key)
    while len(results) > MAX_SESSION_COMPARISONS:
        results.popitem(last=False)


def start_comparison(fit: "Fit") -> None:
    """Button handler: compare pooling modes for the data, spec and settings of ``fit``."""
    ss = st.session_state
    key = compare_key(fit.data, fit.spec, fit.settings)
    t0 = time.time()
    ready, err = components.guarded(submit_comparison, fit.data, fit.spec, fit.settings,
                                    context="starting the pooling comparison")
    if err is not None:
        _set_status("failed", components.error_message(err, "starting the pooling comparison"), None, key)
    elif isinstance(ready, dict):
        _remember(key, ready)
        _set_status("done", "Loaded from the cache (these fits were made before).", time.time() - t0, key)
    else:
        ss[CMP_JOB], ss[CMP_KEY], ss[CMP_T0] = ready, key, t0
        _set_status("running", "", None, key)


def harvest_comparison() -> bool:
    """Copy a finished comparison job's outcome into session state. True if it did."""
    ss = st.session_state
    job = ss.get(CMP_JOB)
    if job is None or not job.done():
        return False
    key, t0 = ss.get(CMP_KEY), ss.get(CMP_T0)
    seconds = (job.finished_at or time.time()) - t0 if t0 else None
    if job.status == "done":
        try:
            _remember(key, job.result(0))
            _set_status("done", "The three fits are done.", seconds, key)
        except Exception as exc:  # noqa: BLE001
            _set_status("failed", components.error_message(exc, "reading the comparison"), seconds, key)
    elif job.status == "cancelled":
        _set_status("cancelled", "The comparison was cancelled.", seconds, key)
    else:
        _set_status("failed", job.error_message or "The comparison failed.", seconds, key)
    ss[CMP_JOB] = None
    return True


def cancel_comparison() -> None:
    ss = st.session_state
    job, key = ss.get(CMP_JOB), ss.get(CMP_KEY)
    if job is None:
        return
    cache.cancel_fit(key, job)  # releases this session; stops the job unless others wait for it
    t0 = ss.get(CMP_T0)
    _set_status("cancelled", "The comparison was cancelled.", time.time() - t0 if t0 else None, key)
    ss[CMP_JOB] = None


def comparison_running(key: tuple | None = None) -> bool:
    ss = st.session_state
    job = ss.get(CMP_JOB)
    return job is not None and not job.done() and (key is None or ss.get(CMP_KEY) == key)


def comparison_fits(key: tuple) -> dict | None:
    """The finished comparison for ``key``: this session's, else the process-wide cache's."""
    got = (st.session_state.get(CMP_RESULTS) or {}).get(key)
    if got is not None:
        return got
    _, data_fp, spec, settings = key
    store = cache.fit_cache()
    fits = {m: store.get((data_fp, s, settings)) for m, s in mode_specs(spec).items()}
    return fits if all(f is not None for f in fits.values()) else None


def comparison_preview() -> dict | None:
    """The exact three-mode fits published by the running job (normal with known se), else None."""
    job = st.session_state.get(CMP_JOB)
    if job is None or job.done():
        return None
    return job.partial


def _progress_text(job) -> tuple[float, str]:
    p = job.progress
    if job.status == "queued":
        pos = job.queue_position()
        return 0.0, (f"Waiting in line: position {pos}." if pos else "Waiting to start.")
    if p.total <= 0 or p.phase in ("queued", "compiling") or (p.phase == "warmup" and p.done == 0):
        return p.fraction, (p.message or "Preparing") + ": compiling the sampler (the first fit of a model takes longest)..."
    return p.fraction, (f"{p.message}: {p.done:,} of {p.total:,} iterations of the whole comparison; "
                        f"{p.divergences} divergence{'s' if p.divergences != 1 else ''} so far.")


def _monitor_body() -> None:
    ss = st.session_state
    job = ss.get(CMP_JOB)
    if job is not None and harvest_comparison():
        st.rerun()  # the whole page now shows the three fits
    if job is None:
        return
    fraction, text = _progress_text(job)
    st.progress(fraction, text=text)
    if st.button("Cancel comparison", key="w_cancel_compare", icon=":material/stop_circle:"):
        cancel_comparison()
        st.rerun()


def comparison_monitor(interval: float = 0.5) -> None:
    """Live progress + cancel of this session's comparison (a fragment polling while it runs)."""
    active = comparison_running()
    st.fragment(run_every=interval if active else None)(_monitor_body)()


def comparison_status_box(key: tuple) -> None:
    status = st.session_state.get(CMP_STATUS)
    if not status or status.get("key") != key or comparison_running():
        return
    if status["status"] == "cancelled":
        st.warning("The pooling comparison was cancelled.", icon=":material/cancel:")
    elif status["status"] == "failed":
        st.error(status["message"], icon=":material/error:")


# ------------------------------------------------------------------------------ cached tables


@st.cache_resource(max_entries=16, show_spinner=False)
def ppc_table(token: str, _fit: "Fit") -> tuple:
    """(hiermod.compare.ppc_table, ppc_summary) at the 90% level."""
    from hiermod.compare import ppc_summary, ppc_table as table

    t = table(_fit, hdi_prob=INTERVAL)
    return t, ppc_summary(t)


@st.cache_resource(max_entries=8, show_spinner=False)
def loo_table(token: str, _fits: dict) -> "pd.DataFrame":
    from hiermod.compare import loo_table as table

    return table(_fits)


@st.cache_resource(max_entries=8, show_spinner=False)
def forest_table(token: str, _fits: dict) -> "pd.DataFrame":
    from hiermod.compare import forest_table as table

    return table(_fits, hdi_prob=INTERVAL)


@st.cache_resource(max_entries=16, show_spinner=False)
def variance_table(token: str, _fit: "Fit") -> "pd.DataFrame":
    from hiermod.compare import variance_decomposition

    return variance_decomposition(_fit, prob=INTERVAL)


@st.cache_resource(max_entries=16, show_spinner=False)
def new_group_view(token: str, _fit: "Fit") -> dict:
    """What the page draws for a new group, all on one scale: the prediction rows, the existing
    groups' own estimates for comparison, their labels and the axis title.

    Normal data: theta_new and y_new against the groups' own estimates. Binomial / poisson:
    response_new (probability / rate) against the groups' own raw proportions / rates.
    """
    from hiermod.compare import predict_new_group, shrinkage_table

    pred = predict_new_group(_fit, prob=INTERVAL)
    table = shrinkage_table(_fit, hdi_prob=INTERVAL)
    kind = _fit.data.kind.value
    if kind in ("binomial", "poisson"):
        rows = pred.loc[["response_new"]]
        observed = table["no_pooling_response"]
        x_title = "success probability" if kind == "binomial" else "rate per unit of exposure"
    else:
        rows = pred.loc[["theta_new", "y_new"]]
        observed = table["no_pooling"]
        x_title = "outcome"
    return {"table": pred, "rows": rows, "observed": observed, "labels": table["group"],
            "x_title": x_title}


@st.cache_resource(max_entries=16, show_spinner=False)
def shrinkage_table(token: str, _fit: "Fit") -> "pd.DataFrame":
    from hiermod.compare import shrinkage_table as table

    return table(_fit, hdi_prob=INTERVAL)


@st.cache_resource(max_entries=8, show_spinner=False)
def holdout_tables(token: str, _fit: "Fit") -> tuple:
    """(hiermod.teaching.holdout_table, holdout_errors) for an Efron-Morris fit."""
    from hiermod.teaching import holdout_errors, holdout_table

    t = holdout_table(_fit, hdi_prob=INTERVAL)
    return t, holdout_errors(t)


@st.cache_resource(max_entries=8, show_spinner=False)
def truth_tables(token: str, _fit: "Fit") -> tuple:
    """(truth_table, truth_summary, truth_forest_table) for the simulated-schools fit."""
    from hiermod.teaching import truth_forest_table, truth_summary, truth_table

    t = truth_table(_fit, hdi_prob=INTERVAL)
    return t, truth_summary(t), truth_forest_table(t)


@st.cache_resource(max_entries=32, show_spinner=False)
def weight_example(token: str, group: str | None, _fit: "Fit") -> dict:
    from hiermod.teaching import weight_example as example

    return example(_fit, group)


@st.cache_resource(max_entries=8, show_spinner=False)
def continuum(token: str, _fit: "Fit") -> tuple:
    """(pooling_continuum, tau posterior table) for an exact partial-pooling fit."""
    from hiermod.continuum import pooling_continuum, tau_posterior_table

    return pooling_continuum(_fit.data, _fit), tau_posterior_table(_fit)


# ---------------------------------------------------------------------------------- stories


@dataclass(frozen=True)
class Story:
    name: str          # sample data set name
    title: str
    button: str


STORIES: dict[str, Story] = {
    "eight_schools": Story("eight_schools", "Eight schools", "Run the eight-schools story"),
    "efron_morris": Story("efron_morris", "Efron–Morris baseball", "Run the Efron–Morris story"),
    "simulated_schools": Story("simulated_schools", "Simulated schools (known truth)",
                               "Run the simulated-schools story"),
}


def learn_settings() -> "SamplerSettings":
    from hiermod.settings import SamplerSettings

    return SamplerSettings(**LEARN_SETTINGS)


@st.cache_resource(max_entries=8, show_spinner=False)
def story_spec(name: str) -> "ModelSpec":
    """The story's model: the sample's default likelihood, partial pooling, non-centered,
    default priors written out."""
    return state.default_spec_for(cache.sample_data(name), None)


def story_key(name: str) -> tuple:
    return state.fit_key(cache.sample_data(name), story_spec(name), learn_settings())


def story_loaded(name: str) -> bool:
    """True when the current data are this story's sample data."""
    data = state.current_data()
    return data is not None and data.fingerprint == cache.sample_data(name).fingerprint


def story_fit(name: str) -> "Fit | None":
    """This session's finished fit of the story (None before its button was pressed)."""
    return state.session_fit(story_key(name))


def story_running(name: str) -> bool:
    ss = st.session_state
    job = ss.get(state.JOB)
    return job is not None and not job.done() and ss.get(state.JOB_KEY) == story_key(name)


def start_story(name: str) -> None:
    """Load the story's sample data, set its model and quick settings, and fit in the background
    (the Fit page's logic: session fit, process-wide cache, or a new shared job)."""
    from hiermod.datasets import dataset_info

    ss = st.session_state
    info = dataset_info(name)
    frame = cache.sample_frame(name)
    data = cache.sample_data(name)
    sig = f"sample:{name}"
    ss[state.FRAME], ss[state.FRAME_NAME], ss[state.FRAME_SIG] = frame, info.title, sig
    ss[state.COLUMNS] = info.columns
    state.set_data(data, info.title, {"kind": "sample", "name": name, "sig": sig})
    ss["w_sample"] = name  # the Data page's sample picker shows the same data set
    spec, settings = story_spec(name), learn_settings()
    ss[state.SPEC], ss[state.SETTINGS] = spec, settings
    ss[LEARN_STORY] = name
    key = state.fit_key(data, spec, settings)
    t0 = time.time()
    ready = state.session_fit(key)
    err = None
    if ready is None:
        ready, err = components.guarded(cache.submit_fit, data, spec, settings, key,
                                        context="starting the fit")
    if err is not None:
        state.set_fit_status("failed", components.error_message(err, "starting the fit"), None, key)
    elif hasattr(ready, "idata"):
        state.remember_fit(key, ready)
        state.set_fit_status("done", "Fit loaded from the cache (same data, model and settings).",
                             time.time() - t0, key)
    else:
        ss[state.JOB], ss[state.JOB_KEY], ss[state.JOB_T0] = ready, key, t0
        state.set_fit_status("running", "", None, key)


@st.cache_resource(max_entries=8, show_spinner=False)
def exact_modes(name: str) -> dict:
    """Exact no / complete / partial pooling fits of a normal-known-se story (eight schools)."""
    from hiermod.fitting import fit

    data, spec, s = cache.sample_data(name), story_spec(name), learn_settings()
    return {m: fit(data, mspec, method="exact", chains=s.chains, warmup=s.warmup, draws=s.draws,
                   seed=s.seed) for m, mspec in mode_specs(spec).items()}


def exact_check(fit: "Fit", exact: "Fit") -> dict:
    """Posterior mean of tau by NUTS and exactly, and the NUTS fit's divergences."""
    divergences = (int(fit.idata.sample_stats["diverging"].values.sum())
                   if "sample_stats" in fit.idata.groups() else 0)
    return {"tau_nuts": float(fit.draws("tau").mean()), "tau_exact": float(exact.draws("tau").mean()),
            "divergences": divergences}


def funnel_page():
    """The nav entry of the funnel / diagnostics page when it exists, else None."""
    from ui.nav import available_pages

    for page in available_pages():
        text = (page.path + " " + page.title).lower()
        if "funnel" in text or "diagnos" in text:
            return page
    return None


def export_panel_available() -> bool:
    from ui.nav import ROOT

    return (ROOT / "ui" / "export_panel.py").is_file()
