"""Known answers for the one-run audit (Steinke, Nasr & Jagielski 2023)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from companion.metrics import one_run as O
from companion.theory.privacy import gaussian_epsilon


def test_p_value_is_the_binomial_tail_at_delta_zero():
    q = math.e / (1 + math.e)
    assert O.p_value(100, 50, 40, 1.0) == pytest.approx(stats.binom.sf(39, 50, q))


def test_delta_term_matches_its_definition():
    m, r, v, eps, delta = 1000, 60, 50, 1.0, 1e-4
    q = 1 / (1 + math.exp(-eps))
    extra = max(sum(stats.binom.pmf(j, r, q) for j in range(v - i, v)) / i for i in range(1, v + 1))
    assert O.p_value(m, r, v, eps, delta) == pytest.approx(
        stats.binom.sf(v - 1, r, q) + 2 * m * delta * extra
    )
    assert O.p_value(m, r, v, eps, delta) > O.p_value(m, r, v, eps, 0.0)


def test_bound_is_where_the_test_stops_rejecting():
    eps = O.one_run_epsilon(1000, 100, 90, 1e-5, 0.05)
    assert O.p_value(1000, 100, 90, eps, 1e-5) < 0.05 <= O.p_value(1000, 100, 90, eps + 1e-3, 1e-5)
    assert O.one_run_epsilon(1000, 100, 50) == 0.0  # chance accuracy proves nothing
    assert O.one_run_epsilon(1000, 100, 100, 0.0) == pytest.approx(
        math.log(0.05 ** (-1 / 100) - 1) * -1, abs=1e-4
    )


def test_gaussian_mechanism_bound_is_below_the_true_epsilon_and_rises_with_it():
    means = []
    for mu in (0.5, 1.0, 2.0, 3.0):
        runs = []
        for seed in range(5):
            s, z = O.gaussian_canaries(1000, mu, np.random.default_rng(seed))
            runs.append(O.one_run_audit(s, z, 100, 100, delta=1e-5, beta=0.05)["eps_lb"])
        assert max(runs) < gaussian_epsilon(mu, 1e-5), (mu, runs)
        means.append(np.mean(runs))
    assert all(a < b for a, b in zip(means, means[1:])), means
    s, z = O.gaussian_canaries(1000, 0.0, np.random.default_rng(9))
    assert O.one_run_audit(s, z, 100, 100, 1e-5)["eps_lb"] == 0.0


def test_search_pays_for_its_choice():
    s, z = O.gaussian_canaries(1000, 1.0, np.random.default_rng(1))
    ks = [(k, k) for k in (25, 50, 100, 200)]
    best = O.one_run_search(s, z, ks, 1e-5, 0.05)
    singles = [O.one_run_audit(s, z, kp, kn, 1e-5, 0.05)["eps_lb"] for kp, kn in ks]
    assert best["eps_lb"] <= max(singles) and best["per_test_beta"] == 0.0125


def test_guesses_count_correct_in_and_out():
    s = np.array([5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    z = np.array([1, 0, 1, 0, 0, 1])
    d = O.one_run_audit(s, z, 2, 2)
    assert d["v"] == 1 + 1 and d["r"] == 4


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: O.one_run_epsilon(10, 11, 3), "r="),
        (lambda: O.one_run_epsilon(10, 5, 6), "v="),
        (lambda: O.one_run_epsilon(10, 5, 3, beta=0.0), "beta="),
        (lambda: O.one_run_epsilon(10, 5, 3, delta=-1.0), "delta="),
        (lambda: O.one_run_audit(np.zeros(4), np.array([0, 1, 2, 0]), 1, 1), "included="),
        (lambda: O.one_run_audit(np.zeros(4), np.zeros(4), 3, 3), "k_pos"),
        (lambda: O.one_run_audit(np.zeros(4), np.zeros(4), -1, 1), "k_pos="),
        (lambda: O.one_run_search(np.zeros(4), np.zeros(4), []), "ks="),
    ],
)
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()
