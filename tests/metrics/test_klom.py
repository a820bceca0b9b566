"""Known answers for KLoM (per-point binned KL of margins, unlearned vs oracle)."""

import math

import numpy as np
import pytest

from companion.metrics import klom


def test_one_distribution_gives_near_zero_and_the_bias_shrinks_with_n():
    rng = np.random.default_rng(0)
    mu = rng.uniform(-5, 5, 200)  # per-point margin means
    small = klom.klom(mu + rng.normal(size=(100, 200)), mu + rng.normal(size=(100, 200)))
    big = klom.klom(mu + rng.normal(size=(5000, 200)), mu + rng.normal(size=(5000, 200)))
    # 100 models: the floor bins bias it up
    assert np.median(big) < 0.01 and np.median(big) < np.median(small) < 0.6
    assert (small >= 0).all() and (big >= 0).all()


def test_shifted_ensembles_give_large_values():
    rng = np.random.default_rng(1)
    u = rng.normal(5, 1, (200, 50))
    o = rng.normal(0, 1, (200, 50))
    assert np.median(klom.klom(u, o)) > 5


def test_hand_built_histograms():
    # unlearned all at 0, oracle all at 1: bins 0 and 19 of the range [0, 1]; the oracle's empty bin
    # is floored
    k = klom.klom(np.zeros((4, 1)), np.ones((4, 1)))
    assert k[0] == pytest.approx(math.log(1 / 1e-5))
    # half/half against all in one bin: 0.5 ln(0.5 / 1) + 0.5 ln(0.5 / 1e-5)
    u = np.array([[0.0], [1.0]])
    o = np.array([[0.0], [0.0]])
    assert klom.klom(u, o)[0] == pytest.approx(0.5 * math.log(0.5) + 0.5 * math.log(0.5 / 1e-5))
    # equal constant samples: empty range, KLoM 0; values beyond the clip fall together
    assert klom.klom(np.full((3, 1), 7.0), np.full((5, 1), 7.0))[0] == 0.0
    assert klom.klom(np.full((3, 1), 1e6), np.full((3, 1), 100.0))[0] == 0.0
    assert klom.klom(np.full((3, 1), -np.inf), np.full((3, 1), -100.0))[0] == 0.0


def test_summary_and_splits():
    s = klom.summary(np.arange(101.0))
    assert s == {"median": 50.0, "p95": 95.0, "p99": 99.0}
    rng = np.random.default_rng(2)
    by = klom.klom_by_split(
        {"forget": rng.normal(3, 1, (50, 20)), "retain": rng.normal(0, 1, (50, 20))},
        {"forget": rng.normal(0, 1, (50, 20)), "retain": rng.normal(0, 1, (50, 20))},
    )
    assert by["forget"]["median"] > by["retain"]["median"]


def test_bad_inputs():
    with pytest.raises(ValueError, match="unlearned"):
        klom.klom(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="oracle"):
        klom.klom(np.zeros((3, 2)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="bins"):
        klom.klom(np.zeros((3, 1)), np.zeros((3, 1)), bins=0)
    with pytest.raises(ValueError, match="oracle"):
        klom.klom(np.zeros((3, 1)), np.full((3, 1), np.nan))
    with pytest.raises(ValueError, match="floor"):
        klom.klom(np.zeros((3, 1)), np.zeros((3, 1)), floor=0.0)
    with pytest.raises(ValueError, match="values"):
        klom.summary([])
    with pytest.raises(ValueError, match="oracle"):
        klom.klom_by_split({"forget": np.zeros((2, 2))}, {"retain": np.zeros((2, 2))})
