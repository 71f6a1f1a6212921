"""The fitting methods hiermod offers, as a table: what each returns, and how to run it.

Light to import (no jax, numpyro, scipy, pandas or arviz): the dashboard can list and label the
methods before any of them is loaded. Each :class:`Method` names its runner as ``"module:function"``
and imports it with :mod:`importlib` only when it runs, so this module depends on no engine and no
engine on it (the engines build their :class:`~hiermod.result.Fit` from :mod:`hiermod.result`).

    >>> method_info("vi").approximate
    True
    >>> sorted(METHODS)
    ['exact', 'instant', 'nuts', 'vi']
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable

from .errors import SpecError

__all__ = ["Method", "METHODS", "method_info"]


def _resolve(target: str) -> Callable:
    """``"hiermod.nuts:fit_nuts"`` -> the function, imported now."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Method:
    """One way to fit a model.

    ``exact``: the draws are independent draws from the exact posterior. ``approximate``: the draws
    come from an approximation of the posterior, and every result must say so.
    ``has_sampler_stats``: the InferenceData has ``sample_stats`` (divergences, tree depth, energy)
    for the sampler checks. ``runner`` (and ``availability``, when the method serves only some
    models) are ``"module:function"`` texts, imported when used.
    """

    name: str
    label: str
    returns: str
    exact: bool
    approximate: bool
    has_sampler_stats: bool
    runner: str
    availability: str | None = None
    deterministic: bool = False
    """The draws are independent draws from a computed posterior (no sampler, nothing to converge)."""
    """``"module:function"`` of ``f(data, spec) -> str | None``; None: every model that fits the data."""

    def unavailable_reason(self, data: Any, spec: Any) -> str | None:
        """Why this method cannot serve ``spec`` on ``data`` (one sentence with advice), or None."""
        if self.availability is None:
            return None
        return _resolve(self.availability)(data, spec)

    def run(self, data: Any, spec: Any, settings: Any, progress: Callable | None = None,
            cancel: Any = None) -> "Fit":  # noqa: F821 - hiermod.result.Fit (not imported: no cycle)
        """Fit ``spec`` to ``data`` with this method; :class:`SpecError` when it cannot serve them.

        ``settings`` is a :class:`~hiermod.settings.SamplerSettings`; ``progress`` and ``cancel`` as
        in :func:`hiermod.fitting.fit` (methods that run in one step may report no progress).
        """
        reason = self.unavailable_reason(data, spec)
        if reason is not None:
            raise SpecError(reason)
        return _resolve(self.runner)(data, spec, settings, progress=progress, cancel=cancel)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method(
            name="nuts",
            label="NUTS (MCMC)",
            returns="Draws from the posterior by the No-U-Turn sampler (NumPyro): correlated within "
                    "each chain, trustworthy once R-hat, ESS and the divergence checks pass.",
            exact=False,
            approximate=False,
            has_sampler_stats=True,
            runner="hiermod.nuts:fit_nuts",
        ),
        Method(
            name="exact",
            label="Exact posterior",
            returns="Independent draws from the exact posterior (grid over tau, closed form or "
                    "quadrature over mu); only the normal model with known standard errors and no "
                    "covariates.",
            exact=True,
            approximate=False,
            has_sampler_stats=False,
            runner="hiermod.exact:exact_fit",
            availability="hiermod.exact:unavailable_reason",
            deterministic=True,
        ),
        Method(
            name="instant",
            label="Instant posterior (grid + quadrature / nested Laplace)",
            returns="Independent draws from a deterministic posterior: the hyperparameters on an "
                    "adaptive grid, everything else integrated exactly (closed form, quadrature) or, "
                    "for covariates, nested levels and slopes with non-normal rows, by a Laplace "
                    "approximation. Milliseconds, no sampler to check.",
            exact=False,
            approximate=False,
            has_sampler_stats=False,
            runner="hiermod.instant:instant_fit",
            availability="hiermod.instant:unavailable_reason",
            deterministic=True,
        ),
        Method(
            name="vi",
            label="Variational approximation (mean-field ADVI)",
            returns="Draws from a mean-field normal approximation fitted by stochastic variational "
                    "inference, a fast first look that understates the posterior spread, most for "
                    "tau (the spread between groups).",
            exact=False,
            approximate=True,
            has_sampler_stats=False,
            runner="hiermod.vi:fit_vi",
        ),
    )
}
"""The methods by name, in the order the dashboard and the command line offer them."""


def _or_list(names) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def method_info(name: str) -> Method:
    """The :class:`Method` called ``name``; :class:`SpecError` naming the known methods otherwise."""
    method = METHODS.get(name) if isinstance(name, str) else None
    if method is None:
        raise SpecError(f"Unknown method '{name}'; use {_or_list(METHODS)}.")
    return method
