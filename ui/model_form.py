"""The Model page's logic that is not layout: choices read from the registries, the structure the
widgets ask for, and prior bounds typed as text. No widgets here (the page draws them)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hiermod import families, populations
from hiermod.errors import PriorError
from hiermod.prior_families import CORRELATION_FAMILIES, LOCATION_FAMILIES, SCALE_FAMILIES, Prior
from hiermod.terms import GroupTerm, Population

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.data import GroupedData
    from hiermod.spec import ModelSpec

# likelihood name -> the conjugate populations its registry entry in hiermod.populations names
_POPULATIONS_BY_FAMILY: dict[str, list[str]] = {}
for _pop in populations.POPULATIONS.values():
    _POPULATIONS_BY_FAMILY.setdefault(_pop.likelihood, []).append(_pop.name)


def population_choices(likelihood) -> list[str]:
    """``normal`` and ``student_t`` (every likelihood) plus the conjugate populations declared for
    this likelihood."""
    return ([Population.NORMAL.value, Population.STUDENT_T.value]
            + _POPULATIONS_BY_FAMILY.get(str(getattr(likelihood, "value", likelihood)), []))


def has_parameterization(pooling, population) -> bool:
    """Whether the centered / non-centered choice matters: partial pooling with a normal or
    Student-t population (the group term's own rule)."""
    return GroupTerm(pooling=pooling, parameterization="non_centered", population=population).non_centered


def population_title(likelihood) -> str:
    """The radio's title: what the groups' values are (probabilities, rates)."""
    names = _POPULATIONS_BY_FAMILY.get(str(getattr(likelihood, "value", likelihood)), [])
    word = populations.get(names[0]).value_label if names else "value"
    plural = word[:-1] + "ies" if word.endswith("y") else word + "s"
    return f"Population of the groups' {plural}"


def population_text(likelihood, name: str) -> str:
    """A population's label: normal or Student-t on the family's link scale, or the conjugate's own."""
    scale = families.LINKS[families.get(likelihood).link].scale_name
    scale = scale if scale.endswith("scale") else f"{scale} scale"  # "data scale", "log-odds scale"
    if name == Population.NORMAL.value:
        return f"Normal on the {scale}"
    if name == Population.STUDENT_T.value:
        return f"Student-t on the {scale} (robust: heavy tails, degrees of freedom nu_groups)"
    pop = populations.get(name)
    return f"{pop.label} (conjugate): each group's {pop.value} ~ {pop.label}(alpha, beta)"


def prior_families_for(spec: "ModelSpec", name: str) -> tuple[str, ...]:
    """The prior families a parameter may take, by its support."""
    if name in spec.correlation_names():
        return CORRELATION_FAMILIES
    if name in spec.scale_names():
        return SCALE_FAMILIES
    return LOCATION_FAMILIES


def ordered_groups(data: "GroupedData", chosen) -> tuple[str, ...]:
    """The chosen grouping columns in the data's order (outermost first)."""
    chosen = set(chosen)
    return tuple(c for c in data.group_columns if c in chosen)


def spec_groups(data: "GroupedData", spec: "ModelSpec") -> tuple[str, ...]:
    """The grouping columns ``spec`` uses, written out (empty ``groups``: the innermost one)."""
    return tuple(spec.groups) or data.group_columns[-1:]


def level_parameterizations(spec: "ModelSpec") -> dict[str, str]:
    """Grouping column -> the parameterization ``spec`` gives it."""
    groups = spec.groups or ("",)
    levels = spec.level_parameterizations or (spec.parameterization,) * len(groups)
    return {g: p.value for g, p in zip(groups, levels)}


def structure(spec: "ModelSpec") -> tuple:
    """What ``spec`` fits, priors aside (to tell whether the widgets changed it): the likelihood,
    covariates and group terms (so ``level_parameterizations`` () and the same choice written out
    per level count as one structure)."""
    return (spec.likelihood, spec.covariates, spec.terms, spec.pooling, spec.parameterization)


def read_bound(text: str | None, side: str, name: str) -> float | None:
    """A bound typed into the editor: empty is no bound; anything else must be a number."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise PriorError(f"{name}: the {side} bound '{text}' is not a number; type a number like 0 or 2.5, "
                         "or leave it empty for no bound.") from None
    return value


def make_prior(family: str, args: tuple[float, ...], lower: str | None, upper: str | None, name: str) -> Prior:
    """The prior the editor's fields describe (bounds as text, empty = none)."""
    return Prior(family, args, read_bound(lower, "lower", name), read_bound(upper, "upper", name))


def default_prior_args(data: "GroupedData", spec: "ModelSpec", name: str, family: str) -> tuple[float, ...]:
    """Reasonable starting numbers when the user switches a prior to another family (scaled by
    the data: centre and spread from :func:`hiermod.priors.data_scale`)."""
    from hiermod.priors import data_scale

    centre, spread = data_scale(data, spec.likelihood)
    base = name.split("[", 1)[0]
    loc = 0.0 if base == "beta" else centre
    width = 2.5 * spread
    scale = {"tau": spread, "sigma": 2.5 * spread, "nu": 20.0}.get(base.split("_", 1)[0], width)
    table = {
        "Normal": (loc, width), "StudentT": (3.0, loc, width), "Cauchy": (loc, width),
        "HalfNormal": (scale,), "HalfCauchy": (scale,), "HalfStudentT": (3.0, scale),
        "Exponential": (1.0 / scale,), "Gamma": (2.0, 2.0 / scale),
        "InverseGamma": (3.0, 2.0 * scale), "LogNormal": (math.log(scale), 1.0),
        "Uniform": (0.0, 10.0 * scale), "LKJ": (2.0,),
    }
    return tuple(float(f"{v:.3g}") for v in table[family])


def bound_text(value: float | None) -> str:
    return "" if value is None else f"{value:g}"
