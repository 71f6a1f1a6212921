"""Quantities NUTS records as deterministic sites, computed from an instant engine's draws.

For a non-centered term: theta_decentered = (theta_j - m_j) / tau with m_j its centre (mu, or the
parent's effect); the response-scale group values (p = inv_logit(theta), rate = exp(theta)); for
varying slopes the joint coefficients (theta_j, slope_j) stacked on the ``coefficient`` dimension.
"""

from __future__ import annotations

import numpy as np

__all__ = ["derived"]


def _centre(draws, terms, levels, k):
    term = terms[k]
    if term.own_location:
        return np.asarray(draws[term.location], float)[:, None]
    return np.asarray(draws[terms[k - 1].effect])[:, levels[k].parent]


def derived(draws: dict[str, np.ndarray], data, spec) -> dict[str, np.ndarray]:
    """The derived draws {name: (n, ...)} missing from ``draws``."""
    out: dict[str, np.ndarray] = {}
    terms = spec.terms
    levels = data.levels[-len(terms):]
    for k, term in enumerate(terms):
        if term.non_centered and term.decentered not in draws:
            tau = np.asarray(draws[term.scale], float)[:, None]
            with np.errstate(divide="ignore", invalid="ignore"):
                out[term.decentered] = (np.asarray(draws[term.effect]) - _centre(draws, terms, levels, k)) / tau
        if term.slopes and term.partial:
            joint = [draws[term.effect]] + [draws[term.slope_effect(x)] for x in term.slopes]
            out[f"{term.effect}_coefficients"] = np.stack(joint, axis=-1)
    response = spec.family.response
    if response and response not in draws:
        out[response] = spec.family.inverse_link(np.asarray(draws[spec.row_term.effect], float))
    return out
