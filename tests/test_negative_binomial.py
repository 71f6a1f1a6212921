"""The negative binomial family, added as one registry entry: API, command line and app.

Simulated overdispersed counts with a known dispersion: y_ij ~ NB2(mean e_ij exp(theta_j), phi),
theta_j ~ Normal(mu, tau). The fitted model must put the true phi inside its 90% interval, its log
density must agree with NumPyro's, and its draws must have the NB2 mean and variance.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hiermod import families
from hiermod.data import ColumnMap, load_data
from hiermod.fitting import fit
from hiermod.spec import ModelSpec

ROOT = Path(__file__).resolve().parent.parent
TRUE_PHI, TRUE_MU, TRUE_TAU = 2.0, 1.0, 0.5


def overdispersed_frame(n_groups: int = 30, rows: int = 20, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    theta = TRUE_MU + TRUE_TAU * rng.standard_normal(n_groups)
    g = np.repeat(np.arange(n_groups), rows)
    exposure = rng.uniform(0.5, 2.0, g.size)
    mean = exposure * np.exp(theta[g])
    y = rng.poisson(rng.gamma(TRUE_PHI, mean / TRUE_PHI))
    return pd.DataFrame({"clinic": [f"c{j:02d}" for j in g], "visits": y, "exposure": exposure})


@pytest.fixture(scope="module")
def nb_data():
    return load_data(overdispersed_frame(), ColumnMap("clinic", "visits", "poisson", exposure="exposure"))


def test_registry_entry():
    nb = families.get("negative_binomial")
    assert nb.kind == "poisson" and nb.param_names == ("phi",) and nb.response == "rate"
    assert "negative_binomial" in [f.name for f in families.for_kind("poisson")]
    assert ModelSpec("negative_binomial").prior_names() == ("mu", "tau", "phi")


def test_log_density_matches_scipy_and_numpyro():
    import jax.numpy as jnp
    import numpyro.distributions as dist

    nb = families.get("negative_binomial")
    y = np.array([0.0, 1, 3, 10, 40])
    eta = np.log(np.array([[0.5, 2.0, 3.0, 8.0, 25.0]]))
    rows = {"exposure": np.ones(5)}
    phi = np.array([[1.7]])
    ours = nb.log_likelihood(y, eta.copy(), rows, {"phi": phi})
    m = np.exp(eta)
    expected = stats.nbinom.logpmf(y, 1.7, 1.7 / (1.7 + m))
    np.testing.assert_allclose(ours, expected, rtol=1e-10)
    jax_lp = dist.NegativeBinomial2(jnp.asarray(m), 1.7).log_prob(jnp.asarray(y))
    np.testing.assert_allclose(ours, np.asarray(jax_lp), rtol=1e-4)


def test_draws_have_nb2_mean_and_variance():
    """E y = m, Var y = m + m^2 / phi, within 4 Monte Carlo standard errors."""
    nb = families.get("negative_binomial")
    n, m, phi = 200_000, 6.0, 1.5
    draws = nb.draw(np.full((n, 1), np.log(m)), {"exposure": np.ones(1)}, {"phi": np.full((n, 1), phi)},
                    np.random.default_rng(0)).ravel()
    var = m + m**2 / phi
    assert abs(draws.mean() - m) < 4 * np.sqrt(var / n)
    # se of the sample variance: sqrt((mu4 - var^2) / n), mu4 of NB2 from its cumulants
    k2, k3 = var, m + 3 * m**2 / phi + 2 * m**3 / phi**2
    k4 = m + 7 * m**2 / phi + 12 * m**3 / phi**2 + 6 * m**4 / phi**3
    mu4 = k4 + 3 * k2**2
    assert abs(draws.var() - var) < 4 * np.sqrt((mu4 - var**2) / n)


def test_fit_recovers_the_dispersion(nb_data):
    result = fit(nb_data, ModelSpec("negative_binomial"), chains=2, warmup=500, draws=500, seed=2)
    phi = result.draws("phi")
    low, high = np.quantile(phi, [0.05, 0.95])
    assert low < TRUE_PHI < high, (low, high)
    assert high < 10, "the data are far from Poisson; phi should be clearly finite"
    assert int(result.idata.sample_stats["diverging"].sum()) == 0
    # every downstream table reads the family
    from hiermod.compare import predict_new_group, variance_decomposition

    assert np.isfinite(variance_decomposition(result).loc["share_between", "mean"])
    assert np.isfinite(predict_new_group(result).loc["y_new", "mean"])
    assert result.idata.log_likelihood["y"].shape[-1] == nb_data.n_rows


def test_cli_fits_negative_binomial(tmp_path):
    csv = tmp_path / "clinics.csv"
    overdispersed_frame(n_groups=8, rows=6).to_csv(csv, index=False)
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "hiermod", "fit", str(csv), "--group", "clinic", "--y", "visits",
         "--exposure", "exposure", "--likelihood", "negative_binomial", "--chains", "1",
         "--warmup", "100", "--draws", "100", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["spec"]["likelihood"] == "negative_binomial"
    assert "phi" in json.dumps(summary["parameters"])
    script = (out / "reproduce.py").read_text()
    assert "negative_binomial" in script


def test_app_offers_and_fits_negative_binomial():
    """Upload counts with an exposure, choose the negative binomial on the Model page, fit."""
    from streamlit.testing.v1 import AppTest
    from test_app import _tiny_settings

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.radio(key="w_source").set_value("Upload a CSV").run()
    raw = overdispersed_frame(n_groups=8, rows=6).to_csv(index=False).encode()
    at.get("file_uploader")[0].set_value(("clinics.csv", raw, "text/csv")).run()
    assert not at.exception, at.exception
    assert at.session_state["hm_data"].kind.value == "poisson"
    at.switch_page("pages/2_Model.py").run()
    box = at.selectbox(key="w_likelihood")
    assert "negative_binomial" in box.options or "Negative binomial" in " ".join(map(str, box.options))
    box.set_value("negative_binomial").run()
    assert not at.exception, at.exception
    spec = at.session_state["hm_spec"]
    assert spec.likelihood.value == "negative_binomial" and "phi" in spec.prior_names()
    assert any(s.label == "Prior for phi" for s in at.selectbox)
    _tiny_settings(at)
    at.switch_page("pages/3_Fit.py").run()
    at.button(key="w_fit").click().run()
    assert not at.exception, at.exception
    job = at.session_state["hm_job"]
    assert job is not None and job.wait(timeout=300), "fit did not finish"
    assert job.status == "done", job.error_message
    at.run()
    assert not at.exception, at.exception
    fit_result = at.session_state["hm_fits"][at.session_state["hm_fit_key"]]
    assert "phi" in fit_result.idata.posterior and fit_result.spec.likelihood.value == "negative_binomial"
