"""The data-kind registry: what one row of each kind of table holds, in one place.

A data kind (:class:`hiermod.columns.DataKind`) fixes the per-row role besides group and outcome
(summary: the standard error ``se``; binomial: ``trials``; poisson: ``exposure``; gaussian: none),
its value when the table has no such column, whether the outcome is a count, whether each group is
one row, the rules the rows must follow, and the per-group table the pages show. Loading, column
guessing, validation, the command line and the Data page read it; the likelihoods that fit each
kind are in :mod:`hiermod.families`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

# annotations name hiermod.data.GroupedData as text: data imports this module


def _check_counts(name: str, values: np.ndarray, rows, what: str) -> None:
    """Refuse negative or fractional counts."""
    rows.refuse(values < 0, f"Column {name!r} holds {what}, which cannot be negative, "
                "but has negative values in {rows}. Fix or remove those rows.")
    rows.refuse(np.abs(values - np.round(values)) > 1e-9,
                f"Column {name!r} holds {what}, which must be whole numbers, but has fractions in "
                "{rows}. Fix those values, or use kind 'gaussian' for a continuous outcome.")


def _check_summary(y, role_values, columns, rows) -> None:
    rows.refuse(~(role_values > 0), f"Standard errors in column {columns.se!r} must be above 0, "
                "but are 0 or negative in {rows}. Fix them or remove those groups.")


def _check_gaussian(y, role_values, columns, rows) -> None:
    return None


def _check_binomial(y, trials, columns, rows) -> None:
    _check_counts(columns.y, y, rows, "success counts")
    if trials is None:
        rows.refuse(~np.isin(y, (0.0, 1.0)), f"Column {columns.y!r} is a 0/1 outcome (no "
                    "trials column), but has other values in {rows}. Choose the trials column "
                    "for counts of successes.")
        return
    _check_counts(columns.trials, trials, rows, "numbers of trials")
    rows.refuse(trials < 1, f"Column {columns.trials!r} must be at least 1 trial, but "
                "is 0 in {rows}. Remove rows without trials.")
    rows.refuse(y > trials, f"Successes in {columns.y!r} exceed trials in "
                f"{columns.trials!r} in {{rows}}. Check that the two columns are not swapped.")


def _check_poisson(y, exposure, columns, rows) -> None:
    _check_counts(columns.y, y, rows, "event counts")
    if exposure is not None:
        rows.refuse(~(exposure > 0), f"Exposure in column {columns.exposure!r} must be above "
                    "0, but is 0 or negative in {rows}. Fix them or remove those rows.")


def _first_per_group(data: "GroupedData", values: np.ndarray) -> np.ndarray:
    """The value of each group's first row."""
    out = np.full(data.n_groups, np.nan)
    out[data.group_idx[::-1]] = values[::-1]
    return out


def _summary_table(data: "GroupedData", n: np.ndarray) -> dict:
    return {"estimate": _first_per_group(data, data.y), "se": _first_per_group(data, data.se)}


def _gaussian_table(data: "GroupedData", n: np.ndarray) -> dict:
    idx, J = data.group_idx, data.n_groups
    mean = np.bincount(idx, data.y, J) / n
    sq = np.bincount(idx, (data.y - mean[idx]) ** 2, J)
    sd = np.where(n >= 2, np.sqrt(sq / np.maximum(n - 1, 1)), np.nan)
    return {"estimate": mean, "se": sd / np.sqrt(n)}


def _binomial_table(data: "GroupedData", n: np.ndarray) -> dict:
    k = np.bincount(data.group_idx, data.y, data.n_groups)
    t = np.bincount(data.group_idx, data.trials, data.n_groups)
    p = k / t
    return {"estimate": p, "se": np.sqrt(p * (1 - p) / t), "successes": k, "trials": t}


def _poisson_table(data: "GroupedData", n: np.ndarray) -> dict:
    e = np.bincount(data.group_idx, data.y, data.n_groups)
    x = np.bincount(data.group_idx, data.exposure, data.n_groups)
    return {"estimate": e / x, "se": np.sqrt(e) / x, "events": e, "exposure": x}


def precision_weighted(data: "GroupedData") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each group's precision-weighted estimate ybar_j = sum(y_i / se_i^2) / P_j, its precision
    P_j = sum(1 / se_i^2) and se s_j = P_j^(-1/2): all the rows of a group say about it (known se)."""
    idx = np.asarray(data.group_idx)
    y, se = np.asarray(data.y, float), np.asarray(data.se, float)
    prec = 1.0 / se**2
    P = np.bincount(idx, prec, data.n_groups)
    return np.bincount(idx, prec * y, data.n_groups) / P, 1.0 / np.sqrt(P), P


def _summary_normal_estimates(data: "GroupedData") -> tuple[np.ndarray, np.ndarray]:
    ybar, s, _ = precision_weighted(data)
    return ybar, s


def _gaussian_normal_estimates(data: "GroupedData") -> tuple[np.ndarray, np.ndarray]:
    """Group means with s_j = sigma / sqrt(n_j), sigma the pooled within-group sd
    sqrt(sum (y - ybar_g)^2 / (N - J)), treated as known (an approximation)."""
    from .errors import SpecError

    idx, y, J = np.asarray(data.group_idx), np.asarray(data.y, float), data.n_groups
    n = np.bincount(idx, minlength=J).astype(float)
    ybar = np.bincount(idx, y, J) / n
    dof = y.shape[0] - J
    if dof < 1:
        raise SpecError("The pooling continuum of row-level data needs at least one group with "
                        "two or more rows (to estimate the within-group sd).")
    sigma = float(np.sqrt(np.sum((y - ybar[idx]) ** 2) / dof))
    return ybar, sigma / np.sqrt(n)


@dataclass(frozen=True)
class KindInfo:
    """One data kind: ``role`` (the extra per-row column: se, trials, exposure or None),
    ``role_default`` (its value when the table has no such column; None: the column is required),
    ``counts`` (the outcome is a whole-number count), ``one_row_per_group``, ``check_rows(y,
    role_values, columns, rows)`` (refuses rows that break the kind's rules), ``group_table(data,
    n)`` (estimate and se per group on the data scale, plus the kind's sums), ``label``, and
    ``normal_estimates(data)`` (each group as a normal measurement (ybar_j, s_j) on the data
    scale, for the pooling continuum; None where the kind has no such form)."""

    name: str
    label: str
    role: str | None
    role_default: float | None
    counts: bool
    one_row_per_group: bool
    check_rows: Callable
    group_table: Callable
    normal_estimates: Callable | None = None


KINDS: dict[str, KindInfo] = {k.name: k for k in (
    KindInfo("summary", "summary: an estimate and its standard error per group", "se", None,
             False, True, _check_summary, _summary_table, _summary_normal_estimates),
    KindInfo("gaussian", "gaussian: one numeric outcome per observation", None, None,
             False, False, _check_gaussian, _gaussian_table, _gaussian_normal_estimates),
    KindInfo("binomial", "binomial: successes out of trials (or a 0/1 outcome)", "trials", 1.0,
             True, False, _check_binomial, _binomial_table),
    KindInfo("poisson", "poisson: event counts with an exposure", "exposure", 1.0,
             True, False, _check_poisson, _poisson_table),
)}

ROLES = tuple(k.role for k in KINDS.values() if k.role)
"""The per-row roles a kind may add: se, trials, exposure."""


def kind_info(kind) -> KindInfo:
    """The registry entry of ``kind`` (a :class:`DataKind` or its value)."""
    return KINDS[str(getattr(kind, "value", kind))]


def owner_of(role: str) -> KindInfo:
    """The kind that uses the per-row ``role``."""
    return next(k for k in KINDS.values() if k.role == role)


def role_columns(kind, **candidates: str | None) -> dict[str, str | None]:
    """Keep only the role column ``kind`` uses from ``candidates`` (se=, trials=, exposure=)."""
    role = kind_info(kind).role
    return {name: (value if name == role else None) for name, value in candidates.items()}
