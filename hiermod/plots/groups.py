"""Group-level questions ("exceptional or lucky?"), drawn from the tables of
:mod:`hiermod.group_ranks`, :mod:`hiermod.pooling_factor` and :mod:`hiermod.leave_group_out`.

* ``rank_table``: ``group, rank_median, rank_low, rank_high, rank_mean, p_best`` (+ ``p_worst``,
  ``p_above_mean``) -> :func:`group_rank_plot`, a caterpillar plot
* ``pooling_factor_table``: ``group, pooling`` (+ ``pooling_low``, ``pooling_high``, ``basis``)
  -> :func:`pooling_factor_plot`
* ``leave_group_out``: ``group, observed, pred_mean, pred_low, pred_high, outside`` (+ ``pareto_k``,
  ``reliable``) -> :func:`leave_group_out_plot`
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hiermod.plots.style import (
    apply_layout,
    as_float,
    color,
    group_height,
    interval_segments,
    require_columns,
    safe_labels,
    safe_text,
)

__all__ = ["group_rank_plot", "pooling_factor_plot", "leave_group_out_plot"]


def _rows_axis(fig: go.Figure, labels: list[str], n: int) -> None:
    fig.update_yaxes(tickmode="array", tickvals=list(range(n)), ticktext=labels,
                     range=[-0.8, n - 0.2], showgrid=False, automargin=True)


def _column(table: pd.DataFrame, name: str) -> np.ndarray:
    return as_float(table[name]) if name in table.columns else np.full(len(table), np.nan)


def group_rank_plot(rank_table: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Caterpillar plot of ranks: groups sorted by median rank (best on top), the central interval
    of each rank as a bar, the median as a dot sized by P(best); hover: mean rank, P(best),
    P(worst), P(above the population mean)."""
    require_columns(rank_table, ["group", "rank_median", "rank_low", "rank_high", "p_best"], "group_rank_plot")
    t = rank_table.assign(_mean=_column(rank_table, "rank_mean")).sort_values(
        ["rank_median", "_mean"], ascending=False, kind="stable").reset_index(drop=True)
    n = len(t)
    labels = safe_labels(t["group"])
    pos = np.arange(n, dtype=float)
    low, high, median = as_float(t["rank_low"]), as_float(t["rank_high"]), as_float(t["rank_median"])
    p_best = as_float(t["p_best"])
    custom = np.column_stack([labels, median, _column(t, "rank_mean"), low, high, p_best,
                              _column(t, "p_worst"), _column(t, "p_above_mean")]).astype(object)
    hover = ("%{customdata[0]}<br>median rank: %{customdata[1]:.0f} (mean %{customdata[2]:.2f})<br>"
             "interval: %{customdata[3]:.0f} to %{customdata[4]:.0f}<br>P(best): %{customdata[5]:.3f}"
             "<br>P(worst): %{customdata[6]:.3f}<br>P(above the population mean): %{customdata[7]:.3f}"
             "<extra></extra>")
    prob = rank_table.attrs.get("prob")
    interval = f"{float(prob):.0%} interval of the rank" if prob is not None else "interval of the rank"
    xs, ys = interval_segments(low, high, pos)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=interval, hoverinfo="skip",
                             line=dict(color=color("partial"), width=5), opacity=0.45))
    fig.add_trace(go.Scatter(
        x=median, y=pos, mode="markers", name="median rank (size: P(best))", customdata=custom,
        hovertemplate=hover,
        marker=dict(color=color("partial"), size=8 + 22 * np.sqrt(np.clip(p_best, 0, 1)),
                    line=dict(width=1, color=color("complete"))),
    ))
    if title is None:
        best = t.iloc[int(np.argmax(p_best))]
        title = (f"Rank of each group (1 = best): {best['group']} is best with probability "
                 f"{float(best['p_best']):.0%}")
    apply_layout(fig, title, x_title="rank (1 = best)", height=group_height(n))
    fig.update_xaxes(range=[n + 0.5, 0.5], dtick=1 if n <= 20 else None)   # rank 1 on the right
    _rows_axis(fig, labels, n)
    return fig


def pooling_factor_plot(pooling_table: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Bar per group: lambda_j, the share of its estimate taken from the population (0 = its own
    data only, 1 = the population only), with the interval of lambda_j's draws where it has one."""
    require_columns(pooling_table, ["group", "pooling"], "pooling_factor_plot")
    t = pooling_table.reset_index(drop=True)
    n = len(t)
    labels = safe_labels(t["group"])
    value = as_float(t["pooling"])
    low, high = _column(t, "pooling_low"), _column(t, "pooling_high")
    has_interval = bool(np.isfinite(low).any())
    error = dict(type="data", symmetric=False, array=np.where(np.isfinite(high), high - value, 0),
                 arrayminus=np.where(np.isfinite(low), value - low, 0), color=color("complete"),
                 thickness=1.2) if has_interval else None
    custom = np.column_stack([labels, value, low, high]).astype(object)
    hover = "%{customdata[0]}<br>weight on the population: %{customdata[1]:.3f}"
    if has_interval:
        hover += "<br>interval: %{customdata[2]:.3f} to %{customdata[3]:.3f}"
    fig = go.Figure(go.Bar(x=value, y=np.arange(n), orientation="h", name="pooling factor",
                           marker_color=color("shrinkage"), opacity=0.7, error_x=error,
                           customdata=custom, hovertemplate=hover + "<extra></extra>"))
    basis = pooling_table.attrs.get("basis")
    if title is None:
        title = "How much each group borrows from the others"
    apply_layout(fig, title, x_title="weight on the population (0 = own data, 1 = population)",
                 height=group_height(n), show_legend=False)
    if basis:
        fig.add_annotation(text=safe_text(basis), xref="paper", yref="paper", x=0, y=1.01,
                           showarrow=False, xanchor="left", yanchor="bottom", font=dict(size=12))
    fig.update_xaxes(range=[0, 1.02])
    _rows_axis(fig, labels, n)
    return fig


def leave_group_out_plot(logo_table: pd.DataFrame, *, title: str | None = None,
                         x_title: str | None = None) -> go.Figure:
    """Per group, the interval predicted from the other groups (bar) and the observed value
    (diamond); groups outside their interval in vermillion, inside in green; PSIS rows with an
    unreliable Pareto k get an open marker. Title: the table's verdict."""
    require_columns(logo_table, ["group", "observed", "pred_mean", "pred_low", "pred_high", "outside"],
                    "leave_group_out_plot")
    t = logo_table.reset_index(drop=True)
    n = len(t)
    labels = safe_labels(t["group"])
    outside = t["outside"].fillna(False).astype(bool).to_numpy()
    reliable = t["reliable"].fillna(True).astype(bool).to_numpy() if "reliable" in t.columns else np.ones(n, bool)
    obs, mean = as_float(t["observed"]), as_float(t["pred_mean"])
    low, high = as_float(t["pred_low"]), as_float(t["pred_high"])
    custom = np.column_stack([labels, obs, mean, low, high, np.where(outside, "outside", "inside"),
                              _column(t, "pareto_k")]).astype(object)
    hover = ("%{customdata[0]}<br>observed: %{customdata[1]:.3g} (%{customdata[5]})<br>"
             "predicted from the others: %{customdata[2]:.3g}<br>"
             "interval: [%{customdata[3]:.3g}, %{customdata[4]:.3g}]<br>Pareto k: %{customdata[6]:.2f}"
             "<extra></extra>")
    prob = logo_table.attrs.get("prob")
    interval = f"{float(prob):.0%} interval without the group" if prob is not None else "interval without the group"
    pos = np.arange(n, dtype=float)
    fig = go.Figure()
    for mask, role in ((~outside, "inside"), (outside, "outside")):
        xs, ys = interval_segments(low[mask], high[mask], pos[mask])
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name=f"{interval}, observed {role} ({int(mask.sum())})",
                                 line=dict(color=color(role), width=5), opacity=0.45, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=mean, y=pos, mode="markers", name="predicted mean", customdata=custom,
                             hovertemplate=hover,
                             marker=dict(symbol="line-ns", size=12, line=dict(width=2, color=color("partial")))))
    fig.add_trace(go.Scatter(
        x=obs, y=pos, mode="markers", name="observed", customdata=custom, hovertemplate=hover,
        marker=dict(symbol=np.where(reliable, "diamond", "diamond-open").tolist(), size=11,
                    color=[color("outside") if o else color("inside") for o in outside],
                    line=dict(width=1, color=color("observed")))))
    if title is None:
        title = str(logo_table.attrs.get("verdict") or "Each group predicted from the others")
    if x_title is None:
        x_title = str(logo_table.attrs.get("statistic") or "observed value")
    apply_layout(fig, title, x_title=x_title, height=group_height(n))
    fig.update_layout(title_font_size=14)
    _rows_axis(fig, labels, n)
    return fig
