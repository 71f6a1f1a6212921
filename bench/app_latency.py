"""Time the dashboard as a user sees it, in a real browser (Playwright + Debian's chromium).

    python bench/app_latency.py            # writes bench/APP_LATENCY.md and .json

Three server starts, each `streamlit run app.py` on a free port with a JAX cache directory of this
script's own (``HIERMOD_JAX_CACHE``), default sampler settings (4 chains x 1000 warmup x 1000 draws):

1. **cold**: empty JAX disk cache, no background precompile (``HIERMOD_PRECOMPILE=0``); Fit is
   pressed as soon as the page is up: every compilation is paid after the click.
2. **restart**: the same disk cache (filled by run 1), background precompile on; Fit pressed as
   soon as the page is up (what a class sees when the app was restarted).
3. **precompiled**: a new disk cache, background precompile on; Fit pressed once the app logged
   that the sample samplers are compiled (what a class sees when the app has been up a minute).

For each: seconds from spawning `streamlit run` to the first heading in the browser; eight
schools: from pressing Fit to the exact posterior (first plot) and to the NUTS results; then a
second eight-schools fit with a new seed (warm); radon: from pressing Fit to the NUTS results
(radon has no exact method). Not a test: numbers only, printed and written to bench/APP_LATENCY.md.
"""

from __future__ import annotations

import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from conftest import CHROMIUM_FLAGS, VIEWPORT, _chromium  # noqa: E402
from ui_steps import EIGHT, RADON, choose_sample, goto_page, press_fit, sampler_settings  # noqa: E402

RESULTS = re.compile(r"^Results$")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(env: dict, log_path: Path) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    t_spawn = time.time()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    return proc, url, t_spawn
        except OSError:
            time.sleep(0.1)
        if time.time() - t_spawn > 120:
            raise RuntimeError(f"streamlit did not answer; see {log_path}")


def wait_for_log(path: Path, text: str, timeout: float) -> float:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if text in path.read_text(errors="replace"):
            return time.time() - t0
        time.sleep(0.5)
    raise RuntimeError(f"'{text}' not in {path} after {timeout} s")


def fit_and_time(page: Page, exact: bool) -> dict:
    goto_page(page, "Fit")
    t0 = press_fit(page)
    out = {}
    if exact:
        expect(page.get_by_text("Exact posterior (available now)")).to_be_visible(timeout=300_000)
        page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=300_000)
        out["first_plot_s"] = time.time() - t0
    expect(page.get_by_role("heading", name=RESULTS)).to_be_visible(timeout=600_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    out["results_s"] = time.time() - t0
    out.setdefault("first_plot_s", out["results_s"])
    return out


def scenario(name: str, env_extra: dict, cache: Path, browser, wait_precompile: bool) -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1", HIERMOD_JAX_CACHE=str(cache), **env_extra)
    log_path = Path(tempfile.gettempdir()) / f"hiermod-latency-{name}.log"
    proc, url, t_spawn = start_server(env, log_path)
    result = {"scenario": name}
    try:
        context = browser.new_context(viewport=VIEWPORT)
        page = context.new_page()
        page.goto(url)
        expect(page.get_by_role("heading").first).to_be_visible(timeout=120_000)
        result["first_heading_s"] = time.time() - t_spawn
        if wait_precompile:
            result["waited_for_precompile_s"] = wait_for_log(log_path, "Precompiled sample samplers", 600)
        choose_sample(page, EIGHT)
        result["eight_schools"] = fit_and_time(page, exact=True)
        goto_page(page, "Model")
        sampler_settings(page, seed=1)
        expect(page.get_by_text("seed 1").first).to_be_visible(timeout=30_000)
        result["eight_schools_warm"] = fit_and_time(page, exact=True)
        goto_page(page, "Data")
        choose_sample(page, RADON)
        result["radon"] = fit_and_time(page, exact=False)
        page.screenshot(path=str(REPO / "test-artifacts" / f"latency-{name}-radon.png"))
        context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(json.dumps(result), flush=True)
    return result


def report(results: list[dict], started: str) -> str:
    lines = [
        "# hiermod dashboard latency (real browser)",
        "",
        f"Run {started} by `python bench/app_latency.py` on {platform.node()} "
        f"({os.cpu_count()} cores); load average at the end {os.getloadavg()}.",
        "Default sampler settings (4 chains x 1000 warmup x 1000 draws), partial pooling, non-centered. "
        "Seconds; 'first plot' for eight schools is the exact posterior, shown before NUTS finishes; "
        "radon has no exact method, so its first plot comes with the NUTS results.",
        "",
        "| scenario | spawn to first heading | eight schools: Fit to first plot | eight schools: Fit to NUTS results "
        "| eight schools again (new seed) | radon: Fit to results |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['scenario']} | {r['first_heading_s']:.1f} | {r['eight_schools']['first_plot_s']:.1f} | "
            f"{r['eight_schools']['results_s']:.1f} | {r['eight_schools_warm']['results_s']:.1f} | "
            f"{r['radon']['results_s']:.1f} |")
    lines += ["", "Scenarios: cold = empty JAX disk cache and no background precompile, Fit pressed as soon "
              "as the page is up; restart = disk cache from the cold run, background precompile on, Fit "
              "pressed at once; precompiled = background precompile finished before Fit was pressed "
              f"(it took {results[-1].get('waited_for_precompile_s', float('nan')):.0f} s after the first "
              "page).", ""]
    return "\n".join(lines)


def main() -> int:
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS)
        results = [
            scenario("cold", {"HIERMOD_PRECOMPILE": "0"}, Path(d1), browser, wait_precompile=False),
            scenario("restart", {"HIERMOD_PRECOMPILE": "1"}, Path(d1), browser, wait_precompile=False),
            scenario("precompiled", {"HIERMOD_PRECOMPILE": "1"}, Path(d2), browser, wait_precompile=True),
        ]
        browser.close()
    text = report(results, started)
    (REPO / "bench" / "APP_LATENCY.md").write_text(text, encoding="utf-8")
    (REPO / "bench" / "APP_LATENCY.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
