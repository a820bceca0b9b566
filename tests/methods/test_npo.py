"""NPO (spec jit.md 10.10, extra baseline): (2/beta) E log(1 + (p/p_ref)^beta)."""

import math

import pytest
import torch

from companion import methods
from companion.methods.npo import NpoConfig, npo_loss


def test_npo_loss_known_answers():
    g = torch.Generator().manual_seed(0)
    z, y = torch.randn(7, 4, generator=g), torch.randint(0, 4, (7,), generator=g)
    assert torch.allclose(npo_loss(z, z, y, 0.1), torch.tensor(2 / 0.1 * math.log(2)))
    p = torch.softmax(z, 1).gather(1, y.view(-1, 1)).squeeze(1)
    z2 = torch.randn(7, 4, generator=g)
    p2 = torch.softmax(z2, 1).gather(1, y.view(-1, 1)).squeeze(1)
    manual = (2 / 0.5) * torch.log1p((p2 / p) ** 0.5).mean()
    assert torch.allclose(npo_loss(z2, z, y, 0.5), manual, atol=1e-5)
    assert npo_loss(z2, z, y, 0.5) > 0


def test_npo_lowers_the_true_class_probability_on_forget(digits_class_task, digits_model):
    res = methods.unlearn("npo", digits_model, digits_class_task, "quick", seed=0, epochs=3)
    x, y = digits_class_task.forget.tensors()
    with torch.no_grad():
        before = torch.softmax(digits_model(x), 1).gather(1, y.view(-1, 1)).mean()
        after = torch.softmax(res.model(x), 1).gather(1, y.view(-1, 1)).mean()
    assert after < before and res.log["loss"][-1] < res.log["loss"][0]
    res_rt = methods.unlearn(
        "npo", digits_model, digits_class_task, "quick", seed=0, epochs=1, retain_weight=1.0
    )
    assert len(res_rt.log["loss"]) == digits_class_task.forget.n_batches(64)
    with pytest.raises(ValueError, match="beta"):
        NpoConfig(beta=0.0)
