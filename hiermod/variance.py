"""Split the variation into between-group parts (one per grouping level) and the within-group part.

Every share is computed per posterior draw, then summarised (posterior mean and HDI), so the shares
of one draw sum to 1 and their intervals carry the posterior uncertainty. The math, by structure:

* One level, normal population (link scale): between = tau², within = the family's within-group
  variance (:meth:`hiermod.families.Family.within_variance`: sigma², sigma² nu/(nu-2), pi²/3 for
  binomial, log(1 + 1/lambda) for Poisson, ...); share_between = tau² / (tau² + within), the
  intraclass correlation (ICC).
* One level, Student-t population theta_j ~ StudentT(nu_groups, mu, tau): between = the t's
  variance tau² nu_groups / (nu_groups - 2), infinite for nu_groups <= 2 (such draws are left out of
  its mean and give a between share of 1; the note says in how many draws).
* Nested levels 1..K (school > class): the effects add up, theta_K[j] = mu + sum_k u_k with
  independent u_k ~ Normal(0, tau_k), so Var = tau_1² + ... + tau_K² + within. Rows
  ``between_<col>`` (tau_col²) and ``share_<col>`` = tau_col² / total per level, ``share_within``,
  and ``share_between`` = (sum_k tau_k²) / total (the ICC of the innermost groups: the correlation
  of two rows of the same innermost group).
* Varying slopes (a_j, b_j) ~ MVN((m_j, beta), Sigma), Sigma = diag(tau, tau_x) R diag(tau, tau_x):
  the between-group variance of a group's expected outcome depends on x; it is reported at the
  covariates' means xbar: Var(a_j + b_j . xbar) = v' Sigma v with v = (1, xbar) (for one slope
  tau² + 2 rho tau tau_x xbar + tau_x² xbar²). The note says so.
* Beta population (binomial, probability scale): between = Var(p_j) = alpha beta /
  ((alpha+beta)² (alpha+beta+1)); within = E[p_j (1 - p_j)], the Bernoulli variance of one trial
  around its group's p (= m (1 - m) - between with m = alpha / (alpha+beta)); the share is then
  1 / (alpha + beta + 1), the beta-binomial intraclass correlation.
* Gamma population (poisson, counts per row): with E the mean exposure per row, between =
  Var(E rate_j) = E² alpha / beta², within = E[E rate_j] = E alpha / beta (Poisson noise of one
  row's count); share = E / (E + beta).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from .errors import SpecError
from .table_helpers import _check_prob, _hdi, _pooling

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit
    from .terms import GroupTerm

__all__ = ["variance_decomposition", "variance_draws", "row_effect_draws"]

SHARE_NOTE = ("Share between = between / (between + within), the intraclass correlation (ICC): "
              "0 means groups differ no more than single observations do, 1 means all the "
              "variation is between groups.")


def row_effect_draws(fit: "Fit") -> Callable[[str], np.ndarray]:
    """``fit.draws`` where ``theta`` means the innermost term's effects (``theta_<col>`` when
    nested), for the family methods that read the row effects by the one-level name."""
    effect = fit.spec.row_term.effect

    def draws(name: str) -> np.ndarray:
        return fit.draws(effect if name == "theta" and effect not in ("", name) else name)

    return draws


def _within_draws(fit: "Fit") -> tuple[np.ndarray, str]:
    """Per-draw within-group variance on the link scale, and a note saying what it is (the
    family's :meth:`~hiermod.families.Family.within_variance`)."""
    n = fit.draws(fit.spec.row_term.effect).shape[0]
    return fit.spec.family.within_variance(row_effect_draws(fit), fit.data, n)


def _slope_between(fit: "Fit", term: "GroupTerm") -> tuple[np.ndarray, str]:
    """v' Sigma v per draw, v = (1, xbar): the between-group variance of a group's expected
    outcome at the covariates' means."""
    data = fit.data
    xbar = np.array([float(np.mean(np.asarray(data.X)[:, list(data.covariate_names).index(x)]))
                     for x in term.slopes])
    sd = np.column_stack([fit.draws(term.scale)] + [fit.draws(term.slope_scale(x)) for x in term.slopes])
    k = len(term.slopes) + 1
    if term.correlated and "corr_cholesky" in fit.idata.posterior:
        L = fit.draws("corr_cholesky").astype(float)
        R = L @ np.swapaxes(L, -1, -2)
    else:
        R = np.broadcast_to(np.eye(k), (sd.shape[0], k, k))
    v = np.concatenate([[1.0], xbar])
    sv = sd * v  # (S, k)
    between = np.einsum("si,sij,sj->s", sv, R, sv)
    at = ", ".join(f"{x} = {m:.3g}" for x, m in zip(term.slopes, xbar))
    note = (f"Between: variance of the groups' expected outcome at the covariates' means ({at}), "
            "from the intercepts and slopes together: v' Sigma v with v = (1, mean x), "
            "Sigma the intercept/slope covariance (tau² + 2 rho tau tau_x x + tau_x² x² for one "
            "slope). At other x the split differs.")
    return between, note


def _robust_between(fit: "Fit", term: "GroupTerm") -> tuple[np.ndarray, str]:
    """tau² nu/(nu - 2) per draw (infinite for nu <= 2): the variance of a Student-t population."""
    tau, nu = fit.draws(term.scale).astype(float), fit.draws(term.df).astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        between = np.where(nu > 2, tau**2 * nu / (nu - 2), np.inf)
    share_inf = float(np.mean(~np.isfinite(between)))
    extra = (f" In {100 * share_inf:.0f}% of draws {term.df} ≤ 2, where that variance is infinite "
             "(those draws are left out of its mean and give a between share of 1).") if share_inf else ""
    return between, ("Between: variance of the true group effects around the overall mean, "
                     f"tau²·{term.df}/({term.df}-2) for the Student-t population, link scale." + extra)


def _share(part: np.ndarray, other: np.ndarray) -> np.ndarray:
    """part / (part + other) per draw: 1 when only ``part`` is infinite, 0 when only ``other`` is,
    NaN (undefined, left out of the summary) when both are."""
    with np.errstate(divide="ignore", invalid="ignore"):
        share = part / (part + other)
    share = np.where(np.isinf(part) & np.isfinite(other), 1.0, share)
    return np.where(np.isfinite(part) & np.isinf(other), 0.0, share)


def _population_parts(fit: "Fit", term: "GroupTerm") -> tuple[np.ndarray, np.ndarray, str, str]:
    """(between, within, notes) of a Beta or Gamma population on its natural scale."""
    a, b = fit.draws("alpha").astype(float), fit.draws("beta").astype(float)
    if term.population_value == "p":
        between = a * b / ((a + b) ** 2 * (a + b + 1))
        m = a / (a + b)
        within = m * (1 - m) - between
        return between, within, (
            "Between: variance of the groups' probabilities p_j ~ Beta(alpha, beta), "
            "alpha beta / ((alpha+beta)² (alpha+beta+1)), probability scale."), (
            "Within: E[p (1 - p)], the variance of one yes/no trial around its group's p "
            "(so the share is 1 / (alpha + beta + 1), the beta-binomial ICC).")
    exposure = float(np.mean(np.asarray(fit.data.exposure, float))) if fit.data.exposure is not None else 1.0
    return exposure**2 * a / b**2, exposure * a / b, (
        f"Between: variance of a row's expected count across groups, E² alpha / beta² with "
        f"rate_j ~ Gamma(alpha, beta) and E = {exposure:.3g} the mean exposure per row."), (
        "Within: Poisson noise of one row's count around its expectation, E alpha / beta "
        "(so the share is E / (E + beta)).")


def variance_draws(fit: "Fit") -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Per-draw variance components and notes: {"between_<dim>": ..., "within": ...} (one-level
    models: {"between", "within"}), in the order outermost level first. See the module docstring."""
    pooling = _pooling(fit)
    if pooling == "none":
        raise SpecError(
            "A no-pooling model has no between-group spread (tau) to compare with the within-group "
            "noise. Use partial pooling to see how the variation splits.")
    terms = fit.spec.terms
    term = terms[-1]
    if term.conjugate:
        between, within, b_note, w_note = _population_parts(fit, term)
        return {"between": between, "within": within}, {"between": b_note, "within": w_note}
    within, within_note = _within_draws(fit)
    if pooling != "partial":
        return ({"between": np.zeros_like(within), "within": within},
                {"between": "Between: 0 by assumption — complete pooling treats all groups as the same.",
                 "within": within_note})
    parts, notes = {}, {}
    for t in terms:
        name = "between" if len(terms) == 1 else f"between_{t.dim}"
        if t.slopes:
            parts[name], notes[name] = _slope_between(fit, t)
        elif t.robust:
            parts[name], notes[name] = _robust_between(fit, t)
        else:
            parts[name] = fit.draws(t.scale).astype(float) ** 2
            notes[name] = (("Between: variance of the true group effects around the overall mean "
                            "(tau²), link scale.") if len(terms) == 1 else
                           f"Between {t.factor}: variance of the {t.factor} effects around "
                           f"{'the overall mean' if t.own_location else 'their ' + str(t.parent) + ' effect'} "
                           f"({t.scale}²), link scale.")
    parts["within"], notes["within"] = within, within_note
    return parts, notes


def _summary_row(name: str, values: np.ndarray, prob: float, note: str) -> dict:
    finite = values[np.isfinite(values)]
    low, high = _hdi(finite, prob)
    return {"component": name, "mean": float(np.mean(finite)) if finite.size else np.nan,
            "low": float(low[0]), "high": float(high[0]), "note": note}


def variance_decomposition(fit: "Fit", prob: float = 0.9) -> pd.DataFrame:
    """Split the variation into between-group parts (one per grouping level) and within-group parts.

    One-level models: rows between, within, share_between (= between / (between + within), the
    intraclass correlation, ICC). Nested models: rows ``between_<col>`` per level (outermost
    first), within, ``share_<col>`` per level, ``share_within`` and share_between (the sum of the
    levels' shares). Columns mean, low, high (``prob`` HDI over posterior draws), note; the shares
    are computed per draw (they sum to 1 in every draw). Varying slopes: between at the
    covariates' means; Beta/Gamma populations: on the probability / count scale (module
    docstring). Complete pooling gives between = 0 by assumption; no pooling has no tau and
    raises SpecError. ``attrs``: prob, levels (the level columns, outermost first).
    """
    prob = _check_prob(prob)
    parts, notes = variance_draws(fit)
    total = sum(parts.values())
    within = parts["within"]
    rows = [_summary_row(name, values, prob, notes[name]) for name, values in parts.items()]
    betweens = {name: values for name, values in parts.items() if name != "within"}
    with np.errstate(divide="ignore", invalid="ignore"):
        finite = np.isfinite(within)
        if len(betweens) > 1:
            for name, values in betweens.items():
                level = name.removeprefix("between_")
                share = np.where(finite, values / total, 0.0)
                rows.append(_summary_row(f"share_{level}", share, prob,
                                         f"Share of the total variance at the {level} level."))
            rows.append(_summary_row("share_within", np.where(finite, within / total, 1.0), prob,
                                     "Share of the total variance within the innermost groups."))
        share = _share(sum(betweens.values()), within)
    note = SHARE_NOTE if len(betweens) == 1 else (
        SHARE_NOTE + " With nested levels it sums every level's between part: the correlation of two "
        "observations in the same innermost group.")
    rows.append(_summary_row("share_between", share, prob, note))
    out = pd.DataFrame(rows).set_index("component")
    out.attrs["prob"] = prob
    out.attrs["levels"] = tuple(t.dim for t in fit.spec.terms) if len(betweens) > 1 else ()
    return out
