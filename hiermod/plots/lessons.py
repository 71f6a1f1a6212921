"""Figures of the Learn page's lessons. Each builder takes a lesson's table from
:mod:`hiermod.lessons` and draws it; none computes a statistic. Labels go through
:func:`hiermod.plots.style.safe_text`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hiermod.plots.style import (GREY, LIGHT_GREY, OKABE_ITO, apply_layout, as_float, color, group_color,
                                 require_columns, safe_labels, safe_text)

__all__ = ["rookie_plot", "borrowing_plot", "precision_plot", "season_plot", "season_players_plot",
           "variance_share_plot", "coverage_bars_plot", "pseudo_intervals_plot", "prior_posterior_plot",
           "rank_caterpillar_plot", "nested_plot", "funnel_views_plot"]


def rookie_plot(curve: pd.DataFrame, players: pd.DataFrame, league_mean: float, average: float,
                title: str | None = "Estimated average against at-bats") -> go.Figure:
    """Lesson 2: the estimate (with its 90% band) of a .333 hitter against his at-bats (log x), the
    league mean and his own average as lines, the rookie and the veteran as points with intervals."""
    require_columns(curve, ["at_bats", "estimate", "low", "high"], "rookie_plot")
    require_columns(players, ["player", "at_bats", "estimate", "low", "high", "weight"], "rookie_plot")
    x = as_float(curve["at_bats"])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=np.concatenate([x, x[::-1]]),
                             y=np.concatenate([as_float(curve["high"]), as_float(curve["low"])[::-1]]),
                             fill="toself", fillcolor="rgba(0,114,178,0.12)", line=dict(width=0),
                             hoverinfo="skip", name="90% interval"))
    fig.add_trace(go.Scatter(x=x, y=as_float(curve["estimate"]), mode="lines", name="estimate for any number of at-bats",
                             line=dict(color=color("partial"), width=2),
                             hovertemplate="%{x:.0f} at-bats: %{y:.3f}<extra></extra>"))
    fig.add_hline(y=float(league_mean), line=dict(color=color("complete"), dash="dash"),
                  annotation_text=f"league mean {league_mean:.3f}", annotation_position="bottom right")
    fig.add_hline(y=float(average), line=dict(color=color("no_pooling"), dash="dot"),
                  annotation_text=f"his own average {average:.3f}", annotation_position="top left")
    for (_, row), symbol, where in zip(players.iterrows(), ("circle", "diamond"), ("middle right", "bottom left")):
        fig.add_trace(go.Scatter(
            x=[row["at_bats"]], y=[row["estimate"]], mode="markers+text", name=safe_text(row["player"]),
            marker=dict(size=16, symbol=symbol, color=color("partial"), line=dict(color="white", width=1)),
            error_y=dict(type="data", symmetric=False, array=[row["high"] - row["estimate"]],
                         arrayminus=[row["estimate"] - row["low"]], color=color("partial")),
            text=[safe_text(f"{row['player']}: w = {row['weight']:.2f}")], textposition=where,
            hovertemplate=safe_text(row["player"]) + ": %{x:.0f} at-bats, estimate %{y:.3f}<extra></extra>"))
    apply_layout(fig, title, x_title="at-bats (log scale)", y_title="estimated batting average", height=480)
    fig.update_xaxes(type="log")
    return fig


def borrowing_plot(table: pd.DataFrame, group: str, mu_before: float, mu_after: float,
                   title: str | None = "Every school moves when one school's data change") -> go.Figure:
    """Lesson 3: per group its own estimate (after the edit), its partial-pooling estimate before
    (hollow grey) and after (blue), and the population mean mu before and after (vertical lines)."""
    require_columns(table, ["group", "own_after", "before", "after", "moved"], "borrowing_plot")
    labels = safe_labels(table["group"])
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=as_float(table["own_after"]), y=labels, mode="markers", name="own estimate",
                             marker=dict(color=color("no_pooling"), size=11)))
    fig.add_trace(go.Scatter(x=as_float(table["before"]), y=labels, mode="markers", name="partial pooling before",
                             marker=dict(color=GREY, size=13, symbol="circle-open", line=dict(width=2))))
    fig.add_trace(go.Scatter(x=as_float(table["after"]), y=labels, mode="markers", name="partial pooling now",
                             marker=dict(color=color("partial"), size=13, symbol="diamond"),
                             customdata=as_float(table["moved"]),
                             hovertemplate="%{y}: %{x:.2f} (moved %{customdata:+.2f})<extra></extra>"))
    for x, dash, text in ((mu_before, "dot", "mu before"), (mu_after, "dash", "mu now")):
        fig.add_vline(x=float(x), line=dict(color=color("complete"), dash=dash), annotation_text=text)
    apply_layout(fig, title, x_title="effect (points)", y_title=None, height=460)
    fig.update_yaxes(autorange="reversed")
    edited = list(table["group"]).index(group)
    fig.add_annotation(x=float(table["own_after"].iloc[edited]), y=labels[edited], text="edited",
                       showarrow=True, arrowhead=2, ay=-30)
    return fig


def precision_plot(table: pd.DataFrame, curve: pd.DataFrame, group: str,
                   title: str | None = "Less precise schools are shrunk more") -> go.Figure:
    """Lesson 4: every group's shrinkage factor against its precision 1/se² (log x), the curve for any
    precision, the edited group highlighted."""
    require_columns(table, ["group", "precision", "shrinkage"], "precision_plot")
    require_columns(curve, ["precision", "shrinkage"], "precision_plot")
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=as_float(curve["precision"]), y=as_float(curve["shrinkage"]), mode="lines",
                             name="any school with this precision", line=dict(color=LIGHT_GREY, width=3),
                             hovertemplate="precision %{x:.3g}: B = %{y:.2f}<extra></extra>"))
    mine = table["group"] == group
    for rows, name, c, size in ((table[~mine], "other schools", color("partial"), 12),
                                (table[mine], f"school {group}", color("no_pooling"), 18)):
        fig.add_trace(go.Scatter(x=as_float(rows["precision"]), y=as_float(rows["shrinkage"]), mode="markers+text",
                                 name=safe_text(name), text=safe_labels(rows["group"]), textposition="top center",
                                 marker=dict(color=c, size=size),
                                 hovertemplate="%{text}: precision %{x:.3g}, B = %{y:.2f}<extra></extra>"))
    apply_layout(fig, title, x_title="precision 1/se² (log scale)", y_title="shrinkage factor B (0 = own, 1 = pooled)",
                 height=460)
    fig.update_xaxes(type="log")
    fig.update_yaxes(range=[0, 1.02])
    return fig


def season_plot(curve: pd.DataFrame, k: float, totals: dict, k_bayes: float,
                title: str | None = "Total squared error against the rest of the season") -> go.Figure:
    """Lesson 12: total squared error of the estimates at concentration k (log x; k = 0 drawn at 1),
    the chosen k, and the no-pooling, complete-pooling and full-Bayes errors as lines."""
    require_columns(curve, ["k", "total_squared_error"], "season_plot")
    ks = np.maximum(as_float(curve["k"]), 1.0)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ks, y=as_float(curve["total_squared_error"]), mode="lines", name="shrunk with k",
                             line=dict(color=color("partial"), width=3),
                             hovertemplate="k = %{x:.0f}: %{y:.4f}<extra></extra>"))
    for key, name, c, dash in (("no_pooling", "no pooling (own first 45)", color("no_pooling"), "dot"),
                               ("complete", "complete pooling", color("complete"), "dash"),
                               ("bayes", "full Bayes (k learned)", OKABE_ITO["bluish_green"], "dashdot")):
        fig.add_trace(go.Scatter(x=[ks.min(), ks.max()], y=[totals[key]] * 2, mode="lines", name=name,
                                 line=dict(color=c, dash=dash, width=2), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=[max(k, 1.0)], y=[totals["at_k"]], mode="markers", name=f"your k = {k:.0f}",
                             marker=dict(color=color("partial"), size=18, symbol="diamond", line=dict(color="white", width=1))))
    # a trace, not add_vline: on a log axis a shape's x is read as log10(x) (k = 66 put the axis at 1e72)
    y = as_float(curve["total_squared_error"])
    fig.add_trace(go.Scatter(x=[max(k_bayes, 1.0)] * 2, y=[float(np.nanmin(y)), float(np.nanmax(y))], mode="lines",
                             name=f"posterior mean of k ({k_bayes:.0f})",
                             line=dict(color=OKABE_ITO["bluish_green"], dash="dot"), hoverinfo="skip"))
    apply_layout(fig, title, x_title="concentration k (prior at-bats; log scale)", y_title="total squared error",
                 height=480)
    fig.update_xaxes(type="log")
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.22, x=0, xanchor="left"),
                      margin=dict(b=120))   # six entries: below the plot, clear of the title
    return fig


def season_players_plot(table: pd.DataFrame, k: float,
                        title: str | None = "Each player: first 45 at-bats, shrunk, rest of season") -> go.Figure:
    """Lesson 12: per player the first-45 average, the estimate at k and the rest-of-season average."""
    require_columns(table, ["group", "first", "estimate", "holdout"], "season_players_plot")
    t = table.sort_values("first")
    labels = safe_labels(t["group"])
    fig = go.Figure()
    for col, name, c, symbol in (("first", "first 45 at-bats", color("no_pooling"), "circle"),
                                 ("estimate", f"shrunk (k = {k:.0f})", color("partial"), "diamond"),
                                 ("holdout", "rest of season", color("holdout"), "star")):
        fig.add_trace(go.Scatter(x=as_float(t[col]), y=labels, mode="markers", name=name,
                                 marker=dict(color=c, size=12, symbol=symbol)))
    apply_layout(fig, title, x_title="batting average", height=560)
    return fig


def _strip(fig, scores: pd.DataFrame, row: int, col: int, color_by: str | None = None) -> None:
    """Students' scores per school (jitter-free strip: x = school), school means as dashes."""
    schools = list(pd.unique(scores["school"]))
    pos = {s: i for i, s in enumerate(schools)}
    x = np.array([pos[s] for s in scores["school"]], float)
    groups = [(None, np.ones(len(scores), bool))] if color_by is None else \
        [(label, (scores[color_by] == value).to_numpy()) for value, label in ((0.0, "control school"), (1.0, "treated school"))]
    for i, (label, mask) in enumerate(groups):
        fig.add_trace(go.Scatter(x=x[mask], y=as_float(scores["score"])[mask], mode="markers",
                                 name=label or "student", showlegend=label is not None,
                                 marker=dict(size=5, opacity=0.45, color=color("draws") if label is None else group_color(i + 1)),
                                 hoverinfo="skip"), row=row, col=col)
    means = scores.groupby("school", sort=False)["score"].mean()
    fig.add_trace(go.Scatter(x=[pos[s] for s in means.index], y=as_float(means), mode="markers", name="school mean",
                             marker=dict(symbol="line-ew-open", size=16, color=color("complete"), line=dict(width=3)),
                             hovertemplate="%{y:.1f}<extra>school mean</extra>"), row=row, col=col)
    fig.update_xaxes(tickmode="array", tickvals=list(range(len(schools))), ticktext=safe_labels(schools),
                     showticklabels=len(schools) <= 12, title_text="school", row=row, col=col)
    fig.update_yaxes(title_text="score", row=row, col=col)


def variance_share_plot(scores: pd.DataFrame, shares: pd.DataFrame,
                        title: str | None = "Where does the variation come from?") -> go.Figure:
    """Lesson 5: the students' scores per school (left) and the between / within shares of the
    variance by source (right: truth, the sample means' spread, the model)."""
    from plotly.subplots import make_subplots

    require_columns(scores, ["school", "score"], "variance_share_plot")
    require_columns(shares, ["source", "between", "within"], "variance_share_plot")
    fig = make_subplots(rows=1, cols=2, column_widths=[0.62, 0.38], horizontal_spacing=0.12,
                        subplot_titles=("students in schools", "share of the variance"))
    _strip(fig, scores, 1, 1)
    src = safe_labels(shares["source"])
    for part, c in (("between", color("partial")), ("within", LIGHT_GREY)):
        fig.add_trace(go.Bar(y=src, x=as_float(shares[part]), orientation="h", name=f"{part} schools",
                             marker_color=c, text=[f"{v:.0%}" for v in as_float(shares[part])], textposition="inside",
                             hovertemplate="%{y}: %{x:.2f}<extra>" + part + "</extra>"), row=1, col=2)
    fig.update_layout(barmode="stack")
    fig.update_xaxes(range=[0, 1], title_text="share", row=1, col=2)
    fig.update_yaxes(autorange="reversed", row=1, col=2)
    apply_layout(fig, title, height=480)
    return fig


def pseudo_intervals_plot(scores: pd.DataFrame, intervals: pd.DataFrame, effect: float,
                          title: str | None = "One study: the same data, two analyses") -> go.Figure:
    """Lesson 6: scores per school, treated and control (left); the naive and hierarchical 90%
    intervals of the treatment effect with the true effect (right)."""
    from plotly.subplots import make_subplots

    require_columns(intervals, ["method", "estimate", "low", "high"], "pseudo_intervals_plot")
    fig = make_subplots(rows=1, cols=2, column_widths=[0.5, 0.5], horizontal_spacing=0.28,
                        subplot_titles=("students in schools", "treatment effect, 90% interval"))
    _strip(fig, scores, 1, 1, color_by="treated")
    names = safe_labels(intervals["method"])
    colors = [color("no_pooling"), color("partial")]
    for i, (_, row) in enumerate(intervals.iterrows()):
        fig.add_trace(go.Scatter(x=[row["estimate"]], y=[names[i]], mode="markers", showlegend=False,
                                 marker=dict(size=14, color=colors[i % 2]),
                                 error_x=dict(type="data", symmetric=False, array=[row["high"] - row["estimate"]],
                                              arrayminus=[row["estimate"] - row["low"]], thickness=3, width=10),
                                 hovertemplate=f"{names[i]}: %{{x:.2f}}<extra></extra>"), row=1, col=2)
    fig.add_vline(x=float(effect), line=dict(color=color("holdout"), dash="dash"), row=1, col=2,
                  annotation_text=f"true effect {effect:g}")
    fig.update_xaxes(title_text="points", row=1, col=2)
    apply_layout(fig, title, height=460)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0.0), margin=dict(b=110))
    return fig


def coverage_bars_plot(table: pd.DataFrame, nominal: float,
                       title: str | None = "How often the 90% intervals held the truth") -> go.Figure:
    """Coverage per method with ± 2 Monte Carlo standard errors and the nominal level."""
    require_columns(table, ["method", "coverage", "mc_se"], "coverage_bars_plot")
    names = safe_labels(table["method"])
    cov = as_float(table["coverage"])
    fig = go.Figure(go.Bar(x=cov, y=names, orientation="h", marker_color=[color("no_pooling"), color("partial")][:len(names)]
                           if len(names) == 2 else color("partial"),
                           error_x=dict(type="data", array=2 * as_float(table["mc_se"]), thickness=2),
                           text=[f"{c:.0%}" for c in cov], textposition="inside",
                           hovertemplate="%{y}: %{x:.1%}<extra></extra>", showlegend=False))
    fig.add_vline(x=float(nominal), line=dict(color=color("complete"), dash="dash"),
                  annotation_text=f"nominal {nominal:.0%}")
    apply_layout(fig, title, x_title="coverage (bars: ± 2 Monte Carlo standard errors)", height=300)
    fig.update_xaxes(range=[0, 1])
    return fig


def prior_posterior_plot(density: pd.DataFrame, title: str | None = "tau's posterior under each prior") -> go.Figure:
    """Lesson 8: tau's posterior density under each prior (``prior``, ``tau``, ``density``), overlaid."""
    require_columns(density, ["prior", "tau", "density"], "prior_posterior_plot")
    fig = go.Figure()
    for i, (label, rows) in enumerate(density.groupby("prior", sort=False)):
        fig.add_trace(go.Scatter(x=as_float(rows["tau"]), y=as_float(rows["density"]), mode="lines",
                                 name=safe_text(label), line=dict(color=group_color(i), width=3)))
    apply_layout(fig, title, x_title="tau (SAT points)", y_title="posterior density", height=340)
    return fig


def rank_caterpillar_plot(table: pd.DataFrame, title: str | None = "Each hospital's rank (1 = lowest mortality)") -> go.Figure:
    """Lesson 9: each group's posterior mean rank with its 90% interval (left) and P(best) (right),
    groups ordered by mean rank."""
    from plotly.subplots import make_subplots

    require_columns(table, ["group", "rank_mean", "rank_low", "rank_high", "p_best"], "rank_caterpillar_plot")
    t = table.sort_values("rank_mean")
    labels = safe_labels(t["group"])
    mean = as_float(t["rank_mean"])
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, column_widths=[0.65, 0.35], horizontal_spacing=0.04,
                        subplot_titles=("rank: posterior mean and 90% interval", "P(best)"))
    fig.add_trace(go.Scatter(x=mean, y=labels, mode="markers", name="rank", showlegend=False,
                             marker=dict(size=12, color=color("partial")),
                             error_x=dict(type="data", symmetric=False, array=as_float(t["rank_high"]) - mean,
                                          arrayminus=mean - as_float(t["rank_low"]), thickness=3, width=6),
                             hovertemplate="%{y}: mean rank %{x:.1f}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Bar(x=as_float(t["p_best"]), y=labels, orientation="h", showlegend=False,
                         marker_color=OKABE_ITO["bluish_green"], text=[f"{p:.0%}" for p in as_float(t["p_best"])],
                         textposition="outside", hovertemplate="%{y}: %{x:.1%}<extra>P(best)</extra>"), row=1, col=2)
    fig.update_xaxes(range=[0.5, len(t) + 0.5], title_text="rank", row=1, col=1)
    fig.update_xaxes(range=[0, 1.15], title_text="probability", row=1, col=2)
    fig.update_yaxes(autorange="reversed", title_text="hospital", row=1, col=1)
    apply_layout(fig, title, height=480)
    return fig


def _arrows(fig, table: pd.DataFrame, row: int, col: int, parent_name: str) -> None:
    labels = safe_labels(table["group"])
    own, partial, parent = as_float(table["own"]), as_float(table["partial"]), as_float(table["parent"])
    xs, ys = [], []
    for a, b, y in zip(own, partial, labels):
        xs += [a, b, None]
        ys += [y, y, None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=GREY, width=1.5), showlegend=False,
                             hoverinfo="skip"), row=row, col=col)
    fig.add_trace(go.Scatter(x=parent, y=labels, mode="markers", name=parent_name, showlegend=row == 1 and col == 1,
                             marker=dict(symbol="line-ns-open", size=12, color=color("complete"), line=dict(width=2)),
                             hovertemplate="%{y}: " + parent_name + " %{x:.1f}<extra></extra>"), row=row, col=col)
    fig.add_trace(go.Scatter(x=own, y=labels, mode="markers", name="own mean", showlegend=col == 1,
                             marker=dict(color=color("no_pooling"), size=9),
                             hovertemplate="%{y}: own %{x:.1f}<extra></extra>"), row=row, col=col)
    fig.add_trace(go.Scatter(x=partial, y=labels, mode="markers", name="partial pooling", showlegend=col == 1,
                             marker=dict(color=color("partial"), size=10, symbol="diamond"),
                             customdata=as_float(table["share"]),
                             hovertemplate="%{y}: %{x:.1f} (B = %{customdata:.2f})<extra></extra>"), row=row, col=col)


def nested_plot(schools: pd.DataFrame, classes: pd.DataFrame,
                title: str | None = "Shrinkage at each level: schools toward mu, classes toward their school") -> go.Figure:
    """Lesson 11: per school (left) and per class (right) the own mean, the partial-pooling estimate
    and the parent it is pulled toward (mu; the class's school)."""
    from plotly.subplots import make_subplots

    for t in (schools, classes):
        require_columns(t, ["group", "own", "partial", "parent", "share"], "nested_plot")
    fig = make_subplots(rows=1, cols=2, column_widths=[0.4, 0.6], horizontal_spacing=0.1,
                        subplot_titles=("schools (toward mu)", "classes (toward their school)"))
    _arrows(fig, schools, 1, 1, "parent's estimate")
    _arrows(fig, classes, 1, 2, "parent's estimate")
    for c in (1, 2):
        fig.update_yaxes(autorange="reversed", row=1, col=c)
        fig.update_xaxes(title_text="mean score", row=1, col=c)
    apply_layout(fig, title, height=max(520, 18 * len(classes) + 140))
    return fig


def funnel_views_plot(table: pd.DataFrame, group: str, title: str | None = None) -> go.Figure:
    """Lesson 10: one school's theta against log tau in each view (``view`` column: exact, centered,
    non-centered), divergent draws in vermillion on top."""
    from plotly.subplots import make_subplots

    require_columns(table, ["view", "theta", "log_tau", "diverging"], "funnel_views_plot")
    views = list(pd.unique(table["view"]))
    fig = make_subplots(rows=1, cols=len(views), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=safe_labels(views))
    for c, view in enumerate(views, start=1):
        t = table[table["view"] == view]
        div = t["diverging"].to_numpy(bool)
        fig.add_trace(go.Scattergl(x=as_float(t["theta"])[~div], y=as_float(t["log_tau"])[~div], mode="markers",
                                   name="draws", showlegend=c == 1, legendgroup="draws",
                                   marker=dict(size=4, color=color("draws"), opacity=0.4)), row=1, col=c)
        fig.add_trace(go.Scattergl(x=as_float(t["theta"])[div], y=as_float(t["log_tau"])[div], mode="markers",
                                   name="divergent", showlegend=bool(div.any()), legendgroup="div",
                                   marker=dict(size=7, color=color("divergent"))), row=1, col=c)
        fig.update_xaxes(title_text=f"theta[{safe_text(group)}]", row=1, col=c)
    fig.update_yaxes(title_text="log tau", row=1, col=1)
    apply_layout(fig, title or f"School {group}: the funnel of theta against log tau", height=480)
    fig.update_layout(legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0.0), margin=dict(b=110))
    return fig
