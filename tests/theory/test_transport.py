"""Tests of companion.theory.transport (Xu & Strohmer spec 3.2-3.3 known answers)."""

from __future__ import annotations

import numpy as np
import ot
import pytest

from companion.theory import transport as tr


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.2 * np.eye(d)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_barycenter_matches_pot(seed):
    rng = np.random.default_rng(seed)
    k, d = 3, 4
    means = rng.normal(size=(k, d))
    covs = np.stack([_spd(rng, d) for _ in range(k)])
    w = rng.dirichlet(np.ones(k))
    m, s, log = tr.gaussian_barycenter(means, covs, w, return_log=True)
    mp, sp = ot.gaussian.bures_wasserstein_barycenter(means, covs, w, num_iter=2000, eps=1e-12)
    assert log["converged"] and log["residual"] < 1e-8
    np.testing.assert_allclose(m, mp, atol=1e-10)
    np.testing.assert_allclose(s, sp, atol=1e-7)


def test_as_coded_iteration_has_same_fixed_point():
    rng = np.random.default_rng(3)
    means, covs = rng.normal(size=(2, 5)), np.stack([_spd(rng, 5) for _ in range(2)])
    w = np.array([0.3, 0.7])
    _, s1 = tr.gaussian_barycenter(means, covs, w)
    _, s2 = tr.gaussian_barycenter(means, covs, w, method="as_coded", tol=1e-12, max_iter=5000)
    np.testing.assert_allclose(s1, s2, atol=1e-8)


def test_identical_gaussians_give_themselves():
    rng = np.random.default_rng(4)
    c = _spd(rng, 3)
    m = rng.normal(size=3)
    mb, sb = tr.gaussian_barycenter(np.stack([m, m, m]), np.stack([c, c, c]), [0.2, 0.5, 0.3])
    np.testing.assert_allclose(mb, m, atol=1e-12)
    np.testing.assert_allclose(sb, c, atol=1e-9)
    np.testing.assert_allclose(tr.gaussian_ot_map(c, sb), np.eye(3), atol=1e-7)


def test_one_dimensional_closed_form():
    sig = np.array([0.5, 2.0, 1.2])
    w = np.array([0.2, 0.3, 0.5])
    _, s = tr.gaussian_barycenter(np.zeros((3, 1)), (sig**2)[:, None, None], w)
    assert np.sqrt(s[0, 0]) == pytest.approx(w @ sig, rel=1e-10)
    a = tr.gaussian_ot_map(np.array([[sig[0] ** 2]]), s)
    assert a[0, 0] == pytest.approx((w @ sig) / sig[0], rel=1e-10)


def test_commuting_covariances():
    rng = np.random.default_rng(5)
    diag = rng.uniform(0.1, 3.0, size=(3, 4))
    w = np.array([0.5, 0.25, 0.25])
    _, s = tr.gaussian_barycenter(np.zeros((3, 4)), np.stack([np.diag(v) for v in diag]), w)
    np.testing.assert_allclose(np.sqrt(np.diag(s)), w @ np.sqrt(diag), atol=1e-10)
    np.testing.assert_allclose(s - np.diag(np.diag(s)), 0, atol=1e-10)


def test_map_pushes_covariance_and_equal_covariances_give_shift():
    rng = np.random.default_rng(6)
    c0, c1 = _spd(rng, 4), _spd(rng, 4)
    a = tr.gaussian_ot_map(c0, c1)
    np.testing.assert_allclose(a, a.T, atol=1e-10)
    assert np.linalg.eigvalsh(a).min() > 0
    np.testing.assert_allclose(a @ c0 @ a, c1, atol=1e-8)


def test_w2_gaussian_matches_pot_and_is_a_distance():
    rng = np.random.default_rng(7)
    m1, m2 = rng.normal(size=3), rng.normal(size=3)
    c1, c2 = _spd(rng, 3), _spd(rng, 3)
    ours = tr.w2_gaussian(m1, c1, m2, c2, squared=False)
    assert ours == pytest.approx(
        float(ot.gaussian.bures_wasserstein_distance(m1, m2, c1, c2)), rel=1e-8
    )
    assert tr.w2_gaussian(m1, c1, m1, c1) == pytest.approx(0.0, abs=1e-9)
    assert tr.w2_gaussian(m1, c1, m2, c2) == pytest.approx(ours**2, rel=1e-10)


def test_two_group_barycenter_is_mccann_point_at_other_weight():
    rng = np.random.default_rng(8)
    m0, m1 = rng.normal(size=2), rng.normal(size=2) + 3
    c0, c1 = _spd(rng, 2), _spd(rng, 2)
    p0 = 0.3
    x0 = rng.multivariate_normal(m0, c0, size=50)
    s01 = m1 + (x0 - m0) @ tr.gaussian_ot_map(c0, c1).T  # OT map group 0 -> group 1
    mb, sb = tr.gaussian_barycenter(np.stack([m0, m1]), np.stack([c0, c1]), [p0, 1 - p0])
    direct = mb + (x0 - m0) @ tr.gaussian_ot_map(c0, sb).T
    np.testing.assert_allclose(tr.two_group_barycenter_map(x0, s01, 1 - p0), direct, atol=1e-8)
    # and it is not the midpoint unless the groups are balanced
    assert np.abs(tr.two_group_barycenter_map(x0, s01, 0.5) - direct).max() > 1e-2


def test_feature_barycenter_moments_and_path():
    rng = np.random.default_rng(9)
    n0, n1 = 3000, 1000
    x = np.vstack(
        [
            rng.multivariate_normal([0, 0, 0], _spd(rng, 3), n0),
            rng.multivariate_normal([2, -1, 1], _spd(rng, 3), n1),
        ]
    )
    z = np.r_[np.zeros(n0, int), np.ones(n1, int)]
    fb = tr.FeatureBarycenter.fit(x, z, ridge=0.0)
    np.testing.assert_allclose(fb.weights, [0.75, 0.25])
    xh = fb.transform(x, z, 1.0)
    # each mapped group has the barycenter's moments (exactly, on the fitting sample)
    for g in (
        0,
        1,
    ):
        np.testing.assert_allclose(xh[z == g].mean(0), fb.m_bar, atol=1e-8)
        np.testing.assert_allclose(np.cov(xh[z == g], rowvar=False), fb.s_bar, atol=1e-8)
    np.testing.assert_allclose(fb.transform(x, z, 0.0), x)
    np.testing.assert_allclose(fb.transform(x, z, 0.4), 0.6 * x + 0.4 * xh)
    ms, cs = fb.path_moments(1.0)
    np.testing.assert_allclose(cs[0], fb.s_bar, atol=1e-8)
    # the closed-form cost equals the realised mean squared displacement on the fitting sample
    disp = np.array(
        [
            np.mean(np.sum((x - xh)[z == g] ** 2, 1)) * (len(x[z == g]) - 1) / len(x[z == g])
            for g in (0, 1)
        ]
    )
    assert fb.cost() == pytest.approx(fb.weights @ disp, rel=1e-2)


def test_bad_inputs_are_refused():
    x, z = np.random.default_rng(0).normal(size=(20, 2)), np.r_[np.zeros(10, int), np.ones(10, int)]
    fb = tr.FeatureBarycenter.fit(x, z)
    for bad in (-0.1, 1.5, float("nan"), True):
        with pytest.raises(ValueError, match="t="):
            fb.transform(x, z, bad)
    with pytest.raises(ValueError, match="weights"):
        tr.FeatureBarycenter.fit(x, z, weights=[0.2, 0.2])
    with pytest.raises(ValueError, match="z="):
        tr.FeatureBarycenter.fit(x, np.zeros(20, int))
    with pytest.raises(ValueError, match="method"):
        tr.gaussian_barycenter(np.zeros((2, 2)), np.stack([np.eye(2)] * 2), method="newton")
    with pytest.raises(ValueError, match="covs"):
        tr.gaussian_barycenter(np.zeros((2, 2)), np.stack([np.eye(2), -np.eye(2)]))
    with pytest.raises(ValueError, match="unseen"):
        fb.push(x[:2], np.array([0, 7]))


def test_nonconvergence_warns():
    rng = np.random.default_rng(1)
    covs = np.stack([_spd(rng, 3), _spd(rng, 3)])
    with pytest.warns(RuntimeWarning, match="did not converge"):
        tr.gaussian_barycenter(np.zeros((2, 3)), covs, method="as_coded", max_iter=1, tol=1e-14)


def test_empirical_w2_and_free_support():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(60, 2))
    assert tr.empirical_w2(a, a) == pytest.approx(0.0, abs=1e-10)
    assert tr.empirical_w2(a, a + np.array([3.0, 0.0])) == pytest.approx(9.0, rel=1e-8)
    x = np.vstack([rng.normal(size=(80, 2)), rng.exponential(size=(40, 2)) + 4])
    z = np.r_[np.zeros(80, int), np.ones(40, int)]
    xt, support, cost = tr.free_support_barycenter_transform(x, z, n_support=40, seed=0)
    assert support.shape == (40, 2) and cost > 0
    # both groups land on (close to) the same measure: far smaller W2 than before
    before = tr.empirical_w2(x[z == 0], x[z == 1])
    after = tr.empirical_w2(xt[z == 0], xt[z == 1])
    assert after < 0.05 * before
    np.testing.assert_allclose(
        tr.free_support_barycenter_transform(x, z, t=0.0, n_support=40)[0], x
    )
