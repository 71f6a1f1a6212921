"""hiermod: hierarchical (multilevel) Bayesian models for grouped data, with NumPyro and ArviZ.

    >>> import hiermod
    >>> data = hiermod.load_dataset("eight_schools")
    >>> spec = hiermod.ModelSpec("normal_known_se", priors={"mu": "Normal(0, 5)", "tau": "HalfCauchy(5)"})
    >>> result = hiermod.fit(data, spec)            # NumPyro NUTS, 4 chains
    >>> hiermod.summary_table(result)

Names are imported lazily, so ``import hiermod`` stays cheap and JAX loads only when a fit needs it.
No submodule is called ``fit``: ``hiermod.fit`` is always the function (:func:`hiermod.fitting.fit`).
"""

from __future__ import annotations

import importlib

from . import numpy_pages as _numpy_pages

__version__ = "0.1.0"

_numpy_pages.apply()  # numpy's huge-page advice off: fresh large arrays were ~17x slower (numpy_pages)

_EXPORTS = {
    "HiermodError": "errors",
    "DataError": "errors",
    "SpecError": "errors",
    "PriorError": "errors",
    "FitError": "errors",
    "FitCancelled": "errors",
    "DataKind": "data",
    "ColumnMap": "data",
    "GroupedData": "data",
    "load_data": "data",
    "read_table": "data",
    "guess_columns": "data",
    "ModelSpec": "spec",
    "Pooling": "spec",
    "Likelihood": "spec",
    "Parameterization": "spec",
    "Prior": "spec",
    "parse_prior": "spec",
    "default_priors": "priors",
    "resolve_priors": "priors",
    "fit": "fitting",
    "Fit": "result",
    "SamplerSettings": "settings",
    "METHODS": "methods",
    "method_info": "methods",
    "exact_posterior": "exact",
    "summary_table": "diagnostics",
    "diagnose": "diagnostics",
    "shrinkage_table": "compare",
    "fit_pooling_modes": "compare",
    "loo_table": "compare",
    "predict_new_group": "compare",
    "variance_decomposition": "compare",
    "list_datasets": "datasets",
    "load_dataset": "datasets",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hiermod' has no attribute '{name}'")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
