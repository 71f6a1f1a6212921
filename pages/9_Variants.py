"""Model variants: several named models of the same data, written down with their checks before
fitting, fitted in one background job, and compared side by side."""

from __future__ import annotations

import streamlit as st

from ui import components, state
from ui import variants_checks as checks
from ui import variants_editor as editor
from ui import variants_panel as panel

ss = st.session_state

st.title("Model variants")
st.caption("A careful analyst fits several models, not one: propose the variants (priors, pooling, "
           "parameterization, likelihood), state for each what result would make you abandon it, "
           "fit them all, and compare them side by side.")

data = state.current_data()
if data is None:
    st.info("Load data first (a sample or your CSV); the variants are models of those data.",
            icon=":material/info:")
    st.page_link("pages/1_Data.py", label="Data", icon=":material/table_chart:")
    st.stop()

spec, settings = state.current_spec(), state.current_settings()
running = panel.VARIANTS.job is not None
st.text(f"Data:    {ss.get(state.DATA_NAME) or 'data'} ({data.n_groups} groups, {data.n_rows} rows)\n"
        f"Sampler: {components.describe_settings(settings)} (NUTS and VI; change it under "
        "'Advanced' on the Model page)")

# ------------------------------------------------------------------------------ the variants
st.header("The variants")
b1, b2 = st.columns(2)
b1.button("Start from the recommended set", key="w_var_start", type="primary", icon=":material/auto_awesome:",
          on_click=editor.start_from_recommended, args=(data,), disabled=running,
          help="Non-centered with weakly informative priors, a skeptical one with a tighter tau prior, "
               "complete pooling, and a robust one: a heavier-tailed likelihood where the data kind has "
               "one (Student-t rows, negative binomial counts), a Student-t population for summary data "
               "(none for binomial data). It replaces the variants below.")
b2.button("Add variant: the Model page's model", key="w_var_add", icon=":material/add:",
          on_click=editor.add_from_model, args=(spec, data), disabled=running or spec is None)
if ss.get(editor.NOTICE):
    components.show_error(ss.pop(editor.NOTICE))
if ss.get(editor.ADDED):
    st.toast(f"Added the variant '{components.md_escape(ss.pop(editor.ADDED))}' to the set above; fit all variants to see it.",
             icon=":material/add_circle:")

uploaded = st.file_uploader("Load a variants.toml", type=["toml"], key="w_var_file", disabled=running,
                            help="One [[variant]] table per variant (the file the download below writes).")
if uploaded is None:
    editor.upload_cleared()
else:
    editor.upload(uploaded.getvalue(), data)
    if editor.upload_error():
        st.error(f"{uploaded.name} was not loaded, your variants are unchanged: {editor.upload_error()}",
                 icon=":material/error:")

rows = editor.rows()
if not rows:
    st.info("No variants yet: start from the recommended set, add the Model page's model, or load a "
            "variants.toml.", icon=":material/info:")
    st.stop()
if editor.written_for_other_data(data):
    st.warning("These variants were written for other data than those now loaded; start from the "
               "recommended set for these data, or fix the variants the errors name.",
               icon=":material/history:")

for row in rows:
    editor.sync_row(row)
reading = editor.read_rows(data)
st.dataframe(editor.overview(reading), hide_index=True, width="stretch")
for position, row in enumerate(rows, start=1):
    editor.row_editor(data, row, position, reading.errors.get(row["id"]), running)
if reading.set_error:
    st.error(reading.set_error, icon=":material/error:")

if reading.ok:
    from hiermod.variants import variants_to_toml

    toml_text = components.computed(variants_to_toml, reading.variants, context="writing variants.toml")
    if toml_text is not None:
        st.download_button("Download variants.toml", toml_text, file_name="variants.toml",
                           mime="application/toml", key="w_var_download", icon=":material/download:")

# ------------------------------------------------------------------------------------- fit
st.header("Fit all variants")
if not reading.ok:
    st.caption("Fix the errors above to fit the variants (your edits are kept).")
key = panel.variants_key(data, reading.variants, settings) if reading.ok else None
if st.button("Fit all variants", key="w_var_fit", type="primary", icon=":material/play_arrow:",
             disabled=running or not reading.ok):
    panel.start_fit_all(data, reading.variants, settings)
    st.rerun()
panel.monitor()
panel.VARIANTS.status_box(key, done=True)

# ---------------------------------------------------------------------------------- results
shown = panel.shown_results(data, reading.variants, settings)
if shown is None:
    st.caption("The comparison appears here when every variant is fitted.")
    st.stop()
variants, fits, current = shown
st.divider()
st.header("Side by side")
if not current:
    st.warning("These results are of the last variants you fitted; the variants above have changed "
               "since. Press 'Fit all variants' to update them.", icon=":material/history:")
figures: dict = {}
panel.parameters_section(fits)
panel.tau_section(fits, figures)
panel.forest_section(fits, figures)
panel.loo_section(fits, figures)
panel.coverage_section(fits)
checks.checks_section(variants, fits, disabled=running)
checks.decision_section(data, variants, fits)
