"""NumPyro model functions built from the model description: group terms plus a family.

For rows i with group g[i] and covariates x_i (terms: :mod:`hiermod.terms`; observation models:
:mod:`hiermod.families`):

    theta = the group term's effects (no / complete / partial pooling; non-centered partial
            pooling via NumPyro's LocScaleReparam, which records theta_decentered)
    eta_i = theta_{g[i]} + x_i . beta,   beta_k ~ prior_beta[k]
    y_i   ~ family.observe(eta_i, per-row data, family parameters)
    (binomial / poisson record the response-scale group values p / rate as deterministic sites)

Prior hyperparameters and data are passed as arrays (``model_inputs``), and one model function
is built per :class:`Structure`, so one compiled sampler serves every prior value and every data
set of the same shapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable

import numpy as np

from . import families
from .errors import SpecError
from .prior_families import to_numpyro
from .priors import resolve_priors
from .spec import Likelihood, ModelSpec, Parameterization, Pooling, Prior
from .terms import GroupTerm

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

    @property
    def terms(self) -> tuple[GroupTerm, ...]:
        return (GroupTerm("group", self.pooling, self.parameterization),)


def can_aggregate(data: "GroupedData", spec: ModelSpec) -> bool:
    """True when the likelihood depends on each group only through a few sums (the family says
    which: :attr:`hiermod.families.Family.aggregates`), there are no covariates and rows > groups.
    The posterior is unchanged; a gradient costs O(groups) instead of O(rows).
    """
    return not spec.covariates and data.n_rows > data.n_groups and spec.family.aggregates


def structure_of(spec: ModelSpec, priors: dict[str, Prior], aggregated: bool = False) -> Structure:
    """The :class:`Structure` of ``spec`` with resolved ``priors``."""
    families: dict[str, str] = {}
    beta_families = {p.structure_key for k, p in priors.items() if k.startswith("beta[")}
    if len(beta_families) > 1:
        raise SpecError(
            "All covariate slopes (beta) need the same prior family; got "
            f"{', '.join(sorted(beta_families))}. Use e.g. Normal for every one."
        )
    for name, prior in priors.items():
        if not name.startswith("beta["):
            families[name] = prior.structure_key
    if beta_families:
        families["beta"] = beta_families.pop()
    (term,) = spec.terms
    return Structure(spec.likelihood, term.pooling, term.parameterization,
                     tuple(sorted(families.items())), bool(spec.covariates), aggregated)


def _prior(families: dict[str, str], hyper: dict, name: str):
    return to_numpyro(families[name])(*hyper[name])


def _term_effects(term: GroupTerm, families: dict[str, str], hyper: dict, n_groups: int):
    """Sample one term's parameters and return its group effects theta (n_groups,)."""
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist

    if term.pooling == Pooling.NONE:
        with numpyro.plate(term.factor, n_groups):
            return numpyro.sample(term.effect, _prior(families, hyper, term.effect))
    mu = numpyro.sample(term.location, _prior(families, hyper, term.location))
    if term.pooling == Pooling.COMPLETE:
        return numpyro.deterministic(term.effect, jnp.broadcast_to(mu, (n_groups,)))
    tau = numpyro.sample(term.scale, _prior(families, hyper, term.scale))
    with numpyro.plate(term.factor, n_groups):
        return numpyro.sample(term.effect, dist.Normal(mu, tau))


@lru_cache(maxsize=None)
def build_model(structure: Structure) -> Callable:
    """The NumPyro model for ``structure`` (the same function object for the same structure)."""
    import numpyro
    from numpyro.handlers import reparam
    from numpyro.infer.reparam import LocScaleReparam

    prior_families = dict(structure.families)
    family = families.get(structure.likelihood)
    (term,) = structure.terms

    def model(group_idx, group_template, hyper, y=None, se=None, trials=None, exposure=None, X=None,
              counts=None, within=None):
        theta = _term_effects(term, prior_families, hyper, group_template.shape[0])
        if family.response:
            numpyro.deterministic(family.response, family.numpyro_response(theta))
        eta = theta[group_idx]
        if structure.has_covariates:
            beta = numpyro.sample("beta", _prior(prior_families, hyper, "beta").to_event(1))
            eta = eta + X @ beta
        params = {name: numpyro.sample(name, _prior(prior_families, hyper, name)) for name in family.param_names}
        rows = {"se": se, "trials": trials, "exposure": exposure, "counts": counts, "within": within}
        observation = family.observe(eta, rows, params)
        with numpyro.plate("obs", group_idx.shape[0]):
            numpyro.sample("y", observation, obs=y)

    if term.non_centered:
        return reparam(model, config={term.effect: LocScaleReparam(centered=0)})
    return model


def _jax_inputs(arrays: dict[str, np.ndarray]) -> dict:
    import jax.numpy as jnp

    return {k: jnp.asarray(v) for k, v in arrays.items()}


def model_inputs(data: "GroupedData", spec: ModelSpec, priors: dict[str, Prior]) -> dict:
    """Keyword arguments for the model: data arrays and prior hyperparameters as float32 arrays
    (the per-row data the family reads: :meth:`hiermod.families.Family.model_rows`)."""
    import jax.numpy as jnp

    f32 = lambda a: jnp.asarray(np.asarray(a, dtype=np.float32))  # noqa: E731
    hyper = {k: f32(p.hyper_args) for k, p in priors.items() if not k.startswith("beta[")}
    if spec.covariates:
        cols = [list(data.covariate_names).index(c) for c in spec.covariates]
        hyper["beta"] = f32(np.array([priors[f"beta[{c}]"].hyper_args for c in spec.covariates]).T)
    kwargs = {
        "group_idx": jnp.asarray(np.asarray(data.group_idx, dtype=np.int32)),
        "group_template": jnp.zeros(data.n_groups, dtype=jnp.float32),
        "hyper": hyper,
        "y": f32(data.y),
    }
    kwargs.update(_jax_inputs(spec.family.model_rows(data)))
    if spec.covariates:
        kwargs["X"] = f32(np.asarray(data.X)[:, cols])
    return kwargs


def aggregated_inputs(data: "GroupedData", spec: ModelSpec, priors: dict[str, Prior]) -> dict:
    """Model kwargs with one 'row' per group holding its sufficient statistics (see can_aggregate
    and :meth:`hiermod.families.Family.sufficient_statistics`)."""
    import jax.numpy as jnp

    kwargs = model_inputs(data, spec, priors)
    kwargs["group_idx"] = jnp.arange(data.n_groups, dtype=jnp.int32)
    kwargs.update(_jax_inputs(spec.family.sufficient_statistics(data)))
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
