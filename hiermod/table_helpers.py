"""Small helpers shared by the comparison tables (shrinkage, model comparison, new group,
variance, predictive checks): what kind of data and model a fit has, link functions, intervals.

Intervals: posterior quantities of parameters use highest-density intervals (:func:`_hdi`);
predictive quantities use central (equal-tailed) intervals (:func:`_central`).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from .errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .result import Fit


def weighted_quantiles(x: np.ndarray, w: np.ndarray, q) -> np.ndarray:
    """Quantiles of the weighted sample (x, w): the inverse of its step CDF at the midpoints."""
    order = np.argsort(x, kind="stable")
    x, w = x[order], w[order]
    cdf = np.cumsum(w) - w / 2
    return np.interp(q, cdf / w.sum(), x)


def _kind(fit_or_data) -> str:
    data = getattr(fit_or_data, "data", fit_or_data)
    return str(getattr(data.kind, "value", data.kind))


def _pooling(fit: "Fit") -> str:
    return str(getattr(fit.spec.pooling, "value", fit.spec.pooling))


def _hdi(draws: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """HDI of each column of ``draws`` (n_draws, k) -> (low (k,), high (k,))."""
    import arviz as az

    draws = np.asarray(draws, dtype=float)
    if draws.ndim == 1:
        draws = draws[:, None]
    low, high = np.full(draws.shape[1], np.nan), np.full(draws.shape[1], np.nan)
    for j in range(draws.shape[1]):
        col = draws[:, j]
        col = col[np.isfinite(col)]
        if col.size < 2:
            continue
        if np.ptp(col) == 0:
            low[j] = high[j] = col[0]
            continue
        low[j], high[j] = az.hdi(col, hdi_prob=prob)
    return low, high


def _central(draws: np.ndarray, prob: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed ``prob`` interval along ``axis``; for whole-number draws (counts) the ends are
    whole numbers too (the lower end rounded down, the upper up)."""
    a = (1 - prob) / 2
    draws = np.asarray(draws, dtype=float)
    finite = draws[np.isfinite(draws)]
    integer = finite.size > 0 and bool(np.all(finite == np.round(finite)))
    lo_method, hi_method = ("lower", "higher") if integer else ("linear", "linear")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return (np.nanquantile(draws, a, axis=axis, method=lo_method),
                np.nanquantile(draws, 1 - a, axis=axis, method=hi_method))


def _check_prob(prob: float) -> float:
    if not 0 < float(prob) < 1:
        raise SpecError(f"The interval probability must be between 0 and 1; got {prob!r}.")
    return float(prob)


def _posterior_mean(fit: "Fit", name: str) -> float:
    return float(np.mean(fit.draws(name)))




def _row_array(data: "GroupedData", name: str) -> np.ndarray:
    value = getattr(data, name, None)
    return np.ones(data.n_rows) if value is None else np.asarray(value, dtype=float)
