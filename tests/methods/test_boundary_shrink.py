"""Boundary Shrink (BDSH, spec jit.md 10.9): nearest-wrong labels from FGSM/PGD, fine-tune on
them."""

import pytest
import torch

from companion import methods
from companion.methods.boundary_shrink import BoundaryShrinkConfig, neighbour_labels


def _raw(task, n=40):
    x, y = task.forget.tensors()
    shape = (1, -1, 1, 1)
    return (x[:n] * task.forget.std.view(shape) + task.forget.mean.view(shape)).clamp(0, 1), y[:n]


def _fgsm_by_hand(model, task, raw, y, eps=0.1):
    """An independent FGSM: one signed-gradient step of size eps in pixel space, clamp, round to
    1/255."""
    shape = (1, -1, 1, 1)
    mean, std = task.forget.mean.view(shape), task.forget.std.view(shape)
    x = raw.clone().requires_grad_(True)
    torch.nn.functional.cross_entropy(model((x - mean) / std), y).backward()
    adv = torch.round((raw + eps * x.grad.sign()).clamp(0, 1) * 255) / 255
    with torch.no_grad():
        logits = model((adv - mean) / std)
    return adv, logits


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
def test_adversarial_examples_stay_in_the_box(digits_class_task, digits_model, attack):
    raw, y = _raw(digits_class_task)
    _, adv = neighbour_labels(
        digits_model, digits_class_task.forget, raw, y, epsilon=0.1, attack=attack
    )
    assert (adv - raw).abs().max() <= 0.1 + 1 / 255 and adv.min() >= 0 and adv.max() <= 1
    assert torch.allclose(adv * 255, (adv * 255).round(), atol=1e-4)


def test_default_labels_are_the_argmax_on_the_attacked_images(digits_class_task, digits_model):
    raw, y = _raw(digits_class_task, n=200)
    labels, adv = neighbour_labels(digits_model, digits_class_task.forget, raw, y, epsilon=0.1)
    adv_hand, logits = _fgsm_by_hand(digits_model, digits_class_task, raw, y)
    assert torch.allclose(adv, adv_hand, atol=1e-6)
    assert torch.equal(labels, logits.argmax(1))


def test_nearest_wrong_labels_are_the_best_other_class(digits_class_task, digits_model):
    raw, y = _raw(digits_class_task, n=200)
    labels, _ = neighbour_labels(
        digits_model, digits_class_task.forget, raw, y, epsilon=0.1, label_rule="nearest_wrong"
    )
    _, logits = _fgsm_by_hand(digits_model, digits_class_task, raw, y)
    ranked = logits.argsort(1, descending=True)
    best_other = torch.where(ranked[:, 0] == y, ranked[:, 1], ranked[:, 0])
    assert torch.equal(labels, best_other)


def test_boundary_shrink_is_zero_shot_and_trains_towards_the_attacked_labels(
    digits_class_task, digits_model
):
    from companion import metrics

    with pytest.raises(ValueError, match="zero-shot"):
        methods.REGISTRY["boundary_shrink"].fn(
            digits_model,
            digits_class_task,
            methods.config_of("boundary_shrink"),
            seed=0,
            device="cpu",
            profile="quick",
        )
    res = methods.unlearn("boundary_shrink", digits_model, digits_class_task, "quick", seed=0)
    x, y = digits_class_task.forget.tensors()
    shape = (1, -1, 1, 1)
    raw = x * digits_class_task.forget.std.view(shape) + digits_class_task.forget.mean.view(shape)
    _, logits = _fgsm_by_hand(digits_model, digits_class_task, raw, y)
    expected = logits.argmax(1)
    assert torch.equal(res.log["neighbour_labels"], expected)
    assert res.log["same_as_true"] == pytest.approx(float((expected == y).float().mean()))
    # the fine-tuned model agrees with the new labels more than the original did
    with torch.no_grad():
        agree_before = float((digits_model(x).argmax(1) == expected).float().mean())
        agree_after = float((res.model(x).argmax(1) == expected).float().mean())
    assert agree_after > agree_before
    assert metrics.accuracy(res.model, digits_class_task.forget) < metrics.accuracy(
        digits_model, digits_class_task.forget
    )


def test_settings_and_validation():
    c = BoundaryShrinkConfig.resolve("full")
    assert (c.epsilon, c.attack, c.lr, c.momentum, c.epochs, c.label_rule) == (
        0.1,
        "fgsm",
        1e-5,
        0.9,
        10,
        "adv_pred",
    )
    with pytest.raises(ValueError, match="attack"):
        BoundaryShrinkConfig(attack="cw")
