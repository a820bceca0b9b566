"""Auditing (eps, delta) in one run: Steinke, Nasr & Jagielski, "Privacy auditing with one (1)
training run" (NeurIPS 2023, arXiv 2305.08846).

m canaries are each included in the run independently with probability 1/2. After the run every
canary gets a score; the auditor guesses "included" for the k+ highest, "excluded" for the k- lowest
and abstains on the rest. For an eps-DP mechanism the number V of correct guesses among the r = k+ +
k- is stochastically dominated by Binomial(r, e^eps / (1 + e^eps)) (their Section 3); with delta > 0
the tail gains the delta term of their p-value procedure (Appendix D):

    p(v; eps, delta) = P[Bin(r, q) >= v] + 2 m delta max_{i = 1..v} P[v - i <= Bin(r, q) < v] / i, q
    = e^eps/(1+e^eps).

:func:`one_run_epsilon` is the largest eps this test rejects at level beta (eps_lb at confidence 1 -
beta), found by bisection on the p-value (decreasing in eps). :func:`one_run_audit` makes the
guesses from scores; :func:`one_run_search` tries several (k+, k-) and pays for the choice with a
Bonferroni correction (beta / number of tried pairs): taking the best of many uncorrected bounds is
not a valid bound.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats

from ..config import bad_value, number_in


def _count(name: str, value, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise bad_value(name, value, f"an integer >= {low}")
    return int(value)


def p_value(m: int, r: int, v: int, eps: float, delta: float = 0.0) -> float:
    """P-value of observing >= v correct of r guesses under the null "(eps, delta)-DP" with m
    canaries."""
    q = 1.0 / (1.0 + math.exp(-eps))
    tail = float(stats.binom.sf(v - 1, r, q))
    if delta == 0 or v == 0:
        return min(1.0, tail)
    pmf = stats.binom.pmf(np.arange(v - 1, -1, -1), r, q)  # pmf(v-1), pmf(v-2), ..., pmf(0)
    mass = np.cumsum(pmf) / np.arange(1, v + 1)  # P[v - i <= Bin < v] / i for i = 1..v
    return min(1.0, tail + 2 * m * delta * float(mass.max()))


def one_run_epsilon(
    m: int, r: int, v: int, delta: float = 0.0, beta: float = 0.05, tol: float = 1e-6
) -> float:
    """The largest eps whose null hypothesis is rejected at level ``beta`` by v correct of r guesses
    (0 if none)."""
    m, r, v = _count("m", m, 1), _count("r", r), _count("v", v)
    if r > m:
        raise bad_value("r", r, f"an integer in [0, m={m}]")
    if v > r:
        raise bad_value("v", v, f"an integer in [0, r={r}]")
    number_in("delta", delta, 0.0, 1.0, low_open=False)
    number_in("beta", beta, 0.0, 1.0)
    if r == 0 or p_value(m, r, v, 0.0, delta) >= beta:
        return 0.0
    lo, hi = 0.0, 1.0
    # p is decreasing in eps ... and reaches 1 at v <= r q
    while p_value(m, r, v, hi, delta) < beta:
        lo, hi = hi, 2 * hi
        if hi > 1e3:
            return math.inf
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if p_value(m, r, v, mid, delta) < beta else (lo, mid)
    return lo


def _scores(scores, included) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=np.float64)
    z = np.asarray(included)
    if s.ndim != 1 or s.size < 1 or not np.isfinite(s).all():
        raise bad_value("scores", getattr(s, "shape", s), "a 1-d array of finite canary scores")
    if z.shape != s.shape or not np.isin(z, (0, 1)).all():
        raise bad_value(
            "included", getattr(z, "shape", z), f"a 0/1 (or bool) array of {s.size} inclusion flags"
        )
    return s, z.astype(bool)


def one_run_audit(
    scores, included, k_pos: int, k_neg: int, delta: float = 0.0, beta: float = 0.05
) -> dict:
    """Guess "in" for the ``k_pos`` highest scores and "out" for the ``k_neg`` lowest; eps_lb at 1 -
    beta.

    Ties are broken by canary index (a fixed rule, independent of the inclusion flags).
    """
    s, z = _scores(scores, included)
    m = s.size
    k_pos, k_neg = _count("k_pos", k_pos), _count("k_neg", k_neg)
    if k_pos + k_neg > m or k_pos + k_neg == 0:
        raise bad_value("k_pos + k_neg", k_pos + k_neg, f"an integer in [1, m={m}]")
    order = np.argsort(s, kind="stable")
    # order[m:] is empty when k_pos = 0
    v = int(z[order[m - k_pos :]].sum()) + int((~z[order[:k_neg]]).sum())
    r = k_pos + k_neg
    return {
        "m": m,
        "k_pos": k_pos,
        "k_neg": k_neg,
        "r": r,
        "v": v,
        "accuracy": v / r,
        "eps_lb": one_run_epsilon(m, r, v, delta, beta),
        "delta": delta,
        "beta": beta,
    }


def one_run_search(
    scores, included, ks: Sequence[tuple[int, int]], delta: float = 0.0, beta: float = 0.05
) -> dict:
    """The best :func:`one_run_audit` over the (k+, k-) pairs ``ks``, each tested at beta / len(ks)
    (Bonferroni), so the reported maximum is still a lower bound at confidence 1 - beta."""
    if len(ks) == 0:
        raise bad_value("ks", ks, "at least one (k_pos, k_neg) pair")
    number_in("beta", beta, 0.0, 1.0)
    runs = [one_run_audit(scores, included, kp, kn, delta, beta / len(ks)) for kp, kn in ks]
    best = max(runs, key=lambda d: d["eps_lb"])
    return {**best, "beta": beta, "tried": len(ks), "per_test_beta": beta / len(ks)}


def gaussian_canaries(m: int, mu: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """m canaries of a Gaussian mechanism: included with probability 1/2, score N(mu, 1) if
    included, N(0, 1) if not (sensitivity / noise = mu). Returns (scores, included)."""
    m = _count("m", m, 1)
    number_in("mu", mu, 0.0, low_open=False)
    z = rng.random(m) < 0.5
    return rng.normal(0.0, 1.0, m) + mu * z, z
