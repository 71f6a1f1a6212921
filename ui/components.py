"""Shared render helpers: error boxes, the main fit's job slot and progress, sidebar summary,
the results pages' header.

Group labels and file names are user text: they are shown only through st.dataframe / st.table /
st.text or :func:`md_escape`'d markdown, never with ``unsafe_allow_html``.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Callable

import streamlit as st

from ui import state
from ui.job_slot import JobSlot, Wording, fmt_seconds, queue_text
from ui.nav import results_pages

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.result import Fit

log = logging.getLogger("hiermod.ui")

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def md_escape(text: Any) -> str:
    """Escape markdown (and HTML-looking) characters of user text for st.markdown/st.caption."""
    return _MD_SPECIAL.sub(r"\\\1", str(text)).replace("\n", " ")


# ------------------------------------------------------------------------------------ errors


def show_error(error: BaseException | str, context: str = "") -> None:
    """A HiermodError's own message in st.error; anything else a friendly message (logged)."""
    from hiermod.errors import HiermodError

    if isinstance(error, str):
        st.error(error, icon=":material/error:")
    elif isinstance(error, HiermodError):
        st.error(str(error), icon=":material/error:")
    else:
        log.error("Unexpected error %s", context, exc_info=error)
        st.error(
            f"Something went wrong{(' while ' + context) if context else ''} "
            f"({type(error).__name__}). Your data and settings are kept; try again, or try other "
            "settings. The details are in the server log.",
            icon=":material/error:",
        )


def guarded(fn: Callable[..., Any], *args: Any, context: str = "", **kwargs: Any) -> tuple[Any, BaseException | None]:
    """Call ``fn``; return (value, None) or (None, error) with the error already logged if unexpected."""
    from hiermod.errors import HiermodError

    try:
        return fn(*args, **kwargs), None
    except HiermodError as exc:
        return None, exc
    except Exception as exc:  # noqa: BLE001 - never a traceback on the page
        log.error("Unexpected error %s", context, exc_info=True)
        return None, exc


def error_message(error: BaseException, context: str = "") -> str:
    """The text :func:`show_error` would show, for storing in session state."""
    from hiermod.errors import HiermodError

    if isinstance(error, HiermodError):
        return str(error)
    return (f"Something went wrong{(' while ' + context) if context else ''} "
            f"({type(error).__name__}). The details are in the server log.")


def computed(fn: Callable[..., Any], *args: Any, context: str, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, or None with the error shown (for values that are never None)."""
    value, err = guarded(fn, *args, context=context, **kwargs)
    if err is not None:
        show_error(err, context)
    return value


# ------------------------------------------------------------------------------ descriptions


def describe_spec(spec) -> str:
    if spec is None:
        return "not chosen"
    return spec.describe()


def describe_settings(settings) -> str:
    return settings.describe()


# ------------------------------------------------------------------------------ the main fit


FIT = JobSlot((state.JOB, state.JOB_KEY, state.JOB_T0, state.FIT_STATUS),
              Wording(what="the fit",
                      from_cache="Fit loaded from the cache (same data, model and settings).",
                      done="Fit finished.", cancelled="Fit cancelled.", failed="The fit failed."),
              store=state.remember_fit)
"""This session's main fit (Fit page, Learn stories): the results pages show its result."""


def start_fit(data, spec, settings, method: str = "nuts") -> None:
    """Fit in the background (instant preview first where it exists): this session's fit, the
    process-wide cache's, another session's running job for the same key, or a new job."""
    from ui import cache
    from ui.tables import key_text

    key = state.fit_key(data, spec, settings, method)
    log.info("Fit requested (key %s)", key_text(key))
    FIT.start(key, lambda: state.session_fit(key) or cache.fit_cache().get(key), cache._fit_task,
              data, spec, settings, key, method,
              label=f"{spec.likelihood.value}/{spec.pooling.value} on {data.n_groups} groups")


def harvest_job() -> bool:
    """If this session's fit has finished, keep its result. True if it did (app.py calls it)."""
    return FIT.harvest()


def partial_fit() -> "Fit | None":
    """The instant posterior published by the running fit, else None."""
    return FIT.partial()


def _fit_progress(job) -> tuple[float, str]:
    p = job.progress
    if job.status == "queued":
        return 0.0, queue_text(job)
    if p.phase in ("queued", "compiling") or (p.phase == "warmup" and p.done == 0):
        return 0.0, "Preparing and compiling the sampler (the first fit of a model takes longest)..."
    if p.phase == "postprocessing":
        return 1.0, "Sampling done; computing log-likelihood and predictive draws..."
    eta = f", about {fmt_seconds(p.eta_s)} left" if p.eta_s is not None else ""
    text = (f"{p.phase.capitalize()}: {p.done:,} of {p.total:,} iterations (all chains){eta}; "
            f"{p.divergences} divergence{'s' if p.divergences != 1 else ''} so far.")
    return p.fraction, text


def _sidebar_progress(job) -> tuple[float, str]:
    fraction, text = _fit_progress(job)
    return fraction, "Fit: " + text


def _preview_note(job) -> None:
    if job.partial is not None:
        method = state.key_method(FIT.key) if FIT.key else "nuts"
        queued = job.status == "queued"
        if method == "nuts":
            then = "NUTS will check it when its turn comes." if queued else "NUTS is still running to check it."
        else:
            then = "the approximation starts when its turn comes." if queued else "the approximation is still running."
        st.caption("The " + ("exact" if is_exact(job.partial) else "instant") + " posterior is ready (shown below); "
                   + then)


def job_monitor(detailed: bool = True, interval: float = 0.5) -> None:
    """Live progress of this session's fit (with Cancel when ``detailed``; the sidebar's is short).
    When the fit finishes it is kept in session state and the app reruns."""
    if detailed:
        FIT.monitor(_fit_progress, interval=interval, cancel_label="Cancel",
                    cancel_key="w_cancel_fit", extra=_preview_note)
    else:
        FIT.monitor(_sidebar_progress, interval=interval)


def fit_status_box() -> None:
    """The outcome of the last fit request (done / cancelled / failed), if any."""
    FIT.status_box(done=True)


# -------------------------------------------------------------------------------- sidebar


def sidebar_summary() -> None:
    """Current dataset, model and last fit status (called by app.py on every page)."""
    data = state.current_data()
    spec = state.current_spec()
    with st.sidebar:
        st.markdown("**Dataset**")
        if data is None:
            st.caption("none loaded yet")
        else:
            st.text(f"{st.session_state.get(state.DATA_NAME) or 'data'}\n"
                    f"{data.kind.value}: {data.n_groups} groups, {data.n_rows} rows")
        st.markdown("**Model**")
        st.caption(md_escape(describe_spec(spec)))
        st.markdown("**Fit**")
        job = st.session_state.get(state.JOB)
        # registered on every run, with or without a job: a progress fragment that vanished when its
        # fit ended could still send one timed rerun after the app's rerun, and such a page lost
        # its "Fit finished" box (bench/CLASS_LOAD.md)
        job_monitor(detailed=False, interval=1.0)
        if job is None:
            status = st.session_state.get(state.FIT_STATUS)
            if status is None:
                st.caption("not fitted yet")
            else:
                took = f" in {fmt_seconds(status['seconds'])}" if status.get("seconds") else ""
                st.caption(md_escape(f"{status['status']}{took}"))
                if state.current_fit() is not None and not state.fit_is_current():
                    st.caption("The model or data changed since this fit.")


def results_links() -> None:
    """st.page_link to every results page that exists."""
    pages = results_pages()
    if not pages:
        st.caption("The results pages (shrinkage, diagnostics, checks, export) are coming soon.")
        return
    cols = st.columns(min(len(pages), 5))
    for i, page in enumerate(pages):
        with cols[i % len(cols)]:
            st.page_link(page.path, label=page.title, icon=page.icon)


# ------------------------------------------------------------------------------ results pages

APPROXIMATION = "variational approximation (understates uncertainty, most for tau)"
"""How the pages name a variational fit, wherever they would say "exact posterior"."""


def is_exact(fit: "Fit") -> bool:
    """The fit is the exact posterior (not sampled, not approximated)."""
    return fit.method_info.exact


def is_approximate(fit: "Fit") -> bool:
    """The fit is an approximation (variational): its intervals are too narrow."""
    return fit.method_info.approximate


def has_sampler_stats(fit: "Fit") -> bool:
    """The fit was sampled (NUTS) and has divergences, energy, tree depths to check."""
    return fit.method_info.has_sampler_stats


def method_text(fit: "Fit") -> str:
    """The method of ``fit`` as the pages name it (an approximation always with its caveat)."""
    if is_approximate(fit):
        return APPROXIMATION
    how = getattr(fit.exact, "label", None)  # an instant posterior says how it was computed
    if how:
        return f"instant posterior ({how})"
    return "exact posterior" if is_exact(fit) else fit.method_info.label


def method_choice_text(name: str) -> str:
    """A method as the Fit page offers it: its label, and for an approximation what it trades."""
    from hiermod.methods import method_info

    m = method_info(name)
    return f"{m.label}: fast, approximate" if m.approximate else m.label


def method_unavailable(method, data, spec) -> str | None:
    """Why ``method`` cannot serve this model (its own sentence), or None; a failing check is None
    (the fit itself then reports the problem)."""
    try:
        return method.unavailable_reason(data.for_groups(spec.groups), spec)
    except Exception:  # noqa: BLE001 - the Fit button reports any real problem
        return None


def approximation_note() -> None:
    """Said before fitting with an approximate method."""
    st.warning(f"The {APPROXIMATION} is a fast first look, not the answer: use it to explore "
               "large data, then fit with NUTS.", icon=":material/warning:")


TOPICS = {"divergences": "Divergences", "r_hat": "Do the chains agree (R-hat)",
          "ess": "Effective sample size", "bfmi": "Energy (BFMI)", "treedepth": "Tree depth",
          "exact": "Exact posterior", "approximation": "Approximation", "instant": "Instant posterior"}


def verdicts(fit: "Fit"):
    """Can the fit be trusted? One box per plain-language verdict of hiermod.diagnostics.diagnose
    (coloured by level); returns the diagnosis (None on an error)."""
    from ui import tables

    diag = computed(tables.diagnosis, fit, context="checking the fit")
    for verdict in (diag.verdicts if diag is not None else ()):
        text = md_escape(f"{TOPICS.get(verdict.topic, verdict.topic)}: {verdict.message}")
        if verdict.advice:
            text += "  \n**What to do:** " + md_escape(verdict.advice)
        {"ok": st.success, "warning": st.warning}.get(verdict.level, st.error)(text)
    return diag


def approximation_box(fit: "Fit") -> None:
    """A warning box on every page that shows an approximate fit."""
    if is_approximate(fit):
        st.warning(f"This fit is a {APPROXIMATION}: a fast first look. Its intervals are too "
                   "narrow, so do not report them; fit with NUTS for the answer.",
                   icon=":material/warning:")


def require_fit(show_settings: bool = False) -> "Fit":
    """The current fit for a results page; without one, say so, link to Data and Fit, and stop.

    Warns when the fit was made with other data, model or settings than those now chosen, and
    captions what was fitted.
    """
    fit = state.current_fit()
    if fit is None:
        st.info("There is no fit yet. Load data, choose a model and press Fit; the results appear "
                "here.", icon=":material/info:")
        st.page_link("pages/1_Data.py", label="Data", icon=":material/table_chart:")
        st.page_link("pages/3_Fit.py", label="Fit", icon=":material/play_circle:")
        st.stop()
    if not state.fit_is_current():
        st.warning("This page shows your last fit, which was made with other data, model or settings "
                   "than those now chosen on the Model page. Press Fit again to update it.",
                   icon=":material/history:")
        st.page_link("pages/3_Fit.py", label="Fit again", icon=":material/play_circle:")
    text = (f"Fit: {describe_spec(fit.spec)}; {st.session_state.get(state.DATA_NAME) or 'data'} "
            f"({fit.data.n_groups} groups); method: {method_text(fit)}")
    if show_settings:
        text += f"; {describe_settings(fit.settings)}"
    st.caption(md_escape(text + "."))
    approximation_box(fit)
    return fit
