"""Known answers and invariants of companion.theory.repeated (chapter cert/06)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from companion.theory import certified as C
from companion.theory import privacy as P
from companion.theory import repeated as R

MNIST = dict(c0=0.01, c1=100.0, gamma=1e-4, lam=10.0)  # 2 C0 < 2 C1 / lambda
FIG2 = dict(c0=20.0, c1=10.0, gamma=1e-2, lam=50.0)  # 2 C0 > 2 C1 / lambda
EPS, DELTA = 1.0, 1e-5


@pytest.mark.parametrize("cfg", [MNIST, FIG2])
def test_every_option_reduces_to_the_single_request_at_k_1(cfg):
    T = C.gc_steps(**cfg)
    single = C.gc_sigma(
        P.required_eps_r(EPS, DELTA), T, cfg["gamma"], cfg["lam"], cfg["c0"], cfg["c1"]
    )
    for option in R.OPTIONS:
        s = R.noise_for_requests(option, 1, EPS, DELTA, steps=T, **cfg)
        assert s == pytest.approx(single, rel=1e-9), option
    # the chain and repeated certificates of one request are the single certificate exactly
    eps1, eps_r1 = C.gc_epsilon(**cfg, sigma=single, steps=T, delta=DELTA)
    for reclip in (True, False):
        rep = R.gc_repeated_epsilon(**cfg, sigma=single, steps=T, k=1, delta=DELTA, reclip=reclip)
        assert rep["eps_r"] == pytest.approx(eps_r1, rel=1e-12)
        assert rep["epsilon"] == pytest.approx(eps1, rel=1e-12)
        assert rep["epsilon"] == pytest.approx(EPS, rel=1e-6)


def test_restart_noise_is_constant_and_certificate_never_worse():
    T = C.gc_steps(**MNIST)
    s1 = R.noise_for_requests("restart", 1, EPS, DELTA, steps=T, **MNIST)
    for k in (2, 5, 30):
        assert R.noise_for_requests("restart", k, EPS, DELTA, steps=T, **MNIST) == s1
        for cfg in (MNIST, FIG2):
            Tc = C.gc_steps(**cfg)
            sc = R.noise_for_requests("restart", 1, EPS, DELTA, steps=Tc, **cfg)
            rep = R.gc_repeated_epsilon(**cfg, sigma=sc, steps=Tc, k=k, delta=DELTA)
            assert rep["epsilon"] <= EPS * (1 + 1e-9)
            assert rep["eps_r"] == min(rep["eps_r_restart"], rep["eps_r_chain"])


def test_chain_bound_is_pabi_over_k_T_steps_and_per_request_sigmas():
    T = 4
    got = R.gc_chain_eps_r(**MNIST, sigma=0.2, steps=T, k=3)
    assert got == pytest.approx(C.pabi_eps_r(**MNIST, sigma=0.2, steps=3 * T), rel=1e-14)
    per = R.gc_chain_eps_r(**MNIST, sigma=[0.1, 0.2, 0.3], steps=T, k=3)
    assert per == pytest.approx(
        C.pabi_eps_r(**MNIST, sigma=[0.1] * 4 + [0.2] * 4 + [0.3] * 4, steps=12)
    )
    with pytest.raises(ValueError, match="sigma"):
        R.gc_chain_eps_r(**MNIST, sigma=[0.1, 0.2], steps=T, k=3)


@pytest.mark.parametrize("cfg", [MNIST, FIG2])
def test_continue_sigma_is_the_max_calibration_and_tends_to_the_closed_form_limit(cfg):
    er = P.required_eps_r(EPS, DELTA)
    T = C.gc_steps(**cfg)
    s = [
        R.gc_continue_sigma(er, T, cfg["gamma"], cfg["lam"], cfg["c0"], cfg["c1"], k)
        for k in (1, 2, 8)
    ]
    assert s[0] <= s[1] <= s[2]
    # the calibrated sigma makes the chain bound after its worst request exactly the target
    k = 8
    worst = max(R.gc_chain_eps_r(**cfg, sigma=s[2], steps=T, k=i) for i in range(1, k + 1))
    assert worst == pytest.approx(er, rel=1e-9)
    limit = R.gc_continue_sigma_limit(er, cfg["gamma"], cfg["lam"], cfg["c1"])
    far = float(C.gc_sigma(er, 10**7, cfg["gamma"], cfg["lam"], cfg["c0"], cfg["c1"]))
    assert far == pytest.approx(limit, rel=1e-6)


def test_rdp_composition_of_gaussians_matches_the_gdp_closed_form():
    mus = np.array([0.3, 0.5, 1.2])
    mu = R.gaussian_composition(mus)
    assert mu == pytest.approx(math.sqrt(0.09 + 0.25 + 1.44), rel=1e-15)
    # a Gaussian mechanism with shift mu has Renyi bound alpha mu^2 / 2: composition adds them
    composed = R.rdp_composition(mus**2 / 2)
    assert composed == pytest.approx(mu**2 / 2, rel=1e-14)
    # the exact (GDP) eps of the composition is below the RDP conversion of the summed bound
    exact = P.gaussian_epsilon(mu, DELTA)
    assert exact <= P.rdp_to_dp(composed, DELTA)[0]
    # and equals the exact eps of a single Gaussian of that shift, by quadrature of the profile
    assert P.gaussian_delta(exact, mu) == pytest.approx(DELTA, rel=1e-6)
    for bad in ([], [0.1, -1.0], [np.inf]):
        with pytest.raises(ValueError):
            R.rdp_composition(bad)
    with pytest.raises(ValueError, match="mus"):
        R.gaussian_composition([-0.1])


def test_chained_certificate_inverts_and_is_at_most_group_privacy():
    for k in (1, 2, 7):
        e1, d1 = R.chained_budget(EPS, DELTA, k)
        e, d = R.chained_certificate(e1, d1, k)
        assert e == pytest.approx(EPS, rel=1e-14) and d == pytest.approx(DELTA, rel=1e-12)
        ge, gd = P.group_privacy(e1, d1, k)
        assert ge == pytest.approx(e) and d <= gd * (1 + 1e-12)
    assert R.chained_certificate(0.5, 1e-6, 1) == (0.5, 1e-6)
    # two links by hand: (e1 + e2, d1 + e^e1 d2)
    assert R.chained_certificate(0.5, 1e-6, 2)[1] == pytest.approx(1e-6 * (1 + math.exp(0.5)))


def test_joint_and_chained_noise_growth():
    T = C.gc_steps(**FIG2)
    s1 = R.noise_for_requests("joint", 1, EPS, DELTA, steps=T, **FIG2)
    for k in (2, 4, 9):
        sj = R.noise_for_requests("joint", k, EPS, DELTA, steps=T, **FIG2)
        assert sj / s1 == pytest.approx(math.sqrt(k), rel=1e-9)  # sigma ~ 1 / sqrt(eps_R)
        sc = R.noise_for_requests("chained", k, EPS, DELTA, steps=T, **FIG2)
        assert sc > sj  # eps / k per link costs more than eps_R / k
    g = R.noise_for_requests("group", 2, EPS, DELTA, steps=T, per_request=3, **FIG2)
    assert g == pytest.approx(R.noise_for_requests("group", 6, EPS, DELTA, steps=T, **FIG2))


def test_mc_warm_start_saves_exactly_one_step():
    for eps, r in [(1.0, 2.0), (1.0, 2 * 0.625 / 0.5), (0.5, 1.0), (2.0, 3.0)]:
        T = C.mc_steps(eps, DELTA, r)
        assert R.mc_warm_steps(eps, DELTA, r) == T - 1
    assert R.mc_warm_steps(1.0, DELTA, 2.0) == 5  # spec 4.2: T = 6


def test_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match="option"):
        R.noise_for_requests("sequential", 2, EPS, DELTA, **MNIST)
    with pytest.raises(ValueError, match="k"):
        R.noise_for_requests("restart", 0, EPS, DELTA, **MNIST)
    with pytest.raises(ValueError, match="per_request"):
        R.noise_for_requests("group", 2, EPS, DELTA, per_request=0, **MNIST)
    with pytest.raises(ValueError, match="reclip"):
        R.gc_repeated_epsilon(**MNIST, sigma=0.1, steps=1, k=2, delta=DELTA, reclip="yes")
    with pytest.raises(ValueError, match="delta"):
        R.chained_budget(1.0, 1.5, 2)
    with pytest.raises(ValueError, match="gamma"):
        R.gc_continue_sigma_limit(0.1, 0.5, 2.0, 1.0)
