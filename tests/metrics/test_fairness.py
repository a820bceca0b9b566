"""Tests of companion.metrics.fairness (leakage audits for feature unlearning)."""

from __future__ import annotations

import numpy as np
import pytest

from companion.metrics import fairness as fm


def _groups(n: int = 600, shift: float = 3.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    z = rng.integers(0, 2, n)
    x = rng.normal(size=(n, 3)) + shift * z[:, None]
    return x, z


def test_probe_auc_detects_and_ignores():
    x, z = _groups()
    assert fm.probe_auc(x, z, "lr") > 0.95
    rng = np.random.default_rng(1)
    assert abs(fm.probe_auc(rng.normal(size=(600, 3)), z, "lr") - 0.5) < 0.08
    assert fm.probe_auc(x, z, "rf", n_estimators=20) > 0.95
    with pytest.raises(ValueError, match="probe"):
        fm.probe_auc(x, z, "svm")


def test_mi_discrete_known_answers():
    z = np.repeat([0, 1], 50)
    assert fm.mi_discrete(z, z) == pytest.approx(np.log(2))
    assert fm.mi_discrete(np.tile([0, 1], 50), z) == pytest.approx(0.0, abs=1e-12)
    # Miller-Madow correction lowers the plug-in estimate
    rng = np.random.default_rng(0)
    c = rng.integers(0, 8, 100)
    assert fm.mi_discrete(c, z, "miller_madow") < fm.mi_discrete(c, z)


def test_mi_binned_and_probe_bound():
    x, z = _groups(shift=6.0)
    assert fm.mi_binned(x, z) > 0.5 * np.log(2)
    assert 0.5 * np.log(2) < fm.mi_probe(x, z) <= np.log(2) + 1e-9
    x0, _ = _groups(shift=0.0, seed=2)
    assert fm.mi_binned(x0, z) < 0.05
    assert fm.mi_probe(x0, z) < 0.02


def test_discrimination():
    z = np.array([0, 0, 1, 1])
    assert fm.discrimination(np.array([0.2, 0.2, 0.2, 0.2]), z) == 0.0
    # mean 0.2 vs 0.4: max(|1 - 0.5|, |1 - 2|) = 1
    assert fm.discrimination(np.array([0.2, 0.2, 0.4, 0.4]), z) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        fm.discrimination(np.array([0.1, 0.2]), z)


def test_group_w2_and_distortion():
    x, z = _groups(shift=2.0)
    g = fm.group_w2(x, z)
    e = fm.group_w2(x, z, method="exact", max_samples=200)
    assert g == pytest.approx(12.0, rel=0.25) and e == pytest.approx(12.0, rel=0.3)
    assert fm.distortion(x, x) == 0.0
    assert fm.distortion(x, x + 1.0) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="method"):
        fm.group_w2(x, z, method="sinkhorn")


def test_leakage_report_keys_and_ranges():
    x, z = _groups(n=300, shift=4.0)
    r = fm.leakage_report(x, z, n_estimators=10, w2_samples=100)
    assert set(r) == {"probe_lr", "probe_rf", "mi_binned", "mi_probe_rf", "w2_gauss", "w2_exact"}
    assert r["probe_lr"] > 0.95 and r["w2_gauss"] > 20 and 0 < r["mi_probe_rf"] <= np.log(2)
