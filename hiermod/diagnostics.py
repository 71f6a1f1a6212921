"""Is the fit trustworthy? Per-parameter summaries, sampler checks and plain-language verdicts.

Everything here computes; nothing draws. ``plots/`` turns these tables into figures.

    >>> d = diagnose(fit)
    >>> [v.message for v in d.verdicts]
    ['No problems found: 4 chains x 1000 draws, R-hat <= 1.004, ESS >= 1210, 0 divergences.']

Thresholds follow Vehtari et al. (2021), "Rank-normalization, folding, and localization: an
improved R-hat" (R-hat <= 1.01, ESS >= 100 per chain, i.e. 400 for the default 4 chains), and
Betancourt (2017), "A Conceptual Introduction to Hamiltonian Monte Carlo" (BFMI >= 0.3).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import SpecError
from .fit_draws import bfmi as _bfmi
from .fit_draws import has_sample_stats as _has_sample_stats
from .fit_draws import n_chains_draws as _n_chains_draws
from .fit_draws import sample_stat as _stat
from .plot_tables import energy_table, funnel_table, rank_table, trace_table  # re-exported

if TYPE_CHECKING:  # pragma: no cover
    from .result import Fit

# Thresholds (module constants so the dashboard can show them next to the numbers).
RHAT_MAX = 1.01
ESS_MIN_PER_CHAIN = 100  # -> 400 for 4 chains
BFMI_MIN = 0.3
TREEDEPTH_SHARE_MAX = 0.01
DEFAULT_MAX_TREE_DEPTH = 10

SUMMARY_COLUMNS = ["mean", "sd", "hdi_low", "hdi_high", "mcse_mean", "mcse_sd", "ess_bulk", "ess_tail", "r_hat"]
CHAIN_COLUMNS = ["chain", "divergences", "bfmi", "treedepth_share", "step_size", "accept"]
LEVELS = ("ok", "warning", "problem")


# --------------------------------------------------------------------------------------- helpers


def _default_vars(fit: "Fit") -> list[str]:
    working = fit.spec.working_names()
    return [v for v in fit.idata.posterior.data_vars if v not in working]


def _fmt(x: float, digits: int = 3) -> str:
    """Short number text: 1.05, 0.3%, 1234."""
    if x is None or not np.isfinite(x):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:.0f}"
    return f"{x:.{digits}g}"


def _pct(share: float) -> str:
    if share == 0:
        return "0%"
    if share < 0.001:
        return "<0.1%"
    return f"{100 * share:.1f}%"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        frame = value.astype(object).where(pd.notna(value), None)
        return {str(k): _jsonable(v) for k, v in frame.to_dict(orient="index").items()}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


# ------------------------------------------------------------------------------------- summaries


def summary_table(fit: "Fit", var_names: list[str] | None = None, hdi_prob: float = 0.94) -> pd.DataFrame:
    """Per-parameter posterior summary and convergence diagnostics.

    Index: ``mu``, ``tau``, ``theta[A]``, ``beta[floor]`` ... (group labels and covariate names).
    Columns: mean, sd, hdi_low, hdi_high (``hdi_prob`` highest-density interval), mcse_mean,
    mcse_sd (Monte Carlo standard errors), ess_bulk, ess_tail (effective sample sizes), r_hat
    (rank-normalized split R-hat; NaN with a single chain). Default: every posterior variable
    except the sampler's working variables (``theta_decentered`` ...: ``GroupTerm.working_names``).
    """
    import arviz as az

    names = list(var_names) if var_names is not None else _default_vars(fit)
    missing = [v for v in names if v not in fit.idata.posterior]
    if missing:
        raise SpecError(
            f"This fit has no parameter(s) {', '.join(missing)}; it has: "
            f"{', '.join(fit.idata.posterior.data_vars)}."
        )
    if not 0 < hdi_prob < 1:
        raise SpecError(f"hdi_prob must be between 0 and 1; got {hdi_prob!r}.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # single-chain and constant-variable warnings
        table = az.summary(fit.idata, var_names=names, hdi_prob=hdi_prob, round_to="none")
    low, high = [c for c in table.columns if c.startswith("hdi_")][:2]
    table = table.rename(columns={low: "hdi_low", high: "hdi_high"})
    table = table[SUMMARY_COLUMNS].astype(float)
    table.index = table.index.astype(str)
    table.index.name = "parameter"
    table.attrs["hdi_prob"] = hdi_prob
    return table


def chain_table(fit: "Fit") -> pd.DataFrame:
    """One row per chain: divergences, BFMI, share of draws at maximum tree depth, mean step size
    and mean acceptance rate. Empty (same columns) for exact fits, which have no sampler."""
    if not _has_sample_stats(fit):
        return pd.DataFrame({c: pd.Series(dtype=float) for c in CHAIN_COLUMNS})
    n_chains, _ = _n_chains_draws(fit)
    div = _stat(fit, "diverging")
    energy = _stat(fit, "energy")
    step = _stat(fit, "step_size")
    accept = _stat(fit, "acceptance_rate")
    saturated = _treedepth_saturated(fit)
    rows = []
    for c in range(n_chains):
        rows.append({
            "chain": c,
            "divergences": int(div[c].sum()) if div is not None else 0,
            "bfmi": _bfmi(energy[c]) if energy is not None else np.nan,
            "treedepth_share": float(saturated[c].mean()) if saturated is not None else np.nan,
            "step_size": float(np.mean(step[c])) if step is not None else np.nan,
            "accept": float(np.mean(accept[c])) if accept is not None else np.nan,
        })
    return pd.DataFrame(rows, columns=CHAIN_COLUMNS)


def _treedepth_saturated(fit: "Fit") -> np.ndarray | None:
    """(chains, draws) bool: the draw's trajectory hit the maximum tree depth."""
    reached = _stat(fit, "max_tree_depth_reached")
    if reached is not None:
        return reached.astype(bool)
    depth = _stat(fit, "tree_depth")
    if depth is None:
        return None
    limit = getattr(getattr(fit, "settings", None), "max_tree_depth", DEFAULT_MAX_TREE_DEPTH)
    return depth >= limit


# -------------------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    """One finding in plain language: ``level`` is "ok", "warning" or "problem"."""

    level: str
    topic: str
    message: str
    advice: str = ""

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"Verdict level must be one of {LEVELS}; got {self.level!r}.")


@dataclass
class Diagnosis:
    """Everything :func:`diagnose` found: tables, headline numbers and verdicts."""

    summary: pd.DataFrame
    chains: pd.DataFrame
    divergences: int
    divergence_share: float
    max_r_hat: float
    min_ess_bulk: float
    min_ess_tail: float
    bfmi: tuple[float, ...]
    treedepth_share: float
    verdicts: list[Verdict] = field(default_factory=list)
    method: str = "nuts"
    n_chains: int = 0
    n_draws: int = 0

    @property
    def level(self) -> str:
        """The worst verdict level: "ok", "warning" or "problem"."""
        return max((v.level for v in self.verdicts), key=LEVELS.index, default="ok")

    @property
    def ok(self) -> bool:
        return self.level == "ok"

    def to_dict(self) -> dict:
        """Plain JSON-able form (NaN becomes None)."""
        return _jsonable({
            "method": self.method,
            "n_chains": self.n_chains,
            "n_draws": self.n_draws,
            "level": self.level,
            "divergences": self.divergences,
            "divergence_share": self.divergence_share,
            "max_r_hat": self.max_r_hat,
            "min_ess_bulk": self.min_ess_bulk,
            "min_ess_tail": self.min_ess_tail,
            "bfmi": list(self.bfmi),
            "treedepth_share": self.treedepth_share,
            "verdicts": [asdict(v) for v in self.verdicts],
            "summary": self.summary,
            "chains": self.chains,
        })


def ess_threshold(n_chains: int) -> int:
    """Minimum acceptable ESS: 100 per chain (400 for 4 chains)."""
    return ESS_MIN_PER_CHAIN * max(int(n_chains), 1)


def _is_centered_partial(fit: "Fit") -> bool:
    from .spec import Parameterization, Pooling

    return fit.spec.pooling == Pooling.PARTIAL and fit.spec.parameterization == Parameterization.CENTERED


def _is_partial(fit: "Fit") -> bool:
    from .spec import Pooling

    return fit.spec.pooling == Pooling.PARTIAL


def _list_names(names: list[str], limit: int = 3) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _rhat_verdict(summary: pd.DataFrame, n_chains: int) -> Verdict | None:
    rhat = summary["r_hat"].dropna()
    bad = rhat[rhat > RHAT_MAX].sort_values(ascending=False)
    if bad.empty:
        return None
    worst, value = str(bad.index[0]), float(bad.iloc[0])
    others = "" if len(bad) == 1 else f" and {len(bad) - 1} other parameter(s) ({_list_names(list(bad.index[1:]))})"
    return Verdict(
        "problem", "r_hat",
        f"The chains disagree about {worst} (R-hat {value:.2f}){others}. R-hat compares the "
        f"{n_chains} chains with each other; above {RHAT_MAX} they have not settled on the same "
        "answer, so these estimates cannot be trusted yet.",
        "Run longer (e.g. double warmup and draws). If it stays high, reparameterize "
        "(non-centered for partial pooling) or use tighter priors.",
    )


def _ess_verdict(summary: pd.DataFrame, n_chains: int) -> Verdict | None:
    need = ess_threshold(n_chains)
    ess = summary[["ess_bulk", "ess_tail"]].min(axis=1).dropna()
    bad = ess[ess < need].sort_values()
    if bad.empty:
        return None
    worst = str(bad.index[0])
    bulk, tail = summary.loc[worst, "ess_bulk"], summary.loc[worst, "ess_tail"]
    others = "" if len(bad) == 1 else f" ({len(bad) - 1} other parameter(s) too: {_list_names(list(bad.index[1:]))})"
    return Verdict(
        "warning", "ess",
        f"Few effective draws for {worst}: bulk ESS {bulk:.0f}, tail ESS {tail:.0f}, want at least "
        f"{need}{others}. ESS (effective sample size) is how many independent draws the correlated "
        "chains are worth; with too few, the mean (bulk) or the interval ends (tail) are noisy.",
        "Run more draws. If the chains move slowly (a funnel), use the non-centered parameterization.",
    )


def _divergence_verdict(fit: "Fit", n: int, total: int, share: float) -> Verdict | None:
    if n == 0:
        return None
    ta = getattr(getattr(fit, "settings", None), "target_accept", None)
    now = f", now {ta:g}" if ta is not None else ""
    if _is_centered_partial(fit):
        advice = (
            "Switch to the non-centered parameterization or raise target acceptance "
            f"(e.g. 0.95{now}). Non-centering removes the funnel between tau and the group effects."
        )
    elif _is_partial(fit):
        advice = (
            f"Raise target acceptance (e.g. 0.95{now}) for smaller steps; if divergences remain, "
            "reconsider the priors (e.g. a tighter prior on tau)."
        )
    else:
        advice = (
            f"Raise target acceptance (e.g. 0.95{now}); if divergences remain, reconsider the priors "
            "(they may be too wide for the data)."
        )
    where = " (typically the narrow neck of the funnel, where tau is small)" if _is_partial(fit) else ""
    few = (" A few isolated divergences are often harmless; check in the funnel plot that they do "
           "not cluster at small tau.") if n <= 5 and share < 0.001 else ""
    return Verdict(
        "problem", "divergences",
        f"{n} of {total} draws ({_pct(share)}) ended in a divergence: the sampler met a region too "
        f"sharply curved to follow{where}, so that region may be under-explored and the estimates "
        f"biased.{few}",
        advice,
    )


def _bfmi_verdict(bfmi: tuple[float, ...]) -> Verdict | None:
    low = [(c, b) for c, b in enumerate(bfmi) if np.isfinite(b) and b < BFMI_MIN]
    if not low:
        return None
    chains = ", ".join(f"chain {c + 1}: {b:.3g}" for c, b in low)
    return Verdict(
        "warning", "bfmi",
        f"Low BFMI ({chains}; want at least {BFMI_MIN}). BFMI (Bayesian fraction of missing "
        "information) measures how well each sampler move reaches new energy levels; low values "
        "mean the sampler explores the energy poorly, which usually comes from heavy-tailed priors "
        "or a funnel.",
        "Use the non-centered parameterization, or lighter-tailed priors (e.g. HalfNormal instead of "
        "HalfCauchy for tau).",
    )


def _treedepth_verdict(fit: "Fit", share: float) -> Verdict | None:
    if not np.isfinite(share) or share <= TREEDEPTH_SHARE_MAX:
        return None
    depth = getattr(getattr(fit, "settings", None), "max_tree_depth", DEFAULT_MAX_TREE_DEPTH)
    return Verdict(
        "warning", "treedepth",
        f"{_pct(share)} of draws hit the maximum tree depth ({depth}): the sampler had to cut its "
        "trajectories short, which makes it slow and may leave parts of the posterior unexplored.",
        "Raise max_tree_depth, or reparameterize: strongly correlated parameters (e.g. uncentered "
        "covariates, or a funnel) are the usual cause.",
    )


def _no_sampler_verdict(fit: "Fit", total: int) -> Verdict:
    """The one verdict for a fit without sampler statistics, from what its method returns
    (:attr:`Fit.method_info <hiermod.result.Fit.method_info>`)."""
    info = fit.method_info
    if info.exact:
        return Verdict(
            "ok", "exact",
            f"The draws are exact and independent ({total} draws computed from the closed-form "
            "posterior, not by a sampler), so no sampler checks apply: there are no chains to "
            f"disagree and no divergences, and the ESS is about the number of draws ({total}).",
            "",
        )
    if info.deterministic:
        post = fit.exact
        how = getattr(post, "label", info.label)
        laplace = post is not None and not getattr(post, "exact", True)
        return Verdict(
            "warning" if laplace else "ok", "instant",
            f"The draws are independent draws from a computed posterior ({how}; {total} draws), not "
            "from a sampler, so no sampler checks apply: there are no chains to disagree and no "
            "divergences." + (" " + (getattr(post, "note", "") or "The latent field is a Laplace "
                                     "approximation.") if laplace else ""),
            "Check it against NUTS (method='nuts') where groups have few events." if laplace else "",
        )
    if info.approximate:
        return Verdict(
            "warning", "approximation",
            f"This fit is an approximation of the posterior, not the posterior ({total} draws). "
            f"{info.returns} Intervals come out too narrow and group estimates look more certain "
            "than they are. No sampler checks apply (there are no chains, divergences or tree "
            "depths to check).",
            "Use it as a first look; refit with NUTS (method='nuts') before trusting intervals.",
        )
    return Verdict(  # a sampler's fit whose statistics are missing (e.g. dropped from the file)
        "warning", "no_sampler_stats",
        f"This {info.label} fit carries no sampler statistics, so divergences, tree depth and "
        "energy cannot be checked; R-hat and ESS are in the summary table.",
        "Refit to get the sampler statistics back.",
    )


def diagnose(fit: "Fit") -> Diagnosis:
    """Check a fit and explain the result in plain language.

    Verdicts: R-hat > 1.01 (problem), bulk or tail ESS < 100 per chain (warning), any divergence
    (problem; the advice depends on the parameterization), BFMI < 0.3 in any chain (warning),
    more than 1% of draws at the maximum tree depth (warning). With none of these, one "ok"
    verdict with the numbers. Fits without sampler statistics get one verdict from
    :func:`_no_sampler_verdict`: "ok" for exact fits, a "warning" for approximations (VI).
    """
    summary = summary_table(fit)
    chains = chain_table(fit)
    n_chains, n_draws = _n_chains_draws(fit)
    total = n_chains * n_draws
    r_hat = summary["r_hat"].dropna()
    max_r_hat = float(r_hat.max()) if len(r_hat) else np.nan
    ess_bulk, ess_tail = summary["ess_bulk"].dropna(), summary["ess_tail"].dropna()
    min_bulk = float(ess_bulk.min()) if len(ess_bulk) else np.nan
    min_tail = float(ess_tail.min()) if len(ess_tail) else np.nan
    common = dict(summary=summary, chains=chains, max_r_hat=max_r_hat, min_ess_bulk=min_bulk,
                  min_ess_tail=min_tail, method=fit.method, n_chains=n_chains, n_draws=n_draws)

    if not _has_sample_stats(fit):
        return Diagnosis(divergences=0, divergence_share=0.0, bfmi=(), treedepth_share=0.0,
                         verdicts=[_no_sampler_verdict(fit, total)], **common)

    n_div = int(chains["divergences"].sum())
    share = n_div / total if total else 0.0
    bfmi = tuple(float(b) for b in chains["bfmi"])
    saturated = _treedepth_saturated(fit)
    td_share = float(saturated.mean()) if saturated is not None else np.nan

    verdicts = [v for v in (
        _divergence_verdict(fit, n_div, total, share),
        _rhat_verdict(summary, n_chains),
        _ess_verdict(summary, n_chains),
        _bfmi_verdict(bfmi),
        _treedepth_verdict(fit, td_share),
    ) if v is not None]
    if not verdicts:
        rhat_text = f"R-hat <= {max_r_hat:.3f}" if np.isfinite(max_r_hat) else "R-hat not available (1 chain)"
        verdicts.append(Verdict(
            "ok", "overall",
            f"No problems found: {n_chains} chains x {n_draws} draws, {rhat_text}, "
            f"ESS >= {min(min_bulk, min_tail):.0f}, 0 divergences.",
            "",
        ))
    return Diagnosis(divergences=n_div, divergence_share=share, bfmi=bfmi, treedepth_share=td_share,
                     verdicts=verdicts, **common)


__all__ = [
    "RHAT_MAX", "ESS_MIN_PER_CHAIN", "BFMI_MIN", "TREEDEPTH_SHARE_MAX",
    "Verdict", "Diagnosis", "summary_table", "chain_table", "diagnose", "ess_threshold",
    "funnel_table", "trace_table", "rank_table", "energy_table",
]
