"""Closed forms of differential privacy that the certified-unlearning accountants rest on.

Pure functions (NumPy/SciPy):

* the hockey-stick divergence E_{e^eps}(P || Q): between two probability vectors
  (:func:`hockey_stick`), between two Gaussians by quadrature (:func:`hockey_stick_gaussians`, an
  independent check of the closed forms), and before and after the "project, then add noise" kernel
  in one dimension (:func:`projected_gaussian_kernel_1d`);
* the Gaussian mechanism: its privacy profile :func:`gaussian_delta` (Balle & Wang 2018, Thm. 8),
  which is the contraction function theta_eps(r) of Koloskova et al.'s Theorem B
  (:func:`hockey_stick_theta`), its exact eps (:func:`gaussian_epsilon`) and its exact noise
  (:func:`analytic_gaussian_sigma`);
* Renyi -> (eps, delta): :func:`rdp_to_dp` with ``conversion='alpha_dependent'`` (correct for a
  bound alpha * eps_R) or ``'as_coded'`` (the authors' constant-in-alpha bound), and its inverse
  :func:`required_eps_r`;
* group privacy (:func:`group_privacy`).

The accountants of the paper's methods are in :mod:`companion.theory.certified`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize, stats

from ..config import bad_value, finite, fraction, integer, real

CONVERSIONS = ("alpha_dependent", "as_coded")
#: The authors' grid of Renyi orders for the RDP -> DP conversion
#: (deviations.md#cert-rdp-conversion).
CODED_ALPHAS = np.linspace(1.001, 1000.0, 10_000)


# --------------------------------------------------------------------------------------------
# Hockey-stick divergence and the Gaussian mechanism
# --------------------------------------------------------------------------------------------


def gaussian_delta(epsilon: float, mu: float) -> float:
    r"""Privacy profile of the Gaussian mechanism.

    .. math::
        \delta(\varepsilon) = \Phi\Big(-\frac{\varepsilon}{\mu} + \frac{\mu}{2}\Big)
            - e^{\varepsilon}\,\Phi\Big(-\frac{\varepsilon}{\mu} - \frac{\mu}{2}\Big)
            = E_{e^\varepsilon}\big(\mathcal N(\mu, 1)\,\|\,\mathcal N(0, 1)\big)

    where

    - :math:`\mu` is the sensitivity divided by the noise standard deviation;
    - :math:`\Phi` is the standard normal CDF and :math:`E_{e^\varepsilon}` the hockey-stick
      divergence.

    Parameters
    ----------
    epsilon : float
        eps >= 0.
    mu : float
        Sensitivity divided by the noise standard deviation, >= 0 (mu = 0 gives delta = 0).

    Returns
    -------
    float
        delta in [0, 1].

    References
    ----------
    Balle & Wang, "Improving the Gaussian mechanism for differential privacy", ICML 2018, Theorem 8.
    """
    eps = finite("epsilon", epsilon, allow_zero=True)
    mu = finite("mu", mu, allow_zero=True)
    if mu == 0:
        return 0.0
    a = stats.norm.cdf(-eps / mu + mu / 2)
    b = math.exp(eps + stats.norm.logcdf(-eps / mu - mu / 2))
    return float(max(a - b, 0.0))


def hockey_stick_theta(epsilon: float, r: float) -> float:
    r"""The contraction function of model clipping's accountant.

    .. math::
        \theta_\varepsilon(r) = \bar\Phi\Big(\frac{\varepsilon}{r} - \frac{r}{2}\Big)
            - e^{\varepsilon}\,\bar\Phi\Big(\frac{\varepsilon}{r} + \frac{r}{2}\Big)

    where

    - :math:`r` is the diameter of the projection ball divided by the noise standard deviation;
    - :math:`\bar\Phi` is the standard normal survival function.

    It is the :math:`E_{e^\varepsilon}` contraction coefficient of the kernel "project onto a ball
    of diameter ``r * sigma``, then add N(0, sigma^2 I)": the largest hockey-stick divergence
    between two of its outputs, and equals :func:`gaussian_delta` at ``mu = r``. Computed with the
    survival function in log space (stable for large eps/r).

    Returns
    -------
    float
        theta in [0, 1].

    References
    ----------
    Koloskova et al., "Certified unlearning for neural networks", ICML 2025, the model-clipping
    theorem (book: the chapter "Model clipping").
    """
    eps = finite("epsilon", epsilon, allow_zero=True)
    r = finite("r", r, allow_zero=True)
    if r == 0:
        return 0.0
    a = stats.norm.sf(eps / r - r / 2)
    b = math.exp(eps + stats.norm.logsf(eps / r + r / 2))
    return float(max(a - b, 0.0))


def hockey_stick_gaussians(
    epsilon: float, mean_p: float, mean_q: float, sigma: float = 1.0
) -> float:
    """E_{e^eps}(N(mean_p, sigma^2) || N(mean_q, sigma^2)) = int max(p - e^eps q, 0) dx, by
    quadrature.

    An implementation independent of the closed forms above (used to check them).
    """
    eps = finite("epsilon", epsilon, allow_zero=True)
    s = finite("sigma", sigma)
    mp, mq = real("mean_p", mean_p), real("mean_q", mean_q)
    g = math.exp(eps)
    norm = 1.0 / (s * math.sqrt(2 * math.pi))

    def f(x: float) -> float:
        return max(
            norm
            * (math.exp(-0.5 * ((x - mp) / s) ** 2) - g * math.exp(-0.5 * ((x - mq) / s) ** 2)),
            0.0,
        )

    lo, hi = min(mp, mq) - 12 * s, max(mp, mq) + 12 * s
    points = [mp, mq]
    # the integrand's kink, where p = e^eps q: quadrature is inaccurate across it otherwise
    if mp != mq:
        kink = eps * s * s / (mp - mq) + (mp + mq) / 2
        if lo < kink < hi:
            points.append(kink)
    val, _ = integrate.quad(f, lo, hi, points=sorted(points), limit=400, epsabs=1e-14, epsrel=1e-12)
    return float(val)


def hockey_stick(p: np.ndarray, q: np.ndarray, epsilon: float) -> float:
    """E_{e^eps}(P || Q) = sum max(p - e^eps q, 0) for two probability vectors (shape (n,))."""
    eps = finite("epsilon", epsilon, allow_zero=True)
    p, q = np.asarray(p, float), np.asarray(q, float)
    if p.shape != q.shape:
        raise bad_value("q", q.shape, f"a probability vector of the same shape as p {p.shape}")
    return float(np.clip(p - math.exp(eps) * q, 0, None).sum())


def analytic_gaussian_sigma(sensitivity: float, epsilon: float, delta: float) -> float:
    """Smallest sigma with gaussian_delta(eps, sensitivity/sigma) <= delta (Balle & Wang 2018)."""
    s = finite("sensitivity", sensitivity)
    eps, delta = finite("epsilon", epsilon), fraction("delta", delta)
    hi = 1.0
    while gaussian_delta(eps, hi) < delta:
        hi *= 2
    mu = optimize.brentq(
        lambda m: gaussian_delta(eps, m) - delta, 1e-12, hi, xtol=1e-15, rtol=1e-13
    )
    return float(s / mu)


def gaussian_epsilon(mu: float, delta: float) -> float:
    """The exact eps a Gaussian mechanism with sensitivity/sigma = ``mu`` certifies at ``delta``
    (0 if it certifies eps = 0)."""
    mu, delta = finite("mu", mu), fraction("delta", delta)
    if gaussian_delta(0.0, mu) <= delta:
        return 0.0
    hi = 1.0
    while gaussian_delta(hi, mu) > delta:
        hi *= 2
    return float(
        optimize.brentq(lambda e: gaussian_delta(e, mu) - delta, 0.0, hi, xtol=1e-13, rtol=1e-12)
    )


# --------------------------------------------------------------------------------------------
# Renyi -> (eps, delta)
# --------------------------------------------------------------------------------------------


def _conv(alpha: np.ndarray, rdp: np.ndarray, delta: float) -> np.ndarray:
    """Balle et al. (2020) / Canonne et al. conversion at order alpha (vectorised)."""
    return rdp - (math.log(delta) + np.log(alpha)) / (alpha - 1) + np.log((alpha - 1) / alpha)


def rdp_to_dp(
    eps_r: float,
    delta: float,
    conversion: str = "alpha_dependent",
    alphas: np.ndarray | None = None,
) -> tuple[float, float]:
    """(eps, optimal alpha) certified at ``delta`` by a Renyi bound (Balle et al. 2020).

    eps = min_alpha [D(alpha) - (ln delta + ln alpha)/(alpha - 1) + ln((alpha - 1)/alpha)], with
    D(alpha) = alpha * eps_R (``'alpha_dependent'``, correct for Gaussian shifts and PABI) or
    D(alpha) = eps_R (``'as_coded'``: the authors' code, minimised over its grid
    linspace(1.001, 1000, 10^4), which gives about eps_R + 0.0036 at delta = 1e-5;
    deviations.md#cert-rdp-conversion).
    """
    eps_r = finite("eps_r", eps_r)
    delta = fraction("delta", delta)
    if conversion not in CONVERSIONS:
        raise bad_value("conversion", conversion, f"one of {CONVERSIONS}")
    if conversion == "as_coded":
        a = CODED_ALPHAS if alphas is None else np.asarray(alphas, float)
        vals = _conv(a, np.full_like(a, eps_r), delta)
        i = int(np.argmin(vals))
        return float(vals[i]), float(a[i])
    a = np.geomspace(1.0 + 1e-6, 1e6, 4001) if alphas is None else np.asarray(alphas, float)
    vals = _conv(a, a * eps_r, delta)
    i = int(np.argmin(vals))
    if alphas is not None:
        return float(vals[i]), float(a[i])
    lo, hi = a[max(i - 1, 0)], a[min(i + 1, len(a) - 1)]
    res = optimize.minimize_scalar(
        lambda x: float(_conv(np.array(x), np.array(x) * eps_r, delta)),
        bounds=(lo, hi),
        method="bounded",
        options={"xatol": 1e-10},
    )
    if res.fun < vals[i]:
        return float(res.fun), float(res.x)
    return float(vals[i]), float(a[i])


def required_eps_r(epsilon: float, delta: float, conversion: str = "alpha_dependent") -> float:
    """The Renyi bound eps_R whose conversion certifies exactly (``epsilon``, ``delta``).

    The inverse of :func:`rdp_to_dp` (monotone in eps_R), by Brent's method; e.g. 0.03056 for
    eps = 1, delta = 1e-5 with the alpha-dependent conversion.
    """
    eps = finite("epsilon", epsilon)
    delta = fraction("delta", delta)
    if conversion not in CONVERSIONS:
        raise bad_value("conversion", conversion, f"one of {CONVERSIONS}")
    floor = rdp_to_dp(1e-12, delta, conversion)[0]
    if eps <= floor:
        raise bad_value(
            "epsilon",
            epsilon,
            f"a value above {floor:.4g}, the smallest eps this conversion certifies at "
            f"delta={delta}",
        )
    hi = 1.0
    while rdp_to_dp(hi, delta, conversion)[0] < eps:
        hi *= 2
    return float(
        optimize.brentq(
            lambda x: rdp_to_dp(x, delta, conversion)[0] - eps, 1e-12, hi, xtol=1e-14, rtol=1e-12
        )
    )


# --------------------------------------------------------------------------------------------
# Group privacy and the one-dimensional check of the model-clipping kernel
# --------------------------------------------------------------------------------------------


def group_privacy(eps1: float, delta1: float, k: int) -> tuple[float, float]:
    r"""(eps, delta) for groups of ``k`` points from a per-example (eps1, delta1) guarantee.

    .. math::
        (\varepsilon, \delta) = \big(k\,\varepsilon_1,\; k\,e^{(k-1)\varepsilon_1}\,\delta_1\big)

    References
    ----------
    Dwork & Roth, "The algorithmic foundations of differential privacy", 2014, Theorem 2.2; Vadhan,
    "The complexity of differential privacy", 2017, Lemma 2.2.
    """
    eps1 = finite("eps1", eps1)
    d1 = real("delta1", delta1)
    if not 0 <= d1 < 1:
        raise bad_value("delta1", delta1, "a number in [0, 1)")
    k = integer("k", k, 1)
    return k * eps1, float(k * math.exp((k - 1) * eps1) * d1)


def projected_gaussian_kernel_1d(
    mean_p: float,
    mean_q: float,
    s: float,
    radius: float,
    sigma: float,
    epsilon: float,
    grid: int = 801,
) -> tuple[float, float]:
    """Hockey-stick divergences before and after the model-clipping kernel, in one dimension.

    P = N(mean_p, s^2) and Q = N(mean_q, s^2) are pushed through K(x) = clip(x, radius) + N(0,
    sigma^2) (projection onto [-radius, radius], then Gaussian noise). Returns (E_{e^eps}(P || Q),
    E_{e^eps}(PK || QK)); the first in closed form (:func:`gaussian_delta`), the second by
    quadrature on a grid of ``grid`` points (the projection puts atoms at +-radius). Used to check
    the contraction E(PK || QK) <= theta_{eps~}(2 radius / sigma) E(P || Q).
    """
    eps = finite("epsilon", epsilon, allow_zero=True)
    s, c, sg = finite("s", s), finite("radius", radius), finite("sigma", sigma)
    mp, mq = real("mean_p", mean_p), real("mean_q", mean_q)
    before = gaussian_delta(eps, abs(mp - mq) / s)
    x = np.linspace(-c, c, grid)
    dx = x[1] - x[0]
    y = np.linspace(-c - 12 * sg, c + 12 * sg, 3 * grid)
    dy = y[1] - y[0]
    # (len(y), len(x))
    kern = np.exp(-0.5 * ((y[:, None] - x[None, :]) / sg) ** 2) / (sg * math.sqrt(2 * math.pi))

    def pushed(m: float) -> np.ndarray:
        w = np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi)) * dx
        w[0] = stats.norm.cdf(-c, m, s)  # atom of the projection at -radius
        w[-1] = stats.norm.sf(c, m, s)  # and at +radius
        return kern @ w * dy

    return before, hockey_stick(pushed(mp), pushed(mq), eps)
