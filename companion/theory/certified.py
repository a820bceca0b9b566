"""Accountants of Koloskova et al., *Certified Unlearning for Neural Networks* (ICML 2025).

Pure functions (NumPy/SciPy), one per formula of the paper or of the authors' code
(``stair-lab/certified-unlearning-neural-networks-icml-2025``); the closed forms of differential
privacy they rest on (hockey-stick divergence, Gaussian mechanism, Renyi -> (eps, delta), group
privacy) are in :mod:`companion.theory.privacy`.

* Gradient clipping (Theorem A, PABI): :func:`pabi_eps_r` (the general-sum shifted-Renyi bound),
  :func:`gc_sigma` (closed-form sigma), :func:`gc_steps` (the number of noisy steps T),
  :func:`gc_epsilon` (what the steps actually run certify).
* Model clipping (Theorem B): :func:`mc_radius`, :func:`mc_first_radius`, :func:`mc_delta_path`,
  :func:`mc_steps`, :func:`mc_epsilon`.
* Output perturbation: :func:`op_sigma`, :func:`op_calibrate` (the classic formula only where it
  holds, eps <= 1).
* DP-SGD with group privacy: :func:`group_privacy_budget`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..config import bad_value, finite, fraction, integer
from .model_clipping import (  # noqa: F401  (re-exported: model clipping's home is model_clipping)
    mc_delta_path,
    mc_epsilon,
    mc_first_radius,
    mc_init_delta,
    mc_radius,
    mc_steps,
)
from .privacy import (
    analytic_gaussian_sigma,
    gaussian_epsilon,
    rdp_to_dp,
)

SCHEDULES = ("constant", "decreasing")
OP_CALIBRATIONS = ("classic", "analytic")


def _contraction(gamma: float, lam: float) -> float:
    if gamma * lam >= 1:
        raise bad_value(
            "gamma*lam",
            gamma * lam,
            "a product gamma * lambda < 1 (the weight-decay contraction 1 - gamma*lambda must be "
            "positive)",
        )
    return 1.0 - gamma * lam


# --------------------------------------------------------------------------------------------
# Gradient clipping: the shifted-Renyi (PABI) accountant (Theorem A)
# --------------------------------------------------------------------------------------------


def pabi_eps_r(
    c0: float, c1: float, gamma: float, lam: float, sigma: float | Sequence[float], steps: int
) -> float:
    r"""The Renyi bound of T noisy clipped-gradient steps (gradient clipping; the general-sum form
    the authors' code computes, deviations.md#cert-pabi-bound).

    .. math::
        \varepsilon_R = \frac{1}{2}\,
            \frac{\big[\rho^T\, 2C_0 + \sum_{t=0}^{T-1} \rho^{T-1-t}\, 2\gamma C_1\big]^2}
                 {\sum_{t=0}^{T-1} \rho^{2(T-1-t)}\, \sigma_t^2}

    where

    - :math:`\rho = 1 - \gamma\lambda` is the contraction of one step with weight decay;
    - the Renyi divergence of order :math:`\alpha` between the two chains (started from A(D) and
      A(D minus D_f), both clipped to C0) is at most :math:`\alpha\,\varepsilon_R`.

    Parameters
    ----------
    c0, c1 : float
        Model clipping radius at the start and the gradient clipping norm (> 0).
    gamma, lam : float
        Step size (> 0) and weight decay (>= 0, gamma*lam < 1).
    sigma : float or sequence of T floats
        Per-coordinate noise standard deviation of each step (> 0).
    steps : int
        Number of noisy steps T (>= 1).
    """
    c0, c1, gamma = finite("c0", c0), finite("c1", c1), finite("gamma", gamma)
    lam = finite("lam", lam, allow_zero=True)
    T = integer("steps", steps, 1)
    rho = _contraction(gamma, lam)
    sig = np.broadcast_to(np.asarray(sigma, float), (T,))
    if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
        raise bad_value("sigma", sigma, "a positive number or T positive numbers")
    powers = rho ** (T - 1 - np.arange(T))  # prod_{k>t} rho_k
    shift = rho**T * 2 * c0 + np.sum(powers * 2 * gamma * c1)
    return float(0.5 * shift**2 / np.sum(powers**2 * sig**2))


def gc_sigma(
    eps_r: float,
    steps: int,
    gamma: float,
    lam: float,
    c0: float,
    c1: float,
    as_coded: bool = False,
    schedule: str = "constant",
) -> float | np.ndarray:
    """Noise for a target Renyi bound eps_R after T steps: the closed forms of the authors' code.

    lambda > 0, c = (1 - gamma lambda)^T: sigma^2 = [2 C0 c + (2 C1/lambda)(1 - c)]^2 gamma lambda
    (2 - gamma lambda) / (2 eps_R (1 - c^2)). lambda = 0: sigma^2 = (2 C0 + 2 gamma C1 T)^2 / (2
    eps_R T); ``as_coded=True`` reproduces the authors' 4 eps_R T (sqrt 2 too little noise;
    deviations.md#cert-lambda-zero). ``schedule='decreasing'`` returns the T per-step values
    sigma_t^2 = [2 C0 c + (2 C1/lambda)(1 - c)]^2 / (2 eps_R T rho^(2(T-t-1))) (lambda > 0 only).
    """
    eps_r = finite("eps_r", eps_r)
    T = integer("steps", steps, 1)
    gamma, c0, c1 = finite("gamma", gamma), finite("c0", c0), finite("c1", c1)
    lam = finite("lam", lam, allow_zero=True)
    if schedule not in SCHEDULES:
        raise bad_value("schedule", schedule, f"one of {SCHEDULES}")
    if lam == 0:
        if schedule == "decreasing":
            raise bad_value(
                "schedule",
                schedule,
                "'constant' when lam = 0 (the decreasing schedule needs weight decay)",
            )
        return math.sqrt((2 * c0 + 2 * gamma * c1 * T) ** 2 / ((4 if as_coded else 2) * eps_r * T))
    rho = _contraction(gamma, lam)
    c = rho**T
    shift = 2 * c0 * c + (2 * c1 / lam) * (1 - c)
    if schedule == "decreasing":
        t = np.arange(T)
        return np.sqrt(shift**2 / (2 * eps_r * T * rho ** (2 * (T - t - 1))))
    return math.sqrt(shift**2 * gamma * lam * (2 - gamma * lam) / (2 * eps_r * (1 - c**2)))


def gc_steps(c0: float, c1: float, gamma: float, lam: float) -> int:
    """Number of noisy steps T of gradient clipping (the rule of the authors' code).

    T = ceil(C0 / (gamma C1)), the minimiser of the lambda = 0 noise (2 C0 + 2 gamma C1 T)^2 / T;
    with lambda > 0, T' = ceil(log(2 lambda C0 / C1) / (gamma lambda)) replaces it when positive
    and smaller. A relative tolerance of 1e-9 absorbs floating-point error before the ceiling.
    """
    c0, c1, gamma = finite("c0", c0), finite("c1", c1), finite("gamma", gamma)
    lam = finite("lam", lam, allow_zero=True)

    def ceil(x: float) -> int:
        return math.ceil(x - 1e-9 * max(1.0, abs(x)))

    T = max(1, ceil(c0 / (gamma * c1)))
    if lam > 0 and 2 * lam * c0 / c1 > 0:
        t2 = ceil(math.log(2 * lam * c0 / c1) / (gamma * lam))
        if 0 < t2 < T:
            T = t2
    return T


def gc_epsilon(
    c0: float,
    c1: float,
    gamma: float,
    lam: float,
    sigma: float | Sequence[float],
    steps: int,
    delta: float,
) -> tuple[float, float]:
    """(eps, eps_R) that ``steps`` noisy steps of gradient clipping certify at ``delta``.

    The general-sum bound :func:`pabi_eps_r` over the steps actually run (the first ``steps``
    values of a schedule), converted with the alpha-dependent :func:`rdp_to_dp`. A run cut short of
    its planned T certifies this, not the planned eps; ``steps = 0`` certifies nothing (inf, inf).
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise bad_value("steps", steps, "an integer >= 0")
    fraction("delta", delta)
    if steps == 0:
        return math.inf, math.inf
    sig = np.asarray(sigma, float)
    if sig.ndim:
        if len(sig) < steps:
            raise bad_value("sigma", f"{len(sig)} values", f"at least steps={steps} values")
        sig = sig[: int(steps)]
    eps_r = pabi_eps_r(c0, c1, gamma, lam, sig if sig.ndim else float(sig), int(steps))
    return rdp_to_dp(eps_r, delta)[0], eps_r


# --------------------------------------------------------------------------------------------
# Output perturbation (the paper's baseline; the Gaussian mechanism with sensitivity 2 C0)
# --------------------------------------------------------------------------------------------


#: The classic Gaussian mechanism (Dwork & Roth, Thm. A.1) is proved for eps < 1; the paper runs it
#: at eps = 1, where its noise certifies 0.751 exactly. Above this value :func:`op_calibrate` uses
#: the analytic calibration instead (the classic noise certifies only 10.39 at a requested 10).
CLASSIC_MAX_EPSILON = 1.0


def op_sigma(c0: float, epsilon: float, delta: float, calibration: str = "classic") -> float:
    """Output-perturbation noise for sensitivity 2 C0: the formula, wherever it is valid or not.

    ``'classic'`` (as coded): sigma = sqrt(2 ln(1.25/delta)) 2 C0 / eps (Dwork & Roth, Thm. A.1;
    proved for eps < 1, too little noise above eps ~ 8.4). ``'analytic'``: the exact Gaussian
    mechanism, :func:`analytic_gaussian_sigma`. The method uses :func:`op_calibrate`, which never
    applies the classic formula outside its range.
    """
    c0, eps, delta = finite("c0", c0), finite("epsilon", epsilon), fraction("delta", delta)
    if calibration not in OP_CALIBRATIONS:
        raise bad_value("calibration", calibration, f"one of {OP_CALIBRATIONS}")
    if calibration == "classic":
        return math.sqrt(2 * math.log(1.25 / delta)) * 2 * c0 / eps
    return analytic_gaussian_sigma(2 * c0, eps, delta)


def op_calibrate(
    c0: float, epsilon: float, delta: float, calibration: str = "classic"
) -> tuple[float, str, float]:
    """The output-perturbation noise a run draws, the calibration used and the exact eps it
    certifies.

    ``'classic'`` applies the classic formula only for eps <= :data:`CLASSIC_MAX_EPSILON` and the
    analytic calibration above it (deviations.md#cert-op-calibration); ``'analytic'`` always uses
    the analytic one. Returns (sigma, calibration used, eps certified at ``delta`` by sensitivity 2
    C0 and that sigma, exactly).
    """
    c0, eps, delta = finite("c0", c0), finite("epsilon", epsilon), fraction("delta", delta)
    if calibration not in OP_CALIBRATIONS:
        raise bad_value("calibration", calibration, f"one of {OP_CALIBRATIONS}")
    used = "classic" if calibration == "classic" and eps <= CLASSIC_MAX_EPSILON else "analytic"
    sigma = op_sigma(c0, eps, delta, used)
    exact = gaussian_epsilon(2 * c0 / sigma, delta)
    # cannot happen: classic is sufficient for eps <= 1, analytic is exact
    if exact > eps * (1 + 1e-6):
        raise AssertionError(
            f"output perturbation noise {sigma} certifies only eps={exact}, not {eps}"
        )
    return sigma, used, min(exact, eps)


# --------------------------------------------------------------------------------------------
# DP-SGD with group privacy (the paper's Figure 3 baseline)
# --------------------------------------------------------------------------------------------


def group_privacy_budget(
    epsilon: float, delta: float, k: int, as_coded: bool = False
) -> tuple[float, float]:
    """Per-example budget (eps1, delta1) that group privacy over ``k`` forget points turns into
    (eps, delta).

    eps1 = eps / k and delta1 = delta / (k e^((k-1) eps1)) (correct); ``as_coded=True`` gives the
    authors' delta1 = delta e^(-(k-1) eps1), which certifies only k * delta
    (deviations.md#cert-group-delta).
    """
    eps, delta, k = finite("epsilon", epsilon), fraction("delta", delta), integer("k", k, 1)
    eps1 = eps / k
    d1 = delta * math.exp(-(k - 1) * eps1)
    return eps1, (d1 if as_coded else d1 / k)
