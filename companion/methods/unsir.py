"""UNSIR (Tarun et al., IEEE TNNLS 2023) as the JiT reference code runs it
(``UNSIR`` in jwf40/Information-Theoretic-Unlearning, ``src/forget_full_class_strategies.py``;
deviations.md#jit-unsir-noise).

1. **Error-maximising noise.** A learnable batch ``N`` of shape (32, C, H, W), initialised N(0, 1)
   in the model's (normalised) input space, minimises

       -CE(f(N), y_f) + 0.1 * mean_b sum_{c,h,w} N_b^2

   with Adam (lr 0.1): it maximises the loss of the forget class y_f, kept bounded. The reference
   scripts run 25 steps in full-class forgetting and **250** in sub-class forgetting
   (``noise_steps=None`` picks them by the task's kind). They optimise the noise with the model in
   **train mode** (it is freshly loaded and never switched): dropout is active and BatchNorm
   layers normalise with the noise batch's statistics and update their running statistics
   (``noise_mode='train'``, the default). ``noise_mode='eval'`` optimises against the deterministic
   evaluation-mode model instead and leaves it untouched.
2. **Impair.** One epoch (batch 32, Adam lr 1e-4, CE) on the noise images labelled y_f, repeated 80
   times, plus a retain pool: the first 500 training images of every retained class, and in
   sub-class forgetting of every retained **fine** class (all siblings of the forgotten fine class
   and every other superclass's fine classes), each labelled with its (super)class.
3. **Repair.** One epoch (batch 128, Adam lr 1e-4) on the retain pool alone.

The reference code's loop bound is the channel count, so it uses only the **first 3 of the 32**
noise images: ``noise_images='as_coded'`` reproduces that, the default ``'all'`` uses the whole
noise batch as the UNSIR paper does. Full-class and sub-class tasks only (there is no forget class
in random forgetting).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..config import bad_value, rate, weight
from ..data.tasks import Task
from ..progress import progress
from ._zoo import first_per_class, forget_class, per_kind, tensor_batches
from .base import MethodConfig, positive, register

NOISE_IMAGES = ("all", "as_coded")
NOISE_MODES = ("train", "eval")
#: Noise-optimisation steps per forgetting kind as the reference scripts run them
#: (deviations.md#jit-unsir-noise).
NOISE_STEPS = {"class": 25, "subclass": 250}


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
    mode: str = "eval",
) -> tuple[torch.Tensor, list[float]]:
    """Noise images that maximise (``maximise=True``, UNSIR) or minimise (EMMN's retained classes)
    the cross-entropy of class ``label`` under ``model``, whose parameters are not changed.

    ``mode='eval'``: the model runs in evaluation mode and is left exactly as it was.
    ``mode='train'`` (the reference code): it runs in train mode, so dropout is drawn (from the
    global torch generator) and BatchNorm layers use batch statistics and update their running
    statistics; the model's train/eval flag is restored afterwards.

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
        The cross-entropy of ``label`` at every step (before the step, in ``mode``) and after the
        last one (in eval mode, so it has no side effect).
    """
    if mode not in NOISE_MODES:
        raise bad_value("noise_mode", mode, f"one of {NOISE_MODES}")
    was = model.training
    model.train(mode == "train")
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
            model.eval()  # the final value is measured deterministically
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


def train_epochs(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator,
    desc: str,
) -> list[float]:
    """Adam + cross-entropy on in-memory normalised tensors, train mode; per-epoch mean losses."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    out = []
    for _ in progress(range(epochs), desc=desc):
        model.train()
        total = 0.0
        for xb, yb in tensor_batches(
            x, y, batch_size=batch_size, shuffle=True, generator=generator
        ):
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
    """UNSIR settings; every default is the reference code's (deviations.md#jit-unsir-noise).

    ``noise_steps`` None = the scripts' count for the forgetting kind (25 full-class, 250
    sub-class). ``noise_mode``: 'train' (the scripts: the model optimises the noise in train mode)
    or 'eval'. ``repair_epochs`` 0 skips the repair (an ablation); every other count must be >= 1.

    QUICK: the digits retain set has ~130 images per class, so ``per_class`` (500) takes them all;
    ``noise_repeats`` 20 and impair/repair rates 1e-3 keep the step count and effect comparable.
    """

    noise_batch: int = 32
    noise_steps: int | None = None
    noise_lr: float = 0.1
    noise_l2: float = 0.1
    noise_repeats: int = 80
    noise_images: str = "all"
    noise_mode: str = "train"
    per_class: int = 500
    impair_batch: int = 32
    impair_lr: float = 1e-4
    impair_epochs: int = 1
    repair_batch: int = 128
    repair_lr: float = 1e-4
    repair_epochs: int = 1

    QUICK = {"noise_repeats": 20, "impair_lr": 1e-3, "repair_lr": 1e-3}

    def validate(self) -> None:
        for name in (
            "noise_batch",
            "noise_repeats",
            "per_class",
            "impair_batch",
            "repair_batch",
            "impair_epochs",
        ):
            positive(name, getattr(self, name))
        if self.noise_steps is not None:
            positive("noise_steps", self.noise_steps)
        positive("repair_epochs", self.repair_epochs, allow_zero=True)
        for name in ("noise_lr", "impair_lr", "repair_lr"):
            rate(name, getattr(self, name))
        weight("noise_l2", self.noise_l2)
        if self.noise_images not in NOISE_IMAGES:
            raise bad_value("noise_images", self.noise_images, f"one of {NOISE_IMAGES}")
        if self.noise_mode not in NOISE_MODES:
            raise bad_value("noise_mode", self.noise_mode, f"one of {NOISE_MODES}")


def retain_pool(task: Task, label: int, per_class: int) -> torch.Tensor:
    """Indices into ``task.retain`` of UNSIR's retain pool: the first ``per_class`` samples of every
    retained class (full-class forgetting) or of every retained fine class (sub-class forgetting, as
    the reference sub-class script groups by fine label; the samples keep their superclass
    label)."""
    if task.forget_spec.kind == "subclass":
        if task.retain.fine is None:
            raise bad_value("task", task.name, "a sub-class task whose splits carry fine labels")
        return first_per_class(
            task.retain, per_class, exclude=task.forget_spec.value, groups=task.retain.fine
        )
    return first_per_class(task.retain, per_class, exclude=label)


@register(
    "unsir",
    UnsirConfig,
    zero_shot=False,
    paper="jit",
    description="UNSIR: error-maximising noise for the forget class, impair then repair",
)
def unsir(model: nn.Module, task: Task, cfg: UnsirConfig, *, seed: int, device, **_) -> dict:
    label = forget_class(task, "unsir")
    steps = per_kind(cfg.noise_steps, NOISE_STEPS, task, "noise_steps")
    gen = torch.Generator().manual_seed(seed)
    noise, ce = error_maximising_noise(
        model,
        label,
        task.input_shape,
        cfg.noise_batch,
        steps,
        cfg.noise_lr,
        cfg.noise_l2,
        gen,
        device,
        mode=cfg.noise_mode,
    )
    used = used_noise(noise, cfg.noise_images)
    keep = retain_pool(task, label, cfg.per_class)
    xr, yr = task.retain.subset(keep).tensors(device)
    xn = used.repeat(cfg.noise_repeats, *([1] * (used.ndim - 1)))
    yn = torch.full((len(xn),), label, dtype=torch.long, device=device)
    impair = train_epochs(
        model,
        torch.cat([xn, xr]),
        torch.cat([yn, yr]),
        cfg.impair_epochs,
        cfg.impair_batch,
        cfg.impair_lr,
        gen,
        "unsir impair",
    )
    repair = train_epochs(
        model, xr, yr, cfg.repair_epochs, cfg.repair_batch, cfg.repair_lr, gen, "unsir repair"
    )
    return {
        "noise_ce": ce,
        "noise_steps": steps,
        "noise_images_used": len(used),
        "n_retain_used": len(keep),
        "impair_loss": impair,
        "repair_loss": repair,
    }
