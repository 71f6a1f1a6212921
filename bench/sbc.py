"""Simulation-based calibration (Talts et al. 2018) of the new hierarchies; writes bench/SBC.md (+ .json).

    python bench/sbc.py                         # every structure, 100 replications each
    python bench/sbc.py --reps 40 --only nested_nc slopes

For each structure: fixed priors (the data-scaled defaults of its sample data set, written into
the spec so they do not move with the simulated data); per replication, draw the parameters and a
data set from the prior (:func:`hiermod.predictive.prior_draws`, the same rows and groups as the
sample), fit with NUTS, and record the rank of each true hyperparameter among ``L`` thinned
posterior draws. A calibrated method gives uniform ranks on 0..L: a chi-square test over ``BINS``
bins (p-values below 0.01 are flagged), plus the count of replications with divergences.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hiermod  # noqa: E402
from hiermod.datasets import load_dataset  # noqa: E402
from hiermod.predictive import prior_draws  # noqa: E402
from hiermod.priors import resolve_priors  # noqa: E402
from hiermod.spec import ModelSpec  # noqa: E402

CHAINS, WARMUP, DRAWS, THIN = 2, 500, 500, 10  # L = CHAINS * DRAWS / THIN = 100 ranks
BINS = 10


def _structures() -> dict[str, tuple[str, ModelSpec, tuple[str, ...]]]:
    """name -> (sample data set, spec, hyperparameters to rank)."""
    nested = ("school", "class")
    return {
        "nested_nc": ("simulated_nested", ModelSpec("normal", groups=nested), ("mu", "tau_school", "tau_class", "sigma")),
        "nested_c": ("simulated_nested", ModelSpec("normal", groups=nested, parameterization="centered"),
                     ("mu", "tau_school", "tau_class", "sigma")),
        "slopes": ("simulated_slopes", ModelSpec("normal", slopes=("hours",)),
                   ("mu", "tau", "tau_hours", "rho_hours", "sigma")),
        "slopes_c": ("simulated_slopes", ModelSpec("normal", slopes=("hours",), parameterization="centered"),
                     ("mu", "tau", "tau_hours", "rho_hours", "sigma")),
        "beta": ("rat_tumors", ModelSpec("binomial", population="beta"), ("alpha", "beta")),
        "gamma": ("simulated_rates", ModelSpec("poisson", population="gamma"), ("alpha", "beta")),
    }


def _scalar_draws(fit, name: str) -> np.ndarray:
    values = fit.idata.posterior[name].values
    return values.reshape(values.shape[0], -1)[:, ::THIN].ravel() if values.ndim == 2 else None


def run_structure(name: str, data_name: str, spec: ModelSpec, params: tuple[str, ...], reps: int, seed: int) -> dict:
    data = load_dataset(data_name)
    spec = spec.with_priors(**resolve_priors(data, spec))  # fixed priors for every replication
    rng = np.random.default_rng([seed, len(name)])
    truth = prior_draws(data, spec, dict(spec.priors), reps, rng)
    ranks = {p: [] for p in params}
    divergent, seconds = 0, []
    for r in range(reps):
        y = truth["y"][r] if truth["y"].shape[0] > r else None
        if y is None:
            break
        simulated = dataclasses.replace(data, y=np.asarray(y, dtype=float))
        t0 = time.perf_counter()
        fit = hiermod.fit(simulated, spec, chains=CHAINS, warmup=WARMUP, draws=DRAWS, seed=r)
        seconds.append(time.perf_counter() - t0)
        divergent += int(fit.idata.sample_stats.diverging.values.sum() > 0)
        for p in params:
            draws = fit.idata.posterior[p].values[:, ::THIN].ravel()
            ranks[p].append(int(np.sum(draws < truth[p][r])))
        print(f"{name} {r + 1}/{reps} {seconds[-1]:.1f}s", flush=True)
    L = CHAINS * ((DRAWS + THIN - 1) // THIN)
    out = {"data": data_name, "spec": spec.to_dict(), "reps": len(seconds), "L": L,
           "replications_with_divergences": divergent, "median_fit_s": float(np.median(seconds)), "params": {}}
    for p, rk in ranks.items():
        counts = np.histogram(rk, bins=BINS, range=(0, L + 1))[0]
        chi2 = stats.chisquare(counts)
        out["params"][p] = {"counts": counts.tolist(), "chi2_p": float(chi2.pvalue)}
    return out


def report(results: dict) -> str:
    lines = ["# Simulation-based calibration of the hierarchies", "",
             f"Made by `python bench/sbc.py`: NUTS {CHAINS} chains x ({WARMUP} warmup + {DRAWS} draws), "
             f"ranks among every {THIN}th draw (L + 1 = {CHAINS * DRAWS // THIN + 1} possible ranks) in {BINS} bins; "
             "chi-square p-value of uniform ranks (flag: p < 0.01).", "",
             "| structure | data | reps | divergent reps | median fit (s) | parameter | rank counts | p |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        for p, v in r["params"].items():
            flag = " **(!)**" if v["chi2_p"] < 0.01 else ""
            lines.append(f"| {name} | {r['data']} | {r['reps']} | {r['replications_with_divergences']} | "
                         f"{r['median_fit_s']:.1f} | {p} | {' '.join(map(str, v['counts']))} | {v['chi2_p']:.3f}{flag} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    results = {}
    for name, (data_name, spec, params) in _structures().items():
        if args.only and name not in args.only:
            continue
        results[name] = run_structure(name, data_name, spec, params, args.reps, args.seed)
        (ROOT / "bench" / "SBC.json").write_text(json.dumps(results, indent=1))
        (ROOT / "bench" / "SBC.md").write_text(report(results))
    print(report(results))


if __name__ == "__main__":
    main()
