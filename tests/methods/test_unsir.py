"""UNSIR (spec jit.md 10.4): the noise maximises the forget-class loss; impair then repair."""

import pytest
import torch
from torch.nn import functional as F

from companion import data, methods, models, training
from companion.methods import unsir as unsir_mod
from companion.methods.unsir import UnsirConfig, error_maximising_noise, retain_pool, used_noise


def test_error_maximising_noise_raises_the_forget_class_loss(digits_model):
    gen = torch.Generator().manual_seed(0)
    noise, ce = error_maximising_noise(
        digits_model, 3, (1, 8, 8), 16, 25, 0.1, 0.1, gen, torch.device("cpu")
    )
    assert noise.shape == (16, 1, 8, 8) and not noise.requires_grad
    start = torch.randn((16, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ce_start = F.cross_entropy(digits_model(start), torch.full((16,), 3))
        ce_end = F.cross_entropy(digits_model(noise), torch.full((16,), 3))
    assert ce_end > ce_start + 1.0 and abs(ce[-1] - float(ce_end)) < 1e-5
    assert all(p.requires_grad for p in digits_model.parameters())  # the model is left as it was


def test_error_minimising_noise_lowers_the_loss(digits_model):
    gen = torch.Generator().manual_seed(0)
    _, ce = error_maximising_noise(
        digits_model, 5, (1, 8, 8), 4, 30, 0.1, 0.0, gen, torch.device("cpu"), maximise=False
    )
    assert ce[-1] < ce[0]


def test_noise_images_as_coded_keep_only_the_channel_count():
    noise = torch.randn(32, 3, 4, 4)
    assert used_noise(noise, "all").shape[0] == 32
    assert torch.equal(used_noise(noise, "as_coded"), noise[:3])
    with pytest.raises(ValueError, match="noise_images"):
        used_noise(noise, "some")


def test_unsir_runs_on_class_tasks_and_refuses_random_forgetting(digits_class_task, digits_model):
    res = methods.unlearn(
        "unsir", digits_model, digits_class_task, "quick", seed=0, noise_repeats=5, per_class=50
    )
    assert res.log["noise_images_used"] == 32 and res.log["n_retain_used"] == 50 * 9
    rnd = data.load_task("digits", forget="random:20", seed=0)
    with pytest.raises(ValueError, match="forget"):
        methods.unlearn("unsir", digits_model, rnd, "quick", seed=0)


def test_full_settings_are_the_spec():
    c = UnsirConfig.resolve("full")
    assert (c.noise_batch, c.noise_steps, c.noise_lr, c.noise_l2, c.noise_repeats, c.per_class) == (
        32,
        None,
        0.1,
        0.1,
        80,
        500,
    )
    assert unsir_mod.NOISE_STEPS == {"class": 25, "subclass": 250} and c.noise_mode == "train"
    assert (c.impair_batch, c.impair_lr, c.repair_batch, c.repair_lr) == (32, 1e-4, 128, 1e-4)
    with pytest.raises(ValueError, match="noise_steps"):
        UnsirConfig(noise_steps=0)
    with pytest.raises(ValueError, match="noise_mode"):
        UnsirConfig(noise_mode="inference")


@pytest.fixture(scope="module")
def subclass_setup(tmp_path_factory):
    task = data.load_task("digits", forget="subclass:8", seed=0)
    model = models.train_or_load(
        task,
        "small_cnn",
        "quick",
        0,
        recipe=training.TrainRecipe("adam", 1e-3, 10, 64),
        cache_dir=tmp_path_factory.mktemp("unsir"),
        show_progress=False,
    )
    return task, model


def test_unsir_raises_the_forget_class_loss_before_repairing(digits_class_task, digits_model):
    """The noise UNSIR trains raises the forget class's loss (its recorded CE climbs), and the
    impair step that trains on it lowers the model's accuracy on the forget class."""
    res = methods.unlearn(
        "unsir", digits_model, digits_class_task, "quick", seed=0, repair_epochs=0
    )
    ce = res.log["noise_ce"]
    assert res.log["noise_steps"] == 25 and len(ce) == 26 and ce[-1] > ce[0] + 1.0
    before = training.accuracy(digits_model, digits_class_task.forget)
    assert training.accuracy(res.model, digits_class_task.forget) < before


def test_subclass_runs_the_reference_steps_and_pools_per_fine_class(subclass_setup):
    task, model = subclass_setup
    keep = retain_pool(task, 0, 5)
    fine = task.retain.fine[keep]
    # five of every retained fine class (the digits other than 8), whatever superclass they are in
    assert sorted(torch.unique(fine).tolist()) == [d for d in range(10) if d != 8]
    assert all(int((fine == d).sum()) == 5 for d in torch.unique(fine).tolist())
    for d in torch.unique(fine).tolist():  # the first five in data order
        assert torch.equal(keep[fine == d], torch.nonzero(task.retain.fine == d).flatten()[:5])
    res = methods.unlearn("unsir", model, task, "quick", seed=0, per_class=5, noise_repeats=2)
    assert res.log["noise_steps"] == 250 and len(res.log["noise_ce"]) == 251
    assert res.log["n_retain_used"] == 5 * 9


class _DropCount(torch.nn.Module):
    """A model whose forward records whether it ran in train mode."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.modes = inner, []

    def forward(self, x):
        self.modes.append(self.training)
        return self.inner(x)


def test_noise_is_optimised_in_the_requested_mode_and_the_flag_is_restored(digits_model):
    import copy

    for mode, expect in (("train", True), ("eval", False)):
        probe = _DropCount(copy.deepcopy(digits_model)).eval()
        error_maximising_noise(
            probe,
            3,
            (1, 8, 8),
            4,
            5,
            0.1,
            0.1,
            torch.Generator().manual_seed(0),
            torch.device("cpu"),
            mode=mode,
        )
        assert probe.modes[:5] == [expect] * 5 and probe.modes[5] is False and not probe.training
    with pytest.raises(ValueError, match="noise_mode"):
        error_maximising_noise(
            digits_model,
            3,
            (1, 8, 8),
            4,
            5,
            0.1,
            0.1,
            torch.Generator(),
            torch.device("cpu"),
            mode="test",
        )
