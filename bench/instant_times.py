"""The instant method's time beside warm NUTS on the same data; writes bench/INSTANT.md and .json.

    python bench/instant_times.py                      # every model (a few minutes)
    python bench/instant_times.py --only radon nested  # some models (labels containing these words);
                                                       # their rows replace those in INSTANT.json

For each model (same data, spec and priors for both methods):

* **instant posterior**: ``hiermod.instant.instant_posterior`` (grid moments, no draws), and
* **instant Fit**: ``hiermod.fit(method="instant")`` with 4 chains x 1000 draws (independent draws,
  log-likelihood, predictive and prior draws, as InferenceData),

each called once to warm up, then timed: the median of ``--repeats`` calls. **NUTS** runs twice in
this process (2 chains x (1000 warmup + 1000 draws) by default, new seed the second time) and the
second, warm call is timed (it compiles nothing). The ratios are NUTS warm / instant.
Accuracy, from the same run: ``post.grid_error()`` (largest change of any posterior mean or sd, in
posterior sds, when the grid is refined), the largest |z| of NUTS against the instant posterior
(:func:`hiermod.agreement.agreement`: (NUTS mean - instant mean) / MCSE, over every parameter) with
NUTS's divergences, and the largest |z| of the instant Fit's own draws against its grid means (a
check of the draws).

A model the instant method cannot serve yet is reported as "not served: <reason>" and skipped
(its NUTS run too), so the script can be re-run as engines land. Not a test: no timing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hiermod  # noqa: E402
from hiermod.agreement import agreement  # noqa: E402
from hiermod.data import ColumnMap, load_data  # noqa: E402
from hiermod.datasets import load_dataset  # noqa: E402
from hiermod.instant import engine_for, instant_posterior, unavailable_reason  # noqa: E402
from hiermod.spec import ModelSpec  # noqa: E402

OUT_MD = ROOT / "bench" / "INSTANT.md"
OUT_JSON = ROOT / "bench" / "INSTANT.json"

TARGET_S = {"eight schools": 0.01, "one level": 0.1, "nested Laplace": 1.0}
"""Targets for the instant posterior (seconds, warm)."""

EIGHT_PRIORS = {"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"}
ROWS_PER_GROUP = 5


def simulate(likelihood: str, n_groups: int, seed: int = 0, mu: float = 0.5, tau: float = 0.7,
             sigma: float = 1.0):
    """One-level data drawn from the hierarchical model of ``likelihood``: one row per group with a
    known se (``normal_known_se``), else ``ROWS_PER_GROUP`` rows per group (trials 5-30, exposure
    0.5-2)."""
    rng = np.random.default_rng(seed)
    theta = mu + tau * rng.standard_normal(n_groups)
    labels = [f"g{j + 1}" for j in range(n_groups)]
    if likelihood == "normal_known_se":
        se = rng.uniform(0.5, 1.5, n_groups)
        frame = pd.DataFrame({"group": labels, "y": theta + se * rng.standard_normal(n_groups), "se": se})
        return load_data(frame, ColumnMap("group", "y", "summary", se="se"))
    g = np.repeat(np.arange(n_groups), ROWS_PER_GROUP)
    frame = pd.DataFrame({"group": [labels[j] for j in g]})
    if likelihood == "normal":
        frame["y"] = theta[g] + sigma * rng.standard_normal(g.size)
        return load_data(frame, ColumnMap("group", "y", "gaussian"))
    if likelihood == "binomial":
        frame["n"] = rng.integers(5, 31, g.size)
        frame["y"] = rng.binomial(frame["n"], 1 / (1 + np.exp(-theta[g])))
        return load_data(frame, ColumnMap("group", "y", "binomial", trials="n"))
    frame["t"] = rng.uniform(0.5, 2.0, g.size)
    frame["y"] = rng.poisson(frame["t"] * np.exp(theta[g]))
    return load_data(frame, ColumnMap("group", "y", "poisson", exposure="t"))


def models() -> list[tuple[str, str, callable]]:
    """(label, target class, build() -> (data, spec)) for every benchmarked model."""
    out = [("eight schools", "eight schools",
            lambda: (load_dataset("eight_schools"), ModelSpec("normal_known_se", priors=EIGHT_PRIORS)))]
    kinds = (("normal_known_se", "normal, known se"), ("normal", "gaussian rows"),
             ("binomial", "binomial"), ("poisson", "poisson"))
    for groups in (100, 1000):
        for likelihood, title in kinds:
            out.append((f"{title}, {groups:,} groups", "one level",
                        lambda lk=likelihood, j=groups: (simulate(lk, j, seed=j), ModelSpec(lk))))
    out += [
        ("rat tumors, Beta population", "one level",
         lambda: (load_dataset("rat_tumors"), ModelSpec("binomial", population="beta"))),
        ("hospital rates, Gamma population", "one level",
         lambda: (load_dataset("simulated_rates"), ModelSpec("poisson", population="gamma"))),
        ("eight schools, Student-t population", "one level",
         lambda: (load_dataset("eight_schools"), ModelSpec("normal_known_se", population="student_t"))),
        ("radon, one level", "one level", lambda: (load_dataset("radon"), ModelSpec("normal"))),
        ("nested (school > class)", "nested Laplace",
         lambda: (load_dataset("simulated_nested"), ModelSpec("normal", groups=("school", "class")))),
        ("varying slopes (LKJ)", "nested Laplace",
         lambda: (load_dataset("simulated_slopes"), ModelSpec("normal", slopes=("hours",)))),
    ]
    return out


def warm_times(fn, repeats: int) -> tuple[float, float]:
    """(median, fastest) seconds of ``repeats`` calls of ``fn`` after one untimed call."""
    fn()  # warm: imports, caches
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def run_model(label: str, target_class: str, build, args) -> dict:
    data, spec = build()
    row = {"model": label, "groups": data.n_groups, "rows": data.n_rows, "target_s": TARGET_S[target_class],
           "target_class": target_class, "measured": time.strftime("%Y-%m-%d %H:%M")}
    reason = unavailable_reason(data, spec)
    if reason is not None:
        row["not_served"] = reason
        print(f"{label}: not served: {reason}", flush=True)
        return row
    post = instant_posterior(data, spec)
    row |= {"engine": engine_for(data.for_groups(spec.groups), spec)[0].name, "label": post.label,
            "exact": post.exact}
    row["posterior_s"], row["posterior_min_s"] = warm_times(lambda: instant_posterior(data, spec), args.repeats)
    row["fit_s"], row["fit_min_s"] = warm_times(
        lambda: hiermod.fit(data, spec, method="instant", chains=4, draws=1000), args.repeats)
    instant = hiermod.fit(data, spec, method="instant", chains=4, draws=1000, seed=1)
    row["max_z_draws"] = agreement(instant, post=post, grid_error=False).max_abs_z
    settings = dict(chains=args.chains, warmup=args.warmup, draws=args.draws)
    t0 = time.perf_counter()
    hiermod.fit(data, spec, seed=0, **settings)
    row["nuts_cold_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    nuts = hiermod.fit(data, spec, seed=1, **settings)
    row["nuts_warm_s"] = time.perf_counter() - t0
    row["nuts_compilations_warm"] = nuts.timings.get("compilations")
    row["divergences"] = int(nuts.idata.sample_stats["diverging"].values.sum())
    a = agreement(nuts, post=post)  # runs the grid refinement check
    row["grid_error"] = a.grid_error
    row["max_z_nuts"] = a.max_abs_z
    row["max_z_nuts_at"] = str(a.table.index[0])
    row["parameters"] = len(a.table)
    row["flagged"] = len(a.flagged)
    print(f"{label}: {json.dumps(row)}", flush=True)
    return row


def _ms(s: float) -> str:
    return f"{1000 * s:.1f}" if s < 0.1 else f"{1000 * s:.0f}"


def report(rows: list[dict], args) -> str:
    lines = [
        "# The instant method against warm NUTS", "",
        f"Made by `python bench/instant_times.py` (last run {time.strftime('%Y-%m-%d %H:%M')}; each row "
        "says when it was measured) on "
        f"{os.cpu_count()} cores, {platform.python_version()}, hiermod at the working tree. Instant: the "
        f"median of {args.repeats} warm calls of `instant_posterior` (moments on the grid) and of "
        "`hiermod.fit(method=\"instant\")` (4 x 1000 independent draws with log-likelihood, predictive and "
        f"prior draws, as InferenceData). NUTS: {args.chains} chains x ({args.warmup} warmup + "
        f"{args.draws} draws), the second call in the process (warm: compiles nothing). "
        "Ratio = NUTS warm / instant (median). The fastest call is shown too: on a loaded machine it is closer "
        "to the cost of the computation. The target applies to the median. Accuracy: the grid's refinement check `post.grid_error()` (in "
        "posterior sds); max |z| = the largest |NUTS mean - instant mean| / MCSE over every parameter "
        "(`hiermod.agreement`; above 4 flags a parameter, one false flag expected per ~16,000); "
        "'draws |z|' the same for the instant Fit's own 4,000 draws against its grid means. "
        f"Load average (1 min) {args.load_start:.1f} at the start and {args.load_end:.1f} at the end of this "
        "run (the machine is shared: compare ratios taken in one run).", "",
        "| model | groups | rows | engine | exact? | posterior (ms): median / fastest | target (ms) | Fit (ms): median / fastest | NUTS warm (s) "
        "| NUTS / posterior | NUTS / Fit | grid error (sds) | max \\|z\\| NUTS vs instant (at) | divergences "
        "| draws \\|z\\| |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        head = f"| {r['model']} | {r['groups']:,} | {r['rows']:,} |"
        if "not_served" in r:
            lines.append(head + f" not served: {r['not_served']} |" + " |" * 11)
            continue
        ok = "" if r["posterior_s"] < r["target_s"] else " (over)"
        lines.append(
            head + f" {r['engine']} | {'yes' if r['exact'] else 'Laplace'} | {_ms(r['posterior_s'])}{ok} / "
            f"{_ms(r['posterior_min_s'])} | {_ms(r['target_s'])} | {_ms(r['fit_s'])} / {_ms(r['fit_min_s'])} | "
            f"{r['nuts_warm_s']:.2f} | "
            f"{r['nuts_warm_s'] / r['posterior_s']:,.0f} | {r['nuts_warm_s'] / r['fit_s']:,.0f} | "
            f"{r['grid_error']:.1g} | {r['max_z_nuts']:.2f} ({r['max_z_nuts_at']}) | {r['divergences']} | "
            f"{r['max_z_draws']:.2f} |")
    served = [r for r in rows if "not_served" not in r]
    lines += ["", f"{len(served)} of {len(rows)} models served; "
              f"{sum(r['posterior_s'] < r['target_s'] for r in served)} of them within target; "
              f"{sum(r['flagged'] for r in served)} parameters flagged (|z| > 4) of "
              f"{sum(r['parameters'] for r in served)} compared.", ""]
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--only", nargs="*", default=None, help="run the models whose label contains one of these words")
    p.add_argument("--repeats", type=int, default=7, help="timed calls per instant measurement (median)")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--draws", type=int, default=1000)
    args = p.parse_args(argv)
    args.load_start = os.getloadavg()[0]
    chosen = [m for m in models() if args.only is None or any(w.lower() in m[0].lower() for w in args.only)]
    old = {r["model"]: r for r in json.loads(OUT_JSON.read_text())["rows"]} if OUT_JSON.exists() and args.only else {}
    new = {}
    for label, target_class, build in chosen:
        try:
            new[label] = run_model(label, target_class, build, args)
        except Exception as err:  # noqa: BLE001 - one failing model must not lose the others
            print(f"{label}: FAILED {type(err).__name__}: {err}", flush=True)
            new[label] = {"model": label, "groups": 0, "rows": 0, "not_served": f"failed: {type(err).__name__}: {err}"}
    args.load_end = os.getloadavg()[0]
    order = [m[0] for m in models()]
    merged = {**old, **new}
    rows = [merged[m] for m in order if m in merged]
    text = report(rows, args)
    OUT_MD.write_text(text)
    OUT_JSON.write_text(json.dumps({"settings": vars(args), "rows": rows}, indent=1))
    print(text)


if __name__ == "__main__":
    main()
