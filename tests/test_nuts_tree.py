"""hiermod.nuts_tree: the NUTS transition samples its target (closed-form moments, judged by
ArviZ's Monte Carlo standard errors), its bookkeeping matches NumPyro's, its random streams are
uniform and normal."""

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import special, stats

from hiermod.nuts_tree import _normal, _normal_from_bits, _uniform, checkpoint_slots, transition

Z_MAX = 4.5  # |estimate - truth| / MCSE over a dozen fixed-seed checks


def _run(potential, dim, step_size, inverse_mass, n_iter=2500, chains=4, max_depth=10, seed=0):
    """Draws (chains, n_iter, dim) of ``transition`` at a fixed step size and metric, from 0."""
    value_and_grad = jax.value_and_grad(potential)
    inverse_mass = jnp.asarray(inverse_mass, jnp.float32)
    mass_sqrt = 1 / jnp.sqrt(inverse_mass)

    def chain(key):
        q = jnp.zeros(dim)
        u, g = value_and_grad(q)

        def body(carry, i):
            q, u, g = carry
            seed_words = jax.random.bits(jax.random.fold_in(key, i), (2,), jnp.uint32)
            t = transition(value_and_grad, seed_words, q, u, g, step_size, inverse_mass, mass_sqrt, max_depth)
            return (t.q, t.potential, t.grad), (t.q, t.n_steps, t.diverging, t.accept_prob)

        return jax.lax.scan(body, (q, u, g), jnp.arange(n_iter))[1]

    draws, steps, diverging, accept = jax.jit(jax.vmap(chain))(jax.random.split(jax.random.PRNGKey(seed), chains))
    return np.asarray(draws)[:, 200:], np.asarray(steps), np.asarray(diverging), np.asarray(accept)


def _z_scores(draws, truth_mean):
    """(estimate - truth) / MCSE for each coordinate's mean."""
    idata = az.convert_to_inference_data(draws)
    mean = draws.mean(axis=(0, 1))
    mcse = az.mcse(idata, method="mean").x.values
    return (mean - truth_mean) / mcse


def test_gaussian_with_unequal_scales_and_a_misfit_metric():
    scales = np.array([0.3, 1.0, 3.0, 10.0, 1.0], dtype=np.float32)
    draws, steps, diverging, _ = _run(lambda q: 0.5 * jnp.sum((q / scales) ** 2), 5, 0.5,
                                      scales**2 * np.array([1, 2, 0.5, 1, 3]))
    assert not diverging.any()
    assert np.all(np.abs(_z_scores(draws, 0.0)) < Z_MAX)
    assert np.all(np.abs(_z_scores(draws**2, scales**2)) < Z_MAX)  # variances
    assert steps.max() < 2**10 - 1


def test_correlated_gaussian():
    rho = 0.9
    precision = np.linalg.inv(np.array([[1, rho], [rho, 1]])).astype(np.float32)
    draws, _, diverging, _ = _run(lambda q: 0.5 * q @ precision @ q, 2, 0.3, np.ones(2))
    assert not diverging.any()
    assert np.all(np.abs(_z_scores(draws, 0.0)) < Z_MAX)
    assert abs(_z_scores((draws[..., :1] * draws[..., 1:]), rho)[0]) < Z_MAX


def test_log_gamma_moments():
    """x = log y, y ~ Gamma(a): E x = digamma(a), Var x = trigamma(a) (skewed, light and heavy tail)."""
    a = 2.0
    draws, _, diverging, _ = _run(lambda q: -(a * q[0] - jnp.exp(q[0])), 1, 0.8, np.ones(1))
    assert not diverging.any()
    mean, var = special.digamma(a), special.polygamma(1, a)
    assert abs(_z_scores(draws, mean)[0]) < Z_MAX
    assert abs(_z_scores((draws - mean) ** 2, var)[0]) < Z_MAX


def test_tree_depth_limit_and_divergence():
    _, steps, _, accept = _run(lambda q: 0.5 * jnp.sum(q**2), 3, 0.001, np.ones(3), n_iter=210, max_depth=3)
    assert np.all(steps == 2**3 - 1)  # a tiny step never turns: every trajectory hits the depth limit
    assert np.all(accept > 0.99)
    _, steps, diverging, _ = _run(lambda q: 0.5 * jnp.sum((q / 1e-3) ** 2), 3, 5.0, np.ones(3), n_iter=210)
    assert diverging.all()  # a step 5,000 times the target's scale: energy error > 1000 at once
    assert np.all(steps == 1)


def test_same_seed_same_transition():
    def once():
        return _run(lambda q: 0.5 * jnp.sum(q**2), 2, 0.5, np.ones(2), n_iter=250, seed=3)[0]

    np.testing.assert_array_equal(once(), once())


def test_checkpoint_slots_match_numpyro():
    from numpyro.infer.hmc_util import _leaf_idx_to_ckpt_idxs

    for n in range(1024):
        ours = tuple(int(v) for v in checkpoint_slots(jnp.int32(n)))
        assert ours == tuple(int(v) for v in _leaf_idx_to_ckpt_idxs(jnp.int32(n))), n


@pytest.mark.parametrize("seed", [(0, 0), (1, 2), (0xFFFFFFFF, 12345)])
def test_streams_are_uniform_and_normal(seed):
    words = jnp.asarray(seed, jnp.uint32)
    counters = jnp.arange(2**16, dtype=jnp.uint32)
    u = np.asarray(jax.vmap(lambda c: _uniform(words, c))(counters), dtype=float)
    z = np.asarray(_normal(words, counters), dtype=float)
    assert u.min() >= 0 and u.max() < 1
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    assert stats.kstest(z, "norm").pvalue > 1e-4
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 5 / np.sqrt(u.size)  # neighbouring counters
    other = np.asarray(_normal(words ^ jnp.uint32(1), counters), dtype=float)  # a neighbouring seed
    assert abs(np.corrcoef(z, other)[0, 1]) < 5 / np.sqrt(z.size)


def test_normals_are_finite_at_the_extreme_bits():
    """The largest and smallest 32-bit words give finite normals (a 24-bit version rounded the
    largest to erfinv(1) = inf: an infinite momentum, a divergence at the first step)."""
    words = jnp.array([0, 1, 511, 512, 2**31, 2**32 - 513, 2**32 - 512, 2**32 - 1], jnp.uint32)
    z = np.asarray(_normal_from_bits(words))
    assert np.all(np.isfinite(z)) and np.all(np.abs(z) < 5.5)
    assert z[0] < -5 and z[-1] > 5 and z[0] == -z[-1]  # symmetric tails
