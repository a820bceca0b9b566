"""Bad Teacher (BT, spec jit.md 10.2): KL to the competent teacher on retain, the incompetent one on
forget."""

import pytest
import torch
from torch.nn import functional as F

from companion import methods
from companion.methods.bad_teacher import BadTeacherConfig, bad_teacher_loss


def test_loss_is_zero_when_the_student_copies_the_teacher_its_tag_selects():
    g = torch.Generator().manual_seed(0)
    full, bad = torch.randn(6, 5, generator=g), torch.randn(6, 5, generator=g)
    tag = torch.tensor([0, 1, 0, 1, 1, 0])
    student = torch.where(tag.bool().unsqueeze(1), bad, full)
    assert bad_teacher_loss(student, full, bad, tag, 1.0).abs() < 1e-6
    assert bad_teacher_loss(full, full, bad, tag, 1.0) > 1e-3


def test_mean_reduction_is_the_elementwise_mean_as_coded():
    g = torch.Generator().manual_seed(1)
    s, f, b = (torch.randn(4, 7, generator=g) for _ in range(3))
    tag = torch.tensor([1, 0, 1, 0])
    per_sample = bad_teacher_loss(s, f, b, tag, 2.0, "batchmean")
    assert torch.allclose(bad_teacher_loss(s, f, b, tag, 2.0, "mean"), per_sample / 7)
    target = F.softmax(f / 2, 1).clone()
    target[tag == 1] = F.softmax(b[tag == 1] / 2, 1)
    manual = (target * (target.log() - F.log_softmax(s / 2, 1))).sum() / 4
    assert torch.allclose(per_sample, manual, atol=1e-6)


def test_bad_teacher_uses_30_percent_of_the_retain_set_and_lowers_forget_accuracy(
    digits_class_task, digits_model
):
    from companion import metrics

    res = methods.unlearn("bad_teacher", digits_model, digits_class_task, "quick", seed=0, epochs=2)
    assert res.log["n_retain_used"] == round(0.3 * len(digits_class_task.retain))
    before = metrics.accuracy(digits_model, digits_class_task.forget)
    after = metrics.accuracy(res.model, digits_class_task.forget)
    assert after < before


def test_settings_and_validation():
    full = BadTeacherConfig.resolve("full")
    assert (
        full.retain_fraction,
        full.batch_size,
        full.lr,
        full.epochs,
        full.temperature,
        full.kl_reduction,
    ) == (0.3, 256, 1e-4, 1, 1.0, "mean")
    with pytest.raises(ValueError, match="retain_fraction"):
        BadTeacherConfig(retain_fraction=1.5)
    with pytest.raises(ValueError, match="kl_reduction"):
        BadTeacherConfig(kl_reduction="sum")
