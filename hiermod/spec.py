"""Model specification: what to fit, independent of any backend (no numpyro or jax here).

A :class:`ModelSpec` is a frozen, hashable dataclass, so it can serve as a cache key as it is.
Prior text such as ``HalfCauchy(5)`` is parsed by a small grammar (:func:`parse_prior`), never by
``eval``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Mapping

from .errors import PriorError, SpecError


class Pooling(StrEnum):
    """How group effects share information: not at all, completely, or partially."""

    NONE = "none"
    COMPLETE = "complete"
    PARTIAL = "partial"


class Likelihood(StrEnum):
    """Observation model. ``binomial`` uses a logit link, ``poisson`` a log link with log exposure offset."""

    NORMAL_KNOWN_SE = "normal_known_se"
    NORMAL = "normal"
    STUDENT_T = "student_t"
    BINOMIAL = "binomial"
    POISSON = "poisson"


class Parameterization(StrEnum):
    """Centered: theta ~ Normal(mu, tau). Non-centered: theta = mu + tau * z with z ~ Normal(0, 1)."""

    CENTERED = "centered"
    NON_CENTERED = "non_centered"


@dataclass(frozen=True)
class PriorFamily:
    """A prior family: its argument names and the support it puts mass on."""

    name: str
    arg_names: tuple[str, ...]
    support: str  # "real" or "positive"
    positive_args: tuple[str, ...] = ()


# Declarative table of the prior families; `priors.py` maps each to numpyro and scipy.
PRIOR_FAMILIES: dict[str, PriorFamily] = {
    f.name: f
    for f in (
        PriorFamily("Normal", ("loc", "scale"), "real", ("scale",)),
        PriorFamily("StudentT", ("df", "loc", "scale"), "real", ("df", "scale")),
        PriorFamily("Cauchy", ("loc", "scale"), "real", ("scale",)),
        PriorFamily("HalfNormal", ("scale",), "positive", ("scale",)),
        PriorFamily("HalfCauchy", ("scale",), "positive", ("scale",)),
        PriorFamily("HalfStudentT", ("df", "scale"), "positive", ("df", "scale")),
        PriorFamily("Exponential", ("rate",), "positive", ("rate",)),
        PriorFamily("Gamma", ("concentration", "rate"), "positive", ("concentration", "rate")),
        PriorFamily(
            "InverseGamma", ("concentration", "rate"), "positive", ("concentration", "rate")
        ),
        PriorFamily("LogNormal", ("loc", "scale"), "positive", ("scale",)),
        PriorFamily("Uniform", ("low", "high"), "positive"),
    )
}

LOCATION_FAMILIES = tuple(n for n, f in PRIOR_FAMILIES.items() if f.support == "real")
SCALE_FAMILIES = tuple(n for n, f in PRIOR_FAMILIES.items() if f.support == "positive")

# Lower-case aliases accepted by the parser (``half_cauchy``, ``halfcauchy``, ``t`` ...).
_ALIASES = {re.sub(r"[^a-z]", "", n.lower()): n for n in PRIOR_FAMILIES} | {
    "t": "StudentT",
    "halft": "HalfStudentT",
    "exp": "Exponential",
    "invgamma": "InverseGamma",
    "lognormal": "LogNormal",
    "gaussian": "Normal",
    "halfgaussian": "HalfNormal",
}

_PRIOR_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z_ ]*)\s*\(\s*([^()]*)\)\s*$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Prior:
    """A prior distribution: a family name from :data:`PRIOR_FAMILIES` and its arguments."""

    family: str
    args: tuple[float, ...]

    def __post_init__(self) -> None:
        fam = PRIOR_FAMILIES.get(self.family)
        if fam is None:
            raise PriorError(
                f"Unknown prior family '{self.family}'. Use one of: {', '.join(PRIOR_FAMILIES)}."
            )
        args = tuple(float(a) for a in self.args)
        object.__setattr__(self, "args", args)
        if len(args) != len(fam.arg_names):
            raise PriorError(
                f"{self.family} takes {len(fam.arg_names)} argument(s) "
                f"({', '.join(fam.arg_names)}), got {len(args)}: write e.g. "
                f"{self.family}({', '.join('1' for _ in fam.arg_names)})."
            )
        for name, value in zip(fam.arg_names, args):
            if not math.isfinite(value):
                raise PriorError(f"{self.family}: {name} must be a finite number, got {value}.")
            if name in fam.positive_args and value <= 0:
                raise PriorError(f"{self.family}: {name} must be > 0, got {value:g}.")
        if self.family == "Uniform" and not (0 <= args[0] < args[1]):
            raise PriorError(
                f"Uniform(low, high) for a scale needs 0 <= low < high, got Uniform({args[0]:g}, {args[1]:g})."
            )

    @property
    def support(self) -> str:
        return PRIOR_FAMILIES[self.family].support

    @property
    def kwargs(self) -> dict[str, float]:
        return dict(zip(PRIOR_FAMILIES[self.family].arg_names, self.args))

    def __str__(self) -> str:
        return f"{self.family}({', '.join(f'{a:g}' for a in self.args)})"


def parse_prior(text: str | Prior) -> Prior:
    """Parse ``Family(a, b, ...)`` (case and underscores ignored) into a :class:`Prior`.

    Only family names and plain decimal numbers are accepted; nothing is evaluated.
    """
    if isinstance(text, Prior):
        return text
    if not isinstance(text, str) or len(text) > 200:
        raise PriorError("A prior is written like HalfCauchy(5) or Normal(0, 10).")
    match = _PRIOR_RE.match(text)
    if match is None:
        raise PriorError(
            f"Cannot read the prior '{text}'. Write a family and its numbers, e.g. "
            "Normal(0, 10), HalfCauchy(5), StudentT(3, 0, 2.5)."
        )
    key = re.sub(r"[^a-z]", "", match.group(1).lower())
    family = _ALIASES.get(key)
    if family is None:
        raise PriorError(
            f"Unknown prior family '{match.group(1).strip()}'. Use one of: "
            f"{', '.join(PRIOR_FAMILIES)}."
        )
    raw = [a.strip() for a in match.group(2).split(",")] if match.group(2).strip() else []
    for a in raw:
        if not _NUMBER_RE.match(a):
            raise PriorError(f"In '{text}': '{a}' is not a number. Use plain numbers like 2.5 or 1e-3.")
    return Prior(family, tuple(float(a) for a in raw))


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
        for name, prior in self.priors:
            base = name.split("[", 1)[0]
            if name not in allowed and not (base == "beta" and self.covariates):
                raise SpecError(
                    f"This model has no parameter '{name}' to put a prior on; it has: "
                    f"{', '.join(sorted(allowed))}."
                )
            expected = "positive" if base in _SCALE_PARAMS else "real"
            if prior.support != expected:
                kinds = SCALE_FAMILIES if expected == "positive" else LOCATION_FAMILIES
                raise PriorError(
                    f"'{name}' needs a prior on {'positive numbers' if expected == 'positive' else 'the real line'}, "
                    f"but {prior} is not one. Use one of: {', '.join(kinds)}."
                )

    def prior_names(self) -> tuple[str, ...]:
        """Names of the parameters that need a prior in this model."""
        names: list[str] = []
        if self.pooling == Pooling.NONE:
            names.append("theta")
        else:
            names.append("mu")
        if self.pooling == Pooling.PARTIAL:
            names.append("tau")
        if self.likelihood in (Likelihood.NORMAL, Likelihood.STUDENT_T):
            names.append("sigma")
        if self.likelihood == Likelihood.STUDENT_T:
            names.append("nu")
        names.extend(f"beta[{c}]" for c in self.covariates)
        return tuple(names)

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


_SCALE_PARAMS = {"tau", "sigma", "nu"}

# Which likelihood suits which kind of data (see hiermod.data.DataKind).
LIKELIHOODS_FOR_KIND: dict[str, tuple[Likelihood, ...]] = {
    "summary": (Likelihood.NORMAL_KNOWN_SE,),
    "gaussian": (Likelihood.NORMAL, Likelihood.STUDENT_T),
    "binomial": (Likelihood.BINOMIAL,),
    "poisson": (Likelihood.POISSON,),
}


def check_compatible(spec: ModelSpec, data) -> None:
    """Raise :class:`SpecError` when the likelihood does not fit the data kind or covariates are unknown."""
    kind = str(getattr(data.kind, "value", data.kind))
    allowed = LIKELIHOODS_FOR_KIND.get(kind, ())
    if spec.likelihood not in allowed:
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
    return LIKELIHOODS_FOR_KIND[str(getattr(kind, "value", kind))][0]
