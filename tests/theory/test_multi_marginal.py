"""Tests of companion.theory.multi_marginal: multi-group Gaussian barycenters under W2 and under a
Mahalanobis cost, against POT and closed forms."""

from __future__ import annotations

import numpy as np
import ot
import pytest
from scipy.spatial.distance import cdist

from companion.theory import multi_marginal as mm
from companion.theory.transport import FeatureBarycenter


def _spd(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.2 * np.eye(d)


def _groups(seed: int, k: int = 5, d: int = 4):
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(k, d))
    covs = np.stack([_spd(rng, d) for _ in range(k)])
    return rng, means, covs, rng.dirichlet(np.ones(k))


@pytest.mark.parametrize("seed", [0, 1])
def test_multi_group_w2_barycenter_and_maps_match_pot(seed):
    _, means, covs, w = _groups(seed)
    gb = mm.group_barycenter(means, covs, w)
    mp, sp = ot.gaussian.bures_wasserstein_barycenter(means, covs, w, num_iter=3000, eps=1e-13)
    assert gb.log["converged"]
    np.testing.assert_allclose(gb.m_bar, mp, atol=1e-10)
    np.testing.assert_allclose(gb.s_bar, sp, atol=1e-7)
    np.testing.assert_allclose(gb.metric, np.eye(4))
    x = np.random.default_rng(9).normal(size=(7, 4))
    for zi, (m, c, b) in enumerate(zip(means, covs, gb.maps)):
        a, shift = ot.gaussian.bures_wasserstein_mapping(m, gb.m_bar, c, gb.s_bar)
        np.testing.assert_allclose(b, a, atol=1e-7)
        np.testing.assert_allclose(gb.push(x, np.full(7, zi)), x @ a + shift, atol=1e-6)


@pytest.mark.parametrize("metric_kind", ["diag", "full"])
def test_mahalanobis_maps_push_to_barycenter_and_are_m_self_adjoint(metric_kind):
    rng, means, covs, w = _groups(2)
    metric = rng.uniform(0.2, 3.0, 4) if metric_kind == "diag" else _spd(rng, 4)
    gb = mm.group_barycenter(means, covs, w, metric)
    m = gb.metric
    np.testing.assert_allclose(gb.m_bar, w @ means, atol=1e-12)
    for b, c in zip(gb.maps, covs):
        np.testing.assert_allclose(b @ c @ b.T, gb.s_bar, atol=1e-8)  # T_z # N(m_z, S_z) = bary
        mb = m @ b
        np.testing.assert_allclose(mb, mb.T, atol=1e-9)  # B = M^{-1} (sym. PSD): c_M-optimal
        assert np.linalg.eigvalsh(0.5 * (mb + mb.T)).min() > 0
    # the whitened barycenter satisfies Agueh-Carlier's fixed point in the whitened coordinates
    r = mm.metric_root(metric, 4)[0]
    s_w = r @ gb.s_bar @ r
    fixed = sum(
        p * mm.sqrtm_psd(mm.sqrtm_psd(s_w) @ r @ c @ r @ mm.sqrtm_psd(s_w)) for p, c in zip(w, covs)
    )
    np.testing.assert_allclose(fixed, s_w, atol=1e-8)


def test_mahalanobis_barycenter_is_cheaper_under_its_cost_and_l2_under_l2():
    rng, means, covs, w = _groups(3)
    metric = np.array([5.0, 0.2, 1.0, 0.1])
    l2, mh = mm.group_barycenter(means, covs, w), mm.group_barycenter(means, covs, w, metric)

    def cost(bary, met):
        return sum(
            p * mm.w2_gaussian_mahalanobis(mz, c, bary.m_bar, bary.s_bar, met)
            for p, mz, c in zip(w, means, covs)
        )

    assert mh.cost() == pytest.approx(cost(mh, metric), rel=1e-12)
    assert cost(mh, metric) < cost(l2, metric)
    assert cost(l2, None) < cost(mh, None)
    assert l2.cost() == pytest.approx(cost(l2, None), rel=1e-12)


def test_commuting_case_and_scale_invariance():
    rng = np.random.default_rng(4)
    diag = rng.uniform(0.1, 3.0, size=(3, 4))
    covs = np.stack([np.diag(v) for v in diag])
    means, w = rng.normal(size=(3, 4)), np.array([0.5, 0.3, 0.2])
    l2 = mm.group_barycenter(means, covs, w)
    mh = mm.group_barycenter(means, covs, w, rng.uniform(0.1, 5.0, 4))
    np.testing.assert_allclose(mh.maps, l2.maps, atol=1e-9)  # diagonal M, diagonal covariances
    # one shared covariance: every map is the identity (a pure translation) for any M
    shared = np.stack([_spd(rng, 4)] * 3)
    for metric in (None, _spd(rng, 4)):
        eq = mm.group_barycenter(means, shared, w, metric)
        np.testing.assert_allclose(eq.maps, np.broadcast_to(np.eye(4), (3, 4, 4)), atol=1e-7)
        np.testing.assert_allclose(eq.s_bar, shared[0], atol=1e-7)
    _, means, covs, w = _groups(5, k=3)
    base = mm.group_barycenter(means, covs, w)
    scaled = mm.group_barycenter(means, covs, w, 7.0 * np.eye(4))
    np.testing.assert_allclose(scaled.maps, base.maps, atol=1e-8)
    np.testing.assert_allclose(scaled.s_bar, base.s_bar, atol=1e-8)


def test_two_groups_match_feature_barycenter():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 3))
    z = (rng.random(300) < 0.3).astype(int)
    x[z == 1] += 1.0
    fb = FeatureBarycenter.fit(x, z, ridge=1e-3)
    p, means, covs = mm.group_moments(x, z, 2, ridge=1e-3)
    gb = mm.group_barycenter(means, covs, p)
    np.testing.assert_allclose(gb.maps, fb.maps, atol=1e-7)
    np.testing.assert_allclose(gb.push(x, z, 0.6), fb.transform(x, z, 0.6), atol=1e-7)
    np.testing.assert_allclose(gb.push(x, z, 0.0), x)


def test_mahalanobis_emd_is_pots_plan_under_the_mahalanobis_cost():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(9, 3)), rng.normal(size=(9, 3)) + 0.5
    metric = _spd(rng, 3)
    c = mm.mahalanobis_cost_matrix(x, y, metric)
    np.testing.assert_allclose(c, cdist(x, y, "mahalanobis", VI=metric) ** 2, atol=1e-10)
    a = np.full(9, 1 / 9)
    plan_pot = ot.emd(a, a, c)
    plan, cost = mm.mahalanobis_emd(x, y, metric)
    np.testing.assert_allclose(plan, plan_pot, atol=1e-12)
    assert cost == pytest.approx(float(np.sum(plan_pot * c)), rel=1e-10)
    assert cost == pytest.approx(ot.emd2(a, a, c), rel=1e-10)
    # the squared-Euclidean plan is no cheaper under c_M than the c_M-optimal one
    plan_l2, _ = mm.mahalanobis_emd(x, y, None)
    assert cost <= float(np.sum(plan_l2 * c)) + 1e-12


def test_free_support_one_dimensional_quantile_average():
    rng = np.random.default_rng(8)
    locs = [rng.normal(loc=mu, scale=s, size=(12, 1)) for mu, s in ((0, 1), (3, 0.5), (-1, 2))]
    w = np.array([0.2, 0.5, 0.3])
    expected = np.sort(sum(wz * np.sort(loc[:, 0]) for wz, loc in zip(w, locs)))
    for metric in (None, np.array([4.0])):
        sup = mm.mahalanobis_free_support_barycenter(locs, locs[0], metric, w)
        np.testing.assert_allclose(np.sort(sup[:, 0]), expected, atol=1e-10)


def test_free_support_under_mahalanobis_equals_direct_iteration_with_the_cost_matrix():
    rng = np.random.default_rng(9)
    locs = [rng.normal(size=(10, 2)) + s for s in ([0, 0], [2, 1], [-1, 3])]
    w = np.array([0.3, 0.3, 0.4])
    metric = np.array([[2.0, 0.5], [0.5, 0.4]])
    init = rng.normal(size=(6, 2))
    sup = mm.mahalanobis_free_support_barycenter(locs, init, metric, w, max_iter=50)
    x, b = init.copy(), np.full(6, 1 / 6)
    for _ in range(50):  # POT's update, with the cost and the stopping norm under c_M
        new = sum(
            wz
            * (ot.emd(b, np.full(10, 0.1), mm.mahalanobis_cost_matrix(x, loc, metric)) @ loc)
            / b[:, None]
            for wz, loc in zip(w, locs)
        )
        step = float(np.einsum("ni,ij,nj->", new - x, metric, new - x))
        x = new
        if step <= 1e-7:
            break
    np.testing.assert_allclose(sup, x, atol=1e-9)


def test_bad_inputs_raise_before_work():
    _, means, covs, w = _groups(10, k=3, d=2)
    with pytest.raises(ValueError, match="metric"):
        mm.group_barycenter(means, covs, w, np.array([1.0, -1.0]))
    with pytest.raises(ValueError, match="metric"):
        mm.group_barycenter(means, covs, w, np.array([[1.0, 2.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="metric"):
        mm.check_metric(np.array([[1.0, 1.0], [1.0, 1.0]]), 2)
    with pytest.raises(ValueError, match="weights"):
        mm.group_barycenter(means, covs, [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="means"):
        mm.group_barycenter(means[:1], covs[:1])
    with pytest.raises(ValueError, match="idx"):
        mm.group_moments(np.zeros((4, 2)), np.array([0, 0, 0, 1]), 2)
    with pytest.raises(ValueError, match="ridge"):
        mm.group_moments(np.zeros((4, 2)), np.array([0, 0, 1, 1]), 2, ridge=-1.0)
    gb = mm.group_barycenter(means, covs, w)
    with pytest.raises(ValueError, match="idx"):
        gb.push(np.zeros((2, 2)), np.array([0, 3]))
    with pytest.raises(ValueError, match="t="):
        gb.push(np.zeros((2, 2)), np.array([0, 1]), 1.5)
    with pytest.raises(ValueError, match="locations"):
        mm.mahalanobis_free_support_barycenter([np.zeros((3, 2))], np.zeros((2, 2)), None)
