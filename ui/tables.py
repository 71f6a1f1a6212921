"""Every table the pages compute from a fit, cached, with one key scheme: the fit's cache text.

Pages call ``tables.<name>(fit, ...)`` (or ``(fits, ...)`` for a dict of fits) and draw what comes
back. Each wrapper is cached by :func:`fit_text` (the method plus a digest of the data
fingerprint, spec and settings), the further arguments, and the name of the wrapped function;
the Fit itself is passed unhashed. Prior densities and the prior predictive are cached by their
prior text / data and spec.

Heavy modules are imported inside the functions, so importing this module costs nothing.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any, Callable

import streamlit as st

from ui import state

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from hiermod.data import GroupedData
    from hiermod.result import Fit
    from hiermod.spec import ModelSpec

log = logging.getLogger("hiermod.ui")

INTERVAL = 0.9  # the credible intervals the results pages show


# ------------------------------------------------------------------------------------ keys


def key_text(key: tuple) -> str:
    """A short stable text for a fit key."""
    return hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:32]


def fit_text(fit: "Fit") -> str:
    """The cache text of a fit: its method and its key (an exact and a NUTS fit share a key)."""
    return f"{fit.method}:{key_text(state.fit_key(fit.data, fit.spec, fit.settings))}"


def fits_text(fits: dict) -> str:
    return "|".join(f"{m}={fit_text(f)}" for m, f in sorted(fits.items()))


def _cached(text_of: Callable[[Any], str], resource: bool, max_entries: int):
    """Decorator: ``fn(fit_or_fits, *args)`` cached by ``text_of(fit_or_fits)`` and ``args``."""

    def wrap(fn):
        def cached(text: str, _fits, *args):
            return fn(_fits, *args)

        # the cache of a nested function is named by its qualified name: one per wrapped function
        cached.__qualname__ = cached.__name__ = f"{fn.__qualname__}_cached"
        cache = (st.cache_resource if resource else st.cache_data)(max_entries=max_entries,
                                                                    show_spinner=False)(cached)

        def call(fits, *args):
            return cache(text_of(fits), fits, *args)

        call.__doc__, call.__name__, call.__qualname__ = fn.__doc__, fn.__name__, fn.__qualname__
        return call

    return wrap


def by_fit(max_entries: int = 16, resource: bool = False):
    return _cached(fit_text, resource, max_entries)


def by_fits(max_entries: int = 8, resource: bool = True):
    return _cached(fits_text, resource, max_entries)


# ---------------------------------------------------------------------------- summaries


@by_fit(resource=True)
def summary(fit: "Fit") -> "pd.DataFrame":
    """hiermod.diagnostics.summary_table(fit)."""
    from hiermod.diagnostics import summary_table
    from ui.cache import heavy_imports

    heavy_imports()
    return summary_table(fit)


@by_fit(resource=True)
def diagnosis(fit: "Fit"):
    """hiermod.diagnostics.diagnose(fit)."""
    from hiermod.diagnostics import diagnose
    from ui.cache import heavy_imports

    heavy_imports()
    return diagnose(fit)


@by_fit()
def draws(fit: "Fit", name: str):
    """Posterior draws of ``name`` flattened over chains."""
    return fit.draws(name)


@by_fit(max_entries=64)
def posterior_mean(fit: "Fit", name: str) -> float:
    return float(fit.draws(name).mean())


# ------------------------------------------------------------------------------ shrinkage


@by_fit()
def shrinkage(fit: "Fit") -> "pd.DataFrame":
    from hiermod.compare import shrinkage_table

    return shrinkage_table(fit, hdi_prob=INTERVAL)


def shrinkage_levels(fit: "Fit") -> list:
    """hiermod.shrinkage.shrinkage_levels(fit): the levels the Shrinkage page can show."""
    from hiermod.shrinkage import shrinkage_levels as levels

    return levels(fit)


@by_fit(max_entries=32)
def shrinkage_at(fit: "Fit", level: int) -> "pd.DataFrame":
    """shrinkage_table(fit, level=level) at the pages' interval."""
    from hiermod.shrinkage import shrinkage_table

    return shrinkage_table(fit, hdi_prob=INTERVAL, level=int(level))


@by_fit(max_entries=16)
def slopes(fit: "Fit", x: str) -> "pd.DataFrame":
    """hiermod.slope_shrinkage.slope_table(fit, x) at the pages' interval."""
    from hiermod.slope_shrinkage import slope_table

    return slope_table(fit, x, hdi_prob=INTERVAL)


@by_fit(max_entries=16)
def slope_ellipse(fit: "Fit", x: str) -> "pd.DataFrame":
    from hiermod.slope_shrinkage import slope_ellipse_table

    return slope_ellipse_table(fit, x)


@by_fit(max_entries=16)
def slope_lines(fit: "Fit", x: str) -> tuple:
    """(points, lines) of hiermod.slope_shrinkage.slope_lines_table."""
    from hiermod.slope_shrinkage import slope_lines_table

    return slope_lines_table(fit, x)


@by_fit()
def continuum(fit: "Fit") -> dict[str, Any]:
    """The pooling continuum of the fit's data and the posterior of tau to shade under it.

    Returns {"table": DataFrame | None, "tau": DataFrame | None, "tau_source": "exact" |
    "draws" | None, "note": str, "x_max": float | None}. Summary data: exact (BDA3 fig 5.6).
    Gaussian (row-level) data: the library's approximation (sigma treated as known), shaded with
    a histogram of the fit's tau draws. Binomial / Poisson: not available (note says why).
    """
    from hiermod.errors import HiermodError
    from hiermod.continuum import pooling_continuum

    from hiermod.families import LINKS
    from hiermod.kind_registry import kind_info

    k = fit.data.kind.value
    out: dict[str, Any] = {"table": None, "tau": None, "tau_source": None, "note": "", "x_max": None}
    if kind_info(k).normal_estimates is None:
        out["note"] = (
            f"The pooling continuum is drawn for normal data only. For {k} data the group "
            "estimates live on the " + LINKS[fit.spec.family.link].scale_name
            + " scale and their standard errors depend on the estimates themselves, so there "
            "is no simple formula for 'each group's estimate at a given tau'. The shrinkage plot "
            "above shows where the model actually put each group."
        )
        return out
    if fit.spec.covariates:
        out["note"] = ("With covariates in the model the continuum below ignores them: it is the "
                       "plain group-means picture, for intuition only.")
    out["table"] = pooling_continuum(fit.data, fit)
    if fit.spec.family.normal_known_se and not fit.spec.covariates:
        try:
            out["tau"] = tau_exact(fit)
            out["tau_source"] = "exact"
        except HiermodError:
            log.info("no exact tau posterior for this fit", exc_info=True)
    if out["tau"] is None and "tau" in fit.idata.posterior:
        out["tau"] = _draws_density(fit.draws("tau"))
        out["tau_source"] = "draws"
    if not fit.spec.family.normal_known_se:
        out["note"] = (out["note"] + " " if out["note"] else "") + (
            "For row-level data each group's estimate is its mean, with standard error "
            "sigma / sqrt(n) where sigma is the pooled within-group sd (treated as known): an "
            "approximation of what the model does.")
    if out["tau"] is not None and len(out["tau"]):
        out["x_max"] = float(out["tau"]["tau"].max())
    return out


def _draws_density(values, bins: int = 60) -> "pd.DataFrame":
    """A histogram density (tau, density) of positive draws up to their 99.5% quantile."""
    import numpy as np
    import pandas as pd

    d = np.asarray(values, dtype=float).ravel()
    d = d[np.isfinite(d) & (d >= 0)]
    if d.size == 0:
        return pd.DataFrame({"tau": [], "density": []})
    hi = float(np.quantile(d, 0.995)) or float(d.max()) or 1.0
    counts, edges = np.histogram(d, bins=bins, range=(0.0, hi))
    dens = counts / (d.size * np.diff(edges))
    mids = (edges[1:] + edges[:-1]) / 2
    return pd.DataFrame({"tau": np.concatenate([[0.0], mids, [hi]]),
                         "density": np.concatenate([[dens[0]], dens, [0.0]])})


@by_fit(max_entries=64)
def continuum_at(fit: "Fit", tau: float) -> "pd.DataFrame":
    """:func:`hiermod.continuum.continuum_at` for the fit's data and priors, cached."""
    from hiermod.continuum import continuum_at as at

    return at(fit.data, fit, float(tau))


@by_fit()
def tau_exact(fit: "Fit") -> "pd.DataFrame":
    """The exact grid posterior of tau (normal model with known se, partial pooling)."""
    from hiermod.continuum import tau_posterior_table
    from hiermod.exact import exact_posterior

    if hasattr(fit.exact, "hyper_density"):  # an instant fit: its own density of tau (exact in 1-D)
        from hiermod.live import central

        return central(fit.exact.hyper_density("tau", points=400), "tau", 0.999)
    ep = fit.exact if getattr(fit, "exact", None) is not None else \
        exact_posterior(fit.data, fit.spec, fit.priors)
    return tau_posterior_table(ep)


@by_fit(max_entries=8, resource=True)
def exact_continuum(fit: "Fit") -> tuple:
    """(pooling_continuum, tau posterior table) for an exact partial-pooling fit."""
    from hiermod.continuum import pooling_continuum, tau_posterior_table

    return pooling_continuum(fit.data, fit), tau_posterior_table(fit)


# ---------------------------------------------------------------------------- diagnostics


@by_fit()
def funnel_rows(fit: "Fit", group: str) -> "pd.DataFrame":
    """hiermod.diagnostics.funnel_table rows of one group."""
    from hiermod.diagnostics import funnel_table

    table = funnel_table(fit)
    return table[table["group"].astype(str) == str(group)].reset_index(drop=True)


def funnel_scales(fit: "Fit") -> list:
    """hiermod.plot_tables.funnel_scales(fit): one funnel per scale parameter."""
    from hiermod.plot_tables import funnel_scales as scales

    return scales(fit)


@by_fit(max_entries=32)
def funnel_scale_rows(fit: "Fit", scale: str, group: str) -> "pd.DataFrame":
    """funnel_table(fit, scale) rows of one group (attrs kept: scale, effect, title)."""
    from hiermod.plot_tables import funnel_table

    table = funnel_table(fit, scale)
    rows = table[table["group"].astype(str) == str(group)].reset_index(drop=True)
    rows.attrs.update(table.attrs)
    return rows


@by_fit(max_entries=32)
def trace(fit: "Fit", var: str) -> "pd.DataFrame":
    """Trace of ``var`` with a ``diverging`` column (when the sampler recorded divergences)."""
    from hiermod.diagnostics import trace_table

    out = trace_table(fit, var)
    if "sample_stats" in fit.idata.groups() and "diverging" in fit.idata.sample_stats:
        div = fit.idata.sample_stats["diverging"].values.astype(bool)
        out["diverging"] = div[out["chain"].to_numpy(), out["draw"].to_numpy()]
    return out


@by_fit(max_entries=32)
def ranks(fit: "Fit", var: str) -> "pd.DataFrame":
    from hiermod.diagnostics import rank_table

    return rank_table(fit, var)


@by_fit()
def energy(fit: "Fit") -> "pd.DataFrame":
    from hiermod.diagnostics import energy_table

    return energy_table(fit)


# ------------------------------------------------------------------ checks and comparison


@by_fit(resource=True)
def ppc(fit: "Fit") -> tuple:
    """(hiermod.compare.ppc_table, ppc_summary) at the 90% level."""
    from hiermod.compare import ppc_summary, ppc_table

    t = ppc_table(fit, hdi_prob=INTERVAL)
    return t, ppc_summary(t)


@by_fits()
def loo(fits: dict) -> "pd.DataFrame":
    from hiermod.compare import loo_table

    return loo_table(fits)


@by_fits()
def forest(fits: dict) -> "pd.DataFrame":
    from hiermod.compare import forest_table

    return forest_table(fits, hdi_prob=INTERVAL)


@by_fit(resource=True)
def variance(fit: "Fit") -> "pd.DataFrame":
    from hiermod.compare import variance_decomposition

    return variance_decomposition(fit, prob=INTERVAL)


@by_fit(resource=True)
def new_group_view(fit: "Fit") -> dict:
    """What the page draws for a new group, all on one scale: the prediction rows, the existing
    groups' own estimates for comparison, their labels and the axis title.

    Identity-link families: theta_new and y_new against the groups' own estimates. Families with a
    response scale (binomial, poisson, negative binomial): response_new (probability / rate)
    against the groups' own raw proportions / rates.
    """
    from hiermod.compare import predict_new_group

    pred = predict_new_group(fit, prob=INTERVAL)
    table = shrinkage(fit)
    family = fit.spec.family
    if family.response:
        rows = pred.loc[["response_new"]]
        observed = table["no_pooling_response"]
        x_title = family.response_label
    else:
        rows = pred.loc[["theta_new", "y_new"]]
        observed = table["no_pooling"]
        x_title = "outcome"
    return {"table": pred, "rows": rows, "observed": observed, "labels": table["group"],
            "x_title": x_title}


# -------------------------------------------------------------------------------- Learn





# ------------------------------------------------------------------------------- export


@by_fit(max_entries=8)
def netcdf_bytes(fit: "Fit") -> bytes:
    from hiermod.export import to_netcdf_bytes

    return to_netcdf_bytes(fit)


@by_fit()
def summary_csv(fit: "Fit") -> str:
    from hiermod.export import summary_csv as csv

    return csv(fit)


@by_fit(max_entries=32)
def script(fit: "Fit", data_path: str, flavour: str) -> str:
    from hiermod.export import reproduction_script

    return reproduction_script(fit, data_path=data_path, flavour=flavour)


# ------------------------------------------------------------------------------- priors


@st.cache_data(max_entries=64, show_spinner=False)
def prior_density(prior_text: str, n: int = 200, mass: float = 0.98) -> "pd.DataFrame":
    """hiermod.priors.density_table of a prior written as text."""
    from hiermod.priors import density_table

    return density_table(prior_text, n=n, mass=mass)


@st.cache_data(max_entries=32, show_spinner=False)
def _prior_predictive(fingerprint: str, spec_json: str, n: int, seed: int, _data) -> tuple:
    import json

    from hiermod.prior_predictive import observed_on_data_scale, prior_predictive_draws
    from hiermod.spec import ModelSpec

    spec = ModelSpec.from_dict(json.loads(spec_json))
    simulated = prior_predictive_draws(_data, spec, n=n, seed=seed)
    return observed_on_data_scale(_data, spec), simulated


def prior_predictive(data: "GroupedData", spec: "ModelSpec", n: int = 200, seed: int = 0):
    """(observed, simulated (n, n_rows)) on the data scale, cached by data and spec."""
    import json

    return _prior_predictive(data.fingerprint, json.dumps(spec.to_dict(), sort_keys=True), n, seed, data)


# ------------------------------------------------- checks for nested levels, slopes, populations


@by_fit(resource=True)
def ppc_level(fit: "Fit", level: str) -> tuple:
    """(hiermod.compare.ppc_table at grouping level ``level``, ppc_summary) at the 90% level."""
    from hiermod.compare import ppc_summary, ppc_table

    t = ppc_table(fit, hdi_prob=INTERVAL, level=level)
    return t, ppc_summary(t)


@by_fit(max_entries=32, resource=True)
def new_group_levels(fit: "Fit", parent_column: str | None, parent: str | None) -> "pd.DataFrame":
    """hiermod.compare.predict_new_group_levels: a new group at each level (a new group of the
    level below ``parent_column`` sits in its group ``parent``)."""
    from hiermod.compare import predict_new_group_levels

    parents = {parent_column: parent} if parent_column and parent else None
    return predict_new_group_levels(fit, prob=INTERVAL, parents=parents)


@by_fits()
def structure_loo(fits: dict) -> tuple:
    """(hiermod.compare.loo_table of fits of different structures, None) or (None, the reason
    they are not comparable)."""
    from hiermod.compare import loo_comparability, loo_table

    reason = loo_comparability(fits)
    return (None, reason) if reason else (loo_table(fits), None)


@by_fit(resource=True)
def new_group_view_any(fit: "Fit") -> dict:
    """:func:`new_group_view` for every structure: nested fits (whose shrinkage table is not
    per level yet) get the prediction rows with the innermost groups' own means as the rug
    (identity-link families) or no rug (response-scale families)."""
    if not fit.spec.nested:
        return new_group_view(fit)
    from hiermod.compare import predict_new_group

    pred = predict_new_group(fit, prob=INTERVAL)
    family = fit.spec.family
    if family.response:
        return {"table": pred, "rows": pred.loc[["response_new"]], "observed": None, "labels": None,
                "x_title": family.response_label}
    summary = fit.data.group_summary()
    return {"table": pred, "rows": pred.loc[[q for q in pred.index if q != "response_new"]],
            "observed": summary["estimate"], "labels": summary["group"], "x_title": "outcome"}


# ---------------------------------------------------------------------- group-level questions


@by_fit(max_entries=32)
def group_ranks(fit: "Fit", level: int | None, higher_is_better: bool) -> "pd.DataFrame":
    """hiermod.group_ranks.rank_table at the pages' interval."""
    from hiermod.group_ranks import rank_table

    return rank_table(fit, prob=INTERVAL, higher_is_better=higher_is_better, level=level)


@by_fit(max_entries=32)
def pooling_factors(fit: "Fit", level: int | None) -> tuple:
    """(hiermod.pooling_factor.pooling_factor_table, pooling_summary) at the pages' interval."""
    from hiermod.pooling_factor import pooling_factor_table, pooling_summary

    return pooling_factor_table(fit, prob=INTERVAL, level=level), pooling_summary(fit, prob=INTERVAL, level=level)


@by_fit(max_entries=16, resource=True)
def leave_group_out(fit: "Fit") -> "pd.DataFrame":
    """hiermod.leave_group_out.leave_group_out(fit) (instant refits or PSIS)."""
    from hiermod.leave_group_out import leave_group_out as logo

    return logo(fit)
