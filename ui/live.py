"""The live panel: change a prior or a group's data and see the posterior at once, without Fit.

Shown on the Model page and the Shrinkage page when its toggle is on (``hm_live_on``, off until
the user turns it on). Every change reruns only the panel (an ``st.fragment``) and recomputes the
**instant posterior (grid + quadrature)** of the data and model chosen now (:func:`hiermod.live.live_view`):
the shrinkage plot, each hyperparameter's posterior density over its prior, and (one-level normal
models) the pooling continuum shaded by tau's posterior. Nothing goes through the fit queue.

Source of truth. The model's priors stay in ``hm_spec`` (the Model page's form edits them and the
Fit page fits them). The panel works on a copy, ``hm_live_priors``; "Use these priors for the fit"
copies it into ``hm_spec`` (and clears the form's widgets so they show the new values), "Back to
the model's priors" copies ``hm_spec`` back. A live prior the user has not touched follows the
model when the model's priors change (Apply in the form); a touched one is kept until one of the
buttons says otherwise, so nothing typed is lost, on any page. The data are never changed:
edits go to a per-group copy (:mod:`ui.live_data`), restored in one click.

Session keys (plain keys, so they survive page changes; widgets are re-seeded from them):

``hm_live_on``      bool: the toggle (one for every page)
``hm_live_priors``  {"data": fingerprint, "base": {name: Prior} (the model's, when last seen),
                    "priors": {name: Prior} (the live ones)}
Widgets (one set per page, ``<where>`` = model | shrinkage: a widget key shared by two pages would
be a new widget on the second page and lose its value): ``w_live_<where>_family_<name>``,
``w_live_<where>_<name>_<family>_<arg>``.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

import streamlit as st

from hiermod.live import DRAWS, INTERVAL, LABEL  # numpy only at import
from ui import components, live_data, model_form, state

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.data import GroupedData
    from hiermod.prior_families import Prior
    from hiermod.spec import ModelSpec

log = logging.getLogger("hiermod.ui")

LIVE_PRIORS = "hm_live_priors"
LIVE_ON = "hm_live_on"
TOGGLE = "Live preview: the posterior redrawn as you change priors or data (instant posterior, no Fit)"


# --------------------------------------------------------------------------- live priors


def _widget_keys(name: str | None = None) -> list[str]:
    """The live prior widgets' keys in session state (of every page; of one parameter)."""
    pattern = re.compile(r"w_live_[a-z]+_(family_(?P<f>.+)|(?P<a>.+?)_[A-Za-z]+_[a-z_]+)$")
    out = []
    for key in list(st.session_state.keys()):
        m = pattern.match(str(key))
        if m and "table" not in str(key) and (name is None or name in (m.group("f"), m.group("a"))):
            out.append(key)
    return out


def _forget_widgets(name: str | None = None) -> None:
    for key in _widget_keys(name):
        del st.session_state[key]


def live_priors(data: "GroupedData", spec: "ModelSpec") -> dict[str, "Prior"]:
    """The live priors for ``data`` and ``spec``, kept in step with the model's (see the module
    docstring): untouched names follow the model, touched ones are kept."""
    from hiermod.priors import resolve_priors

    ss = st.session_state
    model = resolve_priors(data, spec)
    box = ss.get(LIVE_PRIORS)
    if box is None or box.get("data") != data.fingerprint:
        _forget_widgets()
        box = {"data": data.fingerprint, "base": dict(model), "priors": dict(model)}
    elif box["base"] != model:
        priors = {}
        for name, prior in model.items():
            old = box["priors"].get(name)
            touched = old is not None and old != box["base"].get(name)
            priors[name] = old if touched else prior
            if not touched:
                _forget_widgets(name)
        box = {"data": data.fingerprint, "base": dict(model), "priors": priors}
    ss[LIVE_PRIORS] = box
    return dict(box["priors"])


def differs_from_model() -> bool:
    box = st.session_state.get(LIVE_PRIORS)
    return bool(box) and box["priors"] != box["base"]


def reset_priors() -> None:
    """Back to the model's priors (button callback)."""
    box = st.session_state.get(LIVE_PRIORS)
    if box:
        box["priors"] = dict(box["base"])
    _forget_widgets()


def adopt_priors(data: "GroupedData", spec: "ModelSpec") -> str | None:
    """Copy the live priors into the model (``hm_spec``); the error message if they cannot be used."""
    from hiermod.priors import resolve_priors

    box = st.session_state.get(LIVE_PRIORS)
    if not box:
        return None

    def make():
        new = state.with_priors(spec, {n: box["priors"].get(n, p) for n, p in resolve_priors(data, spec).items()})
        resolve_priors(data, new)  # bounds that exclude every plausible value
        return new

    new, err = components.guarded(make, context="using the live priors")
    if err is not None:
        return components.error_message(err, "using the live priors")
    st.session_state[state.SPEC] = new
    box["base"] = dict(box["priors"])
    for key in [k for k in list(st.session_state.keys()) if str(k).startswith("w_prior_")]:
        del st.session_state[key]  # the Model page's form re-seeds its widgets from hm_spec
    return None


def _prior_editor(data, spec, priors: dict, where: str) -> list[str]:
    """One column per parameter: family and numbers. Updates ``hm_live_priors``; returns problems."""
    from hiermod.prior_families import PRIOR_FAMILIES, Prior

    box = st.session_state[LIVE_PRIORS]
    names = list(priors)
    problems = []
    per_row = min(4, max(1, len(names)))
    for start in range(0, len(names), per_row):
        cols = st.columns(per_row)
        for col, name in zip(cols, names[start:start + per_row]):
            prior = priors[name]
            with col:
                fkey = f"w_live_{where}_family_{name}"
                state.widget_default(fkey, prior.family)
                family = st.selectbox(f"{name}: family (live)", model_form.prior_families_for(spec, name), key=fkey)
                args = prior.args if family == prior.family else model_form.default_prior_args(data, spec, name, family)
                values = []
                for arg, value in zip(PRIOR_FAMILIES[family].arg_names, args):
                    akey = f"w_live_{where}_{name}_{family}_{arg}"
                    state.widget_default(akey, float(value))
                    values.append(st.number_input(f"{name}: {arg} (live)", key=akey, format="%g", step=None))
                new, err = components.guarded(Prior, family, tuple(values), prior.lower, prior.upper,
                                              context="reading a live prior")
                if err is not None:
                    problems.append(f"{name}: {components.error_message(err)} The live posterior keeps {prior}.")
                elif new != prior:
                    box["priors"][name] = priors[name] = new
                if prior.bounded:
                    st.caption(components.md_escape(f"Bounds from the model: {prior}"))
    return problems


# --------------------------------------------------------------------------- computing


@st.cache_resource(max_entries=32, show_spinner=False)
def _live_view(fingerprint: str, spec_json: str, _data, _spec) -> dict[str, Any]:
    from hiermod.live import live_view as view
    from ui.cache import heavy_imports

    heavy_imports()
    return view(_data, _spec)


def live_view(data: "GroupedData", spec: "ModelSpec") -> dict[str, Any]:
    """:func:`hiermod.live.live_view` cached by the data's fingerprint and the spec (shared by all
    sessions: going back to a prior or a value seen before costs nothing)."""
    return _live_view(data.fingerprint, json.dumps(spec.to_dict(), sort_keys=True), data, spec)


def summary_line(post) -> str:
    """'instant posterior (grid + quadrature): posterior mean of tau 3.6 (sd 3.2), mu 4.4 (sd 3.3)'."""
    names = [n for n in post.hyper_names if n not in post.fixed] + [n for n in ("mu",) if n in post.names]
    parts = []
    for name in names:
        try:
            parts.append(f"{name} {float(post.mean(name)):.4g} (sd {float(post.sd(name)):.3g})")
        except (KeyError, TypeError, ValueError):
            continue
    return f"{LABEL[:1].upper() + LABEL[1:]}: posterior mean of " + ", ".join(parts) + "." if parts else LABEL


# ------------------------------------------------------------------------------- drawing


def _figures(view: dict, data, spec, where: str) -> None:
    from hiermod.plots import shrinkage_plot
    from hiermod.plots.live import hyper_density_plot, live_continuum_plot
    from ui.figures import show_figure

    post, table = view["post"], view["table"]
    family = spec.family
    scale = "response" if family.response else "link"
    x_title = family.response_title if family.response else family.scale_title
    st.markdown(components.md_escape(summary_line(post)))
    st.caption(components.md_escape(
        f"How: {post.label}" + ("" if post.exact else " (a Laplace approximation: close, not exact)")
        + f". Intervals: {INTERVAL:.0%} from {DRAWS:,} independent draws."))
    left, right = st.columns([3, 2])
    with left:
        st.markdown("**Instant posterior: each group before and after pooling**")
        show_figure(shrinkage_plot, table, scale=scale, x_title=x_title, title=None,
                    context="drawing the live shrinkage plot", key=f"live_shrinkage_{where}", stretch=True,
                    layout=dict(margin=dict(t=60), legend=dict(xanchor="left", x=0.0)))
    with right:
        for name, dens, prior_curve in view["hyper"]:
            prior = view["fit"].priors.get(name)
            show_figure(hyper_density_plot, dens, prior_curve, name,
                        posterior_label=f"{LABEL}", prior_label=str(prior) if prior is not None else None,
                        mark=float(post.mean(name)), title=f"Instant posterior of {name}",
                        context="drawing a live posterior density", key=f"live_hyper_{name}_{where}",
                        stretch=True)
        if not view["hyper"]:
            st.caption("This model has no hyperparameters on a grid (no or complete pooling): the "
                       "shrinkage plot is the whole story.")
    cont = view["continuum"]
    if cont is not None:
        tau_table = next(d for n, d, _ in view["hyper"] if n == "tau")
        mean_tau = float(post.mean("tau"))
        show_figure(live_continuum_plot, cont, tau_table, tau_mark=mean_tau, x_max=float(tau_table["tau"].max()),
                    y_title=f"{x_title} given tau",
                    title=f"Pooling continuum, shaded by the {LABEL} of tau",
                    context="drawing the live pooling continuum", key=f"live_continuum_{where}", stretch=True)
        note = "Dotted lines: the posterior mean of tau. "
        if not family.normal_known_se:
            note += ("For row-level data each group's line uses se = sigma / sqrt(n) with sigma the pooled "
                     "within-group sd (treated as known): the continuum is a sketch, the shrinkage plot is "
                     "the model. ")
        if spec.covariates:
            note += "The continuum ignores the covariates. "
        st.caption(note)


def _remember_toggle(key: str) -> None:
    st.session_state[LIVE_ON] = bool(st.session_state.get(key))


def live_section(where: str) -> None:
    """A toggle (off until the user turns it on, then on for every page of the session) and, when
    on, :func:`live_panel`. Off by default: the first instant posterior imports ArviZ and friends
    (seconds on a cold server), which a page should not pay unless asked."""
    key = f"w_live_on_{where}"
    state.widget_default(key, bool(st.session_state.get(LIVE_ON, False)))
    on = st.toggle(TOGGLE, key=key, on_change=_remember_toggle, args=(key,),
                   help="Change a prior or a group's numbers and the shrinkage plot, the continuum and "
                        "tau's posterior follow in a fraction of a second, computed by the instant method "
                        "(grid + quadrature), not by NUTS. Nothing is fitted or queued.")
    if on:
        with st.container(border=where != "model"):
            if where != "model":
                st.caption("The live panel works on the data and model chosen now (Data and Model pages); "
                           "the rest of this page shows your last fit.")
            live_panel(where)


@st.fragment
def live_panel(where: str) -> None:
    """The live panel for the session's current data and model (``where``: "model" or
    "shrinkage", for widget keys of the figures). Reruns by itself on every change."""
    import time

    from hiermod.instant import unavailable_reason

    t0 = time.perf_counter()
    data, spec = state.current_data(), state.current_spec()
    if data is None or spec is None:
        st.caption("Load data and choose a model to see the live preview.")
        return
    reason, err = components.guarded(unavailable_reason, data, spec, context="checking the instant method")
    if err is not None or reason:
        why = (reason or components.error_message(err)).strip().rstrip(".")
        st.caption(components.md_escape(
            f"Live preview: the {LABEL} is not available for this model: {why}. Press Fit for NUTS."))
        return
    priors = components.computed(live_priors, data, spec, context="reading the live priors")
    if priors is None:
        return
    st.caption(
        f"**Live preview: {LABEL}.** Change a prior here, or a group's numbers below: the posterior is "
        "recomputed at once, without pressing Fit. These live priors are a copy; the model's priors "
        "(used by Fit) change only when you press *Use these priors for the fit*.")
    problems = _prior_editor(data, spec, priors, where)
    for p in problems:
        components.show_error(p)
    differs = differs_from_model()  # the buttons are always drawn (disabled when equal): a stable layout
    b1, b2, _ = st.columns([2, 2, 3])
    if b1.button("Use these priors for the fit", key=f"w_live_adopt_{where}", type="primary",
                 icon=":material/check:", disabled=not differs,
                 help="Copy the live priors into the model: the Model page's form and the next Fit use them."):
        problem = adopt_priors(data, spec)
        if problem:
            components.show_error(problem)
        else:
            st.rerun()  # the whole page: the form, the model and the sidebar follow
    b2.button("Back to the model's priors", key=f"w_live_reset_{where}", on_click=reset_priors,
              icon=":material/undo:", disabled=not differs)
    live, problem = live_data.editor(data, where)
    if problem:
        components.show_error(problem)
        st.caption("Nothing live is drawn until the data are valid again.")
        return
    live_spec = state.with_priors(spec, priors)
    reason, err = components.guarded(unavailable_reason, live, live_spec, context="checking the instant method")
    if err is not None or reason:
        components.show_error(reason or err, "checking the instant method")
        return
    view, err = components.guarded(live_view, live, live_spec, context="computing the live posterior")
    if err is not None:
        components.show_error(err, "computing the live posterior")
        return
    _figures(view, live, live_spec, where)
    log.info("Live panel (%s, %d groups) drawn in %.0f ms", where, live.n_groups, 1e3 * (time.perf_counter() - t0))
