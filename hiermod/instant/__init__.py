"""The instant method: deterministic posteriors for every model it can serve, in milliseconds.

Each model goes to one engine (:data:`ENGINES`, the first that serves it):

``known_se``        normal with known se, one level, no covariates: exact (grid over tau, closed form)
``student_t_known_se`` a Student-t population with known se, one level, no covariates: exact
                    (grid over (mu, tau, nu_groups), the population as a scale mixture of normals)
``conjugate``       Beta / Gamma populations: exact (grid over (alpha, beta), closed-form marginals)
``group_quadrature`` binomial / Poisson / negative binomial, one level, no covariates: exact up to
                    quadrature (grid over (mu, tau), adaptive Gauss-Hermite per group)
``latent``          everything with a latent Gaussian field (covariates, nested levels, varying
                    slopes): exact given the hyperparameters for Gaussian rows, a Laplace
                    approximation otherwise (nested Laplace, as in R-INLA), grid over the hyperparameters

Models no engine serves (Student-t rows; correlated slopes on more than one covariate) get a reason
naming what to use instead. :func:`instant_posterior` returns an
:class:`~hiermod.instant.posterior.InstantPosterior`; :func:`instant_fit` a :class:`~hiermod.result.Fit`
like every other method (method ``"instant"``).
"""

from __future__ import annotations

import dataclasses

import importlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping

import numpy as np

from ..errors import SpecError
from ..priors import resolve_priors
from ..prior_families import parse_prior
from ..settings import SamplerSettings
from .engine import EngineParts
from .posterior import InstantPosterior, integrate_engine

if TYPE_CHECKING:  # pragma: no cover
    from ..data import GroupedData
    from ..result import Fit
    from ..spec import ModelSpec

__all__ = ["instant_posterior", "instant_fit", "instant_draws", "unavailable_reason", "engine_for", "engine_parts", "integrate_parts",
           "InstantPosterior", "ENGINES"]


@dataclass(frozen=True)
class Engine:
    """An engine's name, its ``build(data, spec, priors) -> EngineParts`` and ``serves(data, spec) ->
    reason or None`` (both ``"module:function"``, imported when used)."""

    name: str
    build: str
    serves: str

    def _call(self, target: str, *args):
        module, _, fn = target.partition(":")
        return getattr(importlib.import_module(module, __name__), fn)(*args)

    def reason(self, data, spec) -> str | None:
        return self._call(self.serves, data, spec)

    def parts(self, data, spec, priors) -> EngineParts:
        return self._call(self.build, data, spec, priors)


ENGINES: tuple[Engine, ...] = (
    Engine("known_se", ".known_se:build", ".availability:known_se"),
    Engine("student_t_known_se", ".student_t_known_se:build", ".availability:student_t_known_se"),
    Engine("conjugate", ".conjugate:build", ".availability:conjugate"),
    Engine("group_quadrature", ".group_quadrature:build", ".availability:group_quadrature"),
    Engine("latent", ".latent:build", ".availability:latent"),
)


def engine_for(data: "GroupedData", spec: "ModelSpec") -> tuple[Engine | None, str | None]:
    """(the first engine that serves ``spec`` on ``data``, None) or (None, why none does)."""
    from .availability import bounded_hyperparameters

    cut = bounded_hyperparameters(data, spec)
    if cut is not None:
        return None, cut
    reasons = []
    for engine in ENGINES:
        reason = engine.reason(data, spec)
        if reason is None:
            return engine, None
        reasons.append(reason)
    return None, reasons[-1]


def unavailable_reason(data: "GroupedData", spec: "ModelSpec") -> str | None:
    """Why the instant method cannot serve ``spec`` on ``data`` (one sentence with advice), or None."""
    return engine_for(data.for_groups(spec.groups), spec)[1]


def _priors(data, spec, priors: Mapping | None) -> dict:
    out = resolve_priors(data, spec)
    for name, value in (priors or {}).items():
        if name not in out:
            raise SpecError(f"This model has no parameter '{name}' to put a prior on; it has: "
                            f"{', '.join(sorted(out))}.")
        out[name] = parse_prior(value)
    return out


def engine_parts(data: "GroupedData", spec: "ModelSpec", priors: Mapping | None = None
                 ) -> tuple["GroupedData", dict, EngineParts]:
    """(the data regrouped for ``spec``, the resolved priors (``priors`` override the spec's), the
    serving engine's :class:`EngineParts`); :class:`SpecError` with the reason when none serves."""
    data = data.for_groups(spec.groups)
    engine, reason = engine_for(data, spec)
    if engine is None:
        raise SpecError(reason)
    resolved = _priors(data, spec, priors)
    return data, resolved, engine.parts(data, spec, resolved)


def instant_posterior(data: "GroupedData", spec: "ModelSpec", priors: Mapping | None = None,
                      fixed: Mapping[str, float] | None = None) -> InstantPosterior:
    """The instant posterior of ``spec`` on ``data``.

    ``priors`` override the spec's (names -> Prior or text); ``fixed`` holds grid hyperparameters
    at values (e.g. ``{"tau": 3.0}``: empirical Bayes). :class:`SpecError` when no engine serves the model.
    """
    data_used, resolved, parts = engine_parts(data, spec, priors)
    post = integrate_parts(parts, fixed)
    remake = (instant_posterior, (data, spec, resolved, dict(fixed) if fixed else None))
    return dataclasses.replace(post, _remake=remake)


def integrate_parts(parts: EngineParts, fixed: Mapping[str, float] | None = None) -> InstantPosterior:
    """:func:`~hiermod.instant.posterior.integrate_engine`, with an unknown fixed name as a SpecError."""
    try:
        return integrate_engine(parts, fixed)
    except KeyError as err:
        raise SpecError(str(err.args[0])) from None


def instant_draws(data: "GroupedData", spec: "ModelSpec", n: int, rng: np.random.Generator,
                  priors: Mapping | None = None) -> dict[str, np.ndarray]:
    """``n`` independent posterior draws {name: (n, ...)} named as NUTS names them (derived
    quantities included): what simulation-based calibration needs, without building a Fit."""
    data = data.for_groups(spec.groups)
    post = instant_posterior(data, spec, priors)
    return with_derived(post.draws(n, rng), data, spec)


def with_derived(draws: dict[str, np.ndarray], data, spec) -> dict[str, np.ndarray]:
    """Add the quantities NUTS records as deterministic sites: each non-centered term's standardized
    effects, the response-scale group values and the joint intercept/slope coefficients."""
    from .derived import derived

    return draws | derived(draws, data, spec)


def instant_fit(data: "GroupedData", spec: "ModelSpec", settings: SamplerSettings, progress=None,
                cancel=None) -> "Fit":
    """Independent draws from the instant posterior laid out like a NUTS fit (no ``sample_stats``).

    ``settings.chains x settings.draws`` draws from a Generator seeded with ``settings.seed``; the
    pointwise log-likelihood, posterior predictive and prior draws are added as for every method.
    ``Fit.exact`` holds the :class:`InstantPosterior` (grid moments, hyperparameter densities).
    ``progress`` and ``cancel`` are accepted and not used (it runs in one step).
    """
    from ..result import Fit, inference_data_from_draws

    t0 = time.perf_counter()
    data = data.for_groups(spec.groups)
    priors = resolve_priors(data, spec)
    post = instant_posterior(data, spec)
    t_post = time.perf_counter()
    rng = np.random.default_rng([settings.seed, 0])
    flat = with_derived(post.draws(settings.chains * settings.draws, rng), data, spec)
    flat = {k: np.asarray(v, np.float32 if np.ndim(v) > 1 else float) for k, v in flat.items()}
    idata = inference_data_from_draws(flat, data, spec, priors, settings, stream=4)
    total = time.perf_counter() - t0
    timings = {"compile_s": 0.0, "compilations": 0.0, "posterior_s": t_post - t0, "sampling_s": total,
               "total_s": total}
    return Fit(idata, data, spec, priors, "instant", settings, timings, exact=post)
