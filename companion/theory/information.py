"""Information measures for Xu & Strohmer's marginal data-point unlearning (arXiv 2502.05684).

Everything is in nats (natural logarithms):

* exact quantities for discrete variables: :func:`entropy`, :func:`binary_entropy`,
  :func:`kl_divergence`, :func:`mutual_information` (from a joint table) and
  :func:`mi_from_conditionals` (``I(Y; Z) = sum_z pi_z KL(P_{Y|Z=z} || P_Y)``);
* the paper's plug-in "softmax averaging" estimator :func:`mi_softmax_plugin` and its batch
  construction :func:`marginal_batch` / :func:`marginal_mi`, as the authors' MNIST code
  (``Data_Unlearning_MNIST_Plot.py``, xushizhou/Machine_Unlearn_via_Info_Reg, ca32703) computes them
  (deviations.md#xs-mi-estimator), and the population value of that construction
  :func:`marginal_mi_population` (deviations.md#xs-mi-population);
* the guarantee: bounds on any detector's advantage and accuracy given ``I(S'; Z)``
  (:func:`tv_bound`, :func:`detection_accuracy_bound`, :func:`fano_accuracy_bound`), next to the
  exact Bayes quantities they bound (:func:`total_variation`, :func:`bayes_accuracy`). The statement
  is reconstructed from standard inequalities (deviations.md#xs-mi-guarantee); the paper's exact
  proposition has not been seen;
* estimator bias studies: :func:`plugin_mi_hard_labels`, :func:`bootstrap_marginal_mi` and the
  Miller-Madow first-order bias :func:`miller_madow_bias`.
"""

from __future__ import annotations

import math

import numpy as np

from ..config import bad_value
from .mi_estimators import (  # noqa: F401  (re-exported: the estimators' home is mi_estimators)
    FORMULATIONS,
    bootstrap_marginal_mi,
    marginal_batch,
    marginal_mi,
    mi_softmax_plugin,
    miller_madow_bias,
)

TV_FORMS = ("tight", "triangle")


# --------------------------------------------------------------------------------------------
# Exact discrete measures (numpy, float64)
# --------------------------------------------------------------------------------------------


def _prob(p: np.ndarray | list, name: str, axis: int = -1) -> np.ndarray:
    a = np.asarray(p, dtype=np.float64)
    if a.size == 0 or not np.all(np.isfinite(a)) or np.any(a < 0):
        raise bad_value(
            name,
            "an array with negative, non-finite or no entries",
            "non-negative finite probabilities",
        )
    if not np.allclose(a.sum(axis=axis), 1.0, atol=1e-6):
        raise bad_value(
            name, f"an array whose entries sum to {a.sum(axis=axis)}", "probabilities summing to 1"
        )
    return a


def entropy(p: np.ndarray | list, axis: int = -1) -> np.ndarray | float:
    """Shannon entropy ``H(p) = -sum_c p_c ln p_c`` in nats, with ``0 ln 0 = 0``.

    Parameters
    ----------
    p : array (..., C)
        Probability vectors along ``axis``.
    """
    a = _prob(p, "p", axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(a > 0, -a * np.log(a), 0.0)
    return terms.sum(axis=axis)


def binary_entropy(q: np.ndarray | float) -> np.ndarray | float:
    """``h(q) = -q ln q - (1 - q) ln(1 - q)`` in nats, elementwise, for ``q`` in [0, 1]."""
    q = np.asarray(q, dtype=np.float64)
    if np.any((q < 0) | (q > 1)) or not np.all(np.isfinite(q)):
        raise bad_value("q", q, "numbers in [0, 1]")
    with np.errstate(divide="ignore", invalid="ignore"):
        h = np.where((q > 0) & (q < 1), -q * np.log(q) - (1 - q) * np.log1p(-q), 0.0)
    return h if h.ndim else float(h)


def inverse_binary_entropy(h: np.ndarray | float, iters: int = 60) -> np.ndarray | float:
    """The ``q`` in [0, 1/2] with ``h(q) = h`` (vectorised bisection; ``h`` in [0, ln 2])."""
    h = np.asarray(h, dtype=np.float64)
    if np.any((h < -1e-12) | (h > math.log(2) + 1e-12)) or not np.all(np.isfinite(h)):
        raise bad_value("h", h, "entropies in [0, ln 2]")
    h = np.clip(h, 0.0, math.log(2))
    lo, hi = np.zeros_like(h), np.full_like(h, 0.5)
    for _ in range(iters):
        mid = (lo + hi) / 2  # in (0, 1/2): the unchecked formula is safe
        below = -mid * np.log(mid) - (1 - mid) * np.log1p(-mid) < h
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    q = (lo + hi) / 2
    return q if q.ndim else float(q)


def kl_divergence(p: np.ndarray | list, q: np.ndarray | list, axis: int = -1) -> np.ndarray | float:
    """``KL(p || q) = sum_c p_c ln(p_c / q_c)`` in nats (``inf`` where ``q_c = 0 < p_c``)."""
    a, b = _prob(p, "p", axis), _prob(q, "q", axis)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(a > 0, a * (np.log(a) - np.log(b)), 0.0)
    return terms.sum(axis=axis)


def mutual_information(joint: np.ndarray | list) -> float:
    """Exact ``I(Y; Z)`` of a discrete joint table ``joint[y, z]`` (entries sum to 1), in nats.

    ``I = sum_{y,z} p(y,z) ln(p(y,z) / (p(y) p(z)))``.
    """
    j = np.asarray(joint, dtype=np.float64)
    if j.ndim != 2:
        raise bad_value("joint", f"an array of shape {j.shape}", "a 2-D joint probability table")
    j = _prob(j.ravel(), "joint").reshape(j.shape)
    py, pz = j.sum(1, keepdims=True), j.sum(0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(j > 0, j * (np.log(j) - np.log(py) - np.log(pz)), 0.0)
    return float(max(terms.sum(), 0.0))


def mi_from_conditionals(cond: np.ndarray | list, prior: np.ndarray | list) -> float:
    """``I(Y; Z) = sum_z pi_z KL(P_{Y|Z=z} || P_Y)`` with ``P_Y = sum_z pi_z P_{Y|Z=z}``.

    Parameters
    ----------
    cond : array (K, C)
        Row ``z`` is the law of the output ``Y`` given ``Z = z``.
    prior : array (K,)
        ``pi_z = P(Z = z)``.
    """
    c = _prob(cond, "cond", axis=-1)
    pi = _prob(prior, "prior")
    if c.ndim != 2 or c.shape[0] != pi.shape[0]:
        raise bad_value(
            "cond", f"shape {c.shape}", f"a ({pi.shape[0]}, C) table of conditional laws"
        )
    return mutual_information((c * pi[:, None]).T)


def total_variation(p: np.ndarray | list, q: np.ndarray | list) -> float:
    """``TV(p, q) = (1/2) sum_c |p_c - q_c|``."""
    return float(0.5 * np.abs(_prob(p, "p") - _prob(q, "q")).sum())


def bayes_accuracy(cond: np.ndarray | list, prior: np.ndarray | list) -> float:
    """Accuracy of the best test guessing ``Z`` from ``Y``: ``sum_y max_z pi_z P(y | z)``."""
    c = _prob(cond, "cond", axis=-1)
    pi = _prob(prior, "prior")
    return float((c * pi[:, None]).max(0).sum())


# --------------------------------------------------------------------------------------------
# The guarantee: I(S'; Z) bounds every membership test
# [reconstructed; deviations.md#xs-mi-guarantee]
# --------------------------------------------------------------------------------------------


def _check_mi_prior(mi: np.ndarray | float, prior0: float) -> tuple[np.ndarray, float, float]:
    m = np.asarray(mi, dtype=np.float64)
    if np.any(m < 0) or not np.all(np.isfinite(m)):
        raise bad_value("mi", mi, "non-negative finite mutual informations (nats)")
    if not (isinstance(prior0, (int, float)) and 0 < prior0 < 1):
        raise bad_value("prior0", prior0, "a probability P(Z = 0) in (0, 1)")
    return m, float(prior0), 1.0 - float(prior0)


def tv_bound(
    mi: np.ndarray | float, prior0: float = 0.5, form: str = "tight"
) -> np.ndarray | float:
    """Upper bound on ``TV(P_{S'|Z=0}, P_{S'|Z=1})`` given ``I(S'; Z) = mi`` and
    ``P(Z=0) = prior0``.

    ``form='triangle'`` is the reconstructed statement (deviations.md#xs-mi-guarantee): Pinsker on
    each ``KL(P_z || P) <= I / pi_z`` plus the triangle inequality,
    ``TV <= sqrt(I / (2 pi_0)) + sqrt(I / (2 pi_1))``. ``form='tight'`` (default) uses that
    ``P - P_0 = pi_1 (P_1 - P_0)`` makes the triangle an equality,
    ``TV = TV(P_0, P) + TV(P_1, P) <= sqrt(KL_0 / 2) + sqrt(KL_1 / 2)``, and Cauchy-Schwarz under
    ``pi_0 KL_0 + pi_1 KL_1 = I`` gives ``TV <= sqrt(I / (2 pi_0 pi_1))`` (our sharper constant).
    Both are clipped at 1. Any membership test's advantage ``TPR - FPR`` is at most this TV.
    """
    if form not in TV_FORMS:
        raise bad_value("form", form, f"one of {TV_FORMS}")
    m, p0, p1 = _check_mi_prior(mi, prior0)
    if form == "tight":
        b = np.sqrt(m / (2 * p0 * p1))
    else:
        b = np.sqrt(m / (2 * p0)) + np.sqrt(m / (2 * p1))
    b = np.minimum(b, 1.0)
    return b if b.ndim else float(b)


def detection_accuracy_bound(
    mi: np.ndarray | float, prior0: float = 0.5, form: str = "tight"
) -> np.ndarray | float:
    """Equal-prior accuracy of any test telling ``Z = 0`` from ``Z = 1``: at most ``1/2 + TV/2``.

    ``mi`` is ``I(S'; Z)`` measured with ``P(Z = 0) = prior0`` (the TV bound depends on it).
    """
    return 0.5 + 0.5 * tv_bound(mi, prior0, form)


def fano_accuracy_bound(mi: np.ndarray | float, prior0: float = 0.5) -> np.ndarray | float:
    """Bayes accuracy with prior ``(prior0, 1 - prior0)`` is at most ``1 - h^{-1}(H(Z) - I)``.

    Binary Fano: the error ``P_e`` of any estimate of ``Z`` from ``S'`` obeys
    ``h(P_e) >= H(Z | S') = H(Z) - I(S'; Z)`` and ``P_e <= 1/2`` [analysis].
    """
    m, p0, _ = _check_mi_prior(mi, prior0)
    hz = binary_entropy(p0)
    if np.any(m > hz + 1e-9):
        raise bad_value("mi", mi, f"values <= H(Z) = {hz:.6f} nats")
    b = 1.0 - np.asarray(inverse_binary_entropy(np.clip(hz - m, 0.0, math.log(2))))
    return b if b.ndim else float(b)


# --------------------------------------------------------------------------------------------
# The population value of the paper's construction (the estimators: companion.theory.mi_estimators)
# --------------------------------------------------------------------------------------------


def marginal_mi_population(
    mean_r: np.ndarray | list, mean_u: np.ndarray | list, n_r: int = 64, n_u: int = 16
) -> float:
    """Population value of the paper's construction (deviations.md#xs-mi-population) given the mean
    softmax outputs.

    Group 0 has law ``m0 = (n_r m_r + n_u m_u) / (n_r + n_u)``, group 1 law ``m_r``, priors
    ``((n_r + n_u), n_r) / (2 n_r + n_u)``. It is 0 iff ``m_u = m_r``: the penalty pulls the
    unlearn-set predictions towards the retain set's class marginal.
    """
    if n_r < 1 or n_u < 1:
        raise bad_value("n_r/n_u", (n_r, n_u), "positive batch sizes")
    mr, mu = _prob(mean_r, "mean_r"), _prob(mean_u, "mean_u")
    m0 = (n_r * mr + n_u * mu) / (n_r + n_u)
    n = 2 * n_r + n_u
    return mi_from_conditionals(np.stack([m0, mr]), np.array([(n_r + n_u) / n, n_r / n]))


# --------------------------------------------------------------------------------------------
# The hard-label plug-in estimator's bias
# --------------------------------------------------------------------------------------------


def plugin_mi_hard_labels(
    cond: np.ndarray | list, n0: int, n1: int, n_rep: int = 1000, seed: int = 0
) -> np.ndarray:
    """Plug-in ``I_hat`` on ``n_rep`` samples with fixed group sizes and one-hot (hard) outputs.

    Outputs ``Y | Z = z`` are drawn from ``cond[z]``; with one-hot "softmax" rows the plug-in
    estimator is the classical empirical MI, whose bias is about :func:`miller_madow_bias`.

    Parameters
    ----------
    cond : array (2, C)
    n0, n1 : int
        Group sizes.

    Returns
    -------
    array (n_rep,) of estimates in nats (float64).
    """
    c = _prob(cond, "cond", axis=-1)
    if c.shape[0] != 2:
        raise bad_value("cond", f"shape {c.shape}", "a (2, C) table")
    if n0 < 1 or n1 < 1 or n_rep < 1:
        raise bad_value("n0/n1/n_rep", (n0, n1, n_rep), "positive integers")
    rng = np.random.default_rng(seed)
    # (R, 2, C)
    counts = np.stack(
        [rng.multinomial(n0, c[0], size=n_rep), rng.multinomial(n1, c[1], size=n_rep)], 1
    )
    n = n0 + n1
    j = counts / n
    pz = np.array([n0, n1]) / n
    py = j.sum(1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(j > 0, j * (np.log(j) - np.log(py) - np.log(pz)[None, :, None]), 0.0)
    return terms.sum((1, 2))
