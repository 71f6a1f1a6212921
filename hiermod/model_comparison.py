"""Fit the three pooling modes and compare them: PSIS-LOO and a forest of every group's theta."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Mapping

import numpy as np
import pandas as pd

from .errors import SpecError
from .kind_registry import kind_info
from .table_helpers import _check_prob, _hdi, _pooling

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .result import Fit
    from .spec import ModelSpec

__all__ = ["PARETO_K_MAX", "POOLING_MODES", "fit_pooling_modes", "loo_table", "forest_table",
           "loo_comparability", "structure_alternatives", "compare_structures"]

PARETO_K_MAX = 0.7
POOLING_MODES = ("none", "complete", "partial")


def fit_pooling_modes(data: "GroupedData", spec: "ModelSpec", modes=POOLING_MODES, **fit_kwargs) -> dict[str, "Fit"]:
    """Fit ``spec`` with no, complete and partial pooling: {"none": Fit, "complete": Fit, "partial": Fit}.

    :func:`hiermod.orchestrate.fit_pooling_modes` with keyword arguments like :func:`hiermod.fit`:
    the sampler settings (chains, warmup, draws, seed, target_accept, max_tree_depth), ``method``,
    ``progress`` (one merged Progress over all the fits) and ``cancel``.
    """
    from .orchestrate import fit_pooling_modes as run_modes
    from .settings import SamplerSettings

    method = fit_kwargs.pop("method", "nuts")
    progress, cancel = fit_kwargs.pop("progress", None), fit_kwargs.pop("cancel", None)
    return run_modes(data, spec, SamplerSettings(**fit_kwargs), modes=modes, method=method,
                     progress=progress, cancel=cancel)


def structure_alternatives(spec: "ModelSpec") -> dict[str, "ModelSpec"]:
    """The simpler structure(s) a model is naturally compared with, and the model itself:

    * nested levels (school > class): {"one level (class)": innermost column only, "all levels
      (school > class)": spec}; three levels also get the two inner levels;
    * varying slopes: {"common slope": the slopes as ordinary covariates, "varying slopes": spec};
    * Beta / Gamma population: {"normal on the logit / log scale": population normal,
      "Beta population": spec};
    * Student-t population: {"normal population": population normal, "Student-t population": spec}.

    Empty when the model has none of these (a plain one-level model: compare pooling modes
    instead). Names are plain text, keys of :func:`compare_structures`.
    """
    out: dict[str, "ModelSpec"] = {}
    terms = spec.terms
    if len(terms) > 1:
        columns = spec.groups
        for k in range(len(columns) - 1, 0, -1):
            kept = columns[k:]
            words = "one level" if len(kept) == 1 else f"{len(kept)} levels"
            out[f"{words} ({' > '.join(kept)})"] = spec.replace(groups=kept)
        out[f"all levels ({' > '.join(columns)})"] = spec
    elif terms[-1].slopes and terms[-1].partial:
        out["common slope"] = spec.replace(slopes=(), covariates=spec.covariates)
        out["varying slopes"] = spec
    elif terms[-1].conjugate:
        from .families import LINKS

        scale = LINKS[spec.family.link].scale_name
        out[f"normal on the {scale} scale"] = spec.replace(population="normal")
        out[f"{spec.population.value.title()} population"] = spec
    elif terms[-1].robust:
        out["normal population"] = spec.replace(population="normal")
        out["Student-t population"] = spec
    return out


def compare_structures(data: "GroupedData", specs: Mapping[str, "ModelSpec"], **fit_kwargs) -> dict[str, "Fit"]:
    """Fit models of different structures to the same rows: {name: Fit} in ``specs`` order, ready
    for :func:`loo_table` (e.g. ``structure_alternatives(spec)``: one level against two).

    :func:`hiermod.orchestrate.fit_structures` with keyword arguments like :func:`hiermod.fit`
    (chains, warmup, draws, seed, target_accept, max_tree_depth, ``method``, ``progress``,
    ``cancel``).
    """
    from .orchestrate import fit_structures
    from .settings import SamplerSettings

    method = fit_kwargs.pop("method", "nuts")
    progress, cancel = fit_kwargs.pop("progress", None), fit_kwargs.pop("cancel", None)
    return fit_structures(data, specs, SamplerSettings(**fit_kwargs), method=method,
                          progress=progress, cancel=cancel)


def loo_comparability(fits: Mapping[str, "Fit"]) -> str:
    """Why these fits' LOO values cannot be compared, in words ("" when they can).

    LOO compares models by their predictive density of the same observed values, point by point.
    That holds when every fit has the same rows (same number, same outcome values, same data kind)
    and its log-likelihood has one point per row: nested levels, varying slopes or Beta/Gamma
    populations change the model, not the points, so those compare. It fails for fits of
    different data (other rows, outcomes or kinds) or different pointwise units.
    """
    fits = dict(fits)
    if len(fits) < 2:
        return ""
    n_rows = {name: f.data.n_rows for name, f in fits.items()}
    if len(set(n_rows.values())) > 1:
        return ("LOO compares models fitted to the same observations; these fits have different numbers "
                f"of rows ({', '.join(f'{k}: {v}' for k, v in n_rows.items())}).")
    kinds = {name: str(getattr(f.data.kind, "value", f.data.kind)) for name, f in fits.items()}
    if len(set(kinds.values())) > 1:
        return ("LOO compares models of the same data; these fits read different kinds of data "
                f"({', '.join(f'{k}: {v}' for k, v in kinds.items())}), so their log scores are "
                "densities of different things.")
    first_name, first = next(iter(fits.items()))
    y0 = np.asarray(first.data.y, dtype=float)
    for name, f in fits.items():
        if not np.array_equal(np.asarray(f.data.y, dtype=float), y0, equal_nan=True):
            return (f"LOO compares models fitted to the same observations; {first_name!r} and {name!r} "
                    "have different outcome values.")
    points = {}
    for name, f in fits.items():
        if "log_likelihood" not in f.idata.groups():
            return f"{name!r} has no pointwise log-likelihood, so LOO cannot be computed for it."
        points[name] = int(f.idata.log_likelihood["y"].shape[-1])
    if len(set(points.values())) > 1:
        return ("These fits score different units (log-likelihood points: "
                f"{', '.join(f'{k}: {v}' for k, v in points.items())}: rows in one, group sums in "
                "another), so their LOO values are not comparable.")
    return ""


def _pointwise_unit(fit: "Fit") -> tuple[str, bool]:
    """(what one log-likelihood point is, whether each point is a whole group)."""
    one_per_group = fit.data.n_rows == fit.data.n_groups
    if kind_info(fit.data.kind).one_row_per_group or one_per_group:
        return "groups", True
    return "observations", False


def _pareto_warning(n_bad: int, n_points: int, unit: str, one_per_group: bool) -> str:
    if n_bad == 0:
        return ""
    text = (f"k > {PARETO_K_MAX} for {n_bad} of {n_points} {unit}: LOO is unreliable for them "
            "(leaving one out changes the posterior too much for importance sampling to follow)")
    if one_per_group:
        return text + "; with one observation per group this is expected — consider K-fold cross-validation."
    return text + ("; these observations pull hard on the fit — check them for outliers, consider a "
                   "Student-t likelihood, or K-fold cross-validation.")


def loo_table(fits: Mapping[str, "Fit"], scale: str = "log") -> pd.DataFrame:
    """Compare models by PSIS-LOO (``az.compare``, log-likelihood variable ``y``).

    One row per model, best first, index = model name, with the ``az.compare`` columns (rank,
    elpd_loo, p_loo, elpd_diff, weight, se, dse, scale) plus model, n_points, n_bad_pareto_k
    (Pareto k > 0.7), max_pareto_k and warning (plain text, "" when LOO is reliable). All models
    must be fitted to the same observations (:func:`loo_comparability`; otherwise SpecError
    says why). Fits of different structures (one level against two, varying against common
    slopes, a Beta population against a normal one on the logit scale) of the same rows compare.
    """
    import arviz as az

    if not fits:
        raise SpecError("loo_table needs at least one fit.")
    reason = loo_comparability(fits)
    if reason:
        raise SpecError(reason)
    extra = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, f in fits.items():
            loo = az.loo(f.idata, pointwise=True, var_name="y")
            k = np.asarray(loo.pareto_k, dtype=float)
            unit, one_per_group = _pointwise_unit(f)
            n_bad = int(np.sum(k > PARETO_K_MAX))
            extra[name] = {"n_points": int(k.size), "n_bad_pareto_k": n_bad,
                           "max_pareto_k": float(np.nanmax(k)) if k.size else np.nan,
                           "warning": _pareto_warning(n_bad, int(k.size), unit, one_per_group)}
        table = az.compare({name: f.idata for name, f in fits.items()}, ic="loo", var_name="y", scale=scale)
    table = table.rename(columns={"warning": "pareto_warning"})
    table.insert(0, "model", table.index.astype(str))
    for col in ("n_points", "n_bad_pareto_k", "max_pareto_k", "warning"):
        table[col] = [extra[str(m)][col] for m in table.index]
    table.index = table.index.astype(str)
    table.index.name = "model_name"
    return table


def forest_table(fits: "Mapping[str, Fit] | Fit", hdi_prob: float = 0.9, response: bool = False) -> pd.DataFrame:
    """Long table of every group's theta in every model: model, group, mean, low, high (HDI).

    ``response=True`` reports p (binomial) or rate (poisson) instead of the link-scale theta.
    """
    prob = _check_prob(hdi_prob)
    if not isinstance(fits, Mapping):
        fits = {_pooling(fits): fits}
    frames = []
    for name, f in fits.items():
        var = f.spec.family.response if response and f.spec.family.response else f.spec.row_term.effect
        draws = f.draws(var)
        low, high = _hdi(draws, prob)
        frames.append(pd.DataFrame({
            "model": str(name), "group": list(f.labels), "mean": draws.mean(axis=0), "low": low, "high": high,
        }))
    out = pd.concat(frames, ignore_index=True)
    out.attrs["hdi_prob"] = prob
    return out
