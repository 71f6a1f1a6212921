"""Standalone Python scripts that refit an exported model: with hiermod, or in plain NumPyro.

Generated scripts never embed user text (column names, group labels, paths) except through
``repr()``, so a malicious column name cannot inject code; comments hold no user text at all.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from . import __version__
from .prior_families import TRUNCATED_POSITIVE_SOURCE

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


def _settings_literal(fit: "Fit") -> str:
    s = fit.settings
    return (f"dict(chains={int(s.chains)!r}, warmup={int(s.warmup)!r}, draws={int(s.draws)!r}, "
            f"seed={int(s.seed)!r}, target_accept={float(s.target_accept)!r}, "
            f"max_tree_depth={int(s.max_tree_depth)!r})")


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
)

# The priors chosen explicitly (prior text is parsed by hiermod's grammar, never evaluated).
PRIORS = {_dict_literal({k: str(v) for k, v in spec.priors})}

SPEC = ModelSpec(
    likelihood={spec.likelihood.value!r},
    pooling={spec.pooling.value!r},
    parameterization={spec.parameterization.value!r},
    priors={{name: parse_prior(text) for name, text in PRIORS.items()}},
    covariates={spec_cov_literal},
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
    return TRUNCATED_POSITIVE_SOURCE if needed else ""


def _numpyro_model_code(fit: "Fit") -> str:
    from .spec import Parameterization, Pooling

    spec, priors = fit.spec, fit.priors
    lines = ["def model(group_idx, n_groups, y=None, se=None, trials=None, exposure=None, X=None):"]
    add = lines.append
    if spec.pooling == Pooling.NONE:
        add("    with numpyro.plate(\"group\", n_groups):")
        add(f"        theta = numpyro.sample(\"theta\", {_prior_code(priors['theta'])})")
    else:
        add(f"    mu = numpyro.sample(\"mu\", {_prior_code(priors['mu'])})")
        if spec.pooling == Pooling.COMPLETE:
            add("    theta = numpyro.deterministic(\"theta\", jnp.broadcast_to(mu, (n_groups,)))")
        else:
            add(f"    tau = numpyro.sample(\"tau\", {_prior_code(priors['tau'])})")
            if spec.parameterization == Parameterization.NON_CENTERED:
                add("    with numpyro.plate(\"group\", n_groups):")
                add("        theta_decentered = numpyro.sample(\"theta_decentered\", dist.Normal(0.0, 1.0))")
                add("    theta = numpyro.deterministic(\"theta\", mu + tau * theta_decentered)")
            else:
                add("    with numpyro.plate(\"group\", n_groups):")
                add("        theta = numpyro.sample(\"theta\", dist.Normal(mu, tau))")
    family = spec.family
    if family.response:
        add(f"    numpyro.deterministic(\"{family.response}\", {family.response_code})")
    add("    eta = theta[group_idx]")
    if spec.covariates:
        add(f"    beta = numpyro.sample(\"beta\", {_beta_code(fit)})")
        add("    eta = eta + X @ beta")
    for name in family.param_names:
        add(f"    {name} = numpyro.sample(\"{name}\", {_prior_code(priors[name])})")
    observation = family.code.format(eta="eta")
    add("    with numpyro.plate(\"obs\", group_idx.shape[0]):")
    add(f"        numpyro.sample(\"y\", {observation}, obs=y)")
    return "\n".join(lines)


def _model_text(fit: "Fit") -> list[str]:
    """The model in words for the script's docstring (no user text: only enum values and numbers)."""
    from .spec import Parameterization, Pooling

    spec, priors = fit.spec, fit.priors
    out = []
    for name in spec.prior_names():
        if not name.startswith("beta["):
            out.append(f"    {name} ~ {priors[name]}")
    if spec.covariates:
        out.append("    beta (one per covariate) ~ " + ", ".join(
            str(fit.priors[f"beta[{c}]"]) for c in spec.covariates))
    if spec.pooling == Pooling.PARTIAL:
        if spec.parameterization == Parameterization.NON_CENTERED:
            out.append("    theta_j = mu + tau * z_j,  z_j ~ Normal(0, 1)   (non-centered)")
        else:
            out.append("    theta_j ~ Normal(mu, tau)   (centered)")
    elif spec.pooling == Pooling.COMPLETE:
        out.append("    theta_j = mu   (complete pooling)")
    else:
        out.append("    theta_j independent   (no pooling)")
    eta = "theta[group_i]" + (" + x_i . beta" if spec.covariates else "")
    out.append(f"    y_i ~ {spec.family.formula.format(eta=eta)}")
    return out


def _default_role_code(role: str | None) -> str:
    """Code giving every row one trial (binomial 0/1 rows) or exposure 1 (poisson) when no column."""
    if role is None:
        return ""
    return (f"    if {role!r} not in arrays:\n"
            f"        arrays[{role!r}] = f32(np.ones(len(frame)))\n")


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
    needs = next(iter(family.row_defaults), None)
    dims = {"theta": ["group"]}
    if spec.pooling.value == "partial" and spec.parameterization.value == "non_centered":
        dims["theta_decentered"] = ["group"]
    if family.response:
        dims[family.response] = ["group"]
    if spec.covariates:
        dims["beta"] = ["covariate"]
    var_names = [v for v in ("mu", "tau", *family.param_names, "beta", "theta", family.response)
                 if v == "theta" or v in dims or v in spec.prior_names()
                 or (v == "beta" and spec.covariates)]
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
# Group labels of the original fit, in first-seen order.
EXPECTED_LABELS = {labels_literal}
SETTINGS = {_settings_literal(fit)}
QUICK = dict(chains={QUICK_SETTINGS["chains"]}, warmup={QUICK_SETTINGS["warmup"]}, draws={QUICK_SETTINGS["draws"]})
VAR_NAMES = {var_names!r}
{_SCRIPT_MAIN_ARGS}
{_helper_code(fit)}

{_numpyro_model_code(fit)}


def load(path):
    """Read the CSV (comma, semicolon or tab) and keep complete rows of the columns used."""
    frame = pd.read_csv(path, sep=None, engine="python", encoding="utf-8-sig")
    used = list(COLUMNS.values()) + COVARIATES
    missing = [c for c in used if c not in frame.columns]
    if missing:
        sys.exit("Columns not in the file: " + ", ".join(repr(c) for c in missing))
    frame = frame[used].dropna()
    labels = frame[COLUMNS["group"]].map(
        lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)).str.strip()
    codes, uniques = pd.factorize(labels)
    arrays = {{"group_idx": jnp.asarray(codes.astype(np.int32)), "n_groups": len(uniques)}}
    f32 = lambda a: jnp.asarray(np.asarray(a, dtype=np.float32))
    arrays["y"] = f32(frame[COLUMNS["y"]])
    for role in ("se", "trials", "exposure"):
        if role in COLUMNS:
            arrays[role] = f32(frame[COLUMNS[role]])
{_default_role_code(needs)}    if COVARIATES:
        arrays["X"] = f32(frame[COVARIATES].to_numpy(dtype=float))
    return arrays, [str(u) for u in uniques]


def main(argv=None):
    args = parse_args(argv)
    arrays, labels = load(find_data(args.data))
    if labels != EXPECTED_LABELS:
        print("Note: the group labels differ from the original fit's.", file=sys.stderr)
    settings = dict(SETTINGS, **QUICK) if args.quick else dict(SETTINGS)
    kernel = NUTS(model, target_accept_prob=settings["target_accept"],
                  max_tree_depth=settings["max_tree_depth"])
    mcmc = MCMC(kernel, num_warmup=settings["warmup"], num_samples=settings["draws"],
                num_chains=settings["chains"], chain_method="sequential", progress_bar=False)
    mcmc.run(jax.random.PRNGKey(settings["seed"]), **arrays)
    idata = az.from_numpyro(mcmc, coords={{"group": labels, "covariate": COVARIATES}},
                            dims={dims!r}, log_likelihood=False)
    table = az.summary(idata, var_names=VAR_NAMES, hdi_prob=0.94)
    if args.summary_csv:
        table.to_csv(args.summary_csv)
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_rows", 500):
        print(table.to_string())
    print("divergences:", int(np.asarray(mcmc.get_extra_fields()["diverging"]).sum()))


if __name__ == "__main__":
    main()
'''
