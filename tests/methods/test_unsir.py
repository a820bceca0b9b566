"""UNSIR (spec jit.md 10.4): the noise maximises the forget-class loss; impair then repair."""

import pytest
import torch
from torch.nn import functional as F

from companion import data, methods, models
from companion.methods.unsir import UnsirConfig, error_maximising_noise, used_noise


def test_error_maximising_noise_raises_the_forget_class_loss(digits_model):
    gen = torch.Generator().manual_seed(0)
    noise, ce = error_maximising_noise(digits_model, 3, (1, 8, 8), 16, 25, 0.1, 0.1, gen, torch.device("cpu"))
    assert noise.shape == (16, 1, 8, 8) and not noise.requires_grad
    start = torch.randn((16, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ce_start = F.cross_entropy(digits_model(start), torch.full((16,), 3))
        ce_end = F.cross_entropy(digits_model(noise), torch.full((16,), 3))
    assert ce_end > ce_start + 1.0 and abs(ce[-1] - float(ce_end)) < 1e-5
    assert all(p.requires_grad for p in digits_model.parameters())  # the model is left as it was


def test_error_minimising_noise_lowers_the_loss(digits_model):
    gen = torch.Generator().manual_seed(0)
    _, ce = error_maximising_noise(digits_model, 5, (1, 8, 8), 4, 30, 0.1, 0.0, gen, torch.device("cpu"), maximise=False)
    assert ce[-1] < ce[0]


def test_noise_images_as_coded_keep_only_the_channel_count():
    noise = torch.randn(32, 3, 4, 4)
    assert used_noise(noise, "all").shape[0] == 32
    assert torch.equal(used_noise(noise, "as_coded"), noise[:3])
    with pytest.raises(ValueError, match="noise_images"):
        used_noise(noise, "some")


def test_unsir_runs_on_class_tasks_and_refuses_random_forgetting(digits_class_task, digits_model):
    res = methods.unlearn("unsir", digits_model, digits_class_task, "quick", seed=0, noise_repeats=5, per_class=50)
    assert res.log["noise_images_used"] == 32 and res.log["n_retain_used"] == 50 * 9
    rnd = data.load_task("digits", forget="random:20", seed=0)
    with pytest.raises(ValueError, match="forget"):
        methods.unlearn("unsir", digits_model, rnd, "quick", seed=0)


def test_full_settings_are_the_spec():
    c = UnsirConfig.resolve("full")
    assert (c.noise_batch, c.noise_steps, c.noise_lr, c.noise_l2, c.noise_repeats, c.per_class) == (32, 25, 0.1, 0.1, 80, 500)
    assert (c.impair_batch, c.impair_lr, c.repair_batch, c.repair_lr) == (32, 1e-4, 128, 1e-4)
    with pytest.raises(ValueError, match="noise_steps"):
        UnsirConfig(noise_steps=0)
    assert models.n_params(models.build("small_cnn", (1, 8, 8), 10)) > 0
