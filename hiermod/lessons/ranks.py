"""Lesson 9: exceptional or lucky? Rank posteriors of surgical mortality (12 hospitals, BUGS).

deaths_j ~ Binomial(operations_j, p_j), logit p_j ~ Normal(mu, tau): the instant posterior
(``group_quadrature`` engine) as a light Fit (:func:`hiermod.live.live_fit`), then each hospital's
rank in every draw (:func:`hiermod.group_ranks.rank_table`, rank 1 = the lowest mortality). The
control multiplies every hospital's operations and deaths by a factor (rounded), as if each had seen
that many times the patients at the same rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from ..errors import DataError
from .common import INTERVAL

__all__ = ["DATASET", "hospitals", "Ranks", "ranks"]

DATASET = "surgical"


@lru_cache(maxsize=1)
def _base():
    from ..datasets import load_dataset

    return load_dataset(DATASET)


def hospitals(factor: float = 1.0):
    """The surgical data with operations and deaths multiplied by ``factor`` and rounded (at least one
    operation per hospital)."""
    from ..live_data import group_table, rebuild

    if not float(factor) > 0:
        raise DataError(f"The patients' factor must be positive; got {factor!r}.")
    table = group_table(_base())
    table["trials"] = np.maximum(np.round(table["trials"] * float(factor)), 1.0)
    table["y"] = np.minimum(np.round(table["y"] * float(factor)), table["trials"])
    return rebuild(_base(), table)


@dataclass(frozen=True)
class Ranks:
    """``table``: :func:`hiermod.group_ranks.rank_table` (rank 1 = lowest mortality) with deaths,
    operations and raw (deaths / operations) added; ``factor``: the patients' multiplier."""

    table: pd.DataFrame
    factor: float

    def sentences(self) -> list[str]:
        t = self.table
        raw_best = t.iloc[int(np.argmin(t["raw"].to_numpy()))]
        likely = t.iloc[int(np.argmax(t["p_best"].to_numpy()))]
        surest = t.iloc[int(np.argmin((t["rank_high"] - t["rank_low"]).to_numpy()))]
        return [
            f"Hospital {raw_best['group']} has the lowest raw mortality ({raw_best['deaths']:.0f} deaths in "
            f"{raw_best['operations']:.0f} operations), "
            f"{'and' if raw_best['p_best'] >= 0.9 else 'yet'} P(it is truly the best) = {raw_best['p_best']:.0%}; its "
            f"90% rank interval runs from {raw_best['rank_low']:.0f} to {raw_best['rank_high']:.0f} of {len(t)}.",
            f"The most likely best is hospital {likely['group']} (P = {likely['p_best']:.0%}). The surest rank is "
            f"hospital {surest['group']}'s: {surest['rank_low']:.0f} to {surest['rank_high']:.0f}.",
            f"With {self.factor:g} times the patients the rank intervals are on average "
            f"{(t['rank_high'] - t['rank_low']).mean():.1f} places wide.",
        ]


def ranks(factor: float = 1.0) -> Ranks:
    """Lesson 9: every hospital's rank posterior with ``factor`` times the patients."""
    from ..group_ranks import rank_table
    from ..live import live_fit
    from ..spec import ModelSpec
    from .common import group_values

    data = hospitals(factor)
    table = rank_table(live_fit(data, ModelSpec("binomial")), prob=INTERVAL, higher_is_better=False)
    table["deaths"], table["operations"] = group_values(data, "y"), group_values(data, "trials")
    table["raw"] = table["deaths"] / table["operations"]
    return Ranks(table, float(factor))
