"""Does a NUTS fit agree with the instant posterior of the same data, model and priors?

For every parameter the instant method reports (each scalar, and each group's value), with the NUTS
posterior mean m, its Monte Carlo standard error MCSE(m) (ArviZ, ``mcse(method="mean")``: the
posterior sd over the square root of the bulk effective sample size) and the instant posterior
mean m* (an exact grid integral, not draws):

    z = (m - m*) / sqrt(MCSE(m)^2 + e^2),      e = grid_error * sd*

where ``e`` bounds the instant mean's own error (:meth:`InstantPosterior.grid_error`: the largest
change of any mean or sd, in posterior sds, when the grid is refined). When ``e`` is much smaller
than the MCSE (the usual case: 1e-6 sds for eight schools) it changes nothing and z is the plain
``(m - m*) / MCSE(m)``; when it is not, it is counted instead of blaming the sampler for it.
If NUTS samples the posterior the instant method computes, z is close to standard normal, so
|z| > :data:`Z_FLAG` (4; probability 6e-5 per parameter) flags a parameter. The spreads are compared
as the ratio NUTS sd / instant sd (with its Monte Carlo error, MCSE(sd) / sd*); they do not enter
the verdict.

What a disagreement means depends on the instant method: where it is exact up to grid and
quadrature error (``post.exact``), the sampler is to blame (divergences, too few draws, chains
stuck); where it is a Laplace approximation, the approximation may be.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    from .instant import InstantPosterior
    from .result import Fit

__all__ = ["Agreement", "agreement", "Z_FLAG", "COLUMNS", "TOP"]

Z_FLAG = 4.0
"""|z| above this flags a parameter: P(|N(0, 1)| > 4) = 6.3e-5, about one false flag in 16,000 parameters."""

TOP = 5
"""How many parameters the verdict names (largest |z| first)."""

COLUMNS = ["nuts_mean", "instant_mean", "difference", "mcse", "instant_error", "z",
           "nuts_sd", "instant_sd", "sd_ratio", "sd_ratio_mcse", "flagged"]
"""The columns of :attr:`Agreement.table` (index: the parameter, ``theta[A]`` as in summaries)."""


@dataclass(frozen=True)
class Agreement:
    """The comparison of one fit with the instant posterior.

    ``table``: one row per parameter (:data:`COLUMNS`), largest |z| first; empty when ``reason``
    says why there is no comparison (the instant method cannot serve the model). ``exact``: the
    instant posterior is exact up to grid error (else a Laplace approximation); ``label``: how it
    was computed; ``grid_error``: its refinement check in posterior sds (NaN when not computed);
    ``method``: the fit's method; ``names``: the posterior variables compared.
    """

    table: pd.DataFrame
    exact: bool | None = None
    label: str = ""
    grid_error: float = math.nan
    reason: str | None = None
    method: str = "nuts"
    threshold: float = Z_FLAG
    names: tuple[str, ...] = ()

    @property
    def available(self) -> bool:
        return self.reason is None

    @property
    def flagged(self) -> list[str]:
        """The parameters with |z| > threshold, largest |z| first."""
        if self.table.empty:
            return []
        return [str(i) for i in self.table.index[self.table["flagged"].to_numpy(bool)]]

    @property
    def agrees(self) -> bool | None:
        """True when no parameter is flagged; None without a comparison."""
        return None if not self.available else not self.flagged

    @property
    def max_abs_z(self) -> float:
        return float(self.table["z"].abs().max()) if not self.table.empty else math.nan

    def largest(self, n: int = TOP) -> pd.DataFrame:
        """The ``n`` rows with the largest |z|."""
        return self.table.head(n)

    @property
    def verdict(self) -> str:
        """One paragraph for people: "agree", or the flagged parameters and what to suspect."""
        if not self.available:
            return f"No comparison: {self.reason}"
        who = {"nuts": "NUTS"}.get(self.method, f"The '{self.method}' fit")
        n = len(self.table)
        top = self.table.index[0]
        if not self.flagged:
            text = (f"{who} agrees with the instant posterior: all {n} posterior means are within "
                    f"{self.threshold:g} Monte Carlo standard errors of it (largest |z| = "
                    f"{self.max_abs_z:.1f}, for {top}).")
            if self.exact is False:
                text += (" The instant posterior is a Laplace approximation here, so this also says "
                         "the approximation is good for these data.")
            return text
        flagged = self.flagged
        shown = ", ".join(f"{p} (z = {self.table.at[p, 'z']:.1f})" for p in flagged[:TOP])
        more = f" and {len(flagged) - TOP} more" if len(flagged) > TOP else ""
        text = (f"{who} disagrees with the instant posterior: {len(flagged)} of {n} posterior means "
                f"differ from it by more than {self.threshold:g} Monte Carlo standard errors: {shown}{more}. ")
        if self.exact:
            text += ("The instant posterior is exact here (up to a grid error of "
                     f"{_sds(self.grid_error)}), so the disagreement points at the sampler: look for "
                     "divergences, R-hat above 1.01 or a small effective sample size, then fit again "
                     "with more draws, a higher target acceptance or the other parameterization.")
        else:
            text += ("The instant posterior is a Laplace approximation here, so the disagreement may "
                     "be the approximation's rather than the sampler's: if the sampler's own checks "
                     "(divergences, R-hat, ESS) pass, trust NUTS.")
        return text


def _sds(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.1g} posterior sds"


def _labels(name: str, da) -> list[str]:
    """``name`` or ``name[label]`` / ``name[a, b]`` per element, in C order of the non-sample dims."""
    dims = [d for d in da.dims if d not in ("chain", "draw")]
    if not dims:
        return [name]
    grids = np.meshgrid(*[[str(v) for v in da.coords[d].values] for d in dims], indexing="ij")
    return [f"{name}[{', '.join(parts)}]" for parts in zip(*(g.ravel() for g in grids))]


def agreement(fit: "Fit", post: "InstantPosterior | None" = None, grid_error: bool = True) -> Agreement:
    """Compare ``fit``'s draws with the instant posterior of the same data, model and priors.

    ``post``: an instant posterior already computed (else computed here with ``fit.priors``).
    ``grid_error``: run the grid refinement check (about the cost of a second instant posterior);
    without it the instant mean's own error is taken as zero. When the instant method cannot serve
    the model the result has ``reason`` set and an empty table.
    """
    import arviz as az

    from .instant import instant_posterior, unavailable_reason

    empty = pd.DataFrame(columns=COLUMNS)
    if post is None:
        reason = unavailable_reason(fit.data, fit.spec)
        if reason is not None:
            return Agreement(empty, reason=reason, method=fit.method)
        try:
            post = instant_posterior(fit.data, fit.spec, priors=fit.priors)
        except SpecError as err:
            return Agreement(empty, reason=str(err), method=fit.method)
    names = tuple(n for n in post.names if n in fit.idata.posterior.data_vars)
    if not names:
        return Agreement(empty, post.exact, post.label, reason="the instant posterior and the fit share no "
                         "parameter.", method=fit.method)
    ge = float(post.grid_error()) if grid_error else math.nan
    draws = fit.idata.posterior[list(names)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one chain, constant draws
        mcse = az.mcse(draws, method="mean")
        mcse_sd = az.mcse(draws, method="sd")
    parts = []
    for name in names:
        da = draws[name].astype(float)
        shape = tuple(da.sizes[d] for d in da.dims if d not in ("chain", "draw"))
        m_star = np.asarray(post.mean(name), float)
        s_star = np.asarray(post.sd(name), float)
        if m_star.shape != shape:
            raise ValueError(f"The instant posterior's {name} has shape {m_star.shape}, the fit's {shape}.")
        parts.append(pd.DataFrame({
            "nuts_mean": da.mean(("chain", "draw")).values.ravel(),
            "instant_mean": m_star.ravel(),
            "mcse": np.asarray(mcse[name].values, float).ravel(),
            "nuts_sd": da.std(("chain", "draw"), ddof=1).values.ravel(),
            "instant_sd": s_star.ravel(),
            "mcse_sd": np.asarray(mcse_sd[name].values, float).ravel(),
        }, index=_labels(name, da)))
    t = pd.concat(parts)
    t["difference"] = t["nuts_mean"] - t["instant_mean"]
    t["instant_error"] = (ge if math.isfinite(ge) else 0.0) * t["instant_sd"]
    scale = np.hypot(t["mcse"].to_numpy(), t["instant_error"].to_numpy())
    diff = t["difference"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(scale > 0, diff / scale, np.where(diff == 0, 0.0, np.sign(diff) * np.inf))
        t["sd_ratio"] = t["nuts_sd"] / t["instant_sd"]
        t["sd_ratio_mcse"] = t["mcse_sd"] / t["instant_sd"]
    t["z"] = z
    t["flagged"] = ~(np.abs(z) <= Z_FLAG)  # NaN counts as flagged
    t = t.iloc[np.argsort(-np.nan_to_num(np.abs(z), nan=np.inf), kind="stable")][COLUMNS]
    t.index.name = "parameter"
    return Agreement(t, post.exact, post.label, ge, None, fit.method, Z_FLAG, names)
