"""Simulation-based calibration (SBC) on the user's own design: does the method recover known truth?

Talts, Betancourt, Simpson, Vehtari & Gelman (2018): if parameters are drawn from the prior,
theta* ~ p(theta), data from the model with the SAME design (groups, group sizes, standard
errors / trials / exposure), y* ~ p(y | theta*), and the method draws theta_1..theta_L from
p(theta | y*), then the rank

    r = #{l : theta_l < theta*}   (ties broken at random)

is uniform on {0, ..., L} for every scalar quantity, whatever the model, exactly when the method
samples the posterior. A method too confident puts the truth in the tails (U-shaped ranks), one
biased shifts them. :func:`run_sbc` repeats this R times for every hyperparameter (mu, tau,
sigma, ...) and every group effect (theta[j], slopes, ...), with

* ``method="instant"``: independent draws of the instant posterior (:mod:`hiermod.instant`), no
  thinning needed; 500 replications of eight schools take seconds;
* ``method="nuts"``: a short NUTS fit per replication (default 1 chain, 500 warmup, L x thin
  draws, every ``thin``-th kept): slower, meant for a background job with progress and cancel;
* ``sampler=f``: any ``f(data, spec, n, rng) -> {name: (n, ...)}`` (e.g. a deliberately wrong one).

Priors are resolved once on the user's data and written into the spec, so data-scaled defaults do
not move with the simulated data. The result's tests are per parameter: the exact ECDF test with
its simultaneous band (Säilynoja, Bürkner & Vehtari 2022; :mod:`hiermod.rank_uniformity`) and a
chi-square test on binned ranks; the verdict flags a parameter when either p-value is below
alpha / (number of tests) (Bonferroni: with many parameters some small p-values are expected).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Callable, Mapping

import numpy as np
import pandas as pd

from . import rank_uniformity as ru
from .errors import FitCancelled, HiermodError, SpecError
from .settings import DEFAULT_TARGET_ACCEPT, LIMITS

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData
    from .spec import ModelSpec

__all__ = ["run_sbc", "SBCResult", "SBCVerdict", "sbc_spec", "ranked_columns", "instant_reason",
           "MIN_REPS", "MAX_REPS", "DRAW_LIMITS", "METHODS"]

MIN_REPS, MAX_REPS = 10, 20_000
DRAW_LIMITS = (9, 4999)
"""Posterior draws L per replication (ranks take L + 1 values)."""
METHODS = ("instant", "nuts")
CHECK_EVERY_S = 0.2
"""Progress is reported (and a time budget checked) about this often."""

ROLE_WORDS = {"se": "standard errors", "trials": "numbers of trials", "exposure": "exposures"}

Sampler = Callable[["GroupedData", "ModelSpec", int, np.random.Generator], Mapping[str, np.ndarray]]


# ----------------------------------------------------------------------------- the model's parts


def sbc_spec(data: "GroupedData", spec: "ModelSpec") -> "ModelSpec":
    """``spec`` with every prior resolved on ``data`` and written in (fixed for all replications)."""
    from .priors import resolve_priors

    return spec.with_priors(**resolve_priors(data.for_groups(spec.groups), spec))


def instant_reason(data: "GroupedData", spec: "ModelSpec") -> str | None:
    """Why the instant method cannot run SBC of ``spec`` on ``data`` (a sentence), or None."""
    from .instant import unavailable_reason

    return unavailable_reason(data, spec)


def _labels(data: "GroupedData", spec: "ModelSpec") -> dict[str, tuple[str, ...]]:
    """name -> labels of its last axis, for the per-group and per-covariate quantities."""
    levels = data.for_groups(spec.groups).levels[-len(spec.terms):]
    out: dict[str, tuple[str, ...]] = {}
    for term, level in zip(spec.terms, levels):
        for name in (term.effect, *(term.slope_effect(x) for x in term.slopes)):
            out[name] = tuple(level.labels)
    if spec.covariates:
        out["beta"] = tuple(spec.covariates)
    return out


def ranked_columns(data: "GroupedData", spec: "ModelSpec") -> list[tuple[str, str, int | None]]:
    """The quantities SBC ranks, as (column, name, index or None): each term's parameters and
    effects (not a Beta/Gamma population's response-scale values: theta is their link, same ranks),
    the family's own parameters, the covariate coefficients."""
    names: list[str] = []
    for term in spec.terms:
        names += [n for n in term.parameter_names() if n != term.population_value]
    names += list(spec.family.param_names)
    if spec.covariates:
        names.append("beta")
    labels = _labels(data, spec)
    out: list[tuple[str, str, int | None]] = []
    for name in dict.fromkeys(names):
        if name in labels:
            out += [(f"{name}[{label}]", name, j) for j, label in enumerate(labels[name])]
        else:
            out.append((name, name, None))
    return out


def _column_values(values: Mapping[str, np.ndarray], columns, row=None) -> np.ndarray:
    """(..., n_columns): each column's values from ``values`` (leading axis kept, or row ``row``)."""
    cols = []
    for _, name, j in columns:
        v = np.asarray(values[name], float)
        if row is not None:
            v = v[row]
        cols.append(v if j is None else v[..., j])
    return np.stack(cols, axis=-1)


def _distinct(columns, truth) -> list:
    """The columns whose true value differs from every earlier column's (complete pooling's
    theta[j] are all mu: ranking them again would add nothing but tests)."""
    values = _column_values(truth, columns)
    keep = [i for i, v in enumerate(values) if not np.any(values[:i] == v)]
    return [columns[i] for i in keep]


def _ranks(post: np.ndarray, truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """#{l: post[l] < truth} per column, ties (post == truth) broken uniformly at random."""
    less = (post < truth).sum(0)
    ties = (post == truth).sum(0)
    return less + np.floor(rng.random(less.shape) * (ties + 1)).astype(int)


# ----------------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class SBCVerdict:
    """``calibrated``: no parameter flagged; ``level``: "ok" | "warning" | "error" (how a page
    colours it); ``headline`` and ``message`` in plain language; ``flagged``: the parameters whose
    ranks depart from uniform beyond the multiple-testing threshold."""

    calibrated: bool
    level: str
    headline: str
    message: str
    flagged: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return f"{self.headline} {self.message}"


@dataclass(frozen=True, eq=False)
class SBCResult:
    """The ranks of an SBC run and what they say.

    ``ranks``: one row per replication, one column per quantity (``mu``, ``tau``, ``theta[A]``...),
    integers in 0..L. ``method``: "instant", "nuts" or "custom". ``spec``: the model with the fixed
    priors. ``design``: the data's design in words. ``failed``: replications whose fit raised a
    HiermodError (left out; they are reported). ``diagnostics``: NUTS counts (replications with
    divergences, with bulk ESS below L). ``notes``: other things the verdict says.
    """

    ranks: pd.DataFrame
    L: int
    method: str
    spec: Any
    design: str
    seconds: float
    seed: int
    alpha: float = 0.05
    failed: int = 0
    requested: int = 0
    diagnostics: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    scalars: tuple[str, ...] = ()
    """The columns that are one number per model (hyperparameters, coefficients), not one per group."""

    @property
    def R(self) -> int:
        """Replications used."""
        return int(len(self.ranks))

    @property
    def parameters(self) -> list[str]:
        return [str(c) for c in self.ranks.columns]

    @property
    def n_tests(self) -> int:
        return 2 * len(self.parameters)

    @property
    def threshold(self) -> float:
        """Bonferroni: a p-value below alpha / (2 x parameters) flags its parameter."""
        return self.alpha / self.n_tests

    @cached_property
    def band(self) -> ru.Band:
        """The simultaneous 1 - alpha ECDF band for R ranks on 0..L (the same for every parameter)."""
        return ru.simultaneous_band(self.R, self.L, self.alpha)

    @cached_property
    def tests(self) -> pd.DataFrame:
        """Per parameter: ``ecdf_p`` (exact ECDF test), ``chi2_p`` (binned ranks), ``mean_rank``
        (fractional, 0.5 when calibrated), ``shift_z`` and ``spread_z`` (mean and spread of the
        fractional ranks against uniform, in standard errors), ``flagged`` and ``shape`` (words)."""
        L, R = self.L, self.R
        var_u = (1 - 1 / (L + 1) ** 2) / 12
        rows = {}
        for col in self.ranks.columns:
            r = self.ranks[col].to_numpy()
            u = (r + 0.5) / (L + 1)
            ecdf_p = ru.ecdf_pvalue(r, L)
            chi2_p = ru.chi_square_pvalue(r, L)[0]
            shift_z = (u.mean() - 0.5) / math.sqrt(var_u / R)
            spread_z = (((u - 0.5) ** 2).mean() - var_u) / math.sqrt((1 / 80 - 1 / 144) / R)
            flagged = min(ecdf_p, chi2_p) < self.threshold
            rows[str(col)] = {"ecdf_p": ecdf_p, "chi2_p": chi2_p, "mean_rank": float(u.mean()),
                              "shift_z": float(shift_z), "spread_z": float(spread_z), "flagged": bool(flagged),
                              "shape": _shape(shift_z, spread_z) if flagged else ""}
        out = pd.DataFrame.from_dict(rows, orient="index")
        out.index.name = "parameter"
        return out

    @cached_property
    def verdict(self) -> SBCVerdict:
        return _verdict(self)

    # ------------------------------------------------------------------------ tables for plots

    def shown_parameters(self, max_panels: int = 12) -> list[str]:
        """The parameters worth a panel when there are many: the scalars, then the flagged
        ones, then the rest by their smallest p-value."""
        t = self.tests
        p = t[["ecdf_p", "chi2_p"]].min(axis=1)
        rest = [c for c in p.sort_values(kind="stable").index if c not in self.scalars]
        flagged = [c for c in rest if t.loc[c, "flagged"]]
        order = [c for c in self.parameters if c in self.scalars] + flagged
        order += [c for c in rest if c not in flagged]
        return order[:max_panels]

    def panel_notes(self) -> dict[str, str]:
        """A short note per parameter for its panel: the smaller of its two p-values."""
        p = self.tests[["ecdf_p", "chi2_p"]].min(axis=1)
        return {str(k): f"p {'= ' + format(v, '.2g') if v >= 1e-4 else '< 0.0001'}" for k, v in p.items()}

    def histogram_table(self) -> pd.DataFrame:
        """Rank histograms: ``parameter, low, high`` (the bin's ranks, inclusive), ``count``,
        ``expected`` and the pointwise 99% band ``band_low, band_high`` of a uniform count."""
        edges = ru.rank_bins(self.L, self.R)
        widths = np.diff(edges)
        band_lo, band_hi = ru.count_band(self.R, widths, self.L, 0.99)
        rows = []
        for col in self.ranks.columns:
            counts = np.histogram(self.ranks[col].to_numpy(), bins=edges - 0.5)[0]
            for b, c in enumerate(counts):
                rows.append((str(col), int(edges[b]), int(edges[b + 1] - 1), int(c),
                             self.R * widths[b] / (self.L + 1), band_lo[b], band_hi[b]))
        out = pd.DataFrame(rows, columns=["parameter", "low", "high", "count", "expected", "band_low", "band_high"])
        out.attrs.update(L=self.L, R=self.R, band_prob=0.99)
        return out

    def ecdf_table(self) -> pd.DataFrame:
        """ECDF differences: ``parameter, z`` (uniform CDF at the evaluation rank), ``difference``
        (ECDF - z) and the simultaneous band ``band_low, band_high`` on the same scale."""
        band = self.band
        blo, bhi = band.difference()
        counts = ru.ecdf_counts(self.ranks.to_numpy(), self.L, band.points)  # (K-1, P)
        frames = []
        for p, col in enumerate(self.ranks.columns):
            frames.append(pd.DataFrame({"parameter": str(col), "z": band.z,
                                        "difference": counts[:, p] / self.R - band.z,
                                        "band_low": blo, "band_high": bhi}))
        out = pd.concat(frames, ignore_index=True)
        out.attrs.update(L=self.L, R=self.R, band_prob=1 - self.alpha, coverage=band.coverage)
        return out

    def to_dict(self) -> dict:
        """Plain JSON-able summary (the CLI's summary.json)."""
        tests = self.tests.reset_index().to_dict(orient="records")
        return {"method": self.method, "reps": self.R, "requested": self.requested, "failed": self.failed,
                "L": self.L, "seed": self.seed, "alpha": self.alpha, "threshold": self.threshold,
                "seconds": self.seconds, "design": self.design, "spec": self.spec.to_dict(),
                "band": {"coverage": self.band.coverage, "pointwise_level": self.band.level,
                         "points": int(len(self.band.points))},
                "diagnostics": dict(self.diagnostics), "notes": list(self.notes),
                "verdict": {"calibrated": self.verdict.calibrated, "level": self.verdict.level,
                            "headline": self.verdict.headline, "message": self.verdict.message,
                            "flagged": list(self.verdict.flagged)},
                "tests": tests}


def _shape(shift_z: float, spread_z: float) -> str:
    """What the ranks' departure looks like, in words (|z| > 2 counts)."""
    words = []
    if spread_z > 2:
        words.append("ranks pile up at both ends: the posterior is too narrow (overconfident)")
    elif spread_z < -2:
        words.append("ranks bunch in the middle: the posterior is too wide (underconfident)")
    if shift_z > 2:
        words.append("ranks run high: the true values tend to lie above the posterior (it underestimates)")
    elif shift_z < -2:
        words.append("ranks run low: the true values tend to lie below the posterior (it overestimates)")
    return "; ".join(words) or "the rank histogram is uneven"


METHOD_WORDS = {"instant": "the instant posterior", "nuts": "NUTS", "custom": "the method"}


def _p(p: float) -> str:
    return f"{p:.2g}" if p >= 1e-4 else "below 0.0001"


def _verdict(res: SBCResult) -> SBCVerdict:
    t = res.tests
    method = METHOD_WORDS.get(res.method, res.method)
    n, m = res.n_tests, len(t)
    caveat = (f" SBC checks {method} across the whole prior, not at your data alone: a pass means no "
              f"miscalibration large enough to show in {res.R} replications (more replications see "
              "smaller errors).")
    extra = "".join(" " + note for note in res.notes)
    pmin_col = t[["ecdf_p", "chi2_p"]].min(axis=1)
    worst = str(pmin_col.idxmin())
    which = "ECDF" if t.loc[worst, "ecdf_p"] <= t.loc[worst, "chi2_p"] else "chi-square"
    flagged = tuple(str(i) for i in t.index[t["flagged"]])
    if not flagged:
        expected = n * 0.05
        warn = bool(res.notes)
        head = "Calibrated." if not warn else "No miscalibration seen, with caveats."
        quantities = f"all {m} quantities" if m > 1 else "the one quantity"
        msg = (f"In {res.R} data sets simulated from your priors with your design ({res.design}), "
               f"{method} put the true values where a calibrated method would, for {quantities} checked: "
               f"no rank test falls below {res.threshold:.2g} (the {res.alpha:.0%} level split over {n} "
               f"tests, Bonferroni). The smallest p-value is {_p(float(pmin_col.min()))} ({worst}, "
               f"{which} test); among {n} tests about {expected:.1f} fall below 0.05 by chance alone."
               + extra + caveat)
        return SBCVerdict(True, "warning" if warn else "ok", head, msg)
    by_shape: dict[str, list[str]] = {}
    for p in flagged:
        by_shape.setdefault(str(t.loc[p, "shape"]), []).append(p)
    parts = []
    for shape, names in by_shape.items():
        shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
        worst_p = float(pmin_col[names].min())
        parts.append(f"{shown}: {shape} (smallest p {_p(worst_p)})")
    msg = (f"Looks miscalibrated for {len(flagged)} of {m} quantities: " + "; ".join(parts) + ". "
           f"These rank tests fall below {res.threshold:.2g} (the {res.alpha:.0%} level split over {n} tests, "
           f"Bonferroni), which chance alone rarely produces; the rank histograms and the ECDF plot "
           "show where. Do not trust this model's posterior intervals from "
           f"{method} on data like yours without checking them another way." + extra + caveat)
    return SBCVerdict(False, "error", "Miscalibrated.", msg, flagged)


# ----------------------------------------------------------------------------------- the runner


def _is_set(cancel: Any) -> bool:
    if cancel is None:
        return False
    return bool(cancel.is_set()) if hasattr(cancel, "is_set") else bool(cancel())


def _check_int(name: str, value: Any, lo: int, hi: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise SpecError(f"{name} must be a whole number from {lo} to {hi}; got {value!r}. {hint}")
    return int(value)


def _design(data: "GroupedData") -> str:
    from .kind_registry import kind_info

    role = kind_info(data.kind).role
    if len(data.levels) > 1:
        text = data.tree_text()
    else:
        text = f"{data.n_groups} groups" + (f", {data.n_rows} rows" if data.n_rows != data.n_groups else "")
    return text + (f", their {ROLE_WORDS.get(role, role)}" if role else "")


def _truth_batches(data, spec, priors, reps: int, rng: np.random.Generator):
    """Prior draws with y, in batches (prior_draws bounds the y values per call); yields per replication
    (parameters at that row, y)."""
    from .predictive import prior_draws

    done = 0
    while done < reps:
        batch = prior_draws(data, spec, priors, min(reps - done, 200), rng)
        m = batch["y"].shape[0]
        for i in range(m):
            yield {k: v[i] for k, v in batch.items() if k != "y"}, batch["y"][i]
        done += m


def _nuts_sampler(warmup: int, thin: int, chains: int, target_accept: float, progress, cancel,
                  diagnostics: dict, L: int, names: list[str]) -> Sampler:
    """One NUTS fit per replication: ``chains`` chains, L x thin draws in all, every thin-th kept."""
    from .fitting import fit

    per_chain = math.ceil(L * thin / chains)

    def sample(data, spec, n, rng):
        result = fit(data, spec, chains=chains, warmup=warmup, draws=per_chain,
                     seed=int(rng.integers(2**31 - 1)), target_accept=target_accept,
                     progress=progress, cancel=cancel)
        post = result.idata.posterior
        divergent = int(result.idata.sample_stats["diverging"].values.sum())
        diagnostics["divergent_reps"] = diagnostics.get("divergent_reps", 0) + (divergent > 0)
        import arviz as az

        ess = az.ess(result.idata, var_names=[v for v in names if v in post.data_vars])
        low = float(min(float(ess[v].values.min()) for v in ess.data_vars))
        diagnostics["low_ess_reps"] = diagnostics.get("low_ess_reps", 0) + (low < L)
        out = {}
        for v in post.data_vars:
            a = np.asarray(post[v].values, float)
            flat = a.reshape((-1,) + a.shape[2:])
            out[str(v)] = flat[::thin][:L]
        return out

    sample.per_fit = chains * (warmup + per_chain)  # type: ignore[attr-defined]
    return sample


def _instant_sampler(data, fixed) -> Sampler:
    reason = instant_reason(data, fixed)
    if reason is not None:
        raise SpecError(f"The instant method cannot serve this model ({reason}). Run SBC with "
                        "method 'nuts' instead (fewer replications, in the background).")
    from .instant import instant_draws

    return instant_draws


def _check_nuts(L: int, warmup: int, thin: int, chains: int) -> tuple[int, int, int]:
    warmup = _check_int("warmup", warmup, *LIMITS["warmup"], "")
    thin = _check_int("thin", thin, 1, 100, "Keep every thin-th NUTS draw; 10 is usual.")
    chains = _check_int("chains", chains, *LIMITS["chains"], "")
    if math.ceil(L * thin / chains) > LIMITS["draws"][1]:
        raise SpecError(f"draws x thin / chains = {math.ceil(L * thin / chains)} NUTS draws per chain "
                        f"exceeds {LIMITS['draws'][1]}; lower draws or thin.")
    return warmup, thin, chains


def _notes(stopped: bool, used: int, reps: int, failed: int, diagnostics: dict, L: int) -> tuple[str, ...]:
    """What the verdict must add: an early stop, left-out replications, NUTS's own warnings."""
    notes = []
    if stopped:
        notes.append(f"The run stopped at its time budget after {used} of {reps} replications.")
    if failed:
        notes.append(f"{failed} replication{'s' if failed != 1 else ''} could not be fitted and "
                     f"{'was' if failed == 1 else 'were'} left out, which can bias the ranks.")
    if diagnostics.get("divergent_reps"):
        notes.append(f"NUTS diverged in {diagnostics['divergent_reps']} of {used + failed} replications.")
    if diagnostics.get("low_ess_reps"):
        notes.append(f"In {diagnostics['low_ess_reps']} replications the effective sample size was below "
                     f"L = {L}: autocorrelated draws can make ranks look non-uniform; raise thin.")
    return tuple(notes)


def run_sbc(data: "GroupedData", spec: "ModelSpec", reps: int = 500, draws: int = 199,
            method: str = "instant", seed: int = 0, *, alpha: float = 0.05, sampler: Sampler | None = None,
            warmup: int = 500, thin: int = 10, chains: int = 1, target_accept: float = DEFAULT_TARGET_ACCEPT,
            progress: Callable | None = None, cancel: Any = None, max_seconds: float | None = None) -> SBCResult:
    """Simulation-based calibration of ``method`` for ``spec`` on ``data``'s design (module docstring).

    ``reps`` replications, ``draws`` = L posterior draws each (ranks 0..L). NUTS: ``chains`` chains
    of ``warmup`` + ceil(L x ``thin`` / chains) iterations, every ``thin``-th draw kept. ``progress``
    receives :class:`hiermod.jobs.Progress`; ``cancel`` (an Event or a callable) stops the run
    with :class:`FitCancelled`; ``max_seconds`` stops early (after at least :data:`MIN_REPS`
    replications; the result says so). Raises :class:`SpecError` for bad settings or a model the
    method cannot serve. Replications whose fit raises a :class:`HiermodError` are left out and
    counted (the verdict says so).
    """
    from .jobs import Progress
    from .spec import check_compatible

    reps = _check_int("reps (replications)", reps, MIN_REPS, MAX_REPS,
                      "SBC needs at least 10 replications; 100 or more to see a miscalibration, and "
                      "500 take seconds with the instant method.")
    L = _check_int("draws (posterior draws per replication, L)", draws, *DRAW_LIMITS,
                   "99 or 199 are usual: ranks then take 100 or 200 values.")
    if not 0 < alpha < 0.5:
        raise SpecError(f"alpha must be between 0 and 0.5; got {alpha!r}.")
    if sampler is None and method not in METHODS:
        raise SpecError(f"Unknown SBC method {method!r}; use 'instant' or 'nuts'.")
    check_compatible(spec, data)
    fixed = sbc_spec(data, spec)
    columns = ranked_columns(data, fixed)
    diagnostics: dict = {}
    t0 = time.perf_counter()
    state = {"rep": 0, "last": 0.0, "per_fit": 0}

    def report(phase: str, done: float, total: float, message: str) -> None:
        if progress is None:
            return
        elapsed = time.perf_counter() - t0
        eta = elapsed * (total - done) / done if done > 0 else None
        progress(Progress(phase=phase, done=int(done), total=int(total),
                          divergences=int(diagnostics.get("divergent_reps", 0)),
                          elapsed_s=elapsed, eta_s=eta, message=message))

    def per_fit_progress(p) -> None:  # one NUTS fit's progress -> the whole run's
        phase = p.phase if p.phase in ("compiling", "warmup", "sampling") else "sampling"
        report(phase, state["rep"] * state["per_fit"] + p.done, reps * state["per_fit"],
               f"Replication {state['rep'] + 1} of {reps}")

    if sampler is not None:
        draw, label = sampler, "custom"
    elif method == "instant":
        draw, label = _instant_sampler(data, fixed), "instant"
    else:
        warmup, thin, chains = _check_nuts(L, warmup, thin, chains)
        draw = _nuts_sampler(warmup, thin, chains, target_accept, per_fit_progress if progress else None,
                             cancel, diagnostics, L, list(dict.fromkeys(n for _, n, _ in columns)))
        state["per_fit"], label = draw.per_fit, "nuts"
        report("compiling", 0, reps * draw.per_fit, "Preparing the sampler (its first fit of a model compiles it)")

    rows, failed, stopped = [], 0, False
    truths = _truth_batches(data, fixed, dict(fixed.priors), reps, np.random.default_rng([seed, 11]))
    for rep, (truth, y) in enumerate(truths):
        if rep == 0:
            columns = _distinct(columns, truth)
        if _is_set(cancel):
            raise FitCancelled("The calibration run was cancelled.")
        if max_seconds is not None and len(rows) >= MIN_REPS and time.perf_counter() - t0 > max_seconds:
            stopped = True
            break
        state["rep"] = rep
        rng = np.random.default_rng([seed, 12, rep])
        try:
            post = draw(dataclasses.replace(data, y=np.asarray(y, float)), fixed, L, rng)
        except FitCancelled:
            raise
        except HiermodError:
            failed += 1
            continue
        rows.append(_ranks(_column_values(post, columns), _column_values(truth, columns), rng))
        if label != "nuts" and time.perf_counter() - t0 - state["last"] > CHECK_EVERY_S:
            state["last"] = time.perf_counter() - t0
            report("sampling", rep + 1, reps, f"Replication {rep + 1} of {reps}")
    if len(rows) < MIN_REPS:
        raise HiermodError(f"Only {len(rows)} of {reps} replications could be fitted ({failed} failed); "
                           f"SBC needs at least {MIN_REPS}. Check the priors: draws from them may give "
                           "data the method cannot fit.")
    ranks = pd.DataFrame(np.vstack(rows), columns=[c for c, _, _ in columns])
    ranks.index.name = "replication"
    if label != "nuts":
        report("sampling", reps, reps, "Done")
    scalars = tuple(c for c, name, j in columns if j is None or name == "beta")
    return SBCResult(ranks, L, label, fixed, _design(data), time.perf_counter() - t0, int(seed), float(alpha),
                     failed, reps, diagnostics, _notes(stopped, len(rows), reps, failed, diagnostics, L), scalars)
