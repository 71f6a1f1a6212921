"""ESS per second over many seeds: hiermod against nutpie and Stan, the spread a single-seed
benchmark hides.

The centered eight schools' minimum bulk ESS moves from under 20 to over 250 between seeds (chains
stuck in the funnel's neck for a while, or not), for every sampler, so `bench/RESULTS.md`'s one
seed can put either tool ahead. Here each tool compiles once (first call, not timed) and then fits
``--seeds`` seeds with the stated priors, 4 chains x 1000 draws, each at its defaults (hiermod: an
instant start and 300 warmup, target acceptance 0.9; nutpie and Stan: 1,000 warmup, 0.8); ESS/s =
min bulk ESS over mu, tau, sigma, theta / sampling seconds (hiermod: ``Fit.timings["sampling_s"]``;
nutpie: wall time of ``nutpie.sample``; Stan: of ``model.sample``, PyStan's transfer of the draws
included, the model built from httpstan's cache). Run in the bench environment (nutpie, PyStan):

    .bench-venv/bin/python bench/seed_spread.py [--models eight_schools_c eight_schools_nc] [--seeds 16]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import datasets  # noqa: E402
from common import min_bulk_ess  # noqa: E402


def _hiermod(case, seeds: int) -> list[tuple[float, float, int]]:
    import hiermod
    from peers.hiermod_peer import _load, _spec

    data, spec = _load(case), _spec(case, case.priors)
    hiermod.fit(data, _spec(case, case.first_priors), chains=4, draws=1000, seed=1000)  # compiles
    out = []
    for seed in range(1, seeds + 1):
        fit = hiermod.fit(data, spec, chains=4, draws=1000, seed=seed)
        post = fit.idata.posterior
        ess, _ = min_bulk_ess({n: post[n].values for n in ("mu", "tau", "sigma", "theta") if n in post})
        out.append((ess, fit.timings["sampling_s"], int(fit.idata.sample_stats.diverging.sum())))
    return out


def _nutpie(case, seeds: int) -> list[tuple[float, float, int]]:
    import nutpie

    from peers.pymc_peer import build_model, hyper_values

    compiled = nutpie.compile_pymc_model(build_model(case, case.first_priors))
    nutpie.sample(compiled, draws=1000, tune=1000, chains=4, seed=1000, progress_bar=False)
    compiled = compiled.with_data(**hyper_values(case.priors))
    out = []
    for seed in range(1, seeds + 1):
        t = time.perf_counter()
        idata = nutpie.sample(compiled, draws=1000, tune=1000, chains=4, seed=seed, progress_bar=False)
        seconds = time.perf_counter() - t
        post = idata.posterior
        ess, _ = min_bulk_ess({n: post[n].values for n in ("mu", "tau", "sigma", "theta") if n in post})
        out.append((ess, seconds, int(idata.sample_stats["diverging"].sum())))
    return out


def _stan(case, seeds: int) -> list[tuple[float, float, int]]:
    from peers import stan_peer

    out = []
    for seed in range(1, seeds + 1):
        model, _, _, _ = stan_peer._build(stan_peer.stan_data(case, case.priors), seed)
        t = time.perf_counter()
        fit = stan_peer._sample(model, 4, 1000, 1000)
        seconds = time.perf_counter() - t
        names = ["mu", "tau", "theta"] + (["sigma"] if case.likelihood == "normal" else [])
        ess, _ = min_bulk_ess({n: stan_peer._draws(fit, n) for n in names})
        divergent = fit._draws[list(fit.sample_and_sampler_param_names).index("divergent__")]
        out.append((ess, seconds, int(divergent.sum())))
    return out


def _row(model: str, tool: str, runs: list[tuple[float, float, int]]) -> str:
    r = np.array(runs, dtype=float)
    per_s = r[:, 0] / r[:, 1]
    q1, med, q3 = np.percentile(per_s, [25, 50, 75])
    return (f"| {model} | {tool} | {np.median(r[:, 0]):,.0f} ({r[:, 0].min():,.0f}-{r[:, 0].max():,.0f}) | "
            f"{np.median(r[:, 1]):.3f} | {med:,.0f} | {q1:,.0f}-{q3:,.0f} | {np.median(r[:, 2]):.0f} ({r[:, 2].max():.0f}) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["eight_schools_c", "eight_schools_nc"])
    ap.add_argument("--seeds", type=int, default=16)
    args = ap.parse_args()
    print(f"# ESS per second over {args.seeds} seeds (`bench/seed_spread.py`, {time.strftime('%Y-%m-%d %H:%M')})\n")
    print("| model | tool | min bulk ESS: median (range) | sampling s (median) | ESS/s median | ESS/s quartiles | divergences: median (max) |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        case = datasets.get(name)
        for tool, run in (("hiermod", _hiermod), ("nutpie", _nutpie), ("Stan", _stan)):
            print(_row(name, tool, run(case, args.seeds)), flush=True)


if __name__ == "__main__":
    main()
