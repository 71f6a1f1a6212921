"""Steps shared by the real-browser tests (and bench/app_latency.py): navigate, pick a sample,
set sampler settings, press Fit, check that no exception box is on the page."""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Page, expect

REPO = Path(__file__).resolve().parents[2]
EIGHT = "Eight schools: SAT coaching experiments"
RADON = "Radon in Minnesota homes (85 counties)"
PLOT = ".js-plotly-plot .main-svg"


def no_exceptions(page: Page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


def goto_page(page: Page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible(timeout=30_000)


def choose_sample(page: Page, title: str) -> None:
    page.get_by_role("combobox", name="Sample data set").click()
    page.get_by_role("option", name=title).click()
    expect(page.get_by_role("combobox", name="Sample data set")).to_have_value(title)
    expect(page.get_by_text(re.compile(r"\d+ groups, \d+ rows")).first).to_be_visible(timeout=30_000)


def set_number(page: Page, label: str, value) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Enter")


def sampler_settings(page: Page, **values) -> None:
    page.get_by_text("Advanced: sampler settings").click()
    labels = {"chains": "Chains", "warmup": "Warmup", "draws": "Draws", "seed": "Seed"}
    for key, value in values.items():
        set_number(page, labels[key], value)
    page.get_by_role("button", name="Apply").click()


def press_fit(page: Page) -> float:
    button = page.get_by_role("button", name="Fit", exact=True)
    expect(button).to_be_enabled(timeout=30_000)
    t0 = time.time()
    button.click()
    return t0
