"""Boundary Shrink (BDSH, spec jit.md 10.9): nearest-wrong labels from FGSM/PGD, fine-tune on them."""

import pytest
import torch

from companion import methods
from companion.methods.boundary_shrink import BoundaryShrinkConfig, neighbour_labels


def _raw(task, n=40):
    x, y = task.forget.tensors()
    shape = (1, -1, 1, 1)
    return (x[:n] * task.forget.std.view(shape) + task.forget.mean.view(shape)).clamp(0, 1), y[:n]


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
def test_adversarial_examples_stay_in_the_box_and_labels_are_wrong(digits_class_task, digits_model, attack):
    raw, y = _raw(digits_class_task)
    labels, adv = neighbour_labels(digits_model, digits_class_task.forget, raw, y, epsilon=0.1, attack=attack)
    assert (labels != y).all()
    assert (adv - raw).abs().max() <= 0.1 + 1 / 255 and adv.min() >= 0 and adv.max() <= 1
    assert torch.allclose(adv * 255, (adv * 255).round(), atol=1e-4)


def test_adv_pred_rule_is_the_plain_argmax(digits_class_task, digits_model):
    raw, y = _raw(digits_class_task)
    labels, adv = neighbour_labels(digits_model, digits_class_task.forget, raw, y, epsilon=0.1, label_rule="adv_pred")
    shape = (1, -1, 1, 1)
    with torch.no_grad():
        pred = digits_model((adv - digits_class_task.forget.mean.view(shape)) / digits_class_task.forget.std.view(shape)).argmax(1)
    assert torch.equal(labels, pred)


def test_boundary_shrink_is_zero_shot_and_forgets(digits_class_task, digits_model):
    with pytest.raises(ValueError, match="zero-shot"):
        methods.REGISTRY["boundary_shrink"].fn(digits_model, digits_class_task, methods.config_of("boundary_shrink"), seed=0, device="cpu", profile="quick")
    from companion import metrics

    res = methods.unlearn("boundary_shrink", digits_model, digits_class_task, "quick", seed=0)
    assert res.log["same_as_true"] == 0.0
    assert metrics.accuracy(res.model, digits_class_task.forget) < metrics.accuracy(digits_model, digits_class_task.forget)


def test_settings_and_validation():
    c = BoundaryShrinkConfig.resolve("full")
    assert (c.epsilon, c.attack, c.lr, c.momentum, c.epochs) == (0.1, "fgsm", 1e-5, 0.9, 10)
    with pytest.raises(ValueError, match="attack"):
        BoundaryShrinkConfig(attack="cw")
