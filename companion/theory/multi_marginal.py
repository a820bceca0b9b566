"""Multi-group barycenters and task-aligned (Mahalanobis) transport costs: an answer to Xu &
Strohmer's open question "beyond W2" (arXiv 2502.05684, feature-unlearning part).

The feature-unlearning theorem pushes each group ``{Z = z}`` onto the W2 barycenter of the groups;
nothing in it needs two groups, and the cost need not be the plain squared Euclidean one. For a
symmetric positive-definite ``M`` (d, d) the Mahalanobis cost ``c_M(x, y) = (x - y)^T M (x - y)`` is
the squared Euclidean cost after the linear map ``R = M^{1/2}``: with ``phi(x) = R x``,

* ``W_M(mu, nu) = W_2(phi#mu, phi#nu)`` and the optimal plans correspond through ``phi x phi``;
* the ``c_M``-barycenter of ``mu_z`` (weights ``p_z``) is ``phi^{-1}#`` of the W2 barycenter of
  the whitened groups ``phi#mu_z``, and its maps are ``T^M_z = phi^{-1} o T'_z o phi``;
* for Gaussian groups ``N(m_z, S_z)``: ``T^M_z(x) = m_bar + B_z (x - m_z)`` with
  ``B_z = R^{-1} A'_z R`` (``A'_z`` the Brenier matrix from ``R S_z R`` to the whitened barycenter
  covariance), ``m_bar = sum_z p_z m_z`` and ``S_bar^M = R^{-1} S_bar' R^{-1}``.

(The chapter ``xs/09_beyond_w2`` states and proves this as a proposition.) This module holds those
closed forms, the multi-group push, and the discrete checks against POT: the Mahalanobis OT plan
(:func:`mahalanobis_emd`) and the free-support barycenter under ``c_M``
(:func:`mahalanobis_free_support_barycenter`).

All arrays are numpy float64; ``metric`` is a (d, d) SPD matrix or a (d,) positive vector (a
diagonal ``M``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import bad_value
from .gaussian_ot import (
    _check_psd_stack,
    _sym,
    check_t,
    check_weights,
    gaussian_barycenter,
    gaussian_ot_map,
    sqrtm_psd,
    w2_gaussian,
)


def check_metric(metric: np.ndarray | None, d: int, name: str = "metric") -> np.ndarray:
    """Validate a Mahalanobis matrix: (d, d) symmetric positive definite, or (d,) positive
    diagonal; None is the identity. Returns the (d, d) matrix."""
    if metric is None:
        return np.eye(d)
    m = np.asarray(metric, dtype=float)
    if m.ndim == 1:
        if m.shape != (d,) or not np.all(np.isfinite(m)) or np.any(m <= 0):
            raise bad_value(name, f"a vector of shape {m.shape}", f"{d} finite positive weights")
        return np.diag(m)
    if m.shape != (d, d) or not np.all(np.isfinite(m)):
        raise bad_value(name, f"an array of shape {m.shape}", f"a finite ({d}, {d}) matrix")
    scale = max(1.0, float(np.abs(m).max()))
    if not np.allclose(m, m.T, atol=1e-10 * scale):
        raise bad_value(name, "a non-symmetric matrix", "a symmetric positive-definite matrix")
    if np.linalg.eigvalsh(_sym(m)).min() <= 1e-12 * scale:
        raise bad_value(name, "a matrix that is not positive definite", "an SPD matrix")
    return _sym(m)


def metric_root(metric: np.ndarray | None, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``(R, R^{-1})`` with ``R = M^{1/2}`` symmetric, both (d, d)."""
    m = check_metric(metric, d)
    return sqrtm_psd(m), sqrtm_psd(m, inverse=True)


def mahalanobis_cost_matrix(x: np.ndarray, y: np.ndarray, metric: np.ndarray | None) -> np.ndarray:
    """Cost matrix ``C_ij = (x_i - y_j)^T M (x_i - y_j)``; x (n, d), y (m, d) -> (n, m)."""
    x, y = np.atleast_2d(np.asarray(x, float)), np.atleast_2d(np.asarray(y, float))
    if x.shape[1] != y.shape[1]:
        raise bad_value("y", f"an array with {y.shape[1]} columns", f"{x.shape[1]} columns like x")
    m = check_metric(metric, x.shape[1])
    diff = x[:, None, :] - y[None, :, :]
    return np.maximum(np.einsum("nmi,ij,nmj->nm", diff, m, diff), 0.0)


def w2_gaussian_mahalanobis(
    m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray, metric: np.ndarray | None
) -> float:
    """``W_M^2(N(m1, S1), N(m2, S2)) = W_2^2(N(R m1, R S1 R), N(R m2, R S2 R))``."""
    m1 = np.atleast_1d(np.asarray(m1, float))
    r, _ = metric_root(metric, len(m1))
    return w2_gaussian(r @ m1, r @ s1 @ r, r @ np.asarray(m2, float), r @ s2 @ r)


@dataclass
class GroupBarycenter:
    """Gaussian barycenter of k groups under the cost ``c_M`` and each group's map onto it.

    Attributes
    ----------
    weights : (k,) p_z;  means : (k, d);  covs : (k, d, d) the groups' moments
    metric : (d, d) the matrix M (identity: the W2 barycenter)
    m_bar : (d,);  s_bar : (d, d) the barycenter N(m_bar, S_bar) in the original coordinates
    maps : (k, d, d) the matrices B_z of ``T_z(x) = m_bar + B_z (x - m_z)``
    log : the whitened fixed point's log (iterations, residual, converged)
    """

    weights: np.ndarray
    means: np.ndarray
    covs: np.ndarray
    metric: np.ndarray
    m_bar: np.ndarray
    s_bar: np.ndarray
    maps: np.ndarray
    log: dict = field(default_factory=dict)

    def push(self, x: np.ndarray, idx: np.ndarray, t: float = 1.0) -> np.ndarray:
        """McCann point ``(1 - t) x + t T_z(x)`` of every row; x (n, d), idx (n,) group indices
        into ``weights`` (0..k-1) -> (n, d)."""
        t = check_t(t)
        x, idx = np.asarray(x, float), np.asarray(idx)
        k, d = self.means.shape
        if x.ndim != 2 or x.shape[1] != d or idx.shape != (len(x),):
            raise bad_value("x/idx", f"shapes {x.shape}, {idx.shape}", f"(n, {d}) and (n,)")
        if len(idx) and (idx.min() < 0 or idx.max() >= k):
            raise bad_value("idx", f"indices in [{idx.min()}, {idx.max()}]", f"indices in [0, {k})")
        target = self.m_bar + np.einsum("nij,nj->ni", self.maps[idx], x - self.means[idx])
        return (1.0 - t) * x + t * target

    def cost(self) -> float:
        """``sum_z p_z W_M^2(N(m_z, S_z), N(m_bar, S_bar))``: the minimal ``c_M`` distortion."""
        return float(
            sum(
                p * w2_gaussian_mahalanobis(m, c, self.m_bar, self.s_bar, self.metric)
                for p, m, c in zip(self.weights, self.means, self.covs)
            )
        )


def group_barycenter(
    means: np.ndarray,
    covs: np.ndarray,
    weights: np.ndarray | None = None,
    metric: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 1000,
) -> GroupBarycenter:
    r"""Gaussian barycenter of k >= 2 groups under the Mahalanobis cost, by whitening.

    .. math::
        R = M^{1/2},\quad (\bar m', \bar S') = \mathrm{Bar}_{W_2}\big(N(R m_z, R S_z R), p_z\big),
        \quad \bar m = R^{-1}\bar m' = \textstyle\sum_z p_z m_z,\quad
        \bar S = R^{-1}\bar S' R^{-1},\quad B_z = R^{-1} A'_z R

    with ``A'_z`` the Brenier matrix from ``R S_z R`` to ``S_bar'`` (Agueh & Carlier's fixed point,
    :func:`~companion.theory.gaussian_ot.gaussian_barycenter`). ``metric=None`` is the W2
    barycenter of the theorem with all groups.

    Parameters
    ----------
    means : (k, d);  covs : (k, d, d) PSD;  weights : (k,) (uniform if None)
    metric : (d, d) SPD or (d,) positive diagonal, optional
    """
    means = np.atleast_2d(np.asarray(means, float))
    covs = _check_psd_stack(covs)
    k, d = means.shape
    if k < 2:
        raise bad_value("means", f"{k} group(s)", "at least 2 groups")
    if covs.shape != (k, d, d):
        raise bad_value("covs", f"an array of shape {covs.shape}", f"shape ({k}, {d}, {d})")
    w = check_weights(weights, k)
    m = check_metric(metric, d)
    r, ri = sqrtm_psd(m), sqrtm_psd(m, inverse=True)
    covs_w = np.stack([_sym(r @ c @ r) for c in covs])
    _, s_w, log = gaussian_barycenter(
        means @ r, covs_w, w, tol=tol, max_iter=max_iter, return_log=True
    )
    maps = np.stack([ri @ gaussian_ot_map(c, s_w) @ r for c in covs_w])
    return GroupBarycenter(w, means, covs, m, w @ means, _sym(ri @ s_w @ ri), maps, log)


def group_moments(
    x: np.ndarray, idx: np.ndarray, k: int, ridge: float = 0.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group shares (k,), means (k, d) and unbiased covariances + ``ridge * I`` (k, d, d) of
    ``x`` (n, d) for group indices ``idx`` (n,) in 0..k-1 (each group needs 2 rows)."""
    x, idx = np.asarray(x, float), np.asarray(idx)
    if x.ndim != 2 or idx.shape != (len(x),):
        raise bad_value("x/idx", f"shapes {x.shape}, {idx.shape}", "(n, d) and (n,)")
    if isinstance(ridge, bool) or not np.isfinite(ridge) or ridge < 0:
        raise bad_value("ridge", ridge, "a finite number >= 0")
    counts = np.bincount(idx, minlength=k)
    if len(counts) != k or counts.min() < 2:
        raise bad_value("idx", f"group counts {counts.tolist()}", f"{k} groups of >= 2 rows each")
    d = x.shape[1]
    means = np.stack([x[idx == g].mean(0) for g in range(k)])
    covs = np.stack(
        [np.atleast_2d(np.cov(x[idx == g], rowvar=False)) + ridge * np.eye(d) for g in range(k)]
    )
    return counts / counts.sum(), means, covs


# --------------------------------------------------------------------------------------------
# Discrete OT under c_M (POT): the plan and the free-support barycenter, by whitening
# --------------------------------------------------------------------------------------------


def mahalanobis_emd(
    x: np.ndarray,
    y: np.ndarray,
    metric: np.ndarray | None,
    a: np.ndarray | None = None,
    b: np.ndarray | None = None,
) -> tuple[np.ndarray, float]:
    """Exact OT plan (n, m) and cost between empirical measures under ``c_M``, computed as the
    squared-Euclidean ``ot.emd`` of the whitened samples ``R x``, ``R y`` (uniform weights if
    None)."""
    import ot

    x, y = np.atleast_2d(np.asarray(x, float)), np.atleast_2d(np.asarray(y, float))
    if x.shape[1] != y.shape[1]:
        raise bad_value("y", f"an array with {y.shape[1]} columns", f"{x.shape[1]} columns like x")
    r, _ = metric_root(metric, x.shape[1])
    a = np.full(len(x), 1.0 / len(x)) if a is None else np.asarray(a, float)
    b = np.full(len(y), 1.0 / len(y)) if b is None else np.asarray(b, float)
    c = ot.dist(x @ r, y @ r, metric="sqeuclidean")
    plan = ot.emd(a, b, c, numItermax=1_000_000)
    return plan, float(np.sum(plan * c))


def mahalanobis_free_support_barycenter(
    locations: list[np.ndarray],
    init: np.ndarray,
    metric: np.ndarray | None,
    weights: np.ndarray | None = None,
    max_iter: int = 100,
) -> np.ndarray:
    """Free-support barycenter (uniform atoms ``init`` (m, d) to start) of uniform empirical
    groups ``locations`` [(n_z, d)] under ``c_M``: POT's ``ot.lp.free_support_barycenter`` on the
    whitened groups, mapped back by ``R^{-1}``. Returns the support (m, d)."""
    import ot

    init = np.atleast_2d(np.asarray(init, float))
    d = init.shape[1]
    if len(locations) < 2 or any(
        np.asarray(loc).ndim != 2 or loc.shape[1] != d for loc in locations
    ):
        raise bad_value("locations", f"{len(locations)} group(s)", f">= 2 arrays of shape (n, {d})")
    w = check_weights(weights, len(locations))
    r, ri = metric_root(metric, d)
    locs = [np.asarray(loc, float) @ r for loc in locations]
    masses = [np.full(len(loc), 1.0 / len(loc)) for loc in locs]
    support = ot.lp.free_support_barycenter(locs, masses, init @ r, weights=w, numItermax=max_iter)
    return np.asarray(support) @ ri
