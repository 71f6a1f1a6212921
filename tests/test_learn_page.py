"""AppTest (no browser) of the Learn page: every lesson renders; moving its control changes the
figure's data; ?lesson=N opens lesson N; the presenter view; the handout download."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
LEARN = "pages/7_Learn.py"
TIMEOUT = 180

# lesson -> (control key, new value): the control each lesson's browser walk moves too
CONTROLS = {
    1: ("learn1_se_scale", 0.5), 2: ("learn2_at_bats", 300), 3: ("learn3_y_A", 60.0), 4: ("learn4_se_A", 3.0),
    5: ("learn5_icc", 0.6), 6: ("learn6_icc", 0.4), 7: ("learn7_tau", 8.0), 8: ("learn8_schools", 6),
    9: ("learn9_factor", 4), 10: ("learn10_group", "B"), 11: ("learn11_per_class", 5), 12: ("learn12_k", 242),
}


def open_lesson(number: int | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    if number is not None:
        at.query_params["lesson"] = str(number)
    at.switch_page(LEARN).run()
    assert not at.exception, at.exception
    return at


def figure(at: AppTest, number: int) -> dict:
    key = f"learn{number}_fig_figure"
    charts = [c for c in at.get("plotly_chart") if c.proto.id.endswith(key) or key in c.proto.id]
    assert charts, [c.proto.id for c in at.get("plotly_chart")]
    return json.loads(charts[0].proto.spec)


def link(at: AppTest) -> str:
    """The page's ?lesson= value (AppTest keeps query values as lists)."""
    value = at.query_params["lesson"]
    return value[0] if isinstance(value, list) else str(value)


def widget(at: AppTest, key: str):
    for kind in ("slider", "select_slider", "radio", "selectbox"):
        found = [w for w in at.get(kind) if getattr(w, "key", None) == key]
        if found:
            return found[0]
    raise AssertionError(f"no widget {key}")


def test_registry_lists_twelve_lessons_in_order():
    from ui.learn_registry import LESSONS, from_query

    assert [lesson.number for lesson in LESSONS] == list(range(1, 13))
    assert from_query("6") == 6 and from_query(" 12 ") == 12
    assert from_query("13") is None and from_query("x") is None and from_query(None) is None


@pytest.mark.parametrize("number", list(CONTROLS))
def test_lesson_renders_and_its_control_changes_the_figure(number):
    at = open_lesson(number)
    assert at.selectbox(key="w_learn_lesson").value == number
    assert not at.error, [e.value for e in at.error]
    before = figure(at, number)["data"]
    text = " ".join(str(m.value) for m in at.markdown)
    assert "What to notice" in text and "Check yourself" in text
    assert at.radio(key=f"learn{number}_check").value is None
    key, value = CONTROLS[number]
    widget(at, key).set_value(value).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    after = figure(at, number)["data"]
    assert after != before, f"lesson {number}: moving {key} did not change the figure"
    assert link(at) == str(number)


def test_link_opens_the_lesson_and_the_picker_updates_the_link():
    at = open_lesson(6)
    assert at.selectbox(key="w_learn_lesson").value == 6
    assert any("Ten schools" in str(h.value) for h in at.subheader)
    at.selectbox(key="w_learn_lesson").set_value(9).run()
    assert not at.exception, at.exception
    assert link(at) == "9"
    assert any("hospitals" in str(h.value) for h in at.subheader)
    at = open_lesson(99)  # no such lesson: the first one
    assert at.selectbox(key="w_learn_lesson").value == 1


def test_check_question_gives_feedback():
    at = open_lesson(1)
    radio = at.radio(key="learn1_check")
    radio.set_value(radio.options[1]).run()
    assert at.error and "Not quite" in at.error[0].value
    radio = at.radio(key="learn1_check")
    radio.set_value(radio.options[0]).run()
    assert at.success and at.success[0].value.startswith("Right.")


def test_presenter_view_large_text_and_figures():
    at = open_lesson(2)
    normal = figure(at, 2)["layout"]
    assert at.title and at.title[0].value == "Learn"
    at.toggle(key="w_learn_presenter").set_value(True).run()
    assert not at.exception, at.exception
    big = figure(at, 2)["layout"]
    assert big["font"]["size"] > normal.get("font", {}).get("size", 14)
    assert big["height"] >= 640
    assert not at.title  # the page title gives its room to the lesson
    assert any("rookie" in str(h.value) for h in at.header)
    at.selectbox(key="w_learn_lesson").set_value(5).run()  # stays on for the next lesson
    assert at.toggle(key="w_learn_presenter").value is True
    assert figure(at, 5)["layout"]["font"]["size"] == big["font"]["size"]


def test_handout_button_on_every_lesson():
    at = open_lesson(12)
    buttons = at.get("download_button")
    assert buttons, "no download button"
    assert any("handout" in str(b.proto.label) for b in buttons)


def test_handout_html_of_a_lesson_holds_its_figure_and_text():
    """The handout builder with a lesson's own figure and sentences (what the button's callable returns)."""
    from hiermod.lessons.batting import rookie
    from hiermod.lessons.handout import handout_html
    from hiermod.plots.lessons import rookie_plot

    r = rookie(45)
    html = handout_html("Lesson 2: The rookie and the veteran", "Who?",
                        [rookie_plot(r.curve, r.players, r.league.m, r.average)], [("What to notice", r.sentences())])
    assert "The rookie and the veteran" in html and f"{r.players['weight'].iloc[0]:.3f}" in html
    assert html.count("<script") >= 2 and "Plotly.newPlot" in html
