"""The ensemble engine equals K sequential runs of training.fit with the same seeds and members."""

import numpy as np
import pytest
import torch

from companion import data, ensemble
from companion.training import TrainRecipe


@pytest.fixture(scope="module")
def pool():
    return data.load_task("digits", forget="class:3", seed=0).train.subset(np.arange(240))


def _masks(n_models, n, seed):
    rng = np.random.default_rng(seed)
    m = rng.random((n_models, n)) < rng.uniform(0.3, 0.7, (n_models, 1))  # unequal member counts
    m[:, 0] = True
    return m


@pytest.mark.parametrize("arch", ["tiny_mlp", "mlp"])
@pytest.mark.parametrize(
    "recipe",
    [
        TrainRecipe("adam", 1e-3, 3, 32),
        TrainRecipe("sgd", 0.05, 3, 25, momentum=0.9, weight_decay=5e-4, schedule="onecycle"),
        TrainRecipe("sgd", 0.1, 2, 16, schedule="onecycle_linear"),
    ],
)
def test_ensemble_equals_sequential_runs(pool, arch, recipe):
    masks = _masks(5, len(pool), 0)
    seeds = [3, 1, 4, 1, 5]  # a repeated seed on different members still gives different models
    a = ensemble.train_ensemble(pool, masks, seeds, arch, 10, recipe)
    b = ensemble.train_sequential(pool, masks, seeds, arch, 10, recipe)
    x = pool.tensors()[0]
    assert torch.allclose(a.logits(x), b.logits(x), atol=2e-4, rtol=1e-4)
    assert ensemble.max_param_gap(a, b) < 5e-4
    # and it trained: each model fits its own members better than the initialisation did
    init = ensemble.stack(
        [ensemble.build(arch, pool.x.shape[1:], 10, s) for s in seeds], arch, pool.x.shape[1:], 10
    )
    y = pool.y
    for k in range(5):
        loss = torch.nn.functional.cross_entropy(a.logits(x)[k][masks[k]], y[masks[k]])
        loss0 = torch.nn.functional.cross_entropy(init.logits(x)[k][masks[k]], y[masks[k]])
        assert loss < loss0


def test_fine_tuning_from_an_ensemble_equals_sequential(pool):
    masks = _masks(4, len(pool), 1)
    start = ensemble.train_ensemble(
        pool, masks, range(4), "tiny_mlp", 10, TrainRecipe("adam", 1e-2, 2, 32)
    )
    keep = masks & (np.arange(len(pool)) % 3 != 0)
    ft = TrainRecipe("sgd", 0.02, 2, 20, momentum=0.9, weight_decay=5e-4)
    a = ensemble.train_ensemble(pool, keep, [7, 8, 9, 10], "tiny_mlp", 10, ft, init=start)
    b = ensemble.train_sequential(pool, keep, [7, 8, 9, 10], "tiny_mlp", 10, ft, init=start)
    assert ensemble.max_param_gap(a, b) < 1e-5
    assert ensemble.max_param_gap(a, start) > 1e-3  # it moved


def test_a_model_depends_only_on_its_own_mask_and_seed(pool):
    masks = _masks(3, len(pool), 2)
    rec = TrainRecipe("adam", 1e-3, 2, 32)
    three = ensemble.train_ensemble(pool, masks, [0, 1, 2], "tiny_mlp", 10, rec)
    one = ensemble.train_ensemble(pool, masks[1:2], [1], "tiny_mlp", 10, rec)
    assert ensemble.max_param_gap(three.select([1]), one) < 1e-6
    m = three.model(2)
    assert torch.allclose(m(pool.tensors()[0]), three.logits(pool.tensors()[0])[2], atol=1e-5)


def test_balanced_masks():
    m = ensemble.balanced_masks(8, 50, seed=0)
    assert m.shape == (8, 50) and (m.sum(0) == 4).all()
    f = ensemble.balanced_masks(16, 30, seed=1, folds=2)
    assert (f[:8].sum(0) == 4).all() and (f[8:].sum(0) == 4).all()
    assert not np.array_equal(ensemble.balanced_masks(8, 50, seed=1), m)
    with pytest.raises(ValueError, match="n_models"):
        ensemble.balanced_masks(7, 10)
    with pytest.raises(ValueError, match="n_models"):
        ensemble.balanced_masks(6, 10, folds=2)
    with pytest.raises(ValueError, match="folds"):
        ensemble.balanced_masks(8, 10, folds=0)


def test_bad_inputs(pool):
    rec = TrainRecipe("adam", 1e-3, 1, 32)
    m = np.ones((2, len(pool)), bool)
    with pytest.raises(ValueError, match="masks"):
        ensemble.train_ensemble(pool, m[:, :5], [0, 1], "tiny_mlp", 10, rec)
    with pytest.raises(ValueError, match="masks"):
        ensemble.train_ensemble(pool, m * 2, [0, 1], "tiny_mlp", 10, rec)
    with pytest.raises(ValueError, match="masks"):
        ensemble.train_ensemble(pool, np.zeros_like(m), [0, 1], "tiny_mlp", 10, rec)
    with pytest.raises(ValueError, match="seeds"):
        ensemble.train_ensemble(pool, m, [0], "tiny_mlp", 10, rec)
    with pytest.raises(ValueError, match="augment"):
        ensemble.train_ensemble(pool, m, [0, 1], "tiny_mlp", 10, rec.with_(augment="mnist"))
    with pytest.raises(ValueError, match="arch"):
        ensemble.train_ensemble(pool, m, [0, 1], "small_cnn", 10, rec)  # dropout
    start = ensemble.train_ensemble(pool, m, [0, 1], "tiny_mlp", 10, rec)
    with pytest.raises(ValueError, match="init"):
        ensemble.train_ensemble(pool, m[:1], [0], "tiny_mlp", 10, rec, init=start)
    with pytest.raises(ValueError, match="k"):
        start.model(2)
