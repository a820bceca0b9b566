"""Known answers for LiRA and U-LiRA on synthetic per-example Gaussian signals."""

import numpy as np
import pytest
from scipy.stats import norm

from companion.metrics import lira


def _world(n_examples, rng, d=2.0, sd=1.0):
    """Per-example OUT means spread over [-3, 3]; IN means d higher; one common sd."""
    mu_out = rng.uniform(-3, 3, n_examples)
    return mu_out, mu_out + d, sd


def _draw(rng, mask, mu_in, mu_out, sd):
    return np.where(mask, mu_in, mu_out) + sd * rng.normal(size=mask.shape)


@pytest.mark.parametrize("online", [True, False])
def test_lira_reaches_the_neyman_pearson_tpr(online):
    """Equal variances: Lambda is monotone in phi - mu_out(x) for every example, so the pooled
    likelihood-ratio test at FPR a has TPR 1 - Phi(z_{1-a} - d) (Neyman-Pearson)."""
    rng = np.random.default_rng(0)
    d = 2.0
    mu_out, mu_in, sd = _world(2000, rng, d)
    ref_in = rng.random((256, 2000)) < 0.5
    ref = _draw(rng, ref_in, mu_in, mu_out, sd)
    tgt_in = np.r_[np.ones((20, 2000), bool), np.zeros((20, 2000), bool)]
    tgt = _draw(rng, tgt_in, mu_in, mu_out, sd)
    scores = lira.lira_scores(ref, ref_in, tgt, online=online)
    from companion.metrics.attacks import report_from_scores

    r = report_from_scores(scores[tgt_in], scores[~tgt_in])
    for fpr, got in ((0.01, r.tpr_at_1pct), (0.001, r.tpr_at_01pct)):
        best = 1 - norm.cdf(norm.ppf(1 - fpr) - d)
        assert got <= best + 0.02 and got > best - 0.04, (fpr, got, best)


def test_lira_recovers_planted_membership_and_is_at_chance_without_it():
    rng = np.random.default_rng(1)
    K, N = 32, 600
    mask = np.zeros((K, N), bool)
    for i in range(N):
        mask[rng.permutation(K)[: K // 2], i] = True
    mu_out, mu_in, sd = _world(N, rng, d=3.0)
    planted = lira.lira(_draw(rng, mask, mu_in, mu_out, sd), mask)
    assert planted.report.auc > 0.95 and planted.report.tpr_at_1pct > 0.5
    assert np.nanmedian(planted.per_example_auc) > 0.9
    null = lira.lira(_draw(rng, mask, mu_out, mu_out, sd), mask, folds=2)
    lo, hi = null.report.auc_interval(0.999)
    assert lo < 0.5 < hi


def test_global_variance_below_64_models_pools_within_examples():
    rng = np.random.default_rng(2)
    s = rng.normal(size=(10, 300)) * 2.0 + rng.uniform(-5, 5, 300)  # per-example means, sd 2
    mask = np.zeros_like(s, bool)
    mask[:5] = True
    fits = lira.fit_gaussians(s, mask)
    assert fits.global_variance and np.allclose(fits.sd_pos, fits.sd_pos[0])
    assert fits.sd_pos[0] == pytest.approx(2.0, rel=0.1) and fits.sd_neg[0] == pytest.approx(
        2.0, rel=0.1
    )
    assert np.allclose(fits.mu_pos, s[:5].mean(0))
    per = lira.fit_gaussians(s, mask, global_variance=False)
    assert not per.global_variance and np.allclose(per.sd_neg, s[5:].std(0, ddof=1))


def test_offline_score_is_the_one_sided_tail():
    s = np.array([[0.0], [2.0], [1.0]])
    out = np.ones((3, 1), bool)
    sc = lira.lira_scores(
        s, ~out, np.array([1.0 + 3.0]), ref_out=out, online=False, global_variance=False
    )
    assert sc[0] == pytest.approx(-norm.logsf(3.0))


def test_ulira_is_at_chance_on_retrained_like_targets_and_detects_a_trace():
    rng = np.random.default_rng(3)
    K, N = 32, 400
    mask = np.zeros((K, N), bool)
    for f in (0, 1):  # balanced within each fold, as the audit's masks
        for i in range(N):
            mask[f * 16 + rng.permutation(16)[:8], i] = True
    mu_out, _, sd = _world(N, rng)
    same = lira.ulira(_draw(rng, mask, mu_out, mu_out, sd), mask, ~mask)
    assert same.interval[0] < 0.5 < same.interval[1], same.interval
    trace = lira.ulira(_draw(rng, mask, mu_out + 1.0, mu_out, sd), mask, ~mask)
    # the Bayes accuracy of N(1, 1) vs N(0, 1) at equal priors is Phi(1/2)
    assert trace.balanced_accuracy == pytest.approx(norm.cdf(0.5), abs=0.03)
    assert trace.interval[0] > 0.55 and trace.report.tpr_at_1pct > 0.02


def test_leave_one_out_is_biased_below_chance_at_the_null():
    """Why U-LiRA's default uses held-out folds: with few shadows, leave-one-out pulls a target's
    own group mean (and variance) away from it, so identical groups score below 0.5; two folds do
    not."""
    rng = np.random.default_rng(0)
    K, N = 8, 3000
    mask = np.zeros((K, N), bool)
    for f in (0, 1):
        for i in range(N):
            mask[f * 4 + rng.permutation(4)[:2], i] = True
    s = rng.normal(size=(K, N))
    loo = lira.ulira(s, mask, ~mask, global_variance=False, folds=None)
    assert loo.interval[1] < 0.5, loo.interval
    two = lira.ulira(s, mask, ~mask, global_variance=False, folds=2)
    assert two.interval[0] < 0.5 < two.interval[1], two.interval


def test_bad_inputs():
    s = np.zeros((6, 4))
    m = np.zeros((6, 4), bool)
    m[:3] = True
    with pytest.raises(ValueError, match="signals"):
        lira.lira(np.zeros(4), m[0])
    with pytest.raises(ValueError, match="in_mask"):
        lira.lira(s, m[:, :3])
    with pytest.raises(ValueError, match="pos"):
        lira.fit_gaussians(s, np.zeros_like(m))  # no IN model for any example
    with pytest.raises(ValueError, match="neg"):
        lira.fit_gaussians(s, m, neg=m)
    with pytest.raises(ValueError, match="never"):
        lira.ulira(s, m, m)
    with pytest.raises(ValueError, match="folds"):
        lira.cross_fit(s, m, folds=1)
    with pytest.raises(ValueError, match="signals"):
        lira.lira(np.full((6, 4), np.nan), m)
    with pytest.raises(ValueError, match="target_signals"):
        lira.lira_scores(s, m, np.zeros(5))
