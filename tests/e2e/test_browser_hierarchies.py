"""Real-browser walks through the new hierarchies: a nested data set (classes in schools), a
varying-slopes data set and a Beta population (rat tumours), from the Data page to the checks.

Run: `python -m pytest tests/e2e/test_browser_hierarchies.py -s`. Screenshots land in
test-artifacts/screenshots/ -- look at them.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from ui_steps import PLOT, choose_sample, goto_page, no_exceptions, press_fit, sampler_settings

pytestmark = pytest.mark.browser

NESTED = "Simulated classes in schools: two nested levels with known truth"
SLOPES = "Simulated study hours: a slope that differs by school"
RATS = "Rat tumours: 71 laboratory experiments"


def _fit_small(page: Page) -> float:
    """Small sampler settings on the Model page, then Fit; returns seconds to 'Fit finished'."""
    sampler_settings(page, chains=2, warmup=300, draws=300)
    expect(page.get_by_text("2 chains x (300 warmup + 300 draws)").first).to_be_visible(timeout=30_000)
    goto_page(page, "Fit")
    t0 = press_fit(page)
    expect(page.get_by_text("Fit finished").first).to_be_visible(timeout=300_000)
    no_exceptions(page)
    return time.time() - t0


def _model_math_shown(page: Page) -> None:
    """The model written out: KaTeX rendered inside the 'The model' expander."""
    expect(page.get_by_text("The model", exact=True).first).to_be_visible()
    expect(page.locator(".katex").first).to_be_visible(timeout=30_000)


def test_nested_schools_and_classes(app_page: Page, shot):
    page = app_page
    choose_sample(page, NESTED)
    expect(page.get_by_text("8 school groups > 33 class groups > 571 rows").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"appears under 8 different 'school' groups")).first).to_be_visible()
    shot(page, "1-data")
    no_exceptions(page)

    goto_page(page, "Model")
    expect(page.get_by_text("Level 'school'")).to_be_visible()
    expect(page.get_by_text("Level 'class'")).to_be_visible()
    _model_math_shown(page)
    expect(page.get_by_text("Prior for tau_class")).to_be_visible()
    shot(page, "2-model")
    seconds = _fit_small(page)
    shot(page, "3-fit")

    goto_page(page, "Shrinkage")
    expect(page.get_by_role("heading", name="Each school toward the grand mean")).to_be_visible(timeout=60_000)
    page.get_by_text("each class toward its school").click()
    expect(page.get_by_role("heading", name="Each class toward its school")).to_be_visible(timeout=60_000)
    page.locator(PLOT).first.wait_for(timeout=60_000)
    no_exceptions(page)
    shot(page, "4-shrinkage-classes")

    goto_page(page, "Funnel and diagnostics")
    expect(page.get_by_text("Scale parameter").first).to_be_visible(timeout=60_000)
    page.locator(PLOT).first.wait_for(timeout=60_000)
    no_exceptions(page)
    shot(page, "5-funnel")

    goto_page(page, "Checks and comparison")
    expect(page.get_by_role("heading", name="A new group at each level")).to_be_visible(timeout=60_000)
    page.get_by_role("button", name="Compare structures").click()
    expect(page.get_by_text(re.compile(r"Best expected predictive accuracy")).first).to_be_visible(timeout=400_000)
    no_exceptions(page)
    shot(page, "6-checks")
    print(f"\n[e2e] nested fit 2x(300+300): {seconds:.1f} s")


def test_varying_slopes(app_page: Page, shot):
    page = app_page
    choose_sample(page, SLOPES)
    expect(page.get_by_text(re.compile(r"Slope covariates")).first).to_be_visible()
    shot(page, "1-data")

    goto_page(page, "Model")
    expect(page.get_by_text("Intercept/slope correlation")).to_be_visible()
    expect(page.get_by_text("Prior for rho", exact=True)).to_be_visible()
    _model_math_shown(page)
    shot(page, "2-model")
    seconds = _fit_small(page)

    goto_page(page, "Shrinkage")
    expect(page.get_by_role("heading", name="Intercepts and slopes of hours, before and after pooling")
           ).to_be_visible(timeout=60_000)
    expect(page.get_by_text("Each group's own line pulled toward the population").first).to_be_visible(timeout=60_000)
    no_exceptions(page)
    shot(page, "3-shrinkage")

    goto_page(page, "Funnel and diagnostics")
    page.get_by_text("tau_hours", exact=False).first.wait_for(timeout=60_000)
    no_exceptions(page)
    shot(page, "4-funnel")

    goto_page(page, "Checks and comparison")
    expect(page.get_by_role("heading", name="A simpler structure?")).to_be_visible(timeout=60_000)
    no_exceptions(page)
    shot(page, "5-checks")
    print(f"\n[e2e] varying slopes fit 2x(300+300): {seconds:.1f} s")


def test_beta_population(app_page: Page, shot):
    page = app_page
    choose_sample(page, RATS)
    goto_page(page, "Model")
    page.get_by_text(re.compile(r"^Beta \(conjugate\)")).click()
    expect(page.get_by_text("Prior for alpha", exact=True)).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Prior for beta", exact=True)).to_be_visible()
    _model_math_shown(page)
    shot(page, "1-model")
    seconds = _fit_small(page)
    expect(page.get_by_text(re.compile(r"Beta population")).first).to_be_visible()

    goto_page(page, "Shrinkage")
    page.locator(PLOT).first.wait_for(timeout=60_000)
    expect(page.get_by_text(re.compile(r"alpha / \(alpha \+ beta\)|probability")).first).to_be_visible()
    no_exceptions(page)
    shot(page, "2-shrinkage")

    goto_page(page, "Checks and comparison")
    expect(page.get_by_role("heading", name="A simpler structure?")).to_be_visible(timeout=60_000)
    no_exceptions(page)
    shot(page, "3-checks")
    print(f"\n[e2e] Beta population fit 2x(300+300): {seconds:.1f} s")
