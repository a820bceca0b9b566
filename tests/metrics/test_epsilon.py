"""Known answers for the challenge's per-example eps estimator and the Clopper-Pearson lower
bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from companion.metrics import epsilon as E
from companion.metrics.signals import logit_scaled_confidence
from companion.theory.privacy import gaussian_epsilon


@pytest.mark.parametrize("mu,expected", [(0.5, 1.993), (1.0, 4.377), (2.0, 9.997)])
def test_population_rates_recover_the_analytic_gaussian_epsilon(mu, expected):
    # exact rates of "positive if phi >= t" for N(mu, 1) vs N(0, 1) on a fine grid, through the
    # per-rule formula
    t = np.linspace(-10, 15, 200_001)
    fnr, fpr = stats.norm.cdf(t - mu), stats.norm.sf(t)
    eps = E.rule_epsilons(fpr, fnr, 1e-5)
    got = float(np.nanmax(eps[np.isfinite(eps)]))
    assert got == pytest.approx(expected, abs=1e-3)
    assert got == pytest.approx(gaussian_epsilon(mu, 1e-5), abs=1e-3)


# the finite-sample table (N = 512 per side): mean, sd, reps of the reference simulation
TABLE = {
    0.0: (1.57, 0.44, 40),
    0.5: (2.28, 0.32, 40),
    1.0: (3.29, 0.36, 40),
    2.0: (4.87, 0.27, 5),
    3.0: (5.82, 0.09, 5),
}


@pytest.mark.parametrize("mu", sorted(TABLE))
def test_finite_sample_noise_floor_and_saturation(mu):
    mean, sd, ref_reps = TABLE[mu]
    reps = 12
    rng = np.random.default_rng(int(mu * 10) + 1)
    eps = E.challenge_epsilons(rng.normal(mu, 1, (512, reps)), rng.normal(0, 1, (512, reps)))
    # the reference sd rests on 5 reps for mu >= 2: use the larger of the two
    spread = max(sd, eps.std(ddof=1))
    se = spread * math.sqrt(1 / reps + 1 / ref_reps)
    assert abs(eps.mean() - mean) < 3 * se, (eps.mean(), mean, se)
    if mu == 0:
        assert eps.min() > 0.5  # the noise floor: identical distributions never read as eps = 0
    if mu >= 2:
        assert eps.max() < math.log(511) + 0.5 < gaussian_epsilon(mu, 1e-5)  # saturation near ln N


def test_forget_score_of_a_perfect_unlearner_is_far_below_one():
    rng = np.random.default_rng(3)
    eps = E.challenge_epsilons(rng.normal(0, 1, (512, 40)), rng.normal(0, 1, (512, 40)))
    assert 0.05 < E.challenge_forget_score(eps, 512) < 0.45  # reference 0.19


def test_cap_path_and_perfect_separation():
    rng = np.random.default_rng(0)
    peaky = 5 + 1e-4 * rng.normal(size=512)  # range ratio < 1 %
    assert E.challenge_epsilons(peaky[:, None], rng.normal(0, 1, (512, 1)))[0] == 50
    apart = E.challenge_epsilons(rng.uniform(10, 11, (512, 1)), rng.uniform(0, 1, (512, 1)))
    assert apart[0] == 50  # +inf clipped to the cap
    assert (
        E.challenge_epsilons(rng.uniform(10, 11, (64, 1)), rng.uniform(0, 1, (64, 1)), cap=20.0)[0]
        == 20
    )


def test_orientation_by_median_is_symmetric():
    rng = np.random.default_rng(1)
    a, b = rng.normal(1, 1, (300, 3)), rng.normal(0, 1.3, (200, 3))
    np.testing.assert_allclose(E.challenge_epsilons(a, b), E.challenge_epsilons(b, a))


def test_rates_by_searchsorted_match_dense_comparison():
    rng = np.random.default_rng(2)
    pos, neg = np.sort(rng.normal(0.7, 1, 50)), np.sort(rng.normal(0, 0.6, 50))
    fpr, fnr = E._double_rates(pos, neg, 10)
    peaky, other = (neg, pos)  # neg has the smaller range here
    assert neg[-1] - neg[0] < pos[-1] - pos[0]
    w = peaky[-1] - peaky[0]
    right = np.linspace(
        peaky[0] + w - 2, peaky[-1] + 2, math.ceil((peaky[-1] + 2 - peaky[0] - w + 2) * 10)
    )
    i = 7
    left = np.linspace(right[i // 40] - w - 2, right[i // 40] - w + 2, 40)[i % 40]
    inside = lambda s: np.mean((left <= s) & (s <= right[i // 40]))  # noqa: E731
    assert fpr[i] == pytest.approx(inside(other)) and fnr[i] == pytest.approx(1 - inside(peaky))
    sf, sn = E._single_rates(pos, neg, 10)
    t = np.linspace(min(pos[0], neg[0]), max(pos[-1], neg[-1]), len(sf))
    np.testing.assert_allclose(sf, [(neg >= x).mean() for x in t])
    np.testing.assert_allclose(sn, [(pos < x).mean() for x in t])


def test_signals_from_logits_feed_the_estimator():
    rng = np.random.default_rng(4)
    y = np.zeros(3, dtype=int)
    lu, lr = rng.normal(0, 1, (64, 3, 4)), rng.normal(0, 1, (64, 3, 4))
    lu[..., 0] += 6.0  # unlearned models still remember the points
    u, r = logit_scaled_confidence(lu, y, "challenge"), logit_scaled_confidence(lr, y, "challenge")
    assert u.shape == (64, 3) and (E.challenge_epsilons(u, r) > 2).all()


@pytest.mark.parametrize(
    "eps,points", [(0.3, 1.0), (0.7, 0.5), (6.9, 2.0**-13), (7.0, 0.0), (49.0, 0.0), (0.0, 1.0)]
)
def test_scoring_buckets(eps, points):
    assert E.max_measurable_epsilon(512) == 7
    assert E.bucket_points([eps], 512)[0] == points


def test_final_score():
    assert E.challenge_final_score(0.5, 0.9, 0.95, 0.8, 0.85) == pytest.approx(
        0.5 * 0.9 / 0.95 * 0.8 / 0.85
    )


def test_clopper_pearson_known_value_and_below_plug_in():
    d = E.empirical_epsilon_lower_bound(
        np.linspace(10, 11, 1024), np.linspace(0, 1, 1024), delta=1e-5, alpha=0.05
    )
    p = 1 - 0.025 ** (1 / 512)
    assert d["fpr_upper"] == pytest.approx(0.00718, abs=1e-5) == p
    assert d["eps_lb"] == pytest.approx(math.log((1 - 1e-5 - p) / p), rel=1e-9)
    assert d["eps_lb"] == pytest.approx(4.929, abs=1e-3)
    rng = np.random.default_rng(5)
    for mu in (0.0, 0.5, 1.0, 2.0, 4.0):
        pos, neg = rng.normal(mu, 1, 1024), rng.normal(0, 1, 1024)
        lb = E.empirical_epsilon_lower_bound(pos, neg)["eps_lb"]
        plug = E.challenge_epsilons(pos[:, None], neg[:, None])[0]
        assert lb <= plug, (mu, lb, plug)
        if mu:
            assert lb <= gaussian_epsilon(mu, 1e-5), (mu, lb)


def test_lower_bound_is_sound_and_grows_on_a_gaussian_mechanism():
    rng = np.random.default_rng(6)
    lbs = []
    for mu in (0.5, 1.0, 2.0, 3.0):
        runs = [
            E.empirical_epsilon_lower_bound(rng.normal(mu, 1, 2000), rng.normal(0, 1, 2000))[
                "eps_lb"
            ]
            for _ in range(5)
        ]
        assert max(runs) <= gaussian_epsilon(mu, 1e-5), (mu, runs)
        lbs.append(np.mean(runs))
    assert all(a < b for a, b in zip(lbs, lbs[1:])), lbs
    nulls = [
        E.empirical_epsilon_lower_bound(rng.normal(0, 1, 500), rng.normal(0, 1, 500))["eps_lb"]
        for _ in range(20)
    ]
    # identical mechanisms: a positive bound at most about alpha of the time
    assert sum(n > 0 for n in nulls) <= 3


@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: E.challenge_epsilons(np.zeros((1, 3)), np.zeros((5, 3))), "unlearned="),
        (lambda: E.challenge_epsilons(np.zeros((5, 3)), np.zeros((5, 2))), "retrained="),
        (lambda: E.challenge_epsilons(np.full((5, 1), np.nan), np.zeros((5, 1))), "unlearned="),
        (lambda: E.challenge_epsilons(np.zeros((5, 1)), np.zeros((5, 1)), delta=0.0), "delta="),
        (lambda: E.challenge_epsilons(np.zeros((5, 1)), np.zeros((5, 1)), per_unit=0), "per_unit="),
        (lambda: E.challenge_epsilons(np.zeros((5, 1)), np.zeros((5, 1)), cap=-1.0), "cap="),
        (lambda: E.max_measurable_epsilon(2), "n_models="),
        (lambda: E.bucket_points([-1.0], 512), "eps="),
        (lambda: E.empirical_epsilon_lower_bound(np.zeros(10), np.zeros(10), alpha=1.5), "alpha="),
        (
            lambda: E.empirical_epsilon_lower_bound(
                np.zeros(10), np.zeros(10), selection_split=1.0
            ),
            "selection_split=",
        ),
        (
            lambda: E.empirical_epsilon_lower_bound(np.zeros(3), np.zeros(3), selection_split=0.01),
            "selection_split=",
        ),
        (lambda: E.challenge_final_score(1.5, 1, 1, 1, 1), "forget_score="),
    ],
)
def test_bad_input_is_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()
