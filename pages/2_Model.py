"""Model page: structure (pooling, likelihood, grouping levels and their parameterizations, slope
correlation, population), the model written out, priors (with bounds and previews), sampler settings,
and the live preview (:mod:`ui.live`: the instant posterior redrawn on every change of its own
prior widgets or of a per-group copy of the data, without Fit).

Structure choices (radio/selectbox) apply at once; priors and sampler settings sit in a form and
apply on "Apply". Values are copied into ``hm_spec`` / ``hm_settings`` so they survive page changes.
The live preview's priors are a copy that "Use these priors for the fit" copies into ``hm_spec``.
"""

from __future__ import annotations

import streamlit as st

from hiermod.priors import resolve_priors
from hiermod.settings import START_CHOICES, SamplerSettings
from hiermod import families
from hiermod.model_math import model_latex
from hiermod.spec import PRIOR_FAMILIES, Parameterization, Pooling, Population, SlopeCorrelation, check_compatible
from ui import cache, components, live, model_apply, model_form, share_links, state, tables
from ui.figures import density_figure, prior_predictive_figure, show_figure

ss = st.session_state

POOLING_TEXT = {
    "none": "No pooling: every group on its own",
    "complete": "Complete pooling: one value for all groups",
    "partial": "Partial pooling: groups share a distribution",
}
PARAM_TEXT = {"centered": "Centered", "non_centered": "Non-centered (usually samples better)"}

st.title("Model")
share_links.page_top()

data = state.current_data()
if data is None:
    st.info("Load data first.", icon=":material/info:")
    st.page_link("pages/1_Data.py", label="Go to the Data page", icon=":material/table_chart:")
    st.stop()

cache.warm_imports_in_background()  # jax/numpyro/arviz load while the user reads this page

spec = state.current_spec()
if spec is None or spec.family.kind != data.kind.value:
    spec = ss[state.SPEC] = state.default_spec_for(data, spec)
share_links.share_control()

# ------------------------------------------------------------------------------- structure
st.subheader("Structure")
likelihoods = [f.name for f in families.for_kind(data.kind)]
fp = data.fingerprint[:10]  # widgets whose options depend on the data are keyed by it
levels_now = model_form.level_parameterizations(spec)
state.widget_default("w_pooling", spec.pooling.value)
state.widget_default("w_likelihood", spec.likelihood.value)
state.widget_default("w_param", spec.parameterization.value)
state.widget_default("w_covariates", [c for c in spec.covariates if c in data.covariate_names and c not in spec.slopes])
state.widget_default(f"w_groups_{fp}", list(model_form.spec_groups(data, spec)))
state.widget_default("w_slope_correlation", spec.slope_correlation.value)
state.widget_default("w_population", spec.population.value)

c1, c2 = st.columns(2)
with c1:
    pooling = st.radio("Pooling", [p.value for p in Pooling], key="w_pooling",
                       format_func=POOLING_TEXT.get)
    groups = model_form.spec_groups(data, spec)
    if len(data.group_columns) > 1:
        chosen = st.multiselect("Grouping levels (outermost first)", list(data.group_columns),
                                key=f"w_groups_{fp}",
                                help="Which grouping columns the model uses; each is a level nested in the "
                                     "one before it.")
        groups = model_form.ordered_groups(data, chosen)
        if not groups:
            st.warning("Choose at least one grouping level; the model keeps its current levels.",
                       icon=":material/warning:")
            groups = model_form.spec_groups(data, spec)
with c2:
    likelihood = st.selectbox("Likelihood", likelihoods, key="w_likelihood",
                              format_func=lambda name: families.get(name).label,
                              help=f"Likelihoods that suit {data.kind.value} data.")
with c1:
    population_choices = model_form.population_choices(likelihood)
    population = Population.NORMAL.value
    if len(population_choices) > 1:
        population = st.radio(model_form.population_title(likelihood), population_choices, key="w_population",
                              format_func=lambda name: model_form.population_text(likelihood, name),
                              help="Beta / Gamma: the groups' values come from a conjugate population "
                                   "(no covariates or nested levels).")
with c2:
    partial_normal = model_form.has_parameterization(pooling, population)
    nested = len(groups) > 1
    level_params: tuple[str, ...] = ()
    if nested and pooling == Pooling.PARTIAL:
        st.caption("Parameterization of each level")
        chosen_levels = []
        for col in groups:
            key = f"w_param_{fp}_{col}"  # (nested levels have a normal population)
            state.widget_default(key, levels_now.get(col, spec.parameterization.value))
            chosen_levels.append(st.radio(f"Level {col!r}", [p.value for p in Parameterization], key=key,
                                          format_func=PARAM_TEXT.get, horizontal=True))
        level_params = tuple(chosen_levels)
        parameterization = spec.parameterization.value
    else:
        parameterization = st.radio("Parameterization", [p.value for p in Parameterization],
                                    key="w_param", format_func=PARAM_TEXT.get, horizontal=True,
                                    disabled=not partial_normal,
                                    help="Only matters for partial pooling with a normal population.")
        if nested:
            level_params = (parameterization,) * len(groups)
    covariate_choices = [c for c in data.covariate_names if c not in spec.slopes]
    covariates = []
    if covariate_choices:
        covariates = st.multiselect("Covariates", covariate_choices, key="w_covariates",
                                    help="Columns chosen as covariates on the Data page.")
    slope_correlation = spec.slope_correlation.value
    if spec.slopes:
        slope_correlation = st.radio(
            "Intercept/slope correlation", [c.value for c in SlopeCorrelation], key="w_slope_correlation",
            format_func={"lkj": "LKJ prior", "none": "none"}.get, horizontal=True,
            help="LKJ: a group's intercept and slope may be correlated (an LKJ prior on the correlation); "
                 "none: they vary independently.")
        st.caption(components.md_escape(f"Slopes varying by {groups[-1]!r}: {', '.join(spec.slopes)} "
                                        "(chosen on the Data page)."))

wanted = dict(pooling=pooling, likelihood=likelihood, parameterization=parameterization,
              covariates=tuple(c for c in data.covariate_names if c in set(covariates) | set(spec.slopes)),
              groups=groups if len(data.group_columns) > 1 else (),
              level_parameterizations=level_params, slope_correlation=slope_correlation, population=population)


def _restructure():
    new = spec.replace(**wanted)
    if model_form.structure(new) == model_form.structure(spec):
        return None
    return state.with_priors(new, resolve_priors(data, new))


new_spec, err = components.guarded(_restructure, context="changing the model")
if err is not None:
    components.show_error(err, "changing the model")
    st.caption("The model keeps its previous structure.")
elif new_spec is not None:
    ss[state.SPEC] = new_spec
    st.rerun()  # so the priors, previews and sidebar follow the new structure

_, err = components.guarded(check_compatible, spec, data, context="checking the model")
if err is not None:
    components.show_error(err, "checking the model")

# ---------------------------------------------------------------------------------- priors
priors = components.computed(resolve_priors, data, spec, context="reading the priors")
if priors is None:
    st.stop()
names = list(spec.prior_names())
settings = state.current_settings()

# ------------------------------------------------------------------------------- the model
with st.expander("The model", expanded=True, icon=":material/function:"):
    latex = components.computed(model_latex, spec, priors, data, context="writing the model out")
    if latex is not None:
        st.latex(latex)
        st.caption("Written from the choices above with your column names and priors; "
                   "`python -m hiermod fit ... --show-model` prints the same model as text.")

st.subheader("Priors and sampler settings")
st.caption("Changes here take effect when you press **Apply**. After switching a prior's family, "
           "press Apply, then adjust its numbers. Bounds (optional) cut a prior to [lower, upper]; "
           "leave them empty for none.")
with st.form("model_form"):
    for name in names:
        prior = priors[name]
        families_of = list(model_form.prior_families_for(spec, name))
        fkey = f"w_prior_family_{name}"
        state.widget_default(fkey, prior.family)
        bounded = PRIOR_FAMILIES[prior.family].support != "correlation"
        cols = st.columns([2, 1, 1, 1, 1, 1])
        cols[0].selectbox(f"Prior for {name}", families_of, key=fkey)
        for i, (arg, value) in enumerate(zip(PRIOR_FAMILIES[prior.family].arg_names, prior.args)):
            akey = f"w_prior_{name}_{prior.family}_{arg}"
            state.widget_default(akey, float(value))
            cols[i + 1].number_input(f"{name}: {arg}", key=akey, format="%g", step=None)
        if bounded:
            for col, side, value in ((cols[4], "lower", prior.lower), (cols[5], "upper", prior.upper)):
                bkey = f"w_prior_{name}_{side}"
                state.widget_default(bkey, model_form.bound_text(value))
                col.text_input(f"{name}: {side}", key=bkey, placeholder="no bound",
                               help="Optional: the prior is cut off here and renormalised.")
    with st.expander("Advanced: sampler settings"):
        s1, s2, s3, s4, s5 = st.columns(5)
        for key, value in (("chains", settings.chains), ("draws", settings.draws), ("seed", settings.seed)):
            state.widget_default(f"w_{key}", int(value))
        state.widget_default("w_warmup", settings.warmup)
        state.widget_default("w_start", settings.start)
        state.widget_default("w_target_accept", float(settings.target_accept))
        s1.number_input("Chains", min_value=1, max_value=8, step=1, key="w_chains")
        s2.number_input("Warmup", min_value=50, max_value=20_000, step=100, key="w_warmup", value=None,
                        placeholder="auto", help=f"Empty: {SamplerSettings().warmup_text}.")
        s3.number_input("Draws", min_value=50, max_value=20_000, step=100, key="w_draws")
        s4.number_input("Target acceptance", min_value=0.5, max_value=0.99, step=0.05,
                        key="w_target_accept", format="%.2f")
        s5.number_input("Seed", min_value=0, max_value=2**31 - 1, step=1, key="w_seed")
        st.radio("Chains start", START_CHOICES, key="w_start", horizontal=True,
                 format_func={"instant": "from the instant posterior (when it serves the model)",
                              "random": "at random (NumPyro's default)"}.get,
                 help="From the instant posterior: each chain starts at one of its draws and uses its "
                      "spread as the mass matrix, so a short warmup adapts only the step size. At random: "
                      "chains start anywhere and warmup also learns the mass matrix (slower; a check "
                      "that the instant posterior missed no second mode).")
    st.form_submit_button("Apply", type="primary", on_click=model_apply.apply_form,
                          args=(data, spec, tuple(names), priors))

problems = ss.pop(model_apply.PROBLEMS, None)
if problems:
    for p in problems:
        components.show_error(p)
    st.caption("Nothing was changed; the previous priors and settings are kept.")

# -------------------------------------------------------------------------------- previews
st.subheader("What these priors say")
grid = st.columns(min(3, max(1, len(names))))
for i, name in enumerate(names):
    with grid[i % len(grid)]:
        curve = components.computed(tables.prior_density, str(priors[name]), context="drawing a prior")
        if curve is not None:
            show_figure(density_figure, curve, name, str(priors[name]), context="drawing a prior",
                        key=f"density_{name}")

scale_label = {"binomial": "proportion (successes / trials)",
               "poisson": "rate (events / exposure)"}.get(spec.likelihood.value, "outcome")
pp = components.computed(tables.prior_predictive, data, spec, context="simulating from the priors")
if pp is not None:
    observed, simulated = pp
    show_figure(prior_predictive_figure, observed, simulated, scale_label,
                labels=[data.labels[i] for i in data.group_idx] if data.n_rows <= 5000 else None,
                context="drawing the prior predictive check", key="prior_predictive")
    st.caption("Data sets simulated from the priors alone, next to the observed values. If the "
               "simulated values are wildly wider than anything plausible, the priors are too vague; "
               "if they miss the observed values, too tight.")

st.subheader("Live preview: the posterior at once")
live.live_section("model")

st.caption(components.md_escape("Sampler: " + components.describe_settings(state.current_settings())))
st.page_link("pages/3_Fit.py", label="Next: fit the model", icon=":material/arrow_forward:")
