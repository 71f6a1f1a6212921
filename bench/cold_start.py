"""Cold first fit, before and after: hiermod at an older commit against the working tree, side by side.

    python bench/cold_start.py                       # before = the commit in COLD_START_BASE
    python bench/cold_start.py --before 9c5c268 --repeats 3 --models eight_schools_nc radon
    python bench/cold_start.py --arms before after after:HIERMOD_SAMPLER_OPT_LEVEL=3

Each (model, arm) runs ``bench/worker.py`` (the same harness as ``bench/run.py``: a fresh process,
``hiermod.fit`` twice, the second call with new prior values) in that arm's source tree, arms
alternating within each repeat so that both see the same machine load. The older commit is checked
out into a temporary git worktree. An arm ``after:NAME=VALUE`` is the working tree with an
environment variable set (to compare a setting). Reported per arm: the median first call (cold: empty
in-memory caches, no on-disk compilation cache, imports excluded), its XLA compilations and compile
seconds, the process's CPU seconds (imports included; less sensitive to other work on the machine
than wall time), the second call's sampling seconds and min bulk ESS per second. Writes
``bench/COLD_START.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
COLD_START_BASE = "9c5c268"
"""main before the issue "NUTS: a cold first fit in a few seconds" (its first session)."""
MODELS = ("eight_schools_c", "eight_schools_nc", "radon", "binomial500", "large")


def _worktree(ref: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(where), ref], check=True)
    return where


def _run_arm(tree: Path, env_extra: dict, model: str, seed: int, out_dir: Path) -> dict:
    """One cold run of ``hiermod.fit`` with the tree's default settings (4 x 1000 draws; the warmup
    its own: 1000 before the instant start existed, automatic after it)."""
    out = out_dir / f"{model}-{time.time_ns()}.json"
    job = {"peer": "hiermod", "dataset": model, "chains": 4, "warmup": 1000, "draws": 1000, "seed": seed,
           "out": str(out), "mem_budget_gb": 14}
    if (tree / "hiermod" / "nuts_start.py").exists():  # warmup None: hiermod's own default
        job.update(warmup=None, start=env_extra.get("HIERMOD_BENCH_START", "instant"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "XLA_"))}
    env.update(env_extra)
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, str(tree / "bench" / "worker.py"), json.dumps(job)], env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=1800)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.read_text()) if out.exists() else {"status": "error", "error": "no output"}
    result["process_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result["load"] = load  # 1-minute load average as the run started (other work on the machine)
    return result


def _arm_spec(arm: str, base_tree: Path) -> tuple[Path, dict]:
    name, _, setting = arm.partition(":")
    tree = base_tree if name == "before" else ROOT
    env = dict([setting.split("=", 1)]) if setting else {}
    return tree, env


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


FIELDS = (("first_s", "first call s"), ("first_compilations", "compilations"),
          ("first_compile_s", "compile s"), ("process_cpu_s", "process CPU s"),
          ("sampling_s", "sampling s (2nd)"), ("ess_per_s", "ESS/s (2nd)"), ("divergences", "divergences"),
          ("load", "load at start"))


def _summaries(runs: list[dict], arms: list[str], models: list[str]) -> dict:
    table = {}
    for model in models:
        for arm in arms:
            mine = [r for r in runs if r["model"] == model and r["arm"] == arm and r.get("status") == "ok"]
            row = {key: _median([r.get(key) for r in mine]) for key, _ in FIELDS}
            row["runs"] = len(mine)
            table[(model, arm)] = row
    return table


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
    return f"{int(v):,}"


def _markdown(table: dict, arms: list[str], models: list[str], meta: dict) -> str:
    lines = ["# Cold first fit, before and after", "",
             f"Run {meta['started']} -> {meta['ended']} by `python bench/cold_start.py {meta['argv']}` on "
             f"{meta['machine']}; load average at the start {meta['load_start']}, at the end {meta['load_end']}. "
             f"`before` = commit {meta['before']} (a temporary git worktree); `after` = the working tree at "
             f"{meta['after']}. Medians of {meta['repeats']} runs, arms alternating within each repeat. "
             "4 chains x 1000 draws, each tree's default warmup (1000 before; after: hiermod's automatic "
             "warmup, 300 when the chains start from the instant posterior, as they do on these models; the "
             "arm `after:HIERMOD_BENCH_START=random` starts at random with 1000); the first call in a fresh process with no on-disk "
             "compilation cache (library imports excluded from its time, included in the process CPU).",
             "", "| model | arm | " + " | ".join(label for _, label in FIELDS) + " | first call after/before |",
             "|---|---|" + "---|" * (len(FIELDS) + 1)]
    for model in models:
        base = table[(model, "before")]["first_s"] if "before" in arms else None
        for arm in arms:
            row = table[(model, arm)]
            ratio = row["first_s"] / base if base and row["first_s"] else None
            lines.append(f"| {model} | {arm} | " + " | ".join(_fmt(row[k]) for k, _ in FIELDS)
                         + f" | {'' if ratio is None or arm == 'before' else f'{ratio:.2f}'} |")
    lines += ["", "ESS/s = min bulk ESS over mu, tau, sigma and every theta / sampling seconds of the second "
              "call. Wall times on this shared 2-core machine move by tens of percent between runs; the "
              "process CPU column is steadier. Load at start: the 1-minute load average as each run started "
              "(median; it includes the tail of the bench's own previous run); a cold fit overlaps its "
              "compilations with its tracing (hiermod.compilation.AheadJit), which shortens the first call "
              "only when a second core is idle. Raw runs: `COLD_START.json`."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", default=COLD_START_BASE)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--arms", nargs="+", default=["before", "after"])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", default=str(HERE / "COLD_START"))
    args = parser.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M")
    load_start = " ".join(f"{x:.2f}" for x in os.getloadavg())
    after_commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                                  capture_output=True, text=True).stdout.strip() + " (+ uncommitted changes, if any)"
    runs = []
    with tempfile.TemporaryDirectory(prefix="hiermod-cold-") as tmp:
        base_tree = _worktree(args.before, Path(tmp) / "before") if "before" in args.arms else ROOT
        try:
            for repeat in range(args.repeats):
                for model in args.models:
                    for arm in args.arms:
                        tree, env = _arm_spec(arm, base_tree)
                        result = _run_arm(tree, env, model, seed=1 + 2 * repeat, out_dir=Path(tmp))
                        result.update(model=model, arm=arm, repeat=repeat)
                        if result.get("status") == "ok" and result.get("sampling_s"):
                            result["ess_per_s"] = result["min_ess_bulk"] / result["sampling_s"]
                        runs.append(result)
                        print(f"{model:18s} {arm:40s} first {result.get('first_s', float('nan')):7.2f} s  "
                              f"compilations {result.get('first_compilations')}  cpu {result['process_cpu_s']:.1f} s  "
                              f"load {result['load']:.2f}  {result.get('status')}", flush=True)
        finally:
            if base_tree != ROOT:
                subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(base_tree)])
    meta = {"started": started, "ended": time.strftime("%Y-%m-%d %H:%M"), "argv": " ".join(sys.argv[1:]),
            "machine": f"{platform.node()} ({os.cpu_count()} cores)", "load_start": load_start,
            "load_end": " ".join(f"{x:.2f}" for x in os.getloadavg()), "before": args.before,
            "after": after_commit, "repeats": args.repeats}
    table = _summaries(runs, args.arms, args.models)
    Path(args.out + ".json").write_text(json.dumps({"meta": meta, "runs": runs}, indent=1, default=str))
    Path(args.out + ".md").write_text(_markdown(table, args.arms, args.models, meta))
    print(Path(args.out + ".md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
