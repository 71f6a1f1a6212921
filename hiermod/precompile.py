"""Warm start for the dashboard: JAX's on-disk compilation cache plus the sample datasets' samplers.

``precompile_samples()`` turns on the persistent compilation cache (so a restarted app pays less)
and compiles the default model of each sample dataset with the default sampler settings, eight
schools first, so a class's first Fit starts at once. The dashboard runs it once per process on a
low-priority daemon thread after its first page is drawn.
"""

from __future__ import annotations

import logging
import time

log = logging.getLogger(__name__)

DEFAULT_ORDER = ("eight_schools", "radon", "efron_morris", "simulated_schools", "rat_tumors", "surgical")

status: dict[str, float] = {}  # dataset name -> seconds it took to compile (read by the UI/tests)


def default_spec_for(name: str):
    """The model the Model page proposes first for a sample dataset: partial pooling, non-centered."""
    from .datasets import dataset_info
    from .spec import ModelSpec

    return ModelSpec(dataset_info(name).likelihood, "partial", "non_centered")


def precompile_samples(names=DEFAULT_ORDER, settings=None) -> dict[str, float]:
    """Compile the default sampler of each named sample dataset; returns seconds per dataset."""
    from .compilation import enable_persistent_cache_if_possible
    from .datasets import load_dataset
    from .nuts import precompile

    enable_persistent_cache_if_possible()
    import arviz  # noqa: F401  (the first fit would otherwise pay for this import)

    for name in names:
        t0 = time.perf_counter()
        try:
            precompile(load_dataset(name), default_spec_for(name), settings)
        except Exception:  # noqa: BLE001 - a warm start must never break the app
            log.warning("precompiling %s failed", name, exc_info=True)
            continue
        status[name] = time.perf_counter() - t0
    return dict(status)
