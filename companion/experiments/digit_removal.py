"""Xu & Strohmer's MNIST digit-removal protocol: the split, the reference models, the (gamma,
epochs) grid, the stopping rules.

The protocol of the authors' MNIST notebooks and script (``Data_Unlearning_MNIST_1.ipynb``,
``Data_Unlearning_MNIST_Plot.py``, xushizhou/Machine_Unlearn_via_Info_Reg, ca32703), run with the
registered method :func:`companion.methods.mi_unlearning.mi_unlearning`; the companion seeds every
draw (deviations.md#xs-seeds), adds a held-out retain test split (deviations.md#xs-retain-test) and
compares stopping rules (deviations.md#xs-stopping-rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import nn

from ..config import ForgetSpec, bad_value
from ..data import load_task
from ..data.tasks import Task
from ..methods.base import MethodConfig, unlearn
from ..methods.mi_unlearning import STOP_RULES, MIUnlearningConfig
from ..models import build, cached_state, train_or_load
from ..training import accuracy, fit, recipe_for
from .digit_removal_grid import (  # noqa: F401  (re-exported: the grid's home is digit_removal_grid)
    CURVE_ROWS,
    SPLIT_NAMES,
    at_epoch,
    mi_unlearning_trials,
    paper_grid_rows,
    run_grid,
)


def digit_removal_task(task: Task, share: float = 0.75, seed: int = 0) -> Task:
    """Forget a random ``share`` of one class's training samples; the rest of that class stays in
    D_r.

    The authors' notebook forgets ``int(0.75 * 6131) = 4598`` of MNIST's training 3s (its README
    says two thirds; deviations.md#xs-forget-share). ``task`` must be a ``class:K`` task; ``train``,
    ``test``, ``val`` and the test splits are unchanged (``forget_test``: the held-out test samples
    of class K, ``retain_test``: the other test samples, the held-out retain distribution missing
    upstream, deviations.md#xs-retain-test).

    Parameters
    ----------
    task : Task
        From ``load_task(name, forget="class:K", ...)``.
    share : float
        In (0, 1]; ``int(share * n_K)`` samples are forgotten (at least one).
    seed : int
        Seeds the draw (upstream draws with an unseeded ``random.sample``,
        deviations.md#xs-seeds).
    """
    if not isinstance(task, Task) or task.forget_spec.kind != "class":
        raise bad_value(
            "task", getattr(task, "forget_spec", task), "a Task loaded with forget='class:K'"
        )
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
        raise bad_value("share", share, "a number in (0, 1]")
    k = task.forget_spec.value
    pos = np.flatnonzero(task.train.y.numpy() == k)
    n_forget = int(share * len(pos))
    if n_forget < 1:
        raise bad_value(
            "share",
            share,
            f"a share that forgets at least one of the {len(pos)} samples of class {k}",
        )
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(pos, size=n_forget, replace=False))
    mask = np.zeros(len(task.train), dtype=bool)
    mask[chosen] = True
    info = dict(
        task.info, forget_share=float(share), forget_share_seed=int(seed), forget_class=int(k)
    )
    return Task(
        name=task.name,
        forget_spec=ForgetSpec("class", k),
        seed=task.seed,
        num_classes=task.num_classes,
        input_shape=task.input_shape,
        class_names=task.class_names,
        train=task.train,
        test=task.test,
        retain=task.train.subset(np.flatnonzero(~mask)),
        forget=task.train.subset(chosen),
        val=task.val,
        retain_test=task.retain_test,
        forget_test=task.forget_test,
        profile=task.profile,
        standin=task.standin,
        info=info,
    )


PAPER_GRID: tuple[tuple[float, int], ...] = ((1.5, 20), (3.5, 5), (3.5, 20), (5.0, 2))


@dataclass(frozen=True)
class DigitRemovalConfig(MethodConfig):
    """The MNIST digit-3 protocol of the authors' notebooks: forget ``share`` of class
    ``forget_class``'s training images, MLP 784-128-64-10, original / retrain / fine-tune with the
    recipe of ``companion.training.RECIPES`` (FULL: Adam 1e-3, 100 epochs, batch 64), the (gamma,
    epochs) ``grid`` with ``n_trials`` trials each (trials differ in batch order only) and the table
    row (``table_gamma``, ``table_epochs``); stopping rules are checked every ``rule_check_every``
    steps (FULL: 36, eight times per 288-step epoch). QUICK: the embedded 4,000-image MNIST subset,
    2 trials, rules checked after every step (its unlearning moves within a few steps)."""

    QUICK = {"task": "mnist5k", "n_trials": 2, "rule_check_every": 1}

    task: str = "mnist"
    forget_class: int = 3
    share: float = 0.75
    arch: str = "mlp"
    grid: tuple[tuple[float, int], ...] = PAPER_GRID
    n_trials: int = 10
    table_gamma: float = 4.0
    table_epochs: int = 5
    rule_check_every: int = 36

    def validate(self) -> None:
        if (
            isinstance(self.rule_check_every, bool)
            or not isinstance(self.rule_check_every, int)
            or self.rule_check_every < 1
        ):
            raise bad_value("rule_check_every", self.rule_check_every, "a positive integer")
        if not 0 < self.share <= 1:
            raise bad_value("share", self.share, "a number in (0, 1]")
        if (
            isinstance(self.n_trials, bool)
            or not isinstance(self.n_trials, int)
            or self.n_trials < 1
        ):
            raise bad_value("n_trials", self.n_trials, "a positive integer")
        for g, e in self.grid:
            # refuses bad pairs with the method's own messages
            MIUnlearningConfig(gamma=g, epochs=e)
        MIUnlearningConfig(gamma=self.table_gamma, epochs=self.table_epochs)


def digit_removal_references(
    cfg: DigitRemovalConfig, profile: str, seed: int = 0, device=None, data_root=None
) -> dict:
    """The task (:func:`digit_removal_task`) and the authors' three reference models, from the
    checkpoint cache.

    Returns ``{"task", "original", "retrain", "finetune"}``: the original trained on D_r and D_u,
    a fresh model trained on D_r, and the original fine-tuned on D_r with a fresh optimiser, all
    with the profile's recipe for ``cfg.arch``.
    """

    base = load_task(
        cfg.task,
        forget=f"class:{cfg.forget_class}",
        seed=seed,
        val_fraction=0.0,
        data_root=data_root,
    )
    task = digit_removal_task(base, cfg.share, seed)
    original = train_or_load(task, cfg.arch, profile, seed, device=device)
    retrain = train_or_load(task, cfg.arch, profile, seed, device=device, on="retain")
    recipe = recipe_for(task.name, cfg.arch, profile)
    key = {
        "task": task.name,
        "task_seed": seed,
        "forget": str(task.forget_spec),
        "share": cfg.share,
        "n": len(task.retain),
        "arch": cfg.arch,
        "recipe": recipe.__dict__,
        "seed": seed,
        "method": "finetune_from_original",
    }

    def start() -> nn.Module:
        m = build(cfg.arch, task.input_shape, task.num_classes, seed)
        m.load_state_dict(original.state_dict())
        return m

    finetune, _ = cached_state(
        key,
        start,
        lambda m: fit(m, task.retain, recipe, seed=seed + 7, device=device, desc="finetune"),
        name=f"{task.name}-{cfg.arch}-finetune",
    )
    return {
        "task": task,
        "original": original,
        "retrain": retrain,
        "finetune": finetune.to(device or "cpu"),
    }


def original_trajectory(
    task: Task, cfg: DigitRemovalConfig, profile: str, seed: int = 0, device=None
) -> tuple[list[dict], nn.Module]:
    """The original trained once more exactly as :func:`digit_removal_references` trains it (same
    recipe, seed and data), with its accuracy on D_r, D_u and the test set after every epoch.

    Adam at a constant learning rate never settles: the reference code's printed training losses
    move between 0.002 and 0.01 over its last epochs. The trajectory measures how far a one-run
    number (the paper's table) can move with the epoch at which training happens to stop. Returns
    ``(rows, model)``: one ``{'epoch', 'retain_acc', 'forget_acc', 'test_acc'}`` per epoch (from 1)
    and the final model, equal to the cached original (same seed, same device).
    """
    recipe = recipe_for(task.name, cfg.arch, profile)
    model = build(cfg.arch, task.input_shape, task.num_classes, seed)
    rows: list[dict] = []

    def on_epoch(epoch: int, m: nn.Module) -> None:
        rows.append(
            {
                "epoch": epoch + 1,
                **{
                    f"{name}_acc": accuracy(m, getattr(task, name), device)
                    for name in ("retain", "forget", "test")
                },
            }
        )
        m.train()

    fit(
        model,
        task.train,
        recipe,
        seed=seed,
        device=device,
        desc="original, scored per epoch",
        on_epoch=on_epoch,
    )
    return rows, model


def digit_removal_config(
    profile: str = "quick", n_trials: int = 0, **overrides
) -> DigitRemovalConfig:
    """The protocol's config for ``profile``; ``n_trials = 0`` keeps the profile's trial count."""
    if n_trials:
        overrides["n_trials"] = n_trials
    return DigitRemovalConfig.resolve(profile, **overrides)


def run_stopping_rules(
    original: nn.Module,
    task: Task,
    cfg: DigitRemovalConfig,
    profile: str,
    gamma: float,
    epochs: int,
    seed: int = 0,
    device=None,
    rules: tuple[str, ...] = STOP_RULES,
) -> dict:
    """Run ``mi_unlearning`` once per stopping rule with its default stop value (the retrained
    reference's forget accuracy or ``I_hat``; a 1-point test-accuracy drop), checking every
    ``cfg.rule_check_every`` steps; ``'none'`` logs once per epoch.

    Returns ``{rule: UnlearnResult}``. Every run uses the same seed, so a stopped run follows the
    same trajectory as the unstopped one up to its stop.
    """
    unknown = [r for r in rules if r not in STOP_RULES]
    if unknown:
        raise bad_value("rules", unknown, f"rules among {STOP_RULES}")
    return {
        rule: unlearn(
            "mi_unlearning",
            original,
            task,
            profile,
            seed,
            device,
            gamma=gamma,
            epochs=epochs,
            stop=rule,
            check_every=0 if rule == "none" else cfg.rule_check_every,
        )
        for rule in rules
    }
