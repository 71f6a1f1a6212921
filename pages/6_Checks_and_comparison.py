"""Checks and comparison: posterior predictive check (per grouping level), no / complete / partial
pooling side by side (one background job), other model structures by LOO (one level against all,
common against varying slopes, normal against Beta/Gamma population; another background job),
variance split between levels and within groups, a new group's prediction at each level, the
groups' ranks, pooling factors and leave-one-group-out predictions (ui.groups_panel), and
simulation-based calibration of the method on the data's design (ui.sbc_panel)."""

from __future__ import annotations

import streamlit as st

from hiermod.plots import forest_plot, new_group_plot, ppc_plot, variance_plot
from ui import comparison as cmp
from ui import components, groups_panel, sbc_panel, tables
from ui.export_panel import export_panel
from ui.figures import show_figure

st.title("Checks and comparison")

fit = components.require_fit()

figures: dict = {}  # title -> figure, for the export panel
pooling = fit.spec.pooling.value

# ---------------------------------------------------------------- posterior predictive check
st.header("Does the model reproduce the data?")
st.markdown("For every group the model simulates many replicated data sets. If the observed value "
            "sits inside the middle 90% of the simulated ones, the model can produce data like "
            "these; groups outside are worth a closer look.")
level_columns = [level.column for level in fit.data.levels]
if len(level_columns) > 1:
    ppc_level = st.radio("Check the groups of", level_columns, index=len(level_columns) - 1,
                         horizontal=True, key="w_ppc_level",
                         help="An outer level pools the rows of all its inner groups.")
    result = components.computed(tables.ppc_level, fit, ppc_level, context="checking the predictions")
else:
    result = components.computed(tables.ppc, fit, context="checking the predictions")
if result is not None:
    ppc, summary = result
    c1, c2 = st.columns([1, 3])
    c1.metric("Groups inside their 90% interval", f"{summary['n_inside']} of {summary['n_groups']}",
              help="About 90% of groups are expected inside when the model fits.")
    c2.markdown(components.md_escape(summary["message"]))
    show_figure(ppc_plot, ppc, context="drawing the predictive check", key="ppc_chart",
                figures=figures, export_as="Posterior predictive check")
    with st.expander("Predictive check table"):
        st.dataframe(ppc, hide_index=True)

# ------------------------------------------------------------------------- pooling modes
st.header("No, complete and partial pooling side by side")
st.markdown("**No pooling** fits every group on its own; **complete pooling** treats all groups as "
            "one; **partial pooling** lets each group borrow strength from the others, more so "
            "when its own data are thin. The button fits all three (with this fit's sampler "
            "settings) in the background; you can keep using the page meanwhile.")
key = cmp.compare_key(fit.data, fit.spec, fit.settings)
running = cmp.CMP.running()
if st.button("Compare pooling modes", key="w_compare", icon=":material/compare:",
             disabled=running, type="primary"):
    cmp.start_comparison(fit)
    st.rerun()
cmp.comparison_monitor()
cmp.CMP.status_box(key)

fits = cmp.comparison_fits(key)
preview = cmp.CMP.partial() if fits is None and running else None
shown = fits or preview
if shown is None:
    if not running:
        st.caption("Press the button to see the three models' estimates and their LOO comparison.")
else:
    if fits is None:
        st.caption("Exact posteriors of the three models, available now; NUTS is still running to "
                   "check them (the LOO table follows when it is done).")
    table = components.computed(tables.forest, shown, context="comparing the estimates")
    if table is not None:
        show_figure(forest_plot, table, x_title=f"theta ({fit.data.kind.value} data, model scale), "
                    "90% interval", context="drawing the comparison", key="forest_chart",
                    figures=figures, export_as="Pooling modes compared")
    if fits is not None:
        st.subheader("Which model predicts left-out data best? (LOO)")
        loo = components.computed(tables.loo, fits, context="computing LOO")
        if loo is not None:
            best = str(loo.index[0])
            st.markdown(components.md_escape(
                f"Best expected predictive accuracy: {cmp.MODE_NAMES.get(best, best)}. "
                "elpd_loo is the estimated log score on a left-out point (higher is better); "
                "elpd_diff is how far each model falls behind the best, with dse its standard "
                "error: a difference smaller than about twice dse is not a clear win."))
            cols = [c for c in ("elpd_loo", "p_loo", "elpd_diff", "dse", "weight", "n_bad_pareto_k",
                                "max_pareto_k") if c in loo.columns]
            view = loo[cols].copy()
            view.index = [cmp.MODE_NAMES.get(str(m), str(m)) for m in view.index]
            st.dataframe(view.round(3))
            warned = [(m, w) for m, w in zip(loo.index, loo["warning"]) if w]
            if warned:
                st.warning(
                    "Some Pareto k values are high. LOO estimates each model's accuracy on a left-out "
                    "point by reweighting the draws of the full fit; when leaving one point out would "
                    "change the fit a lot (k above 0.7), that shortcut is unreliable and the numbers "
                    "above for that model are only rough.", icon=":material/warning:")
                for m, w in warned:
                    st.markdown(components.md_escape(f"{cmp.MODE_NAMES.get(str(m), m)}: {w}"))
            else:
                st.success("All Pareto k values are below 0.7: the LOO estimates are reliable.",
                           icon=":material/check_circle:")

# ------------------------------------------------------------------ other structures
structures = cmp.structure_specs(fit.spec)
if structures:
    names = list(structures)
    st.header("A simpler structure?")
    st.markdown(components.md_escape(
        f"Does the extra structure earn its keep? The button fits {' and '.join(names)} to the same "
        "rows (with this fit's sampler settings, in the background) and compares them by LOO: "
        "the expected log score on a left-out observation."))
    skey = cmp.structure_key(fit.data, fit.spec, fit.settings)
    srunning = cmp.STRUCT.running()
    if st.button("Compare structures", key="w_compare_structures", icon=":material/account_tree:",
                 disabled=srunning):
        cmp.start_structures(fit)
        st.rerun()
    cmp.structures_monitor()
    cmp.STRUCT.status_box(skey)
    sfits = cmp.structure_fits(skey)
    if sfits is None:
        if not srunning:
            st.caption("Press the button to see the structures' LOO comparison.")
    else:
        got = components.computed(tables.structure_loo, sfits, context="computing LOO")
        if got is not None:
            sloo, reason = got
            if reason:
                st.warning(components.md_escape("These fits cannot be compared by LOO: " + reason),
                           icon=":material/warning:")
            else:
                best = str(sloo.index[0])
                st.markdown(components.md_escape(
                    f"Best expected predictive accuracy: {best}. A difference in elpd smaller than "
                    "about twice its standard error (dse) is not a clear win; then the simpler "
                    "structure predicts as well."))
                cols = [c for c in ("elpd_loo", "p_loo", "elpd_diff", "dse", "weight", "n_bad_pareto_k",
                                    "max_pareto_k") if c in sloo.columns]
                st.dataframe(sloo[cols].round(3))
                for m, w in zip(sloo.index, sloo["warning"]):
                    if w:
                        st.warning(components.md_escape(f"{m}: {w}"), icon=":material/warning:")
        ftable = components.computed(tables.forest, sfits, context="comparing the estimates")
        if ftable is not None:
            show_figure(forest_plot, ftable, title="The structures compared, group by group",
                        x_title=f"{fit.data.levels[-1].column} effects (model scale), 90% interval", context="drawing the comparison", key="structure_forest_chart",
                        figures=figures, export_as="Structures compared")

# ---------------------------------------------------------------------- variance split
st.header("How much of the variation is between groups?")
var_fit = fit
if pooling == "none":
    partial = (fits or {}).get("partial")
    if partial is None:
        st.info("A no-pooling model has no spread of group effects (tau) to compare with the noise "
                "within groups. Press “Compare pooling modes” above (or fit partial pooling) to "
                "see the split.", icon=":material/info:")
        var_fit = None
    else:
        st.caption("The current fit has no pooling; this split uses the partial-pooling fit of the "
                   "comparison.")
        var_fit = partial
if var_fit is not None:
    vd = components.computed(tables.variance, var_fit, context="splitting the variance")
    if vd is not None:
        share = vd.loc["share_between"]
        name = var_fit.spec.family.share_name
        if var_fit.spec.pooling.value == "complete":
            sentence = ("Complete pooling assumes the groups are identical, so the between-group "
                        "share is 0 by construction; fit partial pooling to estimate it.")
        else:
            level = ("most" if share["mean"] > 0.6 else "a good part" if share["mean"] > 0.3
                     else "a small part" if share["mean"] > 0.05 else "very little")
            sentence = (f"The {name} is {share['mean']:.2f} (90% interval {share['low']:.2f} to "
                        f"{share['high']:.2f}): {level} of the variation is between groups. ")
            sentence += ("The higher it is, the more the groups really differ and the less each "
                         "group is pulled toward the overall mean.")
        c1, c2 = st.columns([1, 3])
        c1.metric(name[0].upper() + name[1:], f"{share['mean']:.2f}")
        c2.markdown(components.md_escape(sentence))
        levels = vd.attrs.get("levels") or ()
        if levels:
            cols = st.columns(len(levels) + 1)
            for col, lv in zip(cols, levels):
                row = vd.loc[f"share_{lv}"]
                col.metric(f"Share at the {lv} level", f"{row['mean']:.0%}",
                           help=f"90% interval {row['low']:.0%} to {row['high']:.0%}")
            row = vd.loc["share_within"]
            cols[-1].metric("Share within groups", f"{row['mean']:.0%}",
                            help=f"90% interval {row['low']:.0%} to {row['high']:.0%}")
            st.caption("Each share is computed per posterior draw (they add up to 100% in every draw); "
                       "the numbers are posterior means.")
        if var_fit.spec.row_term.slopes:
            st.caption("With varying slopes the groups' spread depends on the covariate; the split is "
                       "taken at its mean (see “What the parts are”).")
        with st.expander("What the parts are"):
            for comp, note in vd["note"].items():
                st.markdown(components.md_escape(f"{comp}: {note}"))
            st.dataframe(vd.drop(columns="note").round(4))
        spreads = vd.loc[[r for r in vd.index if not r.startswith("share_") or r == "share_between"]]
        show_figure(variance_plot, spreads, context="drawing the variance split", key="variance_chart",
                    figures=figures, export_as="Variance between and within groups")

# ---------------------------------------------------------------------------- new group
st.header("A new, unseen group")
new_fit = fit
if pooling == "none":
    st.info("No pooling cannot predict a new group. It treats every group as unrelated to the "
            "others, so it learns nothing about groups in general: there is no overall mean or "
            "spread to draw a new group from. Partial pooling can (a new group is drawn from the "
            "population of groups), and complete pooling assumes it equals the overall mean.",
            icon=":material/block:")
    new_fit = (fits or {}).get("partial")
    if new_fit is not None:
        st.caption("Below: the prediction of the partial-pooling fit of the comparison.")
if new_fit is not None:
    view = components.computed(tables.new_group_view_any, new_fit, context="predicting a new group")
    if view is not None:
        pred = view["table"]
        theta, ynew = pred.loc["theta_new"], pred.loc["y_new"]
        resp = pred.loc["response_new"]
        if new_fit.spec.family.response:
            first = (f"A new group's {view['x_title']} is likely between {resp['low']:.3g} and "
                     f"{resp['high']:.3g} (90%, mean {resp['mean']:.3g}); ")
        else:
            first = (f"A new group's effect is likely between {theta['low']:.3g} and "
                     f"{theta['high']:.3g} (90%, mean {theta['mean']:.3g}); ")
        st.markdown(components.md_escape(
            first + f"a new observation from it ({pred.loc['y_new', 'note']}) between "
            f"{ynew['low']:.3g} and {ynew['high']:.3g}. "
            + ("Under complete pooling the new group is just the overall mean, so the interval "
               "only reflects uncertainty about that mean."
               if new_fit.spec.pooling.value == "complete" else
               "The interval is wide because a new group may sit anywhere in the spread of groups "
               "(tau), on top of the uncertainty about the overall mean.")))
        show_figure(new_group_plot, view["rows"], observed=view["observed"], labels=view["labels"],
                    x_title=view["x_title"], context="drawing the prediction", key="new_group_chart",
                    figures=figures, export_as="A new group")
        if new_fit.spec.covariates:
            st.caption("The new group's effect and observation are at covariate values 0 (its "
                       "expected outcome at x = 0); varying slopes' new-group slopes are in the table.")
        with st.expander("Prediction table"):
            st.dataframe(pred)
    if len(new_fit.spec.terms) > 1 and new_fit.spec.pooling.value == "partial":
        st.subheader("A new group at each level")
        outer = new_fit.data.levels[-2]
        parent = st.selectbox(f"A new {new_fit.spec.row_term.factor} inside the {outer.column}",
                              outer.labels, key="w_new_group_parent")
        levels_table = components.computed(tables.new_group_levels, new_fit, outer.column, parent,
                                           context="predicting new groups at each level")
        if levels_table is not None:
            st.markdown(components.md_escape(
                f"A new {new_fit.spec.terms[0].factor} is drawn from the population of "
                f"{new_fit.spec.terms[0].factor}s (mu and {new_fit.spec.terms[0].scale}), then groups "
                f"inside it; a new {new_fit.spec.row_term.factor} in an existing {outer.column} is "
                f"centred on that {outer.column}'s estimate and spreads only by "
                f"{new_fit.spec.row_term.scale}, so it is known more precisely."))
            for i, (scenario, rows) in enumerate(levels_table.groupby("scenario", sort=False)):
                rows = rows.set_index("quantity")
                shown_rows = rows.loc[[q for q in rows.index if q != "response_new"
                                       or new_fit.spec.family.response]]
                show_figure(new_group_plot, shown_rows.drop(columns=["scenario", "level"]),
                            title=scenario[0].upper() + scenario[1:], x_title="model scale / outcome",
                            context="drawing the prediction", key=f"new_group_level_chart_{i}",
                            figures=figures, export_as=f"A {scenario}")
            with st.expander("Prediction table, every level"):
                st.dataframe(levels_table, hide_index=True)

# ------------------------------------------------------------- exceptional or lucky?
groups_panel.section(fit, figures)

# ----------------------------------------------------------------- calibration (SBC)
sbc_panel.section(fit, figures)

# ------------------------------------------------------------------------------- export
export_panel(fit, figures, key="export_checks")
