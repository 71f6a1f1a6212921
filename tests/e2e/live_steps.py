"""Browser steps for the live preview (tests/e2e/test_browser_live.py and bench/live_latency.py):
read a live figure's drawn data, change a live prior or a data cell, and wait until the figure
on the page has been redrawn with new content.

A figure is found by its Streamlit key (``st-key-<key>``); its content is the data Plotly drew
(``gd.data``: x, y and hover data of every trace; x and y may be base64 typed arrays), read in the page, so "redrawn" means the new numbers are in
the chart, not only that the server answered.
"""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

SUMMARY = re.compile(r"Instant posterior \(grid \+ quadrature\): posterior mean of tau ([\d.e+-]+)")

_SIGNATURE = """key => {
  const gd = document.querySelector('.st-key-' + key + '[data-stale="false"] .js-plotly-plot');
  if (!gd || !gd.data) return null;
  return JSON.stringify(gd.data.map(t => [t.x, t.y, t.customdata]));
}"""

_CHANGED = "([key, old]) => { const sig = (" + _SIGNATURE + ")(key); return sig !== null && sig !== old; }"

_PARTIAL_MEAN = """([key, group]) => {
  const gd = document.querySelector('.st-key-' + key + '[data-stale="false"] .js-plotly-plot');
  const t = gd.data.find(t => (t.name || '').startsWith('partial pooling'));
  const row = Array.from(t.customdata).find(c => c[0] === group);
  return row ? row[3] : null;
}"""


def fresh(key: str) -> str:
    """CSS selector of the element with Streamlit key ``key`` from the latest run (during a rerun
    Streamlit keeps the previous run's elements, marked stale, until their replacements arrive)."""
    return f'.st-key-{key}[data-stale="false"]'


def signature(page: Page, key: str) -> str | None:
    """The drawn data of the live figure ``key`` (None until Plotly has drawn it)."""
    return page.evaluate(_SIGNATURE, key)


def wait_idle(page: Page, timeout: float = 60_000) -> None:
    """Wait until the app is not running a script (Streamlit's 'Running...' status is gone)."""
    page.wait_for_timeout(100)
    expect(page.get_by_test_id("stStatusWidget").get_by_text("Running")).to_have_count(0, timeout=timeout)


def wait_drawn(page: Page, key: str, timeout: float = 60_000) -> str:
    """Wait until figure ``key`` is drawn and the app is idle; its signature."""
    page.locator(f"{fresh(key)} .js-plotly-plot").first.wait_for(timeout=timeout)
    page.wait_for_function(f"key => ({_SIGNATURE})(key) !== null", arg=key, timeout=timeout)
    wait_idle(page, timeout)
    return signature(page, key)


def timed_redraw(page: Page, key: str, commit, timeout: float = 60_000) -> float:
    """Seconds from ``commit()`` (the keystroke that sends the change) until figure ``key`` shows
    new data (polled on every animation frame in the page)."""
    old = signature(page, key)
    t0 = time.perf_counter()
    commit()
    page.wait_for_function(_CHANGED, arg=[key, old], polling="raf", timeout=timeout)
    return time.perf_counter() - t0


def partial_mean(page: Page, key: str, group: str) -> float:
    """The partial-pooling estimate of ``group`` drawn in shrinkage figure ``key`` (from the hover
    data of its partial-pooling trace: group, size, own estimate, partial mean, ...)."""
    return float(page.evaluate(_PARTIAL_MEAN, [key, group]))


def live_tau_mean(page: Page) -> float:
    text = page.get_by_text(SUMMARY).first.inner_text()
    return float(SUMMARY.search(text).group(1))


def set_live_number(page: Page, label: str, value, key: str) -> float:
    """Type ``value`` into the live number input ``label``; seconds until figure ``key`` is redrawn."""
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    return timed_redraw(page, key, lambda: box.press("Enter"))


def live_on(page: Page) -> None:
    """Turn the live preview on (its toggle; it stays on for every page of the session)."""
    toggle = page.get_by_role("switch", name=re.compile(r"^Live preview: the posterior redrawn"))
    toggle.first.scroll_into_view_if_needed()
    if not toggle.first.is_checked():
        toggle.first.click(force=True)
    expect(toggle.first).to_be_checked()


def open_data_editor(page: Page) -> None:
    header = page.get_by_text("What if the data were different? Edit the groups", exact=True)
    grid = page.locator('[data-testid="stDataFrame"]')
    if not grid.first.is_visible():
        header.first.click()
    expect(grid.first).to_be_visible(timeout=30_000)


ROW = 35  # px: Streamlit's data editor rows and header


def open_cell(page: Page, row: int, column: int, attempts: int = 3):
    """Open the live data editor's cell (row, column) (0-based; column 0 is the group) for typing;
    returns its input box. The grid is a canvas: click the row's group cell, move right with the
    arrow keys, Enter opens the cell's editor (retried if the grid had not taken the keys yet)."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    for _ in range(attempts):
        grid.scroll_into_view_if_needed()
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 20, box["y"] + ROW + ROW * row + ROW / 2)
        page.wait_for_timeout(150)
        for _ in range(column):
            page.keyboard.press("ArrowRight")
            page.wait_for_timeout(50)
        page.keyboard.press("Enter")  # opens the cell's editor
        cell = page.locator("input.gdg-input, textarea.gdg-input").first
        cell.wait_for(timeout=10_000)
        if cell.is_enabled():
            return cell
        page.keyboard.press("Escape")  # a read-only cell (the group): the keys went elsewhere
        page.wait_for_timeout(300)
    raise AssertionError(f"could not open cell ({row}, {column}) of the live data editor for typing")


def edit_cell(page: Page, row: int, column: int, value, key: str) -> float:
    """Type ``value`` into the live data editor's cell (row, column) and commit it; seconds from
    the committing Enter until figure ``key`` is redrawn."""
    open_cell(page, row, column).fill(str(value))
    return timed_redraw(page, key, lambda: page.keyboard.press("Enter"))
