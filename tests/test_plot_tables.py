"""Plot tables: the long tables behind the funnel, trace, rank and energy plots."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from hiermod import diagnostics as D
from hiermod import plot_tables as P
from hiermod.errors import SpecError
from test_diagnostics import LABELS, with_idata


def test_funnel_table(eight_schools_fit, eight_schools_centered_fit):
    table = P.funnel_table(eight_schools_fit)
    assert len(table) == 4 * 1000 * 8
    assert set(table["group"]) == set(LABELS)
    np.testing.assert_allclose(table["theta"], table["mu"] + table["tau"] * table["theta_decentered"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(table["log_tau"], np.log(table["tau"]))
    centered = P.funnel_table(eight_schools_centered_fit)
    assert centered["theta_decentered"].isna().all()
    assert centered["theta_standardized"].notna().all()
    assert centered["diverging"].sum() == 8 * D.diagnose(eight_schools_centered_fit).divergences


def test_funnel_needs_partial_pooling(eight_schools_fit, reference_spec):
    no_tau = with_idata(eight_schools_fit, posterior=eight_schools_fit.idata.posterior.drop_vars("tau"))
    no_tau = dataclasses.replace(no_tau, spec=reference_spec.replace(pooling="complete"))
    with pytest.raises(SpecError, match="partial"):
        P.funnel_table(no_tau)


def test_trace_and_rank_tables(eight_schools_fit):
    trace = P.trace_table(eight_schools_fit, "theta")
    assert list(trace.columns) == ["chain", "draw", "parameter", "value"]
    assert len(trace) == 8 * 4000
    one = P.trace_table(eight_schools_fit, "theta[C]")
    assert set(one["parameter"]) == {"theta[C]"}
    np.testing.assert_allclose(one["value"], eight_schools_fit.draws("theta")[:, 2])
    ranks = P.rank_table(eight_schools_fit, "mu", bins=10)
    assert len(ranks) == 4 * 10
    assert ranks.groupby("chain")["count"].sum().tolist() == [1000] * 4
    assert (ranks["expected"] == 100).all()
    # well mixed: no bin is far from flat
    assert ranks["count"].between(40, 160).all()
    with pytest.raises(SpecError):
        P.trace_table(eight_schools_fit, "theta[Z]")
    with pytest.raises(SpecError):
        P.rank_table(eight_schools_fit, "sigma")


def test_energy_table(eight_schools_centered_fit):
    table = P.energy_table(eight_schools_centered_fit)
    assert len(table) == 4000
    assert table.groupby("chain")["energy_centered"].mean().abs().max() < 1e-8
    assert table.groupby("chain")["energy_transition"].apply(lambda s: s.isna().sum()).tolist() == [1] * 4
    np.testing.assert_allclose(table.groupby("chain")["bfmi"].first(), D.chain_table(eight_schools_centered_fit)["bfmi"])


def test_diagnostics_reexports_the_plot_tables():
    for name in P.__all__:
        assert getattr(D, name) is getattr(P, name)
