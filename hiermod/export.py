"""Export a fit: ArviZ netCDF, a spreadsheet-safe summary CSV, standalone plotly HTML, a JSON
summary and the library versions. The reproduction scripts live in :mod:`hiermod.reproduce`
(``reproduction_script`` is re-exported here).

No Streamlit here; the dashboard and the command line both call these functions.
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import tempfile
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .reproduce import reproduction_script  # noqa: F401  (re-exported: the ui and tests import it here)

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

__all__ = [
    "FORMULA_PREFIXES",
    "safe_csv_cell",
    "to_netcdf_bytes",
    "write_netcdf",
    "summary_csv",
    "figure_html",
    "summary_dict",
    "versions",
    "reproduction_script",
]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is read as a formula by spreadsheet programs."""


# ------------------------------------------------------------------------------------- netCDF


def _idata_for_export(fit: "Fit"):
    """A copy of the fit's InferenceData with hiermod's spec, settings and method as attributes."""
    from .result import settings_dict

    idata = fit.idata.copy()
    attrs = {
        "hiermod_version": _hiermod_version(),
        "hiermod_method": str(fit.method),
        "hiermod_spec": json.dumps(fit.spec.to_dict(), ensure_ascii=False),
        "hiermod_priors": json.dumps({k: str(v) for k, v in fit.priors.items()}, ensure_ascii=False),
        "hiermod_settings": json.dumps(_jsonable(settings_dict(fit.settings))),
        "hiermod_data_fingerprint": str(fit.data.fingerprint),
    }
    idata.posterior.attrs.update(attrs)
    return idata


def write_netcdf(fit: "Fit", path: str | os.PathLike) -> Path:
    """Write the fit's InferenceData to ``path`` as netCDF (h5netcdf engine); returns the path.

    Read it back with ``arviz.from_netcdf(path)``; group labels are the ``group`` coordinate (one
    dimension per grouping level when nested: ``school``, ``class`` with "school/class" path labels).
    """
    path = Path(path)
    _idata_for_export(fit).to_netcdf(str(path), engine="h5netcdf")
    return path


def to_netcdf_bytes(fit: "Fit") -> bytes:
    """The netCDF file of :func:`write_netcdf` as bytes (for a download button)."""
    with tempfile.TemporaryDirectory(prefix="hiermod-") as tmp:
        path = Path(tmp) / "posterior.nc"
        write_netcdf(fit, path)
        return path.read_bytes()


# ---------------------------------------------------------------------------------------- CSV


def safe_csv_cell(value: Any) -> Any:
    """Neutralise a spreadsheet formula: text starting with = + - @ tab or CR gets a leading '.

    Numbers (and anything that is not text) are returned unchanged, so negative numbers stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _split_name(name: str) -> tuple[str, str]:
    """``"theta[A]"`` -> ``("theta", "A")``; ``"mu"`` -> ``("mu", "")``; ``"theta_class[A/1]"`` ->
    ``("theta_class", "A/1")``; ``"theta[a[1]]"`` -> ``("theta", "a[1]")`` (variable names never
    hold "[", so the first "[" ends the name and the label is everything up to the final "]")."""
    if "[" in name and name.endswith("]"):
        var, rest = name.split("[", 1)
        return var, rest[:-1]
    return name, ""


def _summary_vars(fit: "Fit") -> list[str]:
    """Every posterior variable but the sampler's working variables (:meth:`ModelSpec.working_names`:
    standardized effects, joint intercept/slope sites, the slope correlation's Cholesky factor)."""
    working = fit.spec.working_names()
    return [str(v) for v in fit.idata.posterior.data_vars if str(v) not in working]


def summary_table_frame(fit: "Fit"):
    """The summary table with ``parameter``, ``variable`` and ``label`` columns in front."""
    from .diagnostics import summary_table

    table = summary_table(fit, var_names=_summary_vars(fit))
    frame = table.reset_index(drop=True).copy()
    names = [str(n) for n in table.index]
    parts = [_split_name(n) for n in names]
    frame.insert(0, "label", [p[1] for p in parts])
    frame.insert(0, "variable", [p[0] for p in parts])
    frame.insert(0, "parameter", names)
    return frame


def summary_csv(fit: "Fit") -> str:
    """The summary table as CSV, one row per parameter, with spreadsheet formulas neutralised.

    Columns: parameter (``theta[A]``, ``theta_class[A/1]``, ``slope_hours[S1]``, ``p[3]``),
    variable (``theta``), label (``A``, the group label, inner levels as "outer/inner" paths, or
    the covariate name), then mean, sd, hdi_low, hdi_high, mcse_mean, mcse_sd, ess_bulk, ess_tail,
    r_hat. Every text cell goes through :func:`safe_csv_cell`; numbers are written as numbers.
    """
    frame = summary_table_frame(fit)
    frame.columns = [safe_csv_cell(str(c)) for c in frame.columns]
    for col in frame.columns:
        if frame[col].dtype == object or str(frame[col].dtype) in ("string", "str"):
            frame[col] = frame[col].map(safe_csv_cell).astype(object)
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue()


# --------------------------------------------------------------------------------------- HTML


def figure_html(fig) -> str:
    """A plotly figure as a standalone HTML page with plotly.js inlined (works offline)."""
    import plotly.io as pio

    return pio.to_html(fig, include_plotlyjs=True, full_html=True)


# --------------------------------------------------------------------------------------- JSON


def _jsonable(value: Any) -> Any:
    """Plain JSON types; non-finite floats become None (strict JSON has no NaN)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    if hasattr(value, "value") and isinstance(getattr(value, "value"), str):  # enums
        return value.value
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value))
    if isinstance(value, Path):
        return str(value)
    return str(value)


def _hiermod_version() -> str:
    from . import __version__

    return __version__


def versions() -> dict[str, str]:
    """Versions of python and the libraries a fit depends on."""
    import importlib

    out = {"python": platform.python_version(), "hiermod": _hiermod_version()}
    for name in ("numpyro", "jax", "arviz", "numpy", "pandas"):
        try:
            out[name] = str(importlib.import_module(name).__version__)
        except Exception:  # pragma: no cover - a missing optional library
            out[name] = "not installed"
    return out


def _columns_dict(columns) -> dict:
    return {
        "group": columns.group,
        "y": columns.y,
        "kind": str(getattr(columns.kind, "value", columns.kind)),
        "se": columns.se,
        "trials": columns.trials,
        "exposure": columns.exposure,
        "covariates": list(columns.covariates),
    }


_PARAM_FIELDS = ("mean", "sd", "hdi_low", "hdi_high", "mcse_mean", "ess_bulk", "ess_tail", "r_hat")


def _diagnostics_dict(fit: "Fit") -> dict:
    """``diagnose(fit).to_dict()`` without the summary table (``parameters`` holds it)."""
    from .diagnostics import diagnose

    out = dict(diagnose(fit).to_dict())
    out.pop("summary", None)
    return _jsonable(out)


def summary_dict(fit: "Fit") -> dict:
    """Everything about a fit as plain JSON-able data (no NaN: missing numbers are None).

    Keys: ``parameters`` (name -> mean, sd, hdi_low, hdi_high, mcse_mean, ess_bulk, ess_tail,
    r_hat), ``diagnostics``, ``timings``, ``spec`` (``ModelSpec.to_dict()`` plus
    ``resolved_priors`` as text), ``settings``, ``method``, ``data`` (kind, n_rows, n_groups,
    labels, fingerprint, columns, report) and ``versions``.
    """
    from .diagnostics import summary_table
    from .result import settings_dict

    table = summary_table(fit)
    parameters = {
        str(name): {f: (row[f] if f in row.index else None) for f in _PARAM_FIELDS}
        for name, row in table.iterrows()
    }
    spec = fit.spec.to_dict()
    spec["resolved_priors"] = {k: str(v) for k, v in fit.priors.items()}
    data = fit.data
    out = {
        "parameters": parameters,
        "diagnostics": _diagnostics_dict(fit),
        "timings": dict(fit.timings),
        "spec": spec,
        "settings": settings_dict(fit.settings),
        "method": str(fit.method),
        "data": {
            "kind": str(getattr(data.kind, "value", data.kind)),
            "n_rows": data.n_rows,
            "n_groups": data.n_groups,
            "labels": list(data.labels),
            "fingerprint": data.fingerprint,
            "columns": _columns_dict(data.columns),
            "report": list(getattr(data, "report", ())),
        },
        "versions": versions(),
    }
    return _jsonable(out)
