"""The harness and the reference methods: "original", "retrain", "finetune", "gradient_ascent"."""

import pytest
import torch

from companion import methods, metrics, training
from companion.data.tasks import ZeroShotTask


def _params(m):
    return [p.detach().clone() for p in m.parameters()]


@pytest.mark.parametrize("name", ["original", "retrain", "finetune", "gradient_ascent"])
def test_unlearn_leaves_the_input_model_unchanged(name, digits_class_task, digits_model):
    before = _params(digits_model)
    res = methods.unlearn(
        name,
        digits_model,
        digits_class_task,
        seed=0,
        **({"recipe": training.TrainRecipe(epochs=2)} if name == "retrain" else {}),
    )
    assert all(torch.equal(a, b) for a, b in zip(before, digits_model.parameters()))
    assert res.model is not digits_model and res.seconds >= 0 and res.name == name


def test_original_is_identical_and_fast(digits_class_task, digits_model):
    res = methods.unlearn("original", digits_model, digits_class_task)
    assert all(torch.equal(a, b) for a, b in zip(res.model.parameters(), digits_model.parameters()))
    assert res.seconds < 1.0


def test_retrain_never_sees_forget_data(digits_class_task, digits_model, monkeypatch):
    seen = []
    real_fit = training.fit

    def spy(model, split, recipe, **kw):
        seen.append(set(split.index.tolist()))
        return real_fit(model, split, recipe.with_(epochs=1), **kw)

    monkeypatch.setattr("companion.methods.reference.fit", spy)
    for init in ("fresh", "head_only"):
        methods.unlearn("retrain", digits_model, digits_class_task, init=init)
    forget = set(digits_class_task.forget.index.tolist())
    assert len(seen) == 2 and all(not (s & forget) for s in seen)
    assert all(s == set(digits_class_task.retain.index.tolist()) for s in seen)


def test_retrain_forgets_the_class_and_head_only_differs(digits_class_task, digits_model):
    fresh = methods.unlearn(
        "retrain", digits_model, digits_class_task, recipe=training.TrainRecipe(epochs=15)
    )
    assert training.accuracy(fresh.model, digits_class_task.forget_test) < 0.1
    assert training.accuracy(fresh.model, digits_class_task.retain_test) > 0.85


def test_head_only_retrain_resets_only_direct_children_with_reset_parameters(digits_class_task):
    from torch import nn

    class Net(nn.Module):  # like JiT's VGG wrapper: a backbone container and a Linear head
        def __init__(self):
            super().__init__()
            self.base = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU())
            self.head = nn.Linear(16, 10)

        def forward(self, x):
            return self.head(self.base(x))

    net = Net()
    res = methods.unlearn(
        "retrain", net, digits_class_task, init="head_only", recipe=training.TrainRecipe(epochs=0)
    )
    # backbone keeps what it learnt with D_f
    assert torch.equal(res.model.base[1].weight, net.base[1].weight)
    assert not torch.equal(res.model.head.weight, net.head.weight)
    with pytest.raises(ValueError, match="records the architecture"):
        methods.unlearn("retrain", net, digits_class_task, init="fresh")


def test_retrain_cache_reports_measured_time(digits_class_task, digits_model):
    r = training.TrainRecipe(epochs=2)
    a = methods.unlearn("retrain", digits_model, digits_class_task, recipe=r, use_cache=True)
    b = methods.unlearn("retrain", digits_model, digits_class_task, recipe=r, use_cache=True)
    assert (
        not a.log["cached"]
        and b.log["cached"]
        and b.seconds == pytest.approx(a.log["measured_seconds"])
    )
    assert all(torch.equal(p, q) for p, q in zip(a.model.parameters(), b.model.parameters()))


def test_finetune_keeps_retain_accuracy(digits_class_task, digits_model):
    res = methods.unlearn("finetune", digits_model, digits_class_task, epochs=1)
    assert metrics.evaluate(res, digits_class_task)["retain_acc"] > 0.9


def test_gradient_ascent_stops_at_its_target(digits_class_task, digits_model):
    res = methods.unlearn(
        "gradient_ascent",
        digits_model,
        digits_class_task,
        lr=0.05,
        max_epochs=20,
        stop_at_forget_acc=0.2,
    )
    assert res.log["stopped_early"] and res.log["forget_acc_at_stop"] <= 0.2
    assert training.accuracy(res.model, digits_class_task.forget) <= 0.2


def test_zero_shot_methods_receive_no_retain_data(digits_class_task, digits_model):
    from companion.methods.base import REGISTRY, MethodConfig, MethodSpec

    got = {}

    def probe(model, task, cfg, **_):
        got["task"] = task
        return {}

    REGISTRY["_probe_zero_shot"] = MethodSpec(
        "_probe_zero_shot", probe, MethodConfig, True, "test", "probe"
    )
    try:
        methods.unlearn("_probe_zero_shot", digits_model, digits_class_task)
    finally:
        del REGISTRY["_probe_zero_shot"]
    assert isinstance(got["task"], ZeroShotTask)
    with pytest.raises(AttributeError):
        _ = got["task"].retain


def test_available_lists_zero_shot_flags():
    av = methods.available()
    assert (
        av["gradient_ascent"]["zero_shot"]
        and not av["retrain"]["zero_shot"]
        and not av["finetune"]["zero_shot"]
    )


def test_gradient_ascent_refuses_retain_data(digits_class_task, digits_model):
    from companion.methods.reference import GradientAscentConfig, gradient_ascent

    with pytest.raises(ValueError, match="zero-shot"):
        gradient_ascent(
            digits_model, digits_class_task, GradientAscentConfig(), seed=0, device="cpu"
        )
