"""Checks, comparison and export for nested levels, varying slopes and Beta/Gamma populations:
variance shares per level, new groups per level, LOO between structures, PPC per level, netCDF
dims, summary CSV names and the reproduction scripts of every structure."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hiermod import export
from hiermod.compare import (compare_structures, loo_comparability, loo_table, new_group_draws,
                             predict_new_group_levels, ppc_table, structure_alternatives,
                             variance_decomposition, variance_draws)
from hiermod.datasets import dataset_path, load_dataset
from hiermod.errors import SpecError
from hiermod.spec import ModelSpec

SMALL = dict(chains=2, warmup=200, draws=200, seed=3)
ROOT = Path(__file__).resolve().parent.parent


def _fit(data, spec):
    from hiermod.fitting import fit

    return fit(data, spec, **SMALL)


@pytest.fixture(scope="session")
def nested_fit():
    return _fit(load_dataset("simulated_nested"), ModelSpec("normal", groups=("school", "class")))


@pytest.fixture(scope="session")
def slopes_fit():
    return _fit(load_dataset("simulated_slopes"), ModelSpec("normal", slopes=("hours",)))


@pytest.fixture(scope="session")
def beta_fit():
    return _fit(load_dataset("rat_tumors"), ModelSpec("binomial", population="beta"))


@pytest.fixture(scope="session")
def gamma_fit():
    return _fit(load_dataset("simulated_rates"), ModelSpec("poisson", population="gamma"))


# ------------------------------------------------------------------------------- variance


def test_nested_variance_shares_sum_to_one_per_draw(nested_fit):
    parts, _ = variance_draws(nested_fit)
    assert list(parts) == ["between_school", "between_class", "within"]
    np.testing.assert_allclose(parts["between_school"], nested_fit.draws("tau_school") ** 2)
    np.testing.assert_allclose(parts["between_class"], nested_fit.draws("tau_class") ** 2)
    np.testing.assert_allclose(parts["within"], nested_fit.draws("sigma") ** 2)
    total = sum(parts.values())
    shares = [parts[k] / total for k in parts]
    np.testing.assert_allclose(sum(shares), 1.0)
    table = variance_decomposition(nested_fit)
    assert {"share_school", "share_class", "share_within", "share_between"} <= set(table.index)
    means = table.loc[["share_school", "share_class", "share_within"], "mean"]
    assert means.sum() == pytest.approx(1.0)
    assert table.loc["share_between", "mean"] == pytest.approx(1 - table.loc["share_within", "mean"])
    assert table.loc["share_school", "mean"] == pytest.approx(np.mean(shares[0]))
    assert table.attrs["levels"] == ("school", "class")
    for row in table.index:
        assert table.loc[row, "low"] <= table.loc[row, "mean"] <= table.loc[row, "high"]


def test_slopes_variance_at_mean_x_by_hand(slopes_fit):
    parts, notes = variance_draws(slopes_fit)
    data = slopes_fit.data
    xbar = float(np.mean(np.asarray(data.X)[:, list(data.covariate_names).index("hours")]))
    tau, tau_x, rho = (slopes_fit.draws(n) for n in ("tau", "tau_hours", "rho_hours"))
    by_hand = tau**2 + 2 * rho * tau * tau_x * xbar + tau_x**2 * xbar**2
    np.testing.assert_allclose(parts["between"], by_hand, rtol=1e-5)
    assert "mean" in notes["between"] and "hours" in notes["between"]


def test_beta_population_share_is_beta_binomial_icc(beta_fit):
    parts, _ = variance_draws(beta_fit)
    a, b = beta_fit.draws("alpha"), beta_fit.draws("beta")
    np.testing.assert_allclose(parts["between"], a * b / ((a + b) ** 2 * (a + b + 1)), rtol=1e-6)
    share = parts["between"] / (parts["between"] + parts["within"])
    np.testing.assert_allclose(share, 1 / (a + b + 1), rtol=1e-5)
    table = variance_decomposition(beta_fit)
    assert table.loc["share_between", "mean"] == pytest.approx(np.mean(1 / (a + b + 1)), rel=1e-5)


def test_gamma_population_share(gamma_fit):
    parts, _ = variance_draws(gamma_fit)
    a, b = gamma_fit.draws("alpha"), gamma_fit.draws("beta")
    E = float(np.mean(gamma_fit.data.exposure))
    np.testing.assert_allclose(parts["between"], E**2 * a / b**2, rtol=1e-6)
    share = parts["between"] / (parts["between"] + parts["within"])
    np.testing.assert_allclose(share, E / (E + b), rtol=1e-5)


# ------------------------------------------------------------------------------ new group


def test_new_class_in_school_centres_on_the_school(nested_fit):
    table = predict_new_group_levels(nested_fit, parents={"school": "B"})
    assert list(dict.fromkeys(table["scenario"])) == ["new school", "new class in school B"]
    in_b = table[table["scenario"] == "new class in school B"].set_index("quantity")
    school_b = nested_fit.draws("theta_school")[:, nested_fit.data.levels[0].labels.index("B")]
    n = school_b.shape[0]
    sd = math.sqrt(np.mean(nested_fit.draws("tau_class") ** 2) + school_b.var())
    assert abs(in_b.loc["theta_new", "mean"] - school_b.mean()) < 4 * sd / math.sqrt(n)
    new_school = table[table["scenario"] == "new school"].set_index("quantity")
    assert {"theta_school_new", "theta_new", "y_new"} <= set(new_school.index)
    mu = nested_fit.draws("mu")
    assert abs(new_school.loc["theta_school_new", "mean"] - mu.mean()) < 4 * math.sqrt(
        np.mean(nested_fit.draws("tau_school") ** 2) + mu.var()) / math.sqrt(n)
    # the new school is wider than a new class in a known school
    width = lambda t: t.loc["theta_new", "high"] - t.loc["theta_new", "low"]  # noqa: E731
    assert width(new_school) > width(in_b)
    with pytest.raises(SpecError):
        predict_new_group_levels(nested_fit, parents={"school": "no such school"})


def test_new_group_of_slopes_model_has_a_slope(slopes_fit):
    draws = new_group_draws(slopes_fit, seed=1)
    assert {"theta_new", "slope_hours_new", "y_new"} <= set(draws)
    beta = slopes_fit.draws("beta")[:, 0]
    n = beta.shape[0]
    sd = math.sqrt(np.mean(slopes_fit.draws("tau_hours") ** 2) + beta.var())
    assert abs(draws["slope_hours_new"].mean() - beta.mean()) < 4 * sd / math.sqrt(n)


def test_new_group_of_beta_population(beta_fit):
    draws = new_group_draws(beta_fit, seed=2)
    a, b = beta_fit.draws("alpha"), beta_fit.draws("beta")
    p = draws["response_new"]
    assert np.all((p > 0) & (p < 1))
    assert abs(p.mean() - np.mean(a / (a + b))) < 4 * p.std() / math.sqrt(p.size)
    np.testing.assert_allclose(draws["theta_new"], np.log(p) - np.log1p(-p), rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------------------------- PPC


def test_ppc_per_level(nested_fit):
    inner = ppc_table(nested_fit)
    assert len(inner) == nested_fit.data.n_groups and inner.attrs["level"] == "class"
    outer = ppc_table(nested_fit, level="school")
    data = nested_fit.data
    schools = data.levels[0].labels
    assert list(outer["group"]) == list(schools) and outer.attrs["level"] == "school"
    idx = data.level_idx(0)
    expected = [np.mean(np.asarray(data.y)[idx == j]) for j in range(len(schools))]
    np.testing.assert_allclose(outer["observed"], expected)
    assert outer["n"].sum() == data.n_rows
    pd.testing.assert_frame_equal(ppc_table(nested_fit, level=0), outer)
    with pytest.raises(SpecError):
        ppc_table(nested_fit, level="county")


# ------------------------------------------------------------------ LOO between structures


def test_structure_alternatives():
    nested = ModelSpec("normal", groups=("school", "class"))
    alt = structure_alternatives(nested)
    assert list(alt) == ["one level (class)", "all levels (school > class)"]
    assert alt["one level (class)"].groups == ("class",)
    slopes = ModelSpec("normal", slopes=("hours",))
    alt = structure_alternatives(slopes)
    assert alt["common slope"].slopes == () and alt["common slope"].covariates == ("hours",)
    alt = structure_alternatives(ModelSpec("binomial", population="beta"))
    assert [s.population.value for s in alt.values()] == ["normal", "beta"]
    assert structure_alternatives(ModelSpec("normal")) == {}


def test_loo_between_one_and_two_levels(nested_fit):
    specs = structure_alternatives(nested_fit.spec)
    one = next(iter(specs))
    fits = compare_structures(load_dataset("simulated_nested"), {one: specs[one]}, **SMALL)
    fits["two levels"] = nested_fit
    assert loo_comparability(fits) == ""
    table = loo_table(fits)
    assert set(table.index) == {one, "two levels"}
    assert (table["n_points"] == nested_fit.data.n_rows).all()
    assert fits[one].data.labels == nested_fit.data.labels  # same classes, as paths


def test_loo_refuses_different_data(nested_fit, slopes_fit):
    reason = loo_comparability({"a": nested_fit, "b": slopes_fit})
    assert "rows" in reason
    with pytest.raises(SpecError, match="same observations"):
        loo_table({"a": nested_fit, "b": slopes_fit})


# --------------------------------------------------------------------------------- export


def test_netcdf_has_a_dimension_per_level(nested_fit, tmp_path):
    import arviz as az

    path = export.write_netcdf(nested_fit, tmp_path / "nested.nc")
    idata = az.from_netcdf(path)
    post = idata.posterior
    assert post["theta_school"].dims[-1] == "school" and post["theta_class"].dims[-1] == "class"
    assert list(post["school"].values) == list(nested_fit.data.levels[0].labels)
    classes = list(post["class"].values)
    assert classes == list(nested_fit.data.labels) and all("/" in c for c in classes)


def test_summary_csv_names_for_every_structure(nested_fit, slopes_fit, beta_fit):
    import io

    for fit, names in ((nested_fit, ["theta_class[A/1]", "theta_school[A]", "tau_class", "tau_school"]),
                       (slopes_fit, ["slope_hours[S01]", "beta[hours]", "rho_hours", "tau_hours"]),
                       (beta_fit, ["p[3]", "alpha", "beta"])):
        frame = pd.read_csv(io.StringIO(export.summary_csv(fit)), dtype={"label": str})
        params = list(frame["parameter"])
        for name in names:
            assert name in params, (name, params[:10])
        assert not any("decentered" in p or p.startswith("corr_cholesky") for p in params)
        row = frame[frame["parameter"] == names[0]].iloc[0]
        assert row["variable"] + "[" + row["label"] + "]" == names[0]


@pytest.mark.parametrize("name,expected", [
    ("theta_school[A]", ("theta_school", "A")), ("theta_class[A/1]", ("theta_class", "A/1")),
    ("beta[x]", ("beta", "x")), ("theta[a[1]]", ("theta", "a[1]")), ("mu", ("mu", "")),
    ("theta[x]y]", ("theta", "x]y")),
])
def test_split_name(name, expected):
    assert export._split_name(name) == expected


# ------------------------------------------------------------------------ reproduction scripts


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def _run(script: str, tmp_path: Path, name: str) -> pd.DataFrame:
    path = tmp_path / name
    path.write_text(script, encoding="utf-8")
    out = tmp_path / (name + ".csv")
    proc = subprocess.run([sys.executable, str(path), "--quick", "--summary-csv", str(out)], cwd=tmp_path,
                          env=_env(), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "differ" not in proc.stderr, proc.stderr[-2000:]
    return pd.read_csv(out, index_col=0)


def _agree(table: pd.DataFrame, fit, k: float = 5.0) -> None:
    from hiermod.diagnostics import summary_table

    ours = summary_table(fit, var_names=export._summary_vars(fit))
    missing = [n for n in ours.index if n not in table.index]
    assert not missing, missing[:10]
    bad = []
    for name in ours.index:
        a, b = table.loc[name], ours.loc[name]
        bound = k * math.sqrt(a["mcse_mean"] ** 2 + b["mcse_mean"] ** 2) + 1e-9
        if abs(a["mean"] - b["mean"]) > bound:
            bad.append((name, a["mean"], b["mean"], bound))
    # a handful of 5-MCSE misses among ~100 parameters of short chains would still be suspicious
    assert len(bad) <= max(1, len(ours) // 50), bad[:5]


@pytest.mark.parametrize("which,dataset", [("nested_fit", "simulated_nested"), ("slopes_fit", "simulated_slopes"),
                                           ("beta_fit", "rat_tumors"), ("gamma_fit", "simulated_rates")])
def test_numpyro_script_agrees_with_hiermod(which, dataset, request, tmp_path):
    fit = request.getfixturevalue(which)
    script = export.reproduction_script(fit, str(dataset_path(dataset)), flavour="numpyro")
    _agree(_run(script, tmp_path, f"refit_{which}.py"), fit)


def test_hiermod_script_nested_uses_the_grouping_columns(nested_fit, tmp_path):
    script = export.reproduction_script(nested_fit, str(dataset_path("simulated_nested")), flavour="hiermod")
    assert "outer_groups=('school', )" in script and "groups=('school', 'class', )" in script
    _agree(_run(script, tmp_path, "refit_nested_hiermod.py"), nested_fit)


def _three_level_data(tmp_path: Path):
    """district > school > class, gaussian scores with a covariate, written to CSV."""
    from hiermod.data import ColumnMap, load_data

    rng = np.random.default_rng(5)
    rows = []
    for d in range(3):
        for s in range(3):
            for c in range(2):
                effect = rng.normal(0, 1) + rng.normal(0, 0.7) + rng.normal(0, 0.5)
                for _ in range(5):
                    x = rng.normal()
                    rows.append({"district": f"D{d}", "school": f"S{s}", "class": str(c + 1),
                                 "x": x, "score": 10 + effect + 0.5 * x + rng.normal()})
    path = tmp_path / "three.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    columns = ColumnMap("class", "score", "gaussian", covariates=("x",), outer_groups=("district", "school"))
    return path, load_data(path, columns)


def _stand_in(data, spec):
    from hiermod.priors import resolve_priors
    from hiermod.result import Fit
    from hiermod.settings import SamplerSettings

    return Fit(None, data.for_groups(spec.groups), spec, resolve_priors(data.for_groups(spec.groups), spec),
               "nuts", SamplerSettings(2, 100, 100))


def _script_trace(script: str, path: Path) -> dict:
    """Run the script's model once under a seed: {site: shape}, and its level labels."""
    import numpyro

    namespace: dict = {"__name__": "refit_under_test", "__file__": str(path)}
    exec(compile(script, "refit.py", "exec"), namespace)  # noqa: S102 - our own generated code
    arrays, levels = namespace["load"](path)
    with numpyro.handlers.seed(rng_seed=0):
        trace = numpyro.handlers.trace(namespace["model"]).get_trace(**arrays)
    return {k: tuple(v["value"].shape) for k, v in trace.items() if v["type"] in ("sample", "deterministic")}, levels


def _hiermod_trace(data, spec) -> dict:
    import numpyro

    from hiermod.models import prepare

    model, inputs, _, _ = prepare(data, spec, aggregate=False)
    with numpyro.handlers.seed(rng_seed=0):
        trace = numpyro.handlers.trace(model).get_trace(**inputs)
    return {k: tuple(v["value"].shape) for k, v in trace.items() if v["type"] in ("sample", "deterministic")}


@pytest.mark.parametrize("spec", [
    ModelSpec("normal", groups=("district", "school", "class"), covariates=("x",),
              level_parameterizations=("centered", "non_centered", "centered")),
    ModelSpec("normal", groups=("district", "school", "class"),
              level_parameterizations=("non_centered", "centered", "non_centered"),
              priors={"tau_school": "HalfNormal(2) T(, 5)", "mu": "Normal(10, 5) T(0, 30)"}),
    ModelSpec("normal", groups=("district", "school", "class"), slopes=("x",), slope_correlation="none",
              parameterization="centered"),
    ModelSpec("normal", groups=("district", "school", "class"), slopes=("x",), priors={"rho": "LKJ(3)"}),
    ModelSpec("student_t", groups=("district", "school", "class"), pooling="complete"),
    ModelSpec("normal", groups=("district", "school", "class"), pooling="none", covariates=("x",)),
    ModelSpec("normal", groups=("class",), covariates=("x",), population="student_t"),
    ModelSpec("student_t", groups=("class",), population="student_t", parameterization="centered"),
], ids=["3-levels-cov", "3-levels-bounded", "slopes-none-centered", "slopes-lkj", "complete", "none",
        "student-t-population", "student-t-population-centered"])
def test_numpyro_script_sites_match_hiermod(spec, tmp_path):
    """Every structure: the script's model has hiermod's sample and deterministic sites with the
    same shapes (the numbers are checked against hiermod's fits above)."""
    path, data = _three_level_data(tmp_path)
    stand_in = _stand_in(data, spec)
    script = export.reproduction_script(stand_in, str(path), flavour="numpyro")
    hm = export.reproduction_script(stand_in, str(path), flavour="hiermod")
    compile(hm, "refit_hiermod.py", "exec")
    assert "outer_groups=" in hm
    ours, levels = _script_trace(script, path)
    theirs = _hiermod_trace(data, spec)
    theirs.pop("theta_decentered_base", None)
    assert levels[-1] == list(stand_in.data.labels)
    assert {k: v for k, v in ours.items()} == theirs


@pytest.mark.parametrize("groups", [("school", "class"), ("district", "class"), ("school",), ("class",)])
def test_numpyro_script_for_a_subset_of_the_levels(groups, tmp_path):
    path, data = _three_level_data(tmp_path)
    stand_in = _stand_in(data, ModelSpec("normal", groups=groups))
    _, levels = _script_trace(export.reproduction_script(stand_in, str(path), flavour="numpyro"), path)
    assert levels[-1] == list(stand_in.data.labels)
