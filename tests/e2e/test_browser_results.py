"""Real-browser test of the results pages: Shrinkage, Funnel and diagnostics.

Run: `python -m pytest tests/e2e/test_browser_results.py -m browser -s`. Screenshots land in
test-artifacts/screenshots/ (look at them); the README's screenshots are refreshed in
docs/screenshots/.
"""

from __future__ import annotations

import re
import shutil
import time

import pytest
from playwright.sync_api import Page, expect

from ui_steps import EIGHT, PLOT, REPO, choose_sample, goto_page, no_exceptions

pytestmark = pytest.mark.browser

DOCS_SHOTS = REPO / "docs" / "screenshots"


def small_settings(page: Page) -> None:
    page.get_by_text("Advanced: sampler settings").click()
    for label, value in (("Chains", 2), ("Warmup", 300), ("Draws", 300)):
        box = page.get_by_label(label, exact=True)
        box.fill(str(value))
        box.press("Enter")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("2 chains x (300 warmup + 300 draws)").first).to_be_visible(timeout=30_000)


def fit_now(page: Page, done: str = "Fit finished|loaded from the cache") -> float:
    goto_page(page, "Fit")
    button = page.get_by_role("button", name="Fit", exact=True)
    expect(button).to_be_enabled(timeout=30_000)
    t0 = time.time()
    button.click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=240_000)
    expect(page.get_by_text(re.compile(done)).first).to_be_visible(timeout=240_000)
    return time.time() - t0


def wait_plots(page: Page) -> None:
    page.locator(PLOT).first.wait_for(timeout=60_000)


def test_shrinkage_and_funnel_pages(app_page: Page, shot):
    page = app_page
    choose_sample(page, EIGHT)
    goto_page(page, "Model")
    small_settings(page)
    took = fit_now(page)
    print(f"\n[e2e] non-centered fit {took:.1f} s")
    no_exceptions(page)

    # ---- Shrinkage: shrinkage plot, shrinkage vs precision, pooling continuum, table, export
    goto_page(page, "Shrinkage")
    wait_plots(page)
    main = page.get_by_test_id("stMainBlockContainer")
    expect(main.locator(".js-plotly-plot")).to_have_count(3, timeout=60_000)
    expect(page.get_by_text("Partial pooling pulls each group toward the pool").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"least precise group, H \(se 18\)"))).to_be_visible()
    expect(page.get_by_role("heading", name="The pooling continuum")).to_be_visible()
    expect(page.get_by_role("button", name="Posterior (ArviZ netCDF)")).to_be_visible()
    expect(page.get_by_role("button", name="Script in plain NumPyro")).to_be_visible()
    no_exceptions(page)
    time.sleep(1.0)  # let plotly finish its transitions before the picture
    path = shot(page, "1-shrinkage")
    DOCS_SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS_SHOTS / "shrinkage.png")

    # ---- Funnel and diagnostics (non-centered): funnel of theta_decentered, no pair yet
    goto_page(page, "Funnel and diagnostics")
    wait_plots(page)
    expect(page.get_by_text("Funnel: theta_decentered[A] against log tau").first).to_be_visible(timeout=30_000)
    expect(page.get_by_role("heading", name="Diagnostics table")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Energy: marginal vs transition — BFMI")).first).to_be_visible()
    no_exceptions(page)
    shot(page, "2-funnel-noncentered")

    # ---- fit the centered version for comparison, in the background, from this page
    t0 = time.time()
    page.get_by_role("button", name="Fit the other parameterization for comparison").click()
    expect(page.get_by_text("Centered vs non-centered: the same model, two geometries").first
           ).to_be_visible(timeout=240_000)
    print(f"[e2e] comparison (centered) fit shown after {time.time() - t0:.1f} s")
    expect(page.get_by_text(re.compile(r"\d+ divergent draws centered, \d+ non-centered"))).to_be_visible()
    no_exceptions(page)
    shot(page, "3-funnel-pair")

    # ---- make the centered model the current one: its fit comes from the cache, and the
    # verdicts report its divergences
    goto_page(page, "Model")
    page.get_by_text("Centered", exact=True).click()
    expect(page.get_by_text(re.compile(r"partial pooling, centered$")).first).to_be_visible(timeout=30_000)
    # the comparison job put this fit in the process-wide cache; waiting for that message (not
    # the earlier "Fit finished") makes sure the click's rerun stored it before we navigate
    took = fit_now(page, done="loaded from the cache")
    print(f"[e2e] centered fit (from the cache) {took:.1f} s")
    goto_page(page, "Funnel and diagnostics")
    wait_plots(page)
    alert = page.locator('[data-testid="stAlert"]').filter(has_text=re.compile(r"Divergences: \d+ of"))
    expect(alert.first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Funnel: theta[A] against log tau").first).to_be_visible()
    expect(page.get_by_text("Centered vs non-centered: the same model, two geometries").first).to_be_visible()
    no_exceptions(page)
    time.sleep(1.0)
    path = shot(page, "4-funnel-centered")
    shutil.copyfile(path, DOCS_SHOTS / "funnel.png")
    # the lower half: trace, rank, energy, tau against its prior
    page.get_by_role("heading", name="Energy").scroll_into_view_if_needed()
    expect(page.get_by_text("tau: posterior draws against prior").first).to_be_visible(timeout=30_000)
    time.sleep(1.0)
    shot(page, "5-funnel-lower")
    goto_page(page, "Shrinkage")
    wait_plots(page)
    no_exceptions(page)
