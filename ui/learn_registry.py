"""The Learn page's lessons: number, title and render function, in teaching order; the lesson a link
asks for (``?lesson=6``); and the fragment that draws one lesson.

A lesson's render function (``"module:function"``, imported when drawn) takes a
:class:`ui.learn_view.LessonView`. Each lesson is drawn inside an ``st.fragment``, so moving one of its
controls reruns only the lesson, not the page.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import streamlit as st

from ui.learn_view import LessonView

QUERY = "lesson"
WIDGET = "w_learn_lesson"


@dataclass(frozen=True)
class Lesson:
    number: int
    title: str
    render: str  # "module:function"

    def draw(self, view: LessonView) -> None:
        module, _, fn = self.render.partition(":")
        getattr(importlib.import_module(module), fn)(view)


LESSONS: tuple[Lesson, ...] = (
    Lesson(1, "The tyranny of the average and the idiosyncrasy of the individual", "ui.learn_schools:pooling"),
    Lesson(2, "The rookie and the veteran", "ui.learn_batting:rookie"),
    Lesson(3, "Borrowing strength flows both ways", "ui.learn_schools:borrowing"),
    Lesson(4, "Less information, more shrinkage", "ui.learn_schools:precision"),
    Lesson(5, "Where does the variation come from?", "ui.learn_simulated:variance"),
    Lesson(6, "Pseudoreplication", "ui.learn_simulated:pseudoreplication"),
    Lesson(7, "Why marginalize over tau?", "ui.learn_priors:plug_in"),
    Lesson(8, "Priors as knowledge", "ui.learn_priors:priors"),
    Lesson(9, "Exceptional or lucky?", "ui.learn_groups:ranks"),
    Lesson(10, "The funnel", "ui.learn_funnel:funnel"),
    Lesson(11, "Levels within levels", "ui.learn_groups:levels"),
    Lesson(12, "Shrinkage predicts better", "ui.learn_batting:season"),
)
BY_NUMBER = {lesson.number: lesson for lesson in LESSONS}


def from_query(value) -> int | None:
    """The lesson number a link's ``?lesson=`` value names, or None (missing, not a number, no such lesson)."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number in BY_NUMBER else None


def _follow_widget() -> None:
    st.query_params[QUERY] = str(st.session_state[WIDGET])


def choose() -> Lesson:
    """The lesson picker, started from the link's ``?lesson=N`` (the URL follows the picker)."""
    asked = from_query(st.query_params.get(QUERY))
    if asked is not None:
        st.session_state[WIDGET] = asked
    elif WIDGET not in st.session_state:
        st.session_state[WIDGET] = LESSONS[0].number
    number = st.selectbox("Lesson", [lesson.number for lesson in LESSONS], key=WIDGET, on_change=_follow_widget,
                          format_func=lambda n: f"{n}. {BY_NUMBER[n].title}")
    st.query_params[QUERY] = str(number)
    return BY_NUMBER[number]


@st.fragment
def show(number: int, presenter: bool) -> None:
    """Draw lesson ``number`` (its controls rerun only this fragment) and its handout button."""
    lesson = BY_NUMBER[number]
    view = LessonView(lesson.number, lesson.title, presenter)
    lesson.draw(view)
    view.handout()
