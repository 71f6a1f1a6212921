"""Small computations for the teaching stories (the Learn page): tables, never figures.

* :func:`holdout_table` / :func:`holdout_errors` -- Efron & Morris: each player's first-45
  average, his partial-pooling (shrunk) estimate and his average over the rest of the season,
  and the total squared error of no, partial and complete pooling against that later average.
* :func:`truth_table` / :func:`truth_summary` -- simulated data with known truth: estimates
  against the true group effects, and how many truths fall inside their intervals.
* :func:`weight_example` -- the weight w = precision / (precision + 1/tau²) for one group, with
  the numbers of a fit, in plain words.

Like :mod:`hiermod.compare`, every function takes a :class:`hiermod.result.Fit` and returns a
pandas DataFrame or a plain dict; :mod:`hiermod.plots` draws them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import numpy as np
import pandas as pd

from .errors import DataError, SpecError

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

__all__ = ["holdout_table", "holdout_errors", "truth_table", "truth_summary", "truth_forest_table",
           "weight_example"]

_METHODS = (("no_pooling", "no pooling (own first average)"),
            ("partial", "partial pooling (shrunk estimate)"),
            ("complete", "complete pooling (everyone's average)"))


def _central_or_hdi(draws: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    from .compare import _hdi

    return _hdi(draws, prob)


def _check_prob(prob: float) -> float:
    if not 0 < float(prob) < 1:
        raise SpecError(f"The interval probability must be between 0 and 1; got {prob!r}.")
    return float(prob)


# ------------------------------------------------------------------------------- Efron-Morris


def _holdout_frame(fit: "Fit", frame: pd.DataFrame | None, columns: tuple[str, str] | None,
                   dataset: str) -> tuple[pd.DataFrame, tuple[str, str]]:
    from .data import read_table
    from .datasets import dataset_info, dataset_path

    if columns is None:
        columns = dataset_info(dataset).holdout
        if columns is None:  # pragma: no cover - registry has it
            raise DataError(f"The sample data set {dataset!r} has no held-out columns.")
    if frame is None:
        frame = read_table(dataset_path(dataset))
    group_col = fit.data.columns.group
    missing = [c for c in (group_col, *columns) if c not in frame.columns]
    if missing:
        raise DataError(
            f"The held-out table has no column(s) {', '.join(map(repr, missing))}; expected the "
            f"group column {group_col!r} and the held-out successes and trials "
            f"{columns[0]!r}, {columns[1]!r} (as in the Efron-Morris sample data).")
    return frame, columns


def holdout_table(fit: "Fit", frame: pd.DataFrame | None = None,
                  columns: tuple[str, str] | None = None, hdi_prob: float = 0.9,
                  dataset: str = "efron_morris") -> pd.DataFrame:
    """Per group: the early average, the shrunk estimate and the held-out (later) average.

    ``fit`` is a binomial fit (partial pooling for the classic story) of the early data
    (successes / trials). ``frame`` holds the held-out successes and trials in ``columns``
    (default: the ``holdout`` columns of the sample data set ``dataset``, read from its file),
    matched to the fit's groups by the group column.

    Columns: group, trials, first (successes / trials, the no-pooling estimate), estimate
    (posterior mean of p), low / high (``hdi_prob`` HDI of p), complete_pooling (everyone's
    early successes over everyone's early trials), holdout_trials, holdout (held-out successes /
    trials), and the squared errors against ``holdout``: sq_error_no_pooling, sq_error_partial,
    sq_error_complete.
    """
    prob = _check_prob(hdi_prob)
    data = fit.data
    if str(getattr(data.kind, "value", data.kind)) != "binomial":
        raise SpecError("The held-out comparison needs binomial data (successes out of trials), "
                        f"but this fit is of {getattr(data.kind, 'value', data.kind)} data.")
    frame, (hit_col, trial_col) = _holdout_frame(fit, frame, columns, dataset)
    group_col = data.columns.group
    later = frame[[group_col, hit_col, trial_col]].copy()
    later[group_col] = later[group_col].astype(str).str.strip()
    for col in (hit_col, trial_col):  # read_table keeps text; numbers are parsed here
        later[col] = pd.to_numeric(later[col], errors="coerce")
    later = later.groupby(group_col, sort=False)[[hit_col, trial_col]].sum(min_count=1)
    labels = list(data.labels)
    absent = [g for g in labels if g not in later.index]
    if absent:
        raise DataError(f"No held-out values for {len(absent)} group(s), e.g. {absent[0]!r}; "
                        "every fitted group needs a row in the held-out table.")
    later = later.loc[labels]
    h_hits = later[hit_col].to_numpy(float)
    h_trials = later[trial_col].to_numpy(float)
    if not np.all(np.isfinite(h_trials)) or np.any(h_trials <= 0) or not np.all(np.isfinite(h_hits)):
        raise DataError(f"Columns {hit_col!r} and {trial_col!r} must be numbers (trials positive) "
                        "for every group.")
    idx = np.asarray(data.group_idx)
    k = np.bincount(idx, weights=np.asarray(data.y, float), minlength=data.n_groups)
    n = np.bincount(idx, weights=np.asarray(data.trials, float), minlength=data.n_groups)
    p = fit.draws("p") if "p" in fit.idata.posterior else 1 / (1 + np.exp(-fit.draws("theta")))
    low, high = _central_or_hdi(p, prob)
    holdout = h_hits / h_trials
    first = k / n
    estimate = p.mean(axis=0)
    complete = float(k.sum() / n.sum())
    out = pd.DataFrame({
        "group": labels, "trials": n, "first": first, "estimate": estimate, "low": low,
        "high": high, "complete_pooling": complete, "holdout_trials": h_trials, "holdout": holdout,
        "sq_error_no_pooling": (first - holdout) ** 2,
        "sq_error_partial": (estimate - holdout) ** 2,
        "sq_error_complete": (complete - holdout) ** 2,
    })
    out.attrs.update(hdi_prob=prob, pooling=str(getattr(fit.spec.pooling, "value", fit.spec.pooling)))
    return out


def holdout_errors(table: pd.DataFrame) -> pd.DataFrame:
    """Total squared error of each method against the held-out averages, smallest first.

    Rows: no_pooling, partial, complete (index ``method``); columns: label (plain words),
    total_squared_error, relative_to_no_pooling (total / no-pooling total), groups_closer_than_own
    (how many groups the method gets closer than their own early average). ``attrs["conclusion"]``
    is one sentence computed from the numbers.
    """
    rows = []
    own = table["sq_error_no_pooling"].to_numpy(float)
    base = float(own.sum())
    for method, label in _METHODS:
        err = table[f"sq_error_{method}"].to_numpy(float)
        total = float(err.sum())
        rows.append({"method": method, "label": label, "total_squared_error": total,
                     "relative_to_no_pooling": total / base if base > 0 else np.nan,
                     "groups_closer_than_own": (int(np.sum((err < own) & ~np.isclose(err, own, rtol=1e-9, atol=1e-15)))
                                                if method != "no_pooling" else 0)})
    out = pd.DataFrame(rows).set_index("method").sort_values("total_squared_error", kind="stable")
    best = out.index[0]
    n = len(table)
    if best == "no_pooling":
        conclusion = (f"Here each player's own first average predicted the rest of the season best "
                      f"(total squared error {base:.4f}); shrinkage did not help this time.")
    else:
        ratio = out.loc[best, "relative_to_no_pooling"]
        closer = int(out.loc[best, "groups_closer_than_own"])
        conclusion = (f"{out.loc[best, 'label'].capitalize()} predicted the rest of the season best: "
                      f"its total squared error ({out.loc[best, 'total_squared_error']:.4f}) is "
                      f"{100 * ratio:.0f}% of the no-pooling error ({base:.4f}), and it was closer "
                      f"than the player's own first average for {closer} of {n} players.")
    out.attrs["conclusion"] = conclusion
    out.attrs["best"] = str(best)
    return out


# -------------------------------------------------------------------------------- known truth


def truth_table(fit: "Fit", truth: Mapping[str, float] | Mapping | None = None,
                hdi_prob: float = 0.9) -> pd.DataFrame:
    """Per group: the true effect, the fit's estimate with its ``hdi_prob`` HDI, and the group's
    own-data estimate.

    ``truth`` maps group label -> true theta, or is the dict of
    :func:`hiermod.datasets.simulated_truth` (its ``"theta"`` entry); default: that dict.
    Columns: group, n, truth, no_pooling, estimate, low, high, inside (truth within [low, high]),
    error_no_pooling, error_estimate (estimate minus truth).
    """
    from .compare import group_estimates

    prob = _check_prob(hdi_prob)
    if truth is None:
        from .datasets import simulated_truth

        truth = simulated_truth()
    if isinstance(truth, Mapping) and "theta" in truth and isinstance(truth["theta"], Mapping):
        truth = truth["theta"]
    labels = list(fit.labels)
    absent = [g for g in labels if g not in truth]
    if absent:
        raise DataError(f"No true value for {len(absent)} group(s), e.g. {absent[0]!r}: the truth "
                        "must name every group of the fitted data (is this the simulated data set?).")
    true = np.array([float(truth[g]) for g in labels])
    theta = fit.draws("theta").astype(float)
    low, high = _central_or_hdi(theta, prob)
    est = theta.mean(axis=0)
    own = group_estimates(fit.data)
    out = pd.DataFrame({
        "group": labels, "n": own["n"].to_numpy(), "truth": true,
        "no_pooling": own["no_pooling"].to_numpy(float), "estimate": est, "low": low, "high": high,
        "inside": (true >= low) & (true <= high),
    })
    out["error_no_pooling"] = out["no_pooling"] - out["truth"]
    out["error_estimate"] = out["estimate"] - out["truth"]
    out.attrs.update(hdi_prob=prob, pooling=str(getattr(fit.spec.pooling, "value", fit.spec.pooling)))
    return out


def truth_summary(table: pd.DataFrame) -> dict:
    """Coverage and accuracy of a :func:`truth_table`, in numbers and one plain sentence."""
    n = int(len(table))
    inside = int(table["inside"].sum())
    prob = float(table.attrs.get("hdi_prob", 0.9))
    rmse_est = float(np.sqrt(np.mean(table["error_estimate"].to_numpy(float) ** 2))) if n else np.nan
    rmse_own = float(np.sqrt(np.mean(table["error_no_pooling"].to_numpy(float) ** 2))) if n else np.nan
    closer = int(np.sum(np.abs(table["error_estimate"]) < np.abs(table["error_no_pooling"])))
    message = (f"{inside} of {n} true effects ({100 * inside / n:.0f}%) fall inside their "
               f"{100 * prob:.0f}% intervals (about {100 * prob:.0f}% expected). Typical error "
               f"(root mean square) of the model's estimates: {rmse_est:.3g}; of each group's own "
               f"average: {rmse_own:.3g}. The model's estimate is closer to the truth for "
               f"{closer} of {n} groups.") if n else "No groups."
    return {"n_groups": n, "n_inside": inside, "coverage": inside / n if n else np.nan,
            "expected": prob, "rmse_estimate": rmse_est, "rmse_no_pooling": rmse_own,
            "n_closer": closer, "message": message}


def truth_forest_table(table: pd.DataFrame) -> pd.DataFrame:
    """A :func:`truth_table` in the long form of :func:`hiermod.compare.forest_table` (model,
    group, mean, low, high), for :func:`hiermod.plots.forest_plot`: model "truth" (a point),
    "none" (each group's own average, no interval) and "partial" (the estimate with its interval).
    """
    groups = list(table["group"])
    parts = [
        pd.DataFrame({"model": "truth", "group": groups, "mean": table["truth"],
                      "low": table["truth"], "high": table["truth"]}),
        pd.DataFrame({"model": "none", "group": groups, "mean": table["no_pooling"],
                      "low": table["no_pooling"], "high": table["no_pooling"]}),
        pd.DataFrame({"model": str(table.attrs.get("pooling", "partial")), "group": groups,
                      "mean": table["estimate"], "low": table["low"], "high": table["high"]}),
    ]
    out = pd.concat(parts, ignore_index=True)
    out.attrs["hdi_prob"] = table.attrs.get("hdi_prob", 0.9)
    return out


# ------------------------------------------------------------------------------------ weights


def weight_example(fit: "Fit", group: str | None = None) -> dict:
    """The pooling weight of one group, with the fit's numbers and a plain-words explanation.

    w = precision / (precision + 1/tau²), precision = 1/se² (see
    :func:`hiermod.compare.shrinkage_table`; binomial and poisson use the link-scale
    approximation). The estimate is roughly w x own estimate + (1 - w) x pooled estimate.
    ``group`` defaults to the group with the fewest observations (largest se). Keys: group, se,
    precision, tau, weight, own, pooled, blend (w x own + (1-w) x pooled), posterior_mean,
    scale ("" or "logit"/"log"), sentences (list of plain sentences).
    """
    from .compare import shrinkage_table

    pooling = str(getattr(fit.spec.pooling, "value", fit.spec.pooling))
    table = shrinkage_table(fit)
    if group is None:
        row = table.iloc[int(np.nanargmax(table["se"].to_numpy(float)))]
    else:
        hits = table[table["group"].astype(str) == str(group)]
        if hits.empty:
            raise DataError(f"No group called {group!r} in this fit.")
        row = hits.iloc[0]
    kind = str(table.attrs.get("kind", ""))
    scale = {"binomial": "logit", "poisson": "log"}.get(kind, "")
    tau = float(np.mean(fit.draws("tau"))) if pooling == "partial" else (0.0 if pooling == "complete" else np.inf)
    se, precision, w = float(row["se"]), float(row["precision"]), float(row["weight"])
    own, pooled, post = float(row["no_pooling"]), float(row["complete_pooling"]), float(row["partial_mean"])
    blend = w * own + (1 - w) * pooled
    on = f" (on the {scale} scale)" if scale else ""
    name = str(row["group"])
    if pooling == "partial":
        sentences = [
            f"Take {name}: its own estimate{on} is {own:.3g} with standard error {se:.3g}, so its "
            f"precision is 1/se² = {precision:.3g}.",
            f"Groups differ from each other by about tau = {tau:.3g}, so the pool's precision is "
            f"1/tau² = {1 / tau**2:.3g}.",
            f"The weight on its own data is w = {precision:.3g} / ({precision:.3g} + {1 / tau**2:.3g}) "
            f"= {w:.2f}: the estimate is about {w:.2f} x {own:.3g} + {1 - w:.2f} x {pooled:.3g} "
            f"= {blend:.3g} (the posterior mean is {post:.3g}; they differ a little because tau is "
            "uncertain, not a single number).",
            "Precise groups (small se) keep most of their own estimate; noisy groups, and all groups "
            "when tau is small, are pulled toward the pooled estimate.",
        ]
    elif pooling == "none":
        sentences = [f"No pooling: every group keeps its own estimate (w = 1); {name} stays at {own:.3g}."]
    else:
        sentences = [f"Complete pooling: every group gets the pooled estimate (w = 0); {name} "
                     f"moves from {own:.3g} to {pooled:.3g}."]
    return {"group": name, "se": se, "precision": precision, "tau": tau, "weight": w, "own": own,
            "pooled": pooled, "blend": blend, "posterior_mean": post, "scale": scale,
            "sentences": sentences}
