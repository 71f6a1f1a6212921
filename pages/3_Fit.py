"""Fit page: run the model in the background, watch progress, cancel, see a short summary."""

from __future__ import annotations

import time

import streamlit as st

from hiermod.spec import Likelihood, check_compatible
from ui import cache, components, state

ss = st.session_state

st.title("Fit")

data, spec = state.current_data(), state.current_spec()
if data is None or spec is None:
    st.info("Load data and choose a model first.", icon=":material/info:")
    st.page_link("pages/1_Data.py", label="Data", icon=":material/table_chart:")
    st.page_link("pages/2_Model.py", label="Model", icon=":material/account_tree:")
    st.stop()

cache.warm_imports_in_background()
settings = state.current_settings()

st.text(f"Data:    {ss.get(state.DATA_NAME) or 'data'} ({data.n_groups} groups, {data.n_rows} rows)\n"
        f"Model:   {components.describe_spec(spec)}\n"
        f"Sampler: {components.describe_settings(settings)}")
with st.expander("Priors"):
    st.text("\n".join(f"{k} ~ {v}" for k, v in spec.priors) or "defaults")

_, problem = components.guarded(check_compatible, spec, data, context="checking the model")
if problem is not None:
    components.show_error(problem, "checking the model")
    st.page_link("pages/2_Model.py", label="Change the model", icon=":material/account_tree:")
    st.stop()

key = state.fit_key(data, spec, settings)
running = ss.get(state.JOB) is not None

if st.button("Fit", type="primary", icon=":material/play_arrow:", disabled=running, key="w_fit"):
    t0 = time.time()
    cache.log.info("Fit pressed (key %s)", cache.key_text(key))
    ready = state.session_fit(key)
    if ready is None:
        ready, err = components.guarded(cache.submit_fit, data, spec, settings, key, context="starting the fit")
    else:
        err = None
    if err is not None:
        state.set_fit_status("failed", components.error_message(err, "starting the fit"), None, key)
    elif hasattr(ready, "idata"):  # a Fit from the session or the process-wide cache
        state.remember_fit(key, ready)
        state.set_fit_status("done", "Fit loaded from the cache (same data, model and settings).",
                             time.time() - t0, key)
    else:
        ss[state.JOB], ss[state.JOB_KEY], ss[state.JOB_T0] = ready, key, t0
        state.set_fit_status("running", "", None, key)
    st.rerun()

if spec.likelihood == Likelihood.NORMAL_KNOWN_SE and not running:
    st.caption("For normal data with known standard errors the exact posterior is computed first "
               "and shown at once; NUTS then runs to check it.")

components.job_monitor(detailed=True, interval=0.5)
components.fit_status_box()


# ---------------------------------------------------------------------------- exact preview
@st.fragment(run_every=1.0 if running else None)
def exact_preview() -> None:
    partial = components.partial_fit()
    if partial is None:
        return
    st.markdown("**Exact posterior** (available now)")
    table, err = components.guarded(cache.summary_table, "exact:" + cache.key_text(key), partial,
                                    context="summarising the exact posterior")
    if err is None:
        st.dataframe(table.head(12), height=min(38 + 35 * min(len(table), 12), 460))


if running:
    exact_preview()

# --------------------------------------------------------------------------------- results
fit = state.current_fit()
if fit is None:
    st.stop()

st.divider()
st.subheader("Results")
st.caption(components.md_escape(f"Fit of {components.describe_spec(fit.spec)}; "
                                f"{components.describe_settings(fit.settings)}."))
if not state.fit_is_current():
    st.warning("This fit was made with other data, model or settings than those now chosen. "
               "Press Fit to update it.", icon=":material/history:")

status = ss.get(state.FIT_STATUS) or {}
idata = fit.idata
divergences = int(idata.sample_stats["diverging"].values.sum()) if "sample_stats" in idata.groups() else 0
m1, m2, m3, m4 = st.columns(4)
waited = status.get("seconds") if status.get("key") == ss.get(state.FIT_KEY) else None
m1.metric("Time from pressing Fit", f"{waited:.1f} s" if waited is not None else "n/a")
m2.metric("Sampler time", f"{fit.timings.get('total_s', 0.0):.1f} s",
          help=f"compilation {fit.timings.get('compile_s', 0.0):.1f} s")
m3.metric("Divergences", f"{divergences}")
m4.metric("Method", fit.method.upper())

table, err = components.guarded(cache.summary_table, cache.key_text(state.fit_key(fit.data, fit.spec, fit.settings)),
                                fit, context="summarising the fit")
if err is not None:
    components.show_error(err, "summarising the fit")
else:
    st.markdown("**Posterior summary** (top rows)")
    st.dataframe(table.head(12), height=min(38 + 35 * min(len(table), 12), 460))

diag, err = components.guarded(cache.diagnosis, cache.key_text(state.fit_key(fit.data, fit.spec, fit.settings)),
                               fit, context="checking the fit")
if err is not None:
    components.show_error(err, "checking the fit")
elif diag is not None:
    st.markdown("**Can the fit be trusted?**")
    for verdict in diag.verdicts:
        text = components.md_escape(f"{verdict.topic}: {verdict.message}"
                                    + (f" {verdict.advice}" if verdict.advice else ""))
        {"ok": st.success, "warning": st.warning}.get(verdict.level, st.error)(text)

st.markdown("**Explore the results**")
components.results_links()
