"""hiermod dashboard entry point: `streamlit run app.py`.

Registers the pages listed in ui/nav.py (add new pages there), sets session defaults, harvests a
finished background fit, and draws the shared sidebar. Heavy libraries (jax, numpyro, arviz) are
not imported here.
"""

from __future__ import annotations

import logging

import streamlit as st

from ui import components, share_links, state
from ui.nav import available_pages

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

st.set_page_config(page_title="hiermod: hierarchical models", page_icon=":material/hub:",
                   layout="wide")

state.init_state()
components.harvest_job()  # a fit that finished while the user was elsewhere
share_links.open_link()  # a shared link in the address: read once per session (ui/share_links.py)

sections: dict[str, list] = {}
for i, entry in enumerate(available_pages()):
    sections.setdefault(entry.section, []).append(
        st.Page(entry.path, title=entry.title, icon=entry.icon, default=(i == 0))
    )
page = st.navigation(sections)

with st.sidebar:
    st.title("hiermod")
    st.caption("Hierarchical Bayesian models, interactively")
components.sidebar_summary()

try:
    page.run()
finally:
    # After the first page is drawn (also when it ended early with st.stop(), as the Data page does
    # before any data is loaded): import jax/numpyro/arviz and precompile the sample datasets'
    # samplers on a daemon thread (once per process), so the first Fit starts at once.
    from ui.cache import warm_imports_in_background

    warm_imports_in_background()
