"""Real-browser tests of the Learn page's live lessons (and of the Checks page after a fit).

Every lesson is opened by its own link (``/Learn?lesson=N``), its control is moved with the keyboard
(or a click), and the figure must show new data (Plotly's drawn ``gd.data``, read in the page); the
time from the key press to the redrawn figure is printed per lesson (aim: under 0.5 s). Lessons 6, 7
and 10 also run their simulation / NUTS buttons; the presenter view and a handout download are checked.

Run: `python -m pytest tests/e2e/test_browser_learn.py -m browser -s`. Screenshots land in
test-artifacts/screenshots/ -- look at them.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from live_steps import signature, timed_redraw, wait_drawn, wait_idle
from ui_steps import EIGHT, REPO, choose_sample, goto_page, no_exceptions

pytestmark = pytest.mark.browser

CHART = ".js-plotly-plot .main-svg"
# lesson -> its control: a slider's key (ArrowRight on its thumb; "left:<key>" ArrowLeft, for a slider that
# starts at its top), or "click:<options>" (the i-th move clicks the i-th radio option)
CONTROLS = {1: "learn1_se_scale", 2: "learn2_at_bats", 3: "learn3_y_A", 4: "learn4_se_A", 5: "learn5_icc",
            6: "learn6_icc", 7: "learn7_tau", 8: "learn8_schools", 9: "learn9_factor", 10: "click:BCD",
            11: "left:learn11_per_class", 12: "learn12_k"}
TIMES: dict[int, list[float]] = {}


def open_lesson(page: Page, url: str, number: int) -> str:
    page.goto(f"{url}/Learn?lesson={number}")
    key = f"learn{number}_fig_figure"
    wait_drawn(page, key, timeout=120_000)
    no_exceptions(page)
    return key


def move(page: Page, number: int, key: str, i: int) -> float:
    control = CONTROLS[number]
    if control.startswith("click:"):
        label = control.split(":", 1)[1][i]
        option = page.locator(f".st-key-learn{number}_group").get_by_text(label, exact=True)
        return timed_redraw(page, key, lambda: option.click())
    arrow = "ArrowLeft" if control.startswith("left:") else "ArrowRight"
    thumb = page.locator(f".st-key-{control.removeprefix('left:')}").get_by_role("slider").first
    thumb.focus()
    return timed_redraw(page, key, lambda: page.keyboard.press(arrow))


@pytest.mark.parametrize("number", list(CONTROLS))
def test_lesson_live(app_page: Page, app_url, shot, number):
    page = app_page
    key = open_lesson(page, app_url, number)
    expect(page.get_by_text("What to notice").first).to_be_visible()
    before = signature(page, key)
    times = []
    for i in range(3):  # three moves: the first may import or compute what the others find cached
        times.append(move(page, number, key, i))
        wait_idle(page)
    assert signature(page, key) != before
    no_exceptions(page)
    TIMES[number] = times
    print(f"\n[e2e] lesson {number}: control -> redrawn figure {', '.join(f'{t:.2f}' for t in times)} s")
    if number == 6:
        page.get_by_role("button", name=re.compile("^Simulate 200 studies")).click()
        wait_drawn(page, "learn6_fig_coverage", timeout=180_000)
        expect(page.get_by_text(re.compile(r"Over 200 simulated studies")).first).to_be_visible()
    if number == 7:
        page.get_by_role("button", name=re.compile("^Simulate 200 data sets")).click()
        wait_drawn(page, "learn7_fig_coverage", timeout=180_000)
    if number == 10:
        t0 = time.time()
        page.get_by_role("button", name=re.compile("^Sample with NUTS")).click()
        expect(page.get_by_text(re.compile(r"Centered NUTS: .* divergent transitions")).first).to_be_visible(timeout=400_000)
        print(f"[e2e] lesson 10: NUTS fits shown after {time.time() - t0:.1f} s")
    no_exceptions(page)
    shot(page, f"lesson{number}")


def test_presenter_view_and_handout(app_page: Page, app_url, shot, tmp_path):
    page = app_page
    key = open_lesson(page, app_url, 2)
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    page.get_by_role("switch", name=re.compile("^Presenter view")).click(force=True)
    wait_drawn(page, key)
    expect(page.get_by_role("heading", name=re.compile("Two players both bat")).first).to_be_visible()
    expect(sidebar).to_have_attribute("data-collapsed", "true", timeout=10_000)
    no_exceptions(page)
    shot(page, "presenter")
    # the handout: the figure as it stands and the lesson's text, plotly.js inside
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name=re.compile("one-page handout")).click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    html = path.read_text(encoding="utf-8")
    assert info.value.suggested_filename == "hiermod-lesson-2.html"
    assert "Lesson 2: The rookie and the veteran" in html and "w = n / (n + k)" in html
    assert "Plotly.newPlot" in html and path.stat().st_size > 1_000_000
    out = REPO / "test-artifacts" / "learn-handout-lesson-2.html"
    out.write_text(html, encoding="utf-8")
    page.goto(path.as_uri())  # opens offline, the figure drawn
    page.locator(CHART).first.wait_for(timeout=30_000)
    shot(page, "handout")


def test_checks_page_after_a_fit(app_page: Page, shot):
    page = app_page
    choose_sample(page, EIGHT)
    goto_page(page, "Fit")
    button = page.get_by_role("button", name="Fit", exact=True)
    expect(button).to_be_enabled(timeout=30_000)
    button.click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=400_000)
    expect(page.get_by_text(re.compile("Fit finished|loaded from the cache")).first).to_be_visible(timeout=400_000)
    goto_page(page, "Checks and comparison")
    expect(page.get_by_text("Posterior predictive check").first).to_be_visible(timeout=30_000)
    page.locator(CHART).first.wait_for(timeout=60_000)
    expect(page.get_by_text("Groups inside their 90% interval", exact=True)).to_be_visible()
    no_exceptions(page)
    shot(page, "1-ppc")
    t0 = time.time()
    page.get_by_role("button", name="Compare pooling modes").click()
    expect(page.get_by_text("Exact posteriors of the three models").or_(
        page.get_by_role("heading", name="Which model predicts left-out data best? (LOO)"))
        .first).to_be_visible(timeout=60_000)
    no_exceptions(page)
    shot(page, "2-comparing")
    expect(page.get_by_role("heading", name="Which model predicts left-out data best? (LOO)")
           ).to_be_visible(timeout=400_000)
    print(f"[e2e] pooling comparison done after {time.time() - t0:.1f} s")
    no_exceptions(page)
    shot(page, "3-compared")
