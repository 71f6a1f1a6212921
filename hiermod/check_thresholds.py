"""The falsification checks' thresholds: one table, read by the checks, the variants and the page.

Every model variant carries its checks, stated before fitting. Each check compares one measured
value against one threshold from :data:`THRESHOLDS`; a variant may override any of them (the
``checks`` table of a variant in ``variants.toml``, the page's check editor). The defaults:

    computation   max_divergence_fraction  0.01   divergent transitions / post-warmup draws
                  max_rhat                 1.01   largest rank-normalized R-hat
                  min_ess_tau              100    bulk ESS of every population scale (tau)
    plausibility  max_tau_near_zero        0.5    P(tau < 10% of the spread of the group estimates)
                  max_tau_over_spread      1.5    posterior median of tau / that spread (a well-
                                                  specified model gives about 1.05 with 8 precise
                                                  groups: the spread's own chi-square noise)
                  min_prior_kl             0.1    KL(posterior || prior) of a hyperparameter, nats
                  max_prior_sensitivity    0.05   power-scaling sensitivity to prior AND likelihood
                                                  at which a parameter shows prior-data conflict
                                                  (sensitive to the prior only: a caveat, not a fail;
                                                  a prior that dominates is min_prior_kl's to judge)
                  plausible_range          none   [low, high]: group effects (response scale)
    shrinkage     min_shrinkage_order      0.0    Spearman correlation of shrinkage with the
                                                  group's standard error (should be positive)
    prediction    min_ppc_coverage         0.9    share of observed values in their 95% PPI
                  max_pareto_k             0.7    PSIS-LOO Pareto k of any observation (a caveat in
                                                  the staged decision: it judges the LOO estimate,
                                                  not the model)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .diagnostics import RHAT_MAX
from .errors import SpecError
from .model_comparison import PARETO_K_MAX
from .power_scaling import PRIOR_THRESHOLD

__all__ = ["Threshold", "THRESHOLDS", "STAGES", "default_thresholds", "validate_thresholds"]

STAGES = ("computation", "plausibility", "shrinkage", "prediction")


@dataclass(frozen=True)
class Threshold:
    """One check's threshold: its default, the stage it belongs to and what it bounds."""

    key: str
    default: float | tuple[float, float] | None
    stage: str
    meaning: str
    is_range: bool = False
    sets_aside: bool = True
    """False: a failure is reported as a caveat but does not set the variant aside in the staged
    decision (:mod:`hiermod.workflow_decision`)."""


THRESHOLDS: dict[str, Threshold] = {t.key: t for t in (
    Threshold("max_divergence_fraction", 0.01, "computation",
              "largest share of post-warmup draws that may end in a divergent transition"),
    Threshold("max_rhat", RHAT_MAX, "computation", "largest R-hat of any parameter"),
    Threshold("min_ess_tau", 100.0, "computation", "smallest bulk effective sample size of tau"),
    Threshold("max_tau_near_zero", 0.5, "plausibility",
              "largest posterior probability that tau is below 10% of the spread of the group estimates"),
    Threshold("max_tau_over_spread", 1.5, "plausibility",
              "largest ratio of tau's posterior median to the spread of the group estimates"),
    Threshold("min_prior_kl", 0.1, "plausibility",
              "smallest KL divergence (nats) of a hyperparameter's posterior from its prior"),
    Threshold("max_prior_sensitivity", PRIOR_THRESHOLD, "plausibility",
              "power-scaling sensitivity to both prior and likelihood that counts as prior-data conflict"),
    Threshold("plausible_range", None, "plausibility",
              "[low, high]: the range every group effect should lie in (response scale)", is_range=True),
    Threshold("min_shrinkage_order", 0.0, "shrinkage",
              "smallest rank correlation of a group's shrinkage with its standard error"),
    Threshold("min_ppc_coverage", 0.9, "prediction",
              "smallest share of observed values inside their 95% posterior predictive interval"),
    Threshold("max_pareto_k", PARETO_K_MAX, "prediction", "largest PSIS-LOO Pareto k of any observation",
              sets_aside=False),   # it judges the LOO estimate (one row per group: often above), not the model
)}


def default_thresholds() -> dict[str, float | tuple[float, float] | None]:
    """{key: default} for every check."""
    return {k: t.default for k, t in THRESHOLDS.items()}


def validate_thresholds(overrides: Mapping, where: str = "the checks") -> dict:
    """The defaults with ``overrides`` applied, each checked: a number (or, for a range, two numbers
    low < high, or None to switch it off). Raises :class:`SpecError` naming ``where`` and the key."""
    values = default_thresholds()
    for key, value in dict(overrides or {}).items():
        threshold = THRESHOLDS.get(str(key))
        if threshold is None:
            raise SpecError(f"{where}: unknown check '{key}'. Use one of: {', '.join(THRESHOLDS)}.")
        values[threshold.key] = _checked(threshold, value, where)
    return values


def _checked(threshold: Threshold, value, where: str):
    if threshold.is_range:
        if value is None:
            return None
        try:
            low, high = (float(v) for v in value)
        except (TypeError, ValueError):
            raise SpecError(f"{where}: '{threshold.key}' needs two numbers [low, high], not {value!r}.") from None
        if not low < high:
            raise SpecError(f"{where}: '{threshold.key}' needs low < high, not [{low}, {high}].")
        return (low, high)
    if isinstance(value, bool):
        raise SpecError(f"{where}: '{threshold.key}' needs a number, not {value!r}.")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SpecError(f"{where}: '{threshold.key}' needs a number, not {value!r}.") from None
    if number != number or number < 0:
        raise SpecError(f"{where}: '{threshold.key}' needs a number of 0 or more, not {value!r}.")
    return number
