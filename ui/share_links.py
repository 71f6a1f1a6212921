"""Share links in the app: open one (app.py, once per session), say so (Data and Model pages), make
one (the Model page's "Share this model"). The link format is :mod:`hiermod.share_state`.

Opening: on a session's first run the address's parameters are decoded once; a sample data set is
loaded at once and the link's model, sampler settings and method are applied (the Model page's
widgets are seeded from them). A link made with uploaded data (``data=upload``) waits: the next
file the user uploads gets the link's column roles, then its model settings. After that the link
is never read again in the session, so it never fights the user's edits.

Session keys (plain, see ui/state.py for the others):

Key                Type          Meaning
-----------------  ------------  -----------------------------------------------------------------
``hm_link``        dict | None   the link this session was opened with: {"link": SharedModel,
                                 "problems": [str], "status": "waiting" | "applied",
                                 "tried": [str] (tables tried while waiting), "applied": snapshot}
                                 (None: no link; absent: the address not read yet)
``hm_share_shown`` bool          "Share this model" was pressed: keep the link (and address) current
"""

from __future__ import annotations

import streamlit as st

from hiermod import share_state
from hiermod.share_state import UPLOAD, SharedModel
from ui import components, data_source, state

LINK = "hm_link"
SHARE_SHOWN = "hm_share_shown"
WAITING, APPLIED = "waiting", "applied"
FALLBACK_URL = "http://localhost:8501"  # only when the browser's address is unknown (tests)


# ------------------------------------------------------------------------------------ opening


def open_link() -> None:
    """app.py, every run: read the address once per session; apply a link waiting for its data."""
    ss = st.session_state
    if LINK not in ss:
        ss[LINK] = None
        params = {key: st.query_params.get_all(key) for key in st.query_params}
        decoded = share_state.decode(params)
        if decoded.link is None:
            return
        entry = ss[LINK] = {"link": decoded.link, "problems": list(decoded.problems), "status": WAITING,
                            "tried": [], "applied": None}
        if decoded.link.dataset not in (None, UPLOAD):
            _open_sample(entry)
            return
    entry = ss.get(LINK)
    if entry and entry["status"] == WAITING:
        _apply_waiting(entry)


def _open_sample(entry: dict) -> None:
    link: SharedModel = entry["link"]
    if not data_source.use_sample(link.dataset):
        entry["problems"].append(f"'data={link.dataset}' could not be loaded: "
                                 f"{st.session_state.get(state.DATA_ERROR)}")
        return
    if link.columns is not None:
        _apply_roles(entry, link.columns)
    _apply_model(entry)


def _apply_waiting(entry: dict) -> None:
    """A link naming uploaded data (or none): apply it to the next table the user loads."""
    ss = st.session_state
    link: SharedModel = entry["link"]
    sig = ss.get(state.FRAME_SIG) or ""
    wanted = sig.startswith("upload:") if link.uploaded else bool(sig)
    if not wanted or sig in entry["tried"] or ss.get(state.FRAME) is None:
        return
    entry["tried"].append(sig)
    if link.columns is not None:
        _apply_roles(entry, link.columns)
    source = ss.get(state.DATA_SOURCE) or {}
    if state.current_data() is not None and source.get("sig", "").startswith(sig):
        _apply_model(entry)


def _apply_roles(entry: dict, roles) -> None:
    """The link's column roles on the table just loaded; when they do not fit, the table's own."""
    ss = st.session_state
    before = ss.get(state.COLUMNS), ss.get(state.DATA_ERROR)
    if not data_source.apply_roles(roles):
        entry["problems"].append("The link's column roles (col.*) do not fit this table, so its own "
                                 f"roles are used: {ss.get(state.DATA_ERROR)}")
        ss[state.COLUMNS], ss[state.DATA_ERROR] = before


def _apply_model(entry: dict) -> None:
    """The link's model (its priors; the data's defaults for the others), settings and method."""
    from hiermod.priors import resolve_priors
    from hiermod.spec import check_compatible

    ss = st.session_state
    link: SharedModel = entry["link"]
    data = state.current_data()
    if link.spec is not None:
        def full_spec():
            check_compatible(link.spec, data)
            return state.with_priors(link.spec, resolve_priors(data, link.spec))

        spec, err = components.guarded(full_spec, context="applying the shared model")
        if err is not None:
            entry["problems"].append("The link's model does not fit these data, so the default model "
                                     f"is used: {components.error_message(err, 'applying the shared model')}")
        else:
            source = ss.get(state.DATA_SOURCE) or {}
            if list(source.get("slopes", [])) != list(spec.slopes):  # the Data page keeps the slopes
                state.set_data(data, ss.get(state.DATA_NAME) or "data", {**source, "slopes": list(spec.slopes)})
            ss[state.SPEC] = spec
    if link.settings is not None:
        ss[state.SETTINGS] = link.settings
    if link.method is not None:
        ss[state.METHOD] = link.method
    entry["status"] = APPLIED
    entry["applied"] = _snapshot()


def _snapshot() -> tuple:
    data = state.current_data()
    return (data.fingerprint if data is not None else None, state.current_spec(),
            state.current_settings(), state.current_method())


def page_top() -> None:
    """Data and Model pages, under the title: :func:`open_link` (idempotent: the page may run
    without app.py, as under AppTest, and an upload is seen here first), then :func:`link_note`."""
    open_link()
    link_note()


def link_note() -> None:
    """"Opened from a shared link" while the model is still the link's (or what the link still
    waits for), and what of the link was not used."""
    entry = st.session_state.get(LINK)
    if not entry:
        return
    link: SharedModel = entry["link"]
    if entry["status"] == WAITING and link.uploaded:
        st.info("Opened from a shared link made with an uploaded file. A link never carries uploaded "
                "data: upload the same file again (Data page, *Upload a CSV*), and the link's column "
                "roles and model settings are applied to it.", icon=":material/link:")
    elif entry["status"] == WAITING:
        st.info("Opened from a shared link that names no data: load data (Data page), and the link's "
                "model settings are applied to it.", icon=":material/link:")
    elif entry["applied"] == _snapshot():
        what = "the uploaded file" if link.uploaded else components.md_escape(
            st.session_state.get(state.DATA_NAME) or "the data")
        st.info(f"Opened from a shared link: {what} with the link's model settings. Change anything "
                "you like; the link is not read again.", icon=":material/link:")
    else:
        return
    if entry["problems"]:
        st.warning("Parts of the link were not used:\n"
                   + "\n".join("- " + components.md_escape(p) for p in entry["problems"]),
                   icon=":material/link_off:")


# ------------------------------------------------------------------------------------- making


def current_link() -> SharedModel | None:
    """The session's data and model as a link (None without data or model)."""
    from hiermod.datasets import dataset_info

    ss = st.session_state
    data, spec = state.current_data(), state.current_spec()
    source = ss.get(state.DATA_SOURCE) or {}
    if data is None or spec is None:
        return None
    frame_sig = ss.get(state.FRAME_SIG) or ""
    columns = ss.get(state.COLUMNS) if frame_sig and source.get("sig", "").startswith(frame_sig) else None
    if source.get("kind") == "sample":
        dataset = source["name"]
        columns = columns or dataset_info(dataset).columns
    else:
        dataset = UPLOAD
    return SharedModel(dataset=dataset, columns=columns, spec=spec, settings=state.current_settings(),
                       method=state.current_method())


def share_control() -> None:
    """Model page: "Share this model" writes the model into the address bar and shows the link
    (kept current with later changes while the page is open)."""
    ss = st.session_state
    if st.button("Share this model", icon=":material/share:", key="w_share",
                 help="Put the data set and every model setting into the page's address, to copy "
                      "and hand out: whoever opens it gets the same model."):
        ss[SHARE_SHOWN] = True
    link = current_link() if ss.get(SHARE_SHOWN) else None
    if link is None:
        return
    params = share_state.encode(link)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)
    address = (st.context.url or FALLBACK_URL) + "?" + share_state.query_string(params)
    st.code(address, language=None, wrap_lines=True)
    what = "column roles" if link.uploaded else "data set"
    st.caption(f"The page's address now holds this model (it follows your changes). Whoever opens "
               f"the link gets the same {what}, model, priors, sampler settings and method.")
    if link.uploaded:
        st.warning("These data were uploaded, and a link never carries data: it holds the column "
                   "roles and the model only. Whoever opens it must upload the same file.",
                   icon=":material/upload_file:")
