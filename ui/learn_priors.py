"""Lessons 7 and 8 (what we assume about the population): empirical against full Bayes, and priors as
knowledge. Numbers from :mod:`hiermod.lessons.plug_in` and :mod:`hiermod.lessons.prior_knowledge`."""

from __future__ import annotations

import streamlit as st

from ui import components
from ui.learn_view import LessonView

REPLICATES = 200
DESIGNS = (8, 32)


@st.cache_resource(max_entries=64, show_spinner=False)
def _plug(tau: float):
    from hiermod.lessons.plug_in import plug_in_view

    return plug_in_view(tau)


@st.cache_resource(max_entries=8, show_spinner=False)
def _coverage(schools: int, replicates: int):
    from hiermod.lessons.plug_in import coverage

    return coverage(schools, replicates)


@st.cache_resource(max_entries=16, show_spinner=False)
def _priors(schools: int):
    from hiermod.lessons.prior_knowledge import prior_knowledge

    return prior_knowledge(schools)


def plug_in(view: LessonView) -> None:
    """Lesson 7: empirical Bayes (tau plugged in) against full Bayes."""
    from hiermod.plots import forest_plot
    from hiermod.plots.lessons import coverage_bars_plot
    from hiermod.plots.live import hyper_density_plot

    view.question("We do not know how much the schools differ (tau). Is it enough to estimate tau once and "
                  "plug it in?")
    tau = st.slider("tau plugged in (empirical Bayes)", 0.5, 25.0, 2.0, 0.5, key=view.key("tau"))
    result = components.computed(_plug, float(tau), context="computing both posteriors")
    if result is None:
        return
    view.figure(forest_plot(result.forest, title="Full Bayes against empirical Bayes, school by school",
                            models=["full Bayes", "empirical Bayes"], x_title="effect (SAT points), 90% interval"),
                "figure")
    view.figure(hyper_density_plot(result.density, None, "tau", posterior_label="full Bayes: tau's posterior",
                                   mark=result.tau, title="tau's posterior, and the value plugged in"), "tau")
    sentences = result.sentences()
    left, right = st.columns([1, 2])
    schools = left.selectbox("Coverage study design", DESIGNS, key=view.key("design"),
                             format_func=lambda j: f"{j} schools (eight schools' standard errors)")
    if right.button(f"Simulate {REPLICATES} data sets and count coverage (a few seconds)", key=view.key("run"),
                    icon=":material/replay:"):
        st.session_state[view.key("ran")] = int(schools)
    if st.session_state.get(view.key("ran")) == int(schools):
        with st.spinner(f"Fitting {REPLICATES} simulated data sets both ways ..."):
            cov = components.computed(_coverage, int(schools), REPLICATES, context="running the coverage study")
        if cov is not None:
            view.figure(coverage_bars_plot(cov.table, cov.prob, title=f"Coverage with {schools} schools"), "coverage")
            sentences.append(cov.summary())
    view.notice(sentences + ["Full Bayes's intervals are wider because they admit that tau is uncertain; with "
                             "few groups that uncertainty is large."])
    view.check("Empirical Bayes intervals are too narrow mainly because...",
               ["they ignore the uncertainty about tau", "they use the wrong data", "they shrink too little"], 0,
               "Plugging in one tau treats it as known; full Bayes averages the answer over every plausible tau.")


def priors(view: LessonView) -> None:
    """Lesson 8: weakly informative, skeptical and bounded priors on sparse data."""
    from hiermod.plots import forest_plot
    from hiermod.plots.lessons import prior_posterior_plot

    view.question("With only a few schools, what does the prior decide, and what do the data decide?")
    schools = st.slider("Schools used (the first J of the eight)", 2, 8, 3, 1, key=view.key("schools"))
    result = components.computed(_priors, int(schools), context="computing the posteriors under three priors")
    if result is None:
        return
    st.dataframe(result.summary[["prior", "text"]].rename(columns={"text": "priors"}), hide_index=True)
    view.figure(forest_plot(result.forest, title="mu and each school under three priors",
                            models=list(result.summary["prior"]), x_title="effect (SAT points), 90% interval"),
                "figure")
    view.figure(prior_posterior_plot(result.density), "tau")
    view.notice(result.sentences() + ["Add schools: the three answers come together as the data outweigh the "
                                      "priors (except where the bounded prior forbids a value outright)."])
    view.check("A bound such as 'coaching cannot lower scores' (mu >= 0) is...",
               ["knowledge put into the model, which no data can overrule", "estimated from the data",
                "the same as a skeptical prior"], 0,
               "A bounded prior gives zero probability outside the bounds: the posterior can never go there.")
