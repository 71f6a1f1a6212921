"""Falsification checks: what would make us abandon a fitted model, measured after the fit.

Each check measures one number on a :class:`~hiermod.result.Fit` and compares it with one threshold
of :data:`hiermod.check_thresholds.THRESHOLDS` (a variant may override them). The result says pass,
fail or not applicable (with the reason), what the number means for this fit, which groups or
parameters are at fault, and, when it fails, the variant to try next (:class:`Suggestion`).

    computation    max_divergence_fraction  D / S, D = divergent transitions among the S
                                            post-warmup draws (sample_stats ``diverging``)
                   max_rhat                 max over every posterior scalar of the rank-normalized
                                            split R-hat (``az.rhat``)
                   min_ess_tau              min over the population scales (tau, each tau_<level>,
                                            each slope's tau_<x>) of the bulk ESS (``az.ess``)
    plausibility   max_tau_near_zero        max over levels of P(tau < 0.1 s | y), s = sd (ddof 1)
                                            of the level's groups' own (no-pooling) estimates on
                                            the link scale (``shrinkage_table``'s no_pooling);
                                            levels with varying slopes are left out
                   max_tau_over_spread      max over levels of median(tau | y) / s
                   min_prior_kl             min over the hyperparameters (mu, tau, sigma, ...) of
                                            KL(posterior || prior), see :func:`kl_from_draws`
                   max_prior_sensitivity    max over parameters of the power-scaling prior
                                            sensitivity (:mod:`hiermod.power_scaling`); fails only
                                            on prior-data conflict (likelihood sensitivity too);
                                            a prior that merely dominates is named as a caveat
                                            (a few groups always leave tau sensitive to its prior)
                   plausible_range          number of group effects (response scale, posterior
                                            mean) outside [low, high]
    shrinkage      min_shrinkage_order      min over levels of the Spearman correlation of each
                                            group's shrinkage (``shrinkage_table``) with its
                                            standard error (not applicable when the se are equal
                                            within SE_TIE)
    prediction     min_ppc_coverage         share of groups whose observed statistic (the family's
                                            predictive-check statistic) lies in its central 95%
                                            posterior predictive interval (``ppc_table``)
                   max_pareto_k             max PSIS-LOO Pareto k over the log-likelihood points

A "max_" check fails when its value is above the threshold, a "min_" check when below; the prior
sensitivity fails at or above it (the priorsense rule of :mod:`hiermod.power_scaling`).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np

from .check_thresholds import THRESHOLDS, validate_thresholds
from .errors import HiermodError, SpecError
from .fit_draws import has_sample_stats, n_chains_draws, sample_stat
from .lazy_pandas import LazyPandas
from .prior_families import PRIOR_FAMILIES, Prior, parse_prior

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit
    from .spec import ModelSpec

pd = LazyPandas(globals())

__all__ = ["PASS", "FAIL", "NOT_APPLICABLE", "PPC_PROB", "NEAR_ZERO_SHARE", "WIDER_PRIOR", "KL_MAX_DRAWS",
           "Suggestion", "CheckResult", "Check", "CHECKS", "evaluate_checks", "checks_table",
           "kl_from_draws", "scaled_prior"]

PASS, FAIL, NOT_APPLICABLE = "pass", "fail", "not applicable"
PPC_PROB = 0.95
"""The posterior predictive interval of the coverage check (central, equal-tailed)."""
NEAR_ZERO_SHARE = 0.1
"""tau counts as 'at zero' below this share of the spread of the group estimates."""
WIDER_PRIOR = 5.0
"""A weaker prior is the prior of WIDER_PRIOR times the parameter (a skeptical one: of 1/WIDER_PRIOR)."""
SE_TIE = 0.1
"""Standard errors within this share of each other are treated as equal by the shrinkage order: a
less precise group that shrinks less than a more precise one is named only when its se is larger by
more than this, and the check does not apply when every se lies within it of the smallest."""
KL_MAX_DRAWS = 4000
"""The KL estimate uses at most this many draws (evenly thinned): its KDE costs draws² kernel terms."""
_LISTED = 5


# ------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Suggestion:
    """The variant to try next, applicable in one click.

    ``changes``: keyword changes for :meth:`ModelSpec.replace` (``pooling``, ``parameterization``,
    ``likelihood`` ...) and, under the key ``priors``, prior overrides {name: text} merged into the
    spec's own priors. ``settings``: changes of the sampler settings (``target_accept``).
    """

    label: str
    changes: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    def apply(self, spec: "ModelSpec") -> "ModelSpec":
        """``spec`` with :attr:`changes` made (the sampler ``settings`` are the caller's)."""
        changes = dict(self.changes)
        priors = changes.pop("priors", {})
        out = spec.replace(**changes) if changes else spec
        return out.with_priors(**priors) if priors else out


@dataclass(frozen=True)
class CheckResult:
    """One check on one fit: ``status`` is :data:`PASS`, :data:`FAIL` or :data:`NOT_APPLICABLE`,
    ``value`` the measured number (None when not applicable), ``meaning`` one plain sentence for
    this fit, ``detail`` the groups or parameters at fault, ``suggestion`` the next variant (on
    failure, when there is one)."""

    key: str
    stage: str
    title: str
    status: str
    value: float | None
    threshold: Any
    meaning: str
    detail: str = ""
    suggestion: Suggestion | None = None

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    @property
    def applies(self) -> bool:
        return self.status != NOT_APPLICABLE

    def to_dict(self) -> dict:
        """JSON-able form (a range threshold as a list; the suggestion as a dict or None)."""
        out = asdict(self)
        out["threshold"] = list(self.threshold) if isinstance(self.threshold, tuple) else self.threshold
        return out


@dataclass(frozen=True)
class _Outcome:
    status: str
    value: float | None
    meaning: str
    detail: str = ""
    suggestion: Suggestion | None = None


def _na(reason: str) -> _Outcome:
    return _Outcome(NOT_APPLICABLE, None, reason)


def _judged(ok: bool, value: float, meaning: str, detail: str = "", suggestion: Suggestion | None = None
            ) -> _Outcome:
    return _Outcome(PASS if ok else FAIL, float(value), meaning, detail, None if ok else suggestion)


def _g(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else str(x)


def _listed(items: list[str]) -> str:
    more = len(items) - _LISTED
    return ", ".join(items[:_LISTED]) + (f" and {more} more" if more > 0 else "")


# -------------------------------------------------------------------------------- suggestions


def _centered_terms(spec: "ModelSpec") -> list:
    return [t for t in spec.terms if t.partial and not t.conjugate and not t.non_centered]


def _sampler_suggestion(fit: "Fit") -> Suggestion:
    """Non-centered when a partially pooled level is centered; else a higher target acceptance."""
    spec = fit.spec
    if _centered_terms(spec):
        changes: dict[str, Any] = {"parameterization": "non_centered"}
        if spec.level_parameterizations:
            changes["level_parameterizations"] = tuple("non_centered" for _ in spec.level_parameterizations)
        return Suggestion("Try non-centered", changes, reason=(
            "The non-centered form samples each group's standardised effect, which removes the funnel "
            "between tau and the group effects that centered models diverge in."))
    current = float(fit.settings.target_accept)
    target = 0.95 if current < 0.95 else 0.99
    return Suggestion(f"Try target acceptance {target:g}", settings={"target_accept": target}, reason=(
        "Smaller steps follow a curved posterior more closely (slower, but fewer divergences)."))


def _partial_suggestion(spec: "ModelSpec") -> Suggestion | None:
    """Partial pooling for a model without it."""
    pooling = str(getattr(spec.pooling, "value", spec.pooling))
    if pooling == "partial":
        return None
    return Suggestion("Try partial pooling", {"pooling": "partial"}, reason=(
        "Partial pooling lets each group keep part of its own estimate and borrow the rest from the "
        "others: neither one common value nor groups taken alone."))


def _robust_suggestion(spec: "ModelSpec") -> Suggestion | None:
    """Partial pooling for a completely pooled model; else the family's robust alternative."""
    if str(getattr(spec.pooling, "value", spec.pooling)) == "complete":
        return _partial_suggestion(spec)
    robust = spec.family.robust_alternative
    if robust is None:
        return None
    from .families import get

    return Suggestion(f"Try the {get(robust).label} likelihood", {"likelihood": robust}, reason=(
        "Heavier tails let a few outlying values stand out without dragging the rest of the fit."))


_SCALED_ARGS: dict[str, Callable[[tuple, float], tuple]] = {
    "Normal": lambda a, c: (a[0], c * a[1]),
    "Cauchy": lambda a, c: (a[0], c * a[1]),
    "StudentT": lambda a, c: (a[0], a[1], c * a[2]),
    "HalfNormal": lambda a, c: (c * a[0],),
    "HalfCauchy": lambda a, c: (c * a[0],),
    "HalfStudentT": lambda a, c: (a[0], c * a[1]),
    "Exponential": lambda a, c: (a[0] / c,),
    "Gamma": lambda a, c: (a[0], a[1] / c),
    "InverseGamma": lambda a, c: (a[0], a[1] * c),
    "LogNormal": lambda a, c: (a[0] + math.log(c), a[1]),
    "Uniform": lambda a, c: (c * a[0], c * a[1]),
}


def scaled_prior(prior: Prior | str, factor: float) -> Prior | None:
    """The prior stretched by ``factor`` about its centre a (0 for a prior on positive numbers, its
    location for one on the real line): the law of a + factor (X - a) for X ~ ``prior``, bounds
    moved the same way. None for a family that cannot be stretched (LKJ)."""
    prior = parse_prior(prior)
    rule = _SCALED_ARGS.get(prior.family)
    if rule is None:
        return None
    names = PRIOR_FAMILIES[prior.family].arg_names
    centre = prior.args[names.index("loc")] if prior.support == "real" else 0.0

    def move(bound):
        return None if bound is None else centre + factor * (bound - centre)

    return Prior(prior.family, rule(prior.args, factor), move(prior.lower), move(prior.upper))


def _prior_suggestion(fit: "Fit", names: list[str], factor: float, label: str, reason: str
                      ) -> Suggestion | None:
    priors = {}
    for name in names:
        prior = fit.priors.get(name)
        scaled = scaled_prior(prior, factor) if prior is not None else None
        if scaled is not None:
            priors[name] = str(scaled)
    if not priors:
        return None
    listed = "; ".join(f"{k} ~ {v}" for k, v in priors.items())
    return Suggestion(f"{label}: {listed}", {"priors": priors}, reason=reason)


# ------------------------------------------------------------------------- KL from the draws


def kl_from_draws(draws, prior: Prior | str) -> tuple[float, float]:
    """(KL(posterior || prior) in nats, its Monte Carlo standard error) from posterior draws.

    KL(p || q) = E_p[log p(x) - log q(x)]. With draws x_1..x_n from p: the average of
    t_i = log p̂_(-i)(z_i) - log q_z(z_i), where z = log x for a prior on positive numbers (KL is
    unchanged by a one-to-one map; the log Jacobian cancels and the posterior is closer to
    normal there) and z = x otherwise; q_z(z) = q(e^z) e^z; and p̂_(-i) is a Gaussian kernel
    density estimate (Scott's bandwidth h) of the draws leaving draw i out:
    p̂_(-i)(z_i) = (n p̂(z_i) - K_h(0)) / (n - 1). Evaluated at draws of p, the smoothing's bias is
    of second order (-KL(p || p̂)). Standard error: sd(t) / sqrt(n) (independent draws; the
    autocorrelation of MCMC draws widens it). Draws beyond :data:`KL_MAX_DRAWS` are thinned
    evenly. A bounded prior's edge leaks kernel mass outside it (the estimate is then low).
    """
    from scipy import stats

    from .priors import log_density

    prior = parse_prior(prior)
    x = np.asarray(draws, dtype=float).ravel()
    x = x[np.isfinite(x)]
    positive = prior.support == "positive"
    if positive:
        x = x[x > 0]
    if x.size > KL_MAX_DRAWS:
        x = x[np.linspace(0, x.size - 1, KL_MAX_DRAWS).round().astype(int)]
    z = np.log(x) if positive else x
    if z.size < 10 or not np.ptp(z) > 0:
        raise SpecError("KL(posterior || prior) needs at least 10 different posterior draws.")
    log_q = log_density(prior, x) + (z if positive else 0.0)
    kde = stats.gaussian_kde(z)
    h = math.sqrt(float(kde.covariance[0, 0]))
    n = z.size
    own = 1.0 / (math.sqrt(2 * math.pi) * h)
    p_loo = (n * kde(z) - own) / (n - 1)
    with np.errstate(divide="ignore"):
        t = np.log(np.maximum(p_loo, 1e-300)) - log_q
    t = t[np.isfinite(t)]
    return float(np.mean(t)), float(np.std(t, ddof=1) / math.sqrt(t.size))


# ---------------------------------------------------------------------------- what is measured


class _Measured:
    """One fit and the quantities several checks share, each computed once."""

    def __init__(self, fit: "Fit"):
        self.fit = fit
        self.spec = fit.spec
        self.post = fit.idata.posterior
        self._shrinkage: dict[int, Any] = {}

    @cached_property
    def sampler_reason(self) -> str:
        """Why the computation checks do not apply ("" when the fit has sampler statistics)."""
        if has_sample_stats(self.fit):
            return ""
        return (f"{self.fit.method_info.label}: no Markov chain, so no sampler statistics and no "
                "chains to compare (these checks are for MCMC).")

    @cached_property
    def tau_terms(self) -> list[tuple[int, Any]]:
        """(index, term) of the levels with a population scale tau (partial pooling, normal population)."""
        return [(k, t) for k, t in enumerate(self.spec.terms)
                if t.partial and not t.conjugate and t.scale in self.post]

    def no_tau_reason(self) -> str:
        pooling = str(getattr(self.spec.pooling, "value", self.spec.pooling))
        if pooling != "partial":
            return f"Under {pooling} pooling there is no tau (no spread between groups to estimate)."
        return "This model's groups have no tau (their population is not normal)."

    def shrinkage(self, level: int):
        from .shrinkage import shrinkage_table

        if level not in self._shrinkage:
            self._shrinkage[level] = shrinkage_table(self.fit, level=level)
        return self._shrinkage[level]

    def spread(self, level: int) -> float:
        """s: the sd of the level's groups' own estimates (link scale, no pooling)."""
        est = self.shrinkage(level)["no_pooling"].to_numpy(float)
        est = est[np.isfinite(est)]
        return float(np.std(est, ddof=1)) if est.size > 1 else float("nan")

    @cached_property
    def loo(self):
        import arviz as az

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return az.loo(self.fit.idata, pointwise=True, var_name="y")

    @cached_property
    def power(self):
        from .power_scaling import power_scaling

        return power_scaling(self.fit, by_prior=True)


# ---------------------------------------------------------------------------------- the checks


def _divergences(m: _Measured, limit: float) -> _Outcome:
    if m.sampler_reason:
        return _na(m.sampler_reason)
    diverging = np.asarray(sample_stat(m.fit, "diverging"), dtype=bool)
    chains, draws = n_chains_draws(m.fit)
    total, n = chains * draws, int(diverging.sum())
    share = n / total
    per_chain = ", ".join(str(int(c)) for c in diverging.sum(axis=1))
    detail = f"{n} of {total} draws diverged (per chain: {per_chain})." if n else ""
    if share <= limit:
        meaning = (f"{100 * share:.2g}% of the {total} draws ended in a divergent transition (at most "
                   f"{100 * limit:.2g}% allowed): the sampler followed the posterior's shape.")
    else:
        meaning = (f"{100 * share:.2g}% of the {total} draws ended in a divergent transition (more than "
                   f"{100 * limit:.2g}%): the sampler could not follow the posterior's shape (often the "
                   "funnel between tau and the group effects), so its draws may miss part of it.")
    return _judged(share <= limit, share, meaning, detail, _sampler_suggestion(m.fit))


def _scalar_values(ds) -> dict[str, float]:
    """{'mu': 1.0, 'theta[A]': 1.01, ...} from a Dataset of per-parameter statistics."""
    out = {}
    for name, var in ds.data_vars.items():
        values = np.asarray(var.values, dtype=float)
        if values.ndim == 0:
            out[name] = float(values)
            continue
        coords = [var.coords[d].values for d in var.dims]
        for index in np.ndindex(values.shape):
            out[f"{name}[{','.join(str(c[i]) for c, i in zip(coords, index))}]"] = float(values[index])
    return out


def _rhat(m: _Measured, limit: float) -> _Outcome:
    import arviz as az

    if m.sampler_reason:
        return _na(m.sampler_reason)
    chains, _ = n_chains_draws(m.fit)
    if chains < 2:
        return _na("One chain: R-hat compares chains, so it needs two or more.")
    names = [v for v in m.post.data_vars if v not in m.spec.working_names()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = _scalar_values(az.rhat(m.post[names]))
    values = {k: v for k, v in values.items() if math.isfinite(v)}
    if not values:
        return _na("No parameter varies across draws, so there is no R-hat to compute.")
    worst = max(values, key=values.get)
    value = values[worst]
    bad = sorted((k for k, v in values.items() if v > limit), key=values.get, reverse=True)
    detail = "R-hat above the threshold: " + _listed([f"{k} {values[k]:.3f}" for k in bad]) + "." if bad else ""
    if value <= limit:
        meaning = f"The chains agree: the largest R-hat is {value:.3f} ({worst}), at most {limit:g}."
    else:
        meaning = (f"The chains disagree: R-hat reaches {value:.3f} for {worst} (above {limit:g}), so they "
                   "have not converged to one posterior and its summaries cannot be trusted.")
    return _judged(value <= limit, value, meaning, detail, _sampler_suggestion(m.fit))


def _ess_tau(m: _Measured, limit: float) -> _Outcome:
    import arviz as az

    if m.sampler_reason:
        return _na(m.sampler_reason)
    names = [n for _, t in m.tau_terms for n in t.scale_names() if n in m.post and n != t.df]
    if not names:
        return _na(m.no_tau_reason())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        values = _scalar_values(az.ess(m.post[names], method="bulk"))
    worst = min(values, key=values.get)
    value = values[worst]
    listed = ", ".join(f"{k} {v:.0f}" for k, v in values.items())
    if value >= limit:
        meaning = (f"The draws hold at least {value:.0f} effectively independent values of {worst} "
                   f"(at least {limit:g} wanted): enough to describe its posterior.")
    else:
        meaning = (f"Only {value:.0f} effectively independent draws of {worst} (fewer than {limit:g}): the "
                   "chains move through tau slowly, so its interval and everything that depends on it "
                   "are rough.")
    return _judged(value >= limit, value, meaning, f"Bulk ESS: {listed}.", _sampler_suggestion(m.fit))


def _tau_levels(m: _Measured) -> list[tuple[str, np.ndarray, float]]:
    """(tau's name, its draws, the spread s > 0 of its level's group estimates) per level with a tau
    and no varying slopes (there a group's own estimate mixes its intercept with its slope)."""
    levels = [(t.scale, np.asarray(m.fit.draws(t.scale), dtype=float), m.spread(k))
              for k, t in m.tau_terms if not t.slopes]
    return [(name, tau, s) for name, tau, s in levels if s > 0]


def _no_spread_reason(m: _Measured) -> str:
    if not m.tau_terms:
        return m.no_tau_reason()
    if all(t.slopes for _, t in m.tau_terms):
        return ("With varying slopes a group's own estimate mixes its intercept with its slope, so their "
                "spread is not on tau's scale.")
    return "The groups' own estimates do not vary, so there is no spread to compare tau with."


def _tau_near_zero(m: _Measured, limit: float) -> _Outcome:
    levels = _tau_levels(m)
    if not levels:
        return _na(_no_spread_reason(m))
    shares = {name: float(np.mean(tau < NEAR_ZERO_SHARE * s)) for name, tau, s in levels}
    spreads = {name: s for name, _, s in levels}
    worst = max(shares, key=shares.get)
    value, cut = shares[worst], NEAR_ZERO_SHARE * spreads[worst]
    detail = "; ".join(f"P({k} < {_g(NEAR_ZERO_SHARE * spreads[k])}) = {v:.2f}" for k, v in shares.items())
    if value <= limit:
        meaning = (f"The posterior puts {100 * value:.0f}% of {worst} below {_g(cut)} (a tenth of the groups' "
                   f"spread {_g(spreads[worst])}; at most {100 * limit:.0f}% allowed): the groups differ.")
    else:
        meaning = (f"The posterior puts {100 * value:.0f}% of {worst} below {_g(cut)} (a tenth of the groups' "
                   f"spread {_g(spreads[worst])}): the data look like one common value, and complete pooling "
                   "says the same more simply.")
    suggestion = Suggestion("Try complete pooling", {"pooling": "complete"}, reason=(
        "tau is piled against zero: the groups look alike, so one common value may describe them."))
    return _judged(value <= limit, value, meaning, detail, suggestion)


def _tau_over_spread(m: _Measured, limit: float) -> _Outcome:
    levels = _tau_levels(m)
    if not levels:
        return _na(_no_spread_reason(m))
    ratios = {name: float(np.median(tau)) / s for name, tau, s in levels}
    spreads = {name: s for name, _, s in levels}
    worst = max(ratios, key=ratios.get)
    value = ratios[worst]
    detail = "; ".join(f"median {k} / spread {_g(spreads[k])} = {v:.2f}" for k, v in ratios.items())
    if value <= limit:
        meaning = (f"The posterior median of {worst} is {value:.2f} times the spread of the groups' own "
                   f"estimates ({_g(spreads[worst])}; at most {limit:g}): tau is no larger than the data show.")
    else:
        meaning = (f"The posterior median of {worst} is {value:.2f} times the spread of the groups' own "
                   f"estimates ({_g(spreads[worst])}): the groups vary less than tau says (their spread even "
                   "includes their sampling noise), so the prior is pushing tau up.")
    return _judged(value <= limit, value, meaning, detail, _data_scale_prior(m.fit, worst))


def _data_scale_prior(fit: "Fit", name: str) -> Suggestion | None:
    """The data-scaled default prior of ``name`` (:func:`hiermod.priors.default_priors`), when the
    fit used another one."""
    from .priors import default_priors

    default = default_priors(fit.data, fit.spec).get(name)
    if default is None or default == fit.priors.get(name):
        return None
    return Suggestion(f"Try the data-scaled prior {name} ~ {default}", {"priors": {name: str(default)}}, reason=(
        "A prior on the scale of the data lets tau come down to what the groups' spread supports."))


def _hyperparameters(m: _Measured) -> dict[str, tuple[Prior, np.ndarray]]:
    """{prior name: (prior, draws)} of the priors on one value per draw (mu, tau, sigma, beta[x] ...);
    not the degrees of freedom (``nu``, ``nu_groups``): data rarely inform tail heaviness, so its
    prior is a modelling choice, not something the data are expected to move."""
    from .power_scaling import _prior_variable

    from .terms import GROUP_DF

    tails = {GROUP_DF} | {p.name for p in m.spec.family.params if p.tail}
    out = {}
    for name, prior in m.fit.priors.items():
        if prior.support == "correlation" or name in tails:   # tail heaviness: a modelling choice
            continue
        var = _prior_variable(m.post, name, m.spec)
        if var is not None and var.ndim == 2:
            out[name] = (prior, np.asarray(var.values, dtype=float).ravel())
    return out


def _prior_kl(m: _Measured, limit: float) -> _Outcome:
    hyper = _hyperparameters(m)
    if not hyper:
        return _na("This model has no hyperparameter (a prior on one value per draw) to compare with its prior.")
    kl = {}
    for name, (prior, draws) in hyper.items():
        try:
            kl[name] = kl_from_draws(draws, prior)
        except HiermodError:
            continue
    if not kl:
        return _na("The hyperparameters' draws do not vary, so their KL from the prior cannot be estimated.")
    worst = min(kl, key=lambda k: kl[k][0])
    value = kl[worst][0]
    detail = "KL (nats): " + ", ".join(f"{k} {v:.2f} ± {se:.2f}" for k, (v, se) in kl.items()) + "."
    low = [k for k, (v, _) in kl.items() if v < limit]
    if value >= limit:
        meaning = (f"Every hyperparameter's posterior differs from its prior (smallest KL {value:.2f} nats, for "
                   f"{worst}; at least {limit:g}): the data inform them.")
    else:
        meaning = (f"The posterior of {', '.join(low)} is barely different from its prior (KL {value:.2f} nats "
                   f"for {worst}, below {limit:g}): the prior, not the data, decides it.")
    suggestion = _prior_suggestion(m.fit, low, WIDER_PRIOR, "Try a weaker prior", (
        "A wider prior lets the data move the parameter; if it still does not move, the data say "
        "little about it."))
    return _judged(value >= limit, value, meaning, detail, suggestion)


def _prior_sensitivity(m: _Measured, limit: float) -> _Outcome:
    from .power_scaling import LIKELIHOOD_THRESHOLD

    try:
        power = m.power
    except HiermodError as exc:
        return _na(str(exc))
    table = power.table.dropna(subset=["prior"])
    if table.empty:
        return _na("No parameter could be power-scaled.")
    worst = table.loc[table["prior"].idxmax()]
    value = float(worst["prior"])
    flagged = table[table["prior"] >= limit]
    conflict = flagged[flagged["likelihood"] >= LIKELIHOOD_THRESHOLD]["parameter"].tolist()
    strong = flagged[flagged["likelihood"] < LIKELIHOOD_THRESHOLD]["parameter"].tolist()
    parts = [f"prior-data conflict: {_listed(conflict)}" if conflict else "",
             f"prior dominates (data weak): {_listed(strong)}" if strong else ""]
    detail = "; ".join(p for p in parts if p)
    if power.pareto_k and max(power.pareto_k.values()) > THRESHOLDS["max_pareto_k"].default:
        detail += (" " if detail else "") + "(power-scaling weights unreliable: rough numbers)"
    if not conflict:
        meaning = (f"No prior-data conflict (largest prior sensitivity {value:.3f}, {worst['parameter']})"
                   + (f"; the posterior of {_listed(strong)} follows its prior (sensitivity at least {limit:g}) "
                      "while the data say little about it: report it with its prior." if strong else "."))
        return _judged(True, value, meaning, detail)
    meaning = (f"Prior-data conflict: prior and data both pull on {_listed(conflict)} and disagree (prior "
               f"sensitivity up to {value:.3f}, at least {limit:g}): check the prior's location and scale "
               "against what the data say, or the data for errors.")
    drivers = _driving_priors(power, flagged["parameter"].tolist(), limit)
    suggestion = _prior_suggestion(m.fit, drivers, WIDER_PRIOR, "Try a weaker prior", (
        "Wider priors on the parameters that drive the conflict let the data decide."))
    return _judged(False, value, meaning, detail, suggestion)


def _driving_priors(power, parameters: list[str], limit: float) -> list[str]:
    """The priors that, power-scaled alone (``PowerScaling.by_prior``), move one of ``parameters``
    by at least ``limit``; else the one that moves them most."""
    rows = power.by_prior[power.by_prior["parameter"].isin(parameters)].drop(columns="parameter")
    if rows.empty or rows.shape[1] == 0:
        return []
    top = rows.astype(float).max(axis=0)
    strong = [str(k) for k, v in top.items() if v >= limit]
    return strong or ([str(top.idxmax())] if top.notna().any() else [])


def _plausible_range(m: _Measured, bounds) -> _Outcome:
    if bounds is None:
        return _na("No plausible range was stated for the group effects (set plausible_range = [low, high]).")
    low, high = bounds
    family = m.spec.family
    outside, total = [], 0
    for term in m.spec.terms:
        response = term.population_value if term.conjugate else None
        var = response or term.effect
        if var not in m.post:
            continue
        draws = np.asarray(m.fit.draws(var), dtype=float)
        values = draws if response else np.asarray(family.inverse_link(draws), dtype=float)
        means = values.mean(axis=0).reshape(-1)
        da = m.post[var]
        labels = da.coords[da.dims[-1]].values if da.ndim > 2 else [var]
        total += means.size
        outside += [f"{label} ({_g(v)})" for label, v in zip(labels, means) if not low <= v <= high]
    if not total:
        return _na("This model has no group effects to compare with a range.")
    scale = family.response_title or family.scale_title
    if not outside:
        meaning = f"Every group effect's posterior mean ({scale}) lies in [{_g(low)}, {_g(high)}]."
        return _judged(True, 0, meaning)
    meaning = (f"{len(outside)} of {total} group effects ({scale}) have a posterior mean outside the plausible "
               f"range [{_g(low)}, {_g(high)}]: check those groups' data, or pool them harder.")
    tau = [t.scale for _, t in m.tau_terms]
    suggestion = _prior_suggestion(m.fit, tau, 1 / WIDER_PRIOR, "Try a skeptical tau prior", (
        "A tighter tau prior pulls extreme groups toward the others.")) if tau else _partial_suggestion(m.spec)
    return _judged(False, len(outside), meaning, "Outside: " + _listed(outside) + ".", suggestion)


def _order_breakers(table) -> list[str]:
    """'H (se 18, shrinkage 0.2) shrinks less than A (se 15, 0.7)' for every pair of groups where
    the less precise one (se larger by more than :data:`SE_TIE`) shrinks less, the largest
    differences first."""
    t = table[np.isfinite(table["shrinkage"]) & np.isfinite(table["se"])]
    se, shrink, group = t["se"].to_numpy(float), t["shrinkage"].to_numpy(float), t["group"].astype(str).to_numpy()
    pairs = [(shrink[j] - shrink[i], i, j) for i in range(se.size) for j in range(se.size)
             if se[i] > (1 + SE_TIE) * se[j] and shrink[i] < shrink[j]]
    pairs.sort(reverse=True)
    return [f"{group[i]} (se {_g(se[i])}, shrinkage {shrink[i]:.2f}) shrinks less than {group[j]} "
            f"(se {_g(se[j])}, {shrink[j]:.2f})" for _, i, j in pairs]


def _shrinkage_order(m: _Measured, limit: float) -> _Outcome:
    from scipy import stats

    from .shrinkage import shrinkage_levels

    pooling = str(getattr(m.spec.pooling, "value", m.spec.pooling))
    if pooling != "partial":
        return _na(f"Under {pooling} pooling every group is pulled alike, so there is no order to check.")
    rhos, breakers = {}, []
    for level in shrinkage_levels(m.fit):
        table = m.shrinkage(level.level)
        ok = np.isfinite(table["shrinkage"]) & np.isfinite(table["se"])
        se, shrink = table.loc[ok, "se"].to_numpy(float), table.loc[ok, "shrinkage"].to_numpy(float)
        if se.size < 3 or not np.max(se) > (1 + SE_TIE) * np.min(se) or not np.ptp(shrink) > 0:
            continue
        rhos[level.column] = float(stats.spearmanr(shrink, se).statistic)
        breakers += _order_breakers(table)
    if not rhos:
        return _na(f"Fewer than three groups, or standard errors all within {100 * SE_TIE:.0f}% of each other: "
                   "there is no order of precision to check.")
    worst = min(rhos, key=rhos.get)
    value = rhos[worst]
    detail = ("Less precise groups shrinking less: " + "; ".join(breakers[:_LISTED])
              + (f" (and {len(breakers) - _LISTED} more pairs)" if len(breakers) > _LISTED else "") + ".") \
        if breakers else ""
    if value >= limit:
        meaning = (f"Less precise groups are pulled further toward the pooled value (rank correlation of "
                   f"shrinkage with standard error {value:.2f}, at least {limit:g}), as partial pooling should.")
    else:
        meaning = (f"Shrinkage runs against precision (rank correlation {value:.2f} with the standard error, "
                   f"below {limit:g}): precise groups move more than noisy ones, which a working partial-"
                   "pooling fit does not do. Check the standard errors and the sampler.")
    suggestion = (_sampler_suggestion(m.fit) if _centered_terms(m.spec) else None)
    return _judged(value >= limit, value, meaning, detail, suggestion)


def _ppc_coverage(m: _Measured, limit: float) -> _Outcome:
    from .ppc import ppc_table

    if "posterior_predictive" not in m.fit.idata.groups():
        return _na("This fit has no posterior predictive draws.")
    table = ppc_table(m.fit, hdi_prob=PPC_PROB)
    value = float(table.attrs["coverage"])
    outside = table[~table["inside"]]
    statistic = str(table["statistic"].iloc[0])
    detail = ("Outside: " + _listed([f"{r.group} ({_g(r.observed)} vs {_g(r.pred_low)} to {_g(r.pred_high)})"
                                     for r in outside.itertuples()]) + ".") if len(outside) else ""
    if value >= limit:
        meaning = (f"For {100 * value:.0f}% of the groups the observed {statistic} lies inside its "
                   f"{100 * PPC_PROB:.0f}% posterior predictive interval (at least {100 * limit:.0f}% wanted): "
                   "the model reproduces the data.")
    else:
        meaning = (f"For only {100 * value:.0f}% of the groups the observed {statistic} lies inside its "
                   f"{100 * PPC_PROB:.0f}% posterior predictive interval (fewer than {100 * limit:.0f}%): the "
                   "model cannot reproduce these data.")
    return _judged(value >= limit, value, meaning, detail, _robust_suggestion(m.spec))


def _pareto_k(m: _Measured, limit: float) -> _Outcome:
    if "log_likelihood" not in m.fit.idata.groups():
        return _na("This fit has no pointwise log-likelihood, so PSIS-LOO cannot be computed.")
    k = np.asarray(m.loo.pareto_k, dtype=float).ravel()
    data = m.fit.data
    labels = np.asarray(data.labels, dtype=object)
    per_row = k.size == data.n_rows and data.n_rows != data.n_groups
    names = ([f"{labels[g]} (row {i + 1})" for i, g in enumerate(np.asarray(data.group_idx))] if per_row
             else list(labels) if k.size == data.n_groups else [f"point {i + 1}" for i in range(k.size)])
    bad = np.flatnonzero(k > limit)
    bad = bad[np.argsort(-k[bad])]
    value = float(np.nanmax(k))
    detail = ("Pareto k above the threshold: " + _listed([f"{names[i]} {k[i]:.2f}" for i in bad]) + ".") \
        if bad.size else ""
    if value <= limit:
        meaning = (f"Every Pareto k is at most {limit:g} (largest {value:.2f}): leaving out any one observation "
                   "moves the posterior little, and LOO is reliable.")
    else:
        unit = "observations" if per_row else "groups"
        unit = unit[:-1] + " has" if bad.size == 1 else unit + " have"
        meaning = (f"{bad.size} {unit} Pareto k above {limit:g} (largest {value:.2f}): leaving one out moves "
                   "the posterior too far for importance sampling, so LOO is unreliable for them. "
                   + ("These observations pull hard on the fit: check them for outliers." if per_row else
                      "With one observation per group this is common: each group is its own evidence "
                      "(K-fold cross-validation is the reliable alternative)."))
    return _judged(value <= limit, value, meaning, detail, _robust_suggestion(m.spec))


@dataclass(frozen=True)
class Check:
    """One falsification check: its threshold key, a short title and what measures it."""

    key: str
    title: str
    measure: Callable[[_Measured, Any], _Outcome]

    @property
    def stage(self) -> str:
        return THRESHOLDS[self.key].stage


CHECKS: dict[str, Check] = {c.key: c for c in (
    Check("max_divergence_fraction", "Divergent transitions", _divergences),
    Check("max_rhat", "Chains agree (R-hat)", _rhat),
    Check("min_ess_tau", "Enough effective draws of tau", _ess_tau),
    Check("max_tau_near_zero", "tau piled against zero", _tau_near_zero),
    Check("max_tau_over_spread", "tau within the groups' spread", _tau_over_spread),
    Check("min_prior_kl", "Data move the hyperparameters", _prior_kl),
    Check("max_prior_sensitivity", "Prior-data conflict", _prior_sensitivity),
    Check("plausible_range", "Group effects in the plausible range", _plausible_range),
    Check("min_shrinkage_order", "Less precise groups shrink more", _shrinkage_order),
    Check("min_ppc_coverage", "Data inside 95% predictive intervals", _ppc_coverage),
    Check("max_pareto_k", "PSIS-LOO Pareto k", _pareto_k),
)}
"""Every check, keyed like :data:`hiermod.check_thresholds.THRESHOLDS`, in stage order."""


def evaluate_checks(fit: "Fit", thresholds: Mapping | None = None, where: str = "the checks"
                    ) -> list[CheckResult]:
    """Every check of :data:`CHECKS` on ``fit``, against ``thresholds`` (overrides of the defaults,
    validated by :func:`hiermod.check_thresholds.validate_thresholds`; a bad key or value raises
    :class:`SpecError` naming ``where`` and the key). A check whose measurement raises a
    :class:`HiermodError` (the fit lacks what it reads) is not applicable, with that message."""
    limits = validate_thresholds(thresholds or {}, where)
    measured = _Measured(fit)
    out = []
    for key, check in CHECKS.items():
        try:
            outcome = check.measure(measured, limits[key])
        except HiermodError as exc:  # the fit lacks what the check reads: say so, as the library does
            outcome = _na(str(exc))
        out.append(CheckResult(key, check.stage, check.title, outcome.status, outcome.value, limits[key],
                               outcome.meaning, outcome.detail, outcome.suggestion))
    return out


def checks_table(results: list[CheckResult]):
    """One row per check: stage, check (title), status, value, threshold, meaning, detail,
    suggestion (its label, "" when none) and key."""
    return pd.DataFrame([{
        "stage": r.stage, "check": r.title, "status": r.status, "value": r.value,
        "threshold": "none" if r.threshold is None else (
            f"[{_g(r.threshold[0])}, {_g(r.threshold[1])}]" if isinstance(r.threshold, tuple) else _g(r.threshold)),
        "meaning": r.meaning, "detail": r.detail,
        "suggestion": r.suggestion.label if r.suggestion else "", "key": r.key,
    } for r in results], columns=["stage", "check", "status", "value", "threshold", "meaning", "detail",
                                  "suggestion", "key"])
