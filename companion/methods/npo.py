"""Negative Preference Optimisation (NPO; Zhang et al. 2024), an extra baseline from the
LLM-unlearning literature listed by a review of the JiT paper (deviations.md#jit-extra-baselines;
**not in the paper's tables or code**). For classification, with ``p(y|x)`` the softmax probability
of the true label and ``p_ref`` that of the frozen original model:

    L_NPO = (2 / beta) * E_{D_f} [ log(1 + (p(y|x) / p_ref(y|x))^beta) ]
          = (2 / beta) * E_{D_f} [ softplus(beta * (log p - log p_ref)) ],      beta = 0.1.

Unlike gradient ascent the loss is bounded below and its gradient vanishes once ``p << p_ref``.
``retain_weight > 0`` adds ``w_r * CE`` on paired retain batches (NPO + RT); the default 0 is the
plain NPO loss above (the method is registered as retain-using because of that option).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..config import momentum, number_in, rate, weight
from ..data.tasks import Task
from ..progress import progress
from ._zoo import cycle_batches, frozen_copy
from .base import MethodConfig, positive, register


def npo_loss(
    logits: torch.Tensor, ref_logits: torch.Tensor, y: torch.Tensor, beta: float
) -> torch.Tensor:
    """NPO loss of a batch: (2/beta) * mean softplus(beta * (log p_y - log p_ref,y)); logits (B, C),
    y (B,)."""
    lp = F.log_softmax(logits, 1).gather(1, y.view(-1, 1)).squeeze(1)
    lr = F.log_softmax(ref_logits, 1).gather(1, y.view(-1, 1)).squeeze(1)
    return 2.0 / beta * F.softplus(beta * (lp - lr)).mean()


@dataclass(frozen=True)
class NpoConfig(MethodConfig):
    """NPO settings (no paper values exist; these are the companion's). lr 1e-3 is the rate picked
    on the digits validation split (full-class, seeds 0-1) under a 5-point utility budget on the
    retained classes (3e-3 and above collapse the QUICK model); tune it the same way in FULL."""

    beta: float = 0.1
    epochs: int = 5
    batch_size: int = 64
    lr: float = 1e-3
    momentum: float = 0.9
    retain_weight: float = 0.0

    def validate(self) -> None:
        number_in("beta", self.beta, 0.0)
        positive("epochs", self.epochs)
        positive("batch_size", self.batch_size)
        rate("lr", self.lr)
        momentum("momentum", self.momentum)
        weight("retain_weight", self.retain_weight)


@register(
    "npo",
    NpoConfig,
    zero_shot=False,
    paper="jit",
    description="NPO: bounded preference-style ascent on forget (extra baseline, not in the paper)",
)
def npo(model: nn.Module, task: Task, cfg: NpoConfig, *, seed: int, device, **_) -> dict:
    gen = torch.Generator().manual_seed(seed)
    ref = frozen_copy(model)
    retain = (
        cycle_batches(task.retain, cfg.batch_size, gen, device) if cfg.retain_weight > 0 else None
    )
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    losses = []
    for _ in progress(range(cfg.epochs), desc="npo"):
        model.train()
        for xf, yf in task.forget.batches(
            cfg.batch_size, shuffle=True, generator=gen, device=device
        ):
            with torch.no_grad():
                r = ref(xf)
            loss = npo_loss(model(xf), r, yf, cfg.beta)
            if retain is not None:
                xr, yr = next(retain)
                loss = loss + cfg.retain_weight * F.cross_entropy(model(xr), yr)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    model.eval()
    return {"loss": losses}
