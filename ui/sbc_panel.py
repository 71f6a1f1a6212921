"""The Checks page's calibration section: "Does the method recover known truth?"

Simulation-based calibration (:func:`hiermod.sbc.run_sbc`) of the page's model on its data's design:

* the instant method runs inline (500 replications take seconds; a progress bar, and a time
  budget of :data:`INLINE_BUDGET_S` so a slow model still answers, with fewer replications);
* NUTS runs in the background in the :data:`SBC` job slot (100 short fits; progress, Cancel),
  shared between sessions by key, its result kept in a process-wide cache.

Models the instant method cannot serve get its reason and only the NUTS button.

Session keys (plain, non-widget; worker threads never touch them):

Key                 Type                          Meaning
------------------  ----------------------------  ---------------------------------------------
``hm_sbc_results``  OrderedDict[tuple, SBCResult] finished calibrations of this session, by key
``hm_sbc_job``      hiermod.jobs.Job | None       the running NUTS calibration of this session
``hm_sbc_key``      tuple | None                  its key (see :func:`sbc_key`)
``hm_sbc_t0``       float | None                  time.time() when it was started
``hm_sbc_status``   dict | None                   {"status", "message", "seconds", "key"}
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, MutableMapping

import streamlit as st

from ui import cache, components, state
from ui.figures import show_figure
from ui.job_slot import JobSlot, Wording, fmt_seconds, queue_text

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.data import GroupedData
    from hiermod.result import Fit
    from hiermod.sbc import SBCResult
    from hiermod.spec import ModelSpec

log = logging.getLogger("hiermod.ui")

RESULTS = "hm_sbc_results"
JOB, KEY, T0, STATUS = "hm_sbc_job", "hm_sbc_key", "hm_sbc_t0", "hm_sbc_status"

RUNS = {"instant": dict(reps=500, draws=199), "nuts": dict(reps=100, draws=99, warmup=500, thin=10, chains=1)}
"""What each button runs: replications, posterior draws L per replication (NUTS: L x thin draws)."""
INLINE_BUDGET_S = 60.0
"""The inline (instant) run stops after this many seconds, with the replications done by then."""
SEED = 0
MAX_SESSION_RESULTS = 4
METHOD_NAMES = {"instant": "the instant method", "nuts": "NUTS"}


def sbc_key(data: "GroupedData", spec: "ModelSpec", method: str) -> tuple:
    """Key of one calibration run: method, data, model and the run's settings."""
    return ("sbc", method, data.fingerprint, spec, tuple(sorted(RUNS[method].items())), SEED)


@st.cache_resource(show_spinner=False)
def sbc_cache() -> "cache.FitCache":
    """Finished calibrations, process-wide (a NUTS run another session made is shown at once)."""
    return cache.FitCache(maxsize=8)


def _remember(key: tuple, result: "SBCResult") -> None:
    state.remember_recent(RESULTS, key, result, MAX_SESSION_RESULTS)


def finished(key: tuple) -> "SBCResult | None":
    """This session's result for ``key``, else the process-wide one."""
    got = (st.session_state.get(RESULTS) or {}).get(key)
    return got if got is not None else sbc_cache().get(key)


SBC = JobSlot((JOB, KEY, T0, STATUS),
              Wording(what="the calibration run",
                      from_cache="Loaded from the cache (this calibration was run before).",
                      done="The calibration with NUTS is done.",
                      cancelled="The calibration with NUTS was cancelled.",
                      failed="The calibration run failed."),
              store=_remember)
"""This session's background (NUTS) calibration."""


def _nuts_task(data, spec, key, *, progress, cancel, publish):
    """Worker (no Streamlit; may be another process): the NUTS calibration; the server keeps it in
    the process-wide cache (its keeper)."""
    from hiermod.sbc import run_sbc

    cache.heavy_imports()
    return run_sbc(data, spec, method="nuts", seed=SEED, progress=progress, cancel=cancel, **RUNS["nuts"])


cache.KEEPERS[_nuts_task] = lambda key, args, result: sbc_cache().put(key, result)


def start_nuts(data: "GroupedData", spec: "ModelSpec") -> None:
    """Button handler: queue the NUTS calibration (or take a finished one)."""
    key = sbc_key(data, spec, "nuts")
    SBC.start(key, lambda: finished(key), _nuts_task, data, spec, key,
              label=f"calibration (NUTS, {RUNS['nuts']['reps']} fits) on {data.n_groups} groups")


def _progress_text(job) -> tuple[float, str]:
    p = job.progress
    if job.status == "queued":
        return 0.0, queue_text(job)
    if p.phase in ("queued", "compiling") or p.done == 0:
        return 0.0, "Preparing the sampler (its first fit of a model compiles it)..."
    eta = f", about {fmt_seconds(p.eta_s)} left" if p.eta_s is not None else ""
    return p.fraction, f"{p.message} (NUTS, {RUNS['nuts']['reps']} replications){eta}."


def run_instant(data: "GroupedData", spec: "ModelSpec") -> None:
    """Button handler: the instant calibration, inline with a progress bar; kept in the session."""
    from hiermod.sbc import run_sbc

    key = sbc_key(data, spec, "instant")
    if finished(key) is not None:
        _remember(key, finished(key))
        return
    bar = st.progress(0.0, text="Simulating data sets from the priors and fitting each...")

    def progress(p) -> None:
        bar.progress(p.fraction, text=f"{p.message} of the calibration (instant method)...")

    result = components.computed(run_sbc, data, spec, method="instant", seed=SEED, progress=progress,
                                 max_seconds=INLINE_BUDGET_S, context="running the calibration",
                                 **RUNS["instant"])
    bar.empty()
    if result is not None:
        _remember(key, result)
        sbc_cache().put(key, result)


# ------------------------------------------------------------------------------------ showing


def _verdict_box(result: "SBCResult") -> None:
    v = result.verdict
    text = f"**{components.md_escape(v.headline)}** {components.md_escape(v.message)}"
    {"ok": st.success, "warning": st.warning}.get(v.level, st.error)(
        text, icon=":material/check_circle:" if v.calibrated else ":material/warning:")


def show_result(result: "SBCResult", name: str, figures: MutableMapping | None, key: str) -> None:
    """Verdict, numbers, rank histograms, ECDF plot and the tests table of one calibration."""
    from hiermod.plots.sbc import ecdf_difference_plot, rank_histogram_plot

    st.subheader(f"Calibration of {METHOD_NAMES.get(result.method, result.method)}")
    _verdict_box(result)
    c1, c2, c3 = st.columns(3)
    c1.metric("Replications", f"{result.R}" + (f" of {result.requested}" if result.R < result.requested else ""),
              help="Data sets simulated from the priors with your design, each fitted.")
    c2.metric("Posterior draws per replication (L)", f"{result.L}",
              help="The true value's rank among them takes L + 1 values.")
    c3.metric("Time", fmt_seconds(result.seconds))
    params = result.shown_parameters()
    shown = dict(params=params, subtitles=result.panel_notes(), flagged=result.verdict.flagged)
    if len(params) < len(result.parameters):
        st.caption(components.md_escape(
            f"Showing {len(params)} of {len(result.parameters)} quantities: the hyperparameters, then the "
            "group effects with the smallest p-values; the table below has them all."))
    show_figure(rank_histogram_plot, result.histogram_table(), context="drawing the rank histograms",
                key=f"sbc_hist_{key}", figures=figures, export_as=f"Calibration rank histograms ({name})", **shown)
    st.caption("A calibrated method gives flat histograms: each bar inside the grey band, where 99% of "
               "counts fall bin by bin when ranks are uniform (so about one bar in a hundred leaves it by "
               "chance). Bars piling up at both ends mean the posterior is too narrow; a hump in the "
               "middle, too wide; a slope, biased.")
    show_figure(ecdf_difference_plot, result.ecdf_table(), context="drawing the ECDF plot",
                key=f"sbc_ecdf_{key}", figures=figures, export_as=f"Calibration ECDF ({name})", **shown)
    st.caption(components.md_escape(
        f"The ECDF of the ranks minus the uniform CDF. A calibrated method's whole curve stays inside the "
        f"grey band with probability {result.band.coverage:.1%} (a simultaneous band: Säilynoja, Bürkner "
        f"and Vehtari 2022), so one panel out of about twenty leaves it by chance; the verdict above "
        "allows for the number of panels."))
    with st.expander("Rank tests, every quantity"):
        st.dataframe(result.tests.round(4))
        st.download_button("Ranks (CSV)", result.ranks.to_csv().encode("utf-8"), file_name=f"sbc_ranks_{name}.csv",
                           mime="text/csv", key=f"sbc_csv_{key}")


def section(fit: "Fit", figures: MutableMapping | None = None) -> None:
    """The whole calibration section for the page's fit (its data, model and priors)."""
    from hiermod.sbc import instant_reason

    data, spec = fit.data, fit.spec
    st.header("Does the method recover known truth? Simulation-based calibration")
    st.markdown(
        "Draw parameters from your priors, simulate a data set with **your design** (the same groups, "
        "group sizes and standard errors / trials / exposure), fit it, and see where the true values "
        "fall among the posterior draws. Repeated many times, a calibrated method puts the truth at "
        "every rank equally often; a method that is too sure of itself puts it in the tails.")
    reason, err = components.guarded(instant_reason, data, spec, context="checking the instant method")
    if err is not None:
        components.show_error(err, "checking the instant method")
        return
    ikey, nkey = sbc_key(data, spec, "instant"), sbc_key(data, spec, "nuts")
    running = SBC.running()
    c1, c2 = st.columns(2)
    if reason is None:
        if c1.button(f"Calibrate the instant method ({RUNS['instant']['reps']} replications)",
                     key="w_sbc_instant", icon=":material/target:", type="primary"):
            run_instant(data, spec)
    else:
        c1.info(components.md_escape(f"The instant method cannot serve this model: {reason} "
                                     "Calibrate NUTS instead (in the background)."), icon=":material/info:")
    nuts = RUNS["nuts"]
    if c2.button(f"Calibrate NUTS in the background ({nuts['reps']} replications)", key="w_sbc_nuts",
                 icon=":material/schedule:", disabled=running,
                 help=f"{nuts['reps']} short NUTS fits (1 chain, {nuts['warmup']} warmup, every "
                      f"{nuts['thin']}th of {nuts['draws'] * nuts['thin']} draws kept): a few minutes; "
                      "you can keep using the app meanwhile."):
        start_nuts(data, spec)
        st.rerun()
    SBC.monitor(_progress_text, interval=0.5, cancel_label="Cancel calibration", cancel_key="w_sbc_cancel")
    SBC.status_box(nkey)
    results = [(m, k, finished(k)) for m, k in (("instant", ikey), ("nuts", nkey))]
    if not any(r is not None for _, _, r in results) and not running:
        st.caption("Press a button to check the method on data sets simulated from your priors.")
    for method, _, result in results:
        if result is not None:
            show_result(result, method, figures, method)
