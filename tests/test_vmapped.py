"""The stacking primitive (companion.vmapped): K stacked models behave as the K models."""

import pytest
import torch
from torch.nn import functional as F

from companion import vmapped
from companion.models import build
from companion.models.stacked import StackedMLP


@pytest.fixture
def models():
    return [build("tiny_mlp", (1, 8, 8), 10, seed) for seed in range(3)]


def test_forward_all_equals_each_model(models):
    params, buffers = vmapped.stack_state(models)
    x = torch.randn(5, 1, 8, 8)
    shared = vmapped.forward_all(models[0])(params, buffers, x)
    assert shared.shape == (3, 5, 10)
    xs = torch.randn(3, 5, 1, 8, 8)
    own = vmapped.forward_all(models[0], shared_input=False)(params, buffers, xs)
    for k, m in enumerate(models):
        assert torch.allclose(shared[k], m(x), atol=1e-6)
        assert torch.allclose(own[k], m(xs[k]), atol=1e-6)


def test_stack_state_detaches_and_state_of_gives_each_model_back(models):
    params, buffers = vmapped.stack_state(models, requires_grad=True)
    assert all(t.is_leaf and t.requires_grad for t in params.values())
    with torch.no_grad():
        next(iter(params.values())).add_(1.0)  # the stack is a copy: the models are untouched
    fresh = build("tiny_mlp", (1, 8, 8), 10, 0)
    assert all(torch.equal(a, b) for a, b in zip(fresh.parameters(), models[0].parameters()))
    for k, m in enumerate(models[1:], start=1):
        state = vmapped.state_of(params, buffers, k)
        assert all(torch.equal(state[n], t) for n, t in m.state_dict().items() if n != "1.weight")


def test_loss_grads_are_each_models_own_gradient(models):
    params, _ = vmapped.stack_state(models)
    x, y = torch.randn(3, 4, 1, 8, 8), torch.randint(0, 10, (3, 4))
    got = vmapped.loss_grads(models[0], F.cross_entropy)(params, x, y)
    for k, m in enumerate(models):
        m.zero_grad()
        F.cross_entropy(m(x[k]), y[k]).backward()
        for n, p in m.named_parameters():
            assert torch.allclose(got[n][k], p.grad, atol=1e-6), n


def test_stacked_module_view_trains_like_separate_models(models):
    """One Adam on the summed losses of the stack is K independent Adam runs (Adam is elementwise);
    flat inputs (N, d) are shared, (K, N, d) inputs give model k its own x[k]."""
    x, y = torch.randn(6, 64), torch.randint(0, 10, (6,))
    net = StackedMLP(models)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    for _ in range(3):
        out = net(x)
        loss = sum(F.cross_entropy(out[k], y) for k in range(len(models)))
        opt.zero_grad()
        loss.backward()
        opt.step()
    for k in range(len(models)):
        single = build("tiny_mlp", (1, 8, 8), 10, k)
        o = torch.optim.Adam(single.parameters(), lr=0.01)
        for _ in range(3):
            o.zero_grad()
            F.cross_entropy(single(x), y).backward()
            o.step()
        assert torch.allclose(net.unstack(k)(x), single(x), atol=1e-5)
