"""Stopping MI unlearning (companion.experiments.xs_stopping): the stacked per-step runner against
the grid's stacked trials, the bound at every check, the settings and the stopping rules."""

import numpy as np
import pandas as pd
import pytest

from companion.experiments import digit_removal_grid as grid
from companion.experiments import xs_stopping as xst
from companion.methods.mi_unlearning import MIUnlearningConfig


@pytest.fixture(scope="module")
def run(digit_removal_setup):
    task, model = digit_removal_setup
    st = xst.StoppingSetting(gammas=(0.0, 4.0), epochs=2, fixed_epochs=1, n_calib=1, n_held=1)
    st = xst.StoppingSetting(**{**st.__dict__, "check_every": 3, "mi_window": 4})
    cal, held = st.seeds(3)
    df = xst.stopping_trajectories(model, task, st, cal + held)
    return task, model, st, cal + held, df


def test_setting_profiles_and_bad_values():
    q, f = xst.StoppingSetting.for_profile("quick"), xst.StoppingSetting.for_profile("full")
    assert q.task == "mnist5k" and f.task == "mnist" and f.gammas == (1.5, 3.5, 4.0, 5.0)
    assert q.seeds(0) == ([0, 1, 2], [3, 4, 5])
    with pytest.raises(ValueError, match="check_every"):
        xst.StoppingSetting(check_every=0)
    with pytest.raises(ValueError, match="fixed_epochs"):
        xst.StoppingSetting(epochs=2, fixed_epochs=3)
    with pytest.raises(ValueError, match="gammas"):
        xst.StoppingSetting(gammas=())


def test_trajectories_match_the_grid_trials_at_epoch_ends(run):
    task, model, st, seeds, df = run
    assert set(df["gamma"]) == {0.0, 4.0} and set(df["seed"]) == set(seeds)
    for g in st.gammas:
        hist = grid.mi_unlearning_trials(
            model, task, seeds, MIUnlearningConfig(gamma=g, epochs=2, stop="none")
        )
        for t, s in enumerate(seeds):
            one = df[(df.gamma == g) & (df.seed == s)]
            for h in hist[t]:
                row = one[one.step == h["step"]].iloc[0]
                assert row.forget_acc == pytest.approx(h["forget_acc"])
                assert row.retain_acc == pytest.approx(h["retain_acc"])
                assert row.test_acc == pytest.approx(h["monitor_acc"])
            assert one[one.step == 0].iloc[0].mi == pytest.approx(hist[t][0]["mi"], rel=1e-5)


def test_bound_holds_at_every_check(run):
    *_, df = run
    assert (df["bound"] >= df["forget_acc"] - 1e-9).all()
    assert (df["bound_hard"] >= df["forget_acc"] - 1e-9).all()
    assert (np.abs(df["forget_acc"] - df["s_u"]) <= df["slack_u"] + 1e-9).all()
    # gamma = 0 leaves the forget set alone compared with the MI penalty
    end = df[df.step == df.step.max()].groupby("gamma")["forget_acc"].mean()
    assert end[0.0] >= end[4.0]


def test_trajectories_refuse_bad_input(digit_removal_setup):
    task, model = digit_removal_setup
    with pytest.raises(ValueError, match="seeds"):
        xst.stopping_trajectories(model, task, xst.StoppingSetting(), [])
    with pytest.raises(ValueError, match="original"):
        xst.stopping_trajectories(object(), task, xst.StoppingSetting(), [0])


def test_first_at_or_below():
    assert xst.first_at_or_below(np.array([3.0, 2.0, 1.0, 0.5]), 1.0) == 2
    assert xst.first_at_or_below(np.array([3.0, 2.0]), 1.0) == 1  # budget
    assert xst.first_at_or_below(np.array([0.1, 0.2, 0.1]), 0.15, [False, True, True]) == 2
    with pytest.raises(ValueError, match="values"):
        xst.first_at_or_below(np.array([]), 1.0)


def _toy():
    steps = np.arange(6)
    traj = pd.DataFrame(
        {
            "gamma": 1.0,
            "seed": 0,
            "step": steps,
            "mi_avg": [0.05, 0.04, 0.03, 0.02, 0.01, 0.01],
            "window_full": [False, False, True, True, True, True],
            "forget_acc": [1.0, 0.95, 0.8, 0.6, 0.4, 0.3],
            "bound": [1.0, 1.0, 0.97, 0.85, 0.7, 0.6],
        }
    )
    return traj, {"forget_acc": 0.8, "mi_batch": 0.025}


def test_rules_on_a_constructed_trajectory():
    traj, ref = _toy()
    assert xst.stop_index(traj, "fixed", ref, fixed_step=4) == 4
    assert xst.stop_index(traj, "oracle", ref) == 2
    assert xst.stop_index(traj, "target_mi", ref) == 3
    assert xst.stop_index(traj, "calibrated_mi", ref, ratio=1.2) == 2
    assert xst.stop_index(traj, "certified", ref) == 4
    with pytest.raises(ValueError, match="rule"):
        xst.stop_index(traj, "never", ref)
    out = xst.apply_rule(traj, "oracle", ref)
    assert len(out) == 1 and out.iloc[0]["forget_gap"] == 0.0
    ratio, score = xst.calibrate_ratio(traj, ref, (0.5, 1.2, 2.0))
    assert ratio == 1.2 and score[1.2] == 0.0 and score[0.5] > 0


def test_certified_rule_never_stops_above_the_target(run):
    *_, df = run
    ref = {"forget_acc": float(df["forget_acc"].median()), "mi_batch": 0.01}
    stops = xst.apply_rule(df, "certified", ref)
    fired = stops[stops["bound"] <= ref["forget_acc"]]
    assert (fired["forget_acc"] <= ref["forget_acc"] + 1e-12).all()


def test_reference_point(digit_removal_setup):
    task, model = digit_removal_setup
    ref = xst.reference_point(model, task, n_boot=50)
    assert 0 <= ref["forget_acc"] <= ref["bound"] + 1e-9
    assert ref["mi_batch"] >= ref["mi_pop"] - 0.01  # the batch estimate is biased upwards


def test_full_profile_path_on_tiny_mnist_idx(tmp_path, fake_mnist):
    from companion.experiments import digit_removal as dr

    fake_mnist(tmp_path, n_train=120, n_test=40)
    st = xst.StoppingSetting.for_profile(
        "full", gammas=(4.0,), n_calib=1, n_held=1, epochs=1, fixed_epochs=1, mi_window=1
    )
    assert st.task == "mnist" and st.retain_eval == 0
    cfg = dr.digit_removal_config("full", task=st.task, forget_class=st.forget_class)
    refs = dr.digit_removal_references(cfg, "full", seed=0, device="cpu", data_root=tmp_path)
    cal, held = st.seeds(0)
    df = xst.stopping_trajectories(refs["original"], refs["task"], st, cal + held)
    assert set(df["seed"]) == {0, 1} and df["step"].max() == refs["task"].forget.n_batches(16)
    ref = xst.reference_point(refs["retrain"], refs["task"], n_boot=20)
    stops = xst.apply_rule(df, "fixed", ref, fixed_step=int(df["step"].max()))
    assert (stops["step"] == df["step"].max()).all()
