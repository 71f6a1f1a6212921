"""Leave one group out: is each group surprising given the others?

For each group j, the model fitted to the other groups predicts what group j would show: a new
group from the population fitted without j (theta_new ~ Normal(mu, tau), or inside its known
parent for nested models, Normal(theta_parent, tau_inner); a Beta / Gamma population's p_new /
rate_new; complete pooling: theta_new = mu), then group j's rows from the likelihood given their
own sizes (se, trials, exposure, covariates). The statistic compared is the group's observable:

    summary data:  y_j ~ Normal(theta_new, se_j)
    raw rows:      the mean outcome (gaussian), the success share sum y / sum trials (binomial),
                   the rate sum y / sum exposure (poisson, negative binomial)

and the observed value is set against the central ``prob`` predictive interval (flagged when
outside), with p_below = P(stat < observed) + P(stat = observed) / 2 (mid-p, for counts) and the
two-sided tail probability 2 min(p_below, 1 - p_below).

Two ways to get p(. | y_-j):

``refit``  when the instant method serves the model (:func:`hiermod.instant.unavailable_reason`):
           the instant posterior of the data without group j, with the fit's own priors (default
           priors scaled to the full data are kept, so only the data change); exact for the models
           its exact engines serve (grid error only), J refits in well under a second for eight schools.
``psis``   otherwise: the fit's draws importance-weighted by 1 / p(y_j | theta_j, ...), the
           product over the group's rows (Pareto-smoothed, ``arviz.psislw``; Vehtari, Gelman &
           Gabry 2017, leave-group-out as in Merkle, Furr & Rabe-Hesketh 2019). Each group's Pareto k
           is reported; above :data:`hiermod.model_comparison.PARETO_K_MAX` the weights are
           unreliable and the row says so (refit without that group to be sure).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from . import predictive
from .errors import SpecError
from .levels import GroupLevel
from .model_comparison import PARETO_K_MAX
from .new_group import _level_draws
from .table_helpers import _check_prob, _pooling, weighted_quantiles

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .result import Fit
    from .spec import ModelSpec

__all__ = ["leave_group_out", "logo_verdict", "without_groups", "group_statistic", "LOGO_METHODS",
           "MAX_REFITS", "BLOCK_VALUES"]

LOGO_METHODS = ("auto", "refit", "psis")
MAX_REFITS = 50
"""``method="auto"`` refits (instantly) only up to this many groups; more groups use PSIS."""
BLOCK_VALUES = 1 << 22
"""Predictive values (draws x rows of one group) drawn per block."""


# ----------------------------------------------------------------------------- data without groups


def without_groups(data: "GroupedData", drop: Sequence[int]) -> "GroupedData":
    """``data`` without the rows of the innermost groups ``drop`` (indices into ``data.labels``).
    Outer groups left with no inner group go too; labels keep their order, indices are renumbered."""
    drop = np.unique(np.asarray(drop, dtype=np.int64))
    if drop.size and (drop.min() < 0 or drop.max() >= data.n_groups):
        raise SpecError(f"Group index out of range: the data have {data.n_groups} groups.")
    rows = ~np.isin(data.group_idx, drop)
    keep = [np.ones(level.n_groups, dtype=bool) for level in data.levels]
    keep[-1][drop] = False
    for k in range(len(data.levels) - 1, 0, -1):
        parent = data.levels[k].parent
        keep[k - 1] = np.bincount(parent[keep[k]], minlength=data.levels[k - 1].n_groups) > 0
    new_index = [np.cumsum(m) - 1 for m in keep]
    levels = []
    for k, level in enumerate(data.levels):
        labels = tuple(label for label, m in zip(level.labels, keep[k]) if m)
        parent = None if level.parent is None else new_index[k - 1][level.parent[keep[k]]]
        levels.append(GroupLevel(level.column, labels, parent))

    def take(array):
        return None if array is None else np.asarray(array)[rows]

    return dataclasses.replace(
        data, labels=levels[-1].labels, group_idx=new_index[-1][np.asarray(data.group_idx)[rows]],
        y=take(data.y), se=take(data.se), trials=take(data.trials), exposure=take(data.exposure),
        X=np.asarray(data.X)[rows], levels=tuple(levels))


def _only_group(data: "GroupedData", j: int) -> "GroupedData":
    return without_groups(data, [i for i in range(data.n_groups) if i != j])


# ----------------------------------------------------------------------------- the group's statistic


def group_statistic(spec: "ModelSpec", y: np.ndarray, rows: dict[str, np.ndarray]) -> np.ndarray:
    """The observable of one group from its rows' outcomes ``y`` (S, n_j): the mean outcome, or for
    count families (``Family.ppc_sums``) the summed outcome over the summed trials / exposure."""
    family = spec.family
    y = np.asarray(y, dtype=float)
    if family.ppc_sums:
        return family.to_data_scale(y.sum(axis=-1), {name: float(np.sum(v)) for name, v in rows.items()})
    return y.mean(axis=-1)


def _statistic_name(spec: "ModelSpec", data: "GroupedData") -> str:
    """What the statistic is called: the reported estimate, ``y / trials`` (``y / exposure``) with
    the user's column names, or ``mean y``."""
    family, y = spec.family, data.columns.y
    if family.normal_known_se:
        return f"reported estimate ({y})"
    if family.ppc_sums and family.rows:
        role = family.rows[0]
        return f"{family.response_label}: {y} / {getattr(data.columns, role, None) or role}"
    return f"mean {y}"


# ----------------------------------------------------------------------------- drawing a new group


@dataclass
class _Draws:
    """What :func:`hiermod.new_group._level_draws` reads from a Fit, over a dict of draws."""

    spec: "ModelSpec"
    data: "GroupedData"
    values: dict[str, np.ndarray]
    idata: SimpleNamespace = field(init=False)

    def __post_init__(self) -> None:
        self._one_slope_cholesky()
        self.idata = SimpleNamespace(posterior=self.values)

    def draws(self, name: str) -> np.ndarray:
        return np.asarray(self.values[name])

    def _one_slope_cholesky(self) -> None:
        """The instant method records rho_<x>, not the LKJ factor: [[1, 0], [rho, sqrt(1 - rho^2)]]."""
        term = self.spec.row_term
        if term.correlated and len(term.slopes) == 1 and "corr_cholesky" not in self.values:
            rho = np.asarray(self.values[f"rho_{term.slopes[0]}"], dtype=float).reshape(-1)
            chol = np.zeros((rho.size, 2, 2))
            chol[:, 0, 0] = 1.0
            chol[:, 1, 0] = rho
            chol[:, 1, 1] = np.sqrt(np.clip(1 - rho**2, 0, None))
            self.values["corr_cholesky"] = chol


def _new_group(source, data: "GroupedData", ancestors: list[str], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A new innermost group from ``source`` (a Fit or :class:`_Draws` over ``data``): inside the
    deepest of its ``ancestors`` (labels, one per outer model level) still present in ``data``.
    Returns the draws the linear predictor of its rows reads (effect, slopes, beta, family params)."""
    spec = source.spec
    terms = spec.terms
    if _pooling(source) == "complete":
        theta, extra = np.asarray(source.draws("mu"), dtype=float), {}
    else:
        level, parent = 0, None
        first = len(data.levels) - len(terms)
        for k in range(len(terms) - 2, -1, -1):
            labels = data.levels[first + k].labels
            if ancestors[k] in labels:
                level, parent = k + 1, labels.index(ancestors[k])
                break
        new = _level_draws(source, level, parent, rng)
        theta = new["theta_new"]
        term = spec.row_term
        extra = {term.slope_effect(x): new[f"{term.slope_effect(x)}_new"][:, None] for x in term.slopes}
    out = {spec.row_term.effect: np.asarray(theta, dtype=float)[:, None], **extra}
    for name in spec.family.param_names + (("beta",) if spec.covariates else ()):
        out[name] = np.asarray(source.draws(name), dtype=float)
    return out


def _ancestors(data: "GroupedData", spec: "ModelSpec", j: int) -> list[str]:
    """Labels of group j's enclosing groups at the model's outer levels (outermost first)."""
    first = len(data.levels) - len(spec.terms)
    out = []
    for k in range(len(spec.terms) - 1):
        index = data.level_idx(first + k)[np.flatnonzero(data.group_idx == j)[0]]
        out.append(data.levels[first + k].labels[index])
    return out


def _simulate(draws: dict[str, np.ndarray], single: "GroupedData", spec: "ModelSpec",
              rng: np.random.Generator) -> np.ndarray:
    """The group's statistic per draw, its rows drawn in blocks of :data:`BLOCK_VALUES` values."""
    S = next(iter(draws.values())).shape[0]
    rows = spec.family.row_values(single)
    step = max(1, BLOCK_VALUES // max(single.n_rows, 1))
    out = np.empty(S)
    for a in range(0, S, step):
        block = {name: value[a:a + step] for name, value in draws.items()}
        y = predictive.draw_outcomes(block, single, spec, rng)
        out[a:a + step] = group_statistic(spec, y, rows)
    return out


# ----------------------------------------------------------------------------- the two methods


def _refit_predictions(fit: "Fit", j: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """(statistic draws, weights, Pareto k = NaN) from the instant posterior without group j."""
    from .instant import instant_draws

    data, spec = fit.data, fit.spec
    reduced = without_groups(data, [j])
    values = instant_draws(reduced, spec, n, rng, priors=fit.priors)
    source = _Draws(spec, reduced, dict(values))
    new = _new_group(source, reduced, _ancestors(data, spec, j), rng)
    stat = _simulate(new, _only_group(data, j), spec, rng)
    return stat, np.full(n, 1.0 / n), np.nan


def _group_draws(fit: "Fit", j: int) -> dict[str, np.ndarray]:
    """The fit's draws the likelihood of group j's rows reads, with the group as the only group."""
    spec = fit.spec
    term = spec.row_term
    from .group_ranks import effect_draws

    out = {term.effect: effect_draws(fit, len(spec.terms) - 1)[:, [j]]}
    for x in term.slopes:
        out[term.slope_effect(x)] = np.asarray(fit.draws(term.slope_effect(x)), dtype=float)[:, [j]]
    for name in spec.family.param_names + (("beta",) if spec.covariates else ()):
        out[name] = np.asarray(fit.draws(name), dtype=float)
    return out


def _relative_efficiency(fit: "Fit", loglik: np.ndarray) -> float:
    """ess / S of the group's likelihood draws (1 for independent draws), as PSIS-LOO uses it."""
    import arviz as az

    chains = int(fit.idata.posterior.sizes.get("chain", 1))
    S = loglik.size
    per_chain = S // chains
    lik = np.exp(loglik - loglik.max())[: per_chain * chains].reshape(chains, per_chain)
    if np.ptp(lik) == 0:
        return 1.0
    return float(min(1.0, az.ess(lik, method="mean") / S))


def _psis_predictions(fit: "Fit", j: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """(statistic draws, PSIS weights summing to 1, Pareto k) from the fit's own draws."""
    import arviz as az

    data, spec = fit.data, fit.spec
    single = _only_group(data, j)
    loglik = predictive.pointwise_log_likelihood(_group_draws(fit, j), single, spec).sum(axis=1)
    log_w, k = az.psislw(-loglik, reff=_relative_efficiency(fit, loglik))
    weights = np.exp(np.asarray(log_w, dtype=float))
    new = _new_group(fit, data, _ancestors(data, spec, j), rng)
    stat = _simulate(new, single, spec, rng)
    return stat, weights / weights.sum(), float(k)


# ----------------------------------------------------------------------------- the table


def _choose_method(fit: "Fit", method: str) -> str:
    from .instant import unavailable_reason

    if method not in LOGO_METHODS:
        raise SpecError(f"Unknown leave-group-out method {method!r}; use one of {', '.join(LOGO_METHODS)}.")
    reason = unavailable_reason(fit.data, fit.spec)
    if method == "refit" and reason is not None:
        raise SpecError(f"method='refit' needs the instant method, which cannot serve this model: {reason} "
                        "Use method='psis' (or 'auto').")
    if method == "auto":
        return "refit" if reason is None and fit.data.n_groups <= MAX_REFITS else "psis"
    return method


def leave_group_out(fit: "Fit", prob: float = 0.95, method: str = "auto", draws: int = 4000,
                    seed: int = 0) -> pd.DataFrame:
    """Each group predicted from the others (module docstring): one row per innermost group.

    Columns: group, n (rows), observed (the group's statistic), pred_mean, pred_low, pred_high
    (central ``prob`` interval of the statistic predicted without the group), outside (observed
    outside that interval: a surprising group), p_below (mid-p), p_below_mcse (sqrt(p (1 - p) /
    n_eff)), tail_prob (2 min(p_below, 1 - p_below)), n_eff (1 / sum w^2 of the normalised weights;
    the number of draws for a refit), pareto_k (PSIS; NaN for a refit), reliable (False when
    pareto_k > PARETO_K_MAX), method ("refit" or "psis").

    ``method``: "auto" (refit when the instant method serves the model and it has at most
    :data:`MAX_REFITS` groups, else PSIS), "refit" or "psis". ``draws``: predictive draws per group
    for a refit (PSIS uses the fit's draws). ``attrs``: prob, method, statistic, verdict
    (:func:`logo_verdict`), pareto_k_max. No pooling is refused (no population to predict from).
    """
    prob = _check_prob(prob)
    if _pooling(fit) == "none":
        raise SpecError("A no-pooling model cannot predict a group from the others: its groups share "
                        "nothing. Use partial pooling (or complete pooling) for the leave-group-out check.")
    data = fit.data
    if data.n_groups < 3:
        raise SpecError(f"Leaving one group out needs at least 3 groups (2 remain to fit); the data have "
                        f"{data.n_groups}.")
    if int(draws) < 100:
        raise SpecError(f"draws must be at least 100 for a predictive interval; got {draws!r}.")
    chosen = _choose_method(fit, method)
    rows = []
    for j, label in enumerate(data.labels):
        rng = np.random.default_rng([seed, j])
        stat, w, k = (_refit_predictions(fit, j, int(draws), rng) if chosen == "refit"
                      else _psis_predictions(fit, j, rng))
        single = _only_group(data, j)
        observed = float(group_statistic(fit.spec, np.asarray(single.y)[None, :],
                                         fit.spec.family.row_values(single))[0])
        low, high = weighted_quantiles(stat, w, [(1 - prob) / 2, (1 + prob) / 2])
        p_below = float(np.clip(np.sum(w[stat < observed]) + np.sum(w[stat == observed]) / 2, 0, 1))
        n_eff = float(1 / np.sum(w**2))
        rows.append({
            "group": label, "n": int(single.n_rows), "observed": observed,
            "pred_mean": float(np.sum(w * stat)), "pred_low": float(low), "pred_high": float(high),
            "outside": bool(observed < low or observed > high), "p_below": p_below,
            "p_below_mcse": float(np.sqrt(p_below * (1 - p_below) / n_eff)),
            "tail_prob": 2 * min(p_below, 1 - p_below), "n_eff": n_eff, "pareto_k": k,
            "reliable": bool(not k > PARETO_K_MAX), "method": chosen,
        })
    out = pd.DataFrame(rows)
    out.attrs.update(prob=prob, method=chosen, statistic=_statistic_name(fit.spec, data),
                     pareto_k_max=PARETO_K_MAX)
    out.attrs["verdict"] = logo_verdict(out)
    return out


def _names(labels: list[str]) -> str:
    labels = [str(x) for x in labels]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def logo_verdict(table: pd.DataFrame) -> str:
    """One sentence: which groups fall outside the interval predicted from the others (and which
    rows' PSIS weights are unreliable)."""
    prob = float(table.attrs.get("prob", 0.95))
    outside = list(table.loc[table["outside"], "group"])
    unreliable = list(table.loc[~table["reliable"], "group"])
    if outside:
        many = len(outside) > 1
        text = (f"{_names(outside)} {'fall' if many else 'falls'} outside the {prob:.0%} interval predicted "
                f"from the other groups, so {'they are' if many else 'it is'} surprising given the rest")
    else:
        text = (f"Every group falls inside the {prob:.0%} interval predicted from the other groups: "
                "none is surprising given the rest")
    if unreliable:
        text += (f" (the PSIS weights of {_names(unreliable)} are unreliable, Pareto k above "
                 f"{PARETO_K_MAX}: refit without {'them' if len(unreliable) > 1 else 'it'} to be sure)")
    return text + "."
