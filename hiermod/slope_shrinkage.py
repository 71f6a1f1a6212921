"""Varying slopes: each group's own line against its partial-pooling line.

For a term with varying slopes (``spec.terms[-1].slopes``) and one slope covariate x:

- :func:`slope_table`: per group its own least-squares intercept and slope (y on x within the
  group; fewer than 2 distinct x values: no own line, ``own_line`` False) and the posterior mean
  and HDI of its intercept (theta) and slope (slope_x).
- :func:`slope_ellipse_table`: the population of (intercept, slope) at the posterior means of
  mu (or the parent's mean), beta[x], tau, tau_x and rho_x: points on its 50% and 90% ellipses.
- :func:`slope_lines_table`: each group's data points and both lines over its range of x.

Other covariates are held at their mean: each row's y is adjusted to
``y - sum_c beta_hat_c (x_c - mean(x_c))`` before the own fit, and the partial-pooling lines add
``sum_c beta_hat_c mean(x_c)`` (beta_hat: posterior means), so own and partial-pooling lines are
the same kind of line ("intercept" is the value at x = 0 with the others at their means).
Own lines are drawn for row-level normal data only (least squares on the outcome scale).
Everything here computes; :mod:`hiermod.plots.slopes` draws.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import SpecError
from .table_helpers import _check_prob, _hdi

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

__all__ = ["slope_covariates", "slope_table", "slope_ellipse_table", "slope_lines_table",
           "OTHER_COVARIATES_NOTE", "ELLIPSE_PROBS"]

ELLIPSE_PROBS = (0.5, 0.9)
OTHER_COVARIATES_NOTE = ("Other covariates ({names}) are held at their mean: own lines are fitted to "
                         "y - beta_hat . (x - mean x) over them, and the partial-pooling lines add "
                         "beta_hat . mean x (beta_hat: posterior means).")


def slope_covariates(fit: "Fit") -> tuple[str, ...]:
    """The covariates whose slope varies by group in ``fit`` (empty: none)."""
    if fit.spec.pooling.value != "partial":
        return ()
    return tuple(fit.spec.terms[-1].slopes)


def _term_and_x(fit: "Fit", x: str | None):
    slopes = slope_covariates(fit)
    if not slopes:
        raise SpecError("This fit has no varying slopes: choose a slope covariate on the Model page "
                        "(or --slope) with partial pooling.")
    x = slopes[0] if x is None else x
    if x not in slopes:
        raise SpecError(f"{x!r} has no varying slope in this fit; its slopes are {', '.join(slopes)}.")
    return fit.spec.terms[-1], x


def _beta_hat(fit: "Fit") -> dict[str, float]:
    covariates = tuple(fit.spec.covariates)
    if not covariates or "beta" not in fit.idata.posterior:
        return {}
    values = np.asarray(fit.draws("beta"), dtype=float).reshape(-1, len(covariates)).mean(axis=0)
    return dict(zip(covariates, map(float, values)))


def _adjusted(fit: "Fit", x: str) -> tuple[np.ndarray, np.ndarray, float, tuple[str, ...]]:
    """(x values, y held at the other covariates' means, the partial lines' offset, other names)."""
    data = fit.data
    names = list(data.covariate_names)
    X = np.asarray(data.X, dtype=float)
    beta = _beta_hat(fit)
    others = tuple(c for c in fit.spec.covariates if c != x)
    y = np.asarray(data.y, dtype=float).copy()
    offset = 0.0
    for c in others:
        col = X[:, names.index(c)]
        y -= beta[c] * (col - col.mean())
        offset += beta[c] * col.mean()
    return X[:, names.index(x)], y, offset, others


def _own_lines_apply(fit: "Fit") -> bool:
    """Own least-squares lines are on the model's scale: row-level data with an identity link."""
    from .kind_registry import kind_info

    return fit.spec.family.link == "identity" and not kind_info(fit.data.kind).one_row_per_group


def _own_lines(fit: "Fit", x: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per group: own intercept, own slope (NaN without a line), distinct x values, rows."""
    xs, y, _, _ = _adjusted(fit, x)
    idx = np.asarray(fit.data.group_idx)
    J = fit.data.n_groups
    own_a, own_b = np.full(J, np.nan), np.full(J, np.nan)
    distinct = np.zeros(J, dtype=int)
    normal_rows = _own_lines_apply(fit)
    for j in range(J):
        rows = idx == j
        distinct[j] = np.unique(xs[rows]).size
        if distinct[j] >= 2 and normal_rows:
            own_b[j], own_a[j] = np.polyfit(xs[rows], y[rows], 1)
    return own_a, own_b, distinct, np.bincount(idx, minlength=J)


def slope_table(fit: "Fit", x: str | None = None, hdi_prob: float = 0.9) -> pd.DataFrame:
    """One row per group of the innermost level: group, n (rows), distinct_x, own_line (True when
    it has one: at least 2 distinct x values and row-level normal data), own_intercept, own_slope
    (least squares of y on x within the group, other covariates held at their means), intercept,
    intercept_low, intercept_high (posterior mean and HDI of theta, plus the other covariates'
    offset), slope, slope_low, slope_high (slope_x), toward_intercept (what the intercept is
    centred on: mu, or the parent's posterior mean, plus the offset) and toward_slope
    (posterior mean of beta[x]). ``attrs``: x, note (what was held and why a group has no line)."""
    term, x = _term_and_x(fit, x)
    prob = _check_prob(hdi_prob)
    own_a, own_b, distinct, n = _own_lines(fit, x)
    _, _, offset, others = _adjusted(fit, x)
    theta = fit.draws(term.effect).astype(float) + offset
    slope = fit.draws(term.slope_effect(x)).astype(float)
    a_low, a_high = _hdi(theta, prob)
    b_low, b_high = _hdi(slope, prob)
    if term.own_location:
        toward = np.full(fit.data.n_groups, float(fit.draws(term.location).mean()) + offset)
    else:
        parent = fit.data.levels[-1].parent
        toward = fit.draws(term.location).mean(axis=0)[parent] + offset
    out = pd.DataFrame({
        "group": np.asarray(fit.data.labels, dtype=object),
        "n": n,
        "distinct_x": distinct,
        "own_line": np.isfinite(own_b),
        "own_intercept": own_a,
        "own_slope": own_b,
        "intercept": theta.mean(axis=0),
        "intercept_low": a_low,
        "intercept_high": a_high,
        "slope": slope.mean(axis=0),
        "slope_low": b_low,
        "slope_high": b_high,
        "toward_intercept": toward,
        "toward_slope": float(_beta_hat(fit)[x]),
    })
    notes = []
    missing = out.loc[~out["own_line"], "group"].astype(str).tolist()
    if not _own_lines_apply(fit):
        notes.append("Own least-squares lines are drawn for row-level normal data only; this fit's "
                     f"{fit.spec.family.name} outcome is on another scale.")
    elif missing:
        notes.append(f"{len(missing)} group(s) have fewer than 2 distinct values of {x}, so no own "
                     f"line: {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}.")
    if others:
        notes.append(OTHER_COVARIATES_NOTE.format(names=", ".join(others)))
    out.attrs.update(x=x, hdi_prob=prob, note=" ".join(notes), others=others, offset=offset)
    return out


def slope_ellipse_table(fit: "Fit", x: str | None = None, probs=ELLIPSE_PROBS, n_points: int = 120
                        ) -> pd.DataFrame:
    """Points on the population's ellipses of (intercept, slope) at posterior means: centre
    (mu + offset, beta[x]), covariance [[tau², rho tau tau_x], [rho tau tau_x, tau_x²]] (rho_x = 0
    without the LKJ correlation). The ``prob`` ellipse holds that share of a normal population:
    radius sqrt(-2 log(1 - prob)). Columns: prob, intercept, slope. ``attrs``: centre, tau,
    tau_x, rho, nested (True: intercepts are centred on their parents, the ellipse on mu)."""
    term, x = _term_and_x(fit, x)
    _, _, offset, _ = _adjusted(fit, x)
    mean = lambda name: float(np.mean(fit.draws(name)))  # noqa: E731
    centre_a = (mean("mu") if "mu" in fit.idata.posterior else float(fit.draws(term.location).mean())) + offset
    centre_b = _beta_hat(fit)[x]
    tau, tau_x = mean(term.scale), mean(term.slope_scale(x))
    rho = mean(term.slope_correlation(x)) if term.slope_correlation(x) in fit.idata.posterior else 0.0
    cov = np.array([[tau**2, rho * tau * tau_x], [rho * tau * tau_x, tau_x**2]])
    vals, vecs = np.linalg.eigh(cov)
    root = vecs @ np.diag(np.sqrt(np.clip(vals, 0, None)))
    angle = np.linspace(0, 2 * np.pi, n_points)
    circle = np.vstack([np.cos(angle), np.sin(angle)])
    frames = []
    for p in probs:
        pts = root @ (circle * np.sqrt(-2 * np.log1p(-float(p))))
        frames.append(pd.DataFrame({"prob": float(p), "intercept": centre_a + pts[0], "slope": centre_b + pts[1]}))
    out = pd.concat(frames, ignore_index=True)
    out.attrs.update(centre=(centre_a, centre_b), tau=tau, tau_x=tau_x, rho=rho, x=x,
                     nested=not term.own_location)
    return out


def slope_lines_table(fit: "Fit", x: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(points, lines) for small multiples of each group's lines. points: group, x, y (y held at
    the other covariates' means); lines: group, line ("own" least squares, "partial pooling"
    posterior means), x, y at the ends of the group's range of x (no "own" rows without an own
    line)."""
    term, x = _term_and_x(fit, x)
    table = slope_table(fit, x)
    xs, y, _, _ = _adjusted(fit, x)
    idx = np.asarray(fit.data.group_idx)
    labels = np.asarray(fit.data.labels, dtype=object)
    points = pd.DataFrame({"group": labels[idx], "x": xs, "y": y})
    rows = []
    lo = np.full(fit.data.n_groups, np.nan)
    hi = np.full(fit.data.n_groups, np.nan)
    np.fmin.at(lo, idx, xs)
    np.fmax.at(hi, idx, xs)
    for j, r in table.iterrows():
        ends = (lo[j], hi[j]) if hi[j] > lo[j] else (lo[j] - 0.5, hi[j] + 0.5)
        for e in ends:
            rows.append((r["group"], "partial pooling", e, r["intercept"] + r["slope"] * e))
        if r["own_line"]:
            for e in ends:
                rows.append((r["group"], "own", e, r["own_intercept"] + r["own_slope"] * e))
    lines = pd.DataFrame(rows, columns=["group", "line", "x", "y"])
    lines.attrs.update(table.attrs)
    return points, lines
