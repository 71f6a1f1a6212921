"""Fits that trace NumPyro models at the same time in one process (issue 13's bug).

NumPyro's effect-handler stack is global, not per thread: before hiermod.tracing_lock, three threads
fitting eight schools, Efron-Morris and rat tumors at once on an empty compilation cache ended with
``AssertionError: all sites must have unique names but got mu duplicated``, and the dashboard's warm
start (hiermod.precompile) failed beside a user's fit. Each run here is a fresh Python process with
a fresh JAX compilation cache folder, so every model really is traced and compiled: once with the
three fits and the precompile all at once on threads, once with each fit alone; the draws must be
the same.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DATASETS = ("eight_schools", "efron_morris", "rat_tumors")
SMALL = dict(chains=2, warmup=200, draws=200, seed=3)
PRECOMPILED = ("eight_schools", "efron_morris")


def _fit_one(name: str):
    from hiermod.datasets import load_dataset
    from hiermod.fitting import fit
    from hiermod.precompile import default_spec_for

    return fit(load_dataset(name), default_spec_for(name), **SMALL)


def _draws(fit) -> dict[str, list]:
    post = fit.idata.posterior
    return {name: np.asarray(post[name]).ravel().tolist() for name in ("mu", "tau")}


def _run(mode: str, out: Path) -> None:
    """In this (fresh) process: the fits together with the precompile, or each alone."""
    import threading

    from hiermod.compilation import enable_persistent_cache

    enable_persistent_cache(os.environ["HIERMOD_JAX_CACHE"])
    results: dict[str, object] = {}
    if mode == "alone":
        for name in DATASETS:
            results[name] = _draws(_fit_one(name))
    else:
        from hiermod import precompile

        barrier = threading.Barrier(len(DATASETS) + 1)

        def fit_thread(name: str) -> None:
            barrier.wait()
            try:
                results[name] = _draws(_fit_one(name))
            except BaseException as exc:  # noqa: BLE001 - reported to the test
                results[name] = f"{type(exc).__name__}: {exc}"

        def precompile_thread() -> None:
            barrier.wait()
            precompile.precompile_samples(PRECOMPILED)
            results["precompile"] = sorted(precompile.status)

        threads = [threading.Thread(target=fit_thread, args=(n,)) for n in DATASETS]
        threads.append(threading.Thread(target=precompile_thread))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    out.write_text(json.dumps(results))


def _in_fresh_process(mode: str, tmp_path: Path) -> dict:
    out = tmp_path / f"{mode}.json"
    env = dict(os.environ, HIERMOD_JAX_CACHE=str(tmp_path / f"jax-cache-{mode}"), PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, __file__, mode, str(out)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


def test_concurrent_cold_fits_and_precompile_match_fits_alone(tmp_path):
    together = _in_fresh_process("together", tmp_path)
    alone = _in_fresh_process("alone", tmp_path)
    assert together["precompile"] == sorted(PRECOMPILED), together  # the warm start succeeded too
    for name in DATASETS:
        assert isinstance(together[name], dict), f"{name}: {together[name]}"
        for site in ("mu", "tau"):
            np.testing.assert_array_equal(together[name][site], alone[name][site], err_msg=f"{name} {site}")


if __name__ == "__main__":
    _run(sys.argv[1], Path(sys.argv[2]))
