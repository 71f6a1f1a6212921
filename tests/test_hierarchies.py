"""NUTS fits of the new hierarchies against references we did not sample: posteriors on a grid
over the hyperparameters with everything else integrated in closed form (hiermod.hyper_grid),
compared by Monte Carlo standard errors; and simulated data with known truth (coverage of 90%
intervals within a binomial band).

The z-scores are printed (pytest -s) for the closing note: z = (NUTS mean - grid mean) / MCSE.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import hiermod
from hiermod import hyper_grid
from hiermod.datasets import load_dataset
from hiermod.spec import ModelSpec

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = dict(chains=4, warmup=700, draws=1000, seed=11)
Z_MAX = 4.0  # |NUTS mean - grid mean| / MCSE; every parameter, so a false alarm is ~1e-4 per parameter


def _summary(fit):
    import arviz as az

    return az.summary(fit.idata, kind="all", round_to="none")


def _agree(fit, grid, names: dict[str, str]) -> dict[str, float]:
    """Largest |z| per hiermod parameter name (z = (NUTS mean - grid mean) / MCSE), asserted < Z_MAX."""
    table = _summary(fit)
    worst = {}
    for ours, theirs in names.items():
        rows = table.loc[[i for i in table.index if i == ours or i.startswith(ours + "[")]]
        expected = np.atleast_1d(grid.mean(theirs))
        assert len(rows) == len(expected), (ours, len(rows), len(expected))
        z = (rows["mean"].to_numpy() - expected) / rows["mcse_mean"].to_numpy()
        worst[ours] = float(np.max(np.abs(z)))
        assert worst[ours] < Z_MAX, f"{ours}: z = {np.round(z, 2)}"
    print({k: round(v, 2) for k, v in worst.items()})
    return worst


def _levels(data):
    parents = [None] + [level.parent for level in data.levels[1:]]
    return parents


@pytest.fixture(scope="module")
def nested():
    return load_dataset("simulated_nested")


@pytest.fixture(scope="module")
def nested_fit(nested):
    spec = ModelSpec("normal", groups=nested.group_columns)
    return hiermod.fit(nested, spec, **SETTINGS)


def test_nested_gaussian_agrees_with_the_grid_posterior(nested, nested_fit):
    fit = nested_fit
    priors = {"mu": fit.priors["mu"], "sigma": fit.priors["sigma"]}
    priors |= {f"tau_{c}": fit.priors[f"tau_{c}"] for c in nested.group_columns}
    grid = hyper_grid.nested_normal(nested.y, nested.group_idx, _levels(nested), priors,
                                    level_names=nested.group_columns)
    names = {"mu": "mu", "sigma": "sigma"}
    for c in nested.group_columns:
        names |= {f"tau_{c}": f"tau_{c}", f"theta_{c}": f"theta_{c}"}
    _agree(fit, grid, names)


@pytest.mark.parametrize("levels", [("centered", "non_centered"), ("non_centered", "centered")])
def test_nested_parameterizations_agree_with_the_grid(nested, levels):
    spec = ModelSpec("normal", groups=nested.group_columns, level_parameterizations=levels)
    fit = hiermod.fit(nested, spec, **SETTINGS)
    priors = {k: fit.priors[k] for k in ("mu", "sigma", "tau_school", "tau_class")}
    grid = hyper_grid.nested_normal(nested.y, nested.group_idx, _levels(nested), priors,
                                    level_names=nested.group_columns)
    _agree(fit, grid, {k: k for k in ("mu", "sigma", "tau_school", "tau_class", "theta_school")})


@pytest.fixture(scope="module")
def slopes():
    return load_dataset("simulated_slopes")


@pytest.fixture(scope="module")
def slopes_fit(slopes):
    return hiermod.fit(slopes, ModelSpec("normal", slopes=("hours",)), **SETTINGS)


def _slope_priors(fit):
    p = fit.priors
    return {"mu": p["mu"], "beta": p["beta[hours]"], "tau": p["tau"], "tau_x": p["tau_hours"],
            "sigma": p["sigma"], "rho": p.get("rho")}


def test_varying_slopes_agree_with_the_grid_posterior(slopes, slopes_fit):
    x = slopes.X[:, list(slopes.covariate_names).index("hours")]
    grid = hyper_grid.varying_slopes(slopes.y, x, slopes.group_idx, slopes.n_groups, _slope_priors(slopes_fit))
    _agree(slopes_fit, grid, {"mu": "mu", "tau": "tau", "tau_hours": "tau_x", "rho_hours": "rho",
                              "sigma": "sigma", "theta": "theta", "slope_hours": "slope", "beta": "beta"})


def test_independent_slopes_agree_with_the_grid_posterior(slopes):
    fit = hiermod.fit(slopes, ModelSpec("normal", slopes=("hours",), slope_correlation="none",
                                        parameterization="centered"), **SETTINGS)
    x = slopes.X[:, list(slopes.covariate_names).index("hours")]
    grid = hyper_grid.varying_slopes(slopes.y, x, slopes.group_idx, slopes.n_groups, _slope_priors(fit),
                                     correlated=False)
    assert "rho_hours" not in fit.idata.posterior
    _agree(fit, grid, {"mu": "mu", "tau": "tau", "tau_hours": "tau_x", "sigma": "sigma",
                       "theta": "theta", "slope_hours": "slope"})


def test_beta_binomial_agrees_with_the_grid_posterior():
    data = load_dataset("rat_tumors")
    fit = hiermod.fit(data, ModelSpec("binomial", population="beta"), **SETTINGS)
    grid = hyper_grid.beta_binomial(data.y, data.trials, data.group_idx, data.n_groups,
                                    fit.priors["alpha"], fit.priors["beta"])
    _agree(fit, grid, {"alpha": "alpha", "beta": "beta", "p": "p"})


def test_gamma_poisson_agrees_with_the_grid_posterior():
    data = load_dataset("simulated_rates")
    fit = hiermod.fit(data, ModelSpec("poisson", population="gamma"), **SETTINGS)
    grid = hyper_grid.gamma_poisson(data.y, data.exposure, data.group_idx, data.n_groups,
                                    fit.priors["alpha"], fit.priors["beta"])
    _agree(fit, grid, {"alpha": "alpha", "beta": "beta", "rate": "rate"})


# ------------------------------------------------------------------------------ known truth


def _coverage(fit, name: str, truth: dict, prob: float = 0.9) -> tuple[int, int]:
    """(truths inside the central ``prob`` interval, groups) for the vector parameter ``name``."""
    post = fit.idata.posterior[name]
    dim = post.dims[-1]
    labels = [str(v) for v in post.coords[dim].values]
    draws = post.values.reshape(-1, len(labels))
    lo, hi = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    true = np.array([truth[label] for label in labels])
    return int(np.sum((true >= lo) & (true <= hi))), len(labels)


def _assert_coverage(inside: int, n: int, prob: float = 0.9) -> None:
    """Inside the central 99.9% band of Binomial(n, prob) (90% intervals of group values are not
    independent, so this is a loose check; a model that ignores a level fails it)."""
    lo, hi = stats.binom.ppf([0.0005, 0.9995], n, prob)
    assert lo <= inside <= hi, f"{inside}/{n} true values inside the {prob:.0%} intervals"


def _truth(name: str) -> dict:
    return json.loads((ROOT / "sample_data" / f"{name}_truth.json").read_text())


def test_nested_truth_is_covered(nested_fit):
    truth = _truth("simulated_nested")
    for name in ("theta_school", "theta_class"):
        _assert_coverage(*_coverage(nested_fit, name, truth[name]))


def test_slopes_truth_is_covered(slopes_fit):
    truth = _truth("simulated_slopes")
    for name in ("theta", "slope_hours"):
        _assert_coverage(*_coverage(slopes_fit, name, truth[name]))


def test_rates_truth_is_covered():
    data = load_dataset("simulated_rates")
    fit = hiermod.fit(data, ModelSpec("poisson", population="gamma"), **SETTINGS)
    _assert_coverage(*_coverage(fit, "rate", _truth("simulated_rates")["rate"]))


def test_beta_population_truth_is_covered():
    """Simulated beta-binomial data (60 groups, p_j ~ Beta(4, 12), 30 trials each)."""
    import pandas as pd

    from hiermod.data import ColumnMap, load_data

    rng = np.random.default_rng(5)
    p = rng.beta(4.0, 12.0, size=60)
    frame = pd.DataFrame({"unit": [f"u{j}" for j in range(60)], "y": rng.binomial(30, p), "n": 30})
    data = load_data(frame, ColumnMap(group="unit", y="y", kind="binomial", trials="n"))
    fit = hiermod.fit(data, ModelSpec("binomial", population="beta"), **SETTINGS)
    _assert_coverage(*_coverage(fit, "p", {f"u{j}": p[j] for j in range(60)}))
