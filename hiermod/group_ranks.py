"""Which group is best? The posterior of every group's rank among the groups.

Per posterior draw s the groups of one level are ranked by their effect theta_js (rank 1 = the
largest theta when ``higher_is_better``, the smallest otherwise). theta lives on the link scale
(identity, logit, log); every link is strictly increasing, so ranks on the response scale
(means, probabilities, rates) are the same ranks. The draws of the rank give

    P(best_j)  = P(rank_j = 1 | y),     P(worst_j) = P(rank_j = J | y),
    P(above_j) = P(theta_j > m | y),

with m the population mean: mu for a normal population (the grand mean at every level of a nested
model), logit / log of alpha / (alpha + beta) or alpha / beta for a Beta / Gamma population, and
for no pooling, which has no population, the average of the J group effects in the same draw.
Ties have probability zero under continuous draws, so each draw's ranks are 1..J without ties;
complete pooling makes every group equal (one theta = mu) and is refused.

Intervals of ranks are central (equal-tailed), with whole-number ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import populations
from .errors import SpecError
from .shrinkage import _level_index, shrinkage_levels
from .table_helpers import _central, _check_prob, _pooling

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

__all__ = ["rank_draws", "rank_table", "level_labels", "effect_draws", "population_mean_draws"]

NO_POOLING_MEAN = "the average of the group effects in each draw (no pooling has no population mean)"


def level_labels(fit: "Fit", k: int) -> tuple[str, ...]:
    """The labels of the groups of term ``k`` (an index into ``fit.spec.terms``)."""
    data, terms = fit.data, fit.spec.terms
    if not data.levels:
        return tuple(data.labels)
    return tuple(data.levels[len(data.levels) - len(terms) + k].labels)


def effect_draws(fit: "Fit", k: int) -> np.ndarray:
    """Draws (S, J) of term ``k``'s group effects on the link scale (a Beta / Gamma population's
    theta = link(p) / link(rate) when the fit did not record theta)."""
    term = fit.spec.terms[k]
    if term.effect in fit.idata.posterior:
        return np.asarray(fit.draws(term.effect), dtype=float)
    population = populations.get(term.population)
    return population.link(np.asarray(fit.draws(term.population_value), dtype=float))


def population_mean_draws(fit: "Fit", k: int, theta: np.ndarray) -> tuple[np.ndarray, str]:
    """Per draw, the population mean the groups of term ``k`` are compared with (link scale), and
    what it is in words (see the module docstring)."""
    pooling = _pooling(fit)
    if pooling == "none":
        return theta.mean(axis=1), NO_POOLING_MEAN
    term = fit.spec.terms[k]
    if term.conjugate:
        population = populations.get(term.population)
        mean = population.mean(fit.draws("alpha").astype(float), fit.draws("beta").astype(float))
        return population.link(mean), f"the population mean {population.mean_text}"
    return np.asarray(fit.draws("mu"), dtype=float), "the population mean mu"


def _ranks(theta: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Per row of ``theta`` (S, J), each group's rank 1..J (1 = best)."""
    order = np.argsort(-theta if higher_is_better else theta, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(1, theta.shape[1] + 1)[None, :], axis=1)
    return ranks


def _checked_level(fit: "Fit", level) -> int:
    if _pooling(fit) == "complete":
        raise SpecError("Complete pooling gives every group the same effect (theta = mu), so the groups "
                        "have no ranks. Rank the groups of a partial- or no-pooling fit.")
    k = _level_index(fit, level)
    if len(level_labels(fit, k)) < 2:
        raise SpecError("Ranking needs at least two groups; this level has one.")
    return k


def rank_draws(fit: "Fit", level: int | str | None = None, higher_is_better: bool = True) -> pd.DataFrame:
    """Each group's rank in every posterior draw: rows are draws (chains concatenated), columns the
    groups of ``level`` (default the innermost; an index into ``fit.spec.terms`` or a grouping
    column), values 1..J with 1 = the largest effect (the smallest when ``higher_is_better`` is
    False). SpecError for complete pooling (every group equal) or a level of one group."""
    k = _checked_level(fit, level)
    theta = effect_draws(fit, k)
    return pd.DataFrame(_ranks(theta, bool(higher_is_better)), columns=list(level_labels(fit, k)))


def rank_table(fit: "Fit", prob: float = 0.9, higher_is_better: bool = True,
               level: int | str | None = None) -> pd.DataFrame:
    """The posterior of every group's rank, and the probabilities users ask about.

    Columns: group, theta_mean (posterior mean effect, link scale), rank_mean, rank_median,
    rank_low / rank_high (central ``prob`` interval of the rank, whole numbers), p_best
    (P(rank = 1)), p_worst (P(rank = J)), p_above_mean (P(theta_j > population mean), see the
    module docstring), and p_best_mcse / p_above_mean_mcse, sqrt(p (1 - p) / ESS) with ESS the
    bulk effective sample size of the indicator (arviz; the number of draws for independent draws).
    Rows in the fit's group order. ``attrs``: prob, higher_is_better, n_groups, level (the grouping
    column), compared_with (the population mean in words), ties ("none: continuous draws").
    """
    prob = _check_prob(prob)
    k = _checked_level(fit, level)
    theta = effect_draws(fit, k)
    labels = level_labels(fit, k)
    J = theta.shape[1]
    ranks = _ranks(theta, bool(higher_is_better))
    mean, words = population_mean_draws(fit, k, theta)
    above = theta > mean[:, None]
    low, high = _central(ranks, prob, axis=0)
    chains = fit.idata.posterior.sizes.get("chain", 1)
    out = pd.DataFrame({
        "group": list(labels),
        "theta_mean": theta.mean(axis=0),
        "rank_mean": ranks.mean(axis=0),
        "rank_median": np.median(ranks, axis=0),
        "rank_low": low,
        "rank_high": high,
        "p_best": (ranks == 1).mean(axis=0),
        "p_worst": (ranks == J).mean(axis=0),
        "p_above_mean": above.mean(axis=0),
        "p_best_mcse": _indicator_mcse(ranks == 1, chains),
        "p_above_mean_mcse": _indicator_mcse(above, chains),
    })
    out.attrs.update(prob=prob, higher_is_better=bool(higher_is_better), n_groups=J,
                     level=shrinkage_levels(fit)[k].column, compared_with=words,
                     ties="none: the effects are continuous, so two groups tie with probability zero")
    return out


def _indicator_mcse(indicator: np.ndarray, chains: int) -> np.ndarray:
    """Monte Carlo standard error of the mean of each column of a 0/1 array (S, J):
    sqrt(p (1 - p) / ESS), ESS arviz's bulk ESS over ``chains`` chains (0 when p is 0 or 1)."""
    import arviz as az

    x = indicator.astype(float)
    p = x.mean(axis=0)
    S, J = x.shape
    per_chain = x[: (S // chains) * chains].reshape(chains, S // chains, J)
    out = np.zeros(J)
    for j in range(J):
        if 0 < p[j] < 1:
            ess = float(az.ess(per_chain[:, :, j], method="bulk"))
            out[j] = np.sqrt(p[j] * (1 - p[j]) / max(ess, 1.0))
    return out
