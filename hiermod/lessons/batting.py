"""Batting averages: the league's Beta population fitted from Efron & Morris (1975) by the instant
method, the rookie and the veteran (lesson 2), and shrinkage predicting the rest of the season (12).

League. The 18 players' first 45 at-bats, y_j hits of n_j = 45, with p_j ~ Beta(alpha, beta) and the
data-scaled default priors on alpha and beta (``conjugate`` engine: exact up to grid error). The lesson
plugs in the posterior means a = E[alpha | y], b = E[beta | y]: the league's mean m = a / (a + b) and
its concentration k = a + b ("how many at-bats the league's opinion is worth").

A player with y hits in n at-bats then has p | y ~ Beta(a + y, b + n - y), whose mean is

    E[p | y] = (a + y) / (a + b + n) = w (y / n) + (1 - w) m,   w = n / (n + k),

the weight w on his own average growing from 0 (no at-bats) to 1 (many). On the logit scale with a
normal population the same weight is w = n I / (n I + 1/tau²) (I the information per at-bat): the
normal approximation; the Beta form is exact here.

Rest of the season (lesson 12). With concentration k held at any value, each player's estimate is
(y_j + k m0) / (n_j + k), m0 the pooled average of all players (k = 0: his own average, no pooling;
k -> infinity: m0, complete pooling). The total squared error against the rest-of-season averages is
traced over k; the full-Bayes estimate E[p_j | y] of the instant posterior (k integrated over) is
marked beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..errors import DataError
from .common import INTERVAL

if TYPE_CHECKING:  # pragma: no cover
    from ..data import GroupedData
    from ..instant import InstantPosterior

__all__ = ["DATASET", "League", "league", "Rookie", "rookie", "VETERAN_AT_BATS", "AVERAGE", "Season",
           "season", "holdout_averages"]

DATASET = "efron_morris"
AVERAGE = 1 / 3
"""Both players bat .333."""
VETERAN_AT_BATS = 3000


@dataclass(frozen=True)
class League:
    """The league's Beta population: ``a``, ``b`` (posterior means of alpha, beta), ``m`` = a/(a+b),
    ``k`` = a + b, and the instant posterior ``post`` it came from (``data``: the 18 players)."""

    a: float
    b: float
    post: "InstantPosterior"
    data: "GroupedData"

    @property
    def m(self) -> float:
        return self.a / (self.a + self.b)

    @property
    def k(self) -> float:
        return self.a + self.b

    def weight(self, n) -> np.ndarray:
        """w = n / (n + k)."""
        n = np.asarray(n, float)
        return n / (n + self.k)

    def estimate(self, hits, n) -> np.ndarray:
        """E[p | hits in n at-bats] = (a + hits) / (a + b + n)."""
        return (self.a + np.asarray(hits, float)) / (self.k + np.asarray(n, float))

    def interval(self, hits, n, prob: float = INTERVAL) -> tuple[np.ndarray, np.ndarray]:
        """Central ``prob`` interval of Beta(a + hits, b + n - hits)."""
        from scipy.stats import beta

        hits, n = np.asarray(hits, float), np.asarray(n, float)
        dist = beta(self.a + hits, self.b + n - hits)
        return dist.ppf((1 - prob) / 2), dist.ppf((1 + prob) / 2)


@lru_cache(maxsize=1)
def league() -> League:
    """The league fitted from the Efron–Morris first 45 at-bats (module docstring)."""
    from ..datasets import load_dataset
    from ..instant import instant_posterior
    from ..spec import ModelSpec

    data = load_dataset(DATASET)
    post = instant_posterior(data, ModelSpec("binomial", population="beta"))
    return League(float(post.mean("alpha")), float(post.mean("beta")), post, data)


@dataclass(frozen=True)
class Rookie:
    """The rookie (``n`` at-bats) and the veteran (``VETERAN_AT_BATS``), both batting ``average``.
    ``players``: player, at_bats, hits, own, weight, estimate, low, high; ``curve``: at_bats, weight,
    estimate, low, high over 1 .. 10,000 at-bats; ``league``: the :class:`League`."""

    players: pd.DataFrame
    curve: pd.DataFrame
    league: League
    average: float

    def sentences(self) -> list[str]:
        lg = self.league
        r, v = (self.players.set_index("player").loc[p] for p in ("rookie", "veteran"))
        return [
            f"The league (Efron–Morris, 18 players) has mean m = {lg.m:.3f} and concentration k = a + b = "
            f"{lg.k:.1f}: its opinion is worth about {lg.k:.0f} at-bats.",
            f"Rookie: {r['hits']:.4g} hits in {r['at_bats']:.0f} at-bats. w = n / (n + k) = {r['at_bats']:.0f} / "
            f"({r['at_bats']:.0f} + {lg.k:.1f}) = {r['weight']:.3f}, so his estimate is {r['weight']:.3f} x "
            f"{self.average:.3f} + {1 - r['weight']:.3f} x {lg.m:.3f} = {r['estimate']:.3f} "
            f"(90% interval {r['low']:.3f} to {r['high']:.3f}).",
            f"Veteran: {v['at_bats']:.0f} at-bats, w = {v['weight']:.3f}: his estimate {v['estimate']:.3f} is "
            f"nearly his own average (90% interval {v['low']:.3f} to {v['high']:.3f}).",
        ]


def rookie(at_bats: float, average: float = AVERAGE, lg: League | None = None) -> Rookie:
    """Lesson 2: the rookie with ``at_bats`` at-bats and the veteran, both batting ``average``."""
    if not float(at_bats) > 0:
        raise DataError(f"The rookie's at-bats must be positive; got {at_bats!r}.")
    if not 0 <= float(average) <= 1:
        raise DataError(f"A batting average lies between 0 and 1; got {average!r}.")
    lg = lg or league()
    n = np.array([float(at_bats), float(VETERAN_AT_BATS)])
    hits = average * n
    lo, hi = lg.interval(hits, n)
    players = pd.DataFrame({"player": ["rookie", "veteran"], "at_bats": n, "hits": hits, "own": average,
                            "weight": lg.weight(n), "estimate": lg.estimate(hits, n), "low": lo, "high": hi})
    grid = np.geomspace(1, 10_000, 120)
    clo, chi = lg.interval(average * grid, grid)
    curve = pd.DataFrame({"at_bats": grid, "weight": lg.weight(grid), "estimate": lg.estimate(average * grid, grid),
                          "low": clo, "high": chi})
    return Rookie(players, curve, lg, float(average))


# ------------------------------------------------------------------------ lesson 12


def holdout_averages(data: "GroupedData") -> tuple[np.ndarray, np.ndarray]:
    """(rest-of-season hits, at-bats) per player of ``data``, read from the sample file's held-out columns."""
    from ..data import read_table
    from ..datasets import dataset_info, dataset_path

    hits_col, trials_col = dataset_info(DATASET).holdout
    frame = read_table(dataset_path(DATASET)).set_index(data.columns.group)
    frame = frame.loc[list(data.labels)]
    return frame[hits_col].astype(float).to_numpy(), frame[trials_col].astype(float).to_numpy()


@dataclass(frozen=True)
class Season:
    """Lesson 12 at one concentration ``k``. ``table``: group, trials, first, estimate (at k), bayes (the
    full-Bayes E[p_j | y]), complete_pooling, holdout, sq_error_* (no_pooling, partial = at k, complete,
    bayes); ``errors``: :func:`hiermod.teaching.holdout_errors` of the table with the estimate at k;
    ``curve``: k, total_squared_error; ``totals``: {method: total squared error}."""

    table: pd.DataFrame
    errors: pd.DataFrame
    curve: pd.DataFrame
    totals: dict
    k: float
    k_bayes: float

    def sentences(self) -> list[str]:
        t, n = self.totals, len(self.table)
        best = self.curve.iloc[int(np.argmin(self.curve["total_squared_error"].to_numpy()))]
        closer = int(np.sum(self.table["sq_error_bayes"] < self.table["sq_error_no_pooling"]))
        return [
            f"Each player's own first-45 average (no pooling) misses the rest of his season by a total "
            f"squared error of {t['no_pooling']:.4f}; everyone's average (complete pooling) by "
            f"{t['complete']:.4f}.",
            f"Shrinking with concentration k = {self.k:.0f}: {t['at_k']:.4f} "
            f"({t['at_k'] / t['no_pooling']:.0%} of no pooling). The best k in hindsight is about "
            f"{best['k']:.0f} ({best['total_squared_error']:.4f}).",
            f"The full-Bayes estimate, which learned k from the first 45 at-bats alone (posterior mean of "
            f"alpha + beta {self.k_bayes:.0f}), scores {t['bayes']:.4f}: "
            f"{t['bayes'] / t['no_pooling']:.0%} of the no-pooling error, closer than the player's own "
            f"average for {closer} of {n} players.",
        ]


def season(k: float, lg: League | None = None) -> Season:
    """Lesson 12: the shrunk estimates at concentration ``k`` against the rest of the season."""
    from ..teaching import holdout_errors

    if not float(k) >= 0:
        raise DataError(f"The concentration k must be 0 or more; got {k!r}.")
    lg = lg or league()
    data = lg.data
    idx = np.asarray(data.group_idx)
    y = np.bincount(idx, weights=np.asarray(data.y, float), minlength=data.n_groups)
    n = np.bincount(idx, weights=np.asarray(data.trials, float), minlength=data.n_groups)
    h_hits, h_trials = holdout_averages(data)
    holdout = h_hits / h_trials
    m0 = float(y.sum() / n.sum())

    def at(kk):
        return (y + kk * m0) / (n + kk)

    bayes = np.asarray(lg.post.mean("p"), float)
    table = pd.DataFrame({"group": list(data.labels), "trials": n, "first": y / n, "estimate": at(float(k)),
                          "bayes": bayes, "complete_pooling": m0, "holdout_trials": h_trials, "holdout": holdout})
    for name, est in (("no_pooling", y / n), ("partial", table["estimate"]), ("complete", m0), ("bayes", bayes)):
        table[f"sq_error_{name}"] = (np.asarray(est, float) - holdout) ** 2
    ks = np.concatenate([[0.0], np.geomspace(1, 10_000, 100)])
    curve = pd.DataFrame({"k": ks, "total_squared_error": [float(((at(kk) - holdout) ** 2).sum()) for kk in ks]})
    totals = {"no_pooling": float(table["sq_error_no_pooling"].sum()), "complete": float(table["sq_error_complete"].sum()),
              "at_k": float(table["sq_error_partial"].sum()), "bayes": float(table["sq_error_bayes"].sum())}
    k_bayes = float(lg.post.mean("alpha") + lg.post.mean("beta"))
    return Season(table, holdout_errors(table), curve, totals, float(k), k_bayes)
