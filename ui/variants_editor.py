"""The Model variants page's editor: the variant set as the user writes it, kept as text.

The set lives in session state as *rows* (plain dicts of what the widgets hold: texts and choices),
never only as :class:`hiermod.variants.Variant` objects, so a bad prior text or a duplicate name is
shown as an error naming the variant and the setting while every edit is kept. Each row is written
out as one ``[[variant]]`` table of ``variants.toml`` and read back by
:func:`hiermod.variants.load_variants` (the one place that validates a variant); the whole set is
read once more to catch duplicate names and the size limit.

Session keys (plain, non-widget; widgets are ``w_var_<row id>_<field>``):

Key                 Type                 Meaning
------------------  -------------------  ---------------------------------------------------------
``hm_var_rows``     list[dict]           the variants as written: id, name, likelihood, pooling,
                                         parameterization, population, method, priors {name: text},
                                         checks {key: text}, structure {other ModelSpec settings}
``hm_var_next_id``  int                  the next row id (ids are never reused: widget keys stay apart)
``hm_var_upload``   dict | None          {"digest", "error"} of the last variants.toml uploaded
``hm_var_data``     str | None           fingerprint of the data the set was started or loaded for
``hm_var_notice``   str | None           a button's problem to show once (starting set, suggestion)
``hm_var_added``    str | None           the name of a suggested variant just added (said once)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

from ui import components

if TYPE_CHECKING:  # pragma: no cover
    from hiermod.data import GroupedData
    from hiermod.spec import ModelSpec
    from hiermod.variants import Variant

ROWS = "hm_var_rows"
NEXT_ID = "hm_var_next_id"
UPLOAD = "hm_var_upload"
DATA_FP = "hm_var_data"
NOTICE = "hm_var_notice"
ADDED = "hm_var_added"

CHOICES = ("likelihood", "pooling", "parameterization", "population", "method")
"""The settings chosen from a list, in the order the editor shows them."""
STRUCTURE = ("covariates", "groups", "level_parameterizations", "slopes", "slope_correlation")
"""The other ModelSpec settings: carried as they came (starting set, Model page, uploaded file)."""


def _ss():
    return st.session_state


def rows() -> list[dict]:
    """The variant rows of this session (created empty)."""
    ss = _ss()
    if ROWS not in ss:
        ss[ROWS] = []
    return ss[ROWS]


def _new_id() -> int:
    ss = _ss()
    ss[NEXT_ID] = ss.get(NEXT_ID, 0) + 1
    return ss[NEXT_ID]


def widget_key(row_id: int, field: str) -> str:
    return f"w_var_{row_id}_{field}"


# ------------------------------------------------------------------------------- rows <-> variants


def _number_text(x: Any) -> str:
    text = repr(float(x))
    return text[:-2] if text.endswith(".0") else text


def _threshold_text(value: Any) -> str:
    """A threshold as the editor shows it: a number, ``low, high`` for a range, "" for none."""
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return ", ".join(_number_text(v) for v in value)
    return _number_text(value)


def row_from_variant(variant: "Variant") -> dict:
    """A new editor row holding ``variant`` (priors in full precision, checks that differ from the
    defaults)."""
    from hiermod.variants import prior_text

    d = variant.spec.to_dict()
    return {"id": _new_id(), "name": variant.name, "method": variant.method,
            **{k: d[k] for k in CHOICES if k != "method"},
            "priors": {k: prior_text(p) for k, p in variant.spec.priors},
            "checks": {k: _threshold_text(v) for k, v in variant.overrides().items()},
            "structure": {k: d[k] for k in STRUCTURE}}


def sync_row(row: dict) -> None:
    """Copy the row's widget values (when shown) into the row: the row always holds the latest edit."""
    ss = _ss()
    for field in ("name",) + CHOICES:
        key = widget_key(row["id"], field)
        if key in ss:
            row[field] = ss[key]
    for part in ("priors", "checks"):
        prefix = widget_key(row["id"], part[:-1] + "_")
        for key in [k for k in ss.keys() if isinstance(k, str) and k.startswith(prefix)]:
            row[part][key[len(prefix):]] = ss[key]


def _toml_text(value: Any) -> str:
    """A TOML value of the editor's texts: JSON's string escapes are TOML basic-string escapes."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_text(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _inline(table: dict) -> str:
    return "{ " + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {_toml_text(v)}"
                            for k, v in table.items()) + " }"


def _probe(row: dict) -> "ModelSpec | None":
    """The row's model without priors (None when its settings do not make a model: the error
    then comes from load_variants, naming the setting)."""
    from hiermod.errors import HiermodError
    from hiermod.spec import ModelSpec

    try:
        return ModelSpec(**{k: row[k] for k in CHOICES if k != "method"}, **row["structure"])
    except (HiermodError, TypeError, ValueError):
        return None


def prior_names(row: dict) -> tuple[str, ...]:
    """The parameters of the row's model that take a prior (empty when its settings are broken)."""
    probe = _probe(row)
    return probe.prior_names() if probe is not None else ()


def _checks_value(text: str, is_range: bool):
    """A threshold text for variants.toml: ``low, high`` becomes a list (validated, like every
    threshold, by hiermod.check_thresholds.validate_thresholds when the variant is read)."""
    return [part.strip() for part in text.split(",")] if is_range else text.strip()


def row_toml(row: dict) -> str:
    """The row as one ``[[variant]]`` table: its settings, the priors of its model that are written
    (blank: the data-scaled default), the thresholds that are written (blank: the default)."""
    from hiermod.check_thresholds import THRESHOLDS

    names = prior_names(row)
    priors = {k: v.strip() for k, v in row["priors"].items() if v.strip() and (k in names or not names)}
    checks = {k: _checks_value(v, THRESHOLDS[k].is_range) for k, v in row["checks"].items()
              if k in THRESHOLDS and v.strip()}
    lines = ["[[variant]]", f"name = {_toml_text(row['name'])}"]
    lines += [f"{k} = {_toml_text(row[k])}" for k in CHOICES]
    lines += [f"{k} = {_toml_text(v)}" for k, v in row["structure"].items()]
    if priors:
        lines.append(f"priors = {_inline(priors)}")
    if checks:
        lines.append(f"checks = {_inline(checks)}")
    return "\n".join(lines) + "\n"


@st.cache_resource(max_entries=256, show_spinner=False)
def _read(fingerprint: str, text: str, _data: "GroupedData") -> tuple[list, str | None]:
    """(variants, None) or ([], the error) for one variants.toml text on these data."""
    from hiermod.variants import load_variants

    variants, err = components.guarded(load_variants, text, _data, context="reading the variants")
    return (variants or [], None if err is None else components.error_message(err, "reading the variants"))


@dataclass(frozen=True)
class Reading:
    """The editor's rows read as variants: ``variants`` in order when every row reads, ``errors``
    {row id: message naming the variant and the setting}, ``set_error`` a problem of the whole set
    (a name used twice, too many variants)."""

    variants: tuple
    errors: dict
    set_error: str | None

    @property
    def ok(self) -> bool:
        return bool(self.variants) and not self.errors and self.set_error is None


def read_rows(data: "GroupedData") -> Reading:
    """Read every row (each on its own, so one bad row does not hide the others), then the set."""
    errors, texts = {}, []
    for position, row in enumerate(rows(), start=1):
        if not str(row["name"]).strip():
            errors[row["id"]] = (f"variant {position} (no name), key 'name': every variant needs a "
                                 "name; write one in its Name box.")
            continue
        text = row_toml(row)
        texts.append(text)
        _, err = _read(data.fingerprint, text, data)
        if err is not None:
            errors[row["id"]] = err
    if errors or not texts:
        return Reading((), errors, None)
    variants, err = _read(data.fingerprint, "\n".join(texts), data)
    return Reading(tuple(variants), {}, err)


# ------------------------------------------------------------------------------------ actions


def _replace(variants, data: "GroupedData") -> None:
    _ss()[ROWS] = [row_from_variant(v) for v in variants]
    _ss()[DATA_FP] = data.fingerprint


def written_for_other_data(data: "GroupedData") -> bool:
    """The rows were started or loaded for other data than these."""
    fp = _ss().get(DATA_FP)
    return bool(rows()) and fp is not None and fp != data.fingerprint


def start_from_recommended(data: "GroupedData") -> None:
    """Button callback: the rows become :func:`hiermod.variants.starting_set` of the data."""
    from hiermod.variants import starting_set

    variants, err = components.guarded(starting_set, data, context="building the starting set")
    if err is not None:
        _ss()[NOTICE] = components.error_message(err, "building the starting set")
        return
    _replace(variants, data)


def _unique_name(base: str) -> str:
    taken = {" ".join(str(r["name"]).split()) for r in rows()}
    name, n = base, 2
    while name in taken:
        name, n = f"{base} {n}", n + 1
    return name


def add_from_model(spec: "ModelSpec", data: "GroupedData") -> None:
    """Button callback: a new variant holding the Model page's model."""
    from hiermod.variants import Variant

    for row in rows():
        sync_row(row)
    if not rows():
        _ss()[DATA_FP] = data.fingerprint
    rows().append(row_from_variant(Variant(_unique_name("my model"), spec)))


def duplicate(row_id: int) -> None:
    """Button callback: a copy of the row right after it (same settings, texts and thresholds)."""
    import copy

    current = rows()
    for row in current:
        sync_row(row)
    i = next(i for i, r in enumerate(current) if r["id"] == row_id)
    twin = copy.deepcopy(current[i]) | {"id": _new_id()}
    twin["name"] = _unique_name(f"{' '.join(str(current[i]['name']).split()) or 'variant'} copy")
    current.insert(i + 1, twin)


def remove(row_id: int) -> None:
    """Button callback: drop the row."""
    _ss()[ROWS] = [r for r in rows() if r["id"] != row_id]


def add_suggested(variant: "Variant", suggestion) -> None:
    """Button callback: a new variant right after ``variant``'s row: its model with a failing
    check's suggestion made (:meth:`hiermod.falsification.Suggestion.apply`: ``ModelSpec.replace``
    with the changes, the suggested priors merged into the variant's own), same method and checks."""
    from hiermod.variants import Variant

    current = rows()
    for row in current:
        sync_row(row)
    spec, err = components.guarded(suggestion.apply, variant.spec, context="making the suggested variant")
    if err is not None:
        _ss()[NOTICE] = components.error_message(err, "making the suggested variant")
        return
    label = suggestion.label[:1].lower() + suggestion.label[1:]
    new = row_from_variant(Variant(_unique_name(f"{variant.name} ({label})"), spec, variant.method,
                                   dict(variant.thresholds)))
    at = next((i + 1 for i, r in enumerate(current) if " ".join(str(r["name"]).split()) == variant.name),
              len(current))
    current.insert(at, new)
    _ss()[ADDED] = new["name"]


def upload(raw: bytes, data: "GroupedData") -> None:
    """A variants.toml uploaded: when it reads, its variants replace the rows; otherwise the error
    is kept to show (the rows stay as they were). The same file is read once."""
    from ui.cache import digest

    ss = _ss()
    sig = digest(raw)
    if (ss.get(UPLOAD) or {}).get("digest") == sig:
        return
    variants, err = _read(data.fingerprint, raw.decode("utf-8", errors="replace"), data)
    ss[UPLOAD] = {"digest": sig, "error": err}
    if err is None:
        _replace(variants, data)


def upload_error() -> str | None:
    """Why the variants.toml now in the uploader was not loaded (None: it was, or there is none)."""
    return (_ss().get(UPLOAD) or {}).get("error")


def upload_cleared() -> None:
    """The uploader is empty: the same file may be loaded again."""
    _ss()[UPLOAD] = None


# ------------------------------------------------------------------------------------ showing


def _seed(key: str, value: Any) -> None:
    if key not in _ss():
        _ss()[key] = value


def _options(values, current) -> list:
    return list(dict.fromkeys([*values, current]))


@st.cache_data(max_entries=64, show_spinner=False)
def _defaults(fingerprint: str, spec_json: str, _data, _spec) -> dict[str, str]:
    from hiermod.priors import resolve_priors

    return {k: str(v) for k, v in resolve_priors(_data, _spec).items()}


def default_priors(data: "GroupedData", row: dict) -> dict[str, str]:
    """The data-scaled default prior text of each parameter of the row's model ({} when broken)."""
    probe = _probe(row)
    if probe is None:
        return {}
    texts, err = components.guarded(_defaults, data.fingerprint, json.dumps(probe.to_dict(), sort_keys=True),
                                    data, probe, context="finding the default priors")
    return texts if err is None else {}


def row_editor(data: "GroupedData", row: dict, position: int, error: str | None, disabled: bool) -> None:
    """One variant's box: name, the settings chosen from lists, a prior text per parameter, the
    check thresholds (an expander), Duplicate and Remove; the row's error under them."""
    from hiermod.methods import METHODS
    from hiermod.spec import likelihoods_for_kind
    from hiermod.terms import Parameterization, Pooling, Population

    rid = row["id"]
    listed = {"likelihood": [x.value for x in likelihoods_for_kind(data.kind)],
              "pooling": [x.value for x in Pooling], "parameterization": [x.value for x in Parameterization],
              "population": [x.value for x in Population], "method": list(METHODS)}
    with st.container(border=True):
        head, dup, drop = st.columns([5, 1.2, 1.2], vertical_alignment="bottom")
        key = widget_key(rid, "name")
        _seed(key, row["name"])
        head.text_input(f"Name of variant {position}", key=key, disabled=disabled)
        dup.button("Duplicate", key=widget_key(rid, "duplicate"), icon=":material/content_copy:",
                   on_click=duplicate, args=(rid,), disabled=disabled)
        drop.button("Remove", key=widget_key(rid, "remove"), icon=":material/delete:",
                    on_click=remove, args=(rid,), disabled=disabled)
        cols = st.columns(len(CHOICES))
        for col, field in zip(cols, CHOICES):
            key = widget_key(rid, field)
            _seed(key, row[field])
            col.selectbox(field.capitalize(), _options(listed[field], row[field]), key=key, disabled=disabled,
                          format_func=components.method_choice_text if field == "method" else str)
        sync_row(row)
        structure = [f"{k} = {', '.join(v) if isinstance(v, list) else v}" for k, v in row["structure"].items()
                     if v and k != "slope_correlation"]
        if structure:
            st.caption(components.md_escape("Structure (edit it in variants.toml): " + "; ".join(structure)))
        names = prior_names(row)
        defaults = default_priors(data, row)
        if names:
            pcols = st.columns(min(4, len(names)))
            for i, name in enumerate(names):
                key = widget_key(rid, f"prior_{name}")
                _seed(key, row["priors"].get(name, ""))
                pcols[i % len(pcols)].text_input(
                    f"Prior for {name}", key=key, disabled=disabled,
                    placeholder=f"default: {defaults[name]}" if name in defaults else "default",
                    help="A prior text such as Normal(0, 20) or HalfCauchy(10); blank: the data-scaled "
                         "default shown.")
        thresholds_editor(row, disabled)
        sync_row(row)
        if error:
            st.error(error, icon=":material/error:")


def thresholds_editor(row: dict, disabled: bool) -> None:
    """The variant's falsification checks, stated before fitting: one box per threshold of
    :data:`hiermod.check_thresholds.THRESHOLDS` (blank: its default), with its meaning."""
    from hiermod.check_thresholds import STAGES, THRESHOLDS

    changed = sum(1 for v in row["checks"].values() if str(v).strip())
    with st.expander(f"Checks and their thresholds ({changed} changed)" if changed else
                     "Checks and their thresholds (defaults)"):
        st.caption("What result would make you abandon this variant? Each check is judged against "
                   "its threshold after the fit; leave a box blank for the default.")
        for stage in STAGES:
            st.markdown(f"**{stage.capitalize()}**")
            cols = st.columns(2)
            for i, t in enumerate(v for v in THRESHOLDS.values() if v.stage == stage):
                key = widget_key(row["id"], f"check_{t.key}")
                _seed(key, row["checks"].get(t.key, ""))
                default = _threshold_text(t.default) or "none"
                with cols[i % 2]:
                    st.text_input(t.key, key=key, disabled=disabled,
                                  placeholder=f"default: {default}" + (" (low, high)" if t.is_range else ""),
                                  help=t.meaning)
                    st.caption(components.md_escape(f"{t.meaning} (default {default})."))


def overview(reading: Reading) -> "Any":
    """One line per variant as written: name, settings, priors (blank: default), changed checks,
    and whether it reads."""
    import pandas as pd

    out = []
    for row in rows():
        names = prior_names(row)
        priors = "; ".join(f"{k} ~ {row['priors'].get(k, '').strip() or 'default'}" for k in names)
        checks = ", ".join(f"{k} = {v}" for k, v in row["checks"].items() if str(v).strip())
        out.append({"name": row["name"], **{k: row[k] for k in CHOICES}, "priors": priors,
                    "checks changed": checks, "status": "error" if row["id"] in reading.errors else "ok"})
    return pd.DataFrame(out)
