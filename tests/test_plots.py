"""Figure builders: structure, hover labels, and hostile labels shown only as escaped text.

Hand-made tables with the contract's columns (docs/ARCHITECTURE.md), no fits: fast.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from hiermod import plots
from hiermod.plots.style import PlotInputError, safe_text

HOSTILE = ["<script>alert(1)</script>", "<b>bold</b>", "<img src=x onerror=alert(1)>"]
LABELS = ["Alpha & Co", *HOSTILE, "$x^2$", "%{x} school"]
RAW_MARKUP = ("<script", "<b>", "<img", "<a ", "<span")


# ----------------------------------------------------------------------------- helpers


def strings(obj):
    """Every string anywhere in a figure's JSON-able dict (trace data, layout, annotations)."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from strings(v)
    elif isinstance(obj, np.ndarray) and obj.dtype == object:
        for v in obj.ravel():
            yield from strings(v)


def fig_strings(fig: go.Figure) -> list[str]:
    return list(strings(json.loads(fig.to_json())))


def assert_no_markup(fig: go.Figure) -> None:
    bad = [s for s in fig_strings(fig) if any(m in s.lower() for m in RAW_MARKUP)]
    assert not bad, f"raw markup in figure: {bad[:5]}"


def assert_label_shown(fig: go.Figure, label: str) -> None:
    assert any(safe_text(label) in s for s in fig_strings(fig)), f"{label!r} not in figure"


def n_points(trace) -> int:
    return 0 if trace.x is None else sum(v is not None for v in trace.x)


# ----------------------------------------------------------------------------- tables


@pytest.fixture(scope="module")
def labels():
    return list(LABELS)


@pytest.fixture(scope="module")
def shrink_table(labels):
    n = len(labels)
    rng = np.random.default_rng(0)
    no_pool = rng.normal(5, 8, n)
    w = np.linspace(0.2, 0.8, n)
    partial = (1 - w) * no_pool + w * 5.0
    return pd.DataFrame({
        "group": labels, "n": np.arange(n) + 3, "se": np.linspace(5, 15, n),
        "precision": 1 / np.linspace(5, 15, n) ** 2, "no_pooling": no_pool,
        "partial_mean": partial, "partial_low": partial - 4, "partial_high": partial + 4,
        "complete_pooling": 5.0, "shrinkage": w, "weight": 1 - w,
    })


@pytest.fixture(scope="module")
def funnel_table(labels):
    rng = np.random.default_rng(1)
    chains, draws = 4, 1000
    frames = []
    log_tau = rng.normal(1, 1, (chains, draws))
    div = rng.random((chains, draws)) < 0.02
    for g in labels[:3]:
        frames.append(pd.DataFrame({
            "chain": np.repeat(np.arange(chains), draws), "draw": np.tile(np.arange(draws), chains),
            "group": g, "log_tau": log_tau.ravel(),
            "theta": (np.exp(log_tau) * rng.normal(size=(chains, draws))).ravel(),
            "theta_decentered": rng.normal(size=chains * draws), "diverging": div.ravel(),
        }))
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------- style


def test_safe_text_escapes_markup_and_is_injective():
    assert safe_text("<b>bold</b>") == "&lt;b&gt;bold&lt;/b&gt;"
    assert safe_text("a & b") == "a &amp; b"
    assert safe_text("$x$") == "&#36;x&#36;"
    assert safe_text(None) == "" and safe_text(float("nan")) == ""
    assert safe_text(3) == "3"
    assert safe_text("a&b") != safe_text("a&amp;b")


def test_plotly_js_decodes_the_entities_we_emit():
    """plotly.js draws &lt; &gt; &amp; &#NN; as the characters (so labels read literally)."""
    import os

    import plotly

    js = open(os.path.join(os.path.dirname(plotly.__file__), "package_data", "plotly.min.js"),
              encoding="utf-8").read()
    assert 'amp:"&",lt:"<",gt:">"' in js
    assert r"/&(#\d+|#x[\da-fA-F]+|[a-z]+);/g" in js


def test_require_columns_names_what_is_missing(shrink_table):
    with pytest.raises(PlotInputError, match="partial_mean"):
        plots.shrinkage_plot(shrink_table.drop(columns="partial_mean"))
    with pytest.raises(PlotInputError, match="no rows"):
        plots.shrinkage_plot(shrink_table.iloc[:0])


# ----------------------------------------------------------------------------- shrinkage


def test_shrinkage_plot(shrink_table, labels):
    fig = plots.shrinkage_plot(shrink_table)
    assert isinstance(fig, go.Figure)
    names = [t.name for t in fig.data]
    assert names[0] == "complete pooling" and "no pooling" in names
    by_name = {t.name: t for t in fig.data}
    assert n_points(by_name["no pooling"]) == len(labels)
    assert n_points(by_name["shrinkage"]) == 2 * len(labels)
    assert list(fig.layout.yaxis.ticktext) == sorted(
        [safe_text(x) for x in labels], key=lambda s: dict(zip(map(safe_text, labels),
                                                               shrink_table["no_pooling"]))[s])
    hover = by_name["no pooling"].customdata
    assert {row[0] for row in hover} == {safe_text(x) for x in labels}
    assert "shrinkage" in by_name["no pooling"].hovertemplate
    assert_no_markup(fig)
    for h in HOSTILE:
        assert_label_shown(fig, h)


def test_shrinkage_plot_varying_complete_and_response_scale(shrink_table):
    t = shrink_table.assign(complete_pooling=np.linspace(0, 1, len(shrink_table)))
    for c in ("no_pooling", "partial_mean", "partial_low", "partial_high", "complete_pooling"):
        t[f"{c}_response"] = t[c] / 100
    fig = plots.shrinkage_plot(t, scale="response", sort=None)
    no = next(tr for tr in fig.data if tr.name == "no pooling")
    assert np.allclose(no.x, t["no_pooling_response"])
    assert n_points(fig.data[0]) == len(t)          # a tick per group, not one line
    assert_no_markup(fig)


def test_shrinkage_vs_precision(shrink_table, labels):
    fig = plots.shrinkage_vs_precision(shrink_table)
    assert len(fig.data) == 1 and n_points(fig.data[0]) == len(labels)
    assert fig.data[0].customdata[1][0] == safe_text(labels[1])
    assert_no_markup(fig)
    fig = plots.shrinkage_vs_precision(shrink_table.drop(columns="precision"))
    assert fig.layout.xaxis.title.text == "se"


# ----------------------------------------------------------------------------- continuum


def test_continuum_plot(labels):
    taus = np.linspace(0, 30, 25)
    rows = [(g, t, j + (5 - j) * np.exp(-t / 5)) for j, g in enumerate(labels) for t in taus]
    cont = pd.DataFrame(rows, columns=["group", "tau", "estimate"])
    dens = pd.DataFrame({"tau": taus, "density": np.exp(-taus / 8) / 8})
    fig = plots.continuum_plot(cont, dens)
    assert len(fig.data) == 1 + len(labels)
    assert fig.data[0].yaxis == "y2" and fig.data[0].fill == "tozeroy"
    assert all(n_points(t) == len(taus) for t in fig.data[1:])
    assert {t.customdata[0] for t in fig.data[1:]} == {safe_text(x) for x in labels}
    assert len(fig.layout.annotations) == len(labels)   # names at the line ends
    assert_no_markup(fig)
    log = plots.continuum_plot(cont, log_x=True)
    assert log.layout.xaxis.type == "log"
    assert np.allclose(log.layout.xaxis.range, np.log10([taus[1], taus[-1]]))
    assert plots.continuum_plot(cont, dens.iloc[:10]).layout.xaxis.range[1] == dens["tau"][9]
    assert len(log.data) == len(labels) and all(n_points(t) == len(taus) - 1 for t in log.data)


# ----------------------------------------------------------------------------- funnel


def test_funnel_plot_counts_divergences(funnel_table, labels):
    g = labels[1]
    fig = plots.funnel_plot(funnel_table, g)
    rows = funnel_table[funnel_table["group"] == g]
    n_div = int(rows["diverging"].sum())
    assert [type(t) for t in fig.data] == [go.Scattergl, go.Scattergl]
    assert n_points(fig.data[0]) + n_points(fig.data[1]) == len(rows) == 4000
    assert n_points(fig.data[1]) == n_div and f"({n_div})" in fig.data[1].name
    assert fig.data[1].customdata[0][2] == safe_text(g)
    assert_no_markup(fig)
    dec = plots.funnel_plot(funnel_table, g, decentered=True)
    assert np.allclose(np.sort(np.r_[dec.data[0].x, dec.data[1].x]),
                       np.sort(rows["theta_decentered"]))
    assert plots.funnel_plot(funnel_table).data[0].customdata[0][2] == safe_text(labels[0])
    with pytest.raises(PlotInputError, match="no draws"):
        plots.funnel_plot(funnel_table, "nope")
    centered = funnel_table.assign(theta_decentered=np.nan)
    with pytest.raises(PlotInputError, match="centered"):
        plots.funnel_plot(centered, g, decentered=True)


def test_funnel_pair(funnel_table, labels):
    centered = funnel_table.assign(theta_decentered=np.nan)
    fig = plots.funnel_pair(centered, funnel_table, labels[2])
    assert len(fig.data) == 4
    assert {t.xaxis for t in fig.data} == {"x", "x2"}
    assert_no_markup(fig)
    assert_label_shown(fig, labels[2])


# ----------------------------------------------------------------------------- diagnostics


def test_trace_and_rank_plots():
    rng = np.random.default_rng(2)
    trace = pd.concat([pd.DataFrame({"chain": np.repeat(np.arange(2), 50),
                                     "draw": np.tile(np.arange(50), 2),
                                     "parameter": f"theta[{g}]", "value": rng.normal(size=100)})
                       for g in ("A", HOSTILE[0])], ignore_index=True)
    fig = plots.trace_plot(trace)
    assert len(fig.data) == 4 and all(n_points(t) == 50 for t in fig.data)
    assert_no_markup(fig)
    assert_label_shown(fig, f"theta[{HOSTILE[0]}]")
    one = plots.trace_plot(trace, parameter="theta[A]")
    assert len(one.data) == 2
    ranks = pd.DataFrame([("tau", c, b, int(c + b), 5.0) for c in range(4) for b in range(20)],
                         columns=["parameter", "chain", "bin", "count", "expected"])
    fig = plots.rank_plot(ranks)
    assert sum(isinstance(t, go.Bar) for t in fig.data) == 4
    assert sum(t.name == "uniform" for t in fig.data) == 4
    assert all(len(t.x) == 20 for t in fig.data)
    assert "tau" in fig.layout.title.text


def test_energy_plot():
    rng = np.random.default_rng(3)
    e = pd.DataFrame({"chain": np.repeat([0, 1], 200), "draw": np.tile(np.arange(200), 2),
                      "energy_centered": rng.normal(size=400),
                      "energy_transition": np.r_[np.nan, rng.normal(size=399)],
                      "bfmi": np.repeat([0.91, 0.42], 200)})
    fig = plots.energy_plot(e)
    assert [type(t) for t in fig.data] == [go.Histogram, go.Histogram]
    assert len(fig.data[0].x) == 400 and len(fig.data[1].x) == 399   # NaN dropped
    assert fig.layout.barmode == "overlay" and "0.42" in fig.layout.title.text
    empty = plots.energy_plot(e.iloc[:0])
    assert len(empty.data) == 0 and "exact" in empty.layout.annotations[0].text


def test_posterior_vs_prior_plot():
    rng = np.random.default_rng(4)
    x = np.linspace(0, 50, 100)
    prior = pd.DataFrame({"x": x, "density": np.exp(-x / 10) / 10})
    exact = pd.DataFrame({"tau": x, "density": np.exp(-x / 5) / 5})
    fig = plots.posterior_vs_prior_plot(np.abs(rng.normal(0, 5, 500)), prior, exact,
                                        name=HOSTILE[1])
    assert [t.name for t in fig.data][1:] == ["prior", "exact posterior"]
    assert fig.data[0].histnorm == "probability density"
    assert_no_markup(fig)
    assert safe_text(HOSTILE[1]) in fig.layout.title.text
    assert len(plots.posterior_vs_prior_plot([1.0, 2.0], (x, x)).data) == 2


# ----------------------------------------------------------------------------- priors


def test_prior_plots(labels):
    x = np.linspace(0, 60, 200)          # the shape of hiermod.priors.density_table's output
    curve = pd.DataFrame({"x": x, "density": 2 / (np.pi * 5 * (1 + (x / 5) ** 2))})
    fig = plots.prior_density_plot(curve, "tau", prior_label="HalfCauchy(5)")
    assert len(fig.data) == 1 and n_points(fig.data[0]) == len(curve)
    assert "HalfCauchy(5)" in fig.layout.title.text
    obs = np.arange(len(labels), dtype=float)
    sim = np.random.default_rng(5).normal(0, 10, (50, len(labels)))
    fig = plots.prior_predictive_plot(obs, sim, labels=labels)
    assert len(fig.data[0].x) == sim.size and n_points(fig.data[1]) == len(labels)
    assert list(fig.data[1].customdata) == [safe_text(x) for x in labels]
    assert_no_markup(fig)
    wide = np.r_[sim.ravel(), 1e6, -1e6]                  # a vague prior's far tail
    fig = plots.prior_predictive_plot(obs, wide)
    lo, hi = fig.layout.xaxis.range
    assert (lo, hi) == (-2.0 * (len(obs) - 1), 3.0 * (len(obs) - 1))   # observed span, widened
    n_out = int(((wide < lo) | (wide > hi)).sum())
    assert f"{n_out} outside the view" in fig.data[0].name
    assert plots.prior_predictive_plot(obs, wide, x_range=None).layout.xaxis.range is None


# ----------------------------------------------------------------------------- checks


def test_ppc_plot(labels):
    n = len(labels)
    inside = np.arange(n) % 3 != 0
    t = pd.DataFrame({"group": labels, "observed": np.arange(n, dtype=float),
                      "pred_mean": np.arange(n) + 0.5, "pred_low": np.arange(n) - 2.0,
                      "pred_high": np.arange(n) + 3.0, "inside": inside})
    fig = plots.ppc_plot(t)
    assert f"{inside.sum()} of {n}" in fig.layout.title.text
    obs = next(tr for tr in fig.data if tr.name == "observed")
    assert n_points(obs) == n and obs.customdata[2][0] == safe_text(labels[2])
    assert sum(n_points(tr) for tr in fig.data[:2]) == 2 * n
    assert_no_markup(fig)


def test_forest_plot(labels):
    rows = [(m, g, j + k, j + k - 1, j + k + 1) for k, m in enumerate(("none", "complete", "partial"))
            for j, g in enumerate(labels)]
    t = pd.DataFrame(rows, columns=["model", "group", "mean", "low", "high"])
    fig = plots.forest_plot(t)
    assert [tr.name for tr in fig.data] == ["no pooling", "complete pooling", "partial pooling"]
    assert all(n_points(tr) == len(labels) for tr in fig.data)
    ys = np.array([tr.y for tr in fig.data])
    assert (np.diff(ys, axis=0) < 0).all()                      # dodged, not overlapping
    assert_no_markup(fig)
    assert_label_shown(fig, HOSTILE[2])


def test_variance_plot():
    t = pd.DataFrame({"mean": [6.0, 10.0, 0.3], "low": [1.0, 8.0, 0.05], "high": [12.0, 12.0, 0.6],
                      "note": ["tau", "<b>sigma</b>", ""]}, index=["between", "within", "share_between"])
    fig = plots.variance_plot(t)
    assert len(fig.data) == 3 and fig.data[2].xaxis == "x2"
    assert_no_markup(fig)
    fig = plots.variance_plot(t.reset_index(names="component"))
    assert len(fig.data) == 3


def test_new_group_plot(labels):
    t = pd.DataFrame({"mean": [1.0, 0.6, 1.1], "low": [-5.0, 0.1, -20.0], "high": [7.0, 0.9, 22.0]},
                     index=["theta_new", "response_new", "y_new"])
    fig = plots.new_group_plot(t)
    assert len(fig.data) == 1 and n_points(fig.data[0]) == 3
    draws = np.random.default_rng(6).normal(size=300)
    fig = plots.new_group_plot(draws, observed=np.arange(len(labels)), labels=labels)
    assert isinstance(fig.data[0], go.Histogram) and len(fig.data[0].x) == 300
    assert list(fig.data[1].customdata) == [safe_text(x) for x in labels]
    assert_no_markup(fig)


def test_holdout_plot(labels):
    n = len(labels)
    t = pd.DataFrame({"group": labels, "no_pooling_response": np.linspace(0.2, 0.4, n),
                      "partial_mean_response": np.linspace(0.25, 0.3, n),
                      "partial_low_response": np.linspace(0.2, 0.25, n),
                      "partial_high_response": np.linspace(0.3, 0.35, n),
                      "complete_pooling_response": 0.27,
                      "remaining": np.linspace(0.22, 0.33, n)})
    fig = plots.holdout_plot(t)
    names = [tr.name for tr in fig.data]
    assert names == ["complete pooling", "shrinkage", "first 45 at-bats", "shrunk estimate",
                     "rest of season"]
    assert all(n_points(tr) == n for tr in fig.data[2:])
    assert fig.data[3].error_x.array is not None
    assert_no_markup(fig)
    assert_label_shown(fig, HOSTILE[0])
    simple = t.rename(columns={"no_pooling_response": "first", "partial_mean_response": "estimate",
                               "remaining": "holdout"})[["group", "first", "estimate", "holdout"]]
    assert len(plots.holdout_plot(simple).data) == 4


def test_every_builder_is_exported():
    for name in ("shrinkage_plot", "shrinkage_vs_precision", "continuum_plot", "funnel_plot",
                 "funnel_pair", "trace_plot", "rank_plot", "energy_plot", "posterior_vs_prior_plot",
                 "prior_density_plot", "prior_predictive_plot", "ppc_plot", "forest_plot",
                 "variance_plot", "new_group_plot", "holdout_plot"):
        assert callable(getattr(plots, name))
