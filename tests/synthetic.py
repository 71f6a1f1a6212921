"""Small simulated data sets of every kind, drawn from the model they will be fitted with."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hiermod.data import ColumnMap, load_data

# Short chains for tests that check structure, not numbers (reference tests use full settings).
QUICK = dict(chains=2, warmup=300, draws=300, seed=1)

KIND_OF = {
    "normal_known_se": "summary",
    "normal": "gaussian",
    "student_t": "gaussian",
    "binomial": "binomial",
    "poisson": "poisson",
    "negative_binomial": "poisson",
}


def simulate(likelihood: str, n_groups: int = 6, rows_per_group: int = 6, covariate: bool = False,
             seed: int = 0, mu: float = 0.5, tau: float = 0.7, sigma: float = 1.0):
    """GroupedData drawn from the hierarchical model of ``likelihood`` (labels ``g1``..)."""
    rng = np.random.default_rng(seed)
    kind = KIND_OF[likelihood]
    theta = mu + tau * rng.standard_normal(n_groups)
    labels = [f"g{j + 1}" for j in range(n_groups)]
    if kind == "summary":
        se = rng.uniform(0.5, 1.5, n_groups)
        frame = pd.DataFrame({"group": labels, "y": theta + se * rng.standard_normal(n_groups), "se": se})
        return load_data(frame, ColumnMap("group", "y", "summary", se="se"))
    g = np.repeat(np.arange(n_groups), rows_per_group)
    x = rng.standard_normal(g.size)
    eta = theta[g] + (0.4 * x if covariate else 0.0)
    frame = pd.DataFrame({"group": [labels[j] for j in g], "x": x})
    cov = ("x",) if covariate else ()
    if kind == "gaussian":
        noise = rng.standard_t(5, g.size) if likelihood == "student_t" else rng.standard_normal(g.size)
        frame["y"] = eta + sigma * noise
        return load_data(frame, ColumnMap("group", "y", "gaussian", covariates=cov))
    if kind == "binomial":
        frame["n"] = rng.integers(5, 30, g.size)
        frame["y"] = rng.binomial(frame["n"], 1 / (1 + np.exp(-eta)))
        return load_data(frame, ColumnMap("group", "y", "binomial", trials="n", covariates=cov))
    frame["t"] = rng.uniform(0.5, 2.0, g.size)
    frame["y"] = rng.poisson(frame["t"] * np.exp(eta))
    return load_data(frame, ColumnMap("group", "y", "poisson", exposure="t", covariates=cov))
