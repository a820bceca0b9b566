"""The "mi_unlearning" method (Xu & Strohmer): its loss, stopping rules and settings."""

import math

import pytest
import torch

from companion import methods, models
from companion.methods import mi_unlearning as mu


@pytest.fixture
def setup(digit_removal_setup):
    return digit_removal_setup


def _state(m):
    return {k: v.clone() for k, v in m.state_dict().items()}


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
    # the first check fires
    assert res.log["stopped"] and res.log["steps"] == res.log["steps_per_epoch"]
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
