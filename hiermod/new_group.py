"""What a group not in the data would look like: its effect, its mean and one new observation.

One level: theta_new ~ Normal(mu, tau) (a Student-t population: theta_new ~ StudentT(nu_groups, mu,
tau), drawn with each draw's nu_groups). Nested levels 1..K (school > class): a new group can be
new at any level. A new innermost group (class) in an existing school s: theta_new ~
Normal(theta_school[s], tau_class); a new school: theta_school_new ~ Normal(mu, tau_school), then a
new class in it, theta_new ~ Normal(theta_school_new, tau_class). Varying slopes: the new group's
intercept and slopes together from the MVN ((m, beta[x]), diag(tau, tau_x) R diag(tau, tau_x)).
Beta / Gamma populations: p_new ~ Beta(alpha, beta), rate_new ~ Gamma(alpha, beta) (shape, rate),
theta_new = logit p_new / log rate_new.

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
from .variance import row_effect_draws

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit
    from .terms import GroupTerm

__all__ = ["new_group_draws", "predict_new_group", "new_group_levels", "predict_new_group_levels"]


def _refuse_no_pooling(fit: "Fit") -> str:
    pooling = _pooling(fit)
    if pooling == "none":
        raise SpecError(
            "A no-pooling model cannot predict a new group: it treats every group as unrelated, so "
            "it has no overall mean or spread to draw a new group from. Use partial pooling (or "
            "complete pooling, which assumes the new group equals the overall mean)."
        )
    return pooling


def _term_draw(fit: "Fit", term: "GroupTerm", centre: np.ndarray, rng: np.random.Generator
               ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One new group of ``term`` per draw around ``centre`` (S,): (theta_new, {slope_x_new: ...})."""
    n = centre.shape[0]
    tau = fit.draws(term.scale).astype(float)
    if not term.slopes:
        df = fit.draws(term.df).astype(float) if term.df else None
        return centre + tau * term.standard_effects(rng, (n,), df), {}
    spec = fit.spec
    beta = fit.draws("beta").astype(float)
    means = np.column_stack([centre] + [beta[:, spec.covariates.index(x)] for x in term.slopes])
    sd = np.column_stack([tau] + [fit.draws(term.slope_scale(x)).astype(float) for x in term.slopes])
    k = sd.shape[1]
    if term.correlated and "corr_cholesky" in fit.idata.posterior:
        chol = fit.draws("corr_cholesky").astype(float)
    else:
        chol = np.broadcast_to(np.eye(k), (n, k, k))
    z = rng.standard_normal((n, k))
    coef = means + np.einsum("sij,sj->si", chol, z) * sd
    return coef[:, 0], {f"{term.slope_effect(x)}_new": coef[:, i + 1] for i, x in enumerate(term.slopes)}


def _observe(fit: "Fit", theta_new: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
    family = fit.spec.family
    return {"response_new": family.inverse_link(theta_new),
            "y_new": family.new_observation(theta_new, row_effect_draws(fit), fit.data, rng)}


def _level_draws(fit: "Fit", level: int, parent: int | None, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A group new at term ``level`` (0: outermost; in the existing group ``parent`` of the level
    above when level > 0), with new groups below it down to the innermost level."""
    terms = fit.spec.terms
    term = terms[level]
    if term.conjugate:
        from . import populations

        population = populations.get(term.population)
        a, b = fit.draws("alpha").astype(float), fit.draws("beta").astype(float)
        value = population.draw(a, b, (a.shape[0], 1), rng)[:, 0]
        if population.value == "p":
            value = np.clip(value, 1e-16, 1 - 1e-16)
        theta = population.link(np.clip(value, 1e-300, None))
        return {"theta_new": theta, **_observe(fit, theta, rng)}
    if level == 0:
        centre = fit.draws(term.location).astype(float)
    else:
        centre = fit.draws(terms[level - 1].effect)[:, parent].astype(float)
    out: dict[str, np.ndarray] = {}
    for k in range(level, len(terms)):
        centre, slopes = _term_draw(fit, terms[k], centre, rng)
        if k < len(terms) - 1:
            out[f"{terms[k].effect}_new"] = centre
        out.update(slopes)
    return {**out, "theta_new": centre, **_observe(fit, centre, rng)}


def new_group_draws(fit: "Fit", seed: int = 0) -> dict[str, np.ndarray]:
    """Per posterior draw: theta_new (a new group's effect, link scale), response_new (probability
    / rate / mean) and y_new (one new observation from that group). See :func:`predict_new_group`.
    Nested models: a group new at every level (a new school, and a new class in it); varying
    slopes add ``slope_<x>_new``."""
    pooling = _refuse_no_pooling(fit)
    rng = np.random.default_rng(seed)
    if pooling == "partial":
        return _level_draws(fit, 0, None, rng)
    theta_new = fit.draws("mu").astype(float).copy()
    return {"theta_new": theta_new, **_observe(fit, theta_new, rng)}


def _notes(fit: "Fit") -> dict[str, str]:
    family = fit.spec.family
    term = fit.spec.row_term
    if _pooling(fit) != "partial":
        theta = "complete pooling: a new group equals the overall mean"
    elif term.conjugate:
        theta = (f"a new group's {term.population_value} from the {term.population.value.title()}"
                 f"(alpha, beta) population, on the link scale")
    elif term.robust:
        theta = ("effect of a new group drawn from the Student-t population of groups, "
                 "StudentT(nu_groups, mu, tau) (link scale)")
    else:
        theta = "effect of a new group drawn from the population of groups (link scale)"
    return {"theta_new": theta, "response_new": family.response_note,
            "y_new": family.new_observation_note(fit.data)}


def _rows(draws: dict[str, np.ndarray], prob: float, notes: dict[str, str]) -> list[dict]:
    rows = []
    for name, values in draws.items():
        low, high = _central(values, prob)
        rows.append({"quantity": name, "mean": float(np.mean(values)), "low": float(low),
                     "high": float(high), "note": notes.get(name, _extra_note(name))})
    return rows


def _extra_note(name: str) -> str:
    base = name.removesuffix("_new")
    if base.startswith("slope_"):
        return f"the new group's slope of {base[6:]} (drawn with its intercept from the intercept/slope population)"
    return f"the new group's {base.removeprefix('theta_')} effect (link scale)"


def predict_new_group(fit: "Fit", prob: float = 0.9, seed: int = 0) -> pd.DataFrame:
    """What a group not in the data would look like, per posterior draw:

    theta_new ~ Normal(mu, tau) (partial pooling; complete pooling: theta_new = mu), on the link
    scale; response_new = theta_new on the data scale (probability for binomial, rate per unit of
    exposure for poisson); y_new = one new observation: gaussian theta_new + sigma * eps (Student-t
    eps with nu for student_t), summary data with the median standard error, binomial successes
    out of the median number of trials, poisson count over the median exposure.
    Covariates, when present, are held at 0. No pooling raises SpecError. Nested levels: new at
    every level (see :func:`predict_new_group_levels` for new groups inside existing ones), with
    ``theta_<col>_new`` rows for the outer levels; varying slopes add ``slope_<x>_new``;
    Beta/Gamma populations draw p_new / rate_new from the population.

    Rows theta_new, response_new, y_new; columns mean, low, high, note. low and high bound the
    central (equal-tailed) ``prob`` interval of the draws, the (1 - prob)/2 and (1 + prob)/2
    quantiles, not an HDI: predictive quantities are often skewed or whole counts, where
    equal tails are easier to read (for counts the ends are whole numbers). ``attrs["prob"]``.
    """
    prob = _check_prob(prob)
    draws = new_group_draws(fit, seed)
    out = pd.DataFrame(_rows(draws, prob, _notes(fit))).set_index("quantity")
    out.attrs.update(prob=prob, interval="central")
    return out


def new_group_levels(fit: "Fit", parents: dict[str, str] | None = None) -> list[tuple[str, int, int | None, str]]:
    """The scenarios of :func:`predict_new_group_levels`: (name, level, parent index, description),
    outermost level first. ``parents`` maps an outer level's column to the label of the existing
    group a new group one level down sits in (default: that level's first group)."""
    terms = fit.spec.terms
    levels = fit.data.levels[-len(terms):]
    parents = dict(parents or {})
    out = []
    for k, term in enumerate(terms):
        if k == 0:
            words = f"a new {term.factor}" + (" (and new groups inside it)" if len(terms) > 1 else "")
            out.append((f"new {term.factor}", 0, None, words))
            continue
        above = levels[k - 1]
        label = parents.get(above.column, above.labels[0])
        if label not in above.labels:
            raise SpecError(f"{label!r} is not a group of {above.column!r}; it has: "
                            f"{', '.join(map(repr, above.labels[:10]))}{' ...' if above.n_groups > 10 else ''}.")
        out.append((f"new {term.factor} in {above.column} {label}", k, above.labels.index(label),
                    f"a new {term.factor} inside the existing {above.column} {label!r}"))
    return out


def predict_new_group_levels(fit: "Fit", prob: float = 0.9, seed: int = 0,
                             parents: dict[str, str] | None = None) -> pd.DataFrame:
    """A new group at each level: one scenario per grouping level (outermost first).

    Level 1 (e.g. school): theta_school_new ~ Normal(mu, tau_school), then new groups inside it
    down to the innermost level. Level k > 1 (e.g. class): a new group inside an existing group
    s of level k-1 (``parents[column_{k-1}]``, default its first group): theta_new ~
    Normal(theta_{k-1}[s], tau_k) (and new groups below). One-level models: one scenario, the same
    draws as :func:`predict_new_group`.

    Long table: scenario, level (the level's column), quantity (theta_new, response_new, y_new,
    ...), mean, low, high (central ``prob`` interval), note. ``attrs``: prob, interval, scenarios
    (name -> description).
    """
    prob = _check_prob(prob)
    pooling = _refuse_no_pooling(fit)
    notes = _notes(fit)
    frames, scenarios = [], {}
    if pooling != "partial":
        plan = [("new group", None, None, "a new group (complete pooling: the overall mean)")]
    else:
        plan = new_group_levels(fit, parents)
    terms = fit.spec.terms
    for i, (name, level, parent, words) in enumerate(plan):
        rng = np.random.default_rng([seed, i])
        draws = (new_group_draws(fit, seed) if level is None else _level_draws(fit, level, parent, rng))
        frame = pd.DataFrame(_rows(draws, prob, notes))
        frame.insert(0, "level", terms[level].factor if level is not None else terms[-1].factor)
        frame.insert(0, "scenario", name)
        frames.append(frame)
        scenarios[name] = words
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update(prob=prob, interval="central", scenarios=scenarios)
    return out
