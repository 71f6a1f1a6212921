"""Cached computations for the results pages (Shrinkage, Funnel and diagnostics, ...).

Every function here is a thin, cached wrapper around :mod:`hiermod`: the pages call these and
draw what comes back. Caches are keyed by the text of the fit key (:func:`fit_text`), and the Fit
itself is passed as an ``_``-prefixed (unhashed) argument, like :mod:`ui.cache` does.

Session keys owned by this module (plain, non-widget):

Key                  Type                    Meaning
-------------------  ----------------------  -----------------------------------------------------
``hm_compare_job``   hiermod.jobs.Job|None   a comparison fit (the other parameterization) running
``hm_compare_key``   tuple | None            its fit key

The comparison fit runs through the same machinery as the Fit page (:func:`ui.cache.submit_fit`),
but it does not replace the current fit: when it finishes it is added to ``hm_fits`` and the
current fit key is kept.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import streamlit as st

from ui import cache, state

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from hiermod.result import Fit

log = logging.getLogger("hiermod.ui")

COMPARE_JOB = "hm_compare_job"
COMPARE_KEY = "hm_compare_key"


# ------------------------------------------------------------------------------------ keys


def key_of(fit: "Fit") -> tuple:
    """The fit key of ``fit`` (data fingerprint, spec, settings)."""
    return state.fit_key(fit.data, fit.spec, fit.settings)


def fit_text(fit: "Fit") -> str:
    """Cache text of a fit: its key plus its method (an exact and a NUTS fit share a key)."""
    return f"{fit.method}:{cache.key_text(key_of(fit))}"


def is_partial(fit: "Fit") -> bool:
    return fit.spec.pooling.value == "partial"


def is_exact(fit: "Fit") -> bool:
    return str(fit.method) == "exact" or "sample_stats" not in fit.idata.groups()


def kind(fit: "Fit") -> str:
    return str(getattr(fit.data.kind, "value", fit.data.kind))


# ------------------------------------------------------------------------------ shrinkage


@st.cache_data(max_entries=16, show_spinner=False)
def shrinkage_table(key: str, _fit: "Fit", hdi_prob: float = 0.9) -> "pd.DataFrame":
    from hiermod.compare import shrinkage_table as table

    return table(_fit, hdi_prob=hdi_prob)


def precision_story(table: "pd.DataFrame") -> dict[str, Any]:
    """The numbers for the caption under 'shrinkage against precision'.

    Keys: most/least (dicts with group, se, precision, shrinkage, expected = 1 - weight),
    rank_corr (Spearman correlation of precision and shrinkage; negative = less precise groups
    are shrunk more), monotone_expected (1 - weight falls as precision rises, always true for the
    normal model), odd (groups whose measured shrinkage is noisy because their own estimate is
    already close to the pooled one).
    """
    t = table.dropna(subset=["precision"]).reset_index(drop=True)
    if len(t) < 2:
        return {}
    most = t.loc[t["precision"].idxmax()]
    least = t.loc[t["precision"].idxmin()]

    def row(r) -> dict:
        return {"group": str(r["group"]), "se": float(r["se"]), "precision": float(r["precision"]),
                "n": float(r["n"]), "shrinkage": float(r["shrinkage"]),
                "expected": float(1.0 - r["weight"])}

    corr = t[["precision", "shrinkage"]].rank().corr().iloc[0, 1]
    gap = (t["no_pooling"] - t["complete_pooling"]).abs()
    spread = float((t["no_pooling"].max() - t["no_pooling"].min()) or 1.0)
    odd = [str(g) for g in t.loc[gap < 0.1 * spread, "group"]]
    expected = (1.0 - t.sort_values("precision")["weight"]).to_list()
    return {
        "most": row(most),
        "least": row(least),
        "rank_corr": None if corr != corr else float(corr),  # NaN -> None
        "monotone_expected": all(a >= b - 1e-12 for a, b in zip(expected, expected[1:])),
        "odd": odd,
    }


@st.cache_data(max_entries=16, show_spinner=False)
def continuum(key: str, _fit: "Fit") -> dict[str, Any]:
    """The pooling continuum of the fit's data and the posterior of tau to shade under it.

    Returns {"table": DataFrame | None, "tau": DataFrame | None, "tau_source": "exact" |
    "draws" | None, "note": str, "x_max": float | None}. Summary data: exact (BDA3 fig 5.6).
    Gaussian (row-level) data: the library's approximation (sigma treated as known), shaded with
    a histogram of the fit's tau draws. Binomial / Poisson: not available (note says why).
    """
    from hiermod.continuum import pooling_continuum
    from hiermod.errors import HiermodError

    k = kind(_fit)
    out: dict[str, Any] = {"table": None, "tau": None, "tau_source": None, "note": "", "x_max": None}
    if k not in ("summary", "gaussian"):
        out["note"] = (
            f"The pooling continuum is drawn for normal data only. For {k} data the group "
            "estimates live on the " + ("log-odds" if k == "binomial" else "log-rate")
            + " scale and their standard errors depend on the estimates themselves, so there "
            "is no simple formula for 'each group's estimate at a given tau'. The shrinkage plot "
            "above shows where the model actually put each group."
        )
        return out
    if _fit.spec.covariates:
        out["note"] = ("With covariates in the model the continuum below ignores them: it is the "
                       "plain group-means picture, for intuition only.")
    out["table"] = pooling_continuum(_fit.data, _fit)
    if k == "summary" and not _fit.spec.covariates:
        try:
            out["tau"] = tau_exact_table(key, _fit)
            out["tau_source"] = "exact"
        except HiermodError:
            log.info("no exact tau posterior for this fit", exc_info=True)
    if out["tau"] is None and "tau" in _fit.idata.posterior:
        out["tau"] = _draws_density(_fit.draws("tau"))
        out["tau_source"] = "draws"
    if k == "gaussian":
        out["note"] = (out["note"] + " " if out["note"] else "") + (
            "For row-level data each group's estimate is its mean, with standard error "
            "sigma / sqrt(n) where sigma is the pooled within-group sd (treated as known): an "
            "approximation of what the model does.")
    if out["tau"] is not None and len(out["tau"]):
        out["x_max"] = float(out["tau"]["tau"].max())
    return out


def _draws_density(draws, bins: int = 60) -> "pd.DataFrame":
    """A histogram density (tau, density) of positive draws up to their 99.5% quantile."""
    import numpy as np
    import pandas as pd

    d = np.asarray(draws, dtype=float).ravel()
    d = d[np.isfinite(d) & (d >= 0)]
    if d.size == 0:
        return pd.DataFrame({"tau": [], "density": []})
    hi = float(np.quantile(d, 0.995)) or float(d.max()) or 1.0
    counts, edges = np.histogram(d, bins=bins, range=(0.0, hi))
    dens = counts / (d.size * np.diff(edges))
    mids = (edges[1:] + edges[:-1]) / 2
    return pd.DataFrame({"tau": np.concatenate([[0.0], mids, [hi]]),
                         "density": np.concatenate([[dens[0]], dens, [0.0]])})


@st.cache_data(max_entries=64, show_spinner=False)
def continuum_at(key: str, _fit: "Fit", tau: float) -> "pd.DataFrame":
    """:func:`hiermod.continuum.continuum_at` for the fit's data and priors, cached."""
    from hiermod.continuum import continuum_at as at

    return at(_fit.data, _fit, float(tau))


# ----------------------------------------------------------------------------------- tau


@st.cache_data(max_entries=16, show_spinner=False)
def tau_exact_table(key: str, _fit: "Fit") -> "pd.DataFrame":
    """The exact grid posterior of tau (normal model with known se, partial pooling)."""
    from hiermod.continuum import tau_posterior_table
    from hiermod.exact import exact_posterior

    ep = _fit.exact if getattr(_fit, "exact", None) is not None else \
        exact_posterior(_fit.data, _fit.spec, _fit.priors)
    return tau_posterior_table(ep)


@st.cache_data(max_entries=64, show_spinner=False)
def prior_table(prior_text: str, mass: float = 0.995) -> "pd.DataFrame":
    from hiermod.priors import density_table

    return density_table(prior_text, n=300, mass=mass)


@st.cache_data(max_entries=16, show_spinner=False)
def draws(key: str, _fit: "Fit", name: str):
    """Posterior draws of ``name`` flattened over chains."""
    return _fit.draws(name)


@st.cache_data(max_entries=64, show_spinner=False)
def posterior_mean(key: str, _fit: "Fit", name: str) -> float:
    return float(_fit.draws(name).mean())


def has_exact_tau(fit: "Fit") -> bool:
    return (fit.spec.likelihood.value == "normal_known_se" and is_partial(fit)
            and not fit.spec.covariates)


# ---------------------------------------------------------------------------- diagnostics


@st.cache_data(max_entries=16, show_spinner=False)
def funnel_rows(key: str, _fit: "Fit", group: str) -> "pd.DataFrame":
    """hiermod.diagnostics.funnel_table rows of one group."""
    from hiermod.diagnostics import funnel_table

    table = funnel_table(_fit)
    return table[table["group"].astype(str) == str(group)].reset_index(drop=True)


@st.cache_data(max_entries=32, show_spinner=False)
def trace_table(key: str, _fit: "Fit", var: str) -> "pd.DataFrame":
    """Trace of ``var`` with a ``diverging`` column (when the sampler recorded divergences)."""
    from hiermod.diagnostics import trace_table as table

    out = table(_fit, var)
    if "sample_stats" in _fit.idata.groups() and "diverging" in _fit.idata.sample_stats:
        div = _fit.idata.sample_stats["diverging"].values.astype(bool)
        out["diverging"] = div[out["chain"].to_numpy(), out["draw"].to_numpy()]
    return out


@st.cache_data(max_entries=32, show_spinner=False)
def rank_table(key: str, _fit: "Fit", var: str) -> "pd.DataFrame":
    from hiermod.diagnostics import rank_table as table

    return table(_fit, var)


@st.cache_data(max_entries=16, show_spinner=False)
def energy_table(key: str, _fit: "Fit") -> "pd.DataFrame":
    from hiermod.diagnostics import energy_table as table

    return table(_fit)


def summary_table(fit: "Fit") -> "pd.DataFrame":
    return cache.summary_table(fit_text(fit), fit)


def diagnosis(fit: "Fit"):
    return cache.diagnosis(fit_text(fit), fit)


# --------------------------------------------------------------------- parameterization pair


def other_parameterization(fit: "Fit"):
    """The spec of ``fit`` with the other parameterization (centered <-> non-centered)."""
    from hiermod.spec import Parameterization

    other = (Parameterization.CENTERED if fit.spec.parameterization == Parameterization.NON_CENTERED
             else Parameterization.NON_CENTERED)
    return fit.spec.replace(parameterization=other)


def _same_model_but_parameterization(a: "Fit", b: "Fit") -> bool:
    sa, sb = a.spec, b.spec
    return (a.data.fingerprint == b.data.fingerprint and sa.likelihood == sb.likelihood
            and sa.pooling == sb.pooling and sa.covariates == sb.covariates
            and dict(a.priors) == dict(b.priors) and sa.parameterization != sb.parameterization
            and not is_exact(b))


def partner_fit(fit: "Fit") -> "Fit | None":
    """A fit in this session of the same data and model with the other parameterization
    (the one with the same sampler settings preferred, else the newest)."""
    fits = st.session_state.get(state.FITS) or {}
    found = [f for f in fits.values() if _same_model_but_parameterization(fit, f)]
    if not found:
        return None
    same = [f for f in found if f.settings == fit.settings]
    return (same or found)[-1]


def submit_partner(fit: "Fit") -> str | None:
    """Start fitting the other parameterization (same data, priors and settings). Returns an
    error text, or None when it started (or was already in the cache: then it is stored)."""
    from ui.components import error_message, guarded

    spec = other_parameterization(fit)
    key = state.fit_key(fit.data, spec, fit.settings)
    ready, err = guarded(cache.submit_fit, fit.data, spec, fit.settings, key,
                         context="starting the comparison fit")
    if err is not None:
        return error_message(err, "starting the comparison fit")
    if hasattr(ready, "idata"):
        _store_partner(key, ready)
    else:
        st.session_state[COMPARE_JOB] = ready
        st.session_state[COMPARE_KEY] = key
    return None


def _store_partner(key: tuple, fit: "Fit") -> None:
    """Keep ``fit`` in this session's fits without making it the current one."""
    current = st.session_state.get(state.FIT_KEY)
    state.remember_fit(key, fit)
    fits = st.session_state[state.FITS]
    if current is not None and current in fits:
        fits.move_to_end(current)
        st.session_state[state.FIT_KEY] = current


def harvest_partner() -> str | None:
    """If the comparison job has finished, store its fit. Returns the status text when it ended
    without a fit ("cancelled"/error message), else None."""
    ss = st.session_state
    job = ss.get(COMPARE_JOB)
    if job is None or not job.done():
        return None
    key = ss.get(COMPARE_KEY)
    ss[COMPARE_JOB] = None
    ss[COMPARE_KEY] = None
    if job.status == "done":
        try:
            _store_partner(key, job.result(0))
        except Exception as exc:  # noqa: BLE001 - defensive
            log.warning("comparison fit result unreadable", exc_info=True)
            return f"The comparison fit could not be read ({type(exc).__name__})."
        return None
    if job.status == "cancelled":
        return "The comparison fit was cancelled."
    return job.error_message or "The comparison fit failed."


def partner_job():
    """The comparison job of this session (running, or finished and not yet harvested), or None."""
    return st.session_state.get(COMPARE_JOB)


# ------------------------------------------------------------------------------- export


@st.cache_data(max_entries=8, show_spinner=False)
def netcdf_bytes(key: str, _fit: "Fit") -> bytes:
    from hiermod.export import to_netcdf_bytes

    return to_netcdf_bytes(_fit)


@st.cache_data(max_entries=16, show_spinner=False)
def summary_csv(key: str, _fit: "Fit") -> str:
    from hiermod.export import summary_csv as csv

    return csv(_fit)


@st.cache_data(max_entries=32, show_spinner=False)
def script(key: str, _fit: "Fit", data_path: str, flavour: str) -> str:
    from hiermod.export import reproduction_script

    return reproduction_script(_fit, data_path=data_path, flavour=flavour)
