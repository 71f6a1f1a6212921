"""Real-browser test of simulation-based calibration on the Checks page.

Eight schools, fitted with the instant method; on Checks and comparison the calibration button
runs 500 replications inline and shows the verdict, the rank histograms and the ECDF plot.

Run: `python -m pytest tests/e2e/test_browser_sbc.py -m browser -s`; screenshots land in
test-artifacts/screenshots/ (look at them).
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from ui_steps import EIGHT, PLOT, choose_sample, goto_page, no_exceptions

pytestmark = pytest.mark.browser


def test_sbc_button_shows_verdict_and_plots(app_page: Page, shot):
    page = app_page
    choose_sample(page, EIGHT)
    goto_page(page, "Fit")
    page.get_by_text(re.compile(r"^Instant posterior")).first.click()
    button = page.get_by_role("button", name="Fit", exact=True)
    expect(button).to_be_enabled(timeout=30_000)
    button.click()
    expect(page.get_by_text(re.compile("Fit finished|loaded from the cache")).first).to_be_visible(timeout=120_000)

    goto_page(page, "Checks and comparison")
    heading = page.get_by_role("heading", name=re.compile("Does the method recover known truth"))
    expect(heading).to_be_visible(timeout=60_000)
    heading.scroll_into_view_if_needed()
    sbc = page.get_by_role("button", name=re.compile(r"Calibrate the instant method \(500 replications\)"))
    expect(page.get_by_role("button", name=re.compile("Calibrate NUTS in the background"))).to_be_visible()
    t0 = time.time()
    sbc.click()
    verdict = page.get_by_text(re.compile(r"^(Calibrated|Miscalibrated)\.")).first
    expect(verdict).to_be_visible(timeout=180_000)
    print(f"\n[e2e] 500 instant replications: verdict after {time.time() - t0:.1f} s")
    expect(page.get_by_text("Calibrated.", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"In 500 data sets simulated from your priors with your design "
                                       r"\(8 groups, their standard errors\)")).first).to_be_visible()
    main = page.get_by_test_id("stMainBlockContainer")
    hist = main.locator(".js-plotly-plot").filter(has_text="Rank of the true value among 199 posterior draws")
    ecdf = main.locator(".js-plotly-plot").filter(has_text="ECDF of the ranks minus the uniform CDF")
    expect(hist).to_have_count(1, timeout=30_000)
    expect(ecdf).to_have_count(1)
    expect(hist.get_by_text("theta[H]").first).to_be_attached()
    expect(ecdf.get_by_text("simultaneous 95% band").first).to_be_attached()
    expect(page.get_by_text("Calibration of the instant method")).to_be_visible()
    no_exceptions(page)
    page.get_by_role("heading", name="Calibration of the instant method").scroll_into_view_if_needed()
    time.sleep(1.0)
    shot(page, "1-verdict-and-histograms")
    ecdf.first.scroll_into_view_if_needed()
    time.sleep(0.5)
    shot(page, "2-ecdf")
    page.locator(PLOT).first.wait_for()
