"""Benchmark hiermod against PyMC, nutpie and Stan (PyStan) on the same models, data and settings.

    bash bench/run.sh                      # full run (creates .bench-venv first if missing)
    bash bench/run.sh --quick              # smoke test: 2 chains x 200 x 200, scaling to 1e5 rows
    .bench-venv/bin/python bench/run.py --models radon binomial500 --peers hiermod nutpie

Each (peer, model) runs in its own fresh subprocess (bench/worker.py): the first call is cold and
peak memory is that peer's alone. Results: a Markdown report (--out), the raw JSON next to it,
and the scaling curve (CSV, Plotly HTML, matplotlib PNG).
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata as md
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(HERE), str(ROOT)]

import datasets  # noqa: E402

ALL_MODELS = ["eight_schools_c", "eight_schools_nc", "radon", "binomial500", "large"]
ALL_PEERS = ["hiermod", "pymc", "nutpie", "stan"]
PEER_TITLES = {"hiermod": "hiermod (NumPyro)", "pymc": "PyMC (default NUTS)", "nutpie": "nutpie",
               "stan": "Stan (PyStan)"}
VERSIONS = ["hiermod", "numpy", "scipy", "pandas", "jax", "jaxlib", "numpyro", "arviz", "xarray",
            "pymc", "pytensor", "nutpie", "numba", "pystan", "httpstan", "psutil", "plotly", "matplotlib"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 2 chains x 200 warmup x 200 draws, scaling up to 1e5 rows, "
                        "writes bench/RESULTS_quick.md and bench/scaling_quick.*")
    p.add_argument("--models", nargs="+", default=ALL_MODELS, choices=ALL_MODELS, metavar="MODEL",
                   help=f"models to run (default all: {' '.join(ALL_MODELS)})")
    p.add_argument("--peers", nargs="+", default=ALL_PEERS, choices=ALL_PEERS, metavar="PEER",
                   help=f"peers to run (default all: {' '.join(ALL_PEERS)})")
    p.add_argument("--skip-peers-large", action="store_true",
                   help="on the large model (2,000 groups x 200,000 rows) run only hiermod and nutpie "
                        "(PyMC takes ~45 min and Stan ~1.5 h there)")
    p.add_argument("--chains", type=int)
    p.add_argument("--warmup", type=int)
    p.add_argument("--draws", type=int)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--hiermod-start", choices=("instant", "random"), default="instant",
                   help="where hiermod's chains start (hiermod.settings.START_CHOICES; default its own, instant)")
    p.add_argument("--hiermod-warmup", default="auto",
                   help="hiermod's warmup: 'auto' (default: hiermod's own, 300 from an instant start, "
                        "else 1000) or a number ('same' = --warmup, as the other peers)")
    p.add_argument("--no-scaling", action="store_true", help="skip hiermod's scaling curve")
    p.add_argument("--no-exact", action="store_true", help="skip the exact-method timings")
    p.add_argument("--scaling-groups", type=int, nargs="+", help="group counts (rows fixed at --scaling-fixed-rows)")
    p.add_argument("--scaling-rows", type=int, nargs="+", help="row counts (groups fixed at --scaling-fixed-groups)")
    p.add_argument("--scaling-fixed-rows", type=int, default=100_000)
    p.add_argument("--scaling-fixed-groups", type=int, default=100)
    p.add_argument("--scaling-chains", type=int)
    p.add_argument("--scaling-warmup", type=int)
    p.add_argument("--scaling-draws", type=int)
    p.add_argument("--mem-budget-gb", type=float, default=14.0,
                   help="skip a hiermod run whose post-sampling per-row arrays (estimated 12 x chains x draws "
                        "x rows x 8 bytes) would exceed this (the machine has 24 GB)")
    p.add_argument("--timeout", type=float, default=7200.0, help="seconds per (peer, model) subprocess")
    p.add_argument("--out", type=Path, help="report path (default bench/RESULTS.md, or "
                                            "bench/RESULTS_quick.md with --quick)")
    p.add_argument("--log-dir", type=Path, help="worker logs (default: a new temporary directory)")
    a = p.parse_args(argv)
    q = a.quick
    a.chains = a.chains or (2 if q else 4)
    a.warmup = a.warmup or (200 if q else 1000)
    a.draws = a.draws or (200 if q else 1000)
    a.scaling_chains = a.scaling_chains or 2
    a.scaling_warmup = a.scaling_warmup or (200 if q else 500)
    a.scaling_draws = a.scaling_draws or (200 if q else 50)
    a.scaling_groups = a.scaling_groups or [10, 100, 1000, 10_000]
    a.scaling_rows = a.scaling_rows or ([1000, 10_000, 100_000] if q else [1000, 10_000, 100_000, 1_000_000])
    a.out = a.out or HERE / ("RESULTS_quick.md" if q else "RESULTS.md")
    a.scaling_prefix = HERE / ("scaling_quick" if q else "scaling")
    a.log_dir = a.log_dir or Path(tempfile.mkdtemp(prefix="hiermod-bench-"))
    a.log_dir.mkdir(parents=True, exist_ok=True)
    return a


# ------------------------------------------------------------------------------------------ running


def run_job(args, peer: str, dataset: str, chains: int, warmup: int, draws: int, hiermod_own: bool = True) -> dict:
    """One (peer, model) in a fresh process; ``hiermod_own``: hiermod with --hiermod-start/--hiermod-warmup."""
    tag = f"{peer}-{dataset}"
    out = args.log_dir / f"{tag}.json"
    log = args.log_dir / f"{tag}.log"
    job = {"peer": peer, "dataset": dataset, "chains": chains, "warmup": warmup, "draws": draws,
           "seed": args.seed, "out": str(out), "mem_budget_gb": args.mem_budget_gb}
    if peer == "hiermod" and hiermod_own:
        hw = args.hiermod_warmup
        job.update(start=args.hiermod_start, warmup=None if hw == "auto" else warmup if hw == "same" else int(hw))
    print(f"  {peer:<14} {dataset:<22}", end=" ", flush=True)
    t0 = time.perf_counter()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    with open(log, "w") as fh:
        try:
            subprocess.run([sys.executable, str(HERE / "worker.py"), json.dumps(job)], cwd=ROOT, env=env,
                           stdout=fh, stderr=subprocess.STDOUT, timeout=args.timeout, check=False)
            result = json.loads(out.read_text()) if out.exists() else {
                "status": "error", "reason": f"worker wrote no result (log: {log})"}
        except subprocess.TimeoutExpired:
            result = {"status": "error", "reason": f"timed out after {args.timeout:.0f} s"}
    result.update(peer=peer, dataset=dataset, chains=chains, warmup=warmup, draws=draws,
                  wall_s=time.perf_counter() - t0, log=str(log))
    if result.get("status") == "ok" and "min_ess_bulk" in result:
        result["ess_per_s"] = result["min_ess_bulk"] / result["sampling_s"] if result["sampling_s"] else math.nan
    if result.get("status") == "ok":
        extra = (f"first {result['first_s']:.2f} s, second {result['second_s']:.3f} s"
                 + (f", ESS {result['min_ess_bulk']:.0f}, ESS/s {result['ess_per_s']:.0f}" if "ess_per_s" in result else ""))
    else:
        extra = f"{result['status'].upper()}: {result.get('reason', '')}"
    print(f"{result['wall_s']:7.1f} s  {extra}", flush=True)
    return result


# ------------------------------------------------------------------------------------------ report


def fmt(x, digits=2):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, int) or (isinstance(x, float) and (abs(x) >= 100 or x.is_integer())):
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.{digits}f}" if abs(x) >= 0.01 or x == 0 else f"{x:.2g}"


def with_ratio(value, ref):
    text = fmt(value)
    if value is None or ref in (None, 0) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or not isinstance(ref, (int, float)) or not math.isfinite(ref):
        return text
    return f"{text} (×{value / ref:.2g})"


COLUMNS = [  # (key, header)
    ("first_s", "first call s"),
    ("second_s", "second call s"),
    ("sampling_s", "sampling s (2nd)"),
    ("min_ess_bulk", "min bulk ESS"),
    ("ess_per_s", "ESS/s"),
    ("divergences", "divergences"),
    ("mem_first_mb", "peak RSS Δ 1st MB"),
    ("mem_second_mb", "peak RSS Δ 2nd MB"),
]


def _hiermod_target_accept(results: list[dict]) -> str:
    """The target acceptance hiermod's workers reported (its default), as text."""
    values = sorted({r["target_accept"] for r in results if r.get("peer") == "hiermod" and "target_accept" in r})
    return "/".join(f"{v:g}" for v in values) or "(not reported)"


def results_table(results: list[dict], models: list[str]) -> str:
    head = "| model | peer | " + " | ".join(h for _, h in COLUMNS) + " | recompiles (2nd) |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 3)]
    for model in models:
        rows = [r for r in results if r["dataset"] == model]
        ref = next((r for r in rows if r["peer"] == "hiermod" and r.get("status") == "ok"), None)
        for r in rows:
            name = PEER_TITLES[r["peer"]]
            if r.get("status") != "ok":
                lines.append(f"| {model} | {name} | " + f"{r['status']}: {r.get('reason', '')}".replace("|", "/")
                             + " |" * len(COLUMNS) + " |")
                continue
            cells = []
            for key, _ in COLUMNS:
                value = r.get(key)
                if key == "first_s" and r["peer"] == "stan" and not r.get("compiled_now"):
                    cells.append(with_ratio(value, ref.get(key) if ref else None) + " †")
                    continue
                cells.append(fmt(value) if (r["peer"] == "hiermod" or ref is None)
                             else with_ratio(value, ref.get(key)))
            recompiles = fmt(r.get("second_compilations")) if r["peer"] == "hiermod" else ""
            lines.append(f"| {model} | {name} | " + " | ".join(cells) + f" | {recompiles} |")
    return "\n".join(lines)


def machine_info() -> dict:
    info = {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines()
                           if line.startswith("model name"))
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or "unknown"
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()
        info["ram_gb"] = int(mem[0].split()[1]) / 2**20
    except OSError:
        info["ram_gb"] = math.nan
    try:
        info["nproc"] = int(subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip())
        info["gcc"] = subprocess.run(["g++", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    except Exception:
        pass
    try:
        info["git"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                     text=True).stdout.strip()
        info["git_dirty"] = bool(subprocess.run(["git", "status", "--porcelain", "hiermod"], cwd=ROOT,
                                                capture_output=True, text=True).stdout.strip())
    except Exception:
        pass
    return info


def versions() -> dict:
    out = {}
    for name in VERSIONS:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "not installed"
    if out["hiermod"] == "not installed":
        out["hiermod"] = "source tree (not pip-installed)"
    return out


def loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


# ----------------------------------------------------------------------------------------- scaling


def scaling_points(args) -> list[tuple[str, int, int]]:
    pts = [("groups", g, args.scaling_fixed_rows) for g in args.scaling_groups]
    pts += [("rows", args.scaling_fixed_groups, n) for n in args.scaling_rows]
    return pts


SCALING_FIELDS = ["sweep", "groups", "rows", "parameterization", "chains", "warmup", "draws", "status",
                  "first_s", "second_s", "first_compile_s", "sampling_s", "second_postprocess_s",
                  "leapfrog_steps", "us_per_gradient", "min_ess_bulk", "ess_per_s", "divergences",
                  "mem_first_mb", "mem_second_mb", "reason"]


def write_scaling(rows: list[dict], prefix: Path) -> list[Path]:
    written = []
    csv_path = prefix.with_suffix(".csv")
    with open(csv_path, "w", newline="") as fh:
        w = csv.DictWriter(fh, SCALING_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    written.append(csv_path)
    ok = [r for r in rows if r.get("status") == "ok"]
    series = [("first_s", "first call (compile incl.)"), ("second_s", "second call (new priors)"),
              ("sampling_s", "sampling (2nd call)")]
    sweeps = [("groups", "groups", "groups (rows fixed)"), ("rows", "rows", "rows (groups fixed)")]
    try:
        import plotly.graph_objects as go
        from plotly.subplots import make_subplots

        fig = make_subplots(rows=2, cols=2, shared_xaxes=False, vertical_spacing=0.14,
                            subplot_titles=["time vs groups", "time vs rows",
                                            "µs per gradient vs groups", "µs per gradient vs rows"])
        for col, (sweep, x, _) in enumerate(sweeps, start=1):
            pts = sorted((r for r in ok if r["sweep"] == sweep), key=lambda r: r[x])
            for i, (key, label) in enumerate(series):
                fig.add_trace(go.Scatter(x=[r[x] for r in pts], y=[r[key] for r in pts], mode="lines+markers",
                                         name=label, legendgroup=key, showlegend=col == 1,
                                         line=dict(color=["#1f77b4", "#ff7f0e", "#2ca02c"][i])), row=1, col=col)
            fig.add_trace(go.Scatter(x=[r[x] for r in pts], y=[r["us_per_gradient"] for r in pts],
                                     mode="lines+markers", name="µs per gradient (2nd call)",
                                     legendgroup="grad", showlegend=col == 1, line=dict(color="#d62728")),
                          row=2, col=col)
            fixed = pts[0]["rows"] if sweep == "groups" and pts else pts[0]["groups"] if pts else ""
            fig.update_xaxes(type="log", title_text=f"{x} ({'rows' if sweep == 'groups' else 'groups'} = {fixed:,})"
                             if pts else x, row=2, col=col)
            fig.update_xaxes(type="log", row=1, col=col)
            fig.update_yaxes(type="log", title_text="seconds" if col == 1 else None, row=1, col=col)
            fig.update_yaxes(type="log", title_text="µs / gradient" if col == 1 else None, row=2, col=col)
        fig.update_layout(title="hiermod scaling (gaussian partial pooling, centered)", height=750, width=1100)
        html = prefix.with_suffix(".html")
        fig.write_html(html, include_plotlyjs="cdn")
        written.append(html)
    except Exception as exc:  # pragma: no cover
        print(f"plotly figure not written: {exc}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(2, 2, figsize=(11, 7.5))
        for col, (sweep, x, _) in enumerate(sweeps):
            pts = sorted((r for r in ok if r["sweep"] == sweep), key=lambda r: r[x])
            xs = [r[x] for r in pts]
            for key, label in series:
                axes[0, col].plot(xs, [r[key] for r in pts], marker="o", label=label)
            axes[1, col].plot(xs, [r["us_per_gradient"] for r in pts], marker="o", color="C3")
            fixed = (pts[0]["rows"] if sweep == "groups" else pts[0]["groups"]) if pts else ""
            other = "rows" if sweep == "groups" else "groups"
            for ax in axes[:, col]:
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.grid(True, which="both", alpha=0.3)
                ax.set_xlabel(f"{x} ({other} = {fixed:,})" if pts else x)
            axes[0, col].set_title(f"time vs {x}")
            axes[1, col].set_title(f"µs per gradient vs {x}")
        axes[0, 0].set_ylabel("seconds")
        axes[1, 0].set_ylabel("µs / gradient (2nd call)")
        axes[0, 0].legend(fontsize=8)
        fig.suptitle("hiermod scaling (gaussian partial pooling, centered)")
        fig.tight_layout()
        png = prefix.with_suffix(".png")
        fig.savefig(png, dpi=110)
        written.append(png)
    except Exception as exc:  # pragma: no cover
        print(f"matplotlib figure not written: {exc}")
    return written


def scaling_table(rows: list[dict]) -> str:
    lines = ["| sweep | groups | rows | first call s | compile s | second call s | sampling s | "
             "post-processing s | µs/gradient | min bulk ESS | peak RSS Δ 2nd MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("status") != "ok":
            lines.append(f"| {r['sweep']} | {r['groups']:,} | {r['rows']:,} | {r['status']}: "
                         f"{r.get('reason', '')} | | | | | | | |")
            continue
        lines.append(f"| {r['sweep']} | {r['groups']:,} | {r['rows']:,} | {fmt(r['first_s'])} | "
                     f"{fmt(r['first_compile_s'])} | {fmt(r['second_s'])} | {fmt(r['sampling_s'])} | "
                     f"{fmt(r['second_postprocess_s'])} | {fmt(r['us_per_gradient'])} | "
                     f"{fmt(r['min_ess_bulk'])} | {fmt(r.get('mem_second_mb'))} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------- main


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.perf_counter()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load_start = loadavg()
    command = "python bench/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"hiermod benchmark: {args.chains} chains x {args.warmup} warmup x {args.draws} draws; "
          f"logs in {args.log_dir}", flush=True)
    results, exact, scaling = [], [], []
    for model in args.models:
        ds = datasets.get(model)
        print(f"\n{ds.describe()}", flush=True)
        for peer in args.peers:
            if model == "large" and args.skip_peers_large and peer not in ("hiermod", "nutpie"):
                results.append({"peer": peer, "dataset": model, "status": "skipped",
                                "reason": "--skip-peers-large"})
                print(f"  {peer:<14} {model:<22} skipped (--skip-peers-large)")
                continue
            results.append(run_job(args, peer, model, args.chains, args.warmup, args.draws))
    if not args.no_exact:
        print("\nhiermod.fit(method='exact')", flush=True)
        for name in ("eight_schools_nc", "summary1000"):
            exact.append(run_job(args, "hiermod_exact", name, 4, 1000, 1000))
    if not args.no_scaling:
        print(f"\nhiermod scaling: {args.scaling_chains} chains x {args.scaling_warmup} warmup x "
              f"{args.scaling_draws} draws", flush=True)
        for sweep, g, n in scaling_points(args):
            r = run_job(args, "hiermod", f"gauss_g{g}_n{n}", args.scaling_chains, args.scaling_warmup,
                        args.scaling_draws, hiermod_own=False)
            r.update(sweep=sweep, groups=g, rows=n)
            if r.get("status") == "ok":
                r["us_per_gradient"] = r["s_per_gradient"] * 1e6
            scaling.append(r)
    total_s = time.perf_counter() - t_start

    # ---- report
    info, vers = machine_info(), versions()
    table = results_table(results, args.models)
    print("\n" + table + "\n")
    scaling_files = write_scaling(scaling, args.scaling_prefix) if scaling else []
    raw = args.out.with_suffix(".json")
    raw.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "machine": info,
                               "versions": vers, "results": results, "exact": exact, "scaling": scaling,
                               "total_s": total_s}, indent=1, default=str))
    md_lines = []
    if args.quick:
        md_lines += ["# hiermod benchmark — SMOKE TEST (`--quick`), not the final results", "",
                     "> **This is a smoke test of the harness**, run with tiny settings on a shared, busy "
                     "2-core machine. Its numbers only show that every peer runs end to end; do not quote "
                     "them. The final numbers come from the full run (`bash bench/run.sh`, see "
                     "bench/README.md) and go to bench/RESULTS.md.", ""]
    else:
        md_lines += ["# hiermod benchmark results", ""]
    md_lines += [
        f"Run {started} → {time.strftime('%Y-%m-%d %H:%M:%S')} ({total_s / 60:.1f} min), command: `{command}`",
        "",
        "## Machine",
        f"- CPU: {info.get('cpu')}; `nproc`: {info.get('nproc')}; RAM: {info.get('ram_gb', math.nan):.1f} GiB",
        f"- load average (1, 5, 15 min) at start: {load_start}; at end: {loadavg()}",
        f"- Python {info.get('python')} on {info.get('platform')}; {info.get('gcc', '')}",
        f"- hiermod source at commit {info.get('git', '?')}" + (" (hiermod/ has uncommitted changes)"
                                                                 if info.get("git_dirty") else ""),
        "",
        "## Versions",
        ", ".join(f"{k} {v}" for k, v in vers.items()),
        "",
        "## Settings",
        f"- every peer: {args.chains} chains × {args.warmup} warmup × {args.draws} draws, seed {args.seed} "
        f"(hiermod: chains start {args.hiermod_start}, warmup {args.hiermod_warmup}; `warmup_run` in the JSON) "
        f"(first call) / {args.seed + 1} (second call); same model, same priors, same data",
        "- each (peer, model) in its own fresh Python process; first call = cold (compile included, library "
        "imports excluded); on-disk caches as left by earlier runs (httpstan's built model, PyTensor's C cache)",
        "- second call = same structure, new prior values: the first call uses the priors' scales × "
        f"{datasets.FIRST_CALL_SCALE:g}, the second the stated priors; ESS, divergences and ESS/s are from "
        "the second call",
        "- each peer at its own default NUTS target acceptance: hiermod "
        f"{_hiermod_target_accept(results)} (`hiermod.settings.DEFAULT_TARGET_ACCEPT`), PyMC, nutpie and Stan 0.8",
        "",
        "## Models",
    ]
    md_lines += [f"- `{m}`: {datasets.get(m).describe()} — {datasets.get(m).source}" for m in args.models]
    md_lines += [
        "",
        "## Results",
        "",
        "Cells of peers show (×ratio to hiermod). For times and memory a ratio below 1 means the peer is "
        "faster / smaller; for ESS and ESS/s above 1 means the peer is better. ESS/s = min bulk ESS over "
        "mu, tau, sigma and every theta_j / sampling time of the second call. \"recompiles (2nd)\" = XLA "
        "compilations hiermod counted in its second call (0 expected).",
        "",
        table,
        "",
    ]
    if any(r.get("peer") == "stan" and r.get("status") == "ok" and not r.get("compiled_now") for r in results):
        rec = next((r.get("compile_s_recorded") for r in results if r.get("compile_s_recorded")), None)
        md_lines += [f"† Stan's first call loaded the model compiled earlier from httpstan's cache; the one "
                     f"g++ compile of the (single, shared) Stan program took {fmt(rec)} s when it was built "
                     f"— add it to compare cold starts.", ""]
    md_lines += ["What each peer's calls were:", ""]
    for peer in args.peers:
        note = next((r.get("note") for r in results if r["peer"] == peer and r.get("note")), None)
        if note:
            md_lines.append(f"- **{PEER_TITLES[peer]}**: {note}")
    md_lines.append("")
    hm = [r for r in results if r["peer"] == "hiermod" and r.get("status") == "ok"]
    if hm:
        md_lines += ["hiermod's first call split (from `Fit.timings`; compile = XLA backend compile time):", "",
                     "| model | first call s | compile s | compilations | sampling s (1st) | second call s | "
                     "post-processing s (2nd) | µs/gradient |", "|---|---|---|---|---|---|---|---|"]
        for r in hm:
            md_lines.append(f"| {r['dataset']} | {fmt(r['first_s'])} | {fmt(r['first_compile_s'])} | "
                            f"{fmt(r['first_compilations'])} | {fmt(r['first_sampling_s'])} | {fmt(r['second_s'])} | "
                            f"{fmt(r['second_postprocess_s'])} | {fmt(r['s_per_gradient'] * 1e6)} |")
        md_lines.append("")
    if exact:
        md_lines += ["## hiermod.fit(method=\"exact\") (target < 0.1 s)", "",
                     "| data | first call s | median of repeats s | exact_posterior only s | E[tau] |",
                     "|---|---|---|---|---|"]
        for r in exact:
            if r.get("status") == "ok":
                md_lines.append(f"| {r['dataset']} ({r['groups']:,} groups) | {r['first_s']:.4f} | "
                                f"{r['second_s']:.4f} | {r['exact_posterior_s']:.4f} | {r['tau_mean']:.3f} |")
            else:
                md_lines.append(f"| {r['dataset']} | {r['status']}: {r.get('reason', '')} | | | |")
        md_lines.append("")
    if scaling:
        md_lines += [
            "## Scaling of hiermod with groups and rows", "",
            f"Gaussian partial pooling (centered; mu ~ Normal(0, 10), tau, sigma ~ HalfNormal(1)), simulated; "
            f"{args.scaling_chains} chains × {args.scaling_warmup} warmup × {args.scaling_draws} draws. "
            f"Groups sweep at {args.scaling_fixed_rows:,} rows, rows sweep at {args.scaling_fixed_groups:,} "
            "groups. µs/gradient = sampling time / leapfrog steps of the second call (comparable across sizes "
            "whatever the tree depth).", "",
            f"![scaling]({args.scaling_prefix.name}.png)", "",
            "Files: " + ", ".join(f"[{p.name}]({p.name})" for p in scaling_files), "",
            scaling_table(scaling), "",
        ]
    md_lines += [
        "## Noise",
        f"The machine has {info.get('nproc')} cores shared with other work (load average above). Wall times "
        "can move by tens of percent between runs; compare ratios from one run rather than absolute "
        "seconds, and rerun a cell (`--models M --peers P`) before reading much into a small difference. "
        "ESS is a random quantity too (one seed). Peers use the cores differently: PyMC runs chains in "
        "processes, nutpie in threads, Stan in processes, hiermod runs chains in one process, "
        "vectorized (one call for all chains) up to 100 groups unless centered, else two at a time on threads.",
        "",
        f"Raw numbers: [{raw.name}]({raw.name}). Worker logs were in `{args.log_dir}`.",
    ]
    args.out.write_text("\n".join(md_lines) + "\n")
    print(f"wrote {args.out}, {raw}" + "".join(f", {p}" for p in scaling_files))
    print(f"total {total_s / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
