"""Shrinkage: how far partial pooling moves each group from its own estimate toward the pool.

Input is :func:`hiermod.compare.shrinkage_table` (one row per group)::

    group, n, se, precision, no_pooling, partial_mean, partial_low, partial_high,
    complete_pooling, shrinkage, weight   (+ *_response columns for binomial / poisson)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hiermod.plots.style import (
    apply_layout,
    as_float,
    color,
    first_column,
    group_height,
    interval_label as _interval_label,
    marker_sizes,
    require_columns,
    safe_labels,
    safe_text,
)

__all__ = ["shrinkage_plot", "shrinkage_vs_precision"]

_ESTIMATES = ("no_pooling", "partial_mean", "partial_low", "partial_high", "complete_pooling")

_HOVER = (
    "%{customdata[0]}  (%{customdata[1]})<br>"
    "no pooling: %{customdata[2]:.3g}<br>"
    "partial pooling: %{customdata[3]:.3g}  [%{customdata[4]:.3g}, %{customdata[5]:.3g}]<br>"
    "complete pooling: %{customdata[6]:.3g}<br>"
    "shrinkage: %{customdata[7]:.0%}<extra></extra>"
)


def _scale_columns(table: pd.DataFrame, scale: str) -> dict[str, str]:
    """Map the estimate columns to their ``*_response`` versions when asked and present."""
    if scale == "response":
        return {c: (f"{c}_response" if f"{c}_response" in table.columns else c) for c in _ESTIMATES}
    if scale != "link":
        raise ValueError(f"scale must be 'link' or 'response', got {scale!r}")
    return {c: c for c in _ESTIMATES}


def _size_text(table: pd.DataFrame) -> list[str]:
    """'n = 12' or 'se = 3.1' per group, for hover."""
    if "n" in table.columns and "se" in table.columns:
        return [f"n = {_fmt(n)}, se = {_fmt(s)}" for n, s in zip(table["n"], table["se"])]
    if "n" in table.columns:
        return [f"n = {_fmt(n)}" for n in table["n"]]
    if "se" in table.columns:
        return [f"se = {_fmt(s)}" for s in table["se"]]
    return [""] * len(table)


def _fmt(v) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return safe_text(v)
    if not np.isfinite(f):
        return "–"
    return f"{int(f)}" if f.is_integer() else f"{f:.3g}"


def _weights(table: pd.DataFrame, size_by: str | None) -> np.ndarray | None:
    col = size_by or first_column(table, ("precision", "n", "weight"))
    if col is None or col not in table.columns:
        return None
    return as_float(table[col])


def shrinkage_plot(
    table: pd.DataFrame,
    *,
    scale: str = "link",
    sort: str | None = "no_pooling",
    size_by: str | None = None,
    title: str | None = "Partial pooling pulls each group toward the pool",
    x_title: str | None = "estimate",
    interval_label: str | None = None,
) -> go.Figure:
    """Each group's no-pooling estimate with an arrow to its partial-pooling estimate.

    Groups are rows (y), estimates on x. Orange circles: no pooling (area ~ precision, or n);
    blue diamonds with a bar: partial pooling mean and interval; black line: complete pooling.
    ``sort``: ``"no_pooling"``, ``"partial_mean"``, ``"shrinkage"`` or None (table order).
    ``scale="response"`` uses the ``*_response`` columns where the table has them.
    """
    require_columns(table, ["group", *_ESTIMATES, "shrinkage"], "shrinkage_plot")
    if interval_label is None:
        interval_label = _interval_label(table)
    cols = _scale_columns(table, scale)
    t = table.reset_index(drop=True)
    if sort:
        key = cols.get(sort, sort)
        if key in t.columns:
            t = t.iloc[np.argsort(as_float(t[key]), kind="stable")].reset_index(drop=True)
    n = len(t)
    pos = np.arange(n, dtype=float)
    labels = safe_labels(t["group"])
    no_pool = as_float(t[cols["no_pooling"]])
    mean = as_float(t[cols["partial_mean"]])
    low = as_float(t[cols["partial_low"]])
    high = as_float(t[cols["partial_high"]])
    complete = as_float(t[cols["complete_pooling"]])
    shrink = as_float(t["shrinkage"])
    custom = np.empty((n, 8), dtype=object)
    custom[:, 0] = labels
    custom[:, 1] = _size_text(t)
    custom[:, 2] = no_pool
    custom[:, 3] = mean
    custom[:, 4] = low
    custom[:, 5] = high
    custom[:, 6] = complete
    custom[:, 7] = shrink

    fig = go.Figure()
    # complete pooling: one vertical line when it is one number, else a tick per group
    finite_c = complete[np.isfinite(complete)]
    if finite_c.size and np.allclose(finite_c, finite_c[0]):
        fig.add_trace(go.Scatter(
            x=[finite_c[0], finite_c[0]], y=[-0.6, n - 0.4], mode="lines",
            line=dict(color=color("complete"), width=2, dash="dash"),
            name="complete pooling", hovertemplate="complete pooling: %{x:.3g}<extra></extra>",
        ))
    else:
        fig.add_trace(go.Scatter(
            x=complete, y=pos, mode="markers", name="complete pooling",
            marker=dict(symbol="line-ns", size=18, line=dict(width=3, color=color("complete"))),
            customdata=custom, hovertemplate=_HOVER,
        ))
    # arrows: from no pooling to partial pooling, head at the partial estimate
    ax, ay, sym, size = [], [], [], []
    for a, b, p in zip(no_pool, mean, pos):
        ax += [a, b, None]
        ay += [p, p, None]
        sym += ["circle", "arrow", "circle"]
        size += [0, 11, 0]
    fig.add_trace(go.Scatter(
        x=ax, y=ay, mode="lines+markers", name="shrinkage",
        line=dict(color=color("shrinkage"), width=1.5),
        marker=dict(symbol=sym, size=size, angleref="previous", standoff=6,
                    color=color("shrinkage")),
        hoverinfo="skip",
    ))
    # partial pooling interval + mean
    fig.add_trace(go.Scatter(
        x=mean, y=pos - 0.18, mode="markers", name=f"partial pooling ({safe_text(interval_label)})",
        marker=dict(symbol="diamond", size=10, color=color("partial")),
        error_x=dict(type="data", symmetric=False, array=high - mean, arrayminus=mean - low,
                     color=color("partial"), thickness=1.8, width=0),
        customdata=custom, hovertemplate=_HOVER,
    ))
    w = _weights(t, size_by)
    sizes = marker_sizes(w) if w is not None else 11
    fig.add_trace(go.Scatter(
        x=no_pool, y=pos, mode="markers", name="no pooling",
        marker=dict(size=sizes, color=color("no_pooling"), opacity=0.85,
                    line=dict(width=1, color="white")),
        customdata=custom, hovertemplate=_HOVER,
    ))
    apply_layout(fig, title, x_title=x_title, height=group_height(n))
    fig.update_yaxes(tickmode="array", tickvals=pos.tolist(), ticktext=labels,
                     range=[-0.8, n - 0.2], showgrid=False, automargin=True)
    return fig


def shrinkage_vs_precision(
    table: pd.DataFrame,
    *,
    x: str | None = None,
    title: str | None = "Less precise groups are shrunk more",
) -> go.Figure:
    """Shrinkage (y, share of the way to complete pooling) against precision (or se) on x.

    ``x`` names the column; default ``precision``, else ``se``, else ``n``.
    """
    require_columns(table, ["group", "shrinkage"], "shrinkage_vs_precision")
    xcol = x or first_column(table, ("precision", "se", "n"))
    if xcol is None or xcol not in table.columns:
        require_columns(table, ["group", "shrinkage", x or "precision"], "shrinkage_vs_precision")
    t = table.reset_index(drop=True)
    labels = safe_labels(t["group"])
    size_text = _size_text(t)
    xs = as_float(t[xcol])
    ys = as_float(t["shrinkage"])
    custom = np.column_stack([np.array(labels, dtype=object), np.array(size_text, dtype=object),
                              np.full(len(t), safe_text(xcol), dtype=object)])
    w = _weights(t, None)
    fig = go.Figure(go.Scatter(
        x=xs, y=ys, mode="markers", name="groups",
        marker=dict(size=marker_sizes(w) if w is not None else 11, color=color("partial"),
                    opacity=0.85, line=dict(width=1, color="white")),
        customdata=custom,
        hovertemplate=("%{customdata[0]}  (%{customdata[1]})<br>"
                       "%{customdata[2]}: %{x:.3g}<br>shrinkage: %{y:.0%}<extra></extra>"),
    ))
    apply_layout(fig, title, x_title=xcol, y_title="shrinkage toward the pool", show_legend=False)
    fig.update_yaxes(tickformat=".0%")
    fin = xs[np.isfinite(xs)]
    if xcol in ("precision", "n") and fin.size and fin.min() > 0 and fin.max() / fin.min() > 30:
        fig.update_xaxes(type="log")
    return fig
