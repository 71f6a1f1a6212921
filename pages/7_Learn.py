"""Learn: guided stories for class use. Each loads a sample data set, sets a quick model, fits it
in the background and explains the key picture in plain words."""

from __future__ import annotations

import streamlit as st

from hiermod.datasets import dataset_info
from ui import comparison as cmp
from ui import components, state, tables
from ui.figures import show_figure

ss = st.session_state

st.title("Learn")
st.markdown("Three short stories about partial pooling, for class use. Each button loads a sample "
            "data set, sets a partial-pooling model with quick sampler settings "
            f"({cmp.LEARN_SETTINGS['chains']} chains, {cmp.LEARN_SETTINGS['warmup']} warmup and "
            f"{cmp.LEARN_SETTINGS['draws']} draws each) and fits it in the background; the picture "
            "appears when the fit is done. The data and model then stay loaded for the other pages.")

names = list(cmp.STORIES)
state.widget_default("w_learn_story", ss.get(cmp.LEARN_STORY) or names[0])
story = st.radio("Story", names, key="w_learn_story", horizontal=True,
                 format_func=lambda n: cmp.STORIES[n].title)
ss[cmp.LEARN_STORY] = story
info = dataset_info(story)
running = components.FIT.job is not None


def story_header(name: str, intro: str) -> None:
    st.header(cmp.STORIES[name].title)
    st.markdown(intro)
    with st.expander("About the data"):
        st.markdown(components.md_escape(info.description))
        st.caption(components.md_escape(f"Source: {info.source}"))
    if st.button(cmp.STORIES[name].button, type="primary", icon=":material/play_arrow:",
                 key=f"w_story_{name}", disabled=running):
        _, err = components.guarded(cmp.start_story, name, context="starting the story")
        if err is not None:
            components.show_error(err, "starting the story")
        else:
            st.rerun()
    components.job_monitor(detailed=True, interval=0.5)
    components.FIT.status_box(cmp.story_key(name))


def weight_panel(fit, name: str) -> None:
    """The pooling weight explained with this fit's numbers for one group."""
    st.markdown("**How much does a group keep of its own data?**")
    st.markdown("Each group's estimate is roughly a weighted average of its own data and the pooled "
                "estimate. The weight on its own data is w = precision / (precision + 1/tau²), where "
                "precision = 1/se² measures how much the group's own data tell us and 1/tau² how "
                "alike the groups are.")
    first = components.computed(tables.weight_example, fit, None, context="explaining the weight")
    if first is None:
        return
    labels = list(fit.labels)
    group = st.selectbox("Example group", labels, index=labels.index(first["group"]),
                         key=f"w_weight_group_{name}")
    example = components.computed(tables.weight_example, fit, group, context="explaining the weight")
    if example is None:
        return
    st.metric("Weight on its own data", f"{example['weight']:.2f}",
              help="1 = keeps its own estimate; 0 = takes the pooled estimate.")
    for sentence in example["sentences"]:
        st.markdown(components.md_escape(sentence))


def waiting_note(name: str) -> None:
    if cmp.story_running(name):
        st.caption("The fit is running; the pictures appear here when it is done.")
    elif not cmp.story_loaded(name):
        st.caption("Press the button to start.")


from hiermod import plots  # noqa: E402 - after the page has started drawing

# ---------------------------------------------------------------------------- eight schools
if story == "eight_schools":
    story_header("eight_schools", (
        "Eight schools each measured the effect of SAT coaching, with large standard errors. "
        "**No pooling** believes each school's own number; **complete pooling** says all schools "
        "share one effect; **partial pooling** estimates how much schools really differ (tau) and "
        "pulls each school toward the average by the right amount."))
    fit = cmp.story_fit("eight_schools")
    if fit is None and not cmp.story_loaded("eight_schools"):
        waiting_note("eight_schools")
    else:
        exact = components.computed(cmp.exact_modes, "eight_schools", context="computing the exact posterior")
        if exact is not None:
            st.subheader("The exact posterior, at once")
            st.markdown("For this model (normal data with known standard errors) the posterior can be "
                        "computed exactly in a fraction of a second, so these pictures appear before "
                        "the sampler has even started. NUTS then runs to check it.")
            forest = components.computed(tables.forest, exact, context="comparing the estimates")
            if forest is not None:
                show_figure(plots.forest_plot, forest, key="learn_forest", context="drawing the comparison",
                            x_title="coaching effect (SAT points), 90% interval")
            st.markdown("No pooling (orange) gives wide intervals, and school A's 28 points look "
                        "impressive; complete pooling (black) gives every school the same narrow "
                        "answer; partial pooling (blue) sits in between, close to the common average "
                        "because the data cannot tell the schools apart.")
            partial = fit or exact["partial"]
            left, right = st.columns([3, 2])
            with left:
                shrink = components.computed(tables.shrinkage, partial, context="measuring shrinkage")
                if shrink is not None:
                    show_figure(plots.shrinkage_plot, shrink, key="learn_shrinkage",
                                context="drawing the shrinkage", x_title="coaching effect (SAT points)")
                curves, err = components.guarded(tables.exact_continuum, exact["partial"],
                                                 context="tracing the pooling continuum")
                if err is None:
                    show_figure(plots.continuum_plot, *curves, key="learn_continuum",
                                context="drawing the pooling continuum")
                    st.caption("Each line is a school's estimate for a given tau: at tau = 0 all "
                               "schools are pooled, for large tau each keeps its own number. The "
                               "shaded curve is how plausible each tau is given the data.")
            with right:
                weight_panel(partial, "eight_schools")
            st.subheader("Why the funnel matters")
            st.markdown("When tau is small the school effects must all sit close to mu, and when it "
                        "is large they can spread out: plotted against log tau, the posterior looks "
                        "like a funnel. The sampler has to use tiny steps in the narrow neck and big "
                        "ones in the wide mouth, so in the *centered* form it often fails there "
                        "(divergences) and misses the small-tau region. The *non-centered* form used "
                        "here samples standardised effects instead, which removes the funnel.")
            page = cmp.funnel_page()
            if page is not None:
                st.page_link(page.path, label=f"See the funnel: {page.title}", icon=page.icon)
            if fit is not None:
                check, err = components.guarded(cmp.exact_check, fit, exact["partial"],
                                                context="checking NUTS against the exact posterior")
                if err is None:
                    st.markdown(components.md_escape(
                        f"NUTS check: posterior mean of tau {check['tau_nuts']:.2f} by NUTS against "
                        f"{check['tau_exact']:.2f} exactly, with {check['divergences']} divergent "
                        "transitions."))
            else:
                waiting_note("eight_schools")

# ------------------------------------------------------------------------------ Efron-Morris
elif story == "efron_morris":
    story_header("efron_morris", (
        "In 1970 eighteen baseball players had 45 times at bat each early in the season. Is a "
        "player's own early average the best forecast of the rest of his season, or should it be "
        "pulled toward the average of all players? Because the rest of the season is known, we "
        "can check."))
    fit = cmp.story_fit("efron_morris")
    if fit is None:
        waiting_note("efron_morris")
    else:
        result = components.computed(tables.holdout, fit, context="comparing with the rest of the season")
        if result is not None:
            table, errors = result
            left, right = st.columns([3, 2])
            with left:
                show_figure(plots.holdout_plot, table, key="learn_holdout",
                            context="drawing the rest-of-season comparison")
                st.caption("Per player: the first-45 average (orange), the shrunk partial-pooling "
                           "estimate (blue diamond with its 90% interval) and the average over the "
                           "rest of the season (green star). The dashed line is everyone's average.")
            with right:
                st.markdown("**Squared error against the rest of the season**")
                view = errors[["label", "total_squared_error", "relative_to_no_pooling",
                               "groups_closer_than_own"]].rename(columns={
                                   "label": "forecast", "total_squared_error": "total squared error",
                                   "relative_to_no_pooling": "relative to no pooling",
                                   "groups_closer_than_own": "players closer than own average"})
                st.table(view.round(4).set_index("forecast"))
                conclusion = components.md_escape(errors.attrs["conclusion"])
                if errors.attrs.get("best") == "no_pooling":
                    st.info(conclusion)
                else:
                    st.success(conclusion)
                st.caption("Early averages are noisy: the high ones are partly luck and come down, "
                           "the low ones go up. Shrinking toward the group average removes much "
                           "of that luck.")
                weight_panel(fit, "efron_morris")
                st.caption("For yes/no data the weight is computed on the log-odds (logit) scale, "
                           "where the binomial model is approximately normal.")

# ------------------------------------------------------------------------ simulated schools
else:
    story_header("simulated_schools", (
        "Made-up test scores for 30 schools of very different sizes, simulated from a model whose "
        "true school means we know. How close does each method get, and do the 90% intervals "
        "contain the truth about 90% of the time?"))
    fit = cmp.story_fit("simulated_schools")
    if fit is None:
        waiting_note("simulated_schools")
    else:
        result = components.computed(tables.truth, fit, context="comparing with the truth")
        if result is not None:
            table, summary, forest = result
            c1, c2 = st.columns([1, 3])
            c1.metric("True means inside their 90% interval",
                      f"{summary['n_inside']} of {summary['n_groups']}")
            c2.markdown(components.md_escape(summary["message"]))
            left, right = st.columns([3, 2])
            with left:
                show_figure(plots.forest_plot, forest, key="learn_truth", context="drawing the truth",
                            models=["truth", "none", "partial"], x_title="school mean score",
                            title="Estimates against the true school means")
                st.caption("Per school: the true mean, the school's own average (orange: no "
                           "pooling) and the partial-pooling estimate with its 90% interval (blue). "
                           "Small schools' own averages stray furthest; partial pooling pulls them "
                           "back toward the truth.")
            with right:
                weight_panel(fit, "simulated_schools")
            with st.expander("Table: truth, own average and estimate per school"):
                st.dataframe(table, hide_index=True)
