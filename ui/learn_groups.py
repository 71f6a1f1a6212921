"""Lessons 9 and 11 (groups and levels): rank posteriors and shrinkage at each level. Numbers from
:mod:`hiermod.lessons.ranks` and :mod:`hiermod.lessons.nested`."""

from __future__ import annotations

import streamlit as st

from ui import components
from ui.learn_view import LessonView

FACTORS = (0.25, 0.5, 1, 2, 4, 8, 16)
PER_CLASS = (2, 3, 5, 10, 20, 30)


@st.cache_resource(max_entries=16, show_spinner=False)
def _ranks(factor: float):
    from hiermod.lessons.ranks import ranks

    return ranks(factor)


@st.cache_resource(max_entries=16, show_spinner=False)
def _levels(per_class: int):
    from hiermod.lessons.nested import levels

    return levels(per_class)


def ranks(view: LessonView) -> None:
    """Lesson 9: exceptional or lucky? Rank posteriors."""
    from hiermod.plots.lessons import rank_caterpillar_plot

    view.question("Twelve hospitals, their deaths after cardiac surgery on babies. Which hospital is the best, "
                  "and how sure can we be?")
    factor = st.select_slider("Patients per hospital x (same mortality rates)", FACTORS, value=1, key=view.key("factor"))
    result = components.computed(_ranks, float(factor), context="computing the ranks")
    if result is None:
        return
    view.figure(rank_caterpillar_plot(result.table), "figure")
    view.notice(result.sentences() + ["A league table of raw rates ranks luck as much as quality; the rank "
                                      "posterior says how much of the order is real."])
    view.check("A hospital had 0 deaths in 47 operations, the lowest raw rate. Is it the best hospital?",
               ["certainly", "perhaps: with 47 operations, 0 deaths is also likely for an average hospital",
                "certainly not"], 1,
               "Few operations make a rate of 0 easy to get by luck; shrinkage and the rank interval show it.")


def levels(view: LessonView) -> None:
    """Lesson 11: students in classes in schools, shrinkage at each level."""
    from hiermod.plots.lessons import nested_plot

    view.question("Students sit in classes, classes in schools. Toward what is a class's average pulled, and "
                  "toward what a school's?")
    per_class = st.select_slider("Students kept per class (at most)", PER_CLASS, value=30, key=view.key("per_class"))
    result = components.computed(_levels, int(per_class), context="fitting the two-level model")
    if result is None:
        return
    view.figure(nested_plot(result.schools, result.classes), "figure")
    view.notice(result.sentences() + ["Fewer students per class: class means are noisier and lean more on "
                                      "their school; schools, built from their classes, lean more on mu."])
    view.check("A class of 3 students scored far above the rest of its school. Its estimate moves toward...",
               ["the overall mean of all schools", "its own school's estimate", "nowhere: 3 students is enough"], 1,
               "At the class level the population is the class's own school: classes borrow from the classes "
               "beside them, schools from the other schools.")
