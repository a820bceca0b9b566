"""Known answers for the metrics (evaluation spec, section 11)."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from companion import metrics
from companion.metrics import mia


def test_entropy_known_answers():
    p = torch.tensor([[0.25] * 4, [1.0, 0, 0, 0]])
    h = mia.entropy(p)
    assert h[0] == pytest.approx(math.log(4)) and h[1] == 0.0 and not np.isnan(h).any()


def _probs_with_entropy(h: np.ndarray) -> torch.Tensor:
    """Two-class softmax rows whose entropy is h (h in (0, ln 2))."""
    from scipy.optimize import brentq

    def solve(v: float) -> float:
        return brentq(lambda q: -(q * math.log(q) + (1 - q) * math.log(1 - q)) - v, 1e-12, 0.5)

    ps = [solve(v) for v in np.clip(h, 1e-6, math.log(2) - 1e-6)]
    ps = np.array(ps)
    return torch.tensor(np.stack([1 - ps, ps], 1))


def test_entropy_mia_synthetic_members_and_nonmembers():
    rng = np.random.default_rng(0)
    members = _probs_with_entropy(rng.normal(0.1, 0.05, 300).clip(0.01, 0.6))
    non = _probs_with_entropy(rng.normal(0.6, 0.05, 300).clip(0.01, 0.69))
    like_members = _probs_with_entropy(rng.normal(0.1, 0.05, 100).clip(0.01, 0.6))
    like_non = _probs_with_entropy(rng.normal(0.6, 0.05, 100).clip(0.01, 0.69))
    assert mia.entropy_lr_mia(members, non, like_members)["forget_member_rate"] > 0.95
    assert mia.entropy_lr_mia(members, non, like_non)["forget_member_rate"] < 0.05


def test_entropy_mia_same_distribution_is_near_half():
    rng = np.random.default_rng(1)
    sample = lambda n: _probs_with_entropy(rng.uniform(0.05, 0.65, n))
    r = mia.entropy_lr_mia(sample(2000), sample(2000), sample(1000), heldout_probs=sample(1000))
    # with identical distributions the attack is a coin flip: both rates within sampling noise of
    # each other
    assert abs(r["forget_member_rate"] - r["heldout_member_rate"]) < 0.1


def test_loss_threshold_auc_known_answers():
    rng = np.random.default_rng(2)
    same = mia.loss_threshold_mia(rng.normal(0, 1, 4000), rng.normal(0, 1, 4000))
    assert abs(same["auc"] - 0.5) < 0.03 and abs(same["balanced_accuracy"] - 0.5) < 0.05
    mu = 1.0  # scores -loss: members ~ N(mu, 1) means losses ~ N(-mu, 1)
    shifted = mia.loss_threshold_mia(rng.normal(-mu, 1, 4000), rng.normal(0, 1, 4000))
    assert shifted["auc"] == pytest.approx(norm.cdf(mu / math.sqrt(2)), abs=0.02)
    assert 0 <= shifted["tpr_at_0.1pct_fpr"] <= shifted["tpr_at_1pct_fpr"] <= 1
    with pytest.raises(ValueError, match="at least 2"):
        mia.loss_threshold_mia(np.array([1.0]), np.array([1.0, 2.0]))


def test_evaluate_keys_and_perfect_model(digits_class_task, digits_model):
    s = metrics.evaluate(digits_model, digits_class_task)
    for k in (
        "retain_acc",
        "forget_acc",
        "test_acc",
        "val_acc",
        "Dr",
        "Df",
        "mia_entropy",
        "mia_loss_auc",
    ):
        assert 0 <= s[k] <= 1, k
    assert s["retain_acc"] > 0.9
    with pytest.raises(ValueError, match="model"):
        metrics.evaluate("not a model", digits_class_task)


def test_speedup():
    assert metrics.speedup(10.0, 2.0) == 5.0 and metrics.speedup(1.0, 0.0) == math.inf
