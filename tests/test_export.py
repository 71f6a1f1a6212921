"""Exports: netCDF round trip, formula-safe CSV, standalone HTML, JSON summary, runnable scripts."""

from __future__ import annotations

import ast
import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hiermod import export
from hiermod.export import safe_csv_cell

REPO = Path(__file__).resolve().parent.parent
EIGHT_SCHOOLS_CSV = REPO / "sample_data" / "eight_schools.csv"

HOSTILE_LABELS = ['=HYPERLINK("x")', "+1", "-cmd", "@SUM(A1)", "École ü", "plain"]


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false")
    return env


@pytest.fixture(scope="module")
def hostile_fit(tmp_path_factory):
    """An exact fit (cheap) of summary data whose group labels look like spreadsheet formulas."""
    from hiermod.data import ColumnMap, load_data
    from hiermod.fitting import fit
    from hiermod.spec import ModelSpec

    path = tmp_path_factory.mktemp("hostile") / "hostile.csv"
    frame = pd.DataFrame({"unit": HOSTILE_LABELS, "est": [28.0, 8, -3, 7, -1, 1], "se": [15.0, 10, 16, 11, 9, 11]})
    frame.to_csv(path, index=False)
    data = load_data(path, ColumnMap(group="unit", y="est", kind="summary", se="se"))
    spec = ModelSpec("normal_known_se", priors={"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"})
    return fit(data, spec, method="exact", chains=2, draws=300)


# ------------------------------------------------------------------------------------- netCDF


def test_netcdf_bytes_round_trip(eight_schools_fit, tmp_path):
    import arviz as az

    raw = export.to_netcdf_bytes(eight_schools_fit)
    assert raw[:4] == b"\x89HDF"
    path = tmp_path / "posterior.nc"
    path.write_bytes(raw)
    back = az.from_netcdf(path)
    assert list(back.posterior.coords["group"].values) == list("ABCDEFGH")
    np.testing.assert_allclose(back.posterior["mu"].values, eight_schools_fit.idata.posterior["mu"].values)
    np.testing.assert_allclose(back.posterior["theta"].sel(group="C").values,
                               eight_schools_fit.idata.posterior["theta"].sel(group="C").values)
    assert set(eight_schools_fit.idata.groups()) <= set(back.groups())
    assert json.loads(back.posterior.attrs["hiermod_spec"])["priors"] == {"mu": "Normal(0, 5)",
                                                                         "tau": "HalfCauchy(5)"}
    # the fit's own InferenceData is not touched by the export attributes
    assert "hiermod_spec" not in eight_schools_fit.idata.posterior.attrs


def test_write_netcdf_keeps_unusual_labels(hostile_fit, tmp_path):
    import arviz as az

    path = export.write_netcdf(hostile_fit, tmp_path / "hostile.nc")
    back = az.from_netcdf(path)
    assert [str(v) for v in back.posterior.coords["group"].values] == HOSTILE_LABELS


# ---------------------------------------------------------------------------------------- CSV


@pytest.mark.parametrize("text", ['=HYPERLINK("x")', "+1", "-cmd", "@SUM(A1)", "\tx", "\rx", "=1+2"])
def test_safe_csv_cell_prefixes_formula_text(text):
    assert safe_csv_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["plain", "theta[A]", "", "a=b", "École", -3.5, 0, -1, 2.0, None,
                                   float("nan")])
def test_safe_csv_cell_leaves_the_rest(value):
    out = safe_csv_cell(value)
    assert out is value or (isinstance(value, float) and math.isnan(value) and math.isnan(out))


def test_summary_csv_neutralises_labels_and_keeps_numbers(hostile_fit):
    text = export.summary_csv(hostile_fit)
    rows = list(csv.DictReader(io.StringIO(text)))
    labels = [r["label"] for r in rows if r["variable"] == "theta"]
    assert labels == ["'" + s if s[0] in "=+-@" else s for s in HOSTILE_LABELS]
    assert "'=HYPERLINK(\"x\")" in labels and "'+1" in labels and "'-cmd" in labels and "'@SUM(A1)" in labels
    assert "École ü" in labels and "plain" in labels
    # no cell at all starts with a formula character unless it is a number
    for row in rows:
        for key, cell in row.items():
            assert not key.startswith(("=", "+", "@", "\t", "\r"))
            if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
                float(cell)  # only numbers (negative ones) may start with '-'
    # numbers stay numbers, negative ones included
    frame = pd.read_csv(io.StringIO(text))
    for col in ("mean", "sd", "hdi_low", "hdi_high", "mcse_mean", "ess_bulk", "ess_tail", "r_hat"):
        assert pd.api.types.is_float_dtype(frame[col]), col
    assert (frame["hdi_low"] < 0).any()
    assert frame["parameter"].tolist()[:2] == ["mu", "tau"]
    from hiermod.diagnostics import summary_table

    table = summary_table(hostile_fit)
    np.testing.assert_allclose(frame["mean"].to_numpy(), table["mean"].to_numpy(), rtol=1e-12)


def test_summary_csv_eight_schools(eight_schools_fit):
    frame = pd.read_csv(io.StringIO(export.summary_csv(eight_schools_fit)))
    assert frame["parameter"].tolist() == ["mu", "tau"] + [f"theta[{s}]" for s in "ABCDEFGH"]
    assert frame.loc[frame.parameter == "theta[A]", "label"].item() == "A"


# --------------------------------------------------------------------------------------- HTML


def test_figure_html_is_standalone():
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[3, 1, 2], name="<b>=x</b>"))
    html = export.figure_html(fig)
    assert html.lstrip().lower().startswith(("<html", "<!doctype html"))
    assert "plotly" in html.lower()
    assert "Plotly.newPlot" in html
    assert len(html) > 1_000_000  # plotly.js is inlined, so it works offline
    assert '<script src="http' not in html


# --------------------------------------------------------------------------------------- JSON


def test_summary_dict_is_json_and_complete(eight_schools_fit):
    d = export.summary_dict(eight_schools_fit)
    text = json.dumps(d, allow_nan=False)  # strict JSON: no NaN
    d = json.loads(text)
    assert set(d) >= {"parameters", "diagnostics", "timings", "spec", "settings", "method", "data", "versions"}
    assert set(d["parameters"]) == {"mu", "tau"} | {f"theta[{s}]" for s in "ABCDEFGH"}
    assert set(d["parameters"]["mu"]) == {"mean", "sd", "hdi_low", "hdi_high", "mcse_mean", "ess_bulk",
                                          "ess_tail", "r_hat"}
    assert set(d["diagnostics"]) >= {"divergences", "divergence_share", "max_r_hat", "min_ess_bulk",
                                     "bfmi", "verdicts"}
    assert all(set(v) >= {"level", "topic", "message"} for v in d["diagnostics"]["verdicts"])
    assert d["spec"]["priors"] == {"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"}
    assert d["spec"]["resolved_priors"] == {"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"}
    assert d["spec"]["likelihood"] == "normal_known_se"
    assert d["settings"] == {"chains": 4, "warmup": 300, "draws": 1000, "seed": 0, "target_accept": 0.9,
                             "max_tree_depth": 10, "start": "instant"}  # as run: from the instant posterior
    assert d["method"] == "nuts"
    assert d["data"]["labels"] == list("ABCDEFGH")
    assert d["data"]["n_groups"] == 8 and d["data"]["n_rows"] == 8 and d["data"]["kind"] == "summary"
    assert d["data"]["columns"] == {"group": "school", "y": "effect", "kind": "summary", "se": "se",
                                    "trials": None, "exposure": None, "covariates": []}
    assert len(d["data"]["fingerprint"]) == 64
    assert set(d["versions"]) >= {"python", "hiermod", "numpyro", "jax", "arviz", "numpy", "pandas"}
    assert set(d["timings"]) >= {"total_s"}


def test_summary_dict_exact_fit(hostile_fit):
    d = json.loads(json.dumps(export.summary_dict(hostile_fit), allow_nan=False))
    assert d["method"] == "exact"
    assert d["data"]["labels"] == HOSTILE_LABELS


# ------------------------------------------------------------------------ reproduction scripts


def _run_script(script: str, tmp_path: Path, name: str, *args: str) -> pd.DataFrame:
    path = tmp_path / name
    path.write_text(script, encoding="utf-8")
    out = tmp_path / (name + ".summary.csv")
    proc = subprocess.run([sys.executable, str(path), *args, "--summary-csv", str(out)],
                          cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "mu" in proc.stdout
    return pd.read_csv(out, index_col=0)


def _assert_means_agree(table: pd.DataFrame, reference: pd.DataFrame) -> None:
    names = ["mu", "tau"] + [f"theta[{s}]" for s in "ABCDEFGH"]
    for name in names:
        a, b = table.loc[name], reference.loc[name]
        bound = 4 * math.sqrt(a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2)
        assert abs(a["mean"] - b["mean"]) < bound, (name, a["mean"], b["mean"], bound)


def test_hiermod_script_runs_and_agrees(eight_schools_fit, tmp_path):
    from hiermod.diagnostics import summary_table

    script = export.reproduction_script(eight_schools_fit, "data.csv", flavour="hiermod")
    ast.parse(script)
    (tmp_path / "data.csv").write_bytes(EIGHT_SCHOOLS_CSV.read_bytes())
    table = _run_script(script, tmp_path, "reproduce_hiermod.py", "--quick")
    _assert_means_agree(table, summary_table(eight_schools_fit))


def test_numpyro_script_runs_and_agrees(eight_schools_fit, tmp_path):
    from hiermod.diagnostics import summary_table

    script = export.reproduction_script(eight_schools_fit, str(EIGHT_SCHOOLS_CSV), flavour="numpyro")
    tree = ast.parse(script)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert "hiermod" not in imported and "numpyro" in imported
    assert "dist.Normal(0.0, 5.0)" in script and "dist.HalfCauchy(5.0)" in script
    table = _run_script(script, tmp_path, "reproduce_numpyro.py", "--quick")
    _assert_means_agree(table, summary_table(eight_schools_fit))


def _constants(script: str) -> dict:
    """Module-level NAME = literal assignments of a script, evaluated as literals only."""
    out = {}
    for node in ast.parse(script).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def test_scripts_quote_hostile_names(tmp_path):
    """Column names, labels and paths that try to break out of string literals stay data."""
    from hiermod.data import ColumnMap, load_data
    from hiermod.fitting import fit
    from hiermod.spec import ModelSpec

    marker = tmp_path / "PWNED"
    group = "g'+__import__('os').system('touch PWNED')+'"
    y = 'y"""); open("PWNED", "w"); ("'
    se = "se\\"
    labels = ["a'); open('PWNED','w'); ('", 'b"""', "c\\", "d"]
    frame = pd.DataFrame({group: labels, y: [1.0, 2.0, -1.0, 0.5], se: [1.0, 1.5, 2.0, 1.0]})
    data_path = tmp_path / "evil'\"name.csv"
    frame.to_csv(data_path, index=False)
    data = load_data(data_path, ColumnMap(group=group, y=y, kind="summary", se=se))
    assert data.labels == tuple(labels)
    result = fit(data, ModelSpec("normal_known_se"), method="exact", chains=2, draws=100)

    hm = export.reproduction_script(result, str(data_path), flavour="hiermod")
    npy = export.reproduction_script(result, str(data_path), flavour="numpyro")
    consts = _constants(npy)
    assert consts["DATA_PATH"] == str(data_path)
    assert consts["COLUMNS"] == {"group": group, "y": y, "se": se}
    assert consts["EXPECTED_LABELS"] == labels
    assert _constants(hm)["DATA_PATH"] == str(data_path)

    script_path = tmp_path / "reproduce.py"
    script_path.write_text(hm, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script_path), "--quick"], cwd=tmp_path, env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "theta[" in proc.stdout
    assert "differ" not in proc.stderr  # same data and priors as the original fit
    assert not marker.exists()
    assert not (tmp_path / "PWNED").exists()


def test_unknown_flavour(eight_schools_fit):
    from hiermod.errors import HiermodError

    with pytest.raises(HiermodError):
        export.reproduction_script(eight_schools_fit, flavour="stan")


# ------------------------------------------------- other likelihoods, pooling modes, covariates


def _stand_in_fit(data, spec):
    """A Fit without draws: enough for script generation (which needs no posterior)."""
    from hiermod.result import Fit
    from hiermod.settings import SamplerSettings
    from hiermod.priors import resolve_priors

    return Fit(None, data, spec, resolve_priors(data, spec), "nuts", SamplerSettings(2, 100, 100))


@pytest.mark.parametrize("likelihood,pooling,parameterization", [
    ("binomial", "partial", "non_centered"), ("binomial", "none", "centered"),
    ("normal", "complete", "centered"), ("student_t", "partial", "centered"),
    ("normal", "partial", "non_centered"), ("poisson", "partial", "non_centered"),
])
def test_scripts_parse_for_every_structure(likelihood, pooling, parameterization, tmp_path):
    from hiermod.data import ColumnMap, load_data
    from hiermod.datasets import dataset_path
    from hiermod.spec import ModelSpec

    if likelihood == "binomial":
        data = load_data(dataset_path("surgical"), ColumnMap("hospital", "deaths", "binomial", trials="operations"))
        covariates = ()
    elif likelihood == "poisson":
        path = tmp_path / "counts.csv"
        pd.DataFrame({"ward": list("aabbcc"), "events": [1, 3, 0, 2, 5, 4], "exposure": [1.0, 2, 1, 1, 3, 2],
                      "x": [0.1, 0.5, -0.2, 0.3, 1.0, 0.7]}).to_csv(path, index=False)
        data = load_data(path, ColumnMap("ward", "events", "poisson", exposure="exposure", covariates=("x",)))
        covariates = ("x",)
    else:
        data = load_data(dataset_path("radon"), ColumnMap("county", "log_radon", "gaussian", covariates=("floor",)))
        covariates = ("floor",)
    spec = ModelSpec(likelihood, pooling, parameterization, covariates=covariates)
    stand_in = _stand_in_fit(data, spec)
    for flavour in ("hiermod", "numpyro"):
        script = export.reproduction_script(stand_in, "data.csv", flavour=flavour)
        compile(script, f"reproduce_{flavour}.py", "exec")
    npy = export.reproduction_script(stand_in, "data.csv", flavour="numpyro")
    assert ("theta_decentered" in npy) == (pooling == "partial" and parameterization == "non_centered")
    assert ("beta" in npy) == bool(covariates)


def test_numpyro_script_binomial_agrees_with_hiermod(tmp_path):
    """The plain-NumPyro script for a binomial partial-pooling model gives hiermod's posterior means."""
    from hiermod.datasets import dataset_path, load_dataset
    from hiermod.diagnostics import summary_table
    from hiermod.fitting import fit
    from hiermod.spec import ModelSpec

    from synthetic import QUICK

    result = fit(load_dataset("surgical"), ModelSpec("binomial"), **QUICK)
    script = export.reproduction_script(result, str(dataset_path("surgical")), flavour="numpyro")
    table = _run_script(script, tmp_path, "reproduce_surgical.py", "--quick")
    ours = summary_table(result)
    for name in ["mu", "tau"] + [f"theta[{label}]" for label in result.data.labels]:
        a, b = table.loc[name], ours.loc[name]
        bound = 4 * math.sqrt(a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2)
        assert abs(a["mean"] - b["mean"]) < bound, (name, a["mean"], b["mean"], bound)
