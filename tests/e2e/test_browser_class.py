"""A class at once, in a real browser: 12 sessions on one server (the default executor: worker
processes), each with its own priors and seed, all pressing Fit within a few seconds.

Session i (0..11) picks eight schools and sets mu ~ Normal(-25 + 5 i, 4), tau ~ HalfNormal(1 + i),
seed 200 + i, 2 chains x (300 warmup + 500 draws) on the Model page. Eight run NUTS (in the worker
processes), four (i = 2, 5, 8, 11) the instant method. Bounds are on correctness only, never on time:

* every session shows its results (the Results caption naming its seed), and never a "busy"
  refusal, a failure or an exception box; every NUTS session shows the exact posterior first (the
  server computes it when Fit is pressed);
* its results caption names its own seed;
* NUTS: its mu and tau means (the Shrinkage page's summary CSV) are within 4 MCSE of the exact
  posterior means for its own priors, and its mu mean is nearer its own exact mean than any other
  session's (the priors put them 2.3 or more apart; 4 MCSE is about 0.5);
* instant: its summary equals the library's ``hiermod.fit(..., method="instant")`` with the same
  priors and settings.

The bench version with 40 sessions and the app's default settings is bench/class_load.py.
Run: `python -m pytest tests/e2e/test_browser_class.py -s` (prints the times it saw).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from class_steps import (Student, exact_means, press_all, read_marks, results_caption_seed,
                         set_up, student_spec, summary_csv)
from ui_steps import no_exceptions

pytestmark = pytest.mark.browser

SESSIONS = 12
SETTINGS = dict(chains=2, warmup=300, draws=500)
INSTANT = {2, 5, 8, 11}
VIEWPORT = {"width": 1300, "height": 1600}
SHOTS = (0, 5, 11)
DEADLINE_S = 600  # a guard against a hang, not a bound on time: below pytest's 900 s timeout minus
# the set-up (60-120 s), so a hang fails here, with the pending sessions' marks and screenshots


def students() -> list[Student]:
    return [Student(i, tau_scale=1 + i, seed=200 + i, method="instant" if i in INSTANT else "nuts",
                    mu_loc=-25 + 5 * i, mu_scale=4) for i in range(SESSIONS)]


@pytest.fixture()
def class_url():
    """A server of its own (stopped with its worker processes afterwards): a class's load must not
    spill into the browser tests that share the session's server."""
    import os

    from streamlit_server import start_streamlit, stop

    env = dict(os.environ, XLA_FLAGS=os.environ.get("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false"),
               PYTHONUNBUFFERED="1")
    log_path = Path(__file__).resolve().parents[2] / "test-artifacts" / "streamlit-class.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        try:
            proc, url = start_streamlit(env, log)
        except RuntimeError as exc:
            pytest.fail(str(exc))
        try:
            yield url
        finally:
            stop(proc)


def test_twelve_sessions_fit_their_own_priors_at_once(browser: Browser, class_url: str, shot):
    app_url = class_url
    t_setup = time.time()
    class_ = students()
    for s in class_:
        set_up(s, browser, app_url, VIEWPORT, SETTINGS)
    setup_s = time.time() - t_setup

    pressed = press_all(class_)
    spread = pressed[-1] - pressed[0]
    deadline = time.time() + DEADLINE_S
    pending = list(class_)
    while pending and time.time() < deadline:
        for s in list(pending):
            marks = read_marks(s)
            if "done" in marks or "busy" in marks or "failed" in marks or "error" in marks:
                pending.remove(s)
        time.sleep(0.5)
    for s in class_:
        read_marks(s)
    for s in pending:  # what a session that never finished shows
        shot(s.page, f"session{s.index}-pending")
    shot(class_[SHOTS[0]].page, f"session{SHOTS[0]}-fit")
    shot(class_[SHOTS[1]].page, f"session{SHOTS[1]}-instant-fit")

    problems = [(s.index, {k: v for k, v in s.marks.items() if k in ("busy", "busyText", "failed", "error")})
                for s in class_ if {"busy", "failed", "error"} & set(s.marks)]
    assert not problems, f"sessions with a busy refusal, a failure or an exception: {problems}"
    assert not pending, (f"sessions {[s.index for s in pending]} did not finish in {DEADLINE_S} s; their marks: "
                         f"{[(s.index, s.method, s.marks) for s in pending]}")
    # NUTS sessions see the exact posterior (computed by the server when Fit is pressed) before NUTS
    no_preview = [s.index for s in class_ if s.method == "nuts" and "preview" not in s.marks]
    assert not no_preview, f"NUTS sessions {no_preview} never showed the exact posterior"

    for s in class_:
        no_exceptions(s.page)
        assert results_caption_seed(s.page) == s.seed, s.index
        s.table = summary_csv(s.page)
        no_exceptions(s.page)
    shot(class_[SHOTS[2]].page, f"session{SHOTS[2]}-shrinkage")

    exact = {s.index: exact_means(s) for s in class_}
    for s in class_:
        if s.method == "instant":
            continue
        for name in ("mu", "tau"):
            mean, mcse = float(s.table[name]["mean"]), float(s.table[name]["mcse_mean"])
            assert abs(mean - exact[s.index][name]) <= 4 * mcse, (
                f"session {s.index} ({s.tau_prior}, mu ~ {s.mu_prior}, seed {s.seed}): {name} mean "
                f"{mean:.3f}, exact {exact[s.index][name]:.3f}, MCSE {mcse:.3f}")
        mu = float(s.table["mu"]["mean"])
        nearest = min(exact, key=lambda j: abs(exact[j]["mu"] - mu))
        assert nearest == s.index, f"session {s.index}'s mu mean {mu:.2f} is session {nearest}'s"

    from hiermod import fit
    from hiermod.datasets import load_dataset
    from hiermod.diagnostics import summary_table

    data = load_dataset("eight_schools")
    for s in class_:
        if s.method != "instant":
            continue
        ref = summary_table(fit(data, student_spec(s, data), seed=s.seed, method="instant", **SETTINGS))
        for name in ("mu", "tau", "theta[A]"):
            assert float(s.table[name]["mean"]) == pytest.approx(float(ref.loc[name, "mean"]), rel=1e-6,
                                                                 abs=1e-9), (s.index, name)

    first = [s.seconds("preview") or s.seconds("done") for s in class_ if s.method == "nuts"]
    nuts = [s.seconds("done") for s in class_ if s.method == "nuts"]
    instant = [s.seconds("done") for s in class_ if s.method == "instant"]
    print(f"\n[e2e] {SESSIONS} sessions set up in {setup_s:.0f} s; Fit pressed within {spread:.1f} s")
    print(f"[e2e] NUTS ({SETTINGS}): first result median {statistics.median(first):.1f} s, max "
          f"{max(first):.1f} s; results median {statistics.median(nuts):.1f} s, max {max(nuts):.1f} s")
    print(f"[e2e] instant: results median {statistics.median(instant):.1f} s, max {max(instant):.1f} s")
    print(f"[e2e] largest queue place shown: {max(s.marks.get('maxPlace', 0) for s in class_)}")
    # not asserted (still open, reported in bench/CLASS_LOAD.md: 1-2 of 40 pages under load, was 7):
    # the "Fit finished" box is sometimes missing above results that are shown
    print(f"[e2e] sessions whose results showed without the 'Fit finished' box: "
          f"{[s.index for s in class_ if 'finished' not in s.marks] or 'none'}")
    for s in class_:
        s.page.context.close()
