"""Funnel and diagnostics page: can the fit be trusted, and why hierarchical models are hard to sample."""

from __future__ import annotations

import streamlit as st

from hiermod.plots import (energy_plot, funnel_pair, funnel_plot, posterior_vs_prior_plot,
                           rank_plot, trace_plot)
from ui import components, results, tables
from ui.agreement_panel import agreement_panel
from ui.export_panel import export_panel
from ui.figures import show_figure

ss = st.session_state

st.title("Funnel and diagnostics")
st.caption("Checks that the sampler explored the whole posterior, and the picture that explains "
           "most problems in hierarchical models: the funnel.")

fit = components.require_fit(show_settings=True)

exact = components.is_exact(fit)
sampled = components.has_sampler_stats(fit)  # NUTS: divergences, energy, tree depths to check
partial = results.is_partial(fit)
figures: dict = {}

# ------------------------------------------------------------------------------- verdicts
st.subheader("Can the fit be trusted?")
diag = components.verdicts(fit)
if diag is not None and sampled:
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
elif sampled:
    st.subheader("The funnel")
    st.markdown(
        "When tau (the spread between groups) is small, every group effect must sit close to the "
        "mean; when tau is large they can spread out. Plotted against log tau, the draws form a "
        "**funnel**. A sampler with one step size cannot follow the narrow neck, and reports "
        "**divergences** there (red crosses). The **non-centered** parameterization samples the "
        "standardized offset theta_decentered = (theta - mu) / tau instead, which has no funnel.")
    scales = components.computed(tables.funnel_scales, fit, context="listing the funnels") or []
    fs = scales[0] if scales else None
    if len(scales) > 1:
        pick = st.radio("Scale parameter", list(range(len(scales))), horizontal=True, key="w_funnel_scale",
                        format_func=lambda k: scales[k].title,
                        help="One funnel per scale parameter: each level's tau and each slope's tau.")
        fs = scales[pick]
    simple = len(fit.spec.terms) == 1 and not fit.spec.terms[0].slopes and fs is not None \
        and fs.population is None
    if fs is not None and fs.population is not None:
        st.info(components.md_escape(
            f"A {fs.population.title()} population has no tau: its spread is set by the "
            f"concentration {fs.scale} (large: groups close together). The analogue of the funnel "
            f"is {fs.effect} (on the link scale) against log({fs.scale}), upside down: the neck is "
            "at the top. The sampler never meets it: the group values are drawn from their exact "
            "conditional given alpha and beta."), icon=":material/info:")
    if fs is not None:
        coords = fit.idata.posterior[fs.effect].coords[fs.dim].values
        labels = [str(g) for g in coords]
        c1, c2 = st.columns(2)
        with c1:
            group = st.selectbox("Group", labels, key="w_funnel_group")
        with c2:
            if fs.decentered is not None:
                axis = st.radio("Horizontal axis", ["theta_decentered", "theta"], horizontal=True,
                                key="w_funnel_axis",
                                format_func={"theta_decentered": "standardized offset (what is sampled)",
                                             "theta": f"group effect {fs.effect}"}.get)
                if fs.coefficient is not None:
                    st.caption("With correlated slopes the sampler's standardized offsets are mixed "
                               "by the correlation before scaling, so this is the slope's own "
                               "offset before that mixing.")
            else:
                axis = "theta"
                if fs.population is None:
                    st.caption(f"This level is centered: the sampler works with {fs.effect} itself.")
        rows = components.computed(tables.funnel_scale_rows, fit, fs.scale, group, context="building the funnel")
        if rows is not None:
            show_figure(funnel_plot, rows, group, x=axis, effect=fs.effect, scale=fs.scale,
                        context="drawing the funnel", key="funnel_plot", figures=figures,
                        export_as="Funnel", stretch=True)
    noncentered = fit.spec.parameterization.value == "non_centered"
    group = group if fs is not None else None

    # side by side with the other parameterization
    if simple:
        st.markdown("**Centered and non-centered, side by side**")
        results.PARTNER.harvest()
        results.PARTNER.status_box(results.partner_key(fit))
        partner = results.partner_fit(fit)
    else:
        partner = None
    if not simple:
        st.caption("The side-by-side comparison with the other parameterization is offered for "
                   "one-level models with a normal population.")
    elif partner is not None:
        centered, other = (fit, partner) if not noncentered else (partner, fit)
        c_rows = components.computed(tables.funnel_rows, centered, group, context="building the funnel")
        n_rows = components.computed(tables.funnel_rows, other, group, context="building the funnel")
        pair = None if c_rows is None or n_rows is None else show_figure(
            funnel_pair, c_rows, n_rows, group, context="drawing the two funnels",
            key="funnel_pair_plot", figures=figures, export_as="Centered vs non-centered funnels",
            stretch=True,  # legend under the panels, clear of the two panel titles
            layout=dict(legend=dict(orientation="h", yanchor="top", y=-0.28, x=0.0, xanchor="left"),
                        margin=dict(b=130)))
        if pair is not None:
            n_c = int(c_rows["diverging"].sum())
            n_n = int(n_rows["diverging"].sum())
            st.caption(components.md_escape(
                f"Same data and model: {n_c} divergent draws centered, {n_n} non-centered "
                f"(of {len(c_rows)} and {len(n_rows)} draws). Left, the funnel itself; right, the "
                "same posterior in the coordinates the non-centered sampler uses: a round cloud."))
    elif results.PARTNER.job is not None:
        results.PARTNER.monitor(results.partner_progress, interval=1.0)
    else:
        other_name = "non-centered" if not noncentered else "centered"
        st.caption(f"Fit the {other_name} version of the same model (same data, priors and sampler "
                   "settings) to compare the two geometries. It runs in the background and does "
                   "not replace your current fit.")
        if st.button("Fit the other parameterization for comparison", key="w_fit_partner",
                     icon=":material/compare_arrows:"):
            results.start_partner(fit)
            st.rerun()

# ----------------------------------------------------------------------- diagnostics table
st.subheader("Diagnostics table")
st.caption("For every parameter: posterior mean, sd and 94% interval, then the checks. r_hat near "
           "1 (at most 1.01) means the chains agree; ess_bulk and ess_tail count how many "
           "independent draws the chains are worth (want a few hundred); mcse is the Monte Carlo "
           "error of the mean.")
summary = components.computed(tables.summary, fit, context="summarising the fit")
if summary is not None:
    st.dataframe(summary, width="stretch",
                 column_config={c: st.column_config.NumberColumn(c, format="%.3g")
                                for c in summary.columns})
    if diag is not None and sampled and getattr(diag, "chains", None) is not None:
        with st.expander("Per chain"):
            st.dataframe(diag.chains, hide_index=True, width="stretch")

agreement_panel(fit)

# -------------------------------------------------------------------------- trace and rank
if sampled and summary is not None:
    st.subheader("Trace and rank plots")
    st.markdown("A **trace** shows each chain's draws in order: healthy chains look like "
                "overlapping fuzzy caterpillars. A **rank plot** sorts all draws together and "
                "counts where each chain's draws fall: flat bars mean the chains explore the same "
                "region.")
    names = [str(n) for n in summary.index]
    first_scale = next((n for n in fit.spec.scale_names() if n in names), None)
    default = names.index(first_scale) if first_scale else 0
    param = st.selectbox("Parameter", names, index=default, key="w_trace_param")
    t1, t2 = st.columns(2)
    with t1:
        tt = components.computed(tables.trace, fit, param, context="building the trace")
        if tt is not None:
            show_figure(trace_plot, tt, parameter=param, context="drawing the trace", key="trace_plot",
                        figures=figures, export_as=f"Trace of {param}", stretch=True)
    with t2:
        rt = components.computed(tables.ranks, fit, param, context="building the ranks")
        if rt is not None:
            show_figure(rank_plot, rt, parameter=param, context="drawing the rank plot", key="rank_plot",
                        figures=figures, export_as=f"Ranks of {param}", stretch=True)

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
        et = components.computed(tables.energy, fit, context="building the energy table")
        if et is not None:
            show_figure(energy_plot, et, bfmi=list(diag.bfmi) if diag is not None and diag.bfmi else None,
                        context="drawing the energy plot", key="energy_plot", figures=figures,
                        export_as="Energy", stretch=True)

# ----------------------------------------------------------------------- tau: posterior vs prior
if partial:
    scale_names = [n for n in fit.spec.scale_names() if n in fit.idata.posterior]
    scale_name = scale_names[0] if scale_names else "tau"
    if len(scale_names) > 1:
        scale_name = st.radio("Scale parameter", scale_names, horizontal=True, key="w_tau_param",
                              help="Each level's tau, each slope's tau, a population's alpha and beta.")
    st.subheader(f"What the data say about {scale_name}")
    has_exact = results.has_exact_tau(fit) and scale_name == "tau"
    approximate = components.is_approximate(fit)
    st.markdown(
        ("The histogram is the " + (f"{components.APPROXIMATION} of the posterior of {scale_name}"
                                    if approximate else f"posterior of {scale_name}")
         + (" (the spread between groups)" if scale_name.startswith("tau") else "")
         + "; the dashed line is its prior. Where they differ, the "
         "data have taught the model something; where the posterior just follows the prior, "
         f"{scale_name} is decided by the prior.")
        + ((" The solid line is the exact posterior, computed without sampling: "
            + ("the approximation is narrower than it." if approximate else
               "the histogram should follow it.")) if has_exact else ""))
    tau_prior = fit.priors.get(scale_name)
    draws_tau = components.computed(tables.draws, fit, scale_name, context=f"reading {scale_name}")
    prior_curve = exact_curve = None
    if draws_tau is not None and tau_prior is not None:
        prior_curve = components.computed(tables.prior_density, str(tau_prior), 300, 0.995,
                                          context=f"computing the prior of {scale_name}")
    if prior_curve is not None and has_exact:
        exact_curve = components.computed(tables.tau_exact, fit,
                                          context="computing the exact posterior of tau")
    if prior_curve is not None:
        fig = show_figure(posterior_vs_prior_plot, draws_tau, prior_curve, exact_curve, scale_name,
                          context=f"drawing {scale_name}", key="tau_prior_plot", figures=figures,
                          export_as=f"{scale_name}: posterior against prior", stretch=True)
        if fig is not None:
            st.caption(components.md_escape(f"Prior: {scale_name} ~ {tau_prior}."))

export_panel(fit, figures, key="export_funnel")
