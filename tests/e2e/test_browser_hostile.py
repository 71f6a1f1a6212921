"""Real browser: a summary CSV whose group labels are HTML/JS/formula payloads is uploaded, fitted
with tiny settings, and shown on the Data, Shrinkage, Funnel and Checks pages. No dialog may open,
no payload may run (window.__pwned stays undefined), and the labels appear as literal text.

Run: `python -m pytest tests/e2e/test_browser_hostile.py -s`; screenshots in test-artifacts/screenshots/.
"""

from __future__ import annotations

import csv
import re
import time

import pytest
from playwright.sync_api import Page, expect

from ui_steps import PLOT, goto_page, no_exceptions

pytestmark = pytest.mark.browser

PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    "<script>window.__pwned=2</script>",
    '<a href="javascript:window.__pwned=3">x</a>',
    "<svg onload=alert(1)>",
    "<b>bold</b><br>",
    '=HYPERLINK("http://x")',
    "+cmd",
    "@SUM(A1)",
]
EFFECTS = [28, 8, -3, 7, -1, 1, 18, 12]
SES = [15, 10, 16, 11, 9, 11, 10, 18]


def not_pwned(page: Page, dialogs: list) -> None:
    assert dialogs == [], dialogs
    assert page.evaluate("typeof window.__pwned") == "undefined"


def tick_texts(page: Page) -> str:
    return "\n".join(page.locator(".js-plotly-plot .ytick text, .js-plotly-plot .xtick text").all_text_contents())


def test_hostile_labels_never_run(app_page: Page, shot, tmp_path):
    page = app_page
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    path = tmp_path / "hostile_schools.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["school", "effect", "se"])
        writer.writerows(zip(PAYLOADS, EFFECTS, SES))

    page.get_by_text("Upload a CSV", exact=True).click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    expect(page.get_by_text("summary data, 8 groups, 8 rows")).to_be_visible(timeout=30_000)
    no_exceptions(page)
    shot(page, "1-data")
    not_pwned(page, dialogs)

    goto_page(page, "Model")
    page.get_by_text("Partial pooling: groups share a distribution").click()
    page.get_by_text("Advanced: sampler settings").click()
    for label, value in (("Chains", 1), ("Warmup", 100), ("Draws", 100)):
        box = page.get_by_label(label, exact=True)
        box.fill(str(value))
        box.press("Enter")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("1 chains x (100 warmup + 100 draws)").first).to_be_visible(timeout=30_000)
    page.locator(PLOT).first.wait_for(timeout=60_000)
    not_pwned(page, dialogs)

    goto_page(page, "Fit")
    button = page.get_by_role("button", name="Fit", exact=True)
    expect(button).to_be_enabled(timeout=30_000)
    t0 = time.time()
    button.click()
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=240_000)
    expect(page.get_by_text(re.compile("Fit finished|loaded from the cache")).first).to_be_visible(timeout=240_000)
    print(f"\n[e2e] hostile-label fit {time.time() - t0:.1f} s")
    no_exceptions(page)
    not_pwned(page, dialogs)

    seen = ""
    for title in ("Shrinkage", "Funnel and diagnostics", "Checks and comparison"):
        goto_page(page, title)
        page.locator(PLOT).first.wait_for(timeout=60_000)
        time.sleep(1.5)  # let every chart draw
        no_exceptions(page)
        not_pwned(page, dialogs)
        seen += tick_texts(page) + "\n" + page.locator("body").inner_text()
        shot(page, re.sub(r"\W+", "-", title.lower()))

    goto_page(page, "Data")
    no_exceptions(page)
    time.sleep(1.0)
    not_pwned(page, dialogs)
    # the labels are drawn as the literal text the user typed (plotly tick labels, page text)
    for label in ("<b>bold</b><br>", "<svg onload=alert(1)>", '=HYPERLINK("http://x")', "@SUM(A1)"):
        assert label in seen, (label, seen[:2000])
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("svg[onload]").count() == 0
    not_pwned(page, dialogs)
