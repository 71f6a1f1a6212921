"""How long simulation-based calibration takes (hiermod.sbc.run_sbc); prints a table.

    python bench/sbc_times.py                 # instant 500 x L=199 (eight schools, rat tumors), NUTS 100 x L=99
    python bench/sbc_times.py --skip-nuts

Wall-clock and CPU seconds of the process (CPU below wall means the machine was busy with other
work), per replication, and the verdict. The NUTS run's first fit compiles the sampler (cold:
JAX's persistent cache off); the time of the rest is reported separately.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hiermod.datasets import load_dataset  # noqa: E402
from hiermod.sbc import run_sbc  # noqa: E402
from hiermod.spec import ModelSpec  # noqa: E402

RUNS = [
    ("eight schools", "eight_schools", ModelSpec("normal_known_se"), "instant", dict(reps=500, draws=199)),
    ("rat tumors, Beta population", "rat_tumors", ModelSpec("binomial", population="beta"), "instant",
     dict(reps=500, draws=199)),
    ("eight schools", "eight_schools", ModelSpec("normal_known_se"), "nuts",
     dict(reps=100, draws=99, warmup=500, thin=10, chains=1)),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-nuts", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| data | method | reps x L | wall s | CPU s | ms / rep | verdict | smallest p |")
    print("|---|---|---|---|---|---|---|---|")
    for title, name, spec, method, kw in RUNS:
        if method == "nuts" and args.skip_nuts:
            continue
        data = load_dataset(name)
        firsts = []
        t0, c0 = time.perf_counter(), time.process_time()
        res = run_sbc(data, spec, method=method, seed=args.seed,
                      progress=lambda p: firsts.append(time.perf_counter() - t0)
                      if p.message.startswith("Replication 2 ") and not firsts else None, **kw)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        pmin = float(res.tests[["ecdf_p", "chi2_p"]].min(axis=1).min())
        extra = f" (first fit incl. compiling {firsts[0]:.1f} s)" if firsts and method == "nuts" else ""
        print(f"| {title} | {method}{extra} | {res.R} x {res.L} | {wall:.1f} | {cpu:.1f} | "
              f"{1000 * wall / res.R:.0f} | {res.verdict.headline} | {pmin:.3g} |", flush=True)


if __name__ == "__main__":
    main()
