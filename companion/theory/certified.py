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
from scipy import optimize

from ..config import bad_value, finite, fraction, integer, real
from .privacy import (
    analytic_gaussian_sigma,
    gaussian_epsilon,
    hockey_stick_theta,
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
# Model clipping: the delta recursion (Theorem B)
# --------------------------------------------------------------------------------------------


def mc_radius(c2: float, sigma: float, gamma: float = 0.0, c1: float | None = None) -> float:
    """r of the contraction from the second step on: 2 C2 / sigma (noise after projection, no
    gradient clipping) or 2 (C2 + gamma C1) / sigma (gradient clipping, noise before projection).

    The first step of the variant with gradient clipping starts from x_0 in the C0 ball, not the
    C2 ball: its radius is :func:`mc_first_radius`.
    """
    c2, sigma = finite("c2", c2), finite("sigma", sigma)
    if c1 is None:
        return 2 * c2 / sigma
    return 2 * (c2 + finite("gamma", gamma, allow_zero=True) * finite("c1", c1)) / sigma


def mc_first_radius(
    c0: float,
    c2: float,
    sigma: float,
    gamma: float = 0.0,
    c1: float | None = None,
    init_sigma: float = 0.0,
) -> float:
    """r of the **first** noisy step of model clipping (may be ``inf``: no contraction at step 0).

    * Noise after projection (no ``c1``): x_1 = clip(y, C2) + xi whatever x_0 was, so r = 2 C2 /
      sigma,
      the same as every later step.
    * Noise before projection (``c1`` given): the noisy point is y + xi with y = x_0 - gamma u,
      ||u|| <= C1. From step 1 on ||x_t|| <= C2 (the previous projection), but x_0 = clip(x_hat, C0)
      lies only in the C0 ball, so the first step has r_0 = 2 (C0 + gamma C1) / sigma. With start
      noise (``init_sigma`` > 0) x_0 is unbounded and the first step contracts nothing (r_0 = inf,
      theta = 1: plain post-processing). The authors' code uses r from step 0 and so counts one
      step too few (deviations.md#cert-mc-first-radius).
    """
    c0, c2, sigma = finite("c0", c0), finite("c2", c2), finite("sigma", sigma)
    if c1 is None:
        return 2 * c2 / sigma
    if finite("init_sigma", init_sigma, allow_zero=True) > 0:
        return math.inf
    return 2 * (c0 + finite("gamma", gamma, allow_zero=True) * finite("c1", c1)) / sigma


def _r_first(r: float, r_first: float | None) -> float:
    if r_first is None:
        return r
    if (
        isinstance(r_first, bool)
        or not isinstance(r_first, (int, float, np.integer, np.floating))
        or math.isnan(r_first)
        or r_first <= 0
    ):
        raise bad_value("r_first", r_first, "None, a number > 0 or inf")
    return float(r_first)


def mc_delta_path(
    epsilon: float, r: float, steps: int, delta0: float = 1.0, r_first: float | None = None
) -> np.ndarray:
    r"""The model-clipping delta recursion for ``steps`` steps (Koloskova et al., model-clipping
    theorem).

    .. math::
        \tilde\varepsilon_t = \ln\Big(1 + \frac{e^{\varepsilon} - 1}{\delta_t}\Big), \qquad
        \delta_{t+1} = \theta_{\tilde\varepsilon_t}(r_t)\,\delta_t

    where

    - :math:`\theta` is the contraction of :func:`companion.theory.privacy.hockey_stick_theta`;
    - :math:`r_0` is ``r_first`` (default ``r``; see :func:`mc_first_radius`) and :math:`r_t = r`
      for :math:`t \ge 1`;
    - :math:`\delta_0` is ``delta0`` (1: the start model carries no privacy).

    Returns
    -------
    ndarray (steps, 3)
        Rows (eps~_t, theta_t, delta_{t+1}).
    """
    eps = finite("epsilon", epsilon)
    r = finite("r", r)
    r0 = _r_first(r, r_first)
    T = integer("steps", steps, 1)
    d = _delta0(delta0)
    out = np.zeros((T, 3))
    for t in range(T):
        out[t] = _mc_step(eps, r0 if t == 0 else r, d)
        d = out[t, 2]
    return out


def _delta0(delta0: float) -> float:
    d = real("delta0", delta0)
    if not 0 < d <= 1:
        raise bad_value("delta0", delta0, "a number in (0, 1]")
    return d


def _mc_step(eps: float, r: float, d: float) -> tuple[float, float, float]:
    """One step of the recursion: (eps~_t, theta_t, delta_{t+1}) from delta_t = ``d`` (r = inf:
    theta = 1)."""
    if d > 0:  # ln(1 + (e^eps - 1)/d) in log space (no overflow for tiny d)
        a = math.log(math.expm1(eps)) - math.log(d)
        et = a + math.log1p(math.exp(-a)) if a > 0 else math.log1p(math.exp(a))
    else:
        et = math.inf
    if math.isinf(r):
        th = 1.0
    else:
        th = hockey_stick_theta(et, r) if math.isfinite(et) else 0.0
    return et, th, th * d


def mc_init_delta(epsilon: float, c0: float, init_sigma: float) -> float:
    """delta_0 of model clipping: theta_eps(2 C0 / sigma_0) with start noise sigma_0 > 0, else 1."""
    if finite("init_sigma", init_sigma, allow_zero=True) == 0:
        return 1.0
    return hockey_stick_theta(finite("epsilon", epsilon), 2 * finite("c0", c0) / init_sigma)


def mc_steps(
    epsilon: float,
    delta: float,
    r: float,
    delta0: float = 1.0,
    max_steps: int = 100_000,
    r_first: float | None = None,
) -> int:
    """Noisy steps model clipping needs: the first T with delta_T <= ``delta`` (0 if delta0 already
    is).

    O(log(1/delta)) steps; e.g. T = 6 for r = 2, eps = 1, delta = 1e-5 (the settings C2 = sigma =
    0.5 of Figure 1). ``r_first``: the radius of the first step (:func:`mc_first_radius`; default
    ``r``).
    """
    eps = finite("epsilon", epsilon)
    target = fraction("delta", delta)
    r = finite("r", r)
    r0 = _r_first(r, r_first)
    d = _delta0(delta0)
    t = 0
    while d > target:
        if t >= max_steps:
            raise ValueError(
                f"model clipping does not reach delta={delta} within {max_steps} steps at r={r}: "
                f"lower C2/sigma."
            )
        d = _mc_step(eps, r0 if t == 0 else r, d)[2]
        t += 1
    return t


def mc_epsilon(
    delta: float,
    r: float,
    steps: int,
    c0: float | None = None,
    init_sigma: float = 0.0,
    r_first: float | None = None,
) -> float:
    """The smallest eps whose recursion reaches delta_T <= ``delta`` after ``steps`` noisy steps.

    The model-clipping certificate at a fixed ``delta`` (used to report partial runs on an eps
    axis). delta_0 is 1, or theta_eps(2 C0 / sigma_0) with start noise (``c0``, ``init_sigma``).
    ``steps = 0`` certifies only what the start does (inf without start noise).
    """
    target = fraction("delta", delta)
    r = finite("r", r)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise bad_value("steps", steps, "an integer >= 0")

    def reached(e: float) -> float:
        d0 = mc_init_delta(e, c0, init_sigma) if init_sigma > 0 else 1.0
        return float(mc_delta_path(e, r, int(steps), d0, r_first)[-1, 2]) if steps else d0

    if init_sigma > 0 and c0 is None:
        raise bad_value("c0", c0, "the start radius C0 (a number > 0) when init_sigma > 0")
    if steps == 0 and init_sigma <= 0:
        return math.inf
    hi = 1.0
    while reached(hi) > target:
        hi *= 2
        if hi > 1e6:
            return math.inf
    if reached(1e-12) <= target:
        return 0.0
    return float(optimize.brentq(lambda e: reached(e) - target, 1e-12, hi, xtol=1e-10, rtol=1e-10))


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
