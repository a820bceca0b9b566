"""Tasks and splits: disjoint, sized as requested, deterministic; embedded data integrity."""

import numpy as np
import pytest
import torch

from companion import data
from companion.data import embedded, full


@pytest.mark.parametrize("forget", ["class:3", "subclass:3", "random:50"])
def test_splits_partition_and_are_disjoint(forget):
    t = data.load_task("digits", forget=forget, seed=1)
    r, f, v = (set(s.index.tolist()) for s in (t.retain, t.forget, t.val))
    assert not (r & f) and not (r & v) and not (f & v)
    assert len(r) + len(f) == len(t.train) and len(t.train) + len(t.val) == 1437
    assert len(t.forget_test) + len(t.retain_test) == len(t.test) == 360


def test_split_sizes_per_kind():
    t = data.load_task("digits", forget="class:3", seed=0)
    assert (t.forget.y == 3).all() and not (t.retain.y == 3).any()
    assert (t.forget_test.y == 3).all() and len(t.forget_test) == 36
    t = data.load_task("digits", forget="random:50", seed=0)
    assert len(t.forget) == 50 and len(t.forget_test) == 0
    t = data.load_task("digits", forget="subclass:3", seed=0)
    # 3 is a "curve"
    assert t.num_classes == 3 and (t.forget.fine == 3).all() and (t.forget.y == 2).all()
    assert not (t.retain.fine == 3).any() and (t.retain.y == 2).any()  # siblings 2 and 5 stay
    assert t.val.index.numel() == round(0.1 * 1437)


def test_determinism_and_seed_dependence():
    a = data.load_task("digits", forget="random:40", seed=5)
    b = data.load_task("digits", forget="random:40", seed=5)
    c = data.load_task("digits", forget="random:40", seed=6)
    assert torch.equal(a.forget.index, b.forget.index) and torch.equal(a.val.index, b.val.index)
    assert not torch.equal(a.forget.index, c.forget.index)
    # the test set does not depend on the experiment seed
    assert torch.equal(a.test.x, c.test.x)


def test_batches_normalise_and_cover_everything():
    t = data.load_task("digits", forget="class:0", seed=0)
    g = torch.Generator().manual_seed(0)
    seen = torch.cat([y for _, y in t.train.batches(100, shuffle=True, generator=g)])
    assert sorted(seen.tolist()) == sorted(t.train.y.tolist())
    x, _ = t.train.tensors()
    assert abs(float(x.mean())) < 0.05 and abs(float(x.std()) - 1) < 0.05
    with pytest.raises(ValueError, match="batch_size"):
        next(t.train.batches(0))


def test_zero_shot_view_has_no_retain_data():
    t = data.load_task("digits", forget="class:1", seed=0)
    v = t.zero_shot_view()
    assert len(v.forget) == len(t.forget)
    for name in ("retain", "train", "test", "val"):
        with pytest.raises(data.RetainAccessError):
            getattr(v, name)
    with pytest.raises(ValueError, match="zero-shot"):
        data.require_zero_shot(t, "jit")
    assert data.require_zero_shot(v, "jit") is v


def test_mnist5k_integrity():
    x, y = embedded.mnist5k()
    assert x.shape == (5000, 28, 28) and x.min() >= 0 and x.max() <= 1
    assert np.bincount(y).tolist() == [500] * 10
    t = data.load_task("mnist5k", forget="class:3", seed=0)
    assert (
        len(t.test) == 1000 and len(t.train) + len(t.val) == 4000 and t.input_shape == (1, 28, 28)
    )
    t32 = data.load_task("mnist5k32", forget="random:10", seed=0)
    assert t32.input_shape == (3, 32, 32)


def test_adult_and_compas_raw_files():
    train, test = embedded.adult_raw()
    assert train.shape == (32561, 15) and test.shape == (16281, 15)
    assert train["sex"].value_counts().to_dict() == {"Male": 21790, "Female": 10771}
    assert set(test["income"].unique()) == {"<=50K", ">50K"}
    assert len(embedded.compas_raw()) == 7214


def test_gaussian_mixture_and_its_validation():
    x, z = embedded.gaussian_mixture(
        2000, np.array([[0.0, 0], [5, 5]]), np.stack([np.eye(2)] * 2), seed=0
    )
    assert x.shape == (2000, 2) and abs(x[z == 1].mean() - 5) < 0.2
    with pytest.raises(ValueError, match="weights"):
        embedded.gaussian_mixture(
            10, np.zeros((2, 1)), np.ones((2, 1, 1)), weights=np.array([0.7, 0.7])
        )


def test_cifar20_map():
    fines = [f for g in full.CIFAR20_GROUPS for f in g]
    assert sorted(fines) == list(range(100)) and all(len(g) == 5 for g in full.CIFAR20_GROUPS)
    # rocket -> vehicles 2, mushroom -> veg
    assert full.CIFAR100_TO_20[69] == 19 and full.CIFAR100_TO_20[51] == 4
