"""Certificates of certified unlearning under repeated deletion requests (Koloskova et al., ICML
2025, an open question of the companion; chapter cert/06).

Request i forgets U_i: the method runs again, from the model released after request i - 1, on the
retain set D minus (U_1 u ... u U_i). The reference of the composed release after k requests is a
procedure that never sees U_1 u ... u U_k. Pure functions (NumPy/SciPy), one per accounting:

* the method's own certificate holds for *any* start in the C0 ball (gradient clipping, Theorem A)
  or for any start at all (model clipping, delta_0 = 1), so re-running it certifies the latest
  release exactly as a single request does (``'restart'``): :func:`noise_for_requests`;
* the shifted-Renyi bound of gradient clipping also holds between chains whose clipped gradient
  oracles differ (any data), so the whole history of noisy steps is one long chain
  (``'continue'``): :func:`gc_chain_eps_r`, :func:`gc_repeated_epsilon`, :func:`gc_continue_sigma`,
  :func:`gc_continue_sigma_limit`;
* the model-clipping recursion may start request i >= 2 from the delta of one (data-agnostic) step
  instead of 1: :func:`mc_warm_steps`;
* the looser accountings a reader may reach for: Renyi composition of the k noisy phases (the joint
  history of releases, ``'joint'``: :func:`rdp_composition`, :func:`gaussian_composition`), the weak
  triangle inequality along the k requests (``'chained'``: :func:`chained_certificate`,
  :func:`chained_budget`) and group privacy over every forgotten point (``'group'``, the DP-SGD
  route of the paper's Figure 3).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from ..config import bad_value, finite, fraction, integer
from .certified import gc_sigma, gc_steps, group_privacy_budget, pabi_eps_r
from .model_clipping import mc_steps
from .privacy import hockey_stick_theta, rdp_to_dp, required_eps_r

OPTIONS = ("restart", "continue", "joint", "chained", "group")


# --------------------------------------------------------------------------------------------
# composition and the weak triangle inequality (generic)
# --------------------------------------------------------------------------------------------


def rdp_composition(eps_r: Sequence[float]) -> float:
    r"""Renyi bound of the adaptive composition of mechanisms with bounds :math:`\alpha\,
    \varepsilon_{R,i}`: :math:`\alpha \sum_i \varepsilon_{R,i}` (Mironov 2017, Proposition 1).

    Parameters
    ----------
    eps_r : sequence of k floats
        The per-mechanism bounds eps_R,i > 0.

    Returns
    -------
    float
        sum_i eps_R,i, the composed eps_R (convert with
        :func:`companion.theory.privacy.rdp_to_dp`).
    """
    vals = np.asarray(eps_r, dtype=float)
    if vals.ndim != 1 or vals.size == 0 or not np.all(np.isfinite(vals)) or np.any(vals <= 0):
        raise bad_value("eps_r", eps_r, "a non-empty sequence of finite numbers > 0")
    return float(vals.sum())


def gaussian_composition(mus: Sequence[float]) -> float:
    r"""The composition of Gaussian mechanisms with standardised shifts :math:`\mu_i` is exactly the
    Gaussian mechanism with :math:`\mu = \sqrt{\sum_i \mu_i^2}` (Dong, Roth & Su 2022, Corollary
    3.3, mu-GDP).

    Parameters
    ----------
    mus : sequence of k floats
        Sensitivity / noise standard deviation of each mechanism (>= 0).
    """
    vals = np.asarray(mus, dtype=float)
    if vals.ndim != 1 or vals.size == 0 or not np.all(np.isfinite(vals)) or np.any(vals < 0):
        raise bad_value("mus", mus, "a non-empty sequence of finite numbers >= 0")
    return float(math.sqrt(float(np.sum(vals**2))))


def chained_certificate(epsilon: float, delta: float, k: int) -> tuple[float, float]:
    r"""What k links of (eps, delta)-closeness give end to end (the weak triangle inequality).

    If :math:`P \approx_{(\varepsilon_1,\delta_1)} Q` and :math:`Q \approx_{(\varepsilon_2,
    \delta_2)} R` then :math:`P \approx_{(\varepsilon_1+\varepsilon_2,\,\delta_1 +
    e^{\varepsilon_1}\delta_2)} R`; k equal links give

    .. math::
        \Big(k\varepsilon,\; \delta \sum_{j=0}^{k-1} e^{j\varepsilon}\Big),

    at most the group-privacy :math:`(k\varepsilon, k e^{(k-1)\varepsilon}\delta)` of
    :func:`companion.theory.privacy.group_privacy`.
    """
    eps, delta, k = finite("epsilon", epsilon), fraction("delta", delta), integer("k", k, 1)
    return k * eps, float(delta * np.sum(np.exp(eps * np.arange(k))))


def chained_budget(epsilon: float, delta: float, k: int) -> tuple[float, float]:
    """The per-link (eps1, delta1) whose k-fold :func:`chained_certificate` is exactly (``epsilon``,
    ``delta``): eps1 = eps / k, delta1 = delta / sum_{j<k} e^(j eps1)."""
    eps, delta, k = finite("epsilon", epsilon), fraction("delta", delta), integer("k", k, 1)
    eps1 = eps / k
    return eps1, float(delta / np.sum(np.exp(eps1 * np.arange(k))))


# --------------------------------------------------------------------------------------------
# gradient clipping: the whole history as one shifted-Renyi chain
# --------------------------------------------------------------------------------------------


def _per_step_sigma(sigma: float | Sequence[float], steps: int, k: int) -> np.ndarray | float:
    sig = np.asarray(sigma, dtype=float)
    if sig.ndim == 0:
        return float(sig)
    if sig.shape != (k,):
        raise bad_value("sigma", sigma, f"one number or k={k} numbers (one per request)")
    return np.repeat(sig, steps)


def gc_chain_eps_r(
    c0: float,
    c1: float,
    gamma: float,
    lam: float,
    sigma: float | Sequence[float],
    steps: int,
    k: int,
) -> float:
    r"""The shifted-Renyi bound of k requests of gradient clipping read as one chain of k T steps.

    .. math::
        \varepsilon_R^{\mathrm{chain}}(k) = \frac12\,
            \frac{\big[\rho^{kT} 2C_0 + \sum_{t<kT}\rho^{kT-1-t}\,2\gamma C_1\big]^2}
                 {\sum_{t<kT}\rho^{2(kT-1-t)}\,\sigma_t^2}

    i.e. :func:`~companion.theory.certified.pabi_eps_r` over kT steps: the per-step inequality
    ||phi(x) - phi'(y)|| <= rho ||x - y|| + 2 gamma C1 holds whatever data each chain's clipped
    gradient comes from, and the re-clip to C0 at the start of each request is 1-Lipschitz.
    ``sigma``: one value, or one per request (each held for its T steps).
    """
    k = integer("k", k, 1)
    T = integer("steps", steps, 1)
    return pabi_eps_r(c0, c1, gamma, lam, _per_step_sigma(sigma, T, k), k * T)


def gc_repeated_epsilon(
    c0: float,
    c1: float,
    gamma: float,
    lam: float,
    sigma: float,
    steps: int,
    k: int,
    delta: float,
    reclip: bool = True,
) -> dict:
    """The certificate of the release after k requests of gradient clipping at ``delta``.

    ``reclip=True`` (the method as shipped: every request starts with x0 = clip(x, C0)): the
    smaller of the single-request bound of the last request ('restart') and the chain bound
    (:func:`gc_chain_eps_r`); ``reclip=False`` (the noisy phase continued without re-clipping): the
    chain bound only. Returns eps, eps_R, the bound used and both bounds.
    """
    k = integer("k", k, 1)
    delta = fraction("delta", delta)
    if not isinstance(reclip, (bool, np.bool_)):
        raise bad_value("reclip", reclip, "True or False")
    fresh = pabi_eps_r(c0, c1, gamma, lam, sigma, steps)
    chain = gc_chain_eps_r(c0, c1, gamma, lam, sigma, steps, k)
    if reclip and fresh < chain:
        eps_r, used = fresh, "restart"
    else:
        eps_r, used = chain, "chain"
    return {
        "epsilon": rdp_to_dp(eps_r, delta)[0],
        "eps_r": eps_r,
        "bound": used,
        "eps_r_restart": fresh,
        "eps_r_chain": chain,
    }


def gc_continue_sigma(
    eps_r: float, steps: int, gamma: float, lam: float, c0: float, c1: float, k: int
) -> float:
    """The smallest constant noise for which every release i = 1..k of the continued chain meets
    the target eps_R: max over i <= k of :func:`~companion.theory.certified.gc_sigma` at i T steps
    (k = 1: the single-request noise exactly)."""
    k = integer("k", k, 1)
    T = integer("steps", steps, 1)
    return max(float(gc_sigma(eps_r, i * T, gamma, lam, c0, c1)) for i in range(1, k + 1))


def gc_continue_sigma_limit(eps_r: float, gamma: float, lam: float, c1: float) -> float:
    r"""The k -> infinity limit of the chain's constant-noise calibration (lambda > 0):

    .. math::
        \sigma_\infty^2 = \Big(\frac{2C_1}{\lambda}\Big)^2\,
            \frac{\gamma\lambda(2-\gamma\lambda)}{2\,\varepsilon_R}

    (the start term rho^{kT} 2 C0 has vanished; only the per-step shifts remain).
    """
    eps_r, gamma, lam, c1 = (
        finite("eps_r", eps_r),
        finite("gamma", gamma),
        finite("lam", lam),
        finite("c1", c1),
    )
    if gamma * lam >= 1:
        raise bad_value("gamma*lam", gamma * lam, "a product gamma * lambda < 1")
    return math.sqrt((2 * c1 / lam) ** 2 * gamma * lam * (2 - gamma * lam) / (2 * eps_r))


# --------------------------------------------------------------------------------------------
# model clipping: a warm start worth one step
# --------------------------------------------------------------------------------------------


def mc_warm_steps(epsilon: float, delta: float, r: float) -> int:
    r"""Noisy steps model clipping (noise after projection) needs at request i >= 2.

    The last noisy step of request i - 1 outputs N(c, sigma^2 I) with c in the C2 ball whatever its
    data and input, so against any U_i-free reference it is (eps, theta_eps(r))-close; the re-clip
    to C0 is post-processing, and the recursion of request i may start from
    :math:`\delta_0 = \theta_\varepsilon(r)` instead of 1: T - 1 steps where a single request needs
    T (:func:`~companion.theory.model_clipping.mc_steps`).
    """
    eps, delta, r = finite("epsilon", epsilon), fraction("delta", delta), finite("r", r)
    return mc_steps(eps, delta, r, delta0=hockey_stick_theta(eps, r))


# --------------------------------------------------------------------------------------------
# the noise of each option
# --------------------------------------------------------------------------------------------


def noise_for_requests(
    option: str,
    k: int,
    epsilon: float,
    delta: float,
    c0: float,
    c1: float,
    gamma: float,
    lam: float,
    steps: int | None = None,
    per_request: int = 1,
) -> float:
    """Per-step noise sigma that gradient clipping (T steps per request) needs so that the release
    after each of k requests is (``epsilon``, ``delta``)-certified, under one accounting.

    * ``'restart'``: the method's own certificate of the last request (uniform over C0-ball starts):
      the single-request sigma for every k;
    * ``'continue'``: the chain bound of the continued noisy phase, :func:`gc_continue_sigma`;
    * ``'joint'``: the joint history of the k releases against k independent references, Renyi
      composition: eps_R / k per request (sigma grows as sqrt(k));
    * ``'chained'``: the weak triangle inequality along the k requests, :func:`chained_budget`;
    * ``'group'``: group privacy over all k * ``per_request`` forgotten points with the paper's
      per-example split (:func:`~companion.theory.certified.group_privacy_budget`).
    """
    if option not in OPTIONS:
        raise bad_value("option", option, f"one of {OPTIONS}")
    k = integer("k", k, 1)
    eps, delta = finite("epsilon", epsilon), fraction("delta", delta)
    m = integer("per_request", per_request, 1)
    T = gc_steps(c0, c1, gamma, lam) if steps is None else integer("steps", steps, 1)
    target = required_eps_r(eps, delta)

    def sigma_for(eps_r: float) -> float:
        return float(gc_sigma(eps_r, T, gamma, lam, c0, c1))

    if option == "restart":
        return sigma_for(target)
    if option == "continue":
        return gc_continue_sigma(target, T, gamma, lam, c0, c1, k)
    if option == "joint":
        return sigma_for(target / k)
    if option == "chained":
        return sigma_for(required_eps_r(*chained_budget(eps, delta, k)))
    return sigma_for(required_eps_r(*group_privacy_budget(eps, delta, k * m)))
