"""Standalone Python scripts that refit an exported model: with hiermod, or in plain NumPyro.

Generated scripts never embed user text (column names, group labels, paths) except through
``repr()``, so a malicious column name cannot inject code; comments hold no user text at all.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from . import __version__

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

__all__ = ["QUICK_SETTINGS", "reproduction_script"]

QUICK_SETTINGS = {"chains": 2, "warmup": 300, "draws": 300}
"""What the ``--quick`` flag of a reproduction script uses."""


def reproduction_script(fit: "Fit", data_path: str | os.PathLike = "data.csv",
                        flavour: str = "hiermod") -> str:
    """A standalone Python script that refits this model to the CSV at ``data_path``.

    ``flavour="hiermod"`` uses ``hiermod.load_data`` / ``ModelSpec`` / ``hiermod.fit``;
    ``flavour="numpyro"`` writes the model out in plain NumPyro (no hiermod import) with the
    resolved priors' numbers. Both scripts take ``[DATA.csv] [--quick] [--summary-csv PATH]``
    and print the posterior summary.
    """
    if flavour == "hiermod":
        return _hiermod_script(fit, str(data_path))
    if flavour == "numpyro":
        return _numpyro_script(fit, str(data_path))
    from .errors import HiermodError

    raise HiermodError(f"Unknown script flavour {flavour!r}; use 'hiermod' or 'numpyro'.")


def _tuple_literal(values) -> str:
    """A tuple literal of text values, each through repr()."""
    return "(" + "".join(f"{str(v)!r}, " for v in values) + ")"


def _settings_literal(fit: "Fit", random_start: bool = False) -> str:
    """The fit's sampler settings as a dict literal. ``random_start``: for a script whose chains start
    at random (plain NumPyro), so its warmup also adapts the mass matrix: at least
    :data:`~hiermod.settings.DEFAULT_WARMUP` iterations where the fit started from the instant
    posterior or left the warmup automatic."""
    from .settings import DEFAULT_WARMUP

    s = fit.settings
    warmup = s.warmup
    if random_start and (s.start == "instant" or warmup is None):
        warmup = max(int(warmup or 0), DEFAULT_WARMUP)
    warmup_text = "None" if warmup is None else repr(int(warmup))
    start = "" if random_start else f", start={str(s.start)!r}"
    return (f"dict(chains={int(s.chains)!r}, warmup={warmup_text}, draws={int(s.draws)!r}, "
            f"seed={int(s.seed)!r}, target_accept={float(s.target_accept)!r}, "
            f"max_tree_depth={int(s.max_tree_depth)!r}{start})")


def _dict_literal(mapping: dict, indent: str = "    ") -> str:
    """A dict literal of str -> str with every key and value through repr()."""
    if not mapping:
        return "{}"
    lines = [f"{indent}{str(k)!r}: {str(v)!r}," for k, v in mapping.items()]
    return "{\n" + "\n".join(lines) + "\n}"


_SCRIPT_MAIN_ARGS = '''
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Refit the model exported by hiermod.")
    parser.add_argument("data", nargs="?", default=None, help="the CSV file (default: DATA_PATH)")
    parser.add_argument("--quick", action="store_true",
                        help="short run: 2 chains, 300 warmup, 300 draws (for a smoke test)")
    parser.add_argument("--summary-csv", default=None, help="also write the summary table here")
    return parser.parse_args(argv)


def find_data(arg):
    """The data file: the argument, else DATA_PATH (relative to here if not in the working folder)."""
    path = Path(arg if arg is not None else DATA_PATH)
    if not path.is_file() and not path.is_absolute():
        beside = Path(__file__).resolve().parent / path
        if beside.is_file():
            path = beside
    if not path.is_file():
        sys.exit("Data file not found: " + repr(str(path)))
    return path
'''


def _hiermod_script(fit: "Fit", data_path: str) -> str:
    columns = fit.data.columns
    spec = fit.spec
    kind = str(getattr(columns.kind, "value", columns.kind))
    cov_literal = "(" + "".join(f"{str(c)!r}, " for c in columns.covariates) + ")"
    spec_cov_literal = "(" + "".join(f"{str(c)!r}, " for c in spec.covariates) + ")"
    resolved = {k: str(v) for k, v in fit.priors.items()}
    return f'''#!/usr/bin/env python
"""Refit a hierarchical model exported by hiermod {__version__}.

Run:  python this_script.py [DATA.csv] [--quick] [--summary-csv summary.csv]
It loads the CSV with the same column roles, builds the same model specification and fits it
with the same sampler settings, then prints the posterior summary.
"""

import argparse
import sys
from pathlib import Path

import hiermod
from hiermod.data import ColumnMap, load_data
from hiermod.priors import resolve_priors
from hiermod.spec import ModelSpec, parse_prior

DATA_PATH = {data_path!r}
DATA_FINGERPRINT = {str(fit.data.fingerprint)!r}

COLUMNS = ColumnMap(
    group={columns.group!r},
    y={columns.y!r},
    kind={kind!r},
    se={columns.se!r},
    trials={columns.trials!r},
    exposure={columns.exposure!r},
    covariates={cov_literal},
    outer_groups={_tuple_literal(getattr(columns, "outer_groups", ()))},
)

# The priors chosen explicitly (prior text is parsed by hiermod's grammar, never evaluated).
PRIORS = {_dict_literal({k: str(v) for k, v in spec.priors})}

SPEC = ModelSpec(
    likelihood={spec.likelihood.value!r},
    pooling={spec.pooling.value!r},
    parameterization={spec.parameterization.value!r},
    priors={{name: parse_prior(text) for name, text in PRIORS.items()}},
    covariates={spec_cov_literal},
    groups={_tuple_literal(spec.groups)},
    level_parameterizations={_tuple_literal(p.value for p in spec.level_parameterizations)},
    slopes={_tuple_literal(spec.slopes)},
    slope_correlation={spec.slope_correlation.value!r},
    population={spec.population.value!r},
)

# Every prior the original fit used (explicit ones plus data-scaled defaults), for checking.
RESOLVED_PRIORS = {_dict_literal(resolved)}

METHOD = {str(fit.method)!r}
SETTINGS = {_settings_literal(fit)}
QUICK = dict(chains={QUICK_SETTINGS["chains"]}, warmup={QUICK_SETTINGS["warmup"]}, draws={QUICK_SETTINGS["draws"]})
{_SCRIPT_MAIN_ARGS}

def main(argv=None):
    args = parse_args(argv)
    data = load_data(find_data(args.data), COLUMNS)
    if data.fingerprint != DATA_FINGERPRINT:
        print("Note: these data differ from the data of the original fit.", file=sys.stderr)
    used = {{name: str(prior) for name, prior in resolve_priors(data, SPEC).items()}}
    if used != RESOLVED_PRIORS:
        print("Note: the data-scaled default priors differ from the original fit's.", file=sys.stderr)
    settings = dict(SETTINGS, **QUICK) if args.quick else dict(SETTINGS)
    result = hiermod.fit(data, SPEC, method=METHOD, **settings)
    table = hiermod.summary_table(result)
    if args.summary_csv:
        table.to_csv(args.summary_csv)
    with __import__("pandas").option_context("display.width", 200, "display.max_columns", 20,
                                              "display.max_rows", 500):
        print(table.round(3).to_string())


if __name__ == "__main__":
    main()
'''


def _prior_code(prior) -> str:
    return prior.code()


def _beta_code(fit: "Fit") -> str:
    """A vector prior for the covariate slopes: one column of numbers per covariate."""
    priors = [fit.priors[f"beta[{c}]"] for c in fit.spec.covariates]
    columns = list(zip(*(p.hyper_args for p in priors)))  # one tuple per argument (and bound)
    args = [f"jnp.array([{', '.join(repr(float(x)) for x in col)}])" for col in columns]
    return priors[0].code(tuple(args)) + ".to_event(1)"


def _helper_code(fit: "Fit") -> str:
    """The truncation class of bounded positive priors, when the model has one."""
    needed = any(p.bounded and p.support == "positive" for p in fit.priors.values())
    if not needed:
        return ""
    from .truncated import source

    return source()




def _term_code(fit: "Fit", k: int, add) -> None:
    """Source lines sampling term ``k`` (outermost first) into ``theta``: its parameters and
    effects, centred on ``mu`` or on the parent's effects ``theta[parents[k - 1]]``."""
    from .spec import Pooling

    term, priors = fit.spec.terms[k], fit.priors
    n = f"sizes[{k}]"
    plate = f"    with numpyro.plate({term.dim!r}, {n}):"
    if term.pooling == Pooling.NONE:
        add(plate)
        add(f"        theta = numpyro.sample({term.effect!r}, {_prior_code(priors[term.effect])})")
        return
    if term.own_location:
        add(f"    m = numpyro.sample({term.location!r}, {_prior_code(priors[term.location])})")
    else:
        add(f"    m = theta[parents[{k - 1}]]")
    if term.pooling == Pooling.COMPLETE:
        add(f"    theta = numpyro.deterministic({term.effect!r}, jnp.broadcast_to(m, ({n},)))")
        return
    add(f"    tau = numpyro.sample({term.scale!r}, {_prior_code(priors[term.scale])})")
    if term.df:  # a Student-t population: its degrees of freedom
        add(f"    nu_groups = numpyro.sample({term.df!r}, {_prior_code(priors[term.df])})")
    effects = "dist.StudentT(nu_groups, {0}, {1})" if term.df else "dist.Normal({0}, {1})"
    if term.slopes:
        _slopes_code(fit, term, n, plate, add)
    elif term.non_centered:
        add(plate)
        add(f"        z = numpyro.sample({term.decentered!r}, {effects.format('0.0', '1.0')})")
        add(f"    theta = numpyro.deterministic({term.effect!r}, m + tau * z)")
    else:
        add(plate)
        add(f"        theta = numpyro.sample({term.effect!r}, {effects.format('m', 'tau')})")


def _slopes_code(fit: "Fit", term, n: str, plate: str, add) -> None:
    """Varying intercepts and slopes: (theta_j, slope_j) ~ MVN((m_j, beta[x]), diag(sd) R diag(sd))."""
    from .terms import CORRELATION_PRIOR

    k = len(term.slopes)
    scales = ", ".join(f"numpyro.sample({term.slope_scale(x)!r}, {_prior_code(fit.priors[term.slope_scale(x)])})"
                       for x in term.slopes)
    add(f"    sd = jnp.stack([tau, {scales}])")
    if term.correlated:
        eta = float(fit.priors[CORRELATION_PRIOR].args[0])
        add(f"    chol = numpyro.sample(\"corr_cholesky\", dist.LKJCholesky({k + 1}, {eta!r}))")
    else:
        add(f"    chol = jnp.eye({k + 1})")
    columns = [fit.spec.covariates.index(x) for x in term.slopes]
    add(f"    slope_means = beta[jnp.array({columns!r})]")
    add(f"    means = jnp.concatenate([jnp.broadcast_to(m, ({n},))[:, None], "
        f"jnp.broadcast_to(slope_means, ({n}, {k}))], axis=1)")
    if term.non_centered:
        add(plate)
        add(f"        z = numpyro.sample({term.effect + '_and_slopes_decentered'!r}, "
            f"dist.Normal(0.0, 1.0).expand([{k + 1}]).to_event(1))")
        add(f"    numpyro.deterministic({term.decentered!r}, z[:, 0])")
        add("    coef = means + (z @ chol.T) * sd")
    else:
        add(plate)
        add(f"        coef = numpyro.sample({term.effect + '_coefficients'!r}, "
            "dist.MultivariateNormal(means, scale_tril=sd[:, None] * chol))")
    add(f"    theta = numpyro.deterministic({term.effect!r}, coef[:, 0])")
    add("    slopes = coef[:, 1:]")
    for i, x in enumerate(term.slopes):
        add(f"    numpyro.deterministic({term.slope_effect(x)!r}, coef[:, {i + 1}])")
        if term.correlated:
            add(f"    numpyro.deterministic({term.slope_correlation(x)!r}, (chol @ chol.T)[0, {i + 1}])")


def _population_code(fit: "Fit", add) -> None:
    """A Beta/Gamma population on group sums: marginal likelihood for (alpha, beta), the group
    values from their exact conditional (hiermod.populations)."""
    from . import populations

    term, priors = fit.spec.row_term, fit.priors
    population = populations.get(term.population)
    marginal, conditional = population.code()
    add(f"    alpha = numpyro.sample(\"alpha\", {_prior_code(priors['alpha'])})")
    add(f"    beta = numpyro.sample(\"beta\", {_prior_code(priors['beta'])})")
    add("    y = jax.ops.segment_sum(y_rows, idx, sizes[-1])")
    add(f"    total = jax.ops.segment_sum({population.total}, idx, sizes[-1])")
    add(f"    with numpyro.plate({term.dim!r}, sizes[-1]):")
    add(f"        numpyro.sample(\"y\", {marginal}, obs=y)")
    add(f"        value = numpyro.sample({population.value!r}, {conditional})")
    add(f"    numpyro.deterministic({term.effect!r}, {population.link_code.format(v='value')})")


def _numpyro_model_code(fit: "Fit") -> str:
    spec, priors = fit.spec, fit.priors
    lines = ["def model(idx, sizes, parents=(), y=None, se=None, trials=None, exposure=None, X=None):",
             '    """idx: each row\'s innermost group; sizes: groups per level (outermost first);',
             '    parents[k - 1]: each group of level k\'s group in level k - 1."""']
    add = lines.append
    if spec.row_term.conjugate:
        add("    y_rows = y")
        _population_code(fit, add)
        return "\n".join(lines)
    slopes = spec.row_term.slopes and spec.row_term.partial
    if spec.covariates and slopes:  # the mean slopes come before the term that varies them
        add(f"    beta = numpyro.sample(\"beta\", {_beta_code(fit)})")
    add("    slopes = None")
    for k in range(len(spec.terms)):
        _term_code(fit, k, add)
    family = spec.family
    if family.response:
        add(f"    numpyro.deterministic(\"{family.response}\", {family.response_code})")
    add("    eta = theta[idx]")
    if spec.covariates:
        if not slopes:
            add(f"    beta = numpyro.sample(\"beta\", {_beta_code(fit)})")
        add("    eta = eta + X @ beta")
        if slopes:
            columns = [spec.covariates.index(x) for x in spec.row_term.slopes]
            add(f"    varying = jnp.array({columns!r})")
            add("    eta = eta + ((slopes - beta[varying])[idx] * X[:, varying]).sum(-1)")
    for name in family.param_names:
        add(f"    {name} = numpyro.sample(\"{name}\", {_prior_code(priors[name])})")
    observation = family.code.format(eta="eta")
    add("    with numpyro.plate(\"obs\", idx.shape[0]):")
    add(f"        numpyro.sample(\"y\", {observation}, obs=y)")
    return "\n".join(lines)


def _model_text(fit: "Fit") -> list[str]:
    """The model in words for the script's docstring (no user text: only enum values and numbers;
    levels and slopes are numbered, not named, because their names are column names)."""
    from .spec import Parameterization, Pooling

    spec, priors = fit.spec, fit.priors
    terms = spec.terms
    if len(terms) > 1 or terms[-1].slopes or terms[-1].conjugate:
        return _structure_text(fit)
    out = []
    for name in spec.prior_names():
        if not name.startswith("beta["):
            out.append(f"    {name} ~ {priors[name]}")
    if spec.covariates:
        out.append("    beta (one per covariate) ~ " + ", ".join(
            str(fit.priors[f"beta[{c}]"]) for c in spec.covariates))
    if spec.pooling == Pooling.PARTIAL:
        effects = "StudentT(nu_groups, {0}, {1})" if terms[-1].robust else "Normal({0}, {1})"
        if spec.parameterization == Parameterization.NON_CENTERED:
            out.append(f"    theta_j = mu + tau * z_j,  z_j ~ {effects.format(0, 1)}   (non-centered)")
        else:
            out.append(f"    theta_j ~ {effects.format('mu', 'tau')}   (centered)")
    elif spec.pooling == Pooling.COMPLETE:
        out.append("    theta_j = mu   (complete pooling)")
    else:
        out.append("    theta_j independent   (no pooling)")
    eta = "theta[group_i]" + (" + x_i . beta" if spec.covariates else "")
    out.append(f"    y_i ~ {spec.family.formula.format(eta=eta)}")
    return out


def _structure_text(fit: "Fit") -> list[str]:
    """Nested levels, varying slopes, Beta/Gamma populations in words (see _model_text)."""
    from .terms import CORRELATION_PRIOR

    spec, priors = fit.spec, fit.priors
    term = spec.row_term
    if term.conjugate:
        return [f"    alpha ~ {priors['alpha']},  beta ~ {priors['beta']}",
                f"    group values ~ {term.population.value.title()}(alpha, beta)   (population)",
                f"    y_i ~ {spec.family.formula.format(eta='theta[group_i]')},  theta = link(group value)",
                "    (sampled on group sums: marginal likelihood, then the exact conditional)"]
    out = []
    for k, t in enumerate(spec.terms):
        centre = "mu" if t.own_location else f"the level-{k} effect of its parent"
        way = "non-centered" if t.non_centered else "centered"
        out.append(f"    level {k + 1}: effects ~ Normal({centre}, scale {k + 1})   ({t.pooling.value} pooling, {way})")
        if t.own_location and t.partial:
            out.append(f"      mu ~ {priors[t.location]}")
        if t.partial:
            out.append(f"      scale {k + 1} ~ {priors[t.scale]}")
        for i, x in enumerate(t.slopes):
            out.append(f"      slope {i + 1} varies by group, its scale ~ {priors[t.slope_scale(x)]}")
        if t.slopes:
            out.append("      intercept and slopes jointly normal; correlation "
                       + (f"~ {priors[CORRELATION_PRIOR]}" if t.correlated else "none (R = I)"))
    for name in spec.family.param_names:
        out.append(f"    {name} ~ {priors[name]}")
    if spec.covariates:
        out.append("    beta (one per covariate) ~ " + ", ".join(
            str(priors[f"beta[{c}]"]) for c in spec.covariates))
    eta = "theta[group_i]" + (" + x_i . slope[group_i]" if term.slopes else "") + (
        " + x_i . beta" if spec.covariates else "")
    out.append(f"    y_i ~ {spec.family.formula.format(eta=eta)}")
    return out


def _default_role_code(role: str | None) -> str:
    """Code giving every row one trial (binomial 0/1 rows) or exposure 1 (poisson) when no column."""
    if role is None:
        return ""
    return (f"    if {role!r} not in arrays:\n"
            f"        arrays[{role!r}] = f32(np.ones(len(frame)))\n")


def _script_dims(fit: "Fit") -> tuple[dict[str, list[str]], list[str]]:
    """ArviZ dims of the NumPyro script's sites, and the summary's variable names (the fit's)."""
    spec, family = fit.spec, fit.spec.family
    dims: dict[str, list[str]] = {}
    for term in spec.terms:
        names = [term.effect, term.population_value, *(term.slope_effect(x) for x in term.slopes)]
        if term.non_centered:
            names.append(term.decentered)
        dims.update({name: [term.dim] for name in names if name})
        if term.slopes and term.partial:
            dims[f"{term.effect}_and_slopes_decentered" if term.non_centered
                 else f"{term.effect}_coefficients"] = [term.dim, "coefficient"]
    if family.response:
        dims.setdefault(family.response, [spec.row_term.dim])
    if spec.covariates:
        dims["beta"] = ["covariate"]
    names: list[str] = []
    for term in spec.terms:
        names.extend(term.parameter_names())
    names.extend(family.param_names)
    if spec.covariates:
        names.append("beta")
    if family.response:
        names.append(family.response)
    return dims, list(dict.fromkeys(names))


def _numpyro_script(fit: "Fit", data_path: str) -> str:
    columns = fit.data.columns
    spec = fit.spec
    family = spec.family
    role_columns = {"group": columns.group, "y": columns.y}
    role_columns.update({role: getattr(columns, role) for role in family.rows
                         if getattr(columns, role) is not None})
    roles_literal = "{" + ", ".join(f"{k!r}: {str(v)!r}" for k, v in role_columns.items()) + "}"
    cov_literal = "[" + ", ".join(repr(str(c)) for c in spec.covariates) + "]"
    labels_literal = "[" + ", ".join(repr(str(label)) for label in fit.data.labels) + "]"
    group_columns = tuple(getattr(columns, "outer_groups", ())) + (columns.group,)
    groups_literal = "[" + ", ".join(repr(str(c)) for c in group_columns) + "]"
    level_dims = "[" + ", ".join(repr(str(t.dim)) for t in spec.terms) + "]"
    model_columns = [level.column for level in fit.data.levels[-len(spec.terms):]]
    model_levels = [group_columns.index(c) for c in model_columns]
    coefficients = next((("intercept",) + t.slopes for t in spec.terms if t.slopes and t.partial), ())
    coef_literal = "[" + ", ".join(repr(str(c)) for c in coefficients) + "]"
    needs = next(iter(family.row_defaults), None)
    dims, var_names = _script_dims(fit)
    model_words = "\n".join(_model_text(fit))
    return f'''#!/usr/bin/env python
"""Refit a hierarchical model exported by hiermod {__version__}, in plain NumPyro.

Needs numpy, pandas, jax, numpyro and arviz (not hiermod).
Run:  python this_script.py [DATA.csv] [--quick] [--summary-csv summary.csv]

The model ({spec.likelihood.value} likelihood, {spec.pooling.value} pooling, {spec.parameterization.value}):
{model_words}
"""

import argparse
import sys
from pathlib import Path

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import pandas as pd
from numpyro.infer import MCMC, NUTS

DATA_PATH = {data_path!r}
COLUMNS = {roles_literal}
COVARIATES = {cov_literal}
# Grouping columns, outermost first; a group of an inner column is its path "outer/inner".
GROUP_COLUMNS = {groups_literal}
# The model's levels (outermost first): their positions in GROUP_COLUMNS, and their names.
MODEL_LEVELS = {model_levels!r}
LEVEL_DIMS = {level_dims}
COEFFICIENTS = {coef_literal}
# Group labels of the original fit (innermost level), in first-seen order.
EXPECTED_LABELS = {labels_literal}
SETTINGS = {_settings_literal(fit, random_start=True)}
QUICK = dict(chains={QUICK_SETTINGS["chains"]}, warmup={QUICK_SETTINGS["warmup"]}, draws={QUICK_SETTINGS["draws"]})
VAR_NAMES = {var_names!r}
{_SCRIPT_MAIN_ARGS}
{_helper_code(fit)}

{_numpyro_model_code(fit)}


def load(path):
    """Read the CSV (comma, semicolon or tab) and keep complete rows of the columns used.
    Returns the model's keyword arguments and each model level's labels (outermost first)."""
    frame = pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig")
    used = list(dict.fromkeys(GROUP_COLUMNS + list(COLUMNS.values()) + COVARIATES))
    missing = [c for c in used if c not in frame.columns]
    if missing:
        sys.exit("Columns not in the file: " + ", ".join(repr(c) for c in missing))
    frame = frame[used].dropna()
    text = lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
    paths, codes, labels = None, [], []
    for column in GROUP_COLUMNS:
        part = frame[column].map(text).str.strip()
        paths = part if paths is None else paths + "/" + part
        level_codes, uniques = pd.factorize(paths)
        codes.append(level_codes.astype(np.int32))
        labels.append([str(u) for u in uniques])
    codes, labels = [codes[k] for k in MODEL_LEVELS], [labels[k] for k in MODEL_LEVELS]
    parents = []
    for k in range(1, len(codes)):
        parent = np.zeros(len(labels[k]), dtype=np.int32)
        parent[codes[k]] = codes[k - 1]
        parents.append(jnp.asarray(parent))
    arrays = {{"idx": jnp.asarray(codes[-1]), "sizes": tuple(len(u) for u in labels),
               "parents": tuple(parents)}}
    f32 = lambda a: jnp.asarray(np.asarray(a, dtype=np.float32))
    arrays["y"] = f32(frame[COLUMNS["y"]])
    for role in ("se", "trials", "exposure"):
        if role in COLUMNS:
            arrays[role] = f32(frame[COLUMNS[role]])
{_default_role_code(needs)}    if COVARIATES:
        arrays["X"] = f32(frame[COVARIATES].to_numpy(dtype=float))
    return arrays, labels


def main(argv=None):
    args = parse_args(argv)
    arrays, levels = load(find_data(args.data))
    if levels[-1] != EXPECTED_LABELS:
        print("Note: the group labels differ from the original fit's.", file=sys.stderr)
    settings = dict(SETTINGS, **QUICK) if args.quick else dict(SETTINGS)
    kernel = NUTS(model, target_accept_prob=settings["target_accept"],
                  max_tree_depth=settings["max_tree_depth"])
    mcmc = MCMC(kernel, num_warmup=settings["warmup"], num_samples=settings["draws"],
                num_chains=settings["chains"], chain_method="sequential", progress_bar=False)
    mcmc.run(jax.random.PRNGKey(settings["seed"]), **arrays)
    coords = dict(zip(LEVEL_DIMS, levels), covariate=COVARIATES, coefficient=COEFFICIENTS)
    idata = az.from_numpyro(mcmc, coords=coords,
                            dims={dims!r}, log_likelihood=False)
    table = az.summary(idata, var_names=VAR_NAMES, hdi_prob=0.94, round_to="none")
    if args.summary_csv:
        table.to_csv(args.summary_csv)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 500,
                           "display.precision", 4):
        print(table.to_string())
    print("divergences:", int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum()))


if __name__ == "__main__":
    main()
'''
