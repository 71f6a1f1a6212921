"""nutpie on the PyMC model (``nutpie.compile_pymc_model``, numba backend). Second call: the
compiled model with new prior values (``compiled.with_data``), no recompilation."""

from __future__ import annotations

import nutpie  # imported before the memory baseline

from common import Stopwatch
from peers.pymc_peer import build_model, hyper_values, summarize


def _sample(compiled, chains, warmup, draws, seed):
    return nutpie.sample(compiled, draws=draws, tune=warmup, chains=chains, seed=seed, progress_bar=False)


def fit(dataset, chains: int, warmup: int, draws: int, seed: int, monitor=None) -> dict:
    if monitor:
        monitor.phase("first")
    with Stopwatch() as first:
        model = build_model(dataset, dataset.first_priors)
        compiled = nutpie.compile_pymc_model(model)
        _sample(compiled, chains, warmup, draws, seed)
    if monitor:
        monitor.phase("second")
    with Stopwatch() as second:
        compiled2 = compiled.with_data(**hyper_values(dataset.priors))
        with Stopwatch() as sampling:
            idata = _sample(compiled2, chains, warmup, draws, seed + 1)
    if monitor:
        monitor.phase("after")
    out = summarize(idata, sampling.s)
    out.update(first_s=first.s, second_s=second.s,
               note="second call: compiled.with_data (new prior values) + nutpie.sample; chains on "
                    "threads over all cores; sampling_s = wall time of nutpie.sample")
    return out
