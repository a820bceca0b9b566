"""Model clipping's accountant (Koloskova et al., ICML 2025, the model-clipping theorem): the
contraction radius of each step and the delta recursion, solved for steps or for eps.
:mod:`companion.theory.certified` holds the other accountants and re-exports every name."""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from ..config import bad_value, finite, fraction, integer, real
from .privacy import hockey_stick_theta


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
