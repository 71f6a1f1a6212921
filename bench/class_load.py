"""A class of 40 on one server, in a real browser (Playwright + Debian's chromium).

    python bench/class_load.py                    # 40 sessions; writes bench/CLASS_LOAD.md and .json
    python bench/class_load.py --sessions 10 --no-write

Starts ``streamlit run app.py`` as the browser tests do (embedded: the default executor, fits in
``HIERMOD_WORKERS`` worker processes, default one per core; nothing else set), then opens
``--sessions`` browser sessions (one chromium, one context each: a Streamlit session of its own).
Session i (0-based) opens the app, picks eight schools on the Data page, sets tau ~ HalfNormal(1 + i)
and seed 100 + i on the Model page (everything else the app's default: partial pooling,
non-centered, mu ~ Normal(7.5, 27.5), NUTS 4 chains x (1000 warmup + 1000 draws), target accept
0.9), Applies and goes to the Fit page. The sessions are set up one after the other; then Fit is
pressed on every page as fast as the pages answer (a click through the DOM).

Measured, per session (in the page: tests/e2e/class_steps.py records ``Date.now()`` when the text
first appears, checked every 100 ms):

* **first result**: from pressing Fit to the exact posterior shown ("Exact posterior (available
  now ...)", computed by the server when Fit is pressed: ``hiermod.worker_pool.server_preview``);
* **NUTS result**: from pressing Fit to the results (the caption "Fit of ...; ..., seed 100 + i.");
  and whether the "Fit finished" box showed above them;
* whether a "busy" refusal, a failed fit or an exception box ever showed; the largest queue place
  shown;
* its result is its own: the Fit page's results caption names its seed; the Shrinkage page's
  summary CSV gives tau's and mu's posterior means, compared with the library's
  ``hiermod.fit(data, same spec, seed=100 + i)`` (same settings: the draws should be the same, so
  the difference is far below one MCSE) and with the exact posterior means for its prior
  (``hiermod.exact``, quadrature: within 4 MCSE).

Also: the page-load time (goto to the Data heading) of fresh sessions opened while the fits run
(just after the presses, when half and when three quarters of the sessions have their results); the
server's resident memory, the Streamlit process and all its descendants (the worker processes and
multiprocessing's resource tracker), and the Streamlit process alone, VmRSS from /proc every 0.5 s:
before the presses, the peak, when every session had its result, and after every tab was closed
(up to ``--settle`` seconds, 150 by default: Streamlit keeps a closed tab's session 120 s, and
idle workers are replaced after ``HIERMOD_WORKER_IDLE_S``); the load average at the start and the end. Not a test: numbers only (the suite's smaller
version is tests/e2e/test_browser_class.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from class_steps import (Student, exact_means, open_session, press_all, read_marks,  # noqa: E402
                         results_caption_seed, rss_tree_mb, set_up, student_spec, summary_csv)
from conftest import CHROMIUM_FLAGS, _chromium  # noqa: E402
from streamlit_server import start_streamlit, stop  # noqa: E402

from hiermod.worker_pool import DEFAULT_WORKER_IDLE_S, rss_mb  # noqa: E402

VIEWPORT = {"width": 1300, "height": 1000}
SHOT_VIEWPORT = {"width": 1300, "height": 1600}
ARTIFACTS = REPO / "test-artifacts"


class MemoryWatch(threading.Thread):
    """Samples the resident memory of the server's process tree every ``every`` seconds."""

    def __init__(self, pid: int, every: float = 0.5) -> None:
        super().__init__(daemon=True, name="rss-watch")
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float, int, float]] = []  # (time.time(), MB, processes, server MB)
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            mb, n = rss_tree_mb(self.pid)
            if n:
                self.samples.append((time.time(), mb, n, rss_mb(self.pid) or float("nan")))
            self._halt.wait(self.every)

    def stop(self) -> None:
        self._halt.set()
        self.join(5)

    def now(self) -> float:
        return rss_tree_mb(self.pid)[0]

    def server_now(self) -> float:
        """The Streamlit process alone (no workers)."""
        return rss_mb(self.pid) or float("nan")

    def peak(self, since: float = 0.0, until: float = float("inf"), server: bool = False) -> float:
        return max((x[3] if server else x[1] for x in self.samples if since <= x[0] <= until),
                   default=float("nan"))

    def processes(self) -> int:
        return max((x[2] for x in self.samples), default=0)


def stats(values: list[float]) -> dict:
    import numpy as np

    values = [v for v in values if v is not None]
    if not values:
        return {"n": 0}
    return {"n": len(values), "median": float(np.median(values)), "p90": float(np.percentile(values, 90)),
            "max": float(max(values)), "min": float(min(values))}


def run(args) -> dict:
    from playwright.sync_api import sync_playwright

    started = time.strftime("%Y-%m-%d %H:%M")
    load_start = os.getloadavg()
    env = dict(os.environ, XLA_FLAGS=os.environ.get("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false"),
               PYTHONUNBUFFERED="1")
    log_path = Path(tempfile.gettempdir()) / "hiermod-class-load.log"
    class_ = [Student(i, tau_scale=1 + i, seed=100 + i) for i in range(args.sessions)]
    out: dict = {"started": started, "host": platform.node(), "cores": os.cpu_count(),
                 "sessions": args.sessions, "load_average_start": load_start, "server_log": str(log_path),
                 "settings": "partial pooling, non-centered, mu ~ Normal(7.5, 27.5), "
                             "NUTS 4 chains x (1000 warmup + 1000 draws), target accept 0.9",
                 "env": {k: os.environ.get(k) for k in ("HIERMOD_WORKERS", "HIERMOD_MAX_QUEUE",
                                                        "HIERMOD_WORKER_MAX_MB", "HIERMOD_EXECUTOR",
                                                        "HIERMOD_PRECOMPILE", "HIERMOD_JAX_CACHE",
                                                        "HIERMOD_WORKER_IDLE_S")},
                 "worker_idle_s": int(os.environ.get("HIERMOD_WORKER_IDLE_S") or DEFAULT_WORKER_IDLE_S)}
    with open(log_path, "w") as log, sync_playwright() as pw:
        t_spawn = time.time()
        proc, url = start_streamlit(env, log, timeout=120)
        out["server_healthy_s"] = time.time() - t_spawn
        out["t_spawn"] = t_spawn
        watch = MemoryWatch(proc.pid)
        watch.start()
        browser = pw.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS)
        try:
            measure(class_, browser, url, watch, log_path, args, out)
        finally:
            try:
                stop(proc)  # first: a server left running would keep its workers
            finally:
                watch.stop()
                browser.close()
    out["load_average_end"] = os.getloadavg()
    if not args.no_library:
        check_against_library(class_, out)
    out["per_session"] = [{
        "session": s.index, "prior": f"tau ~ {s.tau_prior}", "seed": s.seed, "load_s": s.load_s,
        "setup_s": s.setup_s, "apply_attempts": s.apply_attempts, "first_result_s": s.seconds("preview") or s.seconds("done"),
        "nuts_result_s": s.seconds("done"), "fit_finished_box_s": s.seconds("finished"),
        "max_queue_place": s.marks.get("maxPlace"),
        "busy": "busy" in s.marks, "failed": "failed" in s.marks, "exception": "error" in s.marks,
        **s.table_check} for s in class_]
    return out


def measure(class_: list[Student], browser, url: str, watch: MemoryWatch, log_path: Path, args,
            out: dict) -> None:
    t0 = time.time()
    for s in class_:
        try:
            set_up(s, browser, url, VIEWPORT)
        except Exception as exc:  # noqa: BLE001 - reported, the rest go on
            s.table_check = {"setup_error": f"{type(exc).__name__}: {str(exc)[:300]}"}
            if s.page is not None:
                s.page.screenshot(path=str(ARTIFACTS / f"class-load-setup-failed-{s.index}.png"))
        print(f"session {s.index}: set up in {s.setup_s or float('nan'):.1f} s", flush=True)
    ready = [s for s in class_ if s.setup_s is not None]
    out["setup_total_s"] = time.time() - t0
    out["sessions_ready"] = len(ready)
    out["server_up_before_presses_s"] = time.time() - out["t_spawn"]
    out["rss_before_presses_mb"] = watch.now()
    out["rss_server_before_presses_mb"] = watch.server_now()

    t_press = time.time()
    pressed = press_all(ready)
    out["press_spread_s"] = pressed[-1] - pressed[0]
    print(f"pressed Fit on {len(ready)} pages within {out['press_spread_s']:.1f} s", flush=True)

    fresh: list[dict] = []
    triggers = [0, len(ready) // 2, (3 * len(ready)) // 4]
    pending = list(ready)
    deadline = time.time() + args.deadline
    last_change, last_finished = time.time(), 0
    while pending and time.time() < deadline:
        for s in list(pending):
            marks = read_marks(s)
            if {"done", "busy", "failed", "error"} & set(marks):
                pending.remove(s)
        finished = len(ready) - len(pending)
        if finished != last_finished:
            last_change, last_finished = time.time(), finished
        elif time.time() - last_change > args.stall:
            print(f"no session finished for {args.stall:.0f} s; {len(pending)} still pending", flush=True)
            out["stalled_after_s"] = time.time() - t_press
            out["stall_s"] = args.stall
            out["stalled"] = [stuck_page(s) for s in pending]
            break
        if triggers and finished >= triggers[0] and pending:
            triggers.pop(0)
            t_open = time.time() - t_press
            t1 = time.time()
            try:
                page, load = open_session(browser, url, VIEWPORT, timeout_ms=int(args.fresh_timeout * 1000))
            except Exception as exc:  # noqa: BLE001 - a page that does not load is the finding
                load, page = None, None
                fresh.append({"opened_after_press_s": t_open, "sessions_with_results": finished, "load_s": None,
                              "gave_up_after_s": time.time() - t1, "error": f"{type(exc).__name__}: {str(exc)[:200]}"})
            else:
                fresh.append({"opened_after_press_s": t_open, "sessions_with_results": finished, "load_s": load})
                page.context.close()
            print(f"fresh session {t_open:.0f} s after the presses ({finished} done): page load "
                  f"{'none: ' + fresh[-1]['error'][:80] if load is None else f'{load:.1f} s'}", flush=True)
            last_change = time.time()  # the time spent here is not a stall
        time.sleep(1.0)
    t_done = time.time()
    for s in ready:
        read_marks(s)
    out["fits_wall_s"] = t_done - t_press
    out["unfinished"] = [s.index for s in pending]
    out["fresh_loads"] = fresh
    out["rss_peak_mb"] = watch.peak(since=t_press)
    out["rss_all_done_mb"] = watch.now()
    out["processes_counted"] = watch.processes()

    for i in sorted({0, len(ready) // 2, len(ready) - 1}):
        page = ready[i].page
        page.set_viewport_size(SHOT_VIEWPORT)
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / f"class-load-session{ready[i].index}-fit.png"))
    for s in ready:
        try:
            s.table_check["caption_seed"] = results_caption_seed(s.page)
            table = summary_csv(s.page)
            s.table_check.update({f"{n}_{c}": float(table[n][c]) for n in ("mu", "tau")
                                  for c in ("mean", "mcse_mean")})
        except Exception as exc:  # noqa: BLE001
            s.table_check["read_error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    ready[-1].page.set_viewport_size(SHOT_VIEWPORT)
    ready[-1].page.screenshot(path=str(ARTIFACTS / f"class-load-session{ready[-1].index}-shrinkage.png"))
    out["rss_tables_read_mb"] = watch.now()
    out["rss_server_tables_read_mb"] = watch.server_now()
    out["rss_peak_mb"] = watch.peak(since=t_press)
    out["rss_server_peak_mb"] = watch.peak(since=t_press, server=True)

    t_close = time.time()
    for s in class_:
        if s.page is not None:
            s.page.context.close()
    after, server_after = {}, {}
    for wait in sorted({5, 10, 20, 40, 90, args.settle}):
        if wait > args.settle:
            continue
        time.sleep(max(0.0, t_close + wait - time.time()))
        after[f"{wait:g} s"], server_after[f"{wait:g} s"] = watch.now(), watch.server_now()
    out["rss_after_close_mb"] = after
    out["rss_server_after_close_mb"] = server_after
    out["last_result_to_close_s"] = t_close - t_done
    out["rss_series"] = [(round(t - t_press, 1), round(mb, 1), n, round(srv, 1))
                         for t, mb, n, srv in watch.samples]


def stuck_page(s: Student) -> dict:
    """What a session that never showed its result shows: a screenshot, the text, the marks."""
    path = ARTIFACTS / f"class-load-stuck-session{s.index}.png"
    info = {"session": s.index, "marks": dict(s.marks), "screenshot": str(path)}
    try:
        s.page.set_viewport_size(SHOT_VIEWPORT)
        s.page.screenshot(path=str(path))
        info["main_text"] = s.page.get_by_test_id("stMainBlockContainer").inner_text(timeout=10_000)[:1500]
        info["status_widget"] = s.page.evaluate(
            "() => { const w = document.querySelector('[data-testid=\"stStatusWidget\"]'); "
            "return w ? w.innerText : null; }")
    except Exception as exc:  # noqa: BLE001
        info["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return info


def check_against_library(class_: list[Student], out: dict) -> None:
    """Each session's tau and mu means against the library's fit (same prior, seed, settings) and
    against the exact posterior means."""
    from hiermod import fit
    from hiermod.datasets import load_dataset
    from hiermod.diagnostics import summary_table

    data = load_dataset("eight_schools")
    t0 = time.time()
    for s in class_:
        c = s.table_check
        if "tau_mean" not in c:
            continue
        ref = summary_table(fit(data, student_spec(s, data), seed=s.seed))
        exact = exact_means(s)
        for n in ("mu", "tau"):
            c[f"{n}_library"] = float(ref.loc[n, "mean"])
            c[f"{n}_exact"] = exact[n]
            c[f"{n}_diff_library_in_mcse"] = abs(c[f"{n}_mean"] - c[f"{n}_library"]) / c[f"{n}_mcse_mean"]
            c[f"{n}_diff_exact_in_mcse"] = abs(c[f"{n}_mean"] - exact[n]) / c[f"{n}_mcse_mean"]
        c["own"] = (c.get("caption_seed") == s.seed and c["tau_diff_library_in_mcse"] <= 1
                    and c["tau_diff_exact_in_mcse"] <= 4)
    out["library_check_s"] = time.time() - t0


def report(out: dict) -> str:
    rows = out["per_session"]
    f = lambda x: "n/a" if x is None or x != x else f"{x:.1f}"  # noqa: E731

    def line(label: str, key: str) -> str:
        st = stats([r[key] for r in rows])
        return (f"| {label} | {st['n']} | {f(st.get('median'))} | {f(st.get('p90'))} | {f(st.get('max'))} "
                f"| {f(st.get('min'))} |")

    own = [r for r in rows if r.get("own")]
    lib = [r["tau_diff_library_in_mcse"] for r in rows if "tau_diff_library_in_mcse" in r]
    ex = [r["tau_diff_exact_in_mcse"] for r in rows if "tau_diff_exact_in_mcse" in r]
    exmu = [r["mu_diff_exact_in_mcse"] for r in rows if "mu_diff_exact_in_mcse" in r]
    bad = [r["session"] for r in rows if r["busy"] or r["failed"] or r["exception"]]
    after = out["rss_after_close_mb"]
    la0 = tuple(round(x, 2) for x in out["load_average_start"])
    la1 = tuple(round(x, 2) for x in out["load_average_end"])
    fresh = "; ".join((f"{f(x['load_s'])} s" if x["load_s"] is not None else
                       f"**did not load** (no Data heading after {f(x['gave_up_after_s'])} s: {x['error'][:60]})")
                      + f" (opened {f(x['opened_after_press_s'])} s after the presses, "
                      f"{x['sessions_with_results']} sessions had results)" for x in out["fresh_loads"])
    lines = [
        f"# A class of {out['sessions']} at once (real browser)",
        "",
        f"Run {out['started']} by `python bench/class_load.py` (`--sessions {out['sessions']}`) on "
        f"{out['host']} ({out['cores']} cores, shared with other work); load average at the start {la0}, "
        f"at the end {la1}.",
        "",
        "**How.** `streamlit run app.py` started as the browser tests start it (embedded, default "
        "executor: fits in worker processes, `HIERMOD_WORKERS` = cores, `HIERMOD_MAX_QUEUE` 120, "
        f"`HIERMOD_WORKER_MAX_MB` 2000; environment: {json.dumps({k: v for k, v in out['env'].items() if v}) or 'none of them set'}"
        "), one headless chromium with one context per session. Session i (0-based) opened the app, "
        "picked eight schools, set tau ~ HalfNormal(1 + i) and seed 100 + i on the Model page "
        f"(everything else the app's defaults: {out['settings']}), Applied and went to the Fit page; "
        f"the {out['sessions_ready']} sessions were set up one after the other ({f(out['setup_total_s'])} s), "
        "then Fit was pressed on every page as fast as the pages answered "
        f"(all {out['sessions_ready']} within {out['press_spread_s']:.1f} s). Times are taken in each page "
        "(the text checked every 100 ms) from its own press. The server had been up "
        f"{f(out['server_up_before_presses_s'])} s when Fit was pressed (its workers compile the sample "
        "data sets' default samplers in the background when they start).",
        "",
        "| seconds | sessions | median | p90 | max | min |",
        "|---|---|---|---|---|---|",
        line("page load of each session when it was set up (goto to the Data heading)", "load_s"),
        line("set-up of a session (open, pick the sample, prior and seed, Apply, Fit page)", "setup_s"),
        line("Fit to the first result (the exact posterior shown while NUTS waits or runs)", "first_result_s"),
        line("Fit to the NUTS result (the Results caption with the session's seed)", "nuts_result_s"),
        "",
        f"- The last result was shown {f(max((r['nuts_result_s'] for r in rows if r['nuts_result_s'] is not None), default=None))} "
        f"s after its press; sessions without a result: {[r['session'] for r in rows if r['nuts_result_s'] is None] or 'none'}. "
        f"Sessions whose first result was the NUTS result (no preview seen in between): "
        f"{sum(1 for r in rows if r['first_result_s'] is not None and r['first_result_s'] == r['nuts_result_s'])} "
        f"of {len(rows)}. Busy refusals, failed fits or exception boxes: {bad or 'none'}. "
        f"Largest queue place shown: {max((r['max_queue_place'] or 0) for r in rows)}. Sessions whose "
        "Apply had to be repeated (lost when the script navigated to the Fit page while the server "
        f"was still running it): {[r['session'] for r in rows if r['apply_attempts'] > 1] or 'none'}.",
        *([f"- **{len(out['stalled'])} sessions showed no result the bench recognised** (sessions "
            f"{[x['session'] for x in out['stalled']]}) when it stopped waiting, {f(out['stalled_after_s'])} s "
            f"after the presses, no session having finished for {out['stall_s']:.0f} s. What the first "
            "showed: " + repr(" ".join(str(out['stalled'][0].get('main_text', out['stalled'][0].get('error', '')))
                                       .split())[:300]) + "... Screenshots: "
            "`test-artifacts/class-load-stuck-session*.png`."] if out.get("stalled") else []),
        *([f"- **The \"Fit finished\" box was missing** above the results of sessions {nobox}: their "
            "results (caption with their seed, metrics, summary, verdicts) were shown, only the success box "
            "was not."] if (nobox := [r["session"] for r in rows if r.get("nuts_result_s") is not None
                                      and r.get("fit_finished_box_s") is None]) else []),
        *([f"- Note: {out['patched']}"] if out.get("patched") else []),
        f"- **Each result is its own**: {len(own)} of {len(rows)} sessions. The results caption names "
        "the session's seed, and its summary's tau mean equals the library's `hiermod.fit` with the same "
        f"prior, seed and settings (largest difference {f(max(lib) if lib else None)} MCSE; the draws "
        "are the same) and is within "
        f"{f(max(ex) if ex else None)} MCSE of the exact posterior mean for its prior (mu: within "
        f"{f(max(exmu) if exmu else None)} MCSE).",
        f"- **Fresh session during the run** (goto to the Data heading): {fresh or 'none opened'}.",
        f"- **Server memory** (Streamlit process + its {out['processes_counted'] - 1} descendants, VmRSS): "
        f"{out['rss_before_presses_mb']:.0f} MB with the {out['sessions_ready']} sessions set up, peak "
        f"{out['rss_peak_mb']:.0f} MB, {out['rss_all_done_mb']:.0f} MB when every session had its result, "
        f"{out['rss_tables_read_mb']:.0f} MB after every session read its summary CSV; after all tabs "
        "were closed: " + ", ".join(f"{v:.0f} MB at {k}" for k, v in after.items()) + "."
        + (f" The Streamlit process alone: {out['rss_server_before_presses_mb']:.0f} MB before the presses, "
           f"peak {out['rss_server_peak_mb']:.0f} MB, {out['rss_server_tables_read_mb']:.0f} MB after the CSVs; "
           "after the tabs closed " + ", ".join(f"{v:.0f} MB at {k}" for k, v in out['rss_server_after_close_mb'].items())
           + f" (the tabs closed {f(out['last_result_to_close_s'])} s after the last result; workers idle "
           f"{out.get('worker_idle_s', DEFAULT_WORKER_IDLE_S)} s after a job are replaced by lean ones; Streamlit "
           "keeps a closed tab's session 120 s)." if "rss_server_after_close_mb" in out else ""),
        f"- Library fits for the check: {f(out.get('library_check_s'))} s (after the run, in the bench's "
        "own process; not counted above).",
        "",
        "Per session (seconds; tau mean from the page's summary CSV, the library's and the exact one):",
        "",
        "| session | prior | seed | load | set-up | first result | NUTS result | queue place | tau mean | "
        "library | exact | MCSE |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    g = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    for r in rows:
        lines.append(f"| {r['session']} | {r['prior']} | {r['seed']} | {f(r['load_s'])} | {f(r['setup_s'])} "
                     f"| {f(r['first_result_s'])} | {f(r['nuts_result_s'])} | {r['max_queue_place'] or '-'} "
                     f"| {g(r.get('tau_mean'))} | {g(r.get('tau_library'))} | {g(r.get('tau_exact'))} "
                     f"| {g(r.get('tau_mcse_mean'))} |")
    lines += ["", "Raw numbers, the memory series (seconds from the first press, MB, processes) "
              "included: `CLASS_LOAD.json`. Screenshots: `test-artifacts/class-load-*.png`."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=40)
    parser.add_argument("--settle", type=float, default=150.0,
                        help="seconds to wait after closing the tabs before the last memory reading (Streamlit "
                             "keeps a closed tab's session 120 s: server.disconnectedSessionTTL)")
    parser.add_argument("--deadline", type=float, default=1800.0, help="give up on unfinished fits after this")
    parser.add_argument("--stall", type=float, default=120.0,
                        help="stop waiting when no session has finished for this long (and record what "
                             "the pending pages show)")
    parser.add_argument("--fresh-timeout", type=float, default=180.0,
                        help="seconds a fresh session may take to show the Data heading before it is recorded "
                             "as not loading")
    parser.add_argument("--no-library", action="store_true", help="skip the library and exact checks")
    parser.add_argument("--no-write", action="store_true", help="print, do not write CLASS_LOAD.md/.json")
    parser.add_argument("--report-only", action="store_true",
                        help="write CLASS_LOAD.md again from CLASS_LOAD.json, without running")
    args = parser.parse_args()
    ARTIFACTS.mkdir(exist_ok=True)
    json_path = REPO / "bench" / "CLASS_LOAD.json"
    if args.report_only:
        out = json.loads(json_path.read_text())
    else:
        out = run(args)
        if not args.no_write:
            json_path.write_text(json.dumps(out, indent=1) + "\n")
    text = report(out)
    print(text)
    if not args.no_write:
        (REPO / "bench" / "CLASS_LOAD.md").write_text(text)


if __name__ == "__main__":
    main()
