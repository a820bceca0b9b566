"""Parameter validation: one ValueError naming the parameter, the value and what is allowed."""

import pytest

from companion import config, data, methods, models
from companion.training import TrainRecipe

BAD_PARAMS = [
    ("PROFILE", "bogus"),
    ("PROFILE", "QUICK"),
    ("PROFILE", 1),
    ("SEED", -1),
    ("SEED", 1.5),
    ("SEED", True),
    ("DEVICE", "gpu"),
    ("DEVICE", "cuda:x"),
    ("EPSILON", 0.0),
    ("EPSILON", -1.0),
    ("EPSILON", float("inf")),
    ("DELTA", 0.0),
    ("DELTA", 1.0),
    ("SIGMA", -0.5),
    ("GAMMA", -1.0),
    ("FORGET_CLASS", -1),
    ("FORGET_CLASS", 100),
    ("N_RANDOM", 0),
    ("N_SEEDS", 0),
    ("FORGET", "class:x"),
    ("FORGET", "random:0"),
    ("FORGET", "everything"),
    ("T", 1.5),
    ("LR", 0.0),
    ("EPOCHS", -2),
    ("N_SAMPLES", 0),
]


@pytest.mark.parametrize("name,value", BAD_PARAMS)
def test_bad_parameter_values_are_refused(name, value):
    with pytest.raises(ValueError) as err:
        config.validate_param(name, value)
    assert name in str(err.value) and "expected" in str(err.value)


def test_unknown_parameter_is_refused():
    with pytest.raises(ValueError, match="unknown parameter 'FORGET_CLAS'"):
        config.validate_param("FORGET_CLAS", 3)


def test_good_values_pass_and_ints_become_floats():
    assert config.validate_param("EPSILON", 1) == 1.0 and isinstance(
        config.validate_param("EPSILON", 1), float
    )
    assert config.validate_param("DEVICE", "cuda:1") == "cuda:1"
    assert config.validate_param("FORGET", "subclass:3") == "subclass:3"


def test_full_profile_without_cuda_needs_explicit_cpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="DEVICE='cpu'"):
        config.resolve("full", 0, "auto")
    assert config.resolve("full", 0, "cpu").device == "cpu"
    with pytest.raises(ValueError, match="DEVICE"):
        config.resolve("quick", 0, "cuda")


@pytest.mark.parametrize(
    "kwargs,name",
    [
        (dict(name="nope"), "task"),
        (dict(forget="class:10"), "forget"),
        (dict(forget="class:-1"), "forget"),
        (dict(forget="random:0"), "forget"),
        (dict(forget="random:100000"), "forget"),
        (dict(forget="subclass:12"), "forget"),
        (dict(seed=-3), "seed"),
        (dict(val_fraction=0.9), "val_fraction"),
    ],
)
def test_bad_task_requests(kwargs, name):
    args = dict(name="digits", forget="class:3") | kwargs
    with pytest.raises(ValueError, match=name):
        data.load_task(**args)


@pytest.mark.parametrize(
    "method,overrides,name",
    [
        ("nonexistent", {}, "method"),
        ("finetune", {"lr": -1.0}, "lr"),
        ("finetune", {"epochs": -1}, "epochs"),
        ("finetune", {"learning_rate": 0.1}, "learning_rate"),
        ("retrain", {"init": "random"}, "init"),
        ("gradient_ascent", {"stop_at_forget_acc": 2.0}, "stop_at_forget_acc"),
    ],
)
def test_bad_method_settings(method, overrides, name):
    with pytest.raises(ValueError, match=name):
        methods.config_of(method, "quick", **overrides)


def test_bad_profile_for_method_and_bad_arch_and_recipe():
    with pytest.raises(ValueError, match="profile"):
        methods.config_of("finetune", "medium")
    with pytest.raises(ValueError, match="arch"):
        models.build("transformer", (1, 8, 8), 10)
    with pytest.raises(ValueError, match="optimizer"):
        TrainRecipe(optimizer="lbfgs")
    with pytest.raises(ValueError, match="lr"):
        TrainRecipe(lr=0.0)


def test_experiment_settings_decide_per_profile_and_take_given_values():
    from companion.experiments import cert_setup, forgetting_audit, method_benchmark
    from companion.experiments.jit_chapters import AlgorithmSetting

    assert cert_setup.CertSetting.for_profile("quick", task="auto").task == "mnist5k"
    assert cert_setup.CertSetting.for_profile("full", task="auto").task == "mnist"
    assert cert_setup.CertSetting.for_profile("full", task="cifar10").task == "cifar10"
    full = AlgorithmSetting.for_profile("full", task="auto", arch="auto")
    assert (full.task, full.arch) == ("cifar100", "vgg11")
    assert AlgorithmSetting.for_profile("full", arch="resnet18").arch == "resnet18"
    a = forgetting_audit.AuditConfig.for_profile("full", task="auto", n_models=16, epochs=10)
    # FULL's floors
    assert (a.task, a.pool, a.n_models, a.epochs) == (
        "mnist",
        forgetting_audit.FULL_POOL,
        64,
        30,
    )
    assert forgetting_audit.AuditConfig.for_profile("quick", n_models=16).n_models == 16
    b = method_benchmark.Setting.for_profile("quick", n_runs=6)
    assert (b.n_pool, b.per_unit, b.n_runs, b.profile) == (400, 10, 6, "quick")
    assert method_benchmark.Setting.for_profile("full", n_runs=6).n_runs == 16


@pytest.mark.parametrize(
    "profile, given, name", [("medium", {}, "profile"), ("quick", {"taks": "mnist"}, "taks")]
)
def test_experiment_settings_refuse_bad_requests(profile, given, name):
    from companion.experiments import cert_setup

    with pytest.raises(ValueError, match=name):
        cert_setup.CertSetting.for_profile(profile, **given)
