"""Shrinkage page: how far partial pooling pulls each group toward the pool, and why."""

from __future__ import annotations

import streamlit as st

from hiermod.plots import (continuum_plot, shrinkage_plot, shrinkage_vs_precision, slope_lines_plot,
                           slope_shrinkage_plot)
from ui import components, live, results, tables
from ui.export_panel import export_panel
from ui.figures import show_figure

st.title("Shrinkage")
st.caption("Partial pooling moves each group's estimate from its own data toward the estimate "
           "for all groups together. Groups with little information move most.")

live.live_section("shrinkage")

fit = components.require_fit()

figures: dict = {}


def slope_section(fit, term, figures: dict) -> None:
    """Varying slopes: each group's own line against its partial-pooling line, in two dimensions
    and group by group."""
    x = term.slopes[0]
    if len(term.slopes) > 1:
        x = st.radio("Slope", list(term.slopes), horizontal=True, key="w_shrink_slope")
    st.subheader(f"Intercepts and slopes of {x}, before and after pooling")
    xe = components.md_escape(x)
    st.markdown(
        f"Each group has its own line: an intercept (its value at {xe} = 0) and a slope. Orange "
        "circles: the line fitted to the group's rows alone (**least squares**). The arrow points "
        "to the **partial-pooling** line (blue diamond, posterior means). The black cross is the "
        "population's mean line; the dotted and dashed curves hold 50% and 90% of a population of "
        f"groups at the posterior means of tau, tau\\_{xe} and their correlation rho\\_{xe}.")
    slope_t = components.computed(tables.slopes, fit, x, context="computing each group's lines")
    ellipse = components.computed(tables.slope_ellipse, fit, x, context="computing the population ellipse")
    if slope_t is None:
        return
    show_figure(slope_shrinkage_plot, slope_t, ellipse, x=x, context="drawing the slope shrinkage",
                key="slope_shrinkage_plot", figures=figures, export_as="Intercept and slope shrinkage",
                stretch=True)
    if ellipse is not None:
        a = ellipse.attrs
        if a.get("nested"):
            st.caption("With nested levels each intercept is centred on its parent group's; the "
                       "ellipse is drawn around the grand mean.")
        if "rho" in a:
            st.caption(components.md_escape(
                f"Posterior means: tau = {a['tau']:.3g} (intercepts), tau_{x} = {a['tau_x']:.3g} "
                f"(slopes), rho_{x} = {a['rho']:+.2f}."))
    note = slope_t.attrs.get("note", "")
    if note:
        st.caption(components.md_escape(note))
    st.subheader("Group by group")
    lines = components.computed(tables.slope_lines, fit, x, context="computing each group's lines")
    labels = [str(g) for g in slope_t["group"]]
    chosen = st.multiselect("Groups", labels, default=labels[:12], key="w_shrink_slope_groups",
                            help="Each panel: the group's rows, its own least-squares line (dashed) "
                                 "and its partial-pooling line.")
    if lines is not None and chosen:
        points, segments = lines
        show_figure(slope_lines_plot, points, segments, chosen, x=x, y=fit.data.columns.y,
                    context="drawing each group's lines", key="slope_lines_plot", figures=figures,
                    export_as="Each group's lines", stretch=True)
    st.dataframe(slope_t, hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(c, format="%.3g")
                                for c in slope_t.columns if c not in ("group", "n", "distinct_x", "own_line")})

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
levels = tables.shrinkage_levels(fit)
terms = fit.spec.terms
one_level = len(levels) == 1
level = 0
if not one_level:
    level = st.radio("Grouping level", list(range(len(levels))), horizontal=True, key="w_shrink_level",
                     format_func=lambda k: levels[k].title,
                     help="Outer groups are pulled toward the grand mean; inner groups toward their "
                          "own enclosing group.")
shown = levels[level]
term = terms[level]
population = term.conjugate
with_slopes = bool(term.slopes)

if with_slopes:
    slope_section(fit, term, figures)

if one_level:
    table = components.computed(tables.shrinkage, fit, context="computing shrinkage")
else:
    table = components.computed(tables.shrinkage_at, fit, level, context="computing shrinkage")
if table is None:
    export_panel(fit, figures, key="export_shrinkage")
    st.stop()

# ------------------------------------------------------------------------------- the plot
scale = "link"
if family.response:
    names = {"link": f"{family.scale_title} (the model's scale)", "response": family.response_label}
    scale = st.radio("Scale", list(names), format_func=names.get, horizontal=True,
                     key="w_shrink_scale", index=1 if population else 0,
                     help="The model works on the link scale; the response scale is easier to read.")
x_title = family.response_title if scale == "response" else family.scale_title

if with_slopes:
    st.subheader("Intercepts alone")
    st.caption("The same intercepts on one axis. Own estimates here are the groups' means minus "
               "the mean slope times their mean " + ", ".join(term.slopes) + " (not their own "
               "lines), so the arrows above are the better picture.")
else:
    st.subheader("Each group, before and after pooling" if one_level and not population
                 else shown.title[:1].upper() + shown.title[1:])
if population:
    a = {k: components.md_escape(v) for k, v in table.attrs.items() if isinstance(v, str)}
    st.markdown(
        f"Orange circles: each group's **raw {a.get('population_label', 'value')}** "
        f"({components.md_escape(fit.data.columns.y)} / {a.get('population_total', 'total')}). The "
        f"arrow points to the posterior mean of its {term.population_value} (blue diamond, with its "
        f"90% interval). The dashed line is the **population mean** {a.get('population_mean', '')} "
        f"that every group is pulled toward. A {term.population.value.title()} population has no "
        f"tau: a group's weight on its own data is {a.get('population_weight', '')}, so small "
        "groups move most.")
elif shown.parent_column is not None:
    col, par = components.md_escape(shown.column), components.md_escape(shown.parent_column)
    st.markdown(
        f"Orange circles: each {col}'s **own estimate** (the mean of its rows); bigger circles are "
        f"more precise. The arrow points to its **partial-pooling estimate** (blue diamond, with its "
        f"90% interval). The black ticks mark what each {col} is pulled toward: the posterior mean "
        f"of **its {par}** ({components.md_escape(term.location)}), not the grand mean.")
else:
    st.markdown(
        "Orange circles: each group's **own estimate** (no pooling); bigger circles are more precise "
        "groups. The arrow points to the **partial-pooling estimate** (blue diamond, with its 90% "
        "interval). The dashed line is the **complete-pooling** estimate that every group is pulled "
        "toward.")
plot_title = None if one_level and not population else "Partial pooling pulls " + shown.title
show_figure(shrinkage_plot, table, scale=scale, x_title=x_title, context="drawing the shrinkage plot",
            key="shrinkage_plot", figures=figures, export_as="Shrinkage plot", stretch=True,
            **({"title": plot_title, "layout": dict(margin=dict(t=100), legend=dict(xanchor="left", x=0.0))}
               if plot_title else {}))

# -------------------------------------------------------------- shrinkage against precision
st.subheader("Less information, more shrinkage")
if with_slopes:  # the intercepts' own estimates mix in the slopes: 'shrinkage' is not a share here
    st.info("Shrinkage as a share of the way moved is shown for intercept-only models: with varying "
            "slopes each group moves in two dimensions at once (the plot at the top).")
else:
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
cont = None
if not (one_level and not population and not with_slopes):
    st.info("The pooling continuum is drawn for one grouping level with a normal population and no "
            "varying slopes: only there is each group's estimate a simple weighted average given "
            "one tau.", icon=":material/info:")
else:
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
st.caption(("One row per group. " if one_level else f"One row per {shown.column}. ")
           + ("complete_pooling is each group's parent's posterior mean. " if shown.parent_column else "")
           + ("For a Beta/Gamma population the *_response columns are the raw value, the posterior "
              "mean and interval and the population mean; weight is the exact weight on the raw "
              "value. " if population else "")
           + "no_pooling: the group's own estimate; partial_*: the posterior mean "
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
