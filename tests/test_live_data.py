"""hiermod.live_data: the per-group what-if table and the grouped data rebuilt from it.

References: the loader itself (an edited CSV read by ``load_data`` must give the same data as the
rebuilt one: equal fingerprints), per-group statistics computed here with pandas from the sample
CSVs, the normal log-likelihood's sufficient-statistic identity, and the instant posterior of the
loader's data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hiermod.data import ColumnMap, load_data
from hiermod.datasets import dataset_path, load_dataset
from hiermod.errors import DataError
from hiermod.instant import instant_posterior
from hiermod.live_data import changed_groups, edit_report, editor_for, group_table, rebuild, recompute
from hiermod.spec import ModelSpec
from synthetic import simulate


@pytest.fixture(scope="module")
def schools():
    return load_dataset("eight_schools")


@pytest.fixture(scope="module")
def radon():
    return load_dataset("radon")


def _frame(name: str) -> pd.DataFrame:
    return pd.read_csv(dataset_path(name))


# ------------------------------------------------------------------------------ the table


def test_summary_table_is_each_groups_estimate_and_se(schools):
    t = group_table(schools)
    raw = _frame("eight_schools")
    assert editor_for(schools).name == "measurement"
    assert list(t.columns) == ["group", "y", "se"]
    assert list(t["group"]) == list(raw["school"].astype(str))
    np.testing.assert_array_equal(t["y"], raw["effect"])
    np.testing.assert_array_equal(t["se"], raw["se"])
    assert editor_for(schools).labels == {"y": "effect", "se": "se"}


def test_gaussian_table_matches_pandas_groupby(radon):
    t = group_table(radon).set_index("group")
    raw = _frame("radon")
    ref = raw.groupby(raw["county"].astype(str).str.strip())["log_radon"].agg(["size", "mean", "std"])
    ref = ref.loc[t.index]
    np.testing.assert_array_equal(t["n"], ref["size"])
    np.testing.assert_allclose(t["mean"], ref["mean"], rtol=1e-12)
    np.testing.assert_allclose(t["sd"], ref["std"], rtol=1e-10)  # NaN for one-row counties on both sides
    np.testing.assert_allclose(t["se"], ref["std"] / np.sqrt(ref["size"]), rtol=1e-10)
    assert (t["n"] == 1).any() and t.loc[t["n"] == 1, "sd"].isna().all()


def test_count_tables_sum_each_groups_rows():
    rats = load_dataset("rat_tumors")
    t = group_table(rats)
    raw = _frame("rat_tumors")
    assert editor_for(rats).name == "counts" and list(t.columns) == ["group", "y", "trials", "estimate"]
    np.testing.assert_array_equal(t["y"], raw["tumors"])
    np.testing.assert_array_equal(t["trials"], raw["rats"])
    sim = simulate("poisson", n_groups=4, rows_per_group=5, seed=3)
    tp = group_table(sim)
    assert list(tp.columns) == ["group", "y", "exposure", "estimate"]
    for j, g in enumerate(sim.labels):
        rows = sim.group_idx == j
        assert tp["y"][j] == sim.y[rows].sum()
        assert tp["exposure"][j] == pytest.approx(sim.exposure[rows].sum())


# -------------------------------------------------------------------------- rebuilding


def test_no_edit_gives_the_same_data(schools, radon):
    for data in (schools, radon, load_dataset("rat_tumors"), load_dataset("simulated_nested")):
        assert rebuild(data, group_table(data)) is data
        assert changed_groups(data, group_table(data)) == []


def test_summary_edit_equals_loading_the_edited_csv(schools):
    t = group_table(schools)
    t.loc[t["group"] == "A", "y"] = 56.0
    t.loc[t["group"] == "C", "se"] = 4.0
    edited = rebuild(schools, t)
    raw = _frame("eight_schools")
    raw.loc[raw["school"] == "A", "effect"] = 56.0
    raw.loc[raw["school"] == "C", "se"] = 4.0
    reference = load_data(raw, schools.columns)
    assert edited.fingerprint == reference.fingerprint
    assert edited.fingerprint != schools.fingerprint
    assert changed_groups(schools, t) == ["A", "C"]
    # the loaded data are untouched
    np.testing.assert_array_equal(schools.y, _frame("eight_schools")["effect"])
    assert "A: effect 28 -> 56" in edited.report[-1] and "C: se 16 -> 4" in edited.report[-1]


def test_edited_school_moves_its_posterior_like_the_reloaded_data(schools):
    spec = ModelSpec("normal_known_se", "partial", priors={"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"})
    t = group_table(schools)
    t.loc[0, "y"] = 100.0
    edited = rebuild(schools, t)
    raw = _frame("eight_schools")
    raw.loc[0, "effect"] = 100.0
    reference = instant_posterior(load_data(raw, schools.columns), spec)
    post = instant_posterior(edited, spec)
    np.testing.assert_allclose(post.mean("theta"), reference.mean("theta"), rtol=1e-12)
    before = instant_posterior(schools, spec)
    assert post.mean("theta")[0] > before.mean("theta")[0] + 5  # A's own estimate pulls it up
    assert post.mean("tau") > before.mean("tau")                # and the groups spread out


def test_gaussian_edit_gives_exactly_the_typed_n_mean_and_sd(radon):
    t = group_table(radon)
    one = int(np.flatnonzero(t["n"].to_numpy() == 1)[0])
    t.loc[0, "n"] = 2 * t.loc[0, "n"]                 # twice the houses, same mean and spread
    t.loc[1, "mean"] = t.loc[1, "mean"] + 1.0        # same houses, one unit higher
    t.loc[2, "sd"] = 2.0                             # same houses, more spread
    t.loc[one, "n"] = 3                              # a one-house county grows (pooled sd)
    edited = rebuild(radon, t)
    got = group_table(edited)
    for j in (0, 1, 2):
        assert got.loc[j, "n"] == t.loc[j, "n"]
        assert got.loc[j, "mean"] == pytest.approx(t.loc[j, "mean"], rel=1e-12)
        assert got.loc[j, "sd"] == pytest.approx(t.loc[j, "sd"], rel=1e-12)
    raw = _frame("radon")
    resid = raw["log_radon"] - raw.groupby("county")["log_radon"].transform("mean")
    pooled = np.sqrt((resid**2).sum() / (len(raw) - raw["county"].nunique()))
    assert got.loc[one, "n"] == 3 and got.loc[one, "sd"] == pytest.approx(pooled, rel=1e-12)
    assert got.loc[one, "mean"] == pytest.approx(t.loc[one, "mean"], rel=1e-12)
    # every other county keeps its rows exactly
    others = [j for j in range(radon.n_groups) if j not in (0, 1, 2, one)]
    for j in others[:20]:
        np.testing.assert_array_equal(np.sort(edited.y[edited.group_idx == j]),
                                      np.sort(radon.y[radon.group_idx == j]))
    assert edited.n_rows == radon.n_rows + int(t.loc[0, "n"] / 2) + 2


def test_same_n_edit_keeps_each_rows_place_in_the_spread(radon):
    t = group_table(radon)
    t.loc[1, "mean"] = 3.0
    t.loc[1, "sd"] = 0.5
    edited = rebuild(radon, t)
    old, new = radon.y[radon.group_idx == 1], edited.y[edited.group_idx == 1]
    assert edited.n_rows == radon.n_rows
    np.testing.assert_array_equal(np.argsort(old, kind="stable"), np.argsort(new, kind="stable"))
    np.testing.assert_allclose((new - 3.0) / 0.5, (old - old.mean()) / old.std(ddof=1), atol=1e-12)


def test_the_normal_likelihood_of_a_rebuilt_group_is_that_of_its_n_mean_and_sd(radon):
    """sum_i log N(y_i | theta, sigma) depends on the rows only through (n, mean, SS): the rebuilt
    rows give the likelihood the typed numbers describe, at every theta and sigma."""
    t = group_table(radon)
    n, mean, sd = 17, 1.3, 0.8
    t.loc[5, ["n", "mean", "sd"]] = [n, mean, sd]
    rows = rebuild(radon, t)
    y = rows.y[rows.group_idx == 5]
    ss = (n - 1) * sd**2
    for theta in (-1.0, 0.5, 1.3, 3.0):
        for sigma in (0.3, 0.8, 2.0):
            direct = stats.norm.logpdf(y, theta, sigma).sum()
            formula = -0.5 * n * np.log(2 * np.pi * sigma**2) - (ss + n * (mean - theta) ** 2) / (2 * sigma**2)
            assert direct == pytest.approx(formula, rel=1e-12)


def test_binary_rows_become_trials_rows_of_which_y_are_ones():
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"g": np.repeat(["a", "b", "c"], 10), "ok": rng.integers(0, 2, 30)})
    data = load_data(frame, ColumnMap("g", "ok", "binomial"))
    t = group_table(data)
    t.loc[1, ["y", "trials"]] = [7, 20]
    edited = rebuild(data, t)
    rows = edited.group_idx == 1
    assert rows.sum() == 20 and edited.y[rows].sum() == 7 and set(edited.y[rows]) == {0.0, 1.0}
    assert (edited.trials == 1).all()
    np.testing.assert_array_equal(edited.y[edited.group_idx == 0], data.y[data.group_idx == 0])


def test_several_count_rows_are_merged_into_their_totals_with_the_same_likelihood():
    data = simulate("binomial", n_groups=4, rows_per_group=3, seed=2)
    t = group_table(data)
    t.loc[2, ["y", "trials"]] = [t.loc[2, "y"] + 4, t.loc[2, "trials"] + 10]
    edited = rebuild(data, t)
    rows = edited.group_idx == 2
    assert rows.sum() == 1 and edited.y[rows][0] == t.loc[2, "y"] and edited.trials[rows][0] == t.loc[2, "trials"]
    # the binomial log-likelihood of p_j from one merged row differs from that of any split of the
    # same totals by a constant (the binomial coefficients): sum_i Bin(n_i, p) = Bin(sum n_i, p)
    split_y, split_n = [3, int(t.loc[2, "y"]) - 3], [12, int(t.loc[2, "trials"]) - 12]
    diffs = [stats.binom.logpmf(edited.y[rows][0], edited.trials[rows][0], p)
             - sum(stats.binom.logpmf(k, m, p) for k, m in zip(split_y, split_n)) for p in (0.1, 0.4, 0.8)]
    assert np.ptp(diffs) < 1e-9


def test_count_edit_equals_loading_the_edited_csv_and_moves_the_beta_posterior():
    rats = load_dataset("rat_tumors")
    t = group_table(rats)
    t.loc[0, ["y", "trials"]] = [10, 40]
    edited = rebuild(rats, t)
    raw = _frame("rat_tumors")
    raw.loc[0, ["tumors", "rats"]] = [10, 40]
    assert edited.fingerprint == load_data(raw, rats.columns).fingerprint
    spec = ModelSpec("binomial", "partial", population="beta")
    p0, p1 = instant_posterior(rats, spec), instant_posterior(edited, spec)
    assert p1.mean("p")[0] > p0.mean("p")[0] + 0.05


def test_recompute_updates_the_computed_columns(radon):
    t = group_table(radon)
    t.loc[0, "n"] = 16
    assert recompute(radon, t).loc[0, "se"] == pytest.approx(t.loc[0, "sd"] / 4)
    rats = load_dataset("rat_tumors")
    r = group_table(rats)
    r.loc[3, ["y", "trials"]] = [5, 10]
    assert recompute(rats, r).loc[3, "estimate"] == 0.5


# ------------------------------------------------------------------------------ bad values


@pytest.mark.parametrize("column,value,words", [
    ("se", 0.0, ["'A'", "'se'", "above 0"]),
    ("se", -2.0, ["'A'", "'se'"]),
    ("y", np.inf, ["effect", "'A'", "number"]),
    ("y", None, ["effect", "'A'", "number"]),
])
def test_bad_summary_values_name_the_group_and_the_column(schools, column, value, words):
    t = group_table(schools)
    t[column] = t[column].astype(object)
    t.loc[0, column] = value
    with pytest.raises(DataError) as err:
        rebuild(schools, t)
    for w in words:
        assert w in str(err.value)


def test_bad_count_and_row_values_are_refused(radon):
    surg = load_dataset("surgical")
    t = group_table(surg)
    t.loc[0, "y"] = t.loc[0, "trials"] + 1
    with pytest.raises(DataError, match=r"exceed trials.*group 'A'"):
        rebuild(surg, t)
    t = group_table(surg)
    t.loc[1, "y"] = 2.5
    with pytest.raises(DataError, match=r"whole numbers.*group 'B'"):
        rebuild(surg, t)
    r = group_table(radon)
    r.loc[0, "n"] = 2.5
    with pytest.raises(DataError, match=r"n \(rows\) must be a whole number.*AITKIN"):
        rebuild(radon, r)
    r = group_table(radon)
    r.loc[0, "n"] = 0
    with pytest.raises(DataError, match="at least 1"):
        rebuild(radon, r)
    r = group_table(radon)
    r.loc[0, "sd"] = -1
    with pytest.raises(DataError, match="cannot be negative"):
        rebuild(radon, r)


def test_the_table_must_keep_its_groups(schools):
    t = group_table(schools)
    with pytest.raises(DataError, match="keep every group"):
        rebuild(schools, t.iloc[::-1].reset_index(drop=True))
    with pytest.raises(DataError, match="keep every group"):
        rebuild(schools, t.iloc[:-1])
    with pytest.raises(DataError, match="lacks the column"):
        rebuild(schools, t.drop(columns="se"))


def test_covariates_forbid_new_rows_but_allow_a_new_mean():
    data = simulate("normal", n_groups=4, rows_per_group=5, covariate=True, seed=5)
    t = group_table(data)
    t.loc[0, "n"] = 8
    with pytest.raises(DataError, match="covariates.*'g1'"):
        rebuild(data, t)
    t = group_table(data)
    t.loc[0, "mean"] = 9.0
    edited = rebuild(data, t)
    np.testing.assert_array_equal(edited.X, data.X)
    assert edited.y[edited.group_idx == 0].mean() == pytest.approx(9.0)


def test_edit_report_names_each_change(schools):
    t = group_table(schools)
    t.loc[7, "se"] = 9.0
    assert edit_report(schools, t) == ("Edited for a what-if (the loaded data are unchanged): "
                                       "H: se 18 -> 9.")
