"""Lesson 6: pseudoreplication. A school-level treatment (every other school treated), students in
schools (:mod:`hiermod.lessons.simulate`), the treatment effect estimated two ways:

naive         every student an independent observation: y_i = a + b x_i + e_i by least squares,
              b^ = ybar_treated - ybar_control, se = s sqrt(1/N_1 + 1/N_0) with s the residual sd
              (divisor N - 2), interval b^ ± z se. Students of one school share u_j, so the N
              students carry the information of far fewer: the design effect 1 + (n - 1) ICC
              (Kish) is the factor by which the variance of b^ exceeds the naive one, and the
              naive interval is too narrow by about sqrt(1 + (n - 1) ICC).
hierarchical  y_ij ~ Normal(theta_j + b x_j, sigma), theta_j ~ Normal(mu, tau): the instant posterior
              (``latent`` engine, exact up to grid error), interval the central 90% of posterior draws
              of b (beta[treated]).

Coverage: R data sets from the same design and truth; the share whose 90% interval holds the true
effect, with the binomial Monte Carlo standard error sqrt(c (1 - c) / R).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from .common import INTERVAL, SEED
from .simulate import resimulate, students

__all__ = ["EFFECT", "COEF", "METHODS", "naive_interval", "hierarchical_interval", "Analysis", "analyse",
           "Coverage", "coverage", "design_effect", "COVERAGE_DRAWS"]

EFFECT = 3.0
"""The true treatment effect (points), the same in every simulation."""
COEF = "beta"
METHODS = ("naive (students independent)", "hierarchical (students in schools)")
COVERAGE_DRAWS = 1000
"""Posterior draws per replication in the coverage study (the 5% and 95% quantiles)."""


def design_effect(icc: float, per_school: int) -> float:
    """Kish's design effect 1 + (n - 1) ICC: Var(b^) over the naive variance."""
    return 1.0 + (int(per_school) - 1) * float(icc)


def naive_interval(data, prob: float = INTERVAL) -> tuple[float, float, float]:
    """(estimate, low, high) of the treated-control difference with every row independent (module docstring)."""
    from scipy.stats import norm

    y, x = np.asarray(data.y, float), np.asarray(data.X, float)[:, 0]
    y1, y0 = y[x == 1], y[x == 0]
    b = float(y1.mean() - y0.mean())
    resid = np.concatenate([y1 - y1.mean(), y0 - y0.mean()])
    s = float(np.sqrt(resid @ resid / (y.size - 2)))
    se = s * np.sqrt(1 / y1.size + 1 / y0.size)
    z = float(norm.ppf((1 + prob) / 2))
    return b, b - z * se, b + z * se


def _spec():
    from ..spec import ModelSpec

    return ModelSpec("normal", covariates=("treated",))


def hierarchical_interval(data, prob: float = INTERVAL, draws: int = COVERAGE_DRAWS,
                          seed: int = SEED) -> tuple[float, float, float]:
    """(posterior mean, low, high) of the treatment effect under the hierarchical model."""
    from ..instant import instant_posterior

    post = instant_posterior(data, _spec())
    b = np.asarray(post.draws(draws, np.random.default_rng(seed))[COEF], float)[:, 0]
    lo, hi = np.quantile(b, [(1 - prob) / 2, (1 + prob) / 2])
    return float(np.asarray(post.mean(COEF), float).ravel()[0]), float(lo), float(hi)


@dataclass(frozen=True)
class Analysis:
    """One data set. ``scores``: school, treated, score; ``intervals``: method, estimate, low, high, width."""

    scores: pd.DataFrame
    intervals: pd.DataFrame
    icc: float
    schools: int
    per_school: int

    def sentences(self) -> list[str]:
        t = self.intervals.set_index("method")
        naive, hier = t.loc[METHODS[0]], t.loc[METHODS[1]]
        return [
            f"{self.schools * self.per_school} students, but only {self.schools} schools received the treatment "
            f"or not: the treatment varies between schools, not between students.",
            f"Naive 90% interval: {naive['low']:.1f} to {naive['high']:.1f} (width {naive['width']:.1f}); "
            f"hierarchical: {hier['low']:.1f} to {hier['high']:.1f} (width {hier['width']:.1f}). The true "
            f"effect is {EFFECT:.1f}.",
            f"With ICC {self.icc:.2f} and {self.per_school} students per school the design effect is "
            f"1 + (n - 1) ICC = {design_effect(self.icc, self.per_school):.1f}: the naive variance is that many "
            f"times too small, its interval about {np.sqrt(design_effect(self.icc, self.per_school)):.1f} "
            "times too narrow.",
        ]


def _check(schools: int) -> None:
    if int(schools) % 2:
        raise DataError(f"The number of schools must be even (half treated); got {schools!r}.")


def analyse(icc: float, schools: int = 10, per_school: int = 20, seed: int = 0) -> Analysis:
    """Lesson 6, one data set: both intervals for the school-level treatment effect."""
    _check(schools)
    data = students(icc, schools, per_school, EFFECT, seed, treatment=True)
    rows = []
    for method, (b, lo, hi) in zip(METHODS, (naive_interval(data), hierarchical_interval(data))):
        rows.append({"method": method, "estimate": b, "low": lo, "high": hi, "width": hi - lo})
    g = np.asarray(data.group_idx)
    scores = pd.DataFrame({"school": np.asarray(data.labels, object)[g], "treated": np.asarray(data.X, float)[:, 0],
                           "score": np.asarray(data.y, float)})
    return Analysis(scores, pd.DataFrame(rows), float(icc), int(schools), int(per_school))


@dataclass(frozen=True)
class Coverage:
    """The coverage study. ``table``: method, coverage, mc_se, mean_width, nominal; ``intervals``:
    replicate, method, low, high, covered (every replication)."""

    table: pd.DataFrame
    intervals: pd.DataFrame
    replicates: int
    icc: float
    per_school: int
    seconds: float

    def sentences(self) -> list[str]:
        t = self.table.set_index("method")
        naive, hier = t.loc[METHODS[0]], t.loc[METHODS[1]]
        return [
            f"Over {self.replicates} simulated studies ({self.seconds:.1f} s), the naive 90% intervals held the "
            f"true effect {naive['coverage']:.0%} of the time (± {naive['mc_se']:.1%} Monte Carlo error); the "
            f"hierarchical ones {hier['coverage']:.0%} (± {hier['mc_se']:.1%}).",
            f"The naive intervals are on average {naive['mean_width']:.1f} points wide, the hierarchical "
            f"{hier['mean_width']:.1f}: honest about how few schools there are.",
        ]


def coverage(icc: float, schools: int = 10, per_school: int = 20, replicates: int = 200, seed: int = 1,
             progress=None) -> Coverage:
    """Lesson 6: both intervals over ``replicates`` simulated data sets (module docstring); ``progress(done,
    total)`` after each."""
    import time

    _check(schools)
    if not 10 <= int(replicates) <= 5000:
        raise DataError(f"The coverage study needs 10 to 5,000 replicates; got {replicates!r}.")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    base = students(icc, schools, per_school, EFFECT, seed, treatment=True)
    rows = []
    for r in range(int(replicates)):
        data = resimulate(base, icc, EFFECT, rng)
        for method, (_, lo, hi) in zip(METHODS, (naive_interval(data), hierarchical_interval(data, seed=r))):
            rows.append({"replicate": r, "method": method, "low": lo, "high": hi, "covered": lo <= EFFECT <= hi})
        if progress is not None:
            progress(r + 1, int(replicates))
    intervals = pd.DataFrame(rows)
    g = intervals.groupby("method", sort=False)
    cov = g["covered"].mean()
    table = pd.DataFrame({"method": list(cov.index), "coverage": cov.to_numpy(),
                          "mc_se": np.sqrt(cov.to_numpy() * (1 - cov.to_numpy()) / int(replicates)),
                          "mean_width": (g["high"].mean() - g["low"].mean()).to_numpy(), "nominal": INTERVAL})
    return Coverage(table, intervals, int(replicates), float(icc), int(per_school), time.perf_counter() - t0)
