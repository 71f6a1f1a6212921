"""How far each group's estimate moves from its own data toward the pooled one.

Link scale (identity for normal data, logit for binomial, log for poisson); binomial and
poisson tables add ``*_response`` columns on the probability / rate scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import families, populations
from .errors import SpecError
from .table_helpers import (
    _check_prob,
    _hdi,
    _kind,
    _pooling,
    _posterior_mean,
    _row_array,
)

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .result import Fit

__all__ = ["COVARIATE_ADJUSTMENT", "group_estimates", "shrinkage_table", "shrinkage_levels", "ShrinkageLevel"]

COVARIATE_ADJUSTMENT = (
    "no_pooling and pooled_data are covariate-adjusted: the group's own estimate minus xbar_j . beta_hat "
    "(xbar_j = the group's mean covariates, weighted like its estimate; beta_hat = posterior mean of "
    "beta), i.e. the group's intercept at x = 0 like theta and mu")


def group_estimates(data: "GroupedData") -> pd.DataFrame:
    """Each group's own-data (no-pooling) estimate on the link scale, its standard error and the
    complete-pooling estimate (in ``attrs["complete"]``).

    The family of the data's kind says how (:meth:`hiermod.families.Family.group_estimates`):
    summary: y_j with its se_j; complete = precision-weighted mean of the y_j.
    gaussian: group mean, se = sd / sqrt(n); complete = grand mean of all rows.
    binomial: logit((y + 0.5) / (n + 1)) with se = sqrt(1/(y + 0.5) + 1/(n - y + 0.5));
        complete = logit((sum y + 0.5) / (sum n + 1)).
    poisson: log((y + 0.5) / exposure) with se = 1 / sqrt(y + 0.5);
        complete = log((sum y + 0.5) / sum exposure).
    """
    gs = data.group_summary()
    out = pd.DataFrame({"group": gs["group"].astype(str).to_numpy(dtype=object), "n": gs["n"].to_numpy()})
    with np.errstate(divide="ignore", invalid="ignore"):
        est, se, complete = families.default_for_kind(data.kind).group_estimates(data)
    out["no_pooling"] = est
    out["se"] = se
    out.attrs["complete"] = complete
    return out


def _row_weights(data: "GroupedData") -> np.ndarray:
    """Each row's weight in its group's own estimate: 1 per row (gaussian), 1/se² (summary),
    trials (binomial), exposure (poisson), read off the arrays the data have (no kind test)."""
    if getattr(data, "se", None) is not None:
        return 1.0 / np.asarray(data.se, dtype=float) ** 2
    return _row_array(data, "trials") * _row_array(data, "exposure")  # 1 per row when absent


def _covariate_shift(fit: "Fit", data: "GroupedData | None" = None
                     ) -> tuple[np.ndarray, float, dict[str, float]] | None:
    """(shift_j, pooled shift, beta_hat) with shift_j = xbar_j . beta_hat, or None without covariates.

    beta_hat is the posterior mean of beta. xbar_j averages the rows of group j of ``data`` (the
    fit's data grouped by one level; default the fit's own groups) with the weights its own-data
    estimate has (:func:`_row_weights`); the pooled shift averages every row the same way (the
    weights of the pooled estimate in :func:`group_estimates`).
    """
    covariates = tuple(getattr(fit.spec, "covariates", ()) or ())
    if not covariates or "beta" not in fit.idata.posterior:
        return None
    data = fit.data if data is None else data
    cols = [list(data.covariate_names).index(c) for c in covariates]
    beta_hat = np.asarray(fit.draws("beta"), dtype=float).reshape(-1, len(cols)).mean(axis=0)
    xb = np.asarray(data.X, dtype=float)[:, cols] @ beta_hat
    w = _row_weights(data)
    idx = np.asarray(data.group_idx)
    W = np.bincount(idx, w, data.n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.bincount(idx, w * xb, data.n_groups) / W
    pooled = float(np.sum(w * xb) / np.sum(w))
    return shift, pooled, {c: float(b) for c, b in zip(covariates, beta_hat)}


# ------------------------------------------------------------------------------------ levels


@dataclass(frozen=True)
class ShrinkageLevel:
    """One level of a fit's shrinkage: ``level`` indexes ``fit.spec.terms`` (outermost first),
    ``column`` is the data's grouping column, ``effect`` the posterior variable of its groups,
    ``toward`` what they are pulled toward ("mu" or the parent's effect; "population mean" for a
    Beta/Gamma population) and ``title`` a plain sentence for the page ("schools toward the grand
    mean", "classes toward their school")."""

    level: int
    column: str
    effect: str
    toward: str
    parent_column: str | None
    title: str


def _level_columns(fit: "Fit") -> list[str]:
    """The data's grouping column behind each term (one-level terms are called "group")."""
    terms = fit.spec.terms
    levels = fit.data.levels[-len(terms):] if fit.data.levels else ()
    return [level.column for level in levels] if len(levels) == len(terms) else [t.factor for t in terms]


def shrinkage_levels(fit: "Fit") -> list[ShrinkageLevel]:
    """The levels :func:`shrinkage_table` can show, outermost first (one for a one-level fit)."""
    terms = fit.spec.terms
    columns = _level_columns(fit)
    out = []
    for k, (term, column) in enumerate(zip(terms, columns)):
        parent = columns[k - 1] if k > 0 else None
        if term.conjugate:
            title = f"each {column} toward the population mean"
        elif parent is None:
            title = f"each {column} toward the grand mean" if len(terms) > 1 else \
                "each group toward the grand mean"
        else:
            title = f"each {column} toward its {parent}"
        out.append(ShrinkageLevel(k, column, term.effect, term.location if not term.conjugate else "population mean",
                                  parent, title))
    return out


def _level_index(fit: "Fit", level: int | str | None) -> int:
    """``level`` (term index, negative from the end, or the grouping column / factor name; None:
    the innermost) -> index into ``fit.spec.terms``."""
    terms = fit.spec.terms
    if level is None:
        return len(terms) - 1
    if isinstance(level, str):
        names = _level_columns(fit)
        for k, (term, column) in enumerate(zip(terms, names)):
            if level in (column, term.factor, term.dim, term.effect):
                return k
        raise SpecError(f"This fit has no grouping level {level!r}; its levels are {', '.join(names)}.")
    k = int(level)
    if not -len(terms) <= k < len(terms):
        raise SpecError(f"level must be 0 to {len(terms) - 1} (outermost first); got {level!r}.")
    return k % len(terms)


def _inner_variance(fit: "Fit", data_index: int, weights: np.ndarray) -> np.ndarray:
    """Per group of data level ``data_index``: the variance its own estimate (a weighted mean of
    its rows) gets from the random effects of the levels inside it, sum over inner levels l of
    tau_l² sum_g (W_g / W_j)² (W: summed row weights of subgroup g of level l inside group j),
    with tau_l at its posterior mean. Zero for the innermost level."""
    data, terms = fit.data, fit.spec.terms
    first = len(data.levels) - len(terms)
    owner = data.level_idx(data_index)
    W = np.bincount(owner, weights, data.levels[data_index].n_groups)
    out = np.zeros(data.levels[data_index].n_groups)
    for l in range(data_index + 1, len(data.levels)):
        scale = terms[l - first].scale
        if scale not in fit.idata.posterior:
            continue
        idx = data.level_idx(l)
        Wg = np.bincount(idx, weights, data.levels[l].n_groups)
        up = np.zeros(data.levels[l].n_groups, dtype=np.int64)
        up[idx] = owner  # each subgroup's group at data_index
        with np.errstate(divide="ignore", invalid="ignore"):
            out += _posterior_mean(fit, scale) ** 2 * np.bincount(up, (Wg / W[up]) ** 2, len(out))
    return out


def _level_estimates(fit: "Fit", data_index: int) -> tuple["GroupedData", pd.DataFrame]:
    """The data grouped by data level ``data_index`` alone and its own-data estimates
    (:func:`group_estimates`); groups of an outer level of one-row-per-group data (summary) take
    the precision-pooled estimates of :meth:`GroupedData.level_summary`."""
    from .kind_registry import kind_info

    data = fit.data
    innermost = data_index == len(data.levels) - 1
    view = data if innermost else data.at_level(data_index)
    table = group_estimates(view)
    if not innermost and kind_info(data.kind).one_row_per_group:
        summary = data.level_summary(data_index)
        table["no_pooling"] = summary["estimate"].to_numpy(float)
        table["se"] = summary["se"].to_numpy(float)
        w = 1 / table["se"].to_numpy(float) ** 2
        table.attrs["complete"] = float(np.sum(w * table["no_pooling"]) / np.sum(w))
    return view, table


def shrinkage_table(fit: "Fit", hdi_prob: float = 0.9, complete_fit: "Fit | None" = None,
                    level: int | str | None = None) -> pd.DataFrame:
    """How far each group's estimate moved from its own data toward the overall estimate.

    Columns (link scale): group, n, se, precision (= 1/se²), no_pooling (the group's own-data
    estimate, see :func:`group_estimates`), partial_mean / partial_low / partial_high (posterior
    mean and ``hdi_prob`` HDI of theta in ``fit``), complete_pooling (the estimate every group
    is pulled toward: the posterior mean of mu in ``complete_fit`` when given; otherwise the
    posterior mean of the fit's own mu (partial or complete pooling), which is what the model
    shrinks toward under its priors; for a no-pooling fit, ``pooled_data``), pooled_data (the data's pooled
    estimate, see :func:`group_estimates`), shrinkage = 1 - (partial - complete) / (no_pooling -
    complete): 0 = the group keeps its own estimate, 1 = it is pulled
    all the way to the pooled one (NaN when a group's own estimate equals the pooled one), and
    weight = precision / (precision + 1/tau²) with tau's posterior mean: the weight the normal
    model gives the group's own data (the expected shrinkage is 1 - weight). For gaussian data
    fitted with sigma, se = posterior-mean sigma / sqrt(n) (what the model uses); for binomial
    and poisson, se and weight use the link-scale approximation above. No pooling: weight 1;
    complete pooling: weight 0.
    With covariates, theta and mu are intercepts at x = 0, so no_pooling and pooled_data are
    covariate-adjusted the same way to compare like with like: own estimate minus
    ``xbar_j . beta_hat`` with beta_hat the posterior mean of beta and xbar_j the group's mean
    covariates (rows weighted like the estimate: 1 each for gaussian, where this is exactly the
    group mean of ``y - x . beta_hat``; trials / exposure for binomial / poisson, where it is a
    link-scale approximation); the pooled value subtracts the overall mean. ``attrs`` then hold
    ``covariate_adjustment`` (this rule in words) and ``beta_hat``; without covariates
    ``attrs["covariate_adjustment"]`` is "".
    Binomial and poisson also get no_pooling_response, partial_mean_response,
    partial_low_response, partial_high_response and complete_pooling_response (probability or
    rate per unit of exposure).

    ``level`` (nested fits; see :func:`shrinkage_levels`): which grouping level, outermost first
    (0), by index or column name; default the innermost. Each group of the level: its own
    estimate from all its rows, the posterior of that level's effect, and what it is pulled
    toward: mu for the outermost level, the posterior mean of its parent's effect for an inner
    one (``complete_pooling`` differs by group; a ``parent`` column names the parent). The se of
    an outer group's own estimate adds the inner levels' spread (tau_l at their posterior means,
    see :func:`_inner_variance`), so weight = precision / (precision + 1/tau_k²) stays the
    model's weight on the group's own data.

    Beta/Gamma populations (no tau, no mu): see :func:`_population_table`; the table has the same
    columns, pulled toward the population mean alpha / (alpha + beta) or alpha / beta.
    """
    prob = _check_prob(hdi_prob)
    k = _level_index(fit, level)
    term = fit.spec.terms[k]
    if term.conjugate:
        return _population_table(fit, term, prob)
    data = fit.data
    data_index = len(data.levels) - len(fit.spec.terms) + k if data.levels else 0
    kind = _kind(fit)
    family = fit.spec.family
    view, table = _level_estimates(fit, data_index) if data.levels else (data, group_estimates(data))
    pooled_data = table.attrs["complete"]
    adjust = _covariate_shift(fit, view)
    if adjust is not None:
        shift, pooled_shift, beta_hat = adjust
        table["no_pooling"] = table["no_pooling"].to_numpy(float) - shift
        pooled_data = pooled_data - pooled_shift
    post = fit.idata.posterior
    parent_labels = None
    if complete_fit is not None:
        if "mu" not in complete_fit.idata.posterior:
            raise SpecError("complete_fit must be a complete- or partial-pooling fit (one with mu).")
        complete, source = _posterior_mean(complete_fit, "mu"), "complete_fit"
    elif not term.own_location and term.location in post:
        parent = data.levels[data_index].parent
        complete = fit.draws(term.location).mean(axis=0)[parent]
        parent_labels = [data.levels[data_index - 1].labels[j] for j in parent]
        source = "parent"
    elif "mu" in post:
        complete, source = _posterior_mean(fit, "mu"), "fit_mu"
    else:
        complete, source = pooled_data, "data"
    se = table["se"].to_numpy(float)
    if "sigma" in fit.spec.family.param_names and "sigma" in post:
        se = _posterior_mean(fit, "sigma") / np.sqrt(table["n"].to_numpy(float))
    if data.levels and data_index < len(data.levels) - 1:
        se = np.sqrt(se**2 + _inner_variance(fit, data_index, _row_weights(data)))
    theta = fit.draws(term.effect)
    partial_mean = theta.mean(axis=0)
    low, high = _hdi(theta, prob)
    no_pool = table["no_pooling"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = 1 / se**2
        diff = no_pool - complete
        tiny = 1e-9 * max(1.0, float(np.nanmax(np.abs(no_pool))) if len(no_pool) else 1.0)
        shrinkage = np.where(np.abs(diff) > tiny, 1 - (partial_mean - complete) / diff, np.nan)
        pooling = _pooling(fit)
        if pooling == "partial":
            tau = _posterior_mean(fit, term.scale)
            weight = precision / (precision + 1 / tau**2)
        elif pooling == "none":
            weight = np.ones_like(precision)
        else:
            weight = np.zeros_like(precision)
    out = pd.DataFrame({
        "group": table["group"],
        "n": table["n"],
        "se": se,
        "precision": precision,
        "no_pooling": no_pool,
        "partial_mean": partial_mean,
        "partial_low": low,
        "partial_high": high,
        "complete_pooling": complete,
        "pooled_data": pooled_data,
        "shrinkage": shrinkage,
        "weight": weight,
    })
    if parent_labels is not None:
        out.insert(1, "parent", parent_labels)
    if family.response:
        inv, var = family.inverse_link, family.response
        innermost = k == len(fit.spec.terms) - 1
        response = fit.draws(var) if var in post and innermost else inv(theta)
        r_low, r_high = _hdi(response, prob)
        out["no_pooling_response"] = inv(no_pool)
        out["partial_mean_response"] = response.mean(axis=0)
        out["partial_low_response"] = r_low
        out["partial_high_response"] = r_high
        out["complete_pooling_response"] = inv(complete) if np.ndim(complete) else float(inv(complete))
    out.attrs.update(hdi_prob=prob, kind=kind, pooling=_pooling(fit), complete_source=source,
                     covariate_adjustment=COVARIATE_ADJUSTMENT if adjust is not None else "")
    if adjust is not None:
        out.attrs["beta_hat"] = adjust[2]
    if len(fit.spec.terms) > 1:
        out.attrs.update(level=k, level_column=shrinkage_levels(fit)[k].column)
    return out


# ------------------------------------------------------------------- Beta / Gamma populations


def _population_table(fit: "Fit", term, prob: float) -> pd.DataFrame:
    """Shrinkage of a Beta/Gamma population, on the probability / rate scale first.

    Each group's raw value Y_j / T_j (successes / trials, events / exposure) moves to the
    posterior mean of p_j / rate_j, toward the population mean (alpha / (alpha + beta), or
    alpha / beta; posterior mean over the draws). Given (alpha, beta) the move is exact:
    E[p_j] = w_j Y_j/T_j + (1 - w_j) mean with w_j = T_j / (T_j + alpha + beta) (Gamma:
    E_j / (E_j + beta)); ``weight`` is the posterior mean of w_j. Response columns hold these
    values; the link columns are logit / log ones (no_pooling the corrected own estimate of
    :func:`group_estimates`, finite for 0 events; partial_* from theta = link(p) draws);
    ``se`` and ``precision`` are the link-scale ones of :func:`group_estimates`;
    ``shrinkage`` is measured on the response scale.
    """
    data = fit.data
    rule = population = populations.get(term.population)
    table = group_estimates(data)
    idx = np.asarray(data.group_idx)
    total = np.bincount(idx, _row_array(data, population.total), data.n_groups)
    events = np.bincount(idx, np.asarray(data.y, dtype=float), data.n_groups)
    alpha, beta = fit.draws("alpha").astype(float), fit.draws("beta").astype(float)
    mean = float(np.mean(rule.mean(alpha, beta)))
    weight = rule.weight(alpha[:, None], beta[:, None], total[None, :]).mean(axis=0)
    values = fit.draws(term.population_value).astype(float)
    theta = fit.draws(term.effect) if term.effect in fit.idata.posterior else population.link(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = events / total
        partial = values.mean(axis=0)
        diff = raw - mean
        shrinkage = np.where(np.abs(diff) > 1e-12, 1 - (partial - mean) / diff, np.nan)
        link = population.link
        se = table["se"].to_numpy(float)
        r_low, r_high = _hdi(values, prob)
        low, high = _hdi(theta, prob)
        out = pd.DataFrame({
            "group": table["group"],
            "n": table["n"],
            "se": se,
            "precision": 1 / se**2,
            "no_pooling": table["no_pooling"].to_numpy(float),
            "partial_mean": theta.mean(axis=0),
            "partial_low": low,
            "partial_high": high,
            "complete_pooling": float(link(mean)),
            "pooled_data": table.attrs["complete"],
            "shrinkage": shrinkage,
            "weight": weight,
            "no_pooling_response": raw,
            "partial_mean_response": partial,
            "partial_low_response": r_low,
            "partial_high_response": r_high,
            "complete_pooling_response": mean,
        })
    out.attrs.update(hdi_prob=prob, kind=_kind(fit), pooling=_pooling(fit), complete_source="population",
                     covariate_adjustment="", population=term.population.value,
                     population_mean=rule.mean_text, population_weight=rule.weight_text,
                     population_total=population.total, population_label=population.value_label)
    return out

