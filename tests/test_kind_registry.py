"""The data-kind registry: roles, defaults and the per-group table of every kind."""

from __future__ import annotations

import numpy as np
import pytest

from hiermod.columns import DataKind
from hiermod.kind_registry import KINDS, ROLES, kind_info, owner_of, role_columns
from synthetic import simulate

EXAMPLE = {"summary": "normal_known_se", "gaussian": "normal", "binomial": "binomial", "poisson": "poisson"}


def test_every_data_kind_has_one_entry():
    assert set(KINDS) == {k.value for k in DataKind}
    assert ROLES == ("se", "trials", "exposure")
    for role in ROLES:
        assert owner_of(role).role == role


def test_role_columns_keep_only_the_kind_role():
    assert role_columns("binomial", se="s", trials="n", exposure=None) == {"se": None, "trials": "n", "exposure": None}
    assert role_columns("gaussian", se="s", trials="n", exposure="e") == {"se": None, "trials": None, "exposure": None}


@pytest.mark.parametrize("kind", list(KINDS))
def test_group_table_and_normal_estimates(kind):
    data = simulate(EXAMPLE[kind])
    info = kind_info(kind)
    table = data.group_summary()
    assert list(table["group"]) == list(data.labels)
    assert np.all(np.isfinite(table["estimate"]))
    if info.normal_estimates is not None:
        ybar, s = info.normal_estimates(data)
        assert ybar.shape == s.shape == (data.n_groups,) and np.all(s > 0)
    role = info.role
    assert (getattr(data, role) is not None) if role else all(getattr(data, r) is None for r in ROLES)
