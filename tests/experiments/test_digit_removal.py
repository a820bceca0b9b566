"""Xu & Strohmer's digit-removal protocol (companion.experiments.digit_removal): the split, the
stacked trials, the stopping-rule runs, the FULL path and the quoted grid points."""

import pytest
import torch

from companion import data, methods, metrics
from companion.data import tasks
from companion.experiments import digit_removal
from companion.methods import mi_unlearning as mu


@pytest.fixture
def setup(digit_removal_setup):
    return digit_removal_setup


def test_digit_removal_split():
    base = data.load_task("digits", forget="class:3", seed=0, val_fraction=0.0)
    task = digit_removal.digit_removal_task(base, 0.75, seed=4)
    n3 = int((base.train.y == 3).sum())
    assert len(task.forget) == int(0.75 * n3) and (task.forget.y == 3).all()
    assert int((task.retain.y == 3).sum()) == n3 - int(0.75 * n3)
    assert len(task.retain) + len(task.forget) == len(task.train)
    assert not set(task.retain.index.tolist()) & set(task.forget.index.tolist())
    again = digit_removal.digit_removal_task(base, 0.75, seed=4)
    assert torch.equal(again.forget.index, task.forget.index)
    assert not torch.equal(
        digit_removal.digit_removal_task(base, 0.75, seed=5).forget.index, task.forget.index
    )
    with pytest.raises(ValueError, match="share"):
        digit_removal.digit_removal_task(base, 1.5)
    with pytest.raises(ValueError, match="task"):
        digit_removal.digit_removal_task(data.load_task("digits", forget="random:10"), 0.75)


def test_full_profile_path_on_tiny_mnist_idx(tmp_path, monkeypatch, fake_mnist):
    fake_mnist(tmp_path, n_train=120, n_test=40)
    try:
        cfg = digit_removal.DigitRemovalConfig.resolve("full", n_trials=1, grid=((3.5, 1),))
        assert cfg.task == "mnist"
        refs = digit_removal.digit_removal_references(
            cfg, "full", seed=0, device="cpu", data_root=tmp_path
        )
        task = refs["task"]
        assert len(task.forget) == int(0.75 * 12) and task.info["forget_share"] == 0.75
        grid = digit_removal.run_grid(refs["original"], task, cfg, "full", seed=0, device="cpu")
        assert len(digit_removal.at_epoch(grid, 3.5, 1)) == 1
        res = methods.unlearn("mi_unlearning", refs["original"], task, "full", 0, "cpu", epochs=1)
        assert res.log["stop_reason"] in ("forget_acc", "budget")
        rows, again = digit_removal.original_trajectory(task, cfg, "full", seed=0, device="cpu")
        # the paper's 100 epochs, scored after each
        assert [r["epoch"] for r in rows] == list(range(1, 101))
        assert all(
            torch.equal(a, b)
            for a, b in zip(again.state_dict().values(), refs["original"].state_dict().values())
        )
        assert (
            rows[-1]["forget_acc"] == metrics.evaluate(refs["original"], task, "cpu")["forget_acc"]
        )
    finally:
        tasks._CACHE.clear()


def test_stacked_trials_reproduce_the_registered_method(setup):
    task, model = setup
    cfg = mu.MIUnlearningConfig.resolve("quick", gamma=3.5, epochs=2, stop="none")
    hists = digit_removal.mi_unlearning_trials(model, task, [3, 4], cfg)
    for seed, hist in zip([3, 4], hists):
        ref = methods.unlearn(
            "mi_unlearning", model, task, "quick", seed, gamma=3.5, epochs=2, stop="none"
        ).log["history"]
        assert len(ref) == len(hist)
        for a, b in zip(hist, ref):
            assert a["step"] == b["step"] and a["mi"] == pytest.approx(b["mi"], abs=1e-5)
            assert a["forget_acc"] == pytest.approx(b["forget_acc"], abs=0.02) and a[
                "mi_avg"
            ] == pytest.approx(b["mi_avg"], abs=1e-5)
    with pytest.raises(ValueError, match="cfg"):
        digit_removal.mi_unlearning_trials(
            model, task, [0], mu.MIUnlearningConfig(stop="forget_acc")
        )


def test_run_stopping_rules(setup):
    task, model = setup
    cfg = digit_removal.DigitRemovalConfig.resolve("quick")
    runs = digit_removal.run_stopping_rules(
        model, task, cfg, "quick", 5.0, 3, seed=0, rules=("forget_acc", "none")
    )
    assert set(runs) == {"forget_acc", "none"}
    ref = runs["forget_acc"].log["stop_value"]
    h = runs["forget_acc"].log["history"]
    assert all(r["forget_acc"] > ref for r in h[:-1])
    assert [r["step"] for r in h[1:]] == list(range(1, len(h)))  # QUICK checks after every step
    assert runs["none"].log["steps"] == 3 * runs["none"].log["steps_per_epoch"]
    with pytest.raises(ValueError, match="rules"):
        digit_removal.run_stopping_rules(model, task, cfg, "quick", 5.0, 1, rules=("sometimes",))


def test_paper_grid_rows_name_quoted_numbers_at_grid_points():
    from companion.reported import get

    cfg = digit_removal.DigitRemovalConfig.resolve("full")
    rows = digit_removal.paper_grid_rows(cfg)
    assert len(rows) == 3 + 13 and len({key for _, key, *_ in rows}) == len(rows)
    grid_points = {(g, e) for g, e in cfg.grid} | {(cfg.table_gamma, cfg.table_epochs)}
    for label, key, gamma, epoch, col in rows:
        assert get(key).value is not None and col in ("mi", "retain_acc", "forget_acc", "test_acc")
        assert any(g == gamma and epoch <= e for g, e in grid_points), (label, gamma, epoch)
