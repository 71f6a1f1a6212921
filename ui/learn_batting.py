"""Lessons 2 and 12 (batting averages, Efron–Morris): controls, figures and text. Numbers from
:mod:`hiermod.lessons.batting`."""

from __future__ import annotations

import streamlit as st

from ui import components
from ui.learn_view import LessonView

AT_BATS = (1, 2, 3, 5, 10, 20, 30, 45, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000)
KS = (0, 1, 2, 5, 10, 20, 30, 45, 66, 100, 150, 242, 350, 500, 1000, 2000, 5000, 10000)


@st.cache_resource(max_entries=64, show_spinner=False)
def _rookie(at_bats: float):
    from hiermod.lessons.batting import rookie

    return rookie(at_bats)


@st.cache_resource(max_entries=64, show_spinner=False)
def _season(k: float):
    from hiermod.lessons.batting import season

    return season(k)


def rookie(view: LessonView) -> None:
    """Lesson 2: the rookie and the veteran."""
    from hiermod.plots.lessons import rookie_plot

    view.question("Two players both bat .333: a rookie after a few at-bats and a veteran after 3,000. "
                  "Who do you expect to bat .333 next season?")
    n = st.select_slider("The rookie's at-bats", AT_BATS, value=3, key=view.key("at_bats"))
    result = components.computed(_rookie, float(n), context="computing the rookie's estimate")
    if result is None:
        return
    view.figure(rookie_plot(result.curve, result.players, result.league.m, result.average), "figure")
    view.notice(result.sentences() + [
        "Slide the at-bats up: w grows toward 1 and the rookie's estimate climbs from the league's mean to "
        "his own .333."])
    view.check("What does k = a + b measure?",
               ["the number of players in the league", "how many at-bats the league's opinion is worth",
                "the league's batting average"], 1,
               "A player's own average gets weight n / (n + k): after k at-bats it counts as much as the league.")


def season(view: LessonView) -> None:
    """Lesson 12: shrinkage predicts the rest of the season better."""
    from hiermod.plots.lessons import season_players_plot, season_plot

    view.question("Eighteen players after 45 at-bats each (1970, Efron & Morris). Is each player's own "
                  "average the best forecast of the rest of his season?")
    k = st.select_slider("Shrinkage: concentration k (prior at-bats; 0 = own average)", KS, value=66,
                         key=view.key("k"))
    result = components.computed(_season, float(k), context="comparing with the rest of the season")
    if result is None:
        return
    view.figure(season_plot(result.curve, result.k, result.totals, result.k_bayes), "figure")
    view.figure(season_players_plot(result.table, result.k), "players")
    view.notice(result.sentences() + [
        "High early averages were partly luck and came down; low ones went up. Shrinking removes much of "
        "that luck, and the data alone chose a good amount of shrinkage."])
    view.check("Which forecast had the smallest total squared error over all 18 players?",
               ["each player's own first-45 average", "a shrunk estimate between own and league average"], 1,
               "Shrinkage (James–Stein, partial pooling) beats the own averages in total, even though it "
               "loses for a few players.")
