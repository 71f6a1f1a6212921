"""Prior sensitivity and empirical Bayes, drawn from :mod:`hiermod.sensitivity`,
:mod:`hiermod.power_scaling` and :mod:`hiermod.empirical_bayes` tables.

* ``PriorSetResult.density``: ``prior, parameter, value, density`` (one curve per prior and parameter)
* ``PriorSetResult.groups``: ``prior, group, mean, lower, upper`` (one interval per prior and group)
* ``PowerScaling.table``: ``parameter, prior, likelihood, diagnosis``
* ``EBComparison.table``: ``group, fb_mean, fb_lower, fb_upper, eb_mean, eb_lower, eb_upper``
* ``CoverageResult.table``: ``method, coverage, mc_se, nominal``

The first series of a table (the user's own prior; full Bayes) is drawn in black, the others in the
palette's colours.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hiermod.plots.style import (
    OKABE_ITO,
    apply_layout,
    as_float,
    color,
    group_height,
    require_columns,
    safe_labels,
    safe_text,
)

__all__ = ["prior_set_density_plot", "dodged_intervals_plot", "prior_set_intervals_plot", "eb_fb_plot",
           "power_scaling_plot", "coverage_plot"]

_SERIES = (OKABE_ITO["black"], OKABE_ITO["orange"], OKABE_ITO["sky_blue"], OKABE_ITO["bluish_green"],
           OKABE_ITO["reddish_purple"], OKABE_ITO["vermillion"], OKABE_ITO["blue"], "#8C8C8C")


def _series_color(i: int) -> str:
    return _SERIES[i % len(_SERIES)]


def prior_set_density_plot(density: pd.DataFrame, *, title: str | None = "Posterior of each hyperparameter "
                           "under each prior", x_max_quantile: float = 0.995) -> go.Figure:
    """One panel per hyperparameter, one curve per prior (the first, the user's, thick and black).
    The x-axis ends where every curve has ``x_max_quantile`` of its mass (heavy tails cut)."""
    require_columns(density, ["prior", "parameter", "value", "density"], "prior_set_density_plot")
    params = list(pd.unique(density["parameter"]))
    priors = list(pd.unique(density["prior"]))
    fig = make_subplots(rows=1, cols=len(params), subplot_titles=safe_labels(params),
                        horizontal_spacing=0.08)
    for c, param in enumerate(params, start=1):
        x_max = 0.0
        for i, prior in enumerate(priors):
            rows = density[(density["parameter"] == param) & (density["prior"] == prior)]
            if rows.empty:
                continue
            x, y = as_float(rows["value"]), as_float(rows["density"])
            order = np.argsort(x)
            x, y = x[order], y[order]
            mass = np.concatenate([[0.0], np.cumsum(np.diff(x) * (y[1:] + y[:-1]) / 2)])
            if mass[-1] > 0:
                x_max = max(x_max, float(np.interp(x_max_quantile * mass[-1], mass, x)))
            fig.add_trace(go.Scatter(
                x=x, y=y, mode="lines", name=safe_text(prior), legendgroup=safe_text(prior),
                showlegend=c == 1, line=dict(color=_series_color(i), width=3.5 if i == 0 else 2,
                                             dash="solid" if i == 0 else None),
                hovertemplate=f"{safe_text(prior)}<br>{safe_text(param)}: %{{x:.3g}}<br>density: "
                              "%{y:.3g}<extra></extra>"), row=1, col=c)
        if x_max > 0:
            fig.update_xaxes(range=[float(min(density.loc[density["parameter"] == param, "value"].min(), 0)),
                                    x_max], row=1, col=c)
        fig.update_xaxes(title_text=safe_text(param), row=1, col=c)
    apply_layout(fig, title, y_title="posterior density", height=420)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0.0),
                      margin=dict(b=140))
    return fig


def dodged_intervals_plot(table: pd.DataFrame, series: str, *, mean: str = "mean", lower: str = "lower",
                          upper: str = "upper", title: str | None = None, x_title: str | None = None,
                          interval: str = "90% interval") -> go.Figure:
    """Per group (rows), one dodged interval per value of ``series`` with its mean as a dot; the
    first series on top, in black."""
    require_columns(table, [series, "group", mean, lower, upper], "dodged_intervals_plot")
    groups = list(pd.unique(table["group"]))
    names = list(pd.unique(table[series]))
    g_index = {g: i for i, g in enumerate(groups)}
    step = 0.75 / max(len(names), 1)
    fig = go.Figure()
    for j, name in enumerate(names):
        rows = table[table[series] == name]
        offset = j * step - (len(names) - 1) / 2 * step  # the y axis runs downward: first on top
        pos = np.array([g_index[g] for g in rows["group"]], float) + offset
        m, lo, hi = as_float(rows[mean]), as_float(rows[lower]), as_float(rows[upper])
        custom = np.empty((len(rows), 4), dtype=object)
        custom[:, 0] = safe_labels(rows["group"])
        custom[:, 1], custom[:, 2], custom[:, 3] = m, lo, hi
        label = safe_text(name)
        fig.add_trace(go.Scatter(
            x=m, y=pos, mode="markers", name=label,
            marker=dict(size=8 if j else 9, color=_series_color(j), symbol="circle" if j == 0 else "diamond"),
            error_x=dict(type="data", symmetric=False, array=hi - m, arrayminus=m - lo,
                         color=_series_color(j), thickness=2.5 if j == 0 else 1.8, width=0),
            customdata=custom,
            hovertemplate=(f"%{{customdata[0]}} — {label}<br>mean %{{customdata[1]:.3g}}<br>{interval} "
                           "[%{customdata[2]:.3g}, %{customdata[3]:.3g}]<extra></extra>")))
    per_group = 22 + 9 * len(names)
    apply_layout(fig, title, x_title=x_title, height=group_height(len(groups), per_group=per_group))
    fig.update_yaxes(tickmode="array", tickvals=list(range(len(groups))), ticktext=safe_labels(groups),
                     range=[len(groups) - 0.5, -0.5], showgrid=False, automargin=True)
    return fig


def prior_set_intervals_plot(groups: pd.DataFrame, *, x_title: str | None = "theta",
                             title: str | None = "Each group's 90% interval under each prior") -> go.Figure:
    """:func:`dodged_intervals_plot` of ``PriorSetResult.groups`` (series: the prior)."""
    return dodged_intervals_plot(groups, "prior", title=title, x_title=x_title)


def eb_fb_plot(table: pd.DataFrame, *, x_title: str | None = "theta", eb_label: str = "empirical Bayes",
               title: str | None = "Full Bayes against empirical Bayes, group by group") -> go.Figure:
    """Each group's full-Bayes (black) and empirical-Bayes intervals, dodged."""
    require_columns(table, ["group", "fb_mean", "fb_lower", "fb_upper", "eb_mean", "eb_lower", "eb_upper"],
                    "eb_fb_plot")
    long = pd.concat([
        pd.DataFrame({"method": "full Bayes", "group": table["group"], "mean": table["fb_mean"],
                      "lower": table["fb_lower"], "upper": table["fb_upper"]}),
        pd.DataFrame({"method": eb_label, "group": table["group"], "mean": table["eb_mean"],
                      "lower": table["eb_lower"], "upper": table["eb_upper"]})], ignore_index=True)
    return dodged_intervals_plot(long, "method", title=title, x_title=x_title)


def power_scaling_plot(table: pd.DataFrame, *, prior_threshold: float = 0.05, likelihood_threshold: float = 0.05,
                       title: str | None = "Power-scaling sensitivity") -> go.Figure:
    """Each parameter at (likelihood sensitivity, prior sensitivity), the thresholds as dashed
    lines: top right prior-data conflict, top left strong prior / weak likelihood. Flagged
    parameters (up to 12) are named on the plot, every one in its hover."""
    require_columns(table, ["parameter", "prior", "likelihood", "diagnosis"], "power_scaling_plot")
    x, y = as_float(table["likelihood"]), as_float(table["prior"])
    flagged = table["diagnosis"].astype(str).str.len().to_numpy() > 0
    fig = go.Figure()
    for mask, name, role in ((~flagged, "not flagged", "neutral"), (flagged, "flagged", "outside")):
        if not mask.any():
            continue
        labelled = role == "outside" and mask.sum() <= 12  # name the flagged ones; hover for the rest
        fig.add_trace(go.Scatter(
            x=x[mask], y=y[mask], mode="markers+text" if labelled else "markers", name=name,
            text=safe_labels(table.loc[mask, "parameter"]), textposition="top center",
            marker=dict(size=10, color=color(role)),
            customdata=np.column_stack([safe_labels(table.loc[mask, "parameter"]),
                                        table.loc[mask, "diagnosis"].astype(str).to_numpy()]),
            hovertemplate=("%{customdata[0]}<br>prior sensitivity %{y:.3f}<br>likelihood sensitivity "
                           "%{x:.3f}<br>%{customdata[1]}<extra></extra>")))
    top = max(float(np.nanmax(y)) * 1.15, prior_threshold * 2)
    right = max(float(np.nanmax(x)) * 1.15, likelihood_threshold * 2)
    fig.add_hline(y=prior_threshold, line=dict(color="#444444", dash="dash", width=1))
    fig.add_vline(x=likelihood_threshold, line=dict(color="#444444", dash="dash", width=1))
    fig.add_annotation(x=right, y=top, text="prior-data conflict", showarrow=False, xanchor="right",
                       yanchor="top", font=dict(size=12, color="#444444"))
    fig.add_annotation(x=0, y=top, text="strong prior / weak likelihood", showarrow=False, xanchor="left",
                       yanchor="top", font=dict(size=12, color="#444444"))
    apply_layout(fig, title, x_title="likelihood sensitivity", y_title="prior sensitivity", height=420)
    fig.update_xaxes(range=[0, right])
    fig.update_yaxes(range=[0, top])
    return fig


def coverage_plot(table: pd.DataFrame, *, title: str | None = "How often the 90% intervals hold the truth"
                  ) -> go.Figure:
    """Coverage per method with +-2 Monte Carlo standard errors; the nominal level dashed."""
    require_columns(table, ["method", "coverage", "mc_se", "nominal"], "coverage_plot")
    methods = safe_labels(table["method"])
    cov, se = as_float(table["coverage"]), as_float(table["mc_se"])
    fig = go.Figure(go.Bar(
        x=methods, y=cov, marker_color=[_series_color(i) for i in range(len(methods))],
        error_y=dict(type="data", array=2 * np.nan_to_num(se), color="#444444"),
        hovertemplate="%{x}: %{y:.1%}<extra></extra>", showlegend=False))
    nominal = float(as_float(table["nominal"])[0])
    fig.add_hline(y=nominal, line=dict(color=color("neutral"), dash="dash"),
                  annotation_text=f"nominal {nominal:.0%}", annotation_position="top right")
    apply_layout(fig, title, y_title="coverage (± 2 MC se)", height=360, show_legend=False)
    fig.update_yaxes(range=[max(0.0, float(np.nanmin(cov - 2 * np.nan_to_num(se))) - 0.1), 1.0],
                     tickformat=".0%")
    return fig
