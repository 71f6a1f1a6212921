"""The instant posterior: an engine's exact (or Laplace) conditional, mixed over a hyperparameter grid.

With hyperparameters h on the unconstrained scale u and latent variables x (locations, group
effects, coefficients), an engine (:class:`~hiermod.instant.engine.EngineParts`) gives log p(u, y)
and E / Var[x | u, y]; the grid (:func:`hiermod.grid_quadrature.integrate`) gives

    E[x | y] = sum_k w_k E[x | u_k, y],   Var[x | y] = sum_k w_k (Var[x | u_k, y] + E[x | u_k, y]^2) - E[x | y]^2,

and independent draws: u ~ the grid (a node by weight, uniform within its cell), then x ~ p(x | u, y).
``fixed`` holds some hyperparameters at given values (empirical Bayes: tau at its marginal mode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..grid_quadrature import GridPosterior, MomentLookup, integrate, max_difference
from ..table_helpers import weighted_quantiles
from .engine import EngineParts, fix, log_jacobian, to_natural, to_unconstrained

__all__ = ["InstantPosterior", "integrate_engine", "ACCURACY_CHECK"]

ACCURACY_CHECK = (0.6, 0.75)
"""Grid refinement check: the result is recomputed with step x 0.6 and tail / 0.75 (finer, wider)."""


@dataclass(frozen=True, eq=False)
class InstantPosterior(MomentLookup):
    """The posterior of one model on one data set from an instant engine.

    ``mean(name)`` / ``sd(name)``: exact grid mixtures of the engine's conditional moments (floats,
    or one value per group). ``draws(n, rng)``: independent draws of the hyperparameters and the
    engine's latent variables. ``hyper_names``: the grid's hyperparameters (natural scale);
    ``fixed``: those held at a value. ``label`` / ``exact``: how it was computed and whether only
    grid and quadrature error separate it from the posterior (else a Laplace approximation).
    ``grid``: the :class:`~hiermod.grid_quadrature.GridPosterior` (None without free hyperparameters).
    """

    label: str
    exact: bool
    hyper_names: tuple[str, ...]
    fixed: dict[str, float]
    grid: GridPosterior | None
    log_marginal: float
    _parts: EngineParts = field(repr=False)
    _full_u: Any = field(repr=False, default=None)
    _means: dict = field(repr=False, default_factory=dict)
    _sds: dict = field(repr=False, default_factory=dict)
    _remake: Any = field(repr=False, default=None)
    """(function, args) that computes this posterior again: how it pickles (worker processes, Dask),
    as its engine's closures do not; the computation is deterministic."""

    def __reduce__(self):
        if self._remake is None:
            raise TypeError("This instant posterior was built from engine parts directly and cannot be "
                            "pickled; build it with hiermod.instant.instant_posterior.")
        return self._remake

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._means)

    # ------------------------------------------------------------------ hyperparameters

    def _free_log_density(self, u: np.ndarray) -> np.ndarray:
        return self._parts.problem.log_density(self._full_u(u))

    def hyper_nodes(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """({name: value at each grid node}, weights summing to 1) of the hyperparameters."""
        if self.grid is None:
            return {k: np.array([v]) for k, v in self.fixed.items()}, np.ones(1)
        return dict(self.grid.nodes), self.grid.weights

    def hyper_density(self, name: str, points: int = 200) -> pd.DataFrame:
        """p(name | y) on the natural scale h, columns ``[name, "density"]``, on ``points`` equally
        spaced values spanning the posterior's 0.01% .. 99.99% quantiles (for a positive
        hyperparameter whose density there is still over 1/20 of its peak, from 1/1000 of the lower
        end), normalised by the trapezoid rule. With one free hyperparameter exactly: p(u, y) /
        |dh/du| at u(h). With several, a weighted kernel estimate over the grid's nodes in u, each
        node's bandwidth 3/4 of its cell width along the axis (the sinh-stretched cells widen in
        the tails, so a fixed bandwidth would oscillate there), divided by |dh/du| likewise."""
        if name not in self.hyper_names or name in self.fixed or self.grid is None:
            raise KeyError(f"{name!r} is not a free hyperparameter of this posterior ({', '.join(self.hyper_names)}).")
        transform = self._parts.transforms[name]
        i = self.grid.grid_names.index(name)
        u_nodes, w = self.grid.points[:, i], self.grid.weights
        keep = w > 1e-12 * w.max()
        one_axis = self.grid.points.shape[1] == 1
        width = None if one_axis else 0.75 * self.grid.cell_widths()[keep, i]

        def density(h: np.ndarray) -> np.ndarray:
            u = to_unconstrained(transform, h)
            if one_axis:
                lp = self._free_log_density(u[:, None])
            else:
                z = (u[:, None] - u_nodes[keep][None, :]) / width
                with np.errstate(divide="ignore"):
                    lp = np.log((w[keep] / width * np.exp(-0.5 * z * z)).sum(1))
            lp = lp - log_jacobian(transform, u)
            lp = np.where(np.isfinite(lp), lp, -np.inf)
            return np.exp(lp - np.max(lp))

        lo, hi = weighted_quantiles(to_natural(transform, u_nodes), w, [1e-4, 1 - 1e-4])
        h = np.linspace(lo, hi, points)
        dens = density(h)
        if transform == "log" and dens[0] >= dens.max() / 20:   # still high at the lower end
            h = np.linspace(lo * 1e-3, hi, points)
            dens = density(h)
        return pd.DataFrame({name: h, "density": dens / np.trapezoid(dens, h)})

    # ------------------------------------------------------------------------ draws

    def draws(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``n`` independent draws {name: (n, ...)} of the hyperparameters and latent variables."""
        parts = self._parts
        if parts.problem is None:
            return parts.sample_given(None, n, rng)
        if self.grid is None:
            u = np.repeat(self._full_u(np.empty((1, 0))), n, axis=0)
        elif parts.sample_nodes is not None:
            idx = rng.choice(self.grid.weights.shape[0], size=n, p=self.grid.weights)
            free = np.array([name not in self.fixed for name in parts.problem.grid_names])
            u, latent = parts.sample_nodes(self._full_u(self.grid.points), idx, free, rng)
            return {k: np.asarray(v, float) for k, v in parts.problem.natural(u).items()} | latent
        else:
            u = self._full_u(self.grid.sample_u(n, rng, self._free_log_density))
        out = {k: np.asarray(v, float) for k, v in parts.problem.natural(u).items()}
        out.update(parts.sample_given(u, n, rng))
        return out

    # --------------------------------------------------------------------- accuracy

    def grid_error(self) -> float:
        """Largest change of any posterior mean or sd, in posterior sds, when the grid is refined
        (step x 0.6, tail / 0.75); 0 without a grid. The error of the result is below this."""
        if self.grid is None:
            return 0.0
        finer = integrate_engine(self._parts, self.fixed, *(f * v for f, v in
                                 zip(ACCURACY_CHECK, (self.grid.step, 1 / self.grid.tail))), _fine=True)
        return max_difference(self.grid, finer.grid)

    @property
    def note(self) -> str:
        """What a user should know about the accuracy (empty for an exact result)."""
        return self._parts.note

    def summary(self) -> pd.DataFrame:
        """Mean and sd of every scalar and per-group quantity (per group: ``name[k]``)."""
        rows = {}
        for name in self._means:
            m, s = np.atleast_1d(self._means[name]), np.atleast_1d(self._sds[name])
            if np.ndim(self._means[name]) == 0:
                rows[name] = (float(m[0]), float(s[0]))
            else:
                for k, (a, b) in enumerate(zip(m.ravel(), s.ravel())):
                    rows[f"{name}[{k}]"] = (float(a), float(b))
        return pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "sd"])


def integrate_engine(parts: EngineParts, fixed: Mapping[str, float] | None = None, step: float | None = None,
                     inv_tail: float | None = None, _fine: bool = False) -> InstantPosterior:
    """Integrate ``parts``' hyperparameters on a grid (holding ``fixed`` ones at their values)."""
    from ..grid_quadrature import STEP, TAIL

    fixed = {k: float(v) for k, v in (fixed or {}).items()}
    if parts.problem is None:
        if fixed:
            raise KeyError(f"This model has no hyperparameters to fix ({', '.join(fixed)}).")
        means = {k: m for k, (m, s) in parts.moments.items()}
        sds = {k: s for k, (m, s) in parts.moments.items()}
        return InstantPosterior(parts.label, parts.exact, (), {}, None, math.nan, parts, None, means, sds)
    problem, full_u = fix(parts.problem, parts.transforms, fixed) if fixed else (parts.problem, lambda u: u)
    step = step or parts.step or STEP
    tail = 1 / inv_tail if inv_tail else (parts.tail or TAIL)
    if not problem.grid_names:  # everything fixed: one point
        u0 = np.empty((1, 0))
        lp, moments = problem.moments(u0)
        means = {k: _squeeze(v[0][0]) for k, v in moments.items()}
        sds = {k: _squeeze(np.sqrt(np.maximum(v[1][0], 0))) for k, v in moments.items()}
        means.update({k: float(v) for k, v in fixed.items()})
        sds.update({k: 0.0 for k in fixed})
        return InstantPosterior(parts.label, parts.exact, parts.problem.grid_names, fixed, None, float(lp[0]),
                                parts, full_u, means, sds)
    grid = integrate(problem, step, tail)
    means = {k: grid.mean(k) for k in grid.names}
    sds = {k: grid.sd(k) for k in grid.names}
    return InstantPosterior(parts.label, parts.exact, parts.problem.grid_names, fixed, grid, grid.log_marginal,
                            parts, full_u, means, sds)


def _squeeze(x):
    x = np.asarray(x, float)
    return float(x) if x.ndim == 0 else x
