"""The Model page's "Apply": the form's priors and sampler settings into ``hm_spec`` / ``hm_settings``.

It runs as the Apply button's ``on_click`` callback: Streamlit runs callbacks before the page's
script, to the end, so an Apply is never lost when the user presses the sidebar's Fit (or changes
page) while the page is still being drawn (as the script's own ``if applied:`` branch could be).
What went wrong is kept in :data:`PROBLEMS` for the page to show; then nothing changes.
"""

from __future__ import annotations

import streamlit as st

from hiermod.priors import resolve_priors
from hiermod.spec import PRIOR_FAMILIES
from ui import components, model_form, state

PROBLEMS = "hm_apply_problems"
"""Session key: the messages of the last Apply that changed nothing (popped by the page)."""


def _read_prior(data, spec, name: str, old):
    family = st.session_state[f"w_prior_family_{name}"]
    if family == old.family:
        args = tuple(st.session_state[f"w_prior_{name}_{old.family}_{a}"] for a in PRIOR_FAMILIES[old.family].arg_names)
    else:
        args = model_form.default_prior_args(data, spec, name, family)
    takes_bounds = PRIOR_FAMILIES[family].support != "correlation"
    lower = st.session_state.get(f"w_prior_{name}_lower") if takes_bounds else None
    upper = st.session_state.get(f"w_prior_{name}_upper") if takes_bounds else None
    return components.guarded(model_form.make_prior, family, args, lower, upper, name, context="reading a prior")


def apply_form(data, spec, names: tuple[str, ...], priors: dict) -> None:
    """Read the form's widgets; store the new spec and settings, or the problems (nothing changed)."""
    from hiermod.settings import SamplerSettings

    ss = st.session_state
    problems: list[str] = []
    new_priors: dict = {}
    for name in names:
        prior, err = _read_prior(data, spec, name, priors[name])
        if err is not None:
            problems.append(f"{name}: {components.error_message(err)}")
        else:
            new_priors[name] = prior
    new_settings, err = components.guarded(
        SamplerSettings, chains=int(ss["w_chains"]),
        warmup=None if ss["w_warmup"] is None else int(ss["w_warmup"]), start=str(ss.get("w_start", "instant")),
        draws=int(ss["w_draws"]), seed=int(ss["w_seed"]),
        target_accept=float(ss["w_target_accept"]), context="reading the sampler settings")
    if err is not None:
        problems.append(components.error_message(err))
    candidate = None
    if not problems:
        def _with_new_priors():
            new = state.with_priors(spec, new_priors)
            resolve_priors(data, new)  # PriorError: bounds that exclude every plausible value
            return new

        candidate, err = components.guarded(_with_new_priors, context="checking the priors")
        if err is not None:
            problems.append(components.error_message(err))
    if problems:
        ss[PROBLEMS] = problems
        return
    ss[state.SPEC] = candidate
    ss[state.SETTINGS] = new_settings
