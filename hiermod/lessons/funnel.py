"""Lesson 10: the funnel. Eight schools' posterior of (log tau, theta_j) narrows to a neck as tau -> 0
(given tau the theta_j lie within about tau of mu). Three views of the same posterior:

exact           independent draws of the instant posterior (``known_se`` engine, exact): where the
                mass really is, neck included;
centered NUTS   theta_j ~ Normal(mu, tau) sampled directly: the step size that suits the wide mouth is
                too large for the neck, so trajectories there diverge and the neck is under-sampled;
non-centered    theta_j = mu + tau z_j, z_j ~ Normal(0, 1): the sampler sees a round posterior.

The NUTS fits are small (``NUTS_SETTINGS``) and run on demand (they are the one thing in the lessons
that is sampled, not computed). Target acceptance 0.8, the common default of other samplers (hiermod
uses 0.9), so the divergences show. Reported: each view's share of draws with tau < NECK, the
divergences and the median log tau of the divergent draws against all draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .common import SEED

__all__ = ["NECK", "NUTS_SETTINGS", "VIEWS", "exact_draws", "nuts_draws", "Funnel", "funnel"]

NECK = 1.0
"""tau below this (SAT points) is the funnel's neck."""
NUTS_SETTINGS = dict(chains=2, warmup=300, draws=1000, target_accept=0.8)
VIEWS = ("exact (instant posterior)", "NUTS, centered", "NUTS, non-centered")


def _spec(parameterization: str = "non_centered"):
    from ..spec import ModelSpec

    return ModelSpec("normal_known_se", parameterization=parameterization)


def _long(view: str, labels, theta: np.ndarray, tau: np.ndarray, diverging: np.ndarray) -> pd.DataFrame:
    S, J = theta.shape
    return pd.DataFrame({"view": view, "group": np.tile(np.asarray(labels, object), S), "theta": theta.ravel(),
                         "log_tau": np.repeat(np.log(tau), J), "diverging": np.repeat(diverging, J)})


def exact_draws(draws: int = 2000, seed: int = SEED) -> pd.DataFrame:
    """Independent draws of the exact posterior, long: view, group, theta, log_tau, diverging (False)."""
    from ..instant import instant_posterior
    from .schools import schools

    data = schools()
    d = instant_posterior(data, _spec()).draws(draws, np.random.default_rng(seed))
    return _long(VIEWS[0], data.labels, np.asarray(d["theta"], float), np.asarray(d["tau"], float),
                 np.zeros(draws, bool))


def nuts_draws(seed: int = 1) -> pd.DataFrame:
    """The centered and non-centered NUTS fits (``NUTS_SETTINGS``), long as :func:`exact_draws`."""
    from ..fitting import fit
    from .schools import schools

    data = schools()
    out = []
    for view, param in zip(VIEWS[1:], ("centered", "non_centered")):
        f = fit(data, _spec(param), seed=seed, **NUTS_SETTINGS)
        theta = np.asarray(f.draws("theta"), float)
        div = np.asarray(f.idata.sample_stats["diverging"].values, bool).reshape(-1)
        out.append(_long(view, data.labels, theta, np.asarray(f.draws("tau"), float), div))
    return pd.concat(out, ignore_index=True)


@dataclass(frozen=True)
class Funnel:
    """``table``: view, group, theta, log_tau, diverging (one school); ``summary``: view, draws, neck
    (share with tau < NECK), divergences, log_tau_median, log_tau_divergent (median over divergent
    draws)."""

    table: pd.DataFrame
    summary: pd.DataFrame
    group: str

    def sentences(self) -> list[str]:
        s = self.summary.set_index("view")
        out = [f"The exact posterior puts {s.loc[VIEWS[0], 'neck']:.0%} of its mass in the neck (tau < {NECK:g}): "
               "the schools may well not differ at all."]
        if VIEWS[1] in s.index:
            c, n = s.loc[VIEWS[1]], s.loc[VIEWS[2]]
            out.append(f"Centered NUTS: {c['neck']:.0%} of its draws in the neck and {c['divergences']:.0f} divergent "
                       f"transitions, at a median log tau of {c['log_tau_divergent']:.2f} against "
                       f"{c['log_tau_median']:.2f} for all draws: they happen where the funnel narrows.")
            out.append(f"Non-centered NUTS: {n['neck']:.0%} in the neck, {n['divergences']:.0f} divergences: the same "
                       "model written as theta = mu + tau z is easy to sample.")
        return out


def funnel(group: str, nuts: pd.DataFrame | None = None, exact: pd.DataFrame | None = None) -> Funnel:
    """Lesson 10 for school ``group``: the exact draws and, when given, the NUTS draws."""
    from ..errors import DataError

    exact = exact_draws() if exact is None else exact
    table = pd.concat([exact] + ([nuts] if nuts is not None else []), ignore_index=True)
    if group not in set(table["group"]):
        raise DataError(f"No school called {group!r}; the schools are {', '.join(map(str, pd.unique(table['group'])))}.")
    rows = []
    for view, t in table[table["group"] == table["group"].iloc[0]].groupby("view", sort=False):
        div = t["diverging"].to_numpy(bool)
        lt = t["log_tau"].to_numpy(float)
        rows.append({"view": view, "draws": len(t), "neck": float(np.mean(lt < np.log(NECK))),
                     "divergences": int(div.sum()), "log_tau_median": float(np.median(lt)),
                     "log_tau_divergent": float(np.median(lt[div])) if div.any() else float("nan")})
    return Funnel(table[table["group"] == group].reset_index(drop=True), pd.DataFrame(rows), group)
