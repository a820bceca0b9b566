"""Known answers and invariants of companion.theory.information (Xu & Strohmer, spec 3.4 and
6.4-6.5)."""

import math

import numpy as np
import pytest
import torch

from companion.theory import information as inf


def test_entropy_kl_known_values():
    assert inf.entropy([0.5, 0.5]) == pytest.approx(math.log(2))
    assert inf.entropy([1.0, 0.0, 0.0]) == 0.0
    assert inf.entropy(np.full(7, 1 / 7)) == pytest.approx(math.log(7))
    assert inf.kl_divergence([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert inf.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(math.log(2))
    assert inf.binary_entropy(0.5) == pytest.approx(math.log(2))
    for h in (0.0, 0.1, 0.5, math.log(2)):
        q = inf.inverse_binary_entropy(h)
        assert 0 <= q <= 0.5 and inf.binary_entropy(q) == pytest.approx(h, abs=1e-9)


def test_independent_variables_have_zero_mi():
    rng = np.random.default_rng(0)
    py, pz = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(3))
    assert inf.mutual_information(np.outer(py, pz)) == pytest.approx(0.0, abs=1e-12)


def test_deterministic_function_gives_the_entropy():
    rng = np.random.default_rng(1)
    pz = rng.dirichlet(np.ones(4))
    f = np.array([2, 0, 1, 3])  # Y = f(Z), a bijection: I = H(Z)
    joint = np.zeros((4, 4))
    joint[f, np.arange(4)] = pz
    assert inf.mutual_information(joint) == pytest.approx(inf.entropy(pz))
    g = np.array([0, 0, 1, 1])  # Y = g(Z) not injective: I = H(Y)
    joint = np.zeros((2, 4))
    joint[g, np.arange(4)] = pz
    assert inf.mutual_information(joint) == pytest.approx(inf.entropy(joint.sum(1)))


def test_mi_identity_sum_of_kls_and_bound():
    rng = np.random.default_rng(2)
    for _ in range(50):
        cond = rng.dirichlet(np.ones(5), size=2)
        pi = rng.dirichlet(np.ones(2))
        mix = pi @ cond
        via_kl = sum(pi[z] * inf.kl_divergence(cond[z], mix) for z in range(2))
        assert inf.mi_from_conditionals(cond, pi) == pytest.approx(via_kl, abs=1e-12)
        assert inf.mi_from_conditionals(cond, pi) <= inf.entropy(pi) + 1e-12


@pytest.mark.parametrize("formulation", inf.FORMULATIONS)
def test_plugin_matches_exact_on_known_joint(formulation):
    torch.manual_seed(0)
    logits = torch.randn(30, 4, dtype=torch.float64) * 2
    z = torch.tensor([0] * 12 + [1] * 18)
    p = torch.softmax(logits, 1).numpy()
    cond = np.stack([p[:12].mean(0), p[12:].mean(0)])
    exact = inf.mi_from_conditionals(cond, np.array([12, 18]) / 30)
    got = inf.mi_softmax_plugin(logits, z, formulation=formulation).item()
    assert got == pytest.approx(exact, abs=1e-8)


def test_plugin_identical_groups_zero_and_disjoint_one_hot_is_hz():
    logits = torch.randn(8, 3, dtype=torch.float64).repeat(2, 1)
    z = torch.tensor([0] * 8 + [1] * 8)
    for form in inf.FORMULATIONS:
        assert inf.mi_softmax_plugin(logits, z, formulation=form).item() == pytest.approx(
            0.0, abs=1e-8
        )
    sat = torch.full((10, 2), -60.0, dtype=torch.float64)
    sat[:4, 0] = 60.0
    sat[4:, 1] = 60.0
    z = torch.tensor([0] * 4 + [1] * 6)
    hz = inf.entropy([0.4, 0.6])
    for form in inf.FORMULATIONS:
        assert inf.mi_softmax_plugin(sat, z, formulation=form).item() == pytest.approx(hz, abs=1e-6)


def test_plugin_gradient_finite_at_saturation_and_batched():
    logits = torch.tensor([[80.0, -80.0], [-80.0, 80.0], [80.0, -80.0]], requires_grad=True)
    z = torch.tensor([0, 1, 1])
    for form in inf.FORMULATIONS:
        (g,) = torch.autograd.grad(inf.mi_softmax_plugin(logits, z, formulation=form), logits)
        assert torch.isfinite(g).all()
    stacked = torch.randn(5, 12, 3)
    zz = torch.tensor([0, 1] * 6)
    each = torch.stack([inf.mi_softmax_plugin(s, zz) for s in stacked])
    assert torch.allclose(inf.mi_softmax_plugin(stacked, zz), each, atol=1e-6)


def test_plugin_refuses_bad_input():
    with pytest.raises(ValueError, match="z"):
        inf.mi_softmax_plugin(torch.randn(4, 3), torch.zeros(4))
    with pytest.raises(ValueError, match="z"):
        inf.mi_softmax_plugin(torch.randn(4, 3), torch.tensor([0, 1, 2, 1]))
    with pytest.raises(ValueError, match="formulation"):
        inf.mi_softmax_plugin(torch.randn(4, 3), torch.tensor([0, 1, 0, 1]), formulation="exactish")


def test_population_table_of_spec_6_5():
    counts = np.array([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949.0])
    counts[3] -= 4598  # MNIST training digits; D_r keeps 1,533 threes
    mr = counts / counts.sum()
    for acc, expected in [(1.0, 0.0466), (0.945, 0.0430), (0.5, 0.0167), (0.2, 0.0035)]:
        mu = np.full(10, (1 - acc) / 9)
        mu[3] = acc
        assert inf.marginal_mi_population(mr, mu) == pytest.approx(expected, abs=5e-5)
    assert inf.marginal_mi_population(mr, mr) == pytest.approx(0.0, abs=1e-12)


def test_marginal_batch_equals_population_when_means_fixed():
    lr = torch.log(torch.tensor([[0.7, 0.2, 0.1]], dtype=torch.float64)).repeat(64, 1)
    lu = torch.log(torch.tensor([[0.1, 0.1, 0.8]], dtype=torch.float64)).repeat(16, 1)
    got = inf.marginal_mi(lr, lu).item()
    assert got == pytest.approx(
        inf.marginal_mi_population([0.7, 0.2, 0.1], [0.1, 0.1, 0.8]), abs=1e-8
    )


def test_pinsker_bounds_hold_on_random_instances():
    rng = np.random.default_rng(3)
    for _ in range(300):
        c = rng.integers(2, 8)
        cond = rng.dirichlet(np.full(c, rng.uniform(0.1, 2)), size=2)
        p0 = float(rng.uniform(0.05, 0.95))
        mi = inf.mi_from_conditionals(cond, [p0, 1 - p0])
        tv = inf.total_variation(cond[0], cond[1])
        tight, tri = inf.tv_bound(mi, p0, "tight"), inf.tv_bound(mi, p0, "triangle")
        assert tv <= tight + 1e-12 and tight <= tri + 1e-12
        mi_eq = inf.mi_from_conditionals(cond, [0.5, 0.5])
        assert inf.bayes_accuracy(cond, [0.5, 0.5]) <= inf.detection_accuracy_bound(mi_eq) + 1e-12
        assert inf.bayes_accuracy(cond, [p0, 1 - p0]) <= inf.fano_accuracy_bound(mi, p0) + 1e-9
    assert inf.tv_bound(0.0) == 0.0 and inf.fano_accuracy_bound(0.0, 0.3) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="prior0"):
        inf.tv_bound(0.1, 1.0)
    with pytest.raises(ValueError, match="mi"):
        inf.tv_bound(-0.1)


def test_plugin_bias_matches_miller_madow_on_hard_labels():
    cond = np.array([[0.25, 0.25, 0.25, 0.25]] * 2)  # independent: exact MI 0
    est = inf.plugin_mi_hard_labels(cond, 200, 200, n_rep=3000, seed=0)
    mm = inf.miller_madow_bias(4, 400)
    assert est.min() >= -1e-12
    assert est.mean() == pytest.approx(mm, rel=0.15)


def test_bootstrap_marginal_mi_is_biased_upwards_and_unbiased_at_full_pools():
    gen = torch.Generator().manual_seed(0)
    pr = torch.softmax(torch.randn(500, 5, generator=gen, dtype=torch.float64) * 2, 1)
    pu = pr.clone()  # identical output distributions: population value 0
    est = inf.bootstrap_marginal_mi(pr, pu, 64, 16, n_boot=400, seed=1)
    assert est.min() >= -1e-9 and est.mean() > 1e-4
    # whole pools: no sampling noise
    full = inf.bootstrap_marginal_mi(pr, pu[:16], 500, 16, n_boot=3, seed=1)
    assert np.allclose(
        full,
        inf.marginal_mi_population(pr.mean(0).numpy(), pu[:16].mean(0).numpy(), 500, 16),
        atol=1e-9,
    )
    with pytest.raises(ValueError, match="n_r"):
        inf.bootstrap_marginal_mi(pr, pu, 1000, 16)
