"""The Model variants page's fit and results: every variant fitted in ONE background job, then
side by side (parameter tables, tau's posterior over its prior, every group in every variant,
LOO across the variants, posterior predictive coverage).

* :func:`start_fit_all` runs :func:`hiermod.variants.fit_variants` in the :data:`VARIANTS` job slot
  (:class:`ui.job_slot.JobSlot`: shared by key between sessions, progress and Cancel). Each finished
  fit goes into the process-wide :func:`ui.cache.fit_cache` under its own fit key, and the fits
  found there are passed as ``cached=``: an identical re-run (or a variant fitted on the Fit page
  with the same settings) is not fitted again.
* The tables come from :mod:`hiermod.variant_comparison`, the figures from
  :mod:`hiermod.plots.variants`.

Session keys (plain, non-widget; worker threads never touch them):

Key                  Type                          Meaning
-------------------  ----------------------------  ---------------------------------------------
``hm_var_job``       hiermod.jobs.Job | None       the running fit of the variants
``hm_var_key``       tuple | None                  its key (see :func:`variants_key`)
``hm_var_t0``        float | None                  time.time() when it was started
``hm_var_status``    dict | None                   {"status", "message", "seconds", "key"}
``hm_var_results``   OrderedDict[tuple, tuple]     finished sets {key: (variants, {name: Fit})}
``hm_var_last``      tuple | None                  the key of the last finished set
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import streamlit as st

from ui import cache, components, state, tables
from ui.figures import show_figure
from ui.job_slot import JobSlot, Wording, fmt_seconds, queue_text

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.data import GroupedData
    from hiermod.result import Fit
    from hiermod.settings import SamplerSettings
    from hiermod.variants import Variant

JOB, KEY, T0, STATUS = "hm_var_job", "hm_var_key", "hm_var_t0", "hm_var_status"
RESULTS, LAST = "hm_var_results", "hm_var_last"
MAX_SESSION_SETS = 3


# ------------------------------------------------------------------------------------- keys


def variants_key(data: "GroupedData", variants: Sequence["Variant"], settings: "SamplerSettings") -> tuple:
    """Key of a fitted set: the data, each variant's name, model and method, the settings (not the
    thresholds: they judge the fits, they do not change them)."""
    return ("variants", data.fingerprint, tuple((v.name, v.spec, v.method) for v in variants), settings)


def _fit_key(data, variant: "Variant", settings) -> tuple:
    return state.fit_key(data, variant.spec, settings, variant.method)


def _cached(data, variants, settings) -> dict:
    """{name: Fit} of the variants the process-wide fit cache already holds."""
    store = cache.fit_cache()
    found = {v.name: store.get(_fit_key(data, v, settings)) for v in variants}
    return {name: f for name, f in found.items() if f is not None}


def _all_cached(data, variants, settings):
    ready = _cached(data, variants, settings)
    return (tuple(variants), ready) if len(ready) == len(variants) else None


def _fit_all_task(data, variants, settings, cached, *, progress, cancel, publish):
    """Worker (no Streamlit; may be another process): the variants not in ``cached`` yet (found by
    the server); :func:`_keep_fits` puts them into the server's fit cache."""
    from hiermod.variants import fit_variants

    cache.heavy_imports()
    fits = fit_variants(data, variants, settings, progress=progress, cancel=cancel, cached=cached)
    return tuple(variants), fits


def _keep_fits(key, args, result) -> None:
    """Server side: every variant's fit into the process-wide fit cache."""
    data, variants, settings = args[:3]
    by_name = {v.name: v for v in variants}
    for name, fit in result[1].items():
        cache.fit_cache().put(_fit_key(data, by_name[name], settings), fit)


cache.KEEPERS[_fit_all_task] = _keep_fits


def _remember(key: tuple, result) -> None:
    state.remember_recent(RESULTS, key, result, MAX_SESSION_SETS)
    st.session_state[LAST] = key


VARIANTS = JobSlot((JOB, KEY, T0, STATUS),
                   Wording(what="the fit of the variants",
                           from_cache="Loaded from the cache (these variants were fitted before).",
                           done="Every variant is fitted.",
                           cancelled="The fit of the variants was cancelled.",
                           failed="The fit of the variants failed."),
                   store=_remember)
"""This session's fit of the variant set (Model variants page)."""


def start_fit_all(data: "GroupedData", variants: Sequence["Variant"], settings: "SamplerSettings") -> None:
    """Button handler: fit every variant in the background (the cached ones are not refitted)."""
    variants = tuple(variants)
    VARIANTS.start(variants_key(data, variants, settings), lambda: _all_cached(data, variants, settings),
                   _fit_all_task, data, variants, settings, _cached(data, variants, settings),
                   label=f"{len(variants)} model variants on {data.n_groups} groups")


def _progress_text(job) -> tuple[float, str]:
    """The merged progress: the message names the variant ("Fit 2 of 4: skeptical (sampling)")."""
    p = job.progress
    if job.status == "queued":
        return 0.0, queue_text(job)
    if p.phase == "queued":  # nothing reported yet: the first variant is being set up
        return 0.0, "Starting the first variant..."
    what = p.message or "Preparing"
    if p.total <= 0 or p.phase in ("queued", "compiling") or (p.phase == "warmup" and p.done == 0):
        return p.fraction, f"{what}: compiling the sampler (the first fit of a model takes longest)..."
    eta = f", about {fmt_seconds(p.eta_s)} left" if p.eta_s is not None else ""
    return p.fraction, (f"{what}: {p.done:,} of {p.total:,} iterations of all the variants{eta}; "
                        f"{p.divergences} divergence{'s' if p.divergences != 1 else ''} so far.")


def monitor(interval: float = 0.5) -> None:
    """Live progress + Cancel of this session's fit of the variants."""
    VARIANTS.monitor(_progress_text, interval=interval, cancel_label="Cancel the fit of the variants",
                     cancel_key="w_var_cancel")


def finished(key: tuple | None):
    """(variants, {name: Fit}) of a set this session fitted, else None."""
    return (st.session_state.get(RESULTS) or {}).get(key) if key is not None else None


def shown_results(data: "GroupedData", variants: Sequence["Variant"], settings: "SamplerSettings"):
    """What the results section shows: (variants, fits, current). The set now written when it is
    fitted (its thresholds), else the last finished set of this session (``current`` False)."""
    if variants:
        key = variants_key(data, variants, settings)
        got = finished(key) or _all_cached(data, variants, settings)
        if got is not None:
            return tuple(variants), got[1], True
    last = finished(st.session_state.get(LAST))
    if last is not None and last[1] and next(iter(last[1].values())).data.fingerprint == data.fingerprint:
        return last[0], last[1], False
    return None


# ------------------------------------------------------------------------------------ tables


def _ordered(fits: dict) -> tuple[str, ...]:
    return tuple(fits)


@tables.by_fits(max_entries=8)
def _parameters(fits: dict, order: tuple) -> dict:
    from hiermod.variant_comparison import parameter_tables

    cache.heavy_imports()
    return parameter_tables({n: fits[n] for n in order})


@tables.by_fits(max_entries=8)
def _tau(fits: dict, order: tuple):
    from hiermod.variant_comparison import tau_overlay

    return tau_overlay({n: fits[n] for n in order})


@tables.by_fits(max_entries=8)
def _forest(fits: dict, order: tuple):
    from hiermod.variant_comparison import forest_across

    cache.heavy_imports()
    return forest_across({n: fits[n] for n in order})


@tables.by_fits(max_entries=8)
def _loo(fits: dict, order: tuple):
    import warnings

    from hiermod.variant_comparison import loo_across

    cache.heavy_imports()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the Pareto-k warnings are shown from the table
        return loo_across({n: fits[n] for n in order})


@tables.by_fits(max_entries=8)
def _coverage(fits: dict, order: tuple):
    from hiermod.variant_comparison import ppc_coverage

    return ppc_coverage({n: fits[n] for n in order})


def loo_table(fits: dict):
    """:func:`hiermod.variant_comparison.loo_across` of the fits (in their order), cached."""
    return _loo(fits, _ordered(fits))


def _fmt(columns, skip=()):
    return {c: st.column_config.NumberColumn(c, format="%.3g") for c in columns if c not in skip}


# ---------------------------------------------------------------------------------- sections


def parameters_section(fits: dict) -> None:
    st.subheader("Each variant's parameters")
    st.caption("Posterior mean, sd and 94% highest-density interval of every reported parameter, with "
               "the Monte Carlo standard error, the effective sample size and R-hat.")
    order = _ordered(fits)
    found = components.computed(_parameters, fits, order, context="summarising the variants")
    if found is None:
        return
    for tab, name in zip(st.tabs([str(n) for n in order]), order):
        with tab:
            st.caption(components.md_escape(f"{fits[name].spec.describe()}; method: "
                                            f"{components.method_text(fits[name])}."))
            st.dataframe(found[name], width="stretch", column_config=_fmt(found[name].columns))


def tau_section(fits: dict, figures: dict) -> None:
    from hiermod.plots.variants import tau_overlay_plot

    st.subheader("tau: posterior over prior")
    st.caption("The spread of the group effects (tau) in each variant: its posterior (solid) over its "
               "prior (dashed, same colour). A posterior that follows its prior learned little from "
               "the data; one piled against zero says the groups barely differ.")
    table = components.computed(_tau, fits, _ordered(fits), context="computing tau's densities")
    if table is None:
        return
    if table.empty:
        st.info("No variant has a spread of group effects (tau) to show: complete or no pooling, "
                "or a Beta/Gamma population.", icon=":material/info:")
        return
    for param in dict.fromkeys(table["parameter"]):
        show_figure(tau_overlay_plot, table, param, context=f"drawing {param}'s densities",
                    key=f"var_tau_{param}", figures=figures, export_as=f"{param} in each variant", stretch=True)


def forest_section(fits: dict, figures: dict) -> None:
    from hiermod.plots.variants import forest_across_plot

    st.subheader("Every group in every variant")
    table = components.computed(_forest, fits, _ordered(fits), context="comparing the group estimates")
    if table is not None:
        show_figure(forest_across_plot, table, context="drawing the groups across variants",
                    key="var_forest", figures=figures, export_as="Every group in every variant", stretch=True)


def loo_section(fits: dict, figures: dict) -> None:
    from hiermod.model_comparison import PARETO_K_MAX
    from hiermod.plots.variants import loo_across_plot

    st.subheader("Which variant predicts left-out data best? (LOO)")
    st.markdown("elpd_loo is the estimated log score of a left-out observation (higher is better); "
                "elpd_diff is how far each variant falls behind the best, with dse its standard "
                "error: a difference smaller than about twice dse is not a clear win.")
    table = components.computed(loo_table, fits, context="comparing the variants by LOO")
    if table is None:
        return
    compared = table[table["compared"]]
    if len(compared):
        show_figure(loo_across_plot, table, context="drawing the LOO comparison", key="var_loo",
                    figures=figures, export_as="LOO across variants", stretch=True)
    cols = ["variant", "rank", "elpd_loo", "se", "elpd_diff", "dse", "p_loo", "weight", "n_bad_pareto_k",
            "max_pareto_k", "note"]
    st.dataframe(table[cols], hide_index=True, width="stretch",
                 column_config=_fmt(cols, skip=("variant", "note", "rank", "n_bad_pareto_k")))
    warned = [(v, w) for v, w in zip(compared["variant"], compared["warning"]) if isinstance(w, str) and w]
    if warned:
        st.warning(f"Some Pareto k values are above {PARETO_K_MAX}. LOO estimates the accuracy on a "
                   "left-out observation by reweighting the draws of the full fit; when leaving that "
                   "observation out would change the fit a lot, the shortcut is unreliable and the "
                   "numbers of that variant are only rough.", icon=":material/warning:")
        for name, text in warned:
            st.markdown(components.md_escape(f"{name}: {text}"))
    elif len(compared):
        st.success(f"Every Pareto k is below {PARETO_K_MAX}: the LOO estimates are reliable.",
                   icon=":material/check_circle:")
    if table.attrs.get("reason"):
        st.info("Not comparable by LOO: " + components.md_escape(table.attrs["reason"]),
                icon=":material/info:")


def coverage_section(fits: dict) -> None:
    st.subheader("Posterior predictive coverage")
    table = components.computed(_coverage, fits, _ordered(fits), context="checking the predictions")
    if table is None:
        return
    prob = table.attrs.get("prob", 0.95)
    st.caption(f"The share of observed values inside their central {prob:.0%} posterior predictive "
               f"interval (about {prob:.0%} expected when the model fits), and the same per group.")
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"coverage": st.column_config.NumberColumn("coverage", format="percent"),
                                "group_coverage": st.column_config.NumberColumn("group_coverage",
                                                                                format="percent")})
