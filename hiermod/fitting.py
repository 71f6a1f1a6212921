"""``fit``: validate the request, then run the chosen method from :data:`hiermod.methods.METHODS`.

``hiermod.fit`` is this module's :func:`fit` (through the package's lazy exports); the engines are
:mod:`hiermod.nuts`, :mod:`hiermod.exact` and :mod:`hiermod.vi`, imported only when their method runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .errors import FitError
from .methods import method_info
from .settings import DEFAULT_TARGET_ACCEPT, SamplerSettings
from .spec import ModelSpec, check_compatible

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .jobs import Progress
    from .result import Fit

__all__ = ["fit", "fit_with", "check_numeric_range", "NUMERIC_RANGE"]


def fit(
    data: "GroupedData",
    spec: ModelSpec,
    chains: int = 4,
    warmup: int | None = None,
    draws: int = 1000,
    seed: int = 0,
    target_accept: float = DEFAULT_TARGET_ACCEPT,
    method: str = "nuts",
    progress: "Callable[[Progress], None] | None" = None,
    cancel: Any = None,
    max_tree_depth: int = 10,
    start: str = "instant",
) -> "Fit":
    """Fit ``spec`` to ``data`` with NUTS (``method="nuts"``), exactly (``"exact"``, normal with known
    se) or as a fast variational approximation (``"vi"``, SVI with a mean-field normal guide, which
    understates posterior spread); :data:`hiermod.methods.METHODS` lists them.

    NUTS chains start from the instant posterior's draws, with its diagonal mass matrix, when it
    serves the model (``start="instant"``; ``"random"``: NumPyro's random starts and Stan's mass
    matrix adaptation); ``warmup`` None is 300 iterations from an instant start, else 1,000
    (:class:`~hiermod.settings.SamplerSettings`). ``progress`` receives a
    :class:`~hiermod.jobs.Progress` after every chunk; ``cancel`` (an object with ``is_set()``, or a
    callable) stops the fit with :class:`FitCancelled` within one chunk.
    """
    settings = SamplerSettings(int(chains), None if warmup is None else int(warmup), int(draws), int(seed),
                               float(target_accept), int(max_tree_depth), str(start))
    return fit_with(data, spec, settings, method, progress=progress, cancel=cancel)


def fit_with(data: "GroupedData", spec: ModelSpec, settings: SamplerSettings, method: str = "nuts",
             progress: "Callable[[Progress], None] | None" = None, cancel: Any = None) -> "Fit":
    """:func:`fit` with its sampler settings given as one :class:`SamplerSettings`."""
    check_compatible(spec, data)
    check_numeric_range(data)
    data = data.for_groups(spec.groups)  # rows belong to the groups of the model's innermost level
    return method_info(method).run(data, spec, settings, progress=progress, cancel=cancel)


NUMERIC_RANGE = (1e-15, 1e15)
"""Magnitudes the samplers handle (they run in float32, and squares of values must stay finite)."""


def check_numeric_range(data: "GroupedData") -> None:
    """Raise :class:`FitError` when values are too large, or scales too small, to sample in float32.

    The data load fine (they are finite), but e.g. y = 1e308 or se = 1e-320 overflow or vanish in
    the sampler's float32 arithmetic and would fail with an obscure numpyro error.
    """
    lo, hi = NUMERIC_RANGE
    roles = {"y": data.y, "se": data.se, "trials": data.trials, "exposure": data.exposure}
    for j, name in enumerate(data.covariate_names):
        roles[f"covariate {name!r}"] = data.X[:, j]
    for role, values in roles.items():
        if values is None or values.size == 0:
            continue
        column = getattr(data.columns, role, None) if role in ("y", "se", "trials", "exposure") else None
        what = f"column {column!r} ({role})" if column else role
        big = float(np.max(np.abs(values)))
        if big > hi:
            raise FitError(
                f"Values in {what} reach {big:.3g}; the sampler works with magnitudes up to {hi:.0e}. "
                "Rescale the column (for example measure in thousands or millions) and fit again."
            )
        if role in ("se", "exposure"):
            small = float(np.min(values))
            if small < lo:
                raise FitError(
                    f"Values in {what} go down to {small:.3g}; the sampler needs them at least "
                    f"{lo:.0e}. Rescale the outcome and its {role} together (for example multiply "
                    "both by 1000), or check the column."
                )
