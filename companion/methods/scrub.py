"""SCRUB (Kurmanji et al., NeurIPS 2023) as the JiT reference code runs it
(``scrub`` in jwf40/Information-Theoretic-Unlearning, ``src/forget_full_class_strategies.py`` and
``code/scrub.py``).

Teacher: a frozen copy of the original; student: the model. With the temperature-scaled distillation
divergence ``KL_T(s, t) = T^2 / B * sum KL(softmax(t/T) || softmax(s/T))`` (T = 4):

* epochs 1..``msteps`` (2) start with a **max step**: one pass over the forget loader minimising
  ``-KL_T(student, teacher)``;
* every epoch (3) then runs a **min step**: one pass over the retain loader minimising
  ``gamma * CE + alpha * KL_T(student, teacher)``.

SGD lr 5e-4, momentum 0.9, weight decay 5e-4, gradient-norm clip 1. ``(alpha, gamma)`` as passed:
full class (0.001, 0.99) (the function's defaults, because the main never passes them),
sub-class and random (1, 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..config import bad_value, momentum, number_in, rate, weight
from ..data.tasks import Task
from ..progress import progress
from ._zoo import FORGET_BATCH, frozen_copy, per_kind
from .base import MethodConfig, positive, register

#: (alpha, gamma) per forgetting kind as the scripts pass them (deviations.md#jit-scrub-params).
SCRUB_SETTINGS = {"class": (0.001, 0.99), "subclass": (1.0, 5.0), "random": (1.0, 5.0)}


def distill_kl(student: torch.Tensor, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """SCRUB's ``DistillKL``: ``sum KL(softmax(t/T) || softmax(s/T)) * T^2 / B`` for (B, C)
    logits."""
    log_s = F.log_softmax(student / temperature, dim=1)
    p_t = F.softmax(teacher / temperature, dim=1)
    return F.kl_div(log_s, p_t, reduction="sum") * temperature**2 / student.shape[0]


@dataclass(frozen=True)
class ScrubConfig(MethodConfig):
    """SCRUB settings (deviations.md#jit-scrub-params). ``alpha``/``gamma``/``batch_size`` None = as
    the scripts pass them for the forgetting kind. QUICK: lr 5e-3 (the digits retain set gives ~10
    steps per epoch)."""

    epochs: int = 3
    msteps: int = 2
    lr: float = 5e-4
    momentum: float = 0.9
    weight_decay: float = 5e-4
    clip: float = 1.0
    temperature: float = 4.0
    alpha: float | None = None
    gamma: float | None = None
    batch_size: int | None = None

    QUICK = {"lr": 5e-3}

    def validate(self) -> None:
        positive("epochs", self.epochs)
        positive("msteps", self.msteps, allow_zero=True)
        rate("lr", self.lr)
        momentum("momentum", self.momentum)
        weight("weight_decay", self.weight_decay)
        number_in("clip", self.clip, 0.0)
        number_in("temperature", self.temperature, 0.0)
        for name in ("alpha", "gamma"):
            if getattr(self, name) is not None:
                weight(name, getattr(self, name))
        if self.alpha == 0 and self.gamma == 0:
            raise bad_value(
                "gamma",
                self.gamma,
                "> 0 when alpha is 0 (with both 0 the min steps train on nothing)",
            )
        if self.batch_size is not None:
            positive("batch_size", self.batch_size)


@register(
    "scrub",
    ScrubConfig,
    zero_shot=False,
    paper="jit",
    description="SCRUB: max-steps away from the teacher on forget, min-steps towards it on retain",
)
def scrub(model: nn.Module, task: Task, cfg: ScrubConfig, *, seed: int, device, **_) -> dict:
    alpha = per_kind(cfg.alpha, {k: v[0] for k, v in SCRUB_SETTINGS.items()}, task, "alpha")
    gamma = per_kind(cfg.gamma, {k: v[1] for k, v in SCRUB_SETTINGS.items()}, task, "gamma")
    bs = per_kind(cfg.batch_size, FORGET_BATCH, task, "batch_size")
    teacher = frozen_copy(model)
    opt = torch.optim.SGD(
        model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
    )
    gen = torch.Generator().manual_seed(seed)
    log = {"max_loss": [], "min_loss": [], "alpha": alpha, "gamma": gamma}

    def step(loss: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
        opt.step()

    for epoch in progress(range(cfg.epochs), desc="scrub"):
        model.train()
        if epoch < cfg.msteps:
            for xb, _ in task.forget.batches(bs, shuffle=True, generator=gen, device=device):
                with torch.no_grad():
                    t = teacher(xb)
                loss = -distill_kl(model(xb), t, cfg.temperature)
                step(loss)
                log["max_loss"].append(float(loss.detach()))
        for xb, yb in task.retain.batches(bs, shuffle=True, generator=gen, device=device):
            with torch.no_grad():
                t = teacher(xb)
            s = model(xb)
            loss = gamma * F.cross_entropy(s, yb) + alpha * distill_kl(s, t, cfg.temperature)
            step(loss)
            log["min_loss"].append(float(loss.detach()))
    model.eval()
    return log
