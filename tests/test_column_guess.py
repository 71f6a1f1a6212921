"""hiermod.column_guess: the real data sets map themselves; numeric group ids."""

from __future__ import annotations

import pandas as pd
import pytest

from hiermod.data import ColumnMap, DataKind, guess_columns, load_data
from test_data import SHARED, need_shared


@pytest.mark.parametrize(
    "file, kind, group, y, extra, n_groups, n_rows",
    [
        ("eight_schools.csv", DataKind.SUMMARY, "school", "effect", {"se": "se"}, 8, 8),
        ("radon_mn.csv", DataKind.GAUSSIAN, "county", "log_radon", {}, 85, 919),
        ("surgical.csv", DataKind.BINOMIAL, "hospital", "deaths", {"trials": "operations"}, 12, 12),
        ("rat_tumors.csv", DataKind.BINOMIAL, "experiment", "tumors", {"trials": "rats"}, 71, 71),
        ("efron_morris_1975.csv", DataKind.BINOMIAL, "player", "hits", {"trials": "at_bats"}, 18, 18),
    ],
)
def test_reference_data_map_themselves(file, kind, group, y, extra, n_groups, n_rows):
    need_shared()
    d = load_data(SHARED / file)
    assert d.columns == ColumnMap(group=group, y=y, kind=kind, **extra)
    assert (d.kind, d.n_groups, d.n_rows) == (kind, n_groups, n_rows)
    assert int(d.group_sizes.sum()) == n_rows and d.report == ()
    assert d.X.shape == (n_rows, 0)


def test_guess_from_dataframe_with_numeric_group_ids():
    frame = pd.DataFrame({"experiment": [1.0, 1.0, 2.0, 3.0], "successes": [1, 0, 1, 1]})
    cols = guess_columns(frame)
    assert cols == ColumnMap(group="experiment", y="successes", kind=DataKind.BINOMIAL)
    d = load_data(frame)
    assert d.labels == ("1", "2", "3")  # "1", not "1.0"
    assert d.trials.tolist() == [1, 1, 1, 1]
