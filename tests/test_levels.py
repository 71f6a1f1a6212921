"""Nested grouping columns: hiermod.levels (build_levels, reused_labels, select_levels) and
load_data / GroupedData with two or three grouping columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hiermod.limits
from hiermod.data import ColumnMap, DataKind, load_data
from hiermod.errors import DataError
from hiermod.levels import build_levels, reused_labels, row_index, select_levels

NESTED = (b"school,class,score\nA,1,3\nA,1,4\nA,2,5\nB,1,7\nB,3,8\nC,1,1\nC,1,2\n")
NESTED_MAP = ColumnMap(group="class", outer_groups=("school",), y="score", kind=DataKind.GAUSSIAN)


def _obj(*values):
    return np.array(values, dtype=object)


def test_reused_class_labels_are_distinct_groups_with_a_report_line():
    d = load_data(NESTED, NESTED_MAP)
    assert d.group_columns == ("school", "class")
    assert d.levels[0].labels == ("A", "B", "C")
    assert d.labels == ("A/1", "A/2", "B/1", "B/3", "C/1")
    assert d.levels[1].parent.tolist() == [0, 0, 1, 1, 2]
    assert d.group_idx.tolist() == [0, 0, 1, 2, 3, 4, 4]
    assert d.level_idx(0).tolist() == [0, 0, 0, 1, 1, 2, 2]
    assert d.report == ("Label '1' in column 'class' appears under 3 different 'school' groups "
                        "(A, B, C); each is a different group (A/1, B/1, C/1).",)


def test_many_reused_labels_are_listed_a_few_then_counted():
    rows = [f"S{s},{c},1.0" for s in range(5) for c in range(6)]
    d = load_data(("school,class,y\n" + "\n".join(rows) + "\n").encode(),
                  ColumnMap(group="class", outer_groups="school", y="y", kind="gaussian"))
    assert d.n_groups == 30 and d.levels[0].n_groups == 5
    assert len(d.report) == 4
    assert "(S0, S1, S2 and 2 more)" in d.report[0] and "(S0/0, S1/0, S2/0 and 2 more)" in d.report[0]
    assert d.report[3].startswith("3 more labels in column 'class' ('3', '4', '5') appear under")


def test_unique_inner_labels_give_no_report():
    d = load_data(b"s,c,y\nA,a1,1\nA,a2,2\nB,b1,3\nB,b1,4\n",
                  ColumnMap(group="c", outer_groups=("s",), y="y", kind="gaussian"))
    assert d.report == () and d.labels == ("A/a1", "A/a2", "B/b1")


def test_three_levels_have_correct_parents_and_row_indices():
    frame = pd.DataFrame({
        "district": ["N", "N", "N", "S", "S", "S", "N"],
        "school": ["x", "x", "y", "x", "x", "z", "y"],
        "class": ["1", "2", "1", "1", "1", "1", "2"],
        "y": [1.0, 2, 3, 4, 5, 6, 7],
    })
    d = load_data(frame, ColumnMap(group="class", outer_groups=("district", "school"), y="y",
                                   kind="gaussian"))
    assert [lv.labels for lv in d.levels] == [
        ("N", "S"), ("N/x", "N/y", "S/x", "S/z"), ("N/x/1", "N/x/2", "N/y/1", "S/x/1", "S/z/1", "N/y/2")]
    assert d.levels[0].parent is None
    assert d.levels[1].parent.tolist() == [0, 0, 1, 1]
    assert d.levels[2].parent.tolist() == [0, 0, 1, 2, 3, 1]
    assert d.group_idx.tolist() == [0, 1, 2, 3, 3, 4, 5]
    # every row's index at each level is its own path's
    for k, column_set in enumerate((["district"], ["district", "school"])):
        paths = frame[column_set].agg("/".join, axis=1)
        assert [d.levels[k].labels[j] for j in d.level_idx(k)] == paths.tolist()
    assert d.tree_text() == "2 district groups > 4 school groups > 6 class groups > 7 rows"
    # a model using district and class only: class's parent composed through school
    sel = select_levels(d.levels, ("district", "class"))
    assert sel[1].parent.tolist() == [0, 0, 0, 1, 1, 0]


def test_ambiguous_paths_name_both_label_sets():
    data = b"school,class,y\na/b,c,1\na,b/c,2\na,d,3\n"
    with pytest.raises(DataError) as err:
        load_data(data, ColumnMap(group="class", outer_groups=("school",), y="y", kind="gaussian"))
    message = str(err.value)
    assert "(school 'a/b', class 'c')" in message and "(school 'a', class 'b/c')" in message
    assert "'a/b/c'" in message and "rows 1 and 2" in message


def test_slash_in_labels_without_a_clash_is_allowed():
    d = load_data(b"school,class,y\na/b,c,1\na,d,2\n",
                  ColumnMap(group="class", outer_groups=("school",), y="y", kind="gaussian"))
    assert d.labels == ("a/b/c", "a/d")


def test_summary_data_refuse_the_same_group_path_twice():
    data = b"school,class,effect,se\nA,1,1,1\nB,1,2,1\nA,1,3,1\n"
    cols = ColumnMap(group="class", outer_groups=("school",), y="effect", se="se", kind="summary")
    with pytest.raises(DataError, match=r"Group 'A/1' appears more than once in columns "
                                        r"'school', 'class' in rows 1, 3"):
        load_data(data, cols)
    d = load_data(data.replace(b"A,1,3", b"B,2,3"), cols)  # class 1 under A and under B: fine
    assert d.labels == ("A/1", "B/1", "B/2") and d.report[0].startswith("Label '1' in column 'class'")


def test_missing_outer_label_drops_the_row_or_refuses_summary_data():
    d = load_data(b"school,class,y\nA,1,1\n,1,2\nB,2,3\n", ColumnMap(
        group="class", outer_groups=("school",), y="y", kind="gaussian"))
    assert d.n_rows == 2 and d.report[0] == "Dropped 1 row with a missing group label in 'school': row 2."
    with pytest.raises(DataError, match="Group label missing in column 'school' in row 2"):
        load_data(b"school,class,e,se\nA,1,1,1\n,2,2,1\n",
                  ColumnMap(group="class", outer_groups=("school",), y="e", se="se", kind="summary"))


def test_outer_labels_are_cleaned_and_reported():
    d = load_data(b"school,class,y\n A ,1,1\nA,2,2\n",
                  ColumnMap(group="class", outer_groups=("school",), y="y", kind="gaussian"))
    assert d.levels[0].labels == ("A",)
    assert "Removed surrounding spaces or control characters from 1 group label in 'school'." in d.report


@pytest.mark.parametrize("outer, message", [
    (("school", "school"), "Column 'school' is used for more than one role"),
    (("score",), "Column 'score' is used for more than one role"),
    (("class",), "Column 'class' is used for more than one role"),
    (("nope",), "Column 'nope' (an outer grouping column) is not in the table"),
    (("a", "b", "school"), "4 grouping columns were chosen ('a', 'b', 'school', 'class'); at most 3"),
])
def test_mapping_errors_name_the_column(outer, message):
    frame = pd.DataFrame({"a": ["x"], "b": ["y"], "school": ["s"], "class": ["c"], "score": [1.0]})
    with pytest.raises(DataError) as err:
        load_data(frame, ColumnMap(group="class", outer_groups=outer, y="score", kind="gaussian"))
    assert message in str(err.value)


def test_covariate_used_as_grouping_column_is_refused():
    with pytest.raises(DataError, match="Column 'x' is used for more than one role"):
        load_data(b"x,g,y\n1,a,1\n2,b,2\n",
                  ColumnMap(group="g", outer_groups=("x",), y="y", kind="gaussian", covariates=("x",)))


def test_max_groups_applies_to_the_innermost_level(monkeypatch):
    monkeypatch.setattr(hiermod.limits, "MAX_GROUPS", 4)
    with pytest.raises(DataError, match="Column 'class' has 5 different groups; the limit is 4"):
        load_data(NESTED, NESTED_MAP)
    monkeypatch.setattr(hiermod.limits, "MAX_GROUPS", 5)
    assert load_data(NESTED, NESTED_MAP).n_groups == 5


def test_nested_fingerprint_differs_from_the_flat_one():
    flat = load_data(b"g,y\nA/1,3\nA/1,4\nA/2,5\nB/1,7\nB/3,8\nC/1,1\nC/1,2\n",
                     ColumnMap(group="g", y="y", kind="gaussian"))
    nested = load_data(NESTED, NESTED_MAP)
    assert flat.labels == nested.labels and np.array_equal(flat.group_idx, nested.group_idx)
    assert flat.fingerprint != nested.fingerprint
    assert nested.fingerprint == load_data(NESTED, NESTED_MAP).fingerprint


# ------------------------------------------------------------------ level tables


def _random_nested(seed=0, kind="gaussian"):
    rng = np.random.default_rng(seed)
    n = 300
    frame = pd.DataFrame({"school": rng.choice(list("ABCDE"), n), "class": rng.integers(1, 5, n),
                          "y": rng.normal(size=n).round(3), "k": rng.integers(0, 5, n),
                          "t": rng.integers(5, 9, n)})
    if kind == "gaussian":
        cols = ColumnMap(group="class", outer_groups=("school",), y="y", kind="gaussian")
    else:
        cols = ColumnMap(group="class", outer_groups=("school",), y="k", trials="t", kind="binomial")
    return frame, load_data(frame, cols)


@pytest.mark.parametrize("kind", ["gaussian", "binomial"])
def test_level_summary_matches_pandas_groupby(kind):
    frame, d = _random_nested(kind=kind)
    frame["path"] = frame["school"] + "/" + frame["class"].astype(str)
    for k, key in enumerate(["school", "path"]):
        table = d.level_summary(k).set_index("group")
        grouped = frame.groupby(key)
        assert table["n"].to_dict() == grouped.size().to_dict()
        if kind == "gaussian":
            np.testing.assert_allclose(table["estimate"], grouped["y"].mean()[table.index])
            np.testing.assert_allclose(table["se"], (grouped["y"].std() / np.sqrt(grouped.size()))[table.index])
        else:
            np.testing.assert_allclose(table["successes"], grouped["k"].sum()[table.index])
            np.testing.assert_allclose(table["estimate"],
                                       (grouped["k"].sum() / grouped["t"].sum())[table.index])
    top = d.level_summary(0).set_index("group")
    assert top["subgroups"].to_dict() == frame.groupby("school")["path"].nunique().to_dict()
    inner = d.level_summary(1)
    assert "subgroups" not in inner and inner["parent"].tolist() == [p.split("/")[0] for p in inner["group"]]
    pd.testing.assert_frame_equal(inner.drop(columns="parent"), d.group_summary())


def test_one_level_summary_is_the_group_summary():
    d = load_data(b"g,y\na,1\na,2\nb,3\n", ColumnMap(group="g", y="y", kind="gaussian"))
    pd.testing.assert_frame_equal(d.level_summary(0), d.group_summary())
    assert d.at_level(0) is d and d.tree_text() == "2 g groups > 3 rows"


def test_summary_data_pool_outer_groups_by_precision():
    d = load_data(b"school,class,effect,se\nA,1,10,1\nA,2,20,2\nB,1,5,1\n",
                  ColumnMap(group="class", outer_groups=("school",), y="effect", se="se", kind="summary"))
    top = d.level_summary(0)
    w = np.array([1.0, 0.25])
    assert top["estimate"][0] == pytest.approx((10 * w[0] + 20 * w[1]) / w.sum())
    assert top["se"][0] == pytest.approx(1 / np.sqrt(w.sum()))
    assert top["estimate"][1] == 5 and top["subgroups"].tolist() == [2, 1]


def test_tree_table_counts():
    frame, d = _random_nested()
    tree = d.tree_table()
    assert tree["groups"].tolist() == [d.levels[0].n_groups, d.n_groups]
    assert tree["inside each"].tolist() == ["class groups", "rows"]
    sizes = d.group_sizes
    assert (tree["fewest"][1], tree["most"][1]) == (sizes.min(), sizes.max())


# ------------------------------------------------------------------ levels module alone


def test_build_levels_first_seen_order_and_reused_labels():
    levels, idx = build_levels(("s", "c"), [_obj("B", "A", "B", "A"), _obj("2", "2", "1", "2")])
    assert levels[0].labels == ("B", "A") and levels[1].labels == ("B/2", "A/2", "B/1")
    assert levels[1].parent.tolist() == [0, 1, 0] and idx.tolist() == [0, 1, 2, 1]
    assert row_index(levels, idx, 0).tolist() == [0, 1, 0, 1]
    (reused,) = reused_labels(levels)
    assert (reused.label, reused.parents, reused.groups) == ("2", ("B", "A"), ("B/2", "A/2"))


# ------------------------------------------------------------------ column guessing


def test_guessing_never_nests_but_lists_candidate_grouping_columns():
    from hiermod.column_guess import grouping_candidates, guess_columns

    frame = pd.DataFrame({
        "zone": ["N", "N", "S", "S"] * 5, "school": ["a", "b", "c", "d"] * 5,
        "school_code": [1, 2, 3, 4] * 5, "class": [1, 2] * 10, "student": [f"p{i}" for i in range(20)],
        "score": np.linspace(0, 1, 20)})
    guessed = guess_columns(frame)
    assert guessed.group == "school" and guessed.outer_groups == ()
    # class is coded 1, 2 but named like a group; school_code only relabels school; student is an
    # id per row; zone has the fewest values, so it comes first
    assert grouping_candidates(frame, guessed) == ["zone", "class"]
    assert grouping_candidates(frame) == ["zone", "class", "school", "school_code"]
    nested = ColumnMap(group="class", outer_groups=("zone", "school"), y="score", kind="gaussian")
    assert grouping_candidates(frame, nested) == []
