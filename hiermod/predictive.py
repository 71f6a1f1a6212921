"""Everything after sampling, in numpy: linear predictor, pointwise log-likelihood, predictive draws,
and prior draws. No JAX, so nothing here compiles and the Model page's previews stay instant.

With draws s of the parameters and rows i (group g[i], covariates x_i):

    eta_si = theta_s[g[i]] + x_i . beta_s
    y_i ~ the family's observation (hiermod.families): log density and draws come from there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from . import priors as prior_lib
from .families import ROW_FIELDS
from .spec import ModelSpec, Pooling, Prior
from .terms import GroupTerm

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData


def linear_predictor(draws: dict[str, np.ndarray], data: "GroupedData", spec: ModelSpec) -> np.ndarray:
    """eta (S, n_rows) from draws with leading dimension S (``theta`` (S, J), ``beta`` (S, k))."""
    eta = np.asarray(draws["theta"], dtype=float)[:, np.asarray(data.group_idx)]
    if spec.covariates:
        cols = [list(data.covariate_names).index(c) for c in spec.covariates]
        eta = eta + np.asarray(draws["beta"], dtype=float) @ np.asarray(data.X, dtype=float)[:, cols].T
    return eta


def row_data(data: "GroupedData") -> dict[str, np.ndarray | None]:
    """The per-row data a family may read (se, trials, exposure; None where the data has none)."""
    return {name: getattr(data, name, None) for name in ROW_FIELDS}


def family_params(draws: dict[str, np.ndarray], spec: ModelSpec) -> dict[str, np.ndarray]:
    """The family's own parameters from ``draws`` as (S, 1) columns, to broadcast over rows."""
    return {name: np.asarray(draws[name], dtype=float)[:, None] for name in spec.family.param_names}


def pointwise_log_likelihood(draws: dict[str, np.ndarray], data: "GroupedData", spec: ModelSpec) -> np.ndarray:
    """log p(y_i | draw s), shape (S, n_rows), for LOO."""
    eta = linear_predictor(draws, data, spec)
    y = np.asarray(data.y, dtype=float)
    return spec.family.log_likelihood(y, eta, row_data(data), family_params(draws, spec))


def draw_outcomes(draws: dict[str, np.ndarray], data: "GroupedData", spec: ModelSpec,
                  rng: np.random.Generator) -> np.ndarray:
    """One replicated data set per draw: y_rep (S, n_rows)."""
    eta = linear_predictor(draws, data, spec)
    return spec.family.draw(eta, row_data(data), family_params(draws, spec), rng)


def response_scale(spec: ModelSpec) -> str | None:
    """Name of the response-scale group value (``p``, ``rate``) or None (the family's ``response``)."""
    return spec.family.response


def to_response(spec: ModelSpec, theta: np.ndarray) -> np.ndarray:
    """theta on the link scale -> response scale (the family's inverse link)."""
    return spec.family.inverse_link(theta)


def _term_prior_draws(term: GroupTerm, priors: dict[str, Prior], n: int, J: int,
                      rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Prior draws of one term's parameters and effects, shaped (n,) and (n, J)."""
    if term.pooling == Pooling.NONE:
        return {term.effect: prior_lib.sample(priors[term.effect], rng, (n, J))}
    out = {term.location: prior_lib.sample(priors[term.location], rng, n)}
    if term.pooling == Pooling.COMPLETE:
        out[term.effect] = np.repeat(out[term.location][:, None], J, axis=1)
        return out
    out[term.scale] = prior_lib.sample(priors[term.scale], rng, n)
    z = rng.standard_normal((n, J))
    out[term.effect] = out[term.location][:, None] + out[term.scale][:, None] * z
    if term.non_centered:
        out[term.decentered] = z
    return out


MAX_ROW_VALUES = 20_000_000
"""At most this many values in one (draws x rows) array of replicated outcomes (160 MB in float64)."""


def prior_draws(data: "GroupedData", spec: ModelSpec, priors: dict[str, Prior], n: int,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draws from the prior: every parameter of ``spec``, shaped (n, ...), plus ``y``.

    ``y`` is (m, n_rows), replicated data for the first m = min(n, MAX_ROW_VALUES // n_rows) (at
    least 1) parameter draws, so memory stays bounded for large data (1,000,000 rows: 20 data sets).
    """
    J = data.n_groups
    out: dict[str, np.ndarray] = {}
    for term in spec.terms:
        out.update(_term_prior_draws(term, priors, n, J, rng))
    for name in spec.family.param_names:
        out[name] = prior_lib.sample(priors[name], rng, n)
    if spec.covariates:
        out["beta"] = np.column_stack([prior_lib.sample(priors[f"beta[{c}]"], rng, n) for c in spec.covariates])
    response = response_scale(spec)
    if response:
        out[response] = to_response(spec, out["theta"])
    m = max(1, min(n, MAX_ROW_VALUES // max(1, data.n_rows)))
    first = {k: v[:m] for k, v in out.items()} if m < n else out
    out["y"] = draw_outcomes(first, data, spec, rng)
    return out
