"""GradDiff (spec jit.md 10.10, extra baseline): ascend CE on forget, descend CE on retain."""

import copy

import pytest
import torch
from torch.nn import functional as F

from companion import methods
from companion.methods.graddiff import GradDiffConfig


def test_one_step_is_the_gradient_difference_update(digits_class_task, digits_model):
    n = len(digits_class_task.forget)
    res = methods.unlearn(
        "graddiff",
        digits_model,
        digits_class_task,
        "quick",
        seed=0,
        epochs=1,
        batch_size=n,
        momentum=0.0,
        lr=0.1,
        retain_weight=0.0,
    )
    manual = copy.deepcopy(digits_model).train()
    xf, yf = digits_class_task.forget.tensors()
    loss = -F.cross_entropy(manual(xf), yf)
    grads = torch.autograd.grad(loss, list(manual.parameters()))
    for p, g, q in zip(manual.parameters(), grads, res.model.parameters()):
        assert torch.allclose(p - 0.1 * g, q, atol=1e-5)


def test_graddiff_raises_forget_loss_and_keeps_retain(digits_class_task, digits_model):
    res = methods.unlearn("graddiff", digits_model, digits_class_task, "quick", seed=0, epochs=3)
    assert res.log["forget_ce"][-1] > res.log["forget_ce"][0]
    assert len(res.log["retain_ce"]) == len(res.log["forget_ce"])
    with pytest.raises(ValueError, match="retain_weight"):
        GradDiffConfig(retain_weight=-1.0)
