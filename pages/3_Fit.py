"""Fit page: run the model in the background, watch progress, cancel, see a short summary."""

from __future__ import annotations

import streamlit as st

from hiermod.methods import METHODS
from hiermod.orchestrate import preview_available
from hiermod.spec import check_compatible
from ui import cache, components, state, tables
from ui.agreement_panel import agreement_panel
from ui.job_slot import RUNNING_POLL_S

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

# the methods one can choose; the exact posterior is not among them: the instant method covers it
choices = [name for name, m in METHODS.items() if not m.exact]
state.widget_default("w_method", state.current_method())
running = components.FIT.job is not None
method = st.radio("Method", choices, key="w_method", format_func=components.method_choice_text,
                  horizontal=True, disabled=running,
                  help="NUTS samples the posterior; the instant posterior is computed in a blink "
                       "(grid over the hyperparameters, the rest exactly or by a Laplace "
                       "approximation) for the models it serves; the variational approximation is "
                       "much faster on large data but understates uncertainty, most for tau.")
ss[state.METHOD] = method
if METHODS[method].approximate:
    components.approximation_note()
unserved = components.method_unavailable(METHODS[method], data, spec)
if unserved:
    st.warning(components.md_escape(unserved), icon=":material/block:")

if st.button("Fit", type="primary", icon=":material/play_arrow:", disabled=running or bool(unserved),
             key="w_fit"):
    components.start_fit(data, spec, settings, method)
    st.rerun()

if not running and not METHODS[method].deterministic and preview_available(data, spec):
    st.caption("For this model the exact or instant posterior is computed first and shown at once; "
               + ("NUTS" if method == "nuts" else "the approximation") + " then runs.")

components.job_monitor(detailed=True, interval=RUNNING_POLL_S)
components.fit_status_box()


# -------------------------------------------------------------------------- instant preview
# drawn with the page, not polled: the progress fragment reruns the page when a preview arrives
partial = components.partial_fit() if running else None
if partial is not None:
    st.markdown(("**Exact posterior**" if components.is_exact(partial) else "**Instant posterior**")
                + " (available now: " + components.md_escape(components.method_text(partial)) + ")")
    if partial.method == "exact":  # its means and sds are computed exactly: nothing to estimate from draws
        table = partial.exact.summary()
        st.caption("Posterior mean and sd, computed exactly (no draws to summarise).")
    else:
        with cache.heavy_turn():
            table = components.computed(tables.summary, partial, context="summarising the preview")
    if table is not None:
        st.dataframe(table.head(12), height=min(38 + 35 * min(len(table), 12), 460))

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
components.approximation_box(fit)

status = components.FIT.status or {}
idata = fit.idata
divergences = (int(idata.sample_stats["diverging"].values.sum())
               if components.has_sampler_stats(fit) else 0)
m1, m2, m3, m4 = st.columns(4)
waited = status.get("seconds") if status.get("key") == ss.get(state.FIT_KEY) else None
m1.metric("Time from pressing Fit", f"{waited:.1f} s" if waited is not None else "n/a")
m2.metric("Sampler time", f"{fit.timings.get('total_s', 0.0):.1f} s",
          help=f"compilation {fit.timings.get('compile_s', 0.0):.1f} s")
m3.metric("Divergences", f"{divergences}")
m4.metric("Method", fit.method.upper(), help=components.method_text(fit))

with cache.heavy_turn():  # a class's results come in together: the server computes them in turn
    table = components.computed(tables.summary, fit, context="summarising the fit")
if table is not None:
    st.markdown("**Posterior summary** (top rows)")
    st.dataframe(table.head(12), height=min(38 + 35 * min(len(table), 12), 460))

st.markdown("**Can the fit be trusted?**")
with cache.heavy_turn():
    components.verdicts(fit)
    agreement_panel(fit, subheader=False)

st.markdown("**Explore the results**")
components.results_links()
