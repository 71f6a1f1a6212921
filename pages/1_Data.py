"""Data page: pick a sample data set or upload a CSV, check the column roles, see what was loaded.

No jax/numpyro/arviz on this page: it must be interactive within seconds of `streamlit run`.
"""

from __future__ import annotations

import streamlit as st

from hiermod.column_guess import grouping_candidates
from hiermod.data import ColumnMap, DataKind, guess_columns
from hiermod.datasets import dataset_info, list_datasets
from hiermod.kind_registry import role_columns
from hiermod.limits import MAX_GROUP_LEVELS
from ui import cache, components, data_source, share_links, state

ss = st.session_state
UPLOAD_SEEN = "hm_upload_seen"  # page-private: signature of the last upload processed
NONE = "(none)"

KIND_HELP = {
    "summary": "one row per group: an estimate and its standard error",
    "gaussian": "one row per observation: a group and a numeric outcome",
    "binomial": "successes out of trials (or 0/1 outcomes)",
    "poisson": "event counts, optionally with an exposure",
}

st.title("Data")
st.caption("Start from a sample data set or upload your own grouped CSV (one row per observation, "
           "or one row per group with an estimate and its standard error).")
share_links.page_top()


def _use_upload(name: str, raw: bytes) -> None:
    sig = f"upload:{cache.digest(raw)}"
    frame, err = components.guarded(cache.read_table_cached, raw, context="reading the file")
    if err is not None:  # unreadable: keep the previous table, data and settings
        ss[state.DATA_ERROR] = f"{name}: " + components.error_message(err, "reading the file")
        return
    ss[state.FRAME], ss[state.FRAME_NAME], ss[state.FRAME_SIG] = frame, name, sig
    columns, err = components.guarded(guess_columns, frame, context="guessing the column roles")
    if err is not None:
        ss[state.COLUMNS] = None
        ss[state.DATA_ERROR] = (f"{name}: " + components.error_message(err, "guessing the columns")
                                + " Choose the column roles below.")
        return
    ss[state.COLUMNS] = columns
    data_source.try_load(frame, columns, sig, name, {"kind": "upload", "name": name, "sig": sig})


# ----------------------------------------------------------------------------------- source
infos = list_datasets()
names = [i.name for i in infos]
titles = {i.name: i.title for i in infos}
loaded = ss.get(state.DATA_SOURCE) or {}

state.widget_default("w_source", "Upload a CSV" if loaded.get("kind") == "upload" else "Sample data set")
source = st.radio("Source", ["Sample data set", "Upload a CSV"], key="w_source", horizontal=True,
                  label_visibility="collapsed")

if source == "Sample data set":
    state.widget_default("w_sample", loaded.get("name") if loaded.get("kind") == "sample" else None)
    choice = st.selectbox("Sample data set", names, key="w_sample", format_func=titles.get,
                          placeholder="Choose a sample data set")
    if choice is not None and loaded.get("sig") != f"sample:{choice}" and ss.get(state.FRAME_SIG) != f"sample:{choice}":
        with st.spinner("Loading..."):
            data_source.use_sample(choice)
        if not ss.get(state.DATA_ERROR):
            st.rerun()  # so the sidebar shows the new data
    if choice is not None:
        info = dataset_info(choice)
        with st.expander("About this data set", expanded=loaded.get("sig") != f"sample:{choice}"):
            st.write(info.description)
            st.caption(f"Source: {info.source}. Licence: {info.licence}.")
else:
    upload = st.file_uploader("Grouped CSV file", type=["csv", "tsv", "txt"], key="w_upload",
                              help="Comma, semicolon or tab separated; UTF-8 or Latin-1.")
    if upload is not None:
        raw = upload.getvalue()
        seen = f"{upload.name}:{cache.digest(raw)}"
        if ss.get(UPLOAD_SEEN) != seen:
            ss[UPLOAD_SEEN] = seen
            with st.spinner("Reading the file..."):
                _use_upload(upload.name, raw)
            if not ss.get(state.DATA_ERROR):
                st.rerun()  # so the sidebar shows the new data

if ss.get(state.DATA_ERROR):
    components.show_error(ss[state.DATA_ERROR])
    if ss.get(state.DATA) is not None:
        st.info("The previous data are still in use: "
                + components.md_escape(ss.get(state.DATA_NAME) or "data") + ".",
                icon=":material/info:")

# ------------------------------------------------------------------------------ column roles
frame = ss.get(state.FRAME)
if frame is not None:
    cols = [str(c) for c in frame.columns]
    current = ss.get(state.COLUMNS)
    suffix = cache.digest(ss.get(state.FRAME_SIG, "").encode())[:10]
    k = lambda role: f"w_col_{role}_{suffix}"  # noqa: E731 - new widgets for every new table

    def pick(value):
        return value if value in cols else NONE

    state.widget_default(k("kind"), current.kind.value if current else DataKind.GAUSSIAN.value)
    state.widget_default(k("groups"), [c for c in (current.group_columns if current else cols[:1]) if c in cols])
    state.widget_default(k("y"), pick(current.y if current else (cols[1] if len(cols) > 1 else cols[0])))
    for role in ("se", "trials", "exposure"):
        state.widget_default(k(role), pick(getattr(current, role) if current else None))
    state.widget_default(k("covariates"), [c for c in (current.covariates if current else ()) if c in cols])

    candidates, _ = components.guarded(grouping_candidates, frame, current, context="listing grouping columns")
    with st.form("columns_form", border=True):
        st.markdown("**Column roles** (guessed; correct them if needed)")
        groups = st.multiselect(
            f"Grouping columns (outermost first, up to {MAX_GROUP_LEVELS})", cols, key=k("groups"),
            max_selections=MAX_GROUP_LEVELS,
            help="One column, or nested ones in order: school, then class. An inner label under "
                 "two outer groups names two groups (A/1 and B/1).")
        if candidates:
            st.caption("Other columns that could group the rows: "
                       + components.md_escape(", ".join(candidates)) + ".")
        c1, c2 = st.columns(2)
        kind = c1.selectbox("Kind of data", [k_.value for k_ in DataKind], key=k("kind"),
                            format_func=lambda v: f"{v}: {KIND_HELP[v]}")
        y = c2.selectbox("Outcome column (y)", [NONE] + cols, key=k("y"))
        c4, c5, c6 = st.columns(3)
        se = c4.selectbox("Standard error (summary data)", [NONE] + cols, key=k("se"))
        trials = c5.selectbox("Trials (binomial data)", [NONE] + cols, key=k("trials"))
        exposure = c6.selectbox("Exposure (poisson data)", [NONE] + cols, key=k("exposure"))
        covariates = st.multiselect("Covariates (numeric columns, optional)", cols, key=k("covariates"))
        applied = st.form_submit_button("Apply column roles", type="primary")

    if applied:
        def opt(v):
            return None if v == NONE else v

        if not groups or opt(y) is None:
            ss[state.DATA_ERROR] = "Choose at least one grouping column and an outcome column."
        else:
            roles, err = components.guarded(
                ColumnMap, group=groups[-1], outer_groups=tuple(groups[:-1]), y=y, kind=kind,
                **role_columns(kind, se=opt(se), trials=opt(trials), exposure=opt(exposure)),
                covariates=tuple(covariates), context="reading the column roles")
            if err is not None:
                ss[state.DATA_ERROR] = components.error_message(err)
            else:
                data_source.apply_roles(roles)
        st.rerun()

# ----------------------------------------------------------------------------------- preview
data = state.current_data()
if data is None:
    st.info("No data loaded yet: choose a sample data set or upload a CSV.", icon=":material/upload_file:")
    st.stop()

st.subheader("Loaded data")
st.text(f"{ss.get(state.DATA_NAME) or 'data'}: {data.kind.value} data, {data.n_groups} groups, "
        f"{data.n_rows} rows" + (f", covariates: {', '.join(data.covariate_names)}" if data.covariate_names else ""))

if len(data.levels) > 1:
    st.markdown("**Tree of groups**")
    st.text(data.tree_text())
    st.dataframe(data.tree_table(), hide_index=True)

if data.covariate_names:
    source_now = ss.get(state.DATA_SOURCE) or {}
    slopes_key = f"w_slopes_{data.fingerprint[:10]}"
    state.widget_default(slopes_key, [c for c in source_now.get("slopes", []) if c in data.covariate_names])
    slopes = st.multiselect(f"Slope covariates (effect varies by the innermost group, {data.levels[-1].column!r})",
                            list(data.covariate_names), key=slopes_key,
                            help="Each chosen covariate gets a slope per group (mean slope, its sd "
                                 "and its correlation with the intercepts); the others have one "
                                 "slope for all groups.")
    if list(slopes) != list(source_now.get("slopes", [])):
        state.set_data(data, ss.get(state.DATA_NAME) or "data", {**source_now, "slopes": list(slopes)})

if data.report:
    with st.container(border=True):
        st.markdown("**Load report**: what was dropped or changed")
        for line in data.report:
            st.text("- " + line)
else:
    st.caption("Load report: nothing was dropped or changed.")

left, right = st.columns([1, 1])
with left:
    st.markdown("**Per-group summary**" + (" (one table per grouping level)" if len(data.levels) > 1 else ""))
    tabs = st.tabs([f"{lv.column} ({lv.n_groups})" for lv in data.levels]) if len(data.levels) > 1 else [st.container()]
    for level_k, tab in enumerate(tabs):
        with tab:
            summary, err = components.guarded(data.level_summary, level_k, context="summarising the groups")
            if err is not None:
                components.show_error(err, "summarising the groups")
            else:
                st.dataframe(summary, hide_index=True, height=min(38 + 35 * len(summary), 400))
with right:
    if frame is not None:
        st.markdown("**Table preview** (first 20 rows)")
        st.dataframe(frame.head(20), hide_index=True, height=min(38 + 35 * min(len(frame), 20), 400))
        if ss.get(state.FRAME_SIG) and not (ss.get(state.DATA_SOURCE) or {}).get("sig", "").startswith(ss[state.FRAME_SIG]):
            st.caption("This is the newest table; the data in use are still the previous ones "
                       "until its column roles load without problems.")

st.page_link("pages/2_Model.py", label="Next: choose the model", icon=":material/arrow_forward:")
