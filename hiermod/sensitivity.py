"""Prior sensitivity, part one: the posterior under a set of priors (computed with the instant method).

The priors a careful analyst tries on the group-level scale hyperparameters h (tau, each level's
tau_<column>, each slope's tau_x; a Beta/Gamma population's alpha and beta). Each has a reference
scale r_h, the 68.27% quantile of its data-scaled default prior (exactly s for the default
HalfNormal(s), s the outcome's scale; :func:`reference_scale`). The set (:func:`prior_set`):

    the spec's own priors,   HalfNormal(c r_h) for c in PRIOR_SET_SCALES = (0.5, 1, 2, 5),   HalfCauchy(r_h),

an entry setting every such h at once (all other priors kept). One instant posterior per entry
(the instant engine with the entry's priors) gives the overlay tables (:func:`prior_set_posteriors`):
the marginal posterior density of every free hyperparameter (exact for one, the grid's weights
smoothed for several: :meth:`hiermod.instant.InstantPosterior.hyper_density`), its mean and 90% interval, and each group's
posterior mean and sd (exact grid moments) and 90% interval (quantiles of ``draws`` independent
draws, the same random numbers for every entry). Against the spec's own priors, entry k's shift is

    max_j |E_k[theta_j | y] - E_0[theta_j | y]| / sd_0[theta_j | y]     (in posterior sds).

Part two, power-scaling sensitivity of any fit, is :mod:`hiermod.power_scaling` (re-exported here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import SpecError
from .power_scaling import (LIKELIHOOD_THRESHOLD, PRIOR_THRESHOLD, PowerScaling,  # noqa: F401
                            power_scaling)
from .prior_families import Prior, nice
from .priors import default_priors, quantile, resolve_priors

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .spec import ModelSpec

__all__ = ["PRIOR_SET_SCALES", "INTERVAL", "PriorChoice", "PriorSetResult", "reference_scale",
           "varied_hyperparameters", "group_quantity", "prior_set", "prior_set_posteriors",
           "group_intervals", "power_scaling", "PowerScaling", "PRIOR_THRESHOLD", "LIKELIHOOD_THRESHOLD"]

PRIOR_SET_SCALES = (0.5, 1.0, 2.0, 5.0)
"""Multiples c of the reference scale in the HalfNormal(c r) entries of the prior set."""
INTERVAL = 0.9
"""The credible intervals reported (central, from quantiles of independent draws)."""
DRAWS = 4000
"""Independent draws per posterior for the group intervals."""
REFERENCE_QUANTILE = math.erf(1 / math.sqrt(2))
"""0.6827: the quantile of a prior taken as its scale (HalfNormal(s) has it at exactly s)."""
CURRENT = "your prior"


def reference_scale(prior: Prior | str) -> float:
    """A positive prior's scale: its 68.27% quantile (s for HalfNormal(s); 1.15 / rate for an
    Exponential), rounded to 3 significant digits."""
    return nice(float(quantile(prior, REFERENCE_QUANTILE)))


def varied_hyperparameters(spec: "ModelSpec", hyper_names) -> tuple[str, ...]:
    """The hyperparameters the prior set varies: the terms' group-level scales (term scale names;
    a population's alpha, beta) that the instant grid integrates (``hyper_names``); not a Student-t
    population's degrees of freedom nu_groups (not a scale: HalfNormal(c s) would mean nothing for it)."""
    scales = [n for term in spec.terms for n in term.scale_names() if n != term.df]
    return tuple(n for n in hyper_names if n in scales)


def group_quantity(spec: "ModelSpec") -> str:
    """The per-group quantity shown: a Beta/Gamma population's p / rate, else the effect theta."""
    term = spec.row_term
    return term.population_value or term.effect


@dataclass(frozen=True)
class PriorChoice:
    """One entry of the prior set: a label, the priors it sets ({name: Prior}), and whether these are
    the spec's own priors."""

    label: str
    priors: dict[str, Prior]
    current: bool = False

    @property
    def text(self) -> str:
        return ", ".join(f"{k} ~ {v}" for k, v in self.priors.items())


def prior_set(data: "GroupedData", spec: "ModelSpec", names: tuple[str, ...],
              scales: tuple[float, ...] = PRIOR_SET_SCALES) -> list[PriorChoice]:
    """The spec's own priors on ``names`` first, then HalfNormal(c r) for c in ``scales`` and
    HalfCauchy(r) (r each name's :func:`reference_scale`), an entry that equals the spec's own
    priors merged into it."""
    if not names:
        raise SpecError("This model has no group-level scale (tau) for the prior set to vary: choose 'Partial "
                        "pooling' on the Model page. The power-scaling check below works for "
                        "every model.")
    own = resolve_priors(data, spec)
    defaults = default_priors(data, spec)
    ref = {n: reference_scale(defaults[n]) for n in names}
    current = PriorChoice(CURRENT, {n: own[n] for n in names}, True)
    entries = [current]
    candidates = [(f"HalfNormal({c:g} s)", {n: Prior("HalfNormal", (nice(c * ref[n]),)) for n in names})
                  for c in scales]
    candidates.append(("HalfCauchy(s)", {n: Prior("HalfCauchy", (ref[n],)) for n in names}))
    for label, priors in candidates:
        if priors == current.priors:
            entries[0] = PriorChoice(f"{CURRENT}: {label}", current.priors, True)
        else:
            entries.append(PriorChoice(label, priors))
    return entries


def group_intervals(draws: np.ndarray, prob: float = INTERVAL) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) central ``prob`` intervals per column of ``draws`` (n, J)."""
    lo, hi = np.quantile(np.asarray(draws, float), [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    return lo, hi


@dataclass(frozen=True)
class PriorSetResult:
    """The overlay tables of :func:`prior_set_posteriors` (``prior`` is the entry's label).

    ``density``: [prior, parameter, value, density], each free hyperparameter's marginal posterior.
    ``hyper``: [prior, parameter, mean, lower, upper] (90% interval). ``groups``: [prior, group, mean,
    sd, lower, upper] of the per-group quantity ``quantity``. ``summary``: one row per entry: prior,
    priors (text), each varied hyperparameter's posterior mean, and ``largest_shift`` (posterior sds,
    module docstring) with the group it happens in (``shift_group``).
    """

    choices: list[PriorChoice]
    varied: tuple[str, ...]
    quantity: str
    density: pd.DataFrame
    hyper: pd.DataFrame
    groups: pd.DataFrame
    summary: pd.DataFrame
    labels: tuple[str, ...] = field(default=())

    def verdict(self) -> str:
        """One sentence: how far the group estimates and the hyperparameters move across the set."""
        others = self.summary[~self.summary["current"]]
        if others.empty:
            return "Only one prior in the set."
        worst = others.loc[others["largest_shift"].idxmax()]
        means = ", ".join(f"{n}'s posterior mean ranges from {self.summary[f'{n}_mean'].min():.3g} to "
                          f"{self.summary[f'{n}_mean'].max():.3g}" for n in self.varied)
        return (f"Across these priors {means}; the group estimates ({self.quantity}) move by at most "
                f"{worst['largest_shift']:.2f} posterior sds from those under your prior (group "
                f"{worst['shift_group']}, under {worst['prior']}).")


def prior_set_posteriors(data: "GroupedData", spec: "ModelSpec", choices: list[PriorChoice] | None = None,
                         draws: int = DRAWS, seed: int = 0, prob: float = INTERVAL) -> PriorSetResult:
    """The instant posterior under every entry of the prior set (default :func:`prior_set`), as
    overlay tables. :class:`SpecError` (with the reason) when the instant method cannot serve the
    model or it has no group-level scale."""
    from .hyper_density import engine_parts, integrate

    data, _, base_parts = engine_parts(data, spec)
    base = integrate(base_parts)
    varied = varied_hyperparameters(spec, tuple(n for n in base.hyper_names if n not in base.fixed))
    choices = choices if choices is not None else prior_set(data, spec, varied)
    quantity = group_quantity(spec)
    labels = tuple(data.labels)
    dens, hyper, groups, rows, stats = [], [], [], [], []
    for choice in choices:
        parts = base_parts if choice.current else engine_parts(data, spec, choice.priors)[2]
        post = base if choice.current else integrate(parts)
        d = post.draws(draws, np.random.default_rng(seed))
        for name in post.hyper_names:
            if name in post.fixed:
                continue
            curve = post.hyper_density(name)
            dens.append(pd.DataFrame({"prior": choice.label, "parameter": name, "value": curve[name],
                                      "density": curve["density"]}))
            lo, hi = np.quantile(d[name], [(1 - prob) / 2, (1 + prob) / 2])
            hyper.append({"prior": choice.label, "parameter": name, "mean": float(post.mean(name)),
                          "lower": float(lo), "upper": float(hi)})
        values = np.asarray(d[quantity], float)
        exact = quantity in post.names
        mean = np.asarray(post.mean(quantity), float) if exact else values.mean(0)
        sd = np.asarray(post.sd(quantity), float) if exact else values.std(0, ddof=1)
        lo, hi = group_intervals(values, prob)
        groups.append(pd.DataFrame({"prior": choice.label, "group": labels, "mean": mean, "sd": sd,
                                    "lower": lo, "upper": hi}))
        stats.append((mean, sd))
        rows.append({"prior": choice.label, "priors": choice.text, "current": choice.current}
                    | {f"{n}_mean": float(post.mean(n)) for n in varied})
    ref = next((k for k, c in enumerate(choices) if c.current), 0)
    ref_mean, ref_sd = stats[ref]
    for row, (mean, _) in zip(rows, stats):
        shift = np.abs(mean - ref_mean) / np.where(ref_sd > 0, ref_sd, np.inf)
        moved = float(shift.max()) > 0
        row |= {"largest_shift": float(shift.max()), "shift_group": labels[int(shift.argmax())] if moved else ""}
    return PriorSetResult(choices, varied, quantity, pd.concat(dens, ignore_index=True),
                          pd.DataFrame(hyper), pd.concat(groups, ignore_index=True), pd.DataFrame(rows),
                          labels)
