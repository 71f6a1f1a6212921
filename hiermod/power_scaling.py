"""Prior sensitivity, part two: power-scaling sensitivity of any fit (NUTS, instant, exact, VI).

Kallioinen, Paananen, Bürkner and Vehtari (2023), "Detecting and diagnosing prior and likelihood
sensitivity with power-scaling". Power-scaling a component c(theta) of the posterior (the prior or
the likelihood) by alpha gives p_alpha(theta | y) ∝ c(theta)^alpha p(theta | y) / c(theta); its draws are
the fit's own draws with Pareto-smoothed importance weights w ∝ c(theta)^(alpha - 1). For each
parameter the sensitivity is the cumulative Jensen-Shannon distance (CJS) between the posterior and
its power-scaled versions at alpha = 1/(1 + delta) and 1 + delta, divided by 2 log2(1 + delta) (a
finite-difference derivative in log2 alpha; delta = 0.01). ArviZ's ``psens`` computes it; this
module builds what it needs:

    log prior   sum over the priors the user sets (``fit.priors``: mu, tau, sigma, beta[x], ...) of
                hiermod.priors.log_density at each draw: the top-level priors, not the population
                distribution theta_j ~ Normal(mu, tau), which is part of the model (as priorsense
                does for brms models). An LKJ prior on more than one slope correlation has no
                stored draws to evaluate (only each rho_x): it is left out and reported.
    likelihood  the fit's pointwise log-likelihood (its ``log_likelihood`` group), summed.

Diagnosis per parameter (the priorsense package's rule, thresholds here only):

    prior >= PRIOR_THRESHOLD and likelihood >= LIKELIHOOD_THRESHOLD   prior-data conflict
    prior >= PRIOR_THRESHOLD and likelihood <  LIKELIHOOD_THRESHOLD   strong prior / weak likelihood
    otherwise                                                           (none)

Pareto k of the importance weights above PARETO_K_MAX makes the estimates unreliable (reported).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import SpecError
from .priors import log_density

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

__all__ = ["PRIOR_THRESHOLD", "LIKELIHOOD_THRESHOLD", "DELTA", "PARETO_K_MAX", "CONFLICT", "STRONG_PRIOR",
           "PowerScaling", "power_scaling", "log_prior_draws", "sensitivity_parameters"]

PRIOR_THRESHOLD = 0.05
"""Prior sensitivity (CJS per unit log2 alpha) at or above this: the posterior depends on the prior."""
LIKELIHOOD_THRESHOLD = 0.05
"""Likelihood sensitivity below this: the data hardly inform the parameter."""
DELTA = 0.01
"""Power-scaling alpha = 1/(1 + DELTA) and 1 + DELTA (ArviZ's and priorsense's default)."""
PARETO_K_MAX = 0.7
"""Pareto k of the power-scaling importance weights above this: the estimates are unreliable."""
CONFLICT = "prior-data conflict"
STRONG_PRIOR = "strong prior / weak likelihood"

_INDEXED = re.compile(r"^(\w+)\[(.+)\]$")


def sensitivity_parameters(fit: "Fit") -> list[str]:
    """The posterior variables checked: every term's parameters (mu, tau, the group effects, slopes,
    correlations, a population's alpha, beta and p / rate), the family's and the coefficients beta."""
    spec = fit.spec
    names = [n for term in spec.terms for n in term.parameter_names()]
    names += list(spec.family.param_names) + (["beta"] if spec.covariates else [])
    post = fit.idata.posterior
    return list(dict.fromkeys(n for n in names if n in post.data_vars))


def _prior_variable(post, name: str, spec):
    """The posterior draws a prior named ``name`` is a density of (None when none are stored)."""
    if name in post.data_vars:
        return post[name]
    m = _INDEXED.match(name)
    if m and m.group(1) in post.data_vars and "covariate" in post[m.group(1)].dims:
        return post[m.group(1)].sel(covariate=m.group(2))
    for term in spec.terms:
        if name in term.correlation_names() and len(term.slopes) == 1:
            return post[term.slope_correlation(term.slopes[0])]
    return None


def log_prior_draws(fit: "Fit") -> tuple[dict, list[str]]:
    """({prior name: log density at each draw, shape (chain, draw)}, names left out): the log prior
    group ArviZ's ``psens`` needs, from the fit's resolved priors (module docstring)."""
    post = fit.idata.posterior
    out, omitted = {}, []
    for name, prior in fit.priors.items():
        var = _prior_variable(post, name, fit.spec)
        if var is None:
            omitted.append(name)
            continue
        values = log_density(prior, np.asarray(var.values, float))
        out[name] = values.reshape(values.shape[:2] + (-1,)).sum(-1)
    return out, omitted


@dataclass(frozen=True)
class PowerScaling:
    """Power-scaling sensitivity of one fit.

    ``table``: [parameter, prior, likelihood, diagnosis] per scalar (``theta[<group>]`` per group),
    prior / likelihood the sensitivities (CJS per unit log2 alpha). ``by_prior``: [parameter, then one
    column per prior name]: the prior sensitivity when only that prior is power-scaled (which prior
    drives it). ``omitted``: prior names without draws to evaluate. ``pareto_k``: the largest Pareto k
    of the importance weights when power-scaling the prior and the likelihood.
    """

    table: pd.DataFrame
    by_prior: pd.DataFrame
    omitted: tuple[str, ...]
    pareto_k: dict[str, float]

    def flagged(self, diagnosis: str) -> list[str]:
        return self.table.loc[self.table["diagnosis"] == diagnosis, "parameter"].tolist()

    def verdicts(self) -> list[tuple[str, str]]:
        """(level, sentence) pairs for people: "error" for prior-data conflict, "warning" for a
        strong prior, "ok" when nothing is flagged, and "warning" for unreliable weights."""
        out = []
        conflict, strong = self.flagged(CONFLICT), self.flagged(STRONG_PRIOR)
        if conflict:
            out.append(("error", f"Prior-data conflict: {_names(conflict)}. Prior and likelihood both "
                        f"pull on these (both sensitivities >= {PRIOR_THRESHOLD:g}) and disagree: check "
                        "that the prior's location and scale fit what the data say, or the data for "
                        "errors."))
        if strong:
            out.append(("warning", f"These posteriors depend on the prior: {_names(strong)} (prior "
                        f"sensitivity >= {PRIOR_THRESHOLD:g}, likelihood sensitivity < "
                        f"{LIKELIHOOD_THRESHOLD:g}: the data say little about them). Report them with "
                        "the prior, and see how they move under other priors (the prior set above)."))
        if not conflict and not strong:
            out.append(("ok", f"No parameter's posterior depends noticeably on the prior (every prior "
                        f"sensitivity is below {PRIOR_THRESHOLD:g})."))
        bad = {k: v for k, v in self.pareto_k.items() if v > PARETO_K_MAX}
        if bad:
            out.append(("warning", "The importance weights are unreliable (Pareto k "
                        + ", ".join(f"{v:.2f} for the {k}" for k, v in bad.items())
                        + f" > {PARETO_K_MAX}): treat the numbers as rough, or fit with more draws."))
        if self.omitted:
            out.append(("warning", f"Not power-scaled (no draws to evaluate its density): "
                        f"{', '.join(self.omitted)}."))
        return out


def _names(params: list[str]) -> str:
    """'tau, theta (groups A, C)': indexed parameters grouped by their base name."""
    groups: dict[str, list[str]] = {}
    for p in params:
        m = _INDEXED.match(p)
        base, label = (m.group(1), m.group(2)) if m else (p, None)
        groups.setdefault(base, [])
        if label is not None:
            groups[base].append(label)
    return "; ".join(f"{b} ({', '.join(labels)})" if labels else b for b, labels in groups.items())


def _flat(ds, names: list[str]) -> dict[str, float]:
    """{parameter: value} from a psens result, indexed parameters as ``name[label]``."""
    out = {}
    ds = ds if hasattr(ds, "data_vars") else ds.to_dataset(name=names[0])  # one variable: a DataArray
    for name in names:
        var = ds[name]
        if var.ndim == 0:
            out[name] = float(var)
            continue
        dim = var.dims[0]
        for label, value in zip(var[dim].values, np.asarray(var.values, float)):
            out[f"{name}[{label}]"] = float(value)
    return out


def _diagnosis(prior: float, likelihood: float) -> str:
    if prior >= PRIOR_THRESHOLD:
        return CONFLICT if likelihood >= LIKELIHOOD_THRESHOLD else STRONG_PRIOR
    return ""


def _pareto_k(component: np.ndarray) -> float:
    """The larger Pareto k of the weights c^(alpha - 1) at alpha = 1/(1 + DELTA) and 1 + DELTA."""
    import arviz as az

    ks = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for alpha in (1 / (1 + DELTA), 1 + DELTA):
            ks.append(float(az.psislw((alpha - 1) * component)[1]))
    return max(ks)


def power_scaling(fit: "Fit", by_prior: bool = True) -> PowerScaling:
    """Prior and likelihood power-scaling sensitivity of every parameter of ``fit`` (module docstring).
    :class:`SpecError` when the fit has no log-likelihood or no prior to power-scale."""
    import arviz as az
    import xarray as xr

    idata = fit.idata
    if "log_likelihood" not in idata.groups():
        raise SpecError("This fit has no pointwise log-likelihood, so its likelihood cannot be "
                        "power-scaled: fit again (every method records it).")
    log_prior, omitted = log_prior_draws(fit)
    if not log_prior:
        raise SpecError("This model has no prior with draws to evaluate, so there is nothing to "
                        "power-scale.")
    names = sensitivity_parameters(fit)
    post = idata.posterior[names]
    lp = xr.Dataset({k: (("chain", "draw"), v) for k, v in log_prior.items()},
                    coords={"chain": post.chain, "draw": post.draw})
    data = az.InferenceData(posterior=post, log_likelihood=idata.log_likelihood, log_prior=lp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PSIS warns on k > 0.7: reported in pareto_k instead
        prior = _flat(az.psens(data, component="prior", var_names=names, delta=DELTA), names)
        lik = _flat(az.psens(data, component="likelihood", var_names=names, delta=DELTA), names)
        per_prior = {k: _flat(az.psens(data, component="prior", component_var_names=[k], var_names=names,
                                       delta=DELTA), names) for k in log_prior} if by_prior else {}
    table = pd.DataFrame({"parameter": list(prior), "prior": list(prior.values()),
                          "likelihood": [lik[p] for p in prior]})
    table["diagnosis"] = [_diagnosis(a, b) for a, b in zip(table["prior"], table["likelihood"])]
    by = pd.DataFrame({"parameter": list(prior)} | {k: [v[p] for p in prior] for k, v in per_prior.items()})
    total_prior = sum(log_prior.values()).ravel()
    total_lik = sum(np.asarray(v.values, float).reshape(v.shape[0] * v.shape[1], -1).sum(1)
                    for v in idata.log_likelihood.data_vars.values())
    k = {"prior": _pareto_k(total_prior), "likelihood": _pareto_k(total_lik)}
    return PowerScaling(table, by, tuple(omitted), k)
