"""SCRUB (spec jit.md 10.6): max steps on forget, min steps on retain, the scripts' (alpha,
gamma)."""

import pytest
import torch
from torch.nn import functional as F

from companion import data, methods
from companion.methods.scrub import SCRUB_SETTINGS, ScrubConfig, distill_kl


def test_distill_kl_is_the_temperature_scaled_batch_kl():
    g = torch.Generator().manual_seed(0)
    s, t = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    p_t, log_s = F.softmax(t / 4, 1), F.log_softmax(s / 4, 1)
    manual = (p_t * (p_t.log() - log_s)).sum() * 16 / 8
    assert torch.allclose(distill_kl(s, t, 4.0), manual, atol=1e-6)
    assert distill_kl(t, t, 4.0).abs() < 1e-6


def test_scrub_uses_the_passed_alpha_gamma_and_runs_max_then_min_steps(
    digits_class_task, digits_model
):
    res = methods.unlearn("scrub", digits_model, digits_class_task, "quick", seed=0)
    assert (res.log["alpha"], res.log["gamma"]) == SCRUB_SETTINGS["class"] == (0.001, 0.99)
    n_forget_batches = digits_class_task.forget.n_batches(128)
    assert len(res.log["max_loss"]) == 2 * n_forget_batches
    sub = data.load_task("digits", forget="random:40", seed=0)
    res = methods.unlearn("scrub", digits_model, sub, "quick", seed=0, epochs=1)
    assert (res.log["alpha"], res.log["gamma"]) == (1.0, 5.0)


def test_full_settings_and_validation():
    c = ScrubConfig.resolve("full")
    assert (c.epochs, c.msteps, c.lr, c.momentum, c.weight_decay, c.clip, c.temperature) == (
        3,
        2,
        5e-4,
        0.9,
        5e-4,
        1.0,
        4.0,
    )
    with pytest.raises(ValueError, match="temperature"):
        ScrubConfig(temperature=0.0)


def test_max_steps_push_the_student_away_from_the_teacher_on_the_forget_set(
    digits_class_task, digits_model
):
    """Each epoch with a max step ends further from the teacher on D_f (KL_T, eval mode) than the
    same run without it, and the logged max-step losses (-KL) fall as the student moves away."""
    x, _ = digits_class_task.forget.tensors()
    with torch.no_grad():
        t = digits_model(x)
    kl = {}
    for msteps in (0, 1, 2):
        res = methods.unlearn(
            "scrub", digits_model, digits_class_task, "quick", seed=0, msteps=msteps
        )
        with torch.no_grad():
            kl[msteps] = float(distill_kl(res.model(x), t, 4.0))
        if msteps == 2:
            assert res.log["max_loss"][-1] < res.log["max_loss"][0] - 0.01
    assert kl[2] > kl[1] > kl[0]
