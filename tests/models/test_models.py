"""Architectures and the checkpoint cache."""

import os

import pytest
import torch

from companion import models
from companion.models import cache
from companion.training import TrainRecipe


@pytest.mark.parametrize(
    "arch,shape,classes,n_params",
    [
        ("tiny_mlp", (1, 28, 28), 10, 3985),
        ("tiny_cnn", (3, 32, 32), 10, 20042),
        ("three_layer", (512,), 10, 17802),
        ("three_layer", (512,), 100, 20772),
        ("mlp", (1, 28, 28), 10, 109386),
    ],
)
def test_parameter_counts_match_the_papers(arch, shape, classes, n_params):
    assert models.n_params(models.build(arch, shape, classes)) == n_params


@pytest.mark.parametrize("arch", ["mlp", "tiny_mlp", "tiny_cnn", "small_cnn", "vgg11", "resnet18"])
def test_forward_shapes_and_seeded_init(arch):
    shape = (3, 32, 32)
    a, b = models.build(arch, shape, 7, seed=1), models.build(arch, shape, 7, seed=1)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    a.eval()
    assert a(torch.randn(2, *shape)).shape == (2, 7) and a.companion_arch == arch


def _train_counter():
    calls = []

    def train(m):
        calls.append(1)
        with torch.no_grad():
            for p in m.parameters():
                p.add_(1.0)
        return {"note": "trained"}

    return train, calls


def test_cache_hits_and_key_changes(tmp_path):
    build = lambda: models.build("tiny_mlp", (4,), 2)
    train, calls = _train_counter()
    m1, log1 = cache.cached_state({"a": 1}, build, train, tmp_path)
    m2, log2 = cache.cached_state({"a": 1}, build, train, tmp_path)
    assert len(calls) == 1 and not log1["cached"] and log2["cached"]
    assert all(torch.equal(p, q) for p, q in zip(m1.parameters(), m2.parameters()))
    cache.cached_state({"a": 2}, build, train, tmp_path)
    assert len(calls) == 2
    assert cache.config_key({"a": 1}) != cache.config_key({"a": 2})


def test_corrupt_checkpoint_is_rebuilt_with_a_warning(tmp_path):
    build = lambda: models.build("tiny_mlp", (4,), 2)
    train, calls = _train_counter()
    _, log = cache.cached_state({"x": 1}, build, train, tmp_path)
    path = log["path"]
    with open(path, "r+b") as fh:
        fh.truncate(os.path.getsize(path) // 2)
    with pytest.warns(UserWarning, match="corrupt"):
        cache.cached_state({"x": 1}, build, train, tmp_path)
    assert len(calls) == 2
    _, log = cache.cached_state({"x": 1}, build, train, tmp_path)
    assert log["cached"]


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "ck.pt"
    cache.atomic_save({"key": "old", "state_dict": {}}, target)
    before = target.read_bytes()

    def boom(obj, fh):
        fh.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(KeyboardInterrupt):
        cache.atomic_save({"key": "new"}, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]


def test_train_or_load_caches_and_is_deterministic(digits_class_task, tmp_path):
    r = TrainRecipe("adam", 1e-3, 2, 64)
    a = models.train_or_load(
        digits_class_task,
        "mlp",
        "quick",
        3,
        recipe=r,
        cache_dir=tmp_path / "a",
        show_progress=False,
    )
    b = models.train_or_load(
        digits_class_task,
        "mlp",
        "quick",
        3,
        recipe=r,
        cache_dir=tmp_path / "b",
        show_progress=False,
    )
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    files = list((tmp_path / "a" / "checkpoints").iterdir())
    assert len(files) == 1 and files[0].suffix == ".pt"
