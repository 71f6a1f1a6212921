"""Model specification: what to fit, independent of any backend (no numpyro or jax here).

A model is a family (the likelihood, :mod:`hiermod.families`) plus group terms
(:mod:`hiermod.terms`) plus priors. :class:`ModelSpec` is a frozen, hashable dataclass, so it can
serve as a cache key as it is; its ``pooling`` and ``parameterization`` describe its one group term
(:attr:`ModelSpec.terms`). Prior text such as ``HalfCauchy(5)`` is parsed by a small grammar
(:func:`hiermod.prior_families.parse_prior`), never by ``eval``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from . import families
from .errors import PriorError, SpecError
from .families import Likelihood
from .prior_families import (LOCATION_FAMILIES, PRIOR_FAMILIES, SCALE_FAMILIES, Prior,  # noqa: F401
                             PriorFamily, parse_prior)
from .terms import GroupTerm, Parameterization, Pooling


def _as_prior_items(priors: Mapping[str, Prior | str] | tuple) -> tuple[tuple[str, Prior], ...]:
    items = priors.items() if isinstance(priors, Mapping) else priors
    return tuple(sorted((str(k), parse_prior(v)) for k, v in items))


@dataclass(frozen=True)
class ModelSpec:
    """What to fit: likelihood, pooling, parameterization, prior overrides and covariates.

    Priors not given here are filled with data-scaled defaults by :func:`resolve_priors`.
    Prior names: ``mu``, ``tau``, ``sigma``, ``nu``, ``theta`` (no pooling), ``beta`` (every
    covariate) or ``beta[<covariate>]`` (one covariate).
    """

    likelihood: Likelihood
    pooling: Pooling = Pooling.PARTIAL
    parameterization: Parameterization = Parameterization.NON_CENTERED
    priors: tuple[tuple[str, Prior], ...] = field(default=())
    covariates: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for attr, enum in (
            ("likelihood", Likelihood),
            ("pooling", Pooling),
            ("parameterization", Parameterization),
        ):
            value = getattr(self, attr)
            try:
                object.__setattr__(self, attr, enum(value))
            except ValueError:
                raise SpecError(
                    f"Unknown {attr} '{value}'. Use one of: {', '.join(e.value for e in enum)}."
                ) from None
        object.__setattr__(self, "priors", _as_prior_items(self.priors))
        object.__setattr__(self, "covariates", tuple(str(c) for c in self.covariates))
        allowed = set(self.prior_names())
        scales = set(self.scale_names())
        for name, prior in self.priors:
            base = name.split("[", 1)[0]
            if name not in allowed and not (base == "beta" and self.covariates):
                raise SpecError(
                    f"This model has no parameter '{name}' to put a prior on; it has: "
                    f"{', '.join(sorted(allowed))}."
                )
            expected = "positive" if base in scales else "real"
            if prior.support != expected:
                kinds = SCALE_FAMILIES if expected == "positive" else LOCATION_FAMILIES
                raise PriorError(
                    f"'{name}' needs a prior on {'positive numbers' if expected == 'positive' else 'the real line'}, "
                    f"but {prior} is not one. Use one of: {', '.join(kinds)}."
                )

    @property
    def family(self) -> "families.Family":
        """The observation model's registry entry."""
        return families.get(self.likelihood)

    @property
    def terms(self) -> tuple[GroupTerm, ...]:
        """The group terms: one, over the data's grouping column, with this spec's pooling."""
        return (GroupTerm("group", self.pooling, self.parameterization),)

    def prior_names(self) -> tuple[str, ...]:
        """Names of the parameters that need a prior in this model: the terms', the family's,
        then one ``beta[<covariate>]`` per covariate."""
        names = [n for term in self.terms for n in term.prior_names()]
        names.extend(self.family.param_names)
        names.extend(f"beta[{c}]" for c in self.covariates)
        return tuple(names)

    def scale_names(self) -> tuple[str, ...]:
        """Parameters that live on positive numbers (term scales and the family's own parameters)."""
        return tuple(n for term in self.terms for n in term.scale_names()) + self.family.param_names

    def with_priors(self, **priors: Prior | str) -> "ModelSpec":
        """A copy with these prior overrides added (``beta_x`` is not allowed; pass a dict)."""
        merged = dict(self.priors) | {k: parse_prior(v) for k, v in priors.items()}
        return ModelSpec(self.likelihood, self.pooling, self.parameterization, _as_prior_items(merged), self.covariates)

    def replace(self, **changes) -> "ModelSpec":
        """A copy with some fields changed (priors that no longer apply are dropped)."""
        changes = dict(changes)
        new_priors = changes.pop("priors", None)
        fields = {
            "likelihood": self.likelihood,
            "pooling": self.pooling,
            "parameterization": self.parameterization,
            "covariates": self.covariates,
        } | changes
        if new_priors is None:
            probe = ModelSpec(**fields)
            keep = set(probe.prior_names()) | ({"beta"} if probe.covariates else set())
            new_priors = tuple((k, v) for k, v in self.priors if k in keep or k.startswith("beta[") and probe.covariates)
        return ModelSpec(**fields, priors=new_priors)

    def to_dict(self) -> dict:
        """Plain JSON-able form."""
        return {
            "likelihood": self.likelihood.value,
            "pooling": self.pooling.value,
            "parameterization": self.parameterization.value,
            "priors": {k: str(v) for k, v in self.priors},
            "covariates": list(self.covariates),
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "ModelSpec":
        return cls(
            likelihood=d["likelihood"],
            pooling=d.get("pooling", Pooling.PARTIAL),
            parameterization=d.get("parameterization", Parameterization.NON_CENTERED),
            priors=tuple((k, parse_prior(v)) for k, v in dict(d.get("priors", {})).items()),
            covariates=tuple(d.get("covariates", ())),
        )


def likelihoods_for_kind(kind) -> tuple[Likelihood, ...]:
    """The likelihoods that fit a data kind (see :func:`hiermod.families.for_kind`)."""
    return tuple(Likelihood(f.name) for f in families.for_kind(kind))


# Which likelihood suits which kind of data (see hiermod.data.DataKind), from the family registry.
LIKELIHOODS_FOR_KIND: dict[str, tuple[Likelihood, ...]] = {k: likelihoods_for_kind(k) for k in families.KINDS}


def check_compatible(spec: ModelSpec, data) -> None:
    """Raise :class:`SpecError` when the likelihood does not fit the data kind or covariates are unknown."""
    kind = str(getattr(data.kind, "value", data.kind))
    allowed = likelihoods_for_kind(kind)
    if spec.family.kind != kind:
        raise SpecError(
            f"The likelihood '{spec.likelihood}' does not fit {kind} data; use "
            f"{' or '.join(a.value for a in allowed)}."
        )
    missing = [c for c in spec.covariates if c not in data.covariate_names]
    if missing:
        raise SpecError(
            f"Covariate(s) {', '.join(missing)} are not in the loaded data; it has: "
            f"{', '.join(data.covariate_names) or 'none'}. Choose them when loading the data."
        )
    if spec.pooling == Pooling.PARTIAL and data.n_groups < 2:
        raise SpecError(
            f"Partial pooling needs at least 2 groups; the data has {data.n_groups}. "
            "Use complete pooling, or check the group column."
        )


def default_likelihood(kind) -> Likelihood:
    """The usual likelihood for a data kind."""
    return Likelihood(families.default_for_kind(kind).name)
