"""The Model variants page's workflow report: :func:`hiermod.report.workflow_report` of the fitted
set (the staged decision the page shows is the report's, so the page, the report and the CLI
agree) and its offline HTML (:func:`hiermod.report.report_html`) behind a download button, built
only when the button is pressed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Sequence

import streamlit as st

from ui import components, tables

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.data import GroupedData
    from hiermod.variants import Variant

log = logging.getLogger("hiermod.ui")


def _text(variants: Sequence["Variant"], fits: dict) -> str:
    """Cache text of a report: the variants in order with their thresholds, and their fits."""
    described = tuple((v.name, v.spec, v.method, tuple(sorted(v.thresholds.items()))) for v in variants)
    return tables.key_text(described) + tables.fits_text(fits)


@st.cache_resource(max_entries=4, show_spinner=False)
def _workflow(text: str, _data, _variants, _fits) -> dict:
    from hiermod.report import workflow_report
    from ui.cache import heavy_imports

    heavy_imports()
    return workflow_report(_data, list(_variants), _fits)


@st.cache_resource(max_entries=2, show_spinner=False)
def _html(text: str, _data, _variants, _fits) -> str:
    from hiermod.report import report_html

    return report_html(_data, list(_variants), _fits, _workflow(text, _data, _variants, _fits))


@st.cache_resource(max_entries=4, show_spinner=False)
def _decision(text: str, _variants, _fits) -> list:
    from hiermod.report import staged_decision
    from ui.cache import heavy_imports

    heavy_imports()
    return staged_decision(list(_variants), _fits)[1]


def decision(variants: Sequence["Variant"], fits: dict) -> list | None:
    """The staged decision (:func:`hiermod.report.staged_decision`, what the report and the CLI
    show; None, with the error shown, when it cannot be made), without the rest of the report."""
    return components.computed(_decision, _text(variants, fits), tuple(variants), fits,
                               context="deciding between the variants")


def workflow(data: "GroupedData", variants: Sequence["Variant"], fits: dict) -> dict | None:
    """The report's dict (None, with the error shown, when it cannot be made)."""
    return components.computed(_workflow, _text(variants, fits), data, tuple(variants), fits,
                               context="deciding between the variants")


def download_button(data: "GroupedData", variants: Sequence["Variant"], fits: dict) -> None:
    """'Download report': the offline report.html, made when pressed (on Streamlit's download thread)."""
    text, variants = _text(variants, fits), tuple(variants)

    def build() -> str:
        try:
            return _html(text, data, variants, fits)
        except Exception as exc:  # noqa: BLE001 - the download thread has no page to show it on
            log.error("The report could not be written", exc_info=True)
            return ("<!DOCTYPE html><html><body><p>The report could not be written: "
                    f"{type(exc).__name__}. The details are in the server log.</p></body></html>")

    st.download_button("Download report", build, file_name="report.html", mime="text/html",
                       key="w_var_report", icon=":material/description:", type="primary",
                       help="One HTML file (opens offline in any browser): the variants, every check with "
                            "pass / fail, the interactive figures, the LOO table and the decision at "
                            "each stage.")
