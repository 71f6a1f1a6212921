"""Helpers of the results pages (Shrinkage, Funnel and diagnostics): what kind of fit it is, the
shrinkage caption's numbers, and the other-parameterization ("partner") fit of the Funnel page.

Cached tables live in :mod:`ui.tables`. The partner fit runs in its own
:class:`ui.job_slot.JobSlot` (session keys ``hm_compare_job``, ``hm_compare_key``,
``hm_compare_t0``, ``hm_compare_status``) through the same task as the Fit page, but it does not
replace the current fit: when it finishes it is added to ``hm_fits`` and the current fit key is kept.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import streamlit as st

from ui import cache, state
from ui.components import has_sampler_stats
from ui.job_slot import JobSlot, Wording

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from hiermod.result import Fit

log = logging.getLogger("hiermod.ui")

COMPARE_JOB = "hm_compare_job"
COMPARE_KEY = "hm_compare_key"


def is_partial(fit: "Fit") -> bool:
    return fit.spec.pooling.value == "partial"


def kind(fit: "Fit") -> str:
    return str(getattr(fit.data.kind, "value", fit.data.kind))


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


def has_exact_tau(fit: "Fit") -> bool:
    """The exact posterior of tau exists for this fit's model (partial pooling, exact method)."""
    from hiermod.orchestrate import exact_available

    return is_partial(fit) and exact_available(fit.data, fit.spec)



# --------------------------------------------------------------------- parameterization pair


def other_parameterization(fit: "Fit"):
    """The spec of ``fit`` with the other parameterization (centered <-> non-centered)."""
    from hiermod.spec import Parameterization

    other = (Parameterization.CENTERED if fit.spec.parameterization == Parameterization.NON_CENTERED
             else Parameterization.NON_CENTERED)
    return fit.spec.replace(parameterization=other)


def _same_model_but_parameterization(a: "Fit", b: "Fit") -> bool:
    sa, sb = a.spec, b.spec
    return (a.data.fingerprint == b.data.fingerprint
            and (sa.family, sa.pooling, sa.covariates) == (sb.family, sb.pooling, sb.covariates)
            and dict(a.priors) == dict(b.priors) and sa.parameterization != sb.parameterization
            and has_sampler_stats(b))


def partner_fit(fit: "Fit") -> "Fit | None":
    """A fit in this session of the same data and model with the other parameterization
    (the one with the same sampler settings preferred, else the newest)."""
    fits = st.session_state.get(state.FITS) or {}
    found = [f for f in fits.values() if _same_model_but_parameterization(fit, f)]
    if not found:
        return None
    same = [f for f in found if f.settings == fit.settings]
    return (same or found)[-1]


def _store_partner(key: tuple, fit: "Fit") -> None:
    """Keep ``fit`` in this session's fits without making it the current one."""
    current = st.session_state.get(state.FIT_KEY)
    state.remember_fit(key, fit)
    fits = st.session_state[state.FITS]
    if current is not None and current in fits:
        fits.move_to_end(current)
        st.session_state[state.FIT_KEY] = current


PARTNER = JobSlot((COMPARE_JOB, COMPARE_KEY, "hm_compare_t0", "hm_compare_status"),
                  Wording(what="the comparison fit", from_cache="Loaded from the cache.",
                          done="The comparison fit is done.",
                          cancelled="The comparison fit was cancelled.",
                          failed="The comparison fit failed."),
                  store=_store_partner)
"""The Funnel page's fit of the other parameterization."""


def partner_key(fit: "Fit") -> tuple:
    return state.fit_key(fit.data, other_parameterization(fit), fit.settings)


def start_partner(fit: "Fit") -> None:
    """Start fitting the other parameterization (same data, priors and settings); a fit already
    in the process-wide cache is stored at once."""
    spec = other_parameterization(fit)
    key = partner_key(fit)
    PARTNER.start(key, lambda: cache.fit_cache().get(key), cache._fit_task,
                  fit.data, spec, fit.settings, key,
                  label=f"{spec.likelihood.value}/{spec.pooling.value} {spec.parameterization.value}")


def partner_progress(job) -> tuple[float, str]:
    p = job.progress
    if job.status == "queued":
        return 0.0, "Waiting to start..."
    if p.phase in ("queued", "compiling"):
        return p.fraction, "Compiling the sampler..."
    return p.fraction, f"Fitting the other parameterization: {p.phase}, {p.done:,} of {p.total:,}"
