"""Run one peer on one data set in this (fresh) process and write a JSON result.

    python bench/worker.py '{"peer": "hiermod", "dataset": "radon", "chains": 4, "warmup": 1000,
                             "draws": 1000, "seed": 1, "out": "/tmp/x.json", "mem_budget_gb": 14}'

run.py starts one worker per (peer, data set) so each first call is cold, and memory is measured
for that peer alone.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]


def main() -> int:
    job = json.loads(sys.argv[1])
    out = Path(job["out"])
    result = {"peer": job["peer"], "dataset": job["dataset"], "status": "ok"}
    try:
        import datasets
        import peers
        from common import Monitor

        t0 = time.perf_counter()
        module = peers.load(job["peer"])  # the peer's heavy imports happen here
        result["import_s"] = time.perf_counter() - t0
        dataset = datasets.get(job["dataset"])
        result.update(groups=dataset.n_groups, rows=dataset.n_rows,
                      parameterization=dataset.parameterization, likelihood=dataset.likelihood)
        settings = {k: job[k] for k in ("chains", "warmup", "draws", "seed")}
        if "start" in job:  # hiermod's own choices (bench/run.py --hiermod-start / --hiermod-warmup)
            settings["start"] = job["start"]
        if job["peer"] == "hiermod":
            need = module.postprocess_gb(dataset, job["chains"], job["draws"])
            result["postprocess_gb_estimate"] = need
            if need > job.get("mem_budget_gb", 1e9):
                result.update(status="skipped", reason=(
                    f"hiermod.fit would need about {need:.0f} GB for its per-row float64 arrays "
                    f"(log-likelihood, predictive draws, copies: about 12 x chains x kept draws x rows x 8 bytes) > budget "
                    f"{job['mem_budget_gb']:g} GB"))
                out.write_text(json.dumps(result))
                return 0
        monitor = Monitor()
        if job["peer"] == "hiermod_exact":
            result.update(module.fit_exact(dataset, monitor=monitor))
        else:
            result.update(module.fit(dataset, monitor=monitor, **settings))
        result.update(monitor.stop())
    except Exception as exc:  # reported in the table, the run goes on
        result.update(status="error", reason=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        traceback.print_exc()
    out.write_text(json.dumps(result, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
