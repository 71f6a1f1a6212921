"""Adaptive tensor-grid quadrature over a few hyperparameters (numpy/scipy only).

A :class:`GridProblem` gives the unnormalised log posterior density ``l(u) = log p(u, y)`` of the
hyperparameters on an unconstrained scale ``u`` (log of a scale, atanh of a correlation; the
log-Jacobian included), and the conditional means and variances of everything else given ``u``
(integrated in closed form by the caller). :func:`integrate` then computes

    p(y) = ∫ exp(l(u)) du,    E[f | y] = ∫ E[f | u, y] exp(l(u)) du / p(y),
    Var[f | y] = E[Var[f | u, y] + E[f | u, y]^2 | y] - E[f | y]^2   (law of total variance)

with the trapezoid rule on a uniform grid in ``t``, where ``u = mode + L z`` (whitened coordinates) and
``z = c sinh(t / c)`` per axis (c = ``STRETCH``; the Jacobian ``cosh(t / c)`` is part of the weights), so
nodes are evenly spaced near the mode and spread out geometrically in long tails (a scale's
posterior on the log scale often has an exponential tail towards 0):

1. the mode of ``l`` (Newton's method with central differences; BFGS where it fails) and ``L``
   from the Hessian there;
2. a grid of step ``2 * step`` laid out with ``L`` (each axis probed from the mode outwards until
   the weighted log density falls ``tail`` below its maximum, the box widened while any face is
   within ``tail`` of it) gives the posterior covariance of ``u``; when that disagrees with ``L``
   (a whitened sd off by more than ``COVARIANCE_MATCH``) the grid is laid out again with the
   covariance, so a poor Hessian never leaves the grid too coarse;
3. the fine grid halves that step over the same box, evaluated only next to coarse nodes within
   ``tail + REFINE_MARGIN`` of the maximum (a box's corners carry no weight in 3-4 dimensions).

The trapezoid rule on a uniform grid converges faster than any power of ``step`` for smooth
integrands that vanish at the ends (and the sinh map keeps them analytic in a strip of half-width
about ``pi c / 4``), so the error is set by ``tail`` (mass cut off, about ``exp(-tail)``) and ``step``
(in posterior standard deviations near the mode; about ``exp(-2 pi (pi c / 4) / step)``). Check a
result by calling again with a smaller ``step`` and larger ``tail`` and comparing (:func:`max_difference`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy import ndimage, optimize
from scipy.special import logsumexp

__all__ = ["GridProblem", "GridPosterior", "MomentLookup", "integrate", "max_difference", "STEP", "TAIL", "MAX_NODES"]

STEP = 0.4          # node spacing in posterior standard deviations (whitened units)
TAIL = 20.0         # the grid reaches where log density is this far below its maximum
MAX_NODES = 4_000_000
CHUNK_CELLS = 262_144    # grid points x per-point array width evaluated at once (a few MB per array)
_MAX_WIDENINGS = 6
STRETCH = 4.0       # z = STRETCH sinh(t / STRETCH): uniform near the mode, geometric in the tails
PROBE_REACH = 200.0  # farthest probe, in whitened units
COVARIANCE_MATCH = 1.25  # the Hessian's whitening is kept when every whitened posterior sd is within this factor of 1
PROBE_BATCH = 6     # probe nodes per direction evaluated at once
REFINE_MARGIN = 6.0  # fine nodes are kept next to coarse nodes within tail + this of the maximum
SAMPLE_OVERSAMPLE = 3  # proposals per draw in GridPosterior.sample_u's importance resampling
GRADIENT_STEP = 1e-5  # central differences for the BFGS mode search (u is O(1): log scales, atanh)
HESSIAN_STEP = 1e-3   # central differences for Newton's mode search and the Hessian at the mode
NEWTON_ITERATIONS = 50
NEWTON_HALVINGS = 3   # fallback steps s / 2, s / 4, s / 8 evaluated with each full Newton step
NEWTON_MAX_STEP = 4.0  # longest Newton step, in whitened sds (-H metric)
NEWTON_DECREMENT = 1e-7  # s' (-H) s / 2 below this: the mode (about 5e-4 sds away at most)


@dataclass(frozen=True)
class GridProblem:
    """What :func:`integrate` needs. ``u`` arrays are (M, d).

    ``log_density(u)``: log p(u, y) (M,), all constants kept, so the integral is p(y).
    ``moments(u)``: (log p(u, y), {name: (E[name | u, y], Var[name | u, y])}) with arrays (M, ...).
    ``natural(u)``: {name: value (M,)} of the grid's hyperparameters (reported with variance 0).
    ``width``: per-point array width (e.g. the number of groups), to size the chunks.
    """

    grid_names: tuple[str, ...]
    log_density: Callable[[np.ndarray], np.ndarray]
    moments: Callable[[np.ndarray], tuple[np.ndarray, dict]]
    natural: Callable[[np.ndarray], dict]
    start: np.ndarray
    width: int = 1


class MomentLookup:
    """``mean(name)`` / ``sd(name)`` from the ``_means`` / ``_sds`` dicts of a posterior; a KeyError
    naming the known parameters otherwise."""

    _means: dict
    _sds: dict

    def mean(self, name: str):
        """Posterior mean of ``name`` (float or array)."""
        return self._means[self._known(name)]

    def sd(self, name: str):
        """Posterior standard deviation of ``name`` (float or array)."""
        return self._sds[self._known(name)]

    def _known(self, name: str) -> str:
        if name not in self._means:
            raise KeyError(f"No parameter {name!r}; this posterior has {', '.join(self._means)}.")
        return name


@dataclass(frozen=True, eq=False)
class GridPosterior(MomentLookup):
    """Posterior moments from a hyperparameter grid.

    ``mean(name)`` / ``sd(name)``: floats, or arrays (one value per group) for vector parameters.
    ``nodes``: {hyperparameter: values (M,)} at the grid nodes; ``weights`` (M,) sum to 1, so that
    ``E[g(hyper) | y] = weights @ g(nodes)``. ``log_marginal``: log p(y) (all constants kept).
    ``shape``: nodes per axis of the fine box (only ``weights.size`` of them, those with weight, are
    evaluated); ``step`` and ``tail`` as used.
    """

    names: tuple[str, ...]
    grid_names: tuple[str, ...]
    nodes: dict
    weights: np.ndarray
    log_marginal: float
    shape: tuple[int, ...]
    step: float
    tail: float
    _means: dict = field(repr=False, default_factory=dict)
    _sds: dict = field(repr=False, default_factory=dict)
    _t: np.ndarray = field(repr=False, default_factory=lambda: np.empty((0, 0)))
    _centre: np.ndarray = field(repr=False, default_factory=lambda: np.empty(0))
    _L: np.ndarray = field(repr=False, default_factory=lambda: np.empty((0, 0)))

    @property
    def points(self) -> np.ndarray:
        """The nodes on the unconstrained scale ``u`` (M, d), in the order of ``weights``."""
        return self._centre + _stretch(self._t)[0] @ self._L.T

    def cell_widths(self) -> np.ndarray:
        """Each node's cell extent along each u axis (M, d): step x sum_j |L_ij| cosh(t_j / c)."""
        return self.step * np.cosh(self._t / STRETCH) @ np.abs(self._L).T

    def sample_u(self, n: int, rng: np.random.Generator, log_density: Callable | None = None,
                 oversample: int = SAMPLE_OVERSAMPLE) -> np.ndarray:
        """``n`` independent draws of ``u`` (n, d) from the grid posterior.

        Proposals: a node with probability ``weights``, then uniform within its cell of the fine grid
        (in ``t``, width ``step``): the trapezoid rule's piecewise-constant density, whose variance
        exceeds the posterior's by step^2 / 12 per whitened axis (4% of the sd at step 1). With
        ``log_density`` (the problem's), ``oversample * n`` proposals are reweighted by
        p(t) / q(t) = exp(l(t) - l(t_k)) (l: log density plus the stretch's log Jacobian) and ``n``
        of them kept, without replacement, with probability proportional to that weight (sampling
        importance resampling): continuous draws with the posterior's own spread.
        """
        m = n if log_density is None else oversample * n
        idx = rng.choice(self.weights.shape[0], size=m, p=self.weights)
        t = self._t[idx] + self.step * (rng.random((m, self._t.shape[1])) - 0.5)
        z, log_jac = _stretch(t)
        u = self._centre + z @ self._L.T
        if log_density is None:
            return u
        with np.errstate(all="ignore"):
            log_r = log_density(u) + log_jac.sum(1) - np.log(self.weights[idx])
        log_r = np.where(np.isfinite(log_r), log_r, -np.inf)
        r = np.exp(log_r - log_r.max())
        keep = rng.choice(m, size=n, replace=False, p=r / r.sum())
        return u[keep]



def max_difference(a: GridPosterior, b: GridPosterior) -> float:
    """Largest |difference| of means and sds between two grid posteriors, in units of a's sd."""
    worst = 0.0
    for name in a.names:
        scale = np.maximum(np.asarray(a.sd(name), float), 1e-300)
        for f in (GridPosterior.mean, GridPosterior.sd):
            d = np.abs(np.asarray(f(a, name), float) - np.asarray(f(b, name), float)) / scale
            worst = max(worst, float(np.max(d)))
    return worst


# ------------------------------------------------------------------------------ mode and scale


def _find_mode(problem: GridProblem) -> tuple[np.ndarray, np.ndarray | None]:
    """argmax of the log density and its Hessian there (None when BFGS found it).

    Newton's method with central-difference derivatives (:func:`_newton_mode`): few calls of the
    density, each with a handful of points. BFGS with central-difference gradients (and a
    Nelder-Mead polish) where Newton does not converge.
    """
    try:
        return _newton_mode(problem)
    except _NoMode:
        return _bfgs_mode(problem), None


class _NoMode(Exception):
    """Newton's method did not reach a mode (non-finite density, an indefinite Hessian that would not
    recover, or too many iterations)."""


def _stencil(d: int, h: float) -> np.ndarray:
    """Offsets for the value, gradient and Hessian at a point: 0, +-h e_i, h (+-e_i +- e_j) (i < j)."""
    E = np.eye(d) * h
    rows = [np.zeros(d)] + [E[i] for i in range(d)] + [-E[i] for i in range(d)]
    for i in range(d):
        for j in range(i + 1, d):
            rows += [E[i] + E[j], E[i] - E[j], -E[i] + E[j], -E[i] - E[j]]
    return np.array(rows)


def _derivatives(vals: np.ndarray, d: int, h: float) -> tuple[float, np.ndarray, np.ndarray]:
    """(value, gradient, Hessian) from the density at ``_stencil(d, h)``."""
    f0, plus, minus = vals[0], vals[1:d + 1], vals[d + 1:2 * d + 1]
    grad = (plus - minus) / (2 * h)
    H = np.diag((plus - 2 * f0 + minus) / (h * h))
    n = 2 * d + 1
    for i in range(d):
        for j in range(i + 1, d):
            a, b, c, e = vals[n:n + 4]
            H[i, j] = H[j, i] = (a - b - c + e) / (4 * h * h)
            n += 4
    return float(f0), grad, H


def _newton_mode(problem: GridProblem) -> tuple[np.ndarray, np.ndarray]:
    """Newton's method for the mode of l(u), derivatives by central differences (step ``HESSIAN_STEP``).

    Each call of the density evaluates, at once, the stencil around the full Newton step x + s and
    the fallbacks x + s / 2^k (k = 1..``NEWTON_HALVINGS``): when the full step raises l, the next
    iteration's derivatives are already there. A Hessian that is not negative definite is made so
    (eigenvalues |lambda|, at least ``1e-8`` of the largest), steps are at most ``NEWTON_MAX_STEP``
    whitened sds long. Stops when the Newton decrement s' (-H) s / 2 is below ``NEWTON_DECREMENT``.
    """
    d = len(problem.start)
    offsets = _stencil(d, HESSIAN_STEP)
    x = np.asarray(problem.start, float)
    vals = problem.log_density(x + offsets)
    halvings = 0.5 ** np.arange(1, NEWTON_HALVINGS + 1)
    for _ in range(NEWTON_ITERATIONS):
        if not np.all(np.isfinite(vals)):
            raise _NoMode
        f0, grad, H = _derivatives(vals, d, HESSIAN_STEP)
        lam, V = np.linalg.eigh(-(H + H.T) / 2)
        lam = np.maximum(np.abs(lam), 1e-8 * max(float(np.max(np.abs(lam))), 1e-300))
        step = V @ ((V.T @ grad) / lam)
        decrement = 0.5 * float(np.sum((V.T @ grad) ** 2 / lam))
        if decrement < NEWTON_DECREMENT and np.all(np.linalg.eigvalsh(-(H + H.T) / 2) > 0):
            return x, H
        length = math.sqrt(2 * decrement)
        if length > NEWTON_MAX_STEP:
            step = step * (NEWTON_MAX_STEP / length)
        points = np.concatenate([x + step + offsets, x + halvings[:, None] * step])
        new = problem.log_density(points)
        if np.all(np.isfinite(new[:len(offsets)])) and new[0] > f0 - 1e-12 * abs(f0):
            x, vals = x + step, new[:len(offsets)]
            continue
        better = np.flatnonzero(np.isfinite(new[len(offsets):]) & (new[len(offsets):] > f0))
        if not better.size:
            raise _NoMode
        x = x + halvings[better[0]] * step
        vals = problem.log_density(x + offsets)
    raise _NoMode


def _bfgs_mode(problem: GridProblem) -> np.ndarray:
    """argmax of the log density (BFGS from ``problem.start`` with central-difference gradients,
    all 2d + 1 points in one vectorised call; Nelder-Mead polish if BFGS fails)."""
    d = len(problem.start)
    E = np.eye(d) * GRADIENT_STEP

    def neg(u):
        val = float(problem.log_density(np.asarray(u, float)[None, :])[0])
        return -val if math.isfinite(val) else 1e300

    def neg_and_grad(u):
        u = np.asarray(u, float)
        vals = problem.log_density(np.concatenate([u[None, :], u + E, u - E]))
        if not np.all(np.isfinite(vals)):
            return neg(u), np.zeros(d)
        return -float(vals[0]), -(vals[1:d + 1] - vals[d + 1:]) / (2 * GRADIENT_STEP)

    res = optimize.minimize(neg_and_grad, problem.start, method="BFGS", jac=True, options={"gtol": 1e-6})
    if not res.success:
        res = optimize.minimize(neg, res.x, method="Nelder-Mead",
                                options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 4000})
    if not math.isfinite(res.fun) or res.fun >= 1e300:
        raise ValueError("The posterior density is zero at every point tried; check the priors and data.")
    return np.asarray(res.x, float)


def _hessian(f: Callable, x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Central-difference Hessian of f at x (all points in one vectorised call)."""
    d = x.shape[0]
    E = np.eye(d) * h
    pts = [x]
    pairs = [(i, j) for i in range(d) for j in range(i, d)]
    for i, j in pairs:
        pts += [x + E[i] + E[j], x + E[i] - E[j], x - E[i] + E[j], x - E[i] - E[j]]
    vals = f(np.array(pts))
    H = np.empty((d, d))
    for n, (i, j) in enumerate(pairs):
        a, b, c, e = vals[1 + 4 * n: 5 + 4 * n]
        H[i, j] = H[j, i] = (a - b - c + e) / (4 * h * h)
    return H


def _whitening_from_precision(P: np.ndarray) -> np.ndarray:
    """L with L L' = P^-1 (eigenvalues that are not clearly positive taken as 1)."""
    lam, V = np.linalg.eigh((P + P.T) / 2)
    lam = np.where(np.isfinite(lam) & (lam > 1e-8), lam, 1.0)
    return V / np.sqrt(lam)


def _whitening_from_covariance(C: np.ndarray) -> np.ndarray:
    lam, V = np.linalg.eigh((C + C.T) / 2)
    return V * np.sqrt(np.maximum(lam, 1e-12 * lam.max()))


# -------------------------------------------------------------------------------- the box grid


def _stretch(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """z = c sinh(t / c) and log dz/dt: z ~ t near the mode, growing exponentially in the tails."""
    return STRETCH * np.sinh(t / STRETCH), np.log(np.cosh(t / STRETCH))


@dataclass
class _Box:
    """Uniform grid t_i = step * (-lo_i .. hi_i), z = c sinh(t / c) per axis, u = centre + L z."""

    centre: np.ndarray
    L: np.ndarray
    step: float
    lo: np.ndarray
    hi: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.lo + self.hi + 1)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def points(self, flat: np.ndarray) -> tuple[np.ndarray, tuple, np.ndarray]:
        """(u (M, d), the multi-index, log of the Jacobian dz/dt at each point)."""
        idx = np.unravel_index(flat, self.shape)
        t = np.stack([(i - lo) * self.step for i, lo in zip(idx, self.lo)], axis=1)
        z, log_jac = _stretch(t)
        return self.centre + z @ self.L.T, idx, log_jac.sum(1)

    def log_volume(self) -> float:
        """log of the volume one node stands for in t, times |det L|."""
        d = self.centre.shape[0]
        return d * math.log(self.step) + math.log(abs(np.linalg.det(self.L)))


def _probe(problem: GridProblem, centre, L, step, tail, top) -> tuple[np.ndarray, np.ndarray]:
    """Nodes from the centre along each axis (both ways) until l + log dz/dt < top - tail: the next
    ``PROBE_BATCH`` nodes of every direction still above in one call of the density."""
    d = centre.shape[0]
    ks = np.arange(1, int(STRETCH * math.asinh(PROBE_REACH / STRETCH) / step) + 1)
    z, log_jac = _stretch(ks * step)
    directions = [(i, sign) for i in range(d) for sign in (-1, 1)]
    reach = {}
    for lo_k in range(0, ks.shape[0], PROBE_BATCH):
        todo = [dn for dn in directions if dn not in reach]
        if not todo:
            break
        zs, jac = z[lo_k:lo_k + PROBE_BATCH], log_jac[lo_k:lo_k + PROBE_BATCH]
        u = np.concatenate([centre + np.outer(sign * zs, L[:, i]) for i, sign in todo])
        lp = (problem.log_density(u).reshape(len(todo), -1) + jac)
        for (i, sign), row in zip(todo, lp):
            below = np.flatnonzero(~(row > top - tail))
            if below.size:
                reach[(i, sign)] = ks[lo_k + below[0]]
    if len(reach) < len(directions):
        raise ValueError(f"The posterior of {problem.grid_names} does not decay along a grid axis "
                         "(improper or extremely flat); use proper, narrower priors.")
    return (np.array([reach[(i, -1)] for i in range(d)], int), np.array([reach[(i, 1)] for i in range(d)], int))


def _chunks(flat: np.ndarray, width: int):
    size = max(1, CHUNK_CELLS // max(width, 1))
    for start in range(0, flat.shape[0], size):
        yield flat[start:start + size]


def _face_widening(box: _Box, face_max: np.ndarray, top: float, tail: float) -> bool:
    """Widen the sides whose face is within ``tail`` of the maximum; True if any was widened."""
    grow = face_max > top - tail
    if not grow.any():
        return False
    extra = np.maximum(np.ceil(0.3 * np.stack([box.lo, box.hi], 1)), 2).astype(int)
    box.lo = box.lo + np.where(grow[:, 0], extra[:, 0], 0)
    box.hi = box.hi + np.where(grow[:, 1], extra[:, 1], 0)
    return True


def _face_max(lp: np.ndarray, idx: tuple, shape: tuple, out: np.ndarray) -> None:
    for i, n in enumerate(shape):
        for side, at in ((0, 0), (1, n - 1)):
            sel = lp[idx[i] == at]
            if sel.size:
                out[i, side] = max(out[i, side], float(np.max(sel)))


class _Sums:
    """Running sums of w, w E[f|u] and w (Var[f|u] + E[f|u]^2) with w = exp(l(u) - ref)."""

    def __init__(self, ref: float):
        self.ref = ref
        self.s0 = 0.0
        self.s1: dict = {}
        self.s2: dict = {}

    def add(self, lp: np.ndarray, moments: dict) -> None:
        w = np.exp(lp - self.ref)
        keep = w > 0          # nodes of zero weight may carry non-finite conditional moments
        w = w[keep]
        self.s0 += float(w.sum())
        for name, (m, v) in moments.items():
            m, v = np.asarray(m, float)[keep], np.asarray(v, float)[keep]
            self.s1[name] = self.s1.get(name, 0.0) + np.tensordot(w, m, axes=(0, 0))
            self.s2[name] = self.s2.get(name, 0.0) + np.tensordot(w, v + m * m, axes=(0, 0))

    def result(self) -> tuple[dict, dict]:
        means = {k: _scalar(v / self.s0) for k, v in self.s1.items()}
        sds = {k: _scalar(np.sqrt(np.maximum(self.s2[k] / self.s0 - np.asarray(means[k]) ** 2, 0.0)))
               for k in self.s1}
        return means, sds


def _scalar(x):
    x = np.asarray(x, float)
    return float(x) if x.ndim == 0 else x


def _scan(problem: GridProblem, box: _Box, tail: float, top: float) -> tuple[np.ndarray, float]:
    """Log weights at every node of ``box``, widening it until every face is ``tail`` below the
    maximum. Returns (log weights (size,), the maximum)."""
    for _ in range(_MAX_WIDENINGS + 1):
        if box.size > MAX_NODES:
            raise ValueError(f"The hyperparameter grid would need {box.size:,} nodes (limit {MAX_NODES:,}); "
                             "the posterior is too far from Gaussian on the log scale for this grid.")
        lp, faces = _log_weights(problem, box)
        top = max(top, float(np.max(lp)))
        if not _face_widening(box, faces, top, tail):
            return lp, top
    raise ValueError("The hyperparameter grid kept growing; the posterior looks improper.")


def _log_weights(problem: GridProblem, box: _Box) -> tuple[np.ndarray, np.ndarray]:
    """log density + log Jacobian at every node of ``box``, and the maximum on each face."""
    lp_all = np.empty(box.size)
    faces = np.full((len(box.shape), 2), -np.inf)
    for flat in _chunks(np.arange(box.size), problem.width):
        u, idx, log_jac = box.points(flat)
        with np.errstate(all="ignore"):
            lp = problem.log_density(u) + log_jac
        lp_all[flat] = np.where(np.isfinite(lp), lp, -np.inf)
        _face_max(lp_all[flat], idx, box.shape, faces)
    return lp_all, faces


def _moment_sums(problem: GridProblem, box: _Box, flat_all: np.ndarray, ref: float):
    """Log weights at the nodes ``flat_all`` of ``box`` and the weighted moment sums there."""
    lp_all = np.empty(flat_all.shape[0])
    sums = _Sums(ref)
    start = 0
    for flat in _chunks(flat_all, problem.width):
        u, _, log_jac = box.points(flat)
        with np.errstate(all="ignore"):
            lp, moments = problem.moments(u)
            lp = np.where(np.isfinite(lp), lp + log_jac, -np.inf)
            moments = dict(moments) | {k: (v, np.zeros_like(v)) for k, v in problem.natural(u).items()}
            sums.add(lp, moments)
        lp_all[start:start + flat.shape[0]] = lp
        start += flat.shape[0]
    return lp_all, sums


def _refine(coarse: _Box, lp: np.ndarray, top: float, tail: float) -> tuple[_Box, np.ndarray]:
    """The grid of half the step over the same box, and the flat indices of its nodes next to a
    coarse node within ``tail + REFINE_MARGIN`` of the maximum (the others carry no weight)."""
    d = len(coarse.shape)
    significant = (lp > top - tail - REFINE_MARGIN).reshape(coarse.shape)
    near = ndimage.binary_dilation(significant, structure=np.ones((3,) * d, bool))
    fine = _Box(coarse.centre, coarse.L, coarse.step / 2, 2 * coarse.lo, 2 * coarse.hi)
    for axis, n in enumerate(fine.shape):
        near = np.repeat(near, 2, axis=axis).take(np.arange(n), axis=axis)
    return fine, np.flatnonzero(near)


def _covariance(box: _Box, lp: np.ndarray) -> np.ndarray:
    w = np.exp(lp - logsumexp(lp))
    u = box.points(np.arange(box.size))[0]
    mean = w @ u
    return (u - mean).T @ ((u - mean) * w[:, None])


# ------------------------------------------------------------------------------------ integrate


def _probed_scan(problem: GridProblem, centre, L, step, tail, top) -> tuple[_Box, np.ndarray, float]:
    box = _Box(centre, L, step, *_probe(problem, centre, L, step, tail, top))
    lp, top = _scan(problem, box, tail, top)
    return box, lp, top


def _covariance_scan(problem: GridProblem, centre, L, step, tail, top) -> tuple[_Box, np.ndarray, float]:
    """The coarse grid, laid out with the posterior covariance: a probed scan with the Hessian's
    whitening ``L``, kept when the covariance it measures matches ``L`` (every whitened sd within
    ``COVARIANCE_MATCH`` of 1), else scanned again with the covariance's whitening (so a poor
    Hessian never leaves the grid too coarse)."""
    box, lp, top = _probed_scan(problem, centre, L, step, tail, top)
    C = _covariance(box, lp)
    Li = np.linalg.inv(L)
    sds = np.sqrt(np.abs(np.linalg.eigvalsh(Li @ C @ Li.T)))
    if np.all((sds > 1 / COVARIANCE_MATCH) & (sds < COVARIANCE_MATCH)):
        return box, lp, top
    return _probed_scan(problem, centre, _whitening_from_covariance(C), step, tail, top)


def integrate(problem: GridProblem, step: float = STEP, tail: float = TAIL) -> GridPosterior:
    """Grid posterior of ``problem`` (see the module docstring for the scheme)."""
    with np.errstate(all="ignore"):   # far probes overflow to -inf or nan: those nodes get weight 0
        return _integrate(problem, step, tail)


def _integrate(problem: GridProblem, step: float, tail: float) -> GridPosterior:
    mode, H = _find_mode(problem)
    top = float(problem.log_density(mode[None, :])[0])
    L = _whitening_from_precision(-(_hessian(problem.log_density, mode) if H is None else H))
    box, lp, top = _covariance_scan(problem, mode, L, 2 * step, tail, top)
    fine, flat = _refine(box, lp, top, tail)
    lp, sums = _moment_sums(problem, fine, flat, top)
    means, sds = sums.result()
    log_z = float(logsumexp(lp))
    u = fine.points(flat)[0]
    t = np.stack([(i - lo) * fine.step for i, lo in zip(np.unravel_index(flat, fine.shape), fine.lo)], axis=1)
    names = tuple(problem.grid_names) + tuple(k for k in means if k not in problem.grid_names)
    return GridPosterior(
        names=names, grid_names=tuple(problem.grid_names), nodes=problem.natural(u),
        weights=np.exp(lp - log_z), log_marginal=log_z + fine.log_volume(), shape=fine.shape,
        step=fine.step, tail=tail, _means=means, _sds=sds, _t=t, _centre=fine.centre, _L=fine.L,
    )
