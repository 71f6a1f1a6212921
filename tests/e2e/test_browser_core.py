"""Real-browser tests of the core flow: data -> model -> fit, a broken upload, and cancel.

Run: `python -m pytest tests/e2e -m browser -s` (prints timings). Screenshots land in
test-artifacts/screenshots/ -- look at them.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from ui_steps import EIGHT, RADON, choose_sample, goto_page, no_exceptions, press_fit, sampler_settings, set_number

pytestmark = pytest.mark.browser


def test_fit_eight_schools_partial_pooling(app_page: Page, shot):
    page = app_page
    no_exceptions(page)
    choose_sample(page, EIGHT)
    expect(page.get_by_text("summary data, 8 groups, 8 rows")).to_be_visible()
    shot(page, "1-data")
    no_exceptions(page)

    goto_page(page, "Model")
    page.get_by_text("Partial pooling: groups share a distribution").click()
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    page.get_by_text("Advanced: sampler settings").click()
    # the warmup is automatic until set; the chains start from the instant posterior unless told
    expect(page.get_by_label("Warmup", exact=True)).to_have_attribute("placeholder", "auto")
    expect(page.get_by_text("Chains start", exact=True)).to_be_visible()
    expect(page.get_by_text("from the instant posterior (when it serves the model)")).to_be_visible()
    shot(page, "2-sampler-settings")
    for label, value in (("Chains", 2), ("Warmup", 300), ("Draws", 300)):
        set_number(page, label, value)
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("2 chains x (300 warmup + 300 draws)").first).to_be_visible(timeout=30_000)
    shot(page, "2-model")
    no_exceptions(page)

    goto_page(page, "Fit")
    t0 = press_fit(page)
    expect(page.get_by_test_id("stMainBlockContainer").get_by_role("progressbar")).to_be_visible(timeout=30_000)
    # normal data with known se: the exact posterior shows before NUTS finishes
    expect(page.get_by_text("Exact posterior (available now")).to_be_visible(timeout=60_000)
    t_first = time.time() - t0
    shot(page, "3-fit-running")
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=180_000)
    t_cold = time.time() - t0
    expect(page.get_by_text("Divergences").first).to_be_visible()
    expect(page.get_by_text("Posterior summary")).to_be_visible()
    shot(page, "4-fit-results")
    no_exceptions(page)

    # warm: same structure, new seed -> no compilation
    goto_page(page, "Model")
    sampler_settings(page, seed=1)
    expect(page.get_by_text("seed 1").first).to_be_visible(timeout=30_000)
    goto_page(page, "Fit")
    t0 = press_fit(page)
    expect(page.get_by_text(re.compile(r"Fit of .*seed 1\.")).first).to_be_visible(timeout=180_000)
    t_warm = time.time() - t0
    expect(page.get_by_text("Fit finished")).to_be_visible()
    # the very same request again: from the cache
    t0 = press_fit(page)
    expect(page.get_by_text("loaded from the cache")).to_be_visible(timeout=30_000)
    t_cached = time.time() - t0
    shot(page, "5-cached")
    print(f"\n[e2e] eight schools 2x(300+300): first result {t_first:.1f} s, cold fit {t_cold:.1f} s, "
          f"warm fit {t_warm:.1f} s, cached {t_cached:.2f} s")
    no_exceptions(page)
    goto_page(page, "Data")
    no_exceptions(page)


def test_broken_upload_keeps_previous_data(app_page: Page, shot, tmp_path):
    page = app_page
    choose_sample(page, EIGHT)
    broken = tmp_path / "broken_schools.csv"
    broken.write_text("school,effect,se\nA,28,15\nB,8,-10\nC,-3,16\nD,7,11\n", encoding="utf-8")
    page.get_by_text("Upload a CSV").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(broken))
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="'se'")
    expect(alert.first).to_be_visible(timeout=30_000)
    expect(alert.first).to_contain_text("row 2")
    expect(page.get_by_text("The previous data are still in use")).to_be_visible()
    expect(page.get_by_text("summary data, 8 groups, 8 rows")).to_be_visible()
    shot(page, "broken-upload")
    no_exceptions(page)
    goto_page(page, "Model")  # the previous data still drive the model page
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    no_exceptions(page)


def test_cancel_long_fit(app_page: Page, shot):
    page = app_page
    choose_sample(page, RADON)
    goto_page(page, "Model")
    sampler_settings(page, chains=8, draws=20000, seed=11)  # seconds of sampling to cancel: 2 chains took ~1.5 s
    expect(page.get_by_text("20000 draws").first).to_be_visible(timeout=30_000)
    goto_page(page, "Fit")
    press_fit(page)
    expect(page.get_by_test_id("stMainBlockContainer").get_by_role("progressbar")).to_be_visible(timeout=30_000)
    main = page.get_by_test_id("stMainBlockContainer")
    expect(main.get_by_text(re.compile(r"(Warmup|Sampling): [\d,]+ of"))).to_be_visible(timeout=300_000)
    shot(page, "running")
    t0 = time.time()
    page.get_by_role("button", name="Cancel").click()
    # acknowledged at once; the sampler stops at the end of its current chunk (about 0.2 s)
    expect(page.get_by_text("Fit cancelled").or_(main.get_by_text("Cancelling")).first).to_be_visible(timeout=10_000)
    expect(page.get_by_text("Fit cancelled")).to_be_visible(timeout=60_000)
    took = time.time() - t0
    print(f"\n[e2e] 'Fit cancelled' shown {took:.1f} s after pressing Cancel")
    shot(page, "cancelled")
    no_exceptions(page)
    expect(page.get_by_role("button", name="Fit", exact=True)).to_be_enabled()
