"""The benchmark data sets and their priors, shared by every peer.

Every data set is built deterministically (fixed seeds), so each peer, running in its own
subprocess, rebuilds exactly the same arrays. A :class:`Dataset` carries the data, the model
(likelihood, parameterization) and two sets of prior values:

* ``priors``       - the stated priors; used for the *second* (warm) call, whose draws give the
                     ESS, divergences and ESS/s in the table;
* ``first_priors`` - the same families with the scales multiplied by 1.5; used for the first
                     (cold) call, so the second call really gets new prior values.

Model, for groups j and rows i with group g[i] (all peers write exactly this):

    mu ~ Normal(mu_loc, mu_scale)
    tau ~ HalfNormal(tau_scale) | HalfCauchy(tau_scale)
    centered:      theta_j ~ Normal(mu, tau)
    non-centered:  theta_decentered_j ~ Normal(0, 1),  theta_j = mu + tau * theta_decentered_j
    normal_known_se: y_i ~ Normal(theta_g[i], se_i)
    normal:          y_i ~ Normal(theta_g[i], sigma),  sigma ~ HalfNormal(sigma_scale)
    binomial:        y_i ~ Binomial(trials_i, logit^-1(theta_g[i]))
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
FIRST_CALL_SCALE = 1.5


@dataclass
class Dataset:
    name: str
    title: str
    likelihood: str            # normal_known_se | normal | binomial
    parameterization: str      # centered | non_centered
    labels: tuple[str, ...]
    group_idx: np.ndarray      # int, 0..n_groups-1
    y: np.ndarray
    se: np.ndarray | None = None
    trials: np.ndarray | None = None
    # name -> (family, args); families: Normal (mu), HalfNormal / HalfCauchy (tau, sigma)
    priors: dict = field(default_factory=dict)
    source: str = ""

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    @property
    def n_rows(self) -> int:
        return int(self.y.shape[0])

    @property
    def first_priors(self) -> dict:
        out = {}
        for name, (family, args) in self.priors.items():
            args = tuple(args)
            out[name] = (family, (args[0], args[1] * FIRST_CALL_SCALE) if family == "Normal"
                         else (args[0] * FIRST_CALL_SCALE,))
        return out

    def frame(self) -> pd.DataFrame:
        """The table hiermod reads (group, y and se / trials)."""
        cols = {"group": np.asarray(self.labels, dtype=object)[self.group_idx], "y": self.y}
        if self.se is not None:
            cols["se"] = self.se
        if self.trials is not None:
            cols["trials"] = self.trials
        return pd.DataFrame(cols)

    def describe(self) -> str:
        pri = ", ".join(f"{k} ~ {f}({', '.join(f'{a:g}' for a in args)})" for k, (f, args) in self.priors.items())
        return (f"{self.title}: {self.likelihood}, {self.parameterization.replace('_', '-')}, "
                f"{self.n_groups:,} groups, {self.n_rows:,} rows; {pri}")


def _labels(n: int) -> tuple[str, ...]:
    width = len(str(n))
    return tuple(f"g{j:0{width}d}" for j in range(n))


def eight_schools(parameterization: str) -> Dataset:
    frame = pd.read_csv(SAMPLE / "eight_schools.csv")
    return Dataset(
        name=f"eight_schools_{'nc' if parameterization == 'non_centered' else 'c'}",
        title=f"Eight schools ({parameterization.replace('_', '-')})",
        likelihood="normal_known_se", parameterization=parameterization,
        labels=tuple(frame["school"].astype(str)), group_idx=np.arange(len(frame)),
        y=frame["effect"].to_numpy(float), se=frame["se"].to_numpy(float),
        priors={"mu": ("Normal", (0.0, 5.0)), "tau": ("HalfCauchy", (5.0,))},
        source="sample_data/eight_schools.csv (real)",
    )


def radon() -> Dataset:
    frame = pd.read_csv(SAMPLE / "radon_mn.csv")
    labels, idx = [], {}
    for county in frame["county"].astype(str):
        if county not in idx:
            idx[county] = len(labels)
            labels.append(county)
    return Dataset(
        name="radon", title="Radon (Minnesota, varying intercept)",
        likelihood="normal", parameterization="non_centered",
        labels=tuple(labels), group_idx=np.array([idx[c] for c in frame["county"].astype(str)]),
        y=frame["log_radon"].to_numpy(float),
        priors={"mu": ("Normal", (0.0, 10.0)), "tau": ("HalfNormal", (1.0,)), "sigma": ("HalfNormal", (1.0,))},
        source="sample_data/radon_mn.csv (real, 919 rows, 85 counties)",
    )


def binomial(n_groups: int = 500, seed: int = 20261) -> Dataset:
    rng = np.random.default_rng(seed)
    trials = rng.integers(20, 201, n_groups)
    theta = rng.normal(-1.0, 0.7, n_groups)
    y = rng.binomial(trials, 1 / (1 + np.exp(-theta)))
    return Dataset(
        name="binomial500", title=f"Binomial, {n_groups} groups",
        likelihood="binomial", parameterization="non_centered",
        labels=_labels(n_groups), group_idx=np.arange(n_groups), y=y.astype(float),
        trials=trials.astype(float),
        priors={"mu": ("Normal", (0.0, 2.5)), "tau": ("HalfNormal", (1.0,))},
        source=f"simulated (seed {seed}): trials 20-200, logit p ~ Normal(-1, 0.7)",
    )


def gaussian(n_groups: int, n_rows: int, parameterization: str = "centered", seed: int = 20262,
             name: str | None = None, title: str | None = None) -> Dataset:
    """Simulated gaussian data: theta_j ~ Normal(1, 0.5), y ~ Normal(theta, 1); every group non-empty."""
    rng = np.random.default_rng([seed, n_groups, n_rows])
    group_idx = np.concatenate([np.arange(n_groups), rng.integers(0, n_groups, n_rows - n_groups)])
    theta = rng.normal(1.0, 0.5, n_groups)
    y = theta[group_idx] + rng.standard_normal(n_rows)
    return Dataset(
        name=name or f"gauss_g{n_groups}_n{n_rows}",
        title=title or f"Gaussian, {n_groups:,} groups x {n_rows:,} rows",
        likelihood="normal", parameterization=parameterization,
        labels=_labels(n_groups), group_idx=group_idx, y=y,
        priors={"mu": ("Normal", (0.0, 10.0)), "tau": ("HalfNormal", (1.0,)), "sigma": ("HalfNormal", (1.0,))},
        source=f"simulated (seed {seed}): theta ~ Normal(1, 0.5), y ~ Normal(theta, 1)",
    )


def summary(n_groups: int, seed: int = 20263) -> Dataset:
    """Simulated estimates with known standard errors (for the exact method)."""
    rng = np.random.default_rng([seed, n_groups])
    se = rng.uniform(5, 15, n_groups)
    y = rng.normal(5, 8, n_groups) + se * rng.standard_normal(n_groups)
    return Dataset(
        name=f"summary{n_groups}", title=f"Known-se summary, {n_groups:,} groups",
        likelihood="normal_known_se", parameterization="non_centered",
        labels=_labels(n_groups), group_idx=np.arange(n_groups), y=y, se=se,
        priors={"mu": ("Normal", (0.0, 5.0)), "tau": ("HalfCauchy", (5.0,))},
        source=f"simulated (seed {seed})",
    )


LARGE = dict(n_groups=2000, n_rows=200_000)
MODELS = {
    "eight_schools_c": lambda: eight_schools("centered"),
    "eight_schools_nc": lambda: eight_schools("non_centered"),
    "radon": radon,
    "binomial500": binomial,
    "large": lambda: gaussian(**LARGE, parameterization="centered", name="large",
                              title="Large gaussian, 2,000 groups x 200,000 rows (centered)"),
}
_GAUSS = re.compile(r"^gauss_g(\d+)_n(\d+)$")
_SUMMARY = re.compile(r"^summary(\d+)$")


def get(name: str) -> Dataset:
    """A data set by name: one of MODELS, ``gauss_g<G>_n<N>`` or ``summary<G>``."""
    if name in MODELS:
        return MODELS[name]()
    if m := _GAUSS.match(name):
        return gaussian(int(m.group(1)), int(m.group(2)))
    if m := _SUMMARY.match(name):
        return summary(int(m.group(1)))
    raise KeyError(f"unknown data set {name!r}; known: {', '.join(MODELS)}, gauss_g<G>_n<N>, summary<G>")
