"""Model variants side by side, drawn from :mod:`hiermod.variant_comparison` tables.

* ``tau_overlay``: ``variant, parameter, source, x, density`` -> :func:`tau_overlay_plot`
  (posterior solid, prior dashed, one colour per variant);
* ``forest_across``: ``variant, group, mean, low, high`` -> :func:`forest_across_plot`;
* ``loo_across``: ``variant, elpd_loo, se, elpd_diff, dse, compared`` -> :func:`loo_across_plot`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hiermod.model_comparison import PARETO_K_MAX
from hiermod.plots.checks import forest_plot
from hiermod.plots.style import (
    apply_layout,
    as_float,
    color,
    group_color,
    group_height,
    interval_label,
    require_columns,
    safe_labels,
    safe_text,
)

__all__ = ["variant_colors", "tau_overlay_plot", "forest_across_plot", "loo_across_plot"]


def variant_colors(names) -> dict[str, str]:
    """One colour per variant, in order (:func:`hiermod.plots.style.group_color`)."""
    return {str(n): group_color(i) for i, n in enumerate(dict.fromkeys(map(str, names)))}


def tau_overlay_plot(table: pd.DataFrame, parameter: str | None = None, *, title: str | None = None,
                     variants: list[str] | None = None) -> go.Figure:
    """Each variant's posterior density of one population scale (solid) over its prior (dashed,
    same colour). ``parameter``: ``tau`` when present, else the table's first. Variants listed in
    ``table.attrs["without_tau"]`` are named under the title. The colours are those of every variant
    in order (``variants``, else ``table.attrs["variants"]``): the same as in the other figures,
    also when a variant before this one has no tau (complete pooling before robust)."""
    require_columns(table, ["variant", "parameter", "source", "x", "density"], "tau_overlay_plot")
    params = list(pd.unique(table["parameter"]))
    parameter = parameter or ("tau" if "tau" in params else params[0])
    t = table[table["parameter"] == parameter]
    names = variants or list(pd.unique(t["variant"]))
    colors = variant_colors([*(variants or getattr(table, "attrs", {}).get("variants") or []), *names])
    fig = go.Figure()
    for name in names:
        for source, dash, width in (("posterior", "solid", 2.5), ("prior", "dash", 1.5)):
            rows = t[(t["variant"] == name) & (t["source"] == source)]
            if rows.empty:
                continue
            label = safe_text(f"{name} ({source})")
            fig.add_trace(go.Scatter(
                x=as_float(rows["x"]), y=as_float(rows["density"]), mode="lines", name=label,
                legendgroup=safe_text(name), line=dict(color=colors[str(name)], dash=dash, width=width),
                hovertemplate=f"{label}<br>{safe_text(parameter)} = %{{x:.3g}}<br>density %{{y:.3g}}<extra></extra>",
            ))
    without = list(getattr(table, "attrs", {}).get("without_tau", []))
    if title is None:
        title = f"{parameter}: posterior (solid) and prior (dashed) in each variant"
    apply_layout(fig, title, x_title=parameter, y_title="density", height=460)
    if without:
        fig.add_annotation(text=safe_text("No " + parameter + " in: " + ", ".join(map(str, without))),
                           xref="paper", yref="paper", x=1.0, y=1.0, xanchor="right", yanchor="top",
                           showarrow=False, font=dict(size=12, color=color("neutral")))
    return fig


def forest_across_plot(table: pd.DataFrame, *, title: str | None = "Every group in every variant",
                       x_title: str | None = "group effect") -> go.Figure:
    """Per group, one dodged interval per variant (first variant on top), mean as a marker
    (:func:`hiermod.plots.checks.forest_plot` on the variants)."""
    require_columns(table, ["variant", "group", "mean", "low", "high"], "forest_across_plot")
    renamed = table.rename(columns={"variant": "model"})
    renamed.attrs = dict(table.attrs)
    label = interval_label(table, "interval", "HDI")
    names = list(pd.unique(table["variant"]))
    fig = forest_plot(renamed, title=title, x_title=f"{x_title} (mean and {label})" if x_title else None,
                      models=names)
    colors = variant_colors(names)  # the same colour for a variant in every figure
    for trace, name in zip(fig.data, [n for n in names if (table["variant"] == n).any()]):
        trace.marker.color = colors[str(name)]
        trace.error_x.color = colors[str(name)]
    return fig


def loo_across_plot(table: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """elpd_loo of each compared variant with its standard error (thin bar) and its difference from
    the best with that difference's standard error (thick bar), best on top; variants with Pareto
    k warnings are marked; variants not compared are named under the title."""
    require_columns(table, ["variant", "elpd_loo", "se", "elpd_diff", "dse"], "loo_across_plot")
    compared = table[table["compared"].astype(bool)] if "compared" in table.columns else table
    names = [str(n) for n in compared["variant"]]
    n = len(names)
    pos = np.arange(n, dtype=float)[::-1]
    elpd, se = as_float(compared["elpd_loo"]), as_float(compared["se"])
    best = float(np.nanmax(elpd)) if n else 0.0
    diff, dse = as_float(compared["elpd_diff"]), as_float(compared["dse"])
    bad = as_float(compared["n_bad_pareto_k"]) if "n_bad_pareto_k" in compared.columns else np.zeros(n)
    labels = safe_labels(names)
    custom = np.column_stack([labels, elpd, se, diff, dse, bad]) if n else None
    hover = ("%{customdata[0]}<br>elpd_loo %{customdata[1]:.2f} ± %{customdata[2]:.2f}<br>"
             "difference from the best %{customdata[3]:.2f} ± %{customdata[4]:.2f}<br>"
             f"Pareto k > {PARETO_K_MAX}: %{{customdata[5]}} points<extra></extra>")
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=elpd, y=pos, mode="markers", name="elpd_loo ± se",
        marker=dict(size=10, color=color("posterior"), symbol="circle-open", line=dict(width=2)),
        error_x=dict(type="data", array=se, color=color("posterior"), thickness=1.5, width=6),
        customdata=custom, hovertemplate=hover,
    ))
    fig.add_trace(go.Scatter(
        x=best - diff, y=pos - 0.2, mode="markers", name="best minus difference ± se of the difference",
        marker=dict(size=8, color=color("complete"), symbol="diamond"),
        error_x=dict(type="data", array=dse, color=color("complete"), thickness=3, width=0),
        customdata=custom, hovertemplate=hover,
    ))
    flagged = bad > 0
    if flagged.any():
        fig.add_trace(go.Scatter(
            x=elpd[flagged], y=pos[flagged] + 0.25, mode="markers", name=f"Pareto k > {PARETO_K_MAX} (LOO unreliable)",
            marker=dict(size=11, color=color("divergent"), symbol="triangle-down"),
            customdata=custom[flagged], hovertemplate=hover,
        ))
    if title is None:
        title = "LOO across variants (higher elpd predicts better)"
    apply_layout(fig, title, x_title="elpd_loo (log score)", height=group_height(n, per_group=50, base=200))
    fig.update_yaxes(tickmode="array", tickvals=list(pos), ticktext=labels, range=[-0.8, n - 0.2],
                     showgrid=False, automargin=True)
    left_out = [str(v) for v in table.loc[~table["compared"].astype(bool), "variant"]] if "compared" in table else []
    if left_out:
        fig.add_annotation(text=safe_text("Not compared: " + ", ".join(left_out)), xref="paper", yref="paper",
                           x=1.0, y=0.0, xanchor="right", yanchor="bottom", showarrow=False,
                           font=dict(size=12, color=color("neutral")))
    return fig
