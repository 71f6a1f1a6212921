"""Microseconds per leapfrog step of one NUTS chain: NumPyro's tree building against
hiermod.nuts_tree's, and a bare leapfrog loop (the floor), on the benchmark models' potentials.

Each trajectory builder runs ``--transitions`` NUTS transitions in one jitted loop from the same
start (the end of a run at a tenth of the step size), at the same fixed step size and unit metric (no adaptation: the cost of a step, not the
sampler's efficiency), one chain, after a warm-up call that compiles; time / leapfrog steps taken.

    python bench/nuts_step_cost.py [--models eight_schools_nc radon] [--transitions 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

STEP_SIZE = {"eight_schools_nc": 0.3, "eight_schools_c": 0.1, "radon": 0.05, "binomial500": 0.05}


def _potential(name: str):
    import jax
    from jax.flatten_util import ravel_pytree
    from numpyro.infer import NUTS

    import datasets
    from hiermod.models import prepare
    from peers.hiermod_peer import _load, _spec

    case = datasets.get(name)
    model, kwargs, _, _ = prepare(_load(case), _spec(case, case.priors))
    kernel = NUTS(model)
    state = kernel.init(jax.random.PRNGKey(0), 10, model_kwargs=kwargs)
    q0, unravel = ravel_pytree(state.z)
    return kernel, kwargs, q0, unravel


def _timed(fn, *args) -> tuple[float, object]:
    import jax

    jax.block_until_ready(fn(*args))
    t = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    return time.perf_counter() - t, out


def measure(name: str, transitions: int) -> dict:
    import jax
    import jax.numpy as jnp
    from numpyro.infer.hmc_util import IntegratorState, build_tree, euclidean_kinetic_energy, velocity_verlet

    from hiermod.nuts_tree import iteration_seed, transition

    kernel, kwargs, q0, unravel = _potential(name)
    eps = STEP_SIZE.get(name, 0.1)
    dim = q0.shape[0]
    ones = jnp.ones(dim)

    def value_and_grad(kw):
        potential = kernel._potential_fn_gen(**kw)
        return jax.value_and_grad(lambda q: potential(unravel(q)))

    def bare(kw, q, n):
        vg = value_and_grad(kw)

        def body(_, c):
            q, p, g = c
            p = p - 0.5 * eps * g
            q = q + eps * p
            u, g = vg(q)
            return q, p - 0.5 * eps * g, g + 0 * u

        return jax.lax.fori_loop(0, n, body, (q, 0.1 * ones, vg(q)[1]))

    def ours(kw, q, eps=eps):
        vg = value_and_grad(kw)
        u, g = vg(q)
        key = jnp.array([0, 1], jnp.uint32)

        def body(i, c):
            q, u, g, steps = c
            t = transition(vg, iteration_seed(key, i), q, u, g, eps, ones, ones, 10)
            return t.q, t.potential, t.grad, steps + t.n_steps

        return jax.lax.fori_loop(0, transitions, body, (q, u, g, 0))

    def numpyros(kw, q):
        potential = kernel._potential_fn_gen(**kw)
        flat_potential = lambda x: potential(unravel(x))  # noqa: E731
        _, vv_update = velocity_verlet(flat_potential, euclidean_kinetic_energy)
        u, g = jax.value_and_grad(flat_potential)(q)

        def body(_, c):
            q, u, g, key, steps = c
            key, k_momentum, k_tree = jax.random.split(key, 3)
            p = jax.random.normal(k_momentum, (dim,))
            tree = build_tree(vv_update, euclidean_kinetic_energy, IntegratorState(q, p, u, g), ones, eps,
                              k_tree, max_tree_depth=10)
            return tree.z_proposal, tree.z_proposal_pe, tree.z_proposal_grad, key, steps + tree.num_proposals

        return jax.lax.fori_loop(0, transitions, body, (q, u, g, jax.random.PRNGKey(1), 0))

    # start in the typical set: NumPyro's random start diverges at once on radon and binomial500
    q0 = jax.jit(ours, static_argnums=2)(kwargs, q0, eps / 10)[0]
    n_bare = 20_000
    t_bare, _ = _timed(jax.jit(bare, static_argnums=2), kwargs, q0, n_bare)
    t_ours, out_ours = _timed(jax.jit(ours), kwargs, q0)
    t_np, out_np = _timed(jax.jit(numpyros), kwargs, q0)
    steps_ours, steps_np = int(out_ours[-1]), int(out_np[-1])
    return {"model": name, "dim": dim, "step_size": eps,
            "bare_us": 1e6 * t_bare / n_bare,
            "hiermod_us": 1e6 * t_ours / steps_ours, "hiermod_steps_per_transition": steps_ours / transitions,
            "numpyro_us": 1e6 * t_np / steps_np, "numpyro_steps_per_transition": steps_np / transitions}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["eight_schools_nc", "eight_schools_c", "radon", "binomial500"])
    ap.add_argument("--transitions", type=int, default=2000)
    args = ap.parse_args()
    print("| model | parameters | bare leapfrog µs | hiermod µs/step | NumPyro µs/step | NumPyro / hiermod | steps per transition (hiermod / NumPyro) |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models:
        r = measure(name, args.transitions)
        print(f"| {r['model']} | {r['dim']} | {r['bare_us']:.3f} | {r['hiermod_us']:.3f} | {r['numpyro_us']:.3f} | "
              f"{r['numpyro_us'] / r['hiermod_us']:.1f} | {r['hiermod_steps_per_transition']:.1f} / "
              f"{r['numpyro_steps_per_transition']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
