"""Posterior predictive checks per group: does the model reproduce each group's data?

Replicated data: central (equal-tailed) intervals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import SpecError
from .table_helpers import _central, _check_prob

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

__all__ = ["PPC_BLOCK_VALUES", "ppc_table", "ppc_summary"]

PPC_BLOCK_VALUES = 1 << 20
"""Replicated values gathered per block in :func:`_group_sums` (about 12 MB with the float64 sums)."""


def _group_sums(rep: np.ndarray, idx: np.ndarray, n_groups: int) -> np.ndarray:
    """Per row of ``rep`` (S, n_rows), the sum over each group's rows: (S, n_groups) float64.

    Rows are sorted by group once; each block of draws is then gathered in that order and summed
    with ``np.add.reduceat`` over the groups' runs, so memory stays at S x n_groups plus one block of
    about ``PPC_BLOCK_VALUES`` values (never a rows x groups matrix).
    """
    S, n_rows = rep.shape
    out = np.zeros((S, n_groups))
    if S == 0 or n_rows == 0:
        return out
    order = np.argsort(idx, kind="stable")
    sizes = np.bincount(idx, minlength=n_groups)
    present = np.flatnonzero(sizes)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])[present]
    step = max(1, PPC_BLOCK_VALUES // n_rows)
    for a in range(0, S, step):
        block = np.take(rep[a:a + step], order, axis=1)
        out[a:a + step, present] = np.add.reduceat(block, starts, axis=1, dtype=np.float64)
    return out


def _level(fit: "Fit", level: str | int | None) -> tuple[np.ndarray, tuple[str, ...], str]:
    """Rows -> group index and the labels of grouping level ``level`` (a column name or an index
    into ``fit.data.levels``, outermost first; None: the innermost level, the model's groups)."""
    data = fit.data
    if level is None:
        levels = getattr(data, "levels", ())  # stand-ins of older callers may carry no levels
        column = levels[-1].column if levels else str(getattr(getattr(data, "columns", None), "group", "group"))
        return np.asarray(data.group_idx), tuple(data.labels), column
    columns = [lv.column for lv in data.levels]
    if isinstance(level, str):
        if level not in columns:
            raise SpecError(f"{level!r} is not a grouping level of this fit; it has: "
                            f"{', '.join(map(repr, columns))}.")
        level = columns.index(level)
    k = int(level) % len(columns)
    return np.asarray(data.level_idx(k)), tuple(data.levels[k].labels), columns[k]


def ppc_table(fit: "Fit", hdi_prob: float = 0.9, level: str | int | None = None) -> pd.DataFrame:
    """Posterior predictive check per group: does the model reproduce each group's data?

    Statistic per group: mean of the rows (gaussian), the reported estimate (summary), the number
    of successes (binomial) or events (poisson). Columns: group, n, statistic, observed, pred_mean,
    pred_low, pred_high (central ``hdi_prob`` interval of the statistic over replicated data sets),
    inside (observed within the interval), p_value (share of replications >= observed; near 0 or
    1 flags misfit). ``attrs["coverage"]`` is the share of groups inside (expect about
    ``hdi_prob``); :func:`ppc_summary` says it in words.

    ``level``: the grouping level whose groups are checked (a column name, or an index into
    ``fit.data.levels``, outermost first); None: the innermost groups. For an outer level
    (schools of a school > class model) each group's statistic pools the rows of all its inner
    groups. ``attrs["level"]`` names the level's column.
    """
    prob = _check_prob(hdi_prob)
    data = fit.data
    if "posterior_predictive" not in fit.idata.groups():
        raise SpecError("This fit has no posterior predictive draws to check against the data.")
    rep = fit.idata.posterior_predictive["y"].values
    rep = rep.reshape(-1, rep.shape[-1])                                # (S, n_rows), as stored
    idx, labels, column = _level(fit, level)
    n_groups = len(labels)
    sums_rep = _group_sums(rep, idx, n_groups)                          # (S, n_groups)
    sums_obs = np.bincount(idx, np.asarray(data.y, float), n_groups)
    sizes = np.bincount(idx, minlength=n_groups).astype(float)
    family = fit.spec.family
    if family.ppc_sums:
        stat_rep, stat_obs = sums_rep, sums_obs
    else:
        stat_rep, stat_obs = sums_rep / sizes, sums_obs / sizes
    statistic = family.ppc_statistic
    low, high = _central(stat_rep, prob, axis=0)
    inside = (stat_obs >= low) & (stat_obs <= high)
    out = pd.DataFrame({
        "group": list(labels),
        "n": sizes.astype(int),
        "statistic": statistic,
        "observed": stat_obs,
        "pred_mean": stat_rep.mean(axis=0),
        "pred_low": low,
        "pred_high": high,
        "inside": inside.astype(bool),
        "p_value": np.mean(stat_rep >= stat_obs[None, :], axis=0),
    })
    out.attrs.update(coverage=float(inside.mean()) if n_groups else np.nan, hdi_prob=prob, level=column)
    return out


def ppc_summary(table: pd.DataFrame) -> dict:
    """Coverage of a :func:`ppc_table` in numbers and one plain sentence."""
    n = int(len(table))
    inside = int(table["inside"].sum())
    prob = float(table.attrs.get("hdi_prob", 0.9))
    coverage = inside / n if n else float("nan")
    outside = list(table.loc[~table["inside"], "group"])
    listed = ", ".join(map(str, outside[:5])) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
    message = (f"{inside} of {n} groups ({100 * coverage:.0f}%) have their observed "
               f"{table['statistic'].iloc[0] if n else 'statistic'} inside the {100 * prob:.0f}% "
               f"predictive interval (about {100 * prob:.0f}% expected).")
    if outside:
        message += f" Outside: {listed}."
    return {"coverage": coverage, "expected": prob, "n_inside": inside, "n_groups": n,
            "outside": outside, "message": message}
