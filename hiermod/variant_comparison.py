"""Model variants side by side: tables computed from their fits ({variant name: Fit}).

* :func:`parameter_tables` -- each variant's posterior summary;
* :func:`tau_overlay` -- each population scale's posterior density (reflected KDE) and prior
  density on one grid per parameter;
* :func:`forest_across` -- every group's effect in every variant (mean, 94% HDI);
* :func:`loo_across` -- PSIS-LOO across the variants (``az.compare``), Pareto-k warnings, and
  the variants LOO cannot compare with the rest;
* :func:`ppc_coverage` -- the share of observed values inside their 95% posterior predictive
  interval;
* :func:`comparison_report` -- all of it as one JSON-able dict (the CLI's ``report.json``).

Figures: :mod:`hiermod.plots.variants`.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import SpecError
from .model_comparison import PARETO_K_MAX, forest_table, loo_comparability, loo_table
from .table_helpers import _central, _check_prob

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .result import Fit
    from .variants import Variant

__all__ = ["FOREST_HDI", "PPC_PROB", "KDE_MAX_DRAWS", "scale_parameters", "parameter_tables",
           "tau_overlay", "forest_across", "loo_across", "ppc_coverage", "comparison_report"]

FOREST_HDI = 0.94
"""Probability of the group effects' highest-density intervals across variants."""
PPC_PROB = 0.95
"""Probability of the central posterior predictive interval each observation is checked against."""
KDE_MAX_DRAWS = 4000
"""Draws used by the density estimate of a posterior (evenly thinned beyond this)."""


def _check_fits(fits: Mapping[str, "Fit"]) -> dict[str, "Fit"]:
    fits = dict(fits)
    if not fits:
        raise SpecError("Give at least one fitted variant to compare.")
    return fits


def parameter_tables(fits: Mapping[str, "Fit"]) -> dict[str, pd.DataFrame]:
    """{variant: :func:`hiermod.diagnostics.summary_table` of its fit} (mean, sd, 94% HDI, MCSE,
    ESS, R-hat of every reported parameter)."""
    from .diagnostics import summary_table

    return {name: summary_table(fit) for name, fit in _check_fits(fits).items()}


# ------------------------------------------------------------------------------- tau overlay


def scale_parameters(fit: "Fit") -> tuple[str, ...]:
    """The population scales of a fit (``tau``, or ``tau_<column>`` per nested level): each partially
    pooled, normal-population term's scale that the posterior holds. Empty: no tau (complete or no
    pooling, a Beta/Gamma population)."""
    names = [t.scale for t in fit.spec.terms if t.partial and not t.conjugate]
    return tuple(n for n in names if n in fit.idata.posterior)


def _reflected_kde(draws: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Density of positive draws on ``grid`` (>= 0): a Gaussian KDE (Scott's bandwidth) reflected at
    0, f(x) = k(x) + k(-x), so no mass leaks below the boundary and f integrates to 1 on [0, inf)."""
    from scipy.stats import gaussian_kde

    draws = np.asarray(draws, dtype=float).ravel()
    draws = draws[np.isfinite(draws)]
    if draws.size > KDE_MAX_DRAWS:
        draws = draws[np.linspace(0, draws.size - 1, KDE_MAX_DRAWS).astype(int)]
    if draws.size < 2 or np.ptp(draws) == 0:
        return np.full(grid.shape, np.nan)
    kde = gaussian_kde(draws)
    return kde(grid) + kde(-grid)


def tau_overlay(fits: Mapping[str, "Fit"], points: int = 200, upper_quantile: float = 0.995) -> pd.DataFrame:
    """Long table of each population scale's posterior and prior density, per variant.

    Columns: variant, parameter (``tau`` or ``tau_<column>``), source ("posterior" / "prior"), x,
    density. One grid per parameter, shared by every variant: ``points`` values from 0 to 1.1 x the
    largest ``upper_quantile`` posterior quantile over the variants. The posterior density is a
    Gaussian KDE reflected at 0 (:func:`_reflected_kde`); the prior density is the variant's resolved
    prior (:func:`hiermod.priors.density`). ``attrs``: ``variants`` (every variant, in order: a
    variant keeps its colour across the figures even when one before it has no tau),
    ``without_tau`` (variants with no scale: complete pooling, no pooling, Beta/Gamma populations),
    ``prior_mass`` {(variant, parameter): prior probability of the grid's range, to read the drawn
    prior against}.
    """
    from .priors import density

    fits = _check_fits(fits)
    scales = {name: scale_parameters(f) for name, f in fits.items()}
    params = list(dict.fromkeys(p for names in scales.values() for p in names))
    frames, mass = [], {}
    for param in params:
        having = {name: f for name, f in fits.items() if param in scales[name]}
        draws = {name: np.asarray(f.draws(param), dtype=float).ravel() for name, f in having.items()}
        top = max(float(np.nanquantile(d, upper_quantile)) for d in draws.values())
        grid = np.linspace(0.0, 1.1 * top if top > 0 else 1.0, int(points))
        for name, f in having.items():
            prior = f.priors[param]
            lo, hi = prior.scipy().cdf([grid[0], grid[-1]])
            mass[(name, param)] = float(hi - lo)
            for source, values in (("posterior", _reflected_kde(draws[name], grid)),
                                   ("prior", density(prior, grid))):
                frames.append(pd.DataFrame({"variant": name, "parameter": param, "source": source,
                                            "x": grid, "density": values}))
    columns = ["variant", "parameter", "source", "x", "density"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    out.attrs.update(variants=list(fits), without_tau=[n for n, s in scales.items() if not s], prior_mass=mass)
    return out


# ------------------------------------------------------------------------------- the groups


def forest_across(fits: Mapping[str, "Fit"], hdi_prob: float = FOREST_HDI, response: bool = False) -> pd.DataFrame:
    """Every group x variant: variant, group, mean, low, high (``hdi_prob`` HDI) of the innermost
    group effect (link scale; ``response=True``: probability / rate where the family has one).
    :func:`hiermod.model_comparison.forest_table` with ``model`` called ``variant``."""
    table = forest_table(_check_fits(fits), hdi_prob=hdi_prob, response=response)
    prob = table.attrs.get("hdi_prob")
    table = table.rename(columns={"model": "variant"})
    table.attrs["hdi_prob"] = prob
    return table


# ------------------------------------------------------------------------------------- LOO


def _comparable_sets(fits: dict[str, "Fit"]) -> list[list[str]]:
    """The variants in sets whose LOO values compare (same observations, same pointwise units),
    in order of first appearance; a variant with no pointwise log-likelihood forms a set of its own."""
    sets: list[list[str]] = []
    for name, fit in fits.items():
        home = next((s for s in sets if not loo_comparability({n: fits[n] for n in s} | {name: fit})), None)
        if home is None:
            sets.append([name])
        else:
            home.append(name)
    return sets


_LOO_COLUMNS = ["variant", "rank", "elpd_loo", "se", "p_loo", "elpd_diff", "dse", "weight", "n_points",
                "n_bad_pareto_k", "max_pareto_k", "warning", "compared", "note"]


def loo_across(fits: Mapping[str, "Fit"]) -> pd.DataFrame:
    """PSIS-LOO comparison of the variants (:func:`hiermod.model_comparison.loo_table`, i.e.
    ``az.compare`` on the log scale: higher elpd is better).

    One row per variant, the compared ones best first: rank, elpd_loo and its se, p_loo,
    elpd_diff (from the best) and dse (the standard error of that difference), weight (stacking),
    n_points, n_bad_pareto_k (Pareto k > PARETO_K_MAX), max_pareto_k, warning, compared (bool),
    note (why a variant is not compared). The compared set is the largest set of variants whose
    LOO values are comparable (:func:`hiermod.model_comparison.loo_comparability`: the same
    observations scored in the same units); the others follow with NaN and the reason in
    ``note``. ``attrs["reason"]``: "" when every variant is compared.
    """
    fits = _check_fits(fits)
    sets = _comparable_sets(fits)
    best = max(sets, key=len)
    if len(best) > 1 or len(fits) == 1:
        table = loo_table({n: fits[n] for n in best}).reset_index(drop=True)
        table = table.rename(columns={"model": "variant"})
    else:
        table = pd.DataFrame(columns=_LOO_COLUMNS)
        best = []
    table["compared"] = True
    table["note"] = ""
    rows = []
    for name in fits:
        if name in best:
            continue
        reason = loo_comparability({best[0]: fits[best[0]], name: fits[name]}) if best else \
            "no other variant is fitted to the same observations in the same units"
        rows.append({"variant": name, "compared": False, "note": reason or "not compared"})
    if rows:
        table = pd.concat([table, pd.DataFrame(rows)], ignore_index=True)
    out = table.reindex(columns=_LOO_COLUMNS)
    out["compared"] = out["compared"].astype(bool)
    out.attrs.update(reason="" if not rows else f"{len(rows)} variant(s) not compared: "
                     + "; ".join(f"{r['variant']}: {r['note']}" for r in rows), pareto_k_max=PARETO_K_MAX)
    return out


# ------------------------------------------------------------------------------ prediction


def ppc_coverage(fits: Mapping[str, "Fit"], prob: float = PPC_PROB) -> pd.DataFrame:
    """Per variant, the share of observed values inside their central ``prob`` posterior predictive
    interval (each row's replicated values from the fit's ``posterior_predictive``), and the same
    per group (:func:`hiermod.ppc.ppc_table` at ``prob``: group means or sums).

    Columns: variant, n_observations, n_inside, coverage, n_groups, group_coverage,
    groups_outside (their labels, comma-separated). A count's interval has whole-number ends.
    """
    from .ppc import ppc_table

    prob = _check_prob(prob)
    rows = []
    for name, fit in _check_fits(fits).items():
        if "posterior_predictive" not in fit.idata.groups():
            raise SpecError(f"variant '{name}' has no posterior predictive draws to check.")
        rep = fit.idata.posterior_predictive["y"].values
        rep = rep.reshape(-1, rep.shape[-1])
        y = np.asarray(fit.data.y, dtype=float)
        low, high = _central(rep, prob, axis=0)
        inside = (y >= low) & (y <= high)
        groups = ppc_table(fit, hdi_prob=prob)
        outside = [str(g) for g in groups.loc[~groups["inside"], "group"]]
        rows.append({"variant": name, "n_observations": int(y.size), "n_inside": int(inside.sum()),
                     "coverage": float(inside.mean()) if y.size else math.nan,
                     "n_groups": int(len(groups)), "group_coverage": float(groups.attrs["coverage"]),
                     "groups_outside": ", ".join(outside)})
    out = pd.DataFrame(rows)
    out.attrs["prob"] = prob
    return out


# ---------------------------------------------------------------------------------- report


def _plain(value):
    """A JSON-able plain value: numpy scalars to Python, NaN / inf to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (int, str)):
        return value
    return str(value)


def _records(table: pd.DataFrame, index: str | None = None) -> list[dict]:
    frame = table.reset_index().rename(columns={"index": index}) if index else table
    return [_plain(dict(row)) for row in frame.to_dict(orient="records")]


def comparison_report(data: "GroupedData", variants: Sequence["Variant"], fits: Mapping[str, "Fit"]) -> dict:
    """Everything the variants' comparison shows, as one JSON-able dict (NaN -> null):

    ``data`` (kind, columns, groups, rows, fingerprint), ``variants`` (name, method, spec, the
    resolved priors as text, thresholds, settings, timings), ``parameters`` {variant: rows of
    :func:`parameter_tables`}, ``loo`` (rows of :func:`loo_across`, and ``reason``),
    ``ppc_coverage`` (rows, ``prob``), ``forest`` (rows, ``hdi_prob``), ``tau`` (per variant its
    scales' posterior median and 94% HDI, and ``without_tau``). Meant to be extended (checks,
    decisions) by adding keys.
    """
    from .result import settings_dict
    from .table_helpers import _hdi

    fits = _check_fits(fits)
    missing = [v.name for v in variants if v.name not in fits]
    if missing:
        raise SpecError(f"variant '{missing[0]}' has no fit; fit every variant before the report.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        loo = loo_across(fits)
        coverage = ppc_coverage(fits)
        forest = forest_across(fits)
        params = parameter_tables(fits)
    tau = {}
    for name, fit in fits.items():
        tau[name] = {}
        for p in scale_parameters(fit):
            d = np.asarray(fit.draws(p), dtype=float).ravel()
            low, high = _hdi(d, FOREST_HDI)
            tau[name][p] = {"median": float(np.median(d)), "hdi_low": float(low[0]), "hdi_high": float(high[0])}
    columns = data.columns
    return _plain({
        "data": {"kind": str(getattr(data.kind, "value", data.kind)), "n_rows": data.n_rows,
                 "n_groups": data.n_groups, "fingerprint": data.fingerprint,
                 "columns": {"group": list(columns.group_columns), "y": columns.y, "se": columns.se,
                             "trials": columns.trials, "exposure": columns.exposure,
                             "covariates": list(columns.covariates)}},
        "variants": [v.to_dict() | {"description": v.spec.describe(),
                                    "priors": {k: str(p) for k, p in fits[v.name].priors.items()},
                                    "method_label": fits[v.name].method_info.label,
                                    "settings": settings_dict(fits[v.name].settings),
                                    "timings": dict(fits[v.name].timings)}
                     for v in variants],
        "parameters": {name: _records(t, "parameter") for name, t in params.items()},
        "loo": {"rows": _records(loo), "reason": loo.attrs.get("reason", ""), "pareto_k_max": PARETO_K_MAX},
        "ppc_coverage": {"rows": _records(coverage), "prob": PPC_PROB},
        "forest": {"rows": _records(forest), "hdi_prob": FOREST_HDI},
        "tau": {"per_variant": tau, "hdi_prob": FOREST_HDI,
                "without_tau": [n for n, f in fits.items() if not scale_parameters(f)]},
    })
