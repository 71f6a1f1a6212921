"""A positive NumPyro distribution cut to [low, high]: NumPyro truncates only real-support bases
(``TruncatedDistribution``) and Gamma, so the positive prior families (HalfNormal, HalfCauchy, ...)
use this class. Its source (:func:`source`) is also written into exported NumPyro scripts, so the
sampled model and the exported one run the same code. Imports JAX: load it only to sample.
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import numpyro.distributions as dist


class TruncatedPositive(dist.Distribution):
    """A positive distribution cut to [low, high] (high None: [low, inf)), renormalised:
    log p(x) = base.log_prob(x) - log(F(high) - F(low)). Draws: base draws, redrawn until inside."""

    arg_constraints = {}
    pytree_data_fields = ("base_dist", "low", "high", "_support")

    def __init__(self, base_dist, low=0.0, high=None, *, validate_args=None):
        self.base_dist, self.low, self.high = base_dist, jnp.asarray(low), high
        shape = jax.lax.broadcast_shapes(base_dist.batch_shape, jnp.shape(low), jnp.shape(high))
        self._support = (dist.constraints.greater_than(low) if high is None
                         else dist.constraints.interval(low, high))
        super().__init__(shape, validate_args=validate_args)

    @dist.constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return self._support

    def _cdf(self, x):
        base = self.base_dist
        if isinstance(base, dist.FoldedDistribution):  # |T|: F(x) = 2 T(x) - 1
            return 2.0 * base.base_dist.cdf(x) - 1.0
        return base.cdf(x)

    def _inside(self, x):
        return (x >= self.low) & (True if self.high is None else x <= self.high)

    def log_prob(self, value):
        upper = 1.0 if self.high is None else self._cdf(self.high)
        mass = jnp.maximum(upper - self._cdf(self.low), jnp.finfo(jnp.result_type(float)).tiny)
        return jnp.where(self._inside(value), self.base_dist.log_prob(value) - jnp.log(mass), -jnp.inf)

    def sample(self, key, sample_shape=()):
        shape = sample_shape + self.batch_shape
        base = self.base_dist.expand(self.batch_shape)

        def redraw(state):
            key, x = state
            key, sub = jax.random.split(key)
            return key, jnp.where(self._inside(x), x, base.sample(sub, sample_shape))

        start = jnp.full(shape, jnp.nan)
        return jax.lax.while_loop(lambda s: ~jnp.all(self._inside(s[1])), redraw, (key, start))[1]


def source() -> str:
    """The class's source text, for exported scripts (they import ``jax``, ``jnp`` and ``dist``)."""
    return "\n" + inspect.getsource(TruncatedPositive)
