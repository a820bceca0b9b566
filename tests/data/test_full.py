"""FULL-profile loaders on tiny synthetic data written in the real on-disk formats."""

import pytest

from companion import data
from companion.data import full


def test_mnist_idx_layout(tmp_path, fake_mnist):
    t = data.load_task("mnist", forget="class:3", seed=0, data_root=fake_mnist(tmp_path))
    assert t.input_shape == (1, 28, 28) and t.num_classes == 10 and len(t.test) == 20
    # uint8 kept on disk format, normalised per batch
    assert t.train.x.dtype.is_floating_point is False
    x, y = next(t.forget.batches(4))
    assert x.dtype.is_floating_point and (y == 3).all()


def test_cifar10_pickle_layout(tmp_path, fake_cifar):
    t = data.load_task("cifar10", forget="random:10", seed=0, data_root=fake_cifar(tmp_path))
    assert t.input_shape == (3, 32, 32) and len(t.train) + len(t.val) == 100 and len(t.test) == 20


def test_cifar20_subclass_uses_fine_labels(tmp_path, fake_cifar):
    fake_cifar(tmp_path, "cifar100", n_train=100, n_test=40)
    t = data.load_task(
        "cifar20", forget="subclass:69", seed=0, val_fraction=0.0, data_root=tmp_path
    )
    assert t.num_classes == 20 and (t.forget.fine == 69).all() and (t.forget.y == 19).all()
    assert (t.forget_test.fine == 69).all()
    t = data.load_task("cifar20", forget="class:19", seed=0, val_fraction=0.0, data_root=tmp_path)
    assert (t.forget.y == 19).all() and len(t.forget) == 5  # the five fine classes of vehicles 2


def test_pins_imagefolder_split(tmp_path, fake_pins):
    fake_pins(tmp_path)
    t = data.load_task("pins", forget="class:1", seed=0, val_fraction=0.0, data_root=tmp_path)
    assert t.input_shape == (3, 32, 32) and len(t.test) == 6 and len(t.train) == 24
    assert len(t.forget_test) == 2 and (tmp_path / "pins_split_seed0.json").exists()


@pytest.mark.parametrize("name", ["mnist", "cifar10", "cifar100", "pins"])
def test_missing_full_data_names_layout_and_flag(tmp_path, name):
    with pytest.raises(FileNotFoundError) as err:
        data.load_task(name, forget="random:1", data_root=tmp_path)
    msg = str(err.value)
    assert "DATA_ROOT" in msg and "--download" in msg and full.LAYOUT[name].split("/")[0] in msg
