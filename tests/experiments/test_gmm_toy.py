"""The GMM toy of Xu & Strohmer (companion.experiments.gmm_toy): stacked repetitions against the
registered method, the experiment's shapes, the Bayes MI and the configs."""

import numpy as np
import pytest
import torch

from companion import methods
from companion.experiments import digit_removal, gmm_toy
from companion.models.stacked import StackedMLP
from companion.training import TrainRecipe, fit


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
    # gamma 0: identical by construction
    assert np.allclose(out["p0"]["mi_unlearning"], out["p0"]["ce_only"], atol=1e-6)
