"""The reference points every chapter needs: original, retrain, fine-tune and gradient ascent.

* ``original``: no change (JiT's BSLN).
* ``retrain``: a fresh initialisation trained on the retain set with the original recipe (the gold
  standard of exact unlearning). ``init='head_only'`` reproduces the JiT reference code, which
  resets only the direct children that have ``reset_parameters`` (the classifier head;
  deviations.md#jit-retrain).
* ``finetune``: continue training on the retain set (JiT's FNTN: 5 epochs, SGD lr 0.02, momentum
  0.9,
  weight decay 5e-4, the scripts' batch).
* ``gradient_ascent``: ascend the cross-entropy on the forget set until forget accuracy falls to a
  target (0) or a step budget (200) ends; see :class:`GradientAscentConfig` for what that does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..config import bad_value, momentum, rate, weight
from ..data.tasks import Task, require_zero_shot
from ..models.cache import cached_state
from ..models.nets import build
from ..training import TrainRecipe, accuracy, fit, recipe_for
from ._zoo import FORGET_BATCH, per_kind
from .base import MethodConfig, positive, register


@dataclass(frozen=True)
class OriginalConfig(MethodConfig):
    pass


@register(
    "original", OriginalConfig, zero_shot=True, paper="all", description="no change (baseline)"
)
def original(model: nn.Module, task, cfg: OriginalConfig, **_) -> dict:
    return {}


@dataclass(frozen=True)
class RetrainConfig(MethodConfig):
    """``init``: 'fresh' (new random initialisation; default) or 'head_only' (JiT reference code).
    ``recipe``: None means the original model's recipe for this task/architecture/profile.
    ``use_cache``: load a retrained model from the checkpoint cache when present; the reported time
    is then the one measured when it was trained."""

    init: str = "fresh"
    recipe: TrainRecipe | None = None
    use_cache: bool = False

    def validate(self) -> None:
        if self.init not in ("fresh", "head_only"):
            raise bad_value("init", self.init, "'fresh' or 'head_only'")


def _arch(model: nn.Module) -> str:
    arch = getattr(model, "companion_arch", None)
    if arch is None:
        raise ValueError(
            "retrain needs a model built by companion.models.build (it records the architecture)"
        )
    return arch


@register(
    "retrain",
    RetrainConfig,
    zero_shot=False,
    paper="all",
    description="fresh model trained on the retain set (gold standard)",
)
def retrain(
    model: nn.Module, task: Task, cfg: RetrainConfig, *, seed: int, device, profile: str, **_
) -> dict:
    import time

    arch = getattr(model, "companion_arch", "custom") if cfg.init == "head_only" else _arch(model)
    recipe = cfg.recipe or recipe_for(task.name, arch, profile)
    init_seed = 10_000 + seed  # a different draw from the original's initialisation
    if cfg.init == "head_only":
        for child in model.children():
            if hasattr(child, "reset_parameters"):
                child.reset_parameters()
        fresh = model
    else:
        fresh = build(arch, task.input_shape, task.num_classes, init_seed).to(device)

    def train(m: nn.Module) -> dict:
        t0 = time.perf_counter()
        m.to(device)
        log = fit(m, task.retain, recipe, seed=seed, device=device, desc=f"retrain {arch}")
        return {
            "train_seconds": time.perf_counter() - t0,
            "final_loss": log["loss"][-1] if log["loss"] else None,
        }

    if cfg.use_cache and cfg.init == "fresh":
        config = {
            "task": task.name,
            "task_seed": task.seed,
            "forget": str(task.forget_spec),
            "n": len(task.retain),
            "arch": arch,
            "recipe": recipe.__dict__,
            "seed": seed,
            "init_seed": init_seed,
            "method": "retrain",
        }
        trained, log = cached_state(
            config,
            lambda: build(arch, task.input_shape, task.num_classes, init_seed),
            train,
            name=f"{task.name}-{arch}-retrain",
        )
        model.load_state_dict(trained.state_dict())
        return {
            "cached": log["cached"],
            "measured_seconds": log["train_seconds"],
            "epochs": recipe.epochs,
        }
    log = train(fresh)
    if fresh is not model:
        model.load_state_dict(fresh.state_dict())
    return {"cached": False, "epochs": recipe.epochs, **log}


@dataclass(frozen=True)
class FinetuneConfig(MethodConfig):
    """JiT's FNTN: SGD, constant lr 0.02, momentum 0.9, weight decay 5e-4, 5 epochs on the retain
    set.

    ``batch_size`` None = the reference scripts' retain-loader batch for the forgetting kind (128
    for full-class and random forgetting, 64 for sub-class: the scripts' ``-b`` default).
    """

    epochs: int = 5
    lr: float = 0.02
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int | None = None
    optimizer: str = "sgd"

    def validate(self) -> None:
        rate("lr", self.lr)
        positive("epochs", self.epochs)
        if self.batch_size is not None:
            positive("batch_size", self.batch_size)
        momentum("momentum", self.momentum)
        weight("weight_decay", self.weight_decay)


@register(
    "finetune",
    FinetuneConfig,
    zero_shot=False,
    paper="all",
    description="continue training on the retain set",
)
def finetune(model: nn.Module, task: Task, cfg: FinetuneConfig, *, seed: int, device, **_) -> dict:
    bs = per_kind(cfg.batch_size, FORGET_BATCH, task, "batch_size")
    recipe = TrainRecipe(cfg.optimizer, cfg.lr, cfg.epochs, bs, cfg.momentum, cfg.weight_decay)
    return fit(model, task.retain, recipe, seed=seed, device=device, desc="finetune")


@dataclass(frozen=True)
class GradientAscentConfig(MethodConfig):
    """Ascend CE on the forget set with SGD until forget accuracy <= ``stop_at_forget_acc`` (checked
    every ``check_every`` steps) or ``max_steps`` steps have run; ``max_epochs`` (None: no cap) also
    caps the passes over D_f. ``stop_at_forget_acc=None`` runs the whole budget.

    What the defaults do: a well-fit class has a near-zero loss and gradient, so the ascent starts
    slowly and then runs away. In full-class and sub-class forgetting the forget accuracy therefore
    falls to 0 and the rule stops the ascent there (QUICK digits and MNIST-5k: within a few dozen of
    the 200 steps for every class and seed tried), whatever that costs the other classes. In random
    forgetting the loss of a few random samples is unbounded above and the rule does not fire before
    the ascent diverges (QUICK MNIST-5k, 100 or 500 samples: non-finite outputs after 77-165 steps):
    the method then undoes the step that made its outputs non-finite and stops, with
    ``diverged=True`` in its log; the model it returns has collapsed to near-chance accuracy. Pass a
    ``stop_at_forget_acc`` (for example the accuracy a retrained model would keep) for a brake.
    """

    lr: float = 1e-3
    momentum: float = 0.9
    batch_size: int = 64
    max_steps: int = 200
    max_epochs: int | None = None
    stop_at_forget_acc: float | None = 0.0
    check_every: int = 1

    def validate(self) -> None:
        rate("lr", self.lr)
        momentum("momentum", self.momentum)
        positive("batch_size", self.batch_size)
        positive("max_steps", self.max_steps)
        if self.max_epochs is not None:
            positive("max_epochs", self.max_epochs)
        positive("check_every", self.check_every)
        if self.stop_at_forget_acc is not None and not 0 <= self.stop_at_forget_acc <= 1:
            raise bad_value(
                "stop_at_forget_acc", self.stop_at_forget_acc, "None or a number in [0, 1]"
            )


@register(
    "gradient_ascent",
    GradientAscentConfig,
    zero_shot=True,
    paper="jit",
    description=(
        "ascend the loss on the forget set until forget accuracy collapses or a step budget ends"
    ),
)
def gradient_ascent(
    model: nn.Module, task, cfg: GradientAscentConfig, *, seed: int, device, **_
) -> dict:
    task = require_zero_shot(task, "gradient_ascent")
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    gen = torch.Generator().manual_seed(seed)
    steps, epochs, stopped, diverged = 0, 0, False, False
    before = [q.detach().clone() for q in model.parameters()]
    acc = accuracy(model, task.forget, device)
    while (
        steps < cfg.max_steps
        and (cfg.max_epochs is None or epochs < cfg.max_epochs)
        and not stopped
    ):
        model.train()
        for xb, yb in task.forget.batches(
            cfg.batch_size, shuffle=True, generator=gen, device=device
        ):
            logits = model(xb)
            if not torch.isfinite(logits).all():  # the last step diverged: undo it and stop
                with torch.no_grad():
                    for q, old in zip(model.parameters(), before):
                        q.copy_(old)
                diverged = stopped = True
                break
            loss = -F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            before = [q.detach().clone() for q in model.parameters()]
            opt.step()
            steps += 1
            if cfg.stop_at_forget_acc is not None and steps % cfg.check_every == 0:
                acc = accuracy(model, task.forget, device)
                if acc <= cfg.stop_at_forget_acc:
                    stopped = True
            if stopped or steps >= cfg.max_steps:
                break
        epochs += 1
    if cfg.stop_at_forget_acc is None or steps % cfg.check_every or diverged:
        acc = accuracy(model, task.forget, device)
    model.eval()
    return {
        "steps": steps,
        "stopped_early": stopped,
        "diverged": diverged,
        "forget_acc_at_stop": acc,
    }
