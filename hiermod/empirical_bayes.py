"""Empirical Bayes against full Bayes, computed with the instant method.

Full Bayes (FB) integrates over the hyperparameters h (tau): p(theta | y) = ∫ p(theta | h, y) p(h | y) dh.
Empirical Bayes (EB) plugs in one value: p(theta | h^, y), the instant posterior with
``fixed={"tau": h^}``. Two choices of h^ (:data:`CHOICES`), with mu (and every other variable the
engine integrates exactly) still integrated:

    "posterior_mode"        the mode of the posterior density p(h | y) of the hyperparameters (natural
                            scale) under the spec's priors: tau's marginal posterior mode
    "marginal_likelihood"   type-II maximum likelihood, the classical EB choice: the maximum of
                            p(y | h) = p(h | y) p(y) / p(h) (a flat prior on h; mu is still integrated
                            over its own prior)

Both maximise log p(y, u) (the engine's grid density in u = log h) minus log |dh/du| (and minus
log p(h) for the likelihood) over u covering the full posterior's grid and BOUNDARY_SHARE r_h ..
SEARCH_TOP r_h (r_h the hyperparameter's reference scale: s for tau,
:func:`hiermod.sensitivity.reference_scale`): a dense grid, zoomed in around its best node, for one
hyperparameter; with several (a Beta population's alpha and beta) their joint maximum (L-BFGS-B from
the best node of the full posterior's grid), the classical type-II ML.

The boundary. When h^ < BOUNDARY_SHARE r_h, the maximum is at h = 0 (eight schools: p(tau | y) and
p(y | tau) are both largest at tau = 0), and EB with tau = 0 *is* complete pooling. log 0 does not
exist, so that plug-in is computed at tau = BOUNDARY_VALUE r_h, where every shrinkage factor
s_j^2 / (s_j^2 + tau^2) differs from 1 by 1e-12 (r_h / s_j)^2 (r_h is of the order of s_j).

Understatement: per group, ratio_j = width of the EB 90% interval / width of the FB one (< 1: the
plug-in ignores the uncertainty about tau and is too sure).

Coverage (:func:`coverage_study`): R data sets simulated from the prior with the data's own design
(:func:`hiermod.predictive.prior_draws`: parameters from the spec's priors, then y for the same
groups, se, trials, exposure), each fitted with those same priors (data-scaled defaults are
resolved once, on the original data); the share of (replicate, group) pairs whose 90% interval holds the
true value, per method. FB is calibrated by construction here (expected coverage exactly 0.9); EB is
not. Monte Carlo standard error: sd over replicates of each replicate's coverage / sqrt(R).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import SpecError
from .hyper_density import engine_parts, hyper_log_density, integrate
from .priors import default_priors
from .sensitivity import INTERVAL, group_intervals, group_quantity, reference_scale

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .instant import InstantPosterior
    from .spec import ModelSpec

__all__ = ["CHOICES", "BOUNDARY_SHARE", "BOUNDARY_VALUE", "PlugIn", "EBComparison", "CoverageResult",
           "plug_in", "compare", "coverage_study"]

CHOICES = {
    "posterior_mode": "the mode of tau's marginal posterior (your prior)",
    "marginal_likelihood": "the maximum of the marginal likelihood p(y | tau) (type-II ML, flat prior on tau)",
}
"""The plug-in values EB can use, with how the pages name them."""
BOUNDARY_SHARE = 1e-3
"""A maximum below this share of the reference scale is at the boundary h = 0."""
BOUNDARY_VALUE = 1e-6
"""The boundary plug-in h = 0 is computed at this share of the reference scale."""
SEARCH_TOP = 100.0
"""The search grid reaches at least this many reference scales."""
SEARCH_POINTS = 161
REFINE_POINTS, REFINE_ROUNDS = 41, 4
DRAWS = 4000


DENSITY_OF = {"posterior_mode": "posterior", "marginal_likelihood": "likelihood"}
"""Which density (:func:`hiermod.hyper_density.hyper_log_density`) each choice maximises."""


def _check_choice(choice: str) -> None:
    if choice not in CHOICES:
        raise SpecError(f"Unknown empirical Bayes choice '{choice}'; use one of: {', '.join(CHOICES)}.")


@dataclass(frozen=True)
class PlugIn:
    """EB's plug-in values: ``values`` the maximum found ({name: h^}, 0.0 at the boundary),
    ``used`` the values the posterior is computed at (BOUNDARY_VALUE r_h at the boundary),
    ``at_boundary`` {name: bool}, ``choice`` a key of :data:`CHOICES`."""

    values: dict[str, float]
    used: dict[str, float]
    at_boundary: dict[str, bool]
    choice: str

    @property
    def label(self) -> str:
        return CHOICES[self.choice]

    @property
    def boundary(self) -> bool:
        return any(self.at_boundary.values())

    def describe(self) -> str:
        parts = []
        for n, v in self.values.items():
            if self.at_boundary[n]:
                parts.append(f"{n} = 0 (the maximum is at the boundary: complete pooling; computed at "
                             f"{n} = {self.used[n]:.2g})")
            else:
                parts.append(f"{n} = {v:.3g}")
        return "; ".join(parts)


def _bounds(parts, refs: dict[str, float], points: np.ndarray) -> list[tuple[float, float]]:
    """Search bounds in u per hyperparameter: the full posterior's grid widened by 1, and for a
    log-scale one at least BOUNDARY_SHARE r .. SEARCH_TOP r."""
    out = []
    for i, name in enumerate(parts.problem.grid_names):
        lo, hi = float(points[:, i].min()) - 1.0, float(points[:, i].max()) + 1.0
        if parts.transforms[name] == "log":
            lo = np.log(BOUNDARY_SHARE * refs[name])
            hi = max(hi, np.log(SEARCH_TOP * refs[name]))
        out.append((lo, hi))
    return out


def _maximise(parts, priors, choice: str, refs: dict[str, float], points: np.ndarray) -> np.ndarray:
    """The u maximising the choice's density (:func:`~hiermod.hyper_density.hyper_log_density`) within
    :func:`_bounds`. One hyperparameter: a dense grid (widened upward while the maximum is at its
    top), then REFINE_ROUNDS zooms around the best node; several: L-BFGS-B from the best node of the
    full posterior's grid."""
    from scipy.optimize import minimize

    bounds = _bounds(parts, refs, points)

    def f(u):
        return hyper_log_density(parts, u, priors, DENSITY_OF[choice])

    if len(bounds) == 1:
        lo, hi = bounds[0]
        for _ in range(6):
            grid = np.linspace(lo, hi, SEARCH_POINTS)
            values = f(grid[:, None])
            k = int(np.argmax(values))
            if k < len(grid) - 1:
                break
            lo, hi = hi - 1.0, hi + 3.0  # still rising at the top: search further up
        if not np.isfinite(values[k]):
            raise SpecError("The hyperparameter's density is zero on the whole search range; check its prior.")
        if k == 0:
            return grid[:1]  # the lower edge: the boundary (module docstring)
        for _ in range(REFINE_ROUNDS):  # zoom in around the best node, vectorised
            grid = np.linspace(grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)], REFINE_POINTS)
            values = f(grid[:, None])
            k = int(np.argmax(values))
        return grid[k:k + 1]
    inside = np.column_stack([np.clip(points[:, i], lo, hi) for i, (lo, hi) in enumerate(bounds)])
    values = f(inside)
    if not np.isfinite(values).any():
        raise SpecError("The hyperparameters' density is zero on the whole grid; check their priors.")
    start = inside[int(np.argmax(values))]
    res = minimize(lambda v: -f(v[None, :])[0], start, method="L-BFGS-B", bounds=bounds)
    return res.x if -res.fun >= values.max() else start


def _references(data, spec, parts) -> dict[str, float]:
    """Each grid hyperparameter's reference scale r_h (1 for one not on the log scale);
    :class:`SpecError` when the model has no hyperparameters."""
    if parts.problem is None:
        raise SpecError("This model has no hyperparameters (tau) to plug in: empirical Bayes needs "
                        "partial pooling. Choose 'Partial pooling' on the Model page.")
    defaults = default_priors(data, spec)
    return {n: reference_scale(defaults[n]) if parts.transforms[n] == "log" else 1.0
            for n in parts.problem.grid_names}


def _plug_in(parts, priors, fb: "InstantPosterior", choice: str, refs: dict[str, float]) -> PlugIn:
    """The plug-in values: the joint maximum of the hyperparameters' posterior density or marginal
    likelihood (:func:`~hiermod.hyper_density.hyper_log_density`; for one hyperparameter, tau, its
    marginal posterior mode or marginal-likelihood maximum); a log-scale value below
    BOUNDARY_SHARE r is at the boundary 0."""
    from .instant.engine import to_natural

    _check_choice(choice)
    u = _maximise(parts, priors, choice, refs, fb.grid.points)
    values, used, boundary = {}, {}, {}
    for i, name in enumerate(parts.problem.grid_names):
        value = float(to_natural(parts.transforms[name], u[i]))
        boundary[name] = parts.transforms[name] == "log" and value < BOUNDARY_SHARE * refs[name] * (1 + 1e-6)
        values[name] = 0.0 if boundary[name] else value
        used[name] = BOUNDARY_VALUE * refs[name] if boundary[name] else value
    return PlugIn(values, used, boundary, choice)


def plug_in(data: "GroupedData", spec: "ModelSpec", choice: str = "posterior_mode") -> PlugIn:
    """The EB plug-in values of every free hyperparameter (module docstring)."""
    data, priors, parts = engine_parts(data, spec)
    return _plug_in(parts, priors, integrate(parts), choice, _references(data, spec, parts))


@dataclass(frozen=True)
class EBComparison:
    """EB and FB side by side. ``table``: one row per group: group, fb_mean, fb_lower, fb_upper,
    eb_mean, eb_lower, eb_upper, width_ratio (EB width / FB width). ``hyper``: [parameter, fb_mean,
    fb_lower, fb_upper, eb_value]. ``plug``: the :class:`PlugIn`; ``quantity``: the per-group
    quantity (theta, or p / rate for a Beta/Gamma population)."""

    table: pd.DataFrame
    hyper: pd.DataFrame
    plug: PlugIn
    quantity: str
    prob: float

    @property
    def mean_ratio(self) -> float:
        return float(self.table["width_ratio"].mean())

    def summary(self) -> str:
        r = self.table["width_ratio"]
        return (f"With {self.plug.describe()}, the empirical Bayes {self.prob:.0%} intervals are on average "
                f"{r.mean():.0%} as wide as the full-Bayes ones (from {r.min():.0%} to {r.max():.0%} "
                "across groups). Plugging in one value of the hyperparameters ignores how uncertain they "
                "are; that matters most when there are few groups.")


def _group_moments(post, quantity: str, values: np.ndarray) -> np.ndarray:
    return np.asarray(post.mean(quantity), float) if quantity in post.names else values.mean(0)


def compare(data: "GroupedData", spec: "ModelSpec", choice: str = "posterior_mode", draws: int = DRAWS,
            seed: int = 0, prob: float = INTERVAL) -> EBComparison:
    """EB (plug-in ``choice``) against FB for every group: means, ``prob`` intervals (quantiles of
    ``draws`` independent draws, the same random numbers for both) and the width ratio."""
    data, priors, parts = engine_parts(data, spec)
    fb = integrate(parts)
    plug = _plug_in(parts, priors, fb, choice, _references(data, spec, parts))
    eb = integrate(parts, plug.used)
    quantity = group_quantity(spec)
    fd, ed = fb.draws(draws, np.random.default_rng(seed)), eb.draws(draws, np.random.default_rng(seed))
    fv, ev = np.asarray(fd[quantity], float), np.asarray(ed[quantity], float)
    (flo, fhi), (elo, ehi) = group_intervals(fv, prob), group_intervals(ev, prob)
    table = pd.DataFrame({"group": list(data.labels), "fb_mean": _group_moments(fb, quantity, fv),
                          "fb_lower": flo, "fb_upper": fhi, "eb_mean": _group_moments(eb, quantity, ev),
                          "eb_lower": elo, "eb_upper": ehi, "width_ratio": (ehi - elo) / (fhi - flo)})
    hyper = []
    for name in plug.values:
        lo, hi = np.quantile(fd[name], [(1 - prob) / 2, (1 + prob) / 2])
        hyper.append({"parameter": name, "fb_mean": float(fb.mean(name)), "fb_lower": float(lo),
                      "fb_upper": float(hi), "eb_value": plug.values[name]})
    return EBComparison(table, pd.DataFrame(hyper), plug, quantity, prob)


@dataclass(frozen=True)
class CoverageResult:
    """A coverage study. ``table``: one row per method (full Bayes, empirical Bayes): coverage, mc_se,
    mean_width, nominal. ``covered``: {method: (R, J) bool}; ``boundary_share``: the share of
    replicates whose EB plug-in was at the boundary h = 0 (complete pooling)."""

    table: pd.DataFrame
    covered: dict[str, np.ndarray]
    boundary_share: float
    replicates: int
    choice: str
    prob: float

    def summary(self) -> str:
        fb, eb = (self.table.set_index("method").loc[m] for m in ("full Bayes", "empirical Bayes"))
        return (f"Over {self.replicates} data sets simulated from the prior with your data's design, the "
                f"full-Bayes {self.prob:.0%} intervals held the true group value {fb['coverage']:.1%} of the "
                f"time (± {fb['mc_se']:.1%} Monte Carlo error), the empirical-Bayes ones "
                f"{eb['coverage']:.1%} (± {eb['mc_se']:.1%}); EB's plug-in was at tau = 0 (complete "
                f"pooling) in {self.boundary_share:.0%} of the data sets.")


def coverage_study(data: "GroupedData", spec: "ModelSpec", replicates: int = 200,
                   choice: str = "posterior_mode", seed: int = 0, draws: int = 2000,
                   prob: float = INTERVAL, progress=None) -> CoverageResult:
    """Coverage of the FB and EB ``prob`` intervals of every group over ``replicates`` data sets
    simulated from the spec's priors with ``data``'s design (module docstring). ``progress(done,
    total)`` is called after each replicate."""
    from .predictive import prior_draws

    if not 1 <= int(replicates) <= 10_000:
        raise SpecError(f"The coverage study needs between 1 and 10,000 replicates, got {replicates}.")
    data, priors, parts = engine_parts(data, spec)  # a clear error before simulating if it cannot serve
    refs = _references(data, spec, parts)
    spec = dataclasses.replace(spec, priors=priors)  # the data-scaled defaults of ``data``, not of each replica
    rng = np.random.default_rng(seed)
    sim = prior_draws(data, spec, priors, int(replicates), rng)
    quantity = group_quantity(spec)
    truth = np.asarray(sim[quantity], float)
    ys = np.asarray(sim["y"], float)
    R = min(int(replicates), ys.shape[0])
    covered = {"full Bayes": np.zeros((R, data.n_groups), bool), "empirical Bayes": np.zeros((R, data.n_groups), bool)}
    widths = {m: np.zeros((R, data.n_groups)) for m in covered}
    boundary = 0
    for r in range(R):
        replica = dataclasses.replace(data, y=ys[r])
        _, _, parts = engine_parts(replica, spec)
        fb = integrate(parts)
        plug = _plug_in(parts, priors, fb, choice, refs)
        boundary += plug.boundary
        eb = integrate(parts, plug.used)
        for method, post in (("full Bayes", fb), ("empirical Bayes", eb)):
            values = np.asarray(post.draws(draws, np.random.default_rng([seed, r]))[quantity], float)
            lo, hi = group_intervals(values, prob)
            covered[method][r] = (lo <= truth[r]) & (truth[r] <= hi)
            widths[method][r] = hi - lo
        if progress is not None:
            progress(r + 1, R)
    rows = []
    for method, hits in covered.items():
        per_rep = hits.mean(1)
        rows.append({"method": method, "coverage": float(hits.mean()),
                     "mc_se": float(per_rep.std(ddof=1) / np.sqrt(R)) if R > 1 else float("nan"),
                     "mean_width": float(widths[method].mean()), "nominal": prob})
    return CoverageResult(pd.DataFrame(rows), covered, boundary / R, R, choice, prob)
