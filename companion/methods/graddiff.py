"""Gradient difference (GradDiff), an extra baseline from the LLM-unlearning literature listed by a
review of the JiT paper (deviations.md#jit-extra-baselines; **not in the paper's tables or code**).

Each step pairs a forget batch with a retain batch and minimises

    -CE(f(x_f), y_f) + w_r * CE(f(x_r), y_r),      w_r = 1,

i.e. gradient ascent on D_f regularised by ordinary training on D_r. SGD with momentum, a fixed
number of passes over D_f (settings chosen for the companion, see :class:`GradDiffConfig`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..config import momentum, rate, weight
from ..data.tasks import Task
from ..progress import progress
from ._zoo import cycle_batches
from .base import MethodConfig, positive, register


@dataclass(frozen=True)
class GradDiffConfig(MethodConfig):
    """GradDiff settings (no paper values exist; these are the companion's): ``epochs`` passes over
    D_f, ``batch_size`` for both streams, SGD ``lr``/``momentum``, ``retain_weight`` w_r.

    QUICK: lr 3e-3, picked on the digits *validation* split (full-class, seeds 0-1) as the rate with
    the lowest forgotten-class accuracy whose retained-class accuracy stays within 5 points of the
    original's (1e-2 collapses the model). FULL keeps 1e-3 as a starting point; tune it the same
    way.
    """

    epochs: int = 3
    batch_size: int = 64
    lr: float = 1e-3
    momentum: float = 0.9
    retain_weight: float = 1.0

    QUICK = {"lr": 3e-3}

    def validate(self) -> None:
        positive("epochs", self.epochs)
        positive("batch_size", self.batch_size)
        rate("lr", self.lr)
        momentum("momentum", self.momentum)
        weight("retain_weight", self.retain_weight)


@register(
    "graddiff",
    GradDiffConfig,
    zero_shot=False,
    paper="jit",
    description=(
        "GradDiff: ascend CE on forget, descend CE on retain (extra baseline, not in the paper)"
    ),
)
def graddiff(model: nn.Module, task: Task, cfg: GradDiffConfig, *, seed: int, device, **_) -> dict:
    gen = torch.Generator().manual_seed(seed)
    retain = cycle_batches(task.retain, cfg.batch_size, gen, device)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    log = {"forget_ce": [], "retain_ce": []}
    for _ in progress(range(cfg.epochs), desc="graddiff"):
        model.train()
        for xf, yf in task.forget.batches(
            cfg.batch_size, shuffle=True, generator=gen, device=device
        ):
            xr, yr = next(retain)
            lf, lr_ = F.cross_entropy(model(xf), yf), F.cross_entropy(model(xr), yr)
            loss = -lf + cfg.retain_weight * lr_
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            log["forget_ce"].append(float(lf.detach()))
            log["retain_ce"].append(float(lr_.detach()))
    model.eval()
    return log
