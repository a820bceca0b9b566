"""Shared fixtures: a tiny real task (scikit-learn digits) and a model trained on it."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("COMPANION_PROGRESS", "0")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Every test writes checkpoints to its own cache folder, never the user's."""
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def digits_class_task():
    from companion import data

    return data.load_task("digits", forget="class:3", seed=0)


@pytest.fixture(scope="session")
def digits_model(digits_class_task, tmp_path_factory):
    from companion import models
    from companion.training import TrainRecipe

    return models.train_or_load(
        digits_class_task,
        "mlp",
        "quick",
        0,
        recipe=TrainRecipe("adam", 1e-3, 15, 64),
        cache_dir=tmp_path_factory.mktemp("model"),
        show_progress=False,
    )


@pytest.fixture(scope="session")
def digit_removal_setup():
    """The digit-removal split of the digits task (75 % of the 3s forgotten) and an MLP trained on
    it."""
    from companion import data, models
    from companion.experiments import digit_removal
    from companion.training import TrainRecipe, fit

    base = data.load_task("digits", forget="class:3", seed=0, val_fraction=0.0)
    task = digit_removal.digit_removal_task(base, 0.75, seed=0)
    model = models.build("mlp", task.input_shape, task.num_classes, 0)
    fit(model, task.train, TrainRecipe("adam", 1e-3, 15, 64), seed=0, show_progress=False)
    return task, model


# --------------------------------------------------------------------------------------------
# Tiny synthetic datasets in the real FULL-profile on-disk formats
# --------------------------------------------------------------------------------------------


def _write_idx(path, arr) -> None:
    """An uncompressed IDX file of unsigned bytes (MNIST's format)."""
    import struct

    import numpy as np

    arr = np.asarray(arr)
    with open(path, "wb") as fh:
        fh.write(struct.pack(">HBB", 0, 0x08, arr.ndim))
        fh.write(struct.pack(">" + "I" * arr.ndim, *arr.shape))
        fh.write(arr.astype(np.uint8).tobytes())


@pytest.fixture
def fake_mnist():
    """Writer of a tiny MNIST in torchvision's layout: ``fake_mnist(root, n_train, n_test)`` ->
    root."""
    import numpy as np

    from companion.data import tasks

    def write(root, n_train: int = 60, n_test: int = 20, seed: int = 0):
        raw = root / "MNIST" / "raw"
        raw.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        for split, n in (("train", n_train), ("t10k", n_test)):
            _write_idx(raw / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
            _write_idx(raw / f"{split}-labels-idx1-ubyte", np.arange(n) % 10)
        return root

    tasks._CACHE.clear()
    yield write
    tasks._CACHE.clear()


@pytest.fixture
def fake_cifar(monkeypatch):
    """Writer of a tiny CIFAR-10 or CIFAR-100 in the official pickle layout:
    ``fake_cifar(root, kind="cifar10"|"cifar100", n_train, n_test)`` -> root. torchvision's md5
    checks
    are bypassed (synthetic files cannot match the official tarball's sums)."""
    import pickle

    import numpy as np
    from torchvision import datasets
    from torchvision.datasets import cifar

    from companion.data import full, tasks

    monkeypatch.setattr(datasets.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(cifar, "check_integrity", lambda *a, **k: True)

    def write(root, kind: str = "cifar10", n_train: int = 100, n_test: int = 20, seed: int = 0):
        rng = np.random.default_rng(seed)
        pixels = lambda n: rng.integers(0, 256, (n, 3072)).astype(np.uint8)
        if kind == "cifar10":
            folder = root / "cifar-10-batches-py"
            folder.mkdir(parents=True, exist_ok=True)
            for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
                n = n_test if name == "test_batch" else n_train // 5
                (folder / name).write_bytes(
                    pickle.dumps({"data": pixels(n), "labels": (np.arange(n) % 10).tolist()})
                )
            (folder / "batches.meta").write_bytes(
                pickle.dumps({"label_names": [f"c{i}" for i in range(10)]})
            )
            return root
        folder = root / "cifar-100-python"
        folder.mkdir(parents=True, exist_ok=True)
        for name, n in (("train", n_train), ("test", n_test)):
            labels = (np.arange(n) % 100).tolist()
            blob = {
                "data": pixels(n),
                "fine_labels": labels,
                "coarse_labels": full.CIFAR100_TO_20[labels].tolist(),
            }
            (folder / name).write_bytes(pickle.dumps(blob))
        (folder / "meta").write_bytes(
            pickle.dumps({"fine_label_names": [f"c{i}" for i in range(100)]})
        )
        return root

    tasks._CACHE.clear()
    yield write
    tasks._CACHE.clear()


@pytest.fixture
def fake_pins():
    """Writer of a tiny PinsFaceRecognition ImageFolder (3 identities x ``per_identity`` JPEGs) ->
    root."""
    import numpy as np
    from PIL import Image

    from companion.data import tasks

    def write(root, per_identity: int = 10, seed: int = 0):
        rng = np.random.default_rng(seed)
        for who in ("pins_Ann", "pins_Bob", "pins_Cid"):
            d = root / "105_classes_pins_dataset" / who
            d.mkdir(parents=True, exist_ok=True)
            for i in range(per_identity):
                Image.fromarray(rng.integers(0, 256, (40, 30, 3)).astype(np.uint8)).save(
                    d / f"{i}.jpg"
                )
        return root

    tasks._CACHE.clear()
    yield write
    tasks._CACHE.clear()
