"""How a lesson is drawn: its question, controls, figures, "what to notice", check question and handout,
in the normal or the presenter view.

A lesson's render function (``ui/learn_registry.py``) receives a :class:`LessonView` and calls, in
order, ``question``, its own widgets, ``figure`` (one or more), ``notice`` and ``check``; the view
keeps what was shown so :meth:`LessonView.handout` can put the figure as it stands and the same text
into a one-page HTML file (built only when the button is pressed).

Presenter view (``hm_learn_presenter``): the sidebar collapsed (``st.set_page_config``), figures at
full width, taller and with large fonts, the text as headings. No raw HTML or CSS is injected: the
dashboard never uses ``unsafe_allow_html`` (tests/test_hostile_pages.py), so the presenter view is
made of Streamlit's own elements.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import streamlit as st

from ui import components

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

PRESENTER = "hm_learn_presenter"
PRESENTER_FONT = 22
PRESENTER_HEIGHT = 640
FOOTER = ("Made with hiermod's Learn page. Every number is computed by the instant posterior "
          "(grid + quadrature) at the settings shown.")


class LessonView:
    """One lesson being drawn (see the module docstring). ``number`` and ``title`` name it; ``presenter``
    is the view."""

    def __init__(self, number: int, title: str, presenter: bool):
        self.number, self.title, self.presenter = number, title, presenter
        self.question_text = ""
        self.figures: list["go.Figure"] = []
        self.sections: list[tuple[str, list[str]]] = []
        self.check_parts: tuple[str, list[str], str] | None = None

    def key(self, name: str) -> str:
        """A widget or figure key unique to this lesson (``learn<number>_<name>``)."""
        return f"learn{self.number}_{name}"

    def question(self, text: str) -> None:
        self.question_text = text
        (st.header if self.presenter else st.subheader)(text, anchor=False)

    def text(self, heading: str, sentences: Sequence[str]) -> None:
        """A block of computed sentences (kept for the handout)."""
        self.sections.append((heading, list(sentences)))
        if heading:
            st.markdown(f"**{components.md_escape(heading)}**")
        for s in sentences:
            st.markdown(("#### " if self.presenter else "- ") + components.md_escape(s))

    def notice(self, sentences: Sequence[str]) -> None:
        self.text("What to notice", sentences)

    def figure(self, fig: "go.Figure", name: str) -> None:
        """Show ``fig`` (key ``learn<number>_fig_<name>``), larger in the presenter view."""
        if self.presenter:  # explicit sizes: Streamlit's chart theme would otherwise keep its own small ticks
            fig.update_layout(font=dict(size=PRESENTER_FONT), height=max(PRESENTER_HEIGHT, fig.layout.height or 0),
                              legend=dict(font=dict(size=PRESENTER_FONT)), title_font_size=PRESENTER_FONT + 4)
            fig.update_xaxes(tickfont_size=PRESENTER_FONT, title_font_size=PRESENTER_FONT)
            fig.update_yaxes(tickfont_size=PRESENTER_FONT, title_font_size=PRESENTER_FONT)
        self.figures.append(fig)
        st.plotly_chart(fig, width="stretch", key=self.key(f"fig_{name}"))

    def check(self, question: str, options: Sequence[str], answer: int, why: str) -> None:
        """A check question: ``options`` as a radio with no default; right or wrong with ``why``."""
        self.check_parts = (question, list(options), f"{options[answer]}. {why}")
        st.markdown("**Check yourself**")
        choice = st.radio(question, list(options), index=None, key=self.key("check"))
        if choice is None:
            return
        if choice == options[answer]:
            st.success(f"Right. {why}", icon=":material/check_circle:")
        else:
            st.error(f"Not quite: the answer is \"{options[answer]}\". {why}", icon=":material/cancel:")

    def handout(self) -> None:
        """A download button for this lesson's one-page HTML handout (built when pressed)."""
        from hiermod.lessons.handout import handout_html

        title = f"Lesson {self.number}: {self.title}"
        figures, sections, check, question = list(self.figures), list(self.sections), self.check_parts, self.question_text

        def build() -> str:
            return handout_html(title, question, figures, sections, check, FOOTER)

        st.download_button("Download this lesson as a one-page handout (HTML)", build,
                           file_name=f"hiermod-lesson-{self.number}.html", mime="text/html",
                           key=self.key("handout"), icon=":material/download:", on_click="ignore")


TOGGLE = "w_learn_presenter"


def presenter_on() -> bool:
    """Whether the presenter view is on (the toggle's new value during the rerun it caused)."""
    return bool(st.session_state.get(TOGGLE, st.session_state.get(PRESENTER, False)))


def presenter_toggle() -> bool:
    """The presenter-view toggle (the same for every lesson of the session); True when on."""
    key = TOGGLE
    if key not in st.session_state:
        st.session_state[key] = bool(st.session_state.get(PRESENTER, False))
    on = st.toggle("Presenter view (large text, wide figures, no sidebar)", key=key,
                   help="For projecting in class: switch it on or off from any lesson.")
    st.session_state[PRESENTER] = on
    return on
