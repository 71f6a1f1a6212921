"""Real browser: after a NUTS fit of eight schools the Fit page and the Funnel and diagnostics page
say whether NUTS agrees with the instant posterior, with the largest |z| values and the table.

Run: `python -m pytest tests/e2e/test_browser_agreement.py -s`. Screenshots land in
test-artifacts/screenshots/ -- look at them.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ui_steps import EIGHT, choose_sample, goto_page, no_exceptions, press_fit

pytestmark = pytest.mark.browser

TITLE = "Does NUTS agree with the instant posterior?"


def test_nuts_fit_of_eight_schools_agrees_with_the_instant_posterior(app_page: Page, shot):
    page = app_page
    choose_sample(page, EIGHT)
    goto_page(page, "Model")
    page.get_by_text("Partial pooling: groups share a distribution").click()
    goto_page(page, "Fit")
    press_fit(page)  # the app's default sampler settings: 4 chains x (automatic warmup + 1000 draws)
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=300_000)
    main = page.get_by_test_id("stMainBlockContainer")

    title = main.get_by_text(TITLE, exact=True)
    expect(title).to_be_visible(timeout=60_000)
    verdict = main.locator('[data-testid="stAlert"]').filter(has_text="agrees with the instant posterior")
    expect(verdict).to_be_visible(timeout=60_000)
    expect(verdict).to_contain_text(re.compile(r"NUTS agrees with the instant posterior: all 10 posterior means"))
    expect(main.get_by_text(re.compile(r"^\|z\| of ")).first).to_be_visible()
    main.get_by_text("All 10 parameters (click a column to sort)").click()
    table = main.locator('[data-testid="stDataFrame"]').last
    expect(table).to_be_visible()
    no_exceptions(page)
    title.scroll_into_view_if_needed()
    shot(page, "1-fit-page")

    goto_page(page, "Funnel and diagnostics")
    heading = page.get_by_role("heading", name=TITLE)
    expect(heading).to_be_visible(timeout=60_000)
    expect(main.locator('[data-testid="stAlert"]').filter(has_text="NUTS agrees with the instant posterior")
           ).to_be_visible(timeout=60_000)
    no_exceptions(page)
    heading.scroll_into_view_if_needed()
    shot(page, "2-diagnostics-page")
