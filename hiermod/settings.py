"""Sampler settings: what a NUTS fit is asked for, validated (light to import: the dashboard's
first page builds its default settings before jax, scipy or NumPyro are loaded)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .errors import SpecError

LIMITS = {"chains": (1, 8), "warmup": (50, 20_000), "draws": (50, 20_000)}
START_CHOICES = ("instant", "random")
"""Where NUTS chains start (:mod:`hiermod.nuts_start`): ``instant`` = at instant-posterior draws,
with their diagonal mass matrix, when an instant engine serves the model (else as ``random``);
``random`` = NumPyro's default (uniform in [-2, 2] on the unconstrained scale), the mass matrix
adapted in Stan's warmup windows."""
DEFAULT_WARMUP = 1000
"""Warmup iterations of chains started at random, unless asked otherwise (Stan's, PyMC's default)."""
INSTANT_START_WARMUP = 300
"""Warmup iterations of chains started from the instant posterior, unless asked otherwise: only the
step size is adapted (measured enough: bench/INSTANT_WARMUP.md; gradients per effective sample
radon 119-122 -> 44-54, eight schools non-centered 38-44 -> 24-29, means within MCSE)."""
DEFAULT_TARGET_ACCEPT = 0.9
"""NUTS target acceptance unless asked otherwise (NumPyro, PyMC, nutpie and Stan use 0.8); why 0.9:
bench/DECISIONS.md."""


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings. ``target_accept`` in (0, 1); higher means smaller steps and fewer divergences.
    ``warmup`` None: :data:`INSTANT_START_WARMUP` when the chains start from the instant posterior,
    else :data:`DEFAULT_WARMUP` (:meth:`resolved`); ``start``: one of :data:`START_CHOICES`."""

    chains: int = 4
    warmup: int | None = None
    draws: int = 1000
    seed: int = 0
    target_accept: float = DEFAULT_TARGET_ACCEPT
    max_tree_depth: int = 10
    start: str = "instant"

    def __post_init__(self) -> None:
        for name, (lo, hi) in LIMITS.items():
            value = getattr(self, name)
            if name == "warmup" and value is None:
                continue
            if not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
                raise SpecError(f"{name} must be a whole number from {lo} to {hi}; got {value!r}.")
        if not 0.5 <= float(self.target_accept) < 1.0:
            raise SpecError(f"target_accept must be in [0.5, 1); got {self.target_accept!r}.")
        if not 0 <= int(self.seed) < 2**31:
            raise SpecError(f"seed must be a whole number from 0 to {2**31 - 1}; got {self.seed!r}.")
        if not 3 <= int(self.max_tree_depth) <= 15:
            raise SpecError(f"max_tree_depth must be from 3 to 15; got {self.max_tree_depth!r}.")
        if self.start not in START_CHOICES:
            raise SpecError(f"start must be one of {', '.join(START_CHOICES)}; got {self.start!r}.")

    def resolved(self, from_instant: bool) -> "SamplerSettings":
        """These settings as a fit runs them: ``start`` = what the chains start from
        (``from_instant``: instant draws were found), ``warmup`` a number."""
        warmup = self.warmup
        if warmup is None:
            warmup = INSTANT_START_WARMUP if from_instant else DEFAULT_WARMUP
        return replace(self, warmup=int(warmup), start="instant" if from_instant else "random")

    @property
    def warmup_text(self) -> str:
        """The warmup for people: the number, or what "automatic" means."""
        if self.warmup is not None:
            return str(self.warmup)
        return f"auto: {INSTANT_START_WARMUP} from an instant start, else {DEFAULT_WARMUP}"

    def describe(self) -> str:
        """One line for people: chains, warmup, draws, start, target acceptance, seed."""
        warmup = "automatic warmup" if self.warmup is None else f"{self.warmup} warmup"
        start = ("chains start from the instant posterior when it serves the model" if self.start == "instant"
                 else "random starts")
        if self.warmup is None:
            start += f" (warmup {INSTANT_START_WARMUP} from it, else {DEFAULT_WARMUP})"
        return (f"{self.chains} chains x ({warmup} + {self.draws} draws), {start}, "
                f"target accept {self.target_accept:g}, seed {self.seed}")

    @property
    def most_warmup(self) -> int:
        """The warmup iterations at most (for time estimates before the start is known)."""
        return DEFAULT_WARMUP if self.warmup is None else int(self.warmup)
