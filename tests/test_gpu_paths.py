"""Tests of the GPU paths that a CPU can check: the TF32 policy (:func:`companion.config.use_tf32`),
bf16 autocast for JiT's perturbed forwards with its measured safety check
(:mod:`companion.methods.jit_precision`), the channels-last format in ``fit`` and JiT, and the
``torch.compile`` option (its refusal; the compiled run itself only where it is quick)."""

from __future__ import annotations

import copy
import os

import pytest
import torch
from torch import nn

from companion import config, training
from companion.data.splits import Split
from companion.methods.jit import jit_unlearn
from companion.methods.jit_config import JitConfig
from companion.methods.jit_precision import BF16_TOLERANCE, bf16_error, check_bf16

torch.set_num_threads(1)


def cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(4 * 36, 3),
    )  # fmt: skip


def mlp(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 32), nn.Tanh(), nn.Linear(32, 3))


def params(m: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in m.parameters()])


# ---------------------------------------------------------------- TF32


def test_tf32_policy_sets_the_torch_flags_and_can_be_switched_off():
    was = config.use_tf32()
    try:
        assert config.use_tf32(False) is False
        assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
        assert config.use_tf32(True) is True
        assert torch.backends.cuda.matmul.allow_tf32 and torch.backends.cudnn.allow_tf32
        with pytest.raises(ValueError, match="enabled"):
            config.use_tf32("yes")
    finally:
        config.use_tf32(was)


# ---------------------------------------------------------------- bf16


def test_bf16_error_known_answers():
    x = torch.randn(4, 6)
    xp = x + 0.1 * torch.randn(3, 4, 6)
    assert bf16_error(nn.Identity(), x, xp) == 0.0  # no autocast op: nothing is rounded
    # outputs near 1000 (bf16 spacing 4 there) that a perturbation moves by ~0.1: rounding wins
    big = nn.Linear(6, 3)
    with torch.no_grad():
        big.weight.fill_(0.1)
        big.bias.fill_(1000.0)
    assert bf16_error(big, x, xp) > 1.0
    # the threshold is sigma * error / tolerance
    assert check_bf16(0.01, 0.2) == pytest.approx(0.2 * 0.01 / BF16_TOLERANCE)
    with pytest.raises(ValueError, match=r"sigma=0\.2.*sigma >= 0\.4.*precision='bf16'"):
        check_bf16(0.1, 0.2)


def test_bf16_refuses_a_small_sigma_before_any_step_and_follows_fp32_for_a_large_one():
    xs = [torch.randn(8, 6) for _ in range(2)]
    base = mlp()
    m = copy.deepcopy(base)
    with pytest.raises(ValueError, match=r"sigma=1e-05.*sigma >= .*precision='bf16'"):
        jit_unlearn(m, xs, JitConfig(sigma=1e-5, lr=0.05, n_samples=6, precision="bf16"), seed=0)
    assert torch.equal(params(m), params(base))
    runs = {}
    for precision in ("fp32", "bf16"):
        m = copy.deepcopy(base)
        cfg = JitConfig(sigma=0.5, lr=0.05, n_samples=6, precision=precision)
        runs[precision] = (m, jit_unlearn(m, xs, cfg, seed=0))
    log = runs["bf16"][1]
    assert log["precision"] == "bf16" and log["bf16_error"] <= BF16_TOLERANCE
    assert log["bf16_min_sigma"] <= 0.5
    assert log["losses"] == pytest.approx(runs["fp32"][1]["losses"], rel=3 * BF16_TOLERANCE)
    step = params(runs["fp32"][0]) - params(base)
    diff = params(runs["bf16"][0]) - params(runs["fp32"][0])
    assert diff.norm() <= 3 * BF16_TOLERANCE * step.norm()
    with pytest.raises(ValueError, match="precision"):
        JitConfig(precision="fp16")


# ---------------------------------------------------------------- channels-last


def test_channels_last_fit_and_jit_agree_with_nchw_and_leave_nchw_models():
    gen = torch.Generator().manual_seed(0)
    split = Split(
        x=torch.randn(40, 3, 8, 8, generator=gen),
        y=torch.randint(0, 3, (40,), generator=gen),
        mean=torch.zeros(3),
        std=torch.ones(3),
    )
    recipe = training.TrainRecipe("adam", 1e-2, 2, 16)
    models = {}
    for cl in (False, True):
        m = cnn()
        log = training.fit(m, split, recipe, seed=0, device="cpu", show_progress=False,
                           channels_last=cl)  # fmt: skip
        models[cl] = (m, log)
    torch.testing.assert_close(params(models[True][0]), params(models[False][0]))
    assert models[True][1]["loss"] == pytest.approx(models[False][1]["loss"], rel=1e-5)
    assert all(p.is_contiguous() for p in models[True][0].parameters())
    xs = [split.x[:8], split.x[8:16]]
    out = []
    for cl in (False, True):
        m = copy.deepcopy(models[False][0])
        jit_unlearn(m, xs, JitConfig(sigma=0.3, lr=0.05, n_samples=4, channels_last=cl), seed=1)
        assert all(p.is_contiguous() for p in m.parameters())
        out.append(params(m))
    torch.testing.assert_close(out[1], out[0])


# ---------------------------------------------------------------- torch.compile


def test_compile_without_a_compiler_is_refused_by_name(monkeypatch):
    monkeypatch.setattr(training.shutil, "which", lambda name: None)
    with pytest.raises(ValueError, match="compile=True.*C\\+\\+ compiler"):
        training.prepare_model(mlp(), torch.device("cpu"), compile=True)
    with pytest.raises(ValueError, match="compile"):
        jit_unlearn(mlp(), [torch.randn(4, 6)], JitConfig(compile=True), seed=0)


@pytest.mark.skipif(
    os.environ.get("COMPANION_TEST_COMPILE") != "1",
    reason="torch.compile of even a tiny net takes ~90 s on this 2-core CPU; "
    "set COMPANION_TEST_COMPILE=1 to run it (the GPU benchmark benchmarks/gpu_paths.py times it)",
)
def test_compiled_jit_agrees_with_eager():
    xs = [torch.randn(8, 6) for _ in range(2)]
    out = []
    for compiled in (False, True):
        m = mlp()
        jit_unlearn(m, xs, JitConfig(sigma=0.3, lr=0.05, n_samples=4, chunk=4, compile=compiled))
        out.append(params(m))
    torch.testing.assert_close(out[1], out[0], rtol=1e-4, atol=1e-5)
