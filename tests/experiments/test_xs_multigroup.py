"""Tests of companion.experiments.xs_multigroup: multi-group and Mahalanobis repairs of tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from companion.data.tabular import TabularData
from companion.experiments import xs_multigroup as xm


def _table(seed: int = 0, n: int = 900) -> TabularData:
    """Three groups with shifted Gaussian features; y depends on the first feature only."""
    rng = np.random.default_rng(seed)
    z = rng.choice(3, size=n, p=[0.6, 0.25, 0.15])
    x = rng.normal(size=(n, 3))
    x[:, 1] *= 1.0 + 0.5 * (z == 1)
    x += np.array([[0.0, 0.0, 0.0], [0.8, -0.5, 0.3], [-0.6, 0.9, 0.0]])[z]
    y = (x[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(np.int64)
    return TabularData("toy", x, y, z.astype(np.int64), ["a", "b", "c"], ["A", "B", "C"], "test")


def test_setting_profiles_and_bad_values():
    q, f = xm.MultiGroupSetting.for_profile("quick"), xm.MultiGroupSetting.for_profile("full")
    assert q.max_rows == 5000 and q.n_t == 5 and q.k_folds == 3
    assert f.max_rows is None and f.n_t == 11 and f.k_folds == 5
    assert xm.MultiGroupSetting.for_profile("quick", metric="covariance").metric == "covariance"
    for bad in ({"metric": "l1"}, {"ridge": -1.0}, {"n_t": 1}, {"floor": 1.5}, {"max_rows": 10}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            xm.MultiGroupSetting(**bad)


def test_task_metric_weights_label_relevant_features():
    d = _table(1)
    for kind in xm.METRICS:
        w = xm.task_metric(d.x, d.y, kind, floor=0.05)
        assert w.shape == (3,) and w.mean() == pytest.approx(1.0)
        assert w.argmax() == 0 and w.min() >= 0.05 * w.max() - 1e-12
    # covariance: proportional to |corr(x_j, y)| (floor not binding here)
    w = xm.task_metric(d.x, d.y, "covariance", floor=1e-6)
    corr = np.abs([np.corrcoef(d.x[:, j], d.y)[0, 1] for j in range(3)])
    np.testing.assert_allclose(w, corr / corr.mean(), rtol=1e-8)
    with pytest.raises(ValueError, match="kind"):
        xm.task_metric(d.x, d.y, "l1")


@pytest.mark.parametrize("variant", xm.VARIANTS)
def test_fit_variant_moves_groups_onto_one_barycenter(variant):
    d = _table(2)
    setting = xm.MultiGroupSetting(ridge=0.0)
    bary, gmap = xm.fit_variant(d.x, d.z, d.y, 3, variant, setting)
    if variant == "two_group_l2":
        np.testing.assert_array_equal(gmap, [1, 0, 0])  # the largest group against the rest
    else:
        np.testing.assert_array_equal(gmap, [0, 1, 2])
    xh = bary.push(d.x, gmap[d.z])
    for g in np.unique(gmap):
        rows = gmap[d.z] == g
        np.testing.assert_allclose(xh[rows].mean(0), bary.m_bar, atol=1e-10)
        np.testing.assert_allclose(np.cov(xh[rows], rowvar=False), bary.s_bar, atol=1e-8)
    assert np.allclose(bary.metric, np.eye(3)) == (variant != "multi_mahalanobis")


def test_leakage_sees_a_signal_and_not_a_permutation():
    d = _table(3)
    strong = xm.leakage(d.x * 5.0, d.z, cv=3, rf_trees=20)
    assert strong["probe_bacc"] > 0.5 and strong["probe_auc"] > 0.7
    null = xm.leakage(d.x, np.random.default_rng(0).permutation(d.z), cv=3, rf_trees=20)
    assert abs(null["probe_auc"] - 0.5) < 0.08 and null["probe_bacc"] < 0.45


def test_path_on_a_small_table():
    setting = xm.MultiGroupSetting(
        max_rows=None, n_t=3, k_folds=3, probe_cv=3, rf_trees=10, n_null=2, n_boot=20
    )
    res = xm.multigroup_path(_table(4), setting, seed=0)
    path = res.path
    assert len(path) == 3 * 3 and path.attrs["rows"] == 900 and len(res.null) == 2
    start = path[path.t == 0].drop(columns="variant")
    assert (start.nunique() == 1).all()  # t = 0 is the original data for every variant
    assert (path[path.t == 0][["dist_l2", "dist_m"]] == 0).all().all()
    multi = path[path.variant == "multi_l2"].set_index("t")
    # the multi-group barycenter equalises the groups' mean predictions and the linear probe
    assert multi.loc[1.0, "dp_gap"] < 0.5 * multi.loc[0.0, "dp_gap"]
    assert multi.loc[1.0, "probe_auc"] < multi.loc[0.0, "probe_auc"] - 0.1
    assert res.groups.groupby(["variant", "t"]).n.sum().eq(900).all()
    diff, sd = res.auc_difference("multi_l2", "multi_l2", n_boot=20)
    assert diff == 0.0 and sd == 0.0
    assert res.auc_difference("multi_l2", "two_group_l2", t=0.0, n_boot=20) == (0.0, 0.0)
    with pytest.raises(ValueError, match="setting"):
        xm.multigroup_path(_table(4), {"n_t": 3})


def test_dominates_known_answers():
    path = pd.DataFrame(
        {
            "variant": ["a", "a", "b", "b"],
            "auc": [0.80, 0.79, 0.80, 0.78],
            "probe_bacc": [0.30, 0.20, 0.30, 0.25],
        }
    )
    assert xm.dominates(path, "a", "b") and not xm.dominates(path, "b", "a")
    assert xm.dominates(path, "b", "a", tol_auc=0.01, tol_leak=0.05)
    assert xm.dominates(path, "a", "a")
    with pytest.raises(ValueError, match="a/b"):
        xm.dominates(path, "a", "c")
    with pytest.raises(ValueError, match="leak"):
        xm.dominates(path, "a", "b", leak="mi")
