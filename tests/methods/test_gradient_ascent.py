"""Gradient ascent's documented default behaviour (GradientAscentConfig), over forget classes and
seeds; fine-tuning's reference batch.

Full-class forgetting: the ascent drives forget accuracy to the stopping target (0) within the step
budget and stops there. Random forgetting: the rule does not fire; the ascent runs until its budget
ends or its outputs turn non-finite, and then undoes that step: the model it returns is always
finite.
"""

import pytest

from companion import data, methods, models, training
from companion.methods.reference import GradientAscentConfig

RECIPE = training.TrainRecipe("adam", 1e-3, 15, 64)


@pytest.fixture(scope="module")
def originals(tmp_path_factory):
    """Digits MLPs of three training seeds (the original model does not depend on the forget
    class)."""
    task = data.load_task("digits", forget="class:0", seed=0)
    cache = tmp_path_factory.mktemp("ga-models")
    return {
        s: models.train_or_load(
            task, "mlp", "quick", s, recipe=RECIPE, cache_dir=cache, show_progress=False
        )
        for s in (0, 1, 2)
    }


@pytest.mark.parametrize("model_seed", [0, 1, 2])
def test_default_ascent_collapses_every_forget_class(originals, model_seed):
    cfg = GradientAscentConfig.resolve("quick")
    for k in range(10):
        task = data.load_task("digits", forget=f"class:{k}", seed=0)
        res = methods.unlearn(
            "gradient_ascent", originals[model_seed], task, "quick", seed=model_seed + k
        )
        acc = training.accuracy(res.model, task.forget)
        assert res.log["stopped_early"] and res.log["steps"] < cfg.max_steps, (
            k,
            model_seed,
            res.log,
        )
        assert acc <= cfg.stop_at_forget_acc == 0.0, (k, model_seed, acc)


@pytest.mark.parametrize("seed", [0, 1])
def test_random_forgetting_runs_the_whole_budget(originals, seed):
    task = data.load_task("digits", forget="random:60", seed=seed)
    res = methods.unlearn(
        "gradient_ascent", originals[seed], task, "quick", seed=seed, max_steps=40
    )
    assert res.log["steps"] == 40 and not res.log["stopped_early"]
    assert res.log["forget_acc_at_stop"] == pytest.approx(training.accuracy(res.model, task.forget))


def test_a_brake_stops_the_ascent_earlier(originals):
    task = data.load_task("digits", forget="class:3", seed=0)
    full = methods.unlearn("gradient_ascent", originals[0], task, "quick", seed=0)
    brake = methods.unlearn(
        "gradient_ascent", originals[0], task, "quick", seed=0, stop_at_forget_acc=0.5
    )
    assert brake.log["stopped_early"] and brake.log["steps"] <= full.log["steps"]
    assert (
        0.0 < training.accuracy(brake.model, task.forget) <= 0.5
        or brake.log["steps"] == full.log["steps"]
    )


@pytest.mark.parametrize(
    ("forget", "seed"), [("random:100", 0), ("random:100", 1), ("random:500", 0)]
)
def test_default_ascent_never_returns_non_finite_outputs(forget, seed):
    """The full QUICK default budget on MNIST-5k diverges in random forgetting; the returned model
    must still give finite outputs on every split (metrics and attacks read them)."""
    import torch

    task = data.load_task("mnist5k", forget=forget, seed=seed)
    model = models.train_or_load(task, "mlp", "quick", seed, show_progress=False)
    res = methods.unlearn("gradient_ascent", model, task, "quick", seed=seed)
    for split in (task.forget, task.retain, task.test):
        assert torch.isfinite(training.predict(res.model, split)).all(), res.log
    assert (
        res.log["diverged"] or res.log["steps"] == GradientAscentConfig.resolve("quick").max_steps
    )


@pytest.mark.parametrize(
    "forget, batch", [("class:3", 128), ("subclass:8", 64), ("random:40", 128)]
)
def test_finetune_uses_the_reference_scripts_batch_per_kind(monkeypatch, forget, batch):
    """FNTN trains with the scripts' retain-loader batch (``-b``: 128, sub-class 64) unless one is
    given."""
    from companion.methods import reference

    seen = []
    monkeypatch.setattr(
        reference,
        "fit",
        lambda model, split, recipe, **kw: seen.append(recipe.batch_size) or {"loss": []},
    )
    task = data.load_task("digits", forget=forget, seed=0)
    # training is replaced by the spy
    model = models.build("mlp", task.input_shape, task.num_classes)
    methods.unlearn("finetune", model, task, "quick", seed=0)
    methods.unlearn("finetune", model, task, "quick", seed=0, batch_size=32)
    assert seen == [batch, 32]
