"""How close is the instant method's nested Laplace approximation to long NUTS runs? Where is it not?

For count rows with covariates or nested levels the instant method approximates the latent field
by a Gaussian at its mode (R-INLA's "Gaussian" strategy). This script simulates data sets from easy
(many successes per group) to hard (0/1 rows, few per group), fits each with the instant method and
with a long NUTS run (4 x 5,000 draws), and prints per parameter family the largest |instant mean -
NUTS mean| and |instant sd / NUTS sd - 1| in NUTS posterior sds, with the NUTS MCSE for scale.

    python bench/laplace_accuracy.py            # writes bench/LAPLACE.md and bench/LAPLACE.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import arviz as az  # noqa: E402

import hiermod  # noqa: E402
from hiermod.instant import instant_posterior  # noqa: E402
from hiermod.spec import ModelSpec  # noqa: E402

NUTS = dict(chains=4, warmup=1000, draws=5000, seed=11)


def _binomial(rng, J, per_group, trials, nested=False):
    g = np.repeat(np.arange(J), per_group)
    x = rng.normal(size=g.size)
    outer = np.arange(J) % 4   # each group's outer group
    theta = rng.normal(-0.5, 0.5, 4)[outer] if nested else np.zeros(J)
    theta = theta + rng.normal(0, 0.6, J)
    y = rng.binomial(trials, 1 / (1 + np.exp(-(theta[g] + 0.7 * x))))
    df = pd.DataFrame({"outer": [f"o{k}" for k in outer[g]] if nested else "o", "group": [f"g{j}" for j in g],
                       "y": y, "n": trials, "x": x})
    cols = hiermod.ColumnMap(group="group", y="y", kind="binomial", trials="n", covariates=("x",),
                             outer_groups=("outer",) if nested else ())
    return hiermod.load_data(df, cols)


def _poisson(rng, J, per_group, exposure):
    g = np.repeat(np.arange(J), per_group)
    x = rng.normal(size=g.size)
    theta = rng.normal(-1.0, 0.5, J)
    y = rng.poisson(exposure * np.exp(theta[g] + 0.5 * x))
    df = pd.DataFrame({"group": [f"g{j}" for j in g], "y": y, "e": exposure, "x": x})
    return hiermod.load_data(df, hiermod.ColumnMap(group="group", y="y", kind="poisson", exposure="e",
                                                   covariates=("x",)))


CASES = [
    ("binomial, 20 trials per row, 8 rows per group, covariate", lambda r: _binomial(r, 12, 8, 20),
     ModelSpec("binomial", covariates=("x",))),
    ("binomial 0/1 rows, 10 per group, covariate", lambda r: _binomial(r, 20, 10, 1),
     ModelSpec("binomial", covariates=("x",))),
    ("binomial 0/1 rows, 10 per group, two nested levels, covariate",
     lambda r: _binomial(r, 20, 10, 1, nested=True),
     ModelSpec("binomial", covariates=("x",), groups=("outer", "group"))),
    ("poisson, exposure 20, 6 rows per group, covariate", lambda r: _poisson(r, 15, 6, 20.0),
     ModelSpec("poisson", covariates=("x",))),
    ("poisson, exposure 1, 6 rows per group, covariate", lambda r: _poisson(r, 15, 6, 1.0),
     ModelSpec("poisson", covariates=("x",))),
]


def compare(data, spec) -> dict:
    t0 = time.perf_counter()
    post = instant_posterior(data, spec)
    instant_s = time.perf_counter() - t0
    fit = hiermod.fit(data, spec, **NUTS)
    summary = az.summary(fit.idata, var_names=list(post.names), round_to="none")
    out = {"instant_s": instant_s, "label": post.label, "families": {}}
    for name in post.names:
        rows = summary.loc[[i for i in summary.index if i == name or i.startswith(name + "[")]]
        sd = rows["sd"].to_numpy()
        mean_gap = np.abs(rows["mean"].to_numpy() - np.atleast_1d(post.mean(name)).ravel()) / sd
        sd_gap = np.abs(np.atleast_1d(post.sd(name)).ravel() / sd - 1)
        out["families"][name] = {"mean_gap_sd": float(mean_gap.max()), "sd_ratio_gap": float(sd_gap.max()),
                                 "mcse_sd": float((rows["mcse_mean"].to_numpy() / sd).max())}
    return out


def main() -> None:
    rng = np.random.default_rng(2026)
    results = {}
    lines = ["# Nested Laplace against long NUTS runs", "",
             f"NUTS: {NUTS['chains']} chains x {NUTS['draws']} draws. Gaps in NUTS posterior sds "
             "(largest over the parameter's entries); MCSE/sd is NUTS's own noise on that scale.", "",
             "| case | parameter | mean gap (sd) | sd ratio - 1 | NUTS MCSE (sd) |", "|---|---|---|---|---|"]
    for title, make, spec in CASES:
        data = make(rng)
        res = compare(data, spec)
        results[title] = res
        for name, f in res["families"].items():
            lines.append(f"| {title} | {name} | {f['mean_gap_sd']:.3f} | {f['sd_ratio_gap']:.3f} | {f['mcse_sd']:.3f} |")
        print(title, json.dumps(res["families"], indent=None), flush=True)
    (ROOT / "bench" / "LAPLACE.json").write_text(json.dumps(results, indent=2) + "\n")
    (ROOT / "bench" / "LAPLACE.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
