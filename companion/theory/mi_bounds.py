"""How far the information ``I(Y; Z)`` of Xu & Strohmer's marginal construction (arXiv 2502.05684)
limits the forget accuracy: a data-processing bound, its Pinsker relaxation, and the translation to
accuracy on D_u under the paper's batch construction. Everything is in nats.

The statement (the companion's, not the paper's: the paper leaves the link between ``I_hat`` and
unlearn accuracy open) is the proposition ``xs8-prop-event`` of chapter xs/08:

* for binary ``Z`` with prior ``(pi_0, pi_1)``, any output ``Y`` and any event ``A`` with
  ``a_z = P(Y in A | Z = z)``, ``I(Y; Z) >= J(a_0, a_1) := pi_0 kl(a_0 || a) + pi_1 kl(a_1 || a)``,
  ``a = pi_0 a_0 + pi_1 a_1`` (data processing; equality when ``Y = 1_A``), and
  ``J >= 2 pi_0 pi_1 (a_0 - a_1)^2`` (Pinsker; the constant 2 cannot be raised);
* under the construction ``Z = 0``: ``n_r`` retain and ``n_u`` unlearn rows, ``Z = 1``: the retain
  rows again, the event "class k" has ``a_0 - a_1 = rho (s_u - s_r)`` with ``rho = n_u / (n_r +
  n_u)``, so the mean probability of class ``k`` on D_u is pinned near the retain set's, and the
  forget accuracy within the slack :func:`confidence_slack` of it (:func:`forget_accuracy_bound`).
"""

from __future__ import annotations

import math

import numpy as np

from ..config import bad_value

BOUND_FORMS = ("exact", "pinsker")


def _unit(x: np.ndarray | float, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if not np.all(np.isfinite(a)) or np.any((a < 0) | (a > 1)):
        raise bad_value(name, x, "probabilities in [0, 1]")
    return a


def _prior(prior0: float) -> tuple[float, float]:
    if isinstance(prior0, bool) or not isinstance(prior0, (int, float)) or not 0 < prior0 < 1:
        raise bad_value("prior0", prior0, "a probability P(Z = 0) in (0, 1)")
    return float(prior0), 1.0 - float(prior0)


def _mi(mi: np.ndarray | float) -> np.ndarray:
    m = np.asarray(mi, dtype=np.float64)
    if not np.all(np.isfinite(m)) or np.any(m < 0):
        raise bad_value("mi", mi, "non-negative finite mutual informations (nats)")
    return m


def _out(a: np.ndarray) -> np.ndarray | float:
    return a if a.ndim else float(a)


def _kl(a: np.ndarray, b: np.ndarray, b_bar: np.ndarray) -> np.ndarray:
    """``kl(a || b)`` with ``1 - b`` passed as ``b_bar`` (computed without cancellation)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(a > 0, a * (np.log(a) - np.log(b)), 0.0)
        t2 = np.where(a < 1, (1 - a) * (np.log1p(-a) - np.log(b_bar)), 0.0)
    return np.maximum(t1 + t2, 0.0)


def binary_kl(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray | float:
    """``kl(a || b) = a ln(a/b) + (1-a) ln((1-a)/(1-b))`` in nats, elementwise (``inf`` where ``b``
    is 0 or 1 and ``a`` differs)."""
    a, b = _unit(a, "a"), _unit(b, "b")
    return _out(_kl(a, b, 1 - b))


def event_mi(
    a0: np.ndarray | float, a1: np.ndarray | float, prior0: float = 0.5
) -> np.ndarray | float:
    """``J(a_0, a_1) = I(1_A; Z)``: the information an event's indicator carries about ``Z``.

    ``J = pi_0 kl(a_0 || a) + pi_1 kl(a_1 || a)`` with ``a = pi_0 a_0 + pi_1 a_1`` and ``a_z =
    P(A | Z = z)``; by data processing every output ``Y`` with those event probabilities has
    ``I(Y; Z) >= J`` (proposition xs8-prop-event, first inequality).
    """
    p0, p1 = _prior(prior0)
    a0, a1 = _unit(a0, "a0"), _unit(a1, "a1")
    m, m_bar = p0 * a0 + p1 * a1, p0 * (1 - a0) + p1 * (1 - a1)
    return _out(np.asarray(p0 * _kl(a0, m, m_bar) + p1 * _kl(a1, m, m_bar)))


def event_gap_bound(mi: np.ndarray | float, prior0: float = 0.5) -> np.ndarray | float:
    """Pinsker form of the proposition: ``|a_0 - a_1| <= sqrt(I / (2 pi_0 pi_1))``, clipped at 1."""
    p0, p1 = _prior(prior0)
    return _out(np.minimum(np.sqrt(_mi(mi) / (2 * p0 * p1)), 1.0))


def event_upper(
    mi: np.ndarray | float, a1: np.ndarray | float, prior0: float = 0.5, iters: int = 60
) -> np.ndarray | float:
    """The largest ``a_0 >= a_1`` with ``J(a_0, a_1) <= I`` (the exact form; vectorised bisection).

    ``J`` is continuous and increasing in ``a_0`` on ``[a_1, 1]`` (convex with its minimum 0 at
    ``a_0 = a_1``), so the set is an interval and bisection finds its upper end. Every output with
    ``I(Y; Z) <= mi`` and ``P(A | Z = 1) = a1`` has ``P(A | Z = 0) <= event_upper(mi, a1)``; a
    binary ``Y = 1_A`` attains it.
    """
    m = _mi(mi)
    a1 = _unit(a1, "a1")
    p0, _ = _prior(prior0)
    m, a1 = np.broadcast_arrays(m, a1)
    lo, hi = a1.copy(), np.ones_like(a1)
    ok_top = np.asarray(event_mi(hi, a1, p0)) <= m
    for _ in range(iters):
        mid = (lo + hi) / 2
        below = np.asarray(event_mi(mid, a1, p0)) <= m
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return _out(np.where(ok_top, 1.0, lo))


def construction_weights(n_r: int, n_u: int) -> tuple[float, float, float]:
    """``(pi_0, pi_1, rho)`` of the paper's batch construction.

    ``Z = 0`` holds ``n_r`` retain and ``n_u`` unlearn rows, ``Z = 1`` the ``n_r`` retain rows
    again (:func:`companion.theory.information.marginal_mi`): ``pi_0 = (n_r + n_u) / (2 n_r +
    n_u)``, ``pi_1 = n_r / (2 n_r + n_u)``, and the group-0 law of an event is ``a_1 + rho (s_u -
    s_r)`` with ``rho = n_u / (n_r + n_u)``.
    """
    for name, v in (("n_r", n_r), ("n_u", n_u)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise bad_value(name, v, "a positive integer batch size")
    n = 2 * n_r + n_u
    return (n_r + n_u) / n, n_r / n, n_u / (n_r + n_u)


def forget_accuracy_bound(
    mi: np.ndarray | float,
    s_r: np.ndarray | float,
    slack: np.ndarray | float = 0.0,
    n_r: int = 64,
    n_u: int = 16,
    form: str = "exact",
) -> np.ndarray | float:
    """Upper bound on the forget accuracy (accuracy on D_u of the forgotten class ``k``) given the
    population information ``I`` of the paper's construction.

    ``acc_u <= s_r + slack + (a_0^max - s_r) / rho`` where ``s_r`` is the retain set's mean
    probability of class ``k`` (or, with hard labels, the share of D_r predicted ``k``), ``a_0^max``
    is :func:`event_upper` (``form='exact'``) or ``s_r + sqrt(I / (2 pi_0 pi_1))``
    (``form='pinsker'``) and ``slack`` is :func:`confidence_slack` on D_u for soft outputs (0 for
    hard labels). Clipped at 1.

    Parameters
    ----------
    mi : float or array (...)
        ``I`` of the construction (nats):
        :func:`companion.theory.information.marginal_mi_population`
        of the mean outputs, or an upper bound on it such as the expected batch estimate.
    s_r, slack : float or array (...)
        Broadcast against ``mi``.
    """
    if form not in BOUND_FORMS:
        raise bad_value("form", form, f"one of {BOUND_FORMS}")
    p0, _, rho = construction_weights(n_r, n_u)
    m, s_r, slack = _mi(mi), _unit(s_r, "s_r"), _unit(slack, "slack")
    if form == "exact":
        gap = np.asarray(event_upper(m, s_r, p0)) - s_r
    else:
        gap = np.asarray(event_gap_bound(m, p0))
    return _out(np.minimum(s_r + slack + gap / rho, 1.0))


def mi_floor(
    forget_acc: np.ndarray | float,
    s_r: np.ndarray | float,
    slack: np.ndarray | float = 0.0,
    n_r: int = 64,
    n_u: int = 16,
) -> np.ndarray | float:
    """The least ``I`` of the construction compatible with a forget accuracy (exact form).

    The converse of :func:`forget_accuracy_bound`: a model whose D_u accuracy is ``forget_acc`` has
    ``I >= J(s_r + rho (forget_acc - slack - s_r), s_r)`` when ``forget_acc - slack > s_r``, else
    the bound says nothing (0).
    """
    p0, _, rho = construction_weights(n_r, n_u)
    acc, s_r, slack = _unit(forget_acc, "forget_acc"), _unit(s_r, "s_r"), _unit(slack, "slack")
    d = np.maximum(acc - slack - s_r, 0.0)
    return _out(np.asarray(event_mi(s_r + rho * d, s_r, p0)))


def confidence_slack(probs: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """``mean(1 - max_c p_c)``: bounds ``|accuracy - mean p_k|`` on a set whose label is ``k``.

    Per sample ``|1[argmax p = k] - p_k| <= 1 - max_c p_c`` (if the argmax is ``k`` the gap is
    ``1 - p_k = 1 - max p``; otherwise ``p_k <= 1 - max p``), so the mean over a set bounds the gap
    between hard accuracy and mean soft probability of the class.

    Parameters
    ----------
    probs : array (..., N, C)
        Softmax outputs; the mean is over the sample axis ``-2``.
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim < 2 or not np.all(np.isfinite(p)) or np.any(p < 0):
        raise bad_value("probs", f"an array of shape {p.shape}", "(..., N, C) probabilities")
    if not np.allclose(p.sum(axis), 1.0, atol=1e-5):
        raise bad_value("probs", "rows not summing to 1", "softmax outputs")
    return _out(np.asarray((1.0 - p.max(axis)).mean(-1)))


def pinsker_ratio(a0: np.ndarray | float, a1: np.ndarray | float, prior0: float = 0.5):
    """``2 pi_0 pi_1 (a_0 - a_1)^2 / J(a_0, a_1)`` (nan where ``a_0 = a_1``): at most 1 by the
    proposition, and tending to 1 as ``a_0, a_1 -> 1/2`` (so the constant 2 is the best one)."""
    p0, p1 = _prior(prior0)
    a0, a1 = _unit(a0, "a0"), _unit(a1, "a1")
    j = np.asarray(event_mi(a0, a1, p0))
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where((a0 != a1) & (j > 0), 2 * p0 * p1 * (a0 - a1) ** 2 / j, math.nan)
    return _out(r)
