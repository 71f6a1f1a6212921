"""Prior families: one declarative entry each, and the prior text grammar.

Each :class:`PriorFamily` says, in one place, its argument names, the support it puts mass on,
which arguments must be positive, and how it is built three ways: as a scipy.stats distribution
(densities, quantiles and draws in numpy: prior previews, the exact posterior, prior draws), as a
NumPyro distribution (the sampled model), and as NumPyro source code (the exported script).
Nothing heavy is imported here: scipy and numpyro load only when a constructor is called.

Prior text such as ``HalfCauchy(5)`` is parsed by a small grammar (:func:`parse_prior`), never by
``eval``. Any prior but LKJ may carry bounds, ``Normal(0, 5) T(0, 20)`` or ``StudentT(3, 0, 2.5) T(, 10)``
(an empty side is the support's own edge): the base density cut to [lower, upper] and renormalised,

    p(x) = base(x) / Z  on [lower, upper],   Z = F(upper) - F(lower)   (F the base's CDF).
"""

from __future__ import annotations

from functools import lru_cache

import math
import re
from dataclasses import dataclass
from typing import Callable

from .errors import PriorError


# ------------------------------------------------------------------------------ constructors


def _stats():
    from scipy import stats

    return stats


def _dist():
    import numpyro.distributions as dist

    return dist


class HalfStudentT:
    """|T| with T ~ StudentT(df, 0, scale): density 2 t(x) on x >= 0 (scipy has no such family)."""

    def __init__(self, df: float, scale: float):
        self._t = _stats().t(df, 0, scale)

    def logpdf(self, x):
        import numpy as np

        x = np.asarray(x, dtype=float)
        return np.where(x >= 0, math.log(2) + self._t.logpdf(x), -np.inf)

    def pdf(self, x):
        import numpy as np

        return np.exp(self.logpdf(x))

    def cdf(self, x):
        """F(x) = 2 T(x) - 1 = T(x) - S(x) for x >= 0 (T, S the StudentT's CDF and survival)."""
        import numpy as np

        x = np.maximum(np.asarray(x, dtype=float), 0.0)
        return self._t.cdf(x) - self._t.sf(x)

    def sf(self, x):
        import numpy as np

        return np.minimum(2 * self._t.sf(np.maximum(np.asarray(x, dtype=float), 0.0)), 1.0)

    def ppf(self, q):
        import numpy as np

        return self._t.ppf(0.5 + 0.5 * np.asarray(q))

    def isf(self, q):
        import numpy as np

        return self._t.isf(0.5 * np.asarray(q))

    def rvs(self, size=None, random_state=None):
        import numpy as np

        return np.abs(self._t.rvs(size=size, random_state=random_state))


class Truncated:
    """``base`` cut to [lower, upper] and renormalised (numpy/scipy; ``lower``/``upper`` finite or
    +-inf): logpdf = base.logpdf - log Z inside, -inf outside; cdf(x) = (F(x) - F(lower)) / Z;
    ppf(q) = F^-1(F(lower) + q Z); draws by the inverse CDF of uniforms. When the interval lies in
    the upper half of the base the survival function S = 1 - F is used instead (Z = S(lower) -
    S(upper), ppf(q) = S^-1(S(lower) - q Z)), so tail intervals keep their digits.
    """

    def __init__(self, base, lower: float, upper: float):
        self.base, self.lower, self.upper = base, float(lower), float(upper)
        f_lo, f_hi = float(base.cdf(self.lower)), float(base.cdf(self.upper))
        s_lo, s_hi = float(base.sf(self.lower)), float(base.sf(self.upper))
        self._upper_tail = s_lo < f_lo
        self._start = s_lo if self._upper_tail else f_lo
        self.mass = (s_lo - s_hi) if self._upper_tail else (f_hi - f_lo)

    def _inside(self, x):
        return (x >= self.lower) & (x <= self.upper)

    def logpdf(self, x):
        import numpy as np

        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            return np.where(self._inside(x), self.base.logpdf(x) - math.log(self.mass), -np.inf)

    def pdf(self, x):
        import numpy as np

        return np.exp(self.logpdf(x))

    def cdf(self, x):
        import numpy as np

        x = np.clip(np.asarray(x, dtype=float), self.lower, self.upper)
        got = (self._start - self.base.sf(x)) if self._upper_tail else (self.base.cdf(x) - self._start)
        return np.clip(got / self.mass, 0.0, 1.0)

    def ppf(self, q):
        import numpy as np

        q = np.asarray(q, dtype=float)
        with np.errstate(invalid="ignore"):
            x = (self.base.isf(self._start - q * self.mass) if self._upper_tail
                 else self.base.ppf(self._start + q * self.mass))
        return np.where((q >= 0) & (q <= 1), np.clip(x, self.lower, self.upper), np.nan)

    def rvs(self, size=None, random_state=None):
        import numpy as np

        rng = random_state if hasattr(random_state, "random") else np.random.default_rng(random_state)
        return self.ppf(rng.random(size))


def _lkj_marginal(concentration):
    """One correlation r of a 2 x 2 LKJ(eta) matrix: p(R) ∝ det(R)^(eta - 1) = (1 - r^2)^(eta - 1),
    i.e. (r + 1) / 2 ~ Beta(eta, eta): scipy's Beta(eta, eta) moved to (-1, 1)."""
    return _stats().beta(concentration, concentration, loc=-1.0, scale=2.0)


def _numpyro_lkj(concentration, dim: int = 2):
    """LKJ(eta) on the Cholesky factor of a dim x dim correlation matrix (dim 2: intercept, slope)."""
    return _dist().LKJCholesky(dim, concentration)


def _truncated_positive_class():
    """:class:`hiermod.truncated.TruncatedPositive` (imports JAX, so only when a model needs it)."""
    from .truncated import TruncatedPositive

    return TruncatedPositive


def _numpyro_half_student_t(df, scale):
    """numpyro has no HalfStudentT: fold a StudentT(df, 0, scale) onto x >= 0."""
    dist = _dist()
    return dist.FoldedDistribution(dist.StudentT(df, 0.0, scale))


@dataclass(frozen=True)
class PriorFamily:
    """A prior family: argument names, support, and its scipy, NumPyro and source-code forms.

    ``scipy(*args)`` returns a frozen scipy.stats distribution (or an object with the same
    ``logpdf``/``cdf``/``sf``/``ppf``/``isf``/``rvs`` methods); ``numpyro(*args)`` a NumPyro
    distribution (arguments may be JAX arrays); ``code`` is a format string of NumPyro source with
    ``{0}``, ``{1}``, ... for the arguments (and ``{dim}``, the matrix size, for LKJ).
    ``support`` is a key of :data:`SUPPORTS`.
    """

    name: str
    arg_names: tuple[str, ...]
    support: str  # "real", "positive" or "correlation"
    positive_args: tuple[str, ...]
    scipy: Callable
    numpyro: Callable
    code: str


PRIOR_FAMILIES: dict[str, PriorFamily] = {
    f.name: f
    for f in (
        PriorFamily("Normal", ("loc", "scale"), "real", ("scale",),
                    lambda loc, scale: _stats().norm(loc, scale),
                    lambda loc, scale: _dist().Normal(loc, scale),
                    "dist.Normal({0}, {1})"),
        PriorFamily("StudentT", ("df", "loc", "scale"), "real", ("df", "scale"),
                    lambda df, loc, scale: _stats().t(df, loc, scale),
                    lambda df, loc, scale: _dist().StudentT(df, loc, scale),
                    "dist.StudentT({0}, {1}, {2})"),
        PriorFamily("Cauchy", ("loc", "scale"), "real", ("scale",),
                    lambda loc, scale: _stats().cauchy(loc, scale),
                    lambda loc, scale: _dist().Cauchy(loc, scale),
                    "dist.Cauchy({0}, {1})"),
        PriorFamily("HalfNormal", ("scale",), "positive", ("scale",),
                    lambda scale: _stats().halfnorm(0, scale),
                    lambda scale: _dist().HalfNormal(scale),
                    "dist.HalfNormal({0})"),
        PriorFamily("HalfCauchy", ("scale",), "positive", ("scale",),
                    lambda scale: _stats().halfcauchy(0, scale),
                    lambda scale: _dist().HalfCauchy(scale),
                    "dist.HalfCauchy({0})"),
        PriorFamily("HalfStudentT", ("df", "scale"), "positive", ("df", "scale"),
                    HalfStudentT, _numpyro_half_student_t,
                    "dist.FoldedDistribution(dist.StudentT({0}, 0.0, {1}))"),
        PriorFamily("Exponential", ("rate",), "positive", ("rate",),
                    lambda rate: _stats().expon(0, 1 / rate),
                    lambda rate: _dist().Exponential(rate),
                    "dist.Exponential({0})"),
        PriorFamily("Gamma", ("concentration", "rate"), "positive", ("concentration", "rate"),
                    lambda c, r: _stats().gamma(c, 0, 1 / r),
                    lambda c, r: _dist().Gamma(c, r),
                    "dist.Gamma({0}, {1})"),
        PriorFamily("InverseGamma", ("concentration", "rate"), "positive", ("concentration", "rate"),
                    lambda c, r: _stats().invgamma(c, 0, r),
                    lambda c, r: _dist().InverseGamma(c, r),
                    "dist.InverseGamma({0}, {1})"),
        PriorFamily("LogNormal", ("loc", "scale"), "positive", ("scale",),
                    lambda loc, scale: _stats().lognorm(scale, 0, math.exp(loc)),
                    lambda loc, scale: _dist().LogNormal(loc, scale),
                    "dist.LogNormal({0}, {1})"),
        PriorFamily("Uniform", ("low", "high"), "positive", (),
                    lambda low, high: _stats().uniform(low, high - low),
                    lambda low, high: _dist().Uniform(low, high),
                    "dist.Uniform({0}, {1})"),
        # the marginal of one correlation (scipy) / the Cholesky factor of the matrix (NumPyro)
        PriorFamily("LKJ", ("concentration",), "correlation", ("concentration",),
                    _lkj_marginal, _numpyro_lkj, "dist.LKJCholesky({dim}, {0})"),
    )
}

SUPPORTS = {"real": (-math.inf, math.inf), "positive": (0.0, math.inf), "correlation": (-1.0, 1.0)}
"""Each support's edges: a missing bound of a bounded prior is its support's edge."""

LOCATION_FAMILIES = tuple(n for n, f in PRIOR_FAMILIES.items() if f.support == "real")
SCALE_FAMILIES = tuple(n for n, f in PRIOR_FAMILIES.items() if f.support == "positive")
CORRELATION_FAMILIES = tuple(n for n, f in PRIOR_FAMILIES.items() if f.support == "correlation")

MIN_PRIOR_MASS = 1e-6
"""A bounded prior must keep at least this share of its base's mass inside its bounds."""

LKJ_DIM = 2
"""The correlation matrix an LKJ prior's code is written for: one intercept and one slope."""

# Truncation of a bounded prior, by its family's support: NumPyro's class (or the one above) and
# its name in source code. Arguments (base, low=..., high=...); a missing side is None, except a
# positive family's lower side, which is its edge 0.
_TRUNCATIONS = {
    "real": (lambda: _dist().TruncatedDistribution, "dist.TruncatedDistribution"),
    "positive": (_truncated_positive_class, "TruncatedPositive"),
}

# Lower-case aliases accepted by the parser (``half_cauchy``, ``halfcauchy``, ``t`` ...).
_ALIASES = {re.sub(r"[^a-z]", "", n.lower()): n for n in PRIOR_FAMILIES} | {
    "t": "StudentT",
    "halft": "HalfStudentT",
    "exp": "Exponential",
    "invgamma": "InverseGamma",
    "lognormal": "LogNormal",
    "gaussian": "Normal",
    "halfgaussian": "HalfNormal",
}

_PRIOR_RE = re.compile(r"^\s*([A-Za-z_][A-Za-z_ ]*)\s*\(\s*([^()]*)\)\s*$")
_SUFFIX_RE = re.compile(r"^(\s*[A-Za-z_][A-Za-z_ ]*\s*\([^()]*\))\s*(\S.*?)\s*$")
_BOUNDS_RE = re.compile(r"^[Tt]\s*\(([^()]*)\)$")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_BOUNDS_EXAMPLE = "e.g. Normal(0, 5) T(0, 20) or StudentT(3, 0, 2.5) T(, 10) (an empty side has no bound)"


@lru_cache(maxsize=256)
def frozen(prior: "Prior"):
    """``prior``'s scipy distribution, built once per prior (building one costs about half a
    millisecond, more than evaluating it on a grid of a few hundred points)."""
    return prior.scipy()


def _bound(value, infinite: float) -> float | None:
    """A bound as a float, None when absent (``infinite``, the open side's infinity, means absent)."""
    if value is None or value == infinite:
        return None
    value = float(value)
    if not math.isfinite(value):
        raise PriorError(f"A bound must be a finite number, got {value}; leave the side empty instead, "
                         f"{_BOUNDS_EXAMPLE}.")
    return value


def _g(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


@dataclass(frozen=True)
class Prior:
    """A prior distribution: a family name from :data:`PRIOR_FAMILIES`, its arguments and optional
    bounds (None: the support's own edge). A bounded prior is its base cut to [lower, upper] and
    renormalised (see the module docstring); a positive family's lower bound 0 is stored as None.
    """

    family: str
    args: tuple[float, ...]
    lower: float | None = None
    upper: float | None = None

    def __post_init__(self) -> None:
        fam = PRIOR_FAMILIES.get(self.family)
        if fam is None:
            raise PriorError(
                f"Unknown prior family '{self.family}'. Use one of: {', '.join(PRIOR_FAMILIES)}."
            )
        args = tuple(float(a) for a in self.args)
        object.__setattr__(self, "args", args)
        if len(args) != len(fam.arg_names):
            raise PriorError(
                f"{self.family} takes {len(fam.arg_names)} argument(s) "
                f"({', '.join(fam.arg_names)}), got {len(args)}: write e.g. "
                f"{self.family}({', '.join('1' for _ in fam.arg_names)})."
            )
        for name, value in zip(fam.arg_names, args):
            if not math.isfinite(value):
                raise PriorError(f"{self.family}: {name} must be a finite number, got {value}.")
            if name in fam.positive_args and value <= 0:
                raise PriorError(f"{self.family}: {name} must be > 0, got {value:g}.")
        if self.family == "Uniform" and not (0 <= args[0] < args[1]):
            raise PriorError(
                f"Uniform(low, high) for a scale needs 0 <= low < high, got Uniform({args[0]:g}, {args[1]:g})."
            )
        self._check_bounds(fam)

    def _check_bounds(self, fam: PriorFamily) -> None:
        lower, upper = _bound(self.lower, -math.inf), _bound(self.upper, math.inf)
        edge_lo, edge_hi = SUPPORTS[fam.support]
        if lower is not None and lower == edge_lo:
            lower = None
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        if not self.bounded:
            return
        base = f"{self.family}({', '.join(f'{a:g}' for a in self.args)})"
        if fam.support == "correlation":
            raise PriorError(f"{base} is a prior on a correlation matrix and takes no bounds: "
                             f"remove the T(...) part, e.g. write {base}.")
        if self.family == "Uniform":
            raise PriorError(f"Uniform(low, high) is bounded already: change low and high instead of "
                             f"adding T(...), e.g. Uniform({_g(lower or self.args[0])}, {_g(upper or self.args[1])}).")
        if lower is not None and lower < edge_lo:
            raise PriorError(f"{self}: {self.family} lives on positive numbers, so its lower bound must be "
                             f">= 0, got {lower:g}. Leave the lower side empty to start at 0: "
                             f"{base} T(, {_g(upper)}).")
        lo, hi = self.interval
        if not lo < hi:
            raise PriorError(f"{self}: the lower bound must be below the upper bound, got "
                             f"lower {lo:g} >= upper {hi:g}. Swap or widen them, e.g. {base} T({hi:g}, {lo:g}).")
        mass = self.mass
        if not mass >= MIN_PRIOR_MASS:
            q_lo, q_hi = fam.scipy(*self.args).ppf([0.01, 0.99])
            raise PriorError(
                f"{self} keeps only {mass:.2g} of {base}'s mass inside its bounds (less than "
                f"{MIN_PRIOR_MASS:g}), so it is not a usable prior. {base} holds 98% of its mass "
                f"between {q_lo:.3g} and {q_hi:.3g}: move the bounds there, or move the prior's centre "
                "inside the bounds (e.g. a Normal whose mean lies between them)."
            )

    @property
    def bounded(self) -> bool:
        return self.lower is not None or self.upper is not None

    @property
    def interval(self) -> tuple[float, float]:
        """(lower, upper) with the support's edges for missing sides."""
        edge_lo, edge_hi = SUPPORTS[self.support]
        return (edge_lo if self.lower is None else self.lower, edge_hi if self.upper is None else self.upper)

    @property
    def mass(self) -> float:
        """The base distribution's probability of [lower, upper] (1 for an unbounded prior)."""
        if not self.bounded:
            return 1.0
        return Truncated(PRIOR_FAMILIES[self.family].scipy(*self.args), *self.interval).mass

    @property
    def support(self) -> str:
        return PRIOR_FAMILIES[self.family].support

    @property
    def kwargs(self) -> dict[str, float]:
        return dict(zip(PRIOR_FAMILIES[self.family].arg_names, self.args))

    @property
    def structure_key(self) -> str:
        """What the compiled model depends on: the family, plus for a bounded prior which sides
        are bounded ("Normal|T" both, "Normal|L" lower only, "Normal|U" upper only); never the
        bound values, so changing a bound does not recompile. (A side's presence does matter: the
        sampler's unconstrained transform differs for (a, b), (a, inf) and (-inf, b).)"""
        if not self.bounded:
            return self.family
        sides = "T" if self.lower is not None and self.upper is not None else ("L" if self.upper is None else "U")
        return f"{self.family}|{sides}"

    @property
    def hyper_args(self) -> tuple[float, ...]:
        """The numbers the NumPyro constructor ``to_numpyro(structure_key)`` takes: ``args``, and
        for a bounded prior ``(lower, upper)`` after them (missing sides: the support's edges)."""
        return self.args + (self.interval if self.bounded else ())

    def scipy(self):
        """This prior as a frozen scipy.stats distribution; bounded: a :class:`Truncated` one."""
        base = PRIOR_FAMILIES[self.family].scipy(*self.args)
        return Truncated(base, *self.interval) if self.bounded else base

    def code(self, args: tuple[str, ...] | None = None, dim: int = LKJ_DIM) -> str:
        """NumPyro source code of this prior. ``args``: source text for each of :attr:`hyper_args`
        (default: their values). A bounded prior is written ``dist.TruncatedDistribution(base,
        low=..., high=...)`` (real support) or ``TruncatedPositive(base, low=..., high=...)``
        (positive support; :class:`hiermod.truncated.TruncatedPositive`); missing sides: None.
        LKJ: ``dist.LKJCholesky(dim, concentration)``."""
        fam = PRIOR_FAMILIES[self.family]
        texts = args if args is not None else tuple(repr(float(a)) for a in self.hyper_args)
        n = len(fam.arg_names)
        base = fam.code.format(*texts[:n], dim=dim)
        if not self.bounded:
            return base
        low, high = _sides(self.structure_key, fam, texts[n], texts[n + 1], "None")
        return f"{_TRUNCATIONS[fam.support][1]}({base}, low={low}, high={high})"

    def __str__(self) -> str:
        text = f"{self.family}({', '.join(f'{a:g}' for a in self.args)})"
        return f"{text} T({_g(self.lower)}, {_g(self.upper)})" if self.bounded else text


def _sides(key: str, fam: PriorFamily, low, high, missing):
    """(low, high) for a truncation with structure key ``key``: a side the key does not bound is
    ``missing``, except a positive family's lower side, which is its edge (``low`` holds 0)."""
    sides = key.partition("|")[2]
    keep_low = sides in ("T", "L") or fam.support == "positive"
    return (low if keep_low else missing), (high if sides in ("T", "U") else missing)


def to_numpyro(key: str) -> Callable:
    """A constructor ``f(*hyper_args) -> numpyro Distribution`` for a :attr:`Prior.structure_key`;
    arguments may be JAX arrays. An unbounded key gives the family's constructor itself; a bounded
    one truncates it (``dist.TruncatedDistribution`` or ``TruncatedPositive``, see :meth:`Prior.code`).
    """
    family, _, sides = key.partition("|")
    fam = PRIOR_FAMILIES[family]
    if not sides:
        return fam.numpyro
    n = len(fam.arg_names)
    make = _TRUNCATIONS[fam.support][0]

    def truncated(*hyper):
        low, high = _sides(key, fam, hyper[n], hyper[n + 1], None)
        return make()(fam.numpyro(*hyper[:n]), low=low, high=high)

    return truncated


def _parse_bounds(text: str, suffix: str) -> tuple[float | None, float | None]:
    match = _BOUNDS_RE.match(suffix)
    sides = match.group(1).split(",") if match else []
    if len(sides) != 2:
        raise PriorError(f"Cannot read the bounds '{suffix}' in '{text}'. Write T(lower, upper) after "
                         f"the prior, {_BOUNDS_EXAMPLE}.")
    out = []
    for side in (a.strip() for a in sides):
        if side and not _NUMBER_RE.match(side):
            raise PriorError(f"In '{text}': the bound '{side}' is not a number. Use plain numbers or "
                             f"leave the side empty, {_BOUNDS_EXAMPLE}.")
        out.append(float(side) if side else None)
    return out[0], out[1]


def parse_prior(text: "str | Prior") -> Prior:
    """Parse ``Family(a, b, ...)`` (case and underscores ignored) into a :class:`Prior`, with an
    optional bounds suffix ``T(lower, upper)`` (either side may be empty; ``t(`` also accepted).

    Only family names and plain decimal numbers are accepted; nothing is evaluated.
    """
    if isinstance(text, Prior):
        return text
    if not isinstance(text, str) or len(text) > 200:
        raise PriorError("A prior is written like HalfCauchy(5) or Normal(0, 10).")
    lower = upper = None
    suffix = _SUFFIX_RE.match(text)
    if suffix is not None:
        lower, upper = _parse_bounds(text, suffix.group(2))
    match = _PRIOR_RE.match(suffix.group(1) if suffix else text)
    if match is None:
        raise PriorError(
            f"Cannot read the prior '{text}'. Write a family and its numbers, e.g. "
            "Normal(0, 10), HalfCauchy(5), StudentT(3, 0, 2.5)."
        )
    key = re.sub(r"[^a-z]", "", match.group(1).lower())
    family = _ALIASES.get(key)
    if family is None:
        raise PriorError(
            f"Unknown prior family '{match.group(1).strip()}'. Use one of: "
            f"{', '.join(PRIOR_FAMILIES)}."
        )
    raw = [a.strip() for a in match.group(2).split(",")] if match.group(2).strip() else []
    for a in raw:
        if not _NUMBER_RE.match(a):
            raise PriorError(f"In '{text}': '{a}' is not a number. Use plain numbers like 2.5 or 1e-3.")
    return Prior(family, tuple(float(a) for a in raw), lower, upper)


def nice(x: float) -> float:
    """Round to 3 significant digits so data-scaled default priors read well."""
    if x == 0 or not math.isfinite(x):
        return 0.0
    return float(f"{x:.3g}")
