"""Sampler settings: what a NUTS fit is asked for, validated (light to import: the dashboard's
first page builds its default settings before jax, scipy or NumPyro are loaded)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import SpecError

LIMITS = {"chains": (1, 8), "warmup": (50, 20_000), "draws": (50, 20_000)}
DEFAULT_TARGET_ACCEPT = 0.9
"""NUTS target acceptance unless asked otherwise (NumPyro, PyMC, nutpie and Stan use 0.8); why 0.9:
bench/DECISIONS.md."""


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings. ``target_accept`` in (0, 1); higher means smaller steps and fewer divergences."""

    chains: int = 4
    warmup: int = 1000
    draws: int = 1000
    seed: int = 0
    target_accept: float = DEFAULT_TARGET_ACCEPT
    max_tree_depth: int = 10

    def __post_init__(self) -> None:
        for name, (lo, hi) in LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
                raise SpecError(f"{name} must be a whole number from {lo} to {hi}; got {value!r}.")
        if not 0.5 <= float(self.target_accept) < 1.0:
            raise SpecError(f"target_accept must be in [0.5, 1); got {self.target_accept!r}.")
        if not 0 <= int(self.seed) < 2**31:
            raise SpecError(f"seed must be a whole number from 0 to {2**31 - 1}; got {self.seed!r}.")
        if not 3 <= int(self.max_tree_depth) <= 15:
            raise SpecError(f"max_tree_depth must be from 3 to 15; got {self.max_tree_depth!r}.")
