"""The live panel's data editor: a per-group copy of the data a person can change, and a Restore.

The loaded data (``hm_data``) are never touched: the editor holds a per-group table
(:func:`hiermod.live_data.group_table`) in ``hm_live_table`` and the panel draws the data
:func:`hiermod.live_data.rebuild` makes from it. Each edit is folded into that table by the
editor's callback and the editor is drawn again from it under a new key (``w_live_table_<page>_<n>``),
so edits survive page changes (widget state does not).

``hm_live_table``  {"data": fingerprint of the loaded data, "table": DataFrame, "version": int}
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
    "rows": "Each group's number of rows, mean and sd. The model does not use the group's own se "
            "(sd / sqrt(n), shown): it estimates one sigma for all groups, and a group's mean carries "
            "se = sigma / sqrt(n), so doubling n divides it by 1.41. An edited group is re-made with "
            "exactly the new n, mean and sd (all the normal likelihood reads); an empty sd means the "
            "pooled within-group sd.",
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


def _fold_edits(key: str, data: "GroupedData") -> None:
    """st.data_editor's callback: write its edited cells into the working copy."""
    import numpy as np

    from hiermod.live_data import editor_for, recompute

    edits = (st.session_state.get(key) or {}).get("edited_rows") or {}
    box = _box(data)
    table = box["table"].copy()
    editable = set(editor_for(data).editable)
    for row, changes in edits.items():
        for column, value in changes.items():
            if column in editable:
                table.loc[table.index[int(row)], column] = np.nan if value is None else value
    box["table"] = recompute(data, table)
    box["version"] += 1


def working_table(data: "GroupedData") -> "pd.DataFrame":
    return _box(data)["table"]


def editor(data: "GroupedData", where: str) -> tuple["GroupedData | None", str | None]:
    """Draw the editor (in an expander) and a Restore button (widget keys end in ``where``, the
    page); return (the live data, None) or (None, what is wrong with the edited values)."""
    from hiermod.live_data import changed_groups, editor_for, rebuild

    ed = editor_for(data)
    box = _box(data)
    table = box["table"]
    changed, err = components.guarded(changed_groups, data, table, context="reading the edited data")
    n_changed = len(changed or [])
    # label and initial state stay the same from run to run, so an edit never re-creates the
    # expander (the user's open/closed choice is kept; the figures below keep their places)
    with st.expander("What if the data were different? Edit the groups", icon=":material/edit:"):
        st.caption(HELP[ed.name] + " The loaded data are not changed.")
        config = {"group": st.column_config.TextColumn("group", disabled=True)}
        for col in ed.columns:
            config[col] = st.column_config.NumberColumn(ed.labels[col], disabled=col not in ed.editable,
                                                        format="%.4g" if col not in ("n",) else "%d")
        key = f"w_live_table_{where}_{box['version']}"
        st.data_editor(table, key=key, hide_index=True, num_rows="fixed", column_config=config,
                       width="stretch", height=min(38 + 35 * len(table), 400),
                       on_change=_fold_edits, args=(key, data))
        st.button("Restore the original data", key=f"w_live_restore_{where}", on_click=restore, args=(data,),
                  disabled=not n_changed and err is None, icon=":material/restore:")
    # always one caption here (never none): a stable layout, so the figures below are updated in
    # place rather than re-created when the first edit appears or the last one is undone
    st.caption(components.md_escape(
        f"Edited: {', '.join(changed[:10])}" + (f" and {n_changed - 10} more" if n_changed > 10 else "")
        + ". The live figures use the edited numbers; the loaded data (and Fit) do not.") if n_changed
        else "No edits: the live figures use the loaded data.")
    if err is not None:
        return None, components.error_message(err, "reading the edited data")
    live, err = components.guarded(rebuild, data, table, context="rebuilding the edited data")
    if err is not None:
        return None, components.error_message(err, "rebuilding the edited data")
    return live, None
