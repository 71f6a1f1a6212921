"""The Model variants page's falsification checks and the staged decision.

Each fitted variant's checks (:func:`hiermod.falsification.evaluate_checks` against the thresholds
the variant states) are shown as pass / fail / not applicable with the measured value and what it
means; a failing check with a suggestion offers it as a new variant in one click
(:func:`ui.variants_editor.add_suggested`). Then the decision, stage by stage
(:func:`hiermod.workflow_decision.decide`: computation, plausibility, prediction, then LOO).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import streamlit as st

from ui import components, tables
from ui import variants_editor as editor
from ui import variants_panel as panel

if TYPE_CHECKING:  # pragma: no cover
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


def checks_section(variants: Sequence["Variant"], fits: dict, disabled: bool) -> dict:
    """Every variant's checks (a tab each); returns {name: results} of the variants checked."""
    st.header("Falsification checks")
    st.caption("Each variant's checks, stated before fitting (the thresholds under 'Checks and their "
               "thresholds' above), judged on its fit. A failing check says what to try next; its "
               "button adds that variant to the set.")
    checked = {}
    tabs = st.tabs([v.name for v in variants])
    for position, (tab, variant) in enumerate(zip(tabs, variants)):
        with tab:
            results = variant_checks(variant, fits[variant.name])
            if results is None:
                continue
            checked[variant.name] = results
            counts = {s: sum(r.status == s for r in results) for s in STATUSES}
            st.markdown(components.md_escape(
                f"{variant.name}: {counts['pass']} pass, {counts['fail']} fail, "
                f"{counts['not applicable']} not applicable."))
            st.table(_styled(_table(results).set_index("check")))
            _suggestions(variant, results, disabled, position)
    return checked


def decision_section(checked: dict, fits: dict) -> None:
    """The staged decision: computation, plausibility (with shrinkage), prediction, then LOO."""
    from hiermod.workflow_decision import RECOMMENDATION, decide

    st.header("The decision, stage by stage")
    if not checked:
        return
    loo = components.computed(panel.loo_table, fits, context="comparing the variants by LOO")
    compared = None
    if loo is not None and loo["compared"].any():
        compared = loo[loo["compared"]].set_index("variant")
    decisions = components.computed(decide, checked, compared, context="deciding between the variants")
    for d in decisions or ():
        text = components.md_escape(d.text)
        if d.stage == RECOMMENDATION:
            (st.success if d.recommended else st.info)(text)
        else:
            st.markdown(text)
