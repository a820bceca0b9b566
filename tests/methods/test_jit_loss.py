"""Tests of companion.methods.jit_loss's perturbation laws (the ``perturbation`` option of
JitConfig): matched second moments, antithetic pairs, and the default left bit for bit as it was."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from companion import data, methods, models
from companion.methods.jit import jit_unlearn
from companion.methods.jit_config import PERTURBATIONS, JitConfig
from companion.methods.jit_loss import draw_noise, lipschitz_ratios

torch.set_num_threads(1)


def _draws(law: str, n: int, shape=(2, 64), seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.stack(list(draw_noise(n, torch.zeros(shape, dtype=dtype), gen, law)))


def test_default_law_is_the_gaussian_stream_bit_for_bit():
    """The default draws are exactly ``torch.randn`` from the same generator, one per perturbation
    (what the paper and the reference code draw)."""
    x = torch.zeros(3, 1, 8, 8)
    got = list(draw_noise(5, x, torch.Generator().manual_seed(7)))
    gen = torch.Generator().manual_seed(7)
    want = [torch.randn(x.shape, generator=gen) for _ in range(5)]
    for a, b in zip(got, want):
        assert torch.equal(a, b)
    assert JitConfig().perturbation == "gaussian"


@pytest.mark.parametrize("law", PERTURBATIONS)
def test_each_law_has_zero_mean_and_unit_variance_per_coordinate(law):
    """Known answer: E z = 0 and E z^2 = 1 per coordinate, so E||sigma z||^2 = sigma^2 d exactly
    (within 5 standard errors of the sample mean)."""
    z = _draws(law, 4000)  # (4000, 2, 64)
    n = z.numel()
    sq = z.pow(2)
    assert abs(float(z.mean())) < 5 / math.sqrt(n)
    assert abs(float(sq.mean()) - 1.0) < 5 * float(sq.std()) / math.sqrt(n)
    sigma, d = 0.5, 64
    norms2 = (sigma * z).pow(2).sum(-1).flatten()  # ||xi||^2 per draw and sample
    se = float(norms2.std()) / math.sqrt(len(norms2))
    assert abs(float(norms2.mean()) - sigma**2 * d) < 5 * se


@pytest.mark.parametrize("law, kurtosis", [("uniform", 1.8), ("laplace", 6.0), ("gaussian", 3.0)])
def test_fourth_moment_identifies_the_law(law, kurtosis):
    """E z^4: 9/5 for the uniform, 6 for the Laplace, 3 for the Gaussian."""
    z = _draws(law, 6000)
    z4 = z.pow(4)
    assert abs(float(z4.mean()) - kurtosis) < 5 * float(z4.std()) / math.sqrt(z.numel())


def test_uniform_is_bounded_by_sqrt3():
    z = _draws("uniform", 200)
    assert float(z.abs().max()) <= math.sqrt(3.0)


def test_antithetic_pairs_sum_to_zero_and_an_odd_n_ends_unpaired():
    z = _draws("antithetic", 7)
    for j in range(0, 6, 2):
        assert torch.equal(z[j] + z[j + 1], torch.zeros_like(z[j]))
    assert not torch.equal(z[0], z[2])  # pairs are independent
    assert not torch.equal(z[6] + z[5], torch.zeros_like(z[6]))
    # the first member of each pair is the Gaussian stream itself
    g = _draws("gaussian", 4)
    assert torch.equal(z[0], g[0]) and torch.equal(z[2], g[1]) and torch.equal(z[6], g[3])


def test_on_a_linear_map_antithetic_n_equals_gaussian_n_over_2():
    """Known answer: for f(x) = W x the ratio of -xi equals that of xi, so the antithetic estimate
    with N draws is the Gaussian estimate with the N/2 first draws of the same stream."""
    torch.manual_seed(0)
    f = nn.Linear(6, 3).double()
    x = torch.randn(4, 6, dtype=torch.float64)
    a = lipschitz_ratios(f, x, 0.3, 8, torch.Generator().manual_seed(2), perturbation="antithetic")
    g = lipschitz_ratios(f, x, 0.3, 4, torch.Generator().manual_seed(2))
    torch.testing.assert_close(a.mean(0), g.mean(0), rtol=1e-12, atol=0)


def test_bad_law_is_refused_before_any_draw():
    gen = torch.Generator().manual_seed(0)
    state = gen.get_state()
    with pytest.raises(ValueError, match="perturbation"):
        draw_noise(3, torch.zeros(2, 4), gen, "cauchy")
    assert torch.equal(gen.get_state(), state)
    with pytest.raises(ValueError, match="perturbation"):
        JitConfig(perturbation="cauchy")


def test_explicit_gaussian_equals_the_default_and_other_laws_differ():
    task = data.load_task("digits", forget="class:3", seed=0)
    mlp = models.build("mlp", task.input_shape, task.num_classes, seed=0)
    base = methods.unlearn("jit", mlp, task, "quick", 0, "cpu").model
    same = methods.unlearn("jit", mlp, task, "quick", 0, "cpu", perturbation="gaussian").model
    for p, q in zip(base.parameters(), same.parameters()):
        assert torch.equal(p, q)
    for law in ("uniform", "laplace", "antithetic"):
        other = methods.unlearn("jit", mlp, task, "quick", 0, "cpu", perturbation=law).model
        assert any(not torch.equal(p, q) for p, q in zip(base.parameters(), other.parameters()))


def test_jit_unlearn_passes_the_law_through():
    """jit_unlearn with a law draws that law's noise: on a linear map a single antithetic pair
    cancels the pulls (zero step), a Gaussian pair does not."""
    torch.manual_seed(1)
    for law, moves in (("antithetic", False), ("gaussian", True)):
        f = nn.Linear(5, 3).double()
        before = [p.detach().clone() for p in f.parameters()]
        cfg = JitConfig(sigma=0.3, lr=1.0, n_samples=2, batch_size=1, perturbation=law)
        jit_unlearn(f, [torch.randn(1, 5, dtype=torch.float64)], cfg, seed=3)
        moved = any(
            not torch.allclose(p, b, atol=1e-12, rtol=0) for p, b in zip(f.parameters(), before)
        )
        assert moved is moves
