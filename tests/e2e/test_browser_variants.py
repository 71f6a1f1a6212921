"""Real-browser test of the Model variants page: eight schools, the recommended set, real NUTS.

Run: `python -m pytest tests/e2e/test_browser_variants.py -m browser -s`. Screenshots land in
test-artifacts/screenshots/ -- look at them.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from conftest import ARTIFACTS
from ui_steps import EIGHT, PLOT, choose_sample, goto_page, no_exceptions, sampler_settings

pytestmark = pytest.mark.browser

NAMES = ("non-centered", "skeptical", "complete pooling", "robust")


def expect_name(page: Page, position: int, value: str, timeout: float = 30.0) -> None:
    """Variant ``position``'s name box holds ``value``, once the rerun has dropped the stale
    elements (while a rerun draws, the old and the new box can both carry the label)."""
    box = page.get_by_label(f"Name of variant {position}", exact=True)
    deadline = time.time() + timeout
    seen: list[str] = []
    while time.time() < deadline:
        try:
            seen = [b.input_value(timeout=1_000) for b in box.all()]
        except PlaywrightError:
            seen = []
        if seen == [value]:
            return
        page.wait_for_timeout(200)
    raise AssertionError(f"Name of variant {position}: expected {value!r}, the page shows {seen}")


def top(locator) -> None:
    """Scroll Streamlit's inner container so ``locator`` is at the top of the viewport."""
    locator.evaluate("e => e.scrollIntoView({block: 'start'})")
    locator.page.wait_for_timeout(500)


def test_variants_page_fits_the_recommended_set(app_page: Page, shot):
    page = app_page
    choose_sample(page, EIGHT)
    goto_page(page, "Model")
    sampler_settings(page, chains=2, warmup=300, draws=300)
    expect(page.get_by_text("2 chains x (300 warmup + 300 draws)").first).to_be_visible(timeout=30_000)

    goto_page(page, "Model variants")
    main = page.get_by_test_id("stMainBlockContainer")
    expect(page.get_by_text("No variants yet")).to_be_visible()
    page.get_by_role("button", name="Start from the recommended set").click()
    for i, name in enumerate(NAMES, start=1):
        expect_name(page, i, name)
    # the starting set's priors, as text (eight schools: s = 11, pooled estimate 7.69)
    expect(page.get_by_role("textbox", name="Prior for tau").first).to_have_value("HalfCauchy(10)")
    expect(page.get_by_role("textbox", name="Prior for mu").nth(1)).to_have_value("Normal(7.69, 5)")
    # robust (summary data): the non-centered priors on a Student-t population, nu_groups left to
    # its default (the tau boxes: non-centered, skeptical, robust; complete pooling has none)
    expect(page.get_by_role("textbox", name="Prior for tau").nth(2)).to_have_value("HalfCauchy(10)")
    nu = page.get_by_role("textbox", name="Prior for nu_groups")
    expect(nu).to_have_count(1)
    expect(nu).to_have_value("")
    expect(nu).to_have_attribute("placeholder", "default: Gamma(2, 0.1)")
    expect(page.get_by_role("button", name="Download variants.toml")).to_be_visible()
    no_exceptions(page)
    shot(page, "1-recommended-set")

    # a bad prior: the error names the variant and the setting, the other variants stay
    tau = page.get_by_role("textbox", name="Prior for tau").nth(1)
    tau.fill("HalfBanana(5)")
    tau.press("Enter")
    expect(main.get_by_text("variant 'skeptical', key 'priors.tau'")).to_be_visible(timeout=30_000)
    expect(page.get_by_role("button", name="Fit all variants")).to_be_disabled()
    expect_name(page, 3, "complete pooling")
    tau.fill("HalfNormal(5)")
    tau.press("Enter")
    expect(main.get_by_text("variant 'skeptical', key 'priors.tau'")).to_have_count(0, timeout=30_000)

    # fit all: real NUTS, one background job, progress naming the variant
    fit = page.get_by_role("button", name="Fit all variants")
    expect(fit).to_be_enabled(timeout=30_000)
    t0 = time.time()
    fit.click()
    expect(page.get_by_text(re.compile(r"Fit \d of 4: (non-centered|skeptical|complete pooling|robust)")).first
           ).to_be_visible(timeout=120_000)
    expect(page.get_by_role("button", name="Cancel the fit of the variants")).to_be_visible()
    expect(page.get_by_role("heading", name="Side by side")).to_be_visible(timeout=600_000)
    print(f"\n[e2e] four NUTS variants fitted in {time.time() - t0:.1f} s")
    expect(page.get_by_text(re.compile("Every variant is fitted|Loaded from the cache"))).to_be_visible()
    page.locator(PLOT).first.wait_for(timeout=60_000)
    no_exceptions(page)

    # the parameter tables (one tab per variant)
    for name in NAMES:
        expect(page.get_by_role("tab", name=name).first).to_be_visible()
    # tau: posterior over prior in each variant; complete pooling has none
    top(page.get_by_role("heading", name="Side by side"))
    expect(main.get_by_text("tau: posterior (solid) and prior (dashed) in each variant")).to_be_visible()
    expect(main.get_by_text("No tau in: complete pooling")).to_be_visible()
    # the forest of every group across the variants
    expect(page.get_by_role("heading", name="Every group in every variant")).to_be_visible()
    expect(main.get_by_text("Every group in every variant").last).to_be_visible()
    assert main.locator(".js-plotly-plot").count() >= 3  # tau overlay, forest, LOO
    no_exceptions(page)
    shot(page, "2-tau-overlay-and-forest")
    # LOO: the plot, its table, the Pareto k verdict; then the predictive coverage table
    top(page.get_by_role("heading", name="Which variant predicts left-out data best? (LOO)"))
    expect(main.get_by_text("LOO across variants (higher elpd predicts better)")).to_be_visible()
    expect(main.get_by_text(re.compile(r"Pareto k (values are above|is below) 0\.7")).first).to_be_visible()
    expect(page.get_by_role("heading", name="Posterior predictive coverage")).to_be_visible()
    assert main.get_by_test_id("stDataFrame").count() >= 4  # overview, parameters, LOO, coverage
    no_exceptions(page)
    shot(page, "3-loo-and-coverage")

    # the falsification checks of each variant, and the decision stage by stage
    top(page.get_by_role("heading", name="Falsification checks"))
    checks = main.get_by_test_id("stTable")
    expect(checks.first).to_be_visible()
    expect(checks.first.get_by_text("Divergent transitions")).to_be_visible()
    expect(checks.first.get_by_text(re.compile("pass|fail"))).not_to_have_count(0)
    expect(main.get_by_text(re.compile(r"^non-centered: \d+ pass, \d+ fail, \d+ not applicable"))).to_be_visible()
    no_exceptions(page)
    shot(page, "4-checks")
    # the robust variant's checks have a tab of their own (the last tab named robust: the checks)
    page.get_by_role("tab", name="robust").last.click()
    expect(main.get_by_text(re.compile(r"^robust: \d+ pass, \d+ fail, \d+ not applicable"))).to_be_visible()
    top(page.get_by_role("heading", name="The decision, stage by stage"))
    for stage in ("Computation:", "Plausibility:", "Prediction:"):
        expect(main.get_by_text(stage).first).to_be_visible()
    expect(main.get_by_text(re.compile("Recommended:|none is recommended"))).to_be_visible()
    shot(page, "5-decision")
    # the report: downloaded from the page, opened offline in a browser of its own
    with page.expect_download(timeout=120_000) as info:
        page.get_by_role("button", name="Download report").click()
    report = ARTIFACTS / "variants-report.html"
    info.value.save_as(report)
    assert report.stat().st_size > 100_000  # plotly.js is inline: the file opens offline
    offline = page.context.browser.new_context(offline=True, viewport={"width": 1400, "height": 2400})
    try:
        view = offline.new_page()
        view.goto(report.as_uri())
        expect(view.get_by_role("heading", name="Model variants: the workflow report")).to_be_visible()
        expect(view.get_by_text(re.compile("^Recommended:|none is recommended")).first).to_be_visible()
        view.locator(PLOT).first.wait_for(timeout=60_000)
        for name in NAMES:
            expect(view.get_by_text(name).first).to_be_visible()
        shot(view, "7-report-offline")
    finally:
        offline.close()
    no_exceptions(page)
    # skeptical's tau prior decides tau (KL far below 0.1): its suggestion, added in one click
    page.get_by_role("tab", name="skeptical").last.click()
    offer = main.get_by_role("button", name=re.compile(r"^Add variant: Try a weaker prior"))
    expect(offer.first).to_be_visible()
    label = offer.first.inner_text().split("Add variant: ", 1)[1].strip()
    offer.first.click()
    expected = f"skeptical ({label[0].lower()}{label[1:]})"
    expect_name(page, 3, expected)
    expect_name(page, 4, "complete pooling")
    expect_name(page, 5, "robust")
    no_exceptions(page)
    top(page.get_by_label("Name of variant 3", exact=True))
    shot(page, "6-suggested-variant")

    # an identical re-run reuses the cached fits at once
    page.get_by_role("button", name="Remove").nth(2).click()  # the added variant
    expect(page.get_by_label("Name of variant 5", exact=True)).to_have_count(0, timeout=30_000)
    expect_name(page, 3, "complete pooling")
    expect_name(page, 4, "robust")
    page.get_by_role("heading", name="Fit all variants").scroll_into_view_if_needed()
    t0 = time.time()
    page.get_by_role("button", name="Fit all variants").click()
    expect(page.get_by_text("Loaded from the cache (these variants were fitted before).")
           ).to_be_visible(timeout=30_000)
    print(f"[e2e] the same variants again: {time.time() - t0:.1f} s (cached)")
    no_exceptions(page)
