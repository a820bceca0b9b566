"""FULL-profile loaders on tiny synthetic data written in the real on-disk formats."""

import pickle
import struct

import numpy as np
import pytest

from companion import data
from companion.data import full, tasks


@pytest.fixture(autouse=True)
def _fresh_loader_cache():
    tasks._CACHE.clear()
    yield
    tasks._CACHE.clear()


def _write_idx(path, arr: np.ndarray) -> None:
    dims = arr.shape
    code = 0x08  # unsigned byte
    with open(path, "wb") as fh:
        fh.write(struct.pack(">HBB", 0, code, len(dims)))
        fh.write(struct.pack(">" + "I" * len(dims), *dims))
        fh.write(arr.astype(np.uint8).tobytes())


def test_mnist_idx_layout(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for split, n in (("train", 60), ("t10k", 20)):
        _write_idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        _write_idx(raw / f"{split}-labels-idx1-ubyte", np.arange(n) % 10)
    t = data.load_task("mnist", forget="class:3", seed=0, data_root=tmp_path)
    assert t.input_shape == (1, 28, 28) and t.num_classes == 10 and len(t.test) == 20
    assert t.train.x.dtype.is_floating_point is False  # uint8 kept on disk format, normalised per batch
    x, y = next(t.forget.batches(4))
    assert x.dtype.is_floating_point and (y == 3).all()


def _cifar_pickles(root, n_per_batch=20, fine=False):
    rng = np.random.default_rng(0)
    if fine:
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True)
        for name, n in (("train", 100), ("test", 40)):
            labels = (np.arange(n) % 100).tolist()
            blob = {"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8), "fine_labels": labels,
                    "coarse_labels": full.CIFAR100_TO_20[labels].tolist()}
            (folder / name).write_bytes(pickle.dumps(blob))
        (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": [f"c{i}" for i in range(100)]}))
        return
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        blob = {"data": rng.integers(0, 256, (n_per_batch, 3072)).astype(np.uint8), "labels": (np.arange(n_per_batch) % 10).tolist()}
        (folder / name).write_bytes(pickle.dumps(blob))
    (folder / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))


@pytest.fixture
def no_md5(monkeypatch):
    """torchvision checks the official tarball's md5 sums; synthetic files cannot match them."""
    from torchvision import datasets
    from torchvision.datasets import cifar

    monkeypatch.setattr(datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(cifar, "check_integrity", lambda *a, **k: True)


def test_cifar10_pickle_layout(tmp_path, no_md5):
    _cifar_pickles(tmp_path)
    t = data.load_task("cifar10", forget="random:10", seed=0, data_root=tmp_path)
    assert t.input_shape == (3, 32, 32) and len(t.train) + len(t.val) == 100 and len(t.test) == 20


def test_cifar20_subclass_uses_fine_labels(tmp_path, no_md5):
    _cifar_pickles(tmp_path, fine=True)
    t = data.load_task("cifar20", forget="subclass:69", seed=0, val_fraction=0.0, data_root=tmp_path)
    assert t.num_classes == 20 and (t.forget.fine == 69).all() and (t.forget.y == 19).all()
    assert (t.forget_test.fine == 69).all()
    t = data.load_task("cifar20", forget="class:19", seed=0, val_fraction=0.0, data_root=tmp_path)
    assert (t.forget.y == 19).all() and len(t.forget) == 5  # the five fine classes of vehicles 2


def test_pins_imagefolder_split(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for who in ("pins_Ann", "pins_Bob", "pins_Cid"):
        d = tmp_path / "105_classes_pins_dataset" / who
        d.mkdir(parents=True)
        for i in range(10):
            Image.fromarray(rng.integers(0, 256, (40, 30, 3)).astype(np.uint8)).save(d / f"{i}.jpg")
    t = data.load_task("pins", forget="class:1", seed=0, val_fraction=0.0, data_root=tmp_path)
    assert t.input_shape == (3, 32, 32) and len(t.test) == 6 and len(t.train) == 24
    assert len(t.forget_test) == 2 and (tmp_path / "pins_split_seed0.json").exists()


@pytest.mark.parametrize("name", ["mnist", "cifar10", "cifar100", "pins"])
def test_missing_full_data_names_layout_and_flag(tmp_path, name):
    with pytest.raises(FileNotFoundError) as err:
        data.load_task(name, forget="random:1", data_root=tmp_path)
    msg = str(err.value)
    assert "DATA_ROOT" in msg and "--download" in msg and full.LAYOUT[name].split("/")[0] in msg
