"""Known answers for the population attacks behind one interface (AttackReport)."""

import math

import numpy as np
import pytest
import torch
from scipy.stats import norm

from companion.metrics import attacks, mia


def _binary(margins: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Two-class logits [0, m] with target 1: the true-class margin is m, -CE and both confidences
    rise with m."""
    m = torch.as_tensor(margins, dtype=torch.float64)
    return torch.stack([torch.zeros_like(m), m], 1), torch.ones(len(m), dtype=torch.long)


def _all(seed=0):
    a = attacks.population_attacks(seed)
    a["confidence (probability)"] = attacks.Confidence("probability")
    return a


def test_report_on_a_hand_built_roc():
    r = attacks.report_from_scores([3.0, 2.0], [1.0, 0.0])
    assert (r.auc, r.tpr_at_1pct, r.tpr_at_01pct, r.advantage) == (1.0, 1.0, 1.0, 1.0)
    r = attacks.report_from_scores([1.0, 0.0], [3.0, 2.0])
    assert r.auc == 0.0 and r.tpr_at_1pct == 0.0 and r.advantage == 0.0
    r = attacks.report_from_scores([2.0, 0.0], [1.0, -1.0])  # one of four pairs misordered
    assert r.auc == pytest.approx(0.75) and r.advantage == pytest.approx(0.5)
    assert r.fpr[0] == 0 and r.tpr[-1] == 1 and r.n_members == 2 and r.n_nonmembers == 2


@pytest.mark.parametrize("mu", [0.5, 1.0, 2.0])
def test_loss_threshold_auc_is_phi_mu_over_sqrt2(mu):
    rng = np.random.default_rng(int(mu * 10))
    n = 4000
    r = attacks.LossThreshold().evaluate(
        _binary(rng.normal(mu, 1, n)), _binary(rng.normal(0, 1, n))
    )
    lo, hi = r.auc_interval(0.999)
    assert lo < norm.cdf(mu / math.sqrt(2)) < hi, (r.auc, norm.cdf(mu / math.sqrt(2)))
    # the wrapper reports what metrics.mia computes on the same losses
    loss_m = mia.per_sample_loss(*_binary(rng.normal(mu, 1, 50)))
    loss_n = mia.per_sample_loss(*_binary(rng.normal(0, 1, 50)))
    ref = mia.loss_threshold_mia(loss_m, loss_n)
    got = attacks.report_from_scores(-loss_m, -loss_n)
    assert got.auc == pytest.approx(ref["auc"]) and got.tpr_at_1pct == pytest.approx(
        ref["tpr_at_1pct_fpr"]
    )


@pytest.mark.parametrize("name", list(_all()))
def test_every_attack_is_at_chance_on_one_distribution_and_near_one_when_separable(name):
    rng = np.random.default_rng(1)
    attack = _all()[name]
    same_m, same_n = _binary(rng.normal(3, 1, 1500)), _binary(rng.normal(3, 1, 1500))
    sep_m, sep_n = _binary(rng.normal(9, 0.3, 1500)), _binary(rng.normal(0.5, 0.3, 1500))
    if isinstance(attack, attacks.EntropyLR):
        attack.fit(same_m, same_n)
    lo, hi = attack.evaluate(same_m, same_n).auc_interval(0.999)
    assert lo < 0.5 < hi, (name, lo, hi)
    if isinstance(attack, attacks.EntropyLR):
        attack.fit(sep_m, sep_n)
    r = attack.evaluate(sep_m, sep_n)
    assert r.auc > 0.99 and r.tpr_at_1pct > 0.9, (name, r.summary())


def test_lr_on_loss_cv_accuracy():
    rng = np.random.default_rng(2)
    same = attacks.LROnLoss(seed=0).evaluate(
        _binary(rng.normal(2, 1, 2000)), _binary(rng.normal(2, 1, 3000))
    )
    assert abs(same.extra["cv_accuracy"] - 0.5) < 0.04
    assert same.n_members == same.n_nonmembers == 2000  # an equal-size sample of the non-members
    sep = attacks.LROnLoss(seed=0).evaluate(
        _binary(rng.normal(8, 0.3, 500)), _binary(rng.normal(0, 0.3, 500))
    )
    assert sep.extra["cv_accuracy"] > 0.99
    # a shift of mu: the best threshold's accuracy is Phi(mu / 2) (equal priors, unit variances)
    mid = attacks.LROnLoss(seed=0, folds=10).evaluate(
        _binary(rng.normal(1, 1, 3000) - 3), _binary(rng.normal(0, 1, 3000) - 3)
    )
    assert abs(mid.extra["cv_accuracy"] - norm.cdf(0.5)) < 0.03


def test_entropy_lr_wraps_the_member_rates():
    rng = np.random.default_rng(3)
    members, non = _binary(rng.normal(8, 0.5, 500)), _binary(rng.normal(0, 0.3, 500))
    attack = attacks.EntropyLR().fit(members, non)
    r = attack.evaluate(_binary(rng.normal(8, 0.5, 200)), _binary(rng.normal(0, 0.3, 200)))
    assert r.extra["member_rate"] > 0.95 and r.extra["nonmember_rate"] < 0.05
    with pytest.raises(ValueError, match="EntropyLR"):
        attacks.EntropyLR().evaluate(members, non)


def test_confidence_signals():
    z, y = _binary(np.array([0.0, 2.0]))
    assert attacks.Confidence("probability").score((z, y)) == pytest.approx(
        [0.5, 1 / (1 + math.exp(-2))]
    )
    assert attacks.Confidence("logit").score((z, y)) == pytest.approx([0.0, 2.0])


def test_bad_inputs():
    z, y = _binary(np.zeros(5))
    with pytest.raises(ValueError, match="signal"):
        attacks.Confidence("margin")
    with pytest.raises(ValueError, match="folds"):
        attacks.LROnLoss(folds=1)
    with pytest.raises(ValueError, match="members"):
        attacks.LossThreshold().evaluate((z[:, :1], y), (z, y))
    with pytest.raises(ValueError, match="members"):
        attacks.LossThreshold().evaluate((z, y + 1), (z, y))
    with pytest.raises(ValueError, match="outputs"):
        attacks.Confidence().score((z, y + 1))
    with pytest.raises(ValueError, match="members/nonmembers"):
        attacks.LROnLoss().evaluate((z[:3], y[:3]), (z, y))
    with pytest.raises(ValueError, match="scores"):
        attacks.report_from_scores([], [1.0])
    with pytest.raises(ValueError, match="scores"):
        attacks.report_from_scores([np.nan], [1.0])
    with pytest.raises(ValueError, match="level"):
        attacks.report_from_scores([1.0], [0.0]).auc_interval(1.5)


def test_clustered_interval_is_wider_than_the_naive_one_for_repeated_examples():
    """K models that score each example alike: the pairs carry the information of the examples
    only."""
    rng = np.random.default_rng(5)
    n_ex, K = 200, 16
    base = rng.normal(size=n_ex)  # one score per example, repeated (with small noise) over K models
    member = rng.random(n_ex) < 0.5
    s = base[None, :] + 0.05 * rng.normal(size=(K, n_ex))
    ids = np.broadcast_to(np.arange(n_ex), (K, n_ex))
    mm = np.broadcast_to(member, (K, n_ex))
    naive = attacks.report_from_scores(s[mm], s[~mm]).auc_interval()
    lo, hi = attacks.clustered_auc_interval(s[mm], s[~mm], ids[mm], ids[~mm], seed=0)
    assert hi - lo > 2.5 * (naive[1] - naive[0])
    assert lo < 0.5 < hi
    # independent pairs: about the naive width
    t = rng.normal(size=(K, n_ex))
    lo2, hi2 = attacks.clustered_auc_interval(t[mm], t[~mm], ids[mm], ids[~mm], seed=0)
    nv = attacks.report_from_scores(t[mm], t[~mm]).auc_interval()
    assert 0.6 < (hi2 - lo2) / (nv[1] - nv[0]) < 1.6
    with pytest.raises(ValueError, match="groups"):
        attacks.clustered_auc_interval([1.0], [0.0], [0, 1], [2])


def test_clustered_interval_weights_pairs_like_sklearn():
    """The fast weighted Mann-Whitney AUC (ties counted half) equals sklearn's weighted
    roc_auc_score."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(6)
    m, n = np.round(rng.normal(0.3, 1, 300), 1), np.round(rng.normal(0, 1, 400), 1)  # many ties
    gm, gn = rng.integers(0, 50, 300), rng.integers(0, 50, 400)
    got = attacks.clustered_auc_interval(m, n, gm, gn, n_boot=50, seed=3)
    ids, inv = np.unique(np.r_[gm, gn], return_inverse=True)
    y, s = np.r_[np.ones(300), np.zeros(400)], np.r_[m, n]
    draws = np.random.default_rng(3)
    stats = [
        roc_auc_score(
            y,
            s,
            sample_weight=np.bincount(draws.integers(0, len(ids), len(ids)), minlength=len(ids))[
                inv
            ],
        )
        for _ in range(50)
    ]
    assert got == pytest.approx(tuple(np.percentile(stats, [2.5, 97.5])))
