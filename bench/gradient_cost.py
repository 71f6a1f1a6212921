"""What one gradient of a benchmark model costs, without the sampler around it.

    python bench/gradient_cost.py            # eight_schools_nc radon binomial500
    python bench/gradient_cost.py radon

For each model: the potential energy (hiermod's NumPyro model, the data as hiermod passes it) and its
gradient, jitted, run 10,000 times inside one ``lax.fori_loop``, for one chain and for 4 chains
vmapped. Compare with the µs/gradient of a NUTS fit in bench/RESULTS.md: the difference is the
sampler's own per-step work.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

STEPS = 10_000


def gradient_us(name: str) -> dict[int, float]:
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree
    from numpyro.infer.util import initialize_model

    import datasets
    from peers import hiermod_peer
    from hiermod.models import prepare

    ds = datasets.get(name)
    model, kwargs, _, _ = prepare(hiermod_peer._load(ds), hiermod_peer._spec(ds, ds.priors))
    info = initialize_model(jax.random.PRNGKey(0), model, model_kwargs=kwargs)
    flat, unravel = ravel_pytree(info.param_info.z)
    value_and_grad = jax.value_and_grad(lambda x: info.potential_fn(unravel(x)))
    out = {}
    for chains in (1, 4):
        step = jax.vmap(value_and_grad) if chains > 1 else value_and_grad

        @jax.jit
        def loop(x, step=step):
            return jax.lax.fori_loop(0, STEPS, lambda i, c: c + 1e-6 * step(c)[1], x)

        x = jnp.tile(flat, (chains, 1)) if chains > 1 else flat
        loop(x).block_until_ready()  # compile
        t0 = time.perf_counter()
        loop(x).block_until_ready()
        out[chains] = (time.perf_counter() - t0) / STEPS * 1e6
    return out


def main(argv: list[str]) -> int:
    names = argv or ["eight_schools_nc", "radon", "binomial500"]
    print("| model | µs per gradient, 1 chain | µs per gradient, 4 chains vmapped (per chain) |")
    print("|---|---|---|")
    for name in names:
        us = gradient_us(name)
        print(f"| {name} | {us[1]:.2f} | {us[4]:.2f} ({us[4] / 4:.2f}) |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
