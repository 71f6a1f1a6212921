"""Model checks and comparisons, drawn from :mod:`hiermod.compare` tables.

* ``ppc_table``: ``group, observed, pred_mean, pred_low, pred_high, inside``
* ``forest_table``: ``model, group, mean, low, high`` (model: none / complete / partial)
* ``variance_decomposition``: rows ``between, within, share_between`` (index or a
  ``component`` column) with ``mean, low, high`` and an optional ``note``
* ``predict_new_group``: rows ``theta_new, response_new, y_new`` with ``mean, low, high``,
  or raw draws
* holdout (Efron–Morris): ``group`` with first-season, shrunk and rest-of-season averages
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hiermod.plots.style import (
    MODEL_NAMES,
    PlotInputError,
    apply_layout,
    as_float,
    color,
    first_column,
    group_height,
    interval_label as _interval_label,
    interval_segments,
    model_color,
    require_columns,
    safe_labels,
    safe_text,
)

__all__ = ["ppc_plot", "forest_plot", "variance_plot", "new_group_plot", "holdout_plot"]


def _rows_axis(fig: go.Figure, labels: list[str], n: int) -> None:
    fig.update_yaxes(tickmode="array", tickvals=list(range(n)), ticktext=labels,
                     range=[-0.8, n - 0.2], showgrid=False, automargin=True)


def ppc_plot(
    ppc_table: pd.DataFrame,
    *,
    interval_label: str | None = None,
    title: str | None = None,
    x_title: str | None = None,
) -> go.Figure:
    """Per group: the posterior predictive interval (bar), its mean, and the observed value.

    Bars and observed markers are green when the observation is inside the interval and
    vermillion when outside; the title counts how many groups are inside.
    """
    require_columns(ppc_table, ["group", "observed", "pred_mean", "pred_low", "pred_high", "inside"],
                    "ppc_plot")
    if interval_label is None:
        interval_label = _interval_label(ppc_table, "predictive interval", "predictive interval")
    if x_title is None:
        stat = ppc_table["statistic"].iloc[0] if "statistic" in ppc_table.columns else None
        x_title = str(stat) if isinstance(stat, str) and stat else "outcome"
    t = ppc_table.reset_index(drop=True)
    n = len(t)
    labels = safe_labels(t["group"])
    inside = t["inside"].fillna(False).astype(bool).to_numpy()
    obs, mean = as_float(t["observed"]), as_float(t["pred_mean"])
    low, high = as_float(t["pred_low"]), as_float(t["pred_high"])
    custom = np.empty((n, 6), dtype=object)
    custom[:, 0] = labels
    custom[:, 1] = obs
    custom[:, 2] = mean
    custom[:, 3] = low
    custom[:, 4] = high
    custom[:, 5] = np.where(inside, "inside", "outside")
    hover = ("%{customdata[0]}<br>observed: %{customdata[1]:.3g} (%{customdata[5]})<br>"
             "predictive mean: %{customdata[2]:.3g}<br>"
             "interval: [%{customdata[3]:.3g}, %{customdata[4]:.3g}]<extra></extra>")
    pos = np.arange(n, dtype=float)
    fig = go.Figure()
    for mask, role, word in ((inside, "inside", "inside"), (~inside, "outside", "outside")):
        xs, ys = interval_segments(low[mask], high[mask], pos[mask])
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", name=f"{safe_text(interval_label)}, observed {word} "
                                          f"({int(mask.sum())})",
            line=dict(color=color(role), width=5), opacity=0.45, hoverinfo="skip",
            legendgroup=word,
        ))
    fig.add_trace(go.Scatter(
        x=mean, y=pos, mode="markers", name="predictive mean",
        marker=dict(symbol="line-ns", size=12, line=dict(width=2, color=color("partial"))),
        customdata=custom, hovertemplate=hover,
    ))
    fig.add_trace(go.Scatter(
        x=obs, y=pos, mode="markers", name="observed",
        marker=dict(symbol="diamond", size=11, color=[color("inside") if i else color("outside")
                                                      for i in inside],
                    line=dict(width=1, color=color("observed"))),
        customdata=custom, hovertemplate=hover,
    ))
    if title is None:
        title = f"Posterior predictive check: {int(inside.sum())} of {n} groups inside the interval"
    apply_layout(fig, title, x_title=x_title, height=group_height(n))
    _rows_axis(fig, labels, n)
    return fig


def forest_plot(
    forest_table: pd.DataFrame,
    *,
    title: str | None = "No, complete and partial pooling, group by group",
    x_title: str | None = "estimate",
    models: list[str] | None = None,
) -> go.Figure:
    """Per group, one dodged interval per pooling model (``model`` column), mean as a dot."""
    require_columns(forest_table, ["model", "group", "mean", "low", "high"], "forest_plot")
    t = forest_table
    groups = list(pd.unique(t["group"]))
    g_index = {g: i for i, g in enumerate(groups)}
    models = models or [m for m in ("none", "complete", "partial") if m in set(t["model"])] + \
        [m for m in pd.unique(t["model"]) if m not in ("none", "complete", "partial")]
    k = len(models)
    step = 0.7 / max(k, 1)
    labels = safe_labels(groups)
    fig = go.Figure()
    for j, m in enumerate(models):
        rows = t[t["model"] == m]
        if rows.empty:
            continue
        offset = (k - 1) / 2 * step - j * step   # first model on top
        pos = np.array([g_index[g] for g in rows["group"]], dtype=float) + offset
        mean, low, high = as_float(rows["mean"]), as_float(rows["low"]), as_float(rows["high"])
        name = safe_text(MODEL_NAMES.get(str(m), m))
        custom = np.empty((len(rows), 5), dtype=object)
        custom[:, 0] = safe_labels(rows["group"])
        custom[:, 1] = name
        custom[:, 2] = mean
        custom[:, 3] = low
        custom[:, 4] = high
        fig.add_trace(go.Scatter(
            x=mean, y=pos, mode="markers", name=name,
            marker=dict(size=8, color=model_color(str(m), j),
                        symbol={"none": "circle", "complete": "square"}.get(str(m), "diamond")),
            error_x=dict(type="data", symmetric=False, array=high - mean, arrayminus=mean - low,
                         color=model_color(str(m), j), thickness=2, width=0),
            customdata=custom,
            hovertemplate=("%{customdata[0]} — %{customdata[1]}<br>mean %{customdata[2]:.3g}"
                           "<br>interval [%{customdata[3]:.3g}, %{customdata[4]:.3g}]<extra></extra>"),
        ))
    apply_layout(fig, title, x_title=x_title, height=group_height(len(groups), per_group=34))
    _rows_axis(fig, labels, len(groups))
    return fig


def _named_rows(table: pd.DataFrame, builder: str) -> pd.DataFrame:
    """The table indexed by row name (index, or a component/quantity/name column)."""
    col = first_column(table, ("component", "quantity", "term", "name", "row"))
    t = table.set_index(col) if col is not None else table
    t.index = [str(i) for i in t.index]
    return t


def variance_plot(
    variance_table: pd.DataFrame,
    *,
    title: str | None = "Between-group and within-group variation",
) -> go.Figure:
    """Left: between- and within-group spread (mean and interval). Right: share between groups.

    Rows other than ``share_between`` go in the left panel; notes are shown on hover.
    """
    require_columns(variance_table, ["mean", "low", "high"], "variance_plot")
    t = _named_rows(variance_table, "variance_plot")
    has_share = "share_between" in t.index
    spreads = [r for r in t.index if r != "share_between"]
    fig = make_subplots(rows=1, cols=2 if has_share else 1, column_widths=[0.6, 0.4] if has_share
                        else None, horizontal_spacing=0.15,
                        subplot_titles=("variance (mean and interval)", "share of variance between groups")
                        if has_share else None)
    note = t["note"] if "note" in t.columns else pd.Series("", index=t.index)

    def add(rows, col, role_of):
        for r in rows:
            mean, low, high = (float(t.loc[r, c]) for c in ("mean", "low", "high"))
            label = safe_text(r.replace("_", " "))
            fig.add_trace(go.Scatter(
                x=[label], y=[mean], mode="markers", name=label,
                marker=dict(size=13, color=color(role_of(r)), symbol="diamond"),
                error_y=dict(type="data", symmetric=False, array=[high - mean],
                             arrayminus=[mean - low], color=color(role_of(r)), thickness=2.5,
                             width=8),
                customdata=[[label, low, high, safe_text(note.get(r, ""))]],
                hovertemplate=("%{customdata[0]}: %{y:.3g} [%{customdata[1]:.3g}, "
                               "%{customdata[2]:.3g}]<br>%{customdata[3]}<extra></extra>"),
                showlegend=False,
            ), row=1, col=col)

    add(spreads, 1, lambda r: r if r in ("between", "within") else "neutral")
    if has_share:
        add(["share_between"], 2, lambda r: "share")
        fig.update_yaxes(range=[0, 1], tickformat=".0%", row=1, col=2)
    apply_layout(fig, title, height=380, show_legend=False)
    fig.update_yaxes(rangemode="tozero", row=1, col=1)
    return fig


_NEW_ROWS = {"theta_new": "theta of a new group (link scale)",
             "response_new": "mean of a new group (response scale)",
             "y_new": "a new observation in a new group"}


def new_group_plot(
    prediction,
    *,
    observed=None,
    labels=None,
    title: str | None = "What a new, unseen group may look like",
    x_title: str | None = None,
    nbins: int = 60,
) -> go.Figure:
    """Prediction for a new group: an interval per row of :func:`predict_new_group`'s table, or
    a density histogram of raw draws (array or Series). ``observed`` (with ``labels``) adds the
    existing groups' estimates as a rug for comparison.
    """
    fig = go.Figure()
    is_table = isinstance(prediction, pd.DataFrame) and {"mean", "low", "high"} <= set(prediction.columns)
    if is_table:
        t = _named_rows(prediction, "new_group_plot")
        rows = list(t.index)
        pos = np.arange(len(rows), dtype=float)[::-1]
        names = [safe_text(_NEW_ROWS.get(r, r)) for r in rows]
        mean, low, high = as_float(t["mean"]), as_float(t["low"]), as_float(t["high"])
        notes = safe_labels(t["note"]) if "note" in t.columns else [""] * len(rows)
        custom = np.column_stack([np.array(names, dtype=object), low, high,
                                  np.array(notes, dtype=object)])
        fig.add_trace(go.Scatter(
            x=mean, y=pos, mode="markers", name="new group",
            marker=dict(size=12, symbol="diamond", color=color("partial")),
            error_x=dict(type="data", symmetric=False, array=high - mean, arrayminus=mean - low,
                         color=color("partial"), thickness=3, width=8),
            customdata=custom,
            hovertemplate=("%{customdata[0]}<br>mean %{x:.3g}<br>"
                           "interval [%{customdata[1]:.3g}, %{customdata[2]:.3g}]<br>"
                           "%{customdata[3]}<extra></extra>"),
        ))
        fig.update_yaxes(tickmode="array", tickvals=pos.tolist(), ticktext=names,
                         range=[-0.8, len(rows) - 0.2], automargin=True, showgrid=False)
        rug_y = -0.6
    else:
        d = np.asarray(prediction.to_numpy() if hasattr(prediction, "to_numpy") else prediction,
                       dtype=float).ravel()
        d = d[np.isfinite(d)]
        if d.size == 0:
            raise PlotInputError("new_group_plot: no finite draws and no (mean, low, high) table.")
        fig.add_trace(go.Histogram(
            x=d, histnorm="probability density", nbinsx=nbins, name=f"new group draws ({d.size})",
            marker=dict(color=color("predictive")), opacity=0.6,
            hovertemplate="%{x}: %{y:.3g}<extra>new group</extra>",
        ))
        rug_y = 0.0
    if observed is not None:
        obs = as_float(np.ravel(np.asarray(observed, dtype=float)))
        lab = safe_labels(labels) if labels is not None else [""] * obs.size
        if len(lab) != obs.size:
            raise PlotInputError(f"new_group_plot: {len(lab)} labels for {obs.size} observed values.")
        fig.add_trace(go.Scatter(
            x=obs, y=np.full(obs.size, rug_y), mode="markers", name=f"existing groups ({obs.size})",
            marker=dict(symbol="line-ns", size=14, line=dict(width=2, color=color("no_pooling")),
                        color=color("no_pooling")),
            customdata=np.array(lab, dtype=object),
            hovertemplate="%{customdata}: %{x:.3g}<extra></extra>", cliponaxis=False,
        ))
    apply_layout(fig, title, x_title=x_title, height=360)
    if not is_table:
        fig.update_layout(barmode="overlay")
        fig.update_yaxes(title_text="density")
    return fig


_FIRST = ("first", "observed", "no_pooling_response", "no_pooling")
_SHRUNK = ("estimate", "shrunk", "partial_mean_response", "partial_mean")
_LOW = ("low", "partial_low_response", "partial_low")
_HIGH = ("high", "partial_high_response", "partial_high")
_HOLDOUT = ("holdout", "remaining", "remaining_average")


def holdout_plot(
    table: pd.DataFrame,
    *,
    first_label: str = "first 45 at-bats",
    holdout_label: str = "rest of season",
    title: str | None = "Efron–Morris: shrunk estimates predict the rest of the season better",
    x_title: str | None = "batting average",
) -> go.Figure:
    """Per player: the early average, the shrunk (partial-pooling) estimate, the later average.

    Columns: ``group``; early average ``first`` (or ``observed``/``no_pooling[_response]``);
    shrunk ``estimate`` (or ``partial_mean[_response]``) with optional ``low``/``high``
    (``partial_low/high[_response]``); held-out ``holdout`` (or ``remaining[_average]``).
    An optional ``complete_pooling[_response]`` column draws the pooled average.
    """
    fcol, scol, hcol = (first_column(table, c) for c in (_FIRST, _SHRUNK, _HOLDOUT))
    if None in (fcol, scol, hcol):
        require_columns(table, ["group", "first", "estimate", "holdout"], "holdout_plot")
    require_columns(table, ["group"], "holdout_plot")
    lcol, ucol = first_column(table, _LOW), first_column(table, _HIGH)
    t = table.reset_index(drop=True)
    t = t.iloc[np.argsort(as_float(t[fcol]), kind="stable")].reset_index(drop=True)
    n = len(t)
    pos = np.arange(n, dtype=float)
    labels = safe_labels(t["group"])
    first, shrunk, hold = as_float(t[fcol]), as_float(t[scol]), as_float(t[hcol])
    custom = np.empty((n, 6), dtype=object)
    custom[:, 0] = labels
    custom[:, 1] = first
    custom[:, 2] = shrunk
    custom[:, 3] = hold
    custom[:, 4] = safe_text(first_label)
    custom[:, 5] = safe_text(holdout_label)
    hover = ("%{customdata[0]}<br>%{customdata[4]}: %{customdata[1]:.3f}<br>"
             "shrunk estimate: %{customdata[2]:.3f}<br>"
             "%{customdata[5]}: %{customdata[3]:.3f}<extra></extra>")
    fig = go.Figure()
    ccol = first_column(t, ("complete_pooling_response", "complete_pooling"))
    if ccol is not None and (ccol.endswith("_response") == scol.endswith("_response")):
        c = as_float(t[ccol])
        fig.add_trace(go.Scatter(x=[c[0], c[0]], y=[-0.6, n - 0.4], mode="lines",
                                 name="complete pooling",
                                 line=dict(color=color("complete"), dash="dash", width=1.5),
                                 hovertemplate="complete pooling: %{x:.3f}<extra></extra>"))
    xs, ys = interval_segments(first, shrunk, pos)
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="shrinkage",
                             line=dict(color=color("shrinkage"), width=1.2), hoverinfo="skip"))
    err = None
    if lcol is not None and ucol is not None:
        err = dict(type="data", symmetric=False, array=as_float(t[ucol]) - shrunk,
                   arrayminus=shrunk - as_float(t[lcol]), color="rgba(0,114,178,0.35)", thickness=4,
                   width=0)
    fig.add_trace(go.Scatter(x=first, y=pos, mode="markers", name=safe_text(first_label),
                             marker=dict(size=10, color=color("no_pooling")),
                             customdata=custom, hovertemplate=hover))
    fig.add_trace(go.Scatter(x=shrunk, y=pos, mode="markers", name="shrunk estimate",
                             marker=dict(size=10, symbol="diamond", color=color("partial")),
                             error_x=err, customdata=custom, hovertemplate=hover))
    fig.add_trace(go.Scatter(x=hold, y=pos, mode="markers", name=safe_text(holdout_label),
                             marker=dict(size=11, symbol="star", color=color("holdout"),
                                         line=dict(width=0.5, color="#222")),
                             customdata=custom, hovertemplate=hover))
    apply_layout(fig, title, x_title=x_title, height=group_height(n))
    _rows_axis(fig, labels, n)
    return fig
