"""The live panel's data editor: a per-group copy of the data a person can change, and a Restore.

The loaded data (``hm_data``) are never touched: the editor holds a per-group table
(:func:`hiermod.live_data.group_table`) in ``hm_live_table`` and the panel draws the data
:func:`hiermod.live_data.rebuild` makes from it. An editor (key ``w_live_table_<page>_<n>``) starts
from the working copy as it was when it appeared (``base``) and keeps its edits in its own widget
state while it stays on the page; every run writes base + edits back into the working copy, so the
edits survive a page change (widget state does not: the next editor starts from the copy). Restore
and new data start a new editor (``n`` + 1). The editor is never re-created for an edit (that
would cost the browser a new grid on every keystroke).

``hm_live_table``  {"data": fingerprint of the loaded data, "table": DataFrame (the working copy),
                   "base": DataFrame (what the current editor started from), "version": int}
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from ui import components

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from hiermod.data import GroupedData

LIVE_TABLE = "hm_live_table"

HELP = {
    "measurement": "Each group's estimate and its standard error: change them and see every group "
                   "re-shrink.",
    "counts": "Each group's total count and its total trials / exposure (all its rows added up). "
              "Twice the trials with the same rate: double both.",
    "rows": "Each group's number of rows n, mean and sd. An edited group is re-made with exactly that "
            "n, mean and sd (all the normal likelihood reads); an empty sd means the pooled within-group "
            "sd. The group's own se of its mean is sd / sqrt(n) (shown under the table after an edit), "
            "but the model estimates one sigma for all groups and uses sigma / sqrt(n) (the shrinkage "
            "plot's hover shows it): doubling n divides it by 1.41.",
}


def _box(data: "GroupedData") -> dict:
    """The working copy for ``data`` (a fresh one when the loaded data changed)."""
    from hiermod.live_data import group_table

    ss = st.session_state
    box = ss.get(LIVE_TABLE)
    if box is None or box.get("data") != data.fingerprint:
        box = {"data": data.fingerprint, "table": group_table(data), "version": (box or {}).get("version", 0) + 1}
        ss[LIVE_TABLE] = box
    return box


def restore(data: "GroupedData") -> None:
    """Back to the loaded data (button callback)."""
    from hiermod.live_data import group_table

    box = _box(data)
    box["table"] = group_table(data)
    box["version"] += 1


def editor(data: "GroupedData", where: str) -> tuple["GroupedData | None", str | None]:
    """Draw the editor (in an expander) and a Restore button (widget keys end in ``where``, the
    page); return (the live data, None) or (None, what is wrong with the edited values)."""
    from hiermod.live_data import changed_groups, editor_for, rebuild, recompute

    ed = editor_for(data)
    box = _box(data)
    key = f"w_live_table_{where}_{box['version']}"
    if key not in st.session_state or "base" not in box:
        box["base"] = box["table"]  # a fresh editor starts from the working copy
    # label and initial state stay the same from run to run, so an edit never re-creates the
    # expander (the user's open/closed choice is kept; the figures below keep their places)
    with st.expander("What if the data were different? Edit the groups", icon=":material/edit:"):
        st.caption(HELP[ed.name] + " The loaded data are not changed.")
        config = {"group": st.column_config.TextColumn("group", disabled=True)}
        for col in ed.editable:
            config[col] = st.column_config.NumberColumn(ed.labels[col], format="%d" if col == "n" else "%.4g")
        shown = box["base"][["group", *ed.editable]]
        edited = st.data_editor(shown, key=key, hide_index=True, num_rows="fixed", column_config=config,
                                width="stretch", height=min(38 + 35 * len(shown), 400))
        table = recompute(data, box["base"].assign(**{c: edited[c].to_numpy() for c in ed.editable}))
        box["table"] = table
        changed, err = components.guarded(changed_groups, data, table, context="reading the edited data")
        n_changed = len(changed or [])
        st.button("Restore the original data", key=f"w_live_restore_{where}", on_click=restore, args=(data,),
                  disabled=not n_changed and err is None, icon=":material/restore:")
    # always one caption here (never none): a stable layout, so the figures below are updated in
    # place rather than re-created when the first edit appears or the last one is undone
    st.caption(components.md_escape(edits_text(data, table, changed)) if n_changed
               else "No edits: the live figures use the loaded data.")
    if err is not None:
        return None, components.error_message(err, "reading the edited data")
    live, err = components.guarded(rebuild, data, table, context="rebuilding the edited data")
    if err is not None:
        return None, components.error_message(err, "rebuilding the edited data")
    return live, None


def edits_text(data: "GroupedData", table, changed: list[str], most: int = 5) -> str:
    """'Edited: A: effect 28 -> 80. The live figures ...' (the first ``most`` groups in full)."""
    from hiermod.live_data import edit_report

    text = edit_report(data, table).split(": ", 1)[1].rstrip(".")
    parts = text.split("; ")
    shown = "; ".join(parts[:most]) + (f"; and {len(parts) - most} more groups" if len(parts) > most else "")
    return f"Edited: {shown}. The live figures use the edited numbers; the loaded data (and Fit) do not."
