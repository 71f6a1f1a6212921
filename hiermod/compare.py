"""Compare pooling modes, measure shrinkage, predict a new group, split the variance.

All functions compute tables (pandas DataFrames); ``plots/`` draws them.

Scales: ``theta`` lives on the link scale (identity for normal data, logit for binomial, log
for poisson). Tables give link-scale columns and, for binomial and poisson data, ``*_response``
columns on the probability / rate scale.

Intervals: posterior quantities of parameters use highest-density intervals (HDI); predictive
quantities (new observations, replicated data) use central (equal-tailed) intervals, which suit
discrete counts better.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Mapping

import numpy as np
import pandas as pd

from .errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .result import Fit
    from .spec import ModelSpec

PARETO_K_MAX = 0.7
POOLING_MODES = ("none", "complete", "partial")


# --------------------------------------------------------------------------------------- helpers


def _kind(fit_or_data) -> str:
    data = getattr(fit_or_data, "data", fit_or_data)
    return str(getattr(data.kind, "value", data.kind))


def _likelihood(fit: "Fit") -> str:
    return str(getattr(fit.spec.likelihood, "value", fit.spec.likelihood))


def _pooling(fit: "Fit") -> str:
    return str(getattr(fit.spec.pooling, "value", fit.spec.pooling))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def _logit(p):
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


def _inverse_link(kind: str):
    if kind == "binomial":
        return _sigmoid
    if kind == "poisson":
        return np.exp
    return lambda x: np.asarray(x, dtype=float)


def _hdi(draws: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray]:
    """HDI of each column of ``draws`` (n_draws, k) -> (low (k,), high (k,))."""
    import arviz as az

    draws = np.asarray(draws, dtype=float)
    if draws.ndim == 1:
        draws = draws[:, None]
    low, high = np.full(draws.shape[1], np.nan), np.full(draws.shape[1], np.nan)
    for j in range(draws.shape[1]):
        col = draws[:, j]
        col = col[np.isfinite(col)]
        if col.size < 2:
            continue
        if np.ptp(col) == 0:
            low[j] = high[j] = col[0]
            continue
        low[j], high[j] = az.hdi(col, hdi_prob=prob)
    return low, high


def _central(draws: np.ndarray, prob: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed ``prob`` interval along ``axis``; for whole-number draws (counts) the ends are
    whole numbers too (the lower end rounded down, the upper up)."""
    a = (1 - prob) / 2
    draws = np.asarray(draws, dtype=float)
    finite = draws[np.isfinite(draws)]
    integer = finite.size > 0 and bool(np.all(finite == np.round(finite)))
    lo_method, hi_method = ("lower", "higher") if integer else ("linear", "linear")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return (np.nanquantile(draws, a, axis=axis, method=lo_method),
                np.nanquantile(draws, 1 - a, axis=axis, method=hi_method))


def _check_prob(prob: float) -> float:
    if not 0 < float(prob) < 1:
        raise SpecError(f"The interval probability must be between 0 and 1; got {prob!r}.")
    return float(prob)


def _posterior_mean(fit: "Fit", name: str) -> float:
    return float(np.mean(fit.draws(name)))


def _row_array(data: "GroupedData", name: str) -> np.ndarray:
    value = getattr(data, name, None)
    return np.ones(data.n_rows) if value is None else np.asarray(value, dtype=float)


# ------------------------------------------------------------------------------------- shrinkage


def group_estimates(data: "GroupedData") -> pd.DataFrame:
    """Each group's own-data (no-pooling) estimate on the link scale, its standard error and the
    complete-pooling estimate (in ``attrs["complete"]``).

    summary: y_j with its se_j; complete = precision-weighted mean of the y_j.
    gaussian: group mean, se = sd / sqrt(n); complete = grand mean of all rows.
    binomial: logit((y + 0.5) / (n + 1)) with se = sqrt(1/(y + 0.5) + 1/(n - y + 0.5));
        complete = logit((sum y + 0.5) / (sum n + 1)).
    poisson: log((y + 0.5) / exposure) with se = 1 / sqrt(y + 0.5);
        complete = log((sum y + 0.5) / sum exposure).
    """
    gs = data.group_summary()
    kind = _kind(data)
    out = pd.DataFrame({"group": gs["group"].astype(str).to_numpy(dtype=object), "n": gs["n"].to_numpy()})
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "summary":
            est, se = gs["estimate"].to_numpy(float), gs["se"].to_numpy(float)
            w = 1 / se**2
            complete = float(np.sum(w * est) / np.sum(w))
        elif kind == "gaussian":
            est, se = gs["estimate"].to_numpy(float), gs["se"].to_numpy(float)
            complete = float(np.mean(data.y))
        elif kind == "binomial":
            k, n = gs["successes"].to_numpy(float), gs["trials"].to_numpy(float)
            est = _logit((k + 0.5) / (n + 1))
            se = np.sqrt(1 / (k + 0.5) + 1 / (n - k + 0.5))
            complete = float(_logit((k.sum() + 0.5) / (n.sum() + 1)))
        elif kind == "poisson":
            e, x = gs["events"].to_numpy(float), gs["exposure"].to_numpy(float)
            est = np.log((e + 0.5) / x)
            se = 1 / np.sqrt(e + 0.5)
            complete = float(np.log((e.sum() + 0.5) / x.sum()))
        else:  # pragma: no cover
            raise SpecError(f"Unknown data kind {kind!r}.")
    out["no_pooling"] = est
    out["se"] = se
    out.attrs["complete"] = complete
    return out


def shrinkage_table(fit: "Fit", hdi_prob: float = 0.9, complete_fit: "Fit | None" = None) -> pd.DataFrame:
    """How far each group's estimate moved from its own data toward the overall estimate.

    Columns (link scale): group, n, se, precision (= 1/se²), no_pooling (the group's own-data
    estimate, see :func:`group_estimates`), partial_mean / partial_low / partial_high (posterior
    mean and ``hdi_prob`` HDI of theta in ``fit``), complete_pooling (the estimate every group
    is pulled toward: the posterior mean of mu in ``complete_fit`` when given; otherwise the
    posterior mean of the fit's own mu (partial or complete pooling), which is what the model
    shrinks toward under its priors; for a no-pooling fit, ``pooled_data``), pooled_data (the data's pooled
    estimate, see :func:`group_estimates`), shrinkage = 1 - (partial - complete) / (no_pooling -
    complete): 0 = the group keeps its own estimate, 1 = it is pulled
    all the way to the pooled one (NaN when a group's own estimate equals the pooled one), and
    weight = precision / (precision + 1/tau²) with tau's posterior mean: the weight the normal
    model gives the group's own data (the expected shrinkage is 1 - weight). For gaussian data
    fitted with sigma, se = posterior-mean sigma / sqrt(n) (what the model uses); for binomial
    and poisson, se and weight use the link-scale approximation above. No pooling: weight 1;
    complete pooling: weight 0.
    Binomial and poisson also get no_pooling_response, partial_mean_response,
    partial_low_response, partial_high_response and complete_pooling_response (probability or
    rate per unit of exposure).
    """
    prob = _check_prob(hdi_prob)
    kind = _kind(fit)
    table = group_estimates(fit.data)
    pooled_data = table.attrs["complete"]
    if complete_fit is not None:
        if "mu" not in complete_fit.idata.posterior:
            raise SpecError("complete_fit must be a complete- or partial-pooling fit (one with mu).")
        complete, source = _posterior_mean(complete_fit, "mu"), "complete_fit"
    elif "mu" in fit.idata.posterior:
        complete, source = _posterior_mean(fit, "mu"), "fit_mu"
    else:
        complete, source = pooled_data, "data"
    se = table["se"].to_numpy(float)
    if kind == "gaussian" and "sigma" in fit.idata.posterior:
        se = _posterior_mean(fit, "sigma") / np.sqrt(table["n"].to_numpy(float))
    theta = fit.draws("theta")
    partial_mean = theta.mean(axis=0)
    low, high = _hdi(theta, prob)
    no_pool = table["no_pooling"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = 1 / se**2
        diff = no_pool - complete
        tiny = 1e-9 * max(1.0, float(np.nanmax(np.abs(no_pool))) if len(no_pool) else 1.0)
        shrinkage = np.where(np.abs(diff) > tiny, 1 - (partial_mean - complete) / diff, np.nan)
        pooling = _pooling(fit)
        if pooling == "partial":
            tau = _posterior_mean(fit, "tau")
            weight = precision / (precision + 1 / tau**2)
        elif pooling == "none":
            weight = np.ones_like(precision)
        else:
            weight = np.zeros_like(precision)
    out = pd.DataFrame({
        "group": table["group"],
        "n": table["n"],
        "se": se,
        "precision": precision,
        "no_pooling": no_pool,
        "partial_mean": partial_mean,
        "partial_low": low,
        "partial_high": high,
        "complete_pooling": complete,
        "pooled_data": pooled_data,
        "shrinkage": shrinkage,
        "weight": weight,
    })
    if kind in ("binomial", "poisson"):
        inv = _inverse_link(kind)
        var = "p" if kind == "binomial" else "rate"
        response = fit.draws(var) if var in fit.idata.posterior else inv(theta)
        r_low, r_high = _hdi(response, prob)
        out["no_pooling_response"] = inv(no_pool)
        out["partial_mean_response"] = response.mean(axis=0)
        out["partial_low_response"] = r_low
        out["partial_high_response"] = r_high
        out["complete_pooling_response"] = float(inv(complete))
    out.attrs.update(hdi_prob=prob, kind=kind, pooling=_pooling(fit), complete_source=source)
    return out


# -------------------------------------------------------------------------------- pooling modes


def fit_pooling_modes(data: "GroupedData", spec: "ModelSpec", modes=POOLING_MODES, **fit_kwargs) -> dict[str, "Fit"]:
    """Fit ``spec`` with no, complete and partial pooling: {"none": Fit, "complete": Fit, "partial": Fit}.

    Each fit uses ``spec.replace(pooling=...)``, so priors that do not apply to a mode (tau under
    complete pooling, mu under no pooling) are dropped and defaults fill the rest. ``fit_kwargs``
    (chains, warmup, draws, seed, target_accept, method, progress, cancel ...) go to
    :func:`hiermod.fitting.fit` unchanged.
    """
    from .fitting import fit as run_fit

    unknown = [m for m in modes if str(m) not in POOLING_MODES]
    if unknown:
        raise SpecError(f"Unknown pooling mode(s) {', '.join(map(str, unknown))}; use none, complete, partial.")
    return {str(m): run_fit(data, spec.replace(pooling=str(m)), **fit_kwargs) for m in modes}


def _pointwise_unit(fit: "Fit") -> tuple[str, bool]:
    """(what one log-likelihood point is, whether each point is a whole group)."""
    one_per_group = fit.data.n_rows == fit.data.n_groups
    if _kind(fit) == "summary" or one_per_group:
        return "groups", True
    return "observations", False


def _pareto_warning(n_bad: int, n_points: int, unit: str, one_per_group: bool) -> str:
    if n_bad == 0:
        return ""
    text = (f"k > {PARETO_K_MAX} for {n_bad} of {n_points} {unit}: LOO is unreliable for them "
            "(leaving one out changes the posterior too much for importance sampling to follow)")
    if one_per_group:
        return text + "; with one observation per group this is expected — consider K-fold cross-validation."
    return text + ("; these observations pull hard on the fit — check them for outliers, consider a "
                   "Student-t likelihood, or K-fold cross-validation.")


def loo_table(fits: Mapping[str, "Fit"], scale: str = "log") -> pd.DataFrame:
    """Compare models by PSIS-LOO (``az.compare``, log-likelihood variable ``y``).

    One row per model, best first, index = model name, with the ``az.compare`` columns (rank,
    elpd_loo, p_loo, elpd_diff, weight, se, dse, scale) plus model, n_points, n_bad_pareto_k
    (Pareto k > 0.7), max_pareto_k and warning (plain text, "" when LOO is reliable). All models
    must be fitted to the same observations.
    """
    import arviz as az

    if not fits:
        raise SpecError("loo_table needs at least one fit.")
    n_rows = {name: f.data.n_rows for name, f in fits.items()}
    if len(set(n_rows.values())) > 1:
        raise SpecError(
            "LOO compares models fitted to the same observations; these fits have different numbers "
            f"of rows ({', '.join(f'{k}: {v}' for k, v in n_rows.items())})."
        )
    extra = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, f in fits.items():
            loo = az.loo(f.idata, pointwise=True, var_name="y")
            k = np.asarray(loo.pareto_k, dtype=float)
            unit, one_per_group = _pointwise_unit(f)
            n_bad = int(np.sum(k > PARETO_K_MAX))
            extra[name] = {"n_points": int(k.size), "n_bad_pareto_k": n_bad,
                           "max_pareto_k": float(np.nanmax(k)) if k.size else np.nan,
                           "warning": _pareto_warning(n_bad, int(k.size), unit, one_per_group)}
        table = az.compare({name: f.idata for name, f in fits.items()}, ic="loo", var_name="y", scale=scale)
    table = table.rename(columns={"warning": "pareto_warning"})
    table.insert(0, "model", table.index.astype(str))
    for col in ("n_points", "n_bad_pareto_k", "max_pareto_k", "warning"):
        table[col] = [extra[str(m)][col] for m in table.index]
    table.index = table.index.astype(str)
    table.index.name = "model_name"
    return table


def forest_table(fits: "Mapping[str, Fit] | Fit", hdi_prob: float = 0.9, response: bool = False) -> pd.DataFrame:
    """Long table of every group's theta in every model: model, group, mean, low, high (HDI).

    ``response=True`` reports p (binomial) or rate (poisson) instead of the link-scale theta.
    """
    prob = _check_prob(hdi_prob)
    if not isinstance(fits, Mapping):
        fits = {_pooling(fits): fits}
    frames = []
    for name, f in fits.items():
        var = "theta"
        if response and _kind(f) == "binomial":
            var = "p"
        elif response and _kind(f) == "poisson":
            var = "rate"
        draws = f.draws(var)
        low, high = _hdi(draws, prob)
        frames.append(pd.DataFrame({
            "model": str(name), "group": list(f.labels), "mean": draws.mean(axis=0), "low": low, "high": high,
        }))
    out = pd.concat(frames, ignore_index=True)
    out.attrs["hdi_prob"] = prob
    return out


# --------------------------------------------------------------------------------- new group


def new_group_draws(fit: "Fit", seed: int = 0) -> dict[str, np.ndarray]:
    """Per posterior draw: theta_new (a new group's effect, link scale), response_new (probability
    / rate / mean) and y_new (one new observation from that group). See :func:`predict_new_group`."""
    pooling = _pooling(fit)
    if pooling == "none":
        raise SpecError(
            "A no-pooling model cannot predict a new group: it treats every group as unrelated, so "
            "it has no overall mean or spread to draw a new group from. Use partial pooling (or "
            "complete pooling, which assumes the new group equals the overall mean)."
        )
    rng = np.random.default_rng(seed)
    mu = fit.draws("mu").astype(float)
    n = mu.shape[0]
    if pooling == "partial":
        tau = fit.draws("tau").astype(float)
        theta_new = mu + tau * rng.standard_normal(n)
    else:
        theta_new = mu.copy()
    kind, lik = _kind(fit), _likelihood(fit)
    response = _inverse_link(kind)(theta_new)
    data = fit.data
    if lik == "normal_known_se":
        y_new = theta_new + float(np.median(data.se)) * rng.standard_normal(n)
    elif lik == "normal":
        y_new = theta_new + fit.draws("sigma") * rng.standard_normal(n)
    elif lik == "student_t":
        y_new = theta_new + fit.draws("sigma") * rng.standard_t(fit.draws("nu"))
    elif lik == "binomial":
        trials = int(round(float(np.median(_row_array(data, "trials")))))
        y_new = rng.binomial(max(trials, 1), np.clip(response, 0, 1)).astype(float)
    elif lik == "poisson":
        exposure = float(np.median(_row_array(data, "exposure")))
        y_new = rng.poisson(np.minimum(response * exposure, 1e12)).astype(float)
    else:  # pragma: no cover
        raise SpecError(f"Unknown likelihood {lik!r}.")
    return {"theta_new": theta_new, "response_new": response, "y_new": y_new}


def predict_new_group(fit: "Fit", hdi_prob: float = 0.9, seed: int = 0) -> pd.DataFrame:
    """What a group not in the data would look like, per posterior draw:

    theta_new ~ Normal(mu, tau) (partial pooling; complete pooling: theta_new = mu), on the link
    scale; response_new = theta_new on the data scale (probability for binomial, rate per unit of
    exposure for poisson); y_new = one new observation: gaussian theta_new + sigma * eps (Student-t
    eps with nu for student_t), summary data with the median standard error, binomial successes
    out of the median number of trials, poisson count over the median exposure.
    Covariates, when present, are held at 0. No pooling raises SpecError.

    Rows theta_new, response_new, y_new; columns mean, low, high (central ``hdi_prob`` interval),
    note.
    """
    prob = _check_prob(hdi_prob)
    draws = new_group_draws(fit, seed)
    kind, lik = _kind(fit), _likelihood(fit)
    data = fit.data
    if lik == "normal_known_se":
        y_note = f"one new reported estimate with the median standard error ({float(np.median(data.se)):.3g})"
    elif lik in ("normal", "student_t"):
        y_note = "one new observation in the new group (group effect plus within-group noise)"
    elif lik == "binomial":
        trials = int(round(float(np.median(_row_array(data, "trials")))))
        y_note = f"successes out of {max(trials, 1)} trials (the median number per row) in the new group"
    else:
        exposure = float(np.median(_row_array(data, "exposure")))
        y_note = f"events over an exposure of {exposure:.3g} (the median per row) in the new group"
    notes = {
        "theta_new": ("effect of a new group drawn from the population of groups (link scale)"
                      if _pooling(fit) == "partial" else
                      "complete pooling: a new group equals the overall mean"),
        "response_new": {"binomial": "success probability of the new group",
                         "poisson": "event rate of the new group (per unit of exposure)"}.get(
                             kind, "mean of the new group (same as theta_new for normal data)"),
        "y_new": y_note,
    }
    rows = []
    for name, values in draws.items():
        low, high = _central(values, prob)
        rows.append({"quantity": name, "mean": float(np.mean(values)), "low": float(low),
                     "high": float(high), "note": notes[name]})
    out = pd.DataFrame(rows).set_index("quantity")
    out.attrs["hdi_prob"] = prob
    return out


# ----------------------------------------------------------------------------- variance shares


def _within_draws(fit: "Fit") -> tuple[np.ndarray, str]:
    """Per-draw within-group variance on the link scale, and a note saying what it is."""
    lik = _likelihood(fit)
    n = fit.draws("mu").shape[0]
    data = fit.data
    if lik == "normal":
        return fit.draws("sigma").astype(float) ** 2, (
            "Within: variance of single observations around their group's mean (sigma²).")
    if lik == "student_t":
        sigma, nu = fit.draws("sigma").astype(float), fit.draws("nu").astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            within = np.where(nu > 2, sigma**2 * nu / (nu - 2), np.inf)
        share_inf = float(np.mean(~np.isfinite(within)))
        extra = (f" In {100 * share_inf:.0f}% of draws nu ≤ 2, where that variance is infinite "
                 "(those draws are left out of its mean and give a between share of 0).") if share_inf else ""
        return within, ("Within: variance of single observations around their group's mean, "
                        "sigma²·nu/(nu-2) for the Student-t." + extra)
    if lik == "normal_known_se":
        return np.full(n, float(np.mean(np.asarray(data.se, float) ** 2))), (
            "Within: the average sampling variance of the reported estimates (mean se²), "
            "known from the data.")
    if lik == "binomial":
        return np.full(n, np.pi**2 / 3), (
            "Within: π²/3 ≈ 3.29, the variance of the logistic distribution: the latent-scale "
            "convention for yes/no data (so the share is a latent-scale ICC).")
    if lik == "poisson":
        theta = fit.draws("theta").astype(float)
        exposure = _row_array(data, "exposure")
        lam = np.mean(np.exp(theta[:, data.group_idx]) * exposure[None, :], axis=1)
        return np.log1p(1 / lam), (
            "Within: log(1 + 1/λ) with λ the average expected count per row (rate × exposure), "
            "the log-scale Poisson noise (Nakagawa & Schielzeth 2017).")
    raise SpecError(f"Unknown likelihood {lik!r}.")  # pragma: no cover


def variance_decomposition(fit: "Fit", prob: float = 0.9) -> pd.DataFrame:
    """Split the variation into between-group (tau²) and within-group parts, on the link scale.

    Rows between, within, share_between (= between / (between + within), the intraclass
    correlation, ICC); columns mean, low, high (``prob`` HDI over posterior draws), note.
    Complete pooling gives between = 0 by assumption; no pooling has no tau and raises SpecError.
    """
    prob = _check_prob(prob)
    pooling = _pooling(fit)
    if pooling == "none":
        raise SpecError(
            "A no-pooling model has no between-group spread (tau) to compare with the within-group "
            "noise. Use partial pooling to see how the variation splits.")
    within, within_note = _within_draws(fit)
    if pooling == "partial":
        between = fit.draws("tau").astype(float) ** 2
        between_note = ("Between: variance of the true group effects around the overall mean "
                        "(tau²), link scale.")
    else:
        between = np.zeros_like(within)
        between_note = "Between: 0 by assumption — complete pooling treats all groups as the same."
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(np.isfinite(within), between / (between + within), 0.0)
    share_note = ("Share between = between / (between + within), the intraclass correlation (ICC): "
                  "0 means groups differ no more than single observations do, 1 means all the "
                  "variation is between groups.")
    rows = []
    for name, values, note in (("between", between, between_note), ("within", within, within_note),
                               ("share_between", share, share_note)):
        finite = values[np.isfinite(values)]
        low, high = _hdi(finite, prob)
        rows.append({"component": name, "mean": float(np.mean(finite)) if finite.size else np.nan,
                     "low": float(low[0]), "high": float(high[0]), "note": note})
    out = pd.DataFrame(rows).set_index("component")
    out.attrs["prob"] = prob
    return out


# ------------------------------------------------------------------- posterior predictive checks


def ppc_table(fit: "Fit", hdi_prob: float = 0.9) -> pd.DataFrame:
    """Posterior predictive check per group: does the model reproduce each group's data?

    Statistic per group: mean of the rows (gaussian), the reported estimate (summary), the number
    of successes (binomial) or events (poisson). Columns: group, n, statistic, observed, pred_mean,
    pred_low, pred_high (central ``hdi_prob`` interval of the statistic over replicated data sets),
    inside (observed within the interval), p_value (share of replications >= observed; near 0 or
    1 flags misfit). ``attrs["coverage"]`` is the share of groups inside (expect about
    ``hdi_prob``); :func:`ppc_summary` says it in words.
    """
    prob = _check_prob(hdi_prob)
    data = fit.data
    kind = _kind(fit)
    if "posterior_predictive" not in fit.idata.groups():
        raise SpecError("This fit has no posterior predictive draws to check against the data.")
    rep = np.asarray(fit.idata.posterior_predictive["y"].values, dtype=float)
    rep = rep.reshape(-1, rep.shape[-1])                                # (S, n_rows)
    idx = np.asarray(data.group_idx)
    n_groups = data.n_groups
    onehot = np.zeros((data.n_rows, n_groups))
    onehot[np.arange(data.n_rows), idx] = 1.0
    sums_rep = rep @ onehot                                             # (S, n_groups)
    sums_obs = np.asarray(data.y, float) @ onehot
    sizes = onehot.sum(axis=0)
    if kind in ("gaussian", "summary"):
        stat_rep, stat_obs = sums_rep / sizes, sums_obs / sizes
        statistic = "group mean" if kind == "gaussian" else "reported estimate"
    else:
        stat_rep, stat_obs = sums_rep, sums_obs
        statistic = "successes" if kind == "binomial" else "events"
    low, high = _central(stat_rep, prob, axis=0)
    inside = (stat_obs >= low) & (stat_obs <= high)
    out = pd.DataFrame({
        "group": list(data.labels),
        "n": sizes.astype(int),
        "statistic": statistic,
        "observed": stat_obs,
        "pred_mean": stat_rep.mean(axis=0),
        "pred_low": low,
        "pred_high": high,
        "inside": inside.astype(bool),
        "p_value": np.mean(stat_rep >= stat_obs[None, :], axis=0),
    })
    out.attrs.update(coverage=float(inside.mean()) if n_groups else np.nan, hdi_prob=prob)
    return out


def ppc_summary(table: pd.DataFrame) -> dict:
    """Coverage of a :func:`ppc_table` in numbers and one plain sentence."""
    n = int(len(table))
    inside = int(table["inside"].sum())
    prob = float(table.attrs.get("hdi_prob", 0.9))
    coverage = inside / n if n else float("nan")
    outside = list(table.loc[~table["inside"], "group"])
    listed = ", ".join(map(str, outside[:5])) + (f" and {len(outside) - 5} more" if len(outside) > 5 else "")
    message = (f"{inside} of {n} groups ({100 * coverage:.0f}%) have their observed "
               f"{table['statistic'].iloc[0] if n else 'statistic'} inside the {100 * prob:.0f}% "
               f"predictive interval (about {100 * prob:.0f}% expected).")
    if outside:
        message += f" Outside: {listed}."
    return {"coverage": coverage, "expected": prob, "n_inside": inside, "n_groups": n,
            "outside": outside, "message": message}


__all__ = [
    "PARETO_K_MAX", "group_estimates", "shrinkage_table", "fit_pooling_modes", "loo_table",
    "forest_table", "new_group_draws", "predict_new_group", "variance_decomposition", "ppc_table",
    "ppc_summary",
]
