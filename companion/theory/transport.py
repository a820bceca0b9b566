"""Optimal transport for feature unlearning (Xu & Strohmer, arXiv 2502.05684, feature part).

The feature-unlearning theorem of Xu & Strohmer (2025), in the form the package states it
(deviations.md#xs-barycenter-theorem), says that, for the L2 utility ``E||X - X_hat||^2``, the best
outcome ``X_hat = f(X, Z)`` independent of the feature ``Z`` is the Wasserstein-2 barycenter of the
conditional laws ``mu_z = L(X | Z=z)`` with weights ``p_z = P(Z=z)``, reached by pushing each group
through its optimal (Brenier) map ``T_z``. This module holds:

* the Gaussian closed form (Agueh & Carlier 2011), in :mod:`companion.theory.gaussian_ot` and
  re-exported here: :func:`gaussian_barycenter` (the provably convergent fixed point of
  Alvarez-Esteban et al. 2016 and the iteration as coded upstream,
  deviations.md#xs-barycenter-iteration), :func:`gaussian_ot_map`, :func:`w2_gaussian`;
* the data-level transform :class:`FeatureBarycenter` (fit group moments, maps ``T_z``, the McCann
  path ``X_t = (1 - t) X + t T_Z(X)``; McCann 1997) that the chapters and the ``barycenter`` method
  use; applied to non-Gaussian data it is the authors' *pseudo-barycenter*;
* the non-Gaussian comparison: :func:`free_support_barycenter_transform` (POT's free-support
  barycenter, each group mapped by the barycentric projection of its OT plan) and
  :func:`empirical_w2` (exact discrete W2 with POT).

All arrays are numpy float64; ``X`` has shape (n, d), ``z`` shape (n,) with integer group labels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import bad_value
from .gaussian_ot import (  # noqa: F401  (re-exported: the closed forms' home is gaussian_ot)
    BARYCENTER_METHODS,
    _check_psd_stack,
    _sym,
    check_t,
    check_weights,
    gaussian_barycenter,
    gaussian_barycenter_cost,
    gaussian_ot_map,
    group_weights,
    mccann,
    sqrtm_psd,
    w2_gaussian,
)

SINGULAR_MODES = ("ridge", "pinv")


# --------------------------------------------------------------------------------------------
# The data-level transform
# --------------------------------------------------------------------------------------------


def _check_xz(x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise bad_value("X", f"an array of shape {x.shape}", "a 2-D array (n samples, d features)")
    z = np.asarray(z)
    if z.shape != (x.shape[0],):
        raise bad_value(
            "z", f"an array of shape {z.shape}", f"a 1-D array of {x.shape[0]} group labels"
        )
    if not np.all(np.isfinite(x)):
        raise bad_value("X", "an array with NaN/inf entries", "finite features")
    return x, z


@dataclass
class FeatureBarycenter:
    """Gaussian (pseudo-)barycenter transform fitted on data (the Gaussian maps the authors'
    ``test Adult.py`` applies to data, with a ridge for singular covariances).

    Attributes
    ----------
    groups : (k,) the group labels, sorted
    weights : (k,) barycenter weights p_z
    means : (k, d); covs : (k, d, d) group moments (unbiased covariance, plus ``ridge * I``)
    m_bar : (d,); s_bar : (d, d) the barycenter N(m_bar, S_bar)
    maps : (k, d, d) the matrices A_z of ``T_z(x) = m_bar + A_z (x - m_z)``
    """

    groups: np.ndarray
    weights: np.ndarray
    means: np.ndarray
    covs: np.ndarray
    m_bar: np.ndarray
    s_bar: np.ndarray
    maps: np.ndarray
    ridge: float = 0.0
    log: dict = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        z: np.ndarray,
        weights: str | np.ndarray = "proportional",
        ridge: float = 1e-6,
        method: str = "fixed_point",
        singular: str = "ridge",
        seed: int = 0,
        tol: float | None = None,
    ) -> "FeatureBarycenter":
        """Fit group means/covariances on ``(x, z)`` and the barycenter maps.

        Parameters
        ----------
        x : (n, d) features; z : (n,) group labels (at least 2 groups, 2 samples each)
        weights : 'proportional' (default, P(Z=z) as in the theorem), 'equal', or an array
        ridge : float >= 0
            ``ridge * I`` is added to each group covariance (one-hot covariances are singular;
            deviations.md#xs-singular-covariance). With ``singular='pinv'`` the maps use
            pseudo-inverses on the range instead.
        method : barycenter iteration, see :func:`gaussian_barycenter`
        """
        x, z = _check_xz(x, z)
        if singular not in SINGULAR_MODES:
            raise bad_value("singular", singular, f"one of {SINGULAR_MODES}")
        if isinstance(ridge, bool) or not isinstance(ridge, (int, float)) or not ridge >= 0:
            raise bad_value("ridge", ridge, "a number >= 0")
        groups = np.unique(z)
        if len(groups) < 2:
            raise bad_value("z", f"{len(groups)} distinct group(s)", "at least 2 groups")
        counts = np.array([(z == g).sum() for g in groups])
        if counts.min() < 2:
            raise bad_value(
                "z", f"a group with {counts.min()} sample(s)", "at least 2 samples in every group"
            )
        w = group_weights(z, groups, weights)
        d = x.shape[1]
        means = np.stack([x[z == g].mean(0) for g in groups])
        covs = np.stack(
            [np.atleast_2d(np.cov(x[z == g], rowvar=False)) + ridge * np.eye(d) for g in groups]
        )
        m_bar, s_bar, log = gaussian_barycenter(
            means, covs, w, method=method, seed=seed, tol=tol, return_log=True
        )
        maps = np.stack([gaussian_ot_map(c, s_bar) for c in covs])
        return cls(groups, w, means, covs, m_bar, s_bar, maps, float(ridge), log)

    def _index(self, z: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.groups, z)
        idx = np.clip(idx, 0, len(self.groups) - 1)
        if not np.all(self.groups[idx] == z):
            unknown = sorted(set(np.asarray(z).tolist()) - set(self.groups.tolist()))
            raise bad_value(
                "z", f"unseen group label(s) {unknown}", f"labels among {self.groups.tolist()}"
            )
        return idx

    def push(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """``T_z(x) = m_bar + A_z (x - m_z)`` row by row; x (n, d), z (n,) -> (n, d)."""
        x, z = _check_xz(x, z)
        idx = self._index(z)
        out = np.empty_like(x)
        for j in range(len(self.groups)):
            rows = idx == j
            out[rows] = self.m_bar + (x[rows] - self.means[j]) @ self.maps[j].T
        return out

    def transform(self, x: np.ndarray, z: np.ndarray, t: float = 1.0) -> np.ndarray:
        """McCann path point ``X_t = (1 - t) X + t T_Z(X)``; t=1 is the barycenter."""
        t = check_t(t)
        x, z = _check_xz(x, z)
        return mccann(x, self.push(x, z), t)

    def cost(self) -> float:
        """Closed-form distortion ``sum_z p_z W2^2(N(m_z, S_z), N(m_bar, S_bar))``."""
        return gaussian_barycenter_cost(self.means, self.covs, self.weights, self.m_bar, self.s_bar)

    def path_moments(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Means (k, d) and covariances (k, d, d) of each group at McCann position ``t`` (Gaussian
        model).

        Group z at t is ``N((1-t) m_z + t m_bar, M S_z M)`` with ``M = (1-t) I + t A_z``.
        """
        t = check_t(t)
        eye = np.eye(self.means.shape[1])
        ms = (1 - t) * self.means + t * self.m_bar
        cs = np.stack(
            [
                ((1 - t) * eye + t * a) @ c @ ((1 - t) * eye + t * a)
                for a, c in zip(self.maps, self.covs)
            ]
        )
        return ms, cs


def feature_barycenter(
    x: np.ndarray,
    z: np.ndarray,
    t: float = 1.0,
    weights: str | np.ndarray = "proportional",
    ridge: float = 1e-6,
    method: str = "fixed_point",
) -> np.ndarray:
    """One call ``(X, Z) -> X_hat``: fit :class:`FeatureBarycenter` on ``(x, z)`` and return
    ``X_t``."""
    t = check_t(t)
    return FeatureBarycenter.fit(x, z, weights=weights, ridge=ridge, method=method).transform(
        x, z, t
    )


def two_group_barycenter_map(x0: np.ndarray, s_x0: np.ndarray, p1: float) -> np.ndarray:
    """Two groups (our derivation, deviations.md#xs-celeba-midpoint): group 0's map onto the
    barycenter is ``p0 x + p1 S(x)``.

    ``x0`` (n, d) are group-0 samples and ``s_x0`` (n, d) their images under the OT map S from group
    0 to group 1; the barycenter image is the McCann point at ``t = p1``, the *other* group's
    weight.
    """
    p1 = check_t(p1, "p1")
    return mccann(x0, s_x0, p1)


# --------------------------------------------------------------------------------------------
# Non-Gaussian data: exact discrete OT with POT
# --------------------------------------------------------------------------------------------


def empirical_w2(
    x: np.ndarray,
    y: np.ndarray,
    a: np.ndarray | None = None,
    b: np.ndarray | None = None,
    squared: bool = True,
) -> float:
    """Exact W2 between two empirical measures (``ot.emd2`` with the squared Euclidean cost).

    x : (n, d), y : (m, d); a, b : weights (uniform if None).
    """
    import ot

    x, y = np.atleast_2d(np.asarray(x, float)), np.atleast_2d(np.asarray(y, float))
    if x.shape[1] != y.shape[1]:
        raise bad_value("y", f"an array with {y.shape[1]} columns", f"{x.shape[1]} columns like x")
    a = np.full(len(x), 1.0 / len(x)) if a is None else np.asarray(a, float)
    b = np.full(len(y), 1.0 / len(y)) if b is None else np.asarray(b, float)
    val = max(float(ot.emd2(a, b, ot.dist(x, y, metric="sqeuclidean"), numItermax=1_000_000)), 0.0)
    return val if squared else float(np.sqrt(val))


def free_support_barycenter_transform(
    x: np.ndarray,
    z: np.ndarray,
    t: float = 1.0,
    weights: str | np.ndarray = "proportional",
    n_support: int = 200,
    seed: int = 0,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray, float]:
    """A true (discrete) W2 barycenter of the groups and each group's map onto it.

    Uses POT's free-support barycenter (``ot.lp.free_support_barycenter``) with ``n_support`` atoms
    started from a seeded sample of the pooled data; each group's samples are then moved by the
    barycentric projection of their exact OT plan onto the barycenter,
    ``T_z(x_i) = sum_j pi_ij y_j / a_i``, and along the McCann path by ``t``.

    Returns
    -------
    x_t : (n, d) transformed data; support : (n_support, d) barycenter atoms;
    cost : float, ``sum_z p_z W2^2(mu_z, nu)`` of the empirical groups against the barycenter.
    """
    import ot

    t = check_t(t)
    x, z = _check_xz(x, z)
    groups = np.unique(z)
    if len(groups) < 2:
        raise bad_value("z", f"{len(groups)} distinct group(s)", "at least 2 groups")
    if not (isinstance(n_support, int) and n_support >= 1):
        raise bad_value("n_support", n_support, "a positive integer")
    w = group_weights(z, groups, weights)
    locs = [x[z == g] for g in groups]
    masses = [np.full(len(loc), 1.0 / len(loc)) for loc in locs]
    rng = np.random.default_rng(seed)
    init = x[rng.choice(len(x), size=min(n_support, len(x)), replace=False)]
    support = ot.lp.free_support_barycenter(locs, masses, init, weights=w, numItermax=max_iter)
    b = np.full(len(support), 1.0 / len(support))
    out = np.empty_like(x)
    cost = 0.0
    for g, wz, loc, a in zip(groups, w, locs, masses):
        m = ot.dist(loc, support, metric="sqeuclidean")
        plan = ot.emd(a, b, m, numItermax=1_000_000)
        cost += wz * float(np.sum(plan * m))
        out[z == g] = mccann(loc, (plan @ support) / a[:, None], t)
    return out, support, cost
