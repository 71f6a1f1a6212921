"""The Checks page's group section: "Exceptional or lucky?"

For the page's fit: the posterior of every group's rank (caterpillar plot, P(best), P(worst),
P(above the population mean); :mod:`hiermod.group_ranks`), how much each estimate borrows from
the others (pooling factors, Gelman & Pardoe's lambda, I^2 for summary data;
:mod:`hiermod.pooling_factor`) and each group predicted from the others
(:mod:`hiermod.leave_group_out`). Session keys: only the widgets' own (``w_groups_*``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui import components, tables
from ui.figures import show_figure

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.result import Fit

RANK_COLUMNS = ("group", "rank_median", "rank_low", "rank_high", "p_best", "p_worst", "p_above_mean")
LOGO_COLUMNS = ("group", "observed", "pred_mean", "pred_low", "pred_high", "outside", "pareto_k", "method")


def _level(fit: "Fit") -> int | None:
    """The grouping level to describe (a radio for nested fits; None: the innermost)."""
    columns = [level.column for level in fit.data.levels]
    if len(columns) < 2:
        return None
    chosen = st.radio("Groups of", columns, index=len(columns) - 1, horizontal=True, key="w_groups_level")
    return columns.index(chosen)


def section(fit: "Fit", figures: dict) -> None:
    """Ranks, pooling factors and leave-one-group-out of ``fit``."""
    from hiermod.plots.groups import group_rank_plot, leave_group_out_plot, pooling_factor_plot

    st.header("Exceptional or lucky?")
    if fit.spec.pooling.value == "complete":
        st.info("Complete pooling treats every group as the same, so there is nothing to rank. Fit "
                "partial pooling to ask which groups stand out.", icon=":material/info:")
        return
    st.markdown("A group with the highest raw estimate may be truly the best, or lucky with little "
                "data. The ranks below come from the posterior: in every draw the groups are "
                "ranked, so a rank's interval says how sure the model is.")
    level = _level(fit)
    higher = st.toggle("Higher is better", value=True, key="w_groups_higher",
                       help="Off: rank 1 is the group with the smallest effect.")
    ranks = components.computed(tables.group_ranks, fit, level, higher, context="ranking the groups")
    if ranks is not None:
        best = ranks.sort_values("p_best", ascending=False).iloc[0]
        st.markdown(components.md_escape(
            f"Most likely the best: {best['group']} (probability {best['p_best']:.2f}). "
            f"“Above the mean” compares each group with {ranks.attrs.get('compared_with', 'the population mean')}."))
        show_figure(group_rank_plot, ranks, context="drawing the ranks", key="group_rank_chart",
                    figures=figures, export_as="Group ranks")
        with st.expander("Rank table"):
            st.dataframe(ranks[[c for c in RANK_COLUMNS if c in ranks.columns]].round(3), hide_index=True)

    st.subheader("How much does each group borrow from the others?")
    got = components.computed(tables.pooling_factors, fit, level, context="computing the pooling factors")
    if got is not None:
        per_group, overall = got
        lam = overall.loc["pooling_factor", "estimate"]
        if lam == lam:
            st.markdown(components.md_escape(
                f"Overall pooling factor {lam:.2f} (Gelman & Pardoe): 0 means every group stands on its "
                "own data, 1 means every group is pulled all the way to the population mean. "
                f"Per group: {per_group.attrs.get('basis', '')}"))
        if "i2" in overall.index:
            i2 = overall.loc["i2"]
            st.markdown(components.md_escape(
                f"I² = {i2['estimate']:.2f} (90% interval {i2['low']:.2f} to {i2['high']:.2f}): the share "
                "of the spread of the estimates that is real between-group variation rather than "
                f"sampling error. The classical DerSimonian-Laird I² is {overall.loc['i2_dl', 'estimate']:.2f}."))
        show_figure(pooling_factor_plot, per_group, context="drawing the pooling factors",
                    key="pooling_factor_chart", figures=figures, export_as="Pooling factors")
        with st.expander("Pooling table"):
            st.dataframe(overall.round(4))
            st.dataframe(per_group.round(3), hide_index=True)

    st.subheader("Each group predicted from the others")
    if fit.spec.pooling.value == "none":
        st.info("No pooling cannot predict a group from the others: its groups share nothing. Fit "
                "partial pooling for this check.", icon=":material/info:")
        return
    st.markdown("Leave one group out, fit the rest, and predict the left-out group's data: an observed "
                "value outside its 95% predictive interval is a group the others do not explain.")
    if not st.toggle("Run the check", value=not fit.spec.slopes, key="w_groups_logo",
                     help="One refit per group (instant where the instant method serves the model, "
                          "else importance sampling of this fit's draws); with varying slopes the "
                          "refits take seconds."):
        return
    logo = components.computed(tables.leave_group_out, fit, context="predicting each group from the others")
    if logo is not None:
        st.markdown(components.md_escape(logo.attrs.get("verdict", "")))
        show_figure(leave_group_out_plot, logo, context="drawing the leave-one-group-out check",
                    key="logo_chart", figures=figures, export_as="Each group predicted from the others")
        with st.expander("Leave-one-group-out table"):
            st.dataframe(logo[[c for c in LOGO_COLUMNS if c in logo.columns]].round(3), hide_index=True)
