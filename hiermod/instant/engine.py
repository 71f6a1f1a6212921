"""What an instant engine hands the common machinery: :class:`EngineParts`.

An engine integrates everything but a few hyperparameters exactly (closed form, quadrature) or by a
Laplace approximation, given the hyperparameters ``h``; :mod:`hiermod.instant.posterior` integrates
``h`` on an adaptive grid (:mod:`hiermod.grid_quadrature`) and draws from the result:

    p(h | y) ∝ p(h) p(y | h),     draw h ~ grid posterior,  then  x ~ p(x | h, y) (the engine).

The grid lives on an unconstrained scale ``u`` (log of a positive parameter, atanh of a
correlation); ``transforms`` says which, so a hyperparameter can be held fixed (empirical Bayes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..grid_quadrature import GridProblem

__all__ = ["EngineParts", "TRANSFORMS", "to_unconstrained", "to_natural", "log_jacobian"]

TRANSFORMS: dict[str, tuple[Callable, Callable]] = {
    "identity": (np.asarray, np.asarray),
    "log": (np.log, np.exp),
    "atanh": (np.arctanh, np.tanh),
}
"""name -> (natural -> u, u -> natural)."""


def to_unconstrained(transform: str, value):
    return TRANSFORMS[transform][0](np.asarray(value, float))


def to_natural(transform: str, u):
    return TRANSFORMS[transform][1](np.asarray(u, float))


def log_jacobian(transform: str, u: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """log |dh/du| of the transform at ``u`` (h = natural value; central difference)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.abs(to_natural(transform, u + eps) - to_natural(transform, u - eps)) / (2 * eps))


@dataclass(frozen=True)
class EngineParts:
    """One engine's view of one model on one data set.

    ``label``: how the result was computed, for people ("grid over tau, closed form given tau").
    ``exact``: True when the only errors are grid and quadrature errors (checked by refining the
    grid); False for a Laplace approximation (accuracy measured against references, not by refining).
    ``problem``: the hyperparameter grid problem (None: the model has no hyperparameters, and
    ``moments`` / ``sample_given`` describe the whole posterior). Its ``moments(u)`` give E and Var
    of the engine's latent variables given u; ``grid_names`` are the hyperparameters' names.
    ``transforms``: grid name -> "log" | "atanh" (u = transform(value)).
    ``sample_given(u, n, rng)``: ``n`` draws {name: (n, ...)} of every latent variable the engine
    reports (locations mu, group effects theta / theta_<level>, beta, slope_<x>, ...), one per row
    of ``u`` (n, d) (``u`` is None when ``problem`` is None).
    ``moments``: {name: (mean, sd)} when ``problem`` is None.
    ``sample_nodes(nodes, idx, free, rng)`` (optional): draws at grid nodes, for engines whose
    conditional draws are cheaper per node than per draw: ``nodes`` (K, d) the grid's u, ``idx`` (n,)
    a node per draw (by weight), ``free`` (d,) the axes not held fixed; returns (u (n, d), {latent
    draws}), u the nodes' values moved by a kernel that leaves p(u | latent draws, y) invariant (so
    the pairs stay posterior draws, and u is continuous). Without it: u continuous from the grid
    (:meth:`~hiermod.grid_quadrature.GridPosterior.sample_u`), then ``sample_given``.
    ``step`` / ``tail``: the grid's node spacing in posterior sds and how far (in log density) it
    reaches (see :func:`hiermod.grid_quadrature.integrate`); None: that module's defaults.
    """

    label: str
    exact: bool
    problem: GridProblem | None
    transforms: dict[str, str]
    sample_given: Callable[[np.ndarray | None, int, np.random.Generator], dict[str, np.ndarray]]
    moments: dict = field(default_factory=dict)
    step: float | None = None
    tail: float | None = None
    note: str = ""
    """What a user should know about this result's accuracy (empty when it is exact)."""
    sample_nodes: Callable | None = None


def fix(problem: GridProblem, transforms: dict[str, str], fixed: dict[str, float]) -> tuple[GridProblem, Callable]:
    """The problem with the hyperparameters in ``fixed`` held at their values: (a problem over the
    others, a function mapping its u (M, d') to the full u (M, d))."""
    names = problem.grid_names
    unknown = sorted(set(fixed) - set(names))
    if unknown:
        raise KeyError(f"Cannot fix {', '.join(unknown)}: the grid's hyperparameters are {', '.join(names)}.")
    free = [i for i, n in enumerate(names) if n not in fixed]
    held = {names.index(n): float(to_unconstrained(transforms[n], v)) for n, v in fixed.items()}
    if any(not math.isfinite(v) for v in held.values()):
        raise ValueError(f"Fixed values out of range: {fixed}.")

    def full(u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, float)
        u = u.reshape(u.shape[0] if u.ndim == 2 else -1, len(free))
        out = np.empty((u.shape[0], len(names)))
        out[:, free] = u
        for i, v in held.items():
            out[:, i] = v
        return out

    reduced = GridProblem(
        tuple(names[i] for i in free),
        lambda u: problem.log_density(full(u)),
        lambda u: problem.moments(full(u)),
        lambda u: problem.natural(full(u)),
        np.asarray(problem.start, float)[free],
        problem.width,
    )
    return reduced, full
