"""Two hiermod-only measurements the peer table does not cover; writes bench/EXTRAS.md (+ .json).

    python bench/extras.py                     # both
    python bench/extras.py --only progress     # or: --only vi

1. **Cost of progress and cancel.** hiermod samples in chunks sized to take about
   ``hiermod.nuts.CHUNK_SECONDS`` (0.2 s; at most ``CHUNK`` = 250 iterations) so it can report progress
   and check the cancel signal between chunks. Baseline: the same sampler with one chunk per phase
   (``CHUNK`` = ``FIRST_CHUNK`` = warmup, i.e. 2 calls per fit, no callback, no cancel signal). Each configuration runs in a fresh process (the chunk length is part of the
   compiled function): one call to compile, then ``--repeats`` warm calls; the median sampling time
   is compared. Overhead = chunked / baseline - 1 (target: under 10%).
2. **Variational preview on the large model** (2,000 groups x 200,000 rows): ``hiermod.fit(
   method="vi")`` cold and warm (target: under 5 s), against a NUTS fit of the same model and priors:
   the largest gap between VI and NUTS group means, in NUTS posterior sds, and the ratio of the
   posterior sds (VI / NUTS).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

MODELS = ("eight_schools_nc", "radon", "binomial500")
SETTINGS = dict(chains=4, warmup=1000, draws=1000)


def _fit_args(name: str):
    import datasets
    from peers.hiermod_peer import _load, _spec

    ds = datasets.get(name)
    return _load(ds), _spec(ds, ds.priors)


def progress_worker(name: str, chunked: bool, repeats: int) -> dict:
    """Runs inside a fresh process: first call, then ``repeats`` warm calls; sampling seconds."""
    import importlib

    nuts_module = importlib.import_module("hiermod.nuts")
    fit = importlib.import_module("hiermod.fitting").fit
    if not chunked:
        nuts_module.CHUNK = nuts_module.FIRST_CHUNK = SETTINGS["warmup"]  # one call per phase
    data, spec = _fit_args(name)
    calls = {"n": 0}

    def progress(_p) -> None:
        calls["n"] += 1

    kwargs = dict(progress=progress, cancel=threading.Event()) if chunked else {}
    fit(data, spec, seed=0, **SETTINGS, **kwargs)
    times = []
    for seed in range(1, repeats + 1):
        f = fit(data, spec, seed=seed, **SETTINGS, **kwargs)
        assert f.timings["compilations"] == 0, f.timings
        times.append(f.timings["sampling_s"])
    return {"model": name, "chunked": chunked, "chunk": nuts_module.CHUNK, "sampling_s": times,
            "median_s": statistics.median(times), "progress_calls": calls["n"],
            "chain_method": nuts_module.chain_method()}


def run_progress(repeats: int) -> list[dict]:
    rows = []
    for name in MODELS:
        pair = {}
        for chunked in (False, True, False, True):  # interleaved, twice, against drift in the load
            out = subprocess.run([sys.executable, __file__, "--worker", name, str(int(chunked)), str(repeats)],
                                 capture_output=True, text=True, check=True)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            pair.setdefault(chunked, []).extend(res["sampling_s"])
            meta = res
        base, chunk = statistics.median(pair[False]), statistics.median(pair[True])
        rows.append({"model": name, "baseline_median_s": base, "chunked_median_s": chunk,
                     "overhead": chunk / base - 1, "baseline_s": pair[False], "chunked_s": pair[True],
                     "chain_method": meta["chain_method"]})
        print(f"progress/cancel {name}: baseline {base:.3f} s, chunked {chunk:.3f} s, "
              f"overhead {100 * (chunk / base - 1):+.1f}%", flush=True)
    return rows


def run_vi() -> dict:
    import hiermod

    data, spec = _fit_args("large")
    t0 = time.perf_counter()
    hiermod.fit(data, spec, method="vi", seed=0)
    cold = time.perf_counter() - t0
    warm = []
    for seed in (1, 2, 3):
        t0 = time.perf_counter()
        vi = hiermod.fit(data, spec, method="vi", seed=seed)
        warm.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    nuts = hiermod.fit(data, spec, seed=1, **SETTINGS)
    nuts_s = time.perf_counter() - t0
    m_vi, m_nuts = vi.draws("theta").mean(0), nuts.draws("theta").mean(0)
    sd_vi, sd_nuts = vi.draws("theta").std(0), nuts.draws("theta").std(0)
    gap = np.abs(m_vi - m_nuts) / sd_nuts
    out = {"vi_cold_s": cold, "vi_warm_s": warm, "vi_warm_median_s": statistics.median(warm),
           "nuts_s": nuts_s, "nuts_sampling_s": nuts.timings["sampling_s"],
           "max_gap_in_nuts_sd": float(gap.max()), "median_gap_in_nuts_sd": float(np.median(gap)),
           "corr_means": float(np.corrcoef(m_vi, m_nuts)[0, 1]),
           "sd_ratio_median": float(np.median(sd_vi / sd_nuts)), "sd_ratio_min": float(np.min(sd_vi / sd_nuts)),
           "tau_vi": float(vi.draws("tau").mean()), "tau_nuts": float(nuts.draws("tau").mean())}
    print("vi large:", json.dumps(out), flush=True)
    return out


def report(progress: list[dict] | None, vi: dict | None, started: str) -> str:
    lines = ["# hiermod: cost of progress/cancel, and the variational preview", "",
             f"Run {started} by `python bench/extras.py` ({os.cpu_count()} cores; load average at the end "
             f"{tuple(round(x, 2) for x in os.getloadavg())}). 4 chains x 1000 warmup x 1000 draws.", ""]
    if progress:
        lines += ["## Progress and cancel (target: under 10% of sampling time)", "",
                  "Median warm sampling time over 10 calls (two fresh processes each), chunks of about 0.2 s "
                  "with a progress callback and a cancel Event, against one chunk per phase with neither.", "",
                  "| model | chains | baseline s | chunked + progress + cancel s | overhead |", "|---|---|---|---|---|"]
        for r in progress:
            lines.append(f"| {r['model']} | {r['chain_method']} | {r['baseline_median_s']:.3f} | "
                         f"{r['chunked_median_s']:.3f} | {100 * r['overhead']:+.1f}% |")
        lines.append("")
    if vi:
        lines += ["## Variational preview, 2,000 groups x 200,000 rows (target: under 5 s)", "",
                  "| VI cold s | VI warm s (median of 3) | NUTS s (whole fit) | largest gap in group means, in NUTS sds "
                  "| median gap | correlation of means | VI sd / NUTS sd (median, min) | tau VI / NUTS |",
                  "|---|---|---|---|---|---|---|---|",
                  f"| {vi['vi_cold_s']:.2f} | {vi['vi_warm_median_s']:.2f} | {vi['nuts_s']:.1f} | "
                  f"{vi['max_gap_in_nuts_sd']:.3f} | {vi['median_gap_in_nuts_sd']:.3f} | {vi['corr_means']:.4f} | "
                  f"{vi['sd_ratio_median']:.2f}, {vi['sd_ratio_min']:.2f} | {vi['tau_vi']:.3f} / {vi['tau_nuts']:.3f} |",
                  ""]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(progress_worker(sys.argv[2], bool(int(sys.argv[3])), int(sys.argv[4]))))
        return 0
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", choices=["progress", "vi"])
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    progress = run_progress(args.repeats) if args.only in (None, "progress") else None
    vi = run_vi() if args.only in (None, "vi") else None
    text = report(progress, vi, started)
    (HERE / "EXTRAS.md").write_text(text, encoding="utf-8")
    (HERE / "EXTRAS.json").write_text(json.dumps({"progress": progress, "vi": vi}, indent=1), encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
