"""Fit times of the new hierarchies with the default sampler settings; writes bench/HIERARCHIES.md.

    python bench/hierarchy_times.py

Each structure runs in a fresh process (``hiermod.fit`` alone keeps no on-disk JAX cache, so a cold
fit compiles everything), then fits again with a new seed in the same process (warm: no compilation).
Reported: cold and warm wall time, compilations, divergences, smallest bulk ESS and largest R-hat
over the summary's parameters, and ESS per second of the warm fit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

STRUCTURES = {
    "nested (school > class), non-centered": ("simulated_nested", {"likelihood": "normal", "groups": ["school", "class"]}),
    "nested, centered": ("simulated_nested", {"likelihood": "normal", "groups": ["school", "class"],
                                             "parameterization": "centered"}),
    "varying slopes (LKJ), non-centered": ("simulated_slopes", {"likelihood": "normal", "slopes": ["hours"]}),
    "varying slopes, independent": ("simulated_slopes", {"likelihood": "normal", "slopes": ["hours"],
                                                         "slope_correlation": "none"}),
    "Beta population (rat tumours)": ("rat_tumors", {"likelihood": "binomial", "population": "beta"}),
    "Gamma population (hospital rates)": ("simulated_rates", {"likelihood": "poisson", "population": "gamma"}),
    "one level, for scale (radon)": ("radon", {"likelihood": "normal"}),
}

CHILD = r"""
import json, sys, time
import numpy as np
import hiermod
from hiermod.datasets import load_dataset
from hiermod.diagnostics import summary_table
from hiermod.spec import ModelSpec
name, spec = sys.argv[1], ModelSpec.from_dict(json.loads(sys.argv[2]))
data = load_dataset(name)
out = {}
for label, seed in (("cold", 0), ("warm", 1)):
    t0 = time.perf_counter()
    fit = hiermod.fit(data, spec, seed=seed)
    seconds = time.perf_counter() - t0
    table = summary_table(fit)
    out[label] = {"seconds": seconds, "compilations": fit.timings.get("compilations"),
                  "divergences": int(fit.idata.sample_stats.diverging.values.sum()),
                  "min_ess_bulk": float(table["ess_bulk"].min()), "max_rhat": float(table["r_hat"].max())}
print("RESULT " + json.dumps(out))
"""


def main() -> None:
    results = {}
    for label, (data_name, spec) in STRUCTURES.items():
        env = dict(os.environ, PYTHONPATH=str(ROOT))  # hiermod.fit alone keeps no on-disk JAX cache
        proc = subprocess.run([sys.executable, "-c", CHILD, data_name, json.dumps(spec)], capture_output=True,
                              text=True, cwd=ROOT, env=env)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            print(proc.stderr[-2000:])
            raise SystemExit(f"{label}: no result")
        results[label] = {"data": data_name, "spec": spec} | json.loads(line[7:])
        print(label, results[label], flush=True)
    lines = ["# Fit times of the hierarchies", "",
             f"Made by `python bench/hierarchy_times.py` on {time.strftime('%Y-%m-%d %H:%M')}: NUTS 4 chains x "
             "(1000 warmup + 1000 draws), each structure in a fresh process (no on-disk JAX cache) "
             "(cold: compiles), then a second fit with a new seed (warm).", "",
             "| structure | data | cold (s) | warm (s) | compilations (warm) | divergences (warm) | "
             "min ESS bulk | max R-hat | min ESS / s (warm) |", "|---|---|---|---|---|---|---|---|---|"]
    for label, r in results.items():
        c, w = r["cold"], r["warm"]
        lines.append(f"| {label} | {r['data']} | {c['seconds']:.1f} | {w['seconds']:.1f} | {w['compilations']:.0f} | "
                     f"{w['divergences']} | {w['min_ess_bulk']:.0f} | {w['max_rhat']:.3f} | "
                     f"{w['min_ess_bulk'] / w['seconds']:.0f} |")
    (ROOT / "bench" / "HIERARCHIES.md").write_text("\n".join(lines) + "\n")
    (ROOT / "bench" / "HIERARCHIES.json").write_text(json.dumps(results, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
