"""A fast variational approximation: SVI with a mean-field normal guide (NumPyro ``AutoNormal``).

Maximises the ELBO  E_q[log p(y, z) - log q(z)]  with Adam over ``steps`` iterations, then draws
from q. The draws are laid out like a NUTS fit (``method="vi"``, no sampler statistics) so every
table and plot works. They understate posterior uncertainty, most for tau: a first look for large
data, never the final answer. Reached through ``hiermod.fit(..., method="vi")`` and the command
line (``--method vi``); the ``"vi"`` entry of :data:`hiermod.methods.METHODS` is marked approximate,
so :func:`hiermod.diagnostics.diagnose` and the command line say so with every result.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from .compilation import count_compilations
from .errors import FitCancelled
from .models import Structure, prepare
from .result import Fit, inference_data_from_draws
from .settings import SamplerSettings
from .tracing_lock import locked_jit, tracing

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .spec import ModelSpec

DEFAULT_STEPS = 5000
LEARNING_RATE = 0.01


@lru_cache(maxsize=6)  # each holds compiled executables: see nuts.MAX_SAMPLERS
def _svi_runner(structure: Structure, steps: int):
    """A jitted function (key, kwargs) -> guide parameters, one per structure and step count."""
    import jax
    from numpyro.infer import SVI, Trace_ELBO
    from numpyro.infer.autoguide import AutoNormal
    from numpyro.optim import Adam

    from .models import build_model

    model = build_model(structure)
    guide = AutoNormal(model)
    svi = SVI(model, guide, Adam(LEARNING_RATE), Trace_ELBO())

    def run(key, kwargs):
        # the guide records the model afresh: a cached prototype trace would hold another fit's
        # bounded supports (or tracers of this jit)
        guide.prototype_trace = None
        state = svi.init(key, **kwargs)

        def body(_, s):
            return svi.update(s, **kwargs)[0]

        state = jax.lax.fori_loop(0, steps, body, state)
        return svi.get_params(state), svi.evaluate(state, **kwargs)

    return guide, locked_jit(run)


def fit_vi(data: "GroupedData", spec: "ModelSpec", settings: SamplerSettings, progress=None, cancel=None,
           steps: int = DEFAULT_STEPS) -> Fit:
    """SVI approximation of ``spec`` on ``data``: ``settings.chains x settings.draws`` draws from the
    guide, as a :class:`Fit` with method ``"vi"``.

    The optimisation is one compiled call: ``cancel`` is checked once before it starts and
    ``progress`` is not called.
    """
    import jax

    if cancel is not None and (cancel.is_set() if hasattr(cancel, "is_set") else cancel()):
        raise FitCancelled("The fit was cancelled.")
    t0 = time.perf_counter()
    model, kwargs, priors, structure = prepare(data, spec)
    guide, run = _svi_runner(structure, int(steps))
    with count_compilations() as compiles:
        params, loss = run(jax.random.PRNGKey(settings.seed), kwargs)
        n = settings.chains * settings.draws
        from numpyro.infer import Predictive

        with tracing():  # eager: the guide and the model run under NumPyro's global handler stack
            guide.prototype_trace = None  # rebuilt outside jit, with this fit's prior bounds
            latent = Predictive(guide, params=params, num_samples=n)(jax.random.PRNGKey(settings.seed + 1),
                                                                     **kwargs)
            full = Predictive(model, posterior_samples=latent, return_sites=None)(
                jax.random.PRNGKey(settings.seed + 2), **kwargs)
    merged = full | latent  # latent sites first, as in a NUTS fit (mu, tau, ... before theta, rate)
    flat = {k: np.asarray(merged[k], dtype=float) for k in dict.fromkeys([*latent, *full])
            if k not in ("y", "y_within")}
    idata = inference_data_from_draws(flat, data, spec, priors, settings, stream=3)
    total = time.perf_counter() - t0
    timings = {"compile_s": compiles.seconds, "compilations": float(compiles.count),
               "sampling_s": total - compiles.seconds, "total_s": total, "final_loss": float(loss)}
    return Fit(idata, data, spec, priors, "vi", settings, timings)
