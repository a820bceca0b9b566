"""Optimal transport between Gaussians in closed form: the Bures-Wasserstein distance, the Brenier
map, the W2 barycenter (Agueh & Carlier 2011; the provably convergent fixed point of
Alvarez-Esteban et al. 2016 and the iteration as coded upstream,
deviations.md#xs-barycenter-iteration) and the McCann path. :mod:`companion.theory.transport`
builds the feature-unlearning transform on them and re-exports every name.

All arrays are numpy float64.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..config import bad_value

BARYCENTER_METHODS = ("fixed_point", "as_coded")


def _sym(a: np.ndarray) -> np.ndarray:
    return 0.5 * (a + a.T)


def sqrtm_psd(a: np.ndarray, inverse: bool = False, rcond: float = 1e-12) -> np.ndarray:
    """Symmetric square root (or pseudo-inverse square root) of a PSD matrix via ``eigh``.

    Parameters
    ----------
    a : (d, d) symmetric positive semi-definite array
    inverse : bool
        Return the Moore-Penrose inverse of the square root: eigenvalues below
        ``rcond * max eigenvalue`` are treated as zero.
    """
    w, v = np.linalg.eigh(_sym(np.asarray(a, dtype=float)))
    w = np.clip(w, 0.0, None)
    if inverse:
        cut = rcond * max(float(w.max(initial=0.0)), np.finfo(float).tiny)
        s = np.where(w > cut, 1.0 / np.sqrt(np.where(w > cut, w, 1.0)), 0.0)
    else:
        s = np.sqrt(w)
    return _sym((v * s) @ v.T)


def _check_psd_stack(covs: np.ndarray, name: str = "covs") -> np.ndarray:
    covs = np.asarray(covs, dtype=float)
    if covs.ndim != 3 or covs.shape[1] != covs.shape[2]:
        raise bad_value(
            name, f"an array of shape {covs.shape}", "a stack of square matrices, shape (k, d, d)"
        )
    if not np.all(np.isfinite(covs)):
        raise bad_value(name, "an array with NaN/inf entries", "finite covariance matrices")
    if not np.allclose(
        covs, np.swapaxes(covs, 1, 2), atol=1e-8 * max(1.0, float(np.abs(covs).max()))
    ):
        raise bad_value(name, "a non-symmetric matrix", "symmetric positive semi-definite matrices")
    if np.linalg.eigvalsh(covs).min() < -1e-8 * max(1.0, float(np.abs(covs).max())):
        raise bad_value(
            name, "a matrix with a negative eigenvalue", "symmetric positive semi-definite matrices"
        )
    return covs


def check_weights(weights: np.ndarray | None, k: int, name: str = "weights") -> np.ndarray:
    """Validate barycenter weights: ``k`` non-negative numbers summing to 1 (uniform when None)."""
    if weights is None:
        return np.full(k, 1.0 / k)
    w = np.asarray(weights, dtype=float)
    if w.shape != (k,) or np.any(~np.isfinite(w)) or np.any(w < 0) or not np.isclose(w.sum(), 1.0):
        raise bad_value(name, weights, f"{k} non-negative numbers summing to 1")
    return w


def check_t(t: float, name: str = "t") -> float:
    """Validate a McCann-path position ``t`` in [0, 1]."""
    if (
        isinstance(t, bool)
        or not isinstance(t, (int, float, np.floating, np.integer))
        or not 0.0 <= float(t) <= 1.0
    ):
        raise bad_value(name, t, "a number in [0, 1] (0: original data, 1: the barycenter)")
    return float(t)


def w2_gaussian(
    m1: np.ndarray, s1: np.ndarray, m2: np.ndarray, s2: np.ndarray, squared: bool = True
) -> float:
    r"""Wasserstein-2 distance between Gaussians (the Bures-Wasserstein formula).

    .. math::
        W_2^2\big(\mathcal N(m_1, S_1), \mathcal N(m_2, S_2)\big) = \lVert m_1 - m_2 \rVert^2
            + \mathrm{tr}\big(S_1 + S_2 - 2\,(S_2^{1/2} S_1 S_2^{1/2})^{1/2}\big)

    Parameters
    ----------
    m1, m2 : (d,) arrays
    s1, s2 : (d, d) PSD arrays
    squared : return :math:`W_2^2` (default) or :math:`W_2` (POT's ``bures_wasserstein_distance``
        returns :math:`W_2`, not its square).

    Returns
    -------
    float
    """
    m1, m2 = np.atleast_1d(np.asarray(m1, float)), np.atleast_1d(np.asarray(m2, float))
    s1, s2 = np.atleast_2d(np.asarray(s1, float)), np.atleast_2d(np.asarray(s2, float))
    r2 = sqrtm_psd(s2)
    cross = sqrtm_psd(r2 @ s1 @ r2)
    val = float(np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2.0 * cross))
    val = max(val, 0.0)
    return val if squared else float(np.sqrt(val))


def gaussian_ot_map(s_from: np.ndarray, s_to: np.ndarray, rcond: float = 1e-12) -> np.ndarray:
    r"""Matrix ``A`` of the Brenier map between centred Gaussians N(0, S_from) -> N(0, S_to).

    .. math::
        A = S_0^{-1/2}\big(S_0^{1/2} S_1 S_0^{1/2}\big)^{1/2} S_0^{-1/2}

    where :math:`S_0` is ``s_from`` and :math:`S_1` is ``s_to``. ``A`` is symmetric PSD, with
    ``A S_from A = S_to`` when ``S_from`` is invertible. For singular ``S_from`` the pseudo-inverse
    square root is used (the map is then defined on the range of ``S_from``).

    Returns
    -------
    A : (d, d) array; the full map is ``x -> m_to + A (x - m_from)``.
    """
    r = sqrtm_psd(s_from)
    ri = sqrtm_psd(s_from, inverse=True, rcond=rcond)
    return _sym(ri @ sqrtm_psd(r @ s_to @ r) @ ri)


def gaussian_barycenter(
    means: np.ndarray,
    covs: np.ndarray,
    weights: np.ndarray | None = None,
    method: str = "fixed_point",
    tol: float | None = None,
    max_iter: int = 1000,
    init: np.ndarray | None = None,
    seed: int = 0,
    return_log: bool = False,
):
    r"""Wasserstein-2 barycenter of Gaussians N(m_z, S_z) with weights p_z (Agueh & Carlier 2011).

    .. math::
        \bar m = \sum_z p_z m_z, \qquad
        \bar S = \sum_z p_z \big(\bar S^{1/2} S_z \bar S^{1/2}\big)^{1/2}

    where :math:`\bar S` is the unique positive-definite solution of the fixed-point equation; it
    is the barycenter of Xu & Strohmer's feature-unlearning theorem for Gaussian groups.

    Parameters
    ----------
    means : (k, d) array
    covs : (k, d, d) array of PSD matrices
    weights : (k,) probabilities (uniform if None)
    method : {'fixed_point', 'as_coded'}
        'fixed_point' (default): the provably convergent iteration of Alvarez-Esteban et al. (2016),
        ``S <- S^{-1/2} (sum_z p_z (S^{1/2} S_z S^{1/2})^{1/2})^2 S^{-1/2}``, started from
        ``sum_z p_z S_z``; default ``tol`` 1e-10. 'as_coded': the authors' update
        ``S <- sum_z p_z (S^{1/2} S_z S^{1/2})^{1/2}`` with ``tol`` 1e-4 on the Frobenius change,
        from a seeded random start (upstream uses ``numpy.random.rand``, which is not symmetric; we
        use ``R R^T / d`` with ``R`` uniform, the nearest well-defined reading). Both have the same
        fixed point (deviations.md#xs-barycenter-iteration).
    tol : float, optional
        Stop when ``||S_new - S||_F < tol``.
    init : (d, d) array, optional
        Starting covariance (overrides the default start).
    return_log : bool
        Also return ``{'iterations', 'residual', 'converged'}``; the residual is
        ``||sum_z p_z (S^{1/2} S_z S^{1/2})^{1/2} - S||_F`` at the returned S.

    Returns
    -------
    m_bar : (d,) array; S_bar : (d, d) array[; log : dict]
    """
    if method not in BARYCENTER_METHODS:
        raise bad_value("method", method, f"one of {BARYCENTER_METHODS}")
    means = np.atleast_2d(np.asarray(means, dtype=float))
    covs = _check_psd_stack(covs)
    k, d = means.shape
    if covs.shape != (k, d, d):
        raise bad_value(
            "covs", f"an array of shape {covs.shape}", f"shape ({k}, {d}, {d}) to match means"
        )
    w = check_weights(weights, k)
    if not (isinstance(max_iter, int) and max_iter >= 1):
        raise bad_value("max_iter", max_iter, "a positive integer")
    tol = (1e-10 if method == "fixed_point" else 1e-4) if tol is None else float(tol)
    if not tol > 0:
        raise bad_value("tol", tol, "a number > 0")
    m_bar = w @ means
    if init is not None:
        s = _check_psd_stack(np.asarray(init, float)[None], "init")[0]
    elif method == "fixed_point":
        s = np.einsum("k,kij->ij", w, covs)
    else:
        r = np.random.default_rng(seed).random((d, d))
        s = r @ r.T / d

    def inner(s: np.ndarray) -> np.ndarray:
        r = sqrtm_psd(s)
        return sum(wz * sqrtm_psd(r @ cz @ r) for wz, cz in zip(w, covs))

    converged, iterations = False, 0
    for it in range(1, max_iter + 1):
        iterations = it
        t = inner(s)
        if method == "fixed_point":
            ri = sqrtm_psd(s, inverse=True)
            new = _sym(ri @ t @ t @ ri)
        else:
            new = _sym(t)
        delta = float(np.linalg.norm(new - s))
        s = new
        if delta < tol:
            converged = True
            break
    residual = float(np.linalg.norm(inner(s) - s))
    if not converged:
        warnings.warn(
            f"gaussian_barycenter({method!r}) did not converge in {max_iter} iterations (last "
            f"residual {residual:.3g})",
            RuntimeWarning,
            stacklevel=2,
        )
    if return_log:
        return m_bar, s, {"iterations": iterations, "residual": residual, "converged": converged}
    return m_bar, s


def gaussian_barycenter_cost(
    means: np.ndarray, covs: np.ndarray, weights: np.ndarray, m_bar: np.ndarray, s_bar: np.ndarray
) -> float:
    """Minimal distortion ``sum_z p_z W2^2(N(m_z, S_z), N(m_bar, S_bar))`` (the barycenter theorem's
    distortion, deviations.md#xs-barycenter-theorem)."""
    return float(sum(p * w2_gaussian(m, c, m_bar, s_bar) for p, m, c in zip(weights, means, covs)))


def mccann(x: np.ndarray, tx: np.ndarray, t: float) -> np.ndarray:
    """McCann (displacement) interpolation ``(1 - t) x + t T(x)`` (McCann 1997); shapes (n, d)."""
    t = check_t(t)
    return (1.0 - t) * np.asarray(x, float) + t * np.asarray(tx, float)


def group_weights(
    z: np.ndarray, groups: np.ndarray, weights: str | np.ndarray = "proportional"
) -> np.ndarray:
    """Barycenter weights: 'proportional' (p_z = n_z / n, the theorem's P(Z=z)), 'equal' (1/k), or
    an array."""
    if isinstance(weights, str):
        if weights == "proportional":
            counts = np.array([(z == g).sum() for g in groups], dtype=float)
            return counts / counts.sum()
        if weights == "equal":
            return np.full(len(groups), 1.0 / len(groups))
        raise bad_value(
            "weights", weights, "'proportional', 'equal' or an array of group weights summing to 1"
        )
    return check_weights(weights, len(groups))
