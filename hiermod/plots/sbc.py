"""Simulation-based calibration, drawn from the tables of :class:`hiermod.sbc.SBCResult`.

* ``histogram_table()``: ``parameter, low, high, count, expected, band_low, band_high`` (rank
  histograms with the pointwise 99% band of a uniform count, Talts et al. 2018)
* ``ecdf_table()``: ``parameter, z, difference, band_low, band_high`` (ECDF minus the uniform CDF,
  with the simultaneous band of Säilynoja, Bürkner & Vehtari 2022)

One panel per parameter (``params`` picks and orders them; :meth:`SBCResult.shown_parameters`
chooses the ones worth showing when there are many). ``subtitles`` adds a note to a panel's
title (e.g. its p-value) and ``flagged`` colours a panel's curve as a departure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hiermod.plots.style import GREY, LIGHT_GREY, PlotInputError, apply_layout, color, require_columns, safe_text

__all__ = ["rank_histogram_plot", "ecdf_difference_plot", "MAX_PANELS"]

MAX_PANELS = 12
COLUMNS = 4
BAND_FILL = "rgba(140,140,140,0.28)"


def _chosen(table: pd.DataFrame, params: Iterable[str] | None, builder: str) -> list[str]:
    have = [str(p) for p in pd.unique(table["parameter"])]
    if params is None:
        return have[:MAX_PANELS]
    params = [str(p) for p in params]
    missing = [p for p in params if p not in have]
    if missing:
        raise PlotInputError(f"{builder}: no rows for {missing[:5]}; the table has {have[:10]}.")
    if not params:
        raise PlotInputError(f"{builder}: no parameters chosen to draw.")
    return params[:MAX_PANELS]


def _grid(params: list[str], subtitles: Mapping[str, str] | None, height_per_row: int):
    cols = min(COLUMNS, len(params))
    rows = math.ceil(len(params) / cols)
    titles = []
    for p in params:
        note = (subtitles or {}).get(p)
        titles.append(safe_text(p) + (f" <span style='font-size:12px'>({safe_text(note)})</span>" if note else ""))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.05,
                        vertical_spacing=min(0.12, 0.5 / rows))
    return fig, rows, cols, TOP + 60 + height_per_row * rows


TOP = 120
"""Top margin (px): the title, then the legend, then the first row's panel titles."""


def _finish(fig: go.Figure, title: str, height: int) -> None:
    apply_layout(fig, title, height=height)
    inner = height - TOP - 60
    fig.update_layout(margin=dict(t=TOP, b=60), title=dict(y=1 - 14 / height, yanchor="top"),
                      legend=dict(orientation="h", yanchor="bottom", y=1 + 45 / inner, xanchor="left", x=0))


def rank_histogram_plot(table: pd.DataFrame, *, params: Iterable[str] | None = None,
                        subtitles: Mapping[str, str] | None = None, flagged: Iterable[str] = (),
                        title: str | None = None) -> go.Figure:
    """Rank histograms, one panel per parameter: bars of the counts per rank bin, the expected
    count (dashed) and the grey band where 99% of uniform counts fall, bin by bin (so about 1 bar in
    100 leaves it by chance). Flagged parameters' bars are vermillion."""
    require_columns(table, ["parameter", "low", "high", "count", "expected", "band_low", "band_high"],
                    "rank_histogram_plot")
    params = _chosen(table, params, "rank_histogram_plot")
    flagged = {str(p) for p in flagged}
    fig, rows, cols, height = _grid(params, subtitles, 210)
    L, R = table.attrs.get("L"), table.attrs.get("R")
    for i, p in enumerate(params):
        r, c = i // cols + 1, i % cols + 1
        t = table[table["parameter"].astype(str) == p]
        lo, hi = t["low"].to_numpy(float), t["high"].to_numpy(float) + 1
        xs = np.column_stack([lo, hi]).ravel()
        band_lo = np.repeat(t["band_low"].to_numpy(float), 2)
        band_hi = np.repeat(t["band_high"].to_numpy(float), 2)
        fig.add_trace(go.Bar(x=(lo + hi) / 2 - 0.5, y=t["count"], width=(hi - lo) * 0.92,
                             marker_color=color("outside") if p in flagged else color("draws"),
                             name="replications per rank bin", legendgroup="bars", showlegend=i == 0,
                             customdata=np.column_stack([t["low"], t["high"]]),
                             hovertemplate="ranks %{customdata[0]}–%{customdata[1]}: %{y}<extra></extra>"),
                      row=r, col=c)
        fig.add_trace(go.Scatter(x=np.concatenate([xs, xs[::-1]]), y=np.concatenate([band_hi, band_lo[::-1]]),
                                 fill="toself", fillcolor=BAND_FILL, line=dict(width=1, color=GREY),
                                 hoverinfo="skip", name="99% of uniform counts (per bin)", legendgroup="band",
                                 showlegend=i == 0), row=r, col=c)
        fig.add_trace(go.Scatter(x=xs, y=np.repeat(t["expected"].to_numpy(float), 2), mode="lines",
                                 line=dict(color=GREY, dash="dash", width=1.5), hoverinfo="skip",
                                 name="expected if calibrated", legendgroup="expected", showlegend=i == 0),
                      row=r, col=c)
    fig.update_xaxes(range=[-0.5, (L or float(table["high"].max())) + 0.5])
    head = title or (f"Rank of the true value among {L} posterior draws, {R} replications" if L else "Ranks")
    _finish(fig, head, height)
    fig.update_layout(bargap=0.0)
    fig.update_yaxes(rangemode="tozero")
    for r in range(1, rows + 1):
        fig.update_xaxes(title_text="rank" if r == rows else None, row=r, col=1)
        fig.update_yaxes(title_text="count", row=r, col=1)
    return fig


def ecdf_difference_plot(table: pd.DataFrame, *, params: Iterable[str] | None = None,
                         subtitles: Mapping[str, str] | None = None, flagged: Iterable[str] = (),
                         title: str | None = None) -> go.Figure:
    """ECDF of the fractional ranks minus the uniform CDF, one panel per parameter, inside the
    simultaneous band (a calibrated method's whole curve stays inside it with the stated
    probability). Curves that leave the band, or flagged parameters, are vermillion."""
    require_columns(table, ["parameter", "z", "difference", "band_low", "band_high"], "ecdf_difference_plot")
    params = _chosen(table, params, "ecdf_difference_plot")
    flagged = {str(p) for p in flagged}
    fig, rows, cols, height = _grid(params, subtitles, 200)
    prob = table.attrs.get("band_prob")
    band_name = (f"simultaneous {prob:.0%} band" if prob else "simultaneous band")
    for i, p in enumerate(params):
        r, c = i // cols + 1, i % cols + 1
        t = table[table["parameter"].astype(str) == p].sort_values("z")
        z = np.concatenate([[0.0], t["z"].to_numpy(float), [1.0]])
        lo = np.concatenate([[0.0], t["band_low"].to_numpy(float), [0.0]])
        hi = np.concatenate([[0.0], t["band_high"].to_numpy(float), [0.0]])
        d = np.concatenate([[0.0], t["difference"].to_numpy(float), [0.0]])
        outside = bool(np.any((d < lo - 1e-12) | (d > hi + 1e-12)))
        line = color("outside") if outside or p in flagged else color("posterior")
        fig.add_trace(go.Scatter(x=np.concatenate([z, z[::-1]]), y=np.concatenate([hi, lo[::-1]]),
                                 fill="toself", fillcolor=BAND_FILL, line=dict(width=0), hoverinfo="skip",
                                 name=band_name, legendgroup="band", showlegend=i == 0), row=r, col=c)
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 0], mode="lines", line=dict(color=LIGHT_GREY, width=1),
                                 hoverinfo="skip", showlegend=False), row=r, col=c)
        fig.add_trace(go.Scatter(x=z, y=d, mode="lines", line=dict(color=line, width=2),
                                 name="ECDF − uniform", legendgroup="curve", showlegend=i == 0,
                                 hovertemplate="fractional rank %{x:.2f}: ECDF − uniform %{y:.3f}<extra></extra>"),
                      row=r, col=c)
    head = title or "ECDF of the ranks minus the uniform CDF, with its simultaneous band"
    _finish(fig, head, height)
    for r in range(1, rows + 1):
        fig.update_xaxes(title_text="fractional rank" if r == rows else None, row=r, col=1)
        fig.update_yaxes(title_text="ECDF − uniform", row=r, col=1)
    fig.update_xaxes(range=[0, 1])
    return fig
