"""UNSIR (Tarun et al., IEEE TNNLS 2023) as the JiT reference code runs it (spec ``jit.md`` 10.4).

1. **Error-maximising noise.** A learnable batch ``N`` of shape (32, C, H, W), initialised N(0, 1)
   in the model's (normalised) input space, minimises

       -CE(f(N), y_f) + 0.1 * mean_b sum_{c,h,w} N_b^2

   for 25 Adam steps (lr 0.1): it maximises the loss of the forget class y_f, kept bounded.
2. **Impair.** One epoch (batch 32, Adam lr 1e-4, CE) on the noise images labelled y_f, repeated 80
   times, plus the first 500 retain images of every retained class.
3. **Repair.** One epoch (batch 128, Adam lr 1e-4) on those retain images alone.

The reference code's loop bound is the channel count, so it uses only the **first 3 of the 32**
noise images: ``noise_images='as_coded'`` reproduces that, the default ``'all'`` uses the whole
noise batch as the UNSIR paper does. Full-class and sub-class tasks only (there is no forget class in
random forgetting).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..config import bad_value
from ..data.tasks import Task
from ..training import progress
from ._zoo import first_per_class, forget_class, tensor_batches
from .base import MethodConfig, positive, register

NOISE_IMAGES = ("all", "as_coded")


def error_maximising_noise(
    model: nn.Module,
    label: int,
    shape: tuple[int, ...],
    n: int,
    steps: int,
    lr: float,
    l2: float,
    generator: torch.Generator,
    device: torch.device,
    maximise: bool = True,
) -> tuple[torch.Tensor, list[float]]:
    """Noise images that maximise (``maximise=True``, UNSIR) or minimise (EMMN's retained classes)
    the cross-entropy of class ``label`` under the frozen ``model`` (evaluated in eval mode).

    Parameters
    ----------
    shape : (C, H, W)
        One input's shape; the noise is (n, C, H, W), initialised N(0, 1) from ``generator``.
    l2 : float
        Weight of ``mean_b sum N_b^2`` (0.1 in UNSIR).

    Returns
    -------
    noise : Tensor (n, C, H, W), detached, on ``device``
    ce : list of float
        The cross-entropy of ``label`` at every step (before the step) and after the last one.
    """
    was = model.training
    model.eval()
    req = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    noise = torch.randn((n, *shape), generator=generator).to(device).requires_grad_(True)
    opt = torch.optim.Adam([noise], lr=lr)
    target = torch.full((n,), int(label), dtype=torch.long, device=device)
    sign = -1.0 if maximise else 1.0
    ce = []
    try:
        for _ in range(steps):
            loss_ce = F.cross_entropy(model(noise), target)
            loss = sign * loss_ce + l2 * noise.pow(2).sum(dim=tuple(range(1, noise.ndim))).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            ce.append(float(loss_ce.detach()))
        with torch.no_grad():
            ce.append(float(F.cross_entropy(model(noise), target)))
    finally:
        for p, r in zip(model.parameters(), req):
            p.requires_grad_(r)
        model.train(was)
    return noise.detach(), ce


def used_noise(noise: torch.Tensor, mode: str) -> torch.Tensor:
    """The noise images that reach the training set: all of them, or (``'as_coded'``) the first
    ``C`` (channel count), as the reference loop ``for i in range(noise.shape[1])`` picks."""
    if mode not in NOISE_IMAGES:
        raise bad_value("noise_images", mode, f"one of {NOISE_IMAGES}")
    return noise if mode == "all" else noise[: noise.shape[1]]


def train_epochs(model: nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, batch_size: int, lr: float, generator: torch.Generator, desc: str) -> list[float]:
    """Adam + cross-entropy on in-memory normalised tensors, train mode; per-epoch mean losses."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    out = []
    for _ in progress(range(epochs), desc=desc):
        model.train()
        total = 0.0
        for xb, yb in tensor_batches(x, y, batch_size=batch_size, shuffle=True, generator=generator):
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(yb)
        out.append(total / len(y))
    model.eval()
    return out


@dataclass(frozen=True)
class UnsirConfig(MethodConfig):
    """UNSIR settings (spec 10.4); every default is the reference code's.

    QUICK: the digits retain set has ~130 images per class, so ``per_class`` (500) takes them all;
    ``noise_repeats`` 20 and impair/repair rates 1e-3 keep the step count and effect comparable.
    """

    noise_batch: int = 32
    noise_steps: int = 25
    noise_lr: float = 0.1
    noise_l2: float = 0.1
    noise_repeats: int = 80
    noise_images: str = "all"
    per_class: int = 500
    impair_batch: int = 32
    impair_lr: float = 1e-4
    impair_epochs: int = 1
    repair_batch: int = 128
    repair_lr: float = 1e-4
    repair_epochs: int = 1

    QUICK = {"noise_repeats": 20, "impair_lr": 1e-3, "repair_lr": 1e-3}

    def validate(self) -> None:
        for name in ("noise_batch", "noise_steps", "noise_repeats", "per_class", "impair_batch", "repair_batch", "impair_epochs"):
            positive(name, getattr(self, name))
        positive("repair_epochs", self.repair_epochs, allow_zero=True)
        for name in ("noise_lr", "impair_lr", "repair_lr"):
            positive(name, getattr(self, name))
        positive("noise_l2", self.noise_l2, allow_zero=True)
        if self.noise_images not in NOISE_IMAGES:
            raise bad_value("noise_images", self.noise_images, f"one of {NOISE_IMAGES}")


@register("unsir", UnsirConfig, zero_shot=False, paper="jit", description="UNSIR: error-maximising noise for the forget class, impair then repair")
def unsir(model: nn.Module, task: Task, cfg: UnsirConfig, *, seed: int, device, **_) -> dict:
    label = forget_class(task, "unsir")
    gen = torch.Generator().manual_seed(seed)
    noise, ce = error_maximising_noise(model, label, task.input_shape, cfg.noise_batch, cfg.noise_steps, cfg.noise_lr, cfg.noise_l2, gen, device)
    used = used_noise(noise, cfg.noise_images)
    # retained classes: in class forgetting the forget class is absent from the retain set already;
    # in sub-class forgetting the forgotten fine class's siblings keep its (super)class label
    keep = first_per_class(task.retain, cfg.per_class, exclude=label if task.forget_spec.kind == "class" else None)
    xr, yr = task.retain.subset(keep).tensors(device)
    xn = used.repeat(cfg.noise_repeats, *([1] * (used.ndim - 1)))
    yn = torch.full((len(xn),), label, dtype=torch.long, device=device)
    impair = train_epochs(model, torch.cat([xn, xr]), torch.cat([yn, yr]), cfg.impair_epochs, cfg.impair_batch, cfg.impair_lr, gen, "unsir impair")
    repair = train_epochs(model, xr, yr, cfg.repair_epochs, cfg.repair_batch, cfg.repair_lr, gen, "unsir repair")
    return {"noise_ce": ce, "noise_images_used": len(used), "n_retain_used": len(keep), "impair_loss": impair, "repair_loss": repair}
