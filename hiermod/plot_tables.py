"""Long tables for the diagnostic plots: one row per draw (and group), ready for ``plots/``.

``funnel_table`` (tau against the group effects, divergent draws marked), ``trace_table`` and
``rank_table`` (one parameter or one entry of a vector parameter), ``energy_table`` (the energy
and transition distributions behind BFMI). Everything here computes; nothing draws.
:mod:`hiermod.diagnostics` re-exports all four.

:func:`funnel_scales` lists a fit's funnels (:class:`FunnelScale`: each level's tau, each slope's
tau_x, a Beta/Gamma population's concentration); ``funnel_table(fit, scale)`` draws one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import populations
from .errors import SpecError
from .fit_draws import bfmi as _bfmi
from .fit_draws import n_chains_draws as _n_chains_draws
from .fit_draws import sample_stat as _stat

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

__all__ = ["funnel_table", "trace_table", "rank_table", "energy_table"]


def _list_names(names: list[str], limit: int = 3) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


@dataclass(frozen=True)
class FunnelScale:
    """One funnel of a fit: a scale parameter and the group effects it spreads.

    ``scale``: the posterior variable on the vertical axis (log scale); ``effect``: the group
    effects (dim ``dim``); ``location``: what they are centred on ("mu", a parent's effect, or
    "beta[x]" for slopes); ``decentered``: the standardized variable the non-centered sampler
    works with (None: centered); ``coefficient``: its entry in a joint decentered variable;
    ``title``: plain words for the page's selector; ``population``: Beta/Gamma analogue
    (``scale`` is then "alpha + beta" or "alpha", a concentration: the funnel is upside down)."""

    scale: str
    effect: str
    dim: str
    location: str
    decentered: str | None
    title: str
    coefficient: str | None = None
    population: str | None = None


def funnel_scales(fit: "Fit") -> list[FunnelScale]:
    """Every funnel of a partial-pooling fit: each level's tau (outermost first), each slope's
    tau_x, a Beta/Gamma population's concentration. Empty without partial pooling."""
    post = fit.idata.posterior
    out: list[FunnelScale] = []
    for term in fit.spec.terms:
        if not term.partial:
            continue
        if term.conjugate:
            name = populations.get(term.population).concentration_text
            out.append(FunnelScale(name, term.effect, term.dim, "population mean", None,
                                   f"{term.population_value} against log({name}) (no tau: "
                                   f"{term.population.value} population)", population=term.population.value))
            continue
        joint = f"{term.effect}_and_slopes_decentered"
        decentered = term.decentered if term.decentered in post else None
        out.append(FunnelScale(term.scale, term.effect, term.dim, term.location, decentered,
                               f"{term.effect} against log {term.scale}"))
        for x in term.slopes:
            out.append(FunnelScale(term.slope_scale(x), term.slope_effect(x), term.dim, f"beta[{x}]",
                                   joint if joint in post else None,
                                   f"{term.slope_effect(x)} against log {term.slope_scale(x)}",
                                   coefficient=x))
    return out


def _funnel_scale(fit: "Fit", scale: str | None) -> FunnelScale:
    scales = funnel_scales(fit)
    if not scales:
        raise SpecError(
            "The funnel plot needs the between-group spread tau, which only a partial-pooling fit "
            f"has; this fit uses {fit.spec.pooling.value} pooling. Fit with pooling='partial'."
        )
    if scale is None:
        return scales[0]
    for s in scales:
        if scale in (s.scale, s.effect):
            return s
    raise SpecError(f"This fit has no funnel for {scale!r}; it has {', '.join(s.scale for s in scales)}.")


def _by_draw(fit: "Fit", name: str) -> np.ndarray:
    """(chains, draws, ...) float array of a posterior variable; "beta[x]" picks one covariate."""
    post = fit.idata.posterior
    base, _, entry = name.partition("[")
    arr = post[base]
    if entry:
        arr = arr.sel(covariate=entry[:-1])
    return np.asarray(arr.values, dtype=float)


def _location(fit: "Fit", fs: FunnelScale) -> np.ndarray:
    """Per draw and group: what the group effects are centred on, (chains, draws, groups)."""
    post = fit.idata.posterior
    n_groups = post[fs.effect].shape[-1]
    if fs.location in post and post[fs.location].ndim == 3:  # a parent level's effect
        level = next(k for k, t in enumerate(fit.spec.terms) if t.effect == fs.effect)
        data_levels = fit.data.levels[-len(fit.spec.terms):]
        return np.asarray(post[fs.location].values, dtype=float)[..., data_levels[level].parent]
    if fs.population:
        population = populations.get(fs.population)
        mean = population.mean(_by_draw(fit, "alpha"), _by_draw(fit, "beta"))
        return np.broadcast_to(population.link(mean)[..., None], mean.shape + (n_groups,))
    return np.broadcast_to(_by_draw(fit, fs.location)[..., None], post[fs.effect].shape)


def _scale_draws(fit: "Fit", fs: FunnelScale) -> np.ndarray:
    if fs.population:
        return populations.get(fs.population).concentration(_by_draw(fit, "alpha"), _by_draw(fit, "beta"))
    return _by_draw(fit, fs.scale)


def funnel_table(fit: "Fit", scale: str | None = None) -> pd.DataFrame:
    """Per draw x group: chain, draw, group, tau, log_tau, mu, theta, theta_decentered (NaN if
    centered), theta_standardized ((theta - mu) / tau, for any parameterization), diverging.

    ``scale`` picks one funnel of :func:`funnel_scales` (a scale name such as "tau_class" or
    "tau_hours", or its effect's name); default: the one-level fit's tau, else the outermost.
    The columns keep their one-level names whatever the funnel: ``tau`` holds the chosen scale,
    ``theta`` its effects, ``mu`` what they are centred on (the parent's effect, beta[x]);
    ``attrs`` name them (scale, effect, decentered, location, title). A Beta/Gamma population
    has no tau: ``tau`` holds its concentration (alpha + beta, or alpha) and ``theta`` logit p /
    log rate (theta_standardized NaN): the same funnel upside down.

    Needs a partial-pooling fit (only those have tau)."""
    fs = _funnel_scale(fit, scale)
    post = fit.idata.posterior
    n_chains, n_draws = _n_chains_draws(fit)
    labels = [str(g) for g in post[fs.effect].coords[fs.dim].values]
    n_groups = len(labels)
    theta = np.asarray(post[fs.effect].values, dtype=float)          # (c, d, g)
    tau = _scale_draws(fit, fs)[..., None]                            # (c, d, 1)
    mu = _location(fit, fs)
    if fs.decentered is not None and fs.coefficient is not None:
        dec = np.asarray(post[fs.decentered].sel(coefficient=fs.coefficient).values, dtype=float)
    elif fs.decentered is not None:
        dec = np.asarray(post[fs.decentered].values, dtype=float)
    else:
        dec = np.full_like(theta, np.nan)
    div = _stat(fit, "diverging")
    div = np.zeros((n_chains, n_draws), bool) if div is None else div.astype(bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        standardized = (theta - mu) / tau if fs.population is None else np.full_like(theta, np.nan)
        log_tau = np.log(tau)
    shape = (n_chains, n_draws, n_groups)
    chain, draw, group = np.meshgrid(np.arange(n_chains), np.arange(n_draws), np.arange(n_groups), indexing="ij")
    out = pd.DataFrame({
        "chain": chain.ravel(),
        "draw": draw.ravel(),
        "group": np.asarray(labels, dtype=object)[group.ravel()],
        "tau": np.broadcast_to(tau, shape).ravel(),
        "log_tau": np.broadcast_to(log_tau, shape).ravel(),
        "mu": np.broadcast_to(mu, shape).ravel(),
        "theta": theta.ravel(),
        "theta_decentered": dec.ravel(),
        "theta_standardized": standardized.ravel(),
        "diverging": np.broadcast_to(div[..., None], shape).ravel(),
    })
    out.attrs.update(scale=fs.scale, effect=fs.effect, decentered=fs.decentered, location=fs.location,
                     title=fs.title, population=fs.population)
    return out


def _param_draws(fit: "Fit", var: str) -> dict[str, np.ndarray]:
    """``var`` ("tau", "theta" or "theta[A]") -> {parameter name: (chains, draws) array}."""
    post = fit.idata.posterior
    base, _, label = var.partition("[")
    label = label[:-1] if label.endswith("]") else label
    if base not in post:
        raise SpecError(f"This fit has no parameter '{base}'; it has: {', '.join(post.data_vars)}.")
    arr = post[base]
    extra = [d for d in arr.dims if d not in ("chain", "draw")]
    if len(extra) > 1:  # pragma: no cover - no such sites in our models
        raise SpecError(f"'{base}' has more than one dimension; pick one entry.")
    if not extra:
        if label:
            raise SpecError(f"'{base}' is a single number; write '{base}' without brackets.")
        return {base: np.asarray(arr.values, dtype=float)}
    dim = extra[0]
    coords = [str(c) for c in arr.coords[dim].values]
    if label:
        if label not in coords:
            raise SpecError(f"'{base}' has no entry '{label}'; it has: {_list_names(coords, 10)}.")
        coords = [label]
    values = np.asarray(arr.transpose("chain", "draw", dim).values, dtype=float)
    index = {str(c): i for i, c in enumerate(arr.coords[dim].values)}
    return {f"{base}[{c}]": values[..., index[c]] for c in coords}


def trace_table(fit: "Fit", var: str) -> pd.DataFrame:
    """Long form of the draws of ``var`` ("mu", "theta" for every group, "theta[A]"):
    columns chain, draw, parameter, value."""
    frames = []
    for name, values in _param_draws(fit, var).items():
        n_chains, n_draws = values.shape
        frames.append(pd.DataFrame({
            "chain": np.repeat(np.arange(n_chains), n_draws),
            "draw": np.tile(np.arange(n_draws), n_chains),
            "parameter": name,
            "value": values.ravel(),
        }))
    return pd.concat(frames, ignore_index=True)


def rank_table(fit: "Fit", var: str, bins: int = 20) -> pd.DataFrame:
    """Rank histograms: draws of each parameter are ranked over all chains together, and each
    chain's ranks are counted in ``bins`` equal bins. Well-mixed chains give flat histograms near
    ``expected``. Columns: parameter, chain, bin, bin_low, bin_high, count, expected."""
    from scipy.stats import rankdata

    if int(bins) < 2:
        raise SpecError(f"bins must be at least 2; got {bins!r}.")
    bins = int(bins)
    rows = []
    for name, values in _param_draws(fit, var).items():
        n_chains, n_draws = values.shape
        ranks = rankdata(values.ravel(), method="average").reshape(values.shape)
        edges = np.linspace(0.5, values.size + 0.5, bins + 1)
        for c in range(n_chains):
            counts, _ = np.histogram(ranks[c], bins=edges)
            for b in range(bins):
                rows.append((name, c, b, edges[b], edges[b + 1], int(counts[b]), n_draws / bins))
    return pd.DataFrame(rows, columns=["parameter", "chain", "bin", "bin_low", "bin_high", "count", "expected"])


def energy_table(fit: "Fit") -> pd.DataFrame:
    """Per draw: chain, draw, energy_centered (energy minus its chain mean) and energy_transition
    (change from the previous draw; NaN for the first draw of a chain), plus the chain's bfmi.
    When the transition distribution is much narrower than the marginal one, BFMI is low.
    Empty for exact fits."""
    energy = _stat(fit, "energy")
    cols = ["chain", "draw", "energy_centered", "energy_transition", "bfmi"]
    if energy is None:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in cols})
    energy = energy.astype(float)
    n_chains, n_draws = energy.shape
    centered = energy - energy.mean(axis=1, keepdims=True)
    transition = np.concatenate([np.full((n_chains, 1), np.nan), np.diff(energy, axis=1)], axis=1)
    bfmi = np.array([_bfmi(e) for e in energy])
    return pd.DataFrame({
        "chain": np.repeat(np.arange(n_chains), n_draws),
        "draw": np.tile(np.arange(n_draws), n_chains),
        "energy_centered": centered.ravel(),
        "energy_transition": transition.ravel(),
        "bfmi": np.repeat(bfmi, n_draws),
    })
