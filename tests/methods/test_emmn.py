"""EMMN (spec jit.md 10.8): zero-shot; error-max noise for the forget class, error-min for the
others."""

import pytest
import torch

from companion import data, methods
from companion.methods.emmn import EmmnConfig


def test_emmn_is_zero_shot_and_refuses_retain_data(digits_class_task, digits_model):
    assert methods.REGISTRY["emmn"].zero_shot
    cfg = methods.config_of("emmn")
    with pytest.raises(ValueError, match="zero-shot"):
        methods.REGISTRY["emmn"].fn(
            digits_model, digits_class_task, cfg, seed=0, device="cpu", profile="quick"
        )


def test_emmn_noise_moves_each_class_the_right_way(digits_class_task, digits_model):
    res = methods.unlearn(
        "emmn", digits_model, digits_class_task, "quick", seed=0, repeats=2, epochs=1
    )
    ce = res.log["noise_ce"]
    assert res.log["forget_class"] == 3 and set(ce) == set(range(10))
    assert ce[3][-1] > ce[3][0]  # maximised for the forget class
    assert all(ce[c][-1] < ce[c][0] for c in range(10) if c != 3)  # minimised for the rest
    changed = any(
        not torch.equal(p, q) for p, q in zip(digits_model.parameters(), res.model.parameters())
    )
    assert changed


def test_emmn_needs_a_forget_class(digits_model):
    rnd = data.load_task("digits", forget="random:20", seed=0)
    with pytest.raises(ValueError, match="forget class"):
        methods.unlearn("emmn", digits_model, rnd, "quick", seed=0)


def test_full_settings_are_the_spec():
    c = EmmnConfig.resolve("full")
    assert (c.noise_batch, c.max_steps, c.min_steps, c.min_lr, c.repeats, c.epochs, c.lr) == (
        4,
        25,
        30,
        0.1,
        80,
        2,
        1e-4,
    )
    # the reference's impair batch is the noise batch
    assert (c.batch_size, c.noise_mode) == (
        4,
        "train",
    )
    assert (
        c.noise_images == "all" and EmmnConfig(noise_images="as_coded").noise_images == "as_coded"
    )
    with pytest.raises(ValueError, match="noise_images"):
        EmmnConfig(noise_images="three")


def test_emmn_impairs_in_batches_of_the_configured_size(
    digits_class_task, digits_model, monkeypatch
):
    from companion.methods import emmn as emmn_mod

    seen = []
    real = emmn_mod.train_epochs

    def spy(model, x, y, epochs, batch_size, *a, **k):
        seen.append((len(x), batch_size))
        return real(model, x, y, epochs, batch_size, *a, **k)

    monkeypatch.setattr(emmn_mod, "train_epochs", spy)
    res = methods.unlearn(
        "emmn", digits_model, digits_class_task, "quick", seed=0, repeats=2, epochs=1
    )
    assert seen == [(10 * 4 * 2, 4)] and len(res.log["impair_loss"]) == 1
