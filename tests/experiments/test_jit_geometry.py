"""Tests of companion.experiments.jit_geometry: the geometry toys of Foster et al. (v4)."""

from __future__ import annotations

import copy

import torch
from torch import nn

from companion.experiments import jit_geometry as jg
from companion.theory import jit as tj

torch.set_num_threads(1)


def test_fit_many_equals_independent_runs():
    x, y, hi, _ = jg.blobs_with_outlier(20, seed=1)
    init = jg.tanh_mlp(2, (8,), seed=1)
    w = torch.ones(2, len(y))
    w[1, hi] = 0
    many = jg.fit_many(init, x, y, w, steps=60)
    keep = w[1].bool()
    solo = jg.fit_full_batch(copy.deepcopy(init), x[keep], y[keep], steps=60)
    pts, _, _ = jg.grid_2d(x, n=20)
    torch.testing.assert_close(jg.prob1(many[1], pts), jg.prob1(solo, pts))
    assert not torch.allclose(jg.prob1(many[0], pts), jg.prob1(many[1], pts))


def test_toy_data_outlier_and_deep_point():
    x, y, hi, lo = jg.blobs_with_outlier(30, seed=0)
    assert y[hi] == 1 and x[hi, 0] < 0  # a class-1 point on class 0's side
    assert y[lo] == 1 and x[lo, 0] > 0
    a, _ = tj.neighbourhood_agreement(x[[hi, lo]], y[[hi, lo]], x, y, r=0.5)
    assert a[0] < 0.5 <= a[1]


def test_sigmoid_experiment_flat_sample_barely_moves():
    from companion.methods.jit_config import JitConfig

    cfg = JitConfig(sigma=0.5, lr=0.05, n_samples=10, batch_size=1, output="probs")
    res = jg.sigmoid_experiment(cfg, n=30, train_steps=300)
    assert res["slope"]["flat"] < res["slope"]["steep"]
    assert res["max_change"]["flat"] < res["max_change"]["steep"]


def test_mislabel_flips_the_sample():
    x = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    net = nn.Sequential(nn.Linear(2, 2)).double()
    with torch.no_grad():
        net[0].weight.zero_()
        net[0].bias.copy_(torch.tensor([0.0, 2.0], dtype=torch.float64))
    out = jg.mislabel(copy.deepcopy(net), x, torch.tensor([0]), steps=200, lr=0.5)
    assert out(x).argmax(1).item() == 0 and net(x).argmax(1).item() == 1
