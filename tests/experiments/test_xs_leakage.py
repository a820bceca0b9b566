"""The leakage-estimator experiments (companion.experiments.xs_leakage, xs_leakage_train): the
setting, the toy studies, the penalties, the stacked regulariser runs with their stopping rule, the
audits and the FULL path on a tiny MNIST."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from companion.data import tasks
from companion.experiments import digit_removal
from companion.experiments import xs_leakage as xl
from companion.experiments import xs_leakage_train as xlt
from companion.theory.leakage_toy import toy_populations
from companion.theory.mi_estimators import marginal_mi
from companion.training import accuracy, predict

TINY = dict(
    batch_sizes=(8, 32),
    sample_sizes=(16, 64),
    n_rep=20,
    critic_steps=20,
    critic_n=200,
    n_trials=2,
    epochs=1,
    check_every=1,
    audit_boot=10,
    gammas=(0.0, 4.0),
)


def _setting(**kw) -> xl.LeakageSetting:
    return dataclasses.replace(xl.LeakageSetting.for_profile("quick"), **{**TINY, **kw})


def test_setting_profiles_and_validation():
    q, f = xl.LeakageSetting.for_profile("quick"), xl.LeakageSetting.for_profile("full")
    assert q.task == "mnist5k" and f.task == "mnist"
    assert f.n_rep > q.n_rep and max(f.batch_sizes) > max(q.batch_sizes)
    assert xl.LeakageSetting.for_profile("quick", n_trials=None).n_trials == q.n_trials
    for bad in (
        dict(regularisers=("hard",)),
        dict(gammas=(-1.0,)),
        dict(batch_sizes=(2,)),
        dict(share=1.5),
        dict(tau=0.0),
    ):
        with pytest.raises(ValueError, match=next(iter(bad))):
            _setting(**bad)


def test_estimator_study_rows_and_targets():
    s = _setting()
    est = xl.estimator_study(s, seed=0)
    assert len(est) == len(xl.ESTIMATORS) * len(s.batch_sizes)
    pop = toy_populations(s.separation, s.alpha, s.bandwidth, s.tau)
    for _, r in est.iterrows():
        assert r["target"] == pop[xl.TARGETS[r["estimator"]]]
        assert r["bias"] == pytest.approx(r["mean"] - r["target"])
        assert r["rmse"] ** 2 == pytest.approx(r["bias"] ** 2 + r["std"] ** 2 * 19 / 20, rel=1e-6)
        assert r["differentiable"] == (r["estimator"] not in xl.NOT_DIFFERENTIABLE)
    # the plug-in's spread shrinks with the batch
    p = est[est.estimator == "plugin"].set_index("n")["std"]
    assert p[32] < p[8]


def test_measure_study_and_loglog_slope():
    s = _setting()
    m = xl.measure_study(s, seed=1)
    assert set(m["measure"]) == set(xl.MEASURES)
    assert np.isfinite(m["rel_rmse"]).all() and (m["rel_rmse"] > 0).all()
    assert xl.loglog_slope([1, 4, 16, 64], [1, 0.5, 0.25, 0.125]) == pytest.approx(-0.5)
    with pytest.raises(ValueError, match="n/err"):
        xl.loglog_slope([1], [1])


def test_fit_critic_learns_a_positive_bound():
    from companion.theory.leakage_toy import toy_logits, toy_output_mi

    lo, z = toy_logits(2.0, 300, 1, seed=0)
    critic = xl.fit_critic(lo[0], z, steps=200, hidden=16, seed=0)
    test, tz = toy_logits(2.0, 2000, 1, seed=1)
    v = float(xl.infonce(critic, test[0], tz))
    assert 0.2 < v < toy_output_mi(2.0) + 0.03


def test_penalties_are_finite_differentiable_and_plugin_is_the_papers():
    s = _setting()
    g = torch.Generator().manual_seed(0)
    o_r = torch.randn(3, 64, 10, generator=g, requires_grad=True)
    o_u = torch.randn(3, 16, 10, generator=g, requires_grad=True)
    critic = xlt.StackedMLP([xl.critic_net(10, 8, i).float() for i in range(3)])
    for name in xl.REGULARISERS:
        v = xlt.penalty(name, o_r, o_u, s, critic)
        assert v.shape == (3,) and torch.isfinite(v).all(), name
        (gr,) = torch.autograd.grad(v.sum(), o_u)
        assert torch.isfinite(gr).all() and gr.abs().sum() > 0, name
    assert torch.equal(xlt.penalty("plugin", o_r, o_u, s), marginal_mi(o_r, o_u))
    with pytest.raises(ValueError, match="critic"):
        xlt.penalty("infonce", o_r, o_u, s)
    with pytest.raises(ValueError, match="name"):
        xlt.penalty("knn", o_r, o_u, s)


def test_regulariser_runs_stop_at_the_target_and_keep_the_stopped_weights(digit_removal_setup):
    task, model = digit_removal_setup
    s = _setting(regularisers=("plugin", "mmd2", "infonce"), utility_eval=50)
    target = accuracy(model, task.forget, "cpu") - 0.05
    res = xlt.regulariser_runs(model, task, s, target, seed=0, device="cpu")
    stops, traj = res["stops"], res["trajectory"]
    assert len(stops) == len(res["combos"]) == 3 * 2 * 2
    assert set(traj[traj.step == 0]["forget_acc"]) == {accuracy(model, task.forget, "cpu")}
    reached = stops[stops.reached]
    assert (reached["forget_acc"] <= target).all()
    # gamma 0 with the same batches is the same run for every regulariser but InfoNCE's critic
    # does not touch the network: identical stops
    g0 = stops[stops.gamma == 0.0].groupby("trial")["forget_acc"].nunique()
    assert (g0 == 1).all()
    for i, row in stops.iterrows():
        m = res["net"].unstack(i)
        acc = float((predict(m, task.forget, "cpu").argmax(1) == task.forget.y).float().mean())
        assert acc == pytest.approx(row["forget_acc"], abs=1e-6)
    # the stop is the first check where the rule holds
    for (r, g, k), t in traj.groupby(["regulariser", "gamma", "trial"]):
        first = t[t.forget_acc <= target]["step"].min()
        row = stops[(stops.regulariser == r) & (stops.gamma == g) & (stops.trial == k)].iloc[0]
        assert row["reached"] == (not math.isnan(first))
        if row["reached"]:
            assert row["step"] == first
    with pytest.raises(ValueError, match="target_forget_acc"):
        xlt.regulariser_runs(model, task, s, 1.5)


def test_audit_study_and_separation(digit_removal_setup):
    task, model = digit_removal_setup
    s = _setting(retain_batch=32, forget_batch=8)
    out = predict(model, task.retain, "cpu"), predict(model, task.forget, "cpu")
    flat = torch.zeros_like(out[0][:, :]), torch.zeros_like(out[1])
    audit = xl.audit_study({"model": out, "constant": flat}, s, seed=0)
    assert len(audit) == 2 * 8
    const = audit[audit.model == "constant"].set_index("measure")["mean"]
    # constant outputs leak nothing under the plug-ins and MMD
    for m in ("plugin", "hard", "renyi", "chi2", "js", "mmd2", "sharp"):
        assert abs(const[m]) < 1e-9, m
    sep = xl.audit_separation(audit, "model", "constant")
    t = audit.set_index(["model", "measure"])
    pooled = math.sqrt((t.loc[("model", "chi2"), "std"] ** 2 + 0.0) / 2)
    want = (t.loc[("model", "chi2"), "mean"] - t.loc[("constant", "chi2"), "mean"]) / pooled
    assert sep["chi2"] == pytest.approx(want) and want > 0
    with pytest.raises(ValueError, match="model"):
        xl.audit_separation(audit, "model", "nope")
    with pytest.raises(ValueError, match="outputs"):
        xl.audit_study({}, s)


def test_full_profile_path_on_tiny_mnist_idx(tmp_path, fake_mnist):
    fake_mnist(tmp_path, n_train=120, n_test=40)
    try:
        s = dataclasses.replace(
            xl.LeakageSetting.for_profile("full"),
            regularisers=("plugin", "chi2"),
            gammas=(1.0,),
            n_trials=1,
            epochs=1,
            check_every=1,
            retain_batch=16,
            forget_batch=4,
        )
        assert s.task == "mnist" and s.utility_eval == 0
        dcfg = digit_removal.digit_removal_config(
            "full", task=s.task, forget_class=s.forget_class, share=s.share
        )
        refs = digit_removal.digit_removal_references(dcfg, "full", 0, "cpu", tmp_path)
        task = refs["task"]
        target = accuracy(refs["retrain"], task.forget, "cpu")
        res = xlt.regulariser_runs(refs["original"], task, s, target, 0, "cpu")
        assert len(res["stops"]) == 2
        outs = {
            k: (predict(refs[k], task.retain, "cpu"), predict(refs[k], task.forget, "cpu"))
            for k in ("original", "retrain")
        }
        audit = xl.audit_study(outs, dataclasses.replace(s, audit_boot=5), 0)
        assert set(audit["model"]) == {"original", "retrain"}
    finally:
        tasks._CACHE.clear()
