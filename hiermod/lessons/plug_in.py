"""Lesson 7: why marginalize over tau? Empirical Bayes (tau plugged in) against full Bayes.

Full Bayes: p(theta_j | y) = ∫ p(theta_j | tau, y) p(tau | y) dtau, the instant posterior. Empirical
Bayes at a plug-in value t: p(theta_j | tau = t, y), the instant posterior with ``fixed={"tau": t}``
(mu still integrated). The model is the eight schools' with the dashboard's data-scaled default priors
(mu ~ Normal(7.5, 27.5), tau ~ HalfNormal(11)), on the eight schools themselves or on a design of
J schools whose standard errors repeat the eight schools' (what the coverage study needs: simulated
effects, the same standard errors). Coverage comes from :func:`hiermod.empirical_bayes.coverage_study`
(data sets simulated from the prior with that design, EB at tau's posterior mode).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import DataError
from .common import INTERVAL, interval

__all__ = ["spec", "design", "PlugInView", "plug_in_view", "coverage"]


def spec():
    """Eight schools' model with the data-scaled default priors."""
    from ..spec import ModelSpec

    return ModelSpec("normal_known_se")


def design(schools: int):
    """``schools`` groups whose estimates and standard errors repeat the eight schools' (labels A..H,
    then A2..H2, ...)."""
    import pandas as pd

    from ..data import ColumnMap, DataKind, load_data
    from .common import group_values
    from .schools import schools as eight

    if int(schools) < 2:
        raise DataError(f"The design needs at least 2 schools; got {schools!r}.")
    base = eight()
    k = np.arange(int(schools)) % base.n_groups
    rounds = np.arange(int(schools)) // base.n_groups
    labels = [base.labels[j] + (str(r + 1) if r else "") for j, r in zip(k, rounds)]
    frame = pd.DataFrame({"school": labels, "effect": group_values(base, "y")[k], "se": group_values(base, "se")[k]})
    return load_data(frame, ColumnMap(group="school", y="effect", kind=DataKind.SUMMARY, se="se"))


@dataclass(frozen=True)
class PlugInView:
    """Full Bayes against EB at tau = ``tau``. ``forest``: model (full Bayes, empirical Bayes), group,
    mean, low, high; ``density``: tau's posterior (tau, density); ``mode``: tau's posterior mode (the
    usual EB plug-in; 0 at the boundary); ``ratio``: mean width EB / FB; ``above``: P(tau > plug-in | y)."""

    forest: pd.DataFrame
    density: pd.DataFrame
    tau: float
    mode: float
    tau_mean: float
    ratio: float
    above: float

    def sentences(self) -> list[str]:
        return [
            f"Full Bayes averages over every tau the data allow (posterior mean {self.tau_mean:.1f}); empirical "
            f"Bayes takes one value, here tau = {self.tau:.1f}, and treats it as known.",
            f"Its 90% intervals are on average {self.ratio:.0%} as wide as full Bayes's; tau's posterior puts "
            f"{self.above:.0%} of its mass above the plug-in.",
            f"The usual plug-in, tau's posterior mode, is {self.mode:.1f} for these data"
            + (": complete pooling, with intervals far too sure." if self.mode == 0 else "."),
        ]


def plug_in_view(tau: float, data=None) -> PlugInView:
    """EB at ``tau`` (> 0) against full Bayes on ``data`` (default the eight schools)."""
    from ..empirical_bayes import plug_in
    from ..instant import instant_posterior
    from ..live import central
    from .schools import schools

    if not float(tau) > 0:
        raise DataError(f"The plugged-in tau must be positive; got {tau!r}.")
    data = data or schools()
    fb = instant_posterior(data, spec())
    eb = instant_posterior(data, spec(), fixed={"tau": float(tau)})
    rows = []
    for name, post in (("full Bayes", fb), ("empirical Bayes", eb)):
        lo, hi = interval(post, "theta")
        rows.append(pd.DataFrame({"model": name, "group": list(data.labels),
                                  "mean": np.asarray(post.mean("theta"), float), "low": lo, "high": hi}))
    forest = pd.concat(rows, ignore_index=True)
    forest.attrs["hdi_prob"] = INTERVAL
    width = forest.assign(w=forest["high"] - forest["low"]).groupby("model", sort=False)["w"].mean()
    nodes, w = fb.hyper_nodes()
    above = float(w[np.asarray(nodes["tau"]) > float(tau)].sum())
    mode = plug_in(data, spec(), "posterior_mode").values["tau"]
    return PlugInView(forest, central(fb.hyper_density("tau", points=300), "tau"), float(tau), float(mode),
                      float(fb.mean("tau")), float(width["empirical Bayes"] / width["full Bayes"]), above)


def coverage(schools: int, replicates: int = 200, seed: int = 0):
    """:func:`hiermod.empirical_bayes.coverage_study` on :func:`design` (``schools`` groups)."""
    from ..empirical_bayes import coverage_study

    return coverage_study(design(schools), spec(), replicates=replicates, seed=seed)
