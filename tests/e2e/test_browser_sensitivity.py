"""Real-browser test of the Prior sensitivity page: eight schools, no Fit pressed.

Run: `python -m pytest tests/e2e/test_browser_sensitivity.py -m browser -s`. Screenshots land in
test-artifacts/screenshots/ -- look at them.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect

from ui_steps import EIGHT, PLOT, choose_sample, goto_page, no_exceptions, set_number

pytestmark = pytest.mark.browser


def test_sensitivity_page_from_data_and_model_alone(app_page: Page, shot):
    page = app_page
    choose_sample(page, EIGHT)
    t0 = time.time()
    goto_page(page, "Prior sensitivity")
    # the prior set: computed at once from the data and the model, no fit
    expect(page.get_by_role("heading", name="The same model under other priors")).to_be_visible()
    expect(page.get_by_text("Across these priors tau's posterior mean ranges from")).to_be_visible(timeout=60_000)
    page.locator(PLOT).first.wait_for(timeout=60_000)
    expect(page.get_by_text("HalfCauchy(s)").first).to_be_visible()
    # power-scaling of the instant posterior (no fit yet): tau depends on the prior
    expect(page.get_by_text("No fit of the model now chosen yet")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("These posteriors depend on the prior: tau")).to_be_visible()
    # empirical against full Bayes: tau's mode is at 0, so EB is complete pooling
    expect(page.get_by_role("heading", name="Empirical Bayes against full Bayes")).to_be_visible()
    expect(page.get_by_text("The maximum is at tau = 0, the boundary")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("as wide as the full-Bayes ones")).to_be_visible()
    print(f"\n[e2e] sensitivity page complete after {time.time() - t0:.1f} s")
    assert page.locator(PLOT).count() >= 4  # densities, group intervals, power-scaling, EB vs FB
    no_exceptions(page)
    shot(page, "1-prior-set")
    page.get_by_role("heading", name="Empirical Bayes against full Bayes").scroll_into_view_if_needed()
    shot(page, "2-eb")

    # the type-II ML plug-in: also at the boundary for eight schools
    page.get_by_text("type-II ML", exact=False).first.click()
    expect(page.get_by_text("The maximum is at tau = 0, the boundary")).to_be_visible(timeout=60_000)
    no_exceptions(page)

    # a small coverage study
    set_number(page, "Simulated data sets", 60)
    t0 = time.time()
    page.get_by_role("button", name="Run the coverage study").click()
    expect(page.get_by_text("Over 60 data sets simulated from the prior")).to_be_visible(timeout=120_000)
    print(f"[e2e] coverage study of 60 data sets after {time.time() - t0:.1f} s")
    page.locator(PLOT).last.scroll_into_view_if_needed()  # the coverage plot
    no_exceptions(page)
    shot(page, "3-coverage")
