"""What every lesson shares: the interval it shows, its draws, and editing one group of a data set.

Intervals are central ``INTERVAL`` (90%) intervals of ``DRAWS`` independent draws of the instant
posterior with a fixed seed, so the same control position always draws the same figure. Means
stated in the text are the instant posterior's exact grid means (no Monte Carlo error).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..live import INTERVAL

if TYPE_CHECKING:  # pragma: no cover
    from ..data import GroupedData
    from ..instant import InstantPosterior

__all__ = ["INTERVAL", "DRAWS", "SEED", "interval", "with_group", "group_values"]

DRAWS = 4000
"""Draws behind each interval: the 5% and 95% quantiles' Monte Carlo error is about 1-2% of a sd."""
SEED = 20
"""Seed of every lesson's draws (a control position always redraws the same figure)."""


def interval(post: "InstantPosterior", name: str, prob: float = INTERVAL, draws: int = DRAWS,
             seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Central ``prob`` interval (lower, upper) of ``name`` (per group) from ``draws`` posterior draws."""
    values = np.asarray(post.draws(draws, np.random.default_rng(seed))[name], float)
    lo, hi = np.quantile(values, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    return np.atleast_1d(lo), np.atleast_1d(hi)


def group_values(data: "GroupedData", column: str) -> np.ndarray:
    """One column of :func:`hiermod.live_data.group_table` (per group, in label order)."""
    from ..live_data import group_table

    return group_table(data)[column].to_numpy(float)


def with_group(data: "GroupedData", group: str, **values: float) -> "GroupedData":
    """``data`` with group ``group``'s editable numbers replaced (e.g. ``y=40, se=5`` for summary
    data), through :func:`hiermod.live_data.rebuild` (the live preview's what-if editor): a new
    GroupedData, ``data`` unchanged. DataError naming the group for an unknown group or bad value."""
    from ..errors import DataError
    from ..live_data import group_table, rebuild

    table = group_table(data)
    rows = table["group"] == group
    if not rows.any():
        raise DataError(f"No group called {group!r}; the groups are {', '.join(map(str, table['group']))}.")
    for column, value in values.items():
        if column not in table.columns:
            raise DataError(f"Group values have no column {column!r}; they have {', '.join(table.columns[1:])}.")
        table.loc[rows, column] = float(value)
    return rebuild(data, table)
