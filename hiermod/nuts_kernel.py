"""One NUTS iteration on NumPyro's sampler state: :mod:`hiermod.nuts_tree`'s transition, then
NumPyro's warmup adaptation.

The state is NumPyro's ``HMCState`` as ``NUTS.init`` makes it (position z as a dict of sites,
potential U = -log density, its gradient, the adaptation state, the PRNG key), so NumPyro still
builds the model's potential (``potential_fn_gen``: data and priors are its arguments), finds the
starting point and owns the adaptation: Stan's windowed scheme, dual averaging of the step size
towards ``target_accept`` and a regularised diagonal mass matrix from each middle window's draws
(``numpyro.infer.hmc_util.warmup_adapter``, built here with the arguments ``NUTS`` gives it).
Only the trajectory is hiermod's: the same algorithm as NumPyro's ``build_tree`` with a fraction
of the operations per leapfrog step (:mod:`hiermod.nuts_tree`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from numpyro.infer.hmc import HMCState
from numpyro.infer.hmc_util import IntegratorState, warmup_adapter

from .nuts_tree import iteration_seed, transition

__all__ = ["NutsIteration"]


def _diagonal(blocks):
    """NumPyro's diagonal mass matrix, one block over all sites in sorted order (the order
    ``ravel_pytree`` flattens a dict of sites in), as one vector."""
    if isinstance(blocks, dict):
        (vector,) = blocks.values()
        return vector
    return blocks


class NutsIteration:
    """``step(state, kwargs) -> state``: one NUTS iteration of the model whose NumPyro ``NUTS``
    kernel is ``kernel`` (its ``init`` has run, so its potential is set up), adapting during the
    first ``warmup`` iterations as that kernel would: its target acceptance, tree depth and
    mass-matrix settings are read from it, so they are stated once, where the kernel is made.
    Iteration i draws its randomness from :func:`~hiermod.nuts_tree.iteration_seed` (the chain's
    PRNG key, which stays as ``init`` made it, and i), so the same seed gives the same draws."""

    def __init__(self, kernel, warmup: int):
        self.kernel = kernel
        self.warmup = warmup
        self.max_tree_depth = kernel._max_tree_depth
        _, self.adapt = warmup_adapter(warmup, adapt_step_size=kernel._adapt_step_size,
                                       adapt_mass_matrix=kernel._adapt_mass_matrix,
                                       dense_mass=kernel._dense_mass,
                                       target_accept_prob=kernel._target_accept_prob,
                                       regularize_mass_matrix=kernel._regularize_mass_matrix)

    def __call__(self, state: HMCState, kwargs: dict) -> HMCState:
        potential = self.kernel._potential_fn_gen(**kwargs)
        q, unravel = ravel_pytree(state.z)
        adapt_state = state.adapt_state
        seed = iteration_seed(state.rng_key, state.i)
        t = transition(jax.value_and_grad(lambda x: potential(unravel(x))), seed, q, state.potential_energy,
                       ravel_pytree(state.z_grad)[0], adapt_state.step_size,
                       _diagonal(adapt_state.inverse_mass_matrix), _diagonal(adapt_state.mass_matrix_sqrt),
                       self.max_tree_depth)
        z, z_grad = unravel(t.q), unravel(t.grad)
        warming = state.i < self.warmup
        adapt_state = jax.lax.cond(
            warming,
            lambda a: self.adapt(state.i, t.accept_prob, IntegratorState(z, None, t.potential, z_grad), a),
            lambda a: a,
            adapt_state,
        )
        i = state.i + 1
        n = jnp.where(warming, i, i - self.warmup)  # iterations in this phase, as NumPyro counts them
        mean_accept = state.mean_accept_prob + (t.accept_prob - state.mean_accept_prob) / n
        return HMCState(i, z, z_grad, t.potential, t.energy, None, state.trajectory_length, t.n_steps,
                        t.accept_prob, mean_accept, t.diverging, adapt_state, state.rng_key)
