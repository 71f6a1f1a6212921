"""Real-browser test of the live preview: eight schools on the Model page, then the Shrinkage page.

A live prior change and a data edit must redraw the figures with new numbers (read from the chart
Plotly drew), without Fit; Restore brings the data back; "Use these priors for the fit" reaches
the model's form. Screenshots in test-artifacts/screenshots/ (look at them). Timings are printed,
not asserted (bench/live_latency.py measures them).

Run: `python -m pytest tests/e2e/test_browser_live.py -m browser -s`.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from live_steps import (edit_cell, fresh, live_on, live_tau_mean, open_data_editor, partial_mean, set_live_number,
                        timed_redraw, wait_drawn)
from ui_steps import EIGHT, choose_sample, goto_page, no_exceptions

pytestmark = pytest.mark.browser

SHRINK = "live_shrinkage_model"


def test_live_priors_and_data_on_eight_schools(app_page: Page, shot):
    page = app_page
    choose_sample(page, EIGHT)
    goto_page(page, "Model")
    live_on(page)
    wait_drawn(page, SHRINK)
    wait_drawn(page, "live_hyper_tau_model")
    wait_drawn(page, "live_continuum_model")
    expect(page.get_by_text("Live preview: instant posterior (grid + quadrature).").first).to_be_visible()
    no_exceptions(page)
    tau0 = live_tau_mean(page)
    a0 = partial_mean(page, SHRINK, "A")

    # ---- a live prior: tau ~ HalfNormal(11) -> HalfNormal(2); no Fit pressed
    took = set_live_number(page, "tau: scale (live)", 2, SHRINK)
    print(f"\n[e2e] live prior -> shrinkage figure redrawn in {took:.3f} s")
    expect(page.get_by_text(re.compile(r"posterior mean of tau 1\.\d+")).first).to_be_visible()
    tau2 = live_tau_mean(page)
    assert tau2 < 2.0 < tau0
    a2 = partial_mean(page, SHRINK, "A")
    assert a2 < a0  # a smaller tau pulls the most extreme school further in
    expect(page.get_by_label("tau: scale", exact=True)).to_have_value("11")  # the model's form: unchanged
    expect(page.get_by_role("button", name="Use these priors for the fit")).to_be_enabled()
    no_exceptions(page)
    page.locator(fresh(SHRINK)).first.scroll_into_view_if_needed()
    shot(page, "1-live-prior")

    # ---- a data edit: school A's effect 28 -> 80 (the loaded data stay as they are)
    open_data_editor(page)
    took = edit_cell(page, 0, 1, 80, SHRINK)
    print(f"[e2e] data edit -> shrinkage figure redrawn in {took:.3f} s")
    a80 = partial_mean(page, SHRINK, "A")
    assert a80 > a2 + 2  # A's own estimate moved: so did its shrunken estimate
    assert live_tau_mean(page) > tau2
    expect(page.get_by_text(re.compile(r"^Edited: A: effect 28 (->|→) 80\. The live figures use the edited numbers"))).to_be_visible()
    no_exceptions(page)
    page.locator(fresh(SHRINK)).first.scroll_into_view_if_needed()
    shot(page, "2-live-data-edit")

    # ---- restore the original data in one click
    restore = page.get_by_role("button", name="Restore the original data")
    restore.scroll_into_view_if_needed()
    took = timed_redraw(page, SHRINK, restore.click)
    print(f"[e2e] restore -> shrinkage figure redrawn in {took:.3f} s")
    expect(page.get_by_text(re.compile(r"^Edited: "))).to_have_count(0)
    assert partial_mean(page, SHRINK, "A") == pytest.approx(a2, abs=1e-9)
    assert live_tau_mean(page) == pytest.approx(tau2)
    no_exceptions(page)
    shot(page, "3-live-restored")

    # ---- use the live priors for the fit: the model's form shows them
    page.get_by_role("button", name="Use these priors for the fit").click()
    expect(page.get_by_label("tau: scale", exact=True)).to_have_value("2", timeout=30_000)
    expect(page.get_by_role("button", name="Use these priors for the fit")).to_be_disabled()
    no_exceptions(page)

    # ---- the Shrinkage page's live panel (no fit yet): the same live state
    goto_page(page, "Shrinkage")
    wait_drawn(page, "live_shrinkage_shrinkage")  # the toggle stays on across pages
    assert live_tau_mean(page) == pytest.approx(tau2)
    took = set_live_number(page, "tau: scale (live)", 5, "live_shrinkage_shrinkage")
    print(f"[e2e] Shrinkage page: live prior -> figure redrawn in {took:.3f} s")
    assert live_tau_mean(page) > tau2
    expect(page.get_by_text("There is no fit yet").first).to_be_visible()
    no_exceptions(page)
    shot(page, "4-shrinkage-page-live")
