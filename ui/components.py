"""Shared render helpers: error boxes, fit status and progress, sidebar summary, figures.

Group labels and file names are user text: they are shown only through st.dataframe / st.table /
st.text or :func:`md_escape`'d markdown, never with ``unsafe_allow_html``.
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any, Callable

import streamlit as st

from ui import state
from ui.nav import results_pages

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import plotly.graph_objects as go

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


# ------------------------------------------------------------------------------ descriptions


def describe_spec(spec) -> str:
    if spec is None:
        return "not chosen"
    text = f"{spec.likelihood.value}, {spec.pooling.value} pooling"
    if spec.pooling.value == "partial":
        text += f", {spec.parameterization.value.replace('_', '-')}"
    if spec.covariates:
        text += f", covariates: {', '.join(spec.covariates)}"
    return text


def describe_settings(settings) -> str:
    return (f"{settings.chains} chains x ({settings.warmup} warmup + {settings.draws} draws), "
            f"target accept {settings.target_accept:g}, seed {settings.seed}")


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "unknown"
    if s < 1:
        return f"{s:.2f} s"
    if s < 60:
        return f"{s:.1f} s"
    return f"{int(s // 60)} min {int(s % 60)} s"


# ----------------------------------------------------------------------------- job handling


def harvest_job() -> bool:
    """If this session's job has finished, copy its outcome into session state. True if it did."""
    ss = st.session_state
    job = ss.get(state.JOB)
    if job is None or not job.done():
        return False
    key, t0 = ss.get(state.JOB_KEY), ss.get(state.JOB_T0)
    seconds = (job.finished_at or time.time()) - t0 if t0 else None
    if job.status == "done":
        try:
            result = job.result(0)
        except Exception as exc:  # noqa: BLE001 - defensive; status said done
            state.set_fit_status("failed", error_message(exc, "reading the fit"), seconds, key)
        else:
            state.remember_fit(key, result)
            state.set_fit_status("done", "Fit finished.", seconds, key)
    elif job.status == "cancelled":
        state.set_fit_status("cancelled", "The fit was cancelled.", seconds, key)
    else:
        state.set_fit_status("failed", job.error_message or "The fit failed.", seconds, key)
    ss[state.JOB] = None
    return True


def partial_fit() -> "Fit | None":
    """The exact posterior published by the running job (normal with known se), else None."""
    job = st.session_state.get(state.JOB)
    if job is None or job.done():
        return None
    return job.partial


def _progress_text(job) -> tuple[float, str]:
    p = job.progress
    if job.status == "queued":
        pos = job.queue_position()
        if not pos:
            return 0.0, "Waiting to start."
        return 0.0, f"Waiting: {ordinal(pos)} in line; your fit starts when a running one ends."
    if p.phase in ("queued", "compiling") or (p.phase == "warmup" and p.done == 0):
        return 0.0, "Preparing and compiling the sampler (the first fit of a model takes longest)..."
    if p.phase == "postprocessing":
        return 1.0, "Sampling done; computing log-likelihood and predictive draws..."
    eta = f", about {_fmt_seconds(p.eta_s)} left" if p.eta_s is not None else ""
    text = (f"{p.phase.capitalize()}: {p.done:,} of {p.total:,} iterations (all chains){eta}; "
            f"{p.divergences} divergence{'s' if p.divergences != 1 else ''} so far.")
    return p.fraction, text


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, ..., 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _cancel(job) -> None:
    from ui.cache import cancel_fit

    ss = st.session_state
    key = ss.get(state.JOB_KEY)
    if not cancel_fit(key, job):
        # another session still wants this fit: stop waiting for it here only
        t0 = ss.get(state.JOB_T0)
        state.set_fit_status("cancelled", "The fit was cancelled.",
                             time.time() - t0 if t0 else None, key)
        ss[state.JOB] = None


def _job_panel(detailed: bool) -> None:
    job = st.session_state.get(state.JOB)
    if job is not None and harvest_job():
        st.rerun()  # whole app: the pages now show the finished fit
    if job is None:
        return
    fraction, text = _progress_text(job)
    if job.cancel_event.is_set():
        text = "Cancelling: the sampler stops at the end of its current chunk..."
    if detailed:
        st.progress(fraction, text=text)
        partial = job.partial
        if partial is not None:
            st.caption("The exact posterior is ready (shown below); NUTS is still running to check it.")
    else:
        st.progress(fraction, text="Fit: " + (text if job.status != "queued" else text))


def job_monitor(detailed: bool = True, interval: float = 0.5) -> None:
    """Live progress of this session's fit; a fragment polling while a job is active.

    When the job finishes the fragment stores the Fit in session state and reruns the app.
    """
    job = st.session_state.get(state.JOB)
    active = job is not None and not job.done()
    if detailed:
        # Cancel lives outside the fragment: its click reruns the whole app, so it cannot be lost
        # to the fragment's own timed reruns.
        if active and st.button("Cancel", key="w_cancel_fit", icon=":material/stop_circle:",
                                disabled=job.cancel_event.is_set()):
            _cancel(job)
            st.rerun()
        st.fragment(run_every=interval if active else None)(_main_job_panel)()
    else:
        st.fragment(run_every=interval if active else None)(_sidebar_job_panel)()


def _main_job_panel() -> None:
    _job_panel(True)


def _sidebar_job_panel() -> None:
    _job_panel(False)


def fit_status_box() -> None:
    """The outcome of the last fit request (done / cancelled / failed), if any."""
    status = st.session_state.get(state.FIT_STATUS)
    if not status or st.session_state.get(state.JOB) is not None:
        return
    took = f" ({_fmt_seconds(status['seconds'])})" if status.get("seconds") is not None else ""
    if status["status"] == "done":
        st.success(f"{status['message']}{took}", icon=":material/check_circle:")
    elif status["status"] == "cancelled":
        st.warning(f"Fit cancelled{took}.", icon=":material/cancel:")
    else:
        st.error(status["message"], icon=":material/error:")


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
        if job is not None:
            job_monitor(detailed=False, interval=1.0)
        else:
            status = st.session_state.get(state.FIT_STATUS)
            if status is None:
                st.caption("not fitted yet")
            else:
                took = f" in {_fmt_seconds(status['seconds'])}" if status.get("seconds") else ""
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


# -------------------------------------------------------------------------------- figures


def density_figure(curve: "pd.DataFrame", name: str, prior_label: str | None = None) -> "go.Figure":
    """A prior's density curve: hiermod.plots.priors when available, else a plain line."""
    try:
        from hiermod.plots.priors import prior_density_plot

        fig = prior_density_plot(curve, name, prior_label=prior_label)
        fig.update_layout(height=240, margin=dict(l=10, r=10, t=40, b=10))
        return fig
    except ImportError:
        pass
    except Exception:  # noqa: BLE001
        log.warning("prior_density_plot failed; using the fallback figure", exc_info=True)
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=curve["x"], y=curve["density"], mode="lines", fill="tozeroy",
                               name=name, line={"width": 2}))
    fig.update_layout(height=180, margin=dict(l=10, r=10, t=30, b=10), title=f"prior of {name}",
                      showlegend=False, xaxis_title=name, yaxis_title="density")
    return fig


def prior_predictive_figure(observed, simulated, label: str = "outcome", labels=None) -> "go.Figure":
    """Observed values against prior predictive draws (hiermod.plots.priors when available).

    The x-axis shows the middle 98% of simulated values (widened to every observed value), so
    heavy-tailed priors do not squash the picture.
    """
    import numpy as np

    sim = np.asarray(simulated, dtype=float).ravel()
    sim = sim[np.isfinite(sim)]
    lo, hi = (np.quantile(sim, [0.01, 0.99]) if sim.size else (0.0, 1.0))
    obs = np.asarray(observed, dtype=float)
    lo, hi = float(min(lo, obs.min())), float(max(hi, obs.max()))
    pad = 0.03 * (hi - lo) if hi > lo else 1.0
    try:
        from hiermod.plots.priors import prior_predictive_plot

        shown = sim[(sim >= lo - pad) & (sim <= hi + pad)]
        return prior_predictive_plot(observed, shown if shown.size else sim, labels=labels,
                                     x_title=f"{label} (data scale)", x_range=(lo - pad, hi + pad))
    except ImportError:
        pass
    except Exception:  # noqa: BLE001
        log.warning("prior_predictive_plot failed; using the fallback figure", exc_info=True)
    import plotly.graph_objects as go

    shown = sim[(sim >= lo) & (sim <= hi)]
    fig = go.Figure()
    fig.add_trace(go.Histogram(x=shown, histnorm="probability density", name="simulated from the prior",
                               opacity=0.55, nbinsx=60))
    fig.add_trace(go.Histogram(x=obs, histnorm="probability density", name="observed",
                               opacity=0.75, nbinsx=min(30, max(5, obs.size))))
    fig.update_layout(barmode="overlay", height=300, margin=dict(l=10, r=10, t=30, b=10),
                      xaxis_title=label, yaxis_title="density",
                      legend=dict(orientation="h", y=1.12),
                      title="Prior predictive check (middle 98% of simulated values)")
    return fig


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
            f"({fit.data.n_groups} groups); method {fit.method}")
    if show_settings:
        text += f"; {describe_settings(fit.settings)}"
    st.caption(md_escape(text + "."))
    return fit
