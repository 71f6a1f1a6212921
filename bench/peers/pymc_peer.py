"""PyMC (default NUTS sampler). Prior hyperparameters are ``pm.Data`` so the second call only
changes them with ``pm.set_data`` (the compiled graph is the same); ``build_model`` is reused by
nutpie."""

from __future__ import annotations

import logging

import numpy as np

import pymc as pm  # imported before the memory baseline

from common import Stopwatch, min_bulk_ess

logging.getLogger("pymc").setLevel(logging.ERROR)


def hyper_values(priors: dict) -> dict[str, np.ndarray]:
    """pm.Data values for the prior hyperparameters."""
    out = {"mu_loc": priors["mu"][1][0], "mu_scale": priors["mu"][1][1], "tau_scale": priors["tau"][1][0]}
    if "sigma" in priors:
        out["sigma_scale"] = priors["sigma"][1][0]
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def build_model(dataset, priors: dict) -> pm.Model:
    """The benchmark model (see bench/datasets.py) in PyMC."""
    h = hyper_values(priors)
    g = np.asarray(dataset.group_idx, dtype=np.int64)
    with pm.Model(coords={"group": np.arange(dataset.n_groups)}) as model:
        d = {k: pm.Data(k, v) for k, v in h.items()}
        mu = pm.Normal("mu", d["mu_loc"], d["mu_scale"])
        family = priors["tau"][0]
        if family == "HalfCauchy":
            tau = pm.HalfCauchy("tau", beta=d["tau_scale"])
        elif family == "HalfNormal":
            tau = pm.HalfNormal("tau", sigma=d["tau_scale"])
        else:  # pragma: no cover
            raise ValueError(family)
        if dataset.parameterization == "centered":
            theta = pm.Normal("theta", mu, tau, dims="group")
        else:
            z = pm.Normal("theta_decentered", 0.0, 1.0, dims="group")
            theta = pm.Deterministic("theta", mu + tau * z, dims="group")
        eta = theta[g]
        if dataset.likelihood == "normal_known_se":
            pm.Normal("y", eta, np.asarray(dataset.se), observed=dataset.y)
        elif dataset.likelihood == "normal":
            sigma = pm.HalfNormal("sigma", sigma=d["sigma_scale"])
            pm.Normal("y", eta, sigma, observed=dataset.y)
        elif dataset.likelihood == "binomial":
            pm.Binomial("y", n=np.asarray(dataset.trials, dtype=np.int64), logit_p=eta,
                        observed=np.asarray(dataset.y, dtype=np.int64))
        else:  # pragma: no cover
            raise ValueError(dataset.likelihood)
    return model


def summarize(idata, sampling_s: float) -> dict:
    post = idata.posterior
    names = [n for n in ("mu", "tau", "sigma", "theta") if n in post]
    ess, where = min_bulk_ess({n: post[n].values for n in names})
    stats = idata.sample_stats
    steps = stats["n_steps"].values.sum() if "n_steps" in stats else np.nan
    return {"sampling_s": sampling_s, "min_ess_bulk": ess, "min_ess_where": where,
            "divergences": int(stats["diverging"].values.sum()),
            "leapfrog_steps": float(steps), "s_per_gradient": sampling_s / steps if steps else np.nan}


def _sample(model, chains, warmup, draws, seed):
    with model:
        return pm.sample(draws=draws, tune=warmup, chains=chains, random_seed=seed, progressbar=False,
                         compute_convergence_checks=False)


def fit(dataset, chains: int, warmup: int, draws: int, seed: int, monitor=None) -> dict:
    if monitor:
        monitor.phase("first")
    with Stopwatch() as first:
        model = build_model(dataset, dataset.first_priors)
        _sample(model, chains, warmup, draws, seed)
    if monitor:
        monitor.phase("second")
    with Stopwatch() as second:
        pm.set_data(hyper_values(dataset.priors), model=model)
        idata = _sample(model, chains, warmup, draws, seed + 1)
    if monitor:
        monitor.phase("after")
    out = summarize(idata, float(idata.sample_stats.attrs.get("sampling_time", second.s)))
    import os
    out.update(first_s=first.s, second_s=second.s,
               note="second call: pm.set_data (new prior values) + pm.sample on the same model "
                    "(pm.sample compiles its functions again; PyTensor's on-disk C cache is reused); "
                    f"chains in {min(os.cpu_count() or 1, 4)} processes; sampling_s = PyMC's sampling_time")
    return out
