"""hiermod.agreement: does a fit agree with the instant posterior of the same data, model and priors?

References we did not write here: the exact method's independent draws (hiermod.exact, itself checked
against posteriordb) calibrate the z-scores; a long NUTS run of eight schools must agree; the same
run with one parameter's draws shifted by 5 Monte Carlo standard errors must be flagged. Each
agreement check fails by chance with probability about 6e-5 per parameter (|z| > 4).
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from pathlib import Path

import arviz as az
import numpy as np
import pytest
from scipy import stats
from streamlit.testing.v1 import AppTest

import hiermod
from hiermod.agreement import COLUMNS, Z_FLAG, agreement
from hiermod.datasets import load_dataset
from hiermod.diagnostics import summary_table
from hiermod.instant import instant_posterior, unavailable_reason
from hiermod.spec import ModelSpec
from synthetic import simulate

PRIORS = {"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"}
APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def schools():
    return load_dataset("eight_schools"), ModelSpec("normal_known_se", pooling="partial", priors=PRIORS)


@pytest.fixture(scope="module")
def nuts_fit(schools):
    data, spec = schools
    return hiermod.fit(data, spec, chains=4, warmup=1000, draws=2000, seed=11)


@pytest.fixture(scope="module")
def nuts_agreement(nuts_fit):
    return agreement(nuts_fit)


def _shifted(fit, name: str, index: int | None, by: float):
    """``fit`` with the draws of ``name`` (or of its element ``index``) shifted by ``by``."""
    idata = fit.idata.copy()
    values = idata.posterior[name].values.copy()
    if index is None:
        values += by
    else:
        values[..., index] += by
    idata.posterior[name] = (idata.posterior[name].dims, values)
    return dataclasses.replace(fit, idata=idata)


def test_long_nuts_run_of_eight_schools_agrees(nuts_fit, nuts_agreement):
    a = nuts_agreement
    assert a.available and a.exact is True
    assert sorted(a.table.index) == sorted(["mu", "tau"] + [f"theta[{g}]" for g in "ABCDEFGH"])
    assert list(a.table.columns) == COLUMNS
    assert a.agrees, a.table
    assert a.verdict.startswith("NUTS agrees with the instant posterior: all 10 posterior means")
    # the sd ratio is 1 within its own Monte Carlo error
    assert (np.abs(a.table["sd_ratio"] - 1) < Z_FLAG * a.table["sd_ratio_mcse"]).all(), a.table
    # sorted by |z|, and max_abs_z is the first row's
    z = a.table["z"].abs().to_numpy()
    assert (np.diff(z) <= 0).all() and a.max_abs_z == z[0]
    # the grid error is negligible here, so z is the plain difference over the MCSE of the summary
    assert a.grid_error < 1e-3
    summary = summary_table(nuts_fit)
    for p in ("mu", "tau", "theta[C]"):
        expected = (summary.at[p, "mean"] - a.table.at[p, "instant_mean"]) / summary.at[p, "mcse_mean"]
        assert a.table.at[p, "z"] == pytest.approx(expected, rel=1e-3)


def test_instant_means_are_the_grid_integrals_not_draws(schools, nuts_agreement):
    data, spec = schools
    post = instant_posterior(data, spec)
    assert nuts_agreement.table.at["mu", "instant_mean"] == post.mean("mu")
    assert nuts_agreement.table.at["theta[B]", "instant_sd"] == post.sd("theta")[1]


class _CoarseGrid:
    """An instant posterior whose refinement check reports ``error`` posterior sds."""

    def __init__(self, post, error):
        self._post, self._error = post, error

    def __getattr__(self, name):
        return getattr(self._post, name)

    def grid_error(self):
        return self._error


def test_the_instant_means_own_error_is_counted_in_z(schools, nuts_fit, nuts_agreement):
    data, spec = schools
    coarse = agreement(nuts_fit, post=_CoarseGrid(instant_posterior(data, spec), 0.05))
    t, t0 = coarse.table, nuts_agreement.table.loc[coarse.table.index]
    assert coarse.grid_error == 0.05
    assert np.allclose(t["instant_error"], 0.05 * t["instant_sd"])
    assert np.allclose(t["z"], t0["difference"] / np.hypot(t0["mcse"], 0.05 * t0["instant_sd"]))
    assert (t["z"].abs() < t0["z"].abs()).all()


@pytest.mark.parametrize("name, index, row", [("mu", None, "mu"), ("theta", 2, "theta[C]")])
def test_draws_shifted_by_five_mcse_are_flagged(nuts_fit, nuts_agreement, name, index, row):
    before = nuts_agreement.table.at[row, "z"]
    mcse = nuts_agreement.table.at[row, "mcse"]
    away = 1.0 if before >= 0 else -1.0  # away from the instant mean: |z| grows by exactly 5
    a = agreement(_shifted(nuts_fit, name, index, away * 5 * mcse))
    assert a.flagged == [row]
    assert a.agrees is False
    assert a.table.at[row, "z"] == pytest.approx(before + away * 5, abs=1e-3)
    others = a.table.drop(index=row)["z"]
    assert np.allclose(others, nuts_agreement.table.drop(index=row).loc[others.index, "z"])
    # the instant posterior is exact here: the verdict points at the sampler
    assert f"{row} (z = " in a.verdict and "points at the sampler" in a.verdict
    assert "divergences" in a.verdict
    # where it is a Laplace approximation, the disagreement may be the approximation's
    laplace = dataclasses.replace(a, exact=False).verdict
    assert "Laplace approximation" in laplace and "may be the approximation's" in laplace
    assert "points at the sampler" not in laplace


def test_z_of_independent_exact_draws_is_standard_normal(schools):
    """Fits of independent draws from the exact posterior (method="exact", a module we did not write
    here) give z ~ Normal(0, 1) for every parameter: the MCSE is the right scale."""
    data, spec = schools
    post = instant_posterior(data, spec)
    zs = {"mu": [], "tau": [], "theta[A]": []}
    for seed in range(120):
        fit = hiermod.fit(data, spec, method="exact", chains=4, draws=250, seed=seed)
        table = agreement(fit, post=post, grid_error=False).table
        for k in zs:
            zs[k].append(table.at[k, "z"])
    for k, z in zs.items():
        assert stats.kstest(z, "norm").pvalue > 1e-4, (k, np.mean(z), np.std(z))


def test_a_beta_population_agrees():
    data = load_dataset("rat_tumors")
    spec = ModelSpec("binomial", pooling="partial", population="beta")
    fit = hiermod.fit(data, spec, chains=4, warmup=1000, draws=1000, seed=5)
    a = agreement(fit)
    assert a.available and a.exact is True
    assert {"alpha", "beta"} <= set(a.table.index)
    assert sum(i.startswith("p[") for i in a.table.index) == data.n_groups
    # the product flags |z| > 4 per parameter (a user's one look); over these 73 parameters a
    # correct sampler crosses that in about 0.5% of seeds, so the test bounds the family instead:
    # max |z| beyond the 1-in-1000 family-wise value is a real disagreement
    z_family = stats.norm.isf(0.0005 / len(a.table))
    assert a.table["z"].abs().max() < z_family, a.table.loc[a.table["z"].abs().idxmax()]


def test_a_model_the_instant_method_cannot_serve():
    data = simulate("student_t", n_groups=5, rows_per_group=4, seed=2)
    spec = ModelSpec("student_t", pooling="partial")
    reason = unavailable_reason(data, spec)
    assert reason
    fit = hiermod.fit(data, spec, chains=1, warmup=100, draws=100, seed=0)
    a = agreement(fit)
    assert not a.available and a.reason == reason
    assert a.table.empty and a.flagged == [] and a.agrees is None
    assert a.verdict == f"No comparison: {reason}"


# ----------------------------------------------------------------------------- the pages


def _plain(elements) -> list[str]:
    return [str(e.value).replace("\\", "") for e in elements]  # markdown escapes removed


def _app_with(fit) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    key = (fit.data.fingerprint, fit.spec, fit.settings)
    at.session_state["hm_fits"] = OrderedDict({key: fit})
    at.session_state["hm_fit_key"] = key
    at.session_state["hm_data"] = fit.data
    at.session_state["hm_spec"] = fit.spec
    at.session_state["hm_settings"] = fit.settings
    return at


@pytest.mark.parametrize("page", ["pages/3_Fit.py", "pages/5_Funnel_and_diagnostics.py"])
def test_pages_show_the_verdict(nuts_fit, page):
    at = _app_with(nuts_fit)
    at.switch_page(page).run()
    assert not at.exception, at.exception
    texts = _plain(at.markdown) + _plain(at.subheader)
    assert any("Does NUTS agree with the instant posterior?" in t for t in texts)
    assert any("NUTS agrees with the instant posterior" in t for t in _plain(at.success))
    assert len(at.metric) >= 3


def test_pages_flag_a_disagreement(nuts_fit, nuts_agreement):
    mcse = nuts_agreement.table.at["mu", "mcse"]
    shifted = _shifted(nuts_fit, "mu", None, 8 * mcse)
    # another seed: another cache key than the unshifted fit's (the pages cache by fit key)
    shifted = dataclasses.replace(shifted, settings=dataclasses.replace(shifted.settings, seed=12345))
    at = _app_with(shifted)
    at.switch_page("pages/5_Funnel_and_diagnostics.py").run()
    assert not at.exception, at.exception
    assert any("NUTS disagrees with the instant posterior" in t and "mu (z = " in t for t in _plain(at.warning))


def test_pages_say_when_there_is_nothing_to_compare():
    data = simulate("student_t", n_groups=5, rows_per_group=4, seed=2)
    fit = hiermod.fit(data, ModelSpec("student_t", pooling="partial"), chains=1, warmup=100, draws=100, seed=0)
    at = _app_with(fit)
    at.switch_page("pages/5_Funnel_and_diagnostics.py").run()
    assert not at.exception, at.exception
    assert any("The instant method cannot serve this model" in t for t in _plain(at.info))
    assert not any("agrees with the instant" in t for t in _plain(at.success))
