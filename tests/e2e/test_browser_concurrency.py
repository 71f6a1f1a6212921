"""Many users at once, in a real browser: four sessions fitting together on the one server, and
cancelling twice in a row.

Each session uploads its own copy of eight schools with the effects shifted by a distinct constant
and the school labels prefixed, so every result is recognisable. The server runs one fit at a time
(``HIERMOD_WORKERS`` default 1), so the others wait in the queue and the page shows their place.

Run: `python -m pytest tests/e2e/test_browser_concurrency.py -s` (prints timings and memory).
"""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect


from ui_steps import RADON, REPO, choose_sample, goto_page, no_exceptions, press_fit, sampler_settings

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1400, "height": 2400}
SESSIONS = 4
SHIFT = 100.0  # session k (1..4) adds k * SHIFT to every effect
RSS_BOUND_MB = 3072  # documented in the README (Limits and safety)
PAGE_LOAD_BOUND_S = 15.0
CONCURRENT = dict(chains=2, warmup=150, draws=3000)  # long enough for the others to queue


def shifted_schools(path: Path, k: int, shift: float) -> Path:
    rows = list(csv.DictReader((REPO / "sample_data" / "eight_schools.csv").open(encoding="utf-8")))
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(["school", "effect", "se"])
        for row in rows:
            out.writerow([f"S{k}-{row['school']}", float(row["effect"]) + shift, row["se"]])
    return path


def server_pid(url: str) -> int:
    """The pid of the `streamlit run` serving ``url`` (found by its --server.port argument)."""
    port = url.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(args) and b"--server.port" in args:
            i = args.index(b"--server.port")
            if i + 1 < len(args) and args[i + 1].decode() == port:
                return int(proc.name)
    raise AssertionError(f"no streamlit process on port {port}")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("VmRSS not found")


def open_session(browser: Browser, url: str) -> Page:
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(url, timeout=120_000)
    page.get_by_role("heading", name="Data").first.wait_for(timeout=60_000)
    return page


def upload(page: Page, path: Path) -> None:
    page.get_by_test_id("stRadioGroup").get_by_text("Upload a CSV").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
    expect(page.get_by_text("summary data, 8 groups, 8 rows").first).to_be_visible(timeout=30_000)


def summary_csv(page: Page) -> dict[str, dict[str, str]]:
    """Download the Shrinkage page's summary CSV; rows by parameter name."""
    goto_page(page, "Shrinkage")
    button = page.get_by_role("button", name="Summary table (CSV)")
    expect(button).to_be_visible(timeout=60_000)
    with page.expect_download(timeout=60_000) as info:
        button.click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    name = next(k for k in rows[0] if k.strip().lower() in ("", "parameter", "name", "index"))
    return {row[name]: row for row in rows}


def test_four_sessions_fit_at_once(browser: Browser, app_url: str, tmp_path, shot):
    pid = server_pid(app_url)
    rss = {"before": rss_mb(pid)}
    pages: list[Page] = []
    for k in range(1, SESSIONS + 1):
        page = open_session(browser, app_url)
        upload(page, shifted_schools(tmp_path / f"schools_shift_{k}.csv", k, k * SHIFT))
        goto_page(page, "Model")
        sampler_settings(page, seed=k, **CONCURRENT)
        expect(page.get_by_text(f"{CONCURRENT['draws']} draws").first).to_be_visible(timeout=30_000)
        goto_page(page, "Fit")
        pages.append(page)
    rss["set-up"] = rss_mb(pid)

    pressed = [press_fit(page) for page in pages]
    finished: dict[int, float] = {}
    places_seen: set[str] = set()
    load_times: list[float] = []
    rss_during = []
    deadline = time.time() + 600
    place = re.compile(r"Waiting: (\d+)(st|nd|rd|th) in line")
    while len(finished) < SESSIONS and time.time() < deadline:
        for i, page in enumerate(pages):
            if i in finished:
                continue
            if page.get_by_role("heading", name="Results").count():
                finished[i] = time.time() - pressed[i]
                continue
            for text in page.get_by_text(place).all_inner_texts():
                places_seen.update(m.group(0) for m in place.finditer(text))
        rss_during.append(rss_mb(pid))
        if len(load_times) < 2 and len(finished) < SESSIONS - 1:
            # a fresh visitor while the fits run: the app answers with its first heading
            t0 = time.time()
            visitor = open_session(browser, app_url)
            load_times.append(time.time() - t0)
            visitor.context.close()
        time.sleep(0.3)
    rss["during (max)"] = max(rss_during)
    assert len(finished) == SESSIONS, f"only sessions {sorted(finished)} finished within 600 s"
    shot(pages[-1], "fourth-session-results")

    # each session sees its own data and its own results
    for k, page in enumerate(pages, start=1):
        no_exceptions(page)
        expect(page.get_by_text(f"schools_shift_{k}.csv").first).to_be_visible()
        table = summary_csv(page)
        thetas = sorted(name for name in table if name.startswith("theta["))
        assert thetas == sorted(f"theta[S{k}-{s}]" for s in "ABCDEFGH"), thetas
        mu = float(table["mu"]["mean"])
        assert abs(mu - (k * SHIFT + 8)) < 30, f"session {k}: mu mean {mu}"
        no_exceptions(page)
    rss["after"] = rss_mb(pid)

    times = ", ".join(f"{finished[i]:.1f} s" for i in range(SESSIONS))
    print(f"\n[e2e] {SESSIONS} sessions, {CONCURRENT}: time from Fit to results {times}")
    print(f"[e2e] fresh page load during the fits: {', '.join(f'{t:.1f} s' for t in load_times)}")
    print(f"[e2e] queue places shown: {sorted(places_seen)}")
    print("[e2e] server RSS: " + ", ".join(f"{k} {v:.0f} MB" for k, v in rss.items()))
    for page in pages:
        page.context.close()
    assert "Waiting: 2nd in line" in places_seen, places_seen
    assert load_times and max(load_times) < PAGE_LOAD_BOUND_S, load_times
    assert max(rss.values()) < RSS_BOUND_MB, rss


def test_cancel_twice_then_fit_normally(browser: Browser, app_url: str, tmp_path, shot):
    """Cancel a long fit twice in a row; the next fit runs and gives the draws of an undisturbed
    fit with the same seed (compared with the library, through the summary CSV). Radon, 8 chains x
    20,000 draws: seconds of sampling (eight schools' 20,000 draws took well under a second, so a
    fit could end before Cancel was pressed)."""
    from hiermod.datasets import load_dataset
    from hiermod.diagnostics import summary_table
    from hiermod.fitting import fit
    from ui.state import default_spec_for

    page = open_session(browser, app_url)
    choose_sample(page, RADON)
    goto_page(page, "Model")
    sampler_settings(page, chains=8, warmup=150, draws=20000, seed=5)
    expect(page.get_by_text("20000 draws").first).to_be_visible(timeout=30_000)
    goto_page(page, "Fit")
    main = page.get_by_test_id("stMainBlockContainer")
    took = []
    for attempt in range(2):
        press_fit(page)
        expect(main.get_by_text(re.compile(r"(Warmup|Sampling): [\d,]+ of"))).to_be_visible(timeout=120_000)
        t0 = time.time()
        page.get_by_role("button", name="Cancel").click()
        expect(page.get_by_text("Fit cancelled")).to_be_visible(timeout=60_000)
        took.append(time.time() - t0)
        no_exceptions(page)
    shot(page, "cancelled-twice")

    goto_page(page, "Model")
    sampler_settings(page, chains=2, draws=200)
    expect(page.get_by_text("200 draws").first).to_be_visible(timeout=30_000)
    goto_page(page, "Fit")
    press_fit(page)
    expect(page.get_by_role("heading", name="Results")).to_be_visible(timeout=180_000)
    expect(page.get_by_text("Fit finished")).to_be_visible()
    no_exceptions(page)
    table = summary_csv(page)
    page.context.close()

    data = load_dataset("radon")
    reference = summary_table(fit(data, default_spec_for(data), chains=2, warmup=150, draws=200, seed=5))
    first_county = next(name for name in reference.index if name.startswith("theta["))
    for name in ("mu", "tau", first_county):
        assert float(table[name]["mean"]) == pytest.approx(float(reference.loc[name, "mean"]), rel=1e-5,
                                                           abs=1e-6), name
    print(f"\n[e2e] two cancels in a row: 'Fit cancelled' after {took[0]:.1f} s and {took[1]:.1f} s; "
          "the next fit matches the library's")
