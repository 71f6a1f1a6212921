"""One NUTS transition on a flat parameter vector, with few operations per leapfrog step.

The algorithm is NumPyro's iterative NUTS (``numpyro.infer.hmc_util.build_tree``; Hoffman &
Gelman 2014 with Betancourt 2017's multinomial sampling): momentum p ~ N(0, M) with a diagonal
metric M = diag(1 / m), energy H(q, p) = U(q) + p'(m * p) / 2 (U = potential = -log density);
the trajectory doubles in a random direction until a U-turn (generalised criterion:
(m * p_end) . (rho - (p_left + p_right) / 2) <= 0 at either end, rho = sum of the trajectory's
momenta), a divergence (H - H0 > ``max_delta_energy``) or ``max_depth`` doublings. Within a
subtree the proposal is sampled progressively in proportion to exp(H0 - H); between subtrees the
biased progressive rule moves to the new subtree with probability min(1, W_new / W_old). The
U-turns inside a subtree are checked as each leaf is added, against the momenta kept at the
checkpoints (the even leaves), as NumPyro does. The acceptance statistic is the mean over the
trajectory's leaves of min(1, exp(H0 - H)).

Why not NumPyro's ``build_tree`` itself: on the CPU a small model's NUTS step is made of
per-operation overhead. XLA runs a loop body as a sequence of kernels, and NumPyro's tree (a pytree
of 17 fields combined with ``cond`` s, two while loops per leaf to find the checkpoint indices and a
threefry split per leaf, each threefry a rolled loop of its own) cost 3.5-7.8 microseconds per
leapfrog step on eight schools, around a gradient of 0.06 (one chain, bench/DECISIONS.md). Here the
state is a few flat arrays, the checkpoint indices are bit counts, the choices are ``where``
selects, and the random draws come from a counter-based generator (:func:`_uniform`,
:func:`_normal`) seeded once per iteration: 0.75 microseconds per step. The algorithm is NumPyro's,
so the draws agree with it in distribution (same step sizes, tree depths and acceptance), not
bitwise.

Random numbers: iteration i of a chain with PRNG key k draws everything from the seed words
:func:`iteration_seed` (k, i): the momentum's normals, each doubling's direction and move, and
each leapfrog step's progressive-sampling uniform, each from its own counter, hashed with the seed
by :func:`_mix32` (a bijective 32-bit avalanche), so the same seed gives the same draws.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Transition", "transition", "iteration_seed", "checkpoint_slots"]

_MOVES, _LEAVES, _MOMENTUM = 32, 64, 1 << 31  # counters of the transition's draws (max_depth <= 32)

MAX_DELTA_ENERGY = 1000.0
"""H - H0 above this ends the trajectory as divergent (NumPyro's and Stan's value)."""


class Transition(NamedTuple):
    """The new point and the trajectory's statistics."""

    q: jax.Array  # new position (flat, unconstrained)
    potential: jax.Array  # U(q)
    grad: jax.Array  # dU/dq at q
    energy: jax.Array  # H at the proposal
    n_steps: jax.Array  # leapfrog steps taken
    accept_prob: jax.Array  # mean of min(1, exp(H0 - H)) over the leaves
    diverging: jax.Array


class _Leaf(NamedTuple):
    q: jax.Array
    p: jax.Array
    grad: jax.Array


class _Tree(NamedTuple):
    left: _Leaf
    right: _Leaf
    q: jax.Array  # proposal
    potential: jax.Array
    grad: jax.Array
    energy: jax.Array
    log_weight: jax.Array  # log sum over leaves of exp(H0 - H)
    p_sum: jax.Array
    depth: jax.Array
    turning: jax.Array
    diverging: jax.Array
    sum_accept: jax.Array
    n_steps: jax.Array


def checkpoint_slots(n):
    """Leaf ``n`` (0-based) of a subtree: the checkpoint slot it is stored in when even (slot_max),
    and the slots [slot_min, slot_max] of the subtrees it closes when odd, against whose first
    leaves the U-turn is checked (empty for even n: slot_min = slot_max + 1). slot_max = the
    number of 1 bits of n above its last bit; the subtrees closed = n's trailing 1 bits (NumPyro's
    ``_leaf_idx_to_ckpt_idxs``, there with two while loops)."""
    slot_max = jax.lax.population_count(n >> 1)
    trailing_ones = jax.lax.population_count(n ^ (n + 1)) - 1
    return slot_max - trailing_ones + 1, slot_max


def _is_turning(inverse_mass, p_left, p_right, p_sum):
    """The generalised no-U-turn criterion on the trajectory from ``p_left`` to ``p_right``
    (last axis: parameters; leading axes broadcast)."""
    rho = p_sum - (p_left + p_right) / 2
    return (jnp.sum(inverse_mass * p_left * rho, -1) <= 0) | (jnp.sum(inverse_mass * p_right * rho, -1) <= 0)


def _mix32(h):
    """A bijective avalanche of 32-bit words (the "lowbias32" finaliser: C. Wellons, 2018)."""
    h = h ^ (h >> 16)
    h = h * jnp.uint32(0x7FEB352D)
    h = h ^ (h >> 15)
    h = h * jnp.uint32(0x846CA68B)
    return h ^ (h >> 16)


def iteration_seed(key, i):
    """The seed words of iteration ``i`` of the chain whose PRNG key is ``key`` (uint32[2]): the
    key's words with the counter mixed in (a threefry split per iteration cost 1-2 microseconds,
    a tenth of a small model's iteration)."""
    i = jnp.asarray(i).astype(jnp.uint32)
    return jnp.stack([_mix32(key[0] ^ _mix32(i)), _mix32(key[1] ^ _mix32(i ^ jnp.uint32(0x9E3779B9)))])


def _bits(seed, counter):
    """32 random bits for ``counter`` (scalar or array) of the stream ``seed`` (two uint32 words,
    :func:`iteration_seed`): a counter-based generator, the two words mixed in one after the other.
    A threefry draw per leapfrog step cost 0.3 microseconds here, a third of a small model's step."""
    return _mix32(_mix32(seed[0] ^ jnp.asarray(counter).astype(jnp.uint32)) ^ seed[1])


def _uniform(seed, counter):
    """A uniform draw on [0, 1): the top 24 bits times 2^-24 (at most 1 - 2^-24, exact in float32)."""
    return (_bits(seed, counter) >> 8).astype(jnp.float32) * jnp.float32(2.0**-24)


def _normal_from_bits(bits):
    """Standard normal draws from 32-bit words: the inverse normal CDF, sqrt(2) erfinv(v), at
    v = (k + 1/2) 2^-22 - 1 for the top 23 bits k, so |v| <= 1 - 2^-23 exactly in float32 and the
    draws stay within 5.3 sd (with 24 bits the largest v rounded to 1 and gave an infinite momentum:
    one divergence in about eight fits of 500 groups)."""
    k = (bits >> 9).astype(jnp.float32)
    return jnp.sqrt(jnp.float32(2.0)) * jax.lax.erf_inv((k + 0.5) * jnp.float32(2.0**-22) - 1)


def _normal(seed, counter):
    """Standard normal draws for ``counter`` (an array) of the stream ``seed``."""
    return _normal_from_bits(_bits(seed, counter))


def _store_checkpoint(ck_p, ck_sum, even, slot, p, p_sum):
    """Keep an even leaf's momentum and the momentum sum up to it in row ``slot`` (one row
    written in place: a masked write of the whole arrays cost 3x as much at 500 parameters)."""
    return (ck_p.at[slot].set(jnp.where(even, p, ck_p[slot])),
            ck_sum.at[slot].set(jnp.where(even, p_sum, ck_sum[slot])))


def _turns_against_checkpoints(inverse_mass, ck_p, ck_sum, p, p_sum, slot_min, slot_max):
    """Whether the trajectory from any checkpoint in [slot_min, slot_max] to leaf momentum ``p``
    U-turns (momentum sum from checkpoint a: p_sum - ck_sum[a] + ck_p[a]), from the newest slot
    back, stopping at the first U-turn (NumPyro's order): about one check a leaf on average."""

    def check(state):
        slot, _ = state
        return slot - 1, _is_turning(inverse_mass, ck_p[slot], p, p_sum - ck_sum[slot] + ck_p[slot])

    return jax.lax.while_loop(lambda s: (s[0] >= slot_min) & ~s[1], check, (slot_max, jnp.array(False)))[1]


def _select(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def transition(potential_and_grad: Callable, seed, q, potential, grad, step_size, inverse_mass,
               mass_sqrt, max_depth: int, max_delta_energy: float = MAX_DELTA_ENERGY) -> Transition:
    """One NUTS transition from ``q`` (with its ``potential`` U(q) and ``grad``): momentum
    p = mass_sqrt * z, z ~ N(0, I), then the doubling above; every draw from the ``seed`` words
    (:func:`iteration_seed`). ``potential_and_grad(q)`` returns (U(q), dU/dq); ``inverse_mass`` is
    m, ``mass_sqrt`` = 1 / sqrt(m)."""
    p = mass_sqrt * _normal(seed, jnp.uint32(_MOMENTUM) + jnp.arange(q.shape[0], dtype=jnp.uint32))
    energy0 = potential + 0.5 * jnp.sum(inverse_mass * p * p)
    dim = q.shape[0]
    dtype = q.dtype

    def leapfrog(leaf: _Leaf, eps):
        p_half = leaf.p - 0.5 * eps * leaf.grad
        q_new = leaf.q + eps * inverse_mass * p_half
        u_new, g_new = potential_and_grad(q_new)
        p_new = p_half - 0.5 * eps * g_new
        return _Leaf(q_new, p_new, g_new), u_new

    def subtree(tree: _Tree, going_right, first_counter):
        """Up to 2**depth leaves beyond the tree's end in the chosen direction."""
        n_leaves = jnp.left_shift(1, tree.depth)
        eps = jnp.where(going_right, step_size, -step_size)
        edge = _select(going_right, tree.right, tree.left)
        zeros = jnp.zeros((), dtype)
        init = (
            0, edge,  # leaves built, current edge
            edge.q, zeros, edge.grad, zeros,  # proposal q, U, grad, H
            jnp.array(-jnp.inf, dtype), jnp.zeros(dim, dtype),  # log weight, momentum sum
            jnp.zeros((max_depth, dim), dtype), jnp.zeros((max_depth, dim), dtype),  # checkpoints
            jnp.array(False), jnp.array(False), zeros,  # turning, diverging, sum of accept probs
        )

        def cond(s):
            n, turning, diverging = s[0], s[10], s[11]
            return (n < n_leaves) & ~turning & ~diverging

        def body(s):
            n, edge, pq, pu, pg, ph, log_w, p_sum, ck_p, ck_sum, _, _, sum_accept = s
            leaf, u_new = leapfrog(edge, eps)
            h_new = u_new + 0.5 * jnp.sum(inverse_mass * leaf.p * leaf.p)
            delta = h_new - energy0
            delta = jnp.where(jnp.isnan(delta), jnp.inf, delta)
            diverging = delta > max_delta_energy
            sum_accept = sum_accept + jnp.minimum(1.0, jnp.exp(-delta))
            # progressive sampling within the subtree: move to the new leaf w.p. w_new / W
            new_log_w = jnp.logaddexp(log_w, -delta)
            u = _uniform(seed, first_counter + n)
            take = jnp.log(u) < -delta - new_log_w
            pq, pu, pg, ph = _select(take, (leaf.q, u_new, leaf.grad, h_new), (pq, pu, pg, ph))
            p_sum = p_sum + leaf.p
            slot_min, slot_max = checkpoint_slots(n)
            ck_p, ck_sum = _store_checkpoint(ck_p, ck_sum, n % 2 == 0, slot_max, leaf.p, p_sum)
            turning = _turns_against_checkpoints(inverse_mass, ck_p, ck_sum, leaf.p, p_sum, slot_min, slot_max)
            return (n + 1, leaf, pq, pu, pg, ph, new_log_w, p_sum, ck_p, ck_sum, turning, diverging, sum_accept)

        return jax.lax.while_loop(cond, body, init)

    def double(tree: _Tree) -> _Tree:
        # the transition's draws, by counter: doubling d's direction d, its move _MOVES + d, and
        # the leapfrog steps' _LEAVES + their number in the trajectory
        going_right = _uniform(seed, tree.depth) < 0.5
        n, edge, pq, pu, pg, ph, sub_log_w, sub_p_sum, _, _, sub_turning, sub_diverging, sub_accept = \
            subtree(tree, going_right, _LEAVES + tree.n_steps)
        left = _select(going_right, tree.left, edge)
        right = _select(going_right, edge, tree.right)
        p_sum = tree.p_sum + sub_p_sum
        # biased progressive sampling: move to the subtree's proposal w.p. min(1, W_sub / W_tree)
        move_prob = jnp.where(sub_turning | sub_diverging, 0.0, jnp.minimum(1.0, jnp.exp(sub_log_w - tree.log_weight)))
        move = _uniform(seed, _MOVES + tree.depth) < move_prob
        q, u, g, h = _select(move, (pq, pu, pg, ph), (tree.q, tree.potential, tree.grad, tree.energy))
        turning = sub_turning | _is_turning(inverse_mass, left.p, right.p, p_sum)
        tree = _Tree(left, right, q, u, g, h, jnp.logaddexp(tree.log_weight, sub_log_w), p_sum,
                     tree.depth + 1, turning, sub_diverging, tree.sum_accept + sub_accept, tree.n_steps + n)
        return tree

    start = _Leaf(q, p, grad)
    tree = _Tree(start, start, q, potential, grad, energy0, jnp.zeros((), dtype), p, jnp.zeros((), jnp.int32),
                 jnp.array(False), jnp.array(False), jnp.zeros((), dtype), jnp.zeros((), jnp.int32))
    tree = jax.lax.while_loop(lambda t: (t.depth < max_depth) & ~t.turning & ~t.diverging, double, tree)
    return Transition(tree.q, tree.potential, tree.grad, tree.energy, tree.n_steps,
                      tree.sum_accept / tree.n_steps, tree.diverging)
