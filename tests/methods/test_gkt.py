"""GKT (spec jit.md 10.7): zero-shot data-free distillation gated against the forget class."""

import pytest
import torch
from torch import nn

from companion import methods, models
from companion.methods.gkt import ConvTaps, Generator, GktConfig, at_loss, reinit_convs


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 32, 32), (1, 28, 28)])
def test_generator_makes_inputs_of_the_task_shape(shape):
    g = Generator(16, shape)
    assert g(torch.randn(4, 16)).shape == (4, *shape)


def test_reinit_touches_conv_weights_only_and_at_loss_vanishes_on_identical_maps():
    net = models.build("small_cnn", (1, 8, 8), 10, 0)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert reinit_convs(net, torch.Generator().manual_seed(0)) == 2
    for k, v in net.state_dict().items():
        is_conv_weight = k in ("0.weight", "3.weight")
        assert torch.equal(v, before[k]) != is_conv_weight
    taps = ConvTaps(net)
    net(torch.randn(3, 1, 8, 8))
    acts = taps.take()
    taps.remove()
    assert len(acts) == 2 and at_loss(acts, acts) == 0


def test_gkt_is_zero_shot_and_refuses_retain_data(digits_class_task, digits_model):
    assert methods.REGISTRY["gkt"].zero_shot
    with pytest.raises(ValueError, match="zero-shot"):
        methods.REGISTRY["gkt"].fn(
            digits_model,
            digits_class_task,
            methods.config_of("gkt"),
            seed=0,
            device="cpu",
            profile="quick",
        )


def test_gkt_gate_and_student(digits_class_task):
    net = models.build("small_cnn", (1, 8, 8), 10, 0)
    res = methods.unlearn(
        "gkt", net, digits_class_task, "quick", seed=0, n_pseudo_batches=3, student_steps=2
    )
    assert 0 <= res.log["kept_fraction"] <= 1 and res.log["forget_class"] == 3
    conv_before, conv_after = net[0].weight, res.model[0].weight
    assert not torch.equal(conv_before, conv_after)


def test_gate_that_rejects_everything_leaves_the_reinitialised_student(digits_class_task):
    net = models.build("small_cnn", (1, 8, 8), 10, 0)
    res = methods.unlearn(
        "gkt", net, digits_class_task, "quick", seed=0, n_pseudo_batches=2, threshold=1e-30
    )
    assert res.log["kept_fraction"] == 0 and res.log["student_loss"] == []
    student = models.build("small_cnn", (1, 8, 8), 10, 0)
    reinit_convs(student, torch.Generator().manual_seed(0))
    assert torch.equal(student[0].weight, res.model[0].weight)


def test_full_settings_and_validation():
    c = GktConfig.resolve("full")
    assert (
        c.n_pseudo_batches,
        c.pseudo_batch,
        c.generator_steps,
        c.student_steps,
        c.z_dim,
        c.threshold,
    ) == (1000, 128, 2, 15, 128, 0.01)
    assert (c.lr_generator, c.max_lr_student, c.clip, c.beta) == (0.01, 0.1, 5.0, 5.0)
    with pytest.raises(ValueError, match="threshold"):
        GktConfig(threshold=2.0)
    assert isinstance(Generator(8, (1, 8, 8)).net[-1], nn.BatchNorm2d)
