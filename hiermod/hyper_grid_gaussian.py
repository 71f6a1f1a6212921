"""Closed-form Gaussian parts of the hyperparameter-grid references (numpy only).

Given the scale hyperparameters, the nested-normal and varying-slopes models are Gaussian in
everything else. These functions integrate the location parameters (Normal prior on mu / beta)
and the group values exactly, vectorised over M grid points at once:

``tree_pass``: nested levels k = 1..K, theta_1[j] ~ N(mu, tau_1), theta_k[j] ~ N(theta_{k-1}[parent_k[j]],
tau_k), and per innermost group a Gaussian "measurement" ybar_j ~ N(theta_K[j], sqrt(s2_j)). Upward:
each node's data below it, as a function of the node, is N(m | node, sqrt(s2)); integrating the node
gives its parent N(m | parent, sqrt(s2 + tau^2)); the product over a parent's children is
N(mbar | parent, sqrt(1 / P)) times a constant (P = sum 1/V_c, mbar = sum(m_c/V_c) / P). At the top
mu ~ N(m0, s0). Downward (tree Markov property), with B = s2 / (s2 + tau^2):

    theta_c | parent, y ~ N(B parent + (1 - B) m_c, sqrt((1 - B) s2)),
    E_c = B E_parent + (1 - B) m_c,   V_c = (1 - B) s2 + B^2 V_parent,

no division by tau (tau -> 0 gives theta_c = parent).

``slopes_pass``: phi_j = (a_j, b_j) ~ N(m, S), m = (mu, beta) ~ N(m0, diag(s0^2)), rows
y_i ~ N(a_j + b_j x_i, sigma). With Lam_j = X_j'X_j / sigma^2, h_j = X_j'y_j / sigma^2 and
G_j = (I + S Lam_j)^-1 (defined for every tau >= 0 and any group size):

    ∫ p(y_j | phi) N(phi | m, S) dphi = (2 pi sigma^2)^(-n_j/2) exp(-y_j'y_j / 2 sigma^2)
        * det(I + S Lam_j)^(-1/2) exp(h_j' G_j S h_j / 2 + (G_j' h_j)' m - m' Lam_j G_j m / 2),
    phi_j | m, y ~ N(G_j S h_j + G_j m, G_j S),

then m is integrated against its Normal prior: with A = sum Lam_j G_j + diag(1/s0^2) and
eta = sum G_j' h_j + m0 / s0^2, m | y ~ N(A^-1 eta, A^-1). 2x2 algebra is written out per entry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_LOG_2PI = math.log(2 * math.pi)


# ------------------------------------------------------------------------------ nested levels


@dataclass(frozen=True, eq=False)
class Tree:
    """Nested levels: ``parent[k]`` (J_k,) indexes level k-1 (level 0 is mu: all zeros),
    ``up[k]`` the one-hot (J_k, J_{k-1}) matrix summing children into parents; ``m0``, ``s0`` mu's prior."""

    parent: tuple[np.ndarray, ...]
    up: tuple[np.ndarray, ...]
    m0: float
    s0: float

    @classmethod
    def build(cls, parents: list, sizes: list[int], m0: float, s0: float) -> "Tree":
        par = [np.zeros(sizes[0], dtype=np.intp)] + [np.asarray(p, dtype=np.intp) for p in parents[1:]]
        outer = [1] + list(sizes[:-1])
        up = [np.eye(n_out)[p] for p, n_out in zip(par, outer)]
        return cls(tuple(par), tuple(up), float(m0), float(s0))


def tree_pass(tree: Tree, m: np.ndarray, s2: np.ndarray, tau: np.ndarray, moments: bool):
    """log ∫ prod_j N(m_j | theta_K[j], sqrt(s2_j)) p(theta, mu | tau) d(theta, mu), (M,), and, if
    ``moments``, the conditional (mean, variance) of mu and of every level's theta, (M, J_k).

    ``m`` (J,) innermost measurements, ``s2`` (M, J) their variances, ``tau`` (M, K)."""
    K = tau.shape[1]
    m = np.broadcast_to(m, s2.shape)
    logc = np.zeros(s2.shape[0])
    below = []
    for k in reversed(range(K)):
        below.append((m, s2))
        V = s2 + tau[:, k:k + 1] ** 2
        prec = 1.0 / V
        P = prec @ tree.up[k]
        mbar = ((m * prec) @ tree.up[k]) / P
        r = m - mbar[:, tree.parent[k]]
        logc += 0.5 * (P.shape[1] * _LOG_2PI - np.log(P).sum(1))
        logc -= 0.5 * (V.shape[1] * _LOG_2PI + np.log(V).sum(1) + (r * r * prec).sum(1))
        m, s2 = mbar, 1.0 / P
    m, s2 = m[:, 0], s2[:, 0]          # the top level's parent is mu alone
    tot = s2 + tree.s0**2
    logc += -0.5 * (_LOG_2PI + np.log(tot)) - 0.5 * (m - tree.m0) ** 2 / tot
    if not moments:
        return logc, {}
    vmu = 1.0 / (1.0 / tree.s0**2 + 1.0 / s2)
    emu = vmu * (tree.m0 / tree.s0**2 + m / s2)
    return logc, _tree_down(tree, emu, vmu, below[::-1], tau)


def _tree_down(tree: Tree, emu, vmu, below, tau) -> dict:
    """Conditional moments of every level from the top down ({"mu": .., 0: level 1, 1: ...})."""
    out = {"mu": (emu, vmu)}
    E, V = emu[:, None], vmu[:, None]
    for k, (m, s2) in enumerate(below):
        t2 = tau[:, k:k + 1] ** 2
        B = s2 / (s2 + t2)
        one_minus_B = t2 / (s2 + t2)
        E = B * E[:, tree.parent[k]] + one_minus_B * m
        V = one_minus_B * s2 + B * B * V[:, tree.parent[k]]
        out[k] = (E, V)
    return out


# ------------------------------------------------------------------------------ varying slopes


@dataclass(frozen=True, eq=False)
class SlopeStats:
    """Per-group sums: n, sum x, sum x^2, sum y, sum x y (J,), and sum y^2 and the row count."""

    n: np.ndarray
    sx: np.ndarray
    sxx: np.ndarray
    sy: np.ndarray
    sxy: np.ndarray
    syy: float
    n_rows: int

    @classmethod
    def build(cls, y, x, group_idx, n_groups) -> "SlopeStats":
        def total(w):
            return np.bincount(group_idx, weights=w, minlength=n_groups)

        return cls(total(np.ones_like(y)), total(x), total(x * x), total(y), total(x * y),
                   float(y @ y), int(y.shape[0]))


def slopes_pass(st: SlopeStats, m0, s0, tau, tau_x, rho, sigma, moments: bool):
    """log p(y | tau, tau_x, rho, sigma) with (mu, beta) and (a_j, b_j) integrated, (M,), and, if
    ``moments``, conditional (mean, variance) of mu, beta, a_j ("theta"), b_j ("slope")."""
    s2 = (sigma**2)[:, None]
    l11, l12, l22 = st.n / s2, st.sx / s2, st.sxx / s2
    h1, h2 = st.sy / s2, st.sxy / s2
    S11, S12, S22 = (tau**2)[:, None], (rho * tau * tau_x)[:, None], (tau_x**2)[:, None]
    d11, d12 = 1 + S11 * l11 + S12 * l12, S11 * l12 + S12 * l22
    d21, d22 = S12 * l11 + S22 * l12, 1 + S12 * l12 + S22 * l22
    det = d11 * d22 - d12 * d21
    g11, g12, g21, g22 = d22 / det, -d12 / det, -d21 / det, d11 / det
    q11, q12, q22 = g11 * S11 + g12 * S12, g11 * S12 + g12 * S22, g21 * S12 + g22 * S22
    c = 0.5 * (q11 * h1 * h1 + 2 * q12 * h1 * h2 + q22 * h2 * h2)
    loglik = (-0.5 * st.n_rows * (_LOG_2PI + np.log(sigma**2)) - 0.5 * st.syy / sigma**2
              + (c - 0.5 * np.log(det)).sum(1))
    p1, p2 = 1.0 / s0[0] ** 2, 1.0 / s0[1] ** 2
    A11 = (l11 * g11 + l12 * g21).sum(1) + p1
    A12 = (l11 * g12 + l12 * g22).sum(1)
    A22 = (l12 * g12 + l22 * g22).sum(1) + p2
    e1 = (g11 * h1 + g21 * h2).sum(1) + m0[0] * p1
    e2 = (g12 * h1 + g22 * h2).sum(1) + m0[1] * p2
    detA = A11 * A22 - A12**2
    V11, V12, V22 = A22 / detA, -A12 / detA, A11 / detA
    mh1, mh2 = V11 * e1 + V12 * e2, V12 * e1 + V22 * e2
    loglik += (0.5 * (math.log(p1 * p2) - np.log(detA)) + 0.5 * (e1 * mh1 + e2 * mh2)
               - 0.5 * (m0[0] ** 2 * p1 + m0[1] ** 2 * p2))
    if not moments:
        return loglik, {}
    mh1, mh2, V11, V12, V22 = (v[:, None] for v in (mh1, mh2, V11, V12, V22))
    return loglik, {
        "mu": (mh1[:, 0], V11[:, 0]), "beta": (mh2[:, 0], V22[:, 0]),
        "theta": (q11 * h1 + q12 * h2 + g11 * mh1 + g12 * mh2,
                  q11 + g11 * g11 * V11 + 2 * g11 * g12 * V12 + g12 * g12 * V22),
        "slope": (q12 * h1 + q22 * h2 + g21 * mh1 + g22 * mh2,
                  q22 + g21 * g21 * V11 + 2 * g21 * g22 * V12 + g22 * g22 * V22),
    }
