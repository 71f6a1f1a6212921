"""Are ranks uniform? Simultaneous ECDF bands and tests for discrete uniform ranks (SBC).

A calibrated method gives ranks r_1..r_N uniform on {0, ..., L}. The ECDF is evaluated at K - 1
points z_i = (k_i + 1) / (L + 1) (k_i the rank whose uniform CDF is z_i, i = 1..K-1, spread evenly;
K = min(N, L + 1, :data:`MAX_POINTS`)). There the count c_i = #{r_n <= k_i} is Binomial(N, z_i),
and the counts are a multinomial path: given c_{i-1} = a,

    c_i - a ~ Binomial(N - a, p_i),   p_i = (z_i - z_{i-1}) / (1 - z_{i-1}).

**Simultaneous band** (Säilynoja, Bürkner & Vehtari 2022, "Graphical test for discrete
uniformity...", Statistics and Computing 32: 32, the optimisation method): every point gets the
same pointwise two-sided tail level t; the band keeps the counts c with
T_i(c) = 2 min(P(Bin <= c), P(Bin >= c)) > t. The probability that a whole uniform path stays
inside is computed exactly by the recursion above (:func:`interior_probability`), and t is the
largest level whose band still holds the path with probability >= 1 - alpha (the counts are
discrete, so the coverage is that or a little more; :class:`Band` records it).

**ECDF test** (the band's p-value): t_obs = min_i T_i(c_i), p = P(a uniform path has
min_i T_i <= t_obs) = 1 - (interior probability of the band at level t_obs). A curve leaves the
1 - alpha band exactly when p <= 1 - coverage <= alpha.

**Chi-square test**: ranks in B bins of (nearly) equal width, expected counts N * width / (L + 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import special, stats

__all__ = ["MAX_POINTS", "Band", "eval_ranks", "ecdf_counts", "tail_levels", "interior_probability",
           "simultaneous_band", "ecdf_pvalue", "rank_bins", "chi_square_pvalue", "count_band"]

MAX_POINTS = 200
"""At most this many ECDF cells K (the band's cost grows as K x its width squared)."""


def eval_ranks(L: int, N: int) -> np.ndarray:
    """The ranks k_1 < ... < k_{K-1} where the ECDF of ranks on 0..L is evaluated (N ranks)."""
    K = int(min(N, L + 1, MAX_POINTS))
    if K < 2:
        raise ValueError(f"Need at least 2 ranks and 2 possible values (N={N}, L={L}).")
    k = np.round(np.arange(1, K) * (L + 1) / K).astype(int) - 1
    return np.unique(np.clip(k, 0, L - 1))


def ecdf_counts(ranks: np.ndarray, L: int, points: np.ndarray) -> np.ndarray:
    """c_i = #{r <= k_i} for each column of ``ranks`` (N,) or (N, P): shape (K-1,) or (K-1, P)."""
    ranks = np.asarray(ranks)
    hist = np.apply_along_axis(np.bincount, 0, ranks.reshape(ranks.shape[0], -1), minlength=L + 1)
    counts = np.cumsum(hist, axis=0)[points]
    return counts.reshape((len(points),) + ranks.shape[1:])


def _z(points: np.ndarray, L: int) -> np.ndarray:
    return (np.asarray(points) + 1.0) / (L + 1.0)


@lru_cache(maxsize=32)
def _tails(N: int, L: int) -> tuple[np.ndarray, np.ndarray]:
    points = eval_ranks(L, N)
    z = _z(points, L)[:, None]
    c = np.arange(N + 1)[None, :]
    low = stats.binom.cdf(c, N, z)
    high = stats.binom.sf(c - 1, N, z)
    T = np.minimum(1.0, 2.0 * np.minimum(low, high))
    T.setflags(write=False)
    return points, T


def tail_levels(N: int, L: int) -> tuple[np.ndarray, np.ndarray]:
    """(evaluation ranks (K-1,), T (K-1, N+1)): T[i, c] the two-sided tail level of count c at z_i."""
    return _tails(int(N), int(L))


def interior_probability(lo: np.ndarray, hi: np.ndarray, z: np.ndarray, N: int) -> float:
    """P(lo_i <= c_i <= hi_i for every i) for the counts of N uniform draws at points z (exact).

    The recursion over the multinomial path (module docstring), restricted to the band: each
    step is a (width x width) matrix of binomial probabilities built from log-factorials.
    """
    lf = special.gammaln(np.arange(N + 1) + 1.0)  # log m!
    a = np.array([0])
    v = np.array([1.0])
    z_prev = 0.0
    for lo_i, hi_i, z_i in zip(lo, hi, z):
        if hi_i < lo_i:
            return 0.0
        p = (z_i - z_prev) / (1.0 - z_prev)
        b = np.arange(lo_i, hi_i + 1)
        n = N - a[:, None]
        k = b[None, :] - a[:, None]
        ok = (k >= 0) & (k <= n)
        ks, ns = np.where(ok, k, 0), np.where(ok, n, 0)
        with np.errstate(divide="ignore"):
            logp = (lf[ns] - lf[ks] - lf[ns - ks] + ks * math.log(p) + (ns - ks) * math.log1p(-p)
                    if p < 1 else np.where(ks == ns, 0.0, -np.inf))
        M = np.where(ok, np.exp(logp), 0.0)
        v = v @ M
        a, z_prev = b, z_i
        if not v.any():
            return 0.0
    return float(v.sum())


def _band_at(T: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """The counts with T > t at each point: (lo, hi) (an interval: T rises then falls in c)."""
    inside = T > t
    lo = np.argmax(inside, axis=1)
    hi = T.shape[1] - 1 - np.argmax(inside[:, ::-1], axis=1)
    empty = ~inside.any(axis=1)
    lo[empty], hi[empty] = 1, 0
    return lo, hi


@dataclass(frozen=True)
class Band:
    """A simultaneous 1 - alpha band for the ECDF of N uniform ranks on 0..L.

    ``points`` the evaluation ranks k_i, ``z`` their uniform CDF values; ``lo``/``hi`` the counts
    kept at each point (inclusive); ``level`` the pointwise tail level t; ``coverage`` the exact
    probability that a uniform path stays inside (>= 1 - alpha); ``next_coverage`` that of the next
    narrower band (< 1 - alpha: this band is the tightest of its kind)."""

    N: int
    L: int
    alpha: float
    points: np.ndarray
    z: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    level: float
    coverage: float
    next_coverage: float

    def contains(self, counts: np.ndarray) -> np.ndarray:
        """Whether each ECDF path (columns of ``counts`` (K-1, ...)) stays inside the band."""
        counts = np.asarray(counts)
        shape = (-1,) + (1,) * (counts.ndim - 1)
        return np.all((counts >= self.lo.reshape(shape)) & (counts <= self.hi.reshape(shape)), axis=0)

    def difference(self) -> tuple[np.ndarray, np.ndarray]:
        """The band on the ECDF-difference scale: (lo / N - z, hi / N - z)."""
        return self.lo / self.N - self.z, self.hi / self.N - self.z


@lru_cache(maxsize=32)
def simultaneous_band(N: int, L: int, alpha: float = 0.05) -> Band:
    """The tightest equal-tail-level band whose exact simultaneous coverage is >= 1 - alpha."""
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); got {alpha}.")
    points, T = tail_levels(N, L)
    z = _z(points, L)
    # union bound: P(some T_i(c_i) <= t) <= (K - 1) t, so t = alpha / (K - 1) already covers 1 - alpha
    floor = alpha / len(points)
    levels = np.unique(np.concatenate([[floor], T[(T >= floor) & (T < 1)]]))
    coverage = lambda t: interior_probability(*_band_at(T, t), z, N)  # noqa: E731
    lo_i, hi_i = 0, len(levels) - 1   # invariant: coverage(levels[lo_i]) >= 1 - alpha
    if coverage(levels[hi_i]) >= 1 - alpha:
        lo_i = hi_i
    while hi_i - lo_i > 1:
        mid = (lo_i + hi_i) // 2
        if coverage(levels[mid]) >= 1 - alpha:
            lo_i = mid
        else:
            hi_i = mid
    t = float(levels[lo_i])
    lo, hi = _band_at(T, t)
    nxt = coverage(float(levels[lo_i + 1])) if lo_i + 1 < len(levels) else 0.0
    for a in (points, z, lo, hi):
        a.setflags(write=False)
    return Band(int(N), int(L), float(alpha), points, z, lo, hi, t, coverage(t), nxt)


TINY_P = 1e-6
"""Below this the ECDF p-value is reported as its union bound (K - 1) t_obs (exact enough to decide)."""


def ecdf_pvalue(ranks: np.ndarray, L: int) -> float:
    """The ECDF test's p-value for ranks (N,) on 0..L (module docstring): exact under uniformity;
    when the union bound (K - 1) t_obs is below :data:`TINY_P`, that bound."""
    ranks = np.asarray(ranks)
    N = len(ranks)
    points, T = tail_levels(N, L)
    counts = ecdf_counts(ranks, L, points)
    t_obs = float(T[np.arange(len(points)), counts].min())
    if t_obs >= 1:
        return 1.0
    if len(points) * t_obs < TINY_P:
        return float(len(points) * t_obs)
    inside = interior_probability(*_band_at(T, t_obs), _z(points, L), N)
    return float(min(1.0, max(0.0, 1.0 - inside)))


def rank_bins(L: int, N: int) -> np.ndarray:
    """Bin edges on the ranks 0..L (B + 1 integers, bin b holds edges[b] <= r < edges[b+1]):
    B = min(L + 1, 25, max(4, N // 20)) bins of (nearly) equal width, about 20 ranks expected per
    bin once N >= 80."""
    B = int(min(L + 1, 25, max(4, N // 20)))
    return np.unique(np.round(np.linspace(0, L + 1, B + 1)).astype(int))


def chi_square_pvalue(ranks: np.ndarray, L: int) -> tuple[float, np.ndarray, np.ndarray]:
    """(p-value, counts, edges) of Pearson's chi-square test of uniform ranks in :func:`rank_bins`
    bins (expected counts proportional to the bins' widths; an approximation when they are small)."""
    ranks = np.asarray(ranks)
    edges = rank_bins(L, len(ranks))
    counts = np.histogram(ranks, bins=edges - 0.5)[0]
    expected = len(ranks) * np.diff(edges) / (L + 1)
    p = float(stats.chisquare(counts, expected).pvalue)
    return p, counts, edges


def count_band(N: int, widths: np.ndarray, L: int, prob: float = 0.99) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise central ``prob`` interval of each bin's count under uniform ranks:
    Binomial(N, width / (L + 1)) quantiles (Talts et al. 2018's grey band)."""
    q = np.asarray(widths) / (L + 1)
    tail = (1 - prob) / 2
    return stats.binom.ppf(tail, N, q), stats.binom.ppf(1 - tail, N, q)
