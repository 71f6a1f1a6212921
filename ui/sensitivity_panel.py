"""The Prior sensitivity page's sections: the prior set (instant), power-scaling of the current fit,
empirical Bayes against full Bayes with a coverage study.

Math lives in :mod:`hiermod.sensitivity`, :mod:`hiermod.power_scaling` and
:mod:`hiermod.empirical_bayes`; this module caches their results and draws them. The coverage
study's results are kept in session state under ``hm_sens_coverage`` ({cache text: CoverageResult}).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui import components, state
from ui.figures import show_figure
from ui.tables import by_fit, key_text

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.data import GroupedData
    from hiermod.result import Fit
    from hiermod.spec import ModelSpec

COVERAGE = "hm_sens_coverage"
COVERAGE_DEFAULT, COVERAGE_MIN, COVERAGE_MAX = 200, 20, 2000


def _text(data: "GroupedData", spec: "ModelSpec", *more) -> str:
    return key_text((data.fingerprint, spec) + more)


def _fmt(columns, skip=("group", "prior", "priors", "parameter", "diagnosis", "method", "shift_group")):
    return {c: st.column_config.NumberColumn(c, format="%.3g") for c in columns if c not in skip}


# -------------------------------------------------------------------------------- caches


@st.cache_resource(max_entries=16, show_spinner=False)
def _prior_set(text: str, _data, _spec):
    from hiermod.sensitivity import prior_set_posteriors

    return prior_set_posteriors(_data, _spec)


@st.cache_resource(max_entries=16, show_spinner=False)
def _eb(text: str, choice: str, _data, _spec):
    from hiermod.empirical_bayes import compare

    return compare(_data, _spec, choice)


@st.cache_resource(max_entries=8, show_spinner=False)
def _instant_fit(text: str, _data, _spec) -> "Fit":
    from hiermod.fitting import fit

    return fit(_data, _spec, method="instant")


@by_fit(resource=True)
def _power_scaling(fit: "Fit"):
    from hiermod.power_scaling import power_scaling

    return power_scaling(fit)


def instant_reason(data: "GroupedData", spec: "ModelSpec") -> str | None:
    """Why the instant method cannot serve the model (None when it can)."""
    from hiermod.instant import unavailable_reason

    return unavailable_reason(data, spec)


# ------------------------------------------------------------------------------- sections


def prior_set_section(data: "GroupedData", spec: "ModelSpec", reason: str | None, figures: dict) -> None:
    """The posterior under a set of priors on the group-level scales, overlaid."""
    from hiermod.plots.sensitivity import prior_set_density_plot, prior_set_intervals_plot
    from hiermod.sensitivity import PRIOR_SET_SCALES

    st.header("The same model under other priors")
    scales = ", ".join(f"{c:g}" for c in PRIOR_SET_SCALES)
    st.markdown(
        "The priors a careful analyst would also try on the group-level sd (tau): Half-Normal at "
        f"{scales} times the data's scale s, a heavy-tailed Half-Cauchy(s), and yours. Each posterior is "
        "computed at once with the instant method from your data and model (no Fit needed). If the "
        "curves and intervals agree, the conclusions do not hinge on the prior.")
    if reason is not None:
        st.info(f"The instant method cannot serve this model, so the prior set is not available: "
                f"{reason} The power-scaling check below works on your NUTS fit.", icon=":material/info:")
        return
    if not spec.row_term.partial:
        st.info(f"This model uses {spec.pooling.value} pooling, so it has no group-level sd (tau) for "
                "the prior set to vary. Choose 'Partial pooling' on the Model page; the power-scaling "
                "check below works for every model.", icon=":material/info:")
        return
    with st.spinner("Computing the posterior under each prior..."):
        result = components.computed(_prior_set, _text(data, spec), data, spec,
                                     context="computing the posterior under each prior")
    if result is None:
        return
    st.markdown(components.md_escape(result.verdict()))
    show_figure(prior_set_density_plot, result.density, context="drawing the densities under each prior",
                key="sens_density_plot", figures=figures, export_as="Hyperparameters under each prior",
                stretch=True)
    show_figure(prior_set_intervals_plot, result.groups, x_title=result.quantity,
                context="drawing the group intervals under each prior", key="sens_groups_plot",
                figures=figures, export_as="Group intervals under each prior", stretch=True)
    st.caption("s is the scale of the data-scaled default prior on each sd (the outcome's scale for "
               "tau). largest_shift: the largest move of a group's posterior mean away from its value "
               "under your prior, in posterior sds.")
    st.dataframe(result.summary.drop(columns=["current"]), hide_index=True, width="stretch",
                 column_config=_fmt(result.summary.columns) | {
                     "largest_shift": st.column_config.NumberColumn("largest_shift (sds)", format="%.2f")})
    with st.expander("Tables: every hyperparameter and group under every prior"):
        st.dataframe(result.hyper, hide_index=True, width="stretch", column_config=_fmt(result.hyper.columns))
        st.dataframe(result.groups, hide_index=True, width="stretch", column_config=_fmt(result.groups.columns))


def _fit_for_power_scaling(data, spec, reason: str | None) -> tuple["Fit | None", str]:
    """(the fit to check, a caption saying which): the current fit when it matches the model now
    chosen, else the instant posterior of the current model, else the last fit."""
    fit = state.current_fit()
    if fit is not None and state.fit_is_current():
        return fit, f"Your current fit ({components.method_text(fit)})."
    if reason is None:
        instant = components.computed(_instant_fit, _text(data, spec), data, spec,
                                      context="computing the instant posterior")
        if instant is not None:
            return instant, ("No fit of the model now chosen yet: shown for its instant posterior "
                             "(4,000 independent draws).")
    if fit is not None:
        return fit, ("Your last fit, made with other data, model or settings than those now chosen: "
                     "press Fit to update it.")
    return None, ""


def power_scaling_section(data: "GroupedData", spec: "ModelSpec", reason: str | None, figures: dict) -> None:
    """Prior and likelihood power-scaling sensitivity of the fit, with the verdict."""
    from hiermod.plots.sensitivity import power_scaling_plot
    from hiermod.power_scaling import LIKELIHOOD_THRESHOLD, PRIOR_THRESHOLD

    st.header("Power-scaling: does the posterior depend on the prior?")
    st.markdown(
        "Raise the prior (or the likelihood) to a power a little above and below 1 and see how much "
        "each parameter's posterior moves (Kallioinen et al. 2023, computed from the fit's own draws by "
        "importance weighting, no refit). The prior here is the one you set on the top-level parameters "
        f"(mu, tau, ...). Prior sensitivity >= {PRIOR_THRESHOLD:g}: the posterior depends on the prior; "
        f"if the likelihood sensitivity is also >= {LIKELIHOOD_THRESHOLD:g}, prior and data pull "
        "against each other (prior-data conflict).")
    fit, caption = _fit_for_power_scaling(data, spec, reason)
    if fit is None:
        st.info("There is no fit to check yet: press Fit (any method).", icon=":material/info:")
        st.page_link("pages/3_Fit.py", label="Fit", icon=":material/play_circle:")
        return
    st.caption(components.md_escape(caption))
    with st.spinner("Power-scaling the prior and the likelihood..."):
        ps = components.computed(_power_scaling, fit, context="computing power-scaling sensitivity")
    if ps is None:
        return
    for level, text in ps.verdicts():
        {"ok": st.success, "warning": st.warning}.get(level, st.error)(components.md_escape(text))
    left, right = st.columns(2)
    with left:
        show_figure(power_scaling_plot, ps.table, prior_threshold=PRIOR_THRESHOLD,
                    likelihood_threshold=LIKELIHOOD_THRESHOLD, context="drawing power-scaling sensitivity",
                    key="sens_power_plot", figures=figures, export_as="Power-scaling sensitivity", stretch=True)
    with right:
        st.dataframe(ps.table, hide_index=True, width="stretch", column_config=_fmt(ps.table.columns))
    if len(ps.by_prior.columns) > 2:
        with st.expander("Which prior drives it: prior sensitivity with one prior power-scaled at a time"):
            st.dataframe(ps.by_prior, hide_index=True, width="stretch", column_config=_fmt(ps.by_prior.columns))


def empirical_bayes_section(data: "GroupedData", spec: "ModelSpec", reason: str | None, figures: dict) -> None:
    """EB (tau plugged in) against FB, the understatement of the interval widths, the coverage study."""
    from hiermod.empirical_bayes import CHOICES
    from hiermod.plots.sensitivity import eb_fb_plot

    st.header("Empirical Bayes against full Bayes")
    st.markdown(
        "Empirical Bayes (EB) estimates tau once and then treats it as known; full Bayes (FB) averages "
        "over everything tau could be. Same model, same data: only the uncertainty about tau differs.")
    if reason is not None:
        st.info(f"The instant method cannot serve this model, so the comparison is not available: {reason}",
                icon=":material/info:")
        return
    if not spec.row_term.partial:
        st.info("Empirical Bayes plugs in an estimate of tau, which only partial pooling has: choose "
                "'Partial pooling' on the Model page.", icon=":material/info:")
        return
    choice = st.radio("Plug-in value of tau", list(CHOICES), format_func=CHOICES.get, key="w_sens_eb_choice",
                      horizontal=True, help="The marginal posterior mode uses your prior on tau; the "
                      "marginal-likelihood maximum (type-II ML) is the classical EB estimate (a flat prior).")
    result = components.computed(_eb, _text(data, spec), choice, data, spec,
                                 context="comparing empirical and full Bayes")
    if result is None:
        return
    if result.plug.boundary:
        st.info("The maximum is at tau = 0, the boundary. With tau = 0 empirical Bayes *is* complete "
                "pooling: every group gets the same estimate and the interval of mu alone. (tau = 0 "
                "has no logarithm, so it is computed at a tau a million times smaller than the data's "
                "scale, where every group's weight on its own data is about 1e-12.)",
                icon=":material/vertical_align_bottom:")
    st.markdown(components.md_escape(result.summary()))
    show_figure(eb_fb_plot, result.table, x_title=result.quantity, eb_label="empirical Bayes",
                context="drawing empirical against full Bayes", key="sens_eb_plot", figures=figures,
                export_as="Empirical against full Bayes", stretch=True)
    st.caption(components.md_escape(
        "fb_*: full Bayes, eb_*: empirical Bayes (means and 90% intervals); width_ratio: the EB interval's "
        "width over the FB one's (below 1: EB is too sure)."))
    st.dataframe(result.table, hide_index=True, width="stretch", column_config=_fmt(result.table.columns) | {
        "width_ratio": st.column_config.NumberColumn("width_ratio", format="%.2f")})
    coverage_section(data, spec, choice, figures)


def coverage_section(data: "GroupedData", spec: "ModelSpec", choice: str, figures: dict) -> None:
    """A small coverage study on simulated data with known truth, run on request."""
    from hiermod.plots.sensitivity import coverage_plot

    st.subheader("Do the intervals hold the truth? A coverage study")
    st.markdown(
        "Simulate data sets with your data's design (the same groups and standard errors / trials / "
        "exposures) from your model and priors, so the true group values are known; fit each by full "
        "and by empirical Bayes, and count how often each method's 90% intervals hold the truth. Full "
        "Bayes should hold it 90% of the time; empirical Bayes, too sure about tau, less often.")
    replicates = st.number_input("Simulated data sets", COVERAGE_MIN, COVERAGE_MAX, COVERAGE_DEFAULT, step=20,
                                 key="w_sens_replicates")
    store = st.session_state.setdefault(COVERAGE, {})
    text = _text(data, spec, choice, int(replicates))
    if st.button("Run the coverage study", key="w_sens_coverage", icon=":material/science:"):
        from hiermod.empirical_bayes import coverage_study

        bar = st.progress(0.0, text="Simulating and fitting...")

        def progress(done, total):
            bar.progress(done / total, text=f"{done} of {total} data sets")

        result, err = components.guarded(coverage_study, data, spec, int(replicates), choice,
                                         progress=progress, context="running the coverage study")
        bar.empty()
        if err is not None:
            components.show_error(err, "running the coverage study")
        else:
            store[text] = result
    result = store.get(text)
    if result is None:
        return
    st.markdown(components.md_escape(result.summary()))
    left, right = st.columns([2, 3])
    with left:
        show_figure(coverage_plot, result.table, context="drawing the coverage", key="sens_coverage_plot",
                    figures=figures, export_as="Coverage study", stretch=True)
    with right:
        st.dataframe(result.table, hide_index=True, width="stretch", column_config={
            "coverage": st.column_config.NumberColumn("coverage", format="percent"),
            "mc_se": st.column_config.NumberColumn("MC se", format="percent"),
            "mean_width": st.column_config.NumberColumn("mean width", format="%.3g"),
            "nominal": st.column_config.NumberColumn("nominal", format="percent")})
        st.caption("MC se: the Monte Carlo standard error of the coverage (the spread of each data "
                   "set's coverage over the data sets, divided by the square root of their number).")
