"""Shrinkage page: how far partial pooling pulls each group toward the pool, and why."""

from __future__ import annotations

import streamlit as st

from hiermod.plots import continuum_plot, shrinkage_plot, shrinkage_vs_precision
from ui import components, results, tables
from ui.export_panel import export_panel
from ui.figures import show_figure

st.title("Shrinkage")
st.caption("Partial pooling moves each group's estimate from its own data toward the estimate "
           "for all groups together. Groups with little information move most.")

fit = components.require_fit()

figures: dict = {}

if not results.is_partial(fit):
    pooling = fit.spec.pooling.value
    st.info(
        f"This fit uses {pooling} pooling, so there is no shrinkage to show: "
        + ("every group keeps its own estimate. " if pooling == "none" else
           "every group gets the same estimate. ")
        + "Shrinkage is what partial pooling does between these two extremes: choose "
          "'Partial pooling' on the Model page and fit again.", icon=":material/info:")
    st.page_link("pages/2_Model.py", label="Model page", icon=":material/account_tree:")
    export_panel(fit, figures, key="export_shrinkage")
    st.stop()

kind = results.kind(fit)
family = fit.spec.family
table = components.computed(tables.shrinkage, fit, context="computing shrinkage")
if table is None:
    export_panel(fit, figures, key="export_shrinkage")
    st.stop()

# ------------------------------------------------------------------------------- the plot
scale = "link"
if family.response:
    names = {"link": f"{family.scale_title} (the model's scale)", "response": family.response_label}
    scale = st.radio("Scale", list(names), format_func=names.get, horizontal=True,
                     key="w_shrink_scale",
                     help="The model works on the link scale; the response scale is easier to read.")
x_title = family.response_title if scale == "response" else family.scale_title

st.subheader("Each group, before and after pooling")
st.markdown(
    "Orange circles: each group's **own estimate** (no pooling); bigger circles are more precise "
    "groups. The arrow points to the **partial-pooling estimate** (blue diamond, with its 90% "
    "interval). The dashed line is the **complete-pooling** estimate that every group is pulled "
    "toward.")
show_figure(shrinkage_plot, table, scale=scale, x_title=x_title, context="drawing the shrinkage plot",
            key="shrinkage_plot", figures=figures, export_as="Shrinkage plot", stretch=True)

# -------------------------------------------------------------- shrinkage against precision
st.subheader("Less information, more shrinkage")
left, right = st.columns([3, 2])
with left:
    show_figure(shrinkage_vs_precision, table, context="drawing shrinkage against precision",
                key="shrinkage_precision_plot", figures=figures, export_as="Shrinkage against precision",
                stretch=True)
with right:
    story, err = components.guarded(results.precision_story, table, context="describing shrinkage")
    if err is None and story:
        most, least = story["most"], story["least"]
        st.markdown(components.md_escape(
            "Shrinkage is the share of the way each group moved from its own estimate to the "
            "pooled one: 0% keeps its own estimate, 100% takes the pooled one."))
        st.markdown(components.md_escape(
            f"The least precise group, {least['group']} (se {least['se']:.3g}), moved "
            f"{least['shrinkage']:.0%} of the way; the most precise, {most['group']} "
            f"(se {most['se']:.3g}), moved {most['shrinkage']:.0%}. The model's expected "
            f"shrinkage, 1 - w, rises from {most['expected']:.0%} to {least['expected']:.0%} "
            f"as precision falls."))
        if story["rank_corr"] is not None:
            trend = ("rises as precision falls, as it should" if story["rank_corr"] < 0
                     else "does not clearly rise as precision falls here")
            st.caption(components.md_escape(
                f"Across the groups measured shrinkage {trend} (rank correlation of precision "
                f"and shrinkage {story['rank_corr']:+.2f})."))
        if story["odd"]:
            st.caption(components.md_escape(
                "Measured shrinkage is noisy for groups whose own estimate is already close to "
                f"the pooled one ({', '.join(story['odd'][:5])}): a small move is a large share "
                "of a small distance."))
    elif err is not None:
        components.show_error(err, "describing shrinkage")

# ------------------------------------------------------------------------- pooling continuum
st.subheader("The pooling continuum")
cont = components.computed(tables.continuum, fit, context="computing the pooling continuum")
if cont is not None and cont["table"] is None:
    st.info(cont["note"], icon=":material/info:")
elif cont is not None:
    tau_mean = tables.posterior_mean(fit, "tau")
    x_max = cont["x_max"] or max(3 * tau_mean, 1.0)
    chart, explain = st.columns([3, 2])
    with explain:
        st.markdown(
            "Every line is one group's estimate **if** the between-group spread **tau** were "
            "known. At tau = 0 all groups share one value (complete pooling); as tau grows each "
            "group returns to its own estimate (no pooling).")
        st.markdown(
            "Given tau, a group's estimate is a weighted average of its own estimate and the "
            "pooled one, with weight on its own data\n\n"
            "$$w = \\frac{\\text{precision}}{\\text{precision} + 1/\\tau^2},\\qquad "
            "\\text{precision} = 1/\\text{se}^2$$\n\n"
            "Precise groups (small se) have w near 1 and barely move; imprecise groups lean on "
            "the others.")
        shade = {"exact": "the exact posterior of tau",
                 "draws": "the posterior of tau (histogram of the draws)"}.get(cont["tau_source"])
        if shade:
            st.caption(f"The blue shading is {shade}: the data rule out the taus where it is "
                       "flat, so the real estimates average the lines over the shaded range.")
        tau_pick = st.slider("Look at one tau", min_value=0.0, max_value=float(round(x_max, 2)),
                             value=float(round(min(tau_mean, x_max), 2)),
                             step=float(round(x_max / 200, 3)) or 0.01, key="w_continuum_tau",
                             help="Starts at the posterior mean of tau.")
    with chart:
        show_figure(continuum_plot, cont["table"], cont["tau"], tau_mark=tau_pick, x_max=x_max,
                    y_title=f"{x_title} given tau", context="drawing the pooling continuum",
                    key="continuum_plot", figures=figures, export_as="Pooling continuum", stretch=True)
    at_tau = components.computed(tables.continuum_at, fit, tau_pick, context="computing weights at tau")
    if at_tau is not None:
        st.markdown(components.md_escape(f"At tau = {tau_pick:.3g}:"))
        st.dataframe(
            at_tau, hide_index=True, width="stretch",
            column_config={
                "group": "group",
                "no_pooling": st.column_config.NumberColumn("own estimate", format="%.3g"),
                "se": st.column_config.NumberColumn("se", format="%.3g"),
                "weight_own_data": st.column_config.ProgressColumn(
                    "w (weight on own data)", min_value=0.0, max_value=1.0, format="%.2f"),
                "estimate_at_tau": st.column_config.NumberColumn("estimate given tau", format="%.3g"),
            })
    if cont["note"]:
        st.caption(cont["note"])

# ------------------------------------------------------------------------------ the table
st.subheader("Shrinkage table")
st.caption("One row per group. no_pooling: the group's own estimate; partial_*: the posterior mean "
           "and 90% interval under partial pooling; complete_pooling: the value groups are pulled "
           "toward; shrinkage: share of the way moved; weight: w at tau's posterior mean."
           + (" Columns ending in _response are on the response scale." if family.response else ""))
st.dataframe(table, hide_index=True, width="stretch",
             column_config={c: st.column_config.NumberColumn(c, format="%.3g")
                            for c in table.columns if c not in ("group", "n")
                            and c not in ("shrinkage", "weight")} | {
                 "shrinkage": st.column_config.NumberColumn("shrinkage", format="percent"),
                 "weight": st.column_config.NumberColumn("weight", format="%.3f")})

export_panel(fit, figures, key="export_shrinkage")
