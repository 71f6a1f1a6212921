"""Lesson 5: where does the variation come from? Within- against between-school variance.

The law of total variance, on the sample (equal group sizes, variances with divisor n):

    Var(y) = E_j[Var(y | j)] + Var_j(E[y | j])     (within + between the school means),

exactly. The school means' spread, though, includes the students' noise: Var(ybar_j) = tau² + sigma²/n,
so the model separates the two: y_ij ~ Normal(theta_j, sigma), theta_j ~ Normal(mu, tau), fitted by
the instant method (``latent`` engine, exact up to grid error). The intraclass correlation
ICC = tau² / (tau² + sigma²) (:mod:`hiermod.variance`, the same definition) has posterior mean
E[ICC | y] = sum_k w_k tau_k² / (tau_k² + sigma_k²) over the grid's nodes, and a 90% interval from
posterior draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .common import DRAWS, INTERVAL, SEED
from .simulate import scales, students

__all__ = ["VarianceShare", "variance_share", "icc_posterior", "sample_split"]


def sample_split(data) -> dict:
    """The law of total variance on the sample: total, within (mean of the groups' variances) and
    between (variance of the group means), divisor n; total = within + between for equal groups."""
    y, g = np.asarray(data.y, float), np.asarray(data.group_idx)
    n = np.bincount(g)
    means = np.bincount(g, weights=y) / n
    within = float(np.mean(np.bincount(g, weights=(y - means[g]) ** 2) / n))
    return {"total": float(np.var(y)), "within": within, "between": float(np.var(means))}


def icc_posterior(post) -> tuple[float, float, float]:
    """(posterior mean, 90% interval low, high) of ICC = tau² / (tau² + sigma²) (module docstring)."""
    nodes, w = post.hyper_nodes()
    t2, s2 = np.asarray(nodes["tau"], float) ** 2, np.asarray(nodes["sigma"], float) ** 2
    mean = float(w @ (t2 / (t2 + s2)))
    d = post.draws(DRAWS, np.random.default_rng(SEED))
    icc = d["tau"] ** 2 / (d["tau"] ** 2 + d["sigma"] ** 2)
    lo, hi = np.quantile(icc, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2])
    return mean, float(lo), float(hi)


@dataclass(frozen=True)
class VarianceShare:
    """One simulated data set and its fit. ``scores``: school, score, school_mean (the data);
    ``shares``: source (truth, sample means, model), between, within (shares of the total);
    ``icc`` / ``icc_low`` / ``icc_high``: the model's posterior; ``split``: :func:`sample_split`."""

    icc_true: float
    scores: pd.DataFrame
    shares: pd.DataFrame
    icc: float
    icc_low: float
    icc_high: float
    tau: float
    sigma: float
    split: dict
    per_school: int

    def sentences(self) -> list[str]:
        s = self.split
        return [
            f"Law of total variance on these {len(self.scores)} scores: total {s['total']:.1f} = within schools "
            f"{s['within']:.1f} + between school means {s['between']:.1f}.",
            f"The school means' spread also holds the students' noise (sigma² / n = "
            f"{self.sigma ** 2 / self.per_school:.1f}), so the model estimates tau = {self.tau:.2f} and "
            f"sigma = {self.sigma:.2f} (posterior means).",
            f"Between-school share (ICC): true {self.icc_true:.2f}, estimated {self.icc:.2f} (90% interval "
            f"{self.icc_low:.2f} to {self.icc_high:.2f}).",
        ]


def variance_share(icc: float, schools: int = 30, per_school: int = 20, seed: int = 0) -> VarianceShare:
    """Lesson 5: simulate students in schools with between-school share ``icc`` and fit it instantly."""
    from ..instant import instant_posterior
    from ..spec import ModelSpec

    data = students(icc, schools, per_school, seed=seed)
    post = instant_posterior(data, ModelSpec("normal"))
    mean, lo, hi = icc_posterior(post)
    g = np.asarray(data.group_idx)
    means = np.bincount(g, weights=np.asarray(data.y, float)) / np.bincount(g)
    scores = pd.DataFrame({"school": np.asarray(data.labels, object)[g], "score": np.asarray(data.y, float),
                           "school_mean": means[g]})
    split = sample_split(data)
    tau_true, sigma_true = scales(icc)
    shares = pd.DataFrame({"source": ["truth", "sample (means' spread)", "model (posterior mean)"],
                           "between": [icc, split["between"] / split["total"], mean]})
    shares["within"] = 1 - shares["between"]
    return VarianceShare(float(icc), scores, shares, mean, lo, hi, float(post.mean("tau")), float(post.mean("sigma")),
                         split, int(per_school))
