"""hiermod.data: load_data on real and bad input, validation messages, GroupedData.

Reading has its own tests in test_reading.py, column guessing in test_column_guess.py."""

from __future__ import annotations

from dataclasses import FrozenInstanceError

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hiermod.limits
from hiermod.data import ColumnMap, DataKind, GroupedData, load_data
from hiermod.errors import DataError
from shared_paths import NOT_FOUND, SHARED_DATA as SHARED

EIGHT = b"school,effect,se\nA,28,15\nB,8,10\nC,-3,16\nD,7,11\nE,-1,9\nF,1,11\nG,18,10\nH,12,18\n"
SUMMARY_MAP = ColumnMap(group="school", y="effect", kind=DataKind.SUMMARY, se="se")
GAUSS_MAP = ColumnMap(group="g", y="y", kind=DataKind.GAUSSIAN)
BINOM_MAP = ColumnMap(group="g", y="k", kind=DataKind.BINOMIAL, trials="n")
BINARY_MAP = ColumnMap(group="g", y="y", kind=DataKind.BINOMIAL)
POIS_MAP = ColumnMap(group="g", y="y", kind=DataKind.POISSON, exposure="t")


def need_shared() -> None:
    if not SHARED.is_dir():
        pytest.fail(NOT_FOUND)


# ------------------------------------------------------------------ real data


def test_rat_tumors_totals_and_text_labels():
    need_shared()
    d = load_data(str(SHARED / "rat_tumors.csv"))
    assert d.y.sum() == 267 and d.trials.sum() == 1739
    assert d.labels[:3] == ("1", "2", "3") and d.labels[-1] == "71"


def test_radon_covariates_row_and_group_level():
    need_shared()
    cols = ColumnMap(group="county", y="log_radon", kind="gaussian",
                     covariates=("floor", "log_uranium"))
    d = load_data(SHARED / "radon_mn.csv", cols)
    assert d.X.shape == (919, 2) and d.covariate_names == ("floor", "log_uranium")
    assert set(np.unique(d.X[:, 0])) == {0.0, 1.0}
    # the group-level covariate is constant within each county
    per_group = pd.Series(d.X[:, 1]).groupby(d.group_idx).nunique()
    assert per_group.max() == 1


# ------------------------------------------------------------------ kinds


def test_binary_outcome_per_row():
    d = load_data(b"g,y\na,1\na,0\nb,1\nb,1\nb,0\n")
    assert d.columns == BINARY_MAP
    s = d.group_summary()
    assert s.columns.tolist() == ["group", "n", "estimate", "se", "successes", "trials"]
    assert s["successes"].tolist() == [1, 2] and s["trials"].tolist() == [2, 3]
    np.testing.assert_allclose(s["se"], [np.sqrt(0.25 / 2), np.sqrt(2 / 3 / 3 / 3)])


def test_poisson_with_and_without_exposure():
    d = load_data(b"g,y,exposure\na,3,2\na,1,2\nb,0,1.5\n")
    assert d.columns == ColumnMap(group="g", y="y", kind=DataKind.POISSON, exposure="exposure")
    s = d.group_summary()
    assert s.columns.tolist() == ["group", "n", "estimate", "se", "events", "exposure"]
    np.testing.assert_allclose(s["estimate"], [1.0, 0.0])
    np.testing.assert_allclose(s["se"], [2 / 4, 0.0])
    d2 = load_data(b"site,count\na,3\na,4\nb,0\n")
    assert d2.kind == DataKind.POISSON and d2.columns.exposure is None
    assert d2.exposure.tolist() == [1, 1, 1]


def test_gaussian_summary_and_single_observation_group():
    d = load_data(b"g,y\na,1\na,3\nb,5\n")
    assert d.columns == GAUSS_MAP and d.se is None and d.trials is None
    s = d.group_summary()
    assert s["n"].tolist() == [2, 1] and s["estimate"].tolist() == [2.0, 5.0]
    assert s["se"].iloc[0] == pytest.approx(np.sqrt(2) / np.sqrt(2)) and np.isnan(s["se"].iloc[1])


def test_covariate_drops_missing_rows_like_y():
    cols = ColumnMap(group="g", y="y", kind="gaussian", covariates=("x",))
    d = load_data(b"g,y,x\na,1,0.5\na,2,\nb,3,1.5\nb,4,2\n", cols)
    assert d.n_rows == 3 and d.X[:, 0].tolist() == [0.5, 1.5, 2.0]
    assert d.report == ("Dropped 1 row with a missing value in 'x': row 2.",)


# ------------------------------------------------------------------ cleaning and reports


def test_missing_observation_and_label_rows_are_dropped_with_report():
    d = load_data(b"g,y\na,1\na,\n,3\nb,4\n,\nb,5\n", GAUSS_MAP)
    assert d.n_rows == 3 and d.labels == ("a", "b")
    text = " ".join(d.report)
    assert "Dropped 1 row left completely empty: row 5." in text and "missing group label in 'g': row 3" in text
    assert "missing value in 'y': row 2" in text


def test_labels_are_cleaned_text_and_merged():
    raw = " A ,1\nA,2\nA\x07,3\n\u202eB,4\n=1+1,5\n".encode()
    d = load_data(b"g,y\n" + raw, GAUSS_MAP)
    assert d.labels == ("A", "B", "=1+1")
    assert d.group_sizes.tolist() == [3, 1, 1]
    assert any("3 group labels" in r for r in d.report)


def test_grouped_data_is_immutable_and_fingerprint_stable():
    d = load_data(EIGHT)
    with pytest.raises(FrozenInstanceError):
        d.kind = DataKind.GAUSSIAN
    with pytest.raises(ValueError):
        d.y[0] = 1.0
    assert d.group_idx.dtype == np.int32 and d.y.dtype == np.float64
    assert d.fingerprint == load_data(EIGHT).fingerprint
    assert d.fingerprint == "e80a01ba" + d.fingerprint[8:]  # pinned: stable across runs
    assert load_data(EIGHT.replace(b"A,28", b"A,29")).fingerprint != d.fingerprint


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", " a", "b", "c\t", "Ç"]),
                          st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=20))
def test_labels_first_seen_order_and_sizes(pairs):
    frame = pd.DataFrame(pairs, columns=["g", "y"])
    d = load_data(frame, GAUSS_MAP)
    cleaned = [p[0].strip() for p in pairs]
    assert list(d.labels) == list(dict.fromkeys(cleaned))
    assert [d.labels[i] for i in d.group_idx] == cleaned
    assert d.group_summary()["n"].sum() == len(pairs)


# ------------------------------------------------------------------ bad input

ONE_GROUP = b"g,y\na,1\na,2\n"

BAD = {
    # id: (source, columns, must appear in message, limits to patch)
    "empty file": (b"", None, ["empty"], {}),
    "blank file": (b"\n  \n", None, ["empty"], {}),
    "header only": (b"school,effect,se\n", None, ["'school'", "no data rows"], {}),
    "no header": (b"1,2,3\n4,5,6\n", None, ["no header"], {}),
    "duplicated column": (b"g,y,y\na,1,2\n", None, ["'y'", "twice"], {}),
    "unknown column": (EIGHT, ColumnMap(group="school", y="nope", kind="summary", se="se"),
                       ["'nope'", "'effect'"], {}),
    "unknown kind": (EIGHT, dict(group="school", y="effect", kind="normal"), ["'normal'"], {}),
    "column in two roles": (EIGHT, ColumnMap(group="school", y="se", kind="summary", se="se"),
                            ["'se'"], {}),
    "summary without se": (EIGHT, ColumnMap(group="school", y="effect", kind="summary"),
                           ["'effect'", "se"], {}),
    "non-numeric": (EIGHT.replace(b"C,-3", b"C,n/a?"), SUMMARY_MAP, ["'effect'", "row 3", "n/a?"], {}),
    "summary missing value": (EIGHT.replace(b"D,7,11", b"D,,11"), SUMMARY_MAP,
                              ["'effect'", "row 4"], {}),
    "summary missing label": (EIGHT.replace(b"E,-1", b",-1"), SUMMARY_MAP, ["'school'", "row 5"], {}),
    "infinity": (b"g,y\na,1\nb,inf\n", GAUSS_MAP, ["'y'", "row 2", "infinite"], {}),
    "se zero": (EIGHT.replace(b"F,1,11", b"F,1,0"), SUMMARY_MAP, ["'se'", "row 6"], {}),
    "se negative": (EIGHT.replace(b"H,12,18", b"H,12,-1"), SUMMARY_MAP, ["'se'", "row 8"], {}),
    "successes > trials": (b"g,k,n\na,3,10\nb,11,10\n", BINOM_MAP, ["'k'", "'n'", "row 2"], {}),
    "negative successes": (b"g,k,n\na,-1,10\nb,1,10\n", BINOM_MAP, ["'k'", "row 1"], {}),
    "fractional successes": (b"g,k,n\na,1,10\nb,1.5,10\n", BINOM_MAP, ["'k'", "row 2"], {}),
    "fractional trials": (b"g,k,n\na,1,10.5\nb,1,10\n", BINOM_MAP, ["'n'", "row 1"], {}),
    "zero trials": (b"g,k,n\na,0,0\nb,1,10\n", BINOM_MAP, ["'n'", "row 1"], {}),
    "binary not 0/1": (b"g,y\na,1\nb,0\nb,2\n", BINARY_MAP, ["'y'", "row 3"], {}),
    "negative count": (b"g,y,t\na,1,1\nb,-2,1\n", POIS_MAP, ["'y'", "row 2"], {}),
    "fractional count": (b"g,y,t\na,1.25,1\nb,2,1\n", POIS_MAP, ["'y'", "row 1"], {}),
    "exposure zero": (b"g,y,t\na,1,1\nb,2,0\n", POIS_MAP, ["'t'", "row 2"], {}),
    "duplicate group in summary": (EIGHT.replace(b"G,", b"A,"), SUMMARY_MAP,
                                   ["'school'", "'A'", "rows 1, 7 (2 rows)"], {}),
    "constant covariate": (b"g,y,x\na,1,3\nb,2,3\n",
                           ColumnMap(group="g", y="y", kind="gaussian", covariates=("x",)),
                           ["'x'", "intercept"], {}),
    "text covariate": (b"g,y,x\na,1,3\nb,2,high\n",
                       ColumnMap(group="g", y="y", kind="gaussian", covariates=["x"]),
                       ["'x'", "row 2"], {}),
    "trials on gaussian": (b"g,y,n\na,1,3\n", ColumnMap(group="g", y="y", kind="gaussian",
                                                        trials="n"), ["'n'", "binomial"], {}),
    "all numeric, no group": (b"a,b\n1,2\n3,4\n", None, ["'a'", "group"], {}),
    "too many bytes": (EIGHT, None, ["MB"], {"MAX_BYTES": 50}),
    "too many rows": (EIGHT, None, ["3 data rows"], {"MAX_ROWS": 3}),
    "too many groups": (EIGHT, None, ["'school'", "8 different groups"], {"MAX_GROUPS": 5}),
    "too many columns": (EIGHT, None, ["3 columns"], {"MAX_COLUMNS": 2}),
    "label too long": (b"g,y\na,1\n" + b"b" * 201 + b",2\n", GAUSS_MAP, ["'g'", "row 2"], {}),
    "ragged row": (b"g,y\na,1\nb,2,3\n", None, ["fields"], {}),
    "binary file": (b"PK\x03\x04\x00\x00rest", None, ["Excel"], {}),
    "rows listed at most five": (b"g,y\n" + b"a,x\n" * 7, GAUSS_MAP,
                                 ["'y'", "rows 1, 2, 3, 4, 5 and 2 more (7 rows)"], {}),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_raises_data_error(case, monkeypatch):
    source, columns, needles, limits = BAD[case]
    for name, value in limits.items():
        monkeypatch.setattr(hiermod.limits, name, value)
    with pytest.raises(DataError) as info:
        cols = ColumnMap(**columns) if isinstance(columns, dict) else columns
        load_data(source, cols)
    message = str(info.value)
    for needle in needles:
        assert needle in message, message


def test_one_group_loads():
    d = load_data(ONE_GROUP, GAUSS_MAP)  # load_data itself allows one group
    assert d.n_groups == 1


def test_constructor_does_not_share_memory():
    y = np.array([1.0, 2.0])
    d = GroupedData(kind="gaussian", columns=GAUSS_MAP, labels=("a",), group_idx=np.zeros(2),
                    y=y, se=None, trials=None, exposure=None, X=np.zeros((2, 0)),
                    covariate_names=())
    y[0] = 9.0
    assert d.y[0] == 1.0 and d.kind is DataKind.GAUSSIAN
