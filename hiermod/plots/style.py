"""Shared look of every hiermod figure: palette, layout, and safe text.

Colours are the Okabe–Ito palette (safe for the common forms of colour blindness), given
named *roles* so a colour means the same thing in every chart: orange is always the
no-pooling estimate, blue the partial-pooling one, black complete pooling, vermillion a
divergent draw.

User text (group labels, column names, prior strings) is put into figures only through
:func:`safe_text`. Plotly.js renders a subset of HTML (``<b>``, ``<br>``, ``<a href>``,
``<span style>``...) in titles, tick labels, legends and hover labels; it decodes the
entities ``&amp;``, ``&lt;``, ``&gt;`` and numeric ``&#NN;`` *after* it has split out the
tags, so an escaped label is drawn as the literal text the user typed, never as markup.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from hiermod.errors import HiermodError

__all__ = [
    "OKABE_ITO",
    "ROLE_COLORS",
    "CHAIN_COLORS",
    "MODEL_NAMES",
    "color",
    "chain_color",
    "group_color",
    "interval_label",
    "GROUP_COLORS",
    "model_color",
    "safe_text",
    "safe_labels",
    "apply_layout",
    "require_columns",
    "first_column",
    "marker_sizes",
    "group_height",
    "interval_segments",
    "as_float",
    "PlotInputError",
]

OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

GREY = "#8C8C8C"
LIGHT_GREY = "#C8C8C8"

ROLE_COLORS: dict[str, str] = {
    "no_pooling": OKABE_ITO["orange"],
    "partial": OKABE_ITO["blue"],
    "complete": OKABE_ITO["black"],
    "divergent": OKABE_ITO["vermillion"],
    "draws": OKABE_ITO["sky_blue"],
    "prior": OKABE_ITO["reddish_purple"],
    "posterior": OKABE_ITO["blue"],
    "exact": OKABE_ITO["black"],
    "observed": OKABE_ITO["black"],
    "inside": OKABE_ITO["bluish_green"],
    "outside": OKABE_ITO["vermillion"],
    "holdout": OKABE_ITO["bluish_green"],
    "predictive": OKABE_ITO["sky_blue"],
    "shrinkage": GREY,
    "density": OKABE_ITO["sky_blue"],
    "between": OKABE_ITO["blue"],
    "within": OKABE_ITO["orange"],
    "share": OKABE_ITO["bluish_green"],
    "energy_marginal": OKABE_ITO["blue"],
    "energy_transition": OKABE_ITO["orange"],
    "neutral": GREY,
}

CHAIN_COLORS: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["black"],
    OKABE_ITO["yellow"],
)

#: Colours for one line per group: the palette without yellow (too pale on white) plus grey.
GROUP_COLORS: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["orange"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["black"],
    GREY,
)

#: Display names of the pooling modes used as ``model`` keys in compare tables.
MODEL_NAMES: dict[str, str] = {
    "none": "no pooling",
    "no_pooling": "no pooling",
    "complete": "complete pooling",
    "complete_pooling": "complete pooling",
    "partial": "partial pooling",
    "partial_pooling": "partial pooling",
}
_MODEL_ROLES = {"none": "no_pooling", "no_pooling": "no_pooling", "complete": "complete",
                "complete_pooling": "complete", "partial": "partial", "partial_pooling": "partial"}

FONT_FAMILY = "Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"


class PlotInputError(HiermodError):
    """A table handed to a figure builder lacks a column or has no rows."""


def color(role: str) -> str:
    """The colour of a named role (``"partial"``, ``"divergent"``...); grey when unknown."""
    return ROLE_COLORS.get(role, GREY)


def chain_color(i: int) -> str:
    """Colour of chain ``i`` (cycles through the palette)."""
    return CHAIN_COLORS[int(i) % len(CHAIN_COLORS)]


def group_color(i: int) -> str:
    """Colour of the ``i``-th group line (cycles through :data:`GROUP_COLORS`)."""
    return GROUP_COLORS[int(i) % len(GROUP_COLORS)]


def interval_label(table, default: str = "interval", kind: str = "interval") -> str:
    """'90% interval' from a table's ``attrs['hdi_prob']`` (set by hiermod.compare), else default."""
    prob = getattr(table, "attrs", {}).get("hdi_prob")
    try:
        return f"{float(prob):.0%} {kind}" if prob is not None else default
    except (TypeError, ValueError):
        return default


def model_color(model: str, i: int = 0) -> str:
    """Colour of a pooling mode key (``"none"``, ``"complete"``, ``"partial"``) or a fallback."""
    role = _MODEL_ROLES.get(str(model))
    return ROLE_COLORS[role] if role else chain_color(i + 4)


def safe_text(label: Any) -> str:
    """``label`` as a string that plotly draws literally, never as markup.

    Escapes ``&``, ``<`` and ``>`` (plotly.js decodes these entities back when it draws), and
    ``$`` (so a label wrapped in dollars is never typeset as LaTeX where MathJax is loaded).
    ``None`` and NaN become the empty string.

    >>> safe_text("<b>bold</b> & co")
    '&lt;b&gt;bold&lt;/b&gt; &amp; co'
    """
    if label is None:
        return ""
    if isinstance(label, float) and math.isnan(label):
        return ""
    text = label if isinstance(label, str) else str(label)
    return html.escape(text, quote=False).replace("$", "&#36;")


def safe_labels(labels: Iterable[Any]) -> list[str]:
    """:func:`safe_text` of every label."""
    return [safe_text(x) for x in labels]


TEMPLATE = "plotly_white"


def _set_template(fig: go.Figure, name: str) -> None:
    """``fig.layout.template = name`` without plotly validating (deep-copying) the registered
    template again, as plotly itself sets its default template: about 10 ms a figure, most of a
    live figure's cost on the server."""
    import plotly.io as pio

    layout = fig.layout
    before = getattr(layout, "_validate", True)
    layout._validate = False
    try:
        layout.template = pio.templates[name]
    finally:
        layout._validate = before


def apply_layout(
    fig: go.Figure,
    title: str | None = None,
    *,
    x_title: str | None = None,
    y_title: str | None = None,
    height: int | None = None,
    show_legend: bool = True,
) -> go.Figure:
    """Apply the common hiermod look. ``title``/axis titles are plain text (escaped here)."""
    _set_template(fig, TEMPLATE)
    fig.update_layout(
        font=dict(family=FONT_FAMILY, size=14, color="#222222"),
        title=dict(text=safe_text(title) if title else None, font=dict(size=17), x=0.01,
                   xanchor="left"),
        margin=dict(l=70, r=30, t=70 if title else 30, b=60),
        hoverlabel=dict(font=dict(family=FONT_FAMILY, size=13), align="left"),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="right", x=1.0,
                    bgcolor="rgba(255,255,255,0.6)"),
        showlegend=show_legend,
    )
    if height is not None:
        fig.update_layout(height=int(height))
    if x_title is not None:
        fig.update_layout(xaxis_title_text=safe_text(x_title))
    if y_title is not None:
        fig.update_layout(yaxis_title_text=safe_text(y_title))
    fig.update_xaxes(zeroline=False, showline=True, linecolor="#444444", ticks="outside")
    fig.update_yaxes(zeroline=False, showline=True, linecolor="#444444", ticks="outside")
    return fig


def require_columns(table: pd.DataFrame, columns: Sequence[str], builder: str) -> None:
    """Raise :class:`PlotInputError` naming what is missing, what exists, and where it comes from."""
    if not isinstance(table, pd.DataFrame):
        raise PlotInputError(
            f"{builder} needs a pandas DataFrame, got {type(table).__name__}. "
            f"Pass the table built by hiermod's compute functions."
        )
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise PlotInputError(
            f"{builder}: the table has no column(s) {missing}; it has {list(map(str, table.columns))}. "
            f"Expected at least {list(columns)}."
        )
    if len(table) == 0:
        raise PlotInputError(f"{builder}: the table has no rows; nothing to draw.")


def first_column(table: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    """The first of ``candidates`` that is a column of ``table`` (None if none is)."""
    for c in candidates:
        if c in table.columns:
            return c
    return None


def marker_sizes(weights: Any, lo: float = 7.0, hi: float = 20.0) -> np.ndarray:
    """Marker diameters in px: area proportional to ``weights`` (precision or n), within [lo, hi].

    Purely a visual scale; missing or non-positive weights get the middle size.
    """
    w = np.asarray(pd.to_numeric(pd.Series(weights), errors="coerce"), dtype=float)
    ok = np.isfinite(w) & (w > 0)
    out = np.full(w.shape, (lo + hi) / 2.0)
    if ok.any():
        r = np.sqrt(w[ok])
        span = r.max() - r.min()
        out[ok] = (lo + hi) / 2.0 if span <= 0 else lo + (hi - lo) * (r - r.min()) / span
    return out


def group_height(n_groups: int, per_group: int = 26, base: int = 160, cap: int = 2600) -> int:
    """Figure height for a chart with one row per group."""
    return int(min(cap, max(320, base + per_group * int(n_groups))))


def interval_segments(low: Sequence[float], high: Sequence[float], pos: Sequence[float],
                      horizontal: bool = True) -> tuple[list, list]:
    """x/y lists drawing one segment per row (None-separated), for a single line trace."""
    xs: list = []
    ys: list = []
    for lo_, hi_, p in zip(low, high, pos):
        if horizontal:
            xs += [float(lo_), float(hi_), None]
            ys += [float(p), float(p), None]
        else:
            xs += [float(p), float(p), None]
            ys += [float(lo_), float(hi_), None]
    return xs, ys


def as_float(values: Any) -> np.ndarray:
    """A float array (NaN where not numeric)."""
    return np.asarray(pd.to_numeric(pd.Series(values).reset_index(drop=True), errors="coerce"),
                      dtype=float)
