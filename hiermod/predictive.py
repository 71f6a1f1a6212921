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
from . import populations
from .terms import CORRELATION_PRIOR, GroupTerm

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData


def linear_predictor(draws: dict[str, np.ndarray], data: "GroupedData", spec: ModelSpec) -> np.ndarray:
    """eta (S, n_rows) from draws with leading dimension S: the innermost term's effects
    (``theta`` (S, J)), plus x . beta (``beta`` (S, k)), plus each varying slope's deviation
    (slope_x - beta[x]) x."""
    term = spec.row_term
    g = np.asarray(data.for_groups(spec.groups).group_idx)
    eta = np.asarray(draws[term.effect], dtype=float)[:, g]
    if spec.covariates:
        cols = [list(data.covariate_names).index(c) for c in spec.covariates]
        beta = np.asarray(draws["beta"], dtype=float)
        X = np.asarray(data.X, dtype=float)
        eta = eta + beta @ X[:, cols].T
        for x in term.slopes:
            deviation = np.asarray(draws[term.slope_effect(x)], dtype=float) - beta[:, [spec.covariates.index(x)]]
            eta += deviation[:, g] * X[:, list(data.covariate_names).index(x)]
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


def _term_prior_draws(term: GroupTerm, priors: dict[str, Prior], n: int, J: int, rng: np.random.Generator,
                      centre: np.ndarray | None = None, slope_means: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Prior draws of one term's parameters and effects, shaped (n,) and (n, J) (the math:
    :mod:`hiermod.terms`). ``centre`` (n, J): the parent's effects of each group (nested terms);
    ``slope_means`` (n, k): beta[x] of the term's slopes."""
    if term.pooling == Pooling.NONE:
        return {term.effect: prior_lib.sample(priors[term.effect], rng, (n, J))}
    if term.conjugate:
        return _population_prior_draws(term, priors, n, J, rng)
    out = {}
    if centre is None:
        out[term.location] = prior_lib.sample(priors[term.location], rng, n)
        centre = out[term.location][:, None]
    if term.pooling == Pooling.COMPLETE:
        out[term.effect] = np.broadcast_to(centre, (n, J)).copy()
        return out
    out[term.scale] = prior_lib.sample(priors[term.scale], rng, n)
    if term.slopes:
        out.update(_slope_prior_draws(term, priors, n, J, rng, centre, out[term.scale], slope_means))
        return out
    if term.df:
        out[term.df] = prior_lib.sample(priors[term.df], rng, n)
    z = term.standard_effects(rng, (n, J), out.get(term.df))
    out[term.effect] = centre + out[term.scale][:, None] * z
    if term.non_centered:
        out[term.decentered] = z
    return out


def _slope_prior_draws(term: GroupTerm, priors: dict[str, Prior], n: int, J: int, rng: np.random.Generator,
                       centre: np.ndarray, tau: np.ndarray, slope_means: np.ndarray) -> dict[str, np.ndarray]:
    """(theta_j, slope_j) = means + (z_j L^T) * sd, L the Cholesky factor of R ~ LKJ(eta) (or I)."""
    k = len(term.slopes)
    out = {term.slope_scale(x): prior_lib.sample(priors[term.slope_scale(x)], rng, n) for x in term.slopes}
    sd = np.column_stack([tau] + [out[term.slope_scale(x)] for x in term.slopes])  # (n, k+1)
    if term.correlated:
        R = lkj_correlations(n, k + 1, priors[CORRELATION_PRIOR].args[0], rng)
        chol = np.linalg.cholesky(R)
    else:
        chol = np.broadcast_to(np.eye(k + 1), (n, k + 1, k + 1))
    z = rng.standard_normal((n, J, k + 1))
    means = np.concatenate([np.broadcast_to(centre, (n, J))[..., None],
                            np.broadcast_to(slope_means[:, None, :], (n, J, k))], axis=-1)
    coef = means + np.einsum("njk,nlk->njl", z, chol) * sd[:, None, :]
    out[term.effect] = coef[..., 0]
    if term.non_centered:
        out[term.decentered] = z[..., 0]  # L[0, 0] = 1: the intercept's own standardized effect
    for i, x in enumerate(term.slopes):
        out[term.slope_effect(x)] = coef[..., i + 1]
        if term.correlated:
            out[term.slope_correlation(x)] = R[:, 0, i + 1]
    return out


def _population_prior_draws(term: GroupTerm, priors: dict[str, Prior], n: int, J: int,
                            rng: np.random.Generator) -> dict[str, np.ndarray]:
    """alpha, beta from their priors, the group values from the Beta/Gamma population, theta on the link scale."""
    population = populations.get(term.population)
    out = {name: prior_lib.sample(priors[name], rng, n) for name in ("alpha", "beta")}
    value = population.draw(out["alpha"], out["beta"], (n, J), rng)
    out[population.value] = value
    out[term.effect] = population.link(value)
    return out


def lkj_correlations(n: int, dim: int, eta: float, rng: np.random.Generator) -> np.ndarray:
    """n correlation matrices (n, dim, dim) from LKJ(eta), by the onion method (Lewandowski,
    Kurowicka and Joe 2009): for dim 2, (r + 1) / 2 ~ Beta(eta, eta)."""
    b = eta + (dim - 2) / 2
    r = 2 * rng.beta(b, b, size=n) - 1
    R = np.zeros((n, dim, dim))
    R[:, 0, 0] = R[:, 1, 1] = 1
    R[:, 0, 1] = R[:, 1, 0] = r
    for k in range(2, dim):
        b -= 0.5
        y = rng.beta(k / 2, b, size=n)
        u = rng.standard_normal((n, k))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        w = np.sqrt(y)[:, None] * u
        z = np.einsum("nij,nj->ni", np.linalg.cholesky(R[:, :k, :k]), w)
        R[:, :k, k] = R[:, k, :k] = z
        R[:, k, k] = 1
    return R


MAX_ROW_VALUES = 20_000_000
"""At most this many values in one (draws x rows) array of replicated outcomes (160 MB in float64)."""


def prior_draws(data: "GroupedData", spec: ModelSpec, priors: dict[str, Prior], n: int,
                rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draws from the prior: every parameter of ``spec``, shaped (n, ...), plus ``y``.

    ``y`` is (m, n_rows), replicated data for the first m = min(n, MAX_ROW_VALUES // n_rows) (at
    least 1) parameter draws, so memory stays bounded for large data (1,000,000 rows: 20 data sets).
    """
    data = data.for_groups(spec.groups)
    levels = data.levels[-len(spec.terms):]
    out: dict[str, np.ndarray] = {}
    slopes = spec.row_term.slopes
    if slopes:  # the mean slopes come before the term that varies them
        out["beta"] = _beta_prior_draws(spec, priors, n, rng)
    slope_means = out["beta"][:, [spec.covariates.index(x) for x in slopes]] if slopes else None
    centre = None
    for term, level in zip(spec.terms, levels):
        if centre is not None:
            centre = centre[:, level.parent]
        out.update(_term_prior_draws(term, priors, n, level.n_groups, rng, centre, slope_means))
        centre = out[term.effect]
    for name in spec.family.param_names:
        out[name] = prior_lib.sample(priors[name], rng, n)
    if spec.covariates and not slopes:
        out["beta"] = _beta_prior_draws(spec, priors, n, rng)
    response = response_scale(spec)
    if response:
        out[response] = to_response(spec, out[spec.row_term.effect])
    m = max(1, min(n, MAX_ROW_VALUES // max(1, data.n_rows)))
    first = {k: v[:m] for k, v in out.items()} if m < n else out
    out["y"] = draw_outcomes(first, data, spec, rng)
    return out


def _beta_prior_draws(spec: ModelSpec, priors: dict[str, Prior], n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, k) draws of the covariate coefficients beta[x]."""
    return np.column_stack([prior_lib.sample(priors[f"beta[{c}]"], rng, n) for c in spec.covariates])
