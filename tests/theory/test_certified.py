"""Known answers and invariants of companion.theory.certified (spec certified.md, sections 3-5, 10,
13)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from companion.theory import certified as C
from companion.theory import privacy as P

# Spec section 10: (C0, C1, gamma, lambda, eps_R) -> (T, sigma), as printed (4 significant digits).
GC_TABLE = [
    # Figure 1, CIFAR-10
    (0.1, 10, 1e-3, 1, 1, 10, 0.0892),
    (0.1, 10, 1e-3, 50, 1, 10, 0.0773),
    (0.1, 10, 1e-2, 1, 1, 1, 0.2814),
    (0.1, 100, 1e-4, 50, 1, 10, 0.0882),
    (0.1, 100, 1e-3, 200, 1, 1, 0.2546),
    (0.1, 100, 1e-3, 50, 1, 1, 0.2758),
    (1, 1, 1e-3, 50, 1, 93, 0.0125),
    (1, 10, 1e-2, 50, 1, 5, 0.2757),
    (1, 100, 1e-3, 500, 1, 5, 0.2757),
    (20, 10, 1e-2, 50, 1, 11, 0.2568),
    (20, 100, 1e-3, 500, 1, 11, 0.2568),
    # Figure 1, MNIST
    (0.01, 10, 1e-4, 750, 1, 6, 0.0078),
    (0.01, 100, 1e-4, 10, 1, 1, 0.0283),
    # Figure 3, CIFAR-10 features
    (0.01, 1, 1e-3, 0.5, 1, 10, 0.0089),
    (0.01, 1, 1e-3, 10, 1, 10, 0.0087),
    (0.01, 1, 1e-2, 10, 1, 1, 0.0269),
    (0.01, 10, 1e-4, 0.5, 1, 10, 0.0089),
    (0.01, 10, 1e-4, 10, 1, 10, 0.0089),
    (0.01, 10, 1e-4, 100, 1, 10, 0.0087),
    (0.01, 10, 1e-3, 0.5, 1, 1, 0.0283),
    (0.01, 10, 1e-3, 10, 1, 1, 0.0281),
    (0.01, 100, 1e-4, 100, 1, 1, 0.0281),
    (0.01, 100, 1e-3, 500, 1, 1, 0.1485),
    (0.1, 0.1, 1e-2, 10, 1, 30, 0.0085),
    (1, 10, 1e-3, 500, 1, 10, 0.0257),
    # Figure 3, CIFAR-100 features (rows not already above)
    (0.01, 0.1, 1e-3, 10, 1, 70, 0.0023),
    (0.01, 10, 1e-4, 500, 1, 10, 0.0077),
    (0.1, 1, 1e-3, 100, 1, 30, 0.0085),
    (1, 0.1, 1e-2, 10, 1, 53, 0.0085),
    (1, 1, 1e-3, 100, 1, 53, 0.0085),
    # Figure 4, MNIST (eps_R = 0.1 and 10)
    (0.01, 10, 1e-4, 750, 0.1, 6, 0.0245),
    (0.01, 10, 1e-4, 750, 10, 6, 0.0025),
    (0.01, 100, 1e-4, 10, 0.1, 1, 0.0894),
    (0.01, 100, 1e-4, 10, 10, 1, 0.0089),
    # Figure 4, CIFAR-10
    (1, 100, 1e-3, 500, 0.1, 5, 0.8718),
    (0.1, 0.01, 0.1, 0.1, 10, 70, 0.0073),
    (0.1, 10, 1e-3, 1, 10, 10, 0.0282),
    (0.1, 10, 0.1, 0.1, 10, 1, 0.4915),
    (0.1, 10, 0.1, 1, 10, 1, 0.4875),
    (0.1, 100, 0.1, 1, 10, 1, 4.512),
    (1, 0.1, 0.1, 1, 10, 30, 0.0270),
    (1, 10, 0.1, 0.1, 10, 1, 0.890),
    (10, 5, 0.01, 25, 10, 19, 0.0714),
    (10, 0.1, 0.1, 1, 10, 53, 0.0267),
    (1, 0.01, 0.1, 0.1, 100, 300, 0.0029),
    (1, 0.1, 0.1, 0.1, 100, 70, 0.0230),
    (1, 1, 0.1, 0.1, 100, 10, 0.0870),
    (1, 1, 0.1, 1, 100, 7, 0.0702),
    (1, 10, 0.1, 0.1, 100, 1, 0.2814),
    (1, 10, 0.1, 1, 100, 1, 0.2687),
    (10, 1, 0.1, 1, 100, 30, 0.0852),
    (10, 100, 0.1, 0.1, 100, 1, 2.814),
    (20, 1, 0.1, 1, 100, 37, 0.0854),
]


def _sig_round(x: float, digits: int) -> float:
    return float(f"{x:.{digits}g}")


def _digits(printed: float) -> int:
    """Significant digits of a number as the spec prints it (0.0969 -> 3, 4.512 -> 4)."""
    return len(repr(printed).replace(".", "").lstrip("0"))


@pytest.mark.parametrize("c0,c1,gamma,lam,eps_r,T,sigma", GC_TABLE)
def test_gc_table_T_and_sigma(c0, c1, gamma, lam, eps_r, T, sigma):
    assert C.gc_steps(c0, c1, gamma, lam) == T
    s = C.gc_sigma(eps_r, T, gamma, lam, c0, c1)
    assert _sig_round(s, _digits(sigma)) == pytest.approx(sigma, rel=1e-12)
    # the closed form equals the general-sum bound solved for sigma
    assert C.pabi_eps_r(c0, c1, gamma, lam, s, T) == pytest.approx(eps_r, rel=1e-10)


def test_decreasing_schedule_matches_general_sum():
    sig = C.gc_sigma(1.0, 7, 1e-2, 10, 0.5, 3, schedule="decreasing")
    assert sig.shape == (7,) and np.all(np.diff(sig) < 0)
    assert C.pabi_eps_r(0.5, 3, 1e-2, 10, sig, 7) == pytest.approx(1.0, rel=1e-10)


def test_lambda_zero_limit_and_as_coded_constant():
    c0, c1, g, T, e = 0.3, 2.0, 1e-2, 15, 0.7
    s0 = C.gc_sigma(e, T, g, 0.0, c0, c1)
    assert s0 == pytest.approx(C.gc_sigma(e, T, g, 1e-9, c0, c1), rel=1e-6)
    assert s0 == pytest.approx(math.sqrt((2 * c0 + 2 * g * c1 * T) ** 2 / (2 * e * T)))
    assert C.gc_sigma(e, T, g, 0.0, c0, c1, as_coded=True) == pytest.approx(s0 / math.sqrt(2))
    assert C.pabi_eps_r(c0, c1, g, 0.0, s0, T) == pytest.approx(e, rel=1e-10)


def test_T_minimises_lambda_zero_noise():
    c0, c1, g = 1.0, 2.0, 1e-2
    f = lambda t: (2 * c0 + 2 * g * c1 * t) ** 2 / t  # noqa: E731
    t_star = c0 / (g * c1)
    grid = np.linspace(0.05 * t_star, 20 * t_star, 2001)
    assert f(t_star) <= f(grid).min() + 1e-12
    T = C.gc_steps(c0, c1, g, 0.0)
    assert T == math.ceil(t_star)
    assert min(f(T), f(T - 1)) <= min(f(t) for t in range(1, 10 * T))


def test_rdp_to_dp_known_answers():
    assert P.rdp_to_dp(1.0, 1e-5, "as_coded")[0] == pytest.approx(1.0036, abs=5e-5)
    assert P.rdp_to_dp(1.0, 1e-5)[0] == pytest.approx(7.077, abs=5e-4)
    # spec 3.3 table, alpha-dependent, on the reference code's alpha grid
    for er, eps, alpha in [
        (0.1, 1.914, 10.6),
        (1, 7.077, 4.20),
        (10, 30.13, 2.00),
        (100, 166.0, 1.30),
    ]:
        e, a = P.rdp_to_dp(er, 1e-5, alphas=P.CODED_ALPHAS)
        assert _sig_round(e, 4) == pytest.approx(eps) and a == pytest.approx(alpha, abs=0.01)
        assert P.rdp_to_dp(er, 1e-5)[0] <= e + 1e-12  # the continuous optimum is never worse
        assert P.rdp_to_dp(er, 1e-5, "as_coded")[0] == pytest.approx(er + 0.0036, abs=1e-4)
    # zCDP comparison of the spec: rho + 2 sqrt(rho ln(1/delta)) is looser
    assert P.rdp_to_dp(1.0, 1e-5)[0] < 1 + 2 * math.sqrt(math.log(1e5))


def test_required_eps_r_inverse():
    for eps, er in [(0.5, 0.00851), (1, 0.03056), (2, 0.1083), (5, 0.5510), (10, 1.783)]:
        got = P.required_eps_r(eps, 1e-5)
        assert _sig_round(got, _digits(er)) == pytest.approx(er)
        assert P.rdp_to_dp(got, 1e-5)[0] == pytest.approx(eps, abs=1e-8)
    assert math.sqrt(1 / P.required_eps_r(1, 1e-5)) == pytest.approx(5.72, abs=0.005)


def test_theta_is_the_gaussian_privacy_profile():
    rng = np.random.default_rng(0)
    for _ in range(30):
        eps, r = rng.uniform(0, 6), rng.uniform(0.05, 6)
        th = P.hockey_stick_theta(eps, r)
        assert th == pytest.approx(P.gaussian_delta(eps, r), abs=1e-12)
        assert th == pytest.approx(P.hockey_stick_gaussians(eps, r, 0.0), abs=1e-9)
    vals = [P.hockey_stick_theta(e, 1.5) for e in np.linspace(0, 8, 50)]
    assert np.all(np.diff(vals) < 0)
    # eps = 0: total variation 2 Phi(r/2) - 1
    assert P.hockey_stick_theta(0, 1.3) == pytest.approx(2 * P.stats.norm.cdf(0.65) - 1)


def test_model_clipping_worked_example_and_steps():
    path = C.mc_delta_path(1.0, 2.0, 6)
    np.testing.assert_allclose(path[:, 0], [1.000, 1.475, 2.192, 3.314, 5.198, 8.842], atol=5e-4)
    np.testing.assert_allclose(
        path[:, 2], [0.510, 0.216, 0.0649, 9.55e-3, 2.48e-4, 2.65e-8], rtol=3e-3
    )
    for c2, sigma, T in [
        (0.2, 0.2, 6),
        (0.5, 0.5, 6),
        (0.625, 0.5, 9),
        (0.975, 0.5, 36),
        (0.001, 0.01, 1),
        (0.01, 0.01, 6),
    ]:
        assert C.mc_steps(1.0, 1e-5, C.mc_radius(c2, sigma)) == T
    assert C.mc_radius(0.5, 0.5, gamma=0.1, c1=1.0) == pytest.approx(2 * 0.6 / 0.5)
    assert C.mc_init_delta(1.0, 7.0, 0.0) == 1.0
    d0 = C.mc_init_delta(1.0, 0.5, 0.5)
    assert d0 == pytest.approx(P.hockey_stick_theta(1.0, 2.0))
    assert C.mc_steps(1.0, 1e-5, 2.0, delta0=d0) == 5


def test_output_perturbation_sigma():
    for c0 in (0.01, 0.1, 1.0):
        assert C.op_sigma(c0, 1.0, 1e-5) == pytest.approx(0.0969 * c0 / 0.01, rel=1e-3)
    s = C.op_sigma(0.5, 1.0, 1e-5, "analytic")
    assert s / 1.0 == pytest.approx(3.731, abs=5e-4)
    assert P.gaussian_delta(1.0, 1.0 / s) == pytest.approx(1e-5, rel=1e-8)
    assert P.gaussian_epsilon(1.0 / s, 1e-5) == pytest.approx(1.0, abs=1e-8)
    assert P.gaussian_epsilon(1e-3, 0.5) == 0.0


def test_group_privacy_deltas():
    e1, d1 = C.group_privacy_budget(50, 1e-5, 225, as_coded=True)
    assert e1 == pytest.approx(0.2222, abs=1e-4) and d1 == pytest.approx(2.41e-27, rel=2e-3)
    e1, d1c = C.group_privacy_budget(50, 1e-5, 225)
    assert d1c == pytest.approx(1.07e-29, rel=3e-3)
    assert P.group_privacy(e1, d1c, 225) == pytest.approx((50.0, 1e-5))
    assert P.group_privacy(e1, d1, 225)[1] == pytest.approx(2.25e-3)


@pytest.mark.parametrize(
    "call",
    [
        lambda: P.rdp_to_dp(1.0, 0.0),
        lambda: P.rdp_to_dp(1.0, 1.0),
        lambda: P.rdp_to_dp(-1.0, 1e-5),
        lambda: P.required_eps_r(0.0, 1e-5),
        lambda: P.required_eps_r(-2, 1e-5),
        lambda: C.op_sigma(0.1, 0, 1e-5),
        lambda: C.gc_sigma(1, 10, 0.1, 10, 1, 1),
        lambda: C.pabi_eps_r(1, 1, 0.5, 3, 0.1, 5),
        lambda: C.gc_sigma(1, 0, 1e-3, 1, 1, 1),
        lambda: C.mc_steps(1, 1.5, 2.0),
        lambda: C.mc_steps(-1, 1e-5, 2.0),
        lambda: C.group_privacy_budget(1, 1e-5, 0),
        lambda: P.rdp_to_dp(1, 1e-5, "nope"),
        lambda: C.gc_sigma(1, 10, 1e-3, 1, 1, 1, schedule="nope"),
        lambda: C.op_sigma(1, 1, 1e-5, "nope"),
    ],
)
def test_bad_settings_are_refused(call):
    with pytest.raises(ValueError):
        call()


def test_error_names_parameter():
    with pytest.raises(ValueError, match="gamma\\*lam"):
        C.gc_sigma(1, 10, 0.1, 10, 1, 1)
    with pytest.raises(ValueError, match="delta"):
        C.op_sigma(0.1, 1, 2.0)


# ---- issue 8: what the steps actually run certify, the first model-clipping step, output
# perturbation


def test_gc_epsilon_of_a_cut_short_run():
    c0, c1, g, lam = 1.0, 1.0, 1e-3, 50.0
    T = C.gc_steps(c0, c1, g, lam)
    s = C.gc_sigma(P.required_eps_r(1.0, 1e-5), T, g, lam, c0, c1)
    assert T == 93 and C.gc_epsilon(c0, c1, g, lam, s, T, 1e-5)[0] == pytest.approx(1.0, rel=1e-8)
    eps10, er10 = C.gc_epsilon(c0, c1, g, lam, s, 10, 1e-5)
    assert eps10 == pytest.approx(52.0, abs=0.05) and er10 == pytest.approx(
        C.pabi_eps_r(c0, c1, g, lam, s, 10)
    )
    assert C.gc_epsilon(c0, c1, g, lam, s, 0, 1e-5) == (math.inf, math.inf)
    sched = C.gc_sigma(1.0, 7, 1e-2, 10, 0.5, 3, schedule="decreasing")
    assert C.gc_epsilon(0.5, 3, 1e-2, 10, sched, 4, 1e-5)[1] == pytest.approx(
        C.pabi_eps_r(0.5, 3, 1e-2, 10, sched[:4], 4)
    )
    eps = [C.gc_epsilon(c0, c1, g, lam, s, t, 1e-5)[0] for t in (1, 10, 50, 93)]
    assert np.all(np.diff(eps) < 0)  # every further noisy step certifies more


def test_model_clipping_first_step_starts_in_the_c0_ball():
    """Noise before projection: two point masses at +-C0 (C0 >> C2) both project to opposite ends
    after one step almost surely, E_{e^eps} ~ 1; a radius 2(C2 + gamma C1)/sigma from step 0 says
    0.51."""
    c0, c2, sigma, g, c1, eps = 30.0, 0.5, 0.5, 1e-2, 1.0, 1.0
    # P(x_1 = +C2 | start +C0): y >= C0 - gamma C1
    p_a = stats.norm.sf((c2 - (c0 - g * c1)) / sigma)
    p_b = stats.norm.sf((c2 + c0 - g * c1) / sigma)  # P(x_1 = +C2 | start -C0): y <= -C0 + gamma C1
    divergence_at_least = p_a - math.exp(eps) * p_b  # E_{e^eps} >= P_a(O) - e^eps P_b(O), O = {+C2}
    r = C.mc_radius(c2, sigma, g, c1)
    r0 = C.mc_first_radius(c0, c2, sigma, g, c1)
    assert r0 == pytest.approx(2 * (c0 + g * c1) / sigma)
    # r from step 0 undercounts
    assert divergence_at_least > 0.99 > C.mc_delta_path(eps, r, 1)[0, 2]
    assert C.mc_delta_path(eps, r, 1, r_first=r0)[0, 2] >= divergence_at_least
    assert (C.mc_steps(eps, 1e-5, r), C.mc_steps(eps, 1e-5, r, r_first=r0)) == (6, 7)
    assert C.mc_first_radius(c0, c2, sigma, g, c1, init_sigma=0.3) == math.inf
    # theta = 1: post-processing only
    assert C.mc_delta_path(eps, r, 1, r_first=math.inf)[0, 2] == 1.0
    # noise after projection
    assert C.mc_first_radius(c0, c2, sigma) == C.mc_radius(c2, sigma) == 2.0


def test_mc_epsilon_inverts_the_recursion():
    for r, T in [(2.0, 6), (2.0, 10), (3.9, 36), (2.0, 3)]:
        e = C.mc_epsilon(1e-5, r, T)
        assert C.mc_delta_path(e, r, T)[-1, 2] == pytest.approx(1e-5, rel=1e-6)
    # T = 6 is the first step count certifying eps = 1
    assert C.mc_epsilon(1e-5, 2.0, 6) < 1.0 < C.mc_epsilon(1e-5, 2.0, 5)
    assert C.mc_epsilon(1e-5, 2.0, 0) == math.inf
    # start noise alone: the Gaussian mechanism
    d0_eps = C.mc_epsilon(1e-5, 2.0, 0, c0=1.0, init_sigma=1.0)
    assert d0_eps == pytest.approx(P.gaussian_epsilon(2.0, 1e-5), rel=1e-6)


def test_op_calibrate_uses_classic_only_where_it_holds():
    assert C.op_calibrate(0.01, 1.0, 1e-5)[1:] == ("classic", pytest.approx(0.7510, abs=1e-4))
    assert C.op_calibrate(0.01, 0.5, 1e-5)[1] == "classic"
    for eps in (1.5, 8.5, 10.0, 100.0):
        sigma, used, exact = C.op_calibrate(0.01, eps, 1e-5)
        assert used == "analytic" and exact == pytest.approx(eps, rel=1e-8)
    # the classic formula past its range: what its noise really certifies (issue 8, item 2)
    assert P.gaussian_epsilon(2 / C.op_sigma(1.0, 10, 1e-5), 1e-5) == pytest.approx(
        10.39, abs=0.005
    )
    assert P.gaussian_epsilon(2 / C.op_sigma(1.0, 100, 1e-5), 1e-5) == pytest.approx(
        300.1, abs=0.05
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: C.gc_epsilon(1, 1, 1e-3, 1, 0.1, -1, 1e-5),
        lambda: C.gc_epsilon(1, 1, 1e-3, 1, [0.1, 0.1], 3, 1e-5),
        lambda: C.mc_delta_path(1, 2, 3, r_first=0.0),
        lambda: C.mc_epsilon(1e-5, 2.0, 2, init_sigma=1.0),
        lambda: C.op_calibrate(0.01, math.inf, 1e-5),
        lambda: C.mc_first_radius(math.inf, 0.5, 0.5, 0.1, 1.0),
    ],
)
def test_new_accountants_refuse_bad_input(call):
    with pytest.raises(ValueError):
        call()


def test_quadrature_hockey_stick_agrees_with_the_closed_form_on_many_random_points():
    """The quadrature check must be accurate everywhere, not only on the chapter's default sample:
    its integrand has a kink where p = e^eps q (missing it cost up to 1.5e-5 on 1 point in
    3,000)."""
    import numpy as np

    from companion.theory import privacy as priv

    rng = np.random.default_rng(1)
    pts = np.column_stack([rng.uniform(0, 6, 3000), rng.uniform(0.05, 6, 3000)])
    worst = max(
        abs(priv.hockey_stick_theta(e, r) - priv.hockey_stick_gaussians(e, r, 0.0)) for e, r in pts
    )
    assert worst < 1e-12
