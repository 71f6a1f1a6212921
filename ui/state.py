"""Session-state keys, their defaults, and small typed accessors used by every page.

Plain (non-widget) keys hold everything that must survive a page change. Widgets use their own
keys prefixed ``w_``; pages copy widget values into the plain keys below on submit or change.
Worker threads never touch ``st.session_state``: a running fit lives in a :class:`hiermod.jobs.Job`
stored under ``JOB``, and the page (a fragment) copies the finished Fit out of it.

Key                 Type                                   Meaning
------------------  -------------------------------------  ---------------------------------------------
``hm_data``         hiermod.data.GroupedData | None        the current, validated data (last good load)
``hm_data_name``    str                                    its display name (sample title or file name)
``hm_data_source``  dict                                   {"kind": "sample"|"upload", "name", "sig"}
``hm_frame``        pandas.DataFrame | None                raw table being mapped (latest upload/sample)
``hm_frame_name``   str                                    its display name
``hm_frame_sig``    str                                    identity of that table (sample name / sha256)
``hm_columns``      hiermod.data.ColumnMap | None          the column roles last applied to ``hm_frame``
``hm_data_error``   str | None                             last data problem shown on the Data page
``hm_spec``         hiermod.spec.ModelSpec | None          the current model (priors all explicit)
``hm_settings``     hiermod.settings.SamplerSettings       sampler settings (4/1000/1000/seed 0, target accept 0.9)
``hm_method``       str                                    the Fit page's method: "nuts" (default) or "vi"
``hm_job``          hiermod.jobs.Job | None                the latest submitted background fit
``hm_job_key``      tuple | None                           fit key of ``hm_job``
``hm_job_t0``       float | None                           time.time() when Fit was pressed
``hm_fits``         OrderedDict[tuple, Fit]                the last few finished fits of this session
``hm_fit_key``      tuple | None                           key of the *current* fit (results pages)
``hm_fit_status``   dict                                   {"status", "message", "seconds", "key"} of
                                                           the last fit request (sidebar, Fit page)
``hm_session``      str                                    this browser session's id (fair queueing)

A fit key is ``(data.fingerprint, spec, settings)`` (all hashable, see :func:`fit_key`), with the
method appended when it is not NUTS.

Results pages read the current fit with :func:`current_fit` (None when nothing has been fitted),
and can tell whether it still matches the Model page with :func:`fit_is_current`.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import streamlit as st

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.data import GroupedData
    from hiermod.result import Fit
    from hiermod.settings import SamplerSettings
    from hiermod.spec import ModelSpec

DATA = "hm_data"
DATA_NAME = "hm_data_name"
DATA_SOURCE = "hm_data_source"
FRAME = "hm_frame"
FRAME_NAME = "hm_frame_name"
FRAME_SIG = "hm_frame_sig"
COLUMNS = "hm_columns"
DATA_ERROR = "hm_data_error"
SPEC = "hm_spec"
SETTINGS = "hm_settings"
METHOD = "hm_method"
JOB = "hm_job"
JOB_KEY = "hm_job_key"
JOB_T0 = "hm_job_t0"
FITS = "hm_fits"
FIT_KEY = "hm_fit_key"
FIT_STATUS = "hm_fit_status"
SESSION = "hm_session"

MAX_SESSION_FITS = 5

def _default_settings():
    """The library's defaults: the warm start precompiles samplers for exactly these."""
    from hiermod.settings import SamplerSettings

    return SamplerSettings()


_DEFAULTS: dict[str, Any] = {
    DATA: None,
    DATA_NAME: "",
    DATA_SOURCE: None,
    FRAME: None,
    FRAME_NAME: "",
    FRAME_SIG: "",
    COLUMNS: None,
    DATA_ERROR: None,
    SPEC: None,
    METHOD: "nuts",
    JOB: None,
    JOB_KEY: None,
    JOB_T0: None,
    FIT_KEY: None,
    FIT_STATUS: None,
}


def init_state() -> None:
    """Put every plain key in session state with its default (idempotent; app.py calls it)."""
    ss = st.session_state
    for key, value in _DEFAULTS.items():
        if key not in ss:
            ss[key] = value
    if FITS not in ss:
        ss[FITS] = OrderedDict()
    if SETTINGS not in ss:
        ss[SETTINGS] = _default_settings()


# ----------------------------------------------------------------------------------- accessors


def session_id() -> str:
    """This browser session's identity for the fair queue (:class:`hiermod.jobs.FairQueue`): the
    Streamlit session id, else (no script context, e.g. some tests) a uuid kept in session state."""
    ss = st.session_state
    if not ss.get(SESSION):
        ctx = None
        try:
            from streamlit.runtime.scriptrunner import get_script_run_ctx

            ctx = get_script_run_ctx()
        except ImportError:  # pragma: no cover - older Streamlit
            pass
        ss[SESSION] = getattr(ctx, "session_id", None) or uuid.uuid4().hex
    return ss[SESSION]


def current_data() -> "GroupedData | None":
    return st.session_state.get(DATA)


def current_spec() -> "ModelSpec | None":
    return st.session_state.get(SPEC)


def current_settings() -> "SamplerSettings":
    init_state()
    return st.session_state[SETTINGS]


def current_method() -> str:
    return st.session_state.get(METHOD) or "nuts"


def fit_key(data: "GroupedData", spec: "ModelSpec", settings: "SamplerSettings",
            method: str = "nuts") -> tuple:
    """The cache key of a fit: (data fingerprint, spec, settings), plus the method unless NUTS."""
    key = (data.fingerprint, spec, settings)
    return key if method == "nuts" else key + (method,)


def key_method(key: tuple) -> str:
    """The method of a fit key made by :func:`fit_key`."""
    return key[3] if len(key) > 3 else "nuts"


def current_key() -> tuple | None:
    """Fit key of the current data, spec, settings and method (None without data or spec)."""
    data, spec = current_data(), current_spec()
    if data is None or spec is None:
        return None
    return fit_key(data, spec, current_settings(), current_method())


def current_fit() -> "Fit | None":
    """The fit the results pages should show: the last finished fit of this session, or None."""
    key = st.session_state.get(FIT_KEY)
    fits = st.session_state.get(FITS) or {}
    return fits.get(key) if key is not None else None


def fit_is_current() -> bool:
    """True when the current fit was made with the data, model and settings now chosen."""
    key = st.session_state.get(FIT_KEY)
    return key is not None and key == current_key()


def remember_fit(key: tuple, fit: "Fit") -> None:
    """Keep ``fit`` as this session's current fit (at most MAX_SESSION_FITS are kept)."""
    init_state()
    fits: OrderedDict = st.session_state[FITS]
    fits[key] = fit
    fits.move_to_end(key)
    while len(fits) > MAX_SESSION_FITS:
        fits.popitem(last=False)
    st.session_state[FIT_KEY] = key


def session_fit(key: tuple) -> "Fit | None":
    """A fit this session already has for ``key``."""
    return (st.session_state.get(FITS) or {}).get(key)


def set_fit_status(status: str, message: str = "", seconds: float | None = None,
                   key: tuple | None = None) -> None:
    st.session_state[FIT_STATUS] = {"status": status, "message": message, "seconds": seconds,
                                    "key": key, "at": time.time()}


def set_data(data: "GroupedData", name: str, source: dict) -> None:
    """Install new good data; reset the model to the defaults for its kind when it changes."""
    ss = st.session_state
    old = ss.get(DATA)
    old_slopes = (ss.get(DATA_SOURCE) or {}).get("slopes", [])
    ss[DATA] = data
    ss[DATA_NAME] = name
    ss[DATA_SOURCE] = source
    ss[DATA_ERROR] = None
    slopes = tuple(c for c in source.get("slopes", ()) if c in data.covariate_names)
    if old is None or old.fingerprint != data.fingerprint or list(old_slopes) != list(slopes):
        ss[SPEC] = default_spec_for(data, ss.get(SPEC), slopes)


def default_spec_for(data: "GroupedData", previous: "ModelSpec | None" = None,
                     slopes: tuple[str, ...] = ()) -> "ModelSpec":
    """A spec suited to ``data`` (keeping pooling and parameterization of ``previous``): every
    grouping column of the data nested, ``slopes`` varying by the innermost group, and the
    data-scaled default priors written out explicitly."""
    from hiermod.priors import resolve_priors
    from hiermod.spec import ModelSpec, Pooling, default_likelihood

    likelihood = default_likelihood(data.kind)
    pooling = Pooling.PARTIAL
    kwargs = {}
    if previous is not None:
        if previous.family.kind == data.kind.value:
            likelihood = previous.likelihood
        pooling = previous.pooling
        kwargs["parameterization"] = previous.parameterization
    if pooling == Pooling.PARTIAL and data.n_groups < 2:
        pooling = Pooling.COMPLETE
    groups = data.group_columns if len(data.group_columns) > 1 else ()
    spec = ModelSpec(likelihood, pooling, covariates=tuple(data.covariate_names), groups=groups,
                     slopes=tuple(slopes), **kwargs)
    return with_priors(spec, resolve_priors(data, spec))


def with_priors(spec: "ModelSpec", priors: dict) -> "ModelSpec":
    """``spec`` with exactly these priors (every name of ``spec.prior_names()``)."""
    return dataclasses.replace(spec, priors=tuple(priors.items()))


def widget_default(key: str, value: Any) -> None:
    """Seed a widget's key with ``value`` unless the widget already holds one (call before it)."""
    if key not in st.session_state:
        st.session_state[key] = value


def remember_recent(slot: str, key: tuple, value, limit: int) -> None:
    """Keep ``value`` under ``key`` in the session's OrderedDict ``slot``, newest last, at most ``limit``."""
    results = st.session_state.get(slot)
    if results is None:
        results = st.session_state[slot] = OrderedDict()
    results[key] = value
    results.move_to_end(key)
    while len(results) > limit:
        results.popitem(last=False)
