"""The family registry: one entry per likelihood, read by every part of hiermod.

A :class:`Family` declares, for one observation model, everything the rest of the package needs:
its own parameters (names, support, data-scaled default prior), the link, the data kind it fits and
the per-row data it reads, how rows collapse into per-group sufficient statistics, the NumPyro
observation, the numpy log density and random draws, the response-scale transform, the group
estimates and predictive-check statistic of its data kind, the within-group variance for the
variance decomposition, a new group's observation, and how the exported script writes it.
Nothing outside this module branches on a likelihood's name: adding a likelihood is one entry here.

With eta_i the linear predictor of row i (group effect plus covariates, on the link scale):

    normal_known_se:    y_i ~ Normal(eta_i, se_i)                        identity link
    normal:             y_i ~ Normal(eta_i, sigma)                       identity link
    student_t:          y_i ~ StudentT(nu, eta_i, sigma)                 identity link
    binomial:           y_i ~ Binomial(trials_i, logit^-1(eta_i))        logit link, p_j = logit^-1(theta_j)
    poisson:            y_i ~ Poisson(exposure_i exp(eta_i))             log link, rate_j = exp(theta_j)
    negative_binomial:  y_i ~ NegBinomial(mean m_i = exposure_i exp(eta_i), dispersion phi),
                        Var y_i = m_i + m_i^2 / phi                      log link, rate_j = exp(theta_j)

Only numpy is imported at module level (the dashboard's first page reads the registry); scipy,
JAX and NumPyro load inside the methods that need them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Callable

import numpy as np

from .errors import SpecError
from .prior_families import Prior, nice

if TYPE_CHECKING:  # pragma: no cover
    from .data import GroupedData

ROW_FIELDS = ("se", "trials", "exposure")
"""Per-row data a likelihood may read besides y (attributes of GroupedData and of ColumnMap)."""


@dataclass(frozen=True)
class FamilyParam:
    """A parameter of the observation model itself (not of a group term)."""

    name: str
    description: str
    default: Callable[[float, float], Prior]  # (centre m, scale s of the outcome) -> prior
    tail: bool = False
    """A degrees-of-freedom parameter: how heavy the tails are, which data rarely inform (its prior
    is a modelling choice; the falsification checks do not ask the data to move it)."""


def _expit(x):
    from scipy import special

    return special.expit(x)


def _logit(p):
    p = np.asarray(p, dtype=float)
    return np.log(p) - np.log1p(-p)


@dataclass(frozen=True)
class Link:
    """A link function: ``name``, numpy inverse (link -> response scale) and numpy forward."""

    name: str
    inverse: Callable
    forward: Callable
    scale_name: str  # what the link scale is called in words


LINKS = {
    "identity": Link("identity", lambda x: np.asarray(x, dtype=float), lambda x: np.asarray(x, dtype=float),
                     "data scale"),
    "logit": Link("logit", _expit, _logit, "log-odds"),
    "log": Link("log", lambda x: np.exp(np.asarray(x, dtype=float)), lambda x: np.log(np.asarray(x, float)),
                "log-rate"),
}


def _row(data: "GroupedData", name: str) -> np.ndarray:
    """A per-row array of ``data`` (ones where the data has none: 0/1 rows, exposure 1)."""
    value = getattr(data, name, None)
    return np.ones(data.n_rows) if value is None else np.asarray(value, dtype=float)


def _normal_derivatives(y, eta, precision):
    """log N(y | eta, precision^-1/2), its gradient and negative Hessian in eta."""
    r = np.asarray(y, float) - eta
    loglik = 0.5 * (np.log(precision) - math.log(2 * math.pi)) - 0.5 * precision * r * r
    return loglik, precision * r, np.broadcast_to(precision, np.shape(r))


def _normal_logpdf_inplace(y: np.ndarray, eta: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """log N(y | eta, scale) = -((y - eta) / scale)^2 / 2 - log(scale) - log(2 pi) / 2, written
    into ``eta`` (no temporaries of its size; see bench/DECISIONS.md)."""
    np.subtract(y, eta, out=eta)
    eta /= scale
    np.square(eta, out=eta)
    eta *= -0.5
    eta -= np.log(scale) + 0.5 * np.log(2 * np.pi)
    return eta


class Family:
    """One observation model. Subclasses fill the class attributes and override the methods.

    Attributes: ``name`` (the likelihood's name everywhere), ``label`` (words for the Model page),
    ``kind`` (the data kind it fits, see :class:`hiermod.data.DataKind`), ``link`` (key of
    :data:`LINKS`), ``params`` (its own parameters, sampled in this order), ``rows`` (per-row data
    it reads, from :data:`ROW_FIELDS`), ``row_defaults`` (value used when a row field has no
    column: one trial per 0/1 row, exposure 1), ``response`` (name of the group value on the
    response scale, or None), ``aggregates`` (rows collapse into per-group sufficient statistics
    when there are no covariates), ``normal_known_se`` (the normal-normal model with an exact
    posterior), ``formula`` and ``code`` (the observation in words and as NumPyro source, with
    ``{eta}`` for the linear predictor), ``math_latex`` and ``math_text`` (the observation's
    distribution written out for :mod:`hiermod.model_math`, LaTeX and plain text; ``{se_i}``,
    ``{trials_i}``, ``{exposure_i}`` stand for the per-row data, filled with the user's columns).
    """

    name: str = ""
    label: str = ""
    kind: str = ""
    link: str = "identity"
    params: tuple[FamilyParam, ...] = ()
    rows: tuple[str, ...] = ()
    row_defaults: dict[str, float] = {}
    response: str | None = None
    response_label: str = "mean"
    response_note: str = "mean of the new group (same as theta_new for normal data)"
    response_code: str = ""  # NumPyro source of the response-scale group values from theta
    scale_title: str = "group mean"  # axis title of group values on the model's (link) scale
    response_title: str = ""  # short axis title on the response scale
    share_name: str = "between-group share"  # what the variance decomposition's share is called
    aggregates: bool = False
    normal_known_se: bool = False
    latent_gaussian: bool = False
    """y given eta is Gaussian with a known precision given the family's own parameters (the instant
    method's latent engine is then exact given the hyperparameters, not a Laplace approximation);
    such a family also has ``gaussian_precision(rows, params, M) -> (per node (M,), per row (N,) or
    None for ones)``, the row precisions' two factors."""
    robust_alternative: str | None = None
    """The family to try when this one cannot follow outlying data (posterior predictive misses,
    large Pareto k): the name of a heavier-tailed family of the same data kind, or None when there
    is none (Student-t, negative binomial, binomial; for summary data the robust choice is a
    Student-t population of the group effects, not another likelihood)."""
    eta_derivatives: "Callable | None" = None
    """``eta_derivatives(y, eta, rows, params) -> (log p(y_i | eta_i), d/deta, -d^2/deta^2)`` per row
    (numpy, ``params`` scalars or arrays broadcasting with eta): what a Laplace approximation of the
    latent field needs. None: the family is not log-concave in eta (Student-t), no Laplace."""
    formula: str = ""
    code: str = ""
    math_latex: str = ""
    math_text: str = ""

    def eta_loglik(self, y, eta, rows, params):
        """log p(y_i | eta_i) alone, what quadrature nodes need: ``eta_derivatives``' first output,
        computed without the derivatives where the family can."""
        return self.eta_derivatives(y, eta, rows, params)[0]

    def eta_constant(self, y, rows):
        """The terms of log p(y_i | eta_i) that depend neither on eta nor on the family's own
        parameters (binomial: log C(n, y); Poisson: -log y!), per row. :meth:`eta_kernel` and
        :meth:`eta_kernel_derivatives` leave them out, so a quadrature that evaluates the likelihood
        at many eta computes them once per row, not once per node."""
        return np.zeros(np.shape(y))

    def eta_kernel(self, y, eta, rows, params):
        """:meth:`eta_loglik` minus :meth:`eta_constant`."""
        return self.eta_loglik(y, eta, rows, params) - self.eta_constant(y, rows)

    def eta_kernel_derivatives(self, y, eta, rows, params):
        """:meth:`eta_derivatives` with :meth:`eta_constant` left out of the log-likelihood."""
        loglik, grad, neg_hess = self.eta_derivatives(y, eta, rows, params)
        return loglik - self.eta_constant(y, rows), grad, neg_hess

    # ------------------------------------------------------------------ names and scales

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def inverse_link(self) -> Callable:
        """numpy: link scale -> response scale."""
        return LINKS[self.link].inverse

    def numpyro_response(self, theta):
        """JAX: the response-scale group values (only called when ``response`` is set)."""
        raise NotImplementedError  # pragma: no cover

    def data_scale(self, data: "GroupedData") -> tuple[float, float]:
        """(centre m, scale s) of the outcome on the link scale, for default priors."""
        y = np.asarray(data.y, dtype=float)
        centre = float(np.median(y))
        sd = float(np.std(y, ddof=1)) if y.size > 1 else 0.0
        if not sd > 0:
            sd = max(abs(centre), 1.0)
        return nice(centre), nice(sd)

    def default_priors(self, data: "GroupedData") -> dict[str, Prior]:
        m, s = self.data_scale(data)
        return {p.name: p.default(m, s) for p in self.params}

    # ------------------------------------------------------------------ model inputs

    def model_rows(self, data: "GroupedData") -> dict[str, np.ndarray]:
        """Per-row arrays the NumPyro observation reads, with their dtypes (float32; int32 trials)."""
        return {name: _row(data, name).astype(np.float32) for name in self.rows}

    def row_values(self, data: "GroupedData") -> dict[str, np.ndarray]:
        """The per-row data this family reads, as float arrays (defaults filled in: trials 1 for 0/1
        rows, exposure 1)."""
        return {name: _row(data, name) for name in self.rows}

    def sufficient_statistics(self, data: "GroupedData") -> dict[str, np.ndarray]:
        """Model inputs with one 'row' per group (only when ``aggregates``); y and row fields summed."""
        raise SpecError(f"The {self.name} likelihood does not aggregate rows into groups.")

    # ------------------------------------------------------------------ the observation

    def observe(self, eta, rows: dict, params: dict):
        """The NumPyro distribution of y given eta (link scale), per-row data and own parameters."""
        raise NotImplementedError  # pragma: no cover

    def log_likelihood(self, y: np.ndarray, eta: np.ndarray, rows: dict, params: dict) -> np.ndarray:
        """log p(y_i | draw s), shape (S, n_rows); ``eta`` (S, n_rows) may be overwritten;
        ``params`` hold (S, 1) arrays."""
        raise NotImplementedError  # pragma: no cover

    def draw(self, eta: np.ndarray, rows: dict, params: dict, rng: np.random.Generator) -> np.ndarray:
        """One replicated outcome per entry of ``eta`` (S, n_rows)."""
        raise NotImplementedError  # pragma: no cover

    def to_data_scale(self, y: np.ndarray, rows: dict) -> np.ndarray:
        """Outcomes as a user reads them beside the data (y; y / trials; y / exposure)."""
        return np.asarray(y, dtype=float)

    # ------------------------------------------------------------------ group-level summaries

    ppc_statistic: str = "group mean"
    ppc_sums: bool = False  # the predictive check compares group sums (counts), not means

    def group_estimates(self, data: "GroupedData"):
        """Each group's own-data estimate and se on the link scale, and the pooled estimate:
        (estimate (J,), se (J,), pooled float)."""
        raise NotImplementedError  # pragma: no cover

    def within_variance(self, draws: Callable[[str], np.ndarray], data: "GroupedData", n: int
                        ) -> tuple[np.ndarray, str]:
        """Per-draw within-group variance on the link scale, and what it is in words."""
        raise NotImplementedError  # pragma: no cover

    def new_observation(self, theta_new: np.ndarray, draws: Callable[[str], np.ndarray],
                        data: "GroupedData", rng: np.random.Generator) -> np.ndarray:
        """One new observation per draw from a group with effect ``theta_new``."""
        raise NotImplementedError  # pragma: no cover

    def new_observation_note(self, data: "GroupedData") -> str:
        raise NotImplementedError  # pragma: no cover


SOFTPLUS_LINEAR_ABOVE = 40.0
"""softplus(x) = log(1 + e^x) equals x to float64 rounding above this (e^-40 = 4e-18)."""


def softplus_of(eta) -> np.ndarray:
    """log(1 + e^eta), elementwise, float64: log(1 + exp(min(eta, 40))), and eta itself above 40.

    ``log`` of the rounded 1 + e^eta, not ``log1p``: the rounding of 1 + e^eta (at most half an ulp
    of it, a relative 1.1e-16) moves the log by at most 1.1e-16, so the absolute error stays below
    about 2.5e-16 everywhere (it is relative accuracy that log1p would add, for e^eta < 1e-16, where
    softplus itself is below 1e-16); numpy's log is vectorised and log1p is not (7x here). The
    instant engines evaluate it on (nodes x rows) arrays."""
    eta = np.asarray(eta, dtype=float)
    out = np.minimum(eta, SOFTPLUS_LINEAR_ABOVE, out=np.empty_like(eta))
    np.exp(out, out=out)
    out += 1.0
    np.log(out, out=out)
    big = eta > SOFTPLUS_LINEAR_ABOVE
    if big.any():
        out[big] = eta[big]
    return out


# ------------------------------------------------------------------------- normal families


class _NormalBase(Family):
    kind = "gaussian"
    link = "identity"

    def group_estimates(self, data):
        gs = data.group_summary()
        return gs["estimate"].to_numpy(float), gs["se"].to_numpy(float), float(np.mean(data.y))

    def new_observation_note(self, data):
        return "one new observation in the new group (group effect plus within-group noise)"


class NormalKnownSE(_NormalBase):
    name = "normal_known_se"
    label = "Normal with known standard errors"
    kind = "summary"
    rows = ("se",)
    normal_known_se = True
    formula = "Normal({eta}, se_i)"
    math_latex = r"\mathrm{Normal}(\eta_i,\ {se_i})"
    math_text = "Normal(eta_i, {se_i})"
    code = "dist.Normal({eta}, se)"
    ppc_statistic = "reported estimate"
    scale_title = "estimate"

    def data_scale(self, data):
        y = np.asarray(data.y, dtype=float)
        centre = float(np.median(y))
        sd = float(np.std(y, ddof=1)) if y.size > 1 else 0.0
        if data.se is not None:
            sd = max(sd, float(np.median(data.se)))
        if not sd > 0:
            sd = max(abs(centre), 1.0)
        return nice(centre), nice(sd)

    def observe(self, eta, rows, params):
        import numpyro.distributions as dist

        return dist.Normal(eta, rows["se"])

    def log_likelihood(self, y, eta, rows, params):
        return _normal_logpdf_inplace(y, eta, np.asarray(rows["se"], dtype=float))

    def draw(self, eta, rows, params, rng):
        return eta + np.asarray(rows["se"], dtype=float) * rng.standard_normal(eta.shape)

    latent_gaussian = True

    def eta_derivatives(self, y, eta, rows, params):
        precision = 1.0 / np.asarray(rows["se"], dtype=float) ** 2
        return _normal_derivatives(y, eta, precision)

    def gaussian_precision(self, rows, params, M: int):
        """Row precisions as (per node (M,), per row (N,)) factors: 1 and 1 / se_i^2."""
        return np.ones(M), 1.0 / np.asarray(rows["se"], dtype=float) ** 2

    def group_estimates(self, data):
        gs = data.group_summary()
        est, se = gs["estimate"].to_numpy(float), gs["se"].to_numpy(float)
        w = 1 / se**2
        return est, se, float(np.sum(w * est) / np.sum(w))

    def within_variance(self, draws, data, n):
        return np.full(n, float(np.mean(np.asarray(data.se, float) ** 2))), (
            "Within: the average sampling variance of the reported estimates (mean se²), "
            "known from the data.")

    def new_observation(self, theta_new, draws, data, rng):
        return theta_new + float(np.median(data.se)) * rng.standard_normal(theta_new.shape[0])

    def new_observation_note(self, data):
        return f"one new reported estimate with the median standard error ({float(np.median(data.se)):.3g})"


_SIGMA = FamilyParam("sigma", "sd of single observations around their group's mean",
                     lambda m, s: Prior("HalfNormal", (nice(2.5 * s),)))


class Normal(_NormalBase):
    share_name = "intraclass correlation (ICC)"
    name = "normal"
    robust_alternative = "student_t"
    label = "Normal"
    params = (_SIGMA,)
    aggregates = True
    formula = "Normal({eta}, sigma)"
    math_latex = r"\mathrm{Normal}(\eta_i, \sigma)"
    math_text = "Normal(eta_i, sigma)"
    code = "dist.Normal({eta}, sigma)"

    def sufficient_statistics(self, data):
        """normal: (n_j, mean_j) per group and the pooled (N - J, SS) within groups."""
        J, g, y = data.n_groups, np.asarray(data.group_idx), np.asarray(data.y, dtype=float)
        counts = np.bincount(g, minlength=J).astype(float)
        means = np.bincount(g, weights=y, minlength=J) / counts
        ss = float(((y - means[g]) ** 2).sum())
        return {"y": means.astype(np.float32), "counts": counts.astype(np.float32),
                "within": np.asarray([data.n_rows - J, ss], dtype=np.float32)}

    def observe(self, eta, rows, params):
        import jax.numpy as jnp
        import numpyro
        import numpyro.distributions as dist

        sigma = params["sigma"]
        if rows.get("counts") is not None:
            # aggregated: mean_j ~ Normal(theta_j, sigma / sqrt(n_j)), and the within-group sum of
            # squares adds -(N - J) log sigma - SS / (2 sigma^2) to the log density
            within = rows["within"]
            numpyro.factor("y_within", -within[0] * jnp.log(sigma) - within[1] / (2 * sigma**2))
            sigma = sigma / jnp.sqrt(rows["counts"])
        return dist.Normal(eta, sigma)

    def log_likelihood(self, y, eta, rows, params):
        return _normal_logpdf_inplace(y, eta, params["sigma"])

    def draw(self, eta, rows, params, rng):
        return eta + params["sigma"] * rng.standard_normal(eta.shape)

    latent_gaussian = True

    def eta_derivatives(self, y, eta, rows, params):
        return _normal_derivatives(y, eta, 1.0 / np.asarray(params["sigma"], dtype=float) ** 2)

    def gaussian_precision(self, rows, params, M: int):
        """Row precisions as (per node (M,), per row (N,)) factors: 1 / sigma^2 and 1."""
        return 1.0 / np.asarray(params["sigma"], dtype=float).reshape(M) ** 2, None

    def within_variance(self, draws, data, n):
        return draws("sigma").astype(float) ** 2, (
            "Within: variance of single observations around their group's mean (sigma²).")

    def new_observation(self, theta_new, draws, data, rng):
        return theta_new + draws("sigma") * rng.standard_normal(theta_new.shape[0])


class StudentT(_NormalBase):
    share_name = "intraclass correlation (ICC)"
    name = "student_t"
    label = "Student-t (robust to outliers)"
    params = (_SIGMA, FamilyParam("nu", "degrees of freedom (small: heavy tails)",
                                  lambda m, s: Prior("Gamma", (2.0, 0.1)), tail=True))
    formula = "StudentT(nu, {eta}, sigma)"
    math_latex = r"\mathrm{StudentT}(\nu, \eta_i, \sigma)"
    math_text = "StudentT(nu, eta_i, sigma)"
    code = "dist.StudentT(nu, {eta}, sigma)"

    def observe(self, eta, rows, params):
        import numpyro.distributions as dist

        return dist.StudentT(params["nu"], eta, params["sigma"])

    def log_likelihood(self, y, eta, rows, params):
        from scipy import stats

        return stats.t.logpdf(y, params["nu"], eta, params["sigma"])

    def draw(self, eta, rows, params, rng):
        return eta + params["sigma"] * rng.standard_t(params["nu"], eta.shape)

    def within_variance(self, draws, data, n):
        sigma, nu = draws("sigma").astype(float), draws("nu").astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            within = np.where(nu > 2, sigma**2 * nu / (nu - 2), np.inf)
        share_inf = float(np.mean(~np.isfinite(within)))
        extra = (f" In {100 * share_inf:.0f}% of draws nu ≤ 2, where that variance is infinite "
                 "(those draws are left out of its mean and give a between share of 0).") if share_inf else ""
        return within, ("Within: variance of single observations around their group's mean, "
                        "sigma²·nu/(nu-2) for the Student-t." + extra)

    def new_observation(self, theta_new, draws, data, rng):
        return theta_new + draws("sigma") * rng.standard_t(draws("nu"))


# -------------------------------------------------------------------------- count families


class _KernelFirst(Family):
    """A family that writes its log-likelihood as kernel + constant (``eta_kernel``,
    ``eta_kernel_derivatives``, ``eta_constant``): the full log-likelihood and its derivatives
    follow from them, so each fact is written once."""

    def log_likelihood(self, y, eta, rows, params):
        return self.eta_loglik(y, eta, rows, params)

    def eta_loglik(self, y, eta, rows, params):
        return self.eta_kernel(y, eta, rows, params) + self.eta_constant(y, rows)

    def eta_derivatives(self, y, eta, rows, params):
        kernel, grad, neg_hess = self.eta_kernel_derivatives(y, eta, rows, params)
        return kernel + self.eta_constant(y, rows), grad, neg_hess


class Binomial(_KernelFirst):
    name = "binomial"
    label = "Binomial (logit link)"
    kind = "binomial"
    link = "logit"
    rows = ("trials",)
    row_defaults = {"trials": 1.0}
    response = "p"
    response_label = "success probability"
    response_note = "success probability of the new group"
    response_code = "jax.nn.sigmoid(theta)"
    scale_title = "log-odds"
    response_title = "probability"
    aggregates = True
    formula = "Binomial(trials_i, inv_logit({eta}))"
    math_latex = r"\mathrm{Binomial}\left({trials_i},\ \mathrm{logit}^{-1}(\eta_i)\right)"
    math_text = "Binomial({trials_i}, logit⁻¹(eta_i))"
    code = "dist.Binomial(total_count=trials, logits={eta})"
    ppc_statistic = "successes"
    ppc_sums = True

    def numpyro_response(self, theta):
        from jax.nn import sigmoid

        return sigmoid(theta)

    def data_scale(self, data):
        y = np.asarray(data.y, dtype=float)
        p = (y.sum() + 0.5) / (_row(data, "trials").sum() + 1.0)
        return nice(math.log(p / (1 - p))), 1.0

    def model_rows(self, data):
        # integer trials: numpyro's binomial sampler (posterior predictive) indexes with them
        return {"trials": _row(data, "trials").astype(np.int32)}

    def sufficient_statistics(self, data):
        J, g = data.n_groups, np.asarray(data.group_idx)
        return {"y": np.bincount(g, weights=np.asarray(data.y, float), minlength=J).astype(np.float32),
                "trials": np.bincount(g, weights=_row(data, "trials"), minlength=J).astype(np.int32)}

    def observe(self, eta, rows, params):
        import numpyro.distributions as dist

        return dist.Binomial(total_count=rows["trials"], logits=eta)

    def eta_constant(self, y, rows):
        """log C(n, y)."""
        from scipy import special

        n = np.asarray(rows["trials"], dtype=float)
        return special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)

    def eta_kernel(self, y, eta, rows, params):
        return self._kernel_softplus(y, eta, rows)[0]

    def eta_kernel_derivatives(self, y, eta, rows, params):
        """log-lik y log p + (n - y) log(1 - p) + log C(n, y) = log C(n, y) + y eta - n log(1 + e^eta)
        (one softplus); gradient y - n p; -Hessian n p (1 - p)."""
        kernel, softplus, n = self._kernel_softplus(y, eta, rows)
        p = np.exp(eta - softplus)
        return kernel, y - n * p, n * p * (1 - p)

    @staticmethod
    def _kernel_softplus(y, eta, rows):
        """(y eta - n softplus(eta), softplus(eta) = log(1 + e^eta) = -log(1 - p), n)."""
        n = np.asarray(rows["trials"], dtype=float)
        softplus = softplus_of(eta)
        return y * eta - n * softplus, softplus, n

    def draw(self, eta, rows, params, rng):
        from scipy import special

        n = np.broadcast_to(np.asarray(rows["trials"], dtype=np.int64), eta.shape)
        return rng.binomial(n, special.expit(eta)).astype(float)

    def to_data_scale(self, y, rows):
        y = np.asarray(y, dtype=float)
        return y if rows.get("trials") is None else y / np.asarray(rows["trials"])

    def group_estimates(self, data):
        """logit((y + 0.5) / (n + 1)) with se sqrt(1/(y + 0.5) + 1/(n - y + 0.5))."""
        gs = data.group_summary()
        k, n = gs["successes"].to_numpy(float), gs["trials"].to_numpy(float)
        est = _logit((k + 0.5) / (n + 1))
        se = np.sqrt(1 / (k + 0.5) + 1 / (n - k + 0.5))
        return est, se, float(_logit((k.sum() + 0.5) / (n.sum() + 1)))

    def within_variance(self, draws, data, n):
        return np.full(n, np.pi**2 / 3), (
            "Within: π²/3 ≈ 3.29, the variance of the logistic distribution: the latent-scale "
            "convention for yes/no data (so the share is a latent-scale ICC).")

    def _median_trials(self, data) -> int:
        return max(int(round(float(np.median(_row(data, "trials"))))), 1)

    def new_observation(self, theta_new, draws, data, rng):
        p = np.clip(self.inverse_link(theta_new), 0, 1)
        return rng.binomial(self._median_trials(data), p).astype(float)

    def new_observation_note(self, data):
        return f"successes out of {self._median_trials(data)} trials (the median number per row) in the new group"


class Poisson(_KernelFirst):
    name = "poisson"
    robust_alternative = "negative_binomial"
    label = "Poisson (log link, exposure offset)"
    kind = "poisson"
    link = "log"
    rows = ("exposure",)
    row_defaults = {"exposure": 1.0}
    response = "rate"
    response_label = "rate per unit of exposure"
    response_note = "event rate of the new group (per unit of exposure)"
    response_code = "jnp.exp(theta)"
    scale_title = "log rate"
    response_title = "rate"
    aggregates = True
    formula = "Poisson(exposure_i * exp({eta}))"
    math_latex = r"\mathrm{Poisson}\left({exposure_i}\, e^{\eta_i}\right)"
    math_text = "Poisson({exposure_i} · exp(eta_i))"
    code = "dist.Poisson(jnp.exp({eta} + jnp.log(exposure)))"
    ppc_statistic = "events"
    ppc_sums = True

    def numpyro_response(self, theta):
        import jax.numpy as jnp

        return jnp.exp(theta)

    def data_scale(self, data):
        y = np.asarray(data.y, dtype=float)
        rate = (y.sum() + 0.5) / _row(data, "exposure").sum()
        return nice(math.log(rate)), 1.0

    def sufficient_statistics(self, data):
        J, g = data.n_groups, np.asarray(data.group_idx)
        return {"y": np.bincount(g, weights=np.asarray(data.y, float), minlength=J).astype(np.float32),
                "exposure": np.bincount(g, weights=_row(data, "exposure"), minlength=J).astype(np.float32)}

    def observe(self, eta, rows, params):
        import jax.numpy as jnp
        import numpyro.distributions as dist

        return dist.Poisson(jnp.exp(eta + jnp.log(rows["exposure"])))

    def _mean(self, eta, rows):
        return np.asarray(rows["exposure"], dtype=float) * np.exp(eta)

    def log_likelihood(self, y, eta, rows, params):
        from scipy import stats

        return stats.poisson.logpmf(y, self._mean(eta, rows))

    def eta_constant(self, y, rows):
        """-log y!."""
        from scipy import special

        return -special.gammaln(np.asarray(y, dtype=float) + 1)

    def eta_kernel(self, y, eta, rows, params):
        return self._kernel_mean(y, eta, rows)[0]

    def eta_kernel_derivatives(self, y, eta, rows, params):
        """log-lik y log m - m - log y! with m = exposure e^eta; gradient y - m; -Hessian m."""
        kernel, m = self._kernel_mean(y, eta, rows)
        return kernel, y - m, m

    def _kernel_mean(self, y, eta, rows):
        """(y log m - m with log m = eta + log exposure (no log of the exponential), m)."""
        m = self._mean(eta, rows)
        kernel = y * (eta + np.log(np.asarray(rows["exposure"], dtype=float)))
        kernel -= m
        return kernel, m

    def draw(self, eta, rows, params, rng):
        rate = self._mean(np.clip(eta, -50, 50), rows)
        return rng.poisson(np.minimum(rate, 1e12)).astype(float)

    def to_data_scale(self, y, rows):
        y = np.asarray(y, dtype=float)
        return y if rows.get("exposure") is None else y / np.asarray(rows["exposure"])

    def group_estimates(self, data):
        """log((y + 0.5) / exposure) with se 1 / sqrt(y + 0.5)."""
        gs = data.group_summary()
        e, x = gs["events"].to_numpy(float), gs["exposure"].to_numpy(float)
        return np.log((e + 0.5) / x), 1 / np.sqrt(e + 0.5), float(np.log((e.sum() + 0.5) / x.sum()))

    def _expected_count(self, draws, data) -> np.ndarray:
        """Per draw: the average expected count per row, lambda = mean_i(rate_g[i] exposure_i)."""
        theta = draws("theta").astype(float)
        return np.mean(np.exp(theta[:, data.group_idx]) * _row(data, "exposure")[None, :], axis=1)

    def within_variance(self, draws, data, n):
        return np.log1p(1 / self._expected_count(draws, data)), (
            "Within: log(1 + 1/λ) with λ the average expected count per row (rate × exposure), "
            "the log-scale Poisson noise (Nakagawa & Schielzeth 2017).")

    def new_observation(self, theta_new, draws, data, rng):
        exposure = float(np.median(_row(data, "exposure")))
        return rng.poisson(np.minimum(self.inverse_link(theta_new) * exposure, 1e12)).astype(float)

    def new_observation_note(self, data):
        exposure = float(np.median(_row(data, "exposure")))
        return f"events over an exposure of {exposure:.3g} (the median per row) in the new group"


class NegativeBinomial(Poisson):
    """Overdispersed counts: a Poisson whose mean is Gamma-distributed row by row (NB2).

    y_i ~ NegBinomial(mean m_i = exposure_i exp(eta_i), dispersion phi):
    log p(y) = lgamma(y + phi) - lgamma(phi) - lgamma(y + 1) + phi log(phi / (phi + m)) + y log(m / (phi + m)),
    E y = m, Var y = m + m^2 / phi (phi -> infinity: Poisson). Not aggregated: a sum of NB2 counts
    with different means is not NB2.
    """

    eta_loglik = Family.eta_loglik   # its own eta_derivatives' log-likelihood, not the Poisson one
    eta_kernel = Family.eta_kernel   # (its constant, -log y!, is the Poisson's)
    eta_kernel_derivatives = Family.eta_kernel_derivatives
    name = "negative_binomial"
    robust_alternative = None
    label = "Negative binomial (overdispersed counts; log link, exposure offset)"
    params = (FamilyParam("phi", "dispersion: Var y = mean + mean² / phi (large phi: close to Poisson)",
                          lambda m, s: Prior("Gamma", (2.0, 0.1))),)
    aggregates = False
    formula = "NegativeBinomial(mean = exposure_i * exp({eta}), dispersion = phi)"
    math_latex = r"\mathrm{NegBinomial}\left(\mathrm{mean} = {exposure_i}\, e^{\eta_i},\ \phi\right)"
    math_text = "NegBinomial(mean = {exposure_i} · exp(eta_i), dispersion phi)"
    code = "dist.NegativeBinomial2(jnp.exp({eta} + jnp.log(exposure)), phi)"

    def observe(self, eta, rows, params):
        import jax.numpy as jnp
        import numpyro.distributions as dist

        return dist.NegativeBinomial2(jnp.exp(eta + jnp.log(rows["exposure"])), params["phi"])

    def log_likelihood(self, y, eta, rows, params):
        from scipy import special

        m, phi = self._mean(eta, rows), params["phi"]
        log_total = np.log(phi + m)
        return (special.gammaln(y + phi) - special.gammaln(phi) - special.gammaln(y + 1)
                + phi * (np.log(phi) - log_total) + y * (np.log(m) - log_total))

    def eta_derivatives(self, y, eta, rows, params):
        """NB2 in eta (m = exposure e^eta): gradient y - (y + phi) m / (m + phi); -Hessian
        (y + phi) phi m / (m + phi)^2 (positive: log-concave in eta)."""
        m, phi = self._mean(eta, rows), np.asarray(params["phi"], dtype=float)
        loglik = self.log_likelihood(y, eta, rows, params)
        return loglik, y - (y + phi) * m / (m + phi), (y + phi) * phi * m / (m + phi) ** 2

    def _gamma_poisson(self, mean, phi, rng):
        """NB2 draws as a Gamma(phi, rate phi / mean) mixture of Poissons."""
        return rng.poisson(np.minimum(rng.gamma(phi, mean / phi), 1e12)).astype(float)

    def draw(self, eta, rows, params, rng):
        return self._gamma_poisson(self._mean(np.clip(eta, -50, 50), rows), params["phi"], rng)

    def within_variance(self, draws, data, n):
        lam = self._expected_count(draws, data)
        return np.log1p(1 / lam + 1 / draws("phi").astype(float)), (
            "Within: log(1 + 1/λ + 1/phi) with λ the average expected count per row (rate × "
            "exposure) and phi the dispersion, the log-scale negative binomial noise "
            "(Nakagawa, Johnson & Schielzeth 2017).")

    def new_observation(self, theta_new, draws, data, rng):
        exposure = float(np.median(_row(data, "exposure")))
        return self._gamma_poisson(self.inverse_link(theta_new) * exposure, draws("phi").astype(float), rng)


# ----------------------------------------------------------------------------- the registry


FAMILIES: dict[str, Family] = {f.name: f for f in (
    NormalKnownSE(), Normal(), StudentT(), Binomial(), Poisson(), NegativeBinomial(),
)}
"""Every likelihood, by name, in the order the Model page and the command line list them."""

Likelihood = StrEnum("Likelihood", {name.upper(): name for name in FAMILIES})
Likelihood.__doc__ = "Observation model: the names of :data:`FAMILIES`."

KINDS = ("summary", "gaussian", "binomial", "poisson")
"""The data kinds (see :class:`hiermod.data.DataKind`)."""


def get(name) -> Family:
    """The family called ``name`` (a str or :class:`Likelihood`); SpecError names the known ones."""
    family = FAMILIES.get(str(getattr(name, "value", name)))
    if family is None:
        raise SpecError(f"Unknown likelihood '{name}'. Use one of: {', '.join(FAMILIES)}.")
    return family


def for_kind(kind) -> tuple[Family, ...]:
    """The families that fit a data kind, the usual one first."""
    kind = str(getattr(kind, "value", kind))
    return tuple(f for f in FAMILIES.values() if f.kind == kind)


def default_for_kind(kind) -> Family:
    """The usual family for a data kind."""
    return for_kind(kind)[0]
