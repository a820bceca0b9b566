"""SSD (spec jit.md 10.5): only parameters with imp_f > alpha * imp_D are dampened, by min(lambda
imp_D / imp_f, 1)."""

import copy

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from companion import data, methods
from companion.methods.ssd import SSD_PAPER, SSD_SETTINGS, SsdConfig, dampen, importances


def test_dampen_touches_exactly_the_selected_elements_by_the_stated_factor():
    torch.manual_seed(0)
    net = nn.Linear(6, 4)
    before = copy.deepcopy(net)
    imp_f = {n: torch.rand_like(p) for n, p in net.named_parameters()}
    imp_d = {n: torch.rand_like(p) * 0.5 for n, p in net.named_parameters()}
    counts = dampen(net, imp_f, imp_d, lam=1.5, alpha=1.2)
    for (n, p), (_, q) in zip(net.named_parameters(), before.named_parameters()):
        sel = imp_f[n] > 1.2 * imp_d[n]
        factor = torch.clamp(1.5 * imp_d[n] / imp_f[n], max=1.0)
        assert torch.allclose(p[sel], q[sel] * factor[sel]) and torch.equal(p[~sel], q[~sel])
        assert counts[n] == int(sel.sum())
    assert 0 < sum(counts.values()) < sum(p.numel() for p in net.parameters())


def test_importances_are_the_mean_squared_batch_gradient():
    torch.manual_seed(1)
    net = nn.Linear(3, 2)
    batches = [(torch.randn(5, 3), torch.randint(0, 2, (5,))) for _ in range(3)]
    imp = importances(net, batches)
    manual = torch.zeros_like(net.weight)
    for x, y in batches:
        (g,) = torch.autograd.grad(F.cross_entropy(net(x), y), net.weight)
        manual += g.pow(2) / 3
    assert torch.allclose(imp["weight"], manual)


def test_ssd_settings_per_variant_and_kind(digits_class_task, digits_model):
    res = methods.unlearn("ssd", digits_model, digits_class_task, "quick", seed=0)
    assert (res.log["lambda"], res.log["alpha"]) == SSD_PAPER
    res = methods.unlearn(
        "ssd", digits_model, digits_class_task, "quick", seed=0, variant="as_coded"
    )
    assert (res.log["lambda"], res.log["alpha"]) == SSD_SETTINGS["class"] == (1.0, 1.0)
    rnd = data.load_task("digits", forget="random:30", seed=0)
    res = methods.unlearn("ssd", digits_model, rnd, "quick", seed=0, variant="as_coded")
    assert (res.log["lambda"], res.log["alpha"]) == (4.0, 10.0)
    assert 0 < res.log["selected_fraction"] < 1


def test_ssd_with_huge_alpha_changes_nothing(digits_class_task, digits_model):
    res = methods.unlearn(
        "ssd", digits_model, digits_class_task, "quick", seed=0, selection_weighting=1e30
    )
    assert res.log["selected"] == 0
    for p, q in zip(digits_model.parameters(), res.model.parameters()):
        assert torch.equal(p, q)


def test_bad_values_raise():
    with pytest.raises(ValueError, match="variant"):
        SsdConfig(variant="tuned")
    with pytest.raises(ValueError, match="selection_weighting"):
        SsdConfig(selection_weighting=-1.0)
    assert not methods.REGISTRY["ssd"].zero_shot
