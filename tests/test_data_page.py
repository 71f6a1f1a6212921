"""AppTest (no browser) of the Data page with nested grouping columns and slope covariates."""

from __future__ import annotations

from test_app import load_sample, new_app, texts
from ui import state

APPLY = "FormSubmitter:columns_form-Apply column roles"


def _multiselect(at, label_start: str):
    (found,) = [m for m in at.multiselect if m.label.startswith(label_start)]
    return found


def _apply_groups(at, groups: list[str]):
    _multiselect(at, "Grouping columns").set_value(groups)
    at.button(key=APPLY).click().run()
    assert not at.exception, at.exception
    return at


def test_nested_sample_preselects_both_grouping_columns_and_shows_each_level():
    at = load_sample(new_app(), "simulated_nested")
    data = at.session_state[state.DATA]
    assert data.group_columns == ("school", "class") and data.n_groups == 33
    assert _multiselect(at, "Grouping columns").value == ["school", "class"]
    shown = texts(at)
    assert "8 school groups > 33 class groups > 571 rows" in shown
    assert "Label '1' in column 'class' appears under 8 different 'school' groups" in shown
    assert [t.label for t in at.tabs] == ["school (8)", "class (33)"]
    tables = [d.value for d in at.dataframe]
    top = next(t for t in tables if "subgroups" in t.columns)
    assert list(top["group"]) == list("ABCDEFGH") and top["n"].sum() == 571
    inner = next(t for t in tables if "parent" in t.columns)
    assert inner["group"].iloc[0] == "A/1" and inner["parent"].iloc[0] == "A"
    assert not at.error


def test_choosing_fewer_grouping_columns_reloads_with_one_level():
    at = load_sample(new_app(), "simulated_nested")
    _apply_groups(at, ["school"])
    data = at.session_state[state.DATA]
    assert data.group_columns == ("school",) and data.n_groups == 8 and not at.tabs
    _apply_groups(at, ["class"])  # class alone: the labels 1..5 pooled over the schools
    assert at.session_state[state.DATA].labels == ("1", "2", "3", "4", "5")
    _apply_groups(at, ["school", "class"])
    assert at.session_state[state.DATA].n_groups == 33


def test_a_bad_grouping_choice_shows_an_error_and_keeps_the_data():
    at = load_sample(new_app(), "simulated_nested")
    before = at.session_state[state.DATA]
    _apply_groups(at, ["school", "score"])  # score is also the outcome
    assert any("'score' is used for more than one role" in e.value for e in at.error)
    assert at.session_state[state.DATA] is before


def test_slope_covariates_are_passed_in_the_data_source():
    at = load_sample(new_app(), "simulated_slopes")
    assert at.session_state[state.DATA_SOURCE]["slopes"] == ["hours"]
    slopes = _multiselect(at, "Slope covariates")
    assert slopes.options == ["hours"] and slopes.value == ["hours"]
    slopes.set_value([]).run()
    assert not at.exception, at.exception
    assert at.session_state[state.DATA_SOURCE]["slopes"] == []
    assert at.session_state[state.DATA_SOURCE]["name"] == "simulated_slopes"


def test_single_column_data_page_is_unchanged():
    at = load_sample(new_app(), "eight_schools")
    assert "summary data, 8 groups, 8 rows" in texts(at)
    assert not at.tabs and not [m for m in at.multiselect if m.label.startswith("Slope")]
    assert list(at.dataframe[0].value["group"]) == list("ABCDEFGH")


def test_an_upload_is_not_nested_by_guessing_but_the_user_can_nest_it():
    from test_hostile_pages import upload

    raw = b"school,class,score\nA,1,3\nA,1,4\nA,2,5\nB,1,7\nB,2,8\nB,2,1\n"
    at = new_app()
    upload(at, "classes.csv", raw)
    assert not at.exception, at.exception
    assert at.session_state[state.DATA].group_columns == ("school",)
    assert any("could group the rows: class" in c.value for c in at.caption)
    _apply_groups(at, ["school", "class"])
    data = at.session_state[state.DATA]
    assert data.labels == ("A/1", "A/2", "B/1", "B/2") and data.levels[1].parent.tolist() == [0, 0, 1, 1]
    assert "2 school groups > 4 class groups > 6 rows" in texts(at)
