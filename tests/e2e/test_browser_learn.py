"""Real-browser tests of the Learn and Checks-and-comparison pages.

Run: `python -m pytest tests/e2e/test_browser_learn.py -m browser -s`. Screenshots land in
test-artifacts/screenshots/ -- look at them.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from ui_steps import goto_page, no_exceptions

pytestmark = pytest.mark.browser

CHART = ".js-plotly-plot .main-svg"


def run_eight_schools_story(page: Page) -> float:
    goto_page(page, "Learn")
    no_exceptions(page)
    button = page.get_by_role("button", name="Run the eight-schools story")
    expect(button).to_be_enabled(timeout=30_000)
    t0 = time.time()
    button.click()
    return t0


def test_learn_eight_schools_story(app_page: Page, shot):
    page = app_page
    t0 = run_eight_schools_story(page)
    # the exact posterior's pictures come at once, before NUTS finishes
    expect(page.get_by_role("heading", name="The exact posterior, at once")).to_be_visible(timeout=60_000)
    page.locator(CHART).first.wait_for(timeout=60_000)
    print(f"[e2e] first Learn chart after {time.time() - t0:.1f} s")
    expect(page.get_by_text("Weight on its own data", exact=True)).to_be_visible()
    no_exceptions(page)
    shot(page, "1-exact")
    # then NUTS: its check against the exact posterior
    expect(page.get_by_text("NUTS check:")).to_be_visible(timeout=300_000)
    print(f"[e2e] NUTS story fit shown after {time.time() - t0:.1f} s")
    assert page.locator(CHART).count() >= 3
    no_exceptions(page)
    shot(page, "2-nuts")


def test_checks_page_after_a_fit(app_page: Page, shot):
    page = app_page
    run_eight_schools_story(page)
    expect(page.get_by_text("NUTS check:")).to_be_visible(timeout=300_000)
    goto_page(page, "Checks and comparison")
    expect(page.get_by_text("Posterior predictive check").first).to_be_visible(timeout=30_000)
    page.locator(CHART).first.wait_for(timeout=60_000)
    expect(page.get_by_text("Groups inside their 90% interval", exact=True)).to_be_visible()
    no_exceptions(page)
    shot(page, "1-ppc")
    t0 = time.time()
    page.get_by_role("button", name="Compare pooling modes").click()
    # exact previews of the three models come first (normal data with known se) ...
    expect(page.get_by_text("Exact posteriors of the three models").or_(
        page.get_by_role("heading", name="Which model predicts left-out data best? (LOO)"))
        .first).to_be_visible(timeout=60_000)
    no_exceptions(page)
    shot(page, "2-comparing")
    # ... then the NUTS fits and the LOO table
    expect(page.get_by_role("heading", name="Which model predicts left-out data best? (LOO)")
           ).to_be_visible(timeout=400_000)
    print(f"[e2e] pooling comparison done after {time.time() - t0:.1f} s")
    no_exceptions(page)
    shot(page, "3-compared")
