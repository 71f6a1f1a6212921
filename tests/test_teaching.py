"""hiermod.teaching: Efron-Morris held-out comparison, known-truth coverage, the pooling weight.

Posterior draws are made by hand (a small stand-in for a Fit with chosen draws) where the test
needs exact control; the weight example uses a real exact fit of eight schools (instant).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from hiermod import teaching
from hiermod.datasets import dataset_path, load_dataset, simulated_truth
from hiermod.errors import DataError, SpecError
from hiermod.spec import ModelSpec


class FakeFit:
    """What the teaching functions read from a Fit: data, spec, idata.posterior, draws()."""

    def __init__(self, data, spec, draws: dict[str, np.ndarray]):
        self.data, self.spec, self._draws = data, spec, draws
        self.idata = SimpleNamespace(posterior=dict.fromkeys(draws))
        self.labels = data.labels

    def draws(self, name):
        return self._draws[name]


@pytest.fixture(scope="module")
def baseball():
    return load_dataset("efron_morris")


@pytest.fixture(scope="module")
def baseball_frame():
    return pd.read_csv(dataset_path("efron_morris"))


def _p_draws(values, n=400, spread=0.01, seed=0):
    rng = np.random.default_rng(seed)
    values = np.asarray(values, float)
    return values[None, :] + spread * rng.standard_normal((n, values.size))


def test_holdout_table_columns_and_values(baseball, baseball_frame):
    spec = ModelSpec("binomial", "partial")
    pooled = baseball_frame["hits"].sum() / baseball_frame["at_bats"].sum()
    fit = FakeFit(baseball, spec, {"p": _p_draws(np.full(baseball.n_groups, pooled))})
    t = teaching.holdout_table(fit)
    assert list(t["group"]) == list(baseball.labels)
    frame = baseball_frame.set_index("player").loc[list(baseball.labels)]
    np.testing.assert_allclose(t["first"], frame["hits"] / frame["at_bats"])
    np.testing.assert_allclose(t["holdout"], frame["remaining_hits"] / frame["remaining_at_bats"])
    np.testing.assert_allclose(t["complete_pooling"], pooled)
    np.testing.assert_allclose(t["sq_error_no_pooling"], (t["first"] - t["holdout"]) ** 2)
    assert (t["low"] <= t["estimate"]).all() and (t["estimate"] <= t["high"]).all()
    # the published story: the early averages forecast the rest of the season badly
    errors = teaching.holdout_errors(t)
    assert errors.loc["no_pooling", "total_squared_error"] == pytest.approx(0.0857, abs=5e-4)
    assert errors.loc["complete", "total_squared_error"] == pytest.approx(0.0284, abs=5e-4)
    assert errors.loc["no_pooling", "relative_to_no_pooling"] == pytest.approx(1.0)


def test_holdout_errors_conclusion_follows_the_numbers(baseball, baseball_frame):
    spec = ModelSpec("binomial", "partial")
    frame = baseball_frame.set_index("player").loc[list(baseball.labels)]
    truth = (frame["remaining_hits"] / frame["remaining_at_bats"]).to_numpy()
    # an oracle "shrunk" estimate equal to the later average wins
    t = teaching.holdout_table(FakeFit(baseball, spec, {"p": _p_draws(truth, spread=1e-6)}))
    errors = teaching.holdout_errors(t)
    assert errors.index[0] == "partial" == errors.attrs["best"]
    assert errors.loc["partial", "total_squared_error"] < 1e-9
    text = errors.attrs["conclusion"]
    assert text.startswith("Partial pooling") and "18 of 18 players" in text
    assert f"{errors.loc['no_pooling', 'total_squared_error']:.4f}" in text
    # an estimate equal to the early average ties with no pooling: nobody is "closer"
    first = (frame["hits"] / frame["at_bats"]).to_numpy()
    t2 = teaching.holdout_table(FakeFit(baseball, spec, {"p": _p_draws(first, spread=0.0)}))
    e2 = teaching.holdout_errors(t2)
    assert e2.loc["partial", "groups_closer_than_own"] == 0
    assert e2.attrs["best"] == "complete"


def test_holdout_table_from_theta_and_bad_inputs(baseball, baseball_frame, eight_schools):
    spec = ModelSpec("binomial", "partial")
    theta = np.log(0.25 / 0.75) + np.zeros((100, baseball.n_groups))
    t = teaching.holdout_table(FakeFit(baseball, spec, {"theta": theta}))
    np.testing.assert_allclose(t["estimate"], 0.25)
    with pytest.raises(DataError, match="remaining_hits"):
        teaching.holdout_table(FakeFit(baseball, spec, {"theta": theta}),
                               frame=baseball_frame.drop(columns=["remaining_hits"]))
    with pytest.raises(DataError, match="No held-out values"):
        teaching.holdout_table(FakeFit(baseball, spec, {"theta": theta}), frame=baseball_frame.iloc[:5])
    summary_fit = FakeFit(eight_schools, ModelSpec("normal_known_se", "partial"),
                          {"theta": np.zeros((10, 8))})
    with pytest.raises(SpecError, match="binomial"):
        teaching.holdout_table(summary_fit)


def test_truth_table_and_summary():
    data = load_dataset("simulated_schools")
    truth = simulated_truth()
    true = np.array([truth["theta"][g] for g in data.labels])
    rng = np.random.default_rng(1)
    draws = true[None, :] + rng.standard_normal((2000, data.n_groups))
    draws[:, 0] += 10.0  # one school's interval misses its truth
    fit = FakeFit(data, ModelSpec("normal", "partial"), {"theta": draws})
    t = teaching.truth_table(fit)
    assert list(t["group"]) == list(data.labels)
    np.testing.assert_allclose(t["truth"], true)
    assert not t.loc[0, "inside"] and t.loc[1:, "inside"].all()
    s = teaching.truth_summary(t)
    assert (s["n_inside"], s["n_groups"]) == (data.n_groups - 1, data.n_groups)
    assert f"{data.n_groups - 1} of {data.n_groups} true effects" in s["message"]
    assert s["rmse_estimate"] == pytest.approx(np.sqrt(np.mean(t["error_estimate"] ** 2)))
    long = teaching.truth_forest_table(t)
    assert set(long["model"]) == {"truth", "none", "partial"} and len(long) == 3 * data.n_groups
    with pytest.raises(DataError, match="true value"):
        teaching.truth_table(fit, truth={"S01": 1.0})


def test_weight_example_matches_the_formula(eight_schools):
    from hiermod.fitting import fit

    spec = ModelSpec("normal_known_se", "partial", priors={"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"})
    f = fit(eight_schools, spec, method="exact", chains=2, warmup=100, draws=500)
    ex = teaching.weight_example(f)
    se = np.asarray(eight_schools.se, float)
    assert ex["group"] == eight_schools.labels[int(np.argmax(se))]
    tau = float(np.mean(f.draws("tau")))
    prec = 1 / ex["se"] ** 2
    assert ex["tau"] == pytest.approx(tau)
    assert ex["weight"] == pytest.approx(prec / (prec + 1 / tau**2))
    assert ex["blend"] == pytest.approx(ex["weight"] * ex["own"] + (1 - ex["weight"]) * ex["pooled"])
    assert any(f"{ex['weight']:.2f}" in s for s in ex["sentences"])
    a = teaching.weight_example(f, "A")
    assert a["group"] == "A" and a["own"] == pytest.approx(28.0)
    with pytest.raises(DataError):
        teaching.weight_example(f, "nope")
    none = teaching.weight_example(fit(eight_schools, spec.replace(pooling="none"), method="exact",
                                       chains=2, warmup=100, draws=200))
    assert none["weight"] == 1.0 and "No pooling" in none["sentences"][0]
