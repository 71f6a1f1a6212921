"""The panel "Does NUTS agree with the instant posterior?" (Fit page, Funnel and diagnostics page).

The math is :mod:`hiermod.agreement`; here it is computed once per fit (cached like the pages'
tables) and drawn: the verdict, the largest |z| values and the whole table (sortable: click a
column header). Shown for sampled fits only; when the instant method cannot serve the model the
panel says why and shows nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui import components, tables

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.agreement import Agreement
    from hiermod.result import Fit

TITLE = "Does NUTS agree with the instant posterior?"
SHOWN = 3
"""How many of the largest |z| values are shown as numbers above the table."""

_FORMATS = {"nuts_mean": "%.4g", "instant_mean": "%.4g", "difference": "%.3g", "mcse": "%.2g",
            "instant_error": "%.1e", "z": "%+.2f", "nuts_sd": "%.4g", "instant_sd": "%.4g",
            "sd_ratio": "%.3f", "sd_ratio_mcse": "%.3f"}
_HELP = {"z": "(NUTS mean - instant mean) / Monte Carlo standard error of the NUTS mean",
         "mcse": "Monte Carlo standard error of the NUTS mean",
         "instant_error": "grid error of the instant mean (counted in z with the MCSE)",
         "sd_ratio": "NUTS sd / instant sd (1 = same spread)",
         "sd_ratio_mcse": "Monte Carlo error of sd_ratio",
         "flagged": "|z| above the threshold"}


@tables.by_fit(resource=True)
def comparison(fit: "Fit") -> "Agreement":
    """hiermod.agreement.agreement(fit)."""
    from hiermod.agreement import agreement
    from ui.cache import heavy_imports

    heavy_imports()
    return agreement(fit)


def _caption(a: "Agreement") -> str:
    if a.exact:
        how = ("exact up to a grid error of "
               + (f"{a.grid_error:.1g} posterior sds" if a.grid_error == a.grid_error else "n/a"))
    else:
        how = "a Laplace approximation: exact only up to that approximation"
    return (f"Instant posterior: {a.label} ({how}). For each parameter z = (NUTS mean - instant "
            f"mean) / Monte Carlo standard error of the NUTS mean; if NUTS samples the same posterior, "
            f"z is about standard normal, so |z| > {a.threshold:g} is flagged (chance: 6 in 100,000 "
            "per parameter). The spreads are compared as sd_ratio = NUTS sd / instant sd.")


def agreement_panel(fit: "Fit", subheader: bool = True) -> "Agreement | None":
    """Draw the panel for ``fit`` (nothing for fits without a sampler), under :data:`TITLE` as a
    subheader or as bold text; returns the comparison."""
    if not components.has_sampler_stats(fit):
        return None
    if subheader:
        st.subheader(TITLE)
    else:
        st.markdown(f"**{TITLE}**")
    a = components.computed(comparison, fit, context="comparing NUTS with the instant posterior")
    if a is None:
        return None
    if not a.available:
        st.info(components.md_escape("The instant method cannot serve this model, so there is nothing "
                                     f"to compare NUTS with: {a.reason}"), icon=":material/info:")
        return a
    box = st.success if a.agrees else st.warning
    box(components.md_escape(a.verdict), icon=":material/check_circle:" if a.agrees else ":material/warning:")
    st.caption(components.md_escape(_caption(a)))
    top = a.largest(SHOWN)
    cols = st.columns(len(top))
    for col, (name, row) in zip(cols, top.iterrows()):
        col.metric(components.md_escape(f"|z| of {name}"), f"{abs(row['z']):.2f}",
                   help=f"NUTS {row['nuts_mean']:.4g} ± {row['mcse']:.2g} (MCSE), instant {row['instant_mean']:.4g}; "
                        f"sd ratio {row['sd_ratio']:.3f}")
    with st.expander(f"All {len(a.table)} parameters (click a column to sort)"):
        st.dataframe(a.table, width="stretch",
                     column_config={c: st.column_config.NumberColumn(c, format=f, help=_HELP.get(c))
                                    for c, f in _FORMATS.items()}
                     | {"flagged": st.column_config.CheckboxColumn("flagged", help=_HELP["flagged"])})
    return a
