"""A Gaussian latent field on a tree of groups with a dense border, batched over hyperparameter nodes.

The latent vector is ``x = (x_F, x_1, .., x_L)``: ``x_F`` (p_F) the fixed effects (mu, covariate
coefficients) and ``x_k`` the blocks of level k (outermost 1 .. innermost L), one block of size d_k
per group (d = 1, or 1 + the number of varying slopes at the innermost level). Its log density is

    -1/2 x' Q x + c' x,

where Q couples a block only to itself (A_j, d x d), to its parent block's first entry (Cp_j, d),
and to x_F (B_j, d x p_F); Q_FF is dense. This is the structure of every hierarchical model here
(a group's effects are centred on its parent's effect, or on mu, and on the mean slopes; rows load
on their innermost group's block and on the covariates), and it is eliminated exactly, innermost
level first, in O(groups) per node (the same steps as a sparse Cholesky factorisation in the
elimination order leaves -> root -> border):

    eliminate level k:  S_p -= Cp_j' A_j^-1 Cp_j,  B_p -= Cp_j' A_j^-1 B_j,  c_p -= Cp_j' A_j^-1 c_j,
                        Q_FF -= B_j' A_j^-1 B_j,   c_F -= B_j' A_j^-1 c_j        (summed over children j of p)
    log det Q = sum_k sum_j log det A_j (after elimination of the levels below) + log det Q_FF (after all).

Then x_F ~ N(Q_FF^-1 c_F, Q_FF^-1) and, level by level outward-in,
``x_j | parent, x_F ~ N(A_j^-1 (c_j - Cp_j x_parent - B_j x_F), A_j^-1)``; marginal covariances
follow the same recursion (:meth:`Field.moments`). Every array has a leading batch axis M (nodes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

__all__ = ["Tree", "Field"]


@dataclass(frozen=True, eq=False)
class Tree:
    """The groups: ``sizes[k]`` groups at level k, ``dims[k]`` block size, ``parents[k]`` (sizes[k],)
    index into level k-1 (None for k = 0), ``p_f`` fixed effects."""

    sizes: tuple[int, ...]
    dims: tuple[int, ...]
    parents: tuple[np.ndarray | None, ...]
    p_f: int
    _children: tuple = field(default=(), repr=False)

    def __post_init__(self) -> None:
        children = [None] + [sparse.csr_matrix((np.ones(self.sizes[k]), (self.parents[k], np.arange(self.sizes[k]))),
                                               shape=(self.sizes[k - 1], self.sizes[k]))
                             for k in range(1, len(self.sizes))]
        object.__setattr__(self, "_children", tuple(children))

    def child_sum(self, k: int, values: np.ndarray) -> np.ndarray:
        """Sum ``values`` (M, sizes[k], ...) over the children of each group of level k-1."""
        M, J = values.shape[:2]
        rest = values.shape[2:]
        flat = np.moveaxis(values, 1, 0).reshape(J, -1)
        out = self._children[k] @ flat
        return np.moveaxis(out.reshape((self.sizes[k - 1], M) + rest), 0, 1)


def _batched_inverse(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A^-1, log det A) for symmetric positive definite blocks (..., d, d), d = 1 or 2 in closed form."""
    d = A.shape[-1]
    if d == 1:
        a = A[..., 0, 0]
        return (1.0 / a)[..., None, None], np.log(a)
    if d == 2:
        a, b, c = A[..., 0, 0], A[..., 0, 1], A[..., 1, 1]
        det = a * c - b * b
        inv = np.stack([np.stack([c, -b], -1), np.stack([-b, a], -1)], -2) / det[..., None, None]
        return inv, np.log(det)
    sign, logdet = np.linalg.slogdet(A)
    return np.linalg.inv(A), np.where(sign > 0, logdet, np.nan)


def _cholesky(S: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of (..., d, d), d = 1 or 2 in closed form."""
    d = S.shape[-1]
    if d == 1:
        return np.sqrt(np.maximum(S, 0.0))
    if d == 2:
        l11 = np.sqrt(S[..., 0, 0])
        l21 = S[..., 1, 0] / l11
        l22 = np.sqrt(np.maximum(S[..., 1, 1] - l21 * l21, 0.0))
        zero = np.zeros_like(l11)
        return np.stack([np.stack([l11, zero], -1), np.stack([l21, l22], -1)], -2)
    return np.linalg.cholesky(S)


def _safe_cholesky(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower Cholesky factors of (M, p, p) and which were positive definite (the others: identity)."""
    try:
        return np.linalg.cholesky(S), np.ones(S.shape[0], bool)
    except np.linalg.LinAlgError:
        ok = np.array([np.all(np.isfinite(s)) and np.linalg.eigvalsh(s).min() > 0 for s in S])
        safe = np.where(ok[:, None, None], S, np.eye(S.shape[-1]))
        return np.linalg.cholesky(safe), ok


class Field:
    """The canonical form (A, Cp, B, c per level; Q_FF, c_F) of one batch of M nodes, filled by the
    caller (:mod:`hiermod.instant.latent`), then :meth:`eliminate` d once."""

    def __init__(self, tree: Tree, M: int):
        self.tree, self.M = tree, M
        p = tree.p_f
        self.A = [np.zeros((M, J, d, d)) for J, d in zip(tree.sizes, tree.dims)]
        self.Cp = [np.zeros((M, J, d)) for J, d in zip(tree.sizes, tree.dims)]
        self.B = [np.zeros((M, J, d, p)) for J, d in zip(tree.sizes, tree.dims)]
        self.c = [np.zeros((M, J, d)) for J, d in zip(tree.sizes, tree.dims)]
        self.QF = np.zeros((M, p, p))
        self.cF = np.zeros((M, p))
        self._solved = False

    # ------------------------------------------------------------------------ elimination

    def eliminate(self) -> np.ndarray:
        """Eliminate the levels innermost first; returns log det Q (M,)."""
        tree = self.tree
        logdet = np.zeros(self.M)
        self.Ainv, self.tc, self.tB, self.tp = [None] * len(tree.sizes), [None] * len(tree.sizes), \
            [None] * len(tree.sizes), [None] * len(tree.sizes)
        for k in reversed(range(len(tree.sizes))):
            Ainv, ld = _batched_inverse(self.A[k])
            logdet += ld.sum(1)
            tc = np.einsum("mjab,mjb->mja", Ainv, self.c[k])
            tB = np.einsum("mjab,mjbf->mjaf", Ainv, self.B[k])
            self.QF -= np.einsum("mjaf,mjag->mfg", self.B[k], tB)
            self.cF -= np.einsum("mjaf,mja->mf", self.B[k], tc)
            if k > 0:
                tp = np.einsum("mjab,mjb->mja", Ainv, self.Cp[k])
                Cp = self.Cp[k]
                self.A[k - 1][:, :, 0, 0] -= tree.child_sum(k, np.einsum("mja,mja->mj", Cp, tp))
                self.c[k - 1][:, :, 0] -= tree.child_sum(k, np.einsum("mja,mja->mj", Cp, tc))
                self.B[k - 1][:, :, 0, :] -= tree.child_sum(k, np.einsum("mja,mjaf->mjf", Cp, tB))
                self.tp[k] = tp
            self.Ainv[k], self.tc[k], self.tB[k] = Ainv, tc, tB
        if tree.p_f:
            self.LF, ok = _safe_cholesky(self.QF)
            logdet += 2 * np.log(np.diagonal(self.LF, axis1=1, axis2=2)).sum(1)
            logdet[~ok] = np.nan   # numerically not positive definite (far out on the grid): no weight
        self._solved = True
        return logdet

    def _parent_values(self, k: int, xs: list[np.ndarray]) -> np.ndarray:
        return xs[k - 1][:, self.tree.parents[k], 0]

    def mean(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """The mode = mean: (x_F (M, p_F), [x_k (M, J_k, d_k)])."""
        xF = self._solve_F(self.cF)
        xs: list[np.ndarray] = []
        for k in range(len(self.tree.sizes)):
            x = self.tc[k] - np.einsum("mjaf,mf->mja", self.tB[k], xF)
            if k > 0:
                x = x - self.tp[k] * self._parent_values(k, xs)[..., None]
            xs.append(x)
        return xF, xs

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
        """One draw per node: (x_F (M, p_F), [x_k (M, J_k, d_k)])."""
        M, p = self.M, self.tree.p_f
        xF = self._solve_F(self.cF)
        if p:
            z = rng.standard_normal((M, p))
            # Q_FF = L L'  =>  x = mean + L'^-1 z has covariance Q_FF^-1
            xF = xF + np.linalg.solve(np.swapaxes(self.LF, 1, 2), z[..., None])[..., 0]
        xs: list[np.ndarray] = []
        for k in range(len(self.tree.sizes)):
            x = self.tc[k] - np.einsum("mjaf,mf->mja", self.tB[k], xF)
            if k > 0:
                x = x - self.tp[k] * self._parent_values(k, xs)[..., None]
            L = _cholesky(self.Ainv[k])
            x = x + np.einsum("mjab,mjb->mja", L, rng.standard_normal(x.shape))
            xs.append(x)
        return xF, xs

    def _solve_F(self, b: np.ndarray) -> np.ndarray:
        if not self.tree.p_f:
            return np.zeros((self.M, 0))
        y = np.linalg.solve(self.LF, b[..., None])
        return np.linalg.solve(np.swapaxes(self.LF, 1, 2), y)[..., 0]

    def moments(self) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], list[np.ndarray]]:
        """Means and marginal covariances: (x_F mean, Var x_F (M, p, p), [x_k mean], [Var x_k (M, J, d, d)]).

        With x_j = a_j + K_p x_parent + K_F x_F + e_j, K_p = -A_j^-1 Cp_j, K_F = -A_j^-1 B_j:
        Var x_j = A_j^-1 + K_p K_p' v_p + K_p g_p' K_F' + K_F g_p K_p' + K_F V_F K_F',
        Cov(x_j, x_F) = K_p g_p + K_F V_F (v_p, g_p: the parent's variance and covariance with x_F).
        """
        xF, xs = self.mean()
        p = self.tree.p_f
        if p:
            Linv = np.linalg.inv(self.LF)
            VF = np.einsum("mki,mkj->mij", Linv, Linv)
        else:
            VF = np.zeros((self.M, 0, 0))
        Vs, Gs = [], []
        for k in range(len(self.tree.sizes)):
            KF = -self.tB[k]
            KFV = np.einsum("mjaf,mfg->mjag", KF, VF)
            V = self.Ainv[k] + np.einsum("mjag,mjbg->mjab", KFV, KF)
            G = KFV
            if k > 0:
                Kp = -self.tp[k]
                par = self.tree.parents[k]
                vp = Vs[k - 1][:, par, 0, 0]
                gp = Gs[k - 1][:, par, 0, :]
                cross = np.einsum("mja,mjbf,mjf->mjab", Kp, KF, gp)
                V = V + Kp[..., :, None] * Kp[..., None, :] * vp[..., None, None] + cross + np.swapaxes(cross, -1, -2)
                G = G + Kp[..., None] * gp[:, :, None, :]
            Vs.append(V)
            Gs.append(G)
        return xF, VF, xs, Vs
