"""Model specification: what to fit, independent of any backend (no numpyro or jax here).

A model is a family (the likelihood, :mod:`hiermod.families`) plus group terms
(:mod:`hiermod.terms`) plus priors. :class:`ModelSpec` is a frozen, hashable dataclass, so it can
serve as a cache key as it is; its fields (grouping columns, pooling, parameterization per level,
varying slopes, population) become its group terms (:attr:`ModelSpec.terms`). Prior text such as ``HalfCauchy(5)`` is parsed by a small grammar
(:func:`hiermod.prior_families.parse_prior`), never by ``eval``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Mapping

from . import families
from .errors import PriorError, SpecError
from .families import Likelihood
from .prior_families import (LOCATION_FAMILIES, PRIOR_FAMILIES, SCALE_FAMILIES, Prior,  # noqa: F401
                             PriorFamily, parse_prior)
from . import populations
from .terms import GroupTerm, Parameterization, Pooling, Population, SlopeCorrelation, group_terms  # noqa: F401

MAX_GROUP_LEVELS = 3


def _as_prior_items(priors: Mapping[str, Prior | str] | tuple) -> tuple[tuple[str, Prior], ...]:
    items = priors.items() if isinstance(priors, Mapping) else priors
    return tuple(sorted((str(k), parse_prior(v)) for k, v in items))


@dataclass(frozen=True)
class ModelSpec:
    """What to fit: likelihood, pooling, parameterization, prior overrides and covariates, and the
    hierarchy: grouping columns (outermost first), varying slopes, the population of the effects.

    Priors not given here are filled with data-scaled defaults by :func:`resolve_priors`.
    Prior names (:meth:`prior_names`): ``mu``, ``tau`` (``tau_<column>`` when nested), ``sigma``,
    ``nu``, ``phi``, ``theta`` (no pooling), ``beta`` (every covariate) or ``beta[<covariate>]``,
    ``tau_<x>`` and ``rho`` (varying slopes), ``alpha`` and ``beta`` (Beta/Gamma populations),
    ``nu_groups`` (a Student-t population's degrees of freedom).
    ``groups`` empty: one level over the data's group column. ``level_parameterizations``: one per
    grouping column (empty: ``parameterization`` for every level).
    """

    likelihood: Likelihood
    pooling: Pooling = Pooling.PARTIAL
    parameterization: Parameterization = Parameterization.NON_CENTERED
    priors: tuple[tuple[str, Prior], ...] = field(default=())
    covariates: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    level_parameterizations: tuple[Parameterization, ...] = ()
    slopes: tuple[str, ...] = ()
    slope_correlation: SlopeCorrelation = SlopeCorrelation.LKJ
    population: Population = Population.NORMAL

    def __post_init__(self) -> None:
        for attr, enum in (
            ("likelihood", Likelihood),
            ("pooling", Pooling),
            ("parameterization", Parameterization),
            ("slope_correlation", SlopeCorrelation),
            ("population", Population),
        ):
            value = getattr(self, attr)
            try:
                object.__setattr__(self, attr, enum(value))
            except ValueError:
                raise SpecError(
                    f"Unknown {attr} '{value}'. Use one of: {', '.join(e.value for e in enum)}."
                ) from None
        object.__setattr__(self, "priors", _as_prior_items(self.priors))
        self._check_hierarchy()
        allowed = set(self.prior_names())
        scales = set(self.scale_names())
        correlations = set(self.correlation_names())
        for name, prior in self.priors:
            base = name.split("[", 1)[0]
            if name not in allowed and not (base == "beta" and self.covariates):
                raise SpecError(
                    f"This model has no parameter '{name}' to put a prior on; it has: "
                    f"{', '.join(sorted(allowed))}."
                )
            expected = "correlation" if name in correlations else "positive" if base in scales else "real"
            if prior.support != expected:
                kinds = {"positive": SCALE_FAMILIES, "real": LOCATION_FAMILIES}.get(expected, ("LKJ",))
                where = {"positive": "positive numbers", "real": "the real line"}.get(expected, "correlations")
                raise PriorError(
                    f"'{name}' needs a prior on {where}, but {prior} is not one. Use one of: {', '.join(kinds)}."
                )

    def _check_hierarchy(self) -> None:
        """Normalise the hierarchy fields and refuse combinations the model cannot express."""
        set_ = object.__setattr__
        groups = (self.groups,) if isinstance(self.groups, str) else tuple(str(g) for g in self.groups)
        slopes = (self.slopes,) if isinstance(self.slopes, str) else tuple(str(x) for x in self.slopes)
        covariates = (self.covariates,) if isinstance(self.covariates, str) else tuple(str(c) for c in self.covariates)
        set_(self, "groups", groups)
        set_(self, "slopes", slopes)
        set_(self, "covariates", covariates + tuple(x for x in slopes if x not in covariates))
        if len(groups) > MAX_GROUP_LEVELS or len(set(groups)) != len(groups):
            raise SpecError(f"Give one to {MAX_GROUP_LEVELS} different grouping columns (outermost first); "
                            f"got {', '.join(map(repr, groups))}.")
        if len(set(slopes)) != len(slopes):
            raise SpecError(f"A slope covariate is listed twice: {', '.join(slopes)}.")
        levels = self.level_parameterizations
        levels = (levels,) if isinstance(levels, str) else tuple(levels)
        try:
            levels = tuple(Parameterization(p) for p in levels)
        except ValueError as exc:
            raise SpecError(f"{exc}. Use one of: {', '.join(p.value for p in Parameterization)}.") from None
        if levels and len(levels) != max(1, len(groups)):
            raise SpecError(f"Give one parameterization per grouping column ({max(1, len(groups))}); "
                            f"got {len(levels)}.")
        set_(self, "level_parameterizations", levels)
        if self.population == Population.STUDENT_T:
            self._check_student_t(groups, slopes)
        elif self.population != Population.NORMAL:
            needs = populations.get(self.population).likelihood
            if needs != self.likelihood.value:
                raise SpecError(f"A {self.population.value.title()} population describes {needs} data; "
                                f"with the {self.likelihood.value} likelihood use --population normal.")
            if self.covariates or len(groups) > 1:
                raise SpecError(f"A {self.population.value.title()} population has no covariates, slopes or "
                                "nested levels (its groups' values are Beta/Gamma draws, not a linear "
                                "predictor). Use --population normal for those.")

    def _check_student_t(self, groups: tuple[str, ...], slopes: tuple[str, ...]) -> None:
        """A Student-t population is one level of partially pooled effects without varying slopes."""
        if self.pooling != Pooling.PARTIAL:
            raise SpecError(f"A Student-t population (population='student_t') describes how partially pooled "
                            f"group effects spread; with pooling={self.pooling.value!r} there is no population. "
                            "Use pooling='partial', or population='normal'.")
        if len(groups) > 1:
            raise SpecError(f"A Student-t population (population='student_t') serves one grouping level; "
                            f"this model nests {len(groups)} ({', '.join(map(repr, groups))}). Use one "
                            "grouping column, or population='normal' for nested levels.")
        if slopes:
            raise SpecError(f"A Student-t population (population='student_t') has no varying slopes (got "
                            f"{', '.join(map(repr, slopes))}): its effects are one intercept per group. Use "
                            "the covariates with a common slope, or population='normal' for varying slopes.")

    @property
    def family(self) -> "families.Family":
        """The observation model's registry entry."""
        return families.get(self.likelihood)

    @property
    def terms(self) -> tuple[GroupTerm, ...]:
        """The group terms, outermost first (:func:`hiermod.terms.group_terms`)."""
        n_levels = max(1, len(self.groups))
        levels = self.level_parameterizations or (self.parameterization,) * n_levels
        return group_terms(self.groups, self.pooling, levels, self.slopes, self.slope_correlation, self.population)

    @property
    def nested(self) -> bool:
        return len(self.terms) > 1

    @property
    def row_term(self) -> GroupTerm:
        """The innermost term: the one whose effects enter each row's linear predictor."""
        return self.terms[-1]

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

    def correlation_names(self) -> tuple[str, ...]:
        """Priors on correlation matrices (the LKJ concentration ``rho`` of varying slopes)."""
        return tuple(n for term in self.terms for n in term.correlation_names())

    def working_names(self) -> frozenset[str]:
        """The sampler's working variables of every term, left out of summaries and CSVs."""
        return frozenset(n for term in self.terms for n in term.working_names())

    def describe(self) -> str:
        """One line for people: likelihood, pooling, each level's parameterization, slopes, population."""
        parts = [f"{self.likelihood.value}, {self.pooling.value} pooling"]
        terms = self.terms
        if self.nested:
            parts.append("levels " + " > ".join(f"{t.factor} ({t.parameterization.value.replace('_', '-')})"
                                                for t in terms))
        elif self.row_term.conjugate:
            parts.append(f"{self.population.value.title()} population")
        elif self.row_term.robust:
            parts.append(f"Student-t population, {terms[0].parameterization.value.replace('_', '-')}")
        elif self.pooling == Pooling.PARTIAL:
            parts.append(terms[0].parameterization.value.replace("_", "-"))
        if self.row_term.slopes:
            parts.append(f"varying slopes: {', '.join(self.row_term.slopes)} "
                         f"(correlation: {self.slope_correlation.value})")
        common = [c for c in self.covariates if c not in self.row_term.slopes]
        if common:
            parts.append(f"covariates: {', '.join(common)}")
        return ", ".join(parts)

    def with_priors(self, **priors: Prior | str) -> "ModelSpec":
        """A copy with these prior overrides added (``beta_x`` is not allowed; pass a dict)."""
        merged = dict(self.priors) | {k: parse_prior(v) for k, v in priors.items()}
        return dataclasses.replace(self, priors=_as_prior_items(merged))

    def replace(self, **changes) -> "ModelSpec":
        """A copy with some fields changed (priors that no longer apply are dropped; a Student-t
        population becomes normal when the new pooling is not partial, unless ``population`` is given)."""
        changes = dict(changes)
        new_priors = changes.pop("priors", None)
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "priors"} | changes
        if (fields["population"] == Population.STUDENT_T and "population" not in changes
                and Pooling(fields["pooling"]) != Pooling.PARTIAL):
            fields["population"] = Population.NORMAL
        if "groups" in changes and "level_parameterizations" not in changes:
            fields["level_parameterizations"] = ()
        if "slopes" in changes and "covariates" not in changes:
            fields["covariates"] = tuple(c for c in self.covariates if c not in self.slopes)
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
            "groups": list(self.groups),
            "level_parameterizations": [p.value for p in self.level_parameterizations],
            "slopes": list(self.slopes),
            "slope_correlation": self.slope_correlation.value,
            "population": self.population.value,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> "ModelSpec":
        return cls(
            likelihood=d["likelihood"],
            pooling=d.get("pooling", Pooling.PARTIAL),
            parameterization=d.get("parameterization", Parameterization.NON_CENTERED),
            priors=tuple((k, parse_prior(v)) for k, v in dict(d.get("priors", {})).items()),
            covariates=tuple(d.get("covariates", ())),
            groups=tuple(d.get("groups", ())),
            level_parameterizations=tuple(d.get("level_parameterizations", ())),
            slopes=tuple(d.get("slopes", ())),
            slope_correlation=d.get("slope_correlation", SlopeCorrelation.LKJ),
            population=d.get("population", Population.NORMAL),
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
    from .levels import select_levels  # numpy only

    levels = select_levels(data.levels, spec.groups) if spec.groups else data.levels[-1:]
    if spec.pooling == Pooling.PARTIAL:
        for term, level in zip(spec.terms, levels[-len(spec.terms):]):
            if level.n_groups < 2:
                raise SpecError(
                    f"Partial pooling needs at least 2 groups in {level.column!r}; the data has "
                    f"{level.n_groups}. Use complete pooling, or check the group column."
                )


def default_likelihood(kind) -> Likelihood:
    """The usual likelihood for a data kind."""
    return Likelihood(families.default_for_kind(kind).name)
