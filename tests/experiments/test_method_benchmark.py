"""The one-protocol benchmark of every registered method
(companion.experiments.method_benchmark)."""

import math

import numpy as np
import pytest
import torch

from companion import data, methods
from companion.experiments import method_benchmark as mb

SMALL = mb.Setting(task="digits", arch="tiny_mlp", n_pool=150, n_runs=4, per_unit=5)


@pytest.fixture(scope="module")
def class_run():
    return mb.run_task("class:3", SMALL)


def test_every_registered_method_has_a_row_with_values_or_a_reason(class_run):
    audits = class_run.audits.set_index("method")
    assert set(audits.index) == set(methods.available())
    assert audits.loc["barycenter", "status"] == "not applicable"
    assert "feature unlearning" in audits.loc["barycenter", "reason"]
    ok = audits[audits.status == "ok"]
    assert ok["ulira_acc"].between(0, 1).all() and (ok["klom_forget"] >= 0).all()
    assert (audits.loc[audits.status != "ok", "reason"].str.len() > 0).all()
    tab = mb.table(mb.summarize(class_run))
    assert set(tab.index) == set(methods.available())
    assert tab.loc["barycenter", "test acc"].startswith("not applicable: feature unlearning")


def test_spreads_over_runs_and_retrain_speedup_against_itself(class_run):
    s = mb.summarize(class_run)
    ok = s[s.status == "ok"]
    assert (class_run.runs.groupby("method").size() == SMALL.n_runs).all()
    assert ok["test_acc_std"].notna().all() and (ok.loc["finetune", "test_acc_std"] > 0)
    assert s.loc["retrain", "speedup"] == pytest.approx(1.0, abs=1e-12)
    assert 0 < s.loc["retrain", "speedup_std"] < 1
    # retraining is the exact method: its forget accuracy is the oracles' (0 on a forgotten class)
    assert s.loc["retrain", "forget_acc"] == pytest.approx(class_run.floor["forget_acc"], abs=0.05)
    assert s.loc["original", "forget_acc"] > 0.5


def test_identical_groups_give_chance_ulira_and_zero_klom(class_run):
    views = mb._views(class_run.task, 0)
    rng = np.random.default_rng(0)
    fake = [
        {
            k: torch.as_tensor(
                rng.normal(size=(len(v), class_run.task.num_classes)), dtype=torch.float32
            )
            for k, v in views.items()
        }
        for _ in range(4)
    ]
    a = mb.audit(fake, fake, views, per_unit=5)
    assert a["ulira_acc"] == 0.5 and a["klom_forget"] == 0.0 and a["klom_test"] == 0.0


def test_methods_needing_a_forget_class_are_not_applicable_to_random_forgetting():
    res = mb.run_task("random:12", SMALL, ["original", "retrain", "emmn", "unsir"])
    a = res.audits.set_index("method")
    for name in ("emmn", "unsir"):
        assert a.loc[name, "status"] == "not applicable" and "forget class" in a.loc[name, "reason"]
    assert a.loc["retrain", "status"] == "ok"
    assert set(res.runs.method) == {"original", "retrain"}


def test_loss_auc_is_the_loss_threshold_attack_auc():
    from companion.metrics.mia import loss_threshold_mia, per_sample_loss

    g = torch.Generator().manual_seed(0)
    za, zb = torch.randn(30, 4, generator=g) * 3, torch.randn(40, 4, generator=g)
    ya, yb = torch.randint(0, 4, (30,), generator=g), torch.randint(0, 4, (40,), generator=g)
    ref = loss_threshold_mia(per_sample_loss(za, ya), per_sample_loss(zb, yb))["auc"]
    assert mb.loss_auc(za, ya, zb, yb) == pytest.approx(ref, abs=1e-12)
    # a perfect separation: members with zero loss, non-members wrong
    zm = torch.tensor([[50.0, 0.0]] * 3)
    assert (
        mb.loss_auc(zm, torch.zeros(3, dtype=torch.long), zm, torch.ones(3, dtype=torch.long))
        == 1.0
    )
    with pytest.raises(ValueError, match="members"):
        mb.loss_auc(za[:1], ya[:1], zb, yb)


def test_model_offset_share_known_answers(class_run):
    rng = np.random.default_rng(0)
    # pure model offsets + example means
    offsets = rng.normal(size=(8, 1)) * 5 + rng.normal(size=(1, 30))
    assert mb.model_offset_share(offsets) == pytest.approx(1.0)
    # independent entries: the row-mean share is about 1 / examples
    noise = rng.normal(size=(400, 50))
    assert mb.model_offset_share(noise) == pytest.approx(1 / 50, rel=0.3)
    assert class_run.oracle_signals.shape == (2 * SMALL.n_runs, len(class_run.task.forget))
    with pytest.raises(ValueError, match="signals"):
        mb.model_offset_share(np.ones(5))


def test_null_band_is_a_spread_of_oracle_halvings(class_run):
    f = class_run.floor
    assert 0 <= f["ulira_null_mean"] <= 1 and f["ulira_null_sd"] > 0


def test_pooled_task_keeps_the_partition():
    task = data.load_task("digits", forget="class:3", seed=0)
    p = mb.pooled_task(task, 200, 0)
    assert len(p.train) == 200 and len(p.retain) + len(p.forget) == 200
    assert set(p.forget.index.tolist()) <= set(task.forget.index.tolist())
    assert not set(p.retain.index.tolist()) & set(task.forget.index.tolist())
    assert (p.forget.y == 3).all()
    r = data.load_task("digits", forget="random:10", seed=0)
    pr = mb.pooled_task(r, 100, 0)
    assert sorted(pr.forget.index.tolist()) == sorted(r.forget.index.tolist())


def test_pareto_front_on_a_hand_built_example():
    # minimise both: (1, 3), (2, 2), (3, 1) are the front; (2, 3) and (3, 3) are dominated; NaN
    # never
    x = [1, 2, 3, 2, 3, math.nan]
    y = [3, 2, 1, 3, 3, 0]
    assert mb.pareto_front(x, y).tolist() == [True, True, True, False, False, False]
    # maximise x: the front is the point with the largest x and the point with the smallest y
    assert mb.pareto_front([1.0, 2.0, 3.0], [0.5, 1.0, 2.0], maximize_x=True).tolist() == [
        True,
        True,
        True,
    ]
    assert mb.pareto_front([1.0, 2.0, 3.0], [2.0, 1.0, 0.5], maximize_x=True).tolist() == [
        False,
        False,
        True,
    ]
    # a duplicate point does not dominate its twin
    assert mb.pareto_front([1.0, 1.0], [1.0, 1.0]).tolist() == [True, True]


@pytest.mark.parametrize(
    "kw, name",
    [
        ({"n_runs": 3}, "n_runs"),
        ({"n_runs": 6.0}, "n_runs"),
        ({"n_runs": 2}, "n_runs"),
        ({"n_pool": 5}, "n_pool"),
        ({"profile": "huge"}, "profile"),
        ({"per_unit": 0}, "per_unit"),
        ({"seed": -1}, "seed"),
        ({"n_null": 1}, "n_null"),
    ],
)
def test_bad_settings_raise(kw, name):
    with pytest.raises(ValueError, match=name):
        mb.Setting(**kw)


def test_bad_inputs_raise_before_work():
    with pytest.raises(ValueError, match="method_names"):
        mb.run_task("class:3", SMALL, ["original", "no_such_method", "retrain"])
    with pytest.raises(ValueError, match="method_names"):
        mb.run_task("class:3", SMALL, ["original"])
    with pytest.raises(ValueError, match="setting"):
        mb.run_task("class:3", {"n_runs": 4})
    with pytest.raises(ValueError, match="n_pool"):
        mb.pooled_task(data.load_task("digits", forget="class:3", seed=0), 10, 0)
    with pytest.raises(ValueError, match="x, y"):
        mb.pareto_front([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="x, y"):
        mb.pareto_front([1.0, math.inf], [1.0, 2.0])
    with pytest.raises(ValueError, match="oracle"):
        mb.audit([{}] * 4, [{}] * 6, {})
