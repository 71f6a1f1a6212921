"""Share links: a model (sample data set, column roles, ModelSpec, sampler settings, method) as a flat
dict of short, readable query parameters, and back. Pure: no Streamlit (the glue is ui/share_links.py).

    ?v=1&data=eight_schools&lik=normal_known_se&pool=partial&param=non_centered
     &prior.mu=Normal(0,5)&prior.tau=HalfCauchy(5)&chains=4&warmup=1000&draws=1000&seed=0
     &accept=0.9&method=nuts

Uploaded data never go into a link: ``data=upload`` says the data must be uploaded again (the link
keeps the column roles, ``col.*``, so they can be applied to the file). Numbers are written in their
shortest exact form, so a decoded spec equals the encoded one.

Decoding is strict but forgiving: an unknown or malformed parameter gives a message naming it and
is ignored; the rest of the link still applies. :func:`decode` never raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping
from urllib.parse import quote, urlencode

from .columns import ColumnMap, DataKind
from .datasets import dataset_info, dataset_names
from .errors import HiermodError
from .families import Likelihood
from .methods import METHODS
from .prior_families import Prior, parse_prior
from .settings import START_CHOICES, SamplerSettings
from .spec import ModelSpec, Parameterization, Pooling, Population, SlopeCorrelation

VERSION = "1"
UPLOAD = "upload"
"""``data=upload``: the link was made with an uploaded file, which the link does not carry."""
PRIOR_PREFIX = "prior."
COLUMN_ROLES = ("kind", "group", "y", "se", "trials", "exposure", "cov")
"""``col.<role>``: the Data page's column roles (``group``: every grouping column, outermost first)."""
SETTING_KEYS = {"chains": "chains", "warmup": "warmup", "draws": "draws", "seed": "seed",
                "accept": "target_accept", "depth": "max_tree_depth"}
"""Link parameter -> :class:`SamplerSettings` field."""
STRUCTURE_KEYS = ("lik", "pool", "param", "param.levels", "groups", "cov", "slopes", "corr", "pop")
"""Link parameters of the model's structure (everything of a ModelSpec but its priors)."""
START_KEY = "start"
"""Where NUTS chains start (:data:`~hiermod.settings.START_CHOICES`); written only when not the default."""
KNOWN = ("v", "data", *(f"col.{r}" for r in COLUMN_ROLES), *STRUCTURE_KEYS, *SETTING_KEYS, START_KEY, "method")
_URL_SAFE = "(),[]"  # kept as they are, so priors read as written: prior.tau=HalfCauchy(5)


@dataclass(frozen=True)
class SharedModel:
    """What a link carries. ``dataset``: a sample's name, :data:`UPLOAD`, or None (no data named).
    ``columns``: column roles (None: the sample's own, or those guessed for an upload). ``spec``:
    the model with the priors the link gives (the others are the data's defaults). ``settings`` and
    ``method``: None when the link gives none."""

    dataset: str | None = None
    columns: ColumnMap | None = None
    spec: ModelSpec | None = None
    settings: SamplerSettings | None = None
    method: str | None = None

    @property
    def uploaded(self) -> bool:
        return self.dataset == UPLOAD


@dataclass(frozen=True)
class Decoded:
    """A decoded link (None when the address carries no link parameter) and one message per
    parameter that was ignored, each naming it."""

    link: SharedModel | None
    problems: tuple[str, ...] = ()


# ------------------------------------------------------------------------------------- encode


def _number(x: float) -> str:
    """The shortest text that reads back as exactly ``x`` (5, not 5.0)."""
    x = float(x)
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


def prior_text(prior: Prior) -> str:
    """``Normal(0,5)``, ``HalfNormal(3)T(,10)``: :func:`parse_prior` reads it back exactly."""
    text = f"{prior.family}({','.join(_number(a) for a in prior.args)})"
    if prior.bounded:
        lo = "" if prior.lower is None else _number(prior.lower)
        hi = "" if prior.upper is None else _number(prior.upper)
        text += f"T({lo},{hi})"
    return text


def _join(names: Iterable[str]) -> str:
    """A comma list; a name's own ``%`` and ``,`` are escaped (``%25``, ``%2C``)."""
    return ",".join(str(n).replace("%", "%25").replace(",", "%2C") for n in names)


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.replace("%2C", ",").replace("%25", "%") for p in text.split(",") if p != "")


def _column_params(columns: ColumnMap) -> dict[str, str]:
    out = {"col.kind": columns.kind.value, "col.group": _join(columns.group_columns), "col.y": columns.y}
    out |= {f"col.{role}": col for role, col in columns.roles().items() if role in ("se", "trials", "exposure")}
    if columns.covariates:
        out["col.cov"] = _join(columns.covariates)
    return out


def encode(shared: SharedModel) -> dict[str, str]:
    """The link's parameters, in a fixed order. Column roles are written for an upload always and
    for a sample only when they differ from the sample's own."""
    out = {"v": VERSION}
    if shared.dataset is not None:
        out["data"] = shared.dataset
    if shared.columns is not None and (shared.uploaded or shared.dataset is None
                                       or shared.columns != dataset_info(shared.dataset).columns):
        out |= _column_params(shared.columns)
    spec = shared.spec
    if spec is not None:
        out |= {"lik": spec.likelihood.value, "pool": spec.pooling.value, "param": spec.parameterization.value}
        if spec.level_parameterizations:
            out["param.levels"] = _join(p.value for p in spec.level_parameterizations)
        common = [c for c in spec.covariates if c not in spec.slopes]
        for key, names in (("groups", spec.groups), ("cov", common), ("slopes", spec.slopes)):
            if names:
                out[key] = _join(names)
        if spec.slopes:
            out["corr"] = spec.slope_correlation.value
        if spec.population != Population.NORMAL:
            out["pop"] = spec.population.value
        out |= {PRIOR_PREFIX + name: prior_text(prior) for name, prior in spec.priors}
    if shared.settings is not None:
        out |= {key: _number(getattr(shared.settings, field)) for key, field in SETTING_KEYS.items()
                if getattr(shared.settings, field) is not None}  # warmup None: automatic
        if shared.settings.start != SamplerSettings().start:
            out[START_KEY] = shared.settings.start
    if shared.method is not None:
        out["method"] = shared.method
    return out


def query_string(params: Mapping[str, str]) -> str:
    """``a=b&c=d`` with ``( ) , [ ]`` left readable (everything else percent-encoded as usual)."""
    return urlencode(params, safe=_URL_SAFE, quote_via=quote)


# ------------------------------------------------------------------------------------- decode


class _Reader:
    """The link's parameters, each read at most once; problems collected, naming the parameter."""

    def __init__(self, params: Mapping[str, "str | list[str]"]):
        self.values: dict[str, str] = {}
        self.problems: list[str] = []
        for key, value in params.items():
            key = str(key)
            if isinstance(value, (list, tuple)):
                if len(value) > 1:
                    self.problems.append(f"'{key}' is given {len(value)} times; the last one is used.")
                value = value[-1] if value else ""
            self.values[key] = str(value).strip()

    def get(self, key: str) -> str | None:
        value = self.values.get(key)
        if value == "":
            self.problems.append(f"'{key}' is ignored: it is empty.")
            return None
        return value

    def bad(self, key: str, why: str) -> None:
        """``'key=value' is ignored: why.``"""
        why = str(why).rstrip(". ")
        self.problems.append(f"'{key}={self.values.get(key, '')}' is ignored: {why}.")

    def choice(self, key: str, enum, default):
        value = self.get(key)
        if value is None:
            return default
        try:
            return enum(value)
        except ValueError:
            self.bad(key, f"use one of {', '.join(e.value for e in enum)}")
            return default


def _decode_dataset(r: _Reader) -> str | None:
    name = r.get("data")
    if name is None or name == UPLOAD or name in dataset_names():
        return name
    r.bad("data", f"there is no such sample data set; the samples are {', '.join(dataset_names())} "
                  f"(or {UPLOAD}: a file to upload)")
    return None


def _decode_columns(r: _Reader) -> ColumnMap | None:
    given = [f"col.{role}" for role in COLUMN_ROLES if f"col.{role}" in r.values]
    if not given:
        return None
    kind = r.choice("col.kind", DataKind, None)
    groups = _split(r.get("col.group") or "")
    y = r.get("col.y")
    missing = [k for k, v in (("col.kind", kind), ("col.group", groups), ("col.y", y)) if not v]
    if missing:
        r.problems.append(f"The column roles ({', '.join(given)}) need {', '.join(missing)} as well; "
                          "they are ignored.")
        return None
    try:
        return ColumnMap(group=groups[-1], outer_groups=groups[:-1], y=y, kind=kind,
                         se=r.get("col.se") if "col.se" in r.values else None,
                         trials=r.get("col.trials") if "col.trials" in r.values else None,
                         exposure=r.get("col.exposure") if "col.exposure" in r.values else None,
                         covariates=_split(r.values.get("col.cov", "")))
    except HiermodError as exc:
        r.problems.append(f"The column roles (col.*) are ignored: {exc}")
        return None


def _decode_structure(r: _Reader, dataset: str | None) -> ModelSpec | None:
    """The spec without priors, or None (no likelihood known, or the combination is refused)."""
    given = [k for k in STRUCTURE_KEYS if k in r.values] + [k for k in r.values if k.startswith(PRIOR_PREFIX)]
    lik = r.get("lik")
    if lik is None and dataset not in (None, UPLOAD):
        lik = dataset_info(dataset).likelihood if given else None
    if lik is None:
        if given:
            r.problems.append(f"The model settings ({', '.join(given)}) need the likelihood 'lik' as "
                              "well; they are ignored.")
        return None
    fields = {}
    try:
        fields["likelihood"] = Likelihood(lik)
    except ValueError:
        r.bad("lik", f"use one of {', '.join(x.value for x in Likelihood)}; without it the link's "
                     "model settings are ignored too")
        return None
    fields["pooling"] = r.choice("pool", Pooling, Pooling.PARTIAL)
    fields["parameterization"] = r.choice("param", Parameterization, Parameterization.NON_CENTERED)
    fields["slope_correlation"] = r.choice("corr", SlopeCorrelation, SlopeCorrelation.LKJ)
    fields["population"] = r.choice("pop", Population, Population.NORMAL)
    for key in ("groups", "cov", "slopes"):
        value = r.get(key)
        fields[{"cov": "covariates"}.get(key, key)] = _split(value) if value else ()
    levels = r.get("param.levels")
    if levels:
        try:
            fields["level_parameterizations"] = tuple(Parameterization(p) for p in _split(levels))
        except ValueError:
            r.bad("param.levels", f"give one of {', '.join(p.value for p in Parameterization)} per "
                                  "grouping level, separated by commas")
    try:
        return ModelSpec(**fields)
    except HiermodError as exc:
        if "level_parameterizations" in fields:  # a wrong number of levels: one choice for all
            r.bad("param.levels", f"it does not fit the grouping levels: {exc}")
            fields.pop("level_parameterizations")
            try:
                return ModelSpec(**fields)
            except HiermodError as exc2:
                exc = exc2
        r.problems.append(f"The model in the link ({', '.join(k for k in STRUCTURE_KEYS if k in r.values)}) "
                          f"is refused, so the model settings are ignored: {exc}")
        return None


def _decode_priors(r: _Reader, spec: ModelSpec) -> ModelSpec:
    """``spec`` with every ``prior.<name>`` that parses and fits the model; the others named."""
    for key in sorted(k for k in r.values if k.startswith(PRIOR_PREFIX)):
        name, text = key[len(PRIOR_PREFIX):], r.get(key)
        if text is None:
            continue
        try:
            spec = spec.with_priors(**{name: parse_prior(text)})
        except HiermodError as exc:
            r.bad(key, exc)
    return spec


def _decode_settings(r: _Reader) -> SamplerSettings | None:
    values = {}
    for key, field in SETTING_KEYS.items():
        text = r.get(key)
        if text is None:
            continue
        try:
            number = float(text)
            if not math.isfinite(number) or (field != "target_accept" and not number.is_integer()):
                raise ValueError
            value = number if field == "target_accept" else int(number)
            SamplerSettings(**{field: value})  # the field's own range, alone
        except HiermodError as exc:  # (a ValueError too: caught first)
            r.bad(key, exc)
            continue
        except ValueError:
            r.bad(key, "write a number like 0.9" if field == "target_accept" else
                  "write a whole number like 4")
            continue
        values[field] = value
    start = r.get(START_KEY)
    if start is not None and start not in START_CHOICES:
        r.bad(START_KEY, f"write one of {', '.join(START_CHOICES)}")
    elif start is not None:
        values["start"] = start
    return SamplerSettings(**values) if values else None


def _decode_method(r: _Reader) -> str | None:
    method = r.get("method")
    choices = [name for name, m in METHODS.items() if not m.exact]
    if method is None or method in choices:
        return method
    r.bad("method", f"use one of {', '.join(choices)}")
    return None


def decode(params: Mapping[str, "str | list[str]"]) -> Decoded:
    """The model a link's parameters describe, and a message for each parameter ignored (unknown,
    malformed, out of range, or not fitting the model). Never raises."""
    r = _Reader(params)
    if not any(k in KNOWN or k.startswith(PRIOR_PREFIX) for k in r.values):
        return Decoded(None, ())
    for key in r.values:
        if key not in KNOWN and not key.startswith(PRIOR_PREFIX):
            r.problems.append(f"'{key}' is ignored: it is not a link parameter; a link knows "
                              f"{', '.join(KNOWN)} and prior.<parameter>.")
    version = r.values.get("v")
    if version is not None and version != VERSION:
        r.problems.append(f"'v={version}': this hiermod reads links of version {VERSION}; the "
                          "parameters it recognises are applied.")
    dataset = _decode_dataset(r)
    columns = _decode_columns(r)
    spec = _decode_structure(r, dataset)
    if spec is not None:
        spec = _decode_priors(r, spec)
    link = SharedModel(dataset=dataset, columns=columns, spec=spec, settings=_decode_settings(r),
                       method=_decode_method(r))
    return Decoded(link, tuple(r.problems))
