"""The pooling continuum (BDA3 figure 5.6): every group's estimate as a function of tau.

For normal data with group estimates ``ybar_j`` and standard errors ``s_j``, given tau,

    E[theta_j | tau, y] = w_j ybar_j + (1 - w_j) E[mu | tau, y],   w_j = tau^2 / (s_j^2 + tau^2),

from complete pooling (tau -> 0, w_j = 0) to no pooling (tau -> inf, w_j = 1); mu is integrated
given tau under its prior (flat when none is given). Summary data use each group's
precision-weighted estimate and se; gaussian (row-level) data use the group means with
``s_j = sigma / sqrt(n_j)``, sigma the pooled within-group sd (treated as known).

Also the exact grid posterior of tau as a table, for shading under the continuum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import SpecError
from .exact import _prior_times_normal
from .kind_registry import kind_info
from .spec import Pooling, parse_prior

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .exact import ExactPosterior
    from .result import Fit

__all__ = ["pooling_continuum", "continuum_at", "tau_posterior_table"]


def _continuum_inputs(data: "GroupedData") -> tuple[np.ndarray, np.ndarray]:
    """(ybar_j, s_j): each group as a normal measurement (:mod:`hiermod.kind_registry`)."""
    info = kind_info(data.kind)
    if info.normal_estimates is None:
        raise SpecError(f"The pooling continuum is for summary or gaussian data, not {info.name} data.")
    return info.normal_estimates(data)


def _prior_mu(priors_or_fit: Any):
    priors = getattr(priors_or_fit, "priors", priors_or_fit) or {}
    return parse_prior(priors["mu"]) if "mu" in priors else None


def _check_taus(taus) -> np.ndarray:
    taus = np.asarray(taus, dtype=float).ravel()
    if np.any(taus < 0) or not np.all(np.isfinite(taus)):
        raise SpecError("taus must be finite numbers >= 0.")
    return taus


def _given_tau(ybar: np.ndarray, s: np.ndarray, prior_mu, taus: np.ndarray):
    """(w (T, J) = tau^2 / (s_j^2 + tau^2), B = s_j^2 / (s_j^2 + tau^2) = 1 - w,
    E[mu | tau, y] (T,), Var[mu | tau, y] (T,))."""
    t2 = taus[:, None] ** 2
    v = s[None, :] ** 2 + t2
    prec = 1.0 / v
    W = prec.sum(axis=1)
    _, emu, vmu = _prior_times_normal(prior_mu, (prec @ ybar) / W, 1.0 / W)
    return t2 / v, s[None, :] ** 2 / v, emu, vmu


def pooling_continuum(data: "GroupedData", priors_or_fit: Any = None, taus=None) -> pd.DataFrame:
    """E[theta_j | tau, y] and its sd along tau, from complete pooling (tau -> 0) to none (tau large).

    ``E[theta_j | tau, y] = B_j E[mu | tau, y] + (1 - B_j) ybar_j`` and
    ``Var = (1 - B_j) s_j^2 + B_j^2 Var[mu | tau, y]`` with ``B_j = s_j^2 / (s_j^2 + tau^2)`` and mu
    integrated given tau under its prior (BDA3 figure 5.6). ``priors_or_fit``: a :class:`Fit`, a mapping
    of priors (``mu`` is used), or None for a flat prior on mu (as in BDA3).
    Summary data use each group's precision-weighted estimate and se. Gaussian (row-level) data use
    the group means with ``s_j = sigma / sqrt(n_j)``, sigma the pooled within-group sd
    ``sqrt(sum (y - ybar_g)^2 / (N - J))``: an approximation that treats sigma as known.
    ``taus``: default 0 then 120 values geometric from 1e-3 c to 1e2 c (c = data scale).
    Columns: group, tau, estimate, sd (group-major, tau ascending).
    """
    ybar, s = _continuum_inputs(data)
    prior_mu = _prior_mu(priors_or_fit)
    if taus is None:
        c = max(float(np.std(ybar, ddof=1)) if ybar.size > 1 else 0.0, float(np.median(s)))
        c = c if c > 0 else 1.0
        taus = np.concatenate([[0.0], np.geomspace(1e-3 * c, 1e2 * c, 120)])
    taus = _check_taus(taus)
    own, B, emu, vmu = _given_tau(ybar, s, prior_mu, taus)
    est = B * emu[:, None] + own * ybar[None, :]
    sd = np.sqrt(own * s[None, :] ** 2 + B**2 * vmu[:, None])
    J, T = ybar.shape[0], taus.shape[0]
    return pd.DataFrame({
        "group": np.repeat(np.asarray(data.labels, dtype=object), T),
        "tau": np.tile(taus, J),
        "estimate": est.T.ravel(),
        "sd": sd.T.ravel(),
    })


def continuum_at(data: "GroupedData", priors_or_fit: Any, tau: float) -> pd.DataFrame:
    """Each group's estimate at one tau, with the weight its own data get.

    With the continuum's ``ybar_j`` and ``s_j`` (see :func:`pooling_continuum`; for gaussian data
    ``s_j = sigma / sqrt(n_j)`` with the pooled within-group sd, not the fit's sigma)::

        weight_own_data_j = (1/s_j^2) / (1/s_j^2 + 1/tau^2) = tau^2 / (s_j^2 + tau^2)
        estimate_at_tau_j = weight_j * ybar_j + (1 - weight_j) * E[mu | tau, y]

    (weight 0 at tau = 0). Weight and estimate use the same s_j, so the estimate is exactly the
    weighted average the weight describes. ``priors_or_fit``: as for :func:`pooling_continuum`.
    Columns: group, no_pooling (ybar_j), se (s_j), weight_own_data, estimate_at_tau;
    ``attrs["mu_given_tau"]`` is E[mu | tau, y].
    """
    ybar, s = _continuum_inputs(data)
    taus = _check_taus([tau])
    if taus.size != 1:
        raise SpecError("continuum_at takes one tau.")
    own, _, emu, _ = _given_tau(ybar, s, _prior_mu(priors_or_fit), taus)
    weight, mu = own[0], float(emu[0])
    out = pd.DataFrame({
        "group": np.asarray(data.labels, dtype=object),
        "no_pooling": ybar,
        "se": s,
        "weight_own_data": weight,
        "estimate_at_tau": weight * ybar + (1.0 - weight) * mu,
    })
    out.attrs.update(tau=float(taus[0]), mu_given_tau=mu)
    return out


def tau_posterior_table(exact: "ExactPosterior | Fit", mass: float = 0.999) -> pd.DataFrame:
    """The grid posterior of tau as columns (tau, density), up to its ``mass`` quantile (for shading)."""
    ep = getattr(exact, "exact", None) or exact
    if ep.pooling != Pooling.PARTIAL:
        raise SpecError("tau's posterior exists only under partial pooling.")
    cdf = ep.cdf("tau", ep.tau_grid)
    stop = int(np.searchsorted(cdf, mass)) + 1
    return pd.DataFrame({"tau": ep.tau_grid[:stop], "density": ep.tau_density[:stop]})
