"""Time the live preview as a user sees it, in a real browser (Playwright + Debian's chromium).

    python bench/live_latency.py                  # eight schools and radon; writes bench/LIVE.md
    python bench/live_latency.py --repeats 5 --no-write

For each data set: ``streamlit run app.py`` (background precompile off, so only the live path
runs), a fresh browser session, the sample picked on the Data page, the Model page, the live
preview's toggle turned on. Then, in seconds, from the keystroke that commits a change to the moment
the browser has drawn new numbers in the live figures (their Plotly data read in the page on every
animation frame, tests/e2e/live_steps.py):

* **prior**: tau's prior scale typed into the live preview (0.5, 0.6, 0.7, ... times the model's:
  a new value each time, so no posterior comes from the cache), ``--repeats`` times after one
  warm-up change;
* **data**: one group's number typed into the live data editor (eight schools: school A's effect
  30, 33, 36, ...; radon: the first county's number of houses 5, 6, 7, ...), ``--repeats`` times
  after one warm-up;
* for each change: until the shrinkage plot is redrawn, and until every live figure is (shrinkage,
  tau's posterior, the pooling continuum);
* **server**: the same computation without the browser (:func:`hiermod.live.live_view`: the
  posterior-only instant Fit, shrinkage table, densities, continuum; then the Plotly figures and
  their JSON), median of ``--repeats``: what the server spends of it.

Also the first live draw after the toggle (it imports the heavy libraries once per server).
Not a test: numbers only. A model the instant method does not serve yet is reported as such.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "e2e"))
from conftest import CHROMIUM_FLAGS, VIEWPORT, _chromium  # noqa: E402
from live_steps import (fresh, live_on, open_cell, open_data_editor, signature,  # noqa: E402
                        timed_redraw, wait_drawn, wait_idle)
from streamlit_server import start_streamlit, stop  # noqa: E402
from ui_steps import EIGHT, RADON, choose_sample, goto_page  # noqa: E402

TARGET_S = 0.5
FIGURES = ("live_shrinkage_model", "live_hyper_tau_model", "live_continuum_model")
"""The live figures timed (radon adds sigma's density, drawn between tau's and the continuum)."""
SETS = {
    # name: (sample title, sample key, what is edited, data-editor column, values cycled through)
    "eight schools": (EIGHT, "eight_schools", "school A's effect 30, 33, 36, ...", 1,
                      tuple(30 + 3 * k for k in range(60))),
    "radon": (RADON, "radon", "AITKIN's houses 5, 6, 7, ... (the n column)", 1, tuple(5 + k for k in range(60))),
}


def server_side(sample: str, repeats: int) -> dict:
    """Seconds the server spends per change without the browser (median of ``repeats``): the live
    view (:func:`hiermod.live.live_view`) and the figures the panel draws from it, with their JSON."""
    from hiermod.datasets import load_dataset
    from hiermod.instant import unavailable_reason
    from hiermod.live import live_view
    from hiermod.plots import shrinkage_plot
    from hiermod.plots.live import hyper_density_plot, live_continuum_plot
    from ui.state import default_spec_for

    data = load_dataset(sample)
    spec = default_spec_for(data)
    reason = unavailable_reason(data, spec)
    if reason:
        return {"reason": reason}
    scale = dict(spec.priors)["tau"].args[-1]
    times = {"fit": [], "tables": [], "figures": []}
    for k in range(repeats + 1):
        s = spec.with_priors(tau=f"HalfNormal({scale * (1 + 0.1 * k):g})")
        t0 = time.perf_counter()
        view = live_view(data, s)
        t1 = time.perf_counter()
        post = view["post"]
        figs = [shrinkage_plot(view["table"], title=None)]
        figs += [hyper_density_plot(d, p, n, mark=float(post.mean(n))) for n, d, p in view["hyper"]]
        if view["continuum"] is not None:
            tau = next(d for n, d, _ in view["hyper"] if n == "tau")
            figs.append(live_continuum_plot(view["continuum"], tau, tau_mark=float(post.mean("tau")),
                                            x_max=float(tau["tau"].max())))
        for f in figs:
            f.to_json()
        t2 = time.perf_counter()
        if k:  # the first round warms imports and caches
            times["fit"].append(view["fit"].timings["total_s"])
            times["tables"].append(t1 - t0 - view["fit"].timings["total_s"])
            times["figures"].append(t2 - t1)
    return {k: statistics.median(v) for k, v in times.items()}


def _changed_all(page, old: dict, timeout: float = 60_000) -> None:
    for key, sig in old.items():
        page.wait_for_function(
            "([key, old]) => { const gd = document.querySelector('.st-key-' + key + "
            "'[data-stale=\"false\"] .js-plotly-plot'); if (!gd || !gd.data) return false; "
            "return JSON.stringify(gd.data.map(t => [t.x, t.y, t.customdata])) !== old; }",
            arg=[key, sig], polling="raf", timeout=timeout)


SERVER_LOG: Path | None = None
_PANEL = re.compile(r"Live panel \(model, \d+ groups\) drawn in (\d+) ms")


def _last_panel_ms() -> float | None:
    """The server's own time for its latest run of the live panel (ui.live logs it)."""
    found = _PANEL.findall(SERVER_LOG.read_text(errors="replace")) if SERVER_LOG else []
    return float(found[-1]) / 1e3 if found else None


def timed_change(page, commit) -> tuple[float, float, float | None]:
    """(seconds to the shrinkage plot redrawn, to every live figure redrawn, the server's run of
    the live panel)."""
    old = {key: signature(page, key) for key in FIGURES}
    t0 = time.perf_counter()
    first = timed_redraw(page, FIGURES[0], commit)
    _changed_all(page, {k: v for k, v in old.items() if k != FIGURES[0]})
    everything = time.perf_counter() - t0
    wait_idle(page)
    page.wait_for_timeout(50)  # the log line is written as the run ends
    return first, everything, _last_panel_ms()


def browser_side(browser, url: str, title: str, column: int, values, repeats: int) -> dict:
    """Timings in one fresh browser session (see the module docstring)."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.set_default_timeout(120_000)
    out: dict = {}
    try:
        page.goto(url)
        page.get_by_role("heading", name="Data").first.wait_for()
        choose_sample(page, title)
        goto_page(page, "Model")
        wait_idle(page)
        t0 = time.perf_counter()
        live_on(page)
        reason = page.get_by_text("is not available for this model")
        figure = page.locator(f"{fresh(FIGURES[0])} .js-plotly-plot")
        figure.or_(reason).first.wait_for(timeout=120_000)
        if reason.count():
            out["reason"] = reason.first.inner_text()
            return out
        for key in FIGURES:
            wait_drawn(page, key)
        out["first_draw_s"] = time.perf_counter() - t0
        box = page.get_by_label("tau: scale (live)", exact=True)
        base = float(box.input_value())
        out["prior"] = []
        for k in range(repeats + 1):
            box.fill(f"{base * (0.5 + 0.1 * k):.4g}")  # a new value each time: nothing cached
            t = timed_change(page, lambda: box.press("Enter"))
            if k:
                out["prior"].append(t)
        open_data_editor(page)
        out["data"] = []
        for k in range(repeats + 1):
            open_cell(page, 0, column).fill(str(values[k % len(values)]))
            t = timed_change(page, lambda: page.keyboard.press("Enter"))
            if k:
                out["data"].append(t)
        page.locator(fresh(FIGURES[0])).first.scroll_into_view_if_needed()
        shot = REPO / "test-artifacts" / f"live-latency-{title.split(' ')[0].lower()}.png"
        page.screenshot(path=str(shot))
        out["screenshot"] = str(shot.relative_to(REPO))
    except Exception:
        page.screenshot(path=str(REPO / "test-artifacts" / "live-latency-failed.png"))
        raise
    finally:
        context.close()
    return out


def _stats(pairs: list, i: int) -> str:
    xs = sorted(p[i] for p in pairs)
    p90 = xs[min(len(xs) - 1, int(round(0.9 * (len(xs) - 1))))]
    under = sum(x <= TARGET_S for x in xs)
    return f"{statistics.median(xs):.3f} / {p90:.3f} / {xs[-1]:.3f} ({under} of {len(xs)} <= {TARGET_S:g} s)"


def report(results: dict, repeats: int, started: str) -> str:
    lines = [
        "# Live preview latency (real browser)",
        "",
        f"Run {started} by `python bench/live_latency.py --repeats {repeats}` on {platform.node()} "
        f"({os.cpu_count()} cores); load average at the end {tuple(round(x, 2) for x in os.getloadavg())}"
        + (f"; run at niceness {os.nice(0)} (server and browser ahead of the machine's other work)"
           if os.nice(0) < 0 else "") + ".",
        "Seconds from the keystroke that commits a change (Enter in the live prior's box or in the data "
        "editor's cell) until the browser has drawn the new numbers (Plotly's data read in the page on "
        "every animation frame). Median / 90th percentile / max of the repeats, after one warm-up change; "
        f"the aim is {TARGET_S:g} s. Server: the same computation without the browser (instant posterior "
        "with 1,000 draws as a posterior-only Fit, shrinkage table, densities, continuum, every live "
        "Plotly figure and its JSON), median. Default model of each sample (partial pooling, data-scaled priors); background "
        "precompile off.",
        "",
        "| data | change | to the shrinkage plot | to every live figure | the server's run of the live panel |",
        "|---|---|---|---|---|",
    ]
    notes = []
    for name, r in results.items():
        b, srv = r["browser"], r["server"]
        if "reason" in b or "reason" in srv:
            lines.append(f"| {name} | - | not served by the instant method yet | | |")
            notes.append(f"- {name}: {b.get('reason') or srv.get('reason')}")
            continue
        for what, runs in (("prior: tau's scale", b["prior"]), (f"data: {r['edit']}", b["data"])):
            server = [x[2] for x in runs if x[2] is not None]
            lines.append(f"| {name} | {what} | {_stats(runs, 0)} | {_stats(runs, 1)} | "
                         + (f"{statistics.median(server):.3f} |" if server else "n/a |"))
        notes.append(f"- {name}: first live draw after turning the preview on {b['first_draw_s']:.2f} s "
                     f"(imports the heavy libraries once per server); server per change: instant posterior + draws "
                     f"{srv['fit'] * 1e3:.0f} ms, tables {srv['tables'] * 1e3:.0f} ms, figures + JSON "
                     f"{srv['figures'] * 1e3:.0f} ms; screenshot `{b.get('screenshot', '')}`.")
    return "\n".join(lines + [""] + notes + [""])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--sets", nargs="+", choices=list(SETS), default=list(SETS))
    parser.add_argument("--no-write", action="store_true", help="print only (do not write bench/LIVE.md)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    started = time.strftime("%Y-%m-%d %H:%M:%S")
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1", HIERMOD_PRECOMPILE="0")
    results = {}
    global SERVER_LOG
    log_path = SERVER_LOG = REPO / "test-artifacts" / "live-latency-server.log"
    with open(log_path, "w") as log, sync_playwright() as pw:
        proc, url = start_streamlit(env, log, timeout=120)
        try:
            browser = pw.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_FLAGS)
            for name in args.sets:
                title, sample, edit, column, values = SETS[name]
                b = browser_side(browser, url, title, column, values, args.repeats)
                results[name] = {"browser": b, "server": server_side(sample, args.repeats), "edit": edit}
                print(name, results[name], flush=True)
            browser.close()
        finally:
            stop(proc)
    text = report(results, args.repeats, started)
    print(text)
    if not args.no_write and list(args.sets) == list(SETS):
        (REPO / "bench" / "LIVE.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
