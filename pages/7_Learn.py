"""Learn: short live lessons for class, each on instant posteriors (every control answers at once).

Thin: the lesson picker (a link ``?lesson=N`` opens lesson N), the presenter toggle and the lesson
(``ui/learn_registry.py`` lists them; ``ui/learn_view.py`` draws their parts).
"""

from __future__ import annotations

import streamlit as st

from ui import learn_registry, learn_view

presenter = learn_view.presenter_on()
st.set_page_config(initial_sidebar_state="collapsed" if presenter else "auto")
if not presenter:
    st.title("Learn")
    st.caption("Short live lessons on hierarchical models for class. Every control answers at once: the "
               "posteriors are computed by the instant method (grid + quadrature), not sampled. "
               "Link to a lesson with ?lesson=N in the address.")
top = st.columns([3, 2])
with top[0]:
    lesson = learn_registry.choose()
with top[1]:
    presenter = learn_view.presenter_toggle()
learn_registry.show(lesson.number, presenter)
