"""Loading data into the session: a sample data set, or a table with column roles. Used by the Data
page and by share links (ui/share_links.py), so a link loads data exactly as the Data page does.
Errors are stored in ``hm_data_error`` for the Data page to show; the previous good data are kept."""

from __future__ import annotations

import streamlit as st

from hiermod.data import ColumnMap
from hiermod.datasets import dataset_info
from ui import cache, components, state


def try_load(frame, columns: ColumnMap, sig: str, name: str, source: dict) -> bool:
    """Load with these roles; on failure keep the previous good data and remember the message."""
    ss = st.session_state
    data, err = components.guarded(cache.load_mapped, sig, frame, columns, context="loading the data")
    if err is not None:
        ss[state.DATA_ERROR] = components.error_message(err, "loading the data")
        return False
    state.set_data(data, name, source)
    return True


def use_sample(name: str) -> bool:
    """Make the sample data set ``name`` the session's table and data (its own column roles)."""
    ss = st.session_state
    info = dataset_info(name)
    frame, err = components.guarded(cache.sample_frame, name, context="reading the sample data")
    if err is not None:
        ss[state.DATA_ERROR] = components.error_message(err, "reading the sample data")
        return False
    sig = f"sample:{name}"
    ss[state.FRAME], ss[state.FRAME_NAME], ss[state.FRAME_SIG] = frame, info.title, sig
    ss[state.COLUMNS] = info.columns
    data, err = components.guarded(cache.sample_data, name, context="loading the sample data")
    if err is not None:
        ss[state.DATA_ERROR] = components.error_message(err, "loading the sample data")
        return False
    state.set_data(data, info.title, {"kind": "sample", "name": name, "sig": sig,
                                      "slopes": list(info.slopes)})
    return True


def apply_roles(roles: ColumnMap) -> bool:
    """Load the session's current table (``hm_frame``) with these column roles."""
    ss = st.session_state
    ss[state.COLUMNS] = roles
    name = ss.get(state.FRAME_NAME) or "data"
    sig = ss.get(state.FRAME_SIG)
    kind_src = "sample" if sig.startswith("sample:") else "upload"
    slopes = [c for c in (ss.get(state.DATA_SOURCE) or {}).get("slopes", []) if c in roles.covariates]
    return try_load(ss[state.FRAME], roles, sig, name,
                    {"kind": kind_src, "name": sig.split(":", 1)[1] if kind_src == "sample" else name,
                     "sig": sig + ":" + repr(roles), "slopes": slopes})
