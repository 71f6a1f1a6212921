"""Prior families: one declarative entry each, and the prior text grammar.

Each :class:`PriorFamily` says, in one place, its argument names, the support it puts mass on,
which arguments must be positive, and how it is built three ways: as a scipy.stats distribution
(densities, quantiles and draws in numpy: prior previews, the exact posterior, prior draws), as a
NumPyro distribution (the sampled model), and as NumPyro source code (the exported script).
Nothing heavy is imported here: scipy and numpyro load only when a constructor is called.

Prior text such as ``HalfCauchy(5)`` is parsed by a small grammar (:func:`parse_prior`), never by
``eval``.
"""

from __future__ import annotations

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

    def ppf(self, q):
        import numpy as np

        return self._t.ppf(0.5 + 0.5 * np.asarray(q))

    def rvs(self, size=None, random_state=None):
        import numpy as np

        return np.abs(self._t.rvs(size=size, random_state=random_state))


def _numpyro_half_student_t(df, scale):
    """numpyro has no HalfStudentT: fold a StudentT(df, 0, scale) onto x >= 0."""
    dist = _dist()
    return dist.FoldedDistribution(dist.StudentT(df, 0.0, scale))


@dataclass(frozen=True)
class PriorFamily:
    """A prior family: argument names, support, and its scipy, NumPyro and source-code forms.

    ``scipy(*args)`` returns a frozen scipy.stats distribution (or an object with the same
    ``logpdf``/``ppf``/``rvs`` methods); ``numpyro(*args)`` a NumPyro distribution (arguments may
    be JAX arrays); ``code`` is a format string of NumPyro source with ``{0}``, ``{1}``, ... for the
    arguments.
    """

    name: str
    arg_names: tuple[str, ...]
    support: str  # "real" or "positive"
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
    )
}

LOCATION_FAMILIES = tuple(n for n, f in PRIOR_FAMILIES.items() if f.support == "real")
SCALE_FAMILIES = tuple(n for n, f in PRIOR_FAMILIES.items() if f.support == "positive")

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
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


@dataclass(frozen=True)
class Prior:
    """A prior distribution: a family name from :data:`PRIOR_FAMILIES` and its arguments."""

    family: str
    args: tuple[float, ...]

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

    @property
    def support(self) -> str:
        return PRIOR_FAMILIES[self.family].support

    @property
    def kwargs(self) -> dict[str, float]:
        return dict(zip(PRIOR_FAMILIES[self.family].arg_names, self.args))

    def scipy(self):
        """This prior as a frozen scipy.stats distribution."""
        return PRIOR_FAMILIES[self.family].scipy(*self.args)

    def code(self, args: tuple[str, ...] | None = None) -> str:
        """NumPyro source code of this prior (``args``: source text for each argument)."""
        texts = args if args is not None else tuple(repr(float(a)) for a in self.args)
        return PRIOR_FAMILIES[self.family].code.format(*texts)

    def __str__(self) -> str:
        return f"{self.family}({', '.join(f'{a:g}' for a in self.args)})"


def to_numpyro(family: str) -> Callable:
    """A constructor ``f(*args) -> numpyro Distribution`` for ``family``; args may be JAX arrays."""
    return PRIOR_FAMILIES[family].numpyro


def parse_prior(text: "str | Prior") -> Prior:
    """Parse ``Family(a, b, ...)`` (case and underscores ignored) into a :class:`Prior`.

    Only family names and plain decimal numbers are accepted; nothing is evaluated.
    """
    if isinstance(text, Prior):
        return text
    if not isinstance(text, str) or len(text) > 200:
        raise PriorError("A prior is written like HalfCauchy(5) or Normal(0, 10).")
    match = _PRIOR_RE.match(text)
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
    return Prior(family, tuple(float(a) for a in raw))


def nice(x: float) -> float:
    """Round to 3 significant digits so data-scaled default priors read well."""
    if x == 0 or not math.isfinite(x):
        return 0.0
    return float(f"{x:.3g}")
