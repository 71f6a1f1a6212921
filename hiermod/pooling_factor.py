"""How much each group's estimate borrows from the others: pooling factors per group and overall.

Per group j (:func:`pooling_factor_table`), the weight lambda_j the estimate puts on the
population (0 = its own data only, 1 = the population only):

* normal observations with a normal population (known se, or sigma; no covariates; the level
  whose effects enter the rows): given the hyperparameters, E[theta_j | ...] = (1 - B_j) ybar_j +
  B_j m_j exactly, with B_j = v_j / (v_j + tau^2), v_j = se_j^2 (known se) or sigma^2 / n_j, and
  m_j the population mean (mu, or the parent group's effect). lambda_j = E[B_j | y], averaged over
  the posterior draws of tau (and sigma); the draws of B_j also give an interval.
* Beta / Gamma populations: E[p_j | alpha, beta, y] = w_j Y_j / T_j + (1 - w_j) alpha / (alpha + beta)
  exactly (w_j = T_j / (T_j + alpha + beta); Gamma: E_j / (E_j + beta)), so lambda_j = E[1 - w_j | y].
* every other model: the shrinkage fraction (raw estimate - posterior mean) / (raw estimate -
  population mean) of :func:`hiermod.shrinkage.shrinkage_table` (link scale), no interval.

Overall (:func:`pooling_summary`):

* Gelman & Pardoe (2006), "Bayesian measures of explained variance and pooling in multilevel
  (hierarchical) models", Technometrics 48(2): with eps_j = theta_j - m_j (the group's deviation
  from its population mean),

      lambda = 1 - Var_j(E[eps_j | y]) / E[Var_j(eps_j) | y],

  Var_j the sample variance over the groups (in one draw), E over the posterior. lambda near 0:
  the groups keep their own estimates (little pooling); near 1: they are pooled to the mean.
* Summary data (normal with known se, one level): Higgins & Thompson (2002), "Quantifying
  heterogeneity in a meta-analysis", Stat Med 21: I^2 = tau^2 / (tau^2 + s^2), with the typical
  within-study variance

      s^2 = (k - 1) sum w_j / ((sum w_j)^2 - sum w_j^2),   w_j = 1 / se_j^2   (their eq. 9),

  as a posterior (one value per draw of tau) with a central interval; beside it the classical
  DerSimonian & Laird (1986) values from Cochran's Q = sum w_j (y_j - ybar_w)^2 (ybar_w the
  precision-weighted mean): tau^2_DL = max(0, (Q - (k - 1)) / (sum w - sum w^2 / sum w)) and
  I^2_DL = max(0, (Q - (k - 1)) / Q) (= tau^2_DL / (tau^2_DL + s^2)).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import populations
from .group_ranks import effect_draws, level_labels
from .shrinkage import _level_index, group_estimates, shrinkage_levels, shrinkage_table
from .table_helpers import _central, _check_prob, _pooling, _row_array

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

__all__ = ["pooling_factor_table", "pooling_summary", "gelman_pardoe_lambda", "dersimonian_laird",
           "typical_within_variance", "BASIS"]

BASIS = {
    "normal": "E[v_j / (v_j + tau^2) | y], v_j = the variance of the group's own estimate",
    "population": "E[1 - own-data weight | y] of the Beta / Gamma population",
    "shrinkage": "shrinkage fraction (raw - posterior mean) / (raw - population mean), link scale",
    "none": "no pooling: nothing is borrowed",
    "complete": "complete pooling: every group is the population mean",
}


def _own_variance_draws(fit: "Fit", n: np.ndarray) -> np.ndarray | None:
    """Draws (S, J) of v_j, the variance of group j's own estimate given the family's parameters,
    when the normal weight B_j is exact (see the module docstring); else None."""
    spec, family = fit.spec, fit.spec.family
    if not family.latent_gaussian or spec.covariates:
        return None
    if "sigma" in family.param_names:
        sigma = np.asarray(fit.draws("sigma"), dtype=float)
        return sigma[:, None] ** 2 / n[None, :]
    se = group_estimates(fit.data)["se"].to_numpy(float)
    return np.broadcast_to(se**2, (len(fit.draws(spec.row_term.scale)), len(se)))


def _lambda_draws(fit: "Fit", k: int) -> tuple[np.ndarray | None, str]:
    """Draws (S, J) of each group's exact weight on the population at term ``k``, and the basis key;
    (None, "shrinkage") when no exact weight exists."""
    term = fit.spec.terms[k]
    data = fit.data
    if term.conjugate:
        population = populations.get(term.population)
        total = np.bincount(data.group_idx, _row_array(data, population.total), data.n_groups)
        a, b = fit.draws("alpha").astype(float), fit.draws("beta").astype(float)
        return 1 - population.weight(a[:, None], b[:, None], total[None, :]), "population"
    if k != len(fit.spec.terms) - 1 or not term.partial:
        return None, "shrinkage"
    v = _own_variance_draws(fit, data.group_sizes.astype(float))
    if v is None:
        return None, "shrinkage"
    tau2 = np.asarray(fit.draws(term.scale), dtype=float)[:, None] ** 2
    return v / (v + tau2), "normal"


def pooling_factor_table(fit: "Fit", prob: float = 0.9, level: int | str | None = None) -> pd.DataFrame:
    """Per group of ``level`` (default the innermost): how much its estimate borrows from the others.

    Columns: group, n, se (of the group's own estimate, link scale; :func:`shrinkage_table`),
    pooling (lambda_j, the weight on the population, see the module docstring), pooling_low /
    pooling_high (central ``prob`` interval of lambda_j's draws where it has them, else NaN),
    pooling_mcse (sd / sqrt(draws) of lambda_j's draws, else NaN), own_weight = 1 - pooling,
    shrinkage (the realised fraction of :func:`shrinkage_table`), basis (which definition).
    ``attrs``: prob, basis (text), level.
    """
    prob = _check_prob(prob)
    k = _level_index(fit, level)
    table = shrinkage_table(fit, hdi_prob=prob, level=k)
    pooling = _pooling(fit)
    lam, basis = _lambda_draws(fit, k) if pooling == "partial" else (None, pooling)
    J = len(table)
    low = high = mcse = np.full(J, np.nan)
    if lam is not None:
        value = lam.mean(axis=0)
        low, high = _central(lam, prob, axis=0)
        mcse = lam.std(axis=0) / np.sqrt(lam.shape[0])
    elif basis == "shrinkage":
        value = table["shrinkage"].to_numpy(float)
    else:
        value = 1 - table["weight"].to_numpy(float)
    out = pd.DataFrame({
        "group": table["group"], "n": table["n"], "se": table["se"],
        "pooling": value, "pooling_low": low, "pooling_high": high, "pooling_mcse": mcse,
        "own_weight": 1 - value, "shrinkage": table["shrinkage"], "basis": basis,
    })
    out.attrs.update(prob=prob, basis=BASIS[basis], level=shrinkage_levels(fit)[k].column)
    return out


def gelman_pardoe_lambda(eps: np.ndarray) -> float:
    """1 - Var_j(E[eps_j]) / E[Var_j(eps_j)] for draws ``eps`` (S, J) of the groups' deviations from
    their population mean (sample variances over j, ddof 1). 1 when every eps is 0 (complete pooling)."""
    eps = np.asarray(eps, dtype=float)
    between = float(np.var(eps.mean(axis=0), ddof=1))
    within = float(np.mean(np.var(eps, axis=1, ddof=1)))
    return 1.0 if within == 0 else 1 - between / within


def typical_within_variance(se: np.ndarray) -> float:
    """Higgins & Thompson's s^2 = (k - 1) sum w / ((sum w)^2 - sum w^2), w = 1 / se^2."""
    w = 1 / np.asarray(se, dtype=float) ** 2
    return float((len(w) - 1) * w.sum() / (w.sum() ** 2 - np.sum(w**2)))


def dersimonian_laird(y: np.ndarray, se: np.ndarray) -> dict[str, float]:
    """Cochran's Q, its degrees of freedom, and the DerSimonian-Laird tau^2 and I^2 (module docstring)."""
    y, w = np.asarray(y, dtype=float), 1 / np.asarray(se, dtype=float) ** 2
    ybar = float(np.sum(w * y) / w.sum())
    q = float(np.sum(w * (y - ybar) ** 2))
    df = len(y) - 1
    tau2 = max(0.0, (q - df) / (w.sum() - np.sum(w**2) / w.sum()))
    i2 = max(0.0, (q - df) / q) if q > 0 else 0.0
    return {"q": q, "df": float(df), "tau2": tau2, "i2": i2, "pooled": ybar}


def _deviations(fit: "Fit", k: int) -> np.ndarray | None:
    """Draws (S, J) of theta_j - m_j at term ``k`` (m_j: mu, the parent's effect or the Beta / Gamma
    population's mean on the link scale); None for no pooling (no population)."""
    pooling = _pooling(fit)
    theta = effect_draws(fit, k)
    if pooling == "none":
        return None
    if pooling == "complete":
        return np.zeros_like(theta)
    term = fit.spec.terms[k]
    if term.conjugate:
        population = populations.get(term.population)
        mean = population.mean(fit.draws("alpha").astype(float), fit.draws("beta").astype(float))
        return theta - population.link(mean)[:, None]
    if term.own_location:
        return theta - np.asarray(fit.draws(term.location), dtype=float)[:, None]
    data = fit.data
    parent = data.levels[len(data.levels) - len(fit.spec.terms) + k].parent
    return theta - effect_draws(fit, k - 1)[:, parent]


def pooling_summary(fit: "Fit", prob: float = 0.9, level: int | str | None = None) -> pd.DataFrame:
    """Overall pooling of the groups of ``level``: one row per quantity, columns estimate (posterior
    mean for posterior quantities), low, high (central ``prob`` interval; NaN for point values), note.

    Rows: ``pooling_factor`` (Gelman & Pardoe's lambda; NaN for no pooling); for summary data
    (normal with known se, one level, partial pooling) also ``i2`` (posterior of Higgins &
    Thompson's I^2 = tau^2 / (tau^2 + s^2)), ``s2`` (their typical within-study variance),
    ``cochran_q``, ``tau2_dl`` and ``i2_dl`` (DerSimonian & Laird). The formulas and references:
    the module docstring. ``attrs``: prob, level, n_groups.
    """
    prob = _check_prob(prob)
    k = _level_index(fit, level)
    eps = _deviations(fit, k)
    J = len(level_labels(fit, k))
    rows = [{"quantity": "pooling_factor",
             "estimate": gelman_pardoe_lambda(eps) if eps is not None and J > 1 else np.nan,
             "low": np.nan, "high": np.nan,
             "note": ("Gelman & Pardoe (2006): 1 - Var_j(E[theta_j - m_j]) / E[Var_j(theta_j - m_j)]; "
                      "0 = no pooling, 1 = complete pooling" if eps is not None else
                      "no pooling has no population mean to pool toward")}]
    term = fit.spec.terms[k]
    if fit.spec.family.normal_known_se and len(fit.spec.terms) == 1 and term.partial and not fit.spec.covariates:
        rows += _i2_rows(fit, prob)
    out = pd.DataFrame(rows).set_index("quantity")
    out.attrs.update(prob=prob, level=shrinkage_levels(fit)[k].column, n_groups=J)
    return out


def _i2_rows(fit: "Fit", prob: float) -> list[dict]:
    """The I^2 rows of :func:`pooling_summary` for summary data."""
    estimates = group_estimates(fit.data)
    y, se = estimates["no_pooling"].to_numpy(float), estimates["se"].to_numpy(float)
    s2 = typical_within_variance(se)
    tau2 = np.asarray(fit.draws(fit.spec.terms[0].scale), dtype=float) ** 2
    i2 = tau2 / (tau2 + s2)
    low, high = _central(i2, prob)
    dl = dersimonian_laird(y, se)
    nan = np.nan
    return [
        {"quantity": "i2", "estimate": float(i2.mean()), "low": float(low), "high": float(high),
         "note": "Higgins & Thompson (2002) I^2 = tau^2 / (tau^2 + s^2), one value per posterior draw of tau"},
        {"quantity": "s2", "estimate": s2, "low": nan, "high": nan,
         "note": "typical within-study variance (k - 1) sum w / ((sum w)^2 - sum w^2), w = 1/se^2"},
        {"quantity": "cochran_q", "estimate": dl["q"], "low": nan, "high": nan,
         "note": f"Cochran's Q = sum w (y - ybar_w)^2 on {int(dl['df'])} degrees of freedom"},
        {"quantity": "tau2_dl", "estimate": dl["tau2"], "low": nan, "high": nan,
         "note": "DerSimonian & Laird (1986): max(0, (Q - df) / (sum w - sum w^2 / sum w))"},
        {"quantity": "i2_dl", "estimate": dl["i2"], "low": nan, "high": nan,
         "note": "classical I^2 = max(0, (Q - df) / Q)"},
    ]
