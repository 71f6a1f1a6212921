"""NumPyro model functions: one per structure, pooling as structure, data and priors as arguments.

For groups j = 1..J and rows i with group g[i] and covariates x_i:

    no pooling:        theta_j ~ prior_theta                      (independent)
    complete pooling:  mu ~ prior_mu,  theta_j = mu
    partial pooling:   mu ~ prior_mu,  tau ~ prior_tau,  theta_j ~ Normal(mu, tau)
                       (non-centered: theta_j = mu + tau * theta_decentered_j, via LocScaleReparam)
    eta_i = theta_{g[i]} + x_i . beta,   beta_k ~ prior_beta[k]

    normal_known_se:  y_i ~ Normal(eta_i, se_i)
    normal:           y_i ~ Normal(eta_i, sigma)
    student_t:        y_i ~ StudentT(nu, eta_i, sigma)
    binomial:         y_i ~ Binomial(trials_i, logit^-1(eta_i))      p_j = logit^-1(theta_j)
    poisson:          y_i ~ Poisson(exposure_i * exp(eta_i))         rate_j = exp(theta_j)

Prior hyperparameters and data are passed as arrays (``model_inputs``), and one model function
is built per :class:`Structure`, so one compiled sampler serves every prior value and every data
set of the same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

import numpy as np

from .errors import SpecError
from .priors import resolve_priors, to_numpyro
from .spec import Likelihood, ModelSpec, Parameterization, Pooling, Prior

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData


@dataclass(frozen=True)
class Structure:
    """Everything about a model that changes its compiled code (not its numbers)."""

    likelihood: Likelihood
    pooling: Pooling
    parameterization: Parameterization
    families: tuple[tuple[str, str], ...]  # (prior name, family); beta covariates share "beta"
    has_covariates: bool
    aggregated: bool = False  # likelihood evaluated on per-group sufficient statistics


def can_aggregate(data: "GroupedData", spec: ModelSpec) -> bool:
    """True when the likelihood depends on each group only through a few sums (and rows > groups).

    normal: (n_j, mean_j, SS_j); binomial: (sum y, sum trials); poisson: (sum y, sum exposure).
    The posterior is unchanged; a gradient costs O(groups) instead of O(rows).
    """
    return (not spec.covariates and data.n_rows > data.n_groups
            and spec.likelihood in (Likelihood.NORMAL, Likelihood.BINOMIAL, Likelihood.POISSON))


def structure_of(spec: ModelSpec, priors: dict[str, Prior], aggregated: bool = False) -> Structure:
    """The :class:`Structure` of ``spec`` with resolved ``priors``."""
    families: dict[str, str] = {}
    beta_families = {p.family for k, p in priors.items() if k.startswith("beta[")}
    if len(beta_families) > 1:
        raise SpecError(
            "All covariate slopes (beta) need the same prior family; got "
            f"{', '.join(sorted(beta_families))}. Use e.g. Normal for every one."
        )
    for name, prior in priors.items():
        if not name.startswith("beta["):
            families[name] = prior.family
    if beta_families:
        families["beta"] = beta_families.pop()
    return Structure(
        spec.likelihood,
        spec.pooling,
        spec.parameterization if spec.pooling == Pooling.PARTIAL else Parameterization.CENTERED,
        tuple(sorted(families.items())),
        bool(spec.covariates),
        aggregated,
    )


def _prior(families: dict[str, str], hyper: dict, name: str):
    return to_numpyro(families[name])(*hyper[name])


def _observation(likelihood: Likelihood, eta, se, trials, exposure, sigma, nu):
    import numpyro.distributions as dist
    import jax.numpy as jnp

    if likelihood == Likelihood.NORMAL_KNOWN_SE:
        return dist.Normal(eta, se)
    if likelihood == Likelihood.NORMAL:
        return dist.Normal(eta, sigma)
    if likelihood == Likelihood.STUDENT_T:
        return dist.StudentT(nu, eta, sigma)
    if likelihood == Likelihood.BINOMIAL:
        return dist.Binomial(total_count=trials, logits=eta)
    if likelihood == Likelihood.POISSON:
        return dist.Poisson(jnp.exp(eta + jnp.log(exposure)))
    raise SpecError(f"Unknown likelihood {likelihood}")  # pragma: no cover


@lru_cache(maxsize=None)
def build_model(structure: Structure) -> Callable:
    """The NumPyro model for ``structure`` (the same function object for the same structure)."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from jax.nn import sigmoid
    from numpyro.handlers import reparam
    from numpyro.infer.reparam import LocScaleReparam

    families = dict(structure.families)
    lik = structure.likelihood

    def model(group_idx, group_template, hyper, y=None, se=None, trials=None, exposure=None, X=None,
              counts=None, within=None):
        n_groups = group_template.shape[0]
        with numpyro.plate("group", n_groups):
            if structure.pooling == Pooling.NONE:
                theta = numpyro.sample("theta", _prior(families, hyper, "theta"))
        if structure.pooling != Pooling.NONE:
            mu = numpyro.sample("mu", _prior(families, hyper, "mu"))
            if structure.pooling == Pooling.PARTIAL:
                tau = numpyro.sample("tau", _prior(families, hyper, "tau"))
                with numpyro.plate("group", n_groups):
                    theta = numpyro.sample("theta", dist.Normal(mu, tau))
            else:
                theta = numpyro.deterministic("theta", jnp.broadcast_to(mu, (n_groups,)))
        if lik == Likelihood.BINOMIAL:
            numpyro.deterministic("p", sigmoid(theta))
        elif lik == Likelihood.POISSON:
            numpyro.deterministic("rate", jnp.exp(theta))
        eta = theta[group_idx]
        if structure.has_covariates:
            beta = numpyro.sample("beta", _prior(families, hyper, "beta").to_event(1))
            eta = eta + X @ beta
        sigma = numpyro.sample("sigma", _prior(families, hyper, "sigma")) if "sigma" in families else None
        nu = numpyro.sample("nu", _prior(families, hyper, "nu")) if "nu" in families else None
        if counts is not None and sigma is not None:
            # aggregated normal: mean_j ~ Normal(theta_j, sigma / sqrt(n_j)), and the within-group
            # sum of squares adds -(N - J) log sigma - SS / (2 sigma^2) to the log density
            numpyro.factor("y_within", -within[0] * jnp.log(sigma) - within[1] / (2 * sigma**2))
            sigma = sigma / jnp.sqrt(counts)
        with numpyro.plate("obs", group_idx.shape[0]):
            numpyro.sample("y", _observation(lik, eta, se, trials, exposure, sigma, nu), obs=y)

    if structure.pooling == Pooling.PARTIAL and structure.parameterization == Parameterization.NON_CENTERED:
        return reparam(model, config={"theta": LocScaleReparam(centered=0)})
    return model


def model_inputs(data: "GroupedData", spec: ModelSpec, priors: dict[str, Prior]) -> dict:
    """Keyword arguments for the model: data arrays and prior hyperparameters as float32 arrays."""
    import jax.numpy as jnp

    f32 = lambda a: jnp.asarray(np.asarray(a, dtype=np.float32))  # noqa: E731
    hyper = {k: f32(p.args) for k, p in priors.items() if not k.startswith("beta[")}
    if spec.covariates:
        cols = [list(data.covariate_names).index(c) for c in spec.covariates]
        hyper["beta"] = f32(np.array([priors[f"beta[{c}]"].args for c in spec.covariates]).T)
    kwargs = {
        "group_idx": jnp.asarray(np.asarray(data.group_idx, dtype=np.int32)),
        "group_template": jnp.zeros(data.n_groups, dtype=jnp.float32),
        "hyper": hyper,
        "y": f32(data.y),
    }
    if spec.likelihood == Likelihood.NORMAL_KNOWN_SE:
        kwargs["se"] = f32(data.se)
    if spec.likelihood == Likelihood.BINOMIAL:
        # integer trials: numpyro's binomial sampler (posterior predictive) indexes with them
        trials = data.trials if data.trials is not None else np.ones_like(data.y)
        kwargs["trials"] = jnp.asarray(np.asarray(trials, dtype=np.int32))
    if spec.likelihood == Likelihood.POISSON:
        kwargs["exposure"] = f32(data.exposure if data.exposure is not None else np.ones_like(data.y))
    if spec.covariates:
        kwargs["X"] = f32(np.asarray(data.X)[:, cols])
    return kwargs


def aggregated_inputs(data: "GroupedData", spec: ModelSpec, priors: dict[str, Prior]) -> dict:
    """Model kwargs with one 'row' per group holding its sufficient statistics (see can_aggregate)."""
    import jax.numpy as jnp

    J = data.n_groups
    g = np.asarray(data.group_idx)
    y = np.asarray(data.y, dtype=float)
    counts = np.bincount(g, minlength=J).astype(float)
    kwargs = model_inputs(data, spec, priors)
    kwargs["group_idx"] = jnp.arange(J, dtype=jnp.int32)
    if spec.likelihood == Likelihood.NORMAL:
        means = np.bincount(g, weights=y, minlength=J) / counts
        ss = float(((y - means[g]) ** 2).sum())
        kwargs["y"] = jnp.asarray(means, dtype=jnp.float32)
        kwargs["counts"] = jnp.asarray(counts, dtype=jnp.float32)
        kwargs["within"] = jnp.asarray([data.n_rows - J, ss], dtype=jnp.float32)
    elif spec.likelihood == Likelihood.BINOMIAL:
        kwargs["y"] = jnp.asarray(np.bincount(g, weights=y, minlength=J), dtype=jnp.float32)
        kwargs["trials"] = jnp.asarray(np.bincount(g, weights=data.trials, minlength=J), dtype=jnp.int32)
    else:
        kwargs["y"] = jnp.asarray(np.bincount(g, weights=y, minlength=J), dtype=jnp.float32)
        kwargs["exposure"] = jnp.asarray(np.bincount(g, weights=data.exposure, minlength=J), dtype=jnp.float32)
    return kwargs


def prepare(data: "GroupedData", spec: ModelSpec, aggregate: bool = True
            ) -> tuple[Callable, dict, dict[str, Prior], Structure]:
    """(model, model kwargs, resolved priors, structure) for ``data`` and ``spec``.

    With ``aggregate`` (default) and a likelihood that allows it, the data enter as per-group
    sufficient statistics; the posterior is the same.
    """
    priors = resolve_priors(data, spec)
    aggregated = aggregate and can_aggregate(data, spec)
    structure = structure_of(spec, priors, aggregated)
    inputs = aggregated_inputs(data, spec, priors) if aggregated else model_inputs(data, spec, priors)
    return build_model(structure), inputs, priors, structure
