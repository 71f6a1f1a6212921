"""Eight schools, live: three poolings side by side (lesson 1), borrowing strength both ways (3),
shrinkage against precision (4). Every posterior is the instant one (``known_se`` engine: exact).

Model (normal, known se): y_j ~ Normal(theta_j, se_j) with

    no pooling        theta_j ~ Normal(0, 1000) each (flat: the posterior is Normal(y_j, se_j))
    complete pooling  theta_j = mu,  mu ~ Normal(0, 1000)
    partial pooling   theta_j ~ Normal(mu, tau), mu ~ Normal(0, 1000), tau ~ the data-scaled default
                      of the eight schools as loaded (HalfNormal(11)), kept when a lesson edits the data

Given tau, E[theta_j | tau, y] = (1 - B_j) y_j + B_j E[mu | tau, y] with the shrinkage factor
B_j(tau) = se_j² / (se_j² + tau²) (BDA3 5.4); the posterior shrinkage factor is its average over
tau's posterior, B_j = E[se_j² / (se_j² + tau²) | y] (the grid's nodes and weights, exact up to grid
error), and the weight on the group's own data is w_j = 1 - B_j.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .common import INTERVAL, group_values, interval, with_group

if TYPE_CHECKING:  # pragma: no cover
    from ..data import GroupedData
    from ..instant import InstantPosterior
    from ..spec import ModelSpec

__all__ = ["FLAT", "MODES", "schools", "spec_for", "tau_prior", "scaled", "posterior", "PoolingSides", "pooling_sides", "Borrowing",
           "borrowing", "Precision", "shrinkage_factor", "shrinkage_precision"]

FLAT = "Normal(0, 1000)"
"""The location prior of every lesson model: flat over any plausible effect, so no pooling is each
school's own number and complete pooling the precision-weighted mean."""
MODES = ("none", "complete", "partial")


@lru_cache(maxsize=1)
def schools() -> "GroupedData":
    """The eight schools data (Rubin 1981), loaded once."""
    from ..datasets import load_dataset

    return load_dataset("eight_schools")


def spec_for(pooling: str) -> "ModelSpec":
    """The lesson's model for one pooling mode (module docstring)."""
    from ..spec import ModelSpec

    location = "theta" if pooling == "none" else "mu"
    priors = {location: FLAT}
    if pooling == "partial":
        priors["tau"] = tau_prior()
    return ModelSpec("normal_known_se", pooling=pooling, priors=priors)


@lru_cache(maxsize=1)
def tau_prior():
    """tau's data-scaled default prior on the eight schools as loaded (the same after any edit)."""
    from ..priors import default_priors
    from ..spec import ModelSpec

    return default_priors(schools(), ModelSpec("normal_known_se"))["tau"]


def posterior(data: "GroupedData", pooling: str = "partial") -> "InstantPosterior":
    """The instant posterior of ``data`` under the lesson's model with ``pooling``."""
    from ..instant import instant_posterior

    return instant_posterior(data, spec_for(pooling))


def scaled(data: "GroupedData", se_scale: float) -> "GroupedData":
    """``data`` with every standard error multiplied by ``se_scale`` (> 0)."""
    from ..errors import DataError
    from ..live_data import group_table, rebuild

    if not float(se_scale) > 0:
        raise DataError(f"The standard errors' factor must be positive; got {se_scale!r}.")
    table = group_table(data)
    table["se"] = table["se"] * float(se_scale)
    return rebuild(data, table)


# ------------------------------------------------------------------ lesson 1: three poolings


@dataclass(frozen=True)
class PoolingSides:
    """The three models on one data set. ``forest``: model, group, mean, low, high (90%); ``tau``:
    partial pooling's posterior mean of tau; ``mu``: complete pooling's mean; ``focus``: the group with
    the largest own estimate, ``own`` / ``partial`` its no- and partial-pooling means, ``moved`` the
    share of the way from own to complete pooling the partial estimate went; ``se_low`` / ``se_high``:
    the smallest and largest standard error."""

    forest: pd.DataFrame
    tau: float
    mu: float
    focus: str
    own: float
    partial: float
    moved: float
    se_scale: float
    se_low: float
    se_high: float

    def sentences(self) -> list[str]:
        return [
            f"Complete pooling gives every school the same effect, {self.mu:.1f} points: the tyranny of "
            "the average.",
            f"No pooling believes each school alone: school {self.focus} keeps its own {self.own:.1f} "
            "points, with an interval as wide as its noise: the idiosyncrasy of the individual.",
            f"Partial pooling puts school {self.focus} at {self.partial:.1f}: {self.moved:.0%} of the way "
            f"from its own number to the common one, because the schools seem to differ by only about "
            f"tau = {self.tau:.1f} points (posterior mean) next to standard errors of "
            f"{self.se_low:.0f} to {self.se_high:.0f}.",
        ]


def pooling_sides(se_scale: float = 1.0, data: "GroupedData | None" = None) -> PoolingSides:
    """Lesson 1: no, complete and partial pooling of ``data`` (eight schools) with its standard errors
    multiplied by ``se_scale``: each group's posterior mean and 90% interval under each model."""
    data = scaled(data or schools(), se_scale)
    labels = list(data.labels)
    rows, means = [], {}
    for mode in MODES:
        post = posterior(data, mode)
        mean = np.broadcast_to(np.asarray(post.mean("theta"), float), (len(labels),))
        lo, hi = interval(post, "theta")
        lo, hi = np.broadcast_to(lo, mean.shape), np.broadcast_to(hi, mean.shape)
        rows.append(pd.DataFrame({"model": mode, "group": labels, "mean": mean, "low": lo, "high": hi}))
        means[mode] = (mean, post)
    forest = pd.concat(rows, ignore_index=True)
    forest.attrs["hdi_prob"] = INTERVAL
    own, partial = means["none"][0], means["partial"][0]
    mu = float(means["complete"][0][0])
    j = int(np.argmax(own))
    se = group_values(data, "se")
    return PoolingSides(forest, float(means["partial"][1].mean("tau")), mu, labels[j], float(own[j]),
                        float(partial[j]), float((own[j] - partial[j]) / (own[j] - mu)), float(se_scale),
                        float(se.min()), float(se.max()))


# ------------------------------------------------------------ lesson 3: borrowing both ways


@dataclass(frozen=True)
class Borrowing:
    """Before and after editing one group. ``table``: group, own_before, own_after, before, after
    (partial-pooling posterior means), moved (after - before); ``mu_before`` / ``mu_after`` and
    ``tau_before`` / ``tau_after``: the population's posterior means; ``group``: the edited group."""

    table: pd.DataFrame
    group: str
    mu_before: float
    mu_after: float
    tau_before: float
    tau_after: float

    def others(self) -> pd.DataFrame:
        return self.table[self.table["group"] != self.group]

    def sentences(self) -> list[str]:
        t = self.table.set_index("group")
        others = self.others()
        far = others.iloc[int(np.argmax(np.abs(others["moved"].to_numpy())))]
        return [
            f"School {self.group}'s own estimate went from {t.loc[self.group, 'own_before']:.1f} to "
            f"{t.loc[self.group, 'own_after']:.1f}; its partial-pooling estimate from "
            f"{t.loc[self.group, 'before']:.1f} to {t.loc[self.group, 'after']:.1f}.",
            f"No other school's data changed, yet the population mean mu moved from {self.mu_before:.2f} "
            f"to {self.mu_after:.2f} and tau from {self.tau_before:.2f} to {self.tau_after:.2f}.",
            f"So every other school moved too: school {far['group']} the most, by {far['moved']:+.2f} "
            f"points (the others by {others['moved'].abs().min():.2f} to {others['moved'].abs().max():.2f}).",
        ]


def borrowing(group: str, y: float, data: "GroupedData | None" = None) -> Borrowing:
    """Lesson 3: the partial-pooling posterior before and after group ``group``'s estimate is set to ``y``."""
    data = data or schools()
    edited = with_group(data, group, y=y)
    before, after = posterior(data), posterior(edited)
    table = pd.DataFrame({"group": list(data.labels), "own_before": group_values(data, "y"),
                          "own_after": group_values(edited, "y"),
                          "before": np.asarray(before.mean("theta"), float),
                          "after": np.asarray(after.mean("theta"), float)})
    table["moved"] = table["after"] - table["before"]
    return Borrowing(table, group, float(before.mean("mu")), float(after.mean("mu")),
                     float(before.mean("tau")), float(after.mean("tau")))


# -------------------------------------------------------- lesson 4: shrinkage against precision


def shrinkage_factor(post: "InstantPosterior", se) -> np.ndarray:
    """B(se) = E[se² / (se² + tau²) | y] over tau's posterior grid (module docstring), per se."""
    nodes, weights = post.hyper_nodes()
    tau2 = np.asarray(nodes["tau"], float) ** 2
    s2 = np.atleast_1d(np.asarray(se, float))[:, None] ** 2
    return (s2 / (s2 + tau2[None, :])) @ np.asarray(weights, float)


@dataclass(frozen=True)
class Precision:
    """Shrinkage against precision. ``table``: group, se, precision (1/se²), shrinkage (B_j), weight
    (1 - B_j), own, partial; ``curve``: se, precision, shrinkage over a range of se (any group with
    that se); ``group``: the edited group and ``se`` its standard error."""

    table: pd.DataFrame
    curve: pd.DataFrame
    group: str
    se: float
    tau: float

    def sentences(self) -> list[str]:
        row = self.table.set_index("group").loc[self.group]
        t = self.table.sort_values("shrinkage")
        return [
            f"With se = {row['se']:.1f}, school {self.group} is shrunk by B = {row['shrinkage']:.2f}: it keeps "
            f"w = {row['weight']:.2f} of its own estimate ({row['own']:.1f} becomes {row['partial']:.1f}).",
            f"The most precise school ({t.iloc[0]['group']}, se {t.iloc[0]['se']:.1f}) is shrunk least "
            f"(B = {t.iloc[0]['shrinkage']:.2f}); the least precise ({t.iloc[-1]['group']}, se "
            f"{t.iloc[-1]['se']:.1f}) most (B = {t.iloc[-1]['shrinkage']:.2f}).",
            f"B = E[se² / (se² + tau²)]: it compares each school's noise with the spread between schools "
            f"(tau, posterior mean {self.tau:.1f}).",
        ]


def shrinkage_precision(group: str, se: float, data: "GroupedData | None" = None,
                        curve_points: int = 60) -> Precision:
    """Lesson 4: every group's shrinkage factor after group ``group``'s standard error is set to ``se``."""
    data = with_group(data or schools(), group, se=se)
    post = posterior(data)
    ses = group_values(data, "se")
    B = shrinkage_factor(post, ses)
    table = pd.DataFrame({"group": list(data.labels), "se": ses, "precision": 1 / ses**2, "shrinkage": B,
                          "weight": 1 - B, "own": group_values(data, "y"),
                          "partial": np.asarray(post.mean("theta"), float)})
    grid = np.geomspace(0.5, 60.0, curve_points)
    curve = pd.DataFrame({"se": grid, "precision": 1 / grid**2, "shrinkage": shrinkage_factor(post, grid)})
    return Precision(table, curve, group, float(se), float(post.mean("tau")))
