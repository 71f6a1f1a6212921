"""Split the variation into between-group (tau²) and within-group parts (the ICC), link scale."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import SpecError
from .table_helpers import _check_prob, _hdi, _pooling

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

__all__ = ["variance_decomposition"]


def _within_draws(fit: "Fit") -> tuple[np.ndarray, str]:
    """Per-draw within-group variance on the link scale, and a note saying what it is (the
    family's :meth:`~hiermod.families.Family.within_variance`)."""
    return fit.spec.family.within_variance(fit.draws, fit.data, fit.draws("mu").shape[0])


def variance_decomposition(fit: "Fit", prob: float = 0.9) -> pd.DataFrame:
    """Split the variation into between-group (tau²) and within-group parts, on the link scale.

    Rows between, within, share_between (= between / (between + within), the intraclass
    correlation, ICC); columns mean, low, high (``prob`` HDI over posterior draws), note.
    Complete pooling gives between = 0 by assumption; no pooling has no tau and raises SpecError.
    """
    prob = _check_prob(prob)
    pooling = _pooling(fit)
    if pooling == "none":
        raise SpecError(
            "A no-pooling model has no between-group spread (tau) to compare with the within-group "
            "noise. Use partial pooling to see how the variation splits.")
    within, within_note = _within_draws(fit)
    if pooling == "partial":
        between = fit.draws("tau").astype(float) ** 2
        between_note = ("Between: variance of the true group effects around the overall mean "
                        "(tau²), link scale.")
    else:
        between = np.zeros_like(within)
        between_note = "Between: 0 by assumption — complete pooling treats all groups as the same."
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(np.isfinite(within), between / (between + within), 0.0)
    share_note = ("Share between = between / (between + within), the intraclass correlation (ICC): "
                  "0 means groups differ no more than single observations do, 1 means all the "
                  "variation is between groups.")
    rows = []
    for name, values, note in (("between", between, between_note), ("within", within, within_note),
                               ("share_between", share, share_note)):
        finite = values[np.isfinite(values)]
        low, high = _hdi(finite, prob)
        rows.append({"component": name, "mean": float(np.mean(finite)) if finite.size else np.nan,
                     "low": float(low[0]), "high": float(high[0]), "note": note})
    out = pd.DataFrame(rows).set_index("component")
    out.attrs["prob"] = prob
    return out
