"""Measure (what hiermod.fit now does by default: hiermod/nuts_start.py, warmup 300): NUTS started from instant draws, with the instant
posterior's diagonal mass matrix held fixed and a short warmup that adapts the step size only,
against hiermod's default (1,000 warmup iterations, Stan's windowed mass-matrix adaptation).

    python bench/instant_warmup.py                      # eight_schools_nc radon; writes bench/INSTANT_WARMUP.md
    python bench/instant_warmup.py radon --no-write

NumPyro's own MCMC (4 chains vectorized, target acceptance 0.9 as hiermod's default, 1,000 kept
draws) on hiermod's model and data (hiermod.models.prepare). The figures do not depend on the
machine's load: leapfrog steps (= gradients) in warmup and sampling per effective sample (min bulk
ESS over mu, tau, sigma, theta), divergences, and the largest |z| = |NUTS mean - exact instant mean| /
MCSE over those parameters (the instant grid's means: no Monte Carlo error of their own).
"""
import argparse, datetime, json, platform, sys, time
from pathlib import Path
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE / "peers"), str(HERE.parent)]
import numpy as np, jax, jax.numpy as jnp
import arviz as az
from jax.flatten_util import ravel_pytree
from numpyro.infer import MCMC, NUTS
from numpyro.infer.util import unconstrain_fn
import datasets as D, hiermod_peer as P
import hiermod
from hiermod.models import prepare

def run(name, warmups=(1000, 300, 150), seeds=(1, 2)):
    ds = D.get(name); data = P._load(ds); spec = P._spec(ds, ds.priors)
    model, kwargs, priors, structure = prepare(data, spec)
    inst = hiermod.fit(data, spec, method="instant")
    from hiermod.instant import instant_posterior
    exact = instant_posterior(data, spec)
    post = inst.idata.posterior
    sites = {"mu": post["mu"].values.reshape(-1), "tau": post["tau"].values.reshape(-1)}
    theta = post["theta"].values.reshape(-1, data.n_groups)
    nc = spec.parameterization.value == "non_centered" if hasattr(spec.parameterization, "value") else spec.parameterization == "non_centered"
    if nc:
        sites["theta_decentered"] = (theta - sites["mu"][:, None]) / sites["tau"][:, None]
    else:
        sites["theta"] = theta
    if "sigma" in post:
        sites["sigma"] = post["sigma"].values.reshape(-1)
    n = 400
    unc = [unconstrain_fn(model, (), kwargs, {k: jnp.asarray(v[i]) for k, v in sites.items()}) for i in range(n)]
    flat = np.stack([np.asarray(ravel_pytree(u)[0]) for u in unc])
    imm = jnp.asarray(flat.var(0))
    rows = []
    for w in warmups:
        for seed in seeds:
            default = w == 1000
            kern = NUTS(model, target_accept_prob=0.9, **({} if default else dict(inverse_mass_matrix=imm, adapt_mass_matrix=False)))
            mcmc = MCMC(kern, num_warmup=w, num_samples=1000, num_chains=4, chain_method="vectorized", progress_bar=False)
            init = None if default else jax.tree.map(lambda *a: jnp.stack(a), *[unc[seed * 7 + c] for c in range(4)])
            key = jax.random.PRNGKey(seed)
            mcmc.warmup(key, init_params=init, extra_fields=("num_steps",), collect_warmup=True, **kwargs)
            warm_steps = int(np.asarray(mcmc.get_extra_fields()["num_steps"]).sum())
            mcmc.run(mcmc.post_warmup_state.rng_key, extra_fields=("num_steps", "diverging"), **kwargs)
            ex = mcmc.get_extra_fields(group_by_chain=True)
            s = mcmc.get_samples(group_by_chain=True)
            samp_steps = int(np.asarray(ex["num_steps"]).sum())
            d = {k: np.asarray(v) for k, v in s.items() if k in ("mu", "tau", "sigma", "theta_decentered", "theta")}
            if "theta_decentered" in d:
                d["theta"] = d["mu"][..., None] + d["tau"][..., None] * d.pop("theta_decentered")
            ess = min(float(np.min(az.ess(v, method="bulk") if v.ndim == 2 else [az.ess(v[..., j], method="bulk") for j in range(v.shape[-1])])) for v in d.values())
            z = []
            for k in ("mu", "tau", "sigma", "theta"):
                if k in d:
                    v = d[k]; m = v.reshape(-1, *v.shape[2:]).mean(0)
                    mcse = np.asarray([az.mcse(v[..., j] if v.ndim == 3 else v) for j in range(v.shape[-1] if v.ndim == 3 else 1)]).ravel()
                    ref = np.ravel(exact.mean(k))
                    z.append(np.abs(np.ravel(m) - ref) / mcse)
            rows.append(dict(model=name, warmup=w, seed=seed, mass="Stan windows" if default else "instant diag, fixed",
                             warm_steps=warm_steps, samp_steps=samp_steps, min_ess=round(ess),
                             grads_per_ess=round((warm_steps + samp_steps) / ess, 1),
                             div=int(np.asarray(ex["diverging"]).sum()), max_z=round(float(np.max(np.concatenate(z))), 2)))
            print(json.dumps(rows[-1]), flush=True)
    return rows

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", default=["eight_schools_nc", "radon"])
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    start = datetime.datetime.now()
    rows = [r for name in args.models for r in run(name)]
    if args.no_write:
        return
    keys = ["model", "warmup", "seed", "mass", "warm_steps", "samp_steps", "min_ess", "grads_per_ess", "div", "max_z"]
    lines = ["# NUTS from the instant posterior: a short warmup with its mass matrix", "",
             f"Run {start:%Y-%m-%d %H:%M} by `python bench/instant_warmup.py {' '.join(args.models)}` on "
             f"{platform.node()}; see the script's docstring for what is measured. Wired into `hiermod.fit` since (hiermod/nuts_start.py, 300 warmup iterations).", "",
             "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    (HERE / "INSTANT_WARMUP.md").write_text("\n".join(lines) + "\n")
    (HERE / "INSTANT_WARMUP.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
