"""Time the dashboard as a user sees it, in a real browser (Playwright + Debian's chromium).

    python bench/app_latency.py                      # all scenarios; writes bench/APP_LATENCY.md/.json
    python bench/app_latency.py --scenarios cold     # one of them (report not written)

Each scenario starts ``streamlit run app.py`` on a free port with a JAX disk cache of this script's
own (``HIERMOD_JAX_CACHE``) and the default sampler settings (4 chains x 1000 warmup x 1000 draws,
partial pooling, non-centered), then drives the app in a browser:

1. **cold**: empty JAX disk cache, no background precompile (``HIERMOD_PRECOMPILE=0``); Fit is
   pressed as soon as the page is up, so every compilation is paid after the click.
2. **restart**: the disk cache the cold run filled, still no precompile: what the on-disk cache
   alone saves a restarted app.
3. **precompiled**: a new, empty disk cache, background precompile on; Fit is pressed once the
   server has logged that the sample datasets' samplers are compiled (an app that has been up
   for a minute).

Measured, in seconds: from spawning ``streamlit run`` to the first heading in the browser and to
the first widget (the sample-data picker) being enabled; eight schools: from pressing Fit to the
exact posterior (the first result) and to the NUTS results; a second eight-schools fit with a new
seed (warm); radon: from pressing Fit to its NUTS results (radon has no exact method, so that is
its first result). Not a test: numbers only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from conftest import CHROMIUM_FLAGS, VIEWPORT, _chromium  # noqa: E402
from streamlit_server import start_streamlit, stop  # noqa: E402
from ui_steps import EIGHT, RADON, choose_sample, goto_page, press_fit, sampler_settings  # noqa: E402

SCENARIOS = ("cold", "restart", "precompiled")
LONG = 600_000  # ms: a cold fit on a busy 2-core machine


def wait_for_log(path: Path, text: str, timeout: float) -> float:
    """Wait until ``text`` is in the server log; return the time (``time.time()``) it was seen."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        if text in path.read_text(errors="replace"):
            return time.time()
        time.sleep(0.25)
    raise RuntimeError(f"'{text}' not in {path} after {timeout} s")


def shown_wait(page: Page) -> float | None:
    """The page's own 'Time from pressing Fit' metric (measured on the server), in seconds."""
    metric = page.get_by_test_id("stMetric").filter(has_text="Time from pressing Fit")
    match = re.search(r"([\d.]+) s", metric.first.inner_text())
    return float(match.group(1)) if match else None


def fit_and_time(page: Page, finished: re.Pattern, exact: bool) -> dict:
    """Press Fit on the Fit page; seconds to the exact posterior (if ``exact``) and to the results
    whose caption matches ``finished`` (so an earlier fit's results do not count)."""
    goto_page(page, "Fit")
    t0 = press_fit(page)
    out = {}
    done = page.get_by_text(finished).first
    if exact:  # the exact posterior, or the NUTS results if they came first (a warm fit can)
        expect(page.get_by_text("Exact posterior (available now)").or_(done).first).to_be_visible(timeout=LONG)
        out["first_result_s"] = time.time() - t0
    expect(done).to_be_visible(timeout=LONG)
    expect(page.get_by_text("Posterior summary").first).to_be_visible(timeout=60_000)  # the results table
    out["results_s"] = time.time() - t0
    out.setdefault("first_result_s", out["results_s"])
    out["shown_s"] = shown_wait(page)
    return out


def scenario(name: str, cache: Path, browser) -> dict:
    precompile = name == "precompiled"
    env = dict(os.environ, PYTHONUNBUFFERED="1", HIERMOD_JAX_CACHE=str(cache),
               HIERMOD_PRECOMPILE="1" if precompile else "0")
    log_path = Path(tempfile.gettempdir()) / f"hiermod-latency-{name}.log"
    with open(log_path, "w") as log:
        t_spawn = time.time()
        proc, url = start_streamlit(env, log, timeout=120)
        result = {"scenario": name, "server_answers_s": time.time() - t_spawn, "log": str(log_path)}
        context = browser.new_context(viewport=VIEWPORT)
        try:
            drive(context.new_page(), url, t_spawn, log_path, precompile, result)
        finally:
            context.close()
            stop(proc)
    print(json.dumps(result), flush=True)
    return result


def drive(page: Page, url: str, t_spawn: float, log_path: Path, precompile: bool, result: dict) -> None:
    """The user's path through the app; fills ``result`` with the timings."""
    name = result["scenario"]
    step = "first page"
    try:
        page.goto(url)
        expect(page.get_by_role("heading").first).to_be_visible(timeout=120_000)
        result["first_heading_s"] = time.time() - t_spawn
        expect(page.get_by_role("combobox", name="Sample data set")).to_be_enabled(timeout=120_000)
        result["interactive_s"] = time.time() - t_spawn
        if precompile:
            step = "waiting for the precompile"
            result["precompile_done_after_s"] = wait_for_log(log_path, "Precompiled sample samplers", 900) - t_spawn
        step = "eight schools, first fit"
        choose_sample(page, EIGHT)
        result["eight_schools"] = fit_and_time(page, re.compile(r"Fit of normal_known_se.*seed 0\."), exact=True)
        step = "eight schools, new seed"
        goto_page(page, "Model")
        sampler_settings(page, seed=1)
        result["eight_schools_warm"] = fit_and_time(page, re.compile(r"Fit of normal_known_se.*seed 1\."),
                                                    exact=True)
        step = "radon"
        goto_page(page, "Data")
        choose_sample(page, RADON)
        result["radon"] = fit_and_time(page, re.compile(r"Fit of normal, partial pooling"), exact=False)
        page.screenshot(path=str(REPO / "test-artifacts" / f"latency-{name}-radon.png"), full_page=True)
    except Exception as exc:
        shot = REPO / "test-artifacts" / f"latency-{name}-failed.png"
        page.screenshot(path=str(shot), full_page=True)
        raise RuntimeError(f"{name}: failed at '{step}' ({type(exc).__name__}); screenshot {shot}, "
                           f"server log {log_path}") from exc


def report(results: list[dict], started: str) -> str:
    f = lambda x: "n/a" if x is None else f"{x:.1f}"  # noqa: E731
    lines = [
        "# hiermod dashboard latency (real browser)",
        "",
        f"Run {started} by `python bench/app_latency.py` on {platform.node()} "
        f"({os.cpu_count()} cores); load average at the end {tuple(round(x, 2) for x in os.getloadavg())}.",
        "Default settings: partial pooling, non-centered, 4 chains x 1000 warmup x 1000 draws. Seconds, "
        "measured by the browser script (in brackets: the page's own 'Time from pressing Fit', measured "
        "by the server). Eight schools' first result is the exact posterior, shown while NUTS runs; "
        "radon has no exact method, so its first result is the NUTS result.",
        "",
        "| scenario | spawn to first heading | spawn to interactive | eight schools: Fit to first result "
        "| eight schools: Fit to NUTS results | eight schools again, new seed | radon: Fit to results |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        e, w, rd = r["eight_schools"], r["eight_schools_warm"], r["radon"]
        lines.append(
            f"| {r['scenario']} | {f(r['first_heading_s'])} | {f(r['interactive_s'])} | {f(e['first_result_s'])} | "
            f"{f(e['results_s'])} ({f(e['shown_s'])}) | {f(w['results_s'])} ({f(w['shown_s'])}) | "
            f"{f(rd['results_s'])} ({f(rd['shown_s'])}) |")
    pre = next((r for r in results if r["scenario"] == "precompiled"), {})
    lines += [
        "",
        "Scenarios: **cold** = empty JAX disk cache, no background precompile, Fit pressed as soon as "
        "the page is up; **restart** = the disk cache the cold run filled, no precompile; "
        "**precompiled** = new disk cache, background precompile on, Fit pressed after the server "
        f"logged that the sample datasets' samplers were compiled "
        f"({f(pre.get('precompile_done_after_s'))} s after spawning streamlit).",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", nargs="+", choices=SCENARIOS, default=list(SCENARIOS))
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    results = []
    with tempfile.TemporaryDirectory() as shared_cache, tempfile.TemporaryDirectory() as fresh_cache, \
            sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS)
        for name in args.scenarios:
            cache = Path(fresh_cache if name == "precompiled" else shared_cache)
            results.append(scenario(name, cache, browser))
        browser.close()
    text = report(results, started)
    print(text)
    if list(args.scenarios) == list(SCENARIOS):
        (REPO / "bench" / "APP_LATENCY.md").write_text(text, encoding="utf-8")
        (REPO / "bench" / "APP_LATENCY.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
