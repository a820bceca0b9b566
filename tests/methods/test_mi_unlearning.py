"""The "mi_unlearning" method (Xu & Strohmer, spec 6.3 and 10.1), the digit-removal split and the
GMM toy."""

import math

import numpy as np
import pytest
import torch

from companion import data, methods, metrics, models
from companion.data import tasks
from companion.experiments import digit_removal, gmm_toy
from companion.methods import mi_unlearning as mu
from companion.models.stacked import StackedMLP
from companion.training import TrainRecipe, fit


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("COMPANION_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("COMPANION_PROGRESS", "0")


@pytest.fixture(scope="module")
def setup():
    base = data.load_task("digits", forget="class:3", seed=0, val_fraction=0.0)
    task = digit_removal.digit_removal_task(base, 0.75, seed=0)
    model = models.build("mlp", task.input_shape, task.num_classes, 0)
    fit(model, task.train, TrainRecipe("adam", 1e-3, 15, 64), seed=0, show_progress=False)
    return task, model


def _state(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


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


def test_input_model_untouched_and_stop_none_runs_the_budget(setup):
    task, model = setup
    before = _state(model)
    res = methods.unlearn(
        "mi_unlearning", model, task, "quick", 0, gamma=3.5, epochs=2, stop="none"
    )
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    spe = math.ceil(len(task.forget) / 16)
    assert res.log["steps"] == 2 * spe == res.log["steps_per_epoch"] * 2 and not res.log["stopped"]
    assert [h["step"] for h in res.log["history"]] == [0, spe, 2 * spe]
    assert any(not torch.equal(before[k], v) for k, v in res.model.state_dict().items())
    # the MI penalty lowers the forget accuracy relative to the start
    assert res.log["history"][-1]["mi"] < res.log["history"][0]["mi"]


def test_forget_acc_rule_stops_at_the_first_check_below_target(setup):
    task, model = setup
    res = methods.unlearn(
        "mi_unlearning",
        model,
        task,
        "quick",
        1,
        gamma=5.0,
        epochs=30,
        stop="forget_acc",
        stop_value=0.6,
        check_every=3,
    )
    h = res.log["history"]
    assert res.log["stopped"] and h[-1]["forget_acc"] <= 0.6
    assert all(r["forget_acc"] > 0.6 for r in h[:-1])
    assert res.log["steps"] % 3 == 0
    # the stopped run is the prefix of the unstopped run with the same seed
    free = methods.unlearn(
        "mi_unlearning", model, task, "quick", 1, gamma=5.0, epochs=30, stop="none", check_every=3
    )
    prefix = free.log["history"][: len(h)]
    assert [r["forget_acc"] for r in prefix] == pytest.approx([r["forget_acc"] for r in h])


def test_target_mi_and_test_drop_rules(setup):
    task, model = setup
    res = methods.unlearn(
        "mi_unlearning",
        model,
        task,
        "quick",
        0,
        gamma=2.0,
        epochs=3,
        stop="target_mi",
        stop_value=1.0,
    )
    assert (
        res.log["stopped"] and res.log["steps"] == res.log["steps_per_epoch"]
    )  # the first check fires
    res = methods.unlearn(
        "mi_unlearning",
        model,
        task,
        "quick",
        0,
        gamma=2.0,
        epochs=2,
        stop="test_drop",
        stop_value=1.0,
    )
    assert not res.log["stopped"] and res.log["steps"] == 2 * res.log["steps_per_epoch"]
    res = methods.unlearn(
        "mi_unlearning",
        model,
        task,
        "quick",
        0,
        gamma=5.0,
        epochs=20,
        stop="test_drop",
        stop_value=0.02,
    )
    h = res.log["history"]
    start = h[0]["monitor_acc"]
    assert all(r["monitor_acc"] > start - 0.02 for r in h[:-1])
    assert (not res.log["stopped"]) or h[-1]["monitor_acc"] <= start - 0.02


def test_default_rule_uses_the_retrained_reference(setup):
    task, model = setup
    res = methods.unlearn("mi_unlearning", model, task, "quick", 0, gamma=5.0, epochs=10)
    ref = models.train_or_load(task, "mlp", "quick", 0, on="retain", show_progress=False)
    ref_acc = float((ref(task.forget.tensors()[0]).argmax(1) == 3).float().mean())
    assert res.log["reference"]["forget_acc"] == pytest.approx(ref_acc)
    assert res.log["stop_value"] == pytest.approx(ref_acc)
    assert 0 < res.log["reference"]["mi"] < math.log(2)
    h = res.log["history"]
    assert all(r["forget_acc"] > ref_acc for r in h[:-1])
    assert res.log["stopped"] == (h[-1]["forget_acc"] <= ref_acc)


@pytest.mark.parametrize("gamma", [-1.0, float("nan"), float("inf"), True, "4"])
def test_bad_gamma_refused(setup, gamma):
    task, model = setup
    with pytest.raises(ValueError, match="gamma"):
        methods.unlearn("mi_unlearning", model, task, "quick", 0, gamma=gamma)


@pytest.mark.parametrize(
    "kw,name",
    [
        ({"stop": "never"}, "stop"),
        ({"stop_value": -0.1}, "stop_value"),
        ({"stop": "forget_acc", "stop_value": 2.0}, "stop_value"),
        ({"forget_batch": 0}, "forget_batch"),
        ({"formulation": "exact"}, "formulation"),
        ({"monitor": "train"}, "monitor"),
    ],
)
def test_bad_settings_refused(setup, kw, name):
    task, model = setup
    with pytest.raises(ValueError, match=name):
        methods.unlearn("mi_unlearning", model, task, "quick", 0, **kw)


def test_stacked_gmm_equals_registered_method():
    cfg = gmm_toy.GMMToyConfig(n_per_component=60, n_reps=2, train_steps=30)
    d = gmm_toy.gmm_toy_data(cfg, seed=3)
    task = gmm_toy.gmm_toy_task(d)
    single = gmm_toy.gmm_mlp(cfg, 11)
    fit(
        single,
        task.train,
        TrainRecipe("adam", cfg.lr, cfg.train_steps, len(task.train)),
        seed=0,
        show_progress=False,
    )
    stacked = StackedMLP([single, gmm_toy.gmm_mlp(cfg, 12)])
    gmm_toy.train_stacked(
        stacked, d["x_retain"], d["y_retain"], cfg.unlearn_steps, cfg.lr, d["x_point"], cfg.gamma
    )
    res = methods.unlearn(
        "mi_unlearning",
        single,
        task,
        "quick",
        0,
        gamma=cfg.gamma,
        epochs=cfg.unlearn_steps,
        lr=cfg.lr,
        retain_batch=len(task.retain),
        forget_batch=1,
        stop="none",
    )
    ours = StackedMLP([res.model]).forward(task.train.x)[0]
    assert torch.allclose(ours, stacked(task.train.x)[0], atol=1e-4)
    assert torch.allclose(
        stacked.unstack(0, cfg)(task.train.x), stacked(task.train.x)[0], atol=1e-6
    )


def test_gmm_experiment_shapes_and_sanity():
    cfg = gmm_toy.GMMToyConfig(n_per_component=100, n_reps=3, train_steps=40, finetune_steps=20)
    out = gmm_toy.gmm_toy_experiment(cfg, seed=0)
    for name in ("original", "retrain", "mi_unlearning", "finetune"):
        assert (
            out["p0"][name].shape == (3,)
            and ((out["p0"][name] >= 0) & (out["p0"][name] <= 1)).all()
        )
        assert out["train_acc"][name].mean() > 0.8
    with pytest.raises(ValueError, match="gamma"):
        gmm_toy.GMMToyConfig(gamma=-1)


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
        assert [r["epoch"] for r in rows] == list(
            range(1, 101)
        )  # the paper's 100 epochs, scored after each
        assert all(
            torch.equal(a, b)
            for a, b in zip(again.state_dict().values(), refs["original"].state_dict().values())
        )
        assert (
            rows[-1]["forget_acc"] == metrics.evaluate(refs["original"], task, "cpu")["forget_acc"]
        )
    finally:
        tasks._CACHE.clear()


def test_gmm_bayes_mi_and_ambiguous_seed():
    cfg = gmm_toy.GMMToyConfig()
    s = gmm_toy.gmm_ambiguous_seed(cfg, 0)
    d = gmm_toy.gmm_toy_data(cfg, s)
    p0 = 1 / (1 + np.exp(-gmm_toy.gmm_bayes_logit(d["x_point"], d["means"], cfg.variance)[0]))
    assert 0.1 < p0 < 0.9
    for earlier in range(s):
        e = gmm_toy.gmm_toy_data(cfg, earlier)
        q = 1 / (1 + np.exp(-gmm_toy.gmm_bayes_logit(e["x_point"], e["means"], cfg.variance)[0]))
        assert not 0.1 < q < 0.9
    # quadrature value = the plug-in estimate on a very large sample (Monte Carlo)
    exact = gmm_toy.gmm_bayes_output_mi(d["means"], cfg.variance)
    rng = np.random.default_rng(0)
    n = 100_000
    x = np.concatenate(
        [
            d["means"][c].numpy() + np.sqrt(cfg.variance) * rng.standard_normal((n, cfg.dim))
            for c in (0, 1)
        ]
    )
    lo = torch.as_tensor(gmm_toy.gmm_bayes_logit(x, d["means"], cfg.variance))
    from companion.theory.information import mi_softmax_plugin

    mc = mi_softmax_plugin(
        torch.stack([lo, torch.zeros_like(lo)], 1),
        torch.arange(2).repeat_interleave(n),
        formulation="stable",
    ).item()
    assert mc == pytest.approx(exact, abs=3e-3)
    # two identical components carry no information
    assert gmm_toy.gmm_bayes_output_mi(np.zeros((2, 3)), 1.0) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="lo/hi"):
        gmm_toy.gmm_ambiguous_seed(cfg, 0, 0.9, 0.1)


def test_gmm_control_and_profile_configs():
    assert gmm_toy.gmm_toy_config("quick").n_reps == gmm_toy.GMMToyConfig.QUICK["n_reps"]
    assert (
        gmm_toy.gmm_toy_config("full").n_reps == 100
        and gmm_toy.gmm_toy_config("full", 7).n_reps == 7
    )
    assert (
        digit_removal.digit_removal_config("quick").task == "mnist5k"
        and digit_removal.digit_removal_config("full", 3).n_trials == 3
    )
    cfg = gmm_toy.GMMToyConfig(
        n_per_component=80, n_reps=2, train_steps=30, finetune_steps=5, gamma=0.0
    )
    out = gmm_toy.gmm_toy_experiment(cfg, seed=1)
    assert np.allclose(
        out["p0"]["mi_unlearning"], out["p0"]["ce_only"], atol=1e-6
    )  # gamma 0: identical by construction


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


def test_target_mi_uses_a_full_moving_window(setup):
    task, model = setup
    res = methods.unlearn(
        "mi_unlearning",
        model,
        task,
        "quick",
        0,
        gamma=3.0,
        epochs=3,
        stop="target_mi",
        stop_value=1.0,
        check_every=1,
        mi_window=3,
    )
    assert res.log["stopped"] and res.log["steps"] == 3  # the window fills after three steps
    h = res.log["history"][-1]
    assert h["mi_avg"] <= 1.0
    with pytest.raises(ValueError, match="mi_window"):
        mu.MIUnlearningConfig(mi_window=-1)


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


@pytest.mark.parametrize(
    "stop,value",
    [("target_mi", None), ("target_mi", 1.0), ("forget_acc", 0.7), ("test_drop", 0.02)],
)
def test_each_rule_stops_at_the_first_row_where_its_condition_holds(setup, stop, value):
    """A stopped run ends at the first check of the unstopped run (same seed) where ``rule_holds``
    says the rule's condition holds; for target_mi, rows whose moving window is not yet full never
    count
    (a check that reads only ``mi_avg`` wrongly calls an earlier row a missed stop)."""
    task, model = setup
    kw = dict(gamma=5.0, epochs=3, check_every=1, mi_window=4)
    run = methods.unlearn(
        "mi_unlearning", model, task, "quick", 2, stop=stop, stop_value=value, **kw
    )
    target = run.log["stop_value"]
    free = methods.unlearn("mi_unlearning", model, task, "quick", 2, stop="none", **kw).log[
        "history"
    ]
    assert run.log["mi_window"] == 4
    assert [r["mi_window_full"] for r in free[:6]] == [False, False, False, False, True, True]
    holds = [mu.rule_holds(stop, r, target, free[0]["monitor_acc"]) for r in free]
    first = holds.index(True) if any(holds[1:]) else None
    if stop == "forget_acc" and holds[0]:
        assert run.log["stopped"] and run.log["steps"] == 0
    elif first is None:
        assert not run.log["stopped"] and run.log["steps"] == free[-1]["step"]
    else:
        assert run.log["stopped"] and run.log["steps"] == free[first]["step"]
    assert not (stop == "target_mi" and any(holds[:4]))  # never before the window is full
    if stop == "target_mi" and value == 1.0:
        # every row sits below this target, so reading mi_avg alone would stop after one step; the
        # rule waits
        assert all(r["mi_avg"] <= 1.0 for r in free[1:]) and run.log["steps"] == 4


def test_rule_holds_refuses_unknown_rules():
    with pytest.raises(ValueError, match="stop"):
        mu.rule_holds("sometimes", {"forget_acc": 0.0}, 0.5)
    with pytest.raises(ValueError, match="start_monitor_acc"):
        mu.rule_holds("test_drop", {"monitor_acc": 0.5}, 0.01)


def test_paper_grid_rows_name_quoted_numbers_at_grid_points():
    from companion.reported import get

    cfg = digit_removal.DigitRemovalConfig.resolve("full")
    rows = digit_removal.paper_grid_rows(cfg)
    assert len(rows) == 3 + 13 and len({key for _, key, *_ in rows}) == len(rows)
    grid_points = {(g, e) for g, e in cfg.grid} | {(cfg.table_gamma, cfg.table_epochs)}
    for label, key, gamma, epoch, col in rows:
        assert get(key).value is not None and col in ("mi", "retain_acc", "forget_acc", "test_acc")
        assert any(g == gamma and epoch <= e for g, e in grid_points), (label, gamma, epoch)
