"""Tests of the certified-unlearning methods (gradient_clipping, model_clipping, output_perturbation)
and their vectorised engine (companion.methods.certified)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from companion import data, methods, models
from companion.methods import certified as M
from companion.theory import certified as C


@pytest.fixture(scope="module")
def task():
    return data.load_task("digits", forget="random:100", seed=0)


@pytest.fixture(scope="module")
def model(task):
    return models.build("tiny_mlp", task.input_shape, task.num_classes, seed=0)


def _vec(m: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in m.parameters()])


def test_global_clip_norm_and_direction():
    g = torch.Generator().manual_seed(0)
    t = {"a": torch.randn(4, 3, 5, generator=g), "b": torch.randn(4, 7, generator=g)}
    radius = torch.tensor([0.1, 1.0, 100.0, math.inf])
    out = M.clip_global(t, radius)
    before, after = M.global_norm(t), M.global_norm(out)
    torch.testing.assert_close(after, torch.minimum(before, radius))
    flat_in = torch.cat([t["a"].flatten(1), t["b"]], 1)
    flat_out = torch.cat([out["a"].flatten(1), out["b"]], 1)
    cos = F.cosine_similarity(flat_in, flat_out, dim=1)
    torch.testing.assert_close(cos, torch.ones(4))


def test_optax_linear_onecycle_known_values():
    s = M.optax_linear_onecycle(torch.tensor([0.0, 30.0, 85.0, 100.0, 150.0]), 100, 0.1)
    torch.testing.assert_close(s, torch.tensor([0.004, 0.1, 0.004, 4e-7, 4e-7], dtype=torch.float64))


@pytest.mark.parametrize("name", ["gradient_clipping", "model_clipping", "output_perturbation"])
def test_methods_run_and_report_the_accountants_certificate(name, task, model):
    res = methods.unlearn(name, model, task, "quick", seed=1, epochs=2)
    cfg = res.config
    log = res.log
    assert log["certified"] and len(log["val_acc_per_epoch"]) == 2
    assert not torch.equal(_vec(res.model), _vec(model))  # the input model is not changed ...
    assert torch.isfinite(_vec(res.model)).all()
    if name == "gradient_clipping":
        T = C.gc_steps(cfg.c0, cfg.c1, cfg.gamma, cfg.lam)
        er = C.pabi_eps_r(cfg.c0, cfg.c1, cfg.gamma, cfg.lam, log["sigma"], T)
        assert log["T"] == T == log["noisy_steps"]
        assert log["epsilon"] == pytest.approx(C.rdp_to_dp(er, cfg.delta)[0])
        assert log["epsilon"] == pytest.approx(cfg.epsilon, rel=1e-6)  # 'theorem' calibration hits the target
        assert log["epsilon_as_coded"] == pytest.approx(C.rdp_to_dp(er, cfg.delta, "as_coded")[0])
    elif name == "model_clipping":
        r = C.mc_radius(cfg.c2, cfg.sigma)
        assert log["T"] == C.mc_steps(cfg.epsilon, cfg.delta, r) == log["noisy_steps"]
        assert log["delta_reached"] <= cfg.delta
    else:
        assert log["sigma"] == pytest.approx(C.op_sigma(cfg.c0, cfg.epsilon, cfg.delta))
        assert log["epsilon_exact"] <= cfg.epsilon


def test_as_coded_calibration_reproduces_paper_sigma_and_true_epsilon(task, model):
    res = methods.unlearn("gradient_clipping", model, task, "quick", seed=0, epochs=1, calibration="as_coded")
    assert res.log["sigma"] == pytest.approx(0.0283, abs=5e-5)  # spec table, MNIST C1 = 100 row
    assert res.log["epsilon"] == pytest.approx(7.077, abs=1e-3)  # what eps_R = 1 really certifies
    assert res.log["epsilon_as_coded"] == pytest.approx(1.0036, abs=1e-4)


def test_two_noisy_steps_draw_different_independent_noise(task, model):
    plan = M.Plan("gradient_clipping", c0=1.0, steps=5, sigma=0.1, gamma=1e-3, lam=1.0, c1=1.0)
    res = M.run_stacked(model, [plan], task.retain, 1, seed=0, show_progress=False)
    a, b = res.noise_draws
    assert not torch.equal(a, b)
    assert abs(float(torch.corrcoef(torch.stack([a, b]))[0, 1])) < 4 / math.sqrt(a.numel())
    assert float(a.std()) == pytest.approx(1.0, abs=0.1)
    frozen = M.run_stacked(model, [plan], task.retain, 1, seed=0, noise="frozen", show_progress=False)
    assert torch.equal(*frozen.noise_draws)
    log = methods.unlearn("gradient_clipping", model, task, "quick", seed=0, epochs=1, noise="frozen").log
    assert log["epsilon"] == math.inf and not log["certified"]


def test_start_clip_and_output_perturbation_noise(task, model):
    c0 = 0.05
    res = M.run_stacked(model, [M.Plan("gradient_clipping", c0=c0, steps=1)], task.retain, 0, show_progress=False)
    assert float(M.global_norm(res.params)) == pytest.approx(c0, rel=1e-5)
    sigma = 0.3
    op = M.run_stacked(model, [M.Plan("output_perturbation", c0=c0, init_sigma=sigma)], task.retain, 0, show_progress=False)
    z = torch.cat([(op.params[k][0] - res.params[k][0]).flatten() for k in op.params]) / sigma
    assert float(z.mean()) == pytest.approx(0.0, abs=0.1) and float(z.std()) == pytest.approx(1.0, abs=0.1)


def test_model_clipping_projection_is_respected(task, model):
    c2 = 0.2
    plans = [M.Plan("model_clipping", c0=7.0, steps=10**6, sigma=0.0, gamma=1e-2, lam=1.0, c2=c2),
             M.Plan("model_clipping", c0=7.0, steps=10**6, sigma=0.01, gamma=1e-2, lam=1.0, c2=c2, c1=1.0, noise_before_projection=True)]
    res = M.run_stacked(model, plans, task.retain, 1, show_progress=False)
    norms = M.global_norm(res.params)
    assert float(norms[0]) <= c2 * (1 + 1e-5)  # noise 0 after projection: inside the ball
    assert float(norms[1]) <= c2 * (1 + 1e-5)  # noise before projection: projected last


def test_from_scratch_update_and_vectorisation_agree(task, model):
    """The engine's gradient-clipping steps (noise off, full batch) equal a plain loop; K plans at
    once equal each plan alone."""
    n = len(task.retain)
    plans = [M.Plan("gradient_clipping", c0=c0, steps=3, sigma=0.0, gamma=0.05, lam=2.0, c1=c1) for c0, c1 in [(2.0, 0.5), (0.5, 5.0)]]
    together = M.run_stacked(model, plans, task.retain, 2, batch_size=n, show_progress=False)
    x, y = task.retain.tensors()
    for k, p in enumerate(plans):
        alone = M.run_stacked(model, [p], task.retain, 2, batch_size=n, show_progress=False)
        for name in alone.params:
            torch.testing.assert_close(together.params[name][k], alone.params[name][0], rtol=1e-5, atol=1e-6)
        m = models.build("tiny_mlp", task.input_shape, task.num_classes, seed=0)
        ps = list(m.parameters())
        with torch.no_grad():
            s = min(1.0, p.c0 / float(torch.cat([q.flatten() for q in ps]).norm()))
            for q in ps:
                q.mul_(s)
        for step in range(2):
            g = torch.autograd.grad(F.cross_entropy(m(x), y), ps)
            with torch.no_grad():
                if step < p.steps:
                    gs = min(1.0, p.c1 / float(torch.cat([v.flatten() for v in g]).norm()))
                    for q, v in zip(ps, g):
                        q.sub_(p.gamma * (gs * v + p.lam * q))
                else:
                    lr = float(M.optax_linear_onecycle(step - p.steps, 2, 0.1))
                    for q, v in zip(ps, g):
                        q.sub_(lr * (v + 5e-4 * q))
        ref = torch.cat([q.flatten() for q in ps])
        got = torch.cat([together.params[nm][k].flatten() for nm in together.params])
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-6)


def test_retrain_plan_starts_fresh(task, model):
    res = M.run_stacked(model, [M.Plan("retrain", init_seed=5)], task.retain, 0, show_progress=False)
    fresh = models.build("tiny_mlp", task.input_shape, task.num_classes, seed=5)
    torch.testing.assert_close(torch.cat([res.params[k][0].flatten() for k in res.params]), _vec(fresh))


@pytest.mark.parametrize(
    "name,kw",
    [
        ("gradient_clipping", {"epsilon": 0.0}), ("gradient_clipping", {"epsilon": -1.0}), ("gradient_clipping", {"delta": 1.0}),
        ("gradient_clipping", {"delta": 0.0}), ("gradient_clipping", {"gamma": 0.1, "lam": 10.0}),
        ("gradient_clipping", {"calibration": "nope"}), ("gradient_clipping", {"noise": "stale"}),
        ("model_clipping", {"epsilon": 0.0}), ("model_clipping", {"delta": 2.0}), ("model_clipping", {"c2": -1.0}),
        ("output_perturbation", {"epsilon": -0.5}), ("output_perturbation", {"calibration": "exact"}),
    ],
)
def test_bad_settings_are_refused(name, kw, task, model):
    with pytest.raises(ValueError, match=list(kw)[0].split("_")[0]):
        methods.unlearn(name, model, task, "quick", **kw)


def test_full_profile_path_on_fake_mnist_idx(tmp_path, fake_mnist):
    """FULL code path: a real MNIST IDX layout (tiny, synthetic) through load_task, pretraining and the curve runner."""
    from companion.experiments import cert_curves

    fake_mnist(tmp_path, n_train=300, n_test=100)
    setup = cert_curves.setup("full", data_root=str(tmp_path), device="cpu", seeds=(0,), cache_dir=str(tmp_path / "cache"), pretrain_epochs=1)
    assert setup.task.name == "mnist" and len(setup.task.forget) == 27
    df = cert_curves.run_curves(setup, epochs=1, methods=("gradient_clipping", "retrain"))
    assert set(df["method"]) == {"gradient_clipping (as_coded)", "gradient_clipping (theorem)", "retrain"}
    assert df["val_acc"].between(0, 1).all() and len(df) == 2 * 2 + 1  # 2 MNIST settings x 2 calibrations + retrain
    with pytest.raises(ValueError, match="methods"):
        cert_curves.run_curves(setup, epochs=1, methods=("jit",))


def test_full_feature_task_on_fake_cifar10(tmp_path, fake_cifar):
    """Figure 3's path: CIFAR-10 in its real pickle layout (tiny, synthetic) -> ResNet-18 features ->
    the three-layer network through the vectorised engine (random ResNet weights, small resize)."""
    from companion.experiments import cert_curves

    fake_cifar(tmp_path, "cifar10", n_train=100, n_test=20)
    task = cert_curves.feature_task("cifar10", forget="random:9", seed=0, data_root=str(tmp_path), weights=None,
                                    cache_dir=str(tmp_path / "cache"), size=32)
    assert task.name == "cifar10_features" and task.input_shape == (512,)
    assert len(task.forget) == 9 and len(task.retain) + len(task.forget) == len(task.train) == 90
    x, _ = task.retain.tensors()
    assert x.shape == (81, 512) and torch.isfinite(x).all()
    again = cert_curves.feature_task("cifar10", forget="random:9", seed=0, data_root=str(tmp_path), weights=None,
                                     cache_dir=str(tmp_path / "cache"), size=32)  # from the feature cache
    torch.testing.assert_close(again.train.x, task.train.x)
    originals = cert_curves.pretrain(task, "three_layer", (0,), 5e-4, epochs=1, cache_dir=str(tmp_path / "cache"))
    res = M.run_stacked(originals[(0, 5e-4)], [M.Plan("gradient_clipping", c0=0.01, c1=1.0, gamma=1e-3, lam=10.0, steps=1, sigma=0.0087),
                                                M.Plan("retrain", init_seed=3)], task.retain, 1, eval_splits={"val": task.val}, show_progress=False)
    assert res.acc["val"].shape == (2, 1)


def _eps_lower_bound(pos: np.ndarray, neg: np.ndarray, delta: float, alpha: float = 0.05) -> float:
    """DP-audit lower bound (evaluation spec 8): threshold chosen on one half, one-sided
    Clopper-Pearson bounds on the other, eps_lb = max ln((1 - delta - FNR_u) / FPR_u) over both directions."""
    from scipy import stats

    h = len(pos) // 2
    sel_p, sel_n, ev_p, ev_n = pos[:h], neg[:h], pos[h:], neg[h:]
    best, best_t, best_sign = -np.inf, 0.0, 1
    for sign in (1, -1):
        for t in np.quantile(np.r_[sel_p, sel_n], np.linspace(0.01, 0.99, 99)):
            tpr, fpr = np.mean(sign * sel_p > sign * t), np.mean(sign * sel_n > sign * t)
            score = np.log(max(tpr - delta, 1e-12) / max(fpr, 1e-3))
            if score > best:
                best, best_t, best_sign = score, t, sign
    fn = int(np.sum(best_sign * ev_p <= best_sign * best_t))
    fp = int(np.sum(best_sign * ev_n > best_sign * best_t))
    n = len(ev_p)
    fnr_u = stats.beta.ppf(1 - alpha / 2, fn + 1, max(n - fn, 1e-9))
    fpr_u = stats.beta.ppf(1 - alpha / 2, fp + 1, max(n - fp, 1e-9))
    return float(np.log(max(1 - delta - fnr_u, 1e-12) / fpr_u))


def test_empirical_epsilon_lower_bound_respects_the_certificate(task):
    """Sanity audit (spec 13.11): 2 x 512 gradient-clipping runs from two different start models;
    the audited lower bound stays below the certified eps, and the same audit without noise
    exceeds it (so the audit has the power to catch a broken noise step)."""
    a = models.build("tiny_mlp", task.input_shape, task.num_classes, seed=1)
    b = models.build("tiny_mlp", task.input_shape, task.num_classes, seed=2)
    cfg = M.GradientClippingConfig(c0=0.5, c1=1.0, gamma=0.05, lam=1.0, steps=2, epsilon=2.0, delta=1e-5, epochs=2)
    plan, cert = M.plan_for(cfg)
    n = len(task.retain)

    def finals(plan: M.Plan, start, seed: int) -> torch.Tensor:
        res = M.run_stacked(start, [plan] * 512, task.retain, 2, seed=seed, batch_size=n, show_progress=False)
        return torch.cat([v.flatten(1) for v in res.params.values()], 1)

    ca, cb = (torch.cat([p.detach().flatten() for p in m.parameters()]) for m in (a, b))
    ca, cb = ca * min(1, 0.5 / float(ca.norm())), cb * min(1, 0.5 / float(cb.norm()))
    direction = (ca - cb) / (ca - cb).norm()

    def audit(plan: M.Plan) -> float:
        xa, xb = finals(plan, a, 0), finals(plan, b, 1)
        return _eps_lower_bound((xa @ direction).numpy(), (xb @ direction).numpy(), cfg.delta)

    assert cert["T"] == 2 and cert["epsilon"] == pytest.approx(2.0, rel=1e-6)
    assert audit(plan) <= cert["epsilon"]
    assert audit(M.Plan("gradient_clipping", c0=0.5, c1=1.0, gamma=0.05, lam=1.0, steps=2, sigma=1e-6)) > cert["epsilon"]
