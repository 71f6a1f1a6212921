"""The Model variants page's falsification checks and the staged decision.

Each fitted variant's checks (:func:`hiermod.falsification.evaluate_checks` against the thresholds
the variant states) are shown as pass / fail / not applicable with the measured value and what it
means; a failing check with a suggestion offers it as a new variant in one click
(:func:`ui.variants_editor.add_suggested`). Then the decision, stage by stage, as the workflow
report makes it (:func:`hiermod.report.workflow_report`: computation, plausibility, prediction,
then LOO among the variants left), and the report's download.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import streamlit as st

from ui import components, tables
from ui import variants_editor as editor
from ui import variants_report

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.data import GroupedData
    from hiermod.result import Fit
    from hiermod.variants import Variant

STATUSES = ("pass", "fail", "not applicable")
STATUS_STYLE = {"pass": "color: #1b7f3b", "fail": "color: #b42318; font-weight: 600",
                "not applicable": "color: #6b7280"}


@tables.by_fit(max_entries=64, resource=True)
def _checks(fit: "Fit", thresholds: tuple, where: str) -> list:
    from hiermod.falsification import evaluate_checks
    from ui.cache import heavy_imports

    heavy_imports()
    return evaluate_checks(fit, dict(thresholds), where=where)


def variant_checks(variant: "Variant", fit: "Fit") -> list | None:
    """The variant's check results on its fit (None, with the error shown, when they fail)."""
    return components.computed(_checks, fit, tuple(sorted(variant.thresholds.items())),
                               f"variant '{variant.name}'", context=f"checking variant '{variant.name}'")


def _number(x) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return f"{x:.3g}"


def _table(results: list):
    from hiermod.falsification import checks_table

    table = checks_table(results)
    table["value"] = [_number(r.value) for r in results]
    return table[["check", "stage", "status", "value", "threshold", "meaning", "detail"]]


def _styled(table):
    """The status column coloured (pass green, fail red, not applicable grey)."""
    return table.style.map(lambda s: STATUS_STYLE.get(s, ""), subset=["status"])


def _suggestions(variant: "Variant", results: list, disabled: bool, position: int) -> None:
    """One button per distinct suggestion of the failing checks (the sampler settings, which every
    variant shares, are named instead)."""
    offered: dict[str, list] = {}
    for r in results:
        if r.failed and r.suggestion is not None:
            offered.setdefault(r.suggestion.label, []).append(r)
    for i, (label, failing) in enumerate(offered.items()):
        suggestion = failing[0].suggestion
        why = ", ".join(r.title for r in failing)
        st.markdown(components.md_escape(f"{why} failed. {suggestion.reason}"))
        if suggestion.changes:
            st.button(f"Add variant: {label}", key=f"w_var_suggest_{position}_{i}", icon=":material/add:",
                      on_click=editor.add_suggested, args=(variant, suggestion), disabled=disabled)
        if suggestion.settings:
            st.caption(components.md_escape(
                f"{label}: sampler settings are shared by every variant; set "
                + ", ".join(f"{k} = {v}" for k, v in suggestion.settings.items())
                + " under 'Advanced' on the Model page and fit again."))


def checks_section(variants: Sequence["Variant"], fits: dict, disabled: bool) -> None:
    """Every variant's checks (a tab each), with the suggestions of the failing ones."""
    st.header("Falsification checks")
    st.caption("Each variant's checks, stated before fitting (the thresholds under 'Checks and their "
               "thresholds' above), judged on its fit. A failing check says what to try next; its "
               "button adds that variant to the set.")
    tabs = st.tabs([v.name for v in variants])
    for position, (tab, variant) in enumerate(zip(tabs, variants)):
        with tab:
            results = variant_checks(variant, fits[variant.name])
            if results is None:
                continue
            counts = {s: sum(r.status == s for r in results) for s in STATUSES}
            st.markdown(components.md_escape(
                f"{variant.name}: {counts['pass']} pass, {counts['fail']} fail, "
                f"{counts['not applicable']} not applicable."))
            st.table(_styled(_table(results).set_index("check")))
            _suggestions(variant, results, disabled, position)


def decision_section(data: "GroupedData", variants: Sequence["Variant"], fits: dict) -> None:
    """The staged decision of the workflow report (:mod:`ui.variants_report`): computation,
    plausibility (with shrinkage), prediction, then LOO among the variants left; the report's
    download button under it."""
    from hiermod.workflow_decision import RECOMMENDATION

    st.header("The decision, stage by stage")
    decisions = variants_report.decision(variants, fits)
    if decisions is None:
        return
    for step in decisions:
        text = components.md_escape(step.text)
        if step.stage == RECOMMENDATION:
            (st.success if step.recommended else st.info)(text)
        else:
            st.markdown(text)
    variants_report.download_button(data, variants, fits)
