"""Prior sensitivity page: the posterior under other priors, power-scaling, empirical against full Bayes."""

from __future__ import annotations

import streamlit as st

from ui import components, sensitivity_panel as panel, state
from ui.export_panel import export_panel

st.title("Prior sensitivity")
st.caption("How much do the results owe to the prior? Three views: the same model under other "
           "reasonable priors, power-scaling the prior of your fit, and what is lost by plugging in an "
           "estimate of tau (empirical Bayes) instead of averaging over it.")

data, spec = state.current_data(), state.current_spec()
if data is None or spec is None:
    st.info("Load data and choose a model first; the prior set and the empirical-Bayes comparison "
            "are computed from them at once.", icon=":material/info:")
    st.page_link("pages/1_Data.py", label="Data", icon=":material/table_chart:")
    st.stop()

st.caption(components.md_escape(f"Model: {components.describe_spec(spec)}; "
                                f"{st.session_state.get(state.DATA_NAME) or 'data'} ({data.n_groups} groups)."))
reason, err = components.guarded(panel.instant_reason, data, spec, context="checking the instant method")
if err is not None:
    reason = components.error_message(err, "checking the instant method")

figures: dict = {}
panel.prior_set_section(data, spec, reason, figures)
panel.power_scaling_section(data, spec, reason, figures)
panel.empirical_bayes_section(data, spec, reason, figures)

fit = state.current_fit()
if fit is not None:
    export_panel(fit, figures, key="export_sensitivity")
