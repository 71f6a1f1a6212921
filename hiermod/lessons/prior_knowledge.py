"""Lesson 8: priors as knowledge. The first J of the eight schools (sparse for small J) under three
priors, each posterior the instant one (``known_se`` engine; a bounded prior on mu is integrated by
quadrature):

    weakly informative   mu ~ Normal(0, 30),        tau ~ HalfNormal(15)   (plausible SAT effects)
    skeptical            mu ~ Normal(0, 5),         tau ~ HalfNormal(2)    (coaching barely works, schools alike)
    bounded              mu ~ Normal(0, 30) T(0, 30), tau ~ HalfNormal(15)  (coaching cannot hurt, nor add > 30)

Reported per prior: mu's and each school's posterior mean and 90% interval, tau's posterior mean and
density, and P(mu < 0 | y) (exactly 0 under the bounded prior), from posterior draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from .common import INTERVAL, SEED

__all__ = ["PRIORS", "DRAWS", "subset", "PriorKnowledge", "prior_knowledge"]

DRAWS = 1000
"""Draws per prior for the intervals and P(mu < 0) (Monte Carlo error of a probability <= 1.6%):
fewer than the other lessons' because drawing mu under a bounded prior goes through quadrature
(about 0.2 ms a draw)."""

PRIORS: dict[str, dict[str, str]] = {
    "weakly informative": {"mu": "Normal(0, 30)", "tau": "HalfNormal(15)"},
    "skeptical": {"mu": "Normal(0, 5)", "tau": "HalfNormal(2)"},
    "bounded": {"mu": "Normal(0, 30) T(0, 30)", "tau": "HalfNormal(15)"},
}


def subset(schools: int):
    """The first ``schools`` of the eight schools (2 to 8)."""
    from ..live_data import group_table
    from ..data import ColumnMap, DataKind, load_data
    from .schools import schools as eight

    if not 2 <= int(schools) <= 8:
        raise DataError(f"Choose 2 to 8 schools; got {schools!r}.")
    table = group_table(eight()).iloc[: int(schools)]
    return load_data(table.rename(columns={"group": "school", "y": "effect"}),
                     ColumnMap(group="school", y="effect", kind=DataKind.SUMMARY, se="se"))


@dataclass(frozen=True)
class PriorKnowledge:
    """``forest``: model (prior), group ("mu" then the schools), mean, low, high; ``density``: prior,
    tau, density; ``summary``: prior, text, mu_mean, p_mu_negative, tau_mean."""

    forest: pd.DataFrame
    density: pd.DataFrame
    summary: pd.DataFrame
    schools: int

    def sentences(self) -> list[str]:
        s = self.summary.set_index("prior")
        out = [f"With {self.schools} schools, mu's posterior mean is "
               + ", ".join(f"{s.loc[p, 'mu_mean']:.1f} ({p})" for p in s.index) + "."]
        out.append("P(coaching hurts on average, mu < 0): "
                   + ", ".join(f"{s.loc[p, 'p_mu_negative']:.0%} ({p})" for p in s.index)
                   + ". The bounded prior rules it out: "
                     "knowledge, not data.")
        out.append("tau's posterior mean: " + ", ".join(f"{s.loc[p, 'tau_mean']:.1f} ({p})" for p in s.index)
                   + ". The skeptical prior holds the schools together whatever the data say; with few "
                     "schools the prior decides much of tau.")
        return out


def prior_knowledge(schools: int) -> PriorKnowledge:
    """Lesson 8: the first ``schools`` schools under each of :data:`PRIORS`."""
    from ..instant import instant_posterior
    from ..spec import ModelSpec

    data = subset(schools)
    forest, density, summary = [], [], []
    for label, priors in PRIORS.items():
        post = instant_posterior(data, ModelSpec("normal_known_se", priors=priors))
        d = post.draws(DRAWS, np.random.default_rng(SEED))
        values = np.column_stack([d["mu"], d["theta"]])
        lo, hi = np.quantile(values, [(1 - INTERVAL) / 2, (1 + INTERVAL) / 2], axis=0)
        means = np.concatenate([[float(post.mean("mu"))], np.asarray(post.mean("theta"), float)])
        forest.append(pd.DataFrame({"model": label, "group": ["mu", *data.labels], "mean": means, "low": lo, "high": hi}))
        dens = post.hyper_density("tau", points=200)
        density.append(dens.assign(prior=label))
        summary.append({"prior": label, "text": ", ".join(f"{k} ~ {v}" for k, v in priors.items()),
                        "mu_mean": means[0], "p_mu_negative": float(np.mean(d["mu"] < 0)),
                        "tau_mean": float(post.mean("tau"))})
    forest = pd.concat(forest, ignore_index=True)
    forest.attrs["hdi_prob"] = INTERVAL
    return PriorKnowledge(forest, pd.concat(density, ignore_index=True), pd.DataFrame(summary), int(schools))
