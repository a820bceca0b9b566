"""Amnesiac (AMN, spec jit.md 10.3): every forget sample is relabelled to a different class."""

import pytest
import torch

from companion import data, methods
from companion.methods._zoo import random_wrong_labels
from companion.methods.amnesiac import AmnesiacConfig


def test_wrong_labels_never_equal_the_true_label_and_cover_every_other_class():
    y = torch.randint(0, 10, (5000,), generator=torch.Generator().manual_seed(0))
    z = random_wrong_labels(y, 10, torch.Generator().manual_seed(1))
    assert (z != y).all() and z.min() >= 0 and z.max() <= 9
    for c in range(10):  # uniform over the 9 other classes
        counts = torch.bincount(z[y == c], minlength=10).float()
        assert counts[c] == 0 and (counts[torch.arange(10) != c] > 0).all()
    shift = torch.bincount((z - y) % 10, minlength=10).float()  # (z - y) mod C is uniform on 1..C-1
    assert shift[0] == 0 and shift[1:].max() / shift[1:].min() < 1.3


@pytest.mark.parametrize("forget", ["class:3", "subclass:8", "random:50"])
def test_amnesiac_relabels_every_forget_sample_and_changes_the_model(forget, digits_model):
    task = data.load_task("digits", forget=forget, seed=0)
    if forget.startswith("subclass"):  # a 3-superclass model for the sub-class task
        from companion import models
        from companion.training import TrainRecipe

        model = models.train_or_load(
            task, "mlp", "quick", 0, recipe=TrainRecipe("adam", 1e-3, 3, 64), show_progress=False
        )
    else:
        model = digits_model
    res = methods.unlearn("amnesiac", model, task, "quick", seed=0, epochs=1)
    relabels = res.log["relabels"]
    assert relabels.shape == task.forget.y.shape and (relabels != task.forget.y).all()
    assert relabels.max() < task.num_classes
    before = torch.cat([p.flatten() for p in model.parameters()])
    after = torch.cat([p.flatten() for p in res.model.parameters()])
    assert not torch.allclose(before, after)


def test_amnesiac_is_seeded(digits_class_task, digits_model):
    a = methods.unlearn("amnesiac", digits_model, digits_class_task, seed=3, epochs=1)
    b = methods.unlearn("amnesiac", digits_model, digits_class_task, seed=3, epochs=1)
    assert torch.equal(a.log["relabels"], b.log["relabels"])
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.allclose(p, q)


def test_amnesiac_settings_are_the_spec_and_bad_values_raise():
    full = AmnesiacConfig.resolve("full")
    assert (full.epochs, full.lr, full.batch_size) == (3, 1e-4, 128)
    with pytest.raises(ValueError, match="lr"):
        methods.config_of("amnesiac", lr=-1.0)
    assert not methods.REGISTRY["amnesiac"].zero_shot
