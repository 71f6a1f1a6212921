"""Sampler diagnostics drawn from the long tables of :mod:`hiermod.diagnostics`.

* ``trace_table(fit, var)``: ``chain, draw, value`` (a ``parameter`` column when it holds
  several, e.g. ``theta[A]``; a ``diverging`` column marks divergent draws when present)
* ``rank_table(fit, var)``: ``chain, bin, count`` (optional ``expected``, ``parameter``)
* ``energy_table(fit)``: ``chain, energy_centered, energy_transition``
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hiermod.plots.style import (
    PlotInputError,
    apply_layout,
    as_float,
    chain_color,
    color,
    first_column,
    require_columns,
    safe_text,
)

__all__ = ["trace_plot", "rank_plot", "energy_plot", "posterior_vs_prior_plot"]

_PARAM_COLUMNS = ("parameter", "var", "variable", "name", "label")
_VALUE_COLUMNS = ("value", "draw_value", "x")
_MAX_PANELS = 12


def _value_column(table: pd.DataFrame, builder: str, skip=()) -> str:
    col = first_column(table, _VALUE_COLUMNS)
    if col is None:
        rest = [c for c in table.columns
                if c not in ("chain", "draw", "diverging", *_PARAM_COLUMNS, *skip)
                and pd.api.types.is_numeric_dtype(table[c])]
        if len(rest) != 1:
            raise PlotInputError(
                f"{builder}: cannot tell which column holds the values; expected a 'value' column, "
                f"found {list(map(str, table.columns))}."
            )
        col = rest[0]
    return col


def _panels(table: pd.DataFrame, parameter):
    """[(label, rows)] by the parameter column (one panel when there is none)."""
    pcol = first_column(table, _PARAM_COLUMNS)
    if pcol is None:
        return [(None, table)]
    if parameter is not None:
        rows = table[table[pcol] == parameter]
        if rows.empty:
            raise PlotInputError(f"no rows for parameter {str(parameter)!r}; "
                                 f"have {[str(p) for p in pd.unique(table[pcol])[:10]]}.")
        return [(parameter, rows)]
    names = list(pd.unique(table[pcol]))[:_MAX_PANELS]
    return [(p, table[table[pcol] == p]) for p in names]


def trace_plot(
    trace_table: pd.DataFrame,
    *,
    parameter=None,
    title: str | None = None,
    var: str | None = None,
) -> go.Figure:
    """Draw value against iteration, one line per chain (one panel per parameter, at most 12).

    Divergent draws (``diverging`` column) are marked along the bottom of each panel.
    """
    require_columns(trace_table, ["chain", "draw"], "trace_plot")
    vcol = _value_column(trace_table, "trace_plot")
    panels = _panels(trace_table, parameter)
    label = var if var is not None else (vcol if vcol not in _VALUE_COLUMNS else None)
    titles = [safe_text(p) if p is not None else "" for p, _ in panels]
    fig = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=titles if len(panels) > 1 else None)
    chains = list(pd.unique(trace_table["chain"]))
    for r, (pname, rows) in enumerate(panels, start=1):
        plabel = safe_text(pname if pname is not None else (label or "value"))
        for i, c in enumerate(chains):
            cr = rows[rows["chain"] == c]
            order = np.argsort(as_float(cr["draw"]), kind="stable")
            fig.add_trace(go.Scattergl(
                x=as_float(cr["draw"])[order], y=as_float(cr[vcol])[order], mode="lines",
                name=f"chain {safe_text(c)}", legendgroup=f"chain{i}", showlegend=r == 1,
                line=dict(color=chain_color(i), width=1), opacity=0.8,
                customdata=np.full(len(cr), plabel, dtype=object),
                hovertemplate="%{customdata}<br>draw %{x}: %{y:.4g}<extra>%{fullData.name}</extra>",
            ), row=r, col=1)
        if "diverging" in rows.columns:
            div = rows[rows["diverging"].fillna(False).astype(bool)]
            if len(div):
                lo = np.nanmin(as_float(rows[vcol]))
                fig.add_trace(go.Scattergl(
                    x=as_float(div["draw"]), y=np.full(len(div), lo), mode="markers",
                    name=f"divergent ({len(div)})" if len(panels) == 1 else "divergent",
                    legendgroup="divergent", showlegend=r == 1,
                    marker=dict(symbol="line-ns", size=10,
                                line=dict(width=1.5, color=color("divergent")),
                                color=color("divergent")),
                    hovertemplate="divergent draw %{x}<extra></extra>",
                ), row=r, col=1)
    if title is None:
        if label is None and len(panels) == 1 and panels[0][0] is not None:
            label = str(panels[0][0])
        title = f"Trace of {label}" if label else "Trace"
    apply_layout(fig, title, height=max(320, 60 + 220 * len(panels)))
    fig.update_xaxes(title_text="draw", row=len(panels), col=1)
    if len(panels) == 1:
        fig.update_yaxes(title_text=safe_text(panels[0][0] if panels[0][0] is not None
                                              else (label or "value")))
    return fig


def rank_plot(
    rank_table: pd.DataFrame,
    *,
    parameter=None,
    title: str | None = None,
    var: str | None = None,
) -> go.Figure:
    """Rank histograms, one panel per chain: roughly flat bars mean the chains mix.

    Expects ``chain``, a bin column (``bin``/``rank_bin``/``bin_low``) and ``count``; an
    ``expected`` column is drawn as a dashed line.
    """
    require_columns(rank_table, ["chain"], "rank_plot")
    bcol = first_column(rank_table, ("bin", "rank_bin", "bin_low", "bin_start", "rank"))
    ccol = first_column(rank_table, ("count", "n", "frequency"))
    if bcol is None or ccol is None:
        require_columns(rank_table, ["chain", "bin", "count"], "rank_plot")
    (pname, rows), *_ = _panels(rank_table, parameter)
    chains = list(pd.unique(rows["chain"]))
    fig = make_subplots(rows=len(chains), cols=1, shared_xaxes=True, shared_yaxes=True,
                        vertical_spacing=0.03)
    for r, c in enumerate(chains, start=1):
        cr = rows[rows["chain"] == c]
        fig.add_trace(go.Bar(
            x=as_float(cr[bcol]), y=as_float(cr[ccol]), name=f"chain {safe_text(c)}",
            marker=dict(color=chain_color(r - 1), line=dict(width=0.5, color="white")),
            hovertemplate="bin %{x}: %{y} draws<extra>%{fullData.name}</extra>",
        ), row=r, col=1)
        if "expected" in cr.columns:
            order = np.argsort(as_float(cr[bcol]), kind="stable")
            fig.add_trace(go.Scatter(
                x=as_float(cr[bcol])[order], y=as_float(cr["expected"])[order], mode="lines",
                name="uniform", legendgroup="uniform", showlegend=r == 1,
                line=dict(color=color("complete"), dash="dash", width=1.2),
                hovertemplate="uniform: %{y:.3g}<extra></extra>",
            ), row=r, col=1)
        fig.update_yaxes(title_text=f"chain {safe_text(c)}", row=r, col=1)
    label = pname if pname is not None else var
    if title is None:
        title = f"Rank plot of {label}" if label is not None else "Rank plot"
    apply_layout(fig, title, height=max(320, 80 + 120 * len(chains)))
    fig.update_layout(bargap=0.05)
    fig.update_xaxes(title_text="rank bin", row=len(chains), col=1)
    return fig


def energy_plot(
    energy_table: pd.DataFrame,
    *,
    bfmi=None,
    title: str | None = "Energy: marginal vs transition",
    nbins: int = 40,
) -> go.Figure:
    """Overlaid histograms (as densities) of centred marginal energy and energy transitions.

    When the transition histogram is much narrower than the marginal one, the sampler cannot
    move through the energy levels (low BFMI). ``bfmi`` (one value or one per chain, computed
    by :mod:`hiermod.diagnostics`; default: the table's ``bfmi`` column) is printed in the title.
    An empty table (exact fit) gives a figure saying there is no sampler to check.
    """
    if isinstance(energy_table, pd.DataFrame) and len(energy_table) == 0:
        fig = go.Figure()
        fig.add_annotation(text="No sampler energy: this posterior is exact, not sampled.",
                           showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
        apply_layout(fig, title, height=300)
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
        return fig
    require_columns(energy_table, ["energy_centered", "energy_transition"], "energy_plot")
    if bfmi is None and "bfmi" in energy_table.columns:
        by = energy_table.groupby("chain", sort=True)["bfmi"].first() if "chain" in \
            energy_table.columns else energy_table["bfmi"].iloc[:1]
        bfmi = by.to_numpy()
    marg = as_float(energy_table["energy_centered"])
    trans = as_float(energy_table["energy_transition"])
    fig = go.Figure()
    for values, name, role in ((marg, "marginal energy", "energy_marginal"),
                               (trans, "energy transition", "energy_transition")):
        fig.add_trace(go.Histogram(
            x=values[np.isfinite(values)], name=name, histnorm="probability density",
            nbinsx=nbins, opacity=0.55, marker=dict(color=color(role)),
            hovertemplate="%{x}: %{y:.3g}<extra>%{fullData.name}</extra>",
        ))
    if bfmi is not None:
        vals = np.atleast_1d(np.asarray(bfmi, dtype=float))
        title = f"{title or 'Energy'} — BFMI " + ", ".join(f"{v:.2f}" for v in vals)
    apply_layout(fig, title, x_title="energy (centred)", y_title="density", height=420)
    fig.update_layout(barmode="overlay")
    return fig


def _curve_xy(curve, builder: str):
    if isinstance(curve, pd.DataFrame):
        xcol = first_column(curve, ("x", "tau", "value"))
        ycol = first_column(curve, ("density", "posterior", "pdf"))
        if xcol is None or ycol is None:
            require_columns(curve, ["x", "density"], builder)
        return as_float(curve[xcol]), as_float(curve[ycol])
    x, y = curve
    return as_float(x), as_float(y)


def posterior_vs_prior_plot(
    draws,
    prior_curve,
    exact_curve=None,
    name: str = "tau",
    *,
    title: str | None = None,
    nbins: int = 60,
    clip_to_draws: bool = True,
) -> go.Figure:
    """Histogram of posterior draws (as a density), the prior density, and the exact density.

    ``prior_curve``/``exact_curve``: DataFrames with ``x`` (or ``tau``) and ``density``
    (:func:`hiermod.priors.density_table`, :func:`hiermod.continuum.tau_posterior_table`) or ``(x, y)``.
    ``clip_to_draws`` opens the x range on the draws (the prior may be much wider; zoom out
    with a double click).
    """
    d = as_float(np.ravel(np.asarray(draws, dtype=float)))
    d = d[np.isfinite(d)]
    if d.size == 0:
        raise PlotInputError("posterior_vs_prior_plot: no finite draws to draw.")
    fig = go.Figure()
    fig.add_trace(go.Histogram(
        x=d, histnorm="probability density", nbinsx=nbins, name=f"posterior draws ({d.size})",
        marker=dict(color=color("posterior")), opacity=0.5,
        hovertemplate="%{x}: %{y:.3g}<extra>posterior draws</extra>",
    ))
    px, py = _curve_xy(prior_curve, "posterior_vs_prior_plot (prior_curve)")
    fig.add_trace(go.Scatter(x=px, y=py, mode="lines", name="prior",
                             line=dict(color=color("prior"), width=2.5, dash="dash"),
                             hovertemplate="%{x:.3g}: %{y:.3g}<extra>prior</extra>"))
    if exact_curve is not None:
        ex, ey = _curve_xy(exact_curve, "posterior_vs_prior_plot (exact_curve)")
        fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", name="exact posterior",
                                 line=dict(color=color("exact"), width=2),
                                 hovertemplate="%{x:.3g}: %{y:.3g}<extra>exact posterior</extra>"))
    apply_layout(fig, title or f"{name}: posterior draws against prior", x_title=name,
                 y_title="density", height=420)
    fig.update_layout(barmode="overlay")
    if clip_to_draws:
        # a vague prior spans far more than the posterior: open the view on the draws
        lo, hi = float(d.min()), float(d.max())
        pad = 0.03 * (hi - lo or 1.0)
        fig.update_xaxes(range=[lo - pad, hi + pad])
    return fig
