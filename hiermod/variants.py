"""Model variants: several named models of the same data, fitted side by side.

A :class:`Variant` is a name, a :class:`~hiermod.spec.ModelSpec`, a method and the thresholds of
its falsification checks (:mod:`hiermod.check_thresholds`), stated before fitting. Variants come
from :func:`starting_set` (one click per data kind), from a ``variants.toml`` file
(:func:`load_variants`, written back by :func:`variants_to_toml`), or are built in code;
:func:`fit_variants` fits them all with one merged progress (:mod:`hiermod.orchestrate`).

``variants.toml`` holds one ``[[variant]]`` table per variant::

    [[variant]]
    name = "skeptical"
    likelihood = "normal_known_se"          # default: the data kind's usual likelihood
    pooling = "partial"
    parameterization = "non_centered"
    priors = { mu = "Normal(7.69, 5)", tau = "HalfNormal(5)" }
    checks = { max_rhat = 1.02 }            # overrides of hiermod.check_thresholds.THRESHOLDS
    method = "nuts"                          # any of hiermod.methods.METHODS

and any other ModelSpec setting (``covariates``, ``groups``, ``slopes``, ``population``,
``slope_correlation``, ``level_parameterizations``). Every error is a :class:`SpecError` naming
the variant (its name, or its position when it has none) and the key.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from . import limits
from .check_thresholds import THRESHOLDS, default_thresholds, validate_thresholds
from .errors import HiermodError, SpecError
from .families import for_kind
from .methods import METHODS, method_info
from .spec import ModelSpec, Prior, check_compatible, default_likelihood, parse_prior

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .jobs import Progress
    from .result import Fit
    from .settings import SamplerSettings

__all__ = ["Variant", "SPEC_KEYS", "VARIANT_KEYS", "starting_set", "load_variants", "variants_to_toml",
           "fit_variants", "check_variant", "robust_likelihood", "nice_step", "prior_text"]

SPEC_KEYS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ModelSpec) if f.name != "priors")
"""The ModelSpec settings a variant may set (everything but ``priors``, which has its own table)."""
VARIANT_KEYS: tuple[str, ...] = ("name", "method", "priors", "checks") + SPEC_KEYS
"""Every key a ``[[variant]]`` table may hold."""
_LIST_KEYS = ("covariates", "groups", "slopes", "level_parameterizations")


@dataclass(frozen=True)
class Variant:
    """One named model of the data: what to fit (``spec``), how (``method``, a name of
    :data:`hiermod.methods.METHODS`) and the thresholds its checks are judged by (every key of
    :data:`hiermod.check_thresholds.THRESHOLDS`, defaults where not overridden)."""

    name: str
    spec: ModelSpec
    method: str = "nuts"
    thresholds: dict = field(default_factory=default_thresholds)

    def __hash__(self) -> int:  # the thresholds dict as sorted items: a variant can key a cache
        return hash((self.name, self.spec, self.method, tuple(sorted(self.thresholds.items()))))

    def overrides(self) -> dict:
        """The thresholds that differ from the defaults (what ``checks`` in variants.toml holds)."""
        defaults = default_thresholds()
        return {k: v for k, v in self.thresholds.items() if v != defaults.get(k)}

    def to_dict(self) -> dict:
        """Plain JSON-able form: name, method, spec (:meth:`ModelSpec.to_dict`), thresholds."""
        return {"name": self.name, "method": self.method, "spec": self.spec.to_dict(),
                "thresholds": {k: list(v) if isinstance(v, tuple) else v for k, v in self.thresholds.items()}}


def _where(name: str | None, position: int) -> str:
    return f"variant '{name}'" if name else f"variant {position} (no name)"


def _key_error(where: str, key: str, message: str) -> SpecError:
    return SpecError(f"{where}, key '{key}': {message}")


# ------------------------------------------------------------------------------- starting set


def nice_step(x: float) -> float:
    """The largest number of the 1-2-5 series (1, 2, 5, 10, 20, 50, ...) not above ``x`` > 0."""
    if not x > 0 or not math.isfinite(x):
        raise SpecError(f"A prior scale must be a positive number; got {x!r}.")
    power = 10.0 ** math.floor(math.log10(x))
    step = max(m for m in (1.0, 2.0, 5.0, 10.0) if m * power <= x * (1 + 1e-12)) * power
    return float(f"{step:.12g}")


def robust_likelihood(kind) -> str | None:
    """The likelihood that makes the usual one of a data kind robust, asked of the family registry:
    a family of the same kind and link whose own parameters strictly extend the usual family's (it
    holds the usual one as a limit: Student-t's ``nu`` -> infinity is the normal, the negative
    binomial's ``phi`` -> infinity the Poisson). None when the kind has none (summary, binomial rows)."""
    usual, *others = for_kind(kind)
    robust = [f for f in others
              if f.link == usual.link and set(usual.param_names) < set(f.param_names)]
    return robust[0].name if robust else None


def _hierarchy(data: "GroupedData") -> dict:
    """The usual model's hierarchy for these data: every grouping column nested, every covariate."""
    groups = tuple(data.group_columns) if len(data.group_columns) > 1 else ()
    return {"groups": groups, "covariates": tuple(data.covariate_names)}


def _with_term_priors(spec: ModelSpec, location: Prior, scale: Prior) -> ModelSpec:
    """``spec`` with ``location`` on the outermost term's mu and ``scale`` on every level's tau
    (Beta/Gamma populations keep their defaults)."""
    priors: dict[str, Prior] = {}
    for term in spec.terms:
        if term.conjugate:
            continue
        if term.own_location and term.location in spec.prior_names():
            priors[term.location] = location
        if term.partial:
            priors[term.scale] = scale
    return spec.with_priors(**priors)


def starting_set(data: "GroupedData") -> list[Variant]:
    """A starting set of variants for these data, to edit freely.

    With ``m``, ``s`` the centre and scale of the outcome on the link scale
    (:func:`hiermod.priors.data_scale`: for summary data s = max(sd of the estimates, median se)),
    ``p`` the pooled estimate (the family's ``group_estimates``; precision-weighted for summary
    data) and ``step(x)`` the largest of 1, 2, 5 x 10^k not above x:

    * ``non-centered``: partial pooling, non-centered; mu ~ Normal(c, step(2 s)) with c = m
      rounded to a whole multiple of step(2 s), tau ~ HalfCauchy(step(s));
    * ``skeptical``: mu ~ Normal(p, step(s / 2)), tau ~ HalfNormal(step(s / 2)) (small
      differences between groups expected);
    * ``complete pooling``: one value for every group, mu as in ``non-centered``;
    * ``robust``: the non-centered variant with the kind's heavier-tailed likelihood
      (:func:`robust_likelihood`: Student-t rows for gaussian data, negative binomial for counts),
      or, for summary data (the se are known: robustness goes into the population), with a Student-t
      population theta_j ~ StudentT(nu_groups, mu, tau); none for binomial data.

    Eight schools (s = 11, m = 7.5, p = 7.69): mu ~ Normal(0, 20), tau ~ HalfCauchy(10);
    mu ~ Normal(7.69, 5), tau ~ HalfNormal(5); complete pooling; the Student-t population. Nested data get the tau priors
    on every level; covariates are kept in every variant.
    """
    from .priors import data_scale
    from .prior_families import nice

    likelihood = default_likelihood(data.kind)
    base = ModelSpec(likelihood, **_hierarchy(data))
    m, s = data_scale(data, likelihood)
    pooled = float(base.family.group_estimates(data)[2])
    wide = nice_step(2 * s)
    centre = float(f"{round(m / wide) * wide + 0.0:.12g}")  # + 0.0: no "-0"
    weak_mu, weak_tau = Prior("Normal", (centre, wide)), Prior("HalfCauchy", (nice_step(s),))
    tight = nice_step(s / 2)
    specs = {
        "non-centered": _with_term_priors(base, weak_mu, weak_tau),
        "skeptical": _with_term_priors(base, Prior("Normal", (nice(pooled), tight)), Prior("HalfNormal", (tight,))),
    }
    specs["complete pooling"] = _with_term_priors(base.replace(pooling="complete"), weak_mu, weak_tau)
    robust = robust_likelihood(data.kind)
    if robust is not None:
        specs["robust"] = _with_term_priors(base.replace(likelihood=robust), weak_mu, weak_tau)
    elif base.family.normal_known_se and not base.nested and not base.row_term.slopes:
        # summary data: no heavier-tailed likelihood (the se are known), so a Student-t population
        specs["robust"] = _with_term_priors(base.replace(population="student_t"), weak_mu, weak_tau)
    out = [Variant(name, spec) for name, spec in specs.items()]
    for v in out:
        check_compatible(v.spec, data)
    return out


# ---------------------------------------------------------------------------------- TOML in


def _read_source(source: "str | Path | bytes") -> tuple[str, str]:
    """(TOML text, where it came from): a Path or an existing file's name is read, other text is TOML."""
    if isinstance(source, bytes):
        source = source.decode("utf-8", errors="strict")
    if isinstance(source, str) and ("\n" in source or "[" in source or "=" in source or not source.strip()):
        return source, "the variants"
    path = Path(source)
    if not path.is_file():
        raise SpecError(f"Variants file not found: {str(source)!r}. Give a variants.toml file or its text.")
    if path.stat().st_size > limits.MAX_BYTES:
        raise SpecError(f"{path.name} is larger than {limits.MAX_BYTES // 2**20} MB; a variants file is a few lines.")
    try:
        return path.read_text(encoding="utf-8"), path.name
    except UnicodeDecodeError as exc:
        raise SpecError(f"{path.name} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None


def load_variants(source: "str | Path | bytes", data: "GroupedData | None" = None) -> list[Variant]:
    """Variants from TOML text, bytes or a file path (see the module docstring for the format).

    With ``data``, each variant is checked against it (:func:`hiermod.spec.check_compatible`, and
    its method must serve the model) and ``likelihood`` defaults to the kind's usual one; without,
    ``likelihood`` is required. At most :data:`hiermod.limits.MAX_VARIANTS` variants, names unique.
    """
    text, origin = _read_source(source)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{origin} is not valid TOML: {exc}. Each variant is a [[variant]] table of "
                        "key = value lines, e.g. name = \"skeptical\".") from None
    extra = [k for k in document if k != "variant"]
    if extra:
        raise SpecError(f"{origin}: unknown top-level key '{extra[0]}'; put every setting inside a "
                        "[[variant]] table.")
    tables = document.get("variant", [])
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise SpecError(f"{origin} holds no variants; write one [[variant]] table per variant.")
    if len(tables) > limits.MAX_VARIANTS:
        raise SpecError(f"{origin} has {len(tables)} variants; at most {limits.MAX_VARIANTS} are fitted "
                        "side by side. Remove some.")
    out: list[Variant] = []
    seen: dict[str, int] = {}
    for position, table in enumerate(tables, start=1):
        variant = _variant_from_table(table, position, data)
        if variant.name in seen:
            raise _key_error(_where(variant.name, position), "name",
                             f"the name is already used by variant {seen[variant.name]}; give each variant its own name.")
        seen[variant.name] = position
        out.append(variant)
    return out


def _variant_from_table(table: Mapping[str, Any], position: int, data) -> Variant:
    name = table.get("name")
    where = _where(name if isinstance(name, str) and name.strip() else None, position)
    unknown = [k for k in table if k not in VARIANT_KEYS]
    if unknown:
        raise _key_error(where, unknown[0], f"unknown key. Use: {', '.join(VARIANT_KEYS)}.")
    if not isinstance(name, str) or not name.strip():
        raise _key_error(where, "name", "every variant needs a name, e.g. name = \"skeptical\".")
    name = " ".join(name.split())
    if len(name) > limits.MAX_LABEL_CHARS:
        raise _key_error(where, "name", f"a name has at most {limits.MAX_LABEL_CHARS} characters.")
    where = _where(name, position)
    settings = {k: _setting(where, k, table[k]) for k in SPEC_KEYS if k in table}
    if "likelihood" not in settings:
        if data is None:
            raise _key_error(where, "likelihood", "give the likelihood (or load the variants with the data).")
        settings["likelihood"] = default_likelihood(data.kind).value
    spec = _spec(where, settings, _priors(where, table.get("priors", {})))
    method = table.get("method", "nuts")
    if not isinstance(method, str) or method not in METHODS:
        raise _key_error(where, "method", f"unknown method {method!r}; use one of: {', '.join(METHODS)}.")
    checks = table.get("checks", {})
    if not isinstance(checks, dict):
        raise _key_error(where, "checks", "write the checks as a table, e.g. checks = { max_rhat = 1.02 }.")
    thresholds = validate_thresholds(checks, f"{where}, key 'checks'")
    if data is not None:
        _check_against(where, spec, settings, method, data)
    return Variant(name, spec, method, thresholds)


def _setting(where: str, key: str, value):
    """A ModelSpec setting as TOML gave it: text, or (for the list keys) text or a list of texts."""
    if key in _LIST_KEYS:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) for v in items):
            raise _key_error(where, key, f"give a list of column names or values, e.g. {key} = [\"a\", \"b\"]; "
                                         f"got {value!r}.")
        return tuple(items)
    if not isinstance(value, str):
        raise _key_error(where, key, f"give text, e.g. {key} = \"...\"; got {value!r}.")
    return value


def _priors(where: str, table) -> dict[str, Prior]:
    if not isinstance(table, dict):
        raise _key_error(where, "priors", "write the priors as a table, e.g. "
                                          "priors = { mu = \"Normal(0, 20)\", tau = \"HalfCauchy(10)\" }.")
    out = {}
    for name, text in table.items():
        if not isinstance(text, str):
            raise _key_error(where, f"priors.{name}", f"give the prior as text, e.g. \"HalfCauchy(10)\"; got {text!r}.")
        try:
            out[str(name)] = parse_prior(text)
        except HiermodError as exc:
            raise _key_error(where, f"priors.{name}", str(exc)) from None
    return out


def _spec(where: str, settings: dict, priors: dict[str, Prior]) -> ModelSpec:
    """The ModelSpec, each failure pinned to its key: the likelihood, each other setting with it
    (``level_parameterizations`` with ``groups``), all together, then each prior."""
    likelihood = settings["likelihood"]
    trials = [("likelihood", {})] + [
        (key, {key: value} | ({"groups": settings["groups"]} if key == "level_parameterizations"
                              and "groups" in settings else {}))
        for key, value in settings.items() if key != "likelihood"]
    for key, changes in trials:
        try:
            ModelSpec(likelihood, **changes)
        except HiermodError as exc:
            raise _key_error(where, key, str(exc)) from None
    try:
        spec = ModelSpec(**settings)
    except HiermodError as exc:
        raise SpecError(f"{where}, keys {', '.join(settings)}: {exc}") from None
    for name, prior in priors.items():
        try:
            dataclasses.replace(spec, priors=((name, prior),))
        except HiermodError as exc:
            raise _key_error(where, f"priors.{name}", str(exc)) from None
    return dataclasses.replace(spec, priors=tuple(priors.items()))


def _check_against(where: str, spec: ModelSpec, settings: dict, method: str, data) -> None:
    """The variant on these data: its likelihood, then covariates and slopes, then the hierarchy,
    then its method, each error naming the key."""
    flat = {"pooling": "complete"}  # no minimum number of groups: the probes test one thing each
    stages = (("likelihood", ModelSpec(spec.likelihood, **flat)),
              (" / ".join(k for k in ("covariates", "slopes") if k in settings) or "covariates",
               ModelSpec(spec.likelihood, covariates=spec.covariates + spec.slopes, **flat)),
              (" / ".join(k for k in ("pooling", "groups", "population") if k in settings) or "pooling", spec))
    for key, probe in stages:
        try:
            check_compatible(probe, data)
        except HiermodError as exc:
            raise _key_error(where, key, str(exc)) from None
    reason = method_info(method).unavailable_reason(data.for_groups(spec.groups), spec)
    if reason:
        raise _key_error(where, "method", f"the {method} method cannot fit this model: {reason}")


# --------------------------------------------------------------------------------- TOML out

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value) -> str:
    """A TOML value: JSON's string escapes are TOML's basic-string escapes; floats as repr."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(getattr(value, "value", value)), ensure_ascii=False)


def _exact(x: float | None) -> str:
    """Shortest text that reads back to the same float ("5", not "5.0")."""
    if x is None:
        return ""
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def prior_text(prior: Prior) -> str:
    """A prior's text with every number in full (``str(prior)`` keeps 6 digits), which
    :func:`~hiermod.spec.parse_prior` reads back to the same prior."""
    text = f"{prior.family}({', '.join(_exact(a) for a in prior.args)})"
    return f"{text} T({_exact(prior.lower)}, {_exact(prior.upper)})" if prior.bounded else text


def _inline(table: Mapping) -> str:
    return "{ " + ", ".join(f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in table.items()) + " }"


def variants_to_toml(variants: Sequence[Variant]) -> str:
    """``variants.toml`` text that :func:`load_variants` reads back to the same variants: every
    setting that differs from ModelSpec's default, the priors as text, the checks that differ
    from :data:`~hiermod.check_thresholds.THRESHOLDS`' defaults."""
    defaults = ModelSpec(variants[0].spec.likelihood).to_dict() if variants else {}
    blocks = []
    for v in variants:
        d = v.spec.to_dict()
        lines = ["[[variant]]", f"name = {_toml_value(v.name)}", f"method = {_toml_value(v.method)}",
                 f"likelihood = {_toml_value(d['likelihood'])}"]
        for key in SPEC_KEYS:
            if key != "likelihood" and key in d and (d[key] != defaults.get(key) or key in ("pooling", "parameterization")):
                lines.append(f"{key} = {_toml_value(d[key])}")
        if v.spec.priors:
            lines.append(f"priors = {_inline({k: prior_text(p) for k, p in v.spec.priors})}")
        overrides = v.overrides()
        if overrides:
            lines.append(f"checks = {_inline(overrides)}")
        blocks.append("\n".join(lines))
    header = ("# Model variants for hiermod (python -m hiermod compare DATA --variants variants.toml).\n"
              f"# Keys: {', '.join(VARIANT_KEYS)}.\n"
              f"# checks: overrides of {', '.join(THRESHOLDS)}.\n")
    return header + "\n" + "\n\n".join(blocks) + "\n"


# ---------------------------------------------------------------------------------- fitting


def check_variant(variant: Variant, data: "GroupedData", position: int = 1) -> None:
    """SpecError naming the variant and the key when ``variant`` cannot be fitted to ``data`` (its
    likelihood, covariates, hierarchy, or method)."""
    _check_against(_where(variant.name, position), variant.spec, {}, variant.method, data)


def fit_variants(data: "GroupedData", variants: Sequence[Variant], settings: "SamplerSettings", *,
                 progress: "Callable[[Progress], None] | None" = None, cancel: Any = None,
                 done: "Callable[[str, Fit], None] | None" = None,
                 cached: "Mapping[str, Fit] | None" = None) -> dict[str, "Fit"]:
    """Fit every variant in order with its own method: {name: Fit}. ``progress`` receives ONE merged
    Progress ("Fit 2 of 4: skeptical (sampling)"), ``done(name, fit)`` is called as each finishes,
    names in ``cached`` are not refitted (:func:`hiermod.orchestrate.fit_structures`)."""
    from .orchestrate import fit_structures

    variants = list(variants)
    if not variants:
        raise SpecError("Give at least one variant to fit.")
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise SpecError(f"variant '{twice}' is listed twice; give each variant its own name.")
    if len(variants) > limits.MAX_VARIANTS:
        raise SpecError(f"{len(variants)} variants; at most {limits.MAX_VARIANTS} are fitted side by side.")
    for position, v in enumerate(variants, start=1):
        check_variant(v, data, position)
    return fit_structures(data, {v.name: v.spec for v in variants}, settings,
                          method={v.name: v.method for v in variants}, progress=progress,
                          cancel=cancel, cached=cached, done=done)
