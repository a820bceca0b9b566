"""Known answers for the leakage measures and MI estimators (companion.theory.leakage) and the toy's
population values (companion.theory.leakage_toy)."""

import math

import numpy as np
import pytest
import torch

from companion.experiments import gmm_toy
from companion.theory import information as inf
from companion.theory import leakage as lk
from companion.theory import leakage_toy as toy

HALF = torch.tensor([0.5, 0.5], dtype=torch.float64)
SEP = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)


def _random_table(seed: int, k: int = 2, c: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    cond = rng.dirichlet(np.ones(c), size=k)
    prior = rng.dirichlet(np.ones(k))
    return torch.as_tensor(cond), torch.as_tensor(prior)


# --- tables ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_shannon_table_equals_exact_mi(seed):
    cond, prior = _random_table(seed)
    want = inf.mi_from_conditionals(cond.numpy(), prior.numpy())
    assert float(lk.shannon_mi_table(cond, prior)) == pytest.approx(want, abs=1e-12)


def test_renyi_closed_forms():
    # a perfectly separating channel with a uniform input leaks ln 2 at every order
    for a in (0.5, 2.0, 5.0):
        assert float(lk.renyi_mi_table(SEP, HALF, a)) == pytest.approx(math.log(2), abs=1e-12)
    # identical rows leak nothing
    same = torch.tensor([[0.3, 0.7], [0.3, 0.7]], dtype=torch.float64)
    assert float(lk.renyi_mi_table(same, HALF, 2.0)) == pytest.approx(0.0, abs=1e-12)
    # order 2 by hand: 2 ln sum_y sqrt(sum_z pi_z P(y|z)^2)
    cond, prior = _random_table(4)
    c, p = cond.numpy(), prior.numpy()
    want = 2 * math.log(np.sqrt((p[:, None] * c**2).sum(0)).sum())
    assert float(lk.renyi_mi_table(cond, prior, 2.0)) == pytest.approx(want, abs=1e-12)


def test_renyi_tends_to_shannon_and_grows_with_order():
    cond, prior = _random_table(5)
    shannon = float(lk.shannon_mi_table(cond, prior))
    assert float(lk.renyi_mi_table(cond, prior, 1.0)) == shannon
    assert float(lk.renyi_mi_table(cond, prior, 1.0 + 1e-6)) == pytest.approx(shannon, abs=1e-5)
    vals = [float(lk.renyi_mi_table(cond, prior, a)) for a in (0.5, 0.9, 1.5, 2.0, 4.0)]
    assert all(a <= b + 1e-12 for a, b in zip(vals, vals[1:]))


def test_chi2_closed_form_and_bound():
    # P = (1/2, 1/2); chi2(P_z || P) = 0.25 / 0.5 + 0.25 / 0.5 = 1 for each row
    assert float(lk.chi2_mi_table(SEP, HALF)) == pytest.approx(1.0, abs=1e-12)
    for seed in range(4):
        cond, prior = _random_table(seed)
        chi2 = float(lk.chi2_mi_table(cond, prior))
        assert float(lk.shannon_mi_table(cond, prior)) <= math.log1p(chi2) + 1e-12


def test_js_closed_forms():
    assert float(lk.js_table(SEP)) == pytest.approx(math.log(2), abs=1e-12)
    p = torch.tensor([[0.2, 0.8], [0.2, 0.8]], dtype=torch.float64)
    assert float(lk.js_table(p)) == pytest.approx(0.0, abs=1e-12)
    cond, prior = _random_table(6)
    assert float(lk.js_table(cond)) == pytest.approx(float(lk.shannon_mi_table(cond, HALF)))
    assert float(lk.js_table(cond)) != pytest.approx(float(lk.shannon_mi_table(cond, prior)))
    with pytest.raises(ValueError, match="cond"):
        lk.js_table(torch.ones(3, 2) / 2)


# --- sample estimators -----------------------------------------------------------------------


def test_table_measure_shannon_is_the_papers_plugin():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 30, 5, generator=g, dtype=torch.float64)
    z = (torch.arange(30) >= 12).long()
    want = inf.mi_softmax_plugin(logits, z, formulation="stable")
    assert torch.allclose(lk.table_measure(logits, z), want, atol=1e-12)
    with pytest.raises(ValueError, match="measure"):
        lk.table_measure(logits, z, "kl")
    with pytest.raises(ValueError, match="z"):
        lk.table_measure(logits, torch.zeros(30))


def test_hard_plugin_is_the_count_table_mi_and_sharpened_interpolates():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(40, 3, generator=g, dtype=torch.float64)
    z = torch.arange(40) % 2
    counts = np.zeros((3, 2))
    for y, zz in zip(logits.argmax(-1).tolist(), z.tolist()):
        counts[y, zz] += 1
    want = inf.mutual_information(counts / counts.sum())
    assert float(lk.mi_hard_plugin(logits, z)) == pytest.approx(want, abs=1e-9)
    assert float(lk.mi_sharpened(logits, z, 1e-4)) == pytest.approx(want, abs=1e-6)
    assert float(lk.mi_sharpened(logits, z, 1.0)) == pytest.approx(
        float(lk.table_measure(logits, z))
    )
    x = logits.clone().requires_grad_(True)
    assert not lk.mi_hard_plugin(x, z).requires_grad
    assert lk.mi_sharpened(x, z).requires_grad
    with pytest.raises(ValueError, match="tau"):
        lk.mi_sharpened(logits, z, 0.0)


def test_ksg_on_correlated_gaussians():
    g = torch.Generator().manual_seed(0)
    rho = 0.8
    x = torch.randn(10, 1000, 1, generator=g, dtype=torch.float64)
    y = rho * x + math.sqrt(1 - rho**2) * torch.randn(10, 1000, 1, generator=g, dtype=torch.float64)
    est = lk.mi_ksg(x, y, k=3)
    assert est.shape == (10,)
    assert float(est.mean()) == pytest.approx(-0.5 * math.log(1 - rho**2), abs=0.04)
    indep = lk.mi_ksg(x, torch.randn(10, 1000, 1, generator=g, dtype=torch.float64))
    assert abs(float(indep.mean())) < 0.02
    # two-dimensional: two independent correlated pairs add up
    x2 = torch.cat([x, torch.randn_like(x)], -1)
    y2 = torch.cat([y, rho * x2[..., 1:] + math.sqrt(1 - rho**2) * torch.randn_like(x)], -1)
    assert float(lk.mi_ksg(x2, y2).mean()) == pytest.approx(-math.log(1 - rho**2), abs=0.08)
    with pytest.raises(ValueError, match="k"):
        lk.mi_ksg(x, y, k=1000)


def test_knn_discrete_matches_scikit_learn_and_the_toy():
    fs = pytest.importorskip("sklearn.feature_selection")
    logits, z = toy.toy_logits(2.0, 500, 2, seed=3)
    x = logits[..., :1]
    est = lk.mi_knn_discrete(x, z, k=3)
    for r in range(2):
        ref = fs.mutual_info_classif(x[r].numpy(), z.numpy(), n_neighbors=3, random_state=0)[0]
        assert float(est[r]) == pytest.approx(ref, abs=1e-5)
    assert float(est.mean()) == pytest.approx(toy.toy_output_mi(2.0), abs=0.05)
    with pytest.raises(ValueError, match="z"):
        lk.mi_knn_discrete(x, torch.zeros(1000))


def test_infonce_is_bounded_by_log_n_and_reaches_the_mi_with_the_optimal_critic():
    g = torch.Generator().manual_seed(2)
    scores = 10 * torch.randn(50, 16, 16, generator=g)
    assert bool((lk.infonce_bound(scores) <= math.log(16) + 1e-6).all())
    # perfect critic on a diagonal: every term is ln N
    assert float(lk.infonce_bound(100 * torch.eye(8))) == pytest.approx(math.log(8), abs=1e-6)
    gz = torch.randn(3, 16, 2, generator=g, dtype=torch.float64)
    z = torch.arange(16) % 2
    assert torch.allclose(
        lk.infonce_binary(gz, z), lk.infonce_bound(lk.binary_critic_scores(gz, z)), atol=1e-12
    )
    # binary Z: never above the empirical entropy of Z
    assert bool((lk.infonce_binary(50 * gz, z) <= math.log(2) + 1e-9).all())
    # critic log p(l | z) on the toy: the bound tends to I(L; Z)
    s = 2.0
    logits, zz = toy.toy_logits(s, 4000, 4, seed=1)
    mu = torch.tensor([s * s / 2, -s * s / 2], dtype=torch.float64)
    crit = -((logits[..., :1] - mu) ** 2) / (2 * s * s)
    est = float(lk.infonce_binary(crit, zz).mean())
    assert est == pytest.approx(toy.toy_output_mi(s), abs=0.01)


def test_mmd2_point_masses_and_the_toy():
    a, b = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 1.0])
    logits = torch.stack([a] * 5 + [b] * 7).double()
    z = torch.tensor([0] * 5 + [1] * 7)
    pa, pb = torch.softmax(a.double(), 0), torch.softmax(b.double(), 0)
    want = 2 - 2 * math.exp(-float(((pa - pb) ** 2).sum()) / (2 * 0.5**2))
    assert float(lk.mmd2(logits, z, 0.5)) == pytest.approx(want, abs=1e-12)
    assert float(lk.mmd2(logits, z, 0.5, unbiased=False)) == pytest.approx(want, abs=1e-12)
    lo, zz = toy.toy_logits(2.0, 1000, 8, seed=5)
    # 8 samples of 1000 per group: standard error about 0.011
    assert float(lk.mmd2(lo, zz, 0.5).mean()) == pytest.approx(toy.toy_mmd2(2.0, 0.5), abs=0.04)
    x = lo[:1, 980:1020].clone().requires_grad_(True)
    lk.mmd2(x, zz[980:1020], 0.5).sum().backward()
    assert torch.isfinite(x.grad).all()
    with pytest.raises(ValueError, match="bandwidth"):
        lk.mmd2(logits, z, -1.0)


# --- the toy's population values -------------------------------------------------------------


def test_toy_soft_table_is_the_gmm_bayes_output_mi():
    means = np.array([[0.0, 0.0], [2.0, 1.0]])
    s = float(np.linalg.norm(means[0] - means[1]) / math.sqrt(1.5))
    pop = toy.toy_populations(s)
    assert pop["shannon"] == pytest.approx(gmm_toy.gmm_bayes_output_mi(means, 1.5), abs=1e-9)


def test_toy_populations_known_answers_and_quadrature():
    pop = toy.toy_populations(2.0, tau=0.25)
    # data processing: every output statistic carries at most I(L; Z) <= ln 2
    assert max(pop["shannon"], pop["sharp"], pop["hard"]) < pop["output_mi"] < math.log(2)
    # arg-max: a binary symmetric channel with error Phi(-s/2)
    e = 0.5 * (1 + math.erf(-1.0 / math.sqrt(2)))
    assert pop["hard"] == pytest.approx(math.log(2) - float(inf.binary_entropy(e)), abs=1e-12)
    assert pop["js"] == pytest.approx(pop["shannon"], abs=1e-12)
    assert toy.toy_output_mi(2.0, 300) == pytest.approx(pop["output_mi"], abs=1e-12)
    assert toy.toy_mmd2(2.0, 0.5, 300) == pytest.approx(pop["mmd2"], abs=1e-10)
    # far apart the output identifies the group
    assert toy.toy_output_mi(12.0) == pytest.approx(math.log(2), abs=1e-6)
    # the sampled toy matches the soft table
    lo, _ = toy.toy_logits(2.0, 20_000, 1, seed=0)
    mean0 = float(torch.sigmoid(lo[0, :20_000, 0]).mean())
    assert mean0 == pytest.approx(toy.toy_soft_table(2.0)[0, 0], abs=0.01)
    with pytest.raises(ValueError, match="n_quad"):
        toy.toy_output_mi(2.0, 400)
    for bad in (dict(separation=-1.0), dict(separation=2.0, n_per_group=0)):
        with pytest.raises(ValueError):
            toy.toy_logits(**{"n_per_group": 2, "n_rep": 1, **bad})
