"""Steps for a whole class in one browser (tests/e2e/test_browser_class.py, bench/class_load.py):
many sessions, each with its own prior and seed, pressing Fit within a few seconds of each other.

Timings are taken in the page itself: an init script checks the page's text every 100 ms and
records ``Date.now()`` when the preview ("Exact/Instant posterior (available now ...") and the
results (the Results caption "Fit of ...; ..., seed <this session's seed>.") first appear (and,
separately, the "Fit finished" box), and whether a "busy" refusal, a failure or an exception box
ever did. So one Python thread can drive 40 pages without its polling blurring their times.
"""

from __future__ import annotations

import csv
import io
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from ui_steps import EIGHT, choose_sample, goto_page

MARKS_JS = r"""
(() => {
  window.__hm = window.__hm || {};
  const place = /Waiting: (\d+)(st|nd|rd|th) in line/;
  setInterval(() => {
    const b = document.body, m = window.__hm;
    if (!b || !m.pressed) return;
    const t = b.textContent || '', now = Date.now();
    if (!m.preview && /(Exact|Instant) posterior \(available now/.test(t)) m.preview = now;
    if (!m.finished && t.includes('Fit finished')) m.finished = now;
    if (!m.done && t.includes('Fit of ') && t.includes('seed ' + m.seed + '.')) m.done = now;
    if (!m.busy && t.includes('server is busy')) { m.busy = now; m.busyText = t.slice(t.indexOf('server is busy') - 10, t.indexOf('server is busy') + 200); }
    if (!m.failed && (t.includes('The fit failed') || t.includes('stopped unexpectedly'))) m.failed = now;
    if (!m.error && document.querySelector('[data-testid="stException"]')) m.error = now;
    const q = place.exec(t);
    if (q) m.maxPlace = Math.max(m.maxPlace || 0, parseInt(q[1], 10));
  }, 100);
})();
"""


@dataclass
class Student:
    """One browser session of the class and what it asked for."""

    index: int
    tau_scale: float
    seed: int
    method: str = "nuts"
    mu_loc: float | None = None        # None: the default prior on mu (Normal(7.5, 27.5))
    mu_scale: float = 4.0              # used with mu_loc
    page: Page | None = None
    load_s: float | None = None        # goto to the Data heading, when the session opened
    setup_s: float | None = None
    apply_attempts: int = 0            # Model page Apply + Fit page check, until the seed showed
    marks: dict = field(default_factory=dict)
    table: dict = field(default_factory=dict)
    table_check: dict = field(default_factory=dict)  # bench/class_load.py: what was read and compared

    @property
    def tau_prior(self) -> str:
        return f"HalfNormal({self.tau_scale:g})"

    @property
    def mu_prior(self) -> str | None:
        return None if self.mu_loc is None else f"Normal({self.mu_loc:g}, {self.mu_scale:g})"

    def seconds(self, mark: str) -> float | None:
        """Seconds from pressing Fit to ``mark`` ("preview"; "done": the results with this session's
        seed; "finished": the "Fit finished" box), or None if not seen."""
        if mark not in self.marks or "pressed" not in self.marks:
            return None
        return (self.marks[mark] - self.marks["pressed"]) / 1000.0


def open_session(browser: Browser, url: str, viewport: dict, timeout_ms: int = 120_000) -> tuple[Page, float]:
    """A new context (a Streamlit session of its own) on the app; (page, seconds to the Data heading)."""
    context = browser.new_context(viewport=viewport)
    context.add_init_script(MARKS_JS)
    page = context.new_page()
    page.set_default_timeout(60_000)
    t0 = time.time()
    try:
        page.goto(url, timeout=timeout_ms)
        page.get_by_role("heading", name="Data").first.wait_for(timeout=timeout_ms)
    except Exception:
        context.close()
        raise
    return page, time.time() - t0


def _fill(page: Page, label: str, value) -> None:
    box = page.get_by_label(label, exact=True)
    box.fill(str(value))
    box.press("Tab")  # commits the number; Enter would submit the form before the other fields


def set_up(student: Student, browser: Browser, url: str, viewport: dict, settings: dict | None = None) -> None:
    """Open the app, pick eight schools, set this student's prior(s), seed (and ``settings``:
    chains / warmup / draws) on the Model page, Apply, go to the Fit page and choose the method."""
    t0 = time.time()
    page, student.load_s = open_session(browser, url, viewport)
    student.page = page
    choose_sample(page, EIGHT)
    for attempt in range(3):
        student.apply_attempts = attempt + 1
        if _apply(page, student, settings):
            break
    else:
        raise AssertionError(f"session {student.index}: the Fit page never showed seed {student.seed}")
    priors_text = page.get_by_test_id("stExpander").filter(has_text="Priors").first.text_content()
    assert f"tau ~ {student.tau_prior}" in priors_text, (student.index, priors_text)
    if student.mu_loc is not None:
        assert f"mu ~ {student.mu_prior}" in priors_text, (student.index, priors_text)
    if student.method != "nuts":
        page.get_by_test_id("stRadio").filter(has_text="Method").get_by_text(
            re.compile(student.method, re.I)).first.click()
        page.wait_for_timeout(300)
    expect(page.get_by_role("button", name="Fit", exact=True)).to_be_enabled(timeout=60_000)
    student.setup_s = time.time() - t0


def _apply(page: Page, student: Student, settings: dict | None) -> bool:
    """Set the prior(s), seed and settings on the Model page, Apply, go to the Fit page; True when
    it states this student's seed. (Leaving the Model page while the server is still running the
    Apply can lose it on a busy server: the caller tries again.)"""
    goto_page(page, "Model")
    _fill(page, "tau: scale", f"{student.tau_scale:g}")
    if student.mu_loc is not None:
        _fill(page, "mu: loc", f"{student.mu_loc:g}")
        _fill(page, "mu: scale", f"{student.mu_scale:g}")
    expander = page.get_by_text("Advanced: sampler settings")
    if not page.get_by_label("Seed", exact=True).is_visible():
        expander.click()
    labels = {"chains": "Chains", "warmup": "Warmup", "draws": "Draws"}
    for key, value in (settings or {}).items():
        _fill(page, labels[key], value)
    _fill(page, "Seed", student.seed)
    page.get_by_role("button", name="Apply").click()
    page.wait_for_timeout(500)
    try:
        expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=10_000)  # the rerun ended
    except AssertionError:
        pass
    goto_page(page, "Fit")
    # the Fit page states the sampler settings and priors this session will use
    seed = page.get_by_text(re.compile(rf"target accept [\d.]+, seed {student.seed}\b")).first
    try:
        expect(seed).to_be_visible(timeout=15_000)
    except AssertionError:
        return False
    return True


def press_all(students: list[Student]) -> list[float]:
    """Press Fit on every page, one after the other, as fast as the pages answer (a click through
    the DOM, no actionability waits); the press time is kept in the page. Returns time.time() of
    each press."""
    handles = [s.page.get_by_role("button", name="Fit", exact=True).element_handle() for s in students]
    pressed = []
    for handle, s in zip(handles, students):
        handle.evaluate("(b, seed) => { window.__hm = {pressed: Date.now(), seed: seed}; b.click(); }", s.seed)
        pressed.append(time.time())
    return pressed


def read_marks(student: Student) -> dict:
    student.marks = student.page.evaluate("() => Object.assign({}, window.__hm || {})")
    return student.marks


def summary_csv(page: Page) -> dict[str, dict[str, str]]:
    """The Shrinkage page's summary CSV of this session's fit; rows by parameter name."""
    goto_page(page, "Shrinkage")
    button = page.get_by_role("button", name="Summary table (CSV)")
    expect(button).to_be_visible(timeout=120_000)
    with page.expect_download(timeout=120_000) as info:
        button.click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    return {row["parameter"]: row for row in csv.DictReader(io.StringIO(text))}


def results_caption_seed(page: Page) -> int | None:
    """The seed named in the Fit page's results caption ("Fit of ...; ... seed k.")."""
    text = page.get_by_text(re.compile(r"^Fit of .*seed \d+\.$")).first.inner_text()
    match = re.search(r"seed (\d+)\.$", text.strip())
    return int(match.group(1)) if match else None


def exact_means(student: Student) -> dict[str, float]:
    """Exact posterior means of mu and tau for this student's priors (hiermod.exact, quadrature)."""
    from hiermod.datasets import load_dataset
    from hiermod.exact import exact_posterior

    data = load_dataset("eight_schools")
    ep = exact_posterior(data, student_spec(student, data))
    return {"mu": float(ep.means["mu"]), "tau": float(ep.means["tau"])}


def student_spec(student: Student, data=None):
    """The app's default eight-schools spec with this student's priors."""
    from hiermod.datasets import load_dataset
    from ui.state import default_spec_for

    data = data if data is not None else load_dataset("eight_schools")
    spec = default_spec_for(data)
    new = {"tau": student.tau_prior}
    if student.mu_prior is not None:
        new["mu"] = student.mu_prior
    return spec.with_priors(**new)


def rss_tree_mb(pid: int) -> tuple[float, int]:
    """(VmRSS of ``pid`` and all its descendants in MB, number of processes counted)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, count, todo = 0.0, 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
                    count += 1
                    break
        except OSError:
            continue
        todo.extend(children.get(p, []))
    return total, count
