"""Share links in a real browser: a teacher's link opens eight schools with the link's model (priors,
parameterization, sampler settings, the instant method) for everyone; Fit gives the result; a second
browser context opening the same link gets the same model; "Share this model" writes the address.

Run: `python -m pytest tests/e2e/test_browser_share_links.py -m browser -s`. Screenshots land in
test-artifacts/screenshots/ -- look at them.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from hiermod.share_state import decode
from ui_steps import EIGHT, goto_page, no_exceptions, press_fit

pytestmark = pytest.mark.browser

LINK = ("v=1&data=eight_schools&lik=normal_known_se&pool=partial&param=centered"
        "&prior.mu=Normal(0,5)&prior.tau=HalfNormal(3)&chains=2&warmup=300&draws=300&seed=3"
        "&method=instant")


def open_link(page: Page, url: str) -> None:
    page.set_default_timeout(30_000)
    page.goto(url)
    expect(page.get_by_text("Opened from a shared link").first).to_be_visible(timeout=60_000)


def check_model_page(page: Page) -> None:
    """The Model page shows the link's settings in its widgets."""
    expect(page.get_by_role("radio", name="Partial pooling: groups share a distribution")).to_be_checked()
    expect(page.get_by_role("radio", name="Centered", exact=True)).to_be_checked()
    expect(page.get_by_role("combobox", name="Prior for tau")).to_have_value("HalfNormal")
    expect(page.get_by_label("tau: scale", exact=True)).to_have_value("3")
    expect(page.get_by_role("combobox", name="Prior for mu")).to_have_value("Normal")
    expect(page.get_by_label("mu: loc", exact=True)).to_have_value("0")
    expect(page.get_by_label("mu: scale", exact=True)).to_have_value("5")
    page.get_by_text("Advanced: sampler settings").click()
    expect(page.get_by_label("Chains", exact=True)).to_have_value("2")
    expect(page.get_by_label("Warmup", exact=True)).to_have_value("300")
    expect(page.get_by_label("Seed", exact=True)).to_have_value("3")
    expect(page.get_by_text("2 chains x (300 warmup + 300 draws)").first).to_be_visible()


def test_a_shared_link_opens_the_same_model_for_everyone(page: Page, app_url: str, browser: Browser, shot,
                                                         browser_context_args):
    open_link(page, f"{app_url}/?{LINK}")
    expect(page.get_by_role("combobox", name="Sample data set")).to_have_value(EIGHT)
    expect(page.get_by_text("summary data, 8 groups, 8 rows")).to_be_visible()
    no_exceptions(page)
    shot(page, "1-data-opened-from-link")

    goto_page(page, "Model")
    expect(page.get_by_text("Opened from a shared link").first).to_be_visible()
    check_model_page(page)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    no_exceptions(page)
    shot(page, "2-model-from-link")

    goto_page(page, "Fit")
    expect(page.get_by_role("radio", name=re.compile(r"^Instant posterior"))).to_be_checked()
    expect(page.get_by_text("tau ~ HalfNormal(3)", exact=False)).to_be_attached()
    press_fit(page)
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=120_000)
    expect(page.get_by_text(re.compile(r"Fit of .*partial pooling, centered")).first).to_be_visible()
    expect(page.get_by_text("Posterior summary")).to_be_visible()
    no_exceptions(page)
    shot(page, "3-instant-fit-result")

    # a second student: another browser context (own cookies, own session), the same link,
    # opened straight on the Model page
    other = browser.new_context(**browser_context_args)
    try:
        page2 = other.new_page()
        open_link(page2, f"{app_url}/Model?{LINK}")
        expect(page2.get_by_role("heading", name="Model", exact=True).first).to_be_visible()
        check_model_page(page2)
        no_exceptions(page2)
        shot(page2, "4-second-student-model")
        # "Share this model" there gives back the same link, and puts it in the address bar
        page2.get_by_role("button", name="Share this model").click()
        code = page2.get_by_test_id("stCode").first
        expect(code).to_contain_text("data=eight_schools", timeout=30_000)
        shared = code.inner_text().strip()
        assert shared.startswith(f"{app_url}/Model?v=1&data=eight_schools"), shared
        expect(page2).to_have_url(re.compile(r"data=eight_schools"), timeout=30_000)
        original = decode(parse_qs(LINK)).link
        made = decode(parse_qs(urlsplit(shared).query)).link
        in_address = decode(parse_qs(urlsplit(page2.url).query)).link
        assert made == original  # the same data set, model, priors, settings and method
        assert in_address == made
        page2.mouse.move(5, 5)  # no tooltip over the page
        shot(page2, "5-share-this-model")
        no_exceptions(page2)
    finally:
        other.close()


def test_a_link_made_with_uploaded_data_asks_for_the_file(app_url: str, page: Page, shot):
    link = ("v=1&data=upload&col.kind=summary&col.group=school&col.y=effect&col.se=se"
            "&lik=normal_known_se&pool=partial&param=centered&prior.tau=HalfNormal(3)&chains=2&method=instant")
    open_link(page, f"{app_url}/?{link}")
    expect(page.get_by_text("upload the same file again").first).to_be_visible()
    no_exceptions(page)
    shot(page, "1-upload-asked")
    from ui_steps import REPO

    page.get_by_test_id("stRadioGroup").get_by_text("Upload a CSV").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        str(REPO / "sample_data" / "eight_schools.csv"))
    expect(page.get_by_text("Opened from a shared link: the uploaded file").first).to_be_visible(timeout=30_000)
    goto_page(page, "Model")
    expect(page.get_by_role("radio", name="Centered", exact=True)).to_be_checked()
    expect(page.get_by_label("tau: scale", exact=True)).to_have_value("3")
    page.get_by_role("button", name="Share this model").click()
    expect(page.get_by_text("a link never carries data").first).to_be_visible(timeout=30_000)
    expect(page.get_by_test_id("stCode").first).to_contain_text("data=upload")
    no_exceptions(page)
    page.mouse.move(5, 5)
    shot(page, "2-upload-applied-and-shared")
