"""Lessons 1, 3 and 4 (eight schools, live): their controls, figures and text. The numbers come from
:mod:`hiermod.lessons.schools`, cached per control position (shared by all sessions)."""

from __future__ import annotations

import streamlit as st

from ui import components
from ui.learn_view import LessonView

SCHOOLS = ("A", "B", "C", "D", "E", "F", "G", "H")


@st.cache_resource(max_entries=64, show_spinner=False)
def _sides(se_scale: float):
    from hiermod.lessons.schools import pooling_sides

    return pooling_sides(se_scale)


@st.cache_resource(max_entries=128, show_spinner=False)
def _borrowing(group: str, y: float):
    from hiermod.lessons.schools import borrowing

    return borrowing(group, y)


@st.cache_resource(max_entries=128, show_spinner=False)
def _precision(group: str, se: float):
    from hiermod.lessons.schools import shrinkage_precision

    return shrinkage_precision(group, se)


def pooling(view: LessonView) -> None:
    """Lesson 1: no, complete and partial pooling side by side."""
    from hiermod.plots import forest_plot

    view.question("Eight schools tried SAT coaching. Should we believe each school's own result, the "
                  "average of all eight, or something in between?")
    scale = st.slider("Standard errors x (smaller = bigger studies)", 0.2, 3.0, 1.0, 0.1, key=view.key("se_scale"),
                      help="Multiply every school's standard error: 0.5 is a study with four times the students.")
    sides = components.computed(_sides, float(scale), context="computing the three poolings")
    if sides is None:
        return
    view.figure(forest_plot(sides.forest, title="No, complete and partial pooling, school by school",
                            x_title="coaching effect (SAT points), 90% interval"), "figure")
    view.notice(sides.sentences() + [
        "Move the slider left: with precise schools partial pooling follows each school's own number; "
        "right: with noisy schools it follows the average."])
    view.check("If every school had measured its effect four times as precisely, partial pooling would "
               "move toward...", ["no pooling (each school's own number)", "complete pooling (the average)",
                                  "neither: it does not depend on the standard errors"], 0,
               "Precise schools carry more information than the population's opinion, so each keeps more of "
               "its own estimate (try 0.2 on the slider).")


def borrowing(view: LessonView) -> None:
    """Lesson 3: edit one school's result, every school moves."""
    from hiermod.plots.lessons import borrowing_plot

    view.question("If only school A's result changes, should our estimate for school E change?")
    left, right = st.columns([1, 3])
    group = left.selectbox("School to edit", SCHOOLS, key=view.key("group"))
    y = right.slider(f"School {group}'s estimated effect (SAT points)", -40.0, 80.0, 28.0 if group == "A" else 0.0,
                     1.0, key=view.key(f"y_{group}"))
    result = components.computed(_borrowing, group, float(y), context="recomputing the posterior")
    if result is None:
        return
    view.figure(borrowing_plot(result.table, group, result.mu_before, result.mu_after), "figure")
    view.notice(result.sentences() + [
        "Information flows both ways: every school informs mu and tau, and mu and tau inform every school."])
    view.check("Why do the other schools move when only one school's data changed?",
               ["their own data changed too", "they share the population (mu, tau) learned from all schools",
                "the posterior is random and was drawn again"], 1,
               "The edit moves the estimates of mu and tau, and every school is shrunk toward that population.")


def precision(view: LessonView) -> None:
    """Lesson 4: a more precise school is shrunk less."""
    from hiermod.plots.lessons import precision_plot

    view.question("Which schools should be pulled hardest toward the average?")
    left, right = st.columns([1, 3])
    group = left.selectbox("School", SCHOOLS, key=view.key("group"))
    se = right.slider(f"School {group}'s standard error", 1.0, 40.0, 15.0 if group == "A" else 10.0, 0.5,
                      key=view.key(f"se_{group}"))
    result = components.computed(_precision, group, float(se), context="recomputing the shrinkage")
    if result is None:
        return
    view.figure(precision_plot(result.table, result.curve, group), "figure")
    view.notice(result.sentences() + ["Slide the standard error down: the school climbs the curve toward "
                                      "B = 0 and keeps its own estimate."])
    view.check("A school reports a huge effect with a huge standard error. Its partial-pooling estimate is...",
               ["close to its own huge effect", "close to the average of all schools", "exactly halfway"], 1,
               "With a large standard error B = se² / (se² + tau²) is near 1: little information, much shrinkage.")
