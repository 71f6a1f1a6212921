"""Lesson 10: the funnel. The exact posterior's draws are drawn at once; the two NUTS fits
(:data:`hiermod.lessons.funnel.NUTS_SETTINGS`, centered and non-centered) run when the button is
pressed, once per server (cached for every session), inside this lesson's fragment with a spinner.
The school picker redraws at once."""

from __future__ import annotations

import streamlit as st

from ui import components
from ui.learn_view import LessonView

SCHOOLS = ("A", "B", "C", "D", "E", "F", "G", "H")


@st.cache_resource(max_entries=1, show_spinner=False)
def _exact():
    from hiermod.lessons.funnel import exact_draws

    return exact_draws()


@st.cache_resource(max_entries=1, show_spinner=False)
def _nuts():
    from ui.cache import heavy_imports

    heavy_imports()
    from hiermod.lessons.funnel import nuts_draws

    return nuts_draws()


def funnel(view: LessonView) -> None:
    from hiermod.lessons.funnel import NUTS_SETTINGS, funnel as compute
    from hiermod.plots.lessons import funnel_views_plot

    view.question("Why does the sampler struggle with eight schools when the schools barely differ?")
    group = st.radio("School", SCHOOLS, horizontal=True, key=view.key("group"))
    ran = st.session_state.get(view.key("ran"), False)
    if not ran:
        s = NUTS_SETTINGS
        if st.button(f"Sample with NUTS, centered and non-centered ({s['chains']} chains x {s['warmup']} + "
                     f"{s['draws']}; up to a minute the first time, then cached)", key=view.key("run"),
                     icon=":material/play_arrow:"):
            st.session_state[view.key("ran")] = ran = True
    nuts = None
    if ran:
        with st.spinner("Sampling eight schools with NUTS, centered and non-centered ..."):
            nuts = components.computed(_nuts, context="sampling with NUTS")
    exact = components.computed(_exact, context="drawing the exact posterior")
    if exact is None:
        return
    result = components.computed(compute, group, nuts, exact, context="building the funnel")
    if result is None:
        return
    view.figure(funnel_views_plot(result.table, group), "figure")
    if nuts is None:
        st.caption("Only the exact posterior so far: press the button to see how NUTS samples it.")
    view.notice(result.sentences() + ["Given tau, every school lies within about tau of mu: small tau, a narrow "
                                      "neck; large tau, a wide mouth. One step size cannot suit both."])
    view.check("Non-centering (theta = mu + tau z) helps because...",
               ["it changes the model's answer", "the sampler then moves in z, whose posterior has no funnel",
                "it removes the prior on tau"], 1,
               "It is the same model and the same posterior, written in coordinates the sampler finds easy.")
