"""Simulation-based calibration: the simultaneous ECDF band and tests (hiermod.rank_uniformity), the
runner and its verdict (hiermod.sbc), the plots, the ``sbc`` command and the Checks page's section.

Statistical tests here fail with a known small probability: the calibrated runs are seeded, and
their verdict is "miscalibrated" with probability at most 5% over seeds (Bonferroni over the
parameters' tests); coverage checks allow 4 Monte Carlo standard errors (probability < 1e-4).
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hiermod import rank_uniformity as ru
from hiermod.datasets import load_dataset
from hiermod.errors import FitCancelled, SpecError
from hiermod.instant import instant_draws
from hiermod.sbc import SBCResult, ranked_columns, run_sbc
from hiermod.spec import ModelSpec

REPO = Path(__file__).resolve().parent.parent
TINY_NUTS = dict(reps=10, draws=19, warmup=50, thin=3, chains=1)
"""A NUTS calibration small enough for a test (the AppTest below runs the same, so compiles nothing new)."""


@pytest.fixture(scope="module")
def schools():
    return load_dataset("eight_schools")


# ------------------------------------------------------------------------ band and tests


def test_interior_probability_matches_enumeration():
    """All 4^3 rank outcomes of N=3 ranks on 0..3, counted by hand, against the recursion."""
    N, L = 3, 3
    points = ru.eval_ranks(L, N)   # K = 3 cells: the ECDF at ranks 0 and 2 (uniform CDF 1/4, 3/4)
    z = (points + 1) / (L + 1)
    lo, hi = np.array([0, 1]), np.array([2, 3])
    inside = 0
    for ranks in itertools.product(range(L + 1), repeat=N):
        c = ru.ecdf_counts(np.array(ranks), L, points)
        inside += bool(np.all((c >= lo) & (c <= hi)))
    assert ru.interior_probability(lo, hi, z, N) == pytest.approx(inside / (L + 1) ** N, abs=1e-12)


@pytest.mark.parametrize("N, L", [(100, 99), (200, 49), (500, 199)])
def test_band_recursion_agrees_with_arviz(N, L):
    """ArviZ's own implementation of the same recursion (not ours) gives the same coverage."""
    from arviz.stats.ecdf_utils import _ecdf_band_interior_probability

    band = ru.simultaneous_band(N, L, 0.05)
    z_prev = np.insert(band.z[:-1], 0, 0.0)
    between = (band.z - z_prev) / (1 - z_prev)
    theirs = _ecdf_band_interior_probability(between, N, band.lo.astype(np.int64), band.hi.astype(np.int64) + 1)
    assert band.coverage == pytest.approx(theirs, abs=1e-9)
    assert band.coverage >= 0.95 > band.next_coverage  # the tightest band with the stated coverage


@pytest.mark.parametrize("N, L", [(100, 99), (200, 49)])
def test_band_has_its_simultaneous_coverage(N, L):
    """Uniform ranks leave the 95% band in about 5% of the runs (exactly 1 - coverage, within MC error)."""
    band = ru.simultaneous_band(N, L, 0.05)
    M = 20_000
    rng = np.random.default_rng([N, L])
    ranks = rng.integers(0, L + 1, size=(N, M))
    left = 1 - band.contains(ru.ecdf_counts(ranks, L, band.points)).mean()
    exact = 1 - band.coverage
    sd = np.sqrt(exact * (1 - exact) / M)
    assert abs(left - exact) < 4 * sd, (left, exact)
    assert abs(left - 0.05) < 4 * sd + (0.05 - exact)   # exact is within the counts' discreteness of alpha
    assert 0.05 - exact < 0.005


def test_ecdf_pvalue_is_the_band_test_and_uniform():
    """p <= 0.05 exactly when the curve leaves the 95% band, and p is uniform under uniform ranks."""
    N, L, M = 100, 99, 400
    band = ru.simultaneous_band(N, L, 0.05)
    rng = np.random.default_rng(7)
    ranks = rng.integers(0, L + 1, size=(N, M))
    inside = band.contains(ru.ecdf_counts(ranks, L, band.points))
    p = np.array([ru.ecdf_pvalue(ranks[:, m], L) for m in range(M)])
    assert np.array_equal(p <= 1 - band.coverage, ~inside)
    for q in (0.2, 0.5):
        assert abs((p <= q).mean() - q) < 4 * np.sqrt(q * (1 - q) / M)


def test_chi_square_and_count_band():
    L, N = 99, 500
    edges = ru.rank_bins(L, N)
    assert edges[0] == 0 and edges[-1] == L + 1 and len(edges) == 26
    flat = np.repeat(np.arange(L + 1), 5)                       # exactly uniform
    assert ru.chi_square_pvalue(flat, L)[0] == pytest.approx(1.0)
    assert ru.chi_square_pvalue(np.zeros(N, int), L)[0] < 1e-10  # all at rank 0
    lo, hi = ru.count_band(N, np.diff(edges), L, 0.99)
    assert np.all(lo < 20) and np.all(hi > 20)


# ------------------------------------------------------------------------------ the runner


def test_correct_model_is_calibrated(schools):
    """Eight schools, instant posterior (exact up to grid error): the verdict says calibrated."""
    res = run_sbc(schools, ModelSpec("normal_known_se"), reps=150, draws=99, seed=11)
    assert list(res.ranks.columns) == ["mu", "tau"] + [f"theta[{s}]" for s in "ABCDEFGH"]
    assert res.R == 150 and res.L == 99 and res.method == "instant"
    assert res.ranks.to_numpy().min() >= 0 and res.ranks.to_numpy().max() <= 99
    assert res.verdict.calibrated and res.verdict.level == "ok", res.verdict.text
    assert "Calibrated" in res.verdict.headline and "Bonferroni" in res.verdict.message
    assert res.threshold == pytest.approx(0.05 / 20)
    # the priors were fixed on the user's data and written into the spec
    assert dict(res.spec.priors)["tau"].family == "HalfNormal"


def test_other_data_set_beta_population_is_calibrated():
    data = load_dataset("rat_tumors")
    res = run_sbc(data, ModelSpec("binomial", population="beta"), reps=40, draws=19, seed=5)
    names = list(res.ranks.columns)
    assert names[:2] == ["alpha", "beta"] and len(names) == 2 + data.n_groups  # p is theta's inverse link
    assert not any(n.startswith("p[") for n in names)
    assert res.verdict.calibrated, res.verdict.text
    assert res.shown_parameters()[:2] == ["alpha", "beta"] and len(res.shown_parameters()) == 12


def _scaled(factor: float, shift: float = 0.0):
    """The instant draws, scaled around their mean by ``factor`` and moved by ``shift`` sds."""
    def sampler(data, spec, n, rng):
        draws = instant_draws(data, spec, n, rng)
        return {k: v.mean(0) + factor * (v - v.mean(0)) + shift * v.std(0) for k, v in draws.items()}
    return sampler


def test_too_narrow_posterior_is_flagged(schools):
    res = run_sbc(schools, ModelSpec("normal_known_se"), reps=60, draws=39, seed=2, sampler=_scaled(0.5))
    assert res.method == "custom"
    assert not res.verdict.calibrated and res.verdict.level == "error"
    assert {"mu", "tau"} <= set(res.verdict.flagged)
    assert "too narrow" in res.tests.loc["mu", "shape"]
    assert "Miscalibrated" in res.verdict.headline and "too narrow" in res.verdict.message


@pytest.mark.parametrize("factor, shift, words", [(2.0, 0.0, "too wide"), (1.0, 0.7, "overestimates")])
def test_too_wide_or_biased_posterior_is_flagged(schools, factor, shift, words):
    res = run_sbc(schools, ModelSpec("normal_known_se", pooling="complete"), reps=100, draws=39, seed=4,
                  sampler=_scaled(factor, shift))
    assert list(res.ranks.columns) == ["mu"]          # complete pooling: theta[j] = mu, ranked once
    assert res.verdict.flagged == ("mu",)
    assert words in res.tests.loc["mu", "shape"]


def test_ties_are_broken_at_random():
    """Draws all equal to the truth give ranks uniform on 0..L (not all 0 or all L)."""
    from hiermod.sbc import _ranks

    L, M = 9, 5000
    r = _ranks(np.zeros((L, M)), np.zeros(M), np.random.default_rng(0))
    assert set(np.unique(r)) == set(range(L + 1))
    assert abs(r.mean() - L / 2) < 4 * np.sqrt(((L + 1) ** 2 - 1) / 12 / M)
    r = _ranks(np.array([[0.0], [1.0], [2.0]]), np.array([1.5]), np.random.default_rng(0))
    assert r.tolist() == [2]


@pytest.mark.parametrize("kwargs, words", [
    (dict(reps=5), "at least 10 replications"),
    (dict(reps=10.5), "whole number"),
    (dict(draws=3), "draws (posterior draws per replication, L)"),
    (dict(method="hmc"), "Unknown SBC method 'hmc'"),
    (dict(method="nuts", thin=0), "thin"),
])
def test_bad_settings_are_refused_clearly(schools, kwargs, words):
    with pytest.raises(SpecError, match=words.replace("(", r"\(").replace(")", r"\)")):
        run_sbc(schools, ModelSpec("normal_known_se"), **kwargs)


def test_instant_refuses_a_model_it_cannot_serve():
    data = load_dataset("simulated_schools")
    with pytest.raises(SpecError, match="instant method cannot serve.*'nuts'"):
        run_sbc(data, ModelSpec("student_t"), reps=10, draws=19)


def test_nuts_calibration_progress_and_cancel(schools):
    seen = []
    res = run_sbc(schools, ModelSpec("normal_known_se"), method="nuts", seed=3, progress=seen.append, **TINY_NUTS)
    assert res.method == "nuts" and res.R == 10 and res.ranks.to_numpy().max() <= 19
    assert set(res.diagnostics) == {"divergent_reps", "low_ess_reps"}
    assert seen[0].phase == "compiling" and seen[-1].done == seen[-1].total
    assert seen[-1].message == "Replication 10 of 10"
    assert "NUTS" in res.verdict.message
    # cancel after the first replication's first progress report
    stop = {"n": 0}

    def cancel():
        return stop["n"] > 2

    with pytest.raises(FitCancelled):
        run_sbc(schools, ModelSpec("normal_known_se"), method="nuts", seed=3, cancel=cancel,
                progress=lambda p: stop.__setitem__("n", stop["n"] + 1), **TINY_NUTS)


def test_time_budget_stops_early(schools):
    res = run_sbc(schools, ModelSpec("normal_known_se", pooling="complete"), reps=5000, draws=19,
                  max_seconds=0.0)
    assert res.R == 10 and res.requested == 5000
    assert "time budget after 10 of 5000" in res.verdict.message


def test_ranked_columns_of_nested_and_slopes_models():
    nested = load_dataset("simulated_nested")
    spec = ModelSpec("normal", groups=("school", "class"))
    names = [c for c, _, _ in ranked_columns(nested, spec)]
    assert names[:2] == ["mu", "tau_school"] and "sigma" in names
    assert any(n.startswith("theta_school[") for n in names)
    assert any(n.startswith("theta_class[") for n in names)
    slopes = load_dataset("simulated_slopes")
    names = [c for c, _, _ in ranked_columns(slopes, ModelSpec("normal", slopes=("hours",)))]
    assert {"tau_hours", "rho_hours", "beta[hours]"} <= set(names)
    assert any(n.startswith("slope_hours[") for n in names)


# ----------------------------------------------------------------------------------- plots


def test_plots_draw_one_panel_per_parameter_with_bands(schools):
    from hiermod.plots.sbc import ecdf_difference_plot, rank_histogram_plot
    from hiermod.plots.style import PlotInputError

    res = run_sbc(schools, ModelSpec("normal_known_se"), reps=40, draws=19, seed=8)
    shown = dict(params=res.shown_parameters(), subtitles=res.panel_notes(), flagged=res.verdict.flagged)
    hist = rank_histogram_plot(res.histogram_table(), **shown)
    bars = [t for t in hist.data if t.type == "bar"]
    assert len(bars) == 10 and sum(bars[0].y) == 40
    assert any("99% of uniform counts" in (t.name or "") for t in hist.data)
    ecdf = ecdf_difference_plot(res.ecdf_table(), **shown)
    bands = [t for t in ecdf.data if t.fill == "toself"]
    assert len(bands) == 10 and "simultaneous 95% band" == bands[0].name
    titles = [a.text for a in ecdf.layout.annotations]
    assert titles[0].startswith("mu") and "p =" in titles[0]
    with pytest.raises(PlotInputError, match="no rows"):
        rank_histogram_plot(res.histogram_table(), params=["nope"])
    with pytest.raises(PlotInputError, match="no column"):
        ecdf_difference_plot(res.histogram_table())


def test_plot_labels_are_text_not_markup():
    from hiermod.plots.sbc import rank_histogram_plot

    table = pd.DataFrame({"parameter": "theta[<b>x</b>]", "low": [0], "high": [9], "count": [5],
                          "expected": [5.0], "band_low": [1.0], "band_high": [9.0]})
    fig = rank_histogram_plot(table)
    assert "&lt;b&gt;" in fig.layout.annotations[0].text and "<b>" not in fig.layout.annotations[0].text


# ---------------------------------------------------------------------------- command line


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("HIERMOD_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "hiermod", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_cli_sbc_writes_ranks_plots_and_verdict(tmp_path):
    out = tmp_path / "sbc"
    proc = _cli("sbc", str(REPO / "sample_data" / "eight_schools.csv"), "--group", "school", "--y", "effect",
                "--se", "se", "--prior", "tau=HalfCauchy(5)", "--reps", "40", "--draws", "19", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "theta[H]" in proc.stdout and "ecdf_p" in proc.stdout
    assert "[OK] Calibrated." in proc.stdout or "[ERROR] Miscalibrated." in proc.stdout
    ranks = pd.read_csv(out / "ranks.csv", index_col=0)
    assert ranks.shape == (40, 10) and ranks.to_numpy().max() <= 19
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["reps"] == 40 and summary["L"] == 19 and summary["method"] == "instant"
    assert summary["spec"]["priors"]["tau"] == "HalfCauchy(5)"
    assert summary["band"]["coverage"] >= 0.95
    for name in ("rank_histograms.html", "ecdf.html"):
        assert "plotly" in (out / name).read_text(encoding="utf-8")[:100_000].lower()
    assert set(pd.read_csv(out / "tests.csv")["parameter"]) == set(ranks.columns)


def test_cli_sbc_bad_input_is_one_clear_line(tmp_path, capsys):
    from hiermod.cli import main

    assert main(["sbc", "eight_schools", "--reps", "5", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hiermod: error: reps (replications) must be a whole number from 10")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["sbc", "eight_schools", "--reps", "20"]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["sbc", "eight_schools", "--method", "nuts", "--thin", "0", "--out", str(tmp_path / "y")]) == 2
    assert "thin must be a whole number from 1 to 100" in capsys.readouterr().err


# ------------------------------------------------------------------------- the Checks page


@pytest.fixture(scope="module")
def instant_fit(schools):
    from hiermod.fitting import fit
    from ui.state import default_spec_for

    return fit(schools, default_spec_for(schools), method="instant", chains=1, warmup=50, draws=200)


def _checks_page(fit):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
    at.run()
    key = (fit.data.fingerprint, fit.spec, fit.settings, "instant")
    at.session_state["hm_fits"] = OrderedDict({key: fit})
    at.session_state["hm_fit_key"] = key
    for k, v in (("hm_data", fit.data), ("hm_data_name", "Eight schools"), ("hm_spec", fit.spec),
                 ("hm_settings", fit.settings), ("hm_method", "instant")):
        at.session_state[k] = v
    at.switch_page("pages/6_Checks_and_comparison.py").run()
    assert not at.exception, at.exception
    return at


def _text(at) -> str:
    parts = [str(m.value) for kind in (at.markdown, at.info, at.caption, at.success, at.warning, at.error)
             for m in kind]
    return "\n".join(parts).replace("\\", "")


def test_page_instant_button_shows_verdict_and_plots(instant_fit, monkeypatch):
    import ui.sbc_panel as panel

    monkeypatch.setitem(panel.RUNS, "instant", dict(reps=30, draws=19))
    at = _checks_page(instant_fit)
    assert "Simulation-based calibration" in " ".join(h.value for h in at.header)
    at.button(key="w_sbc_instant").click().run()
    assert not at.exception, at.exception
    text = _text(at)
    assert "Calibrated." in text or "Miscalibrated." in text
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(t.startswith("Rank of the true value among 19") for t in titles), titles
    assert any(t.startswith("ECDF of the ranks") for t in titles), titles
    assert any(m.label == "Replications" and m.value == "30" for m in at.metric)


def test_page_offers_only_nuts_when_instant_cannot_serve(instant_fit, monkeypatch):
    import hiermod.sbc

    monkeypatch.setattr(hiermod.sbc, "instant_reason", lambda data, spec: "a reason for the test.")
    at = _checks_page(instant_fit)
    assert "The instant method cannot serve this model: a reason for the test." in _text(at)
    keys = [b.key for b in at.button]
    assert "w_sbc_instant" not in keys and "w_sbc_nuts" in keys


def test_page_nuts_button_runs_in_the_background(instant_fit, monkeypatch):
    from hiermod.jobs import Job
    import ui.sbc_panel as panel

    monkeypatch.setitem(panel.RUNS, "nuts", dict(TINY_NUTS))
    at = _checks_page(instant_fit)
    at.button(key="w_sbc_nuts").click().run()
    assert not at.exception, at.exception
    job = at.session_state["hm_sbc_job"]
    assert isinstance(job, Job)
    assert at.button(key="w_sbc_nuts").disabled and at.button(key="w_sbc_cancel")
    assert job.wait(timeout=300), "the calibration did not finish"
    assert job.status == "done", job.error_message
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["hm_sbc_job"] is None
    assert "Calibration of NUTS" in [h.value for h in at.subheader]
    assert isinstance(job.result(0), SBCResult)
