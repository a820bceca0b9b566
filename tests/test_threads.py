"""The thread policy (companion.threads): small networks train with one intra-op thread unless
COMPANION_THREADS says otherwise, and the caller's setting is restored."""

import pytest
import torch

from companion import methods, models, threads
from companion.training import TrainRecipe, fit


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _threads_during_fit(task) -> list[int]:
    seen = []
    model = models.build("tiny_mlp", task.input_shape, task.num_classes, 0)
    recipe = TrainRecipe("adam", 1e-3, 2, 64)
    fit(model, task.train, recipe, on_epoch=lambda e, m: seen.append(torch.get_num_threads()))
    return seen


def test_fit_trains_a_small_network_with_one_thread_and_restores(
    two_threads, digits_class_task, monkeypatch
):
    monkeypatch.delenv(threads.ENV, raising=False)
    assert _threads_during_fit(digits_class_task) == [1, 1]
    assert torch.get_num_threads() == 2


def test_an_explicit_count_overrides_the_policy(two_threads, digits_class_task, monkeypatch):
    monkeypatch.setenv(threads.ENV, "2")
    assert _threads_during_fit(digits_class_task) == [2, 2]
    monkeypatch.setenv(threads.ENV, "0")
    with pytest.raises(ValueError, match=threads.ENV):
        _threads_during_fit(digits_class_task)


def test_large_networks_and_gpus_keep_torchs_setting(monkeypatch):
    monkeypatch.delenv(threads.ENV, raising=False)
    assert threads.for_model(threads.SMALL_MODEL_PARAMS + 1, "cpu") is None
    assert threads.for_model(1000, "cuda") is None
    assert threads.for_model(1000, "cpu") == 1


def test_the_method_harness_runs_methods_under_the_policy(
    two_threads, digits_class_task, digits_model, monkeypatch
):
    monkeypatch.delenv(threads.ENV, raising=False)
    seen = []
    real = torch.optim.SGD.step

    def step(self, *a, **k):
        seen.append(torch.get_num_threads())
        return real(self, *a, **k)

    monkeypatch.setattr(torch.optim.SGD, "step", step)
    methods.unlearn("finetune", digits_model, digits_class_task, "quick", seed=0, epochs=1)
    assert seen and set(seen) == {1} and torch.get_num_threads() == 2
