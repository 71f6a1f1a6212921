"""Funnel and diagnostics page: can the fit be trusted, and why hierarchical models are hard to sample."""

from __future__ import annotations

import streamlit as st

from hiermod.plots import (energy_plot, funnel_pair, funnel_plot, posterior_vs_prior_plot,
                           rank_plot, trace_plot)
from ui import components, results
from ui.export_panel import export_panel

ss = st.session_state

st.title("Funnel and diagnostics")
st.caption("Checks that the sampler explored the whole posterior, and the picture that explains "
           "most problems in hierarchical models: the funnel.")

fit = components.require_fit(show_settings=True)

key = results.fit_text(fit)
exact = results.is_exact(fit)
partial = results.is_partial(fit)
figures: dict = {}
TOPICS = {"divergences": "Divergences", "r_hat": "Do the chains agree (R-hat)",
          "ess": "Effective sample size", "bfmi": "Energy (BFMI)", "treedepth": "Tree depth",
          "exact": "Exact posterior"}

# ------------------------------------------------------------------------------- verdicts
st.subheader("Can the fit be trusted?")
diag, err = components.guarded(results.diagnosis, fit, context="checking the fit")
if err is not None:
    components.show_error(err, "checking the fit")
elif diag is not None:
    for verdict in diag.verdicts:
        text = components.md_escape(f"{TOPICS.get(verdict.topic, verdict.topic)}: {verdict.message}")
        if verdict.advice:
            text += "  \n**What to do:** " + components.md_escape(verdict.advice)
        {"ok": st.success, "warning": st.warning}.get(verdict.level, st.error)(text)
    if not exact:
        m1, m2, m3, m4 = st.columns(4)
        m1.metric("Divergences", f"{diag.divergences}", help="Draws where the sampler lost its way.")
        m2.metric("Largest R-hat", f"{diag.max_r_hat:.3f}" if diag.max_r_hat == diag.max_r_hat else "n/a",
                  help="Do the chains agree? Want 1.01 or less.")
        m3.metric("Smallest bulk ESS", f"{diag.min_ess_bulk:.0f}" if diag.min_ess_bulk == diag.min_ess_bulk else "n/a",
                  help="How many independent draws the chains are worth.")
        m4.metric("Lowest BFMI", f"{min(diag.bfmi):.2f}" if diag.bfmi else "n/a",
                  help="Energy check; below 0.3 the sampler struggles to move.")

if exact:
    st.info("This posterior was computed exactly (closed form and quadrature), not sampled, so no "
            "sampler diagnostics apply: there are no chains, no divergences and no funnel to get "
            "stuck in. Fit with NUTS to see the sampler at work.", icon=":material/verified:")

# --------------------------------------------------------------------------------- funnel
if not partial:
    st.subheader("The funnel")
    st.info("The funnel appears only with partial pooling, where the groups' spread tau is "
            "estimated together with the group effects. This fit uses "
            f"{fit.spec.pooling.value} pooling.", icon=":material/info:")
    st.page_link("pages/2_Model.py", label="Model page", icon=":material/account_tree:")
elif not exact:
    st.subheader("The funnel")
    st.markdown(
        "When tau (the spread between groups) is small, every group effect must sit close to the "
        "mean; when tau is large they can spread out. Plotted against log tau, the draws form a "
        "**funnel**. A sampler with one step size cannot follow the narrow neck, and reports "
        "**divergences** there (red crosses). The **non-centered** parameterization samples the "
        "standardized offset theta_decentered = (theta - mu) / tau instead, which has no funnel.")
    noncentered = fit.spec.parameterization.value == "non_centered"
    labels = [str(g) for g in fit.data.labels]
    c1, c2 = st.columns(2)
    with c1:
        group = st.selectbox("Group", labels, key="w_funnel_group")
    with c2:
        if noncentered:
            axis = st.radio("Horizontal axis", ["theta_decentered", "theta"], horizontal=True,
                            key="w_funnel_axis",
                            format_func={"theta_decentered": "standardized offset (what is sampled)",
                                         "theta": "group effect theta"}.get)
        else:
            axis = "theta"
            st.caption("This fit is centered: the sampler works with theta itself.")
    rows, err = components.guarded(results.funnel_rows, key, fit, group, context="building the funnel")
    if err is not None:
        components.show_error(err, "building the funnel")
    else:
        fig, err = components.guarded(funnel_plot, rows, group, x=axis, context="drawing the funnel")
        if err is not None:
            components.show_error(err, "drawing the funnel")
        else:
            st.plotly_chart(fig, width="stretch", key="funnel_plot")
            figures["Funnel"] = fig

    # side by side with the other parameterization
    st.markdown("**Centered and non-centered, side by side**")
    message = results.harvest_partner()
    if message:
        st.warning(message, icon=":material/cancel:")
    partner = results.partner_fit(fit)
    job = results.partner_job()
    if partner is not None:
        centered, other = (fit, partner) if not noncentered else (partner, fit)
        c_rows, err1 = components.guarded(results.funnel_rows, results.fit_text(centered), centered,
                                          group, context="building the funnel")
        n_rows, err2 = components.guarded(results.funnel_rows, results.fit_text(other), other,
                                          group, context="building the funnel")
        err = err1 or err2
        pair = None
        if err is None:
            pair, err = components.guarded(funnel_pair, c_rows, n_rows, group,
                                           context="drawing the two funnels")
        if err is not None:
            components.show_error(err, "drawing the two funnels")
        else:
            # legend under the panels, clear of the two panel titles
            pair.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.28, x=0.0,
                                           xanchor="left"), margin=dict(b=130))
            st.plotly_chart(pair, width="stretch", key="funnel_pair_plot")
            figures["Centered vs non-centered funnels"] = pair
            n_c = int(c_rows["diverging"].sum())
            n_n = int(n_rows["diverging"].sum())
            st.caption(components.md_escape(
                f"Same data and model: {n_c} divergent draws centered, {n_n} non-centered "
                f"(of {len(c_rows)} and {len(n_rows)} draws). Left, the funnel itself; right, the "
                "same posterior in the coordinates the non-centered sampler uses: a round cloud."))
    elif job is not None:
        @st.fragment(run_every=1.0)
        def compare_progress() -> None:
            j = results.partner_job()
            if j is None or j.done():
                st.rerun()
            p = j.progress
            text = ("Waiting to start..." if j.status == "queued" else
                    "Compiling the sampler..." if p.phase in ("queued", "compiling") else
                    f"Fitting the other parameterization: {p.phase}, {p.done:,} of {p.total:,}")
            st.progress(p.fraction if j.status != "queued" else 0.0, text=text)

        compare_progress()
    else:
        other_name = "non-centered" if not noncentered else "centered"
        st.caption(f"Fit the {other_name} version of the same model (same data, priors and sampler "
                   "settings) to compare the two geometries. It runs in the background and does "
                   "not replace your current fit.")
        if st.button("Fit the other parameterization for comparison", key="w_fit_partner",
                     icon=":material/compare_arrows:"):
            problem = results.submit_partner(fit)
            if problem:
                components.show_error(problem)
            else:
                st.rerun()

# ----------------------------------------------------------------------- diagnostics table
st.subheader("Diagnostics table")
st.caption("For every parameter: posterior mean, sd and 94% interval, then the checks. r_hat near "
           "1 (at most 1.01) means the chains agree; ess_bulk and ess_tail count how many "
           "independent draws the chains are worth (want a few hundred); mcse is the Monte Carlo "
           "error of the mean.")
summary, err = components.guarded(results.summary_table, fit, context="summarising the fit")
if err is not None:
    components.show_error(err, "summarising the fit")
else:
    st.dataframe(summary, width="stretch",
                 column_config={c: st.column_config.NumberColumn(c, format="%.3g")
                                for c in summary.columns})
    if diag is not None and not exact and getattr(diag, "chains", None) is not None:
        with st.expander("Per chain"):
            st.dataframe(diag.chains, hide_index=True, width="stretch")

# -------------------------------------------------------------------------- trace and rank
if not exact and summary is not None:
    st.subheader("Trace and rank plots")
    st.markdown("A **trace** shows each chain's draws in order: healthy chains look like "
                "overlapping fuzzy caterpillars. A **rank plot** sorts all draws together and "
                "counts where each chain's draws fall: flat bars mean the chains explore the same "
                "region.")
    names = [str(n) for n in summary.index]
    default = names.index("tau") if "tau" in names else 0
    param = st.selectbox("Parameter", names, index=default, key="w_trace_param")
    t1, t2 = st.columns(2)
    with t1:
        tt, err = components.guarded(results.trace_table, key, fit, param, context="building the trace")
        fig, err = (None, err) if err else components.guarded(trace_plot, tt, parameter=param,
                                                              context="drawing the trace")
        if err is not None:
            components.show_error(err, "drawing the trace")
        else:
            st.plotly_chart(fig, width="stretch", key="trace_plot")
            figures[f"Trace of {param}"] = fig
    with t2:
        rt, err = components.guarded(results.rank_table, key, fit, param, context="building the ranks")
        fig, err = (None, err) if err else components.guarded(rank_plot, rt, parameter=param,
                                                              context="drawing the ranks")
        if err is not None:
            components.show_error(err, "drawing the rank plot")
        else:
            st.plotly_chart(fig, width="stretch", key="rank_plot")
            figures[f"Ranks of {param}"] = fig

    # ------------------------------------------------------------------------------ energy
    st.subheader("Energy")
    e1, e2 = st.columns([3, 2])
    with e2:
        st.markdown(
            "Each NUTS iteration draws a new energy level. If the **transition** histogram (how "
            "much the energy changes from one draw to the next) is much narrower than the "
            "**marginal** one (all energy levels visited), the sampler cannot move far enough "
            "per step. **BFMI** measures this per chain: below 0.3 is a problem, often caused "
            "by a funnel.")
        if diag is not None and diag.bfmi:
            st.caption("BFMI per chain: " + ", ".join(f"{b:.2f}" for b in diag.bfmi))
    with e1:
        et, err = components.guarded(results.energy_table, key, fit, context="building the energy table")
        fig, err = (None, err) if err else components.guarded(
            energy_plot, et, bfmi=list(diag.bfmi) if diag is not None and diag.bfmi else None,
            context="drawing the energy plot")
        if err is not None:
            components.show_error(err, "drawing the energy plot")
        else:
            st.plotly_chart(fig, width="stretch", key="energy_plot")
            figures["Energy"] = fig

# ----------------------------------------------------------------------- tau: posterior vs prior
if partial:
    st.subheader("What the data say about tau")
    has_exact = results.has_exact_tau(fit)
    st.markdown(
        "The histogram is the posterior of tau (the spread between groups); the dashed line is "
        "its prior. Where they differ, the data have taught the model something; where the "
        "posterior just follows the prior, tau is decided by the prior."
        + (" The solid line is the exact posterior, computed without sampling: the histogram "
           "should follow it." if has_exact else ""))
    tau_prior = fit.priors.get("tau")
    draws_tau, err = components.guarded(results.draws, key, fit, "tau", context="reading tau")
    prior_curve = exact_curve = None
    if err is None and tau_prior is not None:
        prior_curve, err = components.guarded(results.prior_table, str(tau_prior),
                                              context="computing the prior of tau")
    if err is None and has_exact:
        exact_curve, err2 = components.guarded(results.tau_exact_table, key, fit,
                                               context="computing the exact posterior of tau")
        if err2 is not None:
            components.show_error(err2, "computing the exact posterior of tau")
    if err is not None:
        components.show_error(err, "drawing tau")
    elif prior_curve is not None:
        fig, err = components.guarded(posterior_vs_prior_plot, draws_tau, prior_curve, exact_curve,
                                      "tau", context="drawing tau")
        if err is not None:
            components.show_error(err, "drawing tau")
        else:
            st.plotly_chart(fig, width="stretch", key="tau_prior_plot")
            figures["tau: posterior against prior"] = fig
            st.caption(components.md_escape(f"Prior: tau ~ {tau_prior}."))

export_panel(fit, figures, key="export_funnel")
