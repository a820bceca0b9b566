"""The information bound on forget accuracy (companion.theory.mi_bounds): known answers, equality
cases, the best constant, and the bound on random discrete instances."""

import math

import numpy as np
import pytest

from companion.theory import information as inf
from companion.theory import mi_bounds as mb


def test_binary_kl_known_values():
    assert mb.binary_kl(0.5, 0.5) == 0.0
    assert mb.binary_kl(1.0, 0.5) == pytest.approx(math.log(2))
    assert mb.binary_kl(0.2, 0.4) == pytest.approx(0.2 * math.log(0.5) + 0.8 * math.log(0.8 / 0.6))
    assert mb.binary_kl(0.3, 0.0) == math.inf
    with pytest.raises(ValueError, match="a"):
        mb.binary_kl(1.2, 0.5)


def test_event_mi_is_the_mi_of_the_indicator():
    # equality case of the data-processing step: Y = 1_A is binary
    for a0, a1, p0 in ((0.9, 0.1, 0.5), (0.3, 0.7, 0.2), (0.05, 0.5, 0.7)):
        cond = np.array([[a0, 1 - a0], [a1, 1 - a1]])
        assert mb.event_mi(a0, a1, p0) == pytest.approx(
            inf.mi_from_conditionals(cond, [p0, 1 - p0]), abs=1e-12
        )
    # fully informative event with equal priors: I = H(Z) = ln 2
    assert mb.event_mi(1.0, 0.0, 0.5) == pytest.approx(math.log(2))


def test_data_processing_and_pinsker_on_random_instances():
    rng = np.random.default_rng(0)
    for _ in range(200):
        c = int(rng.integers(2, 8))
        cond = rng.dirichlet(np.full(c, 0.5), size=2)
        p0 = float(rng.uniform(0.05, 0.95))
        mi = inf.mi_from_conditionals(cond, [p0, 1 - p0])
        event = rng.random(c) < 0.5
        a0, a1 = cond[0, event].sum(), cond[1, event].sum()
        j = mb.event_mi(min(a0, 1.0), min(a1, 1.0), p0)
        assert j <= mi + 1e-12
        assert 2 * p0 * (1 - p0) * (a0 - a1) ** 2 <= j + 1e-12
        assert abs(a0 - a1) <= mb.event_gap_bound(mi, p0) + 1e-12
        if a0 < a1:  # the complement event has a0 >= a1
            a0, a1 = 1 - a0, 1 - a1
        assert a0 <= mb.event_upper(mi, min(a1, 1.0), p0) + 1e-9


def test_pinsker_constant_is_best_and_a_larger_one_fails():
    # the ratio 2 pi0 pi1 d^2 / J tends to 1 near a = 1/2: the constant 2 cannot be raised
    r = mb.pinsker_ratio(0.5 + 1e-3, 0.5 - 1e-3, 0.5)
    assert 0.999 < r <= 1.0
    a0, a1, p0 = 0.5 + 1e-3, 0.5 - 1e-3, 0.5
    assert 2.1 * p0 * (1 - p0) * (a0 - a1) ** 2 > mb.event_mi(a0, a1, p0)
    assert math.isnan(mb.pinsker_ratio(0.3, 0.3))


def test_event_upper_is_attained_by_a_binary_output():
    for mi, a1, p0 in ((0.01, 0.1, 0.5), (0.1, 0.3, 0.6), (0.002, 0.02, 80 / 144)):
        a0 = mb.event_upper(mi, a1, p0)
        assert mb.event_mi(a0, a1, p0) == pytest.approx(mi, rel=1e-6)
        assert a0 <= a1 + mb.event_gap_bound(mi, p0) + 1e-12  # exact is inside Pinsker
    assert mb.event_upper(0.0, 0.3) == pytest.approx(0.3)
    assert mb.event_upper(math.log(2), 0.0, 0.5) == 1.0


def test_construction_weights():
    p0, p1, rho = mb.construction_weights(64, 16)
    assert (p0, p1, rho) == pytest.approx((80 / 144, 64 / 144, 0.2))
    with pytest.raises(ValueError, match="n_u"):
        mb.construction_weights(64, 0)


def test_forget_accuracy_bound_on_the_construction():
    # random mean outputs: the population MI of the construction bounds the gap in class k
    rng = np.random.default_rng(1)
    for _ in range(300):
        mr, mu = rng.dirichlet(np.ones(10)), rng.dirichlet(np.full(10, 0.3))
        k = int(rng.integers(10))
        mi = inf.marginal_mi_population(mr, mu, 64, 16)
        for form in mb.BOUND_FORMS:
            assert mu[k] <= mb.forget_accuracy_bound(mi, mr[k], 0.0, form=form) + 1e-9
        assert (
            mb.forget_accuracy_bound(mi, mr[k])
            <= mb.forget_accuracy_bound(mi, mr[k], form="pinsker") + 1e-12
        )
        assert mb.mi_floor(mu[k], mr[k]) <= mi + 1e-12
    # equality: two-class outputs make the event the whole output
    mr, mu = np.array([0.1, 0.9]), np.array([0.7, 0.3])
    mi = inf.marginal_mi_population(mr, mu, 64, 16)
    assert mb.forget_accuracy_bound(mi, 0.1) == pytest.approx(0.7, abs=1e-9)
    assert mb.mi_floor(0.7, 0.1) == pytest.approx(mi, rel=1e-9)
    with pytest.raises(ValueError, match="form"):
        mb.forget_accuracy_bound(0.1, 0.1, form="loose")


def test_confidence_slack_bounds_hard_versus_soft():
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.full(5, 0.4), size=(3, 50))  # (T, N, C)
    acc = (p.argmax(-1) == 2).mean(-1)
    soft = p[..., 2].mean(-1)
    assert np.all(np.abs(acc - soft) <= mb.confidence_slack(p) + 1e-12)
    assert mb.confidence_slack(np.eye(4)) == 0.0
    with pytest.raises(ValueError, match="probs"):
        mb.confidence_slack(np.ones((3, 2)))


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match="prior0"):
        mb.event_mi(0.2, 0.3, 1.0)
    with pytest.raises(ValueError, match="mi"):
        mb.event_gap_bound(-0.1)
    with pytest.raises(ValueError, match="s_r"):
        mb.forget_accuracy_bound(0.1, 1.5)
