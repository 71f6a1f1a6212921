"""What a group not in the data would look like: its effect, its mean and one new observation.

Predictive quantities: central (equal-tailed) intervals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import SpecError
from .table_helpers import (
    _central,
    _check_prob,
    _pooling,
)

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

__all__ = ["new_group_draws", "predict_new_group"]


def new_group_draws(fit: "Fit", seed: int = 0) -> dict[str, np.ndarray]:
    """Per posterior draw: theta_new (a new group's effect, link scale), response_new (probability
    / rate / mean) and y_new (one new observation from that group). See :func:`predict_new_group`."""
    pooling = _pooling(fit)
    if pooling == "none":
        raise SpecError(
            "A no-pooling model cannot predict a new group: it treats every group as unrelated, so "
            "it has no overall mean or spread to draw a new group from. Use partial pooling (or "
            "complete pooling, which assumes the new group equals the overall mean)."
        )
    rng = np.random.default_rng(seed)
    mu = fit.draws("mu").astype(float)
    n = mu.shape[0]
    if pooling == "partial":
        tau = fit.draws("tau").astype(float)
        theta_new = mu + tau * rng.standard_normal(n)
    else:
        theta_new = mu.copy()
    family = fit.spec.family
    response = family.inverse_link(theta_new)
    y_new = family.new_observation(theta_new, fit.draws, fit.data, rng)
    return {"theta_new": theta_new, "response_new": response, "y_new": y_new}


def predict_new_group(fit: "Fit", prob: float = 0.9, seed: int = 0) -> pd.DataFrame:
    """What a group not in the data would look like, per posterior draw:

    theta_new ~ Normal(mu, tau) (partial pooling; complete pooling: theta_new = mu), on the link
    scale; response_new = theta_new on the data scale (probability for binomial, rate per unit of
    exposure for poisson); y_new = one new observation: gaussian theta_new + sigma * eps (Student-t
    eps with nu for student_t), summary data with the median standard error, binomial successes
    out of the median number of trials, poisson count over the median exposure.
    Covariates, when present, are held at 0. No pooling raises SpecError.

    Rows theta_new, response_new, y_new; columns mean, low, high, note. low and high bound the
    central (equal-tailed) ``prob`` interval of the draws, the (1 - prob)/2 and (1 + prob)/2
    quantiles, not an HDI: predictive quantities are often skewed or whole counts, where
    equal tails are easier to read (for counts the ends are whole numbers). ``attrs["prob"]``.
    """
    prob = _check_prob(prob)
    draws = new_group_draws(fit, seed)
    family = fit.spec.family
    y_note = family.new_observation_note(fit.data)
    notes = {
        "theta_new": ("effect of a new group drawn from the population of groups (link scale)"
                      if _pooling(fit) == "partial" else
                      "complete pooling: a new group equals the overall mean"),
        "response_new": family.response_note,
        "y_new": y_note,
    }
    rows = []
    for name, values in draws.items():
        low, high = _central(values, prob)
        rows.append({"quantity": name, "mean": float(np.mean(values)), "low": float(low),
                     "high": float(high), "note": notes[name]})
    out = pd.DataFrame(rows).set_index("quantity")
    out.attrs.update(prob=prob, interval="central")
    return out
