"""Where NUTS starts: the instant posterior's draws, and the diagonal metric they give.

When an instant posterior serves the model (:mod:`hiermod.instant`) and ``settings.start`` is
``"instant"``, NUTS starts chain c at the c-th of :data:`START_DRAWS` independent instant draws and
keeps, through warmup and sampling, the diagonal inverse mass matrix of those draws in the
sampler's unconstrained space u (u = the inverse of each site's support bijection), regularised as
Stan regularises its adapted one:

    M^-1 = n / (n + 5) * Var(u) + 1e-3 * 5 / (n + 5),   n = START_DRAWS.

Warmup then adapts only the step size (NumPyro's dual averaging, restarted at its window ends), so
it can be short: :data:`hiermod.settings.INSTANT_START_WARMUP` iterations instead of
:data:`hiermod.settings.DEFAULT_WARMUP` (measured: bench/INSTANT_WARMUP.md). The target the chains
sample is unchanged (the start and the metric change only how fast they mix); but chains that all
start where the instant posterior puts its mass cannot reveal a second mode it missed, which
random starts sometimes do: ``start="random"`` is the check.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .settings import SamplerSettings
    from .spec import ModelSpec

__all__ = ["START_DRAWS", "latent_sites", "instant_start", "inverse_mass_from_draws"]

log = logging.getLogger(__name__)

START_DRAWS = 400
"""Instant draws per fit: the chains' starting points and the metric's variances (a fixed number,
so every fit of a structure has the same program shapes: no recompilation)."""


def latent_sites(model: Callable, kwargs: dict) -> dict[str, tuple[int, ...]]:
    """{name: shape} of the model's latent (unobserved) sample sites, from an abstract trace
    (``jax.eval_shape``: nothing is compiled or computed)."""
    import jax
    from numpyro.handlers import seed, trace

    from .tracing_lock import tracing

    found: dict[str, tuple[int, ...]] = {}

    def run(kw):
        sites = trace(seed(model, 0)).get_trace(**kw)
        for name, site in sites.items():
            if site["type"] == "sample" and not site["is_observed"]:
                found[name] = tuple(np.shape(site["value"]))
        return 0

    with tracing():
        jax.eval_shape(run, kwargs)
    return found


def instant_start(data: "GroupedData", spec: "ModelSpec", settings: "SamplerSettings",
                  latent: dict[str, tuple[int, ...]]) -> dict[str, np.ndarray] | None:
    """:data:`START_DRAWS` instant draws {site: (START_DRAWS, *shape)} of the ``latent`` sites
    (constrained, float32), from a Generator seeded with ``settings.seed``; None when no instant
    engine serves the model, its draws miss a site or are not finite, or it fails (logged: NUTS
    then starts at random, as without it). The caller asks only when ``settings.start`` is instant."""
    from .instant import instant_draws, unavailable_reason

    if unavailable_reason(data, spec) is not None:
        return None
    try:
        draws = instant_draws(data, spec, START_DRAWS, np.random.default_rng([settings.seed, 1]))
    except Exception:  # noqa: BLE001 - the start is an optimisation: NUTS starts at random instead
        log.warning("The instant posterior failed; NUTS starts at random", exc_info=True)
        return None
    out = {}
    for name, shape in latent.items():
        value = np.asarray(draws.get(name, np.empty(0)), dtype=np.float32)
        if value.shape != (START_DRAWS, *shape) or not np.all(np.isfinite(value)):
            log.info("Instant draws of %r missing or not finite; NUTS starts at random", name)
            return None
        out[name] = value
    return out


def inverse_mass_from_draws(flat_u):
    """The regularised diagonal inverse mass matrix (module docstring) of draws ``flat_u`` (n, d)."""
    import jax.numpy as jnp

    n = flat_u.shape[0]
    return n / (n + 5.0) * jnp.var(flat_u, axis=0) + 1e-3 * 5.0 / (n + 5.0)
