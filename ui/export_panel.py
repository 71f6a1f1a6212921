"""The "Export" section shown at the bottom of every results page.

Download buttons for: the ArviZ InferenceData (netCDF), the posterior summary (CSV), every
figure shown on the page (standalone interactive HTML, plotly.js inlined so it opens offline),
and a runnable Python script that refits the model, in two flavours (hiermod, plain NumPyro).
The files are made only when a button is pressed (deferred ``data=`` callables), so an unused
panel costs nothing, and pressing a button does not rerun the page.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Callable, Mapping

import streamlit as st

from ui import state, tables
from ui.components import md_escape

if TYPE_CHECKING:  # pragma: no cover
    import plotly.graph_objects as go

    from hiermod.result import Fit

log = logging.getLogger("hiermod.ui")

_SLUG = re.compile(r"[^a-z0-9]+")


def slug(text: str, default: str = "figure") -> str:
    """A safe file-name stem: lower-case letters, digits and dashes."""
    s = _SLUG.sub("-", str(text).lower()).strip("-")[:60]
    return s or default


def _deferred(make: Callable[[], Any], what: str) -> Callable[[], Any]:
    """A download callable that never raises (it runs outside the page: log and say so)."""

    def run():
        try:
            return make()
        except Exception as exc:  # noqa: BLE001
            log.error("Export of %s failed", what, exc_info=True)
            return (f"hiermod could not produce {what} ({type(exc).__name__}); "
                    "the details are in the server log.\n")

    return run


def _data_file(fit: "Fit") -> tuple[str, Callable[[], bytes] | None]:
    """(file name the script should read, callable giving the data file's bytes or None)."""
    ss = st.session_state
    source = ss.get(state.DATA_SOURCE) or {}
    data = state.current_data()
    same = data is not None and data.fingerprint == fit.data.fingerprint
    if same and source.get("kind") == "sample":
        try:
            from hiermod.datasets import dataset_path

            path = dataset_path(source.get("name", ""))
        except Exception:  # noqa: BLE001 - no file: the script still names one
            log.info("sample data file not found for export", exc_info=True)
        else:
            return path.name, path.read_bytes
    if same and source.get("kind") == "upload":
        name = str(source.get("name") or ss.get(state.DATA_NAME) or "data.csv")
        stem = slug(name.rsplit(".", 1)[0], "data")
        return f"{stem}.csv", None
    return "data.csv", None


def export_panel(fit: "Fit", figures: Mapping[str, "go.Figure"] | None = None,
                 key: str = "export") -> None:
    """Render the Export section for ``fit`` with the page's ``figures`` ({title: figure})."""
    from hiermod.export import figure_html

    st.divider()
    st.subheader("Export")
    st.caption("Everything needed to keep, share or rerun this fit. Files are made when you "
               "press a button.")
    stem = slug(f"{fit.spec.likelihood.value}-{fit.spec.pooling.value}", "fit")
    c1, c2, c3 = st.columns(3)
    with c1:
        st.markdown("**Results**")
        st.download_button(
            "Posterior (ArviZ netCDF)", data=_deferred(lambda: tables.netcdf_bytes(fit),
                                                       "the netCDF file"),
            file_name=f"hiermod-{stem}.nc", mime="application/x-netcdf", on_click="ignore",
            key=f"{key}_nc", icon=":material/database:",
            help="All draws, diagnostics and data as ArviZ InferenceData; open with "
                 "arviz.from_netcdf(path).")
        st.download_button(
            "Summary table (CSV)", data=_deferred(lambda: tables.summary_csv(fit),
                                                  "the summary CSV"),
            file_name=f"hiermod-{stem}-summary.csv", mime="text/csv", on_click="ignore",
            key=f"{key}_csv", icon=":material/table:",
            help="Mean, sd, interval, R-hat and ESS of every parameter.")
    with c2:
        st.markdown("**Figures** (interactive HTML)")
        if not figures:
            st.caption("No figures on this page.")
        for i, (title, fig) in enumerate((figures or {}).items()):
            st.download_button(
                title, data=_deferred(lambda fig=fig: figure_html(fig), f"the figure {title!r}"),
                file_name=f"hiermod-{slug(title)}.html", mime="text/html", on_click="ignore",
                key=f"{key}_fig_{i}", icon=":material/bar_chart:")
    with c3:
        st.markdown("**Rerun it** (Python script)")
        data_name, data_bytes = _data_file(fit)
        st.download_button(
            "Script using hiermod", data=_deferred(
                lambda: tables.script(fit, data_name, "hiermod"), "the hiermod script"),
            file_name=f"refit_{stem.replace('-', '_')}.py", mime="text/x-python",
            on_click="ignore", key=f"{key}_py_hiermod", icon=":material/code:")
        st.download_button(
            "Script in plain NumPyro", data=_deferred(
                lambda: tables.script(fit, data_name, "numpyro"), "the NumPyro script"),
            file_name=f"refit_{stem.replace('-', '_')}_numpyro.py", mime="text/x-python",
            on_click="ignore", key=f"{key}_py_numpyro", icon=":material/code:")
        if data_bytes is not None:
            st.download_button(
                "The data (CSV)", data=_deferred(data_bytes, "the data file"), file_name=data_name,
                mime="text/csv", on_click="ignore", key=f"{key}_data", icon=":material/table_chart:")
        st.caption(md_escape(f"Run: python refit_{stem.replace('-', '_')}.py {data_name} "
                             "(add --quick for a short test run). The script expects the data "
                             "file next to it."))
