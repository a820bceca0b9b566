"""Bad input to the harness and the metrics is refused with a ValueError naming it, before any work,
for every registered method."""

import dataclasses
import typing

import pytest
import torch

from companion import methods, metrics, models
from companion.methods.base import REGISTRY

NAMES = sorted(REGISTRY)


@pytest.fixture(scope="module")
def task(digits_class_task):
    return digits_class_task


@pytest.fixture(scope="module")
def model(task):
    return models.build("mlp", task.input_shape, task.num_classes, seed=0)


def _no_work(monkeypatch):
    """Make every method's function fail loudly if it is reached."""
    for name, spec in REGISTRY.items():
        monkeypatch.setitem(
            REGISTRY,
            name,
            dataclasses.replace(spec, fn=lambda *a, **k: pytest.fail("the method ran")),
        )


@pytest.mark.parametrize("name", NAMES)
def test_model_with_wrong_output_size_is_refused(name, task, monkeypatch):
    _no_work(monkeypatch)
    for classes in (2, task.num_classes + 1):
        with pytest.raises(
            ValueError, match=rf"model=.*expected a model with {task.num_classes} outputs"
        ):
            methods.unlearn(name, models.build("mlp", task.input_shape, classes), task)


@pytest.mark.parametrize("name", NAMES)
def test_model_with_non_finite_outputs_is_refused(name, task, model, monkeypatch):
    _no_work(monkeypatch)
    broken = models.build("mlp", task.input_shape, task.num_classes)
    with torch.no_grad():
        next(broken.parameters()).fill_(float("nan"))
    with pytest.raises(ValueError, match="model=.*finite"):
        methods.unlearn(name, broken, task)


@pytest.mark.parametrize("name", NAMES)
def test_empty_forget_set_is_refused(name, task, model, monkeypatch):
    _no_work(monkeypatch)
    empty = dataclasses.replace(task, forget=task.forget.subset([]))
    with pytest.raises(ValueError, match="task.forget=.*empty"):
        methods.unlearn(name, model, empty)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, None, 2**64])
def test_bad_seed_is_refused(seed, task, model, monkeypatch):
    _no_work(monkeypatch)
    for name in NAMES:
        with pytest.raises(ValueError, match="seed="):
            methods.unlearn(name, model, task, seed=seed)


@pytest.mark.parametrize("device", ["tpu", "cuda", "cuda:7", "gpu", 3.5])
def test_unknown_or_unavailable_device_is_refused(device, task, model, monkeypatch):
    if torch.cuda.is_available() and device in ("cuda",):
        pytest.skip("a GPU is visible")
    _no_work(monkeypatch)
    with pytest.raises(ValueError, match="device="):
        methods.unlearn("finetune", model, task, device=device)


def _wrong_values(hint):
    """Values of the wrong type for an annotated config field."""
    args = set(typing.get_args(hint)) or {hint}
    out = []
    if int in args:
        out += [1.5, True, "3"]
    elif float in args:
        out += [float("nan"), "0.1", True]
    elif bool in args:
        out += ["yes", 2]
    elif str in args:
        out += [3, 1.5]
    return out


@pytest.mark.parametrize("name", NAMES)
def test_every_setting_of_the_wrong_type_is_refused(name, task, model, monkeypatch):
    cfg_cls = REGISTRY[name].config
    hints = typing.get_type_hints(cfg_cls)
    checked = 0
    for f in dataclasses.fields(cfg_cls):
        for value in _wrong_values(hints[f.name]):
            with pytest.raises(ValueError, match=rf"\b{f.name}="):
                methods.config_of(name, "quick", **{f.name: value})
            checked += 1
    assert checked or not dataclasses.fields(cfg_cls)


def test_evaluate_refuses_bad_input(task, model):
    with pytest.raises(ValueError, match="model=.*10 outputs"):
        metrics.evaluate(models.build("mlp", task.input_shape, 4), task)
    with pytest.raises(ValueError, match="task.forget=.*empty"):
        metrics.evaluate(model, dataclasses.replace(task, forget=task.forget.subset([])))
    with pytest.raises(ValueError, match="task="):
        metrics.evaluate(model, task.zero_shot_view())
    with pytest.raises(ValueError, match="model_or_result="):
        metrics.evaluate("model", task)
    with pytest.raises(ValueError, match="weighting="):
        metrics.evaluate(model, task, weighting="macro")
