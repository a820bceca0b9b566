"""Population values of the leakage measures of :mod:`companion.theory.leakage` on the Gaussian-
mixture toy of Xu & Strohmer (arXiv 2502.05684), where they are computable.

The toy's group ``Z`` is the mixture component (equal weights) and the output is the Bayes
classifier's: two classes, logits ``(L, 0)`` with ``L = ln P(y=0|x) / P(y=1|x)``. For two Gaussians
with covariance ``v I`` the log-odds given ``Z = z`` is ``N(+-s^2 / 2, s^2)``, ``s = |m_0 - m_1| /
sqrt(v)`` (:func:`companion.experiments.gmm_toy.gmm_bayes_output_mi` uses the same reduction), so
every population value is a one- or two-dimensional Gaussian integral, computed here by
Gauss-Hermite quadrature (``n_quad`` nodes; 200 nodes agree with 300 to 1e-12 for ``s <= 4``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..config import bad_value, number_in
from .leakage import chi2_mi_table, js_table, renyi_mi_table, shannon_mi_table


def _nodes(n_quad: int) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(n_quad, bool) or not isinstance(n_quad, int) or not 2 <= n_quad <= 300:
        # numpy's Hermite weights overflow beyond about 370 nodes
        raise bad_value("n_quad", n_quad, "an integer in [2, 300]")
    x, w = np.polynomial.hermite_e.hermegauss(n_quad)
    return x, w / w.sum()


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(a / 2))


def toy_logits(
    separation: float, n_per_group: int, n_rep: int, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n_rep`` independent samples of the toy's Bayes outputs, ``n_per_group`` rows per group.

    Returns logits (n_rep, 2 n, 2) float64 (rows ``(L, 0)``) and z (2 n,) with ``z = 0`` first.
    """
    number_in("separation", separation, 0.0)
    for name, v in (("n_per_group", n_per_group), ("n_rep", n_rep)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise bad_value(name, v, "a positive integer")
    s = float(separation)
    gen = torch.Generator().manual_seed(seed)
    mu = torch.tensor([s * s / 2, -s * s / 2], dtype=torch.float64).repeat_interleave(n_per_group)
    lo = mu + s * torch.randn(n_rep, 2 * n_per_group, generator=gen, dtype=torch.float64)
    z = torch.arange(2).repeat_interleave(n_per_group)
    return torch.stack([lo, torch.zeros_like(lo)], -1), z


def toy_output_mi(separation: float, n_quad: int = 200) -> float:
    """``I(L; Z)``: the information the (continuous) Bayes output carries about the component.

    Since ``sigmoid(L) = P(Z = 0 | L)`` exactly, ``I = ln 2 - E[h(sigmoid(L))]``, and ``h`` is
    symmetric, so one group's expectation suffices. The target of the kNN and InfoNCE estimators.
    """
    number_in("separation", separation, 0.0)
    x, w = _nodes(n_quad)
    s = float(separation)
    q = np.clip(_sigmoid(s * s / 2 + s * x), 1e-300, 1 - 1e-16)
    h = -q * np.log(q) - (1 - q) * np.log1p(-q)
    return float(math.log(2) - w @ h)


def toy_soft_table(separation: float, tau: float = 1.0, n_quad: int = 200) -> np.ndarray:
    """The groups' mean softmax outputs (2, 2) of ``softmax((L, 0) / tau)``: the population of the
    plug-in family (``tau = 1``: the paper's estimator; ``tau -> 0``: the hard labels)."""
    number_in("separation", separation, 0.0)
    number_in("tau", tau, 0.0)
    x, w = _nodes(n_quad)
    s = float(separation)
    a = [float(w @ _sigmoid((mu + s * x) / tau)) for mu in (s * s / 2, -s * s / 2)]
    return np.array([[a[0], 1 - a[0]], [a[1], 1 - a[1]]])


def toy_hard_table(separation: float) -> np.ndarray:
    """Law of the arg-max label given the group (2, 2): ``P(L > 0 | Z = 0) = Phi(s / 2)``."""
    number_in("separation", separation, 0.0)
    c = 0.5 * (1 + math.erf(float(separation) / 2 / math.sqrt(2)))
    return np.array([[c, 1 - c], [1 - c, c]])


def toy_mmd2(separation: float, bandwidth: float = 0.5, n_quad: int = 200) -> float:
    """Population ``MMD^2`` of :func:`companion.theory.leakage.mmd2` between the groups' softmax
    outputs ``(p, 1 - p)``, ``p = sigmoid(L)``: a two-dimensional Gauss-Hermite integral with
    ``|u - v|^2 = 2 (p_u - p_v)^2``."""
    number_in("separation", separation, 0.0)
    number_in("bandwidth", bandwidth, 0.0)
    x, w = _nodes(n_quad)
    s = float(separation)
    p = [_sigmoid(mu + s * x) for mu in (s * s / 2, -s * s / 2)]

    def ek(a: np.ndarray, b: np.ndarray) -> float:
        k = np.exp(-2 * (a[:, None] - b[None, :]) ** 2 / (2 * bandwidth**2))
        return float(w @ k @ w)

    return ek(p[0], p[0]) + ek(p[1], p[1]) - 2 * ek(p[0], p[1])


def toy_populations(
    separation: float, alpha: float = 2.0, bandwidth: float = 0.5, tau: float = 0.25
) -> dict[str, float]:
    """Every population value of the toy (equal group shares), keyed by measure:

    ``output_mi`` (I(L; Z)), ``shannon`` (the paper's plug-in), ``sharp`` (plug-in at ``tau``),
    ``hard`` (arg-max labels), ``renyi`` (order ``alpha``), ``chi2``, ``js`` and ``mmd2``.
    """
    half = torch.tensor([0.5, 0.5], dtype=torch.float64)
    soft = torch.as_tensor(toy_soft_table(separation))

    def f(fn, table, *a) -> float:
        return float(fn(torch.as_tensor(table), half, *a))

    return {
        "output_mi": toy_output_mi(separation),
        "shannon": f(shannon_mi_table, soft),
        "sharp": f(shannon_mi_table, toy_soft_table(separation, tau)),
        "hard": f(shannon_mi_table, toy_hard_table(separation)),
        "renyi": f(renyi_mi_table, soft, alpha),
        "chi2": f(chi2_mi_table, soft),
        "js": f(js_table, soft),
        "mmd2": toy_mmd2(separation, bandwidth),
    }
