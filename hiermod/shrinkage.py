"""How far each group's estimate moves from its own data toward the pooled one.

Link scale (identity for normal data, logit for binomial, log for poisson); binomial and
poisson tables add ``*_response`` columns on the probability / rate scale.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import families
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

__all__ = ["COVARIATE_ADJUSTMENT", "group_estimates", "shrinkage_table"]

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


def _covariate_shift(fit: "Fit") -> tuple[np.ndarray, float, dict[str, float]] | None:
    """(shift_j, pooled shift, beta_hat) with shift_j = xbar_j . beta_hat, or None without covariates.

    beta_hat is the posterior mean of beta. xbar_j averages the rows of group j with the weights its
    own-data estimate has: 1 per row (gaussian), 1/se² (summary), trials (binomial), exposure
    (poisson); the pooled shift averages every row the same way (the weights of the pooled estimate
    in :func:`group_estimates`).
    """
    covariates = tuple(getattr(fit.spec, "covariates", ()) or ())
    if not covariates or "beta" not in fit.idata.posterior:
        return None
    data = fit.data
    cols = [list(data.covariate_names).index(c) for c in covariates]
    beta_hat = np.asarray(fit.draws("beta"), dtype=float).reshape(-1, len(cols)).mean(axis=0)
    xb = np.asarray(data.X, dtype=float)[:, cols] @ beta_hat
    # the row weights of each kind's estimate, read off the arrays the data have (no kind test)
    if getattr(data, "se", None) is not None:
        w = 1.0 / np.asarray(data.se, dtype=float) ** 2
    else:
        w = _row_array(data, "trials") * _row_array(data, "exposure")  # 1 per row when absent
    idx = np.asarray(data.group_idx)
    W = np.bincount(idx, w, data.n_groups)
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.bincount(idx, w * xb, data.n_groups) / W
    pooled = float(np.sum(w * xb) / np.sum(w))
    return shift, pooled, {c: float(b) for c, b in zip(covariates, beta_hat)}


def shrinkage_table(fit: "Fit", hdi_prob: float = 0.9, complete_fit: "Fit | None" = None) -> pd.DataFrame:
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
    """
    prob = _check_prob(hdi_prob)
    kind = _kind(fit)
    family = fit.spec.family
    table = group_estimates(fit.data)
    pooled_data = table.attrs["complete"]
    adjust = _covariate_shift(fit)
    if adjust is not None:
        shift, pooled_shift, beta_hat = adjust
        table["no_pooling"] = table["no_pooling"].to_numpy(float) - shift
        pooled_data = pooled_data - pooled_shift
    if complete_fit is not None:
        if "mu" not in complete_fit.idata.posterior:
            raise SpecError("complete_fit must be a complete- or partial-pooling fit (one with mu).")
        complete, source = _posterior_mean(complete_fit, "mu"), "complete_fit"
    elif "mu" in fit.idata.posterior:
        complete, source = _posterior_mean(fit, "mu"), "fit_mu"
    else:
        complete, source = pooled_data, "data"
    se = table["se"].to_numpy(float)
    if "sigma" in fit.spec.family.param_names and "sigma" in fit.idata.posterior:
        se = _posterior_mean(fit, "sigma") / np.sqrt(table["n"].to_numpy(float))
    theta = fit.draws("theta")
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
            tau = _posterior_mean(fit, "tau")
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
    if family.response:
        inv, var = family.inverse_link, family.response
        response = fit.draws(var) if var in fit.idata.posterior else inv(theta)
        r_low, r_high = _hdi(response, prob)
        out["no_pooling_response"] = inv(no_pool)
        out["partial_mean_response"] = response.mean(axis=0)
        out["partial_low_response"] = r_low
        out["partial_high_response"] = r_high
        out["complete_pooling_response"] = float(inv(complete))
    out.attrs.update(hdi_prob=prob, kind=kind, pooling=_pooling(fit), complete_source=source,
                     covariate_adjustment=COVARIATE_ADJUSTMENT if adjust is not None else "")
    if adjust is not None:
        out.attrs["beta_hat"] = adjust[2]
    return out
