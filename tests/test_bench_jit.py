"""companion.bench_jit: JiT against the transcription of the reference update and the floor of its
network work, and JiT's cost curves."""

import copy

import pytest
import torch
from torch import nn

from companion import bench_jit
from companion.methods.jit import jit_unlearn
from companion.methods.jit_config import JitConfig


def _params(m):
    return torch.cat([p.detach().reshape(-1) for p in m.parameters()])


def test_transcription_equals_the_reference_variant_in_float64():
    """The bench's transcription of ``Lipschitz.modify_weight`` and JiT's "reference" variant give
    the same parameters (to 1e-12 in float64) on three batches of different ranges, and the
    update is not trivially zero."""
    torch.manual_seed(0)
    base = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 25, 3)
    ).double()
    batches = [
        s * torch.randn(4, 2, 5, 5, dtype=torch.float64) + m
        for s, m in ((1.0, 0.0), (0.5, 1.0), (2.0, -1.0))
    ]
    ours, ref = copy.deepcopy(base), copy.deepcopy(base)
    cfg = JitConfig(variant="reference", sigma=0.8, lr=0.02, n_samples=5, chunk=1)
    jit_unlearn(ours, batches, cfg, seed=11)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)  # the reference draws its noise in the default dtype
    try:
        state = torch.random.get_rng_state()
        bench_jit.reference_update(ref, batches, 0.8, 0.02, 5, seed=11)
        assert torch.equal(torch.random.get_rng_state(), state)  # the global generator restored
    finally:
        torch.set_default_dtype(old)
    torch.testing.assert_close(_params(ours), _params(ref), rtol=0, atol=1e-12)
    assert (_params(ref) - _params(base)).abs().max() > 1e-3


def test_floor_pushes_n_plus_one_batches_and_leaves_the_model_unchanged():
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 3))
    x = [torch.randn(4, 1, 2, 3), torch.randn(4, 1, 2, 3)]
    perturbed = [[torch.randn(8, 1, 2, 3), torch.randn(4, 1, 2, 3)] for _ in x]  # N = 3: 2 + 1
    before = _params(model).clone()
    rows = bench_jit._rows_pushed(model, lambda m: bench_jit.floor_pass(m, x, perturbed))
    assert rows == 2 * (3 + 1) * 4
    assert torch.equal(_params(model), before)
    assert bench_jit._groups(2, 5) == [2, 2, 1] and bench_jit._groups([3, 2], 5) == [3, 2]


def test_jit_reference_rows_do_the_same_work():
    x = torch.randn(16, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    rows = bench_jit.bench_jit_reference(x, ["mlp"], [2, 3], batch=8, n_batches=2, rounds=1)
    assert [(r["benchmark"], r["N"]) for r in rows] == [
        ("jit_reference", 2),
        ("jit_floor", 2),
        ("jit_reference", 3),
        ("jit_floor", 3),
    ]
    for r in rows:
        assert r["same"] and r["difference"] <= r["tolerance"], r
        assert r["speedup"] == pytest.approx(r["baseline_s"] / r["ours_s"])
    with pytest.raises(ValueError, match="ns="):
        bench_jit.bench_jit_reference(x, ["mlp"], [0], 8, 2, 1)
    with pytest.raises(ValueError, match="batch \\* n_batches=24"):
        bench_jit.bench_jit_reference(x, ["mlp"], [2], 8, 3, 1)


def test_cost_curves_have_a_slope_per_curve():
    x = torch.randn(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    rows = bench_jit.bench_cost(x, [16, 32], [8, 16], [2, 4], rounds=1, n_fixed=16, batch=16)
    assert [r["benchmark"] for r in rows] == ["cost_forget", "cost_width", "cost_n"]
    for r in rows:
        assert len(r["seconds"]) == len(r["sizes"]) == 2 and min(r["seconds"]) > 0
        assert r["slope"] == pytest.approx(bench_jit.loglog_slope(r["sizes"], r["seconds"]))
    with pytest.raises(ValueError, match="at least 2 sizes"):
        bench_jit.bench_cost(x, [16], [8, 16], [2, 4], rounds=1)
    with pytest.raises(ValueError, match="forget_sizes=.*up to the 64"):
        bench_jit.bench_cost(x, [16, 128], [8, 16], [2, 4], rounds=1, n_fixed=16)
    with pytest.raises(ValueError, match="n_fixed=128"):
        bench_jit.bench_cost(x, [16, 32], [8, 16], [2, 4], rounds=1)
    with pytest.raises(ValueError, match="widths="):
        bench_jit.bench_cost(x, [16, 32], [0, 16], [2, 4], rounds=1)
