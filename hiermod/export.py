"""Export a fit: ArviZ netCDF, a spreadsheet-safe summary CSV, standalone plotly HTML, a JSON
summary, and standalone Python scripts that reproduce the fit (with hiermod or plain NumPyro).

No Streamlit here; the dashboard and the command line both call these functions.

Generated scripts never embed user text (column names, group labels, paths) except through
``repr()``, so a malicious column name cannot inject code; comments hold no user text at all.
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import tempfile
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

__all__ = [
    "FORMULA_PREFIXES",
    "safe_csv_cell",
    "to_netcdf_bytes",
    "write_netcdf",
    "summary_csv",
    "figure_html",
    "summary_dict",
    "versions",
    "reproduction_script",
]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is read as a formula by spreadsheet programs."""

QUICK_SETTINGS = {"chains": 2, "warmup": 300, "draws": 300}
"""What the ``--quick`` flag of a reproduction script uses."""


# ------------------------------------------------------------------------------------- netCDF


def _idata_for_export(fit: "Fit"):
    """A copy of the fit's InferenceData with hiermod's spec, settings and method as attributes."""
    from .result import settings_dict

    idata = fit.idata.copy()
    attrs = {
        "hiermod_version": _hiermod_version(),
        "hiermod_method": str(fit.method),
        "hiermod_spec": json.dumps(fit.spec.to_dict(), ensure_ascii=False),
        "hiermod_priors": json.dumps({k: str(v) for k, v in fit.priors.items()}, ensure_ascii=False),
        "hiermod_settings": json.dumps(_jsonable(settings_dict(fit.settings))),
        "hiermod_data_fingerprint": str(fit.data.fingerprint),
    }
    idata.posterior.attrs.update(attrs)
    return idata


def write_netcdf(fit: "Fit", path: str | os.PathLike) -> Path:
    """Write the fit's InferenceData to ``path`` as netCDF (h5netcdf engine); returns the path.

    Read it back with ``arviz.from_netcdf(path)``; group labels are the ``group`` coordinate.
    """
    path = Path(path)
    _idata_for_export(fit).to_netcdf(str(path), engine="h5netcdf")
    return path


def to_netcdf_bytes(fit: "Fit") -> bytes:
    """The netCDF file of :func:`write_netcdf` as bytes (for a download button)."""
    with tempfile.TemporaryDirectory(prefix="hiermod-") as tmp:
        path = Path(tmp) / "posterior.nc"
        write_netcdf(fit, path)
        return path.read_bytes()


# ---------------------------------------------------------------------------------------- CSV


def safe_csv_cell(value: Any) -> Any:
    """Neutralise a spreadsheet formula: text starting with = + - @ tab or CR gets a leading '.

    Numbers (and anything that is not text) are returned unchanged, so negative numbers stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _split_name(name: str) -> tuple[str, str]:
    """``"theta[A]"`` -> ``("theta", "A")``; ``"mu"`` -> ``("mu", "")``."""
    if "[" in name and name.endswith("]"):
        var, rest = name.split("[", 1)
        return var, rest[:-1]
    return name, ""


def summary_table_frame(fit: "Fit"):
    """The summary table with ``parameter``, ``variable`` and ``label`` columns in front."""
    from .diagnostics import summary_table

    table = summary_table(fit)
    frame = table.reset_index(drop=True).copy()
    names = [str(n) for n in table.index]
    parts = [_split_name(n) for n in names]
    frame.insert(0, "label", [p[1] for p in parts])
    frame.insert(0, "variable", [p[0] for p in parts])
    frame.insert(0, "parameter", names)
    return frame


def summary_csv(fit: "Fit") -> str:
    """The summary table as CSV, one row per parameter, with spreadsheet formulas neutralised.

    Columns: parameter (``theta[A]``), variable (``theta``), label (``A``, the group label or
    covariate name), then mean, sd, hdi_low, hdi_high, mcse_mean, mcse_sd, ess_bulk, ess_tail,
    r_hat. Every text cell goes through :func:`safe_csv_cell`; numbers are written as numbers.
    """
    frame = summary_table_frame(fit)
    frame.columns = [safe_csv_cell(str(c)) for c in frame.columns]
    for col in frame.columns:
        if frame[col].dtype == object or str(frame[col].dtype) in ("string", "str"):
            frame[col] = frame[col].map(safe_csv_cell).astype(object)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


# --------------------------------------------------------------------------------------- HTML


def figure_html(fig) -> str:
    """A plotly figure as a standalone HTML page with plotly.js inlined (works offline)."""
    import plotly.io as pio

    return pio.to_html(fig, include_plotlyjs=True, full_html=True)


# --------------------------------------------------------------------------------------- JSON


def _jsonable(value: Any) -> Any:
    """Plain JSON types; non-finite floats become None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "value") and isinstance(getattr(value, "value"), str):  # enums
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _hiermod_version() -> str:
    from . import __version__

    return __version__


def versions() -> dict[str, str]:
    """Versions of python and the libraries a fit depends on."""
    import importlib

    out = {"python": platform.python_version(), "hiermod": _hiermod_version()}
    for name in ("numpyro", "jax", "arviz", "numpy", "pandas"):
        try:
            out[name] = str(importlib.import_module(name).__version__)
        except Exception:  # pragma: no cover - a missing optional library
            out[name] = "not installed"
    return out


def _columns_dict(columns) -> dict:
    return {
        "group": columns.group,
        "y": columns.y,
        "kind": str(getattr(columns.kind, "value", columns.kind)),
        "se": columns.se,
        "trials": columns.trials,
        "exposure": columns.exposure,
        "covariates": list(columns.covariates),
    }


_PARAM_FIELDS = ("mean", "sd", "hdi_low", "hdi_high", "mcse_mean", "ess_bulk", "ess_tail", "r_hat")


def _diagnostics_dict(fit: "Fit") -> dict:
    """``diagnose(fit).to_dict()`` without the summary table (``parameters`` holds it)."""
    from .diagnostics import diagnose

    out = dict(diagnose(fit).to_dict())
    out.pop("summary", None)
    return _jsonable(out)


def summary_dict(fit: "Fit") -> dict:
    """Everything about a fit as plain JSON-able data (no NaN: missing numbers are None).

    Keys: ``parameters`` (name -> mean, sd, hdi_low, hdi_high, mcse_mean, ess_bulk, ess_tail,
    r_hat), ``diagnostics``, ``timings``, ``spec`` (``ModelSpec.to_dict()`` plus
    ``resolved_priors`` as text), ``settings``, ``method``, ``data`` (kind, n_rows, n_groups,
    labels, fingerprint, columns, report) and ``versions``.
    """
    from .diagnostics import summary_table
    from .result import settings_dict

    table = summary_table(fit)
    parameters = {
        str(name): {f: (row[f] if f in row.index else None) for f in _PARAM_FIELDS}
        for name, row in table.iterrows()
    }
    spec = fit.spec.to_dict()
    spec["resolved_priors"] = {k: str(v) for k, v in fit.priors.items()}
    data = fit.data
    out = {
        "parameters": parameters,
        "diagnostics": _diagnostics_dict(fit),
        "timings": dict(fit.timings),
        "spec": spec,
        "settings": settings_dict(fit.settings),
        "method": str(fit.method),
        "data": {
            "kind": str(getattr(data.kind, "value", data.kind)),
            "n_rows": data.n_rows,
            "n_groups": data.n_groups,
            "labels": list(data.labels),
            "fingerprint": data.fingerprint,
            "columns": _columns_dict(data.columns),
            "report": list(getattr(data, "report", ())),
        },
        "versions": versions(),
    }
    return _jsonable(out)


# ------------------------------------------------------------------------ reproduction scripts


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
"""Refit a hierarchical model exported by hiermod {_hiermod_version()}.

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


# numpyro constructors for each prior family; the numbers come from validated Prior objects.
_NUMPYRO_PRIOR = {
    "Normal": "dist.Normal({0}, {1})",
    "StudentT": "dist.StudentT({0}, {1}, {2})",
    "Cauchy": "dist.Cauchy({0}, {1})",
    "HalfNormal": "dist.HalfNormal({0})",
    "HalfCauchy": "dist.HalfCauchy({0})",
    "HalfStudentT": "dist.FoldedDistribution(dist.StudentT({0}, 0.0, {1}))",
    "Exponential": "dist.Exponential({0})",
    "Gamma": "dist.Gamma({0}, {1})",
    "InverseGamma": "dist.InverseGamma({0}, {1})",
    "LogNormal": "dist.LogNormal({0}, {1})",
    "Uniform": "dist.Uniform({0}, {1})",
}


def _prior_code(prior) -> str:
    return _NUMPYRO_PRIOR[prior.family].format(*(repr(float(a)) for a in prior.args))


def _beta_code(fit: "Fit") -> str:
    """A vector prior for the covariate slopes: one column of numbers per covariate."""
    priors = [fit.priors[f"beta[{c}]"] for c in fit.spec.covariates]
    family = priors[0].family
    columns = list(zip(*(p.args for p in priors)))  # one tuple per argument
    args = [f"jnp.array([{', '.join(repr(float(x)) for x in col)}])" for col in columns]
    return _NUMPYRO_PRIOR[family].format(*args) + ".to_event(1)"


def _numpyro_model_code(fit: "Fit") -> str:
    from .spec import Likelihood, Parameterization, Pooling

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
    if spec.likelihood == Likelihood.BINOMIAL:
        add("    numpyro.deterministic(\"p\", jax.nn.sigmoid(theta))")
    elif spec.likelihood == Likelihood.POISSON:
        add("    numpyro.deterministic(\"rate\", jnp.exp(theta))")
    add("    eta = theta[group_idx]")
    if spec.covariates:
        add(f"    beta = numpyro.sample(\"beta\", {_beta_code(fit)})")
        add("    eta = eta + X @ beta")
    if spec.likelihood in (Likelihood.NORMAL, Likelihood.STUDENT_T):
        add(f"    sigma = numpyro.sample(\"sigma\", {_prior_code(priors['sigma'])})")
    if spec.likelihood == Likelihood.STUDENT_T:
        add(f"    nu = numpyro.sample(\"nu\", {_prior_code(priors['nu'])})")
    observation = {
        Likelihood.NORMAL_KNOWN_SE: "dist.Normal(eta, se)",
        Likelihood.NORMAL: "dist.Normal(eta, sigma)",
        Likelihood.STUDENT_T: "dist.StudentT(nu, eta, sigma)",
        Likelihood.BINOMIAL: "dist.Binomial(total_count=trials, logits=eta)",
        Likelihood.POISSON: "dist.Poisson(jnp.exp(eta + jnp.log(exposure)))",
    }[spec.likelihood]
    add("    with numpyro.plate(\"obs\", group_idx.shape[0]):")
    add(f"        numpyro.sample(\"y\", {observation}, obs=y)")
    return "\n".join(lines)


def _model_text(fit: "Fit") -> list[str]:
    """The model in words for the script's docstring (no user text: only enum values and numbers)."""
    from .spec import Likelihood, Parameterization, Pooling

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
    out.append({
        Likelihood.NORMAL_KNOWN_SE: f"    y_i ~ Normal({eta}, se_i)",
        Likelihood.NORMAL: f"    y_i ~ Normal({eta}, sigma)",
        Likelihood.STUDENT_T: f"    y_i ~ StudentT(nu, {eta}, sigma)",
        Likelihood.BINOMIAL: f"    y_i ~ Binomial(trials_i, inv_logit({eta}))",
        Likelihood.POISSON: f"    y_i ~ Poisson(exposure_i * exp({eta}))",
    }[spec.likelihood])
    return out


def _default_role_code(role: str | None) -> str:
    """Code giving every row one trial (binomial 0/1 rows) or exposure 1 (poisson) when no column."""
    if role is None:
        return ""
    return (f"    if {role!r} not in arrays:\n"
            f"        arrays[{role!r}] = f32(np.ones(len(frame)))\n")


def _numpyro_script(fit: "Fit", data_path: str) -> str:
    from .spec import Likelihood

    columns = fit.data.columns
    spec = fit.spec
    role_columns = {"group": columns.group, "y": columns.y}
    if spec.likelihood == Likelihood.NORMAL_KNOWN_SE:
        role_columns["se"] = columns.se
    if spec.likelihood == Likelihood.BINOMIAL and columns.trials is not None:
        role_columns["trials"] = columns.trials
    if spec.likelihood == Likelihood.POISSON and columns.exposure is not None:
        role_columns["exposure"] = columns.exposure
    roles_literal = "{" + ", ".join(f"{k!r}: {str(v)!r}" for k, v in role_columns.items()) + "}"
    cov_literal = "[" + ", ".join(repr(str(c)) for c in spec.covariates) + "]"
    labels_literal = "[" + ", ".join(repr(str(label)) for label in fit.data.labels) + "]"
    needs = {"binomial": "trials", "poisson": "exposure"}.get(spec.likelihood.value)
    dims = {"theta": ["group"]}
    if spec.pooling.value == "partial" and spec.parameterization.value == "non_centered":
        dims["theta_decentered"] = ["group"]
    if spec.likelihood == Likelihood.BINOMIAL:
        dims["p"] = ["group"]
    if spec.likelihood == Likelihood.POISSON:
        dims["rate"] = ["group"]
    if spec.covariates:
        dims["beta"] = ["covariate"]
    var_names = [v for v in ("mu", "tau", "sigma", "nu", "beta", "theta", "p", "rate")
                 if v == "theta" or v in dims or v in spec.prior_names()
                 or (v == "beta" and spec.covariates)]
    model_words = "\n".join(_model_text(fit))
    return f'''#!/usr/bin/env python
"""Refit a hierarchical model exported by hiermod {_hiermod_version()}, in plain NumPyro.

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
