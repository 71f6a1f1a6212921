"""hiermod: ``hiermod.fit`` twice; the second call with new prior values (no recompile expected)."""

from __future__ import annotations

import statistics
import time

import numpy as np

# hiermod imports these lazily; importing them here (before the memory baseline) keeps library
# import time out of the first call, as for the other peers.
import arviz  # noqa: F401
import jax  # noqa: F401
import numpyro.infer  # noqa: F401

import hiermod
from hiermod.data import ColumnMap, DataKind

from common import Stopwatch, min_bulk_ess

KIND = {"normal_known_se": DataKind.SUMMARY, "normal": DataKind.GAUSSIAN, "binomial": DataKind.BINOMIAL}

# hiermod.fit computes, after sampling, arrays of (chains * draws, rows): the linear predictor, the
# pointwise log-likelihood and posterior predictive draws (float64 while computed, kept as float32),
# plus ArviZ's copies. The smoke test measured about 12 such float64 arrays at their peak. Since
# then the draws in these per-row arrays are thinned so that chains * draws * rows stays at most
# hiermod.result.MAX_POINTWISE (20 million values), which bounds this at about 2 GB.
POSTPROCESS_ARRAYS = 12


def postprocess_gb(dataset, chains: int, draws: int) -> float:
    from hiermod.result import pointwise_draws

    kept = pointwise_draws(chains, draws, dataset.n_rows)
    return POSTPROCESS_ARRAYS * chains * kept * dataset.n_rows * 8 / 1e9


def _load(dataset):
    columns = ColumnMap(group="group", y="y", kind=KIND[dataset.likelihood],
                        se="se" if dataset.se is not None else None,
                        trials="trials" if dataset.trials is not None else None)
    return hiermod.load_data(dataset.frame(), columns)


def _spec(dataset, priors: dict):
    text = {k: f"{fam}({', '.join(repr(float(a)) for a in args)})" for k, (fam, args) in priors.items()}
    return hiermod.ModelSpec(dataset.likelihood, pooling="partial",
                             parameterization=dataset.parameterization, priors=text)


def fit(dataset, chains: int, warmup: int | None, draws: int, seed: int, monitor=None,
        start: str = "instant") -> dict:
    """``warmup`` None: hiermod's own (300 from an instant start, else 1000)."""
    data = _load(dataset)
    if monitor:
        monitor.phase("first")
    with Stopwatch() as first:
        f1 = hiermod.fit(data, _spec(dataset, dataset.first_priors), chains=chains, warmup=warmup,
                         draws=draws, seed=seed, start=start)
    if monitor:
        monitor.phase("second")
    with Stopwatch() as second:
        f2 = hiermod.fit(data, _spec(dataset, dataset.priors), chains=chains, warmup=warmup,
                         draws=draws, seed=seed + 1, start=start)
    if monitor:
        monitor.phase("after")
    post = f2.idata.posterior
    names = [n for n in ("mu", "tau", "sigma", "theta") if n in post]
    ess, where = min_bulk_ess({n: post[n].values for n in names})
    stats = f2.idata.sample_stats
    n_steps = int(stats["n_steps"].values.sum())
    return {
        "first_s": first.s, "second_s": second.s,
        "sampling_s": f2.timings["sampling_s"],
        "min_ess_bulk": ess, "min_ess_where": where,
        "divergences": int(stats["diverging"].values.sum()),
        "leapfrog_steps": n_steps,
        "s_per_gradient": f2.timings["sampling_s"] / max(n_steps, 1),
        "first_compile_s": f1.timings["compile_s"], "first_compilations": f1.timings["compilations"],
        "first_sampling_s": f1.timings["sampling_s"],
        "second_compile_s": f2.timings["compile_s"], "second_compilations": f2.timings["compilations"],
        "second_postprocess_s": f2.timings["total_s"] - f2.timings["sampling_s"] - f2.timings["compile_s"],
        "chain_method": stats.attrs.get("chain_method"), "target_accept": f2.settings.target_accept,
        "start": f2.settings.start, "warmup_run": f2.settings.warmup,
        "note": "second call: hiermod.fit with new prior values (same data); NumPyro's model and "
                "adaptation, hiermod's NUTS trajectory (hiermod.nuts_tree); chains in one process, "
                f"{stats.attrs.get('chain_method')} (hiermod.nuts.chain_method: 2 at a time on threads by default); "
                f"target acceptance {f2.settings.target_accept:g}; chains started "
                f"{'from the instant posterior' if f2.settings.start == 'instant' else 'at random'}, "
                f"{f2.settings.warmup} warmup iterations",
    }


def fit_exact(dataset, repeats: int = 7, monitor=None, **_ignored) -> dict:
    """Time ``hiermod.fit(method="exact")``: the first call and the median of ``repeats`` more."""
    data = _load(dataset)
    spec = _spec(dataset, dataset.priors)
    if monitor:
        monitor.phase("first")
    with Stopwatch() as first:
        hiermod.fit(data, spec, method="exact")
    if monitor:
        monitor.phase("second")
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f = hiermod.fit(data, spec, method="exact")
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    hiermod.exact.exact_posterior(data, spec)
    core = time.perf_counter() - t0
    tau = float(np.mean(f.draws("tau")))
    return {"first_s": first.s, "second_s": statistics.median(times), "min_s": min(times),
            "exact_posterior_s": core, "tau_mean": tau, "repeats": repeats,
            "note": "fit(method='exact'): grid posterior of tau + exact draws laid out as a Fit"}
