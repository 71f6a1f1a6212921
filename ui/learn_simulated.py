"""Lessons 5 and 6 (simulated students in schools): controls, figures and text. Numbers from
:mod:`hiermod.lessons.variance_share` and :mod:`hiermod.lessons.pseudoreplication`."""

from __future__ import annotations

import streamlit as st

from ui import components
from ui.learn_view import LessonView

REPLICATES = 200


@st.cache_resource(max_entries=64, show_spinner=False)
def _share(icc: float):
    from hiermod.lessons.variance_share import variance_share

    return variance_share(icc)


@st.cache_resource(max_entries=64, show_spinner=False)
def _analysis(icc: float, per_school: int):
    from hiermod.lessons.pseudoreplication import analyse

    return analyse(icc, per_school=per_school)


@st.cache_resource(max_entries=32, show_spinner=False)
def _coverage(icc: float, per_school: int, replicates: int):
    from hiermod.lessons.pseudoreplication import coverage

    return coverage(icc, per_school=per_school, replicates=replicates)


def variance(view: LessonView) -> None:
    """Lesson 5: variance decomposition on simulated data with a chosen ICC."""
    from hiermod.plots.lessons import variance_share_plot

    view.question("Test scores vary. How much of that is because schools differ, and how much because "
                  "students within a school differ?")
    icc = st.slider("True between-school share of the variance (ICC)", 0.0, 0.9, 0.3, 0.05, key=view.key("icc"),
                    help="30 schools of 20 students are simulated with this share; the model does not know it.")
    result = components.computed(_share, round(float(icc), 2), context="simulating and fitting")
    if result is None:
        return
    view.figure(variance_share_plot(result.scores, result.shares), "figure")
    view.notice(result.sentences() + [
        "At ICC 0 the school means still differ a little (noise); the model sees through it. At a high ICC "
        "two students of the same school are much alike."])
    view.check("The ICC is also the correlation between...",
               ["two students of the same school", "two schools", "a student's score and the school mean"], 0,
               "ICC = tau² / (tau² + sigma²) is the correlation of two students who share a school effect.")


def pseudoreplication(view: LessonView) -> None:
    """Lesson 6: students analysed as independent against the hierarchical model."""
    from hiermod.lessons.pseudoreplication import EFFECT
    from hiermod.lessons.common import INTERVAL
    from hiermod.plots.lessons import coverage_bars_plot, pseudo_intervals_plot

    view.question("Ten schools, half of them try a new method, 20 students each. Do we have 200 "
                  "observations of the method, or 10?")
    left, right = st.columns(2)
    icc = left.slider("Between-school share of the variance (ICC)", 0.0, 0.6, 0.2, 0.05, key=view.key("icc"))
    per_school = right.select_slider("Students per school", (2, 5, 10, 20, 50, 100), value=20, key=view.key("n"))
    icc = round(float(icc), 2)
    result = components.computed(_analysis, icc, int(per_school), context="simulating and fitting")
    if result is None:
        return
    view.figure(pseudo_intervals_plot(result.scores, result.intervals, EFFECT), "figure")
    sentences = result.sentences()
    if st.button(f"Simulate {REPLICATES} studies like this one (a few seconds)", key=view.key("run"),
                 icon=":material/replay:"):
        st.session_state[view.key("ran")] = (icc, int(per_school))
    if st.session_state.get(view.key("ran")) == (icc, int(per_school)):
        with st.spinner(f"Analysing {REPLICATES} simulated studies both ways ..."):
            cov = components.computed(_coverage, icc, int(per_school), REPLICATES, context="running the coverage study")
        if cov is not None:
            view.figure(coverage_bars_plot(cov.table, INTERVAL), "coverage")
            sentences += cov.sentences()
    else:
        st.caption("Press the button to repeat the study many times and count how often each interval holds "
                   "the true effect.")
    view.notice(sentences)
    view.check("Adding more students per school (same 10 schools) makes the naive interval...",
               ["more honest", "narrower and even more overconfident", "exactly right"], 1,
               "The design effect 1 + (n - 1) ICC grows with n: the naive interval shrinks as if every student "
               "were new evidence about the schools, but the treatment still varies across 10 schools only.")
