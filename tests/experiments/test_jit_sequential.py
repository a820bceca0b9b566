"""Tests of companion.experiments.jit_sequential: the requests, the task views and a small run."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from companion import data
from companion.experiments import jit_sequential as jsq

torch.set_num_threads(1)


def test_random_requests_sizes_overlaps_and_union():
    reqs = jsq.make_requests(500, 4, 30, 10, seed=3)
    assert all(len(r) == 30 and len(np.unique(r)) == 30 for r in reqs)
    for a, b in zip(reqs, reqs[1:]):
        assert len(np.intersect1d(a, b)) == 10  # exactly the repeated samples
    # a sample reaches a later request only through the one in between (repeats of repeats)
    assert np.isin(np.intersect1d(reqs[0], reqs[2]), reqs[1]).all()
    assert len(np.unique(np.concatenate(reqs))) == 4 * 30 - 3 * 10
    assert not np.array_equal(reqs[0], jsq.make_requests(500, 4, 30, 10, seed=4)[0])
    with pytest.raises(ValueError, match="overlap"):
        jsq.make_requests(500, 2, 10, 10, 0)
    with pytest.raises(ValueError, match="n_train"):
        jsq.make_requests(50, 3, 30, 0, 0)


def test_class_requests_cover_exactly_the_classes():
    y = np.repeat(np.arange(5), 20)
    reqs = jsq.class_requests(y, (1, 3, 4), overlap=5, seed=0)
    assert set(y[reqs[0]]) == {1} and len(reqs[0]) == 20
    assert len(reqs[1]) == 25 and np.isin(reqs[0], reqs[1]).sum() == 5
    assert set(np.unique(np.concatenate(reqs))) == set(np.flatnonzero(np.isin(y, (1, 3, 4))))
    with pytest.raises(ValueError, match="classes"):
        jsq.class_requests(y, (1, 9), 0, 0)


def test_task_for_partitions_the_training_set():
    t = data.load_task("digits", forget="random:1", seed=0)
    removed = np.arange(40)
    v = jsq.task_for(t, removed[10:20], removed)
    assert len(v.forget) == 10 and len(v.retain) == len(t.train) - 40
    assert not set(v.forget.index.tolist()) & set(v.retain.index.tolist())
    assert v.forget_spec.kind == "random"
    with pytest.raises(ValueError, match="forget"):
        jsq.task_for(t, np.array([100]), removed)


def test_setting_validates_and_profiles():
    q = jsq.SequentialSetting.for_profile("quick")
    f = jsq.SequentialSetting.for_profile("full")
    assert q.task == "digits" and f.task == "mnist" and len(f.classes) > len(q.classes)
    for bad in (
        {"kind": "subclass"},
        {"classes": (3, 3)},
        {"baseline": "jit"},
        {"overlap": -1},
        {"n_seeds": 0},
        {"task": "nope"},
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            jsq.SequentialSetting(**bad)


def test_union_retrain_is_cached_per_removed_set():
    t = data.load_task("digits", forget="random:1", seed=0)
    a = jsq.retrain_without(t, np.arange(30), "tiny_mlp", "quick", 0)
    b = jsq.retrain_without(t, np.arange(30), "tiny_mlp", "quick", 0)
    c = jsq.retrain_without(t, np.arange(1, 31), "tiny_mlp", "quick", 0)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert any(not torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))
    # one checkpoint per removed set: the second call loaded the first's
    ckpts = list((Path(os.environ["COMPANION_CACHE"]) / "checkpoints").glob("*retrain-union*"))
    assert len(ckpts) == 2


def test_small_run_scores_every_state():
    st = jsq.SequentialSetting(arch="tiny_mlp", classes=(3, 8), overlap=10)
    f = jsq.run_sequential(st)
    states = f.groupby(["method", "mode"]).step.max().to_dict()
    assert states == {
        ("original", "none"): 0,
        ("jit", "sequential"): 2,
        ("jit", "union"): 2,
        ("graddiff", "sequential"): 2,
        ("graddiff", "union"): 2,
        ("retrain", "retrain"): 2,
    }
    # after step 1 the sequential and the union model are the same run (same seed, same request)
    s1 = f[(f.step == 1) & (f.method == "jit")].set_index(["mode", "request"])
    assert s1.loc[("sequential", 1), "acc"] == s1.loc[("union", 1), "acc"]
    # a retrained model never saw the forgotten classes: it cannot classify their test samples
    rt = f[(f.method == "retrain") & (f.request == "union")]
    assert (rt.class_test_acc == 0).all()
    d = jsq.drift(f, "test_acc")
    assert d.index.tolist() == [0, 1, 2]
    r = jsq.residual(f, "acc", 1)
    assert r.index.tolist() == [1, 2]
    with pytest.raises(ValueError, match="column"):
        jsq.drift(f, "nope")
