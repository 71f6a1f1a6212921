"""Instant engine: models with a latent Gaussian field (covariates, nested levels, varying slopes).

Latent x: the fixed effects x_F = (mu, beta) with Normal priors, and the group effects of every
level (:mod:`hiermod.instant.latent_field`): level k's effects are centred on the parent's effects
(mu at the top) with sd tau_k; the innermost level's block (theta_j, slope_j) ~ MVN((m_j, beta_x),
diag(tau, tau_x) R diag(tau, tau_x)). Rows: eta_i = theta_g + sum_x slope_gx x_i + sum_k beta_k x_ik
(the non-slope covariates). Without pooling each theta_j has its own Normal prior; with complete
pooling eta_i = mu + X beta.

Hyperparameters h (scales tau, tau_x, the correlation rho, the family's sigma / phi) go on the grid
(u = log scale, atanh rho). Given h:

- Gaussian rows (known se, or sigma on the grid): x | h, y is Gaussian and found in one solve;
  log p(y | h) = log p(y | x*) + log p(x* | h) - log p(x* | y, h) is exact.
- Other rows (binomial, Poisson, negative binomial): Newton iterations (IRLS, step halving) find the
  mode x* of p(x | h, y); the Gaussian at x* with precision Q(x*) = Q_prior + A' W(x*) A is the
  Laplace approximation, log p(y | h) is approximated by the same formula (R-INLA's "Gaussian"
  strategy, Rue, Martino & Chopin 2009), and draws come from that Gaussian.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse

from ..grid_quadrature import GridProblem
from ..hyper_grid import _frozen, _lkj_eta, _log_prior_atanh_rho
from ..spec import Pooling
from .engine import EngineParts
from .latent_field import Field, Tree

__all__ = ["build", "NEWTON_TOL", "NEWTON_MAX"]

NEWTON_TOL = 1e-7    # Newton stops when no linear predictor moves by more than this (x (1 + max |eta|))
NEWTON_MAX = 60
CHUNK_VALUES = 4_000_000   # nodes x rows (x block size) evaluated at once


class _Model:
    """The model's fixed structure: design, priors and index maps."""

    def __init__(self, data, spec, priors):
        self.spec, self.family, self.priors = spec, spec.family, priors
        self.terms = spec.terms
        self.pooling = spec.pooling
        term = spec.row_term
        self.y = np.asarray(data.y, float)
        self.rows = self.family.row_values(data)
        self.N = self.y.shape[0]
        X = np.asarray(data.X, float) if spec.covariates else np.zeros((self.N, 0))
        names = list(data.covariate_names) if spec.covariates else []
        X = X[:, [names.index(c) for c in spec.covariates]] if spec.covariates else X
        self.slopes = tuple(term.slopes) if self.pooling == Pooling.PARTIAL else ()
        self.correlated = term.correlated
        # fixed effects: mu (partial / complete pooling), then one beta per covariate
        self.has_mu = self.pooling != Pooling.NONE
        self.p_f = int(self.has_mu) + len(spec.covariates)
        self.beta_index = {c: int(self.has_mu) + i for i, c in enumerate(spec.covariates)}
        H = np.zeros((self.N, self.p_f))
        for c, i in self.beta_index.items():
            if c not in self.slopes:
                H[:, i] = X[:, spec.covariates.index(c)]
        levels = data.levels[-len(self.terms):] if self.pooling == Pooling.PARTIAL else data.levels[-1:]
        if self.pooling == Pooling.COMPLETE:
            H[:, 0] = 1.0
            levels = ()
        self.H = H
        self.levels = levels
        d_inner = 1 + len(self.slopes)
        sizes = tuple(level.n_groups for level in levels)
        dims = tuple(d_inner if k == len(levels) - 1 else 1 for k in range(len(levels)))
        parents = tuple(None if k == 0 else np.asarray(level.parent, np.intp) for k, level in enumerate(levels))
        self.tree = Tree(sizes, dims, parents, self.p_f)
        self.n_children = [None] + [np.bincount(parents[k], minlength=sizes[k - 1]).astype(float)
                                    for k in range(1, len(levels))]
        self.group_idx = np.asarray(data.group_idx, np.intp)
        Z = np.ones((self.N, d_inner))
        for i, x in enumerate(self.slopes):
            Z[:, 1 + i] = X[:, spec.covariates.index(x)]
        self.Z = Z
        J = sizes[-1] if sizes else 0
        self.G = sparse.csr_matrix((np.ones(self.N), (self.group_idx, np.arange(self.N))), shape=(J, self.N)) \
            if sizes else None
        # grid hyperparameters, in order: each level's tau, the slope sds, rho, the family's own
        self.grid_names: list[str] = []
        self.transforms: dict[str, str] = {}
        if self.pooling == Pooling.PARTIAL:
            for t in self.terms:
                for name in t.scale_names():
                    self._grid(name, "log")
            if self.correlated:
                self._grid(term.slope_correlation(self.slopes[0]), "atanh")
        for name in self.family.param_names:
            self._grid(name, "log")
        self.eta_lkj = _lkj_eta(priors.get("rho")) if self.correlated else None
        self.f_mean = np.zeros(self.p_f)
        self.f_prec = np.zeros(self.p_f)
        if self.has_mu:
            self._fixed_prior(0, priors[self.terms[0].location])
        for c, i in self.beta_index.items():
            self._fixed_prior(i, priors[f"beta[{c}]"])
        if self.pooling == Pooling.NONE:
            m, s = priors[term.effect].args
            self.none_prior = (float(m), float(s))
        self.gaussian = _GaussianRows(self) if self.family.latent_gaussian else None

    def _grid(self, name: str, transform: str) -> None:
        self.grid_names.append(name)
        self.transforms[name] = transform

    def _fixed_prior(self, i: int, prior) -> None:
        m, s = prior.args
        self.f_mean[i], self.f_prec[i] = float(m), 1.0 / float(s) ** 2

    # ------------------------------------------------------------------ hyperparameters

    def natural(self, u: np.ndarray) -> dict[str, np.ndarray]:
        from .engine import to_natural

        return {n: to_natural(self.transforms[n], u[:, i]) for i, n in enumerate(self.grid_names)}

    def log_prior(self, u: np.ndarray) -> np.ndarray:
        """log p(h) on the u scale (log-Jacobians included)."""
        out = np.zeros(u.shape[0])
        for i, name in enumerate(self.grid_names):
            if self.transforms[name] == "atanh":
                out += _log_prior_atanh_rho(self.eta_lkj, u[:, i])
            else:
                out += np.asarray(_frozen(self.priors[name]).logpdf(np.exp(u[:, i])), float) + u[:, i]
        return out

    def level_precisions(self, h: dict, M: int) -> list[np.ndarray]:
        """Per level the prior precision of a block given its parent, (M, d, d)."""
        out = []
        for k, term in enumerate(self.terms[:len(self.levels)]):
            if self.pooling == Pooling.NONE:
                out.append(np.full((M, 1, 1), 1.0 / self.none_prior[1] ** 2))
                continue
            tau = h[term.scale]
            if k < len(self.levels) - 1 or not self.slopes:
                out.append((1.0 / tau**2)[:, None, None])
                continue
            sd = np.stack([tau] + [h[term.slope_scale(x)] for x in self.slopes], axis=1)
            d = sd.shape[1]
            R = np.broadcast_to(np.eye(d), (tau.shape[0], d, d)).copy()
            if self.correlated:
                rho = h[term.slope_correlation(self.slopes[0])]
                R[:, 0, 1] = R[:, 1, 0] = rho
            with np.errstate(divide="ignore", invalid="ignore"):  # |rho| -> 1 far out on the grid: no weight
                Rinv = _inverse_correlation(R)
            out.append(Rinv / sd[:, :, None] / sd[:, None, :])
        return out

    # ------------------------------------------------------------------ the field

    def prior_field(self, P: list[np.ndarray], M: int) -> Field:
        """The prior's canonical form (no data) for M nodes."""
        f = Field(self.tree, M)
        f.QF += np.eye(self.p_f) * self.f_prec if self.p_f else 0.0
        f.cF += self.f_mean * self.f_prec
        L = len(self.levels)
        mu = 0
        for k in range(L):
            Pk = P[k]
            J = self.tree.sizes[k]
            f.A[k] += Pk[:, None]
            if self.pooling == Pooling.NONE:
                f.c[k][..., 0] += self.none_prior[0] * Pk[:, None, 0, 0]
                continue
            inner = k == L - 1
            slope_idx = [self.beta_index[x] for x in self.slopes] if inner else []
            if k > 0:
                f.Cp[k] += -Pk[:, None, :, 0]
                f.A[k - 1][:, :, 0, 0] += self.n_children[k][None] * Pk[:, None, 0, 0]
                for a, i in enumerate(slope_idx):
                    f.B[k - 1][:, :, 0, i] += self.n_children[k][None] * Pk[:, None, 0, 1 + a]
            else:
                f.B[k][..., mu] += -Pk[:, None, :, 0]
                f.QF[:, mu, mu] += J * Pk[:, 0, 0]
                for a, i in enumerate(slope_idx):
                    f.QF[:, mu, i] += J * Pk[:, 0, 1 + a]
                    f.QF[:, i, mu] += J * Pk[:, 0, 1 + a]
            for a, i in enumerate(slope_idx):
                f.B[k][..., i] += -Pk[:, None, :, 1 + a]
                for b, i2 in enumerate(slope_idx):
                    f.QF[:, i, i2] += J * Pk[:, 1 + a, 1 + b]
        return f

    def add_rows(self, f: Field, W: np.ndarray, ytil: np.ndarray) -> None:
        """Add the rows' Gaussian (or Gaussianised) likelihood: weights W, working response ytil (M, N)."""
        M = W.shape[0]
        Wy = W * ytil
        if self.levels:
            Z, d = self.Z, self.Z.shape[1]
            zz = (Z[:, :, None] * Z[:, None, :]).reshape(self.N, d * d)
            S = self.G @ (W.T[:, :, None] * zz[:, None, :]).reshape(self.N, M * d * d)
            f.A[-1] += np.moveaxis(S.reshape(-1, M, d, d), 0, 1)
            cz = self.G @ (Wy.T[:, :, None] * Z[:, None, :]).reshape(self.N, M * d)
            f.c[-1] += np.moveaxis(cz.reshape(-1, M, d), 0, 1)
            if self.H.any():
                zh = (Z[:, :, None] * self.H[:, None, :]).reshape(self.N, d * self.p_f)
                B = self.G @ (W.T[:, :, None] * zh[:, None, :]).reshape(self.N, M * d * self.p_f)
                f.B[-1] += np.moveaxis(B.reshape(-1, M, d, self.p_f), 0, 1)
        if self.p_f:
            f.QF += np.einsum("mn,nf,ng->mfg", W, self.H, self.H)
            f.cF += Wy @ self.H

    def eta(self, xF: np.ndarray, xs: list[np.ndarray]) -> np.ndarray:
        out = xF @ self.H.T if self.p_f else np.zeros((xF.shape[0], self.N))
        if self.levels:
            out = out + np.einsum("mna,na->mn", xs[-1][:, self.group_idx], self.Z)
        return out

    def prior_quadratic(self, P, xF, xs) -> tuple[np.ndarray, np.ndarray]:
        """(x - m)' Q_prior (x - m) and log det Q_prior, per node."""
        quad = ((xF - self.f_mean) ** 2 * self.f_prec).sum(1)
        logdet = np.full(xF.shape[0], float(np.log(self.f_prec[self.f_prec > 0]).sum()))
        for k in range(len(self.levels)):
            x = xs[k]
            if self.pooling == Pooling.NONE:
                r = x - self.none_prior[0]
            else:
                centre = np.zeros_like(x)
                centre[..., 0] = xF[:, None, 0] if k == 0 else xs[k - 1][:, self.tree.parents[k], 0]
                if k == len(self.levels) - 1:
                    for a, name in enumerate(self.slopes):
                        centre[..., 1 + a] = xF[:, None, self.beta_index[name]]
                r = x - centre
            quad += np.einsum("mja,mab,mjb->m", r, P[k], r)
            sign, ld = np.linalg.slogdet(P[k])
            logdet += self.tree.sizes[k] * ld
        return quad, logdet


class _GaussianRows:
    """Sufficient statistics of Gaussian rows with precisions w (per node) x r_i (per row): with them
    a node costs O(groups), not O(rows). For x = (x_F, blocks) and eta_i = z_i' x_g + h_i' x_F,

        sum_i r_i (y_i - eta_i)^2 = Syy - 2 (sum_j x_j' Szy_j + x_F' Shy) + sum_j x_j' Szz_j x_j
                                    + 2 sum_j x_j' Szh_j x_F + x_F' Shh x_F,
        log p(y | x) = (sum_i log r_i + N log w - N log 2 pi) / 2 - w sum_i r_i (y_i - eta_i)^2 / 2.
    """

    def __init__(self, model: "_Model"):
        params = {n: np.ones((1, 1)) for n in model.family.param_names}
        _, r = model.family.gaussian_precision(model.rows, params, 1)
        r = np.ones(model.N) if r is None else np.asarray(r, float)
        y, Z, H = model.y, model.Z, model.H
        self.N, self.log_r = model.N, float(np.log(r).sum())
        self.Syy = float(r @ (y * y))
        self.Shh = H.T @ (r[:, None] * H)
        self.Shy = H.T @ (r * y)
        if model.levels:
            d, p = Z.shape[1], H.shape[1]
            self.Szz = (model.G @ (r[:, None] * (Z[:, :, None] * Z[:, None, :]).reshape(model.N, d * d))).reshape(-1, d, d)
            self.Szy = model.G @ ((r * y)[:, None] * Z)
            self.Szh = (model.G @ (r[:, None] * (Z[:, :, None] * H[:, None, :]).reshape(model.N, d * p))).reshape(-1, d, p)

    def add(self, f, w: np.ndarray) -> None:
        wv = w[:, None, None, None]
        if f.tree.sizes:
            f.A[-1] += wv * self.Szz[None]
            f.c[-1] += w[:, None, None] * self.Szy[None]
            f.B[-1] += wv * self.Szh[None]
        f.QF += w[:, None, None] * self.Shh[None]
        f.cF += w[:, None] * self.Shy[None]

    def log_likelihood(self, w: np.ndarray, xF: np.ndarray, xs: list) -> np.ndarray:
        q = self.Syy - 2 * (xF @ self.Shy) + np.einsum("mf,fg,mg->m", xF, self.Shh, xF)
        if xs:
            x = xs[-1]
            q = q - 2 * np.einsum("mja,ja->m", x, self.Szy) + np.einsum("mja,jab,mjb->m", x, self.Szz, x) \
                + 2 * np.einsum("mja,jaf,mf->m", x, self.Szh, xF)
        # a sum of squares: a negative q is cancellation in Syy - 2 x'Szy + x'Szz x, which w = 1/sigma^2
        # would blow up at tiny sigma (one row per group puts a flat tail there)
        q = np.maximum(q, 0.0)
        return 0.5 * (self.log_r + self.N * np.log(w) - self.N * math.log(2 * math.pi)) - 0.5 * w * q


def _inverse_correlation(R: np.ndarray) -> np.ndarray:
    """R^-1 for (M, d, d) correlation matrices; d = 2 in closed form (rho = +-1 gives inf, not an error)."""
    if R.shape[-1] != 2:
        return np.linalg.inv(R)
    rho = R[:, 0, 1]
    one = 1.0 / (1.0 - rho * rho)
    return np.stack([np.stack([one, -rho * one], -1), np.stack([-rho * one, one], -1)], -2)


def _solve(model: _Model, P, eta, params, M):
    """One Newton (IRLS) step: the Gaussianised field at ``eta`` and its mean."""
    ll, g, W = model.family.eta_derivatives(model.y, eta, model.rows, params)
    W = np.maximum(W, 1e-12)
    f = model.prior_field(P, M)
    model.add_rows(f, W, eta + g / W)
    logdet_q = f.eliminate()
    return f, logdet_q, f.mean()


def _objective(model: _Model, P, params, x) -> np.ndarray:
    """log p(y | x) - (x - m)' Q_prior (x - m) / 2 per node (the log joint up to a constant)."""
    ll = model.family.eta_derivatives(model.y, model.eta(*x), model.rows, params)[0].sum(1)
    return ll - 0.5 * model.prior_quadratic(P, *x)[0]


def _between(x0, x1, t):
    """x0 + t (x1 - x0) per node (t (M,)), for (x_F, [x_k]) pairs."""
    xF = x0[0] + t[:, None] * (x1[0] - x0[0])
    return xF, [a + t[:, None, None] * (b - a) for a, b in zip(x0[1], x1[1])]


def _mode(model: _Model, P, params, M):
    """The mode of p(x | h, y) per node: Newton with step halving on the (concave) log joint."""
    eta = np.broadcast_to(model.eta_start, (M, model.N)).copy()
    x, value = None, np.full(M, -np.inf)
    for _ in range(NEWTON_MAX):
        _, _, cand = _solve(model, P, eta, params, M)
        cand_value = _objective(model, P, params, cand)
        if x is not None:
            t = np.ones(M)
            for _ in range(30):
                worse = ~(cand_value >= value - 1e-10 * np.abs(value))
                if not worse.any():
                    break
                t = np.where(worse, t / 2, t)
                trial = _between(x, cand, t)
                trial_value = _objective(model, P, params, trial)
                cand = (np.where(worse[:, None], trial[0], cand[0]),
                        [np.where(worse[:, None, None], a, b) for a, b in zip(trial[1], cand[1])])
                cand_value = np.where(worse, trial_value, cand_value)
        new_eta = model.eta(*cand)
        moved = np.max(np.abs(new_eta - eta), axis=1)
        x, value, eta = cand, cand_value, new_eta
        if np.all(moved < NEWTON_TOL * (1 + np.abs(eta).max())):
            break
    return x, eta


def _laplace(model: _Model, u: np.ndarray, want: str, rng=None):
    """For the nodes u (M, d): log p(u, y) (``"density"``), that and the conditional moments
    (``"moments"``), or one draw of the latent field per node (``"sample"``)."""
    M = u.shape[0]
    h = model.natural(u)
    params = {n: h[n][:, None] for n in model.family.param_names}
    P = model.level_precisions(h, M)
    if model.gaussian is not None:  # one solve is exact (the mode is the mean), from group sums
        w, _ = model.family.gaussian_precision(model.rows, params, M)
        f = model.prior_field(P, M)
        model.gaussian.add(f, w)
        logdet_q = f.eliminate()
        if want == "sample":
            return f.sample(rng)
        x = f.mean()
        ll = model.gaussian.log_likelihood(w, *x)
    else:
        x, eta = _mode(model, P, params, M)
        f, logdet_q, _ = _solve(model, P, eta, params, M)
        if want == "sample":
            return f.sample(rng)
        ll = model.family.eta_derivatives(model.y, model.eta(*x), model.rows, params)[0].sum(1)
    quad, logdet_prior = model.prior_quadratic(P, *x)
    lp = ll - 0.5 * quad + 0.5 * logdet_prior - 0.5 * logdet_q + model.log_prior(u)
    lp = np.where(np.isfinite(lp), lp, -np.inf)
    if want == "density":
        return lp
    return lp, f.moments()


def _named_moments(model: _Model, moments) -> dict:
    xF, VF, xs, Vs = moments
    out = {}
    if model.has_mu:
        out[model.terms[0].location] = (xF[:, 0], VF[:, 0, 0])
    if model.spec.covariates:
        idx = [model.beta_index[c] for c in model.spec.covariates]
        out["beta"] = (xF[:, idx], VF[:, idx, idx])
    for k, term in enumerate(model.terms[:len(model.levels)]):
        out[term.effect] = (xs[k][..., 0], Vs[k][..., 0, 0])
    for a, x in enumerate(model.slopes):
        out[model.terms[-1].slope_effect(x)] = (xs[-1][..., 1 + a], Vs[-1][..., 1 + a, 1 + a])
    return out


def _named_draws(model: _Model, xF, xs, n_groups: int) -> dict:
    out = {}
    if model.has_mu:
        out[model.terms[0].location] = xF[:, 0]
    if model.spec.covariates:
        out["beta"] = xF[:, [model.beta_index[c] for c in model.spec.covariates]]
    for k, term in enumerate(model.terms[:len(model.levels)]):
        out[term.effect] = xs[k][..., 0]
    for a, x in enumerate(model.slopes):
        out[model.terms[-1].slope_effect(x)] = xs[-1][..., 1 + a]
    if model.pooling == Pooling.COMPLETE:
        out[model.terms[0].effect] = np.repeat(xF[:, :1], n_groups, axis=1)
    return out


def _chunks(M: int, width: int):
    size = max(1, CHUNK_VALUES // max(width, 1))
    for start in range(0, M, size):
        yield slice(start, min(M, start + size))


def build(data, spec, priors) -> EngineParts:
    model = _Model(data, spec, priors)
    est, _, pooled = spec.family.group_estimates(data)
    model.eta_start = np.asarray(est, float)[model.group_idx] if model.pooling != Pooling.COMPLETE \
        else np.full(model.N, pooled)
    d_max = max(model.tree.dims or (1,))
    width = (sum(model.tree.sizes) * d_max * (d_max + model.p_f) + model.p_f**2 +
             (0 if model.gaussian is not None else model.N * d_max * d_max))
    n_groups = data.n_groups

    def log_density(u):
        return np.concatenate([_laplace(model, u[s], "density") for s in _chunks(u.shape[0], width)])

    def moments(u):
        lps, named = [], []
        for s in _chunks(u.shape[0], width):
            lp, mom = _laplace(model, u[s], "moments")
            lps.append(lp)
            named.append(_named_moments(model, mom))
        merged = {k: (np.concatenate([m[k][0] for m in named]), np.concatenate([m[k][1] for m in named]))
                  for k in named[0]}
        if model.spec.covariates:  # report beta's marginal variances, not the covariance
            m, V = merged["beta"]
            merged["beta"] = (m, np.diagonal(V, axis1=-2, axis2=-1) if V.ndim == 3 else V)
        if model.pooling == Pooling.COMPLETE:
            m, v = merged[model.terms[0].location]
            merged[model.terms[0].effect] = (np.repeat(m[:, None], n_groups, 1), np.repeat(v[:, None], n_groups, 1))
        return np.concatenate(lps), merged

    def sample_given(u, n, rng):
        parts = []
        for s in _chunks(n, width):
            xF, xs = _laplace(model, u[s], "sample", rng)
            parts.append(_named_draws(model, xF, xs, n_groups))
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    exact = spec.family.latent_gaussian
    note = "" if exact else laplace_note(model)
    label = ("exact: grid over the hyperparameters, Gaussian latent field in closed form" if exact else
             "nested Laplace: grid over the hyperparameters, Laplace approximation of the latent field")
    if not model.grid_names:
        # no hyperparameters (complete / no pooling with Gaussian rows of known se): one Gaussian
        u0 = np.empty((1, 0))
        lp, mom = moments(u0)

        def sample_all(u, n, rng):
            return sample_given(np.zeros((n, 0)), n, rng)

        return EngineParts(label, exact, None, {}, sample_all,
                           {k: (_first(m), np.sqrt(np.maximum(_first(v), 0))) for k, (m, v) in mom.items()},
                           note=note)
    start = _start(model, data, spec)
    problem = GridProblem(tuple(model.grid_names), log_density, moments, model.natural, start,
                          width=max(1, width // 16))
    d = len(model.grid_names)
    return EngineParts(label, exact, problem, dict(model.transforms), sample_given, step=STEPS[min(d, 4)],
                       tail=GRID_TAIL, note=note)


LAPLACE_INFORMATION_MIN = 10.0
"""Below this median information per group (the rows' summed -d^2 log p / d eta^2, about the
expected number of events for Poisson rows and n p (1 - p) for binomial rows) the Laplace
approximation's means are off by more than about 0.15 posterior sd (mode vs mean of a log-gamma or
logit-beta: ~1 / (2 sqrt(information)) sd; bench/LAPLACE.md measures 0.2-0.4 sd with ~2 events per
group): the note then recommends NUTS."""


def laplace_note(model: "_Model") -> str:
    """The Laplace approximation's accuracy for these data, in one sentence for people."""
    params = {n: np.full((1, 1), 10.0) for n in model.family.param_names}
    W = model.family.eta_derivatives(model.y, model.eta_start[None, :], model.rows, params)[2][0]
    groups = model.group_idx if model.levels else np.zeros(model.N, np.intp)
    info = float(np.median(np.bincount(groups, weights=W)))
    base = (f"Laplace approximation of the latent field (median information per group {info:.3g}, "
            "about the events per group)")
    if info < LAPLACE_INFORMATION_MIN:
        return (base + ": with this little data per group its means can be off by 0.2-0.4 posterior "
                "sd (bench/LAPLACE.md); fit with NUTS before reporting.")
    return base + ": within about 0.1-0.15 posterior sd of NUTS at this much data per group (bench/LAPLACE.md)."


STEPS = {1: 0.3, 2: 0.4, 3: 0.75, 4: 1.0}
"""Grid step (in posterior sds) by the number of hyperparameters: finer where it is cheap. The
trapezoid rule on the stretched grid converges so fast that 1.0 in four dimensions changes no mean
or sd by more than 2e-4 posterior sds against step 0.4 (simulated_slopes, measured)."""

GRID_TAIL = 12.0
"""The grid reaches where the log density is this far below its maximum (mass beyond: ~1e-5)."""


def _first(a):
    a = np.asarray(a, float)[0]
    return float(a) if a.ndim == 0 else a


def _start(model: _Model, data, spec) -> np.ndarray:
    """A starting point for the mode search: scales at the spread of the group estimates, a row
    sd at the sd of the outcome, a dispersion at 10, a correlation at 0."""
    est = np.asarray(spec.family.group_estimates(data)[0], float)
    est = est[np.isfinite(est)]
    spread = max(float(np.std(est)) if est.size > 1 else 0.0, 1e-2)
    row_sd = max(float(np.std(model.y)), 1e-6)
    start = []
    for name in model.grid_names:
        if model.transforms[name] == "atanh":
            start.append(0.0)
        elif name in spec.family.param_names:
            start.append(math.log(row_sd if spec.family.latent_gaussian else 10.0))
        else:
            start.append(math.log(spread))
    return np.asarray(start)
